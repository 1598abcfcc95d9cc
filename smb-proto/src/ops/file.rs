//! Handle-level operations (open, read, close, …) and the request builders the
//! multi-step operations share.

use crate::connection::{Cx, Fail, Operation, Progress, Response};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::close::CloseRequest;
use crate::wire::create::{
    access_mask, create_options, disposition, CreateRequest, CreateResponse, FileId,
};
use crate::wire::fscc::{self, file_attributes, share_access};
use crate::wire::query_info::{info_type, QueryInfoRequest, QueryInfoResponse};
use crate::wire::read::{ReadRequest, ReadResponse};
use crate::wire::request::RequestBody;
use crate::wire::simple::{EchoRequest, FlushRequest, LogoffRequest, TreeDisconnectRequest};

use super::{path, FileInfo, Handle, Output, TreeId};

/// How to open a path: MS-SMB2 2.2.13 DesiredAccess, CreateDisposition, CreateOptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// DesiredAccess mask.
    pub access: u32,
    /// CreateDisposition.
    pub disposition: u32,
    /// CreateOptions.
    pub create_options: u32,
    /// FileAttributes for a new file.
    pub attributes: u32,
}

impl OpenOptions {
    /// Open an existing file or directory for reading (FILE_GENERIC_READ).
    pub fn read() -> Self {
        OpenOptions {
            access: access_mask::FILE_GENERIC_READ,
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        }
    }

    /// Open for reading and writing, creating the file if missing, keeping contents.
    ///
    /// The access asked for is FILE_GENERIC_READ | FILE_GENERIC_WRITE (0x0012019F), what
    /// smbclient and Windows ask for: spelled out rather than as GENERIC_* bits, which a
    /// server must map itself, and wide enough for servers that require FILE_WRITE_EA and
    /// FILE_WRITE_ATTRIBUTES to overwrite (MS-FSA 2.1.5.1.2.1).
    pub fn read_write_create() -> Self {
        OpenOptions {
            access: access_mask::FILE_GENERIC_READ | access_mask::FILE_GENERIC_WRITE,
            disposition: disposition::OPEN_IF,
            create_options: create_options::NON_DIRECTORY_FILE,
            attributes: file_attributes::NORMAL,
        }
    }

    /// Create or truncate a file for writing, with the access of
    /// [`read_write_create`](Self::read_write_create).
    pub fn overwrite() -> Self {
        OpenOptions {
            access: access_mask::FILE_GENERIC_READ | access_mask::FILE_GENERIC_WRITE,
            disposition: disposition::OVERWRITE_IF,
            create_options: create_options::NON_DIRECTORY_FILE,
            attributes: file_attributes::NORMAL,
        }
    }
}

/// A CREATE for `path` (checked by [`Op::check`](crate::Op)). A path spelled as a
/// directory (a trailing separator) is opened only if it is one: FILE_DIRECTORY_FILE
/// makes the server answer STATUS_NOT_A_DIRECTORY for a file, rather than open the file
/// the shorter name reaches. File-only operations have refused such paths already.
pub(crate) fn create(path: &str, o: &OpenOptions) -> RequestBody {
    let (name, names_directory) = match path::parse(path) {
        Ok(p) => (p.name, p.names_directory),
        Err(_) => (path::wire_name(path), false),
    };
    let mut create_options = o.create_options;
    if names_directory && create_options & create_options::NON_DIRECTORY_FILE == 0 {
        create_options |= create_options::DIRECTORY_FILE;
    }
    RequestBody::Create(CreateRequest {
        desired_access: o.access,
        file_attributes: o.attributes,
        share_access: share_access::READ | share_access::WRITE | share_access::DELETE,
        create_disposition: o.disposition,
        create_options,
        name,
        ..Default::default()
    })
}

/// A CLOSE of `file_id`.
pub(crate) fn close(file_id: FileId) -> RequestBody {
    RequestBody::Close(CloseRequest {
        file_id,
        ..Default::default()
    })
}

/// The operation failed with the server's `status` on `path`.
pub(crate) fn status_err(status: NtStatus, op: &'static str, path: &str) -> Fail {
    Fail::Op(Error::Status {
        status,
        op,
        path: path.to_string(),
    })
}

/// Checks a response's status.
pub(crate) fn check(resp: &Response, op: &'static str, path: &str) -> Result<(), Fail> {
    match resp.status() {
        NtStatus::SUCCESS => Ok(()),
        s => Err(status_err(s, op, path)),
    }
}

/// Metadata from a CREATE response.
pub(crate) fn info_from_create(c: &CreateResponse, path: &str) -> FileInfo {
    FileInfo {
        name: super::split_parent(path).1,
        size: c.end_of_file,
        allocation_size: c.allocation_size,
        attributes: c.file_attributes,
        creation_time: c.creation_time,
        last_access_time: c.last_access_time,
        last_write_time: c.last_write_time,
        change_time: c.change_time,
    }
}

pub(crate) struct Open {
    tree: TreeId,
    path: String,
    options: OpenOptions,
}

impl Open {
    pub(crate) fn new(tree: TreeId, path: String, options: OpenOptions) -> Self {
        Open {
            tree,
            path,
            options,
        }
    }
}

impl Operation for Open {
    fn label(&self) -> (&'static str, &str) {
        ("open", &self.path)
    }

    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        cx.send(0, self.tree.0, create(&self.path, &self.options));
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        _cx: &mut Cx<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress, Fail> {
        check(&resp, "open", &self.path)?;
        let c = CreateResponse::decode(&resp.msg)?;
        let handle = Handle {
            tree: self.tree,
            file_id: c.file_id,
        };
        Ok(Progress::Done(Output::Opened(
            handle,
            info_from_create(&c, &self.path),
        )))
    }
}

/// What a single-request operation's response means.
enum Kind {
    QueryInfo,
    TreeDisconnect,
    Logoff,
    Echo,
    Read,
    Flush,
    Close,
}

/// An operation of one request and one response.
pub(crate) struct Simple {
    kind: Kind,
    tree: u32,
    body: Option<RequestBody>,
}

impl Simple {
    pub(crate) fn tree_disconnect(tree: TreeId) -> Self {
        Simple {
            kind: Kind::TreeDisconnect,
            tree: tree.0,
            body: Some(RequestBody::TreeDisconnect(TreeDisconnectRequest)),
        }
    }

    pub(crate) fn logoff() -> Self {
        Simple {
            kind: Kind::Logoff,
            tree: 0,
            body: Some(RequestBody::Logoff(LogoffRequest)),
        }
    }

    pub(crate) fn echo() -> Self {
        Simple {
            kind: Kind::Echo,
            tree: 0,
            body: Some(RequestBody::Echo(EchoRequest)),
        }
    }

    pub(crate) fn read(h: Handle, offset: u64, len: u32) -> Self {
        let body = RequestBody::Read(ReadRequest {
            length: len,
            offset,
            file_id: h.file_id,
            ..Default::default()
        });
        Simple {
            kind: Kind::Read,
            tree: h.tree.0,
            body: Some(body),
        }
    }

    pub(crate) fn query_info(h: Handle) -> Self {
        let body = RequestBody::QueryInfo(QueryInfoRequest {
            info_type: info_type::FILE,
            file_info_class: fscc::class::FILE_ALL_INFORMATION,
            // FileAllInformation is ~100 bytes plus the name (MS-FSCC 2.4.2).
            output_buffer_length: 4096,
            file_id: h.file_id,
            ..Default::default()
        });
        Simple {
            kind: Kind::QueryInfo,
            tree: h.tree.0,
            body: Some(body),
        }
    }

    pub(crate) fn flush(h: Handle) -> Self {
        let body = RequestBody::Flush(FlushRequest { file_id: h.file_id });
        Simple {
            kind: Kind::Flush,
            tree: h.tree.0,
            body: Some(body),
        }
    }

    pub(crate) fn close(h: Handle) -> Self {
        Simple {
            kind: Kind::Close,
            tree: h.tree.0,
            body: Some(close(h.file_id)),
        }
    }

    fn name(&self) -> &'static str {
        match self.kind {
            Kind::QueryInfo => "query info",
            Kind::TreeDisconnect => "tree disconnect",
            Kind::Logoff => "logoff",
            Kind::Echo => "echo",
            Kind::Read => "read",
            Kind::Flush => "flush",
            Kind::Close => "close",
        }
    }
}

impl Operation for Simple {
    fn label(&self) -> (&'static str, &str) {
        (self.name(), "")
    }

    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        let mut body = self
            .body
            .take()
            .ok_or_else(|| Fail::Op(Error::Invalid("started twice".into())))?;
        if let RequestBody::Read(r) = &mut body {
            r.length = r.length.min(cx.negotiated().max_read_size);
        }
        cx.send(0, self.tree, body);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut Cx<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress, Fail> {
        if matches!(self.kind, Kind::Read) && resp.status() == NtStatus::END_OF_FILE {
            return Ok(Progress::Done(Output::Data(bytes::Bytes::new())));
        }
        check(&resp, self.name(), "")?;
        Ok(Progress::Done(match self.kind {
            Kind::Read => Output::Data(ReadResponse::decode(&resp.msg)?.data),
            Kind::QueryInfo => {
                let buf = QueryInfoResponse::decode(&resp.msg)?.buffer;
                let all = fscc::FileAllInformation::decode(&buf)?;
                let name = all
                    .file_name
                    .rsplit('\\')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                Output::Info(FileInfo {
                    name,
                    size: all.standard.end_of_file,
                    allocation_size: all.standard.allocation_size,
                    attributes: all.basic.file_attributes,
                    creation_time: all.basic.creation_time,
                    last_access_time: all.basic.last_access_time,
                    last_write_time: all.basic.last_write_time,
                    change_time: all.basic.change_time,
                })
            }
            Kind::TreeDisconnect => {
                cx.core.trees.remove(&self.tree);
                Output::Done
            }
            Kind::Logoff => {
                cx.core.session.established = false;
                Output::Done
            }
            Kind::Echo | Kind::Flush | Kind::Close => Output::Done,
        }))
    }
}

/// An Error for a caller mistake.
pub(crate) fn invalid(msg: impl Into<String>) -> Fail {
    Fail::Op(Error::Invalid(msg.into()))
}
