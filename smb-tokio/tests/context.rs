//! The URL context (libsmbclient's `smbc_*` calls) on tokio against a private smbd:
//! every call, files with tokio's I/O traits (O_APPEND included), a server's share
//! types, the errnos and their `io::ErrorKind`, and a `simple_auth` table giving two
//! users different rights, consulted from a callback that counts how often it is asked:
//! once per server and share.

use std::collections::HashMap;
use std::io::{self, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use smb_tests::{SambaServer, Share};
use smb_tokio::{
    Context, DirentType, Errno, Error, OpenFlags, SimpleAuth, O_APPEND, O_CREAT, O_EXCL, O_RDONLY,
    O_TRUNC, O_WRONLY,
};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// How long a test waits for something that must not hang before it calls it a hang.
const HANG: Duration = Duration::from_secs(120);

const ALICE: (&str, &str) = ("alice", "alice-Pw1");
const BOB: (&str, &str) = ("bob", "bob-Pw2");

fn expect_errno<T>(r: Result<T, Error>, errno: Errno, kind: io::ErrorKind, what: &str) {
    let e = match r {
        Ok(_) => panic!("{what}: succeeded, expected {}", errno.name()),
        Err(e) => e,
    };
    assert_eq!(e.errno(), errno, "{what}: {e}");
    assert_eq!(io::Error::from(e).kind(), kind, "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_by_url_on_tokio() {
    let srv = SambaServer::builder()
        .user(ALICE.0, ALICE.1)
        .user(BOB.0, BOB.1)
        .share(Share::new("work"))
        .share(
            Share::new("public")
                .read_only()
                .option("write list", ALICE.0),
        )
        .share(Share::new("private").option("valid users", ALICE.0))
        .share(Share::new("lp").option("printable", "yes"))
        .start();
    tokio::time::timeout(HANG, scenario(&srv))
        .await
        .unwrap_or_else(|_| panic!("hung for {HANG:?}"));
}

async fn scenario(srv: &SambaServer) {
    let (host, port) = (srv.host(), srv.port());
    let u = |rest: &str| format!("smb://{host}:{port}/{rest}");
    let disk = srv.share_path("work");
    // alice on private, bob on every other share of this server; the callback counts
    // how often each server and share is asked for.
    let table = SimpleAuth::new()
        .entry(host, "*", "", BOB.0, BOB.1)
        .entry(host, "private", "", ALICE.0, ALICE.1);
    let asked: Arc<Mutex<HashMap<(String, String), usize>>> = Arc::default();
    let log = asked.clone();
    let ctx = Context::new(srv.connect_options()).auth_callback(move |server, share, auth| {
        *log.lock()
            .unwrap()
            .entry((server.to_string(), share.to_string()))
            .or_default() += 1;
        table.fill(server, share, auth);
    });

    ctx.mkdir(&u("work/d")).await.expect("mkdir");
    let mut f = ctx
        .open(&u("work/d/f.txt"), O_WRONLY | O_CREAT | O_TRUNC)
        .await
        .expect("create");
    f.write_all(b"one").await.unwrap();
    f.shutdown().await.unwrap();
    let mut f = ctx
        .open(&u("work/d/f.txt"), O_WRONLY | O_APPEND)
        .await
        .expect("append");
    f.seek(SeekFrom::Start(0)).await.unwrap();
    f.write_all(b"two").await.unwrap();
    f.write_all(b"three").await.unwrap();
    f.shutdown().await.unwrap();
    assert_eq!(std::fs::read(disk.join("d/f.txt")).unwrap(), b"onetwothree");
    let mut text = String::new();
    ctx.open(&u("work/d/f.txt"), O_RDONLY)
        .await
        .expect("read")
        .read_to_string(&mut text)
        .await
        .unwrap();
    assert_eq!(text, "onetwothree");
    // smbc_read: n bytes from the position, then what is left before the end, then 0.
    let mut f = ctx
        .open(&u("work/d/f.txt"), O_RDONLY)
        .await
        .expect("open for reading");
    let mut three = [0; 3];
    f.read_exact(&mut three).await.expect("read 3 bytes");
    assert_eq!(&three, b"one");
    f.seek(SeekFrom::Current(3)).await.unwrap();
    let mut rest = [0; 8];
    assert_eq!(f.read(&mut rest).await.expect("read past the end"), 5);
    assert_eq!(&rest[..5], b"three");
    assert_eq!(f.read(&mut rest).await.expect("read at the end"), 0);
    drop(f);
    drop(
        ctx.open_with(
            &u("work/d/g.txt"),
            OpenFlags::new().write(true).create_new(true),
        )
        .await
        .expect("create_new"),
    );

    let mut dir = ctx.opendir(&u("work/d")).await.expect("opendir");
    let mut names = Vec::new();
    while let Some(entry) = dir.next().await {
        let entry = entry.unwrap();
        assert_eq!(entry.kind, DirentType::File);
        names.push(entry.name);
    }
    names.sort();
    assert_eq!(names, ["f.txt", "g.txt"]);
    let mut shares = ctx.opendir(&u("")).await.expect("share list");
    let mut kinds = std::collections::HashMap::new();
    while let Some(entry) = shares.next().await {
        let entry = entry.unwrap();
        kinds.insert(entry.name, entry.kind);
    }
    assert_eq!(kinds.get("work"), Some(&DirentType::FileShare));
    assert_eq!(kinds.get("lp"), Some(&DirentType::PrinterShare));
    assert_eq!(kinds.get("IPC$"), Some(&DirentType::IpcShare));

    assert_eq!(ctx.stat(&u("work/d/f.txt")).await.unwrap().size, 11);
    ctx.chmod(&u("work/d/f.txt"), 0o400).await.unwrap();
    assert!(ctx.stat(&u("work/d/f.txt")).await.unwrap().is_read_only());
    ctx.chmod(&u("work/d/f.txt"), 0o600).await.unwrap();
    assert!(!ctx.stat(&u("work/d/f.txt")).await.unwrap().is_read_only());
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_111_111_111);
    ctx.utimes(&u("work/d/f.txt"), mtime, mtime).await.unwrap();
    assert_eq!(
        std::fs::metadata(disk.join("d/f.txt"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
    ctx.rename(&u("work/d/g.txt"), &u("work/d/f.txt"))
        .await
        .expect("rename replacing");
    assert_eq!(std::fs::read(disk.join("d/f.txt")).unwrap(), b"");

    use io::ErrorKind as K;
    expect_errno(
        ctx.stat(&u("work/d/g.txt")).await,
        Errno::ENOENT,
        K::NotFound,
        "stat",
    );
    expect_errno(
        ctx.open(&u("work/d/f.txt"), O_WRONLY | O_CREAT | O_EXCL)
            .await,
        Errno::EEXIST,
        K::AlreadyExists,
        "O_CREAT|O_EXCL",
    );
    expect_errno(
        ctx.rmdir(&u("work/d")).await,
        Errno::ENOTEMPTY,
        K::DirectoryNotEmpty,
        "rmdir",
    );
    expect_errno(
        ctx.opendir(&u("work/d/f.txt")).await,
        Errno::ENOTDIR,
        K::NotADirectory,
        "opendir of a file",
    );
    expect_errno(
        ctx.unlink(&u("work/d")).await,
        Errno::EISDIR,
        K::IsADirectory,
        "unlink of a directory",
    );
    expect_errno(
        ctx.rename(&u("work/d/f.txt"), &u("private/f.txt")).await,
        Errno::EXDEV,
        K::CrossesDevices,
        "rename across shares",
    );
    // bob (the table's entry for this server) may not write to public.
    expect_errno(
        ctx.open(&u("public/x"), O_WRONLY | O_CREAT).await,
        Errno::EACCES,
        K::PermissionDenied,
        "bob writes to public",
    );
    // alice (the entry for this server and share) may use private.
    ctx.stat(&u("private")).await.expect("alice on private");

    // A context is shared with spawned tasks (its futures are `Send`).
    let (other, url) = (ctx.clone(), u("work/d/f.txt"));
    let size = tokio::spawn(async move { other.stat(&url).await.map(|i| i.size) })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(size, 0);
    ctx.unlink(&u("work/d/f.txt")).await.expect("unlink");
    ctx.rmdir(&u("work/d")).await.expect("rmdir");
    assert!(!disk.join("d").exists());
    assert_eq!(ctx.connections(), 2, "bob's and alice's");
    let expected: HashMap<(String, String), usize> = ["work", "IPC$", "public", "private"]
        .iter()
        .map(|share| ((host.to_string(), share.to_string()), 1))
        .collect();
    assert_eq!(
        *asked.lock().unwrap(),
        expected,
        "once per server and share"
    );
}
