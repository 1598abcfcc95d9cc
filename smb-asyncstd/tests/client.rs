//! The async-std/smol client against a private smbd: the same scenario on both runtimes,
//! many operations on one connection, the factory's login hooks, and deferred chains.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::FutureExt;
use smb_asyncstd::{Client, Error, Spawner};
use smb_proto::NtStatus;
use smb_tests::fixtures::{check_tree, data, make_tree, sha256, smb_error};
use smb_tests::{SambaServer, Share};

/// How long a test waits for something that must not hang before it calls it a hang.
const HANG: Duration = Duration::from_secs(120);

fn server() -> SambaServer {
    SambaServer::builder().share(Share::new("share")).start()
}

async fn guard<T>(what: &str, f: impl Future<Output = T>) -> T {
    f.or(async {
        async_io::Timer::after(HANG).await;
        panic!("{what} hung for {HANG:?}")
    })
    .await
}

fn async_std_spawner() -> Spawner {
    Arc::new(|f| drop(async_std::task::spawn(f)))
}

fn status_of(e: &Error) -> Option<NtStatus> {
    smb_error(e).status()
}

/// mkdir, store, stat, list, retrieve, rename, delete by wildcard, rmdir, echo, close.
async fn scenario(srv: &SambaServer, client: Client) {
    let content = data(3 << 20, 7);
    client
        .create_directory("share", "dir")
        .await
        .expect("mkdir");
    let n = client
        .store_file("share", "dir/big.bin", &mut &content[..])
        .await
        .expect("store");
    assert_eq!(n, content.len() as u64);
    let on_disk = std::fs::read(srv.share_path("share").join("dir/big.bin")).expect("on disk");
    assert_eq!(
        sha256(&on_disk),
        sha256(&content),
        "server-side bytes differ"
    );
    let n = client
        .store_bytes("share", "dir/small.txt", "hello".into())
        .await
        .expect("store bytes");
    assert_eq!(n, 5);

    let info = client
        .get_attributes("share", "dir/big.bin")
        .await
        .expect("stat");
    assert_eq!(info.size, content.len() as u64);
    assert!(!info.is_directory());
    assert!(client
        .get_attributes("share", "dir")
        .await
        .expect("stat dir")
        .is_directory());

    let mut names: Vec<String> = client
        .list_path("share", "dir", "*")
        .await
        .expect("list")
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    assert_eq!(names, ["big.bin", "small.txt"]);

    let mut back = Vec::new();
    let n = client
        .retrieve_file("share", "dir/big.bin", &mut back)
        .await
        .expect("retrieve");
    assert_eq!(n, content.len() as u64);
    assert_eq!(sha256(&back), sha256(&content), "downloaded bytes differ");
    let mut part = Vec::new();
    client
        .retrieve_file_from_offset("share", "dir/big.bin", &mut part, 1000, Some(10))
        .await
        .expect("ranged retrieve");
    assert_eq!(part, content[1000..1010]);

    client
        .rename("share", "dir/big.bin", "dir/moved.bin")
        .await
        .expect("rename");
    let e = client
        .get_attributes("share", "dir/big.bin")
        .await
        .expect_err("old name is gone");
    assert_eq!(status_of(&e), Some(NtStatus::OBJECT_NAME_NOT_FOUND));
    assert!(srv.share_path("share").join("dir/moved.bin").exists());

    let e = client
        .delete_directory("share", "dir")
        .await
        .expect_err("rmdir of a non-empty directory");
    assert_eq!(status_of(&e), Some(NtStatus::DIRECTORY_NOT_EMPTY));
    assert_eq!(
        client.delete_files("share", "dir/*").await.expect("delete"),
        2
    );
    client
        .delete_directory("share", "dir")
        .await
        .expect("rmdir");
    assert!(!srv.share_path("share").join("dir").exists());

    client.echo().await.expect("echo");
    let other = client.clone();
    client.close().await.expect("close");
    assert!(other.is_closed());
    assert!(
        other.echo().await.is_err(),
        "a closed connection still answers"
    );
}

#[test]
fn scenario_on_async_std() {
    let srv = server();
    async_std::task::block_on(guard("async-std scenario", async {
        let client = Client::connect_with(
            &srv.connect_options(),
            smb_asyncstd::runtime_with(async_std_spawner()),
        )
        .await
        .expect("connect");
        scenario(&srv, client).await;
    }));
}

#[test]
fn scenario_on_smol() {
    let srv = server();
    smol::block_on(guard("smol scenario", async {
        let client = smb_asyncstd::connect(&srv.connect_options())
            .await
            .expect("connect");
        scenario(&srv, client).await;
    }));
}

/// A tree up and down with many files in flight, then a download that fails locally
/// part-way: the error says which files made it and the connection goes on.
async fn tree_transfers(srv: &SambaServer, client: Client, tag: &str) {
    let work = srv.share_path("share").parent().unwrap().join(tag);
    let expected = make_tree(&work.join("src"), 120);
    let (files, _) = client
        .store_tree(&work.join("src"), "share", "up/tree")
        .await
        .expect("store_tree");
    assert_eq!(files, 120);
    check_tree(
        &srv.share_path("share").join("up/tree"),
        &expected,
        "on the server",
    );
    let (files, _) = client
        .retrieve_tree("share", "up/tree", &work.join("dst"))
        .await
        .expect("retrieve_tree");
    assert_eq!(files, 120);
    check_tree(&work.join("dst"), &expected, "downloaded");

    // A directory where a downloaded file must go: creating it fails locally.
    let blocked = work.join("dst2/d1/sub1/f001.bin");
    std::fs::create_dir_all(&blocked).unwrap();
    let err = client
        .retrieve_tree("share", "up/tree", &work.join("dst2"))
        .await
        .unwrap_err();
    match &err {
        Error::Transfer {
            transferred,
            total,
            first,
        } => {
            assert_eq!(*total, 120);
            assert!(transferred.len() < 120, "{}", transferred.len());
            assert!(matches!(**first, Error::Io(_)), "{first:?}");
            assert!(err.to_string().contains("f001.bin"), "{err}");
        }
        other => panic!("expected a transfer error, got {other:?}"),
    }
    // Nothing cut short sits under any name, its own or a temporary's.
    let mut stack = vec![work.join("dst2")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            assert!(
                !path.to_string_lossy().ends_with(".part"),
                "{path:?} left behind"
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    client.echo().await.expect("the connection goes on");
}

#[test]
fn tree_transfers_on_async_std_and_smol() {
    let srv = server();
    async_std::task::block_on(guard("async-std tree", async {
        let client = Client::connect_with(
            &srv.connect_options(),
            smb_asyncstd::runtime_with(async_std_spawner()),
        )
        .await
        .expect("connect");
        tree_transfers(&srv, client, "async-std").await;
    }));
    smol::block_on(guard("smol tree", async {
        let client = smb_asyncstd::connect(&srv.connect_options())
            .await
            .expect("connect");
        tree_transfers(&srv, client, "smol").await;
    }));
}

#[test]
fn sixteen_concurrent_retrieves_on_one_connection() {
    let srv = server();
    let root = srv.share_path("share");
    let files: Vec<Vec<u8>> = (0..16)
        .map(|i| data(256 * 1024 + i * 4099, i as u64))
        .collect();
    for (i, f) in files.iter().enumerate() {
        std::fs::write(root.join(format!("f{i}.bin")), f).expect("fixture");
    }
    smol::block_on(guard("16 retrieves", async {
        let client = smb_asyncstd::connect(&srv.connect_options())
            .await
            .expect("connect");
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let client = client.clone();
                smol::spawn(async move {
                    client
                        .retrieve_file_to_vec("share", &format!("f{i}.bin"))
                        .await
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let got = task.await.expect("retrieve");
            assert_eq!(sha256(&got), sha256(&files[i]), "file {i} differs");
        }
        client.echo().await.expect("connection still usable");
    }));
}

#[test]
fn factory_calls_on_auth_ok_once_logged_in() {
    let srv = server();
    let (ok, failed) = (Arc::new(Mutex::new(None)), Arc::new(AtomicUsize::new(0)));
    let factory = smb_asyncstd::SmbFactory::with_runtime(
        srv.connect_options(),
        smb_asyncstd::runtime_with(async_std_spawner()),
    )
    .on_auth_ok({
        let ok = ok.clone();
        move |factory: &smb_asyncstd::SmbFactory| *ok.lock().unwrap() = factory.client()
    })
    .on_auth_failed({
        let failed = failed.clone();
        move |_| {
            failed.fetch_add(1, Ordering::SeqCst);
        }
    });
    async_std::task::block_on(guard("factory connect", async {
        let client = factory.connect().await.expect("connect");
        let hooked = ok
            .lock()
            .unwrap()
            .take()
            .expect("on_auth_ok fired, logged in");
        assert!(!hooked.is_closed());
        hooked.echo().await.expect("the hook's client works");
        client.echo().await.expect("the deferred's client works");
    }));
    assert_eq!(failed.load(Ordering::SeqCst), 0);
}

#[test]
fn factory_calls_on_auth_failed_for_a_wrong_password() {
    let srv = server();
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(None)));
    let opts = srv.connect_options().user(srv.user(), "not-the-password");
    let factory = smb_asyncstd::factory(opts)
        .on_auth_ok({
            let ok = ok.clone();
            move |_| {
                ok.fetch_add(1, Ordering::SeqCst);
            }
        })
        .on_auth_failed({
            let failed = failed.clone();
            move |e| *failed.lock().unwrap() = Some(e.to_string())
        });
    let result = smol::block_on(guard("factory connect", factory.connect()));
    let e = result.expect_err("a wrong password logs in");
    assert!(
        matches!(
            smb_error(&e),
            smb_proto::Error::Auth { status, .. } if *status == NtStatus::LOGON_FAILURE
        ),
        "{e:?}"
    );
    assert_eq!(ok.load(Ordering::SeqCst), 0, "on_auth_ok fired");
    let seen = failed.lock().unwrap().take().expect("on_auth_failed fired");
    assert!(seen.contains(srv.user()), "{seen}");
    assert!(
        !seen.contains("not-the-password"),
        "password in an error: {seen}"
    );
}

#[test]
fn deferred_callbacks_and_errbacks_chain() {
    let srv = server();
    std::fs::write(srv.share_path("share").join("a.txt"), b"alpha").expect("fixture");
    smol::block_on(guard("deferreds", async {
        let client = smb_asyncstd::connect(&srv.connect_options())
            .await
            .expect("connect");
        let d = client.deferred();

        // Callbacks see the previous step's value; an errback is skipped on success.
        let errbacks = Arc::new(AtomicUsize::new(0));
        let len = d
            .retrieve_file("share", "a.txt")
            .add_callback(|bytes| String::from_utf8(bytes).expect("utf-8"))
            .add_errback({
                let errbacks = errbacks.clone();
                move |e| {
                    errbacks.fetch_add(1, Ordering::SeqCst);
                    Err(e)
                }
            })
            .add_callback(|text| (text.clone(), text.len()))
            .await
            .expect("chain");
        assert_eq!(len, ("alpha".to_string(), 5));
        assert_eq!(errbacks.load(Ordering::SeqCst), 0);

        // A missing file skips callbacks and reaches the errback, which may recover.
        let callbacks = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(None));
        let recovered = d
            .get_attributes("share", "missing.txt")
            .add_callback({
                let callbacks = callbacks.clone();
                move |info| {
                    callbacks.fetch_add(1, Ordering::SeqCst);
                    info.size
                }
            })
            .add_errback({
                let seen = seen.clone();
                move |e| {
                    *seen.lock().unwrap() = status_of(&e);
                    Ok(u64::MAX)
                }
            })
            .await
            .expect("the errback recovered");
        assert_eq!(recovered, u64::MAX);
        assert_eq!(callbacks.load(Ordering::SeqCst), 0);
        assert_eq!(*seen.lock().unwrap(), Some(NtStatus::OBJECT_NAME_NOT_FOUND));
        assert_eq!(
            NtStatus::OBJECT_NAME_NOT_FOUND.name(),
            Some("STATUS_OBJECT_NAME_NOT_FOUND")
        );

        // An errback that fails passes the failure on.
        let e = d
            .delete_files("share", "missing-dir/*")
            .add_errback(Err)
            .await
            .expect_err("failure passes through");
        assert!(status_of(&e).is_some(), "{e:?}");

        // Operations run even if nobody awaits them; a detached chain's callbacks still run.
        let (tx, rx) = async_channel::bounded(1);
        d.store_file("share", "b.txt", &b"bravo"[..])
            .add_callback(move |n| tx.try_send(n).expect("once"))
            .detach();
        assert_eq!(rx.recv().await.expect("callback ran"), 5);
        assert_eq!(
            std::fs::read(srv.share_path("share").join("b.txt")).expect("stored"),
            b"bravo"
        );
        d.echo().await.expect("echo");
    }));
}

/// Takes the first write whole, then never makes progress again: a consumer that stalls.
#[derive(Default)]
struct Stall {
    got: usize,
}

impl futures_lite::AsyncWrite for Stall {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.got > 0 {
            return Poll::Pending;
        }
        self.got = buf.len();
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[test]
fn dropping_an_operation_cancels_it_and_keeps_the_connection() {
    let srv = server();
    let content = data(8 << 20, 3);
    std::fs::write(srv.share_path("share").join("big.bin"), &content).expect("fixture");
    smol::block_on(guard("cancel", async {
        let client = smb_asyncstd::connect(&srv.connect_options())
            .await
            .expect("connect");
        let mut stall = Stall::default();
        let raced = async {
            let r = client.retrieve_file("share", "big.bin", &mut stall).await;
            Some(r)
        }
        .or(async {
            async_io::Timer::after(Duration::from_millis(200)).await;
            None
        })
        .await;
        assert!(raced.is_none(), "a stalled consumer finished a read");
        assert!(stall.got > 0 && stall.got < content.len());
        client.echo().await.expect("echo after a dropped read");
        let whole = client
            .retrieve_file_to_vec("share", "big.bin")
            .await
            .expect("retrieve after a dropped read");
        assert_eq!(sha256(&whole), sha256(&content));
    }));
}

/// What once existed on tokio only — files, the listing stream, per-operation timeouts
/// and the pool — on both runtimes, through the one async layer.
#[test]
fn files_streams_timeouts_and_the_pool_on_async_std_and_smol() {
    use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, StreamExt};
    use std::io::SeekFrom;
    async fn run(srv: &SambaServer, client: Client, pool: smb_asyncstd::Pool) {
        let mut f = client
            .open(
                "share",
                "f.bin",
                smb_asyncstd::OpenOptions::read_write_create(),
            )
            .await
            .expect("open");
        f.write_all(b"hello, world").await.expect("write");
        f.flush().await.expect("flush");
        assert_eq!(f.seek(SeekFrom::End(-5)).await.expect("seek"), 7);
        let mut tail = String::new();
        f.read_to_string(&mut tail).await.expect("read");
        assert_eq!(tail, "world");
        f.close().await.expect("close");
        assert_eq!(
            std::fs::read(srv.share_path("share").join("f.bin")).unwrap(),
            b"hello, world"
        );

        for i in 0..300 {
            std::fs::write(srv.share_path("share").join(format!("e{i:03}")), b"").unwrap();
        }
        let mut names: Vec<String> = client
            .list_path_stream("share", "", "e*")
            .await
            .expect("stream")
            .map(|e| e.expect("entry").name)
            .collect()
            .await;
        names.sort();
        assert_eq!(names.len(), 300);
        assert_eq!(names[299], "e299");

        srv.pause();
        let err = client
            .with_timeout(Duration::from_millis(500))
            .get_attributes("share", "f.bin")
            .await
            .expect_err("a frozen server times out");
        srv.resume();
        assert!(
            matches!(
                err,
                Error::Smb(smb_proto::Error::Timeout { op: "stat", .. })
            ),
            "{err:?}"
        );
        client.echo().await.expect("the connection goes on");

        let url = format!("{}/f.bin", srv.url("share"));
        let mut f = pool.open(&url).await.expect("open through the pool");
        let mut all = Vec::new();
        f.read_to_end(&mut all).await.expect("read");
        assert_eq!(all, b"hello, world");
        let _again = pool.open(&url).await.expect("again");
        assert_eq!(pool.connections(), 1);
    }
    let srv = server();
    async_std::task::block_on(async {
        let runtime = smb_asyncstd::runtime_with(async_std_spawner());
        let client = guard(
            "connect",
            Client::connect_with(&srv.connect_options(), runtime.clone()),
        )
        .await
        .expect("connect");
        guard(
            "async-std",
            run(&srv, client, smb_asyncstd::Pool::new(runtime, None)),
        )
        .await;
    });
    let srv = server();
    smol::block_on(async {
        let client = guard("connect", smb_asyncstd::connect(&srv.connect_options()))
            .await
            .expect("connect");
        guard("smol", run(&srv, client, smb_asyncstd::pool(None))).await;
    });
}

/// A tree spread over two connections on smol (`ConnectOptions::connections`): one
/// extra connection per call (counted by a relay in front of smbd), every file whole
/// both ways, and a wide tree's spread listing equal to the tree.
#[test]
fn a_tree_spread_over_two_connections_on_smol() {
    use smb_tests::fault::{Fault, FaultProxy};
    let srv = server();
    let proxy = FaultProxy::start(srv.addr(), Fault::None);
    let mut opts = srv.connect_options().connections(2);
    opts.port = proxy.port();
    let work = srv
        .share_path("share")
        .parent()
        .unwrap()
        .join("spread-smol");
    let expected = make_tree(&work.join("src"), 100);
    // 40 directories: wide enough for the listing to be shared out.
    for d in 0..40 {
        std::fs::create_dir_all(srv.share_path("share").join(format!("wide/d{d:02}/in"))).unwrap();
    }
    smol::block_on(guard("smol spread", async {
        let client = smb_asyncstd::connect(&opts).await.expect("connect");
        let (files, _) = client
            .store_tree(&work.join("src"), "share", "up")
            .await
            .unwrap();
        assert_eq!(files, 100);
        assert_eq!(proxy.connections(), 2);
        check_tree(
            &srv.share_path("share").join("up"),
            &expected,
            "on the server",
        );
        let (files, _) = client
            .retrieve_tree("share", "up", &work.join("dst"))
            .await
            .unwrap();
        assert_eq!(files, 100);
        assert_eq!(proxy.connections(), 3);
        check_tree(&work.join("dst"), &expected, "downloaded");
        let mut wide: Vec<String> = client
            .list_tree("share", "wide")
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            proxy.connections(),
            4,
            "the wide listing made an extra connection"
        );
        wide.sort();
        let mut want: Vec<String> = (0..40)
            .flat_map(|d| [format!("d{d:02}"), format!("d{d:02}\\in")])
            .collect();
        want.sort();
        assert_eq!(wide, want);
        client.echo().await.expect("the first connection goes on");
    }));
}

/// SMB 3.x multichannel on smol: a striped download over a channel cut mid-transfer
/// arrives byte for byte, and an upload striped over the remaining channel too.
#[test]
fn striped_transfers_over_channels_on_smol() {
    use smb_tests::fault::{Direction, Fault, FaultProxy};
    const MIB: usize = 1024 * 1024;
    let srv = SambaServer::builder()
        .multichannel(false)
        .share(Share::new("share"))
        .start();
    let content = data(48 * MIB, 5);
    std::fs::write(srv.share_path("share").join("mc.bin"), &content).unwrap();
    let relay = FaultProxy::start(srv.addr(), Fault::None);
    let cut = FaultProxy::start(srv.addr(), Fault::Cut(Direction::ToClient, 6 * MIB as u64));
    smol::block_on(guard("smol multichannel", async {
        let client = smb_asyncstd::connect(&srv.connect_options().multichannel(2))
            .await
            .expect("connect");
        for proxy in [&relay, &cut] {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], proxy.port()));
            client.add_channel(addr).await.expect("bind a channel");
        }
        let mut got = Vec::new();
        client
            .retrieve_file("share", "mc.bin", &mut got)
            .await
            .unwrap();
        assert_eq!(sha256(&got), sha256(&content));
        assert_eq!(client.channels(), 1, "the cut channel is dropped");
        assert!(relay.forwarded(Direction::ToClient) > (4 * MIB) as u64);
        let up = data(40 * MIB + 7, 6);
        let n = client
            .store_file("share", "mc-up.bin", &mut &up[..])
            .await
            .unwrap();
        assert_eq!(n, up.len() as u64);
        let on_disk = std::fs::read(srv.share_path("share").join("mc-up.bin")).unwrap();
        assert_eq!(sha256(&on_disk), sha256(&up));
    }));
}
