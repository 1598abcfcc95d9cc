//! A fault-injecting TCP proxy, between a client and a server, for tests of what the
//! client does when the network breaks: the connection cut after a number of bytes, a
//! stall, a delay, the stream in 1-byte segments, bytes sent twice, one byte corrupted.
//!
//! ```no_run
//! use smb_test_server::fault::{Direction, Fault, FaultProxy};
//! use smb_test_server::{SambaServer, Share};
//!
//! let server = SambaServer::builder().share(Share::new("share")).start();
//! // The server's answers cut after 2,000 bytes.
//! let proxy = FaultProxy::start(server.addr(), Fault::Cut(Direction::ToClient, 2_000));
//! let mut opts = server.connect_options();
//! opts.port = proxy.port();
//! // ...the client's calls through `opts` fail with a typed error...
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Which way bytes flow through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the server (requests).
    ToServer = 0,
    /// From the server to the client (responses).
    ToClient,
}

/// What the proxy does to the bytes of one direction (the other passes untouched).
/// Offsets count that direction's bytes from the start of each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing: a plain relay.
    None,
    /// Forwards the first N bytes, then closes both sides of the connection.
    Cut(Direction, u64),
    /// Forwards the first N bytes, then forwards nothing more (reading and dropping what
    /// comes) while keeping the connection open.
    Stall(Direction, u64),
    /// Waits this long before forwarding each piece.
    Delay(Direction, Duration),
    /// Forwards one byte per write, with Nagle's algorithm off: each byte its own
    /// TCP segment.
    Segments(Direction),
    /// Sends the piece holding byte N twice.
    Duplicate(Direction, u64),
    /// Flips every bit of byte N.
    Corrupt(Direction, u64),
    /// Replaces the server's `nth` final answer (counting from 1) whose first message is
    /// of SMB2 command `command` (8 for READ, 5 for CREATE…) with
    /// STATUS_NETWORK_SESSION_EXPIRED, one error per message of its frame, keeping the
    /// message ids, credits, tree and session: what a server answers once a session's
    /// authentication has expired. The server did carry the requests out (pick
    /// idempotent ones), and the answer is unsigned (the proxy holds no keys), so only a
    /// client that does not sign everything accepts it.
    Expire {
        /// The SMB2 command of the answer to replace.
        command: u16,
        /// Which of its answers, from 1.
        nth: u32,
    },
}

/// A proxy on a free loopback port relaying every connection to a target with one
/// [`Fault`], until dropped.
#[derive(Debug)]
pub struct FaultProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    to_server: Arc<AtomicU64>,
    to_client: Arc<AtomicU64>,
    /// Per direction (to the server, to the client): forward nothing from now on.
    silenced: Arc<[AtomicBool; 2]>,
    /// Answers replaced by [`Fault::Expire`].
    expired: Arc<AtomicU64>,
    /// Each open connection's own stop flag ([`FaultProxy::cut_connections`]).
    open: Arc<std::sync::Mutex<Vec<Arc<AtomicBool>>>>,
    /// Connections accepted so far ([`FaultProxy::connections`]).
    accepted: Arc<AtomicU64>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 (a free port) and relays to `target`, applying `fault`.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub fn start(target: SocketAddr, fault: Fault) -> FaultProxy {
        FaultProxy::start_first(target, fault, u64::MAX)
    }

    /// [`FaultProxy::start`] applying `fault` to the first `connections` connections
    /// only, relaying later ones untouched: a transfer cut that many times, then let
    /// through.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub fn start_first(target: SocketAddr, fault: Fault, connections: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("the bound address").port();
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let to_server = Arc::new(AtomicU64::new(0));
        let to_client = Arc::new(AtomicU64::new(0));
        let silenced: Arc<[AtomicBool; 2]> = Arc::default();
        let expired = Arc::new(AtomicU64::new(0));
        let (s, ts, tc) = (stop.clone(), to_server.clone(), to_client.clone());
        let (quiet, replaced) = (silenced.clone(), expired.clone());
        let open: Arc<std::sync::Mutex<Vec<Arc<AtomicBool>>>> = Arc::default();
        let relays = open.clone();
        let counted = Arc::new(AtomicU64::new(0));
        let count = counted.clone();
        thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let accepted = count.fetch_add(1, Ordering::Relaxed) + 1;
                        let fault = if accepted <= connections {
                            fault
                        } else {
                            Fault::None
                        };
                        if let Ok(server) = TcpStream::connect(target) {
                            let ends = Arc::new(AtomicBool::new(false));
                            relays
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .push(ends.clone());
                            relay(client, server, fault, &ends, [&ts, &tc], &quiet, &replaced);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => return,
                }
            }
        });
        FaultProxy {
            port,
            stop,
            to_server,
            to_client,
            silenced,
            expired,
            open,
            accepted: counted,
        }
    }

    /// How many connections the proxy has accepted so far: how many a client made.
    pub fn connections(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Closes every connection relayed so far, both sides at once (a network that
    /// dropped them), at a moment the test chooses; connections made after it are
    /// relayed as before.
    pub fn cut_connections(&self) {
        self.end_relays();
        // The relays notice within their 100 ms read timeout.
        thread::sleep(Duration::from_millis(250));
    }

    /// Tells every connection relayed so far to end.
    fn end_relays(&self) {
        let open = std::mem::take(
            &mut *self
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for ends in open {
            ends.store(true, Ordering::Relaxed);
        }
    }

    /// How many answers [`Fault::Expire`] replaced so far.
    pub fn expired(&self) -> u64 {
        self.expired.load(Ordering::Relaxed)
    }

    /// From now on forwards nothing in `direction` on any connection (what arrives is
    /// read and dropped), keeping the connections open: a peer gone silent at a moment
    /// the test chooses, whatever the byte count.
    pub fn silence(&self, direction: Direction) {
        self.silenced[direction as usize].store(true, Ordering::Relaxed);
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Bytes forwarded so far in `direction`, over every connection.
    pub fn forwarded(&self, direction: Direction) -> u64 {
        match direction {
            Direction::ToServer => self.to_server.load(Ordering::Relaxed),
            Direction::ToClient => self.to_client.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.end_relays();
    }
}

/// Relays one connection in both directions on two threads.
fn relay(
    client: TcpStream,
    server: TcpStream,
    fault: Fault,
    stop: &Arc<AtomicBool>,
    [to_server, to_client]: [&Arc<AtomicU64>; 2],
    silenced: &Arc<[AtomicBool; 2]>,
    expired: &Arc<AtomicU64>,
) {
    let pipes = [
        (Direction::ToServer, &client, &server, to_server),
        (Direction::ToClient, &server, &client, to_client),
    ];
    for (direction, from, to, count) in pipes {
        let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
            return;
        };
        let fault = match fault {
            Fault::Cut(d, _)
            | Fault::Stall(d, _)
            | Fault::Delay(d, _)
            | Fault::Segments(d)
            | Fault::Duplicate(d, _)
            | Fault::Corrupt(d, _)
                if d == direction =>
            {
                fault
            }
            Fault::Expire { .. } if direction == Direction::ToClient => fault,
            _ => Fault::None,
        };
        let (stop, count, silenced) = (stop.clone(), count.clone(), silenced.clone());
        let expired = expired.clone();
        thread::spawn(move || {
            let silenced = &silenced[direction as usize];
            let _ = match fault {
                Fault::Expire { command, nth } => {
                    let counts = [&*count, &*expired];
                    expire(from, to, command, nth, &stop, counts, silenced)
                }
                _ => pump(from, to, fault, &stop, &count, silenced),
            };
        });
    }
}

/// Copies `from` to `to` with `fault`, until either side ends or the proxy stops.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    fault: Fault,
    stop: &AtomicBool,
    count: &AtomicU64,
    silenced: &AtomicBool,
) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = 0u64;
    from.set_read_timeout(Some(Duration::from_millis(100)))?;
    if let Fault::Segments(_) = fault {
        to.set_nodelay(true)?;
    }
    let end = |from: &TcpStream, to: &TcpStream| {
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    };
    while !stop.load(Ordering::Relaxed) {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) => {
                end(&from, &to);
                return Err(e);
            }
        };
        if silenced.load(Ordering::Relaxed) {
            continue;
        }
        let piece = &mut buf[..n];
        let (start, stop_at) = (at, at + n as u64);
        at = stop_at;
        // The part of `piece` before byte `limit` of the stream.
        let before = |limit: u64| (limit.saturating_sub(start).min(n as u64)) as usize;
        match fault {
            Fault::Cut(_, limit) if stop_at > limit => {
                to.write_all(&piece[..before(limit)])?;
                count.fetch_add(before(limit) as u64, Ordering::Relaxed);
                end(&from, &to);
                return Ok(());
            }
            Fault::Stall(_, limit) if stop_at > limit => {
                let k = before(limit);
                if k > 0 {
                    to.write_all(&piece[..k])?;
                    count.fetch_add(k as u64, Ordering::Relaxed);
                }
                continue;
            }
            Fault::Delay(_, d) => thread::sleep(d),
            Fault::Corrupt(_, byte) if (start..stop_at).contains(&byte) => {
                piece[(byte - start) as usize] ^= 0xff;
            }
            Fault::Duplicate(_, byte) if (start..stop_at).contains(&byte) => {
                to.write_all(piece)?;
            }
            _ => {}
        }
        if let Fault::Segments(_) = fault {
            for b in piece.iter() {
                to.write_all(std::slice::from_ref(b))?;
            }
        } else {
            to.write_all(piece)?;
        }
        count.fetch_add(n as u64, Ordering::Relaxed);
    }
    end(&from, &to);
    Ok(())
}

/// Relays the server's answers whole frame by whole frame, replacing the `nth` final
/// answer to `command` as [`Fault::Expire`] says.
fn expire(
    mut from: TcpStream,
    mut to: TcpStream,
    command: u16,
    nth: u32,
    stop: &AtomicBool,
    [count, replaced]: [&AtomicU64; 2],
    silenced: &AtomicBool,
) -> io::Result<()> {
    from.set_read_timeout(Some(Duration::from_millis(100)))?;
    let (mut pending, mut seen) = (Vec::new(), 0u32);
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) if !silenced.load(Ordering::Relaxed) => pending.extend_from_slice(&buf[..n]),
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => break,
        }
        // Whole frames: a 4-byte length (NBSS), then the SMB2 messages.
        while pending.len() >= 4 {
            let len = u32::from_be_bytes([0, pending[1], pending[2], pending[3]]) as usize;
            if pending.len() < 4 + len {
                break;
            }
            let mut frame: Vec<u8> = pending.drain(..4 + len).collect();
            if answers(&frame, command) {
                seen += 1;
                if seen == nth {
                    frame = expired(&frame);
                    replaced.fetch_add(1, Ordering::Relaxed);
                }
            }
            to.write_all(&frame)?;
            count.fetch_add(frame.len() as u64, Ordering::Relaxed);
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
    Ok(())
}

/// Whether `frame` is a final (not interim) SMB2 answer whose first message is `command`.
fn answers(frame: &[u8], command: u16) -> bool {
    let m = &frame[4..];
    let u16_at = |i: usize| u16::from_le_bytes([m[i], m[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([m[i], m[i + 1], m[i + 2], m[i + 3]]);
    m.len() >= 64 && m[..4] == *b"\xfeSMB" && u16_at(12) == command && u32_at(8) != 0x0000_0103
}

/// `frame`'s messages answered with STATUS_NETWORK_SESSION_EXPIRED (an SMB2 ERROR
/// response each), their headers kept but for status, signature and NextCommand.
fn expired(frame: &[u8]) -> Vec<u8> {
    let body = &frame[4..];
    let mut headers = Vec::new();
    let mut at = 0;
    while let Some(h) = body.get(at..at + 64) {
        headers.push(h.to_vec());
        let next = u32::from_le_bytes([h[20], h[21], h[22], h[23]]) as usize;
        if next == 0 {
            break;
        }
        at += next;
    }
    let mut out = Vec::new();
    let count = headers.len();
    for (i, mut h) in headers.into_iter().enumerate() {
        h[8..12].copy_from_slice(&0xC000_035Cu32.to_le_bytes());
        h[16] &= !0x08; // not signed
        h[48..64].fill(0);
        // An ERROR response: StructureSize 9, no context, no data, one byte of padding.
        let mut m = h;
        m.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0, 0]);
        let next = if i + 1 < count {
            m.resize(m.len().div_ceil(8) * 8, 0);
            m.len() as u32
        } else {
            0
        };
        m[20..24].copy_from_slice(&next.to_le_bytes());
        out.extend_from_slice(&m);
    }
    let mut framed = (out.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(&out);
    framed
}
