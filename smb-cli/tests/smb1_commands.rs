//! Every `smb` subcommand that talks to a server, run with `--smb1` against one Samba
//! that speaks only SMB1 with signing mandatory (issue #16): each does its work, checked
//! on the server's disk (snapshots: the server's own answer for a share without any).

use std::process::{Command, Stdio};

use smb_tests::{SambaServer, Share};

/// `smb --smb1` with `args`, no `SMB_*` variables → exit status, stdout, stderr.
fn smb(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smb"))
        .arg("--smb1")
        .args(args)
        .env_remove("SMB_USER")
        .env_remove("SMB_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("running smb");
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    )
}

/// `smb --smb1 args` succeeded → its stdout.
#[track_caller]
fn ok(args: &[&str]) -> String {
    let (code, out, err) = smb(args);
    assert_eq!(code, Some(0), "smb --smb1 {args:?}: {err}");
    out
}

#[test]
fn every_subcommand_with_smb1() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .smb1_only()
        .global("server signing", "mandatory")
        .start();
    let disk = srv.share_path("share");
    let url = srv.url("share");
    let at = |p: &str| format!("{url}/{p}");
    std::fs::create_dir(disk.join("d")).unwrap();
    std::fs::write(disk.join("d/a.txt"), b"hello smb1\n").unwrap();

    // shares (RAP NetShareEnum), ls, stat, cat.
    let out = ok(&["shares", &srv.url("")]);
    assert!(out.lines().any(|l| l.starts_with("share")), "{out}");
    let out = ok(&["ls", &at("d")]);
    assert!(out.contains(" a.txt"), "{out}");
    let out = ok(&["stat", &at("d/a.txt")]);
    assert!(out.contains("11"), "{out}");
    assert_eq!(ok(&["cat", &at("d/a.txt")]), "hello smb1\n");

    // put, get (files and trees).
    let local = std::env::temp_dir().join(format!("smb1-cmds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&local);
    std::fs::create_dir_all(local.join("tree/sub")).unwrap();
    std::fs::write(local.join("up.bin"), vec![7u8; 100_000]).unwrap();
    std::fs::write(local.join("tree/sub/t.txt"), b"tree").unwrap();
    let l = |p: &str| local.join(p).to_str().expect("utf-8").to_string();
    ok(&["put", &l("up.bin"), &at("d/up.bin")]);
    assert_eq!(
        std::fs::read(disk.join("d/up.bin")).unwrap(),
        vec![7u8; 100_000]
    );
    ok(&["put", "-r", &l("tree"), &at("tree")]);
    assert_eq!(std::fs::read(disk.join("tree/sub/t.txt")).unwrap(), b"tree");
    ok(&["get", &at("d/a.txt"), &l("a.txt")]);
    assert_eq!(std::fs::read(local.join("a.txt")).unwrap(), b"hello smb1\n");
    ok(&["get", "-r", &at("tree"), &l("back")]);
    assert_eq!(
        std::fs::read(local.join("back/sub/t.txt")).unwrap(),
        b"tree"
    );

    // mkdir, mv, cp (through the client on SMB1), rm, rmdir.
    ok(&["mkdir", &at("d/new")]);
    assert!(disk.join("d/new").is_dir());
    ok(&["mv", &at("d/up.bin"), "d/new/moved.bin"]);
    assert!(disk.join("d/new/moved.bin").is_file() && !disk.join("d/up.bin").exists());
    ok(&["cp", &at("d/new/moved.bin"), "d/copy.bin"]);
    assert_eq!(
        std::fs::read(disk.join("d/copy.bin")).unwrap(),
        vec![7u8; 100_000]
    );
    ok(&["rm", &at("d/copy.bin")]);
    assert!(!disk.join("d/copy.bin").exists());
    ok(&["rm", &at("d/new/moved.bin")]);
    ok(&["rmdir", &at("d/new")]);
    assert!(!disk.join("d/new").exists());
    ok(&["rm", "-r", &at("tree")]);
    assert!(!disk.join("tree").exists());

    // df (QUERY_FS_INFORMATION), echo, bench.
    let out = ok(&["df", &url]);
    assert!(out.lines().count() >= 2, "{out}");
    let out = ok(&["echo", "-c", "2", &url]);
    assert_eq!(out.lines().count(), 2, "{out}");
    let out = ok(&["bench", "--size", "65536", "--stats", "2", &url]);
    assert!(!out.is_empty());

    // acl, streams, ea (NT_TRANSACT and TRANSACTION2), snapshots, watch.
    let out = ok(&["acl", &at("d/a.txt")]);
    assert!(out.contains("owner") && out.contains("S-1-22-1-"), "{out}");
    let out = ok(&["streams", &at("d/a.txt")]);
    assert_eq!(out.trim(), "11  ::$DATA", "{out}");
    assert_eq!(ok(&["ea", &at("d/a.txt"), "colour=blue"]), "");
    assert_eq!(ok(&["ea", &at("d/a.txt")]).trim(), "colour=\"blue\"");
    let xattrs = Command::new("getfattr")
        .args(["-d", "-m", "^user\\."])
        .arg(disk.join("d/a.txt"))
        .output()
        .expect("getfattr (the attr package)");
    assert!(
        String::from_utf8_lossy(&xattrs.stdout).contains("user.colour=\"blue\""),
        "{xattrs:?}"
    );
    // No snapshots on this share: Samba's answer, not the client's refusal.
    let (code, _, err) = smb(&["snapshots", &at("d")]);
    assert_ne!(code, Some(0));
    assert!(!err.contains("over SMB1"), "{err}");
    // watch -n 1 ends after one change; files are made on disk until it reports one.
    let mut child = Command::new(env!("CARGO_BIN_EXE_smb"))
        .args(["--smb1", "watch", "-n", "1", "--names", &at("d")])
        .env_remove("SMB_USER")
        .env_remove("SMB_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running smb watch");
    let mut status = None;
    for i in 0..100 {
        std::fs::write(disk.join(format!("d/probe-{i}")), b"").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
    }
    if status.is_none() {
        child.kill().ok();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("probe-"),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::remove_dir_all(&local).unwrap();
}
