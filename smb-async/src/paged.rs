//! Streams of what an operation delivers a page at a time, asking the server for the
//! next page only once the last one was consumed: a directory listing's entries, a
//! watch's changes.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Poll};

use bytes::Bytes;
use futures_core::Stream;
use smb_proto::ops::Change;

use crate::{FileInfo, Result, Running, Step};

/// Directory entries from [`Client::list_path_stream`](crate::Client::list_path_stream).
pub type ListStream = Paged<FileInfo>;

/// The changes in a directory from [`Client::watch`](crate::Client::watch), for as long
/// as it takes.
pub type WatchStream = Paged<Change>;

/// What an operation delivers a page at a time, as a [`Stream`]: the next page is asked
/// for only when this one is consumed, so a slow consumer slows the server down rather
/// than filling memory. Dropping it cancels the operation (a watch's request is
/// cancelled and its directory closed).
pub struct Paged<T> {
    op: Option<Running>,
    page: VecDeque<T>,
    /// The page in hand came from the server, which waits to be asked for the next.
    pull: bool,
    /// The page a step carries, if it carries one.
    page_of: fn(Step) -> Option<Vec<T>>,
}

impl<T> std::fmt::Debug for Paged<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paged")
            .field("buffered", &self.buffered())
            .field("finished", &self.op.is_none())
            .finish()
    }
}

impl<T> Paged<T> {
    pub(crate) fn new(op: Running, page_of: fn(Step) -> Option<Vec<T>>) -> Self {
        Paged {
            op: Some(op),
            page: VecDeque::new(),
            pull: false,
            page_of,
        }
    }

    /// Items received from the server and not yet yielded: at most one page.
    pub fn buffered(&self) -> usize {
        self.page.len()
    }

    /// The next item; `None` once the operation ended (after its error, if it failed).
    pub async fn next(&mut self) -> Option<Result<T>> {
        poll_fn(|cx| self.poll_item(cx)).await
    }

    /// Waits for the operation's next event: a page goes to `page` (an empty one, a
    /// watch's "in place", asks for nothing), the end drops the operation.
    pub(crate) fn poll_page(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<()>> {
        let Some(op) = &mut self.op else {
            return Poll::Ready(Ok(()));
        };
        if std::mem::take(&mut self.pull) {
            op.supply(0, Bytes::new());
        }
        Poll::Ready(match ready!(op.poll_step(cx)) {
            Ok(Step::Done(_)) => {
                self.op = None;
                Ok(())
            }
            Ok(step) => {
                if let Some(page) = (self.page_of)(step) {
                    self.pull = !page.is_empty();
                    self.page.extend(page);
                }
                Ok(())
            }
            Err(e) => {
                self.op = None;
                Err(e)
            }
        })
    }

    fn poll_item(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<Result<T>>> {
        loop {
            if let Some(item) = self.page.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if self.op.is_none() {
                return Poll::Ready(None);
            }
            if let Err(e) = ready!(self.poll_page(cx)) {
                return Poll::Ready(Some(Err(e)));
            }
        }
    }
}

// Nothing in `Paged` is ever pinned in place: its items live in a `VecDeque`.
impl<T> Unpin for Paged<T> {}

impl<T> Stream for Paged<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Option<Result<T>>> {
        self.get_mut().poll_item(cx)
    }
}
