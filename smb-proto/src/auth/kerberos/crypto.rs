//! Kerberos encryption types (RFC 3961): AES128/AES256-CTS-HMAC-SHA1-96 (RFC 3962) and
//! RC4-HMAC (RFC 4757) — string-to-key, encryption with key usages, keyed checksums.
//!
//! Nothing here draws randomness: the caller hands [`Key::encrypt`] its confounder (from
//! the core's seeded generator, so a recorded session replays).
//!
//! ```
//! use smb_proto::auth::kerberos::crypto::{string_to_key, Enctype, DEFAULT_ITERATIONS};
//!
//! let key = string_to_key(Enctype::Aes256, "password", b"ATHENA.MIT.EDUraeburn", DEFAULT_ITERATIONS)?;
//! // Usage 1: the AS-REQ's encrypted timestamp (RFC 4120 7.5.1).
//! let sealed = key.encrypt(1, b"timestamp", &[7; 16])?;
//! assert_eq!(&key.decrypt(1, &sealed)?[..], b"timestamp");
//! assert!(key.decrypt(2, &sealed).is_err());
//! # Ok::<(), smb_proto::auth::kerberos::crypto::CryptoError>(())
//! ```

use std::fmt;

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::{Aes128, Aes256, Block};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use rc4::StreamCipher;
use sha1::Sha1;
use zeroize::Zeroizing;

use crate::auth::ntlm::{constant_time_eq, hmac_md5, nt_hash, rc4};

/// The PBKDF2 iteration count when the KDC sends no `s2kparams` (RFC 3962 section 4).
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// The most PBKDF2 iterations [`string_to_key`] runs: a KDC's `s2kparams` is untrusted, and
/// 2^20 HMAC-SHA1 pairs take about a second; AD always asks for 4096.
pub const MAX_ITERATIONS: u32 = 1 << 20;
/// Length of an HMAC-SHA1-96 integrity tag or checksum (RFC 3962 section 6).
const AES_MAC_LEN: usize = 12;
/// AES block and confounder length.
const AES_BLOCK: usize = 16;
/// RC4-HMAC confounder length (RFC 4757 section 5).
const RC4_CONFOUNDER: usize = 8;
/// RC4-HMAC checksum length: a whole HMAC-MD5.
const RC4_CHECKSUM: usize = 16;

/// An encryption type this client speaks (RFC 3961 section 8, RFC 3962 section 7, RFC 4757).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Enctype {
    /// `aes128-cts-hmac-sha1-96`, etype 17.
    Aes128,
    /// `aes256-cts-hmac-sha1-96`, etype 18: what AD prefers.
    Aes256,
    /// `rc4-hmac` (`arcfour-hmac-md5`), etype 23: the key is the NT hash.
    Rc4Hmac,
}

impl Enctype {
    /// The etype number on the wire (`EncryptedData.etype`, `EncryptionKey.keytype`).
    pub fn number(self) -> i32 {
        match self {
            Enctype::Aes128 => 17,
            Enctype::Aes256 => 18,
            Enctype::Rc4Hmac => 23,
        }
    }

    /// The etype with wire number `number`, if this client speaks it.
    pub fn from_number(number: i32) -> Option<Enctype> {
        match number {
            17 => Some(Enctype::Aes128),
            18 => Some(Enctype::Aes256),
            23 => Some(Enctype::Rc4Hmac),
            _ => None,
        }
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Enctype::Aes128 | Enctype::Rc4Hmac => 16,
            Enctype::Aes256 => 32,
        }
    }

    /// Length of the confounder [`Key::encrypt`] takes: 16 for AES, 8 for RC4.
    pub fn confounder_len(self) -> usize {
        match self {
            Enctype::Aes128 | Enctype::Aes256 => AES_BLOCK,
            Enctype::Rc4Hmac => RC4_CONFOUNDER,
        }
    }

    /// The keyed checksum type of this etype (`Checksum.cksumtype`): hmac-sha1-96-aes128
    /// 15, hmac-sha1-96-aes256 16, and KERB_CHECKSUM_HMAC_MD5 −138 for RC4.
    pub fn checksum_type(self) -> i32 {
        match self {
            Enctype::Aes128 => 15,
            Enctype::Aes256 => 16,
            Enctype::Rc4Hmac => -138,
        }
    }

    /// Length of a [`Key::checksum`] of this etype.
    pub fn checksum_len(self) -> usize {
        match self {
            Enctype::Aes128 | Enctype::Aes256 => AES_MAC_LEN,
            Enctype::Rc4Hmac => RC4_CHECKSUM,
        }
    }
}

impl fmt::Display for Enctype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Enctype::Aes128 => "aes128-cts-hmac-sha1-96",
            Enctype::Aes256 => "aes256-cts-hmac-sha1-96",
            Enctype::Rc4Hmac => "rc4-hmac",
        })
    }
}

/// Why a Kerberos crypto operation failed. Never holds key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// An etype number this client does not speak (DES, or the SHA-2 etypes 19 and 20).
    #[error("etype {0} is not supported (only 17, 18 and 23)")]
    UnsupportedEnctype(i32),
    /// A key of the wrong length for its etype.
    #[error("a {etype} key is {expected} bytes, not {got}")]
    KeyLength {
        /// The key's etype.
        etype: Enctype,
        /// Its key length.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A confounder of the wrong length for the key's etype.
    #[error("a {etype} confounder is {expected} bytes, not {got}")]
    ConfounderLength {
        /// The key's etype.
        etype: Enctype,
        /// Its confounder length.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A PBKDF2 iteration count of 0, or above [`MAX_ITERATIONS`].
    #[error("PBKDF2 iteration count {0} is out of range (1 to {MAX_ITERATIONS})")]
    Iterations(u32),
    /// `s2kparams` that are not the 4-byte iteration count of RFC 3962 section 4.
    #[error("s2kparams of {0} bytes; AES string-to-key takes 4")]
    S2kParams(usize),
    /// A ciphertext shorter than a confounder and an integrity tag.
    #[error("{etype} ciphertext of {got} bytes is shorter than the minimum {min}")]
    CiphertextTooShort {
        /// The key's etype.
        etype: Enctype,
        /// The minimum length.
        min: usize,
        /// The length given.
        got: usize,
    },
    /// The integrity tag does not match: wrong key, wrong key usage, or altered bytes.
    #[error("{etype} integrity check failed (wrong key or key usage, or altered data)")]
    Integrity {
        /// The key's etype.
        etype: Enctype,
    },
    /// A checksum does not match the data.
    #[error("{etype} checksum does not match")]
    BadChecksum {
        /// The key's etype.
        etype: Enctype,
    },
}

/// A Kerberos key of one etype: a long-term key, a session key or a subkey. Wiped from
/// memory when dropped; its `Debug` shows the etype only.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    etype: Enctype,
    bytes: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("etype", &self.etype)
            .field("bytes", &"<redacted>")
            .finish()
    }
}

impl Key {
    /// A key of `etype` with these bytes (e.g. an `EncryptionKey.keyvalue`, a keytab entry).
    ///
    /// # Errors
    ///
    /// [`CryptoError::KeyLength`] when `bytes` is not [`Enctype::key_len`] long.
    pub fn new(etype: Enctype, bytes: &[u8]) -> Result<Key, CryptoError> {
        if bytes.len() != etype.key_len() {
            return Err(CryptoError::KeyLength {
                etype,
                expected: etype.key_len(),
                got: bytes.len(),
            });
        }
        Ok(Key {
            etype,
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// The key's etype.
    pub fn etype(&self) -> Enctype {
        self.etype
    }

    /// The key bytes (for the SMB session key, or a comparison in a test).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Encrypts `plaintext` for key usage `usage` (RFC 4120 section 7.5.1) with the
    /// caller's random `confounder` ([`Enctype::confounder_len`] bytes): the
    /// `EncryptedData.cipher` bytes.
    ///
    /// AES (RFC 3961 section 5.3, RFC 3962): `AES-CTS(Ke, confounder ‖ plaintext) ‖
    /// HMAC-SHA1(Ki, confounder ‖ plaintext)[..12]`. RC4 (RFC 4757): `checksum ‖
    /// RC4(K3, confounder ‖ plaintext)`.
    ///
    /// # Errors
    ///
    /// [`CryptoError::ConfounderLength`] for a confounder of the wrong length.
    pub fn encrypt(
        &self,
        usage: u32,
        plaintext: &[u8],
        confounder: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let etype = self.etype;
        if confounder.len() != etype.confounder_len() {
            return Err(CryptoError::ConfounderLength {
                etype,
                expected: etype.confounder_len(),
                got: confounder.len(),
            });
        }
        let mut data = Zeroizing::new(Vec::with_capacity(confounder.len() + plaintext.len()));
        data.extend_from_slice(confounder);
        data.extend_from_slice(plaintext);
        match etype {
            Enctype::Aes128 | Enctype::Aes256 => {
                let ke = self.derive(&usage_constant(usage, 0xAA));
                let ki = self.derive(&usage_constant(usage, 0x55));
                let mac = hmac_sha1(&ki, &data);
                let mut out = AesKey::new(&ke).cts_encrypt(&data);
                out.extend_from_slice(mac.get(..AES_MAC_LEN).unwrap_or_default());
                Ok(out)
            }
            Enctype::Rc4Hmac => {
                let k1 = self.rc4_usage_key(usage);
                let checksum = hmac_md5(&k1, &[&data]);
                let k3 = Zeroizing::new(hmac_md5(&k1, &[&checksum]));
                rc4(&k3).apply_keystream(&mut data);
                let mut out = Vec::with_capacity(RC4_CHECKSUM + data.len());
                out.extend_from_slice(&checksum);
                out.extend_from_slice(&data);
                Ok(out)
            }
        }
    }

    /// Decrypts `ciphertext` (an `EncryptedData.cipher`) made for key usage `usage`, checks
    /// its integrity in constant time and returns the plaintext without the confounder.
    ///
    /// # Errors
    ///
    /// [`CryptoError::CiphertextTooShort`], or [`CryptoError::Integrity`] when the key or
    /// the usage is wrong or the bytes were altered.
    pub fn decrypt(
        &self,
        usage: u32,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let etype = self.etype;
        match etype {
            Enctype::Aes128 | Enctype::Aes256 => {
                let min = AES_BLOCK + AES_MAC_LEN;
                let split = ciphertext
                    .len()
                    .checked_sub(AES_MAC_LEN)
                    .filter(|_| ciphertext.len() >= min)
                    .and_then(|at| ciphertext.split_at_checked(at));
                let Some((body, tag)) = split else {
                    return Err(CryptoError::CiphertextTooShort {
                        etype,
                        min,
                        got: ciphertext.len(),
                    });
                };
                let ke = self.derive(&usage_constant(usage, 0xAA));
                let ki = self.derive(&usage_constant(usage, 0x55));
                let data = AesKey::new(&ke).cts_decrypt(body);
                let mac = hmac_sha1(&ki, &data);
                if !constant_time_eq(mac.get(..AES_MAC_LEN).unwrap_or_default(), tag) {
                    return Err(CryptoError::Integrity { etype });
                }
                Ok(Zeroizing::new(
                    data.get(AES_BLOCK..).unwrap_or_default().to_vec(),
                ))
            }
            Enctype::Rc4Hmac => {
                let min = RC4_CHECKSUM + RC4_CONFOUNDER;
                let Some((checksum, sealed)) = ciphertext
                    .split_at_checked(RC4_CHECKSUM)
                    .filter(|_| ciphertext.len() >= min)
                else {
                    return Err(CryptoError::CiphertextTooShort {
                        etype,
                        min,
                        got: ciphertext.len(),
                    });
                };
                let k1 = self.rc4_usage_key(usage);
                let k3 = Zeroizing::new(hmac_md5(&k1, &[checksum]));
                let mut data = Zeroizing::new(sealed.to_vec());
                rc4(&k3).apply_keystream(&mut data);
                if !constant_time_eq(&hmac_md5(&k1, &[&data]), checksum) {
                    return Err(CryptoError::Integrity { etype });
                }
                Ok(Zeroizing::new(
                    data.get(RC4_CONFOUNDER..).unwrap_or_default().to_vec(),
                ))
            }
        }
    }

    /// The keyed checksum of `data` for key usage `usage`, of this key's
    /// [`Enctype::checksum_type`]: `HMAC-SHA1(Kc, data)[..12]` for AES (RFC 3961 section
    /// 5.4), `HMAC-MD5(Ksign, MD5(usage ‖ data))` for RC4 (RFC 4757 section 4).
    pub fn checksum(&self, usage: u32, data: &[u8]) -> Vec<u8> {
        match self.etype {
            Enctype::Aes128 | Enctype::Aes256 => {
                let kc = self.derive(&usage_constant(usage, 0x99));
                let mac = hmac_sha1(&kc, data);
                mac.get(..AES_MAC_LEN).unwrap_or_default().to_vec()
            }
            Enctype::Rc4Hmac => {
                let ksign = Zeroizing::new(hmac_md5(self.rc4_bytes(), &[b"signaturekey\0"]));
                let mut md5 = Md5::new();
                md5.update(rc4_usage(usage));
                md5.update(data);
                hmac_md5(&ksign, &[&md5.finalize()]).to_vec()
            }
        }
    }

    /// Checks `checksum` against [`Key::checksum`] of `data`, in constant time.
    ///
    /// # Errors
    ///
    /// [`CryptoError::BadChecksum`] when it does not match.
    pub fn verify_checksum(
        &self,
        usage: u32,
        data: &[u8],
        checksum: &[u8],
    ) -> Result<(), CryptoError> {
        if constant_time_eq(&self.checksum(usage, data), checksum) {
            Ok(())
        } else {
            Err(CryptoError::BadChecksum { etype: self.etype })
        }
    }

    /// DK(key, constant) of RFC 3961 section 5.1 for the AES etypes: the derived key's
    /// bytes, as long as this key. RC4 derives nothing this way; it returns the key itself.
    pub fn derive(&self, constant: &[u8]) -> Zeroizing<Vec<u8>> {
        match self.etype {
            Enctype::Aes128 | Enctype::Aes256 => derive_random(&self.bytes, constant),
            Enctype::Rc4Hmac => self.bytes.clone(),
        }
    }

    /// The RC4 key as the 16-byte array the HMAC-MD5 helper takes; [`Key::new`] checked the
    /// length, so the fallback (zeros) is never used.
    fn rc4_bytes(&self) -> &[u8; 16] {
        const NONE: &[u8; 16] = &[0; 16];
        self.bytes.as_slice().try_into().unwrap_or(NONE)
    }

    /// K1 of RFC 4757 section 5: HMAC-MD5(key, translated usage).
    fn rc4_usage_key(&self, usage: u32) -> Zeroizing<[u8; 16]> {
        Zeroizing::new(hmac_md5(self.rc4_bytes(), &[&rc4_usage(usage)]))
    }
}

/// Derives the long-term key of `etype` from a password.
///
/// AES (RFC 3962 section 4): `DK(PBKDF2-HMAC-SHA1(password, salt, iterations),
/// "kerberos")`, the password as UTF-8 (MS-KILE 3.1.1.2) and the salt as the KDC gave it
/// (AD's user salt is the upper-case realm and the account name, e.g.
/// `SMBTEST.TESTsmbtest`). RC4 (RFC 4757 section 2): the NT hash, MD4 of the UTF-16LE
/// password; `salt` and `iterations` are ignored.
///
/// # Errors
///
/// [`CryptoError::Iterations`] for an AES iteration count of 0 or above [`MAX_ITERATIONS`].
pub fn string_to_key(
    etype: Enctype,
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<Key, CryptoError> {
    match etype {
        Enctype::Aes128 | Enctype::Aes256 => {
            if iterations == 0 || iterations > MAX_ITERATIONS {
                return Err(CryptoError::Iterations(iterations));
            }
            let mut tkey = Zeroizing::new(vec![0u8; etype.key_len()]);
            pbkdf2::pbkdf2_hmac::<Sha1>(password.as_bytes(), salt, iterations, &mut tkey);
            Ok(Key {
                etype,
                bytes: derive_random(&tkey, b"kerberos"),
            })
        }
        Enctype::Rc4Hmac => Ok(Key {
            etype,
            bytes: Zeroizing::new(nt_hash(password).to_vec()),
        }),
    }
}

/// The PBKDF2 iteration count in an ETYPE-INFO2 entry's `s2kparams` for an AES etype: a
/// 4-byte big-endian count, [`DEFAULT_ITERATIONS`] when absent (RFC 3962 section 4).
///
/// # Errors
///
/// [`CryptoError::S2kParams`] when the parameters are not 4 bytes;
/// [`CryptoError::Iterations`] when the count is 0 or above [`MAX_ITERATIONS`].
pub fn iterations_from_params(params: Option<&[u8]>) -> Result<u32, CryptoError> {
    let Some(params) = params else {
        return Ok(DEFAULT_ITERATIONS);
    };
    let bytes: [u8; 4] = params
        .try_into()
        .map_err(|_| CryptoError::S2kParams(params.len()))?;
    let iterations = u32::from_be_bytes(bytes);
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(CryptoError::Iterations(iterations));
    }
    Ok(iterations)
}

/// n-fold of RFC 3961 section 5.1: stretches or folds `input` to `out_len` bytes by
/// repeating it, each copy rotated right by 13 bits more, and adding the `out_len`-byte
/// chunks with one's-complement (end-around carry) addition. An empty input folds to
/// zeros.
pub fn nfold(input: &[u8], out_len: usize) -> Vec<u8> {
    let in_len = input.len();
    let mut out = vec![0u8; out_len];
    if in_len == 0 || out_len == 0 {
        return out;
    }
    let lcm = in_len / gcd(in_len, out_len) * out_len;
    let in_bits = in_len * 8;
    // Walk the lcm-byte stretched string from its last byte, adding it into `out` with
    // carry; byte i of the stretched string comes from copy i / in_len, rotated right by
    // 13 bits per copy (this is MIT krb5's formulation of the same sum).
    let mut carry: u32 = 0;
    for i in (0..lcm).rev() {
        let copy = i / in_len;
        let msbit = (in_bits - 1 + (in_bits + 13) * copy + (in_len - i % in_len) * 8) % in_bits;
        // Both indexes are taken modulo a non-zero length: never out of range.
        let at = |k: usize| u32::from(input.get(k % in_len).copied().unwrap_or(0));
        let hi = at(in_len - 1 - msbit / 8);
        let lo = at(in_len - msbit / 8);
        let byte = ((hi << 8 | lo) >> (msbit % 8 + 1)) & 0xff;
        if let Some(slot) = out.get_mut(i % out_len) {
            carry += byte + u32::from(*slot);
            *slot = (carry & 0xff) as u8;
            carry >>= 8;
        }
    }
    // The end-around carry of one's-complement addition.
    while carry != 0 {
        for slot in out.iter_mut().rev() {
            carry += u32::from(*slot);
            *slot = (carry & 0xff) as u8;
            carry >>= 8;
        }
    }
    out
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// DR(key, constant) of RFC 3961 section 5.1 with AES: the n-folded constant encrypted
/// again and again, blocks concatenated to the key's length. For AES random-to-key is the
/// identity, so this is also DK. `key` is 16 or 32 bytes (its callers hold a [`Key`]).
fn derive_random(key: &[u8], constant: &[u8]) -> Zeroizing<Vec<u8>> {
    let cipher = AesKey::new(key);
    let mut block = Block::default();
    block.copy_from_slice(&nfold(constant, AES_BLOCK));
    let mut out = Zeroizing::new(Vec::with_capacity(key.len()));
    while out.len() < key.len() {
        cipher.encrypt(&mut block);
        out.extend_from_slice(&block);
    }
    out.truncate(key.len());
    out
}

/// The DK constant of a key usage (RFC 3961 section 5.3): usage as 4 bytes big-endian, then
/// 0x99 (checksum), 0xAA (encryption) or 0x55 (integrity).
fn usage_constant(usage: u32, kind: u8) -> [u8; 5] {
    let [a, b, c, d] = usage.to_be_bytes();
    [a, b, c, d, kind]
}

/// The RC4-HMAC message type for a key usage (RFC 4757 section 3, as MIT's
/// `krb5int_arcfour_translate_usage` and Samba's kcrypto apply it): the AS-REP part (3) is
/// 8 and the GSS wrap token's (23) is 13; the rest are unchanged (the RFC's 9 → 8 is an
/// erratum). Little-endian.
fn rc4_usage(usage: u32) -> [u8; 4] {
    let translated = match usage {
        3 => 8,
        23 => 13,
        other => other,
    };
    translated.to_le_bytes()
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 20]> {
    // HMAC takes keys of any length; the fallback is never taken.
    let Ok(mut mac) = <Hmac<Sha1> as Mac>::new_from_slice(key) else {
        return Zeroizing::new([0; 20]);
    };
    mac.update(data);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// AES-128 or AES-256 by key length.
enum AesKey {
    Aes128(Box<Aes128>),
    Aes256(Box<Aes256>),
}

impl AesKey {
    /// `key` is 16 or 32 bytes; any other length (impossible through [`Key`]) is treated as
    /// AES-256 over the key zero-padded or cut, so that nothing here can panic.
    fn new(key: &[u8]) -> AesKey {
        if let Ok(cipher) = Aes128::new_from_slice(key) {
            return AesKey::Aes128(Box::new(cipher));
        }
        let mut padded = Zeroizing::new([0u8; 32]);
        for (slot, byte) in padded.iter_mut().zip(key) {
            *slot = *byte;
        }
        AesKey::Aes256(Box::new(Aes256::new(&(*padded).into())))
    }

    fn encrypt(&self, block: &mut Block) {
        match self {
            AesKey::Aes128(c) => c.encrypt_block(block),
            AesKey::Aes256(c) => c.encrypt_block(block),
        }
    }

    fn decrypt(&self, block: &mut Block) {
        match self {
            AesKey::Aes128(c) => c.decrypt_block(block),
            AesKey::Aes256(c) => c.decrypt_block(block),
        }
    }

    /// CBC with ciphertext stealing, IV 0 (RFC 3962 section 5): CBC over the data
    /// zero-padded to whole blocks, then the last two ciphertext blocks swapped and the
    /// output cut to the input's length. Exactly one block is plain ECB. `data` is at
    /// least one block (a confounder precedes every plaintext); shorter data comes back
    /// as one encrypted padded block, never a panic.
    fn cts_encrypt(&self, data: &[u8]) -> Vec<u8> {
        let mut blocks: Vec<Block> = data.chunks(AES_BLOCK).map(block_from).collect();
        if blocks.is_empty() {
            blocks.push(Block::default());
        }
        let mut chain = Block::default();
        for block in &mut blocks {
            xor_into(block, &chain);
            self.encrypt(block);
            chain = *block;
        }
        let n = blocks.len();
        if n >= 2 {
            blocks.swap(n - 2, n - 1);
        }
        let mut out: Vec<u8> = blocks.iter().flat_map(|b| b.iter().copied()).collect();
        out.truncate(data.len().max(AES_BLOCK));
        out
    }

    /// The inverse of [`AesKey::cts_encrypt`]. `data` is at least one block (the caller
    /// checked); a shorter one decrypts to garbage that fails the integrity check.
    fn cts_decrypt(&self, data: &[u8]) -> Zeroizing<Vec<u8>> {
        let len = data.len();
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        // m blocks, the last (stolen) one r bytes long: wire order is C1 … C(m-2), Cm,
        // C(m-1) cut to r bytes. One block (or less) is plain ECB.
        let m = len.div_ceil(AES_BLOCK);
        let split = AES_BLOCK * m.saturating_sub(2);
        let (head, tail) = data.split_at_checked(split).unwrap_or((&[], data));
        let mut chain = Block::default();
        for chunk in head.chunks(AES_BLOCK) {
            let mut block = block_from(chunk);
            let next = block;
            self.decrypt(&mut block);
            xor_into(&mut block, &chain);
            out.extend_from_slice(&block);
            chain = next;
        }
        let (last_full, stolen) = tail.split_at_checked(AES_BLOCK).unwrap_or((tail, &[]));
        // Dm = D(Cm) = (Pm ‖ 0…) ⊕ C(m-1): its tail is C(m-1)'s missing tail.
        let mut dm = block_from(last_full);
        self.decrypt(&mut dm);
        if stolen.is_empty() {
            out.extend(dm.iter().take(len));
            return out;
        }
        let mut prev = dm;
        let mut last = Block::default();
        for ((p, l), (d, s)) in prev
            .iter_mut()
            .zip(last.iter_mut())
            .zip(dm.iter().zip(stolen))
        {
            *p = *s;
            *l = d ^ s;
        }
        self.decrypt(&mut prev);
        xor_into(&mut prev, &chain);
        out.extend_from_slice(&prev);
        out.extend(last.iter().take(stolen.len()));
        out
    }
}

/// A block holding `bytes` (at most 16), zero-padded.
fn block_from(bytes: &[u8]) -> Block {
    let mut block = Block::default();
    for (slot, byte) in block.iter_mut().zip(bytes) {
        *slot = *byte;
    }
    block
}

fn xor_into(block: &mut Block, other: &Block) {
    for (b, o) in block.iter_mut().zip(other.iter()) {
        *b ^= o;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hex: &str) -> Vec<u8> {
        let hex: String = hex.split_whitespace().collect();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 3961 Appendix A.1.
    #[test]
    fn nfold_rfc3961_vectors() {
        let cases: [(usize, &[u8], &str); 11] = [
            (64, b"012345", "be072631276b1955"),
            (56, b"password", "78a07b6caf85fa"),
            (64, b"Rough Consensus, and Running Code", "bb6ed30870b7f0e0"),
            (
                168,
                b"password",
                "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e",
            ),
            (
                192,
                b"MASSACHVSETTS INSTITVTE OF TECHNOLOGY",
                "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b",
            ),
            (168, b"Q", "518a54a215a8452a518a54a215a8452a518a54a215"),
            (168, b"ba", "fb25d531ae8974499f52fd92ea9857c4ba24cf297e"),
            (64, b"kerberos", "6b65726265726f73"),
            (128, b"kerberos", "6b65726265726f737b9b5b2b93132b93"),
            (
                168,
                b"kerberos",
                "8372c236344e5f1550cd0747e15d62ca7a5a3bcea4",
            ),
            (
                256,
                b"kerberos",
                "6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4",
            ),
        ];
        for (bits, input, expected) in cases {
            assert_eq!(nfold(input, bits / 8), h(expected), "{bits}-fold {input:?}");
        }
        assert_eq!(nfold(b"", 16), vec![0; 16]);
        assert_eq!(nfold(b"abc", 0), Vec::<u8>::new());
    }

    /// RFC 3962 Appendix B: (iterations, pass phrase, salt, AES-128 key, AES-256 key).
    #[test]
    fn string_to_key_rfc3962_vectors() {
        let g_clef = String::from_utf8(h("f09d849e")).unwrap();
        let x64 = "X".repeat(64);
        let x65 = "X".repeat(65);
        let cases: [(u32, &str, Vec<u8>, &str, &str); 7] = [
            (
                1,
                "password",
                b"ATHENA.MIT.EDUraeburn".to_vec(),
                "42263c6e89f4fc28b8df68ee09799f15",
                "fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161",
            ),
            (
                2,
                "password",
                b"ATHENA.MIT.EDUraeburn".to_vec(),
                "c651bf29e2300ac27fa469d693bdda13",
                "a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff",
            ),
            (
                1200,
                "password",
                b"ATHENA.MIT.EDUraeburn".to_vec(),
                "4c01cd46d632d01e6dbe230a01ed642a",
                "55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a",
            ),
            (
                5,
                "password",
                h("1234567878563412"),
                "e9b23d52273747dd5c35cb55be619d8e",
                "97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31",
            ),
            (
                1200,
                &x64,
                b"pass phrase equals block size".to_vec(),
                "59d1bb789a828b1aa54ef9c2883f69ed",
                "89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34",
            ),
            (
                1200,
                &x65,
                b"pass phrase exceeds block size".to_vec(),
                "cb8005dc5f90179a7f02104c0018751d",
                "d78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b",
            ),
            (
                50,
                &g_clef,
                b"EXAMPLE.COMpianist".to_vec(),
                "f149c1f2e154a73452d43e7fe62a56e5",
                "4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e",
            ),
        ];
        for (iterations, password, salt, aes128, aes256) in cases {
            let k = string_to_key(Enctype::Aes128, password, &salt, iterations).unwrap();
            assert_eq!(k.as_bytes(), h(aes128), "{iterations} {salt:?}");
            let k = string_to_key(Enctype::Aes256, password, &salt, iterations).unwrap();
            assert_eq!(k.as_bytes(), h(aes256), "{iterations} {salt:?}");
        }
    }

    #[test]
    fn iteration_counts_are_bounded() {
        for bad in [0, MAX_ITERATIONS + 1, u32::MAX] {
            assert_eq!(
                string_to_key(Enctype::Aes256, "pw", b"salt", bad),
                Err(CryptoError::Iterations(bad))
            );
        }
        assert_eq!(iterations_from_params(None), Ok(4096));
        assert_eq!(iterations_from_params(Some(&[0, 0, 0x10, 0])), Ok(4096));
        assert_eq!(iterations_from_params(Some(&[0, 0, 4, 0xb0])), Ok(1200));
        assert_eq!(
            iterations_from_params(Some(&[0, 0, 0, 0])),
            Err(CryptoError::Iterations(0))
        );
        assert_eq!(
            iterations_from_params(Some(&[0xff, 0xff, 0xff, 0xff])),
            Err(CryptoError::Iterations(u32::MAX))
        );
        assert_eq!(
            iterations_from_params(Some(&[0, 0x10, 0])),
            Err(CryptoError::S2kParams(3))
        );
        // RC4 has no iterations: the NT hash.
        let rc4 = string_to_key(Enctype::Rc4Hmac, "foo", b"ignored", 0).unwrap();
        assert_eq!(rc4.as_bytes(), h("ac8e657f83df82beea5d43bdaf7800cc"));
    }

    /// RFC 3962 Appendix B: AES-128 CBC-CTS with IV 0 and the key "chicken teriyaki", on
    /// prefixes of "I would like the General Gau's Chicken, please, and wonton soup."
    #[test]
    fn cts_rfc3962_vectors() {
        let plain = b"I would like the General Gau's Chicken, please, and wonton soup.";
        let aes = AesKey::new(b"chicken teriyaki");
        let cases = [
            (17, "c6353568f2bf8cb4d8a580362da7ff7f97"),
            (
                31,
                "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5",
            ),
            (
                32,
                "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584",
            ),
            (
                47,
                "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e\
                 39312523a78662d5be7fcbcc98ebf5",
            ),
            (
                48,
                "97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd8\
                 39312523a78662d5be7fcbcc98ebf5a8",
            ),
            (
                64,
                "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a8\
                 4807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8",
            ),
        ];
        for (len, expected) in cases {
            let sealed = aes.cts_encrypt(&plain[..len]);
            assert_eq!(sealed, h(expected), "{len} bytes");
            assert_eq!(&aes.cts_decrypt(&sealed)[..], &plain[..len], "{len} bytes");
        }
        // One block is plain ECB, and every length round-trips.
        let one = aes.cts_encrypt(&plain[..16]);
        let mut block = Block::clone_from_slice(&plain[..16]);
        aes.encrypt(&mut block);
        assert_eq!(one, block.to_vec());
        for len in 16..=plain.len() {
            let sealed = aes.cts_encrypt(&plain[..len]);
            assert_eq!(sealed.len(), len);
            assert_eq!(&aes.cts_decrypt(&sealed)[..], &plain[..len], "{len} bytes");
        }
    }

    /// Known answers of MIT krb5's kcrypto.py (its `KcrytoTest`, shipped in Samba's
    /// python3-samba as samba/tests/krb5/kcrypto.py): encryption with a given confounder,
    /// checksums, and RC4 string-to-key.
    #[test]
    fn encryption_and_checksum_known_answers() {
        let aes128 = Key::new(Enctype::Aes128, &h("9062430C8CDA3388922E6D6A509F5B7A")).unwrap();
        let sealed =
            h("68FB9679601F45C78857B2BF820FD6E53ECA8D42FD4B1D7024A09205ABB7CD2EC26C355D2F");
        assert_eq!(
            aes128
                .encrypt(2, b"9 bytesss", &h("94B491F481485B9A0678CD3C4EA386AD"))
                .unwrap(),
            sealed
        );
        assert_eq!(&aes128.decrypt(2, &sealed).unwrap()[..], b"9 bytesss");

        let aes256 = Key::new(
            Enctype::Aes256,
            &h("F1C795E9248A09338D82C3F8D5B567040B0110736845041347235B1404231398"),
        )
        .unwrap();
        let plain = b"30 bytes bytes bytes bytes byt";
        let sealed = h(
            "D1137A4D634CFECE924DBC3BF6790648BD5CFF7DE0E7B99460211D0DAEF3D79A\
                        295C688858F3B34B9CBD6EEBAE81DAF6B734D4D498B6714F1C1D",
        );
        assert_eq!(
            aes256
                .encrypt(4, plain, &h("E45CA518B42E266AD98E165E706FFB60"))
                .unwrap(),
            sealed
        );
        assert_eq!(&aes256.decrypt(4, &sealed).unwrap()[..], plain);

        let rc4 = Key::new(Enctype::Rc4Hmac, &h("68F263DB3FCE15D031C9EAB02D67107A")).unwrap();
        let sealed = h(
            "95F9047C3AD75891C2E9B04B16566DC8B6EB9CE4231AFB2542EF87A7B5A0F260\
                        A99F0460508DE0CECC632D07C354124E46C5D2234EB8",
        );
        assert_eq!(
            rc4.encrypt(4, plain, &h("37245E73A45FBF72")).unwrap(),
            sealed
        );
        assert_eq!(&rc4.decrypt(4, &sealed).unwrap()[..], plain);

        let cases = [
            (
                Enctype::Aes128,
                "9062430C8CDA3388922E6D6A509F5B7A",
                3,
                &b"eight nine ten eleven twelve thirteen"[..],
                "01A4B088D45628F6946614E3",
            ),
            (
                Enctype::Aes256,
                "B1AE4CD8462AFF1677053CC9279AAC30B796FB81CE21474DD3DDBCFEA4EC76D7",
                4,
                b"fourteen",
                "E08739E3279E2903EC8E3836",
            ),
            (
                Enctype::Rc4Hmac,
                "F7D3A155AF5E238A0B7A871A96BA2AB2",
                6,
                b"seventeen eighteen nineteen twenty",
                "EB38CC97E2230F59DA4117DC5859D7EC",
            ),
        ];
        for (etype, key, usage, data, expected) in cases {
            let key = Key::new(etype, &h(key)).unwrap();
            assert_eq!(key.checksum(usage, data), h(expected), "{etype}");
            assert_eq!(key.checksum(usage, data).len(), etype.checksum_len());
            assert_eq!(key.verify_checksum(usage, data, &h(expected)), Ok(()));
            assert_eq!(
                key.verify_checksum(usage + 1, data, &h(expected)),
                Err(CryptoError::BadChecksum { etype })
            );
        }
    }

    /// RC4's usage translation: the AS-REP (3) and wrap-token (23) usages are sealed as 8
    /// and 13, the others as themselves.
    #[test]
    fn rc4_translates_usages_3_and_23() {
        let key = Key::new(Enctype::Rc4Hmac, &[0x42; 16]).unwrap();
        let conf = [9; 8];
        for (usage, as_usage) in [(3, 8), (23, 13)] {
            let sealed = key.encrypt(usage, b"enc-part", &conf).unwrap();
            assert_eq!(sealed, key.encrypt(as_usage, b"enc-part", &conf).unwrap());
            assert_eq!(key.checksum(usage, b"x"), key.checksum(as_usage, b"x"));
        }
        for usage in [1, 2, 7, 9, 11, 12] {
            let sealed = key.encrypt(usage, b"enc-part", &conf).unwrap();
            assert!(key.decrypt(usage + 100, &sealed).is_err(), "{usage}");
            assert_eq!(&key.decrypt(usage, &sealed).unwrap()[..], b"enc-part");
        }
    }

    #[test]
    fn decrypt_rejects_tampering_wrong_keys_and_short_input() {
        for etype in [Enctype::Aes128, Enctype::Aes256, Enctype::Rc4Hmac] {
            let key = Key::new(etype, &vec![7; etype.key_len()]).unwrap();
            let other = Key::new(etype, &vec![8; etype.key_len()]).unwrap();
            let conf = vec![1; etype.confounder_len()];
            for len in [0, 1, 15, 16, 17, 31, 32, 33, 100] {
                let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let sealed = key.encrypt(11, &plain, &conf).unwrap();
                assert_eq!(&key.decrypt(11, &sealed).unwrap()[..], &plain[..]);
                assert_eq!(
                    key.decrypt(12, &sealed),
                    Err(CryptoError::Integrity { etype })
                );
                assert_eq!(
                    other.decrypt(11, &sealed),
                    Err(CryptoError::Integrity { etype })
                );
                for at in [0, sealed.len() / 2, sealed.len() - 1] {
                    let mut bad = sealed.clone();
                    bad[at] ^= 0x80;
                    assert_eq!(
                        key.decrypt(11, &bad),
                        Err(CryptoError::Integrity { etype }),
                        "{etype} {len} flip at {at}"
                    );
                }
            }
            let min = etype.confounder_len() + etype.checksum_len();
            for len in 0..min {
                assert_eq!(
                    key.decrypt(11, &vec![0; len]),
                    Err(CryptoError::CiphertextTooShort {
                        etype,
                        min,
                        got: len
                    })
                );
            }
            // Anything from the minimum up decrypts to an integrity failure, never a panic.
            for len in min..min + 40 {
                assert!(key.decrypt(11, &vec![0x5a; len]).is_err());
            }
            assert_eq!(
                key.encrypt(11, b"x", &[0; 3]),
                Err(CryptoError::ConfounderLength {
                    etype,
                    expected: etype.confounder_len(),
                    got: 3
                })
            );
        }
        assert_eq!(
            Key::new(Enctype::Aes256, &[0; 16]),
            Err(CryptoError::KeyLength {
                etype: Enctype::Aes256,
                expected: 32,
                got: 16
            })
        );
    }

    #[test]
    fn keys_are_redacted_in_debug() {
        let key = Key::new(Enctype::Aes128, &[0xab; 16]).unwrap();
        let shown = format!("{key:?}");
        assert!(
            !shown.contains("171") && !shown.to_lowercase().contains("ab, "),
            "{shown}"
        );
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn etype_numbers_round_trip() {
        for etype in [Enctype::Aes128, Enctype::Aes256, Enctype::Rc4Hmac] {
            assert_eq!(Enctype::from_number(etype.number()), Some(etype));
        }
        assert_eq!(Enctype::from_number(3), None);
        assert_eq!(Enctype::from_number(19), None);
    }
}
