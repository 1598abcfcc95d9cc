//! An SMB2/3 client for async-std and smol: the blocking client's API as `async fn`, plus a
//! callback/deferred layer in the style of pysmb's Twisted `SMBProtocolFactory`.
//!
//! All protocol decisions live in [`smb_proto`]. One background task per connection owns the
//! socket and the protocol core; a [`Client`] (cheap to clone) sends it operations over a
//! channel, so any number of operations from any number of tasks run at once on one
//! connection. Only runtime-agnostic crates are used underneath (`futures-io`, `async-io`,
//! `async-net`): [`Client::connect`] spawns the connection's task on smol's global executor,
//! which works under async-std too, and [`Client::connect_with`] takes any spawner.
//!
//! ```no_run
//! # async fn demo() -> smb_asyncstd::Result<()> {
//! use smb_asyncstd::{Client, ConnectOptions, SmbFactory};
//!
//! let opts = ConnectOptions::new("127.0.0.1").user("alice", "secret");
//! // Plain async.
//! let client = Client::connect(&opts).await?;
//! for entry in client.list_path("share", "/", "*").await? {
//!     println!("{} {}", entry.name, entry.size);
//! }
//! let mut out = Vec::new();
//! client.retrieve_file("share", "/report.pdf", &mut out).await?;
//!
//! // Twisted style: hooks on login, deferreds with callbacks and errbacks.
//! let client = SmbFactory::new(opts)
//!     .on_auth_ok(|_client| println!("logged in"))
//!     .on_auth_failed(|err| eprintln!("login failed: {err}"))
//!     .connect()
//!     .await?;
//! let names = client
//!     .deferred()
//!     .list_path("share", "/", "*")
//!     .add_callback(|entries| entries.into_iter().map(|e| e.name).collect::<Vec<_>>())
//!     .add_errback(|err| { eprintln!("{err}"); Ok(Vec::new()) })
//!     .await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod deferred;
mod driver;

use std::io::{self, Read};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use async_channel::{Receiver, Sender};
use bytes::Bytes;
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, FutureExt, StreamExt};
use smb_proto::ops::{self, BoxedOp, OpOutput, Operation};
use smb_proto::wire::fscc::FileTime;
use smb_proto::CloseReason;

use driver::{Closed, Cmd, Driver};
use smb_proto::client::{DriverEvent as Ev, Status};

pub use deferred::{Deferred, DeferredClient, SmbFactory};
pub use smb_proto::client::{
    ClientError as Error, ConnectOptions, PasswordCallback, PasswordPrompt,
};
pub use smb_proto::wire::create::{access_mask, create_options, disposition};
pub use smb_proto::wire::fscc::file_attributes;
pub use smb_proto::FileInfo;
pub use smb_proto::{Dialect, Errno, ErrorKind, NtStatus, SigningPolicy};

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs a connection's background task (or a deferred's operation) to completion, e.g.
/// `Arc::new(|f| drop(async_std::task::spawn(f)))`.
pub type Spawner = Arc<dyn Fn(futures_lite::future::Boxed<()>) + Send + Sync>;

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
    cmds: Sender<Cmd>,
    spawner: Spawner,
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
/// Every method may run concurrently with any other. Dropping an operation's future before
/// it finishes cancels it on the wire and leaves the connection usable.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("negotiated", &self.inner.status.get())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// One operation in flight; cancelled on drop unless it finished.
struct Running {
    inner: Arc<Inner>,
    ticket: u64,
    /// Boxed because a receiver is `!Unpin`.
    events: Pin<Box<Receiver<Ev>>>,
    finished: bool,
}

/// An operation's next event, as its caller sees it.
enum Step {
    Data(Chunk),
    WantData(usize),
    Done(OpOutput),
    Page,
}

/// Bytes of a streaming read. The read keeps at most a window of chunks outstanding, so
/// dropping one lets it ask the server for more: a slow consumer slows the read instead of
/// filling memory.
struct Chunk {
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
        let _ = self.inner.cmds.try_send(Cmd::Supply {
            ticket: self.ticket,
            data: Bytes::new(),
        });
    }
}

impl Running {
    async fn step(&mut self) -> Result<Step> {
        match self.events.next().await {
            Some(Ev::Data(data)) => Ok(Step::Data(Chunk {
                data,
                inner: self.inner.clone(),
                ticket: self.ticket,
            })),
            Some(Ev::WantData(n)) => Ok(Step::WantData(n)),
            Some(Ev::Entries(_)) => Ok(Step::Page),
            Some(Ev::Done(r)) => {
                self.finished = true;
                r.map(Step::Done).map_err(Error::Smb)
            }
            None => {
                self.finished = true;
                Err(self.inner.closed())
            }
        }
    }

    /// Runs to the end, discarding streamed data and pages and giving a streaming write no
    /// input, so that no operation waits on this caller forever.
    async fn finish(mut self) -> Result<OpOutput> {
        loop {
            match self.step().await? {
                Step::Done(out) => return Ok(out),
                Step::WantData(_) | Step::Page => self.supply(Bytes::new()),
                Step::Data(_) => {}
            }
        }
    }

    fn supply(&self, data: Bytes) {
        let _ = self.inner.cmds.try_send(Cmd::Supply {
            ticket: self.ticket,
            data,
        });
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.inner.cmds.try_send(Cmd::Cancel {
                ticket: self.ticket,
            });
        }
    }
}

impl Client {
    /// Connects, negotiates and logs in (guest when `opts.user` is empty). The connection's
    /// task runs on smol's global executor, which needs no runtime of the caller's.
    pub async fn connect(opts: &ConnectOptions) -> Result<Client> {
        Self::connect_with(opts, Arc::new(|f| smol::spawn(f).detach())).await
    }

    /// Like [`Client::connect`], running the connection's task (and the operations of
    /// [`Client::deferred`]) with `spawner`, e.g. on async-std's executor.
    pub async fn connect_with(opts: &ConnectOptions, spawner: Spawner) -> Result<Client> {
        let deadline = async {
            async_io::Timer::after(opts.timeout).await;
            Err(io::Error::from(io::ErrorKind::TimedOut))
        };
        let sock = async_net::TcpStream::connect((opts.host.as_str(), opts.port))
            .or(deadline)
            .await
            .map_err(|e| opts.connect_error(e))?;
        sock.set_nodelay(true)?;
        let mut config = opts.config(os_seed, FileTime::from_system_time(SystemTime::now()).0);
        // Consumers are other tasks and may lag; see `Chunk`.
        config.paced_reads = true;
        let creds = opts.credentials()?;
        let core = smb_proto::Connection::new(config, std::time::Instant::now());
        let closed = Closed::default();
        let (cmds, cmd_rx) = async_channel::unbounded();
        spawner(Box::pin(
            Driver::new(sock, core, cmd_rx, closed.clone()).run(),
        ));
        let client = Client {
            inner: Arc::new(Inner {
                cmds,
                spawner,
                next_ticket: AtomicU64::new(0),
                closed,
                status: OnceLock::new(),
                closing: AtomicBool::new(false),
            }),
        };
        client.call(ops::Login::new(creds)).await?;
        let (tx, rx) = async_channel::bounded(1);
        client
            .inner
            .cmds
            .try_send(Cmd::Status(tx))
            .map_err(|_| client.inner.closed())?;
        let status = rx
            .recv()
            .await
            .ok()
            .flatten()
            .ok_or_else(|| client.inner.closed())?;
        let _ = client.inner.status.set(status);
        Ok(client)
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

    /// Hands `op` to the connection's task.
    fn begin(&self, op: BoxedOp) -> Result<Running> {
        let ticket = self.inner.next_ticket.fetch_add(1, Ordering::Relaxed);
        let (tx, events) = async_channel::unbounded();
        self.inner
            .cmds
            .try_send(Cmd::Start {
                ticket,
                op,
                events: tx,
            })
            .map_err(|_| self.inner.closed())?;
        Ok(Running {
            inner: self.inner.clone(),
            ticket,
            events: Box::pin(events),
            finished: false,
        })
    }

    /// Runs any operation (one of [`smb_proto::ops`], or a caller's own) to completion.
    /// Streamed data and listing pages are discarded and a streaming write gets no input:
    /// use the dedicated methods for those.
    ///
    /// # Errors
    ///
    /// The operation's error, or the connection's when it ended.
    pub async fn call<O: Operation>(&self, op: O) -> Result<O::Output> {
        Ok(self.begin(BoxedOp::new(op))?.finish().await?.downcast()?)
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

    /// Attributes of a file or directory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] for a missing path.
    pub async fn get_attributes(&self, share: &str, path: &str) -> Result<FileInfo> {
        self.call(ops::Stat::new(share, path)).await
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
        let op = ops::ReadFile::new(share, path, offset, max_length);
        let mut op = self.begin(BoxedOp::new(op))?;
        loop {
            match op.step().await? {
                Step::Data(data) => out.write_all(&data).await?,
                Step::Done(done) => {
                    let n = done.downcast::<u64>()?;
                    out.flush().await?;
                    return Ok(n);
                }
                Step::WantData(_) | Step::Page => {}
            }
        }
    }

    /// The whole file, in memory.
    pub async fn retrieve_file_to_vec(&self, share: &str, path: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.retrieve_file(share, path, &mut out).await?;
        Ok(out)
    }

    /// Creates or replaces `path` with everything `input` yields; returns the byte count.
    pub async fn store_file<R>(&self, share: &str, path: &str, input: &mut R) -> Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        let mut op = self.begin(BoxedOp::new(ops::WriteFile::new(share, path)))?;
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
                Step::Data(_) | Step::Page => {}
            }
        }
    }

    /// Creates or replaces `path` with `data`; returns the byte count.
    pub async fn store_bytes(&self, share: &str, path: &str, data: Bytes) -> Result<u64> {
        let mut op = self.begin(BoxedOp::new(ops::WriteFile::new(share, path)))?;
        let mut rest = data;
        loop {
            match op.step().await? {
                // Slices of `data`, so large payloads go to the socket without a copy.
                Step::WantData(max_len) => op.supply(rest.split_to(max_len.min(rest.len()))),
                Step::Done(out) => return Ok(out.downcast()?),
                Step::Data(_) | Step::Page => {}
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

    /// Logs off and closes the connection, for every clone of this handle.
    pub async fn close(self) -> Result<()> {
        self.inner.closing.store(true, Ordering::Release);
        let r = self.call(ops::Logoff).await;
        let _ = self.inner.cmds.try_send(Cmd::Shutdown);
        r.map(drop)
    }
}
