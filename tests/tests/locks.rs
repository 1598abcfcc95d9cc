//! Byte-range locks against Samba, between two connections (two clients, as far as the
//! server knows): conflicts are typed errors, shared locks overlap, a lock that waits is
//! granted when the holder unlocks and not before, a wait given up is cancelled on the
//! wire, and closing a handle releases its locks. Each on the blocking and the tokio
//! client.

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use smb_blocking::{Connection, ErrorKind, File, LockKind, NtStatus, OpenOptions};
use smb_proto::Errno;
use smb_tests::fixtures::smb_error;
use smb_tests::{SambaServer, Share};

const SHARE: &str = "share";
const NAME: &str = "locked.bin";
/// How long a test lets a waiting lock wait before it checks that it still waits: longer
/// than the per-request timeout of the waiting connection ([`REQUEST_TIMEOUT`]), so a wait
/// that timeout killed would show.
const WAIT: Duration = Duration::from_millis(2500);
/// The per-request timeout of the connection that waits.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

fn server() -> SambaServer {
    let srv = SambaServer::builder().share(Share::new(SHARE)).start();
    std::fs::write(srv.share_path(SHARE).join(NAME), vec![7u8; 4096]).unwrap();
    srv
}

/// Two connections to `srv`; the second's requests time out after [`REQUEST_TIMEOUT`].
fn two_connections(srv: &SambaServer) -> (Connection, Connection) {
    let a = Connection::connect(&srv.connect_options()).unwrap();
    let mut opts = srv.connect_options();
    opts.timeout = REQUEST_TIMEOUT;
    let b = Connection::connect(&opts).unwrap();
    (a, b)
}

fn open(conn: &Connection) -> File {
    conn.open(SHARE, NAME, OpenOptions::read_write_create())
        .unwrap()
}

/// `r` failed as a lock conflict: typed, EAGAIN, WouldBlock, the server's status.
fn assert_conflict(r: smb_blocking::Result<()>, what: &str) {
    let e = r.expect_err(what);
    assert_eq!(e.kind(), ErrorKind::LockConflict, "{what}: {e}");
    assert_eq!(e.errno(), Errno::EAGAIN, "{what}");
    assert!(
        matches!(
            smb_error(&e).status(),
            Some(NtStatus::LOCK_NOT_GRANTED | NtStatus::FILE_LOCK_CONFLICT)
        ),
        "{what}: {e}"
    );
    assert!(
        e.to_string().contains(NAME),
        "the error names the file: {e}"
    );
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::WouldBlock, "{what}");
}

#[test]
fn conflicts_shared_overlaps_and_unlocks_between_two_connections() {
    let srv = server();
    let (a, b) = two_connections(&srv);
    let fa = open(&a);
    let mut fb = open(&b);

    fa.lock(0, 100, LockKind::Exclusive).unwrap();
    assert_conflict(
        fb.try_lock(50, 10, LockKind::Exclusive),
        "exclusive in A's exclusive range",
    );
    assert_conflict(
        fb.try_lock(99, 10, LockKind::Shared),
        "shared overlapping A's exclusive range by one byte",
    );
    // Samba enforces the lock on I/O too: B may not read what A locked exclusively.
    let mut buf = [0u8; 10];
    let read = fb
        .read(&mut buf)
        .expect_err("a read in A's exclusive range");
    assert_eq!(read.kind(), std::io::ErrorKind::WouldBlock, "{read}");

    // Disjoint ranges are B's to take, waiting or not.
    fb.try_lock(100, 10, LockKind::Shared).unwrap();
    fb.lock(200, 10, LockKind::Exclusive).unwrap();

    // Shared locks overlap; an exclusive one does not fit under either.
    fa.try_lock(1000, 100, LockKind::Shared).unwrap();
    fb.try_lock(1050, 100, LockKind::Shared).unwrap();
    assert_conflict(
        fa.try_lock(1060, 10, LockKind::Exclusive),
        "exclusive under B's shared range",
    );
    // A shared lock lets others read but not write.
    fb.seek(SeekFrom::Start(1010)).unwrap();
    assert_eq!(fb.read(&mut buf).unwrap(), 10);
    fb.seek(SeekFrom::Start(1010)).unwrap();
    let write = fb.write(b"no").expect_err("a write in A's shared range");
    assert_eq!(write.kind(), std::io::ErrorKind::WouldBlock, "{write}");

    // Unlocking a range not held: typed. Not B's to release, nor twice A's.
    let e = fb.unlock(0, 100).expect_err("B unlocks A's range");
    assert_eq!(e.kind(), ErrorKind::NotLocked, "{e}");
    assert_eq!(smb_error(&e).status(), Some(NtStatus::RANGE_NOT_LOCKED));
    fa.unlock(0, 100).unwrap();
    let e = fa.unlock(0, 100).expect_err("a second unlock");
    assert_eq!(e.kind(), ErrorKind::NotLocked, "{e}");

    // A's range is free now.
    fb.try_lock(0, 100, LockKind::Exclusive).unwrap();
    assert_conflict(fa.try_lock(0, 1, LockKind::Shared), "A in the range B took");
}

#[test]
fn a_waiting_lock_is_granted_when_the_holder_unlocks_and_not_before() {
    let srv = server();
    let (a, b) = two_connections(&srv);
    let fa = open(&a);
    let fb = open(&b);
    fa.lock(0, 100, LockKind::Exclusive).unwrap();

    let granted = AtomicBool::new(false);
    let unlocked_at = std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            // Bounded, so that a server that never grants fails the test, not hangs it;
            // far past the connection's per-request timeout, which a wait ignores.
            let r = fb.lock_timeout(10, 20, LockKind::Shared, Duration::from_secs(30));
            granted.store(true, Ordering::SeqCst);
            (r, Instant::now())
        });
        std::thread::sleep(WAIT);
        assert!(
            !granted.load(Ordering::SeqCst),
            "the lock ended while A held the range"
        );
        let unlocked_at = Instant::now();
        fa.unlock(0, 100).unwrap();
        let (r, at) = waiter.join().unwrap();
        r.expect("granted once A unlocked");
        assert!(at >= unlocked_at);
        unlocked_at
    });
    assert!(unlocked_at.elapsed() < Duration::from_secs(30));
    // B holds it now: A cannot lock it exclusively.
    assert_conflict(
        fa.try_lock(15, 1, LockKind::Exclusive),
        "A in the range B waited for",
    );
    fb.unlock(10, 20).unwrap();
}

#[test]
fn a_wait_given_up_is_cancelled_and_the_connection_goes_on() {
    let srv = server();
    let (a, b) = two_connections(&srv);
    let fa = open(&a);
    let fb = open(&b);
    fa.lock(0, 100, LockKind::Exclusive).unwrap();

    let started = Instant::now();
    let e = fb
        .lock_timeout(0, 100, LockKind::Exclusive, WAIT)
        .expect_err("A holds the range throughout");
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(started.elapsed() >= WAIT, "{:?}", started.elapsed());

    // The connection is fine, and so is the handle.
    b.echo().unwrap();
    fb.try_lock(500, 10, LockKind::Exclusive).unwrap();

    // The wait was cancelled on the wire: when A unlocks, nothing grants it to B.
    fa.unlock(0, 100).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    fa.try_lock(0, 100, LockKind::Exclusive)
        .expect("B's cancelled wait did not take the range");
    let e = fb.unlock(0, 100).expect_err("B holds nothing there");
    assert_eq!(e.kind(), ErrorKind::NotLocked, "{e}");
}

#[test]
fn closing_a_handle_releases_its_locks() {
    let srv = server();
    let (a, b) = two_connections(&srv);
    let fb = open(&b);

    // An explicit close.
    let fa = open(&a);
    fa.lock(0, 100, LockKind::Exclusive).unwrap();
    fa.lock(200, 100, LockKind::Shared).unwrap();
    assert_conflict(fb.try_lock(0, 1, LockKind::Shared), "before the close");
    fa.close().unwrap();
    fb.try_lock(0, 100, LockKind::Exclusive).unwrap();
    fb.try_lock(200, 100, LockKind::Exclusive).unwrap();
    fb.unlock(0, 100).unwrap();
    fb.unlock(200, 100).unwrap();

    // A drop closes the handle too. (Not with B waiting: Samba 4.17 wakes a waiting
    // lock when the holder unlocks, but not reliably when the holder's handle closes;
    // the wait would then hang on the server's side, not this client's.)
    let fa = open(&a);
    fa.lock(0, 100, LockKind::Exclusive).unwrap();
    assert_conflict(fb.try_lock(0, 1, LockKind::Shared), "before the drop");
    drop(fa);
    fb.try_lock(0, 100, LockKind::Exclusive)
        .expect("free once A's handle is dropped");
    // Another open on A's own connection is another owner: refused.
    let fa2 = open(&a);
    assert_conflict(fa2.try_lock(0, 1, LockKind::Shared), "another open of A");
}

// ---- the tokio client ----

mod tokio_client {
    use super::*;
    use smb_tokio::Client;

    async fn two_clients(srv: &SambaServer) -> (Client, Client) {
        let a = Client::connect(&srv.connect_options()).await.unwrap();
        let mut opts = srv.connect_options();
        opts.timeout = REQUEST_TIMEOUT;
        let b = Client::connect(&opts).await.unwrap();
        (a, b)
    }

    async fn open(client: &Client) -> smb_tokio::File {
        client
            .open(SHARE, NAME, OpenOptions::read_write_create())
            .await
            .unwrap()
    }

    fn assert_conflict(r: smb_tokio::Result<()>, what: &str) {
        let e = r.expect_err(what);
        assert_eq!(e.kind(), ErrorKind::LockConflict, "{what}: {e}");
        assert_eq!(e.errno(), Errno::EAGAIN, "{what}");
    }

    #[test]
    fn locks_between_two_tokio_clients() {
        let srv = server();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let (a, b) = two_clients(&srv).await;
            let mut fa = open(&a).await;
            let mut fb = open(&b).await;

            fa.lock(0, 100, LockKind::Exclusive).await.unwrap();
            assert_conflict(
                fb.try_lock(0, 10, LockKind::Shared).await,
                "in A's exclusive range",
            );
            fb.try_lock(100, 10, LockKind::Shared).await.unwrap();
            fa.try_lock(1000, 10, LockKind::Shared).await.unwrap();
            fb.try_lock(1000, 10, LockKind::Shared).await.unwrap();
            let e = fb.unlock(0, 100).await.expect_err("not B's");
            assert_eq!(e.kind(), ErrorKind::NotLocked, "{e}");

            // A wait that is dropped is cancelled on the wire.
            let gave_up = tokio::time::timeout(WAIT, fb.lock(0, 100, LockKind::Exclusive)).await;
            assert!(gave_up.is_err(), "granted while A held it: {gave_up:?}");
            b.echo().await.unwrap();
            fb.try_lock(500, 10, LockKind::Exclusive).await.unwrap();
            fa.unlock(0, 100).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            fa.try_lock(0, 100, LockKind::Exclusive)
                .await
                .expect("B's dropped wait did not take the range");

            // A wait in a task of its own is granted when A unlocks, not before.
            let waiter = tokio::spawn(async move {
                let r = fb.lock(50, 10, LockKind::Exclusive).await;
                (r, Instant::now(), fb)
            });
            tokio::time::sleep(WAIT).await;
            assert!(!waiter.is_finished(), "B waits while A holds the range");
            let unlocked_at = Instant::now();
            fa.unlock(0, 100).await.unwrap();
            let (r, at, mut fb) = tokio::time::timeout(Duration::from_secs(30), waiter)
                .await
                .expect("granted within 30 s of the unlock")
                .unwrap();
            r.expect("granted once A unlocked");
            assert!(at >= unlocked_at);
            assert_conflict(
                fa.try_lock(55, 1, LockKind::Shared).await,
                "in the range B waited for",
            );

            // Closing B's handle releases what it holds.
            fb.unlock(50, 10).await.unwrap();
            fb.lock(50, 10, LockKind::Exclusive).await.unwrap();
            fb.close().await.unwrap();
            fa.try_lock(0, 900, LockKind::Exclusive)
                .await
                .expect("every lock of B's handle went with its close");
        });
    }
}
