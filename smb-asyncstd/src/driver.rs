//! The background task: it owns the socket and the [`smb_proto::Connection`], and routes
//! each operation's events to the task that started it, by operation id. Handles talk to
//! it over a channel; nothing is locked while a request is on the wire.
//!
//! Only runtime-agnostic pieces are used (`futures-io` traits, `async-io` timers and
//! sockets), so the task runs on any executor whose futures may touch the `async-io`
//! reactor: async-std's and smol's both do.

use std::future::poll_fn;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::Instant;

use async_channel::{Receiver, Sender};
use async_io::Timer;
use async_net::TcpStream;
use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncRead, AsyncWrite, AsyncWriteExt, FutureExt, StreamExt};
use smb_proto::client::{Dispatcher, DriverEvent, EventSink, Status};
use smb_proto::ops::BoxedOp;
use smb_proto::CloseReason;

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
        op: BoxedOp,
        events: Sender<DriverEvent>,
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

/// Why the connection ended, set once it did; shared with every handle.
pub(crate) type Closed = Arc<OnceLock<CloseReason>>;

/// Routes an operation's events into its handle's channel.
pub(crate) struct Sink(Sender<DriverEvent>);

impl EventSink for Sink {
    fn deliver(&self, ev: DriverEvent) -> bool {
        self.0.try_send(ev).is_ok()
    }
}

pub(crate) struct Driver {
    dispatch: Dispatcher<Sink>,
    sock: TcpStream,
    rx: BytesMut,
    scratch: Vec<u8>,
    /// Boxed because a receiver is `!Unpin`.
    cmds: Pin<Box<Receiver<Cmd>>>,
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
            dispatch: Dispatcher::new(core),
            sock,
            rx: BytesMut::new(),
            scratch: vec![0; READ_CHUNK],
            cmds: Box::pin(cmds),
            closed,
            shutting_down: false,
        }
    }

    /// Runs until the connection ends or every handle is gone.
    pub(crate) async fn run(mut self) {
        let mut timer = Timer::never();
        self.dispatch.settle();
        loop {
            let writing = self.dispatch.is_writing();
            if self.shutting_down && !writing {
                break;
            }
            let deadline = self.dispatch.connection().poll_timeout();
            if let Some(at) = deadline {
                timer.set_at(at);
            }
            // One poll of every source per wake-up; nothing polled here holds state across
            // polls, so returning on the first ready source loses no bytes.
            let wake = {
                // Built outside the poll so the future holds byte slices, not the
                // dispatcher (which is not `Sync`).
                let slices: Vec<IoSlice<'_>> = self
                    .dispatch
                    .pending(MAX_SLICES)
                    .map(IoSlice::new)
                    .collect();
                poll_fn(|cx| {
                    if !self.shutting_down {
                        if let Poll::Ready(cmd) = self.cmds.poll_next(cx) {
                            return Poll::Ready(Wake::Command(cmd));
                        }
                    }
                    if let Poll::Ready(r) =
                        Pin::new(&mut self.sock).poll_read(cx, &mut self.scratch)
                    {
                        return Poll::Ready(Wake::Read(r));
                    }
                    if writing {
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
                .await
            };
            let core = self.dispatch.connection();
            match wake {
                Wake::Command(Some(cmd)) => self.command(cmd),
                Wake::Command(None) => break,
                Wake::Read(Ok(0)) => core.handle_transport_closed("server closed the connection"),
                Wake::Read(Ok(n)) => {
                    self.rx.extend_from_slice(&self.scratch[..n]);
                    core.handle_input(Instant::now(), &mut self.rx);
                }
                Wake::Read(Err(e)) | Wake::Wrote(Err(e)) => {
                    core.handle_transport_closed(&e.to_string())
                }
                Wake::Wrote(Ok(0)) => core.handle_transport_closed("socket accepts no more bytes"),
                Wake::Wrote(Ok(n)) => self.dispatch.consume(n),
                Wake::Timer => core.handle_timeout(Instant::now()),
            }
            self.dispatch.settle();
            if self.dispatch.connection().close_reason().is_some() {
                break;
            }
        }
        self.dispatch.connection().close_local();
        self.dispatch.settle();
        let reason = self
            .dispatch
            .connection()
            .close_reason()
            .cloned()
            .unwrap_or(CloseReason::Local);
        let _ = self.closed.set(reason);
        // Dropping every route wakes the handles still waiting on an event. Commands still
        // queued hold routes too, and the channel (shared with the handles) would keep
        // them alive: close it, then drop what it holds.
        self.dispatch.clear_routes();
        self.cmds.close();
        while self.cmds.try_recv().is_ok() {}
        let _ = self.sock.close().await;
    }

    fn command(&mut self, cmd: Cmd) {
        let now = Instant::now();
        match cmd {
            Cmd::Start { ticket, op, events } => self.dispatch.start(ticket, op, Sink(events), now),
            Cmd::Supply { ticket, data } => self.dispatch.supply(ticket, data, now),
            Cmd::Cancel { ticket } => self.dispatch.cancel(ticket, now),
            Cmd::Status(reply) => {
                let _ = reply.try_send(self.dispatch.status());
            }
            Cmd::Shutdown => self.shutting_down = true,
        }
    }
}
