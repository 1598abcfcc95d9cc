//! SET_INFO request and response, MS-SMB2 2.2.39 / 2.2.40.

use bytes::Bytes;

use super::codec::{DecodeError, Reader};
use super::create::{variable_buffer, FileId};
use super::header::HEADER_LEN;

pub use super::query_info::info_type;

/// SMB2 SET_INFO Request, MS-SMB2 2.2.39.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetInfoRequest {
    /// InfoType, see [`info_type`].
    pub info_type: u8,
    /// FileInfoClass, e.g. [`super::fscc::class::FILE_RENAME_INFORMATION`].
    pub file_info_class: u8,
    /// The encoded information, e.g. from [`super::fscc::FileRenameInformation::encode`].
    pub buffer: Bytes,
    /// AdditionalInformation (security descriptors), see
    /// [`super::query_info::additional_information`].
    pub additional_information: u32,
    /// The open changed.
    pub file_id: FileId,
}

impl SetInfoRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 33;
    /// Header + fixed part: where the buffer goes.
    const BUFFER_OFFSET: usize = HEADER_LEN + 32;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.push(self.info_type);
        out.push(self.file_info_class);
        out.extend_from_slice(&(self.buffer.len() as u32).to_le_bytes());
        out.extend_from_slice(&(Self::BUFFER_OFFSET as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.additional_information.to_le_bytes());
        self.file_id.encode(out);
        if self.buffer.is_empty() {
            out.push(0);
        } else {
            out.extend_from_slice(&self.buffer);
        }
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "set info request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "set info request structure size")?;
        let info_type = r.u8("info type")?;
        let file_info_class = r.u8("file info class")?;
        let length = r.u32("buffer length")?;
        let offset = r.u16("buffer offset")?;
        r.skip(2, "reserved")?;
        let additional_information = r.u32("additional information")?;
        let file_id = FileId::decode(&mut r)?;
        let buffer = variable_buffer(
            msg,
            offset.into(),
            length as usize,
            Self::BUFFER_OFFSET,
            "set info buffer",
        )?;
        Ok(SetInfoRequest {
            info_type,
            file_info_class,
            buffer,
            additional_information,
            file_id,
        })
    }
}

/// SMB2 SET_INFO Response, MS-SMB2 2.2.40: no fields beyond StructureSize.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetInfoResponse;

impl SetInfoResponse {
    /// Checks the body; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "set info response")?;
        r.structure_size(2, "set info response structure size")?;
        Ok(SetInfoResponse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fscc::{class, FileDispositionInformation, FileRenameInformation};
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};

    /// smb311_default.pcapng frame 120: SET_INFO FileRenameInformation renaming
    /// `hello.txt` to `hello2.txt` (2.2.39, MS-FSCC 2.4.37.2).
    const SI_REQ_RENAME: &str =
        "fe534d4240000100000000001100010010000000000000003202000000000000000000001f5981431d720b7c\
        00000000000000000000000000000000000000002100010a280000006000000000000000520df7b400000000\
        3caf14d7000000000000000000000000000000000000000014000000680065006c006c006f0032002e007400\
        78007400";
    /// smb311_default.pcapng frame 150: SET_INFO FileDispositionInformation on `dir1`.
    const SI_REQ_DISPOSITION: &str =
        "fe534d4240000100000000001100010010000000000000003d04000000000000000000001f5981431d720b7c\
        00000000000000000000000000000000000000002100010d01000000600000000000000086a56cce00000000\
        add2c98b0000000001";
    /// smb311_default.pcapng frame 121: the SET_INFO response (2.2.40).
    const SI_RESP: &str =
        "fe534d4240000100000000001100010011000000000000003202000000000000000000001f5981431d720b7c\
        00000000000000000000000000000000000000000200";

    #[test]
    fn rename_request_matches_the_capture() {
        let msg = hex(SI_REQ_RENAME);
        let req = SetInfoRequest::decode(&msg).unwrap();
        assert_eq!(req.info_type, info_type::FILE);
        assert_eq!(req.file_info_class, class::FILE_RENAME_INFORMATION);
        let rename = FileRenameInformation::decode(&req.buffer).unwrap();
        assert_eq!(rename.file_name, "hello2.txt");
        assert!(!rename.replace_if_exists);
        assert_eq!(rename.root_directory, 0);
        assert_eq!(rename.encode(), req.buffer);
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    #[test]
    fn disposition_request_matches_the_capture() {
        let msg = hex(SI_REQ_DISPOSITION);
        let req = SetInfoRequest::decode(&msg).unwrap();
        assert_eq!(req.file_info_class, class::FILE_DISPOSITION_INFORMATION);
        assert_eq!(
            req.buffer,
            FileDispositionInformation {
                delete_pending: true
            }
            .encode()
        );
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    #[test]
    fn response_checks_structure_size() {
        assert_eq!(SetInfoResponse::decode(&hex(SI_RESP)), Ok(SetInfoResponse));
        assert!(SetInfoResponse::decode(&hex(SI_REQ_RENAME)).is_err());
    }

    #[test]
    fn decoders_survive_malformed_input() {
        assert_robust(&hex(SI_RESP), SetInfoResponse::decode);
        assert_robust(&hex(SI_REQ_RENAME), SetInfoRequest::decode);
    }
}
