//! The connection task: it owns the socket and the [`smb_proto::Connection`], and routes
//! each operation's events to the task that started it. Handles talk to it over a
//! bounded channel; nothing is locked while a request is on the wire.

use std::future::poll_fn;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::Instant;

use async_channel::{Receiver, Sender};
use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncWriteExt, StreamExt};
use smb_proto::client::{Dispatcher, DriverEvent, EventSink, Status};
use smb_proto::ops::BoxedOp;
use smb_proto::{CloseReason, SessionSlot};

use crate::runtime::{BoxFuture, Runtime, Socket};

/// Bytes read from the socket at a time (the core's read hint asks for whole frames).
const READ_CHUNK: usize = 256 * 1024;
/// Buffers handed to one vectored write.
const MAX_SLICES: usize = 64;

/// What woke the driver.
enum Wake {
    Command(Option<Cmd>),
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
    Timer,
    /// A KDC attempt a login asked for ended.
    Kdc(KdcDone),
}

/// A KDC attempt's answer for login `OpId`, and the wall-clock time it came at.
type KdcDone = (
    smb_proto::OpId,
    Result<Vec<u8>, smb_proto::auth::kerberos::KdcIoError>,
    std::time::SystemTime,
);

/// What a handle asks of the driver.
pub(crate) enum Cmd {
    /// Start `op`; its events go to `events`. `ticket` names it in later commands.
    Start {
        ticket: u64,
        session: SessionSlot,
        op: BoxedOp,
        /// When the whole operation must be done, if ever.
        deadline: Option<Instant>,
        events: Sender<DriverEvent>,
    },
    /// Make room for another session.
    AddSession(Sender<SessionSlot>),
    /// Bytes for a streaming write; for a streaming read, "one chunk consumed"; for a
    /// paged listing, "next page".
    Supply {
        ticket: u64,
        file: usize,
        data: Bytes,
    },
    /// Stop following an operation (SMB2 CANCEL for its requests on the wire).
    Cancel { ticket: u64 },
    /// What login settled for a session.
    Status(SessionSlot, Sender<Option<Status>>),
    /// What a connection needs to join a session as a channel.
    ChannelSeed(
        SessionSlot,
        Sender<Result<smb_proto::ChannelSeed, smb_proto::Error>>,
    ),
    /// The ChannelSequence a session's requests carry from now on.
    ChannelSequence(SessionSlot, u16),
    /// A channel takes the trees of its session it does not know yet.
    JoinTrees(Box<smb_proto::ChannelSeed>),
    /// Send what is queued, then close the socket.
    Shutdown,
}

/// Why the connection ended, set once it did; shared with every handle.
pub(crate) type Closed = Arc<CloseState>;

/// Why the connection ended, and a way to wait for it (the factory's `on_disconnect`)
/// that, unlike a command sender, does not keep the connection alive.
pub(crate) struct CloseState {
    reason: OnceLock<CloseReason>,
    /// The durable opens the connection held when it ended, for the connection made
    /// again to reclaim.
    durable: OnceLock<Vec<smb_proto::ops::DurableOpen>>,
    /// Nothing is ever sent on it: setting the reason closes it, which wakes every
    /// waiter at once.
    ended: (Sender<()>, Receiver<()>),
}

impl Default for CloseState {
    fn default() -> Self {
        CloseState {
            reason: OnceLock::new(),
            durable: OnceLock::new(),
            ended: async_channel::bounded(1),
        }
    }
}

impl CloseState {
    /// Why the connection ended, once it has.
    pub(crate) fn get(&self) -> Option<&CloseReason> {
        self.reason.get()
    }

    /// Records why the connection ended (the first reason wins) and wakes the waiters.
    fn set(&self, reason: CloseReason) {
        let _ = self.reason.set(reason);
        self.ended.0.close();
    }

    /// The durable opens the connection held when it ended (none before it ended).
    pub(crate) fn durable(&self) -> &[smb_proto::ops::DurableOpen] {
        self.durable.get().map_or(&[], Vec::as_slice)
    }

    /// Waits until the connection has ended; returns why.
    pub(crate) async fn ended(&self) -> CloseReason {
        // A closed channel answers at once, so a late waiter does not wait.
        let _ = self.ended.1.recv().await;
        self.get().cloned().unwrap_or(CloseReason::Local)
    }
}

/// Routes an operation's events into its handle's channel. The channel is unbounded,
/// but what goes into it is not: streamed reads wait for each chunk's acknowledgement
/// (`paced_reads`), a streaming write asks for one buffer at a time, and a paged
/// listing for one page.
pub(crate) struct Sink(pub(crate) Sender<DriverEvent>);

impl EventSink for Sink {
    fn deliver(&self, ev: DriverEvent) -> bool {
        self.0.try_send(ev).is_ok()
    }
}

pub(crate) struct Driver {
    dispatch: Dispatcher<Sink>,
    sock: Box<dyn Socket>,
    runtime: Arc<dyn Runtime>,
    rx: smb_proto::client::ReceiveBuffers,
    scratch: Vec<u8>,
    /// Boxed because a receiver is `!Unpin`.
    cmds: Pin<Box<Receiver<Cmd>>>,
    closed: Closed,
    shutting_down: bool,
    /// Where the tasks making KDC attempts send their answers, and where they come in.
    kdc_done: (Sender<KdcDone>, Pin<Box<Receiver<KdcDone>>>),
    /// Where KDC attempts go: the network (recorded or not), or a replay's recording.
    kdc_via: crate::replay::KdcVia,
}

/// A driver dropped before its loop ended (its executor shut down) still tells the
/// handles waiting for the end; after a normal end this changes nothing.
impl Drop for Driver {
    fn drop(&mut self) {
        self.closed.set(CloseReason::Local);
    }
}

impl Driver {
    pub(crate) fn new(
        sock: Box<dyn Socket>,
        runtime: Arc<dyn Runtime>,
        core: smb_proto::Connection,
        cmds: Receiver<Cmd>,
        closed: Closed,
        kdc_via: crate::replay::KdcVia,
    ) -> Self {
        Driver {
            dispatch: Dispatcher::new(core),
            sock,
            runtime,
            rx: smb_proto::client::ReceiveBuffers::default(),
            scratch: vec![0; READ_CHUNK],
            cmds: Box::pin(cmds),
            closed,
            shutting_down: false,
            kdc_done: {
                let (tx, rx) = async_channel::unbounded();
                (tx, Box::pin(rx))
            },
            kdc_via,
        }
    }

    /// Starts a task for each KDC attempt a login asked for ([`smb_proto::Event::Kdc`]):
    /// the connection goes on while the KDC answers.
    fn serve_kdc(&mut self) {
        use crate::replay::KdcVia;
        while let Some((id, request)) = self.dispatch.poll_kdc() {
            if let KdcVia::Replay(replay) = &self.kdc_via {
                // The recording answers at once; a divergence fails the replay.
                let (reply, wall) = replay.kdc(&request).unwrap_or_else(|e| {
                    let e = smb_proto::auth::kerberos::KdcIoError::Io(e.to_string());
                    (Err(e), std::time::SystemTime::now())
                });
                let core = self.dispatch.connection();
                core.kdc_reply(id, reply, wall, Instant::now());
                self.dispatch.settle();
                continue;
            }
            let (runtime, done) = (self.runtime.clone(), self.kdc_done.0.clone());
            let sink = match &self.kdc_via {
                KdcVia::Recorded(sink) => Some(sink.clone()),
                _ => None,
            };
            self.runtime.spawn(Box::pin(async move {
                let mut reply = crate::kerberos::send(&*runtime, &request).await;
                let wall = std::time::SystemTime::now();
                if let Some(sink) = sink {
                    // Recorded before the core hears the answer, so before any byte it
                    // makes the connection send.
                    if let Err(e) = crate::replay::record_kdc(&sink, &request, &reply, wall) {
                        reply = Err(smb_proto::auth::kerberos::KdcIoError::Io(e.to_string()));
                    }
                }
                let _ = done.send((id, reply, wall)).await;
            }));
        }
    }

    /// Runs until the connection ends or every handle is gone.
    pub(crate) async fn run(mut self) {
        let mut timer: Option<(Instant, BoxFuture<'static, ()>)> = None;
        // Which source is polled first alternates, so a stream of commands cannot starve
        // the socket, nor a busy socket the commands.
        let mut commands_first = true;
        self.dispatch.settle();
        self.serve_kdc();
        loop {
            let writing = self.dispatch.is_writing();
            if self.shutting_down && !writing {
                break;
            }
            let deadline = self.dispatch.connection().poll_timeout();
            // A timer armed at or before the deadline stays: firing early costs a wake-up
            // that finds nothing due, while arming one each time the earliest deadline
            // moves on (each answer moves it) costs a timer per wake-up, and on async-io
            // a notification of its reactor thread each.
            match (deadline, &timer) {
                (Some(at), Some((set, _))) if *set <= at => {}
                (Some(at), _) => timer = Some((at, self.runtime.sleep_until(at))),
                (None, _) => timer = None,
            }
            commands_first = !commands_first;
            // One poll of every source per wake-up; nothing polled here holds state across
            // polls, so returning on the first ready source loses no bytes.
            let want = self
                .dispatch
                .connection()
                .read_hint(self.rx.buf())
                .clamp(64 * 1024, READ_CHUNK);
            let wake = {
                // Built outside the poll so the future holds byte slices, not the
                // dispatcher (which is not `Sync`).
                let slices: Vec<IoSlice<'_>> = self
                    .dispatch
                    .pending(MAX_SLICES)
                    .map(IoSlice::new)
                    .collect();
                let (cmds, sock, scratch, shutting_down, kdc_done) = (
                    &mut self.cmds,
                    &mut self.sock,
                    &mut self.scratch[..want],
                    self.shutting_down,
                    &mut self.kdc_done.1,
                );
                poll_fn(|cx| {
                    if let Poll::Ready(Some(done)) = kdc_done.poll_next(cx) {
                        return Poll::Ready(Wake::Kdc(done));
                    }
                    let mut command = |cx: &mut std::task::Context<'_>| {
                        if shutting_down {
                            return None;
                        }
                        match cmds.poll_next(cx) {
                            Poll::Ready(cmd) => Some(Wake::Command(cmd)),
                            Poll::Pending => None,
                        }
                    };
                    if commands_first {
                        if let Some(w) = command(cx) {
                            return Poll::Ready(w);
                        }
                    }
                    if let Poll::Ready(r) = Pin::new(&mut *sock).poll_read(cx, scratch) {
                        return Poll::Ready(Wake::Read(r));
                    }
                    if writing {
                        if let Poll::Ready(r) =
                            Pin::new(&mut *sock).poll_write_vectored(cx, &slices)
                        {
                            return Poll::Ready(Wake::Wrote(r));
                        }
                    }
                    if !commands_first {
                        if let Some(w) = command(cx) {
                            return Poll::Ready(w);
                        }
                    }
                    if let Some((_, sleep)) = &mut timer {
                        if sleep.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(Wake::Timer);
                        }
                    }
                    Poll::Pending
                })
                .await
            };
            let core = self.dispatch.connection();
            match wake {
                Wake::Command(Some(cmd)) => self.command(cmd),
                Wake::Command(None) => break,
                Wake::Read(Ok(0)) => core.handle_transport_eof(),
                Wake::Read(Ok(n)) => {
                    self.rx.extend(&self.scratch[..n]);
                    core.handle_input(Instant::now(), self.rx.buf());
                    // An idle connection holds no more than the buffer it gathers in.
                    if core.in_flight() == 0 {
                        self.rx.release();
                    }
                }
                Wake::Read(Err(e)) | Wake::Wrote(Err(e)) => {
                    core.handle_transport_closed(&e.to_string())
                }
                Wake::Wrote(Ok(0)) => core.handle_transport_closed("socket accepts no more bytes"),
                Wake::Wrote(Ok(n)) => self.dispatch.consume(n),
                Wake::Timer => {
                    timer = None;
                    core.handle_timeout(Instant::now());
                }
                Wake::Kdc((id, reply, wall)) => core.kdc_reply(id, reply, wall, Instant::now()),
            }
            self.dispatch.settle();
            self.serve_kdc();
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
        let _ = self
            .closed
            .durable
            .set(self.dispatch.connection().durable_opens());
        // Closed before the end is announced, so that whoever waits for the end (`close`)
        // finds the socket closed and a recording of it complete.
        let _ = self.sock.close().await;
        self.closed.set(reason);
        // Dropping every route wakes the handles still waiting on an event. Commands still
        // queued hold routes too, and the channel (shared with the handles) would keep
        // them alive: close it, then drop what it holds.
        self.dispatch.clear_routes();
        self.cmds.close();
        while self.cmds.try_recv().is_ok() {}
    }

    fn command(&mut self, cmd: Cmd) {
        let now = Instant::now();
        match cmd {
            Cmd::Start {
                ticket,
                session,
                op,
                deadline,
                events,
            } => self
                .dispatch
                .start(ticket, session, op, deadline, Sink(events), now),
            Cmd::AddSession(reply) => {
                let _ = reply.try_send(self.dispatch.connection().add_session());
            }
            Cmd::Supply { ticket, file, data } => self.dispatch.supply(ticket, file, data, now),
            Cmd::Cancel { ticket } => self.dispatch.cancel(ticket, now),
            Cmd::Status(slot, reply) => {
                let _ = reply.try_send(self.dispatch.status(slot));
            }
            Cmd::ChannelSeed(slot, reply) => {
                let _ = reply.try_send(self.dispatch.connection().channel_seed(slot));
            }
            Cmd::ChannelSequence(slot, sequence) => {
                self.dispatch
                    .connection()
                    .set_channel_sequence(slot, sequence);
            }
            Cmd::JoinTrees(seed) => self.dispatch.connection().join_trees(&seed),
            Cmd::Shutdown => self.shutting_down = true,
        }
    }
}
