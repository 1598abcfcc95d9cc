//! A URL context in libsmbclient's style, async: every call names its file by an
//! `smb://[[[domain;]user[:password]@]server[:port][/share[/path]]]` URL, and the
//! context keeps one connection per server and user (in a [`Pool`]), reused across
//! shares, calls and tasks.
//!
//! The protocol-free half (flags, credentials, the callback's cache, directory entry
//! types) is [`smb_proto::client::context`], which the blocking client shares.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::{Instant, SystemTime};

use futures_core::Stream;
use smb_proto::client::browse::{Browse, BrowseStep};
use smb_proto::client::context::{chmod_info, open_plan, utimes_info, Resolver};
use smb_proto::client::dfs::{DfsStep, DfsWalk, ReferralCache};
use smb_proto::ops;

pub use smb_proto::client::context::{
    st_mode, Auth, AuthFn, Dirent, DirentType, OpenFlags, SimpleAuth, Target, O_ACCMODE, O_APPEND,
    O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
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
/// Calls follow DFS links as the blocking context's do, by the same rules (the core's
/// [`DfsWalk`]): a path behind a link (STATUS_PATH_NOT_COVERED) is asked a referral
/// for, the referral is kept for its time to live, and the call runs on the first
/// target that can be reached (on port 445 unless [`ConnectOptions::dfs_keep_port`] is
/// set). [`Context::locate`] and [`Context::path`] say where a path lives.
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

/// Where a context reads the time its DFS referrals expire by.
type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

struct Inner {
    resolver: Resolver,
    /// Where browsing's name queries run.
    netbios: crate::NetBios,
    pool: Pool,
    referrals: Mutex<ReferralCache>,
    clock: Mutex<Clock>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("resolver", &self.inner.resolver)
            .field("connections", &self.inner.pool.connections())
            .finish()
    }
}

smb_proto::context_impls!(Context);

impl Context {
    /// A context on `runtime` whose connections take everything but server, port and
    /// credentials from `options` (signing, dialects, timeout…; the host is not used),
    /// and whose default credentials are its domain, user and password.
    pub fn new(runtime: Arc<dyn Runtime>, options: ConnectOptions) -> Self {
        Context {
            inner: Arc::new(Inner {
                netbios: crate::NetBios::new(
                    runtime.clone(),
                    smb_proto::netbios::NameService::new(),
                ),
                pool: Pool::new(runtime, Some(options.clone())),
                resolver: Resolver::new(options),
                referrals: Mutex::default(),
                clock: Mutex::new(Arc::new(Instant::now)),
            }),
        }
    }

    /// Runs `call` on `target` and, through DFS links, on what it leads to, as the
    /// core's [`DfsWalk`] says. Returns its result and, when a server answered (with
    /// success or a failure of its own), that server's client and target. No lock is
    /// held across an await.
    async fn walk<T, F>(
        &self,
        target: Target,
        call: impl Fn(Client, Target) -> F,
    ) -> (Result<T>, Option<(Client, Target)>)
    where
        F: Future<Output = Result<T>>,
    {
        let resolver = &self.inner.resolver;
        let mut walk = match DfsWalk::new(target) {
            Ok(walk) => walk,
            Err(e) => return (Err(e), None),
        };
        let now = self.now();
        let mut step = walk.start(resolver, &mut self.referrals(), now);
        let mut last = None;
        loop {
            step = match step {
                DfsStep::Call(at) => {
                    last = None;
                    let result = match self.connection(&at).await {
                        Ok(client) => {
                            let result = call(client.clone(), at.clone()).await;
                            last = Some((client, at));
                            result
                        }
                        Err(e) => Err(e),
                    };
                    match result {
                        Ok(result) => {
                            walk.on_success(&mut self.referrals());
                            return (Ok(result), last);
                        }
                        Err(e) => walk.on_error(e, resolver, &mut self.referrals()),
                    }
                }
                DfsStep::Refer { target, path } => {
                    let referral = match self.connection(&target).await {
                        Ok(client) => client.call(ops::GetDfsReferral::new(&path)).await,
                        Err(e) => Err(e),
                    };
                    let now = self.now();
                    walk.on_referral(referral, resolver, &mut self.referrals(), now)
                }
                DfsStep::Fail(e) => {
                    let answered = walk.answered_at().and(last);
                    return (Err(e), answered);
                }
            };
        }
    }

    /// Runs `call` with the client, share and path `url` names (a URL naming only a
    /// server fails with EINVAL first), following DFS links.
    async fn on_share<T, F>(&self, url: &str, call: impl Fn(Client, Target) -> F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let target = self.inner.resolver.resolve(url)?;
        self.walk(target, call).await.0
    }

    /// Where `url` lives once DFS links are followed: a client connected to the server
    /// that holds it, and its [`Target`] there (server, share and path in
    /// `target.url`). A path under no link is where the URL says. The path need not
    /// exist: it is found with a stat, and any answer of a server but
    /// STATUS_PATH_NOT_COVERED, even "no such file", says where it is. This is how
    /// to use a [`Share`](crate::Share) or any call of a [`Client`] on a DFS
    /// namespace: a `Share` is one tree on one connection and cannot follow a link to
    /// another server by itself ([`Context::path`] does this for you).
    ///
    /// ```no_run
    /// # async fn demo(ctx: &smb_async::Context) -> smb_async::Result<()> {
    /// let (client, at) = ctx.locate("smb://corp/dfs/docs/report.pdf").await?;
    /// println!("on {} share {} path {}", at.url.host, at.share()?, at.path());
    /// let info = client.get_attributes(at.share()?, at.path()).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// EINVAL for a bad URL or one naming only a server; a connect or login failure
    /// when no target can be reached; EINVAL for a bad referral or a loop of links.
    pub async fn locate(&self, url: &str) -> Result<(Client, Target)> {
        let target = self.inner.resolver.resolve(url)?;
        self.locate_target(target).await
    }

    async fn locate_target(&self, target: Target) -> Result<(Client, Target)> {
        let probe = |client: Client, at: Target| async move {
            client.get_attributes(at.share()?, at.path()).await
        };
        match self.walk(target, probe).await {
            (_, Some(found)) => Ok(found),
            (Err(e), None) => Err(e),
            (Ok(_), None) => {
                Err(smb_proto::Error::Invalid("dfs: no target answered".into()).into())
            }
        }
    }

    /// A [`SmbPath`](crate::SmbPath) for `url` once DFS links are followed
    /// ([`Context::locate`]): on a [`Share`](crate::Share) of the server and share the
    /// path lives on, sharing the context's connection to it. Everything below it is
    /// on that share: a path under a further link must be located again. The share's
    /// tree is the one the context's own calls use: when the last handle of the
    /// returned path's share goes, the tree is disconnected and files the context
    /// opened on that share are closed with it (see `Share::on`).
    ///
    /// # Errors
    ///
    /// As for [`Context::locate`]; the tree connect's error.
    pub async fn path(&self, url: &str) -> Result<crate::SmbPath> {
        let (client, at) = self.locate(url).await?;
        let share = crate::Share::on(client, at.share()?).await?;
        Ok(share.path(&at.path().replace('\\', "/")))
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
        let options = plan.options;
        let file = self
            .on_share(url, |client, at| async move {
                client.open(at.share()?, at.path(), options).await
            })
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
    /// may not use; for `smb://`, EOPNOTSUPP without SMB1 and ENOENT
    /// ([`NameServiceError::NoMasterBrowser`](smb_proto::netbios::NameServiceError::NoMasterBrowser))
    /// when no master browser answers.
    ///
    /// With SMB1 on, `smb://` lists the workgroups and `smb://WORKGROUP` its servers,
    /// as the blocking context's `opendir` does (the core's [`Browse`]; where its name
    /// queries go is [`Context::browse`]).
    pub async fn opendir(&self, url: &str) -> Result<Dir> {
        let target = self.inner.resolver.resolve(url)?;
        if target.url.share.is_none() {
            let entries = match Browse::new(&self.inner.resolver, &target) {
                Some(browse) => self.browse_list(browse).await?,
                None => self.share_list(&target).await?,
            };
            return Ok(Dir {
                first: None,
                rest: Entries::Listed(entries.into_iter()),
            });
        }
        // The first page decides where the directory is: a link's target, or here.
        let (first, listing) = self
            .walk(target, |client, at| async move {
                let mut listing = client.list_path_stream(at.share()?, at.path(), "*").await?;
                let first = listing.next().await.transpose()?;
                Ok((first, listing))
            })
            .await
            .0?;
        let first = first.map(Dirent::from);
        Ok(Dir {
            first,
            rest: Entries::Listing(listing),
        })
    }

    async fn share_list(&self, target: &Target) -> Result<Vec<Dirent>> {
        let shares = self.connection(target).await?.list_shares().await?;
        Ok(shares.into_iter().map(Dirent::from).collect())
    }

    /// Runs the core's browsing steps: name queries over UDP, listings over SMB1.
    async fn browse_list(&self, mut browse: Browse) -> Result<Vec<Dirent>> {
        let (resolver, netbios) = (&self.inner.resolver, &self.inner.netbios);
        loop {
            let id = crate::netbios::transaction_id();
            match browse.step(resolver, id, Instant::now()) {
                BrowseStep::Names(q) => browse.on_names(netbios.run(q).await),
                BrowseStep::Status(q) => browse.on_status(netbios.run(q).await),
                BrowseStep::List { target, op } => {
                    let listed = match self.connection(&target).await {
                        Ok(client) => client.call(op).await,
                        Err(e) => Err(e),
                    };
                    browse.on_list(listed);
                }
                BrowseStep::Shares(target) => return self.share_list(&target).await,
                BrowseStep::Done(entries) => return Ok(entries),
                BrowseStep::Fail(e) => return Err(e),
            }
        }
    }

    /// The attributes, size and times of the file or directory `url` names
    /// (`smbc_stat`); [`st_mode`] makes a POSIX mode of its attributes.
    ///
    /// # Errors
    ///
    /// ENOENT for a missing path; ENOTDIR for a file named with a trailing `/`.
    pub async fn stat(&self, url: &str) -> Result<FileInfo> {
        self.on_share(url, |client, at| async move {
            client.get_attributes(at.share()?, at.path()).await
        })
        .await
    }

    /// The size, free space and facts of the file system holding what `url` names
    /// (`smbc_statvfs`), as [`Client::disk_free`] reports them.
    ///
    /// # Errors
    ///
    /// ENOENT for a missing path; EINVAL for a URL naming only a server.
    pub async fn statvfs(&self, url: &str) -> Result<FsInfo> {
        self.on_share(url, |client, at| async move {
            client.disk_free(at.share()?, at.path()).await
        })
        .await
    }

    /// Deletes the file `url` names (`smbc_unlink`). The name is taken literally: `*`
    /// and `?` are no wildcards here, so one call deletes at most one file.
    ///
    /// # Errors
    ///
    /// ENOENT for a missing file; EISDIR for a directory; EACCES on a read-only share.
    pub async fn unlink(&self, url: &str) -> Result<()> {
        self.on_share(url, |client, at| async move {
            client
                .call(ops::Delete::new(at.share()?, at.path()).literal())
                .await
                .map(drop)
        })
        .await
    }

    /// Renames `from` to `to` (`smbc_rename`), replacing a file at `to` as POSIX
    /// `rename` does. Both must be on one share of one server, as one user. Through
    /// DFS links, `from` and `to`'s directory are each followed to their target (one
    /// stat for `to`'s directory first) and must land on one share there.
    ///
    /// # Errors
    ///
    /// EXDEV ([`ErrorKind::CrossesDevices`](crate::ErrorKind::CrossesDevices)) for two
    /// shares, servers or users, before anything is sent, or
    /// ([`smb_proto::Error::NotSameDfsTarget`]) for two paths whose DFS links lead to
    /// different targets; ENOENT for a missing `from`.
    pub async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (from, to) = self.inner.resolver.resolve_rename(from, to)?;
        let (_, to_parent) = self.locate_target(Resolver::parent_of(&to)).await?;
        let (to, to_parent) = (&to, &to_parent);
        self.walk(from, |client, at| async move {
            let new = Resolver::rename_within(&at, to_parent, to)?;
            client.rename_replacing(at.share()?, at.path(), &new).await
        })
        .await
        .0
    }

    /// Creates the directory `url` names (`smbc_mkdir`); its parent must exist.
    ///
    /// # Errors
    ///
    /// EEXIST when the name exists; ENOENT when the parent does not.
    pub async fn mkdir(&self, url: &str) -> Result<()> {
        self.on_share(url, |client, at| async move {
            client.create_directory(at.share()?, at.path()).await
        })
        .await
    }

    /// Removes the empty directory `url` names (`smbc_rmdir`).
    ///
    /// # Errors
    ///
    /// ENOTEMPTY when it holds anything; ENOTDIR for a file; ENOENT for a missing one.
    pub async fn rmdir(&self, url: &str) -> Result<()> {
        self.on_share(url, |client, at| async move {
            client.delete_directory(at.share()?, at.path()).await
        })
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
        self.on_share(url, |client, at| async move {
            let (share, path) = (at.share()?, at.path());
            let attributes = client.get_attributes(share, path).await?.attributes;
            client
                .call(ops::SetBasicInfo::new(
                    share,
                    path,
                    chmod_info(attributes, mode),
                ))
                .await
        })
        .await
    }

    /// Sets the last access and last write times of what `url` names (`smbc_utimes`).
    ///
    /// # Errors
    ///
    /// ENOENT for a missing path; EINVAL for a time before 1601.
    pub async fn utimes(&self, url: &str, atime: SystemTime, mtime: SystemTime) -> Result<()> {
        let info = utimes_info(atime, mtime)?;
        self.on_share(url, |client, at| async move {
            client
                .call(ops::SetBasicInfo::new(at.share()?, at.path(), info))
                .await
        })
        .await
    }
}

/// What a [`Dir`] yields after its first entry.
enum Entries {
    /// A share list or a browse list, read whole.
    Listed(std::vec::IntoIter<Dirent>),
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
            Entries::Listed(entries) => d.field("entries", &entries.len()),
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
            Entries::Listed(entries) => Poll::Ready(entries.next().map(Ok)),
            Entries::Listing(listing) => Pin::new(listing)
                .poll_next(cx)
                .map(|entry| entry.map(|r| r.map(Dirent::from))),
        }
    }
}
