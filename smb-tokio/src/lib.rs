//! The SMB2/3 client on tokio: [`smb_async`]'s client (many operations from many tasks on
//! one connection, cancel on drop, per-operation timeouts, a pool, a lazily fetching
//! listing stream, the deferred layer) on tokio's executor, timers and sockets, with
//! files and transfers that speak tokio's `AsyncRead`/`AsyncWrite`/`AsyncSeek`.
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

pub mod context;

use std::io::{self, SeekFrom};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use smb_async::runtime::{BoxFuture, DatagramSocket, Runtime, Socket};
use smb_proto::url::SmbUrl;
use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

pub use context::Context;
mod path;

pub use path::Share;
pub use smb_async::{Creds, PathStream, PurePath, ShareTarget, SmbPath};

pub use smb_async::{
    access_mask, create_options, disposition, file_attributes, notify_filter, st_mode, Ace,
    AceType, Acl, Auth, AuthFn, Change, ConnectOptions, Copied, Credentials, Deferred,
    DeferredClient, Dialect, Dirent, DirentType, Errno, Error, ErrorKind, FileFullEaInformation,
    FileInfo, FileTime, LeaseState, ListStream, LockKind, NameService, NetBios, NodeStatus,
    NtStatus, OpenFlags, OpenOptions, PasswordCallback, PasswordPrompt, ReconnectPolicy,
    RecordBuffer, RecordOptions, RecordTarget, Recording, Replay, ReplayError, Result,
    SecurityDescriptor, SessionSlot, ShareInfo, ShareType, Sid, SigningPolicy, SimpleAuth,
    SmbFactory, StreamInfo, WatchStream, DEFAULT_NOTIFY_FILTER, FILES_IN_FLIGHT, O_ACCMODE,
    O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
};

/// tokio's executor, timers and sockets, on the runtime current when connecting.
struct Tokio(tokio::runtime::Handle);

impl Runtime for Tokio {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.0.spawn(task);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let _runtime = self.0.enter();
        Box::pin(tokio::time::sleep(duration))
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        let _runtime = self.0.enter();
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    fn connect(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Socket>>> {
        let host = host.to_string();
        let _runtime = self.0.enter();
        Box::pin(async move {
            let sock = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
            sock.set_nodelay(true)?;
            Ok(Box::new(Compat(sock)) as Box<dyn Socket>)
        })
    }

    fn bind_udp(
        &self,
        local: SocketAddr,
    ) -> BoxFuture<'static, io::Result<Box<dyn DatagramSocket>>> {
        let _runtime = self.0.enter();
        Box::pin(async move {
            let sock = tokio::net::UdpSocket::bind(local).await?;
            sock.set_broadcast(true)?;
            Ok(Box::new(TokioUdp(sock)) as Box<dyn DatagramSocket>)
        })
    }
}

/// tokio's UDP socket; its `recv_from` is cancel-safe, as the trait asks.
struct TokioUdp(tokio::net::UdpSocket);

impl DatagramSocket for TokioUdp {
    fn send_to<'a>(
        &'a self,
        datagram: &'a [u8],
        target: SocketAddr,
    ) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(self.0.send_to(datagram, target))
    }

    fn recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
        Box::pin(self.0.recv_from(buf))
    }
}

fn runtime() -> Arc<dyn Runtime> {
    Arc::new(Tokio(tokio::runtime::Handle::current()))
}

/// A Twisted-style factory (login and disconnect hooks, deferreds) whose connections run
/// on the current tokio runtime; see [`SmbFactory`].
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn factory(opts: ConnectOptions) -> SmbFactory {
    SmbFactory::with_runtime(opts, runtime())
}

/// NetBIOS name queries (pysmb's `NetBIOS`) on the current tokio runtime, as `service`
/// says: `netbios(NameService::new())` for port 137 with pysmb's flags.
///
/// ```no_run
/// # async fn demo() -> smb_tokio::Result<()> {
/// use std::time::Duration;
/// let nb = smb_tokio::netbios(smb_tokio::NameService::new());
/// let ips = nb.query_name("FILESRV", "192.168.1.10".parse().unwrap(), Duration::from_secs(2)).await?;
/// # Ok(()) }
/// ```
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn netbios(service: NameService) -> NetBios {
    NetBios::new(runtime(), service)
}

/// A tokio reader or writer as a `futures-io` one, for the [`smb_async::Client`]
/// methods this crate does not wrap (those with progress, from an offset, …):
/// `client.store_file_from_offset("share", "f", &mut Compat(&mut file), 5, false)`.
#[derive(Debug)]
pub struct Compat<T>(pub T);

impl<T: AsyncRead + Unpin> futures_io::AsyncRead for Compat<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        std::task::ready!(Pin::new(&mut self.0).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl<T: AsyncWrite + Unpin> futures_io::AsyncWrite for Compat<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A logged-in connection to one server; clone it to share it between tasks. Every
/// method of [`smb_async::Client`] is available (through `Deref`); the ones here take
/// tokio's I/O traits.
#[derive(Clone, Debug)]
pub struct Client(smb_async::Client);

impl std::ops::Deref for Client {
    type Target = smb_async::Client;
    fn deref(&self) -> &smb_async::Client {
        &self.0
    }
}

impl Client {
    /// Connects, negotiates and logs in (anonymously when `opts.user` is empty). The
    /// connection's task runs on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when the server cannot be reached, the login's error otherwise.
    pub async fn connect(opts: &ConnectOptions) -> Result<Client> {
        smb_async::Client::connect_with(opts, runtime())
            .await
            .map(Client)
    }

    /// Replays a recorded session with no network, the connection's task on the current
    /// tokio runtime: see [`smb_async::Client::replay_with`]. A recording made by any
    /// driver (blocking, tokio, async-std, smol) replays here.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use smb_tokio::{Client, Recording, Replay};
    /// let text = std::fs::read_to_string("tests/data/listing.smbrec")?;
    /// let replay = Replay::new(Recording::parse(&text)?)?;
    /// let client = Client::replay(&replay).await?;
    /// let entries = client.list_path("share", "reports", "*").await?;
    /// client.close().await?;
    /// replay.finish()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The login's error: a replay that diverges during login fails here.
    pub async fn replay(replay: &Replay) -> Result<Client> {
        smb_async::Client::replay_with(replay, runtime())
            .await
            .map(Client)
    }

    /// [`Client::replay`], logging in as `opts` say, as the blocking driver's
    /// `Connection::replay_with` does: for a recorded Kerberos login, the recording's
    /// options with the password (or keytab) the recorded login used. No KDC is reached:
    /// the recording answers every KDC attempt. See [`smb_async::Client::replay_as`].
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use smb_tokio::{Client, Recording, Replay};
    /// let text = std::fs::read_to_string("tests/data/kerberos.smbrec")?;
    /// let replay = Replay::new(Recording::parse(&text)?)?;
    /// let setup = replay.setup();
    /// let opts = setup.connect_options().user(&setup.user, "Al1ce-Pass!x");
    /// let client = Client::replay_with(&replay, &opts).await?;
    /// client.close().await?;
    /// replay.finish()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::replay`]; a Kerberos login whose password differs from the
    /// recorded one's diverges at its second KDC attempt
    /// ([`ReplayError::KdcDiverged`]).
    pub async fn replay_with(replay: &Replay, opts: &ConnectOptions) -> Result<Client> {
        smb_async::Client::replay_as(replay, opts, runtime())
            .await
            .map(Client)
    }

    /// A handle to the same connection whose operations each fail with
    /// [`smb_proto::Error::Timeout`] (and are cancelled) when not done within `timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client(self.0.with_timeout(timeout))
    }

    /// Logs another user in on this connection → a handle whose operations run in that
    /// session.
    ///
    /// # Errors
    ///
    /// As for [`smb_async::Client::add_session`].
    pub async fn add_session(&self, credentials: Credentials) -> Result<Client> {
        self.0.add_session(credentials).await.map(Client)
    }

    /// Writes the whole file into `out`; returns the byte count.
    ///
    /// # Errors
    ///
    /// As for [`smb_async::Client::retrieve_file`].
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
    /// As for [`smb_async::Client::retrieve_file`].
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
        let mut out = Compat(out);
        self.0
            .retrieve_file_from_offset(share, path, &mut out, offset, max_length)
            .await
    }

    /// Writes the whole file as it was in the snapshot taken at `snapshot` into `out`;
    /// returns the byte count.
    ///
    /// # Errors
    ///
    /// As for [`smb_async::Client::retrieve_file_at`].
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
        let mut out = Compat(out);
        self.0
            .retrieve_file_at(share, path, snapshot, &mut out)
            .await
    }

    /// Creates or replaces `path` with everything `input` yields; returns the byte count.
    ///
    /// # Errors
    ///
    /// As for [`smb_async::Client::store_file`].
    pub async fn store_file<R>(&self, share: &str, path: &str, input: &mut R) -> Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        self.0.store_file(share, path, &mut Compat(input)).await
    }

    /// Opens a file as a tokio `AsyncRead`/`AsyncWrite`/`AsyncSeek` handle.
    ///
    /// # Errors
    ///
    /// The CREATE's error.
    pub async fn open(&self, share: &str, path: &str, options: OpenOptions) -> Result<File> {
        let file = self.0.open(share, path, options).await?;
        Ok(File(file, None))
    }

    /// Opens a file asking for a lease or oplock, as [`smb_async::Client::open_leased`].
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
        let file = self.0.open_leased(share, path, options, want).await?;
        Ok(File(file, None))
    }

    /// Logs off and closes the connection, for every clone of this handle; returns once
    /// the socket is closed (a recording of the session is then complete).
    ///
    /// # Errors
    ///
    /// The LOGOFF's error; the connection closes regardless.
    pub async fn close(self) -> Result<()> {
        self.0.close().await
    }
}

/// An open remote file, with tokio's I/O traits; see [`smb_async::File`], whose calls
/// (locks, `set_len`, …) it dereferences to. The second field is a seek started and not
/// yet complete.
#[derive(Debug)]
pub struct File(smb_async::File, Option<SeekFrom>);

impl std::ops::Deref for File {
    type Target = smb_async::File;
    fn deref(&self) -> &smb_async::File {
        &self.0
    }
}

impl std::ops::DerefMut for File {
    fn deref_mut(&mut self) -> &mut smb_async::File {
        &mut self.0
    }
}

impl File {
    /// Waits for pending writes and closes the handle.
    ///
    /// # Errors
    ///
    /// The first error of a pending write, or the CLOSE's.
    pub async fn close(self) -> Result<()> {
        self.0.close().await
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = std::task::ready!(self
            .get_mut()
            .0
            .poll_read_file(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().0.poll_write_file(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_flush_file(cx)
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_close_file(cx)
    }
}

/// tokio splits a seek in two calls; [`smb_async::File::poll_seek_file`] is one call
/// made until ready, so the position asked for waits here in between.
impl AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        self.get_mut().1 = Some(position);
        Ok(())
    }

    fn poll_complete(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        match this.1 {
            Some(position) => {
                let r = std::task::ready!(this.0.poll_seek_file(cx, position));
                this.1 = None;
                Poll::Ready(r)
            }
            None => this.0.poll_seek_file(cx, SeekFrom::Current(0)),
        }
    }
}

/// Connections shared by server and user (see [`smb_async::Pool`]), on tokio.
#[derive(Clone, Debug)]
pub struct Pool(smb_async::Pool);

impl Default for Pool {
    /// A pool on the current tokio runtime with [`ConnectOptions::new`]'s defaults.
    fn default() -> Self {
        Pool(smb_async::Pool::new(runtime(), None))
    }
}

impl Pool {
    /// A pool on the current tokio runtime whose URL connections take everything but
    /// server, port and credentials from `defaults`.
    pub fn new(defaults: ConnectOptions) -> Self {
        Pool(smb_async::Pool::new(runtime(), Some(defaults)))
    }

    /// A live connection for `opts`' server and user, connecting if there is none.
    ///
    /// # Errors
    ///
    /// As for [`Client::connect`].
    pub async fn connect(&self, opts: &ConnectOptions) -> Result<Client> {
        self.0.connect(opts).await.map(Client)
    }

    /// A live connection for the server and user a parsed `smb://` URL names.
    ///
    /// # Errors
    ///
    /// As for [`Client::connect`].
    pub async fn connect_url(&self, url: &SmbUrl) -> Result<Client> {
        self.0.connect_url(url).await.map(Client)
    }

    /// Opens the file a URL names, for reading.
    ///
    /// # Errors
    ///
    /// A bad URL, or the connect's or the CREATE's error.
    pub async fn open(&self, url: &str) -> Result<File> {
        Ok(File(self.0.open(url).await?, None))
    }

    /// Opens the file a URL names with the given options.
    ///
    /// # Errors
    ///
    /// As for [`Pool::open`].
    pub async fn open_with(&self, url: &str, options: OpenOptions) -> Result<File> {
        Ok(File(self.0.open_with(url, options).await?, None))
    }

    /// How many connections of this pool are alive.
    pub fn connections(&self) -> usize {
        self.0.connections()
    }
}
