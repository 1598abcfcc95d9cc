//! The tokio client against a private smbd: many tasks on one connection, cancellation,
//! timeouts against a frozen server, lazy listings, the pool, and the same results as the
//! blocking client.

use std::io::SeekFrom;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use smb_proto::NtStatus;
use smb_tests::fixtures::{check_tree, data, make_tree, sha256, smb_error};
use smb_tests::{SambaServer, Share};
use smb_tokio::{Client, Error, OpenOptions, Pool};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt};

/// How long a test waits for something that must not hang before it calls it a hang.
const HANG: Duration = Duration::from_secs(120);

fn server() -> SambaServer {
    SambaServer::builder().share(Share::new("share")).start()
}

async fn connect(srv: &SambaServer) -> Client {
    Client::connect(&srv.connect_options())
        .await
        .expect("connect")
}

async fn guard<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG, f)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for {HANG:?}"))
}

/// Tree transfers run in spawned tasks (their futures are `Send`), two trees at once on
/// one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tree_transfers_at_once_in_spawned_tasks() {
    let srv = server();
    let client = connect(&srv).await;
    let work = srv
        .share_path("share")
        .parent()
        .unwrap()
        .join("tokio-trees");
    let mut tasks = Vec::new();
    for t in 0..2 {
        let (client, src) = (client.clone(), work.join(format!("src{t}")));
        let expected = make_tree(&src, 60);
        tasks.push(tokio::spawn(async move {
            let remote = format!("up{t}");
            let (files, _) = client.store_tree(&src, "share", &remote).await?;
            assert_eq!(files, 60);
            let dst = src.with_file_name(format!("dst{t}"));
            let (files, _) = client.retrieve_tree("share", &remote, &dst).await?;
            assert_eq!(files, 60);
            check_tree(&dst, &expected, "downloaded");
            Ok::<_, Error>(expected)
        }));
    }
    for (t, task) in tasks.into_iter().enumerate() {
        let expected = guard("tree transfer", task)
            .await
            .unwrap()
            .expect("transfer");
        check_tree(
            &srv.share_path("share").join(format!("up{t}")),
            &expected,
            "on the server",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_tasks_read_and_write_on_one_connection() {
    let srv = server();
    let root = srv.share_path("share");
    let sizes: Vec<usize> = (0..64)
        .map(|i| 1 + i * 31_337 + (i % 3) * 700_000)
        .collect();
    for (i, &len) in sizes.iter().enumerate() {
        std::fs::write(root.join(format!("fixture-{i}.bin")), data(len, i as u64)).unwrap();
    }
    let client = connect(&srv).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, &len) in sizes.iter().enumerate() {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            // Read a file that is on the server already.
            let mut got = Vec::new();
            let n = client
                .retrieve_file("share", &format!("fixture-{i}.bin"), &mut got)
                .await
                .expect("retrieve fixture");
            assert_eq!(n as usize, len);
            assert_eq!(sha256(&got), sha256(&data(len, i as u64)), "fixture {i}");

            // Write a new one, half through store_file and half through File's AsyncWrite,
            // then read it back through File's AsyncRead.
            let content = data(len + 4096, 1000 + i as u64);
            let name = format!("new-{i}.bin");
            if i % 2 == 0 {
                let n = client
                    .store_file("share", &name, &mut &content[..])
                    .await
                    .expect("store");
                assert_eq!(n as usize, content.len());
            } else {
                let mut f = client
                    .open("share", &name, OpenOptions::overwrite())
                    .await
                    .expect("open for writing");
                f.write_all(&content).await.expect("write");
                f.close().await.expect("close after writing");
            }
            let mut f = client
                .open("share", &name, OpenOptions::read())
                .await
                .expect("open for reading");
            let mut back = Vec::new();
            f.read_to_end(&mut back).await.expect("read");
            f.close().await.expect("close after reading");
            assert_eq!(sha256(&back), sha256(&content), "read back {name}");
            (name, sha256(&content))
        }));
    }
    for task in tasks {
        let (name, digest) = guard("a transfer task", task).await.expect("task");
        let on_disk = std::fs::read(root.join(&name)).unwrap();
        assert_eq!(sha256(&on_disk), digest, "server-side bytes of {name}");
    }
    let total: usize = sizes.iter().map(|l| 3 * l + 2 * 4096).sum();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "64 tasks moved {:.1} MiB on one connection in {secs:.2} s ({:.0} MiB/s)",
        total as f64 / 1048576.0,
        total as f64 / 1048576.0 / secs
    );
    client.echo().await.expect("echo after the storm");
}

/// An `AsyncWrite` that throws the bytes away and counts them.
struct CountingSink(Arc<AtomicU64>);

impl AsyncWrite for CountingSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn dropping_a_gigabyte_read_cancels_it_and_the_connection_goes_on() {
    const GIB: u64 = 1 << 30;
    const CUT: u64 = 100 << 20;
    let srv = server();
    let root = srv.share_path("share");
    // Sparse: 1 GiB of zeros costs no disk, and a few real blocks make it not all zeros.
    let big = std::fs::File::create(root.join("big.bin")).unwrap();
    big.set_len(GIB).unwrap();
    {
        use std::os::unix::fs::FileExt;
        for i in 0..8u64 {
            big.write_all_at(&data(4096, i), i * (GIB / 8)).unwrap();
        }
    }
    drop(big);

    let client = connect(&srv).await;
    let count = Arc::new(AtomicU64::new(0));
    let mut sink = CountingSink(count.clone());
    let started = Instant::now();
    let reached = async {
        while count.load(Ordering::Relaxed) < CUT {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::select! {
        r = client.retrieve_file("share", "big.bin", &mut sink) => {
            panic!("the 1 GiB read finished before it was cancelled: {r:?}")
        }
        () = guard("reading 100 MiB", reached) => {}
    }
    let at_cancel = count.load(Ordering::Relaxed);
    println!(
        "cancelled the 1 GiB read after {:.1} MiB in {:.2} s",
        at_cancel as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    assert!((CUT..GIB).contains(&at_cancel), "{at_cancel}");

    // The same connection, after the cancel: echo, stat, a 10 MiB round trip, a listing.
    guard("echo", client.echo()).await.expect("echo");
    let info = guard("stat", client.get_attributes("share", "big.bin"))
        .await
        .expect("stat");
    assert_eq!(info.size, GIB);
    let content = data(10 << 20, 42);
    let n = guard(
        "store",
        client.store_file("share", "ten.bin", &mut &content[..]),
    )
    .await
    .expect("store 10 MiB");
    assert_eq!(n, content.len() as u64);
    let mut back = Vec::new();
    guard(
        "retrieve",
        client.retrieve_file("share", "ten.bin", &mut back),
    )
    .await
    .expect("retrieve 10 MiB");
    assert_eq!(sha256(&back), sha256(&content));
    let mut names: Vec<String> = guard("list", client.list_path("share", "", "*"))
        .await
        .expect("list")
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    assert_eq!(names, ["big.bin", "ten.bin"]);
    // The tail of the big file, through the same cancelled-then-reused connection.
    let mut tail = Vec::new();
    let n = client
        .retrieve_file_from_offset("share", "big.bin", &mut tail, 7 * (GIB / 8), Some(4096))
        .await
        .expect("ranged read");
    assert_eq!(n, 4096);
    assert_eq!(tail, data(4096, 7));
}

#[tokio::test]
async fn a_frozen_server_gives_a_timeout_not_a_hang() {
    let srv = server();
    std::fs::write(srv.share_path("share").join("f.txt"), b"hello").unwrap();
    let client = connect(&srv).await;
    client.get_attributes("share", "f.txt").await.expect("stat");

    srv.pause();
    let started = Instant::now();
    let r = guard(
        "a stat with a 2 s timeout",
        client
            .with_timeout(Duration::from_secs(2))
            .get_attributes("share", "f.txt"),
    )
    .await;
    let waited = started.elapsed();
    println!("the frozen server's stat failed after {waited:.2?}: {r:?}");
    let err = r.expect_err("a frozen server cannot answer");
    assert!(
        matches!(&err, Error::Smb(smb_proto::Error::Timeout { op: "stat", path }) if path == "f.txt"),
        "{err:?}"
    );
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::TimedOut
    );
    // Dropping a whole transfer to its timeout works the same way.
    let mut sink = Vec::new();
    let r = guard(
        "a get with a 1 s timeout",
        client
            .with_timeout(Duration::from_secs(1))
            .retrieve_file("share", "f.txt", &mut sink),
    )
    .await;
    assert!(
        matches!(
            r,
            Err(Error::Smb(smb_proto::Error::Timeout { op: "get", .. }))
        ),
        "{r:?}"
    );
    srv.resume();

    // The server answers the cancelled requests late; the connection shrugs them off.
    guard("echo after resume", client.echo())
        .await
        .expect("echo on the same connection after resume");
    let info = guard("stat after resume", client.get_attributes("share", "f.txt"))
        .await
        .expect("stat on the same connection after resume");
    assert_eq!(info.size, 5);
    let other = guard("a new connection", Client::connect(&srv.connect_options()))
        .await
        .expect("a new connection after resume");
    other.echo().await.expect("echo on the new connection");
}

#[tokio::test]
async fn listing_stream_pages_lazily_and_matches_list_path() {
    // Small QUERY_DIRECTORY responses (64 KiB) make a modest directory span many pages.
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("smb2 max trans", "65536")
        .start();
    let dir = srv.share_path("share").join("many");
    std::fs::create_dir(&dir).unwrap();
    let count = 2000;
    for i in 0..count {
        std::fs::write(dir.join(format!("{i:05}-{}", "n".repeat(90))), b"").unwrap();
    }
    std::fs::write(dir.join("odd.txt"), b"12345").unwrap();
    let client = connect(&srv).await;

    let mut stream = client
        .list_path_stream("share", "many", "*")
        .await
        .expect("start listing");
    let first = stream.next().await.expect("an entry").expect("no error");
    let page = stream.buffered() + 1;
    println!("first page: {page} of {} entries", count + 1);
    assert!(
        page < count + 1,
        "the whole directory came at once ({page} entries)"
    );
    let mut streamed = vec![first];
    while let Some(e) = stream.next().await {
        streamed.push(e.expect("entry"));
    }
    assert!(
        stream.next().await.is_none(),
        "a finished stream stays finished"
    );
    let mut listed = client.list_path("share", "many", "*").await.expect("list");
    let key = |e: &smb_tokio::FileInfo| e.name.clone();
    streamed.sort_by_key(key);
    listed.sort_by_key(key);
    assert_eq!(streamed.len(), count + 1);
    let strip = |v: &[smb_tokio::FileInfo]| {
        v.iter()
            .map(|e| (e.name.clone(), e.size, e.attributes))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&streamed), strip(&listed));

    // A pattern, and an error as a stream item.
    let mut txt = client
        .list_path_stream("share", "many", "*.txt")
        .await
        .expect("pattern listing");
    let only = txt.next().await.expect("one match").expect("entry");
    assert_eq!((only.name.as_str(), only.size), ("odd.txt", 5));
    assert!(txt.next().await.is_none());
    let mut missing = client
        .list_path_stream("share", "no-such-dir", "*")
        .await
        .expect("the error comes from the stream");
    let err = missing.next().await.expect("an item").expect_err("missing");
    assert_eq!(
        smb_error(&err).status(),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND),
        "{err:?}"
    );

    // Dropping a stream halfway leaves the connection usable.
    let mut half = client
        .list_path_stream("share", "many", "*")
        .await
        .expect("listing");
    for _ in 0..10 {
        half.next().await.expect("entry").expect("entry");
    }
    drop(half);
    client.echo().await.expect("echo after dropping a listing");
    assert_eq!(
        client
            .list_path("share", "many", "*.txt")
            .await
            .expect("list")
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_stats_return_the_same_as_sequential_ones() {
    let srv = server();
    for i in 0..64 {
        std::fs::write(srv.share_path("share").join(format!("s{i}")), vec![7u8; i]).unwrap();
    }
    let client = connect(&srv).await;
    client.tree_encrypted("share").await.expect("tree");

    let started = Instant::now();
    for i in 0..64 {
        let info = client
            .get_attributes("share", &format!("s{i}"))
            .await
            .expect("stat");
        assert_eq!(info.size, i as u64);
    }
    let sequential = started.elapsed();

    let started = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.get_attributes("share", &format!("s{i}")).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let info = task.await.expect("task").expect("stat");
        assert_eq!(info.size, i as u64);
    }
    let concurrent = started.elapsed();
    println!(
        "64 stats: sequential {sequential:.2?}, concurrent {concurrent:.2?}, ratio {:.1}x",
        sequential.as_secs_f64() / concurrent.as_secs_f64()
    );
}

#[tokio::test]
async fn file_seeks_reads_and_writes() {
    let srv = server();
    let client = connect(&srv).await;
    let mut f = client
        .open("share", "f.bin", OpenOptions::read_write_create())
        .await
        .expect("open");
    f.write_all(b"0123456789").await.expect("write");
    assert_eq!(f.seek(SeekFrom::End(-4)).await.expect("seek end"), 6);
    let mut tail = String::new();
    f.read_to_string(&mut tail).await.expect("read");
    assert_eq!(tail, "6789");
    assert_eq!(f.seek(SeekFrom::Start(20)).await.expect("seek"), 20);
    f.write_all(b"xy").await.expect("write past the end");
    f.flush().await.expect("flush");
    assert_eq!(f.seek(SeekFrom::Current(-12)).await.expect("seek back"), 10);
    let mut gap = Vec::new();
    f.read_to_end(&mut gap).await.expect("read the hole");
    assert_eq!(gap, b"\0\0\0\0\0\0\0\0\0\0xy");
    assert!(f.seek(SeekFrom::Current(-100)).await.is_err());
    assert_eq!(f.info().size, 22);
    f.close().await.expect("close");
    assert_eq!(
        std::fs::read(srv.share_path("share").join("f.bin")).unwrap(),
        b"0123456789\0\0\0\0\0\0\0\0\0\0xy"
    );

    // Dropped without close: the last write still lands, in the background.
    let content = data(3 << 20, 9);
    let mut f = client
        .open("share", "dropped.bin", OpenOptions::overwrite())
        .await
        .expect("open");
    f.write_all(&content).await.expect("write");
    drop(f);
    let on_disk = srv.share_path("share").join("dropped.bin");
    guard("the dropped file's last write", async {
        while std::fs::read(&on_disk).map(|b| sha256(&b)).ok() != Some(sha256(&content)) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    client
        .delete_files("share", "dropped.bin")
        .await
        .expect("delete the dropped file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_shares_one_connection_per_server_and_user() {
    let srv = server();
    for i in 0..32 {
        std::fs::write(
            srv.share_path("share").join(format!("p{i}.txt")),
            format!("file {i}"),
        )
        .unwrap();
    }
    let pool = Pool::default();
    let base = srv.url("share");
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let pool = pool.clone();
            let url = format!("{base}/p{i}.txt");
            tokio::spawn(async move {
                let mut f = pool.open(&url).await.expect("open through the pool");
                let mut s = String::new();
                f.read_to_string(&mut s).await.expect("read");
                assert_eq!(s, format!("file {i}"));
            })
        })
        .collect();
    for t in tasks {
        guard("a pooled open", t).await.expect("task");
    }
    assert_eq!(pool.connections(), 1);
    let url = smb_proto::url::SmbUrl::parse(&base).unwrap();
    let a = pool.connect_url(&url).await.expect("pooled");
    let b = pool.connect(&srv.connect_options()).await.expect("pooled");
    assert!(a.same_connection(&b));
    // Asking for more protection never reuses a connection opened without it.
    let mut encrypted = srv.connect_options();
    encrypted.encrypt = true;
    let c = pool.connect(&encrypted).await.expect("pooled, encrypted");
    assert!(!c.same_connection(&b));
    assert!(c.same_connection(&pool.connect(&encrypted).await.expect("pooled again")));

    // A dead connection is replaced.
    a.close().await.expect("logoff");
    c.close().await.expect("logoff");
    assert!(b.is_closed());
    assert_eq!(pool.connections(), 0);
    let mut f = pool
        .open(&format!("{base}/p3.txt"))
        .await
        .expect("reopen after close");
    let mut s = String::new();
    f.read_to_string(&mut s).await.expect("read");
    assert_eq!(s, "file 3");
    assert_eq!(pool.connections(), 1);
    assert!(b.echo().await.is_err(), "the closed handle stays closed");

    // A missing share in the URL is a typed error.
    let err = pool
        .open(&format!("smb://{}:{}", srv.host(), srv.port()))
        .await
        .expect_err("no share");
    assert!(
        matches!(err, Error::Smb(smb_proto::Error::Invalid(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_copy_between_files_of_one_connection_does_not_stall() {
    // The consumer of the read waits for writes on the same connection: the read must slow
    // down to the writes' pace rather than stop the socket they need.
    let srv = server();
    let content = data(80 << 20, 5);
    std::fs::write(srv.share_path("share").join("src.bin"), &content).unwrap();
    let client = connect(&srv).await;
    let mut dst = client
        .open("share", "dst.bin", OpenOptions::overwrite())
        .await
        .expect("open destination");
    let started = Instant::now();
    let n = guard(
        "a same-connection copy",
        client.retrieve_file("share", "src.bin", &mut dst),
    )
    .await
    .expect("copy");
    dst.close().await.expect("close destination");
    println!(
        "copied 80 MiB within one connection in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(n, content.len() as u64);
    let copied = std::fs::read(srv.share_path("share").join("dst.bin")).unwrap();
    assert_eq!(sha256(&copied), sha256(&content));
}

#[tokio::test]
async fn a_server_that_goes_away_fails_operations_instead_of_hanging() {
    let srv = server();
    let client = connect(&srv).await;
    client.echo().await.expect("echo");
    drop(srv);
    let err = guard("echo to a dead server", client.echo())
        .await
        .expect_err("the server is gone");
    assert!(
        matches!(err, Error::Smb(smb_proto::Error::Closed(_))),
        "{err:?}"
    );
    assert!(client.is_closed());
    let err = client
        .get_attributes("share", "x")
        .await
        .expect_err("closed");
    assert!(
        matches!(err, Error::Smb(smb_proto::Error::Closed(_))),
        "{err:?}"
    );
}

/// A tree spread over three connections (`ConnectOptions::connections`): two extra
/// connections are made (counted by a relay in front of smbd), every file arrives whole
/// both ways, the spread listing equals the tree, and the extras close with each call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_spread_over_three_connections_on_tokio() {
    use smb_tests::fault::{Fault, FaultProxy};
    let srv = server();
    let proxy = FaultProxy::start(srv.addr(), Fault::None);
    let mut opts = srv.connect_options().connections(3);
    opts.port = proxy.port();
    let client = Client::connect(&opts).await.expect("connect");
    let work = srv
        .share_path("share")
        .parent()
        .unwrap()
        .join("spread-tokio");
    let expected = make_tree(&work.join("src"), 150);
    let (files, _) = guard(
        "spread upload",
        client.store_tree(&work.join("src"), "share", "up"),
    )
    .await
    .unwrap();
    assert_eq!(files, 150);
    assert_eq!(proxy.connections(), 3);
    check_tree(
        &srv.share_path("share").join("up"),
        &expected,
        "on the server",
    );
    let listed = guard("listing", client.list_tree("share", "up"))
        .await
        .unwrap();
    assert_eq!(
        listed.iter().filter(|e| !e.info.is_directory()).count(),
        150
    );
    let (files, _) = guard(
        "spread download",
        client.retrieve_tree("share", "up", &work.join("dst")),
    )
    .await
    .unwrap();
    assert_eq!(files, 150);
    assert_eq!(
        proxy.connections(),
        5,
        "the download made two extra connections"
    );
    check_tree(&work.join("dst"), &expected, "downloaded");
    client.echo().await.expect("the first connection goes on");
}

/// SMB 3.x multichannel on tokio: a channel bound through a relay carries a real share
/// of a striped download and upload, and a second channel cut mid-transfer leaves its
/// spans to the others; every byte arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn striped_transfers_over_channels_on_tokio() {
    use smb_tests::fault::{Direction, Fault, FaultProxy};
    const MIB: usize = 1024 * 1024;
    let srv = SambaServer::builder()
        .multichannel(false)
        .share(Share::new("share"))
        .start();
    let content = data(48 * MIB, 3);
    std::fs::write(srv.share_path("share").join("mc.bin"), &content).unwrap();
    let relay = FaultProxy::start(srv.addr(), Fault::None);
    let cut = FaultProxy::start(srv.addr(), Fault::Cut(Direction::ToClient, 6 * MIB as u64));
    let client = Client::connect(&srv.connect_options().multichannel(2))
        .await
        .expect("connect");
    for proxy in [&relay, &cut] {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], proxy.port()));
        client.add_channel(addr).await.expect("bind a channel");
    }
    assert_eq!(client.channels(), 2);
    let mut got = Vec::new();
    let n = guard(
        "striped get",
        client.retrieve_file("share", "mc.bin", &mut got),
    )
    .await
    .unwrap();
    assert_eq!(n, content.len() as u64);
    assert_eq!(sha256(&got), sha256(&content));
    assert_eq!(client.channels(), 1, "the cut channel is dropped");
    assert!(relay.forwarded(Direction::ToClient) > (4 * MIB) as u64);
    let before = relay.forwarded(Direction::ToServer);
    let up = data(40 * MIB + 7, 4);
    let n = guard(
        "striped put",
        client.store_file("share", "mc-up.bin", &mut &up[..]),
    )
    .await
    .unwrap();
    assert_eq!(n, up.len() as u64);
    let on_disk = std::fs::read(srv.share_path("share").join("mc-up.bin")).unwrap();
    assert_eq!(sha256(&on_disk), sha256(&up));
    assert!(relay.forwarded(Direction::ToServer) - before > (4 * MIB) as u64);
}

/// A channel bound before the session connected a share that demands encryption: the
/// striped put and get encrypt on every channel (Samba refuses them in the clear).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn striping_on_an_encrypting_share_on_tokio() {
    use smb_tests::fault::{Direction, Fault, FaultProxy};
    const MIB: usize = 1024 * 1024;
    let srv = SambaServer::builder()
        .multichannel(false)
        .share(Share::new("secret").option("smb encrypt", "required"))
        .start();
    let relay = FaultProxy::start(srv.addr(), Fault::None);
    let client = Client::connect(&srv.connect_options().multichannel(1))
        .await
        .expect("connect");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], relay.port()));
    client.add_channel(addr).await.expect("bind a channel");
    let up = data(40 * MIB, 12);
    let n = guard(
        "encrypted striped put",
        client.store_file("secret", "enc.bin", &mut &up[..]),
    )
    .await
    .unwrap();
    assert_eq!(n, up.len() as u64);
    let mut got = Vec::new();
    guard(
        "encrypted striped get",
        client.retrieve_file("secret", "enc.bin", &mut got),
    )
    .await
    .unwrap();
    assert_eq!(sha256(&got), sha256(&up));
    assert!(relay.forwarded(Direction::ToServer) > (8 * MIB) as u64);
}
