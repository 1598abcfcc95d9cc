//! TCP reassembly: one direction of a connection back into the byte stream its sender
//! wrote, whatever order the capture holds the segments in.
//!
//! Sequence numbers are compared as signed 32-bit distances from the next expected one,
//! so wraparound needs no special case, and positions are kept as 64-bit stream offsets.
//! Retransmitted and overlapping bytes already delivered are dropped (the first copy
//! wins); segments ahead of a gap wait, up to [`MAX_OUT_OF_ORDER`] bytes, for the gap
//! to fill.

use std::collections::BTreeMap;

use bytes::BytesMut;

/// Bytes that may wait behind a gap in one direction: well above any TCP window seen on
/// loopback, small enough that a capture that lost a segment cannot exhaust memory.
pub const MAX_OUT_OF_ORDER: usize = 32 << 20;

/// Bookkeeping charged per waiting segment, so that many tiny segments count too.
const SEGMENT_OVERHEAD: usize = 64;

/// Bytes that cannot become part of the stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TcpError {
    /// Too much data waits behind a gap that the capture never fills.
    #[error(
        "more than {MAX_OUT_OF_ORDER} bytes wait behind missing bytes at stream offset {offset}"
    )]
    WindowExceeded {
        /// Stream offset of the first missing byte.
        offset: u64,
    },
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct HalfStream {
    /// The sequence number of the SYN, once seen.
    isn: Option<u32>,
    /// The sequence number of the next byte to deliver; set by the SYN or, in a capture
    /// that starts mid-connection, by the first data segment.
    next_seq: Option<u32>,
    /// Bytes delivered so far: the stream offset of `next_seq`.
    delivered: u64,
    /// Segments ahead of `next_seq`, by stream offset.
    waiting: BTreeMap<u64, Vec<u8>>,
    /// What `waiting` is charged, with [`SEGMENT_OVERHEAD`] per segment.
    waiting_cost: usize,
}

impl HalfStream {
    /// The sequence number of this direction's SYN, if the capture holds it.
    pub fn isn(&self) -> Option<u32> {
        self.isn
    }

    /// Bytes delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Records the SYN: data starts at `seq + 1`. A repeated SYN changes nothing.
    pub fn syn(&mut self, seq: u32) {
        if self.isn.is_none() && self.delivered == 0 {
            self.isn = Some(seq);
            self.next_seq = Some(seq.wrapping_add(1));
        }
    }

    /// Takes a segment's payload starting at sequence number `seq` and appends to `out`
    /// every byte that is now in order.
    pub fn segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TcpError> {
        if payload.is_empty() {
            return Ok(());
        }
        let next = *self.next_seq.get_or_insert(seq);
        let ahead = i64::from(seq.wrapping_sub(next) as i32);
        if ahead > 0 {
            let offset = self.delivered + ahead as u64;
            let cost = payload.len() + SEGMENT_OVERHEAD;
            if self.waiting_cost + cost > MAX_OUT_OF_ORDER {
                return Err(TcpError::WindowExceeded {
                    offset: self.delivered,
                });
            }
            // A retransmission of a waiting segment: keep whichever copy is longer.
            let slot = self.waiting.entry(offset).or_default();
            if payload.len() > slot.len() {
                self.waiting_cost +=
                    payload.len() - slot.len() + SEGMENT_OVERHEAD * usize::from(slot.is_empty());
                *slot = payload.to_vec();
            }
            return Ok(());
        }
        self.deliver(ahead.unsigned_abs(), payload, out);
        while let Some(entry) = self.waiting.first_entry() {
            let offset = *entry.key();
            if offset > self.delivered {
                break;
            }
            let data = entry.remove();
            self.waiting_cost -= data.len() + SEGMENT_OVERHEAD;
            self.deliver(self.delivered - offset, &data, out);
        }
        Ok(())
    }

    /// Appends `data` minus its first `already` bytes, which were delivered before.
    fn deliver(&mut self, already: u64, data: &[u8], out: &mut BytesMut) {
        let Some(new) = usize::try_from(already).ok().and_then(|n| data.get(n..)) else {
            return;
        };
        out.extend_from_slice(new);
        self.delivered += new.len() as u64;
        self.next_seq = self.next_seq.map(|s| s.wrapping_add(new.len() as u32));
    }

    /// Bytes still waiting behind a gap, and the stream offset of the gap: at the end of
    /// a capture, data the capture lost.
    pub fn gap(&self) -> Option<(u64, usize)> {
        let waiting: usize = self.waiting.values().map(Vec::len).sum();
        (waiting > 0).then_some((self.delivered, waiting))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(h: &mut HalfStream, segs: &[(u32, &[u8])]) -> Vec<u8> {
        let mut out = BytesMut::new();
        for (seq, data) in segs {
            h.segment(*seq, data, &mut out).unwrap();
        }
        out.to_vec()
    }

    #[test]
    fn orders_segments_and_drops_duplicates_and_overlaps_across_wraparound() {
        // Sequence numbers wrap past u32::MAX; segments arrive out of order, one is
        // retransmitted whole and one overlaps the bytes before it.
        let syn = u32::MAX - 3;
        let isn = syn.wrapping_add(1);
        let mut h = HalfStream::default();
        h.syn(syn);
        let out = feed(
            &mut h,
            &[
                (isn.wrapping_add(6), b"ghij"),
                (isn, b"abc"),
                (isn.wrapping_add(3), b"def"),
                (isn, b"abc"),
                (isn.wrapping_add(4), b"efghijk"),
            ],
        );
        assert_eq!(out, b"abcdefghijk");
        assert_eq!(h.delivered(), 11);
        assert_eq!(h.gap(), None);
        assert_eq!(h.isn(), Some(syn));
    }

    #[test]
    fn keep_alives_and_repeated_syns_change_nothing() {
        let mut h = HalfStream::default();
        h.syn(99);
        let out = feed(&mut h, &[(100, b"hello"), (104, b"o"), (99, b"x")]);
        h.syn(5);
        let out2 = feed(&mut h, &[(105, b" world")]);
        assert_eq!([out, out2].concat(), b"hello world");
    }

    #[test]
    fn a_gap_is_reported_and_bounded() {
        let mut h = HalfStream::default();
        let out = feed(&mut h, &[(1000, b"ab"), (1010, b"later")]);
        assert_eq!(out, b"ab");
        assert_eq!(h.gap(), Some((2, 5)));
        let big = vec![0u8; 1 << 20];
        let mut out = BytesMut::new();
        let mut seq = 2000u32;
        let err = loop {
            if let Err(e) = h.segment(seq, &big, &mut out) {
                break e;
            }
            seq = seq.wrapping_add(big.len() as u32);
        };
        assert_eq!(err, TcpError::WindowExceeded { offset: 2 });
        assert!(out.is_empty());
    }

    #[test]
    fn a_capture_starting_mid_stream_starts_at_the_first_segment() {
        let mut h = HalfStream::default();
        assert_eq!(feed(&mut h, &[(7, b"xy"), (9, b"z")]), b"xyz");
        assert_eq!(h.isn(), None);
    }
}
