//! Every public call of the blocking client over SMB1 (issue #16), as one table against
//! one Samba that speaks only SMB1 (`server min/max protocol = NT1`) with signing
//! mandatory: each row either does its work — checked on the server's disk through the
//! harness, not only through this client — or fails with exactly
//! `Error::Unsupported { op, dialect: "SMB1" }`, sending nothing, the connection going
//! on. Rows are the `Connection` calls (the `client_calls!` macro's and the driver's
//! own), the `File` calls (`std::io` traits included), and the pathlib-style `Share` /
//! `SmbPath` calls of `smb-blocking`.
//!
//! Security descriptors, snapshots and change notification go over NT_TRANSACT,
//! streams and EAs over TRANSACTION2 (`tests/smb1_rpc.rs` checks them in depth). Rows
//! marked `SMB2 ONLY`
//! stay refused by design (channels, raw SMB2 requests, DFS referrals, interface
//! queries, reads of snapshots); a leased open is an open with no lease.
//!
//! Also: raw NTLMSSP in SESSION_SETUP_ANDX (no SPNEGO), NTLMv2 and NTLMv1, signed.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use smb_blocking::{Connection, ErrorKind, LockKind, OpenOptions, Share};
use smb_proto::wire::create::access_mask;
use smb_proto::wire::fscc::{file_attributes, FileBasicInformation, FileTime};
use smb_proto::{Dialect, Error, NtStatus};
use smb_tests::fixtures::{data, sha256, smb_error};
use smb_tests::{SambaServer, Share as ShareConf};

const SHARE: &str = "share";

/// The SMB1-only, signing-mandatory server of the table.
fn server() -> SambaServer {
    SambaServer::builder()
        .share(ShareConf::new(SHARE))
        .smb1_only()
        .global("server signing", "mandatory")
        .global("ntlm auth", "ntlmv1-permitted")
        .start()
}

fn connect(srv: &SambaServer) -> Connection {
    let conn = Connection::connect(&srv.connect_options().smb1(true))
        .unwrap_or_else(|e| panic!("connect: {e}; log:\n{}", srv.log()));
    assert_eq!(conn.negotiated().dialect, Dialect::Nt1);
    assert!(conn.is_signing());
    conn
}

/// `r` is the refusal of operation `op` over SMB1, nothing else.
#[track_caller]
fn unsupported<T: std::fmt::Debug>(row: &str, op: &str, r: smb_blocking::Result<T>) {
    let e = r.expect_err(row);
    match smb_error(&e) {
        Error::Unsupported {
            op: got,
            dialect: "SMB1",
        } if *got == op => {}
        other => panic!("{row}: expected Unsupported {{ op: {op:?}, SMB1 }}, got {other:?}"),
    }
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{row}");
}

/// The names of the extended attributes of `path` on the server's disk.
fn xattr_names(path: &Path) -> Vec<String> {
    let out = std::process::Command::new("getfattr")
        .args(["--absolute-names", "-m", "^user\\."])
        .arg(path)
        .output()
        .expect("getfattr (the attr package)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("user."))
        .map(str::to_string)
        .collect()
}

/// Rows that stay SMB2's.
#[track_caller]
fn smb2_only<T: std::fmt::Debug>(row: &str, op: &str, r: smb_blocking::Result<T>) {
    unsupported(&format!("SMB2 ONLY {row}"), op, r)
}

fn disk(srv: &SambaServer) -> std::path::PathBuf {
    srv.share_path(SHARE)
}

fn put(srv: &SambaServer, name: &str, bytes: &[u8]) {
    let p = disk(srv).join(name);
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir).expect("mkdir on disk");
    }
    std::fs::write(p, bytes).expect("a file on disk");
}

fn on_disk(srv: &SambaServer, name: &str) -> Vec<u8> {
    std::fs::read(disk(srv).join(name)).unwrap_or_else(|e| panic!("{name} on disk: {e}"))
}

fn mtime(path: &Path) -> u64 {
    std::fs::metadata(path)
        .expect("metadata")
        .modified()
        .expect("mtime")
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The `Connection` calls (client_calls! and the driver's own), then `File`'s, then
/// `Share` / `SmbPath`'s, on one connection; a second connection for lock conflicts.
#[test]
fn every_blocking_call_over_smb1_works_or_is_refused_exactly() {
    let srv = server();
    // First, and in this test rather than one of its own: its log capture must see the
    // login's first event (tracing caches a call site's interest on first use).
    raw_ntlmssp_logs_in_and_signs(&srv);
    let conn = connect(&srv);
    connection_calls(&srv, &conn);
    file_calls(&srv, &conn);
    path_calls(&srv, &conn);
    // Still in step after every refusal (nothing was sent for them): MIDs and MD5
    // sequence numbers agree with the server's.
    conn.echo().expect("echo at the end");
    conn.close().expect("close (LOGOFF_ANDX)");
}

fn connection_calls(srv: &SambaServer, conn: &Connection) {
    // State of the connection.
    assert_eq!(conn.reconnects(), 0);
    assert!(!conn.is_guest() && !conn.is_encrypting());
    assert_eq!(conn.client_guid(), conn.client_guid());
    assert_eq!(conn.channels(), 0);
    assert!(conn.durable_opens().is_empty());
    conn.poll_breaks(Duration::from_millis(50))
        .expect("poll_breaks: nothing to do");
    let _ = conn.session();

    // ECHO.
    conn.echo().expect("echo");
    assert_eq!(conn.echo_data(b"ping").expect("echo_data"), b"ping");

    // Tree connect: no encryption on SMB1.
    assert!(!conn.tree_encrypted(SHARE).expect("tree_encrypted"));

    // Listings.
    put(srv, "ls/a.txt", b"aaa");
    put(srv, "ls/b.bin", b"bb");
    std::fs::create_dir_all(disk(srv).join("ls/sub")).unwrap();
    let mut names: Vec<_> = conn
        .list_path(SHARE, "ls", "*")
        .expect("list_path")
        .into_iter()
        .map(|e| (e.name, e.size))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("a.txt".into(), 3), ("b.bin".into(), 2), ("sub".into(), 0)]
    );
    let dirs = conn
        .list_path_search(SHARE, "ls", smb_proto::ops::search::DIRECTORY, "*")
        .expect("list_path_search");
    assert_eq!(
        dirs.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["sub"]
    );
    let tree = conn.list_tree(SHARE, "ls").expect("list_tree");
    assert_eq!(tree.len(), 3, "{tree:?}");

    // Shares (RAP NetShareEnum on SMB1).
    let shares = conn.list_shares().expect("list_shares");
    assert!(shares.iter().any(|s| s.name == SHARE), "{shares:?}");

    // Stat and the file system.
    let st = conn
        .get_attributes(SHARE, "ls/a.txt")
        .expect("get_attributes");
    assert_eq!(st.size, 3);
    let df = conn.disk_free(SHARE, "ls").expect("disk_free");
    assert!(
        df.total_bytes > 0 && df.total_bytes >= df.free_bytes,
        "{df:?}"
    );
    assert_eq!(df.volume_label, SHARE);
    let e = conn.disk_free(SHARE, "ls/none").expect_err("missing path");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // Paths: truncate, mkdir, mkdir -p, rmdir, delete, attributes, times, rename.
    put(srv, "p/t.bin", &data(5000, 1));
    conn.truncate(SHARE, "p/t.bin", 10).expect("truncate");
    assert_eq!(on_disk(srv, "p/t.bin"), data(5000, 1)[..10]);
    conn.create_directory(SHARE, "p/d")
        .expect("create_directory");
    assert!(disk(srv).join("p/d").is_dir());
    conn.create_directories(SHARE, "p/x/y/z")
        .expect("create_directories");
    assert!(disk(srv).join("p/x/y/z").is_dir());
    conn.delete_directory(SHARE, "p/x/y/z")
        .expect("delete_directory");
    assert!(!disk(srv).join("p/x/y/z").exists());
    put(srv, "p/del1.tmp", b"1");
    put(srv, "p/del2.tmp", b"2");
    assert_eq!(
        conn.delete_files(SHARE, "p/*.tmp").expect("delete_files"),
        2
    );
    assert!(!disk(srv).join("p/del1.tmp").exists());
    // p/x holds y (empty) and f.tmp: three removed, p/x included.
    put(srv, "p/x/f.tmp", b"f");
    assert_eq!(
        conn.delete_files_and_folders(SHARE, "p/x")
            .expect("delete_files_and_folders"),
        3
    );
    assert!(!disk(srv).join("p/x").exists());
    let attrs = |p: &str| conn.get_attributes(SHARE, p).expect("stat").attributes;
    conn.call(smb_proto::ops::SetBasicInfo::new(
        SHARE,
        "p/t.bin",
        FileBasicInformation {
            file_attributes: file_attributes::READONLY,
            ..Default::default()
        },
    ))
    .expect("set attributes");
    assert_ne!(attrs("p/t.bin") & file_attributes::READONLY, 0);
    assert_eq!(
        conn.reset_file_attributes(SHARE, "p/t.bin", file_attributes::NORMAL)
            .expect("reset_file_attributes"),
        1
    );
    assert_eq!(attrs("p/t.bin") & file_attributes::READONLY, 0);
    let when = UNIX_EPOCH + Duration::from_secs(1_234_567_890);
    conn.set_last_write_time(SHARE, "p/t.bin", when)
        .expect("set_last_write_time");
    assert_eq!(mtime(&disk(srv).join("p/t.bin")), 1_234_567_890);
    conn.rename(SHARE, "p/t.bin", "p/d/moved.bin")
        .expect("rename");
    assert!(disk(srv).join("p/d/moved.bin").is_file() && !disk(srv).join("p/t.bin").exists());
    put(srv, "p/d/new.bin", b"new");
    conn.rename_replacing(SHARE, "p/d/new.bin", "p/d/moved.bin")
        .expect("rename_replacing");
    assert_eq!(on_disk(srv, "p/d/moved.bin"), b"new");

    // Copies go through the client on SMB1 (Samba's copy-chunk is SMB2's).
    let src = data(300_000, 2);
    put(srv, "c/src.bin", &src);
    let copied = conn
        .copy_file(SHARE, "c/src.bin", "c/dst.bin", false)
        .expect("copy_file");
    assert_eq!((copied.bytes, copied.server_side), (300_000, false));
    assert_eq!(sha256(&on_disk(srv, "c/dst.bin")), sha256(&src));
    let e = conn
        .copy_file(SHARE, "c/src.bin", "c/dst.bin", false)
        .expect_err("the destination exists");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    let copied = conn
        .copy_range(SHARE, "c/src.bin", "c/dst.bin", 1000, 10, 70_000)
        .expect("copy_range");
    assert_eq!(copied.bytes, 70_000);
    let mut want = src.clone();
    want[10..70_010].copy_from_slice(&src[1000..71_000]);
    assert_eq!(sha256(&on_disk(srv, "c/dst.bin")), sha256(&want));

    // Whole-file transfers (the 100 MiB ones are in smb1.rs).
    for d in ["t", "many"] {
        std::fs::create_dir_all(disk(srv).join(d)).expect("a directory on disk");
    }
    let body = data(200_001, 3);
    let mut input = &body[..];
    assert_eq!(
        conn.store_file(SHARE, "t/a.bin", &mut input)
            .expect("store_file"),
        200_001
    );
    assert_eq!(on_disk(srv, "t/a.bin"), body);
    let mut calls = 0;
    let mut input = &body[..1000];
    conn.store_file_with_progress(SHARE, "t/b.bin", &mut input, &mut |_, _| calls += 1)
        .expect("store_file_with_progress");
    assert!(calls > 0);
    assert_eq!(on_disk(srv, "t/b.bin"), body[..1000]);
    let mut input = &b"XYZ"[..];
    conn.store_file_from_offset(SHARE, "t/b.bin", &mut input, 10, false)
        .expect("store_file_from_offset");
    let mut want = body[..1000].to_vec();
    want[10..13].copy_from_slice(b"XYZ");
    assert_eq!(on_disk(srv, "t/b.bin"), want);
    let mut input = &b"end"[..];
    conn.store_file_from_offset_with_progress(
        SHARE,
        "t/b.bin",
        &mut input,
        4,
        true,
        &mut |_, _| {},
    )
    .expect("store_file_from_offset_with_progress");
    // Truncated first (pysmb's storeFileFromOffset): zeros before the offset.
    assert_eq!(on_disk(srv, "t/b.bin"), b"\0\0\0\0end");
    let mut out = Vec::new();
    conn.retrieve_file(SHARE, "t/a.bin", &mut out)
        .expect("retrieve_file");
    assert_eq!(out, body);
    let mut out = Vec::new();
    conn.retrieve_file_with_progress(SHARE, "t/a.bin", &mut out, &mut |_, _| {})
        .expect("retrieve_file_with_progress");
    assert_eq!(out, body);
    let mut out = Vec::new();
    conn.retrieve_file_from_offset(SHARE, "t/a.bin", &mut out, 100, Some(50))
        .expect("retrieve_file_from_offset");
    assert_eq!(out, body[100..150]);
    let mut out = Vec::new();
    conn.retrieve_file_from_offset_with_progress(
        SHARE,
        "t/a.bin",
        &mut out,
        200_000,
        None,
        &mut |_, _| {},
    )
    .expect("retrieve_file_from_offset_with_progress");
    assert_eq!(out, body[200_000..]);

    // Many files and trees.
    let local = std::env::temp_dir().join(format!("smb1-calls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&local);
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(local.join("m1"), b"one").unwrap();
    std::fs::write(local.join("m2"), b"two").unwrap();
    let n = conn
        .store_files(
            SHARE,
            &[
                (local.join("m1"), "many/m1".into()),
                (local.join("m2"), "many/m2".into()),
            ],
        )
        .expect("store_files");
    assert_eq!(n, 6);
    assert_eq!(on_disk(srv, "many/m2"), b"two");
    let n = conn
        .retrieve_files(SHARE, &[("many/m1".into(), local.join("back1"))])
        .expect("retrieve_files");
    assert_eq!(n, 3);
    assert_eq!(std::fs::read(local.join("back1")).unwrap(), b"one");
    let tree = smb_tests::fixtures::make_tree(&local.join("up"), 12);
    let (files, _) = conn
        .store_tree(&local.join("up"), SHARE, "tree1")
        .expect("store_tree");
    assert_eq!(files, 12);
    smb_tests::fixtures::check_tree(&disk(srv).join("tree1"), &tree, "store_tree");
    conn.store_tree_with_progress(&local.join("up"), SHARE, "tree2", &mut |_| {})
        .expect("store_tree_with_progress");
    smb_tests::fixtures::check_tree(&disk(srv).join("tree2"), &tree, "store_tree_with_progress");
    conn.retrieve_tree(SHARE, "tree1", &local.join("down1"))
        .expect("retrieve_tree");
    smb_tests::fixtures::check_tree(&local.join("down1"), &tree, "retrieve_tree");
    conn.retrieve_tree_with_progress(SHARE, "tree2", &local.join("down2"), &mut |_| {})
        .expect("retrieve_tree_with_progress");
    smb_tests::fixtures::check_tree(&local.join("down2"), &tree, "retrieve_tree_with_progress");
    std::fs::remove_dir_all(&local).unwrap();

    // A second session on the connection (another UID) works as the first.
    let creds = srv
        .connect_options()
        .credentials()
        .expect("the test user's credentials");
    let other = conn.add_session(creds).expect("add_session");
    assert_ne!(other.session(), conn.session());
    assert_eq!(
        other
            .list_path(SHARE, "many", "*")
            .expect("list as the second session")
            .len(),
        2
    );
    // with_timeout: a handle with a deadline per call; used by lock_timeout below.
    conn.with_timeout(Duration::from_secs(5))
        .echo()
        .expect("with_timeout");

    // Browsing (RAP NetServerEnum2) asks a master browser; this smbd runs no nmbd, so it
    // has no browse list: Samba answers with an empty list (the browse tests have one).
    let servers = conn.list_servers("WORKGROUP");
    let workgroups = conn.list_workgroups("WORKGROUP");
    assert!(
        servers.is_ok() && workgroups.is_ok(),
        "{servers:?} {workgroups:?}"
    );

    // NT_TRANSACT and TRANSACTION2: security descriptors, streams, EAs, snapshots,
    // notify (tests/smb1_rpc.rs checks each in depth).
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata(disk(srv).join("ls/a.txt"))
        .expect("on disk")
        .uid();
    let sd = conn.get_security(SHARE, "ls/a.txt").expect("get_security");
    assert_eq!(
        sd.owner.as_ref().map(|s| s.to_string()),
        Some(format!("S-1-22-1-{uid}")),
        "the file's owner on disk"
    );
    conn.set_security(SHARE, "ls/a.txt", &sd)
        .expect("set_security of what was read");
    let streams = conn.list_streams(SHARE, "ls/a.txt").expect("list_streams");
    assert_eq!(
        streams
            .iter()
            .map(|s| (s.name.as_str(), s.size))
            .collect::<Vec<_>>(),
        [("", 3)],
        "the file's own data stream, its size on disk"
    );
    conn.set_ea(SHARE, "ls/a.txt", "x", b"1").expect("set_ea");
    conn.set_eas(SHARE, "ls/a.txt", &[("y", &b"22"[..])])
        .expect("set_eas");
    let on_disk = xattr_names(&disk(srv).join("ls/a.txt"));
    assert!(
        on_disk.contains(&"user.x".to_string()) && on_disk.contains(&"user.y".to_string()),
        "{on_disk:?}"
    );
    let mut eas: Vec<(String, Vec<u8>)> = conn
        .get_eas(SHARE, "ls/a.txt")
        .expect("get_eas")
        .into_iter()
        .map(|e| (e.name, e.value))
        .collect();
    eas.sort();
    assert_eq!(
        eas,
        [("x".into(), b"1".to_vec()), ("y".into(), b"22".to_vec())]
    );
    // No snapshots on this share: Samba's own answer over SMB1 (STATUS_NOT_SUPPORTED),
    // not the client's refusal.
    let e = conn
        .list_snapshots(SHARE, "")
        .expect_err("a share without snapshots");
    assert_eq!(e.status(), Some(NtStatus::NOT_SUPPORTED), "{e}");
    std::fs::create_dir(disk(srv).join("wt")).expect("mkdir on disk");
    let mut w = conn
        .watch(SHARE, "wt", 0x1, false)
        .expect("watch (FILE_NAME)");
    let mut seen = false;
    for i in 0..100 {
        // Samba registers a watch a moment after it holds the request.
        put(srv, &format!("wt/watched-{i}.txt"), b"");
        if let Some(c) = w.next_within(Duration::from_millis(300)) {
            let c = c.expect("the watch failed");
            assert!(format!("{c:?}").contains("watched-"), "{c:?}");
            seen = true;
            break;
        }
    }
    assert!(seen, "the watch never reported a file made on disk");
    drop(w);

    // SMB2 ONLY.
    let snap = FileTime(133_000_000_000_000_000);
    let mut out = Vec::new();
    smb2_only(
        "retrieve_file_at (a snapshot)",
        "get",
        conn.retrieve_file_at(SHARE, "t/a.bin", snap, &mut out),
    );
    // Binding a channel is SMB 3's: refused before anything is sent, as on SMB 2.x.
    let e = conn
        .add_channel(srv.addr())
        .expect_err("SMB2 ONLY add_channel");
    assert!(
        matches!(smb_error(&e), Error::Invalid(m) if m.contains("multichannel needs SMB 3")),
        "{e:?}"
    );
    smb2_only(
        "add_channels",
        "query network interfaces",
        conn.add_channels(),
    );
    smb2_only(
        "call(QueryInterfaces)",
        "query network interfaces",
        conn.call(smb_proto::ops::QueryInterfaces::new()),
    );
    smb2_only(
        "call(GetDfsReferral)",
        "dfs referral",
        conn.call(smb_proto::ops::GetDfsReferral::new(r"\\server\share")),
    );
    smb2_only(
        "call(Raw)",
        "raw request",
        conn.call(smb_proto::ops::Raw::new(
            smb_proto::wire::request::RequestBody::Echo(smb_proto::wire::simple::EchoRequest),
        )),
    );
    // A leased open is an open: SMB1 has no leases, and the contract allows a lease
    // of nothing ("none granted").
    let f = conn
        .open_leased(SHARE, "ls/a.txt", OpenOptions::read(), 0x7)
        .expect("open_leased");
    assert!(!f.lease_state().expect("lease_state").read());
    f.close().expect("close");
}

fn file_calls(srv: &SambaServer, conn: &Connection) {
    std::fs::create_dir_all(disk(srv).join("f")).expect("a directory on disk");
    let mut o = OpenOptions::read_write_create();
    o.access |= access_mask::DELETE;
    let mut f = conn.open(SHARE, "f/file.bin", o).expect("open");
    assert_eq!(f.info().size, 0);
    assert_eq!(f.lease_state().expect("lease_state").to_string(), "none");
    // Write, Read, Seek, flush.
    f.write_all(b"hello, world").expect("write");
    f.flush().expect("flush");
    assert_eq!(on_disk(srv, "f/file.bin"), b"hello, world");
    assert_eq!(f.seek(SeekFrom::End(-5)).expect("seek from the end"), 7);
    let mut s = String::new();
    f.read_to_string(&mut s).expect("read");
    assert_eq!(s, "world");
    assert_eq!(f.seek(SeekFrom::Current(-12)).expect("seek back"), 0);
    // stat (TRANS2_QUERY_FILE_INFORMATION): size, name and times as the disk has them.
    let st = f.stat().expect("stat");
    assert_eq!((st.name.as_str(), st.size), ("file.bin", 12));
    let written = st.last_write_time.to_system_time().expect("a time");
    let secs = written
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    assert_eq!(secs, mtime(&disk(srv).join("f/file.bin")));
    // set_len (TRANS2_SET_FILE_INFORMATION, FileEndOfFileInformation): both ways.
    f.set_len(5).expect("set_len down");
    assert_eq!(on_disk(srv, "f/file.bin"), b"hello");
    f.set_len(8).expect("set_len up");
    assert_eq!(on_disk(srv, "f/file.bin"), b"hello\0\0\0");
    assert_eq!(f.stat().expect("stat").size, 8);
    // set_allocation_size: the size stays; below it truncates (MS-FSA).
    f.set_allocation_size(1 << 20).expect("set_allocation_size");
    assert_eq!(on_disk(srv, "f/file.bin").len(), 8);
    f.set_allocation_size(2)
        .expect("set_allocation_size below the end");
    assert_eq!(on_disk(srv, "f/file.bin"), b"he");
    // set_basic_info: the time as the disk sees it, attributes.
    let when = UNIX_EPOCH + Duration::from_secs(1_111_111_111);
    f.set_basic_info(&FileBasicInformation {
        last_write_time: FileTime::from_system_time(when),
        ..Default::default()
    })
    .expect("set_basic_info");
    assert_eq!(mtime(&disk(srv).join("f/file.bin")), 1_111_111_111);

    // Locks, against another connection's open of the same file.
    let mut opts = srv.connect_options().smb1(true);
    opts.timeout = Duration::from_secs(1);
    let other = Connection::connect(&opts).expect("a second connection");
    let g = other
        .open(SHARE, "f/file.bin", OpenOptions::read_write_create())
        .expect("open from the other connection");
    f.lock(0, 10, LockKind::Exclusive).expect("lock");
    let big = 1u64 << 40; // past 32 bits: LOCKING_ANDX_LARGE_FILES
    f.lock(big, 10, LockKind::Shared)
        .expect("lock at 1 TiB, shared");
    let conflict = |r: smb_blocking::Result<()>, what: &str| {
        let e = r.expect_err(what);
        assert_eq!(e.kind(), ErrorKind::LockConflict, "{what}: {e}");
        assert!(
            matches!(
                smb_error(&e).status(),
                Some(NtStatus::LOCK_NOT_GRANTED | NtStatus::FILE_LOCK_CONFLICT)
            ),
            "{what}: {e}"
        );
    };
    conflict(
        g.try_lock(5, 1, LockKind::Shared),
        "try_lock in an exclusive range",
    );
    g.try_lock(big + 5, 1, LockKind::Shared)
        .expect("try_lock: shared on shared");
    conflict(
        g.try_lock(big + 5, 1, LockKind::Exclusive),
        "try_lock: exclusive on shared (64-bit offset)",
    );
    g.try_lock(10, 5, LockKind::Exclusive)
        .expect("try_lock just past the range");
    // A wait given up: the wait is cancelled on the wire (NT_CANCEL), the call times out.
    let e = g
        .lock_timeout(0, 1, LockKind::Shared, Duration::from_millis(300))
        .expect_err("lock_timeout on a held range");
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    other.echo().expect("the connection goes on");
    f.unlock(0, 10).expect("unlock");
    let e = f.unlock(0, 10).expect_err("unlock twice");
    assert_eq!(e.kind(), ErrorKind::NotLocked, "{e}");
    // The wait was cancelled on the wire: when f unlocked, nothing granted it to g.
    std::thread::sleep(Duration::from_millis(300));
    f.try_lock(0, 10, LockKind::Exclusive)
        .expect("g's cancelled wait did not take the range");
    let e = g.unlock(0, 1).expect_err("g holds nothing there");
    assert_eq!(e.kind(), ErrorKind::NotLocked, "{e}");
    f.unlock(0, 10).expect("unlock");
    // A lock that waits, granted when the holder lets go (from another thread).
    g.lock(0, 1, LockKind::Exclusive).expect("g locks");
    let waiter = std::thread::spawn({
        let conn = conn.clone();
        move || {
            let h = conn
                .open(SHARE, "f/file.bin", OpenOptions::read())
                .expect("open");
            h.lock(0, 1, LockKind::Shared).map(|()| h)
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !waiter.is_finished(),
        "the lock waits while g holds the range"
    );
    g.unlock(0, 1).expect("g unlocks");
    let h = waiter.join().expect("thread").expect("granted once free");
    h.close().expect("close");
    g.close().expect("close g");
    other.close().expect("logoff");

    // Delete-on-close through the handle, and closing.
    f.set_delete_on_close(true).expect("set_delete_on_close");
    assert!(disk(srv).join("f/file.bin").exists(), "still open");
    f.close().expect("close");
    assert!(!disk(srv).join("f/file.bin").exists(), "deleted on close");
    // Drop closes too: the file can be deleted by name afterwards.
    {
        let mut d = conn
            .open(SHARE, "f/dropped.bin", OpenOptions::overwrite())
            .expect("open to drop");
        d.write_all(b"x").expect("write");
    }
    assert_eq!(
        conn.delete_files(SHARE, "f/dropped.bin").expect("delete"),
        1
    );
}

fn path_calls(srv: &SambaServer, conn: &Connection) {
    let share = Share::on(conn.clone(), SHARE).expect("Share::on");
    assert_eq!(share.connection().negotiated().dialect, Dialect::Nt1);
    let dir = share.path("pl");
    dir.mkdir(false, false).expect("mkdir");
    assert!(disk(srv).join("pl").is_dir());
    let e = dir.mkdir(false, false).expect_err("exists");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    share
        .path("pl/a/b")
        .mkdir(true, false)
        .expect("mkdir parents");
    assert!(disk(srv).join("pl/a/b").is_dir());
    share.path("pl/a/b").rmdir().expect("rmdir");
    assert!(!disk(srv).join("pl/a/b").exists());
    let f = share.path("pl/f.txt");
    assert_eq!(f.write_text("hello").expect("write_text"), 5);
    assert_eq!(on_disk(srv, "pl/f.txt"), b"hello");
    assert_eq!(f.write_bytes(b"bytes!").expect("write_bytes"), 6);
    assert_eq!(f.read_bytes().expect("read_bytes"), b"bytes!");
    assert_eq!(f.read_text().expect("read_text"), "bytes!");
    assert!(f.exists().unwrap() && f.is_file().unwrap() && !f.is_dir().unwrap());
    assert!(dir.is_dir().unwrap() && !share.path("pl/none").exists().unwrap());
    assert_eq!(f.stat().expect("stat").size, 6);
    assert!(f.disk_free().expect("disk_free").total_bytes > 0);
    f.truncate(2).expect("truncate");
    assert_eq!(on_disk(srv, "pl/f.txt"), b"by");
    share.path("pl/t.txt").touch(false).expect("touch");
    assert!(disk(srv).join("pl/t.txt").is_file());
    // Touching an existing file sets its times to now (SET_FILE_INFORMATION).
    let old = UNIX_EPOCH + Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(disk(srv).join("pl/t.txt"))
        .and_then(|f| f.set_modified(old))
        .expect("an old mtime on disk");
    share
        .path("pl/t.txt")
        .touch(true)
        .expect("touch an existing file");
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(mtime(&disk(srv).join("pl/t.txt")) + 60 > now, "touched now");
    let e = share
        .path("pl/t.txt")
        .touch(false)
        .expect_err("touch, exist_ok false");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    let mut names: Vec<_> = dir
        .iterdir()
        .expect("iterdir")
        .map(|p| p.name().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "f.txt", "t.txt"]);
    assert_eq!(dir.glob("*.txt").expect("glob").count(), 2);
    put(srv, "pl/a/deep.txt", b"d");
    assert_eq!(dir.rglob("*.txt").expect("rglob").count(), 3);
    let moved = f.rename("pl/g.txt").expect("rename");
    assert_eq!(moved.as_str(), "pl/g.txt");
    assert_eq!(on_disk(srv, "pl/g.txt"), b"by");
    let replaced = share.path("pl/t.txt").replace("pl/g.txt").expect("replace");
    assert_eq!(replaced.as_str(), "pl/g.txt");
    assert!(on_disk(srv, "pl/g.txt").is_empty() && !disk(srv).join("pl/t.txt").exists());
    // open: every mode; `a` appends where the end is (a QUERY_FILE_INFORMATION).
    let mut w = share.path("pl/g.txt").open("w").expect("open w");
    w.write_all(b"12345").expect("write");
    w.close().expect("close");
    let mut a = share.path("pl/g.txt").open("a").expect("open a");
    a.write_all(b"678").expect("append");
    a.close().expect("close");
    assert_eq!(on_disk(srv, "pl/g.txt"), b"12345678");
    let mut r = share.path("pl/g.txt").open("r").expect("open r");
    let mut s = String::new();
    r.read_to_string(&mut s).expect("read");
    assert_eq!(s, "12345678");
    r.close().expect("close");
    let e = share
        .path("pl/g.txt")
        .open("x")
        .expect_err("x on an existing file");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    share.path("pl/g.txt").unlink(false).expect("unlink");
    assert!(!disk(srv).join("pl/g.txt").exists());
    share
        .path("pl/g.txt")
        .unlink(true)
        .expect("unlink, missing ok");
    // A path's information class: the pass-through level 1000 + class, in MS-FSCC's
    // layout; FileAllInformation, which Samba lays out otherwise there, is refused.
    let deep = share.path("pl/a/deep.txt");
    let std_info = deep
        .stat_info::<smb_proto::wire::fscc::FileStandardInformation>()
        .expect("SmbPath::stat_info");
    assert_eq!(std_info.end_of_file, 1, "the size on disk");
    assert!(!std_info.directory);
    let internal = deep
        .stat_class(smb_proto::wire::fscc::class::FILE_INTERNAL_INFORMATION)
        .expect("SmbPath::stat_class");
    assert_eq!(internal.len(), 8, "FileInternalInformation: {internal:?}");
    unsupported(
        "SmbPath::stat_class of FileAllInformation",
        "query info",
        deep.stat_class(smb_proto::wire::fscc::class::FILE_ALL_INFORMATION),
    );
    // Streams and EAs by path.
    let deep = share.path("pl/a/deep.txt");
    let streams = deep.streams().expect("SmbPath::streams");
    assert_eq!(streams.len(), 1, "{streams:?}");
    assert_eq!(streams[0].size, 1);
    deep.set_ea("z", b"3").expect("SmbPath::set_ea");
    assert!(xattr_names(&disk(srv).join("pl/a/deep.txt")).contains(&"user.z".to_string()));
    let eas = deep.eas().expect("SmbPath::eas");
    assert_eq!(
        eas.iter()
            .map(|e| (e.name.as_str(), &e.value[..]))
            .collect::<Vec<_>>(),
        [("z", &b"3"[..])]
    );
}

/// Raw NTLMSSP (no SPNEGO) in SESSION_SETUP_ANDX, NTLMv2 and NTLMv1: the session
/// signs (a wrong key would fail the first signed answer) and works; a wrong password
/// is the server's logon failure.
fn raw_ntlmssp_logs_in_and_signs(srv: &SambaServer) {
    for v2 in [true, false] {
        let mut o = srv.connect_options().smb1(true);
        o.smb1_raw_ntlmssp = true;
        o.use_ntlm_v2 = v2;
        let ((), logs) = smb_tests::logs::captured_logs(tracing::Level::DEBUG, || {
            let conn = Connection::connect(&o)
                .unwrap_or_else(|e| panic!("raw NTLMSSP, v2 {v2}: {e}; log:\n{}", srv.log()));
            assert!(conn.is_signing());
            put(srv, "raw.txt", b"raw");
            let mut out = Vec::new();
            conn.retrieve_file(SHARE, "raw.txt", &mut out)
                .expect("read");
            assert_eq!(out, b"raw");
            conn.close().expect("logoff");
        });
        assert!(
            logs.contains("mechanism=\"raw NTLMSSP\"") || logs.contains("mechanism=raw NTLMSSP"),
            "{logs}"
        );
        assert!(!logs.contains("SPNEGO NTLMSSP"), "{logs}");
        let mut bad = o.clone().user(srv.user(), "wrong");
        bad.use_ntlm_v2 = v2;
        let e = Connection::connect(&bad).expect_err("wrong password");
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e}");
    }
}
