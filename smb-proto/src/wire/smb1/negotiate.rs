//! SMB_COM_NEGOTIATE (MS-CIFS 2.2.4.52, MS-SMB 2.2.4.5): the multi-protocol request,
//! and the NT LM 0.12 response with extended security (MS-SMB 2.2.4.5.2.1).

use bytes::Bytes;

use super::header::capabilities;
use super::{Blocks, Parsed};
use crate::wire::codec::DecodeError;

/// The SMB1 dialect string of NT LM 0.12.
pub const NT_LM_012: &str = "NT LM 0.12";
/// The dialect string an SMB2 server answers with SMB 2.0.2 (MS-SMB2 3.3.5.3.1).
pub const SMB_2_002: &str = "SMB 2.002";
/// The dialect string an SMB2.1+ server answers with DialectRevision 0x02FF.
pub const SMB_2_WILDCARD: &str = "SMB 2.???";

/// NEGOTIATE request: the dialect strings offered, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiateRequest {
    /// Each is sent as BufferFormat 0x02 and a NUL-terminated string.
    pub dialects: Vec<&'static str>,
}

impl NegotiateRequest {
    /// Appends the blocks after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut b = Blocks::default();
        for d in &self.dialects {
            b.bytes(&[0x02]).asciiz(d);
        }
        b.finish(out);
    }
}

/// The dialect strings a NEGOTIATE request offers, in order (MS-CIFS 2.2.4.52.1: each a
/// BufferFormat 0x02 and a NUL-terminated 8-bit string); `msg` starts at the header.
/// What a [`NegotiateRequest`] encodes, read back (its `&'static str`s cannot hold a
/// peer's strings). There are at most as many as the data block has bytes.
///
/// # Errors
///
/// [`DecodeError`] when the blocks do not fit the message, WordCount is not 0, or a
/// dialect lacks its BufferFormat.
pub fn requested_dialects(msg: &Bytes) -> Result<Vec<String>, DecodeError> {
    let p = Parsed::new(msg)?;
    p.words(&[0], "negotiate word count")?;
    let data = p.data();
    let mut dialects = Vec::new();
    let mut rest = &data[..];
    while let Some((&format, tail)) = rest.split_first() {
        if format != 0x02 {
            return Err(DecodeError::invalid("dialect buffer format", format));
        }
        let end = tail.iter().position(|b| *b == 0).unwrap_or(tail.len());
        let name = tail.get(..end).unwrap_or_default();
        dialects.push(name.iter().map(|b| char::from(*b)).collect());
        rest = tail.get(end + 1..).unwrap_or_default();
    }
    Ok(dialects)
}

/// What an SMB1 server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NegotiateResponse {
    /// DialectIndex 0xFFFF: none of the dialects offered.
    NoDialect,
    /// The NT LM 0.12 form (WordCount 17).
    Nt1(Nt1Negotiate),
}

/// The NT LM 0.12 NEGOTIATE response (MS-SMB 2.2.4.5.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nt1Negotiate {
    /// Index of the dialect chosen among those offered.
    pub dialect_index: u16,
    /// SecurityMode, see [`super::header::security_mode`].
    pub security_mode: u8,
    /// MaxMpxCount: requests the client may have outstanding.
    pub max_mpx: u16,
    /// MaxNumberVcs.
    pub max_vcs: u16,
    /// MaxBufferSize: the largest message the server accepts.
    pub max_buffer_size: u32,
    /// MaxRawSize.
    pub max_raw_size: u32,
    /// SessionKey, echoed in SESSION_SETUP_ANDX.
    pub session_key: u32,
    /// Capabilities, see [`capabilities`].
    pub capabilities: u32,
    /// SystemTime (FILETIME).
    pub system_time: u64,
    /// ServerTimeZone, minutes from UTC.
    pub time_zone: i16,
    /// ServerGUID (with extended security; zero without).
    pub server_guid: [u8; 16],
    /// SecurityBlob: a SPNEGO negTokenInit, or empty (with extended security; empty
    /// without).
    pub security_blob: Bytes,
}

impl Nt1Negotiate {
    /// Whether the server offers extended security (CAP_EXTENDED_SECURITY).
    pub fn extended_security(&self) -> bool {
        self.capabilities & capabilities::EXTENDED_SECURITY != 0
    }
}

impl NegotiateResponse {
    /// Decodes the response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let p = Parsed::new(msg)?;
        if p.word_count == 1 {
            let index = p
                .words(&[1], "negotiate word count")?
                .u16("dialect index")?;
            if index == 0xFFFF {
                return Ok(NegotiateResponse::NoDialect);
            }
            return Err(DecodeError::invalid("negotiate word count", 1u8));
        }
        let mut r = p.words(&[17], "negotiate word count")?;
        let mut n = Nt1Negotiate {
            dialect_index: r.u16("dialect index")?,
            security_mode: r.u8("security mode")?,
            max_mpx: r.u16("max mpx count")?,
            max_vcs: r.u16("max number vcs")?,
            max_buffer_size: r.u32("max buffer size")?,
            max_raw_size: r.u32("max raw size")?,
            session_key: r.u32("session key")?,
            capabilities: r.u32("capabilities")?,
            system_time: r.u64("system time")?,
            time_zone: r.u16("server time zone")? as i16,
            server_guid: [0; 16],
            security_blob: Bytes::new(),
        };
        let challenge_len = r.u8("challenge length")?;
        if n.extended_security() {
            if challenge_len != 0 {
                return Err(DecodeError::invalid("challenge length", challenge_len));
            }
            let guid = p.data_slice(0, 16, "server guid")?;
            n.server_guid.copy_from_slice(&guid);
            n.security_blob = p.data_slice(16, p.byte_count.saturating_sub(16), "security blob")?;
        }
        Ok(NegotiateResponse::Nt1(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb1::test_util::{encoded, reply};

    #[test]
    fn request_lists_the_dialects_with_buffer_formats() {
        let req = NegotiateRequest {
            dialects: vec![NT_LM_012, SMB_2_002],
        };
        let out = encoded(|o| req.encode(o));
        let mut want = vec![0u8, 23, 0, 2];
        want.extend_from_slice(b"NT LM 0.12\0\x02SMB 2.002\0");
        assert_eq!(&out[32..], &want[..]);
    }

    /// A Samba 4.17 NT1 answer's blocks (as `negprot_spnego` builds them): index 0,
    /// mode USER|ENCRYPT|SIGNATURES_ENABLED, mpx 50, 1 VC, 16644, 65536, key 0,
    /// capabilities with EXTENDED_SECURITY, a time, zone 0, no challenge; then the GUID
    /// and a 4-byte blob.
    pub(crate) fn samba_reply() -> Bytes {
        let mut body = vec![17u8];
        body.extend_from_slice(&0u16.to_le_bytes());
        body.push(0x07);
        body.extend_from_slice(&50u16.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&16644u32.to_le_bytes());
        body.extend_from_slice(&65536u32.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&0x8080_f3fdu32.to_le_bytes());
        body.extend_from_slice(&0x01d8_0000_0000_0000u64.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.push(0);
        body.extend_from_slice(&20u16.to_le_bytes());
        body.extend_from_slice(b"smbtests\0\0\0\0\0\0\0\0");
        body.extend_from_slice(&[0x60, 0x02, 0x05, 0x00]);
        reply(0x72, 0, &body)
    }

    #[test]
    fn nt1_response_with_extended_security_decodes() {
        let NegotiateResponse::Nt1(n) = NegotiateResponse::decode(&samba_reply()).unwrap() else {
            panic!("not NT1");
        };
        assert_eq!((n.dialect_index, n.security_mode, n.max_mpx), (0, 7, 50));
        assert_eq!((n.max_buffer_size, n.session_key), (16644, 0));
        assert!(n.extended_security());
        assert_eq!(&n.server_guid[..8], b"smbtests");
        assert_eq!(&n.security_blob[..], [0x60, 0x02, 0x05, 0x00]);
    }

    #[test]
    fn no_dialect_and_other_word_counts() {
        let none = reply(0x72, 0, &[1, 0xFF, 0xFF, 0, 0]);
        assert_eq!(
            NegotiateResponse::decode(&none).unwrap(),
            NegotiateResponse::NoDialect
        );
        assert!(NegotiateResponse::decode(&reply(0x72, 0, &[1, 0, 0, 0, 0])).is_err());
        assert!(NegotiateResponse::decode(&reply(0x72, 0, &[13; 40])).is_err());
    }

    #[test]
    fn decoding_is_robust() {
        crate::wire::smb1::test_util::assert_robust(&samba_reply(), NegotiateResponse::decode);
    }
}
