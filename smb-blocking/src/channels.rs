//! SMB 3.x multichannel: further connections bound to the session as channels
//! ([`Connection::add_channel`]), and one file's reads and writes striped over all of
//! them, each channel on a thread of its own. The core binds a channel
//! ([`smb_proto::Connection::new_channel`], [`ops::Login::bind`]) and makes every
//! striping decision ([`StripedRead`], [`StripedWrite`]); this owns the sockets and the
//! threads.

use std::net::SocketAddr;
use std::sync::mpsc;

use smb_proto::client::{StripeJob, StripedRead, StripedWrite, Stripes};

use super::*;

/// What a channel's worker reports for a job: its channel, the job's result, and
/// whether the channel was lost with it.
type Report<R> = (usize, Result<R>, bool);

impl Pump {
    /// A connection to `addr` bound to this one's default session as a channel.
    fn bind_channel(&self, addr: SocketAddr) -> Result<Pump> {
        let opts = self.opts.as_deref().ok_or_else(|| {
            Error::Smb(smb_proto::Error::Invalid(
                "a replayed connection has no channels".into(),
            ))
        })?;
        let opts = opts.channel(addr)?;
        let seed = self.core.channel_seed(SessionSlot::DEFAULT)?;
        let binding = seed.binding()?;
        let sock =
            TcpStream::connect_timeout(&addr, opts.timeout).map_err(|e| opts.connect_error(e))?;
        sock.set_nodelay(true)?;
        let config = opts.config(os_seed, FileTime::from_system_time(SystemTime::now()).0);
        let sock = replay::Socket::new(sock, &opts, &config)?;
        let core = smb_proto::Connection::new_channel(config, &seed, Instant::now());
        let mut channel = Pump::new(sock, core);
        channel.op_timeout = self.op_timeout;
        channel.call(binding)?;
        tracing::info!(%addr, "channel bound");
        Ok(channel)
    }

    /// The span size of a striped transfer on this session.
    pub(crate) fn stripe_span(&self) -> usize {
        let max_io = self.core.negotiated().map_or(65536, |n| n.max_write_size);
        Stripes::span_for(max_io) as usize
    }

    /// Runs `coordinate` on this thread with a worker thread per channel (this
    /// connection first, then its channels), each running `run` on the jobs it is sent
    /// and reporting back; then keeps the channels that were not lost, every connection
    /// carrying ChannelSequence `sequence()` from now on.
    fn on_channels<R: Send>(
        &mut self,
        run: impl Fn(&mut Pump, &StripeJob) -> Result<R> + Sync,
        coordinate: impl FnOnce(&[mpsc::Sender<StripeJob>], &mpsc::Receiver<Report<R>>) -> Result<u64>,
        sequence: impl FnOnce() -> u16,
    ) -> Result<u64> {
        // The channels learn the trees connected since they were bound, so that their
        // requests are encrypted as each share demands.
        let seed = self.core.channel_seed(SessionSlot::DEFAULT)?;
        for c in &mut self.channels {
            c.core.join_trees(&seed);
        }
        let mut channels = std::mem::take(&mut self.channels);
        let (report, reports) = mpsc::channel::<Report<R>>();
        let (workers, queues): (Vec<_>, Vec<_>) = (0..=channels.len())
            .map(|_| mpsc::channel::<StripeJob>())
            .unzip();
        let parts: Vec<_> = queues.into_iter().map(|q| (q, report.clone())).collect();
        drop(report);
        let (lost, result) = self.on_parts(
            &mut channels,
            parts,
            |channel, pump, (jobs, report)| {
                for job in jobs {
                    pump.core
                        .set_channel_sequence(SessionSlot::DEFAULT, job.sequence);
                    let r = run(pump, &job);
                    // A channel that went silent is as lost as one that closed: its span
                    // goes to another rather than failing the transfer.
                    let lost = r.as_ref().is_err_and(|e| {
                        pump.core.close_reason().is_some() || e.kind() == ErrorKind::TimedOut
                    });
                    let _ = report.send((channel, r, lost));
                    if lost {
                        return true;
                    }
                }
                false
            },
            || {
                let result = coordinate(&workers, &reports);
                // The workers end with the job they hold.
                drop(workers);
                result
            },
        );
        let sequence = sequence();
        for (channel, lost) in channels.into_iter().zip(lost.into_iter().skip(1)) {
            if !lost {
                self.channels.push(channel);
            }
        }
        self.core
            .set_channel_sequence(SessionSlot::DEFAULT, sequence);
        for pump in &mut self.channels {
            pump.core
                .set_channel_sequence(SessionSlot::DEFAULT, sequence);
        }
        result
    }

    /// Uploads `head` and then the rest of `input` as `op` says, striped over this
    /// connection and its channels ([`StripedWrite`]): the file is opened once, spans
    /// are read here in order and written by whichever channel is free
    /// ([`ops::Write`]).
    pub(crate) fn store_striped(
        &mut self,
        op: &ops::WriteFile,
        head: Vec<u8>,
        input: &mut dyn Read,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64> {
        let (share, path, start, options) = op.target();
        let (handle, _) = self.call(ops::Open::new(share, path, options))?;
        let ways = self.channels.len() + 1;
        let span = self.stripe_span();
        let mut plan = StripedWrite::new(
            start,
            span,
            ways,
            self.core.channel_sequence(SessionSlot::DEFAULT),
        );
        plan.feed(Bytes::from(head));
        let plan = std::cell::RefCell::new(plan);
        let written = self.on_channels(
            |pump, job| pump.call(ops::Write::new(handle, job.offset, job.data.clone())),
            |workers, reports| {
                let mut plan = plan.borrow_mut();
                loop {
                    while plan.wants_input() {
                        let mut buf = vec![0; span];
                        let n = read_up_to(input, &mut buf)?;
                        buf.truncate(n);
                        plan.feed(Bytes::from(buf));
                        if n < span {
                            plan.end_input();
                        }
                    }
                    for job in plan.assign() {
                        let _ = workers[job.channel].send(job);
                    }
                    if plan.is_done() {
                        return Ok(plan.acked());
                    }
                    // Every worker reports before it ends: none left is a cancel.
                    let (channel, result, lost) =
                        reports.recv().map_err(|_| smb_proto::Error::Cancelled)?;
                    // Sent before the session's ChannelSequence moved on: again.
                    let stale = result
                        .as_ref()
                        .is_err_and(|e| e.status() == Some(NtStatus::FILE_NOT_AVAILABLE));
                    plan.on_report(channel, result, lost, stale)?;
                    progress(plan.acked(), None);
                }
            },
            || plan.borrow().sequence(),
        );
        let closed = self.close_on_a_live_channel(handle);
        written.and_then(|n| closed.map(|()| n))
    }

    /// Downloads what `op` reads striped over this connection and its channels
    /// ([`StripedRead`]), when it has channels and the range is worth it (more than two
    /// spans); `None` leaves it to the one-connection path.
    pub(crate) fn retrieve_striped(
        &mut self,
        op: &ops::ReadFile,
        out: &mut dyn Write,
        progress: &mut ProgressFn<'_>,
    ) -> Option<Result<u64>> {
        let (share, path, start, limit) = op.target()?;
        let span = self.stripe_span() as u64;
        if self.channels.is_empty() || limit.saturating_sub(start) <= 2 * span {
            return None;
        }
        let (handle, info) = match self.call(ops::Open::new(share, path, OpenOptions::read())) {
            Ok(opened) => opened,
            Err(e) => return Some(Err(e)),
        };
        let end = info.size.clamp(start, limit);
        let ways = self.channels.len() + 1;
        let plan = StripedRead::new(
            start,
            end,
            span,
            ways,
            self.core.channel_sequence(SessionSlot::DEFAULT),
        );
        let plan = std::cell::RefCell::new(plan);
        let read = self.on_channels(
            |pump, job| pump.call(ops::ReadRange::new(handle, job.offset, job.len)),
            |workers, reports| {
                let mut plan = plan.borrow_mut();
                loop {
                    for job in plan.assign() {
                        let _ = workers[job.channel].send(job);
                    }
                    if plan.is_done() {
                        return Ok(end - start);
                    }
                    // Every worker reports before it ends: none left is a cancel.
                    let (channel, result, lost) =
                        reports.recv().map_err(|_| smb_proto::Error::Cancelled)?;
                    for bytes in plan.on_report(channel, result, lost)? {
                        out.write_all(&bytes)?;
                    }
                    progress(plan.handed_on() - start, Some(end - start));
                }
            },
            || plan.borrow().sequence(),
        );
        let closed = self.close_on_a_live_channel(handle);
        Some(read.and_then(|n| closed.map(|()| n)))
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

impl Connection {
    /// [`Connection::add_channel`]'s work.
    pub(crate) fn bind_channel_at(&self, addr: SocketAddr) -> Result<()> {
        let mut pump = self.lock();
        let channel = pump.bind_channel(addr)?;
        pump.channels.push(channel);
        Ok(())
    }

    /// For [`Connection::add_channels`]: how many channels may still be bound, the
    /// addresses this connection reached, and the server's port.
    pub(crate) fn channel_room(&self) -> (usize, Vec<std::net::IpAddr>, u16) {
        let pump = self.lock();
        let Some(opts) = pump.opts.as_deref() else {
            return (0, Vec::new(), 0);
        };
        let here = (opts.host.as_str(), opts.port)
            .to_socket_addrs()
            .map(|a| a.map(|a| a.ip()).collect())
            .unwrap_or_default();
        let room = opts.multichannel.saturating_sub(pump.channels.len());
        (room, here, opts.port)
    }

    /// How many channels are bound besides this connection.
    pub fn channels(&self) -> usize {
        self.lock().channels.len()
    }
}
