//! The NetBIOS name service over `std::net`: pysmb's `NetBIOS.queryName` and
//! `queryIPForName`. The exchange itself (retries, matching, deadline) is
//! [`smb_proto::netbios::NameQuery`]; this only moves its datagrams.

use std::io;
use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use smb_proto::netbios::packet::MAX_DATAGRAM_LEN;
use smb_proto::netbios::query::ignorable_receive_error;
use smb_proto::netbios::{NameQuery, NameService, NodeStatus, Query};

use crate::{os_seed, Result};

/// Unicast NetBIOS name queries, in the spirit of pysmb's `NetBIOS(broadcast=False)`.
/// Each query uses a socket of its own, so one `NetBios` serves several threads.
///
/// ```no_run
/// use std::time::Duration;
/// use smb_blocking::{NameService, NetBios};
///
/// let nb = NetBios::new(NameService::new());
/// let ip = "192.168.1.10".parse().unwrap();
/// let names = nb.query_ip_for_name(ip, Duration::from_secs(2))?;
/// let addresses = nb.query_name(&names[0], ip, Duration::from_secs(2))?;
/// # Ok::<(), smb_blocking::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NetBios {
    service: NameService,
}

impl NetBios {
    /// Queries as `service` says (port, RD flag, attempts).
    pub fn new(service: NameService) -> Self {
        NetBios { service }
    }

    /// The addresses at which `ip` says `name` is registered (pysmb's `queryName`).
    /// `name` is `NAME` for the file server name `NAME<20>`, or `NAME#xx` for suffix
    /// `xx` (`WORKGROUP#1d`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut) when nothing answers within
    /// `timeout` (which is also what nmbd's silence about a name it does not hold looks
    /// like while RD is set, see [`NameService::recursion_desired`]),
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a negative response,
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a name that
    /// cannot be sent, [`Error::Io`](crate::Error::Io) when the socket fails.
    pub fn query_name(&self, name: &str, ip: Ipv4Addr, timeout: Duration) -> Result<Vec<Ipv4Addr>> {
        let query = self
            .service
            .name_query(name, ip, transaction_id(), timeout, Instant::now())?;
        run(query)
    }

    /// The names registered at `ip`, each once, in the node's order: its own name,
    /// then its workgroup's (pysmb's `queryIPForName`, which keeps only the file
    /// server names; [`NetBios::node_status`] has the suffixes to filter by).
    ///
    /// # Errors
    ///
    /// As for [`NetBios::node_status`].
    pub fn query_ip_for_name(&self, ip: Ipv4Addr, timeout: Duration) -> Result<Vec<String>> {
        Ok(self.node_status(ip, timeout)?.distinct_names())
    }

    /// The node status of `ip`: every name it holds, with suffix and flags, and its MAC
    /// address.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut) when nothing answers within
    /// `timeout`, [`Error::Io`](crate::Error::Io) when the socket fails.
    pub fn node_status(&self, ip: Ipv4Addr, timeout: Duration) -> Result<NodeStatus> {
        run(self
            .service
            .node_status(ip, transaction_id(), timeout, Instant::now()))
    }
}

/// Moves datagrams between a fresh socket and `query` until it has its outcome.
pub(crate) fn run<Q: Query>(mut query: NameQuery<Q>) -> Result<Q::Output> {
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    sock.set_broadcast(true)?;
    let mut buf = vec![0; MAX_DATAGRAM_LEN];
    loop {
        let now = Instant::now();
        query.handle_timeout(now);
        while let Some(t) = query.poll_transmit(now) {
            sock.send_to(t.payload, t.destination)?;
        }
        if let Some(result) = query.poll_result() {
            return Ok(result?);
        }
        let Some(wake) = query.poll_timeout() else {
            continue;
        };
        let wait = wake.saturating_duration_since(now);
        // A zero read timeout is refused by the socket; the deadline or the next copy
        // is due, which the top of the loop handles.
        if wait.is_zero() {
            continue;
        }
        sock.set_read_timeout(Some(wait))?;
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                query.handle_datagram(from, &buf[..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if ignorable_receive_error(e.kind()) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// A fresh random transaction id: a host off the path must guess it to forge an
/// answer.
pub(crate) fn transaction_id() -> u16 {
    let seed = os_seed();
    u16::from_le_bytes([seed[0], seed[1]])
}
