//! Many-file calls spread over several connections
//! ([`ConnectOptions::connections`](smb_proto::client::ConnectOptions::connections)),
//! as the blocking client does: the core decides how many connections, which files
//! each takes and what the parts' results make together ([`spread`], [`merge_spread`],
//! [`ops::ListTreeTop`]); this makes the extra clients for the call, runs the parts as
//! tasks of their own and closes the extras after.

use smb_proto::client::{merge_spread, spread_parts, MIN_FILES_PER_CONNECTION};
use smb_proto::ops::TreeEntry;

use super::*;

/// The extra clients of one spread call, closed when it ends.
#[derive(Default)]
pub(crate) struct Extras(pub(crate) Vec<Client>);

impl Extras {
    /// Logs each extra client off and closes it.
    pub(crate) async fn close(self) {
        for c in self.0 {
            let _ = c.close().await;
        }
    }
}

impl Client {
    /// How many connections a call may spread over, the options to make them with and
    /// the credentials to log them in with: `None` when it stays on this one (the
    /// options allow one, the call runs in an added session, or a replayed connection).
    fn spread_connections(&self) -> Option<(usize, &ConnectOptions, Credentials)> {
        let opts = &self.inner.again.as_ref()?.opts;
        if opts.connections < 2 || self.session != SessionSlot::DEFAULT {
            return None;
        }
        let sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let creds = sessions.iter().find(|(s, _)| *s == SessionSlot::DEFAULT)?;
        Some((opts.connections, opts, creds.1.clone()))
    }

    /// Makes the extra clients of a call over `items` files or directories, unless
    /// `extras` has them already: up to [`spread_width`] − 1, side by side, each logged
    /// in as this one's session. One that cannot be made leaves its share to the others
    /// (a warning says why); none are made for a recording.
    pub(crate) async fn make_extras(&self, extras: &mut Extras, items: usize) {
        let Some((_, opts, creds)) = self.spread_connections() else {
            return;
        };
        if !extras.0.is_empty() {
            return;
        }
        let runtime = self.inner.runtime.clone();
        let parts = opts.extra_connections(items);
        let made = self.on_tasks(parts, move |o: ConnectOptions| {
            let (runtime, creds) = (runtime.clone(), creds.clone());
            async move { Client::connect_as(&o, runtime, creds).await }
        });
        for made in made.await {
            match made {
                Ok(mut c) => {
                    c.timeout = self.timeout;
                    extras.0.push(c)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "an extra connection could not be made; the others take its share");
                }
            }
        }
    }

    /// Runs `run` on each of `parts` as a task of its own, side by side; the results
    /// in the parts' order.
    async fn on_tasks<T, R, F>(&self, parts: Vec<T>, run: impl Fn(T) -> F) -> Vec<R>
    where
        R: Send + 'static,
        F: std::future::Future<Output = R> + Send + 'static,
    {
        let mut results = Vec::with_capacity(parts.len());
        for part in parts {
            let (tx, rx) = async_channel::bounded(1);
            let task = run(part);
            self.inner.runtime.spawn(Box::pin(async move {
                let _ = tx.send(task.await).await;
            }));
            results.push(rx);
        }
        let mut out = Vec::with_capacity(results.len());
        for rx in results {
            // A task that ended without a result was dropped with its runtime.
            match rx.recv().await {
                Ok(r) => out.push(r),
                Err(_) => return Vec::new(),
            }
        }
        out
    }

    /// The clients a spread call's parts run on: this one, then `extras`.
    fn with_extras(&self, extras: &Extras) -> Vec<Client> {
        std::iter::once(self.clone())
            .chain(extras.0.iter().cloned())
            .collect()
    }

    /// `files` (of these `sizes`) moved by `run`, spread over this client and `extras`
    /// ([`spread`]), their results merged by [`merge_spread`]; all on this client when
    /// there are no extras.
    pub(crate) async fn spread_files<F, Fut>(
        &self,
        extras: &Extras,
        files: &[F],
        sizes: &[u64],
        name: impl Fn(&F) -> String,
        run: impl Fn(Client, Vec<F>) -> Fut,
    ) -> Result<u64>
    where
        F: Clone + Send + 'static,
        Fut: std::future::Future<Output = Result<u64>> + Send + 'static,
    {
        if extras.0.is_empty() {
            return run(self.clone(), files.to_vec()).await;
        }
        let parts = spread_parts(files, sizes, extras.0.len() + 1, name);
        let names: Vec<Vec<String>> = parts.iter().map(|p| p.names.clone()).collect();
        let parts: Vec<(Client, Vec<F>)> = self
            .with_extras(extras)
            .into_iter()
            .zip(parts)
            .map(|(c, p)| (c, p.files))
            .collect();
        let results = self.on_tasks(parts, |(c, files)| run(c, files)).await;
        if results.len() != names.len() {
            return Err(smb_proto::Error::Cancelled.into());
        }
        merge_spread(names.into_iter().zip(results).collect())
    }

    /// [`Client::list_tree`]'s work.
    pub(crate) async fn spread_list_tree(&self, share: &str, dir: &str) -> Result<Vec<TreeEntry>> {
        let mut extras = Extras::default();
        let listed = self.list_tree_on(share, dir, &mut extras).await;
        extras.close().await;
        listed
    }

    /// [`Client::list_tree`] with the extra clients of the call it is part of.
    pub(crate) async fn list_tree_on(
        &self,
        share: &str,
        dir: &str,
        extras: &mut Extras,
    ) -> Result<Vec<TreeEntry>> {
        let Some((n, ..)) = self.spread_connections() else {
            return self.call(ops::ListTree::new(share, dir)).await;
        };
        let top = ops::ListTreeTop::new(share, dir, n * MIN_FILES_PER_CONNECTION);
        let top = self.call(top).await?;
        self.make_extras(extras, top.unlisted.len()).await;
        let parts: Vec<(Client, ops::ListTree)> = self
            .with_extras(extras)
            .into_iter()
            .zip(top.rest(share, dir, extras.0.len() + 1))
            .collect();
        let count = parts.len();
        let listed = self
            .on_tasks(parts, |(c, op)| async move { c.call(op).await })
            .await;
        let mut entries = top.entries;
        if listed.len() != count {
            return Err(smb_proto::Error::Cancelled.into());
        }
        for part in listed {
            entries.extend(part?);
        }
        Ok(entries)
    }
}
