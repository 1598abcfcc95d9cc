//! A blocking SMB2/3 client over `std::net`, in the spirit of pysmb's `SMBConnection`.
//!
//! All protocol decisions live in [`smb_proto`]; this crate owns the socket, the clock,
//! the seed and the caller-facing API.
//!
//! ```no_run
//! use smb_blocking::{Connection, ConnectOptions};
//! let mut conn = Connection::connect(&ConnectOptions::new("127.0.0.1").user("alice", "secret")).unwrap();
//! for e in conn.list_path("share", "/", "*").unwrap() { println!("{} {}", e.name, e.size); }
//! let mut out = Vec::new();
//! conn.retrieve_file("share", "/report.pdf", &mut out).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod file;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use smb_proto::auth::ntlm::Credentials;
use smb_proto::{
    Config, Dialect, Event, FileInfo, Op, OpId, Output, SigningPolicy, Transport, TreeId,
};

pub use file::File;
pub use smb_proto::{FileInfo as Entry, OpenOptions};

/// Errors from the blocking client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The protocol reported a failure (NTSTATUS with path, auth, timeout, closed…).
    #[error(transparent)]
    Smb(#[from] smb_proto::Error),
    /// The socket or a local reader/writer failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(e) => e,
            Error::Smb(e) => {
                let kind = e
                    .status()
                    .map_or(io::ErrorKind::Other, |s| s.to_io_error_kind());
                io::Error::new(kind, e)
            }
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How to reach and log in to a server.
#[derive(Clone)]
pub struct ConnectOptions {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (445 direct TCP, 139 NetBIOS).
    pub port: u16,
    /// Use the NetBIOS session service framing (port 139 style).
    pub netbios: bool,
    /// The server's NetBIOS name (also used in `\\server\share`); defaults to `host`.
    pub server_name: Option<String>,
    /// This client's NetBIOS / workstation name.
    pub client_name: String,
    /// Domain (workgroup).
    pub domain: String,
    /// User name; empty for guest.
    pub user: String,
    password: String,
    /// Signing policy.
    pub signing: SigningPolicy,
    /// Lowest dialect accepted.
    pub min_dialect: Dialect,
    /// Highest dialect offered.
    pub max_dialect: Dialect,
    /// Require encryption of the session.
    pub encrypt: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Seed for reproducible sessions (tests); fresh OS randomness when `None`.
    pub seed: Option<[u8; 32]>,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("netbios", &self.netbios)
            .field("domain", &self.domain)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("signing", &self.signing)
            .field("max_dialect", &self.max_dialect)
            .finish_non_exhaustive()
    }
}

impl ConnectOptions {
    /// Guest access to `host` on port 445 with default policy.
    pub fn new(host: &str) -> Self {
        ConnectOptions {
            host: host.to_string(),
            port: 445,
            netbios: false,
            server_name: None,
            client_name: "SMB-RS".to_string(),
            domain: String::new(),
            user: String::new(),
            password: String::new(),
            signing: SigningPolicy::WhenSupported,
            min_dialect: Dialect::Smb202,
            max_dialect: Dialect::Smb311,
            encrypt: false,
            timeout: Duration::from_secs(60),
            seed: None,
        }
    }

    /// Sets user and password.
    pub fn user(mut self, user: &str, password: &str) -> Self {
        self.user = user.to_string();
        self.password = password.to_string();
        self
    }

    /// Sets the domain.
    pub fn domain(mut self, domain: &str) -> Self {
        self.domain = domain.to_string();
        self
    }

    /// Sets the port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

/// A logged-in connection to one server.
pub struct Connection {
    sock: TcpStream,
    core: smb_proto::Connection,
    rx: BytesMut,
    tx: Vec<u8>,
    trees: HashMap<String, TreeId>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

const READ_CHUNK: usize = 512 * 1024;

fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        if f.read_exact(&mut seed).is_ok() {
            return seed;
        }
    }
    // No /dev/urandom: fall back to the clock and process id, hashed by the core's DRBG.
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    seed[..16].copy_from_slice(&t.to_le_bytes());
    seed[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    seed
}

/// Now as a Windows FILETIME (100 ns ticks since 1601).
fn filetime_now() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_nanos() / 100) as u64 + 116_444_736_000_000_000
}

impl Connection {
    /// Connects, negotiates and logs in (guest when `opts.user` is empty).
    pub fn connect(opts: &ConnectOptions) -> Result<Self> {
        let addr = (opts.host.as_str(), opts.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no address for {}", opts.host),
                )
            })?;
        let sock = TcpStream::connect_timeout(&addr, opts.timeout)?;
        sock.set_nodelay(true)?;
        let server_name = opts
            .server_name
            .clone()
            .unwrap_or_else(|| opts.host.clone());
        let mut config = Config::new(&server_name, opts.seed.unwrap_or_else(os_seed));
        config.client_name = opts.client_name.clone();
        config.signing = opts.signing;
        config.min_dialect = opts.min_dialect;
        config.max_dialect = opts.max_dialect;
        config.encrypt = opts.encrypt;
        config.request_timeout = Some(opts.timeout);
        config.filetime_now = filetime_now();
        if opts.netbios {
            config.transport = Transport::NetBios {
                called: server_name.clone(),
                calling: opts.client_name.clone(),
            };
        }
        let creds = if opts.user.is_empty() {
            Credentials::anonymous()
        } else {
            Credentials::password(&opts.domain, &opts.user, &opts.password)
        };
        let core = smb_proto::Connection::new(config, Instant::now());
        let mut conn = Connection {
            sock,
            core,
            rx: BytesMut::new(),
            tx: Vec::new(),
            trees: HashMap::new(),
        };
        conn.run(Op::Login(creds))?;
        Ok(conn)
    }

    /// Negotiated parameters.
    pub fn negotiated(&self) -> &smb_proto::Negotiated {
        self.core
            .negotiated()
            .expect("connected connections have negotiated")
    }

    /// Whether the server made this a guest session.
    pub fn is_guest(&self) -> bool {
        self.core.is_guest()
    }

    /// Whether requests are being signed.
    pub fn is_signing(&self) -> bool {
        self.core.is_signing()
    }

    /// Runs one operation to completion, handling no streaming events.
    pub fn run(&mut self, op: Op) -> Result<Output> {
        let id = self.core.start(op, Instant::now());
        self.pump(id, |_, _| Ok(()))
    }

    /// Pumps bytes until operation `id` completes; `on_event` sees its streaming events.
    fn pump(
        &mut self,
        id: OpId,
        mut on_event: impl FnMut(&mut smb_proto::Connection, Event) -> io::Result<()>,
    ) -> Result<Output> {
        loop {
            self.flush_tx();
            let mut result = None;
            let mut local_err = None;
            while let Some(ev) = self.core.poll_event() {
                match ev {
                    Event::Done {
                        id: done,
                        result: r,
                    } if done == id => result = Some(r),
                    Event::Done { .. } | Event::Break(_) | Event::Closed(_) => {}
                    ev => {
                        if local_err.is_none() {
                            if let Err(e) = on_event(&mut self.core, ev) {
                                local_err = Some(e);
                            }
                        }
                    }
                }
            }
            if let Some(e) = local_err {
                self.core.cancel(id, Instant::now());
                self.flush_tx();
                while self.core.poll_event().is_some() {}
                return Err(Error::Io(e));
            }
            if let Some(r) = result {
                return Ok(r?);
            }
            if self.core.poll_transmit(&mut self.tx) {
                continue;
            }
            self.read_some()?;
        }
    }

    /// Writes whatever the core has queued, as one write.
    fn flush_tx(&mut self) {
        if self.core.poll_transmit(&mut self.tx) || !self.tx.is_empty() {
            let r = self.sock.write_all(&self.tx);
            self.tx.clear();
            if let Err(e) = r {
                self.core.handle_transport_closed(&e.to_string());
            }
        }
    }

    /// Waits for bytes or the next deadline and feeds the core.
    fn read_some(&mut self) -> Result<()> {
        let now = Instant::now();
        let wait = self
            .core
            .poll_timeout()
            .map(|d| d.saturating_duration_since(now));
        if wait == Some(Duration::ZERO) {
            self.core.handle_timeout(now);
            return Ok(());
        }
        self.sock.set_read_timeout(wait)?;
        let len = self.rx.len();
        self.rx.resize(len + READ_CHUNK, 0);
        match self.sock.read(&mut self.rx[len..]) {
            Ok(0) => {
                self.rx.truncate(len);
                self.core
                    .handle_transport_closed("server closed the connection");
            }
            Ok(n) => {
                self.rx.truncate(len + n);
                self.core.handle_input(Instant::now(), &mut self.rx);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                self.rx.truncate(len);
                self.core.handle_timeout(Instant::now());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.rx.truncate(len),
            Err(e) => {
                self.rx.truncate(len);
                self.core.handle_transport_closed(&e.to_string());
            }
        }
        Ok(())
    }

    /// The tree id for `share`, connecting on first use.
    pub fn tree(&mut self, share: &str) -> Result<TreeId> {
        let key = share.to_ascii_lowercase();
        if let Some(t) = self.trees.get(&key) {
            return Ok(*t);
        }
        match self.run(Op::TreeConnect {
            share: share.to_string(),
        })? {
            Output::Tree(t) => {
                self.trees.insert(key, t);
                Ok(t)
            }
            other => Err(unexpected(other)),
        }
    }

    /// Whether requests to `share` are encrypted (connecting to it if needed).
    pub fn tree_encrypted(&mut self, share: &str) -> Result<bool> {
        let tree = self.tree(share)?;
        Ok(self.core.tree_encrypts(tree))
    }

    /// Whether the session encrypts every request.
    pub fn is_encrypting(&self) -> bool {
        self.core.is_encrypting()
    }

    /// Entries of directory `path` matching `pattern` (`*` for all), without `.`/`..`.
    pub fn list_path(&mut self, share: &str, path: &str, pattern: &str) -> Result<Vec<FileInfo>> {
        let tree = self.tree(share)?;
        match self.run(Op::ListDir {
            tree,
            path: path.to_string(),
            pattern: pattern.to_string(),
        })? {
            Output::Entries(e) => Ok(e),
            other => Err(unexpected(other)),
        }
    }

    /// Attributes of a file or directory.
    pub fn get_attributes(&mut self, share: &str, path: &str) -> Result<FileInfo> {
        let tree = self.tree(share)?;
        match self.run(Op::Stat {
            tree,
            path: path.to_string(),
        })? {
            Output::Info(i) => Ok(i),
            other => Err(unexpected(other)),
        }
    }

    /// Writes the whole file into `out`; returns the byte count.
    pub fn retrieve_file(&mut self, share: &str, path: &str, out: &mut dyn Write) -> Result<u64> {
        self.retrieve_file_from_offset(share, path, out, 0, None)
    }

    /// Writes up to `max_length` bytes from `offset` into `out`; returns the byte count.
    pub fn retrieve_file_from_offset(
        &mut self,
        share: &str,
        path: &str,
        out: &mut dyn Write,
        offset: u64,
        max_length: Option<u64>,
    ) -> Result<u64> {
        let tree = self.tree(share)?;
        let op = Op::ReadFile {
            tree,
            path: path.to_string(),
            offset,
            max_len: max_length,
        };
        let id = self.core.start(op, Instant::now());
        let r = self.pump(id, |_, ev| match ev {
            Event::Data { data, .. } => out.write_all(&data),
            _ => Ok(()),
        })?;
        match r {
            Output::Transferred(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    /// Creates or replaces `path` with everything `input` yields; returns the byte count.
    pub fn store_file(&mut self, share: &str, path: &str, input: &mut dyn Read) -> Result<u64> {
        let tree = self.tree(share)?;
        let id = self.core.start(
            Op::WriteFile {
                tree,
                path: path.to_string(),
            },
            Instant::now(),
        );
        let r = self.pump(id, |core, ev| {
            if let Event::WantData { id, max_len } = ev {
                let data = read_up_to(input, max_len)?;
                core.supply(id, data, Instant::now());
            }
            Ok(())
        })?;
        match r {
            Output::Transferred(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    /// Creates a directory.
    pub fn create_directory(&mut self, share: &str, path: &str) -> Result<()> {
        let tree = self.tree(share)?;
        self.run(Op::Mkdir {
            tree,
            path: path.to_string(),
        })
        .map(drop)
    }

    /// Removes an empty directory.
    pub fn delete_directory(&mut self, share: &str, path: &str) -> Result<()> {
        let tree = self.tree(share)?;
        self.run(Op::Rmdir {
            tree,
            path: path.to_string(),
        })
        .map(drop)
    }

    /// Deletes the files matching `path_pattern` (wildcards in the last component);
    /// returns how many were deleted.
    pub fn delete_files(&mut self, share: &str, path_pattern: &str) -> Result<u64> {
        let tree = self.tree(share)?;
        match self.run(Op::Delete {
            tree,
            path: path_pattern.to_string(),
        })? {
            Output::Count(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    /// Renames or moves `old` to `new` within the share (fails if `new` exists).
    pub fn rename(&mut self, share: &str, old: &str, new: &str) -> Result<()> {
        let tree = self.tree(share)?;
        self.run(Op::Rename {
            tree,
            from: old.to_string(),
            to: new.to_string(),
            replace: false,
        })
        .map(drop)
    }

    /// One ECHO round trip.
    pub fn echo(&mut self) -> Result<()> {
        self.run(Op::Echo).map(drop)
    }

    /// Opens a file as a std `Read`/`Write`/`Seek` handle.
    pub fn open(&mut self, share: &str, path: &str, options: OpenOptions) -> Result<File<'_>> {
        let tree = self.tree(share)?;
        match self.run(Op::Open {
            tree,
            path: path.to_string(),
            options,
        })? {
            Output::Opened(handle, info) => Ok(File::new(self, handle, info)),
            other => Err(unexpected(other)),
        }
    }

    /// Logs off and closes the socket.
    pub fn close(mut self) -> Result<()> {
        let r = self.run(Op::Logoff);
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
        r.map(drop)
    }
}

/// Reads until `max` bytes or end of input; empty means end of input.
fn read_up_to(input: &mut dyn Read, max: usize) -> io::Result<Bytes> {
    let mut buf = vec![0u8; max];
    let mut n = 0;
    while n < max {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(n);
    Ok(Bytes::from(buf))
}

fn unexpected(o: Output) -> Error {
    Error::Smb(smb_proto::Error::Invalid(format!(
        "unexpected operation output {o:?}"
    )))
}
