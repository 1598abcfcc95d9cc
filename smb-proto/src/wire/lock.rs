//! LOCK request and response, MS-SMB2 2.2.26 / 2.2.27.

use bytes::Bytes;

use super::codec::{DecodeError, Reader};
use super::create::FileId;
use super::header::HEADER_LEN;

/// SMB2_LOCK_ELEMENT Flags, MS-SMB2 2.2.26.1.
pub mod flags {
    /// SMB2_LOCKFLAG_SHARED_LOCK.
    pub const SHARED_LOCK: u32 = 0x0000_0001;
    /// SMB2_LOCKFLAG_EXCLUSIVE_LOCK.
    pub const EXCLUSIVE_LOCK: u32 = 0x0000_0002;
    /// SMB2_LOCKFLAG_UNLOCK.
    pub const UNLOCK: u32 = 0x0000_0004;
    /// SMB2_LOCKFLAG_FAIL_IMMEDIATELY.
    pub const FAIL_IMMEDIATELY: u32 = 0x0000_0010;
}

/// SMB2_LOCK_ELEMENT, MS-SMB2 2.2.26.1: one byte range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockElement {
    /// Offset of the range.
    pub offset: u64,
    /// Length of the range.
    pub length: u64,
    /// Flags, see [`flags`].
    pub flags: u32,
}

/// SMB2 LOCK Request, MS-SMB2 2.2.26.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockRequest {
    /// LockSequenceNumber: the low 4 bits of the lock sequence field (resilient handles).
    pub lock_sequence_number: u8,
    /// LockSequenceIndex: the upper 28 bits of the lock sequence field.
    pub lock_sequence_index: u32,
    /// The open whose ranges are locked.
    pub file_id: FileId,
    /// Locks: at least one.
    pub locks: Vec<LockElement>,
}

impl LockRequest {
    /// StructureSize (it counts one lock element).
    const STRUCTURE_SIZE: u16 = 48;
    /// Size of one SMB2_LOCK_ELEMENT.
    const ELEMENT_LEN: usize = 24;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let sequence =
            (self.lock_sequence_index << 4) | u32::from(self.lock_sequence_number & 0x0F);
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&(self.locks.len() as u16).to_le_bytes());
        out.extend_from_slice(&sequence.to_le_bytes());
        self.file_id.encode(out);
        for l in &self.locks {
            out.extend_from_slice(&l.offset.to_le_bytes());
            out.extend_from_slice(&l.length.to_le_bytes());
            out.extend_from_slice(&l.flags.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
        }
    }

    /// The UNLOCK of every range this request locks, on the same open; `None` for an
    /// unlock. What undoes a lock the server granted after its caller stopped waiting.
    pub fn release(&self) -> Option<LockRequest> {
        if self.locks.iter().all(|l| l.flags & flags::UNLOCK != 0) {
            return None;
        }
        Some(LockRequest {
            file_id: self.file_id,
            locks: self
                .locks
                .iter()
                .map(|l| LockElement {
                    flags: flags::UNLOCK,
                    ..*l
                })
                .collect(),
            ..Default::default()
        })
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "lock request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "lock request structure size")?;
        let count = usize::from(r.u16("lock count")?);
        let sequence = r.u32("lock sequence")?;
        let file_id = FileId::decode(&mut r)?;
        // Take the bytes first so the Vec is bounded by the message, not by the count.
        let raw = r.bytes(count * Self::ELEMENT_LEN, "locks")?;
        let mut er = Reader::new(raw);
        let locks = (0..count)
            .map(|_| {
                let l = LockElement {
                    offset: er.u64("lock offset")?,
                    length: er.u64("lock length")?,
                    flags: er.u32("lock flags")?,
                };
                er.skip(4, "lock reserved")?;
                Ok(l)
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(LockRequest {
            lock_sequence_number: (sequence & 0x0F) as u8,
            lock_sequence_index: sequence >> 4,
            file_id,
            locks,
        })
    }
}

/// SMB2 LOCK Response, MS-SMB2 2.2.27: no fields beyond StructureSize.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockResponse;

impl LockResponse {
    /// Checks the body; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "lock response")?;
        r.structure_size(4, "lock response structure size")?;
        Ok(LockResponse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::test_util::{assert_robust, hex, with_header};

    #[test]
    fn lock_request_layout_and_round_trip() {
        let req = LockRequest {
            lock_sequence_number: 3,
            lock_sequence_index: 5,
            file_id: FileId {
                persistent: 1,
                volatile: 2,
            },
            locks: vec![
                LockElement {
                    offset: 0x1000,
                    length: 0x200,
                    flags: flags::EXCLUSIVE_LOCK | flags::FAIL_IMMEDIATELY,
                },
                LockElement {
                    offset: 0,
                    length: 1,
                    flags: flags::UNLOCK,
                },
            ],
        };
        let msg = with_header(|o| req.encode(o));
        // 2.2.26 by hand: size 48, count 2, sequence index 5 << 4 | number 3, file id,
        // then 24-byte elements.
        let expected = hex("3000 0200 53000000 0100000000000000 0200000000000000 \
             0010000000000000 0002000000000000 12000000 00000000 \
             0000000000000000 0100000000000000 04000000 00000000");
        assert_eq!(&msg[HEADER_LEN..], &expected[..]);
        assert_eq!(LockRequest::decode(&msg), Ok(req));
    }

    #[test]
    fn release_unlocks_the_same_ranges() {
        let file_id = FileId {
            persistent: 7,
            volatile: 8,
        };
        let lock = |offset, flags| LockElement {
            offset,
            length: 10,
            flags,
        };
        let req = LockRequest {
            file_id,
            locks: vec![
                lock(0, flags::SHARED_LOCK | flags::FAIL_IMMEDIATELY),
                lock(20, flags::EXCLUSIVE_LOCK | flags::FAIL_IMMEDIATELY),
            ],
            ..Default::default()
        };
        let release = req.release().unwrap();
        assert_eq!(release.file_id, file_id);
        assert_eq!(
            release.locks,
            [lock(0, flags::UNLOCK), lock(20, flags::UNLOCK)]
        );
        assert_eq!(release.release(), None);
    }

    #[test]
    fn lock_count_beyond_the_message_is_an_error() {
        let mut m = with_header(|o| {
            LockRequest {
                locks: vec![LockElement::default()],
                ..Default::default()
            }
            .encode(o)
        })
        .to_vec();
        m[HEADER_LEN + 2] = 0xFF; // LockCount 255
        assert!(LockRequest::decode(&m.clone().into()).is_err());
        assert_robust(&m.into(), LockRequest::decode);
        assert_robust(
            &with_header(|o| o.extend_from_slice(&hex("04000000"))),
            LockResponse::decode,
        );
    }
}
