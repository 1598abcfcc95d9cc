//! SMB1 (NT LM 0.12, issue #16) against private smbds: one that speaks only SMB1
//! (`server min/max protocol = NT1`) refuses an SMB2 NEGOTIATE, and with SMB1 on the
//! client logs in (NTLMv2 and NTLMv1 in SPNEGO), signs with MD5 when the server or the
//! policy asks, connects and disconnects a tree, echoes and logs off; servers that speak
//! SMB2 upgrade the SMB1 NEGOTIATE (to 3.1.1 through 0x02FF, 3.0.2 over NetBIOS, to
//! 2.0.2 directly). Operations without an SMB1 form yet fail with `Error::Unsupported`,
//! sending nothing. Anonymous and guest sessions, and the tokio driver, too.
//!
//! Metadata over SMB1 (TRANS2 FIND_FIRST2/FIND_NEXT2, QUERY_PATH_INFORMATION, DELETE,
//! RENAME, CREATE_DIRECTORY, DELETE_DIRECTORY), signed and unsigned, on files made on the
//! server's disk: a 5,000-entry listing (many FIND_NEXT2 rounds, reassembled
//! multi-message answers), wildcards, paged listing, stat, and the errors SMB2 gives.

use smb_blocking::{ConnectOptions, Connection, ErrorKind, RecordTarget};
use smb_proto::{CloseReason, Dialect, Error, NegotiateFailure, NtStatus, SigningPolicy};
use smb_tests::{SambaServer, Share};

fn nt1_only() -> SambaServer {
    nt1_with(&[])
}

fn nt1_with(globals: &[(&str, &str)]) -> SambaServer {
    let mut b = SambaServer::builder()
        .share(Share::new("share"))
        .smb1_only();
    for (k, v) in globals {
        b = b.global(k, v);
    }
    b.start()
}

fn smb1_opts(srv: &SambaServer) -> ConnectOptions {
    srv.connect_options().smb1(true)
}

/// Whether smbd reports this connection's protocol as NT1 (its own view, not ours).
fn server_says_nt1(srv: &SambaServer) -> bool {
    srv.smbstatus(&["-b"])
        .lines()
        .any(|l| l.contains(srv.user()) && l.contains("NT1"))
}

/// Login done: a tree connected, echoed over, disconnected, and the session logged off.
/// Every step's answer went through the client's checks (signature included when it
/// signs), so a wrong sequence number fails it.
fn use_the_session(srv: &SambaServer, conn: Connection) {
    assert_eq!(conn.negotiated().dialect, Dialect::Nt1);
    assert!(server_says_nt1(srv), "{}", srv.smbstatus(&["-b"]));
    conn.echo().expect("echo");
    assert!(!conn.tree_encrypted("share").expect("tree connect"));
    conn.echo().expect("echo after tree connect");
    // Not ported: refused, nothing sent (the connection goes on).
    let e = conn
        .get_security("share", "")
        .expect_err("security descriptors over SMB1 are not there");
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("SMB1"), "{e}");
    conn.call(smb_proto::ops::TreeDisconnect::new("share"))
        .expect("tree disconnect");
    let e = conn
        .tree_encrypted("nosuchshare")
        .expect_err("no such share");
    assert_eq!(e.status(), Some(NtStatus::BAD_NETWORK_NAME), "{e}");
    conn.echo().expect("echo after a failed tree connect");
    conn.close().expect("logoff");
}

#[test]
fn smb1_off_against_an_smb1_only_server_fails_naming_the_option() {
    let srv = nt1_only();
    let err = Connection::connect(&srv.connect_options())
        .expect_err("an SMB2 NEGOTIATE to an SMB1-only server cannot succeed");
    let smb_blocking::Error::Smb(Error::Closed(CloseReason::Negotiate(
        NegotiateFailure::ClosedDuringNegotiate { smb1_enabled, .. },
    ))) = &err
    else {
        panic!("expected ClosedDuringNegotiate, got {err:?}");
    };
    assert!(!smb1_enabled);
    let text = err.to_string();
    for part in ["SMB2 NEGOTIATE", "--smb1", "ConnectOptions::smb1", "unsafe"] {
        assert!(text.contains(part), "{part:?} missing in: {text}");
    }
    assert_eq!(err.kind(), ErrorKind::ProtocolViolation);
}

#[test]
fn smb1_logs_in_unsigned_and_echoes_where_the_server_offers_no_signing() {
    // `server signing = default` on a standalone server: SMB1 signing not offered.
    let srv = nt1_only();
    let conn = Connection::connect(&smb1_opts(&srv))
        .unwrap_or_else(|e| panic!("{e}; smbd log:\n{}", srv.log()));
    assert!(!conn.is_signing());
    assert!(!conn.is_guest());
    use_the_session(&srv, conn);
}

#[test]
fn smb1_signs_with_md5_where_the_server_requires_it() {
    let srv = nt1_with(&[("server signing", "mandatory")]);
    for policy in [SigningPolicy::WhenSupported, SigningPolicy::WhenRequired] {
        let mut o = smb1_opts(&srv);
        o.signing = policy;
        let conn = Connection::connect(&o)
            .unwrap_or_else(|e| panic!("{policy:?}: {e}; smbd log:\n{}", srv.log()));
        assert!(conn.is_signing(), "{policy:?}");
        use_the_session(&srv, conn);
    }
    let mut o = smb1_opts(&srv);
    o.signing = SigningPolicy::Never;
    let e = Connection::connect(&o).expect_err("policy never against mandatory signing");
    assert!(e.to_string().contains("requires signing"), "{e}");
}

#[test]
fn smb1_signs_when_the_client_requires_it_or_the_server_offers_it() {
    // Samba signs for a client that requires it even where it offers no signing.
    let srv = nt1_only();
    let mut o = smb1_opts(&srv);
    o.signing = SigningPolicy::Required;
    let conn = Connection::connect(&o).unwrap_or_else(|e| panic!("{e}; log:\n{}", srv.log()));
    assert!(conn.is_signing());
    use_the_session(&srv, conn);
    let srv = nt1_with(&[("server signing", "auto")]);
    let conn = Connection::connect(&smb1_opts(&srv)).expect("auto");
    assert!(conn.is_signing(), "offered signing is taken by default");
    use_the_session(&srv, conn);
    let mut o = smb1_opts(&srv);
    o.signing = SigningPolicy::WhenRequired;
    let conn = Connection::connect(&o).expect("auto, when required");
    assert!(!conn.is_signing());
    use_the_session(&srv, conn);
}

#[test]
fn smb1_ntlmv1_logs_in_and_signs_where_the_server_permits_it() {
    let srv = nt1_with(&[
        ("ntlm auth", "ntlmv1-permitted"),
        ("server signing", "mandatory"),
    ]);
    let mut o = smb1_opts(&srv);
    o.use_ntlm_v2 = false;
    let conn = Connection::connect(&o).unwrap_or_else(|e| panic!("{e}; log:\n{}", srv.log()));
    assert!(conn.is_signing());
    use_the_session(&srv, conn);
}

#[test]
fn smb1_wrong_password_is_a_logon_failure() {
    let srv = nt1_only();
    let o = smb1_opts(&srv).user(srv.user(), "not-the-password");
    match Connection::connect(&o) {
        Err(smb_blocking::Error::Smb(Error::Auth { status, .. })) => {
            assert_eq!(status, NtStatus::LOGON_FAILURE);
        }
        Err(e) => panic!("expected an authentication error, got {e:?}"),
        Ok(_) => panic!("a wrong password logged in"),
    }
}

#[test]
fn smb1_on_against_smb2_servers_upgrades() {
    // Samba's defaults: the SMB1 NEGOTIATE offering "SMB 2.???" is answered with 0x02FF,
    // then the SMB2 NEGOTIATE (MessageId 1) settles 3.1.1, signed as usual.
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let conn = Connection::connect(&smb1_opts(&srv))
        .unwrap_or_else(|e| panic!("{e}; log:\n{}", srv.log()));
    assert_eq!(conn.negotiated().dialect, Dialect::Smb311);
    assert!(conn.is_signing());
    conn.echo().expect("echo");
    assert!(conn.list_path("share", "", "*").expect("list").is_empty());
    // Over NetBIOS the upgrade stops at 3.0.2 (a 3.1.1 client would have to reconnect
    // over direct TCP, MS-SMB2 3.2.5.2).
    let conn = Connection::connect(&smb1_opts(&srv).netbios(true))
        .unwrap_or_else(|e| panic!("{e}; log:\n{}", srv.log()));
    assert_eq!(conn.negotiated().dialect, Dialect::Smb302);
    assert!(conn.is_signing());
    assert!(conn.list_path("share", "", "*").expect("list").is_empty());
    // At most SMB 2.0.2: the server answers the SMB1 NEGOTIATE with 0x0202 directly.
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .max_dialect("SMB2_02")
        .start();
    let conn = Connection::connect(&smb1_opts(&srv))
        .unwrap_or_else(|e| panic!("{e}; log:\n{}", srv.log()));
    assert_eq!(conn.negotiated().dialect, Dialect::Smb202);
    conn.echo().expect("echo");
    assert!(conn.list_path("share", "", "*").expect("list").is_empty());
    // A server that speaks both, with SMB2 not offered: SMB1.
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .min_dialect("NT1")
        .start();
    let mut o = smb1_opts(&srv);
    o.max_dialect = Dialect::Nt1;
    let conn = Connection::connect(&o).unwrap_or_else(|e| panic!("{e}; log:\n{}", srv.log()));
    use_the_session(&srv, conn);
}

#[test]
fn a_connection_with_smb1_on_is_not_recorded() {
    let srv = nt1_only();
    let (target, buffer) = RecordTarget::memory();
    let e = Connection::connect(&smb1_opts(&srv).record(target))
        .expect_err("recording an SMB1 connection");
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(buffer.text().is_empty(), "something was recorded");
}

#[test]
fn smb1_anonymous_and_guest_sessions_on_a_guest_share() {
    let srv = SambaServer::builder()
        .share(Share::new("pub").guest_ok())
        .share(Share::new("private"))
        .smb1_only()
        .start();
    let base = || ConnectOptions::new(srv.host()).port(srv.port()).smb1(true);
    for (what, o) in [("anonymous", base()), ("guest", base().guest())] {
        let conn = Connection::connect(&o).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(conn.is_guest(), "{what}");
        assert!(!conn.is_signing(), "{what}: no key to sign with");
        assert!(!conn.tree_encrypted("pub").expect("guest share"), "{what}");
        conn.echo().expect("echo");
        let e = conn.tree_encrypted("private").expect_err("not for guests");
        assert_eq!(e.status(), Some(NtStatus::ACCESS_DENIED), "{what}: {e}");
        conn.close().expect("logoff");
    }
    // A client that requires signing refuses a guest session (it cannot sign).
    let mut o = base().guest();
    o.signing = SigningPolicy::Required;
    let e = Connection::connect(&o).expect_err("a guest session cannot sign");
    assert!(e.to_string().contains("guest"), "{e}");
}

#[test]
fn smb1_on_the_tokio_driver() {
    let srv = nt1_with(&[("server signing", "mandatory")]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = smb_tokio::Client::connect(&smb1_opts(&srv))
            .await
            .unwrap_or_else(|e| panic!("{e}; log:\n{}", srv.log()));
        assert_eq!(client.negotiated().dialect, Dialect::Nt1);
        assert!(client.is_signing());
        client.echo().await.expect("echo");
        assert!(!client.tree_encrypted("share").await.expect("tree connect"));
        client.echo().await.expect("echo after tree connect");
        let e = client
            .get_security("share", "")
            .await
            .expect_err("not ported");
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        // A paged listing: many pages (FIND_NEXT2 rounds), every entry once.
        let dir = srv.share_path("share").join("paged");
        std::fs::create_dir(&dir).expect("mkdir");
        for i in 0..3000 {
            std::fs::write(dir.join(format!("p{i:04}-{}", "n".repeat(60))), b"").expect("file");
        }
        let mut stream = client
            .list_path_stream("share", "paged", "*")
            .await
            .expect("start listing");
        let first = stream.next().await.expect("an entry").expect("no error");
        let page = stream.buffered() + 1;
        assert!(
            page < 3000,
            "the whole directory came at once ({page} entries)"
        );
        let mut names = vec![first.name];
        while let Some(e) = stream.next().await {
            names.push(e.expect("entry").name);
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 3000);
        assert!(names.iter().all(|n| n.starts_with('p')));
        let mut missing = client
            .list_path_stream("share", "no-such-dir", "*")
            .await
            .expect("the error comes from the stream");
        let err = missing.next().await.expect("an item").expect_err("missing");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        client.close().await.expect("logoff");
    });
}

/// Files on the server's disk, in `dir` of the share: `f0000.txt` … with `i` bytes each.
fn make_files(srv: &SambaServer, dir: &str, count: usize) {
    let dir = srv.share_path("share").join(dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    for i in 0..count {
        std::fs::write(dir.join(format!("f{i:04}.txt")), vec![b'x'; i]).expect("file");
    }
}

/// Listings, stat and the path commands over SMB1, with the errors SMB2 gives.
fn metadata_over_smb1(srv: &SambaServer, conn: &Connection) {
    let disk = srv.share_path("share");
    make_files(srv, "big", 5000);
    // 5,000 entries of ~120 bytes: many FIND_NEXT2 rounds after FIND_FIRST2, each answer
    // up to 64 KiB, which Samba sends in more than one message.
    let all = conn.list_path("share", "big", "*").expect("list big");
    assert_eq!(all.len(), 5000);
    let mut names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 5000, "an entry listed twice");
    for e in &all {
        let i: u64 = e.name[1..5].parse().expect("a name made here");
        assert_eq!(e.size, i, "{}", e.name);
        assert!(!e.is_directory());
        assert!(e.last_write_time.0 > 0);
    }
    assert_eq!(
        conn.list_path("share", "big", "f1*").expect("f1*").len(),
        1000
    );
    assert_eq!(
        conn.list_path("share", "big", "f42??.txt")
            .expect("?")
            .len(),
        100
    );
    assert!(conn
        .list_path("share", "big", "nothing*")
        .expect("none")
        .is_empty());
    let root = conn.list_path("share", "", "*").expect("root");
    assert!(root.iter().any(|e| e.name == "big" && e.is_directory()));

    // Stat: a file, a directory, the root, a missing path, a file spelled as a directory.
    let f = conn
        .get_attributes("share", "big/f0123.txt")
        .expect("stat file");
    assert_eq!(
        (f.name.as_str(), f.size, f.is_directory()),
        ("f0123.txt", 123, false)
    );
    assert!(f.last_write_time.0 > 0 && f.creation_time.0 > 0);
    assert!(conn
        .get_attributes("share", "big")
        .expect("stat dir")
        .is_directory());
    assert!(conn
        .get_attributes("share", "")
        .expect("stat root")
        .is_directory());
    let e = conn
        .get_attributes("share", "big/nope")
        .expect_err("missing");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = conn
        .get_attributes("share", "nodir/nope")
        .expect_err("missing dir");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = conn
        .get_attributes("share", "big/f0001.txt/")
        .expect_err("file as dir");
    assert_eq!(e.kind(), ErrorKind::NotADirectory, "{e}");

    // Listing a file, or a missing directory.
    let e = conn
        .list_path("share", "big/f0001.txt", "*")
        .expect_err("a file");
    assert_eq!(e.kind(), ErrorKind::NotADirectory, "{e}");
    let e = conn.list_path("share", "nodir", "*").expect_err("missing");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // mkdir, rmdir.
    conn.create_directory("share", "newdir").expect("mkdir");
    assert!(disk.join("newdir").is_dir());
    let e = conn
        .create_directory("share", "newdir")
        .expect_err("exists");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    let e = conn
        .delete_directory("share", "big")
        .expect_err("not empty");
    assert_eq!(e.kind(), ErrorKind::NotEmpty, "{e}");
    conn.delete_directory("share", "newdir").expect("rmdir");
    assert!(!disk.join("newdir").exists());
    let e = conn.delete_directory("share", "newdir").expect_err("gone");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // rename: plain, onto an existing name, replacing it, a directory.
    conn.rename("share", "big/f0001.txt", "big/renamed.txt")
        .expect("rename");
    assert!(!disk.join("big/f0001.txt").exists());
    assert_eq!(std::fs::read(disk.join("big/renamed.txt")).unwrap(), b"x");
    let e = conn
        .rename("share", "big/renamed.txt", "big/f0002.txt")
        .expect_err("exists");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert!(e.to_string().contains("f0002"), "names the target: {e}");
    conn.rename_replacing("share", "big/renamed.txt", "big/f0002.txt")
        .expect("rename replacing");
    assert!(!disk.join("big/renamed.txt").exists());
    assert_eq!(std::fs::read(disk.join("big/f0002.txt")).unwrap(), b"x");
    conn.create_directory("share", "d1").expect("mkdir d1");
    conn.rename("share", "d1", "d2")
        .expect("rename a directory");
    assert!(disk.join("d2").is_dir() && !disk.join("d1").exists());
    conn.rename("share", "big/f0003.txt", "d2/moved.txt")
        .expect("move");
    assert!(disk.join("d2/moved.txt").is_file());

    // delete: one file, a wildcard (how many), none, a directory.
    assert_eq!(
        conn.delete_files("share", "big/f0004.txt").expect("delete"),
        1
    );
    assert!(!disk.join("big/f0004.txt").exists());
    // f0000..f0099 less f0001..f0004 (renamed away or deleted; f0002 was replaced).
    assert_eq!(
        conn.delete_files("share", "big/f00*").expect("wildcard"),
        97
    );
    assert_eq!(
        conn.list_path("share", "big", "f00*")
            .expect("none left")
            .len(),
        0
    );
    let e = conn
        .delete_files("share", "big/f00*")
        .expect_err("no match");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = conn
        .delete_files("share", "big/nope.txt")
        .expect_err("missing");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = conn.delete_files("share", "d2").expect_err("a directory");
    assert_eq!(e.kind(), ErrorKind::IsADirectory, "{e}");
    // 5,000 less f0001 and f0003 (moved away), f0004 and the 97 others of f00*.
    assert_eq!(
        conn.list_path("share", "big", "*").expect("list").len(),
        4900
    );
    conn.echo().expect("the connection goes on");
}

#[test]
fn smb1_metadata_unsigned() {
    let srv = nt1_only();
    let conn = Connection::connect(&smb1_opts(&srv)).expect("connect");
    assert!(!conn.is_signing());
    metadata_over_smb1(&srv, &conn);
}

#[test]
fn smb1_metadata_signed() {
    let srv = nt1_with(&[("server signing", "mandatory")]);
    let conn = Connection::connect(&smb1_opts(&srv)).expect("connect");
    assert!(conn.is_signing());
    metadata_over_smb1(&srv, &conn);
}

/// On SMB1 the shares come from RAP NetShareEnum: the browseable ones whose names fit
/// RAP's 13 bytes (a longer name is not listed: RAP cannot carry it), `IPC$` included,
/// with their types and comments; signed and not.
#[test]
fn shares_of_an_smb1_server_come_from_rap() {
    for signing in [false, true] {
        let mut b = SambaServer::builder()
            .share(Share::new("share").option("comment", "the files"))
            .share(Share::new("a_long_name_share"))
            .smb1_only();
        if signing {
            b = b.signing_required();
        }
        let srv = b.start();
        let conn = Connection::connect(&smb1_opts(&srv)).unwrap();
        assert_eq!(conn.negotiated().dialect, Dialect::Nt1);
        let shares = conn.list_shares().unwrap();
        let find = |n: &str| shares.iter().find(|s| s.name == n);
        let share = find("share").unwrap_or_else(|| panic!("{shares:?}"));
        assert_eq!(share.share_type, smb_proto::ShareType::Disk);
        assert_eq!(share.comment, "the files");
        assert_eq!(
            find("IPC$").map(|s| s.share_type),
            Some(smb_proto::ShareType::Ipc)
        );
        assert!(find("a_long_name_share").is_none(), "{shares:?}");
        // The connection goes on.
        conn.echo().unwrap();
    }
}
