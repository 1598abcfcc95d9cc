//! Change notification against Samba: each kind of change, as made by a second client
//! (and one by the server's own file system), reaches a watch in order; a recursive
//! watch sees below the directory, a plain one does not; a watch that is dropped
//! cancels cleanly and leaves the connection usable; a missing directory is NotFound.

use std::fs;
use std::io::Write;
use std::time::Duration;

use smb_blocking::{
    notify_filter, Change, Connection, ErrorKind, OpenOptions, DEFAULT_NOTIFY_FILTER,
};
use smb_tests::{SambaServer, Share};

fn server() -> SambaServer {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    fs::create_dir_all(srv.share_path("share").join("box/sub")).unwrap();
    srv
}

/// Whether `c` is about one of [`until_watched`]'s probes.
fn is_probe(c: &Change) -> bool {
    matches!(c, Change::Added(n) | Change::Removed(n) | Change::Modified(n) if n.contains("probe-"))
}

/// Creates probe files in `box/` (through `conn`) until `w` reports one. Samba answers
/// that it holds a watch a moment before its notify daemon has registered it, and a
/// change in between goes unreported: a test that changes something right after
/// `watch` returned would race that.
#[track_caller]
fn until_watched(w: &mut smb_blocking::Watcher, conn: &Connection) {
    for i in 0..100 {
        conn.store_file("share", &format!("box/probe-{i}"), &mut &b""[..])
            .unwrap();
        if let Some(c) = w.next_within(Duration::from_millis(300)) {
            let c = c.expect("the watch failed");
            assert!(is_probe(&c), "before any change: {c:?}");
            return;
        }
    }
    panic!("the watch never reported a probe");
}

/// The next `n` changes (probes left out), failing the test on an error or after 20 s
/// without one.
#[track_caller]
fn take(w: &mut smb_blocking::Watcher, n: usize) -> Vec<Change> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match w.next_within(Duration::from_secs(20)) {
            Some(c) => {
                let c = c.expect("the watch failed");
                if !is_probe(&c) {
                    got.push(c);
                }
            }
            None => panic!(
                "change {}: none came (ended: {}); got {got:?}",
                got.len(),
                w.is_ended()
            ),
        }
    }
    got
}

#[test]
fn every_kind_of_change_arrives_in_order() {
    let srv = server();
    let watching = Connection::connect(&srv.connect_options()).unwrap();
    let other = Connection::connect(&srv.connect_options()).unwrap();
    let names = notify_filter::FILE_NAME | notify_filter::DIR_NAME;
    let mut w = watching
        .watch("share", "box", names, false)
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    // Everything but names: what a write does to a file.
    let mut writes = watching
        .watch("share", "", DEFAULT_NOTIFY_FILTER & !names, true)
        .unwrap();
    until_watched(&mut w, &other);

    // `watch` returned: the server holds it, so nothing from here on is missed.
    other
        .store_file("share", "box/a.txt", &mut &b"one"[..])
        .unwrap();
    assert_eq!(take(&mut w, 1), [Change::Added("a.txt".into())]);
    // Rewritten in place (Samba says nothing of the first write into a new file).
    let mut f = other
        .open("share", "box/a.txt", OpenOptions::overwrite())
        .unwrap();
    f.write_all(b"two").unwrap();
    f.close().unwrap();
    assert_eq!(
        take(&mut writes, 1),
        [Change::Modified("box\\a.txt".into())]
    );
    other.rename("share", "box/a.txt", "box/b.txt").unwrap();
    assert_eq!(
        take(&mut w, 1),
        [Change::Renamed {
            from: "a.txt".into(),
            to: "b.txt".into()
        }]
    );
    other.delete_files("share", "box/b.txt").unwrap();
    assert_eq!(take(&mut w, 1), [Change::Removed("b.txt".into())]);
    other.create_directory("share", "box/d").unwrap();
    assert_eq!(take(&mut w, 1), [Change::Added("d".into())]);

    // A change made on the server's own disk, not through SMB.
    fs::write(srv.share_path("share").join("box/local.txt"), b"x").unwrap();
    assert_eq!(take(&mut w, 1), [Change::Added("local.txt".into())]);
}

#[test]
fn changes_made_while_the_caller_does_other_calls_are_kept() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let mut w = conn
        .watch("share", "box", notify_filter::FILE_NAME, false)
        .unwrap();
    until_watched(&mut w, &conn);
    // The same connection makes the changes between two `next`s: its calls pump the
    // watch's answers, which wait for it.
    for name in ["one", "two", "three"] {
        conn.store_file("share", &format!("box/{name}"), &mut &b""[..])
            .unwrap();
        conn.get_attributes("share", &format!("box/{name}"))
            .unwrap();
    }
    assert_eq!(
        take(&mut w, 3),
        ["one", "two", "three"].map(|n| Change::Added(n.into()))
    );
}

#[test]
fn only_a_recursive_watch_sees_below_the_directory() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let other = Connection::connect(&srv.connect_options()).unwrap();
    let mut deep = conn
        .watch("share", "box", notify_filter::FILE_NAME, true)
        .unwrap();
    let conn2 = Connection::connect(&srv.connect_options()).unwrap();
    let mut shallow = conn2
        .watch("share", "box", notify_filter::FILE_NAME, false)
        .unwrap();
    until_watched(&mut deep, &other);
    until_watched(&mut shallow, &other);
    other
        .store_file("share", "box/sub/deep.txt", &mut &b""[..])
        .unwrap();
    other
        .store_file("share", "box/top.txt", &mut &b""[..])
        .unwrap();
    assert_eq!(
        take(&mut deep, 2),
        [
            Change::Added("sub\\deep.txt".into()),
            Change::Added("top.txt".into())
        ]
    );
    // The plain watch's first change is the second file: the deep one never came.
    assert_eq!(take(&mut shallow, 1), [Change::Added("top.txt".into())]);
}

#[test]
fn a_dropped_watch_is_cancelled_and_the_connection_goes_on() {
    let srv = server();
    let mut opts = srv.connect_options();
    // A per-request timeout far shorter than the watch's wait: the watch has none.
    opts.timeout = Duration::from_secs(2);
    let conn = Connection::connect(&opts).unwrap();
    let other = Connection::connect(&srv.connect_options()).unwrap();
    let mut w = conn
        .watch("share", "box", DEFAULT_NOTIFY_FILTER, false)
        .unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        other
            .store_file("share", "box/late.txt", &mut &b""[..])
            .unwrap();
    });
    // Waits past the request timeout without failing.
    assert_eq!(take(&mut w, 1), [Change::Added("late.txt".into())]);
    // Sanity: smbstatus lists the watched directory while the watch holds it open.
    let held = srv.smbstatus(&["-L"]);
    assert!(
        held.lines().any(|l| l.contains(" box ")),
        "the watched directory is not listed open:\n{held}"
    );
    drop(w);
    // The cancel and the close went out; the connection answers as before.
    assert_eq!(conn.list_path("share", "box", "late.txt").unwrap().len(), 1);
    conn.echo().unwrap();
    let mut open = srv.smbstatus(&["-L"]);
    for _ in 0..50 {
        if !open.lines().any(|l| l.contains(" box ")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        open = srv.smbstatus(&["-L"]);
    }
    assert!(
        !open.lines().any(|l| l.contains(" box ")),
        "the watched directory is still open:\n{open}"
    );
}

#[test]
fn watching_what_is_missing_or_not_a_directory_fails_with_its_kind() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let e = conn
        .watch("share", "nope", DEFAULT_NOTIFY_FILTER, false)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("nope"), "{e}");
    conn.store_file("share", "file.txt", &mut &b""[..]).unwrap();
    let e = conn
        .watch("share", "file.txt", DEFAULT_NOTIFY_FILTER, false)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotADirectory, "{e}");
}

#[test]
fn the_async_clients_watch_the_same_way() {
    let srv = server();
    let other = Connection::connect(&srv.connect_options()).unwrap();
    let opts = srv.connect_options();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let on_tokio = rt.block_on(async {
        let client = smb_tokio::Client::connect(&opts).await.unwrap();
        let mut changes = client
            .watch("share", "box", notify_filter::FILE_NAME, false)
            .await
            .unwrap();
        // As `until_watched`: probes until one is reported.
        for i in 0..=100 {
            assert!(i < 100, "the watch never reported a probe");
            other
                .store_file("share", &format!("box/probe-{i}"), &mut &b""[..])
                .unwrap();
            let wait = Duration::from_millis(300);
            if let Ok(c) = tokio::time::timeout(wait, changes.next()).await {
                assert!(is_probe(&c.unwrap().unwrap()));
                break;
            }
        }
        other
            .store_file("share", "box/t.txt", &mut &b""[..])
            .unwrap();
        let first = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match changes.next().await {
                    Some(Ok(c)) if is_probe(&c) => continue,
                    other => return other,
                }
            }
        })
        .await;
        drop(changes);
        // The dropped watch was cancelled; the client goes on.
        client.list_path("share", "box", "*").await.unwrap();
        first
    });
    assert_eq!(
        on_tokio.expect("no change in 20 s").unwrap().unwrap(),
        Change::Added("t.txt".into())
    );
    let on_smol = smol::block_on(async {
        let client = smb_asyncstd::connect(&opts).await.unwrap();
        let mut changes = client
            .watch("share", "box", notify_filter::FILE_NAME, true)
            .await
            .unwrap();
        let within = |d: Duration| async move {
            smol::Timer::after(d).await;
            None
        };
        for i in 100..=200 {
            assert!(i < 200, "the watch never reported a probe");
            other
                .store_file("share", &format!("box/probe-{i}"), &mut &b""[..])
                .unwrap();
            let probe = smol::future::or(changes.next(), within(Duration::from_millis(300)));
            if let Some(c) = probe.await {
                assert!(is_probe(&c.unwrap()));
                break;
            }
        }
        other.delete_files("share", "box/t.txt").unwrap();
        let next_change = async {
            loop {
                match changes.next().await {
                    Some(Ok(c)) if is_probe(&c) => continue,
                    other => return other,
                }
            }
        };
        smol::future::or(next_change, within(Duration::from_secs(20))).await
    });
    assert_eq!(
        on_smol.expect("no change in 20 s").unwrap(),
        Change::Removed("t.txt".into())
    );
}
