//! Where the bytes go: a TCP socket, a TCP socket whose bytes are also recorded, or a
//! recording being replayed. Recording and comparing are `smb_proto::replay`'s; this
//! only plugs the pump's reads and writes into them.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant, SystemTime};

use smb_proto::client::RecordSink;
use smb_proto::replay::{Incoming, Replay};
use smb_proto::{ops, Config};

use crate::{ConnectOptions, Connection, Result};

/// The pump's byte stream.
pub(crate) enum Socket {
    Tcp(TcpStream),
    /// A live socket, every byte it moves recorded.
    Recorded {
        tcp: TcpStream,
        sink: RecordSink,
    },
    /// No socket: the recording answers.
    Replay(Replay),
}

impl Socket {
    /// `tcp`, recorded when `opts` ask for it.
    pub(crate) fn new(tcp: TcpStream, opts: &ConnectOptions, config: &Config) -> Result<Self> {
        Ok(match &opts.record {
            Some(target) => Socket::Recorded {
                sink: RecordSink::start(target, opts, config)?,
                tcp,
            },
            None => Socket::Tcp(tcp),
        })
    }

    /// Makes a Kerberos login's KDC attempt ([`smb_proto::Event::Kdc`]): over the
    /// network (recorded, when this socket records), or from the recording being
    /// replayed → the answer and the wall-clock time to hand in with it.
    pub(crate) fn kdc(
        &mut self,
        request: &smb_proto::auth::kerberos::KdcRequest,
    ) -> (
        std::result::Result<Vec<u8>, smb_proto::auth::kerberos::KdcIoError>,
        SystemTime,
    ) {
        use smb_proto::auth::kerberos::KdcIoError;
        match self {
            Socket::Tcp(_) => (crate::kerberos::send(request), SystemTime::now()),
            Socket::Recorded { sink, .. } => {
                let reply = crate::kerberos::send(request);
                let wall = SystemTime::now();
                match sink.kdc(request, &reply, wall) {
                    Ok(()) => (reply, wall),
                    Err(e) => (Err(KdcIoError::Io(e.to_string())), wall),
                }
            }
            Socket::Replay(replay) => match replay.kdc(request) {
                Ok(answer) => answer,
                Err(e) => (Err(KdcIoError::Io(e.to_string())), SystemTime::now()),
            },
        }
    }

    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Socket::Tcp(tcp) | Socket::Recorded { tcp, .. } => tcp.set_read_timeout(timeout),
            // Input is in memory: a read never waits.
            Socket::Replay(_) => Ok(()),
        }
    }

    /// Switches a live socket between waiting and not waiting for input; false for a
    /// replay, whose input is the recording's and is never read ahead of a request.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<bool> {
        match self {
            Socket::Tcp(tcp) | Socket::Recorded { tcp, .. } => {
                tcp.set_nonblocking(nonblocking)?;
                Ok(true)
            }
            Socket::Replay(_) => Ok(false),
        }
    }

    /// Closes the socket; a recording ends here (clones of the connection may keep the
    /// pump alive past `close`).
    pub(crate) fn shutdown(&mut self) {
        match self {
            Socket::Tcp(tcp) => {
                let _ = tcp.shutdown(Shutdown::Both);
            }
            Socket::Recorded { tcp, sink } => {
                let _ = tcp.shutdown(Shutdown::Both);
                let _ = sink.finish();
            }
            Socket::Replay(_) => {}
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(tcp) => tcp.read(buf),
            Socket::Recorded { tcp, sink } => {
                let n = tcp.read(buf)?;
                match n {
                    0 if !buf.is_empty() => sink.server_closed()?,
                    n => sink.received(&buf[..n])?,
                }
                Ok(n)
            }
            // The pump reads only while an operation waits for the server, so input the
            // recording holds back means the client has diverged: fail now, not hang.
            Socket::Replay(replay) => match replay.read(buf) {
                Incoming::Data(n) => Ok(n),
                Incoming::Closed => Ok(0),
                Incoming::Waiting | Incoming::Ended => Err(io::Error::other(replay.stall())),
                Incoming::Failed(e) => Err(io::Error::other(e)),
            },
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Socket::Tcp(tcp) => tcp.write_vectored(bufs),
            Socket::Recorded { tcp, sink } => {
                let n = tcp.write_vectored(bufs)?;
                let mut left = n;
                for b in bufs {
                    if left == 0 {
                        break;
                    }
                    let k = left.min(b.len());
                    sink.sent(&b[..k])?;
                    left -= k;
                }
                Ok(n)
            }
            Socket::Replay(replay) => {
                let mut n = 0;
                for b in bufs {
                    replay.write(b).map_err(io::Error::other)?;
                    n += b.len();
                }
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Socket::Tcp(tcp) | Socket::Recorded { tcp, .. } => tcp.flush(),
            Socket::Replay(_) => Ok(()),
        }
    }
}

impl Connection {
    /// Replays a recorded session with no network: a connection that behaves as the
    /// recorded one did, for the same calls in the same order, logged in as the
    /// recording was (without its password). Every byte the client sends is checked
    /// against the recording; the first difference ends the connection with a
    /// [`ReplayError`](smb_proto::replay::ReplayError) in the error text, and
    /// [`Replay::finish`] tells whether the whole recording was replayed.
    ///
    /// ```no_run
    /// use smb_blocking::{Connection, Recording, Replay};
    /// let text = std::fs::read_to_string("tests/data/listing.smbrec")?;
    /// let replay = Replay::new(Recording::parse(&text)?)?;
    /// let conn = Connection::replay(&replay)?;
    /// assert_eq!(conn.list_path("share", "reports", "*")?.len(), 3);
    /// conn.close()?;
    /// replay.finish()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The login's error: a replay that diverges during login fails here, as a closed
    /// connection whose reason holds the replay's error.
    pub fn replay(replay: &Replay) -> Result<Connection> {
        Connection::replay_with(replay, &replay.setup().connect_options())
    }

    /// [`Connection::replay`], logging in as `opts` say: for a recorded Kerberos login,
    /// the recording's options ([`Setup::connect_options`](smb_proto::replay::Setup::connect_options))
    /// with the password (or keytab) the recorded login used. The recorded KDC replies
    /// only decrypt with it; no KDC is reached, the recording answers every KDC attempt.
    ///
    /// ```no_run
    /// use smb_blocking::{Connection, Recording, Replay};
    /// let text = std::fs::read_to_string("tests/data/kerberos.smbrec")?;
    /// let replay = Replay::new(Recording::parse(&text)?)?;
    /// let setup = replay.setup();
    /// let opts = setup.connect_options().user(&setup.user, "Al1ce-Pass!x");
    /// let conn = Connection::replay_with(&replay, &opts)?;
    /// conn.close()?;
    /// replay.finish()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Connection::replay`]; a Kerberos login whose password differs from the
    /// recorded one's diverges at its second KDC attempt
    /// ([`ReplayError::KdcDiverged`](smb_proto::replay::ReplayError::KdcDiverged)).
    pub fn replay_with(replay: &Replay, opts: &ConnectOptions) -> Result<Connection> {
        let login = match &opts.kerberos {
            Some(_) => crate::kerberos::login(opts)?,
            None => ops::Login::new(opts.credentials()?),
        };
        let core = replay.connection(replay.config(), Instant::now());
        Connection::start(Socket::Replay(replay.clone()), core, login)
    }
}
