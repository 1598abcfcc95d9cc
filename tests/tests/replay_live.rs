//! Determinism against the live server: record the replay script against a private smbd,
//! then replay the recording (through its text form) on a second connection with no
//! network, which must transmit exactly the same bytes. This also keeps the recorder
//! that produced `smb-proto/tests/data/replay/` working.

use smb_proto::{Dialect, SigningPolicy};
use smb_tests::recording::{record, replay, Entry, Recording, Setup};
use smb_tests::{SambaBuilder, SambaServer, Share};

fn record_and_replay(builder: SambaBuilder, adjust: impl FnOnce(&mut Setup)) -> Recording {
    let server = builder.share(Share::new("share")).start();
    let mut setup = Setup::new(server.host(), server.user(), server.password());
    setup.file_len = 150_000;
    adjust(&mut setup);
    let addr = format!("{}:{}", server.host(), server.port())
        .parse()
        .expect("server address");
    let rec = record(addr, setup).unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    drop(server);

    let parsed = Recording::parse(&rec.to_string()).expect("parse the text form");
    assert_eq!(parsed, rec, "the text form must round-trip");
    if let Err(e) = replay(&parsed) {
        panic!("a fresh recording does not replay: {e}");
    }
    rec
}

fn sent(rec: &Recording) -> usize {
    rec.entries
        .iter()
        .map(|e| match e {
            Entry::Tx(b) => b.len(),
            _ => 0,
        })
        .sum()
}

#[test]
fn a_live_session_replays_byte_for_byte() {
    let rec = record_and_replay(SambaServer::builder(), |_| {});
    // The whole file went out, in more than one WRITE.
    assert!(sent(&rec) > 150_000, "sent only {} bytes", sent(&rec));
}

#[test]
fn an_encrypted_live_session_replays_byte_for_byte() {
    // Every frame carries a nonce from the seeded generator.
    let rec = record_and_replay(SambaServer::builder(), |s| s.encrypt = true);
    let encrypted = rec
        .entries
        .iter()
        .filter(|e| matches!(e, Entry::Tx(b) if b.get(4..8) == Some(&[0xfd, b'S', b'M', b'B'])))
        .count();
    assert!(encrypted > 10, "only {encrypted} encrypted frames sent");
}

#[test]
fn a_signing_mandatory_smb2_live_session_replays_byte_for_byte() {
    let builder = SambaServer::builder().global("server signing", "mandatory");
    record_and_replay(builder, |s| {
        s.max_dialect = Dialect::Smb210;
        s.signing = SigningPolicy::WhenRequired;
    });
}
