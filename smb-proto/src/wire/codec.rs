//! Bounds-checked little-endian decoding primitives shared by every wire type.
//!
//! Every byte from the network is untrusted: a [`Reader`] never panics and never
//! reads past its slice; each failure names the field it was decoding.

use bytes::Bytes;

/// Why a message could not be decoded. Carries the name of the field being decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The buffer ended before the field did.
    #[error("truncated {what}: need {need} bytes at offset {offset}, have {have}")]
    Truncated {
        /// Field being decoded.
        what: &'static str,
        /// Offset at which the field starts.
        offset: usize,
        /// Bytes the field needs.
        need: usize,
        /// Bytes available from `offset`.
        have: usize,
    },
    /// A field holds a value the protocol does not allow here.
    #[error("invalid {what}: {value:#x}")]
    Invalid {
        /// Field being decoded.
        what: &'static str,
        /// The offending value.
        value: u64,
    },
}

impl DecodeError {
    /// A field held a value the protocol does not allow.
    pub fn invalid(what: &'static str, value: impl Into<u64>) -> Self {
        DecodeError::Invalid {
            what,
            value: value.into(),
        }
    }
}

/// A cursor over an untrusted little-endian byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// A reader positioned at `pos` (which must not exceed `buf.len()`).
    pub fn at(buf: &'a [u8], pos: usize, what: &'static str) -> Result<Self, DecodeError> {
        if pos > buf.len() {
            return Err(DecodeError::Truncated {
                what,
                offset: pos,
                need: 0,
                have: 0,
            });
        }
        Ok(Reader { buf, pos })
    }

    /// Current offset from the start of the underlying slice.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left after the current position.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes the next `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let have = self.remaining();
        if n > have {
            return Err(DecodeError::Truncated {
                what,
                offset: self.pos,
                need: n,
                have,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N, what)?);
        Ok(a)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<(), DecodeError> {
        self.bytes(n, what).map(|_| ())
    }

    /// Reads a byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a little-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Reads a u16 structure size and checks it equals `expected` (MS-SMB2 StructureSize).
    pub fn structure_size(&mut self, expected: u16, what: &'static str) -> Result<(), DecodeError> {
        let v = self.u16(what)?;
        if v != expected {
            return Err(DecodeError::invalid(what, v));
        }
        Ok(())
    }
}

/// The bytes `[offset, offset+len)` of `buf`, bounds-checked.
pub fn slice<'a>(
    buf: &'a [u8],
    offset: usize,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], DecodeError> {
    match offset.checked_add(len) {
        Some(end) if end <= buf.len() => Ok(&buf[offset..end]),
        _ => Err(DecodeError::Truncated {
            what,
            offset,
            need: len,
            have: buf.len().saturating_sub(offset),
        }),
    }
}

/// Zero-copy variant of [`slice()`]: a `Bytes` sharing `buf`'s allocation.
pub fn slice_bytes(
    buf: &Bytes,
    offset: usize,
    len: usize,
    what: &'static str,
) -> Result<Bytes, DecodeError> {
    slice(buf, offset, len, what)?;
    Ok(buf.slice(offset..offset + len))
}

/// Decodes UTF-16LE. Unpaired surrogates become U+FFFD; an odd length is an error.
pub fn utf16le(b: &[u8], what: &'static str) -> Result<String, DecodeError> {
    if !b.len().is_multiple_of(2) {
        return Err(DecodeError::invalid(what, b.len() as u64));
    }
    let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    Ok(char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect())
}

/// Encodes `s` as UTF-16LE, appending to `out`.
pub fn put_utf16le(out: &mut Vec<u8>, s: &str) {
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

/// `s` as UTF-16LE bytes.
pub fn to_utf16le(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() * 2);
    put_utf16le(&mut v, s);
    v
}

/// Rounds `n` up to a multiple of 8 (MS-SMB2 compound and context alignment).
pub fn align8(n: usize) -> usize {
    (n + 7) & !7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reports_truncation_with_field_name() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("a").unwrap(), 0x0201);
        let e = r.u32("b").unwrap_err();
        assert_eq!(
            e,
            DecodeError::Truncated {
                what: "b",
                offset: 2,
                need: 4,
                have: 1
            }
        );
    }

    #[test]
    fn slice_rejects_overflowing_offsets() {
        assert!(slice(&[0; 4], usize::MAX, 2, "x").is_err());
        assert!(slice(&[0; 4], 2, 3, "x").is_err());
        assert_eq!(slice(&[0, 1, 2, 3], 1, 2, "x").unwrap(), &[1, 2]);
    }

    #[test]
    fn utf16_round_trip_non_ascii() {
        let s = "é日本😀";
        assert_eq!(utf16le(&to_utf16le(s), "n").unwrap(), s);
        assert!(utf16le(&[0x41], "n").is_err());
    }
}
