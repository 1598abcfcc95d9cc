//! SMB 3.x encryption: the transform header (MS-SMB2 2.2.41) and AES-CCM/GCM
//! (MS-SMB2 3.1.4.3).

use aes::{Aes128, Aes256};
use aes_gcm::aead::consts::{U11, U12, U16};
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{AeadCore, AeadInPlace, KeyInit};
use aes_gcm::AesGcm;
use bytes::{Buf, BytesMut};
use ccm::Ccm;

use crate::wire::codec::{DecodeError, Reader};

/// Size of the SMB2 TRANSFORM_HEADER.
pub const TRANSFORM_HEADER_LEN: usize = 52;
/// `0xFD 'S' 'M' 'B'`, the ProtocolId of an encrypted message.
pub const TRANSFORM_PROTOCOL_ID: [u8; 4] = [0xFD, b'S', b'M', b'B'];
/// Flags (3.1.1) / EncryptionAlgorithm (3.0, SMB2_ENCRYPTION_AES128_CCM): both are 0x0001.
const TRANSFORM_FLAG_ENCRYPTED: u16 = 0x0001;
/// The AEAD tag travels in the 16-byte Signature field.
const TAG_LEN: usize = 16;
/// The additional authenticated data is the header from Nonce to SessionId.
const AAD_RANGE: std::ops::Range<usize> = 20..TRANSFORM_HEADER_LEN;

/// Why a signing or encryption operation failed. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The key is not the length the algorithm needs.
    #[error("key is {got} bytes, the algorithm needs {expected}")]
    KeyLength {
        /// Bytes required.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The nonce is not between the cipher's nonce length and the 16-byte Nonce field.
    #[error("nonce of {0} bytes does not fit the cipher")]
    NonceLength(usize),
    /// The message is too large for the 32-bit OriginalMessageSize field.
    #[error("message of {0} bytes is too large to encrypt")]
    MessageTooLarge(usize),
    /// The message is too short to be signed (it must hold a 64-byte SMB2 header).
    #[error("message of {0} bytes is too short to sign")]
    MessageTooShort(usize),
    /// The transform header is malformed.
    #[error("bad transform header: {0}")]
    Transform(#[from] DecodeError),
    /// Authentication of the ciphertext failed: wrong key or tampered message.
    #[error("decryption failed: bad key or tampered message")]
    Decrypt,
}

/// An SMB2 cipher, MS-SMB2 2.2.3.1.2 (SMB2_ENCRYPTION_CAPABILITIES Ciphers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Cipher {
    /// AES-128-CCM, the only cipher of dialects 3.0 and 3.0.2.
    Aes128Ccm = 1,
    /// AES-128-GCM.
    Aes128Gcm = 2,
    /// AES-256-CCM.
    Aes256Ccm = 3,
    /// AES-256-GCM.
    Aes256Gcm = 4,
}

/// The cipher's usual name ("AES-128-GCM").
impl std::fmt::Display for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cipher::Aes128Ccm => "AES-128-CCM",
            Cipher::Aes128Gcm => "AES-128-GCM",
            Cipher::Aes256Ccm => "AES-256-CCM",
            Cipher::Aes256Gcm => "AES-256-GCM",
        })
    }
}

impl Cipher {
    /// The cipher with this CipherId, if known.
    pub fn from_id(id: u16) -> Option<Self> {
        Some(match id {
            1 => Cipher::Aes128Ccm,
            2 => Cipher::Aes128Gcm,
            3 => Cipher::Aes256Ccm,
            4 => Cipher::Aes256Gcm,
            _ => return None,
        })
    }

    /// The CipherId.
    pub fn id(self) -> u16 {
        self as u16
    }

    /// Key length in bytes (the KDF output length for this cipher, MS-SMB2 3.1.4.2).
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Ccm | Cipher::Aes128Gcm => 16,
            Cipher::Aes256Ccm | Cipher::Aes256Gcm => 32,
        }
    }

    /// Nonce length in bytes: 11 for CCM, 12 for GCM (MS-SMB2 2.2.41).
    pub fn nonce_len(self) -> usize {
        match self {
            Cipher::Aes128Ccm | Cipher::Aes256Ccm => 11,
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => 12,
        }
    }
}

type Aes128Ccm = Ccm<Aes128, U16, U11>;
type Aes256Ccm = Ccm<Aes256, U16, U11>;
type Aes128Gcm = AesGcm<Aes128, U12>;
type Aes256Gcm = AesGcm<Aes256, U12>;

/// Encrypts `msg` (one SMB2 message or a whole compound) into a transform message:
/// the 52-byte TRANSFORM_HEADER followed by the ciphertext (MS-SMB2 3.1.4.3).
pub fn encrypt_message(
    cipher: Cipher,
    key: &[u8],
    nonce: &[u8],
    session_id: u64,
    msg: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(TRANSFORM_HEADER_LEN + msg.len());
    out.resize(TRANSFORM_HEADER_LEN, 0);
    out.extend_from_slice(msg);
    encrypt_in_place(cipher, key, nonce, session_id, &mut out)?;
    Ok(out)
}

/// Encrypts in place: `frame` is 52 bytes of room for the TRANSFORM_HEADER followed by
/// the plaintext; on return it holds the header and the ciphertext. Saves the copies
/// [`encrypt_message`] makes when the caller can encode straight into its send buffer.
pub fn encrypt_in_place(
    cipher: Cipher,
    key: &[u8],
    nonce: &[u8],
    session_id: u64,
    frame: &mut [u8],
) -> Result<(), CryptoError> {
    let plain_len = frame.len().saturating_sub(TRANSFORM_HEADER_LEN);
    let (header, body) = frame.split_at_mut(TRANSFORM_HEADER_LEN.min(frame.len()));
    let header = transform_header(cipher, nonce, session_id, header, plain_len)?;
    let tag = seal(
        cipher,
        key,
        &header[20..20 + cipher.nonce_len()],
        &header[AAD_RANGE],
        body,
    )?;
    header[4..20].copy_from_slice(&tag);
    Ok(())
}

/// [`encrypt_in_place`] of the frame that starts at `buf[start..]` and goes on with
/// `tail`, appending `tail`'s ciphertext to `buf`: a large WRITE's data is encrypted from
/// the caller's buffer into the send buffer in one pass instead of being copied there and
/// then encrypted (on the CPUs [`crate::crypto`]'s fast AES-GCM runs on; otherwise it is
/// appended and encrypted in place).
pub fn encrypt_appending(
    cipher: Cipher,
    key: &[u8],
    nonce: &[u8],
    session_id: u64,
    buf: &mut Vec<u8>,
    start: usize,
    tail: &[u8],
) -> Result<(), CryptoError> {
    let body = start + TRANSFORM_HEADER_LEN;
    if buf.len() < body {
        return Err(CryptoError::MessageTooShort(
            buf.len().saturating_sub(start),
        ));
    }
    let fast = matches!(cipher, Cipher::Aes128Gcm | Cipher::Aes256Gcm) && super::gcm::available();
    if !fast {
        buf.extend_from_slice(tail);
        return encrypt_in_place(cipher, key, nonce, session_id, &mut buf[start..]);
    }
    let mut header = [0u8; TRANSFORM_HEADER_LEN];
    let plain_len = buf.len() - body + tail.len();
    transform_header(cipher, nonce, session_id, &mut header, plain_len)?;
    let tag = super::gcm::seal_append(
        key,
        gcm_nonce(&header[20..20 + cipher.nonce_len()])?,
        &header[AAD_RANGE],
        buf,
        body,
        tail,
    )?;
    header[4..20].copy_from_slice(&tag);
    buf[start..body].copy_from_slice(&header);
    Ok(())
}

/// Writes the TRANSFORM_HEADER of a `plain_len`-byte message into `header` (its first 52
/// bytes), the Signature left zero for the tag.
fn transform_header<'a>(
    cipher: Cipher,
    nonce: &[u8],
    session_id: u64,
    header: &'a mut [u8],
    plain_len: usize,
) -> Result<&'a mut [u8], CryptoError> {
    if nonce.len() < cipher.nonce_len() || nonce.len() > 16 {
        return Err(CryptoError::NonceLength(nonce.len()));
    }
    let original_size =
        u32::try_from(plain_len).map_err(|_| CryptoError::MessageTooLarge(plain_len))?;
    let len = header.len();
    let Some(header) = header.get_mut(..TRANSFORM_HEADER_LEN) else {
        return Err(CryptoError::MessageTooShort(len));
    };
    header[..4].copy_from_slice(&TRANSFORM_PROTOCOL_ID);
    header[4..20].fill(0);
    header[20..36].fill(0);
    header[20..20 + nonce.len()].copy_from_slice(nonce);
    header[36..40].copy_from_slice(&original_size.to_le_bytes());
    header[40..42].fill(0);
    header[42..44].copy_from_slice(&TRANSFORM_FLAG_ENCRYPTED.to_le_bytes());
    header[44..52].copy_from_slice(&session_id.to_le_bytes());
    Ok(header)
}

/// The SessionId of a transform message, to pick the session (and key) before decrypting.
pub fn transform_session_id(frame: &[u8]) -> Result<u64, DecodeError> {
    let mut r = Reader::new(frame);
    let pid: [u8; 4] = r.array("transform protocol id")?;
    if pid != TRANSFORM_PROTOCOL_ID {
        return Err(DecodeError::invalid(
            "transform protocol id",
            u32::from_be_bytes(pid),
        ));
    }
    r.skip(40, "transform header")?;
    r.u64("transform session id")
}

/// Decrypts a transform message in place (MS-SMB2 3.2.5.1.1.1): on success `frame` holds
/// just the plaintext SMB2 message(s) — the header is split off without copying — and
/// the SessionId is returned. On error the contents of `frame` are unspecified; the
/// caller must drop the connection.
pub fn decrypt_in_place(
    cipher: Cipher,
    key: &[u8],
    frame: &mut BytesMut,
) -> Result<u64, CryptoError> {
    let session_id = transform_session_id(frame)?;
    let mut r = Reader::at(frame, 36, "transform header")?;
    let original_size = r.u32("original message size")?;
    r.skip(2, "transform reserved")?;
    let flags = r.u16("transform flags")?;
    if flags != TRANSFORM_FLAG_ENCRYPTED {
        return Err(DecodeError::invalid("transform flags", flags).into());
    }
    // A transform message fills its transport frame: the ciphertext is exactly
    // OriginalMessageSize bytes (CCM and GCM do not expand the plaintext).
    let body_len = frame.len() - TRANSFORM_HEADER_LEN;
    if usize::try_from(original_size).ok() != Some(body_len) {
        return Err(DecodeError::invalid("original message size", original_size).into());
    }

    let (header, body) = frame.split_at_mut(TRANSFORM_HEADER_LEN);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&header[4..20]);
    open(
        cipher,
        key,
        &header[20..20 + cipher.nonce_len()],
        &header[AAD_RANGE],
        body,
        &tag,
    )?;
    frame.advance(TRANSFORM_HEADER_LEN);
    Ok(session_id)
}

fn seal(
    cipher: Cipher,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], CryptoError> {
    match cipher {
        Cipher::Aes128Ccm => seal_with::<Aes128Ccm>(key, nonce, aad, buf),
        Cipher::Aes128Gcm | Cipher::Aes256Gcm if super::gcm::available() => {
            super::gcm::seal(key, gcm_nonce(nonce)?, aad, buf)
        }
        Cipher::Aes128Gcm => seal_with::<Aes128Gcm>(key, nonce, aad, buf),
        Cipher::Aes256Ccm => seal_with::<Aes256Ccm>(key, nonce, aad, buf),
        Cipher::Aes256Gcm => seal_with::<Aes256Gcm>(key, nonce, aad, buf),
    }
}

fn open(
    cipher: Cipher,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), CryptoError> {
    match cipher {
        Cipher::Aes128Ccm => open_with::<Aes128Ccm>(key, nonce, aad, buf, tag),
        Cipher::Aes128Gcm | Cipher::Aes256Gcm if super::gcm::available() => {
            super::gcm::open(key, gcm_nonce(nonce)?, aad, buf, tag)
        }
        Cipher::Aes128Gcm => open_with::<Aes128Gcm>(key, nonce, aad, buf, tag),
        Cipher::Aes256Ccm => open_with::<Aes256Ccm>(key, nonce, aad, buf, tag),
        Cipher::Aes256Gcm => open_with::<Aes256Gcm>(key, nonce, aad, buf, tag),
    }
}

fn gcm_nonce(nonce: &[u8]) -> Result<&[u8; 12], CryptoError> {
    nonce
        .try_into()
        .map_err(|_| CryptoError::NonceLength(nonce.len()))
}

fn init<A: KeyInit + AeadCore>(
    key: &[u8],
    nonce: &[u8],
) -> Result<(A, aes_gcm::aead::Nonce<A>), CryptoError> {
    let aead = A::new_from_slice(key).map_err(|_| CryptoError::KeyLength {
        expected: A::key_size(),
        got: key.len(),
    })?;
    let nonce = GenericArray::from_exact_iter(nonce.iter().copied())
        .ok_or(CryptoError::NonceLength(nonce.len()))?;
    Ok((aead, nonce))
}

fn seal_with<A: KeyInit + AeadInPlace<TagSize = U16>>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], CryptoError> {
    let (aead, nonce) = init::<A>(key, nonce)?;
    let tag = aead
        .encrypt_in_place_detached(&nonce, aad, buf)
        // The AEAD crates only refuse inputs beyond 2^36 bytes, far past u32 sizes.
        .map_err(|_| CryptoError::MessageTooLarge(buf.len()))?;
    Ok(tag.into())
}

fn open_with<A: KeyInit + AeadInPlace<TagSize = U16>>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), CryptoError> {
    let (aead, nonce) = init::<A>(key, nonce)?;
    aead.decrypt_in_place_detached(&nonce, aad, buf, tag.into())
        .map_err(|_| CryptoError::Decrypt)
}

/// A GMAC tag (AES-128-GCM with empty plaintext) over `aad`, for SMB 3.1.1 AES-GMAC signing.
/// `aad` may come in pieces (each but the last a multiple of 16 bytes), so a message's
/// header with a zeroed signature and its body need no copy into one buffer.
pub(crate) fn gmac(key: &[u8], nonce: &[u8; 12], aad: &[&[u8]]) -> Result<[u8; 16], CryptoError> {
    if super::gcm::available() {
        return super::gcm::gmac(key, nonce, aad);
    }
    seal_with::<Aes128Gcm>(key, nonce, &aad.concat(), &mut [])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(cipher: Cipher) -> (Vec<u8>, Vec<u8>) {
        let key = vec![0x11; cipher.key_len()];
        let msg = b"\xFESMB plaintext of some length".to_vec();
        let nonce = vec![0x22; cipher.nonce_len()];
        (
            key.clone(),
            encrypt_message(cipher, &key, &nonce, 0x1234, &msg).unwrap(),
        )
    }

    #[test]
    fn round_trip_every_cipher() {
        for id in 1..=4 {
            let cipher = Cipher::from_id(id).unwrap();
            assert_eq!(cipher.id(), id);
            let (key, enc) = frame(cipher);
            assert_eq!(transform_session_id(&enc).unwrap(), 0x1234);
            let mut buf = BytesMut::from(&enc[..]);
            assert_eq!(decrypt_in_place(cipher, &key, &mut buf).unwrap(), 0x1234);
            assert_eq!(&buf[..], b"\xFESMB plaintext of some length");
        }
        assert_eq!(Cipher::from_id(5), None);
    }

    #[test]
    fn an_original_message_size_other_than_the_frame_is_refused_before_any_work() {
        let (key, enc) = frame(Cipher::Aes128Gcm);
        for size in [u32::MAX, 0, enc.len() as u32] {
            let mut bad = enc.clone();
            bad[36..40].copy_from_slice(&size.to_le_bytes());
            let e = decrypt_in_place(Cipher::Aes128Gcm, &key, &mut BytesMut::from(&bad[..]))
                .unwrap_err();
            assert!(
                e.to_string().contains("original message size"),
                "{size}: {e}"
            );
        }
    }

    #[test]
    fn tampering_and_wrong_keys_fail_cleanly() {
        let (key, enc) = frame(Cipher::Aes128Gcm);
        for i in [4, 20, 40, 44, 60] {
            let mut bad = BytesMut::from(&enc[..]);
            bad[i] ^= 1;
            assert!(
                decrypt_in_place(Cipher::Aes128Gcm, &key, &mut bad).is_err(),
                "{i}"
            );
        }
        let mut buf = BytesMut::from(&enc[..]);
        assert_eq!(
            decrypt_in_place(Cipher::Aes128Gcm, &[0; 16], &mut buf),
            Err(CryptoError::Decrypt)
        );
        let mut buf = BytesMut::from(&enc[..]);
        assert!(matches!(
            decrypt_in_place(Cipher::Aes128Gcm, &[0; 15], &mut buf),
            Err(CryptoError::KeyLength {
                expected: 16,
                got: 15
            })
        ));
    }

    #[test]
    fn short_and_garbage_frames_are_errors_not_panics() {
        for len in 0..60 {
            let mut buf = BytesMut::from(&vec![0xFD; len][..]);
            assert!(decrypt_in_place(Cipher::Aes128Ccm, &[0; 16], &mut buf).is_err());
            let mut buf = BytesMut::zeroed(len);
            if len >= 4 {
                buf[..4].copy_from_slice(&TRANSFORM_PROTOCOL_ID);
            }
            assert!(decrypt_in_place(Cipher::Aes128Ccm, &[0; 16], &mut buf).is_err());
        }
        // OriginalMessageSize larger than what follows.
        let (key, mut enc) = frame(Cipher::Aes128Ccm);
        enc[36] = 0xFF;
        let mut buf = BytesMut::from(&enc[..]);
        assert!(matches!(
            decrypt_in_place(Cipher::Aes128Ccm, &key, &mut buf),
            Err(CryptoError::Transform(_))
        ));
    }

    #[test]
    fn nonce_length_is_checked() {
        let key = [0u8; 16];
        assert_eq!(
            encrypt_message(Cipher::Aes128Gcm, &key, &[0; 11], 1, b"x"),
            Err(CryptoError::NonceLength(11))
        );
        assert_eq!(
            encrypt_message(Cipher::Aes128Gcm, &key, &[0; 17], 1, b"x"),
            Err(CryptoError::NonceLength(17))
        );
        // 3.0 style: 16 bytes on the wire, the first 11 used.
        let enc = encrypt_message(Cipher::Aes128Ccm, &key, &[7; 16], 1, b"x").unwrap();
        assert_eq!(&enc[20..36], &[7; 16]);
    }
}
