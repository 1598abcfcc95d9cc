//! Handle-level operations (open, read, close, …) and the request builders the
//! multi-step operations share.

use bytes::Bytes;

use crate::config::Dialect;
use crate::connection::{BreakKey, Fail, OpContext, Operation, Progress, RequestOptions, Response};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::close::CloseRequest;
use crate::wire::create::{
    access_mask, context_name, create_options, disposition, oplock_level, CreateRequest,
    CreateResponse, DurableRequestV2, DurableResponseV2, FileId, LeaseContext,
};
use crate::wire::fscc::{self, file_attributes, share_access, FileTime};
use crate::wire::negotiate::capabilities;
use crate::wire::query_info::{info_type, QueryInfoRequest, QueryInfoResponse};
use crate::wire::request::RequestBody;
use crate::wire::set_info::SetInfoRequest;
use crate::wire::simple::{EchoRequest, FlushRequest, LogoffRequest, TreeDisconnectRequest};
use crate::wire::smb1::{file as smb1_file, handle_info, trans2, Smb1Request};

use super::lease::LeaseState;
use super::{path, FileInfo, Handle, TreeId};

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

/// A CREATE for `path` (checked by [`Operation::check`](crate::Operation::check)). A path spelled as a
/// directory (a trailing separator) is opened only if it is one: FILE_DIRECTORY_FILE
/// makes the server answer STATUS_NOT_A_DIRECTORY for a file, rather than open the file
/// the shorter name reaches. File-only operations have refused such paths already.
pub(crate) fn create(path: &str, o: &OpenOptions) -> RequestBody {
    create_at(path, o, None)
}

/// [`create`], of `path` as it was in the snapshot (previous version) taken at
/// `snapshot` when there is one: the CREATE carries the SMB2_CREATE_TIMEWARP_TOKEN
/// context (MS-SMB2 2.2.13.2.7), whose data is that FILETIME.
pub(crate) fn create_at(path: &str, o: &OpenOptions, snapshot: Option<FileTime>) -> RequestBody {
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
        create_contexts: snapshot
            .map(|t| {
                (
                    context_name::TIMEWARP_TOKEN.to_vec(),
                    t.0.to_le_bytes().to_vec(),
                )
            })
            .into_iter()
            .collect(),
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
    Fail::Op(Error::failed(status, op, path.to_string()))
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
        short_name: String::new(),
        file_id: 0,
        size: c.end_of_file,
        allocation_size: c.allocation_size,
        attributes: c.file_attributes,
        creation_time: c.creation_time,
        last_access_time: c.last_access_time,
        last_write_time: c.last_write_time,
        change_time: c.change_time,
    }
}

/// Opens a file or directory (CREATE) → its handle and facts; close it with [`Close`].
/// [`Open::with_lease`] asks for a lease or oplock, which the core then holds for the
/// handle until its CLOSE ([`lease`](super::lease)).
#[derive(Debug, Clone)]
pub struct Open {
    share: String,
    path: String,
    options: OpenOptions,
    /// The lease state bits asked for, if any.
    lease: Option<u32>,
    /// The lease key asked with, once drawn.
    lease_key: Option<[u8; 16]>,
    /// The handle opened, when the open fails after the CREATE succeeded (a lease
    /// granted wrongly): [`Operation::cleanup`] closes it.
    opened: Option<Handle>,
    /// Whether to ask for a durable handle (SMB 3.x).
    durable: bool,
    /// The CreateGuid of the durable request, once drawn.
    create_guid: Option<[u8; 16]>,
}

impl Open {
    /// Opens `path` on `share` with `options`.
    pub fn new(share: &str, path: &str, options: OpenOptions) -> Self {
        Open {
            share: share.to_string(),
            path: path.to_string(),
            options,
            lease: None,
            lease_key: None,
            opened: None,
            durable: false,
            create_guid: None,
        }
    }

    /// Asks for a durable handle (SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2, MS-SMB2
    /// 2.2.13.2.11) on SMB 3.x: an open the server keeps for a while when the connection
    /// drops, which [`Reclaim`](super::Reclaim) takes back on a new one. Servers grant it
    /// only to an open holding a handle lease or a batch oplock, so combine it with
    /// [`with_lease`](Self::with_lease) asking for `H`. The core remembers what was
    /// granted ([`Connection::durable_opens`](crate::Connection::durable_opens)); older
    /// dialects open as without it.
    ///
    /// ```
    /// use smb_proto::ops::{LeaseState, Open, OpenOptions};
    /// let open = Open::new("share", "data.bin", OpenOptions::read_write_create())
    ///     .with_lease(LeaseState::R | LeaseState::W | LeaseState::H)
    ///     .durable();
    /// # let _ = open;
    /// ```
    pub fn durable(mut self) -> Self {
        self.durable = true;
        self
    }

    /// Adds the durable request to `body`, a CREATE, on SMB 3.x.
    fn ask_durable(&mut self, cx: &mut OpContext<'_>, body: &mut RequestBody) {
        let RequestBody::Create(c) = body else { return };
        if !self.durable || cx.negotiated().dialect < Dialect::Smb300 {
            return;
        }
        let create_guid = cx.random::<16>();
        self.create_guid = Some(create_guid);
        let dh2q = DurableRequestV2 {
            timeout: 0,
            flags: 0,
            create_guid,
        };
        c.create_contexts.push((
            context_name::DURABLE_HANDLE_REQUEST_V2.to_vec(),
            dh2q.encode(),
        ));
    }

    /// Makes the core remember the durable open `c` granted, if it granted one.
    fn hold_durable(
        &self,
        cx: &mut OpContext<'_>,
        c: &CreateResponse,
        lease: Option<LeaseContext>,
    ) -> Result<(), Fail> {
        let (Some(create_guid), Some((_, data))) = (
            self.create_guid,
            c.create_contexts
                .iter()
                .find(|(name, _)| &name[..] == context_name::DURABLE_HANDLE_REQUEST_V2),
        ) else {
            return Ok(());
        };
        let granted = DurableResponseV2::decode(data)?;
        cx.hold_durable(super::DurableOpen {
            share: self.share.clone(),
            path: self.path.clone(),
            options: self.options,
            file_id: c.file_id,
            create_guid,
            timeout: granted.timeout,
            lease,
            oplock: c.oplock_level,
        });
        Ok(())
    }

    /// Asks for caching `want` (lease state bits, [`LeaseState::R`] | [`LeaseState::W`]
    /// | [`LeaseState::H`]): a lease on SMB 2.1 and later when the server offers leasing
    /// (v2, with an epoch, on 3.x), else the oplock that stands for it (batch for RWH,
    /// exclusive for RW, level II for R). The server may grant less, or nothing;
    /// [`LeaseStatus`](super::LeaseStatus) tells what the handle holds.
    ///
    /// ```
    /// use smb_proto::ops::{LeaseState, Open, OpenOptions};
    /// let open = Open::new("share", "data.bin", OpenOptions::read())
    ///     .with_lease(LeaseState::R | LeaseState::H);
    /// # let _ = open;
    /// ```
    pub fn with_lease(mut self, want: u32) -> Self {
        self.lease = Some(want & (LeaseState::R | LeaseState::W | LeaseState::H));
        self
    }

    /// What every driver's `open_leased` sends: [`Open::with_lease`] with `want`, and
    /// [`Open::durable`], so that a lost connection can reclaim the handle (on 3.x).
    pub fn leased(share: &str, path: &str, options: OpenOptions, want: u32) -> Self {
        Open::new(share, path, options).with_lease(want).durable()
    }

    /// Adds the lease request (or oplock) to `body`, a CREATE.
    fn ask_caching(&mut self, cx: &mut OpContext<'_>, body: &mut RequestBody) {
        let (Some(want), RequestBody::Create(c)) = (self.lease, body) else {
            return;
        };
        let n = cx.negotiated();
        let (dialect, leasing) = (n.dialect, n.capabilities & capabilities::LEASING != 0);
        if dialect < Dialect::Smb210 || !leasing {
            c.requested_oplock_level = LeaseState::oplock_for(want);
            return;
        }
        let key = cx.random::<16>();
        self.lease_key = Some(key);
        let lease = LeaseContext {
            lease_key: key,
            lease_state: want,
            flags: 0,
            v2: (dialect >= Dialect::Smb300).then_some(([0; 16], 0)),
        };
        c.requested_oplock_level = oplock_level::LEASE;
        c.create_contexts
            .push((context_name::REQUEST_LEASE.to_vec(), lease.encode()));
    }
}

/// Takes the caching a CREATE response granted into the core's table (so breaks reach
/// it): a lease, which must come back under `asked` (the key the CREATE asked with), or an
/// oplock level → the granted lease context, if a lease. `what` names the operation in
/// errors. One place for [`Open`] and [`Reclaim`](super::Reclaim).
pub(crate) fn hold_caching(
    cx: &mut OpContext<'_>,
    c: &CreateResponse,
    asked: Option<[u8; 16]>,
    what: &str,
) -> Result<Option<LeaseContext>, Fail> {
    let tree = cx.tree();
    match c.oplock_level {
        oplock_level::NONE => {}
        oplock_level::LEASE => {
            let Some((_, data)) = c
                .create_contexts
                .iter()
                .find(|(name, _)| &name[..] == context_name::REQUEST_LEASE)
            else {
                return Err(invalid(format!(
                    "{what}: a lease granted without its lease context"
                )));
            };
            let granted = LeaseContext::decode(data)?;
            if Some(granted.lease_key) != asked {
                return Err(invalid(format!(
                    "{what}: the server granted a lease under another key"
                )));
            }
            let state = LeaseState {
                bits: granted.lease_state & (LeaseState::R | LeaseState::W | LeaseState::H),
                epoch: granted.v2.map_or(0, |(_, epoch)| epoch),
                ..Default::default()
            };
            cx.hold_lease(BreakKey::Lease(granted.lease_key), c.file_id, tree, state);
            return Ok(Some(granted));
        }
        level => {
            let state = LeaseState {
                bits: LeaseState::bits_of_oplock(level),
                oplock: Some(level),
                ..Default::default()
            };
            cx.hold_lease(BreakKey::File(c.file_id), c.file_id, tree, state);
        }
    }
    Ok(None)
}

impl Operation for Open {
    type Output = (Handle, FileInfo);

    fn label(&self) -> (&'static str, &str) {
        ("open", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        if self.options.create_options & create_options::NON_DIRECTORY_FILE != 0 {
            path::check_file("open", &self.path)
        } else {
            path::check_path("open", &self.path)
        }
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail> {
        // On SMB1 an NT_CREATE_ANDX, which asks for no caching and no durability: the
        // handle holds neither, as the contract allows.
        let mut body = super::io::open(cx, &self.path, &self.options);
        self.ask_caching(cx, &mut body);
        self.ask_durable(cx, &mut body);
        cx.send(0, body);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress<Self::Output>, Fail> {
        check(&resp, "open", &self.path)?;
        let c = super::io::opened(cx, &resp)?;
        let handle = Handle {
            tree: cx.tree(),
            file_id: c.file_id,
        };
        let held = hold_caching(cx, &c, self.lease_key, "open")
            .and_then(|lease| self.hold_durable(cx, &c, lease));
        if let Err(e) = held {
            // The handle is open: the cleanup closes it rather than leak it.
            self.opened = Some(handle);
            return Err(e);
        }
        Ok(Progress::Done((handle, info_from_create(&c, &self.path))))
    }

    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        self.opened
            .take()
            .map(|h| (h.tree, close(h.file_id)))
            .into_iter()
            .collect()
    }
}

/// A connected share, as [`ConnectShare`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedTree {
    /// Its tree id.
    pub tree: TreeId,
    /// Whether requests on it are encrypted (the session's or the share's demand).
    pub encrypted: bool,
    /// Its UNC name, `\\server\share`, with the server as the client addresses it
    /// ([`Config::server_name`](crate::Config::server_name)).
    pub unc: String,
}

/// Connects a share's tree (the core connects it for any operation on the share; this
/// one does only that) → its tree id and protection.
#[derive(Debug, Clone)]
pub struct ConnectShare {
    share: String,
}

impl ConnectShare {
    /// Connects `share`.
    pub fn new(share: &str) -> Self {
        ConnectShare {
            share: share.to_string(),
        }
    }
}

impl Operation for ConnectShare {
    type Output = SharedTree;

    fn label(&self) -> (&'static str, &str) {
        ("tree connect", &self.share)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_share_of("tree connect", &self.share)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<SharedTree>, Fail> {
        let tree = cx.tree();
        let encrypted = cx.session().tree_encrypts(tree.0);
        let unc = format!(r"\\{}\{}", cx.server_name(), self.share);
        Ok(Progress::Done(SharedTree {
            tree,
            encrypted,
            unc,
        }))
    }

    fn on_response(
        &mut self,
        _cx: &mut OpContext<'_>,
        _tag: usize,
        _resp: Response,
    ) -> Result<Progress<SharedTree>, Fail> {
        Err(invalid("tree connect: no request was sent"))
    }
}

/// An operation of one request whose answer means nothing beyond success: what it
/// sends, and what the connection learns when it succeeds.
trait OneRequest {
    /// The operation's name in errors.
    const NAME: &'static str;
    /// The request and how it goes out.
    fn request(&self) -> (RequestBody, RequestOptions);
    /// The share it works on, if any.
    fn share(&self) -> Option<&str> {
        None
    }
    /// What success changes.
    fn succeeded(&self, _cx: &mut OpContext<'_>) {}
    /// The request on an SMB1 connection, where the operation has an SMB1 form.
    fn smb1_request(&self) -> Option<Smb1Request> {
        None
    }
}

/// The [`Operation`] of a [`OneRequest`] type: send, check the answer, finish.
macro_rules! one_request {
    ($name:ident) => {
        impl Operation for $name {
            type Output = ();

            fn label(&self) -> (&'static str, &str) {
                (
                    <$name as OneRequest>::NAME,
                    OneRequest::share(self).unwrap_or_default(),
                )
            }

            fn share(&self) -> Option<&str> {
                OneRequest::share(self)
            }

            fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<()>, Fail> {
                let (mut body, options) = self.request();
                if let Some(smb1) = self.smb1_request().filter(|_| cx.is_smb1()) {
                    body = RequestBody::Smb1(Box::new(smb1));
                }
                cx.send_with(0, body, options);
                Ok(Progress::Pending)
            }

            fn on_response(
                &mut self,
                cx: &mut OpContext<'_>,
                _tag: usize,
                resp: Response,
            ) -> Result<Progress<()>, Fail> {
                let path = OneRequest::share(self).unwrap_or_default();
                check(&resp, <$name as OneRequest>::NAME, path)?;
                self.succeeded(cx);
                Ok(Progress::Done(()))
            }
        }
    };
}

/// One ECHO round trip.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

impl OneRequest for Echo {
    const NAME: &'static str = "echo";
    fn request(&self) -> (RequestBody, RequestOptions) {
        (RequestBody::Echo(EchoRequest), RequestOptions::default())
    }
    fn smb1_request(&self) -> Option<Smb1Request> {
        Some(Smb1Request::Echo(Default::default()))
    }
}

one_request!(Echo);

/// LOGOFF: ends the session (and with it every tree).
#[derive(Debug, Clone, Copy, Default)]
pub struct Logoff;

impl OneRequest for Logoff {
    const NAME: &'static str = "logoff";
    fn request(&self) -> (RequestBody, RequestOptions) {
        (
            RequestBody::Logoff(LogoffRequest),
            RequestOptions::default(),
        )
    }
    fn succeeded(&self, cx: &mut OpContext<'_>) {
        let session = cx.session_mut();
        session.established = false;
        session.trees.clear();
    }
    fn smb1_request(&self) -> Option<Smb1Request> {
        Some(Smb1Request::Logoff(Default::default()))
    }
}

one_request!(Logoff);

/// TREE_DISCONNECT of a share's tree; the next operation on the share connects again.
#[derive(Debug, Clone)]
pub struct TreeDisconnect {
    share: String,
}

impl TreeDisconnect {
    /// Disconnects `share`.
    pub fn new(share: &str) -> Self {
        TreeDisconnect {
            share: share.to_string(),
        }
    }
}

impl OneRequest for TreeDisconnect {
    const NAME: &'static str = "tree disconnect";
    fn request(&self) -> (RequestBody, RequestOptions) {
        let body = RequestBody::TreeDisconnect(TreeDisconnectRequest);
        (body, RequestOptions::default())
    }
    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }
    fn succeeded(&self, cx: &mut OpContext<'_>) {
        let tree = cx.tree();
        cx.session_mut().trees.remove(&tree.0);
    }
    fn smb1_request(&self) -> Option<Smb1Request> {
        Some(Smb1Request::TreeDisconnect(Default::default()))
    }
}

one_request!(TreeDisconnect);

/// FLUSH of an open file.
#[derive(Debug, Clone, Copy)]
pub struct Flush(pub Handle);

impl OneRequest for Flush {
    const NAME: &'static str = "flush";
    fn request(&self) -> (RequestBody, RequestOptions) {
        let body = RequestBody::Flush(FlushRequest {
            file_id: self.0.file_id,
        });
        (body, RequestOptions::on(self.0.tree))
    }
    fn smb1_request(&self) -> Option<Smb1Request> {
        let fid = self.0.file_id.smb1_fid();
        Some(Smb1Request::Flush(smb1_file::FlushRequest { fid }))
    }
}

one_request!(Flush);

/// CLOSE of an open file.
#[derive(Debug, Clone, Copy)]
pub struct Close(pub Handle);

impl OneRequest for Close {
    const NAME: &'static str = "close";
    fn request(&self) -> (RequestBody, RequestOptions) {
        (close(self.0.file_id), RequestOptions::on(self.0.tree))
    }
    fn succeeded(&self, cx: &mut OpContext<'_>) {
        cx.release_leases(self.0.file_id);
    }
    fn smb1_request(&self) -> Option<Smb1Request> {
        let fid = self.0.file_id.smb1_fid();
        Some(Smb1Request::Close(smb1_file::CloseRequest { fid }))
    }
}

one_request!(Close);

/// One READ of an open file → the bytes (fewer at end of file; empty at or past it).
#[derive(Debug, Clone, Copy)]
pub struct Read {
    handle: Handle,
    offset: u64,
    len: u32,
}

impl Read {
    /// Reads up to `len` bytes (capped to the negotiated maximum) at `offset`.
    pub fn new(handle: Handle, offset: u64, len: u32) -> Self {
        Read {
            handle,
            offset,
            len,
        }
    }
}

impl Operation for Read {
    type Output = Bytes;

    fn label(&self) -> (&'static str, &str) {
        ("read", "")
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Bytes>, Fail> {
        let len = self.len.min(cx.negotiated().max_read_size);
        let body = super::io::read(cx, self.handle.file_id, self.offset, len);
        cx.send_with(0, body, RequestOptions::on(self.handle.tree));
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress<Bytes>, Fail> {
        if resp.status() == NtStatus::END_OF_FILE {
            return Ok(Progress::Done(Bytes::new()));
        }
        check(&resp, "read", "")?;
        Ok(Progress::Done(super::io::read_data(cx, &resp)?))
    }
}

/// Metadata of an open file (QUERY_INFO FileAllInformation; over SMB1,
/// TRANS2_QUERY_FILE_INFORMATION at SMB_QUERY_FILE_ALL_INFO, which has no file id: 0
/// there); the size is current, unlike a path lookup after a rename.
#[derive(Debug, Clone, Copy)]
pub struct QueryInfo(pub Handle);

impl Operation for QueryInfo {
    type Output = FileInfo;

    fn label(&self) -> (&'static str, &str) {
        ("query info", "")
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<FileInfo>, Fail> {
        if cx.is_smb1() {
            // TRANS2_QUERY_FILE_INFORMATION at SMB_QUERY_FILE_ALL_INFO, what a path's
            // stat asks by name (Samba's pass-through FileAllInformation has this
            // level's layout on SMB1, not MS-FSCC's).
            super::smb1::query_file_all(cx, 0, self.0, "query info")?;
            return Ok(Progress::Pending);
        }
        let body = RequestBody::QueryInfo(QueryInfoRequest {
            info_type: info_type::FILE,
            file_info_class: fscc::class::FILE_ALL_INFORMATION,
            // FileAllInformation is ~100 bytes plus the name (MS-FSCC 2.4.2).
            output_buffer_length: 4096,
            file_id: self.0.file_id,
            ..Default::default()
        });
        cx.send_with(0, body, RequestOptions::on(self.0.tree));
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress<FileInfo>, Fail> {
        check(&resp, "query info", "")?;
        if cx.is_smb1() {
            let data = super::smb1::trans(&resp)?.data;
            let all = trans2::QueryFileAllInfo::decode(&data)?;
            let name = handle_info::all_info_name(&data)?;
            let name = name.rsplit('\\').next().unwrap_or_default().to_string();
            return Ok(Progress::Done(super::smb1::info_from_all(&all, name)));
        }
        let buf = QueryInfoResponse::decode(&resp.msg)?.buffer;
        let all = fscc::FileAllInformation::decode(&buf)?;
        let name = all
            .file_name
            .rsplit('\\')
            .next()
            .unwrap_or_default()
            .to_string();
        Ok(Progress::Done(FileInfo {
            name,
            short_name: String::new(),
            file_id: all.index_number,
            size: all.standard.end_of_file,
            allocation_size: all.standard.allocation_size,
            attributes: all.basic.file_attributes,
            creation_time: all.basic.creation_time,
            last_access_time: all.basic.last_access_time,
            last_write_time: all.basic.last_write_time,
            change_time: all.basic.change_time,
        }))
    }
}

/// SET_INFO of one file information class on an open file ([`Open`]) → nothing: the
/// drivers' open files set their size, times and delete-on-close with it. The
/// handle must have been opened with the access the class needs (MS-SMB2 3.3.5.21.1):
/// FILE_WRITE_DATA for a size, FILE_WRITE_ATTRIBUTES for times and attributes, DELETE
/// for delete-on-close; without it the server answers STATUS_ACCESS_DENIED
/// ([`PermissionDenied`](crate::ErrorKind::PermissionDenied)). Over SMB1:
/// TRANS2_SET_FILE_INFORMATION at the class's pass-through level (1000 + class), the
/// same buffer.
#[derive(Debug, Clone)]
pub struct SetInfo {
    handle: Handle,
    class: u8,
    buffer: Bytes,
}

impl SetInfo {
    /// Sets file information class `class` ([`fscc::class`]) to `buffer`, encoded.
    pub fn new(handle: Handle, class: u8, buffer: impl Into<Bytes>) -> Self {
        SetInfo {
            handle,
            class,
            buffer: buffer.into(),
        }
    }

    /// Truncates or extends the file to `len` bytes (FileEndOfFileInformation, MS-FSCC
    /// 2.4.13), as `ftruncate`; bytes added read as zeros.
    pub fn end_of_file(handle: Handle, len: u64) -> Self {
        let info = fscc::FileEndOfFileInformation { end_of_file: len };
        SetInfo::new(
            handle,
            fscc::class::FILE_END_OF_FILE_INFORMATION,
            info.encode(),
        )
    }

    /// Reserves `size` bytes of disk for the file without changing its size
    /// (FileAllocationInformation, MS-FSCC 2.4.4), as `fallocate` with KEEP_SIZE; a size
    /// below the end of file truncates it (MS-FSA 2.1.5.15.1).
    pub fn allocation_size(handle: Handle, size: u64) -> Self {
        let info = fscc::FileAllocationInformation {
            allocation_size: size,
        };
        SetInfo::new(
            handle,
            fscc::class::FILE_ALLOCATION_INFORMATION,
            info.encode(),
        )
    }

    /// Sets times and attributes (FileBasicInformation, MS-FSCC 2.4.7); a zero time or
    /// zero attributes leave that field as it is.
    pub fn basic(handle: Handle, info: &fscc::FileBasicInformation) -> Self {
        SetInfo::new(handle, fscc::class::FILE_BASIC_INFORMATION, info.encode())
    }

    /// Marks the file to be deleted when its last handle closes, or clears the mark
    /// (FileDispositionInformation, MS-FSCC 2.4.11). A directory that is not empty
    /// refuses the mark with STATUS_DIRECTORY_NOT_EMPTY.
    pub fn delete_on_close(handle: Handle, delete: bool) -> Self {
        let info = fscc::FileDispositionInformation {
            delete_pending: delete,
        };
        SetInfo::new(
            handle,
            fscc::class::FILE_DISPOSITION_INFORMATION,
            info.encode(),
        )
    }
}

impl OneRequest for SetInfo {
    const NAME: &'static str = "set info";
    fn request(&self) -> (RequestBody, RequestOptions) {
        let body = RequestBody::SetInfo(SetInfoRequest {
            info_type: info_type::FILE,
            file_info_class: self.class,
            buffer: self.buffer.clone(),
            file_id: self.handle.file_id,
            ..Default::default()
        });
        (body, RequestOptions::on(self.handle.tree))
    }
    fn smb1_request(&self) -> Option<Smb1Request> {
        // TRANS2_SET_FILE_INFORMATION at the class's pass-through level: the same
        // MS-FSCC buffer.
        let fid = self.handle.file_id.smb1_fid();
        let level = handle_info::passthrough(self.class);
        let req = handle_info::set_file_info(fid, level, self.buffer.clone());
        Some(Smb1Request::Trans(req))
    }
}

one_request!(SetInfo);

/// An Error for a caller mistake.
pub(crate) fn invalid(msg: impl Into<String>) -> Fail {
    Fail::Op(Error::Invalid(msg.into()))
}
