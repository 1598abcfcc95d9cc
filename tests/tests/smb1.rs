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

use smb_blocking::{ConnectOptions, Connection, ErrorKind, RecordTarget};
use smb_proto::{CloseReason, Dialect, Error, NegotiateFailure, NtStatus, SigningPolicy};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

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
    // Not ported yet: refused, nothing sent (the connection goes on).
    let e = conn
        .list_path("share", "", "*")
        .expect_err("listing over SMB1 is not there yet");
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
            .list_path("share", "", "*")
            .await
            .expect_err("not ported");
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
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

/// Log lines, captured from the core's `tracing` events.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn smb1_reads_and_writes_are_many_in_flight() {
    let srv = nt1_with(&[("server signing", "mandatory")]);
    let conn = Connection::connect(&smb1_opts(&srv)).expect("connect");
    let content = data(4 * 1024 * 1024, 7);
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        round_trip(&srv, &conn, "f.bin", &content);
    });
    let text = String::from_utf8(logs.0.lock().expect("log lock").clone()).expect("utf-8");
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
    // Setting the size and asking it need TRANS2 (SET/QUERY_FILE_INFORMATION), not
    // there yet: refused clearly, and the connection goes on.
    let e = f.set_len(10).expect_err("set_len over SMB1");
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    let e = f
        .seek(SeekFrom::End(0))
        .expect_err("the size needs QUERY_FILE_INFORMATION");
    assert_eq!(e.kind(), std::io::ErrorKind::Unsupported, "{e}");
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
