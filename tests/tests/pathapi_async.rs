//! The pathlib-style API of the async client against a private smbd, on tokio
//! (`smb_tokio::Share`, tokio's I/O traits on an opened file) and on smol
//! (`smb_async::Share` on smol): the quick start, every path method, glob streams and rglob
//! over a few hundred files checked against the local tree, the open modes, and the
//! tree disconnect a dropped share hands to the connection's task.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use smb_async::{ErrorKind, Share, SmbPath};
use smb_proto::wire::fscc::{class, FileAllInformation, FileStandardInformation};
use smb_tests::fixtures::{glob_oracle, local_tree, make_glob_tree, GLOB_PATTERNS};
use smb_tests::SambaServer;
use smol::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

fn server() -> SambaServer {
    SambaServer::builder()
        .share(smb_tests::Share::new("x"))
        .start()
}

fn target(srv: &SambaServer) -> (String, String) {
    (
        format!("{}:{}", srv.host(), srv.port()),
        format!("{}%{}", srv.user(), srv.password()),
    )
}

fn kind<T>(r: smb_async::Result<T>) -> ErrorKind {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.kind(),
    }
}

async fn read_all(f: &mut smb_async::File) -> Vec<u8> {
    let mut out = Vec::new();
    f.read_to_end(&mut out).await.unwrap();
    out
}

/// The quick start, async.
async fn quick_start(share: &Share) {
    let root = share / "";
    let dir = root.join("quickstart");
    dir.mkdir(false, true).await.unwrap();
    let hello = &dir / "hello.txt";
    hello.write_text("Hello from Rust!\n").await.unwrap();
    assert_eq!(hello.read_text().await.unwrap(), "Hello from Rust!\n");
    let listed = dir.iterdir().await.unwrap().collect().await.unwrap();
    assert_eq!(listed, [dir.join("hello.txt")]);
    let texts = dir.glob("*.txt").await.unwrap().collect().await.unwrap();
    assert_eq!(
        texts,
        [dir.join("HELLO.TXT").with_name("hello.txt").unwrap()]
    );
    hello.unlink(false).await.unwrap();
    dir.rmdir().await.unwrap();
    assert!(!dir.exists().await.unwrap());
}

async fn metadata(srv: &SambaServer, share: &Share) {
    let local = srv.share_path("x");
    std::fs::create_dir(local.join("dir")).unwrap();
    std::fs::write(local.join("dir/f.bin"), [1u8; 300]).unwrap();
    let (dir, file) = (share.path("dir"), share.path("dir/f.bin"));
    let missing = share.path("dir/f.bin/x");
    assert!(dir.is_dir().await.unwrap() && !dir.is_file().await.unwrap());
    assert!(file.is_file().await.unwrap() && file.exists().await.unwrap());
    assert!(!missing.exists().await.unwrap() && !missing.is_dir().await.unwrap());
    assert_eq!(file.stat().await.unwrap().size, 300);
    assert_eq!(kind(missing.stat().await), ErrorKind::NotFound);
    let raw = file
        .stat_class(class::FILE_STANDARD_INFORMATION)
        .await
        .unwrap();
    let std_info = FileStandardInformation::decode(&raw).unwrap();
    assert_eq!(std_info.end_of_file, 300);
    let all = file.stat_info::<FileAllInformation>().await.unwrap();
    assert_eq!(all.file_name, r"\dir\f.bin");
    assert_eq!(file.to_string(), format!(r"\\{}\x\dir\f.bin", srv.host()));
}

async fn globs(srv: &SambaServer, share: &Share) {
    let local = srv.share_path("x").join("tree");
    assert_eq!(make_glob_tree(&local), 496);
    let everything = local_tree(&local);
    for dir in ["tree", "tree/Beta/sub2"] {
        let base = share.path(dir);
        let names: BTreeSet<String> = std::fs::read_dir(srv.share_path("x").join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        let mut listing = base.iterdir().await.unwrap();
        let mut listed = BTreeSet::new();
        while let Some(p) = listing.next().await {
            listed.insert(p.unwrap().name().to_string());
        }
        assert_eq!(listed, names, "iterdir {dir}");
        for pattern in GLOB_PATTERNS {
            let want: BTreeSet<&String> =
                names.iter().filter(|n| glob_oracle(pattern, n)).collect();
            let got = base.glob(pattern).await.unwrap().collect().await.unwrap();
            let got: BTreeSet<String> = got.iter().map(|p| p.name().to_string()).collect();
            assert_eq!(
                got.iter().collect::<BTreeSet<_>>(),
                want,
                "glob {pattern} in {dir}"
            );
        }
    }
    let base = share.path("tree");
    for pattern in GLOB_PATTERNS {
        let want: BTreeSet<String> = everything
            .iter()
            .filter(|p| glob_oracle(pattern, p.rsplit('/').next().unwrap()))
            .map(|p| format!("tree/{p}"))
            .collect();
        let found: Vec<SmbPath> = base.rglob(pattern).await.unwrap();
        let got: BTreeSet<String> = found.iter().map(|p| p.as_str().to_string()).collect();
        assert_eq!((got.len(), &got), (found.len(), &want), "rglob {pattern}");
    }
    let mut on_file = share.path("tree/alpha/a1.txt").iterdir().await.unwrap();
    assert_eq!(
        kind(on_file.next().await.unwrap()),
        ErrorKind::NotADirectory
    );
    assert_eq!(
        kind(share.path("nope").rglob("*").await),
        ErrorKind::NotFound
    );
    assert_eq!(kind(base.glob("**").await), ErrorKind::InvalidArgument);
}

async fn changes(srv: &SambaServer, share: &Share) {
    let local = srv.share_path("x");
    // mkdir
    let deep = share.path("m/n/o");
    assert_eq!(kind(deep.mkdir(false, false).await), ErrorKind::NotFound);
    deep.mkdir(true, false).await.unwrap();
    assert_eq!(
        kind(deep.mkdir(true, false).await),
        ErrorKind::AlreadyExists
    );
    deep.mkdir(false, true).await.unwrap();
    assert!(local.join("m/n/o").is_dir());
    std::fs::write(local.join("m/file"), b"f").unwrap();
    assert_eq!(
        kind(share.path("m/file").mkdir(true, true).await),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(share.path("m/file/p").mkdir(true, true).await),
        ErrorKind::NotADirectory
    );
    // rmdir, unlink
    assert_eq!(kind(share.path("m/n").rmdir().await), ErrorKind::NotEmpty);
    deep.rmdir().await.unwrap();
    assert_eq!(
        kind(share.path("m/file").rmdir().await),
        ErrorKind::NotADirectory
    );
    assert_eq!(
        kind(share.path("m/n").unlink(false).await),
        ErrorKind::IsADirectory
    );
    assert_eq!(
        kind(share.path("m/gone").unlink(false).await),
        ErrorKind::NotFound
    );
    share.path("m/gone").unlink(true).await.unwrap();
    share.path("m/file").unlink(false).await.unwrap();
    assert!(!local.join("m/file").exists());
    // rename, replace
    let (a, b) = (share.path("a"), share.path("b"));
    a.write_bytes(&b"A"[..]).await.unwrap();
    b.write_text("B").await.unwrap();
    assert_eq!(kind(a.rename(&b).await), ErrorKind::AlreadyExists);
    let c = a.rename("m/c").await.unwrap();
    assert_eq!(c, share.path("m/c"));
    assert_eq!(c.read_bytes().await.unwrap(), b"A");
    assert_eq!(c.replace("b").await.unwrap(), b);
    assert_eq!(std::fs::read(local.join("b")).unwrap(), b"A");
    assert!(!local.join("m/c").exists() && !local.join("a").exists());
    // touch
    let t = share.path("t");
    t.touch(false).await.unwrap();
    assert_eq!(kind(t.touch(false).await), ErrorKind::AlreadyExists);
    let old = SystemTime::now() - Duration::from_secs(7 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(local.join("t"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let start = SystemTime::now();
    t.touch(true).await.unwrap();
    let mtime = t
        .stat()
        .await
        .unwrap()
        .last_write_time
        .to_system_time()
        .unwrap();
    assert!(mtime + Duration::from_secs(2) >= start, "{mtime:?}");
    // text
    std::fs::write(local.join("bad"), [0xc3, 0x28]).unwrap();
    assert_eq!(
        kind(share.path("bad").read_text().await),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(share.path("m").read_bytes().await),
        ErrorKind::IsADirectory
    );
}

async fn open_modes(srv: &SambaServer, share: &Share) {
    let local = srv.share_path("x");
    let disk = |n: &str| std::fs::read(local.join(n)).unwrap();
    assert_eq!(
        kind(share.path("none").open("r").await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(share.path("none").open("rw").await),
        ErrorKind::InvalidArgument
    );

    let mut f = share.path("x").open("x").await.unwrap();
    f.write_all(b"0123456789").await.unwrap();
    f.close().await.unwrap();
    assert_eq!(
        kind(share.path("x").open("xb").await),
        ErrorKind::AlreadyExists
    );

    let mut f = share.path("x").open("r+b").await.unwrap();
    f.seek(std::io::SeekFrom::Start(2)).await.unwrap();
    f.write_all(b"ab").await.unwrap();
    f.seek(std::io::SeekFrom::Start(0)).await.unwrap();
    assert_eq!(read_all(&mut f).await, b"01ab456789");
    f.close().await.unwrap();

    let mut f = share.path("x").open("w+").await.unwrap();
    assert_eq!(read_all(&mut f).await, b"");
    f.write_all(b"new").await.unwrap();
    f.seek(std::io::SeekFrom::Start(0)).await.unwrap();
    assert_eq!(read_all(&mut f).await, b"new");
    f.close().await.unwrap();
    share
        .path("x")
        .open("w")
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    assert_eq!(disk("x"), b"");

    std::fs::write(local.join("log"), b"start").unwrap();
    let mut f = share.path("log").open("a").await.unwrap();
    assert_eq!(f.seek(std::io::SeekFrom::Current(0)).await.unwrap(), 5);
    f.write_all(b"-1").await.unwrap();
    f.seek(std::io::SeekFrom::Start(0)).await.unwrap();
    f.write_all(b"-2").await.unwrap();
    assert_eq!(f.seek(std::io::SeekFrom::Current(0)).await.unwrap(), 9);
    f.close().await.unwrap();
    assert_eq!(disk("log"), b"start-1-2");
    // Written and dropped without a close: the append still happens.
    let mut f = share.path("log").open("ab").await.unwrap();
    f.write_all(b"-3").await.unwrap();
    drop(f);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while disk("log") != b"start-1-2-3" {
        assert!(std::time::Instant::now() < deadline, "{:?}", disk("log"));
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many tree connects to `share` the server has (`smbstatus -S`).
fn trees_of(srv: &SambaServer, share: &str) -> usize {
    srv.smbstatus(&["-S"])
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(share))
        .count()
}

/// Waits (a bounded while) for the server to count `n` trees of share `x`.
fn wait_for_trees(srv: &SambaServer, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while trees_of(srv, "x") != n {
        assert!(std::time::Instant::now() < deadline, "expected {n} trees");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Everything but the connect, on whichever runtime the share's connection runs on.
async fn scenario(srv: &SambaServer, share: Share) {
    quick_start(&share).await;
    metadata(srv, &share).await;
    globs(srv, &share).await;
    changes(srv, &share).await;
    open_modes(srv, &share).await;

    // The last handle's drop hands the disconnect to the connection's task, which
    // sends it while another handle keeps the connection.
    let client = share.client().clone();
    wait_for_trees(srv, 1);
    drop(share);
    wait_for_trees(srv, 0);
    client.echo().await.unwrap();
}

#[test]
fn the_path_api_on_tokio() {
    let srv = server();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (server, creds) = target(&srv);
        let share = smb_tokio::Share::connect(&server, creds.as_str(), "x")
            .await
            .unwrap();
        {
            // tokio's own traits on a file a path opened.
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let p = &share / "tokio.txt";
            let mut f = smb_tokio::File::from(p.open("w+").await.unwrap());
            f.write_all(b"tokio").await.unwrap();
            f.shutdown().await.unwrap();
            let mut text = String::new();
            smb_tokio::File::from(p.open("r").await.unwrap())
                .read_to_string(&mut text)
                .await
                .unwrap();
            assert_eq!(text, "tokio");
            p.unlink(false).await.unwrap();
            // `p` holds the share (and its tree) until here.
        }
        let bad = smb_tokio::Share::connect(&server, creds.as_str(), "nope").await;
        assert_eq!(kind(bad), ErrorKind::NotFound);
        scenario(&srv, share.into_inner()).await;
    });
}

#[test]
fn the_path_api_on_smol() {
    let srv = server();
    smol::block_on(async {
        let (server, creds) = target(&srv);
        let share = smb_asyncstd::Share::connect(&server, creds, "x", smb_asyncstd::runtime())
            .await
            .unwrap();
        let shown = format!("{share:?}");
        assert!(!shown.contains(srv.password()), "{shown}");
        scenario(&srv, share).await;
    });
}
