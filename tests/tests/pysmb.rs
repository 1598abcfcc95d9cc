//! The calls a pysmb user knows, with pysmb's meanings, against Samba: storeFileFromOffset,
//! listPath's search mask and SharedFile fields, resetFileAttributes, setLastWriteTime,
//! deleteFiles with and without matching folders, rename with and without replacing,
//! progress reports, echo, and the failures pysmb users match on. The same scenario runs
//! on the blocking client, on tokio, on smol, and in the deferred style on smol and
//! async-std.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use smb_asyncstd::runtime::Runtime;
use smb_blocking::{
    file_attributes, search, ConnectOptions, Connection, ErrorKind, FileInfo, FileTime,
};
use smb_proto::client::{RecordBuffer, RecordTarget};
use smb_tests::fixtures::data;
use smb_tests::{SambaServer, Share};

fn server() -> SambaServer {
    SambaServer::builder().share(Share::new("share")).start()
}

fn names(entries: &[FileInfo]) -> Vec<String> {
    let mut n: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
    n.sort();
    n
}

/// 2001-02-03 04:05:06 UTC.
fn a_past_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(981_173_106)
}

/// The server-side files every scenario starts from.
fn fixtures(root: &Path) {
    for dir in [
        "flags/sub",
        "logs/old.log/deeper",
        "logs/keep",
        "plain/old.log",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    for f in [
        "flags/visible.txt",
        "flags/hidden.txt",
        "flags/ro.txt",
        "logs/a.log",
        "logs/b.txt",
        "logs/old.log/x.log",
        "logs/old.log/deeper/y.bin",
        "logs/keep/z.log",
        "plain/c.log",
        "plain/old.log/w",
        "from.txt",
        "to.txt",
    ] {
        std::fs::write(root.join(f), f.as_bytes()).unwrap();
    }
    // Longer than what storeFileFromOffset writes into them.
    for f in ["long.txt", "tail.txt"] {
        std::fs::write(root.join(f), b"ABCDEFGHIJKLMNOP").unwrap();
    }
    std::fs::write(root.join("big.bin"), data(3 << 20, 5)).unwrap();
}

/// What the scenario leaves on the server, checked from the server's side.
fn check_server_side(root: &Path) {
    assert_eq!(
        std::fs::read(root.join("digits.txt")).unwrap(),
        b"01234aa789"
    );
    assert_eq!(std::fs::read(root.join("fresh.txt")).unwrap(), b"\0\0\0bb");
    // Truncating cuts the old file to nothing first: the zero-filled prefix and the new
    // bytes are all that is left. Without truncating, the old tail survives.
    assert_eq!(std::fs::read(root.join("long.txt")).unwrap(), b"\0\0\0xy");
    assert_eq!(
        std::fs::read(root.join("tail.txt")).unwrap(),
        b"ABCxyFGHIJKLMNOP"
    );
    let mtime = std::fs::metadata(root.join("flags/visible.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(mtime, a_past_time(), "the file's mtime on disk");
    // Matching folders went with their contents; nothing else did.
    assert!(!root.join("logs/a.log").exists());
    assert!(!root.join("logs/old.log").exists());
    assert!(root.join("logs/b.txt").is_file());
    assert!(root.join("logs/keep/z.log").is_file());
    // Without folders, a matching directory stays.
    assert!(!root.join("plain/c.log").exists());
    assert!(root.join("plain/old.log/w").is_file());
    assert_eq!(std::fs::read(root.join("to.txt")).unwrap(), b"from.txt");
    assert!(!root.join("from.txt").exists());
    assert_eq!(
        std::fs::read(root.join("up.bin")).unwrap(),
        data(3 << 20, 5)
    );
}

/// Progress reports as a transfer of `size` bytes made them: growing, ending at `size`.
fn check_progress(reports: &[(u64, Option<u64>)], size: u64, total: Option<u64>) {
    assert!(reports.len() >= 2, "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0].0 < w[1].0), "{reports:?}");
    assert_eq!(reports.last(), Some(&(size, total)));
}

/// Options for a connection that records itself in memory and sends nothing it was not
/// asked to (no keep-alive ECHO).
fn recorded(srv: &SambaServer) -> (ConnectOptions, RecordBuffer) {
    let (target, buffer) = RecordTarget::memory();
    let mut opts = srv.connect_options().record(target);
    opts.keep_alive = None;
    (opts, buffer)
}

/// pysmb's `echo(data)` asks the server, though SMB2's ECHO carries no data: the
/// recording of a connection that made only that call holds one ECHO request and the
/// server's response to it.
fn check_one_echo(recording: &RecordBuffer) {
    let text = recording.text();
    assert_eq!(text.matches("# > ECHO request").count(), 1, "{text}");
    assert_eq!(text.matches("# < ECHO response").count(), 1, "{text}");
}

fn blocking_scenario(conn: &Connection) {
    // storeFileFromOffset: pysmb's own case, then with truncate.
    conn.store_file("share", "digits.txt", &mut &b"0123456789"[..])
        .unwrap();
    let end = conn
        .store_file_from_offset("share", "digits.txt", &mut &b"aa"[..], 5, false)
        .unwrap();
    assert_eq!(end, 7);
    let end = conn
        .store_file_from_offset("share", "fresh.txt", &mut &b"bb"[..], 3, true)
        .unwrap();
    assert_eq!(end, 5);
    for (path, truncate) in [("long.txt", true), ("tail.txt", false)] {
        let end = conn
            .store_file_from_offset("share", path, &mut &b"xy"[..], 3, truncate)
            .unwrap();
        assert_eq!(end, 5, "{path}");
    }

    // resetFileAttributes, then listPath's search mask.
    let set = |p: &str, a: u32| conn.reset_file_attributes("share", p, a).unwrap();
    assert_eq!(set("flags/*.txt", file_attributes::NORMAL), 3);
    assert_eq!(set("flags/hidden.txt", file_attributes::HIDDEN), 1);
    assert_eq!(set("flags/ro.txt", file_attributes::READONLY), 1);
    let err = conn
        .reset_file_attributes("share", "flags/*.nope", file_attributes::NORMAL)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let list = |mask| names(&conn.list_path_search("share", "flags", mask, "*").unwrap());
    assert_eq!(list(search::HIDDEN), ["hidden.txt"]);
    assert_eq!(list(search::READ_ONLY), ["ro.txt"]);
    assert_eq!(list(search::DIRECTORY), ["sub"]);
    assert_eq!(list(search::INCL_NORMAL), ["visible.txt"]);
    assert_eq!(
        list(search::DEFAULT),
        ["hidden.txt", "ro.txt", "sub", "visible.txt"]
    );
    let all = conn.list_path("share", "flags", "*").unwrap();
    let find = |n: &str| all.iter().find(|e| e.name == n).unwrap();
    assert!(find("ro.txt").is_read_only() && !find("ro.txt").is_normal());
    assert!(find("hidden.txt").is_hidden());
    assert!(find("visible.txt").is_normal());
    assert!(find("sub").is_directory() && !find("sub").is_normal());
    assert!(all.iter().all(|e| e.file_id != 0), "{all:?}");
    let again = conn.list_path("share", "flags", "visible.txt").unwrap();
    assert_eq!(
        again[0].file_id,
        find("visible.txt").file_id,
        "a stable file id"
    );

    // setLastWriteTime.
    conn.set_last_write_time("share", "flags/visible.txt", a_past_time())
        .unwrap();
    let info = conn.get_attributes("share", "flags/visible.txt").unwrap();
    assert_eq!(info.last_write_time.to_system_time(), Some(a_past_time()));

    // deleteFiles, with and without matching folders.
    let n = conn
        .delete_files_and_folders("share", "logs/*.log")
        .unwrap();
    assert_eq!(n, 5, "a.log, old.log, its x.log, deeper and y.bin");
    assert_eq!(conn.delete_files("share", "plain/*.log").unwrap(), 1);

    // rename, then rename replacing.
    let err = conn.rename("share", "from.txt", "to.txt").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    conn.rename_replacing("share", "from.txt", "to.txt")
        .unwrap();

    // Progress, both ways.
    let mut reports = Vec::new();
    let mut out = Vec::new();
    let n = conn
        .retrieve_file_with_progress("share", "big.bin", &mut out, &mut |d, t| {
            reports.push((d, t))
        })
        .unwrap();
    assert_eq!(n, 3 << 20);
    check_progress(&reports, 3 << 20, Some(3 << 20));
    let mut reports = Vec::new();
    conn.store_file_with_progress("share", "up.bin", &mut &out[..], &mut |d, t| {
        reports.push((d, t))
    })
    .unwrap();
    check_progress(&reports, 3 << 20, None);

    // And from an offset, both ways.
    let mut reports = Vec::new();
    let mut tail = Vec::new();
    conn.retrieve_file_from_offset_with_progress(
        "share",
        "big.bin",
        &mut tail,
        1 << 20,
        None,
        &mut |d, t| reports.push((d, t)),
    )
    .unwrap();
    assert_eq!(tail, out[1 << 20..]);
    check_progress(&reports, 2 << 20, Some(2 << 20));
    let mut reports = Vec::new();
    let end = conn
        .store_file_from_offset_with_progress(
            "share",
            "digits.txt",
            &mut &b"bb"[..],
            8,
            false,
            &mut |d, t| reports.push((d, t)),
        )
        .unwrap();
    assert_eq!((end, reports), (10, vec![(2, None)]));
    conn.store_file_from_offset("share", "digits.txt", &mut &b"89"[..], 8, false)
        .unwrap();
}

/// pysmb's OperationFailure: the status, its errno, the path, and the messages of the
/// operation that failed (`missing` is a stat of `dir/missing.txt`). A failure that is
/// not a status (`invalid`, a stat of `../x`) has no trail.
fn check_failure_trail(missing: &smb_blocking::Error, invalid: &smb_blocking::Error) {
    use smb_proto::wire::Command;
    let err = missing;
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.errno(), smb_proto::Errno::ENOENT);
    assert!(err.to_string().contains("missing.txt"), "{err}");
    let trail: Vec<(Command, Option<smb_proto::NtStatus>)> =
        err.trail().iter().map(|e| (e.command, e.status)).collect();
    assert!(trail.contains(&(Command::Create, None)), "{trail:?}");
    assert!(
        trail.contains(&(
            Command::Create,
            Some(smb_proto::NtStatus::OBJECT_PATH_NOT_FOUND)
        )),
        "{trail:?}"
    );
    // Requests come before their answers.
    let sent = trail.iter().position(|e| e.1.is_none()).unwrap();
    let answered = trail.iter().position(|e| e.1.is_some()).unwrap();
    assert!(sent < answered, "{trail:?}");
    assert_eq!(invalid.kind(), ErrorKind::InvalidArgument, "{invalid}");
    assert!(invalid.trail().is_empty(), "{:?}", invalid.trail());
}

#[test]
fn a_failure_carries_the_operations_requests_and_responses() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    check_failure_trail(
        &conn.get_attributes("share", "dir/missing.txt").unwrap_err(),
        &conn.get_attributes("share", "../x").unwrap_err(),
    );
}

/// The same failures and trails on the async client (tokio's derefs to it, smol's is it).
async fn async_failures(conn: &smb_asyncstd::Client) {
    check_failure_trail(
        &conn
            .get_attributes("share", "dir/missing.txt")
            .await
            .unwrap_err(),
        &conn.get_attributes("share", "../x").await.unwrap_err(),
    );
}

#[test]
fn a_failure_carries_the_operations_requests_and_responses_on_tokio_and_smol() {
    let srv = server();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let conn = smb_tokio::Client::connect(&srv.connect_options())
            .await
            .unwrap();
        async_failures(&conn).await;
    });
    smol::block_on(async {
        let conn = smb_asyncstd::connect(&srv.connect_options()).await.unwrap();
        async_failures(&conn).await;
    });
}

/// The 8.3 name `smbclient`'s `allinfo` reports for `name` (FileAlternateNameInformation).
fn altname(srv: &SambaServer, name: &str) -> String {
    let out = srv.smbclient("share", &format!("allinfo \"{name}\""));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("altname: "))
        .unwrap_or_else(|| panic!("no altname for {name}: {text}"))
        .to_string()
}

/// listPath's SharedFile fields against the truth: times, size and allocation against
/// the file on the server's disk, short names against smbclient's `allinfo`, in every
/// driver.
#[test]
fn listed_entries_carry_every_shared_file_field_as_the_server_has_them() {
    use std::os::unix::fs::MetadataExt;
    // A listing carries 8.3 names only with `mangled names = yes`: Samba's default,
    // `illegal`, lists them only for names with characters Windows forbids (`allinfo`
    // shows one either way). Samba keeps a file's creation time in an extended
    // attribute (`user.DOSATTRIB`), so the share's directory must take them, which
    // `streams` makes sure of.
    let srv = SambaServer::builder()
        .share(Share::new("share").streams().option("mangled names", "yes"))
        .start();
    let root = srv.share_path("share");
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let (long, short) = ("a long name, not 8.3.text", "short.txt");
    // Made through SMB, so that Samba records the creation time rather than taking the
    // oldest of the other times; then access and write times far apart, and far from it.
    conn.store_file("share", long, &mut &data(10_000, 3)[..])
        .unwrap();
    conn.store_file("share", short, &mut &b"x"[..]).unwrap();
    let times = std::fs::FileTimes::new()
        .set_accessed(a_past_time())
        .set_modified(a_past_time() + Duration::from_nanos(123_456_789_300));
    for name in [long, short] {
        let file = std::fs::File::options().write(true).open(root.join(name));
        file.and_then(|f| f.set_times(times)).unwrap();
    }

    let listed = conn.list_path("share", "", "*").unwrap();
    let on_tokio = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let conn = smb_tokio::Client::connect(&srv.connect_options())
            .await
            .unwrap();
        conn.list_path("share", "", "*").await.unwrap()
    });
    let on_smol = smol::block_on(async {
        let conn = smb_asyncstd::connect(&srv.connect_options()).await.unwrap();
        conn.list_path("share", "", "*").await.unwrap()
    });
    assert_eq!(on_tokio, listed);
    assert_eq!(on_smol, listed);

    for name in [long, short] {
        let e = listed.iter().find(|e| e.name == name).unwrap();
        let disk = std::fs::metadata(root.join(name)).unwrap();
        let at = FileTime::from_system_time;
        assert_eq!(e.size, disk.len(), "{name}");
        assert_eq!(e.allocation_size, disk.blocks() * 512, "{name}");
        assert_eq!(e.creation_time, at(disk.created().unwrap()), "{name}");
        assert_eq!(e.last_access_time, at(disk.accessed().unwrap()), "{name}");
        assert_eq!(e.last_write_time, at(disk.modified().unwrap()), "{name}");
        // Samba reports the file's mtime as its change time (source3's
        // get_change_timespec), not its ctime.
        assert_eq!(e.change_time, e.last_write_time, "{name}");
    }
    // Three different times, so that a mixed-up field shows.
    let e = listed.iter().find(|e| e.name == long).unwrap();
    let (c, a, w) = (e.creation_time, e.last_access_time, e.last_write_time);
    assert!(c != a && a != w && w != c, "{e:?}");

    // A long name has a mangled 8.3 name; an 8.3 name is its own and lists none.
    assert!(e.short_name.contains('~'), "{e:?}");
    assert_eq!(e.short_name, altname(&srv, long));
    let e = listed.iter().find(|e| e.name == short).unwrap();
    assert_eq!(altname(&srv, short), short);
    assert!(
        e.short_name.is_empty() || e.short_name.eq_ignore_ascii_case(short),
        "{e:?}"
    );
}

/// pysmb's `timeout` argument: a frozen server fails the operation with a timeout, and
/// the connection works again once the server does.
#[test]
fn a_blocking_operation_times_out_as_a_whole() {
    let srv = server();
    fixtures(&srv.share_path("share"));
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let quick = conn.with_timeout(Duration::from_millis(800));
    quick.list_path("share", "", "*").expect("in time");
    srv.pause();
    let started = std::time::Instant::now();
    let err = quick.list_path("share", "flags", "*").unwrap_err();
    let took = started.elapsed();
    srv.resume();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(err.to_string().contains("flags"), "{err}");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // The same connection, without the deadline, goes on.
    assert_eq!(conn.list_path("share", "flags", "*").unwrap().len(), 4);
}

#[test]
fn pysmb_calls_on_the_blocking_client() {
    let srv = server();
    fixtures(&srv.share_path("share"));
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    blocking_scenario(&conn);
    check_server_side(&srv.share_path("share"));

    let (opts, recording) = recorded(&srv);
    let conn = Connection::connect(&opts).unwrap();
    assert_eq!(conn.echo_data(b"ping").unwrap(), b"ping");
    conn.close().unwrap();
    check_one_echo(&recording);
}

/// The same calls on the async client (tokio's derefs to it, smol's is it).
async fn async_scenario(conn: &smb_asyncstd::Client) {
    conn.store_file("share", "digits.txt", &mut &b"0123456789"[..])
        .await
        .unwrap();
    let end = conn
        .store_file_from_offset("share", "digits.txt", &mut &b"aa"[..], 5, false)
        .await
        .unwrap();
    assert_eq!(end, 7);
    let end = conn
        .store_file_from_offset("share", "fresh.txt", &mut &b"bb"[..], 3, true)
        .await
        .unwrap();
    assert_eq!(end, 5);
    for (path, truncate) in [("long.txt", true), ("tail.txt", false)] {
        let end = conn
            .store_file_from_offset("share", path, &mut &b"xy"[..], 3, truncate)
            .await
            .unwrap();
        assert_eq!(end, 5, "{path}");
    }

    for (p, a, n) in [
        ("flags/*.txt", file_attributes::NORMAL, 3),
        ("flags/hidden.txt", file_attributes::HIDDEN, 1),
        ("flags/ro.txt", file_attributes::READONLY, 1),
    ] {
        assert_eq!(conn.reset_file_attributes("share", p, a).await.unwrap(), n);
    }
    for (mask, want) in [
        (search::HIDDEN, "hidden.txt"),
        (search::READ_ONLY, "ro.txt"),
        (search::INCL_NORMAL, "visible.txt"),
    ] {
        let got = conn
            .list_path_search("share", "flags", mask, "*")
            .await
            .unwrap();
        assert_eq!(names(&got), [want]);
    }

    conn.set_last_write_time("share", "flags/visible.txt", a_past_time())
        .await
        .unwrap();
    let n = conn
        .delete_files_and_folders("share", "logs/*.log")
        .await
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(conn.delete_files("share", "plain/*.log").await.unwrap(), 1);
    let err = conn
        .rename("share", "from.txt", "to.txt")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    conn.rename_replacing("share", "from.txt", "to.txt")
        .await
        .unwrap();

    let reports = Arc::new(Mutex::new(Vec::new()));
    let mut out = Vec::new();
    let r = reports.clone();
    conn.retrieve_file_with_progress("share", "big.bin", &mut out, &mut move |d, t| {
        r.lock().unwrap().push((d, t))
    })
    .await
    .unwrap();
    check_progress(&reports.lock().unwrap(), 3 << 20, Some(3 << 20));
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    conn.store_file_with_progress("share", "up.bin", &mut &out[..], &mut move |d, t| {
        r.lock().unwrap().push((d, t))
    })
    .await
    .unwrap();
    check_progress(&reports.lock().unwrap(), 3 << 20, None);
    let reports = Arc::new(Mutex::new(Vec::new()));
    let (r, mut tail) = (reports.clone(), Vec::new());
    conn.retrieve_file_from_offset_with_progress(
        "share",
        "big.bin",
        &mut tail,
        1 << 20,
        None,
        &mut move |d, t| r.lock().unwrap().push((d, t)),
    )
    .await
    .unwrap();
    assert_eq!(tail, out[1 << 20..]);
    check_progress(&reports.lock().unwrap(), 2 << 20, Some(2 << 20));
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    let end = conn
        .store_file_from_offset_with_progress(
            "share",
            "digits.txt",
            &mut &b"89"[..],
            8,
            false,
            &mut move |d, t| r.lock().unwrap().push((d, t)),
        )
        .await
        .unwrap();
    assert_eq!(
        (end, reports.lock().unwrap().clone()),
        (10, vec![(2, None)])
    );
}

#[test]
fn pysmb_calls_on_tokio() {
    let srv = server();
    fixtures(&srv.share_path("share"));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let conn = smb_tokio::Client::connect(&srv.connect_options())
            .await
            .unwrap();
        async_scenario(&conn).await;
        // A tokio reader for the calls smb-tokio does not wrap.
        let mut input = smb_tokio::Compat(&b"tokio"[..]);
        let end = conn
            .store_file_from_offset("share", "compat.txt", &mut input, 2, false)
            .await
            .unwrap();
        assert_eq!(end, 7);

        let (opts, recording) = recorded(&srv);
        let conn = smb_tokio::Client::connect(&opts).await.unwrap();
        assert_eq!(conn.echo_data(b"ping").await.unwrap(), b"ping");
        conn.close().await.unwrap();
        check_one_echo(&recording);
    });
    check_server_side(&srv.share_path("share"));
    let compat = std::fs::read(srv.share_path("share").join("compat.txt")).unwrap();
    assert_eq!(compat, b"\0\0tokio");
}

#[test]
fn pysmb_calls_on_smol() {
    let srv = server();
    fixtures(&srv.share_path("share"));
    smol::block_on(async {
        let conn = smb_asyncstd::connect(&srv.connect_options()).await.unwrap();
        async_scenario(&conn).await;

        let (opts, recording) = recorded(&srv);
        let conn = smb_asyncstd::connect(&opts).await.unwrap();
        assert_eq!(conn.echo_data(b"ping").await.unwrap(), b"ping");
        conn.close().await.unwrap();
        check_one_echo(&recording);
    });
    check_server_side(&srv.share_path("share"));
}

/// The snapshot the deferred scenario's `snap` share keeps.
const SNAPSHOT: &str = "@GMT-2026.01.01-00.00.00";

/// The deferred scenario's server: the scenario's share, and one that keeps an older
/// `f.txt` in a snapshot.
fn deferred_server() -> SambaServer {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .share(Share::new("snap").snapshots())
        .start();
    fixtures(&srv.share_path("share"));
    std::fs::write(srv.share_path("snap").join("f.txt"), b"new").unwrap();
    std::fs::write(srv.snapshot("snap", SNAPSHOT).join("f.txt"), b"old").unwrap();
    srv
}

/// Progress reports, `(done, total)` each.
type Reports = Arc<Mutex<Vec<(u64, Option<u64>)>>>;

/// A progress callback for a deferred (which must own it), and the reports it keeps.
fn reporter() -> (Reports, impl FnMut(u64, Option<u64>) + Send + 'static) {
    let reports = Reports::default();
    let r = reports.clone();
    (reports, move |done, total| {
        r.lock().unwrap().push((done, total))
    })
}

/// The same calls in the deferred style (pysmb's Twisted factory), on `runtime`.
async fn deferred_scenario(srv: &SambaServer, runtime: Arc<dyn Runtime>) {
    let conn = smb_asyncstd::Client::connect_with(&srv.connect_options(), runtime.clone())
        .await
        .unwrap();
    let d = conn.deferred();
    d.store_file("share", "digits.txt", &b"0123456789"[..])
        .await
        .unwrap();
    let end = d.store_file_from_offset("share", "digits.txt", &b"aa"[..], 5, false);
    assert_eq!(end.await.unwrap(), 7);
    let end = d.store_file_from_offset("share", "fresh.txt", &b"bb"[..], 3, true);
    assert_eq!(end.await.unwrap(), 5);
    for (path, truncate) in [("long.txt", true), ("tail.txt", false)] {
        let end = d.store_file_from_offset("share", path, &b"xy"[..], 3, truncate);
        assert_eq!(end.await.unwrap(), 5, "{path}");
    }
    let set = |p: &str, a| d.reset_file_attributes("share", p, a);
    assert_eq!(
        set("flags/*.txt", file_attributes::NORMAL).await.unwrap(),
        3
    );
    assert_eq!(
        set("flags/hidden.txt", file_attributes::HIDDEN)
            .await
            .unwrap(),
        1
    );
    let hidden = d.list_path_search("share", "flags", search::HIDDEN, "*");
    assert_eq!(names(&hidden.await.unwrap()), ["hidden.txt"]);
    d.set_last_write_time("share", "flags/visible.txt", a_past_time())
        .await
        .unwrap();
    let n = d
        .delete_files_and_folders("share", "logs/*.log")
        .await
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(d.delete_files("share", "plain/*.log").await.unwrap(), 1);
    let err = d.rename("share", "from.txt", "to.txt").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    d.rename_replacing("share", "from.txt", "to.txt")
        .await
        .unwrap();

    // Progress, both ways, whole and from an offset.
    let (reports, progress) = reporter();
    let big = d.retrieve_file_with_progress("share", "big.bin", progress);
    let big = big.await.unwrap();
    assert_eq!(big, data(3 << 20, 5));
    check_progress(&reports.lock().unwrap(), 3 << 20, Some(3 << 20));
    let (reports, progress) = reporter();
    let n = d.store_file_with_progress("share", "up.bin", big.clone(), progress);
    assert_eq!(n.await.unwrap(), 3 << 20);
    check_progress(&reports.lock().unwrap(), 3 << 20, None);
    let (reports, progress) = reporter();
    let tail =
        d.retrieve_file_from_offset_with_progress("share", "big.bin", 1 << 20, None, progress);
    assert_eq!(tail.await.unwrap(), big[1 << 20..]);
    check_progress(&reports.lock().unwrap(), 2 << 20, Some(2 << 20));
    let (reports, progress) = reporter();
    let end = d.store_file_from_offset_with_progress(
        "share",
        "digits.txt",
        &b"89"[..],
        8,
        false,
        progress,
    );
    assert_eq!(end.await.unwrap(), 10);
    assert_eq!(*reports.lock().unwrap(), [(2, None)]);

    // listSnapshots on a share that keeps one, and the file as it was then.
    let at = FileTime::from_gmt_token(SNAPSHOT).unwrap();
    assert_eq!(d.list_snapshots("snap", "f.txt").await.unwrap(), [at]);
    assert_eq!(
        d.retrieve_file_at("snap", "f.txt", at).await.unwrap(),
        b"old"
    );

    let (opts, recording) = recorded(srv);
    let echoer = smb_asyncstd::Client::connect_with(&opts, runtime)
        .await
        .unwrap();
    let echoed = echoer.deferred().echo_data(b"ping".to_vec()).await.unwrap();
    assert_eq!(echoed, b"ping");
    echoer.close().await.unwrap();
    check_one_echo(&recording);
}

#[test]
fn pysmb_calls_in_the_deferred_style_on_smol_and_async_std() {
    let srv = deferred_server();
    smol::block_on(deferred_scenario(&srv, smb_asyncstd::runtime()));
    check_server_side(&srv.share_path("share"));

    let srv = deferred_server();
    let spawner: smb_asyncstd::Spawner = Arc::new(|f| drop(async_std::task::spawn(f)));
    let runtime = smb_asyncstd::runtime_with(spawner);
    async_std::task::block_on(deferred_scenario(&srv, runtime));
    check_server_side(&srv.share_path("share"));
}

/// listShares, listSnapshots (and a read at a snapshot) and getSecurity on the async
/// client, on both tokio and smol; the blocking ones are in shares.rs, snapshots.rs and
/// acl.rs.
async fn shares_snapshots_security(conn: &smb_asyncstd::Client, blocking: &Connection) {
    let shares = conn.list_shares().await.unwrap();
    assert!(shares.iter().any(|s| s.name == "snap"), "{shares:?}");
    assert_eq!(
        names_of(&shares),
        names_of(&blocking.list_shares().unwrap())
    );
    let times = conn.list_snapshots("snap", "").await.unwrap();
    assert_eq!(times, blocking.list_snapshots("snap", "").unwrap());
    assert_eq!(times.len(), 1);
    let mut old = Vec::new();
    conn.retrieve_file_at("snap", "f.txt", times[0], &mut old)
        .await
        .unwrap();
    assert_eq!(old, b"old");
    let sd = conn.get_security("snap", "f.txt").await.unwrap();
    assert!(sd.owner.is_some() && sd.dacl.is_some(), "{sd:?}");
    assert_eq!(sd, blocking.get_security("snap", "f.txt").unwrap());
}

fn names_of(shares: &[smb_blocking::ShareInfo]) -> Vec<String> {
    let mut n: Vec<String> = shares.iter().map(|s| s.name.clone()).collect();
    n.sort();
    n
}

#[test]
fn shares_snapshots_and_security_on_tokio_and_smol() {
    let srv = SambaServer::builder()
        .share(Share::new("snap").snapshots())
        .start();
    std::fs::write(srv.share_path("snap").join("f.txt"), b"new").unwrap();
    let at = srv.snapshot("snap", "@GMT-2026.01.01-00.00.00");
    std::fs::write(at.join("f.txt"), b"old").unwrap();
    let blocking = Connection::connect(&srv.connect_options()).unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let conn = smb_tokio::Client::connect(&srv.connect_options())
            .await
            .unwrap();
        shares_snapshots_security(&conn, &blocking).await;
    });
    smol::block_on(async {
        let conn = smb_asyncstd::connect(&srv.connect_options()).await.unwrap();
        shares_snapshots_security(&conn, &blocking).await;
    });
}

/// Every name in the README's "Coming from pysmb" table, called as the table says, in
/// each driver: this file compiles only while each exists with that meaning. Never run
/// (the scenarios above run them against Samba).
#[allow(dead_code, clippy::too_many_lines)]
async fn the_readme_pysmb_table_names_every_call(opts: ConnectOptions, runtime: Arc<dyn Runtime>) {
    use smb_blocking::{Error, NameService};
    use smb_proto::ops::{ListDir, Stat};
    let (t, at, d) = (a_past_time(), FileTime(1), Duration::from_secs(1));
    let ip = std::net::Ipv4Addr::LOCALHOST;
    let mut out = Vec::new();
    let mut progress = |_: u64, _: Option<u64>| {};
    let _ = ConnectOptions::new("host").netbios(true);
    let _ = opts.server_name;
    let _ = [ErrorKind::Disconnected, ErrorKind::TimedOut];
    let _ = |e: Error| matches!(e, Error::NotReady { .. } | Error::NotConnected { .. });
    let _ = |e: Error| (e.kind(), e.errno(), e.status(), e.trail().len());

    // Blocking.
    let c = Connection::connect(&opts).unwrap();
    let _ = c.list_shares();
    let _ = c.list_path("s", "p", "*");
    let _ = c.list_path_search("s", "p", search::DEFAULT, "*");
    let _ = c.list_snapshots("s", "p");
    let _ = c.retrieve_file_at("s", "p", at, &mut out);
    let _ = c.call(ListDir::new("s", "p", "*").at_snapshot(at));
    let _ = c.call(Stat::new("s", "p").at_snapshot(at));
    let _ = c.get_attributes("s", "p");
    let _ = c.get_security("s", "p");
    let _ = c.retrieve_file("s", "p", &mut out);
    let _ = c.retrieve_file_with_progress("s", "p", &mut out, &mut progress);
    let _ = c.retrieve_file_from_offset("s", "p", &mut out, 0, None);
    let _ = c.retrieve_file_from_offset_with_progress("s", "p", &mut out, 0, None, &mut progress);
    let _ = c.store_file("s", "p", &mut &b""[..]);
    let _ = c.store_file_with_progress("s", "p", &mut &b""[..], &mut progress);
    let _ = c.store_file_from_offset("s", "p", &mut &b""[..], 0, true);
    let _ = c.store_file_from_offset_with_progress("s", "p", &mut &b""[..], 0, true, &mut progress);
    let _ = c.delete_files("s", "*");
    let _ = c.delete_files_and_folders("s", "*");
    let _ = c.reset_file_attributes("s", "*", file_attributes::NORMAL);
    let _ = c.set_last_write_time("s", "p", t);
    let _ = c.create_directory("s", "p");
    let _ = c.create_directories("s", "p");
    let _ = c.delete_directory("s", "p");
    let _ = c.rename("s", "a", "b");
    let _ = c.rename_replacing("s", "a", "b");
    let _ = c.echo_data(b"");
    let _ = c.negotiated().dialect;
    let _ = c.with_timeout(d);
    let _ = c.close();
    let nb = smb_blocking::NetBios::new(NameService::new());
    let _ = nb.query_name("n", ip, d);
    let _ = nb.query_ip_for_name(ip, d);
    let _ = nb.node_status(ip, d);

    // Tokio: its own wrappers for tokio's I/O traits, the rest through `Deref`.
    let c = smb_tokio::Client::connect(&opts).await.unwrap();
    let _ = c.list_shares().await;
    let _ = c.list_path("s", "p", "*").await;
    let _ = c.list_path_search("s", "p", search::DEFAULT, "*").await;
    let _ = c.list_snapshots("s", "p").await;
    let _ = c.retrieve_file_at("s", "p", at, &mut out).await;
    let _ = c.call(Stat::new("s", "p").at_snapshot(at)).await;
    let _ = c.get_attributes("s", "p").await;
    let _ = c.get_security("s", "p").await;
    let _ = c.retrieve_file("s", "p", &mut out).await;
    let _ = c
        .retrieve_file_with_progress("s", "p", &mut out, &mut progress)
        .await;
    let _ = c
        .retrieve_file_from_offset("s", "p", &mut out, 0, None)
        .await;
    let _ = c
        .retrieve_file_from_offset_with_progress("s", "p", &mut out, 0, None, &mut progress)
        .await;
    let _ = c.store_file("s", "p", &mut &b""[..]).await;
    let _ = c
        .store_file_with_progress("s", "p", &mut &b""[..], &mut progress)
        .await;
    let _ = c
        .store_file_from_offset("s", "p", &mut &b""[..], 0, true)
        .await;
    let _ = c
        .store_file_from_offset_with_progress("s", "p", &mut &b""[..], 0, true, &mut progress)
        .await;
    let _ = c.delete_files("s", "*").await;
    let _ = c.delete_files_and_folders("s", "*").await;
    let _ = c.reset_file_attributes("s", "*", 0).await;
    let _ = c.set_last_write_time("s", "p", t).await;
    let _ = c.create_directory("s", "p").await;
    let _ = c.create_directories("s", "p").await;
    let _ = c.delete_directory("s", "p").await;
    let _ = c.rename("s", "a", "b").await;
    let _ = c.rename_replacing("s", "a", "b").await;
    let _ = c.echo_data(b"").await;
    let _ = c.negotiated().dialect;
    let _ = c.with_timeout(d);
    let _ = c.close().await;
    let nb = smb_tokio::netbios(NameService::new());
    let _ = nb.query_name("n", ip, d).await;
    let _ = nb.query_ip_for_name(ip, d).await;
    let _ = nb.node_status(ip, d).await;
    let _ = smb_tokio::factory(opts.clone());

    // async-std / smol.
    let _ = smb_asyncstd::connect(&opts).await;
    let c = smb_asyncstd::Client::connect_with(&opts, runtime.clone())
        .await
        .unwrap();
    let _ = c.list_shares().await;
    let _ = c.list_path("s", "p", "*").await;
    let _ = c.list_path_search("s", "p", search::DEFAULT, "*").await;
    let _ = c.list_snapshots("s", "p").await;
    let _ = c.retrieve_file_at("s", "p", at, &mut out).await;
    let _ = c.call(Stat::new("s", "p").at_snapshot(at)).await;
    let _ = c.get_attributes("s", "p").await;
    let _ = c.get_security("s", "p").await;
    let _ = c.retrieve_file("s", "p", &mut out).await;
    let _ = c
        .retrieve_file_with_progress("s", "p", &mut out, &mut progress)
        .await;
    let _ = c
        .retrieve_file_from_offset("s", "p", &mut out, 0, None)
        .await;
    let _ = c
        .retrieve_file_from_offset_with_progress("s", "p", &mut out, 0, None, &mut progress)
        .await;
    let _ = c.store_file("s", "p", &mut &b""[..]).await;
    let _ = c
        .store_file_with_progress("s", "p", &mut &b""[..], &mut progress)
        .await;
    let _ = c
        .store_file_from_offset("s", "p", &mut &b""[..], 0, true)
        .await;
    let _ = c
        .store_file_from_offset_with_progress("s", "p", &mut &b""[..], 0, true, &mut progress)
        .await;
    let _ = c.delete_files("s", "*").await;
    let _ = c.delete_files_and_folders("s", "*").await;
    let _ = c.reset_file_attributes("s", "*", 0).await;
    let _ = c.set_last_write_time("s", "p", t).await;
    let _ = c.create_directory("s", "p").await;
    let _ = c.create_directories("s", "p").await;
    let _ = c.delete_directory("s", "p").await;
    let _ = c.rename("s", "a", "b").await;
    let _ = c.rename_replacing("s", "a", "b").await;
    let _ = c.echo_data(b"").await;
    let _ = c.negotiated().dialect;
    let _ = c.with_timeout(d);
    let nb = smb_asyncstd::netbios(NameService::new());
    let _ = nb.query_name("n", ip, d).await;
    let _ = nb.query_ip_for_name(ip, d).await;
    let _ = nb.node_status(ip, d).await;

    // Deferred: on a client, and on a factory.
    let dc = c.deferred();
    let f = smb_asyncstd::factory(opts)
        .on_auth_ok(|_| {})
        .on_auth_failed(|_| {})
        .on_disconnect(|_| {});
    let _ = f.connect().await;
    let _ = (f.is_ready(), f.is_using_smb2());
    let timed = f.with_timeout(d);
    for d in [&dc, &timed, &*f] {
        let _ = d.list_shares().await;
        let _ = d.list_path("s", "p", "*").await;
        let _ = d.list_path_search("s", "p", search::DEFAULT, "*").await;
        let _ = d.list_snapshots("s", "p").await;
        let _ = d.retrieve_file_at("s", "p", at).await;
        let _ = d.call(Stat::new("s", "p").at_snapshot(at)).await;
        let _ = d.get_attributes("s", "p").await;
        let _ = d.get_security("s", "p").await;
        let _ = d.retrieve_file("s", "p").await;
        let _ = d.retrieve_file_with_progress("s", "p", |_, _| {}).await;
        let _ = d.retrieve_file_from_offset("s", "p", 0, None).await;
        let _ = d
            .retrieve_file_from_offset_with_progress("s", "p", 0, None, |_, _| {})
            .await;
        let _ = d.store_file("s", "p", &b""[..]).await;
        let _ = d
            .store_file_with_progress("s", "p", &b""[..], |_, _| {})
            .await;
        let _ = d.store_file_from_offset("s", "p", &b""[..], 0, true).await;
        let _ = d
            .store_file_from_offset_with_progress("s", "p", &b""[..], 0, true, |_, _| {})
            .await;
        let _ = d.delete_files("s", "*").await;
        let _ = d.delete_files_and_folders("s", "*").await;
        let _ = d.reset_file_attributes("s", "*", 0).await;
        let _ = d.set_last_write_time("s", "p", t).await;
        let _ = d.create_directory("s", "p").await;
        let _ = d.create_directories("s", "p").await;
        let _ = d.delete_directory("s", "p").await;
        let _ = d.rename("s", "a", "b").await;
        let _ = d.rename_replacing("s", "a", "b").await;
        let _ = d.echo_data(Vec::new()).await;
    }
    f.close_connection();
    let _ = c.close().await;
}
