//! pike's `TreeConnect` and `PikePath`: a [`Share`] handle (a connection and one of its
//! shares, whose tree it disconnects when dropped) and pathlib-style [`SmbPath`]s on it.
//!
//! Every method is a few lines over an operation of [`smb_proto::ops`]; what needs no
//! I/O (the environment's variables, pure path manipulation, `open()` modes, wildcard
//! matching) is [`smb_proto::client`]'s, shared with smb-async.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use smb_proto::client::{
    decode_text, filetime, is_missing, Creds, Glob, OpenMode, PurePath, ShareTarget,
};
use smb_proto::ops::{self, FileInfoClass};

use crate::{Connection, File, FileInfo, Result};

/// A connection and one of its shares (pike's `TreeConnect`): the root of [`SmbPath`]s.
///
/// Cheap to clone; every clone and every path made from it share the connection. When
/// the last of them goes, the share's tree is disconnected (TREE_DISCONNECT; a
/// connection already gone is no error) and, when nothing else holds the connection,
/// the socket closes.
///
/// ```no_run
/// use smb_blocking::Share;
/// # fn main() -> smb_blocking::Result<()> {
/// let share = Share::connect("fileserver", r"CORP\alice%secret", "data")?;
/// let report = &share / "reports" / "q3.txt";
/// println!("{}", report.read_text()?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Share {
    tree: Arc<Tree>,
}

/// What every clone of a [`Share`] holds; disconnects the tree when the last one goes.
struct Tree {
    conn: Connection,
    name: String,
    /// `\\server\share`, what paths display under.
    unc: String,
}

impl Drop for Tree {
    fn drop(&mut self) {
        // A connection that ended answers at once with its error; nothing to report
        // from a drop.
        let _ = self.conn.call(ops::TreeDisconnect::new(&self.name));
    }
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("unc", &self.tree.unc)
            .finish_non_exhaustive()
    }
}

impl Share {
    /// Connects to `server` (`host` or `host:port`), logs in with `creds` (pike's
    /// `DOMAIN\user%password`, or a [`Creds`]) and connects `share`.
    ///
    /// ```no_run
    /// use smb_blocking::{Creds, Share};
    /// # fn main() -> smb_blocking::Result<()> {
    /// let a = Share::connect("fileserver:4455", "alice%secret", "data")?;
    /// let b = Share::connect("fileserver", Creds::new("bob", "pw").in_domain("CORP"), "data")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Connection::connect`]; the tree connect's error
    /// ([`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for no such share).
    pub fn connect(server: &str, creds: impl Into<Creds>, share: &str) -> Result<Share> {
        Share::connect_with(&ShareTarget::new(server, creds, share))
    }

    /// Connects to the share the environment names: `SMB_SERVER`, `SMB_PORT`,
    /// `SMB_CREDS` (or `SMB_USER`, `SMB_PASSWORD`, `SMB_DOMAIN`) and `SMB_SHARE`, or
    /// pike's `PIKE_SERVER`, `PIKE_PORT`, `PIKE_CREDS` and `PIKE_SHARE`; the full rules
    /// are [`ShareTarget::from_lookup`]'s.
    ///
    /// A variable that is empty or not UTF-8 counts as unset.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) naming the
    /// variable when the server or share is missing or the port is not one; else as for
    /// [`Share::connect`].
    pub fn from_env() -> Result<Share> {
        Share::connect_with(&ShareTarget::from_lookup(|name| std::env::var(name).ok())?)
    }

    /// Connects to `target` (its options may set signing, encryption, dialects…).
    ///
    /// # Errors
    ///
    /// As for [`Share::connect`].
    pub fn connect_with(target: &ShareTarget) -> Result<Share> {
        Share::on(Connection::connect(&target.options)?, &target.share)
    }

    /// `share` on a connection already made; the tree is connected now.
    ///
    /// The core keeps one tree per share and session: two `Share`s for the same share
    /// on one connection share it, and the first one dropped disconnects it under the
    /// other (which reconnects on its next operation, but loses its open files). Clone
    /// a `Share` rather than make a second one.
    ///
    /// # Errors
    ///
    /// The tree connect's error.
    pub fn on(conn: Connection, share: &str) -> Result<Share> {
        let unc = conn.call(ops::ConnectShare::new(share))?.unc;
        Ok(Share {
            tree: Arc::new(Tree {
                conn,
                name: share.to_string(),
                unc,
            }),
        })
    }

    /// The connection, for the operations paths do not offer.
    pub fn connection(&self) -> &Connection {
        &self.tree.conn
    }
}

smb_proto::share_path_impls!(Share, SmbPath, crate::Error);

/// A path on a [`Share`], with pathlib's methods (pike's `PikePath`): a clone of the
/// share handle and a share-relative [`PurePath`].
///
/// Pure methods (`join`, `parent`, `name`, …) do no I/O; the others are one operation
/// each, and fail with the crate's [`Error`](crate::Error), whose
/// [`kind`](crate::Error::kind) is pathlib's exception: `NotFound` for
/// `FileNotFoundError`, `AlreadyExists`, `IsADirectory`, `NotADirectory`, `NotEmpty`,
/// `PermissionDenied`…
///
/// ```no_run
/// # fn demo(share: &smb_blocking::Share) -> smb_blocking::Result<()> {
/// let logs = share.path("logs");
/// logs.mkdir(true, true)?;
/// (&logs / "today.log").write_text("started\n")?;
/// for log in logs.glob("*.log")? {
///     println!("{} ({} bytes)", log.name(), log.stat()?.size);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SmbPath {
    share: Share,
    path: PurePath,
}

/// The paths [`SmbPath::iterdir`], [`SmbPath::glob`] and [`SmbPath::rglob`] found, in
/// the server's order.
#[derive(Debug)]
pub struct Paths(std::vec::IntoIter<SmbPath>);

impl Iterator for Paths {
    type Item = SmbPath;
    fn next(&mut self) -> Option<SmbPath> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Paths {}

/// Pure path operations: no I/O.
/// Operations on the server: one operation of [`smb_proto::ops`] each.
impl SmbPath {
    fn conn(&self) -> &Connection {
        &self.share.tree.conn
    }

    fn share_name(&self) -> &str {
        &self.share.tree.name
    }

    /// Attributes (pathlib's `stat`, pysmb's `getAttributes`): one CREATE + CLOSE.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing path.
    pub fn stat(&self) -> Result<FileInfo> {
        self.conn()
            .call(ops::Stat::new(self.share_name(), self.as_str()))
    }

    /// The size and free space of the file system holding this path (Python's
    /// `shutil.disk_usage`, libsmbclient's `statvfs`): one round trip.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing path.
    pub fn disk_free(&self) -> Result<crate::FsInfo> {
        self.conn()
            .call(ops::StatFs::new(self.share_name(), self.as_str()))
    }

    /// Truncates or extends the file to `len` bytes (Python's `os.truncate`); bytes
    /// added read as zeros.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing file,
    /// [`ErrorKind::IsADirectory`](crate::ErrorKind::IsADirectory) for a directory.
    pub fn truncate(&self, len: u64) -> Result<()> {
        self.conn()
            .call(ops::Truncate::new(self.share_name(), self.as_str(), len))
    }

    /// The raw QUERY_INFO answer for file information class `class`
    /// ([`fscc::class`](smb_proto::wire::fscc::class); pike's
    /// `stat(file_information_class)`).
    ///
    /// ```no_run
    /// # fn demo(p: &smb_blocking::SmbPath) -> smb_blocking::Result<()> {
    /// use smb_proto::wire::fscc::class;
    /// let internal = p.stat_class(class::FILE_INTERNAL_INFORMATION)?;
    /// let file_id = u64::from_le_bytes(internal[..8].try_into().unwrap());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing path; the
    /// server's status for a class it does not offer (STATUS_INVALID_INFO_CLASS).
    pub fn stat_class(&self, class: u8) -> Result<Bytes> {
        self.conn().call(ops::QueryPathInfo::new(
            self.share_name(),
            self.as_str(),
            class,
        ))
    }

    /// One of the information classes this crate decodes, typed:
    /// `FileBasicInformation`, `FileStandardInformation`, `FileAllInformation`,
    /// `FileNameInformation` or `Vec<FileStreamInformation>` (of
    /// [`smb_proto::wire::fscc`]).
    ///
    /// ```no_run
    /// # fn demo(p: &smb_blocking::SmbPath) -> smb_blocking::Result<()> {
    /// use smb_proto::wire::fscc::FileStandardInformation;
    /// let links = p.stat_info::<FileStandardInformation>()?.number_of_links;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::stat_class`].
    pub fn stat_info<C: FileInfoClass>(&self) -> Result<C> {
        self.conn()
            .call(ops::PathInfo::<C>::new(self.share_name(), self.as_str()))
    }

    /// The data streams of this file or directory ([`Connection::list_streams`](crate::Connection::list_streams)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing path.
    pub fn streams(&self) -> Result<Vec<crate::StreamInfo>> {
        self.conn()
            .call(ops::ListStreams::new(self.share_name(), self.as_str()))
    }

    /// The extended attributes of this file or directory ([`Connection::get_eas`](crate::Connection::get_eas)).
    ///
    /// # Errors
    ///
    /// As for [`Connection::get_eas`](crate::Connection::get_eas).
    pub fn eas(&self) -> Result<Vec<crate::FileFullEaInformation>> {
        self.conn()
            .call(ops::GetEas::new(self.share_name(), self.as_str()))
    }

    /// Sets extended attribute `name` to `value`; an empty value removes it
    /// ([`Connection::set_ea`](crate::Connection::set_ea)).
    ///
    /// # Errors
    ///
    /// As for [`Connection::set_ea`](crate::Connection::set_ea).
    pub fn set_ea(&self, name: &str, value: &[u8]) -> Result<()> {
        let op = ops::SetEas::new(self.share_name(), self.as_str(), &[(name, value)]);
        self.conn().call(op)
    }

    /// The attributes, or `None` when nothing is there (not found, or a parent that is
    /// a file).
    fn stat_if_any(&self) -> Result<Option<FileInfo>> {
        match self.stat() {
            Ok(info) => Ok(Some(info)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether something is at this path.
    ///
    /// # Errors
    ///
    /// Failures other than the path's absence (access denied, a lost connection).
    pub fn exists(&self) -> Result<bool> {
        Ok(self.stat_if_any()?.is_some())
    }

    /// Whether this path is a file.
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::exists`].
    pub fn is_file(&self) -> Result<bool> {
        Ok(self.stat_if_any()?.is_some_and(|i| !i.is_directory()))
    }

    /// Whether this path is a directory.
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::exists`].
    pub fn is_dir(&self) -> Result<bool> {
        Ok(self.stat_if_any()?.is_some_and(|i| i.is_directory()))
    }

    fn paths(&self, entries: impl IntoIterator<Item = SmbPath>) -> Paths {
        Paths(entries.into_iter().collect::<Vec<_>>().into_iter())
    }

    /// The directory's entries (without `.` and `..`), listed at once.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing directory,
    /// [`ErrorKind::NotADirectory`](crate::ErrorKind::NotADirectory) for a file.
    pub fn iterdir(&self) -> Result<Paths> {
        let entries = self
            .conn()
            .call(ops::ListDir::new(self.share_name(), self.as_str(), "*"))?;
        Ok(self.paths(entries.iter().map(|e| self.at(self.path.child(&e.name)))))
    }

    /// The directory's entries whose names match `pattern` ([`Glob`]: `*`, `?`,
    /// case-insensitive; one level). The server narrows the listing with the pattern.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a pattern
    /// [`Glob::new`] refuses; else as for [`SmbPath::iterdir`].
    pub fn glob(&self, pattern: &str) -> Result<Paths> {
        let glob = Glob::new(pattern)?;
        let entries = self.conn().call(ops::ListDir::new(
            self.share_name(),
            self.as_str(),
            glob.pattern(),
        ))?;
        let matching = entries.iter().filter(|e| glob.matches(&e.name));
        Ok(self.paths(matching.map(|e| self.at(self.path.child(&e.name)))))
    }

    /// Every file and directory below this one, at any depth, whose name matches
    /// `pattern` (as for [`SmbPath::glob`]); each directory comes before what it holds.
    ///
    /// The tree is listed whole ([`ops::ListTree`], the directories of each level
    /// several at once) and names are matched here, with the wildcard rules the server
    /// uses: one listing per directory whatever the pattern, rather than a pattern
    /// listing and a full listing (to find subdirectories) per directory.
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::glob`].
    pub fn rglob(&self, pattern: &str) -> Result<Paths> {
        let glob = Glob::new(pattern)?;
        let entries = self
            .conn()
            .call(ops::ListTree::new(self.share_name(), self.as_str()))?;
        let matching = entries.iter().filter(|e| glob.matches(&e.info.name));
        Ok(self.paths(matching.map(|e| self.join(&e.path))))
    }

    /// Creates this directory; with `parents`, any missing parents too; with
    /// `exist_ok`, an existing directory is fine (pathlib's `mkdir`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) when the name exists
    /// (with `exist_ok`, only when it is not a directory);
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing parent without
    /// `parents`; [`ErrorKind::NotADirectory`](crate::ErrorKind::NotADirectory) when a
    /// parent is a file.
    pub fn mkdir(&self, parents: bool, exist_ok: bool) -> Result<()> {
        let op = ops::MakeDirectory::new(self.share_name(), self.as_str());
        self.conn().call(op.parents(parents).exist_ok(exist_ok))
    }

    /// Removes this empty directory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotEmpty`](crate::ErrorKind::NotEmpty) when it holds anything,
    /// [`ErrorKind::NotADirectory`](crate::ErrorKind::NotADirectory) for a file,
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when missing.
    pub fn rmdir(&self) -> Result<()> {
        self.conn()
            .call(ops::Rmdir::new(self.share_name(), self.as_str()))
    }

    /// Deletes this file; with `missing_ok`, a missing one is fine. `*` and `?` in the
    /// name are not wildcards here.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when missing (unless
    /// `missing_ok`), [`ErrorKind::IsADirectory`](crate::ErrorKind::IsADirectory) for a
    /// directory.
    pub fn unlink(&self, missing_ok: bool) -> Result<()> {
        let op = ops::Delete::new(self.share_name(), self.as_str()).literal();
        match self.conn().call(op) {
            Err(e) if missing_ok && e.kind() == crate::ErrorKind::NotFound => Ok(()),
            r => r.map(drop),
        }
    }

    /// Renames or moves this file or directory to `target` (share-relative, or another
    /// path's share-relative path) → the new path. Fails if `target` exists.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) when `target`
    /// exists, [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when this path does
    /// not.
    pub fn rename(&self, target: impl AsRef<str>) -> Result<SmbPath> {
        self.move_to(target.as_ref(), false)
    }

    /// [`SmbPath::rename`], replacing `target` if it exists (a file; the server refuses
    /// to replace a directory).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when this path does not
    /// exist; [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied) when
    /// `target` is a directory or open.
    pub fn replace(&self, target: impl AsRef<str>) -> Result<SmbPath> {
        self.move_to(target.as_ref(), true)
    }

    fn move_to(&self, target: &str, replace: bool) -> Result<SmbPath> {
        let target = self.share.path(target);
        let op = ops::Rename::new(self.share_name(), self.as_str(), target.as_str(), replace);
        self.conn().call(op)?;
        Ok(target)
    }

    /// Creates an empty file, or (with `exist_ok`) sets an existing file's or
    /// directory's last write time to now.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) when the name exists
    /// and not `exist_ok`; [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a
    /// missing parent.
    pub fn touch(&self, exist_ok: bool) -> Result<()> {
        let now = filetime(SystemTime::now())?;
        self.conn().call(ops::Touch::new(
            self.share_name(),
            self.as_str(),
            exist_ok,
            now,
        ))
    }

    /// The whole file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when missing,
    /// [`ErrorKind::IsADirectory`](crate::ErrorKind::IsADirectory) for a directory.
    pub fn read_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.conn()
            .retrieve_file(self.share_name(), self.as_str(), &mut out)?;
        Ok(out)
    }

    /// The whole file as UTF-8 text.
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::read_bytes`];
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) when the bytes
    /// are not UTF-8.
    pub fn read_text(&self) -> Result<String> {
        Ok(decode_text(self.read_bytes()?, self.as_str())?)
    }

    /// Creates or replaces the file with `data`; returns the byte count.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing parent,
    /// [`ErrorKind::IsADirectory`](crate::ErrorKind::IsADirectory) for a directory.
    pub fn write_bytes(&self, data: &[u8]) -> Result<u64> {
        self.conn()
            .store_file(self.share_name(), self.as_str(), &mut &data[..])
    }

    /// Creates or replaces the file with `text`, UTF-8; returns the byte count.
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::write_bytes`].
    pub fn write_text(&self, text: &str) -> Result<u64> {
        self.write_bytes(text.as_bytes())
    }

    /// Opens the file with one of Python's modes ([`OpenMode`]): `r`, `w`, `a`, `x`,
    /// each optionally with `+`, and `b` accepted (the handle is binary either way).
    /// In `a` mode the file starts at its end and every write goes to the end.
    ///
    /// ```no_run
    /// use std::io::{Read, Seek, SeekFrom, Write};
    /// # fn demo(p: &smb_blocking::SmbPath) -> smb_blocking::Result<()> {
    /// let mut log = p.open("a")?;
    /// log.write_all(b"one more line\n")?;
    /// let mut f = p.open("r+")?;
    /// f.seek(SeekFrom::Start(4))?;
    /// f.write_all(b"MORE")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for an unknown
    /// mode; [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) (`r`, `r+` on a
    /// missing file), [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists)
    /// (`x` on an existing one), [`ErrorKind::IsADirectory`](crate::ErrorKind::IsADirectory).
    pub fn open(&self, mode: &str) -> Result<File> {
        let mode = OpenMode::parse(mode)?;
        let file = self
            .conn()
            .open(self.share_name(), self.as_str(), mode.options)?;
        Ok(file.for_path(self.share.clone(), mode.append))
    }
}
