//! Kerberos over a [`Runtime`]: asking a KDC for tickets, and the tickets a Kerberos
//! login needs. The exchanges themselves are
//! [`smb_proto::auth::kerberos::AsExchange`] and [`TgsExchange`]; this only moves their
//! messages.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::SystemTime;

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use smb_proto::auth::kerberos::kdc::{tcp_frame, tcp_reply_len, MAX_UDP_REPLY};
pub use smb_proto::auth::kerberos::{
    AsExchange, ClientSecret, Credential, KdcConfig, KdcIoError, KdcRequest, KdcTransport,
    KerberosError, Principal, TgsExchange, TicketExchange, TransportPolicy,
};
use smb_proto::client::ConnectOptions;
use smb_proto::ops;

use crate::runtime::Runtime;
use crate::{os_seed, Result};

/// Asks the KDC of `client`'s realm for a ticket-granting ticket, as
/// `smb_blocking::kerberos::request_tgt` does, over `runtime`.
///
/// # Errors
///
/// [`Error::Kerberos`](crate::Error::Kerberos) with the [`KerberosError`]: the KDC
/// unreachable, an unknown principal, a wrong password, a clock skew, no common etype, an
/// unusable account, a bad reply.
pub async fn request_tgt(
    runtime: &dyn Runtime,
    client: &Principal,
    secret: ClientSecret,
    config: &KdcConfig,
) -> Result<Credential> {
    let exchange = AsExchange::new(client.clone(), secret, config, os_seed(), SystemTime::now());
    run(runtime, exchange).await
}

/// Asks the KDC that issued `tgt` for a ticket to `service` (e.g. [`Principal::cifs`]),
/// over `runtime`.
///
/// # Errors
///
/// [`Error::Kerberos`](crate::Error::Kerberos): [`KerberosError::NoServiceTicket`]
/// naming the service when the KDC knows none of that name, and the failures of
/// [`request_tgt`] for reaching the KDC, the clocks and bad replies.
pub async fn request_service_ticket(
    runtime: &dyn Runtime,
    tgt: &Credential,
    service: &Principal,
    config: &KdcConfig,
) -> Result<Credential> {
    let exchange = TgsExchange::new(tgt, service.clone(), config, os_seed(), SystemTime::now());
    run(runtime, exchange).await
}

/// The login [`ConnectOptions::kerberos`] asks for, with the keytab or credential cache file read here and `KRB5CCNAME` taken
/// from this process's environment (the core opens no file). The core decides what the
/// login needs and runs the AS and TGS exchanges during it; the connection's task
/// carries their messages ([`send`]).
pub(crate) fn login(opts: &ConnectOptions) -> Result<ops::Login> {
    // KRB5CCNAME is this process's: the core reads no environment (nor any file).
    let krb5ccname = std::env::var("KRB5CCNAME").ok();
    let login = opts.kerberos_login(krb5ccname.as_deref(), |path| std::fs::read(path))?;
    Ok(ops::Login::kerberos(login))
}

/// Moves an exchange's messages until it settles.
async fn run(runtime: &dyn Runtime, mut exchange: impl TicketExchange) -> Result<Credential> {
    loop {
        if let Some(result) = exchange.poll_result() {
            return Ok(result?);
        }
        if let Some(request) = exchange.poll_request() {
            let reply = send(runtime, &request).await;
            exchange.handle_reply(reply, SystemTime::now());
        }
    }
}

/// Makes one attempt: sends `request.message` to `request.kdc` over its transport and
/// returns the reply, all within `request.timeout`. UDP needs the KDC as an address.
///
/// # Errors
///
/// Why there is no reply, as [`KdcIoError`].
pub async fn send(runtime: &dyn Runtime, request: &KdcRequest) -> Result<Vec<u8>, KdcIoError> {
    let timeout = runtime.sleep(request.timeout);
    attempt(runtime, request)
        .or(async {
            timeout.await;
            Err(KdcIoError::TimedOut)
        })
        .await
}

async fn attempt(runtime: &dyn Runtime, request: &KdcRequest) -> Result<Vec<u8>, KdcIoError> {
    let io = |e: io::Error| KdcIoError::from_io(&e);
    let (host, port) = request
        .kdc
        .rsplit_once(':')
        .and_then(|(h, p)| {
            Some((
                h.trim_start_matches('[').trim_end_matches(']'),
                p.parse().ok()?,
            ))
        })
        .ok_or_else(|| KdcIoError::Resolve(format!("{} is not host:port", request.kdc)))?;
    match request.transport {
        KdcTransport::Tcp => {
            let mut stream = runtime.connect(host, port).await.map_err(io)?;
            stream
                .write_all(&tcp_frame(&request.message))
                .await
                .map_err(io)?;
            stream.flush().await.map_err(io)?;
            let mut marker = [0; 4];
            stream.read_exact(&mut marker).await.map_err(io)?;
            let mut reply = vec![0; tcp_reply_len(marker)?];
            stream.read_exact(&mut reply).await.map_err(io)?;
            Ok(reply)
        }
        KdcTransport::Udp => {
            let ip = host.parse().map_err(|_| {
                KdcIoError::Resolve(format!("UDP to the KDC needs an address, not {host}"))
            })?;
            let kdc = SocketAddr::new(ip, port);
            let local: SocketAddr = match kdc {
                SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
                SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
            };
            let socket = runtime.bind_udp(local).await.map_err(io)?;
            socket.send_to(&request.message, kdc).await.map_err(io)?;
            let mut reply = vec![0; MAX_UDP_REPLY];
            loop {
                let (n, from) = socket.recv_from(&mut reply).await.map_err(io)?;
                // Only the KDC's answer; anything else on the port is ignored.
                if from == kdc {
                    reply.truncate(n);
                    return Ok(reply);
                }
            }
        }
    }
}
