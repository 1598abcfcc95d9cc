//! The operations behind the pathlib-style API that no simpler operation covers:
//! pathlib's `mkdir(parents, exist_ok)` ([`MakeDirectory`]), a write at whatever the end
//! of a file is ([`Append`], for files opened in `a` mode), QUERY_INFO of any
//! information class on a path ([`QueryPathInfo`], typed by [`PathInfo`]).

use std::marker::PhantomData;

use bytes::Bytes;

use crate::connection::{
    ChildId, Fail, OpContext, OpOutput, Operation, Progress, RequestOptions, Response,
};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::create::{access_mask, disposition, FileId};
use crate::wire::fscc::{
    self, FileAllInformation, FileBasicInformation, FileNameInformation, FileStandardInformation,
    FileStreamInformation,
};
use crate::wire::query_info::{info_type, QueryInfoRequest, QueryInfoResponse};
use crate::wire::request::RequestBody;
use crate::wire::DecodeError;

use super::file::{check, close, create};
use super::{path, FileInfo, Handle, Mkdir, MkdirAll, OpenOptions, Stat, Write};

/// Where a [`MakeDirectory`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MkdirStep {
    /// The directory's own CREATE, the first time.
    Create,
    /// The missing parents, after the first CREATE found none.
    Parents,
    /// The directory's CREATE again, now that its parents exist.
    Retry,
    /// A stat after a name collision: `exist_ok` holds only for a directory.
    Check,
}

/// pathlib's `mkdir(parents, exist_ok)` → nothing: creates a directory, and with
/// `parents` its missing parents (only when the first attempt finds one missing, so an
/// existing parent costs nothing); with `exist_ok`, an existing directory is success
/// but an existing file is still [`AlreadyExists`](crate::ErrorKind::AlreadyExists),
/// as in pathlib.
///
/// A file where a parent should be is
/// [`NotADirectory`](crate::ErrorKind::NotADirectory) (like `mkdir -p`), or
/// [`NotFound`](crate::ErrorKind::NotFound) without `parents`.
#[derive(Debug)]
pub struct MakeDirectory {
    share: String,
    path: String,
    parents: bool,
    exist_ok: bool,
    step: MkdirStep,
    /// The collision a stat is checking, returned when the name is not a directory.
    collision: Option<Error>,
}

impl MakeDirectory {
    /// Creates directory `path` on `share`; its parent must exist and it must not.
    pub fn new(share: &str, path: &str) -> Self {
        MakeDirectory {
            share: share.to_string(),
            path: path.to_string(),
            parents: false,
            exist_ok: false,
            step: MkdirStep::Create,
            collision: None,
        }
    }

    /// Also creates missing parents (pathlib's `parents=True`).
    pub fn parents(mut self, parents: bool) -> Self {
        self.parents = parents;
        self
    }

    /// An existing directory is success (pathlib's `exist_ok=True`).
    pub fn exist_ok(mut self, exist_ok: bool) -> Self {
        self.exist_ok = exist_ok;
        self
    }
}

impl Operation for MakeDirectory {
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
        cx.start_child(Mkdir::new(&self.share, &self.path));
        Ok(Progress::Pending)
    }

    fn on_child(
        &mut self,
        cx: &mut OpContext<'_>,
        _child: ChildId,
        result: Result<OpOutput, Error>,
    ) -> Result<Progress<()>, Fail> {
        match (self.step, result) {
            (MkdirStep::Check, result) => {
                let info: FileInfo = result?.downcast()?;
                match self.collision.take() {
                    Some(collision) if !info.is_directory() => Err(Fail::Op(collision)),
                    _ => Ok(Progress::Done(())),
                }
            }
            (MkdirStep::Parents, result) => {
                result?;
                self.step = MkdirStep::Retry;
                cx.start_child(Mkdir::new(&self.share, &self.path));
                Ok(Progress::Pending)
            }
            (_, Ok(_)) => Ok(Progress::Done(())),
            (step, Err(e)) => {
                let parent = super::split_parent(&self.path).0;
                if e.status() == Some(NtStatus::OBJECT_NAME_COLLISION) && self.exist_ok {
                    self.step = MkdirStep::Check;
                    self.collision = Some(e);
                    cx.start_child(Stat::new(&self.share, &self.path));
                    Ok(Progress::Pending)
                } else if step == MkdirStep::Create
                    && self.parents
                    && !parent.is_empty()
                    && e.kind() == crate::ErrorKind::NotFound
                {
                    self.step = MkdirStep::Parents;
                    cx.start_child(MkdirAll::new(&self.share, &parent));
                    Ok(Progress::Pending)
                } else {
                    Err(Fail::Op(e))
                }
            }
        }
    }
}

/// Writes bytes at the end of an open file, wherever that end is when the server gets
/// the request → the offset just past the bytes written. Every write of a file opened
/// for appending (Python's `a` mode) is one.
///
/// A QUERY_INFO (FileStandardInformation) learns the end of file, then a [`Write`]
/// writes there: two round trips, and not atomic against another client appending to
/// the same file between them (as `O_APPEND` is not over NFS). A WRITE at offset
/// `0xFFFFFFFFFFFFFFFF` (MS-FSA's FILE_WRITE_TO_END_OF_FILE) would be, but it would not
/// tell where the bytes landed, and servers differ in whether they honour it.
#[derive(Debug)]
pub struct Append {
    handle: Handle,
    data: Bytes,
    /// The end of file the write went to, once known.
    at: Option<u64>,
}

impl Append {
    /// Appends `data` to `handle`'s file.
    pub fn new(handle: Handle, data: Bytes) -> Self {
        Append {
            handle,
            data,
            at: None,
        }
    }
}

impl Operation for Append {
    type Output = u64;

    fn label(&self) -> (&'static str, &str) {
        ("append", "")
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<u64>, Fail> {
        let body = RequestBody::QueryInfo(QueryInfoRequest {
            info_type: info_type::FILE,
            file_info_class: fscc::class::FILE_STANDARD_INFORMATION,
            output_buffer_length: FileStandardInformation::LEN as u32,
            file_id: self.handle.file_id,
            ..Default::default()
        });
        cx.send_with(0, body, RequestOptions::on(self.handle.tree));
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress<u64>, Fail> {
        check(&resp, "append", "")?;
        let buffer = QueryInfoResponse::decode(&resp.msg)?.buffer;
        let end = FileStandardInformation::decode(&buffer)?.end_of_file;
        self.at = Some(end);
        let data = std::mem::take(&mut self.data);
        cx.start_child(Write::new(self.handle, end, data));
        Ok(Progress::Pending)
    }

    fn on_child(
        &mut self,
        _cx: &mut OpContext<'_>,
        _child: ChildId,
        result: Result<OpOutput, Error>,
    ) -> Result<Progress<u64>, Fail> {
        let written: u64 = result?.downcast()?;
        Ok(Progress::Done(self.at.unwrap_or_default() + written))
    }
}

/// The OutputBufferLength of a [`QueryPathInfo`]: every fixed-size class and names of
/// thousands of characters fit; a larger answer fails with STATUS_BUFFER_OVERFLOW.
const QUERY_BUFFER_LEN: u32 = 64 * 1024;

/// QUERY_INFO of one information class on a path → the server's buffer, undecoded:
/// CREATE (FILE_READ_ATTRIBUTES unless [`access`](Self::access) says otherwise) +
/// QUERY_INFO + CLOSE in one compound. pike's `stat(file_information_class, info_type)`;
/// [`PathInfo`] decodes the classes this crate knows.
///
/// An answer larger than 64 KiB fails with its status (STATUS_BUFFER_OVERFLOW) rather
/// than come back cut.
#[derive(Debug, Clone)]
pub struct QueryPathInfo {
    share: String,
    path: String,
    info_type: u8,
    class: u8,
    access: u32,
    answer: Option<Bytes>,
    closed: bool,
}

impl QueryPathInfo {
    /// Queries file information class `class` ([`fscc::class`]) of `path` on `share`.
    pub fn new(share: &str, path: &str, class: u8) -> Self {
        QueryPathInfo {
            share: share.to_string(),
            path: path.to_string(),
            info_type: info_type::FILE,
            class,
            access: access_mask::FILE_READ_ATTRIBUTES | access_mask::SYNCHRONIZE,
            answer: None,
            closed: false,
        }
    }

    /// Queries file system information class `class` ([`fscc::fs_class`]) of the
    /// volume holding `path` on `share`.
    pub fn filesystem(share: &str, path: &str, class: u8) -> Self {
        QueryPathInfo {
            info_type: info_type::FILESYSTEM,
            ..QueryPathInfo::new(share, path, class)
        }
    }

    /// Opens the path with `access` instead (a class such as FileFullEaInformation
    /// needs FILE_READ_EA).
    pub fn access(mut self, access: u32) -> Self {
        self.access = access;
        self
    }
}

impl Operation for QueryPathInfo {
    type Output = Bytes;

    fn label(&self) -> (&'static str, &str) {
        ("query info", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path("query info", &self.path)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Bytes>, Fail> {
        let o = OpenOptions {
            access: self.access,
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        let query = RequestBody::QueryInfo(QueryInfoRequest {
            info_type: self.info_type,
            file_info_class: self.class,
            output_buffer_length: QUERY_BUFFER_LEN.min(cx.negotiated().max_transact_size),
            file_id: FileId::ANY,
            ..Default::default()
        });
        cx.send_related(vec![
            (0, create(&self.path, &o)),
            (1, query),
            (2, close(FileId::ANY)),
        ]);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        _cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<Bytes>, Fail> {
        check(&resp, "query info", &self.path)?;
        match tag {
            0 => {}
            1 => self.answer = Some(QueryInfoResponse::decode(&resp.msg)?.buffer),
            _ => self.closed = true,
        }
        // The CLOSE may be answered before the QUERY_INFO.
        Ok(match (self.closed, self.answer.take()) {
            (true, Some(answer)) => Progress::Done(answer),
            (_, answer) => {
                self.answer = answer;
                Progress::Pending
            }
        })
    }
}

/// An MS-FSCC file information class this crate decodes, for a typed [`PathInfo`].
pub trait FileInfoClass: Sized + Send + std::fmt::Debug + 'static {
    /// Its FileInformationClass ([`fscc::class`]).
    const CLASS: u8;

    /// Decodes a QUERY_INFO answer.
    ///
    /// # Errors
    ///
    /// A buffer that does not hold the class.
    fn decode_info(buffer: &[u8]) -> Result<Self, DecodeError>;
}

impl FileInfoClass for FileBasicInformation {
    const CLASS: u8 = fscc::class::FILE_BASIC_INFORMATION;
    fn decode_info(buffer: &[u8]) -> Result<Self, DecodeError> {
        FileBasicInformation::decode(buffer)
    }
}

impl FileInfoClass for FileStandardInformation {
    const CLASS: u8 = fscc::class::FILE_STANDARD_INFORMATION;
    fn decode_info(buffer: &[u8]) -> Result<Self, DecodeError> {
        FileStandardInformation::decode(buffer)
    }
}

impl FileInfoClass for FileAllInformation {
    const CLASS: u8 = fscc::class::FILE_ALL_INFORMATION;
    fn decode_info(buffer: &[u8]) -> Result<Self, DecodeError> {
        FileAllInformation::decode(buffer)
    }
}

/// FileNameInformation: the path from the share's root, with a leading `\`.
impl FileInfoClass for FileNameInformation {
    const CLASS: u8 = fscc::class::FILE_NAME_INFORMATION;
    fn decode_info(buffer: &[u8]) -> Result<Self, DecodeError> {
        FileNameInformation::decode(buffer)
    }
}

/// FileStreamInformation: every data stream of the file (`::$DATA` for the unnamed one).
impl FileInfoClass for Vec<FileStreamInformation> {
    const CLASS: u8 = fscc::class::FILE_STREAM_INFORMATION;
    fn decode_info(buffer: &[u8]) -> Result<Self, DecodeError> {
        FileStreamInformation::parse_all(buffer)
    }
}

/// [`QueryPathInfo`] of class `C`, decoded → a `C`.
///
/// ```
/// use smb_proto::ops::PathInfo;
/// use smb_proto::wire::fscc::FileStandardInformation;
/// // Run by any driver: `conn.call(op)?.number_of_links` (blocking), or
/// // `client.call(op).await?` (async); the paths' `stat_info` do this.
/// let op = PathInfo::<FileStandardInformation>::new("share", "a.txt");
/// ```
#[derive(Debug)]
pub struct PathInfo<C> {
    query: QueryPathInfo,
    class: PhantomData<fn() -> C>,
}

impl<C: FileInfoClass> PathInfo<C> {
    /// Queries class `C` of `path` on `share`.
    pub fn new(share: &str, path: &str) -> Self {
        PathInfo {
            query: QueryPathInfo::new(share, path, C::CLASS),
            class: PhantomData,
        }
    }

    fn decoded(p: Progress<Bytes>) -> Result<Progress<C>, Fail> {
        Ok(match p {
            Progress::Pending => Progress::Pending,
            Progress::Done(buffer) => Progress::Done(C::decode_info(&buffer)?),
        })
    }
}

impl<C: FileInfoClass> Operation for PathInfo<C> {
    type Output = C;

    fn label(&self) -> (&'static str, &str) {
        self.query.label()
    }

    fn share(&self) -> Option<&str> {
        self.query.share()
    }

    fn check(&self) -> Result<(), Error> {
        self.query.check()
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<C>, Fail> {
        Self::decoded(self.query.start(cx)?)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<C>, Fail> {
        Self::decoded(self.query.on_response(cx, tag, resp)?)
    }
}
