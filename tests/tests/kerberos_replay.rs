//! A Kerberos session recorded against the private Samba AD DC and replayed with no KDC
//! and no server: the recording holds the KDC attempts (and the time handed in with
//! each), so the replay runs the same AS and TGS exchanges on the recorded replies,
//! makes the same AP-REQ, derives the same signing keys and sends every byte as
//! recorded.

use smb_proto::replay::{Record, RecordOptions};
use smb_tests::dc::SambaDc;
use smb_tests::recording::{self, Driver};
use smb_tests::Share;

/// The script's file: small, so that the recording committed as a vector stays small.
const FILE_LEN: usize = 3000;

/// Where `SMB_RS_WRITE_KERBEROS_VECTOR=1` writes the recording, for smb-proto's test.
const VECTOR: &str = "smb-proto/tests/data/kerberos/session-311.smbrec";
/// The password the committed vector was recorded with (the test DC's default user's).
const VECTOR_PASSWORD: &str = "Sm0ke-Test!pw";

#[test]
fn a_recorded_kerberos_session_replays_with_no_kdc_and_no_server() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let mut opts = dc
        .connect_options()
        .kerberos(smb_blocking::KerberosOptions::kdc(
            &dc.kdc_addr().to_string(),
        ));
    opts.user = dc.principal(dc.user());
    let password = dc.password().to_string();
    let recorded = recording::record(Driver::Blocking, &opts, FILE_LEN, RecordOptions::default())
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    // The async driver records the KDC attempts it makes in its own tasks as well.
    let by_async = [Driver::Tokio, Driver::Smol].map(|driver| {
        recording::record(driver, &opts, FILE_LEN, RecordOptions::default())
            .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()))
    });
    // No KDC, no server from here on.
    drop(dc);
    let kdc: Vec<_> = recorded
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Kdc(k) => Some(k),
            _ => None,
        })
        .collect();
    // AS without pre-authentication (PREAUTH_REQUIRED), AS with it, TGS.
    assert_eq!(kdc.len(), 3, "{kdc:?}");
    assert!(kdc.iter().all(|k| k.reply.is_ok()), "{kdc:?}");
    let text = recorded.to_text();
    assert!(
        !text.contains(&password),
        "the recording holds the password"
    );
    assert!(text.contains("\nkerberos kdcs="), "no kerberos setup line");
    let setup = recorded.setup.clone();
    let as_recorded = setup.connect_options().user(&setup.user, &password);
    assert!(as_recorded.kerberos.is_some());
    recording::replay_as(&recorded, &as_recorded, FILE_LEN).unwrap();
    for r in &by_async {
        let kdc = r
            .records
            .iter()
            .filter(|r| matches!(r, Record::Kdc(_)))
            .count();
        assert_eq!(kdc, 3);
        recording::replay_as(r, &as_recorded, FILE_LEN).unwrap();
    }
    // The async drivers replay every driver's recording the same, the KDC attempts
    // answered by the recording.
    for r in std::iter::once(&recorded).chain(&by_async) {
        for driver in [Driver::Tokio, Driver::Smol] {
            recording::replay_async_as(driver, r, &as_recorded, FILE_LEN).unwrap();
        }
    }
    // The text form replays the same.
    let parsed = smb_proto::replay::Recording::parse(&text).unwrap();
    assert_eq!(parsed, recorded);
    // Another password: the AS-REQ with the encrypted timestamp is not the recorded one.
    let wrong = setup.connect_options().user(&setup.user, "Wr0ng-Pass!x");
    let e = recording::replay_as(&recorded, &wrong, FILE_LEN).unwrap_err();
    assert!(e.contains("KDC attempt 1"), "{e}");
    for driver in [Driver::Tokio, Driver::Smol] {
        let e = recording::replay_async_as(driver, &recorded, &wrong, FILE_LEN).unwrap_err();
        assert!(e.contains("KDC attempt 1"), "{driver:?}: {e}");
    }
    if std::env::var_os("SMB_RS_WRITE_KERBEROS_VECTOR").is_some() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(VECTOR);
        std::fs::write(&path, &text).unwrap();
    }
}

/// The committed vector (written by the test above) replays on tokio with no DC at all:
/// the recording answers the KDC attempts and the server's side.
#[test]
fn the_committed_kerberos_vector_replays_on_tokio_with_no_network() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(VECTOR);
    let text = std::fs::read_to_string(path).unwrap();
    let recorded = smb_proto::replay::Recording::parse(&text).unwrap();
    let kdc = recorded
        .records
        .iter()
        .filter(|r| matches!(r, Record::Kdc(_)))
        .count();
    assert_eq!(kdc, 3);
    let setup = &recorded.setup;
    // The test DC's default user's password, which the vector's AS-REP decrypts with.
    let opts = setup.connect_options().user(&setup.user, VECTOR_PASSWORD);
    assert!(opts.kerberos.is_some());
    recording::replay_async_as(Driver::Tokio, &recorded, &opts, FILE_LEN).unwrap();
    let wrong = setup.connect_options().user(&setup.user, "Wr0ng-Pass!x");
    let e = recording::replay_async_as(Driver::Tokio, &recorded, &wrong, FILE_LEN).unwrap_err();
    assert!(e.contains("KDC attempt 1"), "{e}");
}
