//! A watched directory as a stream of changes.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Poll};

use bytes::Bytes;
use futures_core::Stream;
use smb_proto::ops::{self, BoxedOp, Change};

use crate::{Client, Result, Running, Step};

/// The changes in a directory, from [`Client::watch`]: a stream that waits for the
/// next change for as long as it takes. Dropping it stops the watch (the server's
/// request is cancelled and the directory closed).
pub struct WatchStream {
    op: Option<Running>,
    ready: VecDeque<Change>,
    /// The changes in hand came from the server, which waits to be asked again.
    pull: bool,
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream")
            .field("ready", &self.ready.len())
            .field("ended", &self.op.is_none())
            .finish()
    }
}

impl Client {
    /// Watches directory `path` on `share` (`""` for the root): changes matching
    /// `filter` ([`notify_filter`](crate::notify_filter) bits;
    /// [`DEFAULT_NOTIFY_FILTER`](crate::DEFAULT_NOTIFY_FILTER) for names, sizes, times
    /// and attributes), below it too when `recursive`. Returns once the server holds
    /// the watch: every change from then on comes through the stream, with no deadline
    /// (the client's timeout does not apply), until it is dropped.
    ///
    /// ```no_run
    /// # async fn demo(client: &smb_async::Client) -> smb_async::Result<()> {
    /// use smb_async::{Change, DEFAULT_NOTIFY_FILTER};
    /// let mut changes = client.watch("share", "inbox", DEFAULT_NOTIFY_FILTER, true).await?;
    /// while let Some(change) = changes.next().await {
    ///     if let Change::Added(name) = change? {
    ///         println!("new: {name}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing directory,
    /// [`ErrorKind::NotADirectory`](crate::ErrorKind::NotADirectory) for a file; the
    /// stream yields the watch's later failures (the directory deleted, the connection
    /// lost) and then ends.
    pub async fn watch(
        &self,
        share: &str,
        path: &str,
        filter: u32,
        recursive: bool,
    ) -> Result<WatchStream> {
        let op = ops::Watch::new(share, path)
            .filter(filter)
            .recursive(recursive);
        let mut w = WatchStream {
            op: Some(self.begin_timed(BoxedOp::new(op), None, None)?),
            ready: VecDeque::new(),
            pull: false,
        };
        // The first event says the server holds the watch (or already has changes).
        poll_fn(|cx| w.poll_step(cx)).await?;
        Ok(w)
    }
}

impl WatchStream {
    /// The next change; `None` once the watch ended (after its error, if it failed).
    pub async fn next(&mut self) -> Option<Result<Change>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Waits for the watch's next event: changes go to `ready`, the end drops the op.
    fn poll_step(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<()>> {
        let Some(op) = &mut self.op else {
            return Poll::Ready(Ok(()));
        };
        if std::mem::take(&mut self.pull) {
            op.supply(0, Bytes::new());
        }
        let step = ready!(op.poll_step(cx));
        Poll::Ready(match step {
            Ok(Step::Changes(changes)) => {
                self.pull = !changes.is_empty();
                self.ready.extend(changes);
                Ok(())
            }
            Ok(Step::Done(_)) => {
                self.op = None;
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => {
                self.op = None;
                Err(e)
            }
        })
    }
}

impl Stream for WatchStream {
    type Item = Result<Change>;

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<Change>>> {
        let this = self.get_mut();
        loop {
            if let Some(change) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(change)));
            }
            if this.op.is_none() {
                return Poll::Ready(None);
            }
            if let Err(e) = ready!(this.poll_step(cx)) {
                return Poll::Ready(Some(Err(e)));
            }
        }
    }
}
