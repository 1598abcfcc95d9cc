//! The ERROR response body, MS-SMB2 2.2.2, its 3.1.1 error contexts (2.2.2.1) and the
//! symbolic link error response (2.2.2.2.1).

use bytes::Bytes;

use super::codec::{self, DecodeError, Reader};
use super::header::HEADER_LEN;

/// ErrorId values of an error context, MS-SMB2 2.2.2.1.
pub mod error_id {
    /// SMB2_ERROR_ID_DEFAULT: ErrorContextData is as for a pre-3.1.1 ErrorData.
    pub const DEFAULT: u32 = 0x0000_0000;
    /// SMB2_ERROR_ID_SHARE_REDIRECT.
    pub const SHARE_REDIRECT: u32 = 0x7264_5253;
}

/// SMB2 ERROR Response, MS-SMB2 2.2.2: the body of any response whose status is an
/// error (except the few, such as STATUS_BUFFER_OVERFLOW, that keep their normal body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorResponse {
    /// ErrorContextCount (3.1.1): non-zero when `error_data` holds error contexts.
    pub error_context_count: u8,
    /// ErrorData: ByteCount bytes, a zero-copy slice of the message.
    pub error_data: Bytes,
}

impl ErrorResponse {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 9;
    /// Header + fixed part: where ErrorData starts.
    const DATA_OFFSET: usize = HEADER_LEN + 8;

    /// Decodes a response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "error response")?;
        r.structure_size(Self::STRUCTURE_SIZE, "error response structure size")?;
        let error_context_count = r.u8("error context count")?;
        r.skip(1, "reserved")?;
        let byte_count = r.u32("byte count")?;
        Ok(ErrorResponse {
            error_context_count,
            // With ByteCount 0 the spec still sends one padding byte; it is not data.
            error_data: codec::slice_bytes(
                msg,
                Self::DATA_OFFSET,
                byte_count as usize,
                "error data",
            )?,
        })
    }

    /// Appends the body after an already-written header (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.push(self.error_context_count);
        out.push(0);
        out.extend_from_slice(&(self.error_data.len() as u32).to_le_bytes());
        if self.error_data.is_empty() {
            out.push(0);
        } else {
            out.extend_from_slice(&self.error_data);
        }
    }

    /// The error contexts (3.1.1); without any, the whole ErrorData as one
    /// `error_id::DEFAULT` context, which is how earlier dialects carry it.
    pub fn contexts(&self) -> Result<Vec<ErrorContext>, DecodeError> {
        if self.error_context_count == 0 {
            return Ok(vec![ErrorContext {
                error_id: error_id::DEFAULT,
                data: self.error_data.clone(),
            }]);
        }
        let mut out = Vec::new();
        let mut pos = 0;
        for _ in 0..self.error_context_count {
            let mut r = Reader::at(&self.error_data, pos, "error context")?;
            let len = r.u32("error data length")? as usize;
            let error_id = r.u32("error id")?;
            let data = codec::slice_bytes(&self.error_data, r.pos(), len, "error context data")?;
            // Contexts are 8-byte aligned; the padding after the last one may be absent.
            pos = codec::align8(r.pos() + len);
            out.push(ErrorContext { error_id, data });
        }
        Ok(out)
    }
}

/// SMB2 ERROR Context Response, MS-SMB2 2.2.2.1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorContext {
    /// ErrorId, see [`error_id`].
    pub error_id: u32,
    /// ErrorContextData.
    pub data: Bytes,
}

/// Symbolic Link Error Response, MS-SMB2 2.2.2.2.1: the ErrorData of a
/// STATUS_STOPPED_ON_SYMLINK, telling the client where the link points.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymlinkError {
    /// UnparsedPathLength: bytes at the end of the original path past the link.
    pub unparsed_path_length: u16,
    /// SubstituteName: the target as the server resolves it.
    pub substitute_name: String,
    /// PrintName: the target as shown to users.
    pub print_name: String,
    /// Flags: `SYMLINK_FLAG_RELATIVE` (1) when the target is relative to the link.
    pub flags: u32,
}

impl SymlinkError {
    /// SymLinkErrorTag: "SYML".
    const ERROR_TAG: u32 = 0x4C4D_5953;
    /// ReparseTag: IO_REPARSE_TAG_SYMLINK.
    const REPARSE_TAG: u32 = 0xA000_000C;
    /// Flags bit: the substitute name is relative.
    pub const SYMLINK_FLAG_RELATIVE: u32 = 0x0000_0001;

    /// Decodes the structure from an ErrorData (or a DEFAULT error context's data).
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(data);
        r.skip(4, "symlink length")?;
        let tag = r.u32("symlink error tag")?;
        if tag != Self::ERROR_TAG {
            return Err(DecodeError::invalid("symlink error tag", tag));
        }
        let reparse_tag = r.u32("reparse tag")?;
        if reparse_tag != Self::REPARSE_TAG {
            return Err(DecodeError::invalid("reparse tag", reparse_tag));
        }
        r.skip(2, "reparse data length")?;
        let unparsed_path_length = r.u16("unparsed path length")?;
        let sub_offset = usize::from(r.u16("substitute name offset")?);
        let sub_length = usize::from(r.u16("substitute name length")?);
        let print_offset = usize::from(r.u16("print name offset")?);
        let print_length = usize::from(r.u16("print name length")?);
        let flags = r.u32("symlink flags")?;
        // Name offsets are relative to PathBuffer, which follows the fixed fields.
        let path_buffer = r.bytes(r.remaining(), "path buffer")?;
        let name =
            |off, len, what| codec::utf16le(codec::slice(path_buffer, off, len, what)?, what);
        Ok(SymlinkError {
            unparsed_path_length,
            substitute_name: name(sub_offset, sub_length, "substitute name")?,
            print_name: name(print_offset, print_length, "print name")?,
            flags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::test_util::{assert_robust, hex};

    /// smb311_default.pcapng frame 15: STATUS_NOT_FOUND for a DFS referral IOCTL, the
    /// usual ByteCount 0 with its single padding byte (2.2.2).
    const ERR_NOT_FOUND: &str =
        "fe534d4240000100250200c00b0001001100000000000000040000000000000000000000ec7d82661d720b7c\
        0000000000000000000000000000000000000000090000000000000000";
    /// smb311_share_list.pcapng frame 19: an interim STATUS_PENDING response (async
    /// header), ByteCount 0 and padding byte 0x21.
    const ERR_PENDING: &str =
        "fe534d4240000000030100000b000100130000000000000005000000000000000500000000000000a53e8714\
        0000000000000000000000000000000000000000090000000000000021";

    #[test]
    fn empty_error_data_ignores_the_padding_byte() {
        for m in [ERR_NOT_FOUND, ERR_PENDING] {
            let msg = hex(m);
            let resp = ErrorResponse::decode(&msg).unwrap();
            assert_eq!(resp.error_context_count, 0);
            assert!(resp.error_data.is_empty());
        }
        let msg = hex(ERR_NOT_FOUND);
        let resp = ErrorResponse::decode(&msg).unwrap();
        let mut out = msg[..HEADER_LEN].to_vec();
        resp.encode(&mut out);
        assert_eq!(out, msg);
    }

    /// A STATUS_STOPPED_ON_SYMLINK ErrorData for a link to `..\target`, relative,
    /// assembled by hand per 2.2.2.2.1: substitute and print names share the PathBuffer.
    fn symlink_error_data() -> Vec<u8> {
        let name = codec::to_utf16le(r"..\target");
        let mut d = Vec::new();
        d.extend_from_slice(&(24 + 2 * name.len() as u32).to_le_bytes()); // SymLinkLength
        d.extend_from_slice(&hex("53594d4c 0c0000a0")); // "SYML", IO_REPARSE_TAG_SYMLINK
        d.extend_from_slice(&(12 + 2 * name.len() as u16).to_le_bytes()); // ReparseDataLength
        d.extend_from_slice(&8u16.to_le_bytes()); // UnparsedPathLength
        d.extend_from_slice(&0u16.to_le_bytes()); // SubstituteNameOffset
        d.extend_from_slice(&(name.len() as u16).to_le_bytes());
        d.extend_from_slice(&(name.len() as u16).to_le_bytes()); // PrintNameOffset
        d.extend_from_slice(&(name.len() as u16).to_le_bytes());
        d.extend_from_slice(&1u32.to_le_bytes()); // SYMLINK_FLAG_RELATIVE
        d.extend_from_slice(&name);
        d.extend_from_slice(&name);
        d
    }

    #[test]
    fn symlink_error_names_the_target() {
        let link = SymlinkError::decode(&symlink_error_data()).unwrap();
        assert_eq!(link.substitute_name, r"..\target");
        assert_eq!(link.print_name, r"..\target");
        assert_eq!(link.unparsed_path_length, 8);
        assert_eq!(link.flags, SymlinkError::SYMLINK_FLAG_RELATIVE);
        let mut bad = symlink_error_data();
        bad[16] = 0xFF; // SubstituteNameOffset far past the PathBuffer
        assert!(SymlinkError::decode(&bad).is_err());
        for n in 0..symlink_error_data().len() {
            let _ = SymlinkError::decode(&symlink_error_data()[..n]);
        }
    }

    #[test]
    fn error_contexts_of_3_1_1_are_split() {
        // Two contexts (2.2.2.1): the first 8-byte aligned, the second unpadded.
        let link = symlink_error_data();
        let mut data = Vec::new();
        data.extend_from_slice(&(link.len() as u32).to_le_bytes());
        data.extend_from_slice(&error_id::DEFAULT.to_le_bytes());
        data.extend_from_slice(&link);
        data.resize(codec::align8(data.len()), 0);
        data.extend_from_slice(&3u32.to_le_bytes());
        data.extend_from_slice(&error_id::SHARE_REDIRECT.to_le_bytes());
        data.extend_from_slice(b"abc");
        let resp = ErrorResponse {
            error_context_count: 2,
            error_data: data.into(),
        };
        let mut msg = vec![0; HEADER_LEN];
        resp.encode(&mut msg);
        let resp = ErrorResponse::decode(&msg.into()).unwrap();
        let contexts = resp.contexts().unwrap();
        assert_eq!(contexts.len(), 2);
        assert_eq!(contexts[0].error_id, error_id::DEFAULT);
        assert_eq!(
            SymlinkError::decode(&contexts[0].data).unwrap().print_name,
            r"..\target"
        );
        assert_eq!(contexts[1].error_id, error_id::SHARE_REDIRECT);
        assert_eq!(&contexts[1].data[..], b"abc");
        let lying = ErrorResponse {
            error_context_count: 3,
            ..resp
        };
        assert!(lying.contexts().is_err());
    }

    #[test]
    fn byte_count_past_the_message_is_an_error() {
        let mut m = hex(ERR_NOT_FOUND).to_vec();
        m[HEADER_LEN + 4] = 2;
        assert!(ErrorResponse::decode(&m.into()).is_err());
    }

    #[test]
    fn decoder_survives_malformed_input() {
        assert_robust(&hex(ERR_PENDING), |m| {
            ErrorResponse::decode(m).and_then(|r| r.contexts())
        });
    }
}
