//! Watching a directory: [`Client::watch`].

use std::future::poll_fn;

use smb_proto::ops::{self, BoxedOp};

use crate::{Client, Result, Step, WatchStream};

impl Client {
    /// Watches directory `path` on `share` (`""` for the root): changes matching
    /// `filter` ([`notify_filter`](crate::notify_filter) bits;
    /// [`DEFAULT_NOTIFY_FILTER`](crate::DEFAULT_NOTIFY_FILTER) for names, sizes, times
    /// and attributes), below it too when `recursive`. Returns once the server holds
    /// the request (see [`ops::Watch`] for Samba's moment of delay after that); changes
    /// come through the stream with no deadline (the client's timeout does not apply)
    /// until it is dropped.
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
        let running = self.begin_timed(BoxedOp::new(op), None, None)?;
        let mut w = WatchStream::new(running, |step| match step {
            Step::Changes(changes) => Some(changes),
            _ => None,
        });
        // The first event says the server holds the watch (or already has changes).
        poll_fn(|cx| w.poll_page(cx)).await?;
        Ok(w)
    }
}
