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

use smb_proto::client::context::{open_plan, ConnectionKey, Resolver, Target};
use smb_proto::client::dfs::{self, DfsTarget, ReferralCache, MAX_DFS_HOPS};
use smb_proto::ops;

pub use smb_proto::client::context::{
    st_mode, Auth, AuthFn, Dirent, DirentType, OpenFlags, SimpleAuth, O_ACCMODE, O_APPEND, O_CREAT,
    O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
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
/// under the same link go to the target directly. A rename is not followed through a
/// link.
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

    /// Reads the time DFS referrals expire by from `clock` instead of
    /// [`Instant::now`] (a test moves it past a referral's time to live).
    pub fn clock(self, clock: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        *self
            .inner
            .clock
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(clock);
        self
    }

    /// How many DFS referrals the context holds that have not expired.
    pub fn dfs_referrals(&self) -> usize {
        let now = self.now();
        self.referrals().len(now)
    }

    fn now(&self) -> Instant {
        let clock = self
            .inner
            .clock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        clock()
    }

    fn referrals(&self) -> std::sync::MutexGuard<'_, ReferralCache> {
        self.inner
            .referrals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `call` with the connection, share and path `url` names (a URL naming only
    /// a server fails with EINVAL first), following DFS links: see the type's doc.
    fn on_share<T>(
        &self,
        url: &str,
        call: impl Fn(&Connection, &str, &str) -> Result<T>,
    ) -> Result<T> {
        let mut target = self.inner.resolver.resolve(url)?;
        target.share()?;
        // Targets of a referral just received (one with no time to live is not cached).
        let mut fresh: Option<Vec<DfsTarget>> = None;
        for _ in 0..MAX_DFS_HOPS {
            let path = Resolver::dfs_path(&target);
            let targets = fresh.take().or_else(|| {
                let now = self.now();
                self.referrals().resolve(&path, now)
            });
            let (at, conn, result) = match targets {
                None => {
                    let conn = self.connection(&target)?;
                    let result = call(&conn, target.share()?, target.path());
                    (target, conn, result)
                }
                Some(targets) => self.failover(&target, &path, &targets, &call)?,
            };
            match result {
                Err(e) if dfs::is_path_not_covered(&e) => {
                    let at_path = Resolver::dfs_path(&at);
                    let referral = conn.call(ops::GetDfsReferral::new(&at_path))?;
                    let now = self.now();
                    fresh = Some(self.referrals().insert(&at_path, &referral, now)?);
                    target = at;
                }
                result => return result,
            }
        }
        Err(smb_proto::Error::Invalid(format!(
            "{url}: more than {MAX_DFS_HOPS} DFS referrals to follow"
        ))
        .into())
    }

    /// Runs `call` on the first of `targets` (where `from`, DFS path `path`, leads)
    /// that can be reached, and makes it the first the cache names.
    fn failover<T>(
        &self,
        from: &Target,
        path: &str,
        targets: &[DfsTarget],
        call: &impl Fn(&Connection, &str, &str) -> Result<T>,
    ) -> Result<(Target, Connection, Result<T>)> {
        let mut last = None;
        for to in targets {
            let target = self.inner.resolver.redirect(from, to);
            let result = self
                .connection(&target)
                .map(|conn| (call(&conn, &to.share, &to.path), conn));
            match result {
                Err(e) | Ok((Err(e), _)) if dfs::fails_over(&e) => {
                    tracing::info!(server = %to.server, share = %to.share, error = %e, "dfs target unreachable");
                    last = Some(e);
                }
                Err(e) => return Err(e),
                Ok((result, conn)) => {
                    self.referrals().prefer(path, to);
                    return Ok((target, conn, result));
                }
            }
        }
        Err(last
            .unwrap_or_else(|| smb_proto::Error::Invalid(format!("{path}: no DFS target")).into()))
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
    /// per call, and again only after a login with its answer was refused. It runs
    /// while the context's credentials are locked: it must not use the context.
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
    /// may not use.
    pub fn opendir(&self, url: &str) -> Result<Dir> {
        let target = self.inner.resolver.resolve(url)?;
        let entries: Vec<Dirent> = match target.url.share {
            None => {
                let conn = self.connection(&target)?;
                conn.list_shares()?.into_iter().map(Dirent::from).collect()
            }
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
    /// `rename` does. Both must be on one share of one server, as one user.
    ///
    /// # Errors
    ///
    /// EXDEV ([`ErrorKind::CrossesDevices`](crate::ErrorKind::CrossesDevices)) for two
    /// shares, servers or users, before anything is sent; ENOENT for a missing `from`.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (from, to) = self.inner.resolver.resolve_rename(from, to)?;
        let conn = self.connection(&from)?;
        conn.rename_replacing(from.share()?, from.path(), to.path())
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
