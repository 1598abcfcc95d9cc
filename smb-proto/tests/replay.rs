//! Replay of sessions our client recorded against Samba (DESIGN.md testing ladder, step
//! 4), on the public API: each recording in `tests/data/replay/` is replayed on the bare
//! core with no network, which must send the recorded bytes exactly and get the
//! script's results; a server message altered in transit must end the connection with
//! the right reason.
//!
//! The recordings come from `cargo run -p smb-tests --bin record-session` (see the
//! README there): the blocking driver playing the script. Re-record them when the
//! client's wire behaviour changes on purpose.

use std::path::PathBuf;

use bytes::Bytes;
use smb_proto::connection::framing::FramingError;
use smb_proto::replay::{Record, Recording, Replay, ReplayError};
use smb_proto::wire::header::flags;
use smb_proto::wire::{Command, DecodeError, Header, HEADER_LEN};
use smb_proto::{CloseReason, Error};

// The script and its runner on the bare core are shared with the recorder in the
// `smb-tests` crate, and so are the test-data helpers they use.
#[allow(dead_code)]
#[path = "../../tests/src/fixtures.rs"]
mod fixtures;
#[allow(dead_code)]
#[path = "../../tests/src/script.rs"]
mod script;

use script::{content, CoreReplay, STEPS};

/// Each committed recording and the length of the file its script put and got.
const RECORDINGS: [(&str, usize); 5] = [
    ("session-311.smbrec", 300_000),
    ("session-210.smbrec", 100_000),
    ("session-302-signing-mandatory.smbrec", 100_000),
    ("session-311-encrypted.smbrec", 100_000),
    ("session-311-netbios.smbrec", 100_000),
];

/// The harness's test account's password, which no recording may hold.
const PASSWORD: &str = "Sm0ke-Test!pw";

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/replay")
}

fn text(name: &str) -> String {
    let path = data_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn load(name: &str) -> Recording {
    Recording::parse(&text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_directory_holds_exactly_the_listed_recordings() {
    let mut names: Vec<String> = std::fs::read_dir(data_dir())
        .expect("tests/data/replay")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".smbrec"))
        .collect();
    names.sort();
    let mut listed: Vec<&str> = RECORDINGS.iter().map(|(n, _)| *n).collect();
    listed.sort();
    assert_eq!(names, listed);
}

#[test]
fn every_recording_replays_byte_for_byte() {
    for (name, file_len) in RECORDINGS {
        let rec = load(name);
        assert!(
            rec.sent_len() > file_len as u64,
            "{name}: only {} bytes sent",
            rec.sent_len()
        );
        let replay = Replay::new(rec).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut core = CoreReplay::login(&replay).unwrap_or_else(|e| panic!("{name}: login: {e}"));
        let played = core.play_script(file_len);
        if let Err(e) = replay.finish() {
            panic!("{name} does not replay: {e}");
        }
        played.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(core.closed.is_empty(), "{name}: {:?}", core.closed);
    }
}

#[test]
fn no_recording_holds_the_password_and_the_text_round_trips() {
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let utf16: Vec<u8> = PASSWORD
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let forms = [
        PASSWORD.to_string(),
        hex(PASSWORD.as_bytes()),
        hex(&utf16),
        hex(&smb_proto::auth::ntlm::nt_hash(PASSWORD)),
    ];
    for (name, _) in RECORDINGS {
        let text = text(name);
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "{name} holds the password ({form})"
            );
        }
        let printed = Recording::parse(&text).unwrap().to_text();
        if let Some((i, (a, b))) = text
            .lines()
            .zip(printed.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
        {
            panic!(
                "{name}, line {}: the file has\n{a}\nits parse prints\n{b}",
                i + 1
            );
        }
        assert_eq!(printed.len(), text.len(), "{name}");
    }
}

#[test]
fn a_replay_with_another_seed_diverges_at_the_negotiate() {
    // Guards the replay itself: if it compared nothing, this would pass too.
    let mut rec = load("session-311.smbrec");
    rec.setup.seed[0] ^= 1;
    let replay = Replay::new(rec).unwrap();
    let Err(err) = CoreReplay::login(&replay) else {
        panic!("a replay with another seed logged in");
    };
    assert!(
        matches!(err, Error::Closed(CloseReason::Transport(_))),
        "{err}"
    );
    let ReplayError::Diverged {
        offset,
        recorded_at,
        ..
    } = replay.finish().unwrap_err()
    else {
        panic!("expected a divergence");
    };
    // The ClientGuid, the first thing drawn from the seed, is in the NEGOTIATE's body.
    assert!(
        recorded_at.starts_with("NEGOTIATE request, message id 0: byte"),
        "{recorded_at}"
    );
    assert!(
        err.to_string()
            .contains(&format!("outgoing offset {offset}")),
        "{err}"
    );
}

/// Where a server frame lies in the received stream, with its first header.
struct FrameAt {
    offset: usize,
    header: Header,
    len: usize,
}

fn received(rec: &Recording) -> Vec<u8> {
    rec.records
        .iter()
        .filter_map(|r| match r {
            Record::Received(b) => Some(&b[..]),
            _ => None,
        })
        .flatten()
        .copied()
        .collect()
}

/// Every plain SMB2 frame the client received.
fn frames(rec: &Recording) -> Vec<FrameAt> {
    let stream = received(rec);
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= stream.len() {
        let len = u32::from_be_bytes([0, stream[at + 1], stream[at + 2], stream[at + 3]]) as usize;
        if let Ok(header) = Header::decode(&stream[at + 4..(at + 4 + len).min(stream.len())]) {
            out.push(FrameAt {
                offset: at,
                header,
                len,
            });
        }
        at += 4 + len;
    }
    out
}

/// `rec` with `corrupt` applied to `frame` (its 4-byte transport header included).
fn corrupted(rec: &Recording, frame: &FrameAt, corrupt: impl FnOnce(&mut [u8])) -> Recording {
    let mut stream = received(rec);
    corrupt(&mut stream[frame.offset..frame.offset + 4 + frame.len]);
    let mut rec = rec.clone();
    let mut at = 0;
    for r in &mut rec.records {
        if let Record::Received(b) = r {
            let n = b.len();
            b.copy_from_slice(&stream[at..at + n]);
            at += n;
        }
    }
    rec
}

/// Replays the script on `rec` until a step fails with the connection's end; checks the
/// connection ended once, with `reason`, and sent nothing after.
fn assert_closed(rec: Recording, reason: &CloseReason) {
    let replay = Replay::new(rec).unwrap();
    let mut core = CoreReplay::login(&replay).unwrap();
    let content = Bytes::from(content(300_000));
    let failure = STEPS
        .iter()
        .find_map(|step| match core.step(*step, &content, &mut Vec::new()) {
            Err(Error::Closed(r)) => Some(r),
            _ => None,
        })
        .expect("a step fails with the connection's end");
    assert_eq!(&failure, reason);
    assert_eq!(core.closed, std::slice::from_ref(reason), "ended once");
    assert_eq!(core.conn.close_reason(), Some(reason));
    let mut tx = Vec::new();
    assert!(!core.conn.poll_transmit(&mut tx), "sent after closing");
}

#[test]
fn a_flipped_byte_in_a_signed_response_is_a_bad_signature() {
    let rec = load("session-311.smbrec");
    // The first signed response after login that is not SESSION_SETUP (whose final
    // response is verified by the login itself) and is no compound.
    let frames = frames(&rec);
    let frame = frames
        .iter()
        .find(|f| {
            f.header.is_signed()
                && f.header.command != Command::SessionSetup as u16
                && f.header.next_command == 0
        })
        .expect("a signed response in session-311");
    let reason = CloseReason::BadSignature {
        command: frame.header.command,
        message_id: frame.header.message_id,
    };
    assert_closed(
        corrupted(&rec, frame, |b| {
            let last = b.len() - 1;
            b[last] ^= 0x01;
        }),
        &reason,
    );
    // A flipped bit in the signature itself is caught the same way.
    assert_closed(corrupted(&rec, frame, |b| b[4 + 48] ^= 0x80), &reason);
}

#[test]
fn a_corrupt_frame_header_ends_the_connection() {
    let rec = load("session-311.smbrec");
    let frames = frames(&rec);
    // A response in the middle of the session, with an operation waiting for it.
    let frame = frames
        .iter()
        .find(|f| f.header.command == Command::Create as u16 && f.len > 100)
        .expect("a CREATE response in session-311");
    assert_eq!(frame.header.flags & flags::SERVER_TO_REDIR, 1);

    let unknown = CloseReason::Framing(FramingError::UnknownType(0x42));
    assert_closed(corrupted(&rec, frame, |b| b[0] = 0x42), &unknown);

    // The transport header announces 32 bytes: less than an SMB2 header.
    let truncated = DecodeError::Truncated {
        what: "smb2 message",
        offset: 0,
        need: HEADER_LEN,
        have: 32,
    };
    assert_closed(
        corrupted(&rec, frame, |b| b[1..4].copy_from_slice(&[0, 0, 32])),
        &CloseReason::Malformed(truncated),
    );

    // Not an SMB2 message at all (0xFD and 0xFC would be transform headers).
    let protocol_id = u32::from_le_bytes([0xfe, b'X', b'M', b'B']);
    let bad_id = DecodeError::invalid("protocol id", protocol_id);
    assert_closed(
        corrupted(&rec, frame, |b| b[5] = b'X'),
        &CloseReason::Malformed(bad_id),
    );
}
