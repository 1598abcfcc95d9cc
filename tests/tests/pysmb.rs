//! The calls a pysmb user knows, with pysmb's meanings, against Samba: storeFileFromOffset,
//! listPath's search mask and SharedFile fields, resetFileAttributes, setLastWriteTime,
//! deleteFiles with and without matching folders, rename with and without replacing,
//! progress reports, echo. The same scenario runs on the blocking client, on tokio and on
//! smol.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use smb_blocking::{file_attributes, search, Connection, ErrorKind, FileInfo};
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
    std::fs::write(root.join("big.bin"), data(3 << 20, 5)).unwrap();
}

/// What the scenario leaves on the server, checked from the server's side.
fn check_server_side(root: &Path) {
    assert_eq!(
        std::fs::read(root.join("digits.txt")).unwrap(),
        b"01234aa789"
    );
    assert_eq!(std::fs::read(root.join("fresh.txt")).unwrap(), b"\0\0\0bb");
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

    assert_eq!(conn.echo_data(b"ping").unwrap(), b"ping");
}

/// pysmb's OperationFailure: the status, its errno, the path, and the messages of the
/// operation that failed.
#[test]
fn a_failure_carries_the_operations_requests_and_responses() {
    use smb_proto::wire::Command;
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let err = conn.get_attributes("share", "dir/missing.txt").unwrap_err();
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
    // A failure that is not a status has no trail.
    let err = conn.get_attributes("share", "../x").unwrap_err();
    assert!(err.trail().is_empty());
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
    assert_eq!(conn.echo_data(b"ping").await.unwrap(), b"ping");
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
    });
    check_server_side(&srv.share_path("share"));
}

/// The same calls in the deferred style (pysmb's Twisted factory), on smol and on
/// async-std.
async fn deferred_scenario(conn: &smb_asyncstd::Client) {
    let d = conn.deferred();
    d.store_file("share", "digits.txt", &b"0123456789"[..])
        .await
        .unwrap();
    let end = d.store_file_from_offset("share", "digits.txt", &b"aa"[..], 5, false);
    assert_eq!(end.await.unwrap(), 7);
    let end = d.store_file_from_offset("share", "fresh.txt", &b"bb"[..], 3, true);
    assert_eq!(end.await.unwrap(), 5);
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
    d.rename_replacing("share", "from.txt", "to.txt")
        .await
        .unwrap();
    let big = d.retrieve_file("share", "big.bin").await.unwrap();
    d.store_file("share", "up.bin", big).await.unwrap();
    assert_eq!(d.echo_data(b"ping".to_vec()).await.unwrap(), b"ping");
}

#[test]
fn pysmb_calls_in_the_deferred_style_on_smol_and_async_std() {
    let srv = server();
    fixtures(&srv.share_path("share"));
    smol::block_on(async {
        let conn = smb_asyncstd::connect(&srv.connect_options()).await.unwrap();
        deferred_scenario(&conn).await;
    });
    check_server_side(&srv.share_path("share"));

    let srv = server();
    fixtures(&srv.share_path("share"));
    async_std::task::block_on(async {
        let spawner: smb_asyncstd::Spawner = Arc::new(|f| drop(async_std::task::spawn(f)));
        let runtime = smb_asyncstd::runtime_with(spawner);
        let conn = smb_asyncstd::Client::connect_with(&srv.connect_options(), runtime)
            .await
            .unwrap();
        deferred_scenario(&conn).await;
    });
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
