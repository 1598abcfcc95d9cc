//! NetBIOS name service datagrams, which anyone on the network can send: decoding never
//! panics nor allocates beyond what the datagram holds (counts are bounded, name
//! pointers cannot loop), and an exchange never takes a datagram from another address
//! for its answer.
#![no_main]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use smb_proto::netbios::packet::{NbAddress, NodeStatus, Packet};
use smb_proto::netbios::NameService;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::decode(data) {
        for rr in p.answers.iter().chain(&p.authority).chain(&p.additional) {
            let _ = NbAddress::decode_all(rr.rdata);
            let _ = NodeStatus::decode(rr.rdata);
        }
    }
    let now = Instant::now();
    let ip = Ipv4Addr::new(127, 0, 0, 3);
    // The datagram's own transaction id, so that matching goes past the first check.
    let id = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    let server = SocketAddr::from((ip, 137));
    let elsewhere = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 4), 137));
    let service = NameService::new();
    let mut lookup = service
        .name_query("FUZZ", ip, id, Duration::from_secs(1), now)
        .expect("a valid name");
    let _ = lookup.poll_transmit(now);
    assert!(!lookup.handle_datagram(elsewhere, data));
    let _ = lookup.handle_datagram(server, data);
    let mut status = service.node_status(ip, id, Duration::from_secs(1), now);
    let _ = status.poll_transmit(now);
    assert!(!status.handle_datagram(elsewhere, data));
    let _ = status.handle_datagram(server, data);
});
