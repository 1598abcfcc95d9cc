//! One file's transfer striped over a session's channels (SMB 3.x multichannel): the
//! file is cut into spans, each channel moves one span at a time (a
//! [`ReadRange`](crate::ops::ReadRange) or a [`Write`](crate::ops::Write) on the
//! handle the session holds), and a span whose channel is lost goes to another.
//! Downloads hand their spans to the caller in file order ([`InOrder`]); spans are not
//! started further ahead of what was handed on than a bound, so memory stays bounded
//! whatever a slow channel does.
//!
//! ```
//! use smb_proto::client::{InOrder, Stripes};
//! let mut plan = Stripes::new(0, 10, 4, 4);
//! let a = plan.take(0).unwrap(); // (0, 4) to one channel
//! let b = plan.take(0).unwrap(); // (4, 4) to another
//! assert_eq!(plan.take(0), None); // 8 is too far ahead of what was handed on
//! plan.lost(a); // a's channel died: its span goes again
//! assert_eq!(plan.take(0), Some((0, 4)));
//! let mut order = InOrder::new(0);
//! order.put(4, bytes::Bytes::from_static(b"efgh"));
//! assert_eq!(order.pop(), None); // 0..4 not there yet
//! order.put(0, bytes::Bytes::from_static(b"abcd"));
//! assert_eq!(order.pop().as_deref(), Some(&b"abcd"[..]));
//! assert_eq!(order.pop().as_deref(), Some(&b"efgh"[..]));
//! ```

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

/// Which spans of `start..end` are still to move, and which are out.
#[derive(Debug, Clone)]
pub struct Stripes {
    span: u64,
    /// The next span not handed out yet starts here.
    next: u64,
    end: u64,
    /// How far past what was handed on a span may start.
    ahead: u64,
    /// Spans whose channel was lost, to hand out again first.
    again: VecDeque<(u64, u64)>,
    out: usize,
}

impl Stripes {
    /// Spans of `span` bytes over `start..end`, none starting more than `ahead` bytes
    /// past what was handed on ([`Stripes::take`]).
    pub fn new(start: u64, end: u64, span: u64, ahead: u64) -> Self {
        Stripes {
            span: span.max(1),
            next: start,
            end,
            ahead: ahead.max(span),
            again: VecDeque::new(),
            out: 0,
        }
    }

    /// The span size for a file over `channels` channels with READs or WRITEs of
    /// `max_io` bytes: eight of them, so a span keeps a channel's window busy.
    pub fn span_for(max_io: u32) -> u64 {
        u64::from(max_io.max(1)) * 8
    }

    /// The next span to move, as (offset, length): one whose channel was lost first,
    /// else the next in the file unless it starts more than the bound past `handed_on`
    /// (the caller waits for the writer to catch up). `None` when nothing may be taken.
    pub fn take(&mut self, handed_on: u64) -> Option<(u64, u64)> {
        let span = match self.again.pop_front() {
            Some(span) => span,
            None if self.next < self.end && self.next <= handed_on.saturating_add(self.ahead) => {
                let len = self.span.min(self.end - self.next);
                let span = (self.next, len);
                self.next += len;
                span
            }
            None => return None,
        };
        self.out += 1;
        Some(span)
    }

    /// A span taken was moved.
    pub fn finished(&mut self) {
        self.out = self.out.saturating_sub(1);
    }

    /// A span taken was not moved (its channel was lost): it goes out again.
    pub fn lost(&mut self, span: (u64, u64)) {
        self.out = self.out.saturating_sub(1);
        self.again.push_back(span);
    }

    /// Whether every span was moved.
    pub fn is_done(&self) -> bool {
        self.next >= self.end && self.again.is_empty() && self.out == 0
    }

    /// Whether spans are left that no channel holds.
    pub fn has_untaken(&self) -> bool {
        self.next < self.end || !self.again.is_empty()
    }
}

/// A striped download's spans, handed on in file order from where it starts.
#[derive(Debug, Default)]
pub struct InOrder {
    next: u64,
    held: BTreeMap<u64, Bytes>,
}

impl InOrder {
    /// Hands on bytes from `start`.
    pub fn new(start: u64) -> Self {
        InOrder {
            next: start,
            held: BTreeMap::new(),
        }
    }

    /// The bytes read at `offset`.
    pub fn put(&mut self, offset: u64, data: Bytes) {
        if !data.is_empty() {
            self.held.insert(offset, data);
        }
    }

    /// The next bytes in file order, if they are here.
    pub fn pop(&mut self) -> Option<Bytes> {
        let data = self.held.remove(&self.next)?;
        self.next += data.len() as u64;
        Some(data)
    }

    /// Everything before this offset was handed on.
    pub fn handed_on(&self) -> u64 {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_taken_once_unless_lost_and_then_once_more() {
        let mut plan = Stripes::new(0, 100, 30, 1000);
        let spans: Vec<_> = std::iter::from_fn(|| plan.take(0)).collect();
        assert_eq!(spans, [(0, 30), (30, 30), (60, 30), (90, 10)]);
        assert!(!plan.is_done());
        plan.lost(spans[1]);
        assert!(plan.has_untaken());
        assert_eq!(plan.take(0), Some((30, 30)));
        for _ in 0..4 {
            plan.finished();
        }
        assert!(plan.is_done());
        assert_eq!(plan.take(0), None);
    }

    #[test]
    fn spans_wait_for_the_writer_beyond_the_bound() {
        let mut plan = Stripes::new(0, 100, 10, 20);
        assert_eq!(plan.take(0), Some((0, 10)));
        assert_eq!(plan.take(0), Some((10, 10)));
        assert_eq!(plan.take(0), Some((20, 10)));
        assert_eq!(plan.take(0), None);
        assert_eq!(plan.take(10), Some((30, 10)));
        // A lost span goes again whatever the bound.
        plan.lost((0, 10));
        assert_eq!(plan.take(0), Some((0, 10)));
    }
}
