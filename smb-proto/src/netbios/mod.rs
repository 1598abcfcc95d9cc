//! The NetBIOS name service (RFC 1001 / RFC 1002), sans-IO: what pysmb's `nmb`
//! module does with `NetBIOS.queryName` and `queryIPForName`.
//!
//! * [`name`]: NetBIOS names and their first-level encoding;
//! * [`packet`]: the name service packets, with bounded, loop-free decoding;
//! * [`query`]: one exchange (request, retries, matching answer) as a state machine.
//!
//! The core never touches a socket or a clock, nor draws random numbers: a driver
//! hands in the transaction id, the time and the datagrams its UDP socket moved.
//! [`NameService`] holds the choices a caller makes and starts exchanges.
//!
//! ```no_run
//! use std::net::{Ipv4Addr, UdpSocket};
//! use std::time::{Duration, Instant};
//! use smb_proto::netbios::NameService;
//!
//! let sock = UdpSocket::bind("0.0.0.0:0")?;
//! let ip = Ipv4Addr::new(192, 168, 1, 10);
//! let mut q = NameService::new().name_query("FILESRV", ip, 0x1234, Duration::from_secs(2), Instant::now())?;
//! let mut buf = vec![0; smb_proto::netbios::packet::MAX_DATAGRAM_LEN];
//! let addresses = loop {
//!     let now = Instant::now();
//!     q.handle_timeout(now);
//!     while let Some(t) = q.poll_transmit(now) {
//!         sock.send_to(t.payload, t.destination)?;
//!     }
//!     if let Some(result) = q.poll_result() {
//!         break result?;
//!     }
//!     let wait = q.poll_timeout().map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
//!     // A zero read timeout would mean "block forever".
//!     sock.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
//!     if let Ok((n, from)) = sock.recv_from(&mut buf) {
//!         q.handle_datagram(from, &buf[..n]);
//!     }
//! };
//! println!("{addresses:?}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod name;
pub mod packet;
pub mod query;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

pub use name::{suffix, NameError, NetBiosName};
pub use packet::{NodeName, NodeStatus, Rcode, NAME_SERVICE_PORT};
pub use query::{NameLookup, NameQuery, Query, StatusLookup, Transmit};

use crate::ntstatus::Errno;
use crate::wire::codec::DecodeError;
use crate::ErrorKind;

/// Why a name service exchange gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameServiceError {
    /// Nothing answered (or nothing that matched) before the deadline. nmbd, like
    /// Windows, never answers a query with RD set for a name it does not hold (unless
    /// it is a WINS server), so with [`NameService::recursion_desired`] an unknown name
    /// ends here rather than in [`NameServiceError::NotFound`].
    #[error(
        "no answer from {server} to the {question} within {timeout:?} ({attempts} requests sent){}",
        malformed.as_ref().map_or(String::new(), |e| format!("; a datagram that claimed to answer did not decode: {e}"))
    )]
    TimedOut {
        /// The address asked.
        server: SocketAddrV4,
        /// What was asked.
        question: String,
        /// Requests sent.
        attempts: u32,
        /// The time allowed.
        timeout: Duration,
        /// Why the last datagram from the server with this transaction id was refused.
        malformed: Option<DecodeError>,
    },
    /// A negative response with NAM_ERR: the server does not know the name.
    #[error("{server} answered the {question}: no such name (negative response, NAM_ERR)")]
    NotFound {
        /// The address asked.
        server: SocketAddrV4,
        /// What was asked.
        question: String,
    },
    /// A negative response with another RCODE.
    #[error("{server} refused the {question}: {rcode}")]
    Refused {
        /// The address asked.
        server: SocketAddrV4,
        /// What was asked.
        question: String,
        /// Its RCODE.
        rcode: Rcode,
    },
    /// The name asked for cannot be sent; nothing was.
    #[error("{0}")]
    InvalidName(#[from] NameError),
    /// Browsing found no master browser: none of the names a workgroup's master
    /// browser holds was answered for at the address asked (`smb://` lists the
    /// workgroups a master browser knows, and there was none to ask).
    #[error("no master browser answered at {asked} (asked for {names})")]
    NoMasterBrowser {
        /// Where the name queries went: a broadcast address or a name server.
        asked: Ipv4Addr,
        /// The names asked for, as `__MSBROWSE__<01>, WORKGROUP<1d>`.
        names: String,
    },
}

impl NameServiceError {
    /// The errno that best describes it: ETIMEDOUT, ENOENT (no such name, no master
    /// browser), ECONNREFUSED or EINVAL.
    pub fn errno(&self) -> Errno {
        match self {
            NameServiceError::TimedOut { .. } => Errno::ETIMEDOUT,
            NameServiceError::NotFound { .. } | NameServiceError::NoMasterBrowser { .. } => {
                Errno::ENOENT
            }
            NameServiceError::Refused { .. } => Errno::ECONNREFUSED,
            NameServiceError::InvalidName(_) => Errno::EINVAL,
        }
    }

    /// What kind of failure it is: [`ErrorKind::TimedOut`], [`ErrorKind::NotFound`],
    /// [`ErrorKind::Other`] for a refusal, [`ErrorKind::InvalidArgument`] for a bad name.
    pub fn kind(&self) -> ErrorKind {
        match self {
            NameServiceError::Refused { .. } => ErrorKind::Other,
            e => ErrorKind::from_errno(e.errno()),
        }
    }
}

/// How to ask: the port, the RD flag and how many requests to send. The defaults are
/// pysmb's (port 137, RD set) with RFC 1002's three attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameService {
    /// The UDP port asked ([`NAME_SERVICE_PORT`]).
    pub port: u16,
    /// Whether name queries set RD. pysmb sets it; `nmblookup -U` does not, and then
    /// nmbd answers a name it does not hold with a negative response
    /// ([`NameServiceError::NotFound`]) instead of silence.
    pub recursion_desired: bool,
    /// Requests sent before giving up, spread over the timeout.
    pub attempts: u32,
    /// Whether name queries go to a broadcast address ([`NameService::broadcast`]).
    pub broadcast: bool,
}

impl Default for NameService {
    fn default() -> Self {
        NameService {
            port: NAME_SERVICE_PORT,
            recursion_desired: true,
            attempts: query::DEFAULT_ATTEMPTS,
            broadcast: false,
        }
    }
}

impl NameService {
    /// The defaults: port 137, RD set, three attempts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the UDP port asked.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets whether name queries set RD.
    pub fn recursion_desired(mut self, recursion_desired: bool) -> Self {
        self.recursion_desired = recursion_desired;
        self
    }

    /// Sends name queries as broadcasts (B set, RD clear: RFC 1002 4.2.12) to the address
    /// given, e.g. `255.255.255.255` or a subnet's broadcast address, and collects every
    /// node's answer until the timeout ([`NameQuery::collecting`]): how a workgroup's
    /// master browser or a server is found without a name server, as libsmbclient and
    /// `nmblookup` do by default. Node status requests stay unicast.
    pub fn broadcast(mut self, broadcast: bool) -> Self {
        self.broadcast = broadcast;
        self
    }

    /// Sets how many requests to send (at least one).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// Asks `ip` which addresses hold `name` (as [`NetBiosName::parse`] reads it:
    /// `NAME` is the file server name `NAME<20>`, `NAME#1d` names the suffix).
    ///
    /// # Errors
    ///
    /// [`NameServiceError::InvalidName`] when `name` cannot be sent.
    pub fn name_query(
        &self,
        name: &str,
        ip: Ipv4Addr,
        transaction_id: u16,
        timeout: Duration,
        now: Instant,
    ) -> Result<NameQuery<NameLookup>, NameServiceError> {
        let name = NetBiosName::parse(name)?;
        Ok(self.lookup(name, ip, transaction_id, timeout, now))
    }

    /// [`NameService::name_query`] for a name given whole, suffix included: one that
    /// [`NetBiosName::parse`] cannot spell, such as [`NetBiosName::msbrowse`].
    pub fn lookup(
        &self,
        name: NetBiosName,
        ip: Ipv4Addr,
        transaction_id: u16,
        timeout: Duration,
        now: Instant,
    ) -> NameQuery<NameLookup> {
        let query = NameLookup {
            name,
            recursion_desired: self.recursion_desired && !self.broadcast,
            broadcast: self.broadcast,
        };
        let exchange = self.start(query, ip, transaction_id, timeout, now);
        match self.broadcast {
            true => exchange.collecting(),
            false => exchange,
        }
    }

    /// Asks `ip` for every name it holds (a node status request for `*`).
    pub fn node_status(
        &self,
        ip: Ipv4Addr,
        transaction_id: u16,
        timeout: Duration,
        now: Instant,
    ) -> NameQuery<StatusLookup> {
        let query = StatusLookup {
            name: NetBiosName::wildcard(),
        };
        self.start(query, ip, transaction_id, timeout, now)
    }

    fn start<Q: Query>(
        &self,
        query: Q,
        ip: Ipv4Addr,
        transaction_id: u16,
        timeout: Duration,
        now: Instant,
    ) -> NameQuery<Q> {
        let server = SocketAddrV4::new(ip, self.port);
        NameQuery::new(query, server, transaction_id, timeout, now).with_attempts(self.attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_reach_the_request() {
        let t0 = Instant::now();
        let ip = Ipv4Addr::new(10, 0, 0, 1);
        let service = NameService::new().port(1137).recursion_desired(false);
        let mut q = service
            .name_query("srv#1d", ip, 9, Duration::from_secs(1), t0)
            .unwrap();
        let t = q.poll_transmit(t0).unwrap();
        assert_eq!(t.destination, SocketAddrV4::new(ip, 1137));
        let p = packet::Packet::decode(t.payload).unwrap();
        assert_eq!(p.header.transaction_id, 9);
        assert!(!p.header.has(packet::nm_flags::RECURSION_DESIRED));
        assert_eq!(p.questions[0].name.name.to_string(), "SRV<1d>");
        let err = service
            .name_query("bad#name", ip, 9, Duration::from_secs(1), t0)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        // One attempt: nothing more after the first.
        let mut q = NameService::new()
            .attempts(1)
            .node_status(ip, 1, Duration::from_secs(1), t0);
        assert!(q.poll_transmit(t0).is_some());
        assert_eq!(q.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    }
}
