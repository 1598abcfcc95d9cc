//! The SMB2/3 client on async-std and smol: [`smb_async`]'s client (files, listing
//! streams, timeouts, the pool, the Twisted-style deferred layer) on the runtime-neutral
//! `async-io` reactor, `async-net` sockets and smol's executor, which async-std runs on
//! too.
//!
//! ```no_run
//! # async fn demo() -> smb_asyncstd::Result<()> {
//! use smb_asyncstd::ConnectOptions;
//!
//! let opts = ConnectOptions::new("127.0.0.1").user("alice", "secret");
//! // Plain async.
//! let client = smb_asyncstd::connect(&opts).await?;
//! for entry in client.list_path("share", "/", "*").await? {
//!     println!("{} {}", entry.name, entry.size);
//! }
//! let mut out = Vec::new();
//! client.retrieve_file("share", "/report.pdf", &mut out).await?;
//!
//! // Twisted style: hooks on login and disconnection, deferreds with callbacks and
//! // errbacks, the operations on the factory.
//! let factory = smb_asyncstd::factory(opts)
//!     .on_auth_ok(|factory| println!("logged in: {}", factory.is_ready()))
//!     .on_auth_failed(|err| eprintln!("login failed: {err}"))
//!     .on_disconnect(|why| eprintln!("disconnected: {why}"));
//! factory.connect().await?;
//! let names = factory
//!     .list_path("share", "/", "*")
//!     .add_callback(|entries| entries.into_iter().map(|e| e.name).collect::<Vec<_>>())
//!     .add_errback(|err| { eprintln!("{err}"); Ok(Vec::new()) })
//!     .await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use smb_async::runtime::{BoxFuture, DatagramSocket, Runtime, Socket};

// Everything, `Share` and its paths included: a share connects on this crate's
// `runtime()` with `Share::connect(server, creds, share, smb_asyncstd::runtime())`.
pub use smb_async::*;

/// Runs a connection's task (and the deferred layer's): smol's global executor by
/// default, async-std's with `|f| { async_std::task::spawn(f); }`.
pub type Spawner = Arc<dyn Fn(BoxFuture<'static, ()>) + Send + Sync>;

/// async-io's timers and async-net's sockets, with tasks on a [`Spawner`].
struct AsyncIo {
    spawner: Spawner,
}

impl Runtime for AsyncIo {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        (self.spawner)(task);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            async_io::Timer::after(duration).await;
        })
    }

    fn connect(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Socket>>> {
        let host = host.to_string();
        Box::pin(async move {
            let sock = async_net::TcpStream::connect((host.as_str(), port)).await?;
            sock.set_nodelay(true)?;
            Ok(Box::new(sock) as Box<dyn Socket>)
        })
    }

    fn bind_udp(
        &self,
        local: SocketAddr,
    ) -> BoxFuture<'static, io::Result<Box<dyn DatagramSocket>>> {
        Box::pin(async move {
            let sock = async_net::UdpSocket::bind(local).await?;
            sock.set_broadcast(true)?;
            Ok(Box::new(AsyncNetUdp(sock)) as Box<dyn DatagramSocket>)
        })
    }
}

/// async-net's UDP socket; a dropped `recv_from` has taken nothing off the socket
/// (it reads only once the socket is readable, and then completes).
struct AsyncNetUdp(async_net::UdpSocket);

impl DatagramSocket for AsyncNetUdp {
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

/// The runtime with tasks on smol's global executor (which needs no runtime of the
/// caller's, and serves async-std programs too).
pub fn runtime() -> Arc<dyn Runtime> {
    runtime_with(Arc::new(|f| smol::spawn(f).detach()))
}

/// The runtime with tasks on `spawner` (async-std's executor, say).
pub fn runtime_with(spawner: Spawner) -> Arc<dyn Runtime> {
    Arc::new(AsyncIo { spawner })
}

/// Connects, negotiates and logs in, on [`runtime()`].
///
/// # Errors
///
/// As for [`Client::connect_with`].
pub async fn connect(opts: &ConnectOptions) -> Result<Client> {
    Client::connect_with(opts, runtime()).await
}

/// Replays a recorded session with no network, on [`runtime()`]: see
/// [`Client::replay_with`]. A recording made by any driver (blocking, tokio,
/// async-std, smol) replays here.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use smb_asyncstd::{Recording, Replay};
/// let text = std::fs::read_to_string("tests/data/listing.smbrec")?;
/// let replay = Replay::new(Recording::parse(&text)?)?;
/// let client = smb_asyncstd::replay(&replay).await?;
/// let entries = client.list_path("share", "reports", "*").await?;
/// client.close().await?;
/// replay.finish()?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As for [`Client::replay_with`].
pub async fn replay(replay: &Replay) -> Result<Client> {
    Client::replay_with(replay, runtime()).await
}

/// [`replay()`], logging in as `opts` say, as the blocking driver's
/// `Connection::replay_with` does: for a recorded Kerberos login, the recording's options
/// with the password (or keytab) the recorded login used. No KDC is reached: the
/// recording answers every KDC attempt. See [`Client::replay_as`].
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use smb_asyncstd::{Recording, Replay};
/// let text = std::fs::read_to_string("tests/data/kerberos.smbrec")?;
/// let replay = Replay::new(Recording::parse(&text)?)?;
/// let setup = replay.setup();
/// let opts = setup.connect_options().user(&setup.user, "Al1ce-Pass!x");
/// let client = smb_asyncstd::replay_with(&replay, &opts).await?;
/// client.close().await?;
/// replay.finish()?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As for [`Client::replay_as`].
pub async fn replay_with(replay: &Replay, opts: &ConnectOptions) -> Result<Client> {
    Client::replay_as(replay, opts, runtime()).await
}

/// A Twisted-style factory (login and disconnect hooks, deferred operations) on
/// [`runtime()`]; see [`SmbFactory`].
pub fn factory(opts: ConnectOptions) -> SmbFactory {
    SmbFactory::with_runtime(opts, runtime())
}

/// NetBIOS name queries (pysmb's `NetBIOS`) on [`runtime()`], as `service` says; see
/// [`NetBios`].
pub fn netbios(service: NameService) -> NetBios {
    NetBios::new(runtime(), service)
}

/// A connection pool on [`runtime()`]; see [`Pool`].
pub fn pool(defaults: Option<ConnectOptions>) -> Pool {
    Pool::new(runtime(), defaults)
}
