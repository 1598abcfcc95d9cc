//! A remote file as std `Read` + `Write` + `Seek`.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::time::Duration;

use bytes::Bytes;
use smb_proto::ops::{self, LeaseState, LockKind, ReadCache};
use smb_proto::{FileInfo, Handle};

use crate::Connection;

/// An open remote file. Closed on drop (errors then are ignored; call
/// [`File::close`] to see them); closing it releases the byte-range locks it holds
/// ([`File::lock`]).
pub struct File {
    conn: Connection,
    /// The path it was opened with, for errors (an operation on a handle knows none).
    path: String,
    handle: Handle,
    info: FileInfo,
    pos: u64,
    closed: bool,
    /// Opened in `a` mode ([`SmbPath::open`](crate::SmbPath::open)): every write goes to
    /// the end of the file.
    append: bool,
    /// The share handle a path opened it through: the handle lives on that share's tree,
    /// which the share disconnects when its last clone goes.
    _share: Option<crate::Share>,
    /// Opened asking for a lease or oplock ([`Connection::open_leased`](crate::Connection::open_leased)).
    leased: bool,
    /// What was read (and the metadata) while the lease allowed read caching.
    cache: ReadCache,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("pos", &self.pos)
            .field("append", &self.append)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl File {
    pub(crate) fn new(conn: Connection, path: &str, handle: Handle, info: FileInfo) -> Self {
        File {
            conn,
            path: path.to_string(),
            handle,
            info,
            pos: 0,
            closed: false,
            append: false,
            _share: None,
            leased: false,
            cache: ReadCache::default(),
        }
    }

    /// The file as [`Connection::open_leased`](crate::Connection::open_leased) hands it
    /// out: consulting its lease before each read.
    pub(crate) fn leased(mut self) -> Self {
        self.leased = true;
        self
    }

    /// What the file may cache now: the lease state bits (R, W, H), or the oplock level
    /// on SMB 2.0.2, as granted and lowered by the server's breaks since; none for a file
    /// opened without [`Connection::open_leased`](crate::Connection::open_leased). Breaks
    /// the server already sent are handled first.
    ///
    /// ```no_run
    /// # fn demo(f: &smb_blocking::File) -> smb_blocking::Result<()> {
    /// let state = f.lease_state()?;
    /// println!("{state}: reads cached: {}", state.read());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The connection's error when it ended.
    pub fn lease_state(&self) -> crate::Result<LeaseState> {
        self.conn.lease_status(self.handle)
    }

    /// The lease state when the file asked for one, for its cache.
    fn cache_state(&self) -> crate::Result<Option<LeaseState>> {
        match self.leased {
            true => self.lease_state().map(Some),
            false => Ok(None),
        }
    }

    /// Metadata of the open file now (QUERY_INFO; other writers included), or, while the
    /// file holds read caching, as cached since the last break.
    ///
    /// # Errors
    ///
    /// The QUERY_INFO's error.
    pub fn stat(&mut self) -> crate::Result<FileInfo> {
        let state = self.cache_state()?;
        if let Some(info) = state.as_ref().and_then(|s| self.cache.info(s)) {
            return Ok(info);
        }
        let info = self.run(true, ops::QueryInfo)?;
        self.info.size = info.size;
        if let Some(s) = &state {
            self.cache.store_info(s, info.clone());
        }
        Ok(info)
    }

    /// Makes every write go to the end of the file as it is when the server gets the
    /// write (O_APPEND, Python's `a`).
    pub(crate) fn appending(mut self, append: bool) -> Self {
        self.append = append;
        if append {
            self.pos = self.info.size;
        }
        self
    }

    /// The file as [`SmbPath::open`](crate::SmbPath::open) hands it out: keeping `share`
    /// (and its tree) alive, and appending when `append`.
    pub(crate) fn for_path(mut self, share: crate::Share, append: bool) -> Self {
        self._share = Some(share);
        self.appending(append)
    }

    /// Runs the operation `make` gives for the handle as it is now (a durable handle
    /// reclaimed after a lost connection has a new file id), once more on a connection
    /// made again when `again` (work that may be done twice); its errors name the file's
    /// path.
    fn run<O: smb_proto::Operation>(
        &self,
        again: bool,
        make: impl Fn(Handle) -> O,
    ) -> crate::Result<O::Output> {
        self.conn
            .call_on(self.handle, again, make)
            .map_err(|e| e.at(&self.path))
    }

    /// Metadata as of the open.
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// Closes the handle.
    pub fn close(mut self) -> crate::Result<()> {
        self.closed = true;
        self.run(false, ops::Close)
    }

    /// Truncates or extends the file to `len` bytes, as [`std::fs::File::set_len`]: bytes
    /// added read as zeros; the position does not move.
    ///
    /// ```no_run
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// let mut f = conn.open("share", "data.bin", smb_blocking::OpenOptions::read_write_create())?;
    /// f.set_len(1 << 20)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied) for a file
    /// opened without write access; [`ErrorKind::StorageFull`](crate::ErrorKind::StorageFull)
    /// when the disk cannot hold the new size.
    pub fn set_len(&mut self, len: u64) -> crate::Result<()> {
        self.cache.clear();
        self.run(true, |h| ops::SetInfo::end_of_file(h, len))?;
        self.info.size = len;
        Ok(())
    }

    /// Reserves `size` bytes of disk for the file without changing its size
    /// (FileAllocationInformation); the server rounds it up to whole clusters, and a
    /// size below the end of file truncates the file.
    ///
    /// # Errors
    ///
    /// As for [`File::set_len`].
    pub fn set_allocation_size(&mut self, size: u64) -> crate::Result<()> {
        self.run(true, |h| ops::SetInfo::allocation_size(h, size))
    }

    /// Marks the file to be deleted when its last handle is closed (`true`), or clears
    /// the mark (FileDispositionInformation): a scratch file that must not outlive its
    /// writer. The file must be opened with [`access_mask::DELETE`](crate::access_mask::DELETE).
    ///
    /// ```no_run
    /// use smb_blocking::{access_mask, OpenOptions};
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// let mut o = OpenOptions::read_write_create();
    /// o.access |= access_mask::DELETE;
    /// let mut scratch = conn.open("share", "scratch.tmp", o)?;
    /// scratch.set_delete_on_close(true)?;
    /// scratch.close()?; // gone
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied) for a file
    /// opened without DELETE access or a read-only one;
    /// [`ErrorKind::NotEmpty`](crate::ErrorKind::NotEmpty) for a directory that holds
    /// anything.
    pub fn set_delete_on_close(&mut self, delete: bool) -> crate::Result<()> {
        self.run(true, |h| ops::SetInfo::delete_on_close(h, delete))
    }

    /// Sets times and attributes through this handle (FileBasicInformation): a zero
    /// time or zero attributes leave that field as it is. Times come from
    /// [`FileTime::from_system_time`](crate::FileTime::from_system_time), attributes
    /// from [`file_attributes`](crate::file_attributes).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied) for a file
    /// opened without FILE_WRITE_ATTRIBUTES.
    pub fn set_basic_info(
        &mut self,
        info: &smb_proto::wire::fscc::FileBasicInformation,
    ) -> crate::Result<()> {
        self.run(true, |h| ops::SetInfo::basic(h, info))
    }

    /// Locks `len` bytes at `offset` as `kind` (SMB2 LOCK), waiting as long as it takes
    /// for other opens' conflicting locks to go: there is no timeout. The lock belongs to
    /// this open; other opens of the file, on any connection, are refused the range
    /// (shared: writes and exclusive locks; exclusive: reads, writes and locks) until
    /// [`File::unlock`], or until this file is closed or dropped, which releases every lock
    /// it holds.
    ///
    /// While it waits, the call holds the connection: other calls on it (from other
    /// threads, other files) wait too. To wait for a bounded time use
    /// [`File::lock_timeout`], to not wait at all [`File::try_lock`].
    ///
    /// ```no_run
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// use smb_blocking::{LockKind, OpenOptions};
    /// let f = conn.open("share", "counter.bin", OpenOptions::read_write_create())?;
    /// f.lock(0, 8, LockKind::Exclusive)?;
    /// // ... read, change and write the first 8 bytes ...
    /// f.unlock(0, 8)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The LOCK's error (STATUS_FILE_CLOSED for a handle the server closed,
    /// STATUS_INVALID_LOCK_RANGE for a range past the largest offset), or the connection's
    /// when it ends.
    pub fn lock(&self, offset: u64, len: u64, kind: LockKind) -> crate::Result<()> {
        self.run(false, |h| ops::Lock::new(h, offset, len, kind))
    }

    /// [`File::lock`], giving up after `timeout`: the wait is then cancelled on the wire
    /// (SMB2 CANCEL; a grant that crossed it is undone) and the call fails with
    /// [`smb_proto::Error::Timeout`]. The connection stays usable.
    ///
    /// ```no_run
    /// # fn demo(f: &smb_blocking::File) -> smb_blocking::Result<()> {
    /// use std::time::Duration;
    /// match f.lock_timeout(0, 8, smb_blocking::LockKind::Shared, Duration::from_secs(2)) {
    ///     Ok(()) => println!("locked"),
    ///     Err(e) if e.kind() == smb_blocking::ErrorKind::TimedOut => println!("still held"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`File::lock`], and [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut).
    pub fn lock_timeout(
        &self,
        offset: u64,
        len: u64,
        kind: LockKind,
        timeout: Duration,
    ) -> crate::Result<()> {
        self.conn
            .with_timeout(timeout)
            .call_on(self.handle, false, |h| ops::Lock::new(h, offset, len, kind))
            .map_err(|e| e.at(&self.path))
    }

    /// Locks `len` bytes at `offset` as `kind` if no other open holds a conflicting lock,
    /// without waiting (SMB2_LOCKFLAG_FAIL_IMMEDIATELY; `fcntl`'s `F_SETLK`).
    ///
    /// ```no_run
    /// # fn demo(f: &smb_blocking::File) -> smb_blocking::Result<()> {
    /// use smb_blocking::{ErrorKind, LockKind};
    /// match f.try_lock(0, 8, LockKind::Exclusive) {
    ///     Ok(()) => println!("locked"),
    ///     Err(e) if e.kind() == ErrorKind::LockConflict => println!("someone else has it"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LockConflict`](crate::ErrorKind::LockConflict) (EAGAIN,
    /// `io::ErrorKind::WouldBlock`) when another open holds a conflicting lock; otherwise
    /// as for [`File::lock`].
    pub fn try_lock(&self, offset: u64, len: u64, kind: LockKind) -> crate::Result<()> {
        self.run(false, |h| ops::Lock::try_new(h, offset, len, kind))
    }

    /// Releases this open's lock on exactly `len` bytes at `offset` (as locked: not a
    /// part of a locked range, nor several at once).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotLocked`](crate::ErrorKind::NotLocked) when this open holds no lock
    /// on that range; otherwise as for [`File::lock`].
    pub fn unlock(&self, offset: u64, len: u64) -> crate::Result<()> {
        self.run(false, |h| ops::Lock::unlock(h, offset, len))
    }

    /// The size the server reports for this open now (other writers included).
    fn current_size(&mut self) -> io::Result<u64> {
        let info = self.run(true, ops::QueryInfo)?;
        self.info.size = info.size;
        Ok(info.size)
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let state = self.cache_state()?;
        let cached = state
            .as_ref()
            .and_then(|s| self.cache.read(s, self.pos, buf.len()));
        let d = match cached {
            Some(d) => d,
            None => {
                let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
                let d = self.run(true, |h| ops::Read::new(h, self.pos, len))?;
                if let Some(s) = &state {
                    self.cache.store(s, self.pos, d.clone());
                }
                d
            }
        };
        let n = d.len().min(buf.len());
        buf[..n].copy_from_slice(&d[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Each write is on the server when it returns, so a write lease's break never
        // waits for data held here; what was cached is no longer what the file holds.
        self.cache.clear();
        let data = Bytes::copy_from_slice(buf);
        if self.append {
            // Where the end is when the server gets the write, not where this handle
            // last saw it: another writer may have appended since.
            self.pos = self.run(false, |h| ops::Append::new(h, data.clone()))?;
            self.info.size = self.info.size.max(self.pos);
            return Ok(buf.len());
        }
        let n = self.run(true, |h| ops::Write::new(h, self.pos, data.clone()))?;
        self.pos += n;
        self.info.size = self.info.size.max(self.pos);
        Ok(n as usize)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.run(true, ops::Flush).map_err(io::Error::from)
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.current_size()?.checked_add_signed(d),
        };
        self.pos =
            new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.run(false, ops::Close);
        }
    }
}
