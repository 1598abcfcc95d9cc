//! The `smb` binary and SMB1 (issue #16) against a private smbd that speaks only SMB1:
//! without `--smb1` the failure names the option, with the protocol error's exit status;
//! with it, `ls` of a big directory, and `put` and `get` move a file (signed).

use std::process::{Command, Stdio};

use smb_tests::{SambaServer, Share};

/// `smb` documents 7 for a protocol error (negotiation failed).
const PROTOCOL: i32 = 7;

#[test]
fn without_smb1_an_smb1_only_server_fails_naming_the_option() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .smb1_only()
        .start();
    let out = Command::new(env!("CARGO_BIN_EXE_smb"))
        .args(["ls", &srv.url("share")])
        .env_remove("SMB_USER")
        .env_remove("SMB_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("running smb");
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    assert_eq!(out.status.code(), Some(PROTOCOL), "stderr: {stderr}");
    assert!(stderr.starts_with("smb: "), "{stderr}");
    for part in ["negotiation failed", "SMB2 NEGOTIATE", "--smb1"] {
        assert!(stderr.contains(part), "{part:?} missing in: {stderr}");
    }
    assert!(!stderr.contains(srv.password()), "password in {stderr}");
}

/// `smb` with `args`, no `SMB_*` variables → exit status, stdout, stderr.
fn smb(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smb"))
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

/// `ls` over SMB1 of a directory of 5,000 files (made on the server's disk): every
/// entry with its size, a wildcard, a file named by itself; an unported command says
/// so. Unsigned, and with signing mandatory.
#[test]
fn with_smb1_ls_lists_a_big_directory_and_an_unported_command_says_so() {
    for signing in ["default", "mandatory"] {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .smb1_only()
            .global("server signing", signing)
            .start();
        let dir = srv.share_path("share").join("big");
        std::fs::create_dir(&dir).expect("mkdir");
        for i in 0..5000 {
            std::fs::write(dir.join(format!("f{i:04}.txt")), vec![b'x'; i]).expect("file");
        }
        let url = format!("{}/big", srv.url("share"));
        let (code, out, err) = smb(&["--smb1", "ls", &url]);
        assert_eq!(code, Some(0), "{signing}: {err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5000, "{signing}");
        // `-  123 2026-… UTC f0123.txt`: kind, size, time, name.
        for line in &lines {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let name = fields.last().expect("a name");
            let i: usize = name[1..5].parse().expect("a name made here");
            assert_eq!(fields[0], "-", "{line}");
            assert_eq!(fields[1], i.to_string(), "{line}");
        }
        let (code, out, err) = smb(&["--smb1", "ls", &format!("{url}/f1*")]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(out.lines().count(), 1000);
        let (code, out, err) = smb(&["--smb1", "ls", &format!("{url}/f0042.txt")]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.trim_end().ends_with(" 42 ") || out.contains(" f0042.txt"),
            "{out}"
        );
        assert_eq!(out.lines().count(), 1);
        // Security descriptors over NT_TRANSACT, printed as over SMB2.
        let (code, out, err) = smb(&["--smb1", "acl", &format!("{url}/f0001.txt")]);
        assert_eq!(code, Some(0), "stderr: {err}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("owner: S-1-") && lines[1].starts_with("group: S-1-"),
            "{out}"
        );
        assert!(lines[2].starts_with("dacl: "), "{out}");
        assert!(!err.contains(srv.password()), "password in {err}");
    }
}

#[test]
fn with_smb1_put_and_get_round_trip_a_file() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .smb1_only()
        .global("server signing", "mandatory")
        .start();
    let dir = std::env::temp_dir().join(format!("smb1-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join("src.bin");
    let back = dir.join("back.bin");
    let content = smb_tests::fixtures::data(3 * 1024 * 1024 + 7, 5);
    std::fs::write(&src, &content).expect("source file");
    let remote = format!("{}/up.bin", srv.url("share"));
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_smb"))
            .arg("--smb1")
            .args(args)
            .env_remove("SMB_USER")
            .env_remove("SMB_PASSWORD")
            .stdin(Stdio::null())
            .output()
            .expect("running smb");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "smb {args:?}: {stderr}");
    };
    run(&["put", src.to_str().expect("utf-8 path"), &remote]);
    let on_disk = std::fs::read(srv.share_path("share").join("up.bin")).expect("uploaded");
    assert!(on_disk == content, "the server's file differs");
    run(&["get", &remote, back.to_str().expect("utf-8 path")]);
    let got = std::fs::read(&back).expect("downloaded");
    assert!(got == content, "the download differs");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
