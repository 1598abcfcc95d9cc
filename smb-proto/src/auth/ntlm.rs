//! Client-side NTLMv2 (MS-NLMP): NEGOTIATE / CHALLENGE / AUTHENTICATE, key exchange,
//! the AUTHENTICATE MIC, and NTLMSSP session security for SPNEGO's mechListMIC.
//! NTLMv1, with or without extended session security, on request only
//! ([`Credentials::with_ntlm_v1`]).
//!
//! The CHALLENGE message comes from the network and is untrusted: every field is
//! bounds-checked and every allocation is bounded by the message's own length.

use des::cipher::BlockEncrypt;
use des::Des;
use hmac::{Hmac, Mac};
use md4::{Digest, Md4};
use md5::Md5;
use rc4::consts::U16;
use rc4::{KeyInit, Rc4, StreamCipher};

use crate::wire::codec::{put_utf16le, slice, utf16le, DecodeError, Reader};

/// NTLMSSP negotiate flags, MS-NLMP 2.2.2.5.
pub mod flags {
    /// NTLMSSP_NEGOTIATE_UNICODE: strings are UTF-16LE.
    pub const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
    /// NTLM_NEGOTIATE_OEM: strings are in the OEM code page.
    pub const NEGOTIATE_OEM: u32 = 0x0000_0002;
    /// NTLMSSP_REQUEST_TARGET: the server should return its TargetName.
    pub const REQUEST_TARGET: u32 = 0x0000_0004;
    /// NTLMSSP_NEGOTIATE_SIGN.
    pub const NEGOTIATE_SIGN: u32 = 0x0000_0010;
    /// NTLMSSP_NEGOTIATE_SEAL.
    pub const NEGOTIATE_SEAL: u32 = 0x0000_0020;
    /// NTLMSSP_NEGOTIATE_LM_KEY.
    pub const NEGOTIATE_LM_KEY: u32 = 0x0000_0080;
    /// NTLMSSP_NEGOTIATE_NTLM.
    pub const NEGOTIATE_NTLM: u32 = 0x0000_0200;
    /// NTLMSSP_ANONYMOUS: the AUTHENTICATE message is anonymous.
    pub const NEGOTIATE_ANONYMOUS: u32 = 0x0000_0800;
    /// NTLMSSP_NEGOTIATE_ALWAYS_SIGN.
    pub const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
    /// NTLMSSP_TARGET_TYPE_DOMAIN.
    pub const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
    /// NTLMSSP_TARGET_TYPE_SERVER.
    pub const TARGET_TYPE_SERVER: u32 = 0x0002_0000;
    /// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY.
    pub const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
    /// NTLMSSP_NEGOTIATE_TARGET_INFO: TargetInfo is present.
    pub const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
    /// NTLMSSP_NEGOTIATE_VERSION: the Version field is present.
    pub const NEGOTIATE_VERSION: u32 = 0x0200_0000;
    /// NTLMSSP_NEGOTIATE_128.
    pub const NEGOTIATE_128: u32 = 0x2000_0000;
    /// NTLMSSP_NEGOTIATE_KEY_EXCH.
    pub const NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
    /// NTLMSSP_NEGOTIATE_56.
    pub const NEGOTIATE_56: u32 = 0x8000_0000;
}

use flags::*;

/// The flags this client offers in NEGOTIATE (MS-NLMP 2.2.2.5): smbclient's set plus
/// SEAL and 56, which Windows clients offer too. MS-NLMP 4.2.4's AUTHENTICATE flags
/// come out of exactly this set.
pub const CLIENT_FLAGS: u32 = NEGOTIATE_UNICODE
    | REQUEST_TARGET
    | NEGOTIATE_SIGN
    | NEGOTIATE_SEAL
    | NEGOTIATE_NTLM
    | NEGOTIATE_ALWAYS_SIGN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_VERSION
    | NEGOTIATE_128
    | NEGOTIATE_KEY_EXCH
    | NEGOTIATE_56;

/// "NTLMSSP\0", MS-NLMP 2.2.1.
const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
const NEGOTIATE_TYPE: u32 = 1;
const CHALLENGE_TYPE: u32 = 2;
const AUTHENTICATE_TYPE: u32 = 3;
/// Offset of the MIC in an AUTHENTICATE message with a Version field (MS-NLMP 2.2.1.3).
const MIC_OFFSET: usize = 72;
/// Fixed part of AUTHENTICATE with Version and MIC.
const AUTHENTICATE_HEADER_WITH_MIC: usize = 88;
/// Fixed part of AUTHENTICATE with Version but no MIC.
const AUTHENTICATE_HEADER: usize = 72;
/// Length of our NEGOTIATE: the fixed part with Version and an empty payload.
const NEGOTIATE_LEN: usize = 40;

/// AV_PAIR ids, MS-NLMP 2.2.2.1.
const MSV_AV_EOL: u16 = 0x0000;
const MSV_AV_FLAGS: u16 = 0x0006;
const MSV_AV_TIMESTAMP: u16 = 0x0007;
/// MsvAvFlags bit: the AUTHENTICATE message carries a MIC.
const AV_FLAG_MIC_PRESENT: u32 = 0x0000_0002;

/// The Version structure (MS-NLMP 2.2.2.10) sent by default: 6.1 build 0, NTLM revision
/// 15 — what Samba's client sends. It is informational only.
pub const DEFAULT_VERSION: [u8; 8] = [6, 1, 0, 0, 0, 0, 0, 15];

/// Why authentication failed. Never contains a password, hash or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A message from the peer is malformed.
    #[error("malformed authentication message: {0}")]
    Decode(#[from] DecodeError),
    /// An NTLMSSP message of the wrong type arrived.
    #[error("expected NTLMSSP message type {expected}, got {got}")]
    UnexpectedMessage {
        /// Expected MessageType.
        expected: u32,
        /// Received MessageType.
        got: u32,
    },
    /// The peer asked for something this implementation does not do.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// A value does not fit its 16-bit NTLMSSP length field.
    #[error("{0} is too long for an NTLMSSP field")]
    FieldTooLong(&'static str),
    /// The NT response does not match the credentials (wrong password or user).
    #[error("NT response does not match the credentials")]
    BadResponse,
    /// A call was made out of order (e.g. AUTHENTICATE before NEGOTIATE).
    #[error("authentication step out of order: {0}")]
    State(&'static str),
    /// The operation needs a session key, and anonymous authentication has none.
    #[error("anonymous authentication has no session key")]
    NoSessionKey,
    /// The server rejected the authentication (SPNEGO negState reject).
    #[error("server rejected the authentication")]
    Rejected,
    /// The server chose a mechanism we did not offer.
    #[error("server selected an unsupported security mechanism")]
    UnsupportedMech,
    /// The server's mechListMIC does not verify: the negotiation was tampered with.
    #[error("server mechListMIC does not verify")]
    MechListMic,
    /// A Kerberos token could not be made, or the server's answer to it did not check:
    /// a KRB-ERROR, or a failed mutual authentication.
    #[error("Kerberos: {0}")]
    Kerberos(#[from] crate::auth::kerberos::gss::GssError),
}

/// The secret half of [`Credentials`], wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
enum Secret {
    Password(String),
    NtHash([u8; 16]),
}

impl Drop for Secret {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        match self {
            Secret::Password(p) => p.zeroize(),
            Secret::NtHash(h) => h.zeroize(),
        }
    }
}

/// Who to authenticate as. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user's domain (NetBIOS name, or empty / the server name for local accounts).
    pub domain: String,
    /// The user name.
    pub user: String,
    secret: Secret,
    ntlm_v1: bool,
    raw_ntlmssp: bool,
}

impl Credentials {
    /// A user with a password.
    pub fn password(
        domain: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Credentials {
            domain: domain.into(),
            user: user.into(),
            secret: Secret::Password(password.into()),
            ntlm_v1: false,
            raw_ntlmssp: false,
        }
    }

    /// A user with a known NT hash (NTOWFv1, MS-NLMP 3.3.1) instead of a password.
    pub fn nt_hash(domain: impl Into<String>, user: impl Into<String>, hash: [u8; 16]) -> Self {
        Credentials {
            domain: domain.into(),
            user: user.into(),
            secret: Secret::NtHash(hash),
            ntlm_v1: false,
            raw_ntlmssp: false,
        }
    }

    /// Anonymous (null session) credentials: empty user and password.
    pub fn anonymous() -> Self {
        Credentials::password("", "", "")
    }

    /// Whether these are anonymous credentials (MS-NLMP 3.1.5.1.2: user and password empty).
    pub fn is_anonymous(&self) -> bool {
        self.user.is_empty() && matches!(&self.secret, Secret::Password(p) if p.is_empty())
    }

    /// The same credentials answered with NTLMv1 (MS-NLMP 3.3.1) instead of NTLMv2, for
    /// servers that accept nothing newer (pysmb's `use_ntlm_v2=False`). With extended
    /// session security when the server offers it, plain NTLMv1 otherwise. NTLMv1 is
    /// weak — a captured exchange gives the NT hash away to a DES search — so it is
    /// never the default.
    pub fn with_ntlm_v1(mut self) -> Self {
        self.ntlm_v1 = true;
        self
    }

    /// Whether [`with_ntlm_v1`](Self::with_ntlm_v1) was requested.
    pub fn is_ntlm_v1(&self) -> bool {
        self.ntlm_v1
    }

    /// The same credentials sent as raw NTLMSSP, the NTLM messages themselves in
    /// SESSION_SETUP without SPNEGO around them
    /// ([`RawNtlmssp`](super::raw_ntlmssp::RawNtlmssp)), as pre-SPNEGO clients log in
    /// to SMB1 servers; NTLMv2 or, with [`with_ntlm_v1`](Self::with_ntlm_v1), NTLMv1.
    /// SMB1 connections only: an SMB2 login stays in SPNEGO whatever this says.
    pub fn with_raw_ntlmssp(mut self) -> Self {
        self.raw_ntlmssp = true;
        self
    }

    /// Whether [`with_raw_ntlmssp`](Self::with_raw_ntlmssp) was requested.
    pub fn is_raw_ntlmssp(&self) -> bool {
        self.raw_ntlmssp
    }

    fn secret_nt_hash(&self) -> [u8; 16] {
        match &self.secret {
            Secret::Password(p) => nt_hash(p),
            Secret::NtHash(h) => *h,
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("domain", &self.domain)
            .field("user", &self.user)
            .field("secret", &"<redacted>")
            .field("ntlm_v1", &self.ntlm_v1)
            .field("raw_ntlmssp", &self.raw_ntlmssp)
            .finish()
    }
}

/// NTOWFv1 (MS-NLMP 3.3.1): MD4 of the UTF-16LE password.
pub fn nt_hash(password: &str) -> [u8; 16] {
    let mut utf16 = zeroize::Zeroizing::new(Vec::with_capacity(password.len() * 2));
    put_utf16le(&mut utf16, password);
    Md4::digest(&utf16[..]).into()
}

/// NTOWFv2 (MS-NLMP 3.3.2): HMAC-MD5(NT hash, UTF-16LE(Upper(user) || domain)).
/// Only the user name is upper-cased.
pub fn ntowfv2(nt_hash: &[u8; 16], user: &str, domain: &str) -> [u8; 16] {
    let mut ident = Vec::with_capacity((user.len() + domain.len()) * 2);
    put_utf16le(&mut ident, &upcase(user));
    put_utf16le(&mut ident, domain);
    hmac_md5(nt_hash, &[&ident])
}

/// Windows upper-cases per UTF-16 code unit (RtlUpcaseUnicodeString) and never expands
/// a character into several ("ß" stays "ß"), so only one-to-one mappings apply.
fn upcase(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// DES (MS-NLMP 6) of one block under a 56-bit key. DES takes the key as eight bytes of
/// seven key bits each (the low bit is parity, which DES ignores), so the 56 bits are
/// spread out seven at a time.
fn des(key: &[u8; 7], block: &[u8; 8]) -> [u8; 8] {
    let bits = key.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    let mut spread = [0u8; 8];
    for (i, b) in spread.iter_mut().enumerate() {
        *b = ((bits >> (49 - 7 * i)) as u8 & 0x7F) << 1;
    }
    let mut out = (*block).into();
    // An 8-byte key is always a valid DES key.
    <Des as des::cipher::KeyInit>::new(&spread.into()).encrypt_block(&mut out);
    out.into()
}

/// DESL (MS-NLMP 6): `data` encrypted under each 7-byte third of `key` (the last one
/// zero-padded), concatenated.
pub fn desl(key: &[u8; 16], data: &[u8; 8]) -> [u8; 24] {
    let mut thirds = [[0u8; 7]; 3];
    thirds[0].copy_from_slice(&key[..7]);
    thirds[1].copy_from_slice(&key[7..14]);
    thirds[2][..2].copy_from_slice(&key[14..]);
    let mut out = [0u8; 24];
    for (chunk, third) in out.chunks_exact_mut(8).zip(&thirds) {
        chunk.copy_from_slice(&des(third, data));
    }
    out
}

/// LMOWFv1 (MS-NLMP 3.3.1): "KGS!@#$%" DES-encrypted under each half of the upper-cased
/// password padded to 14 bytes. Defined only for passwords of at most 14 OEM
/// characters; `None` for longer ones and for non-ASCII ones, whose OEM bytes depend on
/// a code page. The client never sends an LM response (see [`NtlmClient`]); this is for
/// checking one.
pub fn lmowfv1(password: &str) -> Option<[u8; 16]> {
    if password.len() > 14 || !password.is_ascii() {
        return None;
    }
    let mut padded = [0u8; 14];
    padded[..password.len()].copy_from_slice(password.to_ascii_uppercase().as_bytes());
    let mut halves = [[0u8; 7]; 2];
    halves[0].copy_from_slice(&padded[..7]);
    halves[1].copy_from_slice(&padded[7..]);
    let mut out = [0u8; 16];
    for (chunk, half) in out.chunks_exact_mut(8).zip(&halves) {
        chunk.copy_from_slice(&des(half, b"KGS!@#$%"));
    }
    Some(out)
}

/// The NTLMv1 LmChallengeResponse, NtChallengeResponse (MS-NLMP 3.3.1) and
/// KeyExchangeKey (3.4.5.1) for `nt_hash` (NTOWFv1). With extended session security
/// (`ess_client_challenge`) the client challenge fills the LM field and is mixed into the
/// NT response; without, the LM field repeats the NT response (NoLMResponseNTLMv1, what
/// Windows and Samba clients do: an LM response would expose the far weaker LM hash).
/// SessionBaseKey is MD4(NTOWFv1) either way; LM_KEY and NON_NT_SESSION_KEY, the other
/// KeyExchangeKey variants, are never negotiated here.
fn ntlmv1(
    nt_hash: &[u8; 16],
    server_challenge: &[u8; 8],
    ess_client_challenge: Option<&[u8; 8]>,
) -> ([u8; 24], [u8; 24], [u8; 16]) {
    let session_base_key: [u8; 16] = Md4::digest(nt_hash).into();
    match ess_client_challenge {
        Some(client_challenge) => {
            let digest = Md5::new()
                .chain_update(server_challenge)
                .chain_update(client_challenge)
                .finalize();
            let mut session_hash = [0u8; 8];
            session_hash.copy_from_slice(&digest[..8]);
            let nt = desl(nt_hash, &session_hash);
            let mut lm = [0u8; 24];
            lm[..8].copy_from_slice(client_challenge);
            let kxkey = hmac_md5(&session_base_key, &[server_challenge, client_challenge]);
            (lm, nt, kxkey)
        }
        None => {
            let nt = desl(nt_hash, server_challenge);
            (nt, nt, session_base_key)
        }
    }
}

/// CRC-32 (ISO 3309, the zlib one), the checksum of NTLMSSP signatures without extended
/// session security (MS-NLMP 3.4.4.1).
fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |mut crc, &b| {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
        crc
    })
}

/// HMAC-MD5 over the concatenation of `parts`.
pub(crate) fn hmac_md5(key: &[u8; 16], parts: &[&[u8]]) -> [u8; 16] {
    // A 16-byte key zero-padded to the 64-byte block is the same HMAC key (RFC 2104),
    // and the block-sized constructor cannot fail.
    let mut block = [0u8; 64];
    block[..16].copy_from_slice(key);
    let mut m = <Hmac<Md5> as hmac::digest::KeyInit>::new(&block.into());
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// RC4 with a 128-bit key, used for key exchange and NTLMSSP sealing (and Kerberos
/// RC4-HMAC).
pub(crate) fn rc4(key: &[u8; 16]) -> Rc4<U16> {
    Rc4::new(key.into())
}

/// RC4K (MS-NLMP 6): one RC4 pass keyed with `key` over 16 bytes. With the
/// KeyExchangeKey it turns the exported session key into EncryptedRandomSessionKey
/// (MS-NLMP 3.1.5.1.2) and, being symmetric, back again.
pub fn rc4k(key: &[u8; 16], data: &[u8; 16]) -> [u8; 16] {
    let mut out = *data;
    rc4(key).apply_keystream(&mut out);
    out
}

/// Equality whose timing does not depend on where the inputs differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Reads the 8-byte signature and MessageType of an NTLMSSP message.
fn check_header(r: &mut Reader<'_>, expected: u32) -> Result<(), AuthError> {
    let sig: [u8; 8] = r.array("NTLMSSP signature")?;
    if &sig != SIGNATURE {
        return Err(DecodeError::invalid("NTLMSSP signature", u64::from_le_bytes(sig)).into());
    }
    let got = r.u32("NTLMSSP message type")?;
    if got != expected {
        return Err(AuthError::UnexpectedMessage { expected, got });
    }
    Ok(())
}

/// Reads a Len / MaxLen / BufferOffset field triple (MS-NLMP 2.2.1), returning (len, offset).
fn fields(r: &mut Reader<'_>, what: &'static str) -> Result<(usize, usize), DecodeError> {
    let len = r.u16(what)?;
    let _max_len = r.u16(what)?;
    let offset = r.u32(what)?;
    Ok((usize::from(len), offset as usize))
}

/// Splits an AV_PAIR list (MS-NLMP 2.2.2.1) into the (AvId, Value) pairs before
/// MsvAvEOL. A list that ends without MsvAvEOL is truncated.
fn av_pairs(list: &[u8]) -> Result<Vec<(u16, &[u8])>, DecodeError> {
    let mut r = Reader::new(list);
    let mut pairs = Vec::new();
    loop {
        let id = r.u16("AvId")?;
        let len = r.u16("AvLen")?;
        let value = r.bytes(usize::from(len), "AV_PAIR value")?;
        if id == MSV_AV_EOL {
            return Ok(pairs);
        }
        pairs.push((id, value));
    }
}

/// A parsed CHALLENGE message, MS-NLMP 2.2.1.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeMessage {
    /// NegotiateFlags chosen by the server.
    pub negotiate_flags: u32,
    /// ServerChallenge.
    pub server_challenge: [u8; 8],
    /// TargetInfo: the server's AV_PAIR list up to and including MsvAvEOL (empty if absent).
    pub target_info: Vec<u8>,
    /// MsvAvTimestamp from TargetInfo (a FILETIME), if the server sent one.
    pub timestamp: Option<u64>,
}

impl ChallengeMessage {
    /// Parses and validates a CHALLENGE message from the server.
    pub fn parse(buf: &[u8]) -> Result<Self, AuthError> {
        let mut r = Reader::new(buf);
        check_header(&mut r, CHALLENGE_TYPE)?;
        let _target_name = fields(&mut r, "target name fields")?;
        let negotiate_flags = r.u32("negotiate flags")?;
        let server_challenge = r.array("server challenge")?;
        // Servers that do not set NEGOTIATE_TARGET_INFO may end the message after the
        // challenge (Samba bug 10016), so Reserved and TargetInfoFields are read only
        // when TargetInfo is announced; an absent TargetInfo is an empty one.
        let mut target_info = Vec::new();
        let mut timestamp = None;
        if negotiate_flags & NEGOTIATE_TARGET_INFO != 0 {
            r.skip(8, "challenge reserved")?;
            let (len, offset) = fields(&mut r, "target info fields")?;
            let list = slice(buf, offset, len, "target info")?;
            for (id, value) in av_pairs(list)? {
                if id == MSV_AV_TIMESTAMP {
                    let v: [u8; 8] = value.try_into().map_err(|_| {
                        DecodeError::invalid("MsvAvTimestamp length", value.len() as u64)
                    })?;
                    timestamp = Some(u64::from_le_bytes(v));
                }
            }
            target_info = list.to_vec();
        }
        Ok(ChallengeMessage {
            negotiate_flags,
            server_challenge,
            target_info,
            timestamp,
        })
    }
}

/// The fields of an AUTHENTICATE message (MS-NLMP 2.2.1.3), borrowed from the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticateMessage<'a> {
    /// LmChallengeResponse.
    pub lm_response: &'a [u8],
    /// NtChallengeResponse (NTProofStr followed by the NTLMv2 client blob).
    pub nt_response: &'a [u8],
    /// DomainName.
    pub domain: String,
    /// UserName.
    pub user: String,
    /// Workstation.
    pub workstation: String,
    /// EncryptedRandomSessionKey (empty without key exchange).
    pub encrypted_random_session_key: &'a [u8],
    /// NegotiateFlags.
    pub negotiate_flags: u32,
}

impl<'a> AuthenticateMessage<'a> {
    /// Parses an AUTHENTICATE message (UTF-16 strings only).
    pub fn parse(buf: &'a [u8]) -> Result<Self, AuthError> {
        let mut r = Reader::new(buf);
        check_header(&mut r, AUTHENTICATE_TYPE)?;
        let lm = fields(&mut r, "LM response fields")?;
        let nt = fields(&mut r, "NT response fields")?;
        let domain = fields(&mut r, "domain name fields")?;
        let user = fields(&mut r, "user name fields")?;
        let workstation = fields(&mut r, "workstation fields")?;
        let key = fields(&mut r, "session key fields")?;
        let negotiate_flags = r.u32("negotiate flags")?;
        if negotiate_flags & NEGOTIATE_UNICODE == 0 {
            return Err(AuthError::Unsupported("OEM-encoded AUTHENTICATE message"));
        }
        let field = |(len, offset): (usize, usize), what| slice(buf, offset, len, what);
        Ok(AuthenticateMessage {
            lm_response: field(lm, "LM response")?,
            nt_response: field(nt, "NT response")?,
            domain: utf16le(field(domain, "domain name")?, "domain name")?,
            user: utf16le(field(user, "user name")?, "user name")?,
            workstation: utf16le(field(workstation, "workstation")?, "workstation")?,
            encrypted_random_session_key: field(key, "encrypted random session key")?,
            negotiate_flags,
        })
    }
}

/// Length of an NTLMv1 NtChallengeResponse; NTLMv2 ones are longer (MS-NLMP 2.2.2.6-7).
const NTLMV1_RESPONSE_LEN: usize = 24;

/// The exported session key of an NTLM exchange, derived the way the server does
/// (MS-NLMP 3.2.5.1.2): recompute the NT response with `creds`' secret (for NTLMv2 from
/// the AUTHENTICATE's blob and the user and domain named in it; for NTLMv1, told apart by
/// its 24-byte length, from the client challenge in the LM field when extended session
/// security was negotiated), check it, derive the KeyExchangeKey and, with
/// NTLMSSP_NEGOTIATE_KEY_EXCH, decrypt EncryptedRandomSessionKey.
///
/// This is what lets tests and a capture dissector verify signatures in recorded sessions.
pub fn session_key_from_authenticate(
    creds: &Credentials,
    challenge_msg: &[u8],
    authenticate_msg: &[u8],
) -> Result<[u8; 16], AuthError> {
    let challenge = ChallengeMessage::parse(challenge_msg)?;
    let auth = AuthenticateMessage::parse(authenticate_msg)?;
    let nt_hash = creds.secret_nt_hash();
    let key_exchange_key = match auth.nt_response.len() {
        0 => return Err(AuthError::NoSessionKey),
        NTLMV1_RESPONSE_LEN => {
            let ess = auth.negotiate_flags & NEGOTIATE_EXTENDED_SESSIONSECURITY != 0;
            // With extended session security the LM field carries the client challenge.
            let client_challenge: Option<[u8; 8]> = match auth.lm_response.get(..8) {
                _ if !ess => None,
                Some(cc) => cc.try_into().ok(),
                None => {
                    let len = auth.lm_response.len() as u64;
                    return Err(DecodeError::invalid("LM response length", len).into());
                }
            };
            let (_, nt, kxkey) = ntlmv1(
                &nt_hash,
                &challenge.server_challenge,
                client_challenge.as_ref(),
            );
            if !constant_time_eq(&nt, auth.nt_response) {
                return Err(AuthError::BadResponse);
            }
            kxkey
        }
        len if len < NTLMV1_RESPONSE_LEN => {
            return Err(DecodeError::invalid("NT response length", len as u64).into())
        }
        _ => {
            let (proof, blob) = auth.nt_response.split_at(16);
            let response_key = ntowfv2(&nt_hash, &auth.user, &auth.domain);
            let expected = hmac_md5(&response_key, &[&challenge.server_challenge, blob]);
            if !constant_time_eq(&expected, proof) {
                return Err(AuthError::BadResponse);
            }
            // For NTLMv2 KeyExchangeKey = SessionBaseKey (MS-NLMP 3.4.5.1).
            hmac_md5(&response_key, &[proof])
        }
    };
    if auth.negotiate_flags & NEGOTIATE_KEY_EXCH == 0 {
        return Ok(key_exchange_key);
    }
    let encrypted: [u8; 16] = auth.encrypted_random_session_key.try_into().map_err(|_| {
        DecodeError::invalid(
            "encrypted random session key length",
            auth.encrypted_random_session_key.len() as u64,
        )
    })?;
    Ok(rc4k(&key_exchange_key, &encrypted))
}

/// The AUTHENTICATE message's MIC (MS-NLMP 3.1.5.1.2): HMAC-MD5 keyed with the exported
/// session key over NEGOTIATE || CHALLENGE || AUTHENTICATE, the latter with its MIC
/// field (16 bytes at offset 72) taken as zero.
pub fn compute_mic(
    exported_session_key: &[u8; 16],
    negotiate_msg: &[u8],
    challenge_msg: &[u8],
    authenticate_msg: &[u8],
) -> Result<[u8; 16], AuthError> {
    let head = slice(authenticate_msg, 0, MIC_OFFSET, "AUTHENTICATE header")?;
    let tail =
        authenticate_msg
            .get(AUTHENTICATE_HEADER_WITH_MIC..)
            .ok_or(DecodeError::Truncated {
                what: "AUTHENTICATE MIC",
                offset: MIC_OFFSET,
                need: 16,
                have: authenticate_msg.len().saturating_sub(MIC_OFFSET),
            })?;
    Ok(hmac_md5(
        exported_session_key,
        &[negotiate_msg, challenge_msg, head, &[0; 16], tail],
    ))
}

/// Which way a message travels, for the NTLMSSP key derivations of MS-NLMP 3.4.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server ("client-to-server" magic constants).
    ClientToServer,
    /// Server to client ("server-to-client" magic constants).
    ServerToClient,
}

/// SIGNKEY (MS-NLMP 3.4.5.2) with extended session security.
pub fn sign_key(exported_session_key: &[u8; 16], direction: Direction) -> [u8; 16] {
    let magic: &[u8] = match direction {
        Direction::ClientToServer => {
            b"session key to client-to-server signing key magic constant\0"
        }
        Direction::ServerToClient => {
            b"session key to server-to-client signing key magic constant\0"
        }
    };
    Md5::new()
        .chain_update(exported_session_key)
        .chain_update(magic)
        .finalize()
        .into()
}

/// SEALKEY (MS-NLMP 3.4.5.3) with extended session security: the exported key is cut to
/// 16, 7 or 5 bytes as NTLMSSP_NEGOTIATE_128 / _56 / neither was negotiated.
pub fn seal_key(
    exported_session_key: &[u8; 16],
    negotiate_flags: u32,
    direction: Direction,
) -> [u8; 16] {
    let key: &[u8] = if negotiate_flags & NEGOTIATE_128 != 0 {
        exported_session_key
    } else if negotiate_flags & NEGOTIATE_56 != 0 {
        &exported_session_key[..7]
    } else {
        &exported_session_key[..5]
    };
    let magic: &[u8] = match direction {
        Direction::ClientToServer => {
            b"session key to client-to-server sealing key magic constant\0"
        }
        Direction::ServerToClient => {
            b"session key to server-to-client sealing key magic constant\0"
        }
    };
    Md5::new()
        .chain_update(key)
        .chain_update(magic)
        .finalize()
        .into()
}

/// One direction of NTLMSSP session security: its signing key, its RC4 sealing handle
/// (a stream that continues across messages) and its sequence number.
struct Half {
    sign_key: [u8; 16],
    seal: Rc4<U16>,
    seq_num: u32,
}

impl Half {
    fn new(exported_session_key: &[u8; 16], negotiate_flags: u32, direction: Direction) -> Self {
        Half {
            sign_key: sign_key(exported_session_key, direction),
            seal: rc4(&seal_key(exported_session_key, negotiate_flags, direction)),
            seq_num: 0,
        }
    }
}

/// NTLMSSP session security (MS-NLMP 3.4): message signatures for both directions. SMB
/// uses it only for SPNEGO's mechListMIC.
pub struct SessionSecurity(Mode);

// The variants differ by one RC4 state; the client already keeps the whole
// SessionSecurity behind one Box, so boxing inside would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Mode {
    /// Extended session security: each direction has its own signing key, RC4 handle
    /// and sequence number.
    Extended {
        key_exch: bool,
        client: Half,
        server: Half,
    },
    /// Without extended session security (NTLMv1, or NTLMv2 with a server that refuses
    /// it): CRC-32 checksums under one RC4 handle keyed with the exported session key. MS-NLMP 3.4.4.1 draws a handle per
    /// direction, but both are keyed alike and Samba (the reference interoperated with)
    /// shares one handle and one sequence number between the directions, so we do too.
    Legacy { seal: Rc4<U16>, seq_num: u32 },
}

impl SessionSecurity {
    /// Session security for an exchange that negotiated `negotiate_flags` (the
    /// AUTHENTICATE message's flags). NTLMSSP_NEGOTIATE_LM_KEY, which this client never
    /// offers, is not implemented.
    pub fn new(exported_session_key: &[u8; 16], negotiate_flags: u32) -> Result<Self, AuthError> {
        if negotiate_flags & NEGOTIATE_EXTENDED_SESSIONSECURITY == 0 {
            if negotiate_flags & NEGOTIATE_LM_KEY != 0 {
                return Err(AuthError::Unsupported("NTLMSSP_NEGOTIATE_LM_KEY"));
            }
            return Ok(SessionSecurity(Mode::Legacy {
                seal: rc4(exported_session_key),
                seq_num: 0,
            }));
        }
        Ok(SessionSecurity(Mode::Extended {
            key_exch: negotiate_flags & NEGOTIATE_KEY_EXCH != 0,
            client: Half::new(
                exported_session_key,
                negotiate_flags,
                Direction::ClientToServer,
            ),
            server: Half::new(
                exported_session_key,
                negotiate_flags,
                Direction::ServerToClient,
            ),
        }))
    }

    /// The NTLMSSP_MESSAGE_SIGNATURE of `msg` sent in `direction`; the sequence number
    /// then advances. With extended session security (MS-NLMP 3.4.4.2): Version 1, the
    /// first 8 bytes of HMAC-MD5(SigningKey, SeqNum || msg) — RC4-encrypted with the
    /// sealing handle under key exchange — and SeqNum. Without (3.4.4.1): Version 1, a
    /// zero RandomPad, then CRC32(msg) and SeqNum encrypted with the RC4 handle, which
    /// also encrypts (and so skips over) the pad.
    pub fn mac(&mut self, direction: Direction, msg: &[u8]) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..4].copy_from_slice(&1u32.to_le_bytes());
        match &mut self.0 {
            Mode::Extended {
                key_exch,
                client,
                server,
            } => {
                let half = match direction {
                    Direction::ClientToServer => client,
                    Direction::ServerToClient => server,
                };
                let seq = half.seq_num.to_le_bytes();
                let digest = hmac_md5(&half.sign_key, &[&seq, msg]);
                let mut checksum = [0u8; 8];
                checksum.copy_from_slice(&digest[..8]);
                if *key_exch {
                    half.seal.apply_keystream(&mut checksum);
                }
                half.seq_num = half.seq_num.wrapping_add(1);
                out[4..12].copy_from_slice(&checksum);
                out[12..].copy_from_slice(&seq);
            }
            Mode::Legacy { seal, seq_num } => {
                out[8..12].copy_from_slice(&crc32(msg).to_le_bytes());
                out[12..].copy_from_slice(&seq_num.to_le_bytes());
                seal.apply_keystream(&mut out[4..]);
                out[4..8].fill(0);
                *seq_num = seq_num.wrapping_add(1);
            }
        }
        out
    }

    /// Whether `signature` is the signature of `msg` sent in `direction`; the sequence
    /// number advances either way. Without extended session security the RandomPad is
    /// not compared: it is meant to be random, and Samba sends it encrypted, not zero.
    pub fn verify(&mut self, direction: Direction, msg: &[u8], signature: &[u8]) -> bool {
        let expected = self.mac(direction, msg);
        match self.0 {
            Mode::Extended { .. } => constant_time_eq(&expected, signature),
            Mode::Legacy { .. } => {
                signature.len() == expected.len()
                    && constant_time_eq(&expected[..4], &signature[..4])
                    && constant_time_eq(&expected[8..], &signature[8..])
            }
        }
    }
}

impl std::fmt::Debug for SessionSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecurity { <redacted> }")
    }
}

/// The responses of an AUTHENTICATE message a client sent, which a replay sends again
/// instead of computing them from the password ([`crate::replay`]). With key exchange
/// they are all of the exchange that depends on the password: the ExportedSessionKey,
/// and with it the MIC and every session key, comes from the seeded random source.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RecordedResponses {
    lm: Vec<u8>,
    nt: Vec<u8>,
    encrypted_key: Vec<u8>,
}

impl RecordedResponses {
    /// The responses `msg` carries.
    pub(crate) fn from_message(msg: &AuthenticateMessage<'_>) -> Self {
        RecordedResponses {
            lm: msg.lm_response.to_vec(),
            nt: msg.nt_response.to_vec(),
            encrypted_key: msg.encrypted_random_session_key.to_vec(),
        }
    }
}

impl std::fmt::Debug for RecordedResponses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // An NTLMv2 response allows offline guessing of the password: lengths only.
        f.debug_struct("RecordedResponses")
            .field("lm", &self.lm.len())
            .field("nt", &self.nt.len())
            .field("encrypted_key", &self.encrypted_key.len())
            .finish()
    }
}

/// Where the client is in the three-message exchange.
enum State {
    Initial,
    /// NEGOTIATE sent; its bytes are kept for the MIC.
    Negotiated(Vec<u8>),
    /// AUTHENTICATE built. Anonymous exchanges have no key and no session security.
    /// Boxed: two RC4 states make it ~580 bytes.
    Authenticated(Option<([u8; 16], Box<SessionSecurity>)>),
}

/// A client-side NTLMv2 exchange (MS-NLMP 3.1.5).
///
/// Call [`negotiate_message`](Self::negotiate_message), send it, pass the server's
/// CHALLENGE to [`authenticate_message`](Self::authenticate_message), send that; then
/// [`session_key`](Self::session_key) is the exported session key. Randomness (the
/// client challenge, the exported session key) and time are inputs, so an exchange
/// replays exactly.
pub struct NtlmClient {
    creds: Credentials,
    workstation: String,
    client_challenge: [u8; 8],
    exported_session_key: [u8; 16],
    fallback_time: u64,
    version: [u8; 8],
    state: State,
    /// A replay's recorded responses, sent instead of ones computed from the secret.
    replayed: Option<RecordedResponses>,
}

impl Drop for NtlmClient {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.exported_session_key);
    }
}

impl NtlmClient {
    /// A client for `creds` on host `workstation`. `client_challenge` and
    /// `exported_session_key` must be fresh random bytes; `fallback_time` (a FILETIME)
    /// goes into the NTLMv2 blob only if the server's CHALLENGE has no MsvAvTimestamp.
    pub fn new(
        creds: Credentials,
        workstation: &str,
        client_challenge: [u8; 8],
        exported_session_key: [u8; 16],
        fallback_time: u64,
    ) -> Self {
        NtlmClient {
            creds,
            workstation: workstation.to_owned(),
            client_challenge,
            exported_session_key,
            fallback_time,
            version: DEFAULT_VERSION,
            state: State::Initial,
            replayed: None,
        }
    }

    /// Makes the AUTHENTICATE message carry `recorded`'s responses instead of ones
    /// computed from the credentials' secret, for a replay ([`crate::replay`]): the
    /// rest (flags, names, the MIC under the exported session key) is built as usual.
    pub(crate) fn replay(&mut self, recorded: RecordedResponses) {
        self.replayed = Some(recorded);
    }

    /// Replaces the informational Version field (MS-NLMP 2.2.2.10) sent in both messages.
    pub fn set_version(&mut self, version: [u8; 8]) {
        self.version = version;
    }

    /// The NEGOTIATE message (MS-NLMP 2.2.1.1): [`CLIENT_FLAGS`], no domain or workstation.
    pub fn negotiate_message(&mut self) -> Vec<u8> {
        let mut m = Vec::with_capacity(NEGOTIATE_LEN);
        m.extend_from_slice(SIGNATURE);
        m.extend_from_slice(&NEGOTIATE_TYPE.to_le_bytes());
        m.extend_from_slice(&CLIENT_FLAGS.to_le_bytes());
        // Empty DomainNameFields and WorkstationFields pointing at the end, as Samba does.
        for _ in 0..2 {
            m.extend_from_slice(&0u32.to_le_bytes());
            m.extend_from_slice(&(NEGOTIATE_LEN as u32).to_le_bytes());
        }
        m.extend_from_slice(&self.version);
        self.state = State::Negotiated(m.clone());
        m
    }

    /// The AUTHENTICATE message answering the server's `challenge` (MS-NLMP 3.1.5.1.2).
    ///
    /// NTLMv2: when the CHALLENGE carries MsvAvTimestamp the client uses that time, adds
    /// MsvAvFlags with the MIC bit, sends Z(24) as LmChallengeResponse and includes the
    /// MIC; otherwise it sends LMv2, `fallback_time` and no MIC. NTLMv1 (on request):
    /// extended session security if the server accepted it, no LM response of its own
    /// (see [`lmowfv1`]), and no MIC, which needs the AV_PAIR list only NTLMv2 carries.
    /// Anonymous credentials send empty responses, the ANONYMOUS flag, no key exchange
    /// and no MIC, as Samba does.
    pub fn authenticate_message(&mut self, challenge: &[u8]) -> Result<Vec<u8>, AuthError> {
        let State::Negotiated(negotiate) = &self.state else {
            return Err(AuthError::State("AUTHENTICATE requires a NEGOTIATE first"));
        };
        let ch = ChallengeMessage::parse(challenge)?;
        if ch.negotiate_flags & NEGOTIATE_UNICODE == 0 {
            return Err(AuthError::Unsupported("server requires OEM strings"));
        }
        // Echo what the server accepted of our offer. REQUEST_TARGET is a request, not a
        // capability the server echoes; TARGET_INFO says our NT response carries the
        // server's target info. Windows clients build the flags the same way.
        let mut neg_flags = (CLIENT_FLAGS & (ch.negotiate_flags | REQUEST_TARGET))
            | (ch.negotiate_flags & NEGOTIATE_TARGET_INFO);

        if self.creds.is_anonymous() {
            neg_flags = (neg_flags | NEGOTIATE_ANONYMOUS) & !NEGOTIATE_KEY_EXCH;
            let msg = self.encode_authenticate(neg_flags, &[], &[], &[], false)?;
            self.state = State::Authenticated(None);
            return Ok(msg);
        }
        if let Some(r) = &self.replayed {
            // The recorded responses stand for the password. Without key exchange the
            // session key would be derived from it; the recorder refuses such sessions.
            if neg_flags & NEGOTIATE_KEY_EXCH == 0 {
                return Err(AuthError::Unsupported(
                    "replaying a login without key exchange (it needs the password)",
                ));
            }
            if self.creds.ntlm_v1 {
                neg_flags &= !NEGOTIATE_TARGET_INFO;
            }
            let with_mic = !self.creds.ntlm_v1 && ch.timestamp.is_some();
            let (lm, nt, key) = (r.lm.clone(), r.nt.clone(), r.encrypted_key.clone());
            return self.finish_authenticate(
                negotiate.clone(),
                challenge,
                neg_flags,
                (&lm, &nt, &key),
                self.exported_session_key,
                with_mic,
            );
        }
        let nt_hash = self.creds.secret_nt_hash();
        let (lm, nt, key_exchange_key, with_mic) = if self.creds.ntlm_v1 {
            neg_flags &= !NEGOTIATE_TARGET_INFO;
            let ess = neg_flags & NEGOTIATE_EXTENDED_SESSIONSECURITY != 0;
            let (lm, nt, kxkey) = ntlmv1(
                &nt_hash,
                &ch.server_challenge,
                ess.then_some(&self.client_challenge),
            );
            (lm.to_vec(), nt.to_vec(), kxkey, false)
        } else {
            if ch.target_info.is_empty() {
                return Err(AuthError::Unsupported(
                    "CHALLENGE without target info (NTLMv1 only)",
                ));
            }
            let response_key = ntowfv2(&nt_hash, &self.creds.user, &self.creds.domain);
            let with_mic = ch.timestamp.is_some();
            let (time, target_info) = match ch.timestamp {
                Some(t) => (t, target_info_with_mic_flag(&ch.target_info)?),
                None => (self.fallback_time, ch.target_info.clone()),
            };
            let temp = ntlmv2_client_blob(time, &self.client_challenge, &target_info);
            let nt_proof = hmac_md5(&response_key, &[&ch.server_challenge, &temp]);
            let mut nt = nt_proof.to_vec();
            nt.extend_from_slice(&temp);
            let lm = if with_mic {
                vec![0; 24]
            } else {
                let mut lm = hmac_md5(
                    &response_key,
                    &[&ch.server_challenge, &self.client_challenge],
                )
                .to_vec();
                lm.extend_from_slice(&self.client_challenge);
                lm
            };
            // For NTLMv2 KeyExchangeKey = SessionBaseKey (MS-NLMP 3.4.5.1).
            (lm, nt, hmac_md5(&response_key, &[&nt_proof]), with_mic)
        };
        let (encrypted_key, exported) = if neg_flags & NEGOTIATE_KEY_EXCH != 0 {
            let enc = rc4k(&key_exchange_key, &self.exported_session_key);
            (enc.to_vec(), self.exported_session_key)
        } else {
            (Vec::new(), key_exchange_key)
        };
        self.finish_authenticate(
            negotiate.clone(),
            challenge,
            neg_flags,
            (&lm, &nt, &encrypted_key),
            exported,
            with_mic,
        )
    }

    /// Lays out AUTHENTICATE with its responses `(lm, nt, encrypted key)`, adds the MIC
    /// under `exported` and keeps the session security it keys.
    fn finish_authenticate(
        &mut self,
        negotiate: Vec<u8>,
        challenge: &[u8],
        neg_flags: u32,
        (lm, nt, encrypted_key): (&[u8], &[u8], &[u8]),
        exported: [u8; 16],
        with_mic: bool,
    ) -> Result<Vec<u8>, AuthError> {
        let security = Box::new(SessionSecurity::new(&exported, neg_flags)?);
        let mut msg = self.encode_authenticate(neg_flags, lm, nt, encrypted_key, with_mic)?;
        if with_mic {
            let mic = compute_mic(&exported, &negotiate, challenge, &msg)?;
            msg[MIC_OFFSET..AUTHENTICATE_HEADER_WITH_MIC].copy_from_slice(&mic);
        }
        self.state = State::Authenticated(Some((exported, security)));
        Ok(msg)
    }

    /// The exported session key once AUTHENTICATE has been built; `None` before that and
    /// for anonymous authentication (which cannot sign).
    pub fn session_key(&self) -> Option<[u8; 16]> {
        match &self.state {
            State::Authenticated(Some((key, _))) => Some(*key),
            _ => None,
        }
    }

    /// The mechListMIC the client sends over the DER-encoded SPNEGO mechTypes list:
    /// the NTLMSSP signature of that list in the client-to-server direction (MS-SPNG
    /// 3.1.5.1, MS-NLMP 3.4.4.2), consuming client sequence number 0.
    pub fn mech_list_mic(&mut self, mech_types_der: &[u8]) -> Result<[u8; 16], AuthError> {
        Ok(self
            .security()?
            .mac(Direction::ClientToServer, mech_types_der))
    }

    /// Checks the server's mechListMIC over the same mechTypes list (server-to-client
    /// direction); a mismatch means the SPNEGO negotiation was tampered with.
    pub fn verify_mech_list_mic(
        &mut self,
        mech_types_der: &[u8],
        mic: &[u8],
    ) -> Result<(), AuthError> {
        if self
            .security()?
            .verify(Direction::ServerToClient, mech_types_der, mic)
        {
            Ok(())
        } else {
            Err(AuthError::MechListMic)
        }
    }

    fn security(&mut self) -> Result<&mut SessionSecurity, AuthError> {
        match &mut self.state {
            State::Authenticated(Some((_, security))) => Ok(security),
            State::Authenticated(None) => Err(AuthError::NoSessionKey),
            _ => Err(AuthError::State("mechListMIC before AUTHENTICATE")),
        }
    }

    /// Lays out AUTHENTICATE (MS-NLMP 2.2.1.3) with the payload in Windows' order:
    /// domain, user, workstation, LM response, NT response, session key.
    fn encode_authenticate(
        &self,
        neg_flags: u32,
        lm: &[u8],
        nt: &[u8],
        encrypted_key: &[u8],
        with_mic: bool,
    ) -> Result<Vec<u8>, AuthError> {
        let domain = crate::wire::codec::to_utf16le(&self.creds.domain);
        let user = crate::wire::codec::to_utf16le(&self.creds.user);
        let workstation = crate::wire::codec::to_utf16le(&self.workstation);
        let header_len = if with_mic {
            AUTHENTICATE_HEADER_WITH_MIC
        } else {
            AUTHENTICATE_HEADER
        };
        let payload: [(&[u8], &'static str); 6] = [
            (&domain, "domain name"),
            (&user, "user name"),
            (&workstation, "workstation"),
            (lm, "LM response"),
            (nt, "NT response"),
            (encrypted_key, "session key"),
        ];
        let mut offsets = [0u32; 6];
        let mut offset = header_len;
        for (i, (bytes, what)) in payload.iter().enumerate() {
            if bytes.len() > usize::from(u16::MAX) {
                return Err(AuthError::FieldTooLong(what));
            }
            // At most 88 + 6 × 65535 bytes: always fits a u32.
            offsets[i] = offset as u32;
            offset += bytes.len();
        }
        let field = |m: &mut Vec<u8>, i: usize| {
            let len = payload[i].0.len() as u16;
            m.extend_from_slice(&len.to_le_bytes());
            m.extend_from_slice(&len.to_le_bytes());
            m.extend_from_slice(&offsets[i].to_le_bytes());
        };
        let mut m = Vec::with_capacity(offset);
        m.extend_from_slice(SIGNATURE);
        m.extend_from_slice(&AUTHENTICATE_TYPE.to_le_bytes());
        // The fixed part lists LM, NT, domain, user, workstation, key in that order.
        for i in [3, 4, 0, 1, 2, 5] {
            field(&mut m, i);
        }
        m.extend_from_slice(&neg_flags.to_le_bytes());
        m.extend_from_slice(&self.version);
        if with_mic {
            m.extend_from_slice(&[0; 16]);
        }
        for (bytes, _) in payload {
            m.extend_from_slice(bytes);
        }
        Ok(m)
    }
}

impl std::fmt::Debug for NtlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Initial => "initial",
            State::Negotiated(_) => "negotiated",
            State::Authenticated(_) => "authenticated",
        };
        f.debug_struct("NtlmClient")
            .field("creds", &self.creds)
            .field("workstation", &self.workstation)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

/// The server's AV_PAIR list with MsvAvFlags' MIC bit set (added before MsvAvEOL if the
/// server sent no MsvAvFlags), as MS-NLMP 3.1.5.1.2 requires when a MIC is sent.
fn target_info_with_mic_flag(server: &[u8]) -> Result<Vec<u8>, AuthError> {
    let mut out = Vec::with_capacity(server.len() + 8);
    let mut have_flags = false;
    for (id, value) in av_pairs(server)? {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        if id == MSV_AV_FLAGS {
            let v: [u8; 4] = value
                .try_into()
                .map_err(|_| DecodeError::invalid("MsvAvFlags length", value.len() as u64))?;
            out.extend_from_slice(&(u32::from_le_bytes(v) | AV_FLAG_MIC_PRESENT).to_le_bytes());
            have_flags = true;
        } else {
            out.extend_from_slice(value);
        }
    }
    if !have_flags {
        out.extend_from_slice(&MSV_AV_FLAGS.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&AV_FLAG_MIC_PRESENT.to_le_bytes());
    }
    out.extend_from_slice(&[0; 4]);
    Ok(out)
}

/// The NTLMv2 client blob "temp" of MS-NLMP 3.3.2: Responserversion 1,
/// HiResponserversion 1, Z(6), Time, ClientChallenge, Z(4), the AV pairs, Z(4).
fn ntlmv2_client_blob(time: u64, client_challenge: &[u8; 8], target_info: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(32 + target_info.len());
    t.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    t.extend_from_slice(&time.to_le_bytes());
    t.extend_from_slice(client_challenge);
    t.extend_from_slice(&[0; 4]);
    t.extend_from_slice(target_info);
    t.extend_from_slice(&[0; 4]);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    /// The CHALLENGE message of MS-NLMP 4.2.4 (NTLMv2 example).
    fn challenge_424() -> Vec<u8> {
        hex(concat!(
            "4E544C4D53535000020000000C000C003800000033828AE20123456789ABCDEF",
            "00000000000000002400240044000000060070170000000F5300650072007600",
            "6500720002000C0044006F006D00610069006E0001000C005300650072007600",
            "6500720000000000"
        ))
    }

    /// A CHALLENGE with the given AV_PAIR list as TargetInfo.
    fn challenge_with(target_info: &[u8]) -> Vec<u8> {
        let mut m = challenge_424()[..40].to_vec();
        m.extend_from_slice(&(target_info.len() as u16).to_le_bytes());
        m.extend_from_slice(&(target_info.len() as u16).to_le_bytes());
        m.extend_from_slice(&48u32.to_le_bytes());
        m.extend_from_slice(target_info);
        m
    }

    #[test]
    fn parses_ms_nlmp_challenge() {
        let c = ChallengeMessage::parse(&challenge_424()).unwrap();
        assert_eq!(c.negotiate_flags, 0xE28A8233);
        assert_eq!(
            c.server_challenge,
            [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF]
        );
        assert_eq!(c.target_info.len(), 0x24);
        assert_eq!(c.timestamp, None);
    }

    #[test]
    fn every_truncated_challenge_is_an_error() {
        let full = challenge_424();
        for n in 0..full.len() {
            assert!(ChallengeMessage::parse(&full[..n]).is_err(), "length {n}");
        }
    }

    #[test]
    fn corrupted_and_random_challenges_never_panic() {
        let full = challenge_424();
        for i in 0..full.len() {
            for bit in [0x01, 0x80] {
                let mut m = full.clone();
                m[i] ^= bit;
                let _ = ChallengeMessage::parse(&m);
            }
        }
        let mut rng = Rng::from_seed([9; 32]);
        for len in 0..300 {
            let mut m = vec![0u8; len];
            rng.fill(&mut m);
            if len >= 12 {
                m[..12].copy_from_slice(&full[..12]);
            }
            let _ = ChallengeMessage::parse(&m);
            let _ = AuthenticateMessage::parse(&m);
        }
    }

    #[test]
    fn rejects_bad_challenges() {
        let mut m = challenge_424();
        m[8] = 3;
        assert_eq!(
            ChallengeMessage::parse(&m),
            Err(AuthError::UnexpectedMessage {
                expected: 2,
                got: 3
            })
        );
        let mut m = challenge_424();
        m[0] = b'X';
        assert!(matches!(
            ChallengeMessage::parse(&m),
            Err(AuthError::Decode(_))
        ));
        // TargetInfo offset far past the end.
        let mut m = challenge_424();
        m[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(ChallengeMessage::parse(&m).is_err());
        // AV_PAIR list without MsvAvEOL, and a pair running past the list.
        assert!(ChallengeMessage::parse(&challenge_with(&[2, 0, 2, 0, b'A', 0])).is_err());
        assert!(ChallengeMessage::parse(&challenge_with(&[2, 0, 9, 0, b'A', 0])).is_err());
        // MsvAvTimestamp must be 8 bytes.
        let bad_ts = [7, 0, 4, 0, 1, 2, 3, 4, 0, 0, 0, 0];
        assert!(ChallengeMessage::parse(&challenge_with(&bad_ts)).is_err());
        let ts = [7, 0, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let c = ChallengeMessage::parse(&challenge_with(&ts)).unwrap();
        assert_eq!(c.timestamp, Some(1));
    }

    #[test]
    fn mic_flag_is_added_or_merged() {
        let eol = [0u8, 0, 0, 0];
        let with_flags = [6, 0, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            target_info_with_mic_flag(&with_flags).unwrap(),
            [6, 0, 4, 0, 3, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            target_info_with_mic_flag(&eol).unwrap(),
            [6, 0, 4, 0, 2, 0, 0, 0, 0, 0, 0, 0]
        );
        assert!(target_info_with_mic_flag(&[6, 0, 2, 0, 1, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn authenticate_before_negotiate_is_a_state_error() {
        let mut c = NtlmClient::new(Credentials::anonymous(), "WS", [0; 8], [0; 16], 0);
        assert!(matches!(
            c.authenticate_message(&challenge_424()),
            Err(AuthError::State(_))
        ));
        assert!(matches!(c.mech_list_mic(b"x"), Err(AuthError::State(_))));
    }

    #[test]
    fn anonymous_sends_empty_responses_and_has_no_key() {
        let creds = Credentials::anonymous();
        assert!(creds.is_anonymous());
        assert!(!Credentials::password("", "guest", "").is_anonymous());
        let mut c = NtlmClient::new(creds.clone(), "WS", [1; 8], [2; 16], 0);
        c.negotiate_message();
        let msg = c.authenticate_message(&challenge_424()).unwrap();
        let a = AuthenticateMessage::parse(&msg).unwrap();
        assert!(a.lm_response.is_empty() && a.nt_response.is_empty());
        assert!(a.user.is_empty() && a.domain.is_empty());
        assert_eq!(a.workstation, "WS");
        assert!(a.encrypted_random_session_key.is_empty());
        assert_ne!(a.negotiate_flags & NEGOTIATE_ANONYMOUS, 0);
        assert_eq!(a.negotiate_flags & NEGOTIATE_KEY_EXCH, 0);
        assert_eq!(msg.len(), AUTHENTICATE_HEADER + 4, "no MIC field");
        assert_eq!(c.session_key(), None);
        assert_eq!(c.mech_list_mic(b"x"), Err(AuthError::NoSessionKey));
        assert_eq!(
            session_key_from_authenticate(&creds, &challenge_424(), &msg),
            Err(AuthError::NoSessionKey)
        );
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let creds = Credentials::password("DOM", "alice", "hunter2-secret");
        let mut c = NtlmClient::new(creds.clone(), "WS", [0; 8], [0xEE; 16], 0);
        c.negotiate_message();
        c.authenticate_message(&challenge_424()).unwrap();
        for s in [format!("{creds:?}"), format!("{c:?}")] {
            assert!(s.contains("alice"), "{s}");
            assert!(!s.contains("hunter2"), "{s}");
            assert!(!s.to_lowercase().contains("ee, "), "{s}");
        }
        let h = Credentials::nt_hash("DOM", "bob", [0xAB; 16]);
        assert!(!format!("{h:?}").contains("171"));
        assert!(!format!("{h:?}").to_lowercase().contains("ab"));
    }

    #[test]
    fn nt_hash_credentials_match_password_credentials() {
        let pw = Credentials::password("D", "u", "Password");
        let hashed = Credentials::nt_hash("D", "u", nt_hash("Password"));
        let run = |creds| {
            let mut c = NtlmClient::new(creds, "WS", [3; 8], [4; 16], 5);
            c.negotiate_message();
            c.authenticate_message(&challenge_424()).unwrap()
        };
        assert_eq!(run(pw), run(hashed));
    }

    /// MS-NLMP 4.2.2.4: sealing and signing "Plaintext" without extended session
    /// security, under the exported session key 0x55 × 16.
    #[test]
    fn legacy_signature_matches_ms_nlmp_4_2_2_4() {
        let plaintext = crate::wire::codec::to_utf16le("Plaintext");
        assert_eq!(crc32(&plaintext), 0x93AA_847D);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926, "the CRC-32 check value");
        let mut sec = SessionSecurity::new(&[0x55; 16], 0xE202_8233).unwrap();
        // Sealing runs the same RC4 handle over the message before its signature.
        let mut sealed = plaintext.clone();
        let Mode::Legacy { seal, .. } = &mut sec.0 else {
            panic!("no ESS: legacy mode")
        };
        seal.apply_keystream(&mut sealed);
        assert_eq!(sealed, hex("56FE04D861F9319AF0D7238A2E3B4D457FB8"));
        assert_eq!(
            sec.mac(Direction::ClientToServer, &plaintext).to_vec(),
            hex("010000000000000009DCD1DF2E459D36")
        );
    }

    #[test]
    fn legacy_signatures_share_one_sequence_and_ignore_the_pad() {
        let key = [9; 16];
        let mut client = SessionSecurity::new(&key, 0).unwrap();
        let mut server = SessionSecurity::new(&key, 0).unwrap();
        let first = client.mac(Direction::ClientToServer, b"mechTypes");
        assert!(server.verify(Direction::ClientToServer, b"mechTypes", &first));
        // The server's reply continues the shared handle with sequence number 1, so
        // it differs from the client's signature over the same bytes.
        let mut reply = server.mac(Direction::ServerToClient, b"mechTypes");
        assert_ne!(reply, first);
        reply[4..8].copy_from_slice(&[0xA5; 4]);
        let mut replay = SessionSecurity::new(&key, 0).unwrap();
        replay.mac(Direction::ClientToServer, b"mechTypes");
        assert!(replay.verify(Direction::ServerToClient, b"mechTypes", &reply));
        let mut tampered = SessionSecurity::new(&key, 0).unwrap();
        tampered.mac(Direction::ClientToServer, b"mechTypes");
        reply[9] ^= 1;
        assert!(!tampered.verify(Direction::ServerToClient, b"mechTypes", &reply));
        assert!(!SessionSecurity::new(&key, 0).unwrap().verify(
            Direction::ClientToServer,
            b"mechTypes",
            &first[..15]
        ));
        assert!(matches!(
            SessionSecurity::new(&key, NEGOTIATE_LM_KEY),
            Err(AuthError::Unsupported(_))
        ));
    }

    #[test]
    fn lmowfv1_is_undefined_for_long_or_non_ascii_passwords() {
        assert!(lmowfv1("fourteen chars").is_some());
        assert_eq!(lmowfv1("Password"), lmowfv1("PASSWORD"));
        assert_eq!(lmowfv1("fifteen chars!!"), None);
        assert_eq!(lmowfv1("Pässword"), None);
    }

    /// A CHALLENGE without TargetInfo offering `flags`.
    fn v1_challenge(flags: u32) -> Vec<u8> {
        let mut m = challenge_424()[..32].to_vec();
        m[20..24].copy_from_slice(&flags.to_le_bytes());
        m
    }

    #[test]
    fn ntlmv1_uses_ess_only_when_offered_and_never_a_mic() {
        let creds = Credentials::password("D", "u", "pw").with_ntlm_v1();
        assert!(creds.is_ntlm_v1() && !Credentials::anonymous().is_ntlm_v1());
        assert!(format!("{creds:?}").contains("ntlm_v1: true"));
        for (offered, ess) in [(0xE20A_8233, true), (0xE202_8233, false)] {
            let challenge = v1_challenge(offered);
            let mut c = NtlmClient::new(creds.clone(), "WS", [0xCC; 8], [0x77; 16], 0);
            c.negotiate_message();
            let msg = c.authenticate_message(&challenge).unwrap();
            let a = AuthenticateMessage::parse(&msg).unwrap();
            assert_eq!(a.nt_response.len(), 24);
            assert_eq!(a.negotiate_flags & NEGOTIATE_TARGET_INFO, 0);
            assert_eq!(
                a.negotiate_flags & NEGOTIATE_EXTENDED_SESSIONSECURITY != 0,
                ess
            );
            if ess {
                assert_eq!(a.lm_response[..8], [0xCC; 8]);
                assert_eq!(a.lm_response[8..], [0; 16]);
            } else {
                assert_eq!(a.lm_response, a.nt_response);
            }
            assert_eq!(
                msg.len(),
                AUTHENTICATE_HEADER + 2 + 2 + 4 + 48 + 16,
                "no MIC"
            );
            assert_eq!(c.session_key(), Some([0x77; 16]));
            assert_eq!(
                session_key_from_authenticate(&creds, &challenge, &msg),
                Ok([0x77; 16])
            );
            let wrong = Credentials::password("D", "u", "pw2");
            assert_eq!(
                session_key_from_authenticate(&wrong, &challenge, &msg),
                Err(AuthError::BadResponse)
            );
            // The mechListMIC works in both modes.
            c.mech_list_mic(b"mechTypes").unwrap();
        }
    }

    #[test]
    fn server_side_recovery_rejects_malformed_v1_responses() {
        let creds = Credentials::password("D", "u", "pw").with_ntlm_v1();
        let challenge = v1_challenge(0xE20A_8233);
        let mut c = NtlmClient::new(creds.clone(), "WS", [1; 8], [2; 16], 0);
        c.negotiate_message();
        let msg = c.authenticate_message(&challenge).unwrap();
        // LmChallengeResponseFields (len, maxlen) at 12, NtChallengeResponseFields at 20.
        for (at, len) in [(12, 4u16), (20, 20)] {
            let mut m = msg.clone();
            m[at..at + 2].copy_from_slice(&len.to_le_bytes());
            m[at + 2..at + 4].copy_from_slice(&len.to_le_bytes());
            assert!(
                matches!(
                    session_key_from_authenticate(&creds, &challenge, &m),
                    Err(AuthError::Decode(_))
                ),
                "field at {at} of length {len}"
            );
        }
    }

    #[test]
    fn upcase_maps_one_to_one_only() {
        assert_eq!(upcase("straße Ärger"), "STRAßE ÄRGER");
    }

    #[test]
    fn long_fields_are_rejected_not_truncated() {
        let creds = Credentials::password("D", "u".repeat(40_000), "pw");
        let mut c = NtlmClient::new(creds, "WS", [0; 8], [0; 16], 0);
        c.negotiate_message();
        assert_eq!(
            c.authenticate_message(&challenge_424()),
            Err(AuthError::FieldTooLong("user name"))
        );
    }
}
