//! Replay of sessions our client recorded against Samba (DESIGN.md testing ladder, step
//! 4): with no network, the same config, seed, clock and server bytes must make the core
//! transmit the recorded bytes exactly and report the recorded events; a server message
//! altered in transit must end the connection with the right reason.
//!
//! The recordings in `tests/data/replay/` come from `cargo run -p smb-tests --bin
//! record-session` (see the README there). Re-record them when the client's wire
//! behaviour changes on purpose.

use std::path::PathBuf;

use bytes::BytesMut;
use smb_proto::connection::framing::FramingError;
use smb_proto::wire::header::flags;
use smb_proto::wire::{Command, DecodeError, Header, HEADER_LEN};
use smb_proto::{CloseReason, Error, Event};

// The script, the file format and the replayer are shared with the recorder in the
// `smb-tests` crate, and so are the test-data helpers the script uses; only the
// live-recording half and the helpers for live tests go unused here.
#[allow(dead_code)]
#[path = "../../tests/src/fixtures.rs"]
mod fixtures;
#[allow(dead_code)]
#[path = "../../tests/src/recording.rs"]
mod recording;

use recording::{replay, Entry, Recording, Replayer};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/replay")
}

fn load(name: &str) -> Recording {
    let path = data_dir().join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    Recording::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn recordings() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data_dir())
        .expect("tests/data/replay")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_recording_replays_byte_for_byte() {
    let names = recordings();
    assert!(
        names.iter().any(|n| n == "session-311.txt"),
        "session-311.txt missing from {names:?}"
    );
    for name in names {
        let rec = load(&name);
        let tx = rec
            .entries
            .iter()
            .filter(|e| matches!(e, Entry::Tx(_)))
            .count();
        assert!(tx > 20, "{name}: only {tx} transmits");
        if let Err(e) = replay(&rec) {
            panic!("{name} does not replay: {e}");
        }
    }
}

#[test]
fn the_text_format_round_trips() {
    let text = std::fs::read_to_string(data_dir().join("session-311.txt")).unwrap();
    let rec = Recording::parse(&text).unwrap();
    assert_eq!(Recording::parse(&rec.to_string()).unwrap(), rec);
}

#[test]
fn a_replay_with_another_seed_diverges() {
    // Guards the replay itself: if it compared nothing, this would pass too.
    let rec = load("session-311.txt");
    let mut r = Replayer::new(&rec.setup);
    let mut other = rec.setup.config();
    other.seed[0] ^= 1;
    *r.connection() = smb_proto::Connection::new(other, r.at(0));
    let err = rec
        .entries
        .iter()
        .try_for_each(|e| r.apply(e))
        .expect_err("a different seed must change the NEGOTIATE (client GUID, salt)");
    assert!(err.contains("transmitted bytes differ"), "{err}");
}

/// Where a server frame lies in the recording: the `Rx` entry holding its first byte,
/// and its offset in that entry.
struct FrameAt {
    entry: usize,
    offset: usize,
    header: Header,
    len: usize,
}

/// Every server frame of the recording whose bytes all arrived in one read.
fn frames(rec: &Recording) -> Vec<FrameAt> {
    let mut out = Vec::new();
    let mut stream = Vec::new();
    let mut entry_of = Vec::new();
    for (i, e) in rec.entries.iter().enumerate() {
        if let Entry::Rx { bytes, .. } = e {
            entry_of.extend(std::iter::repeat_n((i, stream.len()), bytes.len()));
            stream.extend_from_slice(bytes);
        }
    }
    let mut at = 0;
    while at + 4 <= stream.len() {
        let len = u32::from_be_bytes([0, stream[at + 1], stream[at + 2], stream[at + 3]]) as usize;
        let (entry, start) = entry_of[at];
        let end = at + 4 + len;
        if end <= stream.len() && entry_of[end - 1].0 == entry {
            if let Ok(header) = Header::decode(&stream[at + 4..end]) {
                out.push(FrameAt {
                    entry,
                    offset: at - start,
                    header,
                    len,
                });
            }
        }
        at = end;
    }
    out
}

/// Replays `rec` up to the read that carries `frame`, feeds that read with `corrupt`
/// applied to the frame (4-byte transport header included), and returns the events it
/// caused and the replayer.
fn replay_corrupted(
    rec: &Recording,
    frame: &FrameAt,
    corrupt: impl FnOnce(&mut [u8]),
) -> (Vec<Event>, Replayer) {
    let mut r = Replayer::new(&rec.setup);
    for (i, e) in rec.entries[..frame.entry].iter().enumerate() {
        r.apply(e)
            .unwrap_or_else(|m| panic!("entry {i} before the corruption: {m}"));
    }
    let Entry::Rx { t, bytes } = &rec.entries[frame.entry] else {
        unreachable!("frames() points at rx entries")
    };
    let mut bytes = bytes.clone();
    corrupt(&mut bytes[frame.offset..frame.offset + 4 + frame.len]);
    let now = r.at(*t);
    r.connection()
        .handle_input(now, &mut BytesMut::from(&bytes[..]));
    let mut events = Vec::new();
    while let Some(ev) = r.connection().poll_event() {
        events.push(ev);
    }
    (events, r)
}

/// The connection ended once with `reason`, and the operation in flight failed with it.
fn assert_closed(events: &[Event], r: &mut Replayer, reason: &CloseReason) {
    let closed: Vec<&CloseReason> = events
        .iter()
        .filter_map(|e| match e {
            Event::Closed(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(closed, [reason], "events: {events:?}");
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::Done { result: Err(Error::Closed(r)), .. } if r == reason
        )),
        "the pending operation must fail with the close reason: {events:?}"
    );
    assert_eq!(r.connection().close_reason(), Some(reason));
    let mut tx = Vec::new();
    assert!(!r.connection().poll_transmit(&mut tx), "sent after closing");
}

#[test]
fn a_flipped_byte_in_a_signed_response_is_a_bad_signature() {
    let rec = load("session-311.txt");
    // The first signed response after login that is not SESSION_SETUP (whose final
    // response is verified by the login itself).
    let frames = frames(&rec);
    let frame = frames
        .iter()
        .find(|f| {
            f.header.is_signed()
                && f.header.command != Command::SessionSetup as u16
                && f.header.next_command == 0
        })
        .expect("a signed response in session-311");
    let (events, mut r) = replay_corrupted(&rec, frame, |b| {
        let last = b.len() - 1;
        b[last] ^= 0x01;
    });
    let reason = CloseReason::BadSignature {
        command: frame.header.command,
        message_id: frame.header.message_id,
    };
    assert_closed(&events, &mut r, &reason);

    // A flipped bit in the signature itself is caught the same way.
    let (events, mut r) = replay_corrupted(&rec, frame, |b| b[4 + 48] ^= 0x80);
    assert_closed(&events, &mut r, &reason);
}

#[test]
fn a_corrupt_frame_header_ends_the_connection() {
    let rec = load("session-311.txt");
    let frames = frames(&rec);
    // A response in the middle of the session, with an operation waiting for it.
    let frame = frames
        .iter()
        .find(|f| f.header.command == Command::Create as u16 && f.len > 100)
        .expect("a CREATE response in session-311");
    assert_eq!(frame.header.flags & flags::SERVER_TO_REDIR, 1);

    let (events, mut r) = replay_corrupted(&rec, frame, |b| b[0] = 0x42);
    assert_closed(
        &events,
        &mut r,
        &CloseReason::Framing(FramingError::UnknownType(0x42)),
    );

    // The transport header announces 32 bytes: less than an SMB2 header.
    let (events, mut r) = replay_corrupted(&rec, frame, |b| b[1..4].copy_from_slice(&[0, 0, 32]));
    let truncated = DecodeError::Truncated {
        what: "smb2 message",
        offset: 0,
        need: HEADER_LEN,
        have: 32,
    };
    assert_closed(&events, &mut r, &CloseReason::Malformed(truncated));

    // Not an SMB2 message at all (0xFD and 0xFC would be transform headers).
    let (events, mut r) = replay_corrupted(&rec, frame, |b| b[5] = b'X');
    let protocol_id = u32::from_le_bytes([0xfe, b'X', b'M', b'B']);
    let bad_id = DecodeError::invalid("protocol id", protocol_id);
    assert_closed(&events, &mut r, &CloseReason::Malformed(bad_id));
}
