//! The URL context (libsmbclient's `smbc_*` calls) of the blocking driver against a
//! private smbd: every call, O_APPEND, chmod and utimes checked on the server's disk,
//! a server's share list with types, every errno a caller of libsmbclient meets and the
//! `io::ErrorKind` it becomes, and credentials from a callback and from a `simple_auth`
//! table, with two users whose rights differ on two shares.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use smb_blocking::{
    file_attributes, st_mode, Context, DirentType, Errno, Error, OpenFlags, SimpleAuth, O_APPEND,
    O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
};
use smb_tests::{SambaServer, Share};

const ALICE: (&str, &str) = ("alice", "alice-Pw1");
const BOB: (&str, &str) = ("bob", "bob-Pw2");

/// `work`: a plain writable share; `public`: read-only but for alice (`write list`);
/// `private`: alice's alone (`valid users`); `lp`: a print queue; every share has a
/// comment.
fn server() -> SambaServer {
    SambaServer::builder()
        .user(ALICE.0, ALICE.1)
        .user(BOB.0, BOB.1)
        .share(Share::new("work").option("comment", "scratch space"))
        .share(
            Share::new("public")
                .read_only()
                .option("write list", ALICE.0)
                .option("comment", "everyone reads"),
        )
        .share(
            Share::new("private")
                .option("valid users", ALICE.0)
                .option("comment", "alice only"),
        )
        .share(
            Share::new("lp")
                .option("printable", "yes")
                .option("comment", "a printer"),
        )
        .start()
}

/// `smb://127.0.0.1:PORT/share/path`, no credentials: the context supplies them.
fn url(srv: &SambaServer, rest: &str) -> String {
    format!("smb://{}:{}/{rest}", srv.host(), srv.port())
}

/// A context logging in as the harness's default user.
fn context(srv: &SambaServer) -> Context {
    Context::new(srv.connect_options())
}

/// `r` failed with `errno`, and as an `io::Error` with `kind`.
fn expect_errno<T>(r: Result<T, Error>, errno: Errno, kind: io::ErrorKind, what: &str) {
    let e = match r {
        Ok(_) => panic!("{what}: succeeded, expected {}", errno.name()),
        Err(e) => e,
    };
    assert_eq!(e.errno(), errno, "{what}: {e}");
    assert_eq!(io::Error::from(e).kind(), kind, "{what}");
}

fn read_all(ctx: &Context, url: &str) -> Vec<u8> {
    let mut f = ctx.open(url, O_RDONLY).expect("open for reading");
    let mut out = Vec::new();
    f.read_to_end(&mut out).expect("read");
    out
}

#[test]
fn every_call_by_url_on_one_connection() {
    let srv = server();
    let ctx = context(&srv);
    let disk = srv.share_path("work");

    ctx.mkdir(&url(&srv, "work/dir")).expect("mkdir");
    assert!(disk.join("dir").is_dir());
    let file = url(&srv, "work/dir/a.txt");
    let mut f = ctx
        .open(&file, O_WRONLY | O_CREAT | O_TRUNC)
        .expect("create");
    f.write_all(b"hello world").expect("write");
    f.close().expect("close");
    assert_eq!(
        std::fs::read(disk.join("dir/a.txt")).unwrap(),
        b"hello world"
    );
    assert_eq!(read_all(&ctx, &file), b"hello world");

    // O_RDWR keeps the contents; O_TRUNC empties them; O_CREAT alone opens as it is.
    let mut f = ctx.open(&file, O_RDWR).expect("open rdwr");
    f.seek(SeekFrom::Start(6)).unwrap();
    f.write_all(b"WORLD").unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut back = String::new();
    f.read_to_string(&mut back).unwrap();
    assert_eq!(back, "hello WORLD");
    drop(f);
    drop(ctx.open(&file, O_WRONLY | O_CREAT).expect("open_if"));
    assert_eq!(read_all(&ctx, &file), b"hello WORLD");

    // smbc_read: n bytes from the position, then what is left before the end, then 0.
    let mut f = ctx.open(&file, O_RDONLY).expect("open for reading");
    let mut five = [0; 5];
    f.read_exact(&mut five).expect("read 5 bytes");
    assert_eq!(&five, b"hello");
    f.seek(SeekFrom::Current(1)).unwrap();
    let mut three = [0; 3];
    assert_eq!(f.read(&mut three).expect("read 3 bytes"), 3);
    assert_eq!(&three, b"WOR");
    let mut rest = [0; 8];
    assert_eq!(f.read(&mut rest).expect("read past the end"), 2);
    assert_eq!(&rest[..2], b"LD");
    assert_eq!(f.read(&mut rest).expect("read at the end"), 0);
    drop(f);
    drop(ctx.open(&file, O_WRONLY | O_TRUNC).expect("overwrite"));
    assert_eq!(read_all(&ctx, &file), b"");

    // The builder spells the same flags.
    let mut f = ctx
        .open_with(
            &url(&srv, "work/dir/b.txt"),
            OpenFlags::new().write(true).create_new(true),
        )
        .expect("create_new");
    f.write_all(b"bee").unwrap();
    drop(f);
    assert_eq!(std::fs::read(disk.join("dir/b.txt")).unwrap(), b"bee");

    let info = ctx.stat(&url(&srv, "work/dir/b.txt")).expect("stat");
    assert_eq!((info.size, info.is_directory()), (3, false));
    let dir_info = ctx.stat(&url(&srv, "work/dir")).expect("stat dir");
    assert!(dir_info.is_directory());
    assert_eq!(st_mode(dir_info.attributes) & 0o170_000, 0o040_000);
    assert!(ctx
        .stat(&url(&srv, "work"))
        .expect("stat share root")
        .is_directory());

    let mut names: Vec<(String, DirentType, u64)> = ctx
        .opendir(&url(&srv, "work/dir"))
        .expect("opendir")
        .map(|e| (e.name, e.kind, e.info.map_or(0, |i| i.size)))
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        names,
        [
            ("a.txt".to_string(), DirentType::File, 0),
            ("b.txt".to_string(), DirentType::File, 3)
        ]
    );
    let root: Vec<_> = ctx
        .opendir(&url(&srv, "work/"))
        .expect("opendir root")
        .collect();
    assert_eq!(root.len(), 1);
    assert_eq!(
        (root[0].name.as_str(), root[0].kind),
        ("dir", DirentType::Dir)
    );

    // rename replaces an existing target, as POSIX rename does.
    ctx.rename(&url(&srv, "work/dir/b.txt"), &url(&srv, "work/dir/a.txt"))
        .expect("rename onto a file");
    assert_eq!(std::fs::read(disk.join("dir/a.txt")).unwrap(), b"bee");
    ctx.rename(&url(&srv, "work/dir/a.txt"), &url(&srv, "work/c.txt"))
        .expect("move");
    assert!(disk.join("c.txt").is_file() && !disk.join("dir/a.txt").exists());

    ctx.unlink(&url(&srv, "work/c.txt")).expect("unlink");
    assert!(!disk.join("c.txt").exists());
    ctx.rmdir(&url(&srv, "work/dir")).expect("rmdir");
    assert!(!disk.join("dir").exists());

    // Another share as the same user: the same connection.
    let shared = url(&srv, "public");
    assert!(ctx
        .opendir(&shared)
        .expect("opendir public")
        .next()
        .is_none());
    assert_eq!(ctx.connections(), 1, "one user, two shares: one connection");
    // A clone shares the connection too.
    ctx.clone().stat(&url(&srv, "work")).unwrap();
    assert_eq!(ctx.connections(), 1);
}

#[test]
fn o_append_writes_at_the_end_each_time() {
    let srv = server();
    let ctx = context(&srv);
    let disk = srv.share_path("work").join("log.txt");
    std::fs::write(&disk, b"abc").unwrap();
    let mut f = ctx
        .open(&url(&srv, "work/log.txt"), O_WRONLY | O_APPEND)
        .expect("open append");
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(b"def").unwrap();
    assert_eq!(std::fs::read(&disk).unwrap(), b"abcdef");
    // The file grows behind this handle's back: the next write still lands at the end.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&disk)
        .unwrap()
        .write_all(b"XYZ")
        .unwrap();
    f.write_all(b"ghi").unwrap();
    f.close().unwrap();
    assert_eq!(std::fs::read(&disk).unwrap(), b"abcdefXYZghi");

    // Without O_APPEND a write lands where the position is.
    let mut f = ctx.open(&url(&srv, "work/log.txt"), O_WRONLY).unwrap();
    f.write_all(b"__").unwrap();
    drop(f);
    assert_eq!(std::fs::read(&disk).unwrap(), b"__cdefXYZghi");

    // O_APPEND | O_CREAT makes a missing file; the builder's `append` is O_APPEND.
    let mut f = ctx
        .open_with(
            &url(&srv, "work/new.log"),
            OpenFlags::new().append(true).create(true),
        )
        .unwrap();
    f.write_all(b"1").unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(b"2").unwrap();
    drop(f);
    assert_eq!(
        std::fs::read(srv.share_path("work").join("new.log")).unwrap(),
        b"12"
    );
}

#[test]
fn chmod_sets_and_clears_read_only_and_utimes_sets_the_times() {
    let srv = server();
    let ctx = context(&srv);
    std::fs::write(srv.share_path("work").join("f.txt"), b"x").unwrap();
    let file = url(&srv, "work/f.txt");
    // A hidden file, so that keeping the other attributes shows.
    let conn = smb_blocking::Connection::connect(&srv.connect_options()).unwrap();
    conn.reset_file_attributes("work", "f.txt", file_attributes::HIDDEN)
        .unwrap();

    ctx.chmod(&file, 0o444).expect("chmod 444");
    let info = ctx.stat(&file).unwrap();
    assert!(
        info.is_read_only() && info.is_hidden(),
        "{:#x}",
        info.attributes
    );
    assert_eq!(st_mode(info.attributes) & 0o222, 0);
    // A read-only file refuses to be opened for writing…
    expect_errno(
        ctx.open(&file, O_WRONLY),
        Errno::EACCES,
        io::ErrorKind::PermissionDenied,
        "open a read-only file for writing",
    );
    ctx.chmod(&file, 0o644).expect("chmod 644");
    let info = ctx.stat(&file).unwrap();
    assert!(
        !info.is_read_only() && info.is_hidden(),
        "{:#x}",
        info.attributes
    );
    assert_ne!(st_mode(info.attributes) & 0o200, 0);
    // …and opens once it is writable again.
    drop(ctx.open(&file, O_WRONLY).expect("writable again"));
    // Clearing the last attribute is FILE_ATTRIBUTE_NORMAL, not "leave as is".
    conn.reset_file_attributes("work", "f.txt", file_attributes::READONLY)
        .unwrap();
    ctx.chmod(&file, 0o600).unwrap();
    assert!(!ctx.stat(&file).unwrap().is_read_only());

    let atime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_400_000_000);
    let mtime =
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_500_000_000) + Duration::from_millis(250);
    ctx.utimes(&file, atime, mtime).expect("utimes");
    let info = ctx.stat(&file).unwrap();
    assert_eq!(info.last_write_time.to_system_time(), Some(mtime));
    assert_eq!(info.last_access_time.to_system_time(), Some(atime));
    let meta = std::fs::metadata(srv.share_path("work").join("f.txt")).unwrap();
    assert_eq!(
        meta.modified().unwrap(),
        mtime,
        "mtime on the server's disk"
    );
    assert_eq!(
        meta.accessed().unwrap(),
        atime,
        "atime on the server's disk"
    );
    // On a directory too.
    ctx.mkdir(&url(&srv, "work/d")).unwrap();
    ctx.utimes(&url(&srv, "work/d"), atime, atime).unwrap();
    let meta = std::fs::metadata(srv.share_path("work").join("d")).unwrap();
    assert_eq!(meta.modified().unwrap(), atime);
}

#[test]
fn opendir_of_a_server_lists_its_shares_with_their_types() {
    let srv = server();
    let ctx = context(&srv);
    let shares: HashMap<String, (DirentType, String)> = ctx
        .opendir(&url(&srv, ""))
        .expect("opendir smb://server")
        .map(|e| {
            assert!(e.info.is_none(), "{}: a share has no file info", e.name);
            (e.name, (e.kind, e.comment))
        })
        .collect();
    let kind = |name: &str| shares.get(name).map(|(k, _)| *k);
    assert_eq!(kind("work"), Some(DirentType::FileShare), "{shares:?}");
    assert_eq!(kind("public"), Some(DirentType::FileShare));
    assert_eq!(kind("private"), Some(DirentType::FileShare));
    assert_eq!(kind("lp"), Some(DirentType::PrinterShare), "{shares:?}");
    assert_eq!(kind("IPC$"), Some(DirentType::IpcShare), "{shares:?}");
    assert_eq!(shares["work"].1, "scratch space");
    assert_eq!(shares["lp"].1, "a printer");
    assert_eq!(DirentType::PrinterShare.smbc_type(), 4);
    // `smb://server/` is the server too.
    assert_eq!(ctx.opendir(&url(&srv, "")).unwrap().len(), shares.len());
}

#[test]
fn every_errno_from_a_real_case() {
    let srv = server();
    let ctx = context(&srv);
    let disk = srv.share_path("work");
    std::fs::write(disk.join("file.txt"), b"x").unwrap();
    std::fs::create_dir_all(disk.join("full/sub")).unwrap();
    std::fs::create_dir(disk.join("empty")).unwrap();
    let u = |rest: &str| url(&srv, rest);
    use io::ErrorKind as K;

    expect_errno(
        ctx.stat(&u("work/missing")),
        Errno::ENOENT,
        K::NotFound,
        "stat",
    );
    expect_errno(
        ctx.open(&u("work/missing"), O_RDONLY),
        Errno::ENOENT,
        K::NotFound,
        "open",
    );
    expect_errno(
        ctx.open(&u("work/missing"), O_WRONLY | O_TRUNC),
        Errno::ENOENT,
        K::NotFound,
        "O_TRUNC without O_CREAT",
    );
    expect_errno(
        ctx.unlink(&u("work/missing")),
        Errno::ENOENT,
        K::NotFound,
        "unlink",
    );
    expect_errno(
        ctx.opendir(&u("work/missing")),
        Errno::ENOENT,
        K::NotFound,
        "opendir",
    );
    expect_errno(
        ctx.rename(&u("work/missing"), &u("work/x")),
        Errno::ENOENT,
        K::NotFound,
        "rename",
    );

    expect_errno(
        ctx.open(&u("work/file.txt"), O_WRONLY | O_CREAT | O_EXCL),
        Errno::EEXIST,
        K::AlreadyExists,
        "O_CREAT|O_EXCL on an existing file",
    );
    expect_errno(
        ctx.mkdir(&u("work/empty")),
        Errno::EEXIST,
        K::AlreadyExists,
        "mkdir",
    );

    expect_errno(
        ctx.open(&u("public/new.txt"), O_WRONLY | O_CREAT),
        Errno::EACCES,
        K::PermissionDenied,
        "create on a read-only share",
    );
    expect_errno(
        ctx.mkdir(&u("public/d")),
        Errno::EACCES,
        K::PermissionDenied,
        "mkdir on a read-only share",
    );
    expect_errno(
        ctx.opendir(&u("private")),
        Errno::EACCES,
        K::PermissionDenied,
        "a share the user is not valid for",
    );

    expect_errno(
        ctx.rmdir(&u("work/full")),
        Errno::ENOTEMPTY,
        K::DirectoryNotEmpty,
        "rmdir of a full directory",
    );
    expect_errno(
        ctx.opendir(&u("work/file.txt")),
        Errno::ENOTDIR,
        K::NotADirectory,
        "opendir of a file",
    );
    expect_errno(
        ctx.rmdir(&u("work/file.txt")),
        Errno::ENOTDIR,
        K::NotADirectory,
        "rmdir of a file",
    );
    expect_errno(
        ctx.open(&u("work/empty"), O_WRONLY),
        Errno::EISDIR,
        K::IsADirectory,
        "open a directory for writing",
    );
    expect_errno(
        ctx.open(&u("work/empty"), O_RDONLY),
        Errno::EISDIR,
        K::IsADirectory,
        "open a directory for reading",
    );
    expect_errno(
        ctx.unlink(&u("work/empty")),
        Errno::EISDIR,
        K::IsADirectory,
        "unlink of a directory",
    );
    expect_errno(
        ctx.rename(&u("work/file.txt"), &u("public/file.txt")),
        Errno::EXDEV,
        K::CrossesDevices,
        "rename across shares",
    );
    assert!(disk.join("file.txt").is_file(), "nothing was renamed");

    expect_errno(
        ctx.open(&u("work/file.txt"), 3),
        Errno::EINVAL,
        K::InvalidInput,
        "access mode 3",
    );
    expect_errno(
        ctx.open(&u("work/file.txt"), O_RDWR | 0o200000),
        Errno::EINVAL,
        K::InvalidInput,
        "O_DIRECTORY is not honoured, so it is refused",
    );
    expect_errno(
        ctx.stat("smb://h/s/a?b"),
        Errno::EINVAL,
        K::InvalidInput,
        "URL",
    );
    expect_errno(
        ctx.stat(&u("")),
        Errno::EINVAL,
        K::InvalidInput,
        "stat of a server",
    );
    // unlink takes the name literally: a `*` deletes no file of another name.
    expect_errno(
        ctx.unlink(&u("work/fil*")),
        Errno::ENOENT,
        K::NotFound,
        "unlink of a wildcard",
    );
    assert!(disk.join("file.txt").is_file());
}

/// (server, share) → how many times the callback was asked.
type Asked = Arc<Mutex<HashMap<(String, String), usize>>>;

#[test]
fn the_callback_runs_once_per_server_and_share() {
    let srv = server();
    let asked: Asked = Arc::default();
    let log = asked.clone();
    // alice for her share, bob for everything else.
    let ctx = Context::new(srv.connect_options().domain("DEFAULTWG")).auth_callback(
        move |server, share, auth| {
            *log.lock()
                .unwrap()
                .entry((server.to_string(), share.to_string()))
                .or_default() += 1;
            // The defaults come in: the context's workgroup and user.
            assert_eq!(auth.workgroup, "DEFAULTWG");
            let (user, password) = if share == "private" { ALICE } else { BOB };
            auth.username = user.into();
            auth.password = password.into();
        },
    );
    for _ in 0..3 {
        ctx.opendir(&url(&srv, "private"))
            .expect("alice on private");
        ctx.stat(&url(&srv, "public")).expect("bob reads public");
        ctx.stat(&url(&srv, "work")).expect("bob on work");
    }
    // bob may not write to public (not in its write list): the callback's bob was used.
    expect_errno(
        ctx.open(&url(&srv, "public/x"), O_WRONLY | O_CREAT),
        Errno::EACCES,
        io::ErrorKind::PermissionDenied,
        "bob writes to public",
    );
    ctx.opendir(&url(&srv, "")).expect("share list");
    let host = srv.host().to_string();
    let expected: HashMap<(String, String), usize> = ["private", "public", "work", "IPC$"]
        .iter()
        .map(|share| ((host.clone(), share.to_string()), 1))
        .collect();
    assert_eq!(*asked.lock().unwrap(), expected);
    // alice (private) and bob (public, work, IPC$): two users, two connections.
    assert_eq!(ctx.connections(), 2);
    // The cached answers are in Debug, their passwords are not.
    let debug = format!("{ctx:?}");
    assert!(
        debug.contains("bob") && debug.contains("<redacted>"),
        "{debug}"
    );
    assert!(
        !debug.contains(ALICE.1) && !debug.contains(BOB.1),
        "{debug}"
    );

    // A URL's own credentials win and ask nothing: alice writes to public.
    let alice_url = format!(
        "smb://{}:{}@{}:{}/public/by-alice.txt",
        ALICE.0,
        ALICE.1,
        srv.host(),
        srv.port()
    );
    let mut f = ctx
        .open(&alice_url, O_WRONLY | O_CREAT)
        .expect("alice writes");
    f.write_all(b"mine").unwrap();
    drop(f);
    assert_eq!(
        std::fs::read(srv.share_path("public").join("by-alice.txt")).unwrap(),
        b"mine"
    );
    assert_eq!(asked.lock().unwrap().values().sum::<usize>(), 4);
    assert_eq!(ctx.connections(), 2, "alice's connection is reused");

    // A URL naming only the user asks the callback for the password, once, and keeps
    // the URL's user whatever the callback says: bob, with the password the callback
    // chose for alice on this share, is refused.
    let bob_url = format!("smb://{}@{}:{}/private", BOB.0, srv.host(), srv.port());
    expect_errno(
        ctx.opendir(&bob_url),
        Errno::EACCES,
        io::ErrorKind::PermissionDenied,
        "bob on private",
    );
    assert_eq!(asked.lock().unwrap().values().sum::<usize>(), 5);
}

#[test]
fn a_refused_login_asks_the_callback_again() {
    let srv = server();
    let asked = Arc::new(Mutex::new(0));
    let log = asked.clone();
    let ctx = Context::new(srv.connect_options()).auth_callback(move |_, _, auth| {
        let mut n = log.lock().unwrap();
        *n += 1;
        auth.username = ALICE.0.into();
        // Wrong the first time, as a user mistyping it.
        auth.password = if *n == 1 {
            "wrong".into()
        } else {
            ALICE.1.into()
        };
    });
    expect_errno(
        ctx.stat(&url(&srv, "private")),
        Errno::EACCES,
        io::ErrorKind::PermissionDenied,
        "a wrong password",
    );
    ctx.stat(&url(&srv, "private")).expect("asked again");
    ctx.stat(&url(&srv, "private")).expect("cached");
    assert_eq!(*asked.lock().unwrap(), 2);
}

/// The users of the sessions connected to `share`, as the server sees them: `smbstatus
/// -S` gives each tree connect's smbd process (one per client connection), `-p` the user
/// each process serves.
fn users_on(srv: &SambaServer, share: &str) -> Vec<String> {
    let columns = |line: &str| {
        line.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let trees = srv.smbstatus(&["-S"]);
    let processes = srv.smbstatus(&["-p"]);
    trees
        .lines()
        .map(columns)
        .filter(|tree| tree.len() > 1 && tree[0] == share)
        .map(|tree| {
            processes
                .lines()
                .map(columns)
                .find(|process| process.len() > 1 && process[0] == tree[1])
                .map(|process| process[1].clone())
                .unwrap_or_else(|| panic!("no process {} in:\n{processes}", tree[1]))
        })
        .collect()
}

#[test]
fn simple_auth_most_specific_entry_first() {
    let srv = server();
    let (host, port) = (srv.host(), srv.port());
    // The same server by two names: `localhost` only matches the wildcard entries.
    let table = SimpleAuth::new()
        .entry("*", "*", "", ALICE.0, ALICE.1)
        .entry(host, "*", "", BOB.0, BOB.1)
        .entry(host, "private", "", ALICE.0, ALICE.1)
        .entry("localhost", "work", "", "", "");
    let debug = format!("{table:?}");
    assert!(
        !debug.contains(ALICE.1) && !debug.contains(BOB.1),
        "{debug}"
    );
    let ctx = Context::new(srv.connect_options()).simple_auth(table);

    // (host, private) → alice, although (host, *) says bob, who may not use it.
    ctx.opendir(&format!("smb://{host}:{port}/private"))
        .expect("alice on private");
    // (host, *) → bob, not (*, *)'s alice: bob may not write to public.
    expect_errno(
        ctx.open(&format!("smb://{host}:{port}/public/x"), O_WRONLY | O_CREAT),
        Errno::EACCES,
        io::ErrorKind::PermissionDenied,
        "bob writes to public",
    );
    // (*, *) → alice for another server name: she may write to public.
    drop(
        ctx.open(
            &format!("smb://localhost:{port}/public/x"),
            O_WRONLY | O_CREAT,
        )
        .expect("alice writes to public"),
    );
    assert!(srv.share_path("public").join("x").is_file());
    // (localhost, work) has only empty fields: the defaults (the harness's user), who
    // may use work but not private.
    ctx.stat(&format!("smb://localhost:{port}/work"))
        .expect("default user on work");
    assert_eq!(
        users_on(&srv, "work"),
        [srv.user()],
        "who the server sees on work"
    );
    let debug = format!("{ctx:?}");
    assert!(
        !debug.contains(ALICE.1) && !debug.contains(BOB.1) && !debug.contains(srv.password()),
        "{debug}"
    );
    // Connections go by the server's name as written: alice and bob on 127.0.0.1,
    // alice and the default user on localhost.
    assert_eq!(ctx.connections(), 4);
}
