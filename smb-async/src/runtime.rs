//! What an async runtime provides the client: spawning a task, a timer, a TCP socket
//! with the `futures-io` traits, and a UDP socket for the NetBIOS name service.
//! `smb-tokio` and `smb-asyncstd` implement it in a few dozen lines each; so can anyone
//! for another runtime.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

/// A boxed future, as the runtime trait hands them over.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A connected byte stream (TCP, with `TCP_NODELAY` set).
pub trait Socket: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Socket for T {}

/// A bound UDP socket: the two calls a name service exchange makes.
pub trait DatagramSocket: Send + Sync {
    /// Sends `datagram` to `target` → the bytes sent.
    fn send_to<'a>(
        &'a self,
        datagram: &'a [u8],
        target: SocketAddr,
    ) -> BoxFuture<'a, io::Result<usize>>;

    /// Receives one datagram into `buf` → its length and sender. The future is dropped
    /// when a timer fires first: dropping it must lose no datagram that it did not
    /// return.
    fn recv_from<'a>(&'a self, buf: &'a mut [u8])
        -> BoxFuture<'a, io::Result<(usize, SocketAddr)>>;
}

/// The runtime services the client uses.
pub trait Runtime: Send + Sync + 'static {
    /// Runs `task` in the background until it finishes.
    fn spawn(&self, task: BoxFuture<'static, ()>);

    /// A future that finishes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;

    /// A future that finishes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        self.sleep(deadline.saturating_duration_since(Instant::now()))
    }

    /// Resolves `host` and connects to `port` there, with `TCP_NODELAY` set.
    fn connect(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Socket>>>;

    /// A UDP socket bound to `local`, for the NetBIOS name service ([`crate::NetBios`]),
    /// allowed to send to broadcast addresses (`SO_BROADCAST`: broadcast name queries).
    /// Runtimes written before it existed fail with [`io::ErrorKind::Unsupported`].
    fn bind_udp(
        &self,
        local: SocketAddr,
    ) -> BoxFuture<'static, io::Result<Box<dyn DatagramSocket>>> {
        let _ = local;
        Box::pin(async {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this runtime provides no UDP sockets",
            ))
        })
    }
}
