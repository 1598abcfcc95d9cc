//! A URL context in libsmbclient's style (`smbc_open`, `smbc_opendir`, `smbc_stat`…):
//! every call names its file by an `smb://[[[domain;]user[:password]@]server[:port]
//! [/share[/path]]]` URL, and the context keeps one connection per server and user,
//! reused across shares and calls.
//!
//! The protocol-free half (flags, credentials, the callback's cache, directory entry
//! types) is [`smb_proto::client::context`], which the async client shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use smb_proto::client::browse::{Browse, BrowseStep};
use smb_proto::client::context::{open_plan, ConnectionKey, Resolver};
use smb_proto::client::dfs::{DfsStep, DfsWalk, ReferralCache};
use smb_proto::ops;

pub use smb_proto::client::context::{
    st_mode, Auth, AuthFn, Dirent, DirentType, OpenFlags, SimpleAuth, Target, O_ACCMODE, O_APPEND,
    O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
};

use crate::{ConnectOptions, Connection, File, FileInfo, FsInfo, Result};

/// A connection slot: locked while connecting, so that threads asking at once for a
/// new server wait for one connection instead of making one each.
type Slot = Arc<Mutex<Option<Connection>>>;

/// Where a context reads the time its DFS referrals expire by.
type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// Calls by `smb://` URL, as libsmbclient's context offers them: [`Context::open`] with
/// `O_*` flags, [`Context::opendir`], [`Context::stat`], [`Context::unlink`],
/// [`Context::rename`], [`Context::mkdir`], [`Context::rmdir`], [`Context::chmod`],
/// [`Context::utimes`], [`Context::statvfs`]. Cloning a context shares it (connections, callback and cache),
/// across threads too.
///
/// Credentials are asked of an authentication callback ([`Context::auth_callback`], or
/// a [`SimpleAuth`] table) the first time a server and share are reached, and its
/// answer is cached; a URL's own user and password come first. One connection is made
/// per server, port and user: one user on two shares shares it, two users on one
/// server have one each. A connection that has ended is replaced on next use.
///
/// Calls follow DFS links: when the server says a path lies behind one
/// (STATUS_PATH_NOT_COVERED), the context asks it for the path's referral, keeps the
/// referral for its time to live, and runs the call on the first of its targets it can
/// reach, connecting to that server as it would for a URL naming it (targets are
/// reached on port 445 unless [`ConnectOptions::dfs_keep_port`] is set). Later calls
/// under the same link go to the target directly. The rules are the core's
/// [`DfsWalk`] (the async context drives the same). A rename follows both its ends
/// ([`Context::rename`]); [`Context::locate`] and [`Context::path`] say where a path
/// lives, for the path API and the calls of a [`Connection`].
///
/// ```no_run
/// use std::io::{Read, Write};
/// use smb_blocking::{ConnectOptions, Context, DirentType, O_CREAT, O_TRUNC, O_WRONLY};
///
/// # fn main() -> smb_blocking::Result<()> {
/// let ctx = Context::new(ConnectOptions::new("")).auth_callback(|server, share, auth| {
///     auth.username = "alice".into();
///     auth.password = format!("secret for {server}/{share}");
/// });
/// let mut f = ctx.open("smb://fileserver/docs/hello.txt", O_WRONLY | O_CREAT | O_TRUNC)?;
/// f.write_all(b"hello")?;
/// for entry in ctx.opendir("smb://fileserver")? {
///     if entry.kind == DirentType::FileShare {
///         println!("share {} ({})", entry.name, entry.comment);
///     }
/// }
/// println!("{} bytes", ctx.stat("smb://fileserver/docs/hello.txt")?.size);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    resolver: Resolver,
    slots: Mutex<HashMap<ConnectionKey, Slot>>,
    referrals: Mutex<ReferralCache>,
    clock: Mutex<Clock>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("resolver", &self.inner.resolver)
            .field("connections", &self.connections())
            .finish()
    }
}

/// Whether `conn` can still carry requests, without waiting: one running an operation
/// (its lock held) counts as alive; if it dies under that operation, the operation
/// fails and the next call connects again.
fn is_alive(conn: &Connection) -> bool {
    match conn.pump.try_lock() {
        Ok(pump) => pump.core.close_reason().is_none(),
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().core.close_reason().is_none(),
        Err(std::sync::TryLockError::WouldBlock) => true,
    }
}

smb_proto::context_impls!(Context);

impl Context {
    /// A context whose connections take everything but server, port and credentials
    /// from `options` (signing, dialects, timeout…; the host is not used), and whose
    /// default credentials are its domain, user and password.
    pub fn new(options: ConnectOptions) -> Self {
        Context {
            inner: Arc::new(Inner {
                resolver: Resolver::new(options),
                slots: Mutex::default(),
                referrals: Mutex::default(),
                clock: Mutex::new(Arc::new(Instant::now)),
            }),
        }
    }

    /// Runs `call` with the connection, share and path `url` names (a URL naming only
    /// a server fails with EINVAL first), following DFS links: see the type's doc.
    fn on_share<T>(
        &self,
        url: &str,
        call: impl Fn(&Connection, &str, &str) -> Result<T>,
    ) -> Result<T> {
        let target = self.inner.resolver.resolve(url)?;
        self.walk(target, |conn, at| call(conn, at.share()?, at.path()))
            .0
    }

    /// Runs `call` on `target` and, through DFS links, on what it leads to, as the
    /// core's [`DfsWalk`] says. Returns its result and, when a server answered (with
    /// success or a failure of its own), that server's connection and target.
    fn walk<T>(
        &self,
        target: Target,
        call: impl Fn(&Connection, &Target) -> Result<T>,
    ) -> (Result<T>, Option<(Connection, Target)>) {
        let resolver = &self.inner.resolver;
        let mut walk = match DfsWalk::new(target) {
            Ok(walk) => walk,
            Err(e) => return (Err(e), None),
        };
        let mut step = walk.start(resolver, &mut self.referrals(), self.now());
        let mut last = None;
        loop {
            step = match step {
                DfsStep::Call(at) => {
                    last = None;
                    let result = self.connection(&at).and_then(|c| {
                        let result = call(&c, &at);
                        last = Some((c, at));
                        result
                    });
                    match result {
                        Ok(result) => {
                            walk.on_success(&mut self.referrals());
                            return (Ok(result), last);
                        }
                        Err(e) => walk.on_error(e, resolver, &mut self.referrals()),
                    }
                }
                DfsStep::Refer { target, path } => {
                    let referral = self
                        .connection(&target)
                        .and_then(|c| c.call(ops::GetDfsReferral::new(&path)));
                    walk.on_referral(referral, resolver, &mut self.referrals(), self.now())
                }
                DfsStep::Fail(e) => {
                    let answered = walk.answered_at().and(last);
                    return (Err(e), answered);
                }
            };
        }
    }

    /// Where `url` lives once DFS links are followed: a connection to the server that
    /// holds it, and its [`Target`] there (server, share and path in `target.url`).
    /// A path under no link is where the URL says. The path need not exist: it is
    /// found with a stat, and any answer of a server but STATUS_PATH_NOT_COVERED,
    /// even "no such file", says where it is.
    ///
    /// This is how to use a [`Share`](crate::Share), or any call of a [`Connection`],
    /// on a DFS namespace: a `Share` is one tree on one connection and cannot follow
    /// a link to another server by itself ([`Context::path`] does this for you).
    ///
    /// ```no_run
    /// # fn demo(ctx: &smb_blocking::Context) -> smb_blocking::Result<()> {
    /// let (conn, at) = ctx.locate("smb://corp/dfs/docs/report.pdf")?;
    /// println!("on {} share {} path {}", at.url.host, at.share()?, at.path());
    /// let info = conn.get_attributes(at.share()?, at.path())?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// EINVAL for a bad URL or one naming only a server; a connect or login failure
    /// when no target can be reached; EINVAL for a bad referral or a loop of links.
    pub fn locate(&self, url: &str) -> Result<(Connection, Target)> {
        let target = self.inner.resolver.resolve(url)?;
        self.locate_target(target)
    }

    fn locate_target(&self, target: Target) -> Result<(Connection, Target)> {
        match self.walk(target, |c, at| c.get_attributes(at.share()?, at.path())) {
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
    /// ```no_run
    /// # fn demo(ctx: &smb_blocking::Context) -> smb_blocking::Result<()> {
    /// let docs = ctx.path("smb://corp/dfs/docs")?;
    /// for p in docs.iterdir()? {
    ///     println!("{}", p.name());
    /// }
    /// println!("{}", docs.join("readme.txt").read_text()?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Context::locate`]; the tree connect's error.
    pub fn path(&self, url: &str) -> Result<crate::SmbPath> {
        let (conn, at) = self.locate(url)?;
        let share = crate::Share::on(conn, at.share()?)?;
        Ok(share.path(&at.path().replace('\\', "/")))
    }

    /// How many connections of this context are alive.
    pub fn connections(&self) -> usize {
        let slots = self.slots();
        slots
            .values()
            .filter(|slot| {
                slot.try_lock()
                    .is_ok_and(|c| c.as_ref().is_some_and(is_alive))
            })
            .count()
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<ConnectionKey, Slot>> {
        self.inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The live connection for `target`, connecting if there is none.
    fn connection(&self, target: &Target) -> Result<Connection> {
        let slot = self.slots().entry(target.key.clone()).or_default().clone();
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(conn) = slot.as_ref().filter(|c| is_alive(c)) {
            return Ok(conn.clone());
        }
        let conn = self
            .inner
            .resolver
            .check_login(target, Connection::connect(&target.options))?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Opens the file `url` names with POSIX `flags` ([`O_RDONLY`], [`O_WRONLY`] or
    /// [`O_RDWR`], with any of [`O_CREAT`], [`O_EXCL`], [`O_TRUNC`], [`O_APPEND`]),
    /// as `smbc_open` does; the dispositions are those of
    /// [`open_plan`]. With `O_APPEND` every
    /// write goes to the end of the file.
    ///
    /// ```no_run
    /// # fn demo(ctx: &smb_blocking::Context) -> smb_blocking::Result<()> {
    /// use std::io::Write;
    /// use smb_blocking::{O_APPEND, O_CREAT, O_WRONLY};
    /// let mut log = ctx.open("smb://server/share/app.log", O_WRONLY | O_CREAT | O_APPEND)?;
    /// writeln!(log, "started")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// EINVAL ([`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument)) for
    /// flags libsmbclient refuses, unknown flags or a bad URL; ENOENT for a missing
    /// file without `O_CREAT`; EEXIST for an existing one with `O_CREAT | O_EXCL`;
    /// EISDIR for a directory; EACCES for a share or file the user may not open so.
    pub fn open(&self, url: &str, flags: i32) -> Result<File> {
        let plan = open_plan(flags)?;
        let file = self.on_share(url, |conn, share, path| {
            conn.open(share, path, plan.options)
        })?;
        Ok(file.appending(plan.append))
    }

    /// [`Context::open`] with the flags spelled as [`std::fs::OpenOptions`] spells them.
    ///
    /// ```no_run
    /// # fn demo(ctx: &smb_blocking::Context) -> smb_blocking::Result<()> {
    /// use smb_blocking::OpenFlags;
    /// let f = ctx.open_with("smb://server/share/new.txt", OpenFlags::new().write(true).create_new(true))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Context::open`]; EINVAL for options [`OpenFlags::bits`] refuses.
    pub fn open_with(&self, url: &str, flags: OpenFlags) -> Result<File> {
        self.open(url, flags.bits()?)
    }

    /// The entries of the directory `url` names (without `.` and `..`), or, for a URL
    /// naming only a server (`smb://server`), its shares with their types
    /// ([`DirentType::FileShare`], [`DirentType::PrinterShare`],
    /// [`DirentType::IpcShare`]…). The whole listing is read here, as `smbc_opendir`
    /// reads it; iterating reads nothing more.
    ///
    /// With SMB1 on ([`ConnectOptions::smb1`]), `smb://` lists the workgroups on the
    /// network ([`DirentType::Workgroup`], each with its master browser as the comment)
    /// and `smb://WORKGROUP` that workgroup's servers ([`DirentType::Server`]), found
    /// through their master browsers as libsmbclient finds them (the core's
    /// [`Browse`]; where its name queries go is [`Context::browse`]); a name no master
    /// browser answers for is a server, whose shares are listed.
    ///
    /// ```no_run
    /// # fn demo() -> smb_blocking::Result<()> {
    /// use smb_blocking::{ConnectOptions, Context};
    /// use smb_proto::client::browse::BrowseOptions;
    /// let ctx = Context::new(ConnectOptions::new("").smb1(true))
    ///     .browse(BrowseOptions::broadcast("192.168.1.255".parse().unwrap()));
    /// for workgroup in ctx.opendir("smb://")? {
    ///     println!("{} (master browser {})", workgroup.name, workgroup.comment);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// ```no_run
    /// # fn demo(ctx: &smb_blocking::Context) -> smb_blocking::Result<()> {
    /// for entry in ctx.opendir("smb://server/share/reports")? {
    ///     let size = entry.info.map_or(0, |i| i.size);
    ///     println!("{:?} {} {size}", entry.kind, entry.name);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// ENOENT for a missing directory, ENOTDIR for a file, EACCES for a share the user
    /// may not use; for `smb://`, EOPNOTSUPP without SMB1 and ENOENT
    /// ([`NameServiceError::NoMasterBrowser`](smb_proto::netbios::NameServiceError::NoMasterBrowser))
    /// when no master browser answers.
    pub fn opendir(&self, url: &str) -> Result<Dir> {
        let target = self.inner.resolver.resolve(url)?;
        let entries: Vec<Dirent> = match target.url.share {
            None => match Browse::new(&self.inner.resolver, &target) {
                Some(browse) => self.browse_list(browse)?,
                None => self.share_list(&target)?,
            },
            Some(_) => self
                .on_share(url, |conn, share, path| conn.list_path(share, path, "*"))?
                .into_iter()
                .map(Dirent::from)
                .collect(),
        };
        Ok(Dir {
            entries: entries.into_iter(),
        })
    }

    fn share_list(&self, target: &Target) -> Result<Vec<Dirent>> {
        let shares = self.connection(target)?.list_shares()?;
        Ok(shares.into_iter().map(Dirent::from).collect())
    }

    /// Runs the core's browsing steps: name queries over UDP, listings over SMB1.
    fn browse_list(&self, mut browse: Browse) -> Result<Vec<Dirent>> {
        let resolver = &self.inner.resolver;
        loop {
            let id = crate::netbios::transaction_id();
            match browse.step(resolver, id, Instant::now()) {
                BrowseStep::Names(q) => browse.on_names(crate::netbios::run(q)),
                BrowseStep::Status(q) => browse.on_status(crate::netbios::run(q)),
                BrowseStep::List { target, op } => {
                    browse.on_list(self.connection(&target).and_then(|c| c.call(op)))
                }
                BrowseStep::Shares(target) => return self.share_list(&target),
                BrowseStep::Done(entries) => return Ok(entries),
                BrowseStep::Fail(e) => return Err(e),
            }
        }
    }

    /// The attributes, size and times of the file or directory `url` names
    /// (`smbc_stat`); [`st_mode`] makes a POSIX mode of its attributes as libsmbclient
    /// does.
    ///
    /// # Errors
    ///
    /// ENOENT for a missing path; ENOTDIR for a file named with a trailing `/`.
    pub fn stat(&self, url: &str) -> Result<FileInfo> {
        self.on_share(url, |conn, share, path| conn.get_attributes(share, path))
    }

    /// The size, free space and facts of the file system holding what `url` names
    /// (`smbc_statvfs`), as [`Connection::disk_free`] reports them.
    ///
    /// ```no_run
    /// # fn demo(ctx: &smb_blocking::Context) -> smb_blocking::Result<()> {
    /// let fs = ctx.statvfs("smb://server/share")?;
    /// println!("{} bytes free of {}", fs.available_bytes, fs.total_bytes);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// ENOENT for a missing path; EINVAL for a URL naming only a server.
    pub fn statvfs(&self, url: &str) -> Result<FsInfo> {
        self.on_share(url, |conn, share, path| conn.disk_free(share, path))
    }

    /// Deletes the file `url` names (`smbc_unlink`). The name is taken literally: `*`
    /// and `?` are no wildcards here, so one call deletes at most one file.
    ///
    /// # Errors
    ///
    /// ENOENT for a missing file; EISDIR for a directory; EACCES on a read-only share.
    pub fn unlink(&self, url: &str) -> Result<()> {
        self.on_share(url, |conn, share, path| {
            conn.call(ops::Delete::new(share, path).literal()).map(drop)
        })
    }

    /// Renames `from` to `to` (`smbc_rename`), replacing a file at `to` as POSIX
    /// `rename` does. Both must be on one share of one server, as one user. Through
    /// DFS links, `from` and `to`'s directory are each followed to their target (one
    /// stat for `to`'s directory first) and must land on one share there.
    ///
    /// ```no_run
    /// # fn demo(ctx: &smb_blocking::Context) -> smb_blocking::Result<()> {
    /// ctx.rename("smb://corp/dfs/docs/draft.txt", "smb://corp/dfs/docs/final.txt")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// EXDEV ([`ErrorKind::CrossesDevices`](crate::ErrorKind::CrossesDevices)) for two
    /// shares, servers or users, before anything is sent, or
    /// ([`smb_proto::Error::NotSameDfsTarget`]) for two paths whose DFS links lead to
    /// different targets; ENOENT for a missing `from`.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (from, to) = self.inner.resolver.resolve_rename(from, to)?;
        let (_, to_parent) = self.locate_target(Resolver::parent_of(&to))?;
        self.walk(from, |conn, at| {
            let new = Resolver::rename_within(at, &to_parent, &to)?;
            conn.rename_replacing(at.share()?, at.path(), &new)
        })
        .0
    }

    /// Creates the directory `url` names (`smbc_mkdir`); its parent must exist.
    ///
    /// # Errors
    ///
    /// EEXIST when the name exists; ENOENT when the parent does not.
    pub fn mkdir(&self, url: &str) -> Result<()> {
        self.on_share(url, |conn, share, path| conn.create_directory(share, path))
    }

    /// Removes the empty directory `url` names (`smbc_rmdir`).
    ///
    /// # Errors
    ///
    /// ENOTEMPTY when it holds anything; ENOTDIR for a file; ENOENT for a missing one.
    pub fn rmdir(&self, url: &str) -> Result<()> {
        self.on_share(url, |conn, share, path| conn.delete_directory(share, path))
    }

    /// `smbc_chmod`: no write bit for anyone in `mode` sets the read-only attribute,
    /// any write bit clears it; the other attributes stay as they are (they are read
    /// first, so this is two round trips).
    ///
    /// ```no_run
    /// # fn demo(ctx: &smb_blocking::Context) -> smb_blocking::Result<()> {
    /// ctx.chmod("smb://server/share/report.pdf", 0o444)?;
    /// assert!(ctx.stat("smb://server/share/report.pdf")?.is_read_only());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// ENOENT for a missing path; EACCES when the attributes may not be changed.
    pub fn chmod(&self, url: &str, mode: u32) -> Result<()> {
        self.on_share(url, |conn, share, path| {
            let attributes = conn.get_attributes(share, path)?.attributes;
            let info = smb_proto::client::context::chmod_info(attributes, mode);
            conn.call(ops::SetBasicInfo::new(share, path, info))
        })
    }

    /// Sets the last access and last write times of what `url` names (`smbc_utimes`).
    ///
    /// # Errors
    ///
    /// ENOENT for a missing path; EINVAL for a time before 1601.
    pub fn utimes(&self, url: &str, atime: SystemTime, mtime: SystemTime) -> Result<()> {
        let info = smb_proto::client::context::utimes_info(atime, mtime)?;
        self.on_share(url, |conn, share, path| {
            conn.call(ops::SetBasicInfo::new(share, path, info))
        })
    }
}

/// The entries of a directory or of a server's share list ([`Context::opendir`]); each
/// iteration is `smbc_readdir`.
#[derive(Debug)]
pub struct Dir {
    entries: std::vec::IntoIter<Dirent>,
}

impl Iterator for Dir {
    type Item = Dirent;

    fn next(&mut self) -> Option<Dirent> {
        self.entries.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for Dir {}
