//! Durable handles v2 against Samba (configured for them: `durable handles = yes`,
//! `kernel oplocks = no`, `kernel share modes = no`, `posix locking = no`): a file
//! opened with a handle lease on SMB 3.x is durable; after its connection is cut, a new
//! connection reclaims it (DH2C with the lease again) and reads through the reclaimed
//! handle what was written before the cut. A reclaim with the wrong CreateGuid fails.

use std::io::Write;
use std::thread;
use std::time::Duration;

use smb_blocking::{Connection, ErrorKind, LeaseState, OpenOptions};
use smb_proto::ops::{self, Reclaim};
use smb_tests::fault::{Fault, FaultProxy};
use smb_tests::{SambaServer, Share};

const SHARE: &str = "share";
const RWH: u32 = LeaseState::R | LeaseState::W | LeaseState::H;

fn server() -> SambaServer {
    SambaServer::builder()
        .global("durable handles", "yes")
        .global("kernel oplocks", "no")
        .global("kernel share modes", "no")
        .global("posix locking", "no")
        .share(Share::new(SHARE))
        .start()
}

#[test]
fn a_durable_handle_is_reclaimed_on_a_new_connection_after_a_cut() {
    let srv = server();
    let proxy = FaultProxy::start(srv.addr(), Fault::None);
    let mut opts = srv.connect_options();
    opts.port = proxy.port();
    opts.timeout = Duration::from_secs(3);
    let first = Connection::connect(&opts).unwrap();
    let mut f = first
        .open_leased(SHARE, "durable.bin", OpenOptions::read_write_create(), RWH)
        .unwrap();
    f.write_all(b"written before the cut").unwrap();
    f.flush().unwrap();
    let opens = first.durable_opens();
    assert_eq!(opens.len(), 1, "Samba granted no durable handle");
    let open = opens[0].clone();
    assert!(open.timeout > 0, "a durable handle granted with no timeout");
    assert!(
        open.lease.is_some(),
        "the durable open's lease was not kept"
    );

    // The connection dies without a LOGOFF or CLOSE: the proxy drops it.
    drop(proxy);
    thread::sleep(Duration::from_millis(400));
    let err = first.echo().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    std::mem::forget(f); // its CLOSE would go nowhere

    // A reclaim is refused to another client (MS-SMB2 3.3.5.9.12): the new connection
    // presents the lost one's ClientGuid.
    let other = Connection::connect(&srv.connect_options()).unwrap();
    let err = other.call(Reclaim::new(open.clone())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let mut again = srv.connect_options();
    again.client_guid = Some(first.client_guid());
    let second = Connection::connect(&again).unwrap();
    let mut wrong = open.clone();
    wrong.create_guid[0] ^= 0xff;
    let err = second.call(Reclaim::new(wrong)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    let (handle, info) = second.call(Reclaim::new(open.clone())).unwrap();
    assert_eq!(info.size, 22);
    assert_eq!(handle.file_id.persistent, open.file_id.persistent);
    let data = second.call(ops::Read::new(handle, 0, 100)).unwrap();
    assert_eq!(&data[..], b"written before the cut");
    let reclaimed = second.durable_opens();
    assert_eq!(reclaimed.len(), 1, "the reclaimed open is durable again");
    assert_eq!(reclaimed[0].file_id, handle.file_id);
    second.call(ops::Close(handle)).unwrap();
    assert!(
        second.durable_opens().is_empty(),
        "CLOSE forgets durability"
    );
}

/// Bytes of the file cut while it downloads: 64 MiB (the 1 GiB is too slow for
/// CI; the resume logic does not depend on the size).
const BIG: usize = 64 * 1024 * 1024;
/// Where the proxy cuts the answers of each of the first three connections: 16 MiB, so
/// each of them is cut (less than 48 MiB is through when the third starts) and the
/// download finishes on the fourth.
const CUT_AT: u64 = 16 * 1024 * 1024;

#[test]
fn a_download_cut_three_times_resumes_byte_identical() {
    let srv = server();
    let want = smb_tests::fixtures::data(BIG, 11);
    std::fs::write(srv.share_path(SHARE).join("big.bin"), &want).unwrap();
    let cut = Fault::Cut(smb_tests::fault::Direction::ToClient, CUT_AT);
    let proxy = FaultProxy::start_first(srv.addr(), cut, 3);
    let mut opts = srv.connect_options();
    opts.port = proxy.port();
    opts.timeout = Duration::from_secs(5);
    let conn = Connection::connect(&opts).unwrap();
    let mut got = Vec::new();
    let n = conn.retrieve_file(SHARE, "big.bin", &mut got).unwrap();
    assert_eq!(n, BIG as u64);
    assert_eq!(conn.reconnects(), 3);
    assert!(got == want, "the resumed download differs");

    // Reconnect off: the first cut fails the download.
    let proxy = FaultProxy::start(srv.addr(), cut);
    opts.port = proxy.port();
    opts.reconnect = None;
    let conn = Connection::connect(&opts).unwrap();
    let err = conn
        .retrieve_file(SHARE, "big.bin", &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert_eq!(conn.reconnects(), 0);
}

#[test]
fn a_recorded_download_reconnects_and_the_recording_keeps_the_lost_connection_whole() {
    let srv = server();
    const SIZE: usize = 4 * 1024 * 1024;
    let want = smb_tests::fixtures::data(SIZE, 5);
    std::fs::write(srv.share_path(SHARE).join("rec.bin"), &want).unwrap();
    let cut = Fault::Cut(smb_tests::fault::Direction::ToClient, 1024 * 1024);
    let proxy = FaultProxy::start_first(srv.addr(), cut, 1);
    let (target, buffer) = smb_proto::client::RecordTarget::memory();
    let mut opts = srv.connect_options().record(target);
    opts.port = proxy.port();
    opts.timeout = Duration::from_secs(5);
    let conn = Connection::connect(&opts).unwrap();
    let mut got = Vec::new();
    // Before the reconnection skipped recording, the second connection asked the
    // spent record target for its writer and failed.
    assert_eq!(
        conn.retrieve_file(SHARE, "rec.bin", &mut got).unwrap(),
        SIZE as u64
    );
    assert_eq!(conn.reconnects(), 1);
    assert!(got == want, "the resumed download differs");
    drop(conn);

    // The recording is the first connection, whole: it parses, ends where the server's
    // side was cut, and replays up to the cut with no network.
    let rec = smb_proto::replay::Recording::parse(&buffer.text()).unwrap();
    assert_eq!(
        rec.records.last(),
        Some(&smb_proto::replay::Record::ServerClosed)
    );
    assert!(rec.received_len() <= 1024 * 1024, "{}", rec.received_len());
    let replayed = Connection::replay(&smb_proto::replay::Replay::new(rec).unwrap()).unwrap();
    let err = replayed
        .retrieve_file(SHARE, "rec.bin", &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
}

#[test]
fn an_upload_cut_three_times_resumes_byte_identical_over_a_longer_file() {
    let srv = server();
    let want = smb_tests::fixtures::data(BIG, 12);
    // A longer file is there first: the upload replaces it, so a resume that kept its
    // tail (or wrote into it without the first CREATE's truncation) shows in the size.
    let on_disk = srv.share_path(SHARE).join("up.bin");
    std::fs::write(&on_disk, smb_tests::fixtures::data(BIG + BIG / 4, 13)).unwrap();
    let cut = Fault::Cut(smb_tests::fault::Direction::ToServer, CUT_AT);
    let proxy = FaultProxy::start_first(srv.addr(), cut, 3);
    let mut opts = srv.connect_options();
    opts.port = proxy.port();
    opts.timeout = Duration::from_secs(5);
    let conn = Connection::connect(&opts).unwrap();
    let mut reports = Vec::new();
    let n = conn
        .store_file_with_progress(SHARE, "up.bin", &mut &want[..], &mut |done, _| {
            reports.push(done)
        })
        .unwrap();
    assert_eq!(n, BIG as u64);
    assert_eq!(conn.reconnects(), 3);
    let got = std::fs::read(&on_disk).unwrap();
    assert_eq!(got.len(), BIG);
    assert!(got == want, "the resumed upload differs");
    // Progress counts acknowledged bytes: it never goes back across the resumes.
    assert!(
        reports.windows(2).all(|w| w[0] <= w[1]),
        "progress went back"
    );
    assert_eq!(reports.last(), Some(&(BIG as u64)));

    // Cut early, before the first WRITE can be acknowledged, then later in the file:
    // an upload from an offset resumes too, and leaves what is before it alone.
    let proxy = FaultProxy::start_first(
        srv.addr(),
        Fault::Cut(smb_tests::fault::Direction::ToServer, 4000),
        2,
    );
    opts.port = proxy.port();
    let conn = Connection::connect(&opts).unwrap();
    let tail = smb_tests::fixtures::data(3 * 1024 * 1024, 14);
    let next = conn
        .store_file_from_offset(SHARE, "up.bin", &mut &tail[..], 1000, false)
        .unwrap();
    assert_eq!(next, 1000 + tail.len() as u64);
    assert!(conn.reconnects() >= 1);
    let got = std::fs::read(&on_disk).unwrap();
    assert_eq!(got.len(), BIG);
    assert!(got[..1000] == want[..1000] && got[1000..1000 + tail.len()] == tail[..]);
    assert!(got[1000 + tail.len()..] == want[1000 + tail.len()..]);

    // Reconnect off: the first cut fails the upload.
    let proxy = FaultProxy::start(srv.addr(), cut);
    opts.port = proxy.port();
    opts.reconnect = None;
    let conn = Connection::connect(&opts).unwrap();
    let err = conn
        .store_file(SHARE, "up.bin", &mut &want[..])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
}

/// A download and an upload of [`BIG`] bytes, each cut three times, on an async client
/// (`connect` makes it on the runtime the caller runs): both end byte-identical and the
/// client counts three reconnections for each.
async fn async_get_and_put_survive_three_cuts(
    srv: &SambaServer,
    connect: impl AsyncFn(&smb_proto::client::ConnectOptions) -> smb_async::Client,
) {
    let want = smb_tests::fixtures::data(BIG, 21);
    std::fs::write(srv.share_path(SHARE).join("abig.bin"), &want).unwrap();
    let cut = Fault::Cut(smb_tests::fault::Direction::ToClient, CUT_AT);
    let proxy = FaultProxy::start_first(srv.addr(), cut, 3);
    let mut opts = srv.connect_options();
    opts.port = proxy.port();
    opts.timeout = Duration::from_secs(5);
    let client = connect(&opts).await;
    let got = client
        .retrieve_file_to_vec(SHARE, "abig.bin")
        .await
        .unwrap();
    assert_eq!(client.reconnects(), 3);
    assert!(got == want, "the resumed download differs");

    let up = smb_tests::fixtures::data(BIG, 22);
    let cut = Fault::Cut(smb_tests::fault::Direction::ToServer, CUT_AT);
    let proxy = FaultProxy::start_first(srv.addr(), cut, 3);
    opts.port = proxy.port();
    let client = connect(&opts).await;
    let n = client
        .store_file(SHARE, "aup.bin", &mut &up[..])
        .await
        .unwrap();
    assert_eq!(n, BIG as u64);
    assert_eq!(client.reconnects(), 3);
    let on_disk = std::fs::read(srv.share_path(SHARE).join("aup.bin")).unwrap();
    assert!(on_disk == up, "the resumed upload differs");
    // The client goes on working on its last connection.
    assert_eq!(
        client.echo_data(b"still here").await.unwrap(),
        b"still here"
    );
}

#[test]
fn an_async_get_and_put_cut_three_times_resume_on_tokio() {
    let srv = server();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async_get_and_put_survive_three_cuts(&srv, async |opts| {
        let client = smb_tokio::Client::connect(opts).await.unwrap();
        (*client).clone()
    }));
}

#[test]
fn an_async_get_and_put_cut_three_times_resume_on_smol() {
    let srv = server();
    smol::block_on(async_get_and_put_survive_three_cuts(&srv, async |opts| {
        smb_asyncstd::connect(opts).await.unwrap()
    }));
}

#[test]
fn after_a_cut_an_open_durable_file_sessions_and_stats_go_on_transparently() {
    use std::io::{Read, Seek, SeekFrom};
    let srv = server();
    let proxy = FaultProxy::start(srv.addr(), Fault::None);
    let mut opts = srv.connect_options();
    opts.port = proxy.port();
    opts.timeout = Duration::from_secs(3);
    let conn = Connection::connect(&opts).unwrap();
    let extra = conn
        .add_session(smb_blocking::Credentials::password(
            "",
            srv.user(),
            srv.password(),
        ))
        .unwrap();
    let mut f = conn
        .open_leased(SHARE, "live.bin", OpenOptions::read_write_create(), RWH)
        .unwrap();
    f.write_all(b"before the cut;").unwrap();
    assert_eq!(
        conn.durable_opens().len(),
        1,
        "Samba granted no durable handle"
    );

    // The network drops the connection: nothing on the client side says so until the
    // next request finds it gone.
    proxy.cut_connections();
    f.write_all(b" after it").unwrap();
    assert_eq!(conn.reconnects(), 1);
    let reclaimed = conn.durable_opens();
    assert_eq!(reclaimed.len(), 1, "the file's open was not reclaimed");
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut text = String::new();
    f.read_to_string(&mut text).unwrap();
    assert_eq!(text, "before the cut; after it");
    assert_eq!(f.stat().unwrap().size, 24);
    f.close().unwrap();
    assert_eq!(
        std::fs::read(srv.share_path(SHARE).join("live.bin")).unwrap(),
        b"before the cut; after it"
    );
    // The added session logged in again with its slot; a stat and a listing cut in
    // flight are asked again.
    assert_eq!(extra.list_path(SHARE, "", "*").unwrap().len(), 1);
    proxy.cut_connections();
    assert_eq!(conn.get_attributes(SHARE, "live.bin").unwrap().size, 24);
    assert_eq!(conn.reconnects(), 2);
    proxy.cut_connections();
    assert_eq!(extra.list_path(SHARE, "", "*").unwrap().len(), 1);
    assert_eq!(conn.reconnects(), 3);
}

#[test]
fn after_a_cut_an_async_durable_file_sessions_and_stats_go_on_on_smol() {
    use smol::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
    let srv = server();
    let proxy = FaultProxy::start(srv.addr(), Fault::None);
    let mut opts = srv.connect_options();
    opts.port = proxy.port();
    opts.timeout = Duration::from_secs(3);
    smol::block_on(async {
        let client = smb_asyncstd::connect(&opts).await.unwrap();
        let creds = smb_blocking::Credentials::password("", srv.user(), srv.password());
        let extra = client.add_session(creds).await.unwrap();
        let mut f = client
            .open_leased(SHARE, "alive.bin", OpenOptions::read_write_create(), RWH)
            .await
            .unwrap();
        f.write_all(b"before the cut;").await.unwrap();
        f.flush().await.unwrap();

        proxy.cut_connections();
        // A leased file writes through: the write finds the connection gone, the client
        // makes it again, reclaims the handle and writes through it.
        f.write_all(b" after it").await.unwrap();
        f.flush().await.unwrap();
        assert_eq!(client.reconnects(), 1);
        f.seek(std::io::SeekFrom::Start(0)).await.unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "before the cut; after it");
        f.close().await.unwrap();

        assert_eq!(extra.list_path(SHARE, "", "*").await.unwrap().len(), 1);
        proxy.cut_connections();
        let info = client.get_attributes(SHARE, "alive.bin").await.unwrap();
        assert_eq!(info.size, 24);
        assert_eq!(client.reconnects(), 2);
    });
    assert_eq!(
        std::fs::read(srv.share_path(SHARE).join("alive.bin")).unwrap(),
        b"before the cut; after it"
    );
}

/// Files of the many-file transfers cut below: 24 of 1 MiB, so a cut at 8 MiB into
/// each of the first two connections leaves files moved and files not.
const MANY: usize = 24;

fn many_files(seed: u64) -> Vec<Vec<u8>> {
    (0..MANY as u64)
        .map(|i| smb_tests::fixtures::data(1 << 20, seed + i))
        .collect()
}

#[test]
fn many_file_transfers_cut_twice_finish_every_file_whole() {
    let srv = server();
    let local = std::env::temp_dir().join(format!("smb-many-{}", std::process::id()));
    std::fs::create_dir_all(local.join("up")).unwrap();
    std::fs::create_dir_all(local.join("down")).unwrap();
    let ups = many_files(100);
    let mut puts = Vec::new();
    for (i, d) in ups.iter().enumerate() {
        let p = local.join("up").join(format!("f{i:02}.bin"));
        std::fs::write(&p, d).unwrap();
        puts.push((p, format!("m{i:02}.bin")));
    }
    std::fs::create_dir(srv.share_path(SHARE).join("many")).unwrap();
    let mut opts = srv.connect_options();
    opts.timeout = Duration::from_secs(5);

    let cut = Fault::Cut(smb_tests::fault::Direction::ToServer, 8 << 20);
    let proxy = FaultProxy::start_first(srv.addr(), cut, 2);
    opts.port = proxy.port();
    let conn = Connection::connect(&opts).unwrap();
    let bytes = conn.store_files(SHARE, &puts).unwrap();
    assert_eq!(bytes, (MANY << 20) as u64, "bytes counted across the runs");
    assert_eq!(conn.reconnects(), 2);
    for (i, d) in ups.iter().enumerate() {
        let got = std::fs::read(srv.share_path(SHARE).join(format!("m{i:02}.bin"))).unwrap();
        assert!(got == *d, "uploaded file {i} differs");
    }

    let cut = Fault::Cut(smb_tests::fault::Direction::ToClient, 8 << 20);
    let proxy = FaultProxy::start_first(srv.addr(), cut, 2);
    opts.port = proxy.port();
    let conn = Connection::connect(&opts).unwrap();
    let gets: Vec<(String, std::path::PathBuf)> = (0..MANY)
        .map(|i| {
            (
                format!("m{i:02}.bin"),
                local.join("down").join(format!("g{i:02}.bin")),
            )
        })
        .collect();
    let bytes = conn.retrieve_files(SHARE, &gets).unwrap();
    assert_eq!(bytes, (MANY << 20) as u64);
    assert_eq!(conn.reconnects(), 2);
    for (i, d) in ups.iter().enumerate() {
        assert!(
            std::fs::read(&gets[i].1).unwrap() == *d,
            "downloaded file {i} differs"
        );
    }
    // Nothing half-written is left beside the targets.
    let left = std::fs::read_dir(local.join("down")).unwrap().count();
    assert_eq!(left, MANY);

    // The same on the async client (smol), into a fresh directory.
    let proxy = FaultProxy::start_first(srv.addr(), cut, 2);
    opts.port = proxy.port();
    let again: Vec<(String, std::path::PathBuf)> = (0..MANY)
        .map(|i| (format!("m{i:02}.bin"), local.join(format!("a{i:02}.bin"))))
        .collect();
    smol::block_on(async {
        let client = smb_asyncstd::connect(&opts).await.unwrap();
        assert_eq!(
            client.retrieve_files(SHARE, &again).await.unwrap(),
            (MANY << 20) as u64
        );
        assert_eq!(client.reconnects(), 2);
    });
    for (i, d) in ups.iter().enumerate() {
        assert!(
            std::fs::read(&again[i].1).unwrap() == *d,
            "async file {i} differs"
        );
    }
    let _ = std::fs::remove_dir_all(&local);
}
