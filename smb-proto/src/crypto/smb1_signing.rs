//! SMB1 message signing (MS-CIFS 3.1.4.1, 3.1.5.1; MS-SMB 3.1.5.1): the first 8 bytes of
//! `MD5(MACKey ‖ message)`, computed with the message's SecuritySignature field holding
//! the sequence number (4 bytes, little-endian) and four zero bytes.
//!
//! With extended security the MACKey is the 16-byte session key NTLMSSP exports. The
//! sequence numbers are the connection's: signing starts with the first authenticated
//! SESSION_SETUP, whose final response is signed with 1; from then on each request takes
//! the next even number and its response that number plus one ([`crate::connection`]
//! keeps the count). The message is never modified to compute a MAC, so a signature
//! covers the bytes as sent, and a payload kept apart (`tail`) is hashed where it is.

use md5::{Digest, Md5};

use super::encryption::CryptoError;
use crate::wire::smb1::header::{Smb1Command, HEADER_LEN, SIGNATURE_RANGE};

/// The sequence number the final SESSION_SETUP_ANDX response of the session that
/// starts signing is signed with (MS-CIFS 3.2.5.3; Samba's
/// `smb1cli_conn_check_signing(…, 1)`).
pub const ACTIVATION_SEQ: u32 = 1;
/// The sequence number of the first request signed after activation.
pub const FIRST_REQUEST_SEQ: u32 = 2;

/// How many sequence numbers a request with this command code takes: two (its own and
/// its response's, one more), but NT_CANCEL, which has no response, one (MS-SMB
/// 3.3.5.1).
pub fn sequence_step(command: u8) -> u32 {
    if command == Smb1Command::NT_CANCEL.0 {
        1
    } else {
        2
    }
}

/// The 8-byte MAC of the message `head ‖ tail` (head starting at its SMB1 header) for
/// sequence number `seq`, whatever its SecuritySignature field holds.
///
/// # Errors
///
/// [`CryptoError::MessageTooShort`] when `head` is shorter than an SMB1 header.
pub fn mac(key: &[u8], seq: u32, head: &[u8], tail: &[u8]) -> Result<[u8; 8], CryptoError> {
    if head.len() < HEADER_LEN {
        return Err(CryptoError::MessageTooShort(head.len()));
    }
    let mut md5 = Md5::new();
    md5.update(key);
    md5.update(&head[..SIGNATURE_RANGE.start]);
    md5.update(seq.to_le_bytes());
    md5.update([0u8; 4]);
    md5.update(&head[SIGNATURE_RANGE.end..]);
    md5.update(tail);
    let digest = md5.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    Ok(out)
}

/// Signs the message `head ‖ tail` with sequence number `seq`: writes the MAC into
/// `head`'s SecuritySignature.
///
/// # Errors
///
/// As for [`mac`].
pub fn sign_parts(key: &[u8], seq: u32, head: &mut [u8], tail: &[u8]) -> Result<(), CryptoError> {
    let m = mac(key, seq, head, tail)?;
    head[SIGNATURE_RANGE].copy_from_slice(&m);
    Ok(())
}

/// Whether `msg` carries the signature of sequence number `seq`; compared in constant
/// time. A message shorter than a header does not verify.
pub fn verify(key: &[u8], seq: u32, msg: &[u8]) -> bool {
    let (Ok(want), Some(got)) = (mac(key, seq, msg, &[]), msg.get(SIGNATURE_RANGE)) else {
        return false;
    };
    want.iter().zip(got).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    /// An ECHO request (Flags2 0xC801, TID 1, PID 0xFEFF, UID 100, MID 5, data "ping").
    fn echo() -> Vec<u8> {
        let mut m = vec![0xFF, b'S', b'M', b'B', 0x2B, 0, 0, 0, 0, 0x18, 0x01, 0xC8];
        m.extend_from_slice(&[0; 12]);
        m.extend_from_slice(&[1, 0, 0xFF, 0xFE, 100, 0, 5, 0]);
        m.extend_from_slice(&[1, 1, 0, 4, 0, b'p', b'i', b'n', b'g']);
        m
    }

    #[test]
    fn mac_is_md5_of_key_and_message_with_the_sequence_number_in_the_signature() {
        // Computed independently (Python hashlib): md5(key ‖ msg[..14] ‖ LE32(seq) ‖
        // 0000 ‖ msg[22..]), first 8 bytes.
        let mut m = echo();
        sign_parts(&KEY, 2, &mut m, &[]).unwrap();
        assert_eq!(m[14..22], [0xa3, 0x80, 0xc7, 0x70, 0x58, 0x9b, 0x79, 0x92]);
        assert!(verify(&KEY, 2, &m));
        assert!(!verify(&KEY, 3, &m));
        let mut other = KEY;
        other[0] ^= 1;
        assert!(!verify(&other, 2, &m));
        let mut flipped = m.clone();
        flipped[40] ^= 1;
        assert!(!verify(&KEY, 2, &flipped));
        // What the field held does not matter; a payload kept apart is hashed in place.
        let mut reply = echo();
        reply[14..22].copy_from_slice(&[9; 8]);
        let (head, tail) = reply.split_at_mut(37);
        sign_parts(&KEY, 3, head, tail).unwrap();
        assert_eq!(
            reply[14..22],
            [0x8c, 0x17, 0x59, 0x6b, 0xbc, 0xf0, 0x0f, 0x4f]
        );
        assert!(verify(&KEY, 3, &reply));
    }

    #[test]
    fn short_messages_are_refused() {
        assert!(mac(&KEY, 1, &[0xFF; 31], &[]).is_err());
        assert!(!verify(&KEY, 1, &[0xFF; 20]));
    }
}
