//! Alternate data streams and extended attributes of a file or directory: listing its
//! streams (QUERY_INFO FileStreamInformation), reading its EAs (QUERY_INFO
//! FileFullEaInformation) and setting them (SET_INFO FileFullEaInformation).
//!
//! A stream itself is read and written like a file, by its path: `file.txt:name` (or
//! `file.txt:name:$DATA`) names stream `name` of `file.txt` (see the [path
//! rules](super::path)).
//!
//! EA names are ASCII, at most 255 bytes, compared case-insensitively. Windows servers
//! store and return them upper-cased; Samba keeps each EA as a `user.` extended
//! attribute of the file (`ea support = yes`) and returns its name as stored, case
//! preserved (tested against Samba 4.17); setting `NAME` after `name` replaces the one
//! EA's value rather than adding a second.
//!
//! On SMB1 the same calls are TRANS2 QUERY_PATH_INFORMATION at SMB_QUERY_FILE_STREAM_INFO
//! and SMB_INFO_QUERY_ALL_EAS, and SET_PATH_INFORMATION at SMB_INFO_SET_EAS (MS-CIFS
//! 2.2.8.3.10, 2.2.8.3.4, 2.2.8.4.2): one round trip each, by path.

use crate::connection::{Fail, OpContext, Operation, Progress, Response};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::create::{access_mask, disposition, FileId};
use crate::wire::fscc::{self, FileFullEaInformation, FileStreamInformation};
use crate::wire::query_info::flags;
use crate::wire::smb1::{ea, trans2, Smb1Request};
use crate::wire::DecodeError;

use super::file::{close, create};
use super::meta::{set_info, PathOp};
use super::{path, FileInfoClass, OpenOptions, PathInfo, QueryPathInfo};

/// The most a second QUERY_INFO asks for when the first (64 KiB) is too small: a file's
/// streams or EAs beyond this are refused with the server's status, not cut.
const MAX_ANSWER_LEN: u32 = 1024 * 1024;

/// One data stream of a file, from [`ListStreams`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamInfo {
    /// The stream's name without the leading `:` and the `:$DATA` type (`s1` for
    /// `:s1:$DATA`); empty for the unnamed (default) stream, `::$DATA`. A stream of
    /// another type keeps it (`name:$TYPE`).
    pub name: String,
    /// StreamSize: its length in bytes.
    pub size: u64,
    /// StreamAllocationSize.
    pub allocation_size: u64,
}

impl StreamInfo {
    /// Whether this is the file's unnamed stream (its ordinary contents).
    pub fn is_default(&self) -> bool {
        self.name.is_empty()
    }

    fn from_wire(s: FileStreamInformation) -> Self {
        let raw = s.stream_name.strip_prefix(':').unwrap_or(&s.stream_name);
        let name = match raw.len().checked_sub(":$DATA".len()) {
            Some(cut) if raw.is_char_boundary(cut) && raw[cut..].eq_ignore_ascii_case(":$DATA") => {
                &raw[..cut]
            }
            _ => raw,
        };
        StreamInfo {
            name: name.to_string(),
            size: s.stream_size,
            allocation_size: s.stream_allocation_size,
        }
    }
}

/// The data streams of a file or directory → name, size and allocation size of each,
/// in the server's order: CREATE (FILE_READ_ATTRIBUTES) + QUERY_INFO
/// (FileStreamInformation, MS-FSCC 2.4.44) + CLOSE in one compound ([`PathInfo`]).
/// A file lists its unnamed stream too ([`StreamInfo::is_default`]); a directory has
/// none unless one was written to it.
pub type ListStreams = PathInfo<Vec<StreamInfo>>;

impl FileInfoClass for Vec<StreamInfo> {
    const CLASS: u8 = fscc::class::FILE_STREAM_INFORMATION;

    fn decode_info(buffer: &[u8]) -> Result<Self, DecodeError> {
        let streams = FileStreamInformation::parse_all(buffer)?;
        Ok(streams.into_iter().map(StreamInfo::from_wire).collect())
    }

    fn query(q: QueryPathInfo) -> QueryPathInfo {
        q.labelled("list streams").max_len(MAX_ANSWER_LEN)
    }

    const SMB1_LEVEL: Option<u16> = Some(ea::level::QUERY_FILE_STREAM_INFO);
}

/// Every extended attribute of a file or directory → name, value and flags of each:
/// CREATE (FILE_READ_EA) + QUERY_INFO (FileFullEaInformation, MS-FSCC 2.4.15, with
/// SL_RESTART_SCAN) + CLOSE in one compound ([`PathInfo`]). No EA
/// (STATUS_NO_EAS_ON_FILE) is an empty list. A list larger than the buffer asked for
/// (STATUS_BUFFER_TOO_SMALL or STATUS_BUFFER_OVERFLOW) costs one more compound, asking
/// for the size the server names or up to 1 MiB.
pub type GetEas = PathInfo<Vec<FileFullEaInformation>>;

impl FileInfoClass for Vec<FileFullEaInformation> {
    const CLASS: u8 = fscc::class::FILE_FULL_EA_INFORMATION;

    fn decode_info(buffer: &[u8]) -> Result<Self, DecodeError> {
        FileFullEaInformation::parse_all(buffer)
    }

    fn query(q: QueryPathInfo) -> QueryPathInfo {
        q.labelled("get eas")
            .access(access_mask::FILE_READ_EA | access_mask::SYNCHRONIZE)
            .flags(flags::RESTART_SCAN)
            .empty_on(NtStatus::NO_EAS_ON_FILE)
            .max_len(MAX_ANSWER_LEN)
    }

    const SMB1_LEVEL: Option<u16> = Some(ea::level::QUERY_ALL_EAS);

    fn decode_smb1(data: &[u8]) -> Result<Self, DecodeError> {
        ea::decode_fea_list(data)
    }
}

/// Sets one or several extended attributes of a file or directory → nothing: CREATE
/// (FILE_WRITE_EA) + SET_INFO (FileFullEaInformation) + CLOSE in one compound. An
/// empty value removes the EA (removing one that is not there is no error); the others
/// are left as they are.
///
/// A name that is empty, not printable ASCII or longer than 255 bytes, or a value
/// longer than 65,535 bytes, is refused before anything is sent
/// ([`Error::Invalid`]).
#[derive(Debug)]
pub struct SetEas {
    op: PathOp,
    /// What [`FileFullEaInformation::problem`] found in the EAs given.
    problem: Option<String>,
}

impl SetEas {
    /// Sets each `(name, value)` of `eas` on `path` on `share`.
    pub fn new<N: AsRef<str>, V: AsRef<[u8]>>(share: &str, path: &str, eas: &[(N, V)]) -> Self {
        let eas: Vec<FileFullEaInformation> = eas
            .iter()
            .map(|(name, value)| FileFullEaInformation {
                flags: 0,
                name: name.as_ref().to_string(),
                value: value.as_ref().to_vec(),
            })
            .collect();
        let mut buffer = Vec::new();
        let problem = match FileFullEaInformation::encode_list(&eas, &mut buffer) {
            Ok(()) if eas.is_empty() => Some("no EA to set".to_string()),
            Ok(()) => None,
            Err((i, why)) => Some(format!("{why}: {:?}", eas[i].name)),
        };
        let o = OpenOptions {
            access: access_mask::FILE_WRITE_EA | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        let requests = vec![
            create(path, &o),
            set_info(fscc::class::FILE_FULL_EA_INFORMATION, buffer),
            close(FileId::ANY),
        ];
        let mut op = PathOp::new(share, "set eas", path, requests);
        // SMB1: TRANS2 SET_PATH_INFORMATION at SMB_INFO_SET_EAS, one round trip.
        if let Ok(list) = ea::encode_fea_list(&eas) {
            let req = trans2::set_path_info(&path::wire_name(path), ea::level::SET_EAS, list);
            op.smb1(Smb1Request::Trans(req));
        }
        SetEas { op, problem }
    }
}

impl Operation for SetEas {
    type Output = ();

    fn label(&self) -> (&'static str, &str) {
        (self.op.name, &self.op.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.op.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path(self.op.name, &self.op.path)?;
        match &self.problem {
            Some(why) => Err(Error::Invalid(why.clone())),
            None => Ok(()),
        }
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<()>, Fail> {
        self.op.start(cx)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<()>, Fail> {
        self.op.on_response(cx, tag, &resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(raw: &str) -> String {
        StreamInfo::from_wire(FileStreamInformation {
            stream_name: raw.to_string(),
            ..Default::default()
        })
        .name
    }

    #[test]
    fn stream_names_drop_the_colon_and_the_data_type() {
        assert_eq!(named("::$DATA"), "");
        assert_eq!(named(":s1:$DATA"), "s1");
        assert_eq!(named(":s1:$data"), "s1");
        assert_eq!(named(":caf\u{e9}:$DATA"), "caf\u{e9}");
        assert_eq!(named(":x:$INDEX_ALLOCATION"), "x:$INDEX_ALLOCATION");
        assert_eq!(named(""), "");
        assert_eq!(named(":\u{e9}"), "\u{e9}");
    }

    #[test]
    fn eas_a_client_cannot_send_are_refused_before_anything_is_sent() {
        assert!(SetEas::new("s", "f", &[("a", "1")]).check().is_ok());
        assert!(SetEas::new("s", "f", &[("a", "")]).check().is_ok());
        let none: [(&str, &str); 0] = [];
        for op in [
            SetEas::new("s", "f", &none),
            SetEas::new("s", "f", &[("", "1")]),
            SetEas::new("s", "f", &[("a", "1"), ("\u{e9}", "1")]),
            SetEas::new("s", "../f", &[("a", "1")]),
        ] {
            assert!(op.check().is_err(), "{op:?}");
        }
    }
}
