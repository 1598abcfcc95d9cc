//! Recording a scripted client session against a live server, and replaying it through
//! the sans-IO core with no network (DESIGN.md testing ladder, step 4).
//!
//! The core is a pure function of its [`Config`] (seed and `filetime_now` included), the
//! `Instant`s handed to it and the bytes fed to it. [`record`] drives a
//! [`Connection`] over TCP the way `smb-blocking` does, running the fixed [`SCRIPT`], and
//! logs every call made on the connection and everything it produced. [`replay`] makes
//! the same calls at the same (relative) times on a fresh connection and checks that it
//! transmits exactly the recorded bytes and reports exactly the recorded events.
//!
//! This file is also compiled into `smb-proto/tests/replay.rs` (through `#[path]`, beside
//! [`fixtures`](super::fixtures)), so the script, the format and the replayer exist once;
//! it therefore uses only `smb_proto`, `bytes`, `sha2`, std and `fixtures`.
//!
//! # File format
//!
//! UTF-8 text, one record per line; `#` starts a comment line, blank lines are ignored.
//! The first record is `smb-rs-recording 1`, the second the setup:
//!
//! ```text
//! setup server=127.0.0.1 max_dialect=3.1.1 signing=WhenSupported encrypt=false max_io_size=65536 file_len=300000 domain= user=smbtest password=<hex>
//! ```
//!
//! (the seed and `filetime_now` are the constants [`SEED`] and [`FILETIME_NOW`]; the
//! password is that of the test harness's throwaway account, stored as hex only so any
//! character survives the line format). Then, in call order, with `t` in microseconds
//! after the `Instant` the connection was created with:
//!
//! | record | meaning |
//! |---|---|
//! | `start t=<t> step=<i> op=<id>` | `start(op of SCRIPT[i], t)` returned `OpId(id)` |
//! | `rx t=<t> <hex>` | these bytes arrived and were fed to `handle_input(t, …)` |
//! | `tx <hex>` | `poll_transmit` returned these bytes |
//! | `event <text>` | `poll_event` returned this event: its `Debug` form, payloads as length and SHA-256 |
//! | `supply t=<t> op=<id> len=<n> sha256=<hex>` | `supply(id, next n bytes of the file, t)` |
//! | `timeout t=<t>` | `handle_timeout(t)` |
//!
//! The supplied bytes are not stored: they are the script's file content, regenerated.

use std::fmt::{self, Write as _};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};
use smb_proto::auth::ntlm::Credentials;
use smb_proto::ops::{self, BoxedOp, OpOutput};
use smb_proto::SigningPolicy;
use smb_proto::{Config, Connection, Dialect, Error, Event, FileInfo, NtStatus, OpId};

use super::fixtures::{data, sha256};

/// The seed of every recorded connection.
pub const SEED: [u8; 32] = *b"smb-rs replay seed, not secret!!";
/// The `filetime_now` of every recorded connection (2024-01-01T00:00:00Z).
pub const FILETIME_NOW: u64 = 133_485_408_000_000_000;

const MAGIC: &str = "smb-rs-recording 1";
const SHARE: &str = "share";
const DIR: &str = "replay";
const FILE: &str = "replay/data.bin";
const FILE_NAME: &str = "data.bin";
const RENAMED: &str = "replay/renamed.bin";

/// One operation of the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// NTLMv2 login with the setup's credentials.
    Login,
    /// TREE_CONNECT to `share`.
    TreeConnect,
    /// Create the directory `replay`.
    Mkdir,
    /// Write `replay/data.bin` (`file_len` bytes) with `Op::WriteFile`.
    Put,
    /// Stat the file.
    Stat,
    /// List `replay`.
    List,
    /// Read the file back with `Op::ReadFile`.
    Get,
    /// Rename it to `replay/renamed.bin`.
    Rename,
    /// Stat the old name: STATUS_OBJECT_NAME_NOT_FOUND, an operation error.
    StatMissing,
    /// Delete the renamed file.
    Delete,
    /// Remove `replay`.
    Rmdir,
    /// ECHO.
    Echo,
    /// LOGOFF.
    Logoff,
}

/// What every recording runs, in order.
pub const SCRIPT: [Step; 13] = [
    Step::Login,
    Step::TreeConnect,
    Step::Mkdir,
    Step::Put,
    Step::Stat,
    Step::List,
    Step::Get,
    Step::Rename,
    Step::StatMissing,
    Step::Delete,
    Step::Rmdir,
    Step::Echo,
    Step::Logoff,
];

/// The client side of a recording: everything besides the constants needed to rebuild
/// the connection's [`Config`] and the script's operations.
#[derive(Clone, PartialEq, Eq)]
pub struct Setup {
    /// The server name the client addresses (`\\server\share`).
    pub server_name: String,
    /// Highest dialect offered.
    pub max_dialect: Dialect,
    /// Signing policy.
    pub signing: SigningPolicy,
    /// Whether the client asks for encryption.
    pub encrypt: bool,
    /// `Config::max_io_size`; small values put several READs/WRITEs in flight.
    pub max_io_size: u32,
    /// Size of the file the script writes and reads back.
    pub file_len: usize,
    /// Login domain.
    pub domain: String,
    /// Login user.
    pub user: String,
    password: String,
}

impl fmt::Debug for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Setup")
            .field("server_name", &self.server_name)
            .field("max_dialect", &self.max_dialect)
            .field("signing", &self.signing)
            .field("encrypt", &self.encrypt)
            .field("max_io_size", &self.max_io_size)
            .field("file_len", &self.file_len)
            .field("domain", &self.domain)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Setup {
    /// Defaults: 3.1.1, sign when supported, no encryption, 64 KiB I/O (so transfers keep
    /// several requests in flight), a 300 000-byte file.
    pub fn new(server_name: &str, user: &str, password: &str) -> Self {
        Setup {
            server_name: server_name.to_string(),
            max_dialect: Dialect::Smb311,
            signing: SigningPolicy::WhenSupported,
            encrypt: false,
            max_io_size: 65536,
            file_len: 300_000,
            domain: String::new(),
            user: user.to_string(),
            password: password.to_string(),
        }
    }

    /// The connection's configuration.
    pub fn config(&self) -> Config {
        let mut c = Config::new(&self.server_name, SEED);
        c.filetime_now = FILETIME_NOW;
        c.max_dialect = self.max_dialect;
        c.signing = self.signing;
        c.encrypt = self.encrypt;
        c.max_io_size = self.max_io_size;
        c
    }

    fn to_line(&self) -> String {
        format!(
            "setup server={} max_dialect={} signing={:?} encrypt={} max_io_size={} file_len={} domain={} user={} password={}",
            self.server_name,
            self.max_dialect,
            self.signing,
            self.encrypt,
            self.max_io_size,
            self.file_len,
            self.domain,
            self.user,
            hex(self.password.as_bytes()),
        )
    }

    fn parse(line: &str) -> Result<Self, String> {
        let rest = line
            .strip_prefix("setup ")
            .ok_or_else(|| format!("expected the setup record, got {line:?}"))?;
        let signing = match field(rest, "signing")? {
            "WhenSupported" => SigningPolicy::WhenSupported,
            "WhenRequired" => SigningPolicy::WhenRequired,
            "Never" => SigningPolicy::Never,
            other => return Err(format!("unknown signing policy {other:?}")),
        };
        let max_dialect = field(rest, "max_dialect")?;
        let password = unhex(field(rest, "password")?)?;
        Ok(Setup {
            server_name: field(rest, "server")?.to_string(),
            max_dialect: Dialect::parse(max_dialect)
                .ok_or_else(|| format!("unknown dialect {max_dialect:?}"))?,
            signing,
            encrypt: number(rest, "encrypt")?,
            max_io_size: number(rest, "max_io_size")?,
            file_len: number(rest, "file_len")?,
            domain: field(rest, "domain")?.to_string(),
            user: field(rest, "user")?.to_string(),
            password: String::from_utf8(password).map_err(|_| "password is not UTF-8")?,
        })
    }
}

/// One logged call on the connection, or one thing it produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `start` of script step `step`, which returned `OpId(op)`.
    Start {
        /// Microseconds after the base instant.
        t: u64,
        /// Index into [`SCRIPT`].
        step: usize,
        /// The id `start` returned.
        op: u64,
    },
    /// Bytes read from the socket and fed to `handle_input`.
    Rx {
        /// Microseconds after the base instant.
        t: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// What one `poll_transmit` returned.
    Tx(Vec<u8>),
    /// An event: its `Debug` form, with payload bytes shown as length and SHA-256.
    Event(String),
    /// The next `len` bytes of the script's file, given to `supply`.
    Supply {
        /// Microseconds after the base instant.
        t: u64,
        /// The operation.
        op: u64,
        /// How many bytes.
        len: usize,
        /// Their SHA-256.
        sha256: [u8; 32],
    },
    /// `handle_timeout`.
    Timeout {
        /// Microseconds after the base instant.
        t: u64,
    },
}

/// A recorded session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// How the client was configured.
    pub setup: Setup,
    /// Every call and output, in order.
    pub entries: Vec<Entry>,
}

impl fmt::Display for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{MAGIC}")?;
        writeln!(f, "{}", self.setup.to_line())?;
        for e in &self.entries {
            match e {
                Entry::Start { t, step, op } => writeln!(f, "start t={t} step={step} op={op}"),
                Entry::Rx { t, bytes } => writeln!(f, "rx t={t} {}", hex(bytes)),
                Entry::Tx(bytes) => writeln!(f, "tx {}", hex(bytes)),
                Entry::Event(text) => writeln!(f, "event {text}"),
                Entry::Supply { t, op, len, sha256 } => {
                    writeln!(f, "supply t={t} op={op} len={len} sha256={}", hex(sha256))
                }
                Entry::Timeout { t } => writeln!(f, "timeout t={t}"),
            }?;
        }
        Ok(())
    }
}

impl Recording {
    /// Parses the text format (see the module docs).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        match lines.next() {
            Some((_, l)) if l == MAGIC => {}
            other => return Err(format!("not a recording (first line {other:?})")),
        }
        let (_, setup) = lines.next().ok_or("no setup record")?;
        let setup = Setup::parse(setup)?;
        let entries = lines
            .map(|(i, line)| parse_entry(line).map_err(|e| format!("line {}: {e}", i + 1)))
            .collect::<Result<_, _>>()?;
        Ok(Recording { setup, entries })
    }
}

fn parse_entry(line: &str) -> Result<Entry, String> {
    let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
    Ok(match kind {
        "start" => Entry::Start {
            t: number(rest, "t")?,
            step: number(rest, "step")?,
            op: number(rest, "op")?,
        },
        "rx" => {
            let (_, data) = rest.split_once(' ').ok_or("rx without bytes")?;
            Entry::Rx {
                t: number(rest, "t")?,
                bytes: unhex(data)?,
            }
        }
        "tx" => Entry::Tx(unhex(rest)?),
        "event" => Entry::Event(rest.to_string()),
        "supply" => Entry::Supply {
            t: number(rest, "t")?,
            op: number(rest, "op")?,
            len: number(rest, "len")?,
            sha256: unhex(field(rest, "sha256")?)?
                .try_into()
                .map_err(|_| "sha256 is not 32 bytes")?,
        },
        "timeout" => Entry::Timeout {
            t: number(rest, "t")?,
        },
        other => return Err(format!("unknown record {other:?}")),
    })
}

/// The value of `key=` among the space-separated fields of `rest`.
fn field<'a>(rest: &'a str, key: &str) -> Result<&'a str, String> {
    rest.split(' ')
        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
        .ok_or_else(|| format!("missing field {key}="))
}

fn number<T: std::str::FromStr>(rest: &str, key: &str) -> Result<T, String> {
    let v = field(rest, key)?;
    v.parse().map_err(|_| format!("bad {key}={v}"))
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("odd-length hex".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("bad hex at {i}"))
        })
        .collect()
}

/// How an event is logged: `Debug`, except that payload bytes appear as length and hash.
fn describe(ev: &Event) -> String {
    match ev {
        Event::Data {
            id,
            file,
            offset,
            data,
        } => format!(
            "Data {{ id: {id:?}, file: {file}, offset: {offset}, len: {}, sha256: {} }}",
            data.len(),
            hex(&sha256(data))
        ),
        other => format!("{other:?}"),
    }
}

/// The seed of the file the script writes ([`data`]): the one that starts xorshift at
/// 0x9E37_79B9_7F4A_7C15, as when the recordings were made.
const FILE_SEED: u64 = 0x9E37_79B9_7F4A_7C15 >> 1;

/// The script's state: turns steps into operations, hands out the file's bytes, and
/// checks every result, so a recording is known good and a replay re-verifies it.
struct Script {
    credentials: Credentials,
    content: Bytes,
    supplied: usize,
    step: Option<(Step, OpId)>,
    received: Sha256,
    received_len: u64,
}

impl Script {
    fn new(setup: &Setup) -> Self {
        Script {
            credentials: Credentials::password(&setup.domain, &setup.user, &setup.password),
            content: data(setup.file_len, FILE_SEED).into(),
            supplied: 0,
            step: None,
            received: Sha256::new(),
            received_len: 0,
        }
    }

    fn op(&self, step: Step) -> BoxedOp {
        match step {
            Step::Login => BoxedOp::new(ops::Login::new(self.credentials.clone())),
            Step::TreeConnect => BoxedOp::new(ops::ConnectShare::new(SHARE)),
            Step::Mkdir => BoxedOp::new(ops::Mkdir::new(SHARE, DIR)),
            Step::Put => BoxedOp::new(ops::WriteFile::new(SHARE, FILE)),
            Step::Stat | Step::StatMissing => BoxedOp::new(ops::Stat::new(SHARE, FILE)),
            Step::List => BoxedOp::new(ops::ListDir::new(SHARE, DIR, "*")),
            Step::Get => BoxedOp::new(ops::ReadFile::new(SHARE, FILE, 0, None)),
            Step::Rename => BoxedOp::new(ops::Rename::new(SHARE, FILE, RENAMED, false)),
            Step::Delete => BoxedOp::new(ops::Delete::new(SHARE, RENAMED)),
            Step::Rmdir => BoxedOp::new(ops::Rmdir::new(SHARE, DIR)),
            Step::Echo => BoxedOp::new(ops::Echo),
            Step::Logoff => BoxedOp::new(ops::Logoff),
        }
    }

    /// Starts step `index` on `conn`.
    fn start(&mut self, conn: &mut Connection, index: usize, now: Instant) -> Result<OpId, String> {
        let step = *SCRIPT
            .get(index)
            .ok_or_else(|| format!("no script step {index}"))?;
        let id = conn.start_boxed(self.op(step), now);
        self.step = Some((step, id));
        Ok(id)
    }

    /// The next `len` bytes of the file (fewer at its end, none after it).
    fn take(&mut self, len: usize) -> Bytes {
        let end = self.content.len().min(self.supplied.saturating_add(len));
        let data = self.content.slice(self.supplied..end);
        self.supplied = end;
        data
    }

    /// Checks an event against what the current step must produce; returns whether it
    /// ended the step.
    fn observe(&mut self, ev: &Event) -> Result<bool, String> {
        let Some((step, current)) = self.step else {
            return Err(format!("event before any step: {}", describe(ev)));
        };
        match ev {
            Event::Data {
                id, offset, data, ..
            } if *id == current && step == Step::Get => {
                if *offset != self.received_len {
                    return Err(format!("data at {offset}, expected {}", self.received_len));
                }
                self.received.update(data);
                self.received_len += data.len() as u64;
                Ok(false)
            }
            Event::WantData { id, .. } if *id == current && step == Step::Put => Ok(false),
            Event::Done { id, result } if *id == current => {
                self.check_result(step, result)?;
                Ok(true)
            }
            other => Err(format!("{step:?}: unexpected event {}", describe(other))),
        }
    }

    fn check_result(&mut self, step: Step, result: &Result<OpOutput, Error>) -> Result<(), String> {
        let len = self.content.len() as u64;
        let count = |o: &OpOutput| o.downcast_ref::<u64>().copied();
        let ok = match (step, result) {
            (Step::Login, Ok(o)) => o
                .downcast_ref::<ops::LoggedIn>()
                .is_some_and(|l| !l.is_guest),
            (Step::TreeConnect, Ok(o)) => o.downcast_ref::<ops::SharedTree>().is_some(),
            (Step::Put | Step::Delete, Ok(o)) => {
                count(o) == Some(if step == Step::Put { len } else { 1 })
            }
            (Step::Stat, Ok(o)) => o
                .downcast_ref::<FileInfo>()
                .is_some_and(|i| i.size == len && !i.is_directory()),
            (Step::List, Ok(o)) => o
                .downcast_ref::<Vec<FileInfo>>()
                .is_some_and(|e| e.len() == 1 && e[0].name == FILE_NAME && e[0].size == len),
            (Step::Get, Ok(o)) => {
                let got: [u8; 32] = self.received.clone().finalize().into();
                count(o) == Some(len) && self.received_len == len && got == sha256(&self.content)
            }
            (Step::StatMissing, Err(e)) => e.status() == Some(NtStatus::OBJECT_NAME_NOT_FOUND),
            (Step::Mkdir | Step::Rename | Step::Rmdir | Step::Echo | Step::Logoff, Ok(o)) => {
                o.downcast_ref::<()>().is_some()
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{step:?} ended with {result:?}"))
        }
    }
}

fn micros(base: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(base).as_micros()).unwrap_or(u64::MAX)
}

/// Runs [`SCRIPT`] against the server at `addr` and returns the log of the session.
///
/// Fails if any step does not end as the script expects (the recording would be of no
/// use), with the log so far in the message.
pub fn record(addr: SocketAddr, setup: Setup) -> Result<Recording, String> {
    let names = [&setup.server_name, &setup.domain, &setup.user];
    if names.iter().any(|n| n.contains(char::is_whitespace)) {
        return Err("server, domain and user names must not contain whitespace".into());
    }
    let sock = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    sock.set_nodelay(true).map_err(|e| e.to_string())?;
    let base = Instant::now();
    let mut live = Live {
        conn: Connection::new(setup.config(), base),
        script: Script::new(&setup),
        sock,
        base,
        rx: BytesMut::new(),
        entries: Vec::new(),
    };
    for index in 0..SCRIPT.len() {
        if let Err(e) = live.run(index) {
            let rec = Recording {
                setup,
                entries: live.entries,
            };
            return Err(format!("recording failed: {e}\n--- log so far ---\n{rec}"));
        }
    }
    Ok(Recording {
        setup,
        entries: live.entries,
    })
}

/// The recording driver: `smb-blocking`'s pump, logging every call.
struct Live {
    conn: Connection,
    script: Script,
    sock: TcpStream,
    base: Instant,
    rx: BytesMut,
    entries: Vec<Entry>,
}

impl Live {
    fn t(&self) -> (Instant, u64) {
        let now = Instant::now();
        (now, micros(self.base, now))
    }

    /// Starts step `index` and pumps until its operation is done and nothing is left to
    /// send or report.
    fn run(&mut self, index: usize) -> Result<(), String> {
        let (now, t) = self.t();
        let id = self.script.start(&mut self.conn, index, now)?;
        self.entries.push(Entry::Start {
            t,
            step: index,
            op: id.0,
        });
        let mut done = false;
        loop {
            let mut busy = false;
            let mut tx = Vec::new();
            if self.conn.poll_transmit(&mut tx) {
                busy = true;
                self.sock
                    .write_all(&tx)
                    .map_err(|e| format!("socket write: {e}"))?;
                self.entries.push(Entry::Tx(tx));
            }
            while let Some(ev) = self.conn.poll_event() {
                busy = true;
                self.entries.push(Entry::Event(describe(&ev)));
                done |= self.script.observe(&ev)?;
                if let Event::WantData { id, file, max_len } = ev {
                    let data = self.script.take(max_len);
                    let (now, t) = self.t();
                    self.entries.push(Entry::Supply {
                        t,
                        op: id.0,
                        len: data.len(),
                        sha256: sha256(&data),
                    });
                    self.conn.supply(id, file, data, now);
                }
            }
            if busy {
                continue;
            }
            if done {
                return Ok(());
            }
            self.read_some()?;
        }
    }

    /// Waits for bytes or the core's next deadline and feeds the core.
    fn read_some(&mut self) -> Result<(), String> {
        let now = Instant::now();
        let wait = self
            .conn
            .poll_timeout()
            .map(|d| d.saturating_duration_since(now));
        let timed_out = if wait == Some(Duration::ZERO) {
            true
        } else {
            self.sock
                .set_read_timeout(wait)
                .map_err(|e| e.to_string())?;
            let mut buf = vec![0u8; 512 * 1024];
            match self.sock.read(&mut buf) {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => {
                    let (now, t) = self.t();
                    self.rx.extend_from_slice(&buf[..n]);
                    buf.truncate(n);
                    self.entries.push(Entry::Rx { t, bytes: buf });
                    self.conn.handle_input(now, &mut self.rx);
                    false
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    true
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => false,
                Err(e) => return Err(format!("socket read: {e}")),
            }
        };
        if timed_out {
            let (now, t) = self.t();
            self.entries.push(Entry::Timeout { t });
            self.conn.handle_timeout(now);
        }
        Ok(())
    }
}

/// Makes a recording's calls on a fresh connection and checks its outputs, entry by entry.
pub struct Replayer {
    conn: Connection,
    script: Script,
    base: Instant,
    rx: BytesMut,
}

impl Replayer {
    /// A connection configured as the recorded one was.
    pub fn new(setup: &Setup) -> Self {
        let base = Instant::now();
        Replayer {
            conn: Connection::new(setup.config(), base),
            script: Script::new(setup),
            base,
            rx: BytesMut::new(),
        }
    }

    /// The connection under replay, e.g. to feed it altered bytes.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The replay's instant for a recorded time.
    pub fn at(&self, t: u64) -> Instant {
        self.base + Duration::from_micros(t)
    }

    /// Performs an input entry, or checks that the connection produces an output entry.
    pub fn apply(&mut self, entry: &Entry) -> Result<(), String> {
        match entry {
            // No idle check here: the first step starts before the NEGOTIATE queued by
            // `Connection::new` is polled. Extra output would show at the next entry anyway.
            Entry::Start { t, step, op } => {
                let now = self.at(*t);
                let id = self.script.start(&mut self.conn, *step, now)?;
                if id.0 != *op {
                    return Err(format!("start returned {id:?}, recorded OpId({op})"));
                }
            }
            Entry::Rx { t, bytes } => {
                self.expect_idle()?;
                self.rx.extend_from_slice(bytes);
                self.conn.handle_input(self.at(*t), &mut self.rx);
            }
            Entry::Timeout { t } => {
                self.expect_idle()?;
                self.conn.handle_timeout(self.at(*t));
            }
            Entry::Supply {
                t,
                op,
                len,
                sha256: want,
            } => {
                let data = self.script.take(*len);
                if data.len() != *len || sha256(&data) != *want {
                    return Err(format!("the script has no matching {len} bytes to supply"));
                }
                self.conn.supply(OpId(*op), 0, data, self.at(*t));
            }
            Entry::Tx(want) => {
                let mut got = Vec::new();
                if !self.conn.poll_transmit(&mut got) {
                    return Err(format!(
                        "recorded {} bytes sent, replay sends none",
                        want.len()
                    ));
                }
                if got != *want {
                    return Err(bytes_differ(want, &got));
                }
            }
            Entry::Event(want) => {
                let ev = self
                    .conn
                    .poll_event()
                    .ok_or_else(|| format!("recorded event {want}, replay has none"))?;
                let got = describe(&ev);
                if got != *want {
                    return Err(format!("event differs:\n recorded {want}\n replayed {got}"));
                }
                self.script.observe(&ev)?;
            }
        }
        Ok(())
    }

    /// Checks that the connection has nothing to send or report that the recording lacks.
    pub fn expect_idle(&mut self) -> Result<(), String> {
        let mut extra = Vec::new();
        if self.conn.poll_transmit(&mut extra) {
            return Err(format!(
                "replay sends {} bytes the recording lacks: {}…",
                extra.len(),
                hex(&extra[..extra.len().min(80)])
            ));
        }
        match self.conn.poll_event() {
            Some(ev) => Err(format!("replay has an extra event {}", describe(&ev))),
            None => Ok(()),
        }
    }
}

fn bytes_differ(want: &[u8], got: &[u8]) -> String {
    let at = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let around = |b: &[u8]| hex(&b[at.saturating_sub(8).min(b.len())..(at + 24).min(b.len())]);
    format!(
        "transmitted bytes differ at offset {at} (recorded {} bytes, replayed {}):\n recorded …{}…\n replayed …{}…",
        want.len(),
        got.len(),
        around(want),
        around(got)
    )
}

/// Replays a whole recording; the error names the first entry that does not match.
pub fn replay(rec: &Recording) -> Result<(), String> {
    let mut r = Replayer::new(&rec.setup);
    for (i, e) in rec.entries.iter().enumerate() {
        r.apply(e).map_err(|m| format!("entry {i}: {m}"))?;
    }
    r.expect_idle()
        .map_err(|m| format!("after the last entry: {m}"))
}
