//! What the core logs through `tracing`: one event per request and response with its
//! command, message id, credits and status, sessions and trees as they are set up — and
//! never a secret.

use smb_blocking::Connection;
use smb_tests::{SambaServer, Share};

/// A writer the subscriber formats into, shared with the test.
#[test]
fn requests_responses_sessions_and_trees_are_logged_and_secrets_are_not() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let ((), text) = smb_tests::logs::captured_logs(tracing::Level::DEBUG, || {
        let conn = Connection::connect(&srv.connect_options()).unwrap();
        conn.store_file("share", "f.txt", &mut &b"hello"[..])
            .unwrap();
        conn.get_attributes("share", "missing.txt").unwrap_err();
    });
    for needle in [
        "negotiated",
        "session established",
        "tree connected",
        "command=\"SESSION_SETUP\"",
        "command=\"CREATE\"",
        "command=\"WRITE\"",
        "status=STATUS_OBJECT_NAME_NOT_FOUND",
        "credits_granted=",
        "message_id=",
        "operation failed",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from the logs:\n{text}"
        );
    }
    let password = srv.password();
    let hex: String = password.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(!text.contains(password), "the password is in the logs");
    assert!(
        !text.to_lowercase().contains(&hex),
        "the password's hex is in the logs"
    );
}

#[test]
fn no_debug_display_error_or_trace_log_holds_a_secret() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let password = srv.password().to_string();
    let nt_hash: String = smb_proto::auth::ntlm::nt_hash(&password)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut shown = Vec::new();
    let ((), logs) = smb_tests::logs::captured_logs(tracing::Level::TRACE, || {
        let opts = srv.connect_options();
        shown.push(format!("{opts:?}"));
        let conn = Connection::connect(&opts).unwrap();
        shown.push(format!("{conn:?}"));
        let wrong = srv.connect_options().user(srv.user(), "not-the-password");
        let e = Connection::connect(&wrong).unwrap_err();
        shown.push(format!("{e} {e:?}"));
        let e = conn.get_attributes("share", "missing.txt").unwrap_err();
        shown.push(format!("{e} {e:?}"));
        let creds = smb_blocking::Credentials::password("", srv.user(), password.as_str());
        shown.push(format!("{creds:?}"));
        let hashed = smb_blocking::Credentials::nt_hash(
            "",
            srv.user(),
            smb_proto::auth::ntlm::nt_hash(&password),
        );
        shown.push(format!("{hashed:?}"));
        let table =
            smb_blocking::SimpleAuth::new().entry(srv.host(), "*", "", srv.user(), &password);
        shown.push(format!("{table:?}"));
        let auth = smb_blocking::Auth::new("", srv.user(), &password);
        shown.push(format!("{auth:?}"));
    });
    shown.push(logs);
    let all = shown.join("\n");
    assert!(
        all.contains("TRACE") || all.contains("DEBUG"),
        "no logs captured"
    );
    assert!(!all.contains(&password), "the password is shown:\n{all}");
    assert!(
        !all.to_lowercase().contains(&nt_hash),
        "the NT hash is shown:\n{all}"
    );
}
