//! SMB 3.x multichannel: further connections bound to the session as channels
//! ([`Connection::add_channel`]), and one file's reads striped over all of them, each
//! channel on a thread of its own. The core binds a channel
//! ([`smb_proto::Connection::new_channel`], [`ops::Login::bind`]) and plans the spans
//! ([`Stripes`], [`InOrder`]); this owns the sockets and the threads.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{mpsc, Condvar};

use smb_proto::client::{channel_targets, InOrder, Stripes};

use super::*;

/// The spans of a striped upload waiting for a channel, and its state.
#[derive(Default)]
struct Outbox {
    spans: VecDeque<(u64, Bytes)>,
    /// Spans a channel is writing.
    out: usize,
    /// The input has ended: no span will be added.
    input_done: bool,
    /// Channels still up.
    alive: usize,
    /// A failure that ends the upload.
    failed: Option<Error>,
}

/// What a channel's thread sends the one writing the download.
enum Piece {
    /// A span's bytes, at its offset.
    Data(u64, Bytes),
    /// A failure that ends the transfer (not a lost channel: its span goes to another).
    Failed(Error),
}

impl Pump {
    /// A connection to `addr` bound to this one's default session as a channel.
    fn bind_channel(&self, addr: SocketAddr) -> Result<Pump> {
        let invalid = |why: &str| Error::Smb(smb_proto::Error::Invalid(why.into()));
        let opts = self
            .opts
            .as_deref()
            .ok_or_else(|| invalid("a replayed connection has no channels"))?;
        let opts = opts
            .extra_connection(0)
            .ok_or_else(|| invalid("a recording connection has no channels"))?;
        let seed = self.core.channel_seed(SessionSlot::DEFAULT)?;
        let creds = seed.credentials().cloned().ok_or_else(|| {
            invalid("a channel binds with the session's password, and this login had none")
        })?;
        let sock =
            TcpStream::connect_timeout(&addr, opts.timeout).map_err(|e| opts.connect_error(e))?;
        sock.set_nodelay(true)?;
        let mut config = opts.config(os_seed, FileTime::from_system_time(SystemTime::now()).0);
        // Nothing to keep alive before the binding, and a channel idles between transfers.
        config.keep_alive = None;
        let sock = replay::Socket::new(sock, &opts, &config)?;
        let core = smb_proto::Connection::new_channel(config, &seed, Instant::now());
        let mut channel = Pump::new(sock, core);
        channel.op_timeout = self.op_timeout;
        channel.call(ops::Login::bind(creds))?;
        tracing::info!(%addr, "channel bound");
        Ok(channel)
    }

    /// Binds up to `max` channels more, one on each address the server lists
    /// (FSCTL_QUERY_NETWORK_INTERFACE_INFO, [`channel_targets`]) other than the one this
    /// connection reached → how many were bound. One that fails is skipped with a
    /// warning.
    fn add_channels(&mut self, max: usize) -> Result<usize> {
        let Some(opts) = self.opts.as_deref() else {
            return Ok(0);
        };
        let here: Vec<std::net::IpAddr> = (opts.host.as_str(), opts.port)
            .to_socket_addrs()
            .map(|a| a.map(|a| a.ip()).collect())
            .unwrap_or_default();
        let port = opts.port;
        let interfaces = self.call(ops::QueryInterfaces::new())?;
        let mut bound = 0;
        for addr in channel_targets(&interfaces, port, usize::MAX) {
            if bound == max {
                break;
            }
            if here.contains(&addr.ip()) {
                continue;
            }
            match self.bind_channel(addr) {
                Ok(channel) => {
                    self.channels.push(channel);
                    bound += 1;
                }
                Err(e) => tracing::warn!(%addr, error = %e, "a channel could not be bound"),
            }
        }
        Ok(bound)
    }

    /// The span size of a striped transfer on this session.
    pub(crate) fn stripe_span(&self) -> usize {
        let max_io = self.core.negotiated().map_or(65536, |n| n.max_write_size);
        Stripes::span_for(max_io) as usize
    }

    /// Uploads `head` and then the rest of `input` as `op` says, striped over this
    /// connection and its channels: the file is opened once, spans are read here in
    /// order and written by whichever channel is free ([`ops::Write`]); a lost
    /// channel's span goes to another (a WRITE the server refuses as sent before the
    /// loss, STATUS_FILE_NOT_AVAILABLE, is sent again too).
    pub(crate) fn store_striped(
        &mut self,
        op: &ops::WriteFile,
        head: Vec<u8>,
        input: &mut dyn Read,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64> {
        let (share, path, start, options) = op.target();
        let (handle, _) = self.call(ops::Open::new(share, path, options))?;
        let written = self.striped_write(handle, start, head, input, progress);
        let closed = self.close_on_a_live_channel(handle);
        written.and_then(|n| closed.map(|()| n))
    }

    fn striped_write(
        &mut self,
        handle: ops::Handle,
        start: u64,
        head: Vec<u8>,
        input: &mut dyn Read,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64> {
        let span = self.stripe_span();
        let mut channels = std::mem::take(&mut self.channels);
        let ways = channels.len() + 1;
        let outbox = Mutex::new(Outbox {
            alive: ways,
            ..Outbox::default()
        });
        let changed = Condvar::new();
        let sequence = AtomicU16::new(self.core.channel_sequence(SessionSlot::DEFAULT));
        let acked = AtomicU64::new(0);
        let lock = || {
            outbox
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let mut read = 0u64;
        let lost: Vec<Option<Error>> = std::thread::scope(|s| {
            let threads: Vec<_> = std::iter::once(&mut *self)
                .chain(channels.iter_mut())
                .map(|pump| {
                    let (outbox, changed, sequence, acked) = (&outbox, &changed, &sequence, &acked);
                    s.spawn(move || write_worker(pump, handle, outbox, changed, sequence, acked))
                })
                .collect();
            // Feeds spans in order, no more than two per channel waiting.
            let mut head = Some(Bytes::from(head));
            loop {
                let data = match head.take() {
                    Some(h) => h,
                    None => {
                        let mut buf = vec![0; span];
                        match read_up_to(input, &mut buf) {
                            Ok(n) => {
                                buf.truncate(n);
                                Bytes::from(buf)
                            }
                            Err(e) => {
                                lock().failed.get_or_insert(Error::Io(e));
                                break;
                            }
                        }
                    }
                };
                let ended = data.len() < span;
                let mut rest = data;
                while !rest.is_empty() {
                    let piece = rest.split_to(span.min(rest.len()));
                    let len = piece.len() as u64;
                    let mut o = lock();
                    while o.spans.len() >= 2 * ways && o.alive > 0 && o.failed.is_none() {
                        o = changed
                            .wait_timeout(o, Duration::from_millis(100))
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .0;
                    }
                    o.spans.push_back((start + read, piece));
                    read += len;
                    drop(o);
                    changed.notify_all();
                    progress(acked.load(Ordering::Relaxed), None);
                }
                let o = lock();
                if ended || o.alive == 0 || o.failed.is_some() {
                    break;
                }
            }
            lock().input_done = true;
            changed.notify_all();
            threads.into_iter().map(crate::spread::joined).collect()
        });
        let mut lost = lost.into_iter();
        let primary_lost = lost.next().flatten();
        let mut last_loss = None;
        for (channel, loss) in channels.into_iter().zip(lost) {
            match loss {
                None => self.channels.push(channel),
                Some(e) => last_loss = Some(e),
            }
        }
        for c in &mut self.channels {
            c.core
                .set_channel_sequence(SessionSlot::DEFAULT, sequence.load(Ordering::Relaxed));
        }
        let mut o = lock();
        if let Some(e) = o.failed.take() {
            return Err(e);
        }
        if !o.spans.is_empty() || acked.load(Ordering::Relaxed) < read {
            return Err(primary_lost.or(last_loss).unwrap_or_else(|| {
                Error::Smb(smb_proto::Error::Invalid(
                    "the striped upload stopped early".into(),
                ))
            }));
        }
        progress(read, None);
        Ok(read)
    }

    /// Downloads what `op` reads striped over this connection and its channels, when
    /// it has channels and the range is worth it (more than two spans); `None` leaves
    /// it to the one-connection path.
    pub(crate) fn retrieve_striped(
        &mut self,
        op: &ops::ReadFile,
        out: &mut dyn Write,
        progress: &mut ProgressFn<'_>,
    ) -> Option<Result<u64>> {
        let (share, path, start, limit) = op.target()?;
        let span = Stripes::span_for(self.core.negotiated()?.max_read_size);
        if self.channels.is_empty() || limit.saturating_sub(start) <= 2 * span {
            return None;
        }
        let (handle, info) = match self.call(ops::Open::new(share, path, OpenOptions::read())) {
            Ok(opened) => opened,
            Err(e) => return Some(Err(e)),
        };
        let end = info.size.clamp(start, limit);
        let moved = self.striped_read(handle, start, end, span, out, progress);
        let closed = self.close_on_a_live_channel(handle);
        Some(moved.and_then(|n| closed.map(|()| n)))
    }

    /// Reads `start..end` of `handle` span by span over this connection and its
    /// channels, handing the bytes to `out` in order. A channel that is lost leaves its
    /// span to the others (the session's ChannelSequence moves on, MS-SMB2 3.2.7.1) and
    /// is dropped; the transfer fails only when every channel is lost or a span fails
    /// otherwise.
    fn striped_read(
        &mut self,
        handle: ops::Handle,
        start: u64,
        end: u64,
        span: u64,
        out: &mut dyn Write,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64> {
        let mut channels = std::mem::take(&mut self.channels);
        let ways = channels.len() as u64 + 1;
        let plan = Mutex::new(Stripes::new(start, end, span, span * 2 * ways));
        let moved = Condvar::new();
        let handed_on = AtomicU64::new(start);
        let stop = AtomicBool::new(false);
        let sequence = AtomicU16::new(self.core.channel_sequence(SessionSlot::DEFAULT));
        let (tx, rx) = mpsc::channel::<Piece>();
        let mut order = InOrder::new(start);
        let mut failed = None;
        let lost: Vec<Option<Error>> = std::thread::scope(|s| {
            let threads: Vec<_> = std::iter::once(&mut *self)
                .chain(channels.iter_mut())
                .map(|pump| {
                    let tx = tx.clone();
                    let (plan, moved, handed_on, stop, sequence) =
                        (&plan, &moved, &handed_on, &stop, &sequence);
                    s.spawn(move || {
                        stripe_worker(pump, handle, plan, moved, handed_on, stop, sequence, &tx)
                    })
                })
                .collect();
            drop(tx);
            for piece in rx {
                match piece {
                    Piece::Data(offset, data) => {
                        order.put(offset, data);
                        while let Some(d) = order.pop() {
                            if let Err(e) = out.write_all(&d) {
                                failed.get_or_insert(Error::Io(e));
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                        handed_on.store(order.handed_on(), Ordering::Relaxed);
                        progress(order.handed_on() - start, Some(end - start));
                    }
                    Piece::Failed(e) => {
                        failed.get_or_insert(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                moved.notify_all();
            }
            threads.into_iter().map(crate::spread::joined).collect()
        });
        // Channels still up stay; a lost primary is the caller's to make again.
        let mut lost = lost.into_iter();
        let primary_lost = lost.next().flatten();
        let mut last_loss = None;
        for (channel, loss) in channels.into_iter().zip(lost) {
            match loss {
                None => self.channels.push(channel),
                Some(e) => last_loss = Some(e),
            }
        }
        for c in &mut self.channels {
            c.core
                .set_channel_sequence(SessionSlot::DEFAULT, sequence.load(Ordering::Relaxed));
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if order.handed_on() < end {
            // Every channel was lost before the end.
            return Err(primary_lost.or(last_loss).unwrap_or_else(|| {
                Error::Smb(smb_proto::Error::Invalid(
                    "the striped download stopped early".into(),
                ))
            }));
        }
        if let Some(e) = primary_lost {
            tracing::warn!(error = %e, "the session's first connection was lost during a striped download");
        }
        Ok(end - start)
    }

    /// Closes `handle` on this connection, else on a channel that is up.
    fn close_on_a_live_channel(&mut self, handle: ops::Handle) -> Result<()> {
        match self.call(ops::Close(handle)) {
            Ok(()) => Ok(()),
            Err(e) => {
                for c in &mut self.channels {
                    if c.call(ops::Close(handle)).is_ok() {
                        return Ok(());
                    }
                }
                Err(e)
            }
        }
    }
}

/// One channel's part of a striped download: takes spans until none is left, reads
/// each with [`ops::ReadRange`] and sends it on. Returns the error that lost the
/// channel, if it was lost.
#[allow(clippy::too_many_arguments)]
fn stripe_worker(
    pump: &mut Pump,
    handle: ops::Handle,
    plan: &Mutex<Stripes>,
    moved: &Condvar,
    handed_on: &AtomicU64,
    stop: &AtomicBool,
    sequence: &AtomicU16,
    tx: &mpsc::Sender<Piece>,
) -> Option<Error> {
    let lock = || {
        plan.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    loop {
        let span = {
            let mut p = lock();
            loop {
                if p.is_done() || stop.load(Ordering::Relaxed) {
                    return None;
                }
                if let Some(span) = p.take(handed_on.load(Ordering::Relaxed)) {
                    break span;
                }
                p = moved
                    .wait_timeout(p, Duration::from_millis(100))
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
            }
        };
        let (offset, len) = span;
        pump.core
            .set_channel_sequence(SessionSlot::DEFAULT, sequence.load(Ordering::Relaxed));
        match pump.call(ops::ReadRange::new(handle, offset, len)) {
            Ok(data) if data.len() as u64 == len => {
                lock().finished();
                let _ = tx.send(Piece::Data(offset, data));
            }
            Ok(data) => {
                lock().finished();
                let detail = format!(
                    "end of file at {} inside a span the size at open covered (the file changed during the download)",
                    offset + data.len() as u64
                );
                let e = smb_proto::Error::Incomplete {
                    op: "get",
                    path: String::new(),
                    detail,
                };
                let _ = tx.send(Piece::Failed(Error::Smb(e)));
                return None;
            }
            Err(e) if pump.core.close_reason().is_some() => {
                // The channel is gone: its span goes to another, whose requests now say
                // so (MS-SMB2 3.2.7.1).
                lock().lost(span);
                sequence.fetch_add(1, Ordering::Relaxed);
                moved.notify_all();
                tracing::warn!(error = %e, "a channel was lost; the others take its spans");
                return Some(e);
            }
            Err(e) => {
                lock().finished();
                let _ = tx.send(Piece::Failed(e));
                return None;
            }
        }
        moved.notify_all();
    }
}

/// One channel's part of a striped upload: writes spans from the outbox until the
/// input has ended and none is left. Returns the error that lost the channel, if it was
/// lost.
fn write_worker(
    pump: &mut Pump,
    handle: ops::Handle,
    outbox: &Mutex<Outbox>,
    changed: &Condvar,
    sequence: &AtomicU16,
    acked: &AtomicU64,
) -> Option<Error> {
    let lock = || {
        outbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    loop {
        let (offset, data) = {
            let mut o = lock();
            loop {
                if o.failed.is_some() || (o.input_done && o.spans.is_empty()) {
                    o.alive -= 1;
                    return None;
                }
                if let Some(span) = o.spans.pop_front() {
                    o.out += 1;
                    break span;
                }
                o = changed
                    .wait_timeout(o, Duration::from_millis(100))
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
            }
        };
        changed.notify_all();
        pump.core
            .set_channel_sequence(SessionSlot::DEFAULT, sequence.load(Ordering::Relaxed));
        let len = data.len() as u64;
        let result = pump.call(ops::Write::new(handle, offset, data.clone()));
        let mut o = lock();
        o.out -= 1;
        match result {
            Ok(n) if n == len => {
                acked.fetch_add(len, Ordering::Relaxed);
            }
            Ok(n) => {
                let detail = format!("the server took {n} of {len} bytes at {offset}");
                let e = smb_proto::Error::Incomplete {
                    op: "put",
                    path: String::new(),
                    detail,
                };
                o.failed.get_or_insert(Error::Smb(e));
            }
            Err(e) if pump.core.close_reason().is_some() => {
                // The channel is gone: its span goes to another, whose requests now say
                // so (MS-SMB2 3.2.7.1).
                o.spans.push_front((offset, data));
                o.alive -= 1;
                sequence.fetch_add(1, Ordering::Relaxed);
                drop(o);
                changed.notify_all();
                tracing::warn!(error = %e, "a channel was lost; the others take its spans");
                return Some(e);
            }
            Err(e) if e.status() == Some(NtStatus::FILE_NOT_AVAILABLE) => {
                // Sent before the session's ChannelSequence moved on: write it again.
                o.spans.push_front((offset, data));
            }
            Err(e) => {
                o.failed.get_or_insert(e);
            }
        }
        drop(o);
        changed.notify_all();
    }
}

impl Connection {
    /// Binds a further connection to `addr` (the server's port included) to this
    /// connection's session as a channel (SMB 3.x multichannel, MS-SMB2 3.2.4.2.3):
    /// large downloads are then striped over every channel, and go on when one is lost.
    /// [`ConnectOptions::multichannel`] does this for the addresses the server lists.
    ///
    /// ```no_run
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// conn.add_channel("192.0.2.7:445".parse().unwrap())?;
    /// assert_eq!(conn.channels(), 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`smb_proto::Error::Invalid`] when the session cannot have channels (not 3.x,
    /// multichannel not negotiated, a guest session, a login without a password, a
    /// recording), [`Error::Connect`] when `addr` cannot be reached, and the server's
    /// refusal of the binding.
    pub fn add_channel(&self, addr: SocketAddr) -> Result<()> {
        let mut pump = self.lock();
        let channel = pump.bind_channel(addr)?;
        pump.channels.push(channel);
        Ok(())
    }

    /// Binds as many channels as [`ConnectOptions::multichannel`] allows, one on each
    /// further address the server lists for itself (FSCTL_QUERY_NETWORK_INTERFACE_INFO)
    /// → how many were bound. [`Connection::connect`] does this already when the
    /// option is set; call it again after channels were lost.
    ///
    /// # Errors
    ///
    /// The interface query's failure (a server without multichannel answers
    /// STATUS_INVALID_DEVICE_REQUEST); an address that cannot be bound is skipped with
    /// a warning.
    pub fn add_channels(&self) -> Result<usize> {
        let mut pump = self.lock();
        let max = pump.opts.as_ref().map_or(0, |o| o.multichannel);
        let room = max.saturating_sub(pump.channels.len());
        pump.add_channels(room)
    }

    /// How many channels are bound besides this connection.
    pub fn channels(&self) -> usize {
        self.lock().channels.len()
    }
}
