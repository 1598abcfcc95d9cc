//! Session expiry (MS-SMB2 3.2.5.1.11) against Samba. Samba's NTLM sessions never
//! expire, so the fault proxy plays the server's part: it answers one request with
//! STATUS_NETWORK_SESSION_EXPIRED, as a server whose session's authentication ran out
//! does. The client logs the session in again with Samba (SESSION_SETUP on the same
//! SessionId, keys kept) and sends the refused requests again: the operation succeeds
//! and never sees the expiry. A re-authentication the server refuses fails the
//! operation with its error.

use std::io::Write;
use std::process::{Command, Stdio};

use smb_blocking::{Connection, ErrorKind, SigningPolicy};
use smb_tests::fault::{Fault, FaultProxy};
use smb_tests::{SambaServer, Share};

const SHARE: &str = "share";
const READ: u16 = 8;
const CREATE: u16 = 5;

fn server() -> SambaServer {
    SambaServer::builder().share(Share::new(SHARE)).start()
}

/// Options through `proxy`; the client does not sign everything, or it would refuse the
/// proxy's unsigned answer (a real server signs it).
fn through(srv: &SambaServer, proxy: &FaultProxy) -> smb_proto::client::ConnectOptions {
    let mut opts = srv.connect_options();
    opts.port = proxy.port();
    opts.signing = SigningPolicy::WhenRequired;
    opts
}

#[test]
fn an_expired_session_is_logged_in_again_and_the_download_finishes() {
    let srv = server();
    let want = smb_tests::fixtures::data(4 * 1024 * 1024 + 777, 31);
    std::fs::write(srv.share_path(SHARE).join("f.bin"), &want).unwrap();
    // The second READ's answer says the session expired (several are in flight).
    let proxy = FaultProxy::start(
        srv.addr(),
        Fault::Expire {
            command: READ,
            nth: 2,
        },
    );
    let conn = Connection::connect(&through(&srv, &proxy)).unwrap();
    let mut got = Vec::new();
    conn.retrieve_file(SHARE, "f.bin", &mut got).unwrap();
    assert_eq!(proxy.expired(), 1, "the proxy replaced no answer");
    assert!(got == want, "the download differs");
    assert_eq!(conn.reconnects(), 0, "no new connection was needed");
    // The session goes on working.
    assert_eq!(conn.list_path(SHARE, "", "*").unwrap().len(), 1);
}

#[test]
fn an_expired_compound_goes_out_again_whole() {
    let srv = server();
    std::fs::write(srv.share_path(SHARE).join("s.txt"), b"twelve bytes").unwrap();
    // A stat is one compound (CREATE, QUERY_INFO, CLOSE): all three answers expire.
    let proxy = FaultProxy::start(
        srv.addr(),
        Fault::Expire {
            command: CREATE,
            nth: 1,
        },
    );
    let conn = Connection::connect(&through(&srv, &proxy)).unwrap();
    let info = conn.get_attributes(SHARE, "s.txt").unwrap();
    assert_eq!(proxy.expired(), 1);
    assert_eq!(info.size, 12);
}

#[test]
fn an_expired_session_is_logged_in_again_on_tokio() {
    let srv = server();
    let want = smb_tests::fixtures::data(3 * 1024 * 1024, 32);
    std::fs::write(srv.share_path(SHARE).join("t.bin"), &want).unwrap();
    let proxy = FaultProxy::start(
        srv.addr(),
        Fault::Expire {
            command: READ,
            nth: 1,
        },
    );
    let opts = through(&srv, &proxy);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let got = rt.block_on(async {
        let client = smb_tokio::Client::connect(&opts).await.unwrap();
        client.retrieve_file_to_vec(SHARE, "t.bin").await.unwrap()
    });
    assert_eq!(proxy.expired(), 1);
    assert!(got == want, "the download differs");
}

#[test]
fn a_refused_reauthentication_fails_the_operation_with_its_error() {
    let srv = server();
    std::fs::write(srv.share_path(SHARE).join("s.txt"), b"x").unwrap();
    let proxy = FaultProxy::start(
        srv.addr(),
        Fault::Expire {
            command: CREATE,
            nth: 1,
        },
    );
    let conn = Connection::connect(&through(&srv, &proxy)).unwrap();
    // The password changes on the server: the client's login again is refused.
    let mut p = Command::new("smbpasswd")
        .args(["-c", srv.conf_path().to_str().unwrap(), "-s", srv.user()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    p.stdin
        .take()
        .unwrap()
        .write_all(b"Changed-9\nChanged-9\n")
        .unwrap();
    assert!(p.wait().unwrap().success());
    let err = conn.get_attributes(SHARE, "s.txt").unwrap_err();
    assert_eq!(proxy.expired(), 1);
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
}
