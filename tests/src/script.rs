//! The replay script: a session that touches most of the protocol (mkdir, a multi-READ
//! put and get, stat, list, rename, a failing stat, delete, rmdir, echo, logoff), and a
//! runner that plays it on the bare sans-IO core over a [`Replay`].
//!
//! [`recording`](crate::recording) records the script against Samba with each driver;
//! `smb-proto/tests/replay.rs` includes this file (through `#[path]`, beside
//! [`fixtures`](crate::fixtures)) to replay the committed recordings with no driver at
//! all, so it uses only `smb_proto`'s public API, `bytes`, `sha2` and std. The drivers
//! and the bare core make the same calls in the same order and so send the same bytes:
//! a recording made by any of them replays on all of them.

use bytes::{Bytes, BytesMut};
use smb_proto::ops::{self, BoxedOp, OpOutput};
use smb_proto::replay::{Incoming, Replay};
use smb_proto::{Connection, Error, Event, FileInfo, NtStatus, OpId};

use super::fixtures::{data, sha256};

/// The share the script works in.
pub const SHARE: &str = "share";
/// The directory it makes.
pub const DIR: &str = "replay";
/// The file it writes and reads.
pub const FILE: &str = "replay/data.bin";
/// That file's name in the listing.
pub const FILE_NAME: &str = "data.bin";
/// The name it renames the file to.
pub const RENAMED: &str = "replay/renamed.bin";

/// The file the script writes, `len` bytes.
pub fn content(len: usize) -> Vec<u8> {
    data(len, 0x5eed)
}

/// One call of the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Create [`DIR`].
    Mkdir,
    /// Write [`FILE`] from [`content`].
    Put,
    /// Stat it.
    Stat,
    /// List [`DIR`].
    List,
    /// Read the file back.
    Get,
    /// Rename it to [`RENAMED`].
    Rename,
    /// Stat the old name: STATUS_OBJECT_NAME_NOT_FOUND, an operation's error.
    StatMissing,
    /// Delete the renamed file.
    Delete,
    /// Remove [`DIR`].
    Rmdir,
    /// ECHO.
    Echo,
    /// LOGOFF (the drivers' `close`).
    Logoff,
}

/// The script, after the login every driver does when it connects.
pub const STEPS: [Step; 11] = [
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

impl Step {
    /// The operation each driver's method runs for this step.
    pub fn op(self) -> BoxedOp {
        match self {
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
}

/// Checks what a listing of [`DIR`] returned after the put of `len` bytes.
pub fn check_listing(entries: &[FileInfo], len: u64) -> Result<(), String> {
    match entries {
        [e] if e.name == FILE_NAME && e.size == len && !e.is_directory() => Ok(()),
        other => Err(format!("listing: {other:?}")),
    }
}

/// Checks a stat of [`FILE`] after the put of `len` bytes.
pub fn check_stat(info: &FileInfo, len: u64) -> Result<(), String> {
    if info.size == len && !info.is_directory() {
        Ok(())
    } else {
        Err(format!("stat: {info:?}"))
    }
}

/// Checks the failing stat's error.
pub fn check_missing(e: &Error) -> Result<(), String> {
    match e.status() {
        Some(NtStatus::OBJECT_NAME_NOT_FOUND) => Ok(()),
        _ => Err(format!("stat of the old name: {e}")),
    }
}

/// A minimal sans-IO driver over a [`Replay`]: the blocking driver's pump, with the
/// recording in place of the socket.
pub struct CoreReplay {
    /// The connection under replay.
    pub conn: Connection,
    replay: Replay,
    rx: BytesMut,
    /// Every connection end the core reported.
    pub closed: Vec<smb_proto::CloseReason>,
}

impl CoreReplay {
    /// A connection set up as the recording says, logged in as it was.
    pub fn login(replay: &Replay) -> Result<Self, Error> {
        CoreReplay::login_as(replay, &replay.setup().connect_options())
    }

    /// [`CoreReplay::login`], logging in as `opts` say: a recorded Kerberos login needs
    /// the password it used (the recorded KDC replies decrypt only with it).
    pub fn login_as(
        replay: &Replay,
        opts: &smb_proto::client::ConnectOptions,
    ) -> Result<Self, Error> {
        let mut r = CoreReplay {
            conn: replay.connection(replay.config(), std::time::Instant::now()),
            replay: replay.clone(),
            rx: BytesMut::new(),
            closed: Vec::new(),
        };
        let login = match &opts.kerberos {
            Some(_) => ops::Login::kerberos(
                opts.kerberos_login(None, |p| std::fs::read(p))
                    .map_err(Error::Kerberos)?,
            ),
            None => ops::Login::new(
                opts.credentials()
                    .map_err(|e| Error::Invalid(e.to_string()))?,
            ),
        };
        r.run(BoxedOp::new(login), &mut |_, _| {})?;
        Ok(r)
    }

    /// Runs `op` to its end, `on_event` seeing its streaming events.
    pub fn run(
        &mut self,
        op: BoxedOp,
        on_event: &mut dyn FnMut(&mut Connection, &Event),
    ) -> Result<OpOutput, Error> {
        let now = std::time::Instant::now;
        let id = self.conn.start_boxed(op, now());
        loop {
            let mut tx = Vec::new();
            if self.conn.poll_transmit(&mut tx) {
                if let Err(e) = self.replay.write(&tx) {
                    self.conn.handle_transport_closed(&e.to_string());
                }
                continue;
            }
            if let Some(result) = self.drain(id, on_event) {
                return result;
            }
            if self.conn.poll_transmit(&mut tx) {
                if let Err(e) = self.replay.write(&tx) {
                    self.conn.handle_transport_closed(&e.to_string());
                }
                continue;
            }
            let mut buf = vec![0u8; 256 * 1024];
            match self.replay.read(&mut buf) {
                Incoming::Data(n) => {
                    self.rx.extend_from_slice(&buf[..n]);
                    self.conn.handle_input(now(), &mut self.rx);
                }
                Incoming::Closed => self.conn.handle_transport_closed("server closed"),
                Incoming::Failed(e) => self.conn.handle_transport_closed(&e.to_string()),
                Incoming::Waiting | Incoming::Ended => {
                    let e = self.replay.stall();
                    self.conn.handle_transport_closed(&e.to_string());
                }
            }
        }
    }

    /// Drains the events: `Some` with the result once `id` is done.
    fn drain(
        &mut self,
        id: OpId,
        on_event: &mut dyn FnMut(&mut Connection, &Event),
    ) -> Option<Result<OpOutput, Error>> {
        let mut done = None;
        while let Some(ev) = self.conn.poll_event() {
            match ev {
                Event::Done { id: of, result } if of == id => done = Some(result),
                Event::Closed(reason) => self.closed.push(reason),
                // A Kerberos login's KDC attempt: the recording answers.
                Event::Kdc { id: login, request } => {
                    let (reply, wall) = self.replay.kdc(&request).unwrap_or_else(|e| {
                        let e = smb_proto::auth::kerberos::KdcIoError::Io(e.to_string());
                        (Err(e), std::time::SystemTime::now())
                    });
                    let now = std::time::Instant::now();
                    self.conn.kdc_reply(login, reply, wall, now);
                }
                ev => on_event(&mut self.conn, &ev),
            }
        }
        done
    }

    /// Runs `step`, putting `content` and collecting what it gets into `got`.
    pub fn step(
        &mut self,
        step: Step,
        content: &Bytes,
        got: &mut Vec<u8>,
    ) -> Result<OpOutput, Error> {
        let mut supplied = 0;
        self.run(step.op(), &mut |conn, ev| match ev {
            Event::WantData { id, file, max_len } => {
                let end = content.len().min(supplied + max_len);
                let chunk = content.slice(supplied..end);
                supplied = end;
                conn.supply(*id, *file, chunk, std::time::Instant::now());
            }
            Event::Data { data, .. } => got.extend_from_slice(data),
            _ => {}
        })
    }

    /// Plays [`STEPS`] with a file of `file_len` bytes and checks every result.
    pub fn play_script(&mut self, file_len: usize) -> Result<(), String> {
        let content = Bytes::from(content(file_len));
        let len = file_len as u64;
        for step in STEPS {
            let mut got = Vec::new();
            let r = self.step(step, &content, &mut got);
            let fail = |e: &dyn std::fmt::Display| format!("{step:?}: {e}");
            match (step, r) {
                (Step::StatMissing, Err(e)) => check_missing(&e).map_err(|e| fail(&e))?,
                (_, Err(e)) => return Err(fail(&e)),
                (Step::Stat, Ok(o)) => {
                    let info = o.downcast::<FileInfo>().map_err(|e| fail(&e))?;
                    check_stat(&info, len).map_err(|e| fail(&e))?
                }
                (Step::List, Ok(o)) => {
                    let entries = o.downcast::<Vec<FileInfo>>().map_err(|e| fail(&e))?;
                    check_listing(&entries, len).map_err(|e| fail(&e))?
                }
                (Step::Get, Ok(_)) if sha256(&got) != sha256(&content) => {
                    return Err(fail(&"the file read back differs"))
                }
                (Step::StatMissing, Ok(_)) => return Err(fail(&"succeeded")),
                (_, Ok(_)) => {}
            }
        }
        Ok(())
    }
}
