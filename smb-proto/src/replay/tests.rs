//! Unit tests of the format, the recorder and the replayer.

use super::*;
use crate::auth::ntlm::{
    flags as nf, AuthenticateMessage, Credentials, NtlmClient, RecordedResponses,
};
use crate::auth::spnego::neg_token_resp;
use crate::wire::header::{flags, Command, Header};
use crate::wire::session_setup::SessionSetupRequest;
use crate::wire::write::WriteRequest;

fn setup() -> Setup {
    let opts = ConnectOptions::new("files")
        .user("alice", "s3cret-pw")
        .domain("CORP");
    Setup::new(
        &opts,
        &opts.config(|| [7; 32], 1234),
        RecordOptions::default(),
    )
}

/// A frame holding `messages`, compounded.
fn frame(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let start = body.len();
        body.extend_from_slice(m);
        if i + 1 < messages.len() {
            body.resize(start + m.len().div_ceil(8) * 8, 0);
            let next = (body.len() - start) as u32;
            body[start + 20..start + 24].copy_from_slice(&next.to_le_bytes());
        }
    }
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(&body);
    f
}

fn message(command: Command, message_id: u64, response: bool, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    Header {
        command: command as u16,
        message_id,
        credits: 1,
        flags: if response { flags::SERVER_TO_REDIR } else { 0 },
        ..Default::default()
    }
    .encode(&mut m);
    m.extend_from_slice(body);
    m
}

fn write_request(message_id: u64, data: Vec<u8>) -> Vec<u8> {
    let mut m = Vec::new();
    Header {
        command: Command::Write as u16,
        message_id,
        ..Default::default()
    }
    .encode(&mut m);
    WriteRequest {
        data: data.into(),
        ..Default::default()
    }
    .encode(&mut m);
    m
}

/// What a recorder makes of these calls, parsed.
fn record(calls: &[(bool, &[u8])], options: RecordOptions) -> (String, Recording) {
    let mut r = Recorder::new(&setup(), options);
    let mut text = String::new();
    for (sent, bytes) in calls {
        if *sent {
            r.sent(bytes).unwrap();
        } else {
            r.received(bytes).unwrap();
        }
        text.push_str(&r.take_text());
    }
    r.finish();
    text.push_str(&r.take_text());
    let rec = Recording::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (text, rec)
}

fn sent_stream(rec: &Recording) -> Vec<u8> {
    rec.records
        .iter()
        .filter_map(|r| match r {
            Record::Sent(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn received_stream(rec: &Recording) -> Vec<u8> {
    rec.records
        .iter()
        .filter_map(|r| match r {
            Record::Received(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn the_recorder_keeps_every_byte_in_order_and_the_text_round_trips() {
    let negotiate = frame(&[message(Command::Negotiate, 0, false, &[0x24; 40])]);
    let answer = frame(&[message(Command::Negotiate, 0, true, &[0x41; 100])]);
    let compound = frame(&[
        message(Command::Create, 1, false, &[1; 57]),
        message(Command::Close, 2, false, &[2; 24]),
    ]);
    // The answer comes in three reads, one splitting the frame header; the compound
    // goes out in two writes with part of an answer read between them.
    let (text, rec) = record(
        &[
            (true, &negotiate),
            (false, &answer[..2]),
            (false, &answer[2..70]),
            (false, &answer[70..]),
            (true, &compound[..30]),
            (false, &answer[..10]),
            (true, &compound[30..]),
            (false, &answer[10..]),
        ],
        RecordOptions::default(),
    );
    assert_eq!(sent_stream(&rec), [&negotiate[..], &compound[..]].concat());
    assert_eq!(received_stream(&rec), [&answer[..], &answer[..]].concat());
    assert_eq!(
        rec.to_text(),
        text,
        "the text a parse prints back is the recorded one"
    );
    assert_eq!(rec.setup, setup());
    // The interleaving is kept: the second answer's first bytes come after 30 bytes of
    // the compound and before the rest.
    let kinds: Vec<(char, usize)> = rec
        .records
        .iter()
        .map(|r| match r {
            Record::Sent(b) => ('>', b.len()),
            Record::Received(b) => ('<', b.len()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ('>', negotiate.len()),
            ('<', answer.len()),
            ('>', 30),
            ('<', 10),
            ('>', compound.len() - 30),
            ('<', answer.len() - 10)
        ]
    );
    // One comment per message, naming it; lines never cross a message start.
    assert!(
        text.contains("# > NEGOTIATE request, message id 0\n"),
        "{text}"
    );
    assert!(
        text.contains("# < NEGOTIATE response, message id 0, STATUS_SUCCESS\n"),
        "{text}"
    );
    assert!(text.contains("# > CLOSE request, message id 2\n"), "{text}");
    assert!(text.lines().all(|l| l.len() <= 2 + 128), "{text}");
    // No password, and no seed shown anywhere but its own line.
    assert!(!text.contains("s3cret"));
    assert_eq!(text.matches(&hex(&[7; 32])).count(), 1);
}

#[test]
fn digests_replace_large_write_payloads_and_a_replay_checks_them() {
    let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let write = frame(&[write_request(5, data.clone())]);
    let small = frame(&[write_request(6, vec![9; 100])]);
    let digests = RecordOptions { digests: true };
    let (text, rec) = record(&[(true, &write), (true, &small)], digests);
    assert!(rec.setup.digests);
    assert!(text.contains(">sha256 20000 "), "{text}");
    assert!(
        text.len() < 2_000,
        "the payload is not in the text ({} bytes)",
        text.len()
    );
    assert_eq!(rec.sent_len(), (write.len() + small.len()) as u64);
    assert_eq!(rec.to_text(), text);

    // The same bytes replay, in any write sizes.
    let replay = Replay::new(rec.clone()).unwrap();
    for chunk in [&write[..], &small[..]].concat().chunks(777) {
        replay.write(chunk).unwrap();
    }
    replay.finish().unwrap();

    // One changed payload byte is caught by the digest.
    let replay = Replay::new(rec).unwrap();
    let mut changed = write.clone();
    changed[5000] ^= 1;
    let err = replay.write(&changed).unwrap_err();
    let ReplayError::DigestMismatch { offset, end, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!((*offset, *end), (4 + 112, 4 + 112 + 20_000));
    assert!(
        err.to_string().contains("WRITE request, message id 5"),
        "{err}"
    );
}

#[test]
fn digests_split_where_the_other_direction_came_between() {
    let data = vec![0x5a; 10_000];
    let write = frame(&[write_request(3, data)]);
    let answer = frame(&[message(Command::Echo, 1, true, &[4, 0, 0, 0])]);
    let (text, rec) = record(
        &[
            (true, &write[..6000]),
            (false, &answer),
            (true, &write[6000..]),
        ],
        RecordOptions { digests: true },
    );
    assert_eq!(text.matches(">sha256 ").count(), 2, "{text}");
    assert_eq!(rec.to_text(), text);
    let replay = Replay::new(rec).unwrap();
    replay.write(&write[..6000]).unwrap();
    let mut buf = [0u8; 1024];
    assert_eq!(replay.read(&mut buf), Incoming::Data(answer.len()));
    replay.write(&write[6000..]).unwrap();
    replay.finish().unwrap();
}

#[test]
fn input_waits_for_the_output_recorded_before_it() {
    let req = frame(&[message(Command::Echo, 1, false, &[4, 0, 0, 0])]);
    let resp = frame(&[message(Command::Echo, 1, true, &[4, 0, 0, 0])]);
    let (_, rec) = record(
        &[(true, &req), (false, &resp), (true, &req), (false, &resp)],
        RecordOptions::default(),
    );
    let replay = Replay::new(rec).unwrap();
    let mut buf = vec![0u8; 4096];
    assert_eq!(replay.read(&mut buf), Incoming::Waiting);
    replay.write(&req[..10]).unwrap();
    assert_eq!(
        replay.read(&mut buf),
        Incoming::Waiting,
        "half a request releases nothing"
    );
    replay.write(&req[10..]).unwrap();
    assert_eq!(replay.read(&mut buf[..7]), Incoming::Data(7));
    assert_eq!(replay.read(&mut buf), Incoming::Data(resp.len() - 7));
    assert_eq!(replay.read(&mut buf), Incoming::Waiting);
    // A client that waits here has not sent the second ECHO: the stall says so.
    let err = replay.stall();
    let text = err.to_string();
    assert!(text.starts_with("replay stalled"), "{text}");
    assert!(text.contains("ECHO request, message id 1"), "{text}");
    assert!(
        text.contains(&format!("after sending {} bytes", req.len())),
        "{text}"
    );
    assert_eq!(replay.finish(), Err(err.clone()));
    assert_eq!(replay.write(&req), Err(err));
}

#[test]
fn a_changed_request_names_the_offset_the_command_and_the_field() {
    let req = frame(&[message(Command::Create, 7, false, &[1; 57])]);
    let (_, rec) = record(&[(true, &req)], RecordOptions::default());

    // A body byte.
    let replay = Replay::new(rec.clone()).unwrap();
    let mut changed = req.clone();
    changed[4 + 64 + 10] = 0xee;
    replay.write(&changed[..40]).unwrap();
    let err = replay.write(&changed[40..]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("replay diverged at outgoing offset 78: CREATE request, message id 7: byte 10 of the body"),
        "{text}"
    );
    assert!(text.contains("[ee]") && text.contains("[01]"), "{text}");
    assert!(matches!(err, ReplayError::Diverged { offset: 78, .. }));

    // A header field: another command, which the error shows too.
    let replay = Replay::new(rec.clone()).unwrap();
    let mut changed = req.clone();
    changed[4 + 12] = Command::Close as u8;
    let text = replay.write(&changed).unwrap_err().to_string();
    assert!(text.contains("header field Command"), "{text}");
    assert!(
        text.contains("the client sent: CLOSE request, message id 7"),
        "{text}"
    );

    // A longer field in the second message of a compound: the frame's length differs
    // first, and the error goes on to where the content does.
    let compound = |pattern: &[u8]| {
        frame(&[
            message(Command::Create, 7, false, &[1; 57]),
            message(
                Command::QueryDirectory,
                8,
                false,
                &[[3; 32].as_slice(), pattern].concat(),
            ),
        ])
    };
    let (_, rec2) = record(&[(true, &compound(b"*\0"))], RecordOptions::default());
    let replay = Replay::new(rec2).unwrap();
    let text = replay.write(&compound(b"*.bin\0")).unwrap_err().to_string();
    assert!(
        text.contains("byte 3 of its frame's 4-byte header"),
        "{text}"
    );
    assert!(
        text.contains("the client's frame is 4 bytes longer"),
        "{text}"
    );
    assert!(
        text.contains("QUERY_DIRECTORY request, message id 8: byte 33 of the body"),
        "{text}"
    );

    // More than the recording holds.
    let replay = Replay::new(rec).unwrap();
    replay.write(&req).unwrap();
    let echo = frame(&[message(Command::Echo, 8, false, &[4, 0, 0, 0])]);
    let err = replay.write(&echo).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("outgoing offset {}", req.len())),
        "{text}"
    );
    assert!(
        text.contains("it sends: ECHO request, message id 8"),
        "{text}"
    );
}

#[test]
fn an_unfinished_replay_says_what_was_not_sent() {
    let first = frame(&[message(Command::Echo, 1, false, &[4, 0, 0, 0])]);
    let second = frame(&[message(Command::Logoff, 2, false, &[4, 0, 0, 0])]);
    let (_, rec) = record(&[(true, &first), (true, &second)], RecordOptions::default());
    let replay = Replay::new(rec).unwrap();
    replay.write(&first).unwrap();
    let err = replay.finish().unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("replay incomplete"), "{text}");
    assert!(text.contains("LOGOFF request, message id 2"), "{text}");
}

#[test]
fn end_of_stream_is_recorded_and_replayed() {
    let req = frame(&[message(Command::Echo, 1, false, &[4, 0, 0, 0])]);
    let mut r = Recorder::new(&setup(), RecordOptions::default());
    r.sent(&req).unwrap();
    r.server_closed();
    r.finish();
    let text = r.take_text();
    assert!(text.ends_with("eof\nend\n"), "{text}");
    let rec = Recording::parse(&text).unwrap();
    assert_eq!(rec.to_text(), text);
    let replay = Replay::new(rec).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(replay.read(&mut buf), Incoming::Waiting);
    replay.write(&req).unwrap();
    assert_eq!(replay.read(&mut buf), Incoming::Closed);
    assert_eq!(replay.read(&mut buf), Incoming::Closed);
}

#[test]
fn netbios_frames_are_named() {
    let mut request = vec![0x81, 0, 0, 4];
    request.extend_from_slice(b"\x20AB\x00");
    let (text, rec) = record(
        &[
            (true, &request),
            (false, &[0x82, 0, 0, 0]),
            (false, &[0x85, 0, 0, 0]),
        ],
        RecordOptions::default(),
    );
    assert!(text.contains("# > NetBIOS session request\n"), "{text}");
    assert!(
        text.contains("# < NetBIOS positive session response\n"),
        "{text}"
    );
    assert!(text.contains("# < NetBIOS keep-alive\n"), "{text}");
    assert_eq!(rec.to_text(), text);
}

#[test]
fn setup_values_survive_any_characters() {
    let mut s = setup();
    s.user = "ünï cöde %20 user".into();
    s.domain = String::new();
    s.server_name = "server name\twith\nbreaks".into();
    s.netbios = true;
    s.encrypt = true;
    s.ntlm_v2 = false;
    s.signing = SigningPolicy::Required;
    s.min_dialect = Dialect::Smb210;
    let rec = Recording {
        setup: s.clone(),
        records: vec![Record::Sent(vec![0, 0, 0, 0])],
    };
    let text = rec.to_text();
    assert!(text.contains("\ndomain\n"), "{text}");
    assert_eq!(Recording::parse(&text).unwrap(), rec);
    // The setup gives the recorded client's options back, with no password.
    let opts = s.connect_options();
    assert_eq!(
        (opts.user.as_str(), opts.use_ntlm_v2),
        (s.user.as_str(), false)
    );
    assert!(opts.netbios && opts.encrypt);
    let creds = opts.credentials().unwrap();
    assert_eq!(
        creds,
        Credentials::password("", s.user.as_str(), "").with_ntlm_v1()
    );
    let c = s.config();
    assert_eq!(
        (c.seed, c.filetime_now, c.max_io_size),
        (s.seed, s.filetime_now, s.max_io_size)
    );
    assert_eq!(c.server_name, s.server_name);
    assert_eq!(
        (c.min_dialect, c.max_dialect, c.signing),
        (Dialect::Smb210, Dialect::Smb311, SigningPolicy::Required)
    );
    assert_eq!(Setup::new(&opts, &c, RecordOptions::default()), s);
    assert!(!format!("{s:?}").contains(&hex(&s.seed)));
}

#[test]
fn malformed_recordings_are_typed_errors_never_panics() {
    let req = frame(&[message(Command::Echo, 1, false, &[4, 0, 0, 0])]);
    let (text, _) = record(
        &[(true, &req), (false, &req)],
        RecordOptions { digests: true },
    );
    use ParseErrorKind as K;
    let kind = |t: &str| Recording::parse(t).unwrap_err().kind;
    assert_eq!(kind(""), K::NotARecording);
    assert_eq!(kind("hello\n"), K::NotARecording);
    assert_eq!(kind("smb-recording 9\n"), K::UnsupportedVersion("9".into()));
    assert_eq!(kind(&text.replace("end\n", "")), K::Truncated);
    assert_eq!(kind(&format!("{text}> 00\n")), K::AfterEnd);
    assert_eq!(
        kind(&text.replace("ntlm v2\n", "")),
        K::MissingSetup("ntlm")
    );
    assert_eq!(
        kind(&text.replace("ntlm v2\n", "ntlm v3\n")),
        K::BadValue("ntlm")
    );
    assert_eq!(
        kind(&text.replace("ntlm v2\n", "ntlm v2\nwho knows\n")),
        K::UnknownSetup("who".into())
    );
    assert_eq!(
        kind(&text.replace("end\n", "user x\nend\n")),
        K::DuplicateSetup("user".into())
    );
    assert_eq!(kind(&text.replace("end\n", "> 0g\nend\n")), K::BadHex);
    assert_eq!(
        kind(&text.replace("end\n", "refused because\n")),
        K::Refused("because".into())
    );
    // No error shows the seed.
    let bad_seed = text.replace("seed 07", "seed 0x");
    let e = Recording::parse(&bad_seed).unwrap_err().to_string();
    assert!(!e.contains("0707070707"), "{e}");

    // Every truncation and many single-byte changes: errors or recordings, no panic,
    // and whatever parses prints and replays without panicking either.
    let bytes = text.as_bytes();
    let mut rng = crate::rng::Rng::from_seed([3; 32]);
    for n in 0..bytes.len() {
        let _ = Recording::parse(&String::from_utf8_lossy(&bytes[..n]));
    }
    for _ in 0..3000 {
        let mut b = bytes.to_vec();
        let at = (rng.u64() % b.len() as u64) as usize;
        b[at] = b"0123456789abcdef> <\n#eyfz%"[(rng.u64() % 26) as usize];
        if let Ok(rec) = Recording::parse(&String::from_utf8_lossy(&b)) {
            let _ = rec.to_text();
            if let Ok(replay) = Replay::new(rec) {
                let _ = replay.write(&b[..at.min(200)]);
                let _ = replay.read(&mut [0u8; 64]);
                let _ = replay.stall();
                let _ = replay.finish();
            }
        }
    }
}

#[test]
fn hostile_lengths_allocate_nothing_big() {
    let text = Recording {
        setup: setup(),
        records: vec![
            Record::SentDigest {
                len: u64::MAX,
                sha256: [0; 32],
            },
            Record::Sent(vec![0xff, 0xff, 0xff, 0xff, 1]),
            Record::Received(vec![0x00, 0xff, 0xff, 0xff]),
        ],
    }
    .to_text();
    let rec = Recording::parse(&text).unwrap();
    let replay = Replay::new(rec).unwrap();
    assert_eq!(replay.progress().1, u64::MAX);
    replay.write(&[1; 1000]).unwrap();
}

/// A CHALLENGE message with a timestamp, offering `flags`.
fn challenge(flags: u32) -> Vec<u8> {
    let mut target_info = Vec::new();
    target_info.extend_from_slice(&1u16.to_le_bytes()); // MsvAvNbComputerName
    target_info.extend_from_slice(&4u16.to_le_bytes());
    target_info.extend_from_slice(b"S\0V\0");
    target_info.extend_from_slice(&7u16.to_le_bytes()); // MsvAvTimestamp
    target_info.extend_from_slice(&8u16.to_le_bytes());
    target_info.extend_from_slice(&133_485_408_000_000_000u64.to_le_bytes());
    target_info.extend_from_slice(&[0; 4]);
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&2u32.to_le_bytes());
    m.extend_from_slice(&[0, 0, 0, 0, 56, 0, 0, 0]); // empty target name at 56
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&[0x11; 8]);
    m.extend_from_slice(&[0; 8]);
    let len = target_info.len() as u16;
    m.extend_from_slice(&len.to_le_bytes());
    m.extend_from_slice(&len.to_le_bytes());
    m.extend_from_slice(&56u32.to_le_bytes());
    m.extend_from_slice(&crate::auth::ntlm::DEFAULT_VERSION);
    m.extend_from_slice(&target_info);
    m
}

const SERVER_FLAGS: u32 = nf::NEGOTIATE_UNICODE
    | nf::NEGOTIATE_NTLM
    | nf::NEGOTIATE_SIGN
    | nf::NEGOTIATE_ALWAYS_SIGN
    | nf::NEGOTIATE_EXTENDED_SESSIONSECURITY
    | nf::NEGOTIATE_TARGET_INFO
    | nf::NEGOTIATE_VERSION
    | nf::NEGOTIATE_128
    | nf::NEGOTIATE_KEY_EXCH;

fn client(creds: Credentials) -> NtlmClient {
    let mut c = NtlmClient::new(creds, "SMB-RS", [0x22; 8], [0x33; 16], 0);
    let _ = c.negotiate_message();
    c
}

#[test]
fn with_key_exchange_the_recorded_responses_stand_in_for_the_password() {
    for creds in [
        Credentials::password("CORP", "alice", "s3cret-pw"),
        Credentials::password("CORP", "alice", "s3cret-pw").with_ntlm_v1(),
    ] {
        let ch = challenge(SERVER_FLAGS);
        let mut live = client(creds.clone());
        let sent = live.authenticate_message(&ch).unwrap();
        let responses =
            RecordedResponses::from_message(&AuthenticateMessage::parse(&sent).unwrap());

        // The replay knows the user but not the password.
        let user = Credentials::password("CORP", "alice", "");
        let user = if creds.is_ntlm_v1() {
            user.with_ntlm_v1()
        } else {
            user
        };
        let mut replayed = client(user);
        replayed.replay(responses);
        assert_eq!(
            replayed.authenticate_message(&ch).unwrap(),
            sent,
            "{creds:?}"
        );
        assert_eq!(replayed.session_key(), live.session_key());
        assert_eq!(
            replayed.mech_list_mic(b"mechTypes").unwrap(),
            live.mech_list_mic(b"mechTypes").unwrap()
        );
    }
}

/// An outgoing frame with a SESSION_SETUP carrying `authenticate`.
fn session_setup(authenticate: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    Header {
        command: Command::SessionSetup as u16,
        message_id: 2,
        ..Default::default()
    }
    .encode(&mut m);
    SessionSetupRequest {
        security_buffer: neg_token_resp(authenticate, Some(&[0; 16])).into(),
        ..Default::default()
    }
    .encode(&mut m);
    frame(&[m])
}

#[test]
fn a_login_without_key_exchange_is_refused_with_why() {
    let mut c = client(Credentials::password("", "alice", "pw"));
    let no_kx = c
        .authenticate_message(&challenge(SERVER_FLAGS & !nf::NEGOTIATE_KEY_EXCH))
        .unwrap();
    let mut r = Recorder::new(&setup(), RecordOptions::default());
    let err = r.sent(&session_setup(&no_kx)).unwrap_err();
    assert_eq!(err, RecordError::NoKeyExchange);
    assert!(err.to_string().contains("key exchange"), "{err}");
    assert!(r.is_ended());
    assert_eq!(r.sent(&[0]), Err(RecordError::Ended));
    let text = r.take_text();
    assert!(
        text.trim_end().ends_with(&format!("refused {err}")),
        "{text}"
    );
    let e = Recording::parse(&text).unwrap_err();
    assert!(
        e.to_string().contains("the recorder refused this session"),
        "{e}"
    );

    // A recording holding such a login (made some other way) does not replay.
    let rec = Recording {
        setup: setup(),
        records: vec![Record::Sent(session_setup(&no_kx))],
    };
    let err = Replay::new(rec).unwrap_err();
    assert!(matches!(err, ReplayError::Unreplayable(_)), "{err}");

    // Anonymous logins have no key to exchange, and are recorded as they are.
    let mut c = client(Credentials::anonymous());
    let anonymous = c.authenticate_message(&challenge(SERVER_FLAGS)).unwrap();
    let mut r = Recorder::new(&setup(), RecordOptions::default());
    r.sent(&session_setup(&anonymous)).unwrap();
    r.finish();
    let rec = Recording::parse(&r.take_text()).unwrap();
    Replay::new(rec).unwrap();
}

#[test]
fn a_replayed_connection_logs_in_with_the_recorded_responses() {
    let mut c = client(Credentials::password("", "alice", "pw"));
    let sent = c.authenticate_message(&challenge(SERVER_FLAGS)).unwrap();
    let rec = Recording {
        setup: setup(),
        records: vec![Record::Sent(session_setup(&sent))],
    };
    let replay = Replay::new(rec).unwrap();
    let conn = replay.connection(replay.config(), std::time::Instant::now());
    assert_eq!(conn.core_replay_logins(), 1);
}

#[test]
fn the_recorder_writes_text_that_parses_whatever_bytes_move() {
    let mut rng = crate::rng::Rng::from_seed([5; 32]);
    for round in 0..2000 {
        let digests = round % 2 == 0;
        let mut r = Recorder::new(&setup(), RecordOptions { digests });
        let mut sent = Vec::new();
        let mut received = Vec::new();
        for _ in 0..(rng.u64() % 20) {
            let len = (rng.u64() % 300) as usize;
            let mut chunk = vec![0u8; len];
            rng.fill(&mut chunk);
            // Mostly small frame lengths and real magic, so frames complete and parse.
            if chunk.len() > 8 && rng.u64().is_multiple_of(2) {
                chunk[..4].copy_from_slice(&((len as u32 - 4) & 0xff).to_be_bytes());
                chunk[4..8].copy_from_slice(b"\xfeSMB");
            }
            if rng.u64().is_multiple_of(3) {
                r.received(&chunk).unwrap();
                received.extend_from_slice(&chunk);
            } else {
                r.sent(&chunk).unwrap();
                sent.extend_from_slice(&chunk);
            }
        }
        r.finish();
        let text = r.take_text();
        let rec = Recording::parse(&text).unwrap_or_else(|e| panic!("round {round}: {e}\n{text}"));
        assert_eq!(rec.to_text(), text, "round {round}");
        assert_eq!(received_stream(&rec), received, "round {round}");
        assert_eq!(rec.sent_len(), sent.len() as u64, "round {round}");
        if !digests {
            assert_eq!(sent_stream(&rec), sent, "round {round}");
        }
        let replay = Replay::new(rec).unwrap();
        replay.write(&sent).unwrap();
        replay.finish().unwrap();
    }
}

#[test]
fn a_set_client_guid_is_recorded_and_replayed_and_a_drawn_one_is_not_written() {
    let drawn = setup();
    assert_eq!(drawn.client_guid, None);
    let mut text = String::new();
    text::write_setup(&drawn, &mut text);
    assert!(!text.contains("client-guid"), "{text}");

    // A connection made again after a loss negotiates the lost one's ClientGuid: its
    // recording must say so, or its NEGOTIATE would not replay.
    let opts = ConnectOptions::new("files").reconnection([0xab; 16]);
    let set = Setup::new(
        &opts,
        &opts.config(|| [7; 32], 1234),
        RecordOptions::default(),
    );
    assert_eq!(set.client_guid, Some([0xab; 16]));
    let rec = Recording {
        setup: set.clone(),
        records: vec![Record::Sent(vec![1, 2, 3])],
    };
    let back = Recording::parse(&rec.to_text()).unwrap();
    assert_eq!(back.setup, set);
    assert_eq!(back.setup.config().client_guid, Some([0xab; 16]));
    assert_eq!(
        set.config().keep_alive,
        None,
        "a replay sends no keep-alive"
    );
}

#[test]
fn a_recorded_connection_sends_no_keep_alive() {
    let (target, _recording) = crate::client::RecordTarget::memory();
    let plain = ConnectOptions::new("files");
    assert!(plain.config(|| [7; 32], 0).keep_alive.is_some());
    let recorded = plain.record(target);
    assert_eq!(recorded.config(|| [7; 32], 0).keep_alive, None);
}

#[test]
fn a_recording_with_smb1_on_is_refused() {
    let mut s = setup();
    s.min_dialect = Dialect::Nt1;
    let rec = Recording {
        setup: s,
        records: vec![Record::Sent(vec![0, 0, 0, 0])],
    };
    // The text form carries it (NT1 parses), and the replay refuses it.
    assert_eq!(Recording::parse(&rec.to_text()).unwrap(), rec);
    let Err(ReplayError::Unreplayable(why)) = Replay::new(rec) else {
        panic!("an SMB1 recording was accepted");
    };
    assert!(why.contains("SMB1"), "{why}");
}
