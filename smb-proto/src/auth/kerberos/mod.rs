//! Kerberos V5 (RFC 4120) for SMB logins to Active Directory (issue #17): the building
//! blocks so far.
//!
//! * [`crypto`]: the encryption types AD uses — AES256/AES128-CTS-HMAC-SHA1-96 (RFC 3962)
//!   and RC4-HMAC (RFC 4757) — with string-to-key, encryption by key usage and keyed
//!   checksums. The caller supplies every random byte (confounders), so a session driven
//!   by the core's seeded generator replays.
//! * [`keytab`]: the keytab file format (version 2), the long-term keys of a principal.
//! * [`ccache`]: MIT's credential cache file (versions 3 and 4): the tickets `kinit` left.
//! * [`asn1`]: the messages (AS, TGS and AP exchanges, KRB-ERROR and the structures they
//!   carry) in DER, checked against a real exchange between MIT's tools and Samba's KDC.
//! * [`gss`]: the GSS-API tokens of a login (AP-REQ with the GSS checksum, AP-REP and
//!   mutual authentication) and which key becomes the SMB session key, checked against a
//!   real smbclient login to Samba.
//! * [`kdc`]: reaching a KDC — which KDC and transport next, TCP framing — without sockets.
//! * [`as_exchange`]: the AS exchange ([`AsExchange`]) that turns a password or a keytab
//!   into a ticket-granting ticket ([`Credential`]), as a sans-IO state machine.
//! * [`tgs_exchange`]: the TGS exchange ([`TgsExchange`]) that turns a ticket-granting
//!   ticket into a service ticket for `cifs/host`, the same way.
//! * [`mechanism`]: Kerberos as the SPNEGO mechanism of an SMB login
//!   ([`SpnegoKerberos`]), given a service ticket.
//! * [`error`]: why an exchange failed ([`KerberosError`]).
//! * [`acceptor`]: the service's side of a login, for whoever holds its keytab (the
//!   dissector): the AP-REQ and AP-REP opened, the SMB session key.
//! * [`flow`]: what a login still needs from the KDC ([`KerberosLogin::need`]) and the
//!   exchanges that get it ([`TicketFlow`]), run by the login operation
//!   ([`crate::ops::Login::kerberos`]), which asks the driver to carry each message
//!   ([`crate::Event::Kdc`], answered with [`crate::Connection::kdc_reply`]).
//! * [`cache`]: the tickets shared by the connections a client opens ([`TicketCache`]).
//!
//! The types a caller builds an exchange from live here: the client [`Principal`], its
//! [`ClientSecret`], and the [`KdcConfig`].

pub mod acceptor;
pub mod as_exchange;
pub mod asn1;
pub mod cache;
pub mod ccache;
pub mod crypto;
pub mod error;
pub mod flow;
pub mod gss;
pub mod kdc;
pub mod keytab;
pub mod mechanism;
pub mod tgs_exchange;

use std::fmt;
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

pub use as_exchange::AsExchange;
pub use cache::TicketCache;
pub use error::KerberosError;
pub use flow::{KerberosLogin, TicketFlow};
pub use kdc::{KdcIoError, KdcRequest, KdcTransport, TransportPolicy};
pub use mechanism::SpnegoKerberos;
pub use tgs_exchange::TgsExchange;

use crypto::{Enctype, Key};
use keytab::Keytab;

/// A Kerberos principal: name components and realm (`alice@SMBTEST.TEST`,
/// `krbtgt/SMBTEST.TEST@SMBTEST.TEST`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The name's components: `["alice"]`, `["krbtgt", "SMBTEST.TEST"]`.
    pub name: Vec<String>,
    /// The realm; Active Directory's is the DNS domain in upper case.
    pub realm: String,
}

impl Principal {
    /// `name` (components separated by `/`) in `realm`.
    ///
    /// # Errors
    ///
    /// [`KerberosError::Credentials`] for an empty realm or name component.
    pub fn new(name: &str, realm: &str) -> Result<Principal, KerberosError> {
        let principal = Principal {
            name: name.split('/').map(str::to_string).collect(),
            realm: realm.to_string(),
        };
        if principal.realm.is_empty() || principal.name.iter().any(String::is_empty) {
            return Err(KerberosError::Credentials(format!(
                "{principal:?} is not a principal name (an empty name component or realm)"
            )));
        }
        Ok(principal)
    }

    /// Reads `name@REALM`; a `name` without `@` takes `default_realm`.
    ///
    /// # Errors
    ///
    /// [`KerberosError::Credentials`] when there is no realm, or an empty part.
    pub fn parse(text: &str, default_realm: Option<&str>) -> Result<Principal, KerberosError> {
        match (text.rsplit_once('@'), default_realm) {
            (Some((name, realm)), _) => Principal::new(name, realm),
            (None, Some(realm)) => Principal::new(text, realm),
            (None, None) => Err(KerberosError::Credentials(format!(
                "no realm for {text:?}: write it as {text}@REALM or give the realm"
            ))),
        }
    }

    /// The ticket-granting service of `realm`, `krbtgt/REALM@REALM`.
    pub fn krbtgt(realm: &str) -> Principal {
        Principal {
            name: vec!["krbtgt".to_string(), realm.to_string()],
            realm: realm.to_string(),
        }
    }

    /// The SMB service on `host` in `realm`: `cifs/host@REALM`, the host name in lower
    /// case (as Active Directory registers service names).
    ///
    /// # Errors
    ///
    /// [`KerberosError::HostIsAnIp`] for an IP address (`127.0.0.4`, `::1`, `[::1]`):
    /// there is no service ticket for an address. [`KerberosError::Credentials`] for an
    /// empty host or realm.
    pub fn cifs(host: &str, realm: &str) -> Result<Principal, KerberosError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<std::net::IpAddr>().is_ok() {
            return Err(KerberosError::HostIsAnIp {
                ip: bare.to_string(),
            });
        }
        let host = host.to_ascii_lowercase();
        if host.contains('/') {
            return Err(KerberosError::Credentials(format!(
                "{host:?} is not a host name"
            )));
        }
        Principal::new(&format!("cifs/{host}"), realm)
    }

    /// The default salt of this principal's keys (RFC 4120 section 4): the realm, then
    /// the name components. Active Directory's user salt reads the same for a user named
    /// as stored (`SMBTEST.TESTalice`); the KDC's ETYPE-INFO2 salt, when given, wins.
    pub fn default_salt(&self) -> Vec<u8> {
        let mut salt = self.realm.as_bytes().to_vec();
        for c in &self.name {
            salt.extend_from_slice(c.as_bytes());
        }
        salt
    }

    fn components(&self) -> Vec<&str> {
        self.name.iter().map(String::as_str).collect()
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name.join("/"), self.realm)
    }
}

/// What proves the client's identity: a password, or long-term keys (from a keytab).
/// Wiped from memory when dropped; its `Debug` shows no secret.
#[derive(Clone)]
pub enum ClientSecret {
    /// A password: the key is derived with the salt and iteration count the KDC names.
    Password(Zeroizing<String>),
    /// Long-term keys, one per etype (a keytab's entries for the principal).
    Keys(Vec<Key>),
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientSecret::Password(_) => f.write_str("Password(<redacted>)"),
            ClientSecret::Keys(keys) => f.debug_tuple("Keys").field(keys).finish(),
        }
    }
}

impl ClientSecret {
    /// A password.
    pub fn password(password: &str) -> ClientSecret {
        ClientSecret::Password(Zeroizing::new(password.to_string()))
    }

    /// `client`'s keys in `keytab`: for each etype this client speaks, the entry with the
    /// highest key version (realm and name matched exactly, the name type ignored).
    ///
    /// # Errors
    ///
    /// [`KerberosError::Credentials`] when the keytab holds no usable key for `client`.
    pub fn from_keytab(keytab: &Keytab, client: &Principal) -> Result<ClientSecret, KerberosError> {
        let keys: Vec<Key> = [Enctype::Aes256, Enctype::Aes128, Enctype::Rc4Hmac]
            .into_iter()
            .filter_map(|etype| keytab.find(&client.realm, &client.components(), etype))
            .filter_map(|entry| entry.key().ok())
            .collect();
        if keys.is_empty() {
            return Err(KerberosError::Credentials(format!(
                "the keytab has no AES or RC4 key for {client} (it holds: {})",
                keytab
                    .entries()
                    .iter()
                    .map(|e| format!("{} etype {}", e.principal(), e.enctype()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(ClientSecret::Keys(keys))
    }
}

/// How to reach the KDC and what to ask of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdcConfig {
    /// The KDCs to try in order, `host:port` (port 88 when absent). Empty: the realm's
    /// name in lower case, as a host name (no DNS SRV lookup).
    pub kdcs: Vec<String>,
    /// Which transports, in which order ([`TransportPolicy::TcpThenUdp`] by default).
    pub transport: TransportPolicy,
    /// How long each attempt (one KDC, one transport) may take.
    pub timeout: Duration,
    /// The encryption types accepted, most preferred first: AES-256, AES-128, RC4.
    pub etypes: Vec<Enctype>,
    /// Seconds added to this machine's clock for Kerberos, for a host whose clock is known
    /// to be off (and for tests): positive when the clock is behind the KDC's.
    pub time_offset: i64,
    /// The ticket lifetime asked for (the KDC caps it; Active Directory at 10 hours).
    pub lifetime: Duration,
}

impl Default for KdcConfig {
    fn default() -> Self {
        KdcConfig {
            kdcs: Vec::new(),
            transport: TransportPolicy::default(),
            timeout: kdc::DEFAULT_TIMEOUT,
            etypes: vec![Enctype::Aes256, Enctype::Aes128, Enctype::Rc4Hmac],
            time_offset: 0,
            lifetime: Duration::from_secs(10 * 3600),
        }
    }
}

impl KdcConfig {
    /// The defaults: the realm's host on port 88, TCP then UDP, 5 s per attempt,
    /// AES-256, AES-128 and RC4, a 10-hour ticket.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a KDC to try (`host:port`, or `host` for port 88).
    pub fn kdc(mut self, kdc: &str) -> Self {
        self.kdcs.push(kdc.to_string());
        self
    }

    /// Sets the transport policy.
    pub fn transport(mut self, transport: TransportPolicy) -> Self {
        self.transport = transport;
        self
    }

    /// Sets the time each attempt may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the encryption types accepted, most preferred first.
    pub fn etypes(mut self, etypes: &[Enctype]) -> Self {
        self.etypes = etypes.to_vec();
        self
    }

    /// Sets the seconds added to this machine's clock.
    pub fn time_offset(mut self, seconds: i64) -> Self {
        self.time_offset = seconds;
        self
    }
}

/// What the AS and TGS exchanges have in common for a driver: the attempts to make, their
/// outcomes handed back, and the ticket in the end. The loop, whichever the exchange:
///
/// 1. if [`TicketExchange::poll_result`] gives the outcome, stop;
/// 2. make the attempt [`TicketExchange::poll_request`] gives and hand its reply (or
///    failure) to [`TicketExchange::handle_reply`] with the time; go to 1.
///
/// Each reply handed in either queues the next attempt or settles the outcome.
pub trait TicketExchange {
    /// The attempt to make now; `None` while one is in flight or once settled.
    fn poll_request(&mut self) -> Option<KdcRequest>;
    /// The outcome of the last attempt, at wall-clock time `now`.
    fn handle_reply(&mut self, reply: Result<Vec<u8>, KdcIoError>, now: SystemTime);
    /// The outcome, once: the ticket, or why there is none.
    fn poll_result(&mut self) -> Option<Result<Credential, KerberosError>>;
}

macro_rules! ticket_exchange {
    ($t:ty) => {
        impl TicketExchange for $t {
            fn poll_request(&mut self) -> Option<KdcRequest> {
                <$t>::poll_request(self)
            }
            fn handle_reply(&mut self, reply: Result<Vec<u8>, KdcIoError>, now: SystemTime) {
                <$t>::handle_reply(self, reply, now)
            }
            fn poll_result(&mut self) -> Option<Result<Credential, KerberosError>> {
                <$t>::poll_result(self)
            }
        }
    };
}
ticket_exchange!(AsExchange);
ticket_exchange!(TgsExchange);

/// Ticket flags (RFC 4120 5.3, `TicketFlags`): bit 0 is the most significant bit.
pub mod ticket_flags {
    /// forwardable (bit 1).
    pub const FORWARDABLE: u32 = 1 << 30;
    /// renewable (bit 8).
    pub const RENEWABLE: u32 = 1 << 23;
    /// initial: issued by the AS exchange, not from a TGT (bit 9).
    pub const INITIAL: u32 = 1 << 22;
    /// pre-authent: the client proved its key before the ticket was issued (bit 10).
    pub const PRE_AUTHENT: u32 = 1 << 21;
    /// ok-as-delegate (bit 13).
    pub const OK_AS_DELEGATE: u32 = 1 << 18;
    /// enc-pa-rep: the KDC protected the padata (RFC 6806, bit 15).
    pub const ENC_PA_REP: u32 = 1 << 16;
}

/// A ticket and what goes with it: what an AS or TGS exchange gives, and what an AP-REQ
/// (or the next TGS-REQ) is made from. The session key is wiped when dropped; `Debug`
/// shows neither it nor the ticket's bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The client, as the KDC named it in its reply (it may correct the case).
    pub client: Principal,
    /// The service the ticket is for (`krbtgt/REALM@REALM` for a TGT).
    pub server: Principal,
    /// The ticket's DER exactly as the KDC sent it: it goes into requests as is.
    pub ticket: Vec<u8>,
    /// The etype the ticket itself is encrypted in (the service's key; opaque to the
    /// client).
    pub ticket_etype: i32,
    /// The session key shared with the service.
    pub session_key: Key,
    /// The ticket flags ([`ticket_flags`]).
    pub flags: u32,
    /// When the client authenticated.
    pub authtime: SystemTime,
    /// When the ticket becomes valid (the authtime when the KDC gave none).
    pub starttime: SystemTime,
    /// When the ticket expires.
    pub endtime: SystemTime,
    /// Until when it may be renewed, for a renewable ticket.
    pub renew_till: Option<SystemTime>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("client", &self.client.to_string())
            .field("server", &self.server.to_string())
            .field("ticket_len", &self.ticket.len())
            .field("ticket_etype", &self.ticket_etype)
            .field("session_key", &self.session_key)
            .field("flags", &format_args!("{:#010x}", self.flags))
            .field("authtime", &self.authtime)
            .field("starttime", &self.starttime)
            .field("endtime", &self.endtime)
            .field("renew_till", &self.renew_till)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_read_and_print() {
        let p = Principal::parse("alice@SMBTEST.TEST", None).unwrap();
        assert_eq!(p.name, ["alice"]);
        assert_eq!(p.realm, "SMBTEST.TEST");
        assert_eq!(p.to_string(), "alice@SMBTEST.TEST");
        assert_eq!(p.default_salt(), b"SMBTEST.TESTalice");
        assert_eq!(Principal::parse("alice", Some("R")).unwrap().realm, "R");
        // The name's own realm wins over the default.
        assert_eq!(Principal::parse("a@X", Some("R")).unwrap().realm, "X");
        let svc = Principal::new("cifs/dc.smbtest.test", "SMBTEST.TEST").unwrap();
        assert_eq!(svc.name, ["cifs", "dc.smbtest.test"]);
        assert_eq!(Principal::krbtgt("R").to_string(), "krbtgt/R@R");
        for bad in ["alice", "@R", "a@", "a//b@R"] {
            let e = Principal::parse(bad, None).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad}: {e}");
        }
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let s = ClientSecret::password("Sm0ke-Test!pw");
        assert!(!format!("{s:?}").contains("Sm0ke"));
        let key = Key::new(Enctype::Rc4Hmac, &[0x5a; 16]).unwrap();
        let s = ClientSecret::Keys(vec![key]);
        let shown = format!("{s:?}");
        assert!(!shown.contains("90") && !shown.contains("5a"), "{shown}");
    }
}
