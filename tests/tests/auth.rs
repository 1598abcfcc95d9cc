//! Every authentication mode against a private smbd: password, NT hash, password
//! callback, anonymous, guest, and the refusal of guest sessions where signing is required.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use smb_blocking::{ConnectOptions, Connection};
use smb_proto::auth::ntlm::nt_hash;
use smb_proto::{NtStatus, SigningPolicy};
use smb_tests::fixtures::smb_error;
use smb_tests::{SambaServer, Share};

fn base(srv: &SambaServer) -> ConnectOptions {
    ConnectOptions::new(srv.host()).port(srv.port())
}

fn auth_status(r: Result<Connection, smb_blocking::Error>) -> (NtStatus, String) {
    match r {
        Err(smb_blocking::Error::Smb(smb_proto::Error::Auth { status, detail, .. })) => {
            (status, detail)
        }
        Err(e) => panic!("expected an authentication error, got {e:?}"),
        Ok(_) => panic!("expected an authentication error, got a connection"),
    }
}

#[test]
fn nt_hash_instead_of_password() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let o = base(&srv).nt_hash(srv.user(), nt_hash(srv.password()));
    let conn = Connection::connect(&o).unwrap();
    assert!(conn.is_signing());
    conn.store_file("share", "h.txt", &mut &b"by hash"[..])
        .unwrap();
    let (status, _) = auth_status(Connection::connect(
        &base(&srv).nt_hash(srv.user(), [7; 16]),
    ));
    assert_eq!(status, NtStatus::LOGON_FAILURE);
}

#[test]
fn password_from_a_callback_at_connect_time() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let calls = Arc::new(AtomicUsize::new(0));
    let (c, password, user) = (
        calls.clone(),
        srv.password().to_string(),
        srv.user().to_string(),
    );
    let o = base(&srv).password_callback(srv.user(), move |p| {
        c.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            (p.server.as_str(), p.user.as_str()),
            ("127.0.0.1", user.as_str())
        );
        Some(password.clone())
    });
    Connection::connect(&o)
        .unwrap()
        .list_path("share", "", "*")
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let (_, detail) = auth_status(Connection::connect(
        &base(&srv).password_callback(srv.user(), |_| None),
    ));
    assert!(detail.contains("callback"), "{detail}");
}

#[test]
fn anonymous_and_guest_on_a_guest_share() {
    let srv = SambaServer::builder()
        .share(Share::new("pub").guest_ok())
        .share(Share::new("private"))
        .start();
    for (what, o) in [("anonymous", base(&srv)), ("guest", base(&srv).guest())] {
        let conn = Connection::connect(&o).unwrap();
        assert!(conn.is_guest(), "{what}");
        assert!(
            !conn.is_signing(),
            "{what}: a guest session has no key to sign with"
        );
        conn.store_file("pub", &format!("{what}.txt"), &mut &b"hi"[..])
            .unwrap();
        let err = conn.list_path("private", "", "*").unwrap_err();
        assert_eq!(
            smb_error(&err).status(),
            Some(NtStatus::ACCESS_DENIED),
            "{what}"
        );
    }
}

#[test]
fn guest_refused_where_signing_is_required_unless_allowed() {
    let srv = SambaServer::builder()
        .share(Share::new("pub").guest_ok())
        .signing_required()
        .start();
    let err = Connection::connect(&base(&srv).guest()).unwrap_err();
    assert!(err.to_string().contains("guest"), "{err}");
    let mut o = base(&srv).guest();
    o.allow_insecure_guest = true;
    Connection::connect(&o)
        .unwrap()
        .list_path("pub", "", "*")
        .unwrap();

    // A client that requires signing refuses guest sessions on any server.
    let srv = SambaServer::builder()
        .share(Share::new("pub").guest_ok())
        .start();
    let mut o = base(&srv).guest();
    o.signing = SigningPolicy::Required;
    assert!(Connection::connect(&o).is_err());
    let mut o = srv.connect_options();
    o.signing = SigningPolicy::Required;
    assert!(Connection::connect(&o).unwrap().is_signing());
}

#[test]
fn debug_output_never_shows_secrets() {
    let o = ConnectOptions::new("h").user("alice", "hunter2-secret");
    assert!(!format!("{o:?}").contains("hunter2"));
    let o = ConnectOptions::new("h").nt_hash("alice", [0xAB; 16]);
    assert!(!format!("{o:?}").to_lowercase().contains("abab"));
}
