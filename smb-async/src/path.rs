//! pike's `TreeConnect` and `PikePath`, async: a [`Share`] handle (a connection and one
//! of its shares, whose tree it disconnects when dropped) and pathlib-style [`SmbPath`]s
//! on it, with `async` methods. smb-tokio and smb-asyncstd wrap [`Share`] with
//! `connect` and `from_env` on their runtimes.
//!
//! Every method is a few lines over an operation of [`smb_proto::ops`]; what needs no
//! I/O (the environment's variables, pure path manipulation, `open()` modes, wildcard
//! matching) is [`smb_proto::client`]'s, shared with smb-blocking.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use futures_core::Stream;
use smb_proto::client::{
    decode_text, filetime, is_missing, Creds, Glob, OpenMode, PurePath, ShareTarget,
};
use smb_proto::ops::{self, BoxedOp, FileInfoClass};

use crate::runtime::Runtime;
use crate::{Client, File, FileInfo, ListStream, Result};

/// A connection and one of its shares (pike's `TreeConnect`): the root of [`SmbPath`]s.
///
/// Cheap to clone; every clone and every path made from it share the connection. When
/// the last of them goes, the share's tree is disconnected: a drop cannot wait, so the
/// TREE_DISCONNECT is handed to the connection's task and goes out without anyone waiting
/// for its answer. When that handle was the last one to the connection, the connection
/// closes instead (its task ends with its last handle), which ends the tree on the
/// server just the same.
///
/// ```no_run
/// # async fn demo(runtime: std::sync::Arc<dyn smb_async::runtime::Runtime>) -> smb_async::Result<()> {
/// use smb_async::Share;
/// let share = Share::connect("fileserver", r"CORP\alice%secret", "data", runtime).await?;
/// let report = &share / "reports" / "q3.txt";
/// println!("{}", report.read_text().await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Share {
    tree: Arc<Tree>,
}

/// What every clone of a [`Share`] holds; disconnects the tree when the last one goes.
struct Tree {
    client: Client,
    name: String,
    /// `\\server\share`, what paths display under.
    unc: String,
}

impl Drop for Tree {
    fn drop(&mut self) {
        // A connection that ended refuses the command at once; nothing to report from a
        // drop.
        let op = BoxedOp::new(ops::TreeDisconnect::new(&self.name));
        if let Ok(running) = self.client.begin(op, None) {
            running.detach();
        }
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
    /// Connects to `server` (`host` or `host:port`) on `runtime`, logs in with `creds`
    /// (pike's `DOMAIN\user%password`, or a [`Creds`]) and connects `share`.
    /// `smb_tokio::Share::connect` and `smb_asyncstd::Share::connect` supply the runtime.
    ///
    /// # Errors
    ///
    /// As for [`Client::connect_with`]; the tree connect's error
    /// ([`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for no such share).
    pub async fn connect(
        server: &str,
        creds: impl Into<Creds>,
        share: &str,
        runtime: Arc<dyn Runtime>,
    ) -> Result<Share> {
        Share::connect_with(&ShareTarget::new(server, creds, share), runtime).await
    }

    /// Connects on `runtime` to the share the environment names (`SMB_SERVER`,
    /// `SMB_PORT`, `SMB_CREDS` or `SMB_USER`/`SMB_PASSWORD`/`SMB_DOMAIN`, `SMB_SHARE`,
    /// or pike's `PIKE_*` names; [`ShareTarget::from_lookup`] has the rules).
    ///
    /// A variable that is empty or not UTF-8 counts as unset.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) naming the
    /// variable when the server or share is missing or the port is not one; else as for
    /// [`Share::connect`].
    pub async fn from_env(runtime: Arc<dyn Runtime>) -> Result<Share> {
        let target = ShareTarget::from_lookup(|name| std::env::var(name).ok())?;
        Share::connect_with(&target, runtime).await
    }

    /// Connects on `runtime` to `target` (its options may set signing, encryption…).
    ///
    /// # Errors
    ///
    /// As for [`Share::connect`].
    pub async fn connect_with(target: &ShareTarget, runtime: Arc<dyn Runtime>) -> Result<Share> {
        let client = Client::connect_with(&target.options, runtime).await?;
        Share::on(client, &target.share).await
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
    pub async fn on(client: Client, share: &str) -> Result<Share> {
        let unc = client.call(ops::ConnectShare::new(share)).await?.unc;
        Ok(Share {
            tree: Arc::new(Tree {
                client,
                name: share.to_string(),
                unc,
            }),
        })
    }

    /// The connection, for the operations paths do not offer.
    pub fn client(&self) -> &Client {
        &self.tree.client
    }
}

smb_proto::share_path_impls!(Share, SmbPath, crate::Error);

/// A path on a [`Share`], with pathlib's methods (pike's `PikePath`) as `async fn`s: a
/// clone of the share handle and a share-relative [`PurePath`].
///
/// The same methods as smb-blocking's `SmbPath`, with the same errors, whose
/// [`kind`](crate::Error::kind) is pathlib's exception (`NotFound`, `AlreadyExists`,
/// `IsADirectory`, `NotADirectory`, `NotEmpty`…). `iterdir` and `glob` are streams
/// fetching a page of entries at a time; `rglob` lists the whole tree first.
///
/// ```no_run
/// # async fn demo(share: &smb_async::Share) -> smb_async::Result<()> {
/// let logs = share.path("logs");
/// logs.mkdir(true, true).await?;
/// (&logs / "today.log").write_text("started\n").await?;
/// let mut found = logs.glob("*.log").await?;
/// while let Some(log) = found.next().await {
///     let log = log?;
///     println!("{} ({} bytes)", log.name(), log.stat().await?.size);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SmbPath {
    share: Share,
    path: PurePath,
}

/// The entries [`SmbPath::iterdir`] and [`SmbPath::glob`] find, as paths, a page of
/// the listing at a time (see [`ListStream`]). Dropping it cancels the listing.
#[derive(Debug)]
pub struct PathStream {
    dir: SmbPath,
    glob: Option<Glob>,
    entries: ListStream,
}

impl PathStream {
    /// The next path; `None` after the last one or after an error.
    pub async fn next(&mut self) -> Option<Result<SmbPath>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Every remaining path.
    ///
    /// # Errors
    ///
    /// The listing's error.
    pub async fn collect(mut self) -> Result<Vec<SmbPath>> {
        let mut out = Vec::new();
        while let Some(p) = self.next().await {
            out.push(p?);
        }
        Ok(out)
    }
}

impl Stream for PathStream {
    type Item = Result<SmbPath>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<SmbPath>>> {
        let this = self.get_mut();
        loop {
            return Poll::Ready(match ready!(Pin::new(&mut this.entries).poll_next(cx)) {
                Some(Ok(e)) if this.glob.as_ref().is_some_and(|g| !g.matches(&e.name)) => continue,
                Some(Ok(e)) => Some(Ok(this.dir.at(this.dir.path.child(&e.name)))),
                Some(Err(e)) => Some(Err(e)),
                None => None,
            });
        }
    }
}

/// Pure path operations: no I/O.
/// Operations on the server: one operation of [`smb_proto::ops`] each.
impl SmbPath {
    fn client(&self) -> &Client {
        &self.share.tree.client
    }

    fn share_name(&self) -> &str {
        &self.share.tree.name
    }

    /// Attributes (pathlib's `stat`): one CREATE + CLOSE.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing path.
    pub async fn stat(&self) -> Result<FileInfo> {
        self.client()
            .call(ops::Stat::new(self.share_name(), self.as_str()))
            .await
    }

    /// The size and free space of the file system holding this path (Python's
    /// `shutil.disk_usage`, libsmbclient's `statvfs`): one round trip.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing path.
    pub async fn disk_free(&self) -> Result<crate::FsInfo> {
        self.client()
            .call(ops::StatFs::new(self.share_name(), self.as_str()))
            .await
    }

    /// Truncates or extends the file to `len` bytes (Python's `os.truncate`); bytes
    /// added read as zeros.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing file,
    /// [`ErrorKind::IsADirectory`](crate::ErrorKind::IsADirectory) for a directory.
    pub async fn truncate(&self, len: u64) -> Result<()> {
        self.client()
            .call(ops::Truncate::new(self.share_name(), self.as_str(), len))
            .await
    }

    /// The raw QUERY_INFO answer for file information class `class`
    /// ([`fscc::class`](smb_proto::wire::fscc::class); pike's
    /// `stat(file_information_class)`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing path; the
    /// server's status for a class it does not offer.
    pub async fn stat_class(&self, class: u8) -> Result<Bytes> {
        let op = ops::QueryPathInfo::new(self.share_name(), self.as_str(), class);
        self.client().call(op).await
    }

    /// One of the information classes this crate decodes, typed
    /// ([`FileInfoClass`]: `FileBasicInformation`, `FileStandardInformation`,
    /// `FileAllInformation`, `FileNameInformation`, `Vec<FileStreamInformation>`).
    ///
    /// ```no_run
    /// # async fn demo(p: &smb_async::SmbPath) -> smb_async::Result<()> {
    /// use smb_proto::wire::fscc::FileStandardInformation;
    /// let links = p.stat_info::<FileStandardInformation>().await?.number_of_links;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::stat_class`].
    pub async fn stat_info<C: FileInfoClass>(&self) -> Result<C> {
        let op = ops::PathInfo::<C>::new(self.share_name(), self.as_str());
        self.client().call(op).await
    }

    /// The data streams of this file or directory ([`Client::list_streams`](crate::Client::list_streams)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing path.
    pub async fn streams(&self) -> Result<Vec<crate::StreamInfo>> {
        let op = ops::ListStreams::new(self.share_name(), self.as_str());
        self.client().call(op).await
    }

    /// The extended attributes of this file or directory ([`Client::get_eas`](crate::Client::get_eas)).
    ///
    /// # Errors
    ///
    /// As for [`Client::get_eas`](crate::Client::get_eas).
    pub async fn eas(&self) -> Result<Vec<crate::FileFullEaInformation>> {
        let op = ops::GetEas::new(self.share_name(), self.as_str());
        self.client().call(op).await
    }

    /// Sets extended attribute `name` to `value`; an empty value removes it
    /// ([`Client::set_ea`](crate::Client::set_ea)).
    ///
    /// # Errors
    ///
    /// As for [`Client::set_ea`](crate::Client::set_ea).
    pub async fn set_ea(&self, name: &str, value: &[u8]) -> Result<()> {
        let op = ops::SetEas::new(self.share_name(), self.as_str(), &[(name, value)]);
        self.client().call(op).await
    }

    /// The attributes, or `None` when nothing is there.
    async fn stat_if_any(&self) -> Result<Option<FileInfo>> {
        match self.stat().await {
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
    pub async fn exists(&self) -> Result<bool> {
        Ok(self.stat_if_any().await?.is_some())
    }

    /// Whether this path is a file.
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::exists`].
    pub async fn is_file(&self) -> Result<bool> {
        Ok(self.stat_if_any().await?.is_some_and(|i| !i.is_directory()))
    }

    /// Whether this path is a directory.
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::exists`].
    pub async fn is_dir(&self) -> Result<bool> {
        Ok(self.stat_if_any().await?.is_some_and(|i| i.is_directory()))
    }

    async fn listing(&self, pattern: &str, glob: Option<Glob>) -> Result<PathStream> {
        let entries = self
            .client()
            .list_path_stream(self.share_name(), self.as_str(), pattern)
            .await?;
        Ok(PathStream {
            dir: self.clone(),
            glob,
            entries,
        })
    }

    /// The directory's entries (without `.` and `..`), a page at a time.
    ///
    /// # Errors
    ///
    /// Through the stream: [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a
    /// missing directory, [`ErrorKind::NotADirectory`](crate::ErrorKind::NotADirectory)
    /// for a file.
    pub async fn iterdir(&self) -> Result<PathStream> {
        self.listing("*", None).await
    }

    /// The directory's entries whose names match `pattern` ([`Glob`]: `*`, `?`,
    /// case-insensitive; one level). The server narrows the listing with the pattern.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a pattern
    /// [`Glob::new`] refuses; else as for [`SmbPath::iterdir`].
    pub async fn glob(&self, pattern: &str) -> Result<PathStream> {
        let glob = Glob::new(pattern)?;
        self.listing(glob.pattern(), Some(glob.clone())).await
    }

    /// Every file and directory below this one, at any depth, whose name matches
    /// `pattern` (as for [`SmbPath::glob`]); each directory before what it holds.
    ///
    /// The tree is listed whole ([`ops::ListTree`]) and names are matched here, with
    /// the wildcard rules the server uses: one listing per directory whatever the
    /// pattern.
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::glob`].
    pub async fn rglob(&self, pattern: &str) -> Result<Vec<SmbPath>> {
        let glob = Glob::new(pattern)?;
        let entries = self
            .client()
            .call(ops::ListTree::new(self.share_name(), self.as_str()))
            .await?;
        Ok(entries
            .iter()
            .filter(|e| glob.matches(&e.info.name))
            .map(|e| self.join(&e.path))
            .collect())
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
    pub async fn mkdir(&self, parents: bool, exist_ok: bool) -> Result<()> {
        let op = ops::MakeDirectory::new(self.share_name(), self.as_str());
        self.client()
            .call(op.parents(parents).exist_ok(exist_ok))
            .await
    }

    /// Removes this empty directory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotEmpty`](crate::ErrorKind::NotEmpty) when it holds anything,
    /// [`ErrorKind::NotADirectory`](crate::ErrorKind::NotADirectory) for a file,
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when missing.
    pub async fn rmdir(&self) -> Result<()> {
        self.client()
            .call(ops::Rmdir::new(self.share_name(), self.as_str()))
            .await
    }

    /// Deletes this file; with `missing_ok`, a missing one is fine. `*` and `?` in the
    /// name are not wildcards here.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when missing (unless
    /// `missing_ok`), [`ErrorKind::IsADirectory`](crate::ErrorKind::IsADirectory) for a
    /// directory.
    pub async fn unlink(&self, missing_ok: bool) -> Result<()> {
        let op = ops::Delete::new(self.share_name(), self.as_str()).literal();
        match self.client().call(op).await {
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
    pub async fn rename(&self, target: impl AsRef<str>) -> Result<SmbPath> {
        self.move_to(target.as_ref(), false).await
    }

    /// [`SmbPath::rename`], replacing `target` if it exists (a file; the server refuses
    /// to replace a directory).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when this path does not
    /// exist; [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied) when
    /// `target` is a directory or open.
    pub async fn replace(&self, target: impl AsRef<str>) -> Result<SmbPath> {
        self.move_to(target.as_ref(), true).await
    }

    async fn move_to(&self, target: &str, replace: bool) -> Result<SmbPath> {
        let target = self.share.path(target);
        let op = ops::Rename::new(self.share_name(), self.as_str(), target.as_str(), replace);
        self.client().call(op).await?;
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
    pub async fn touch(&self, exist_ok: bool) -> Result<()> {
        let now = filetime(SystemTime::now())?;
        let op = ops::Touch::new(self.share_name(), self.as_str(), exist_ok, now);
        self.client().call(op).await
    }

    /// The whole file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when missing,
    /// [`ErrorKind::IsADirectory`](crate::ErrorKind::IsADirectory) for a directory.
    pub async fn read_bytes(&self) -> Result<Vec<u8>> {
        self.client()
            .retrieve_file_to_vec(self.share_name(), self.as_str())
            .await
    }

    /// The whole file as UTF-8 text.
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::read_bytes`];
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) when the bytes
    /// are not UTF-8.
    pub async fn read_text(&self) -> Result<String> {
        Ok(decode_text(self.read_bytes().await?, self.as_str())?)
    }

    /// Creates or replaces the file with `data` (a `Vec<u8>`, `Bytes` or
    /// `&'static [u8]`: large payloads go to the socket without a copy; copy a borrowed
    /// slice with `Bytes::copy_from_slice`); returns the byte count.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing parent,
    /// [`ErrorKind::IsADirectory`](crate::ErrorKind::IsADirectory) for a directory.
    pub async fn write_bytes(&self, data: impl Into<Bytes>) -> Result<u64> {
        self.client()
            .store_bytes(self.share_name(), self.as_str(), data.into())
            .await
    }

    /// Creates or replaces the file with `text`, UTF-8; returns the byte count.
    ///
    /// # Errors
    ///
    /// As for [`SmbPath::write_bytes`].
    pub async fn write_text(&self, text: &str) -> Result<u64> {
        self.write_bytes(Bytes::copy_from_slice(text.as_bytes()))
            .await
    }

    /// Opens the file with one of Python's modes ([`OpenMode`]): `r`, `w`, `a`, `x`,
    /// each optionally with `+`, and `b` accepted (the handle is binary either way) →
    /// a `futures-io` [`File`] (smb-tokio converts it to its own with `File::from`).
    /// In `a` mode the file starts at its end and every write goes to the end.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for an unknown
    /// mode; [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) (`r`, `r+` on a
    /// missing file), [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists)
    /// (`x` on an existing one), [`ErrorKind::IsADirectory`](crate::ErrorKind::IsADirectory).
    pub async fn open(&self, mode: &str) -> Result<File> {
        let mode = OpenMode::parse(mode)?;
        let file = self
            .client()
            .open(self.share_name(), self.as_str(), mode.options)
            .await?;
        Ok(file.for_path(self.share.clone(), mode.append))
    }
}
