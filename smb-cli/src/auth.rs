//! Who `smb` logs in as: the user, domain and password from the command line, an
//! authentication file, the URL and the environment, in that order of precedence.
//!
//! Each of the three is taken from the first source that has it, independently of the
//! others: `-U bob` with `SMB_PASSWORD` set logs in as bob with that password, as
//! `smb://bob@server/share` with `SMB_PASSWORD` always did. A password still missing
//! is asked for on the terminal (see `run`). Nothing here prints a secret, and `Debug`
//! shows none.

use std::fmt;

/// What one source says about the login; any part may be missing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Login {
    /// The user name.
    pub user: Option<String>,
    /// The domain (workgroup).
    pub domain: Option<String>,
    /// The password.
    pub password: Option<String>,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Login {
    /// Each part from `self`, else from `lower`.
    pub fn or(self, lower: Login) -> Login {
        Login {
            user: self.user.or(lower.user),
            domain: self.domain.or(lower.domain),
            password: self.password.or(lower.password),
        }
    }

    /// smbclient's `-U` value: `USER`, `DOMAIN\USER` or `DOMAIN/USER`, each optionally
    /// followed by `%PASSWORD` (the first `%` splits, so a password may hold one).
    ///
    /// ```
    /// let l = smb_cli::auth::Login::from_user_arg("WG\\bob%pa%ss");
    /// assert_eq!(l.domain.as_deref(), Some("WG"));
    /// assert_eq!(l.user.as_deref(), Some("bob"));
    /// assert_eq!(l.password.as_deref(), Some("pa%ss"));
    /// ```
    pub fn from_user_arg(arg: &str) -> Login {
        let (who, password) = match arg.split_once('%') {
            Some((who, pw)) => (who, Some(pw.to_string())),
            None => (arg, None),
        };
        let (domain, user) = split_domain(who);
        Login {
            user: Some(user.to_string()),
            domain: domain.map(str::to_string),
            password,
        }
    }

    /// smbclient's authentication file (`-A`): `username = …`, `password = …` and
    /// `domain = …` lines; blank lines and lines starting with `#` or `;` are skipped.
    /// The user may be written `DOMAIN\USER`. A value runs from the first non-blank after
    /// `=` to the end of the line, so a password may end in spaces.
    ///
    /// # Errors
    ///
    /// A line that is none of these, by number (never its text: it may be the password).
    pub fn from_auth_file(text: &str) -> Result<Login, String> {
        let mut login = Login::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
                continue;
            }
            let bad = || {
                format!(
                    "line {}: expected username, password or domain = VALUE",
                    i + 1
                )
            };
            let (key, value) = trimmed.split_once('=').ok_or_else(bad)?;
            let value = value.trim_start_matches([' ', '\t']).to_string();
            match key.trim_end() {
                "username" => {
                    let (domain, user) = split_domain(&value);
                    if let Some(d) = domain {
                        login.domain.get_or_insert_with(|| d.to_string());
                    }
                    login.user = Some(user.to_string());
                }
                "password" => login.password = Some(value),
                "domain" => login.domain = Some(value),
                _ => return Err(bad()),
            }
        }
        Ok(login)
    }

    /// `SMB_USER`, `SMB_PASSWORD` and `SMB_DOMAIN`, through `var` (the environment's
    /// lookup, or a test's); `SMB_USER` may be `DOMAIN\USER`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Login {
        let mut login = Login {
            user: None,
            domain: var("SMB_DOMAIN"),
            password: var("SMB_PASSWORD"),
        };
        if let Some(u) = var("SMB_USER").filter(|u| !u.is_empty()) {
            let (domain, user) = split_domain(&u);
            login.user = Some(user.to_string());
            if login.domain.is_none() {
                login.domain = domain.map(str::to_string);
            }
        }
        login
    }
}

/// `DOMAIN\USER` or `DOMAIN/USER` → (domain, user).
fn split_domain(s: &str) -> (Option<&str>, &str) {
    match s.split_once(['\\', '/']) {
        Some((d, u)) => (Some(d), u),
        None => (None, s),
    }
}

/// The secrets the raw command line carries (`-U`'s `%PASSWORD`, a URL's password, the
/// values of `--nt-hash` and `--password`), to be blotted out of anything the argument
/// parser echoes: its errors quote the arguments they stumble on.
pub fn secrets_in(args: &[String]) -> Vec<String> {
    let mut secrets = Vec::new();
    let mut after: Option<&str> = None;
    for a in args {
        // The value of the option before: `-U X`, `--nt-hash X`.
        match after.take() {
            Some("user") => secrets.extend(a.split_once('%').map(|(_, p)| p.to_string())),
            Some(_) => secrets.push(a.clone()),
            None => {}
        }
        match a.as_str() {
            "-U" | "--user" => after = Some("user"),
            "--nt-hash" | "--password" => after = Some("secret"),
            _ => {}
        }
        for prefix in ["--user=", "-U"] {
            if let Some(v) = a.strip_prefix(prefix).filter(|v| !v.is_empty()) {
                secrets.extend(v.split_once('%').map(|(_, p)| p.to_string()));
            }
        }
        for prefix in ["--nt-hash=", "--password="] {
            if let Some(v) = a.strip_prefix(prefix) {
                secrets.push(v.to_string());
            }
        }
        secrets.extend(url_passwords(a));
    }
    secrets.retain(|s| !s.is_empty());
    // Longest first, so a secret inside another is not half-replaced.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

/// The raw (still percent-encoded) password of each `smb://user:password@` in `s`.
fn url_passwords(s: &str) -> Vec<String> {
    let lower = s.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("smb://") {
        let start = from + at + 6;
        let authority = &s[start..];
        let authority = &authority[..authority.find('/').unwrap_or(authority.len())];
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, password)) = userinfo.split_once(':') {
                found.push(password.to_string());
            }
        }
        from = start;
    }
    found
}

/// `text` with each of `secrets` replaced by `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .fold(text.to_string(), |t, s| t.replace(s.as_str(), "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_from_the_first_source_that_has_it() {
        let flag = Login::from_user_arg("bob");
        let url = Login {
            user: Some("alice".into()),
            domain: Some("URLDOM".into()),
            password: Some("url-pw".into()),
        };
        let env = Login::from_env(|k| (k == "SMB_PASSWORD").then(|| "env-pw".to_string()));
        let l = flag.or(Login::default()).or(url.clone()).or(env.clone());
        assert_eq!(l.user.as_deref(), Some("bob"));
        assert_eq!(l.domain.as_deref(), Some("URLDOM"));
        assert_eq!(l.password.as_deref(), Some("url-pw"));
        let l = Login::default().or(env);
        assert_eq!((l.user, l.password.as_deref()), (None, Some("env-pw")));
        assert!(!format!("{url:?}").contains("url-pw"));
    }

    #[test]
    fn user_arguments_in_smbclients_forms() {
        let l = Login::from_user_arg("DOM/u");
        assert_eq!(
            (l.domain.as_deref(), l.user.as_deref(), l.password),
            (Some("DOM"), Some("u"), None)
        );
        let l = Login::from_user_arg("u%");
        assert_eq!(l.password.as_deref(), Some(""));
    }

    #[test]
    fn auth_files_as_smbclient_reads_them() {
        let l = Login::from_auth_file(
            "# comment\r\nusername = WG\\bob\r\npassword =  two words \n\ndomain=OTHER\n",
        )
        .unwrap();
        assert_eq!(l.user.as_deref(), Some("bob"));
        assert_eq!(l.password.as_deref(), Some("two words "));
        assert_eq!(l.domain.as_deref(), Some("OTHER"));
        let e = Login::from_auth_file("username = u\nsecret-pw\n").unwrap_err();
        assert!(e.starts_with("line 2") && !e.contains("secret-pw"), "{e}");
        assert!(Login::from_auth_file("colour = blue").is_err());
    }

    #[test]
    fn secrets_on_the_command_line_are_found_and_blotted_out() {
        let args: Vec<String> = [
            "smb",
            "-U",
            "WG\\bob%s3cret",
            "--nt-hash",
            "00ff",
            "ls",
            "SMB://u:p%40ss@h/s",
            "-Ualice%pw2",
            "--password=pw3",
        ]
        .map(String::from)
        .to_vec();
        let secrets = secrets_in(&args);
        for s in ["s3cret", "00ff", "p%40ss", "pw2", "pw3"] {
            assert!(secrets.iter().any(|x| x == s), "{s} in {secrets:?}");
        }
        assert_eq!(
            redact("x smb://u:p%40ss@h y", &secrets),
            "x smb://u:***@h y"
        );
    }
}
