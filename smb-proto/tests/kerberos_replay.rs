//! A Kerberos session our client recorded against a Samba AD DC
//! (`tests/tests/kerberos_replay.rs` in the `smb-tests` crate writes it when
//! `SMB_RS_WRITE_KERBEROS_VECTOR` is set), replayed on the bare core with no KDC and no
//! server: the recorded KDC replies feed the core's AS and TGS exchanges, which make the
//! same AP-REQ; the signing keys from its AP-REP sign every later request as recorded,
//! through the replay script (mkdir, put and get of a file, stat, list, rename, delete).

use smb_proto::replay::{Record, Recording, Replay, ReplayError};

#[allow(dead_code)]
#[path = "../../tests/src/fixtures.rs"]
mod fixtures;
#[allow(dead_code)]
#[path = "../../tests/src/script.rs"]
mod script;

use script::CoreReplay;

/// The test DC's default user's password (the harness's test account): the recorded
/// AS-REP decrypts only with it. The recording itself holds no password.
const PASSWORD: &str = "Sm0ke-Test!pw";
/// The length of the file the recorded script put and got.
const FILE_LEN: usize = 3000;

fn recording() -> Recording {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/kerberos/session-311.smbrec"
    );
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!text.contains(PASSWORD));
    Recording::parse(&text).unwrap()
}

/// Logs in as the recording did with `password` and plays the script → the replay's
/// verdict, then the script's.
fn replay(recording: &Recording, password: &str) -> (Result<(), ReplayError>, Result<(), String>) {
    let replay = Replay::new(recording.clone()).unwrap();
    let setup = replay.setup();
    let opts = setup.connect_options().user(&setup.user, password);
    let played = CoreReplay::login_as(&replay, &opts)
        .map_err(|e| format!("login: {e}"))
        .and_then(|mut core| core.play_script(FILE_LEN));
    (replay.finish(), played)
}

#[test]
fn a_recorded_kerberos_session_replays_on_the_bare_core() {
    let recorded = recording();
    assert!(recorded.setup.kerberos.is_some());
    let attempts = recorded
        .records
        .iter()
        .filter(|r| matches!(r, Record::Kdc(_)))
        .count();
    assert_eq!(attempts, 3);
    let (verdict, played) = replay(&recorded, PASSWORD);
    verdict.unwrap();
    played.unwrap();
}

#[test]
fn a_kerberos_replay_with_another_password_or_reply_diverges() {
    let recorded = recording();
    // The encrypted timestamp of the second AS-REQ is made with the password's key.
    let (verdict, played) = replay(&recorded, "Wr0ng-Pass!x");
    assert!(
        matches!(verdict, Err(ReplayError::KdcDiverged { index: 1, .. })),
        "{verdict:?}"
    );
    assert!(played.is_err());
    // A TGS-REP altered in its encrypted part: the login fails, nothing is signed.
    let mut altered = recorded.clone();
    let Some(Record::Kdc(tgs)) = altered
        .records
        .iter_mut()
        .filter(|r| matches!(r, Record::Kdc(_)))
        .nth(2)
    else {
        panic!("no third KDC attempt");
    };
    let reply = tgs.reply.as_mut().unwrap();
    let last = reply.len() - 1;
    reply[last] ^= 1;
    let (verdict, played) = replay(&altered, PASSWORD);
    let e = played.unwrap_err();
    assert!(e.contains("Kerberos"), "{e}");
    // The client sent nothing after the SMB NEGOTIATE: the rest of the recording is owed.
    assert!(
        matches!(verdict, Err(ReplayError::Incomplete { .. })),
        "{verdict:?}"
    );
}
