//! What an async runtime provides the client: spawning a task, a timer, and a TCP
//! socket with the `futures-io` traits. `smb-tokio` and `smb-asyncstd` implement it in a
//! few dozen lines each; so can anyone for another runtime.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

/// A boxed future, as the runtime trait hands them over.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A connected byte stream (TCP, with `TCP_NODELAY` set).
pub trait Socket: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Socket for T {}

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
}
