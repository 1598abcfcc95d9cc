//! QUERY_DIRECTORY request and response, MS-SMB2 2.2.33 / 2.2.34.

use bytes::Bytes;

use super::codec::{self, DecodeError, Reader};
use super::create::{variable_buffer, FileId};
use super::header::HEADER_LEN;
use super::query_info::{decode_output_buffer, encode_output_buffer};

/// Flags, MS-SMB2 2.2.33.
pub mod flags {
    /// SMB2_RESTART_SCANS: start the enumeration again.
    pub const RESTART_SCANS: u8 = 0x01;
    /// SMB2_RETURN_SINGLE_ENTRY.
    pub const RETURN_SINGLE_ENTRY: u8 = 0x02;
    /// SMB2_INDEX_SPECIFIED: resume from FileIndex.
    pub const INDEX_SPECIFIED: u8 = 0x04;
    /// SMB2_REOPEN: restart with a new pattern.
    pub const REOPEN: u8 = 0x10;
}

/// SMB2 QUERY_DIRECTORY Request, MS-SMB2 2.2.33.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryDirectoryRequest {
    /// FileInformationClass, see [`super::fscc::class`].
    pub file_information_class: u8,
    /// Flags, see [`flags`].
    pub flags: u8,
    /// FileIndex to resume from (with `INDEX_SPECIFIED`).
    pub file_index: u32,
    /// The directory open.
    pub file_id: FileId,
    /// FileName: the search pattern, e.g. `*`.
    pub pattern: String,
    /// OutputBufferLength: the most the server may return.
    pub output_buffer_length: u32,
}

impl QueryDirectoryRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 33;
    /// Header + fixed part: where the pattern goes.
    const BUFFER_OFFSET: usize = HEADER_LEN + 32;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let name = codec::to_utf16le(&self.pattern);
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.push(self.file_information_class);
        out.push(self.flags);
        out.extend_from_slice(&self.file_index.to_le_bytes());
        self.file_id.encode(out);
        out.extend_from_slice(&(Self::BUFFER_OFFSET as u16).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.output_buffer_length.to_le_bytes());
        if name.is_empty() {
            out.push(0);
        } else {
            out.extend_from_slice(&name);
        }
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "query directory request")?;
        r.structure_size(
            Self::STRUCTURE_SIZE,
            "query directory request structure size",
        )?;
        let file_information_class = r.u8("file information class")?;
        let flags = r.u8("flags")?;
        let file_index = r.u32("file index")?;
        let file_id = FileId::decode(&mut r)?;
        let name_offset = r.u16("file name offset")?;
        let name_length = r.u16("file name length")?;
        let output_buffer_length = r.u32("output buffer length")?;
        let name = variable_buffer(
            msg,
            name_offset.into(),
            name_length.into(),
            Self::BUFFER_OFFSET,
            "file name",
        )?;
        Ok(QueryDirectoryRequest {
            file_information_class,
            flags,
            file_index,
            file_id,
            pattern: codec::utf16le(&name, "file name")?,
            output_buffer_length,
        })
    }
}

/// SMB2 QUERY_DIRECTORY Response, MS-SMB2 2.2.34.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryDirectoryResponse {
    /// The entries, in the requested class; decode with e.g.
    /// [`super::fscc::FileIdBothDirectoryInformation::parse_all`].
    pub buffer: Bytes,
}

impl QueryDirectoryResponse {
    /// Decodes a response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        Ok(QueryDirectoryResponse {
            buffer: decode_output_buffer(msg, "query directory response")?,
        })
    }

    /// Appends the body after an already-written header (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_output_buffer(&self.buffer, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fscc::{class, file_attributes, FileIdBothDirectoryInformation, FileTime};
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};

    /// smb311_default.pcapng frame 49: QUERY_DIRECTORY of the share root, pattern `*`,
    /// FileIdBothDirectoryInformation, 8 MiB output (2.2.33).
    const QD_REQ: &str =
        "fe534d4240008000000000000e00010010000000000000001400000000000000000000001f5981431d720b7c\
        000000000000000000000000000000000000000021002500000000005e4f22c00000000036880a9600000000\
        60000200000080002a00";
    /// smb311_default.pcapng frame 50: its response with `.`, `..`, `dir1`, `hello.txt`
    /// (2.2.34, MS-FSCC 2.4.17).
    const QD_RESP: &str =
        "fe534d4240008000000000000e00800011000000000000001400000000000000000000001f5981431d720b7c\
        000000000000000000000000000000000000000009004800ca0100007000000000000000c0382957617add01\
        c0382957617add01c0382957617add01c0382957617add010000000000000000000000000000000010000000\
        020000000000000000000000000000000000000000000000000000000000000000000000c2c0980000000000\
        2e000000000000007000000000000000ceb9d09f607add01ceb9d09f607add016bd0d19f607add016bd0d19f\
        607add0100000000000000000000000000000000100000000400000000000000000000000000000000000000\
        00000000000000000000000000000000c1c09800000000002e002e00000000007000000000000000c0382957\
        617add01ed712957617add013e732957617add013e732957617add0100000000000000000000000000000000\
        100000000800000000000000000000000000000000000000000000000000000000000000000000002b209900\
        00000000640069007200310000000000000000006f342957617add016f342957617add01d9562957617add01\
        d9562957617add01150000000000000000100000000000002000000012000000000000000000000000000000\
        000000000000000000000000000000000000000033c0980000000000680065006c006c006f002e0074007800\
        7400";

    #[test]
    fn request_decodes_and_re_encodes_byte_for_byte() {
        let msg = hex(QD_REQ);
        let req = QueryDirectoryRequest::decode(&msg).unwrap();
        assert_eq!(
            req.file_information_class,
            class::FILE_ID_BOTH_DIRECTORY_INFORMATION
        );
        assert_eq!((req.flags, req.file_index), (0, 0));
        assert_eq!(req.pattern, "*");
        assert_eq!(req.output_buffer_length, 0x80_0000);
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    #[test]
    fn response_lists_the_directory() {
        let msg = hex(QD_RESP);
        let resp = QueryDirectoryResponse::decode(&msg).unwrap();
        assert_eq!(resp.buffer.len(), 458);
        let entries = FileIdBothDirectoryInformation::parse_all(&resp.buffer).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.file_name.as_str()).collect();
        assert_eq!(names, [".", "..", "dir1", "hello.txt"]);
        let hello = &entries[3];
        assert_eq!(hello.end_of_file, 21);
        assert_eq!(hello.allocation_size, 4096);
        assert_eq!(hello.file_attributes, file_attributes::ARCHIVE);
        assert_eq!(hello.file_id, 0x98c033);
        assert_eq!(hello.short_name, "");
        // Create: Nov 22, 2026 09:10:38.3717487 UTC; Last Write: …38.3726297 UTC.
        assert_eq!(hello.creation_time, FileTime(0x01dd_7a61_5729_346f));
        assert_eq!(hello.last_write_time.0 - hello.creation_time.0, 8_810);
        assert!(entries[..3]
            .iter()
            .all(|e| e.file_attributes == file_attributes::DIRECTORY));
        assert_eq!(entries[1].file_id, 0x98c0c1);
        // Re-encoding yields the server's bytes, padding included.
        let mut buf = Vec::new();
        FileIdBothDirectoryInformation::encode_list(&entries, &mut buf);
        assert_eq!(buf, resp.buffer);
        assert_eq!(body(&with_header(|o| resp.encode(o))), body(&msg));
    }

    #[test]
    fn decoders_survive_malformed_input() {
        let parse = |m: &Bytes| {
            QueryDirectoryResponse::decode(m)
                .and_then(|r| FileIdBothDirectoryInformation::parse_all(&r.buffer))
        };
        assert_robust(&hex(QD_RESP), parse);
        assert_robust(&hex(QD_REQ), QueryDirectoryRequest::decode);
    }
}
