//! Protection modes against a private smbd: encryption (session-wide, per share, each
//! cipher), signing policy, and refusal of downgrades.

use sha2::{Digest, Sha256};
use smb_blocking::{ConnectOptions, Connection};
use smb_proto::crypto::encryption::Cipher;
use smb_proto::{Dialect, SigningPolicy};
use smb_tests::{SambaServer, Share};

fn opts(srv: &SambaServer) -> ConnectOptions {
    ConnectOptions::new(srv.host())
        .port(srv.port())
        .user(srv.user(), srv.password())
}

fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.extend_from_slice(&s.to_le_bytes());
    }
    v.truncate(len);
    v
}

fn round_trip(conn: &mut Connection, share: &str, name: &str, content: &[u8]) {
    conn.store_file(share, name, &mut &content[..])
        .expect("store");
    let mut back = Vec::new();
    conn.retrieve_file(share, name, &mut back)
        .expect("retrieve");
    assert_eq!(
        Sha256::digest(&back),
        Sha256::digest(content),
        "{name} differs after round trip"
    );
}

#[test]
fn each_cipher_forced_by_the_server_with_100_mib_round_trip() {
    for (name, cipher) in [
        ("AES-128-CCM", Cipher::Aes128Ccm),
        ("AES-128-GCM", Cipher::Aes128Gcm),
        ("AES-256-CCM", Cipher::Aes256Ccm),
        ("AES-256-GCM", Cipher::Aes256Gcm),
    ] {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .global("server smb3 encryption algorithms", name)
            .global("smb encrypt", "required")
            .start();
        let mut conn = Connection::connect(&opts(&srv)).unwrap();
        assert_eq!(conn.negotiated().cipher, Some(cipher), "{name}");
        assert!(conn.is_encrypting(), "{name}: server requires encryption");
        round_trip(
            &mut conn,
            "share",
            "big.bin",
            &data(100 * 1024 * 1024, cipher.id() as u64),
        );
        assert_eq!(conn.list_path("share", "", "*").unwrap().len(), 1);
    }
}

#[test]
fn encryption_requested_by_the_client() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let mut o = opts(&srv);
    o.encrypt = true;
    let mut conn = Connection::connect(&o).unwrap();
    assert!(conn.is_encrypting());
    round_trip(&mut conn, "share", "e.bin", &data(3_000_000, 1));
}

#[test]
fn encryption_on_one_share_only() {
    let srv = SambaServer::builder()
        .share(Share::new("plain"))
        .share(Share::new("secret").option("smb encrypt", "required"))
        .start();
    let mut conn = Connection::connect(&opts(&srv)).unwrap();
    assert!(!conn.is_encrypting(), "the session itself is not encrypted");
    round_trip(&mut conn, "plain", "p.bin", &data(500_000, 2));
    round_trip(&mut conn, "secret", "s.bin", &data(500_000, 3));
    assert!(conn.tree_encrypted("secret").unwrap());
    assert!(!conn.tree_encrypted("plain").unwrap());
}

#[test]
fn server_that_cannot_encrypt_is_refused_when_client_requires_it() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("server max protocol", "SMB2_10")
        .start();
    let mut o = opts(&srv);
    o.encrypt = true;
    let err = Connection::connect(&o).unwrap_err();
    assert!(err.to_string().contains("encrypt"), "{err}");
}

#[test]
fn client_requires_encryption_but_caps_dialect_below_3() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let mut o = opts(&srv);
    o.encrypt = true;
    o.max_dialect = Dialect::Smb210;
    assert!(Connection::connect(&o).is_err());
}

#[test]
fn signing_policies() {
    // Server that requires signing: every policy ends up signing (pysmb's SIGN_WHEN_REQUIRED
    // and SIGN_WHEN_SUPPORTED), except Never, which refuses.
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("server signing", "mandatory")
        .start();
    for policy in [SigningPolicy::WhenSupported, SigningPolicy::WhenRequired] {
        let mut o = opts(&srv);
        o.signing = policy;
        let mut conn = Connection::connect(&o).unwrap();
        assert!(conn.is_signing(), "{policy:?}");
        round_trip(&mut conn, "share", "x", b"signed");
    }
    let mut o = opts(&srv);
    o.signing = SigningPolicy::Never;
    let err = Connection::connect(&o).unwrap_err();
    assert!(err.to_string().contains("signing"), "{err}");

    // Server that merely supports signing: WhenRequired does not sign (beyond what 3.x
    // demands for TREE_CONNECT), WhenSupported does.
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("server signing", "auto")
        .start();
    let mut o = opts(&srv);
    o.signing = SigningPolicy::WhenRequired;
    let mut conn = Connection::connect(&o).unwrap();
    assert!(!conn.is_signing());
    round_trip(&mut conn, "share", "y", b"unsigned");
    o.signing = SigningPolicy::WhenSupported;
    assert!(Connection::connect(&o).unwrap().is_signing());
}
