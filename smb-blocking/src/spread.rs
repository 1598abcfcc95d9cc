//! Many-file calls spread over several connections
//! ([`ConnectOptions::connections`](smb_proto::client::ConnectOptions::connections)).
//! The core decides how many connections, which files each takes and what the parts'
//! results make together ([`spread`], [`merge_spread`], [`ops::ListTreeTop`]); this
//! makes the extra connections for the call, runs the parts on threads of their own
//! and merges their progress.

use std::sync::mpsc;

use smb_proto::client::{merge_spread, spread_parts, Part, SpreadTally, MIN_FILES_PER_CONNECTION};
use smb_proto::ops::TreeEntry;

use super::*;

/// One part's progress, sent to the calling thread, which reports the whole.
struct PartReport {
    part: usize,
    files_done: u64,
    bytes_done: u64,
    finished: Option<(String, Option<smb_proto::Error>)>,
}

impl Pump {
    /// How many connections a call may spread over: `None` when it stays on this one (the
    /// options allow one, the call runs in an added session, or the login kept no
    /// credentials to log extra connections in with).
    fn spread_connections(&self) -> Option<usize> {
        let n = self.opts.as_ref()?.connections;
        let creds = self.core.session_credentials(SessionSlot::DEFAULT);
        (n > 1 && self.session == SessionSlot::DEFAULT && creds.is_some()).then_some(n)
    }

    /// Makes the extra connections of a call over `items` files or directories, unless
    /// `extras` has them already: up to [`spread_width`] − 1, side by side, each logged
    /// in as this one's session. One that cannot be made leaves its share to the others
    /// (a warning says why); none are made for a recording.
    pub(crate) fn make_extras(&self, extras: &mut Vec<Pump>, items: usize) {
        let (Some(_), Some(opts)) = (self.spread_connections(), self.opts.as_deref()) else {
            return;
        };
        let Some(creds) = self.core.session_credentials(SessionSlot::DEFAULT) else {
            return;
        };
        if !extras.is_empty() {
            return;
        }
        let timeout = self.op_timeout;
        *extras = std::thread::scope(|s| {
            let dials: Vec<_> = opts
                .extra_connections(items)
                .into_iter()
                .map(|o| {
                    let creds = creds.clone();
                    s.spawn(move || Pump::dial_as(&o, creds))
                })
                .collect();
            dials
                .into_iter()
                .filter_map(|d| match joined(d) {
                    Ok(pump) => Some(Pump {
                        op_timeout: timeout,
                        ..pump
                    }),
                    Err(e) => {
                        tracing::warn!(error = %e, "an extra connection could not be made; the others take its share");
                        None
                    }
                })
                .collect()
        });
    }

    /// Runs `run` on each of `parts` side by side, the first on this connection and the
    /// others on `extras`, while `meanwhile` runs on the calling thread; the results in
    /// the parts' order.
    pub(crate) fn on_parts<T: Send, R: Send, M>(
        &mut self,
        extras: &mut [Pump],
        parts: Vec<T>,
        run: impl Fn(usize, &mut Pump, T) -> R + Sync,
        meanwhile: impl FnOnce() -> M,
    ) -> (Vec<R>, M) {
        let run = &run;
        std::thread::scope(|s| {
            let pumps = std::iter::once(self).chain(extras.iter_mut());
            let handles: Vec<_> = pumps
                .zip(parts)
                .enumerate()
                .map(|(i, (pump, part))| s.spawn(move || run(i, pump, part)))
                .collect();
            let m = meanwhile();
            (handles.into_iter().map(joined).collect(), m)
        })
    }

    /// `files` (of these `sizes`) moved by `run`, spread over this connection and
    /// `extras` ([`spread`]), their progress merged into `progress` and their results by
    /// [`merge_spread`]; all on this connection when there are no extras.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn spread_files<F: Clone + Send + Sync>(
        &mut self,
        extras: &mut [Pump],
        files: &[F],
        sizes: &[u64],
        name: impl Fn(&F) -> String,
        progress: &mut TreeProgressFn<'_>,
        run: impl Fn(&mut Pump, &[F], u64, &mut TreeProgressFn<'_>) -> Result<u64> + Sync,
    ) -> Result<u64> {
        let bytes_total = sizes.iter().sum();
        if extras.is_empty() {
            return run(self, files, bytes_total, progress);
        }
        let parts = spread_parts(files, sizes, extras.len() + 1, name);
        let names: Vec<Vec<String>> = parts.iter().map(|p| p.names.clone()).collect();
        // Each part owns a sender: the reports end when the last part does.
        let (tx, rx) = mpsc::channel::<PartReport>();
        let parts: Vec<(Part<F>, mpsc::Sender<PartReport>)> =
            parts.into_iter().map(|p| (p, tx.clone())).collect();
        drop(tx);
        let files_total = files.len() as u64;
        let mut tally = SpreadTally::new(parts.len());
        let (results, ()) = self.on_parts(
            extras,
            parts,
            |part, pump, (p, tx)| {
                let mut report = |r: &TreeProgress<'_>| {
                    let _ = tx.send(PartReport {
                        part,
                        files_done: r.files_done,
                        bytes_done: r.bytes_done,
                        finished: r.finished.map(|(n, e)| (n.to_string(), e.cloned())),
                    });
                };
                run(pump, &p.files, p.bytes, &mut report)
            },
            || {
                for r in rx {
                    let (files_done, bytes_done) = tally.update(r.part, r.files_done, r.bytes_done);
                    progress(&TreeProgress {
                        files_done,
                        files_total,
                        bytes_done,
                        bytes_total,
                        finished: r.finished.as_ref().map(|(n, e)| (n.as_str(), e.as_ref())),
                    });
                }
            },
        );
        merge_spread(names.into_iter().zip(results).collect())
    }

    /// The tree under `dir`, its upper levels listed here until there are enough
    /// directories left to share ([`ops::ListTreeTop`]), the rest over this connection
    /// and `extras` (made if need be), each listing a part ([`ops::ListTree::within`]).
    pub(crate) fn list_tree_on(
        &mut self,
        share: &str,
        dir: &str,
        extras: &mut Vec<Pump>,
    ) -> Result<Vec<TreeEntry>> {
        let Some(n) = self.spread_connections() else {
            return self.call(ops::ListTree::new(share, dir));
        };
        let top = self.call(ops::ListTreeTop::new(
            share,
            dir,
            n * MIN_FILES_PER_CONNECTION,
        ))?;
        self.make_extras(extras, top.unlisted.len());
        let rest = top.rest(share, dir, extras.len() + 1);
        let (listed, ()) = self.on_parts(extras, rest, |_, pump, op| pump.call(op), || {});
        let mut entries = top.entries;
        for part in listed {
            entries.extend(part?);
        }
        Ok(entries)
    }
}

/// A scoped thread's result; its panic goes on in the caller.
pub(crate) fn joined<R>(handle: std::thread::ScopedJoinHandle<'_, R>) -> R {
    handle
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
}
