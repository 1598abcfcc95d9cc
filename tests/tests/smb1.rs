//! SMB1 (NT LM 0.12, issue #16) against private smbds: one that speaks only SMB1
//! (`server min/max protocol = NT1`) refuses an SMB2 NEGOTIATE, and with SMB1 on the
//! client logs in (NTLMv2 and NTLMv1 in SPNEGO), signs with MD5 when the server or the
//! policy asks, connects and disconnects a tree, echoes and logs off; servers that speak
//! SMB2 upgrade the SMB1 NEGOTIATE (to 3.1.1 through 0x02FF, 3.0.2 over NetBIOS, to
//! 2.0.2 directly). File I/O: whole-file uploads and downloads of 100 MiB (SHA-256 of
//! the server's file and of the download, signed and not) with many READ_ANDX in
//! flight, the File API, and the CLI's get/put. Operations without an SMB1 form yet
//! fail with `Error::Unsupported`, sending nothing. Anonymous and guest sessions, and
//! the tokio driver, too.
//!
//! Metadata over SMB1 (TRANS2 FIND_FIRST2/FIND_NEXT2, QUERY_PATH_INFORMATION,
//! SET_PATH_INFORMATION, DELETE, RENAME, CREATE_DIRECTORY, DELETE_DIRECTORY), signed and
//! unsigned, on files made on the server's disk: a 5,000-entry listing (many FIND_NEXT2
//! rounds, answers Samba sends in several messages), wildcards, paged listing (tokio),
//! stat, mkdir / mkdir -p / rmdir, rename (replacing too), delete, times, attributes and
//! sizes by path, tree listing and removal, and the errors SMB2 gives.

use smb_blocking::{ConnectOptions, Connection, ErrorKind, RecordTarget};
use smb_proto::{CloseReason, Dialect, Error, NegotiateFailure, NtStatus, SigningPolicy};
use std::io::{Read, Seek, SeekFrom, Write};

use smb_blocking::OpenOptions;
use smb_tests::fixtures::{data, sha256};
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
        .call(smb_proto::ops::QueryInterfaces::new())
        .expect_err("multichannel has no SMB1 form");
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
        let content = data(1_000_003, 4);
        let n = client
            .store_file("share", "t.bin", &mut &content[..])
            .await
            .expect("store");
        assert_eq!(n, content.len() as u64);
        let mut back = Vec::new();
        client
            .retrieve_file("share", "t.bin", &mut back)
            .await
            .expect("retrieve");
        assert!(back == content, "the download differs");
        assert_eq!(sha256(&on_disk(&srv, "t.bin")), sha256(&content));
        let e = client
            .call(smb_proto::ops::QueryInterfaces::new())
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

        // pysmb's isUsingSMB2 on the deferred factory: false once SMB1 is what it speaks.
        let factory = smb_tokio::factory(smb1_opts(&srv));
        assert!(factory.is_using_smb2(), "before connecting, as pysmb");
        factory.connect().await.expect("factory login over SMB1");
        assert!(!factory.is_using_smb2(), "SMB1 negotiated");
        factory.close_connection();
    });
}

/// The file `name` of the share as smbd wrote it on disk.
fn on_disk(srv: &SambaServer, name: &str) -> Vec<u8> {
    std::fs::read(srv.share_path("share").join(name)).expect("the server's file")
}

/// `content` stored as `name` and retrieved again: the server's file on disk and the
/// download both have its SHA-256.
fn round_trip(srv: &SambaServer, conn: &Connection, name: &str, content: &[u8]) {
    let n = conn
        .store_file("share", name, &mut &content[..])
        .unwrap_or_else(|e| panic!("store {name}: {e}; log:\n{}", srv.log()));
    assert_eq!(n, content.len() as u64, "{name}");
    let want = sha256(content);
    assert_eq!(
        sha256(&on_disk(srv, name)),
        want,
        "{name} on the server's disk"
    );
    let mut got = Vec::new();
    let n = conn
        .retrieve_file("share", name, &mut got)
        .unwrap_or_else(|e| panic!("retrieve {name}: {e}; log:\n{}", srv.log()));
    assert_eq!(n, content.len() as u64, "{name}");
    assert_eq!(sha256(&got), want, "{name} downloaded");
}

#[test]
fn smb1_100_mib_round_trip_unsigned_and_signed() {
    for signing in ["default", "mandatory"] {
        let srv = nt1_with(&[("server signing", signing)]);
        let conn = Connection::connect(&smb1_opts(&srv))
            .unwrap_or_else(|e| panic!("{e}; log:\n{}", srv.log()));
        assert_eq!(conn.negotiated().dialect, Dialect::Nt1);
        assert_eq!(conn.is_signing(), signing == "mandatory");
        assert_eq!(conn.negotiated().max_read_size, 65536);
        round_trip(&srv, &conn, "zero.bin", &[]);
        round_trip(&srv, &conn, "one.bin", &data(1, 1));
        round_trip(&srv, &conn, "chunk+1.bin", &data(65537, 2));
        round_trip(&srv, &conn, "huge.bin", &data(100 * 1024 * 1024 + 1, 42));
        // The connection is still in step (MIDs, sequence numbers) after it all.
        conn.echo().expect("echo");
        conn.close().expect("logoff");
    }
}

#[test]
fn smb1_reads_and_writes_are_many_in_flight() {
    let srv = nt1_with(&[("server signing", "mandatory")]);
    let conn = Connection::connect(&smb1_opts(&srv)).expect("connect");
    let content = data(4 * 1024 * 1024, 7);
    let ((), text) = smb_tests::logs::captured_logs(tracing::Level::DEBUG, || {
        round_trip(&srv, &conn, "f.bin", &content);
    });
    // In the order the core handled them: requests sent before the first answer of
    // their kind came back were in flight together (no timing involved: one step of
    // the core sends the whole window before any answer is read).
    let before_first_answer = |command: &str| {
        let sent = format!("request command={command} ");
        let answered = format!("response command={command} ");
        text.lines()
            .take_while(|l| !l.contains(&answered))
            .filter(|l| l.contains(&sent))
            .count()
    };
    let reads = before_first_answer("READ_ANDX");
    let writes = before_first_answer("WRITE_ANDX");
    assert!(reads >= 8, "{reads} READ_ANDX in flight at first:\n{text}");
    assert!(writes >= 8, "{writes} WRITE_ANDX in flight at first");
    // Never more than the server's MaxMpxCount (50 on Samba).
    assert!(reads <= 50 && writes <= 50, "{reads} {writes}");
}

#[test]
fn smb1_file_api_open_seek_read_write_flush_close() {
    let srv = nt1_with(&[("server signing", "mandatory")]);
    let conn = Connection::connect(&smb1_opts(&srv)).expect("connect");
    let mut f = conn
        .open("share", "api.bin", OpenOptions::read_write_create())
        .unwrap_or_else(|e| panic!("open: {e}; log:\n{}", srv.log()));
    assert_eq!(f.info().size, 0);
    // More than one WRITE_ANDX and READ_ANDX (64 KiB each) per call.
    let content = data(200_000, 3);
    f.write_all(&content).expect("write");
    f.flush().expect("flush");
    assert_eq!(on_disk(&srv, "api.bin"), content);
    f.seek(SeekFrom::Start(1000)).expect("seek");
    let mut buf = vec![0; 100];
    f.read_exact(&mut buf).expect("read");
    assert_eq!(buf, content[1000..1100]);
    f.seek(SeekFrom::Current(-50)).expect("seek back");
    f.write_all(b"XYZ").expect("write in the middle");
    f.seek(SeekFrom::Start(0)).expect("rewind");
    let mut all = Vec::new();
    f.read_to_end(&mut all).expect("read to end");
    let mut want = content.clone();
    want[1050..1053].copy_from_slice(b"XYZ");
    assert_eq!(all, want);
    // Reading at and past the end gives nothing.
    f.seek(SeekFrom::Start(want.len() as u64 + 10))
        .expect("seek past end");
    assert_eq!(f.read(&mut buf).expect("read past end"), 0);
    // The size, asked (TRANS2_QUERY_FILE_INFORMATION) and seeking from the end.
    assert_eq!(
        f.seek(SeekFrom::End(0)).expect("seek to the end"),
        want.len() as u64
    );
    assert_eq!(f.stat().expect("stat").size, want.len() as u64);
    f.close().expect("close");
    assert_eq!(on_disk(&srv, "api.bin"), want);
    // A 0-byte file and one of 100 MiB + 1 through the File API: written in one call
    // (as 64 KiB WRITE_ANDX, MaxMpxCount in flight), read back to the end.
    let mut f = conn
        .open("share", "empty.bin", OpenOptions::overwrite())
        .expect("create empty");
    f.write_all(&[]).expect("write nothing");
    let mut none = Vec::new();
    assert_eq!(f.read_to_end(&mut none).expect("read empty"), 0);
    f.close().expect("close empty");
    assert!(on_disk(&srv, "empty.bin").is_empty());
    let big = data(100 * 1024 * 1024 + 1, 9);
    let mut f = conn
        .open("share", "big.bin", OpenOptions::overwrite())
        .expect("create big");
    f.write_all(&big).expect("write 100 MiB + 1");
    f.seek(SeekFrom::Start(0)).expect("rewind");
    let mut back = Vec::with_capacity(big.len());
    f.read_to_end(&mut back).expect("read 100 MiB + 1");
    f.close().expect("close big");
    assert_eq!(
        sha256(&back),
        sha256(&big),
        "read back through the File API"
    );
    assert_eq!(sha256(&on_disk(&srv, "big.bin")), sha256(&big), "on disk");
    // A missing file, opened to read: the server's error.
    let e = conn
        .open("share", "missing.bin", OpenOptions::read())
        .expect_err("missing");
    assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_NOT_FOUND), "{e}");
    let mut out = Vec::new();
    let e = conn
        .retrieve_file("share", "missing.bin", &mut out)
        .expect_err("missing");
    assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_NOT_FOUND), "{e}");
    conn.echo().expect("echo");
    conn.close().expect("logoff");
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

    // Times, attributes, size, by path (SET_PATH_INFORMATION).
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    conn.set_last_write_time("share", "big/f0010.txt", when)
        .expect("set mtime");
    let mtime = std::fs::metadata(disk.join("big/f0010.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(mtime, when);
    let n = conn
        .reset_file_attributes(
            "share",
            "big/f001?.txt",
            smb_proto::wire::fscc::file_attributes::HIDDEN,
        )
        .expect("attributes");
    assert_eq!(n, 10);
    let f = conn.get_attributes("share", "big/f0011.txt").expect("stat");
    assert!(f.is_hidden(), "{:#x}", f.attributes);
    conn.truncate("share", "big/f0012.txt", 3)
        .expect("truncate");
    assert_eq!(
        std::fs::metadata(disk.join("big/f0012.txt")).unwrap().len(),
        3
    );
    conn.truncate("share", "big/f0012.txt", 12).expect("extend");
    assert_eq!(
        std::fs::read(disk.join("big/f0012.txt")).unwrap(),
        b"xxx\0\0\0\0\0\0\0\0\0"
    );
    let e = conn
        .truncate("share", "big/none.txt", 1)
        .expect_err("missing");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // mkdir -p: parents made, existing ones kept, a file in the way.
    conn.create_directories("share", "p/q/r").expect("mkdir -p");
    assert!(disk.join("p/q/r").is_dir());
    conn.create_directories("share", "p/q/r/s")
        .expect("mkdir -p again");
    assert!(disk.join("p/q/r/s").is_dir());
    let e = conn
        .create_directories("share", "big/f0009.txt/x")
        .expect_err("a file in the way");
    assert_eq!(e.kind(), ErrorKind::NotADirectory, "{e}");
    // A tree: listed, then removed with everything in it.
    std::fs::write(disk.join("p/q/file.txt"), b"abc").unwrap();
    let tree = conn.list_tree("share", "p").expect("list tree");
    assert_eq!(tree.len(), 4, "{tree:?}");
    assert_eq!(
        conn.delete_files_and_folders("share", "p").expect("rm -r"),
        5
    );
    assert!(!disk.join("p").exists());

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
    // Replacing in one directory is SET_PATH_INFORMATION (above); across directories,
    // DELETE of the target and RENAME again.
    std::fs::write(disk.join("d2/other.txt"), b"other").unwrap();
    conn.rename_replacing("share", "d2/other.txt", "big/f0002.txt")
        .expect("replace across directories");
    assert_eq!(std::fs::read(disk.join("big/f0002.txt")).unwrap(), b"other");
    assert!(!disk.join("d2/other.txt").exists());

    // Names SMB1's DELETE and RENAME would read as patterns: no SMB1 form without
    // NT_CREATE_ANDX, refused before anything is sent.
    let e = conn
        .call(smb_proto::ops::Delete::new("share", "big/f*.txt").literal())
        .expect_err("a literal name with *");
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    let e = conn
        .rename("share", "big/f0005.txt", "big/a*b")
        .expect_err("* in the new name");
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(disk.join("big/f0005.txt").is_file() && disk.join("big/f4999.txt").is_file());

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

/// RAP NetShareEnum on SMB1 (`ListShares::rap`; `list_shares` asks SRVSVC first, see
/// smb1_rpc.rs): the browseable shares whose names fit
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
        let shares = conn.call(smb_proto::ops::ListShares::rap()).unwrap();
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
