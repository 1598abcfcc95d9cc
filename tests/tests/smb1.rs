//! SMB1 (NT LM 0.12, issue #16) against private smbds: one that speaks only SMB1
//! (`server min/max protocol = NT1`) refuses an SMB2 NEGOTIATE, and with SMB1 on the
//! client logs in (NTLMv2 and NTLMv1 in SPNEGO), signs with MD5 when the server or the
//! policy asks, connects and disconnects a tree, echoes and logs off; servers that speak
//! SMB2 upgrade the SMB1 NEGOTIATE (to 3.1.1 through 0x02FF, 3.0.2 over NetBIOS, to
//! 2.0.2 directly). Operations without an SMB1 form yet fail with `Error::Unsupported`,
//! sending nothing. Anonymous and guest sessions, and the tokio driver, too.

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
        let e = client
            .list_path("share", "", "*")
            .await
            .expect_err("not ported");
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        client.close().await.expect("logoff");
    });
}
