//! SMB2 message signing, MS-SMB2 3.1.4.1.
//!
//! A signature covers one whole SMB2 message — header and body, one element of a
//! compound chain including its alignment padding — with the 16-byte Signature field
//! zeroed. Keys are passed per call: deriving an AES or HMAC key schedule costs far
//! less than hashing the message, and it keeps this module free of state.

use aes::Aes128;
use cmac::{Cmac, Mac};

use super::encryption::{gmac, CryptoError};
use super::kdf::hmac_sha256;
use crate::wire::header::{flags, Command, HEADER_LEN, SIGNATURE_RANGE};

/// Offset of the Command field in the SMB2 header (MS-SMB2 2.2.1).
const COMMAND_OFFSET: usize = 12;
/// Offset of the Flags field.
const FLAGS_OFFSET: usize = 16;
/// Offset of the MessageId field.
const MESSAGE_ID_OFFSET: usize = 24;

/// A signing algorithm, with the SMB 3.1.1 SMB2_SIGNING_CAPABILITIES ids (MS-SMB2 2.2.3.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256 truncated to 16 bytes: dialects 2.0.2 and 2.1.
    HmacSha256,
    /// AES-128-CMAC: 3.0, 3.0.2, and 3.1.1 without a signing capabilities context.
    AesCmac,
    /// AES-128-GMAC: 3.1.1 when negotiated.
    AesGmac,
}

/// The algorithm's usual name ("AES-128-GMAC").
impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SigningAlgorithm::HmacSha256 => "HMAC-SHA256",
            SigningAlgorithm::AesCmac => "AES-128-CMAC",
            SigningAlgorithm::AesGmac => "AES-128-GMAC",
        })
    }
}

impl SigningAlgorithm {
    /// The algorithm with this SigningAlgorithmId, if known.
    pub fn from_id(id: u16) -> Option<Self> {
        Some(match id {
            0 => SigningAlgorithm::HmacSha256,
            1 => SigningAlgorithm::AesCmac,
            2 => SigningAlgorithm::AesGmac,
            _ => return None,
        })
    }

    /// The SigningAlgorithmId.
    pub fn id(self) -> u16 {
        match self {
            SigningAlgorithm::HmacSha256 => 0,
            SigningAlgorithm::AesCmac => 1,
            SigningAlgorithm::AesGmac => 2,
        }
    }
}

/// Signs `msg` in place (MS-SMB2 3.2.4.1.1): sets SMB2_FLAGS_SIGNED, zeroes the
/// Signature field, computes the signature with `key` (Session.SigningKey or
/// Channel.SigningKey) and writes it into the field.
pub fn sign(alg: SigningAlgorithm, key: &[u8], msg: &mut [u8]) -> Result<(), CryptoError> {
    sign_parts(alg, key, msg, &[])
}

/// [`sign`] for a message held in two parts: `head` (the header and what follows it in
/// the same buffer) and `tail` (a payload kept apart to avoid copying it, e.g. WRITE
/// data). The signature covers `head` then `tail`.
pub fn sign_parts(
    alg: SigningAlgorithm,
    key: &[u8],
    head: &mut [u8],
    tail: &[u8],
) -> Result<(), CryptoError> {
    if head.len() < HEADER_LEN {
        return Err(CryptoError::MessageTooShort(head.len()));
    }
    let f = read_u32(head, FLAGS_OFFSET) | flags::SIGNED;
    head[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&f.to_le_bytes());
    head[SIGNATURE_RANGE].fill(0);
    let (header, rest) = head.split_at(HEADER_LEN);
    let sig = match alg {
        // GHASH takes whole 16-byte blocks per piece but the last; the 64-byte header
        // always is, the rest of the head may not be.
        SigningAlgorithm::AesGmac if rest.len() % 16 == 0 => {
            gmac(key, &gmac_nonce(header), &[header, rest, tail])?
        }
        SigningAlgorithm::AesGmac => {
            gmac(key, &gmac_nonce(header), &[header, &[rest, tail].concat()])?
        }
        _ => mac(alg, key, &[header, rest, tail])?,
    };
    head[SIGNATURE_RANGE].copy_from_slice(&sig);
    Ok(())
}

/// Whether the signature in `msg` is valid under `key` (MS-SMB2 3.2.5.1.3). Compares
/// in constant time and never modifies `msg`; a message too short to hold a header or
/// a key of the wrong length is simply invalid.
pub fn verify(alg: SigningAlgorithm, key: &[u8], msg: &[u8]) -> bool {
    let Some((header, body)) = msg.split_first_chunk::<HEADER_LEN>() else {
        return false;
    };
    let mut zeroed = *header;
    zeroed[SIGNATURE_RANGE].fill(0);
    let computed = match alg {
        // The 64-byte header is whole GHASH blocks, so header and body go in as pieces.
        SigningAlgorithm::AesGmac => gmac(key, &gmac_nonce(&zeroed), &[&zeroed, body]),
        _ => mac(alg, key, &[&zeroed, body]),
    };
    match computed {
        Ok(sig) => constant_time_eq(&sig, &header[SIGNATURE_RANGE]),
        Err(_) => false,
    }
}

/// HMAC-SHA256 or AES-CMAC over header (signature zeroed) then body.
fn mac(alg: SigningAlgorithm, key: &[u8], parts: &[&[u8]]) -> Result<[u8; 16], CryptoError> {
    let mut sig = [0u8; 16];
    if alg == SigningAlgorithm::HmacSha256 {
        let mut m = hmac_sha256(key);
        parts.iter().for_each(|p| m.update(p));
        sig.copy_from_slice(&m.finalize().into_bytes()[..16]);
    } else {
        let mut m =
            <Cmac<Aes128> as Mac>::new_from_slice(key).map_err(|_| CryptoError::KeyLength {
                expected: 16,
                got: key.len(),
            })?;
        parts.iter().for_each(|p| m.update(p));
        sig.copy_from_slice(&m.finalize().into_bytes());
    }
    Ok(sig)
}

/// The AES-GMAC nonce of MS-SMB2 3.1.4.1: MessageId, then 4 bytes whose bit 0 marks a
/// response (SERVER_TO_REDIR) and bit 1 a CANCEL request, so that a request, its
/// response and a cancel sharing one MessageId never reuse a nonce.
fn gmac_nonce(header: &[u8]) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&header[MESSAGE_ID_OFFSET..MESSAGE_ID_OFFSET + 8]);
    let is_response = read_u32(header, FLAGS_OFFSET) & flags::SERVER_TO_REDIR != 0;
    let command = u16::from_le_bytes([header[COMMAND_OFFSET], header[COMMAND_OFFSET + 1]]);
    let mut role = 0u32;
    if is_response {
        role |= 1;
    }
    if command == Command::Cancel as u16 && !is_response {
        role |= 2;
    }
    nonce[8..].copy_from_slice(&role.to_le_bytes());
    nonce
}

/// Reads a little-endian u32 from a buffer the caller has checked holds a full header.
fn read_u32(header: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&header[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Equality whose timing does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8; 16], b: &[u8]) -> bool {
    if b.len() != a.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::header::Header;

    fn message(command: Command, flags: u32, message_id: u64) -> Vec<u8> {
        let mut m = Vec::new();
        Header {
            command: command as u16,
            flags,
            message_id,
            session_id: 0x55,
            signature: [0xAB; 16],
            ..Default::default()
        }
        .encode(&mut m);
        m.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        m
    }

    #[test]
    fn sign_then_verify_every_algorithm_and_detect_tampering() {
        for id in 0..3 {
            let alg = SigningAlgorithm::from_id(id).unwrap();
            assert_eq!(alg.id(), id);
            let key = [0x5A; 16];
            let mut m = message(Command::Read, 0, 9);
            sign(alg, &key, &mut m).unwrap();
            let h = Header::decode(&m).unwrap();
            assert!(h.is_signed());
            assert_ne!(h.signature, [0; 16]);
            assert!(verify(alg, &key, &m), "{alg:?}");
            assert!(!verify(alg, &[0x5B; 16], &m), "{alg:?} wrong key");
            for i in [0, 20, 30, 50, m.len() - 1] {
                let mut bad = m.clone();
                bad[i] ^= 0x80;
                assert!(!verify(alg, &key, &bad), "{alg:?} byte {i}");
            }
        }
        assert_eq!(SigningAlgorithm::from_id(3), None);
    }

    #[test]
    fn gmac_nonce_separates_request_response_and_cancel() {
        let req = message(Command::Cancel, 0, 7);
        let resp = message(Command::Read, flags::SERVER_TO_REDIR, 7);
        let read = message(Command::Read, 0, 7);
        assert_eq!(&gmac_nonce(&req)[8..], &[2, 0, 0, 0]);
        assert_eq!(&gmac_nonce(&resp)[8..], &[1, 0, 0, 0]);
        assert_eq!(gmac_nonce(&read), [7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn short_messages_and_bad_keys_do_not_panic() {
        assert!(!verify(SigningAlgorithm::AesCmac, &[0; 16], &[0xFE; 63]));
        assert!(!verify(
            SigningAlgorithm::AesCmac,
            &[0; 15],
            &message(Command::Read, 0, 1)
        ));
        assert_eq!(
            sign(SigningAlgorithm::AesGmac, &[0; 16], &mut [0; 10]),
            Err(CryptoError::MessageTooShort(10))
        );
        let mut m = message(Command::Read, 0, 1);
        assert!(sign(SigningAlgorithm::AesCmac, &[0; 3], &mut m).is_err());
    }
}
