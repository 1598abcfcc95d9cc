//! Leases and oplocks: what an open may cache, how the core keeps it, and the bounded
//! read cache a driver's open file holds while it may.
//!
//! An [`Open`](super::Open) asks for caching with
//! [`with_lease`](super::Open::with_lease): a lease (an `RqLs` create context, v1 on SMB
//! 2.1, v2 with an epoch on 3.x) when the server offers SMB2_GLOBAL_CAP_LEASING, else an
//! oplock (batch for RWH, exclusive for RW, level II for R). The lease key is drawn
//! from the connection's seeded generator, never from a source of the core's own.
//!
//! What the server granted lives in the core, keyed by lease key (or, for an oplock, by
//! the open's file id), from the CREATE response until the CLOSE: the core is the
//! *lease holder*. A break for it is handled there with no operation running: the state
//! is lowered to what the server now allows and, when the server wants one, the
//! acknowledgment (MS-SMB2 2.2.24) goes out at once. It can go at once because the
//! drivers' files never hold written data back: a blocking write returns only once the
//! server answered it, and an async write-behind is already a WRITE queued in the core,
//! which sends it before an acknowledgment queued after it. A break for a lease or open
//! nobody holds is reported as [`Event::Break`](crate::Event::Break) and nothing more.
//!
//! [`LeaseStatus`] reads the state the core holds for a handle; a driver's file keeps a
//! [`ReadCache`] valid only while that state allows read caching and no break happened
//! since it was filled.

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;

use crate::connection::{Fail, OpContext, Operation, Progress, SessionSlot};
use crate::wire::create::{oplock_level, FileId};
use crate::wire::oplock_break::lease_state;

use super::{FileInfo, Handle, TreeId};

/// What an open may cache: lease state bits (R, H, W), or the oplock level it stands
/// for, as granted and lowered by breaks since.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseState {
    /// Lease state bits ([`lease_state`]); for an oplock, the bits it amounts to
    /// (batch RWH, exclusive RW, level II R).
    pub bits: u32,
    /// The oplock level ([`oplock_level`]) when the open holds an oplock, not a lease.
    pub oplock: Option<u8>,
    /// The lease's epoch (lease v2, SMB 3.x; 0 otherwise).
    pub epoch: u16,
    /// Breaks received since the open: a cache filled under one count is stale under
    /// another.
    pub breaks: u32,
}

impl LeaseState {
    /// Read caching (R).
    pub const R: u32 = lease_state::READ_CACHING;
    /// Handle caching (H).
    pub const H: u32 = lease_state::HANDLE_CACHING;
    /// Write caching (W).
    pub const W: u32 = lease_state::WRITE_CACHING;

    /// Whether reads (and metadata) may be served from a cache.
    pub fn read(&self) -> bool {
        self.bits & Self::R != 0
    }

    /// Whether writes may be held back.
    pub fn write(&self) -> bool {
        self.bits & Self::W != 0
    }

    /// Whether the handle may be kept open after the caller closed it.
    pub fn handle(&self) -> bool {
        self.bits & Self::H != 0
    }

    /// The lease bits an oplock level amounts to.
    pub fn bits_of_oplock(level: u8) -> u32 {
        match level {
            oplock_level::BATCH => Self::R | Self::W | Self::H,
            oplock_level::EXCLUSIVE => Self::R | Self::W,
            oplock_level::II => Self::R,
            _ => 0,
        }
    }

    /// The oplock level that best stands for lease bits `want` (SMB 2.0.2, or a server
    /// without leasing).
    pub fn oplock_for(want: u32) -> u8 {
        match (
            want & Self::R != 0,
            want & Self::W != 0,
            want & Self::H != 0,
        ) {
            (_, true, true) => oplock_level::BATCH,
            (_, true, false) => oplock_level::EXCLUSIVE,
            (true, false, _) => oplock_level::II,
            _ => oplock_level::NONE,
        }
    }
}

/// `R`, `RH`, `RWH`, … or `none`; an oplock as its level (`batch`, `exclusive`, `II`).
impl fmt::Display for LeaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(level) = self.oplock {
            return f.write_str(match level {
                oplock_level::BATCH => "batch",
                oplock_level::EXCLUSIVE => "exclusive",
                oplock_level::II => "II",
                _ => "none",
            });
        }
        if self.bits == 0 {
            return f.write_str("none");
        }
        for (bit, c) in [(Self::R, "R"), (Self::W, "W"), (Self::H, "H")] {
            if self.bits & bit != 0 {
                f.write_str(c)?;
            }
        }
        Ok(())
    }
}

/// A lease or oplock the core holds for an open.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeldLease {
    pub(crate) file_id: FileId,
    pub(crate) tree: TreeId,
    pub(crate) session: SessionSlot,
    pub(crate) state: LeaseState,
}

/// The caching state the core holds for an open file ([`Open::with_lease`](super::Open::with_lease))
/// → its [`LeaseState`]; `none` for an open without a lease or oplock (or closed). It
/// sends nothing: it reads what the core learnt from the CREATE and the breaks since.
#[derive(Debug, Clone, Copy)]
pub struct LeaseStatus(pub Handle);

impl Operation for LeaseStatus {
    type Output = LeaseState;

    fn label(&self) -> (&'static str, &str) {
        ("lease state", "")
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<LeaseState>, Fail> {
        Ok(Progress::Done(
            cx.lease_of(self.0.file_id).unwrap_or_default(),
        ))
    }
}

/// Bytes kept by default in a [`ReadCache`]: 4 MiB.
pub const READ_CACHE_LIMIT: usize = 4 << 20;

/// What an open file read (and its metadata), kept while its lease allows read caching:
/// the driver asks it before going to the server. Bounded: at most `limit` bytes of
/// file data (by default [`READ_CACHE_LIMIT`]); a range that would pass the limit
/// empties the cache first, and one larger than the limit is not kept. Ranges are kept
/// as read, not merged; a lookup is served from the range holding its offset. An empty
/// read (end of file) is kept too, so a file read to its end reads the same again.
///
/// The cache is valid for one [`LeaseState::breaks`] count with read caching: a state
/// without R, or a later count, empties it.
#[derive(Debug, Clone)]
pub struct ReadCache {
    /// The break count its contents belong to.
    breaks: u32,
    ranges: BTreeMap<u64, Bytes>,
    bytes: usize,
    limit: usize,
    /// Where a read found the end of the file.
    eof: Option<u64>,
    info: Option<FileInfo>,
}

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache::new(READ_CACHE_LIMIT)
    }
}

impl ReadCache {
    /// An empty cache keeping at most `limit` bytes of data.
    pub fn new(limit: usize) -> Self {
        ReadCache {
            breaks: 0,
            ranges: BTreeMap::new(),
            bytes: 0,
            limit,
            eof: None,
            info: None,
        }
    }

    /// Forgets everything (the file's own write changed it).
    pub fn clear(&mut self) {
        self.ranges.clear();
        self.bytes = 0;
        self.eof = None;
        self.info = None;
    }

    /// Whether the contents may be used under `state`; empties the cache when not.
    fn check(&mut self, state: &LeaseState) -> bool {
        if !state.read() || state.breaks != self.breaks {
            self.clear();
            self.breaks = state.breaks;
        }
        state.read()
    }

    /// Up to `len` cached bytes at `offset` (fewer when the cached range ends sooner),
    /// if `state` allows and a cached range holds `offset`.
    pub fn read(&mut self, state: &LeaseState, offset: u64, len: usize) -> Option<Bytes> {
        if !self.check(state) || len == 0 {
            return None;
        }
        if self.eof == Some(offset) {
            return Some(Bytes::new());
        }
        let (start, data) = self.ranges.range(..=offset).next_back()?;
        let skip = usize::try_from(offset - start).ok()?;
        if skip >= data.len() {
            return None;
        }
        Some(data.slice(skip..data.len().min(skip.saturating_add(len))))
    }

    /// Keeps `data`, read at `offset` under `state` (empty: the end of the file).
    pub fn store(&mut self, state: &LeaseState, offset: u64, data: Bytes) {
        if !self.check(state) || data.len() > self.limit {
            return;
        }
        if data.is_empty() {
            self.eof = Some(offset);
            return;
        }
        if self.bytes + data.len() > self.limit {
            self.ranges.clear();
            self.bytes = 0;
        }
        self.bytes += data.len();
        if let Some(old) = self.ranges.insert(offset, data) {
            self.bytes -= old.len();
        }
    }

    /// The metadata cached under `state`.
    pub fn info(&mut self, state: &LeaseState) -> Option<FileInfo> {
        self.check(state).then(|| self.info.clone()).flatten()
    }

    /// Keeps the file's metadata, queried under `state`.
    pub fn store_info(&mut self, state: &LeaseState, info: FileInfo) {
        if self.check(state) {
            self.info = Some(info);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(bits: u32, breaks: u32) -> LeaseState {
        LeaseState {
            bits,
            breaks,
            ..Default::default()
        }
    }

    #[test]
    fn the_cache_serves_ranges_only_under_read_caching_and_one_break_count() {
        let mut c = ReadCache::new(10);
        let rh = held(LeaseState::R | LeaseState::H, 0);
        c.store(&rh, 100, Bytes::from_static(b"abcdef"));
        assert_eq!(c.read(&rh, 102, 10).as_deref(), Some(&b"cdef"[..]));
        assert_eq!(c.read(&rh, 101, 2).as_deref(), Some(&b"bc"[..]));
        assert_eq!(c.read(&rh, 106, 1), None, "past the range");
        c.store(&rh, 106, Bytes::new());
        assert_eq!(
            c.read(&rh, 106, 1).as_deref(),
            Some(&b""[..]),
            "end of file kept"
        );
        assert_eq!(c.read(&rh, 99, 1), None, "before it");
        // A break, even one that keeps R, makes what was cached stale.
        assert_eq!(c.read(&held(LeaseState::R, 1), 100, 1), None);
        c.store(&rh, 0, Bytes::from_static(b"x"));
        assert_eq!(c.read(&held(LeaseState::R, 1), 0, 1), None);
        // Without R nothing is kept.
        let none = held(0, 2);
        c.store(&none, 0, Bytes::from_static(b"x"));
        assert_eq!(c.read(&none, 0, 1), None);
        c.store_info(&none, FileInfo::default());
        assert_eq!(c.info(&none), None);
    }

    #[test]
    fn the_cache_stays_within_its_limit() {
        let mut c = ReadCache::new(10);
        let r = held(LeaseState::R, 0);
        c.store(&r, 0, Bytes::from_static(b"0123456"));
        c.store(&r, 20, Bytes::from_static(b"abcdef"));
        assert_eq!(c.read(&r, 0, 1), None, "emptied to make room");
        assert_eq!(c.read(&r, 20, 1).as_deref(), Some(&b"a"[..]));
        c.store(&r, 40, Bytes::from(vec![0; 11]));
        assert_eq!(c.read(&r, 40, 1), None, "larger than the limit");
        assert!(c.bytes <= 10);
    }

    #[test]
    fn oplock_levels_map_to_lease_bits_and_back() {
        for (want, level) in [
            (
                LeaseState::R | LeaseState::W | LeaseState::H,
                oplock_level::BATCH,
            ),
            (LeaseState::R | LeaseState::W, oplock_level::EXCLUSIVE),
            (LeaseState::R | LeaseState::H, oplock_level::II),
            (LeaseState::R, oplock_level::II),
            (0, oplock_level::NONE),
        ] {
            assert_eq!(LeaseState::oplock_for(want), level, "{want:#x}");
        }
        assert_eq!(LeaseState::bits_of_oplock(oplock_level::BATCH), 7);
        assert_eq!(LeaseState::bits_of_oplock(oplock_level::II), 1);
        assert_eq!(held(7, 0).to_string(), "RWH");
        assert_eq!(held(3, 0).to_string(), "RH");
        assert_eq!(held(0, 0).to_string(), "none");
    }
}
