//! What the core logs through `tracing`: one event per request and response with its
//! command, message id, credits and status, sessions and trees as they are set up — and
//! never a secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use smb_blocking::Connection;
use smb_tests::{SambaServer, Share};

/// A writer the subscriber formats into, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn requests_responses_sessions_and_trees_are_logged_and_secrets_are_not() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let conn = Connection::connect(&srv.connect_options()).unwrap();
        conn.store_file("share", "f.txt", &mut &b"hello"[..])
            .unwrap();
        conn.get_attributes("share", "missing.txt").unwrap_err();
    });
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
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
