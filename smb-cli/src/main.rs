//! `smb`: a command-line SMB2/3 client over smb-blocking.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use smb_blocking::{ConnectOptions, Connection};
use smb_cli::{printable, ArgError, Args};
use smb_proto::url::SmbUrl;
use smb_proto::{Errno, FileInfo, NtStatus};

const USAGE: &str = "usage: smb [OPTIONS] COMMAND ARGS…

commands:
  ls URL                list a directory or a file (a wildcard in the last component filters;
                        one that matches nothing fails with ENOENT, as rm does)
  stat URL              show a file's attributes
  get URL LOCAL         download (LOCAL '-' = stdout; into a directory under the remote name)
  get -r URL LOCALDIR   download what directory URL holds, subdirectories too, into LOCALDIR
                        (created if missing)
  put LOCAL URL         upload (LOCAL '-' = stdin; a URL ending in '/' keeps LOCAL's name)
  put -r LOCALDIR URL   upload what LOCALDIR holds, subdirectories too, into directory URL
                        (created if missing)
  cat URL               print a file to stdout
  rm URL                delete files (wildcards in the last component)
  mkdir [-p] URL        create a directory (-p: and its missing parents)
  rmdir URL             remove an empty directory
  mv URL NEW_PATH       rename within the share (NEW_PATH share-relative or a URL)
  dissect FILE…         verify and decrypt captured SMB traffic (smb dissect --help)

URL: smb://[[domain;]user[:password]@]server[:port]/share/path
     password also from SMB_PASSWORD; no user means guest.
     Percent-escapes are decoded in each part; a '?' wildcard is written %3F (a raw
     '?' would start URL options, which are refused), an escaped separator (%2F, %5C)
     and '..' are refused, and a trailing '/' names a directory (rm URL/ and get URL/
     refuse it; ls file/ fails).

options:
  -r, --recursive                      get and put whole directory trees (put -r follows
                                       symbolic links, like cp -rL)
  -p, --parents                        mkdir: create missing parents, no error if it exists
  -v, --verbose                        after get, put or cat, a one-line summary on stderr
  --signing never|if-required|supported|required
                                       signing policy (default: supported: sign when
                                       the session can; required: refuse guest sessions).
                                       Unsigned, unencrypted data (never, or if-required
                                       on a server that does not require it) can be
                                       altered in flight without anyone noticing.
  --max-dialect 2.0.2|2.1|3.0|3.0.2|3.1.1
  --min-dialect …                      lowest dialect accepted
  --netbios                            NetBIOS session service framing (port 139)
  --encrypt                            require an encrypted session (SMB 3.x)
  --allow-insecure-guest               accept a guest session where the server mapped
                                       the user to guest, or where signing is required
                                       (a guest session cannot sign)
  --timeout SECONDS                    per-request timeout (default 60)
  --                                   the arguments after it are not options

Quiet like cp(1): nothing but requested output on success. A failure is one line on
stderr naming the path and the errno, exit status 1 (2 for usage errors). When the reader
of stdout stops early (smb cat URL | head), smb stops too and exits quietly with status 0.";

/// Why a command stopped early.
enum Fail {
    /// One line for stderr, and the exit code.
    Error(String, u8),
    /// `--help`: the usage text on stdout.
    Help,
    /// The reader of stdout went away (`smb cat URL | head`): a quiet exit with status 0,
    /// as the usage text promises.
    OutputClosed,
}

impl From<smb_blocking::Error> for Fail {
    fn from(e: smb_blocking::Error) -> Self {
        Fail::Error(message(&e), 1)
    }
}

/// An error's line. Protocol errors name their path and errno, connect errors their
/// target and errno; local I/O errors (tree transfers; a one-file transfer names its file
/// through `local_io`) get their errno's name; a tree transfer that failed part-way
/// says how many files made it, so no one takes the half-copy for the whole.
fn message(e: &smb_blocking::Error) -> String {
    match e {
        smb_blocking::Error::Io(io) => with_errno(io.to_string(), io),
        smb_blocking::Error::Transfer {
            transferred,
            total,
            first,
        } => format!(
            "{} ({} of {total} files transferred)",
            message(first),
            transferred.len()
        ),
        e => e.to_string(),
    }
}

/// A usage error: one line (the usage text is for `--help`), exit code 2.
fn usage(msg: &str) -> Fail {
    Fail::Error(format!("{msg} (see 'smb --help')"), 2)
}

fn parse_args(raw: impl Iterator<Item = String>) -> Result<Args, Fail> {
    smb_cli::parse_args(raw).map_err(|e| match e {
        ArgError::Help => Fail::Help,
        ArgError::Usage(msg) => usage(&msg),
    })
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
    let env_password = std::env::var("SMB_PASSWORD").ok();
    let o = ConnectOptions::for_url(opts, &url, env_password.as_deref());
    Ok((Target { url, share }, o))
}

fn connect(o: &ConnectOptions) -> Result<Connection, Fail> {
    Ok(Connection::connect(o)?)
}

/// A share-relative path typed by the user, `/` or `\` separated, held to the URL
/// parser's rules (no `..`, no control characters), as the URL of that path on `url`'s
/// share; a trailing separator keeps its meaning (a directory).
fn share_path(url: &SmbUrl, path: &str) -> Result<SmbUrl, Fail> {
    let mut root = url.clone();
    root.path.clear();
    let mut joined = path
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .try_fold(root, |u, c| u.join(c))
        .map_err(|e| usage(&format!("bad path '{path}': {e}")))?;
    if joined.path.is_empty() {
        return Err(usage(&format!("path '{path}' names no file")));
    }
    let last = path.rsplit(['/', '\\']).next().unwrap_or_default();
    if last.is_empty() || last == "." {
        joined.path.push('\\');
    }
    Ok(joined)
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

/// `YYYY-MM-DD HH:MM:SS UTC`, without a date crate.
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
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
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
    if args.recursive && cmd != "get" && cmd != "put" {
        return Err(usage("-r works with get and put"));
    }
    if args.parents && cmd != "mkdir" {
        return Err(usage("-p works with mkdir"));
    }
    match cmd {
        "ls" => {
            want(1)?;
            let (t, o) = target(&p[1], &args.opts)?;
            let c = connect(&o)?;
            let path = &t.url.path;
            let (dir, name) = path.rsplit_once('\\').unwrap_or(("", path));
            // A URL ending in '/' names a directory: `ls file/` fails like ls(1) does.
            let as_dir = t.url.names_directory();
            let mut entries = if !as_dir && name.contains(['*', '?']) {
                c.list_path(&t.share, dir, name)?
            } else {
                match c.list_path(&t.share, path, "*") {
                    // Like ls(1), a file lists itself.
                    Err(smb_blocking::Error::Smb(e))
                        if !as_dir && e.status() == Some(NtStatus::NOT_A_DIRECTORY) =>
                    {
                        c.list_path(&t.share, dir, name)?
                    }
                    r => r?,
                }
            };
            // Like a shell's `ls nomatch*`: a pattern that matches nothing is an error
            // (as for rm); an empty directory lists nothing and succeeds.
            if entries.is_empty() && !as_dir && name.contains(['*', '?']) {
                return Err(smb_blocking::Error::Smb(smb_proto::Error::failed(
                    NtStatus::NO_SUCH_FILE,
                    "list",
                    path.clone(),
                ))
                .into());
            }
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            // Stdout is line-buffered: one write per entry costs more than the listing.
            let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            for e in &entries {
                writeln!(out, "{}", format_entry(e)).map_err(out_fail)?;
            }
            out.flush().map_err(out_fail)?;
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
            let kind = if i.is_directory() {
                "directory"
            } else {
                "file"
            };
            let mut out = io::stdout().lock();
            write!(
                out,
                "name:        {}\n\
                 type:        {kind}\n\
                 size:        {}\n\
                 allocation:  {}\n\
                 attributes:  {:#010x}\n\
                 created:     {}\n\
                 accessed:    {}\n\
                 modified:    {}\n\
                 changed:     {}\n",
                t.url.path,
                i.size,
                i.allocation_size,
                i.attributes,
                time(i.creation_time),
                time(i.last_access_time),
                time(i.last_write_time),
                time(i.change_time),
            )
            .and_then(|()| out.flush())
            .map_err(out_fail)?;
        }
        "get" | "cat" | "put" => {
            want(if cmd == "cat" { 1 } else { 2 })?;
            let (url, local) = match cmd {
                "get" => (&p[1], p[2].as_str()),
                "cat" => (&p[1], "-"),
                _ => (&p[2], p[1].as_str()),
            };
            if args.recursive && local == "-" {
                return Err(usage(&format!("{cmd} -r needs a local directory, not '-'")));
            }
            let (t, o) = target(url, &args.opts)?;
            let started = Instant::now();
            let (files, bytes) = match (cmd, args.recursive) {
                ("put", true) => {
                    connect(&o)?.store_tree(Path::new(local), &t.share, &t.url.path)?
                }
                ("put", false) => (1, put(&o, &t, local)?),
                (_, true) => get_tree(&o, &t, local)?,
                (_, false) => (1, get(&o, &t, local)?),
            };
            if args.verbose {
                let secs = started.elapsed().as_secs_f64();
                let rate = bytes as f64 / secs.max(1e-6) / f64::from(1 << 20);
                let _ = writeln!(
                    io::stderr(),
                    "{cmd}: {files} file(s), {bytes} bytes in {secs:.2} s ({rate:.1} MiB/s)"
                );
            }
        }
        "rm" => {
            want(1)?;
            let (t, o) = target(&p[1], &args.opts)?;
            connect(&o)?.delete_files(&t.share, &t.url.path)?;
        }
        "mkdir" => {
            want(1)?;
            let (t, o) = target(&p[1], &args.opts)?;
            if args.parents {
                connect(&o)?.create_directories(&t.share, &t.url.path)?;
            } else {
                connect(&o)?.create_directory(&t.share, &t.url.path)?;
            }
        }
        "rmdir" => {
            want(1)?;
            let (t, o) = target(&p[1], &args.opts)?;
            connect(&o)?.delete_directory(&t.share, &t.url.path)?;
        }
        "mv" => {
            want(2)?;
            let (t, o) = target(&p[1], &args.opts)?;
            let mut new = if p[2].to_ascii_lowercase().starts_with("smb://") {
                let (t2, o2) = target(&p[2], &args.opts)?;
                if !t2.share.eq_ignore_ascii_case(&t.share)
                    || (&o2.host, o2.port) != (&o.host, o.port)
                {
                    return Err(usage("mv works within one share"));
                }
                t2.url
            } else {
                share_path(&t.url, &p[2])?
            };
            // Like mv(1): a destination spelled as a directory receives the source.
            if new.names_directory() {
                let name = t
                    .url
                    .file_name()
                    .filter(|_| !t.url.path.is_empty())
                    .ok_or_else(|| usage("mv needs a file or directory to move"))?;
                new = new
                    .join(name)
                    .map_err(|e| usage(&format!("bad name '{name}': {e}")))?;
            }
            connect(&o)?.rename(&t.share, &t.url.path, &new.path)?;
        }
        other => return Err(usage(&format!("unknown command '{other}'"))),
    }
    Ok(())
}

/// Downloads one file to `local`: a file (written beside it, renamed on success), a
/// directory (into it, under the remote name), a device or pipe, or `-` for stdout.
/// Returns the byte count.
fn get(o: &ConnectOptions, t: &Target, local: &str) -> Result<u64, Fail> {
    let c = connect(o)?;
    if local == "-" {
        let mut out = io::stdout().lock();
        let n = c
            .retrieve_file(&t.share, &t.url.path, &mut out)
            .map_err(|e| match e {
                // The only local I/O in a download is writing `out`.
                smb_blocking::Error::Io(e) => out_fail(e),
                e => e.into(),
            })?;
        out.flush().map_err(out_fail)?;
        return Ok(n);
    }
    // Devices and pipes (/dev/null, a FIFO) are written directly: a temporary file renamed
    // over them would replace the device node.
    if std::fs::metadata(local).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(local)
            .map_err(|e| local_fail(local, e))?;
        let mut out = io::BufWriter::with_capacity(1 << 20, f);
        let n = c
            .retrieve_file(&t.share, &t.url.path, &mut out)
            .map_err(local_io(local))?;
        out.flush().map_err(|e| local_fail(local, e))?;
        return Ok(n);
    }
    let mut local = PathBuf::from(local);
    if local.is_dir() {
        // Like cp(1): into the directory, under the remote name.
        local.push(t.url.file_name().unwrap_or_default());
    }
    // Download beside the target, rename on success: no half-written LOCAL.
    let mut tmp = local.clone().into_os_string();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    let local_shown = local.display().to_string();
    let file = std::fs::File::create(&tmp).map_err(|e| local_fail(&local_shown, e))?;
    let _partial = Partial::set(&tmp);
    let mut out = io::BufWriter::with_capacity(1 << 20, file);
    // Failures name LOCAL, the file the user asked for, not the temporary beside it.
    let r = c
        .retrieve_file(&t.share, &t.url.path, &mut out)
        .map_err(local_io(&local_shown))
        .and_then(|n| {
            out.flush().map_err(|e| local_fail(&local_shown, e))?;
            std::fs::rename(&tmp, &local).map_err(|e| local_fail(&local_shown, e))?;
            Ok(n)
        });
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// The partial file a download is writing, which Ctrl-C removes before the process
/// exits (with 130, as a shell reports SIGINT), so an interrupted get leaves nothing.
static PARTIAL: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

/// Registers a partial file for as long as it lives.
struct Partial;

impl Partial {
    fn set(path: &Path) -> Partial {
        *PARTIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(path.into());
        Partial
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        *PARTIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// On Ctrl-C (SIGINT): remove the partial download, if any, and exit 130.
fn on_interrupt() {
    if let Some(p) = PARTIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    {
        let _ = std::fs::remove_file(p);
    }
    std::process::exit(130);
}

/// Downloads the tree under directory `t` into `local`; returns (files, bytes).
fn get_tree(o: &ConnectOptions, t: &Target, local: &str) -> Result<(u64, u64), Fail> {
    let c = connect(o)?;
    // Asked first, so a missing or mistyped remote directory leaves no local one behind.
    if !c.get_attributes(&t.share, &t.url.path)?.is_directory() {
        return Err(Fail::Error(
            format!("get -r {}: not a directory (ENOTDIR)", t.url.path),
            1,
        ));
    }
    Ok(c.retrieve_tree(&t.share, &t.url.path, Path::new(local))?)
}

/// Uploads `local` (`-`: stdin) to `t`, or into directory `t` under the local name when
/// the URL names a directory (ends in '/', or names just the share). Returns the byte
/// count.
fn put(o: &ConnectOptions, t: &Target, local: &str) -> Result<u64, Fail> {
    let path = if t.url.names_directory() {
        if local == "-" {
            return Err(usage("put from stdin needs a file name in the URL"));
        }
        let name = Path::new(local)
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| usage(&format!("'{local}' has no UTF-8 file name")))?;
        t.url
            .join(name)
            .map_err(|e| usage(&format!("file name '{name}': {e}")))?
            .path
    } else {
        t.url.path.clone()
    };
    let (mut input, shown): (Box<dyn Read>, _) = if local == "-" {
        (Box::new(io::stdin().lock()), "stdin")
    } else {
        let f = std::fs::File::open(local).map_err(|e| local_fail(local, e))?;
        (Box::new(f), local)
    };
    connect(o)?
        .store_file(&t.share, &path, &mut input)
        .map_err(local_io(shown))
}

/// Maps a transfer's error: a protocol error names its remote path itself; the local I/O
/// error of a one-file transfer (reading or writing `local`) is named after `local`.
fn local_io(local: &str) -> impl Fn(smb_blocking::Error) -> Fail + '_ {
    move |e| match e {
        smb_blocking::Error::Io(e) => local_fail(local, e),
        e => e.into(),
    }
}

/// A failure writing stdout: a reader that went away (`smb cat URL | head`) ends smb
/// quietly, like cat(1) killed by SIGPIPE but without the noise.
fn out_fail(e: io::Error) -> Fail {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Fail::OutputClosed
    } else {
        local_fail("stdout", e)
    }
}

/// A local failure (`what` names the file or the action), with its errno's name.
fn local_fail(what: &str, e: io::Error) -> Fail {
    Fail::Error(with_errno(format!("{what}: {e}"), &e), 1)
}

/// `msg` with the name of `e`'s errno appended. The errno is looked for in the error's
/// sources too: the blocking client wraps OS errors to name their file.
fn with_errno(msg: String, e: &io::Error) -> String {
    let mut errno = e.raw_os_error();
    let mut source = e.get_ref().map(|inner| inner as &dyn std::error::Error);
    while let (None, Some(s)) = (errno, source) {
        errno = s
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error);
        source = s.source();
    }
    match errno.map(|n| Errno(n).name()) {
        Some(name) if name != "EUNKNOWN" => format!("{msg} ({name})"),
        _ => msg,
    }
}

fn main() -> ExitCode {
    // `dissect` has options of its own, so it is dispatched before the client's parsing.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "dissect") {
        return smb_cli::dissect::main(&args[1..]);
    }
    // If no handler can be installed, Ctrl-C kills smb as before: LOCAL itself is still
    // never half-written, only LOCAL.part would stay.
    let _ = ctrlc::set_handler(on_interrupt);
    // Neither write may panic (println! would): stdout or stderr may be a closed pipe.
    match parse_args(args.into_iter()).and_then(run) {
        Ok(()) | Err(Fail::OutputClosed) => ExitCode::SUCCESS,
        Err(Fail::Help) => {
            let _ = writeln!(io::stdout(), "{USAGE}");
            ExitCode::SUCCESS
        }
        Err(Fail::Error(msg, code)) => {
            let _ = writeln!(io::stderr(), "smb: {}", printable(&msg));
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
        assert_eq!(format_time(t), "2023-11-14 22:13:20 UTC");
        assert_eq!(
            format_time(std::time::UNIX_EPOCH),
            "1970-01-01 00:00:00 UTC"
        );
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
        assert_eq!(a.opts.max_dialect, smb_proto::Dialect::Smb210);
        assert_eq!(a.positional, vec!["ls", "smb://h/s"]);
        assert!(parse_args(["--bogus"].map(String::from).into_iter()).is_err());
        assert!(parse_args(["--signing", "maybe"].map(String::from).into_iter()).is_err());
    }

    #[test]
    fn timeouts_are_positive_finite_seconds() {
        let t = |v: &str| smb_cli::parse_timeout(v).ok();
        assert_eq!(t("5"), Some(std::time::Duration::from_secs(5)));
        assert_eq!(t("0.25"), Some(std::time::Duration::from_millis(250)));
        // Large but representable: the core saturates the deadline.
        assert!(t("1e19").is_some());
        for bad in [
            "0",
            "-1",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e309",
            "1e20",
            "99999999999999999999",
            "",
            "5s",
        ] {
            assert!(t(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn flags_anywhere_and_names_starting_with_a_dash_after_double_dash() {
        let parse = |args: &[&str]| parse_args(args.iter().map(|a| a.to_string())).ok();
        let a = parse(&["put", "-r", "-", "smb://h/s", "-v", "--", "-v", "-r"]).unwrap();
        assert!(a.recursive && a.verbose);
        assert_eq!(a.positional, ["put", "-", "smb://h/s", "-v", "-r"]);
        let a = parse(&["--recursive", "--verbose", "get"]).unwrap();
        assert!(a.recursive && a.verbose);
        let a = parse(&["get"]).unwrap();
        assert!(!a.recursive && !a.verbose);
        assert!(parse(&["get", "-x", "smb://h/s"]).is_none());
    }

    #[test]
    fn share_paths_take_either_separator_and_never_climb() {
        let url = SmbUrl::parse("smb://h/s/dir/f").ok().unwrap();
        let path = |p: &str| share_path(&url, p).ok().map(|u| u.path);
        assert_eq!(path("a/b\\c").as_deref(), Some("a\\b\\c"));
        assert_eq!(path("/./a//b").as_deref(), Some("a\\b"));
        assert_eq!(path("/./a//b/").as_deref(), Some("a\\b\\"));
        assert_eq!(path("a/b/.").as_deref(), Some("a\\b\\"));
        assert_eq!(path("a/../b"), None);
        assert_eq!(path("/"), None);
        assert_eq!(path("a\u{7}b"), None);
    }
}
