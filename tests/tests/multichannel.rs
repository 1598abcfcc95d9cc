//! Multichannel against Samba: the server's network interfaces as its `interfaces`
//! line describes them (FSCTL_QUERY_NETWORK_INTERFACE_INFO), the addresses a client
//! would bind further channels on, and the status of a server that does not do
//! multichannel.
//!
//! Samba answers the FSCTL whenever `server multi channel support` is on, whether or
//! not the client's NEGOTIATE offered SMB2_GLOBAL_CAP_MULTI_CHANNEL, so these tests
//! need no multichannel setting on the client.

use std::net::{IpAddr, SocketAddr};

use smb_blocking::{Connection, NtStatus};
use smb_proto::client::channel_targets;
use smb_proto::ops::QueryInterfaces;
use smb_proto::wire::ioctl::{iface_capability, NetworkInterfaceInfo};
use smb_test_server::{SambaServer, Share};

const SHARE: &str = "share";
/// Two loopback addresses as two interfaces (the harness's `multichannel(true)`): 101
/// at 10 Gb/s with RSS, 102 at 1 Gb/s, both at the same port.
fn server(multichannel: bool) -> SambaServer {
    let builder = SambaServer::builder().share(Share::new(SHARE));
    let builder = if multichannel {
        builder.multichannel(true)
    } else {
        builder.global("server multi channel support", "no")
    };
    builder.start()
}

fn nic(if_index: u32, capability: u32, link_speed: u64, address: [u8; 4]) -> NetworkInterfaceInfo {
    NetworkInterfaceInfo {
        if_index,
        capability,
        link_speed,
        address: Some(IpAddr::from(address)),
    }
}

#[test]
fn the_server_lists_its_configured_interfaces_and_both_are_channel_targets() {
    let srv = server(true);
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let mut listed = conn.call(QueryInterfaces::new()).unwrap();
    listed.sort_by_key(|i| i.if_index);
    assert_eq!(
        listed,
        [
            nic(
                101,
                iface_capability::RSS_CAPABLE,
                10_000_000_000,
                [127, 0, 0, 1]
            ),
            nic(102, 0, 1_000_000_000, [127, 0, 0, 2]),
        ]
    );
    // Any tree of the session will do.
    let mut on_share = conn.call(QueryInterfaces::on_share(SHARE)).unwrap();
    on_share.sort_by_key(|i| i.if_index);
    assert_eq!(on_share, listed);

    let port = srv.port();
    let targets = channel_targets(&listed, port, 4);
    let at = |a: [u8; 4]| SocketAddr::from((a, port));
    assert_eq!(targets, [at([127, 0, 0, 1]), at([127, 0, 0, 2])]);
    assert_eq!(channel_targets(&listed, port, 1), [at([127, 0, 0, 1])]);

    // The second target serves SMB at the first connection's port.
    let mut opts = srv.connect_options();
    opts.host = "127.0.0.2".into();
    let second = Connection::connect(&opts).unwrap();
    second.echo().unwrap();
}

#[test]
fn a_server_without_multichannel_fails_the_query_with_its_status() {
    let srv = server(false);
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    // Samba 4.17 says the same on IPC$ as on a disk share.
    let err = conn.call(QueryInterfaces::new()).unwrap_err();
    assert_eq!(
        err.status(),
        Some(NtStatus::INVALID_DEVICE_REQUEST),
        "{err}"
    );
    let err = conn.call(QueryInterfaces::on_share(SHARE)).unwrap_err();
    assert_eq!(
        err.status(),
        Some(NtStatus::INVALID_DEVICE_REQUEST),
        "{err}"
    );
    // The connection goes on.
    conn.echo().unwrap();
}
