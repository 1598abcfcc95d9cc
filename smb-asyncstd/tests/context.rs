//! The async URL context (libsmbclient's `smbc_*` calls) against a private smbd, on smol
//! and on async-std: every call, O_APPEND, chmod and utimes on the server's disk, a
//! server's share types, the errnos and their `io::ErrorKind`, and a callback asked once
//! per server and share for two users with different rights.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, FutureExt};
use smb_asyncstd::runtime::Runtime;
use smb_asyncstd::{
    Context, Dirent, DirentType, Errno, Error, OpenFlags, O_APPEND, O_CREAT, O_EXCL, O_RDONLY,
    O_TRUNC, O_WRONLY,
};
use smb_tests::{SambaServer, Share};

/// How long a test waits for something that must not hang before it calls it a hang.
const HANG: Duration = Duration::from_secs(120);

const ALICE: (&str, &str) = ("alice", "alice-Pw1");
const BOB: (&str, &str) = ("bob", "bob-Pw2");

/// `work` for everyone, `public` read-only but for alice, `private` alice's alone, and
/// a print queue.
fn server() -> SambaServer {
    SambaServer::builder()
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
        .start()
}

async fn guard<T>(what: &str, f: impl Future<Output = T>) -> T {
    f.or(async {
        async_io::Timer::after(HANG).await;
        panic!("{what} hung for {HANG:?}")
    })
    .await
}

fn expect_errno<T>(r: Result<T, Error>, errno: Errno, kind: io::ErrorKind, what: &str) {
    let e = match r {
        Ok(_) => panic!("{what}: succeeded, expected {}", errno.name()),
        Err(e) => e,
    };
    assert_eq!(e.errno(), errno, "{what}: {e}");
    assert_eq!(io::Error::from(e).kind(), kind, "{what}");
}

async fn collect(ctx: &Context, url: &str) -> Vec<Dirent> {
    let mut dir = ctx.opendir(url).await.expect("opendir");
    let mut entries = Vec::new();
    while let Some(entry) = dir.next().await {
        entries.push(entry.expect("entry"));
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// Every call once, and the errnos, on `runtime`.
async fn scenario(srv: &SambaServer, runtime: Arc<dyn Runtime>) {
    let u = |rest: &str| format!("smb://{}:{}/{rest}", srv.host(), srv.port());
    let disk = srv.share_path("work");
    let asked: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let log = asked.clone();
    // alice on her share, bob everywhere else.
    let ctx = Context::new(runtime, srv.connect_options()).auth_callback(move |_, share, auth| {
        *log.lock().unwrap().entry(share.to_string()).or_default() += 1;
        let (user, password) = if share == "private" { ALICE } else { BOB };
        auth.username = user.into();
        auth.password = password.into();
    });

    ctx.mkdir(&u("work/dir")).await.expect("mkdir");
    let mut f = ctx
        .open(&u("work/dir/a.txt"), O_WRONLY | O_CREAT | O_TRUNC)
        .await
        .expect("create");
    f.write_all(b"hello").await.unwrap();
    f.close().await.unwrap();
    assert_eq!(std::fs::read(disk.join("dir/a.txt")).unwrap(), b"hello");

    // O_APPEND: each write at the end, even after the file grew behind the handle.
    let mut f = ctx
        .open(&u("work/dir/a.txt"), O_WRONLY | O_APPEND)
        .await
        .expect("append");
    f.seek(io::SeekFrom::Start(0)).await.unwrap();
    f.write_all(b" world").await.unwrap();
    f.flush().await.unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(disk.join("dir/a.txt"))
        .and_then(|mut f| io::Write::write_all(&mut f, b"!"))
        .unwrap();
    f.write_all(b"?").await.unwrap();
    f.close().await.unwrap();
    let mut text = String::new();
    ctx.open_with(&u("work/dir/a.txt"), OpenFlags::new().read(true))
        .await
        .expect("open for reading")
        .read_to_string(&mut text)
        .await
        .unwrap();
    assert_eq!(text, "hello world!?");
    // smbc_read: n bytes from the position, then what is left before the end, then 0.
    let mut f = ctx
        .open(&u("work/dir/a.txt"), O_RDONLY)
        .await
        .expect("open for reading");
    let mut five = [0; 5];
    f.read_exact(&mut five).await.expect("read 5 bytes");
    assert_eq!(&five, b"hello");
    f.seek(io::SeekFrom::Current(1)).await.unwrap();
    let mut three = [0; 3];
    assert_eq!(f.read(&mut three).await.expect("read 3 bytes"), 3);
    assert_eq!(&three, b"wor");
    let mut rest = [0; 8];
    assert_eq!(f.read(&mut rest).await.expect("read past the end"), 4);
    assert_eq!(&rest[..4], b"ld!?");
    assert_eq!(f.read(&mut rest).await.expect("read at the end"), 0);
    drop(f);

    let names: Vec<_> = collect(&ctx, &u("work/dir")).await;
    assert_eq!(names.len(), 1);
    assert_eq!(
        (names[0].name.as_str(), names[0].kind),
        ("a.txt", DirentType::File)
    );
    assert_eq!(names[0].info.as_ref().map(|i| i.size), Some(13));
    let shares = collect(&ctx, &u("")).await;
    let kind = |name: &str| shares.iter().find(|d| d.name == name).map(|d| d.kind);
    assert_eq!(kind("work"), Some(DirentType::FileShare));
    assert_eq!(kind("lp"), Some(DirentType::PrinterShare));
    assert_eq!(kind("IPC$"), Some(DirentType::IpcShare));

    assert_eq!(ctx.stat(&u("work/dir/a.txt")).await.unwrap().size, 13);
    ctx.chmod(&u("work/dir/a.txt"), 0o444).await.unwrap();
    assert!(ctx.stat(&u("work/dir/a.txt")).await.unwrap().is_read_only());
    ctx.chmod(&u("work/dir/a.txt"), 0o664).await.unwrap();
    assert!(!ctx.stat(&u("work/dir/a.txt")).await.unwrap().is_read_only());
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_234_567_890);
    ctx.utimes(&u("work/dir/a.txt"), mtime, mtime)
        .await
        .unwrap();
    let on_disk = std::fs::metadata(disk.join("dir/a.txt")).unwrap();
    assert_eq!(on_disk.modified().unwrap(), mtime);

    ctx.rename(&u("work/dir/a.txt"), &u("work/b.txt"))
        .await
        .expect("rename");
    assert!(disk.join("b.txt").is_file());
    expect_errno(
        ctx.rename(&u("work/b.txt"), &u("public/b.txt")).await,
        Errno::EXDEV,
        io::ErrorKind::CrossesDevices,
        "rename across shares",
    );
    expect_errno(
        ctx.open(&u("work/b.txt"), O_WRONLY | O_CREAT | O_EXCL)
            .await,
        Errno::EEXIST,
        io::ErrorKind::AlreadyExists,
        "O_CREAT|O_EXCL",
    );
    expect_errno(
        ctx.opendir(&u("work/b.txt")).await,
        Errno::ENOTDIR,
        io::ErrorKind::NotADirectory,
        "opendir of a file",
    );
    ctx.mkdir(&u("work/dir/sub")).await.unwrap();
    expect_errno(
        ctx.rmdir(&u("work/dir")).await,
        Errno::ENOTEMPTY,
        io::ErrorKind::DirectoryNotEmpty,
        "rmdir of a full directory",
    );
    expect_errno(
        ctx.unlink(&u("work/dir")).await,
        Errno::EISDIR,
        io::ErrorKind::IsADirectory,
        "unlink of a directory",
    );
    expect_errno(
        ctx.open(&u("work/dir"), O_WRONLY).await,
        Errno::EISDIR,
        io::ErrorKind::IsADirectory,
        "open of a directory for writing",
    );
    ctx.unlink(&u("work/b.txt")).await.expect("unlink");
    expect_errno(
        ctx.stat(&u("work/b.txt")).await,
        Errno::ENOENT,
        io::ErrorKind::NotFound,
        "stat after unlink",
    );
    ctx.rmdir(&u("work/dir/sub")).await.unwrap();
    ctx.rmdir(&u("work/dir")).await.expect("rmdir");
    assert!(!disk.join("dir").exists());

    // bob may read public but not write there; alice may use private.
    assert!(collect(&ctx, &u("public")).await.is_empty());
    expect_errno(
        ctx.open(&u("public/x"), O_WRONLY | O_CREAT).await,
        Errno::EACCES,
        io::ErrorKind::PermissionDenied,
        "bob writes to a read-only share",
    );
    ctx.stat(&u("private")).await.expect("alice on private");

    let asked = asked.lock().unwrap().clone();
    let expected: HashMap<String, usize> = ["work", "IPC$", "public", "private"]
        .iter()
        .map(|s| (s.to_string(), 1))
        .collect();
    assert_eq!(asked, expected, "once per server and share");
    assert_eq!(ctx.connections(), 2, "bob's and alice's");
}

#[test]
fn every_call_on_smol() {
    let srv = server();
    smol::block_on(guard("smol", scenario(&srv, smb_asyncstd::runtime())));
}

#[test]
fn every_call_on_async_std() {
    let srv = server();
    let runtime = smb_asyncstd::runtime_with(Arc::new(|f| drop(async_std::task::spawn(f))));
    async_std::task::block_on(guard("async-std", scenario(&srv, runtime)));
}
