//! SMB 3.x multichannel: further connections bound to the session as channels
//! ([`Connection::add_channel`]), and one file's reads striped over all of them, each
//! channel on a thread of its own. The core binds a channel
//! ([`smb_proto::Connection::new_channel`], [`ops::Login::bind`]) and plans the spans
//! ([`Stripes`], [`InOrder`]); this owns the sockets and the threads.

use std::net::SocketAddr;
use std::sync::mpsc;

use smb_proto::client::{channel_targets, StripeJob, StripedRead, StripedWrite, Stripes};

use super::*;

/// What a channel's worker reports for a job: its channel, the job's result, and
/// whether the channel was lost with it.
type Report<R> = (usize, Result<R>, bool);

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
        let mut channels = std::mem::take(&mut self.channels);
        let (report, reports) = mpsc::channel::<Report<R>>();
        let run = &run;
        let (result, lost) = std::thread::scope(|s| {
            let mut workers = Vec::new();
            let mut threads = Vec::new();
            for (channel, pump) in std::iter::once(&mut *self)
                .chain(channels.iter_mut())
                .enumerate()
            {
                let (work, jobs) = mpsc::channel::<StripeJob>();
                workers.push(work);
                let report = report.clone();
                threads.push(s.spawn(move || {
                    for job in jobs {
                        pump.core
                            .set_channel_sequence(SessionSlot::DEFAULT, job.sequence);
                        let r = run(pump, &job);
                        // A channel that went silent is as lost as one that closed: its
                        // span goes to another rather than failing the transfer.
                        let lost = r.as_ref().is_err_and(|e| {
                            pump.core.close_reason().is_some() || e.kind() == ErrorKind::TimedOut
                        });
                        let _ = report.send((channel, r, lost));
                        if lost {
                            return true;
                        }
                    }
                    false
                }));
            }
            drop(report);
            let result = coordinate(&workers, &reports);
            // The workers end with the job they hold.
            drop(workers);
            let lost: Vec<bool> = threads.into_iter().map(crate::spread::joined).collect();
            (result, lost)
        });
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
                    let Ok((channel, result, lost)) = reports.recv() else {
                        return Err(every_channel_lost());
                    };
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
                    let Ok((channel, result, lost)) = reports.recv() else {
                        return Err(every_channel_lost());
                    };
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

/// The error of a striped transfer whose workers all ended without a report (which
/// the plan's own accounting rules out).
fn every_channel_lost() -> Error {
    Error::Smb(smb_proto::Error::Invalid(
        "every channel of the transfer ended".into(),
    ))
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
