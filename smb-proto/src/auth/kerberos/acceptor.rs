//! The acceptor's side of a Kerberos login, for whoever holds the service's long-term keys
//! (a keytab): opens the client's AP-REQ — the ticket with the service key (key usage 2),
//! the authenticator with the ticket's session key (usage 11) — and the server's AP-REP
//! (usage 12), and gives the key the SMB session is keyed with ([`gss::session_key`]'s
//! choice: the acceptor's subkey, else the initiator's, else the ticket's session key).
//! `smb dissect --keytab` checks a captured Kerberos session with it.
//!
//! Every byte is untrusted: nothing here panics, and every failure is an [`AcceptError`].

use der::asn1::{AnyRef, OctetString};
use der::{Decode, Reader, SliceReader, TagNumber, Tagged};
use zeroize::Zeroizing;

use super::asn1::{ApReq, Authenticator, EncTicketPart, EncryptionKey, KerberosTime};
use super::crypto::{Enctype, Key};
use super::gss::{self, tok_id, GssError};
use super::keytab::Keytab;
use super::Principal;

/// Key usage of a ticket's enc-part (RFC 4120 7.5.1).
const USAGE_TICKET: u32 = 2;
/// Key usage of an AP-REQ's authenticator.
const USAGE_AP_REQ_AUTHENTICATOR: u32 = 11;

/// Why an AP-REQ or AP-REP could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    /// No key of the keytab opens the ticket: another service's keytab, or an older one.
    #[error(
        "cannot decrypt the ticket for {service}: the keytab has no key of etype {etype}{} \
         that opens it",
        kvno.map_or(String::new(), |k| format!(", kvno {k}"))
    )]
    NoKey {
        /// The service the ticket names.
        service: String,
        /// The ticket's etype.
        etype: i32,
        /// The ticket's key version, if it names one.
        kvno: Option<u32>,
    },
    /// A token that is not what it should be, an authenticator that does not open with the
    /// ticket's key, or an AP-REP that does not prove the service key.
    #[error(transparent)]
    Gss(#[from] GssError),
}

impl From<der::Error> for AcceptError {
    fn from(e: der::Error) -> Self {
        AcceptError::Gss(e.into())
    }
}

impl From<super::crypto::CryptoError> for AcceptError {
    fn from(e: super::crypto::CryptoError) -> Self {
        AcceptError::Gss(e.into())
    }
}

/// An AP-REQ opened with the service's key: who logged in, to what, and the keys.
/// Its `Debug` shows no key.
pub struct AcceptedApReq {
    /// The client, from the ticket.
    pub client: Principal,
    /// The service the ticket is for, from the ticket's clear part.
    pub service: Principal,
    ticket_key: Key,
    initiator_subkey: Option<Key>,
    ctime: KerberosTime,
    cusec: i32,
}

impl std::fmt::Debug for AcceptedApReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptedApReq")
            .field("client", &self.client.to_string())
            .field("service", &self.service.to_string())
            .finish_non_exhaustive()
    }
}

impl AcceptedApReq {
    /// Opens `token` (the GSS AP-REQ, wrapped or bare) with the first key in `keytab` of
    /// the ticket's etype (and key version, when the ticket names one) that decrypts it.
    ///
    /// # Errors
    ///
    /// [`AcceptError::NoKey`] when no key of the keytab opens the ticket (naming the
    /// service, etype and key version); [`AcceptError::Gss`] for a token that is not an
    /// AP-REQ, or an authenticator that does not open with the ticket's key.
    pub fn open(token: &[u8], keytab: &Keytab) -> Result<AcceptedApReq, AcceptError> {
        let inner = match gss::unwrap(token) {
            Ok((tok_id::AP_REQ, inner)) => inner,
            Ok((got, _)) => {
                return Err(GssError::UnexpectedToken {
                    got,
                    expected: tok_id::AP_REQ,
                }
                .into())
            }
            Err(GssError::Malformed(_)) => token,
            Err(e) => return Err(e.into()),
        };
        let req = ApReq::from_der(inner)?.0;
        let ticket = &req.ticket.body;
        let service = Principal {
            name: ticket
                .sname
                .name_string
                .iter()
                .map(|s| s.to_string_lossy())
                .collect(),
            realm: ticket.realm.to_string_lossy(),
        };
        let etype = ticket.enc_part.etype;
        let kvno = ticket.enc_part.kvno;
        let cipher = ticket.enc_part.cipher.as_bytes();
        let plain = keytab
            .entries()
            .iter()
            .filter(|e| e.enctype() == etype)
            .filter(|e| kvno.is_none_or(|k| k == e.kvno()))
            .filter_map(|e| e.key().ok())
            .find_map(|key| key.decrypt(USAGE_TICKET, cipher).ok())
            .map(Zeroizing::new)
            .ok_or_else(|| AcceptError::NoKey {
                service: service.to_string(),
                etype,
                kvno,
            })?;
        let part = EncTicketPart::from_der(&plain)?.0;
        let ticket_key = key_of(&part.key)?;
        let client = Principal {
            name: part
                .cname
                .name_string
                .iter()
                .map(|s| s.to_string_lossy())
                .collect(),
            realm: part.crealm.to_string_lossy(),
        };
        let auth = Zeroizing::new(ticket_key.decrypt(
            USAGE_AP_REQ_AUTHENTICATOR,
            req.authenticator.cipher.as_bytes(),
        )?);
        let auth = Authenticator::from_der(&auth)?.0;
        let initiator_subkey = auth.subkey.as_ref().map(key_of).transpose()?;
        Ok(AcceptedApReq {
            client,
            service,
            ticket_key,
            initiator_subkey,
            ctime: auth.ctime,
            cusec: auth.cusec,
        })
    }

    /// The SMB session key given the server's answer (its GSS AP-REP, when it sent one):
    /// the AP-REP's subkey, else the authenticator's, else the ticket's session key.
    ///
    /// # Errors
    ///
    /// What [`gss::ap_rep`] refuses ([`AcceptError::Gss`]): a KRB-ERROR, an AP-REP that
    /// does not decrypt with the ticket's session key or does not echo the
    /// authenticator's time.
    pub fn session_key(&self, ap_rep: Option<&[u8]>) -> Result<Zeroizing<Vec<u8>>, AcceptError> {
        let acceptor = match ap_rep {
            Some(token) => gss::ap_rep(token, &self.ticket_key, &self.ctime, self.cusec)?.subkey,
            None => None,
        };
        let key = match (&acceptor, &self.initiator_subkey) {
            (Some(k), _) => k.keyvalue.as_bytes(),
            (None, Some(k)) => k.as_bytes(),
            (None, None) => self.ticket_key.as_bytes(),
        };
        Ok(Zeroizing::new(key.to_vec()))
    }
}

fn key_of(k: &EncryptionKey) -> Result<Key, AcceptError> {
    let etype = Enctype::from_number(k.keytype)
        .ok_or_else(|| GssError::Malformed(format!("a key of unknown etype {}", k.keytype)))?;
    Ok(Key::new(etype, k.keyvalue.as_bytes())?)
}

/// The mechToken of a client's SPNEGO NegTokenInit (RFC 4178 4.2.1), if it has one: in a
/// Kerberos login, the GSS AP-REQ. `None` for anything else (a NegTokenResp, NTLMSSP).
pub fn neg_token_init_mech_token(spnego: &[u8]) -> Option<Vec<u8>> {
    let outer = AnyRef::from_der(spnego).ok()?;
    let mut r = SliceReader::new(outer.value()).ok()?;
    let _oid = AnyRef::decode(&mut r).ok()?;
    let init = AnyRef::decode(&mut r).ok()?;
    let seq = AnyRef::from_der(init.value()).ok()?;
    let mut fields = SliceReader::new(seq.value()).ok()?;
    while !fields.is_finished() {
        let field = AnyRef::decode(&mut fields).ok()?;
        if field.tag().number() == TagNumber(2) {
            return Some(
                OctetString::from_der(field.value())
                    .ok()?
                    .into_bytes()
                    .into(),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::kerberos::gss::tests::{
        response_token, security_blob, SESSION_SETUP_REQUEST, SESSION_SETUP_RESPONSE,
    };

    const DC_KEYTAB: &[u8] = include_bytes!("../../../tests/data/kerberos/dc.keytab");

    /// smbclient's captured login (tests/data/kerberos/README.md), opened with the DC's
    /// keytab: the acceptor subkey is the session key, as the client test finds.
    #[test]
    fn opens_smbclients_login_with_the_dcs_keytab() {
        let token = neg_token_init_mech_token(security_blob(SESSION_SETUP_REQUEST, true)).unwrap();
        let keytab = Keytab::parse(DC_KEYTAB).unwrap();
        let accepted = AcceptedApReq::open(&token, &keytab).unwrap();
        assert_eq!(
            accepted.service.to_string(),
            "cifs/dc.smbtest.test@SMBTEST.TEST"
        );
        assert_eq!(accepted.client.realm, "SMBTEST.TEST");
        let answer = response_token(security_blob(SESSION_SETUP_RESPONSE, false));
        let key = accepted.session_key(Some(&answer)).unwrap();
        assert_eq!(key.len(), 32);
        let initiator = accepted.session_key(None).unwrap();
        assert_ne!(
            *key, *initiator,
            "the acceptor's subkey, not the initiator's"
        );
        assert!(!format!("{accepted:?}").contains("ticket_key"));

        // Another domain's DC keytab (the same names, other keys): the ticket does not
        // open.
        let other = Keytab::parse(include_bytes!(
            "../../../tests/data/captures/kerberos_dc.keytab"
        ))
        .unwrap();
        let e = AcceptedApReq::open(&token, &other).unwrap_err();
        assert!(matches!(e, AcceptError::NoKey { etype: 18, .. }), "{e}");
        assert!(e.to_string().contains("cannot decrypt the ticket"), "{e}");
        // Garbage is an error, not a panic.
        for cut in 0..token.len() {
            let _ = AcceptedApReq::open(&token[..cut], &keytab);
            let _ = neg_token_init_mech_token(
                &security_blob(SESSION_SETUP_REQUEST, true)[..cut.min(20)],
            );
        }
    }
}
