//! A URL context in libsmbclient's style, async: every call names its file by an
//! `smb://[[[domain;]user[:password]@]server[:port][/share[/path]]]` URL, and the
//! context keeps one connection per server and user (in a [`Pool`]), reused across
//! shares, calls and tasks.
//!
//! The protocol-free half (flags, credentials, the callback's cache, directory entry
//! types) is [`smb_proto::client::context`], which the blocking client shares.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::SystemTime;

use futures_core::Stream;
use smb_proto::client::context::{chmod_info, open_plan, utimes_info, Resolver, Target};
use smb_proto::ops;

pub use smb_proto::client::context::{
    st_mode, Auth, AuthFn, Dirent, DirentType, OpenFlags, SimpleAuth, O_ACCMODE, O_APPEND, O_CREAT,
    O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
};

use crate::runtime::Runtime;
use crate::{Client, ConnectOptions, File, FileInfo, FsInfo, ListStream, Pool, Result};

/// Calls by `smb://` URL, as libsmbclient's context offers them, as `async fn`s:
/// [`Context::open`] with `O_*` flags, [`Context::opendir`], [`Context::stat`],
/// [`Context::unlink`], [`Context::rename`], [`Context::mkdir`], [`Context::rmdir`],
/// [`Context::chmod`], [`Context::utimes`]. Cloning a context shares it (connections,
/// callback and cache) between tasks.
///
/// Credentials are asked of an authentication callback ([`Context::auth_callback`], or
/// a [`SimpleAuth`] table) the first time a server and share are reached, and its
/// answer is cached; a URL's own user and password come first. One connection is made
/// per server, port and user: one user on two shares shares it, two users on one
/// server have one each. A connection that has ended is replaced on next use.
///
/// ```no_run
/// # async fn demo(runtime: std::sync::Arc<dyn smb_async::runtime::Runtime>) -> smb_async::Result<()> {
/// use futures_lite::AsyncWriteExt;
/// use smb_async::{ConnectOptions, Context, O_CREAT, O_TRUNC, O_WRONLY};
///
/// let ctx = Context::new(runtime, ConnectOptions::new("")).auth_callback(|_server, _share, auth| {
///     auth.username = "alice".into();
///     auth.password = "secret".into();
/// });
/// let mut f = ctx.open("smb://fileserver/docs/hello.txt", O_WRONLY | O_CREAT | O_TRUNC).await?;
/// f.write_all(b"hello").await?;
/// f.close().await?;
/// let mut shares = ctx.opendir("smb://fileserver").await?;
/// while let Some(entry) = shares.next().await {
///     let entry = entry?;
///     println!("{:?} {}", entry.kind, entry.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    resolver: Resolver,
    pool: Pool,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("resolver", &self.inner.resolver)
            .field("connections", &self.inner.pool.connections())
            .finish()
    }
}

impl Context {
    /// A context on `runtime` whose connections take everything but server, port and
    /// credentials from `options` (signing, dialects, timeout…; the host is not used),
    /// and whose default credentials are its domain, user and password.
    pub fn new(runtime: Arc<dyn Runtime>, options: ConnectOptions) -> Self {
        Context {
            inner: Arc::new(Inner {
                pool: Pool::new(runtime, Some(options.clone())),
                resolver: Resolver::new(options),
            }),
        }
    }

    /// Sets the default workgroup, user and password (libsmbclient's
    /// `smbc_setWorkgroup` and `smbc_setUser`), which the callback starts from.
    pub fn credentials(self, workgroup: &str, username: &str, password: &str) -> Self {
        self.inner
            .resolver
            .set_defaults(Auth::new(workgroup, username, password));
        self
    }

    /// Sets libsmbclient's authentication callback: `callback(server, share, auth)`
    /// gets the defaults in `auth` and may change any of them. It is called the first
    /// time a server and share are reached (`IPC$` for a server's share list), not once
    /// per call, and again only after a login with its answer was refused. It runs on
    /// the calling task, while the context's credentials are locked: it must neither
    /// block for long nor use the context.
    pub fn auth_callback(
        self,
        callback: impl Fn(&str, &str, &mut Auth) + Send + Sync + 'static,
    ) -> Self {
        self.inner.resolver.set_callback(Arc::new(callback));
        self
    }

    /// Takes credentials from smbcpp's `simple_auth` table (replacing any callback).
    pub fn simple_auth(self, table: SimpleAuth) -> Self {
        self.inner.resolver.set_simple_auth(table);
        self
    }

    /// How many connections of this context are alive.
    pub fn connections(&self) -> usize {
        self.inner.pool.connections()
    }

    /// The live connection for `target`, connecting if there is none.
    async fn connection(&self, target: &Target) -> Result<Client> {
        let connected = self.inner.pool.connect(&target.options).await;
        self.inner.resolver.check_login(target, connected)
    }

    /// `url` resolved, with its connection; for a call on a share or a file, so a URL
    /// naming only a server fails (EINVAL) before anything is asked or sent.
    async fn reach_share(&self, url: &str) -> Result<(Target, Client)> {
        let target = self.inner.resolver.resolve(url)?;
        target.share()?;
        let conn = self.connection(&target).await?;
        Ok((target, conn))
    }

    /// `url` resolved, with its connection.
    async fn reach(&self, url: &str) -> Result<(Target, Client)> {
        let target = self.inner.resolver.resolve(url)?;
        let client = self.connection(&target).await?;
        Ok((target, client))
    }

    /// Opens the file `url` names with POSIX `flags` ([`O_RDONLY`], [`O_WRONLY`] or
    /// [`O_RDWR`], with any of [`O_CREAT`], [`O_EXCL`], [`O_TRUNC`], [`O_APPEND`]),
    /// as `smbc_open` does; the dispositions are those of
    /// [`open_plan`]. With `O_APPEND` every
    /// write goes to the end of the file.
    ///
    /// # Errors
    ///
    /// EINVAL for flags libsmbclient refuses, unknown flags or a bad URL; ENOENT for a
    /// missing file without `O_CREAT`; EEXIST for an existing one with
    /// `O_CREAT | O_EXCL`; EISDIR for a directory; EACCES for a share or file the user
    /// may not open so.
    pub async fn open(&self, url: &str, flags: i32) -> Result<File> {
        let plan = open_plan(flags)?;
        let (target, client) = self.reach_share(url).await?;
        let file = client
            .open(target.share()?, target.path(), plan.options)
            .await?;
        Ok(file.appending(plan.append))
    }

    /// [`Context::open`] with the flags spelled as [`std::fs::OpenOptions`] spells them.
    ///
    /// # Errors
    ///
    /// As for [`Context::open`]; EINVAL for options [`OpenFlags::bits`] refuses.
    pub async fn open_with(&self, url: &str, flags: OpenFlags) -> Result<File> {
        self.open(url, flags.bits()?).await
    }

    /// The entries of the directory `url` names (without `.` and `..`), as a stream
    /// that asks the server for the next page only when the previous one is consumed;
    /// or, for a URL naming only a server (`smb://server`), its shares with their
    /// types. The first page is read here, so a missing directory or a file fails the
    /// call itself, as `smbc_opendir` does.
    ///
    /// # Errors
    ///
    /// ENOENT for a missing directory, ENOTDIR for a file, EACCES for a share the user
    /// may not use.
    pub async fn opendir(&self, url: &str) -> Result<Dir> {
        let (target, client) = self.reach(url).await?;
        let Some(share) = &target.url.share else {
            let shares = client.list_shares().await?;
            return Ok(Dir {
                first: None,
                rest: Entries::Shares(shares.into_iter()),
            });
        };
        let mut listing = client.list_path_stream(share, target.path(), "*").await?;
        let first = listing.next().await.transpose()?.map(Dirent::from);
        Ok(Dir {
            first,
            rest: Entries::Listing(listing),
        })
    }

    /// The attributes, size and times of the file or directory `url` names
    /// (`smbc_stat`); [`st_mode`] makes a POSIX mode of its attributes.
    ///
    /// # Errors
    ///
    /// ENOENT for a missing path; ENOTDIR for a file named with a trailing `/`.
    pub async fn stat(&self, url: &str) -> Result<FileInfo> {
        let (target, client) = self.reach_share(url).await?;
        client.get_attributes(target.share()?, target.path()).await
    }

    /// The size, free space and facts of the file system holding what `url` names
    /// (`smbc_statvfs`), as [`Client::disk_free`] reports them.
    ///
    /// # Errors
    ///
    /// ENOENT for a missing path; EINVAL for a URL naming only a server.
    pub async fn statvfs(&self, url: &str) -> Result<FsInfo> {
        let (target, client) = self.reach_share(url).await?;
        client.disk_free(target.share()?, target.path()).await
    }

    /// Deletes the file `url` names (`smbc_unlink`). The name is taken literally: `*`
    /// and `?` are no wildcards here, so one call deletes at most one file.
    ///
    /// # Errors
    ///
    /// ENOENT for a missing file; EISDIR for a directory; EACCES on a read-only share.
    pub async fn unlink(&self, url: &str) -> Result<()> {
        let (target, client) = self.reach_share(url).await?;
        client
            .call(ops::Delete::new(target.share()?, target.path()).literal())
            .await
            .map(drop)
    }

    /// Renames `from` to `to` (`smbc_rename`), replacing a file at `to` as POSIX
    /// `rename` does. Both must be on one share of one server, as one user.
    ///
    /// # Errors
    ///
    /// EXDEV ([`ErrorKind::CrossesDevices`](crate::ErrorKind::CrossesDevices)) for two
    /// shares, servers or users, before anything is sent; ENOENT for a missing `from`.
    pub async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (from, to) = self.inner.resolver.resolve_rename(from, to)?;
        let client = self.connection(&from).await?;
        client
            .rename_replacing(from.share()?, from.path(), to.path())
            .await
    }

    /// Creates the directory `url` names (`smbc_mkdir`); its parent must exist.
    ///
    /// # Errors
    ///
    /// EEXIST when the name exists; ENOENT when the parent does not.
    pub async fn mkdir(&self, url: &str) -> Result<()> {
        let (target, client) = self.reach_share(url).await?;
        client
            .create_directory(target.share()?, target.path())
            .await
    }

    /// Removes the empty directory `url` names (`smbc_rmdir`).
    ///
    /// # Errors
    ///
    /// ENOTEMPTY when it holds anything; ENOTDIR for a file; ENOENT for a missing one.
    pub async fn rmdir(&self, url: &str) -> Result<()> {
        let (target, client) = self.reach_share(url).await?;
        client
            .delete_directory(target.share()?, target.path())
            .await
    }

    /// `smbc_chmod`: no write bit for anyone in `mode` sets the read-only attribute,
    /// any write bit clears it; the other attributes stay as they are (they are read
    /// first, so this is two round trips).
    ///
    /// # Errors
    ///
    /// ENOENT for a missing path; EACCES when the attributes may not be changed.
    pub async fn chmod(&self, url: &str, mode: u32) -> Result<()> {
        let (target, client) = self.reach_share(url).await?;
        let (share, path) = (target.share()?, target.path());
        let attributes = client.get_attributes(share, path).await?.attributes;
        client
            .call(ops::SetBasicInfo::new(
                share,
                path,
                chmod_info(attributes, mode),
            ))
            .await
    }

    /// Sets the last access and last write times of what `url` names (`smbc_utimes`).
    ///
    /// # Errors
    ///
    /// ENOENT for a missing path; EINVAL for a time before 1601.
    pub async fn utimes(&self, url: &str, atime: SystemTime, mtime: SystemTime) -> Result<()> {
        let info = utimes_info(atime, mtime)?;
        let (target, client) = self.reach_share(url).await?;
        client
            .call(ops::SetBasicInfo::new(target.share()?, target.path(), info))
            .await
    }
}

/// What a [`Dir`] yields after its first entry.
enum Entries {
    Shares(std::vec::IntoIter<smb_proto::ShareInfo>),
    Listing(ListStream),
}

/// The entries of a directory or of a server's share list ([`Context::opendir`]), as a
/// stream; each item is `smbc_readdir`. Dropping it cancels a listing in progress.
pub struct Dir {
    first: Option<Dirent>,
    rest: Entries,
}

impl std::fmt::Debug for Dir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Dir");
        match &self.rest {
            Entries::Shares(shares) => d.field("shares", &shares.len()),
            Entries::Listing(listing) => d.field("listing", listing),
        };
        d.finish_non_exhaustive()
    }
}

impl Dir {
    /// The next entry; `None` after the last one or after an error.
    pub async fn next(&mut self) -> Option<Result<Dirent>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for Dir {
    type Item = Result<Dirent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Result<Dirent>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        match &mut this.rest {
            Entries::Shares(shares) => Poll::Ready(shares.next().map(|s| Ok(Dirent::from(s)))),
            Entries::Listing(listing) => Pin::new(listing)
                .poll_next(cx)
                .map(|entry| entry.map(|r| r.map(Dirent::from))),
        }
    }
}
