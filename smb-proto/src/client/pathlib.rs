//! The I/O-free half of the pathlib-style API (pike's `TreeConnect` and `PikePath`) that
//! smb-blocking and smb-async both build their `Share` and `SmbPath` on, so that the two
//! drivers cannot disagree about it:
//!
//! * [`ShareTarget`]: who to connect to and which share, from arguments or from the
//!   environment ([`ShareTarget::from_lookup`], which reads variables only through the
//!   closure it is given, so it is tested without touching the process environment);
//! * [`Creds`]: pike's `DOMAIN\user%password` credentials, or separate fields;
//! * [`PurePath`]: a share-relative path and pathlib's pure operations on it (`join`,
//!   `parent`, `name`, `suffix`, `stem`, `with_name`, `with_suffix`);
//! * [`OpenMode`]: Python's `open()` modes as CREATE dispositions and access;
//! * [`Glob`]: the one-component wildcard patterns `glob` and `rglob` match with.

use std::fmt;

use super::{ClientError, ConnectOptions};
use crate::error::Error;
use crate::ops::OpenOptions;
use crate::wire::create::{access_mask, create_options, disposition};
use crate::wire::fscc::file_attributes;

/// pike's credentials: a user with its password and domain, or nobody (an anonymous
/// session).
///
/// [`Creds::parse`] (and `From<&str>`) reads pike's and smbclient's `-U` form,
/// `DOMAIN\user%password`, `user%password` or `user`; [`Creds::new`] takes the fields
/// one by one. Not to be confused with the NTLM
/// [`Credentials`](crate::auth::ntlm::Credentials) a login computes with: these are what
/// a caller types. The password never appears in `Debug` output.
///
/// ```
/// use smb_proto::client::Creds;
/// let c = Creds::parse(r"CORP\alice%s3cr%t");
/// assert_eq!((c.domain(), c.user()), ("CORP", "alice"));
/// assert!(!format!("{c:?}").contains("s3cr"));
/// assert_eq!(Creds::parse("bob"), Creds::new("bob", ""));
/// assert!(Creds::parse("").is_anonymous());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Creds {
    domain: String,
    user: String,
    password: String,
}

impl fmt::Debug for Creds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Creds")
            .field("domain", &self.domain)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Creds {
    /// `user` with `password`, in no domain (see [`Creds::in_domain`]).
    pub fn new(user: &str, password: &str) -> Self {
        Creds {
            domain: String::new(),
            user: user.to_string(),
            password: password.to_string(),
        }
    }

    /// No user: an anonymous session.
    pub fn anonymous() -> Self {
        Creds::default()
    }

    /// pike's `DOMAIN\user%password` (`/` also separates the domain, as for
    /// smbclient's `-U`). Only the first `%` separates the password, which may hold any
    /// character, `%` included; without one the password is empty. An empty string is
    /// an anonymous session.
    pub fn parse(creds: &str) -> Self {
        let (account, password) = creds.split_once('%').unwrap_or((creds, ""));
        let (domain, user) = account.split_once(['\\', '/']).unwrap_or(("", account));
        Creds {
            domain: domain.to_string(),
            user: user.to_string(),
            password: password.to_string(),
        }
    }

    /// The same user in `domain`.
    pub fn in_domain(mut self, domain: &str) -> Self {
        self.domain = domain.to_string();
        self
    }

    /// The domain (empty for none).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The user (empty for an anonymous session).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Whether these name no user.
    pub fn is_anonymous(&self) -> bool {
        self.user.is_empty()
    }

    /// `options` logging in with these credentials: their user, password and domain
    /// (a domain only when they name one); anonymous credentials leave `options`' login
    /// as it is.
    pub fn apply(&self, options: ConnectOptions) -> ConnectOptions {
        if self.is_anonymous() {
            return options;
        }
        let options = options.user(&self.user, &self.password);
        if self.domain.is_empty() {
            options
        } else {
            options.domain(&self.domain)
        }
    }
}

impl From<&str> for Creds {
    /// [`Creds::parse`].
    fn from(creds: &str) -> Self {
        Creds::parse(creds)
    }
}

impl From<&String> for Creds {
    /// [`Creds::parse`].
    fn from(creds: &String) -> Self {
        Creds::parse(creds)
    }
}

impl From<String> for Creds {
    /// [`Creds::parse`].
    fn from(creds: String) -> Self {
        Creds::parse(&creds)
    }
}

/// Where a share handle connects: the server and login ([`ConnectOptions`], whose policy
/// fields a caller may still change) and the share's name.
///
/// ```
/// use smb_proto::client::ShareTarget;
/// let t = ShareTarget::new("files:4455", r"CORP\alice%pw", "data");
/// assert_eq!((t.options.host.as_str(), t.options.port), ("files", 4455));
/// assert_eq!((t.options.domain.as_str(), t.options.user.as_str()), ("CORP", "alice"));
/// assert_eq!(t.share, "data");
/// ```
#[derive(Debug, Clone)]
pub struct ShareTarget {
    /// How to reach and log in to the server.
    pub options: ConnectOptions,
    /// The share.
    pub share: String,
}

/// Each setting's variables, the crate's own name first, then pike's.
const SERVER_VARS: [&str; 2] = ["SMB_SERVER", "PIKE_SERVER"];
const PORT_VARS: [&str; 2] = ["SMB_PORT", "PIKE_PORT"];
const SHARE_VARS: [&str; 2] = ["SMB_SHARE", "PIKE_SHARE"];

impl ShareTarget {
    /// `share` on `server` (`host`, `host:port` or `[v6]:port`, as for
    /// [`ConnectOptions::new`]) with `creds` (pike's `DOMAIN\user%password` as a string,
    /// or a [`Creds`]).
    pub fn new(server: &str, creds: impl Into<Creds>, share: &str) -> Self {
        ShareTarget {
            options: creds.into().apply(ConnectOptions::new(server)),
            share: share.to_string(),
        }
    }

    /// The target the environment names, each variable read through `lookup` (the
    /// drivers' `Share::from_env` pass `std::env::var`):
    ///
    /// | setting | variables, first set wins |
    /// |---|---|
    /// | server (required) | `SMB_SERVER`, `PIKE_SERVER` (`host` or `host:port`) |
    /// | port | `SMB_PORT`, `PIKE_PORT` (else the server's, else 445) |
    /// | login | `SMB_CREDS`; else `SMB_USER` with `SMB_PASSWORD`; else `PIKE_CREDS`; else anonymous |
    /// | domain | the credentials' own (`DOMAIN\user%password`), else `SMB_DOMAIN` |
    /// | share (required) | `SMB_SHARE`, `PIKE_SHARE` |
    ///
    /// An empty variable counts as unset, as in pike. Unlike pike, which falls back to
    /// `c$` (a Windows administrative share), the share must be named.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use smb_proto::client::ShareTarget;
    /// let env = HashMap::from([
    ///     ("PIKE_SERVER", "files"),
    ///     ("PIKE_CREDS", r"CORP\alice%pw"),
    ///     ("SMB_SHARE", "data"),
    ///     ("PIKE_SHARE", "ignored"),
    /// ]);
    /// let t = ShareTarget::from_lookup(|name| env.get(name).map(|v| v.to_string()))?;
    /// assert_eq!((t.options.host.as_str(), t.options.port), ("files", 445));
    /// assert_eq!((t.options.user.as_str(), t.share.as_str()), ("alice", "data"));
    /// # Ok::<(), smb_proto::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the variables when the server or the share is not
    /// set, or when the port is not a number from 1 to 65535.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ShareTarget, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let first =
            |names: [&'static str; 2]| names.into_iter().find_map(|n| get(n).map(|v| (n, v)));
        let required = |names: [&'static str; 2]| {
            first(names)
                .map(|(_, v)| v)
                .ok_or_else(|| Error::Invalid(format!("{} (or {}) is not set", names[0], names[1])))
        };
        let server = required(SERVER_VARS)?;
        let share = required(SHARE_VARS)?;
        let creds = if let Some(creds) = get("SMB_CREDS") {
            Creds::parse(&creds)
        } else if let Some(user) = get("SMB_USER") {
            Creds::new(&user, &get("SMB_PASSWORD").unwrap_or_default())
        } else {
            Creds::parse(&get("PIKE_CREDS").unwrap_or_default())
        };
        let creds = match get("SMB_DOMAIN") {
            Some(domain) if creds.domain.is_empty() => creds.in_domain(&domain),
            _ => creds,
        };
        let mut target = ShareTarget::new(&server, creds, &share);
        if let Some((name, port)) = first(PORT_VARS) {
            target.options.port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0 && port.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    Error::Invalid(format!("{name}={port:?} is not a port (1 to 65535)"))
                })?;
        }
        Ok(target)
    }
}

/// A share-relative path, and pathlib's pure (I/O-free) operations on it.
///
/// Components are kept as written, `/` and `\` both separating them; empty and `.`
/// components are dropped, so `""`, `"/"` and `"."` are all the share's root. A `..`
/// component is kept like pathlib keeps it, and every operation then refuses the path
/// ([path rules](crate::ops::path)): a path never climbs out of its share.
///
/// ```
/// use smb_proto::client::PurePath;
/// let p = PurePath::new(r"reports\2024/q3.tar.gz");
/// assert_eq!(p.as_str(), "reports/2024/q3.tar.gz");
/// assert_eq!((p.name(), p.stem(), p.suffix()), ("q3.tar.gz", "q3.tar", ".gz"));
/// assert_eq!(p.parent().unwrap().as_str(), "reports/2024");
/// assert_eq!(p.with_suffix(".zip")?.as_str(), "reports/2024/q3.tar.zip");
/// assert_eq!(p.join("../x").as_str(), "reports/2024/q3.tar.gz/../x");
/// assert_eq!(p.join("/top").as_str(), "top", "a leading separator starts at the root");
/// # Ok::<(), smb_proto::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PurePath {
    /// The components joined by `/`: no leading, trailing or repeated separator.
    path: String,
}

impl PurePath {
    /// `path`, relative to the share's root whatever separators it starts with.
    pub fn new(path: &str) -> Self {
        PurePath::root().join_relative(path)
    }

    /// The share's root.
    pub fn root() -> Self {
        PurePath::default()
    }

    /// The components joined by `/` (empty for the root): what operations take.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// Whether this is the share's root.
    pub fn is_root(&self) -> bool {
        self.path.is_empty()
    }

    /// The components, in order.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.path.split('/').filter(|c| !c.is_empty())
    }

    /// `other` below this path, like pathlib's `/`: `other` may hold several components;
    /// one that starts with a separator is anchored at the share's root instead, as an
    /// absolute path replaces the left side in pathlib.
    pub fn join(&self, other: &str) -> PurePath {
        if other.starts_with(['/', '\\']) {
            PurePath::new(other)
        } else {
            self.join_relative(other)
        }
    }

    fn join_relative(&self, other: &str) -> PurePath {
        let mut path = self.path.clone();
        for c in other
            .split(['/', '\\'])
            .filter(|c| !c.is_empty() && *c != ".")
        {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(c);
        }
        PurePath { path }
    }

    /// The entry `name` of this directory, as a listing reports it (one component,
    /// which the core has checked holds no separator).
    pub fn child(&self, name: &str) -> PurePath {
        self.join_relative(name)
    }

    /// The directory holding this path; `None` for the root (like
    /// [`std::path::Path::parent`], where pathlib's root is its own parent).
    pub fn parent(&self) -> Option<PurePath> {
        if self.is_root() {
            return None;
        }
        let parent = self.path.rsplit_once('/').map_or("", |(p, _)| p);
        Some(PurePath {
            path: parent.to_string(),
        })
    }

    /// The last component; empty for the root.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or_default()
    }

    /// Where the name's last `.` starts the suffix, as pathlib decides: not at the start
    /// (`.bashrc` has no suffix) nor at the end (`a.` has none either).
    fn suffix_at(&self) -> Option<usize> {
        let name = self.name();
        name.rfind('.').filter(|&i| i > 0 && i + 1 < name.len())
    }

    /// The last `.ext` of the name, dot included; empty when there is none.
    pub fn suffix(&self) -> &str {
        let name = self.name();
        self.suffix_at().map_or("", |i| &name[i..])
    }

    /// The name without its [suffix](Self::suffix).
    pub fn stem(&self) -> &str {
        let name = self.name();
        self.suffix_at().map_or(name, |i| &name[..i])
    }

    /// The same directory with another last component.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for the root (it has no name to replace), and for a `name`
    /// that is empty, `.`, `..` or holds a separator.
    pub fn with_name(&self, name: &str) -> Result<PurePath, Error> {
        if self.is_root() {
            return Err(Error::Invalid(
                "the share's root has no name to replace".into(),
            ));
        }
        if matches!(name, "" | "." | "..") || name.contains(['/', '\\']) {
            return Err(Error::Invalid(format!("{name:?} is not a name")));
        }
        let parent = self.parent().unwrap_or_default();
        Ok(parent.join_relative(name))
    }

    /// The same path with the name's suffix replaced by `suffix` (`.ext`), or removed
    /// when `suffix` is empty.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for the root, and for a `suffix` that does not start with `.`,
    /// is only `.`, or holds a separator.
    pub fn with_suffix(&self, suffix: &str) -> Result<PurePath, Error> {
        let bad = suffix.contains(['/', '\\'])
            || (!suffix.is_empty() && (!suffix.starts_with('.') || suffix == "."));
        if bad {
            return Err(Error::Invalid(format!("{suffix:?} is not a suffix")));
        }
        self.with_name(&format!("{}{suffix}", self.stem()))
    }
}

impl fmt::Display for PurePath {
    /// The path from the share's root, `/`-separated, starting with `/` (the root is `/`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.path)
    }
}

impl AsRef<str> for PurePath {
    fn as_ref(&self) -> &str {
        &self.path
    }
}

/// Python's `open()` mode as an SMB2 CREATE: the disposition and access, and whether
/// every write goes to the end of the file.
///
/// | mode | CreateDisposition | access | |
/// |---|---|---|---|
/// | `r` | FILE_OPEN | read | missing → NotFound |
/// | `r+` | FILE_OPEN | read, write | keeps the content |
/// | `w`, `w+` | FILE_OVERWRITE_IF | write (`w+`: and read) | creates or truncates |
/// | `a`, `a+` | FILE_OPEN_IF | write (`a+`: and read) | writes append |
/// | `x`, `x+` | FILE_CREATE | write (`x+`: and read) | existing → AlreadyExists |
///
/// `b` is accepted anywhere and changes nothing: the file handles are binary. Every
/// mode also asks for FILE_READ_ATTRIBUTES, which a seek from the end and an append need
/// to learn the size, and opens files only (FILE_NON_DIRECTORY_FILE: a directory is
/// IsADirectory).
///
/// ```
/// use smb_proto::client::OpenMode;
/// use smb_proto::wire::create::disposition;
/// let m = OpenMode::parse("ab")?;
/// assert!(m.append && m.write && !m.read);
/// assert_eq!(m.options.disposition, disposition::OPEN_IF);
/// assert!(OpenMode::parse("rw").is_err());
/// # Ok::<(), smb_proto::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenMode {
    /// What the CREATE asks for.
    pub options: OpenOptions,
    /// The handle may read.
    pub read: bool,
    /// The handle may write.
    pub write: bool,
    /// Every write goes to the end of the file, wherever the position is.
    pub append: bool,
}

impl OpenMode {
    /// Parses a mode: one of `r`, `w`, `a`, `x`, then optionally `+`, with `b` anywhere.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for anything else (text mode `t` included: these handles read
    /// and write bytes; `read_text` and `write_text` do text).
    pub fn parse(mode: &str) -> Result<OpenMode, Error> {
        let invalid = || {
            Error::Invalid(format!(
                "invalid open mode {mode:?}: one of r, w, a, x, optionally +, and b"
            ))
        };
        let mut base = None;
        let (mut plus, mut binary) = (false, false);
        for c in mode.chars() {
            match c {
                'r' | 'w' | 'a' | 'x' if base.is_none() => base = Some(c),
                '+' if !plus => plus = true,
                'b' if !binary => binary = true,
                _ => return Err(invalid()),
            }
        }
        let base = base.ok_or_else(invalid)?;
        let disposition = match base {
            'r' => disposition::OPEN,
            'w' => disposition::OVERWRITE_IF,
            'a' => disposition::OPEN_IF,
            _ => disposition::CREATE,
        };
        let (read, write) = (base == 'r' || plus, base != 'r' || plus);
        let mut access = access_mask::FILE_READ_ATTRIBUTES | access_mask::SYNCHRONIZE;
        if read {
            access |= access_mask::FILE_GENERIC_READ;
        }
        if write {
            access |= access_mask::FILE_GENERIC_WRITE;
        }
        Ok(OpenMode {
            options: OpenOptions {
                access,
                disposition,
                create_options: create_options::NON_DIRECTORY_FILE,
                attributes: file_attributes::NORMAL,
            },
            read,
            write,
            append: base == 'a',
        })
    }
}

/// Whether `e` says a path is not there, as pathlib's `exists`, `is_file` and `is_dir`
/// read it (they answer `false` rather than fail): no such name, no such parent, or a
/// parent that is a file (ENOTDIR).
pub fn is_missing(e: &ClientError) -> bool {
    matches!(
        e.kind(),
        crate::ErrorKind::NotFound | crate::ErrorKind::NotADirectory
    )
}

/// A file's bytes as text (`read_text`): UTF-8, nothing else.
///
/// # Errors
///
/// [`Error::Invalid`] naming `path` and where the first invalid byte is.
pub fn decode_text(bytes: Vec<u8>, path: &str) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|e| {
        Error::Invalid(format!(
            "{path}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// A one-component wildcard pattern, as `glob` and `rglob` match names with it: `*` any
/// run of characters (none included), `?` exactly one, anything else itself, compared
/// case-insensitively (as Windows and Samba's default shares compare names).
///
/// `glob` sends the pattern to the server, which narrows the listing, and keeps what
/// [`Glob::matches`] accepts: a server may also match a pattern against 8.3 short names
/// (Windows does: `*.TXT` reaches `report.text` through `REPORT~1.TXT`), which pathlib
/// does not. `rglob` lists the tree and matches every name here. So both agree on what
/// matches, whatever the server. Samba's own matching (`*.*` only names with a dot) is
/// the same as this for the names it does not mangle.
///
/// ```
/// use smb_proto::client::Glob;
/// let g = Glob::new("*.TXT")?;
/// assert!(g.matches("notes.txt") && !g.matches("notes.txt.bak"));
/// assert!(Glob::new("a?c")?.matches("ABC"));
/// assert!(Glob::new("*.*")?.matches("a.b") && !Glob::new("*.*")?.matches("ab"));
/// assert!(Glob::new("**").is_err() && Glob::new("a/*").is_err());
/// # Ok::<(), smb_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    folded: Vec<char>,
}

impl Glob {
    /// Checks `pattern`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an empty pattern, a separator (a pattern is one
    /// component), NUL, `**` (pathlib's recursive wildcard: use `rglob`), and the DOS
    /// wildcards `<`, `>` and `"`, which a server would treat as wildcards and no
    /// Windows name can hold.
    pub fn new(pattern: &str) -> Result<Glob, Error> {
        let refuse = |why: &str| Err(Error::Invalid(format!("glob pattern {pattern:?}: {why}")));
        if pattern.is_empty() {
            return refuse("empty");
        }
        if pattern.contains(['/', '\\']) {
            return refuse("a pattern is one component, without separators");
        }
        if pattern.contains("**") {
            return refuse("`**` is not supported; rglob matches at every depth");
        }
        if pattern.contains(['<', '>', '"', '\0']) {
            return refuse("<, >, \" and NUL are not allowed");
        }
        Ok(Glob {
            pattern: pattern.to_string(),
            folded: fold(pattern),
        })
    }

    /// The pattern as given, for the server's QUERY_DIRECTORY.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        wildcard_match(&self.folded, &fold(name))
    }
}

/// Case folding one character to one, so that `?` still stands for one character: the
/// lower case where it is a single character (not for `İ`, whose lower case is two).
fn fold(s: &str) -> Vec<char> {
    s.chars()
        .map(|c| {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        })
        .collect()
}

/// `*` and `?` matching; a failed match after a `*` retries with the `*` taking one
/// more character, so the cost is at most pattern × name steps.
fn wildcard_match(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    // The last `*` seen and where in the name its run ends so far.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    p = sp + 1;
                    n = sn + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// The parts of a driver's `Share` and `SmbPath` that do no I/O, the same in every
/// driver: `Share::{name, root, path}` and `&share / "dir"`; `SmbPath`'s pure methods
/// (`share`, `pure`, `as_str`, `join`, `parent`, `name`, `suffix`, `stem`,
/// `with_name`, `with_suffix`), `Debug`,
/// `Display` (`\\server\share\dir\name`), equality (same share handle, same
/// spelling), `AsRef<str>` and `/`. The driver defines the two types (a `Share` holding
/// `tree: Arc<Tree>` whose `Tree` has `name` and `unc`; an `SmbPath` holding `share` and
/// `path: PurePath`) and invokes this once, with its error type.
#[doc(hidden)]
#[macro_export]
macro_rules! share_path_impls {
    ($share:ident, $path:ident, $error:ty) => {
        impl $share {
            /// The share's name.
            pub fn name(&self) -> &str {
                &self.tree.name
            }

            /// The share's root.
            pub fn root(&self) -> $path {
                self.at($crate::client::PurePath::root())
            }

            /// `path` on this share (share-relative; `/` and `\` separate).
            pub fn path(&self, path: &str) -> $path {
                self.at($crate::client::PurePath::new(path))
            }

            fn at(&self, path: $crate::client::PurePath) -> $path {
                $path {
                    share: self.clone(),
                    path,
                }
            }
        }

        impl $path {
            /// The share handle.
            pub fn share(&self) -> &$share {
                &self.share
            }

            /// The share-relative path.
            pub fn pure(&self) -> &$crate::client::PurePath {
                &self.path
            }

            /// The share-relative path, `/`-separated (empty for the root).
            pub fn as_str(&self) -> &str {
                self.path.as_str()
            }

            fn at(&self, path: $crate::client::PurePath) -> $path {
                self.share.at(path)
            }

            /// `other` below this path ([`PurePath::join`]: a leading separator starts at the
            /// share's root).
            pub fn join(&self, other: &str) -> $path {
                self.at(self.path.join(other))
            }

            /// The directory holding this path; `None` for the share's root.
            pub fn parent(&self) -> Option<$path> {
                self.path.parent().map(|p| self.at(p))
            }

            /// The last component; empty for the root.
            pub fn name(&self) -> &str {
                self.path.name()
            }

            /// The name's last `.ext` (dot included), or empty.
            pub fn suffix(&self) -> &str {
                self.path.suffix()
            }

            /// The name without its suffix.
            pub fn stem(&self) -> &str {
                self.path.stem()
            }

            /// The same directory with another name.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) as for
            /// [`PurePath::with_name`].
            pub fn with_name(&self, name: &str) -> Result<$path, $error> {
                Ok(self.at(self.path.with_name(name)?))
            }

            /// The same path with another suffix (`""` removes it).
            ///
            /// # Errors
            ///
            /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) as for
            /// [`PurePath::with_suffix`].
            pub fn with_suffix(&self, suffix: &str) -> Result<$path, $error> {
                Ok(self.at(self.path.with_suffix(suffix)?))
            }
        }

        impl<S: AsRef<str>> std::ops::Div<S> for &$share {
            type Output = $path;

            /// `&share / "dir"`: [`Share::path`].
            fn div(self, path: S) -> $path {
                self.path(path.as_ref())
            }
        }

        impl std::fmt::Debug for $path {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("SmbPath")
                    .field("share", &self.share.tree.name)
                    .field("path", &self.path.as_str())
                    .finish()
            }
        }

        impl std::fmt::Display for $path {
            /// `\\server\share\dir\name`.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.share.tree.unc)?;
                self.path.components().try_for_each(|c| write!(f, r"\{c}"))
            }
        }

        /// Two paths are equal when they are on the same share handle (clones included)
        /// and spelled alike; the server may still take two spellings for one file (case).
        impl PartialEq for $path {
            fn eq(&self, other: &$path) -> bool {
                std::sync::Arc::ptr_eq(&self.share.tree, &other.share.tree)
                    && self.path == other.path
            }
        }

        impl Eq for $path {}

        impl AsRef<str> for $path {
            /// The share-relative path, e.g. as [`SmbPath::rename`]'s target.
            fn as_ref(&self) -> &str {
                self.path.as_str()
            }
        }

        impl<S: AsRef<str>> std::ops::Div<S> for &$path {
            type Output = $path;

            /// `&path / "name"`: [`SmbPath::join`].
            fn div(self, other: S) -> $path {
                self.join(other.as_ref())
            }
        }

        impl<S: AsRef<str>> std::ops::Div<S> for $path {
            type Output = $path;

            /// `path / "name"`: [`SmbPath::join`].
            fn div(self, other: S) -> $path {
                self.join(other.as_ref())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn login(t: &ShareTarget) -> (String, String, String) {
        let c = format!("{:?}", t.options.credentials().unwrap());
        (t.options.domain.clone(), t.options.user.clone(), c)
    }

    #[test]
    fn creds_split_at_the_first_percent_and_the_first_domain_separator() {
        let c = Creds::parse(r"CORP\alice%p%w\x");
        assert_eq!((c.domain(), c.user()), ("CORP", "alice"));
        assert_eq!(c.password, r"p%w\x");
        assert_eq!(Creds::parse("CORP/bob%").user(), "bob");
        assert_eq!(Creds::parse("carol").password, "");
        assert!(Creds::parse("%secret").is_anonymous());
        let o = Creds::parse("dave%pw").apply(ConnectOptions::new("h").domain("KEEP"));
        assert_eq!((o.user.as_str(), o.domain.as_str()), ("dave", "KEEP"));
        let o = Creds::anonymous().apply(ConnectOptions::new("h"));
        assert!(o.credentials().unwrap().is_anonymous());
        let shown = format!("{:?}", Creds::new("eve", "hunter2").in_domain("D"));
        assert!(
            !shown.contains("hunter2") && shown.contains("eve"),
            "{shown}"
        );
    }

    #[test]
    fn the_environment_prefers_smb_names_then_pike_names() {
        let t = ShareTarget::from_lookup(env(&[
            ("SMB_SERVER", "a:4455"),
            ("PIKE_SERVER", "b"),
            ("PIKE_PORT", "1445"),
            ("SMB_CREDS", r"D1\u1%p1"),
            ("SMB_USER", "u2"),
            ("PIKE_CREDS", "u3%p3"),
            ("SMB_DOMAIN", "D2"),
            ("PIKE_SHARE", "s"),
        ]))
        .unwrap();
        assert_eq!((t.options.host.as_str(), t.options.port), ("a", 1445));
        let (domain, user, _) = login(&t);
        assert_eq!((domain.as_str(), user.as_str()), ("D1", "u1"));
        assert_eq!(t.share, "s");

        // SMB_USER/SMB_PASSWORD before PIKE_CREDS; SMB_DOMAIN fills in a missing domain.
        let t = ShareTarget::from_lookup(env(&[
            ("PIKE_SERVER", "b"),
            ("SMB_USER", "u2"),
            ("SMB_PASSWORD", "p2"),
            ("SMB_DOMAIN", "D2"),
            ("PIKE_CREDS", "u3%p3"),
            ("SMB_SHARE", "s2"),
        ]))
        .unwrap();
        assert_eq!((t.options.host.as_str(), t.options.port), ("b", 445));
        let (domain, user, shown) = login(&t);
        assert_eq!((domain.as_str(), user.as_str()), ("D2", "u2"));
        assert!(!shown.contains("p2"), "{shown}");

        // pike's names alone, empty variables unset.
        let t = ShareTarget::from_lookup(env(&[
            ("SMB_SERVER", ""),
            ("PIKE_SERVER", "c"),
            ("SMB_CREDS", ""),
            ("PIKE_CREDS", r"W\u3%p3"),
            ("SMB_SHARE", ""),
            ("PIKE_SHARE", "s3"),
        ]))
        .unwrap();
        let (domain, user, _) = login(&t);
        assert_eq!(
            (domain.as_str(), user.as_str(), t.share.as_str()),
            ("W", "u3", "s3")
        );

        // No login at all: anonymous.
        let t = ShareTarget::from_lookup(env(&[("SMB_SERVER", "h"), ("SMB_SHARE", "s")])).unwrap();
        assert!(t.options.credentials().unwrap().is_anonymous());
    }

    #[test]
    fn the_environment_must_name_a_server_a_share_and_a_real_port() {
        let err =
            |vars: &[(&str, &str)]| ShareTarget::from_lookup(env(vars)).unwrap_err().to_string();
        let e = err(&[("SMB_SHARE", "s")]);
        assert!(e.contains("SMB_SERVER (or PIKE_SERVER)"), "{e}");
        let e = err(&[("SMB_SERVER", "h"), ("PIKE_SHARE", "")]);
        assert!(e.contains("SMB_SHARE (or PIKE_SHARE)"), "{e}");
        for bad in ["0", "65536", "+1", "x", " 445"] {
            let e = err(&[("SMB_SERVER", "h"), ("SMB_SHARE", "s"), ("PIKE_PORT", bad)]);
            assert!(e.contains("PIKE_PORT="), "{bad}: {e}");
        }
        let e = ShareTarget::from_lookup(env(&[("SMB_SHARE", "s")])).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
    }

    #[test]
    fn pure_paths_follow_pathlib() {
        let root = PurePath::root();
        assert!(PurePath::new("/./").is_root() && PurePath::new(r"\").is_root());
        assert_eq!(root.parent(), None);
        assert_eq!(root.name(), "");
        assert_eq!(root.to_string(), "/");
        let a = root.join("a").join(r"b\c.txt");
        assert_eq!(a.as_str(), "a/b/c.txt");
        assert_eq!(a.to_string(), "/a/b/c.txt");
        assert_eq!(a.components().collect::<Vec<_>>(), ["a", "b", "c.txt"]);
        assert_eq!(a.parent().unwrap().parent().unwrap(), PurePath::new("a"));
        assert_eq!(PurePath::new("a").parent(), Some(root.clone()));
        for (name, stem, suffix) in [
            ("c.txt", "c", ".txt"),
            ("c.tar.gz", "c.tar", ".gz"),
            (".bashrc", ".bashrc", ""),
            ("c.", "c.", ""),
            ("c", "c", ""),
            ("..x", ".", ".x"),
        ] {
            let p = PurePath::new(name);
            assert_eq!((p.stem(), p.suffix()), (stem, suffix), "{name}");
        }
        assert_eq!(a.with_name("d").unwrap().as_str(), "a/b/d");
        assert_eq!(a.with_suffix("").unwrap().as_str(), "a/b/c");
        assert_eq!(a.with_suffix(".md").unwrap().as_str(), "a/b/c.md");
        assert_eq!(
            PurePath::new(".bashrc").with_suffix(".x").unwrap().as_str(),
            ".bashrc.x"
        );
        for bad in ["", ".", "..", "x/y", r"x\y"] {
            assert!(a.with_name(bad).is_err(), "{bad:?}");
        }
        for bad in ["txt", ".", "./x", r".a\b"] {
            assert!(a.with_suffix(bad).is_err(), "{bad:?}");
        }
        assert!(root.with_name("x").is_err() && root.with_suffix(".x").is_err());
        assert_eq!(a.join("/x//y/").as_str(), "x/y");
        assert_eq!(a.child("e f").as_str(), "a/b/c.txt/e f");
    }

    #[test]
    fn open_modes_map_to_dispositions_and_access() {
        use access_mask::{FILE_GENERIC_READ as R, FILE_GENERIC_WRITE as W};
        for (mode, disp, read, write, append) in [
            ("r", disposition::OPEN, true, false, false),
            ("rb", disposition::OPEN, true, false, false),
            ("r+", disposition::OPEN, true, true, false),
            ("w", disposition::OVERWRITE_IF, false, true, false),
            ("wb+", disposition::OVERWRITE_IF, true, true, false),
            ("a", disposition::OPEN_IF, false, true, true),
            ("a+", disposition::OPEN_IF, true, true, true),
            ("x", disposition::CREATE, false, true, false),
            ("bx+", disposition::CREATE, true, true, false),
        ] {
            let m = OpenMode::parse(mode).unwrap();
            assert_eq!(m.options.disposition, disp, "{mode}");
            assert_eq!((m.read, m.write, m.append), (read, write, append), "{mode}");
            assert_eq!(m.options.access & R == R, read, "{mode}");
            assert_eq!(m.options.access & W == W, write, "{mode}");
            assert_ne!(m.options.access & access_mask::FILE_READ_ATTRIBUTES, 0);
            assert_eq!(m.options.create_options, create_options::NON_DIRECTORY_FILE);
        }
        for bad in [
            "", "b", "+", "rw", "rr", "r++", "rbb", "rt", "U", "r ", "wa",
        ] {
            let e = OpenMode::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn wildcards_match_like_the_server() {
        let m = |p: &str, n: &str| Glob::new(p).unwrap().matches(n);
        assert!(m("*", "anything") && m("*", "x"));
        assert!(m("*.txt", "a.txt") && m("*.txt", ".txt") && !m("*.txt", "a.txt1"));
        assert!(m("a*b*c", "aXXbYYc") && m("a*b*c", "abc") && !m("a*b*c", "abcd"));
        assert!(m("*a*", "banana") && !m("*z*", "banana"));
        assert!(m("f?.dat", "f1.dat") && !m("f?.dat", "f12.dat") && !m("f?.dat", "f.dat"));
        assert!(m("ÄB*", "äbc") && m("readme", "README"));
        assert!(m("*?", "x") && !m("*?", ""));
        assert!(m("a**".replace("**", "*").as_str(), "abc"));
        // Pathological backtracking stays linear in practice.
        let long = "a".repeat(2000);
        assert!(!m("*a*a*a*a*a*b", &long));
        for bad in ["", "a/b", r"a\b", "**", "a<", "a>", "\"a", "a\0"] {
            assert!(Glob::new(bad).is_err(), "{bad:?}");
        }
    }
}
