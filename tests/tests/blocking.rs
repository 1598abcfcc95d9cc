//! The blocking client against a private smbd: every operation, every dialect, every
//! signing algorithm, edge-case sizes, large directories, non-ASCII names, errors, and
//! interop with smbclient.

use std::io::{Read, Seek, SeekFrom, Write};

use smb_blocking::{ConnectOptions, Connection, OpenOptions};
use smb_proto::{Dialect, Errno, NtStatus, SigningPolicy};
use smb_tests::fixtures::{check_tree, data, make_tree, sha256, smb_error};
use smb_tests::{SambaServer, Share};

fn server() -> SambaServer {
    SambaServer::builder().share(Share::new("share")).start()
}

fn connect(srv: &SambaServer) -> Connection {
    Connection::connect(&srv.connect_options()).expect("connect")
}

/// put, stat, list, get back, compare; returns the negotiated dialect.
fn round_trip(conn: &mut Connection, srv: &SambaServer, name: &str, content: &[u8]) {
    let n = conn
        .store_file("share", name, &mut &content[..])
        .expect("store");
    assert_eq!(n, content.len() as u64);
    let on_disk = std::fs::read(srv.share_path("share").join(name.replace('\\', "/")))
        .expect("file on server disk");
    assert_eq!(
        sha256(&on_disk),
        sha256(content),
        "server-side bytes differ for {name}"
    );
    let info = conn.get_attributes("share", name).expect("stat");
    assert_eq!(info.size, content.len() as u64);
    assert!(!info.is_directory());
    let mut back = Vec::new();
    let got = conn
        .retrieve_file("share", name, &mut back)
        .expect("retrieve");
    assert_eq!(got, content.len() as u64);
    assert_eq!(
        sha256(&back),
        sha256(content),
        "downloaded bytes differ for {name}"
    );
}

#[test]
fn every_dialect_round_trips() {
    for (dialect, max_protocol) in [
        (Dialect::Smb202, "SMB2_02"),
        (Dialect::Smb210, "SMB2_10"),
        (Dialect::Smb300, "SMB3_00"),
        (Dialect::Smb302, "SMB3_02"),
        (Dialect::Smb311, "SMB3_11"),
    ] {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .max_dialect(max_protocol)
            .signing_required()
            .start();
        let mut conn = connect(&srv);
        assert_eq!(conn.negotiated().dialect, dialect);
        assert!(
            conn.is_signing(),
            "{dialect}: signing mandatory on the server"
        );
        round_trip(
            &mut conn,
            &srv,
            "hello.txt",
            format!("hello {dialect}").as_bytes(),
        );
        let big = data(300_000, 7);
        round_trip(&mut conn, &srv, "big.bin", &big);
        let names: Vec<String> = conn
            .list_path("share", "", "*")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert!(
            names.contains(&"hello.txt".to_string()) && names.contains(&"big.bin".to_string()),
            "{names:?}"
        );
        conn.echo().unwrap();
        if matches!(dialect, Dialect::Smb210 | Dialect::Smb300 | Dialect::Smb302) {
            assert!(
                conn.negotiated().validated,
                "{dialect}: FSCTL_VALIDATE_NEGOTIATE_INFO confirmed the negotiate"
            );
        }
        conn.close().unwrap();
    }
}

#[test]
fn every_signing_algorithm_on_311() {
    for (alg, expected) in [
        (
            "AES-128-GMAC",
            smb_proto::crypto::signing::SigningAlgorithm::AesGmac,
        ),
        (
            "AES-128-CMAC",
            smb_proto::crypto::signing::SigningAlgorithm::AesCmac,
        ),
        (
            "HMAC-SHA256",
            smb_proto::crypto::signing::SigningAlgorithm::HmacSha256,
        ),
    ] {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .signing_required()
            .global("server smb3 signing algorithms", alg)
            .start();
        let mut conn = connect(&srv);
        assert_eq!(conn.negotiated().signing_algorithm, expected, "{alg}");
        assert!(conn.is_signing());
        round_trip(&mut conn, &srv, "s.bin", &data(200_000, 3));
    }
}

#[test]
fn cmac_on_30_and_hmac_on_21_when_signing_required_by_client_policy() {
    for (proto, dialect) in [("SMB3_00", Dialect::Smb300), ("SMB2_10", Dialect::Smb210)] {
        let srv = SambaServer::builder()
            .share(Share::new("share"))
            .max_dialect(proto)
            .start();
        let mut o = srv.connect_options();
        o.signing = SigningPolicy::WhenSupported;
        let mut conn = Connection::connect(&o).unwrap();
        assert_eq!(conn.negotiated().dialect, dialect);
        assert!(conn.is_signing());
        round_trip(&mut conn, &srv, "x.bin", &data(70_000, 9));
    }
}

#[test]
fn sizes_zero_one_max_read_and_100_mib_plus_one() {
    let srv = server();
    let mut conn = connect(&srv);
    let max = conn.negotiated().max_read_size as usize;
    for (name, len) in [
        ("zero", 0usize),
        ("one", 1),
        ("maxread", max),
        ("maxread+1", max + 1),
    ] {
        round_trip(&mut conn, &srv, name, &data(len, len as u64 + 11));
    }
    round_trip(
        &mut conn,
        &srv,
        "huge.bin",
        &data(100 * 1024 * 1024 + 1, 42),
    );
}

#[test]
fn retrieve_from_offset_with_max_length() {
    let srv = server();
    let conn = connect(&srv);
    let content = data(3_000_000, 5);
    conn.store_file("share", "f.bin", &mut &content[..])
        .unwrap();
    let mut out = Vec::new();
    let n = conn
        .retrieve_file_from_offset("share", "f.bin", &mut out, 1_234_567, Some(1_000_001))
        .unwrap();
    assert_eq!(n, 1_000_001);
    assert_eq!(out, &content[1_234_567..2_234_568]);
    out.clear();
    let n = conn
        .retrieve_file_from_offset("share", "f.bin", &mut out, 2_999_990, None)
        .unwrap();
    assert_eq!((n, &out[..]), (10, &content[2_999_990..]));
    out.clear();
    let n = conn
        .retrieve_file_from_offset("share", "f.bin", &mut out, 5_000_000, Some(10))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn directory_with_5000_entries() {
    let srv = server();
    let dir = srv.share_path("share").join("many");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..5000 {
        std::fs::write(dir.join(format!("file-{i:05}.txt")), i.to_string()).unwrap();
    }
    let conn = connect(&srv);
    let entries = conn.list_path("share", "many", "*").unwrap();
    assert_eq!(entries.len(), 5000);
    let mut names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 5000);
    assert_eq!(names[4999], "file-04999.txt");
    let e = entries.iter().find(|e| e.name == "file-01234.txt").unwrap();
    assert_eq!(e.size, 4);
    let filtered = conn.list_path("share", "many", "file-0499*").unwrap();
    assert_eq!(filtered.len(), 10);
}

#[test]
fn non_ascii_names() {
    let srv = server();
    let mut conn = connect(&srv);
    conn.create_directory("share", "répertoire-日本").unwrap();
    for name in ["é.txt", "日本語.txt", "emoji-😀.bin"] {
        let path = format!("répertoire-日本/{name}");
        round_trip(&mut conn, &srv, &path, name.as_bytes());
        assert!(
            srv.share_path("share")
                .join("répertoire-日本")
                .join(name)
                .exists(),
            "{name} on disk"
        );
    }
    let mut names: Vec<String> = conn
        .list_path("share", "répertoire-日本", "*")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    assert_eq!(names, vec!["emoji-😀.bin", "é.txt", "日本語.txt"]);
}

#[test]
fn wrong_password_is_an_authentication_error() {
    let srv = server();
    let o = srv.connect_options().user(srv.user(), "not-the-password");
    let err = Connection::connect(&o).unwrap_err();
    let msg = err.to_string();
    match err {
        smb_blocking::Error::Smb(smb_proto::Error::Auth {
            status, ref user, ..
        }) => {
            assert_eq!(status, NtStatus::LOGON_FAILURE);
            assert_eq!(user, srv.user());
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    assert!(
        !msg.contains("not-the-password"),
        "password leaked into: {msg}"
    );
}

#[test]
fn missing_file_is_not_found_with_enoent_and_path() {
    let srv = server();
    let conn = connect(&srv);
    let err = conn
        .retrieve_file("share", "nope/missing.txt", &mut Vec::new())
        .unwrap_err();
    let e = smb_error(&err);
    assert!(
        matches!(
            e.status(),
            Some(NtStatus::OBJECT_PATH_NOT_FOUND) | Some(NtStatus::OBJECT_NAME_NOT_FOUND)
        ),
        "{e}"
    );
    assert_eq!(e.errno(), Errno::ENOENT);
    assert!(
        e.to_string().contains("nope\\missing.txt") || e.to_string().contains("nope/missing.txt"),
        "{e}"
    );
    let err = conn.get_attributes("share", "missing.txt").unwrap_err();
    let e = smb_error(&err);
    assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_NOT_FOUND));
    assert_eq!(e.errno(), Errno::ENOENT);
    // The connection is still usable after an operation failed.
    conn.echo().unwrap();
}

#[test]
fn mkdir_rmdir_rename_delete_files() {
    let srv = server();
    let conn = connect(&srv);
    let root = srv.share_path("share");
    conn.create_directory("share", "d").unwrap();
    assert!(root.join("d").is_dir());
    let err = conn.create_directory("share", "d").unwrap_err();
    assert_eq!(
        smb_error(&err).status(),
        Some(NtStatus::OBJECT_NAME_COLLISION)
    );
    for n in ["a.txt", "b.txt", "c.log"] {
        conn.store_file("share", &format!("d/{n}"), &mut &b"x"[..])
            .unwrap();
    }
    let err = conn.delete_directory("share", "d").unwrap_err();
    assert_eq!(
        smb_error(&err).status(),
        Some(NtStatus::DIRECTORY_NOT_EMPTY)
    );
    conn.rename("share", "d/c.log", "d/renamed.log").unwrap();
    assert!(root.join("d/renamed.log").exists() && !root.join("d/c.log").exists());
    let err = conn.rename("share", "d/a.txt", "d/b.txt").unwrap_err();
    assert_eq!(
        smb_error(&err).status(),
        Some(NtStatus::OBJECT_NAME_COLLISION)
    );
    assert_eq!(conn.delete_files("share", "d/*.txt").unwrap(), 2);
    assert!(!root.join("d/a.txt").exists() && root.join("d/renamed.log").exists());
    let err = conn.delete_files("share", "d/*.txt").unwrap_err();
    assert_eq!(smb_error(&err).status(), Some(NtStatus::NO_SUCH_FILE));
    assert_eq!(conn.delete_files("share", "d/renamed.log").unwrap(), 1);
    conn.delete_directory("share", "d").unwrap();
    assert!(!root.join("d").exists());
}

#[test]
fn file_handle_read_write_seek() {
    let srv = server();
    let conn = connect(&srv);
    {
        let mut f = conn
            .open("share", "rw.bin", OpenOptions::read_write_create())
            .unwrap();
        f.write_all(b"hello world").unwrap();
        f.seek(SeekFrom::Start(6)).unwrap();
        f.write_all(b"WORLD!").unwrap();
        assert_eq!(f.seek(SeekFrom::End(0)).unwrap(), 12);
        f.seek(SeekFrom::Start(0)).unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello WORLD!");
        f.seek(SeekFrom::End(-6)).unwrap();
        let mut tail = [0u8; 6];
        f.read_exact(&mut tail).unwrap();
        assert_eq!(&tail, b"WORLD!");
        // Another writer grows the file: the end is asked of the server, not remembered.
        use std::io::Write as _;
        let on_disk = srv.share_path("share").join("rw.bin");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&on_disk)
            .unwrap()
            .write_all(b"+++")
            .unwrap();
        assert_eq!(f.seek(SeekFrom::End(0)).unwrap(), 15);
        f.close().unwrap();
        std::fs::write(&on_disk, b"hello WORLD!").unwrap();
    }
    assert_eq!(
        std::fs::read(srv.share_path("share").join("rw.bin")).unwrap(),
        b"hello WORLD!"
    );
}

#[test]
fn interop_with_smbclient_both_ways() {
    let srv = server();
    let conn = connect(&srv);
    let ours = data(1_500_000, 77);
    conn.store_file("share", "ours.bin", &mut &ours[..])
        .unwrap();
    let local = srv
        .share_path("share")
        .parent()
        .unwrap()
        .join("fetched-by-smbclient.bin");
    let out = srv.smbclient("share", &format!("get ours.bin {}", local.display()));
    assert!(
        out.status.success(),
        "smbclient get failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sha256(&std::fs::read(&local).unwrap()), sha256(&ours));

    let theirs = data(2_345_678, 99);
    let src = srv
        .share_path("share")
        .parent()
        .unwrap()
        .join("to-upload.bin");
    std::fs::write(&src, &theirs).unwrap();
    let out = srv.smbclient("share", &format!("put {} theirs.bin", src.display()));
    assert!(
        out.status.success(),
        "smbclient put failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut back = Vec::new();
    conn.retrieve_file("share", "theirs.bin", &mut back)
        .unwrap();
    assert_eq!(sha256(&back), sha256(&theirs));
}

#[test]
fn guest_share() {
    let srv = SambaServer::builder()
        .share(Share::new("pub").guest_ok())
        .start();
    let conn = Connection::connect(&ConnectOptions::new(srv.host()).port(srv.port())).unwrap();
    assert!(conn.is_guest());
    assert!(!conn.is_signing());
    conn.list_path("pub", "", "*").unwrap();
}

#[test]
fn read_only_share_refuses_writes() {
    let srv = SambaServer::builder()
        .share(Share::new("ro").read_only())
        .start();
    std::fs::write(srv.share_path("ro").join("existing.txt"), b"data").unwrap();
    let conn = connect(&srv);
    let mut out = Vec::new();
    conn.retrieve_file("ro", "existing.txt", &mut out).unwrap();
    assert_eq!(out, b"data");
    let err = conn
        .store_file("ro", "new.txt", &mut &b"x"[..])
        .unwrap_err();
    assert_eq!(smb_error(&err).status(), Some(NtStatus::ACCESS_DENIED));
    assert_eq!(smb_error(&err).errno(), Errno::EACCES);
}

#[test]
fn netbios_session_service_framing() {
    let srv = server();
    let mut o = srv.connect_options();
    o.netbios = true;
    o.server_name = Some("*SMBSERVER".into());
    let mut conn = Connection::connect(&o).unwrap();
    round_trip(&mut conn, &srv, "nb.txt", b"over netbios");
}

#[test]
fn missing_share_names_the_share() {
    let srv = server();
    let conn = connect(&srv);
    let err = conn.list_path("nosuchshare", "", "*").unwrap_err();
    assert_eq!(smb_error(&err).status(), Some(NtStatus::BAD_NETWORK_NAME));
    assert!(err.to_string().contains("nosuchshare"), "{err}");
}

#[test]
fn tree_upload_and_download_with_many_files_in_flight() {
    let srv = server();
    let conn = connect(&srv);
    let work = srv.share_path("share").parent().unwrap().join("tree-work");
    let src = work.join("src");
    let expected = make_tree(&src, 300);
    let (files, bytes) = conn.store_tree(&src, "share", "up").unwrap();
    assert_eq!(files, 300);
    assert_eq!(
        bytes,
        expected
            .iter()
            .map(|(r, _)| std::fs::metadata(src.join(r)).unwrap().len())
            .sum::<u64>()
    );
    check_tree(
        &srv.share_path("share").join("up"),
        &expected,
        "on the server",
    );

    let dst = work.join("dst");
    let (files, _) = conn.retrieve_tree("share", "up", &dst).unwrap();
    assert_eq!(files, 300);
    check_tree(&dst, &expected, "downloaded");
    // A missing file among many fails the batch with its path.
    let err = conn
        .retrieve_files("share", &[("up/nope.bin".to_string(), work.join("x"))])
        .unwrap_err();
    assert!(err.to_string().contains("nope.bin"), "{err}");
}

/// A file whose local side fails (its name is taken by a directory) fails the tree with
/// its path, and no temporary of it, or of any file cut short, stays behind.
#[test]
fn a_download_that_fails_locally_leaves_no_partial_file() {
    let srv = server();
    let conn = connect(&srv);
    let work = srv
        .share_path("share")
        .parent()
        .unwrap()
        .join("partial-work");
    let expected = make_tree(&srv.share_path("share").join("up"), 40);
    let dst = work.join("dst");
    std::fs::create_dir_all(dst.join("d1/sub1/f001.bin")).unwrap();
    let err = conn.retrieve_tree("share", "up", &dst).unwrap_err();
    assert!(err.to_string().contains("f001.bin"), "{err}");
    assert!(
        matches!(err, smb_blocking::Error::Transfer { .. }),
        "{err:?}"
    );
    let mut stack = vec![dst.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            assert!(
                !path.to_string_lossy().ends_with(".part"),
                "{path:?} left behind"
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    // What did arrive is whole.
    for (rel, digest) in &expected {
        if let Ok(got) = std::fs::read(dst.join(rel)) {
            assert_eq!(sha256(&got), *digest, "{rel}");
        }
    }
}

/// `a\b` is one name on Unix but two components on the server: uploading it would create
/// `b` inside a directory `a`, so the upload refuses it before sending anything.
#[test]
fn a_local_name_holding_a_backslash_is_refused_not_split() {
    let srv = server();
    let conn = connect(&srv);
    let src = srv.share_path("share").parent().unwrap().join("bs-src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a\\b"), b"x").unwrap();
    let err = conn.store_tree(&src, "share", "up").unwrap_err();
    assert!(err.to_string().contains("separator"), "{err}");
    assert!(
        !srv.share_path("share").join("up").exists(),
        "nothing created"
    );
}

/// Open files on the server as `smbstatus -L` sees them (one line per open).
fn open_files(srv: &SambaServer) -> String {
    srv.smbstatus(&["-L"])
}

#[test]
fn a_transfer_abandoned_midway_closes_its_handle() {
    struct FailAfter(usize);
    impl Write for FailAfter {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.0 < b.len() {
                return Err(std::io::Error::other("disk full (simulated)"));
            }
            self.0 -= b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let srv = server();
    std::fs::write(
        srv.share_path("share").join("big.bin"),
        data(40 * 1024 * 1024, 1),
    )
    .unwrap();
    let conn = connect(&srv);
    let err = conn
        .retrieve_file("share", "big.bin", &mut FailAfter(5_000_000))
        .unwrap_err();
    assert!(matches!(err, smb_blocking::Error::Io(_)), "{err:?}");
    conn.echo().unwrap(); // lets the CLOSE's answer arrive
    let mut held = open_files(&srv);
    for _ in 0..50 {
        if !held.contains("big.bin") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        held = open_files(&srv);
    }
    assert!(
        !held.contains("big.bin"),
        "the handle is still open:\n{held}"
    );
    // Sanity: smbstatus does list a file we hold open.
    let f = conn.open("share", "big.bin", OpenOptions::read()).unwrap();
    assert!(open_files(&srv).contains("big.bin"));
    f.close().unwrap();
}

/// Errors of operations on an open file once named `\` (a handle knows no path): they
/// name the file; a rename onto an existing name names the target, not the source.
#[test]
fn errors_on_open_files_and_renames_name_the_path_concerned() {
    use std::io::Write;
    let srv = server();
    let disk = srv.share_path("share");
    std::fs::write(disk.join("ro.txt"), b"x").unwrap();
    std::fs::write(disk.join("taken.txt"), b"y").unwrap();
    let conn = connect(&srv);
    let mut f = conn
        .open("share", "ro.txt", smb_blocking::OpenOptions::read())
        .unwrap();
    let err = f.write_all(b"no").unwrap_err();
    assert!(err.to_string().contains("ro.txt"), "{err}");
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    drop(f);
    let err = conn.rename("share", "ro.txt", "taken.txt").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("STATUS_OBJECT_NAME_COLLISION") && msg.contains("taken.txt"),
        "{msg}"
    );
    assert!(!msg.contains("ro.txt"), "{msg}");
    assert_eq!(err.kind(), smb_blocking::ErrorKind::AlreadyExists);
}

/// One blocking connection once held one open file at a time (`File` borrowed it): now
/// it holds many, copies between two remote files, and serves several threads.
#[test]
fn one_connection_holds_many_files_and_serves_several_threads() {
    use std::io::{Read, Write};
    let srv = server();
    let content = data(3 << 20, 11);
    std::fs::write(srv.share_path("share").join("src.bin"), &content).unwrap();
    let conn = connect(&srv);
    let mut src = conn
        .open("share", "src.bin", smb_blocking::OpenOptions::read())
        .unwrap();
    let mut dst = conn
        .open("share", "dst.bin", smb_blocking::OpenOptions::overwrite())
        .unwrap();
    let copied = std::io::copy(&mut src, &mut dst).unwrap();
    dst.flush().unwrap();
    drop((src, dst));
    assert_eq!(copied, content.len() as u64);
    assert!(std::fs::read(srv.share_path("share").join("dst.bin")).unwrap() == content);

    let threads: Vec<_> = (0..4)
        .map(|i| {
            let conn = conn.clone();
            std::thread::spawn(move || {
                let name = format!("t{i}.bin");
                let body = data(100_000 + i, i as u64);
                conn.store_file("share", &name, &mut &body[..]).unwrap();
                let mut back = Vec::new();
                conn.open("share", &name, smb_blocking::OpenOptions::read())
                    .unwrap()
                    .read_to_end(&mut back)
                    .unwrap();
                assert!(back == body, "{name}");
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a thread failed");
    }
    conn.echo().unwrap();
}

/// A tree transfer that fails part-way once left a silent half-copy: the error now says
/// which files made it, with the first failure's status.
#[test]
fn a_transfer_of_many_files_that_fails_part_way_says_which_made_it() {
    let srv = server();
    let disk = srv.share_path("share");
    let work = disk.parent().unwrap().join("partial");
    std::fs::create_dir_all(&work).unwrap();
    for name in ["a.bin", "c.bin"] {
        std::fs::write(disk.join(name), data(70_000, 3)).unwrap();
    }
    let conn = connect(&srv);
    let files: Vec<(String, std::path::PathBuf)> = ["a.bin", "missing.bin", "c.bin"]
        .iter()
        .map(|n| (n.to_string(), work.join(n)))
        .collect();
    match conn.retrieve_files("share", &files).unwrap_err() {
        smb_blocking::Error::Transfer {
            transferred,
            total,
            first,
        } => {
            assert_eq!(transferred, ["a.bin", "c.bin"]);
            assert_eq!(total, 3);
            assert_eq!(first.kind(), smb_blocking::ErrorKind::NotFound);
            assert!(first.to_string().contains("missing.bin"), "{first}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(work.join("c.bin")).unwrap().len(), 70_000);
}

/// A local failure part-way through an upload of many files: the transfer stops, and the
/// error names the local file and says which of the others made it.
#[test]
fn a_local_failure_in_a_many_file_upload_says_which_made_it() {
    let srv = server();
    let work = srv.share_path("share").parent().unwrap().join("up-src");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("a.bin"), b"a").unwrap();
    let files = vec![
        (work.join("a.bin"), "a.bin".to_string()),
        (work.join("gone.bin"), "gone.bin".to_string()),
    ];
    let conn = connect(&srv);
    match conn.store_files("share", &files).unwrap_err() {
        smb_blocking::Error::Transfer {
            transferred,
            total,
            first,
        } => {
            assert_eq!(total, 2);
            assert!(!transferred.contains(&"gone.bin".to_string()));
            assert_eq!(first.kind(), smb_blocking::ErrorKind::NotFound);
            assert!(first.to_string().contains("gone.bin"), "{first}");
            for done in &transferred {
                assert!(srv.share_path("share").join(done).exists(), "{done}");
            }
        }
        other => panic!("{other:?}"),
    }
}

/// Write calls this thread has made (`syscw` in `/proc/thread-self/io`, proc(5)): the
/// blocking client writes its socket from the calling thread.
fn writes_by_this_thread() -> u64 {
    let io = std::fs::read_to_string("/proc/thread-self/io").expect("/proc/thread-self/io");
    io.lines()
        .find_map(|l| l.strip_prefix("syscw:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("syscw in /proc/thread-self/io")
}

/// The chunks an upload has ready go out together: once the CREATE (with the first
/// chunk) is answered, the other seven of eight are read and sent in one write rather
/// than one write (and one wake-up of the server) each.
#[test]
fn an_upload_sends_the_chunks_it_has_ready_in_one_write() {
    let srv = server();
    let conn = connect(&srv);
    let chunk = conn.negotiated().max_write_size as usize;
    let content = data(8 * chunk, 8);
    // The tree is connected first, so that only the upload's own writes are counted.
    conn.store_file("share", "first.bin", &mut &b"x"[..])
        .expect("store");
    let before = writes_by_this_thread();
    conn.store_file("share", "eight.bin", &mut &content[..])
        .expect("store");
    let writes = writes_by_this_thread() - before;
    // CREATE with the first chunk, the seven others, CLOSE.
    assert!(writes <= 3, "{writes} writes for an upload of 8 chunks");
    let on_disk = std::fs::read(srv.share_path("share").join("eight.bin")).unwrap();
    assert_eq!(sha256(&on_disk), sha256(&content));
}

/// A local file longer than its size said when it was opened is uploaded whole: files
/// of a many-file upload are read into buffers their size, and a buffer that fills
/// means the file goes on. `/proc` files say 0 and hold more.
#[test]
fn a_many_file_upload_of_a_file_longer_than_its_size_sends_all_of_it() {
    let srv = server();
    let proc_file = std::path::PathBuf::from("/proc/self/status");
    assert_eq!(std::fs::metadata(&proc_file).unwrap().len(), 0);
    let files = vec![(proc_file.clone(), "status.txt".to_string())];
    let conn = connect(&srv);
    let sent = conn.store_files("share", &files).unwrap();
    let on_disk = std::fs::read(srv.share_path("share").join("status.txt")).unwrap();
    assert!(sent > 100 && on_disk.len() as u64 == sent, "{sent} bytes");
    assert!(
        on_disk.starts_with(b"Name:"),
        "{:?}",
        &on_disk[..on_disk.len().min(40)]
    );
    // The same on the async client (smol).
    let opts = srv.connect_options();
    let sent = smol::block_on(async {
        let client = smb_asyncstd::connect(&opts).await.unwrap();
        client
            .store_files("share", &[(proc_file, "status2.txt".to_string())])
            .await
            .unwrap()
    });
    let on_disk = std::fs::read(srv.share_path("share").join("status2.txt")).unwrap();
    assert!(sent > 100 && on_disk.len() as u64 == sent, "{sent} bytes");
}
