//! SMB 3.1.1 pre-authentication integrity, MS-SMB2 3.2.5.2 and 3.3.5.4.
//!
//! Both sides chain SHA-512 over every NEGOTIATE and SESSION_SETUP message exchanged
//! before the session is established; the result becomes the KDF context of the
//! 3.1.1 keys, so a tampered negotiation yields keys that cannot verify a signature.

use sha2::{Digest, Sha512};

/// A running preauth integrity hash value (SHA-512, HashAlgorithm 0x0001).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreauthHash([u8; 64]);

impl PreauthHash {
    /// The initial value: 64 zero bytes (MS-SMB2 3.2.5.2, Connection.PreauthIntegrityHashValue).
    pub fn new() -> Self {
        PreauthHash([0; 64])
    }

    /// H = SHA-512(H || msg), where `msg` is a whole SMB2 message as sent or received
    /// (header and body, without the transport framing).
    pub fn update(&mut self, msg: &[u8]) {
        let mut h = Sha512::new();
        h.update(self.0);
        h.update(msg);
        self.0 = h.finalize().into();
    }

    /// The current hash value.
    pub fn value(&self) -> &[u8; 64] {
        &self.0
    }
}

impl Default for PreauthHash {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_sha512_over_previous_value() {
        let mut p = PreauthHash::new();
        assert_eq!(p.value(), &[0; 64]);
        p.update(b"abc");
        let mut input = vec![0u8; 64];
        input.extend_from_slice(b"abc");
        let expected: [u8; 64] = Sha512::digest(&input).into();
        assert_eq!(p.value(), &expected);
    }
}
