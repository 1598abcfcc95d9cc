//! The `smb` binary and SMB1 (issue #16) against a private smbd that speaks only SMB1:
//! without `--smb1` the failure names the option, with the protocol error's exit status;
//! with it, `put` and `get` move a file (signed).

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

#[test]
fn with_smb1_the_login_works_and_an_unported_command_says_so() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .smb1_only()
        .start();
    let out = Command::new(env!("CARGO_BIN_EXE_smb"))
        .args(["--smb1", "ls", &srv.url("share")])
        .env_remove("SMB_USER")
        .env_remove("SMB_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("running smb");
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    // Logged in and connected the share over SMB1; listing is not ported yet.
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("not supported over SMB1 (EOPNOTSUPP)"),
        "{stderr}"
    );
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
