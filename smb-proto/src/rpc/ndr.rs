//! The little of NDR (C706 chapter 14, little-endian, 32-bit) that SRVSVC share
//! enumeration needs: aligned integers, unique pointers, conformant arrays and
//! conformant varying strings. Alignment counts from the start of the stub, which is
//! where NDR's octet stream starts (C706 14.2, alignment of primitive types).

use crate::wire::codec::{self, DecodeError, Reader};

/// The first referent id this writer hands out; any non-zero value works, this is the
/// one Windows and Samba start from.
const FIRST_REFERENT: u32 = 0x0002_0000;

/// Writes NDR into a stub.
#[derive(Debug)]
pub(crate) struct NdrWriter {
    out: Vec<u8>,
    next_referent: u32,
}

impl NdrWriter {
    pub(crate) fn new() -> Self {
        NdrWriter {
            out: Vec::new(),
            next_referent: FIRST_REFERENT,
        }
    }

    /// Pads with zeros to a multiple of `n`.
    pub(crate) fn align(&mut self, n: usize) {
        self.out.resize(self.out.len().next_multiple_of(n), 0);
    }

    /// An unsigned long, 4-byte aligned.
    pub(crate) fn u32(&mut self, v: u32) {
        self.align(4);
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    /// A unique or full pointer's representation: a fresh referent id, or 0 for null
    /// (C706 14.3, pointers). The caller writes the referent where NDR puts it.
    pub(crate) fn pointer(&mut self, present: bool) {
        if present {
            let id = self.next_referent;
            self.next_referent = self.next_referent.wrapping_add(4);
            self.u32(id);
        } else {
            self.u32(0);
        }
    }

    /// A `[string] wchar_t*` referent: a conformant varying array of UTF-16 units with
    /// its terminating NUL (C706 14.3, strings): maximum count, offset 0, actual count,
    /// units.
    pub(crate) fn string(&mut self, s: &str) {
        let units: Vec<u16> = s.encode_utf16().chain([0]).collect();
        let n = units.len() as u32;
        self.u32(n);
        self.u32(0);
        self.u32(n);
        for u in units {
            self.out.extend_from_slice(&u.to_le_bytes());
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Reads NDR from a stub. Every count is checked against the bytes left before
/// anything is allocated for it.
#[derive(Debug)]
pub(crate) struct NdrReader<'a> {
    r: Reader<'a>,
}

impl<'a> NdrReader<'a> {
    pub(crate) fn new(stub: &'a [u8]) -> Self {
        NdrReader {
            r: Reader::new(stub),
        }
    }

    /// Skips padding to a multiple of `n` (its content is not checked: C706 leaves it
    /// unspecified).
    pub(crate) fn align(&mut self, n: usize, what: &'static str) -> Result<(), DecodeError> {
        let pad = self.r.pos().next_multiple_of(n) - self.r.pos();
        self.r.skip(pad, what)
    }

    /// An unsigned long, 4-byte aligned.
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        self.align(4, what)?;
        self.r.u32(what)
    }

    /// A unique pointer's representation: whether a referent follows (where NDR puts
    /// it). The id's value is not kept: unique pointers never alias.
    pub(crate) fn pointer(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        Ok(self.u32(what)? != 0)
    }

    /// A count of elements of `elem_size` bytes each that must still follow: refused
    /// (as truncated) when the bytes left cannot hold them, so that no caller allocates
    /// for elements that are not there.
    pub(crate) fn count(
        &mut self,
        elem_size: usize,
        what: &'static str,
    ) -> Result<usize, DecodeError> {
        let n = self.u32(what)?;
        let need = (n as usize).saturating_mul(elem_size);
        if need > self.r.remaining() {
            return Err(DecodeError::Truncated {
                what,
                offset: self.r.pos(),
                need,
                have: self.r.remaining(),
            });
        }
        Ok(n as usize)
    }

    /// A `[string] wchar_t*` referent, a conformant varying string of UTF-16 units
    /// (C706 14.3, strings): the offset must be 0, the actual count at most the maximum; the
    /// terminating NUL, when present, is not part of the result. Unpaired surrogates
    /// become U+FFFD.
    pub(crate) fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let max = self.u32(what)?;
        let offset = self.u32(what)?;
        if offset != 0 {
            return Err(DecodeError::invalid(what, offset));
        }
        let actual = self.count(2, what)?;
        if actual > max as usize {
            return Err(DecodeError::invalid(what, actual as u64));
        }
        let mut bytes = self.r.bytes(actual * 2, what)?;
        if let [rest @ .., 0, 0] = bytes {
            bytes = rest;
        }
        codec::utf16le(bytes, what)
    }

    /// Bytes not yet read.
    #[cfg(test)]
    pub(crate) fn remaining(&self) -> usize {
        self.r.remaining()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_with_their_terminator_and_alignment() {
        let mut w = NdrWriter::new();
        w.string("IPC$");
        w.u32(7);
        w.string("");
        w.string("grüße 😀");
        let stub = w.finish();
        // "IPC$" + NUL: 12 bytes of counts, 10 of units, 2 of padding before the next long.
        assert_eq!(&stub[..12], &[5, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0]);
        assert_eq!(&stub[22..28], &[0, 0, 7, 0, 0, 0]);
        let mut r = NdrReader::new(&stub);
        assert_eq!(r.string("a").unwrap(), "IPC$");
        assert_eq!(r.u32("b").unwrap(), 7);
        assert_eq!(r.string("c").unwrap(), "");
        assert_eq!(r.string("d").unwrap(), "grüße 😀");
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn strings_with_bad_counts_are_refused_before_allocation() {
        let string = |max: u32, offset: u32, actual: u32, units: usize| {
            let mut b = Vec::new();
            for v in [max, offset, actual] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            for _ in 0..units {
                b.extend_from_slice(&[b'a', 0]);
            }
            b
        };
        let read = |b: &[u8]| NdrReader::new(b).string("s");
        assert_eq!(read(&string(3, 0, 3, 3)).unwrap(), "aaa");
        // An actual count far beyond the bytes present is refused before reading.
        assert!(matches!(
            read(&string(u32::MAX, 0, u32::MAX, 3)),
            Err(DecodeError::Truncated { need, .. }) if need == u32::MAX as usize * 2
        ));
        assert!(read(&string(3, 0, 4, 4)).is_err(), "actual beyond maximum");
        assert!(read(&string(3, 1, 2, 3)).is_err(), "a non-zero offset");
        for n in 0..string(3, 0, 3, 3).len() {
            assert!(read(&string(3, 0, 3, 3)[..n]).is_err(), "cut to {n}");
        }
    }

    #[test]
    fn counts_are_checked_against_what_is_left() {
        let b = [2, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(NdrReader::new(&b).count(4, "n").unwrap(), 2);
        assert!(NdrReader::new(&b).count(5, "n").is_err());
        let huge = u32::MAX.to_le_bytes();
        assert!(NdrReader::new(&huge).count(12, "n").is_err());
    }

    #[test]
    fn pointers_hand_out_distinct_referents() {
        let mut w = NdrWriter::new();
        w.pointer(true);
        w.pointer(false);
        w.pointer(true);
        let stub = w.finish();
        let mut r = NdrReader::new(&stub);
        assert!(r.pointer("a").unwrap());
        assert!(!r.pointer("b").unwrap());
        assert!(r.pointer("c").unwrap());
        assert_eq!(&stub[..4], &FIRST_REFERENT.to_le_bytes());
        assert_eq!(&stub[8..], &(FIRST_REFERENT + 4).to_le_bytes());
    }
}
