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

use crate::wire::error::{error_id, ErrorResponse};

use super::file::{check, close, create, status_err};
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
/// the same file between them (as `O_APPEND` is not over NFS); on SMB1 the size comes
/// from a TRANS2_QUERY_FILE_INFORMATION. A WRITE at offset
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
        if cx.is_smb1() {
            super::smb1::query_file_all(cx, 0, self.handle, "append")?;
            return Ok(Progress::Pending);
        }
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
        let end = if cx.is_smb1() {
            let data = super::smb1::trans(&resp)?.data;
            crate::wire::smb1::trans2::QueryFileAllInfo::decode(&data)?.end_of_file
        } else {
            let buffer = QueryInfoResponse::decode(&resp.msg)?.buffer;
            FileStandardInformation::decode(&buffer)?.end_of_file
        };
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

/// The OutputBufferLength of a [`QueryPathInfo`]'s first QUERY_INFO: what one credit
/// pays for; every fixed-size class and names of thousands of characters fit.
const QUERY_BUFFER_LEN: u32 = 64 * 1024;

const OPEN: usize = 0;
const QUERY: usize = 1;
const CLOSE: usize = 2;

/// What one round's QUERY_INFO said.
#[derive(Debug, Clone)]
enum Answer {
    Buffer(Bytes),
    /// The answer needs this many bytes: ask again.
    Retry(u32),
}

/// QUERY_INFO of one information class on a path → the server's buffer, undecoded:
/// CREATE (FILE_READ_ATTRIBUTES unless [`access`](Self::access) says otherwise) +
/// QUERY_INFO + CLOSE in one compound. pike's `stat(file_information_class, info_type)`;
/// [`PathInfo`] decodes the classes this crate knows.
///
/// The first QUERY_INFO asks for at most [`buffer_len`](Self::buffer_len) bytes (64 KiB
/// unless set). An answer that does not fit (STATUS_BUFFER_TOO_SMALL with the size it
/// needs, or STATUS_BUFFER_OVERFLOW, which says no size: then the most allowed is asked
/// for) costs one more compound, but only when [`max_len`](Self::max_len) allows more
/// than the first asked for (by default it does not: the status is the result, never a
/// cut answer). Each compound closes what it opened, so the operation never holds a
/// handle between round trips.
#[derive(Debug, Clone)]
pub struct QueryPathInfo {
    share: String,
    path: String,
    label: &'static str,
    info_type: u8,
    class: u8,
    access: u32,
    additional_information: u32,
    flags: u32,
    buffer_len: u32,
    max_len: u32,
    /// A status of the QUERY_INFO that means "nothing to say" (STATUS_NO_EAS_ON_FILE).
    empty_on: Option<NtStatus>,
    retried: bool,
    answer: Option<Answer>,
    closed: bool,
}

impl QueryPathInfo {
    /// Queries file information class `class` ([`fscc::class`]) of `path` on `share`.
    pub fn new(share: &str, path: &str, class: u8) -> Self {
        QueryPathInfo {
            share: share.to_string(),
            path: path.to_string(),
            label: "query info",
            info_type: info_type::FILE,
            class,
            access: access_mask::FILE_READ_ATTRIBUTES | access_mask::SYNCHRONIZE,
            additional_information: 0,
            flags: 0,
            buffer_len: QUERY_BUFFER_LEN,
            max_len: QUERY_BUFFER_LEN,
            empty_on: None,
            retried: false,
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

    /// Queries the security descriptor of `path` on `share` (SMB2_0_INFO_SECURITY), the
    /// parts `additional_information` names.
    pub fn security(share: &str, path: &str, additional_information: u32) -> Self {
        QueryPathInfo {
            info_type: info_type::SECURITY,
            additional_information,
            ..QueryPathInfo::new(share, path, 0)
        }
    }

    /// Opens the path with `access` instead (a class such as FileFullEaInformation
    /// needs FILE_READ_EA).
    pub fn access(mut self, access: u32) -> Self {
        self.access = access;
        self
    }

    /// The QUERY_INFO's Flags ([`flags`](crate::wire::query_info::flags), for EA and
    /// quota queries).
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }

    /// The first QUERY_INFO's OutputBufferLength (64 KiB unless set; never more than
    /// the server's MaxTransactSize).
    pub fn buffer_len(mut self, len: u32) -> Self {
        self.buffer_len = len;
        self
    }

    /// The largest answer a second QUERY_INFO may ask for (64 KiB unless set; never more
    /// than the server's MaxTransactSize).
    pub fn max_len(mut self, len: u32) -> Self {
        self.max_len = len;
        self
    }

    /// Takes `status` from the QUERY_INFO as an empty answer (STATUS_NO_EAS_ON_FILE:
    /// no EA is an empty list).
    pub fn empty_on(mut self, status: NtStatus) -> Self {
        self.empty_on = Some(status);
        self
    }

    /// The AdditionalInformation of a security query: which parts of the descriptor.
    pub(crate) fn security_parts(mut self, parts: u32) -> Self {
        self.additional_information = parts;
        self
    }

    /// Names the operation `label` in its errors and logs.
    pub(crate) fn labelled(mut self, label: &'static str) -> Self {
        self.label = label;
        self
    }

    fn send_round(&mut self, cx: &mut OpContext<'_>) {
        let o = OpenOptions {
            access: self.access,
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        let query = RequestBody::QueryInfo(QueryInfoRequest {
            info_type: self.info_type,
            file_info_class: self.class,
            output_buffer_length: self.buffer_len.min(cx.negotiated().max_transact_size),
            additional_information: self.additional_information,
            flags: self.flags,
            file_id: FileId::ANY,
            ..Default::default()
        });
        self.answer = None;
        self.closed = false;
        cx.send_related(vec![
            (OPEN, create(&self.path, &o)),
            (QUERY, query),
            (CLOSE, close(FileId::ANY)),
        ]);
    }

    /// A file information class over SMB1: TRANS2_QUERY_PATH_INFORMATION at the
    /// pass-through level 1000 + class (MS-SMB 2.2.2.3.5), whose data is the MS-FSCC
    /// structure. FileAllInformation is the exception: Samba lays its pass-through level
    /// out differently from MS-FSCC, so it is refused rather than handed back in another
    /// layout, as are the other information types (file system, security, quota), whose
    /// SMB1 forms are their own operations'.
    fn start_smb1(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Bytes>, Fail> {
        if self.info_type != info_type::FILE || self.class == fscc::class::FILE_ALL_INFORMATION {
            return Err(super::smb1::unsupported(self.label));
        }
        let name = path::wire_name(&self.path);
        let level = crate::wire::smb1::trans2::level::PASS_THROUGH + u16::from(self.class);
        let req = crate::wire::smb1::trans2::query_path_info(&name, level);
        let req = crate::wire::smb1::Smb1Request::Trans(req);
        super::smb1::send(cx, SMB1_QUERY_PATH, req, self.label, &self.path)?;
        Ok(Progress::Pending)
    }

    /// What a QUERY_INFO response says: the buffer, or how much to ask for instead.
    fn answer(&self, cx: &OpContext<'_>, resp: &Response) -> Result<Answer, Fail> {
        let status = resp.status();
        let most = self.max_len.min(cx.negotiated().max_transact_size);
        let asked = self.buffer_len.min(cx.negotiated().max_transact_size);
        let needed = match status {
            NtStatus::SUCCESS => {
                return Ok(Answer::Buffer(QueryInfoResponse::decode(&resp.msg)?.buffer));
            }
            s if Some(s) == self.empty_on => return Ok(Answer::Buffer(Bytes::new())),
            // MS-SMB2 3.3.5.20.3: ErrorData holds the size the answer needs (Samba sends
            // it for security descriptors; without it, ask for the most allowed).
            NtStatus::BUFFER_TOO_SMALL => required_size(resp)?.unwrap_or(most),
            // A server that truncates instead says nothing of the size.
            NtStatus::BUFFER_OVERFLOW => most,
            s => return Err(status_err(s, self.label, &self.path)),
        };
        // A second round is the only one: a server that keeps asking for more, or asks
        // for more than allowed, gets its status back.
        if self.retried || needed <= asked || needed > most {
            return Err(status_err(status, self.label, &self.path));
        }
        Ok(Answer::Retry(needed))
    }

    /// Ends the round once both the QUERY_INFO and the CLOSE are answered, whatever their
    /// order.
    fn settle(&mut self, cx: &mut OpContext<'_>) -> Progress<Bytes> {
        if !self.closed {
            return Progress::Pending;
        }
        match self.answer.take() {
            Some(Answer::Buffer(buffer)) => Progress::Done(buffer),
            Some(Answer::Retry(len)) => {
                self.buffer_len = len;
                self.retried = true;
                self.send_round(cx);
                Progress::Pending
            }
            None => Progress::Pending,
        }
    }
}

/// The 4-byte size in a STATUS_BUFFER_TOO_SMALL's ErrorData (in its default error
/// context on 3.1.1), if it carries one.
fn required_size(resp: &Response) -> Result<Option<u32>, Fail> {
    let err = ErrorResponse::decode(&resp.msg)?;
    let data = err
        .contexts()?
        .into_iter()
        .find(|c| c.error_id == error_id::DEFAULT)
        .map(|c| c.data)
        .unwrap_or_default();
    Ok(<[u8; 4]>::try_from(data.get(..4).unwrap_or_default())
        .ok()
        .map(u32::from_le_bytes))
}

impl Operation for QueryPathInfo {
    type Output = Bytes;

    fn label(&self) -> (&'static str, &str) {
        (self.label, &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path(self.label, &self.path)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Bytes>, Fail> {
        if cx.is_smb1() {
            return self.start_smb1(cx);
        }
        self.send_round(cx);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<Bytes>, Fail> {
        match tag {
            SMB1_QUERY_PATH => {
                check(&resp, self.label, &self.path)?;
                return Ok(Progress::Done(super::smb1::trans(&resp)?.data));
            }
            OPEN => check(&resp, self.label, &self.path)?,
            QUERY => self.answer = Some(self.answer(cx, &resp)?),
            _ => {
                check(&resp, self.label, &self.path)?;
                self.closed = true;
            }
        }
        Ok(self.settle(cx))
    }
}

/// A [`QueryPathInfo`]'s progress with its answer decoded by `decode`.
pub(crate) fn decoded<T>(
    p: Progress<Bytes>,
    decode: impl FnOnce(&[u8]) -> Result<T, Fail>,
) -> Result<Progress<T>, Fail> {
    Ok(match p {
        Progress::Pending => Progress::Pending,
        Progress::Done(buffer) => Progress::Done(decode(&buffer)?),
    })
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

    /// How the class is asked for, where the defaults do not fit (access, flags, a
    /// status that means "none", how large an answer may be, the operation's name).
    fn query(q: QueryPathInfo) -> QueryPathInfo {
        q
    }

    /// The TRANS2 QUERY_PATH_INFORMATION level that asks an SMB1 server for the same
    /// information (MS-CIFS 2.2.8.3), if there is one; without one the query fails on
    /// SMB1 with [`Error::Unsupported`].
    const SMB1_LEVEL: Option<u16> = None;

    /// Decodes the data of an SMB1 answer at [`Self::SMB1_LEVEL`]: the SMB2 buffer's
    /// layout unless the level has its own.
    ///
    /// # Errors
    ///
    /// Data that does not hold the level.
    fn decode_smb1(data: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_info(data)
    }
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
            query: C::query(QueryPathInfo::new(share, path, C::CLASS)),
            class: PhantomData,
        }
    }

    /// The first QUERY_INFO's OutputBufferLength ([`QueryPathInfo::buffer_len`]); a
    /// longer answer takes a second round trip.
    pub fn buffer_len(mut self, len: u32) -> Self {
        self.query = self.query.buffer_len(len);
        self
    }

    fn decoded(p: Progress<Bytes>) -> Result<Progress<C>, Fail> {
        decoded(p, |b| Ok(C::decode_info(b)?))
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
        if let Some(level) = C::SMB1_LEVEL.filter(|_| cx.is_smb1()) {
            let (label, path) = self.query.label();
            let name = path::wire_name(path);
            let req = crate::wire::smb1::trans2::query_path_info(&name, level);
            let req = crate::wire::smb1::Smb1Request::Trans(req);
            super::smb1::send(cx, SMB1_QUERY_PATH, req, label, path)?;
            return Ok(Progress::Pending);
        }
        Self::decoded(self.query.start(cx)?)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<C>, Fail> {
        if tag == SMB1_QUERY_PATH {
            let (label, path) = self.query.label();
            check(&resp, label, path)?;
            let data = super::smb1::trans(&resp)?.data;
            return Ok(Progress::Done(C::decode_smb1(&data)?));
        }
        Self::decoded(self.query.on_response(cx, tag, resp)?)
    }
}

/// The tag of a [`PathInfo`]'s SMB1 TRANS2 QUERY_PATH_INFORMATION.
const SMB1_QUERY_PATH: usize = 10;
