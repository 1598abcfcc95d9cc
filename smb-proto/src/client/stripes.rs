//! One file's transfer striped over a session's channels (SMB 3.x multichannel): the
//! file is cut into spans, each channel moves one span at a time (a
//! [`ReadRange`](crate::ops::ReadRange) or a [`Write`](crate::ops::Write) on the
//! handle the session holds), and a span whose channel is lost goes to another.
//! [`StripedRead`] and [`StripedWrite`] make every decision (which channel moves what,
//! the ChannelSequence after a loss, what to hand on); a driver only runs one worker per
//! channel. Downloads hand their spans on in file order ([`InOrder`]); spans are not
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

/// A download striped over a session's connection and its channels (numbered from 0,
/// the first connection): which channel reads which span next, the bytes to hand on in
/// file order as spans come back, and what a lost channel changes. The driver runs one
/// worker per channel (a thread, a task) that reads the spans it is given with
/// [`ReadRange`](crate::ops::ReadRange), with the ChannelSequence given, and reports
/// back; this decides everything else.
///
/// ```
/// use bytes::Bytes;
/// use smb_proto::client::StripedRead;
/// let mut read = StripedRead::new(0, 12, 4, 2, 0);
/// let jobs = read.assign(); // a span for each channel
/// assert_eq!(jobs.iter().map(|j| (j.channel, j.offset)).collect::<Vec<_>>(), [(0, 0), (1, 4)]);
/// // Channel 1 is lost: its span goes to channel 0 once that one is free, and the
/// // requests from now on carry ChannelSequence 1.
/// read.lost(1);
/// let out = read.read(0, Bytes::from_static(b"abcd")).unwrap();
/// assert_eq!(out, [Bytes::from_static(b"abcd")]);
/// let next = read.assign();
/// assert_eq!((next[0].channel, next[0].offset, next[0].sequence), (0, 4, 1));
/// ```
#[derive(Debug)]
pub struct StripedRead {
    plan: Stripes,
    order: InOrder,
    /// Each channel's span in progress; `None` when idle.
    busy: Vec<Option<(u64, u64)>>,
    crew: Crew,
}

/// A span for a channel to move: at `offset`, `len` bytes (a download) or `data` (an
/// upload), its requests carrying ChannelSequence `sequence`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeJob {
    /// The channel that moves it (0: the first connection).
    pub channel: usize,
    /// Where in the file.
    pub offset: u64,
    /// How many bytes.
    pub len: u64,
    /// For an upload, the bytes to write.
    pub data: Bytes,
    /// The ChannelSequence its requests carry (MS-SMB2 3.2.4.1).
    pub sequence: u16,
}

impl StripedRead {
    /// `start..end` of a file over `channels` channels (the first connection included)
    /// in spans of `span` bytes, requests carrying ChannelSequence `sequence`; spans
    /// start no further ahead of what was handed on than two per channel.
    pub fn new(start: u64, end: u64, span: u64, channels: usize, sequence: u16) -> Self {
        let channels = channels.max(1);
        StripedRead {
            plan: Stripes::new(start, end, span, span.saturating_mul(2 * channels as u64)),
            order: InOrder::new(start),
            busy: vec![None; channels],
            crew: Crew::new(channels, sequence),
        }
    }

    /// The spans to start now: one for each idle channel that is up, while spans are
    /// left within the bound.
    pub fn assign(&mut self) -> Vec<StripeJob> {
        let mut jobs = Vec::new();
        for channel in 0..self.busy.len() {
            if !self.crew.is_up(channel) || self.busy[channel].is_some() {
                continue;
            }
            let Some((offset, len)) = self.plan.take(self.order.handed_on()) else {
                break;
            };
            self.busy[channel] = Some((offset, len));
            jobs.push(StripeJob {
                channel,
                offset,
                len,
                data: Bytes::new(),
                sequence: self.crew.sequence,
            });
        }
        jobs
    }

    /// `channel` read its span: `data` → the bytes to hand on now, in file order.
    ///
    /// # Errors
    ///
    /// [`Error::Incomplete`](crate::Error::Incomplete) when the span came back short:
    /// the file ends before the size it had at open (it changed during the download).
    pub fn read(&mut self, channel: usize, data: Bytes) -> Result<Vec<Bytes>, crate::Error> {
        let Some((offset, len)) = self.busy.get_mut(channel).and_then(Option::take) else {
            return Err(crate::Error::Invalid(format!(
                "channel {channel} had no span"
            )));
        };
        self.plan.finished();
        if data.len() as u64 != len {
            let detail = format!(
                "end of file at {} inside what the size at open covered (the file changed during the download)",
                offset + data.len() as u64
            );
            return Err(crate::Error::Incomplete {
                op: "get",
                path: String::new(),
                detail,
            });
        }
        self.order.put(offset, data);
        Ok(std::iter::from_fn(|| self.order.pop()).collect())
    }

    /// `channel` is lost: its span goes to another, whose requests carry the next
    /// ChannelSequence (MS-SMB2 3.2.7.1) → that sequence.
    pub fn lost(&mut self, channel: usize) -> u16 {
        if let Some(span) = self.busy.get_mut(channel).and_then(Option::take) {
            self.plan.lost(span);
        }
        self.crew.down(channel)
    }

    /// What `channel`'s worker reported for its span (`lost`: the channel is gone with
    /// it) → the bytes to hand on now. A lost channel's span goes to another; the
    /// last channel lost, or any other failure, ends the download with its error.
    ///
    /// # Errors
    ///
    /// The report's error when it ends the download, or [`StripedRead::read`]'s.
    pub fn on_report<E: From<crate::Error>>(
        &mut self,
        channel: usize,
        result: Result<Bytes, E>,
        lost: bool,
    ) -> Result<Vec<Bytes>, E> {
        match result {
            Ok(data) => Ok(self.read(channel, data)?),
            Err(e) if lost => {
                self.lost(channel);
                after_loss(channel, e, self.any_alive()).map(|()| Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// Whether every byte was handed on.
    pub fn is_done(&self) -> bool {
        self.plan.is_done()
    }

    /// Whether some channel is up.
    pub fn any_alive(&self) -> bool {
        self.crew.alive.contains(&true)
    }

    /// The ChannelSequence requests carry now.
    pub fn sequence(&self) -> u16 {
        self.crew.sequence
    }

    /// Everything before this offset was handed on.
    pub fn handed_on(&self) -> u64 {
        self.order.handed_on()
    }
}

/// An upload striped over a session's connection and its channels (numbered from 0):
/// the driver feeds the input in spans ([`StripedWrite::feed`]) while
/// [`StripedWrite::wants_input`] says so, runs the jobs of [`StripedWrite::assign`]
/// with [`Write`](crate::ops::Write) on one worker per channel and reports back; a lost
/// channel's span, and a WRITE the server refused as sent before the ChannelSequence
/// moved on (STATUS_FILE_NOT_AVAILABLE, MS-SMB2 3.3.5.2.10), go out again.
///
/// ```
/// use bytes::Bytes;
/// use smb_proto::client::StripedWrite;
/// let mut write = StripedWrite::new(0, 4, 2, 0);
/// write.feed(Bytes::from_static(b"abcdefgh"));
/// write.end_input();
/// let jobs = write.assign();
/// assert_eq!(jobs.len(), 2);
/// write.lost(1); // its span goes again
/// write.written(0, 4).unwrap();
/// let again = write.assign();
/// assert_eq!((again[0].channel, again[0].offset, again[0].sequence), (0, 4, 1));
/// write.written(0, 4).unwrap();
/// assert!(write.is_done());
/// assert_eq!(write.acked(), 8);
/// ```
#[derive(Debug)]
pub struct StripedWrite {
    span: usize,
    start: u64,
    /// Where the next byte fed goes.
    next: u64,
    queued: VecDeque<(u64, Bytes)>,
    busy: Vec<Option<(u64, Bytes)>>,
    crew: Crew,
    input_done: bool,
    acked: u64,
    /// WRITEs refused as stale since one was last written.
    stale_in_a_row: u32,
}

/// Stale refusals in a row (STATUS_FILE_NOT_AVAILABLE, no WRITE written between them)
/// after which an upload gives up: the server refuses only while requests of the old
/// ChannelSequence are outstanding, so an endless run means it will not stop.
const MAX_STALE_IN_A_ROW: u32 = 16;

impl StripedWrite {
    /// An upload from `start` over `channels` channels in spans of `span` bytes,
    /// requests carrying ChannelSequence `sequence`.
    pub fn new(start: u64, span: usize, channels: usize, sequence: u16) -> Self {
        let channels = channels.max(1);
        StripedWrite {
            span: span.max(1),
            start,
            next: start,
            queued: VecDeque::new(),
            busy: vec![None; channels],
            crew: Crew::new(channels, sequence),
            input_done: false,
            acked: 0,
            stale_in_a_row: 0,
        }
    }

    /// Whether more input should be fed: fewer than two spans per channel wait.
    pub fn wants_input(&self) -> bool {
        !self.input_done && self.queued.len() < 2 * self.busy.len()
    }

    /// The span size to read input in.
    pub fn span(&self) -> usize {
        self.span
    }

    /// The next bytes of the input, cut into spans.
    pub fn feed(&mut self, mut data: Bytes) {
        while !data.is_empty() {
            let piece = data.split_to(self.span.min(data.len()));
            let len = piece.len() as u64;
            self.queued.push_back((self.next, piece));
            self.next += len;
        }
    }

    /// The input has ended: nothing more is fed.
    pub fn end_input(&mut self) {
        self.input_done = true;
    }

    /// The spans to write now: one for each idle channel that is up.
    pub fn assign(&mut self) -> Vec<StripeJob> {
        let mut jobs = Vec::new();
        for channel in 0..self.busy.len() {
            if !self.crew.is_up(channel) || self.busy[channel].is_some() {
                continue;
            }
            let Some((offset, data)) = self.queued.pop_front() else {
                break;
            };
            self.busy[channel] = Some((offset, data.clone()));
            jobs.push(StripeJob {
                channel,
                offset,
                len: data.len() as u64,
                data,
                sequence: self.crew.sequence,
            });
        }
        jobs
    }

    /// `channel` wrote `n` bytes of its span.
    ///
    /// # Errors
    ///
    /// [`Error::Incomplete`](crate::Error::Incomplete) when the server took fewer bytes
    /// than the span held.
    pub fn written(&mut self, channel: usize, n: u64) -> Result<(), crate::Error> {
        let Some((offset, data)) = self.busy.get_mut(channel).and_then(Option::take) else {
            return Err(crate::Error::Invalid(format!(
                "channel {channel} had no span"
            )));
        };
        if n != data.len() as u64 {
            let detail = format!("the server took {n} of {} bytes at {offset}", data.len());
            return Err(crate::Error::Incomplete {
                op: "put",
                path: String::new(),
                detail,
            });
        }
        self.acked += n;
        self.stale_in_a_row = 0;
        Ok(())
    }

    /// `channel`'s WRITE was refused as sent before the ChannelSequence moved on
    /// (STATUS_FILE_NOT_AVAILABLE): its span goes out again.
    pub fn refused(&mut self, channel: usize) {
        if let Some(span) = self.busy.get_mut(channel).and_then(Option::take) {
            self.queued.push_front(span);
        }
    }

    /// `channel` is lost: its span goes to another, whose requests carry the next
    /// ChannelSequence (MS-SMB2 3.2.7.1) → that sequence.
    pub fn lost(&mut self, channel: usize) -> u16 {
        self.refused(channel);
        self.crew.down(channel)
    }

    /// What `channel`'s worker reported for its span (`lost`: the channel is gone with
    /// it; `stale`: the server refused the WRITE as sent before the ChannelSequence moved
    /// on, STATUS_FILE_NOT_AVAILABLE). A lost channel's span and a stale one go out
    /// again (a stale one up to 16 times in a row); the last channel lost, or any
    /// other failure, ends the upload with its error.
    ///
    /// # Errors
    ///
    /// The report's error when it ends the upload, or [`StripedWrite::written`]'s.
    pub fn on_report<E: From<crate::Error>>(
        &mut self,
        channel: usize,
        result: Result<u64, E>,
        lost: bool,
        stale: bool,
    ) -> Result<(), E> {
        match result {
            Ok(n) => Ok(self.written(channel, n)?),
            Err(e) if lost => {
                self.lost(channel);
                after_loss(channel, e, self.any_alive())
            }
            Err(_) if stale && self.stale_in_a_row < MAX_STALE_IN_A_ROW => {
                self.stale_in_a_row += 1;
                self.refused(channel);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the input ended and every byte of it was written.
    pub fn is_done(&self) -> bool {
        self.input_done && self.queued.is_empty() && self.busy.iter().all(Option::is_none)
    }

    /// Whether some channel is up.
    pub fn any_alive(&self) -> bool {
        self.crew.alive.contains(&true)
    }

    /// The bytes the server acknowledged.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// The bytes fed so far.
    pub fn fed(&self) -> u64 {
        self.next - self.start
    }

    /// The ChannelSequence requests carry now.
    pub fn sequence(&self) -> u16 {
        self.crew.sequence
    }
}

/// Which channels of a striped transfer are up, and the ChannelSequence their requests
/// carry.
#[derive(Debug)]
struct Crew {
    alive: Vec<bool>,
    sequence: u16,
}

impl Crew {
    fn new(channels: usize, sequence: u16) -> Self {
        Crew {
            alive: vec![true; channels],
            sequence,
        }
    }

    fn is_up(&self, channel: usize) -> bool {
        self.alive.get(channel).copied().unwrap_or(false)
    }

    /// `channel` is lost: the others' requests carry the next ChannelSequence (MS-SMB2
    /// 3.2.7.1) → that sequence.
    fn down(&mut self, channel: usize) -> u16 {
        if let Some(up) = self.alive.get_mut(channel) {
            *up = false;
        }
        self.sequence = self.sequence.wrapping_add(1);
        self.sequence
    }
}

/// After `channel` was lost with `e`: the transfer goes on while a channel is up, and
/// ends with the last loss.
fn after_loss<E>(channel: usize, e: E, any_alive: bool) -> Result<(), E> {
    tracing::warn!(channel, "a channel was lost; the others take its spans");
    if any_alive {
        Ok(())
    } else {
        Err(e)
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

    #[test]
    fn a_striped_read_hands_spans_on_in_order_and_refuses_a_short_one() {
        let mut read = StripedRead::new(0, 10, 4, 2, 7);
        let jobs = read.assign();
        assert_eq!(jobs.len(), 2);
        assert!(jobs.iter().all(|j| j.sequence == 7));
        // The second span first: held until the first is in.
        assert!(read
            .read(1, Bytes::from_static(b"efgh"))
            .unwrap()
            .is_empty());
        let out = read.read(0, Bytes::from_static(b"abcd")).unwrap();
        assert_eq!(
            out,
            [Bytes::from_static(b"abcd"), Bytes::from_static(b"efgh")]
        );
        let last = read.assign();
        assert_eq!((last[0].offset, last[0].len), (8, 2));
        assert!(!read.is_done());
        // Only one byte where two were due: the file shrank.
        let err = read
            .read(last[0].channel, Bytes::from_static(b"i"))
            .unwrap_err();
        assert!(matches!(err, crate::Error::Incomplete { .. }), "{err:?}");
    }

    #[test]
    fn every_channel_lost_leaves_none_alive_and_each_loss_moves_the_sequence() {
        let mut read = StripedRead::new(0, 100, 10, 3, 0);
        read.assign();
        assert_eq!(read.lost(2), 1);
        assert_eq!(read.lost(0), 2);
        assert!(read.any_alive());
        // The survivor gets the lost spans once it is free, with the new sequence.
        read.read(1, Bytes::from(vec![0; 10])).unwrap();
        let jobs = read.assign();
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            (jobs[0].channel, jobs[0].offset, jobs[0].sequence),
            (1, 20, 2)
        );
        read.lost(1);
        assert!(!read.any_alive());
        assert!(read.assign().is_empty());
    }

    #[test]
    fn a_striped_write_takes_input_while_two_spans_per_channel_wait() {
        let mut write = StripedWrite::new(100, 4, 2, 0);
        let mut fed = 0;
        while write.wants_input() {
            write.feed(Bytes::from(vec![1; 4]));
            fed += 1;
        }
        assert_eq!(fed, 4);
        let jobs = write.assign();
        assert_eq!((jobs[0].offset, jobs[1].offset), (100, 104));
        assert!(write.wants_input());
        // A WRITE refused as stale goes again first; a short one is an error.
        write.refused(1);
        let again = write.assign();
        assert_eq!((again[0].channel, again[0].offset), (1, 104));
        let err = write.written(0, 3).unwrap_err();
        assert!(matches!(err, crate::Error::Incomplete { .. }), "{err:?}");
        write.written(1, 4).unwrap();
        assert_eq!(write.acked(), 4);
        assert!(!write.is_done(), "the input has not ended");
        write.end_input();
        assert!(!write.wants_input());
        while !write.is_done() {
            for job in write.assign() {
                write.written(job.channel, job.len).unwrap();
            }
        }
        assert_eq!((write.acked(), write.fed()), (12, 16));
    }

    #[test]
    fn stale_refusals_go_again_but_not_forever() {
        let stale = || Err::<u64, crate::Error>(crate::Error::Cancelled);
        let mut write = StripedWrite::new(0, 4, 1, 0);
        write.feed(Bytes::from(vec![1; 4]));
        write.end_input();
        for _ in 0..MAX_STALE_IN_A_ROW {
            assert_eq!(write.assign().len(), 1);
            write.on_report(0, stale(), false, true).unwrap();
        }
        assert_eq!(write.assign().len(), 1);
        assert!(
            write.on_report(0, stale(), false, true).is_err(),
            "gives up"
        );
        // A WRITE that goes through starts the count again.
        let mut write = StripedWrite::new(0, 4, 1, 0);
        write.feed(Bytes::from(vec![1; 8]));
        write.end_input();
        for _ in 0..MAX_STALE_IN_A_ROW {
            write.assign();
            write.on_report(0, stale(), false, true).unwrap();
        }
        write.assign();
        write
            .on_report::<crate::Error>(0, Ok(4), false, false)
            .unwrap();
        write.assign();
        write.on_report(0, stale(), false, true).unwrap();
    }
}
