//! Previous versions against Samba's `shadow_copy2`: the snapshots a share keeps, and a
//! file read, stat-ed and listed as it was in each (the timewarp create context), on the
//! blocking client and on the async one under tokio and smol.

use std::fs;
use std::time::Duration;

use smb_blocking::{Connection, ErrorKind, FileTime, NtStatus};
use smb_proto::ops::{ListDir, Stat};
// The public test-server crate, as a user's own tests would use it.
use smb_test_server::{SambaServer, Share};

/// Three versions of `docs/notes.txt`, each in the snapshot its token names, oldest
/// first; every one a different length, so a size tells them apart too.
const VERSIONS: [(&str, &str); 3] = [
    ("@GMT-2026.01.01-00.00.00", "first version\n"),
    ("@GMT-2026.02.01-12.30.00", "second, longer version\n"),
    (
        "@GMT-2026.03.15-08.00.05",
        "third version, the longest of the three\n",
    ),
];
const LIVE: &str = "the live file, newer than every snapshot\n";

fn time(token: &str) -> FileTime {
    FileTime::from_gmt_token(token).expect("a @GMT token")
}

/// A share with `shadow_copy2` whose snapshots live in the share's own `.snapshots`
/// (found by walking up from each file, so the snapshot directory need not be named by
/// an absolute path before the server picks its directory). Each snapshot holds
/// `docs/notes.txt`, its last write time the snapshot's, and a file naming the version.
fn server() -> SambaServer {
    let srv = SambaServer::builder()
        .share(Share::new("snap").snapshots())
        .share(Share::new("plain"))
        .start();
    let root = srv.share_path("snap");
    for (i, (token, text)) in VERSIONS.iter().enumerate() {
        let docs = srv.snapshot("snap", token).join("docs");
        fs::create_dir_all(&docs).unwrap();
        let notes = docs.join("notes.txt");
        fs::write(&notes, text).unwrap();
        let modified = time(token).to_system_time().unwrap();
        fs::File::options()
            .write(true)
            .open(&notes)
            .and_then(|f| f.set_modified(modified))
            .unwrap();
        fs::write(docs.join(format!("only-in-version-{i}.txt")), b"").unwrap();
    }
    fs::create_dir_all(root.join("docs")).unwrap();
    fs::write(root.join("docs/notes.txt"), LIVE).unwrap();
    srv
}

#[test]
fn the_snapshots_listed_are_the_three_versions_newest_first() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let newest_first: Vec<&str> = VERSIONS.iter().rev().map(|(t, _)| *t).collect();
    for path in ["docs/notes.txt", "docs", ""] {
        let listed = conn
            .list_snapshots("snap", path)
            .unwrap_or_else(|e| panic!("{path:?}: {e}\n{}", srv.log()));
        let tokens: Vec<String> = listed.iter().map(|t| t.gmt_token()).collect();
        assert_eq!(tokens, newest_first, "{path:?} (shadow:sort = desc)");
    }
}

#[test]
fn each_version_reads_stats_and_lists_as_it_was() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    for (i, (token, text)) in VERSIONS.iter().enumerate() {
        let at = time(token);
        let mut read = Vec::new();
        let n = conn
            .retrieve_file_at("snap", "docs/notes.txt", at, &mut read)
            .unwrap_or_else(|e| panic!("{token}: {e}\n{}", srv.log()));
        assert_eq!(String::from_utf8(read).unwrap(), *text, "{token}");
        assert_eq!(n, text.len() as u64);

        let info = conn
            .call(Stat::new("snap", "docs/notes.txt").at_snapshot(at))
            .unwrap();
        assert_eq!(info.size, text.len() as u64, "{token}");
        assert_eq!(info.last_write_time, at, "{token}");

        let mut names: Vec<String> = conn
            .call(ListDir::new("snap", "docs", "*").at_snapshot(at))
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["notes.txt".to_string(), format!("only-in-version-{i}.txt")],
            "{token}"
        );
    }
    // Without a snapshot, the live file: the same paths, other contents.
    let mut live = Vec::new();
    conn.retrieve_file("snap", "docs/notes.txt", &mut live)
        .unwrap();
    assert_eq!(String::from_utf8(live).unwrap(), LIVE);
    assert_eq!(
        conn.get_attributes("snap", "docs/notes.txt").unwrap().size,
        LIVE.len() as u64
    );
    let live_names: Vec<String> = conn
        .list_path("snap", "docs", "*")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(live_names, ["notes.txt"]);
}

#[test]
fn a_time_with_no_snapshot_is_not_found() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let between = FileTime::from_system_time(
        time(VERSIONS[0].0).to_system_time().unwrap() + Duration::from_secs(86_400),
    );
    let err = conn
        .retrieve_file_at("snap", "docs/notes.txt", between, &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // (Not the Unix epoch: for a timewarp token of 1970-01-01 Samba 4.17 opened the live
    // file, as if no token were given.)
    let before_all = time("@GMT-2000.01.01-00.00.00");
    let err = conn
        .call(Stat::new("snap", "docs/notes.txt").at_snapshot(before_all))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[test]
fn a_share_without_snapshots_says_so_and_the_connection_goes_on() {
    let srv = server();
    fs::write(srv.share_path("plain").join("f.txt"), b"x").unwrap();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let err = conn.list_snapshots("plain", "f.txt").unwrap_err();
    assert_eq!(
        err.status(),
        Some(NtStatus::INVALID_DEVICE_REQUEST),
        "{err}"
    );
    let err = conn.list_snapshots("snap", "no/such/file").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(conn.get_attributes("plain", "f.txt").unwrap().size, 1);
}

/// What `each_version_reads_stats_and_lists_as_it_was` checks, on the async client
/// (tokio's derefs to it, smol's is it).
async fn async_versions(client: &smb_asyncstd::Client) {
    let listed = client.list_snapshots("snap", "docs").await.unwrap();
    assert_eq!(listed.len(), VERSIONS.len());
    for (i, (token, text)) in VERSIONS.iter().enumerate() {
        let at = time(token);
        let mut read = Vec::new();
        client
            .retrieve_file_at("snap", "docs/notes.txt", at, &mut read)
            .await
            .unwrap();
        assert_eq!(read, text.as_bytes(), "{token}");

        let info = client
            .call(Stat::new("snap", "docs/notes.txt").at_snapshot(at))
            .await
            .unwrap();
        assert_eq!(info.size, text.len() as u64, "{token}");
        assert_eq!(info.last_write_time, at, "{token}");

        let mut names: Vec<String> = client
            .call(ListDir::new("snap", "docs", "*").at_snapshot(at))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["notes.txt".to_string(), format!("only-in-version-{i}.txt")],
            "{token}"
        );
    }
    let live = client
        .get_attributes("snap", "docs/notes.txt")
        .await
        .unwrap();
    assert_eq!(live.size, LIVE.len() as u64);
    let sd = client.get_security("snap", "docs/notes.txt").await.unwrap();
    assert!(sd.owner.is_some() && sd.dacl.is_some());
}

#[test]
fn the_async_client_reads_stats_and_lists_each_version_on_tokio_and_smol() {
    let srv = server();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = smb_tokio::Client::connect(&srv.connect_options())
            .await
            .unwrap();
        async_versions(&client).await;
    });
    smol::block_on(async {
        let client = smb_asyncstd::connect(&srv.connect_options()).await.unwrap();
        async_versions(&client).await;
    });
}
