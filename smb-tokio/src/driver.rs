//! The background task: it owns the socket and the [`smb_proto::Connection`], and routes
//! each operation's events to the task that started it, by operation id. Handles talk to
//! it over a channel; nothing is locked while a request is on the wire.

use std::io::IoSlice;
use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use smb_proto::client::{Dispatcher, DriverEvent, EventSink, Status};
use smb_proto::ops::BoxedOp;
use smb_proto::CloseReason;
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
        op: BoxedOp,
        events: mpsc::UnboundedSender<DriverEvent>,
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

/// Why the connection ended, set once it did; shared with every handle.
pub(crate) type Closed = Arc<OnceLock<CloseReason>>;

/// Routes an operation's events into its handle's channel.
pub(crate) struct Sink(mpsc::UnboundedSender<DriverEvent>);

impl EventSink for Sink {
    fn deliver(&self, ev: DriverEvent) -> bool {
        self.0.send(ev).is_ok()
    }
}

pub(crate) struct Driver {
    dispatch: Dispatcher<Sink>,
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    rx: BytesMut,
    cmds: mpsc::UnboundedReceiver<Cmd>,
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
            dispatch: Dispatcher::new(core),
            reader,
            writer,
            rx: BytesMut::new(),
            cmds,
            closed,
            shutting_down: false,
        }
    }

    /// Runs until the connection ends or every handle is gone.
    pub(crate) async fn run(mut self) {
        self.dispatch.settle();
        loop {
            let writing = self.dispatch.is_writing();
            if self.shutting_down && !writing {
                break;
            }
            let deadline = self
                .dispatch
                .connection()
                .poll_timeout()
                .map(Instant::from_std);
            self.rx.reserve(READ_CHUNK);
            // Every branch is cancel safe: a lost `write_vectored` or `read_buf` moved no bytes.
            let wake = {
                let slices: Vec<IoSlice<'_>> = self
                    .dispatch
                    .pending(MAX_SLICES)
                    .map(IoSlice::new)
                    .collect();
                tokio::select! {
                    cmd = self.cmds.recv(), if !self.shutting_down => Wake::Command(cmd),
                    r = self.reader.read_buf(&mut self.rx) => Wake::Read(r),
                    r = self.writer.write_vectored(&slices), if writing => Wake::Wrote(r),
                    () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => Wake::Timer,
                }
            };
            let core = self.dispatch.connection();
            match wake {
                Wake::Command(Some(cmd)) => self.command(cmd),
                Wake::Command(None) => break,
                Wake::Read(Ok(0)) => core.handle_transport_closed("server closed the connection"),
                Wake::Read(Ok(_)) => core.handle_input(std::time::Instant::now(), &mut self.rx),
                Wake::Read(Err(e)) | Wake::Wrote(Err(e)) => {
                    core.handle_transport_closed(&e.to_string())
                }
                Wake::Wrote(Ok(0)) => core.handle_transport_closed("socket accepts no more bytes"),
                Wake::Wrote(Ok(n)) => self.dispatch.consume(n),
                Wake::Timer => core.handle_timeout(std::time::Instant::now()),
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
        let _ = self.writer.shutdown().await;
    }

    fn command(&mut self, cmd: Cmd) {
        let now = std::time::Instant::now();
        match cmd {
            Cmd::Start { ticket, op, events } => self.dispatch.start(ticket, op, Sink(events), now),
            Cmd::Supply { ticket, data } => self.dispatch.supply(ticket, data, now),
            Cmd::Cancel { ticket } => self.dispatch.cancel(ticket, now),
            Cmd::Status(reply) => {
                let _ = reply.send(self.dispatch.status());
            }
            Cmd::Shutdown => self.shutting_down = true,
        }
    }
}
