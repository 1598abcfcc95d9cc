//! One name service exchange as a sans-IO state machine: a request sent to one server
//! and repeated until an answer comes or the time is up.
//!
//! A driver owns a UDP socket and the clock and runs this loop (see the module
//! example in [`crate::netbios`]):
//!
//! 1. [`NameQuery::handle_timeout`]`(now)`, then send every datagram
//!    [`NameQuery::poll_transmit`]`(now)` gives;
//! 2. if [`NameQuery::poll_result`] gives the outcome, stop;
//! 3. wait for a datagram or until [`NameQuery::poll_timeout`]; feed a datagram to
//!    [`NameQuery::handle_datagram`]; go to 1.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::name::NetBiosName;
use super::packet::{
    opcode, rr_type, NameQueryRequest, NbAddress, NodeStatus, NodeStatusRequest, Packet, Rcode,
};
use super::NameServiceError;
use crate::wire::codec::DecodeError;

/// Requests sent before giving up (UCAST_REQ_RETRY_COUNT, RFC 1002 6).
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// The longest wait between two requests (UCAST_REQ_RETRY_TIMEOUT, RFC 1002 6); with
/// a shorter timeout the requests are spread evenly over it.
pub const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(5);

/// What one kind of request asks and how its answer reads.
pub trait Query {
    /// The answer's content.
    type Output;

    /// What is asked, for error messages ("name query for SRV<20>").
    fn describe(&self) -> String;

    /// Appends the request with `transaction_id`.
    fn encode(&self, transaction_id: u16, out: &mut Vec<u8>);

    /// What `packet` says: it is a query response with this exchange's transaction id
    /// from the server asked.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] for an answer whose RDATA does not decode.
    fn reply(&self, packet: &Packet<'_>) -> Result<Reply<Self::Output>, DecodeError>;

    /// Adds another node's answer to the answers so far, for a query that collects every
    /// answer ([`NameQuery::collecting`]). By default the first answer stands.
    fn merge(so_far: &mut Self::Output, more: Self::Output) {
        let _ = (so_far, more);
    }
}

/// A response's meaning for one [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    /// The answer.
    Answer(T),
    /// A negative response with this RCODE.
    Negative(Rcode),
    /// Nothing this query asked about (a response about another name, or a redirect to
    /// another name server, which this client does not follow).
    Unrelated,
}

/// NAME QUERY: the addresses that hold a name (pysmb's `queryName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameLookup {
    /// The name.
    pub name: NetBiosName,
    /// Whether to set RD (see [`NameQueryRequest::recursion_desired`]).
    pub recursion_desired: bool,
    /// Whether to set B: the request goes to a broadcast address and every node holding
    /// the name answers (RFC 1002 4.2.12).
    pub broadcast: bool,
}

impl Query for NameLookup {
    type Output = Vec<Ipv4Addr>;

    fn describe(&self) -> String {
        format!("name query for {}", self.name)
    }

    fn encode(&self, transaction_id: u16, out: &mut Vec<u8>) {
        NameQueryRequest {
            transaction_id,
            name: self.name,
            recursion_desired: self.recursion_desired,
            broadcast: self.broadcast,
        }
        .encode(out);
    }

    /// Every node's addresses, each once, in the order they came.
    fn merge(so_far: &mut Vec<Ipv4Addr>, more: Vec<Ipv4Addr>) {
        for address in more {
            if !so_far.contains(&address) {
                so_far.push(address);
            }
        }
    }

    /// RFC 1002 4.2.13 (positive: the NB record of the name asked) and 4.2.14
    /// (negative: a non-zero RCODE, its record naming the name asked).
    fn reply(&self, packet: &Packet<'_>) -> Result<Reply<Vec<Ipv4Addr>>, DecodeError> {
        let ours = |n: &super::name::ScopedName| n.name == self.name && n.scope.is_empty();
        if packet.header.rcode != Rcode::OK {
            let about_ours = packet.answers.first().is_none_or(|rr| ours(&rr.name));
            return Ok(if about_ours {
                Reply::Negative(packet.header.rcode)
            } else {
                Reply::Unrelated
            });
        }
        match packet
            .answers
            .iter()
            .find(|rr| rr.rr_type == rr_type::NB && ours(&rr.name))
        {
            Some(rr) => Ok(Reply::Answer(
                NbAddress::decode_all(rr.rdata)?
                    .into_iter()
                    .map(|a| a.address)
                    .collect(),
            )),
            None => Ok(Reply::Unrelated),
        }
    }
}

/// NODE STATUS: the names a node holds (pysmb's `queryIPForName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLookup {
    /// The name asked about; [`NetBiosName::wildcard`] for any node.
    pub name: NetBiosName,
}

impl Query for StatusLookup {
    type Output = NodeStatus;

    fn describe(&self) -> String {
        "node status request".to_string()
    }

    fn encode(&self, transaction_id: u16, out: &mut Vec<u8>) {
        NodeStatusRequest {
            transaction_id,
            name: self.name,
        }
        .encode(out);
    }

    /// RFC 1002 4.2.18: the NBSTAT record. Its RR_NAME is not compared: the node answers
    /// `*` with whatever it chooses to echo, and the transaction id already ties the
    /// response to the request.
    fn reply(&self, packet: &Packet<'_>) -> Result<Reply<NodeStatus>, DecodeError> {
        if packet.header.rcode != Rcode::OK {
            return Ok(Reply::Negative(packet.header.rcode));
        }
        match packet
            .answers
            .iter()
            .find(|rr| rr.rr_type == rr_type::NBSTAT)
        {
            Some(rr) => Ok(Reply::Answer(NodeStatus::decode(rr.rdata)?)),
            None => Ok(Reply::Unrelated),
        }
    }
}

/// A datagram to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit<'a> {
    /// Where to.
    pub destination: SocketAddrV4,
    /// The datagram.
    pub payload: &'a [u8],
}

/// One exchange with one name server or node: the request, its retransmissions (same
/// transaction id, so a late answer to an earlier copy counts), and the answer.
///
/// Only a datagram from the address asked, carrying this transaction id, marked as a
/// query response and answering what was asked ends the exchange; anything else is
/// ignored, so strays and spoofs from elsewhere cannot. When nothing answers by the
/// deadline the outcome is [`NameServiceError::TimedOut`].
#[derive(Debug)]
pub struct NameQuery<Q: Query> {
    query: Q,
    server: SocketAddrV4,
    transaction_id: u16,
    request: Vec<u8>,
    timeout: Duration,
    deadline: Instant,
    attempts: u32,
    sent: u32,
    next_send: Option<Instant>,
    outcome: Option<Result<Q::Output, NameServiceError>>,
    /// Set once the outcome was taken: nothing more to do.
    finished: bool,
    /// The last datagram from the server with our transaction id that did not decode,
    /// for the timeout's message.
    malformed: Option<DecodeError>,
    /// For a query that collects every answer until the deadline
    /// ([`NameQuery::collecting`]): the answers so far.
    collected: Option<Option<Q::Output>>,
}

impl<Q: Query> NameQuery<Q> {
    /// An exchange asking `server` with `transaction_id` (the caller's random choice:
    /// the core has no random source), answered within `timeout` from `now` or failed.
    /// The first request is due at once; [`DEFAULT_ATTEMPTS`] are sent in all.
    pub fn new(
        query: Q,
        server: SocketAddrV4,
        transaction_id: u16,
        timeout: Duration,
        now: Instant,
    ) -> Self {
        let mut request = Vec::with_capacity(50);
        query.encode(transaction_id, &mut request);
        NameQuery {
            query,
            server,
            transaction_id,
            request,
            timeout,
            deadline: now + timeout,
            attempts: DEFAULT_ATTEMPTS,
            sent: 0,
            next_send: Some(now),
            outcome: None,
            finished: false,
            malformed: None,
            collected: None,
        }
    }

    /// Makes the exchange collect answers rather than end at the first: for a request to a
    /// broadcast address, which every node holding the name answers, from its own address
    /// (RFC 1002 5.1.1). Answers from any address count; negative ones are ignored (nodes
    /// do not send them to broadcasts), and the request is repeated as usual. At the
    /// deadline the outcome is every answer merged ([`Query::merge`]), or
    /// [`NameServiceError::TimedOut`] when none came.
    pub fn collecting(mut self) -> Self {
        self.collected = Some(None);
        self
    }

    /// Sends `attempts` requests in all (at least one), spread over the timeout.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> u16 {
        self.transaction_id
    }

    /// The address asked.
    pub fn server(&self) -> SocketAddrV4 {
        self.server
    }

    /// Time between requests: the timeout shared out among the attempts, at most
    /// [`MAX_RETRY_INTERVAL`], so the last one still has time for its answer.
    fn interval(&self) -> Duration {
        (self.timeout / self.attempts).min(MAX_RETRY_INTERVAL)
    }

    /// Feeds a datagram that arrived from `source`; true when it ended the exchange.
    pub fn handle_datagram(&mut self, source: SocketAddr, datagram: &[u8]) -> bool {
        let from_anywhere = self.collected.is_some() && source.is_ipv4();
        if self.finished
            || self.outcome.is_some()
            || !(from_anywhere || source == SocketAddr::V4(self.server))
        {
            return false;
        }
        let packet = match Packet::decode(datagram) {
            Ok(p) => p,
            Err(e) => {
                if datagram.starts_with(&self.transaction_id.to_be_bytes()) {
                    self.malformed = Some(e);
                }
                return false;
            }
        };
        let h = &packet.header;
        if h.transaction_id != self.transaction_id || !h.response || h.opcode != opcode::QUERY {
            return false;
        }
        if let Some(collected) = &mut self.collected {
            match self.query.reply(&packet) {
                Ok(Reply::Answer(out)) => match collected {
                    Some(so_far) => Q::merge(so_far, out),
                    None => *collected = Some(out),
                },
                Ok(_) => {}
                Err(e) => self.malformed = Some(e),
            }
            return false;
        }
        let outcome = match self.query.reply(&packet) {
            Ok(Reply::Answer(out)) => Ok(out),
            Ok(Reply::Negative(Rcode::NAME_ERROR)) => Err(NameServiceError::NotFound {
                server: self.server,
                question: self.query.describe(),
            }),
            Ok(Reply::Negative(rcode)) => Err(NameServiceError::Refused {
                server: self.server,
                question: self.query.describe(),
                rcode,
            }),
            Ok(Reply::Unrelated) => return false,
            Err(e) => {
                self.malformed = Some(e);
                return false;
            }
        };
        self.outcome = Some(outcome);
        true
    }

    /// Ends the exchange with [`NameServiceError::TimedOut`] once the deadline has
    /// passed; harmless at any other time.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.finished && self.outcome.is_none() && now >= self.deadline {
            if let Some(Some(answers)) = self.collected.take() {
                self.outcome = Some(Ok(answers));
                return;
            }
            self.outcome = Some(Err(NameServiceError::TimedOut {
                server: self.server,
                question: self.query.describe(),
                attempts: self.sent,
                timeout: self.timeout,
                malformed: self.malformed.take(),
            }));
        }
    }

    /// The request, when a copy is due at `now`.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit<'_>> {
        if self.finished || self.outcome.is_some() || now >= self.deadline {
            return None;
        }
        self.next_send.filter(|due| *due <= now)?;
        self.sent += 1;
        // From now rather than from when it was due, so a driver that fell behind does
        // not send the copies it missed in a burst.
        self.next_send = (self.sent < self.attempts).then(|| now + self.interval());
        Some(Transmit {
            destination: self.server,
            payload: &self.request,
        })
    }

    /// When the driver must call [`NameQuery::handle_timeout`] and
    /// [`NameQuery::poll_transmit`] again; `None` once the exchange has ended.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished || self.outcome.is_some() {
            return None;
        }
        Some(
            self.next_send
                .map_or(self.deadline, |t| t.min(self.deadline)),
        )
    }

    /// The outcome, once: the answer, or why there is none.
    #[must_use]
    pub fn poll_result(&mut self) -> Option<Result<Q::Output, NameServiceError>> {
        let outcome = self.outcome.take();
        self.finished |= outcome.is_some();
        outcome
    }
}

/// Whether a UDP receive error only means "no answer yet": an interrupted call, or the
/// ICMP port-unreachable that some systems (Windows; Linux on connected sockets) report
/// on a later receive. The exchange goes on and times out if nothing else answers, as
/// it would have without the ICMP message.
pub fn ignorable_receive_error(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netbios::packet::tests::{hex, NEGATIVE_RESP, NODE_STATUS_RESP, QUERY_RESP};

    const NMBD: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 3), 137);

    fn from_nmbd() -> SocketAddr {
        SocketAddr::V4(NMBD)
    }

    fn lookup(name: &str, id: u16, now: Instant) -> NameQuery<NameLookup> {
        let query = NameLookup {
            name: NetBiosName::parse(name).unwrap(),
            recursion_desired: true,
            broadcast: false,
        };
        NameQuery::new(query, NMBD, id, Duration::from_secs(3), now)
    }

    /// The response to frame 3 (SOMENAME<00>, id 0x2cfb).
    fn positive() -> Vec<u8> {
        hex(QUERY_RESP)
    }

    #[test]
    fn a_positive_answer_ends_the_exchange() {
        let t0 = Instant::now();
        let mut q = lookup("SOMENAME#00", 0x2cfb, t0);
        let sent = q.poll_transmit(t0).unwrap();
        assert_eq!(sent.destination, NMBD);
        assert_eq!(&sent.payload[..2], &[0x2c, 0xfb]);
        assert_eq!(q.poll_transmit(t0), None);
        assert!(q.handle_datagram(from_nmbd(), &positive()));
        assert_eq!(q.poll_timeout(), None);
        assert_eq!(q.poll_result(), Some(Ok(vec![Ipv4Addr::new(127, 0, 0, 3)])));
        assert_eq!(q.poll_result(), None);
        assert_eq!(q.poll_transmit(t0), None);
        assert!(!q.handle_datagram(from_nmbd(), &positive()));
    }

    #[test]
    fn strays_are_ignored() {
        let t0 = Instant::now();
        let mut q = lookup("SOMENAME#00", 0x2cfb, t0);
        let _ = q.poll_transmit(t0);
        // Another source, the right port on another address, another port.
        for source in ["127.0.0.4:137", "127.0.0.3:138", "[::1]:137"] {
            assert!(!q.handle_datagram(source.parse().unwrap(), &positive()));
        }
        // Another transaction id.
        let mut other = positive();
        other[1] ^= 1;
        assert!(!q.handle_datagram(from_nmbd(), &other));
        // Our own request echoed (not a response).
        let request = q.request.clone();
        assert!(!q.handle_datagram(from_nmbd(), &request));
        // An answer about another name.
        let mut q2 = lookup("OTHER#00", 0x2cfb, t0);
        let _ = q2.poll_transmit(t0);
        assert!(!q2.handle_datagram(from_nmbd(), &positive()));
        // Garbage.
        assert!(!q.handle_datagram(from_nmbd(), b"\x2c\xfb garbage"));
        assert!(!q.handle_datagram(from_nmbd(), b""));
        assert_eq!(q.poll_result(), None);
        // The real answer still counts, and the garbage is forgotten.
        assert!(q.handle_datagram(from_nmbd(), &positive()));
        assert!(q.poll_result().unwrap().is_ok());
    }

    #[test]
    fn a_broadcast_collects_every_nodes_answer_until_the_deadline() {
        let t0 = Instant::now();
        let everyone = SocketAddrV4::new(Ipv4Addr::new(127, 255, 255, 255), 137);
        let query = NameLookup {
            name: NetBiosName::parse("SOMENAME#00").unwrap(),
            recursion_desired: false,
            broadcast: true,
        };
        let mut q =
            NameQuery::new(query, everyone, 0x2cfb, Duration::from_secs(1), t0).collecting();
        let sent = q.poll_transmit(t0).unwrap();
        assert_eq!(sent.destination, everyone);
        let request = Packet::decode(sent.payload).unwrap();
        assert!(request
            .header
            .has(crate::netbios::packet::nm_flags::BROADCAST));
        // Two nodes answer (one twice: a retransmission's answer), from their own
        // addresses; a negative answer and garbage change nothing.
        let first = positive();
        let mut second = positive();
        let at = second.len() - 4;
        second[at..].copy_from_slice(&[127, 0, 0, 9]);
        let node = |last| SocketAddr::from(([127, 0, 0, last], 137));
        assert!(!q.handle_datagram(node(3), &first));
        assert!(!q.handle_datagram(node(9), &second));
        assert!(!q.handle_datagram(node(3), &first));
        let mut negative = hex(NEGATIVE_RESP);
        negative[..2].copy_from_slice(&0x2cfbu16.to_be_bytes());
        assert!(!q.handle_datagram(node(4), &negative));
        assert!(!q.handle_datagram(node(5), b"\x2c\xfb garbage"));
        assert!(!q.handle_datagram("[::1]:137".parse().unwrap(), &second));
        // Nothing before the deadline, however many answered.
        q.handle_timeout(t0 + Duration::from_millis(999));
        assert_eq!(q.poll_result(), None);
        assert!(q.poll_timeout().is_some());
        q.handle_timeout(t0 + Duration::from_secs(1));
        assert_eq!(
            q.poll_result(),
            Some(Ok(vec![
                Ipv4Addr::new(127, 0, 0, 3),
                Ipv4Addr::new(127, 0, 0, 9)
            ]))
        );

        // Nobody answering is a timeout, as for a unicast query.
        let query = NameLookup {
            name: NetBiosName::parse("SOMENAME#00").unwrap(),
            recursion_desired: false,
            broadcast: true,
        };
        let mut q = NameQuery::new(query, everyone, 1, Duration::from_secs(1), t0).collecting();
        let _ = q.poll_transmit(t0);
        q.handle_timeout(t0 + Duration::from_secs(1));
        assert!(matches!(
            q.poll_result(),
            Some(Err(NameServiceError::TimedOut { .. }))
        ));
    }

    #[test]
    fn retries_are_spread_over_the_timeout_then_it_times_out() {
        let t0 = Instant::now();
        let mut q = lookup("SOMENAME", 7, t0);
        let mut sent_at = Vec::new();
        let mut now = t0;
        let err = loop {
            q.handle_timeout(now);
            while q.poll_transmit(now).is_some() {
                sent_at.push(now - t0);
            }
            if let Some(result) = q.poll_result() {
                break result.unwrap_err();
            }
            now = q.poll_timeout().unwrap();
        };
        assert_eq!(now - t0, Duration::from_secs(3));
        assert_eq!(
            sent_at,
            [
                Duration::ZERO,
                Duration::from_secs(1),
                Duration::from_secs(2)
            ]
        );
        assert!(matches!(
            err,
            NameServiceError::TimedOut { attempts: 3, .. }
        ));
        assert_eq!(err.kind(), crate::ErrorKind::TimedOut);
        assert_eq!(
            err.to_string(),
            "no answer from 127.0.0.3:137 to the name query for SOMENAME<20> \
             within 3s (3 requests sent)"
        );
        assert_eq!(q.poll_timeout(), None);
    }

    #[test]
    fn long_timeouts_retry_every_five_seconds_and_late_drivers_do_not_burst() {
        let t0 = Instant::now();
        let mut q = NameQuery::new(
            StatusLookup {
                name: NetBiosName::wildcard(),
            },
            NMBD,
            1,
            Duration::from_secs(30),
            t0,
        );
        assert!(q.poll_transmit(t0).is_some());
        assert_eq!(q.poll_timeout(), Some(t0 + Duration::from_secs(5)));
        // Woken 12 s late: one copy, the next 5 s later.
        let late = t0 + Duration::from_secs(17);
        assert!(q.poll_transmit(late).is_some());
        assert!(q.poll_transmit(late).is_none());
        assert_eq!(q.poll_timeout(), Some(late + Duration::from_secs(5)));
        let later = late + Duration::from_secs(5);
        assert!(q.poll_transmit(later).is_some());
        // Three sent: now only the deadline.
        assert_eq!(q.poll_timeout(), Some(t0 + Duration::from_secs(30)));
        // Nothing goes out after the deadline.
        let mut q = lookup("X", 1, t0).with_attempts(0);
        assert!(q.poll_transmit(t0 + Duration::from_secs(3)).is_none());
        assert!(q.poll_transmit(t0).is_some());
        assert_eq!(q.poll_timeout(), Some(t0 + Duration::from_secs(3)));
    }

    #[test]
    fn a_negative_answer_is_not_found() {
        let t0 = Instant::now();
        let mut q = lookup("NOSUCHNAME#00", 0x54b6, t0);
        let _ = q.poll_transmit(t0);
        assert!(q.handle_datagram(from_nmbd(), &hex(NEGATIVE_RESP)));
        let err = q.poll_result().unwrap().unwrap_err();
        assert!(matches!(err, NameServiceError::NotFound { .. }), "{err}");
        assert_eq!(err.kind(), crate::ErrorKind::NotFound);
        assert_eq!(
            err.to_string(),
            "127.0.0.3:137 answered the name query for NOSUCHNAME<00>: \
             no such name (negative response, NAM_ERR)"
        );
        // Another RCODE is a refusal.
        let mut refused = hex(NEGATIVE_RESP);
        refused[3] = (refused[3] & 0xF0) | 0x5;
        let mut q = lookup("NOSUCHNAME#00", 0x54b6, t0);
        assert!(q.handle_datagram(from_nmbd(), &refused));
        assert!(matches!(
            q.poll_result(),
            Some(Err(NameServiceError::Refused {
                rcode: Rcode::REFUSED,
                ..
            }))
        ));
        // A negative answer about another name is no answer.
        let mut q = lookup("SOMENAME#00", 0x54b6, t0);
        assert!(!q.handle_datagram(from_nmbd(), &hex(NEGATIVE_RESP)));
    }

    #[test]
    fn node_status_answers_with_the_names() {
        let t0 = Instant::now();
        let query = StatusLookup {
            name: NetBiosName::wildcard(),
        };
        let mut q = NameQuery::new(query, NMBD, 0x073e, Duration::from_secs(1), t0);
        let sent = q.poll_transmit(t0).unwrap().payload.to_vec();
        assert_eq!(sent, hex(crate::netbios::packet::tests::NODE_STATUS_REQ));
        assert!(q.handle_datagram(from_nmbd(), &hex(NODE_STATUS_RESP)));
        let status = q.poll_result().unwrap().unwrap();
        assert_eq!(status.distinct_names(), ["SOMENAME", "TESTGROUP"]);
    }

    #[test]
    fn a_malformed_answer_is_ignored_and_named_in_the_timeout() {
        let t0 = Instant::now();
        let mut q = lookup("SOMENAME#00", 0x2cfb, t0);
        let _ = q.poll_transmit(t0);
        let mut bad = positive();
        let len = bad.len();
        bad[len - 7] = 5; // RDLENGTH 5: no multiple of 6
        assert!(!q.handle_datagram(from_nmbd(), &bad));
        q.handle_timeout(t0 + Duration::from_secs(3));
        let err = q.poll_result().unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                NameServiceError::TimedOut {
                    malformed: Some(_),
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("did not decode"), "{err}");
    }

    #[test]
    fn receive_errors_from_icmp_are_ignorable() {
        assert!(ignorable_receive_error(io::ErrorKind::ConnectionRefused));
        assert!(!ignorable_receive_error(io::ErrorKind::PermissionDenied));
    }
}
