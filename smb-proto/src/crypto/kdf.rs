//! SMB 3.x key derivation, MS-SMB2 3.1.4.2 (SP800-108 KDF in counter mode, HMAC-SHA256).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Dialect 3.1.1 (MS-SMB2 2.2.3 DialectRevision 0x0311): keys take the preauth hash as context.
const DIALECT_311: u16 = 0x0311;
/// Dialect 3.0 (0x0300): the first dialect with derived keys.
const DIALECT_300: u16 = 0x0300;

/// HMAC-SHA256 keyed with `key`.
///
/// RFC 2104 pads keys up to the 64-byte block with zeros and hashes longer ones; doing
/// that here lets us use the infallible block-sized constructor instead of a fallible
/// `new_from_slice` whose error can never happen.
pub(crate) fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into())
}

/// SP800-108 counter-mode KDF with HMAC-SHA256 (MS-SMB2 3.1.4.2: r = 32, L = `out_len` × 8).
///
/// Each block is `HMAC(key, be32(i) || label || 0x00 || context || be32(L))`. MS-SMB2's
/// labels and 3.0 contexts include their terminating NUL, so pass them with it
/// (`b"SMB2AESCMAC\0"`); the 0x00 separator is added here.
pub fn kdf(key: &[u8], label: &[u8], context: &[u8], out_len: usize) -> Vec<u8> {
    // L is a 32-bit field; SMB keys are at most 32 bytes, saturate rather than wrap.
    let l_bits = u32::try_from(out_len).unwrap_or(u32::MAX).saturating_mul(8);
    let mut out = Vec::with_capacity(out_len);
    let mut i: u32 = 1;
    while out.len() < out_len {
        let mut mac = hmac_sha256(key);
        mac.update(&i.to_be_bytes());
        mac.update(label);
        mac.update(&[0]);
        mac.update(context);
        mac.update(&l_bits.to_be_bytes());
        let block = mac.finalize().into_bytes();
        let take = (out_len - out.len()).min(block.len());
        out.extend_from_slice(&block[..take]);
        i = i.wrapping_add(1);
    }
    out
}

/// The per-session keys of MS-SMB2 3.2.5.3.1, from the client's point of view.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// Session.SigningKey (16 bytes).
    pub signing: Vec<u8>,
    /// Session.EncryptionKey: encrypts client-to-server messages. Empty below 3.0.
    pub encryption: Vec<u8>,
    /// Session.DecryptionKey: decrypts server-to-client messages. Empty below 3.0.
    pub decryption: Vec<u8>,
    /// Session.ApplicationKey (16 bytes), handed to RPC over named pipes.
    pub application: Vec<u8>,
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.signing.zeroize();
        self.encryption.zeroize();
        self.decryption.zeroize();
        self.application.zeroize();
    }
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("signing", &"<redacted>")
            .field("encryption", &"<redacted>")
            .field("decryption", &"<redacted>")
            .field("application", &"<redacted>")
            .finish()
    }
}

/// Derives the session keys for `dialect` (the DialectRevision, e.g. 0x0311) from the
/// GSS session key (MS-SMB2 3.2.5.3.1).
///
/// * 2.0.2 / 2.1: signing and application keys are Session.SessionKey (the first 16
///   bytes of the GSS key, zero-padded); there is no encryption.
/// * 3.0 / 3.0.2: fixed labels and contexts ("SMB2AESCMAC"/"SmbSign", "SMB2AESCCM"/
///   "ServerIn " and "ServerOut", "SMB2APP"/"SmbRpc").
/// * 3.1.1: "SMBSigningKey", "SMBC2SCipherKey", "SMBS2CCipherKey", "SMBAppKey", all
///   with `preauth_hash` (Session.PreauthIntegrityHashValue) as context.
///
/// `cipher_key_len` is 16 for AES-128-CCM/GCM and 32 for AES-256-CCM/GCM. For the
/// AES-256 ciphers MS-SMB2 3.1.4.2 sets L = 256 and 3.2.5.3.1 derives the cipher keys
/// from Session.FullSessionKey (the whole GSS key, not its first 16 bytes); signing and
/// application keys always use the 16-byte Session.SessionKey and L = 128. Samba's
/// `smb2_signing_key_create` does the same.
pub fn derive_session_keys(
    dialect: u16,
    session_key: &[u8],
    preauth_hash: &[u8; 64],
    cipher_key_len: usize,
) -> SessionKeys {
    let mut short_key = [0u8; 16];
    let n = session_key.len().min(16);
    short_key[..n].copy_from_slice(&session_key[..n]);

    if dialect < DIALECT_300 {
        return SessionKeys {
            signing: short_key.to_vec(),
            encryption: Vec::new(),
            decryption: Vec::new(),
            application: short_key.to_vec(),
        };
    }

    let cipher_ki: &[u8] = if cipher_key_len > 16 {
        session_key
    } else {
        &short_key
    };
    if dialect >= DIALECT_311 {
        SessionKeys {
            signing: kdf(&short_key, b"SMBSigningKey\0", preauth_hash, 16),
            encryption: kdf(
                cipher_ki,
                b"SMBC2SCipherKey\0",
                preauth_hash,
                cipher_key_len,
            ),
            decryption: kdf(
                cipher_ki,
                b"SMBS2CCipherKey\0",
                preauth_hash,
                cipher_key_len,
            ),
            application: kdf(&short_key, b"SMBAppKey\0", preauth_hash, 16),
        }
    } else {
        SessionKeys {
            signing: kdf(&short_key, b"SMB2AESCMAC\0", b"SmbSign\0", 16),
            encryption: kdf(cipher_ki, b"SMB2AESCCM\0", b"ServerIn \0", cipher_key_len),
            decryption: kdf(cipher_ki, b"SMB2AESCCM\0", b"ServerOut\0", cipher_key_len),
            application: kdf(&short_key, b"SMB2APP\0", b"SmbRpc\0", 16),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_helper_matches_rfc4231_case_1_and_long_keys() {
        // RFC 4231 test case 1 (20-byte key) and case 6 (131-byte key, hashed first).
        let mut m = hmac_sha256(&[0x0b; 20]);
        m.update(b"Hi There");
        assert_eq!(
            m.finalize().into_bytes()[..8],
            [0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53]
        );
        let mut m = hmac_sha256(&[0xaa; 131]);
        m.update(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(
            m.finalize().into_bytes()[..8],
            [0x60, 0xe4, 0x31, 0x59, 0x1e, 0xe0, 0xb6, 0x7f]
        );
    }

    #[test]
    fn multi_block_output_starts_with_single_block_of_same_l() {
        // The counter makes block 2 differ from block 1; L is part of every block.
        let k = kdf(b"key", b"label\0", b"ctx", 64);
        assert_eq!(k.len(), 64);
        assert_ne!(k[..32], k[32..]);
        assert_ne!(kdf(b"key", b"label\0", b"ctx", 16), k[..16].to_vec());
    }

    #[test]
    fn smb2_keys_are_the_session_key_and_debug_redacts() {
        let keys = derive_session_keys(0x0210, &[9; 16], &[0; 64], 16);
        assert_eq!(keys.signing, vec![9; 16]);
        assert!(keys.encryption.is_empty());
        let dbg = format!("{keys:?}");
        assert!(!dbg.contains('9'), "{dbg}");
    }

    #[test]
    fn aes256_cipher_keys_are_32_bytes_and_use_l256() {
        let sk = [3u8; 16];
        let h = [5u8; 64];
        let k = derive_session_keys(0x0311, &sk, &h, 32);
        assert_eq!(k.encryption.len(), 32);
        assert_eq!(k.encryption, kdf(&sk, b"SMBC2SCipherKey\0", &h, 32));
        // L = 256 changes even the first block relative to the 128-bit key.
        let k128 = derive_session_keys(0x0311, &sk, &h, 16);
        assert_ne!(k.encryption[..16], k128.encryption[..]);
        assert_eq!(k.signing, k128.signing);
    }
}
