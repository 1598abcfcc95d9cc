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

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_core::Stream;
use smb_proto::wire::fscc::FileTime;
use smb_proto::{CloseReason, Op, Output, TreeId};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, OnceCell};
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
    /// One cell per share, so concurrent first uses send one TREE_CONNECT.
    trees: Mutex<HashMap<String, Arc<OnceCell<TreeId>>>>,
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
    Done(Output),
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
    pub(crate) fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Result<Output>> {
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

    async fn finish(mut self) -> Result<Output> {
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
                trees: Mutex::new(HashMap::new()),
                closing: AtomicBool::new(false),
            }),
            timeout: None,
        };
        client.run(Op::Login(creds)).await?;
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

    /// Hands `op` to the connection's task.
    fn begin(&self, op: Op, path: &str) -> Result<Running> {
        let ticket = self.inner.next_ticket.fetch_add(1, Ordering::Relaxed);
        let (tx, events) = mpsc::unbounded_channel();
        let name = op.name();
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
            path: path.to_string(),
            finished: false,
        })
    }

    /// Runs one operation to completion. Streamed data and listing pages are discarded and
    /// a streaming write gets no input: use the dedicated methods for those.
    pub async fn run(&self, op: Op) -> Result<Output> {
        self.begin(op, "")?.finish().await
    }

    async fn run_at(&self, op: Op, path: &str) -> Result<Output> {
        self.begin(op, path)?.finish().await
    }

    /// The tree id for `share`, connecting on first use.
    pub async fn tree(&self, share: &str) -> Result<TreeId> {
        let cell = self
            .inner
            .trees
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(share.to_ascii_lowercase())
            .or_default()
            .clone();
        let connect = || async {
            let op = Op::TreeConnect {
                share: share.to_string(),
            };
            Ok(self.run_at(op, share).await?.into_tree()?)
        };
        cell.get_or_try_init(connect).await.copied()
    }

    /// Entries of directory `path` matching `pattern` (`*` for all), without `.`/`..`.
    pub async fn list_path(&self, share: &str, path: &str, pattern: &str) -> Result<Vec<FileInfo>> {
        let tree = self.tree(share).await?;
        let op = Op::ListDir {
            tree,
            path: path.to_string(),
            pattern: pattern.to_string(),
        };
        Ok(self.run_at(op, path).await?.into_entries()?)
    }

    /// Like [`Client::list_path`], as a stream that asks the server for the next page of
    /// entries only when the previous one has been consumed.
    pub async fn list_path_stream(
        &self,
        share: &str,
        path: &str,
        pattern: &str,
    ) -> Result<ListStream> {
        let tree = self.tree(share).await?;
        let op = Op::ListDirPaged {
            tree,
            path: path.to_string(),
            pattern: pattern.to_string(),
        };
        Ok(ListStream {
            op: Some(self.begin(op, path)?),
            page: Vec::new().into_iter(),
            pull: false,
        })
    }

    /// Attributes of a file or directory.
    pub async fn get_attributes(&self, share: &str, path: &str) -> Result<FileInfo> {
        let tree = self.tree(share).await?;
        let op = Op::Stat {
            tree,
            path: path.to_string(),
        };
        Ok(self.run_at(op, path).await?.into_info()?)
    }

    /// Writes the whole file into `out`; returns the byte count.
    pub async fn retrieve_file<W>(&self, share: &str, path: &str, out: &mut W) -> Result<u64>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        self.retrieve_file_from_offset(share, path, out, 0, None)
            .await
    }

    /// Writes up to `max_length` bytes from `offset` into `out`; returns the byte count.
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
        let tree = self.tree(share).await?;
        let op = Op::ReadFile {
            tree,
            path: path.to_string(),
            offset,
            max_len: max_length,
        };
        let mut op = self.begin(op, path)?;
        loop {
            match op.step().await? {
                Step::Data(data) => out.write_all(&data).await?,
                Step::Done(done) => {
                    let n = done.into_transferred()?;
                    out.flush().await?;
                    return Ok(n);
                }
                Step::WantData(_) | Step::Entries(_) => {}
            }
        }
    }

    /// Creates or replaces `path` with everything `input` yields; returns the byte count.
    pub async fn store_file<R>(&self, share: &str, path: &str, input: &mut R) -> Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        let tree = self.tree(share).await?;
        let op = Op::WriteFile {
            tree,
            path: path.to_string(),
        };
        let mut op = self.begin(op, path)?;
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
                Step::Done(out) => return Ok(out.into_transferred()?),
                Step::Data(_) | Step::Entries(_) => {}
            }
        }
    }

    /// Creates a directory.
    pub async fn create_directory(&self, share: &str, path: &str) -> Result<()> {
        let tree = self.tree(share).await?;
        let op = Op::Mkdir {
            tree,
            path: path.to_string(),
        };
        self.run_at(op, path).await.map(drop)
    }

    /// Creates a directory and any missing parents, like `mkdir -p`.
    pub async fn create_directories(&self, share: &str, path: &str) -> Result<()> {
        let tree = self.tree(share).await?;
        let op = Op::MkdirAll {
            tree,
            path: path.to_string(),
        };
        self.run_at(op, path).await.map(drop)
    }

    /// Removes an empty directory.
    pub async fn delete_directory(&self, share: &str, path: &str) -> Result<()> {
        let tree = self.tree(share).await?;
        let op = Op::Rmdir {
            tree,
            path: path.to_string(),
        };
        self.run_at(op, path).await.map(drop)
    }

    /// Deletes the files matching `path_pattern` (wildcards in the last component);
    /// returns how many were deleted.
    pub async fn delete_files(&self, share: &str, path_pattern: &str) -> Result<u64> {
        let tree = self.tree(share).await?;
        let op = Op::Delete {
            tree,
            path: path_pattern.to_string(),
        };
        Ok(self.run_at(op, path_pattern).await?.into_count()?)
    }

    /// Renames or moves `old` to `new` within the share (fails if `new` exists).
    pub async fn rename(&self, share: &str, old: &str, new: &str) -> Result<()> {
        let tree = self.tree(share).await?;
        let op = Op::Rename {
            tree,
            from: old.to_string(),
            to: new.to_string(),
            replace: false,
        };
        self.run_at(op, old).await.map(drop)
    }

    /// One ECHO round trip.
    pub async fn echo(&self) -> Result<()> {
        self.run(Op::Echo).await.map(drop)
    }

    /// Opens a file as a tokio `AsyncRead`/`AsyncWrite`/`AsyncSeek` handle.
    pub async fn open(&self, share: &str, path: &str, options: OpenOptions) -> Result<File> {
        let tree = self.tree(share).await?;
        let op = Op::Open {
            tree,
            path: path.to_string(),
            options,
        };
        let (handle, info) = self.run_at(op, path).await?.into_opened()?;
        Ok(File::new(self.clone(), handle, path, info))
    }

    /// Logs off and closes the connection, for every clone of this handle.
    pub async fn close(self) -> Result<()> {
        self.inner.closing.store(true, Ordering::Release);
        let r = self.run(Op::Logoff).await;
        let _ = self.inner.cmds.send(Cmd::Shutdown);
        r.map(drop)
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
