//! The `smb` binary against a private smbd: transfers checked byte for byte (on the
//! server's disk too), directory trees, listings, directory operations, error lines and
//! exit codes, local write failures, closed pipes, credentials, dialect caps, signing and
//! NetBIOS framing.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use smb_proto::url::SmbUrl;
use smb_tests::fixtures::{data, sha256};
use smb_tests::{SambaServer, Share, DEFAULT_PASSWORD};

/// The exit statuses `smb --help` documents.
const OTHER: i32 = 1;
const USAGE: i32 = 2;
const NOT_FOUND: i32 = 3;
const PERMISSION_DENIED: i32 = 4;
const AUTHENTICATION: i32 = 5;
const NETWORK: i32 = 6;
const PROTOCOL: i32 = 7;
const PARTIAL: i32 = 8;

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    /// Asserts success with nothing on stderr; returns stdout.
    fn ok(&self) -> &[u8] {
        assert_eq!(self.code, 0, "smb failed: {}", self.stderr);
        assert_eq!(self.stderr, "", "smb succeeded but wrote to stderr");
        &self.stdout
    }

    /// Asserts success; returns stdout as text.
    fn text(&self) -> String {
        String::from_utf8(self.ok().to_vec()).expect("stdout is UTF-8")
    }

    /// Asserts a failure reported as one `smb: ` line on stderr with `code`; returns it.
    fn fails(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "exit code; stderr: {}", self.stderr);
        let line = self
            .stderr
            .strip_suffix('\n')
            .expect("stderr ends in a newline");
        assert!(
            !line.contains('\n'),
            "more than one line: {:?}",
            self.stderr
        );
        assert!(line.starts_with("smb: "), "{line:?}");
        assert!(!line.contains(DEFAULT_PASSWORD), "password in {line:?}");
        line
    }
}

fn smb(args: &[&str]) -> Run {
    smb_with(args, None, None)
}

/// The binary with `args`, no `SMB_*` variables, stdin from /dev/null, stdout and
/// stderr piped.
fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smb"));
    cmd.args(args)
        .env_remove("SMB_PASSWORD")
        .env_remove("SMB_USER")
        .env_remove("SMB_DOMAIN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the binary with `stdin` (else /dev/null) and `SMB_PASSWORD` (else unset).
fn smb_with(args: &[&str], stdin: Option<&[u8]>, password: Option<&str>) -> Run {
    let mut cmd = command(args);
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    if let Some(p) = password {
        cmd.env("SMB_PASSWORD", p);
    }
    let mut child = cmd.spawn().expect("spawning smb");
    let out = std::thread::scope(|s| {
        if let (Some(mut pipe), Some(data)) = (child.stdin.take(), stdin) {
            // From another thread: a large input would otherwise fill the pipe while
            // smb's output fills the other one. A smb that exits without reading (a usage
            // error) breaks the pipe; a short read otherwise shows in the data's hash.
            s.spawn(move || {
                let _ = pipe.write_all(data);
            });
        }
        child.wait_with_output().expect("waiting for smb")
    });
    finished(out)
}

fn finished(out: std::process::Output) -> Run {
    let run = Run {
        code: out
            .status
            .code()
            .expect("smb exited, not killed by a signal"),
        stdout: out.stdout,
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    no_password_in(&run.stdout, &run.stderr);
    run
}

/// Every run's output is searched for the harness's password, plain and as a URL
/// writes it: smb never prints a password, wherever it came from.
fn no_password_in(stdout: &[u8], stderr: &str) {
    for secret in [DEFAULT_PASSWORD, "Sm0ke-Test%21pw"] {
        let found =
            stdout.windows(secret.len()).any(|w| w == secret.as_bytes()) || stderr.contains(secret);
        assert!(!found, "password in the output: {stderr}");
    }
}

/// Runs the binary, reads the first `n` bytes of its stdout and closes the pipe, as
/// `smb … | head -c N` does; returns those bytes and the run.
fn smb_head(args: &[&str], n: usize) -> (Vec<u8>, Run) {
    let mut child = command(args).spawn().expect("spawning smb");
    let mut head = vec![0; n];
    let mut stdout = child.stdout.take().expect("piped stdout");
    stdout.read_exact(&mut head).expect("reading smb's stdout");
    // Closed with no reader left: smb's next write fails with EPIPE.
    drop(stdout);
    (
        head,
        finished(child.wait_with_output().expect("waiting for smb")),
    )
}

fn server() -> SambaServer {
    SambaServer::builder().share(Share::new("share")).start()
}

/// A local scratch directory inside the server's own, removed with it.
fn local_dir(srv: &SambaServer) -> PathBuf {
    let dir = srv.conf_path().parent().expect("conf dir").join("local");
    std::fs::create_dir_all(&dir).expect("creating the local dir");
    dir
}

fn sha_of(path: &Path) -> [u8; 32] {
    sha256(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// One `ls` line: kind, size, mtime, name.
fn parse_ls_line(line: &str) -> (char, u64, String, String) {
    // The size is right-aligned and a name may hold spaces: split off the fields in turn.
    let kind = line.chars().next().expect("kind");
    let rest = line[1..].trim_start();
    let (size, rest) = rest.split_once(' ').expect("size");
    let (date, rest) = rest.split_once(' ').expect("date");
    let (time, rest) = rest.split_once(' ').expect("time");
    let (zone, name) = rest.split_once(' ').expect("time zone");
    assert_eq!(zone, "UTC", "times say their zone: {line:?}");
    (
        kind,
        size.parse().unwrap_or_else(|_| panic!("size in {line:?}")),
        format!("{date} {time}"),
        name.to_string(),
    )
}

fn ls(args: &[&str]) -> Vec<(char, u64, String, String)> {
    smb(args).text().lines().map(parse_ls_line).collect()
}

fn names(entries: &[(char, u64, String, String)]) -> Vec<&str> {
    entries.iter().map(|e| e.3.as_str()).collect()
}

/// `-vv` shows what the connection does, `-vvv` every request and response, RUST_LOG
/// picks the events itself; no flag, no log; never the password (every run is checked).
#[test]
fn verbose_levels_and_rust_log_show_the_librarys_events() {
    let srv = server();
    let url = srv.url("share");
    let quiet = smb(&["ls", &url]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(
        !quiet.stderr.contains("session established"),
        "{}",
        quiet.stderr
    );

    let v = smb(&["-vv", "ls", &url]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    for needle in ["negotiated", "session established", "tree connected"] {
        assert!(v.stderr.contains(needle), "{needle}: {}", v.stderr);
    }
    assert!(
        !v.stderr.contains("message_id="),
        "-vv shows no requests: {}",
        v.stderr
    );

    let vv = smb(&["-vvv", "ls", &url]);
    assert_eq!(vv.code, 0, "{}", vv.stderr);
    for needle in [
        "command=\"QUERY_DIRECTORY\"",
        "message_id=",
        "credits_granted=",
        "status=STATUS_SUCCESS",
    ] {
        assert!(vv.stderr.contains(needle), "{needle}: {}", vv.stderr);
    }

    let mut cmd = command(&["ls", &url]);
    cmd.env("RUST_LOG", "smb_proto=debug");
    let from_env = finished(cmd.output().expect("run smb"));
    assert!(
        from_env.stderr.contains("command=\"TREE_CONNECT\""),
        "{}",
        from_env.stderr
    );
}

#[test]
fn put_get_cat_and_ls_round_trip_bytes() {
    let srv = server();
    let url = srv.url("share");
    let disk = srv.share_path("share");
    let local = local_dir(&srv);

    // Several READ/WRITE requests and a short last one; then the empty file.
    for (name, content) in [("big.bin", data(3 << 20 | 12345, 1)), ("empty.bin", vec![])] {
        let src = local.join(name);
        std::fs::write(&src, &content).unwrap();
        let remote = format!("{url}/{name}");
        assert_eq!(smb(&["put", s(&src), &remote]).text(), "");
        assert_eq!(sha_of(&disk.join(name)), sha256(&content), "{name} on disk");

        let back = local.join(format!("{name}.back"));
        smb(&["get", &remote, s(&back)]).ok();
        assert_eq!(sha_of(&back), sha256(&content), "get {name}");
        let cat = smb(&["cat", &remote]);
        assert_eq!(sha256(cat.ok()), sha256(&content), "cat {name}");
    }

    // '-' is stdin for put and stdout for get.
    let piped = data(200_000, 2);
    smb_with(
        &["put", "-", &format!("{url}/piped.bin")],
        Some(&piped),
        None,
    )
    .ok();
    assert_eq!(sha_of(&disk.join("piped.bin")), sha256(&piped));
    let got = smb(&["get", &format!("{url}/piped.bin"), "-"]);
    assert_eq!(sha256(got.ok()), sha256(&piped));
    // Stdin has no name to keep.
    smb_with(&["put", "-", &format!("{url}/")], Some(b"x"), None).fails(USAGE);

    // A URL ending in '/' keeps the local name, spaces and non-ASCII included; a local
    // directory gets the remote name; percent-escapes in the URL decode.
    std::fs::create_dir(disk.join("sub")).unwrap();
    let odd = local.join("a b ü.txt");
    std::fs::write(&odd, b"odd name").unwrap();
    smb(&["put", s(&odd), &format!("{url}/sub/")]).ok();
    assert_eq!(
        std::fs::read(disk.join("sub/a b ü.txt")).unwrap(),
        b"odd name"
    );
    smb(&["put", s(&odd), &format!("{url}/")]).ok();
    assert_eq!(std::fs::read(disk.join("a b ü.txt")).unwrap(), b"odd name");
    let into = local.join("into");
    std::fs::create_dir(&into).unwrap();
    smb(&["get", &format!("{url}/sub/a%20b%20%C3%BC.txt"), s(&into)]).ok();
    assert_eq!(std::fs::read(into.join("a b ü.txt")).unwrap(), b"odd name");

    // A device is written in place, never replaced by a renamed temporary file.
    smb(&["get", &format!("{url}/big.bin"), "/dev/null"]).ok();
    let null = std::fs::metadata("/dev/null").unwrap().file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(&null));

    let entries = ls(&["ls", &format!("{url}/")]);
    assert_eq!(
        names(&entries),
        ["a b ü.txt", "big.bin", "empty.bin", "piped.bin", "sub"]
    );
    let size = |n: &str| entries.iter().find(|e| e.3 == n).map(|e| (e.0, e.1));
    assert_eq!(size("big.bin"), Some(('-', 3 << 20 | 12345)));
    assert_eq!(size("empty.bin"), Some(('-', 0)));
    assert_eq!(size("sub").map(|e| e.0), Some('d'));
    // The share's root reads the same with or without the trailing '/'.
    assert_eq!(ls(&["ls", &url]), entries);
}

#[test]
fn ls_and_stat_show_kind_size_time_and_filter_by_wildcard() {
    let srv = server();
    let url = srv.url("share");
    let dir = srv.share_path("share").join("dir");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for (name, len) in [
        ("one.txt", 5),
        ("two.txt", 7),
        ("three.log", 9),
        ("sp ace ü.txt", 1),
    ] {
        std::fs::write(dir.join(name), data(len, 3)).unwrap();
    }
    let touched = Command::new("touch")
        .args(["-d", "2001-02-03 04:05:06 UTC"])
        .arg(dir.join("one.txt"))
        .status()
        .expect("running touch");
    assert!(touched.success());

    let entries = ls(&["ls", &format!("{url}/dir")]);
    assert_eq!(
        entries,
        [
            ('-', 5, "2001-02-03 04:05:06".into(), "one.txt".into()),
            ('-', 1, entries[1].2.clone(), "sp ace ü.txt".into()),
            ('d', 0, entries[2].2.clone(), "sub".into()),
            ('-', 9, entries[3].2.clone(), "three.log".into()),
            ('-', 7, entries[4].2.clone(), "two.txt".into()),
        ]
    );
    let wild = ls(&["ls", &format!("{url}/dir/*.txt")]);
    assert_eq!(names(&wild), ["one.txt", "sp ace ü.txt", "two.txt"]);
    // Like ls(1), a file lists itself.
    assert_eq!(ls(&["ls", &format!("{url}/dir/one.txt")]), entries[..1]);

    let stat = smb(&["stat", &format!("{url}/dir/one.txt")]).text();
    for line in [
        "type:        file",
        "size:        5",
        "modified:    2001-02-03 04:05:06 UTC",
    ] {
        assert!(
            stat.lines().any(|l| l == line),
            "{line:?} missing in:\n{stat}"
        );
    }
    let stat = smb(&["stat", &format!("{url}/dir/sub")]).text();
    assert!(
        stat.lines().any(|l| l == "type:        directory"),
        "{stat}"
    );
}

#[test]
fn mkdir_rmdir_mv_and_wildcard_rm() {
    let srv = server();
    let url = srv.url("share");
    let disk = srv.share_path("share");

    smb(&["mkdir", &format!("{url}/new")]).ok();
    assert!(disk.join("new").is_dir());
    let line = smb(&["mkdir", &format!("{url}/new")])
        .fails(OTHER)
        .to_string();
    assert!(line.contains("STATUS_OBJECT_NAME_COLLISION"), "{line}");

    std::fs::write(disk.join("new/f"), b"x").unwrap();
    let line = smb(&["rmdir", &format!("{url}/new")])
        .fails(OTHER)
        .to_string();
    for part in ["STATUS_DIRECTORY_NOT_EMPTY", "new", "ENOTEMPTY"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    assert!(disk.join("new/f").exists());
    std::fs::remove_file(disk.join("new/f")).unwrap();
    smb(&["rmdir", &format!("{url}/new")]).ok();
    assert!(!disk.join("new").exists());

    // NEW_PATH share-relative (either separator), or a URL on the same share.
    std::fs::create_dir(disk.join("sub")).unwrap();
    std::fs::write(disk.join("a.txt"), b"moved").unwrap();
    smb(&["mv", &format!("{url}/a.txt"), "sub/b.txt"]).ok();
    assert!(!disk.join("a.txt").exists());
    assert_eq!(std::fs::read(disk.join("sub/b.txt")).unwrap(), b"moved");
    smb(&["mv", &format!("{url}/sub/b.txt"), &format!("{url}/c.txt")]).ok();
    assert_eq!(std::fs::read(disk.join("c.txt")).unwrap(), b"moved");
    smb(&["mv", &format!("{url}/c.txt"), "sub\\d.txt"]).ok();
    assert!(disk.join("sub/d.txt").exists());
    std::fs::write(disk.join("e.txt"), b"").unwrap();
    let line = smb(&["mv", &format!("{url}/e.txt"), "sub/d.txt"])
        .fails(OTHER)
        .to_string();
    assert!(line.contains("STATUS_OBJECT_NAME_COLLISION"), "{line}");
    assert_eq!(std::fs::read(disk.join("sub/d.txt")).unwrap(), b"moved");
    let elsewhere = srv.url("other") + "/x.txt";
    smb(&["mv", &format!("{url}/e.txt"), &elsewhere]).fails(USAGE);
    smb(&["mv", &format!("{url}/e.txt"), "../x.txt"]).fails(USAGE);
    assert!(disk.join("e.txt").exists());

    std::fs::create_dir(disk.join("logs")).unwrap();
    for name in ["a.log", "b.log", "c.txt", "d.log.bak", "alog"] {
        std::fs::write(disk.join("logs").join(name), b"").unwrap();
    }
    smb(&["rm", &format!("{url}/logs/*.log")]).ok();
    let mut left: Vec<_> = std::fs::read_dir(disk.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["alog", "c.txt", "d.log.bak"]);
    let line = smb(&["rm", &format!("{url}/logs/*.log")])
        .fails(NOT_FOUND)
        .to_string();
    assert!(line.contains("STATUS_NO_SUCH_FILE"), "{line}");
}

#[test]
fn errors_are_one_line_with_status_path_and_errno() {
    let srv = server();
    let url = srv.url("share");
    let local = local_dir(&srv);

    let line = smb(&["stat", &format!("{url}/no/such.txt")])
        .fails(NOT_FOUND)
        .to_string();
    for part in ["STATUS_OBJECT_PATH_NOT_FOUND", "no\\such.txt", "ENOENT"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    let cat = smb(&["cat", &format!("{url}/missing.txt")]);
    let line = cat.fails(NOT_FOUND);
    for part in ["STATUS_OBJECT_NAME_NOT_FOUND", "missing.txt", "ENOENT"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    assert!(cat.stdout.is_empty());

    // A failed get leaves nothing behind, and an existing LOCAL untouched.
    let out = local.join("out.bin");
    smb(&["get", &format!("{url}/missing.txt"), s(&out)]).fails(NOT_FOUND);
    let leftovers: Vec<_> = std::fs::read_dir(&local).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::write(&out, b"precious").unwrap();
    smb(&["get", &format!("{url}/missing.txt"), s(&out)]).fails(NOT_FOUND);
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    assert_eq!(std::fs::read_dir(&local).unwrap().count(), 1);

    // A local file that is not there, and a server that is not there.
    let line = smb(&["put", s(&local.join("nope")), &format!("{url}/")])
        .fails(NOT_FOUND)
        .to_string();
    assert!(line.contains("nope") && line.contains("ENOENT"), "{line}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let line = smb(&["ls", &format!("smb://127.0.0.1:{closed}/share")])
        .fails(NETWORK)
        .to_string();
    assert!(
        line.contains(&format!("127.0.0.1:{closed}")) && line.contains("ECONNREFUSED"),
        "{line}"
    );

    // Usage errors: exit code 2, still one line.
    for args in [
        &[][..],
        &["ls"],
        &["ls", "a", "b"],
        &["frob", "smb://h/s"],
        &["--bogus", "ls", "smb://h/s"],
        &["--signing", "maybe", "ls", "smb://h/s"],
        &["--max-dialect", "9.9", "ls", "smb://h/s"],
        &["--timeout"],
        &["ls", "http://h/s"],
        // (`ls smb://h` lists the server's shares now; `stat` still needs a share.)
        &["stat", "smb://h"],
        &["ls", "smb://h/s/../t"],
    ] {
        smb(args).fails(USAGE);
    }
    let help = smb(&["--help"]);
    assert!(help.text().starts_with("usage: smb"));
}

#[test]
fn wrong_password_names_user_and_server_and_never_the_password() {
    let srv = server();
    // '!', '@', ':' and '%' percent-encoded, as a URL needs them.
    let (plain, encoded) = ("Wr0ng!p@ss:w%rd", "Wr0ng%21p%40ss%3Aw%25rd");
    let bad = format!("smb://smbtest:{encoded}@127.0.0.1:{}/share", srv.port());
    let run = smb(&["ls", &bad]);
    let line = run.fails(AUTHENTICATION).to_string();
    for part in ["smbtest", "127.0.0.1", "STATUS_LOGON_FAILURE"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    // Nor may a URL the CLI rejects echo its password.
    let no_share = format!("smb://smbtest:{encoded}@127.0.0.1:{}", srv.port());
    let bad_port = format!("smb://smbtest:{encoded}@127.0.0.1:99999/share");
    for run in [run, smb(&["ls", &no_share]), smb(&["ls", &bad_port])] {
        let all = format!("{}{}", String::from_utf8_lossy(&run.stdout), run.stderr);
        for secret in [plain, encoded, "Wr0ng"] {
            assert!(!all.contains(secret), "password in output: {all}");
        }
    }
}

#[test]
fn password_from_environment_guest_and_harness_url() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .share(Share::new("pub").guest_ok())
        .start();
    std::fs::write(srv.share_path("share").join("f.txt"), b"x").unwrap();

    // The harness's URL and the parser agree on every part.
    let parsed = SmbUrl::parse(&srv.url("share")).expect("harness URL parses");
    assert_eq!(parsed.user.as_deref(), Some(srv.user()));
    assert_eq!(parsed.password(), Some(srv.password()));
    assert_eq!(parsed.host, srv.host());
    assert_eq!(parsed.port, Some(srv.port()));
    assert_eq!(parsed.share.as_deref(), Some("share"));
    assert_eq!(parsed.path, "");
    // Percent-encoding the '!' means the same password.
    let encoded = format!(
        "smb://smbtest:Sm0ke-Test%21pw@127.0.0.1:{}/share",
        srv.port()
    );
    assert_eq!(names(&ls(&["ls", &encoded])), ["f.txt"]);

    let no_password = format!("smb://smbtest@127.0.0.1:{}/share", srv.port());
    let run = smb_with(&["ls", &no_password], None, Some(srv.password()));
    assert_eq!(run.text().lines().count(), 1);
    let line = smb(&["ls", &no_password]).fails(AUTHENTICATION).to_string();
    assert!(line.contains("STATUS_LOGON_FAILURE"), "{line}");
    // A password in the URL wins over the environment.
    let run = smb_with(&["ls", &srv.url("share")], None, Some("wrong"));
    assert_eq!(run.text().lines().count(), 1);

    // No user: a guest, admitted to the guest share only.
    let guest = format!("smb://127.0.0.1:{}", srv.port());
    smb_with(
        &["put", "-", &format!("{guest}/pub/g.txt")],
        Some(b"guest"),
        None,
    )
    .ok();
    assert_eq!(
        std::fs::read(srv.share_path("pub").join("g.txt")).unwrap(),
        b"guest"
    );
    assert_eq!(names(&ls(&["ls", &format!("{guest}/pub")])), ["g.txt"]);
    let line = smb(&["ls", &format!("{guest}/share")])
        .fails(PERMISSION_DENIED)
        .to_string();
    assert!(line.contains("STATUS_ACCESS_DENIED"), "{line}");
}

#[test]
fn max_dialect_below_the_servers_minimum_fails_to_negotiate() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .min_dialect("SMB2_10")
        .start();
    let url = srv.url("share");
    let content = data(100_000, 4);
    smb_with(
        &["--max-dialect", "2.1", "put", "-", &format!("{url}/f")],
        Some(&content),
        None,
    )
    .ok();
    let got = smb(&["--max-dialect", "2.1", "cat", &format!("{url}/f")]);
    assert_eq!(sha256(got.ok()), sha256(&content));

    let line = smb(&["--max-dialect", "2.0.2", "ls", &url])
        .fails(PROTOCOL)
        .to_string();
    for part in ["negotiation failed", "STATUS_NOT_SUPPORTED"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    // Contradictory limits are caught before any packet is sent.
    smb(&["--min-dialect", "3.1.1", "--max-dialect", "3.0", "ls", &url]).fails(USAGE);
}

#[test]
fn required_signing_and_netbios_framing() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .signing_required()
        .start();
    let url = srv.url("share");
    let content = data(1 << 20, 5);
    for (i, opts) in [
        &["--signing", "required"][..],
        &["--netbios"],
        &["--netbios", "--signing", "required", "--max-dialect", "3.0"],
    ]
    .into_iter()
    .enumerate()
    {
        let remote = format!("{url}/f{i}");
        let put = [opts, &["put", "-", &remote]].concat();
        smb_with(&put, Some(&content), None).ok();
        assert_eq!(
            sha_of(&srv.share_path("share").join(format!("f{i}"))),
            sha256(&content)
        );
        let get = smb(&[opts, &["cat", &remote]].concat());
        assert_eq!(sha256(get.ok()), sha256(&content), "{opts:?}");
    }
}

/// The first byte smb sends to a listener that answers nothing: what only the framing
/// decides (0x81 opens a NetBIOS session, RFC 1002 4.3.2; 0x00 starts a direct-TCP frame,
/// MS-SMB2 2.1). The real exchanges run against Samba above.
fn first_byte_sent(opts: &[&str]) -> u8 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "smb://127.0.0.1:{}/share",
        listener.local_addr().unwrap().port()
    );
    std::thread::scope(|scope| {
        let client = scope.spawn(|| smb(&[opts, &["--timeout", "5", "ls", &url]].concat()));
        let (mut conn, _) = listener.accept().unwrap();
        let mut first = [0u8];
        std::io::Read::read_exact(&mut conn, &mut first).unwrap();
        drop(conn);
        client.join().unwrap().fails(NETWORK);
        first[0]
    })
}

#[test]
fn netbios_option_selects_the_framing() {
    assert_eq!(first_byte_sent(&["--netbios"]), 0x81);
    assert_eq!(first_byte_sent(&[]), 0x00);
}

/// Every file (with its SHA-256) and directory (`None`) under `root`, by relative path.
fn snapshot(root: &Path) -> BTreeMap<String, Option<[u8; 32]>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            let rel = s(path.strip_prefix(root).expect("below root")).to_string();
            if path.is_dir() {
                found.insert(rel, None);
                stack.push(path);
            } else {
                found.insert(rel, Some(sha_of(&path)));
            }
        }
    }
    found
}

/// 200 files of 0 B, 1 B, 4 KiB, 1 MiB + a little and odd sizes across nested
/// directories (one name with a space, one non-ASCII), plus two empty directories.
/// Returns the total byte count.
fn make_tree(root: &Path) -> u64 {
    let dirs = ["", "a", "a/b", "a/b/c", "a/b/c/d", "e f", "ü"];
    for d in dirs.iter().chain(&["empty", "a/b/empty too"]) {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let mut total = 0;
    for i in 0..200 {
        let len = match i % 10 {
            0 => 0,
            1 => 1,
            2 => 4096,
            3 if i < 40 => (1 << 20) + i,
            _ => i * 397,
        };
        let path = root.join(dirs[i % dirs.len()]).join(format!("f{i}.bin"));
        std::fs::write(path, data(len, i as u64)).unwrap();
        total += len as u64;
    }
    total
}

#[test]
fn recursive_put_and_get_round_trip_a_tree() {
    let srv = server();
    let url = srv.url("share");
    let disk = srv.share_path("share");
    let local = local_dir(&srv);
    let src = local.join("src");
    let total = make_tree(&src);
    let want = snapshot(&src);
    assert_eq!(want.values().filter(|v| v.is_some()).count(), 200);

    // Into a remote directory that does not exist yet, quietly.
    assert_eq!(
        smb(&["put", "-r", s(&src), &format!("{url}/tree")]).text(),
        ""
    );
    assert_eq!(
        snapshot(&disk.join("tree")),
        want,
        "server's disk after put -r"
    );

    // Into a local directory that does not exist yet; and the share's root, which holds
    // the tree and nothing else.
    let back = local.join("back");
    assert_eq!(
        smb(&["get", "-r", &format!("{url}/tree"), s(&back)]).text(),
        ""
    );
    assert_eq!(snapshot(&back), want, "local copy after get -r");
    let root = local.join("root");
    smb(&["get", "-r", &url, s(&root)]).ok();
    let mut expected: BTreeMap<_, _> = want
        .iter()
        .map(|(k, v)| (format!("tree/{k}"), *v))
        .collect();
    expected.insert("tree".into(), None);
    assert_eq!(snapshot(&root), expected, "local copy of the share's root");

    // Again into the now existing directories, overwriting, with a summary on stderr.
    std::fs::write(src.join("a/f1.bin"), b"changed").unwrap();
    // `SRC/.`: what SRC holds, into the existing directory itself (cp -r SRC/. DEST).
    let contents = format!("{}/.", s(&src));
    let run = smb(&["-v", "put", "-r", &contents, &format!("{url}/tree/")]);
    assert_eq!((run.code, run.stdout.len()), (0, 0), "{}", run.stderr);
    let summary = format!("put: 200 file(s), {} bytes in ", total - 1 + 7);
    assert!(
        run.stderr.starts_with(&summary) && run.stderr.lines().count() == 1,
        "{:?}",
        run.stderr
    );
    let run = smb(&[
        "get",
        "--recursive",
        "--verbose",
        &format!("{url}/tree/."),
        s(&back),
    ]);
    assert!(
        run.stderr.starts_with("get: 200 file(s), "),
        "{:?}",
        run.stderr
    );
    assert_eq!(snapshot(&back), snapshot(&src));
    assert_eq!(std::fs::read(back.join("a/f1.bin")).unwrap(), b"changed");
}

#[test]
fn recursive_transfer_errors_name_the_path() {
    let srv = server();
    let url = srv.url("share");
    let disk = srv.share_path("share");
    let local = local_dir(&srv);

    let missing = local.join("missing");
    let line = smb(&["get", "-r", &format!("{url}/no/dir"), s(&missing)])
        .fails(NOT_FOUND)
        .to_string();
    for part in ["no\\dir", "ENOENT"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    assert!(
        !missing.exists(),
        "get -r of a missing directory made a local one"
    );

    std::fs::write(disk.join("file.txt"), b"x").unwrap();
    let line = smb(&["get", "-r", &format!("{url}/file.txt"), s(&missing)])
        .fails(OTHER)
        .to_string();
    assert!(
        line.contains("file.txt") && line.contains("ENOTDIR"),
        "{line}"
    );

    let nope = local.join("nope");
    let line = smb(&["put", "-r", s(&nope), &format!("{url}/t")])
        .fails(NOT_FOUND)
        .to_string();
    assert!(line.contains(s(&nope)) && line.contains("ENOENT"), "{line}");

    // Locally: a directory whose parent is a file, and a file that cannot be written
    // (a link to /dev/full, as root ignores permission bits).
    std::fs::create_dir(disk.join("tree")).unwrap();
    std::fs::write(disk.join("tree/big.bin"), data(1 << 20, 6)).unwrap();
    let plain = local.join("plain");
    std::fs::write(&plain, b"").unwrap();
    let under_file = plain.join("sub");
    let line = smb(&["get", "-r", &format!("{url}/tree"), s(&under_file)])
        .fails(OTHER)
        .to_string();
    assert!(
        line.contains(s(&under_file)) && line.contains("ENOTDIR"),
        "{line}"
    );
    let dest = local.join("dest");
    std::fs::create_dir(&dest).unwrap();
    std::os::unix::fs::symlink("/dev/full", dest.join("big.bin")).unwrap();
    let line = smb(&["get", "-r", &format!("{url}/tree/."), s(&dest)])
        .fails(OTHER)
        .to_string();
    let big = dest.join("big.bin");
    assert!(line.contains(s(&big)) && line.contains("ENOSPC"), "{line}");

    // -r only where it means something; a tree has no stdin or stdout.
    smb(&["stat", "-r", &url]).fails(USAGE);
    smb(&["get", "-r", &format!("{url}/tree"), "-"]).fails(USAGE);
    smb(&["put", "-r", "-", &format!("{url}/tree")]).fails(USAGE);
}

#[test]
fn local_write_failures_name_the_local_path() {
    let srv = server();
    let url = srv.url("share");
    let disk = srv.share_path("share");
    let local = local_dir(&srv);
    // Past the 1 MiB write buffer (fails while downloading), and within it (on the flush).
    std::fs::write(disk.join("big.bin"), data(3 << 20, 7)).unwrap();
    std::fs::write(disk.join("small.bin"), b"small").unwrap();
    for name in ["big.bin", "small.bin"] {
        let line = smb(&["get", &format!("{url}/{name}"), "/dev/full"])
            .fails(OTHER)
            .to_string();
        assert!(
            line.contains("/dev/full") && line.contains("ENOSPC"),
            "{line}"
        );
    }

    let plain = local.join("plain");
    std::fs::write(&plain, b"").unwrap();
    let line = smb(&["get", &format!("{url}/small.bin"), s(&plain.join("x"))])
        .fails(OTHER)
        .to_string();
    assert!(
        line.contains(s(&plain.join("x"))) && line.contains("ENOTDIR"),
        "{line}"
    );
    assert!(
        !line.contains(".part"),
        "the file asked for, not the temporary: {line}"
    );
    // Reading: a directory opens but does not read.
    let line = smb(&["put", s(&local), &format!("{url}/d")])
        .fails(OTHER)
        .to_string();
    assert!(
        line.contains(s(&local)) && line.contains("EISDIR"),
        "{line}"
    );
}

#[test]
fn a_closed_stdout_ends_smb_quietly() {
    let srv = server();
    let url = srv.url("share");
    let content = data(8 << 20, 8);
    std::fs::write(srv.share_path("share").join("big.bin"), &content).unwrap();

    // Far more than a pipe holds, so smb is still writing when the reader goes.
    let (head, run) = smb_head(&["cat", &format!("{url}/big.bin")], 10);
    assert_eq!(head, content[..10]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    for args in [
        &["--help"][..],
        &["ls", &url],
        &["stat", &format!("{url}/big.bin")],
        &["get", &format!("{url}/big.bin"), "-"],
    ] {
        let (_, run) = smb_head(args, 0);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{args:?}");
    }

    // The pipelines themselves, with pipefail so smb's status counts.
    for (script, out) in [
        (r#""$0" cat "$1/big.bin" | head -c 10"#, &content[..10]),
        (r#""$0" --help | head -0"#, &[][..]),
    ] {
        let run = Command::new("bash")
            .args([
                "-o",
                "pipefail",
                "-c",
                script,
                env!("CARGO_BIN_EXE_smb"),
                &url,
            ])
            .output()
            .expect("running bash");
        assert!(run.status.success(), "{script}: {run:?}");
        assert_eq!(
            (&run.stdout[..], &run.stderr[..]),
            (out, &b""[..]),
            "{script}"
        );
    }
}

/// Names on the share's disk, sorted, below `dir`.
fn on_disk(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Each of these URLs once made a command act on another path than the one written
/// (`?` cut the path short; an escaped `/` became a separator on the server; a trailing
/// `/` was dropped), deleting files the user never named, with exit status 0.
#[test]
fn no_url_acts_on_another_path_than_the_one_written() {
    let srv = server();
    let url = srv.url("share");
    let disk = srv.share_path("share");
    std::fs::create_dir_all(disk.join("scratch/sub")).unwrap();
    std::fs::create_dir_all(disk.join("dir1")).unwrap();
    for f in [
        "report",
        "report1.txt",
        "report2.txt",
        "hello.txt",
        "a1.txt",
        "top.txt",
        "scratch/x",
        "scratch/y.txt",
        "dir1/z.txt",
    ] {
        std::fs::write(disk.join(f), b"keep").unwrap();
    }
    let root = on_disk(&disk);
    let scratch = on_disk(&disk.join("scratch"));

    // Refused before connecting: usage errors (2) that say why.
    for bad in [
        "report?.txt",
        "scratch/..%2Fhello.txt",
        "scratch/..%2F*",
        "scratch/x%2F..%2F..%2Fhello.txt",
        "dir1%2F..%2F*.txt",
        "a1.txt%2F",
        "scratch/*%2F",
        "scratch/..%5Chello.txt",
        "scratch/../hello.txt",
        "scratch/%2E%2E/hello.txt",
    ] {
        for cmd in ["rm", "ls", "stat", "cat", "rmdir", "mkdir"] {
            let line = smb(&[cmd, &format!("{url}/{bad}")])
                .fails(USAGE)
                .to_string();
            assert!(line.contains("bad URL"), "{cmd} {bad}: {line}");
        }
        let line = smb(&["get", &format!("{url}/{bad}"), "-"])
            .fails(USAGE)
            .to_string();
        assert!(line.contains("bad URL"), "get {bad}: {line}");
    }
    let line = smb(&["rm", &format!("{url}/report?.txt")])
        .fails(USAGE)
        .to_string();
    assert!(
        line.contains("%3F"),
        "the message says how to write a '?': {line}"
    );

    // A trailing separator names a directory: file commands refuse it.
    for dir_form in ["a1.txt/", "a1.txt/.", "scratch/*/"] {
        let line = smb(&["rm", &format!("{url}/{dir_form}")])
            .fails(OTHER)
            .to_string();
        assert!(line.contains("EISDIR"), "rm {dir_form}: {line}");
    }
    let line = smb(&["get", &format!("{url}/a1.txt/"), "-"])
        .fails(OTHER)
        .to_string();
    assert!(line.contains("EISDIR"), "{line}");
    for cmd in ["stat", "ls"] {
        let line = smb(&[cmd, &format!("{url}/a1.txt/")])
            .fails(OTHER)
            .to_string();
        assert!(line.contains("ENOTDIR"), "{cmd} a1.txt/: {line}");
    }
    assert_eq!(on_disk(&disk), root, "nothing deleted in the share root");
    assert_eq!(
        on_disk(&disk.join("scratch")),
        scratch,
        "nothing deleted in scratch"
    );

    // What the user meant, written as the help says: the '?' wildcard as %3F.
    smb(&["rm", &format!("{url}/report%3F.txt")]).ok();
    assert!(
        disk.join("report").exists(),
        "'report' does not match report?.txt"
    );
    assert!(!disk.join("report1.txt").exists() && !disk.join("report2.txt").exists());
    // A directory spelled as one lists and stats as before.
    let names_in = |u: &str| ls(&["ls", u]).into_iter().map(|e| e.3).collect::<Vec<_>>();
    assert_eq!(names_in(&format!("{url}/scratch/")), ["sub", "x", "y.txt"]);
    assert!(smb(&["stat", &format!("{url}/scratch/")])
        .text()
        .contains("directory"));
    // `mv FILE DIR/` moves into the directory, like mv(1).
    smb(&["mv", &format!("{url}/top.txt"), "scratch/sub/"]).ok();
    assert_eq!(on_disk(&disk.join("scratch/sub")), ["top.txt"]);
    smb(&["mv", &format!("{url}/hello.txt"), &format!("{url}/dir1/")]).ok();
    assert_eq!(on_disk(&disk.join("dir1")), ["hello.txt", "z.txt"]);
}

/// `--timeout 99999999999999999999` once panicked parsing it, and `--timeout 1e19`
/// panicked in the core adding it to an `Instant`; `nan`, `-1` and `0` were taken.
#[test]
fn timeouts_that_cannot_be_are_refused_and_huge_ones_work() {
    let srv = server();
    let url = srv.url("share");
    for bad in [
        "99999999999999999999",
        "1e309",
        "inf",
        "1e20",
        "nan",
        "-1",
        "0",
    ] {
        let line = smb(&["--timeout", bad, "ls", &url])
            .fails(USAGE)
            .to_string();
        assert!(line.contains("bad timeout"), "{bad}: {line}");
    }
    smb(&["--timeout", "1e19", "ls", &url]).ok();
    smb(&["--timeout", "0.5", "ls", &url]).ok();
}

/// A login the server turned into a guest session once failed with
/// "STATUS_SUCCESS … (EACCES)": it must say what happened and how to allow it, and the
/// CLI must have the flag the message names.
#[test]
fn a_login_mapped_to_guest_says_so_and_the_flag_it_names_allows_it() {
    let srv = SambaServer::builder()
        .share(Share::new("pub").guest_ok())
        .start();
    let url = format!("smb://nosuchuser:pw@127.0.0.1:{}/pub", srv.port());
    let line = smb(&["ls", &url]).fails(AUTHENTICATION).to_string();
    for part in [
        "only as a guest",
        "nosuchuser",
        "--allow-insecure-guest",
        "EACCES",
    ] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    assert!(!line.contains("STATUS_SUCCESS"), "{line}");
    smb(&["--allow-insecure-guest", "ls", &url]).ok();
}

/// A refused port once said only "Connection refused (os error 111)".
#[test]
fn connection_errors_name_their_target_and_errno() {
    let port = {
        // A port nothing listens on: bound, then closed.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let line = smb(&["ls", &format!("smb://127.0.0.1:{port}/share")])
        .fails(NETWORK)
        .to_string();
    assert!(
        line.contains(&format!("connecting to 127.0.0.1:{port}")) && line.contains("ECONNREFUSED"),
        "{line}"
    );
    // A server that accepts and never answers: a timeout, not a protocol violation.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let url = format!("smb://127.0.0.1:{port}/share");
    let line = smb(&["--timeout", "0.5", "ls", &url])
        .fails(NETWORK)
        .to_string();
    assert!(
        line.contains("NEGOTIATE") && line.contains("ETIMEDOUT"),
        "{line}"
    );
    drop(silent);
}

/// `put -r photos …/backup/photos` once failed with OBJECT_PATH_NOT_FOUND when `backup`
/// did not exist, and a symbolic link to a directory stopped it halfway.
#[test]
fn put_r_creates_missing_parents_and_follows_symbolic_links() {
    let srv = server();
    let url = srv.url("share");
    let disk = srv.share_path("share");
    let local = local_dir(&srv);
    let photos = local.join("photos");
    std::fs::create_dir_all(photos.join("2026")).unwrap();
    std::fs::write(photos.join("2026/a.jpg"), b"aaa").unwrap();
    let elsewhere = local.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("b.jpg"), b"bb").unwrap();
    std::os::unix::fs::symlink(&elsewhere, photos.join("linked")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("b.jpg"), photos.join("b-link.jpg")).unwrap();

    smb(&[
        "put",
        "-r",
        s(&photos),
        &format!("{url}/backup/2026/photos"),
    ])
    .ok();
    let remote = disk.join("backup/2026/photos");
    assert_eq!(std::fs::read(remote.join("2026/a.jpg")).unwrap(), b"aaa");
    assert_eq!(std::fs::read(remote.join("linked/b.jpg")).unwrap(), b"bb");
    assert_eq!(std::fs::read(remote.join("b-link.jpg")).unwrap(), b"bb");

    // A loop and a dangling link fail before anything is uploaded.
    std::os::unix::fs::symlink(&photos, photos.join("2026/loop")).unwrap();
    let line = smb(&["put", "-r", s(&photos), &format!("{url}/again")])
        .fails(OTHER)
        .to_string();
    assert!(line.contains("loop"), "{line}");
    std::fs::remove_file(photos.join("2026/loop")).unwrap();
    std::os::unix::fs::symlink(local.join("gone"), photos.join("dangling")).unwrap();
    let line = smb(&["put", "-r", s(&photos), &format!("{url}/again")])
        .fails(NOT_FOUND)
        .to_string();
    assert!(
        line.contains("dangling") && line.contains("ENOENT"),
        "{line}"
    );
    assert!(!disk.join("again").exists(), "nothing uploaded");
}

#[test]
fn mkdir_p_creates_parents_and_accepts_an_existing_directory() {
    let srv = server();
    let url = srv.url("share");
    let disk = srv.share_path("share");
    smb(&["mkdir", "-p", &format!("{url}/a/b/c")]).ok();
    assert!(disk.join("a/b/c").is_dir());
    smb(&["mkdir", "-p", &format!("{url}/a/b")]).ok();
    let line = smb(&["mkdir", &format!("{url}/x/y")])
        .fails(NOT_FOUND)
        .to_string();
    assert!(
        line.contains("ENOENT"),
        "without -p a missing parent fails: {line}"
    );
    std::fs::write(disk.join("a/file"), b"").unwrap();
    let line = smb(&["mkdir", "-p", &format!("{url}/a/file/d")])
        .fails(OTHER)
        .to_string();
    assert!(line.contains("ENOTDIR"), "{line}");
    smb(&["rm", "-p", &format!("{url}/a/file")]).fails(USAGE);
}

/// `ls` of a pattern that matched nothing once succeeded while `rm` failed: both now
/// fail like a shell's, and an empty directory still lists nothing successfully.
#[test]
fn a_pattern_that_matches_nothing_fails_for_ls_and_rm_alike() {
    let srv = server();
    let url = srv.url("share");
    std::fs::create_dir(srv.share_path("share").join("empty")).unwrap();
    assert_eq!(smb(&["ls", &format!("{url}/empty")]).text(), "");
    for cmd in ["ls", "rm"] {
        let line = smb(&[cmd, &format!("{url}/empty/*.txt")])
            .fails(NOT_FOUND)
            .to_string();
        assert!(line.contains("ENOENT"), "{cmd}: {line}");
    }
}

/// Ctrl-C during a get once left LOCAL.part behind.
#[test]
fn ctrl_c_during_a_get_leaves_no_partial_file() {
    let srv = server();
    std::fs::write(srv.share_path("share").join("big.bin"), data(256 << 20, 5)).unwrap();
    let local = local_dir(&srv).join("big.bin");
    let part = local.with_extension("bin.part");
    let mut child = command(&["get", &format!("{}/big.bin", srv.url("share")), s(&local)])
        .spawn()
        .expect("spawning smb");
    let started = std::time::Instant::now();
    while !part.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no download began"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // Freeze the server so the download is surely in progress when the signal comes.
    srv.pause();
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let status = child.wait().expect("waiting for smb");
    srv.resume();
    assert_eq!(status.code(), Some(130), "exits as interrupted");
    assert!(!part.exists(), "LOCAL.part removed");
    assert!(!local.exists(), "no half-written LOCAL");
}

// ---------------------------------------------------------------------------------------
// The commands of "the smb command as people expect it": shares, ls -l/-a/-r, JSON,
// exit statuses, credentials, progress, atomic uploads, cp, snapshots, acl, echo, help.

/// The binary with extra environment variables.
fn smb_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = command(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    finished(cmd.output().expect("running smb"))
}

/// What stderr says as one JSON object.
fn json_error(run: &Run) -> serde_json::Value {
    let line = run.stderr.trim_end();
    assert!(!line.contains('\n'), "one line: {:?}", run.stderr);
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

/// The sorted keys of a JSON object.
fn keys(v: &serde_json::Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn stdout_json(run: &Run) -> serde_json::Value {
    serde_json::from_slice(run.ok()).expect("stdout is JSON")
}

const ERROR_KEYS: [&str; 11] = [
    "command",
    "errno",
    "errno_code",
    "exit_code",
    "kind",
    "message",
    "op",
    "path",
    "status",
    "status_code",
    "transfer",
];

const ENTRY_KEYS: [&str; 11] = [
    "accessed",
    "allocation_size",
    "attribute_names",
    "attributes",
    "changed",
    "created",
    "modified",
    "name",
    "path",
    "size",
    "type",
];

/// `args` run by `script` under a pseudo-terminal (stdin, stdout and stderr all the
/// terminal), with `env`; when `answer` is given, it is typed once `prompt` appears.
/// Returns the exit status and everything the terminal showed.
fn in_pty(args: &[&str], env: &[(&str, &str)], answer: Option<(&str, &str)>) -> (i32, String) {
    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let line = std::iter::once(env!("CARGO_BIN_EXE_smb"))
        .chain(args.iter().copied())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("script");
    cmd.args(["-qfec", &line, "/dev/null"])
        .env_remove("SMB_PASSWORD")
        .env_remove("SMB_USER")
        .env_remove("SMB_DOMAIN")
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("running script (util-linux)");
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    if let Some((prompt, typed)) = answer {
        // Typed only once the prompt shows: the terminal echoes what arrives before
        // smb turns echo off, which would be the test's fault, not smb's.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !String::from_utf8_lossy(&seen).contains(prompt) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => seen.extend(chunk),
                Err(_) => panic!("no prompt: {}", String::from_utf8_lossy(&seen)),
            }
        }
        // The prompt is written before echo goes off: give smb a moment to turn it off.
        std::thread::sleep(std::time::Duration::from_millis(300));
        if let Some(mut input) = stdin.take() {
            input.write_all(format!("{typed}\n").as_bytes()).unwrap();
            input.flush().unwrap();
            // Kept open until smb exits: script ends the session at end of input.
            let status = child.wait().expect("waiting for script");
            reader.join().unwrap();
            seen.extend(rx.try_iter().flatten());
            drop(input);
            let text = String::from_utf8_lossy(&seen).into_owned();
            no_password_in(&[], &text);
            return (status.code().unwrap_or(-1), text);
        }
    }
    let status = child.wait().expect("waiting for script");
    drop(stdin);
    reader.join().unwrap();
    seen.extend(rx.try_iter().flatten());
    let text = String::from_utf8_lossy(&seen).into_owned();
    no_password_in(&[], &text);
    (status.code().unwrap_or(-1), text)
}

#[test]
fn shares_and_ls_of_a_server_list_the_shares_in_text_and_json() {
    let srv = server();
    let base = format!(
        "smb://{}:{}@127.0.0.1:{}",
        srv.user(),
        "Sm0ke-Test%21pw",
        srv.port()
    );
    let text = smb(&["shares", &base]).text();
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(lines.iter().any(|l| l[..2] == ["share", "disk"]), "{text}");
    assert!(lines.iter().any(|l| l[..2] == ["IPC$", "ipc"]), "{text}");
    // `ls` of a server URL, with or without the trailing '/', is the same listing.
    assert_eq!(smb(&["ls", &format!("{base}/")]).text(), text);
    assert_eq!(smb(&["ls", &base]).text(), text);

    let json = stdout_json(&smb(&["shares", "--json", &base]));
    let shares = json.as_array().expect("an array");
    for s in shares {
        assert_eq!(keys(s), ["comment", "name", "special", "temporary", "type"]);
    }
    let share = shares.iter().find(|s| s["name"] == "share").expect("share");
    assert_eq!(
        (&share["type"], &share["special"]),
        (&"disk".into(), &false.into())
    );
    let ipc = shares.iter().find(|s| s["name"] == "IPC$").expect("IPC$");
    assert_eq!(ipc["type"], "ipc");
}

#[test]
fn ls_long_all_recursive_and_json_and_stat_json() {
    let srv = server();
    let url = srv.url("share");
    let dir = srv.share_path("share").join("dir");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::create_dir_all(dir.join(".hdir")).unwrap();
    std::fs::write(dir.join("a.txt"), b"hello").unwrap();
    std::fs::write(dir.join(".hidden"), b"h").unwrap();
    std::fs::write(dir.join(".hdir/inside"), b"i").unwrap();
    std::fs::write(dir.join("sub/b.bin"), data(3 << 20, 9)).unwrap();
    let touched = Command::new("touch")
        .args(["-d", "2001-02-03 04:05:06 UTC"])
        .arg(dir.join("a.txt"))
        .status()
        .expect("running touch");
    assert!(touched.success());
    let d = format!("{url}/dir");

    // Hidden files (Samba marks dot files hidden) only with -a.
    assert_eq!(names(&ls(&["ls", &d])), ["a.txt", "sub"]);
    assert_eq!(
        names(&ls(&["ls", "-a", &d])),
        [".hdir", ".hidden", "a.txt", "sub"]
    );
    // -r: paths below the directory; nothing below a hidden directory without -a.
    assert_eq!(names(&ls(&["ls", "-r", &d])), ["a.txt", "sub", "sub/b.bin"]);
    assert_eq!(
        names(&ls(&["ls", "-ra", &d])),
        [
            ".hdir",
            ".hdir/inside",
            ".hidden",
            "a.txt",
            "sub",
            "sub/b.bin"
        ]
    );

    // -l: attributes, binary units, the time in UTC.
    let long = smb(&["ls", "-l", "-r", &d]).text();
    let fields: Vec<Vec<&str>> = long
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        fields[0],
        ["-----", "5", "B", "2001-02-03", "04:05:06", "UTC", "a.txt"],
        "{long}"
    );
    assert_eq!(fields[1][0], "d----", "{long}");
    assert_eq!(fields[2][1..3], ["3.0", "MiB"], "{long}");
    assert_eq!(
        smb(&["ls", "-l", "-a", &d])
            .text()
            .lines()
            .next()
            .map(|l| &l[..5]),
        Some("d-h--")
    );

    let json = stdout_json(&smb(&["ls", "--json", "-r", &d]));
    let entries = json.as_array().expect("an array");
    assert_eq!(entries.len(), 3);
    for e in entries {
        assert_eq!(keys(e), ENTRY_KEYS);
    }
    let a = &entries[0];
    assert_eq!(
        (&a["name"], &a["path"], &a["type"]),
        (&"a.txt".into(), &"a.txt".into(), &"file".into())
    );
    assert_eq!(
        (&a["size"], &a["modified"]),
        (&5.into(), &"2001-02-03T04:05:06Z".into())
    );
    assert!(entries[1]["attribute_names"]
        .as_array()
        .unwrap()
        .contains(&"directory".into()));
    assert_eq!(
        (&entries[1]["type"], &entries[2]["path"]),
        (&"directory".into(), &"sub/b.bin".into())
    );

    let stat = stdout_json(&smb(&["stat", "--json", &format!("{d}/a.txt")]));
    assert_eq!(keys(&stat), ENTRY_KEYS);
    assert_eq!(
        (&stat["path"], &stat["name"], &stat["size"]),
        (&"dir/a.txt".into(), &"a.txt".into(), &5.into())
    );
}

/// Every exit status `smb --help` documents, each from a real case, and the JSON error
/// that says the same.
#[test]
fn exit_statuses_tell_failures_apart_and_json_errors_say_the_same() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .share(Share::new("pub").guest_ok())
        // Files here are read as `nobody`, so a mode-000 file is one the server refuses.
        .share(Share::new("nobody").option("force user", "nobody"))
        .min_dialect("SMB2_10")
        .start();
    let url = srv.url("share");
    std::fs::create_dir(srv.share_path("share").join("dir")).unwrap();
    let tree = srv.share_path("nobody").join("tree");
    std::fs::create_dir(&tree).unwrap();
    for name in ["a.bin", "b.bin", "c.bin"] {
        std::fs::write(tree.join(name), data(100_000, 1)).unwrap();
    }
    let mut mode = std::fs::metadata(tree.join("b.bin")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o000);
    std::fs::set_permissions(tree.join("b.bin"), mode).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let local = local_dir(&srv);
    let guest = format!("smb://127.0.0.1:{}", srv.port());
    let wrong = format!("smb://{}:wrong@127.0.0.1:{}/share", srv.user(), srv.port());

    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec!["mkdir".into(), format!("{url}/dir")],
            OTHER,
            "already_exists",
        ),
        (vec!["ls".into()], USAGE, "usage"),
        (
            vec!["stat".into(), format!("{url}/missing.txt")],
            NOT_FOUND,
            "not_found",
        ),
        (
            vec!["ls".into(), format!("{guest}/share")],
            PERMISSION_DENIED,
            "permission_denied",
        ),
        (
            vec!["ls".into(), wrong],
            AUTHENTICATION,
            "authentication_failed",
        ),
        (
            vec!["ls".into(), format!("smb://127.0.0.1:{closed}/share")],
            NETWORK,
            "disconnected",
        ),
        (
            vec![
                "--max-dialect".into(),
                "2.0.2".into(),
                "ls".into(),
                url.clone(),
            ],
            PROTOCOL,
            "protocol_violation",
        ),
    ];
    for (args, code, kind) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        smb(&args).fails(*code);
        let run = smb(&[&["--json"], &args[..]].concat());
        assert_eq!(run.code, *code, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
        let e = json_error(&run);
        assert_eq!(keys(&e), ERROR_KEYS, "{e}");
        assert_eq!(
            (e["exit_code"].as_i64(), e["kind"].as_str()),
            (Some(i64::from(*code)), Some(*kind)),
            "{e}"
        );
        let command = if args[0] == "--max-dialect" {
            "ls"
        } else {
            args[0]
        };
        // (A usage error is found before any command is understood.)
        let expected = if *code == USAGE { "" } else { command };
        assert_eq!(e["command"], expected, "{e}");
    }
    let e = json_error(&smb(&["--json", "stat", &format!("{url}/missing.txt")]));
    assert_eq!(
        (
            &e["op"],
            &e["path"],
            &e["status"],
            &e["status_code"],
            &e["errno"],
            &e["errno_code"]
        ),
        (
            &"stat".into(),
            &"missing.txt".into(),
            &"STATUS_OBJECT_NAME_NOT_FOUND".into(),
            &0xc000_0034_u32.into(),
            &"ENOENT".into(),
            &2.into()
        )
    );
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("STATUS_OBJECT_NAME_NOT_FOUND"));
    assert!(e["transfer"].is_null());

    // A tree download with one file the server refuses: the others arrive, the refused
    // one leaves nothing (not even a .part), and stderr lists both.
    let back = local.join("back");
    let nobody = srv.url("nobody");
    let run = smb(&["get", "-r", &format!("{nobody}/tree"), s(&back)]);
    assert_eq!(run.code, PARTIAL, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[0].contains("STATUS_ACCESS_DENIED")
            && lines[0].ends_with("(2 of 3 files transferred)"),
        "{lines:?}"
    );
    assert!(lines.contains(&"smb: failed: tree\\b.bin: get tree\\b.bin: STATUS_ACCESS_DENIED (0xc0000022) (EACCES)"), "{lines:?}");
    for made_it in ["a.bin", "c.bin"] {
        assert!(
            lines.contains(&format!("smb: transferred: tree\\{made_it}").as_str()),
            "{lines:?}"
        );
    }
    assert_eq!(on_disk(&back), ["a.bin", "c.bin"]);
    let run = smb(&[
        "--json",
        "get",
        "-r",
        &format!("{nobody}/tree/."),
        s(&local.join("again")),
    ]);
    assert_eq!(run.code, PARTIAL);
    let e = json_error(&run);
    assert_eq!(
        (&e["kind"], &e["exit_code"]),
        (&"partial".into(), &PARTIAL.into())
    );
    let t = &e["transfer"];
    assert_eq!(keys(t), ["failed", "not_attempted", "total", "transferred"]);
    assert_eq!((&t["total"], &t["not_attempted"]), (&3.into(), &0.into()));
    assert_eq!(t["failed"][0]["path"], "tree\\b.bin");
    let mut made: Vec<&str> = t["transferred"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    made.sort_unstable();
    assert_eq!(made, ["tree\\a.bin", "tree\\c.bin"]);
    assert_eq!(on_disk(&local.join("again")), ["a.bin", "c.bin"]);

    // Usage errors in JSON too, even when the arguments did not parse.
    let e = json_error(&smb(&["--json", "frob"]));
    assert_eq!(
        (&e["kind"], &e["exit_code"], &e["status"]),
        (&"usage".into(), &USAGE.into(), &serde_json::Value::Null)
    );
}

#[test]
fn credentials_from_flags_environment_auth_file_and_prompt() {
    let srv = server();
    std::fs::write(srv.share_path("share").join("f.txt"), b"x").unwrap();
    let no_user = format!("smb://127.0.0.1:{}/share", srv.port());
    let with_user = format!("smb://{}@127.0.0.1:{}/share", srv.user(), srv.port());
    let wrong_in_url = format!("smb://{}:wrong@127.0.0.1:{}/share", srv.user(), srv.port());
    let pw = srv.password();
    let listed = |run: Run| {
        assert_eq!(
            names(&run.text().lines().map(parse_ls_line).collect::<Vec<_>>()),
            ["f.txt"]
        )
    };

    // -U in smbclient's forms; the flag's password beats the URL's.
    let user_pw = format!("{}%{pw}", srv.user());
    listed(smb(&["ls", "-U", &user_pw, &no_user]));
    listed(smb(&[
        "-U",
        &format!("WORKGROUP\\{user_pw}"),
        "ls",
        &no_user,
    ]));
    listed(smb(&["ls", "-U", &user_pw, &wrong_in_url]));
    // -U's user with the environment's password; all from the environment.
    listed(smb_env(
        &["ls", "-U", srv.user(), &no_user],
        &[("SMB_PASSWORD", pw)],
    ));
    listed(smb_env(
        &["ls", &no_user],
        &[("SMB_USER", srv.user()), ("SMB_PASSWORD", pw)],
    ));
    // The URL's password beats the environment's.
    smb_env(&["ls", &wrong_in_url], &[("SMB_PASSWORD", pw)]).fails(AUTHENTICATION);

    // An authentication file in smbclient's format; -U beats it.
    let local = local_dir(&srv);
    let auth = local.join("auth");
    std::fs::write(
        &auth,
        format!(
            "username = {}\npassword = {pw}\ndomain = WORKGROUP\n",
            srv.user()
        ),
    )
    .unwrap();
    listed(smb(&["ls", "-A", s(&auth), &no_user]));
    let bad_auth = local.join("bad-auth");
    std::fs::write(
        &bad_auth,
        format!("username = {}\npassword = wrong\n", srv.user()),
    )
    .unwrap();
    smb(&["ls", "-A", s(&bad_auth), &no_user]).fails(AUTHENTICATION);
    listed(smb(&["ls", "-A", s(&bad_auth), "-U", &user_pw, &no_user]));
    smb(&["ls", "-A", s(&local.join("none")), &no_user]).fails(NOT_FOUND);
    let line = smb(&["ls", "-A", s(&auth), "--nt-hash", "0011zz", &no_user])
        .fails(USAGE)
        .to_string();
    assert!(!line.contains("0011zz"), "{line}");

    // No password anywhere and a terminal: a prompt, with echo off.
    let (code, screen) = in_pty(&["ls", &with_user], &[], Some(("Password for ", pw)));
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains(&format!("Password for {}@127.0.0.1: ", srv.user())),
        "{screen}"
    );
    assert!(screen.contains("f.txt"), "{screen}");
    // -N: no prompt, an empty password.
    let (code, screen) = in_pty(&["ls", "-N", &with_user], &[], None);
    assert_eq!(code, AUTHENTICATION, "{screen}");
    assert!(!screen.contains("Password for"), "{screen}");
    // Without a terminal, no prompt either (the existing behaviour: an empty password).
    smb(&["ls", &with_user]).fails(AUTHENTICATION);

    // Secrets the parser stumbles on are not echoed in its errors.
    let run = smb(&[
        "ls",
        &format!("smb://u:{pw}@h/s"),
        &format!("smb://u:{pw}@h/t"),
    ]);
    assert_eq!(run.code, USAGE);
    assert!(run.stderr.contains("***"), "{}", run.stderr);
}

#[test]
fn a_progress_bar_on_a_terminal_and_nowhere_else() {
    let srv = server();
    let url = srv.url("share");
    let local = local_dir(&srv);
    let big = local.join("big.bin");
    std::fs::write(&big, data(8 << 20, 4)).unwrap();
    let tree = local.join("tree");
    make_tree(&tree);

    let (code, screen) = in_pty(&["put", s(&big), &format!("{url}/big.bin")], &[], None);
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("big.bin") && screen.contains("MiB") && screen.contains("ETA"),
        "{screen:?}"
    );
    let (code, screen) = in_pty(
        &["get", &format!("{url}/big.bin"), s(&local.join("back.bin"))],
        &[],
        None,
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("8.00 MiB") && screen.contains("ETA"),
        "{screen:?}"
    );
    let (code, screen) = in_pty(&["put", "-r", s(&tree), &format!("{url}/tree")], &[], None);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("/200 files"), "{screen:?}");
    let (code, screen) = in_pty(
        &[
            "get",
            "-r",
            &format!("{url}/tree"),
            s(&local.join("tree-back")),
        ],
        &[],
        None,
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("200/200 files") || screen.contains("/200 files"),
        "{screen:?}"
    );
    assert_eq!(snapshot(&local.join("tree-back")), snapshot(&tree));
    // --quiet on a terminal: nothing.
    let (code, screen) = in_pty(
        &[
            "-q",
            "get",
            &format!("{url}/big.bin"),
            s(&local.join("q.bin")),
        ],
        &[],
        None,
    );
    assert_eq!((code, screen.as_str()), (0, ""));

    // Not a terminal: nothing (Run::ok checks stderr is empty), unless --progress.
    smb(&["get", &format!("{url}/big.bin"), s(&local.join("b2.bin"))]).ok();
    let run = smb(&[
        "--progress",
        "get",
        &format!("{url}/big.bin"),
        s(&local.join("b3.bin")),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("ETA"), "{:?}", run.stderr);
    assert_eq!(sha_of(&local.join("b3.bin")), sha_of(&big));
}

#[test]
fn put_atomic_replaces_the_target_only_when_the_upload_is_complete() {
    let srv = server();
    let url = srv.url("share");
    let disk = srv.share_path("share");
    let local = local_dir(&srv);
    std::fs::write(disk.join("t.bin"), b"old").unwrap();
    let new = local.join("new.bin");
    std::fs::write(&new, data(2 << 20, 6)).unwrap();
    smb(&["put", "--atomic", s(&new), &format!("{url}/t.bin")]).ok();
    assert_eq!(sha_of(&disk.join("t.bin")), sha_of(&new));
    assert_eq!(on_disk(&disk), ["t.bin"], "no temporary left");
    // A local read failure (a directory) part-way: the target is untouched, no temporary.
    std::fs::write(disk.join("t.bin"), b"old").unwrap();
    let line = smb(&["put", "--atomic", s(&local), &format!("{url}/t.bin")])
        .fails(OTHER)
        .to_string();
    assert!(line.contains("EISDIR"), "{line}");
    assert_eq!(std::fs::read(disk.join("t.bin")).unwrap(), b"old");
    assert_eq!(on_disk(&disk), ["t.bin"]);
    // From stdin too.
    smb_with(
        &["put", "--atomic", "-", &format!("{url}/t.bin")],
        Some(b"piped"),
        None,
    )
    .ok();
    assert_eq!(std::fs::read(disk.join("t.bin")).unwrap(), b"piped");
}

#[test]
fn cp_mv_f_rm_r_and_echo() {
    let srv = server();
    let url = srv.url("share");
    let disk = srv.share_path("share");
    std::fs::create_dir(disk.join("d")).unwrap();
    let content = data(3 << 20 | 7, 2);
    std::fs::write(disk.join("a.bin"), &content).unwrap();

    // A server-side copy (Samba does them), and -v says so after the summary.
    let run = smb(&["-v", "cp", &format!("{url}/a.bin"), "b.bin"]);
    assert_eq!((run.code, run.stdout.len()), (0, 0), "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{:?}", run.stderr);
    let summary = format!("cp: 1 file(s), {} bytes in ", content.len());
    assert!(lines[0].starts_with(&summary), "{:?}", run.stderr);
    assert!(
        lines[1].starts_with("cp: server-side copy"),
        "{:?}",
        run.stderr
    );
    assert_eq!(sha_of(&disk.join("b.bin")), sha256(&content));
    let line = smb(&["cp", &format!("{url}/a.bin"), "b.bin"])
        .fails(OTHER)
        .to_string();
    assert!(line.contains("-f") && line.contains("EEXIST"), "{line}");
    std::fs::write(disk.join("b.bin"), b"x").unwrap();
    smb(&["cp", "-f", &format!("{url}/a.bin"), &format!("{url}/b.bin")]).ok();
    assert_eq!(sha_of(&disk.join("b.bin")), sha256(&content));
    // Into a directory, named as one or not.
    smb(&["cp", &format!("{url}/a.bin"), "d"]).ok();
    assert_eq!(sha_of(&disk.join("d/a.bin")), sha256(&content));
    smb(&["cp", &format!("{url}/a.bin"), "../x"]).fails(USAGE);
    smb(&["cp", &format!("{url}/a.bin"), "a.bin"]).fails(USAGE);
    assert_eq!(on_disk(&disk), ["a.bin", "b.bin", "d"], "no temporary left");

    // mv refuses to replace without -f, replaces with it; into a directory like mv(1).
    std::fs::write(disk.join("c.txt"), b"c").unwrap();
    smb(&["mv", &format!("{url}/c.txt"), "b.bin"]).fails(OTHER);
    smb(&["mv", "-f", &format!("{url}/c.txt"), "b.bin"]).ok();
    assert_eq!(std::fs::read(disk.join("b.bin")).unwrap(), b"c");
    smb(&["mv", &format!("{url}/b.bin"), "d"]).ok();
    assert_eq!(on_disk(&disk.join("d")), ["a.bin", "b.bin"]);

    // rm -r removes matching directories with what they hold; rm alone does not.
    std::fs::create_dir_all(disk.join("logs/old/deeper")).unwrap();
    std::fs::write(disk.join("logs/old/deeper/x.log"), b"").unwrap();
    std::fs::write(disk.join("logs/keep.txt"), b"").unwrap();
    smb(&["rm", &format!("{url}/logs/old")]).fails(OTHER);
    smb(&["rm", "-r", &format!("{url}/logs/ol*")]).ok();
    assert_eq!(on_disk(&disk.join("logs")), ["keep.txt"]);

    let out = smb(&["echo", "-c", "2", &srv.url("share")]).text();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[1].starts_with(&format!(
            "ECHO reply from 127.0.0.1:{}: seq=2 time=",
            srv.port()
        )),
        "{out}"
    );
}

/// `put -r` and `get -r` follow cp -r: a destination that exists receives the source
/// inside it.
#[test]
fn tree_transfers_follow_cp_r() {
    let srv = server();
    let url = srv.url("share");
    let disk = srv.share_path("share");
    let local = local_dir(&srv);
    let photos = local.join("photos");
    std::fs::create_dir_all(photos.join("sub")).unwrap();
    std::fs::write(photos.join("sub/p.jpg"), b"p").unwrap();
    std::fs::create_dir(disk.join("backup")).unwrap();
    smb(&["put", "-r", s(&photos), &format!("{url}/backup")]).ok();
    assert_eq!(
        std::fs::read(disk.join("backup/photos/sub/p.jpg")).unwrap(),
        b"p"
    );
    smb(&[
        "put",
        "-r",
        &format!("{}/.", s(&photos)),
        &format!("{url}/backup"),
    ])
    .ok();
    assert_eq!(on_disk(&disk.join("backup")), ["photos", "sub"]);

    let restore = local.join("restore");
    std::fs::create_dir(&restore).unwrap();
    smb(&["get", "-r", &format!("{url}/backup/photos"), s(&restore)]).ok();
    assert_eq!(
        std::fs::read(restore.join("photos/sub/p.jpg")).unwrap(),
        b"p"
    );
    // Without LOCAL, into the current directory.
    let run = finished(
        command(&["get", "-r", &format!("{url}/backup/sub")])
            .current_dir(&restore)
            .output()
            .unwrap(),
    );
    run.ok();
    assert_eq!(std::fs::read(restore.join("sub/p.jpg")).unwrap(), b"p");
    // A remote file where a directory is needed.
    std::fs::write(disk.join("plain"), b"").unwrap();
    smb(&["put", "-r", s(&photos), &format!("{url}/plain")]).fails(OTHER);
}

#[test]
fn snapshots_and_acl_in_text_and_json() {
    let srv = SambaServer::builder()
        .share(
            Share::new("snap")
                .option("vfs objects", "shadow_copy2")
                .option("shadow:snapdir", ".snapshots")
                .option("shadow:snapdirseverywhere", "yes")
                .option("shadow:format", "@GMT-%Y.%m.%d-%H.%M.%S")
                .option("shadow:sort", "desc"),
        )
        .share(Share::new("share"))
        .start();
    let root = srv.share_path("snap");
    let tokens = ["@GMT-2026.03.15-08.00.05", "@GMT-2026.01.01-00.00.00"];
    for token in tokens {
        let docs = root.join(".snapshots").join(token).join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join("notes.txt"), token).unwrap();
    }
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("docs/notes.txt"), b"live").unwrap();
    let notes = format!("{}/docs/notes.txt", srv.url("snap"));

    let text = smb(&["snapshots", &notes]).text();
    assert_eq!(
        text,
        "@GMT-2026.03.15-08.00.05  2026-03-15 08:00:05 UTC\n@GMT-2026.01.01-00.00.00  2026-01-01 00:00:00 UTC\n"
    );
    let json = stdout_json(&smb(&["snapshots", "--json", &notes]));
    assert_eq!(
        json,
        serde_json::json!([
            {"token": "@GMT-2026.03.15-08.00.05", "time": "2026-03-15T08:00:05Z"},
            {"token": "@GMT-2026.01.01-00.00.00", "time": "2026-01-01T00:00:00Z"},
        ])
    );
    // A share without snapshots says so.
    let run = smb(&["snapshots", &srv.url("share")]);
    assert!(
        run.fails(OTHER).contains("STATUS_INVALID_DEVICE_REQUEST"),
        "{}",
        run.stderr
    );

    let text = smb(&["acl", &notes]).text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("owner: S-1-") && lines[1].starts_with("group: S-1-"),
        "{text}"
    );
    assert!(lines[2].starts_with("dacl: "), "{text}");
    assert!(
        lines[3..]
            .iter()
            .all(|l| l.starts_with("  ALLOWED S-1-") || l.starts_with("  DENIED S-1-")),
        "{text}"
    );
    let json = stdout_json(&smb(&["acl", "--json", &notes]));
    assert_eq!(
        keys(&json),
        ["control", "dacl", "group", "owner", "path", "sacl"]
    );
    assert_eq!(json["path"], "docs/notes.txt");
    let aces = json["dacl"].as_array().expect("a DACL");
    assert_eq!(aces.len(), lines.len() - 3);
    for ace in aces {
        assert_eq!(
            keys(ace),
            [
                "access_mask",
                "flag_names",
                "flags",
                "sid",
                "type",
                "type_code"
            ]
        );
        assert!(ace["sid"].as_str().unwrap().starts_with("S-1-"), "{ace}");
    }
    smb(&["acl", &format!("{}/nope", srv.url("snap"))]).fails(NOT_FOUND);
}

#[test]
fn help_for_each_command_completions_and_man_page() {
    let help = smb(&["--help"]).text();
    for part in [
        "usage: smb",
        "Commands:",
        "shares",
        "snapshots",
        "Exit status:",
        "  8    a tree transfer",
        "SMB_PASSWORD",
        "JSON",
    ] {
        assert!(help.contains(part), "{part} missing in:\n{help}");
    }
    for cmd in [
        "shares",
        "ls",
        "stat",
        "get",
        "put",
        "cat",
        "rm",
        "mkdir",
        "rmdir",
        "mv",
        "cp",
        "snapshots",
        "acl",
        "echo",
        "dissect",
    ] {
        let own = smb(&[cmd, "--help"]).text();
        assert!(own.contains(&format!("Usage: smb {cmd}")), "{cmd}:\n{own}");
        assert_eq!(smb(&["help", cmd]).text(), own, "{cmd}");
    }
    assert!(smb(&["cp", "--help"]).text().contains("server-side copy"));
    for (shell, marker) in [
        ("bash", "_smb()"),
        ("zsh", "#compdef smb"),
        ("fish", "complete -c smb"),
    ] {
        let script = smb(&["completions", shell]).text();
        assert!(
            script.contains(marker) && script.contains("snapshots"),
            "{shell}:\n{script}"
        );
    }
    let page = smb(&["man"]).text();
    assert!(
        page.starts_with(".ie") || page.contains(".TH smb"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(
        page.contains("Exit status"),
        "the man page has the exit statuses"
    );
    assert!(smb(&["man", "ls"]).text().contains("smb\\-ls"));
    smb(&["man", "frob"]).fails(USAGE);
    smb(&["completions", "cmd.exe"]).fails(USAGE);
}

/// Each connection choice of the library is a flag, and each does what it says against
/// Samba: encryption, NTLMv1, an NT hash instead of a password, the port, and the names.
#[test]
fn every_connection_flag_reaches_the_server() {
    use md4::Digest;
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("ntlm auth", "yes")
        .start();
    std::fs::write(srv.share_path("share").join("f.txt"), b"x").unwrap();
    let url = srv.url("share");
    let no_port = format!("smb://{}@127.0.0.1/share", srv.user());
    let port = srv.port().to_string();
    let pw = srv.password();
    let one = |run: Run| assert_eq!(run.text().lines().count(), 1);

    one(smb(&["--encrypt", "ls", &url]));
    one(smb(&[
        "ls",
        &url,
        "--ntlmv1",
        "--client-name",
        "CLIENT-X",
        "--server-name",
        "SMBTESTS",
    ]));
    one(smb_env(
        &["ls", "--port", &port, &no_port],
        &[("SMB_PASSWORD", pw)],
    ));
    let utf16: Vec<u8> = pw.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let hash: String = md4::Md4::digest(&utf16)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    one(smb(&["ls", "--nt-hash", &hash, &no_port, "--port", &port]));
    let wrong = "00".repeat(16);
    smb(&["ls", "--nt-hash", &wrong, &no_port, "--port", &port]).fails(AUTHENTICATION);
    // A hash is a secret: never echoed, and it needs a user to go with.
    smb(&[
        "ls",
        "--nt-hash",
        &hash,
        &format!("smb://127.0.0.1:{port}/share"),
    ])
    .fails(USAGE);
    let run = smb(&["--json", "ls", "--nt-hash", "not-hex", &url]);
    assert_eq!(run.code, USAGE);
    assert!(!run.stderr.contains("not-hex"), "{}", run.stderr);
}

/// An upload of a tree where the server refuses one directory: the rest is uploaded, the
/// exit status is PARTIAL, and stderr says which files failed and which made it.
#[test]
fn a_tree_upload_that_fails_part_way_says_what_failed_and_what_made_it() {
    let srv = SambaServer::builder()
        .share(Share::new("nobody").option("force user", "nobody"))
        .start();
    let disk = srv.share_path("nobody");
    // Owned by root, mode 755: `nobody` cannot create files in it.
    std::fs::create_dir(disk.join("ro")).unwrap();
    let local = local_dir(&srv);
    let src = local.join("src");
    std::fs::create_dir_all(src.join("ro")).unwrap();
    std::fs::write(src.join("a.bin"), data(50_000, 1)).unwrap();
    std::fs::write(src.join("ro/b.bin"), data(50_000, 2)).unwrap();
    let contents = format!("{}/.", s(&src));
    let run = smb(&["put", "-r", &contents, &srv.url("nobody")]);
    assert_eq!(run.code, PARTIAL, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[0].contains("STATUS_ACCESS_DENIED")
            && lines[0].ends_with("(1 of 2 files transferred)"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("smb: failed: ro\\b.bin: ")),
        "{lines:?}"
    );
    assert!(lines.contains(&"smb: transferred: a.bin"), "{lines:?}");
    assert_eq!(sha_of(&disk.join("a.bin")), sha_of(&src.join("a.bin")));
}

/// `smb nmblookup` against a private nmbd: a name's address (asked of it, and by a
/// broadcast), the names at an address, and the exit codes of a name nobody holds (timed
/// out with RD, not found without).
#[test]
fn nmblookup_resolves_names_and_lists_node_status() {
    use smb_tests::nmbd::{NmbServer, ADDRESS, NETBIOS_NAME, WORKGROUP};
    let nmbd = NmbServer::start();
    let ip = ADDRESS.to_string();
    let run = smb(&["nmblookup", "-U", &ip, &NETBIOS_NAME.to_lowercase()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("{ip} {NETBIOS_NAME}<20>\n")
    );
    let run = smb(&["nmblookup", "-U", &ip, &format!("{WORKGROUP}#1e")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("{ip} {WORKGROUP}<1e>\n")
    );
    // Broadcast on the loopback subnet: the node answers for its own name.
    let run = smb(&["nmblookup", "-B", "127.255.255.255", NETBIOS_NAME]);
    assert_eq!(
        run.code,
        0,
        "{}\n--- nmbd log ---\n{}",
        run.stderr,
        nmbd.log()
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("{ip} {NETBIOS_NAME}<20>\n")
    );
    let run = smb(&["nmblookup", "-A", &ip]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listing = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        listing.contains(&format!("\t{NETBIOS_NAME}<20>\n")),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("\t{WORKGROUP}<1e> <GROUP>\n")),
        "{listing}"
    );

    let run = smb(&["nmblookup", "-U", &ip, "--no-recursion", "NOBODYHERE"]);
    assert_eq!(run.code, 3, "not found: {}", run.stderr);
    let run = smb(&["nmblookup", "-U", &ip, "--wait", "1", "NOBODYHERE"]);
    assert_eq!(run.code, 6, "timed out: {}", run.stderr);
    let run = smb(&["nmblookup", "NOSERVER"]);
    assert_eq!(run.code, 2, "usage: {}", run.stderr);
}

/// The size of the file system holding `path` on this machine, from `stat -f`
/// (fragment size × blocks).
fn local_fs_size(path: &Path) -> u64 {
    let out = Command::new("stat")
        .args(["-f", "-c", "%S %b"])
        .arg(path)
        .output()
        .expect("running stat -f");
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace()
        .map(|v| v.parse::<u64>().expect("a number"))
        .product()
}

#[test]
fn df_prints_size_used_available_type_and_label_in_text_and_json() {
    let srv = SambaServer::builder()
        .share(
            Share::new("share")
                .option("volume", "Bench Vol")
                .option("fstype", "TestFS"),
        )
        .start();
    let url = srv.url("share");
    std::fs::create_dir(srv.share_path("share").join("sub")).unwrap();

    let text = smb(&["df", &url]).text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["Share", "Size", "Used", "Avail", "Use%", "Type", "Label"]
    );
    assert!(
        lines[1].starts_with(&format!("//{}/share ", srv.host())),
        "{text}"
    );
    assert!(lines[1].ends_with(" TestFS       Bench Vol"), "{text}");
    assert!(
        lines[1].contains("GiB") || lines[1].contains("MiB"),
        "{text}"
    );
    assert!(lines[1].contains('%'), "{text}");

    let json = stdout_json(&smb(&["df", "--json", &format!("{url}/sub/")]));
    assert_eq!(
        keys(&json),
        [
            "available_bytes",
            "block_size",
            "file_system",
            "file_system_attributes",
            "free_bytes",
            "label",
            "max_name_length",
            "path",
            "serial_number",
            "share",
            "total_bytes",
            "used_bytes",
            "volume_created",
        ]
    );
    assert_eq!(json["share"], "share");
    assert_eq!(json["path"], "sub/", "the path as asked");
    assert_eq!(json["file_system"], "TestFS");
    assert_eq!(json["label"], "Bench Vol");
    let n = |k: &str| json[k].as_u64().unwrap_or_else(|| panic!("{k}: {json}"));
    let local = local_fs_size(&srv.share_path("share"));
    assert!(
        n("total_bytes") <= local && local - n("total_bytes") < 1024,
        "{} against statvfs {local}",
        n("total_bytes")
    );
    assert_eq!(n("used_bytes"), n("total_bytes") - n("free_bytes"));
    assert!(n("available_bytes") > 0 && n("available_bytes") <= n("total_bytes"));

    let missing = smb(&["df", &format!("{url}/missing")]);
    let e = missing.fails(NOT_FOUND);
    assert!(e.contains("missing"), "{e}");
}

/// The names in a directory on the server's disk.
fn disk_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn bench_measures_put_get_and_stat_and_leaves_nothing_behind() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .share(Share::new("ro").read_only())
        .start();
    let url = srv.url("share");
    let disk = srv.share_path("share");
    std::fs::create_dir(disk.join("into")).unwrap();

    let text = smb(&["bench", "--size", "3M", "--stats", "20", &url]).text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (line, verb) in lines[..2].iter().zip(["put", "get"]) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[..4], [verb, "3.0", "MiB", "in"], "{line}");
        assert!(words[4].parse::<f64>().unwrap() > 0.0, "{line}");
        assert!(words[6].parse::<f64>().unwrap() > 0.0, "{line}");
        assert_eq!(words[7], "MiB/s", "{line}");
        assert!(line.ends_with(" CPU s/GiB"), "{line}");
    }
    assert!(lines[2].starts_with("stat  20 round trips: p50 "), "{text}");
    assert_eq!(disk_names(&disk), ["into"], "the temporary file is gone");

    let json = stdout_json(&smb(&[
        "bench",
        "--json",
        "--size",
        "1000000",
        "--stats",
        "5",
        &format!("{url}/into/"),
    ]));
    assert_eq!(keys(&json), ["get", "put", "size", "stat"]);
    assert_eq!(json["size"], 1_000_000);
    for t in ["put", "get"] {
        assert_eq!(
            keys(&json[t]),
            ["cpu_seconds", "cpu_seconds_per_gib", "mib_per_s", "seconds"],
            "{t}"
        );
        let secs = json[t]["seconds"].as_f64().unwrap();
        let rate = json[t]["mib_per_s"].as_f64().unwrap();
        assert!(secs > 0.0, "{json}");
        // The rate is the size over the time.
        assert!((rate * secs - 1e6 / 1048576.0).abs() < 1e-6, "{json}");
        assert!(json[t]["cpu_seconds"].as_f64().unwrap() >= 0.0, "{json}");
    }
    assert_eq!(keys(&json["stat"]), ["count", "p50_ms", "p90_ms"]);
    assert_eq!(json["stat"]["count"], 5);
    let (p50, p90) = (
        json["stat"]["p50_ms"].as_f64().unwrap(),
        json["stat"]["p90_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p90, "{json}");
    assert!(
        disk_names(&disk.join("into")).is_empty(),
        "nothing left in into/"
    );

    // A share it may not write: the upload's error, and nothing there afterwards.
    smb(&["bench", "--size", "1K", &srv.url("ro")]).fails(PERMISSION_DENIED);
    assert!(disk_names(&srv.share_path("ro")).is_empty());
    // A size that is no size is a usage error.
    smb(&["bench", "--size", "0", &url]).fails(USAGE);
}

/// `smb watch ARGS` running, its stdout lines arriving on a channel; its stderr's
/// first line ("watching URL") already read and checked.
fn watching(args: &[&str]) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut child = command(args).spawn().unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("watching smb://"), "{line:?}");
    assert!(!line.contains(DEFAULT_PASSWORD), "{line:?}");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

/// Creates probe files in `box/` until the watch prints one: Samba registers a watch a
/// moment after it answers that it holds it, and changes in between go unreported.
/// Returns the probe's line.
fn until_watched(
    conn: &smb_blocking::Connection,
    lines: &std::sync::mpsc::Receiver<String>,
) -> String {
    for i in 0..100 {
        let name = format!("box/probe-{i}");
        conn.store_file("share", &name, &mut &b""[..]).unwrap();
        if let Ok(line) = lines.recv_timeout(std::time::Duration::from_millis(300)) {
            return line;
        }
    }
    panic!("the watch never reported a probe");
}

#[test]
fn watch_prints_each_change_as_it_happens_in_text_and_json() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    std::fs::create_dir(srv.share_path("share").join("box")).unwrap();
    let conn = smb_blocking::Connection::connect(&srv.connect_options()).unwrap();
    let dir = format!("{}/box", srv.url("share"));
    let next = |lines: &std::sync::mpsc::Receiver<String>| {
        lines
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("a change within 20 s")
    };
    let mut outputs = Vec::new();
    for json in [false, true] {
        let mut args = vec!["watch", "--names", &dir];
        if json {
            args.push("--json");
        }
        let (mut child, lines) = watching(&args);
        until_watched(&conn, &lines);
        conn.store_file("share", "box/a.txt", &mut &b"x"[..])
            .unwrap();
        conn.rename("share", "box/a.txt", "box/b.txt").unwrap();
        conn.delete_files("share", "box/b.txt").unwrap();
        outputs.push([next(&lines), next(&lines), next(&lines)].join("\n"));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert_eq!(
        outputs[0],
        "added a.txt\nrenamed a.txt -> b.txt\nremoved b.txt"
    );
    let objects: Vec<serde_json::Value> = outputs[1]
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    for o in &objects {
        assert_eq!(keys(o), ["action", "change", "name", "old_name"]);
    }
    assert_eq!(
        objects,
        [
            serde_json::json!({"change": "added", "name": "a.txt", "old_name": null, "action": null}),
            serde_json::json!({"change": "renamed", "name": "b.txt", "old_name": "a.txt", "action": null}),
            serde_json::json!({"change": "removed", "name": "b.txt", "old_name": null, "action": null}),
        ]
    );

    // -n: it stops by itself after that many changes, with status 0.
    let (mut child, lines) = watching(&["watch", "--names", "-n", "1", &dir]);
    let first = until_watched(&conn, &lines);
    assert!(first.starts_with("added probe-"), "{first}");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(
        lines
            .recv_timeout(std::time::Duration::from_secs(1))
            .is_err(),
        "one line only"
    );

    // A directory that is not there: nothing to watch.
    smb(&["watch", &format!("{}/nope", srv.url("share"))]).fails(NOT_FOUND);
}

#[test]
fn streams_and_eas_are_listed_set_and_removed() {
    let srv = SambaServer::builder()
        .share(Share::new("ads").streams())
        .start();
    let file = format!("{}/doc.txt", srv.url("ads"));
    smb_with(&["put", "-", &file], Some(b"contents"), None).ok();
    smb_with(&["put", "-", &format!("{file}:note")], Some(b"hi"), None).ok();
    assert_eq!(
        smb(&["cat", &format!("{file}:note")]).ok(),
        b"hi",
        "a stream reads like a file"
    );
    assert_eq!(smb(&["cat", &file]).ok(), b"contents");

    let text = smb(&["streams", &file]).text();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        ["           2  note", "           8  ::$DATA"],
        "{text}"
    );
    let mut json = stdout_json(&smb(&["streams", "--json", &file]));
    let list = json.as_array_mut().expect("an array");
    list.sort_by_key(|s| s["name"].as_str().unwrap_or_default().to_string());
    assert_eq!(keys(&list[0]), ["allocation_size", "name", "size"]);
    assert_eq!(
        (&list[0]["name"], &list[0]["size"]),
        (&"".into(), &8.into())
    );
    assert_eq!(
        (&list[1]["name"], &list[1]["size"]),
        (&"note".into(), &2.into())
    );

    assert_eq!(smb(&["ea", &file]).text(), "", "no EA yet");
    assert_eq!(
        smb(&["ea", &file, "colour=blue", "odd=a\"b\u{1}"]).text(),
        ""
    );
    let text = smb(&["ea", &file]).text();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    assert_eq!(lines, ["colour=\"blue\"", "odd=\"a\\x22b\\x01\""], "{text}");
    let json = stdout_json(&smb(&["ea", "--json", &file]));
    let list = json.as_array().expect("an array");
    assert_eq!(list.len(), 2);
    let colour = list.iter().find(|e| e["name"] == "colour").expect("colour");
    assert_eq!(keys(colour), ["flags", "name", "value", "value_hex"]);
    assert_eq!(colour["value"], "blue");
    assert_eq!(colour["value_hex"], "626c7565");
    assert_eq!(colour["flags"], 0);

    // NAME= removes; an argument without '=' is a usage error, nothing sent.
    smb(&["ea", &file, "odd="]).ok();
    assert_eq!(smb(&["ea", &file]).text(), "colour=\"blue\"\n");
    let run = smb(&["ea", &file, "novalue"]);
    assert!(run.fails(USAGE).contains("NAME=VALUE"), "{}", run.stderr);
    let run = smb(&["ea", &file, "caf\u{e9}=1"]);
    assert!(run.fails(OTHER).contains("ASCII"), "{}", run.stderr);
    let run = smb(&["streams", &format!("{}/missing", srv.url("ads"))]);
    run.fails(NOT_FOUND);
}

/// `smb cat`, `ls`, `stat` and `mv` through a DFS link (a root on 127.0.0.1, its links'
/// target on 127.0.0.2 on the same port, so `--dfs-keep-port`), failing over from a
/// link's down first target; without the flag the target is sought on port 445 and the
/// command fails as a network error.
#[test]
fn cat_ls_and_mv_follow_dfs_links() {
    use smb_tests::dfs::{servers, CONTENT};
    let (root, target) = servers();
    let base = root.url("dfsroot");
    let keep = "--dfs-keep-port";
    assert_eq!(
        smb(&["cat", keep, &format!("{base}/link1/hello.txt")]).ok(),
        CONTENT
    );
    assert_eq!(
        smb(&["cat", keep, &format!("{base}/link2/sub/b.txt")]).ok(),
        b"bb"
    );
    let listed = ls(&["ls", keep, &format!("{base}/link1/sub")]);
    assert_eq!(names(&listed), ["a.txt", "b.txt"]);
    assert_eq!(listed[1].1, 2, "b.txt's size");
    let listed = ls(&["ls", keep, &format!("{base}/link2")]);
    assert_eq!(names(&listed), ["hello.txt", "sub"]);
    // A plain file of the root share is the root's.
    assert_eq!(
        smb(&["cat", keep, &format!("{base}/local.txt")]).ok(),
        b"local"
    );
    let stat = smb(&["stat", keep, &format!("{base}/link1/sub/a.txt")]).text();
    assert!(stat.contains("size:        1\n"), "{stat}");
    smb(&[
        "mv",
        keep,
        &format!("{base}/link1/sub/a.txt"),
        "sub/moved.txt",
    ])
    .ok();
    let disk = target.share_path("target");
    assert!(disk.join("sub/moved.txt").is_file() && !disk.join("sub/a.txt").exists());
    // The option after the command name, as every connection option.
    assert_eq!(
        smb(&[keep, "cat", &format!("{base}/link1/hello.txt")]).ok(),
        CONTENT
    );

    // Without it the target is sought on 445, where no test server listens.
    let line = smb(&["cat", &format!("{base}/link1/hello.txt")])
        .fails(NETWORK)
        .to_string();
    assert!(line.contains("127.0.0.2:445"), "{line}");
}

/// `--multichannel 1` binds a channel on the server's second address and stripes a get
/// and a put over it; every byte arrives.
#[test]
fn multichannel_binds_a_channel_and_stripes_a_get_and_a_put() {
    let srv = SambaServer::builder()
        .multichannel(true)
        .share(Share::new("share"))
        .start();
    let content = data(40 * 1024 * 1024, 21);
    std::fs::write(srv.share_path("share").join("mc.bin"), &content).unwrap();
    let dir = srv.share_path("share").parent().unwrap().join("mc-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let local = dir.join("mc.bin");
    let url = format!("{}/mc.bin", srv.url("share"));
    let got = smb(&[
        "-vv",
        "--multichannel",
        "1",
        "get",
        &url,
        local.to_str().unwrap(),
    ]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert!(got.stderr.contains("channel bound"), "{}", got.stderr);
    assert_eq!(sha256(&std::fs::read(&local).unwrap()), sha256(&content));
    let back = format!("{}/back.bin", srv.url("share"));
    let put = smb(&[
        "-vv",
        "--multichannel",
        "1",
        "put",
        local.to_str().unwrap(),
        &back,
    ]);
    assert_eq!(put.code, 0, "{}", put.stderr);
    assert!(put.stderr.contains("channel bound"), "{}", put.stderr);
    let on_disk = std::fs::read(srv.share_path("share").join("back.bin")).unwrap();
    assert_eq!(sha256(&on_disk), sha256(&content));
}
