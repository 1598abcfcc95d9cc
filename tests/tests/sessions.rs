//! More than one session on one connection: a second user logs in beside the first, each
//! with its own identity, keys and trees, on plain, signed and encrypted connections, from
//! the blocking and the tokio clients.

use smb_blocking::{Connection, Credentials, ErrorKind};
use smb_proto::NtStatus;
use smb_tests::fixtures::smb_error;
use smb_tests::{SambaServer, Share};

const BOB: &str = "smbbob";
const BOB_PASSWORD: &str = "B0b-secret";

/// A server with a share everyone may use and one only Bob may.
fn server(encrypt: bool) -> SambaServer {
    let mut b = SambaServer::builder()
        .user(BOB, BOB_PASSWORD)
        .share(Share::new("share"))
        .share(Share::new("bobs").option("valid users", BOB));
    if encrypt {
        b = b.encryption_required();
    }
    b.start()
}

fn bob() -> Credentials {
    Credentials::password("", BOB, BOB_PASSWORD)
}

/// The session lines of `smbstatus -b` (PID, user, group, machine…), as the server
/// itself reports its sessions.
fn smbstatus_sessions(srv: &SambaServer) -> Vec<String> {
    let out = std::process::Command::new("smbstatus")
        .args(["-s", srv.conf_path().to_str().unwrap(), "-b"])
        .output()
        .expect("run smbstatus");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|p| p.parse::<u32>().is_ok())
        })
        .map(str::to_string)
        .collect()
}

/// Each session acts as its own user: Bob's share refuses the first user and serves Bob,
/// and a file each one writes is owned by that user on the server.
fn two_users_on_one_connection(srv: &SambaServer, conn: &Connection) {
    let err = conn.list_path("bobs", "", "*").unwrap_err();
    assert_eq!(
        smb_error(&err).status(),
        Some(NtStatus::ACCESS_DENIED),
        "{err}"
    );

    let bob = conn
        .add_session(bob())
        .expect("Bob logs in beside the first user");
    assert_ne!(bob.session(), conn.session());
    assert_eq!(bob.is_signing(), conn.is_signing());
    bob.store_file("bobs", "from-bob.txt", &mut &b"bob"[..])
        .expect("Bob writes to his share");
    conn.store_file("share", "from-first.txt", &mut &b"first"[..])
        .expect("the first session goes on");
    bob.store_file("share", "bob-too.txt", &mut &b"bob"[..])
        .expect("Bob writes to the common share, on his own tree");

    assert!(srv.share_path("bobs").join("from-bob.txt").is_file());
    // The server sees two sessions of one client process, one per user.
    let sessions = smbstatus_sessions(srv);
    for user in [srv.user(), BOB] {
        assert!(
            sessions.iter().any(|l| l.contains(user)),
            "{user} in {sessions:?}"
        );
    }
    let pids: std::collections::BTreeSet<&str> = sessions
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(pids.len(), 1, "one connection, one smbd: {sessions:?}");

    // Still refused in the first session: its trees and identity are its own.
    let err = conn.list_path("bobs", "", "*").unwrap_err();
    assert_eq!(smb_error(&err).status(), Some(NtStatus::ACCESS_DENIED));

    // Both at once, from two threads.
    std::thread::scope(|s| {
        let first = s.spawn(|| {
            for _ in 0..20 {
                conn.list_path("share", "", "*").expect("first lists");
            }
        });
        for _ in 0..20 {
            bob.list_path("bobs", "", "*").expect("Bob lists");
        }
        first.join().unwrap();
    });

    // A refused login leaves the connection and its sessions as they were.
    let err = conn
        .add_session(Credentials::password("", BOB, "wrong"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
    assert_eq!(bob.list_path("bobs", "", "*").unwrap().len(), 1);
    conn.echo().unwrap();
}

#[test]
fn a_second_user_on_a_signed_connection() {
    let srv = server(false);
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    assert!(conn.is_signing());
    two_users_on_one_connection(&srv, &conn);
}

/// Each session has its own encryption keys: the client must pick the keys of the
/// session each encrypted response names.
#[test]
fn a_second_user_on_an_encrypted_connection() {
    let srv = server(true);
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    assert!(conn.is_encrypting());
    two_users_on_one_connection(&srv, &conn);
}

#[test]
fn a_second_session_on_the_tokio_client() {
    let srv = server(false);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let conn = smb_tokio::Client::connect(&srv.connect_options())
            .await
            .unwrap();
        let bob = conn.add_session(bob()).await.unwrap();
        let (mine, his) = tokio::join!(
            conn.list_path("share", "", "*"),
            bob.list_path("bobs", "", "*")
        );
        mine.unwrap();
        his.unwrap();
        let err = conn.list_path("bobs", "", "*").await.unwrap_err();
        assert_eq!(smb_error(&err).status(), Some(NtStatus::ACCESS_DENIED));
    });
}
