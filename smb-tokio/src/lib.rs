//! An SMB2/3 client on tokio: the blocking client's API as `async fn`, on a handle that many
//! tasks share.
//!
//! All protocol decisions live in [`smb_proto`]. One background task per connection owns the
//! socket and the protocol core; a [`Client`] (cheap to clone) sends it operations over a
//! channel, and the core routes responses back by message id, so any number of operations
//! from any number of tasks run at once on one connection without a lock held across a
//! round trip. Dropping an operation's future cancels it on the wire; [`Client::with_timeout`]
//! bounds each operation; [`Pool`] shares connections by server and user.
//!
//! ```no_run
//! # async fn demo() -> smb_tokio::Result<()> {
//! use smb_tokio::{Client, ConnectOptions};
//! use tokio::io::AsyncReadExt;
//!
//! let client = Client::connect(&ConnectOptions::new("127.0.0.1").user("alice", "secret")).await?;
//! let mut listing = client.list_path_stream("share", "/", "*").await?;
//! while let Some(entry) = listing.next().await {
//!     let entry = entry?;
//!     println!("{} {}", entry.name, entry.size);
//! }
//! let mut out = Vec::new();
//! client.retrieve_file("share", "/report.pdf", &mut out).await?;
//! let mut f = client.open("share", "notes.txt", smb_tokio::OpenOptions::read()).await?;
//! let mut text = String::new();
//! f.read_to_string(&mut text).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod driver;
mod file;
mod pool;

use std::future::{poll_fn, Future};
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_core::Stream;
use smb_proto::ops::{self, BoxedOp, OpOutput, Operation};
use smb_proto::wire::fscc::FileTime;
use smb_proto::CloseReason;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Sleep;

use driver::{Closed, Cmd, Driver};
use smb_proto::client::{DriverEvent as Ev, Status};

pub use file::File;
pub use pool::Pool;
pub use smb_proto::client::{
    ClientError as Error, ConnectOptions, PasswordCallback, PasswordPrompt,
};
pub use smb_proto::wire::create::{access_mask, create_options, disposition};
pub use smb_proto::wire::fscc::file_attributes;
pub use smb_proto::{Dialect, Errno, ErrorKind, NtStatus, SigningPolicy};
pub use smb_proto::{FileInfo, OpenOptions};

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        if f.read_exact(&mut seed).is_ok() {
            return seed;
        }
    }
    // No /dev/urandom: the clock and process id, hashed by the core's DRBG.
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    seed[..16].copy_from_slice(&t.to_le_bytes());
    seed[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    seed
}

/// What every clone of a [`Client`] shares.
struct Inner {
    cmds: mpsc::UnboundedSender<Cmd>,
    next_ticket: AtomicU64,
    closed: Closed,
    status: OnceLock<Status>,
    closing: AtomicBool,
}

impl Inner {
    fn closed(&self) -> Error {
        let reason = self.closed.get().cloned().unwrap_or(CloseReason::Local);
        Error::Smb(smb_proto::Error::Closed(reason))
    }
}

/// A logged-in connection to one server; clone it to share it between tasks.
///
/// Every method may run concurrently with any other, from any task. Each operation's future
/// owns the operation: dropping it before it finishes cancels it on the wire (SMB2 CANCEL for
/// requests the server holds) and leaves the connection usable.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("negotiated", &self.inner.status.get())
            .field("timeout", &self.timeout)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// One operation in flight: its events, its deadline, and a cancel on drop unless it
/// finished.
pub(crate) struct Running {
    inner: Arc<Inner>,
    ticket: u64,
    events: mpsc::UnboundedReceiver<Ev>,
    deadline: Option<Pin<Box<Sleep>>>,
    op: &'static str,
    path: String,
    finished: bool,
}

/// An operation's next event, as its caller sees it.
pub(crate) enum Step {
    Data(Chunk),
    WantData(usize),
    Entries(Vec<FileInfo>),
    Done(OpOutput),
}

/// Bytes of a streaming read. The read keeps at most a window of chunks outstanding
/// ([`Config::paced_reads`]), so dropping one lets it ask the server for more: a slow
/// consumer slows the read instead of filling memory.
pub(crate) struct Chunk {
    data: Bytes,
    inner: Arc<Inner>,
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
        let _ = self.inner.cmds.send(Cmd::Supply {
            ticket: self.ticket,
            data: Bytes::new(),
        });
    }
}

impl Running {
    pub(crate) fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Result<Step>> {
        if let Poll::Ready(ev) = self.events.poll_recv(cx) {
            return Poll::Ready(match ev {
                Some(Ev::Data(data)) => Ok(Step::Data(Chunk {
                    data,
                    inner: self.inner.clone(),
                    ticket: self.ticket,
                })),
                Some(Ev::WantData(n)) => Ok(Step::WantData(n)),
                Some(Ev::Entries(e)) => Ok(Step::Entries(e)),
                Some(Ev::Done(r)) => {
                    self.finished = true;
                    r.map(Step::Done).map_err(Error::Smb)
                }
                None => {
                    self.finished = true;
                    Err(self.inner.closed())
                }
            });
        }
        if let Some(deadline) = &mut self.deadline {
            ready!(deadline.as_mut().poll(cx));
            return Poll::Ready(Err(Error::Smb(smb_proto::Error::Timeout {
                op: self.op,
                path: self.path.clone(),
            })));
        }
        Poll::Pending
    }

    /// Polls until the operation is done, discarding streamed data and entries and giving
    /// a streaming write no input, so that no operation waits on this caller forever.
    pub(crate) fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Result<OpOutput>> {
        loop {
            match ready!(self.poll_step(cx))? {
                Step::Done(out) => return Poll::Ready(Ok(out)),
                Step::WantData(_) | Step::Entries(_) => self.supply(Bytes::new()),
                Step::Data(_) => {}
            }
        }
    }

    async fn step(&mut self) -> Result<Step> {
        poll_fn(|cx| self.poll_step(cx)).await
    }

    async fn finish(mut self) -> Result<OpOutput> {
        poll_fn(|cx| self.poll_done(cx)).await
    }

    fn supply(&self, data: Bytes) {
        let _ = self.inner.cmds.send(Cmd::Supply {
            ticket: self.ticket,
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
            let _ = self.inner.cmds.send(Cmd::Cancel {
                ticket: self.ticket,
            });
        }
    }
}

impl Client {
    /// Connects, negotiates and logs in (guest when `opts.user` is empty). Spawns the
    /// connection's task on the current tokio runtime.
    pub async fn connect(opts: &ConnectOptions) -> Result<Client> {
        let addr = tokio::net::lookup_host((opts.host.as_str(), opts.port))
            .await
            .map_err(|e| opts.connect_error(e))?
            .next()
            .ok_or_else(|| opts.connect_error(io::ErrorKind::NotFound.into()))?;
        let sock = tokio::time::timeout(opts.timeout, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
            .map_err(|e| opts.connect_error(e))?;
        sock.set_nodelay(true)?;
        let mut config = opts.config(os_seed, FileTime::from_system_time(SystemTime::now()).0);
        // Consumers are other tasks and may lag; see `Chunk`.
        config.paced_reads = true;
        let creds = opts.credentials()?;
        let core = smb_proto::Connection::new(config, std::time::Instant::now());
        let closed = Closed::default();
        let (cmds, cmd_rx) = mpsc::unbounded_channel();
        tokio::spawn(Driver::new(sock, core, cmd_rx, closed.clone()).run());
        let client = Client {
            inner: Arc::new(Inner {
                cmds,
                next_ticket: AtomicU64::new(0),
                closed,
                status: OnceLock::new(),
                closing: AtomicBool::new(false),
            }),
            timeout: None,
        };
        client.call(ops::Login::new(creds)).await?;
        let (tx, rx) = oneshot::channel();
        client
            .inner
            .cmds
            .send(Cmd::Status(tx))
            .map_err(|_| client.inner.closed())?;
        let status = rx
            .await
            .ok()
            .flatten()
            .ok_or_else(|| client.inner.closed())?;
        let _ = client.inner.status.set(status);
        Ok(client)
    }

    /// A handle to the same connection whose operations each fail with
    /// [`smb_proto::Error::Timeout`] (and are cancelled) when not done within `timeout`.
    /// A whole transfer or listing counts as one operation.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            inner: self.inner.clone(),
            timeout: Some(timeout),
        }
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

    fn status(&self) -> &Status {
        self.inner
            .status
            .get()
            .expect("a connected client has logged in")
    }

    /// Whether the connection has ended (or [`Client::close`] was called).
    pub fn is_closed(&self) -> bool {
        self.inner.closing.load(Ordering::Acquire) || self.inner.cmds.is_closed()
    }

    /// Whether two handles share one connection.
    pub fn same_connection(&self, other: &Client) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Hands `op` to the connection's task; `path` names it in a timeout (the
    /// operation's own label otherwise).
    pub(crate) fn begin(&self, op: BoxedOp, path: Option<&str>) -> Result<Running> {
        let ticket = self.inner.next_ticket.fetch_add(1, Ordering::Relaxed);
        let (tx, events) = mpsc::unbounded_channel();
        let (name, label_path) = op.label();
        let path = path.unwrap_or(label_path).to_string();
        self.inner
            .cmds
            .send(Cmd::Start {
                ticket,
                op,
                events: tx,
            })
            .map_err(|_| self.inner.closed())?;
        Ok(Running {
            inner: self.inner.clone(),
            ticket,
            events,
            deadline: self.timeout.map(|t| Box::pin(tokio::time::sleep(t))),
            op: name,
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

    /// Whether requests to `share` are encrypted (connecting to it if needed).
    ///
    /// # Errors
    ///
    /// The tree connect's error.
    pub async fn tree_encrypted(&self, share: &str) -> Result<bool> {
        Ok(self.call(ops::ConnectShare::new(share)).await?.encrypted)
    }

    /// Entries of directory `path` matching `pattern` (`*` for all), without `.`/`..`.
    ///
    /// # Errors
    ///
    /// As for the blocking client's `list_path`.
    pub async fn list_path(&self, share: &str, path: &str, pattern: &str) -> Result<Vec<FileInfo>> {
        self.call(ops::ListDir::new(share, path, pattern)).await
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
        Ok(ListStream {
            op: Some(self.begin(op, None)?),
            page: Vec::new().into_iter(),
            pull: false,
        })
    }

    /// Attributes of a file or directory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] for a missing path.
    pub async fn get_attributes(&self, share: &str, path: &str) -> Result<FileInfo> {
        self.call(ops::Stat::new(share, path)).await
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
        let op = BoxedOp::new(ops::ReadFile::new(share, path, offset, max_length));
        let mut op = self.begin(op, None)?;
        loop {
            match op.step().await? {
                Step::Data(data) => out.write_all(&data).await?,
                Step::Done(done) => {
                    let n = done.downcast::<u64>()?;
                    out.flush().await?;
                    return Ok(n);
                }
                Step::WantData(_) | Step::Entries(_) => {}
            }
        }
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
        let mut op = self.begin(BoxedOp::new(ops::WriteFile::new(share, path)), None)?;
        loop {
            match op.step().await? {
                Step::WantData(max_len) => {
                    let mut buf = Vec::with_capacity(max_len);
                    (&mut *input)
                        .take(max_len as u64)
                        .read_to_end(&mut buf)
                        .await?;
                    op.supply(buf.into());
                }
                Step::Done(out) => return Ok(out.downcast()?),
                Step::Data(_) | Step::Entries(_) => {}
            }
        }
    }

    /// Creates a directory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`] when the name exists.
    pub async fn create_directory(&self, share: &str, path: &str) -> Result<()> {
        self.call(ops::Mkdir::new(share, path)).await
    }

    /// Creates a directory and any missing parents, like `mkdir -p`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotADirectory`] when a file is in the way.
    pub async fn create_directories(&self, share: &str, path: &str) -> Result<()> {
        self.call(ops::MkdirAll::new(share, path)).await
    }

    /// Removes an empty directory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotEmpty`] when it holds anything.
    pub async fn delete_directory(&self, share: &str, path: &str) -> Result<()> {
        self.call(ops::Rmdir::new(share, path)).await
    }

    /// Deletes the files matching `path_pattern` (wildcards in the last component);
    /// returns how many were deleted.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] when nothing matches.
    pub async fn delete_files(&self, share: &str, path_pattern: &str) -> Result<u64> {
        self.call(ops::Delete::new(share, path_pattern)).await
    }

    /// Renames or moves `old` to `new` within the share (fails if `new` exists).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`] when `new` exists.
    pub async fn rename(&self, share: &str, old: &str, new: &str) -> Result<()> {
        self.call(ops::Rename::new(share, old, new, false)).await
    }

    /// One ECHO round trip.
    ///
    /// # Errors
    ///
    /// The connection's error when it ended.
    pub async fn echo(&self) -> Result<()> {
        self.call(ops::Echo).await
    }

    /// Opens a file as a tokio `AsyncRead`/`AsyncWrite`/`AsyncSeek` handle.
    ///
    /// # Errors
    ///
    /// The CREATE's error.
    pub async fn open(&self, share: &str, path: &str, options: OpenOptions) -> Result<File> {
        let (handle, info) = self.call(ops::Open::new(share, path, options)).await?;
        Ok(File::new(self.clone(), handle, path, info))
    }

    /// Logs off and closes the connection, for every clone of this handle.
    ///
    /// # Errors
    ///
    /// The LOGOFF's error; the connection closes regardless.
    pub async fn close(self) -> Result<()> {
        self.inner.closing.store(true, Ordering::Release);
        let r = self.call(ops::Logoff).await;
        let _ = self.inner.cmds.send(Cmd::Shutdown);
        r
    }
}

/// Directory entries from [`Client::list_path_stream`], a page at a time. Dropping it
/// cancels the listing.
pub struct ListStream {
    op: Option<Running>,
    page: std::vec::IntoIter<FileInfo>,
    /// The page in hand came from the server, which waits to be asked for the next.
    pull: bool,
}

impl std::fmt::Debug for ListStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListStream")
            .field("buffered", &self.buffered())
            .field("finished", &self.op.is_none())
            .finish()
    }
}

impl ListStream {
    /// Entries received from the server and not yet yielded: at most one page.
    pub fn buffered(&self) -> usize {
        self.page.len()
    }

    /// The next entry; `None` after the last one or after an error.
    pub async fn next(&mut self) -> Option<Result<FileInfo>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for ListStream {
    type Item = Result<FileInfo>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<FileInfo>>> {
        let this = self.get_mut();
        loop {
            if let Some(entry) = this.page.next() {
                return Poll::Ready(Some(Ok(entry)));
            }
            let Some(op) = &mut this.op else {
                return Poll::Ready(None);
            };
            if std::mem::take(&mut this.pull) {
                op.supply(Bytes::new());
            }
            match ready!(op.poll_step(cx)) {
                Ok(Step::Entries(entries)) => {
                    this.page = entries.into_iter();
                    this.pull = true;
                }
                Ok(Step::Done(_)) => this.op = None,
                Ok(Step::Data(_) | Step::WantData(_)) => {}
                Err(e) => {
                    this.op = None;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}
