//! The file system behind a share (`disk_free`, `statvfs`), checked against what
//! `statvfs` says of the share's directory on this machine, and set-info calls of their
//! own: truncate and extend, allocation size, delete-on-close, times, against Samba's
//! files on disk.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use smb_blocking::{access_mask, Connection, Context, ErrorKind, FileTime, OpenOptions};
use smb_proto::wire::fscc::FileBasicInformation;
use smb_test_server::{SambaServer, Share};

/// A share whose volume label and file system name are set, so the answer can only
/// have come from this server's configuration.
fn server() -> SambaServer {
    SambaServer::builder()
        .share(
            Share::new("share")
                .option("volume", "Scratch Vol")
                .option("fstype", "SambaTestFS"),
        )
        .start()
}

/// `statvfs` of `path` on this machine, through coreutils' `stat -f`: (fragment size,
/// blocks, blocks available to an unprivileged user).
fn local_statvfs(path: &Path) -> (u64, u64, u64) {
    let out = Command::new("stat")
        .args(["-f", "-c", "%S %b %a"])
        .arg(path)
        .output()
        .expect("running stat -f");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let n: Vec<u64> = text
        .split_whitespace()
        .map(|v| v.parse().expect("a number"))
        .collect();
    (n[0], n[1], n[2])
}

#[test]
fn disk_free_is_what_statvfs_says_of_the_share_directory() {
    let srv = server();
    let dir = srv.share_path("share");
    let conn = Connection::connect(&srv.connect_options()).unwrap();

    let (frsize, blocks, avail_before) = local_statvfs(&dir);
    let fs = conn
        .disk_free("share", "")
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    let (_, _, avail_after) = local_statvfs(&dir);

    // Samba reports in 1 KiB units (its `block size`): the size is the local one,
    // rounded down to whole units.
    let local_total = frsize * blocks;
    assert!(
        fs.total_bytes <= local_total && local_total - fs.total_bytes < 1024,
        "server {} bytes, statvfs {local_total}",
        fs.total_bytes
    );
    assert_eq!(
        fs.total_bytes,
        fs.units.total_allocation_units * fs.block_size
    );
    assert_eq!(
        fs.block_size,
        u64::from(fs.units.sectors_per_allocation_unit) * u64::from(fs.units.bytes_per_sector)
    );
    // Other processes write to this disk meanwhile: the free space lies between the
    // two local readings, give or take a unit and some slack for them.
    let slack = 64 << 20;
    let (lo, hi) = (
        frsize * avail_before.min(avail_after),
        frsize * avail_before.max(avail_after),
    );
    assert!(
        fs.available_bytes + slack >= lo && fs.available_bytes <= hi + slack,
        "server {} available, statvfs between {lo} and {hi}",
        fs.available_bytes
    );
    assert!(fs.free_bytes >= fs.available_bytes);
    assert_eq!(fs.used_bytes(), fs.total_bytes - fs.free_bytes);

    assert_eq!(fs.file_system_name, "SambaTestFS");
    assert_eq!(fs.volume_label, "Scratch Vol");
    assert_eq!(fs.max_name_length, 255);
    assert!(!fs.is_read_only());

    // A path below the root is on the same file system; a missing one is not found.
    fs::create_dir(dir.join("sub")).unwrap();
    fs::write(dir.join("sub/f.txt"), b"x").unwrap();
    for path in ["sub", "sub/f.txt"] {
        let below = conn.disk_free("share", path).unwrap();
        assert_eq!(below.total_bytes, fs.total_bytes, "{path}");
        assert_eq!(below.volume_label, fs.volume_label, "{path}");
        assert_eq!(
            below.volume_serial_number, fs.volume_serial_number,
            "{path}"
        );
    }
    let missing = conn.disk_free("share", "no/such").unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");

    // The URL context and the async client say the same.
    let url = format!("{}/sub", srv.url("share"));
    let ctx = Context::new(srv.connect_options());
    let via_url = ctx.statvfs(&url).unwrap();
    assert_eq!(
        (via_url.total_bytes, via_url.file_system_name.as_str()),
        (fs.total_bytes, "SambaTestFS")
    );
    let via_async = smol::block_on(async {
        let client = smb_asyncstd::connect(&srv.connect_options()).await.unwrap();
        client.disk_free("share", "sub").await.unwrap()
    });
    assert_eq!(via_async.total_bytes, fs.total_bytes);
    assert_eq!(via_async.volume_label, "Scratch Vol");
}

#[test]
fn truncate_shrinks_and_set_len_extends_with_zeros() {
    let srv = server();
    let disk = srv.share_path("share").join("data.bin");
    let content: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8 + 1).collect();
    fs::write(&disk, &content).unwrap();
    let conn = Connection::connect(&srv.connect_options()).unwrap();

    conn.truncate("share", "data.bin", 100).unwrap();
    assert_eq!(fs::read(&disk).unwrap(), &content[..100]);

    let mut f = conn
        .open("share", "data.bin", OpenOptions::read_write_create())
        .unwrap();
    f.set_len(5000).unwrap();
    assert_eq!(f.info().size, 5000);
    let on_disk = fs::read(&disk).unwrap();
    assert_eq!(on_disk.len(), 5000);
    assert_eq!(&on_disk[..100], &content[..100]);
    assert!(
        on_disk[100..].iter().all(|&b| b == 0),
        "extended with zeros"
    );
    // Read back through the same handle: the new bytes are zeros there too.
    let mut back = Vec::new();
    f.read_to_end(&mut back).unwrap();
    assert_eq!(back, on_disk);
    f.set_len(0).unwrap();
    f.close().unwrap();
    assert_eq!(fs::metadata(&disk).unwrap().len(), 0);

    // A handle without write access may not change the size.
    let mut ro = conn.open("share", "data.bin", OpenOptions::read()).unwrap();
    let e = ro.set_len(10).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    drop(ro);

    // Directories and missing files are refused by name.
    fs::create_dir(srv.share_path("share").join("dir")).unwrap();
    let e = conn.truncate("share", "dir", 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::IsADirectory, "{e}");
    let e = conn.truncate("share", "missing.bin", 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // The async client's file: a write behind, then set_len after it.
    smol::block_on(async {
        use smol::io::AsyncWriteExt;
        let client = smb_asyncstd::connect(&srv.connect_options()).await.unwrap();
        let mut f = client
            .open(
                "share",
                "data.bin",
                smb_async::OpenOptions::read_write_create(),
            )
            .await
            .unwrap();
        f.write_all(&content).await.unwrap();
        f.set_len(3000).await.unwrap();
        f.close().await.unwrap();
        client.truncate("share", "data.bin", 2000).await.unwrap();
    });
    assert_eq!(fs::read(&disk).unwrap(), &content[..2000]);

    // The path API: `os.truncate` and `shutil.disk_usage` of a path.
    let share = smb_blocking::Share::on(conn.clone(), "share").unwrap();
    let p = share.path("data.bin");
    p.truncate(10).unwrap();
    assert_eq!(fs::read(&disk).unwrap(), &content[..10]);
    assert_eq!(p.disk_free().unwrap().volume_label, "Scratch Vol");
    let e = share.path("dir").truncate(0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::IsADirectory, "{e}");
}

#[test]
fn allocation_size_keeps_the_size_or_truncates_below_it() {
    let srv = server();
    let disk = srv.share_path("share").join("alloc.bin");
    fs::write(&disk, vec![7u8; 8192]).unwrap();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let mut f = conn
        .open("share", "alloc.bin", OpenOptions::read_write_create())
        .unwrap();
    f.set_allocation_size(1 << 20).unwrap();
    assert_eq!(fs::metadata(&disk).unwrap().len(), 8192, "the size stays");
    // Below the end of file, the file is cut there (MS-FSA 2.1.5.15.1).
    f.set_allocation_size(4096).unwrap();
    f.close().unwrap();
    assert_eq!(fs::read(&disk).unwrap(), vec![7u8; 4096]);
}

#[test]
fn delete_on_close_removes_the_file_when_closed_and_can_be_taken_back() {
    let srv = server();
    let root = srv.share_path("share");
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let mut o = OpenOptions::read_write_create();
    o.access |= access_mask::DELETE;

    let mut f = conn.open("share", "scratch.tmp", o).unwrap();
    f.write_all(b"temporary").unwrap();
    f.set_delete_on_close(true).unwrap();
    assert!(root.join("scratch.tmp").exists(), "still there while open");
    f.close().unwrap();
    assert!(!root.join("scratch.tmp").exists(), "gone at close");

    let mut f = conn.open("share", "kept.tmp", o).unwrap();
    f.set_delete_on_close(true).unwrap();
    f.set_delete_on_close(false).unwrap();
    f.close().unwrap();
    assert!(root.join("kept.tmp").exists(), "the mark was cleared");

    // Without DELETE access the server refuses the mark, and the file stays.
    let mut f = conn
        .open("share", "kept.tmp", OpenOptions::read_write_create())
        .unwrap();
    let e = f.set_delete_on_close(true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    f.close().unwrap();
    assert!(root.join("kept.tmp").exists());

    // A directory with something in it refuses the mark.
    fs::create_dir(root.join("full")).unwrap();
    fs::write(root.join("full/x"), b"x").unwrap();
    let dir_open = OpenOptions {
        access: access_mask::DELETE | access_mask::FILE_READ_ATTRIBUTES,
        disposition: smb_blocking::disposition::OPEN,
        create_options: smb_blocking::create_options::DIRECTORY_FILE,
        attributes: 0,
    };
    let mut d = conn.open("share", "full", dir_open).unwrap();
    let e = d.set_delete_on_close(true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotEmpty, "{e}");
    d.close().unwrap();
    assert!(root.join("full/x").exists());
}

#[test]
fn basic_info_through_a_handle_sets_the_time() {
    let srv = server();
    let disk = srv.share_path("share").join("t.txt");
    fs::write(&disk, b"t").unwrap();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    let mut f = conn
        .open("share", "t.txt", OpenOptions::read_write_create())
        .unwrap();
    f.set_basic_info(&FileBasicInformation {
        last_write_time: FileTime::from_system_time(when),
        ..Default::default()
    })
    .unwrap();
    f.close().unwrap();
    assert_eq!(fs::metadata(&disk).unwrap().modified().unwrap(), when);
}
