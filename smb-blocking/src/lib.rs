//! A blocking SMB2/3 client over `std::net`, in the spirit of pysmb's `SMBConnection`,
//! its NetBIOS name service queries ([`NetBios`], pysmb's `nmb.NetBIOS`), and Kerberos
//! tickets from a KDC ([`kerberos::request_tgt`]).
//!
//! All protocol decisions live in [`smb_proto`]; this crate owns the socket, the clock,
//! the seed and the caller-facing API.
//!
//! ```no_run
//! use smb_blocking::{Connection, ConnectOptions};
//! let conn = Connection::connect(&ConnectOptions::new("127.0.0.1").user("alice", "secret")).unwrap();
//! for e in conn.list_path("share", "/", "*").unwrap() { println!("{} {}", e.name, e.size); }
//! let mut out = Vec::new();
//! conn.retrieve_file("share", "/report.pdf", &mut out).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod channels;
pub mod context;
mod file;
pub mod kerberos;
mod netbios;
mod path;
mod replay;
mod spread;
mod watch;

use std::collections::hash_map::{Entry, HashMap};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use smb_proto::client::{
    chunk_for, local_path, local_size, part_paths, with_path, Download, LocalTree, ManyFiles,
    ReceiveBuffers, Retry, TransferResults, TreeTally, Upload, UploadBuffers,
};
use smb_proto::ops::{self, OpHandle, OpOutput, Operation};
use smb_proto::{Event, OpId};

pub use context::{
    st_mode, Auth, AuthFn, Context, Dirent, DirentType, OpenFlags, SimpleAuth, O_ACCMODE, O_APPEND,
    O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
};
pub use file::File;
pub use netbios::NetBios;
pub use path::{Paths, Share, SmbPath};
pub use smb_proto::auth::ntlm::Credentials;
pub use smb_proto::client::{
    ClientError as Error, ConnectOptions, KerberosOptions, PasswordCallback, PasswordPrompt,
    ReconnectPolicy, RecordBuffer, RecordTarget,
};
pub use smb_proto::client::{Creds, Glob, OpenMode, PurePath, ShareTarget};
pub use smb_proto::client::{TreeProgress, TreeProgressFn};
pub use smb_proto::netbios::{NameService, NodeStatus};
pub use smb_proto::ops::StreamInfo;
pub use smb_proto::ops::{search, Copied, LeaseState, LockKind, FILES_IN_FLIGHT, READ_CACHE_LIMIT};
pub use smb_proto::ops::{Change, DEFAULT_FILTER as DEFAULT_NOTIFY_FILTER};
pub use smb_proto::replay::{RecordOptions, Recording, Replay, ReplayError};
pub use smb_proto::wire::create::{access_mask, create_options, disposition};
pub use smb_proto::wire::fscc::{file_attributes, FileFullEaInformation, FileTime};
pub use smb_proto::wire::notify::completion_filter as notify_filter;
pub use smb_proto::wire::security::{Ace, AceType, Acl, SecurityDescriptor, Sid};
pub use smb_proto::{Dialect, Errno, ErrorKind, NtStatus, SessionSlot, SigningPolicy};
pub use smb_proto::{FileInfo, FsInfo, OpenOptions, ShareInfo, ShareType};
pub use watch::Watcher;

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A progress callback: bytes moved so far, and the total when known.
pub type ProgressFn<'a> = dyn FnMut(u64, Option<u64>) + 'a;

/// The socket and the core, with what pumps bytes between them; one lock holds it.
struct Pump {
    sock: replay::Socket,
    core: smb_proto::Connection,
    /// What the server sent that the core has not taken yet; kept for the length of an
    /// operation are the buffers its frames were taken from, to gather in again.
    rx: ReceiveBuffers,
    tx: Vec<u8>,
    /// WRITE payloads that go out between the bytes of `tx` (see `poll_transmit_vectored`).
    tx_payloads: Vec<(usize, Bytes)>,
    /// The socket's read timeout as last set.
    read_timeout: Option<Duration>,
    /// Where socket reads land before joining `rx`.
    scratch: Vec<u8>,
    /// The session operations start in, and how long each may take: the handle's
    /// holding the lock.
    session: SessionSlot,
    op_timeout: Option<Duration>,
    /// Events of each open [`Watcher`], kept while another call pumps.
    parked: HashMap<OpId, VecDeque<Event>>,
    /// How it was made, to make it again ([`ConnectOptions::reconnect`]).
    opts: Option<Box<ConnectOptions>>,
    /// How many times it was made again.
    reconnects: u64,
    /// What survives a reconnection: the sessions added and how they logged in, and the
    /// durable handles reclaimed.
    kept: Kept,
    /// Further connections bound to the default session as channels
    /// ([`Connection::add_channel`]); a connection made again has none.
    channels: Vec<Pump>,
}

/// What a connection made again takes over from the lost one.
#[derive(Default)]
struct Kept {
    /// Sessions added after the first ([`Connection::add_session`]), in order, with the
    /// credentials they logged in with: each logs in again, keeping its slot.
    sessions: Vec<(SessionSlot, Credentials)>,
    /// Durable handles reclaimed after a loss.
    moved: smb_proto::client::MovedHandles,
}

/// What a login settled for a session, and whether it encrypts.
struct Settled {
    status: smb_proto::client::Status,
    is_encrypting: bool,
}

/// A logged-in connection to one server: a cheap handle that clones share, usable from
/// several threads (one operation runs at a time; each holds the connection for its
/// duration), with any number of open [`File`]s.
#[derive(Clone)]
pub struct Connection {
    pump: Arc<Mutex<Pump>>,
    /// What login settled, which does not change after it.
    status: Arc<smb_proto::client::Status>,
    is_encrypting: bool,
    /// The session this handle's operations run in.
    session: SessionSlot,
    /// How long each operation of this handle may take in all.
    timeout: Option<Duration>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("negotiated", &self.status.negotiated)
            .field("is_guest", &self.status.is_guest)
            .field("is_signing", &self.status.is_signing)
            .finish_non_exhaustive()
    }
}

/// An operation id no operation has: pumping "until it has an event" pumps until the
/// deadline given.
const NO_OP: OpId = OpId(u64::MAX);

/// Smallest read: small responses arrive several to a read.
const MIN_READ: usize = 64 * 1024;
/// Largest read: a whole 1 MiB READ response and its header.
const MAX_READ: usize = 1024 * 1024 + 4096;

/// A fresh seed for the core's generator from the operating system. A system whose
/// random source fails cannot make a connection safe (NTLM challenges, nonces): that is
/// a broken machine, not a condition to work around with a guessable seed.
fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).expect("the operating system's random source failed");
    seed
}

impl Pump {
    /// A pump of `core` over `sock`, not logged in.
    fn new(sock: replay::Socket, core: smb_proto::Connection) -> Pump {
        Pump {
            sock,
            core,
            rx: ReceiveBuffers::default(),
            tx: Vec::new(),
            tx_payloads: Vec::new(),
            parked: HashMap::new(),
            read_timeout: None,
            scratch: vec![0; MAX_READ],
            session: SessionSlot::DEFAULT,
            op_timeout: None,
            opts: None,
            reconnects: 0,
            kept: Kept::default(),
            channels: Vec::new(),
        }
    }

    /// Connects, negotiates and logs in as `opts` says ([`Connection::connect`]).
    fn dial(opts: &ConnectOptions) -> Result<Pump> {
        // A Kerberos login finds its own secret (asking a password callback once).
        let creds = match opts.kerberos {
            Some(_) => Credentials::anonymous(),
            None => opts.credentials()?,
        };
        Pump::dial_as(opts, creds)
    }

    /// [`Pump::dial`], logging in with `creds`.
    fn dial_as(opts: &ConnectOptions, creds: Credentials) -> Result<Pump> {
        // Kerberos: its keytab read before the connection; the tickets come during the
        // login, through the core's KDC events.
        let kerberos = match &opts.kerberos {
            Some(_) => Some(kerberos::login(opts)?),
            None => None,
        };
        let addr = (opts.host.as_str(), opts.port)
            .to_socket_addrs()
            .map_err(|e| opts.connect_error(e))?
            .next()
            .ok_or_else(|| opts.connect_error(io::ErrorKind::NotFound.into()))?;
        let sock =
            TcpStream::connect_timeout(&addr, opts.timeout).map_err(|e| opts.connect_error(e))?;
        sock.set_nodelay(true)?;
        tracing::debug!(target = %opts.target(), "TCP connected");
        let config = opts.config(os_seed, FileTime::from_system_time(SystemTime::now()).0);
        let sock = replay::Socket::new(sock, opts, &config)?;
        let mut pump = Pump::new(sock, smb_proto::Connection::new(config, Instant::now()));
        pump.opts = Some(Box::new(opts.clone()));
        pump.call(kerberos.unwrap_or_else(|| ops::Login::new(creds)))?;
        Ok(pump)
    }

    /// Starts `op` in the current session, with the current handle's deadline.
    fn start<O: Operation>(&mut self, op: O) -> OpHandle<O::Output> {
        let now = Instant::now();
        let handle = self.core.start_in(self.session, op, now);
        if let Some(deadline) = self.op_timeout.and_then(|t| now.checked_add(t)) {
            self.core.set_deadline(handle.id(), deadline);
        }
        handle
    }

    pub fn call<O: Operation>(&mut self, op: O) -> Result<O::Output> {
        let handle = self.start(op);
        let result = self.pump(handle.id(), |_, _| Ok(()))?;
        Ok(handle.output(Ok(result))?)
    }

    /// Pumps bytes until operation `id` completes; `on_event` sees its streaming events.
    /// A local failure there cancels the operation and is its result.
    fn pump(
        &mut self,
        id: OpId,
        on_event: impl FnMut(&mut smb_proto::Connection, &Event) -> io::Result<()>,
    ) -> Result<OpOutput> {
        let r = self.pump_events(id, on_event);
        // A connection left idle holds no more than the buffer it gathers in.
        self.rx.release();
        r
    }

    /// [`Pump::pump`], before the kept receive buffers are let go.
    fn pump_events(
        &mut self,
        id: OpId,
        mut on_event: impl FnMut(&mut smb_proto::Connection, &Event) -> io::Result<()>,
    ) -> Result<OpOutput> {
        loop {
            match self.next_event(id, None)? {
                None => {}
                Some(Event::Done { result, .. }) => return Ok(result?),
                Some(ev) => {
                    if let Err(e) = on_event(&mut self.core, &ev) {
                        self.core.cancel(id, Instant::now());
                        self.flush_tx();
                        while self.core.poll_event().is_some() {}
                        return Err(Error::Io(e));
                    }
                }
            }
        }
    }

    /// Pumps bytes until operation `id` has an event, or (`None`) until `until`. Events
    /// of a [`Watcher`] that is not reading now are kept for it; other operations' have
    /// no reader (their caller gave up on them) and are dropped.
    ///
    /// What the caller's answers queue is written once no event is left to hand over,
    /// before waiting: the chunks an upload supplies for consecutive
    /// [`Event::WantData`] go out in one write, not one write (and one wake-up of the
    /// server) each.
    fn next_event(&mut self, id: OpId, until: Option<Instant>) -> Result<Option<Event>> {
        if let Some(ev) = self.parked.get_mut(&id).and_then(VecDeque::pop_front) {
            return Ok(Some(ev));
        }
        loop {
            while let Some(ev) = self.core.poll_event() {
                if let Event::Kdc { id, request } = &ev {
                    // A login's KDC attempt: made now (logins are one at a time).
                    let (reply, wall) = self.sock.kdc(request);
                    self.core.kdc_reply(*id, reply, wall, Instant::now());
                    continue;
                }
                match ev.op() {
                    Some(of) if of == id => {
                        // Encrypted WRITEs sit in the send buffer whole (plain ones only as
                        // headers): a megabyte of them goes out now rather than piling up
                        // behind the events still to hand over, out of the CPU's cache.
                        if self.core.queued_len() >= MAX_READ {
                            self.flush_tx();
                        }
                        return Ok(Some(ev));
                    }
                    Some(of) => {
                        if let Some(queue) = self.parked.get_mut(&of) {
                            queue.push_back(ev);
                        }
                    }
                    None => {}
                }
            }
            // Then the events again: a failed write closes the connection, which is one.
            if self.flush_tx() {
                continue;
            }
            if until.is_some_and(|t| Instant::now() >= t) {
                return Ok(None);
            }
            self.read_some(until)?;
        }
    }

    /// Handles what the server has sent already (break notifications, which the core
    /// acknowledges), without waiting for more.
    fn read_ready(&mut self) -> Result<()> {
        if !self.sock.set_nonblocking(true)? {
            return Ok(());
        }
        let read = loop {
            match self.sock.read(&mut self.scratch) {
                Ok(0) => {
                    self.core.handle_transport_eof();
                    break Ok(());
                }
                Ok(n) => {
                    self.rx.extend(&self.scratch[..n]);
                    self.core.handle_input(Instant::now(), self.rx.buf());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.sock.set_nonblocking(false)?;
        if let Err(e) = read {
            self.core.handle_transport_closed(&e.to_string());
        }
        // Sends the acknowledgments and keeps what watchers are owed.
        self.next_event(NO_OP, Some(Instant::now()))?;
        Ok(())
    }

    /// What login settled for the current session.
    fn status(&self) -> Result<Settled> {
        let no_negotiate = || smb_proto::Error::Invalid("logged in without negotiating".into());
        let info = self
            .core
            .session_info(self.session)
            .ok_or_else(no_negotiate)?;
        Ok(Settled {
            status: smb_proto::client::Status {
                negotiated: self.core.negotiated().cloned().ok_or_else(no_negotiate)?,
                is_guest: info.is_guest,
                is_signing: info.is_signing,
                is_kerberos: info.is_kerberos,
            },
            is_encrypting: info.is_encrypting,
        })
    }

    /// Writes whatever the core has queued, as one write; whether there was anything.
    fn flush_tx(&mut self) -> bool {
        let _ = self
            .core
            .poll_transmit_vectored(&mut self.tx, &mut self.tx_payloads);
        if self.tx.is_empty() {
            return false;
        }
        let r = write_all_parts(&mut self.sock, &self.tx, &self.tx_payloads);
        self.tx.clear();
        self.tx_payloads.clear();
        if let Err(e) = r {
            self.core.handle_transport_closed(&e.to_string());
        }
        true
    }

    /// Waits for bytes or the next deadline and feeds the core.
    fn read_some(&mut self, until: Option<Instant>) -> Result<()> {
        let now = Instant::now();
        let wait = match (self.core.poll_timeout(), until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(|d| d.saturating_duration_since(now));
        if wait == Some(Duration::ZERO) {
            self.core.handle_timeout(now);
            return Ok(());
        }
        // Rounded up to a tenth of a second, so the socket option changes rarely rather
        // than on every read, and a deadline is met within that.
        let wait = wait.map(|w| Duration::from_millis((w.as_millis() as u64 / 100 + 1) * 100));
        if wait != self.read_timeout {
            self.sock.set_read_timeout(wait)?;
            self.read_timeout = wait;
        }
        // Read into a scratch buffer that stays initialised, then append what arrived:
        // one copy per byte received, where zero-filling fresh space in `rx` before each
        // read cost a whole frame's worth per read when a frame trickles in.
        let want = self
            .core
            .read_hint(self.rx.buf())
            .clamp(MIN_READ, self.scratch.len());
        match self.sock.read(&mut self.scratch[..want]) {
            Ok(0) => self.core.handle_transport_eof(),
            Ok(n) => {
                self.rx.extend(&self.scratch[..n]);
                self.core.handle_input(Instant::now(), self.rx.buf());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                self.core.handle_timeout(Instant::now());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => self.core.handle_transport_closed(&e.to_string()),
        }
        Ok(())
    }

    /// Runs a whole-file read, its data into `out`, its progress (if it reports any) to
    /// `progress`; a lost connection is made again and the read resumes ([`Download`]).
    pub fn retrieve(
        &mut self,
        op: ops::ReadFile,
        out: &mut dyn Write,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64> {
        if let Some(striped) = self.retrieve_striped(&op, out, progress) {
            return striped;
        }
        let (mut download, mut retry) = (Download::new(op), self.retry());
        loop {
            let handle = self.start(download.run());
            let r = self.pump(handle.id(), |_, ev| {
                match *ev {
                    Event::Data {
                        ref data, offset, ..
                    } => {
                        out.write_all(data)?;
                        download.delivered(offset, data.len());
                    }
                    Event::Progress { done, total, .. } => progress(done, total),
                    _ => {}
                }
                Ok(())
            });
            match r.and_then(|r| Ok(handle.output(Ok(r))?)) {
                Ok(_) => return Ok(download.count()),
                Err(e) => {
                    if download.moved_on() {
                        retry.moved_on();
                    }
                    self.reconnect(e, &mut retry)?;
                }
            }
        }
    }

    /// How this connection tries to make itself again ([`ConnectOptions::reconnect`]).
    fn retry(&self) -> Retry {
        Retry::new(self.opts.as_ref().and_then(|o| o.reconnect))
    }

    /// Makes the connection again after `err` ended it, as `retry` says; gives up with
    /// `err`.
    fn reconnect(&mut self, err: Error, retry: &mut Retry) -> Result<()> {
        let Some(opts) = self.opts.clone() else {
            return Err(err);
        };
        let mut failure = err.kind();
        while let Some(wait) = retry.next(failure) {
            let tries = retry.tries();
            tracing::warn!(tries, ?wait, error = %err, "connection lost: connecting again");
            std::thread::sleep(wait);
            let tried = Pump::dial(&opts.reconnection(self.core.client_guid())).and_then(|pump| {
                let (reconnects, op_timeout) = (self.reconnects + 1, self.op_timeout);
                let durable = self.core.durable_opens();
                let kept = std::mem::take(&mut self.kept);
                *self = Pump {
                    reconnects,
                    op_timeout,
                    ..pump
                };
                self.take_over(kept, durable)
            });
            match tried {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!(tries, error = %e, "connecting again failed");
                    failure = e.kind();
                }
            }
        }
        Err(err)
    }

    /// Takes over what the lost connection had: its added sessions log in again in
    /// order (keeping their slots), and its durable handles are reclaimed (a handle the
    /// server no longer keeps is left: operations on it fail with the server's error).
    fn take_over(&mut self, kept: Kept, durable: Vec<ops::DurableOpen>) -> Result<()> {
        let session = self.session;
        for (slot, creds) in &kept.sessions {
            let made = self.core.add_session();
            if made != *slot {
                let why = format!("session {slot:?} came back as {made:?}");
                return Err(smb_proto::Error::Invalid(why).into());
            }
            self.session = made;
            self.call(ops::Login::new(creds.clone()))?;
        }
        self.session = session;
        self.kept = kept;
        for open in durable {
            let lost = open.file_id;
            match self.call(ops::Reclaim::new(open)) {
                Ok((handle, _)) => self.kept.moved.reclaimed(lost, handle),
                Err(e) => tracing::warn!(error = %e, "a durable handle was not reclaimed"),
            }
        }
        Ok(())
    }

    /// `handle` on the current connection: itself, or what it became when it was
    /// reclaimed after a loss.
    fn current(&self, handle: ops::Handle) -> ops::Handle {
        self.kept.moved.current(handle)
    }

    /// Runs the operation `make` gives (for this pump as it is), again on a connection
    /// made again when the first is lost ([`ConnectOptions::reconnect`]): for work that
    /// may be done twice.
    fn call_again<O: Operation>(&mut self, make: impl Fn(&Pump) -> O) -> Result<O::Output> {
        let mut retry = self.retry();
        loop {
            match self.call(make(self)) {
                Err(e) => self.reconnect(e, &mut retry)?,
                done => return done,
            }
        }
    }

    /// Runs a streaming write fed from `input`, its progress (if it reports any) to
    /// `progress`; a lost connection is made again and the upload resumes where the
    /// server's acknowledgements end ([`Upload`]).
    pub fn store(
        &mut self,
        op: ops::WriteFile,
        input: &mut dyn Read,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64> {
        if self.channels.is_empty() {
            return self.store_on_one(op, input, progress);
        }
        // Striped over the channels when the input is worth it (more than two spans);
        // else on this connection, what was read first going first.
        let span = self.stripe_span();
        let mut head = vec![0; 2 * span];
        let n = read_up_to(input, &mut head)?;
        head.truncate(n);
        if n < 2 * span {
            return self.store_on_one(op, &mut io::Cursor::new(head).chain(input), progress);
        }
        self.store_striped(&op, head, input, progress)
    }

    /// [`Pump::store`] on this connection alone.
    fn store_on_one(
        &mut self,
        op: ops::WriteFile,
        input: &mut dyn Read,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64> {
        let (mut upload, mut retry) = (Upload::new(op), self.retry());
        loop {
            let handle = self.start(upload.run());
            let r = self.pump(handle.id(), |core, ev| {
                match *ev {
                    Event::WantData { id, file, max_len } => {
                        let data = match upload.kept() {
                            Some(kept) => kept,
                            None => {
                                let mut buf = upload.buffer(max_len);
                                let n = read_up_to(input, &mut buf)?;
                                upload.read(buf, n, max_len)
                            }
                        };
                        core.supply(id, file, data, Instant::now());
                    }
                    Event::Progress { done, total, .. } => progress(upload.acked(done), total),
                    _ => {}
                }
                Ok(())
            });
            match r.and_then(|r| Ok(handle.output(Ok(r))?)) {
                Ok(written) => return Ok(upload.written(written)),
                Err(e) => {
                    if upload.moved_on() {
                        retry.moved_on();
                    }
                    self.reconnect(e, &mut retry)?;
                }
            }
        }
    }

    /// Uploads `files` after creating `dirs`, many files in flight; after a lost
    /// connection, makes it again and uploads the files not yet whole ([`ManyFiles`]).
    fn store_many(
        &mut self,
        share: &str,
        dirs: Vec<String>,
        files: &[(PathBuf, String)],
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<u64> {
        self.many_again(
            files,
            |f| f.1.as_str(),
            |f| &f.0,
            |pump, run| pump.store_many_once(share, dirs.clone(), run, progress),
        )
    }

    /// Runs `once` on `files`; after a lost connection, makes it again and runs it on the
    /// files not yet whole ([`ManyFiles`]), each named by its `remote` path and sized by
    /// its `local` file.
    fn many_again<F: Clone>(
        &mut self,
        files: &[F],
        remote: fn(&F) -> &str,
        local: fn(&F) -> &PathBuf,
        mut once: impl FnMut(&mut Pump, &[F]) -> Result<u64>,
    ) -> Result<u64> {
        let (mut many, mut retry) = (ManyFiles::new(files.len()), self.retry());
        let mut run = files.to_vec();
        loop {
            let err = match once(self, &run) {
                Ok(n) => return Ok(many.finished(n)),
                Err(e) => e,
            };
            let size = |name: &str| local_size(run.iter().find(|f| remote(f) == name).map(local));
            let loss = many.lost(err, &mut retry, size)?;
            self.reconnect(loss, &mut retry)
                .map_err(|e| many.gave_up(e))?;
            run = many.remaining(files, remote);
        }
    }

    /// One run of [`Pump::store_many`].
    fn store_many_once(
        &mut self,
        share: &str,
        dirs: Vec<String>,
        files: &[(PathBuf, String)],
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<u64> {
        // Sizes for the progress total only: a file that cannot be read fails when it is
        // opened, with its path.
        let bytes_total = files
            .iter()
            .filter_map(|(local, _)| std::fs::metadata(local).ok())
            .map(|m| m.len())
            .sum();
        let mut tally = TreeTally::new(files.len(), bytes_total, progress);
        let names: Vec<String> = files.iter().map(|(_, r)| r.clone()).collect();
        let op = ops::StoreFiles::new(share, names.clone()).directories(dirs);
        let handle = self.start(op);
        let mut results = TransferResults::new(names);
        // Each source open, with the bytes of it thought to be left.
        let mut sources: HashMap<usize, (std::fs::File, u64)> = HashMap::new();
        let mut failed = None;
        let mut pool = UploadBuffers::default();
        let outcome = self.pump(handle.id(), |core, ev| match *ev {
            Event::WantData { id, file, max_len } => {
                let local = &files[file].0;
                let mut read = |sources: &mut HashMap<usize, (std::fs::File, u64)>| {
                    let (src, left) = match sources.entry(file) {
                        Entry::Occupied(o) => o.into_mut(),
                        Entry::Vacant(v) => {
                            let f = std::fs::File::open(local)?;
                            let len = f.metadata()?.len();
                            v.insert((f, len))
                        }
                    };
                    let want = chunk_for(max_len, *left);
                    let mut buf = pool.take(want);
                    let mut len = read_up_to(src, &mut buf)?;
                    if len == want && want < max_len {
                        // The file grew since its size was taken: a full chunk.
                        buf.resize(max_len, 0);
                        len += read_up_to(src, &mut buf[len..])?;
                    }
                    *left = left.saturating_sub(len as u64);
                    io::Result::Ok((buf, len))
                };
                let (buf, len) = read(&mut sources)
                    .map_err(|e| with_path(e, local))
                    .inspect_err(|_| failed = Some(file))?;
                if len < max_len {
                    sources.remove(&file);
                }
                let data = pool.give(buf, len);
                core.supply(id, file, data, Instant::now());
                tally.moved(len);
                Ok(())
            }
            Event::FileDone {
                file, ref result, ..
            } => {
                sources.remove(&file);
                results.file_done(file, result.clone());
                tally.finished(&files[file].1, result);
                Ok(())
            }
            _ => Ok(()),
        });
        finish_transfer(results, outcome, failed, handle)
    }

    pub fn store_files(
        &mut self,
        share: &str,
        files: &[(PathBuf, String)],
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<u64> {
        self.store_spread(share, Vec::new(), files, progress)
    }

    /// [`Pump::store_many`], the files spread over extra connections when the options
    /// allow ([`ConnectOptions::connections`]), the directories made first on this one.
    fn store_spread(
        &mut self,
        share: &str,
        dirs: Vec<String>,
        files: &[(PathBuf, String)],
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<u64> {
        let mut extras = Vec::new();
        self.make_extras(&mut extras, files.len());
        if extras.is_empty() {
            return self.store_many(share, dirs, files, progress);
        }
        if !dirs.is_empty() {
            self.store_many(share, dirs, &[], &mut |_| {})?;
        }
        // Sizes to share the work by: a file that cannot be read fails when it is opened.
        let sizes: Vec<u64> = files
            .iter()
            .map(|(local, _)| std::fs::metadata(local).map_or(0, |m| m.len()))
            .collect();
        let name = |f: &(PathBuf, String)| f.1.clone();
        self.spread_files(
            &mut extras,
            files,
            &sizes,
            name,
            progress,
            |pump, part, _, p| pump.store_many(share, Vec::new(), part, p),
        )
    }

    /// Downloads each file to a temporary beside its target ([`part_paths`](smb_proto::client::part_paths)), renamed
    /// over the target once the file is whole and removed when it fails; after a lost
    /// connection, makes it again and downloads the files not yet whole ([`ManyFiles`]).
    pub fn retrieve_files(
        &mut self,
        share: &str,
        files: &[(String, PathBuf)],
        sizes: &[u64],
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<u64> {
        let mut extras = Vec::new();
        self.make_extras(&mut extras, files.len());
        self.retrieve_spread(share, files, sizes, &mut extras, progress)
    }

    /// [`Pump::retrieve_many`], spread over `extras` ([`Pump::spread_files`]).
    fn retrieve_spread(
        &mut self,
        share: &str,
        files: &[(String, PathBuf)],
        sizes: &[u64],
        extras: &mut [Pump],
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<u64> {
        let name = |f: &(String, PathBuf)| f.0.clone();
        self.spread_files(
            extras,
            files,
            sizes,
            name,
            progress,
            |pump, part, bytes, p| pump.retrieve_many(share, part, bytes, p),
        )
    }

    /// Downloads `files` on this connection; see [`Pump::retrieve_files_once`].
    fn retrieve_many(
        &mut self,
        share: &str,
        files: &[(String, PathBuf)],
        bytes_total: u64,
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<u64> {
        self.many_again(
            files,
            |f| f.0.as_str(),
            |f| &f.1,
            |pump, run| pump.retrieve_files_once(share, run, bytes_total, progress),
        )
    }

    /// One run of [`Pump::retrieve_files`].
    fn retrieve_files_once(
        &mut self,
        share: &str,
        files: &[(String, PathBuf)],
        bytes_total: u64,
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<u64> {
        let mut tally = TreeTally::new(files.len(), bytes_total, progress);
        let parts = part_paths(files);
        let names: Vec<String> = files.iter().map(|(r, _)| r.clone()).collect();
        let handle = self.start(ops::RetrieveFiles::new(share, names.clone()));
        let mut results = TransferResults::new(names);
        // Created at a file's first data (or its end, for an empty one), closed at its end.
        let mut sinks: HashMap<usize, std::fs::File> = HashMap::new();
        let mut failed = None;
        let outcome = self.pump(handle.id(), |_, ev| {
            let (file, data) = match *ev {
                Event::Data { file, ref data, .. } => (file, Some(&data[..])),
                Event::FileDone {
                    file, ref result, ..
                } => (file, result.is_ok().then_some(&[][..])),
                _ => return Ok(()),
            };
            let local = &files[file].1;
            // Local failures name the target, the file the caller asked for.
            let fail = |e: io::Error, failed: &mut Option<usize>| {
                *failed = Some(file);
                with_path(e, local)
            };
            if let Some(data) = data {
                let sink = match sinks.entry(file) {
                    Entry::Occupied(o) => o.into_mut(),
                    Entry::Vacant(v) => v.insert(
                        std::fs::File::create(parts[file].as_ref().unwrap_or(local))
                            .map_err(|e| fail(e, &mut failed))?,
                    ),
                };
                sink.write_all(data).map_err(|e| fail(e, &mut failed))?;
                tally.moved(data.len());
            }
            if let Event::FileDone { ref result, .. } = *ev {
                let closed = sinks.remove(&file);
                if let Some(part) = &parts[file] {
                    if result.is_ok() {
                        // Closed first: the rename is the moment the file is whole.
                        drop(closed);
                        std::fs::rename(part, local).map_err(|e| fail(e, &mut failed))?;
                    } else if closed.is_some() {
                        let _ = std::fs::remove_file(part);
                    }
                }
                results.file_done(file, result.clone());
                tally.finished(&files[file].0, result);
            }
            Ok(())
        });
        // Files cut short by a failure or a cancel, and the one whose local side failed
        // (its temporary may be closed already: a rename that failed): nothing of them
        // stays.
        let cut_short = sinks.drain().map(|(file, _)| file).chain(failed);
        for file in cut_short.collect::<Vec<_>>() {
            if let Some(part) = &parts[file] {
                let _ = std::fs::remove_file(part);
            }
        }
        finish_transfer(results, outcome, failed, handle)
    }

    pub fn store_tree(
        &mut self,
        local_dir: &Path,
        share: &str,
        remote_dir: &str,
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<(u64, u64)> {
        let tree = LocalTree::walk(local_dir, remote_dir)?;
        let bytes = self.store_spread(share, tree.dirs, &tree.files, progress)?;
        Ok((tree.files.len() as u64, bytes))
    }

    pub fn retrieve_tree(
        &mut self,
        share: &str,
        remote_dir: &str,
        local_dir: &Path,
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<(u64, u64)> {
        std::fs::create_dir_all(local_dir).map_err(|e| with_path(e, local_dir))?;
        let (mut files, mut sizes, mut extras) = (Vec::new(), Vec::new(), Vec::new());
        for entry in self.list_tree_on(share, remote_dir, &mut extras)? {
            let local = local_path(local_dir, &entry.path);
            if entry.info.is_directory() {
                std::fs::create_dir_all(&local).map_err(|e| with_path(e, &local))?;
            } else {
                sizes.push(entry.info.size);
                files.push((ops::path::join(remote_dir, &entry.path), local));
            }
        }
        self.make_extras(&mut extras, files.len());
        let bytes = self.retrieve_spread(share, &files, &sizes, &mut extras, progress)?;
        Ok((files.len() as u64, bytes))
    }
}

/// A many-file transfer's result from its operation's `outcome` and the file whose local
/// side `failed`, if one did.
fn finish_transfer(
    mut results: TransferResults,
    outcome: Result<OpOutput>,
    failed: Option<usize>,
    handle: OpHandle<Vec<std::result::Result<u64, smb_proto::Error>>>,
) -> Result<u64> {
    let outcome = match (outcome, failed) {
        (Err(Error::Io(e)), Some(file)) => {
            results.local_failure(file, e);
            Err(smb_proto::Error::Cancelled.into())
        }
        (outcome, _) => outcome.and_then(|o| Ok(handle.output(Ok(o))?)),
    };
    results.finish(outcome)
}

impl Connection {
    smb_proto::client_calls!(
        "fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()>",
        ""
    );

    /// Connects, negotiates and logs in (anonymously when `opts.user` is empty).
    ///
    /// ```no_run
    /// use smb_blocking::{ConnectOptions, Connection};
    /// let conn = Connection::connect(&ConnectOptions::new("fileserver:445").user("alice", "secret"))?;
    /// println!("{}", conn.negotiated().dialect);
    /// # Ok::<(), smb_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when the server cannot be reached (naming `host:port` and the
    /// errno), [`ErrorKind::AuthenticationFailed`] for a refused login (or one the server
    /// made a guest), [`ErrorKind::TimedOut`] when the server never answers.
    pub fn connect(opts: &ConnectOptions) -> Result<Self> {
        let conn = Connection::wrap(Pump::dial(opts)?)?;
        if opts.multichannel > 0 && opts.record.is_none() {
            if let Err(e) = conn.add_channels() {
                tracing::warn!(error = %e, "no channels: the session stays on one connection");
            }
        }
        Ok(conn)
    }

    /// Logs in over `sock` with `login` and makes the connection.
    fn start(sock: replay::Socket, core: smb_proto::Connection, login: ops::Login) -> Result<Self> {
        let mut pump = Pump::new(sock, core);
        pump.call(login)?;
        Connection::wrap(pump)
    }

    /// The connection of a logged-in `pump`.
    fn wrap(pump: Pump) -> Result<Self> {
        let status = pump.status()?;
        Ok(Connection {
            is_encrypting: status.is_encrypting,
            pump: Arc::new(Mutex::new(pump)),
            status: Arc::new(status.status),
            session: SessionSlot::DEFAULT,
            timeout: None,
        })
    }

    /// How many times the connection was made again after it was lost
    /// ([`ConnectOptions::reconnect`]); each try also logs a `tracing` warning.
    pub fn reconnects(&self) -> u64 {
        self.lock().reconnects
    }

    /// Negotiated parameters, as they stand now (`validated` turns true once the first
    /// tree connect has checked them).
    pub fn negotiated(&self) -> smb_proto::Negotiated {
        let pump = self.lock();
        pump.core
            .negotiated()
            .cloned()
            .unwrap_or_else(|| self.status.negotiated.clone())
    }

    /// Whether the server made this a guest session.
    pub fn is_guest(&self) -> bool {
        self.status.is_guest
    }

    /// Whether requests are being signed.
    pub fn is_signing(&self) -> bool {
        self.status.is_signing
    }

    /// Whether the session logged in with Kerberos (else NTLM, or anonymously): after
    /// a fallback ([`KerberosOptions`]) it is NTLM's.
    pub fn is_kerberos(&self) -> bool {
        self.status.is_kerberos
    }

    /// Whether the session encrypts every request.
    pub fn is_encrypting(&self) -> bool {
        self.is_encrypting
    }

    /// Sets several extended attributes at once, in one SET_INFO; an empty value
    /// removes its EA.
    ///
    /// # Errors
    ///
    /// As for [`Connection::set_ea`].
    pub fn set_eas(&self, share: &str, path: &str, eas: &[(&str, &[u8])]) -> Result<()> {
        self.call(ops::SetEas::new(share, path, eas))
    }

    /// Writes the whole file into `out`; returns the byte count (pysmb's `retrieveFile`).
    ///
    /// ```no_run
    /// # fn demo(conn: &mut smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// let mut out = std::fs::File::create("q3.pdf")?;
    /// conn.retrieve_file("share", "reports/q3.pdf", &mut out)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The server's error, a failure writing `out` ([`Error::Io`]), or
    /// [`ErrorKind::Incomplete`] when the file changed during the download.
    pub fn retrieve_file(&self, share: &str, path: &str, out: &mut dyn Write) -> Result<u64> {
        self.retrieve_file_from_offset(share, path, out, 0, None)
    }

    /// Opens a file as a std `Read`/`Write`/`Seek` handle.
    ///
    /// ```no_run
    /// use std::io::{Read, Seek, SeekFrom};
    /// # fn demo(conn: &mut smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// let mut f = conn.open("share", "log.txt", smb_blocking::OpenOptions::read())?;
    /// f.seek(SeekFrom::End(-100))?;
    /// let mut tail = String::new();
    /// f.read_to_string(&mut tail)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The CREATE's error.
    pub fn open(&self, share: &str, path: &str, options: OpenOptions) -> Result<File> {
        let (handle, info) = self.call(ops::Open::new(share, path, options))?;
        Ok(File::new(self.clone(), path, handle, info))
    }

    /// Opens a file asking for caching `want` (lease state bits,
    /// [`LeaseState::R`] | [`LeaseState::W`] | [`LeaseState::H`]): a lease on SMB 2.1 and
    /// later, an oplock on 2.0.2 ([`smb_proto::ops::lease`]). The connection acknowledges
    /// the server's breaks itself; [`File::lease_state`] says what the file holds now.
    /// While it holds read caching, repeated reads of ranges already read and
    /// [`File::stat`] are answered from a cache the file keeps (at most
    /// [`READ_CACHE_LIMIT`] bytes), emptied by any break.
    ///
    /// A blocking connection reads from the server only while a call runs: a program
    /// that keeps a leased file open on an otherwise idle connection calls
    /// [`Connection::poll_breaks`] now and then, or another client's open of the file
    /// waits for the server's break timeout (35 s on Samba) instead of the acknowledgment.
    ///
    /// ```no_run
    /// use std::io::Read;
    /// use smb_blocking::{LeaseState, OpenOptions};
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// let mut f = conn.open_leased("share", "config.ini", OpenOptions::read(), LeaseState::R | LeaseState::H)?;
    /// println!("granted {}", f.lease_state()?);
    /// let mut text = String::new();
    /// f.read_to_string(&mut text)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The CREATE's error.
    pub fn open_leased(
        &self,
        share: &str,
        path: &str,
        options: OpenOptions,
        want: u32,
    ) -> Result<File> {
        let (handle, info) = self.call(ops::Open::leased(share, path, options, want))?;
        Ok(File::new(self.clone(), path, handle, info).leased())
    }

    /// The durable opens held ([`smb_proto::Connection::durable_opens`]): a file opened
    /// with [`Connection::open_leased`] asking for handle caching is durable on SMB 3.x,
    /// and [`ops::Reclaim`] takes it back on a new connection after this one is lost.
    pub fn durable_opens(&self) -> Vec<ops::DurableOpen> {
        self.lock().core.durable_opens()
    }

    /// The ClientGuid negotiated, which a connection reclaiming this one's durable opens
    /// presents again ([`ConnectOptions::client_guid`]).
    pub fn client_guid(&self) -> [u8; 16] {
        self.lock().core.client_guid()
    }

    /// Reads what the server sends for up to `wait` while no call runs, acknowledging
    /// the breaks of leases and oplocks this connection's files hold (see
    /// [`Connection::open_leased`]).
    ///
    /// ```no_run
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// loop {
    ///     conn.poll_breaks(std::time::Duration::from_secs(1))?;
    ///     // ... work with the leased files ...
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The connection's error when it ended.
    pub fn poll_breaks(&self, wait: Duration) -> Result<()> {
        let mut pump = self.lock();
        pump.read_ready()?;
        pump.next_event(NO_OP, Some(Instant::now() + wait))?;
        match pump.core.close_reason() {
            Some(reason) => Err(smb_proto::Error::Closed(reason.clone()).into()),
            None => Ok(()),
        }
    }

    /// The caching state the core holds for `handle`, after handling what the server
    /// sent already.
    pub(crate) fn lease_status(&self, handle: smb_proto::Handle) -> Result<LeaseState> {
        let mut pump = self.lock();
        pump.read_ready()?;
        let handle = pump.current(handle);
        pump.call(ops::LeaseStatus(handle))
    }

    /// Logs off and closes the socket.
    ///
    /// # Errors
    ///
    /// The LOGOFF's error; the socket is closed regardless.
    pub fn close(self) -> Result<()> {
        let mut pump = self.lock();
        let r = pump.call(ops::Logoff);
        pump.sock.shutdown();
        r
    }

    /// Runs any operation (one of [`smb_proto::ops`], or a caller's own) to completion;
    /// its streaming events, if any, are not handled (the methods that stream do that).
    ///
    /// ```no_run
    /// # fn demo(conn: &mut smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// let info = conn.call(smb_proto::ops::Stat::new("share", "dir/report.pdf"))?;
    /// println!("{} bytes", info.size);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The operation's error, or the connection's when it ended.
    pub fn call<O: Operation>(&self, op: O) -> Result<O::Output> {
        self.lock().call(op)
    }

    /// Runs the operation `make` gives, again on a connection made again when the first
    /// is lost ([`ConnectOptions::reconnect`]): for work that may be done twice (a stat,
    /// a listing), which then never sees the loss.
    fn call_again<O: Operation>(&self, make: impl Fn() -> O) -> Result<O::Output> {
        self.lock().call_again(|_| make())
    }

    /// Runs the operation `make` gives for `handle` as it is now on the connection (a
    /// durable handle reclaimed after a loss has a new file id); when `again`, once more
    /// on a connection made again should the first be lost.
    pub(crate) fn call_on<O: Operation>(
        &self,
        handle: ops::Handle,
        again: bool,
        make: impl Fn(ops::Handle) -> O,
    ) -> Result<O::Output> {
        let mut pump = self.lock();
        match again {
            true => pump.call_again(|p| make(p.current(handle))),
            false => {
                let op = make(pump.current(handle));
                pump.call(op)
            }
        }
    }

    /// Logs `credentials` in as another session on this connection, with its own user,
    /// keys and trees → a handle whose operations run in that session (clones share it).
    /// Both handles go on working; the socket is shared.
    ///
    /// ```no_run
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// use smb_blocking::Credentials;
    /// let bob = conn.add_session(Credentials::password("", "bob", "secret"))?;
    /// let entries = bob.list_path("bobs-share", "", "*")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The login's error ([`ErrorKind::AuthenticationFailed`] for a refused one).
    pub fn add_session(&self, credentials: Credentials) -> Result<Connection> {
        let mut pump = self.lock();
        let slot = pump.core.add_session();
        pump.session = slot;
        pump.call(ops::Login::new(credentials.clone()))?;
        pump.kept.sessions.push((slot, credentials));
        let status = pump.status()?;
        Ok(Connection {
            pump: self.pump.clone(),
            is_encrypting: status.is_encrypting,
            status: Arc::new(status.status),
            session: slot,
            timeout: self.timeout,
        })
    }

    /// The session this handle's operations run in.
    pub fn session(&self) -> SessionSlot {
        self.session
    }

    /// A handle to the same connection whose operations each fail with
    /// [`smb_proto::Error::Timeout`] (and are cancelled on the wire) when not done within
    /// `timeout` — pysmb's `timeout` argument. A whole transfer or listing counts as one
    /// operation; the connection's per-request timeout still applies inside it.
    ///
    /// ```no_run
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// let quick = conn.with_timeout(std::time::Duration::from_secs(5));
    /// let entries = quick.list_path("share", "", "*")?;
    /// # Ok(()) }
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> Connection {
        Connection {
            timeout: Some(timeout),
            ..self.clone()
        }
    }

    /// Writes up to `max_length` bytes from `offset` into `out`; returns the byte count.
    ///
    /// # Errors
    ///
    /// As for [`Connection::retrieve_file`].
    pub fn retrieve_file_from_offset(
        &self,
        share: &str,
        path: &str,
        out: &mut dyn Write,
        offset: u64,
        max_length: Option<u64>,
    ) -> Result<u64> {
        let op = ops::ReadFile::new(share, path, offset, max_length);
        self.lock().retrieve(op, out, &mut |_, _| {})
    }

    /// [`Connection::retrieve_file_from_offset`] calling `progress(done, total)` after each
    /// READ delivered (pysmb's `show_progress`).
    ///
    /// # Errors
    ///
    /// As for [`Connection::retrieve_file`].
    pub fn retrieve_file_from_offset_with_progress(
        &self,
        share: &str,
        path: &str,
        out: &mut dyn Write,
        offset: u64,
        max_length: Option<u64>,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64> {
        let op = ops::ReadFile::new(share, path, offset, max_length).with_progress();
        self.lock().retrieve(op, out, progress)
    }

    /// [`Connection::retrieve_file`] calling `progress(done, total)` after each READ
    /// delivered, with the size at open as the total (pysmb's `show_progress`).
    ///
    /// ```no_run
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// let mut out = Vec::new();
    /// conn.retrieve_file_with_progress("share", "big.iso", &mut out, &mut |done, total| {
    ///     eprint!("\r{done} of {} bytes", total.unwrap_or(0));
    /// })?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Connection::retrieve_file`].
    pub fn retrieve_file_with_progress(
        &self,
        share: &str,
        path: &str,
        out: &mut dyn Write,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64> {
        let op = ops::ReadFile::new(share, path, 0, None).with_progress();
        self.lock().retrieve(op, out, progress)
    }

    /// Writes the whole file as it was in the snapshot taken at `snapshot` (one of
    /// [`Connection::list_snapshots`]' times) into `out`; returns the byte count.
    ///
    /// ```no_run
    /// # fn demo(conn: &mut smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// let oldest = conn.list_snapshots("share", "reports/q3.pdf")?.into_iter().min();
    /// if let Some(at) = oldest {
    ///     let mut out = std::fs::File::create("q3-first.pdf")?;
    ///     conn.retrieve_file_at("share", "reports/q3.pdf", at, &mut out)?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Connection::retrieve_file`]; [`ErrorKind::NotFound`] when the snapshot
    /// holds no such file, or there is no snapshot at that time.
    pub fn retrieve_file_at(
        &self,
        share: &str,
        path: &str,
        snapshot: FileTime,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let op = ops::ReadFile::new(share, path, 0, None).at_snapshot(snapshot);
        self.lock().retrieve(op, out, &mut |_, _| {})
    }

    /// Creates or replaces `path` with everything `input` yields; returns the byte count
    /// (pysmb's `storeFile`).
    ///
    /// # Errors
    ///
    /// The server's error, a failure reading `input` ([`Error::Io`]);
    /// [`smb_proto::Error::UploadLeftBehind`] when the file was created or truncated
    /// before the failure.
    pub fn store_file(&self, share: &str, path: &str, input: &mut dyn Read) -> Result<u64> {
        let op = ops::WriteFile::new(share, path);
        self.lock().store(op, input, &mut |_, _| {})
    }

    /// [`Connection::store_file`] calling `progress(done, None)` after each WRITE the
    /// server acknowledged (pysmb's `show_progress`).
    ///
    /// # Errors
    ///
    /// As for [`Connection::store_file`].
    pub fn store_file_with_progress(
        &self,
        share: &str,
        path: &str,
        input: &mut dyn Read,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64> {
        let op = ops::WriteFile::new(share, path).with_progress();
        self.lock().store(op, input, progress)
    }

    /// Writes everything `input` yields into `path` from `offset` (the file is created
    /// if missing, and first emptied when `truncate`); returns the offset after the last
    /// byte written (pysmb's `storeFileFromOffset`).
    ///
    /// ```no_run
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// conn.store_file("share", "digits.txt", &mut &b"0123456789"[..])?;
    /// let end = conn.store_file_from_offset("share", "digits.txt", &mut &b"aa"[..], 5, false)?;
    /// assert_eq!(end, 7); // the file now reads 01234aa789
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Connection::store_file`].
    pub fn store_file_from_offset(
        &self,
        share: &str,
        path: &str,
        input: &mut dyn Read,
        offset: u64,
        truncate: bool,
    ) -> Result<u64> {
        self.store_file_from_offset_with_progress(
            share,
            path,
            input,
            offset,
            truncate,
            &mut |_, _| {},
        )
    }

    /// [`Connection::store_file_from_offset`] calling `progress(done, None)` after each
    /// WRITE the server acknowledged (pysmb's `show_progress`).
    ///
    /// # Errors
    ///
    /// As for [`Connection::store_file`].
    pub fn store_file_from_offset_with_progress(
        &self,
        share: &str,
        path: &str,
        input: &mut dyn Read,
        offset: u64,
        truncate: bool,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64> {
        let op = ops::WriteFile::new(share, path)
            .from_offset(offset, truncate)
            .with_progress();
        Ok(offset + self.lock().store(op, input, progress)?)
    }

    /// Uploads each local file to its remote path (share-relative), keeping up to
    /// [`FILES_IN_FLIGHT`] files in flight on this connection. Returns the bytes sent; the
    /// first failure (naming its path) is returned after the others finish.
    pub fn store_files(&self, share: &str, files: &[(PathBuf, String)]) -> Result<u64> {
        self.lock().store_files(share, files, &mut |_| {})
    }

    /// Downloads each remote file (share-relative) to its local path, keeping up to
    /// [`FILES_IN_FLIGHT`] files in flight. Returns the bytes received.
    ///
    /// Each file is written to `LOCAL.part` and renamed to its local path once whole
    /// (a device or a pipe is written in place), so a file that failed leaves nothing
    /// under its name, and an existing file is replaced only by a complete one.
    pub fn retrieve_files(&self, share: &str, files: &[(String, PathBuf)]) -> Result<u64> {
        self.lock()
            .retrieve_files(share, files, &vec![0; files.len()], &mut |_| {})
    }

    /// [`Connection::list_tree`]'s work.
    pub(crate) fn spread_list_tree(&self, share: &str, dir: &str) -> Result<Vec<ops::TreeEntry>> {
        self.lock().list_tree_on(share, dir, &mut Vec::new())
    }

    /// Uploads the directory tree under `local_dir` into `remote_dir` (created with any
    /// missing parents), many files in flight at once. Returns (files, bytes).
    ///
    /// Symbolic links are followed, like `cp -rL`: a link to a file uploads the file's
    /// bytes, a link to a directory its tree. The whole local tree is walked before
    /// anything is sent, so a link loop, a dangling link or an unreadable directory fails
    /// the upload before it starts rather than halfway.
    pub fn store_tree(
        &self,
        local_dir: &Path,
        share: &str,
        remote_dir: &str,
    ) -> Result<(u64, u64)> {
        self.lock()
            .store_tree(local_dir, share, remote_dir, &mut |_| {})
    }

    /// [`Connection::store_tree`] calling `progress` as data goes out and as each file
    /// finishes (bytes are counted as they are handed to the connection).
    ///
    /// ```no_run
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// conn.store_tree_with_progress("photos".as_ref(), "share", "backup", &mut |p| {
    ///     eprint!("\r{}/{} files, {}/{} bytes", p.files_done, p.files_total, p.bytes_done, p.bytes_total);
    /// })?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Connection::store_tree`].
    pub fn store_tree_with_progress(
        &self,
        local_dir: &Path,
        share: &str,
        remote_dir: &str,
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<(u64, u64)> {
        self.lock()
            .store_tree(local_dir, share, remote_dir, progress)
    }

    /// Downloads the tree under `remote_dir` into `local_dir` (created if needed), many
    /// files in flight at once. Returns (files, bytes). Files are written as
    /// [`Connection::retrieve_files`] writes them: whole, or not at all.
    pub fn retrieve_tree(
        &self,
        share: &str,
        remote_dir: &str,
        local_dir: &Path,
    ) -> Result<(u64, u64)> {
        self.lock()
            .retrieve_tree(share, remote_dir, local_dir, &mut |_| {})
    }

    /// [`Connection::retrieve_tree`] calling `progress` as data arrives and as each file
    /// finishes; the byte total is the files' sizes in the listing.
    ///
    /// # Errors
    ///
    /// As for [`Connection::retrieve_tree`].
    pub fn retrieve_tree_with_progress(
        &self,
        share: &str,
        remote_dir: &str,
        local_dir: &Path,
        progress: &mut TreeProgressFn<'_>,
    ) -> Result<(u64, u64)> {
        self.lock()
            .retrieve_tree(share, remote_dir, local_dir, progress)
    }

    /// The pump, for one operation's run in this handle's session; a panic that
    /// poisoned the lock left the connection in a state the next operation finds out
    /// about.
    fn lock(&self) -> std::sync::MutexGuard<'_, Pump> {
        let mut pump = self
            .pump
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pump.session = self.session;
        pump.op_timeout = self.timeout;
        pump
    }
}

/// Writes `buf` with each `(offset, payload)` inserted after `buf[..offset]`, as few
/// vectored writes as the socket allows.
fn write_all_parts(
    sock: &mut impl Write,
    buf: &[u8],
    payloads: &[(usize, Bytes)],
) -> io::Result<()> {
    let mut slices = Vec::with_capacity(2 * payloads.len() + 1);
    let mut at = 0;
    for (offset, payload) in payloads {
        slices.push(io::IoSlice::new(&buf[at..*offset]));
        slices.push(io::IoSlice::new(payload));
        at = *offset;
    }
    slices.push(io::IoSlice::new(&buf[at..]));
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match sock.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Fills `buf` from `input` up to its end or the input's → the bytes read (fewer than
/// asked: the input ended).
fn read_up_to(input: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
