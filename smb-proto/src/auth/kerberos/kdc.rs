//! Reaching a KDC (RFC 4120 section 7.2), without sockets: which KDC and transport to
//! try next, the TCP record framing, and the reply size limit.
//!
//! A driver performs one [`KdcRequest`] at a time — resolve `kdc`, then over TCP connect,
//! write [`tcp_frame`], read the 4-byte length, check it with [`tcp_reply_len`] and read
//! that many bytes; over UDP send one datagram and take one back — and hands back the reply
//! or a [`KdcIoError`] ([`KdcIoError::from_io`] classifies a socket error). Every choice is
//! [`KdcExchange`]'s: TCP first by default, UDP only when TCP fails (Samba's AS-REP with
//! its PAC is about 1,500 bytes, more than a UDP reply may be, so a UDP attempt usually
//! ends in KRB_ERR_RESPONSE_TOO_BIG anyway); after KRB_ERR_RESPONSE_TOO_BIG the same
//! message goes to the same KDC over TCP; then the next KDC; once all failed,
//! [`KerberosError::KdcUnreachable`] lists what was tried.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use der::Decode;

use super::asn1::KrbError;
use super::error::{code, FailedAttempt, KerberosError};

/// The KDC port (RFC 4120 section 7.2.3).
pub const KDC_PORT: u16 = 88;
/// The longest reply accepted over TCP: large PACs reach tens of kilobytes, and a hostile
/// KDC must not make the client allocate more than this.
pub const MAX_REPLY_LEN: usize = 1 << 20;
/// The receive buffer a driver needs for a UDP reply: the largest datagram.
pub const MAX_UDP_REPLY: usize = 65_535;
/// How long one attempt (connect, send, reply) may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a message travels to a KDC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KdcTransport {
    /// TCP: each message prefixed with its 4-byte big-endian length (RFC 4120 7.2.2).
    Tcp,
    /// UDP: one message per datagram (RFC 4120 7.2.1).
    Udp,
}

impl fmt::Display for KdcTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KdcTransport::Tcp => "tcp",
            KdcTransport::Udp => "udp",
        })
    }
}

/// Which transports to try, in which order, for each KDC. Whatever the policy, a UDP
/// reply of KRB_ERR_RESPONSE_TOO_BIG sends the message again over TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportPolicy {
    /// TCP, then UDP if TCP fails (the default).
    #[default]
    TcpThenUdp,
    /// UDP, then TCP if UDP fails (MIT's default for small messages).
    UdpThenTcp,
    /// TCP only.
    TcpOnly,
}

impl TransportPolicy {
    fn order(self) -> &'static [KdcTransport] {
        match self {
            TransportPolicy::TcpThenUdp => &[KdcTransport::Tcp, KdcTransport::Udp],
            TransportPolicy::UdpThenTcp => &[KdcTransport::Udp, KdcTransport::Tcp],
            TransportPolicy::TcpOnly => &[KdcTransport::Tcp],
        }
    }
}

/// One attempt for a driver to make: send `message` to `kdc` over `transport` and hand
/// the reply back, all within `timeout`.
#[derive(Clone, PartialEq, Eq)]
pub struct KdcRequest {
    /// `host:port`, to resolve (a name, or an address).
    pub kdc: String,
    /// TCP or UDP.
    pub transport: KdcTransport,
    /// One DER message (AS-REQ, TGS-REQ), unframed: over TCP send [`tcp_frame`] of it.
    pub message: Vec<u8>,
    /// How long the attempt may take, connecting included.
    pub timeout: Duration,
}

impl fmt::Debug for KdcRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KdcRequest")
            .field("kdc", &self.kdc)
            .field("transport", &self.transport)
            .field("message_len", &self.message.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why one attempt brought no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KdcIoError {
    /// The KDC's name did not resolve.
    #[error("cannot resolve the name: {0}")]
    Resolve(String),
    /// The connection (TCP) or the datagram (UDP, an ICMP port unreachable) was refused.
    #[error("connection refused")]
    Refused,
    /// Nothing (or not all of the reply) came within the attempt's timeout.
    #[error("no answer in time")]
    TimedOut,
    /// A TCP reply announcing more than [`MAX_REPLY_LEN`] bytes, or with the reserved
    /// high bit of its length set; nothing of it was read.
    #[error("reply length {0:#x} refused (over {MAX_REPLY_LEN} bytes, or the reserved bit set)")]
    TooLarge(u32),
    /// The KDC answered over UDP that its reply needs TCP (KRB_ERR_RESPONSE_TOO_BIG).
    #[error("the reply does not fit a datagram (KRB_ERR_RESPONSE_TOO_BIG)")]
    ResponseTooBig,
    /// Any other socket failure, e.g. the connection closed before the whole reply.
    #[error("{0}")]
    Io(String),
}

impl KdcIoError {
    /// The attempt's failure for a socket error: refused, timed out (a read timeout is
    /// `WouldBlock` on some systems), or anything else.
    pub fn from_io(error: &io::Error) -> KdcIoError {
        match error.kind() {
            io::ErrorKind::ConnectionRefused => KdcIoError::Refused,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => KdcIoError::TimedOut,
            io::ErrorKind::UnexpectedEof => {
                KdcIoError::Io("the connection closed before the whole reply".to_string())
            }
            _ => KdcIoError::Io(error.to_string()),
        }
    }
}

/// `message` with its TCP record marker (RFC 4120 7.2.2): the length as 4 bytes
/// big-endian, then the message; one buffer, for one write.
pub fn tcp_frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + message.len());
    // Messages this client builds are a few kilobytes at most.
    out.extend_from_slice(
        &u32::try_from(message.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(message);
    out
}

/// The length of the TCP reply whose record marker is `marker`, to read next.
///
/// # Errors
///
/// [`KdcIoError::TooLarge`] when the reserved high bit is set (RFC 4120 7.2.2: an
/// extension this client does not speak) or the length is over [`MAX_REPLY_LEN`]: refused
/// before anything is allocated for it.
pub fn tcp_reply_len(marker: [u8; 4]) -> Result<usize, KdcIoError> {
    let len = u32::from_be_bytes(marker);
    match usize::try_from(len) {
        Ok(n) if n <= MAX_REPLY_LEN => Ok(n),
        _ => Err(KdcIoError::TooLarge(len)),
    }
}

/// `kdc` with the KDC port when it names none: `kdc.example.com` →
/// `kdc.example.com:88`, `::1` → `[::1]:88`.
fn with_port(kdc: &str) -> String {
    if kdc.parse::<SocketAddr>().is_ok() {
        return kdc.to_string();
    }
    if let Ok(ip) = kdc.parse::<IpAddr>() {
        return SocketAddr::new(ip, KDC_PORT).to_string();
    }
    match kdc.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok() => kdc.to_string(),
        _ => format!("{kdc}:{KDC_PORT}"),
    }
}

/// One attempt made, for [`KdcExchange::attempts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The KDC, `host:port`.
    pub kdc: String,
    /// TCP or UDP.
    pub transport: KdcTransport,
    /// Why it brought no reply; `None` when it did.
    pub failure: Option<KdcIoError>,
}

/// Where the messages of one realm go: the KDCs and transports in the order to try, the
/// one that answered last (the next message starts there), and the attempts made.
///
/// Use: [`KdcExchange::send`] a message, then [`KdcExchange::poll_request`] the attempt
/// to make and hand its outcome to [`KdcExchange::handle_reply`], until that gives the
/// reply or fails.
#[derive(Debug)]
pub struct KdcExchange {
    realm: String,
    targets: Vec<(String, KdcTransport)>,
    timeout: Duration,
    /// The target that answered last: where the next message starts.
    current: usize,
    message: Vec<u8>,
    /// Targets not yet tried for this message, next first.
    queue: VecDeque<usize>,
    /// The target of the attempt the driver is making.
    in_flight: Option<usize>,
    /// Index into `attempts` of this message's first attempt.
    message_start: usize,
    attempts: Vec<Attempt>,
}

impl KdcExchange {
    /// An exchange with `kdcs` (`host:port`; the port defaults to 88; none at all means
    /// the realm's name in lower case, port 88) over `policy`'s transports, each attempt
    /// allowed `timeout`.
    pub fn new(realm: &str, kdcs: &[String], policy: TransportPolicy, timeout: Duration) -> Self {
        let kdcs = if kdcs.is_empty() {
            vec![with_port(&realm.to_ascii_lowercase())]
        } else {
            kdcs.iter().map(|k| with_port(k)).collect()
        };
        let targets = kdcs
            .iter()
            .flat_map(|k| policy.order().iter().map(move |t| (k.clone(), *t)))
            .collect();
        KdcExchange {
            realm: realm.to_string(),
            targets,
            timeout,
            current: 0,
            message: Vec::new(),
            queue: VecDeque::new(),
            in_flight: None,
            message_start: 0,
            attempts: Vec::new(),
        }
    }

    /// Every attempt so far, oldest first.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// The KDC that sent the last reply (or was asked last), `host:port`.
    pub fn kdc(&self) -> &str {
        self.targets
            .get(self.in_flight.unwrap_or(self.current))
            .map_or("", |(k, _)| k.as_str())
    }

    /// Whether an attempt is due ([`KdcExchange::poll_request`] would give one).
    #[cfg(test)]
    pub(crate) fn request_due(&self) -> bool {
        self.in_flight.is_none() && !self.queue.is_empty()
    }

    /// Starts sending `message`, at the target that answered last; forgets a message
    /// still unanswered.
    pub fn send(&mut self, message: Vec<u8>) {
        let n = self.targets.len();
        self.message = message;
        self.queue = (0..n).map(|i| (self.current + i) % n).collect();
        self.in_flight = None;
        self.message_start = self.attempts.len();
    }

    /// The attempt to make now, if any: one at a time, until its outcome is handed to
    /// [`KdcExchange::handle_reply`].
    #[must_use]
    pub fn poll_request(&mut self) -> Option<KdcRequest> {
        if self.in_flight.is_some() {
            return None;
        }
        let target = self.queue.pop_front()?;
        let (kdc, transport) = self.targets.get(target)?;
        self.in_flight = Some(target);
        Some(KdcRequest {
            kdc: kdc.clone(),
            transport: *transport,
            message: self.message.clone(),
            timeout: self.timeout,
        })
    }

    /// The outcome of the attempt in flight: `Ok(Some(reply))` is the KDC's reply (any
    /// Kerberos message but KRB_ERR_RESPONSE_TOO_BIG over UDP), `Ok(None)` means another
    /// attempt is due ([`KdcExchange::poll_request`]) or none was in flight.
    ///
    /// # Errors
    ///
    /// [`KerberosError::KdcUnreachable`] when this was the last target to try.
    pub fn handle_reply(
        &mut self,
        reply: Result<Vec<u8>, KdcIoError>,
    ) -> Result<Option<Vec<u8>>, KerberosError> {
        let Some(target) = self.in_flight.take() else {
            return Ok(None);
        };
        let Some((kdc, transport)) = self.targets.get(target).cloned() else {
            return Ok(None);
        };
        let failure = match reply {
            Ok(bytes) if transport == KdcTransport::Udp && is_response_too_big(&bytes) => {
                // The same KDC over TCP, next; drawn out of its place in the queue.
                let tcp = self
                    .targets
                    .iter()
                    .position(|(k, t)| *k == kdc && *t == KdcTransport::Tcp);
                if let Some(tcp) = tcp {
                    self.queue.retain(|i| *i != tcp);
                    self.queue.push_front(tcp);
                }
                KdcIoError::ResponseTooBig
            }
            Ok(bytes) => {
                self.attempts.push(Attempt {
                    kdc,
                    transport,
                    failure: None,
                });
                self.current = target;
                return Ok(Some(bytes));
            }
            Err(e) => e,
        };
        self.attempts.push(Attempt {
            kdc,
            transport,
            failure: Some(failure),
        });
        if !self.queue.is_empty() {
            self.in_flight = None;
            return Ok(None);
        }
        let tried = self
            .attempts
            .get(self.message_start..)
            .unwrap_or_default()
            .iter()
            .filter_map(|a| {
                Some(FailedAttempt {
                    kdc: a.kdc.clone(),
                    transport: a.transport,
                    error: a.failure.clone()?,
                })
            })
            .collect();
        Err(KerberosError::KdcUnreachable {
            realm: self.realm.clone(),
            tried,
        })
    }
}

/// Whether `reply` is a KRB-ERROR with KRB_ERR_RESPONSE_TOO_BIG.
fn is_response_too_big(reply: &[u8]) -> bool {
    KrbError::from_der(reply).is_ok_and(|e| e.0.error_code == code::RESPONSE_TOO_BIG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::kerberos::asn1::{App, KerberosString, KrbErrorBody, PrincipalName};
    use der::asn1::GeneralizedTime;
    use der::Encode;

    pub(crate) fn krb_error(code: i32) -> Vec<u8> {
        App::<_, 30>(KrbErrorBody {
            pvno: 5,
            msg_type: 30,
            ctime: None,
            cusec: None,
            stime: GeneralizedTime::from_unix_duration(Duration::from_secs(1_800_000_000)).unwrap(),
            susec: 0,
            error_code: code,
            crealm: None,
            cname: None,
            realm: KerberosString::from("R"),
            sname: PrincipalName::new(2, &["krbtgt", "R"]),
            e_text: None,
            e_data: None,
        })
        .to_der()
        .unwrap()
    }

    fn exchange(kdcs: &[&str], policy: TransportPolicy) -> KdcExchange {
        let kdcs: Vec<String> = kdcs.iter().map(|k| k.to_string()).collect();
        KdcExchange::new("SMBTEST.TEST", &kdcs, policy, Duration::from_secs(2))
    }

    fn next(x: &mut KdcExchange) -> (String, KdcTransport) {
        let r = x.poll_request().unwrap();
        assert_eq!(x.poll_request(), None, "one attempt at a time");
        (r.kdc, r.transport)
    }

    #[test]
    fn tcp_framing_is_a_length_then_the_message() {
        assert_eq!(tcp_frame(b"abc"), [0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(tcp_reply_len([0, 0, 0x05, 0xfb]), Ok(1531));
        assert_eq!(tcp_reply_len([0, 0x10, 0, 0]), Ok(MAX_REPLY_LEN));
        // One byte over the limit, the reserved bit, and everything: refused as stated.
        assert_eq!(
            tcp_reply_len([0, 0x10, 0, 1]),
            Err(KdcIoError::TooLarge(0x0010_0001))
        );
        assert_eq!(
            tcp_reply_len([0x80, 0, 0, 0x10]),
            Err(KdcIoError::TooLarge(0x8000_0010))
        );
        assert!(tcp_reply_len([0xff; 4]).is_err());
    }

    #[test]
    fn kdcs_get_the_kerberos_port_when_they_name_none() {
        assert_eq!(with_port("kdc.example.com"), "kdc.example.com:88");
        assert_eq!(with_port("kdc.example.com:750"), "kdc.example.com:750");
        assert_eq!(with_port("127.0.0.4"), "127.0.0.4:88");
        assert_eq!(with_port("127.0.0.4:8888"), "127.0.0.4:8888");
        assert_eq!(with_port("::1"), "[::1]:88");
        assert_eq!(with_port("[::1]:8888"), "[::1]:8888");
        let mut x = exchange(&[], TransportPolicy::TcpOnly);
        x.send(vec![1]);
        assert_eq!(
            next(&mut x),
            ("smbtest.test:88".to_string(), KdcTransport::Tcp)
        );
    }

    #[test]
    fn tcp_first_then_udp_then_the_next_kdc_then_unreachable() {
        let mut x = exchange(&["a:88", "b:88"], TransportPolicy::TcpThenUdp);
        x.send(vec![1, 2, 3]);
        let mut seen = Vec::new();
        let err = loop {
            let Some(r) = x.poll_request() else {
                panic!("no attempt and no outcome")
            };
            assert_eq!(r.message, [1, 2, 3]);
            assert_eq!(r.timeout, Duration::from_secs(2));
            seen.push(format!("{} {}", r.transport, r.kdc));
            match x.handle_reply(Err(KdcIoError::Refused)) {
                Ok(None) => {}
                Ok(Some(_)) => panic!("a reply from nowhere"),
                Err(e) => break e,
            }
        };
        assert_eq!(seen, ["tcp a:88", "udp a:88", "tcp b:88", "udp b:88"]);
        let KerberosError::KdcUnreachable { realm, tried } = &err else {
            panic!("{err}")
        };
        assert_eq!(realm, "SMBTEST.TEST");
        assert_eq!(tried.len(), 4);
        assert!(
            err.to_string().contains("udp b:88: connection refused"),
            "{err}"
        );
        assert_eq!(x.attempts().len(), 4);
    }

    #[test]
    fn the_kdc_that_answered_gets_the_next_message_first() {
        let mut x = exchange(&["a", "b"], TransportPolicy::TcpOnly);
        x.send(vec![1]);
        assert_eq!(next(&mut x).0, "a:88");
        assert_eq!(x.handle_reply(Err(KdcIoError::TimedOut)), Ok(None));
        assert_eq!(next(&mut x).0, "b:88");
        assert_eq!(x.handle_reply(Ok(vec![9])), Ok(Some(vec![9])));
        assert_eq!(x.kdc(), "b:88");
        x.send(vec![2]);
        assert_eq!(next(&mut x).0, "b:88");
        // And the others still follow, wrapping around.
        assert_eq!(x.handle_reply(Err(KdcIoError::TimedOut)), Ok(None));
        assert_eq!(next(&mut x).0, "a:88");
        let err = x.handle_reply(Err(KdcIoError::TimedOut)).unwrap_err();
        // Only this message's attempts are listed.
        let KerberosError::KdcUnreachable { tried, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(tried.len(), 2);
        assert_eq!(err.kind(), crate::ErrorKind::TimedOut);
    }

    #[test]
    fn response_too_big_over_udp_moves_to_tcp_on_the_same_kdc() {
        let mut x = exchange(&["a", "b"], TransportPolicy::UdpThenTcp);
        x.send(vec![7]);
        assert_eq!(next(&mut x), ("a:88".into(), KdcTransport::Udp));
        assert_eq!(
            x.handle_reply(Ok(krb_error(code::RESPONSE_TOO_BIG))),
            Ok(None)
        );
        assert_eq!(next(&mut x), ("a:88".into(), KdcTransport::Tcp));
        assert_eq!(x.handle_reply(Ok(vec![0x6b])), Ok(Some(vec![0x6b])));
        assert_eq!(
            x.attempts()
                .iter()
                .map(|a| (a.transport, a.failure.clone()))
                .collect::<Vec<_>>(),
            [
                (KdcTransport::Udp, Some(KdcIoError::ResponseTooBig)),
                (KdcTransport::Tcp, None)
            ]
        );
        // The next message starts on TCP.
        x.send(vec![8]);
        assert_eq!(next(&mut x), ("a:88".into(), KdcTransport::Tcp));
        // Over TCP the same error is the KDC's answer, for the caller to read.
        let too_big = krb_error(code::RESPONSE_TOO_BIG);
        assert_eq!(x.handle_reply(Ok(too_big.clone())), Ok(Some(too_big)));
        // Other KRB-ERRORs over UDP are answers too.
        let mut x = exchange(&["a"], TransportPolicy::UdpThenTcp);
        x.send(vec![7]);
        let _ = next(&mut x);
        let preauth = krb_error(code::PREAUTH_REQUIRED);
        assert_eq!(x.handle_reply(Ok(preauth.clone())), Ok(Some(preauth)));
    }

    #[test]
    fn a_reply_with_nothing_in_flight_is_ignored() {
        let mut x = exchange(&["a"], TransportPolicy::TcpOnly);
        assert_eq!(x.handle_reply(Ok(vec![1])), Ok(None));
        x.send(vec![1]);
        let _ = next(&mut x);
        assert_eq!(x.handle_reply(Ok(vec![2])), Ok(Some(vec![2])));
        assert_eq!(x.handle_reply(Ok(vec![3])), Ok(None));
        assert_eq!(x.poll_request(), None);
    }

    #[test]
    fn socket_errors_are_classified() {
        let e = |k| KdcIoError::from_io(&io::Error::from(k));
        assert_eq!(e(io::ErrorKind::ConnectionRefused), KdcIoError::Refused);
        assert_eq!(e(io::ErrorKind::WouldBlock), KdcIoError::TimedOut);
        assert_eq!(e(io::ErrorKind::TimedOut), KdcIoError::TimedOut);
        assert!(matches!(
            e(io::ErrorKind::UnexpectedEof),
            KdcIoError::Io(m) if m.contains("closed")
        ));
    }
}
