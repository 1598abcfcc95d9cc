//! The background task: it owns the socket and the [`smb_proto::Connection`], and routes
//! each operation's events to the task that started it, by operation id. Handles talk to
//! it over a channel; nothing is locked while a request is on the wire.
//!
//! Only runtime-agnostic pieces are used (`futures-io` traits, `async-io` timers and
//! sockets), so the task runs on any executor whose futures may touch the `async-io`
//! reactor: async-std's and smol's both do.

use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::Instant;

use async_channel::{Receiver, Sender};
use async_io::Timer;
use async_net::TcpStream;
use bytes::{Buf, Bytes, BytesMut};
use futures_lite::{AsyncRead, AsyncWrite, AsyncWriteExt, FutureExt, StreamExt};
use smb_proto::{CloseReason, Event, Negotiated, Op, OpId, Output};

/// Bytes read from the socket at a time.
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
        events: Sender<Ev>,
    },
    /// Bytes for a streaming write; for a streaming read, "one chunk consumed".
    Supply { ticket: u64, data: Bytes },
    /// Stop following an operation (SMB2 CANCEL for its requests on the wire).
    Cancel { ticket: u64 },
    /// What login settled.
    Status(Sender<Option<Status>>),
    /// Send what is queued, then close the socket.
    Shutdown,
}

/// An operation's event, as the driver routes it.
pub(crate) enum Ev {
    Data(Bytes),
    WantData(usize),
    /// A page of a paged listing, which waits for a supply before the next.
    Page,
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
    events: Sender<Ev>,
}

pub(crate) struct Driver {
    core: smb_proto::Connection,
    sock: TcpStream,
    rx: BytesMut,
    scratch: Vec<u8>,
    /// What is still to be written, in order: the core's frames and, between them, large
    /// WRITE payloads sent from the caller's buffer without a copy.
    out: VecDeque<Bytes>,
    /// Boxed because a receiver is `!Unpin`.
    cmds: Pin<Box<Receiver<Cmd>>>,
    routes: HashMap<OpId, Route>,
    tickets: HashMap<u64, OpId>,
    closed: Closed,
    shutting_down: bool,
}

impl Driver {
    pub(crate) fn new(
        sock: TcpStream,
        core: smb_proto::Connection,
        cmds: Receiver<Cmd>,
        closed: Closed,
    ) -> Self {
        Driver {
            core,
            sock,
            rx: BytesMut::new(),
            scratch: vec![0; READ_CHUNK],
            out: VecDeque::new(),
            cmds: Box::pin(cmds),
            routes: HashMap::new(),
            tickets: HashMap::new(),
            closed,
            shutting_down: false,
        }
    }

    /// Runs until the connection ends or every handle is gone.
    pub(crate) async fn run(mut self) {
        let mut timer = Timer::never();
        self.settle();
        loop {
            let writing = !self.out.is_empty();
            if self.shutting_down && !writing {
                break;
            }
            let deadline = self.core.poll_timeout();
            if let Some(at) = deadline {
                timer.set_at(at);
            }
            // One poll of every source per wake-up; nothing polled here holds state across
            // polls, so returning on the first ready source loses no bytes.
            let wake = poll_fn(|cx| {
                if !self.shutting_down {
                    if let Poll::Ready(cmd) = self.cmds.poll_next(cx) {
                        return Poll::Ready(Wake::Command(cmd));
                    }
                }
                if let Poll::Ready(r) = Pin::new(&mut self.sock).poll_read(cx, &mut self.scratch) {
                    return Poll::Ready(Wake::Read(r));
                }
                if writing {
                    let slices: Vec<IoSlice<'_>> = self
                        .out
                        .iter()
                        .take(MAX_SLICES)
                        .map(|b| IoSlice::new(b))
                        .collect();
                    if let Poll::Ready(r) =
                        Pin::new(&mut self.sock).poll_write_vectored(cx, &slices)
                    {
                        return Poll::Ready(Wake::Wrote(r));
                    }
                }
                if deadline.is_some() && timer.poll(cx).is_ready() {
                    return Poll::Ready(Wake::Timer);
                }
                Poll::Pending
            })
            .await;
            match wake {
                Wake::Command(Some(cmd)) => self.command(cmd),
                Wake::Command(None) => break,
                Wake::Read(Ok(0)) => self
                    .core
                    .handle_transport_closed("server closed the connection"),
                Wake::Read(Ok(n)) => {
                    self.rx.extend_from_slice(&self.scratch[..n]);
                    self.core.handle_input(Instant::now(), &mut self.rx);
                }
                Wake::Read(Err(e)) | Wake::Wrote(Err(e)) => {
                    self.core.handle_transport_closed(&e.to_string())
                }
                Wake::Wrote(Ok(0)) => self
                    .core
                    .handle_transport_closed("socket accepts no more bytes"),
                Wake::Wrote(Ok(n)) => self.consume(n),
                Wake::Timer => self.core.handle_timeout(Instant::now()),
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
        // Dropping every route wakes the handles still waiting on an event. Commands still
        // queued hold routes too, and the channel (shared with the handles) would keep
        // them alive: close it, then drop what it holds.
        self.routes.clear();
        self.cmds.close();
        while self.cmds.try_recv().is_ok() {}
        let _ = self.sock.close().await;
    }

    fn command(&mut self, cmd: Cmd) {
        let now = Instant::now();
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
                let _ = reply.try_send(status);
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
                Event::Entries { id, .. } => (id, Ev::Page),
                // No oplocks or leases are requested, and `Closed` ends the loop.
                _ => continue,
            };
            // A send fails only for a handle that went away; its cancel is on the way.
            if let Ev::Done(_) = ev {
                if let Some(route) = self.routes.remove(&id) {
                    self.tickets.remove(&route.ticket);
                    let _ = route.events.try_send(ev);
                }
            } else if let Some(route) = self.routes.get(&id) {
                let _ = route.events.try_send(ev);
            }
        }
    }
}
