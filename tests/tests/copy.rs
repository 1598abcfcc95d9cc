//! Server-side copy against Samba (FSCTL_SRV_REQUEST_RESUME_KEY then
//! FSCTL_SRV_COPYCHUNK_WRITE): whole files and ranges byte for byte, the server's own
//! limits adopted when a request breaks them, what happens to an existing destination,
//! a missing source, and the same copy from the async client on tokio and smol.

use std::fs;

use smb_blocking::{Connection, ErrorKind, NtStatus};
use smb_proto::ops::{CopyDestination, CopyFile, CopyLimits};
use smb_tests::fixtures::{data, sha256, smb_error};
use smb_tests::{SambaServer, Share};

const MIB: usize = 1 << 20;

fn server() -> SambaServer {
    SambaServer::builder().share(Share::new("share")).start()
}

fn connect(srv: &SambaServer) -> Connection {
    Connection::connect(&srv.connect_options()).expect("connect")
}

/// Writes `bytes` as `name` in the share's directory, behind the server's back.
fn put(srv: &SambaServer, name: &str, bytes: &[u8]) {
    fs::write(srv.share_path("share").join(name), bytes).unwrap();
}

/// The path a status failure names.
fn status_path(e: &smb_blocking::Error) -> &str {
    match smb_error(e) {
        smb_proto::Error::Status { path, op, .. } => {
            assert_eq!(*op, "copy");
            path
        }
        other => panic!("expected a status failure, got {other:?}"),
    }
}

/// What the server holds as `name`, read back through SMB.
fn get(conn: &Connection, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    conn.retrieve_file("share", name, &mut out)
        .unwrap_or_else(|e| panic!("read back {name}: {e}"));
    out
}

#[test]
fn a_multi_mib_file_is_copied_server_side_byte_for_byte() {
    let srv = server();
    let conn = connect(&srv);
    // 40 MiB and a few: three requests of 16 MiB at MS-SMB2's default limits, the last
    // one short and ending in a short chunk.
    let src = data(40 * MIB + 12_345, 1);
    put(&srv, "big.bin", &src);
    fs::create_dir(srv.share_path("share").join("sub")).unwrap();
    let copied = conn
        .copy_file("share", "big.bin", "sub/big-copy.bin", false)
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(copied.bytes, src.len() as u64);
    assert!(copied.server_side, "Samba copies server-side");
    let back = get(&conn, "sub/big-copy.bin");
    assert_eq!(back.len(), src.len());
    assert_eq!(sha256(&back), sha256(&src));
    assert_eq!(
        sha256(&get(&conn, "big.bin")),
        sha256(&src),
        "the source is untouched"
    );
}

#[test]
fn an_empty_file_copies_to_an_empty_file() {
    let srv = server();
    let conn = connect(&srv);
    put(&srv, "empty", b"");
    let copied = conn.copy_file("share", "empty", "empty2", false).unwrap();
    assert_eq!((copied.bytes, copied.server_side), (0, true));
    assert_eq!(conn.get_attributes("share", "empty2").unwrap().size, 0);
}

/// Requests of 4 MiB chunks break Samba's 1 MiB chunk limit: it answers
/// STATUS_INVALID_PARAMETER with its limits (256 chunks, 1 MiB, 16 MiB), and the copy
/// goes on within them, still server-side. Without the renegotiation the copy fails.
#[test]
fn limits_the_server_states_are_adopted() {
    let srv = server();
    let conn = connect(&srv);
    let src = data(20 * MIB + 7, 2);
    put(&srv, "src.bin", &src);
    let too_big = CopyLimits {
        max_chunks: 16,
        max_chunk_size: 4 * MIB as u32,
        max_total: 64 * MIB as u32,
    };
    let op =
        CopyFile::new("share", "src.bin", "dst.bin", CopyDestination::CreateNew).limits(too_big);
    let copied = conn
        .call(op)
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(copied.bytes, src.len() as u64);
    assert!(copied.server_side);
    assert_eq!(sha256(&get(&conn, "dst.bin")), sha256(&src));
}

#[test]
fn a_range_lands_at_its_offset_and_keeps_the_rest() {
    let srv = server();
    let conn = connect(&srv);
    let src = data(3 * MIB, 3);
    let old = data(4 * MIB, 4);
    put(&srv, "src.bin", &src);
    put(&srv, "dst.bin", &old);
    let (from, to, len) = (MIB + 5, 2 * MIB + 100, MIB + MIB / 2);
    let copied = conn
        .copy_range(
            "share",
            "src.bin",
            "dst.bin",
            from as u64,
            to as u64,
            len as u64,
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(copied.bytes, len as u64);
    assert!(copied.server_side);
    let mut want = old.clone();
    want[to..to + len].copy_from_slice(&src[from..from + len]);
    let back = get(&conn, "dst.bin");
    assert_eq!(
        back.len(),
        want.len(),
        "the range stays inside the old size"
    );
    assert_eq!(sha256(&back), sha256(&want));

    // Past the end of the destination it grows it; past the source's end it stops there.
    let copied = conn
        .copy_range(
            "share",
            "src.bin",
            "dst.bin",
            2 * MIB as u64,
            4 * MIB as u64,
            u64::MAX,
        )
        .unwrap();
    assert_eq!(copied.bytes, MIB as u64, "clipped to the source's end");
    want.extend_from_slice(&src[2 * MIB..]);
    assert_eq!(sha256(&get(&conn, "dst.bin")), sha256(&want));

    // A range into a file that does not exist yet creates it; the bytes before the
    // offset read as zeros.
    let copied = conn
        .copy_range("share", "src.bin", "new.bin", 0, 10, 20)
        .unwrap();
    assert_eq!(copied.bytes, 20);
    let mut new = vec![0; 10];
    new.extend_from_slice(&src[..20]);
    assert_eq!(get(&conn, "new.bin"), new);
}

#[test]
fn an_existing_destination_fails_without_overwrite_and_is_replaced_with_it() {
    let srv = server();
    let conn = connect(&srv);
    let src = data(MIB + 3, 5);
    let old = data(2 * MIB, 6);
    put(&srv, "src.bin", &src);
    put(&srv, "dst.bin", &old);
    let e = conn
        .copy_file("share", "src.bin", "dst.bin", false)
        .expect_err("the destination exists");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_COLLISION));
    assert_eq!(status_path(&e), "dst.bin", "{e}");
    assert_eq!(
        sha256(&get(&conn, "dst.bin")),
        sha256(&old),
        "left as it was"
    );

    let copied = conn.copy_file("share", "src.bin", "dst.bin", true).unwrap();
    assert_eq!(copied.bytes, src.len() as u64);
    // Shorter than what it replaced: the old tail is gone.
    assert_eq!(sha256(&get(&conn, "dst.bin")), sha256(&src));

    let e = conn
        .copy_file("share", "src.bin", "src.bin", true)
        .expect_err("a file cannot replace itself");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert_eq!(sha256(&get(&conn, "src.bin")), sha256(&src));
}

#[test]
fn a_missing_source_is_not_found_with_its_path_and_creates_nothing() {
    let srv = server();
    let conn = connect(&srv);
    let e = conn
        .copy_file("share", "dir/nope.bin", "made.bin", false)
        .expect_err("no source");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(status_path(&e), "dir/nope.bin", "{e}");
    assert!(e.to_string().contains("dir/nope.bin"), "{e}");
    let e = conn.get_attributes("share", "made.bin").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "no destination was created");

    // A directory is not a file to copy.
    fs::create_dir(srv.share_path("share").join("d")).unwrap();
    let e = conn.copy_file("share", "d", "d2", false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::IsADirectory, "{e}");
}

/// The async client's wrapper runs the same operation on tokio and on smol.
#[test]
fn the_async_client_copies_on_tokio_and_smol() {
    let srv = server();
    let src = data(5 * MIB + 1, 7);
    put(&srv, "src.bin", &src);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let copied = rt.block_on(async {
        let client = smb_tokio::Client::connect(&srv.connect_options())
            .await
            .expect("connect");
        client
            .copy_file("share", "src.bin", "tokio.bin", false)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    assert_eq!((copied.bytes, copied.server_side), (src.len() as u64, true));
    let copied = smol::block_on(async {
        let client = smb_asyncstd::connect(&srv.connect_options())
            .await
            .expect("connect");
        client
            .copy_range("share", "src.bin", "smol.bin", 100, 0, 1000)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    assert_eq!((copied.bytes, copied.server_side), (1000, true));
    let conn = connect(&srv);
    assert_eq!(sha256(&get(&conn, "tokio.bin")), sha256(&src));
    assert_eq!(get(&conn, "smol.bin"), src[100..1100]);
}
