//! Tree transfers and listings spread over several connections
//! (`ConnectOptions::connections`): the connections are really made (counted by a relay
//! in front of smbd), every file arrives whole both ways, the listing is the one a single
//! connection gives, a password callback is asked once, a failure in one part names
//! every file that made it, and a recording connection stays alone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use smb_blocking::{ConnectOptions, Connection};
use smb_tests::fault::{Fault, FaultProxy};
use smb_tests::fixtures::{check_tree, make_tree};
use smb_tests::{SambaServer, Share};

const SHARE: &str = "share";

fn server() -> SambaServer {
    SambaServer::builder().share(Share::new(SHARE)).start()
}

/// Options reaching `srv` through `proxy`, spreading over `n` connections.
fn through(srv: &SambaServer, proxy: &FaultProxy, n: usize) -> ConnectOptions {
    let mut o = srv.connect_options().connections(n);
    o.port = proxy.port();
    o
}

#[test]
fn a_tree_spread_over_three_connections_arrives_whole_both_ways() {
    let srv = server();
    let proxy = FaultProxy::start(srv.addr(), Fault::None);
    let conn = Connection::connect(&through(&srv, &proxy, 3)).unwrap();
    assert_eq!(proxy.connections(), 1);
    let work = srv.share_path(SHARE).parent().unwrap().join("spread-work");
    let src = work.join("src");
    let expected = make_tree(&src, 200);
    let mut reports = Vec::new();
    let (files, _) = conn
        .store_tree_with_progress(&src, SHARE, "up", &mut |p| {
            reports.push((p.files_done, p.files_total, p.bytes_done, p.bytes_total));
        })
        .unwrap();
    assert_eq!(files, 200);
    // Two extra connections carried the upload.
    assert_eq!(proxy.connections(), 3);
    check_tree(
        &srv.share_path(SHARE).join("up"),
        &expected,
        "on the server",
    );
    // Progress counts every part's files once, the totals are the whole tree's.
    let &(done, total, bytes_done, bytes_total) = reports.last().unwrap();
    assert_eq!((done, total), (200, 200));
    assert_eq!(bytes_done, bytes_total);
    assert!(reports
        .windows(2)
        .all(|w| w[0].0 <= w[1].0 && w[0].2 <= w[1].2));

    let dst = work.join("dst");
    let (files, _) = conn.retrieve_tree(SHARE, "up", &dst).unwrap();
    assert_eq!(files, 200);
    assert_eq!(proxy.connections(), 5);
    check_tree(&dst, &expected, "downloaded");
    // The extra connections are closed with the call: only the first stays.
    conn.echo().unwrap();
}

#[test]
fn a_listing_spread_over_two_connections_is_the_listing_of_one() {
    let srv = server();
    let root = srv.share_path(SHARE).join("wide");
    // 40 directories (enough for two connections), each with files and a subdirectory.
    for d in 0..40 {
        let dir = root.join(format!("dir{d:02}"));
        std::fs::create_dir_all(dir.join("inner")).unwrap();
        for f in 0..5 {
            std::fs::write(dir.join(format!("f{f}")), [d as u8; 3]).unwrap();
        }
        std::fs::write(dir.join("inner").join("deep.txt"), b"deep").unwrap();
    }
    let proxy = FaultProxy::start(srv.addr(), Fault::None);
    let one = Connection::connect(&through(&srv, &proxy, 1)).unwrap();
    let alone = one.list_tree(SHARE, "wide").unwrap();
    assert_eq!(proxy.connections(), 1);
    let two = Connection::connect(&through(&srv, &proxy, 2)).unwrap();
    let spread = two.list_tree(SHARE, "wide").unwrap();
    assert_eq!(
        proxy.connections(),
        3,
        "the second listing used two connections"
    );
    assert_eq!(spread.len(), 40 * 8);
    // Each directory comes before what it holds.
    for (i, e) in spread.iter().enumerate() {
        if let Some((parent, _)) = e.path.rsplit_once('\\') {
            let at = spread.iter().position(|p| p.path == parent);
            assert!(
                at.is_some_and(|at| at < i),
                "{} before its directory",
                e.path
            );
        }
    }
    // The same entries (listing changes access times, so those are left out).
    let key = |e: &smb_proto::ops::TreeEntry| (e.path.clone(), e.info.size, e.info.attributes);
    let mut alone: Vec<_> = alone.iter().map(key).collect();
    let mut spread: Vec<_> = spread.iter().map(key).collect();
    alone.sort();
    spread.sort();
    assert_eq!(alone, spread);
}

#[test]
fn a_password_callback_is_asked_once_for_every_connection() {
    let srv = server();
    let proxy = FaultProxy::start(srv.addr(), Fault::None);
    let asked = Arc::new(AtomicUsize::new(0));
    let (count, password) = (asked.clone(), srv.password().to_string());
    let o = through(&srv, &proxy, 2);
    let user = o.user.clone();
    let o = o.password_callback(&user, move |_| {
        count.fetch_add(1, Ordering::Relaxed);
        Some(password.clone())
    });
    let conn = Connection::connect(&o).unwrap();
    let src = srv.share_path(SHARE).parent().unwrap().join("cb-src");
    make_tree(&src, 64);
    assert_eq!(conn.store_tree(&src, SHARE, "cb").unwrap().0, 64);
    assert_eq!(proxy.connections(), 2);
    assert_eq!(asked.load(Ordering::Relaxed), 1);
}

#[test]
fn a_file_failing_in_one_part_names_every_file_that_made_it() {
    let srv = server();
    let expected = make_tree(&srv.share_path(SHARE).join("some"), 60);
    let conn = Connection::connect(&srv.connect_options().connections(2)).unwrap();
    let dst = srv.share_path(SHARE).parent().unwrap().join("some-dst");
    // One file's local name is taken by a directory: its part stops there, the other
    // part goes on.
    let blocked = &expected[7].0;
    std::fs::create_dir_all(dst.join(blocked)).unwrap();
    let err = conn.retrieve_tree(SHARE, "some", &dst).unwrap_err();
    let smb_blocking::Error::Transfer {
        transferred, total, ..
    } = &err
    else {
        panic!("not a transfer error: {err:?}");
    };
    assert_eq!(*total, 60);
    assert!(err.to_string().contains("f007.bin"), "{err}");
    assert!(!transferred.iter().any(|t| t.ends_with("f007.bin")));
    // At least the other part's 30 files made it.
    assert!(transferred.len() >= 30, "{} transferred", transferred.len());
    // Every file said to have made it is whole, and no other file is there.
    for (rel, digest) in expected.iter().filter(|(r, _)| r != blocked) {
        let said = transferred
            .iter()
            .any(|t| t == &format!("some\\{}", rel.replace('/', "\\")));
        match std::fs::read(dst.join(rel)) {
            Ok(got) => {
                assert!(said, "{rel} is there but not reported");
                assert_eq!(smb_tests::fixtures::sha256(&got), *digest, "{rel}");
            }
            Err(_) => assert!(!said, "{rel} reported but missing"),
        }
    }
}

#[test]
fn a_recording_connection_never_spreads() {
    let srv = server();
    let proxy = FaultProxy::start(srv.addr(), Fault::None);
    let (target, recording) = smb_proto::client::RecordTarget::memory();
    let conn = Connection::connect(&through(&srv, &proxy, 4).record(target)).unwrap();
    let src = srv.share_path(SHARE).parent().unwrap().join("rec-src");
    let expected = make_tree(&src, 100);
    conn.store_tree(&src, SHARE, "rec").unwrap();
    conn.close().unwrap();
    assert_eq!(proxy.connections(), 1);
    check_tree(
        &srv.share_path(SHARE).join("rec"),
        &expected,
        "on the server",
    );
    assert!(!recording.text().is_empty());
}
