//! The background task: it owns the socket and the [`smb_proto::Connection`], and routes
//! each operation's events to the task that started it, by operation id. Handles talk to
//! it over a channel; nothing is locked while a request is on the wire.

use std::collections::{HashMap, VecDeque};
use std::io::IoSlice;
use std::sync::{Arc, OnceLock};

use bytes::{Buf, Bytes, BytesMut};
use smb_proto::{CloseReason, Event, FileInfo, Negotiated, Op, OpId, Output};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};

/// Room made in the receive buffer before each socket read.
const READ_CHUNK: usize = 256 * 1024;
/// Buffers handed to one vectored write.
const MAX_SLICES: usize = 64;

/// What woke the driver.
enum Wake {
    Command(Option<Cmd>),
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
    Timer,
}

/// What a handle asks of the driver.
pub(crate) enum Cmd {
    /// Start `op`; its events go to `events`. `ticket` names it in later commands.
    Start {
        ticket: u64,
        op: Op,
        events: mpsc::UnboundedSender<Ev>,
    },
    /// Bytes for a streaming write; for a streaming read, "one chunk consumed"; for a paged
    /// listing, "next page".
    Supply { ticket: u64, data: Bytes },
    /// Stop following an operation (SMB2 CANCEL for its requests on the wire).
    Cancel { ticket: u64 },
    /// What login settled.
    Status(oneshot::Sender<Option<Status>>),
    /// Send what is queued, then close the socket.
    Shutdown,
}

/// An operation's event, as the driver routes it.
pub(crate) enum Ev {
    Data(Bytes),
    WantData(usize),
    Entries(Vec<FileInfo>),
    Done(Result<Output, smb_proto::Error>),
}

/// Session facts that do not change after login.
#[derive(Debug, Clone)]
pub(crate) struct Status {
    pub(crate) negotiated: Negotiated,
    pub(crate) is_guest: bool,
    pub(crate) is_signing: bool,
}

/// Why the connection ended, set once it did; shared with every handle.
pub(crate) type Closed = Arc<OnceLock<CloseReason>>;

struct Route {
    ticket: u64,
    events: mpsc::UnboundedSender<Ev>,
}

pub(crate) struct Driver {
    core: smb_proto::Connection,
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    rx: BytesMut,
    /// What is still to be written, in order: the core's frames and, between them, large
    /// WRITE payloads sent from the caller's buffer without a copy.
    out: VecDeque<Bytes>,
    cmds: mpsc::UnboundedReceiver<Cmd>,
    routes: HashMap<OpId, Route>,
    tickets: HashMap<u64, OpId>,
    closed: Closed,
    shutting_down: bool,
}

impl Driver {
    pub(crate) fn new(
        sock: TcpStream,
        core: smb_proto::Connection,
        cmds: mpsc::UnboundedReceiver<Cmd>,
        closed: Closed,
    ) -> Self {
        let (reader, writer) = sock.into_split();
        Driver {
            core,
            reader,
            writer,
            rx: BytesMut::new(),
            out: VecDeque::new(),
            cmds,
            routes: HashMap::new(),
            tickets: HashMap::new(),
            closed,
            shutting_down: false,
        }
    }

    /// Runs until the connection ends or every handle is gone.
    pub(crate) async fn run(mut self) {
        self.settle();
        loop {
            let writing = !self.out.is_empty();
            if self.shutting_down && !writing {
                break;
            }
            let deadline = self.core.poll_timeout().map(Instant::from_std);
            self.rx.reserve(READ_CHUNK);
            // Every branch is cancel safe: a lost `write_vectored` or `read_buf` moved no bytes.
            let wake = {
                let slices: Vec<IoSlice<'_>> = self
                    .out
                    .iter()
                    .take(MAX_SLICES)
                    .map(|b| IoSlice::new(b))
                    .collect();
                tokio::select! {
                    cmd = self.cmds.recv(), if !self.shutting_down => Wake::Command(cmd),
                    r = self.reader.read_buf(&mut self.rx) => Wake::Read(r),
                    r = self.writer.write_vectored(&slices), if writing => Wake::Wrote(r),
                    () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => Wake::Timer,
                }
            };
            match wake {
                Wake::Command(Some(cmd)) => self.command(cmd),
                Wake::Command(None) => break,
                Wake::Read(Ok(0)) => self
                    .core
                    .handle_transport_closed("server closed the connection"),
                Wake::Read(Ok(_)) => self
                    .core
                    .handle_input(std::time::Instant::now(), &mut self.rx),
                Wake::Read(Err(e)) | Wake::Wrote(Err(e)) => {
                    self.core.handle_transport_closed(&e.to_string())
                }
                Wake::Wrote(Ok(0)) => self
                    .core
                    .handle_transport_closed("socket accepts no more bytes"),
                Wake::Wrote(Ok(n)) => self.consume(n),
                Wake::Timer => self.core.handle_timeout(std::time::Instant::now()),
            }
            self.settle();
            if self.core.close_reason().is_some() {
                break;
            }
        }
        self.core.close_local();
        self.settle();
        let reason = self
            .core
            .close_reason()
            .cloned()
            .unwrap_or(CloseReason::Local);
        let _ = self.closed.set(reason);
        let _ = self.writer.shutdown().await;
    }

    fn command(&mut self, cmd: Cmd) {
        let now = std::time::Instant::now();
        match cmd {
            Cmd::Start { ticket, op, events } => {
                let id = self.core.start(op, now);
                self.routes.insert(id, Route { ticket, events });
                self.tickets.insert(ticket, id);
            }
            Cmd::Supply { ticket, data } => {
                if let Some(&id) = self.tickets.get(&ticket) {
                    self.core.supply(id, data, now);
                }
            }
            Cmd::Cancel { ticket } => {
                if let Some(&id) = self.tickets.get(&ticket) {
                    self.core.cancel(id, now);
                }
            }
            Cmd::Status(reply) => {
                let status = self.core.negotiated().map(|n| Status {
                    negotiated: n.clone(),
                    is_guest: self.core.is_guest(),
                    is_signing: self.core.is_signing(),
                });
                let _ = reply.send(status);
            }
            Cmd::Shutdown => self.shutting_down = true,
        }
    }

    /// Drops `n` written bytes from the front of the queue.
    fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.out.front_mut() else {
                return;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.out.pop_front();
        }
    }

    /// The drain rule: queue what the core wants sent, then route every event.
    fn settle(&mut self) {
        let (mut frames, mut payloads) = (Vec::new(), Vec::new());
        if self.core.poll_transmit_vectored(&mut frames, &mut payloads) {
            let mut rest = Bytes::from(frames);
            let mut at = 0;
            for (offset, payload) in payloads {
                let head = rest.split_to(offset - at);
                at = offset;
                self.out
                    .extend([head, payload].into_iter().filter(|b| !b.is_empty()));
            }
            if !rest.is_empty() {
                self.out.push_back(rest);
            }
        }
        while let Some(ev) = self.core.poll_event() {
            let (id, ev) = match ev {
                Event::Done { id, result } => (id, Ev::Done(result)),
                Event::Data { id, data, .. } => (id, Ev::Data(data)),
                Event::WantData { id, max_len } => (id, Ev::WantData(max_len)),
                Event::Entries { id, entries } => (id, Ev::Entries(entries)),
                // No oplocks or leases are requested, and `Closed` ends the loop.
                _ => continue,
            };
            // A send fails only for a handle that went away; its cancel is on the way.
            if let Ev::Done(_) = ev {
                if let Some(route) = self.routes.remove(&id) {
                    self.tickets.remove(&route.ticket);
                    let _ = route.events.send(ev);
                }
            } else if let Some(route) = self.routes.get(&id) {
                let _ = route.events.send(ev);
            }
        }
    }
}
