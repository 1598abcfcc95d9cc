//! A remote file as `futures-io` `AsyncRead` + `AsyncWrite` + `AsyncSeek`. The `poll_*`
//! methods are public so a runtime adapter can implement its own I/O traits on top
//! (smb-tokio does, for tokio's).

use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};
use smb_proto::ops::{self, BoxedOp, LeaseState, LockKind, OpOutput, ReadCache};
use smb_proto::{FileInfo, Handle};

use crate::runtime::BoxFuture;
use crate::{Client, Error, Running};

/// Most bytes one `poll_write` takes: the write goes out in the background (the call
/// returns at once) and the next call waits for it, so this bounds the bytes in flight.
const WRITE_BEHIND: usize = 8 * 1024 * 1024;

/// The one operation a [`File`] has in flight.
enum Busy {
    Read {
        offset: u64,
    },
    Write {
        len: u64,
    },
    /// A write at the end of the file ([`ops::Append`]), which says where it landed.
    Append,
    Flush,
    /// The size for a seek relative to the end.
    Size {
        delta: i64,
    },
    /// The lease state, before a read that may come from the cache.
    LeaseStatus,
    Close,
}

/// Makes an operation for a file's handle as it is at the time.
type Redo = Arc<dyn Fn(Handle) -> BoxedOp + Send + Sync>;

/// An open remote file. Writes return as soon as they are handed to the connection; their
/// errors show up on the next call, and at the latest on [`File::close`] or `shutdown`,
/// which close the handle. Dropped unclosed, the handle is closed in the background after
/// the last write. Closing the handle releases the byte-range locks it holds
/// ([`File::lock`]).
pub struct File {
    client: Client,
    handle: Handle,
    path: String,
    info: FileInfo,
    pos: u64,
    /// Bytes read beyond what the caller took, starting at the offset given; empty at
    /// `pos` means end of file.
    ahead: Option<(u64, Bytes)>,
    busy: Option<(Busy, Running)>,
    /// How to make the operation in flight again for the handle as it is then, when it
    /// may be done twice: after a lost connection it goes out again on the new one.
    redo: Option<Redo>,
    /// The connection being made again, and what then goes out again.
    reconnecting: Option<(Busy, Redo, BoxFuture<'static, crate::Result<()>>)>,
    /// The seek in progress, so a repeated `poll_seek` with it does not start another.
    seeking: Option<SeekFrom>,
    /// Written since the last flush.
    dirty: bool,
    closed: bool,
    /// Opened in `a` mode ([`SmbPath::open`](crate::SmbPath::open)): every write goes to
    /// the end of the file.
    append: bool,
    /// The share handle a path opened it through: the handle lives on that share's tree,
    /// which the share disconnects when its last clone goes.
    _share: Option<crate::Share>,
    /// Opened asking for a lease or oplock ([`Client::open_leased`]).
    leased: bool,
    /// What was read (and the metadata) while the lease allowed read caching.
    cache: ReadCache,
    /// The lease state just learnt, for the read about to be served.
    checked: Option<LeaseState>,
    /// The lease state the READ in flight was started under.
    reading_under: Option<LeaseState>,
    /// Bytes of a leased file's write in flight that `poll_write` has not yet reported.
    write_through: Option<usize>,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("pos", &self.pos)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl File {
    pub(crate) fn new(client: Client, handle: Handle, path: &str, info: FileInfo) -> Self {
        File {
            client,
            handle,
            path: path.to_string(),
            info,
            pos: 0,
            ahead: None,
            busy: None,
            redo: None,
            reconnecting: None,
            seeking: None,
            dirty: false,
            closed: false,
            append: false,
            _share: None,
            leased: false,
            cache: ReadCache::default(),
            checked: None,
            reading_under: None,
            write_through: None,
        }
    }

    /// The file as [`Client::open_leased`] hands it out: consulting its lease before
    /// each read, and writing through.
    pub(crate) fn leased(mut self) -> Self {
        self.leased = true;
        self
    }

    /// What the file may cache now: the lease state bits (R, W, H), or the oplock level
    /// on SMB 2.0.2, as granted and lowered by the server's breaks since (which the
    /// connection task acknowledges as they come); none for a file opened without
    /// [`Client::open_leased`].
    ///
    /// ```no_run
    /// # async fn demo(f: &smb_async::File) -> smb_async::Result<()> {
    /// let state = f.lease_state().await?;
    /// println!("{state}: reads cached: {}", state.read());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The connection's error when it ended.
    pub async fn lease_state(&self) -> crate::Result<LeaseState> {
        self.client
            .call(ops::LeaseStatus(self.client.current(self.handle)))
            .await
    }

    /// Metadata of the open file now (QUERY_INFO; other writers included) once pending
    /// writes are done, or, while the file holds read caching, as cached since the last
    /// break.
    ///
    /// # Errors
    ///
    /// A pending write's error, or the QUERY_INFO's.
    pub async fn stat(&mut self) -> crate::Result<FileInfo> {
        std::future::poll_fn(|cx| self.poll_settle(cx)).await?;
        let state = match self.leased {
            true => Some(self.lease_state().await?),
            false => None,
        };
        if let Some(info) = state.as_ref().and_then(|s| self.cache.info(s)) {
            return Ok(info);
        }
        let handle = self.client.current(self.handle);
        let info = self.client.call(ops::QueryInfo(handle)).await;
        let info = info.map_err(|e| e.at(&self.path))?;
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

    /// Metadata as of the open (the size grows with this handle's writes).
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// Waits for pending writes and closes the handle.
    ///
    /// # Errors
    ///
    /// The first error of a pending write, or the CLOSE's.
    pub async fn close(mut self) -> crate::Result<()> {
        std::future::poll_fn(|cx| self.poll_close_file(cx)).await?;
        Ok(())
    }

    /// Locks `len` bytes at `offset` as `kind` (SMB2 LOCK) once pending writes are done,
    /// waiting as long as it takes for other opens' conflicting locks to go: there is no
    /// timeout. Dropping the future stops the wait: the lock is cancelled on the wire
    /// (SMB2 CANCEL; a grant that crossed it is undone) and the connection goes on.
    /// [`Client::with_timeout`](crate::Client::with_timeout) bounds it instead.
    ///
    /// The lock belongs to this open; other opens of the file, on any connection, are
    /// refused the range (shared: writes and exclusive locks; exclusive: reads, writes and
    /// locks) until [`File::unlock`], or until this file is closed or dropped, which
    /// releases every lock it holds.
    ///
    /// ```no_run
    /// # async fn demo(client: &smb_async::Client) -> smb_async::Result<()> {
    /// use smb_async::{LockKind, OpenOptions};
    /// let mut f = client.open("share", "counter.bin", OpenOptions::read_write_create()).await?;
    /// f.lock(0, 8, LockKind::Exclusive).await?;
    /// // ... read, change and write the first 8 bytes ...
    /// f.unlock(0, 8).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A pending write's error, the LOCK's (STATUS_FILE_CLOSED for a handle the server
    /// closed, STATUS_INVALID_LOCK_RANGE for a range past the largest offset), or the
    /// connection's when it ends.
    pub async fn lock(&mut self, offset: u64, len: u64, kind: LockKind) -> crate::Result<()> {
        self.run(|h| ops::Lock::new(h, offset, len, kind)).await
    }

    /// Locks `len` bytes at `offset` as `kind` if no other open holds a conflicting lock,
    /// without waiting (SMB2_LOCKFLAG_FAIL_IMMEDIATELY; `fcntl`'s `F_SETLK`).
    ///
    /// ```no_run
    /// # async fn demo(f: &mut smb_async::File) -> smb_async::Result<()> {
    /// use smb_async::{ErrorKind, LockKind};
    /// match f.try_lock(0, 8, LockKind::Exclusive).await {
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
    pub async fn try_lock(&mut self, offset: u64, len: u64, kind: LockKind) -> crate::Result<()> {
        self.run(|h| ops::Lock::try_new(h, offset, len, kind)).await
    }

    /// Releases this open's lock on exactly `len` bytes at `offset` (as locked: not a
    /// part of a locked range, nor several at once), once pending writes are done.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotLocked`](crate::ErrorKind::NotLocked) when this open holds no lock
    /// on that range; otherwise as for [`File::lock`].
    pub async fn unlock(&mut self, offset: u64, len: u64) -> crate::Result<()> {
        self.run(|h| ops::Lock::unlock(h, offset, len)).await
    }

    /// Waits for the operation in flight (a write behind), then runs `op` on the handle;
    /// its errors name the file's path. Bytes read ahead are dropped: `op` may change
    /// them.
    async fn run<O: smb_proto::Operation>(
        &mut self,
        make: impl FnOnce(Handle) -> O,
    ) -> crate::Result<O::Output> {
        std::future::poll_fn(|cx| self.poll_settle(cx)).await?;
        if self.closed {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "file is closed").into());
        }
        self.ahead = None;
        self.cache.clear();
        self.checked = None;
        let op = make(self.client.current(self.handle));
        self.client.call(op).await.map_err(|e| e.at(&self.path))
    }

    /// Truncates or extends the file to `len` bytes, after the writes before it: bytes
    /// added read as zeros; the position does not move.
    ///
    /// ```no_run
    /// # async fn demo(client: &smb_async::Client) -> smb_async::Result<()> {
    /// let mut f = client.open("share", "data.bin", smb_async::OpenOptions::read_write_create()).await?;
    /// f.set_len(1 << 20).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A pending write's error; [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied)
    /// for a file opened without write access.
    pub async fn set_len(&mut self, len: u64) -> crate::Result<()> {
        self.run(|h| ops::SetInfo::end_of_file(h, len)).await?;
        self.info.size = len;
        Ok(())
    }

    /// Reserves `size` bytes of disk for the file without changing its size
    /// (FileAllocationInformation); a size below the end of file truncates the file.
    ///
    /// # Errors
    ///
    /// As for [`File::set_len`].
    pub async fn set_allocation_size(&mut self, size: u64) -> crate::Result<()> {
        self.run(|h| ops::SetInfo::allocation_size(h, size)).await
    }

    /// Marks the file to be deleted when its last handle is closed (`true`), or clears
    /// the mark (FileDispositionInformation). The file must be opened with
    /// [`access_mask::DELETE`](crate::access_mask::DELETE).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied) for a file
    /// opened without DELETE access; [`ErrorKind::NotEmpty`](crate::ErrorKind::NotEmpty)
    /// for a directory that holds anything.
    pub async fn set_delete_on_close(&mut self, delete: bool) -> crate::Result<()> {
        self.run(|h| ops::SetInfo::delete_on_close(h, delete)).await
    }

    /// Sets times and attributes through this handle (FileBasicInformation): a zero
    /// time or zero attributes leave that field as it is.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied) for a file
    /// opened without FILE_WRITE_ATTRIBUTES.
    pub async fn set_basic_info(
        &mut self,
        info: &smb_proto::wire::fscc::FileBasicInformation,
    ) -> crate::Result<()> {
        self.run(|h| ops::SetInfo::basic(h, info)).await
    }

    /// Starts the operation `make` gives for the handle as it is now (a durable handle
    /// reclaimed after a lost connection has a new file id); when `again`, it goes out
    /// once more on a connection made again should this one be lost.
    fn start(
        &mut self,
        busy: Busy,
        again: bool,
        make: impl Fn(Handle) -> BoxedOp + Send + Sync + 'static,
    ) -> io::Result<()> {
        self.begin(busy, Arc::new(make), again)
    }

    fn begin(&mut self, busy: Busy, make: Redo, again: bool) -> io::Result<()> {
        if self.closed {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "file is closed",
            ));
        }
        let op = make(self.client.current(self.handle));
        let running = match self.client.begin(op, Some(&self.path)) {
            Ok(running) => running,
            // The connection ended before this started: make it again first.
            Err(e) if again && e.kind() == crate::ErrorKind::Disconnected => {
                let reconnect = self.client.reconnecting(None, e);
                self.reconnecting = Some((busy, make, reconnect));
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        self.busy = Some((busy, running));
        self.redo = again.then_some(make);
        Ok(())
    }

    /// Finishes the operation in flight, if any (making the connection again and the
    /// operation with it, when it was lost and the operation may be done twice), and
    /// applies its result.
    fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Some((_, _, reconnect)) = &mut self.reconnecting {
                let made = ready!(reconnect.as_mut().poll(cx));
                let Some((busy, redo, _)) = self.reconnecting.take() else {
                    return Poll::Ready(Ok(()));
                };
                made.map_err(|e| io::Error::from(e.at(&self.path)))?;
                self.begin(busy, redo, true)?;
                continue;
            }
            let Some((_, running)) = &mut self.busy else {
                return Poll::Ready(Ok(()));
            };
            let result = ready!(running.poll_done(cx)).map_err(|e| e.at(&self.path));
            let Some((busy, running)) = self.busy.take() else {
                return Poll::Ready(Ok(()));
            };
            let redo = self.redo.take();
            match (result, redo) {
                (Err(e), Some(redo)) if e.kind() == crate::ErrorKind::Disconnected => {
                    let reconnect = self.client.reconnecting(Some(running.link.clone()), e);
                    self.reconnecting = Some((busy, redo, reconnect));
                }
                (result, _) => return Poll::Ready(self.settled(busy, result)),
            }
        }
    }

    /// Applies the result of the operation that was in flight as `busy`.
    fn settled(&mut self, busy: Busy, result: crate::Result<OpOutput>) -> io::Result<()> {
        let out = match (busy, result) {
            (Busy::Close, r) => {
                self.closed = true;
                r.map(drop)
            }
            (_, Err(e)) => Err(e),
            (Busy::Read { offset }, Ok(out)) => out
                .downcast::<Bytes>()
                .map(|data| {
                    if let Some(s) = self.reading_under.take() {
                        self.cache.store(&s, offset, data.clone());
                    }
                    self.ahead = Some((offset, data));
                })
                .map_err(Error::from),
            (Busy::LeaseStatus, Ok(out)) => out
                .downcast::<LeaseState>()
                .map(|state| self.checked = Some(state))
                .map_err(Error::from),
            (Busy::Write { len }, Ok(out)) => out
                .downcast::<u64>()
                .and_then(|n| {
                    if n == len {
                        Ok(())
                    } else {
                        Err(smb_proto::Error::Invalid(format!(
                            "the server wrote {n} of {len} bytes"
                        )))
                    }
                })
                .map_err(Error::from),
            (Busy::Append, Ok(out)) => out
                .downcast::<u64>()
                .map(|end| {
                    self.pos = end;
                    self.info.size = self.info.size.max(end);
                })
                .map_err(Error::from),
            (Busy::Flush, Ok(_)) => {
                self.dirty = false;
                Ok(())
            }
            (Busy::Size { delta }, Ok(out)) => out
                .downcast::<FileInfo>()
                .map_err(Error::from)
                .and_then(|info| match info.size.checked_add_signed(delta) {
                    Some(pos) => {
                        self.pos = pos;
                        Ok(())
                    }
                    None => Err(before_start().into()),
                }),
        };
        out.map_err(io::Error::from)
    }
}

fn before_start() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "seek before start of file")
}

impl File {
    /// Reads into `buf` at the file position: `Ok(0)` at end of file.
    pub fn poll_read_file(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if let Some((offset, data)) = self.ahead.take() {
                if offset == self.pos {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    self.pos += n as u64;
                    if n < data.len() {
                        self.ahead = Some((self.pos, data.slice(n..)));
                    }
                    return Poll::Ready(Ok(n));
                }
            }
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if self.busy.is_some() {
                ready!(self.poll_settle(cx))?;
                continue;
            }
            if self.leased {
                let Some(state) = self.checked.take() else {
                    let status = |h| BoxedOp::new(ops::LeaseStatus(h));
                    self.start(Busy::LeaseStatus, true, status)?;
                    continue;
                };
                if let Some(data) = self.cache.read(&state, self.pos, buf.len()) {
                    self.ahead = Some((self.pos, data));
                    continue;
                }
                self.reading_under = Some(state);
            }
            let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
            let offset = self.pos;
            let read = move |h| BoxedOp::new(ops::Read::new(h, offset, len));
            self.start(Busy::Read { offset }, true, read)?;
        }
    }

    /// Writes `buf` at the file position (at the end of the file when appending). The
    /// write goes out in the background (this returns at once) and the next call waits
    /// for it; its error shows then.
    pub fn poll_write_file(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(n) = self.write_through {
            let r = ready!(self.poll_settle(cx));
            self.write_through = None;
            return Poll::Ready(r.map(|()| n));
        }
        ready!(self.poll_settle(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = buf.len().min(WRITE_BEHIND);
        let data = Bytes::copy_from_slice(&buf[..n]);
        self.ahead = None;
        self.cache.clear();
        // A state learnt for a read that was given up on is no one's now.
        self.checked = None;
        if self.leased {
            // A leased file writes through: a write the caller was told of is on the
            // server, so the acknowledgment of a write lease's break (sent by the
            // connection task as soon as the break arrives) never overtakes it.
            self.write_through = Some(n);
            let started = match self.append {
                true => self.start(Busy::Append, false, move |h| {
                    BoxedOp::new(ops::Append::new(h, data.clone()))
                }),
                false => {
                    let at = self.pos;
                    self.pos += n as u64;
                    self.info.size = self.info.size.max(self.pos);
                    self.start(Busy::Write { len: n as u64 }, true, move |h| {
                        BoxedOp::new(ops::Write::new(h, at, data.clone()))
                    })
                }
            };
            if let Err(e) = started {
                self.write_through = None;
                return Poll::Ready(Err(e));
            }
            self.dirty = true;
            return self.poll_write_file(cx, buf);
        }
        if self.append {
            // The position is where the server finds the end, known when this settles.
            let append = move |h| BoxedOp::new(ops::Append::new(h, data.clone()));
            self.start(Busy::Append, false, append)?;
            self.dirty = true;
            return Poll::Ready(Ok(n));
        }
        let at = self.pos;
        let write = move |h| BoxedOp::new(ops::Write::new(h, at, data.clone()));
        self.start(Busy::Write { len: n as u64 }, true, write)?;
        self.pos += n as u64;
        self.info.size = self.info.size.max(self.pos);
        self.dirty = true;
        Poll::Ready(Ok(n))
    }

    /// Waits for the last write and, if anything was written since the last flush, sends
    /// SMB2 FLUSH so the server commits it to stable storage.
    pub fn poll_flush_file(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_settle(cx))?;
            if !self.dirty || self.closed {
                return Poll::Ready(Ok(()));
            }
            self.start(Busy::Flush, true, |h| BoxedOp::new(ops::Flush(h)))?;
        }
    }

    /// Waits for the last write and closes the handle.
    pub fn poll_close_file(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_settle(cx))?;
            if self.closed {
                return Poll::Ready(Ok(()));
            }
            self.start(Busy::Close, false, |h| BoxedOp::new(ops::Close(h)))?;
        }
    }

    /// Moves the file position; a seek from the end asks the server for the size of
    /// this open (other handles and clients may have changed it, and it stays right
    /// even if the file was renamed). Call [`File::poll_seek_file`] again with the same
    /// `position` until it is ready.
    pub fn poll_seek_file(
        &mut self,
        cx: &mut Context<'_>,
        position: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        if self.seeking != Some(position) {
            ready!(self.poll_settle(cx))?;
            self.checked = None;
            self.seeking = Some(position);
            match position {
                SeekFrom::Start(p) => self.pos = p,
                SeekFrom::Current(d) => match self.pos.checked_add_signed(d) {
                    Some(p) => self.pos = p,
                    None => {
                        self.seeking = None;
                        return Poll::Ready(Err(before_start()));
                    }
                },
                SeekFrom::End(delta) => {
                    let size = |h| BoxedOp::new(ops::QueryInfo(h));
                    if let Err(e) = self.start(Busy::Size { delta }, true, size) {
                        self.seeking = None;
                        return Poll::Ready(Err(e));
                    }
                }
            }
        }
        let r = ready!(self.poll_settle(cx));
        self.seeking = None;
        Poll::Ready(r.map(|()| self.pos))
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_file(cx, buf)
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_file(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_file(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_close_file(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.get_mut().poll_seek_file(cx, pos)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // A write the caller was told succeeded must still happen; anything else in flight
        // is cancelled by dropping it.
        match self.busy.take() {
            Some((Busy::Close, running)) => return running.detach(),
            Some((Busy::Write { .. }, running)) => running.detach(),
            Some((Busy::Append, running)) => {
                // An append is two steps (the size, then the write): a CLOSE sent now
                // would overtake its write. Close after it, in a task of its own, which
                // also keeps the share (and its tree) until then.
                let handle = self.client.current(self.handle);
                let (client, share) = (self.client.clone(), self._share.take());
                self.client.runtime().spawn(Box::pin(async move {
                    let _ = running.finish().await;
                    let _ = client.call(ops::Close(handle)).await;
                    drop(share);
                }));
                return;
            }
            _ => {}
        }
        let close = BoxedOp::new(ops::Close(self.client.current(self.handle)));
        if let Ok(close) = self.client.begin(close, Some(&self.path)) {
            close.detach();
        }
    }
}
