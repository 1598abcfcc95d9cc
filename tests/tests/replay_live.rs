//! Record once, replay forever, against a live server: the script recorded by each
//! driver against a private smbd is replayed with no network by every driver (and by the
//! bare core), byte for byte; a changed request is caught with its diff; digests stand
//! in for uploads; a client that waits for input the recording holds back fails instead
//! of hanging; and no recording holds the password.

use std::sync::Arc;
use std::time::{Duration, Instant};

use smb_proto::client::{ConnectOptions, RecordTarget};
use smb_proto::replay::{Record, RecordOptions, Recording, Replay, ReplayError};
use smb_proto::{Dialect, SigningPolicy};
use smb_tests::recording::{self, play_async, record, replay, replay_core, Driver};
use smb_tests::script::{DIR, FILE, SHARE};
use smb_tests::{SambaBuilder, SambaServer, Share};

fn server(builder: SambaBuilder) -> SambaServer {
    builder.share(Share::new(SHARE)).start()
}

/// A file of three 1 MiB READs and WRITEs plus a bit: multi-credit requests, several
/// in flight, and the async client's paced reads.
const BIG: usize = 3 * 1024 * 1024 + 12_345;

/// Replays `rec` on every driver and on the bare core.
fn replay_everywhere(rec: &Recording, file_len: usize, made_by: Driver) {
    for driver in Driver::ALL {
        if let Err(e) = replay(driver, rec, file_len) {
            panic!("recorded on {made_by:?}, replayed on {driver:?}: {e}");
        }
    }
    async_std_replay(rec, file_len)
        .unwrap_or_else(|e| panic!("recorded on {made_by:?}, replayed on async-std: {e}"));
    replay_core(rec, file_len)
        .unwrap_or_else(|e| panic!("recorded on {made_by:?}, replayed on the core: {e}"));
}

/// Replays on async-std's executor (smb-asyncstd with an async-std spawner).
fn async_std_replay(rec: &Recording, file_len: usize) -> Result<(), String> {
    let replay = Replay::new(rec.clone()).map_err(|e| e.to_string())?;
    let runtime = smb_asyncstd::runtime_with(Arc::new(|f| {
        async_std::task::spawn(f);
    }));
    let played = async_std::task::block_on(async {
        let client = smb_asyncstd::Client::replay_with(&replay, runtime)
            .await
            .map_err(|e| format!("login: {e}"))?;
        play_async(client, file_len).await
    });
    replay.finish().map_err(|e| e.to_string())?;
    played
}

/// Checks that `text` holds no form of the test account's password.
fn assert_no_password(text: &str, password: &str) {
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let utf16: Vec<u8> = password
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let nt_hash = smb_proto::auth::ntlm::nt_hash(password);
    for form in [
        password.to_string(),
        hex(password.as_bytes()),
        hex(&utf16),
        hex(&nt_hash),
    ] {
        assert!(
            !text.contains(&form),
            "the recording holds the password ({form})"
        );
    }
}

#[test]
fn a_recording_made_by_each_driver_replays_on_every_driver() {
    for driver in Driver::ALL {
        let srv = server(SambaServer::builder());
        let rec = record(
            driver,
            &srv.connect_options(),
            BIG,
            RecordOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
        drop(srv);
        assert!(
            rec.sent_len() > 2 * BIG as u64 / 2,
            "{driver:?} sent {}",
            rec.sent_len()
        );
        assert!(
            rec.received_len() > BIG as u64,
            "{driver:?} got {}",
            rec.received_len()
        );
        let text = rec.to_text();
        assert_no_password(&text, smb_tests::DEFAULT_PASSWORD);
        assert_eq!(Recording::parse(&text).unwrap(), rec);
        replay_everywhere(&rec, BIG, driver);
    }
}

#[test]
fn small_ios_several_in_flight_replay_across_drivers() {
    // 64 KiB reads and writes: sixteen in flight at once, one credit each.
    let srv = server(SambaServer::builder());
    let mut opts = srv.connect_options();
    opts.max_io_size = 65536;
    let rec = record(Driver::Tokio, &opts, 1_000_000, RecordOptions::default()).unwrap();
    drop(srv);
    replay_everywhere(&rec, 1_000_000, Driver::Tokio);
}

#[test]
fn encrypted_signed_smb2_and_netbios_sessions_replay_across_drivers() {
    // Every frame carries a nonce from the seeded generator.
    let srv = server(SambaServer::builder());
    let mut opts = srv.connect_options();
    opts.encrypt = true;
    let rec = record(Driver::Smol, &opts, 200_000, RecordOptions::default()).unwrap();
    let encrypted = rec.to_text().matches("encrypted message").count();
    assert!(encrypted > 10, "only {encrypted} encrypted messages");
    replay_everywhere(&rec, 200_000, Driver::Smol);

    // SMB 2.1, signing only because the server requires it.
    let srv = server(SambaServer::builder().signing_required());
    let mut opts = srv.connect_options();
    opts.max_dialect = Dialect::Smb210;
    opts.signing = SigningPolicy::WhenRequired;
    let rec = record(Driver::Blocking, &opts, 200_000, RecordOptions::default()).unwrap();
    assert!(rec.to_text().contains("signed"), "no signed message");
    replay_everywhere(&rec, 200_000, Driver::Blocking);

    // The NetBIOS session service.
    let srv = server(SambaServer::builder());
    let mut opts = srv.connect_options();
    opts.netbios = true;
    opts.server_name = Some("*SMBSERVER".into());
    let rec = record(Driver::Tokio, &opts, 10_000, RecordOptions::default()).unwrap();
    assert!(rec.setup.netbios);
    assert!(rec.to_text().contains("# > NetBIOS session request"));
    replay_everywhere(&rec, 10_000, Driver::Tokio);
}

#[test]
fn a_changed_request_is_caught_with_its_diff() {
    let srv = server(SambaServer::builder());
    let (target, buffer) = RecordTarget::memory();
    let conn = smb_blocking::Connection::connect(&srv.connect_options().record(target)).unwrap();
    conn.create_directory(SHARE, DIR).unwrap();
    conn.store_file(SHARE, FILE, &mut &b"some data"[..])
        .unwrap();
    let names: Vec<String> = conn
        .list_path(SHARE, DIR, "*")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["data.bin"]);
    conn.close().unwrap();
    let rec = buffer.recording().unwrap();
    drop(srv);

    // The same program with another pattern: the QUERY_DIRECTORY differs.
    let replay = Replay::new(rec.clone()).unwrap();
    let conn = smb_blocking::Connection::replay(&replay).unwrap();
    conn.create_directory(SHARE, DIR).unwrap();
    conn.store_file(SHARE, FILE, &mut &b"some data"[..])
        .unwrap();
    let err = conn.list_path(SHARE, DIR, "*.bin").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("replay diverged at outgoing offset"),
        "{text}"
    );
    assert!(text.contains("QUERY_DIRECTORY request"), "{text}");
    let ReplayError::Diverged {
        offset,
        recorded_at,
        sent_bytes,
        recorded_bytes,
        detail,
    } = replay.finish().unwrap_err()
    else {
        panic!("expected a divergence");
    };
    // The longer pattern makes the frame longer: its length differs first (in the
    // CREATE it is compounded with), and the detail names the field that changed.
    assert!(
        recorded_at.contains("frame's 4-byte header"),
        "{recorded_at}"
    );
    assert!(detail.contains("bytes longer"), "{detail}");
    assert!(
        detail.contains("QUERY_DIRECTORY request, message id"),
        "{detail}"
    );
    assert!(text.contains(&format!("offset {offset}")), "{text}");
    assert!(sent_bytes.contains('[') && recorded_bytes.contains('['));
    assert_ne!(sent_bytes, recorded_bytes);

    // Other data in the upload: the WRITE (compounded with its CREATE) differs; on tokio.
    let replay = Replay::new(rec.clone()).unwrap();
    let err = recording::tokio_runtime().block_on(async {
        let client = smb_tokio::Client::replay(&replay).await.unwrap();
        client.create_directory(SHARE, DIR).await.unwrap();
        client
            .store_file(SHARE, FILE, &mut &b"other data"[..])
            .await
            .unwrap_err()
    });
    let text = err.to_string();
    assert!(
        text.contains("replay diverged at outgoing offset"),
        "{text}"
    );
    assert!(
        text.contains("CREATE request") || text.contains("WRITE request"),
        "{text}"
    );

    // Another call in place of the recorded one: the command differs.
    let replay = Replay::new(rec).unwrap();
    let conn = smb_blocking::Connection::replay(&replay).unwrap();
    conn.create_directory(SHARE, DIR).unwrap();
    conn.store_file(SHARE, FILE, &mut &b"some data"[..])
        .unwrap();
    conn.list_path(SHARE, DIR, "*").unwrap();
    let text = conn.echo().unwrap_err().to_string();
    assert!(text.contains("LOGOFF request, message id"), "{text}");
    assert!(text.contains("header field Command"), "{text}");
    assert!(text.contains("the client sent: ECHO request"), "{text}");
}

#[test]
fn digests_stand_in_for_uploads_and_still_check_them() {
    let srv = server(SambaServer::builder());
    let digests = RecordOptions { digests: true };
    let rec = record(Driver::Blocking, &srv.connect_options(), BIG, digests).unwrap();
    let plain = record(
        Driver::Blocking,
        &srv.connect_options(),
        BIG,
        RecordOptions::default(),
    )
    .unwrap();
    // Unsigned, so that nothing but the digest covers the data.
    let mut unsigned = srv.connect_options();
    unsigned.signing = SigningPolicy::Never;
    let unsigned = record(Driver::Tokio, &unsigned, BIG, digests).unwrap();
    drop(srv);
    assert!(rec.setup.digests);
    let (with, without) = (rec.to_text().len(), plain.to_text().len());
    // The upload is a digest, the download stays: about half the text.
    assert!(with < without * 2 / 3, "{with} vs {without} bytes");
    assert!(rec
        .records
        .iter()
        .any(|r| matches!(r, Record::SentDigest { .. })));
    replay_everywhere(&rec, BIG, Driver::Blocking);
    replay_everywhere(&unsigned, BIG, Driver::Tokio);

    // Another upload of the same length: in a signed session the WRITE's signature
    // differs before its data does.
    let other = vec![7u8; BIG];
    let replay = Replay::new(rec).unwrap();
    let conn = smb_blocking::Connection::replay(&replay).unwrap();
    conn.create_directory(SHARE, DIR).unwrap();
    let text = conn
        .store_file(SHARE, FILE, &mut &other[..])
        .unwrap_err()
        .to_string();
    assert!(text.contains("WRITE request"), "{text}");
    assert!(text.contains("header field Signature"), "{text}");

    // Unsigned, the digest catches it.
    let replay = Replay::new(unsigned).unwrap();
    let conn = smb_blocking::Connection::replay(&replay).unwrap();
    conn.create_directory(SHARE, DIR).unwrap();
    let text = conn
        .store_file(SHARE, FILE, &mut &other[..])
        .unwrap_err()
        .to_string();
    assert!(text.contains("differs from the recorded digest"), "{text}");
    assert!(text.contains("WRITE request"), "{text}");
    assert!(matches!(
        replay.finish(),
        Err(ReplayError::DigestMismatch { .. })
    ));
}

/// A recording whose LOGOFF response comes only after an ECHO the client never sends.
fn held_back(rec: &Recording) -> Recording {
    let mut rec = rec.clone();
    let last_sent = rec
        .records
        .iter()
        .rposition(|r| matches!(r, Record::Sent(_)))
        .expect("a sent record");
    let mut echo = Vec::new();
    smb_proto::wire::Header {
        command: smb_proto::wire::Command::Echo as u16,
        message_id: 9999,
        ..Default::default()
    }
    .encode(&mut echo);
    echo.extend_from_slice(&[4, 0, 0, 0]);
    let mut frame = (echo.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&echo);
    rec.records.insert(last_sent + 1, Record::Sent(frame));
    rec
}

#[test]
fn a_client_waiting_for_input_held_back_fails_instead_of_hanging() {
    let srv = server(SambaServer::builder());
    let rec = record(
        Driver::Blocking,
        &srv.connect_options(),
        1000,
        RecordOptions::default(),
    )
    .unwrap();
    drop(srv);
    let rec = held_back(&rec);

    // Blocking: at once.
    let err = replay(Driver::Blocking, &rec, 1000).unwrap_err();
    assert!(err.contains("replay stalled"), "{err}");
    assert!(err.contains("ECHO request, message id 9999"), "{err}");

    // Async: once the client has waited the stall timeout with nothing to send.
    for driver in [Driver::Tokio, Driver::Smol] {
        let replay = Replay::new(rec.clone()).unwrap();
        replay.set_stall_timeout(Duration::from_millis(300));
        let started = Instant::now();
        let played = match driver {
            Driver::Tokio => recording::tokio_runtime().block_on(async {
                let client = smb_tokio::Client::replay(&replay).await.unwrap();
                play_async((*client).clone(), 1000).await
            }),
            _ => smol::block_on(async {
                let client = smb_asyncstd::replay(&replay).await.unwrap();
                play_async(client, 1000).await
            }),
        };
        let err = played.unwrap_err();
        assert!(err.contains("replay stalled"), "{driver:?}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{driver:?} took {:?}",
            started.elapsed()
        );
        let stalled = replay.finish().unwrap_err();
        assert!(matches!(stalled, ReplayError::Stalled { .. }), "{stalled}");
        assert!(
            stalled
                .to_string()
                .contains("ECHO request, message id 9999"),
            "{stalled}"
        );
    }
}

#[test]
fn a_recording_to_a_file_is_complete_when_close_returns() {
    let srv = server(SambaServer::builder());
    let dir = std::env::temp_dir().join(format!("smb-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tokio.smbrec");
    let opts: ConnectOptions = srv.connect_options().record(RecordTarget::path(&path));
    recording::play_live(Driver::Tokio, &opts, 5000).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        text.ends_with("end\n"),
        "incomplete: …{}",
        &text[text.len().saturating_sub(200)..]
    );
    assert_no_password(&text, srv.password());
    let rec = Recording::parse(&text).unwrap();
    replay(Driver::Smol, &rec, 5000).unwrap();
}

#[test]
fn two_logins_on_one_connection_replay_without_either_password() {
    const BOB: &str = "smbbob";
    const BOB_PASSWORD: &str = "B0b-secret";
    let srv = SambaServer::builder()
        .user(BOB, BOB_PASSWORD)
        .share(Share::new(SHARE))
        .share(Share::new("bobs").option("valid users", BOB))
        .start();
    let (target, buffer) = RecordTarget::memory();
    let conn = smb_blocking::Connection::connect(&srv.connect_options().record(target)).unwrap();
    let bob = conn
        .add_session(smb_blocking::Credentials::password("", BOB, BOB_PASSWORD))
        .unwrap();
    bob.store_file("bobs", "from-bob.txt", &mut &b"bob"[..])
        .unwrap();
    conn.store_file(SHARE, "from-first.txt", &mut &b"first"[..])
        .unwrap();
    drop(bob);
    conn.close().unwrap();
    let text = buffer.text();
    drop(srv);
    assert_no_password(&text, smb_tests::DEFAULT_PASSWORD);
    assert_no_password(&text, BOB_PASSWORD);
    let rec = Recording::parse(&text).unwrap();

    // On tokio, with a wrong password for Bob: the recorded responses stand in for it.
    let replay = Replay::new(rec).unwrap();
    recording::tokio_runtime().block_on(async {
        let client = smb_tokio::Client::replay(&replay).await.unwrap();
        let bob = client
            .add_session(smb_tokio::Credentials::password(
                "",
                BOB,
                "not the password",
            ))
            .await
            .unwrap();
        bob.store_file("bobs", "from-bob.txt", &mut &b"bob"[..])
            .await
            .unwrap();
        client
            .store_file(SHARE, "from-first.txt", &mut &b"first"[..])
            .await
            .unwrap();
        drop(bob);
        client.close().await.unwrap();
    });
    replay.finish().unwrap();
}

#[test]
fn a_factory_records_and_its_recording_replays_on_a_plain_client() {
    let srv = server(SambaServer::builder());
    let (target, buffer) = RecordTarget::memory();
    let opts = srv.connect_options().record(target);
    let (ended, on_end) = std::sync::mpsc::channel();
    let ended = std::sync::Mutex::new(ended);
    let factory = smb_asyncstd::SmbFactory::with_runtime(opts, smb_asyncstd::runtime())
        .on_disconnect(move |_| {
            let _ = ended.lock().unwrap().send(());
        });
    smol::block_on(async {
        factory.connect().await.unwrap();
        assert_eq!(
            factory
                .store_file(SHARE, "f.txt", &b"factory"[..])
                .await
                .unwrap(),
            7
        );
        assert_eq!(
            factory.retrieve_file(SHARE, "f.txt").await.unwrap(),
            b"factory"
        );
        factory.close_connection();
    });
    // The recording is whole once the connection has ended.
    on_end.recv_timeout(Duration::from_secs(30)).unwrap();
    let text = buffer.text();
    assert_no_password(&text, srv.password());
    let replay = Replay::new(Recording::parse(&text).unwrap()).unwrap();
    smol::block_on(async {
        let client = smb_asyncstd::replay(&replay).await.unwrap();
        let mut f: &[u8] = b"factory";
        assert_eq!(client.store_file(SHARE, "f.txt", &mut f).await.unwrap(), 7);
        assert_eq!(
            client.retrieve_file_to_vec(SHARE, "f.txt").await.unwrap(),
            b"factory"
        );
        client.close().await.unwrap();
    });
    replay.finish().unwrap();
}
