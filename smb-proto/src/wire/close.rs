//! CLOSE request and response, MS-SMB2 2.2.15 / 2.2.16.

use bytes::Bytes;

use super::codec::{DecodeError, Reader};
use super::create::FileId;
use super::fscc::FileTime;
use super::header::HEADER_LEN;

/// Flags, MS-SMB2 2.2.15.
pub mod flags {
    /// SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB: return the file's attributes in the response.
    pub const POSTQUERY_ATTRIB: u16 = 0x0001;
}

/// SMB2 CLOSE Request, MS-SMB2 2.2.15.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloseRequest {
    /// Flags, see [`flags`].
    pub flags: u16,
    /// The open to close.
    pub file_id: FileId,
}

impl CloseRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 24;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        self.file_id.encode(out);
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "close request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "close request structure size")?;
        let flags = r.u16("flags")?;
        r.skip(4, "reserved")?;
        Ok(CloseRequest {
            flags,
            file_id: FileId::decode(&mut r)?,
        })
    }
}

/// SMB2 CLOSE Response, MS-SMB2 2.2.16. The attributes are zero unless the request set
/// `POSTQUERY_ATTRIB`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloseResponse {
    /// Flags: echoes `POSTQUERY_ATTRIB` when the attributes are valid.
    pub flags: u16,
    /// CreationTime.
    pub creation_time: FileTime,
    /// LastAccessTime.
    pub last_access_time: FileTime,
    /// LastWriteTime.
    pub last_write_time: FileTime,
    /// ChangeTime.
    pub change_time: FileTime,
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndofFile: the file size in bytes.
    pub end_of_file: u64,
    /// FileAttributes, see [`super::fscc::file_attributes`].
    pub file_attributes: u32,
}

impl CloseResponse {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 60;

    /// Decodes a response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "close response")?;
        r.structure_size(Self::STRUCTURE_SIZE, "close response structure size")?;
        let flags = r.u16("flags")?;
        r.skip(4, "reserved")?;
        Ok(CloseResponse {
            flags,
            creation_time: FileTime(r.u64("creation time")?),
            last_access_time: FileTime(r.u64("last access time")?),
            last_write_time: FileTime(r.u64("last write time")?),
            change_time: FileTime(r.u64("change time")?),
            allocation_size: r.u64("allocation size")?,
            end_of_file: r.u64("end of file")?,
            file_attributes: r.u32("file attributes")?,
        })
    }

    /// Appends the body after an already-written header (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for t in [
            self.creation_time,
            self.last_access_time,
            self.last_write_time,
            self.change_time,
        ] {
            out.extend_from_slice(&t.0.to_le_bytes());
        }
        out.extend_from_slice(&self.allocation_size.to_le_bytes());
        out.extend_from_slice(&self.end_of_file.to_le_bytes());
        out.extend_from_slice(&self.file_attributes.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fscc::file_attributes;
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};

    /// smb311_default.pcapng frame 24: CLOSE of `hello.txt` (2.2.15).
    const CLOSE_REQ: &str =
        "fe534d4240000100000000000600010010000000000000000900000000000000000000001f5981431d720b7c\
        000000000000000000000000000000000000000018000000000000002e371b7400000000743af70300000000";
    /// smb311_default.pcapng frame 25: its response, without POSTQUERY_ATTRIB (2.2.16).
    const CLOSE_RESP: &str =
        "fe534d4240000100000000000600010011000000000000000900000000000000000000001f5981431d720b7c\
        00000000000000000000000000000000000000003c0000000000000000000000000000000000000000000000\
        000000000000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn request_decodes_and_re_encodes_byte_for_byte() {
        let msg = hex(CLOSE_REQ);
        let req = CloseRequest::decode(&msg).unwrap();
        assert_eq!(req.flags, 0);
        assert_eq!(
            req.file_id,
            FileId {
                persistent: 0x741b_372e,
                volatile: 0x03f7_3a74
            }
        );
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    #[test]
    fn response_without_postquery_is_all_zero() {
        let msg = hex(CLOSE_RESP);
        let resp = CloseResponse::decode(&msg).unwrap();
        assert_eq!(resp, CloseResponse::default());
        assert_eq!(body(&with_header(|o| resp.encode(o))), body(&msg));
    }

    #[test]
    fn response_with_postquery_carries_attributes() {
        let resp = CloseResponse {
            flags: flags::POSTQUERY_ATTRIB,
            creation_time: FileTime(1),
            last_access_time: FileTime(2),
            last_write_time: FileTime(3),
            change_time: FileTime(4),
            allocation_size: 4096,
            end_of_file: 21,
            file_attributes: file_attributes::ARCHIVE,
        };
        let msg = with_header(|o| resp.encode(o));
        assert_eq!(msg.len(), HEADER_LEN + 60);
        assert_eq!(CloseResponse::decode(&msg).unwrap(), resp);
    }

    #[test]
    fn decoders_survive_malformed_input() {
        assert_robust(&hex(CLOSE_RESP), CloseResponse::decode);
        assert_robust(&hex(CLOSE_REQ), CloseRequest::decode);
    }
}
