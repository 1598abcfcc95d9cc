//! Leases and oplocks against Samba, between two connections (two clients, as far as the
//! server knows): a second open breaks the first's lease, the first acknowledges, the
//! second's open completes at once (not after the server's break timeout) and sees the
//! data written under the write lease; reads and stats served from the cache while the
//! lease allows read caching (shown by changing the file behind the server's back) go
//! to the server again after a break; on SMB 2.0.2 a batch oplock breaks the same way.
//! On the blocking client, and on the tokio one, whose connection task acknowledges
//! breaks with no call running.

use std::io::{Read, Seek, SeekFrom, Write};
use std::thread;
use std::time::{Duration, Instant};

use smb_blocking::{Connection, File, LeaseState, OpenOptions};
use smb_proto::wire::create::oplock_level;
use smb_tests::{SambaServer, Share};

const SHARE: &str = "share";
const NAME: &str = "leased.txt";
const RWH: u32 = LeaseState::R | LeaseState::W | LeaseState::H;
/// Samba's oplock/lease break timeout is 35 s: an open that took anything near it was
/// granted because the break timed out, not because it was acknowledged.
const ACKED_WITHIN: Duration = Duration::from_secs(5);

fn server(builder: smb_tests::SambaBuilder) -> SambaServer {
    let srv = builder.share(Share::new(SHARE)).start();
    std::fs::write(srv.share_path(SHARE).join(NAME), b"original").unwrap();
    srv
}

fn connect(srv: &SambaServer) -> Connection {
    Connection::connect(&srv.connect_options()).unwrap()
}

fn read_all(f: &mut File) -> Vec<u8> {
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut v = Vec::new();
    f.read_to_end(&mut v).unwrap();
    v
}

/// Opens the file on `b` in another thread while `a` serves breaks; returns the file,
/// how long the open took, and the state `a`'s file went to.
fn second_open(a: &Connection, fa: &File, b: Connection) -> (File, Duration, LeaseState) {
    let before = fa.lease_state().unwrap();
    let started = Instant::now();
    let opener = thread::spawn(move || {
        let f = b
            .open(SHARE, NAME, OpenOptions::read_write_create())
            .unwrap();
        (f, started.elapsed())
    });
    while !opener.is_finished() && started.elapsed() < Duration::from_secs(60) {
        a.poll_breaks(Duration::from_millis(100)).unwrap();
    }
    let (fb, took) = opener.join().unwrap();
    let after = fa.lease_state().unwrap();
    assert!(after.breaks > before.breaks, "{before:?} -> {after:?}");
    (fb, took, after)
}

#[test]
fn a_second_open_breaks_the_write_lease_and_sees_the_data_written_under_it() {
    let srv = server(SambaServer::builder());
    let (a, b) = (connect(&srv), connect(&srv));
    let mut fa = a
        .open_leased(SHARE, NAME, OpenOptions::read_write_create(), RWH)
        .unwrap();
    let granted = fa.lease_state().unwrap();
    assert_eq!((granted.bits, granted.oplock), (RWH, None), "{granted}");
    assert_eq!(granted.to_string(), "RWH");
    fa.write_all(b"written by A under RWH").unwrap();

    let (mut fb, took, broken) = second_open(&a, &fa, b);
    assert!(
        took < ACKED_WITHIN,
        "B's open waited {took:?}: no acknowledgment"
    );
    assert!(
        !broken.write() && broken.read(),
        "A keeps R without W: {broken}"
    );
    assert_eq!(read_all(&mut fb), b"written by A under RWH");
    // A's handle goes on working after the break.
    assert_eq!(read_all(&mut fa), b"written by A under RWH");
    fa.close().unwrap();
    fb.close().unwrap();
}

#[test]
fn cached_reads_and_stats_go_to_the_server_again_after_a_break() {
    let srv = server(SambaServer::builder());
    let (a, b) = (connect(&srv), connect(&srv));
    let mut fa = a
        .open_leased(
            SHARE,
            NAME,
            OpenOptions::read(),
            LeaseState::R | LeaseState::H,
        )
        .unwrap();
    let granted = fa.lease_state().unwrap();
    assert!(granted.read(), "read caching granted: {granted}");
    assert_eq!(read_all(&mut fa), b"original");
    assert_eq!(fa.stat().unwrap().size, 8);

    // Behind Samba's back (no SMB open, so no break): A's reads and stats come from its
    // cache, so they still say what A read before.
    std::fs::write(srv.share_path(SHARE).join(NAME), b"changed on disk!").unwrap();
    assert_eq!(read_all(&mut fa), b"original", "served from the cache");
    assert_eq!(fa.stat().unwrap().size, 8, "stat from the cache");

    // B writes over SMB: Samba breaks A's read caching, and A's next reads ask the server.
    let mut fb = b
        .open(SHARE, NAME, OpenOptions::read_write_create())
        .unwrap();
    fb.write_all(b"new from B").unwrap();
    let started = Instant::now();
    while fa.lease_state().unwrap().read() {
        assert!(started.elapsed() < Duration::from_secs(20), "no break came");
        a.poll_breaks(Duration::from_millis(100)).unwrap();
    }
    let state = fa.lease_state().unwrap();
    assert!(state.breaks >= 1 && !state.read(), "{state:?}");
    assert_eq!(read_all(&mut fa), b"new from B disk!");
    assert_eq!(fa.stat().unwrap().size, 16);
}

#[test]
fn on_smb2_02_a_batch_oplock_is_broken_by_a_second_open() {
    let srv = server(SambaServer::builder().max_dialect("SMB2_02"));
    let (a, b) = (connect(&srv), connect(&srv));
    let mut fa = a
        .open_leased(SHARE, NAME, OpenOptions::read_write_create(), RWH)
        .unwrap();
    let granted = fa.lease_state().unwrap();
    assert_eq!(granted.oplock, Some(oplock_level::BATCH), "{granted}");
    assert_eq!(granted.to_string(), "batch");
    fa.write_all(b"written by A under a batch oplock").unwrap();

    let (mut fb, took, broken) = second_open(&a, &fa, b);
    assert!(
        took < ACKED_WITHIN,
        "B's open waited {took:?}: no acknowledgment"
    );
    assert!(
        matches!(broken.oplock, Some(oplock_level::II | oplock_level::NONE)),
        "{broken:?}"
    );
    assert!(!broken.write());
    assert_eq!(read_all(&mut fb), b"written by A under a batch oplock");
}

#[test]
fn a_file_opened_without_a_lease_reports_none_and_reads_from_the_server() {
    let srv = server(SambaServer::builder());
    let a = connect(&srv);
    let mut fa = a.open(SHARE, NAME, OpenOptions::read()).unwrap();
    assert_eq!(fa.lease_state().unwrap(), LeaseState::default());
    assert_eq!(read_all(&mut fa), b"original");
    std::fs::write(srv.share_path(SHARE).join(NAME), b"changed").unwrap();
    assert_eq!(read_all(&mut fa), b"changed");
}

/// The tokio client's connection task reads all the time, so it acknowledges a break
/// while the leased file sits idle: no polling by the caller.
#[test]
fn tokio_acknowledges_a_break_with_no_call_running() {
    use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
    let srv = server(SambaServer::builder());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let a = smb_tokio::Client::connect(&srv.connect_options())
            .await
            .unwrap();
        let b = smb_tokio::Client::connect(&srv.connect_options())
            .await
            .unwrap();
        let mut fa = a
            .open_leased(SHARE, NAME, OpenOptions::read_write_create(), RWH)
            .await
            .unwrap();
        assert_eq!(fa.lease_state().await.unwrap().bits, RWH);
        fa.write_all(b"async under RWH").await.unwrap();
        fa.flush().await.unwrap();
        let mut cached = Vec::new();
        fa.seek(SeekFrom::Start(0)).await.unwrap();
        fa.read_to_end(&mut cached).await.unwrap();
        assert_eq!(cached, b"async under RWH");

        let started = Instant::now();
        let mut fb = b
            .open(SHARE, NAME, OpenOptions::read_write_create())
            .await
            .unwrap();
        let took = started.elapsed();
        assert!(
            took < ACKED_WITHIN,
            "B's open waited {took:?}: no acknowledgment"
        );
        let broken = fa.lease_state().await.unwrap();
        assert!(broken.breaks >= 1 && !broken.write(), "{broken:?}");
        let mut seen = Vec::new();
        fb.read_to_end(&mut seen).await.unwrap();
        assert_eq!(seen, b"async under RWH");

        // B changes the file; once A's read caching is broken, A reads B's bytes.
        fb.seek(SeekFrom::Start(0)).await.unwrap();
        fb.write_all(b"ASYNC").await.unwrap();
        fb.flush().await.unwrap();
        let started = Instant::now();
        while fa.lease_state().await.unwrap().read() {
            assert!(started.elapsed() < Duration::from_secs(20), "no break came");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut again = Vec::new();
        fa.seek(SeekFrom::Start(0)).await.unwrap();
        fa.read_to_end(&mut again).await.unwrap();
        assert_eq!(again, b"ASYNC under RWH");
    });
}
