//! Metadata operations, each one compound round trip where the protocol allows:
//! stat, mkdir, rmdir, rename, delete (also by wildcard), directory listing.

use crate::connection::{ChildId, Fail, OpContext, OpOutput, Operation, Progress, Response};
use crate::error::{CloseReason, Error, Violation};
use crate::ntstatus::NtStatus;
use crate::wire::create::{access_mask, create_options, disposition, CreateResponse, FileId};
use crate::wire::fscc::{
    self, file_attributes, FileBasicInformation, FileDispositionInformation,
    FileEndOfFileInformation, FileRenameInformation, FileTime,
};
use crate::wire::query_directory::{QueryDirectoryRequest, QueryDirectoryResponse};
use crate::wire::request::RequestBody;
use crate::wire::set_info::{info_type, SetInfoRequest};
use crate::wire::smb1::path::PathRequest;
use crate::wire::smb1::trans2::{self, FindClose2Request, FindResponse, QueryFileAllInfo};
use crate::wire::smb1::{handle_info, Smb1Request};

use super::file::{check, close, create, create_at, info_from_create, invalid, status_err};
use super::search;
use super::smb1;
use super::{path, FileInfo, OpenOptions, TreeId};

/// Attributes of a file or directory → [`FileInfo`]: CREATE + CLOSE in one compound;
/// the CREATE response carries every field, so a QUERY_INFO would add bytes and no
/// information. Over SMB1, one TRANS2 QUERY_PATH_INFORMATION at SMB_QUERY_FILE_ALL_INFO
/// (snapshots are SMB2's: [`Error::Unsupported`] there).
#[derive(Debug, Clone)]
pub struct Stat {
    share: String,
    path: String,
    snapshot: Option<FileTime>,
    info: Option<FileInfo>,
}

impl Stat {
    /// Stats `path` on `share`.
    pub fn new(share: &str, path: &str) -> Self {
        Stat {
            share: share.to_string(),
            path: path.to_string(),
            snapshot: None,
            info: None,
        }
    }

    /// Stats the path as it was in the snapshot taken at `time` (one of
    /// [`ListSnapshots`](super::ListSnapshots)' times).
    pub fn at_snapshot(mut self, time: FileTime) -> Self {
        self.snapshot = Some(time);
        self
    }
}

impl Operation for Stat {
    type Output = FileInfo;

    fn label(&self) -> (&'static str, &str) {
        ("stat", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path("stat", &self.path)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<FileInfo>, Fail> {
        if cx.is_smb1() && self.snapshot.is_none() {
            let name = path::wire_name(&self.path);
            let req = trans2::query_path_info(&name, trans2::level::QUERY_FILE_ALL_INFO);
            smb1::send(cx, 0, Smb1Request::Trans(req), "stat", &self.path)?;
            return Ok(Progress::Pending);
        }
        let o = OpenOptions {
            access: access_mask::FILE_READ_ATTRIBUTES | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        let open = create_at(&self.path, &o, self.snapshot);
        cx.send_related(vec![(0, open), (1, close(FileId::ANY))]);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<FileInfo>, Fail> {
        check(&resp, "stat", &self.path)?;
        if cx.is_smb1() {
            let all = QueryFileAllInfo::decode(&smb1::trans(&resp)?.data)?;
            // A path spelled as a directory names one (SMB2's FILE_DIRECTORY_FILE).
            let names_directory = path::parse(&self.path).is_ok_and(|p| p.names_directory);
            if names_directory && !all.directory {
                return Err(status_err(NtStatus::NOT_A_DIRECTORY, "stat", &self.path));
            }
            let name = super::split_parent(&self.path).1;
            return Ok(Progress::Done(smb1::info_from_all(&all, name)));
        }
        if tag == 0 {
            self.info = Some(info_from_create(
                &CreateResponse::decode(&resp.msg)?,
                &self.path,
            ));
            return Ok(Progress::Pending);
        }
        Ok(Progress::Done(self.info.take().unwrap_or_default()))
    }
}

/// A fixed compound on one path: CREATE, then zero or more related requests, then CLOSE.
/// Over SMB1, the path command doing the same (when the operation has one), else
/// [`Error::Unsupported`].
#[derive(Debug)]
pub(super) struct PathOp {
    pub(super) share: String,
    pub(super) name: &'static str,
    pub(super) path: String,
    /// Further paths the operation names (a rename's target), checked like `path`.
    target: Option<String>,
    requests: Vec<RequestBody>,
    /// The SMB1 form.
    smb1: Option<Smb1Path>,
}

/// An SMB1 request standing for a [`PathOp`]'s compound: a path command or a
/// TRANS2 SET_PATH_INFORMATION.
#[derive(Debug)]
struct Smb1Path {
    request: Smb1Request,
    /// A rename that replaces: on STATUS_OBJECT_NAME_COLLISION this target is deleted
    /// (DELETE) and the rename sent again — libsmbclient's `SMBC_rename_ctx`; not atomic.
    replace: Option<String>,
}

/// Tags of the SMB1 path command, the DELETE of a rename's target, and the rename again.
const SMB1_PATH: usize = 100;
const SMB1_DELETE_TARGET: usize = 101;
const SMB1_AGAIN: usize = 102;

impl PathOp {
    pub(super) fn new(
        share: &str,
        name: &'static str,
        path: &str,
        requests: Vec<RequestBody>,
    ) -> Self {
        PathOp {
            share: share.to_string(),
            name,
            path: path.to_string(),
            target: None,
            requests,
            smb1: None,
        }
    }

    /// Sends `request` instead of the compound on an SMB1 connection.
    pub(super) fn smb1(&mut self, request: Smb1Request) {
        self.smb1 = Some(Smb1Path {
            request,
            replace: None,
        });
    }

    pub(super) fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<()>, Fail> {
        if let Some(p) = self.smb1.as_ref().filter(|_| cx.is_smb1()) {
            smb1::send(cx, SMB1_PATH, p.request.clone(), self.name, &self.path)?;
            return Ok(Progress::Pending);
        }
        let items = std::mem::take(&mut self.requests)
            .into_iter()
            .enumerate()
            .collect();
        cx.send_related(items);
        Ok(Progress::Pending)
    }

    pub(super) fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: &Response,
    ) -> Result<Progress<()>, Fail> {
        // A rename onto a name that exists fails on the target, not on the source.
        let collision = resp.status() == crate::ntstatus::NtStatus::OBJECT_NAME_COLLISION;
        let named = match &self.target {
            Some(target) if collision || tag == SMB1_DELETE_TARGET => target,
            _ => &self.path,
        };
        if tag >= SMB1_PATH {
            let replace = self.smb1.as_ref().and_then(|p| p.replace.clone());
            if let (SMB1_PATH, true, Some(target)) = (tag, collision, replace) {
                let delete = PathRequest::Delete(path::wire_name(&target));
                smb1::send_path(cx, SMB1_DELETE_TARGET, delete, self.name, &target)?;
                return Ok(Progress::Pending);
            }
            check(resp, self.name, named)?;
            if tag == SMB1_DELETE_TARGET {
                if let Some(p) = &self.smb1 {
                    smb1::send(cx, SMB1_AGAIN, p.request.clone(), self.name, &self.path)?;
                    return Ok(Progress::Pending);
                }
            }
            return Ok(Progress::Done(()));
        }
        check(resp, self.name, named)?;
        Ok(
            if resp.header.command == crate::wire::Command::Close as u16 {
                Progress::Done(())
            } else {
                Progress::Pending
            },
        )
    }
}

/// The public face of a [`PathOp`]: one type per operation, the compound shared.
macro_rules! path_op {
    ($name:ident, $check:expr) => {
        impl Operation for $name {
            type Output = ();

            fn label(&self) -> (&'static str, &str) {
                (self.0.name, &self.0.path)
            }

            fn share(&self) -> Option<&str> {
                Some(&self.0.share)
            }

            fn check(&self) -> Result<(), Error> {
                let check: fn(&PathOp) -> Result<(), Error> = $check;
                check(&self.0)
            }

            fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<()>, Fail> {
                self.0.start(cx)
            }

            fn on_response(
                &mut self,
                cx: &mut OpContext<'_>,
                tag: usize,
                resp: Response,
            ) -> Result<Progress<()>, Fail> {
                self.0.on_response(cx, tag, &resp)
            }
        }
    };
}

/// Creates a directory (its parent must exist; see [`MkdirAll`]): CREATE + CLOSE, or
/// SMB1's CREATE_DIRECTORY.
#[derive(Debug)]
pub struct Mkdir(PathOp);

impl Mkdir {
    /// Creates `path` on `share`.
    pub fn new(share: &str, path: &str) -> Self {
        let o = OpenOptions {
            access: access_mask::FILE_READ_ATTRIBUTES | access_mask::SYNCHRONIZE,
            disposition: disposition::CREATE,
            create_options: create_options::DIRECTORY_FILE,
            attributes: file_attributes::DIRECTORY,
        };
        let requests = vec![create(path, &o), close(FileId::ANY)];
        let mut op = PathOp::new(share, "mkdir", path, requests);
        op.smb1 = Some(Smb1Path {
            request: Smb1Request::Path(PathRequest::CreateDirectory(path::wire_name(path))),
            replace: None,
        });
        Mkdir(op)
    }
}

path_op!(Mkdir, |p| path::check_path(p.name, &p.path));

/// Removes an empty directory, with SET_INFO FileDispositionInformation rather than
/// DELETE_ON_CLOSE so a non-empty one fails with STATUS_DIRECTORY_NOT_EMPTY at once;
/// over SMB1, DELETE_DIRECTORY (which Samba answers the same way).
#[derive(Debug)]
pub struct Rmdir(PathOp);

impl Rmdir {
    /// Removes `path` on `share`.
    pub fn new(share: &str, path: &str) -> Self {
        let o = OpenOptions {
            access: access_mask::DELETE
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: create_options::DIRECTORY_FILE,
            attributes: 0,
        };
        let disp = FileDispositionInformation {
            delete_pending: true,
        }
        .encode();
        let requests = vec![
            create(path, &o),
            set_info(fscc::class::FILE_DISPOSITION_INFORMATION, disp),
            close(FileId::ANY),
        ];
        let mut op = PathOp::new(share, "rmdir", path, requests);
        op.smb1 = Some(Smb1Path {
            request: Smb1Request::Path(PathRequest::DeleteDirectory(path::wire_name(path))),
            replace: None,
        });
        Rmdir(op)
    }
}

path_op!(Rmdir, |p| path::check_path(p.name, &p.path));

/// Sets a file's or directory's times and attributes (SET_INFO FileBasicInformation,
/// MS-FSCC 2.4.7): a zero time or zero attributes leave that field as it is. Over SMB1,
/// TRANS2 SET_PATH_INFORMATION at SMB_SET_FILE_BASIC_INFO (the same 40 bytes).
#[derive(Debug)]
pub struct SetBasicInfo(PathOp);

impl SetBasicInfo {
    /// Sets `info` on `path` on `share`.
    pub fn new(share: &str, path: &str, info: FileBasicInformation) -> Self {
        let o = OpenOptions {
            access: access_mask::FILE_WRITE_ATTRIBUTES
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        let requests = vec![
            create(path, &o),
            set_info(fscc::class::FILE_BASIC_INFORMATION, info.encode()),
            close(FileId::ANY),
        ];
        let mut op = PathOp::new(share, "set info", path, requests);
        op.smb1 = Some(Smb1Path {
            request: set_path_info(path, trans2::level::SET_FILE_BASIC_INFO, info.encode()),
            replace: None,
        });
        SetBasicInfo(op)
    }

    /// pysmb's `setLastWriteTime`: only the last write time changes.
    pub fn last_write_time(share: &str, path: &str, time: FileTime) -> Self {
        let info = FileBasicInformation {
            last_write_time: time,
            ..Default::default()
        };
        SetBasicInfo::new(share, path, info)
    }
}

path_op!(SetBasicInfo, |p| path::check_path(p.name, &p.path));

/// `truncate(path, len)`: truncates or extends a file to `len` bytes (bytes added read
/// as zeros) → nothing. One CREATE (FILE_WRITE_DATA) + SET_INFO
/// (FileEndOfFileInformation, MS-FSCC 2.4.13) + CLOSE compound; the file must exist.
/// Over SMB1, TRANS2 SET_PATH_INFORMATION at the pass-through FileEndOfFileInformation
/// level (1020).
#[derive(Debug)]
pub struct Truncate(PathOp);

impl Truncate {
    /// Sets the size of `path` on `share` to `len`.
    pub fn new(share: &str, path: &str, len: u64) -> Self {
        let o = OpenOptions {
            access: access_mask::FILE_WRITE_DATA
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: create_options::NON_DIRECTORY_FILE,
            attributes: 0,
        };
        let info = FileEndOfFileInformation { end_of_file: len };
        let requests = vec![
            create(path, &o),
            set_info(fscc::class::FILE_END_OF_FILE_INFORMATION, info.encode()),
            close(FileId::ANY),
        ];
        let mut op = PathOp::new(share, "truncate", path, requests);
        op.smb1 = Some(Smb1Path {
            request: set_path_info(
                path,
                trans2::level::FILE_END_OF_FILE_INFORMATION,
                info.encode(),
            ),
            replace: None,
        });
        Truncate(op)
    }
}

path_op!(Truncate, |p| path::check_file(p.name, &p.path));

/// pathlib's `touch`: creates an empty file, or with `exist_ok` opens an existing file
/// or directory, and sets its last write and last access times to `now` (the driver's
/// clock: the core has none) → nothing. One CREATE + SET_INFO (FileBasicInformation) +
/// CLOSE compound.
///
/// Without `exist_ok` an existing name is
/// [`AlreadyExists`](crate::ErrorKind::AlreadyExists) (FILE_CREATE). A path spelled as a
/// directory (a trailing separator) is refused: with FILE_OPEN_IF it would create a
/// directory.
///
/// Over SMB1: NT_CREATE_ANDX, TRANS2_SET_FILE_INFORMATION of the times on the handle,
/// CLOSE — three round trips.
#[derive(Debug)]
pub struct Touch {
    op: PathOp,
    /// SMB1: the open, the times, and where the sequence stands.
    options: OpenOptions,
    times: FileBasicInformation,
    tree: TreeId,
    /// The handle while open (closed by the cleanup if the operation ends early).
    opened: Option<FileId>,
    /// The SET_FILE_INFORMATION's failure, reported once the handle is closed.
    set_failed: Option<NtStatus>,
}

/// Tags of Touch's SMB1 requests.
const TOUCH_OPEN: usize = 200;
const TOUCH_SET: usize = 201;
const TOUCH_CLOSE: usize = 202;

impl Touch {
    /// Touches `path` on `share` at `now`.
    pub fn new(share: &str, path: &str, exist_ok: bool, now: FileTime) -> Self {
        let o = OpenOptions {
            access: access_mask::FILE_WRITE_ATTRIBUTES
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: if exist_ok {
                disposition::OPEN_IF
            } else {
                disposition::CREATE
            },
            // No FILE_NON_DIRECTORY_FILE: touching a directory updates its times, as in
            // pathlib; a new name becomes a file (creating a directory needs
            // FILE_DIRECTORY_FILE).
            create_options: 0,
            attributes: file_attributes::NORMAL,
        };
        let times = FileBasicInformation {
            last_access_time: now,
            last_write_time: now,
            ..Default::default()
        };
        let requests = vec![
            create(path, &o),
            set_info(fscc::class::FILE_BASIC_INFORMATION, times.encode()),
            close(FileId::ANY),
        ];
        Touch {
            op: PathOp::new(share, "touch", path, requests),
            options: o,
            times,
            tree: TreeId(0),
            opened: None,
            set_failed: None,
        }
    }
}

impl Operation for Touch {
    type Output = ();

    fn label(&self) -> (&'static str, &str) {
        (self.op.name, &self.op.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.op.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_file(self.op.name, &self.op.path)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<()>, Fail> {
        if !cx.is_smb1() {
            return self.op.start(cx);
        }
        self.tree = cx.tree();
        let open = super::io::open(cx, &self.op.path, &self.options);
        cx.send(TOUCH_OPEN, open);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<()>, Fail> {
        if !cx.is_smb1() {
            return self.op.on_response(cx, tag, &resp);
        }
        let path = &self.op.path;
        match tag {
            TOUCH_OPEN => {
                check(&resp, "touch", path)?;
                let fid = super::io::opened(cx, &resp)?.file_id;
                self.opened = Some(fid);
                let level = handle_info::passthrough(fscc::class::FILE_BASIC_INFORMATION);
                let set = handle_info::set_file_info(fid.smb1_fid(), level, self.times.encode());
                smb1::send(cx, TOUCH_SET, Smb1Request::Trans(set), "touch", path)?;
                Ok(Progress::Pending)
            }
            TOUCH_SET => {
                if resp.status() != NtStatus::SUCCESS {
                    self.set_failed = Some(resp.status());
                }
                if let Some(fid) = self.opened.take() {
                    let close = super::io::close(cx, fid);
                    cx.send(TOUCH_CLOSE, close);
                }
                Ok(Progress::Pending)
            }
            _ => {
                if let Some(status) = self.set_failed {
                    return Err(status_err(status, "touch", path));
                }
                check(&resp, "touch", path)?;
                Ok(Progress::Done(()))
            }
        }
    }

    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        self.opened
            .take()
            .map(|fid| (self.tree, close(fid)))
            .into_iter()
            .collect()
    }
}

/// Renames or moves a file or directory within the share.
///
/// Over SMB1: RENAME, which never replaces. With `replace`, within one directory,
/// SET_PATH_INFORMATION with FileRenameInformation (ReplaceIfExists: atomic); across
/// directories a collision deletes the target (DELETE, files only) and renames again, as
/// libsmbclient does — not atomic. A RENAME of a name with a character SMB1 takes as a
/// wildcard (`*?<>"`) is [`Error::Unsupported`] there.
#[derive(Debug)]
pub struct Rename(PathOp);

impl Rename {
    /// Renames `from` to `to` on `share`; `replace` replaces an existing `to`.
    pub fn new(share: &str, from: &str, to: &str, replace: bool) -> Self {
        let o = OpenOptions {
            access: access_mask::DELETE
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        let info = FileRenameInformation {
            replace_if_exists: replace,
            root_directory: 0,
            file_name: path::wire_name(to),
        }
        .encode();
        let requests = vec![
            create(from, &o),
            set_info(fscc::class::FILE_RENAME_INFORMATION, info),
            close(FileId::ANY),
        ];
        let mut op = PathOp::new(share, "rename", from, requests);
        op.target = Some(to.to_string());
        let (from, to) = (path::wire_name(from), path::wire_name(to));
        let ((from_dir, _), (to_dir, new_name)) =
            (super::split_parent(&from), super::split_parent(&to));
        if replace && from_dir == to_dir && !new_name.is_empty() {
            // In one directory a replacing rename is atomic: SET_PATH_INFORMATION with
            // FileRenameInformation (ReplaceIfExists), the new name relative to it.
            let info = trans2::rename_information(&new_name, true);
            op.smb1 = Some(Smb1Path {
                request: set_path_info(&from, trans2::level::FILE_RENAME_INFORMATION, info),
                replace: None,
            });
        } else if !smb1::has_wildcard(&from) && !smb1::has_wildcard(&to) {
            // RENAME reads wildcards in either name: such names have no SMB1 form here.
            op.smb1 = Some(Smb1Path {
                replace: replace.then(|| to.clone()),
                request: Smb1Request::Path(PathRequest::Rename { from, to }),
            });
        }
        Rename(op)
    }
}

path_op!(Rename, |p| {
    path::check_path(p.name, &p.path)?;
    path::check_file(p.name, p.target.as_deref().unwrap_or_default())
});

fn delete_on_close() -> OpenOptions {
    OpenOptions {
        access: access_mask::DELETE | access_mask::FILE_READ_ATTRIBUTES,
        disposition: disposition::OPEN,
        create_options: create_options::NON_DIRECTORY_FILE | create_options::DELETE_ON_CLOSE,
        attributes: 0,
    }
}

/// SMB1's TRANS2 SET_PATH_INFORMATION of `data` at `level` for `path`.
fn set_path_info(path: &str, level: u16, data: Vec<u8>) -> Smb1Request {
    Smb1Request::Trans(trans2::set_path_info(&path::wire_name(path), level, data))
}

pub(super) fn set_info(class: u8, buffer: Vec<u8>) -> RequestBody {
    RequestBody::SetInfo(SetInfoRequest {
        info_type: info_type::FILE,
        file_info_class: class,
        buffer: buffer.into(),
        file_id: FileId::ANY,
        ..Default::default()
    })
}

/// `mkdir -p`: every component in turn, CREATE (FILE_OPEN_IF, a directory) + CLOSE, so
/// existing directories are kept and a file in the way is STATUS_NOT_A_DIRECTORY.
/// Over SMB1: CREATE_DIRECTORY, and when the name exists, QUERY_PATH_INFORMATION to tell
/// a directory (kept) from a file (STATUS_NOT_A_DIRECTORY).
#[derive(Debug)]
pub struct MkdirAll {
    share: String,
    path: String,
    /// `a`, `a\b`, `a\b\c`: what is created, in order.
    prefixes: Vec<String>,
    next: usize,
}

impl MkdirAll {
    /// Creates `path` and its missing parents on `share`.
    pub fn new(share: &str, path: &str) -> Self {
        let name = path::wire_name(path);
        let mut prefixes: Vec<String> = name
            .match_indices('\\')
            .map(|(i, _)| name[..i].to_string())
            .collect();
        if !name.is_empty() {
            prefixes.push(name);
        }
        MkdirAll {
            share: share.to_string(),
            path: path.to_string(),
            prefixes,
            next: 0,
        }
    }

    fn send_next(&self, cx: &mut OpContext<'_>) -> Result<(), Fail> {
        let dir = &self.prefixes[self.next];
        if cx.is_smb1() {
            let req = PathRequest::CreateDirectory(dir.clone());
            return smb1::send_path(cx, MKDIR_SMB1, req, "mkdir", dir);
        }
        let o = OpenOptions {
            access: access_mask::FILE_READ_ATTRIBUTES | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN_IF,
            create_options: create_options::DIRECTORY_FILE,
            attributes: file_attributes::DIRECTORY,
        };
        cx.send_related(vec![(0, create(dir, &o)), (1, close(FileId::ANY))]);
        Ok(())
    }
}

/// SMB1 tags of [`MkdirAll`]: CREATE_DIRECTORY, and the query of a name that exists.
const MKDIR_SMB1: usize = 10;
const MKDIR_EXISTS: usize = 11;

impl Operation for MkdirAll {
    type Output = ();

    fn label(&self) -> (&'static str, &str) {
        ("mkdir", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path("mkdir", &self.path)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<()>, Fail> {
        if self.prefixes.is_empty() {
            // The share's root exists.
            return Ok(Progress::Done(()));
        }
        self.send_next(cx)?;
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<()>, Fail> {
        let dir = &self.prefixes[self.next];
        if tag == MKDIR_SMB1 && resp.status() == NtStatus::OBJECT_NAME_COLLISION {
            let req = trans2::query_path_info(dir, trans2::level::QUERY_FILE_ALL_INFO);
            smb1::send(cx, MKDIR_EXISTS, Smb1Request::Trans(req), "mkdir", dir)?;
            return Ok(Progress::Pending);
        }
        check(&resp, "mkdir", dir)?;
        if tag == MKDIR_EXISTS {
            let all = QueryFileAllInfo::decode(&smb1::trans(&resp)?.data)?;
            if !all.directory {
                return Err(status_err(NtStatus::NOT_A_DIRECTORY, "mkdir", dir));
            }
        }
        if tag == 0 {
            return Ok(Progress::Pending);
        }
        self.next += 1;
        if self.next == self.prefixes.len() {
            return Ok(Progress::Done(()));
        }
        self.send_next(cx)?;
        Ok(Progress::Pending)
    }
}

/// A directory listing in progress: CREATE + QUERY_DIRECTORY in one compound, more
/// QUERY_DIRECTORY until STATUS_NO_MORE_FILES, then CLOSE. Paged, it hands each page to
/// the driver and waits for a `supply` before asking for the next.
///
/// Over SMB1: TRANS2 QUERY_PATH_INFORMATION of the directory and FIND_FIRST2 of
/// `dir\pattern` sent together (the query makes a file STATUS_NOT_A_DIRECTORY, as on
/// SMB2, where FIND_FIRST2 alone would answer with a path error), then FIND_NEXT2 from
/// the last name returned until EndOfSearch; the server closes the search at its end
/// (CLOSE_AT_EOS), and one ended early is closed with FIND_CLOSE2.
#[derive(Debug)]
struct Listing {
    share: String,
    path: String,
    pattern: String,
    /// The snapshot whose version of the directory is listed, if any.
    snapshot: Option<FileTime>,
    file_id: FileId,
    entries: Vec<FileInfo>,
    paged: bool,
    /// A page went out as an entries event; the next QUERY_DIRECTORY waits for `supply`.
    awaiting_pull: bool,
    delivered: u64,
    closing: bool,
    /// QUERY_DIRECTORY answers in a row that added no entry.
    empty_pages: u32,
    /// Which entries to keep, by their attributes ([`search`]).
    search: u32,
    /// SMB1: the search FIND_FIRST2 opened, while the server keeps it.
    sid: Option<u16>,
    /// SMB1: the last name the server returned, where FIND_NEXT2 goes on from.
    last_name: String,
    /// SMB1: what QUERY_PATH_INFORMATION said of the directory (OK, or the status to
    /// fail with), once it answered.
    checked: Option<Result<(), NtStatus>>,
    /// SMB1: FIND_FIRST2's answer, when it came before the query's.
    first: Option<Response>,
}

/// Entries a one-shot listing collects before asking for the paged listing instead.
const MAX_LIST_ENTRIES: usize = 4_000_000;
/// Pages in a row with no new entry before the server is deemed broken.
const MAX_EMPTY_PAGES: u32 = 16;

const LIST_CREATE: usize = 0;
const LIST_QUERY: usize = 1;
const LIST_CLOSE: usize = 2;
/// SMB1: QUERY_PATH_INFORMATION of the directory, FIND_FIRST2, FIND_NEXT2.
const LIST_CHECK: usize = 3;
const LIST_FIRST: usize = 4;
const LIST_NEXT: usize = 5;

impl Listing {
    fn new(share: &str, path: &str, pattern: &str, paged: bool) -> Self {
        Listing {
            share: share.to_string(),
            path: path.to_string(),
            pattern: pattern.to_string(),
            snapshot: None,
            file_id: FileId::ANY,
            entries: Vec::new(),
            paged,
            awaiting_pull: false,
            delivered: 0,
            closing: false,
            empty_pages: 0,
            search: search::DEFAULT,
            sid: None,
            last_name: String::new(),
            checked: None,
            first: None,
        }
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path("list", &self.path)?;
        path::check_pattern_of("list", &self.pattern)
    }

    fn query(&self, cx: &OpContext<'_>, first: bool) -> RequestBody {
        RequestBody::QueryDirectory(QueryDirectoryRequest {
            file_information_class: fscc::class::FILE_ID_BOTH_DIRECTORY_INFORMATION,
            flags: if first {
                crate::wire::query_directory::flags::RESTART_SCANS
            } else {
                0
            },
            file_id: self.file_id,
            pattern: self.pattern.clone(),
            output_buffer_length: cx.negotiated().max_transact_size,
            ..Default::default()
        })
    }

    fn begin(&mut self, cx: &mut OpContext<'_>) -> Result<(), Fail> {
        if cx.is_smb1() && self.snapshot.is_none() {
            let dir = path::wire_name(&self.path);
            let check = trans2::query_path_info(&dir, trans2::level::QUERY_FILE_ALL_INFO);
            let find = trans2::find_first2(&path::join(&dir, &self.pattern));
            smb1::send(
                cx,
                LIST_CHECK,
                Smb1Request::Trans(check),
                "list",
                &self.path,
            )?;
            return smb1::send(cx, LIST_FIRST, Smb1Request::Trans(find), "list", &self.path);
        }
        let o = OpenOptions {
            access: access_mask::FILE_LIST_DIRECTORY
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: create_options::DIRECTORY_FILE,
            attributes: 0,
        };
        let q = self.query(cx, true);
        let open = create_at(&self.path, &o, self.snapshot);
        cx.send_related(vec![(LIST_CREATE, open), (LIST_QUERY, q)]);
        Ok(())
    }

    /// Asks for the next page: QUERY_DIRECTORY, or SMB1's FIND_NEXT2.
    fn next(&mut self, cx: &mut OpContext<'_>) -> Result<(), Fail> {
        match self.sid {
            Some(sid) => {
                let req = trans2::find_next2(sid, &self.last_name);
                smb1::send(cx, LIST_NEXT, Smb1Request::Trans(req), "list", &self.path)
            }
            None => {
                let q = self.query(cx, false);
                cx.send(LIST_QUERY, q);
                Ok(())
            }
        }
    }

    /// Keeps the entries of one page the listing wants; after it, the page goes to the
    /// driver (paged) or the next one is asked for — unless `last`.
    fn take_page(
        &mut self,
        cx: &mut OpContext<'_>,
        page: Vec<fscc::FileIdBothDirectoryInformation>,
        last: bool,
    ) -> Result<(), Fail> {
        // Entries the server sent, kept or filtered out by the search mask.
        let mut fresh = 0;
        for e in page {
            if e.file_name == "." || e.file_name == ".." {
                continue;
            }
            fresh += 1;
            // Callers join entry names onto local paths (a tree download): a name
            // that is not one plain path component would let a server write anywhere.
            if e.file_name.is_empty() || e.file_name.contains(['/', '\\', '\0']) {
                return Err(Fail::Fatal(CloseReason::Protocol(Violation::EntryName(
                    e.file_name,
                ))));
            }
            if !search::accepts(self.search, e.file_attributes) {
                continue;
            }
            self.entries.push(FileInfo {
                name: e.file_name,
                short_name: e.short_name,
                file_id: e.file_id,
                size: e.end_of_file,
                allocation_size: e.allocation_size,
                attributes: e.file_attributes,
                creation_time: e.creation_time,
                last_access_time: e.last_access_time,
                last_write_time: e.last_write_time,
                change_time: e.change_time,
            });
        }
        // A server that answers page after page with nothing new would keep a
        // listing going forever; one that never stops would exhaust memory.
        if fresh == 0 && !last {
            self.empty_pages += 1;
            if self.empty_pages > MAX_EMPTY_PAGES {
                return Err(Fail::Fatal(CloseReason::Protocol(Violation::EmptyPages)));
            }
        } else {
            self.empty_pages = 0;
        }
        if !self.paged && self.entries.len() > MAX_LIST_ENTRIES {
            return Err(invalid(format!(
                "{} holds more than {MAX_LIST_ENTRIES} entries; use the paged listing",
                self.path
            )));
        }
        // A page of only `.` and `..` gives the caller nothing to wait for.
        if self.paged && !self.entries.is_empty() {
            let entries = std::mem::take(&mut self.entries);
            self.delivered += entries.len() as u64;
            cx.entries(entries);
            self.awaiting_pull = !last;
        } else if !last {
            self.next(cx)?;
        }
        Ok(())
    }

    /// Feeds a response; returns the entries once the directory is closed.
    fn step(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Option<Vec<FileInfo>>, Fail> {
        let status = resp.status();
        match tag {
            LIST_CREATE => {
                check(&resp, "list", &self.path)?;
                self.file_id = CreateResponse::decode(&resp.msg)?.file_id;
            }
            LIST_QUERY if status == NtStatus::NO_MORE_FILES || status == NtStatus::NO_SUCH_FILE => {
                self.closing = true;
                cx.send(LIST_CLOSE, close(self.file_id));
            }
            LIST_QUERY => {
                check(&resp, "list", &self.path)?;
                let body = QueryDirectoryResponse::decode(&resp.msg)?;
                let page = fscc::FileIdBothDirectoryInformation::parse_all(&body.buffer)?;
                self.take_page(cx, page, false)?;
            }
            LIST_CHECK => {
                self.checked = Some(match status {
                    NtStatus::SUCCESS => {
                        let all = QueryFileAllInfo::decode(&smb1::trans(&resp)?.data)?;
                        if all.directory {
                            Ok(())
                        } else {
                            Err(NtStatus::NOT_A_DIRECTORY)
                        }
                    }
                    s => Err(s),
                });
                if let Some(first) = self.first.take() {
                    return self.step(cx, LIST_FIRST, first);
                }
            }
            LIST_FIRST if self.checked.is_none() => self.first = Some(resp),
            LIST_FIRST | LIST_NEXT => return self.found(cx, tag == LIST_FIRST, &resp),
            _ => {
                check(&resp, "list", &self.path)?;
                return Ok(Some(std::mem::take(&mut self.entries)));
            }
        }
        Ok(None)
    }

    /// SMB1: a FIND_FIRST2 (`first`, after the directory's query answered) or FIND_NEXT2
    /// answer.
    fn found(
        &mut self,
        cx: &mut OpContext<'_>,
        first: bool,
        resp: &Response,
    ) -> Result<Option<Vec<FileInfo>>, Fail> {
        let status = resp.status();
        let mut answer = None;
        if status == NtStatus::SUCCESS {
            let t = smb1::trans(resp)?;
            let found = FindResponse::decode(first, &t.params, &t.data)?;
            if first && !found.end_of_search {
                // Open until its end (CLOSE_AT_EOS) or FIND_CLOSE2 ([`Listing::release`]).
                self.sid = Some(found.sid);
            }
            answer = Some(found);
        }
        // What the directory's query said comes first: a file is not a directory.
        if let Some(Err(s)) = self.checked {
            return Err(status_err(s, "list", &self.path));
        }
        let Some(found) = answer else {
            // No match at all (FIND_FIRST2), or nothing after the last name.
            if status != NtStatus::NO_SUCH_FILE && status != NtStatus::NO_MORE_FILES {
                return Err(status_err(status, "list", &self.path));
            }
            self.sid = None;
            return Ok(Some(self.finish(cx)));
        };
        if let Some(last) = found.entries.last() {
            self.last_name = last.file_name.clone();
        }
        let end = found.end_of_search;
        if end {
            self.sid = None;
        }
        self.take_page(cx, found.entries, end)?;
        Ok(end.then(|| self.finish(cx)))
    }

    /// SMB1: the search ended; the entries not yet handed over (a paged listing has
    /// handed them all over).
    fn finish(&mut self, cx: &mut OpContext<'_>) -> Vec<FileInfo> {
        let entries = std::mem::take(&mut self.entries);
        if self.paged && !entries.is_empty() {
            self.delivered += entries.len() as u64;
            cx.entries(entries);
            return Vec::new();
        }
        entries
    }

    /// The CLOSE (SMB1: FIND_CLOSE2) an abandoned listing still owes.
    fn release(&self, tree: TreeId) -> Vec<(TreeId, RequestBody)> {
        if let Some(sid) = self.sid {
            let req = Smb1Request::FindClose2(FindClose2Request { sid });
            return vec![(tree, RequestBody::Smb1(Box::new(req)))];
        }
        if self.file_id == FileId::ANY || self.closing {
            return Vec::new();
        }
        vec![(tree, close(self.file_id))]
    }
}

/// Directory entries matching a pattern (`*` for all), without `.` and `..` → every
/// entry, collected.
#[derive(Debug)]
pub struct ListDir {
    listing: Listing,
    tree: TreeId,
}

impl ListDir {
    /// Lists directory `path` on `share`, the entries matching `pattern`.
    pub fn new(share: &str, path: &str, pattern: &str) -> Self {
        ListDir {
            listing: Listing::new(share, path, pattern, false),
            tree: TreeId(0),
        }
    }

    /// Lists the directory as it was in the snapshot taken at `time` (one of
    /// [`ListSnapshots`](super::ListSnapshots)' times).
    pub fn at_snapshot(mut self, time: FileTime) -> Self {
        self.listing.snapshot = Some(time);
        self
    }
}

impl ListDir {
    /// Keeps only the entries a pysmb `search` mask accepts ([`search`]); the default
    /// keeps every entry.
    pub fn search(mut self, mask: u32) -> Self {
        self.listing.search = mask;
        self
    }
}

impl Operation for ListDir {
    type Output = Vec<FileInfo>;

    fn label(&self) -> (&'static str, &str) {
        ("list", &self.listing.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.listing.share)
    }

    fn check(&self) -> Result<(), Error> {
        self.listing.check()
    }

    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        self.listing.release(self.tree)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail> {
        self.tree = cx.tree();
        self.listing.begin(cx)?;
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<Self::Output>, Fail> {
        Ok(match self.listing.step(cx, tag, resp)? {
            Some(entries) => Progress::Done(entries),
            None => Progress::Pending,
        })
    }
}

/// Like [`ListDir`], a page at a time: each QUERY_DIRECTORY response's entries come as
/// [`Event::Entries`](crate::Event::Entries), and the next page is asked for only when
/// the driver calls [`Connection::supply`](crate::Connection::supply), so a caller that
/// reads slowly holds one page, not the whole directory → the number of entries.
#[derive(Debug)]
pub struct ListDirPaged {
    listing: Listing,
    tree: TreeId,
}

impl ListDirPaged {
    /// Lists directory `path` on `share` page by page.
    pub fn new(share: &str, path: &str, pattern: &str) -> Self {
        ListDirPaged {
            listing: Listing::new(share, path, pattern, true),
            tree: TreeId(0),
        }
    }

    /// Lists the directory as it was in the snapshot taken at `time`.
    pub fn at_snapshot(mut self, time: FileTime) -> Self {
        self.listing.snapshot = Some(time);
        self
    }
}

impl ListDirPaged {
    /// Keeps only the entries a pysmb `search` mask accepts ([`search`]).
    pub fn search(mut self, mask: u32) -> Self {
        self.listing.search = mask;
        self
    }
}

impl Operation for ListDirPaged {
    type Output = u64;

    fn label(&self) -> (&'static str, &str) {
        ("list", &self.listing.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.listing.share)
    }

    fn check(&self) -> Result<(), Error> {
        self.listing.check()
    }

    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        self.listing.release(self.tree)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<u64>, Fail> {
        self.tree = cx.tree();
        self.listing.begin(cx)?;
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<u64>, Fail> {
        Ok(match self.listing.step(cx, tag, resp)? {
            Some(_) => Progress::Done(self.listing.delivered),
            None => Progress::Pending,
        })
    }

    fn on_supply(
        &mut self,
        cx: &mut OpContext<'_>,
        _data: bytes::Bytes,
    ) -> Result<Progress<u64>, Fail> {
        if !std::mem::take(&mut self.listing.awaiting_pull) {
            return Err(invalid("no listing page to continue from"));
        }
        self.listing.next(cx)?;
        Ok(Progress::Pending)
    }
}

/// Deletes one file, or every file matching a wildcard in the last component (like
/// pysmb's deleteFiles) → how many: a listing (a child [`ListDir`]), then one
/// CREATE(DELETE_ON_CLOSE) + CLOSE compound per match, all in flight at once. No match
/// is STATUS_NO_SUCH_FILE. Over SMB1, one DELETE per file (hidden and system files
/// included); a name with a character SMB1 reads as a wildcard (`*?<>"`) is
/// [`Error::Unsupported`] there.
///
/// [`Delete::with_folders`] (pysmb's `delete_matching_folders`) also removes the
/// directories that match, with everything in them ([`RemoveTree`](super::RemoveTree));
/// the count is then of every file and directory removed.
#[derive(Debug)]
pub struct Delete {
    share: String,
    path: String,
    dir: String,
    listing: Option<ChildId>,
    outstanding: usize,
    deleted: u64,
    folders: bool,
    /// `*` and `?` are part of the name, not wildcards.
    literal: bool,
}

impl Delete {
    /// Deletes `path` (`dir/name` or `dir/*.txt`) on `share`.
    pub fn new(share: &str, path: &str) -> Self {
        Delete {
            share: share.to_string(),
            path: path.to_string(),
            dir: String::new(),
            listing: None,
            outstanding: 0,
            deleted: 0,
            folders: false,
            literal: false,
        }
    }

    /// Takes the last component literally: `*` and `?` are characters of the one name
    /// deleted, never wildcards, and no listing is made (libsmbclient's `unlink` on SMB2),
    /// so the call never deletes more than the file it names. [`Delete::with_folders`]
    /// then has no effect: a directory is STATUS_FILE_IS_A_DIRECTORY.
    pub fn literal(mut self) -> Self {
        self.literal = true;
        self
    }

    /// Also removes matching directories, recursively.
    pub fn with_folders(mut self) -> Self {
        self.folders = true;
        self
    }

    /// The CREATE + CLOSE that deletes `path`; the CLOSE's tag is odd. Over SMB1, one
    /// DELETE with an odd tag: it takes its name as a pattern, so a name with a wildcard
    /// character has no SMB1 form here (it needs NT_CREATE_ANDX, not there yet).
    fn delete(&self, cx: &mut OpContext<'_>, i: usize, path: &str) -> Result<(), Fail> {
        if cx.is_smb1() {
            let name = path::wire_name(path);
            if smb1::has_wildcard(&name) {
                return Err(smb1::unsupported("delete"));
            }
            return smb1::send_path(cx, 2 * i + 1, PathRequest::Delete(name), "delete", path);
        }
        cx.send_related(vec![
            (2 * i, create(path, &delete_on_close())),
            (2 * i + 1, close(FileId::ANY)),
        ]);
        Ok(())
    }
}

impl Operation for Delete {
    type Output = u64;

    fn label(&self) -> (&'static str, &str) {
        ("delete", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_file("delete", &self.path)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<u64>, Fail> {
        let (dir, name) = super::split_parent(&self.path);
        // With folders, even a plain name is looked up: it may name a directory.
        if !self.literal && (name.contains(['*', '?']) || self.folders) {
            self.listing = Some(cx.start_child(ListDir::new(&self.share, &dir, &name)));
        } else {
            let path = self.path.clone();
            self.delete(cx, 0, &path)?;
            self.outstanding = 1;
        }
        self.dir = dir;
        Ok(Progress::Pending)
    }

    fn on_child(
        &mut self,
        cx: &mut OpContext<'_>,
        child: ChildId,
        result: Result<OpOutput, Error>,
    ) -> Result<Progress<u64>, Fail> {
        if self.listing != Some(child) {
            // A matching folder's removal.
            self.deleted += result?.downcast::<u64>()?;
            return Ok(self.one_done());
        }
        let entries: Vec<FileInfo> = result?.downcast()?;
        let (dirs, files): (Vec<FileInfo>, Vec<FileInfo>) =
            entries.into_iter().partition(FileInfo::is_directory);
        let dirs = if self.folders { dirs } else { Vec::new() };
        if files.is_empty() && dirs.is_empty() {
            return Err(status_err(NtStatus::NO_SUCH_FILE, "delete", &self.path));
        }
        if cx.is_smb1() && files.iter().any(|f| smb1::has_wildcard(&f.name)) {
            // Refused before any is deleted.
            return Err(smb1::unsupported("delete"));
        }
        for (i, f) in files.iter().enumerate() {
            let path = path::join(&self.dir, &f.name);
            self.delete(cx, i, &path)?;
        }
        for d in &dirs {
            cx.start_child(super::RemoveTree::new(
                &self.share,
                &path::join(&self.dir, &d.name),
            ));
        }
        self.outstanding = files.len() + dirs.len();
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        _cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<u64>, Fail> {
        check(&resp, "delete", &self.path)?;
        if tag % 2 == 1 {
            self.deleted += 1;
            return Ok(self.one_done());
        }
        Ok(Progress::Pending)
    }
}

impl Delete {
    /// One match is gone; done when the last one is.
    fn one_done(&mut self) -> Progress<u64> {
        self.outstanding = self.outstanding.saturating_sub(1);
        if self.outstanding == 0 {
            Progress::Done(self.deleted)
        } else {
            Progress::Pending
        }
    }
}

/// pysmb's `resetFileAttributes`: sets the attributes of one file or directory, or of
/// every one matching a wildcard in the last component (default
/// FILE_ATTRIBUTE_NORMAL: read-only, hidden, system and archive cleared) → how many.
/// No match is STATUS_NO_SUCH_FILE.
#[derive(Debug)]
pub struct ResetAttributes {
    share: String,
    path: String,
    attributes: u32,
    listing: Option<ChildId>,
    /// How many paths are being set, and how many of them are not done yet.
    matched: u64,
    outstanding: usize,
}

impl ResetAttributes {
    /// Sets `attributes` on what `path` (`dir/name` or `dir/*.txt`) names on `share`.
    pub fn new(share: &str, path: &str, attributes: u32) -> Self {
        ResetAttributes {
            share: share.to_string(),
            path: path.to_string(),
            attributes,
            listing: None,
            matched: 1,
            outstanding: 0,
        }
    }

    fn set(&self, cx: &mut OpContext<'_>, path: &str) {
        let info = FileBasicInformation {
            file_attributes: self.attributes,
            ..Default::default()
        };
        cx.start_child(SetBasicInfo::new(&self.share, path, info));
    }
}

impl Operation for ResetAttributes {
    type Output = u64;

    fn label(&self) -> (&'static str, &str) {
        ("reset attributes", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path("reset attributes", &self.path)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<u64>, Fail> {
        let (dir, name) = super::split_parent(&self.path);
        if name.contains(['*', '?']) {
            self.listing = Some(cx.start_child(ListDir::new(&self.share, &dir, &name)));
        } else {
            let path = self.path.clone();
            self.set(cx, &path);
        }
        self.outstanding = 1;
        Ok(Progress::Pending)
    }

    fn on_child(
        &mut self,
        cx: &mut OpContext<'_>,
        child: ChildId,
        result: Result<OpOutput, Error>,
    ) -> Result<Progress<u64>, Fail> {
        let out = result?;
        if self.listing == Some(child) {
            let entries: Vec<FileInfo> = out.downcast()?;
            if entries.is_empty() {
                return Err(status_err(
                    NtStatus::NO_SUCH_FILE,
                    "reset attributes",
                    &self.path,
                ));
            }
            let dir = super::split_parent(&self.path).0;
            for e in &entries {
                self.set(cx, &path::join(&dir, &e.name));
            }
            self.outstanding = entries.len();
            self.matched = entries.len() as u64;
            return Ok(Progress::Pending);
        }
        self.outstanding = self.outstanding.saturating_sub(1);
        if self.outstanding == 0 {
            return Ok(Progress::Done(self.matched));
        }
        Ok(Progress::Pending)
    }
}
