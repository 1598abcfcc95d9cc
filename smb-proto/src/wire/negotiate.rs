//! NEGOTIATE request and response, MS-SMB2 2.2.3 / 2.2.4, with the SMB 3.1.1 negotiate
//! contexts of 2.2.3.1.

use bytes::Bytes;

use super::codec::{self, DecodeError, Reader};
use super::create::variable_buffer;
use super::header::HEADER_LEN;
use crate::config::Dialect;
use crate::crypto::encryption::Cipher;
use crate::crypto::signing::SigningAlgorithm;

/// Dialect revisions, MS-SMB2 2.2.3.
pub mod dialect {
    /// SMB 2.0.2.
    pub const SMB2_0_2: u16 = 0x0202;
    /// SMB 2.1.
    pub const SMB2_1: u16 = 0x0210;
    /// SMB 3.0.
    pub const SMB3_0: u16 = 0x0300;
    /// SMB 3.0.2.
    pub const SMB3_0_2: u16 = 0x0302;
    /// SMB 3.1.1: the only dialect with negotiate contexts.
    pub const SMB3_1_1: u16 = 0x0311;
    /// SMB2 wildcard revision, answered to a multi-protocol SMB1 negotiate.
    pub const SMB2_WILDCARD: u16 = 0x02FF;
}

/// SecurityMode bits, MS-SMB2 2.2.3 (also the one-byte SecurityMode of SESSION_SETUP).
pub mod security_mode {
    /// SMB2_NEGOTIATE_SIGNING_ENABLED.
    pub const SIGNING_ENABLED: u16 = 0x0001;
    /// SMB2_NEGOTIATE_SIGNING_REQUIRED.
    pub const SIGNING_REQUIRED: u16 = 0x0002;
}

/// Capabilities bits, MS-SMB2 2.2.3.
pub mod capabilities {
    /// SMB2_GLOBAL_CAP_DFS.
    pub const DFS: u32 = 0x0000_0001;
    /// SMB2_GLOBAL_CAP_LEASING.
    pub const LEASING: u32 = 0x0000_0002;
    /// SMB2_GLOBAL_CAP_LARGE_MTU: multi-credit requests.
    pub const LARGE_MTU: u32 = 0x0000_0004;
    /// SMB2_GLOBAL_CAP_MULTI_CHANNEL.
    pub const MULTI_CHANNEL: u32 = 0x0000_0008;
    /// SMB2_GLOBAL_CAP_PERSISTENT_HANDLES.
    pub const PERSISTENT_HANDLES: u32 = 0x0000_0010;
    /// SMB2_GLOBAL_CAP_DIRECTORY_LEASING.
    pub const DIRECTORY_LEASING: u32 = 0x0000_0020;
    /// SMB2_GLOBAL_CAP_ENCRYPTION (3.0 / 3.0.2 only; 3.1.1 negotiates ciphers instead).
    pub const ENCRYPTION: u32 = 0x0000_0040;
    /// SMB2_GLOBAL_CAP_NOTIFICATIONS.
    pub const NOTIFICATIONS: u32 = 0x0000_0080;
}

/// Negotiate context types, MS-SMB2 2.2.3.1.
pub mod context_type {
    /// SMB2_PREAUTH_INTEGRITY_CAPABILITIES.
    pub const PREAUTH_INTEGRITY_CAPABILITIES: u16 = 0x0001;
    /// SMB2_ENCRYPTION_CAPABILITIES.
    pub const ENCRYPTION_CAPABILITIES: u16 = 0x0002;
    /// SMB2_COMPRESSION_CAPABILITIES.
    pub const COMPRESSION_CAPABILITIES: u16 = 0x0003;
    /// SMB2_NETNAME_NEGOTIATE_CONTEXT_ID.
    pub const NETNAME_NEGOTIATE_CONTEXT_ID: u16 = 0x0005;
    /// SMB2_TRANSPORT_CAPABILITIES.
    pub const TRANSPORT_CAPABILITIES: u16 = 0x0006;
    /// SMB2_RDMA_TRANSFORM_CAPABILITIES.
    pub const RDMA_TRANSFORM_CAPABILITIES: u16 = 0x0007;
    /// SMB2_SIGNING_CAPABILITIES.
    pub const SIGNING_CAPABILITIES: u16 = 0x0008;
}

/// Preauth integrity hash algorithms, MS-SMB2 2.2.3.1.1.
pub mod hash_algorithm {
    /// SHA-512, the only one defined.
    pub const SHA_512: u16 = 0x0001;
}

/// Encryption ciphers, MS-SMB2 2.2.3.1.2.
pub mod cipher {
    /// AES-128-CCM.
    pub const AES_128_CCM: u16 = 0x0001;
    /// AES-128-GCM.
    pub const AES_128_GCM: u16 = 0x0002;
    /// AES-256-CCM.
    pub const AES_256_CCM: u16 = 0x0003;
    /// AES-256-GCM.
    pub const AES_256_GCM: u16 = 0x0004;
}

/// Signing algorithms, MS-SMB2 2.2.3.1.7.
pub mod signing_algorithm {
    /// HMAC-SHA256.
    pub const HMAC_SHA256: u16 = 0x0000;
    /// AES-CMAC.
    pub const AES_CMAC: u16 = 0x0001;
    /// AES-GMAC.
    pub const AES_GMAC: u16 = 0x0002;
}

/// Appends `list` as little-endian u16s (dialect, cipher and algorithm lists).
pub(crate) fn put_u16_list(out: &mut Vec<u8>, list: &[u16]) {
    for v in list {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Reads `count` u16s; the slice is taken first so the allocation is bounded by the input.
pub(crate) fn read_u16_list(
    r: &mut Reader<'_>,
    count: u16,
    what: &'static str,
) -> Result<Vec<u16>, DecodeError> {
    let raw = r.bytes(usize::from(count) * 2, what)?;
    Ok(raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect())
}

/// Appends `(type, data)` contexts, each 8-byte aligned relative to the header start
/// (the body, which starts at `body_start` in `out`, follows the 64-byte header).
fn encode_contexts<'a>(
    out: &mut Vec<u8>,
    body_start: usize,
    contexts: impl Iterator<Item = (u16, &'a [u8])>,
) {
    for (ty, data) in contexts {
        let rel = HEADER_LEN + out.len() - body_start;
        out.resize(out.len() + codec::align8(rel) - rel, 0);
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(data);
    }
}

/// Decodes `count` contexts starting at `offset` of `msg` (not before `fixed_end`, the end
/// of the fixed part) as `(type, data)`. Every context takes at least 8 bytes of the
/// message, so a huge count just runs out of input.
fn decode_contexts(
    msg: &Bytes,
    offset: usize,
    count: u16,
    fixed_end: usize,
) -> Result<Vec<(u16, Bytes)>, DecodeError> {
    if count > 0 && offset < fixed_end {
        return Err(DecodeError::invalid(
            "negotiate context offset",
            offset as u64,
        ));
    }
    let mut out = Vec::new();
    let mut pos = offset;
    for i in 0..count {
        if i > 0 {
            pos = codec::align8(pos);
        }
        let mut r = Reader::at(msg, pos, "negotiate context")?;
        let ty = r.u16("negotiate context type")?;
        let len = usize::from(r.u16("negotiate context data length")?);
        r.skip(4, "negotiate context reserved")?;
        let data = codec::slice_bytes(msg, r.pos(), len, "negotiate context data")?;
        pos = r.pos() + len;
        out.push((ty, data));
    }
    Ok(out)
}

/// SMB2 NEGOTIATE Request, MS-SMB2 2.2.3.
///
/// The 3.1.1 negotiate contexts (2.2.3.1) are fields: each one set is sent, in the order
/// preauth, encryption, signing, netname (Samba's order). Set them only when offering
/// 3.1.1, and then always `preauth_salt`, which 3.1.1 requires.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NegotiateRequest {
    /// Dialects offered, see [`dialect`].
    pub dialects: Vec<u16>,
    /// SecurityMode, see [`security_mode`].
    pub security_mode: u16,
    /// Capabilities, see [`capabilities`].
    pub capabilities: u32,
    /// ClientGuid.
    pub client_guid: [u8; 16],
    /// SMB2_PREAUTH_INTEGRITY_CAPABILITIES (2.2.3.1.1) with SHA-512 and this salt.
    pub preauth_salt: Option<Vec<u8>>,
    /// SMB2_ENCRYPTION_CAPABILITIES (2.2.3.1.2), in preference order, see [`cipher`].
    pub ciphers: Vec<u16>,
    /// SMB2_SIGNING_CAPABILITIES (2.2.3.1.7), in preference order, see
    /// [`signing_algorithm`].
    pub signing_algorithms: Vec<u16>,
    /// SMB2_NETNAME_NEGOTIATE_CONTEXT_ID (2.2.3.1.4): the server name dialed.
    pub netname: Option<String>,
}

impl NegotiateRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 36;
    /// Header + fixed part: where the dialects start.
    const DIALECTS_OFFSET: usize = HEADER_LEN + 36;

    fn contexts(&self) -> Vec<(u16, Vec<u8>)> {
        let mut contexts = Vec::new();
        if let Some(salt) = &self.preauth_salt {
            let mut d = Vec::new();
            d.extend_from_slice(&1u16.to_le_bytes());
            d.extend_from_slice(&(salt.len() as u16).to_le_bytes());
            d.extend_from_slice(&hash_algorithm::SHA_512.to_le_bytes());
            d.extend_from_slice(salt);
            contexts.push((context_type::PREAUTH_INTEGRITY_CAPABILITIES, d));
        }
        for (ty, list) in [
            (context_type::ENCRYPTION_CAPABILITIES, &self.ciphers),
            (context_type::SIGNING_CAPABILITIES, &self.signing_algorithms),
        ] {
            if !list.is_empty() {
                let mut d = (list.len() as u16).to_le_bytes().to_vec();
                put_u16_list(&mut d, list);
                contexts.push((ty, d));
            }
        }
        if let Some(name) = &self.netname {
            contexts.push((
                context_type::NETNAME_NEGOTIATE_CONTEXT_ID,
                codec::to_utf16le(name),
            ));
        }
        contexts
    }

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let body_start = out.len();
        let contexts = self.contexts();
        let dialects_end = Self::DIALECTS_OFFSET + 2 * self.dialects.len();
        let contexts_offset = if contexts.is_empty() {
            0
        } else {
            codec::align8(dialects_end)
        };
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&(self.dialects.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.security_mode.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.capabilities.to_le_bytes());
        out.extend_from_slice(&self.client_guid);
        // NegotiateContextOffset/Count/Reserved2, or ClientStartTime (0) without contexts.
        out.extend_from_slice(&(contexts_offset as u32).to_le_bytes());
        out.extend_from_slice(&(contexts.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        put_u16_list(out, &self.dialects);
        encode_contexts(out, body_start, contexts.iter().map(|(t, d)| (*t, &d[..])));
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header. Contexts
    /// other than the four above are skipped.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "negotiate request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "negotiate request structure size")?;
        let dialect_count = r.u16("dialect count")?;
        let security_mode = r.u16("security mode")?;
        r.skip(2, "reserved")?;
        let capabilities = r.u32("capabilities")?;
        let client_guid = r.array("client guid")?;
        let contexts_offset = r.u32("negotiate context offset")?;
        let contexts_count = r.u16("negotiate context count")?;
        r.skip(2, "reserved2")?;
        let mut req = NegotiateRequest {
            dialects: read_u16_list(&mut r, dialect_count, "dialects")?,
            security_mode,
            capabilities,
            client_guid,
            ..Default::default()
        };
        if !req.dialects.contains(&dialect::SMB3_1_1) {
            return Ok(req);
        }
        let contexts = decode_contexts(
            msg,
            contexts_offset as usize,
            contexts_count,
            Self::DIALECTS_OFFSET,
        )?;
        for (ty, data) in contexts {
            let mut r = Reader::new(&data);
            match ty {
                context_type::PREAUTH_INTEGRITY_CAPABILITIES => {
                    let count = r.u16("hash algorithm count")?;
                    let salt_len = r.u16("salt length")?;
                    read_u16_list(&mut r, count, "hash algorithms")?;
                    req.preauth_salt = Some(r.bytes(salt_len.into(), "salt")?.to_vec());
                }
                context_type::ENCRYPTION_CAPABILITIES => {
                    let count = r.u16("cipher count")?;
                    req.ciphers = read_u16_list(&mut r, count, "ciphers")?;
                }
                context_type::SIGNING_CAPABILITIES => {
                    let count = r.u16("signing algorithm count")?;
                    req.signing_algorithms = read_u16_list(&mut r, count, "signing algorithms")?;
                }
                context_type::NETNAME_NEGOTIATE_CONTEXT_ID => {
                    req.netname = Some(codec::utf16le(&data, "net name")?);
                }
                _ => {}
            }
        }
        Ok(req)
    }
}

/// SMB2 NEGOTIATE Response, MS-SMB2 2.2.4, with its 3.1.1 contexts interpreted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NegotiateResponse {
    /// SecurityMode, see [`security_mode`].
    pub security_mode: u16,
    /// DialectRevision chosen by the server, see [`dialect`].
    pub dialect_revision: u16,
    /// ServerGuid.
    pub server_guid: [u8; 16],
    /// Capabilities, see [`capabilities`].
    pub capabilities: u32,
    /// MaxTransactSize: bound on QUERY_INFO/QUERY_DIRECTORY/IOCTL buffers.
    pub max_transact_size: u32,
    /// MaxReadSize.
    pub max_read_size: u32,
    /// MaxWriteSize.
    pub max_write_size: u32,
    /// SystemTime (FILETIME).
    pub system_time: u64,
    /// ServerStartTime (FILETIME), usually 0.
    pub server_start_time: u64,
    /// The SPNEGO token that starts authentication.
    pub security_buffer: Bytes,
    /// The preauth hash algorithm (3.1.1), see [`hash_algorithm`].
    pub preauth_hash_algorithm: Option<u16>,
    /// The server's preauth salt (3.1.1); empty when absent.
    pub preauth_salt: Bytes,
    /// The cipher chosen (3.1.1), see [`cipher`]; `Some(0)` means no common cipher.
    pub cipher: Option<u16>,
    /// The signing algorithm chosen (3.1.1), see [`signing_algorithm`].
    pub signing_algorithm: Option<u16>,
    /// Other contexts as `(type, data)`, in message order.
    pub other_contexts: Vec<(u16, Bytes)>,
}

impl NegotiateResponse {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 65;
    /// Header + fixed part: where the security buffer starts.
    const BUFFER_OFFSET: usize = HEADER_LEN + 64;

    /// Decodes a response; `msg` starts at the header.
    ///
    /// A 3.1.1 response whose preauth, encryption or signing context repeats or does not
    /// name exactly one algorithm is rejected (MS-SMB2 3.2.5.2).
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "negotiate response")?;
        r.structure_size(Self::STRUCTURE_SIZE, "negotiate response structure size")?;
        let security_mode = r.u16("security mode")?;
        let dialect_revision = r.u16("dialect revision")?;
        let contexts_count = r.u16("negotiate context count")?;
        let server_guid = r.array("server guid")?;
        let capabilities = r.u32("capabilities")?;
        let max_transact_size = r.u32("max transact size")?;
        let max_read_size = r.u32("max read size")?;
        let max_write_size = r.u32("max write size")?;
        let system_time = r.u64("system time")?;
        let server_start_time = r.u64("server start time")?;
        let sec_offset = r.u16("security buffer offset")?;
        let sec_length = r.u16("security buffer length")?;
        let contexts_offset = r.u32("negotiate context offset")?;
        let mut resp = NegotiateResponse {
            security_mode,
            dialect_revision,
            server_guid,
            capabilities,
            max_transact_size,
            max_read_size,
            max_write_size,
            system_time,
            server_start_time,
            security_buffer: variable_buffer(
                msg,
                sec_offset.into(),
                sec_length.into(),
                Self::BUFFER_OFFSET,
                "security buffer",
            )?,
            ..Default::default()
        };
        if dialect_revision == dialect::SMB3_1_1 {
            let contexts = decode_contexts(
                msg,
                contexts_offset as usize,
                contexts_count,
                Self::BUFFER_OFFSET,
            )?;
            for (ty, data) in contexts {
                resp.take_context(ty, data)?;
            }
        }
        Ok(resp)
    }

    /// The cipher (if any) and the signing algorithm this response settles for its
    /// `dialect` (MS-SMB2 3.2.5.2): 3.1.1 names them in negotiate contexts (no cipher when
    /// the context is absent or names none, AES-CMAC when the signing context is absent);
    /// 3.0 and 3.0.2 sign with AES-CMAC and encrypt with AES-128-CCM when the server has
    /// the ENCRYPTION capability; 2.x signs with HMAC-SHA256 and cannot encrypt.
    ///
    /// A 3.1.1 context naming an algorithm unknown to this crate is an error: the client
    /// offered none such, and guessing would only fail later, at the first signature.
    pub fn algorithms(
        &self,
        dialect: Dialect,
    ) -> Result<(Option<Cipher>, SigningAlgorithm), DecodeError> {
        Ok(match dialect {
            Dialect::Smb311 => {
                let cipher = match self.cipher {
                    None | Some(0) => None,
                    Some(id) => Some(
                        Cipher::from_id(id).ok_or_else(|| DecodeError::invalid("cipher", id))?,
                    ),
                };
                let signing = match self.signing_algorithm {
                    None => SigningAlgorithm::AesCmac,
                    Some(id) => SigningAlgorithm::from_id(id)
                        .ok_or_else(|| DecodeError::invalid("signing algorithm", id))?,
                };
                (cipher, signing)
            }
            d if d.is_smb3() => (
                (self.capabilities & capabilities::ENCRYPTION != 0).then_some(Cipher::Aes128Ccm),
                SigningAlgorithm::AesCmac,
            ),
            _ => (None, SigningAlgorithm::HmacSha256),
        })
    }

    fn take_context(&mut self, ty: u16, data: Bytes) -> Result<(), DecodeError> {
        let mut r = Reader::new(&data);
        let single = |r: &mut Reader<'_>, slot: &Option<u16>, what: &'static str| {
            let count = r.u16(what)?;
            if slot.is_some() || count != 1 {
                return Err(DecodeError::invalid(what, count));
            }
            r.u16(what)
        };
        match ty {
            context_type::PREAUTH_INTEGRITY_CAPABILITIES => {
                if self.preauth_hash_algorithm.is_some() {
                    return Err(DecodeError::invalid("duplicate preauth context", ty));
                }
                let count = r.u16("hash algorithm count")?;
                let salt_len = usize::from(r.u16("salt length")?);
                if count != 1 {
                    return Err(DecodeError::invalid("hash algorithm count", count));
                }
                self.preauth_hash_algorithm = Some(r.u16("hash algorithm")?);
                self.preauth_salt = codec::slice_bytes(&data, r.pos(), salt_len, "salt")?;
            }
            context_type::ENCRYPTION_CAPABILITIES => {
                self.cipher = Some(single(&mut r, &self.cipher, "cipher count")?);
            }
            context_type::SIGNING_CAPABILITIES => {
                self.signing_algorithm = Some(single(
                    &mut r,
                    &self.signing_algorithm,
                    "signing algorithm count",
                )?);
            }
            _ => self.other_contexts.push((ty, data)),
        }
        Ok(())
    }

    /// Appends the body after an already-written header (for a scripted server). For
    /// 3.1.1 the contexts go out as preauth, encryption, signing, then the others.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let body_start = out.len();
        let mut contexts: Vec<(u16, Vec<u8>)> = Vec::new();
        if self.dialect_revision == dialect::SMB3_1_1 {
            if let Some(alg) = self.preauth_hash_algorithm {
                let mut d = Vec::new();
                d.extend_from_slice(&1u16.to_le_bytes());
                d.extend_from_slice(&(self.preauth_salt.len() as u16).to_le_bytes());
                d.extend_from_slice(&alg.to_le_bytes());
                d.extend_from_slice(&self.preauth_salt);
                contexts.push((context_type::PREAUTH_INTEGRITY_CAPABILITIES, d));
            }
            for (ty, v) in [
                (context_type::ENCRYPTION_CAPABILITIES, self.cipher),
                (context_type::SIGNING_CAPABILITIES, self.signing_algorithm),
            ] {
                if let Some(v) = v {
                    let mut d = 1u16.to_le_bytes().to_vec();
                    d.extend_from_slice(&v.to_le_bytes());
                    contexts.push((ty, d));
                }
            }
            contexts.extend(self.other_contexts.iter().map(|(t, d)| (*t, d.to_vec())));
        }
        let contexts_offset = if contexts.is_empty() {
            0
        } else {
            codec::align8(Self::BUFFER_OFFSET + self.security_buffer.len())
        };
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&self.security_mode.to_le_bytes());
        out.extend_from_slice(&self.dialect_revision.to_le_bytes());
        out.extend_from_slice(&(contexts.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.server_guid);
        out.extend_from_slice(&self.capabilities.to_le_bytes());
        out.extend_from_slice(&self.max_transact_size.to_le_bytes());
        out.extend_from_slice(&self.max_read_size.to_le_bytes());
        out.extend_from_slice(&self.max_write_size.to_le_bytes());
        out.extend_from_slice(&self.system_time.to_le_bytes());
        out.extend_from_slice(&self.server_start_time.to_le_bytes());
        out.extend_from_slice(&(Self::BUFFER_OFFSET as u16).to_le_bytes());
        out.extend_from_slice(&(self.security_buffer.len() as u16).to_le_bytes());
        out.extend_from_slice(&(contexts_offset as u32).to_le_bytes());
        out.extend_from_slice(&self.security_buffer);
        encode_contexts(out, body_start, contexts.iter().map(|(t, d)| (*t, &d[..])));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fscc::FileTime;
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};

    // Real messages from tests/data/captures (smbclient 4.17 <-> smbd 4.17); the NBSS
    // length prefix is stripped. Field values below are as `tshark -V` shows them.

    /// smb311_default.pcapng frame 4: NEGOTIATE request offering 2.0.2 – 3.1.1 with
    /// preauth, encryption, signing and netname contexts (2.2.3, 2.2.3.1).
    const NEG_REQ_311: &str =
        "fe534d42400000000000000000001f0000000000000000000000000000000000000000000000000000000000\
        000000000000000000000000000000000000000024000500010000007f0000004a33db6e93e6fc4fb99f75bf\
        b96a755c700000000400000002021002000302031103000001002600000000000100200001008f1106288e55\
        b0075b3f56021bbef95713285eb73e8b8e0560c59eca786e808c000002000a00000000000400020001000400\
        03000000000000000800080000000000030002000100000005001200000000003100320037002e0030002e00\
        30002e003100";
    /// smb311_default.pcapng frame 6: the 3.1.1 NEGOTIATE response (2.2.4).
    const NEG_RESP_311: &str =
        "fe534d4240000000000000000000010001000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000410001001103030074657374737276000000000000000000\
        0f000000000080000000800000008000dc162857617add01000000000000000080004a00d000000060480606\
        2b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65\
        645f696e5f5246433431373840706c656173655f69676e6f7265000000000000010026000000000001002000\
        010088998c982e9b169d16f581653f5047b158810d8908e21543a8e55cfbbe98f64a00000200040000000000\
        0100020000000000080004000000000001000200";
    /// smb210_sign.pcapng frame 4: a NEGOTIATE request without contexts (2.0.2, 2.1).
    const NEG_REQ_210: &str =
        "fe534d42400000000000000000001f0000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000240002000300000000000000cd31f3611526c7499e0ab04b\
        f1f7fd44000000000000000002021002";
    /// smb210_sign.pcapng frame 6: the 2.1 NEGOTIATE response.
    const NEG_RESP_210: &str =
        "fe534d4240000000000000000000010001000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000410001001002000074657374737276000000000000000000\
        070000000000800000008000000080005654ec67617add01000000000000000080004a000000000060480606\
        2b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65\
        645f696e5f5246433431373840706c656173655f69676e6f7265";

    const SAMBA_GUID: [u8; 16] = *b"testsrv\0\0\0\0\0\0\0\0\0";

    #[test]
    fn request_311_decodes_and_re_encodes_byte_for_byte() {
        let msg = hex(NEG_REQ_311);
        let req = NegotiateRequest::decode(&msg).unwrap();
        assert_eq!(
            req.dialects,
            [
                dialect::SMB2_0_2,
                dialect::SMB2_1,
                dialect::SMB3_0,
                dialect::SMB3_0_2,
                dialect::SMB3_1_1
            ]
        );
        assert_eq!(req.security_mode, security_mode::SIGNING_ENABLED);
        assert_eq!(req.capabilities, 0x7f);
        // Client Guid 6edb334a-e693-4ffc-b99f-75bfb96a755c in its wire (mixed-endian) form.
        assert_eq!(req.client_guid[..4], [0x4a, 0x33, 0xdb, 0x6e]);
        assert_eq!(
            req.preauth_salt.as_deref(),
            Some(&hex("8f1106288e55b0075b3f56021bbef95713285eb73e8b8e0560c59eca786e808c")[..])
        );
        assert_eq!(
            req.ciphers,
            [
                cipher::AES_128_GCM,
                cipher::AES_128_CCM,
                cipher::AES_256_GCM,
                cipher::AES_256_CCM
            ]
        );
        assert_eq!(
            req.signing_algorithms,
            [
                signing_algorithm::AES_GMAC,
                signing_algorithm::AES_CMAC,
                signing_algorithm::HMAC_SHA256
            ]
        );
        assert_eq!(req.netname.as_deref(), Some("127.0.0.1"));
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    #[test]
    fn request_without_contexts_carries_client_start_time_zero() {
        let msg = hex(NEG_REQ_210);
        let req = NegotiateRequest::decode(&msg).unwrap();
        assert_eq!(req.dialects, [dialect::SMB2_0_2, dialect::SMB2_1]);
        assert_eq!(
            req.security_mode,
            security_mode::SIGNING_ENABLED | security_mode::SIGNING_REQUIRED
        );
        assert_eq!(req.preauth_salt, None);
        assert!(req.ciphers.is_empty() && req.netname.is_none());
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    #[test]
    fn response_311_exposes_the_chosen_algorithms() {
        let msg = hex(NEG_RESP_311);
        let resp = NegotiateResponse::decode(&msg).unwrap();
        assert_eq!(resp.dialect_revision, dialect::SMB3_1_1);
        assert_eq!(resp.security_mode, security_mode::SIGNING_ENABLED);
        assert_eq!(resp.server_guid, SAMBA_GUID);
        assert_eq!(
            resp.capabilities,
            capabilities::DFS
                | capabilities::LEASING
                | capabilities::LARGE_MTU
                | capabilities::MULTI_CHANNEL
        );
        assert_eq!(resp.max_transact_size, 8_388_608);
        assert_eq!(resp.max_read_size, 8_388_608);
        assert_eq!(resp.max_write_size, 8_388_608);
        // Current Time: Nov 22, 2026 09:10:38.364438 UTC.
        let t = FileTime(resp.system_time).to_system_time().unwrap();
        let since_unix = t.duration_since(std::time::UNIX_EPOCH).unwrap();
        assert_eq!(since_unix.as_secs(), 1_795_338_638);
        assert_eq!(since_unix.subsec_micros(), 364_438);
        assert_eq!(resp.server_start_time, 0);
        assert_eq!(resp.security_buffer.len(), 74);
        assert_eq!(resp.security_buffer[..2], [0x60, 0x48]); // GSS-API InitialContextToken
        assert_eq!(resp.preauth_hash_algorithm, Some(hash_algorithm::SHA_512));
        assert_eq!(
            resp.preauth_salt,
            hex("88998c982e9b169d16f581653f5047b158810d8908e21543a8e55cfbbe98f64a")
        );
        assert_eq!(resp.cipher, Some(cipher::AES_128_GCM));
        assert_eq!(resp.signing_algorithm, Some(signing_algorithm::AES_GMAC));
        assert!(resp.other_contexts.is_empty());
        assert_eq!(body(&with_header(|o| resp.encode(o))), body(&msg));
    }

    #[test]
    fn response_210_has_no_contexts() {
        let msg = hex(NEG_RESP_210);
        let resp = NegotiateResponse::decode(&msg).unwrap();
        assert_eq!(resp.dialect_revision, dialect::SMB2_1);
        assert_eq!(resp.capabilities, 0x07);
        assert_eq!(resp.security_buffer.len(), 74);
        assert_eq!((resp.cipher, resp.signing_algorithm), (None, None));
        assert_eq!(body(&with_header(|o| resp.encode(o))), body(&msg));
    }

    #[test]
    fn algorithms_follow_the_dialect_and_the_contexts() {
        let r311 = NegotiateResponse::decode(&hex(NEG_RESP_311)).unwrap();
        assert_eq!(
            r311.algorithms(Dialect::Smb311),
            Ok((Some(Cipher::Aes128Gcm), SigningAlgorithm::AesGmac))
        );
        let r210 = NegotiateResponse::decode(&hex(NEG_RESP_210)).unwrap();
        assert_eq!(
            r210.algorithms(Dialect::Smb210),
            Ok((None, SigningAlgorithm::HmacSha256))
        );
        // 3.0 has no contexts: the ENCRYPTION capability alone means AES-128-CCM.
        let mut r30 = NegotiateResponse {
            capabilities: capabilities::ENCRYPTION,
            ..Default::default()
        };
        assert_eq!(
            r30.algorithms(Dialect::Smb300),
            Ok((Some(Cipher::Aes128Ccm), SigningAlgorithm::AesCmac))
        );
        r30.capabilities = 0;
        assert_eq!(
            r30.algorithms(Dialect::Smb302),
            Ok((None, SigningAlgorithm::AesCmac))
        );
        // 3.1.1 without a signing context signs with AES-CMAC; cipher 0 is "none in common".
        let plain = NegotiateResponse {
            cipher: Some(0),
            ..Default::default()
        };
        assert_eq!(
            plain.algorithms(Dialect::Smb311),
            Ok((None, SigningAlgorithm::AesCmac))
        );
        let unknown_cipher = NegotiateResponse {
            cipher: Some(9),
            ..r311.clone()
        };
        assert_eq!(
            unknown_cipher.algorithms(Dialect::Smb311),
            Err(DecodeError::invalid("cipher", 9u16))
        );
        let unknown_signing = NegotiateResponse {
            signing_algorithm: Some(7),
            ..r311
        };
        assert_eq!(
            unknown_signing.algorithms(Dialect::Smb311),
            Err(DecodeError::invalid("signing algorithm", 7u16))
        );
    }

    #[test]
    fn response_must_name_exactly_one_cipher() {
        // The encryption context sits at 0xd0 + 48; its CipherCount follows the 8-byte
        // context header. 3.2.5.2: a count other than 1 fails the negotiation.
        let mut m = hex(NEG_RESP_311).to_vec();
        assert_eq!(m[256], context_type::ENCRYPTION_CAPABILITIES as u8);
        m[264] = 2;
        assert_eq!(
            NegotiateResponse::decode(&m.into()),
            Err(DecodeError::invalid("cipher count", 2u16))
        );
    }

    #[test]
    fn response_rejects_a_context_count_past_the_message() {
        let mut m = hex(NEG_RESP_311).to_vec();
        m[HEADER_LEN + 6] = 0xFF; // NegotiateContextCount low byte: 255 contexts
        assert!(NegotiateResponse::decode(&m.into()).is_err());
    }

    #[test]
    fn decoders_survive_malformed_input() {
        assert_robust(&hex(NEG_RESP_311), NegotiateResponse::decode);
        assert_robust(&hex(NEG_RESP_210), NegotiateResponse::decode);
        assert_robust(&hex(NEG_REQ_311), NegotiateRequest::decode);
    }
}
