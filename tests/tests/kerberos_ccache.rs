//! Kerberos logins from a credential cache (issue #17): MIT's `kinit` (with a private
//! krb5.conf aimed at a private Samba AD DC, [`SambaDc`]) writes a real FILE ccache, which
//! MIT's `klist` lists, and our client logs in with it: from its ticket-granting ticket (the
//! TGS exchange with the DC's KDC), from its `cifs/` service ticket (no KDC at all: the KDC
//! given is a closed port), on the blocking driver and on tokio, then a file round trip.
//! Tickets that have expired (by this client's clock, moved past their end) and a cache of
//! another user are refused, naming why.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use smb_blocking::kerberos::KerberosError;
use smb_blocking::{ConnectOptions, Connection, KerberosOptions};
use smb_proto::auth::kerberos::flow::Need;
use smb_proto::auth::kerberos::TicketFlow;
use smb_tests::dc::{SambaDc, HOST_NAME, REALM};
use smb_tests::Share;

/// `klist -c path`: what MIT's tool lists of the cache.
fn klist(dc: &SambaDc, ccache: &Path) -> String {
    let out = dc
        .krb5_command("klist")
        .arg("-c")
        .arg(ccache)
        .output()
        .expect("klist");
    assert!(
        out.status.success(),
        "klist: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// kinit as the DC's default user: a ccache holding its TGT only.
fn kinit(dc: &SambaDc) -> PathBuf {
    dc.kinit(&dc.principal(dc.user()), dc.password())
}

/// Adds a `cifs/dc.smbtest.test` ticket to `ccache` with MIT's `kvno`.
fn kvno(dc: &SambaDc, ccache: &Path) {
    let out = dc
        .krb5_command("kvno")
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .arg(format!("cifs/{HOST_NAME}"))
        .output()
        .expect("kvno");
    assert!(
        out.status.success(),
        "kvno: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A loopback port nobody listens on (bound, then closed).
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}

/// Options for `dc` as nobody in particular (no user, no password), Kerberos through `kdc`
/// with the tickets in `ccache`.
fn ccache_options(dc: &SambaDc, kdc: &str, ccache: &Path) -> ConnectOptions {
    dc.connect_options()
        .user("", "")
        .kerberos(KerberosOptions::kdc(kdc).ccache(ccache))
}

/// Why connecting with `o` failed (`why_not` says why it should).
fn refused(o: &ConnectOptions, why_not: &str) -> smb_blocking::Error {
    match Connection::connect(o) {
        Ok(_) => panic!("logged in: {why_not}"),
        Err(e) => e,
    }
}

fn file_round_trip(dc: &SambaDc, conn: &Connection, name: &str, content: &[u8]) {
    conn.store_file("share", name, &mut &content[..])
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert_eq!(
        fs::read(dc.share_path("share").join(name)).unwrap(),
        content
    );
    let mut back = Vec::new();
    conn.retrieve_file("share", name, &mut back).unwrap();
    assert_eq!(back, content);
}

/// kinit's TGT: the TGS exchange gets the service ticket (with the KDC closed, there is
/// none: the login did need the KDC); after kvno, the cached service ticket logs in with
/// the KDC closed.
#[test]
fn our_client_logs_in_with_kinits_ccache() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let kdc = dc.kdc_addr().to_string();
    let ccache = kinit(&dc);
    let listed = klist(&dc, &ccache);
    assert!(
        listed.contains(&format!("Default principal: smbtest@{REALM}")),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("krbtgt/{REALM}@{REALM}")),
        "{listed}"
    );

    let conn = Connection::connect(&ccache_options(&dc, &kdc, &ccache))
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert!(conn.is_signing());
    assert!(!conn.is_guest());
    file_round_trip(&dc, &conn, "from-tgt.txt", b"kerberos, kinit's TGT");
    drop(conn);

    // The TGT alone needs the KDC for the service ticket.
    let closed = closed_port();
    match Connection::connect(&ccache_options(&dc, &closed, &ccache)) {
        Err(smb_blocking::Error::Kerberos(KerberosError::KdcUnreachable { .. })) => {}
        Err(e) => panic!("not the unreachable KDC: {e}"),
        Ok(_) => panic!("a service ticket out of nowhere"),
    }

    // With the service ticket cached (MIT's klist lists it), no KDC is needed.
    kvno(&dc, &ccache);
    let listed = klist(&dc, &ccache);
    assert!(
        listed.contains(&format!("cifs/{HOST_NAME}@{REALM}")),
        "{listed}"
    );
    // The user may be named too, with or without the realm.
    let o = ccache_options(&dc, &closed, &ccache).user(dc.user(), "");
    let conn = Connection::connect(&o).unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert!(conn.is_signing());
    file_round_trip(&dc, &conn, "from-cache.txt", b"kerberos, no KDC");
}

/// The async driver on tokio takes the cache the same way.
#[test]
fn tokio_logs_in_with_kinits_ccache() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let ccache = kinit(&dc);
    let o = ccache_options(&dc, &dc.kdc_addr().to_string(), &ccache);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let back = rt.block_on(async {
        let client = smb_tokio::Client::connect(&o)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
        assert!(client.is_signing());
        client
            .store_file(
                "share",
                "by-tokio.txt",
                &mut &b"kerberos, ccache, tokio"[..],
            )
            .await
            .unwrap();
        client
            .retrieve_file_to_vec("share", "by-tokio.txt")
            .await
            .unwrap()
    });
    assert_eq!(back, b"kerberos, ccache, tokio");
    assert_eq!(
        fs::read(dc.share_path("share").join("by-tokio.txt")).unwrap(),
        b"kerberos, ccache, tokio"
    );
}

/// Expired tickets (this client's clock moved 11 hours on: the DC's tickets last 10) are
/// refused before any KDC or server is asked, naming the ticket and its end; a cache of
/// another user than the one named, a missing file and a file that is not a cache are
/// refused too.
#[test]
fn expired_foreign_and_unreadable_caches_are_refused() {
    let dc = SambaDc::builder()
        .share(Share::new("share"))
        .user("alice", "Al1ce-Pass!x")
        .start();
    let ccache = kinit(&dc);
    kvno(&dc, &ccache);
    let closed = closed_port();

    let mut o = ccache_options(&dc, &closed, &ccache);
    if let Some(k) = o.kerberos.as_mut() {
        k.kdc.time_offset = 11 * 3600;
    }
    match Connection::connect(&o) {
        Err(smb_blocking::Error::Kerberos(e @ KerberosError::TicketExpired { .. })) => {
            let text = e.to_string();
            assert!(text.contains("expired at 20"), "{text}");
            assert!(text.contains(" UTC"), "{text}");
            assert!(text.contains("kinit"), "{text}");
        }
        Err(e) => panic!("not the expiry: {e}"),
        Ok(_) => panic!("logged in with an expired ticket"),
    }
    // What the core makes of the cache: nine hours on, the service ticket still holds;
    // ten hours on, it has expired. (A login nine hours on would be refused by the
    // server's clock check instead.)
    let options = ccache_options(&dc, &closed, &ccache);
    let login = options.kerberos_login(None, |p| fs::read(p)).unwrap();
    let hours_on = |hours: u64| SystemTime::now() + Duration::from_secs(hours * 3600);
    match login.need(hours_on(9)) {
        Need::Nothing(t) => {
            assert_eq!(t.server.to_string(), format!("cifs/{HOST_NAME}@{REALM}"))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        TicketFlow::new(login, [0; 32], hours_on(10)),
        Err(KerberosError::TicketExpired { .. })
    ));

    let o = ccache_options(&dc, &closed, &ccache).user(&format!("alice@{REALM}"), "");
    let e = refused(&o, "alice is not in the cache");
    assert!(
        e.to_string()
            .contains("holds the tickets of smbtest@SMBTEST.TEST"),
        "{e}"
    );

    let missing = ccache.with_extension("missing");
    let e = refused(&ccache_options(&dc, &closed, &missing), "no file");
    assert!(e.to_string().contains("missing"), "{e}");
    let keytab = dc.export_keytab(&dc.principal(dc.user()));
    let e = refused(
        &ccache_options(&dc, &closed, &keytab),
        "a keytab is not a ccache",
    );
    assert!(e.to_string().contains("version 2 is not supported"), "{e}");
}

/// A recording connection refuses a login from a credential cache, with a typed error and
/// before the server is asked: the cache's tickets are no KDC reply, so the recording
/// could not be replayed. With a password and no cache the same connection records.
#[test]
fn a_recording_connection_refuses_a_ccache_login() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let kdc = dc.kdc_addr().to_string();
    let ccache = kinit(&dc);
    kvno(&dc, &ccache);
    let (target, buffer) = smb_proto::client::RecordTarget::memory();
    let o = ccache_options(&dc, &kdc, &ccache).record(target.clone());
    match Connection::connect(&o) {
        Err(smb_blocking::Error::Kerberos(e @ KerberosError::CcacheNotRecordable)) => {
            assert!(e.to_string().contains("cannot be recorded"), "{e}");
        }
        Err(e) => panic!("not the refusal: {e}"),
        Ok(_) => panic!("recorded a login from a credential cache"),
    }
    assert!(buffer.text().is_empty(), "{}", buffer.text());

    let o = dc
        .connect_options()
        .user(&dc.principal(dc.user()), dc.password())
        .kerberos(KerberosOptions::kdc(&kdc).required())
        .record(target);
    let conn = Connection::connect(&o).unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert!(conn.is_kerberos());
    drop(conn);
    assert!(buffer.text().contains("kdc-reply"), "{}", buffer.text());
}
