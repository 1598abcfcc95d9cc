//! The SMB2 TRANSFORM_HEADER that precedes an encrypted message, MS-SMB2 2.2.41. Pure
//! codec: encryption itself lives in `crypto::encryption`.

use super::codec::{DecodeError, Reader};

/// Size of the transform header in bytes.
pub const TRANSFORM_HEADER_LEN: usize = 52;
/// `0xFD 'S' 'M' 'B'`.
pub const PROTOCOL_ID: [u8; 4] = [0xFD, b'S', b'M', b'B'];
/// The bytes authenticated as associated data: everything after the signature
/// (Nonce through SessionId, MS-SMB2 3.1.4.3).
pub const AAD_RANGE: std::ops::Range<usize> = 20..TRANSFORM_HEADER_LEN;

/// Flags (3.1.1) / EncryptionAlgorithm (3.0, 3.0.2), MS-SMB2 2.2.41.
pub mod flags {
    /// Encrypted (3.1.1); SMB2_ENCRYPTION_AES128_CCM in 3.0 has the same value.
    pub const ENCRYPTED: u16 = 0x0001;
}

/// SMB2 TRANSFORM_HEADER, MS-SMB2 2.2.41.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransformHeader {
    /// Signature: the AEAD tag over the associated data and the encrypted message.
    pub signature: [u8; 16],
    /// Nonce: 11 bytes used for CCM, 12 for GCM, the rest zero.
    pub nonce: [u8; 16],
    /// OriginalMessageSize: length of the plaintext message.
    pub original_message_size: u32,
    /// Flags, see [`flags`].
    pub flags: u16,
    /// SessionId whose keys encrypt the message.
    pub session_id: u64,
}

impl TransformHeader {
    /// Appends the 52-byte header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&PROTOCOL_ID);
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.original_message_size.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.session_id.to_le_bytes());
    }

    /// Decodes the header at the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let pid: [u8; 4] = r.array("transform protocol id")?;
        if pid != PROTOCOL_ID {
            return Err(DecodeError::invalid(
                "transform protocol id",
                u32::from_le_bytes(pid),
            ));
        }
        let signature = r.array("transform signature")?;
        let nonce = r.array("transform nonce")?;
        let original_message_size = r.u32("original message size")?;
        r.skip(2, "reserved")?;
        Ok(TransformHeader {
            signature,
            nonce,
            original_message_size,
            flags: r.u16("transform flags")?,
            session_id: r.u64("transform session id")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::test_util::hex;

    /// The first 52 bytes of smb311_enc_aes128gcm.pcapng frame 12: the TRANSFORM_HEADER
    /// of the first encrypted request (an AES-128-GCM 12-byte nonce).
    const TRANSFORM: &str =
        "fd534d42 b7b1407be87ee442946ce76afcff9bd7 010000000000000040577d4700000000\
                             68000000 0000 0100 5171b66300000000";

    #[test]
    fn decodes_and_re_encodes_the_captured_header() {
        let b = hex(TRANSFORM);
        assert_eq!(b.len(), TRANSFORM_HEADER_LEN);
        let h = TransformHeader::decode(&b).unwrap();
        assert_eq!(h.signature, hex("b7b1407be87ee442946ce76afcff9bd7")[..]);
        assert_eq!(h.nonce, hex("010000000000000040577d4700000000")[..]);
        assert_eq!(h.original_message_size, 104);
        assert_eq!(h.flags, flags::ENCRYPTED);
        assert_eq!(h.session_id, 0x63b6_7151);
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out, b);
        assert_eq!(&out[AAD_RANGE][..16], &h.nonce);
    }

    #[test]
    fn rejects_an_smb2_header_and_truncation() {
        let mut b = hex(TRANSFORM).to_vec();
        for n in 0..b.len() {
            assert!(TransformHeader::decode(&b[..n]).is_err());
        }
        b[0] = 0xFE;
        assert!(TransformHeader::decode(&b).is_err());
    }
}
