//! A broken network between the client and Samba, through the harness's fault-injecting
//! proxy: the connection cut at many points of a session (negotiate, session setup,
//! tree connect, a listing, a download, an upload) in either direction always ends in
//! a typed error within the timeout, never a hang or a short success; 1-byte segments
//! and delays change nothing; a stall times out; a corrupted byte of a signed or
//! encrypted session, or bytes sent twice, are detected.

use std::fs;
use std::time::{Duration, Instant};

use smb_blocking::{ConnectOptions, Connection, ErrorKind};
use smb_tests::fault::{Direction, Fault, FaultProxy};
use smb_tests::fixtures::{data, sha256};
use smb_tests::{SambaServer, Share};

/// The per-request timeout of every client here.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Bytes of the file downloaded (a third of it uploaded).
const SIZE: usize = 3 * 1024 * 1024 + 123;
/// Bytes of the smaller one, for faults that make the proxy slow (a write per byte).
const SMALL: usize = 70_001;

fn server(builder: smb_tests::SambaBuilder) -> SambaServer {
    let srv = builder.share(Share::new("share")).start();
    let dir = srv.share_path("share");
    fs::create_dir(dir.join("dir")).unwrap();
    for i in 0..40 {
        fs::write(dir.join(format!("dir/entry-{i:02}.txt")), b"x").unwrap();
    }
    fs::write(dir.join("down.bin"), data(SIZE, 7)).unwrap();
    fs::write(dir.join("small.bin"), data(SMALL, 7)).unwrap();
    srv
}

fn through(srv: &SambaServer, proxy: &FaultProxy) -> ConnectOptions {
    let mut opts = srv.connect_options();
    opts.port = proxy.port();
    opts.timeout = TIMEOUT;
    // Each cut here must end in an error: a download would otherwise resume on a new
    // connection (tests/durable.rs shows that).
    opts.reconnect = None;
    opts
}

/// A whole session: login, a listing, a download and an upload, each checked; returns
/// the download's digest.
fn session(opts: &ConnectOptions) -> smb_blocking::Result<[u8; 32]> {
    session_of(opts, "down.bin", SIZE)
}

/// [`session`], downloading `name` of `size` bytes.
fn session_of(opts: &ConnectOptions, name: &str, size: usize) -> smb_blocking::Result<[u8; 32]> {
    let conn = Connection::connect(opts)?;
    let listed = conn.list_path("share", "dir", "*")?;
    assert_eq!(listed.len(), 40, "a listing cut short must not succeed");
    let mut down = Vec::new();
    let n = conn.retrieve_file("share", name, &mut down)?;
    assert_eq!(
        (n, down.len()),
        (size as u64, size),
        "a download cut short must not succeed"
    );
    let up = data(size / 3, 9);
    let n = conn.store_file("share", "up.bin", &mut &up[..])?;
    assert_eq!(n, up.len() as u64, "an upload cut short must not succeed");
    Ok(sha256(&down))
}

/// Cut points spread over `total` bytes: dense where the handshake is, sparser after.
fn cut_points(total: u64) -> Vec<u64> {
    let mut points: Vec<u64> = (0..40).map(|i| i * 97).collect();
    points.extend((1..=24).map(|i| total * i / 25));
    points.retain(|p| *p < total);
    points.sort_unstable();
    points.dedup();
    points
}

/// The kinds a broken network may surface as.
fn network_kind(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Disconnected | ErrorKind::TimedOut | ErrorKind::ProtocolViolation
    )
}

#[test]
fn every_cut_point_in_either_direction_is_a_typed_error_in_time() {
    let srv = server(SambaServer::builder());
    let expected = sha256(&data(SIZE, 7));
    let clean = FaultProxy::start(srv.addr(), Fault::None);
    assert_eq!(session(&through(&srv, &clean)).unwrap(), expected);
    for direction in [Direction::ToClient, Direction::ToServer] {
        let total = clean.forwarded(direction);
        let points = cut_points(total);
        assert!(points.len() > 50, "{direction:?}: {points:?}");
        for at in points {
            let proxy = FaultProxy::start(srv.addr(), Fault::Cut(direction, at));
            let started = Instant::now();
            let e = session(&through(&srv, &proxy))
                .expect_err(&format!("{direction:?} cut at {at} of {total}: succeeded"));
            let took = started.elapsed();
            assert!(
                network_kind(e.kind()),
                "{direction:?} cut at {at}: {:?}: {e}",
                e.kind()
            );
            assert!(
                took < TIMEOUT + Duration::from_secs(2),
                "{direction:?} cut at {at}: {took:?}"
            );
        }
    }
}

#[test]
fn one_byte_segments_and_delays_change_nothing() {
    let srv = server(SambaServer::builder());
    let expected = sha256(&data(SMALL, 7));
    for fault in [
        Fault::Segments(Direction::ToClient),
        Fault::Segments(Direction::ToServer),
        Fault::Delay(Direction::ToClient, Duration::from_millis(2)),
    ] {
        let proxy = FaultProxy::start(srv.addr(), fault);
        let digest = session_of(&through(&srv, &proxy), "small.bin", SMALL)
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(digest, expected, "{fault:?}");
        assert!(proxy.forwarded(Direction::ToClient) > SMALL as u64);
    }
}

#[test]
fn a_stalled_server_times_out() {
    let srv = server(SambaServer::builder());
    let clean = FaultProxy::start(srv.addr(), Fault::None);
    session(&through(&srv, &clean)).unwrap();
    // Stalled in the middle of the download: the connection stays open, nothing comes.
    let half = clean.forwarded(Direction::ToClient) / 2;
    let proxy = FaultProxy::start(srv.addr(), Fault::Stall(Direction::ToClient, half));
    let started = Instant::now();
    let e = session(&through(&srv, &proxy)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    let took = started.elapsed();
    assert!(
        took >= TIMEOUT && took < TIMEOUT * 3,
        "timed out after {took:?}"
    );
}

#[test]
fn a_corrupted_byte_of_a_signed_or_encrypted_session_is_detected() {
    for (what, builder) in [
        ("signed", SambaServer::builder().signing_required()),
        ("encrypted", SambaServer::builder().encryption_required()),
    ] {
        let srv = server(builder);
        let clean = FaultProxy::start(srv.addr(), Fault::None);
        session(&through(&srv, &clean)).unwrap();
        let total = clean.forwarded(Direction::ToClient);
        // Bytes deep in the download, past the handshake: protected by signature or
        // encryption, not by any length check.
        for at in [total / 3, total / 2 + 17, total * 3 / 4 + 101] {
            let proxy = FaultProxy::start(srv.addr(), Fault::Corrupt(Direction::ToClient, at));
            let e = session(&through(&srv, &proxy))
                .expect_err(&format!("{what}: a corrupted byte at {at} went unnoticed"));
            assert_eq!(
                e.kind(),
                ErrorKind::ProtocolViolation,
                "{what} at {at}: {e}"
            );
        }
    }
}

#[test]
fn bytes_sent_twice_are_detected() {
    let srv = server(SambaServer::builder());
    let clean = FaultProxy::start(srv.addr(), Fault::None);
    session(&through(&srv, &clean)).unwrap();
    let total = clean.forwarded(Direction::ToClient);
    for at in [100, total / 2] {
        let proxy = FaultProxy::start(srv.addr(), Fault::Duplicate(Direction::ToClient, at));
        let started = Instant::now();
        let e = session(&through(&srv, &proxy))
            .expect_err(&format!("a duplicated piece at {at} went unnoticed"));
        assert!(network_kind(e.kind()), "at {at}: {:?}: {e}", e.kind());
        assert!(started.elapsed() < TIMEOUT + Duration::from_secs(2));
    }
}

/// A watch on `dir` through `proxy` with a half-second keep-alive.
fn watching(srv: &SambaServer, proxy: &FaultProxy) -> (Connection, smb_blocking::Watcher) {
    let mut opts = through(srv, proxy);
    opts.keep_alive = Some(Duration::from_millis(500));
    let conn = Connection::connect(&opts).unwrap();
    let w = conn
        .watch(
            "share",
            "dir",
            smb_blocking::notify_filter::FILE_NAME,
            false,
        )
        .unwrap();
    (conn, w)
}

#[test]
fn the_keep_alive_holds_a_quiet_watch_up_and_notices_a_dead_peer() {
    let srv = server(SambaServer::builder());
    // Alive: a quiet watch outlives the request timeout, ECHOs going back and forth.
    let proxy = FaultProxy::start(srv.addr(), Fault::None);
    let (conn, mut w) = watching(&srv, &proxy);
    let asked = proxy.forwarded(Direction::ToServer);
    assert!(w.next_within(TIMEOUT + Duration::from_secs(1)).is_none());
    assert!(!w.is_ended());
    assert!(
        proxy.forwarded(Direction::ToServer) - asked >= 4 * 64,
        "keep-alive ECHOs went out"
    );
    drop(w);
    conn.echo().unwrap();

    // Dead: the server's side goes silent once the watch is armed; the ECHO finds out.
    let proxy = FaultProxy::start(srv.addr(), Fault::None);
    let (_conn, mut w) = watching(&srv, &proxy);
    proxy.silence(Direction::ToClient);
    let started = Instant::now();
    let e = w
        .next_within(Duration::from_secs(20))
        .expect("the dead peer noticed")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(e.to_string().contains("keep-alive"), "{e}");
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(500) + TIMEOUT + Duration::from_secs(6),
        "{took:?}"
    );
    assert!(w.is_ended());
}
