//! Capture files and the layers under TCP: pcap and pcapng blocks (read with
//! pcap-parser, which streams either format), then the link layer (Ethernet with VLAN
//! tags, Linux cooked v1 and v2, raw IP, BSD loopback/null), IPv4 and IPv6, and the TCP
//! header, down to the [`Segment`]s the reassembly needs.
//!
//! Every byte here is untrusted: a packet that does not parse is skipped as "not TCP"
//! when nothing in it can be attributed to a connection, and otherwise comes back as a
//! segment marked incomplete, so the caller can report the connection's loss.

use std::cell::Cell;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{create_reader, Linktype, PcapBlockOwned, PcapError};

/// The reader's buffer: a few loopback frames of 64 KiB.
const INITIAL_BUFFER: usize = 1 << 20;
/// The largest block accepted. A packet block holds one frame, and capture tools cap
/// frames at 256 KiB; growing beyond this would let a corrupt length take all memory.
const MAX_BLOCK: usize = 64 << 20;

/// Why a capture file could not be read. Problems inside packets are not errors here:
/// they are reported per connection by the dissector.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Reading the file failed.
    #[error("reading the capture: {0}")]
    Io(#[from] io::Error),
    /// The file is neither pcap nor pcapng.
    #[error("not a pcap or pcapng file")]
    NotACapture,
    /// A block does not parse.
    #[error("malformed capture block at byte {0}")]
    Malformed(usize),
    /// The file ends inside a block.
    #[error("capture file ends inside a block at byte {0}")]
    Truncated(usize),
    /// A block claims more than `MAX_BLOCK` (64 MiB) bytes.
    #[error("capture block at byte {0} is larger than {MAX_BLOCK} bytes")]
    BlockTooLarge(usize),
    /// A pcapng packet names an interface its section did not describe.
    #[error("packet {frame} names interface {interface}, which the capture does not describe")]
    UnknownInterface {
        /// Frame number of the packet.
        frame: u64,
        /// Its interface id.
        interface: u32,
    },
}

/// Keeps the `io::Error` that pcap-parser reduces to `ReadError`, for the message.
struct KeepError<R> {
    inner: R,
    error: Rc<Cell<Option<io::Error>>>,
}

impl<R: Read> Read for KeepError<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let kind = e.kind();
                    self.error.set(Some(e));
                    return Err(kind.into());
                }
                ok => return ok,
            }
        }
    }
}

/// Calls `on_packet(frame, link type, bytes)` for every packet of a pcap or pcapng
/// capture, in file order. Frames are numbered from 1, as Wireshark numbers them.
pub fn read_packets<R: Read>(
    capture: R,
    mut on_packet: impl FnMut(u64, Linktype, &[u8]),
) -> Result<(), CaptureError> {
    let error = Rc::new(Cell::new(None));
    let source = KeepError {
        inner: capture,
        error: Rc::clone(&error),
    };
    let read_error =
        || CaptureError::Io(error.take().unwrap_or_else(|| io::ErrorKind::Other.into()));
    let mut reader = match create_reader(INITIAL_BUFFER, source) {
        Ok(r) => r,
        Err(PcapError::ReadError) => return Err(read_error()),
        Err(PcapError::Incomplete(_)) => return Err(CaptureError::Truncated(0)),
        Err(_) => return Err(CaptureError::NotACapture),
    };
    // pcapng: the link type of each interface of the current section, by interface id.
    let mut interfaces: Vec<Linktype> = Vec::new();
    let mut legacy_link = Linktype::ETHERNET;
    let mut frame = 0u64;
    let mut capacity = INITIAL_BUFFER;
    loop {
        match reader.next() {
            Ok((len, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy_link = h.network,
                    PcapBlockOwned::Legacy(b) => {
                        frame += 1;
                        on_packet(frame, legacy_link, b.data);
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push(idb.linktype)
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        frame += 1;
                        let link = interfaces.get(epb.if_id as usize).copied().ok_or(
                            CaptureError::UnknownInterface {
                                frame,
                                interface: epb.if_id,
                            },
                        )?;
                        on_packet(frame, link, epb.packet_data());
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        frame += 1;
                        let link =
                            interfaces
                                .first()
                                .copied()
                                .ok_or(CaptureError::UnknownInterface {
                                    frame,
                                    interface: 0,
                                })?;
                        on_packet(frame, link, spb.packet_data());
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(len);
            }
            Err(PcapError::Eof) => return Ok(()),
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    return Err(read_error());
                }
            }
            Err(PcapError::BufferTooSmall) => {
                if capacity >= MAX_BLOCK {
                    return Err(CaptureError::BlockTooLarge(reader.consumed()));
                }
                capacity = (capacity * 4).min(MAX_BLOCK);
                if !reader.grow(capacity) || reader.refill().is_err() {
                    return Err(read_error());
                }
            }
            Err(PcapError::UnexpectedEof) => {
                return Err(CaptureError::Truncated(reader.consumed()))
            }
            Err(PcapError::ReadError) => return Err(read_error()),
            Err(_) => return Err(CaptureError::Malformed(reader.consumed())),
        }
    }
}

/// One TCP segment as captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Sender address and port.
    pub src: SocketAddr,
    /// Receiver address and port.
    pub dst: SocketAddr,
    /// Sequence number of the first payload byte (or of the SYN).
    pub seq: u32,
    /// SYN flag.
    pub syn: bool,
    /// ACK flag (a SYN without it opens a connection).
    pub ack: bool,
    /// The payload bytes the capture holds.
    pub payload: &'a [u8],
    /// Whether `payload` is all the segment carried. False when the capture cut the
    /// packet short (snap length) or the packet is the first fragment of an IP datagram:
    /// either way bytes of the stream are missing.
    pub complete: bool,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88A8, 0x9100];
const IPPROTO_TCP: u8 = 6;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The TCP segment in a captured frame of link type `link`, or `None` for anything
/// else (other protocols, unknown link types, later IP fragments, headers cut short).
pub fn tcp_segment(link: Linktype, frame: &[u8]) -> Option<Segment<'_>> {
    match link {
        Linktype::ETHERNET => {
            let mut at = 12;
            let mut ethertype = be16(frame, at)?;
            while ETHERTYPE_VLAN.contains(&ethertype) {
                at += 4;
                ethertype = be16(frame, at)?;
            }
            by_ethertype(ethertype, frame.get(at + 2..)?)
        }
        // Linux cooked capture v1: protocol type at 14 of a 16-byte header.
        Linktype::LINUX_SLL => by_ethertype(be16(frame, 14)?, frame.get(16..)?),
        // v2: protocol type first, 20-byte header.
        Linktype::LINUX_SLL2 => by_ethertype(be16(frame, 0)?, frame.get(20..)?),
        // BSD loopback: a 4-byte address family in the capturing host's (NULL) or network
        // (LOOP) byte order, whose values differ across systems; the IP version says more.
        Linktype::NULL | Linktype::LOOP => ip(frame.get(4..)?),
        // LINKTYPE_RAW, its old DLT_RAW numbers 12 and 14, and the IPv4/IPv6-only types.
        Linktype::RAW | Linktype(12) | Linktype(14) | Linktype::IPV4 | Linktype::IPV6 => ip(frame),
        _ => None,
    }
}

fn by_ethertype(ethertype: u16, packet: &[u8]) -> Option<Segment<'_>> {
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => ip(packet),
        _ => None,
    }
}

fn ip(packet: &[u8]) -> Option<Segment<'_>> {
    match packet.first()? >> 4 {
        4 => ipv4(packet),
        6 => ipv6(packet),
        _ => None,
    }
}

fn ipv4(p: &[u8]) -> Option<Segment<'_>> {
    let ihl = usize::from(p.first()? & 0x0F) * 4;
    if ihl < 20 || *p.get(9)? != IPPROTO_TCP {
        return None;
    }
    let fragment = be16(p, 6)?;
    if fragment & 0x1FFF != 0 {
        // A later fragment: its ports are in the first one.
        return None;
    }
    let more_fragments = fragment & 0x2000 != 0;
    let src = Ipv4Addr::from(be32(p, 12)?);
    let dst = Ipv4Addr::from(be32(p, 16)?);
    // Total length 0 is what segmentation offload leaves in captures of large sends.
    let total = match usize::from(be16(p, 2)?) {
        0 => p.len(),
        n if n < ihl => return None,
        n => n,
    };
    tcp(
        src.into(),
        dst.into(),
        p.get(ihl..)?,
        total - ihl,
        !more_fragments,
    )
}

fn ipv6(p: &[u8]) -> Option<Segment<'_>> {
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(p.get(8..24)?).ok()?);
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(p.get(24..40)?).ok()?);
    // Payload length 0 means a jumbogram or offload: the rest of the frame.
    let mut len = match usize::from(be16(p, 4)?) {
        0 => p.len().saturating_sub(40),
        n => n,
    };
    let mut next = *p.get(6)?;
    let mut at = 40;
    let mut complete = true;
    loop {
        let ext_len = match next {
            IPPROTO_TCP => break,
            // Hop-by-hop, routing, destination options: 8-byte units after the first 8.
            0 | 43 | 60 => (usize::from(*p.get(at + 1)?) + 1) * 8,
            // Fragment header: later fragments carry no ports.
            44 => {
                let offset_flags = be16(p, at + 2)?;
                if offset_flags & 0xFFF8 != 0 {
                    return None;
                }
                complete = offset_flags & 1 == 0;
                8
            }
            // Authentication header: 4-byte units after the first 8.
            51 => (usize::from(*p.get(at + 1)?) + 2) * 4,
            _ => return None,
        };
        next = *p.get(at)?;
        at += ext_len;
        len = len.checked_sub(ext_len)?;
    }
    tcp(src.into(), dst.into(), p.get(at..)?, len, complete)
}

/// The TCP header and payload in `t`, whose IP layer claims `len` bytes (`t` may hold
/// fewer when the capture cut the packet, or more with link-layer padding).
fn tcp(src: IpAddr, dst: IpAddr, t: &[u8], len: usize, complete: bool) -> Option<Segment<'_>> {
    let data_offset = usize::from(t.get(12)? >> 4) * 4;
    if data_offset < 20 || len < data_offset {
        return None;
    }
    let flags = *t.get(13)?;
    let end = len.min(t.len());
    Some(Segment {
        src: SocketAddr::new(src, be16(t, 0)?),
        dst: SocketAddr::new(dst, be16(t, 2)?),
        seq: be32(t, 4)?,
        syn: flags & 0x02 != 0,
        ack: flags & 0x10 != 0,
        payload: t.get(data_offset..end).unwrap_or(&[]),
        complete: complete && end == len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4/TCP packet 10.0.0.1:50000 → 10.0.0.2:445, seq 7, PSH|ACK, payload "abc".
    fn ipv4_tcp() -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 43, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p.extend_from_slice(&50000u16.to_be_bytes());
        p.extend_from_slice(&445u16.to_be_bytes());
        p.extend_from_slice(&7u32.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x18, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(b"abc");
        p
    }

    fn check(seg: Option<Segment<'_>>) {
        let seg = seg.expect("a TCP segment");
        assert_eq!(seg.src, "10.0.0.1:50000".parse().unwrap());
        assert_eq!(seg.dst, "10.0.0.2:445".parse().unwrap());
        assert_eq!((seg.seq, seg.syn, seg.ack), (7, false, true));
        assert_eq!(seg.payload, b"abc");
        assert!(seg.complete);
    }

    #[test]
    fn every_link_type_reaches_the_same_segment() {
        let ip = ipv4_tcp();
        let with = |prefix: &[u8]| [prefix, &ip].concat();
        let mut eth = vec![0; 12];
        eth.extend_from_slice(&[0x81, 0x00, 0, 5, 0x08, 0x00]); // one VLAN tag
        check(tcp_segment(Linktype::ETHERNET, &with(&eth)));
        let mut sll = vec![0; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        check(tcp_segment(Linktype::LINUX_SLL, &with(&sll)));
        let mut sll2 = vec![0x08, 0x00];
        sll2.resize(20, 0);
        check(tcp_segment(Linktype::LINUX_SLL2, &with(&sll2)));
        check(tcp_segment(Linktype::NULL, &with(&[2, 0, 0, 0])));
        check(tcp_segment(Linktype::LOOP, &with(&[0, 0, 0, 2])));
        check(tcp_segment(Linktype::RAW, &ip));
        // Ethernet padding after the IP datagram is not payload.
        let mut padded = with(&[&[0u8; 12][..], &[0x08, 0x00]].concat());
        padded.extend_from_slice(&[0; 6]);
        check(tcp_segment(Linktype::ETHERNET, &padded));
    }

    #[test]
    fn ipv6_with_an_extension_header() {
        let tcp_part = &ipv4_tcp()[20..];
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&((8 + tcp_part.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 64]); // next header: hop-by-hop
        p.extend_from_slice(&[0; 15]);
        p.push(1); // ::1
        p.extend_from_slice(&[0; 15]);
        p.push(2); // ::2
        p.extend_from_slice(&[IPPROTO_TCP, 0, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(tcp_part);
        let seg = tcp_segment(Linktype::IPV6, &p).expect("segment");
        assert_eq!(seg.dst, "[::2]:445".parse().unwrap());
        assert_eq!(seg.payload, b"abc");
        assert!(seg.complete);
    }

    #[test]
    fn cut_packets_and_fragments_are_incomplete_and_garbage_is_skipped() {
        let ip = ipv4_tcp();
        let cut = tcp_segment(Linktype::RAW, &ip[..ip.len() - 1]).expect("segment");
        assert_eq!((cut.payload, cut.complete), (&b"ab"[..], false));
        let mut first_fragment = ip.clone();
        first_fragment[6] = 0x20; // MF
        assert!(
            !tcp_segment(Linktype::RAW, &first_fragment)
                .unwrap()
                .complete
        );
        let mut later_fragment = ip.clone();
        later_fragment[7] = 1;
        assert_eq!(tcp_segment(Linktype::RAW, &later_fragment), None);
        for n in 0..40 {
            let _ = tcp_segment(Linktype::RAW, &ip[..n]);
            let _ = tcp_segment(Linktype::ETHERNET, &ip[..n]);
            let _ = tcp_segment(Linktype::IPV6, &ip[..n]);
        }
        assert_eq!(tcp_segment(Linktype(9999), &ip), None);
    }

    #[test]
    fn reads_legacy_pcap_and_rejects_garbage() {
        // A little-endian pcap header (LINKTYPE_RAW) and one record holding `ipv4_tcp`.
        let ip = ipv4_tcp();
        let mut file = Vec::new();
        file.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        file.extend_from_slice(&2u16.to_le_bytes());
        file.extend_from_slice(&4u16.to_le_bytes());
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&65535u32.to_le_bytes());
        file.extend_from_slice(&101u32.to_le_bytes());
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&(ip.len() as u32).to_le_bytes());
        file.extend_from_slice(&(ip.len() as u32).to_le_bytes());
        file.extend_from_slice(&ip);
        let mut seen = Vec::new();
        read_packets(&file[..], |frame, link, data| {
            seen.push(frame);
            check(tcp_segment(link, data));
        })
        .unwrap();
        assert_eq!(seen, [1]);
        assert!(matches!(
            read_packets(&file[..file.len() - 1], |_, _, _| {}),
            Err(CaptureError::Truncated(_))
        ));
        assert!(matches!(
            read_packets(&b"definitely not a capture file"[..], |_, _, _| {}),
            Err(CaptureError::NotACapture)
        ));
    }
}
