//! `smb`: a command-line SMB2/3 client over smb-blocking.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use smb_blocking::{ConnectOptions, Connection};
use smb_proto::url::SmbUrl;
use smb_proto::{Dialect, Errno, FileInfo, NtStatus, SigningPolicy};

const USAGE: &str = "usage: smb [OPTIONS] COMMAND ARGS…

commands:
  ls URL                list a directory or a file (a wildcard in the last component filters)
  stat URL              show a file's attributes
  get URL LOCAL         download (LOCAL '-' = stdout; into a directory under the remote name)
  put LOCAL URL         upload (LOCAL '-' = stdin; a URL ending in '/' keeps LOCAL's name)
  cat URL               print a file to stdout
  rm URL                delete files (wildcards in the last component)
  mkdir URL             create a directory
  rmdir URL             remove an empty directory
  mv URL NEW_PATH       rename within the share (NEW_PATH share-relative or a URL)
  dissect FILE…         verify and decrypt captured SMB traffic (smb dissect --help)

URL: smb://[[domain;]user[:password]@]server[:port]/share/path
     password also from SMB_PASSWORD; no user means guest.

options:
  --signing never|if-required|supported|required
                                       signing policy (default: supported: sign when
                                       the session can; required: refuse guest sessions)
  --max-dialect 2.0.2|2.1|3.0|3.0.2|3.1.1
  --min-dialect …                      lowest dialect accepted
  --netbios                            NetBIOS session service framing (port 139)
  --timeout SECONDS                    per-request timeout (default 60)";

/// A failure to report: message and exit code.
struct Fail(String, u8);

impl From<smb_blocking::Error> for Fail {
    fn from(e: smb_blocking::Error) -> Self {
        match e {
            // Every protocol error names its errno in its message.
            smb_blocking::Error::Smb(e) => Fail(e.to_string(), 1),
            smb_blocking::Error::Io(e) => local_fail("I/O error", e),
        }
    }
}

/// A usage error: one line (the usage text is for `--help`), exit code 2.
fn usage(msg: &str) -> Fail {
    Fail(format!("{msg} (see 'smb --help')"), 2)
}

struct Args {
    opts: ConnectOptions,
    positional: Vec<String>,
}

fn parse_args(mut raw: impl Iterator<Item = String>) -> Result<Args, Fail> {
    let mut opts = ConnectOptions::new("");
    let mut positional = Vec::new();
    while let Some(a) = raw.next() {
        let mut value = |name: &str| {
            raw.next()
                .ok_or_else(|| usage(&format!("{name} needs a value")))
        };
        match a.as_str() {
            "-h" | "--help" => return Err(Fail(USAGE.to_string(), 0)),
            "--signing" => {
                opts.signing = match value("--signing")?.as_str() {
                    "never" | "off" => SigningPolicy::Never,
                    "supported" | "auto" => SigningPolicy::WhenSupported,
                    "if-required" => SigningPolicy::WhenRequired,
                    "required" => SigningPolicy::Required,
                    other => return Err(usage(&format!("unknown signing policy '{other}'"))),
                }
            }
            "--max-dialect" | "--min-dialect" => {
                let v = value(&a)?;
                let d =
                    Dialect::parse(&v).ok_or_else(|| usage(&format!("unknown dialect '{v}'")))?;
                if a == "--max-dialect" {
                    opts.max_dialect = d;
                } else {
                    opts.min_dialect = d;
                }
            }
            "--netbios" => opts.netbios = true,
            "--timeout" => {
                let v = value("--timeout")?;
                let s: f64 = v
                    .parse()
                    .map_err(|_| usage(&format!("bad timeout '{v}'")))?;
                opts.timeout = std::time::Duration::from_secs_f64(s.max(0.001));
            }
            s if s.starts_with("--") => return Err(usage(&format!("unknown option {s}"))),
            _ => positional.push(a),
        }
    }
    if opts.min_dialect > opts.max_dialect {
        return Err(usage("--min-dialect is above --max-dialect"));
    }
    Ok(Args { opts, positional })
}

/// A parsed URL with the connection options it implies, and the share and path.
struct Target {
    url: SmbUrl,
    share: String,
}

fn target(s: &str, opts: &ConnectOptions) -> Result<(Target, ConnectOptions), Fail> {
    // Neither message quotes `s`: it may hold a password.
    let url = SmbUrl::parse(s).map_err(|e| usage(&format!("bad URL: {e}")))?;
    let share = url
        .share
        .clone()
        .ok_or_else(|| usage(&format!("URL '{url}' names no share")))?;
    let mut o = opts.clone();
    o.host = url.host.clone();
    o.port = url.port.unwrap_or(if o.netbios { 139 } else { 445 });
    if o.netbios {
        o.server_name = Some("*SMBSERVER".to_string());
    }
    if let Some(user) = &url.user {
        let password = match url.password() {
            Some(p) => p.to_string(),
            None => std::env::var("SMB_PASSWORD").unwrap_or_default(),
        };
        o = o.user(user, &password);
    }
    if let Some(d) = &url.domain {
        o = o.domain(d);
    }
    Ok((Target { url, share }, o))
}

fn connect(o: &ConnectOptions) -> Result<Connection, Fail> {
    Connection::connect(o).map_err(|e| match e {
        // A bare "Connection refused" would not say to what.
        smb_blocking::Error::Io(e) => local_fail(&format!("connect {}:{}", o.host, o.port), e),
        e => e.into(),
    })
}

/// A share-relative path typed by the user, `/` or `\` separated, held to the URL
/// parser's rules (no `..`, no control characters).
fn share_path(url: &SmbUrl, path: &str) -> Result<String, Fail> {
    let mut root = url.clone();
    root.path.clear();
    let joined = path
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .try_fold(root, |u, c| u.join(c))
        .map_err(|e| usage(&format!("bad path '{path}': {e}")))?;
    if joined.path.is_empty() {
        return Err(usage(&format!("path '{path}' names no file")));
    }
    Ok(joined.path)
}

/// Escapes control characters, so a name from the server cannot drive the terminal or
/// forge extra lines of output.
fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn format_entry(e: &FileInfo) -> String {
    let kind = if e.is_directory() { 'd' } else { '-' };
    let mtime = e
        .last_write_time
        .to_system_time()
        .map(format_time)
        .unwrap_or_else(|| "-".into());
    format!("{kind} {:>12} {mtime} {}", e.size, printable(&e.name))
}

/// `YYYY-MM-DD HH:MM:SS` UTC, without a date crate.
fn format_time(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn run(args: Args) -> Result<(), Fail> {
    let p = &args.positional;
    let cmd = p.first().ok_or_else(|| usage("no command"))?.as_str();
    let want = |n: usize| -> Result<(), Fail> {
        if p.len() == n + 1 {
            Ok(())
        } else {
            Err(usage(&format!("'{cmd}' takes {n} argument(s)")))
        }
    };
    match cmd {
        "ls" => {
            want(1)?;
            let (t, o) = target(&p[1], &args.opts)?;
            let mut c = connect(&o)?;
            let (dir, name) = t.url.path.rsplit_once('\\').unwrap_or(("", &t.url.path));
            let mut entries = if name.contains(['*', '?']) {
                c.list_path(&t.share, dir, name)?
            } else {
                match c.list_path(&t.share, &t.url.path, "*") {
                    // Like ls(1), a file lists itself.
                    Err(smb_blocking::Error::Smb(e))
                        if e.status() == Some(NtStatus::NOT_A_DIRECTORY) =>
                    {
                        c.list_path(&t.share, dir, name)?
                    }
                    r => r?,
                }
            };
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            let mut out = io::stdout().lock();
            for e in &entries {
                writeln!(out, "{}", format_entry(e)).map_err(|e| local_fail("output", e))?;
            }
        }
        "stat" => {
            want(1)?;
            let (t, o) = target(&p[1], &args.opts)?;
            let i = connect(&o)?.get_attributes(&t.share, &t.url.path)?;
            let time = |f: smb_proto::wire::fscc::FileTime| {
                f.to_system_time()
                    .map(format_time)
                    .unwrap_or_else(|| "-".into())
            };
            println!("name:        {}", t.url.path);
            println!(
                "type:        {}",
                if i.is_directory() {
                    "directory"
                } else {
                    "file"
                }
            );
            println!("size:        {}", i.size);
            println!("allocation:  {}", i.allocation_size);
            println!("attributes:  {:#010x}", i.attributes);
            println!("created:     {}", time(i.creation_time));
            println!("accessed:    {}", time(i.last_access_time));
            println!("modified:    {}", time(i.last_write_time));
            println!("changed:     {}", time(i.change_time));
        }
        "get" | "cat" => {
            want(if cmd == "get" { 2 } else { 1 })?;
            let (t, o) = target(&p[1], &args.opts)?;
            let mut c = connect(&o)?;
            let local = if cmd == "get" { p[2].as_str() } else { "-" };
            // Devices and pipes (/dev/null, a FIFO) are written directly: a temporary file
            // renamed over them would replace the device node.
            let special =
                local != "-" && std::fs::metadata(local).is_ok_and(|m| !m.is_file() && !m.is_dir());
            if local == "-" || special {
                let mut out: Box<dyn Write> = if special {
                    let f = std::fs::OpenOptions::new()
                        .write(true)
                        .open(local)
                        .map_err(|e| local_fail(local, e))?;
                    Box::new(std::io::BufWriter::with_capacity(1 << 20, f))
                } else {
                    Box::new(io::stdout().lock())
                };
                c.retrieve_file(&t.share, &t.url.path, &mut out)?;
                out.flush().map_err(|e| local_fail("output", e))?;
            } else {
                let mut local = PathBuf::from(local);
                if local.is_dir() {
                    // Like cp(1): into the directory, under the remote name.
                    local.push(t.url.file_name().unwrap_or_default());
                }
                // Download beside the target, rename on success: no half-written LOCAL.
                let mut tmp = local.clone().into_os_string();
                tmp.push(".part");
                let tmp = PathBuf::from(tmp);
                let shown = |p: &PathBuf| p.display().to_string();
                let file = std::fs::File::create(&tmp).map_err(|e| local_fail(&shown(&tmp), e))?;
                let mut f = std::io::BufWriter::with_capacity(1 << 20, file);
                let r = c
                    .retrieve_file(&t.share, &t.url.path, &mut f)
                    .map_err(Fail::from)
                    .and_then(|_| f.flush().map_err(|e| local_fail(&shown(&tmp), e)))
                    .and_then(|_| {
                        std::fs::rename(&tmp, &local).map_err(|e| local_fail(&shown(&local), e))
                    });
                if r.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                r?;
            }
        }
        "put" => {
            want(2)?;
            let (t, o) = target(&p[2], &args.opts)?;
            let path = if t.url.path.is_empty() || p[2].ends_with('/') {
                if p[1] == "-" {
                    return Err(usage("put from stdin needs a file name in the URL"));
                }
                let name = std::path::Path::new(&p[1])
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| usage(&format!("'{}' has no UTF-8 file name", p[1])))?;
                t.url
                    .join(name)
                    .map_err(|e| usage(&format!("file name '{name}': {e}")))?
                    .path
            } else {
                t.url.path.clone()
            };
            let mut input: Box<dyn Read> = if p[1] == "-" {
                Box::new(io::stdin().lock())
            } else {
                Box::new(std::fs::File::open(&p[1]).map_err(|e| local_fail(&p[1], e))?)
            };
            connect(&o)?.store_file(&t.share, &path, &mut input)?;
        }
        "rm" => {
            want(1)?;
            let (t, o) = target(&p[1], &args.opts)?;
            connect(&o)?.delete_files(&t.share, &t.url.path)?;
        }
        "mkdir" => {
            want(1)?;
            let (t, o) = target(&p[1], &args.opts)?;
            connect(&o)?.create_directory(&t.share, &t.url.path)?;
        }
        "rmdir" => {
            want(1)?;
            let (t, o) = target(&p[1], &args.opts)?;
            connect(&o)?.delete_directory(&t.share, &t.url.path)?;
        }
        "mv" => {
            want(2)?;
            let (t, o) = target(&p[1], &args.opts)?;
            let new_path = if p[2].to_ascii_lowercase().starts_with("smb://") {
                let (t2, o2) = target(&p[2], &args.opts)?;
                if !t2.share.eq_ignore_ascii_case(&t.share)
                    || (&o2.host, o2.port) != (&o.host, o.port)
                {
                    return Err(usage("mv works within one share"));
                }
                t2.url.path
            } else {
                share_path(&t.url, &p[2])?
            };
            connect(&o)?.rename(&t.share, &t.url.path, &new_path)?;
        }
        other => return Err(usage(&format!("unknown command '{other}'"))),
    }
    Ok(())
}

/// A local failure (`what` names the file or the action), with its errno's name.
fn local_fail(what: &str, e: io::Error) -> Fail {
    match e.raw_os_error().map(|n| Errno(n).name()) {
        Some(name) if name != "EUNKNOWN" => Fail(format!("{what}: {e} ({name})"), 1),
        _ => Fail(format!("{what}: {e}"), 1),
    }
}

fn main() -> ExitCode {
    // `dissect` has options of its own, so it is dispatched before the client's parsing.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "dissect") {
        return smb_cli::dissect::main(&args[1..]);
    }
    let r = parse_args(args.into_iter()).and_then(run);
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(msg, 0)) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(Fail(msg, code)) => {
            eprintln!("smb: {}", printable(&msg));
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(format_time(t), "2023-11-14 22:13:20");
        assert_eq!(format_time(std::time::UNIX_EPOCH), "1970-01-01 00:00:00");
    }

    #[test]
    fn parses_options_and_rejects_unknown() {
        let a = parse_args(
            ["--max-dialect", "2.1", "ls", "smb://h/s"]
                .map(String::from)
                .into_iter(),
        )
        .ok()
        .unwrap();
        assert_eq!(a.opts.max_dialect, Dialect::Smb210);
        assert_eq!(a.positional, vec!["ls", "smb://h/s"]);
        assert!(parse_args(["--bogus"].map(String::from).into_iter()).is_err());
        assert!(parse_args(["--signing", "maybe"].map(String::from).into_iter()).is_err());
    }

    #[test]
    fn control_characters_in_names_are_escaped() {
        assert_eq!(printable("a b ü.txt"), "a b ü.txt");
        assert_eq!(printable("x\u{1b}[31m\ny"), "x\\u{1b}[31m\\ny");
    }

    #[test]
    fn share_paths_take_either_separator_and_never_climb() {
        let url = SmbUrl::parse("smb://h/s/dir/f").ok().unwrap();
        let path = |p: &str| share_path(&url, p).ok();
        assert_eq!(path("a/b\\c").as_deref(), Some("a\\b\\c"));
        assert_eq!(path("/./a//b/").as_deref(), Some("a\\b"));
        assert_eq!(path("a/../b"), None);
        assert_eq!(path("/"), None);
        assert_eq!(path("a\u{7}b"), None);
    }
}
