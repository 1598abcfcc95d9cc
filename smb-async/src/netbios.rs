//! The NetBIOS name service on any runtime: pysmb's `NetBIOS.queryName` and
//! `queryIPForName` as `async fn`s. The exchange itself (retries, matching, deadline)
//! is [`smb_proto::netbios::NameQuery`]; this only moves its datagrams.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::FutureExt;
use smb_proto::netbios::packet::MAX_DATAGRAM_LEN;
use smb_proto::netbios::query::ignorable_receive_error;
use smb_proto::netbios::{NameQuery, NameService, NodeStatus, Query};

use crate::runtime::Runtime;
use crate::{os_seed, Result};

/// Unicast NetBIOS name queries over the runtime's UDP sockets, in the spirit of
/// pysmb's `NetBIOS(broadcast=False)`. Each query uses a socket of its own, so clones
/// may query concurrently.
///
/// ```no_run
/// # async fn demo(netbios: smb_async::NetBios) -> smb_async::Result<()> {
/// use std::time::Duration;
/// let ip = "192.168.1.10".parse().unwrap();
/// let names = netbios.query_ip_for_name(ip, Duration::from_secs(2)).await?;
/// let addresses = netbios.query_name(&names[0], ip, Duration::from_secs(2)).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct NetBios {
    runtime: Arc<dyn Runtime>,
    service: NameService,
}

impl std::fmt::Debug for NetBios {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetBios")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl NetBios {
    /// Queries on `runtime` as `service` says (port, RD flag, attempts).
    pub fn new(runtime: Arc<dyn Runtime>, service: NameService) -> Self {
        NetBios { runtime, service }
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
    pub async fn query_name(
        &self,
        name: &str,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<Vec<Ipv4Addr>> {
        let query = self
            .service
            .name_query(name, ip, transaction_id(), timeout, Instant::now())?;
        self.run(query).await
    }

    /// The names registered at `ip`, each once, in the node's order: its own name,
    /// then its workgroup's (pysmb's `queryIPForName`, which keeps only the file
    /// server names; [`NetBios::node_status`] has the suffixes to filter by).
    ///
    /// # Errors
    ///
    /// As for [`NetBios::node_status`].
    pub async fn query_ip_for_name(&self, ip: Ipv4Addr, timeout: Duration) -> Result<Vec<String>> {
        Ok(self.node_status(ip, timeout).await?.distinct_names())
    }

    /// The node status of `ip`: every name it holds, with suffix and flags, and its MAC
    /// address.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut) when nothing answers within
    /// `timeout`, [`Error::Io`](crate::Error::Io) when the socket fails.
    pub async fn node_status(&self, ip: Ipv4Addr, timeout: Duration) -> Result<NodeStatus> {
        let query = self
            .service
            .node_status(ip, transaction_id(), timeout, Instant::now());
        self.run(query).await
    }

    /// Moves datagrams between a fresh socket and `query` until it has its outcome.
    pub(crate) async fn run<Q: Query>(&self, mut query: NameQuery<Q>) -> Result<Q::Output> {
        let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        let sock = self.runtime.bind_udp(any).await?;
        let mut buf = vec![0; MAX_DATAGRAM_LEN];
        loop {
            let now = Instant::now();
            query.handle_timeout(now);
            while let Some(t) = query.poll_transmit(now) {
                sock.send_to(t.payload, t.destination.into()).await?;
            }
            if let Some(result) = query.poll_result() {
                return Ok(result?);
            }
            let Some(wake) = query.poll_timeout() else {
                continue;
            };
            let received = async { Some(sock.recv_from(&mut buf).await) }
                .or(async {
                    self.runtime.sleep_until(wake).await;
                    None
                })
                .await;
            match received {
                Some(Ok((n, from))) => {
                    query.handle_datagram(from, &buf[..n]);
                }
                Some(Err(e)) if ignorable_receive_error(e.kind()) => {}
                Some(Err(e)) => return Err(e.into()),
                None => {}
            }
        }
    }
}

/// A fresh random transaction id: a host off the path must guess it to forge an
/// answer.
pub(crate) fn transaction_id() -> u16 {
    let seed = os_seed();
    u16::from_le_bytes([seed[0], seed[1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The futures can be spawned on a multi-threaded executor.
    #[test]
    fn futures_are_send() {
        fn send<T: Send>(_: &T) {}
        fn check(nb: &NetBios) {
            let ip = Ipv4Addr::LOCALHOST;
            send(&nb.query_name("X", ip, Duration::ZERO));
            send(&nb.query_ip_for_name(ip, Duration::ZERO));
            send(&nb.node_status(ip, Duration::ZERO));
        }
        let _ = check;
    }
}
