//! TRANSACTION2 subcommands (MS-CIFS 2.2.6): FIND_FIRST2 / FIND_NEXT2 at
//! SMB_FIND_FILE_BOTH_DIRECTORY_INFO, QUERY_PATH_INFORMATION at SMB_QUERY_FILE_ALL_INFO,
//! and SMB_COM_FIND_CLOSE2 (MS-CIFS 2.2.4.48), which ends a search.
//!
//! Requests are built as a [`TransRequest`]; answers are decoded from a whole
//! [`TransResponse`](super::trans::TransResponse)'s parameters and data.

use bytes::Bytes;

use super::trans::TransRequest;
use super::{Blocks, Parsed};
use crate::wire::codec::{put_utf16le, DecodeError, Reader};
use crate::wire::fscc::{self, FileIdBothDirectoryInformation, FileTime};

/// TRANSACTION2 subcommand codes (the first setup word, MS-CIFS 2.2.6).
pub mod subcommand {
    /// TRANS2_FIND_FIRST2.
    pub const FIND_FIRST2: u16 = 0x0001;
    /// TRANS2_FIND_NEXT2.
    pub const FIND_NEXT2: u16 = 0x0002;
    /// TRANS2_QUERY_FS_INFORMATION.
    pub const QUERY_FS_INFORMATION: u16 = 0x0003;
    /// TRANS2_QUERY_PATH_INFORMATION.
    pub const QUERY_PATH_INFORMATION: u16 = 0x0005;
    /// TRANS2_SET_PATH_INFORMATION.
    pub const SET_PATH_INFORMATION: u16 = 0x0006;
    /// TRANS2_QUERY_FILE_INFORMATION.
    pub const QUERY_FILE_INFORMATION: u16 = 0x0007;
    /// TRANS2_SET_FILE_INFORMATION.
    pub const SET_FILE_INFORMATION: u16 = 0x0008;
}

/// Information levels (MS-CIFS 2.2.8.1, 2.2.8.3).
pub mod level {
    /// The first pass-through level (MS-SMB 2.2.2.3.5): level 1000 + an MS-FSCC
    /// FileInformationClass asks for that class, in its MS-FSCC layout.
    pub const PASS_THROUGH: u16 = 1000;
    /// SMB_FIND_FILE_BOTH_DIRECTORY_INFO (= MS-FSCC FileBothDirectoryInformation).
    pub const FIND_FILE_BOTH_DIRECTORY_INFO: u16 = 0x0104;
    /// SMB_QUERY_FILE_ALL_INFO.
    pub const QUERY_FILE_ALL_INFO: u16 = 0x0107;
    /// SMB_SET_FILE_BASIC_INFO (MS-CIFS 2.2.8.4.1): MS-FSCC FileBasicInformation, 40 bytes.
    pub const SET_FILE_BASIC_INFO: u16 = 0x0101;
    /// SMB_FILE_END_OF_FILE_INFORMATION, the pass-through level 1000 +
    /// FileEndOfFileInformation (MS-SMB 2.2.2.3.5): the new size, 8 bytes. Samba 4.17
    /// refuses the native SMB_SET_FILE_END_OF_FILE_INFO (0x0104) by path with
    /// STATUS_INVALID_LEVEL and takes this one, even without CAP_INFOLEVEL_PASSTHRU
    /// (measured).
    pub const FILE_END_OF_FILE_INFORMATION: u16 = 1020;
    /// SMB_FILE_RENAME_INFORMATION, the pass-through level 1000 + FileRenameInformation
    /// in its 32-bit layout: ReplaceIfExists(1), pad(3), RootDirectory(4),
    /// FileNameLength(4), FileName — a new name in the same directory (Samba's
    /// `smb_file_rename_information`).
    pub const FILE_RENAME_INFORMATION: u16 = 1010;
}

/// The data of a [`level::FILE_RENAME_INFORMATION`] SET_PATH_INFORMATION: rename to
/// `new_name` (one component, in the same directory), replacing what has that name when
/// `replace`.
pub fn rename_information(new_name: &str, replace: bool) -> Vec<u8> {
    let name = crate::wire::codec::to_utf16le(new_name);
    let mut d = vec![u8::from(replace), 0, 0, 0];
    d.extend_from_slice(&0u32.to_le_bytes()); // RootDirectory
    d.extend_from_slice(&(name.len() as u32).to_le_bytes());
    d.extend_from_slice(&name);
    d
}

/// FIND_FIRST2 / FIND_NEXT2 Flags (MS-CIFS 2.2.6.2.1).
pub mod find_flags {
    /// SMB_FIND_CLOSE_AT_EOS: the server ends the search after its last entry.
    pub const CLOSE_AT_EOS: u16 = 0x0002;
    /// SMB_FIND_RETURN_RESUME_KEYS.
    pub const RETURN_RESUME_KEYS: u16 = 0x0004;
    /// SMB_FIND_CONTINUE_FROM_LAST: not used (the last name says where to go on).
    pub const CONTINUE_FROM_LAST: u16 = 0x0008;
}

/// SearchAttributes of a search: hidden, system and directories too (MS-CIFS 2.2.1.2.4).
pub const SEARCH_ALL: u16 = 0x0016;
/// Entries a FIND asks for at most (smbclient's count, "match W2k").
pub const SEARCH_COUNT: u16 = 1366;
/// MaxDataCount of a FIND or QUERY_PATH_INFORMATION.
pub const MAX_DATA: u16 = 0xFFFF;

/// TRANS2_FIND_FIRST2 request (MS-CIFS 2.2.6.2.1) for `pattern` (`dir\*`), at
/// SMB_FIND_FILE_BOTH_DIRECTORY_INFO, resume keys asked for and the search closed at
/// its end (smbclient's flags).
pub fn find_first2(pattern: &str) -> TransRequest {
    let mut p = Vec::new();
    p.extend_from_slice(&SEARCH_ALL.to_le_bytes());
    p.extend_from_slice(&SEARCH_COUNT.to_le_bytes());
    p.extend_from_slice(&(find_flags::CLOSE_AT_EOS | find_flags::RETURN_RESUME_KEYS).to_le_bytes());
    p.extend_from_slice(&level::FIND_FILE_BOTH_DIRECTORY_INFO.to_le_bytes());
    p.extend_from_slice(&0u32.to_le_bytes()); // SearchStorageType
    put_utf16z(&mut p, pattern);
    TransRequest::trans2(subcommand::FIND_FIRST2, p, 10, MAX_DATA)
}

/// TRANS2_FIND_NEXT2 request (MS-CIFS 2.2.6.3.1) going on after `last_name` (the last
/// entry the previous answer returned) — without SMB_FIND_CONTINUE_FROM_LAST, which
/// makes Windows servers skip names (smbclient's comment in `cli_list_trans`).
pub fn find_next2(sid: u16, last_name: &str) -> TransRequest {
    let mut p = Vec::new();
    p.extend_from_slice(&sid.to_le_bytes());
    p.extend_from_slice(&SEARCH_COUNT.to_le_bytes());
    p.extend_from_slice(&level::FIND_FILE_BOTH_DIRECTORY_INFO.to_le_bytes());
    p.extend_from_slice(&0u32.to_le_bytes()); // ResumeKey (FileIndex: 0 from Samba)
    p.extend_from_slice(&(find_flags::CLOSE_AT_EOS | find_flags::RETURN_RESUME_KEYS).to_le_bytes());
    put_utf16z(&mut p, last_name);
    TransRequest::trans2(subcommand::FIND_NEXT2, p, 8, MAX_DATA)
}

/// TRANS2_QUERY_PATH_INFORMATION request (MS-CIFS 2.2.6.6.1) at `level` for `path`
/// (empty: the share's root).
pub fn query_path_info(path: &str, level: u16) -> TransRequest {
    let mut p = Vec::new();
    p.extend_from_slice(&level.to_le_bytes());
    p.extend_from_slice(&0u32.to_le_bytes()); // Reserved
    put_utf16z(&mut p, path);
    TransRequest::trans2(subcommand::QUERY_PATH_INFORMATION, p, 2, MAX_DATA)
}

/// TRANS2_SET_PATH_INFORMATION request (MS-CIFS 2.2.6.7.1): `data` at `level` for
/// `path`.
pub fn set_path_info(path: &str, level: u16, data: Vec<u8>) -> TransRequest {
    let mut p = Vec::new();
    p.extend_from_slice(&level.to_le_bytes());
    p.extend_from_slice(&0u32.to_le_bytes()); // Reserved
    put_utf16z(&mut p, path);
    let mut req = TransRequest::trans2(subcommand::SET_PATH_INFORMATION, p, 2, 0);
    req.data = data.into();
    req
}

/// Appends UTF-16LE and a NUL. Every name here starts at an even offset of 4-aligned
/// parameters, so it is aligned from the header as MS-CIFS 2.2.3.3 asks.
fn put_utf16z(out: &mut Vec<u8>, s: &str) {
    put_utf16le(out, s);
    out.extend_from_slice(&[0, 0]);
}

/// What a FIND_FIRST2 or FIND_NEXT2 answer's parameters say, and its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindResponse {
    /// SID: the search, for FIND_NEXT2 and FIND_CLOSE2 (FIND_FIRST2 only; 0 for NEXT).
    pub sid: u16,
    /// EndOfSearch: no entries follow (and with CLOSE_AT_EOS the search is closed).
    pub end_of_search: bool,
    /// The entries, in the server's order.
    pub entries: Vec<FileIdBothDirectoryInformation>,
}

impl FindResponse {
    /// Decodes a FIND_FIRST2 (`first`) or FIND_NEXT2 answer from its parameters and
    /// data: SearchCount entries of SMB_FIND_FILE_BOTH_DIRECTORY_INFO, no more.
    pub fn decode(first: bool, params: &[u8], data: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(params);
        let sid = if first { r.u16("search id")? } else { 0 };
        let count = usize::from(r.u16("search count")?);
        let end_of_search = r.u16("end of search")? != 0;
        let entries = fscc::FileBothDirectoryInformation::parse_all(data)?;
        if entries.len() != count {
            return Err(DecodeError::invalid("search count", count as u64));
        }
        Ok(FindResponse {
            sid,
            end_of_search,
            entries,
        })
    }
}

/// SMB_QUERY_FILE_ALL_INFO (MS-CIFS 2.2.8.3.8): a path's times, attributes and sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryFileAllInfo {
    /// CreationTime.
    pub creation_time: FileTime,
    /// LastAccessTime.
    pub last_access_time: FileTime,
    /// LastWriteTime.
    pub last_write_time: FileTime,
    /// LastChangeTime.
    pub change_time: FileTime,
    /// ExtFileAttributes (MS-FSCC 2.6 values).
    pub attributes: u32,
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndOfFile.
    pub end_of_file: u64,
    /// NumberOfLinks.
    pub links: u32,
    /// DeletePending.
    pub delete_pending: bool,
    /// Directory.
    pub directory: bool,
}

impl QueryFileAllInfo {
    /// Decodes the answer's data (the FileName after the fixed part is not needed).
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(data);
        let creation_time = FileTime::read(&mut r, "creation time")?;
        let last_access_time = FileTime::read(&mut r, "last access time")?;
        let last_write_time = FileTime::read(&mut r, "last write time")?;
        let change_time = FileTime::read(&mut r, "change time")?;
        let attributes = r.u32("ext file attributes")?;
        r.skip(4, "reserved")?;
        let allocation_size = r.u64("allocation size")?;
        let end_of_file = r.u64("end of file")?;
        let links = r.u32("number of links")?;
        let delete_pending = r.u8("delete pending")? != 0;
        let directory = r.u8("directory")? != 0;
        Ok(QueryFileAllInfo {
            creation_time,
            last_access_time,
            last_write_time,
            change_time,
            attributes,
            allocation_size,
            end_of_file,
            links,
            delete_pending,
            directory,
        })
    }
}

/// SMB_COM_FIND_CLOSE2 request: ends search `sid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindClose2Request {
    /// The search.
    pub sid: u16,
}

impl FindClose2Request {
    /// Appends the blocks after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        Blocks::default().words(&self.sid.to_le_bytes()).finish(out);
    }
}

/// Checks a reply with no words (FIND_CLOSE2, the path commands): WordCount 0.
pub fn decode_empty(msg: &Bytes) -> Result<(), DecodeError> {
    Parsed::new(msg)?.words(&[0], "word count").map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb1::test_util::encoded;

    #[test]
    fn find_requests_carry_smbclients_parameters() {
        let r = find_first2("dir\\*");
        assert_eq!(r.setup, [1]);
        assert_eq!(
            &r.params[..12],
            &[0x16, 0, 0x56, 0x05, 0x06, 0, 0x04, 0x01, 0, 0, 0, 0]
        );
        assert!(r.params.ends_with(&[b'*', 0, 0, 0]));
        let r = find_next2(0x1234, "a");
        assert_eq!(r.setup, [2]);
        assert_eq!(
            &r.params[..],
            &[0x34, 0x12, 0x56, 0x05, 0x04, 0x01, 0, 0, 0, 0, 0x06, 0, b'a', 0, 0, 0]
        );
        let r = query_path_info("", level::QUERY_FILE_ALL_INFO);
        assert_eq!(&r.params[..], &[0x07, 0x01, 0, 0, 0, 0, 0, 0]);
        let r = set_path_info("a", level::FILE_END_OF_FILE_INFORMATION, vec![5; 8]);
        assert_eq!((r.setup[0], r.max_params, r.max_data), (6, 2, 0));
        assert_eq!(&r.params[..], &[0xFC, 0x03, 0, 0, 0, 0, b'a', 0, 0, 0]);
        assert_eq!(&r.data[..], &[5; 8]);
        assert_eq!(
            rename_information("b", true),
            [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, b'b', 0]
        );
        assert_eq!(
            &encoded(|o| FindClose2Request { sid: 7 }.encode(o))[32..],
            &[1, 7, 0, 0, 0]
        );
    }

    #[test]
    fn find_answers_decode_their_entries() {
        let e = FileIdBothDirectoryInformation {
            file_name: "a.txt".into(),
            end_of_file: 5,
            ..Default::default()
        };
        let mut data = Vec::new();
        fscc::FileBothDirectoryInformation::encode_list(&[e.clone(), e.clone()], &mut data);
        let params = [9, 0, 2, 0, 1, 0, 0, 0, 0, 0];
        let f = FindResponse::decode(true, &params, &data).unwrap();
        assert_eq!((f.sid, f.end_of_search, f.entries.len()), (9, true, 2));
        assert_eq!(f.entries[1], e);
        // SearchCount must say what the data holds.
        assert!(FindResponse::decode(true, &[9, 0, 3, 0, 1, 0, 0, 0, 0, 0], &data).is_err());
        let f = FindResponse::decode(false, &params[2..], &data).unwrap();
        assert_eq!((f.sid, f.entries.len()), (0, 2));
        assert!(FindResponse::decode(true, &params[..4], &data).is_err());
    }

    #[test]
    fn all_info_decodes_at_ms_cifs_offsets() {
        let mut d = vec![0u8; 72];
        d[0] = 1; // creation time
        d[32] = 0x10; // attributes: directory
        d[40] = 0x00;
        d[41] = 0x10; // allocation 4096
        d[48] = 42; // end of file
        d[56] = 2; // links
        d[61] = 1; // directory
        let i = QueryFileAllInfo::decode(&d).unwrap();
        assert_eq!(i.creation_time, FileTime(1));
        assert_eq!(
            (i.attributes, i.allocation_size, i.end_of_file),
            (0x10, 4096, 42)
        );
        assert_eq!((i.links, i.delete_pending, i.directory), (2, false, true));
        for n in 0..62 {
            assert!(QueryFileAllInfo::decode(&d[..n]).is_err(), "{n}");
        }
    }
}
