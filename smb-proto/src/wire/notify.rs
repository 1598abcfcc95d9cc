//! CHANGE_NOTIFY request and response, MS-SMB2 2.2.35 / 2.2.36, and the
//! FILE_NOTIFY_INFORMATION entries of its output (MS-FSCC 2.4.42).

use bytes::Bytes;

use super::codec::{self, DecodeError, Reader};
use super::create::FileId;
use super::fscc::{encode_chain, EntryChain};
use super::header::HEADER_LEN;
use super::query_info::{decode_output_buffer, encode_output_buffer};

/// Flags, MS-SMB2 2.2.35.
pub mod flags {
    /// SMB2_WATCH_TREE: watch the whole subtree, not just the directory.
    pub const WATCH_TREE: u16 = 0x0001;
}

/// CompletionFilter bits, MS-SMB2 2.2.35.
pub mod completion_filter {
    /// FILE_NOTIFY_CHANGE_FILE_NAME.
    pub const FILE_NAME: u32 = 0x0000_0001;
    /// FILE_NOTIFY_CHANGE_DIR_NAME.
    pub const DIR_NAME: u32 = 0x0000_0002;
    /// FILE_NOTIFY_CHANGE_ATTRIBUTES.
    pub const ATTRIBUTES: u32 = 0x0000_0004;
    /// FILE_NOTIFY_CHANGE_SIZE.
    pub const SIZE: u32 = 0x0000_0008;
    /// FILE_NOTIFY_CHANGE_LAST_WRITE.
    pub const LAST_WRITE: u32 = 0x0000_0010;
    /// FILE_NOTIFY_CHANGE_LAST_ACCESS.
    pub const LAST_ACCESS: u32 = 0x0000_0020;
    /// FILE_NOTIFY_CHANGE_CREATION.
    pub const CREATION: u32 = 0x0000_0040;
    /// FILE_NOTIFY_CHANGE_EA.
    pub const EA: u32 = 0x0000_0080;
    /// FILE_NOTIFY_CHANGE_SECURITY.
    pub const SECURITY: u32 = 0x0000_0100;
    /// FILE_NOTIFY_CHANGE_STREAM_NAME.
    pub const STREAM_NAME: u32 = 0x0000_0200;
    /// FILE_NOTIFY_CHANGE_STREAM_SIZE.
    pub const STREAM_SIZE: u32 = 0x0000_0400;
    /// FILE_NOTIFY_CHANGE_STREAM_WRITE.
    pub const STREAM_WRITE: u32 = 0x0000_0800;
}

/// FILE_NOTIFY_INFORMATION Action values, MS-FSCC 2.4.42.
pub mod action {
    /// FILE_ACTION_ADDED.
    pub const ADDED: u32 = 0x0000_0001;
    /// FILE_ACTION_REMOVED.
    pub const REMOVED: u32 = 0x0000_0002;
    /// FILE_ACTION_MODIFIED.
    pub const MODIFIED: u32 = 0x0000_0003;
    /// FILE_ACTION_RENAMED_OLD_NAME.
    pub const RENAMED_OLD_NAME: u32 = 0x0000_0004;
    /// FILE_ACTION_RENAMED_NEW_NAME.
    pub const RENAMED_NEW_NAME: u32 = 0x0000_0005;
    /// FILE_ACTION_ADDED_STREAM.
    pub const ADDED_STREAM: u32 = 0x0000_0006;
    /// FILE_ACTION_REMOVED_STREAM.
    pub const REMOVED_STREAM: u32 = 0x0000_0007;
    /// FILE_ACTION_MODIFIED_STREAM.
    pub const MODIFIED_STREAM: u32 = 0x0000_0008;
    /// FILE_ACTION_REMOVED_BY_DELETE.
    pub const REMOVED_BY_DELETE: u32 = 0x0000_0009;
    /// FILE_ACTION_ID_NOT_TUNNELLED.
    pub const ID_NOT_TUNNELLED: u32 = 0x0000_000A;
    /// FILE_ACTION_TUNNELLED_ID_COLLISION.
    pub const TUNNELLED_ID_COLLISION: u32 = 0x0000_000B;
}

/// SMB2 CHANGE_NOTIFY Request, MS-SMB2 2.2.35.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeNotifyRequest {
    /// Flags, see [`flags`].
    pub flags: u16,
    /// OutputBufferLength: the most the server may return.
    pub output_buffer_length: u32,
    /// The directory open watched.
    pub file_id: FileId,
    /// CompletionFilter, see [`completion_filter`].
    pub completion_filter: u32,
}

impl ChangeNotifyRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 32;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.output_buffer_length.to_le_bytes());
        self.file_id.encode(out);
        out.extend_from_slice(&self.completion_filter.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "change notify request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "change notify request structure size")?;
        Ok(ChangeNotifyRequest {
            flags: r.u16("flags")?,
            output_buffer_length: r.u32("output buffer length")?,
            file_id: FileId::decode(&mut r)?,
            completion_filter: r.u32("completion filter")?,
        })
    }
}

/// One FILE_NOTIFY_INFORMATION entry, MS-FSCC 2.4.42.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileNotifyInformation {
    /// Action, see [`action`].
    pub action: u32,
    /// FileName, relative to the watched directory.
    pub file_name: String,
}

impl FileNotifyInformation {
    /// NextEntryOffset, Action, FileNameLength.
    const FIXED_LEN: usize = 12;

    /// Decodes every entry of a CHANGE_NOTIFY output buffer.
    pub fn parse_all(buf: &[u8]) -> Result<Vec<Self>, DecodeError> {
        EntryChain::new(buf, Self::FIXED_LEN, "FILE_NOTIFY_INFORMATION")
            .map(|e| {
                let (_, entry) = e?;
                let mut r = Reader::new(entry);
                r.skip(4, "next entry offset")?;
                let action = r.u32("action")?;
                let len = r.u32("file name length")? as usize;
                Ok(FileNotifyInformation {
                    action,
                    file_name: codec::utf16le(r.bytes(len, "file name")?, "file name")?,
                })
            })
            .collect()
    }

    /// Appends `entries` as a CHANGE_NOTIFY output buffer, each 4-byte aligned as
    /// MS-FSCC requires (for a scripted server).
    pub fn encode_list(entries: &[Self], out: &mut Vec<u8>) {
        encode_chain(entries, 4, out, |e, out| {
            let name = codec::to_utf16le(&e.file_name);
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&e.action.to_le_bytes());
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(&name);
        });
    }
}

/// SMB2 CHANGE_NOTIFY Response, MS-SMB2 2.2.36, with its entries decoded. An empty list
/// with STATUS_NOTIFY_ENUM_DIR means "too many changes, re-read the directory".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeNotifyResponse {
    /// The changes reported.
    pub changes: Vec<FileNotifyInformation>,
}

impl ChangeNotifyResponse {
    /// Decodes a response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let buf = decode_output_buffer(msg, "change notify response")?;
        Ok(ChangeNotifyResponse {
            changes: FileNotifyInformation::parse_all(&buf)?,
        })
    }

    /// Appends the body after an already-written header (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut buf = Vec::new();
        FileNotifyInformation::encode_list(&self.changes, &mut buf);
        encode_output_buffer(&buf, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::test_util::{assert_robust, hex, with_header};

    /// A CHANGE_NOTIFY response body listing a rename of `a` to `bb`, assembled by hand
    /// per 2.2.36 and MS-FSCC 2.4.42: entries 4-byte aligned, NextEntryOffset 0 at the end.
    const NOTIFY_RESP: &str = "0900 4800 20000000 \
                               10000000 04000000 02000000 6100 0000 \
                               00000000 05000000 04000000 62006200";

    #[test]
    fn response_lists_changes() {
        let msg = with_header(|o| o.extend_from_slice(&hex(NOTIFY_RESP)));
        let resp = ChangeNotifyResponse::decode(&msg).unwrap();
        assert_eq!(
            resp.changes,
            [
                FileNotifyInformation {
                    action: action::RENAMED_OLD_NAME,
                    file_name: "a".into()
                },
                FileNotifyInformation {
                    action: action::RENAMED_NEW_NAME,
                    file_name: "bb".into()
                },
            ]
        );
        assert_eq!(with_header(|o| resp.encode(o)), msg);
    }

    #[test]
    fn request_round_trips() {
        let req = ChangeNotifyRequest {
            flags: flags::WATCH_TREE,
            output_buffer_length: 4096,
            file_id: FileId::ANY,
            completion_filter: completion_filter::FILE_NAME | completion_filter::DIR_NAME,
        };
        let msg = with_header(|o| req.encode(o));
        assert_eq!(msg.len(), HEADER_LEN + 32);
        assert_eq!(ChangeNotifyRequest::decode(&msg), Ok(req));
    }

    #[test]
    fn looping_or_overrunning_entries_are_errors() {
        let mut m = with_header(|o| o.extend_from_slice(&hex(NOTIFY_RESP))).to_vec();
        m[HEADER_LEN + 8] = 0x04; // NextEntryOffset 4: back inside the first entry
        assert!(ChangeNotifyResponse::decode(&m.clone().into()).is_err());
        m[HEADER_LEN + 8] = 0x20; // NextEntryOffset 32: the end of the buffer, no entry there
        assert!(ChangeNotifyResponse::decode(&m.clone().into()).is_err());
        m[HEADER_LEN + 8] = 0x10;
        m[HEADER_LEN + 16] = 0x20; // FileNameLength 32 overruns the entry
        assert!(ChangeNotifyResponse::decode(&m.into()).is_err());
        let msg = with_header(|o| o.extend_from_slice(&hex(NOTIFY_RESP)));
        assert_robust(&msg, ChangeNotifyResponse::decode);
    }
}
