//! SMB 3.x multichannel for the async client, as the blocking one has it: further
//! connections bound to the session as channels ([`Client::add_channel`]), and one
//! file's reads and writes striped over all of them, a task per channel. The core binds
//! a channel ([`smb_proto::Connection::new_channel`], [`ops::Login::bind`]) and makes
//! every striping decision ([`StripedRead`], [`StripedWrite`]); this runs the tasks.

use std::net::{IpAddr, SocketAddr};

use smb_proto::client::{StripeJob, StripedRead, StripedWrite, Stripes};
use smb_proto::ErrorKind;

use super::*;

/// What a channel's worker reports for a job: its channel, the job's result, and
/// whether the channel was lost with it.
type Report<R> = (usize, Result<R>, bool);

fn invalid(why: &str) -> Error {
    Error::Smb(smb_proto::Error::Invalid(why.into()))
}

impl Client {
    /// [`Client::add_channel`]'s work.
    pub(crate) async fn bind_channel_at(&self, addr: SocketAddr) -> Result<()> {
        let again = self.inner.again.as_ref();
        let opts = again.ok_or_else(|| invalid("a replayed connection has no channels"))?;
        let opts = opts.opts.channel(addr)?;
        let seed = self.channel_seed().await?;
        let binding = seed.binding()?;
        let (link, _) = Client::dial_core(&opts, &self.inner.runtime, |config| {
            smb_proto::Connection::new_channel(config, &seed, std::time::Instant::now())
        })
        .await?;
        let mut channel = Client::of(link, self.inner.runtime.clone(), None);
        channel.timeout = self.timeout;
        channel.call(binding).await?;
        tracing::info!(%addr, "channel bound");
        self.channel_list().push(channel);
        Ok(())
    }

    /// For [`Client::add_channels`]: how many channels may still be bound, the
    /// addresses this connection reached, and the server's port.
    pub(crate) async fn channel_room(&self) -> (usize, Vec<IpAddr>, u16) {
        let Some(again) = &self.inner.again else {
            return (0, Vec::new(), 0);
        };
        let (host, port) = (again.opts.host.clone(), again.opts.port);
        let room = again.opts.multichannel.saturating_sub(self.channels());
        let here = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => {
                blocking::unblock(move || {
                    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                        .map(|a| a.map(|a| a.ip()).collect())
                        .unwrap_or_default()
                })
                .await
            }
        };
        (room, here, port)
    }

    /// How many channels are bound besides this connection.
    pub fn channels(&self) -> usize {
        self.channel_list().len()
    }

    fn channel_list(&self) -> std::sync::MutexGuard<'_, Vec<Client>> {
        self.inner
            .channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What a channel needs, from the connection's task.
    async fn channel_seed(&self) -> Result<smb_proto::ChannelSeed> {
        let link = self.inner.link();
        let (tx, rx) = async_channel::bounded(1);
        link.send(Cmd::ChannelSeed(self.session, tx)).await?;
        Ok(rx.recv().await.map_err(|_| link.closed())??)
    }

    /// The seed after `share` is connected: the channels must know its tree.
    async fn share_seed(&self, share: &str) -> Result<smb_proto::ChannelSeed> {
        self.call(ops::ConnectShare::new(share)).await?;
        self.channel_seed().await
    }

    /// Sets the ChannelSequence this client's session's requests carry.
    async fn set_channel_sequence(&self, sequence: u16) {
        let _ = self
            .inner
            .link()
            .send(Cmd::ChannelSequence(self.session, sequence))
            .await;
    }

    /// The span size of a striped transfer on this session.
    pub(crate) fn stripe_span(&self) -> usize {
        Stripes::span_for(self.negotiated().max_write_size) as usize
    }

    /// This client and its channels, and a worker task for each running `run` on the
    /// jobs it is sent → the clients, the job senders, and where the reports come.
    #[allow(clippy::type_complexity)]
    async fn spawn_workers<R, Fut>(
        &self,
        seed: &smb_proto::ChannelSeed,
        run: impl Fn(Client, StripeJob) -> Fut + Clone + Send + 'static,
    ) -> (Vec<Client>, Vec<Sender<StripeJob>>, Receiver<Report<R>>)
    where
        R: Send + 'static,
        Fut: std::future::Future<Output = Result<R>> + Send + 'static,
    {
        let clients: Vec<Client> = std::iter::once(self.clone())
            .chain(self.channel_list().iter().cloned())
            .collect();
        // The channels learn the trees connected since they were bound, so that their
        // requests are encrypted as each share demands.
        for c in &clients[1..] {
            let _ = c
                .inner
                .link()
                .send(Cmd::JoinTrees(Box::new(seed.clone())))
                .await;
        }
        let (report, reports) = async_channel::unbounded::<Report<R>>();
        let workers = clients
            .iter()
            .enumerate()
            .map(|(channel, client)| {
                let (work, jobs) = async_channel::unbounded::<StripeJob>();
                let (client, report, run) = (client.clone(), report.clone(), run.clone());
                self.inner.runtime.spawn(Box::pin(async move {
                    while let Ok(job) = jobs.recv().await {
                        client.set_channel_sequence(job.sequence).await;
                        let r = run(client.clone(), job).await;
                        // A channel that went silent is as lost as one that closed.
                        let lost = r
                            .as_ref()
                            .is_err_and(|e| client.is_closed() || e.kind() == ErrorKind::TimedOut);
                        let _ = report.send((channel, r, lost)).await;
                        if lost {
                            return;
                        }
                    }
                }));
                work
            })
            .collect();
        (clients, workers, reports)
    }

    /// After a striped transfer: the channels not `lost` stay, every connection carrying
    /// ChannelSequence `sequence` from now on.
    async fn keep_channels(&self, clients: Vec<Client>, lost: &[bool], sequence: u16) {
        let mut kept = Vec::new();
        for (i, client) in clients.into_iter().enumerate() {
            if lost.get(i).copied().unwrap_or(false) {
                continue;
            }
            client.set_channel_sequence(sequence).await;
            if i > 0 {
                kept.push(client);
            }
        }
        *self.channel_list() = kept;
        self.inner
            .sequence
            .store(sequence, std::sync::atomic::Ordering::Relaxed);
    }

    /// Downloads what `op` reads striped over this client and its channels
    /// ([`StripedRead`]), when it has channels and the range is worth it (more than two
    /// spans); `None` leaves it to the one-connection path.
    pub(crate) async fn retrieve_striped<W>(
        &self,
        op: &ops::ReadFile,
        out: &mut W,
        progress: &mut ProgressFn<'_>,
    ) -> Option<Result<u64>>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let (share, path, start, limit) = op.target()?;
        let span = self.stripe_span() as u64;
        if self.channels() == 0 || limit.saturating_sub(start) <= 2 * span {
            return None;
        }
        let seed = match self.share_seed(share).await {
            Ok(seed) => seed,
            Err(e) => return Some(Err(e)),
        };
        let opened = self
            .call(ops::Open::new(share, path, OpenOptions::read()))
            .await;
        let (handle, info) = match opened {
            Ok(opened) => opened,
            Err(e) => return Some(Err(e)),
        };
        let end = info.size.clamp(start, limit);
        let (clients, workers, reports) = self
            .spawn_workers(&seed, move |c: Client, job: StripeJob| async move {
                c.call(ops::ReadRange::new(handle, job.offset, job.len))
                    .await
            })
            .await;
        let sequence = clients[0].channel_sequence_hint();
        let mut plan = StripedRead::new(start, end, span, clients.len(), sequence);
        let mut lost = vec![false; clients.len()];
        let read = async {
            loop {
                for job in plan.assign() {
                    let _ = workers[job.channel].send(job).await;
                }
                if plan.is_done() {
                    return Ok(end - start);
                }
                let (channel, result, gone) = reports
                    .recv()
                    .await
                    .map_err(|_| smb_proto::Error::Cancelled)?;
                lost[channel] |= gone;
                for bytes in plan.on_report(channel, result, gone)? {
                    out.write_all(&bytes).await?;
                }
                progress(plan.handed_on() - start, Some(end - start));
            }
        }
        .await;
        drop(workers);
        self.keep_channels(clients, &lost, plan.sequence()).await;
        let closed = self.close_on_a_live_channel(handle).await;
        Some(read.and_then(|n| closed.map(|()| n)))
    }

    /// Uploads `head` and then the rest of `input` as `op` says, striped over this
    /// client and its channels ([`StripedWrite`]): the file is opened once, spans are
    /// read here in order and written by whichever channel is free ([`ops::Write`]).
    pub(crate) async fn store_striped<R>(
        &self,
        op: &ops::WriteFile,
        head: Vec<u8>,
        input: &mut R,
        progress: &mut ProgressFn<'_>,
    ) -> Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        let (share, path, start, options) = op.target();
        let seed = self.share_seed(share).await?;
        let (handle, _) = self.call(ops::Open::new(share, path, options)).await?;
        let span = self.stripe_span();
        let (clients, workers, reports) = self
            .spawn_workers(&seed, move |c: Client, job: StripeJob| async move {
                c.call(ops::Write::new(handle, job.offset, job.data)).await
            })
            .await;
        let sequence = clients[0].channel_sequence_hint();
        let mut plan = StripedWrite::new(start, span, clients.len(), sequence);
        plan.feed(Bytes::from(head));
        let mut lost = vec![false; clients.len()];
        let written = async {
            loop {
                while plan.wants_input() {
                    let mut buf = vec![0; span];
                    let n = read_up_to(&mut *input, &mut buf).await?;
                    buf.truncate(n);
                    plan.feed(Bytes::from(buf));
                    if n < span {
                        plan.end_input();
                    }
                }
                for job in plan.assign() {
                    let _ = workers[job.channel].send(job).await;
                }
                if plan.is_done() {
                    return Ok(plan.acked());
                }
                let (channel, result, gone) = reports
                    .recv()
                    .await
                    .map_err(|_| smb_proto::Error::Cancelled)?;
                lost[channel] |= gone;
                // Sent before the session's ChannelSequence moved on: again.
                let stale = result
                    .as_ref()
                    .is_err_and(|e| e.status() == Some(NtStatus::FILE_NOT_AVAILABLE));
                plan.on_report(channel, result, gone, stale)?;
                progress(plan.acked(), None);
            }
        }
        .await;
        drop(workers);
        self.keep_channels(clients, &lost, plan.sequence()).await;
        let closed = self.close_on_a_live_channel(handle).await;
        written.and_then(|n| closed.map(|()| n))
    }

    /// The ChannelSequence striping starts from: channels are bound with the session's,
    /// and every striped transfer leaves all of them at the same one, kept here.
    fn channel_sequence_hint(&self) -> u16 {
        self.inner
            .sequence
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Closes `handle` on this connection, else on a channel that is up.
    async fn close_on_a_live_channel(&self, handle: ops::Handle) -> Result<()> {
        match self.call(ops::Close(handle)).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let channels: Vec<Client> = self.channel_list().clone();
                for c in channels {
                    if c.call(ops::Close(handle)).await.is_ok() {
                        return Ok(());
                    }
                }
                Err(e)
            }
        }
    }
}
