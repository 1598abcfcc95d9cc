//! The tickets of one Kerberos login, in the core: what the login still needs from the
//! KDC ([`KerberosLogin::need`], the one place that decides), and the AS and TGS
//! exchanges that get it ([`TicketFlow`]), run without sockets. The login operation
//! ([`crate::ops::Login::kerberos`]) asks the driver to carry each message with
//! [`crate::Event::Kdc`] and gets the answer back through
//! [`crate::Connection::kdc_reply`].
//!
//! ```text
//! need() = Tgt            → AS exchange → TGT → TGS exchange → service ticket → AP-REQ
//! need() = ServiceTicket  →               TGS exchange → service ticket → AP-REQ
//! need() = Nothing        →                                           AP-REQ
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};

use super::{
    AsExchange, ClientSecret, Credential, KdcConfig, KdcIoError, KdcRequest, KerberosError,
    Principal, TgsExchange,
};
use crate::rng::Rng;

/// How long before its end a ticket is no longer used: a login started with a ticket
/// about to expire would fail at the server.
pub const TICKET_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Everything a Kerberos login starts from: who logs in, to which service, with what
/// proof, through which KDCs; and tickets it may already hold (a ticket-granting ticket
/// from a credential cache, a service ticket from an earlier login). `Debug` shows no
/// secret.
#[derive(Clone)]
pub struct KerberosLogin {
    /// The client, `user@REALM`.
    pub client: Principal,
    /// The SMB server's service, `cifs/host@REALM`.
    pub service: Principal,
    /// The password or keys; `None` when only held tickets can be used.
    pub secret: Option<ClientSecret>,
    /// The KDCs, transports, etypes and clock offset.
    pub kdc: KdcConfig,
    /// A ticket-granting ticket already held, used while valid.
    pub tgt: Option<Credential>,
    /// A service ticket for [`KerberosLogin::service`] already held, used while valid.
    pub service_ticket: Option<Credential>,
    /// Why Kerberos cannot serve this login before any KDC is asked (the server named
    /// by its address: [`KerberosError::HostIsAnIp`]); the login then falls back, or
    /// fails with it.
    pub unusable: Option<KerberosError>,
    /// The NTLM login to fall back to when Kerberos fails in a way NTLM can get past
    /// ([`KerberosError::ntlm_may_follow`]); `None`: Kerberos is required.
    pub fallback: Option<crate::auth::ntlm::Credentials>,
    /// Where the tickets the KDC issues for this login are kept for the next ones.
    pub cache: Option<super::TicketCache>,
}

impl fmt::Debug for KerberosLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KerberosLogin")
            .field("client", &self.client.to_string())
            .field("service", &self.service.to_string())
            .field("secret", &self.secret)
            .field("kdc", &self.kdc)
            .field("tgt", &self.tgt)
            .field("service_ticket", &self.service_ticket)
            .field("unusable", &self.unusable)
            .field("fallback", &self.fallback.as_ref().map(|_| "NTLM"))
            .field("cache", &self.cache)
            .finish()
    }
}

/// What a login still needs from the KDC ([`KerberosLogin::need`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// A ticket-granting ticket (the AS exchange), then a service ticket.
    Tgt,
    /// A service ticket (the TGS exchange) from this ticket-granting ticket.
    ServiceTicket(Credential),
    /// Nothing: this service ticket makes the AP-REQ.
    Nothing(Credential),
}

/// Whether `ticket` is still good at `now` (with [`TICKET_MARGIN`] to spare).
pub fn is_fresh(ticket: &Credential, now: SystemTime) -> bool {
    now.checked_add(TICKET_MARGIN)
        .is_some_and(|t| ticket.endtime > t)
}

impl KerberosLogin {
    /// What the login still needs from the KDC at wall-clock time `now` (already moved
    /// by the configured offset): nothing with a fresh service ticket for the service, a
    /// service ticket with a fresh ticket-granting ticket of the client's realm, else a
    /// ticket-granting ticket.
    pub fn need(&self, now: SystemTime) -> Need {
        if let Some(t) = self
            .service_ticket
            .as_ref()
            .filter(|t| t.server == self.service && is_fresh(t, now))
        {
            return Need::Nothing(t.clone());
        }
        let krbtgt = Principal::krbtgt(&self.client.realm);
        match self
            .tgt
            .as_ref()
            .filter(|t| t.server == krbtgt && is_fresh(t, now))
        {
            Some(tgt) => Need::ServiceTicket(tgt.clone()),
            None => Need::Tgt,
        }
    }
}

impl KerberosLogin {
    /// Why a login with no secret cannot go on: the ticket it held (a credential
    /// cache's) has expired, naming the one that lasted longest; or it held none.
    fn no_ticket(&self) -> KerberosError {
        let krbtgt = Principal::krbtgt(&self.client.realm);
        let held = [
            self.tgt.as_ref().filter(|t| t.server == krbtgt),
            self.service_ticket
                .as_ref()
                .filter(|t| t.server == self.service),
        ];
        match held.into_iter().flatten().max_by_key(|t| t.endtime) {
            Some(t) => KerberosError::TicketExpired {
                server: t.server.to_string(),
                endtime: super::ccache::unix_secs(t.endtime),
            },
            None => KerberosError::Credentials(format!(
                "no password or key for {}, and no valid ticket",
                self.client
            )),
        }
    }
}

/// `now` moved by `offset` seconds.
pub(crate) fn shifted(now: SystemTime, offset: i64) -> SystemTime {
    let by = Duration::from_secs(offset.unsigned_abs());
    let moved = if offset >= 0 {
        now.checked_add(by)
    } else {
        now.checked_sub(by)
    };
    moved.unwrap_or(now)
}

/// What the flow wants next ([`TicketFlow::poll`]).
#[derive(Debug)]
pub enum FlowStep {
    /// Carry this message to a KDC and hand the answer to [`TicketFlow::handle_reply`].
    Kdc(KdcRequest),
    /// An attempt is in flight: wait for its answer.
    Waiting,
    /// The service ticket: the AP-REQ can go out.
    Ready(Credential),
}

enum Stage {
    As(Box<AsExchange>),
    Tgs(Box<TgsExchange>),
    Ready(Box<Credential>),
    Failed,
}

/// The AS and TGS exchanges one login needs, as a state machine: [`TicketFlow::poll`]
/// gives the next KDC message (or the service ticket), [`TicketFlow::handle_reply`] takes
/// the answer. Its randomness comes from one seed, its time from the caller.
pub struct TicketFlow {
    login: KerberosLogin,
    /// Seeds the TGS exchange (drawn whether or not it runs).
    tgs_seed: [u8; 32],
    stage: Stage,
    /// Tickets the KDC issued during this flow, for a cache to keep.
    issued: Vec<Credential>,
}

impl fmt::Debug for TicketFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match &self.stage {
            Stage::As(_) => "AS exchange",
            Stage::Tgs(_) => "TGS exchange",
            Stage::Ready(_) => "ready",
            Stage::Failed => "failed",
        };
        f.debug_struct("TicketFlow")
            .field("login", &self.login)
            .field("stage", &stage)
            .finish_non_exhaustive()
    }
}

impl TicketFlow {
    /// The flow for `login` at wall-clock time `now` (not yet moved by the offset), its
    /// nonces and confounders drawn from `seed`.
    ///
    /// # Errors
    ///
    /// [`KerberosError::Credentials`] when a ticket-granting ticket is needed and there is
    /// no password or key to get one with.
    pub fn new(
        login: KerberosLogin,
        seed: [u8; 32],
        now: SystemTime,
    ) -> Result<TicketFlow, KerberosError> {
        if let Some(e) = &login.unusable {
            return Err(e.clone());
        }
        let mut rng = Rng::from_seed(seed);
        let (as_seed, tgs_seed) = (rng.array(), rng.array());
        let stage = match login.need(shifted(now, login.kdc.time_offset)) {
            Need::Nothing(ticket) => Stage::Ready(Box::new(ticket)),
            Need::ServiceTicket(tgt) => Stage::Tgs(Box::new(TgsExchange::new(
                &tgt,
                login.service.clone(),
                &login.kdc,
                tgs_seed,
                now,
            ))),
            Need::Tgt => {
                let secret = login.secret.clone().ok_or_else(|| login.no_ticket())?;
                Stage::As(Box::new(AsExchange::new(
                    login.client.clone(),
                    secret,
                    &login.kdc,
                    as_seed,
                    now,
                )))
            }
        };
        Ok(TicketFlow {
            login,
            tgs_seed,
            stage,
            issued: Vec::new(),
        })
    }

    /// The tickets the KDC issued so far (the TGT first), for a cache.
    pub fn issued(&self) -> &[Credential] {
        &self.issued
    }

    /// What to do next, at wall-clock time `now` (not yet moved by the offset): carry a
    /// message, wait, or use the service ticket.
    ///
    /// # Errors
    ///
    /// Why there is no ticket ([`KerberosError`]); the flow is over then.
    pub fn poll(&mut self, now: SystemTime) -> Result<FlowStep, KerberosError> {
        loop {
            let result = match &mut self.stage {
                Stage::As(x) => match x.poll_result() {
                    Some(r) => r,
                    None => return Ok(x.poll_request().map_or(FlowStep::Waiting, FlowStep::Kdc)),
                },
                Stage::Tgs(x) => match x.poll_result() {
                    Some(r) => r,
                    None => return Ok(x.poll_request().map_or(FlowStep::Waiting, FlowStep::Kdc)),
                },
                Stage::Ready(t) => {
                    if let Some(cache) = &self.login.cache {
                        if !self.issued.is_empty() {
                            cache.store(&std::mem::take(&mut self.issued), now);
                        }
                    }
                    return Ok(FlowStep::Ready((**t).clone()));
                }
                Stage::Failed => {
                    return Err(KerberosError::Credentials(
                        "the ticket exchange failed already".into(),
                    ))
                }
            };
            let ticket = match result {
                Ok(t) => t,
                Err(e) => {
                    self.stage = Stage::Failed;
                    return Err(e);
                }
            };
            self.issued.push(ticket.clone());
            self.stage = if matches!(self.stage, Stage::As(_)) {
                Stage::Tgs(Box::new(TgsExchange::new(
                    &ticket,
                    self.login.service.clone(),
                    &self.login.kdc,
                    self.tgs_seed,
                    now,
                )))
            } else {
                Stage::Ready(Box::new(ticket))
            };
        }
    }

    /// Hands in the answer to the message [`TicketFlow::poll`] gave (or why none came),
    /// at wall-clock time `now` (not yet moved by the offset).
    pub fn handle_reply(&mut self, reply: Result<Vec<u8>, KdcIoError>, now: SystemTime) {
        match &mut self.stage {
            Stage::As(x) => x.handle_reply(reply, now),
            Stage::Tgs(x) => x.handle_reply(reply, now),
            Stage::Ready(_) | Stage::Failed => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::kerberos::crypto::{Enctype, Key};
    use std::time::UNIX_EPOCH;

    fn ticket(server: Principal, endtime: SystemTime) -> Credential {
        Credential {
            client: Principal::parse("alice@R.TEST", None).unwrap(),
            server,
            ticket: vec![0x61, 0],
            ticket_etype: 18,
            session_key: Key::new(Enctype::Aes256, &[7; 32]).unwrap(),
            flags: 0,
            authtime: UNIX_EPOCH,
            starttime: UNIX_EPOCH,
            endtime,
            renew_till: None,
        }
    }

    /// One place decides what the KDC still has to give: a fresh service ticket for the
    /// service needs nothing, a fresh TGT of the realm needs a TGS exchange, anything
    /// else (expiring, another service or realm, nothing) the AS exchange.
    #[test]
    fn the_login_asks_the_kdc_only_for_what_it_lacks() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let later = now + Duration::from_secs(3600);
        let soon = now + Duration::from_secs(60);
        let cifs = Principal::cifs("dc.r.test", "R.TEST").unwrap();
        let mut login = KerberosLogin {
            client: Principal::parse("alice@R.TEST", None).unwrap(),
            service: cifs.clone(),
            secret: None,
            kdc: KdcConfig::default(),
            tgt: None,
            service_ticket: None,
            unusable: None,
            fallback: None,
            cache: None,
        };
        assert_eq!(login.need(now), Need::Tgt);
        let tgt = ticket(Principal::krbtgt("R.TEST"), later);
        login.tgt = Some(tgt.clone());
        assert_eq!(login.need(now), Need::ServiceTicket(tgt.clone()));
        login.tgt = Some(ticket(Principal::krbtgt("OTHER.TEST"), later));
        assert_eq!(login.need(now), Need::Tgt);
        login.tgt = Some(ticket(Principal::krbtgt("R.TEST"), soon));
        assert_eq!(login.need(now), Need::Tgt);
        login.tgt = Some(tgt);
        let st = ticket(cifs, later);
        login.service_ticket = Some(st.clone());
        assert_eq!(login.need(now), Need::Nothing(st));
        let other = Principal::cifs("fs.r.test", "R.TEST").unwrap();
        login.service_ticket = Some(ticket(other, later));
        assert!(matches!(login.need(now), Need::ServiceTicket(_)));
        // Without a password or key, only held tickets can serve.
        login.tgt = None;
        let e = TicketFlow::new(login, [0; 32], now).unwrap_err();
        assert!(matches!(e, KerberosError::Credentials(_)), "{e}");
    }
}
