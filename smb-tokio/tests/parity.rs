//! The tokio client gives the blocking client's results, operation by operation, errors
//! included, on the same server and the same files.

use std::fmt::Debug;

use smb_tests::fixtures::{data, sha256};
use smb_tests::{SambaServer, Share};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// An entry without its times: files the scenario creates get new times on each run.
fn strip(e: &smb_proto::FileInfo) -> (String, u64, u32) {
    (e.name.clone(), e.size, e.attributes)
}

fn sorted(mut v: Vec<smb_proto::FileInfo>) -> Vec<(String, u64, u32)> {
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v.iter().map(strip).collect()
}

/// One step's outcome as the transcript shows it (both drivers return the same error type).
fn shown<T: Debug>(r: Result<T, smb_proto::client::ClientError>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(smb_proto::client::ClientError::Smb(e)) => format!("err {e}"),
        Err(e) => format!("{:?} {}", e.kind(), e.errno()),
    }
}

const UPLOAD: usize = 300_000;

fn upload() -> Vec<u8> {
    data(UPLOAD, 3)
}

fn blocking_scenario(srv: &SambaServer) -> Vec<String> {
    use smb_blocking::{Connection, OpenOptions};
    use std::io::{Read, Seek, SeekFrom, Write};
    let c = Connection::connect(&srv.connect_options()).expect("blocking connect");
    let mut out = vec![
        format!("guest {} signing {}", c.is_guest(), c.is_signing()),
        format!("dialect {}", c.negotiated().dialect),
        shown(c.echo()),
        shown(c.list_path("share", "", "*").map(sorted)),
        shown(c.list_path("share", "dir", "*.txt").map(sorted)),
        shown(c.get_attributes("share", "dir/a.txt").map(|e| strip(&e))),
        shown(c.get_attributes("share", "dir/missing")),
    ];
    for (offset, max) in [(0, None), (3, Some(5)), (10_000, None)] {
        let mut v = Vec::new();
        let r = c.retrieve_file_from_offset("share", "dir/a.txt", &mut v, offset, max);
        out.push(shown(r.map(|n| (n, v))));
    }
    let mut v = Vec::new();
    out.push(shown(c.retrieve_file("share", "dir/missing", &mut v)));
    out.push(shown(c.create_directory("share", "new")));
    out.push(shown(c.create_directory("share", "new")));
    out.push(shown(c.store_file(
        "share",
        "new/up.bin",
        &mut &upload()[..],
    )));
    let mut v = Vec::new();
    out.push(shown(
        c.retrieve_file("share", "new/up.bin", &mut v)
            .map(|n| (n, sha256(&v))),
    ));
    out.push(shown(c.rename("share", "new/up.bin", "new/moved.bin")));
    out.push(shown(c.rename("share", "dir/a.txt", "dir/b.txt")));
    {
        let mut f = c
            .open("share", "new/moved.bin", OpenOptions::read_write_create())
            .expect("open");
        out.push(format!(
            "{:?}",
            f.seek(SeekFrom::Start(UPLOAD as u64 - 10)).ok()
        ));
        let mut v = Vec::new();
        out.push(format!("{:?} {v:?}", f.read_to_end(&mut v).ok()));
        out.push(format!("{:?}", f.write_all(b"tail").ok()));
        out.push(format!("{:?}", f.seek(SeekFrom::End(-4)).ok()));
        let mut v = Vec::new();
        out.push(format!("{:?} {v:?}", f.read_to_end(&mut v).ok()));
        out.push(format!("size {}", f.info().size));
        out.push(shown(f.close()));
    }
    out.push(shown(
        c.open("share", "dir/missing", OpenOptions::read())
            .map(drop),
    ));
    out.push(shown(c.delete_files("share", "new/*.bin")));
    out.push(shown(c.delete_files("share", "new/*.bin")));
    out.push(shown(c.delete_directory("share", "dir")));
    out.push(shown(c.delete_directory("share", "new")));
    out.push(shown(c.list_path("share", "new", "*")));
    out.push(shown(c.close()));
    out
}

async fn tokio_scenario(srv: &SambaServer) -> Vec<String> {
    use smb_tokio::{Client, OpenOptions};
    use std::io::SeekFrom;
    let c = Client::connect(&srv.connect_options())
        .await
        .expect("tokio connect");
    let mut out = vec![
        format!("guest {} signing {}", c.is_guest(), c.is_signing()),
        format!("dialect {}", c.negotiated().dialect),
        shown(c.echo().await),
        shown(c.list_path("share", "", "*").await.map(sorted)),
        shown(c.list_path("share", "dir", "*.txt").await.map(sorted)),
        shown(
            c.get_attributes("share", "dir/a.txt")
                .await
                .map(|e| strip(&e)),
        ),
        shown(c.get_attributes("share", "dir/missing").await),
    ];
    for (offset, max) in [(0, None), (3, Some(5)), (10_000, None)] {
        let mut v = Vec::new();
        let r = c
            .retrieve_file_from_offset("share", "dir/a.txt", &mut v, offset, max)
            .await;
        out.push(shown(r.map(|n| (n, v))));
    }
    let mut v = Vec::new();
    out.push(shown(c.retrieve_file("share", "dir/missing", &mut v).await));
    out.push(shown(c.create_directory("share", "new").await));
    out.push(shown(c.create_directory("share", "new").await));
    out.push(shown(
        c.store_file("share", "new/up.bin", &mut &upload()[..])
            .await,
    ));
    let mut v = Vec::new();
    out.push(shown(
        c.retrieve_file("share", "new/up.bin", &mut v)
            .await
            .map(|n| (n, sha256(&v))),
    ));
    out.push(shown(
        c.rename("share", "new/up.bin", "new/moved.bin").await,
    ));
    out.push(shown(c.rename("share", "dir/a.txt", "dir/b.txt").await));
    {
        let mut f = c
            .open("share", "new/moved.bin", OpenOptions::read_write_create())
            .await
            .expect("open");
        out.push(format!(
            "{:?}",
            f.seek(SeekFrom::Start(UPLOAD as u64 - 10)).await.ok()
        ));
        let mut v = Vec::new();
        out.push(format!("{:?} {v:?}", f.read_to_end(&mut v).await.ok()));
        out.push(format!("{:?}", f.write_all(b"tail").await.ok()));
        out.push(format!("{:?}", f.seek(SeekFrom::End(-4)).await.ok()));
        let mut v = Vec::new();
        out.push(format!("{:?} {v:?}", f.read_to_end(&mut v).await.ok()));
        out.push(format!("size {}", f.info().size));
        out.push(shown(f.close().await));
    }
    out.push(shown(
        c.open("share", "dir/missing", OpenOptions::read())
            .await
            .map(drop),
    ));
    out.push(shown(c.delete_files("share", "new/*.bin").await));
    out.push(shown(c.delete_files("share", "new/*.bin").await));
    out.push(shown(c.delete_directory("share", "dir").await));
    out.push(shown(c.delete_directory("share", "new").await));
    out.push(shown(c.list_path("share", "new", "*").await));
    out.push(shown(c.close().await));
    out
}

#[test]
fn every_async_operation_matches_the_blocking_one() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let root = srv.share_path("share");
    std::fs::create_dir(root.join("dir")).unwrap();
    std::fs::write(root.join("dir/a.txt"), b"hello, parity").unwrap();
    std::fs::write(root.join("dir/b.txt"), b"bbb").unwrap();
    std::fs::write(root.join("dir/c.dat"), vec![1u8; 1000]).unwrap();
    std::fs::write(root.join("top.txt"), b"top").unwrap();

    let blocking = blocking_scenario(&srv);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tokio = rt.block_on(tokio_scenario(&srv));
    println!("{}", blocking.join("\n"));
    assert_eq!(blocking.len(), tokio.len());
    for (i, (b, t)) in blocking.iter().zip(&tokio).enumerate() {
        assert_eq!(b, t, "step {i} differs");
    }
    // Spot checks that the transcript says what it should.
    assert!(blocking[5].contains("\"a.txt\", 13"), "{}", blocking[5]);
    assert!(blocking[6].starts_with("err stat"), "{}", blocking[6]);
    assert!(
        blocking.iter().any(|l| l.contains("[116, 97, 105, 108]")),
        "{blocking:#?}"
    );

    // Full metadata, times included, of a file neither run touched.
    let bc = smb_blocking::Connection::connect(&srv.connect_options()).unwrap();
    let bi = bc.get_attributes("share", "top.txt").unwrap();
    let ti = rt.block_on(async {
        let c = smb_tokio::Client::connect(&srv.connect_options())
            .await
            .unwrap();
        c.get_attributes("share", "top.txt").await.unwrap()
    });
    assert_eq!(bi, ti);
}
