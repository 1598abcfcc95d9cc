//! The `smb` binary against a private smbd: transfers checked byte for byte (on the
//! server's disk too), listings, directory operations, error lines and exit codes,
//! credentials, dialect caps, signing and NetBIOS framing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};
use smb_proto::url::SmbUrl;
use smb_tests::{SambaServer, Share, DEFAULT_PASSWORD};

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

/// Runs the binary with `stdin` (else /dev/null) and `SMB_PASSWORD` (else unset).
fn smb_with(args: &[&str], stdin: Option<&[u8]>, password: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smb"));
    cmd.args(args)
        .env_remove("SMB_PASSWORD")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
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
    Run {
        code: out
            .status
            .code()
            .expect("smb exited, not killed by a signal"),
        stdout: out.stdout,
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
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

/// Deterministic bytes without period (xorshift), so a misplaced chunk changes the hash.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sha(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

fn sha_of(path: &Path) -> [u8; 32] {
    sha(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
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
    let (time, name) = rest.split_once(' ').expect("time");
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
        assert_eq!(sha_of(&disk.join(name)), sha(&content), "{name} on disk");

        let back = local.join(format!("{name}.back"));
        smb(&["get", &remote, s(&back)]).ok();
        assert_eq!(sha_of(&back), sha(&content), "get {name}");
        let cat = smb(&["cat", &remote]);
        assert_eq!(sha(cat.ok()), sha(&content), "cat {name}");
    }

    // '-' is stdin for put and stdout for get.
    let piped = data(200_000, 2);
    smb_with(
        &["put", "-", &format!("{url}/piped.bin")],
        Some(&piped),
        None,
    )
    .ok();
    assert_eq!(sha_of(&disk.join("piped.bin")), sha(&piped));
    let got = smb(&["get", &format!("{url}/piped.bin"), "-"]);
    assert_eq!(sha(got.ok()), sha(&piped));
    // Stdin has no name to keep.
    smb_with(&["put", "-", &format!("{url}/")], Some(b"x"), None).fails(2);

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
        "modified:    2001-02-03 04:05:06",
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
    let line = smb(&["mkdir", &format!("{url}/new")]).fails(1).to_string();
    assert!(line.contains("STATUS_OBJECT_NAME_COLLISION"), "{line}");

    std::fs::write(disk.join("new/f"), b"x").unwrap();
    let line = smb(&["rmdir", &format!("{url}/new")]).fails(1).to_string();
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
        .fails(1)
        .to_string();
    assert!(line.contains("STATUS_OBJECT_NAME_COLLISION"), "{line}");
    assert_eq!(std::fs::read(disk.join("sub/d.txt")).unwrap(), b"moved");
    let elsewhere = srv.url("other") + "/x.txt";
    smb(&["mv", &format!("{url}/e.txt"), &elsewhere]).fails(2);
    smb(&["mv", &format!("{url}/e.txt"), "../x.txt"]).fails(2);
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
        .fails(1)
        .to_string();
    assert!(line.contains("STATUS_NO_SUCH_FILE"), "{line}");
}

#[test]
fn errors_are_one_line_with_status_path_and_errno() {
    let srv = server();
    let url = srv.url("share");
    let local = local_dir(&srv);

    let line = smb(&["stat", &format!("{url}/no/such.txt")])
        .fails(1)
        .to_string();
    for part in ["STATUS_OBJECT_PATH_NOT_FOUND", "no\\such.txt", "ENOENT"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    let cat = smb(&["cat", &format!("{url}/missing.txt")]);
    let line = cat.fails(1);
    for part in ["STATUS_OBJECT_NAME_NOT_FOUND", "missing.txt", "ENOENT"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    assert!(cat.stdout.is_empty());

    // A failed get leaves nothing behind, and an existing LOCAL untouched.
    let out = local.join("out.bin");
    smb(&["get", &format!("{url}/missing.txt"), s(&out)]).fails(1);
    let leftovers: Vec<_> = std::fs::read_dir(&local).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::write(&out, b"precious").unwrap();
    smb(&["get", &format!("{url}/missing.txt"), s(&out)]).fails(1);
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    assert_eq!(std::fs::read_dir(&local).unwrap().count(), 1);

    // A local file that is not there, and a server that is not there.
    let line = smb(&["put", s(&local.join("nope")), &format!("{url}/")])
        .fails(1)
        .to_string();
    assert!(line.contains("nope") && line.contains("ENOENT"), "{line}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let line = smb(&["ls", &format!("smb://127.0.0.1:{closed}/share")])
        .fails(1)
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
        &["ls", "smb://h"],
        &["ls", "smb://h/s/../t"],
    ] {
        smb(args).fails(2);
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
    let line = run.fails(1).to_string();
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
    let line = smb(&["ls", &no_password]).fails(1).to_string();
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
    let line = smb(&["ls", &format!("{guest}/share")]).fails(1).to_string();
    assert!(line.contains("STATUS_ACCESS_DENIED"), "{line}");
}

#[test]
fn max_dialect_below_the_servers_minimum_fails_to_negotiate() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("server min protocol", "SMB2_10")
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
    assert_eq!(sha(got.ok()), sha(&content));

    let line = smb(&["--max-dialect", "2.0.2", "ls", &url])
        .fails(1)
        .to_string();
    for part in ["negotiation failed", "STATUS_NOT_SUPPORTED"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    // Contradictory limits are caught before any packet is sent.
    smb(&["--min-dialect", "3.1.1", "--max-dialect", "3.0", "ls", &url]).fails(2);
}

#[test]
fn required_signing_and_netbios_framing() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("server signing", "mandatory")
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
            sha(&content)
        );
        let get = smb(&[opts, &["cat", &remote]].concat());
        assert_eq!(sha(get.ok()), sha(&content), "{opts:?}");
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
        client.join().unwrap().fails(1);
        first[0]
    })
}

#[test]
fn netbios_option_selects_the_framing() {
    assert_eq!(first_byte_sent(&["--netbios"]), 0x81);
    assert_eq!(first_byte_sent(&[]), 0x00);
}
