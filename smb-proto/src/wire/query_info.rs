//! QUERY_INFO request and response, MS-SMB2 2.2.37 / 2.2.38. The response layout
//! (StructureSize 9, OutputBufferOffset, OutputBufferLength) is shared with
//! QUERY_DIRECTORY and CHANGE_NOTIFY, which reuse `decode_output_buffer`.

use bytes::Bytes;

use super::codec::{DecodeError, Reader};
use super::create::{variable_buffer, FileId};
use super::header::HEADER_LEN;

/// InfoType, MS-SMB2 2.2.37.
pub mod info_type {
    /// SMB2_0_INFO_FILE: classes of [`super::super::fscc::class`].
    pub const FILE: u8 = 0x01;
    /// SMB2_0_INFO_FILESYSTEM: classes of [`super::super::fscc::fs_class`].
    pub const FILESYSTEM: u8 = 0x02;
    /// SMB2_0_INFO_SECURITY: a security descriptor, parts chosen by AdditionalInformation.
    pub const SECURITY: u8 = 0x03;
    /// SMB2_0_INFO_QUOTA.
    pub const QUOTA: u8 = 0x04;
}

/// AdditionalInformation bits for `info_type::SECURITY`, MS-SMB2 2.2.37.
pub mod additional_information {
    /// OWNER_SECURITY_INFORMATION.
    pub const OWNER: u32 = 0x0000_0001;
    /// GROUP_SECURITY_INFORMATION.
    pub const GROUP: u32 = 0x0000_0002;
    /// DACL_SECURITY_INFORMATION.
    pub const DACL: u32 = 0x0000_0004;
    /// SACL_SECURITY_INFORMATION.
    pub const SACL: u32 = 0x0000_0008;
    /// LABEL_SECURITY_INFORMATION.
    pub const LABEL: u32 = 0x0000_0010;
    /// ATTRIBUTE_SECURITY_INFORMATION.
    pub const ATTRIBUTE: u32 = 0x0000_0020;
    /// SCOPE_SECURITY_INFORMATION.
    pub const SCOPE: u32 = 0x0000_0040;
    /// BACKUP_SECURITY_INFORMATION.
    pub const BACKUP: u32 = 0x0001_0000;
}

/// Flags (quota and EA queries), MS-SMB2 2.2.37.
pub mod flags {
    /// SL_RESTART_SCAN.
    pub const RESTART_SCAN: u32 = 0x0000_0001;
    /// SL_RETURN_SINGLE_ENTRY.
    pub const RETURN_SINGLE_ENTRY: u32 = 0x0000_0002;
    /// SL_INDEX_SPECIFIED.
    pub const INDEX_SPECIFIED: u32 = 0x0000_0004;
}

/// SMB2 QUERY_INFO Request, MS-SMB2 2.2.37.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryInfoRequest {
    /// InfoType, see [`info_type`].
    pub info_type: u8,
    /// FileInfoClass (0 for security queries).
    pub file_info_class: u8,
    /// OutputBufferLength: the most the server may return.
    pub output_buffer_length: u32,
    /// AdditionalInformation, see [`additional_information`].
    pub additional_information: u32,
    /// Flags, see [`flags`].
    pub flags: u32,
    /// Input buffer (quota and full-EA queries only).
    pub input_buffer: Bytes,
    /// The open queried.
    pub file_id: FileId,
}

impl QueryInfoRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 41;
    /// Header + fixed part: where the input buffer goes.
    const BUFFER_OFFSET: usize = HEADER_LEN + 40;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let offset = if self.input_buffer.is_empty() {
            0
        } else {
            Self::BUFFER_OFFSET as u16
        };
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.push(self.info_type);
        out.push(self.file_info_class);
        out.extend_from_slice(&self.output_buffer_length.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(self.input_buffer.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.additional_information.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        self.file_id.encode(out);
        if self.input_buffer.is_empty() {
            // The variable part is never empty on the wire (StructureSize counts a byte).
            out.push(0);
        } else {
            out.extend_from_slice(&self.input_buffer);
        }
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "query info request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "query info request structure size")?;
        let info_type = r.u8("info type")?;
        let file_info_class = r.u8("file info class")?;
        let output_buffer_length = r.u32("output buffer length")?;
        let input_offset = r.u16("input buffer offset")?;
        r.skip(2, "reserved")?;
        let input_length = r.u32("input buffer length")?;
        let additional_information = r.u32("additional information")?;
        let flags = r.u32("flags")?;
        let file_id = FileId::decode(&mut r)?;
        let input = variable_buffer(
            msg,
            input_offset.into(),
            input_length as usize,
            Self::BUFFER_OFFSET,
            "query info input buffer",
        )?;
        Ok(QueryInfoRequest {
            info_type,
            file_info_class,
            output_buffer_length,
            additional_information,
            flags,
            input_buffer: input,
            file_id,
        })
    }
}

/// SMB2 QUERY_INFO Response, MS-SMB2 2.2.38.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryInfoResponse {
    /// The information requested, to decode with the matching [`super::fscc`] type.
    pub buffer: Bytes,
}

impl QueryInfoResponse {
    /// Decodes a response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        Ok(QueryInfoResponse {
            buffer: decode_output_buffer(msg, "query info response")?,
        })
    }

    /// Appends the body after an already-written header (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_output_buffer(&self.buffer, out);
    }
}

/// StructureSize of the QUERY_INFO, QUERY_DIRECTORY and CHANGE_NOTIFY responses.
const OUTPUT_STRUCTURE_SIZE: u16 = 9;
/// Header + their fixed part.
const OUTPUT_BUFFER_OFFSET: usize = HEADER_LEN + 8;

/// The output buffer of a QUERY_INFO (2.2.38), QUERY_DIRECTORY (2.2.34) or
/// CHANGE_NOTIFY (2.2.36) response: StructureSize 9, a u16 offset, a u32 length.
pub(crate) fn decode_output_buffer(msg: &Bytes, what: &'static str) -> Result<Bytes, DecodeError> {
    let mut r = Reader::at(msg, HEADER_LEN, what)?;
    r.structure_size(OUTPUT_STRUCTURE_SIZE, what)?;
    let offset = r.u16("output buffer offset")?;
    let length = r.u32("output buffer length")?;
    variable_buffer(
        msg,
        offset.into(),
        length as usize,
        OUTPUT_BUFFER_OFFSET,
        "output buffer",
    )
}

/// Encodes the body shared by the QUERY_INFO, QUERY_DIRECTORY and CHANGE_NOTIFY responses.
pub(crate) fn encode_output_buffer(buf: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&OUTPUT_STRUCTURE_SIZE.to_le_bytes());
    out.extend_from_slice(&(OUTPUT_BUFFER_OFFSET as u16).to_le_bytes());
    out.extend_from_slice(&(buf.len() as u32).to_le_bytes());
    if buf.is_empty() {
        out.push(0);
    } else {
        out.extend_from_slice(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fscc::{
        fs_class, FileAllInformation, FileFsSizeInformation, FileNameInformation,
        FileStreamInformation, FileTime,
    };
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};

    /// smb311_default.pcapng frame 57: QUERY_INFO FileFsSizeInformation (2.2.37).
    const QI_REQ_FS_SIZE: &str =
        "fe534d4240000100000000001000010010000000000000001601000000000000000000001f5981431d720b7c\
        000000000000000000000000000000000000000029000203ffff000000000000000000000000000000000000\
        2adfe255000000009adcec560000000000";
    /// smb311_default.pcapng frame 58: its response (2.2.38, MS-FSCC 2.5.8).
    const QI_RESP_FS_SIZE: &str =
        "fe534d4240000100000000001000010011000000000000001601000000000000000000001f5981431d720b7c\
        00000000000000000000000000000000000000000900480018000000748ebf0f000000003ca9e70400000000\
        0200000000020000";
    /// smb311_default.pcapng frame 84: FileAllInformation of `dir1\payload.bin`
    /// (MS-FSCC 2.4.2).
    const QI_RESP_ALL: &str =
        "fe534d4240000100000000001000010011000000000000002102000000000000000000001f5981431d720b7c\
        00000000000000000000000000000000000000000900480086000000b1642957617add01b1642957617add01\
        7f9d2957617add017f9d2957617add01200000000000000000a0040000000000e09304000000000001000000\
        000000002c20990000000000000000008000000000000000000000002000000000000000220000005c006400\
        6900720031005c007000610079006c006f00610064002e00620069006e00";
    /// smb311_default.pcapng frame 78: FileAlternateNameInformation of the same file.
    const QI_RESP_ALT_NAME: &str =
        "fe534d4240000100000000001000010011000000000000001e02000000000000000000001f5981431d720b7c\
        0000000000000000000000000000000000000000090048001a000000160000007000610079006c006f006100\
        64002e00620069006e00";
    /// smb311_default.pcapng frame 90: FileStreamInformation of the same file.
    const QI_RESP_STREAMS: &str =
        "fe534d4240000100000000001000010011000000000000002402000000000000000000001f5981431d720b7c\
        00000000000000000000000000000000000000000900480026000000000000000e000000e093040000000000\
        00a00400000000003a003a0024004400410054004100";

    #[test]
    fn request_decodes_and_re_encodes_byte_for_byte() {
        let msg = hex(QI_REQ_FS_SIZE);
        let req = QueryInfoRequest::decode(&msg).unwrap();
        assert_eq!(req.info_type, info_type::FILESYSTEM);
        assert_eq!(req.file_info_class, fs_class::FILE_FS_SIZE_INFORMATION);
        assert_eq!(req.output_buffer_length, 0xffff);
        assert_eq!((req.additional_information, req.flags), (0, 0));
        assert!(req.input_buffer.is_empty());
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    #[test]
    fn fs_size_information() {
        let msg = hex(QI_RESP_FS_SIZE);
        let resp = QueryInfoResponse::decode(&msg).unwrap();
        let fs = FileFsSizeInformation::decode(&resp.buffer).unwrap();
        assert_eq!(fs.total_allocation_units, 264_212_084);
        assert_eq!(fs.available_allocation_units, 82_291_004);
        assert_eq!(fs.sectors_per_allocation_unit, 2);
        assert_eq!(fs.bytes_per_sector, 512);
        assert_eq!(body(&with_header(|o| resp.encode(o))), body(&msg));
    }

    #[test]
    fn all_information() {
        let resp = QueryInfoResponse::decode(&hex(QI_RESP_ALL)).unwrap();
        assert_eq!(resp.buffer.len(), 134);
        let all = FileAllInformation::decode(&resp.buffer).unwrap();
        assert_eq!(all.file_name, r"\dir1\payload.bin");
        assert_eq!(all.basic.file_attributes, 0x20);
        // Last Write: Nov 22, 2026 09:10:38.3744383 UTC.
        assert_eq!(all.basic.last_write_time, FileTime(0x01dd_7a61_5729_9d7f));
        assert_eq!(all.standard.end_of_file, 300_000);
        assert_eq!(all.standard.allocation_size, 303_104);
        assert_eq!(all.standard.number_of_links, 1);
        assert!(!all.standard.delete_pending && !all.standard.directory);
        assert_eq!(all.index_number, 0x99202c);
        assert_eq!(all.access_flags, 0x80);
        assert_eq!(all.mode, 0x20);
        assert_eq!(
            (
                all.ea_size,
                all.current_byte_offset,
                all.alignment_requirement
            ),
            (0, 0, 0)
        );
    }

    #[test]
    fn alternate_name_and_streams() {
        let resp = QueryInfoResponse::decode(&hex(QI_RESP_ALT_NAME)).unwrap();
        assert_eq!(
            FileNameInformation::decode(&resp.buffer).unwrap().file_name,
            "payload.bin"
        );
        let resp = QueryInfoResponse::decode(&hex(QI_RESP_STREAMS)).unwrap();
        let streams = FileStreamInformation::parse_all(&resp.buffer).unwrap();
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0].stream_name, "::$DATA");
        assert_eq!(streams[0].stream_size, 300_000);
        assert_eq!(streams[0].stream_allocation_size, 303_104);
    }

    #[test]
    fn decoders_survive_malformed_input() {
        let all = |m: &Bytes| {
            QueryInfoResponse::decode(m).and_then(|r| FileAllInformation::decode(&r.buffer))
        };
        assert_robust(&hex(QI_RESP_ALL), all);
        let streams = |m: &Bytes| {
            QueryInfoResponse::decode(m).and_then(|r| FileStreamInformation::parse_all(&r.buffer))
        };
        assert_robust(&hex(QI_RESP_STREAMS), streams);
        assert_robust(&hex(QI_REQ_FS_SIZE), QueryInfoRequest::decode);
    }
}
