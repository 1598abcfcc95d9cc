//! The README's "Record and replay" example, replayed with no server: the recording was
//! made once against a private Samba (`cargo run -p smb-tests --bin record-session --
//! tests/tests/data/file_report.smbrec --example`) and committed; this test needs no
//! Samba, no network and no password.

use smb_blocking::{Connection, Recording, Replay};
use smb_tests::example::{file_report, REPORT};

fn recording() -> Recording {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/file_report.smbrec");
    let text = std::fs::read_to_string(path).expect("the committed recording");
    Recording::parse(&text).expect("a complete recording")
}

#[test]
fn the_example_replays_with_no_server() {
    let replay = Replay::new(recording()).unwrap();
    let conn = Connection::replay(&replay).unwrap();
    assert_eq!(file_report(&conn, REPORT).unwrap(), ["q1.txt"]);
    conn.close().unwrap();
    replay.finish().unwrap();
}

#[test]
fn a_changed_report_is_caught_in_its_write() {
    let replay = Replay::new(recording()).unwrap();
    let conn = Connection::replay(&replay).unwrap();
    let err = file_report(&conn, b"revenue: 43\n")
        .unwrap_err()
        .to_string();
    // The data is signed: the WRITE's signature differs before its data does.
    assert!(err.contains("replay diverged at outgoing offset"), "{err}");
    assert!(err.contains("WRITE request"), "{err}");
    assert!(replay.finish().is_err());
}
