//! Byte-range locks on an open file: SMB2 LOCK, MS-SMB2 2.2.26 / 3.2.4.19; on SMB1,
//! LOCKING_ANDX with 64-bit ranges (MS-CIFS 2.2.4.32), NT_CANCEL ending a wait.
//!
//! A lock belongs to the open (the handle), not to the connection or the session: another
//! open of the same file, on this connection or any other, is refused the range while it
//! is held. The server releases every lock an open holds when the open is closed
//! (MS-SMB2 3.3.5.10: CLOSE), so a [`Close`](super::Close) ends them all.
//!
//! A lock that waits ([`Lock::new`]) has no deadline: the server answers STATUS_PENDING
//! at once and the final answer only when the range is free, however long that takes.
//! The per-request timeout does not apply to it; cancelling the operation
//! ([`Connection::cancel`](crate::Connection::cancel), or dropping an async driver's
//! future) sends SMB2 CANCEL and ends it with [`Error::Cancelled`]. Should the server
//! grant it before it sees the CANCEL, the core unlocks the range again: a cancelled
//! lock is never left held.

use crate::connection::SMB1_PID;
use crate::connection::{Fail, OpContext, Operation, Progress, RequestOptions, Response};
use crate::error::Error;
use crate::wire::lock::{flags, LockElement, LockRequest, LockResponse};
use crate::wire::request::RequestBody;
use crate::wire::smb1::locking::{self, LockRange, LockingRequest};
use crate::wire::smb1::Smb1Request;

use super::file::check;
use super::Handle;

/// How a range is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockKind {
    /// Others may read the range and take shared locks on it, but not write it or lock
    /// it exclusively (SMB2_LOCKFLAG_SHARED_LOCK; `fcntl`'s `F_RDLCK`).
    Shared,
    /// Others may neither read, write nor lock the range (SMB2_LOCKFLAG_EXCLUSIVE_LOCK;
    /// `fcntl`'s `F_WRLCK`).
    Exclusive,
}

impl LockKind {
    /// The element flag of this kind.
    fn flag(self) -> u32 {
        match self {
            LockKind::Shared => flags::SHARED_LOCK,
            LockKind::Exclusive => flags::EXCLUSIVE_LOCK,
        }
    }
}

/// Most ranges one request carries: LockCount is 16 bits (MS-SMB2 2.2.26).
pub const MAX_LOCK_RANGES: usize = u16::MAX as usize;

/// Locks or unlocks byte ranges of an open file (SMB2 LOCK) → `()` once the server
/// granted (or released) them all.
///
/// ```no_run
/// # fn demo(conn: &mut smb_proto::Connection, handle: smb_proto::Handle) {
/// use smb_proto::ops::{Lock, LockKind};
/// // Wait until bytes 0..100 can be locked exclusively.
/// let op = conn.start(Lock::new(handle, 0, 100, LockKind::Exclusive), std::time::Instant::now());
/// // ... pump; later, release them:
/// let op = conn.start(Lock::unlock(handle, 0, 100), std::time::Instant::now());
/// # }
/// ```
///
/// # Errors
///
/// The operation ends with [`Error::Status`]:
///
/// * [`ErrorKind::LockConflict`](crate::ErrorKind::LockConflict) (STATUS_LOCK_NOT_GRANTED,
///   STATUS_FILE_LOCK_CONFLICT) when another open holds a conflicting lock and the request
///   does not wait ([`Lock::try_new`]);
/// * [`ErrorKind::NotLocked`](crate::ErrorKind::NotLocked) (STATUS_RANGE_NOT_LOCKED) when
///   an unlock names a range this open does not hold locked;
/// * the server's other statuses (STATUS_FILE_CLOSED for a closed handle,
///   STATUS_INVALID_LOCK_RANGE for a range past the largest offset).
///
/// With [`Error::Cancelled`] when cancelled, and [`Error::Invalid`] (nothing sent) for a
/// set of ranges MS-SMB2 3.3.5.14 forbids (see [`Lock::ranges`]).
#[derive(Debug, Clone)]
pub struct Lock {
    handle: Handle,
    locks: Vec<LockElement>,
}

impl Lock {
    /// Locks `length` bytes at `offset` as `kind`, waiting as long as it takes for
    /// another open's conflicting lock to go (no timeout; cancel the operation to stop
    /// waiting).
    pub fn new(handle: Handle, offset: u64, length: u64, kind: LockKind) -> Self {
        Lock::ranges(handle, vec![element(offset, length, kind.flag())])
    }

    /// Locks `length` bytes at `offset` as `kind` if no other open holds a conflicting
    /// lock, and fails at once with
    /// [`ErrorKind::LockConflict`](crate::ErrorKind::LockConflict) otherwise
    /// (SMB2_LOCKFLAG_FAIL_IMMEDIATELY).
    pub fn try_new(handle: Handle, offset: u64, length: u64, kind: LockKind) -> Self {
        let flags = kind.flag() | flags::FAIL_IMMEDIATELY;
        Lock::ranges(handle, vec![element(offset, length, flags)])
    }

    /// Releases the lock this open holds on exactly `length` bytes at `offset`
    /// (SMB2_LOCKFLAG_UNLOCK): the range must be one that was locked, not a part of it.
    pub fn unlock(handle: Handle, offset: u64, length: u64) -> Self {
        Lock::ranges(handle, vec![element(offset, length, flags::UNLOCK)])
    }

    /// Any set of ranges in one request, each with its own [`flags`]: either all
    /// unlocks, or all locks (shared or exclusive). More than one lock must all carry
    /// FAIL_IMMEDIATELY, since a server waits for one range at most (MS-SMB2 3.3.5.14.2);
    /// the server takes them in order and keeps those it granted before one failed.
    /// Other sets fail with [`Error::Invalid`] before anything is sent.
    pub fn ranges(handle: Handle, locks: Vec<LockElement>) -> Self {
        Lock { handle, locks }
    }

    /// Whether the request is a lock that waits: the server's answer may take forever.
    fn waits(&self) -> bool {
        self.locks
            .iter()
            .any(|l| l.flags & (flags::UNLOCK | flags::FAIL_IMMEDIATELY) == 0)
    }

    fn is_unlock(&self) -> bool {
        self.locks
            .first()
            .is_some_and(|l| l.flags & flags::UNLOCK != 0)
    }

    fn name(&self) -> &'static str {
        if self.is_unlock() {
            "unlock"
        } else {
            "lock"
        }
    }
}

impl Lock {
    /// The LOCKING_ANDX doing the same (MS-CIFS 2.2.4.32): 64-bit ranges owned by the
    /// connection's PID, waiting forever (Timeout 0xFFFFFFFF) or not at all. One
    /// LOCKING_ANDX locks its ranges all shared or all exclusive: a request mixing the
    /// two has no SMB1 form.
    fn smb1_request(&self) -> Result<Smb1Request, Fail> {
        let ranges = self.locks.iter().map(|l| LockRange {
            offset: l.offset,
            length: l.length,
        });
        let shared = self.locks.iter().all(|l| l.flags & flags::SHARED_LOCK != 0);
        let exclusive = self.locks.iter().all(|l| l.flags & flags::SHARED_LOCK == 0);
        let mut req = LockingRequest {
            fid: self.handle.file_id.smb1_fid(),
            shared,
            timeout: if self.waits() {
                locking::WAIT_FOREVER
            } else {
                locking::NO_WAIT
            },
            pid: SMB1_PID,
            unlocks: Vec::new(),
            locks: Vec::new(),
        };
        if self.is_unlock() {
            req.shared = false;
            req.unlocks = ranges.collect();
        } else if shared || exclusive {
            req.locks = ranges.collect();
        } else {
            return Err(super::smb1::unsupported("lock"));
        }
        Ok(Smb1Request::Locking(req))
    }
}

fn element(offset: u64, length: u64, flags: u32) -> LockElement {
    LockElement {
        offset,
        length,
        flags,
    }
}

/// Whether `flags` is one of the five combinations MS-SMB2 2.2.26.1 defines.
fn valid_flags(f: u32) -> bool {
    let lock = f & !flags::FAIL_IMMEDIATELY;
    f == flags::UNLOCK || lock == flags::SHARED_LOCK || lock == flags::EXCLUSIVE_LOCK
}

impl Operation for Lock {
    type Output = ();

    fn label(&self) -> (&'static str, &str) {
        (self.name(), "")
    }

    fn check(&self) -> Result<(), Error> {
        let invalid = |why: &str| Err(Error::Invalid(format!("{}: {why}", self.name())));
        if self.locks.is_empty() {
            return invalid("no range");
        }
        if self.locks.len() > MAX_LOCK_RANGES {
            return invalid("more than 65535 ranges in one request");
        }
        if let Some(l) = self.locks.iter().find(|l| !valid_flags(l.flags)) {
            return invalid(&format!(
                "flags {:#x} are none of MS-SMB2 2.2.26.1's combinations",
                l.flags
            ));
        }
        let unlock = self.is_unlock();
        if self
            .locks
            .iter()
            .any(|l| (l.flags & flags::UNLOCK != 0) != unlock)
        {
            return invalid("locks and unlocks in one request");
        }
        if self.locks.len() > 1 && self.waits() {
            return invalid(
                "several ranges that wait; only FAIL_IMMEDIATELY ones may share a request",
            );
        }
        Ok(())
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<()>, Fail> {
        if cx.is_smb1() {
            let req = self.smb1_request()?;
            let options = RequestOptions {
                deadline: !self.waits(),
                ..RequestOptions::on(self.handle.tree)
            };
            super::smb1::send_with(cx, 0, req, options, self.name())?;
            return Ok(Progress::Pending);
        }
        let body = RequestBody::Lock(LockRequest {
            file_id: self.handle.file_id,
            locks: self.locks.clone(),
            ..Default::default()
        });
        let options = RequestOptions {
            // A lock that waits is answered when the range is free, which no timeout
            // bounds; cancelling is how it stops.
            deadline: !self.waits(),
            ..RequestOptions::on(self.handle.tree)
        };
        cx.send_with(0, body, options);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress<()>, Fail> {
        check(&resp, self.name(), "")?;
        if cx.is_smb1() {
            locking::decode_response(&resp.msg)?;
            return Ok(Progress::Done(()));
        }
        LockResponse::decode(&resp.msg)?;
        Ok(Progress::Done(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::TreeId;
    use crate::wire::create::FileId;

    fn handle() -> Handle {
        Handle {
            tree: TreeId(1),
            file_id: FileId {
                persistent: 1,
                volatile: 2,
            },
        }
    }

    #[test]
    fn the_three_shapes_carry_their_flags() {
        let h = handle();
        assert_eq!(
            Lock::new(h, 10, 5, LockKind::Shared).locks,
            [element(10, 5, flags::SHARED_LOCK)]
        );
        assert_eq!(
            Lock::try_new(h, 0, 1, LockKind::Exclusive).locks,
            [element(
                0,
                1,
                flags::EXCLUSIVE_LOCK | flags::FAIL_IMMEDIATELY
            )]
        );
        assert_eq!(Lock::unlock(h, 3, 4).locks, [element(3, 4, flags::UNLOCK)]);
        assert!(Lock::new(h, 0, 1, LockKind::Exclusive).waits());
        assert!(!Lock::try_new(h, 0, 1, LockKind::Shared).waits());
        assert!(!Lock::unlock(h, 0, 1).waits());
        assert_eq!(Lock::unlock(h, 0, 1).label().0, "unlock");
        assert_eq!(Lock::new(h, 0, 1, LockKind::Shared).label().0, "lock");
    }

    #[test]
    fn sets_the_server_would_refuse_are_refused_here() {
        let h = handle();
        let now = flags::FAIL_IMMEDIATELY;
        let ok = |locks: Vec<LockElement>| Lock::ranges(h, locks).check().is_ok();
        assert!(ok(vec![element(0, 1, flags::SHARED_LOCK)]));
        assert!(ok(vec![
            element(0, 1, flags::SHARED_LOCK | now),
            element(5, 1, flags::EXCLUSIVE_LOCK | now)
        ]));
        assert!(ok(vec![
            element(0, 1, flags::UNLOCK),
            element(5, 1, flags::UNLOCK)
        ]));
        // Nothing; a mix; two that wait; flag combinations 2.2.26.1 does not define.
        assert!(!ok(vec![]));
        assert!(!ok(vec![
            element(0, 1, flags::UNLOCK),
            element(5, 1, flags::SHARED_LOCK | now)
        ]));
        assert!(!ok(vec![
            element(0, 1, flags::SHARED_LOCK),
            element(5, 1, flags::SHARED_LOCK)
        ]));
        for bad in [
            0,
            now,
            flags::UNLOCK | now,
            flags::SHARED_LOCK | flags::EXCLUSIVE_LOCK,
            flags::SHARED_LOCK | flags::UNLOCK,
            0x100,
        ] {
            assert!(!ok(vec![element(0, 1, bad)]), "{bad:#x}");
        }
        let many = vec![element(0, 1, flags::UNLOCK); MAX_LOCK_RANGES + 1];
        assert!(matches!(
            Lock::ranges(h, many).check(),
            Err(Error::Invalid(_))
        ));
    }
}
