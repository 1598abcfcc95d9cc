//! NTLMv1 on request (`ConnectOptions::use_ntlm_v2 = false`, pysmb's `use_ntlm_v2=False`)
//! against a private smbd: with extended session security (Samba's offer when
//! `ntlm auth = yes`), plain NTLMv1 (`ntlmssp_server:ntlm2 = no`), the refusal by
//! Samba's default `ntlm auth = ntlmv2-only`, and wrong passwords; NTLMv2 alongside on
//! the same servers. Signed sessions prove the derived session key (SMB 2.1 signs with it
//! directly, SMB 3.1.1 through the KDF), and the login proves both SPNEGO mechListMICs.

use smb_blocking::{ConnectOptions, Connection};
use smb_proto::{Dialect, NtStatus, SigningPolicy};
use smb_tests::{SambaServer, Share};

fn opts(srv: &SambaServer, password: &str, ntlm_v2: bool) -> ConnectOptions {
    let mut o = srv.connect_options().user(srv.user(), password);
    o.use_ntlm_v2 = ntlm_v2;
    o
}

/// The NTSTATUS of a failed login; panics on success or on any other kind of error.
fn login_failure(srv: &SambaServer, o: &ConnectOptions) -> NtStatus {
    match Connection::connect(o) {
        Err(smb_blocking::Error::Smb(smb_proto::Error::Auth { status, .. })) => status,
        Err(e) => panic!("expected an authentication error, got {e}"),
        Ok(_) => panic!("login succeeded; smbd log:\n{}", srv.log()),
    }
}

/// A signed login at SMB 2.1 and 3.1.1, then a file written, checked on the server's
/// disk, and read back.
fn signed_round_trip(srv: &SambaServer, ntlm_v2: bool) {
    for dialect in [Dialect::Smb210, Dialect::Smb311] {
        let name = &format!("ntlmv{}-{dialect:?}.bin", if ntlm_v2 { 2 } else { 1 });
        let mut o = opts(srv, srv.password(), ntlm_v2);
        o.max_dialect = dialect;
        o.signing = SigningPolicy::Required;
        let conn = Connection::connect(&o)
            .unwrap_or_else(|e| panic!("{dialect:?}: {e}; smbd log:\n{}", srv.log()));
        assert!(conn.is_signing(), "{dialect:?}");
        let content: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        conn.store_file("share", name, &mut &content[..])
            .expect("store");
        assert_eq!(
            std::fs::read(srv.share_path("share").join(name)).unwrap(),
            content
        );
        let mut back = Vec::new();
        conn.retrieve_file("share", name, &mut back)
            .expect("retrieve");
        assert_eq!(back, content, "{dialect:?}");
    }
}

/// NTLMv1 and NTLMv2 sessions that sign, and an NTLMv1 login with a wrong password refused.
fn both_sign_and_a_wrong_password_fails(srv: &SambaServer) {
    signed_round_trip(srv, false);
    signed_round_trip(srv, true);
    assert_eq!(
        login_failure(srv, &opts(srv, "not-the-password", false)),
        NtStatus::LOGON_FAILURE
    );
}

#[test]
fn ntlmv1_with_extended_session_security_logs_in_and_signs() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("ntlm auth", "yes")
        .start();
    // NTLMv2 still works on a server that also allows NTLMv1.
    both_sign_and_a_wrong_password_fails(&srv);
}

#[test]
fn plain_ntlmv1_logs_in_and_signs() {
    // Samba offers no extended session security: the NT response is DESL over the
    // server challenge alone, and SPNEGO's mechListMIC uses the CRC-32 signatures.
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("ntlm auth", "yes")
        .global("ntlmssp_server:ntlm2", "no")
        .start();
    // NTLMv2 without extended session security signs its mechListMIC the same way.
    both_sign_and_a_wrong_password_fails(&srv);
}

#[test]
fn default_server_refuses_ntlmv1_and_accepts_ntlmv2() {
    // Samba's default is `ntlm auth = ntlmv2-only`.
    let srv = SambaServer::builder().share(Share::new("share")).start();
    assert_eq!(
        login_failure(&srv, &opts(&srv, srv.password(), false)),
        NtStatus::LOGON_FAILURE
    );
    let conn = Connection::connect(&opts(&srv, srv.password(), true)).unwrap();
    assert!(conn.is_signing());
    conn.list_path("share", "", "*").unwrap();
}
