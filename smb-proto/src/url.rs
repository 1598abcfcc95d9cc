//! `smb://` URLs in libsmbclient's syntax:
//!
//! ```text
//! smb://[[domain;]user[:password]@]server[:port][/share[/path…]]
//! smb://[[domain;]user[:password]@]
//! ```
//!
//! The second form, with no server (`smb://`, `smb:///`), names the network: a URL
//! context lists the workgroups on it there, as libsmbclient does
//! ([`SmbUrl::names_network`]). `smb://NAME` names a server, or a workgroup whose
//! servers a context lists: the URL cannot tell, the name service can.
//!
//! The grammar is Samba's `SMBC_parse_path` (`source3/libsmb/libsmb_path.c`): the
//! URL is split into its parts first and each part is percent-decoded afterwards.
//! Where libsmbclient is lax this parser is strict, because a URL often comes from
//! somewhere untrusted, and a URL that would make a command act on another path than
//! the one written is refused rather than guessed at:
//!
//! * `?` starts libsmbclient's options, and libsmbclient accepts none
//!   (`SMBC_check_options` fails on any); neither does this parser
//!   ([`UrlError::Options`]), so `report?.txt` is refused rather than read as
//!   `report` with an option. A `?` wildcard is written `%3F`.
//! * A decoded `/` or `\` (`%2F`, `%5C`) is refused ([`UrlError::Separator`]): SMB
//!   servers take both as separators, so the escape would split the name in two.
//! * `..` is refused, spelled out or escaped (`%2E%2E`); a malformed escape, a control
//!   character (NUL included), a bad port, or an empty server with a port or a share
//!   after it is an error.
//! * A trailing `/` (or `/.`) means the URL names a directory, and `path` keeps it as a
//!   trailing `\`: the core then refuses to act on a file there.
//! * `#` has no special meaning (libsmbclient gives it none): it is part of the name.
//!
//! Departures from libsmbclient: the scheme is case-insensitive, IPv6 literals in
//! brackets are understood (RFC 3986 3.2.2, zone ids as `%25`, RFC 6874), the userinfo
//! ends at the *last* `@` before the first `/` (so a raw `@` in a password still
//! parses), and empty and `.` path segments in the middle of a path are dropped, as a
//! POSIX path resolves them.
//!
//! The password is kept in a private field and never appears in `Debug`, `Display`
//! or [`UrlError`].

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

/// Why a string is not a usable `smb://` URL. Never carries the URL's text, so a
/// password in it cannot leak through an error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The string does not start with `smb://`.
    #[error("not an smb:// URL")]
    Scheme,
    /// No server between `smb://` and a port or a share (`smb://` alone, the network,
    /// is no error).
    #[error("the URL names no server")]
    EmptyHost,
    /// The server is neither a name nor a bracketed IPv6 address.
    #[error("invalid server name")]
    InvalidHost,
    /// The port is empty, not decimal, zero or above 65535.
    #[error("invalid port")]
    InvalidPort,
    /// A `%` not followed by two hex digits, in the named part.
    #[error("bad percent-escape in the {0}")]
    BadEscape(&'static str),
    /// The named part does not decode to UTF-8.
    #[error("the {0} is not UTF-8 once percent-decoded")]
    NotUtf8(&'static str),
    /// A control character (raw or decoded) in the named part.
    #[error("control character in the {0}")]
    ControlCharacter(&'static str),
    /// A `\\` or an escaped `/` (`%2F`) in a name: SMB servers take both as separators,
    /// so the name would split in two.
    #[error("a separator (`\\` or an escaped `/`) in the {0}: it would split the name in two")]
    Separator(&'static str),
    /// A `?`: libsmbclient's URL options, of which neither it nor this client accepts any.
    #[error("`?` starts URL options, and none are supported (write a `?` wildcard as %3F)")]
    Options,
    /// A `..` component.
    #[error("`..` in the path: a URL can't climb out of a share")]
    ParentComponent,
    /// [`SmbUrl::join`] was given an empty name or `.`.
    #[error("empty name or `.` cannot be joined")]
    EmptyName,
}

/// A parsed `smb://` URL.
///
/// `path` is the path inside `share`, with `\` separators and no leading separator;
/// `""` is the share's root, and a trailing `\` means the URL ended in `/` (it names a
/// directory). Every component has been percent-decoded and checked: none is empty,
/// `.` or `..`, and none contains `/`, `\` or a control character.
#[derive(Clone, PartialEq, Eq)]
pub struct SmbUrl {
    /// The authentication domain (the part before `;`).
    pub domain: Option<String>,
    /// The user name; `None` means guest / anonymous.
    pub user: Option<String>,
    password: Option<String>,
    /// The server: a name, an IPv4 address, or an IPv6 address without brackets; a
    /// workgroup's name where the URL names one; empty for the network (`smb://`).
    pub host: String,
    /// The TCP port, when the URL names one.
    pub port: Option<u16>,
    /// The share; `None` when the URL names only the server.
    pub share: Option<String>,
    /// The path inside the share, `\`-separated, without a leading separator; with a
    /// trailing `\` when the URL ended in `/`.
    pub path: String,
}

impl SmbUrl {
    /// Parses a URL; see the module doc for the grammar.
    pub fn parse(s: &str) -> Result<SmbUrl, UrlError> {
        if s.chars().any(char::is_control) {
            return Err(UrlError::ControlCharacter("URL"));
        }
        let rest = match s.get(..6) {
            Some(scheme) if scheme.eq_ignore_ascii_case("smb://") => &s[6..],
            _ => return Err(UrlError::Scheme),
        };
        if rest.contains('?') {
            return Err(UrlError::Options);
        }
        let (authority, segments) = match rest.split_once('/') {
            Some((authority, segments)) => (authority, segments),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };

        let mut url = SmbUrl {
            domain: None,
            user: None,
            password: None,
            host: String::new(),
            port: None,
            share: None,
            path: String::new(),
        };
        if let Some(userinfo) = userinfo {
            let (domain, credentials) = match userinfo.split_once(';') {
                Some((domain, credentials)) => (Some(domain), credentials),
                None => (None, userinfo),
            };
            let (user, password) = match credentials.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (credentials, None),
            };
            url.domain = domain.map(|d| decode(d, "domain")).transpose()?;
            url.user = Some(decode(user, "user")?);
            url.password = password.map(|p| decode(p, "password")).transpose()?;
            for field in [&mut url.domain, &mut url.user, &mut url.password] {
                if field.as_deref() == Some("") {
                    *field = None;
                }
            }
        }
        let network = hostport.is_empty() && segments.split('/').all(|s| s.is_empty());
        if !network {
            (url.host, url.port) = parse_hostport(hostport)?;
        }

        let mut components = Vec::new();
        let mut names_directory = false;
        for segment in segments.split('/') {
            let what = if components.is_empty() {
                "share"
            } else {
                "path"
            };
            let name = decode(segment, what)?;
            names_directory = name.is_empty() || name == ".";
            if names_directory {
                continue;
            }
            check_name(&name, what)?;
            components.push(name);
        }
        let mut components = components.into_iter();
        url.share = components.next();
        url.path = components.collect::<Vec<_>>().join("\\");
        if names_directory && !url.path.is_empty() {
            url.path.push('\\');
        }
        Ok(url)
    }

    /// Whether the URL names the network rather than a server (`smb://`, no host):
    /// where a URL context lists workgroups.
    pub fn names_network(&self) -> bool {
        self.host.is_empty()
    }

    /// The password, if the URL carried one.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Replaces the password (e.g. with one the user typed at a prompt).
    pub fn set_password(&mut self, password: Option<String>) {
        self.password = password;
    }

    /// Whether the URL names a directory by its spelling: it ends in `/` (or is a share
    /// or a server).
    pub fn names_directory(&self) -> bool {
        self.path.is_empty() || self.path.ends_with('\\')
    }

    /// `path` without the trailing `\` of a URL that ended in `/`.
    fn trimmed_path(&self) -> &str {
        self.path.strip_suffix('\\').unwrap_or(&self.path)
    }

    /// The URL of `name` inside this one: the share when the URL names only a server,
    /// else a path component appended to `path`.
    ///
    /// Fails on `..`, `.`, an empty name, a backslash or a control character, so
    /// joining names from a server's directory listing cannot leave the share.
    pub fn join(&self, name: &str) -> Result<SmbUrl, UrlError> {
        if name.is_empty() || name == "." {
            return Err(UrlError::EmptyName);
        }
        check_name(name, "name")?;
        let mut url = self.clone();
        url.path = self.trimmed_path().to_owned();
        match &url.share {
            None => url.share = Some(name.to_owned()),
            Some(_) if url.path.is_empty() => url.path = name.to_owned(),
            Some(_) => {
                url.path.push('\\');
                url.path.push_str(name);
            }
        }
        Ok(url)
    }

    /// The URL one level up: the containing directory, the share's root's parent is
    /// the server, and the server has no parent.
    pub fn parent(&self) -> Option<SmbUrl> {
        let mut url = self.clone();
        url.path = self.trimmed_path().to_owned();
        if !url.path.is_empty() {
            let len = url.path.rfind('\\').unwrap_or(0);
            url.path.truncate(len);
        } else if url.share.is_some() {
            url.share = None;
        } else {
            return None;
        }
        Some(url)
    }

    /// The last component: of the path, else the share; `None` for a server URL.
    pub fn file_name(&self) -> Option<&str> {
        match self.trimmed_path().rsplit('\\').next() {
            Some(name) if !name.is_empty() => Some(name),
            _ => self.share.as_deref(),
        }
    }
}

/// Splits `server[:port]` or `[v6addr]:port` and validates both.
fn parse_hostport(hostport: &str) -> Result<(String, Option<u16>), UrlError> {
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (inside, after) = bracketed.split_once(']').ok_or(UrlError::InvalidHost)?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(UrlError::InvalidHost)?),
        };
        let host = decode(inside, "server")?;
        let (addr, zone) = match host.split_once('%') {
            Some((addr, zone)) => (addr, Some(zone)),
            None => (host.as_str(), None),
        };
        if addr.parse::<Ipv6Addr>().is_err() || zone == Some("") {
            return Err(UrlError::InvalidHost);
        }
        (host, port)
    } else {
        let (host, port) = match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        };
        let host = decode(host, "server")?;
        if host
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '/' | '\\' | '@' | ':' | '[' | ']'))
        {
            return Err(UrlError::InvalidHost);
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(UrlError::EmptyHost);
    }
    let port = port.map(parse_port).transpose()?;
    Ok((host, port))
}

fn parse_port(port: &str) -> Result<u16, UrlError> {
    // u16::from_str alone would accept "+445".
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::InvalidPort);
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::InvalidPort),
        Ok(port) => Ok(port),
    }
}

/// Rules every share and path component obeys once decoded (`what` names it in errors).
fn check_name(name: &str, what: &'static str) -> Result<(), UrlError> {
    if name == ".." {
        return Err(UrlError::ParentComponent);
    }
    if name.chars().any(char::is_control) {
        return Err(UrlError::ControlCharacter(what));
    }
    if name.contains(['/', '\\']) {
        return Err(UrlError::Separator(what));
    }
    Ok(())
}

/// Percent-decodes one part of the URL (RFC 3986 2.1); the result is UTF-8 without
/// control characters.
fn decode(s: &str, what: &'static str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).and_then(|&h| (h as char).to_digit(16));
            match (hex(i + 1), hex(i + 2)) {
                // Two hex digits are at most 0xff: the cast cannot truncate.
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(UrlError::BadEscape(what)),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).map_err(|_| UrlError::NotUtf8(what))?;
    if decoded.chars().any(char::is_control) {
        return Err(UrlError::ControlCharacter(what));
    }
    Ok(decoded)
}

/// Percent-encodes everything but RFC 3986 unreserved characters and the bytes in
/// `keep`, so `parse` reads back exactly what was written.
fn encode(f: &mut fmt::Formatter<'_>, s: &str, keep: &[u8]) -> fmt::Result {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || keep.contains(&b)
        {
            write!(f, "{}", b as char)?;
        } else {
            write!(f, "%{b:02X}")?;
        }
    }
    Ok(())
}

/// `smb://[domain;][user@]host[:port][/share[/path][/]]`, never the password.
impl fmt::Display for SmbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("smb://")?;
        if let Some(domain) = &self.domain {
            encode(f, domain, b"")?;
            f.write_str(";")?;
        }
        if let Some(user) = &self.user {
            encode(f, user, b"")?;
        }
        if self.domain.is_some() || self.user.is_some() {
            f.write_str("@")?;
        }
        if self.host.contains(':') {
            f.write_str("[")?;
            encode(f, &self.host, b":")?;
            f.write_str("]")?;
        } else {
            encode(f, &self.host, b"")?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(share) = &self.share {
            f.write_str("/")?;
            encode(f, share, b"")?;
            for component in self.path.split('\\').filter(|c| !c.is_empty()) {
                f.write_str("/")?;
                encode(f, component, b"")?;
            }
            if self.path.ends_with('\\') {
                f.write_str("/")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for SmbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmbUrl")
            .field("domain", &self.domain)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("share", &self.share)
            .field("path", &self.path)
            .finish()
    }
}

impl FromStr for SmbUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SmbUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> SmbUrl {
        match SmbUrl::parse(s) {
            Ok(url) => url,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn full_form() {
        let u = url("smb://CORP;alice:s3cret@fileserver:4455/Share/dir/sub/file.txt");
        assert_eq!(u.domain.as_deref(), Some("CORP"));
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password(), Some("s3cret"));
        assert_eq!(u.host, "fileserver");
        assert_eq!(u.port, Some(4455));
        assert_eq!(u.share.as_deref(), Some("Share"));
        assert_eq!(u.path, r"dir\sub\file.txt");
        assert!(!u.names_directory());
        assert_eq!(
            u.to_string(),
            "smb://CORP;alice@fileserver:4455/Share/dir/sub/file.txt"
        );
    }

    #[test]
    fn guest_user_and_domain_forms() {
        let guest = url("smb://server/public");
        assert_eq!((&guest.domain, &guest.user), (&None, &None));
        assert_eq!(guest.password(), None);
        assert_eq!(guest.port, None);

        let bob = url("smb://bob@server/share/a");
        assert_eq!(bob.user.as_deref(), Some("bob"));
        assert_eq!(bob.password(), None);
        assert_eq!(bob.path, "a");

        let dom = url("smb://WORKGROUP;bob@server");
        assert_eq!(dom.domain.as_deref(), Some("WORKGROUP"));
        assert_eq!(dom.user.as_deref(), Some("bob"));
        assert_eq!(dom.share, None);

        let empty = url("smb://@server/share");
        assert_eq!(empty.user, None);
        let empty_pw = url("smb://bob:@server/share");
        assert_eq!(empty_pw.password(), None);
    }

    #[test]
    fn userinfo_ends_at_last_at_sign() {
        let u = url("smb://bob:p@ss:w@rd@server/share");
        assert_eq!(u.user.as_deref(), Some("bob"));
        assert_eq!(u.password(), Some("p@ss:w@rd"));
        assert_eq!(u.domain, None);
        // As in libsmbclient, the first ';' ends the domain: one in a password must
        // be escaped.
        let u = url("smb://bob:a%3Bb@server");
        assert_eq!((u.domain.as_deref(), u.password()), (None, Some("a;b")));
    }

    #[test]
    fn scheme_is_case_insensitive() {
        let u = url("SMB://Server/Share");
        assert_eq!(u.host, "Server");
        assert_eq!(u.share.as_deref(), Some("Share"));
    }

    #[test]
    fn ports() {
        assert_eq!(url("smb://h:445/s").port, Some(445));
        assert_eq!(url("smb://h:65535").port, Some(65535));
        for bad in [
            "smb://h:/s",
            "smb://h:0",
            "smb://h:65536",
            "smb://h:+445",
            "smb://h:44a",
        ] {
            assert_eq!(SmbUrl::parse(bad), Err(UrlError::InvalidPort), "{bad}");
        }
    }

    #[test]
    fn ipv6_literals() {
        let u = url("smb://[::1]/share");
        assert_eq!(u.host, "::1");
        assert_eq!(u.port, None);
        assert_eq!(u.to_string(), "smb://[::1]/share");

        let u = url("smb://alice@[2001:db8::5]:1445/s/x");
        assert_eq!(u.host, "2001:db8::5");
        assert_eq!(u.port, Some(1445));
        assert_eq!(u.user.as_deref(), Some("alice"));

        let zoned = url("smb://[fe80::1%25eth0]/s");
        assert_eq!(zoned.host, "fe80::1%eth0");
        assert_eq!(zoned.to_string(), "smb://[fe80::1%25eth0]/s");
        assert_eq!(url(&zoned.to_string()), zoned);

        for bad in [
            "smb://[::1/s",
            "smb://[zz]/s",
            "smb://[::1]x/s",
            "smb://[fe80::1%25]/s",
        ] {
            assert_eq!(SmbUrl::parse(bad), Err(UrlError::InvalidHost), "{bad}");
        }
        assert_eq!(SmbUrl::parse("smb://[::1]:/s"), Err(UrlError::InvalidPort));
        // Unbracketed, the first ':' starts the port.
        assert_eq!(SmbUrl::parse("smb://fe80::1/s"), Err(UrlError::InvalidPort));
        assert_eq!(SmbUrl::parse("smb://::1/s"), Err(UrlError::EmptyHost));
    }

    #[test]
    fn percent_encoded_non_ascii() {
        let u = url("smb://h/caf%C3%A9/%E6%97%A5%E6%9C%AC/%F0%9F%98%80.txt");
        assert_eq!(u.share.as_deref(), Some("café"));
        assert_eq!(u.path, "日本\\😀.txt");
        assert_eq!(u.file_name(), Some("😀.txt"));
        // Raw non-ASCII and spaces are accepted as libsmbclient does.
        let raw = url("smb://h/café/日本/My Documents");
        assert_eq!(raw.share, u.share);
        assert_eq!(raw.path, "日本\\My Documents");
        assert_eq!(
            raw.to_string(),
            "smb://h/caf%C3%A9/%E6%97%A5%E6%9C%AC/My%20Documents"
        );
        let user = url("smb://J%C3%BCrgen:p%40ss@h");
        assert_eq!(user.user.as_deref(), Some("Jürgen"));
        assert_eq!(user.password(), Some("p@ss"));
    }

    #[test]
    fn components_decode_after_splitting() {
        let u = url("smb://h/s/a%23b/100%25/c%3F.txt");
        assert_eq!(u.path, "a#b\\100%\\c?.txt");
        assert_eq!(u.file_name(), Some("c?.txt"));
        assert_eq!(u.to_string(), "smb://h/s/a%23b/100%25/c%3F.txt");
        assert_eq!(url(&u.to_string()), u);
        // '#' is no fragment: it is part of the name, as in libsmbclient.
        assert_eq!(url("smb://h/s/a#b").path, "a#b");
    }

    /// Each of these once made a command act on another path than the one written:
    /// `?` cut the path short (`report?.txt` deleted `report`), and an escaped `/`
    /// became a separator on the server (`scratch/..%2Fhello.txt` deleted
    /// `hello.txt` outside `scratch`).
    #[test]
    fn nothing_shortens_or_escapes_the_path_written() {
        for s in [
            "smb://u@h/share/report?.txt",
            "smb://h/s/a?",
            "smb://h/s?",
            "smb://h/s/f?mc=1",
            "smb://u:p?w@h/s",
        ] {
            assert_eq!(SmbUrl::parse(s), Err(UrlError::Options), "{s}");
        }
        for s in [
            "smb://u@h/share/scratch/..%2Fhello.txt",
            "smb://h/share/scratch/..%2F*",
            "smb://h/share/scratch/x%2F..%2F..%2Fhello.txt",
            "smb://h/share/dir1%2F..%2F*.txt",
            "smb://h/share/a1.txt%2F",
            "smb://h/share/scratch/*%2F",
            "smb://h/share/a%5Cb",
            "smb://h/share%2Fx/y",
        ] {
            assert!(
                matches!(SmbUrl::parse(s), Err(UrlError::Separator(_))),
                "{s}: {:?}",
                SmbUrl::parse(s)
            );
        }
        let err = SmbUrl::parse("smb://h/s/a?b").unwrap_err().to_string();
        assert!(err.contains("%3F"), "{err}");
    }

    #[test]
    fn share_only_server_only_and_trailing_slashes() {
        let share = url("smb://h/share");
        assert_eq!(share.share.as_deref(), Some("share"));
        assert_eq!(share.path, "");
        assert_eq!(url("smb://h/share/"), share);

        let dir = url("smb://h/share/dir/");
        assert_eq!(dir.path, "dir\\");
        assert!(dir.names_directory());
        assert_eq!(url("smb://h/share/dir/."), dir);
        assert_eq!(dir.to_string(), "smb://h/share/dir/");
        assert_eq!(dir.file_name(), Some("dir"));
        assert_eq!(dir.join("f").unwrap().path, "dir\\f");
        assert_eq!(dir.parent(), Some(share.clone()));
        assert!(!url("smb://h/share/dir").names_directory());
        assert!(share.names_directory());

        let server = url("smb://h");
        assert_eq!(server.share, None);
        assert_eq!(server.path, "");
        assert_eq!(url("smb://h/"), server);
        assert_eq!(server.to_string(), "smb://h");
    }

    #[test]
    fn empty_and_dot_segments_are_dropped() {
        let u = url("smb://h//share//a/./b");
        assert_eq!(u.share.as_deref(), Some("share"));
        assert_eq!(u.path, r"a\b");
        // ...but the last one still says "a directory".
        assert_eq!(url("smb://h//share//a/./b/").path, "a\\b\\");
    }

    #[test]
    fn errors() {
        let cases: &[(&str, UrlError)] = &[
            ("http://h/s", UrlError::Scheme),
            ("smb:/h/s", UrlError::Scheme),
            ("smb", UrlError::Scheme),
            ("smb://:445", UrlError::EmptyHost),
            ("smb:///share", UrlError::EmptyHost),
            ("smb://bob@/share", UrlError::EmptyHost),
            ("smb://a b/s", UrlError::InvalidHost),
            ("smb://h%2Fx/s", UrlError::InvalidHost),
            ("smb://h/s/%zz", UrlError::BadEscape("path")),
            ("smb://h/s/%4", UrlError::BadEscape("path")),
            ("smb://h/s/x%", UrlError::BadEscape("path")),
            ("smb://u:s3cr%zzet@h/s", UrlError::BadEscape("password")),
            ("smb://h/s/%C3", UrlError::NotUtf8("path")),
            ("smb://h/s/a%00b", UrlError::ControlCharacter("path")),
            ("smb://h/s%7F", UrlError::ControlCharacter("share")),
            ("smb://h/s/a\tb", UrlError::ControlCharacter("URL")),
            ("smb://h/s/../x", UrlError::ParentComponent),
            ("smb://h/s/a/%2E%2E/b", UrlError::ParentComponent),
            ("smb://h/%2e%2e", UrlError::ParentComponent),
            ("smb://h/s/a%5C..%5Cb", UrlError::Separator("path")),
            ("smb://h/s?x=%g0", UrlError::Options),
        ];
        for (input, expected) in cases {
            assert_eq!(SmbUrl::parse(input), Err(*expected), "{input}");
        }
        assert_eq!("ftp://h".parse::<SmbUrl>(), Err(UrlError::Scheme));
    }

    #[test]
    fn the_network_has_no_server() {
        for s in ["smb://", "smb:///", "SMB://", "smb:////"] {
            let u = url(s);
            assert!(u.names_network(), "{s}");
            assert_eq!(
                (u.host.as_str(), u.port, &u.share),
                ("", None, &None),
                "{s}"
            );
            assert_eq!(u.to_string(), "smb://");
        }
        let alice = url("smb://W;alice:pw@");
        assert!(alice.names_network());
        assert_eq!(alice.user.as_deref(), Some("alice"));
        assert_eq!(alice.password(), Some("pw"));
        assert_eq!(alice.to_string(), "smb://W;alice@");
        // A workgroup is spelled as a server: the URL cannot tell them apart.
        let wg = url("smb://WORKGROUP");
        assert!(!wg.names_network());
        assert_eq!((wg.host.as_str(), &wg.share), ("WORKGROUP", &None));
        // Still no share or port without a server.
        for bad in ["smb://:445", "smb:///share", "smb://bob@/s", "smb:///s/f"] {
            assert_eq!(SmbUrl::parse(bad), Err(UrlError::EmptyHost), "{bad}");
        }
    }

    #[test]
    fn password_never_shown() {
        let mut u = url("smb://DOM;alice:s3cret@h/s/f");
        let debug = format!("{u:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(!u.to_string().contains("s3cret"));
        assert_eq!(u.to_string(), "smb://DOM;alice@h/s/f");

        let err = SmbUrl::parse("smb://alice:s3cr%zzet@h/s").unwrap_err();
        assert!(!err.to_string().contains("s3cr"));
        assert!(!format!("{err:?}").contains("s3cr"));

        u.set_password(Some("other".into()));
        assert_eq!(u.password(), Some("other"));
        u.set_password(None);
        assert_eq!(u.password(), None);
        assert!(format!("{u:?}").contains("password: None"));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "smb://h",
            "smb://DOM;u@h:1/s",
            "smb://h/s/a%20b/%25/%3F%23/%E6%97%A5",
            "smb://h/s/dir/",
            "smb://%C3%A9@h/%F0%9F%98%80",
            "smb://DOM;@h/s",
        ] {
            let u = url(s);
            assert_eq!(u.to_string(), s);
            assert_eq!(url(&u.to_string()), u, "{s}");
        }
    }

    #[test]
    fn join_parent_file_name() {
        let server = url("smb://alice@h");
        let share = server.join("share").unwrap();
        assert_eq!(share.share.as_deref(), Some("share"));
        assert_eq!(share.path, "");
        let dir = share.join("dir").unwrap();
        assert_eq!(dir.path, "dir");
        let file = dir.join("日本.txt").unwrap();
        assert_eq!(file.path, "dir\\日本.txt");
        assert_eq!(
            file.to_string(),
            "smb://alice@h/share/dir/%E6%97%A5%E6%9C%AC.txt"
        );
        assert_eq!(file.file_name(), Some("日本.txt"));
        assert_eq!(share.file_name(), Some("share"));
        assert_eq!(server.file_name(), None);

        assert_eq!(file.parent(), Some(dir.clone()));
        assert_eq!(dir.parent(), Some(share.clone()));
        assert_eq!(share.parent(), Some(server.clone()));
        assert_eq!(server.parent(), None);

        assert_eq!(dir.join(".."), Err(UrlError::ParentComponent));
        assert_eq!(dir.join("."), Err(UrlError::EmptyName));
        assert_eq!(dir.join(""), Err(UrlError::EmptyName));
        assert_eq!(dir.join(r"a\..\..\b"), Err(UrlError::Separator("name")));
        assert_eq!(dir.join("a\u{1}"), Err(UrlError::ControlCharacter("name")));
        assert_eq!(server.join(".."), Err(UrlError::ParentComponent));
    }
}
