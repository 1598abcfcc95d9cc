//! The I/O-free half of a URL context in libsmbclient's style, shared by the blocking
//! and the async drivers' `Context`: the `O_*` open flags and what they ask of a CREATE,
//! the authentication callback and smbcpp's `simple_auth` table, the cache that asks the
//! callback once per server and share, the key that makes one connection per server
//! and user, and directory entries with libsmbclient's types.
//!
//! A driver's `Context` parses nothing and decides nothing itself: it asks a
//! [`Resolver`] for the [`ConnectOptions`] of a URL, keeps one connection per
//! [`ConnectionKey`], and runs the operation the URL's share and path name.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::browse::BrowseOptions;
use super::{filetime, ClientError, ConnectOptions, Secret};
use crate::ops::{FileInfo, OpenOptions, ShareInfo, ShareType};
use crate::url::SmbUrl;
use crate::wire::create::{access_mask, create_options, disposition};
use crate::wire::fscc::{file_attributes, FileBasicInformation};

/// Open for reading only (the access mode 0, as `libc::O_RDONLY` on Linux).
pub const O_RDONLY: i32 = 0;
/// Open for writing only (`libc::O_WRONLY`).
pub const O_WRONLY: i32 = 1;
/// Open for reading and writing (`libc::O_RDWR`).
pub const O_RDWR: i32 = 2;
/// The bits of the access mode (`libc::O_ACCMODE`).
pub const O_ACCMODE: i32 = 3;
/// Create the file if it does not exist (`libc::O_CREAT`, 0o100).
pub const O_CREAT: i32 = 0o100;
/// With [`O_CREAT`]: fail if the file exists (`libc::O_EXCL`, 0o200).
pub const O_EXCL: i32 = 0o200;
/// Empty an existing file (`libc::O_TRUNC`, 0o1000).
pub const O_TRUNC: i32 = 0o1000;
/// Every write goes to the end of the file (`libc::O_APPEND`, 0o2000).
pub const O_APPEND: i32 = 0o2000;

/// Every flag [`open_plan`] knows.
const KNOWN_FLAGS: i32 = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND;

/// What an open by flags asks of the server, and what the driver's file does on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenPlan {
    /// The CREATE's access, disposition and options.
    pub options: OpenOptions,
    /// [`O_APPEND`]: each write goes to the end of the file as it is then.
    pub append: bool,
}

/// The CREATE for POSIX open `flags`, as libsmbclient's `smbc_open` maps them:
///
/// | flags | CreateDisposition |
/// |---|---|
/// | `O_CREAT \| O_EXCL` | FILE_CREATE (an existing file is EEXIST) |
/// | `O_CREAT \| O_TRUNC` | FILE_OVERWRITE_IF |
/// | `O_CREAT` | FILE_OPEN_IF |
/// | `O_TRUNC` | FILE_OVERWRITE (a missing file is ENOENT) |
/// | none of them | FILE_OPEN |
///
/// The access: FILE_GENERIC_READ for `O_RDONLY`; for `O_RDWR` FILE_GENERIC_READ |
/// FILE_GENERIC_WRITE (0x0012019F), what smbclient asks for (see
/// [`OpenOptions::overwrite`]); for `O_WRONLY` FILE_GENERIC_WRITE and
/// FILE_READ_ATTRIBUTES, without the right to read data, so a drop box a user may only
/// write to opens, and the size an append or a seek from the end needs can still be
/// asked. Only files are opened (FILE_NON_DIRECTORY_FILE): a directory is EISDIR.
///
/// ```
/// use smb_proto::client::context::{open_plan, O_APPEND, O_CREAT, O_EXCL, O_WRONLY};
/// use smb_proto::wire::create::disposition;
///
/// let plan = open_plan(O_WRONLY | O_CREAT | O_EXCL)?;
/// assert_eq!(plan.options.disposition, disposition::CREATE);
/// assert!(open_plan(O_WRONLY | O_APPEND)?.append);
/// assert!(open_plan(3).is_err(), "no access mode 3");
/// # Ok::<(), smb_proto::Error>(())
/// ```
///
/// # Errors
///
/// [`crate::Error::Invalid`] (EINVAL) for the access mode 3, which libsmbclient refuses
/// too; for a bit other than the seven flags here (libsmbclient ignores those, but a
/// flag this client does not honour, `O_DIRECTORY` or `O_SYNC` say, would be silently
/// dropped); and for `O_TRUNC` with `O_RDONLY`, a read-only open that would destroy
/// the file's contents (POSIX leaves it undefined).
pub fn open_plan(flags: i32) -> Result<OpenPlan, crate::Error> {
    let bad = |why: &str| crate::Error::Invalid(format!("open flags {flags:#o}: {why}"));
    if flags & !KNOWN_FLAGS != 0 {
        return Err(bad("unknown or unsupported flag bits"));
    }
    let access = match flags & O_ACCMODE {
        O_RDONLY if flags & O_TRUNC != 0 => {
            return Err(bad("O_TRUNC needs O_WRONLY or O_RDWR"));
        }
        O_RDONLY => access_mask::FILE_GENERIC_READ,
        O_WRONLY => access_mask::FILE_GENERIC_WRITE | access_mask::FILE_READ_ATTRIBUTES,
        O_RDWR => access_mask::FILE_GENERIC_READ | access_mask::FILE_GENERIC_WRITE,
        _ => return Err(bad("the access mode is none of O_RDONLY, O_WRONLY, O_RDWR")),
    };
    let disposition = match (
        flags & O_CREAT != 0,
        flags & O_EXCL != 0,
        flags & O_TRUNC != 0,
    ) {
        (true, true, _) => disposition::CREATE,
        (true, false, true) => disposition::OVERWRITE_IF,
        (true, false, false) => disposition::OPEN_IF,
        // O_EXCL without O_CREAT means nothing for a file (as on Linux).
        (false, _, true) => disposition::OVERWRITE,
        (false, _, false) => disposition::OPEN,
    };
    Ok(OpenPlan {
        options: OpenOptions {
            access,
            disposition,
            create_options: create_options::NON_DIRECTORY_FILE,
            attributes: file_attributes::NORMAL,
        },
        append: flags & O_APPEND != 0,
    })
}

/// The open flags as [`std::fs::OpenOptions`] spells them, with its rules: `append`
/// implies writing, `create`, `create_new` and `truncate` need `write` or `append`,
/// and `truncate` does not go with `append`. [`OpenFlags::bits`] gives the `O_*` flags
/// an open by flags takes.
///
/// ```
/// use smb_proto::client::context::{OpenFlags, O_APPEND, O_CREAT, O_WRONLY};
///
/// let flags = OpenFlags::new().append(true).create(true);
/// assert_eq!(flags.bits()?, O_WRONLY | O_APPEND | O_CREAT);
/// assert!(OpenFlags::new().read(true).truncate(true).bits().is_err());
/// # Ok::<(), smb_proto::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenFlags {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
}

impl OpenFlags {
    /// Nothing set: set at least one of `read`, `write`, `append`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read access.
    pub fn read(mut self, read: bool) -> Self {
        self.read = read;
        self
    }

    /// Write access.
    pub fn write(mut self, write: bool) -> Self {
        self.write = write;
        self
    }

    /// Write access, every write at the end of the file ([`O_APPEND`]).
    pub fn append(mut self, append: bool) -> Self {
        self.append = append;
        self
    }

    /// Empty an existing file ([`O_TRUNC`]).
    pub fn truncate(mut self, truncate: bool) -> Self {
        self.truncate = truncate;
        self
    }

    /// Create the file if it is missing ([`O_CREAT`]).
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Create the file, failing if it exists ([`O_CREAT`] | [`O_EXCL`]).
    pub fn create_new(mut self, create_new: bool) -> Self {
        self.create_new = create_new;
        self
    }

    /// The `O_*` flags these options stand for.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Invalid`] (EINVAL) where [`std::fs::OpenOptions::open`] fails with
    /// `InvalidInput`: no access at all, `create`/`create_new`/`truncate` without write
    /// access, `truncate` with `append`.
    pub fn bits(&self) -> Result<i32, crate::Error> {
        let bad = |why: &str| crate::Error::Invalid(format!("open options: {why}"));
        let access = match (self.read, self.write, self.append) {
            (false, false, false) => return Err(bad("neither read, write nor append")),
            (true, false, false) => O_RDONLY,
            (false, true, false) => O_WRONLY,
            (true, true, false) => O_RDWR,
            (false, _, true) => O_WRONLY | O_APPEND,
            (true, _, true) => O_RDWR | O_APPEND,
        };
        let writes = self.write || self.append;
        if !writes && (self.create || self.create_new || self.truncate) {
            return Err(bad("create, create_new and truncate need write or append"));
        }
        if self.append && self.truncate && !self.create_new {
            return Err(bad("truncate does not go with append"));
        }
        let creation = match (self.create, self.truncate, self.create_new) {
            (_, _, true) => O_CREAT | O_EXCL,
            (true, true, false) => O_CREAT | O_TRUNC,
            (true, false, false) => O_CREAT,
            (false, true, false) => O_TRUNC,
            (false, false, false) => 0,
        };
        Ok(access | creation)
    }
}

/// What logging in to a share takes, as libsmbclient's auth function fills it in. The
/// password never appears in `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// The workgroup (domain); empty for none.
    pub workgroup: String,
    /// The user name; empty for an anonymous login.
    pub username: String,
    /// The password.
    pub password: String,
}

impl Auth {
    /// Workgroup, user and password.
    pub fn new(workgroup: &str, username: &str, password: &str) -> Self {
        Auth {
            workgroup: workgroup.to_string(),
            username: username.to_string(),
            password: password.to_string(),
        }
    }
}

impl Drop for Auth {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.password);
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("workgroup", &self.workgroup)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// libsmbclient's auth function: called with the server and the share being reached
/// (`IPC$` for a server's share list) and the defaults (the context's, and the URL's
/// user and workgroup), which it may change. It runs once per server and share: the
/// result is cached (see [`Resolver`]).
pub type AuthFn = dyn Fn(&str, &str, &mut Auth) + Send + Sync;

/// smbcpp's `simple_auth`: a table of credentials by server and share, looked up with
/// the most specific entry first. A server or share of `*` (or empty) matches any; an
/// empty workgroup, user or password leaves the default in place. For a server `s` and
/// a share `sh` the lookup tries, in order, the entries for (`s`, `sh`), (`s`, any
/// share), (any server, `sh`) and (any server, any share); within one of those, the
/// first entry added wins. Names compare without ASCII case, as SMB compares them.
///
/// ```
/// use smb_proto::client::context::{Auth, SimpleAuth};
///
/// let table = SimpleAuth::new()
///     .entry("*", "*", "", "guest", "")
///     .entry("files", "*", "CORP", "alice", "alice-pw")
///     .entry("files", "payroll", "", "bob", "bob-pw");
/// let mut auth = Auth::new("WORKGROUP", "nobody", "");
/// table.fill("FILES", "payroll", &mut auth);
/// assert_eq!((auth.workgroup.as_str(), auth.username.as_str()), ("WORKGROUP", "bob"));
/// let mut auth = Auth::default();
/// table.fill("files", "public", &mut auth);
/// assert_eq!(auth.username, "alice");
/// let mut auth = Auth::default();
/// table.fill("printers", "lp", &mut auth);
/// assert_eq!(auth.username, "guest");
/// assert!(!format!("{table:?}").contains("pw"));
/// ```
#[derive(Clone, Default)]
pub struct SimpleAuth {
    entries: Vec<AuthEntry>,
}

#[derive(Clone)]
struct AuthEntry {
    server: String,
    share: String,
    auth: Auth,
}

impl fmt::Debug for SimpleAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| (&e.server, &e.share, &e.auth)))
            .finish()
    }
}

/// `*` and the empty string match any name.
fn any(name: &str) -> bool {
    name.is_empty() || name == "*"
}

impl SimpleAuth {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry: `server` and `share` (`*` for any), and the credentials there.
    pub fn entry(
        mut self,
        server: &str,
        share: &str,
        workgroup: &str,
        username: &str,
        password: &str,
    ) -> Self {
        self.entries.push(AuthEntry {
            server: server.to_string(),
            share: share.to_string(),
            auth: Auth::new(workgroup, username, password),
        });
        self
    }

    /// The entry for `server` and `share`, the most specific first (see the type's doc).
    pub fn lookup(&self, server: &str, share: &str) -> Option<&Auth> {
        let rank = |e: &AuthEntry| {
            let server_matches = any(&e.server) || e.server.eq_ignore_ascii_case(server);
            let share_matches = any(&e.share) || e.share.eq_ignore_ascii_case(share);
            (server_matches && share_matches)
                .then_some(u8::from(any(&e.server)) * 2 + u8::from(any(&e.share)))
        };
        // `min_by_key` keeps the first of equal ranks: the first entry added wins.
        self.entries
            .iter()
            .filter_map(|e| rank(e).map(|r| (r, e)))
            .min_by_key(|(r, _)| *r)
            .map(|(_, e)| &e.auth)
    }

    /// Overwrites the fields of `auth` that the matching entry sets (non-empty ones).
    pub fn fill(&self, server: &str, share: &str, auth: &mut Auth) {
        if let Some(entry) = self.lookup(server, share) {
            for (field, value) in [
                (&mut auth.workgroup, &entry.workgroup),
                (&mut auth.username, &entry.username),
                (&mut auth.password, &entry.password),
            ] {
                if !value.is_empty() {
                    field.clone_from(value);
                }
            }
        }
    }
}

/// Which connection a [`ConnectOptions`] reaches: server, port, user and domain,
/// compared without ASCII case as SMB compares names, and the protection asked for (a
/// caller who requires encryption or signing must never be handed a connection opened
/// without it). The password is not part of it: a second password for the same user
/// reuses the connection the first one opened.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectionKey {
    host: String,
    port: u16,
    user: String,
    domain: String,
    protection: String,
}

impl ConnectionKey {
    /// The key of `opts`.
    pub fn of(opts: &ConnectOptions) -> Self {
        ConnectionKey {
            host: opts.host.to_ascii_lowercase(),
            port: opts.port,
            user: opts.user.to_ascii_lowercase(),
            domain: opts.domain.to_ascii_lowercase(),
            protection: format!(
                "{:?} {} {} {:?}-{:?} {}",
                opts.signing,
                opts.encrypt,
                opts.allow_insecure_guest,
                opts.min_dialect,
                opts.max_dialect,
                opts.netbios
            ),
        }
    }
}

/// Where the callback's answers are cached: server, port and share (without ASCII
/// case), and the user the URL names, if it names one (the callback's answer for one
/// user is no answer for another).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct AuthKey {
    host: String,
    port: Option<u16>,
    share: String,
    url_user: Option<String>,
}

/// The share a server URL's callback and cache are asked for, as libsmbclient asks
/// when it lists a server's shares.
const SERVER_SHARE: &str = "IPC$";

/// A URL ready to act on: the URL, the options that reach its server as the user its
/// credentials resolved to, and the connection that is.
#[derive(Debug, Clone)]
pub struct Target {
    /// The parsed URL.
    pub url: SmbUrl,
    /// How to connect and log in.
    pub options: ConnectOptions,
    /// The connection to use.
    pub key: ConnectionKey,
    auth_key: Option<AuthKey>,
}

impl Target {
    /// The share the URL names.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Invalid`] (EINVAL) for a URL naming only a server: every call
    /// but a listing needs a share.
    pub fn share(&self) -> Result<&str, ClientError> {
        self.url.share.as_deref().ok_or_else(|| {
            invalid(format!(
                "{}: the URL names a server, not a share or a file",
                self.url
            ))
        })
    }

    /// The path inside the share (`""` for its root).
    pub fn path(&self) -> &str {
        &self.url.path
    }
}

/// What may change after a context is made, behind one lock: the callback runs under
/// it, so two threads reaching one share at once ask it once.
struct State {
    defaults: Auth,
    callback: Option<Arc<AuthFn>>,
    cache: HashMap<AuthKey, Auth>,
    browse: BrowseOptions,
}

/// The shared half of a driver's `Context`: turns a URL into the options that reach
/// its server as the right user, asking the authentication callback the first time a
/// server and share are reached and caching its answer.
///
/// Credentials for a URL, in order: the context's defaults (the base options' domain,
/// user and password; an NT hash or password callback there serves the base's own
/// user when nothing else gives a password), the URL's user and workgroup, then what the callback
/// (or [`SimpleAuth`] table) makes of them; a URL's own user, workgroup and password
/// override the callback's. A URL with both a user and a password asks no callback.
pub struct Resolver {
    base: ConnectOptions,
    state: Mutex<State>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Resolver");
        d.field("base", &self.base);
        // Printing must not wait for a callback that is running (or deadlock in one).
        match self.state.try_lock() {
            Ok(state) => d
                .field("defaults", &state.defaults)
                .field("callback", &state.callback.is_some())
                .field("cached", &state.cache),
            Err(_) => d.field("state", &"<locked>"),
        };
        d.finish()
    }
}

impl Resolver {
    /// A resolver whose connections take everything but server, port and credentials
    /// from `base` (signing, dialects, timeout…), and whose default credentials are
    /// `base`'s domain, user and password.
    pub fn new(base: ConnectOptions) -> Self {
        let password = match &base.secret {
            Secret::Password(p) => p.clone(),
            Secret::NtHash(_) | Secret::Callback(_) => String::new(),
        };
        let defaults = Auth {
            workgroup: base.domain.clone(),
            username: base.user.clone(),
            password,
        };
        Resolver {
            base,
            state: Mutex::new(State {
                defaults,
                callback: None,
                cache: HashMap::new(),
                browse: BrowseOptions::default(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A callback that panicked left nothing half-done: at worst one answer uncached.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the default credentials (libsmbclient's `smbc_setWorkgroup`, `smbc_setUser`
    /// and the password its auth function starts from) and forgets cached answers.
    pub fn set_defaults(&self, auth: Auth) {
        let mut state = self.lock();
        state.defaults = auth;
        state.cache.clear();
    }

    /// Sets the authentication callback (libsmbclient's `smbc_setFunctionAuthData`) and
    /// forgets cached answers. The callback runs while the resolver is locked: it must
    /// not use the context it belongs to.
    pub fn set_callback(&self, callback: Arc<AuthFn>) {
        let mut state = self.lock();
        state.callback = Some(callback);
        state.cache.clear();
    }

    /// Sets where browsing's name queries go ([`BrowseOptions`]; by default broadcasts
    /// to 255.255.255.255): how `smb://` and `smb://WORKGROUP` find master browsers.
    pub fn set_browse(&self, options: BrowseOptions) {
        self.lock().browse = options;
    }

    /// Where browsing's name queries go.
    pub fn browse_options(&self) -> BrowseOptions {
        self.lock().browse
    }

    /// The default workgroup (libsmbclient's `smbc_setWorkgroup`): whose master
    /// browser `smb://` asks when no `__MSBROWSE__` answer comes.
    pub fn workgroup(&self) -> String {
        self.lock().defaults.workgroup.clone()
    }

    /// The options every connection starts from.
    pub fn base(&self) -> &ConnectOptions {
        &self.base
    }

    /// Makes `table` the authentication callback.
    pub fn set_simple_auth(&self, table: SimpleAuth) {
        self.set_callback(Arc::new(move |server, share, auth| {
            table.fill(server, share, auth)
        }));
    }

    /// Parses `url` and resolves it; see [`Resolver::resolve_url`].
    ///
    /// ```
    /// use smb_proto::client::context::Resolver;
    /// use smb_proto::client::ConnectOptions;
    ///
    /// let resolver = Resolver::new(ConnectOptions::new("").user("alice", "pw"));
    /// resolver.set_callback(std::sync::Arc::new(|_server, share, auth| {
    ///     if share == "payroll" {
    ///         auth.username = "bob".into();
    ///     }
    /// }));
    /// let target = resolver.resolve("smb://files:4455/payroll/2026/march.pdf")?;
    /// assert_eq!((target.options.host.as_str(), target.options.port), ("files", 4455));
    /// assert_eq!(target.options.user, "bob");
    /// assert_eq!((target.share()?, target.path()), ("payroll", "2026\\march.pdf"));
    /// assert_eq!(resolver.resolve("smb://files/docs")?.options.user, "alice");
    /// # Ok::<(), smb_proto::client::ClientError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`crate::Error::Invalid`] (EINVAL) for a string that is no `smb://` URL.
    pub fn resolve(&self, url: &str) -> Result<Target, ClientError> {
        Ok(self.resolve_url(parse_url(url)?))
    }

    /// The options that reach `url`'s server as the user its credentials resolve to,
    /// asking the callback if this server and share have not been reached before.
    pub fn resolve_url(&self, url: SmbUrl) -> Target {
        let (auth, auth_key) = match (&url.user, url.password()) {
            (Some(user), Some(password)) => {
                let workgroup = match &url.domain {
                    Some(domain) => domain.clone(),
                    None => self.lock().defaults.workgroup.clone(),
                };
                (Auth::new(&workgroup, user, password), None)
            }
            _ => {
                let key = AuthKey {
                    host: url.host.to_ascii_lowercase(),
                    port: url.port,
                    share: url
                        .share
                        .as_deref()
                        .unwrap_or(SERVER_SHARE)
                        .to_ascii_lowercase(),
                    url_user: url.user.as_ref().map(|u| u.to_ascii_lowercase()),
                };
                (self.ask(&url, &key), Some(key))
            }
        };
        let options = self.options(&url, &auth);
        Target {
            key: ConnectionKey::of(&options),
            url,
            options,
            auth_key,
        }
    }

    /// The cached answer for `key`, else the callback's, cached.
    fn ask(&self, url: &SmbUrl, key: &AuthKey) -> Auth {
        let mut state = self.lock();
        if let Some(auth) = state.cache.get(key) {
            return auth.clone();
        }
        let mut auth = state.defaults.clone();
        if let Some(user) = &url.user {
            // The default password is the default user's, not this one's.
            auth.username.clone_from(user);
            auth.password.clear();
        }
        if let Some(domain) = &url.domain {
            auth.workgroup.clone_from(domain);
        }
        if let Some(callback) = &state.callback {
            let share = url.share.as_deref().unwrap_or(SERVER_SHARE);
            callback(&url.host, share, &mut auth);
        }
        // What the URL spells out is what its writer meant, whatever the callback said.
        if let Some(user) = &url.user {
            auth.username.clone_from(user);
        }
        if let Some(domain) = &url.domain {
            auth.workgroup.clone_from(domain);
        }
        if let Some(password) = url.password() {
            auth.password = password.to_string();
        }
        state.cache.insert(key.clone(), auth.clone());
        auth
    }

    /// The options for `url`'s server with `auth`'s credentials.
    fn options(&self, url: &SmbUrl, auth: &Auth) -> ConnectOptions {
        let mut server = url.clone();
        server.user = None;
        server.domain = None;
        server.set_password(None);
        let mut o = ConnectOptions::for_url(&self.base, &server, None);
        // The base's own user with no password given elsewhere logs in with the base's
        // secret, whatever it is (an NT hash, a password callback: the `smb` command's
        // `--nt-hash` and password prompt reach DFS targets so).
        let base_secret = auth.password.is_empty()
            && !auth.username.is_empty()
            && auth.username.eq_ignore_ascii_case(&self.base.user)
            && !matches!(self.base.secret, Secret::Password(_));
        if base_secret {
            o.user.clone_from(&auth.username);
            o.secret = self.base.secret.clone();
        } else {
            // An empty user name is an anonymous login (see `ConnectOptions::credentials`).
            o = o.user(&auth.username, &auth.password);
        }
        o.domain.clone_from(&auth.workgroup);
        o
    }

    /// Where a call on `from` goes instead when a DFS referral sent it to `to`: the
    /// target's server, share and path, reached with the credentials the context has
    /// for them (the callback is asked for a new server and share), on port 445 or,
    /// with [`ConnectOptions::dfs_keep_port`], on the port `from` was reached on.
    ///
    /// ```
    /// use smb_proto::client::context::Resolver;
    /// use smb_proto::client::dfs::DfsTarget;
    /// use smb_proto::client::ConnectOptions;
    ///
    /// let resolver = Resolver::new(ConnectOptions::new("").dfs_keep_port(true));
    /// let root = resolver.resolve("smb://u:pw@127.0.0.1:4455/dfs/docs/a.txt")?;
    /// let to = DfsTarget { server: "127.0.0.2".into(), share: "docs".into(), path: "a.txt".into() };
    /// let target = resolver.redirect(&root, &to);
    /// assert_eq!((target.options.host.as_str(), target.options.port), ("127.0.0.2", 4455));
    /// assert_eq!((target.share()?, target.path(), target.options.user.as_str()), ("docs", "a.txt", "u"));
    /// # Ok::<(), smb_proto::client::ClientError>(())
    /// ```
    pub fn redirect(&self, from: &Target, to: &super::dfs::DfsTarget) -> Target {
        let mut url = from.url.clone();
        url.host.clone_from(&to.server);
        url.port = self.base.dfs_keep_port.then_some(from.options.port);
        url.share = Some(to.share.clone());
        url.path.clone_from(&to.path);
        self.resolve_url(url)
    }

    /// The DFS path (`\server\share\path`) of a call on `target`.
    pub fn dfs_path(target: &Target) -> String {
        super::dfs::unc_path(
            &target.url.host,
            target.url.share.as_deref().unwrap_or(SERVER_SHARE),
            &target.url.path,
        )
    }

    /// A rename's two URLs, resolved, once they are known to be on one share of one
    /// server, reached as one user: SMB renames only within a share. URLs that spell
    /// two shares fail before any credentials are asked for.
    ///
    /// # Errors
    ///
    /// [`crate::Error::NotSameShare`] (EXDEV) when they are not on one share as one
    /// user; [`crate::Error::Invalid`] (EINVAL) for a bad URL.
    pub fn resolve_rename(&self, from: &str, to: &str) -> Result<(Target, Target), ClientError> {
        let (from, to) = (parse_url(from)?, parse_url(to)?);
        if !spell_one_share(&from, &to) {
            return Err(not_same_share(&from, &to));
        }
        let (from, to) = (self.resolve_url(from), self.resolve_url(to));
        if from.key != to.key {
            return Err(not_same_share(&from.url, &to.url));
        }
        Ok((from, to))
    }

    /// The two halves of a rename that follows DFS links: `from`'s target and the
    /// target of `to`'s parent directory are each found by a call that follows links
    /// ([`super::dfs::DfsWalk::answered_at`]); this says whether they landed on one
    /// share of one server as one user, and if so the new name's path in that share
    /// (`to_parent`'s path and `to`'s last component).
    ///
    /// # Errors
    ///
    /// [`crate::Error::NotSameDfsTarget`] (EXDEV) when they did not; EINVAL for a `to`
    /// naming a share's root.
    pub fn rename_within(
        from: &Target,
        to_parent: &Target,
        to: &Target,
    ) -> Result<String, ClientError> {
        let name = to
            .url
            .path
            .rsplit('\\')
            .next()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid(format!("{}: names no file to rename to", to.url)))?;
        let same_share = |a: &Target, b: &Target| {
            a.key == b.key
                && a.url
                    .share
                    .as_deref()
                    .zip(b.url.share.as_deref())
                    .is_some_and(|(x, y)| x.eq_ignore_ascii_case(y))
        };
        if !same_share(from, to_parent) {
            return Err(ClientError::Smb(crate::Error::NotSameDfsTarget {
                op: "rename",
                from: Self::dfs_path(from),
                to: Self::dfs_path(to_parent),
            }));
        }
        let parent = to_parent.path().trim_matches('\\');
        Ok(if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}\\{name}")
        })
    }

    /// The target of `to`'s parent directory (the share's root for a file at the
    /// root): where a rename's new name is looked up through DFS links.
    pub fn parent_of(to: &Target) -> Target {
        let mut parent = to.clone();
        let path = to.url.path.trim_end_matches('\\');
        parent.url.path = path
            .rsplit_once('\\')
            .map_or("", |(dir, _)| dir)
            .to_string();
        parent
    }

    /// Passes `result` on, first forgetting the credentials `target` was resolved with
    /// when the login was refused, so the callback is asked again next time rather than
    /// its wrong answer replayed.
    ///
    /// # Errors
    ///
    /// `result`'s.
    pub fn check_login<T>(
        &self,
        target: &Target,
        result: Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        if let (Err(e), Some(key)) = (&result, &target.auth_key) {
            if e.kind() == crate::ErrorKind::AuthenticationFailed {
                self.lock().cache.remove(key);
            }
        }
        result
    }
}

/// Parses an `smb://` URL for a context call.
///
/// # Errors
///
/// [`crate::Error::Invalid`] (EINVAL) naming what is wrong (never the URL's text, which
/// may hold a password).
pub fn parse_url(url: &str) -> Result<SmbUrl, ClientError> {
    SmbUrl::parse(url).map_err(|e| invalid(format!("bad URL: {e}")))
}

fn invalid(msg: String) -> ClientError {
    ClientError::Smb(crate::Error::Invalid(msg))
}

/// Whether two URLs spell one share of one server (host, port and share, without
/// ASCII case).
fn spell_one_share(from: &SmbUrl, to: &SmbUrl) -> bool {
    from.host.eq_ignore_ascii_case(&to.host)
        && from.port == to.port
        && match (&from.share, &to.share) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
}

/// The EXDEV error of a rename between `from` and `to`.
fn not_same_share(from: &SmbUrl, to: &SmbUrl) -> ClientError {
    ClientError::Smb(crate::Error::NotSameShare {
        op: "rename",
        from: from.to_string(),
        to: to.to_string(),
    })
}

/// The FileBasicInformation that makes `chmod(mode)` of a file whose attributes are
/// `attributes`: libsmbclient's mapping for the read-only attribute (no write bit for
/// anyone sets FILE_ATTRIBUTE_READONLY, any write bit clears it), every other
/// attribute kept. The times are zero: the server leaves them as they are.
pub fn chmod_info(attributes: u32, mode: u32) -> FileBasicInformation {
    let mut new = attributes & !(file_attributes::READONLY | file_attributes::NORMAL);
    if mode & 0o222 == 0 {
        new |= file_attributes::READONLY;
    }
    if new == 0 {
        // Zero would mean "leave the attributes as they are" (MS-FSCC 2.4.7), keeping a
        // read-only bit that is to go; NORMAL is "none".
        new = file_attributes::NORMAL;
    }
    FileBasicInformation {
        file_attributes: new,
        ..Default::default()
    }
}

/// The FileBasicInformation that sets a file's last access and last write times
/// (libsmbclient's `smbc_utimes`), the other times and the attributes untouched.
///
/// # Errors
///
/// [`crate::Error::Invalid`] (EINVAL) for a time before 1601.
pub fn utimes_info(
    atime: SystemTime,
    mtime: SystemTime,
) -> Result<FileBasicInformation, crate::Error> {
    Ok(FileBasicInformation {
        last_access_time: filetime(atime)?,
        last_write_time: filetime(mtime)?,
        ..Default::default()
    })
}

/// A POSIX `st_mode` for attributes, as libsmbclient's `stat` makes one: a directory
/// `S_IFDIR | 0o555`, a file `S_IFREG | 0o444`, plus `0o200` unless read-only, and the
/// execute bits for archive (user), system (group) and hidden (other).
pub fn st_mode(attributes: u32) -> u32 {
    const S_IFDIR: u32 = 0o040_000;
    const S_IFREG: u32 = 0o100_000;
    let mut mode = if attributes & file_attributes::DIRECTORY != 0 {
        S_IFDIR | 0o555
    } else {
        S_IFREG | 0o444
    };
    for (attribute, bit) in [
        (file_attributes::ARCHIVE, 0o100),
        (file_attributes::SYSTEM, 0o010),
        (file_attributes::HIDDEN, 0o001),
    ] {
        if attributes & attribute != 0 {
            mode |= bit;
        }
    }
    if attributes & file_attributes::READONLY == 0 {
        mode |= 0o200;
    }
    mode
}

/// What a directory entry is: libsmbclient's `SMBC_*` dirent types this client can
/// meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirentType {
    /// A workgroup, in the listing of `smb://` (`SMBC_WORKGROUP`); its comment names
    /// its master browser.
    Workgroup,
    /// A server, in the listing of `smb://WORKGROUP` (`SMBC_SERVER`).
    Server,
    /// A disk share (`SMBC_FILE_SHARE`); also a share of a type libsmbclient does not
    /// know, as libsmbclient reports it.
    FileShare,
    /// A print queue (`SMBC_PRINTER_SHARE`).
    PrinterShare,
    /// A communication device (`SMBC_COMMS_SHARE`).
    CommsShare,
    /// Interprocess communication, `IPC$` (`SMBC_IPC_SHARE`).
    IpcShare,
    /// A directory (`SMBC_DIR`).
    Dir,
    /// A file (`SMBC_FILE`).
    File,
}

impl DirentType {
    /// libsmbclient's number for the type (`SMBC_FILE_SHARE` is 3, `SMBC_FILE` 8…).
    pub fn smbc_type(self) -> u32 {
        match self {
            DirentType::Workgroup => 1,
            DirentType::Server => 2,
            DirentType::FileShare => 3,
            DirentType::PrinterShare => 4,
            DirentType::CommsShare => 5,
            DirentType::IpcShare => 6,
            DirentType::Dir => 7,
            DirentType::File => 8,
        }
    }

    /// Whether this is a share of any type.
    pub fn is_share(self) -> bool {
        matches!(
            self,
            DirentType::FileShare
                | DirentType::PrinterShare
                | DirentType::CommsShare
                | DirentType::IpcShare
        )
    }
}

/// One entry of a directory, of a server's share list, or of a browse list (the
/// workgroups of `smb://`, the servers of `smb://WORKGROUP`) (libsmbclient's
/// `struct smbc_dirent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirent {
    /// The name: of the file, the directory, the share, the server or the workgroup.
    pub name: String,
    /// What it is.
    pub kind: DirentType,
    /// A share's or server's comment, a workgroup's master browser; empty for files
    /// and directories.
    pub comment: String,
    /// A file's or directory's metadata from the listing; `None` for the others.
    pub info: Option<FileInfo>,
}

impl From<FileInfo> for Dirent {
    fn from(info: FileInfo) -> Self {
        Dirent {
            name: info.name.clone(),
            kind: if info.is_directory() {
                DirentType::Dir
            } else {
                DirentType::File
            },
            comment: String::new(),
            info: Some(info),
        }
    }
}

impl From<ShareInfo> for Dirent {
    fn from(share: ShareInfo) -> Self {
        Dirent {
            kind: match share.share_type {
                ShareType::Disk | ShareType::Other(_) => DirentType::FileShare,
                ShareType::PrintQueue => DirentType::PrinterShare,
                ShareType::Device => DirentType::CommsShare,
                ShareType::Ipc => DirentType::IpcShare,
            },
            name: share.name,
            comment: share.comment,
            info: None,
        }
    }
}

/// The parts of a driver's URL `Context` that are the same in every driver: the
/// credentials it starts from (`credentials`, `auth_callback`, `simple_auth`) and its
/// DFS referral cache's clock (`clock`, `dfs_referrals`). The driver's `Context` holds
/// `inner: Arc<Inner>` whose `Inner` has `resolver: Resolver`, `referrals:
/// Mutex<ReferralCache>` and `clock: Mutex<Arc<dyn Fn() -> Instant + Send + Sync>>`,
/// and invokes this once.
#[doc(hidden)]
#[macro_export]
macro_rules! context_impls {
    ($context:ident) => {
        impl $context {
            /// Sets the default workgroup, user and password (libsmbclient's
            /// `smbc_setWorkgroup` and `smbc_setUser`), which the callback starts from.
            pub fn credentials(self, workgroup: &str, username: &str, password: &str) -> Self {
                self.inner
                    .resolver
                    .set_defaults($crate::client::context::Auth::new(
                        workgroup, username, password,
                    ));
                self
            }
            /// Sets libsmbclient's authentication callback: `callback(server, share, auth)`
            /// gets the defaults in `auth` and may change any of them. It is called the first
            /// time a server and share are reached (`IPC$` for a server's share list), not once
            /// per call, and again only after a login with its answer was refused. It runs
            /// while the context's credentials are locked (on the calling task, in an async
            /// context): it must neither block for long nor use the context.
            pub fn auth_callback(
                self,
                callback: impl Fn(&str, &str, &mut $crate::client::context::Auth)
                    + Send
                    + Sync
                    + 'static,
            ) -> Self {
                self.inner
                    .resolver
                    .set_callback(std::sync::Arc::new(callback));
                self
            }
            /// Sets where the name queries that find master browsers go, for listing
            /// `smb://` (the workgroups) and `smb://WORKGROUP` (its servers): by default
            /// broadcasts to 255.255.255.255; a subnet's broadcast address or a name server
            /// with `smb_proto::client::browse::BrowseOptions`. The master browser is
            /// reached on the port of the context's options, with SMB1 (which
            /// `ConnectOptions::smb1` must allow).
            pub fn browse(self, options: $crate::client::browse::BrowseOptions) -> Self {
                self.inner.resolver.set_browse(options);
                self
            }
            /// Takes credentials from smbcpp's `simple_auth` table (replacing any callback).
            pub fn simple_auth(self, table: $crate::client::context::SimpleAuth) -> Self {
                self.inner.resolver.set_simple_auth(table);
                self
            }
            /// Reads the time DFS referrals expire by from `clock` instead of
            /// [`Instant::now`] (a test moves it past a referral's time to live).
            pub fn clock(
                self,
                clock: impl Fn() -> std::time::Instant + Send + Sync + 'static,
            ) -> Self {
                *self
                    .inner
                    .clock
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    std::sync::Arc::new(clock);
                self
            }
            /// How many DFS referrals the context holds that have not expired.
            pub fn dfs_referrals(&self) -> usize {
                let now = self.now();
                self.referrals().len(now)
            }
            fn now(&self) -> std::time::Instant {
                let clock = self
                    .inner
                    .clock
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                clock()
            }
            fn referrals(&self) -> std::sync::MutexGuard<'_, $crate::client::dfs::ReferralCache> {
                self.inner
                    .referrals
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::create::access_mask::{FILE_GENERIC_READ, FILE_GENERIC_WRITE};

    #[test]
    fn flags_map_to_libsmbclient_dispositions() {
        let d = |flags| open_plan(O_RDWR | flags).unwrap().options.disposition;
        assert_eq!(d(O_CREAT | O_EXCL), disposition::CREATE);
        assert_eq!(d(O_CREAT | O_EXCL | O_TRUNC), disposition::CREATE);
        assert_eq!(d(O_CREAT | O_TRUNC), disposition::OVERWRITE_IF);
        assert_eq!(d(O_CREAT), disposition::OPEN_IF);
        assert_eq!(d(O_TRUNC), disposition::OVERWRITE);
        assert_eq!(d(0), disposition::OPEN);
        assert_eq!(d(O_EXCL), disposition::OPEN);
        assert_eq!(d(O_APPEND), disposition::OPEN);
    }

    #[test]
    fn flags_map_to_access_and_refuse_what_they_cannot_mean() {
        let plan = |flags| open_plan(flags).unwrap();
        assert_eq!(plan(O_RDONLY).options.access, FILE_GENERIC_READ);
        assert_eq!(
            plan(O_RDWR).options.access,
            FILE_GENERIC_READ | FILE_GENERIC_WRITE
        );
        assert_eq!(plan(O_RDWR).options.access, 0x0012_019F);
        let write_only = plan(O_WRONLY).options.access;
        assert_eq!(write_only & access_mask::FILE_READ_DATA, 0);
        assert_ne!(write_only & access_mask::FILE_READ_ATTRIBUTES, 0);
        assert_ne!(write_only & access_mask::FILE_APPEND_DATA, 0);
        for flags in [O_RDONLY, O_WRONLY | O_CREAT, O_RDWR | O_APPEND] {
            let o = plan(flags).options;
            assert_eq!(o.create_options, create_options::NON_DIRECTORY_FILE);
        }
        assert!(plan(O_WRONLY | O_APPEND).append);
        assert!(!plan(O_WRONLY).append);

        for bad in [
            3,
            3 | O_CREAT,
            O_RDONLY | O_TRUNC,
            O_RDWR | 0o4000,    // O_NONBLOCK
            O_RDWR | 0o200000,  // O_DIRECTORY
            O_RDWR | 0o4010000, // O_SYNC
            -1,
        ] {
            match open_plan(bad) {
                Err(e @ crate::Error::Invalid(_)) => {
                    assert_eq!(e.errno(), crate::Errno::EINVAL, "{bad:#o}")
                }
                other => panic!("{bad:#o}: {other:?}"),
            }
        }
    }

    #[test]
    fn open_flags_follow_std_rules() {
        let bits = |o: OpenFlags| o.bits();
        let o = OpenFlags::new;
        assert_eq!(bits(o().read(true)).unwrap(), O_RDONLY);
        assert_eq!(bits(o().write(true)).unwrap(), O_WRONLY);
        assert_eq!(bits(o().read(true).write(true)).unwrap(), O_RDWR);
        assert_eq!(bits(o().append(true)).unwrap(), O_WRONLY | O_APPEND);
        assert_eq!(
            bits(o().read(true).append(true)).unwrap(),
            O_RDWR | O_APPEND
        );
        assert_eq!(
            bits(o().write(true).create(true).truncate(true)).unwrap(),
            O_WRONLY | O_CREAT | O_TRUNC
        );
        assert_eq!(
            bits(o().write(true).create_new(true).truncate(true)).unwrap(),
            O_WRONLY | O_CREAT | O_EXCL
        );
        assert_eq!(
            bits(o().write(true).truncate(true)).unwrap(),
            O_WRONLY | O_TRUNC
        );
        for bad in [
            o(),
            o().read(true).create(true),
            o().read(true).truncate(true),
            o().read(true).create_new(true),
            o().append(true).truncate(true),
        ] {
            assert!(bits(bad).is_err(), "{bad:?}");
        }
        // What the bits say is what the flags mean.
        let plan = open_plan(bits(o().append(true).create(true)).unwrap()).unwrap();
        assert!(plan.append);
        assert_eq!(plan.options.disposition, disposition::OPEN_IF);
    }

    #[test]
    fn simple_auth_precedence_and_empty_fields() {
        let table = SimpleAuth::new()
            .entry("", "", "ANYWG", "anyone", "any-pw")
            .entry("*", "docs", "", "docs-user", "")
            .entry("srv", "*", "SRVWG", "srv-user", "srv-pw")
            .entry("srv", "*", "", "second", "ignored")
            .entry("SRV", "Docs", "", "exact", "exact-pw");
        let fill = |server: &str, share: &str| {
            let mut auth = Auth::new("DEF", "default", "default-pw");
            table.fill(server, share, &mut auth);
            auth
        };
        assert_eq!(fill("srv", "docs"), Auth::new("DEF", "exact", "exact-pw"));
        assert_eq!(
            fill("Srv", "other"),
            Auth::new("SRVWG", "srv-user", "srv-pw")
        );
        assert_eq!(
            fill("elsewhere", "DOCS"),
            Auth::new("DEF", "docs-user", "default-pw")
        );
        assert_eq!(
            fill("elsewhere", "other"),
            Auth::new("ANYWG", "anyone", "any-pw")
        );
        assert_eq!(SimpleAuth::new().lookup("srv", "docs"), None);
        let debug = format!("{table:?}");
        assert!(
            !debug.contains("-pw") && !debug.contains("ignored"),
            "{debug}"
        );
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    fn base() -> ConnectOptions {
        ConnectOptions::new("ignored")
            .user("dflt", "dflt-pw")
            .domain("DOM")
    }

    #[test]
    fn the_callback_runs_once_per_server_and_share_and_urls_override_it() {
        let resolver = Resolver::new(base());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        resolver.set_callback(Arc::new(move |server, share, auth| {
            seen.lock()
                .unwrap()
                .push((server.to_string(), share.to_string(), auth.clone()));
            auth.username = format!("{share}-user");
            auth.password = "cb-pw".into();
            auth.workgroup = "CBWG".into();
        }));
        let t = resolver.resolve("smb://files/a/x.txt").unwrap();
        assert_eq!(
            (t.options.user.as_str(), t.options.domain.as_str()),
            ("a-user", "CBWG")
        );
        assert_eq!((t.options.host.as_str(), t.options.port), ("files", 445));
        assert_eq!((t.share().unwrap(), t.path()), ("a", "x.txt"));
        resolver.resolve("smb://FILES/A/y.txt").unwrap();
        resolver.resolve("smb://files/b").unwrap();
        let server = resolver.resolve("smb://files").unwrap();
        assert_eq!(server.options.user, "IPC$-user");
        assert!(server.share().is_err());
        // The URL's user wins over the callback's, and is its own cache entry.
        let carol = resolver.resolve("smb://carol@files/a").unwrap();
        assert_eq!(carol.options.user, "carol");
        // A URL with user and password asks nothing.
        let full = resolver.resolve("smb://W;dave:pw@files/a").unwrap();
        assert_eq!(
            (full.options.user.as_str(), full.options.domain.as_str()),
            ("dave", "W")
        );
        let calls = calls.lock().unwrap();
        let asked: Vec<_> = calls
            .iter()
            .map(|(s, sh, _)| (s.as_str(), sh.as_str()))
            .collect();
        assert_eq!(
            asked,
            [
                ("files", "a"),
                ("files", "b"),
                ("files", "IPC$"),
                ("files", "a")
            ]
        );
        // The callback starts from the defaults, with the URL's user and no password then.
        assert_eq!(calls[0].2, Auth::new("DOM", "dflt", "dflt-pw"));
        assert_eq!(calls[3].2, Auth::new("DOM", "carol", ""));
        assert!(!format!("{resolver:?}").contains("pw\""), "{resolver:?}");
    }

    #[test]
    fn one_connection_per_server_and_user() {
        let resolver = Resolver::new(base());
        resolver.set_simple_auth(
            SimpleAuth::new()
                .entry("h", "a", "", "alice", "1")
                .entry("h", "b", "", "alice", "2")
                .entry("h", "c", "", "bob", "3"),
        );
        let key = |url: &str| resolver.resolve(url).unwrap().key;
        assert_eq!(key("smb://h/a"), key("smb://H/b/x"), "one user, two shares");
        assert_ne!(key("smb://h/a"), key("smb://h/c"), "two users");
        assert_ne!(key("smb://h/a"), key("smb://h:1445/a"), "two ports");
        assert_eq!(
            resolver.resolve("smb://h/zzz").unwrap().options.user,
            "dflt",
            "no entry: the defaults"
        );
    }

    #[test]
    fn a_refused_login_forgets_the_answer() {
        let resolver = Resolver::new(base());
        let calls = Arc::new(Mutex::new(0));
        let c = calls.clone();
        resolver.set_callback(Arc::new(move |_, _, _| *c.lock().unwrap() += 1));
        let t = resolver.resolve("smb://h/s").unwrap();
        let refused: Result<(), _> = Err(ClientError::Smb(crate::Error::Auth {
            user: "dflt".into(),
            server: "h".into(),
            status: crate::NtStatus::LOGON_FAILURE,
            detail: String::new(),
        }));
        assert!(resolver.check_login(&t, refused).is_err());
        resolver.resolve("smb://h/s").unwrap();
        let other: Result<(), _> = Err(ClientError::Smb(crate::Error::Invalid("x".into())));
        assert!(resolver.check_login(&t, other).is_err());
        resolver.resolve("smb://h/s").unwrap();
        assert_eq!(*calls.lock().unwrap(), 2);
    }

    #[test]
    fn renames_stay_on_one_share() {
        let resolver = Resolver::new(base());
        let calls = Arc::new(Mutex::new(0));
        let c = calls.clone();
        resolver.set_callback(Arc::new(move |_, _, _| *c.lock().unwrap() += 1));
        let (from, to) = resolver
            .resolve_rename("smb://h/s/a", "smb://H/S/dir/b")
            .unwrap();
        assert_eq!((from.path(), to.path()), ("a", "dir\\b"));
        for (a, b) in [
            ("smb://h/s/a", "smb://h/t/b"),
            ("smb://h/s/a", "smb://g/s/b"),
            ("smb://h/s/a", "smb://h:1445/s/b"),
            ("smb://h/s/a", "smb://other@h/s/b"),
            ("smb://u:pw@h/s/a", "smb://h"),
        ] {
            let e = resolver.resolve_rename(a, b).unwrap_err();
            assert_eq!(e.errno(), crate::Errno::EXDEV, "{a} {b}");
            assert_eq!(e.kind(), crate::ErrorKind::CrossesDevices);
            let msg = e.to_string();
            assert!(msg.contains("EXDEV") && !msg.contains("pw"), "{msg}");
            assert_eq!(
                std::io::Error::from(e).kind(),
                std::io::ErrorKind::CrossesDevices
            );
        }
        // Only the one share both URLs name, and `other`'s, were asked about.
        assert_eq!(*calls.lock().unwrap(), 2);
        let e = resolver
            .resolve_rename("smb://h/s/a", "nonsense")
            .unwrap_err();
        assert_eq!(e.errno(), crate::Errno::EINVAL);
    }

    #[test]
    fn chmod_sets_or_clears_read_only_and_keeps_the_rest() {
        use file_attributes::{ARCHIVE, DIRECTORY, HIDDEN, NORMAL, READONLY};
        let a = |attributes, mode| chmod_info(attributes, mode).file_attributes;
        assert_eq!(a(ARCHIVE, 0o444), ARCHIVE | READONLY);
        assert_eq!(a(ARCHIVE | READONLY, 0o644), ARCHIVE);
        assert_eq!(a(READONLY, 0o600), NORMAL, "zero would change nothing");
        assert_eq!(a(NORMAL, 0o400), READONLY);
        assert_eq!(a(DIRECTORY | HIDDEN, 0o555), DIRECTORY | HIDDEN | READONLY);
        assert_eq!(a(ARCHIVE, 0o002), ARCHIVE, "any write bit");
        let info = chmod_info(ARCHIVE, 0o444);
        assert_eq!(info.last_write_time.0, 0, "times untouched");
        assert_eq!(st_mode(ARCHIVE | READONLY), 0o100_544);
        assert_eq!(st_mode(DIRECTORY), 0o040_755);
        assert_eq!(st_mode(NORMAL), 0o100_644);
    }

    #[test]
    fn utimes_sets_access_and_write_times_only() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        let info = utimes_info(t, t + std::time::Duration::from_secs(1)).unwrap();
        assert_eq!(info.last_access_time.to_system_time(), Some(t));
        assert_eq!(info.last_write_time.0 - info.last_access_time.0, 10_000_000);
        assert_eq!(
            (
                info.creation_time.0,
                info.change_time.0,
                info.file_attributes
            ),
            (0, 0, 0)
        );
    }

    #[test]
    fn dirents_carry_libsmbclient_types() {
        let share = |t: u32| {
            Dirent::from(ShareInfo {
                name: "x".into(),
                share_type: ShareType::from_raw(t),
                comment: "c".into(),
                is_special: false,
                is_temporary: false,
            })
        };
        assert_eq!(share(0).kind, DirentType::FileShare);
        assert_eq!(share(1).kind, DirentType::PrinterShare);
        assert_eq!(share(2).kind, DirentType::CommsShare);
        assert_eq!(share(3 | 0x8000_0000).kind, DirentType::IpcShare);
        assert_eq!(share(7).kind, DirentType::FileShare);
        assert_eq!(share(1).comment, "c");
        assert_eq!(share(1).info, None);
        assert_eq!(DirentType::IpcShare.smbc_type(), 6);
        assert_eq!(DirentType::Workgroup.smbc_type(), 1);
        assert_eq!(DirentType::Server.smbc_type(), 2);
        assert!(!DirentType::Workgroup.is_share() && !DirentType::Server.is_share());
        let dir = Dirent::from(FileInfo {
            name: "d".into(),
            attributes: file_attributes::DIRECTORY,
            ..Default::default()
        });
        assert_eq!((dir.kind, dir.kind.smbc_type()), (DirentType::Dir, 7));
        assert!(!dir.kind.is_share() && share(0).kind.is_share());
        assert_eq!(Dirent::from(FileInfo::default()).kind, DirentType::File);
    }

    #[test]
    fn the_base_users_nt_hash_reaches_every_server() {
        let resolver = Resolver::new(ConnectOptions::new("").nt_hash("alice", [7; 16]));
        let t = resolver.resolve("smb://fs1/docs/a").unwrap();
        assert!(matches!(t.options.secret, Secret::NtHash(h) if h == [7; 16]));
        let to = super::super::dfs::DfsTarget {
            server: "fs2".into(),
            share: "s".into(),
            path: String::new(),
        };
        let t = resolver.redirect(&t, &to);
        assert_eq!(t.options.user, "alice");
        assert!(matches!(t.options.secret, Secret::NtHash(_)));
        // Another user, or a password given, is not the base's.
        let t = resolver.resolve("smb://bob@fs1/docs").unwrap();
        assert!(matches!(&t.options.secret, Secret::Password(p) if p.is_empty()));
        let t = resolver.resolve("smb://alice:pw@fs1/docs").unwrap();
        assert!(matches!(&t.options.secret, Secret::Password(p) if p == "pw"));
    }
}
