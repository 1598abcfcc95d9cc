//! Recording and replaying on the async client: a socket whose bytes are also recorded,
//! and a socket the recording answers. Recording and comparing are
//! `smb_proto::replay`'s; these only plug the connection task's reads and writes into
//! them.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};
use smb_proto::client::RecordSink;
use smb_proto::replay::{Incoming, Replay};
use smb_proto::Config;

use crate::runtime::{BoxFuture, Runtime, Socket};
use crate::{Client, ConnectOptions, Result};

/// Where a connection's Kerberos KDC attempts ([`smb_proto::Event::Kdc`]) go.
#[derive(Clone, Default)]
pub(crate) enum KdcVia {
    /// To the network.
    #[default]
    Network,
    /// To the network, each attempt recorded with the connection's bytes.
    Recorded(SharedSink),
    /// Nowhere: the recording answers.
    Replay(Replay),
}

/// The recording a connection's socket and its KDC attempts both write to.
pub(crate) type SharedSink = Arc<Mutex<RecordSink>>;

fn lock(sink: &SharedSink) -> std::sync::MutexGuard<'_, RecordSink> {
    sink.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Records a KDC attempt made for a recorded connection.
pub(crate) fn record_kdc(
    sink: &SharedSink,
    request: &smb_proto::auth::kerberos::KdcRequest,
    reply: &std::result::Result<Vec<u8>, smb_proto::auth::kerberos::KdcIoError>,
    wall: std::time::SystemTime,
) -> io::Result<()> {
    lock(sink).kdc(request, reply, wall)
}

/// `sock`, recorded when `opts` ask for it, and where its KDC attempts go.
pub(crate) fn recorded(
    sock: Box<dyn Socket>,
    opts: &ConnectOptions,
    config: &Config,
) -> Result<(Box<dyn Socket>, KdcVia)> {
    Ok(match &opts.record {
        Some(target) => {
            let sink = Arc::new(Mutex::new(RecordSink::start(target, opts, config)?));
            let kdc = KdcVia::Recorded(sink.clone());
            (Box::new(Recorded { sink, inner: sock }), kdc)
        }
        None => (sock, KdcVia::Network),
    })
}

/// A live socket, every byte it moves recorded.
struct Recorded {
    inner: Box<dyn Socket>,
    sink: SharedSink,
}

impl AsyncRead for Recorded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let n = ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        match n {
            0 if !buf.is_empty() => lock(&this.sink).server_closed()?,
            n => lock(&this.sink).received(&buf[..n])?,
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Recorded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let n = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        let mut left = n;
        for b in bufs {
            if left == 0 {
                break;
            }
            let k = left.min(b.len());
            lock(&this.sink).sent(&b[..k])?;
            left -= k;
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The connection is over: the recording is complete before anyone hears so.
        lock(&self.sink).finish()?;
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// No socket: the recording answers.
struct Replayed {
    replay: Replay,
    runtime: Arc<dyn Runtime>,
    /// While the client waits for a response the recording holds back: the bytes it had
    /// written when the wait began, and when the wait becomes a stall.
    stall: Option<(u64, BoxFuture<'static, ()>)>,
}

impl AsyncRead for Replayed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match this.replay.read(buf) {
            Incoming::Data(n) => {
                this.stall = None;
                Poll::Ready(Ok(n))
            }
            Incoming::Closed => Poll::Ready(Ok(0)),
            Incoming::Failed(e) => Poll::Ready(Err(io::Error::other(e))),
            Incoming::Waiting | Incoming::Ended => {
                // The connection task polls this read whenever anything happened (a
                // write, a command), so nothing needs waking while the client only idles.
                // A client waiting for a response may still be about to send what the
                // recording wants first (another task's call): give it a moment, then
                // fail rather than hang.
                if !this.replay.awaiting_response() {
                    this.stall = None;
                    return Poll::Pending;
                }
                let written = this.replay.progress().0;
                let timer = match &mut this.stall {
                    Some((w, timer)) if *w == written => timer,
                    _ => {
                        let timer = this.runtime.sleep(this.replay.stall_timeout());
                        &mut this.stall.insert((written, timer)).1
                    }
                };
                ready!(timer.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::other(this.replay.stall())))
            }
        }
    }
}

impl AsyncWrite for Replayed {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(
            self.replay
                .write(buf)
                .map(|()| buf.len())
                .map_err(io::Error::other),
        )
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut n = 0;
        for b in bufs {
            if let Err(e) = self.replay.write(b) {
                return Poll::Ready(Err(io::Error::other(e)));
            }
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Client {
    /// Replays a recorded session with no network, on `runtime`: a client that behaves
    /// as the recorded one did, for the same calls in the same order, logged in as the
    /// recording was (without its password). A recording made by any driver replays
    /// here. Every byte the client sends is checked against the recording; the first
    /// difference ends the connection with a
    /// [`ReplayError`](smb_proto::replay::ReplayError) in the error text, a client that
    /// waits for input the recording holds back fails after
    /// [`Replay::stall_timeout`], and [`Replay::finish`] tells whether the whole
    /// recording was replayed. Call [`close`](Client::close) as the recorded program
    /// did. A recorded Kerberos login needs its password: [`Client::replay_as`].
    ///
    /// # Errors
    ///
    /// The login's error: a replay that diverges during login fails here.
    pub async fn replay_with(replay: &Replay, runtime: Arc<dyn Runtime>) -> Result<Client> {
        let opts = replay.setup().connect_options();
        Client::replay_as(replay, &opts, runtime).await
    }

    /// [`Client::replay_with`], logging in as `opts` say (what the blocking driver's
    /// `Connection::replay_with` does): for a recorded Kerberos login, the recording's
    /// options ([`Setup::connect_options`](smb_proto::replay::Setup::connect_options))
    /// with the password (or keytab) the recorded login used. The recorded KDC replies
    /// only decrypt with it; no KDC is reached, the recording answers every KDC attempt.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # async fn demo(runtime: Arc<dyn smb_async::runtime::Runtime>) -> Result<(), Box<dyn std::error::Error>> {
    /// use smb_async::{Client, Recording, Replay};
    /// let text = std::fs::read_to_string("tests/data/kerberos.smbrec")?;
    /// let replay = Replay::new(Recording::parse(&text)?)?;
    /// let setup = replay.setup();
    /// let opts = setup.connect_options().user(&setup.user, "Al1ce-Pass!x");
    /// let client = Client::replay_as(&replay, &opts, runtime).await?;
    /// client.close().await?;
    /// replay.finish()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::replay_with`]; a Kerberos login whose password differs from the
    /// recorded one's diverges at its second KDC attempt
    /// ([`ReplayError::KdcDiverged`](smb_proto::replay::ReplayError::KdcDiverged) with
    /// index 1).
    pub async fn replay_as(
        replay: &Replay,
        opts: &ConnectOptions,
        runtime: Arc<dyn Runtime>,
    ) -> Result<Client> {
        let creds = Client::login_credentials(opts)?;
        let mut config = replay.config();
        // As `connect_with` does; the bytes do not depend on it.
        config.paced_reads = true;
        let core = replay.connection(config, Instant::now());
        let sock = Box::new(Replayed {
            replay: replay.clone(),
            runtime: runtime.clone(),
            stall: None,
        });
        let link = crate::Link::start(sock, core, &runtime, KdcVia::Replay(replay.clone()));
        Client::log_in_first(link, runtime, None, opts, creds).await
    }
}
