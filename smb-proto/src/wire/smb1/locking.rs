//! SMB_COM_LOCKING_ANDX (MS-CIFS 2.2.4.32): byte-range locks and unlocks on an open
//! file, always in the 64-bit form (LOCKING_ANDX_LARGE_FILES, LOCKING_ANDX_RANGE64):
//! the client negotiates CAP_LARGE_FILES.

use bytes::Bytes;

use super::{Blocks, Parsed, ANDX_NONE};
use crate::wire::codec::DecodeError;

/// TypeOfLock bits (MS-CIFS 2.2.4.32.1).
pub mod lock_type {
    /// LOCKING_ANDX_SHARED_LOCK: the locks are shared (read) locks; exclusive without it.
    pub const SHARED_LOCK: u8 = 0x01;
    /// LOCKING_ANDX_LARGE_FILES: the ranges are LOCKING_ANDX_RANGE64.
    pub const LARGE_FILES: u8 = 0x10;
}

/// Timeout: fail at once when a range is locked by another.
pub const NO_WAIT: u32 = 0;
/// Timeout: wait until the range is free, however long (0xFFFFFFFF).
pub const WAIT_FOREVER: u32 = u32::MAX;

/// Bytes of one LOCKING_ANDX_RANGE64.
const RANGE_LEN: usize = 20;

/// One range: `length` bytes at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRange {
    /// ByteOffset.
    pub offset: u64,
    /// LengthInBytes.
    pub length: u64,
}

/// LOCKING_ANDX request: releases `unlocks`, then takes `locks` (all shared or all
/// exclusive), each range owned by process `pid` of this open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockingRequest {
    /// FID.
    pub fid: u16,
    /// The locks are shared (LOCKING_ANDX_SHARED_LOCK).
    pub shared: bool,
    /// Timeout in milliseconds ([`NO_WAIT`], [`WAIT_FOREVER`]).
    pub timeout: u32,
    /// The PID each range names as its owner (the connection's PID).
    pub pid: u16,
    /// Ranges to release.
    pub unlocks: Vec<LockRange>,
    /// Ranges to lock.
    pub locks: Vec<LockRange>,
}

impl LockingRequest {
    /// Appends the blocks after an already-written header: WordCount 8, the ranges as
    /// LOCKING_ANDX_RANGE64 (PID, Pad, OffsetHigh, OffsetLow, LengthHigh, LengthLow).
    /// Counts are cut to 16 bits; a request too long for one message is the caller's to
    /// refuse (see [`Smb1Request::encoded_len`](super::Smb1Request::encoded_len)).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut type_of_lock = lock_type::LARGE_FILES;
        if self.shared {
            type_of_lock |= lock_type::SHARED_LOCK;
        }
        let count = |v: &[LockRange]| (v.len().min(usize::from(u16::MAX)) as u16).to_le_bytes();
        let mut b = Blocks::default();
        b.words(&ANDX_NONE)
            .words(&self.fid.to_le_bytes())
            .words(&[type_of_lock, 0]) // NewOpLockLevel
            .words(&self.timeout.to_le_bytes())
            .words(&count(&self.unlocks))
            .words(&count(&self.locks));
        for r in self.unlocks.iter().chain(&self.locks) {
            b.bytes(&self.pid.to_le_bytes())
                .bytes(&[0, 0])
                .bytes(&((r.offset >> 32) as u32).to_le_bytes())
                .bytes(&(r.offset as u32).to_le_bytes())
                .bytes(&((r.length >> 32) as u32).to_le_bytes())
                .bytes(&(r.length as u32).to_le_bytes());
        }
        b.finish(out);
    }

    /// The request that undoes this one once it was granted: the unlock of its locks
    /// (none for a request that only unlocks).
    pub fn release(&self) -> Option<LockingRequest> {
        (!self.locks.is_empty()).then(|| LockingRequest {
            shared: false,
            timeout: NO_WAIT,
            unlocks: self.locks.clone(),
            locks: Vec::new(),
            ..self.clone()
        })
    }

    /// Bytes the ranges take.
    pub fn ranges_len(&self) -> usize {
        (self.unlocks.len() + self.locks.len()) * RANGE_LEN
    }
}

/// Checks a LOCKING_ANDX response (MS-CIFS 2.2.4.32.2): WordCount 2 (the AndX block),
/// no bytes.
pub fn decode_response(msg: &Bytes) -> Result<(), DecodeError> {
    let p = Parsed::new(msg)?;
    p.words(&[2], "locking word count")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb1::test_util::{assert_robust, encoded, reply};

    #[test]
    fn a_large_file_lock_lays_out_ranges_of_twenty_bytes() {
        let req = LockingRequest {
            fid: 0x4001,
            shared: true,
            timeout: WAIT_FOREVER,
            pid: 0xFEFF,
            unlocks: vec![],
            locks: vec![LockRange {
                offset: 0x1_0000_0002,
                length: 0x3_0000_0004,
            }],
        };
        let out = encoded(|o| req.encode(o));
        assert_eq!(
            &out[32..],
            &[
                8, // WordCount
                0xFF, 0, 0, 0, // AndX: none
                0x01, 0x40, // FID
                0x11, 0, // shared | large files, no oplock level
                0xFF, 0xFF, 0xFF, 0xFF, // Timeout: forever
                0, 0, 1, 0, // no unlock, one lock
                20, 0, // ByteCount
                0xFF, 0xFE, 0, 0, // PID, Pad
                1, 0, 0, 0, 2, 0, 0, 0, // offset high, low
                3, 0, 0, 0, 4, 0, 0, 0, // length high, low
            ][..]
        );
        // Its release: the same range unlocked, exclusive type, no wait.
        let undo = req.release().unwrap();
        let out = encoded(|o| undo.encode(o));
        assert_eq!(&out[39..49], &[0x10, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(undo.ranges_len(), 20);
        assert!(undo.release().is_none(), "an unlock undoes nothing");
    }

    #[test]
    fn the_answer_is_an_andx_block_only() {
        let ok = reply(0x24, 0, &[2, 0xFF, 0, 0, 0, 0, 0]);
        decode_response(&ok).unwrap();
        assert!(decode_response(&reply(0x24, 0, &[0, 0, 0])).is_err());
        assert_robust(&ok, decode_response);
    }
}
