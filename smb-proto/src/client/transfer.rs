//! The driver's side of many-file transfers ([`StoreFiles`](crate::ops::StoreFiles),
//! [`RetrieveFiles`](crate::ops::RetrieveFiles)): the local tree an upload walks, the
//! local path each downloaded name lands at, and every file's result gathered into one.
//!
//! This is the one part of `smb-proto` that reads a local file system ([`LocalTree::walk`]),
//! so that every driver walks a tree the same way; the [`Connection`](crate::Connection)
//! never calls it.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

use bytes::BytesMut;

use super::ClientError;

/// A local directory tree mapped below a remote directory, for an upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalTree {
    /// The remote directories to create (the remote root first), `\`-separated.
    pub dirs: Vec<String>,
    /// Each local file and the remote path it goes to.
    pub files: Vec<(PathBuf, String)>,
}

impl LocalTree {
    /// Walks `local` (following symbolic links, like `cp -rL`) and maps it below `remote`.
    ///
    /// The whole tree is walked before anything is sent, so a problem fails the upload
    /// before it starts rather than halfway.
    ///
    /// # Errors
    ///
    /// An unreadable directory, a dangling link, a link loop, a name that is not UTF-8 or
    /// that holds a `\` (a separator on the server: `a\b` would land as `b` inside `a`),
    /// each naming the local path.
    pub fn walk(local: &Path, remote: &str) -> io::Result<LocalTree> {
        let mut tree = LocalTree::default();
        let root = crate::ops::path::wire_name(remote);
        if !root.is_empty() {
            tree.dirs.push(root.clone());
        }
        // Directories entered, by canonical path: a link back up the tree is a loop.
        let canonical = |p: &Path| std::fs::canonicalize(p).map_err(|e| with_path(e, p));
        let mut ancestors: Vec<(usize, PathBuf)> = Vec::new();
        let mut stack = vec![(local.to_path_buf(), root, 1usize)];
        while let Some((dir, rdir, depth)) = stack.pop() {
            let real = canonical(&dir)?;
            ancestors.retain(|(d, _)| *d < depth);
            if ancestors.iter().any(|(_, a)| *a == real) {
                let msg = format!(
                    "{}: a symbolic link loop (it leads back to {})",
                    dir.display(),
                    real.display()
                );
                return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
            }
            ancestors.push((depth, real));
            for entry in std::fs::read_dir(&dir).map_err(|e| with_path(e, &dir))? {
                let entry = entry.map_err(|e| with_path(e, &dir))?;
                let name = entry.file_name().into_string().map_err(|raw| {
                    let msg = format!(
                        "{}: the name is not UTF-8, SMB names are Unicode",
                        dir.join(&raw).display()
                    );
                    io::Error::new(io::ErrorKind::InvalidData, msg)
                })?;
                if name.contains('\\') {
                    let msg = format!(
                        "{}: the name holds a '\\', which SMB takes as a separator",
                        dir.join(&name).display()
                    );
                    return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
                }
                let r = crate::ops::path::join(&rdir, &name);
                // Follows symbolic links; a dangling one fails here, before the upload.
                let path = entry.path();
                let kind = std::fs::metadata(&path).map_err(|e| with_path(e, &path))?;
                if kind.is_dir() {
                    tree.dirs.push(r.clone());
                    stack.push((path, r, depth + 1));
                } else {
                    tree.files.push((path, r));
                }
            }
        }
        Ok(tree)
    }
}

/// Where a name found below a remote directory ([`TreeEntry::path`], `\`-separated)
/// lands below `local`. The core has checked each component is one plain name.
///
/// [`TreeEntry::path`]: crate::ops::TreeEntry::path
pub fn local_path(local: &Path, remote_relative: &str) -> PathBuf {
    let mut p = local.to_path_buf();
    p.extend(remote_relative.split('\\').filter(|c| !c.is_empty()));
    p
}

/// Where each download of a many-file transfer is written until it is complete: beside
/// its target, named `TARGET.part` (more `.part` while that name is another target's or
/// another temporary's), so a file that failed or was cut short never sits under its
/// real name. `None` for a target that is a device or a pipe (`/dev/null`, a FIFO),
/// written in place: a renamed temporary would replace the node.
pub fn part_paths(files: &[(String, PathBuf)]) -> Vec<Option<PathBuf>> {
    let targets: HashSet<&OsStr> = files.iter().map(|(_, l)| l.as_os_str()).collect();
    let mut parts: HashSet<OsString> = HashSet::with_capacity(files.len());
    files
        .iter()
        .map(|(_, local)| {
            if std::fs::metadata(local).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
                return None;
            }
            let mut part = local.as_os_str().to_owned();
            loop {
                part.push(".part");
                if !targets.contains(part.as_os_str()) && parts.insert(part.clone()) {
                    return Some(PathBuf::from(part));
                }
            }
        })
        .collect()
}

/// An I/O error that names the local path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
struct PathError {
    path: PathBuf,
    source: io::Error,
}

/// `e`, saying which local path it concerns, with its kind kept.
pub fn with_path(e: io::Error, path: &Path) -> io::Error {
    let path = path.to_path_buf();
    io::Error::new(e.kind(), PathError { path, source: e })
}

/// Every file's result of a many-file transfer, as its events report them, made into one.
#[derive(Debug)]
pub struct TransferResults {
    /// Each file's remote path, for the error.
    names: Vec<String>,
    results: Vec<Option<Result<u64, ClientError>>>,
    /// A failure on the local side, which stopped the transfer.
    local: Option<usize>,
}

impl TransferResults {
    /// For files with these remote paths, in the operation's order.
    pub fn new(names: Vec<String>) -> Self {
        let results = names.iter().map(|_| None).collect();
        TransferResults {
            names,
            results,
            local: None,
        }
    }

    /// Records what [`Event::FileDone`](crate::Event::FileDone) said of `file`.
    pub fn file_done(&mut self, file: usize, result: Result<u64, crate::Error>) {
        if let Some(slot) = self.results.get_mut(file) {
            *slot = Some(result.map_err(ClientError::Smb));
        }
    }

    /// Records a local failure on `file` (reading its source, writing its copy): the
    /// driver cancels the rest, and this is the failure the transfer reports.
    pub fn local_failure(&mut self, file: usize, e: io::Error) {
        if let Some(slot) = self.results.get_mut(file) {
            *slot = Some(Err(ClientError::Io(e)));
            self.local.get_or_insert(file);
        }
    }

    /// The bytes moved when every file made it; otherwise [`ClientError::Transfer`] with
    /// the files that did and the first failure (a local one, else the first file's
    /// own, else `outcome`'s: why the operation itself ended).
    ///
    /// # Errors
    ///
    /// As above.
    pub fn finish(
        mut self,
        outcome: Result<Vec<Result<u64, crate::Error>>, ClientError>,
    ) -> Result<u64, ClientError> {
        let mut ended = None;
        match outcome {
            Ok(all) => {
                for (slot, r) in self.results.iter_mut().zip(all) {
                    if slot.is_none() {
                        *slot = Some(r.map_err(ClientError::Smb));
                    }
                }
            }
            Err(e) => ended = Some(e),
        }
        let total = self.names.len();
        let (mut bytes, mut transferred, mut first) = (0, Vec::new(), None);
        let local = self.local;
        for (i, (name, r)) in self.names.into_iter().zip(self.results).enumerate() {
            match r {
                Some(Ok(n)) => {
                    bytes += n;
                    transferred.push(name);
                }
                Some(Err(e)) => {
                    let cancelled = matches!(e, ClientError::Smb(crate::Error::Cancelled));
                    if local == Some(i) || (first.is_none() && !cancelled && local.is_none()) {
                        first = Some(e);
                    }
                }
                None => {}
            }
        }
        let Some(first) = first.or(ended) else {
            if transferred.len() == total {
                return Ok(bytes);
            }
            // Not every file reported and nothing said why: the transfer was cancelled.
            return Err(ClientError::Transfer {
                transferred,
                total,
                first: Box::new(ClientError::Smb(crate::Error::Cancelled)),
            });
        };
        Err(ClientError::Transfer {
            transferred,
            total,
            first: Box::new(first),
        })
    }
}

/// How much of a local file to read for a WRITE of at most `max` bytes when `left`
/// bytes of it are thought to remain: one byte more, so that a short read says where it
/// ends, and a buffer no bigger than the file (a 4 KiB file in a server's 8 MiB WRITE
/// size needs no 8 MiB buffer). A read that fills it means the file grew since its size
/// was taken: the caller reads on, up to `max`.
///
/// ```
/// use smb_proto::client::chunk_for;
/// assert_eq!(chunk_for(8 << 20, 4096), 4097);
/// assert_eq!(chunk_for(8 << 20, 1 << 30), 8 << 20);
/// ```
pub fn chunk_for(max: usize, left: u64) -> usize {
    left.saturating_add(1).min(max as u64) as usize
}

/// Buffers for the data a driver hands an upload on [`Event::WantData`](crate::Event::WantData),
/// reused once the core has sent them.
///
/// A fresh buffer per chunk costs a page fault per 4 KiB the first time it is filled:
/// the allocator returns freed megabyte buffers to the system as often as not. This keeps
/// every buffer it handed out and gives one back from [`take`](Self::take) once the core
/// holds no view of it any more (the WRITE that carried it went out).
///
/// ```
/// use smb_proto::client::UploadBuffers;
/// let mut pool = UploadBuffers::default();
/// let mut buf = pool.take(1 << 20);
/// let read = b"data read from the file";
/// buf[..read.len()].copy_from_slice(read);
/// let chunk = pool.give(buf, read.len()); // supplied to the core, dropped once sent
/// assert_eq!(&chunk[..], read);
/// drop(chunk);
/// assert_eq!(pool.take(1 << 20).len(), 1 << 20);
/// ```
#[derive(Debug, Default)]
pub struct UploadBuffers {
    /// Every buffer handed out and not yet taken back: the core may still hold some.
    out: Vec<bytes::Bytes>,
}

/// How many buffers the pool follows; older ones are left to the allocator.
const POOL_LIMIT: usize = 64;

impl UploadBuffers {
    /// A buffer of `max` bytes to read into: one the core let go of if there is one,
    /// else a new one.
    ///
    /// It comes initialised, so that one `read` can fill all of it: zeroed once when
    /// new, and a reused buffer only past its whole length before (a chunk shorter than
    /// its buffer does not shrink it: a small file's 4 KiB in an 8 MiB buffer once cost
    /// 8 MiB of zeroing per file). (`read_to_end` into spare capacity avoids the zeroing
    /// but reads a megabyte in eight growing pieces.)
    pub fn take(&mut self, max: usize) -> Vec<u8> {
        // The newest buffer let go of: sends finish in order, so it is the one last
        // touched, and likeliest still in the CPU's cache.
        if let Some(i) = self.out.iter().rposition(bytes::Bytes::is_unique) {
            if let Ok(b) = self.out.remove(i).try_into_mut() {
                let mut v: Vec<u8> = b.into();
                if v.len() > max {
                    v.truncate(max);
                } else {
                    v.resize(max, 0);
                }
                return v;
            }
        }
        vec![0; max]
    }

    /// The first `len` bytes of `buf` (what was read into it), frozen for the core; the
    /// whole buffer is followed so that [`take`](Self::take) can reuse it.
    pub fn give(&mut self, buf: Vec<u8>, len: usize) -> bytes::Bytes {
        let whole = bytes::Bytes::from(buf);
        let chunk = whole.slice(..len.min(whole.len()));
        if self.out.len() == POOL_LIMIT {
            self.out.remove(0);
        }
        self.out.push(whole);
        chunk
    }
}

/// The buffer a driver gathers the server's bytes in for
/// [`Connection::handle_input`](crate::Connection::handle_input), and the buffers it
/// gathered them in before, kept to continue in.
///
/// Each frame the core takes off the buffer stays a view of it until its data has been
/// delivered, and READ answers that overtake an earlier one wait in the core for it.
/// While such views remain, `BytesMut` can only make room in a new allocation, and a
/// megabyte buffer new to the process costs a page fault per 4 KiB the first time it is
/// filled: the allocator returns freed ones to the system as often as not (as for
/// [`UploadBuffers`]). So when the buffer is still held, this moves on to one it moved
/// off earlier that no frame holds any more, and allocates only when there is none: a
/// download allocates as many buffers as it ever had frames waiting at once.
///
/// ```no_run
/// # fn demo(sock: &mut std::net::TcpStream, conn: &mut smb_proto::Connection) -> std::io::Result<()> {
/// use std::io::Read;
/// use smb_proto::client::ReceiveBuffers;
/// let (mut rx, mut scratch) = (ReceiveBuffers::default(), vec![0; 1 << 20]);
/// let want = conn.read_hint(rx.buf()).min(scratch.len());
/// let n = sock.read(&mut scratch[..want])?;
/// rx.extend(&scratch[..n]);
/// conn.handle_input(std::time::Instant::now(), rx.buf());
/// // … every event handed over; when the operation is done:
/// rx.release();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ReceiveBuffers {
    /// The bytes received that the core has not taken yet.
    rx: BytesMut,
    /// Buffers moved off while frames still held them, each emptied and reused once
    /// none does.
    kept: Vec<BytesMut>,
}

/// How many buffers moved off are kept; older ones are left to the allocator.
const KEPT_LIMIT: usize = 16;

/// The first buffer's size: several small answers, or the start of a large one.
const FIRST_BUFFER: usize = 64 * 1024;

impl Default for ReceiveBuffers {
    fn default() -> Self {
        ReceiveBuffers {
            rx: BytesMut::with_capacity(FIRST_BUFFER),
            kept: Vec::new(),
        }
    }
}

impl ReceiveBuffers {
    /// The bytes received that the core has not taken yet: what
    /// [`Connection::handle_input`](crate::Connection::handle_input) and
    /// [`Connection::read_hint`](crate::Connection::read_hint) look at.
    pub fn buf(&mut self) -> &mut BytesMut {
        &mut self.rx
    }

    /// Appends `bytes` read from the socket.
    pub fn extend(&mut self, bytes: &[u8]) {
        let room = self.rx.capacity() - self.rx.len();
        if room < bytes.len() && !self.rx.try_reclaim(bytes.len()) {
            self.move_on(bytes.len());
        }
        self.rx.extend_from_slice(bytes);
    }

    /// Continues in a buffer no frame holds, with room for `additional` bytes after what
    /// has been gathered: a kept one, else a new one. The buffer left is kept.
    fn move_on(&mut self, additional: usize) {
        let need = self.rx.len() + additional;
        let free = self.kept.iter_mut().rposition(|b| b.try_reclaim(need));
        let mut next = match free {
            Some(i) => self.kept.swap_remove(i),
            None => BytesMut::with_capacity(need),
        };
        next.extend_from_slice(&self.rx);
        let mut left = std::mem::replace(&mut self.rx, next);
        left.clear();
        if self.kept.len() == KEPT_LIMIT {
            self.kept.remove(0);
        }
        self.kept.push(left);
    }

    /// Lets the allocator have the kept buffers (at the end of an operation, so that an
    /// idle connection holds none).
    pub fn release(&mut self) {
        self.kept.clear();
    }
}

/// What an upload that may be cut holds on to so that it can resume: every chunk
/// supplied to a [`WriteFile`](crate::ops::WriteFile) that the server has not yet
/// acknowledged together with all before it. A driver's streaming input cannot be read
/// twice, so after a lost connection the chunks kept here are supplied again, from the
/// acknowledged end on, before anything new is read. Chunks are `Bytes` clones of what
/// the core holds in its WRITEs: keeping them copies nothing, and a chunk is let go (its
/// buffer reusable, see [`UploadBuffers`]) once the acknowledged end passes it.
///
/// ```
/// use bytes::Bytes;
/// use smb_proto::client::UploadWindow;
/// let mut w = UploadWindow::new(0);
/// w.supplied(Bytes::from_static(b"abcd"), 4);
/// w.supplied(Bytes::from_static(b"ef"), 4); // shorter than asked: the input ended
/// w.acked(4); // the server acknowledged "abcd"
/// let mut again = w.resume(); // the connection was lost: "ef" is supplied again
/// assert_eq!((again.resumes_at(), again.chunk_len()), (4, 4));
/// assert_eq!(again.next_kept().as_deref(), Some(&b"ef"[..]));
/// assert_eq!(again.next_kept(), None); // then new input, if any
/// ```
#[derive(Debug, Clone)]
pub struct UploadWindow {
    /// Where the kept chunks start: every byte before it is acknowledged.
    acked: u64,
    /// The chunks from `acked` on, in order.
    kept: std::collections::VecDeque<bytes::Bytes>,
    /// How many of `kept` (the last ones) are still to be supplied again.
    replay: usize,
    /// Where the upload started, and the end of what was supplied.
    start: u64,
    end: u64,
    /// The chunk size asked for: every chunk but the last has it.
    chunk: usize,
}

impl UploadWindow {
    /// A window for an upload whose first byte goes to `start`.
    pub fn new(start: u64) -> Self {
        UploadWindow {
            acked: start,
            kept: std::collections::VecDeque::new(),
            replay: 0,
            start,
            end: start,
            chunk: 0,
        }
    }

    /// `chunk` was supplied, new input read for a request of `asked` bytes.
    pub fn supplied(&mut self, chunk: bytes::Bytes, asked: usize) {
        self.chunk = asked;
        self.end += chunk.len() as u64;
        self.kept.push_back(chunk);
    }

    /// The server acknowledged every byte before `to` (the upload's start plus a
    /// progress report's `done`): chunks wholly before it are let go.
    pub fn acked(&mut self, to: u64) {
        // Only chunks supplied on the current connection can have been acknowledged.
        while self.kept.len() > self.replay {
            let Some(first) = self.kept.front() else {
                break;
            };
            let first_end = self.acked + first.len() as u64;
            if first_end > to {
                break;
            }
            self.acked = first_end;
            self.kept.pop_front();
        }
    }

    /// The window after a lost connection: what it kept is to be supplied again, from
    /// [`resumes_at`](Self::resumes_at), before new input.
    pub fn resume(&self) -> UploadWindow {
        UploadWindow {
            replay: self.kept.len(),
            end: self.acked,
            ..self.clone()
        }
    }

    /// Where a resumed upload starts writing: the end of what is acknowledged.
    pub fn resumes_at(&self) -> u64 {
        self.acked
    }

    /// The chunk size asked for so far (0 before the first chunk): a resumed upload
    /// must ask for the same ([`WriteFile::resume`](crate::ops::WriteFile::resume)),
    /// since a chunk shorter than asked ends the input.
    pub fn chunk_len(&self) -> usize {
        self.chunk
    }

    /// Bytes supplied from the upload's start, acknowledged or not.
    pub fn supplied_len(&self) -> u64 {
        self.end - self.start
    }

    /// The next kept chunk to supply again, or `None` when new input comes next.
    pub fn next_kept(&mut self) -> Option<bytes::Bytes> {
        let chunk = self
            .kept
            .get(self.kept.len().checked_sub(self.replay)?)?
            .clone();
        self.replay -= 1;
        self.end += chunk.len() as u64;
        Some(chunk)
    }
}

/// The size of the local file at `path` (0 when there is none or it cannot be read): the
/// bytes of a file a cut many-file transfer moved ([`ManyFiles::lost`]).
pub fn local_size(path: Option<&PathBuf>) -> u64 {
    path.and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len())
}

/// A many-file transfer that survives lost connections: the core's half of a driver's
/// loop. Each run moves the files still to move ([`remaining`](Self::remaining)); a run
/// cut by a lost connection ends in a [`ClientError::Transfer`] naming the files that
/// made it, which [`lost`](Self::lost) counts before the driver makes the connection
/// again and runs the rest (each file is moved whole or not at all, so a file cut in
/// the middle is moved again from its start).
///
/// ```
/// use smb_proto::client::{ClientError, ManyFiles, Retry};
/// let (mut many, mut retry) = (ManyFiles::new(3), Retry::new(None));
/// let cut = ClientError::Transfer {
///     transferred: vec!["a".into()],
///     total: 3,
///     first: Box::new(smb_proto::Error::Closed(smb_proto::CloseReason::Local).into()),
/// };
/// let loss = many.lost(cut, &mut retry, |_| 10).unwrap(); // make the connection again with it
/// let files = ["a", "b", "c"];
/// assert_eq!(many.remaining(&files, |f| f), ["b", "c"]);
/// assert_eq!(many.finished(20), 30); // the last run moved 20 bytes
/// # drop(loss);
/// ```
#[derive(Debug)]
pub struct ManyFiles {
    total: usize,
    /// The files moved by runs that were cut, and their bytes.
    moved: Vec<String>,
    bytes: u64,
    /// Whether a run was cut.
    cut: bool,
}

impl ManyFiles {
    /// A transfer of `total` files.
    pub fn new(total: usize) -> Self {
        ManyFiles {
            total,
            moved: Vec::new(),
            bytes: 0,
            cut: false,
        }
    }

    /// A run ended in `err`. When it was cut by a lost connection (a transfer failure
    /// whose first failure is [`ErrorKind::Disconnected`](crate::ErrorKind)), the files
    /// it moved are counted (their bytes from `size`, by remote path; `retry` counts
    /// anew when there were any) and the loss is returned, to make the connection again
    /// with; otherwise `Err` is what the transfer fails with, naming every file moved in
    /// all runs.
    ///
    /// # Errors
    ///
    /// As above.
    pub fn lost(
        &mut self,
        err: ClientError,
        retry: &mut super::Retry,
        size: impl Fn(&str) -> u64,
    ) -> Result<ClientError, ClientError> {
        match err {
            ClientError::Transfer {
                transferred, first, ..
            } if first.kind() == crate::ErrorKind::Disconnected => {
                if !transferred.is_empty() {
                    retry.moved_on();
                }
                self.bytes += transferred.iter().map(|f| size(f)).sum::<u64>();
                self.moved.extend(transferred);
                self.cut = true;
                Ok(*first)
            }
            err => Err(self.gave_up(err)),
        }
    }

    /// Of a run's `files`, those not moved yet (`name` gives a file's remote path).
    pub fn remaining<T: Clone>(&self, files: &[T], name: impl Fn(&T) -> &str) -> Vec<T> {
        files
            .iter()
            .filter(|f| !self.moved.iter().any(|m| m == name(f)))
            .cloned()
            .collect()
    }

    /// The bytes of the whole transfer once the last run moved `bytes`.
    pub fn finished(&self, bytes: u64) -> u64 {
        self.bytes + bytes
    }

    /// The transfer fails with `err`: as a [`ClientError::Transfer`] naming every file
    /// moved in all runs (`err`'s own list included); an error that is no transfer's,
    /// before any run was cut, as it is.
    pub fn gave_up(&mut self, err: ClientError) -> ClientError {
        let (mut transferred, first) = match err {
            ClientError::Transfer {
                transferred, first, ..
            } => (transferred, first),
            err if !self.cut => return err,
            err => (Vec::new(), Box::new(err)),
        };
        transferred.extend(std::mem::take(&mut self.moved));
        ClientError::Transfer {
            transferred,
            total: self.total,
            first,
        }
    }
}

/// A whole-file download that survives lost connections: the core's half of a
/// driver's loop. Each run is the [`ReadFile`](crate::ops::ReadFile) [`run`](Self::run)
/// gives; the driver reports what it handed over ([`delivered`](Self::delivered)), and
/// after a loss the next run reads on from there.
///
/// ```
/// use smb_proto::client::Download;
/// use smb_proto::ops::ReadFile;
/// let mut d = Download::new(ReadFile::new("share", "big.iso", 0, None));
/// let _first = d.run();
/// d.delivered(0, 4096); // a READ's data went to the output, then the connection was lost
/// assert!(d.moved_on());
/// let _again = d.run(); // reads from 4096 on
/// assert_eq!(d.count(), 4096);
/// ```
#[derive(Debug)]
pub struct Download {
    op: crate::ops::ReadFile,
    /// The offset after the last byte handed over, and how many were.
    next: Option<u64>,
    count: u64,
    moved: bool,
}

impl Download {
    /// A download running `op`.
    pub fn new(op: crate::ops::ReadFile) -> Self {
        Download {
            op,
            next: None,
            count: 0,
            moved: false,
        }
    }

    /// The operation for the next run: the download, from after the last byte handed
    /// over.
    pub fn run(&mut self) -> crate::ops::ReadFile {
        self.moved = false;
        match self.next {
            Some(next) => self.op.resume(next),
            None => self.op.resume(0),
        }
    }

    /// `len` bytes read at `offset` were handed over.
    pub fn delivered(&mut self, offset: u64, len: usize) {
        self.next = Some(offset + len as u64);
        self.count += len as u64;
        self.moved = true;
    }

    /// Whether the current run handed anything over (a loss after that starts the
    /// count of tries anew).
    pub fn moved_on(&self) -> bool {
        self.moved
    }

    /// The bytes handed over in all.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// A streaming upload that survives lost connections: the core's half of a driver's
/// loop. Each run is the [`WriteFile`](crate::ops::WriteFile) [`run`](Self::run) gives;
/// on [`WantData`](crate::Event::WantData) the driver supplies [`kept`](Self::kept)
/// chunks first (after a loss, those not acknowledged), else reads new input into
/// [`buffer`](Self::buffer) and hands it over with [`read`](Self::read); progress reports
/// go through [`acked`](Self::acked).
///
/// ```
/// use smb_proto::client::Upload;
/// use smb_proto::ops::WriteFile;
/// let mut up = Upload::new(WriteFile::new("share", "f.bin"));
/// let _first = up.run();
/// assert!(up.kept().is_none());
/// let mut buf = up.buffer(4);
/// buf.copy_from_slice(b"abcd");
/// let chunk = up.read(buf, 4, 4); // supplied to the core
/// assert_eq!(up.acked(4), 4); // the server acknowledged it: 4 bytes done
/// let _again = up.run(); // after a loss: writes from 4 on
/// ```
#[derive(Debug)]
pub struct Upload {
    template: crate::ops::WriteFile,
    origin: u64,
    /// Where the current run starts writing.
    from: u64,
    window: UploadWindow,
    buffers: UploadBuffers,
    runs: u32,
    moved: bool,
}

impl Upload {
    /// An upload running `op` (which then reports what the server acknowledged: the
    /// resume point).
    pub fn new(op: crate::ops::WriteFile) -> Self {
        let origin = op.start_offset();
        Upload {
            template: op.with_progress(),
            origin,
            from: origin,
            window: UploadWindow::new(origin),
            buffers: UploadBuffers::default(),
            runs: 0,
            moved: false,
        }
    }

    /// The operation for the next run: the upload as asked the first time; after a
    /// loss, from the end of what the server acknowledged, with what was sent since
    /// kept to supply again.
    pub fn run(&mut self) -> crate::ops::WriteFile {
        self.runs += 1;
        self.moved = false;
        if self.runs > 1 {
            self.window = self.window.resume();
        }
        let at = self.window.resumes_at();
        self.from = at;
        self.template.resume(at, self.window.chunk_len())
    }

    /// A chunk sent before the loss and not acknowledged, to supply (in order) before
    /// reading new input.
    pub fn kept(&mut self) -> Option<bytes::Bytes> {
        self.window.next_kept()
    }

    /// A buffer of `max` bytes to read new input into (see [`UploadBuffers::take`]).
    pub fn buffer(&mut self, max: usize) -> Vec<u8> {
        self.buffers.take(max)
    }

    /// The first `len` bytes of `buf`, read from the input for a request of `asked`
    /// bytes, as the chunk to supply; it is kept until acknowledged.
    pub fn read(&mut self, buf: Vec<u8>, len: usize, asked: usize) -> bytes::Bytes {
        let chunk = self.buffers.give(buf, len);
        self.window.supplied(chunk.clone(), asked);
        chunk
    }

    /// A progress report of the current run (`done` from where it started) → the bytes
    /// done from the upload's start, which never go back across runs.
    pub fn acked(&mut self, done: u64) -> u64 {
        self.window.acked(self.from + done);
        self.moved = true;
        self.from + done - self.origin
    }

    /// The bytes written in all, once the current run wrote `written`.
    pub fn written(&self, written: u64) -> u64 {
        self.from - self.origin + written
    }

    /// Whether the current run got anything acknowledged (a loss after that starts the
    /// count of tries anew).
    pub fn moved_on(&self) -> bool {
        self.moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NtStatus;

    fn status(s: NtStatus) -> crate::Error {
        crate::Error::failed(s, "get", "b")
    }

    #[test]
    fn a_many_file_transfer_that_gives_up_names_every_file_moved() {
        let lost = || ClientError::Smb(crate::Error::Closed(crate::CloseReason::Local));
        let cut = |moved: &[&str]| ClientError::Transfer {
            transferred: moved.iter().map(|m| m.to_string()).collect(),
            total: 2,
            first: Box::new(lost()),
        };
        // An error before any cut that is no transfer's passes as it is.
        let mut many = ManyFiles::new(3);
        let plain = many.gave_up(ClientError::Io(io::ErrorKind::NotFound.into()));
        assert!(matches!(plain, ClientError::Io(_)), "{plain:?}");
        // Two cuts, then giving up: every file moved is named, the total is the whole.
        let mut many = ManyFiles::new(3);
        many.lost(cut(&["a"]), &mut crate::client::Retry::new(None), |_| 5)
            .unwrap();
        many.lost(cut(&[]), &mut crate::client::Retry::new(None), |_| 5)
            .unwrap();
        match many.gave_up(lost()) {
            ClientError::Transfer {
                transferred,
                total,
                first,
            } => {
                assert_eq!((transferred, total), (vec!["a".to_string()], 3));
                assert_eq!(first.kind(), crate::ErrorKind::Disconnected);
            }
            other => panic!("{other:?}"),
        }
        // A failure that is not a loss ends it, with what the cut runs moved.
        let mut many = ManyFiles::new(3);
        many.lost(cut(&["a"]), &mut crate::client::Retry::new(None), |_| 5)
            .unwrap();
        let denied = ClientError::Transfer {
            transferred: vec!["b".into()],
            total: 2,
            first: Box::new(ClientError::Smb(crate::Error::failed(
                crate::NtStatus::ACCESS_DENIED,
                "put",
                "c",
            ))),
        };
        match many
            .lost(denied, &mut crate::client::Retry::new(None), |_| 5)
            .unwrap_err()
        {
            ClientError::Transfer { transferred, .. } => assert_eq!(transferred, ["b", "a"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_upload_window_keeps_what_is_not_acknowledged_through_several_resumes() {
        let b = |s: &'static [u8]| bytes::Bytes::from_static(s);
        let mut w = UploadWindow::new(100);
        for c in [&b"aaaa"[..], b"bbbb", b"cccc"] {
            w.supplied(b(c), 4);
        }
        // Acknowledgements inside a chunk free nothing; past it, the chunk goes.
        w.acked(103);
        assert_eq!(w.resumes_at(), 100);
        w.acked(105);
        assert_eq!(w.resumes_at(), 104);
        let mut again = w.resume();
        assert_eq!(again.supplied_len(), 4);
        assert_eq!(again.next_kept().as_deref(), Some(&b"bbbb"[..]));
        // An acknowledgement on the new connection before everything kept was supplied
        // again frees only what was supplied again.
        again.acked(112);
        assert_eq!(again.resumes_at(), 108);
        // Lost again before "cccc" went out: it is still there, and new input follows.
        let mut third = again.resume();
        assert_eq!(third.next_kept().as_deref(), Some(&b"cccc"[..]));
        assert_eq!(third.next_kept(), None);
        third.supplied(b(b"d"), 4);
        assert_eq!((third.supplied_len(), third.chunk_len()), (13, 4));
    }

    #[test]
    fn received_bytes_continue_in_a_buffer_no_frame_holds() {
        let mut rx = ReceiveBuffers::default();
        let first = rx.buf().as_ptr() as usize..rx.buf().as_ptr() as usize + FIRST_BUFFER;
        let within = |rx: &mut ReceiveBuffers, b: &std::ops::Range<usize>| {
            b.contains(&(rx.buf().as_ptr() as usize))
        };
        rx.extend(&[1; 4096]);
        rx.extend(&[2; 100]);
        // The core takes a frame while the next one's start is in; more bytes than the
        // buffer has room for move that start to a new buffer, and the frame keeps its
        // bytes.
        let frame = rx.buf().split_to(4096).freeze();
        rx.extend(&[3; FIRST_BUFFER]);
        assert!(!within(&mut rx, &first));
        assert_eq!(&rx.buf()[..100], &[2; 100][..]);
        assert_eq!(&rx.buf()[100..], &[3; FIRST_BUFFER][..]);
        assert_eq!(&frame[..], &[1; 4096][..]);
        // Once that frame is gone the first buffer is free again, and the next move
        // continues in it rather than in a new one.
        let second = rx.buf().split().freeze();
        drop(frame);
        rx.extend(&[4; 10]);
        assert!(within(&mut rx, &first));
        assert_eq!(&rx.buf()[..], &[4; 10][..]);
        assert_eq!(second.len(), 100 + FIRST_BUFFER);
        assert_eq!(
            rx.kept.len(),
            1,
            "the second buffer, still held by its frame"
        );
        rx.release();
        assert!(rx.kept.is_empty());
    }

    #[test]
    fn every_file_made_it_or_the_first_failure_says_which_did() {
        let names = || vec!["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(
            TransferResults::new(names())
                .finish(Ok(vec![Ok(1), Ok(2), Ok(3)]))
                .unwrap(),
            6
        );

        let e = TransferResults::new(names())
            .finish(Ok(vec![
                Ok(1),
                Err(crate::Error::Cancelled),
                Err(status(NtStatus::ACCESS_DENIED)),
            ]))
            .unwrap_err();
        match e {
            ClientError::Transfer {
                transferred,
                total,
                first,
            } => {
                assert_eq!((transferred, total), (vec!["a".to_string()], 3));
                assert_eq!(
                    first.status(),
                    Some(NtStatus::ACCESS_DENIED),
                    "not the cancel"
                );
            }
            other => panic!("{other:?}"),
        }

        // A local failure is the one reported, and events count what made it before.
        let mut t = TransferResults::new(names());
        t.file_done(0, Ok(5));
        t.file_done(1, Err(status(NtStatus::ACCESS_DENIED)));
        t.local_failure(2, io::Error::other("disk on fire"));
        let e = t
            .finish(Err(ClientError::Smb(crate::Error::Cancelled)))
            .unwrap_err();
        assert!(e.to_string().contains("disk on fire (1 of 3"), "{e}");

        // The operation ended before any file: its own error, with none transferred.
        let e = TransferResults::new(names())
            .finish(Err(ClientError::Smb(status(
                NtStatus::OBJECT_PATH_NOT_FOUND,
            ))))
            .unwrap_err();
        assert!(e.to_string().ends_with("(0 of 3 files transferred)"), "{e}");
        assert_eq!(e.status(), Some(NtStatus::OBJECT_PATH_NOT_FOUND));
    }

    /// A tree holding both `x` and `x.part` once had both written to one temporary.
    #[test]
    fn each_download_gets_its_own_temporary_and_devices_none() {
        let files: Vec<(String, PathBuf)> = ["d/x", "d/x.part", "d/x.part.part", "/dev/null"]
            .iter()
            .map(|p| (p.to_string(), PathBuf::from(p)))
            .collect();
        let parts = part_paths(&files);
        assert_eq!(
            parts,
            [
                Some(PathBuf::from("d/x.part.part.part")),
                Some(PathBuf::from("d/x.part.part.part.part")),
                Some(PathBuf::from("d/x.part.part.part.part.part")),
                None,
            ]
        );
    }

    #[test]
    fn remote_names_land_below_the_local_directory() {
        assert_eq!(
            local_path(Path::new("/tmp/out"), "a\\b\\c.txt"),
            Path::new("/tmp/out/a/b/c.txt")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_local_tree_maps_below_the_remote_directory() {
        let dir = std::env::temp_dir().join(format!("smb-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
        std::fs::write(dir.join("top.txt"), b"1").unwrap();
        std::fs::write(dir.join("sub/deeper/low.txt"), b"2").unwrap();
        let mut t = LocalTree::walk(&dir, "/backup/2026/").unwrap();
        t.dirs.sort();
        t.files.sort();
        assert_eq!(
            t.dirs,
            [
                "backup\\2026",
                "backup\\2026\\sub",
                "backup\\2026\\sub\\deeper"
            ]
        );
        assert_eq!(
            t.files,
            [
                (
                    dir.join("sub/deeper/low.txt"),
                    "backup\\2026\\sub\\deeper\\low.txt".to_string()
                ),
                (dir.join("top.txt"), "backup\\2026\\top.txt".to_string()),
            ]
        );
        std::os::unix::fs::symlink(&dir, dir.join("sub/loop")).unwrap();
        let e = LocalTree::walk(&dir, "x").unwrap_err();
        assert!(e.to_string().contains("symbolic link loop"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_upload_buffer_comes_back_once_the_core_lets_go_of_it() {
        let mut pool = UploadBuffers::default();
        let mut first = pool.take(1024);
        assert_eq!(first, vec![0; 1024]);
        first[..1000].fill(7);
        let at = first.as_ptr();
        let sent = pool.give(first, 1000);
        assert_eq!(sent.len(), 1000);
        // Still held (a WRITE not yet sent): a new buffer.
        let other = pool.take(1024);
        assert_ne!(other.as_ptr(), at);
        drop(sent);
        let again = pool.take(1024);
        assert_eq!(again.as_ptr(), at);
        assert_eq!(again.len(), 1024);
        assert_eq!(again[999..1001], [7, 0]);
        // Asked for more than it holds: grown; for less: cut to it.
        let bigger = pool.give(again, 0);
        drop(bigger);
        let grown = pool.take(4096);
        assert_eq!(grown.len(), 4096);
        drop(pool.give(grown, 10));
        assert_eq!(pool.take(100).len(), 100);
    }
}
