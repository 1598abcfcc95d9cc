//! The AS exchange (RFC 4120 section 3.1): a password or a keytab in, a ticket-granting
//! ticket out, as a sans-IO state machine.
//!
//! ```text
//! client                                        KDC
//!   |-- AS-REQ, no pre-authentication ---------->|
//!   |<- KRB-ERROR 25 PREAUTH_REQUIRED, ETYPE-INFO2 {etype, salt, iterations}
//!   |-- AS-REQ + PA-ENC-TIMESTAMP (key usage 1) ->|   (UDP: KRB-ERROR 52 → again over TCP)
//!   |<- AS-REP {TGT, enc-part in the client's key (usage 3): session key, nonce, times}
//! ```
//!
//! [`AsExchange`] never touches a socket or a clock and draws no randomness of its own:
//! the caller hands it a seed for its nonces and confounder, the wall-clock time with each
//! input, and the outcome of each [`KdcRequest`] it asks for. The driver's loop:
//!
//! 1. if [`AsExchange::poll_result`] gives the outcome, stop;
//! 2. make the attempt [`AsExchange::poll_request`] gives (see [`super::kdc`]) and hand its
//!    reply or failure to [`AsExchange::handle_reply`] with the time; go to 1.
//!
//! Each reply handed in either queues the next request or settles the outcome, so the
//! loop ends. Failures are [`KerberosError`]s: the KDC's errors by meaning (unknown
//! principal, wrong password, clock skew measured from the KDC's time, no common etype,
//! an unusable account), and any reply that is not a well-formed answer to this request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::OctetString;
use der::{Decode, Encode};
use zeroize::Zeroizing;

use super::asn1::{
    msg_type, name_type, pa_type, App, AsRep, EncKdcRepPart, EncryptedData, EtypeInfo2Entry,
    KdcRep, KdcReq, KdcReqBody, KerberosFlags, KerberosString, KerberosTime, KrbError,
    KrbErrorBody, PaData, PaEncTsEnc, PaPacRequest, PrincipalName, Ticket,
};
use super::crypto::{iterations_from_params, string_to_key, Enctype, Key, DEFAULT_ITERATIONS};
use super::error::{code, KerberosError};
use super::kdc::{KdcExchange, KdcIoError, KdcRequest};
use super::{ClientSecret, Credential, KdcConfig, Principal};
use crate::rng::Rng;

/// The KDC options of both AS-REQs: forwardable (bit 1), renewable (8), canonicalize (15),
/// renewable-ok (27), as Windows sends them.
pub const KDC_OPTIONS: u32 = 0x4081_0010;

/// How long a renewable ticket is asked to stay renewable (`rtime`): Active Directory's
/// default maximum, 7 days (the KDC caps it). Without `rtime` the KDC ignores the
/// renewable option.
pub const RENEW_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// Key usage of the PA-ENC-TIMESTAMP (RFC 4120 7.5.1).
const USAGE_PA_ENC_TIMESTAMP: u32 = 1;
/// Key usage of the AS-REP's enc-part.
const USAGE_AS_REP: u32 = 3;

/// The longest e-text of a KDC's error kept for the message.
const MAX_E_TEXT: usize = 200;

/// What was sent last, and what its answer is checked against.
#[derive(Debug)]
enum Stage {
    /// The first AS-REQ, without pre-authentication.
    NoPreauth { nonce: u32, sent_us: i64 },
    /// The AS-REQ with the encrypted timestamp, made with `key`.
    Preauth { nonce: u32, sent_us: i64, key: Key },
    /// The outcome is settled.
    Done,
}

/// One AS exchange: asks the KDC of the client's realm for a ticket-granting ticket.
///
/// ```no_run
/// use std::time::SystemTime;
/// use smb_proto::auth::kerberos::{AsExchange, ClientSecret, KdcConfig, KdcIoError, KdcRequest, Principal};
///
/// # fn send(_: &KdcRequest) -> Result<Vec<u8>, KdcIoError> { unimplemented!() }
/// let client = Principal::parse("alice@SMBTEST.TEST", None)?;
/// let config = KdcConfig::new().kdc("127.0.0.4:8888");
/// let seed = [7; 32]; // fresh randomness in real use
/// let mut exchange = AsExchange::new(client, ClientSecret::password("Al1ce-Pass!x"), &config, seed, SystemTime::now());
/// let tgt = loop {
///     if let Some(result) = exchange.poll_result() {
///         break result?;
///     }
///     if let Some(request) = exchange.poll_request() {
///         let reply = send(&request); // TCP or UDP, as `request.transport` says
///         exchange.handle_reply(reply, SystemTime::now());
///     }
/// };
/// println!("{} until {:?}", tgt.server, tgt.endtime);
/// # Ok::<(), smb_proto::auth::kerberos::KerberosError>(())
/// ```
#[derive(Debug)]
pub struct AsExchange {
    client: Principal,
    secret: ClientSecret,
    etypes: Vec<Enctype>,
    time_offset: i64,
    lifetime: Duration,
    rng: Rng,
    kdc: KdcExchange,
    stage: Stage,
    /// The ETYPE-INFO2 of the PREAUTH_REQUIRED error, for a reply in another etype.
    etype_info: Vec<EtypeInfo2Entry>,
    outcome: Option<Result<Credential, KerberosError>>,
}

impl AsExchange {
    /// An exchange for `client` proving itself with `secret`, reaching the KDC as `config`
    /// says. `seed` feeds its nonces and confounder (fresh randomness, or a recorded seed);
    /// `now` is the wall-clock time (moved by [`KdcConfig::time_offset`]). The first
    /// request is due at once.
    pub fn new(
        client: Principal,
        secret: ClientSecret,
        config: &KdcConfig,
        seed: [u8; 32],
        now: SystemTime,
    ) -> AsExchange {
        let kdc = KdcExchange::new(
            &client.realm,
            &config.kdcs,
            config.transport,
            config.timeout,
        );
        let mut exchange = AsExchange {
            client,
            secret,
            etypes: config.etypes.clone(),
            time_offset: config.time_offset,
            lifetime: config.lifetime,
            rng: Rng::from_seed(seed),
            kdc,
            stage: Stage::Done,
            etype_info: Vec::new(),
            outcome: None,
        };
        let first = if exchange.request_etypes().is_empty() {
            Err(KerberosError::Credentials(format!(
                "no key of an allowed encryption type ({})",
                exchange
                    .etypes
                    .iter()
                    .map(Enctype::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        } else {
            exchange.send_request(None, now)
        };
        if let Err(e) = first {
            exchange.settle(Err(e));
        }
        exchange
    }

    /// The client principal.
    pub fn client(&self) -> &Principal {
        &self.client
    }

    /// Every transport attempt so far ([`KdcExchange::attempts`]).
    pub fn attempts(&self) -> &[super::kdc::Attempt] {
        self.kdc.attempts()
    }

    /// Hands in the outcome of the attempt [`AsExchange::poll_request`] gave, at wall-clock
    /// time `now`: the KDC's reply, or why there was none. A reply when no attempt is in
    /// flight, or after the outcome, is ignored.
    pub fn handle_reply(&mut self, reply: Result<Vec<u8>, KdcIoError>, now: SystemTime) {
        if matches!(self.stage, Stage::Done) {
            return;
        }
        let outcome = match self.kdc.handle_reply(reply) {
            Ok(Some(bytes)) => self.read_reply(&bytes, now),
            Ok(None) => return,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(Some(credential)) => self.settle(Ok(credential)),
            Ok(None) => {}
            Err(e) => self.settle(Err(e)),
        }
    }

    /// The attempt to make now: a message, a KDC and a transport. One at a time; `None`
    /// while one is in flight or once the outcome is settled.
    #[must_use]
    pub fn poll_request(&mut self) -> Option<KdcRequest> {
        if matches!(self.stage, Stage::Done) {
            return None;
        }
        self.kdc.poll_request()
    }

    /// The outcome, once: the ticket-granting ticket, or why there is none.
    #[must_use]
    pub fn poll_result(&mut self) -> Option<Result<Credential, KerberosError>> {
        self.outcome.take()
    }

    fn settle(&mut self, outcome: Result<Credential, KerberosError>) {
        self.stage = Stage::Done;
        self.outcome = Some(outcome);
    }

    fn client_us(&self, now: SystemTime) -> Result<i64, KerberosError> {
        client_us(now, self.time_offset)
    }

    /// Builds and queues an AS-REQ: without pre-authentication, or with the encrypted
    /// timestamp in `key`.
    fn send_request(&mut self, key: Option<Key>, now: SystemTime) -> Result<(), KerberosError> {
        let sent_us = self.client_us(now)?;
        let nonce = self.nonce();
        let mut padata = Vec::new();
        if let Some(key) = &key {
            let timestamp = PaEncTsEnc {
                patimestamp: kerberos_time(sent_us.div_euclid(1_000_000))?,
                pausec: i32::try_from(sent_us.rem_euclid(1_000_000)).ok(),
            };
            let mut confounder = vec![0; key.etype().confounder_len()];
            self.rng.fill(&mut confounder);
            let cipher = key
                .encrypt(USAGE_PA_ENC_TIMESTAMP, &encode(&timestamp)?, &confounder)
                .map_err(|e| KerberosError::Credentials(e.to_string()))?;
            let encrypted = EncryptedData {
                etype: key.etype().number(),
                kvno: None,
                cipher: octets(cipher)?,
            };
            padata.push(PaData {
                padata_type: pa_type::ENC_TIMESTAMP,
                padata_value: octets(encode(&encrypted)?)?,
            });
        }
        padata.push(PaData {
            padata_type: pa_type::PAC_REQUEST,
            padata_value: octets(encode(&PaPacRequest { include_pac: true })?)?,
        });
        let secs = sent_us / 1_000_000;
        let after = |d: Duration| {
            kerberos_time(secs.saturating_add(d.as_secs().try_into().unwrap_or(i64::MAX)))
        };
        let realm = KerberosString::from(self.client.realm.as_str());
        let request = App::<_, 10>(KdcReq {
            pvno: 5,
            msg_type: msg_type::AS_REQ,
            padata: Some(padata),
            req_body: KdcReqBody {
                kdc_options: KerberosFlags(KDC_OPTIONS),
                cname: Some(principal_name(name_type::PRINCIPAL, &self.client)),
                realm,
                sname: Some(principal_name(
                    name_type::SRV_INST,
                    &Principal::krbtgt(&self.client.realm),
                )),
                from: None,
                till: Some(after(self.lifetime)?),
                rtime: Some(after(RENEW_LIFETIME)?),
                nonce,
                etype: self.request_etypes(),
                addresses: None,
                enc_authorization_data: None,
                additional_tickets: None,
            },
        });
        self.kdc.send(encode(&request)?);
        self.stage = match key {
            Some(key) => Stage::Preauth {
                nonce,
                sent_us,
                key,
            },
            None => Stage::NoPreauth { nonce, sent_us },
        };
        Ok(())
    }

    /// The etypes to ask for: the allowed ones, and with keys (a keytab) only those held.
    /// Samba's KDC names in ETYPE-INFO2 its own choice among the etypes asked for (AES-256
    /// when RC4 comes first), so asking for one without a key for it fails the exchange.
    fn request_etypes(&self) -> Vec<i32> {
        self.etypes
            .iter()
            .filter(|e| match &self.secret {
                ClientSecret::Password(_) => true,
                ClientSecret::Keys(keys) => keys.iter().any(|k| k.etype() == **e),
            })
            .map(|e| e.number())
            .collect()
    }

    /// A random nonce in 31 bits (some KDCs mishandle the top bit).
    fn nonce(&mut self) -> u32 {
        u32::from_le_bytes(self.rng.array()) & 0x7FFF_FFFF
    }

    /// Reads the KDC's reply to the request in flight: `Some` credential for an AS-REP,
    /// `None` when the next request went out.
    fn read_reply(
        &mut self,
        reply: &[u8],
        now: SystemTime,
    ) -> Result<Option<Credential>, KerberosError> {
        if let Ok(error) = KrbError::from_der(reply) {
            self.read_error(error.0, now)?;
            return Ok(None);
        }
        match AsRep::from_der(reply) {
            Ok(rep) => self.read_as_rep(rep.0, now).map(Some),
            Err(e) => Err(self.bad_reply(format!(
                "{} bytes that are neither an AS-REP nor a KRB-ERROR ({e})",
                reply.len()
            ))),
        }
    }

    fn read_error(&mut self, error: KrbErrorBody, now: SystemTime) -> Result<(), KerberosError> {
        let principal = self.client.to_string();
        let (preauth_asked, sent_us) = match &self.stage {
            Stage::NoPreauth { sent_us, .. } => (true, *sent_us),
            Stage::Preauth { sent_us, .. } => (false, *sent_us),
            Stage::Done => return Ok(()),
        };
        match error.error_code {
            code::PREAUTH_REQUIRED if preauth_asked => {
                self.etype_info = etype_info2(error.method_data().as_deref().unwrap_or_default());
                let key = self.client_key(&self.etype_info.clone())?;
                self.send_request(Some(key), now)
            }
            _ => Err(refusal(error, principal, sent_us, &self.etypes)),
        }
    }

    /// The client's key for the first etype in `info` (the KDC's order of preference)
    /// this client allows and holds a key for; with no ETYPE-INFO2, the first allowed.
    fn client_key(&self, info: &[EtypeInfo2Entry]) -> Result<Key, KerberosError> {
        let allowed: Vec<Enctype> = match &self.secret {
            ClientSecret::Password(_) => self.etypes.clone(),
            ClientSecret::Keys(keys) => self
                .etypes
                .iter()
                .copied()
                .filter(|e| keys.iter().any(|k| k.etype() == *e))
                .collect(),
        };
        let offered: Vec<Enctype> = if info.is_empty() {
            allowed.clone()
        } else {
            info.iter()
                .filter_map(|e| Enctype::from_number(e.etype))
                .collect()
        };
        let Some(etype) = offered.into_iter().find(|e| allowed.contains(e)) else {
            return Err(KerberosError::NoCommonEtype {
                principal: self.client.to_string(),
                offered: info.iter().map(|e| e.etype).collect(),
                allowed,
            });
        };
        self.key_of(etype, info)
    }

    /// The client's key of `etype`: from the keys given, or from the password with the
    /// salt and iteration count of `info`'s entry for it (RFC 4120's default salt and
    /// 4096 iterations without one).
    fn key_of(&self, etype: Enctype, info: &[EtypeInfo2Entry]) -> Result<Key, KerberosError> {
        let password = match &self.secret {
            ClientSecret::Keys(keys) => {
                return keys
                    .iter()
                    .find(|k| k.etype() == etype)
                    .cloned()
                    .ok_or_else(|| KerberosError::NoCommonEtype {
                        principal: self.client.to_string(),
                        offered: vec![etype.number()],
                        allowed: keys.iter().map(Key::etype).collect(),
                    });
            }
            ClientSecret::Password(password) => password,
        };
        let entry = info.iter().find(|e| e.etype == etype.number());
        let salt = entry
            .and_then(|e| e.salt.as_ref())
            .map_or_else(|| self.client.default_salt(), |s| s.0.clone());
        let iterations = match etype {
            Enctype::Rc4Hmac => DEFAULT_ITERATIONS,
            _ => iterations_from_params(
                entry
                    .and_then(|e| e.s2kparams.as_ref())
                    .map(OctetString::as_bytes),
            )
            .map_err(|e| self.bad_reply(format!("its ETYPE-INFO2 for {etype}: {e}")))?,
        };
        string_to_key(etype, password, &salt, iterations)
            .map_err(|e| self.bad_reply(format!("its ETYPE-INFO2 for {etype}: {e}")))
    }

    /// Checks an AS-REP against the request and opens it (RFC 4120 3.1.5).
    fn read_as_rep(&mut self, rep: KdcRep, now: SystemTime) -> Result<Credential, KerberosError> {
        let (nonce, sent_key) = match &self.stage {
            Stage::NoPreauth { nonce, .. } => (*nonce, None),
            Stage::Preauth { nonce, key, .. } => (*nonce, Some(key)),
            Stage::Done => return Err(self.bad_reply("a reply after the outcome".to_string())),
        };
        if rep.msg_type != msg_type::AS_REP {
            return Err(self.bad_reply(format!("message type {} in an AS-REP", rep.msg_type)));
        }
        let etype = rep.enc_part.etype;
        let key = match sent_key.filter(|k| k.etype().number() == etype) {
            Some(key) => key.clone(),
            None => {
                // Not the etype pre-authenticated with (or none was): the AS-REP's own
                // ETYPE-INFO2 says how to make that key, else the error's did.
                let allowed = Enctype::from_number(etype).filter(|e| self.etypes.contains(e));
                let Some(etype) = allowed else {
                    return Err(self.bad_reply(format!(
                        "its encrypted part is in etype {etype}, which was not asked for"
                    )));
                };
                let mut info = etype_info2(rep.padata.as_deref().unwrap_or_default());
                info.extend(self.etype_info.iter().cloned());
                self.key_of(etype, &info)?
            }
        };
        let plain = key
            .decrypt(USAGE_AS_REP, rep.enc_part.cipher.as_bytes())
            .map_err(|_| KerberosError::WrongPassword {
                principal: self.client.to_string(),
                why: "the KDC's reply does not decrypt with it".to_string(),
            })?;
        let mut part = EncKdcRepPart::decode_either(&plain)
            .map_err(|e| self.bad_reply(format!("its encrypted part does not decode ({e})")))?;
        let (keytype, key_bytes) = take_session_key(&mut part)?;
        if part.nonce != nonce {
            return Err(self.bad_reply(format!(
                "it answers another request (nonce {:#x}, sent {nonce:#x})",
                part.nonce
            )));
        }
        let server = principal(&part.sname, &part.srealm);
        let krbtgt = Principal::krbtgt(&self.client.realm);
        if !same_principal(&server, &krbtgt) {
            return Err(self.bad_reply(format!("the ticket is for {server}, not {krbtgt}")));
        }
        let client = principal(&rep.cname, &rep.crealm);
        if !client.realm.eq_ignore_ascii_case(&self.client.realm) {
            return Err(self.bad_reply(format!(
                "it names the client {client}, in another realm than {}",
                self.client
            )));
        }
        let now_us = self.client_us(now)?;
        let ticket = rep.ticket;
        issued(
            &self.kdc,
            (client, server),
            ticket,
            (keytype, &key_bytes),
            &part,
            now_us,
        )
    }

    fn bad_reply(&self, detail: String) -> KerberosError {
        bad_reply(&self.kdc, detail)
    }
}

/// A reply from the KDC `kdc` last asked that does not answer as it must.
pub(super) fn bad_reply(kdc: &KdcExchange, detail: String) -> KerberosError {
    KerberosError::BadReply {
        kdc: kdc.kdc().to_string(),
        detail,
    }
}

/// What the AS and TGS exchanges both do last with a KDC-REP they checked: its session
/// key (`key`: the type, and the bytes taken out of the decrypted `part`) becomes a
/// [`Key`], its end time must not be past by this client's clock (`now_us`), and the
/// credential for `client` and `server` holds `ticket` as received.
pub(super) fn issued(
    kdc: &KdcExchange,
    (client, server): (Principal, Principal),
    ticket: Ticket,
    (keytype, key_bytes): (i32, &[u8]),
    part: &EncKdcRepPart,
    now_us: i64,
) -> Result<Credential, KerberosError> {
    let session_key = Enctype::from_number(keytype)
        .and_then(|e| Key::new(e, key_bytes).ok())
        .ok_or_else(|| {
            bad_reply(
                kdc,
                format!(
                    "a session key of etype {keytype} and {} bytes",
                    key_bytes.len()
                ),
            )
        })?;
    let endtime = system_time(&part.endtime);
    if endtime <= UNIX_EPOCH + Duration::from_micros(now_us.unsigned_abs()) {
        return Err(bad_reply(
            kdc,
            format!(
                "the ticket ends at {} (Unix time), which is past by this machine's clock",
                part.endtime.to_unix_duration().as_secs()
            ),
        ));
    }
    let authtime = system_time(&part.authtime);
    Ok(Credential {
        client,
        server,
        ticket_etype: ticket.body.enc_part.etype,
        ticket: ticket.der,
        session_key,
        flags: part.flags.0,
        authtime,
        starttime: part.starttime.as_ref().map_or(authtime, system_time),
        endtime,
        renew_till: part.renew_till.as_ref().map(system_time),
    })
}

/// The session key's bytes taken out of a decrypted KDC-REP part at once, into memory
/// wiped on every path (`der`'s OctetString does not wipe itself); the part keeps an
/// empty key.
pub(super) fn take_session_key(
    part: &mut EncKdcRepPart,
) -> Result<(i32, Zeroizing<Vec<u8>>), KerberosError> {
    let bytes = std::mem::replace(&mut part.key.keyvalue, octets(Vec::new())?);
    Ok((
        part.key.keytype,
        Zeroizing::new(bytes.into_bytes().into_vec()),
    ))
}

/// This client's time at `now` moved by `time_offset` seconds, in microseconds since 1970.
pub(super) fn client_us(now: SystemTime, time_offset: i64) -> Result<i64, KerberosError> {
    now.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_micros()).ok())
        .and_then(|us| us.checked_add(time_offset.checked_mul(1_000_000)?))
        .filter(|us| *us >= 0)
        .ok_or_else(|| {
            KerberosError::Credentials(
                "the clock (with its offset) is before 1970 or out of range".to_string(),
            )
        })
}

/// What a KRB-ERROR answering `principal`'s request sent at `sent_us` means, for the codes
/// both exchanges share: unknown client, wrong key, clock skew (measured from the KDC's
/// time), no common etype (of `etypes`), an unusable account, or another error.
pub(super) fn refusal(
    error: KrbErrorBody,
    principal: String,
    sent_us: i64,
    etypes: &[Enctype],
) -> KerberosError {
    match error.error_code {
        code::C_PRINCIPAL_UNKNOWN => KerberosError::UnknownPrincipal { principal },
        c @ (code::PREAUTH_FAILED | code::BAD_INTEGRITY) => KerberosError::WrongPassword {
            principal,
            why: format!(
                "the KDC refused the encrypted timestamp ({})",
                code::name(c)
            ),
        },
        code::SKEW => {
            let stime =
                i64::try_from(error.stime.to_unix_duration().as_micros()).unwrap_or(i64::MAX);
            let kdc_us = stime.saturating_add(i64::from(error.susec));
            KerberosError::ClockSkew {
                kdc_ahead_ms: kdc_us.saturating_sub(sent_us) / 1000,
            }
        }
        code::ETYPE_NOSUPP => KerberosError::NoCommonEtype {
            principal,
            offered: Vec::new(),
            allowed: etypes.to_vec(),
        },
        c @ (code::CLIENT_REVOKED | code::KEY_EXPIRED | code::POLICY) => {
            KerberosError::AccountUnusable { principal, code: c }
        }
        c => KerberosError::KdcError {
            principal,
            code: c,
            text: error
                .e_text
                .map(|t| t.to_string_lossy().chars().take(MAX_E_TEXT).collect()),
        },
    }
}

/// The ETYPE-INFO2 entries in `padata`, if any (an undecodable one counts as none).
fn etype_info2(padata: &[PaData]) -> Vec<EtypeInfo2Entry> {
    padata
        .iter()
        .find(|p| p.padata_type == pa_type::ETYPE_INFO2)
        .and_then(|p| Vec::<EtypeInfo2Entry>::from_der(p.padata_value.as_bytes()).ok())
        .unwrap_or_default()
}

pub(super) fn principal_name(name_type: i32, p: &Principal) -> PrincipalName {
    PrincipalName::new(name_type, &p.components())
}

pub(super) fn principal(name: &PrincipalName, realm: &KerberosString) -> Principal {
    Principal {
        name: name
            .name_string
            .iter()
            .map(|c| c.to_string_lossy())
            .collect(),
        realm: realm.to_string_lossy(),
    }
}

/// The same principal, but for the case of realms (Active Directory answers a request
/// for `smbtest.test` with `SMBTEST.TEST`): the second component of `krbtgt/REALM` is a
/// realm too.
pub(super) fn same_principal(a: &Principal, b: &Principal) -> bool {
    a.realm.eq_ignore_ascii_case(&b.realm)
        && a.name.len() == b.name.len()
        && a.name
            .iter()
            .zip(&b.name)
            .all(|(x, y)| x.eq_ignore_ascii_case(y))
}

pub(super) fn kerberos_time(unix_secs: i64) -> Result<KerberosTime, KerberosError> {
    u64::try_from(unix_secs)
        .ok()
        .and_then(|s| KerberosTime::from_unix_duration(Duration::from_secs(s)).ok())
        .ok_or_else(|| KerberosError::Credentials(format!("time {unix_secs} is out of range")))
}

pub(super) fn system_time(time: &KerberosTime) -> SystemTime {
    UNIX_EPOCH + time.to_unix_duration()
}

pub(super) fn encode(value: &impl Encode) -> Result<Vec<u8>, KerberosError> {
    value
        .to_der()
        .map_err(|e| KerberosError::Credentials(format!("cannot encode the request: {e}")))
}

pub(super) fn octets(bytes: Vec<u8>) -> Result<OctetString, KerberosError> {
    OctetString::new(bytes)
        .map_err(|e| KerberosError::Credentials(format!("cannot encode the request: {e}")))
}

#[cfg(test)]
pub(crate) mod tests {
    //! Scripted exchanges: the replies of Samba's KDC captured with MIT kinit (see
    //! `tests/data/kerberos/README.md`), and made-up errors.
    use super::*;
    use crate::auth::kerberos::asn1::AsReq;
    use crate::auth::kerberos::kdc::{KdcTransport, TransportPolicy};
    use crate::auth::kerberos::ticket_flags;

    const PASSWORD: &str = "Al1ce-Pass!x";
    const SEED: [u8; 32] = [3; 32];

    /// One captured message without its 4-byte TCP record marker.
    pub(crate) fn captured(framed: &[u8]) -> Vec<u8> {
        framed.get(4..).unwrap().to_vec()
    }

    macro_rules! vector {
        ($name:literal) => {
            captured(include_bytes!(concat!(
                "../../../tests/data/kerberos/",
                $name
            )))
        };
    }

    fn alice() -> Principal {
        Principal::parse("alice@SMBTEST.TEST", None).unwrap()
    }

    /// Alice's AES-256 key, made once (PBKDF2 is slow in a debug build).
    fn alice_key() -> Key {
        static KEY: std::sync::OnceLock<Key> = std::sync::OnceLock::new();
        KEY.get_or_init(|| {
            string_to_key(Enctype::Aes256, PASSWORD, b"SMBTEST.TESTalice", 4096).unwrap()
        })
        .clone()
    }

    pub(crate) fn config() -> KdcConfig {
        KdcConfig::new().kdc("127.0.0.4:8888")
    }

    /// When kinit ran: the timestamp it pre-authenticated with (frame 34), which is the
    /// captured AS-REP's authtime.
    pub(crate) fn capture_time() -> SystemTime {
        static TIME: std::sync::OnceLock<SystemTime> = std::sync::OnceLock::new();
        *TIME.get_or_init(read_capture_time)
    }

    fn read_capture_time() -> SystemTime {
        let req = AsReq::from_der(&vector!("34-as-req.bin")).unwrap().0;
        let ts = &req.padata.unwrap()[0];
        let enc = EncryptedData::from_der(ts.padata_value.as_bytes()).unwrap();
        let plain = alice_key().decrypt(1, enc.cipher.as_bytes()).unwrap();
        system_time(&PaEncTsEnc::from_der(&plain).unwrap().patimestamp)
    }

    fn start(secret: ClientSecret, config: &KdcConfig, now: SystemTime) -> AsExchange {
        AsExchange::new(alice(), secret, config, SEED, now)
    }

    /// The request due now, decoded.
    fn request(x: &mut AsExchange) -> (KdcRequest, KdcReq) {
        let r = x.poll_request().expect("a request is due");
        let decoded = AsReq::from_der(&r.message).unwrap().0;
        (r, decoded)
    }

    fn padata(req: &KdcReq, kind: i32) -> Option<Vec<u8>> {
        req.padata
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|p| p.padata_type == kind)
            .map(|p| p.padata_value.as_bytes().to_vec())
    }

    /// The encrypted timestamp of `req`: its etype, and its plaintext with `key`.
    fn timestamp(req: &KdcReq, key: &Key) -> (i32, PaEncTsEnc) {
        let enc = EncryptedData::from_der(&padata(req, pa_type::ENC_TIMESTAMP).unwrap()).unwrap();
        let plain = key.decrypt(1, enc.cipher.as_bytes()).unwrap();
        (enc.etype, PaEncTsEnc::from_der(&plain).unwrap())
    }

    pub(crate) fn krb_error(
        code: i32,
        stime: SystemTime,
        susec: i32,
        e_data: Option<Vec<u8>>,
    ) -> Vec<u8> {
        App::<_, 30>(KrbErrorBody {
            pvno: 5,
            msg_type: msg_type::ERROR,
            ctime: None,
            cusec: None,
            stime: KerberosTime::from_unix_duration(stime.duration_since(UNIX_EPOCH).unwrap())
                .unwrap(),
            susec,
            error_code: code,
            crealm: None,
            cname: None,
            realm: KerberosString::from("SMBTEST.TEST"),
            sname: PrincipalName::new(name_type::SRV_INST, &["krbtgt", "SMBTEST.TEST"]),
            e_text: Some(KerberosString::from("the KDC says no")),
            e_data: e_data.map(|d| OctetString::new(d).unwrap()),
        })
        .to_der()
        .unwrap()
    }

    /// A PREAUTH_REQUIRED error offering `entries` (etype, salt) in ETYPE-INFO2.
    fn preauth_required(entries: &[(i32, Option<&str>)]) -> Vec<u8> {
        let info: Vec<EtypeInfo2Entry> = entries
            .iter()
            .map(|(etype, salt)| EtypeInfo2Entry {
                etype: *etype,
                salt: salt.map(KerberosString::from),
                s2kparams: None,
            })
            .collect();
        let methods = vec![
            PaData {
                padata_type: pa_type::ENC_TIMESTAMP,
                padata_value: OctetString::new(vec![]).unwrap(),
            },
            PaData {
                padata_type: pa_type::ETYPE_INFO2,
                padata_value: OctetString::new(info.to_der().unwrap()).unwrap(),
            },
        ];
        krb_error(
            code::PREAUTH_REQUIRED,
            UNIX_EPOCH,
            0,
            Some(methods.to_der().unwrap()),
        )
    }

    /// Hands `reply` to the request in flight and checks the invariant the driver's loop
    /// relies on: a next request or the outcome.
    fn reply(x: &mut AsExchange, reply: Result<Vec<u8>, KdcIoError>, now: SystemTime) {
        x.handle_reply(reply, now);
        assert!(
            x.outcome.is_some() || x.kdc.request_due(),
            "neither a next request nor an outcome"
        );
    }

    fn failure(x: &mut AsExchange) -> KerberosError {
        match x.poll_result() {
            Some(Err(e)) => e,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn the_first_request_asks_for_a_tgt_without_preauthentication() {
        let now = UNIX_EPOCH + Duration::from_micros(1_800_000_000_123_456);
        let mut x = start(ClientSecret::password(PASSWORD), &config(), now);
        let (r, req) = request(&mut x);
        assert_eq!(r.kdc, "127.0.0.4:8888");
        assert_eq!(r.transport, KdcTransport::Tcp);
        assert_eq!(x.poll_request(), None, "one at a time");
        assert_eq!(x.poll_result(), None);
        assert_eq!((req.pvno, req.msg_type), (5, msg_type::AS_REQ));
        let body = &req.req_body;
        assert_eq!(body.kdc_options, KerberosFlags(0x4081_0010));
        assert_eq!(
            body.cname,
            Some(PrincipalName::new(name_type::PRINCIPAL, &["alice"]))
        );
        assert_eq!(body.realm, KerberosString::from("SMBTEST.TEST"));
        assert_eq!(
            body.sname,
            Some(PrincipalName::new(
                name_type::SRV_INST,
                &["krbtgt", "SMBTEST.TEST"]
            ))
        );
        assert_eq!(body.etype, [18, 17, 23]);
        assert_eq!(
            body.till.unwrap().to_unix_duration(),
            Duration::from_secs(1_800_000_000 + 36_000)
        );
        assert_eq!(
            body.rtime.unwrap().to_unix_duration(),
            Duration::from_secs(1_800_000_000 + 7 * 86_400)
        );
        assert!(body.nonce < 1 << 31);
        // Only the PAC request: no pre-authentication yet.
        assert_eq!(req.padata.as_ref().unwrap().len(), 1);
        let pac = PaPacRequest::from_der(&padata(&req, pa_type::PAC_REQUEST).unwrap()).unwrap();
        assert!(pac.include_pac);
        // Its shape is MIT's (frame 04): the same client, realm, service.
        let mit = AsReq::from_der(&vector!("04-as-req.bin")).unwrap().0;
        assert_eq!(mit.req_body.cname, body.cname);
        assert_eq!(mit.req_body.sname, body.sname);
        assert_eq!(mit.req_body.realm, body.realm);
    }

    #[test]
    fn preauth_required_brings_the_encrypted_timestamp_in_the_kdcs_salt() {
        let now = UNIX_EPOCH + Duration::from_micros(1_800_000_000_123_456);
        let mut x = start(ClientSecret::password(PASSWORD), &config(), now);
        let (first, first_req) = request(&mut x);
        // Samba's answer to kinit: aes256, salt SMBTEST.TESTalice, 4096 iterations.
        let later = now + Duration::from_millis(20);
        reply(&mut x, Ok(vector!("06-error-preauth_required.bin")), later);
        let (second, req) = request(&mut x);
        assert_eq!(
            (second.kdc.as_str(), second.transport),
            (first.kdc.as_str(), first.transport)
        );
        // The timestamp opens with alice's AES-256 key, key usage 1, and is the time given.
        let (etype, ts) = timestamp(&req, &alice_key());
        assert_eq!(etype, 18);
        assert_eq!(
            ts.patimestamp.to_unix_duration(),
            Duration::from_secs(1_800_000_000)
        );
        assert_eq!(ts.pausec, Some(143_456));
        let enc = EncryptedData::from_der(&padata(&req, pa_type::ENC_TIMESTAMP).unwrap()).unwrap();
        assert!(alice_key().decrypt(2, enc.cipher.as_bytes()).is_err());
        assert!(padata(&req, pa_type::PAC_REQUEST).is_some());
        // The same body but for a fresh nonce.
        assert_ne!(req.req_body.nonce, first_req.req_body.nonce);
        let mut body = req.req_body.clone();
        body.nonce = first_req.req_body.nonce;
        assert_eq!(body, first_req.req_body);

        // The clock offset moves the timestamp.
        let config = config().time_offset(-900);
        let mut x = start(ClientSecret::password(PASSWORD), &config, now);
        let _ = request(&mut x);
        reply(&mut x, Ok(vector!("06-error-preauth_required.bin")), now);
        let (_, req) = request(&mut x);
        let (_, ts) = timestamp(&req, &alice_key());
        assert_eq!(
            ts.patimestamp.to_unix_duration(),
            Duration::from_secs(1_800_000_000 - 900)
        );
    }

    /// Frames 06 and 36 answer our requests as they answered kinit's, but for the nonce:
    /// the test gives the machine kinit's.
    fn exchange_with_the_capture(secret: ClientSecret, nonce: Option<u32>) -> AsExchange {
        let now = capture_time();
        let mut x = start(secret, &config(), now);
        let _ = request(&mut x);
        reply(&mut x, Ok(vector!("06-error-preauth_required.bin")), now);
        let _ = request(&mut x);
        if let (Some(n), Stage::Preauth { nonce, .. }) = (nonce, &mut x.stage) {
            *nonce = n;
        }
        reply(
            &mut x,
            Ok(vector!("36-as-rep.bin")),
            now + Duration::from_secs(1),
        );
        x
    }

    /// alice's TGT from the captured AS-REP (frame 36), as our client opens it.
    pub(crate) fn captured_tgt() -> Credential {
        let mut x =
            exchange_with_the_capture(ClientSecret::password(PASSWORD), Some(kinit_nonce()));
        x.poll_result().unwrap().unwrap()
    }

    fn kinit_nonce() -> u32 {
        AsReq::from_der(&vector!("34-as-req.bin"))
            .unwrap()
            .0
            .req_body
            .nonce
    }

    #[test]
    fn the_captured_as_rep_opens_into_a_tgt() {
        let mut x =
            exchange_with_the_capture(ClientSecret::password(PASSWORD), Some(kinit_nonce()));
        let tgt = x.poll_result().unwrap().unwrap();
        assert_eq!(x.poll_result(), None, "once");
        assert_eq!(x.poll_request(), None);
        let rep = AsRep::from_der(&vector!("36-as-rep.bin")).unwrap().0;
        assert_eq!(tgt.client.to_string(), "alice@SMBTEST.TEST");
        assert_eq!(tgt.server.to_string(), "krbtgt/SMBTEST.TEST@SMBTEST.TEST");
        assert_eq!(tgt.ticket, rep.ticket.der, "the ticket as received");
        assert_eq!(tgt.ticket_etype, 18);
        assert_eq!(tgt.session_key.etype(), Enctype::Aes256);
        assert_eq!(tgt.authtime, capture_time());
        assert_eq!(tgt.starttime, tgt.authtime);
        assert!(tgt.endtime > tgt.authtime);
        assert_eq!(
            tgt.flags & (ticket_flags::INITIAL | ticket_flags::PRE_AUTHENT),
            ticket_flags::INITIAL | ticket_flags::PRE_AUTHENT
        );
        // The session key is the one in the enc-part.
        let plain = alice_key()
            .decrypt(3, rep.enc_part.cipher.as_bytes())
            .unwrap();
        let part = EncKdcRepPart::decode_either(&plain).unwrap();
        assert_eq!(tgt.session_key.as_bytes(), part.key.keyvalue.as_bytes());
        assert_eq!(tgt.endtime, system_time(&part.endtime));
        // Neither the key nor the ticket shows in Debug.
        let shown = format!("{tgt:?}");
        assert!(shown.contains("ticket_len"), "{shown}");
        assert!(!shown.contains(&format!("{:?}", &part.key.keyvalue.as_bytes()[..4])));
    }

    #[test]
    fn an_as_rep_for_another_request_or_key_is_refused() {
        // Our own nonce: the captured reply answers kinit's request, not ours.
        let mut x = exchange_with_the_capture(ClientSecret::password(PASSWORD), None);
        let e = failure(&mut x);
        assert!(
            matches!(&e, KerberosError::BadReply { detail, .. } if detail.contains("nonce")),
            "{e}"
        );
        assert_eq!(e.kind(), crate::ErrorKind::ProtocolViolation);
        // Another password: the reply does not open.
        let mut x =
            exchange_with_the_capture(ClientSecret::password("Wrong-Pass!1"), Some(kinit_nonce()));
        let e = failure(&mut x);
        assert!(
            matches!(&e, KerberosError::WrongPassword { principal, why } if principal == "alice@SMBTEST.TEST" && why.contains("decrypt")),
            "{e}"
        );
        // A reply for another service (the realm differs): refused.
        let mut x = start(ClientSecret::password(PASSWORD), &config(), capture_time());
        x.client.realm = "OTHER.TEST".into();
        let _ = request(&mut x);
        reply(
            &mut x,
            Ok(vector!("06-error-preauth_required.bin")),
            capture_time(),
        );
        let _ = request(&mut x);
        if let Stage::Preauth { nonce, .. } = &mut x.stage {
            *nonce = kinit_nonce();
        }
        // The KDC's salt still makes alice's key.
        reply(&mut x, Ok(vector!("36-as-rep.bin")), capture_time());
        let e = failure(&mut x);
        assert!(
            matches!(&e, KerberosError::BadReply { detail, .. } if detail.contains("not krbtgt/OTHER.TEST")),
            "{e}"
        );
        // The client's realm (outside the encrypted part) altered: refused.
        let mut altered = AsRep::from_der(&vector!("36-as-rep.bin")).unwrap();
        altered.0.crealm = KerberosString::from("SMBTEST.TESX");
        let mut x = start(
            ClientSecret::Keys(vec![alice_key()]),
            &config(),
            capture_time(),
        );
        let _ = request(&mut x);
        reply(
            &mut x,
            Ok(vector!("06-error-preauth_required.bin")),
            capture_time(),
        );
        let _ = request(&mut x);
        if let Stage::Preauth { nonce, .. } = &mut x.stage {
            *nonce = kinit_nonce();
        }
        reply(&mut x, Ok(altered.to_der().unwrap()), capture_time());
        let e = failure(&mut x);
        assert!(
            matches!(&e, KerberosError::BadReply { detail, .. } if detail.contains("another realm")),
            "{e}"
        );
        // An expired ticket by this clock.
        let mut x = start(ClientSecret::password(PASSWORD), &config(), capture_time());
        let _ = request(&mut x);
        reply(
            &mut x,
            Ok(vector!("06-error-preauth_required.bin")),
            capture_time(),
        );
        let _ = request(&mut x);
        if let Stage::Preauth { nonce, .. } = &mut x.stage {
            *nonce = kinit_nonce();
        }
        reply(
            &mut x,
            Ok(vector!("36-as-rep.bin")),
            capture_time() + Duration::from_secs(86_400),
        );
        let e = failure(&mut x);
        assert!(
            matches!(&e, KerberosError::BadReply { detail, .. } if detail.contains("past")),
            "{e}"
        );
    }

    #[test]
    fn kdc_errors_become_their_failures() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let run = |replies: Vec<Vec<u8>>| {
            let mut x = start(ClientSecret::password(PASSWORD), &config(), now);
            for r in replies {
                let _ = request(&mut x);
                reply(&mut x, Ok(r), now);
            }
            failure(&mut x)
        };
        let unknown = run(vec![vector!("76-error-c_principal_unknown.bin")]);
        assert_eq!(
            unknown,
            KerberosError::UnknownPrincipal {
                principal: "alice@SMBTEST.TEST".into()
            }
        );
        let wrong = run(vec![
            vector!("06-error-preauth_required.bin"),
            vector!("16-error-preauth_failed.bin"),
        ]);
        assert!(
            matches!(&wrong, KerberosError::WrongPassword { why, .. } if why.contains("KDC_ERR_PREAUTH_FAILED")),
            "{wrong}"
        );
        let pre = vector!("06-error-preauth_required.bin");
        // The KDC's clock 900.25 s ahead of the time sent.
        let skew = run(vec![
            pre.clone(),
            krb_error(code::SKEW, now + Duration::from_secs(900), 250_000, None),
        ]);
        assert_eq!(
            skew,
            KerberosError::ClockSkew {
                kdc_ahead_ms: 900_250
            }
        );
        let skew = run(vec![
            pre.clone(),
            krb_error(code::SKEW, now - Duration::from_secs(900), 0, None),
        ]);
        assert_eq!(
            skew,
            KerberosError::ClockSkew {
                kdc_ahead_ms: -900_000
            }
        );
        let nosupp = run(vec![krb_error(code::ETYPE_NOSUPP, now, 0, None)]);
        assert!(
            matches!(nosupp, KerberosError::NoCommonEtype { .. }),
            "{nosupp}"
        );
        for c in [code::CLIENT_REVOKED, code::KEY_EXPIRED, code::POLICY] {
            let e = run(vec![pre.clone(), krb_error(c, now, 0, None)]);
            assert_eq!(
                e,
                KerberosError::AccountUnusable {
                    principal: "alice@SMBTEST.TEST".into(),
                    code: c
                }
            );
        }
        let other = run(vec![pre.clone(), krb_error(60, now, 0, None)]);
        assert_eq!(
            other,
            KerberosError::KdcError {
                principal: "alice@SMBTEST.TEST".into(),
                code: 60,
                text: Some("the KDC says no".into())
            }
        );
        // Pre-authentication asked for twice is no loop.
        let again = run(vec![pre.clone(), pre.clone()]);
        assert!(
            matches!(again, KerberosError::KdcError { code: 25, .. }),
            "{again}"
        );
    }

    #[test]
    fn the_etype_is_the_kdcs_first_choice_among_those_allowed() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let second = |secret: ClientSecret, etypes: &[Enctype], offered: &[(i32, Option<&str>)]| {
            let mut x = start(secret, &config().etypes(etypes), now);
            let _ = request(&mut x);
            reply(&mut x, Ok(preauth_required(offered)), now);
            match x.poll_request() {
                Some(r) => Ok(AsReq::from_der(&r.message).unwrap().0),
                None => Err(failure(&mut x)),
            }
        };
        let rc4 = Key::new(Enctype::Rc4Hmac, &crate::auth::ntlm::nt_hash(PASSWORD)).unwrap();
        // Only RC4 allowed, the KDC offers AES first: RC4, whose key is the NT hash.
        let req = second(
            ClientSecret::password(PASSWORD),
            &[Enctype::Rc4Hmac],
            &[(18, Some("SMBTEST.TESTalice")), (23, None)],
        )
        .unwrap();
        assert_eq!(timestamp(&req, &rc4).0, 23);
        // The KDC's salt, not the default one, makes the AES key.
        let aes128 = string_to_key(Enctype::Aes128, PASSWORD, b"OTHER.SALTx", 4096).unwrap();
        let req = second(
            ClientSecret::password(PASSWORD),
            &[Enctype::Aes128],
            &[(18, None), (17, Some("OTHER.SALTx"))],
        )
        .unwrap();
        assert_eq!(timestamp(&req, &aes128).0, 17);
        // No salt given: the default one (realm and name).
        let req = second(
            ClientSecret::password(PASSWORD),
            &[Enctype::Aes256],
            &[(18, None)],
        )
        .unwrap();
        assert_eq!(timestamp(&req, &alice_key()).0, 18);
        // Nothing in common.
        let e = second(
            ClientSecret::password(PASSWORD),
            &[Enctype::Aes256],
            &[(23, None), (3, None)],
        )
        .unwrap_err();
        assert_eq!(
            e,
            KerberosError::NoCommonEtype {
                principal: "alice@SMBTEST.TEST".into(),
                offered: vec![23, 3],
                allowed: vec![Enctype::Aes256]
            }
        );
        // With keys, only those held count: an AES-128 keytab against an AES-256 offer.
        let keys = ClientSecret::Keys(vec![aes128.clone()]);
        let e = second(
            keys.clone(),
            &[Enctype::Aes256, Enctype::Aes128],
            &[(18, None)],
        )
        .unwrap_err();
        assert!(
            matches!(&e, KerberosError::NoCommonEtype { allowed, .. } if allowed == &[Enctype::Aes128]),
            "{e}"
        );
        let req = second(
            keys,
            &[Enctype::Aes256, Enctype::Aes128],
            &[(18, None), (17, None)],
        )
        .unwrap();
        assert_eq!(timestamp(&req, &aes128).0, 17);
        // With keys, only the etypes held are asked for; none at all fails at once.
        let mut x = start(
            ClientSecret::Keys(vec![rc4.clone(), aes128.clone()]),
            &config(),
            now,
        );
        let (_, req) = request(&mut x);
        assert_eq!(req.req_body.etype, [17, 23]);
        let mut x = start(
            ClientSecret::Keys(vec![rc4.clone()]),
            &config().etypes(&[Enctype::Aes256]),
            now,
        );
        assert_eq!(x.poll_request(), None);
        let e = failure(&mut x);
        assert!(
            matches!(&e, KerberosError::Credentials(m) if m.contains("aes256")),
            "{e}"
        );
        // No ETYPE-INFO2 at all: the first allowed etype, the default salt.
        let mut x = start(ClientSecret::password(PASSWORD), &config(), now);
        let _ = request(&mut x);
        reply(
            &mut x,
            Ok(krb_error(code::PREAUTH_REQUIRED, now, 0, None)),
            now,
        );
        let (_, req) = request(&mut x);
        assert_eq!(timestamp(&req, &alice_key()).0, 18);
        // A hostile iteration count is refused, not run.
        let info = vec![EtypeInfo2Entry {
            etype: 18,
            salt: None,
            s2kparams: Some(OctetString::new(vec![0xff; 4]).unwrap()),
        }];
        let methods = vec![PaData {
            padata_type: pa_type::ETYPE_INFO2,
            padata_value: OctetString::new(info.to_der().unwrap()).unwrap(),
        }];
        let mut x = start(ClientSecret::password(PASSWORD), &config(), now);
        let _ = request(&mut x);
        reply(
            &mut x,
            Ok(krb_error(
                code::PREAUTH_REQUIRED,
                now,
                0,
                Some(methods.to_der().unwrap()),
            )),
            now,
        );
        let e = failure(&mut x);
        assert!(
            matches!(&e, KerberosError::BadReply { detail, .. } if detail.contains("iteration")),
            "{e}"
        );
    }

    #[test]
    fn a_keytab_key_pre_authenticates_as_the_password_would() {
        let mut x =
            exchange_with_the_capture(ClientSecret::Keys(vec![alice_key()]), Some(kinit_nonce()));
        let tgt = x.poll_result().unwrap().unwrap();
        assert_eq!(tgt.client, alice());
    }

    #[test]
    fn too_big_for_udp_goes_again_over_tcp_and_unreachable_kdcs_are_named() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let config = config().transport(TransportPolicy::UdpThenTcp);
        let mut x = start(ClientSecret::password(PASSWORD), &config, now);
        let (r, _) = request(&mut x);
        assert_eq!(r.transport, KdcTransport::Udp);
        reply(
            &mut x,
            Ok(krb_error(code::RESPONSE_TOO_BIG, now, 0, None)),
            now,
        );
        let (again, _) = request(&mut x);
        assert_eq!(again.transport, KdcTransport::Tcp);
        assert_eq!(again.message, r.message, "the same request");

        let config = KdcConfig::new().kdc("127.0.0.9:1").kdc("127.0.0.9:2");
        let mut x = start(ClientSecret::password(PASSWORD), &config, now);
        let mut attempts = 0;
        while let Some(r) = x.poll_request() {
            attempts += 1;
            let _ = r;
            reply(&mut x, Err(KdcIoError::Refused), now);
        }
        assert_eq!(attempts, 4);
        let e = failure(&mut x);
        assert_eq!(
            e.to_string(),
            "no KDC of realm SMBTEST.TEST answered: tcp 127.0.0.9:1: connection refused; \
             udp 127.0.0.9:1: connection refused; tcp 127.0.0.9:2: connection refused; \
             udp 127.0.0.9:2: connection refused"
        );
    }

    #[test]
    fn truncated_or_garbage_replies_are_typed_failures() {
        let now = capture_time();
        let keys = ClientSecret::Keys(vec![alice_key()]);
        let pre = vector!("06-error-preauth_required.bin");
        let rep = vector!("36-as-rep.bin");
        // The first reply cut short, or garbage (one claiming a 4 GiB length among them).
        let mut firsts: Vec<Vec<u8>> = (0..pre.len()).map(|n| pre[..n].to_vec()).collect();
        firsts.extend([
            b"garbage".to_vec(),
            vec![0x7e, 0x84, 0xff, 0xff, 0xff, 0xff],
        ]);
        for bad in firsts {
            let mut x = start(keys.clone(), &config(), now);
            let _ = request(&mut x);
            reply(&mut x, Ok(bad.clone()), now);
            let e = failure(&mut x);
            assert!(
                matches!(&e, KerberosError::BadReply { kdc, .. } if kdc == "127.0.0.4:8888"),
                "{} bytes: {e}",
                bad.len()
            );
        }
        // The AS-REP cut short.
        for n in 0..rep.len() {
            let mut x = start(keys.clone(), &config(), now);
            let _ = request(&mut x);
            reply(&mut x, Ok(pre.clone()), now);
            let _ = request(&mut x);
            reply(&mut x, Ok(rep[..n].to_vec()), now);
            let e = failure(&mut x);
            assert!(
                matches!(e, KerberosError::BadReply { .. }),
                "cut at {n}: {e}"
            );
        }
        // Once settled, more replies change nothing.
        let mut x = exchange_with_the_capture(keys, Some(kinit_nonce()));
        assert!(x.poll_result().unwrap().is_ok());
        x.handle_reply(Ok(pre), now);
        assert_eq!(x.poll_result(), None);
        assert_eq!(x.poll_request(), None);
    }

    #[test]
    fn every_flipped_bit_of_the_encrypted_part_is_caught() {
        let now = capture_time();
        let rep = vector!("36-as-rep.bin");
        let cipher = AsRep::from_der(&rep).unwrap().0.enc_part.cipher;
        let cipher = cipher.as_bytes();
        let at = rep.windows(cipher.len()).position(|w| w == cipher).unwrap();
        for n in 0..rep.len() {
            let mut x = start(ClientSecret::Keys(vec![alice_key()]), &config(), now);
            let _ = request(&mut x);
            reply(&mut x, Ok(vector!("06-error-preauth_required.bin")), now);
            let _ = request(&mut x);
            if let Stage::Preauth { nonce, .. } = &mut x.stage {
                *nonce = kinit_nonce();
            }
            let mut flipped = rep.clone();
            flipped[n] ^= 0x01;
            reply(&mut x, Ok(flipped), now);
            let outcome = x.poll_result().unwrap();
            // Elsewhere a flip may go unnoticed (the ticket is opaque to the client), but
            // never without an outcome.
            if (at..at + cipher.len()).contains(&n) {
                assert!(
                    matches!(outcome, Err(KerberosError::WrongPassword { .. })),
                    "byte {n}: {outcome:?}"
                );
            }
        }
    }

    #[test]
    fn no_secret_shows_in_debug() {
        let x = start(ClientSecret::password(PASSWORD), &config(), capture_time());
        let shown = format!("{x:?}");
        assert!(!shown.contains(PASSWORD), "{shown}");
        let mut x =
            exchange_with_the_capture(ClientSecret::password(PASSWORD), Some(kinit_nonce()));
        let tgt = x.poll_result().unwrap().unwrap();
        let hex: String = tgt.session_key.as_bytes()[..4]
            .iter()
            .map(|b| format!("{b}"))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(!format!("{x:?}{tgt:?}").contains(&hex));
    }
}
