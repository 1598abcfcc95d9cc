//! SMB 3.x multichannel against Samba: a second connection binds to the session as a
//! channel, a large download is striped over both (each carries data, counted by a
//! relay in front of the channel), and a channel cut in the middle leaves its spans to
//! the other: the file still arrives byte for byte.

use std::net::SocketAddr;

use smb_blocking::{ConnectOptions, Connection, ErrorKind};
use smb_tests::fault::{Direction, Fault, FaultProxy};
use smb_tests::fixtures::{data, sha256};
use smb_tests::{SambaServer, Share};

const SHARE: &str = "share";
const MIB: usize = 1024 * 1024;

/// Samba with multichannel on 127.0.0.1 alone: it lists no other address, so a
/// connection binds no channel by itself, and the tests bind theirs through relays.
fn server() -> SambaServer {
    SambaServer::builder()
        .multichannel(false)
        .share(Share::new(SHARE))
        .start()
}

/// Samba with multichannel on 127.0.0.1 and 127.0.0.2, listing both.
fn two_address_server() -> SambaServer {
    SambaServer::builder()
        .multichannel(true)
        .share(Share::new(SHARE))
        .start()
}

fn options(srv: &SambaServer) -> ConnectOptions {
    srv.connect_options().multichannel(1)
}

/// The server's SMB port, as a relay target.
fn second(srv: &SambaServer) -> SocketAddr {
    srv.addr()
}

fn put_file(srv: &SambaServer, name: &str, len: usize) -> [u8; 32] {
    let content = data(len, 7);
    std::fs::write(srv.share_path(SHARE).join(name), &content).unwrap();
    sha256(&content)
}

#[test]
fn a_download_is_striped_over_a_bound_channel() {
    let srv = server();
    let digest = put_file(&srv, "big.bin", 64 * MIB);
    let relay = FaultProxy::start(second(&srv), Fault::None);
    let conn = Connection::connect(&options(&srv)).unwrap();
    conn.add_channel(SocketAddr::from(([127, 0, 0, 1], relay.port())))
        .unwrap();
    assert_eq!(conn.channels(), 1);
    let mut got = Vec::new();
    let n = conn.retrieve_file(SHARE, "big.bin", &mut got).unwrap();
    assert_eq!(n, (64 * MIB) as u64);
    assert_eq!(sha256(&got), digest);
    // The channel carried a real share of the data, not just its binding.
    let through_channel = relay.forwarded(Direction::ToClient);
    assert!(
        through_channel > (8 * MIB) as u64,
        "{through_channel} bytes through the channel"
    );
    assert!(
        through_channel < (60 * MIB) as u64,
        "the first connection carried little"
    );
    // Operations on the first connection go on, and a second download stripes again.
    conn.echo().unwrap();
    let mut again = Vec::new();
    conn.retrieve_file(SHARE, "big.bin", &mut again).unwrap();
    assert_eq!(sha256(&again), digest);
}

#[test]
fn a_channel_cut_mid_download_leaves_its_spans_to_the_other() {
    let srv = server();
    let digest = put_file(&srv, "cut.bin", 96 * MIB);
    // The channel's relay closes it after 20 MiB of answers.
    let relay = FaultProxy::start(
        second(&srv),
        Fault::Cut(Direction::ToClient, 20 * MIB as u64),
    );
    let conn = Connection::connect(&options(&srv)).unwrap();
    conn.add_channel(SocketAddr::from(([127, 0, 0, 1], relay.port())))
        .unwrap();
    let mut got = Vec::new();
    let n = conn.retrieve_file(SHARE, "cut.bin", &mut got).unwrap();
    assert_eq!(n, (96 * MIB) as u64);
    assert_eq!(sha256(&got), digest, "byte-identical after the cut");
    assert_eq!(conn.channels(), 0, "the lost channel is dropped");
    // The session goes on on the first connection.
    let mut small = Vec::new();
    conn.retrieve_file(SHARE, "cut.bin", &mut small).unwrap();
    assert_eq!(sha256(&small), digest);
}

#[test]
fn the_first_connection_cut_mid_download_leaves_its_spans_to_the_channel() {
    let srv = server();
    let digest = put_file(&srv, "first.bin", 96 * MIB);
    let primary = FaultProxy::start(srv.addr(), Fault::Cut(Direction::ToClient, 24 * MIB as u64));
    let mut opts = options(&srv);
    opts.port = primary.port();
    let conn = Connection::connect(&opts).unwrap();
    let relay = FaultProxy::start(second(&srv), Fault::None);
    conn.add_channel(SocketAddr::from(([127, 0, 0, 1], relay.port())))
        .unwrap();
    let mut got = Vec::new();
    let n = conn.retrieve_file(SHARE, "first.bin", &mut got).unwrap();
    assert_eq!(n, (96 * MIB) as u64);
    assert_eq!(sha256(&got), digest);
    // The first connection carried at most 24 MiB: the channel took the rest.
    let through_channel = relay.forwarded(Direction::ToClient);
    assert!(
        through_channel > (70 * MIB) as u64,
        "{through_channel} bytes through the channel"
    );
}

#[test]
fn a_connection_binds_a_channel_on_each_other_address_the_server_lists() {
    let srv = two_address_server();
    let digest = put_file(&srv, "auto.bin", 48 * MIB);
    let conn = Connection::connect(&options(&srv)).unwrap();
    assert_eq!(conn.channels(), 1, "127.0.0.2 bound as a channel");
    // No more than the option allows, and none on the first connection's address.
    assert_eq!(conn.add_channels().unwrap(), 0);
    let mut got = Vec::new();
    conn.retrieve_file(SHARE, "auto.bin", &mut got).unwrap();
    assert_eq!(sha256(&got), digest);
    // Without the option, no channel.
    let plain = Connection::connect(&srv.connect_options()).unwrap();
    assert_eq!(plain.channels(), 0);
}

#[test]
fn a_channel_needs_multichannel_negotiated_and_names_why() {
    let srv = server();
    // Multichannel not asked for: the session cannot have channels.
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let err = conn.add_channel(second(&srv)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.to_string().contains("multichannel"), "{err}");
}

#[test]
fn an_upload_is_striped_over_a_bound_channel_and_survives_its_cut() {
    let srv = server();
    let content = data(80 * MIB + 12_345, 9);
    let relay = FaultProxy::start(second(&srv), Fault::None);
    let conn = Connection::connect(&options(&srv)).unwrap();
    conn.add_channel(SocketAddr::from(([127, 0, 0, 1], relay.port())))
        .unwrap();
    let n = conn.store_file(SHARE, "up.bin", &mut &content[..]).unwrap();
    assert_eq!(n, content.len() as u64);
    let on_disk = std::fs::read(srv.share_path(SHARE).join("up.bin")).unwrap();
    assert_eq!(sha256(&on_disk), sha256(&content));
    let through_channel = relay.forwarded(Direction::ToServer);
    assert!(
        through_channel > (8 * MIB) as u64,
        "{through_channel} bytes through the channel"
    );

    // A channel whose requests are cut after 4 MiB: its spans go to the first
    // connection, and the file on the server is the input, byte for byte.
    let cutting = FaultProxy::start(
        second(&srv),
        Fault::Cut(Direction::ToServer, 4 * MIB as u64),
    );
    conn.add_channel(SocketAddr::from(([127, 0, 0, 1], cutting.port())))
        .unwrap();
    assert_eq!(conn.channels(), 2);
    let other = data(96 * MIB, 10);
    let n = conn
        .store_file(SHARE, "cut-up.bin", &mut &other[..])
        .unwrap();
    assert_eq!(n, other.len() as u64);
    let on_disk = std::fs::read(srv.share_path(SHARE).join("cut-up.bin")).unwrap();
    assert_eq!(
        sha256(&on_disk),
        sha256(&other),
        "byte-identical after the cut"
    );
    assert_eq!(
        conn.channels(),
        1,
        "the cut channel is dropped, the other stays"
    );
    assert!(
        cutting.forwarded(Direction::ToServer) >= 4 * MIB as u64,
        "cut mid-upload"
    );
}

#[test]
fn a_channel_gone_silent_times_out_and_leaves_its_spans_to_the_other() {
    let srv = server();
    let digest = put_file(&srv, "silent.bin", 64 * MIB);
    // The channel's answers stop after 6 MiB while its connection stays open.
    let relay = FaultProxy::start(
        second(&srv),
        Fault::Stall(Direction::ToClient, 6 * MIB as u64),
    );
    let mut opts = options(&srv);
    opts.timeout = std::time::Duration::from_secs(2);
    let conn = Connection::connect(&opts).unwrap();
    conn.add_channel(SocketAddr::from(([127, 0, 0, 1], relay.port())))
        .unwrap();
    let mut got = Vec::new();
    let n = conn.retrieve_file(SHARE, "silent.bin", &mut got).unwrap();
    assert_eq!(n, (64 * MIB) as u64);
    assert_eq!(sha256(&got), digest);
    assert_eq!(conn.channels(), 0, "the silent channel is dropped");
}

/// A channel bound before the session connected a share that demands encryption: the
/// striped transfer's requests on it are encrypted on every channel (Samba refuses
/// them in the clear), both ways.
#[test]
fn striping_on_a_share_that_demands_encryption_encrypts_on_every_channel() {
    let srv = SambaServer::builder()
        .multichannel(false)
        .share(Share::new("secret").option("smb encrypt", "required"))
        .start();
    let relay = FaultProxy::start(second(&srv), Fault::None);
    let conn = Connection::connect(&options(&srv)).unwrap();
    // Bound first: the channel knows no tree of the share yet.
    conn.add_channel(SocketAddr::from(([127, 0, 0, 1], relay.port())))
        .unwrap();
    let content = data(48 * MIB, 11);
    let n = conn
        .store_file("secret", "enc.bin", &mut &content[..])
        .unwrap();
    assert_eq!(n, content.len() as u64);
    let on_disk = std::fs::read(srv.share_path("secret").join("enc.bin")).unwrap();
    assert_eq!(sha256(&on_disk), sha256(&content));
    let mut got = Vec::new();
    conn.retrieve_file("secret", "enc.bin", &mut got).unwrap();
    assert_eq!(sha256(&got), sha256(&content));
    assert!(
        relay.forwarded(Direction::ToServer) > (8 * MIB) as u64,
        "the channel wrote a share"
    );
    assert_eq!(conn.channels(), 1);
}
