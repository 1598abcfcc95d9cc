//! Protection modes against a private smbd: encryption (session-wide, per share, each
//! cipher), signing policy, and refusal of downgrades.

use smb_blocking::{ConnectOptions, Connection};
use smb_proto::crypto::encryption::Cipher;
use smb_proto::{Dialect, SigningPolicy};
use smb_tests::fixtures::{data, sha256};
use smb_tests::{SambaServer, Share};

fn round_trip(conn: &mut Connection, share: &str, name: &str, content: &[u8]) {
    conn.store_file(share, name, &mut &content[..])
        .expect("store");
    let mut back = Vec::new();
    conn.retrieve_file(share, name, &mut back)
        .expect("retrieve");
    assert_eq!(
        sha256(&back),
        sha256(content),
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
        let mut conn = Connection::connect(&srv.connect_options()).unwrap();
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
    let mut o = srv.connect_options();
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
    let mut conn = Connection::connect(&srv.connect_options()).unwrap();
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
        .max_dialect("SMB2_10")
        .start();
    let mut o = srv.connect_options();
    o.encrypt = true;
    let err = Connection::connect(&o).unwrap_err();
    assert!(err.to_string().contains("encrypt"), "{err}");
}

#[test]
fn client_requires_encryption_but_caps_dialect_below_3() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let mut o = srv.connect_options();
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
        .signing_required()
        .start();
    for policy in [SigningPolicy::WhenSupported, SigningPolicy::WhenRequired] {
        let mut o = srv.connect_options();
        o.signing = policy;
        let mut conn = Connection::connect(&o).unwrap();
        assert!(conn.is_signing(), "{policy:?}");
        round_trip(&mut conn, "share", "x", b"signed");
    }
    let mut o = srv.connect_options();
    o.signing = SigningPolicy::Never;
    let err = Connection::connect(&o).unwrap_err();
    assert!(err.to_string().contains("signing"), "{err}");

    // Server that merely supports signing: WhenRequired does not sign (beyond what 3.x
    // demands for TREE_CONNECT), WhenSupported does.
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("server signing", "auto")
        .start();
    let mut o = srv.connect_options();
    o.signing = SigningPolicy::WhenRequired;
    let mut conn = Connection::connect(&o).unwrap();
    assert!(!conn.is_signing());
    round_trip(&mut conn, "share", "y", b"unsigned");
    o.signing = SigningPolicy::WhenSupported;
    assert!(Connection::connect(&o).unwrap().is_signing());
    let default = Connection::connect(&srv.connect_options()).unwrap();
    assert!(
        default.is_signing(),
        "the default signs whenever the server can"
    );
}

mod tampering {
    use super::*;
    use smb_proto::{CloseReason, Error as SmbError};
    use smb_tests::proxy::{command, Direction, Proxy};
    use std::net::SocketAddr;

    fn target(srv: &SambaServer) -> SocketAddr {
        format!("{}:{}", srv.host(), srv.port()).parse().unwrap()
    }

    fn via(srv: &SambaServer, proxy: &Proxy) -> ConnectOptions {
        let mut o = srv.connect_options();
        o.port = proxy.port();
        o
    }

    fn closed_reason(e: smb_blocking::Error) -> CloseReason {
        match e {
            smb_blocking::Error::Smb(SmbError::Closed(r)) => r,
            other => panic!("expected the connection to end, got {other:?}"),
        }
    }

    /// NEGOTIATE response: Capabilities at body offset 24.
    const CAPABILITIES: usize = 64 + 24;

    #[test]
    fn tampered_negotiate_on_311_breaks_preauth_integrity() {
        let srv = SambaServer::builder().share(Share::new("share")).start();
        let proxy = Proxy::start(target(&srv), |dir, i, m| {
            if dir == Direction::ToClient && i == 0 {
                m[CAPABILITIES] ^= 0x02; // LEASING
            }
        });
        let err = Connection::connect(&via(&srv, &proxy)).unwrap_err();
        assert!(matches!(
            closed_reason(err),
            CloseReason::BadSignature { .. }
        ));
    }

    #[test]
    fn tampered_negotiate_on_30_is_caught_by_validate_negotiate() {
        for proto in ["SMB3_00", "SMB3_02", "SMB2_10"] {
            let srv = SambaServer::builder()
                .share(Share::new("share"))
                .max_dialect(proto)
                .signing_required()
                .start();
            // Hiding a capability (here LARGE_MTU) goes unnoticed by 3.0 signing; only the
            // signed FSCTL_VALIDATE_NEGOTIATE_INFO can see it.
            let proxy = Proxy::start(target(&srv), |dir, i, m| {
                if dir == Direction::ToClient && i == 0 {
                    m[CAPABILITIES] &= !0x04;
                }
            });
            let conn = Connection::connect(&via(&srv, &proxy)).expect("login still works");
            let err = conn.list_path("share", "", "*").unwrap_err();
            assert_eq!(
                closed_reason(err),
                CloseReason::Negotiate(smb_proto::NegotiateFailure::ValidateMismatch),
                "{proto}"
            );
        }
    }

    #[test]
    fn dialect_downgrade_of_the_request_is_detected() {
        let srv = SambaServer::builder().share(Share::new("share")).start();
        // Strip every 3.x dialect from the client's offer: the server picks 2.1.
        let proxy = Proxy::start(target(&srv), |dir, i, m| {
            if dir == Direction::ToServer && i == 0 {
                let count = u16::from_le_bytes([m[66], m[67]]) as usize;
                for d in 0..count {
                    let at = 64 + 36 + 2 * d;
                    if u16::from_le_bytes([m[at], m[at + 1]]) >= 0x0300 {
                        m[at..at + 2].copy_from_slice(&0x0210u16.to_le_bytes());
                    }
                }
            }
        });
        let conn = Connection::connect(&via(&srv, &proxy)).expect("login");
        assert_eq!(conn.negotiated().dialect, Dialect::Smb210);
        let err = conn.list_path("share", "", "*").unwrap_err();
        assert!(
            matches!(err, smb_blocking::Error::Smb(SmbError::Closed(_))),
            "{err:?}"
        );
    }

    #[test]
    fn altered_signed_response_ends_the_connection() {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .signing_required()
            .start();
        std::fs::write(srv.share_path("share").join("f.bin"), data(100_000, 4)).unwrap();
        let proxy = Proxy::start(target(&srv), |dir, _, m| {
            // The READ response (its own or inside the CREATE+READ+CLOSE compound) is the
            // only frame this large: flip a byte of its data.
            if dir == Direction::ToClient && m.len() > 50_000 {
                m[50_000] ^= 1;
            }
        });
        let conn = Connection::connect(&via(&srv, &proxy)).unwrap();
        let err = conn
            .retrieve_file("share", "f.bin", &mut Vec::new())
            .unwrap_err();
        assert!(matches!(
            closed_reason(err),
            CloseReason::BadSignature { command: 8, .. }
        ));
    }

    #[test]
    fn stripped_signature_ends_the_connection_when_signing_is_required() {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .signing_required()
            .start();
        let proxy = Proxy::start(target(&srv), |dir, _, m| {
            if dir == Direction::ToClient && command(m) == Some(0x0D) {
                m[16] &= !0x08; // SMB2_FLAGS_SIGNED
                m[48..64].fill(0);
            }
        });
        let conn = Connection::connect(&via(&srv, &proxy)).unwrap();
        let err = conn.echo().unwrap_err();
        assert!(matches!(
            closed_reason(err),
            CloseReason::Unsigned { command: 0x0D, .. }
        ));
    }

    #[test]
    fn altered_encrypted_response_ends_the_connection() {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .global("smb encrypt", "required")
            .start();
        let proxy = Proxy::start(target(&srv), |dir, i, m| {
            if dir == Direction::ToClient && i == 5 && m.starts_with(&[0xFD, b'S', b'M', b'B']) {
                let last = m.len() - 1;
                m[last] ^= 0x80;
            }
        });
        let conn = Connection::connect(&via(&srv, &proxy)).unwrap();
        let mut err = None;
        for _ in 0..10 {
            if let Err(e) = conn.echo() {
                err = Some(e);
                break;
            }
        }
        let err = err.expect("a tampered encrypted message must end the connection");
        assert!(matches!(
            closed_reason(err),
            CloseReason::Encryption(smb_proto::EncryptionFailure::Crypto(_))
        ));
    }

    /// Calls `f` on each message of a plain (untransformed) frame, following NextCommand.
    fn each_message(frame: &mut [u8], mut f: impl FnMut(&mut [u8])) {
        let mut at = 0;
        while frame.len() >= at + 64 {
            let next = u32::from_le_bytes(frame[at + 20..at + 24].try_into().unwrap()) as usize;
            let end = if next == 0 {
                frame.len()
            } else {
                (at + next).min(frame.len())
            };
            f(&mut frame[at..end]);
            if next == 0 {
                break;
            }
            at = end;
        }
    }

    /// Clears SMB2_FLAGS_SIGNED and the signature.
    fn unsign(msg: &mut [u8]) {
        msg[16] &= !0x08;
        msg[48..64].fill(0);
    }

    #[test]
    fn a_response_claiming_another_session_cannot_skip_signing() {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .signing_required()
            .start();
        std::fs::write(srv.share_path("share").join("f.txt"), b"hello").unwrap();
        // Forge a stat's answer: new size, no signature, a session id that is not ours.
        let proxy = Proxy::start(target(&srv), |dir, _, m| {
            if dir == Direction::ToClient && command(m) == Some(0x05) {
                each_message(m, |msg| {
                    if u16::from_le_bytes([msg[12], msg[13]]) == 0x05 && msg.len() >= 64 + 56 {
                        msg[64 + 48..64 + 56].copy_from_slice(&0x4141_4141u64.to_le_bytes());
                    }
                    unsign(msg);
                    msg[40] ^= 0x01;
                });
            }
        });
        let mut o = via(&srv, &proxy);
        o.signing = SigningPolicy::Required;
        let conn = Connection::connect(&o).unwrap();
        let err = conn.get_attributes("share", "f.txt").unwrap_err();
        assert!(matches!(
            closed_reason(err),
            CloseReason::Protocol(smb_proto::Violation::ForeignSession { .. })
        ));
    }

    #[test]
    fn a_forged_validate_negotiate_answer_from_another_session_is_refused() {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .max_dialect("SMB3_02")
            .signing_required()
            .start();
        let proxy = Proxy::start(target(&srv), |dir, i, m| {
            if dir != Direction::ToClient {
                return;
            }
            if i == 0 {
                m[CAPABILITIES] &= !0x04; // hide LARGE_MTU
            }
            if command(m) == Some(0x0B) {
                // Make the answer agree with the tampered negotiate; keep SIGNED, foreign session.
                let out = u32::from_le_bytes(m[96..100].try_into().unwrap()) as usize;
                m[out] &= !0x04;
                m[40] ^= 0x01;
            }
        });
        let conn = Connection::connect(&via(&srv, &proxy)).expect("login");
        let err = conn.list_path("share", "", "*").unwrap_err();
        assert!(matches!(
            closed_reason(err),
            CloseReason::Protocol(_) | CloseReason::Negotiate(_)
        ));
    }

    /// Emptying the final token changes a signed message, so the login must end with a bad
    /// signature; what it must never do is fall back to an unsigned guest session.
    #[test]
    fn an_empty_final_session_setup_token_never_yields_an_unsigned_session() {
        for max in [Dialect::Smb210, Dialect::Smb302, Dialect::Smb311] {
            let srv = SambaServer::builder().share(Share::new("share")).start();
            let proxy = Proxy::start(target(&srv), |dir, _, m| {
                if dir == Direction::ToClient && command(m) == Some(0x01) && m[8..12] == [0; 4] {
                    m[64 + 6..64 + 8].fill(0); // SecurityBufferLength = 0
                }
            });
            let mut o = via(&srv, &proxy);
            o.max_dialect = max;
            match Connection::connect(&o) {
                Ok(conn) => assert!(!conn.is_guest() && conn.is_signing(), "{max}: downgraded"),
                Err(e) => assert!(
                    matches!(
                        closed_reason(e),
                        CloseReason::BadSignature { command: 1, .. }
                    ),
                    "{max}"
                ),
            }
        }
    }

    #[test]
    fn a_forged_guest_flag_on_a_real_login_is_refused() {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .max_dialect("SMB2_10")
            .start();
        let proxy = Proxy::start(target(&srv), |dir, _, m| {
            if dir == Direction::ToClient && command(m) == Some(0x01) && m[8..12] == [0; 4] {
                m[64 + 2] |= 0x01; // SessionFlags: IS_GUEST
                unsign(m);
            }
        });
        let err = Connection::connect(&via(&srv, &proxy)).unwrap_err();
        assert!(err.to_string().contains("guest"), "{err}");
    }

    /// Rewrites EndOfFile in every CREATE and CLOSE response (body offset 48 in both).
    fn report_size(size: u64) -> impl Fn(Direction, usize, &mut Vec<u8>) + Send + Sync {
        move |dir, _, m| {
            if dir != Direction::ToClient || m.starts_with(&[0xFD, b'S', b'M', b'B']) {
                return;
            }
            each_message(m, |msg| {
                let cmd = u16::from_le_bytes([msg[12], msg[13]]);
                let ok = msg[8..12] == [0; 4];
                if (cmd == 0x05 || cmd == 0x06) && ok && msg.len() >= 64 + 56 {
                    msg[64 + 48..64 + 56].copy_from_slice(&size.to_le_bytes());
                }
            });
        }
    }

    /// A server that reports a size lower than the file's (here 0) once made a download
    /// an empty file and a success; it must bring every byte, as smbclient does.
    #[test]
    fn a_size_reported_too_low_never_truncates_a_download() {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .global("server signing", "auto")
            .start();
        let disk = srv.share_path("share");
        // One READ's worth (the CREATE+READ+CLOSE compound), and several READs in flight.
        let files = [
            ("small.bin", data(1 << 20, 7)),
            ("big.bin", data(20 << 20, 8)),
        ];
        for (name, bytes) in &files {
            std::fs::write(disk.join(name), bytes).unwrap();
        }
        let proxy = Proxy::start(target(&srv), report_size(0));
        let mut o = via(&srv, &proxy);
        // Unsigned, so the proxy's change goes through as a lying server's would.
        o.signing = SigningPolicy::WhenRequired;
        let conn = Connection::connect(&o).unwrap();
        assert!(!conn.is_signing());
        assert_eq!(conn.get_attributes("share", "big.bin").unwrap().size, 0);
        for (name, bytes) in &files {
            let mut got = Vec::new();
            let n = conn.retrieve_file("share", name, &mut got).unwrap();
            assert_eq!(n, bytes.len() as u64, "{name}");
            assert!(got == *bytes, "{name}: the bytes differ");
        }
        let copy = [("big.bin".to_string(), disk.join("copy.bin"))];
        assert_eq!(conn.retrieve_files("share", &copy).unwrap(), 20 << 20);
        assert!(std::fs::read(disk.join("copy.bin")).unwrap() == files[1].1);
    }

    /// A size reported higher than the file's: the download ends in an error naming the
    /// file, never in a short success.
    #[test]
    fn a_size_reported_too_high_is_an_error() {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .global("server signing", "auto")
            .start();
        std::fs::write(srv.share_path("share").join("f.bin"), data(100_000, 9)).unwrap();
        let proxy = Proxy::start(target(&srv), report_size(50 << 20));
        let mut o = via(&srv, &proxy);
        o.signing = SigningPolicy::WhenRequired;
        let conn = Connection::connect(&o).unwrap();
        let err = conn
            .retrieve_file("share", "f.bin", &mut Vec::new())
            .unwrap_err();
        match err {
            smb_blocking::Error::Smb(SmbError::Incomplete { op, path, detail }) => {
                assert_eq!((op, path.as_str()), ("get", "f.bin"));
                assert!(detail.contains("changed"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }
}
