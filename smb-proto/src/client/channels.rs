//! Where a multichannel client binds its further channels, from the server's list of
//! interfaces ([`QueryInterfaces`](crate::ops::QueryInterfaces)).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use crate::wire::ioctl::{iface_capability, NetworkInterfaceInfo};

/// The addresses to bind further channels on, best first, at most `max`: of the
/// entries with an IPv4 or IPv6 address and a link speed, the first address of each
/// interface (entries with the same [`if_index`](NetworkInterfaceInfo::if_index) are
/// one interface, MS-SMB2 3.2.5.14.11), RDMA-capable interfaces first, then
/// RSS-capable ones, then by link speed, fastest first, and otherwise in the server's
/// order. Each gets `port`: the server never names one, and serves channels on the
/// port the first connection reached.
///
/// Samba reports every address with the same `if_index` (0xFFFFFFFF) unless its
/// `interfaces` line gives each one (`"ADDRESS;if_index=N,speed=S"`): those addresses
/// are then one interface, and only the first is a target.
///
/// ```
/// use smb_proto::client::channel_targets;
/// use smb_proto::wire::ioctl::{iface_capability, NetworkInterfaceInfo};
/// let nic = |if_index, capability, link_speed, address: &str| NetworkInterfaceInfo {
///     if_index,
///     capability,
///     link_speed,
///     address: Some(address.parse().unwrap()),
/// };
/// let list = [
///     nic(1, 0, 10_000_000_000, "192.0.2.1"),
///     nic(2, iface_capability::RSS_CAPABLE, 1_000_000_000, "192.0.2.2"),
///     nic(2, 0, 1_000_000_000, "2001:db8::2"), // interface 2 again
///     nic(3, 0, 0, "192.0.2.3"),               // no link
/// ];
/// let targets = channel_targets(&list, 445, 4);
/// let want: Vec<std::net::SocketAddr> =
///     vec!["192.0.2.2:445".parse().unwrap(), "192.0.2.1:445".parse().unwrap()];
/// assert_eq!(targets, want);
/// ```
pub fn channel_targets(
    interfaces: &[NetworkInterfaceInfo],
    port: u16,
    max: usize,
) -> Vec<SocketAddr> {
    let mut seen = HashSet::new();
    let mut picked: Vec<(&NetworkInterfaceInfo, IpAddr)> = interfaces
        .iter()
        .filter(|i| i.link_speed > 0)
        .filter_map(|i| Some((i, i.address?)))
        .filter(|(i, _)| seen.insert(i.if_index))
        .collect();
    // Stable: equal interfaces stay in the server's order.
    picked.sort_by_key(|(i, _)| {
        let lacks = |flag| i.capability & flag == 0;
        (
            lacks(iface_capability::RDMA_CAPABLE),
            lacks(iface_capability::RSS_CAPABLE),
            std::cmp::Reverse(i.link_speed),
        )
    });
    picked
        .into_iter()
        .take(max)
        .map(|(_, address)| SocketAddr::new(address, port))
        .collect()
}

/// The addresses to bind at most `room` further channels on: [`channel_targets`] less
/// `here`, the addresses the session's first connection reached (a channel there adds
/// no path).
///
/// ```
/// use smb_proto::client::channels_to_bind;
/// use smb_proto::wire::ioctl::NetworkInterfaceInfo;
/// let iface = |i: u32, ip: [u8; 4]| NetworkInterfaceInfo {
///     if_index: i, capability: 0, link_speed: 1_000_000_000, address: Some(ip.into()),
/// };
/// let listed = [iface(1, [192, 0, 2, 1]), iface(2, [192, 0, 2, 2])];
/// let here = ["192.0.2.1".parse().unwrap()];
/// assert_eq!(channels_to_bind(&listed, 445, &here, 4), ["192.0.2.2:445".parse().unwrap()]);
/// ```
pub fn channels_to_bind(
    interfaces: &[NetworkInterfaceInfo],
    port: u16,
    here: &[std::net::IpAddr],
    room: usize,
) -> Vec<SocketAddr> {
    channel_targets(interfaces, port, usize::MAX)
        .into_iter()
        .filter(|a| !here.contains(&a.ip()))
        .take(room)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use iface_capability::{RDMA_CAPABLE, RSS_CAPABLE};

    fn nic(if_index: u32, capability: u32, link_speed: u64, address: &str) -> NetworkInterfaceInfo {
        NetworkInterfaceInfo {
            if_index,
            capability,
            link_speed,
            address: Some(address.parse().unwrap()),
        }
    }

    fn targets(list: &[NetworkInterfaceInfo], max: usize) -> Vec<String> {
        channel_targets(list, 4455, max)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn rdma_comes_before_rss_before_speed_before_the_servers_order() {
        let list = [
            nic(1, 0, 1_000, "10.0.0.1"),
            nic(2, 0, 9_000, "10.0.0.2"),
            nic(3, RSS_CAPABLE, 1_000, "10.0.0.3"),
            nic(4, RDMA_CAPABLE, 10, "10.0.0.4"),
            nic(5, 0, 1_000, "10.0.0.5"),
            nic(6, RSS_CAPABLE | RDMA_CAPABLE, 10, "10.0.0.6"),
            nic(7, RSS_CAPABLE, 5_000, "10.0.0.7"),
        ];
        assert_eq!(
            targets(&list, 10),
            [
                "10.0.0.6:4455", // RDMA and RSS
                "10.0.0.4:4455", // RDMA
                "10.0.0.7:4455", // RSS, faster
                "10.0.0.3:4455", // RSS
                "10.0.0.2:4455", // fastest plain
                "10.0.0.1:4455", // equal speed: the server's order
                "10.0.0.5:4455",
            ]
        );
        assert_eq!(targets(&list, 2), ["10.0.0.6:4455", "10.0.0.4:4455"]);
        assert!(targets(&list, 0).is_empty());
    }

    #[test]
    fn one_address_per_interface_and_only_usable_ones() {
        let list = [
            NetworkInterfaceInfo {
                address: None,
                ..nic(1, RSS_CAPABLE, 100, "10.0.0.1")
            },
            nic(1, 0, 100, "fe80::1"),
            nic(1, 0, 100, "10.0.0.1"),
            nic(2, RSS_CAPABLE, 0, "10.0.0.2"),
            nic(2, 0, 10, "10.0.0.22"),
            nic(3, 0, 0, "10.0.0.3"),
        ];
        // Interface 1's first known address is its IPv6 one, with a port and brackets;
        // interface 2's first entry has no link, so its second stands for it; 3 has none.
        assert_eq!(targets(&list, 10), ["[fe80::1]:4455", "10.0.0.22:4455"]);
        assert!(targets(&[], 4).is_empty());
    }

    #[test]
    fn samba_without_if_index_is_one_interface() {
        let list = [
            nic(u32::MAX, 0, 1_000_000_000, "127.0.0.1"),
            nic(u32::MAX, 0, 1_000_000_000, "::1"),
        ];
        assert_eq!(targets(&list, 4), ["127.0.0.1:4455"]);
    }
}
