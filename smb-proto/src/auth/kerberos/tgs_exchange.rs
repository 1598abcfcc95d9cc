//! The TGS exchange (RFC 4120 section 3.3): a ticket-granting ticket in, a service ticket
//! out (for an SMB login, `cifs/host@REALM`), as a sans-IO state machine of the same shape
//! as [`AsExchange`](super::AsExchange).
//!
//! ```text
//! client                                                            KDC
//!   |-- TGS-REQ {PA-TGS-REQ = AP-REQ(TGT, authenticator in the TGT's session key
//!   |            (usage 7) with a checksum over the exact req-body (usage 6)),
//!   |            req-body {sname cifs/host, nonce, etypes}} ---------->|
//!   |<- TGS-REP {service ticket, enc-part in the TGT's session key (usage 8):
//!   |            its session key, nonce, times}                         |
//! ```
//!
//! The driver's loop is the AS exchange's: [`TgsExchange::poll_result`], else make the
//! attempt [`TgsExchange::poll_request`] gives and hand its outcome to
//! [`TgsExchange::handle_reply`]. The KDCs, transports and retries are
//! [`KdcExchange`]'s, as for the AS exchange.

use std::time::{Duration, SystemTime};

use der::Decode;
use zeroize::Zeroizing;

use super::as_exchange::{
    bad_reply, client_us, encode, issued, kerberos_time, octets, principal, principal_name,
    refusal, same_principal, take_session_key,
};
use super::asn1::{
    msg_type, name_type, pa_type, ApReqBody, App, AuthenticatorBody, Checksum, EncKdcRepPart,
    EncryptedData, KdcRep, KdcReq, KdcReqBody, KerberosFlags, KerberosString, KrbError,
    KrbErrorBody, PaData, TgsRep, Ticket,
};
use super::crypto::Enctype;
use super::error::{code, KerberosError};
use super::kdc::{KdcExchange, KdcIoError, KdcRequest};
use super::{Credential, KdcConfig, Principal};
use crate::rng::Rng;

/// The KDC options of a TGS-REQ: forwardable (bit 1), renewable (8), canonicalize (15).
pub const KDC_OPTIONS: u32 = 0x4081_0000;

/// The KDC options asked with a TGT of `tgt_flags`: [`KDC_OPTIONS`], less forwardable and
/// renewable where the TGT is not (a KDC refuses them then, KDC_ERR_BADOPTION: `kinit`
/// without `-f` gets a TGT that is not forwardable).
fn kdc_options(tgt_flags: u32) -> u32 {
    use super::ticket_flags::{FORWARDABLE, RENEWABLE};
    KDC_OPTIONS & (tgt_flags | !(FORWARDABLE | RENEWABLE))
}

/// Key usage of the checksum over the req-body in the PA-TGS-REQ's authenticator.
const USAGE_REQ_BODY_CHECKSUM: u32 = 6;
/// Key usage of the PA-TGS-REQ's authenticator.
const USAGE_TGS_AUTHENTICATOR: u32 = 7;
/// Key usage of the TGS-REP's enc-part (in the TGT's session key; no subkey is sent).
const USAGE_TGS_REP: u32 = 8;

/// The request in flight, and what its answer is checked against.
#[derive(Debug)]
struct Sent {
    nonce: u32,
    sent_us: i64,
}

/// One TGS exchange: asks the KDC that issued a ticket-granting ticket for a ticket to a
/// service of the same realm.
///
/// ```no_run
/// use std::time::SystemTime;
/// use smb_proto::auth::kerberos::{Credential, KdcConfig, KdcIoError, KdcRequest, Principal, TgsExchange};
///
/// # fn send(_: &KdcRequest) -> Result<Vec<u8>, KdcIoError> { unimplemented!() }
/// # fn tgt() -> Credential { unimplemented!() }
/// let tgt = tgt(); // from an AsExchange
/// let service = Principal::cifs("dc.smbtest.test", &tgt.client.realm)?;
/// let config = KdcConfig::new().kdc("127.0.0.4:8888");
/// let seed = [7; 32]; // fresh randomness in real use
/// let mut exchange = TgsExchange::new(&tgt, service, &config, seed, SystemTime::now());
/// let ticket = loop {
///     if let Some(result) = exchange.poll_result() {
///         break result?;
///     }
///     if let Some(request) = exchange.poll_request() {
///         exchange.handle_reply(send(&request), SystemTime::now());
///     }
/// };
/// println!("{} until {:?}", ticket.server, ticket.endtime);
/// # Ok::<(), smb_proto::auth::kerberos::KerberosError>(())
/// ```
#[derive(Debug)]
pub struct TgsExchange {
    tgt: Credential,
    service: Principal,
    etypes: Vec<Enctype>,
    time_offset: i64,
    kdc: KdcExchange,
    sent: Option<Sent>,
    outcome: Option<Result<Credential, KerberosError>>,
}

impl TgsExchange {
    /// An exchange asking, with `tgt`, for a ticket to `service` (e.g.
    /// [`Principal::cifs`]), reaching the KDC as `config` says. `seed` feeds the nonce and
    /// the confounder; `now` is the wall-clock time (moved by [`KdcConfig::time_offset`]).
    /// The request is due at once.
    pub fn new(
        tgt: &Credential,
        service: Principal,
        config: &KdcConfig,
        seed: [u8; 32],
        now: SystemTime,
    ) -> TgsExchange {
        let mut exchange = TgsExchange {
            tgt: tgt.clone(),
            service,
            etypes: config.etypes.clone(),
            time_offset: config.time_offset,
            kdc: KdcExchange::new(
                &tgt.client.realm,
                &config.kdcs,
                config.transport,
                config.timeout,
            ),
            sent: None,
            outcome: None,
        };
        let mut rng = Rng::from_seed(seed);
        if let Err(e) = exchange.send_request(&mut rng, config.lifetime, now) {
            exchange.outcome = Some(Err(e));
        }
        exchange
    }

    /// The service asked for.
    pub fn service(&self) -> &Principal {
        &self.service
    }

    /// Every transport attempt so far ([`KdcExchange::attempts`]).
    pub fn attempts(&self) -> &[super::kdc::Attempt] {
        self.kdc.attempts()
    }

    /// Hands in the outcome of the attempt [`TgsExchange::poll_request`] gave, at
    /// wall-clock time `now`. A reply when no attempt is in flight, or after the outcome,
    /// is ignored.
    pub fn handle_reply(&mut self, reply: Result<Vec<u8>, KdcIoError>, now: SystemTime) {
        if self.sent.is_none() {
            return;
        }
        let outcome = match self.kdc.handle_reply(reply) {
            Ok(Some(bytes)) => self.read_reply(&bytes, now),
            Ok(None) => return,
            Err(e) => Err(e),
        };
        self.sent = None;
        self.outcome = Some(outcome);
    }

    /// The attempt to make now; `None` while one is in flight or once the outcome is
    /// settled.
    #[must_use]
    pub fn poll_request(&mut self) -> Option<KdcRequest> {
        self.sent.as_ref()?;
        self.kdc.poll_request()
    }

    /// The outcome, once: the service ticket, or why there is none.
    #[must_use]
    pub fn poll_result(&mut self) -> Option<Result<Credential, KerberosError>> {
        self.outcome.take()
    }

    /// Builds and queues the TGS-REQ.
    fn send_request(
        &mut self,
        rng: &mut Rng,
        lifetime: Duration,
        now: SystemTime,
    ) -> Result<(), KerberosError> {
        let sent_us = client_us(now, self.time_offset)?;
        let nonce = u32::from_le_bytes(rng.array()) & 0x7FFF_FFFF;
        let secs = sent_us.div_euclid(1_000_000);
        let till = kerberos_time(
            secs.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)),
        )?;
        let body = KdcReqBody {
            kdc_options: KerberosFlags(kdc_options(self.tgt.flags)),
            cname: None,
            realm: KerberosString::from(self.service.realm.as_str()),
            sname: Some(principal_name(name_type::SRV_INST, &self.service)),
            from: None,
            till: Some(till),
            rtime: None,
            nonce,
            etype: self.etypes.iter().map(|e| e.number()).collect(),
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: None,
        };
        // The checksum covers these bytes; DER encodes the body the same way inside the
        // request (a test checks it).
        let body_der = encode(&body)?;
        let key = &self.tgt.session_key;
        let authenticator = App::<_, 2>(AuthenticatorBody {
            authenticator_vno: 5,
            crealm: KerberosString::from(self.tgt.client.realm.as_str()),
            cname: principal_name(name_type::PRINCIPAL, &self.tgt.client),
            cksum: Some(Checksum {
                cksumtype: key.etype().checksum_type(),
                checksum: octets(key.checksum(USAGE_REQ_BODY_CHECKSUM, &body_der))?,
            }),
            cusec: i32::try_from(sent_us.rem_euclid(1_000_000)).unwrap_or(0),
            ctime: kerberos_time(secs)?,
            subkey: None,
            seq_number: None,
            authorization_data: None,
        });
        let mut confounder = vec![0; key.etype().confounder_len()];
        rng.fill(&mut confounder);
        let cipher = key
            .encrypt(
                USAGE_TGS_AUTHENTICATOR,
                &Zeroizing::new(encode(&authenticator)?),
                &confounder,
            )
            .map_err(|e| KerberosError::Credentials(e.to_string()))?;
        let ticket = Ticket::from_der(&self.tgt.ticket).map_err(|e| {
            KerberosError::Credentials(format!("the ticket-granting ticket does not decode: {e}"))
        })?;
        let ap_req = App::<_, 14>(ApReqBody {
            pvno: 5,
            msg_type: msg_type::AP_REQ,
            ap_options: KerberosFlags(0),
            ticket,
            authenticator: EncryptedData {
                etype: key.etype().number(),
                kvno: None,
                cipher: octets(cipher)?,
            },
        });
        let request = App::<_, 12>(KdcReq {
            pvno: 5,
            msg_type: msg_type::TGS_REQ,
            padata: Some(vec![PaData {
                padata_type: pa_type::TGS_REQ,
                padata_value: octets(encode(&ap_req)?)?,
            }]),
            req_body: body,
        });
        self.kdc.send(encode(&request)?);
        self.sent = Some(Sent { nonce, sent_us });
        Ok(())
    }

    /// Reads the KDC's reply: the service ticket, or why there is none.
    fn read_reply(&self, reply: &[u8], now: SystemTime) -> Result<Credential, KerberosError> {
        if let Ok(error) = KrbError::from_der(reply) {
            return Err(self.read_error(error.0));
        }
        match TgsRep::from_der(reply) {
            Ok(rep) => self.read_tgs_rep(rep.0, now),
            Err(e) => Err(self.bad_reply(format!(
                "{} bytes that are neither a TGS-REP nor a KRB-ERROR ({e})",
                reply.len()
            ))),
        }
    }

    fn read_error(&self, error: KrbErrorBody) -> KerberosError {
        let sent_us = self.sent.as_ref().map_or(0, |s| s.sent_us);
        match error.error_code {
            c @ (code::S_PRINCIPAL_UNKNOWN | code::MUST_USE_USER2USER) => {
                KerberosError::NoServiceTicket {
                    spn: self.service.to_string(),
                    code: c,
                }
            }
            // The TGT, not a password, is what failed to check here.
            code::BAD_INTEGRITY => KerberosError::KdcError {
                principal: self.tgt.client.to_string(),
                code: code::BAD_INTEGRITY,
                text: Some("the KDC could not check the ticket-granting ticket".to_string()),
            },
            _ => refusal(error, self.tgt.client.to_string(), sent_us, &self.etypes),
        }
    }

    /// Checks a TGS-REP against the request and opens it (RFC 4120 3.3.3-3.3.4).
    fn read_tgs_rep(&self, rep: KdcRep, now: SystemTime) -> Result<Credential, KerberosError> {
        let Some(sent) = &self.sent else {
            return Err(self.bad_reply("a reply after the outcome".to_string()));
        };
        if rep.msg_type != msg_type::TGS_REP {
            return Err(self.bad_reply(format!("message type {} in a TGS-REP", rep.msg_type)));
        }
        let key = &self.tgt.session_key;
        if rep.enc_part.etype != key.etype().number() {
            return Err(self.bad_reply(format!(
                "its encrypted part is in etype {}, not the session key's {}",
                rep.enc_part.etype,
                key.etype()
            )));
        }
        let plain = key
            .decrypt(USAGE_TGS_REP, rep.enc_part.cipher.as_bytes())
            .map_err(|e| {
                self.bad_reply(format!(
                    "its encrypted part does not decrypt with the session key ({e})"
                ))
            })?;
        let mut part = EncKdcRepPart::decode_either(&plain)
            .map_err(|e| self.bad_reply(format!("its encrypted part does not decode ({e})")))?;
        let (keytype, key_bytes) = take_session_key(&mut part)?;
        if part.nonce != sent.nonce {
            return Err(self.bad_reply(format!(
                "it answers another request (nonce {:#x}, sent {:#x})",
                part.nonce, sent.nonce
            )));
        }
        let server = principal(&part.sname, &part.srealm);
        if server.name.first().map(String::as_str) == Some("krbtgt")
            && !same_principal(&server, &Principal::krbtgt(&self.service.realm))
        {
            return Err(self.bad_reply(format!(
                "it refers to another realm ({server}); cross-realm referrals are not \
                 supported"
            )));
        }
        if !same_principal(&server, &self.service) {
            return Err(self.bad_reply(format!("the ticket is for {server}, not {}", self.service)));
        }
        let client = principal(&rep.cname, &rep.crealm);
        if !same_principal(&client, &self.tgt.client) {
            return Err(self.bad_reply(format!(
                "it names the client {client}, not {}",
                self.tgt.client
            )));
        }
        let now_us = client_us(now, self.time_offset)?;
        let names = (self.tgt.client.clone(), self.service.clone());
        issued(
            &self.kdc,
            names,
            rep.ticket,
            (keytype, &key_bytes),
            &part,
            now_us,
        )
    }

    fn bad_reply(&self, detail: String) -> KerberosError {
        bad_reply(&self.kdc, detail)
    }
}

#[cfg(test)]
mod tests {
    //! Scripted exchanges: MIT `kvno`'s TGS exchanges with Samba's KDC, captured with the
    //! AS exchange that gave the TGT (see `tests/data/kerberos/README.md`).
    use super::*;
    use crate::auth::kerberos::as_exchange::system_time;
    use crate::auth::kerberos::as_exchange::tests::{
        capture_time, captured, captured_tgt, config, krb_error,
    };
    use crate::auth::kerberos::asn1::{
        ApReq, Authenticator, EncryptionKey, KerberosTime, PrincipalName, TgsReq,
    };
    use der::Encode;
    use std::time::UNIX_EPOCH;

    const SEED: [u8; 32] = [9; 32];

    macro_rules! vector {
        ($name:literal) => {
            captured(include_bytes!(concat!(
                "../../../tests/data/kerberos/",
                $name
            )))
        };
    }

    fn dc() -> Principal {
        Principal::cifs("dc.smbtest.test", "SMBTEST.TEST").unwrap()
    }

    fn start(service: Principal, now: SystemTime) -> TgsExchange {
        TgsExchange::new(&captured_tgt(), service, &config(), SEED, now)
    }

    /// The TGS-REQ due now: the message and its decoding.
    fn request(x: &mut TgsExchange) -> (Vec<u8>, KdcReq) {
        let r = x.poll_request().expect("a request is due");
        let decoded = TgsReq::from_der(&r.message).unwrap().0;
        (r.message, decoded)
    }

    /// The request's authenticator, opened with the TGT's session key (usage 7), and the
    /// ticket of its AP-REQ; checks the AP-REQ's frame on the way.
    fn authenticator(req: &KdcReq, tgt: &Credential) -> (AuthenticatorBody, Vec<u8>) {
        let padata = req.padata.as_ref().unwrap();
        let pa = padata.iter().find(|p| p.padata_type == pa_type::TGS_REQ);
        let ap_req = ApReq::from_der(pa.unwrap().padata_value.as_bytes())
            .unwrap()
            .0;
        assert_eq!((ap_req.pvno, ap_req.msg_type), (5, msg_type::AP_REQ));
        assert_eq!(ap_req.authenticator.etype, tgt.session_key.etype().number());
        let plain = tgt
            .session_key
            .decrypt(7, ap_req.authenticator.cipher.as_bytes())
            .expect("the authenticator opens with the TGT's session key, usage 7");
        (
            Authenticator::from_der(&plain).unwrap().0,
            ap_req.ticket.der,
        )
    }

    /// The nonce MIT's kvno sent for `cifs/dc.smbtest.test` (frame 44).
    fn kvno_nonce() -> u32 {
        TgsReq::from_der(&vector!("44-tgs-req.bin"))
            .unwrap()
            .0
            .req_body
            .nonce
    }

    /// A TGS-REP as Samba's KDC answers our request: the captured one (frame 46: its
    /// service ticket, names and padata), with an encrypted part of our making in the TGT's
    /// session key, usage 8. (kvno's own encrypted part cannot be opened here: kvno used
    /// FAST, whose armor key strengthens the reply key.)
    fn tgs_rep_with(nonce: u32, sname: &[&str], endtime: SystemTime) -> Vec<u8> {
        let tgt = captured_tgt();
        let mut rep = TgsRep::from_der(&vector!("46-tgs-rep.bin")).unwrap();
        let time = |t: SystemTime| {
            KerberosTime::from_unix_duration(t.duration_since(UNIX_EPOCH).unwrap()).unwrap()
        };
        let part = App::<_, 26>(EncKdcRepPart {
            key: EncryptionKey {
                keytype: 18,
                keyvalue: octets(vec![0x5e; 32]).unwrap(),
            },
            last_req: Vec::new(),
            nonce,
            key_expiration: None,
            flags: KerberosFlags(0x40a1_0000),
            authtime: time(capture_time()),
            starttime: Some(time(capture_time() + Duration::from_secs(1))),
            endtime: time(endtime),
            renew_till: None,
            srealm: KerberosString::from("SMBTEST.TEST"),
            sname: PrincipalName::new(name_type::SRV_INST, sname),
            caddr: None,
            encrypted_pa_data: None,
        });
        let sealed = tgt
            .session_key
            .encrypt(8, &part.to_der().unwrap(), &[0x42; 16])
            .unwrap();
        rep.0.enc_part.cipher = octets(sealed).unwrap();
        rep.to_der().unwrap()
    }

    fn tgs_rep() -> Vec<u8> {
        tgs_rep_with(
            kvno_nonce(),
            &["cifs", "dc.smbtest.test"],
            capture_time() + Duration::from_secs(36_000),
        )
    }

    /// An exchange for `service` answered with `reply`, as if it had sent kvno's nonce.
    fn answered(service: Principal, reply: Vec<u8>, now: SystemTime) -> TgsExchange {
        let mut x = start(service, now);
        let _ = request(&mut x);
        if let Some(sent) = &mut x.sent {
            sent.nonce = kvno_nonce();
        }
        x.handle_reply(Ok(reply), now);
        x
    }

    fn failure(x: &mut TgsExchange) -> KerberosError {
        match x.poll_result() {
            Some(Err(e)) => e,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn only_what_the_tgt_allows_is_asked() {
        use crate::auth::kerberos::ticket_flags::{FORWARDABLE, INITIAL, RENEWABLE};
        assert_eq!(kdc_options(FORWARDABLE | RENEWABLE | INITIAL), KDC_OPTIONS);
        assert_eq!(kdc_options(RENEWABLE), KDC_OPTIONS & !FORWARDABLE);
        assert_eq!(kdc_options(0), 1 << 16, "canonicalize only");
    }

    #[test]
    fn mit_checksums_the_req_body_as_we_do() {
        // kvno's own TGS-REQ, opened with the TGT our client took from the captured
        // AS-REP: the key usages (7, 6) and the checksum's scope are MIT's.
        let tgt = captured_tgt();
        let message = vector!("44-tgs-req.bin");
        let req = TgsReq::from_der(&message).unwrap().0;
        let (auth, ticket) = authenticator(&req, &tgt);
        assert_eq!(ticket, tgt.ticket);
        let cksum = auth.cksum.unwrap();
        assert_eq!(cksum.cksumtype, 16, "hmac-sha1-96-aes256");
        let body = req.req_body.to_der().unwrap();
        assert!(message.windows(body.len()).any(|w| w == body));
        tgt.session_key
            .verify_checksum(6, &body, cksum.checksum.as_bytes())
            .unwrap();
    }

    #[test]
    fn the_tgs_req_carries_the_tgt_and_a_checksummed_body() {
        let tgt = captured_tgt();
        let mut x = start(dc(), capture_time());
        let (message, req) = request(&mut x);
        assert_eq!(x.poll_request(), None, "one attempt at a time");
        assert_eq!((req.pvno, req.msg_type), (5, msg_type::TGS_REQ));
        assert_eq!(
            req.padata.as_ref().map(Vec::len),
            Some(1),
            "PA-TGS-REQ only"
        );
        let body = &req.req_body;
        // kinit's TGT is renewable, not forwardable: forwardable is not asked for (Samba's
        // KDC answers KDC_ERR_BADOPTION to that).
        assert_eq!(
            tgt.flags & crate::auth::kerberos::ticket_flags::FORWARDABLE,
            0
        );
        assert_eq!(
            body.kdc_options,
            KerberosFlags(KDC_OPTIONS & !crate::auth::kerberos::ticket_flags::FORWARDABLE)
        );
        assert_eq!(body.cname, None);
        assert_eq!(body.realm, KerberosString::from("SMBTEST.TEST"));
        assert_eq!(
            body.sname,
            Some(PrincipalName::new(
                name_type::SRV_INST,
                &["cifs", "dc.smbtest.test"]
            ))
        );
        assert!(body.nonce < 0x8000_0000);
        assert_eq!(body.etype, [18, 17, 23]);
        let till = system_time(body.till.as_ref().unwrap());
        assert_eq!(
            till.duration_since(capture_time()).unwrap().as_secs(),
            10 * 3600
        );
        let (auth, ticket) = authenticator(&req, &tgt);
        assert_eq!(ticket, tgt.ticket, "the TGT as received");
        assert_eq!(auth.crealm, KerberosString::from("SMBTEST.TEST"));
        assert_eq!(auth.cname, PrincipalName::new(1, &["alice"]));
        assert_eq!(
            auth.subkey, None,
            "no subkey: the reply is in the session key"
        );
        assert_eq!(system_time(&auth.ctime), {
            let us = capture_time().duration_since(UNIX_EPOCH).unwrap().as_secs();
            UNIX_EPOCH + Duration::from_secs(us)
        });
        // The checksum covers the body's bytes exactly as they are in the message.
        let body_der = body.to_der().unwrap();
        assert!(message.windows(body_der.len()).any(|w| w == body_der));
        let cksum = auth.cksum.unwrap();
        assert_eq!(cksum.cksumtype, 16);
        tgt.session_key
            .verify_checksum(6, &body_der, cksum.checksum.as_bytes())
            .unwrap();
        // The same seed makes the same request; another seed another nonce.
        let (again, _) = request(&mut start(dc(), capture_time()));
        assert_eq!(again, message);
        let mut other = TgsExchange::new(&tgt, dc(), &config(), [1; 32], capture_time());
        assert_ne!(request(&mut other).1.req_body.nonce, body.nonce);
    }

    #[test]
    fn the_captured_tgs_rep_opens_into_a_service_ticket() {
        let now = capture_time() + Duration::from_secs(2);
        let mut x = answered(dc(), tgs_rep(), now);
        let ticket = x.poll_result().unwrap().unwrap();
        assert_eq!(x.poll_result(), None, "once");
        assert_eq!(x.poll_request(), None);
        let rep = TgsRep::from_der(&vector!("46-tgs-rep.bin")).unwrap().0;
        assert_eq!(ticket.ticket, rep.ticket.der, "the ticket as received");
        assert_eq!(
            ticket.server.to_string(),
            "cifs/dc.smbtest.test@SMBTEST.TEST"
        );
        assert_eq!(ticket.client.to_string(), "alice@SMBTEST.TEST");
        assert_eq!(ticket.ticket_etype, 18);
        assert_eq!(ticket.session_key.etype(), Enctype::Aes256);
        assert_eq!(ticket.session_key.as_bytes(), [0x5e; 32]);
        assert_eq!(ticket.flags, 0x40a1_0000);
        assert_eq!(ticket.authtime, capture_time());
        assert_eq!(ticket.starttime, capture_time() + Duration::from_secs(1));
        assert_eq!(ticket.endtime, capture_time() + Duration::from_secs(36_000));
        // Handing in more changes nothing.
        x.handle_reply(Ok(tgs_rep()), now);
        assert_eq!(x.poll_result(), None);
    }

    #[test]
    fn replies_that_do_not_answer_the_request_are_refused() {
        let now = capture_time() + Duration::from_secs(2);
        let rep = tgs_rep();
        // Another nonce: the seed's own, not kvno's.
        let mut x = start(dc(), now);
        let _ = request(&mut x);
        x.handle_reply(Ok(rep.clone()), now);
        let e = failure(&mut x);
        assert!(
            matches!(&e, KerberosError::BadReply { detail, .. } if detail.contains("nonce")),
            "{e}"
        );
        // A ticket for another service than the one asked for.
        let other = Principal::cifs("other.smbtest.test", "SMBTEST.TEST").unwrap();
        let e = failure(&mut answered(other, rep.clone(), now));
        assert!(
            matches!(&e, KerberosError::BadReply { detail, .. }
                if detail.contains("cifs/dc.smbtest.test@SMBTEST.TEST, not cifs/other")),
            "{e}"
        );
        // A referral to another realm.
        let referral = tgs_rep_with(
            kvno_nonce(),
            &["krbtgt", "OTHER.TEST"],
            now + Duration::from_secs(600),
        );
        let e = failure(&mut answered(dc(), referral, now));
        assert!(
            matches!(&e, KerberosError::BadReply { detail, .. } if detail.contains("cross-realm")),
            "{e}"
        );
        // Expired by this clock.
        let e = failure(&mut answered(
            dc(),
            rep.clone(),
            now + Duration::from_secs(86_400),
        ));
        assert!(
            matches!(&e, KerberosError::BadReply { detail, .. } if detail.contains("past")),
            "{e}"
        );
        // Every flip inside the encrypted part is caught; cut short or garbage is typed.
        let cipher = TgsRep::from_der(&rep).unwrap().0.enc_part.cipher;
        let cipher = cipher.as_bytes();
        let at = rep.windows(cipher.len()).position(|w| w == cipher).unwrap();
        for n in (at..at + cipher.len()).step_by(7) {
            let mut flipped = rep.clone();
            flipped[n] ^= 0x01;
            let e = failure(&mut answered(dc(), flipped, now));
            assert!(
                matches!(&e, KerberosError::BadReply { detail, .. } if detail.contains("decrypt")),
                "byte {n}: {e}"
            );
        }
        for n in (0..rep.len()).step_by(13) {
            let e = failure(&mut answered(dc(), rep[..n].to_vec(), now));
            assert!(
                matches!(e, KerberosError::BadReply { .. }),
                "cut at {n}: {e}"
            );
        }
        // An AS-REP is no TGS-REP.
        let e = failure(&mut answered(dc(), vector!("36-as-rep.bin"), now));
        assert!(matches!(e, KerberosError::BadReply { .. }), "{e}");
    }

    #[test]
    fn kdc_errors_name_the_service_or_the_skew() {
        let now = capture_time();
        let nosuch = Principal::cifs("nosuch.smbtest.test", "SMBTEST.TEST").unwrap();
        let e = failure(&mut answered(
            nosuch,
            vector!("56-error-s_principal_unknown.bin"),
            now,
        ));
        assert_eq!(
            e,
            KerberosError::NoServiceTicket {
                spn: "cifs/nosuch.smbtest.test@SMBTEST.TEST".into(),
                code: code::S_PRINCIPAL_UNKNOWN
            }
        );
        assert_eq!(
            e.to_string(),
            "the KDC has no service ticket for cifs/nosuch.smbtest.test@SMBTEST.TEST \
             (KDC_ERR_S_PRINCIPAL_UNKNOWN): name the server by its host name in the domain"
        );
        assert_eq!(e.kind(), crate::ErrorKind::AuthenticationFailed);
        let skew = krb_error(code::SKEW, now + Duration::from_secs(600), 0, None);
        let e = failure(&mut answered(dc(), skew, now));
        assert_eq!(
            e,
            KerberosError::ClockSkew {
                kdc_ahead_ms: 600_000
                    - i64::from(
                        capture_time()
                            .duration_since(UNIX_EPOCH)
                            .unwrap()
                            .subsec_micros()
                    ) / 1000
            }
        );
        let e = failure(&mut answered(dc(), krb_error(60, now, 0, None), now));
        assert!(matches!(e, KerberosError::KdcError { code: 60, .. }), "{e}");
        // Unreachable: every attempt failed, all named.
        let mut x = start(dc(), now);
        while x.poll_request().is_some() {
            x.handle_reply(Err(KdcIoError::Refused), now);
        }
        let e = failure(&mut x);
        assert!(matches!(e, KerberosError::KdcUnreachable { .. }), "{e}");
    }

    #[test]
    fn an_ip_address_is_no_service_name() {
        for ip in ["127.0.0.4", "::1", "[::1]", "fe80::1"] {
            let e = Principal::cifs(ip, "SMBTEST.TEST").unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "cannot use Kerberos with the server named by its IP address {}: \
                     Kerberos names servers by host name: connect to the DNS name, or set \
                     server_name",
                    ip.trim_matches(['[', ']'])
                )
            );
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        }
        let p = Principal::cifs("DC.SmbTest.test", "SMBTEST.TEST").unwrap();
        assert_eq!(p.to_string(), "cifs/dc.smbtest.test@SMBTEST.TEST");
        assert!(Principal::cifs("", "R").is_err());
        assert!(Principal::cifs("a/b", "R").is_err());
    }

    #[test]
    fn no_secret_shows_in_debug() {
        let tgt = captured_tgt();
        let x = start(dc(), capture_time());
        let shown = format!("{x:?}");
        let key = format!("{:?}", &tgt.session_key.as_bytes()[..6]);
        assert!(!shown.contains(&key[1..key.len() - 1]), "{shown}");
    }
}
