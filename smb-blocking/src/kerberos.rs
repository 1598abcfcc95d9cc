//! Kerberos over `std::net`: asking a KDC for tickets. The exchanges themselves (messages,
//! keys, which KDC and transport next, error meanings) are
//! [`smb_proto::auth::kerberos::AsExchange`] and [`TgsExchange`]; this only moves their
//! messages.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Instant, SystemTime};

use smb_proto::auth::kerberos::kdc::{tcp_frame, tcp_reply_len, MAX_UDP_REPLY};
pub use smb_proto::auth::kerberos::{
    AsExchange, ClientSecret, Credential, KdcConfig, KdcIoError, KdcRequest, KdcTransport,
    KerberosError, Principal, TgsExchange, TicketExchange, TransportPolicy,
};

use smb_proto::ops;

use crate::{os_seed, ConnectOptions, Result};

/// Asks the KDC of `client`'s realm for a ticket-granting ticket (the AS exchange with
/// pre-authentication), proving the client's identity with `secret`, reaching the KDC as
/// `config` says.
///
/// ```no_run
/// use smb_blocking::kerberos::{request_tgt, ClientSecret, KdcConfig, Principal};
///
/// let alice = Principal::parse("alice@SMBTEST.TEST", None)?;
/// let config = KdcConfig::new().kdc("127.0.0.4:8888");
/// let tgt = request_tgt(&alice, ClientSecret::password("Al1ce-Pass!x"), &config)?;
/// println!("{} for {}, until {:?}", tgt.server, tgt.client, tgt.endtime);
/// # Ok::<(), smb_blocking::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Kerberos`](crate::Error::Kerberos) with a [`KerberosError`]:
/// [`KdcUnreachable`](KerberosError::KdcUnreachable) naming each KDC and transport tried
/// ([`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut) when all timed out, else
/// [`Disconnected`](crate::ErrorKind::Disconnected)),
/// [`UnknownPrincipal`](KerberosError::UnknownPrincipal),
/// [`WrongPassword`](KerberosError::WrongPassword),
/// [`ClockSkew`](KerberosError::ClockSkew) with the measured difference,
/// [`NoCommonEtype`](KerberosError::NoCommonEtype) and
/// [`AccountUnusable`](KerberosError::AccountUnusable) (all
/// [`AuthenticationFailed`](crate::ErrorKind::AuthenticationFailed)), or
/// [`BadReply`](KerberosError::BadReply)
/// ([`ProtocolViolation`](crate::ErrorKind::ProtocolViolation)).
pub fn request_tgt(
    client: &Principal,
    secret: ClientSecret,
    config: &KdcConfig,
) -> Result<Credential> {
    run(AsExchange::new(
        client.clone(),
        secret,
        config,
        os_seed(),
        SystemTime::now(),
    ))
}

/// Asks the KDC that issued `tgt` for a ticket to `service` (the TGS exchange), e.g.
/// [`Principal::cifs`] for an SMB server, reaching the KDC as `config` says.
///
/// ```no_run
/// use smb_blocking::kerberos::{request_service_ticket, request_tgt, ClientSecret, KdcConfig, Principal};
///
/// let alice = Principal::parse("alice@SMBTEST.TEST", None)?;
/// let config = KdcConfig::new().kdc("127.0.0.4:8888");
/// let tgt = request_tgt(&alice, ClientSecret::password("Al1ce-Pass!x"), &config)?;
/// let server = Principal::cifs("dc.smbtest.test", &tgt.client.realm)?;
/// let ticket = request_service_ticket(&tgt, &server, &config)?;
/// println!("{} until {:?}", ticket.server, ticket.endtime);
/// # Ok::<(), smb_blocking::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Kerberos`](crate::Error::Kerberos) with a [`KerberosError`]:
/// [`NoServiceTicket`](KerberosError::NoServiceTicket) naming the service when the KDC
/// knows no such service, and the failures [`request_tgt`] lists for reaching the KDC,
/// the clocks, and bad replies.
pub fn request_service_ticket(
    tgt: &Credential,
    service: &Principal,
    config: &KdcConfig,
) -> Result<Credential> {
    run(TgsExchange::new(
        tgt,
        service.clone(),
        config,
        os_seed(),
        SystemTime::now(),
    ))
}

/// The login [`ConnectOptions::kerberos`] asks for, with the keytab or credential cache file read here and `KRB5CCNAME` taken
/// from this process's environment (the core opens no file). The core decides what the
/// login needs and runs the AS and TGS exchanges during it; this driver carries their
/// messages ([`serve`]).
pub(crate) fn login(opts: &ConnectOptions) -> Result<ops::Login> {
    // KRB5CCNAME is this process's: the core reads no environment (nor any file).
    let krb5ccname = std::env::var("KRB5CCNAME").ok();
    let login = opts.kerberos_login(krb5ccname.as_deref(), |path| std::fs::read(path))?;
    Ok(ops::Login::kerberos(login))
}

/// Moves an exchange's messages until it settles.
fn run(mut exchange: impl TicketExchange) -> Result<Credential> {
    loop {
        if let Some(result) = exchange.poll_result() {
            return Ok(result?);
        }
        if let Some(request) = exchange.poll_request() {
            exchange.handle_reply(send(&request), SystemTime::now());
        }
    }
}

/// Makes one attempt: sends `request.message` to `request.kdc` over its transport and
/// returns the reply, all within `request.timeout`.
///
/// # Errors
///
/// Why there is no reply, as [`KdcIoError`].
pub fn send(request: &KdcRequest) -> Result<Vec<u8>, KdcIoError> {
    let io = |e: std::io::Error| KdcIoError::from_io(&e);
    let addr: SocketAddr = request
        .kdc
        .to_socket_addrs()
        .map_err(|e| KdcIoError::Resolve(e.to_string()))?
        .next()
        .ok_or_else(|| KdcIoError::Resolve(format!("{} has no address", request.kdc)))?;
    let deadline = Instant::now() + request.timeout;
    // What is left of the attempt's time; a zero read timeout would mean "forever".
    let left = || {
        Some(deadline.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
            .ok_or(KdcIoError::TimedOut)
    };
    match request.transport {
        KdcTransport::Tcp => {
            let mut stream = TcpStream::connect_timeout(&addr, request.timeout).map_err(io)?;
            stream.set_write_timeout(Some(left()?)).map_err(io)?;
            stream.write_all(&tcp_frame(&request.message)).map_err(io)?;
            let mut marker = [0; 4];
            stream.set_read_timeout(Some(left()?)).map_err(io)?;
            stream.read_exact(&mut marker).map_err(io)?;
            let mut reply = vec![0; tcp_reply_len(marker)?];
            stream.set_read_timeout(Some(left()?)).map_err(io)?;
            stream.read_exact(&mut reply).map_err(io)?;
            Ok(reply)
        }
        KdcTransport::Udp => {
            let local: SocketAddr = match addr {
                SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
                SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
            };
            let socket = UdpSocket::bind(local).map_err(io)?;
            // Connected: only the KDC's datagrams arrive, and a closed port is refused.
            socket.connect(addr).map_err(io)?;
            socket.send(&request.message).map_err(io)?;
            socket.set_read_timeout(Some(left()?)).map_err(io)?;
            let mut reply = vec![0; MAX_UDP_REPLY];
            let n = socket.recv(&mut reply).map_err(io)?;
            reply.truncate(n);
            Ok(reply)
        }
    }
}
