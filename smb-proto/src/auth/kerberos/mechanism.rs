//! Kerberos as the SPNEGO mechanism of an SMB login (MS-SPNG, MS-KILE): the
//! [`Authenticator`] that sends the AP-REQ for a service ticket in a NegTokenInit and
//! checks the server's AP-REP (mutual authentication), whose subkey becomes the SMB
//! session key.
//!
//! ```text
//! client                                                        SMB server
//!   |-- SESSION_SETUP: NegTokenInit{[MS-KRB5, KRB5], GSS(AP-REQ)} -->|
//!   |<- SUCCESS (signed): NegTokenResp{accept-completed, GSS(AP-REP)} |
//! ```
//!
//! The service ticket comes first, from the KDC ([`super::TgsExchange`]); the caller
//! supplies the time and a seed for the subkey, sequence number and confounder, so the
//! core stays free of clocks and random sources.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::Decode;

use super::asn1::{name_type, KerberosTime, PrincipalName, Ticket};
use super::crypto::Key;
use super::gss::{self, ApReqParts, GssError, OID_KRB5, OID_MS_KRB5};
use super::Credential;
use crate::auth::ntlm::AuthError;
use crate::auth::spnego::{
    neg_token_init_for, parse_neg_token_resp, Authenticator, SessionKey,
    NEG_STATE_ACCEPT_COMPLETED, NEG_STATE_REJECT,
};
use crate::rng::Rng;

/// What has been sent.
#[derive(Debug)]
enum Step {
    Start,
    /// The AP-REQ, made at `ctime`/`cusec` with initiator subkey `subkey`.
    SentApReq {
        ctime: KerberosTime,
        cusec: i32,
        subkey: Key,
    },
    /// The AP-REP checked: the session key.
    Done(SessionKey),
    Failed,
}

/// Kerberos in SPNEGO for one login, with a ready service ticket. Its `Debug` shows no
/// key.
pub struct SpnegoKerberos {
    ticket: Credential,
    rng: Rng,
    /// The client's time when the AP-REQ is made (Kerberos wants wall-clock time).
    now: SystemTime,
    step: Step,
}

impl std::fmt::Debug for SpnegoKerberos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpnegoKerberos")
            .field("ticket", &self.ticket)
            .field(
                "step",
                &match self.step {
                    Step::Start => "start",
                    Step::SentApReq { .. } => "sent AP-REQ",
                    Step::Done(_) => "done",
                    Step::Failed => "failed",
                },
            )
            .finish_non_exhaustive()
    }
}

impl SpnegoKerberos {
    /// A login with `ticket` (a service ticket for the server, `cifs/host@REALM`), at
    /// wall-clock time `now` moved by `time_offset` seconds
    /// ([`KdcConfig::time_offset`](super::KdcConfig::time_offset)), drawing its subkey,
    /// sequence number and confounder from `seed`.
    pub fn new(ticket: Credential, seed: [u8; 32], now: SystemTime, time_offset: i64) -> Self {
        let offset = Duration::from_secs(time_offset.unsigned_abs());
        let now = if time_offset >= 0 {
            now.checked_add(offset)
        } else {
            now.checked_sub(offset)
        };
        SpnegoKerberos {
            ticket,
            rng: Rng::from_seed(seed),
            now: now.unwrap_or(UNIX_EPOCH),
            step: Step::Start,
        }
    }

    fn ap_req(&mut self) -> Result<(Vec<u8>, Step), AuthError> {
        let since = self
            .now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| AuthError::Unsupported("a clock before 1970"))?;
        let ctime = KerberosTime::from_unix_duration(Duration::from_secs(since.as_secs()))
            .map_err(GssError::from)?;
        let cusec = i32::try_from(since.subsec_micros()).unwrap_or(0);
        let key = &self.ticket.session_key;
        let mut subkey = zeroize::Zeroizing::new(vec![0u8; key.etype().key_len()]);
        self.rng.fill(&mut subkey);
        let subkey = Key::new(key.etype(), &subkey).map_err(GssError::from)?;
        let seq_number = u32::from_le_bytes(self.rng.array()) & 0x7FFF_FFFF;
        let mut confounder = vec![0u8; key.etype().confounder_len()];
        self.rng.fill(&mut confounder);
        let ticket = Ticket::from_der(&self.ticket.ticket).map_err(GssError::from)?;
        let client = &self.ticket.client;
        let names: Vec<&str> = client.name.iter().map(String::as_str).collect();
        let token = gss::ap_req(&ApReqParts {
            ticket: &ticket,
            session_key: key,
            crealm: &client.realm,
            cname: &PrincipalName::new(name_type::PRINCIPAL, &names),
            ctime,
            cusec,
            subkey: &subkey,
            seq_number,
            flags: gss::flags::SMB_LOGIN,
            confounder: &confounder,
        })?;
        Ok((
            token,
            Step::SentApReq {
                ctime,
                cusec,
                subkey,
            },
        ))
    }
}

impl Authenticator for SpnegoKerberos {
    fn initial_token(&mut self) -> Result<Vec<u8>, AuthError> {
        if !matches!(self.step, Step::Start) {
            return Err(AuthError::State("initial token requested twice"));
        }
        let (ap_req, step) = self.ap_req()?;
        self.step = step;
        // Windows' order; the standard OID too, for servers that know only it. No NTLM:
        // a server falling back inside this context would want a MIC-protected NTLM round.
        Ok(neg_token_init_for(&[OID_MS_KRB5, OID_KRB5], &ap_req).0)
    }

    fn next_token(&mut self, server_token: &[u8]) -> Result<Option<Vec<u8>>, AuthError> {
        let Step::SentApReq {
            ctime,
            cusec,
            subkey,
        } = std::mem::replace(&mut self.step, Step::Failed)
        else {
            return Err(AuthError::State("server token out of order"));
        };
        let resp = parse_neg_token_resp(server_token)?;
        match resp.neg_state {
            Some(NEG_STATE_ACCEPT_COMPLETED) => {}
            Some(NEG_STATE_REJECT) => return Err(AuthError::Rejected),
            _ => {
                return Err(AuthError::Unsupported(
                    "a Kerberos login the server does not complete in one round",
                ))
            }
        }
        if resp
            .supported_mech
            .as_deref()
            .is_some_and(|m| m != OID_KRB5 && m != OID_MS_KRB5)
        {
            return Err(AuthError::UnsupportedMech);
        }
        if resp.mech_list_mic.is_some() {
            // Optional here (RFC 4178 5: our first mechanism, its token used), and Samba
            // sends none; one this client cannot check is refused rather than ignored.
            return Err(AuthError::Unsupported(
                "a Kerberos mechListMIC from the server",
            ));
        }
        let token = resp.response_token.ok_or(AuthError::Unsupported(
            "no AP-REP: mutual authentication is required",
        ))?;
        let part = gss::ap_rep(&token, &self.ticket.session_key, &ctime, cusec)?;
        let key = gss::session_key(part.subkey.as_ref(), &subkey);
        self.step = Step::Done(SessionKey::new(key.to_vec()));
        Ok(None)
    }

    fn session_key(&self) -> Option<SessionKey> {
        match &self.step {
            Step::Done(key) => Some(key.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Against smbclient's captured login to Samba (see `tests/data/kerberos/README.md`):
    //! the DC's key (`dc.keytab`) opens the ticket, so the test stands where the server
    //! does.
    use super::*;
    use crate::auth::kerberos::asn1::{ApReq, AuthenticatorBody};
    use crate::auth::kerberos::gss::tests::{
        accept, mech_token, response_token, security_blob, service_key, SESSION_SETUP_REQUEST,
        SESSION_SETUP_RESPONSE,
    };
    use crate::auth::kerberos::Principal;
    use crate::auth::spnego::{neg_token_resp, parse_neg_token_init};

    /// smbclient's service ticket and its session key (as the TGS-REP gave them to it),
    /// and its authenticator.
    fn captured() -> (Credential, AuthenticatorBody) {
        let token = mech_token(security_blob(SESSION_SETUP_REQUEST, true));
        let (session_key, auth) = accept(&token, &service_key());
        let ticket = ApReq::from_der(gss::unwrap(&token).unwrap().1)
            .unwrap()
            .0
            .ticket;
        let at = UNIX_EPOCH;
        let credential = Credential {
            client: Principal::parse("alice@SMBTEST.TEST", None).unwrap(),
            server: Principal::cifs("dc.smbtest.test", "SMBTEST.TEST").unwrap(),
            ticket: ticket.der,
            ticket_etype: 18,
            session_key,
            flags: 0,
            authtime: at,
            starttime: at,
            endtime: at,
            renew_till: None,
        };
        (credential, auth)
    }

    /// smbclient's time of the AP-REQ, so the captured AP-REP answers ours.
    fn their_time(auth: &AuthenticatorBody) -> SystemTime {
        UNIX_EPOCH
            + auth.ctime.to_unix_duration()
            + Duration::from_micros(u64::try_from(auth.cusec).unwrap())
    }

    /// A DER TLV (lengths up to 65535).
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    fn server_answer() -> Vec<u8> {
        security_blob(SESSION_SETUP_RESPONSE, false).to_vec()
    }

    #[test]
    fn the_token_offers_kerberos_only_and_carries_our_ap_req() {
        let (ticket, auth) = captured();
        let mut k = SpnegoKerberos::new(ticket.clone(), [4; 32], their_time(&auth), 0);
        let token = k.initial_token().unwrap();
        assert_eq!(
            parse_neg_token_init(&token).unwrap(),
            [OID_MS_KRB5.to_vec(), OID_KRB5.to_vec()]
        );
        let (session, ours) = accept(&mech_token(&token), &service_key());
        assert_eq!(session, ticket.session_key);
        assert_eq!((ours.ctime, ours.cusec), (auth.ctime, auth.cusec));
        let cksum = ours.cksum.unwrap();
        assert_eq!(cksum.cksumtype, gss::CHECKSUM_GSS);
        assert_eq!(
            cksum.checksum.as_bytes()[20..],
            gss::flags::SMB_LOGIN.to_le_bytes()
        );
        let subkey = ours.subkey.unwrap();
        assert_eq!((subkey.keytype, subkey.keyvalue.as_bytes().len()), (18, 32));
        assert!(ours.seq_number.unwrap() < 0x8000_0000);
        assert!(matches!(k.initial_token(), Err(AuthError::State(_))));
        // The seed makes the subkey; the time offset moves the authenticator's time.
        let mut again = SpnegoKerberos::new(ticket.clone(), [4; 32], their_time(&auth), 0);
        assert_eq!(again.initial_token().unwrap(), token);
        let mut later = SpnegoKerberos::new(ticket, [4; 32], their_time(&auth), 60);
        let (_, moved) = accept(&mech_token(&later.initial_token().unwrap()), &service_key());
        assert_eq!(
            moved.ctime.to_unix_duration(),
            auth.ctime.to_unix_duration() + Duration::from_secs(60)
        );
    }

    #[test]
    fn the_servers_ap_rep_gives_its_whole_subkey_as_the_session_key() {
        let (ticket, auth) = captured();
        let mut k = SpnegoKerberos::new(ticket.clone(), [4; 32], their_time(&auth), 0);
        let _ = k.initial_token().unwrap();
        assert_eq!(k.session_key(), None);
        assert_eq!(k.next_token(&server_answer()).unwrap(), None);
        let expected = gss::ap_rep(
            &response_token(&server_answer()),
            &ticket.session_key,
            &auth.ctime,
            auth.cusec,
        )
        .unwrap()
        .subkey
        .unwrap();
        let key = k.session_key().unwrap();
        assert_eq!(key.len(), 32, "AES-256: all of it");
        assert_eq!(&key[..], expected.keyvalue.as_bytes());
        assert!(matches!(
            k.next_token(&server_answer()),
            Err(AuthError::State(_))
        ));
        assert!(!format!("{k:?}").contains(&format!("{:?}", &key[..4])[1..8]));
    }

    #[test]
    fn answers_that_do_not_complete_mutual_authentication_are_refused() {
        let (ticket, auth) = captured();
        let run = |now: SystemTime, answer: &[u8]| {
            let mut k = SpnegoKerberos::new(ticket.clone(), [4; 32], now, 0);
            let _ = k.initial_token().unwrap();
            let r = k.next_token(answer);
            assert_eq!(k.session_key(), None);
            r.unwrap_err()
        };
        // Our AP-REQ a second later: the AP-REP echoes another time.
        let e = run(their_time(&auth) + Duration::from_secs(1), &server_answer());
        assert!(
            matches!(e, AuthError::Kerberos(GssError::MutualAuthentication(_))),
            "{e}"
        );
        let resp = parse_neg_token_resp(&server_answer()).unwrap();
        let ap_rep = resp.response_token.unwrap();
        // The server's answer again, well-formed, completed: it gives a key; with a
        // server MIC this client cannot check, it does not.
        let answer = |mic: Option<&[u8]>| {
            let mut fields = der(0xa0, &der(0x0a, &[0]));
            fields.extend(der(0xa2, &der(0x04, &ap_rep)));
            if let Some(mic) = mic {
                fields.extend(der(0xa3, &der(0x04, mic)));
            }
            der(0xa1, &der(0x30, &fields))
        };
        let mut k = SpnegoKerberos::new(ticket.clone(), [4; 32], their_time(&auth), 0);
        let _ = k.initial_token().unwrap();
        assert_eq!(k.next_token(&answer(None)).unwrap(), None);
        assert!(k.session_key().is_some());
        let e = run(their_time(&auth), &answer(Some(b"mic")));
        assert!(
            matches!(e, AuthError::Unsupported(m) if m.contains("mechListMIC")),
            "{e}"
        );
        // The client's form (no negState), a reject, an incomplete round, no AP-REP.
        let e = run(their_time(&auth), &neg_token_resp(&ap_rep, None));
        assert!(matches!(e, AuthError::Unsupported(_)), "{e}");
        let reject = [0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x02];
        assert_eq!(run(their_time(&auth), &reject), AuthError::Rejected);
        let incomplete = [0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x01];
        assert!(matches!(
            run(their_time(&auth), &incomplete),
            AuthError::Unsupported(_)
        ));
        let no_token = [0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x00];
        assert!(matches!(
            run(their_time(&auth), &no_token),
            AuthError::Unsupported(_)
        ));
        // Garbage, and every cut of the real answer, is an error, never a key.
        let answer = server_answer();
        for n in 0..answer.len() {
            let _ = run(their_time(&auth), &answer[..n]);
        }
    }
}
