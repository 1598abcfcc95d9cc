//! SPNEGO picks Kerberos when the server offers it and falls back to NTLM, with the same
//! password, when Kerberos cannot be used here (the KDC unreachable, a server that does
//! not offer it), unless Kerberos is required: against the private Samba AD DC and a
//! plain private smbd.

use std::time::Duration;

use smb_blocking::{Connection, KerberosOptions};
use smb_proto::auth::kerberos::KerberosError;
use smb_tests::dc::{SambaDc, REALM};
use smb_tests::{SambaServer, Share};

/// A loopback port nothing listens on (TCP or UDP): the KDC there refuses at once.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}

/// Kerberos at `kdc` for `dc`'s default user, `user@REALM` by password.
fn options(dc: &SambaDc, kerberos: KerberosOptions) -> smb_blocking::ConnectOptions {
    let mut o = dc.connect_options().kerberos(kerberos);
    o.user = dc.principal(dc.user());
    o
}

fn round_trip(conn: &Connection, name: &str) {
    conn.store_file("share", name, &mut &b"after the choice"[..])
        .unwrap();
    let mut back = Vec::new();
    conn.retrieve_file("share", name, &mut back).unwrap();
    assert_eq!(back, b"after the choice");
}

#[test]
fn desired_kerberos_uses_kerberos_or_falls_back_to_ntlm_and_required_does_not() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    // The KDC answers: Kerberos.
    let kdc = dc.kdc_addr().to_string();
    let conn = Connection::connect(&options(&dc, KerberosOptions::kdc(&kdc)))
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert!(conn.is_kerberos());
    assert!(conn.is_signing());
    round_trip(&conn, "kerberos.txt");
    conn.close().unwrap();
    // No KDC there: NTLM with the same password, signing too.
    let unreachable = KerberosOptions::kdc(&closed_port());
    let mut unreachable_quickly = unreachable.clone();
    unreachable_quickly.kdc.timeout = Duration::from_secs(2);
    let conn = Connection::connect(&options(&dc, unreachable_quickly.clone()))
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert!(!conn.is_kerberos());
    assert!(conn.is_signing());
    round_trip(&conn, "ntlm.txt");
    conn.close().unwrap();
    // Required: the Kerberos error, naming the realm.
    let e = match Connection::connect(&options(&dc, unreachable_quickly.required())) {
        Err(smb_blocking::Error::Kerberos(e)) => e,
        Err(e) => panic!("not a Kerberos error: {e}"),
        Ok(_) => panic!("logged in with Kerberos required and no KDC"),
    };
    assert!(
        matches!(&e, KerberosError::KdcUnreachable { realm, .. } if realm == REALM),
        "{e}"
    );
    // A wrong password never falls back (NTLM would only add a failed attempt).
    let o = options(&dc, KerberosOptions::kdc(&kdc)).user(&dc.principal(dc.user()), "Wr0ng-Pass!x");
    match Connection::connect(&o) {
        Err(smb_blocking::Error::Kerberos(KerberosError::WrongPassword { .. })) => {}
        Err(e) => panic!("not the KDC's refusal: {e}"),
        Ok(_) => panic!("logged in with a wrong password"),
    }
}

/// A plain smbd (no AD, no KDC): Kerberos desired, the login is NTLM's.
#[test]
fn a_server_without_kerberos_gets_ntlm() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let mut kerberos = KerberosOptions::kdc(&closed_port());
    kerberos.kdc.timeout = Duration::from_secs(2);
    let mut o = srv.connect_options().kerberos(kerberos.clone());
    o.domain = "SMBTEST.TEST".into();
    let conn = Connection::connect(&o).unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert!(!conn.is_kerberos());
    round_trip(&conn, "plain.txt");
    conn.close().unwrap();
    // Required: refused, and nothing of a login reached the server.
    let e = match Connection::connect(&o.clone().kerberos(kerberos.required())) {
        Err(smb_blocking::Error::Kerberos(e)) => e,
        Err(e) => panic!("not a Kerberos error: {e}"),
        Ok(_) => panic!("logged in with Kerberos required"),
    };
    assert!(e.ntlm_may_follow(), "{e}");
}
