//! Recordings: any text parses into a recording or a typed error, never a panic; what
//! parses prints back to text that parses to the same recording, and replaying it with
//! arbitrary client bytes ends in a verdict, not a panic or an unbounded allocation. The
//! recorder, fed arbitrary bytes in both directions, writes text that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smb_proto::client::ConnectOptions;
use smb_proto::replay::{Incoming, RecordOptions, Recorder, Recording, Replay, Setup};

fuzz_target!(|data: &[u8]| {
    let (head, rest) = data.split_at(data.len().min(1));
    if let Ok(text) = std::str::from_utf8(rest) {
        if let Ok(rec) = Recording::parse(text) {
            let printed = rec.to_text();
            assert_eq!(Recording::parse(&printed).as_ref(), Ok(&rec));
            if let Ok(replay) = Replay::new(rec) {
                let mut buf = [0u8; 512];
                for chunk in rest.chunks(97) {
                    let _ = replay.write(chunk);
                    if matches!(replay.read(&mut buf), Incoming::Waiting | Incoming::Ended) {
                        let _ = replay.stall();
                    }
                }
                let _ = replay.finish();
            }
        }
    }
    // The recorder: the first byte picks the options and how the rest alternates.
    let opts = ConnectOptions::new("fuzz");
    let digests = head.first().is_some_and(|b| b & 1 != 0);
    let options = RecordOptions { digests };
    let setup = Setup::new(&opts, &opts.config(|| [1; 32], 0), options);
    let mut recorder = Recorder::new(&setup, options);
    let step = usize::from(head.first().copied().unwrap_or(7) >> 1).max(1);
    for (i, chunk) in rest.chunks(step).enumerate() {
        let _ = if i % 3 == 2 {
            recorder.received(chunk)
        } else {
            recorder.sent(chunk)
        };
    }
    recorder.finish();
    let text = recorder.take_text();
    match Recording::parse(&text) {
        Ok(rec) => assert_eq!(rec.to_text(), text),
        Err(e) => assert!(text.contains("\nrefused "), "{e}"),
    }
});
