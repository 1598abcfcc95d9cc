//! Name service packets (RFC 1002 4.2): the general format every packet shares, the
//! two requests a client sends (NAME QUERY REQUEST, NODE STATUS REQUEST) and the
//! RDATA of their answers.
//!
//! Fields are big-endian. [`Packet::decode`] reads any name service packet, bounded by
//! the datagram: counts are checked against the bytes left before anything is
//! allocated, names go through the loop-free pointer rules of
//! [`decode_name`](super::name), and every failure is a [`DecodeError`].

use std::fmt;
use std::net::Ipv4Addr;

use super::name::{decode_name, NetBiosName, ScopedName};
use crate::wire::codec::{DecodeError, Reader};

/// NAME_SERVICE_UDP_PORT (RFC 1002 6).
pub const NAME_SERVICE_PORT: u16 = 137;

/// A receive buffer this long holds any UDP datagram whole, so none is cut short.
pub const MAX_DATAGRAM_LEN: usize = 65_535;

/// OPCODE values (RFC 1002 4.2.1.1).
pub mod opcode {
    /// Query (name query, node status).
    pub const QUERY: u8 = 0x0;
    /// Registration.
    pub const REGISTRATION: u8 = 0x5;
    /// Release.
    pub const RELEASE: u8 = 0x6;
    /// WACK (wait for acknowledgement).
    pub const WACK: u8 = 0x7;
    /// Refresh.
    pub const REFRESH: u8 = 0x8;
}

/// NM_FLAGS bits, as the 7-bit field of RFC 1002 4.2.1.1 (`AA TC RD RA 0 0 B`).
pub mod nm_flags {
    /// Authoritative answer.
    pub const AUTHORITATIVE_ANSWER: u8 = 0x40;
    /// Truncation: the packet did not fit in the datagram.
    pub const TRUNCATION: u8 = 0x20;
    /// Recursion desired: set by pysmb (and `nmblookup --recursion`) on its queries.
    pub const RECURSION_DESIRED: u8 = 0x10;
    /// Recursion available (in responses of a name server).
    pub const RECURSION_AVAILABLE: u8 = 0x08;
    /// Broadcast.
    pub const BROADCAST: u8 = 0x01;
}

/// RR_TYPE and QUESTION_TYPE values (RFC 1002 4.2.1.2, 4.2.1.3).
pub mod rr_type {
    /// IP address.
    pub const A: u16 = 0x0001;
    /// Name server.
    pub const NS: u16 = 0x0002;
    /// NULL, in negative responses.
    pub const NULL: u16 = 0x000A;
    /// NetBIOS general name service.
    pub const NB: u16 = 0x0020;
    /// NetBIOS node status.
    pub const NBSTAT: u16 = 0x0021;
}

/// The Internet class, the only one the name service uses (RFC 1002 4.2.1.2).
pub const CLASS_IN: u16 = 0x0001;

/// A response's RCODE (RFC 1002 4.2.1.1; meanings per packet in 4.2.6–4.2.18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rcode(pub u8);

impl Rcode {
    /// No error.
    pub const OK: Rcode = Rcode(0x0);
    /// FMT_ERR: the request was badly formatted.
    pub const FORMAT_ERROR: Rcode = Rcode(0x1);
    /// SRV_ERR: the server could not process the request.
    pub const SERVER_FAILURE: Rcode = Rcode(0x2);
    /// NAM_ERR: the name does not exist.
    pub const NAME_ERROR: Rcode = Rcode(0x3);
    /// IMP_ERR: unsupported request.
    pub const UNSUPPORTED: Rcode = Rcode(0x4);
    /// RFS_ERR: refused for policy reasons.
    pub const REFUSED: Rcode = Rcode(0x5);
    /// ACT_ERR: the name is active (registration).
    pub const ACTIVE: Rcode = Rcode(0x6);
    /// CFT_ERR: the name is in conflict.
    pub const CONFLICT: Rcode = Rcode(0x7);
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match *self {
            Rcode::OK => "no error",
            Rcode::FORMAT_ERROR => "format error (FMT_ERR)",
            Rcode::SERVER_FAILURE => "server failure (SRV_ERR)",
            Rcode::NAME_ERROR => "requested name does not exist (NAM_ERR)",
            Rcode::UNSUPPORTED => "unsupported request (IMP_ERR)",
            Rcode::REFUSED => "refused (RFS_ERR)",
            Rcode::ACTIVE => "name active elsewhere (ACT_ERR)",
            Rcode::CONFLICT => "name in conflict (CFT_ERR)",
            Rcode(other) => return write!(f, "RCODE {other:#x}"),
        };
        f.write_str(what)
    }
}

/// The 12-byte header (RFC 1002 4.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// NAME_TRN_ID: the requester's choice, echoed by the responder.
    pub transaction_id: u16,
    /// R: a response.
    pub response: bool,
    /// OPCODE (see [`opcode`]).
    pub opcode: u8,
    /// NM_FLAGS (see [`nm_flags`]).
    pub nm_flags: u8,
    /// RCODE.
    pub rcode: Rcode,
    /// QDCOUNT.
    pub question_count: u16,
    /// ANCOUNT.
    pub answer_count: u16,
    /// NSCOUNT.
    pub authority_count: u16,
    /// ARCOUNT.
    pub additional_count: u16,
}

impl Header {
    /// Bytes on the wire.
    pub const LEN: usize = 12;

    /// Whether NM_FLAGS has `flag` (see [`nm_flags`]).
    pub fn has(&self, flag: u8) -> bool {
        self.nm_flags & flag != 0
    }

    /// Appends the header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let control = (u16::from(self.response) << 15)
            | (u16::from(self.opcode & 0x0F) << 11)
            | (u16::from(self.nm_flags & 0x7F) << 4)
            | u16::from(self.rcode.0 & 0x0F);
        for field in [
            self.transaction_id,
            control,
            self.question_count,
            self.answer_count,
            self.authority_count,
            self.additional_count,
        ] {
            out.extend_from_slice(&field.to_be_bytes());
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let transaction_id = be16(r, "NAME_TRN_ID")?;
        let control = be16(r, "OPCODE, NM_FLAGS and RCODE")?;
        Ok(Header {
            transaction_id,
            response: control & 0x8000 != 0,
            opcode: ((control >> 11) & 0x0F) as u8,
            nm_flags: ((control >> 4) & 0x7F) as u8,
            rcode: Rcode((control & 0x0F) as u8),
            question_count: be16(r, "QDCOUNT")?,
            answer_count: be16(r, "ANCOUNT")?,
            authority_count: be16(r, "NSCOUNT")?,
            additional_count: be16(r, "ARCOUNT")?,
        })
    }

    /// A query request's header with one question.
    fn query(transaction_id: u16, nm_flags: u8) -> Self {
        Header {
            transaction_id,
            response: false,
            opcode: opcode::QUERY,
            nm_flags,
            rcode: Rcode::OK,
            question_count: 1,
            answer_count: 0,
            authority_count: 0,
            additional_count: 0,
        }
    }
}

/// A question entry (RFC 1002 4.2.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionEntry {
    /// QUESTION_NAME.
    pub name: ScopedName,
    /// QUESTION_TYPE (see [`rr_type`]).
    pub question_type: u16,
    /// QUESTION_CLASS.
    pub question_class: u16,
}

/// A resource record (RFC 1002 4.2.1.3); RDATA stays a slice of the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRecord<'a> {
    /// RR_NAME.
    pub name: ScopedName,
    /// RR_TYPE (see [`rr_type`]).
    pub rr_type: u16,
    /// RR_CLASS.
    pub rr_class: u16,
    /// TTL in seconds.
    pub ttl: u32,
    /// RDATA, RDLENGTH bytes.
    pub rdata: &'a [u8],
}

/// Any name service packet (RFC 1002 4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The header.
    pub header: Header,
    /// The question section.
    pub questions: Vec<QuestionEntry>,
    /// The answer section.
    pub answers: Vec<ResourceRecord<'a>>,
    /// The authority section.
    pub authority: Vec<ResourceRecord<'a>>,
    /// The additional section.
    pub additional: Vec<ResourceRecord<'a>>,
}

/// Fewest bytes a question takes: a 2-byte pointer for its name, type and class.
const MIN_QUESTION: usize = 2 + 4;
/// Fewest bytes a resource record takes: a pointer, type, class, TTL and RDLENGTH.
const MIN_RECORD: usize = 2 + 10;

impl<'a> Packet<'a> {
    /// Decodes one datagram. Bytes after the last record are ignored, as senders pad.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] for a datagram shorter than its counts and lengths say, a
    /// malformed or looping name, or a count that could not fit in what is left.
    pub fn decode(datagram: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(datagram);
        let header = Header::decode(&mut r)?;
        let mut pos = r.pos();
        let questions = bounded(header.question_count, MIN_QUESTION, datagram, pos)?;
        let mut questions = Vec::with_capacity(questions);
        for _ in 0..header.question_count {
            let (name, next) = decode_name(datagram, pos)?;
            let mut r = Reader::at(datagram, next, "question")?;
            questions.push(QuestionEntry {
                name,
                question_type: be16(&mut r, "QUESTION_TYPE")?,
                question_class: be16(&mut r, "QUESTION_CLASS")?,
            });
            pos = r.pos();
        }
        let mut sections = [Vec::new(), Vec::new(), Vec::new()];
        let counts = [
            header.answer_count,
            header.authority_count,
            header.additional_count,
        ];
        for (records, count) in sections.iter_mut().zip(counts) {
            records.reserve_exact(bounded(count, MIN_RECORD, datagram, pos)?);
            for _ in 0..count {
                let (name, next) = decode_name(datagram, pos)?;
                let mut r = Reader::at(datagram, next, "resource record")?;
                let rr_type = be16(&mut r, "RR_TYPE")?;
                let rr_class = be16(&mut r, "RR_CLASS")?;
                let ttl = u32::from_be_bytes(r.array("TTL")?);
                let rdlength = be16(&mut r, "RDLENGTH")?;
                let rdata = r.bytes(rdlength.into(), "RDATA")?;
                records.push(ResourceRecord {
                    name,
                    rr_type,
                    rr_class,
                    ttl,
                    rdata,
                });
                pos = r.pos();
            }
        }
        let [answers, authority, additional] = sections;
        Ok(Packet {
            header,
            questions,
            answers,
            authority,
            additional,
        })
    }
}

/// `count` entries of at least `min` bytes each must fit in what follows `pos`; the
/// count is then safe to allocate for.
fn bounded(count: u16, min: usize, datagram: &[u8], pos: usize) -> Result<usize, DecodeError> {
    let count = usize::from(count);
    let have = datagram.len().saturating_sub(pos);
    if count * min > have {
        return Err(DecodeError::Truncated {
            what: "name service section",
            offset: pos,
            need: count * min,
            have,
        });
    }
    Ok(count)
}

fn be16(r: &mut Reader<'_>, what: &'static str) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(r.array(what)?))
}

/// NAME QUERY REQUEST (RFC 1002 4.2.12): which addresses hold `name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameQueryRequest {
    /// NAME_TRN_ID.
    pub transaction_id: u16,
    /// The name asked for.
    pub name: NetBiosName,
    /// RD. pysmb sets it; nmbd, like Windows, then stays silent instead of answering
    /// negatively when it does not hold the name and is no WINS server.
    pub recursion_desired: bool,
    /// B: the request is broadcast.
    pub broadcast: bool,
}

impl NameQueryRequest {
    /// Appends the request.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut flags = 0;
        if self.recursion_desired {
            flags |= nm_flags::RECURSION_DESIRED;
        }
        if self.broadcast {
            flags |= nm_flags::BROADCAST;
        }
        Header::query(self.transaction_id, flags).encode(out);
        self.name.encode(out);
        out.extend_from_slice(&rr_type::NB.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
    }
}

/// NODE STATUS REQUEST (RFC 1002 4.2.17): which names a node holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeStatusRequest {
    /// NAME_TRN_ID.
    pub transaction_id: u16,
    /// The name asked about: [`NetBiosName::wildcard`] for "whoever you are".
    pub name: NetBiosName,
}

impl NodeStatusRequest {
    /// Appends the request (no flags, as `nmblookup -A` sends it).
    pub fn encode(&self, out: &mut Vec<u8>) {
        Header::query(self.transaction_id, 0).encode(out);
        self.name.encode(out);
        out.extend_from_slice(&rr_type::NBSTAT.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
    }
}

/// NB_FLAGS bit G: a group name (RFC 1002 4.2.1.3).
const GROUP: u16 = 0x8000;

/// One address of a positive name query response, with its NB_FLAGS (RFC 1002
/// 4.2.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NbAddress {
    /// NB_FLAGS: G (group name) and ONT (owner node type).
    pub flags: u16,
    /// NB_ADDRESS.
    pub address: Ipv4Addr,
}

impl NbAddress {
    /// Whether the name is a group name (a workgroup's) rather than one host's.
    pub fn is_group(&self) -> bool {
        self.flags & GROUP != 0
    }

    /// ONT: 0 B node, 1 P node, 2 M node, 3 H node (Microsoft's use of the reserved
    /// value).
    pub fn owner_node_type(&self) -> u8 {
        ((self.flags >> 13) & 3) as u8
    }

    /// The RDATA of a positive name query response: 6 bytes per address.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Invalid`] when RDLENGTH is no multiple of 6.
    pub fn decode_all(rdata: &[u8]) -> Result<Vec<NbAddress>, DecodeError> {
        if !rdata.len().is_multiple_of(6) {
            return Err(DecodeError::invalid(
                "name query response RDLENGTH",
                rdata.len() as u64,
            ));
        }
        Ok(rdata
            .chunks_exact(6)
            .map(|e| NbAddress {
                flags: u16::from_be_bytes([e[0], e[1]]),
                address: Ipv4Addr::new(e[2], e[3], e[4], e[5]),
            })
            .collect())
    }
}

/// One entry of a node's name table, with its NAME_FLAGS (RFC 1002 4.2.18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeName {
    /// The name and its suffix.
    pub name: NetBiosName,
    /// NAME_FLAGS: G, ONT, DRG, CNF, ACT, PRM.
    pub flags: u16,
}

impl NodeName {
    /// G: a group name.
    pub fn is_group(&self) -> bool {
        self.flags & GROUP != 0
    }

    /// ONT, as for [`NbAddress::owner_node_type`].
    pub fn owner_node_type(&self) -> u8 {
        ((self.flags >> 13) & 3) as u8
    }

    /// DRG: being deregistered.
    pub fn is_deregistering(&self) -> bool {
        self.flags & 0x1000 != 0
    }

    /// CNF: in conflict.
    pub fn is_in_conflict(&self) -> bool {
        self.flags & 0x0800 != 0
    }

    /// ACT: active (nmbd and Windows set it on every name they answer for).
    pub fn is_active(&self) -> bool {
        self.flags & 0x0400 != 0
    }

    /// PRM: the permanent node name.
    pub fn is_permanent(&self) -> bool {
        self.flags & 0x0200 != 0
    }
}

/// The RDATA of a NODE STATUS RESPONSE (RFC 1002 4.2.18): the node's names and,
/// from the statistics that follow them, its UNIT_ID (the MAC address; nmbd sends
/// zeros).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// NODE_NAME entries, in the node's order.
    pub names: Vec<NodeName>,
    /// UNIT_ID, when the statistics are there.
    pub unit_id: Option<[u8; 6]>,
}

/// Bytes of one NODE_NAME entry: 16 of name, 2 of flags.
const NODE_NAME_LEN: usize = 18;

impl NodeStatus {
    /// Decodes the RDATA: NUM_NAMES, the entries, then the statistics, of which only
    /// UNIT_ID is read (and missing statistics are tolerated, as they say nothing about
    /// the names).
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] when NUM_NAMES entries do not fit in RDATA.
    pub fn decode(rdata: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(rdata);
        let count = usize::from(r.u8("NUM_NAMES")?);
        let entries = r.bytes(count * NODE_NAME_LEN, "NODE_NAME array")?;
        let names = entries
            .chunks_exact(NODE_NAME_LEN)
            .map(|e| {
                let mut raw = [0u8; 16];
                raw.copy_from_slice(&e[..16]);
                NodeName {
                    name: NetBiosName::from_raw(raw),
                    flags: u16::from_be_bytes([e[16], e[17]]),
                }
            })
            .collect();
        Ok(NodeStatus {
            names,
            unit_id: r.array("UNIT_ID").ok(),
        })
    }

    /// The distinct names (without suffix or padding) in the node's order: its own
    /// name, then its workgroup's, and so on; what pysmb's `queryIPForName` returns,
    /// except that pysmb keeps only names with suffix 0x20 (filter [`NodeStatus::names`]
    /// for that).
    pub fn distinct_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in &self.names {
            let name = n.name.name();
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Traffic between nmblookup 4.17 (127.0.0.1) and nmbd 4.17 on 127.0.0.3
    // (`netbios name = SOMENAME`, `workgroup = TESTGROUP`), captured with tshark on
    // loopback: tests/data/netbios/nbns_nmblookup.pcapng, frame numbers below.

    /// Frame 1: `nmblookup -A 127.0.0.3`, a node status request for `*`.
    pub(crate) const NODE_STATUS_REQ: &str = "073e 0000 0001 0000 0000 0000
        20 434b41414141414141414141414141414141414141414141414141414141414100 0021 0001";
    /// Frame 2: its response, five names and zero statistics.
    pub(crate) const NODE_STATUS_RESP: &str = "073e 8400 0000 0001 0000 0000
        20 434b41414141414141414141414141414141414141414141414141414141414100 0021 0001
        00000000 0089 05
        534f4d454e414d45202020202020200004 00
        534f4d454e414d45202020202020200304 00
        534f4d454e414d45202020202020202004 00
        5445535447524f555020202020202000 8400
        5445535447524f55502020202020201e 8400
        0000000000000000000000000000000000000000000000
        0000000000000000000000000000000000000000000000";
    /// Frame 3: `nmblookup -U 127.0.0.3 SOMENAME`, no RD, suffix 0x00.
    const QUERY_REQ_NO_RD: &str = "2cfb 0000 0001 0000 0000 0000
        20 46444550454e4546454f4542454e454643414341434143414341434143414141 00 0020 0001";
    /// Frame 4: its positive response, 127.0.0.3, a unique name.
    pub(crate) const QUERY_RESP: &str = "2cfb 8580 0000 0001 0000 0000
        20 46444550454e4546454f4542454e454643414341434143414341434143414141 00 0020 0001
        0003f480 0006 0000 7f000003";
    /// Frame 5: `nmblookup -U 127.0.0.3 --recursion SOMENAME#20`, RD set as pysmb sets it.
    pub(crate) const QUERY_REQ_RD: &str = "18da 0100 0001 0000 0000 0000
        20 46444550454e4546454f4542454e454643414341434143414341434143414341 00 0020 0001";
    /// Frame 8: the positive response for the group name TESTGROUP<1e>.
    const GROUP_RESP: &str = "2098 8580 0000 0001 0000 0000
        20 464545464644464545484643455046464641434143414341434143414341424f 00 0020 0001
        0003f480 0006 8000 7f000003";
    /// Frame 12: the negative response to NOSUCHNAME<00> asked without RD.
    pub(crate) const NEGATIVE_RESP: &str = "54b6 8583 0000 0001 0000 0000
        20 454f45504644464645444549454f4542454e454643414341434143414341414100 000a 0001
        00000000 0000";
    /// Frame 13: nmbd's broadcast registration of __MSBROWSE__<01>, whose additional
    /// record names the question through a label string pointer (`c00c`).
    const REGISTRATION: &str = "1394 2910 0001 0000 0000 0001
        20 4142414346504650454e464445434643455046484644454646504650414341 42 00 0020 0001
        c00c 0020 0001 00000000 0006 8000 7f000003";

    #[test]
    fn requests_encode_as_nmblookup_sends_them() {
        let mut out = Vec::new();
        NodeStatusRequest {
            transaction_id: 0x073e,
            name: NetBiosName::wildcard(),
        }
        .encode(&mut out);
        assert_eq!(out, hex(NODE_STATUS_REQ));
        out.clear();
        NameQueryRequest {
            transaction_id: 0x2cfb,
            name: NetBiosName::new("somename", 0x00).unwrap(),
            recursion_desired: false,
            broadcast: false,
        }
        .encode(&mut out);
        assert_eq!(out, hex(QUERY_REQ_NO_RD));
        out.clear();
        NameQueryRequest {
            transaction_id: 0x18da,
            name: NetBiosName::parse("SOMENAME").unwrap(),
            recursion_desired: true,
            broadcast: false,
        }
        .encode(&mut out);
        assert_eq!(out, hex(QUERY_REQ_RD));
        let p = Packet::decode(&out).unwrap();
        assert!(!p.header.response && p.header.has(nm_flags::RECURSION_DESIRED));
        assert_eq!(p.questions[0].name.name.to_string(), "SOMENAME<20>");
    }

    #[test]
    fn positive_name_query_responses_decode() {
        let msg = hex(QUERY_RESP);
        let p = Packet::decode(&msg).unwrap();
        assert_eq!(p.header.transaction_id, 0x2cfb);
        assert!(p.header.response && p.header.has(nm_flags::AUTHORITATIVE_ANSWER));
        assert_eq!(
            (p.header.opcode, p.header.rcode),
            (opcode::QUERY, Rcode::OK)
        );
        assert!(p.questions.is_empty());
        let rr = &p.answers[0];
        assert_eq!(rr.name.name.to_string(), "SOMENAME<00>");
        assert_eq!(
            (rr.rr_type, rr.rr_class, rr.ttl),
            (rr_type::NB, CLASS_IN, 259_200)
        );
        let a = NbAddress::decode_all(rr.rdata).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].address, Ipv4Addr::new(127, 0, 0, 3));
        assert!(!a[0].is_group());
        assert_eq!(a[0].owner_node_type(), 0);

        let msg = hex(GROUP_RESP);
        let p = Packet::decode(&msg).unwrap();
        assert_eq!(p.answers[0].name.name.to_string(), "TESTGROUP<1e>");
        assert!(NbAddress::decode_all(p.answers[0].rdata).unwrap()[0].is_group());
        assert!(NbAddress::decode_all(&[0; 7]).is_err());
    }

    #[test]
    fn negative_name_query_response_decodes() {
        let msg = hex(NEGATIVE_RESP);
        let p = Packet::decode(&msg).unwrap();
        assert_eq!(p.header.rcode, Rcode::NAME_ERROR);
        assert_eq!(p.answers[0].rr_type, rr_type::NULL);
        assert_eq!(p.answers[0].name.name.to_string(), "NOSUCHNAME<00>");
        assert!(p.answers[0].rdata.is_empty());
        assert_eq!(
            Rcode::NAME_ERROR.to_string(),
            "requested name does not exist (NAM_ERR)"
        );
    }

    #[test]
    fn node_status_response_decodes() {
        let msg = hex(NODE_STATUS_RESP);
        let p = Packet::decode(&msg).unwrap();
        assert_eq!(p.header.transaction_id, 0x073e);
        let rr = &p.answers[0];
        assert_eq!(rr.rr_type, rr_type::NBSTAT);
        assert_eq!(rr.name.name, NetBiosName::wildcard());
        let status = NodeStatus::decode(rr.rdata).unwrap();
        let shown: Vec<String> = status.names.iter().map(|n| n.name.to_string()).collect();
        assert_eq!(
            shown,
            [
                "SOMENAME<00>",
                "SOMENAME<03>",
                "SOMENAME<20>",
                "TESTGROUP<00>",
                "TESTGROUP<1e>"
            ]
        );
        assert!(status.names.iter().all(NodeName::is_active));
        let groups: Vec<bool> = status.names.iter().map(NodeName::is_group).collect();
        assert_eq!(groups, [false, false, false, true, true]);
        assert!(!status.names[0].is_permanent() && !status.names[0].is_in_conflict());
        assert!(!status.names[0].is_deregistering());
        assert_eq!(status.unit_id, Some([0; 6]));
        assert_eq!(status.distinct_names(), ["SOMENAME", "TESTGROUP"]);
        // Statistics cut short lose the MAC only; names cut short are an error.
        let rdata = &rr.rdata[..1 + 5 * 18 + 3];
        assert_eq!(NodeStatus::decode(rdata).unwrap().unit_id, None);
        assert!(NodeStatus::decode(&rr.rdata[..50]).is_err());
    }

    #[test]
    fn compressed_names_in_registrations_decode() {
        let msg = hex(REGISTRATION);
        let p = Packet::decode(&msg).unwrap();
        assert_eq!(p.header.opcode, opcode::REGISTRATION);
        assert!(p.header.has(nm_flags::BROADCAST) && p.header.has(nm_flags::RECURSION_DESIRED));
        let q = &p.questions[0].name.name;
        assert_eq!(q.to_string(), "\\x01\\x02__MSBROWSE__\\x02<01>");
        assert_eq!(&p.additional[0].name.name, q);
        assert!(NbAddress::decode_all(p.additional[0].rdata).unwrap()[0].is_group());
    }

    #[test]
    fn counts_beyond_the_datagram_are_refused_before_allocating() {
        let mut msg = hex(QUERY_RESP);
        msg[6] = 0xFF; // ANCOUNT 0xff01
        assert!(matches!(
            Packet::decode(&msg),
            Err(DecodeError::Truncated { .. })
        ));
        let mut msg = hex(QUERY_REQ_RD);
        msg[4] = 0xFF;
        assert!(Packet::decode(&msg).is_err());
    }

    /// Truncations, single-byte changes and random tails never panic.
    #[test]
    fn decoders_survive_malformed_input() {
        for vector in [
            NODE_STATUS_REQ,
            NODE_STATUS_RESP,
            QUERY_REQ_NO_RD,
            QUERY_RESP,
            GROUP_RESP,
            NEGATIVE_RESP,
            REGISTRATION,
        ] {
            let msg = hex(vector);
            let decode_all = |m: &[u8]| {
                if let Ok(p) = Packet::decode(m) {
                    for rr in p.answers.iter().chain(&p.additional) {
                        let _ = NbAddress::decode_all(rr.rdata);
                        let _ = NodeStatus::decode(rr.rdata);
                    }
                }
            };
            for n in 0..msg.len() {
                let r = Packet::decode(&msg[..n]);
                if n < Header::LEN {
                    assert!(r.is_err(), "truncation to {n} bytes decoded");
                }
                decode_all(&msg[..n]);
            }
            for i in 0..msg.len() {
                for v in [0x00, 0x01, 0x3F, 0x7F, 0x80, 0xC0, 0xFF] {
                    let mut m = msg.clone();
                    m[i] = v;
                    decode_all(&m);
                }
            }
            let mut state = 0x9E37_79B9_7F4A_7C15u64;
            for _ in 0..300 {
                let mut m = msg[..Header::LEN].to_vec();
                let len = {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 300) as usize
                };
                for _ in 0..len {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    m.push(state as u8);
                }
                decode_all(&m);
            }
        }
    }
}
