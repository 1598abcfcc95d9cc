//! Metadata operations, each one compound round trip where the protocol allows:
//! stat, mkdir, rmdir, rename, delete (also by wildcard), directory listing.

use crate::connection::{Cx, Event, Fail, Operation, Progress, Response};
use crate::ntstatus::NtStatus;
use crate::wire::create::{access_mask, create_options, disposition, CreateResponse, FileId};
use crate::wire::fscc::{self, file_attributes, FileDispositionInformation, FileRenameInformation};
use crate::wire::query_directory::{QueryDirectoryRequest, QueryDirectoryResponse};
use crate::wire::request::RequestBody;
use crate::wire::set_info::{info_type, SetInfoRequest};

use super::file::{check, close, create, info_from_create, status_err};
use super::{path, FileInfo, OpenOptions, Output, TreeId};

/// stat: CREATE + CLOSE in one compound; the CREATE response carries every field of
/// [`FileInfo`], so a QUERY_INFO would add bytes and no information.
pub(crate) struct Stat {
    tree: TreeId,
    path: String,
    info: Option<FileInfo>,
}

impl Stat {
    pub(crate) fn new(tree: TreeId, path: String) -> Self {
        Stat {
            tree,
            path,
            info: None,
        }
    }
}

impl Operation for Stat {
    fn label(&self) -> (&'static str, &str) {
        ("stat", &self.path)
    }

    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        let o = OpenOptions {
            access: access_mask::FILE_READ_ATTRIBUTES | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        cx.send_related(
            self.tree.0,
            vec![(0, create(&self.path, &o)), (1, close(FileId::ANY))],
        );
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        _cx: &mut Cx<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress, Fail> {
        check(&resp, "stat", &self.path)?;
        if tag == 0 {
            self.info = Some(info_from_create(
                &CreateResponse::decode(&resp.msg)?,
                &self.path,
            ));
            return Ok(Progress::Pending);
        }
        Ok(Progress::Done(Output::Info(
            self.info.take().unwrap_or_default(),
        )))
    }
}

/// A fixed compound on one path: CREATE, then zero or more related requests, then CLOSE.
pub(crate) struct PathOp {
    tree: TreeId,
    name: &'static str,
    path: String,
    requests: Vec<RequestBody>,
}

impl PathOp {
    pub(crate) fn mkdir(tree: TreeId, path: String) -> Self {
        let o = OpenOptions {
            access: access_mask::FILE_READ_ATTRIBUTES | access_mask::SYNCHRONIZE,
            disposition: disposition::CREATE,
            create_options: create_options::DIRECTORY_FILE,
            attributes: file_attributes::DIRECTORY,
        };
        let requests = vec![create(&path, &o), close(FileId::ANY)];
        PathOp {
            tree,
            name: "mkdir",
            path,
            requests,
        }
    }

    /// rmdir uses SET_INFO FileDispositionInformation rather than DELETE_ON_CLOSE so a
    /// non-empty directory fails with STATUS_DIRECTORY_NOT_EMPTY at once.
    pub(crate) fn rmdir(tree: TreeId, path: String) -> Self {
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
            create(&path, &o),
            set_info(fscc::class::FILE_DISPOSITION_INFORMATION, disp),
            close(FileId::ANY),
        ];
        PathOp {
            tree,
            name: "rmdir",
            path,
            requests,
        }
    }

    pub(crate) fn rename(tree: TreeId, from: String, to: String, replace: bool) -> Self {
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
            file_name: path::wire_name(&to),
        }
        .encode();
        let requests = vec![
            create(&from, &o),
            set_info(fscc::class::FILE_RENAME_INFORMATION, info),
            close(FileId::ANY),
        ];
        PathOp {
            tree,
            name: "rename",
            path: from,
            requests,
        }
    }
}

/// `mkdir -p`: every component in turn, CREATE (FILE_OPEN_IF, a directory) + CLOSE, so
/// existing directories are kept and a file in the way is STATUS_NOT_A_DIRECTORY.
pub(crate) struct MkdirAll {
    tree: TreeId,
    path: String,
    /// `a`, `a\b`, `a\b\c`: what is created, in order.
    prefixes: Vec<String>,
    next: usize,
}

impl MkdirAll {
    pub(crate) fn new(tree: TreeId, path: String) -> Self {
        let name = path::wire_name(&path);
        let mut prefixes = Vec::new();
        for (i, _) in name.match_indices('\\') {
            prefixes.push(name[..i].to_string());
        }
        if !name.is_empty() {
            prefixes.push(name);
        }
        MkdirAll {
            tree,
            path,
            prefixes,
            next: 0,
        }
    }

    fn send_next(&self, cx: &mut Cx<'_>) {
        let o = OpenOptions {
            access: access_mask::FILE_READ_ATTRIBUTES | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN_IF,
            create_options: create_options::DIRECTORY_FILE,
            attributes: file_attributes::DIRECTORY,
        };
        let dir = &self.prefixes[self.next];
        cx.send_related(
            self.tree.0,
            vec![(0, create(dir, &o)), (1, close(FileId::ANY))],
        );
    }
}

impl Operation for MkdirAll {
    fn label(&self) -> (&'static str, &str) {
        ("mkdir", &self.path)
    }

    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        if self.prefixes.is_empty() {
            // The share's root exists.
            return Ok(Progress::Done(Output::Done));
        }
        self.send_next(cx);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut Cx<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress, Fail> {
        check(&resp, "mkdir", &self.prefixes[self.next])?;
        if tag == 0 {
            return Ok(Progress::Pending);
        }
        self.next += 1;
        if self.next == self.prefixes.len() {
            return Ok(Progress::Done(Output::Done));
        }
        self.send_next(cx);
        Ok(Progress::Pending)
    }
}

fn delete_on_close() -> OpenOptions {
    OpenOptions {
        access: access_mask::DELETE | access_mask::FILE_READ_ATTRIBUTES,
        disposition: disposition::OPEN,
        create_options: create_options::NON_DIRECTORY_FILE | create_options::DELETE_ON_CLOSE,
        attributes: 0,
    }
}

fn set_info(class: u8, buffer: Vec<u8>) -> RequestBody {
    RequestBody::SetInfo(SetInfoRequest {
        info_type: info_type::FILE,
        file_info_class: class,
        buffer: buffer.into(),
        file_id: FileId::ANY,
        ..Default::default()
    })
}

impl Operation for PathOp {
    fn label(&self) -> (&'static str, &str) {
        (self.name, &self.path)
    }

    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        let items = std::mem::take(&mut self.requests)
            .into_iter()
            .enumerate()
            .collect();
        cx.send_related(self.tree.0, items);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        _cx: &mut Cx<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress, Fail> {
        check(&resp, self.name, &self.path)?;
        Ok(
            if resp.header.command == crate::wire::Command::Close as u16 {
                Progress::Done(Output::Done)
            } else {
                Progress::Pending
            },
        )
    }
}

/// Lists a directory: CREATE + QUERY_DIRECTORY in one compound, more QUERY_DIRECTORY
/// until STATUS_NO_MORE_FILES, then CLOSE. Paged, it hands each page to the driver and
/// waits for a `supply` before asking for the next.
pub(crate) struct ListDir {
    tree: TreeId,
    path: String,
    pattern: String,
    file_id: FileId,
    entries: Vec<FileInfo>,
    paged: bool,
    /// A page went out as [`Event::Entries`]; the next QUERY_DIRECTORY waits for `supply`.
    awaiting_pull: bool,
    delivered: u64,
    closing: bool,
    /// QUERY_DIRECTORY answers in a row that added no entry.
    empty_pages: u32,
}

/// Entries a one-shot listing collects before asking for the paged listing instead.
const MAX_LIST_ENTRIES: usize = 4_000_000;
/// Pages in a row with no new entry before the server is deemed broken.
const MAX_EMPTY_PAGES: u32 = 16;

const LIST_CREATE: usize = 0;
const LIST_QUERY: usize = 1;
const LIST_CLOSE: usize = 2;

impl ListDir {
    pub(crate) fn new(tree: TreeId, path: String, pattern: String) -> Self {
        ListDir {
            tree,
            path,
            pattern,
            file_id: FileId::ANY,
            entries: Vec::new(),
            paged: false,
            awaiting_pull: false,
            delivered: 0,
            closing: false,
            empty_pages: 0,
        }
    }

    pub(crate) fn paged(tree: TreeId, path: String, pattern: String) -> Self {
        ListDir {
            paged: true,
            ..ListDir::new(tree, path, pattern)
        }
    }

    fn query(&self, cx: &Cx<'_>, first: bool) -> RequestBody {
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

    fn begin(&mut self, cx: &mut Cx<'_>, base: usize) {
        let o = OpenOptions {
            access: access_mask::FILE_LIST_DIRECTORY
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: create_options::DIRECTORY_FILE,
            attributes: 0,
        };
        let q = self.query(cx, true);
        cx.send_related(
            self.tree.0,
            vec![
                (base + LIST_CREATE, create(&self.path, &o)),
                (base + LIST_QUERY, q),
            ],
        );
    }

    /// Feeds a response; returns the entries once the directory is closed.
    fn step(
        &mut self,
        cx: &mut Cx<'_>,
        base: usize,
        tag: usize,
        resp: Response,
    ) -> Result<Option<Vec<FileInfo>>, Fail> {
        let status = resp.status();
        match tag - base {
            LIST_CREATE => {
                check(&resp, "list", &self.path)?;
                self.file_id = CreateResponse::decode(&resp.msg)?.file_id;
            }
            LIST_QUERY if status == NtStatus::NO_MORE_FILES || status == NtStatus::NO_SUCH_FILE => {
                self.closing = true;
                cx.send(base + LIST_CLOSE, self.tree.0, close(self.file_id));
            }
            LIST_QUERY => {
                check(&resp, "list", &self.path)?;
                let body = QueryDirectoryResponse::decode(&resp.msg)?;
                let before = self.entries.len();
                for e in fscc::FileIdBothDirectoryInformation::parse_all(&body.buffer)? {
                    if e.file_name == "." || e.file_name == ".." {
                        continue;
                    }
                    // Callers join entry names onto local paths (a tree download): a name
                    // that is not one plain path component would let a server write anywhere.
                    if e.file_name.is_empty() || e.file_name.contains(['/', '\\', '\0']) {
                        return Err(Fail::Fatal(crate::error::CloseReason::Protocol(format!(
                            "directory entry name {:?} is not a single path component",
                            e.file_name
                        ))));
                    }
                    self.entries.push(FileInfo {
                        name: e.file_name,
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
                if self.entries.len() == before {
                    self.empty_pages += 1;
                    if self.empty_pages > MAX_EMPTY_PAGES {
                        return Err(Fail::Fatal(crate::error::CloseReason::Protocol(
                            "QUERY_DIRECTORY keeps answering with no entries".into(),
                        )));
                    }
                } else {
                    self.empty_pages = 0;
                }
                if !self.paged && self.entries.len() > MAX_LIST_ENTRIES {
                    return Err(super::file::invalid(format!(
                        "{} holds more than {MAX_LIST_ENTRIES} entries; use the paged listing",
                        self.path
                    )));
                }
                // A page of only `.` and `..` gives the caller nothing to wait for.
                if self.paged && !self.entries.is_empty() {
                    let entries = std::mem::take(&mut self.entries);
                    self.delivered += entries.len() as u64;
                    cx.emit(Event::Entries { id: cx.id, entries });
                    self.awaiting_pull = true;
                } else {
                    let q = self.query(cx, false);
                    cx.send(base + LIST_QUERY, self.tree.0, q);
                }
            }
            _ => {
                check(&resp, "list", &self.path)?;
                return Ok(Some(std::mem::take(&mut self.entries)));
            }
        }
        Ok(None)
    }
}

impl ListDir {
    /// The CLOSE an abandoned listing still owes its directory handle.
    fn release(&self) -> Vec<(u32, RequestBody)> {
        if self.file_id == FileId::ANY || self.closing {
            return Vec::new();
        }
        vec![(self.tree.0, close(self.file_id))]
    }
}

impl Operation for ListDir {
    fn label(&self) -> (&'static str, &str) {
        ("list", &self.path)
    }

    fn cleanup(&mut self) -> Vec<(u32, RequestBody)> {
        self.release()
    }

    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        self.begin(cx, 0);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut Cx<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress, Fail> {
        Ok(match self.step(cx, 0, tag, resp)? {
            Some(_) if self.paged => Progress::Done(Output::Count(self.delivered)),
            Some(entries) => Progress::Done(Output::Entries(entries)),
            None => Progress::Pending,
        })
    }

    fn on_supply(&mut self, cx: &mut Cx<'_>, _data: bytes::Bytes) -> Result<Progress, Fail> {
        if !std::mem::take(&mut self.awaiting_pull) {
            return Err(super::file::invalid("no listing page to continue from"));
        }
        let q = self.query(cx, false);
        cx.send(LIST_QUERY, self.tree.0, q);
        Ok(Progress::Pending)
    }
}

/// Deletes one file, or every file matching a wildcard in the last component (like
/// pysmb's deleteFiles): a listing, then one CREATE(DELETE_ON_CLOSE)+CLOSE compound per
/// match, all in flight at once.
pub(crate) struct Delete {
    tree: TreeId,
    path: String,
    list: Option<ListDir>,
    dir: String,
    outstanding: usize,
    deleted: u64,
}

/// Tags below this belong to the listing; deletes use `DELETE_BASE + 2*i (+1 for CLOSE)`.
const DELETE_BASE: usize = 16;

impl Delete {
    pub(crate) fn new(tree: TreeId, path: String) -> Self {
        Delete {
            tree,
            path,
            list: None,
            dir: String::new(),
            outstanding: 0,
            deleted: 0,
        }
    }
}

impl Operation for Delete {
    fn label(&self) -> (&'static str, &str) {
        ("delete", &self.path)
    }

    fn cleanup(&mut self) -> Vec<(u32, RequestBody)> {
        self.list.as_ref().map(ListDir::release).unwrap_or_default()
    }

    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        let (dir, name) = super::split_parent(&self.path);
        if name.is_empty() {
            return Err(super::file::invalid("delete needs a file name or pattern"));
        }
        if name.contains(['*', '?']) {
            let mut list = ListDir::new(self.tree, dir.clone(), name);
            list.begin(cx, 0);
            self.list = Some(list);
        } else {
            cx.send_related(
                self.tree.0,
                vec![
                    (DELETE_BASE, create(&self.path, &delete_on_close())),
                    (DELETE_BASE + 1, close(FileId::ANY)),
                ],
            );
            self.outstanding = 1;
        }
        self.dir = dir;
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut Cx<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress, Fail> {
        if tag < DELETE_BASE {
            let Some(list) = self.list.as_mut() else {
                return Err(super::file::invalid("unexpected listing response"));
            };
            let Some(entries) = list.step(cx, 0, tag, resp)? else {
                return Ok(Progress::Pending);
            };
            let files: Vec<FileInfo> = entries.into_iter().filter(|e| !e.is_directory()).collect();
            if files.is_empty() {
                return Err(status_err(NtStatus::NO_SUCH_FILE, "delete", &self.path));
            }
            for (i, f) in files.iter().enumerate() {
                let path = if self.dir.is_empty() {
                    f.name.clone()
                } else {
                    format!("{}\\{}", self.dir, f.name)
                };
                let t = DELETE_BASE + 2 * i;
                cx.send_related(
                    self.tree.0,
                    vec![
                        (t, create(&path, &delete_on_close())),
                        (t + 1, close(FileId::ANY)),
                    ],
                );
            }
            self.outstanding = files.len();
            return Ok(Progress::Pending);
        }
        check(&resp, "delete", &self.path)?;
        if (tag - DELETE_BASE) % 2 == 1 {
            self.deleted += 1;
            self.outstanding -= 1;
            if self.outstanding == 0 {
                return Ok(Progress::Done(Output::Count(self.deleted)));
            }
        }
        Ok(Progress::Pending)
    }
}
