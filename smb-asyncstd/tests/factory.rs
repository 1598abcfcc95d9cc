//! pysmb's Twisted `SMBProtocolFactory` against a private smbd, each scenario on
//! async-std's executor and on smol's: readiness and the not-ready and not-connected
//! failures, pysmb's RetrieveFileFactory (a retrieve started by `on_auth_ok` whose
//! callback closes the connection), a server that goes away, timeouts on a frozen
//! server, `add_both` / `add_callbacks`, and the operations the factory offers.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_channel::Receiver;
use futures_lite::FutureExt;
use smb_asyncstd::runtime::Runtime;
use smb_asyncstd::{Errno, Error, ErrorKind, ShareType, SmbFactory, Spawner};
use smb_proto::{CloseReason, NtStatus};
use smb_tests::fixtures::{data, sha256};
use smb_tests::{SambaServer, Share};

/// How long a test waits for something that must not hang before it calls it a hang.
const HANG: Duration = Duration::from_secs(120);
/// How long a hook that must not fire again gets to do so.
const SETTLE: Duration = Duration::from_millis(300);

async fn guard<T>(what: &str, f: impl Future<Output = T>) -> T {
    f.or(async {
        async_io::Timer::after(HANG).await;
        panic!("{what} hung for {HANG:?}")
    })
    .await
}

/// Runs `scenario` on async-std's executor, then on smol's, each with a server of its own.
fn on_async_std_and_smol<F, Fut>(what: &str, scenario: F)
where
    F: Fn(SambaServer, Arc<dyn Runtime>) -> Fut,
    Fut: Future<Output = ()>,
{
    let spawner: Spawner = Arc::new(|f| drop(async_std::task::spawn(f)));
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let runtime = smb_asyncstd::runtime_with(spawner);
    async_std::task::block_on(guard(
        &format!("{what} on async-std"),
        scenario(srv, runtime),
    ));
    let srv = SambaServer::builder().share(Share::new("share")).start();
    smol::block_on(guard(
        &format!("{what} on smol"),
        scenario(srv, smb_asyncstd::runtime()),
    ));
}

/// A factory whose `on_disconnect` reports each call's close reason on the receiver.
fn factory_reporting_disconnects(
    srv: &SambaServer,
    runtime: Arc<dyn Runtime>,
) -> (SmbFactory, Receiver<Option<CloseReason>>) {
    let (tx, rx) = async_channel::unbounded();
    let factory =
        SmbFactory::with_runtime(srv.connect_options(), runtime).on_disconnect(move |e| {
            let reason = match e {
                Error::Smb(smb_proto::Error::Closed(reason)) => Some(reason.clone()),
                _ => None,
            };
            let _ = tx.try_send(reason);
        });
    (factory, rx)
}

/// Waits for `on_disconnect`, then makes sure it does not fire a second time.
async fn disconnected_once(rx: &Receiver<Option<CloseReason>>) -> Option<CloseReason> {
    let reason = rx.recv().await.expect("on_disconnect fired");
    async_io::Timer::after(SETTLE).await;
    assert!(rx.try_recv().is_err(), "on_disconnect fired twice");
    reason
}

fn assert_not_connected(e: &Error, op: &str) {
    assert!(
        matches!(e, Error::NotConnected { op: o } if *o == op),
        "{e:?}"
    );
    assert_eq!(
        (e.kind(), e.errno()),
        (ErrorKind::Disconnected, Errno::ENOTCONN)
    );
}

/// `add_callbacks` arguments that count their calls and say which side ran.
fn counted<T>(
    callbacks: &Arc<AtomicUsize>,
    errbacks: &Arc<AtomicUsize>,
) -> (
    impl FnOnce(T) -> &'static str + Send + 'static,
    impl FnOnce(Error) -> smb_asyncstd::Result<&'static str> + Send + 'static,
) {
    let (callbacks, errbacks) = (callbacks.clone(), errbacks.clone());
    (
        move |_| {
            callbacks.fetch_add(1, Ordering::SeqCst);
            "callback"
        },
        move |_| {
            errbacks.fetch_add(1, Ordering::SeqCst);
            Ok("errback")
        },
    )
}

/// pysmb's RetrieveFileFactory: `on_auth_ok` starts a retrieve whose callback closes the
/// connection; `on_disconnect` then fires once, and the factory is no longer ready.
async fn retrieve_file_factory(srv: SambaServer, runtime: Arc<dyn Runtime>) {
    let content = data(300_000, 5);
    std::fs::write(srv.share_path("share").join("report.bin"), &content).expect("fixture");
    let (got_tx, got_rx) = async_channel::unbounded();
    let (auth_ok, ready_in_hook) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let (factory, disconnects) = factory_reporting_disconnects(&srv, runtime);
    let factory = factory.on_auth_ok({
        let (auth_ok, ready_in_hook) = (auth_ok.clone(), ready_in_hook.clone());
        move |factory| {
            auth_ok.fetch_add(1, Ordering::SeqCst);
            ready_in_hook.store(factory.is_ready(), Ordering::SeqCst);
            let f = factory.clone();
            let got_tx = got_tx.clone();
            factory
                .retrieve_file("share", "report.bin")
                .add_callback(move |bytes| {
                    let _ = got_tx.try_send(bytes);
                    f.close_connection();
                })
                .detach();
        }
    });

    assert!(!factory.is_ready(), "ready before connecting");
    assert!(factory.is_using_smb2());
    let e = factory.echo().await.expect_err("an operation before login");
    assert!(matches!(e, Error::NotReady { op: "echo" }), "{e:?}");
    assert_eq!(
        (e.kind(), e.errno()),
        (ErrorKind::NotReady, Errno::ENOTCONN)
    );
    assert_eq!(e.to_string(), "echo: not logged in yet (ENOTCONN)");
    assert!(factory.client().is_none());

    let client = factory.connect().await.expect("connect");
    assert_eq!(auth_ok.load(Ordering::SeqCst), 1);
    assert!(
        ready_in_hook.load(Ordering::SeqCst),
        "not ready in on_auth_ok"
    );

    let got = got_rx.recv().await.expect("the retrieve's callback ran");
    assert_eq!(sha256(&got), sha256(&content), "retrieved bytes differ");
    assert_eq!(
        disconnected_once(&disconnects).await,
        Some(CloseReason::Local)
    );
    assert!(!factory.is_ready(), "ready after close_connection");
    assert!(
        client.is_closed(),
        "connect's client outlived close_connection"
    );
    let e = factory
        .retrieve_file("share", "report.bin")
        .await
        .expect_err("an operation after close_connection");
    assert_not_connected(&e, "retrieve_file");
    assert_eq!(auth_ok.load(Ordering::SeqCst), 1);
}

#[test]
fn retrieve_file_factory_closes_from_its_callback() {
    on_async_std_and_smol("RetrieveFileFactory", retrieve_file_factory);
}

/// The server dies under a logged-in factory: `on_disconnect` fires once with the
/// transport's reason, and operations fail as not connected.
async fn server_goes_away(srv: SambaServer, runtime: Arc<dyn Runtime>) {
    let (factory, disconnects) = factory_reporting_disconnects(&srv, runtime);
    factory.connect().await.expect("connect");
    assert!(factory.is_ready());
    factory.echo().await.expect("echo");
    let e = factory
        .connect()
        .await
        .expect_err("a second connect while connected");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e:?}");
    assert!(
        factory.is_ready(),
        "a refused connect changed the connection"
    );

    // Stops smbd and the process serving this connection, which closes its socket.
    drop(srv);
    let reason = disconnected_once(&disconnects).await;
    assert!(
        matches!(reason, Some(CloseReason::Transport(_))),
        "{reason:?}"
    );
    assert!(!factory.is_ready());
    assert_not_connected(&factory.echo().await.unwrap_err(), "echo");
    let e = factory.list_path("share", "", "*").await.unwrap_err();
    assert_not_connected(&e, "list_path");
    // The same failure reaches an errback, and the factory can be closed again harmlessly.
    let seen = factory
        .get_attributes("share", "x")
        .add_errback(Err)
        .add_both(|r| Ok(r.err().map(|e| e.kind())))
        .await
        .expect("add_both recovers");
    assert_eq!(seen, Some(ErrorKind::Disconnected));
    factory.close_connection();
    assert!(disconnects.try_recv().is_err());
}

#[test]
fn a_server_that_goes_away_disconnects_the_factory() {
    on_async_std_and_smol("server gone", server_goes_away);
}

/// A frozen server: an operation with a short timeout fails as timed out (and is
/// cancelled), and once the server runs again the same connection works.
async fn times_out(srv: SambaServer, runtime: Arc<dyn Runtime>) {
    std::fs::write(srv.share_path("share").join("a.txt"), b"alpha").expect("fixture");
    let (factory, disconnects) = factory_reporting_disconnects(&srv, runtime);
    let client = factory.connect().await.expect("connect");
    let quick = factory.with_timeout(Duration::from_millis(500));
    quick.echo().await.expect("a live server answers in time");

    srv.pause();
    let started = Instant::now();
    let from_factory = quick.get_attributes("share", "a.txt").await;
    let from_client = client
        .deferred()
        .with_timeout(Duration::from_millis(300))
        .retrieve_file("share", "a.txt")
        .await;
    let waited = started.elapsed();
    srv.resume();

    for (r, op) in [
        (from_factory.map(|_| ()), "stat"),
        (from_client.map(|_| ()), "get"),
    ] {
        let e = r.expect_err("a frozen server answered");
        assert_eq!(
            (e.kind(), e.errno()),
            (ErrorKind::TimedOut, Errno::ETIMEDOUT),
            "{e:?}"
        );
        assert!(
            matches!(&e, Error::Smb(smb_proto::Error::Timeout { op: o, .. }) if *o == op),
            "{e:?}"
        );
    }
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
    assert!(waited < Duration::from_secs(30), "{waited:?}");

    assert!(factory.is_ready(), "a timeout ended the connection");
    factory.echo().await.expect("echo after the server resumed");
    let back = quick
        .retrieve_file("share", "a.txt")
        .await
        .expect("retrieve");
    assert_eq!(back, b"alpha");
    assert!(
        disconnects.try_recv().is_err(),
        "on_disconnect fired for a timeout"
    );
    factory.close_connection();
    assert_eq!(
        disconnected_once(&disconnects).await,
        Some(CloseReason::Local)
    );
}

#[test]
fn a_timed_out_operation_fails_and_the_connection_goes_on() {
    on_async_std_and_smol("timeouts", times_out);
}

/// `add_both` on success and on failure (also a failure from before anything was sent),
/// `add_callbacks` running one side only, and the operations the factory adds to the
/// ones it had.
async fn chains_and_operations(srv: SambaServer, runtime: Arc<dyn Runtime>) {
    let root = srv.share_path("share");
    std::fs::write(root.join("a.txt"), b"alpha").expect("fixture");
    let idle = SmbFactory::with_runtime(srv.connect_options(), runtime.clone());
    let (factory, _) = factory_reporting_disconnects(&srv, runtime);

    // Before login the failure goes through add_both like any other.
    let seen = idle
        .list_shares()
        .add_both(|r| Ok(r.err().map(|e| e.kind())))
        .await
        .expect("add_both recovers");
    assert_eq!(seen, Some(ErrorKind::NotReady));

    factory.connect().await.expect("connect");
    let text = factory
        .retrieve_file("share", "a.txt")
        .add_both(|r| r.map(|bytes| String::from_utf8(bytes).expect("utf-8")))
        .await
        .expect("add_both on success");
    assert_eq!(text, "alpha");
    let status = factory
        .get_attributes("share", "missing.txt")
        .add_both(|r| Ok(r.err().and_then(|e| e.status())))
        .await
        .expect("add_both on failure");
    assert_eq!(status, Some(NtStatus::OBJECT_NAME_NOT_FOUND));
    let e = factory
        .get_attributes("share", "missing.txt")
        .add_both(|r| r.map(|info| info.size))
        .add_callback(|size| size + 1)
        .await
        .expect_err("add_both passes a failure on");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let (tx, rx) = async_channel::bounded(1);
    factory
        .get_attributes("share", "missing.txt")
        .add_both(move |r| {
            let _ = tx.try_send(r.is_err());
            Ok(())
        })
        .detach();
    assert!(rx.recv().await.expect("a detached add_both ran"));

    let (callbacks, errbacks) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (cb, eb) = counted(&callbacks, &errbacks);
    let side = factory.echo().add_callbacks(cb, eb).await.expect("echo");
    assert_eq!(side, "callback");
    let (cb, eb) = counted(&callbacks, &errbacks);
    let side = factory
        .delete_files("share", "nothing-*")
        .add_callbacks(cb, eb)
        .await
        .expect("the errback recovers");
    assert_eq!(side, "errback");
    assert_eq!(
        (
            callbacks.load(Ordering::SeqCst),
            errbacks.load(Ordering::SeqCst)
        ),
        (1, 1)
    );

    // The twins of the client's methods, run on the factory's connection.
    let shares = factory.list_shares().await.expect("list_shares");
    let share = shares
        .iter()
        .find(|s| s.name == "share")
        .expect("the share is listed");
    assert_eq!(share.share_type, ShareType::Disk);
    factory
        .create_directories("share", "d1/d2/d3")
        .await
        .expect("create_directories");
    assert!(root.join("d1/d2/d3").is_dir());
    let part = factory
        .retrieve_file_from_offset("share", "a.txt", 1, Some(3))
        .await
        .expect("ranged retrieve");
    assert_eq!(part, b"lph");
    let sd = factory
        .get_security("share", "a.txt")
        .await
        .expect("get_security");
    assert!(sd.owner.is_some(), "{sd:?}");
    let e = factory
        .list_snapshots("share", "a.txt")
        .await
        .expect_err("a share without shadow copies lists snapshots");
    assert_eq!(e.status(), Some(NtStatus::INVALID_DEVICE_REQUEST), "{e:?}");
    factory
        .call(smb_proto::ops::Echo)
        .await
        .expect("call an operation");
    let work = root.parent().expect("server dir").join("work");
    std::fs::create_dir_all(work.join("up/sub")).expect("local tree");
    std::fs::write(work.join("up/one.txt"), b"one").expect("local file");
    std::fs::write(work.join("up/sub/two.txt"), b"two").expect("local file");
    let (files, bytes) = factory
        .store_tree(work.join("up"), "share", "tree")
        .await
        .expect("store_tree");
    assert_eq!((files, bytes), (2, 6));
    assert_eq!(
        std::fs::read(root.join("tree/sub/two.txt")).unwrap(),
        b"two"
    );
    let (files, _) = factory
        .retrieve_tree("share", "tree", work.join("down"))
        .await
        .expect("retrieve_tree");
    assert_eq!(files, 2);
    assert_eq!(std::fs::read(work.join("down/one.txt")).unwrap(), b"one");
    factory.close_connection();
}

#[test]
fn add_both_add_callbacks_and_every_operation_on_the_factory() {
    on_async_std_and_smol("chains", chains_and_operations);
}
