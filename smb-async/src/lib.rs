//! The async SMB2/3 client, runtime-neutral: the blocking client's API as `async fn` on
//! a handle that many tasks share, with files, a lazily fetching listing stream,
//! per-operation timeouts, a connection pool and a deferred (Twisted-style) layer; and
//! [`NetBios`], the NetBIOS name service queries of pysmb's `nmb` module.
//!
//! All protocol decisions live in [`smb_proto`]. One background task per connection owns
//! the socket and the protocol core; a [`Client`] (cheap to clone) sends it operations
//! over a bounded channel, and the core routes responses back by message id, so any
//! number of operations from any number of tasks run at once on one connection. Dropping
//! an operation's future cancels it on the wire.
//!
//! This crate does no I/O of its own: a [`Runtime`] supplies spawning, timers and
//! sockets. `smb-tokio` and `smb-asyncstd` are the adapters for tokio and for async-std
//! and smol; use one of them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod channels;
pub mod context;
mod deferred;
mod driver;
mod file;
pub mod kerberos;
mod netbios;
mod paged;
mod path;
mod pool;
mod replay;
pub mod runtime;
mod spread;
mod watch;

use std::collections::hash_map::{Entry, HashMap};
use std::future::poll_fn;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{ready, Poll};
use std::time::{Duration, SystemTime};

use async_channel::{Receiver, Sender, TrySendError};
use bytes::Bytes;
use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use smb_proto::client::{
    chunk_for, local_path, local_size, part_paths, with_path, Download, DriverEvent as Ev,
    LocalTree, ManyFiles, Retry, Status, TransferResults, Upload, UploadBuffers,
};
use smb_proto::ops::{self, BoxedOp, OpOutput, Operation};
use smb_proto::CloseReason;

use driver::{Closed, Cmd, Driver};
use runtime::Runtime;

pub use context::{
    st_mode, Auth, AuthFn, Context, Dirent, DirentType, OpenFlags, SimpleAuth, O_ACCMODE, O_APPEND,
    O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
};
pub use deferred::{Deferred, DeferredClient, SmbFactory};
pub use file::File;
pub use netbios::NetBios;
pub use paged::{ListStream, Paged, WatchStream};
pub use path::{PathStream, Share, SmbPath};
pub use pool::Pool;
pub use smb_proto::auth::ntlm::Credentials;
pub use smb_proto::client::{
    ClientError as Error, ConnectOptions, PasswordCallback, PasswordPrompt, ReconnectPolicy,
    RecordBuffer, RecordTarget,
};
pub use smb_proto::client::{Creds, Glob, OpenMode, PurePath, ShareTarget};
pub use smb_proto::netbios::{NameService, NodeStatus};
pub use smb_proto::ops::StreamInfo;
pub use smb_proto::ops::{search, Copied, LeaseState, LockKind, FILES_IN_FLIGHT, READ_CACHE_LIMIT};
pub use smb_proto::ops::{Change, DEFAULT_FILTER as DEFAULT_NOTIFY_FILTER};
pub use smb_proto::replay::{RecordOptions, Recording, Replay, ReplayError};
pub use smb_proto::wire::create::{access_mask, create_options, disposition};
pub use smb_proto::wire::fscc::{file_attributes, FileFullEaInformation, FileTime};
pub use smb_proto::wire::notify::completion_filter as notify_filter;
pub use smb_proto::wire::security::{Ace, AceType, Acl, SecurityDescriptor, Sid};
pub use smb_proto::{
    Dialect, Errno, ErrorKind, FileInfo, FsInfo, NtStatus, OpenOptions, SessionSlot, ShareInfo,
    ShareType, SigningPolicy,
};

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Commands a connection's channel holds before senders wait: the bound on what callers
/// can queue ahead of the connection task.
const COMMAND_QUEUE: usize = 256;

/// A fresh seed for the core's generator from the operating system. A system whose
/// random source fails cannot make a connection safe (NTLM challenges, nonces): that is
/// a broken machine, not a condition to work around with a guessable seed.
fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).expect("the operating system's random source failed");
    seed
}

/// What every clone of a [`Client`] shares.
struct Inner {
    /// The connection's task: replaced whole when a lost connection is made again.
    link: std::sync::Mutex<Arc<Link>>,
    runtime: Arc<dyn Runtime>,
    next_ticket: AtomicU64,
    closing: AtomicBool,
    /// How to make the connection again ([`ConnectOptions::reconnect`]); `None` for a
    /// replayed one.
    again: Option<Again>,
    /// As whom each session logged in, in the order they did, to log in again.
    sessions: std::sync::Mutex<Vec<(SessionSlot, Credentials)>>,
    /// Durable handles reclaimed after losses.
    moved: std::sync::Mutex<smb_proto::client::MovedHandles>,
    reconnects: AtomicU64,
    /// Further connections bound to the default session as channels
    /// ([`Client::add_channel`]).
    channels: std::sync::Mutex<Vec<Client>>,
    /// The ChannelSequence the last striped transfer left every connection at.
    sequence: std::sync::atomic::AtomicU16,
}

/// How a connection was made, to make it again.
struct Again {
    opts: Box<ConnectOptions>,
    /// The ClientGuid negotiated, which the new connection presents.
    client_guid: [u8; 16],
}

impl Inner {
    /// The connection's task as it is now.
    fn link(&self) -> Arc<Link> {
        self.link
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Link {
    /// Starts a connection's task: `core` over `sock`, on `runtime`.
    fn start(
        sock: Box<dyn runtime::Socket>,
        core: smb_proto::Connection,
        runtime: &Arc<dyn Runtime>,
        kdc: replay::KdcVia,
    ) -> Arc<Link> {
        let closed = Closed::default();
        let (cmds, cmd_rx) = async_channel::bounded(COMMAND_QUEUE);
        let driver = Driver::new(sock, runtime.clone(), core, cmd_rx, closed.clone(), kdc);
        runtime.spawn(Box::pin(driver.run()));
        Arc::new(Link {
            cmds,
            runtime: runtime.clone(),
            closed,
        })
    }
}

/// One connection's task, as handles reach it: operations started on it, and the data
/// and cancels for them, go to it and no other.
pub(crate) struct Link {
    cmds: Sender<Cmd>,
    runtime: Arc<dyn Runtime>,
    closed: Closed,
}

impl Link {
    fn closed(&self) -> Error {
        let reason = self.closed.get().cloned().unwrap_or(CloseReason::Local);
        Error::Smb(smb_proto::Error::Closed(reason))
    }

    /// Queues a command from where no one can wait (a drop, a poll): when the channel is
    /// full it goes out from a task of its own instead of being lost.
    fn send_now(&self, cmd: Cmd) -> Result<()> {
        match self.cmds.try_send(cmd) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(cmd)) => {
                let cmds = self.cmds.clone();
                self.runtime.spawn(Box::pin(async move {
                    let _ = cmds.send(cmd).await;
                }));
                Ok(())
            }
            Err(TrySendError::Closed(_)) => Err(self.closed()),
        }
    }

    /// Sends `cmd`, waiting for room.
    async fn send(&self, cmd: Cmd) -> Result<()> {
        self.cmds.send(cmd).await.map_err(|_| self.closed())
    }
}

/// A logged-in connection to one server; clone it to share it between tasks.
///
/// Every method may run concurrently with any other, from any task. Each operation's
/// future owns the operation: dropping it before it finishes cancels it on the wire
/// (SMB2 CANCEL for requests the server holds) and leaves the connection usable.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    timeout: Option<Duration>,
    /// The session this handle's operations run in.
    session: SessionSlot,
    /// What that session's login settled.
    status: Arc<OnceLock<Status>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("negotiated", &self.status.get())
            .field("session", &self.session)
            .field("timeout", &self.timeout)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// One operation in flight: its events, its deadline, and a cancel on drop unless it
/// finished.
pub(crate) struct Running {
    link: Arc<Link>,
    ticket: u64,
    /// Boxed because a receiver is `!Unpin`.
    events: Pin<Box<Receiver<Ev>>>,
    /// The path a failure names when the operation's own label has none (a handle's).
    path: String,
    finished: bool,
}

/// An operation's next event, as its caller sees it.
pub(crate) enum Step {
    Data(Chunk),
    WantData {
        file: usize,
        max_len: usize,
    },
    FileDone {
        file: usize,
        result: std::result::Result<u64, smb_proto::Error>,
    },
    Progress {
        done: u64,
        total: Option<u64>,
    },
    Entries(Vec<FileInfo>),
    Changes(Vec<ops::Change>),
    Done(OpOutput),
}

/// Bytes of a streaming read. The read keeps at most a window of chunks outstanding
/// ([`Config::paced_reads`](smb_proto::Config::paced_reads)), so dropping one lets it ask
/// the server for more: a slow consumer slows the read instead of filling memory.
pub(crate) struct Chunk {
    data: Bytes,
    /// Which file of a many-file download, and where in it the bytes start.
    file: usize,
    offset: u64,
    link: Arc<Link>,
    ticket: u64,
}

impl std::ops::Deref for Chunk {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        let _ = self.link.send_now(Cmd::Supply {
            ticket: self.ticket,
            file: self.file,
            data: Bytes::new(),
        });
    }
}

impl Running {
    pub(crate) fn poll_step(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<Step>> {
        if let Poll::Ready(ev) = self.events.as_mut().poll_next(cx) {
            return Poll::Ready(match ev {
                Some(Ev::Data { file, offset, data }) => Ok(Step::Data(Chunk {
                    data,
                    file,
                    offset,
                    link: self.link.clone(),
                    ticket: self.ticket,
                })),
                Some(Ev::WantData { file, max_len }) => Ok(Step::WantData { file, max_len }),
                Some(Ev::FileDone { file, result }) => Ok(Step::FileDone { file, result }),
                Some(Ev::Progress { done, total, .. }) => Ok(Step::Progress { done, total }),
                Some(Ev::Entries(e)) => Ok(Step::Entries(e)),
                Some(Ev::Changes(c)) => Ok(Step::Changes(c)),
                Some(Ev::Done(r)) => {
                    self.finished = true;
                    r.map(Step::Done).map_err(|e| Error::from(e).at(&self.path))
                }
                None => {
                    self.finished = true;
                    Err(self.link.closed())
                }
            });
        }
        Poll::Pending
    }

    /// Polls until the operation is done, discarding streamed data and entries and giving
    /// a streaming write no input, so that no operation waits on this caller forever.
    pub(crate) fn poll_done(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<OpOutput>> {
        loop {
            match ready!(self.poll_step(cx))? {
                Step::Done(out) => return Poll::Ready(Ok(out)),
                Step::WantData { file, .. } => self.supply(file, Bytes::new()),
                Step::Entries(_) => self.supply(0, Bytes::new()),
                Step::Changes(c) if !c.is_empty() => self.supply(0, Bytes::new()),
                Step::Changes(_) => {}
                Step::Data(_) | Step::FileDone { .. } | Step::Progress { .. } => {}
            }
        }
    }

    async fn step(&mut self) -> Result<Step> {
        poll_fn(|cx| self.poll_step(cx)).await
    }

    async fn finish(mut self) -> Result<OpOutput> {
        poll_fn(|cx| self.poll_done(cx)).await
    }

    fn supply(&self, file: usize, data: Bytes) {
        let _ = self.link.send_now(Cmd::Supply {
            ticket: self.ticket,
            file,
            data,
        });
    }

    /// Lets the operation run on after this handle is gone (a last write, a close).
    pub(crate) fn detach(mut self) {
        self.finished = true;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.link.send_now(Cmd::Cancel {
                ticket: self.ticket,
            });
        }
    }
}

impl Client {
    smb_proto::client_calls!(
        "async fn demo(conn: &smb_async::Client) -> smb_async::Result<()>",
        ".await",
        async.await
    );

    /// Connects, negotiates and logs in (anonymously when `opts.user` is empty), with the
    /// connection's task, timers and socket from `runtime`.
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when the server cannot be reached, the login's error otherwise.
    pub async fn connect_with(opts: &ConnectOptions, runtime: Arc<dyn Runtime>) -> Result<Client> {
        Client::connect_as(opts, runtime, Client::login_credentials(opts)?).await
    }

    /// The credentials a login as `opts` ask uses; none for a Kerberos login, which
    /// finds its own secret (asking a password callback once).
    fn login_credentials(opts: &ConnectOptions) -> Result<Credentials> {
        Ok(match opts.kerberos {
            Some(_) => Credentials::anonymous(),
            None => opts.credentials()?,
        })
    }

    /// [`Client::connect_with`], logging in with `creds`.
    async fn connect_as(
        opts: &ConnectOptions,
        runtime: Arc<dyn Runtime>,
        creds: Credentials,
    ) -> Result<Client> {
        let (link, client_guid) = Client::dial(opts, &runtime).await?;
        let again = Again {
            opts: Box::new(opts.clone()),
            client_guid,
        };
        let client = Client::log_in_first(link, runtime, Some(again), opts, creds).await?;
        if opts.multichannel > 0 && opts.record.is_none() {
            if let Err(e) = client.add_channels().await {
                tracing::warn!(error = %e, "no channels: the session stays on one connection");
            }
        }
        Ok(client)
    }

    /// Connects a socket as `opts` says and starts a connection's task on it, not
    /// logged in → the task and the ClientGuid it negotiates.
    async fn dial(
        opts: &ConnectOptions,
        runtime: &Arc<dyn Runtime>,
    ) -> Result<(Arc<Link>, [u8; 16])> {
        Client::dial_core(opts, runtime, |config| {
            smb_proto::Connection::new(config, std::time::Instant::now())
        })
        .await
    }

    /// [`Client::dial`] with the core `make` gives for the configuration.
    async fn dial_core(
        opts: &ConnectOptions,
        runtime: &Arc<dyn Runtime>,
        make: impl FnOnce(smb_proto::Config) -> smb_proto::Connection,
    ) -> Result<(Arc<Link>, [u8; 16])> {
        let timeout = runtime.sleep(opts.timeout);
        let sock = runtime
            .connect(&opts.host, opts.port)
            .or(async {
                timeout.await;
                Err(io::ErrorKind::TimedOut.into())
            })
            .await
            .map_err(|e| opts.connect_error(e))?;
        tracing::debug!(target = %opts.target(), "TCP connected");
        let mut config = opts.config(os_seed, FileTime::from_system_time(SystemTime::now()).0);
        // Consumers are other tasks and may lag; see `Chunk`.
        config.paced_reads = true;
        let (sock, kdc) = replay::recorded(sock, opts, &config)?;
        let core = make(config);
        let client_guid = core.client_guid();
        Ok((Link::start(sock, core, runtime, kdc), client_guid))
    }

    /// A client of the connection task `link`, logged in as `opts` ask: with the
    /// Kerberos login they configure, or with `creds`.
    async fn log_in_first(
        link: Arc<Link>,
        runtime: Arc<dyn Runtime>,
        again: Option<Again>,
        opts: &ConnectOptions,
        creds: Credentials,
    ) -> Result<Client> {
        match &opts.kerberos {
            Some(_) => {
                let login = kerberos::login(opts)?;
                let client = Client::of(link, runtime, again);
                client.log_in_with(login, None).await?;
                Ok(client)
            }
            None => Client::launch(link, runtime, again, creds).await,
        }
    }

    /// A client of the connection task `link`, logged in with `creds`.
    async fn launch(
        link: Arc<Link>,
        runtime: Arc<dyn Runtime>,
        again: Option<Again>,
        creds: Credentials,
    ) -> Result<Client> {
        let client = Client::of(link, runtime, again);
        client.log_in(creds).await?;
        Ok(client)
    }

    /// A client of the connection task `link`, not logged in.
    fn of(link: Arc<Link>, runtime: Arc<dyn Runtime>, again: Option<Again>) -> Client {
        Client {
            inner: Arc::new(Inner {
                link: std::sync::Mutex::new(link),
                runtime,
                next_ticket: AtomicU64::new(0),
                closing: AtomicBool::new(false),
                again,
                sessions: std::sync::Mutex::default(),
                moved: std::sync::Mutex::default(),
                reconnects: AtomicU64::new(0),
                channels: std::sync::Mutex::default(),
                sequence: std::sync::atomic::AtomicU16::new(0),
            }),
            timeout: None,
            session: SessionSlot::DEFAULT,
            status: Arc::default(),
        }
    }

    /// Makes the connection again after `err` ended `lost` (the task an operation ran
    /// on), as `retry` says: a new socket, the lost connection's ClientGuid, and every
    /// session logged in again as before, in the same order (so each keeps its
    /// [`SessionSlot`]). When another task has already made it again, its connection
    /// serves. Gives up with `err`.
    async fn reconnect(&self, lost: &Arc<Link>, err: Error, retry: &mut Retry) -> Result<()> {
        let Some(again) = &self.inner.again else {
            return Err(err);
        };
        let mut failure = err.kind();
        loop {
            if !Arc::ptr_eq(&self.inner.link(), lost) || self.inner.closing.load(Ordering::Acquire)
            {
                return if self.is_closed() { Err(err) } else { Ok(()) };
            }
            let Some(wait) = retry.next(failure) else {
                return Err(err);
            };
            let tries = retry.tries();
            tracing::warn!(tries, ?wait, error = %err, "connection lost: connecting again");
            self.inner.runtime.sleep(wait).await;
            match self.log_in_again(again, lost).await {
                Ok(link) => {
                    let mut current = self
                        .inner
                        .link
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if Arc::ptr_eq(&current, lost) {
                        *current = link;
                        self.inner.reconnects.fetch_add(1, Ordering::Relaxed);
                    } else {
                        // Another task made it again meanwhile: this one is not needed.
                        let _ = link.send_now(Cmd::Shutdown);
                    }
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(tries, error = %e, "connecting again failed");
                    failure = e.kind();
                }
            }
        }
    }

    /// How this client tries to make its connection again ([`ConnectOptions::reconnect`]).
    fn retry(&self) -> Retry {
        Retry::new(self.inner.again.as_ref().and_then(|a| a.opts.reconnect))
    }

    /// A new connection task as `again` says, with every session of this client logged
    /// in on it and the durable opens of `lost` reclaimed (one the server no longer
    /// keeps is left: operations on it fail with the server's error).
    async fn log_in_again(&self, again: &Again, lost: &Link) -> Result<Arc<Link>> {
        let opts = again.opts.reconnection(again.client_guid);
        let (link, _) = Client::dial(&opts, &self.inner.runtime).await?;
        // A Kerberos login keeps no credentials: it gets new tickets.
        if opts.kerberos.is_some() {
            let login = kerberos::login(&opts)?;
            let slot = SessionSlot::DEFAULT;
            let op = BoxedOp::new(login);
            Client::begin_on(&self.inner, &link, slot, op, None, self.timeout)?
                .finish()
                .await?;
        }
        let sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for (slot, creds) in sessions {
            if slot != SessionSlot::DEFAULT {
                let (tx, rx) = async_channel::bounded(1);
                link.send(Cmd::AddSession(tx)).await?;
                let made = rx.recv().await.map_err(|_| link.closed())?;
                if made != slot {
                    return Err(smb_proto::Error::Invalid(format!(
                        "session {slot:?} came back as {made:?} on the new connection"
                    ))
                    .into());
                }
            }
            let login = Client::begin_on(
                &self.inner,
                &link,
                slot,
                BoxedOp::new(ops::Login::new(creds)),
                None,
                self.timeout,
            )?;
            login.finish().await?;
        }
        for open in lost.closed.durable() {
            let reclaim = BoxedOp::new(ops::Reclaim::new(open.clone()));
            let slot = SessionSlot::DEFAULT;
            let run = Client::begin_on(&self.inner, &link, slot, reclaim, None, self.timeout)?;
            let done = run.finish().await;
            match done.and_then(|out| Ok(out.downcast::<(ops::Handle, FileInfo)>()?)) {
                Ok((handle, _)) => self.moved().reclaimed(open.file_id, handle),
                Err(e) => tracing::warn!(error = %e, "a durable handle was not reclaimed"),
            }
        }
        Ok(link)
    }

    fn moved(&self) -> std::sync::MutexGuard<'_, smb_proto::client::MovedHandles> {
        self.inner
            .moved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `handle` on the current connection: itself, or what it became when it was
    /// reclaimed after a loss.
    pub(crate) fn current(&self, handle: ops::Handle) -> ops::Handle {
        self.moved().current(handle)
    }

    /// Makes the connection again first if it has ended (a loss noticed between calls),
    /// as [`ConnectOptions::reconnect`] says, so that work that may be done twice starts
    /// on a live one.
    async fn live(&self, retry: &mut Retry) -> Result<()> {
        let link = self.inner.link();
        if link.cmds.is_closed() && !self.inner.closing.load(Ordering::Acquire) {
            let lost = link.closed();
            self.reconnect(&link, lost, retry).await?;
        }
        Ok(())
    }

    /// [`Client::reconnect`] after `err` ended `lost` (or the current connection), as a
    /// future of its own, for a poll-driven caller (a [`File`]).
    pub(crate) fn reconnecting(
        &self,
        lost: Option<Arc<Link>>,
        err: Error,
    ) -> runtime::BoxFuture<'static, Result<()>> {
        let client = self.clone();
        let lost = lost.unwrap_or_else(|| self.inner.link());
        let mut retry = self.retry();
        Box::pin(async move { client.reconnect(&lost, err, &mut retry).await })
    }

    /// Runs the operation `make` gives, again on a connection made again when the first
    /// is lost ([`ConnectOptions::reconnect`]): for work that may be done twice (a stat,
    /// a listing), which then never sees the loss.
    async fn call_again<O: Operation>(&self, make: impl Fn() -> O) -> Result<O::Output> {
        let mut retry = self.retry();
        loop {
            self.live(&mut retry).await?;
            let run = self.begin(BoxedOp::new(make()), None)?;
            let link = run.link.clone();
            match run.finish().await {
                Ok(out) => return Ok(out.downcast()?),
                Err(e) => self.reconnect(&link, e, &mut retry).await?,
            }
        }
    }

    /// How many times the connection was made again after a loss
    /// ([`ConnectOptions::reconnect`]); each try also logs a `tracing` warning.
    pub fn reconnects(&self) -> u64 {
        self.inner.reconnects.load(Ordering::Relaxed)
    }

    /// Logs `credentials` in as another session on this connection, with its own user,
    /// keys and trees → a handle whose operations run in that session (clones share it).
    /// Both handles go on working on the one socket.
    ///
    /// # Errors
    ///
    /// The login's error ([`ErrorKind::AuthenticationFailed`] for a refused one).
    pub async fn add_session(&self, credentials: Credentials) -> Result<Client> {
        let link = self.inner.link();
        let (tx, rx) = async_channel::bounded(1);
        link.send(Cmd::AddSession(tx)).await?;
        let slot = rx.recv().await.map_err(|_| link.closed())?;
        let client = Client {
            inner: self.inner.clone(),
            timeout: self.timeout,
            session: slot,
            status: Arc::default(),
        };
        client.log_in(credentials).await?;
        Ok(client)
    }

    /// The session this handle's operations run in.
    pub fn session(&self) -> SessionSlot {
        self.session
    }

    /// Logs in this handle's session and keeps what the login settled, and as whom, to
    /// log in again on a new connection.
    async fn log_in(&self, credentials: Credentials) -> Result<()> {
        self.log_in_with(ops::Login::new(credentials.clone()), Some(credentials))
            .await
    }

    /// Runs `login` on this handle's session; `credentials`, when given, are kept for
    /// logging in again on a new connection.
    async fn log_in_with(&self, login: ops::Login, credentials: Option<Credentials>) -> Result<()> {
        self.call(login).await?;
        let link = self.inner.link();
        let (tx, rx) = async_channel::bounded(1);
        link.send(Cmd::Status(self.session, tx)).await?;
        let status = rx
            .recv()
            .await
            .ok()
            .flatten()
            .ok_or_else(|| link.closed())?;
        let _ = self.status.set(status);
        if let (Some(credentials), Some(_)) = (credentials, &self.inner.again) {
            let mut sessions = self
                .inner
                .sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            sessions.push((self.session, credentials));
        }
        Ok(())
    }

    /// A handle to the same connection whose operations each fail with
    /// [`smb_proto::Error::Timeout`] (and are cancelled) when not done within `timeout`.
    /// A whole transfer or listing counts as one operation.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            timeout: Some(timeout),
            ..self.clone()
        }
    }

    /// The same connection, with operations that return [`Deferred`]s.
    pub fn deferred(&self) -> DeferredClient {
        DeferredClient::new(self.clone())
    }

    /// Negotiated parameters.
    pub fn negotiated(&self) -> &smb_proto::Negotiated {
        &self.status().negotiated
    }

    /// Whether the server made this a guest session.
    pub fn is_guest(&self) -> bool {
        self.status().is_guest
    }

    /// Whether requests are being signed.
    pub fn is_signing(&self) -> bool {
        self.status().is_signing
    }

    /// Whether the session logged in with Kerberos (else NTLM, or anonymously).
    pub fn is_kerberos(&self) -> bool {
        self.status().is_kerberos
    }

    fn status(&self) -> &Status {
        self.status.get().expect("a connected client has logged in")
    }

    /// Whether the connection has ended (or [`Client::close`] was called).
    pub fn is_closed(&self) -> bool {
        self.inner.closing.load(Ordering::Acquire) || self.inner.link().cmds.is_closed()
    }

    /// Whether two handles share one connection.
    pub fn same_connection(&self, other: &Client) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The runtime this connection runs on.
    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.inner.runtime
    }

    /// Hands `op` to the connection's task; `path` names it in a timeout (the
    /// operation's own label otherwise).
    pub(crate) fn begin(&self, op: BoxedOp, path: Option<&str>) -> Result<Running> {
        self.begin_timed(op, path, self.timeout)
    }

    /// [`Client::begin`] with the operation's own `timeout` (none: it may run forever).
    pub(crate) fn begin_timed(
        &self,
        op: BoxedOp,
        path: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<Running> {
        Client::begin_on(
            &self.inner,
            &self.inner.link(),
            self.session,
            op,
            path,
            timeout,
        )
    }

    /// Starts `op` in `session` on the connection task `link`.
    fn begin_on(
        inner: &Inner,
        link: &Arc<Link>,
        session: SessionSlot,
        op: BoxedOp,
        path: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<Running> {
        let ticket = inner.next_ticket.fetch_add(1, Ordering::Relaxed);
        let (tx, events) = async_channel::unbounded();
        let path = path.unwrap_or(op.label().1).to_string();
        // The core times the operation out as a whole (and cancels it on the wire).
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        link.send_now(Cmd::Start {
            ticket,
            session,
            op,
            deadline,
            events: tx,
        })?;
        Ok(Running {
            link: link.clone(),
            ticket,
            events: Box::pin(events),
            path,
            finished: false,
        })
    }

    /// Runs any operation (one of [`smb_proto::ops`], or a caller's own) to completion.
    /// Streamed data and listing pages are discarded and a streaming write gets no input:
    /// use the dedicated methods for those.
    ///
    /// # Errors
    ///
    /// The operation's error, a timeout, or the connection's error when it ended.
    pub async fn call<O: Operation>(&self, op: O) -> Result<O::Output> {
        Ok(self
            .begin(BoxedOp::new(op), None)?
            .finish()
            .await?
            .downcast()?)
    }

    /// Like [`Client::list_path`], as a stream that asks the server for the next page of
    /// entries only when the previous one has been consumed.
    ///
    /// # Errors
    ///
    /// The connection's error when it ended; the listing's own come through the stream.
    pub async fn list_path_stream(
        &self,
        share: &str,
        path: &str,
        pattern: &str,
    ) -> Result<ListStream> {
        let op = BoxedOp::new(ops::ListDirPaged::new(share, path, pattern));
        Ok(ListStream::new(self.begin(op, None)?, |step| match step {
            Step::Entries(entries) => Some(entries),
            _ => None,
        }))
    }

    /// Sets several extended attributes at once, in one SET_INFO; an empty value
    /// removes its EA.
    ///
    /// # Errors
    ///
    /// As for [`Client::set_ea`].
    pub async fn set_eas(&self, share: &str, path: &str, eas: &[(&str, &[u8])]) -> Result<()> {
        self.call(ops::SetEas::new(share, path, eas)).await
    }

    /// Writes the whole file into `out`; returns the byte count.
    ///
    /// # Errors
    ///
    /// The server's error, a failure writing `out`, or [`ErrorKind::Incomplete`] when the
    /// file changed during the download.
    pub async fn retrieve_file<W>(&self, share: &str, path: &str, out: &mut W) -> Result<u64>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        self.retrieve_file_from_offset(share, path, out, 0, None)
            .await
    }

    /// Writes up to `max_length` bytes from `offset` into `out`; returns the byte count.
    ///
    /// # Errors
    ///
    /// As for [`Client::retrieve_file`].
    pub async fn retrieve_file_from_offset<W>(
        &self,
        share: &str,
        path: &str,
        out: &mut W,
        offset: u64,
        max_length: Option<u64>,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let op = ops::ReadFile::new(share, path, offset, max_length);
        self.retrieve(op, out, &mut |_, _| {}).await
    }

    /// [`Client::retrieve_file_from_offset`] calling `progress(done, total)` after each
    /// READ delivered (pysmb's `show_progress`).
    ///
    /// # Errors
    ///
    /// As for [`Client::retrieve_file`].
    pub async fn retrieve_file_from_offset_with_progress<W>(
        &self,
        share: &str,
        path: &str,
        out: &mut W,
        offset: u64,
        max_length: Option<u64>,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let op = ops::ReadFile::new(share, path, offset, max_length).with_progress();
        self.retrieve(op, out, progress).await
    }

    /// [`Client::retrieve_file`] calling `progress(done, total)` after each READ
    /// delivered, with the size at open as the total (pysmb's `show_progress`).
    ///
    /// # Errors
    ///
    /// As for [`Client::retrieve_file`].
    pub async fn retrieve_file_with_progress<W>(
        &self,
        share: &str,
        path: &str,
        out: &mut W,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let op = ops::ReadFile::new(share, path, 0, None).with_progress();
        self.retrieve(op, out, progress).await
    }

    /// Writes the whole file as it was in the snapshot taken at `snapshot` (one of
    /// [`Client::list_snapshots`]' times) into `out`; returns the byte count.
    ///
    /// # Errors
    ///
    /// As for [`Client::retrieve_file`]; [`ErrorKind::NotFound`] when the snapshot holds
    /// no such file, or there is no snapshot at that time.
    pub async fn retrieve_file_at<W>(
        &self,
        share: &str,
        path: &str,
        snapshot: FileTime,
        out: &mut W,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let op = ops::ReadFile::new(share, path, 0, None).at_snapshot(snapshot);
        self.retrieve(op, out, &mut |_, _| {}).await
    }

    /// Runs a whole-file read, its data into `out`; a lost connection is made again and
    /// the read resumes ([`Download`]).
    async fn retrieve<W>(
        &self,
        op: ops::ReadFile,
        out: &mut W,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        if let Some(striped) = self.retrieve_striped(&op, out, progress).await {
            return striped;
        }
        let (mut download, mut retry) = (Download::new(op), self.retry());
        loop {
            self.live(&mut retry).await?;
            let mut run = self.begin(BoxedOp::new(download.run()), None)?;
            let r = async {
                loop {
                    match run.step().await? {
                        Step::Data(data) => {
                            out.write_all(&data).await?;
                            download.delivered(data.offset, data.len());
                        }
                        Step::Progress { done, total } => progress(done, total),
                        Step::Done(_) => return out.flush().await.map_err(Error::from),
                        _ => {}
                    }
                }
            }
            .await;
            match r {
                Ok(()) => return Ok(download.count()),
                Err(e) => {
                    if download.moved_on() {
                        retry.moved_on();
                    }
                    self.reconnect(&run.link, e, &mut retry).await?;
                }
            }
        }
    }

    /// The whole file, in memory.
    ///
    /// # Errors
    ///
    /// As for [`Client::retrieve_file`].
    pub async fn retrieve_file_to_vec(&self, share: &str, path: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.retrieve_file(share, path, &mut out).await?;
        Ok(out)
    }

    /// Creates or replaces `path` with everything `input` yields; returns the byte count.
    ///
    /// # Errors
    ///
    /// The server's error or a failure reading `input`.
    pub async fn store_file<R>(&self, share: &str, path: &str, input: &mut R) -> Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        let op = ops::WriteFile::new(share, path);
        self.store_op(op, input, &mut |_, _| {}).await
    }

    /// [`Client::store_file`] calling `progress(done, None)` after each WRITE the server
    /// acknowledged (pysmb's `show_progress`).
    ///
    /// # Errors
    ///
    /// As for [`Client::store_file`].
    pub async fn store_file_with_progress<R>(
        &self,
        share: &str,
        path: &str,
        input: &mut R,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        let op = ops::WriteFile::new(share, path).with_progress();
        self.store_op(op, input, progress).await
    }

    /// Writes everything `input` yields into `path` from `offset` (the file is created
    /// if missing, and first emptied when `truncate`); returns the offset after the last
    /// byte written (pysmb's `storeFileFromOffset`).
    ///
    /// # Errors
    ///
    /// As for [`Client::store_file`].
    pub async fn store_file_from_offset<R>(
        &self,
        share: &str,
        path: &str,
        input: &mut R,
        offset: u64,
        truncate: bool,
    ) -> Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        self.store_file_from_offset_with_progress(
            share,
            path,
            input,
            offset,
            truncate,
            &mut |_, _| {},
        )
        .await
    }

    /// [`Client::store_file_from_offset`] calling `progress(done, None)` after each WRITE
    /// the server acknowledged (pysmb's `show_progress`).
    ///
    /// # Errors
    ///
    /// As for [`Client::store_file`].
    pub async fn store_file_from_offset_with_progress<R>(
        &self,
        share: &str,
        path: &str,
        input: &mut R,
        offset: u64,
        truncate: bool,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        let op = ops::WriteFile::new(share, path)
            .from_offset(offset, truncate)
            .with_progress();
        Ok(offset + self.store_op(op, input, progress).await?)
    }

    /// Runs a streaming write fed from `input`; a lost connection is made again and the
    /// upload resumes where the server's acknowledgements end ([`Upload`]).
    async fn store_op<R>(
        &self,
        op: ops::WriteFile,
        input: &mut R,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        if self.channels() > 0 {
            // Striped over the channels when the input is worth it (more than two
            // spans); else on this connection, what was read first going first.
            let span = self.stripe_span();
            let mut head = vec![0; 2 * span];
            let n = read_up_to(&mut *input, &mut head).await?;
            head.truncate(n);
            if n == 2 * span {
                return self.store_striped(&op, head, input, progress).await;
            }
            let mut rest = futures_lite::io::Cursor::new(head).chain(&mut *input);
            return self.store_on_one(op, &mut rest, progress).await;
        }
        self.store_on_one(op, input, progress).await
    }

    /// [`Client::store_op`] on this connection alone.
    async fn store_on_one<R>(
        &self,
        op: ops::WriteFile,
        input: &mut R,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        let (mut upload, mut retry) = (Upload::new(op), self.retry());
        loop {
            self.live(&mut retry).await?;
            let mut run = self.begin(BoxedOp::new(upload.run()), None)?;
            let r = async {
                loop {
                    match run.step().await? {
                        Step::WantData { file, max_len } => {
                            let data = match upload.kept() {
                                Some(kept) => kept,
                                None => {
                                    let mut buf = upload.buffer(max_len);
                                    let n = read_up_to(&mut *input, &mut buf).await?;
                                    upload.read(buf, n, max_len)
                                }
                            };
                            run.supply(file, data);
                        }
                        Step::Progress { done, total } => progress(upload.acked(done), total),
                        Step::Done(out) => return Ok(upload.written(out.downcast::<u64>()?)),
                        _ => {}
                    }
                }
            }
            .await;
            match r {
                Ok(n) => return Ok(n),
                Err(e) => {
                    if upload.moved_on() {
                        retry.moved_on();
                    }
                    self.reconnect(&run.link, e, &mut retry).await?;
                }
            }
        }
    }

    /// Creates or replaces `path` with `data`; returns the byte count. Large payloads go
    /// to the socket as slices of `data`, without a copy.
    ///
    /// # Errors
    ///
    /// The server's error.
    pub async fn store_bytes(&self, share: &str, path: &str, data: Bytes) -> Result<u64> {
        let mut op = self.begin(BoxedOp::new(ops::WriteFile::new(share, path)), None)?;
        let mut rest = data;
        loop {
            match op.step().await? {
                Step::WantData { file, max_len } => {
                    op.supply(file, rest.split_to(max_len.min(rest.len())))
                }
                Step::Done(out) => return Ok(out.downcast()?),
                _ => {}
            }
        }
    }

    /// Uploads each local file to its remote path (share-relative), keeping up to
    /// [`FILES_IN_FLIGHT`] files in flight on this connection. Returns the bytes sent.
    ///
    /// # Errors
    ///
    /// [`Error::Transfer`] when any file failed: the files that made it and the first
    /// failure (a local one stops the rest; a server's does not).
    pub async fn store_files(&self, share: &str, files: &[(PathBuf, String)]) -> Result<u64> {
        self.store_spread(share, Vec::new(), files).await
    }

    /// [`Client::store`], the files spread over extra connections when the options
    /// allow ([`ConnectOptions::connections`]), the directories made first on this one.
    async fn store_spread(
        &self,
        share: &str,
        dirs: Vec<String>,
        files: &[(PathBuf, String)],
    ) -> Result<u64> {
        let mut extras = spread::Extras::default();
        self.make_extras(&mut extras, files.len()).await;
        if !extras.0.is_empty() && !dirs.is_empty() {
            if let Err(e) = self.store(share, dirs.clone(), &[]).await {
                extras.close().await;
                return Err(e);
            }
        }
        let dirs = if extras.0.is_empty() {
            dirs
        } else {
            Vec::new()
        };
        // Sizes to share the work by: a file that cannot be read fails when it is opened.
        let locals: Vec<PathBuf> = match extras.0.is_empty() {
            true => Vec::new(),
            false => files.iter().map(|(l, _)| l.clone()).collect(),
        };
        let sizes = blocking::unblock(move || {
            locals
                .iter()
                .map(|l| std::fs::metadata(l).map_or(0, |m| m.len()))
                .collect::<Vec<u64>>()
        })
        .await;
        let share = share.to_string();
        let stored = self
            .spread_files(
                &extras,
                files,
                &sizes,
                |f| f.1.clone(),
                |c, part| {
                    let (share, dirs) = (share.clone(), dirs.clone());
                    async move { c.store(&share, dirs, &part).await }
                },
            )
            .await;
        extras.close().await;
        stored
    }

    /// Downloads each remote file (share-relative) to its local path, keeping up to
    /// [`FILES_IN_FLIGHT`] files in flight. Returns the bytes received.
    ///
    /// # Errors
    ///
    /// As for [`Client::store_files`].
    pub async fn retrieve_files(&self, share: &str, files: &[(String, PathBuf)]) -> Result<u64> {
        let mut extras = spread::Extras::default();
        self.make_extras(&mut extras, files.len()).await;
        let sizes = vec![0; files.len()];
        let got = self.retrieve_spread(share, files, &sizes, &extras).await;
        extras.close().await;
        got
    }

    /// [`Client::retrieve_many`], spread over `extras` ([`Client::spread_files`]).
    async fn retrieve_spread(
        &self,
        share: &str,
        files: &[(String, PathBuf)],
        sizes: &[u64],
        extras: &spread::Extras,
    ) -> Result<u64> {
        let share = share.to_string();
        self.spread_files(
            extras,
            files,
            sizes,
            |f| f.0.clone(),
            |c, part| {
                let share = share.clone();
                async move { c.retrieve_many(&share, &part).await }
            },
        )
        .await
    }

    /// Downloads `files` on this connection, made again and resumed after a loss.
    async fn retrieve_many(&self, share: &str, files: &[(String, PathBuf)]) -> Result<u64> {
        let (mut many, mut retry) = (ManyFiles::new(files.len()), self.retry());
        let mut run = files.to_vec();
        loop {
            self.live(&mut retry).await?;
            let lost = self.inner.link();
            let err = match self.retrieve_files_once(share, &run).await {
                Ok(n) => return Ok(many.finished(n)),
                Err(e) => e,
            };
            let size = |name: &str| local_size(run.iter().find(|f| f.0 == name).map(|f| &f.1));
            let loss = many.lost(err, &mut retry, size)?;
            let again = self.reconnect(&lost, loss, &mut retry).await;
            again.map_err(|e| many.gave_up(e))?;
            run = many.remaining(files, |f| &f.0);
        }
    }

    /// One run of [`Client::retrieve_files`].
    async fn retrieve_files_once(&self, share: &str, files: &[(String, PathBuf)]) -> Result<u64> {
        let names: Vec<String> = files.iter().map(|(r, _)| r.clone()).collect();
        let op = ops::RetrieveFiles::new(share, names.clone());
        let mut op = self.begin(BoxedOp::new(op), None)?;
        let mut results = TransferResults::new(names);
        // Each file goes to a temporary beside its target, renamed once whole, so one that
        // fails or is cut short never sits under its real name.
        let parts = part_paths(files);
        // Created at a file's first data (or its end, for an empty one), closed at its end.
        let mut sinks: HashMap<usize, async_fs::File> = HashMap::new();
        let outcome = loop {
            let (file, data, end) = match op.step().await {
                Ok(Step::Data(chunk)) => (chunk.file, Some(chunk), false),
                Ok(Step::FileDone { file, result }) => {
                    let ok = result.is_ok();
                    results.file_done(file, result);
                    if !ok {
                        if sinks.remove(&file).is_some() {
                            remove_part(&parts[file]).await;
                        }
                        continue;
                    }
                    (file, None, true)
                }
                Ok(Step::Done(out)) => break Ok(out.downcast()?),
                Ok(_) => continue,
                Err(e) => break Err(e),
            };
            let local = &files[file].1;
            let written = async {
                let sink = match sinks.entry(file) {
                    Entry::Occupied(o) => o.into_mut(),
                    Entry::Vacant(v) => v.insert(
                        async_fs::File::create(parts[file].as_ref().unwrap_or(local)).await?,
                    ),
                };
                if let Some(data) = data {
                    sink.write_all(&data).await?;
                }
                if end {
                    sink.flush().await?;
                    // Closed first: the rename is the moment the file is whole.
                    drop(sinks.remove(&file));
                    if let Some(part) = &parts[file] {
                        async_fs::rename(part, local).await?;
                    }
                }
                io::Result::Ok(())
            };
            if let Err(e) = written.await {
                // Its temporary may be closed already (a rename that failed).
                remove_part(&parts[file]).await;
                results.local_failure(file, with_path(e, local));
                break Err(smb_proto::Error::Cancelled.into());
            }
        };
        // Files cut short by a failure or a cancel: nothing of them stays.
        for (file, sink) in std::mem::take(&mut sinks) {
            drop(sink);
            remove_part(&parts[file]).await;
        }
        results.finish(outcome)
    }

    /// Uploads the directory tree under `local_dir` into `remote_dir` (created with any
    /// missing parents), many files in flight at once. Returns (files, bytes).
    ///
    /// Symbolic links are followed, like `cp -rL`; the whole local tree is walked before
    /// anything is sent.
    ///
    /// # Errors
    ///
    /// A local tree that cannot be walked (naming the path), else as for
    /// [`Client::store_files`].
    pub async fn store_tree(
        &self,
        local_dir: &Path,
        share: &str,
        remote_dir: &str,
    ) -> Result<(u64, u64)> {
        let (local, remote) = (local_dir.to_path_buf(), remote_dir.to_string());
        let tree = blocking::unblock(move || LocalTree::walk(&local, &remote)).await?;
        let bytes = self.store_spread(share, tree.dirs, &tree.files).await?;
        Ok((tree.files.len() as u64, bytes))
    }

    /// Downloads the tree under `remote_dir` into `local_dir` (created if needed), many
    /// files in flight at once. Returns (files, bytes).
    ///
    /// # Errors
    ///
    /// The listing's error, a local directory that cannot be created, else as for
    /// [`Client::store_files`].
    pub async fn retrieve_tree(
        &self,
        share: &str,
        remote_dir: &str,
        local_dir: &Path,
    ) -> Result<(u64, u64)> {
        let mut extras = spread::Extras::default();
        let got = self
            .retrieve_tree_with(share, remote_dir, local_dir, &mut extras)
            .await;
        extras.close().await;
        got
    }

    /// [`Client::retrieve_tree`] with the extra clients of the call.
    async fn retrieve_tree_with(
        &self,
        share: &str,
        remote_dir: &str,
        local_dir: &Path,
        extras: &mut spread::Extras,
    ) -> Result<(u64, u64)> {
        let entries = self.list_tree_on(share, remote_dir, extras).await?;
        let mut dirs = vec![local_dir.to_path_buf()];
        let (mut files, mut sizes) = (Vec::new(), Vec::new());
        for entry in entries {
            let local = local_path(local_dir, &entry.path);
            if entry.info.is_directory() {
                dirs.push(local);
            } else {
                sizes.push(entry.info.size);
                files.push((ops::path::join(remote_dir, &entry.path), local));
            }
        }
        blocking::unblock(move || {
            dirs.iter()
                .try_for_each(|d| std::fs::create_dir_all(d).map_err(|e| with_path(e, d)))
        })
        .await?;
        self.make_extras(extras, files.len()).await;
        let bytes = self.retrieve_spread(share, &files, &sizes, extras).await?;
        Ok((files.len() as u64, bytes))
    }

    /// Uploads `files` after creating `dirs`, many files in flight; after a lost
    /// connection, makes it again and uploads the files not yet whole ([`ManyFiles`]).
    async fn store(
        &self,
        share: &str,
        dirs: Vec<String>,
        files: &[(PathBuf, String)],
    ) -> Result<u64> {
        let (mut many, mut retry) = (ManyFiles::new(files.len()), self.retry());
        let mut run = files.to_vec();
        loop {
            self.live(&mut retry).await?;
            let lost = self.inner.link();
            let err = match self.store_once(share, dirs.clone(), &run).await {
                Ok(n) => return Ok(many.finished(n)),
                Err(e) => e,
            };
            let size = |name: &str| local_size(run.iter().find(|f| f.1 == name).map(|f| &f.0));
            let loss = many.lost(err, &mut retry, size)?;
            let again = self.reconnect(&lost, loss, &mut retry).await;
            again.map_err(|e| many.gave_up(e))?;
            run = many.remaining(files, |f| &f.1);
        }
    }

    /// One run of [`Client::store`].
    async fn store_once(
        &self,
        share: &str,
        dirs: Vec<String>,
        files: &[(PathBuf, String)],
    ) -> Result<u64> {
        let names: Vec<String> = files.iter().map(|(_, r)| r.clone()).collect();
        let op = ops::StoreFiles::new(share, names.clone()).directories(dirs);
        let mut op = self.begin(BoxedOp::new(op), None)?;
        let mut results = TransferResults::new(names);
        // Each source open, with the bytes of it thought to be left.
        let mut sources: HashMap<usize, (async_fs::File, u64)> = HashMap::new();
        let mut pool = UploadBuffers::default();
        loop {
            match op.step().await {
                Ok(Step::WantData { file, max_len }) => {
                    let local = &files[file].0;
                    let read = async {
                        let (src, left) = match sources.entry(file) {
                            Entry::Occupied(o) => o.into_mut(),
                            Entry::Vacant(v) => {
                                let f = async_fs::File::open(local).await?;
                                let len = f.metadata().await?.len();
                                v.insert((f, len))
                            }
                        };
                        let want = chunk_for(max_len, *left);
                        let mut buf = pool.take(want);
                        let mut n = read_up_to(src, &mut buf).await?;
                        if n == want && want < max_len {
                            // The file grew since its size was taken: a full chunk.
                            buf.resize(max_len, 0);
                            n += read_up_to(src, &mut buf[n..]).await?;
                        }
                        *left = left.saturating_sub(n as u64);
                        io::Result::Ok(pool.give(buf, n))
                    };
                    match read.await {
                        Ok(data) => {
                            if data.len() < max_len {
                                sources.remove(&file);
                            }
                            op.supply(file, data);
                        }
                        Err(e) => {
                            results.local_failure(file, with_path(e, local));
                            return results.finish(Err(smb_proto::Error::Cancelled.into()));
                        }
                    }
                }
                Ok(Step::FileDone { file, result }) => {
                    sources.remove(&file);
                    results.file_done(file, result);
                }
                Ok(Step::Done(out)) => return results.finish(Ok(out.downcast()?)),
                Ok(_) => {}
                Err(e) => return results.finish(Err(e)),
            }
        }
    }

    /// Opens a file as a `futures-io` `AsyncRead`/`AsyncWrite`/`AsyncSeek` handle.
    ///
    /// # Errors
    ///
    /// The CREATE's error.
    pub async fn open(&self, share: &str, path: &str, options: OpenOptions) -> Result<File> {
        let (handle, info) = self.call(ops::Open::new(share, path, options)).await?;
        Ok(File::new(self.clone(), handle, path, info))
    }

    /// Opens a file asking for caching `want` (lease state bits, [`LeaseState::R`] |
    /// [`LeaseState::W`] | [`LeaseState::H`]): a lease on SMB 2.1 and later, an oplock on
    /// 2.0.2 ([`smb_proto::ops::lease`]). The connection task acknowledges the server's
    /// breaks as they come; [`File::lease_state`] says what the file holds now. While it
    /// holds read caching, repeated reads of ranges already read and [`File::stat`] are
    /// answered from a cache the file keeps (at most [`READ_CACHE_LIMIT`] bytes), emptied
    /// by any break. Its writes go through (each returns once the server has it), so a
    /// write lease's break never waits for data held back.
    ///
    /// ```no_run
    /// # async fn demo(client: &smb_async::Client) -> smb_async::Result<()> {
    /// use smb_async::{LeaseState, OpenOptions};
    /// let f = client
    ///     .open_leased("share", "config.ini", OpenOptions::read(), LeaseState::R | LeaseState::H)
    ///     .await?;
    /// println!("granted {}", f.lease_state().await?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The CREATE's error.
    pub async fn open_leased(
        &self,
        share: &str,
        path: &str,
        options: OpenOptions,
        want: u32,
    ) -> Result<File> {
        let (handle, info) = self
            .call(ops::Open::leased(share, path, options, want))
            .await?;
        Ok(File::new(self.clone(), handle, path, info).leased())
    }

    /// Logs off and closes the connection, for every clone of this handle; returns once
    /// the socket is closed (a recording of the session is then complete).
    ///
    /// # Errors
    ///
    /// The LOGOFF's error; the connection closes regardless.
    pub async fn close(self) -> Result<()> {
        self.inner.closing.store(true, Ordering::Release);
        let r = self.call(ops::Logoff).await;
        let link = self.inner.link();
        let _ = link.send(Cmd::Shutdown).await;
        // Once this returns the socket is closed (and a recording complete).
        link.closed.ended().await;
        r
    }
}

/// Removes a download's temporary, if it has one (a failed file's).
async fn remove_part(part: &Option<PathBuf>) {
    if let Some(part) = part {
        let _ = async_fs::remove_file(part).await;
    }
}

/// A progress callback: bytes moved so far, and the total when known.
pub type ProgressFn<'a> = dyn FnMut(u64, Option<u64>) + Send + 'a;

/// Fills `buf` from `input` up to its end or the input's → the bytes read (fewer than
/// asked: the input ended).
async fn read_up_to<R: AsyncRead + Unpin + ?Sized>(
    input: &mut R,
    buf: &mut [u8],
) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]).await {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
