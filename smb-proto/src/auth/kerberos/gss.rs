//! The Kerberos GSS-API mechanism's context tokens (RFC 4121 4.1): the AP-REQ a client
//! puts in its SPNEGO token to log in, and the AP-REP by which the server proves it holds
//! the service key (mutual authentication) and hands over its subkey, which becomes the
//! SMB session key.
//!
//! A token is the RFC 2743 3.1 framing, `[APPLICATION 0] { OID 1.2.840.113554.1.2.2,
//! TOK_ID (2 bytes), inner token }`, with TOK_ID `01 00` for an AP-REQ, `02 00` for an
//! AP-REP and `03 00` for a KRB-ERROR.
//!
//! The authenticator carries the GSS checksum (RFC 4121 4.1.1, type 0x8003): a 16-byte
//! channel-binding hash (zeros: none) and the context flags. The caller supplies the time,
//! the subkey, the sequence number and the confounder, so the core stays free of clocks and
//! random sources.

use der::asn1::OctetString;
use der::{Decode, Encode, Header, Length, Reader, SliceReader, Tag, TagNumber};

use super::asn1::{
    msg_type, ApRep, ApReq, ApReqBody, App, AuthenticatorBody, Checksum, EncApRepPart,
    EncApRepPartBody, EncryptedData, EncryptionKey, KerberosFlags, KerberosString, KerberosTime,
    KrbError, KrbErrorBody, PrincipalName, Ticket,
};
use super::crypto::{CryptoError, Key};

/// The Kerberos V5 mechanism's OID, 1.2.840.113554.1.2.2 (content octets).
pub const OID_KRB5: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x12, 0x01, 0x02, 0x02];
/// Microsoft's variant of it, 1.2.840.48018.1.2.2, which Windows lists first in SPNEGO.
pub const OID_MS_KRB5: &[u8] = &[0x2A, 0x86, 0x48, 0x82, 0xF7, 0x12, 0x01, 0x02, 0x02];

/// TOK_ID values (RFC 4121 4.1).
pub mod tok_id {
    /// KRB_AP_REQ.
    pub const AP_REQ: [u8; 2] = [0x01, 0x00];
    /// KRB_AP_REP.
    pub const AP_REP: [u8; 2] = [0x02, 0x00];
    /// KRB_ERROR.
    pub const ERROR: [u8; 2] = [0x03, 0x00];
}

/// Context flags of the GSS checksum (RFC 4121 4.1.1.1).
pub mod flags {
    /// GSS_C_DELEG_FLAG: delegate the TGT (never sent here).
    pub const DELEG: u32 = 1;
    /// GSS_C_MUTUAL_FLAG.
    pub const MUTUAL: u32 = 2;
    /// GSS_C_REPLAY_FLAG.
    pub const REPLAY: u32 = 4;
    /// GSS_C_SEQUENCE_FLAG.
    pub const SEQUENCE: u32 = 8;
    /// GSS_C_CONF_FLAG.
    pub const CONF: u32 = 16;
    /// GSS_C_INTEG_FLAG.
    pub const INTEG: u32 = 32;
    /// What a client logging in to SMB asks for: everything but delegation.
    pub const SMB_LOGIN: u32 = MUTUAL | REPLAY | SEQUENCE | CONF | INTEG;
}

/// The checksum type of the GSS checksum (RFC 4121 4.1.1).
pub const CHECKSUM_GSS: i32 = 0x8003;
/// AP-REQ ap-options: mutual-required (RFC 4120 5.5.1, bit 2).
pub const AP_OPTIONS_MUTUAL_REQUIRED: u32 = 0x2000_0000;

/// Key usage of the AP-REQ authenticator (RFC 4120 7.5.1).
const USAGE_AUTHENTICATOR: u32 = 11;
/// Key usage of the AP-REP's encrypted part.
const USAGE_AP_REP: u32 = 12;

/// Why a token could not be made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GssError {
    /// Not a well-formed token, or a message inside it that does not decode.
    #[error("malformed Kerberos GSS token: {0}")]
    Malformed(String),
    /// A token of another mechanism.
    #[error("the token is not a Kerberos V5 one")]
    OtherMechanism,
    /// A token of another kind than the one awaited.
    #[error("Kerberos token {got:02x?} where {expected:02x?} was expected")]
    UnexpectedToken {
        /// Its TOK_ID.
        got: [u8; 2],
        /// The one awaited.
        expected: [u8; 2],
    },
    /// The server answered with a KRB-ERROR.
    #[error("the server refused the Kerberos ticket: error {code}")]
    Refused {
        /// error-code (RFC 4120 7.5.9), e.g. 37 for a clock skew, 41 for a ticket the
        /// server's key does not open.
        code: i32,
        /// The server's time when it refused, for a clock skew.
        server_time: KerberosTime,
    },
    /// The AP-REP does not decrypt with the session key, or does not echo the
    /// authenticator's time: the server did not prove it holds the service key.
    #[error("mutual authentication failed: {0}")]
    MutualAuthentication(String),
    /// A key or confounder the caller gave does not fit.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl From<der::Error> for GssError {
    fn from(e: der::Error) -> Self {
        GssError::Malformed(e.to_string())
    }
}

/// The GSS tag: `[APPLICATION 0]`, constructed.
const GSS_TAG: Tag = Tag::Application {
    constructed: true,
    number: TagNumber(0),
};

/// Frames `inner` (an AP-REQ, AP-REP or KRB-ERROR's DER) as a Kerberos GSS token.
///
/// # Errors
///
/// [`GssError::Malformed`] only for an inner token too large for DER lengths.
pub fn wrap(tok_id: [u8; 2], inner: &[u8]) -> Result<Vec<u8>, GssError> {
    let mut content = Vec::with_capacity(OID_KRB5.len() + 4 + inner.len());
    content.push(0x06);
    content.push(OID_KRB5.len() as u8);
    content.extend_from_slice(OID_KRB5);
    content.extend_from_slice(&tok_id);
    content.extend_from_slice(inner);
    let mut out = Vec::with_capacity(content.len() + 6);
    Header::new(GSS_TAG, Length::try_from(content.len())?).encode_to_vec(&mut out)?;
    out.extend_from_slice(&content);
    Ok(out)
}

/// The TOK_ID and inner token of a Kerberos GSS token.
///
/// # Errors
///
/// [`GssError::Malformed`] for bytes that are not one whole token,
/// [`GssError::OtherMechanism`] for another mechanism's.
pub fn unwrap(token: &[u8]) -> Result<([u8; 2], &[u8]), GssError> {
    let mut r = SliceReader::new(token)?;
    let header = Header::decode(&mut r)?;
    if header.tag() != GSS_TAG {
        return Err(GssError::Malformed(format!(
            "tag {} instead of [APPLICATION 0]",
            header.tag()
        )));
    }
    let content = r.read_slice(header.length())?;
    r.finish()?;
    let rest = match content {
        [0x06, len, rest @ ..] if usize::from(*len) <= rest.len() => {
            let (oid, rest) = rest.split_at(usize::from(*len));
            if oid != OID_KRB5 && oid != OID_MS_KRB5 {
                return Err(GssError::OtherMechanism);
            }
            rest
        }
        _ => return Err(GssError::Malformed("no mechanism OID".into())),
    };
    match rest {
        [a, b, inner @ ..] => Ok(([*a, *b], inner)),
        _ => Err(GssError::Malformed("no TOK_ID".into())),
    }
}

/// The GSS checksum (RFC 4121 4.1.1): Lgth 16, no channel bindings, `flags`.
///
/// # Errors
///
/// None in practice: a [`der::Error`] would mean 24 bytes do not fit an OCTET STRING.
pub fn gss_checksum(flags: u32) -> Result<Checksum, GssError> {
    let mut value = Vec::with_capacity(24);
    value.extend_from_slice(&16u32.to_le_bytes());
    value.extend_from_slice(&[0u8; 16]);
    value.extend_from_slice(&flags.to_le_bytes());
    Ok(Checksum {
        cksumtype: CHECKSUM_GSS,
        checksum: OctetString::new(value)?,
    })
}

/// What an AP-REQ says about the client, besides the ticket.
#[derive(Debug, Clone)]
pub struct ApReqParts<'a> {
    /// The service ticket, as the KDC sent it.
    pub ticket: &'a Ticket,
    /// The ticket's session key (from the TGS-REP).
    pub session_key: &'a Key,
    /// The client's realm.
    pub crealm: &'a str,
    /// The client's name.
    pub cname: &'a PrincipalName,
    /// The client's time, to the second.
    pub ctime: KerberosTime,
    /// Its microseconds.
    pub cusec: i32,
    /// The initiator's subkey, of the session key's type.
    pub subkey: &'a Key,
    /// The initial sequence number (31 bits).
    pub seq_number: u32,
    /// The context flags ([`flags::SMB_LOGIN`]).
    pub flags: u32,
    /// The confounder for the authenticator's encryption.
    pub confounder: &'a [u8],
}

/// The AP-REQ as a GSS token, asking for mutual authentication.
///
/// # Errors
///
/// [`GssError::Crypto`] for a confounder of the wrong length.
pub fn ap_req(parts: &ApReqParts<'_>) -> Result<Vec<u8>, GssError> {
    let authenticator = App::<_, 2>(AuthenticatorBody {
        authenticator_vno: 5,
        crealm: KerberosString::from(parts.crealm),
        cname: parts.cname.clone(),
        cksum: Some(gss_checksum(parts.flags)?),
        cusec: parts.cusec,
        ctime: parts.ctime,
        subkey: Some(EncryptionKey {
            keytype: parts.subkey.etype().number(),
            keyvalue: OctetString::new(parts.subkey.as_bytes())?,
        }),
        seq_number: Some(parts.seq_number),
        authorization_data: None,
    });
    let plain = zeroize::Zeroizing::new(authenticator.to_der()?);
    let cipher = parts
        .session_key
        .encrypt(USAGE_AUTHENTICATOR, &plain, parts.confounder)?;
    let req: ApReq = App(ApReqBody {
        pvno: 5,
        msg_type: msg_type::AP_REQ,
        ap_options: KerberosFlags(AP_OPTIONS_MUTUAL_REQUIRED),
        ticket: parts.ticket.clone(),
        authenticator: EncryptedData {
            etype: parts.session_key.etype().number(),
            kvno: None,
            cipher: OctetString::new(cipher)?,
        },
    });
    wrap(tok_id::AP_REQ, &req.to_der()?)
}

/// Reads the server's answer token to an AP-REQ made with `session_key` at
/// `ctime`/`cusec`: the AP-REP's encrypted part, once it echoes that time (the server
/// proved it could read the authenticator). Accepts the token GSS-framed (as Samba and
/// Windows send it) or bare.
///
/// # Errors
///
/// [`GssError::Refused`] for a KRB-ERROR, [`GssError::MutualAuthentication`] for an
/// AP-REP that does not decrypt or echoes another time, [`GssError::Malformed`] and
/// [`GssError::UnexpectedToken`] for anything else.
pub fn ap_rep(
    token: &[u8],
    session_key: &Key,
    ctime: &KerberosTime,
    cusec: i32,
) -> Result<EncApRepPartBody, GssError> {
    let inner = match unwrap(token) {
        Ok((tok_id::AP_REP, inner)) => inner,
        Ok((tok_id::ERROR, inner)) => return Err(refusal(inner)),
        Ok((got, _)) => {
            return Err(GssError::UnexpectedToken {
                got,
                expected: tok_id::AP_REP,
            })
        }
        // Bare: `[APPLICATION 15]` or `[APPLICATION 30]`.
        Err(GssError::Malformed(_)) if token.first() == Some(&0x7E) => return Err(refusal(token)),
        Err(GssError::Malformed(_)) => token,
        Err(e) => return Err(e),
    };
    let rep = ApRep::from_der(inner)?.0;
    let plain = session_key
        .decrypt(USAGE_AP_REP, rep.enc_part.cipher.as_bytes())
        .map_err(|e| GssError::MutualAuthentication(e.to_string()))?;
    let part = EncApRepPart::from_der(&plain)?.0;
    if part.ctime != *ctime || part.cusec != cusec {
        return Err(GssError::MutualAuthentication(
            "the AP-REP does not echo the authenticator's time".into(),
        ));
    }
    Ok(part)
}

fn refusal(inner: &[u8]) -> GssError {
    match KrbError::from_der(inner) {
        Ok(App(KrbErrorBody {
            error_code, stime, ..
        })) => GssError::Refused {
            code: error_code,
            server_time: stime,
        },
        Err(e) => e.into(),
    }
}

/// The key an SMB session is keyed with after a Kerberos login (MS-KILE 3.1.1.2 with
/// mutual authentication): the acceptor's subkey from the AP-REP, else the initiator's
/// subkey from the authenticator, else the ticket's session key.
pub fn session_key<'a>(
    acceptor_subkey: Option<&'a EncryptionKey>,
    initiator_subkey: &'a Key,
) -> &'a [u8] {
    match acceptor_subkey {
        Some(k) => k.keyvalue.as_bytes(),
        None => initiator_subkey.as_bytes(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! A real login: smbclient 4.17 with a Kerberos ticket against a Samba 4.17 AD DC's
    //! smbd, whose machine key (`dc.keytab`) lets the test read both sides (see
    //! `tests/data/kerberos/README.md`).
    use super::*;
    use crate::auth::kerberos::asn1::{Authenticator, EncTicketPart};
    use crate::auth::kerberos::crypto::Enctype;
    use crate::auth::kerberos::keytab::Keytab;
    use der::asn1::AnyRef;

    pub(crate) const SESSION_SETUP_REQUEST: &[u8] =
        include_bytes!("../../../tests/data/kerberos/smb-08-session-setup-request.bin");
    pub(crate) const SESSION_SETUP_RESPONSE: &[u8] =
        include_bytes!("../../../tests/data/kerberos/smb-09-session-setup-response.bin");

    /// The mechToken of a client's SPNEGO NegTokenInit (RFC 4178 4.2.1).
    pub(crate) fn mech_token(spnego: &[u8]) -> Vec<u8> {
        let outer = AnyRef::from_der(spnego).unwrap();
        let mut r = SliceReader::new(outer.value()).unwrap();
        let _oid = AnyRef::decode(&mut r).unwrap();
        let init = AnyRef::decode(&mut r).unwrap();
        let seq = AnyRef::from_der(init.value()).unwrap();
        let mut fields = SliceReader::new(seq.value()).unwrap();
        while !fields.is_finished() {
            let field = AnyRef::decode(&mut fields).unwrap();
            if der::Tagged::tag(&field).number() == TagNumber(2) {
                return OctetString::from_der(field.value())
                    .unwrap()
                    .into_bytes()
                    .into();
            }
        }
        panic!("no mechToken");
    }

    /// The responseToken of a server's NegTokenResp.
    pub(crate) fn response_token(spnego: &[u8]) -> Vec<u8> {
        let resp = crate::auth::spnego::parse_neg_token_resp(spnego).unwrap();
        resp.response_token.unwrap()
    }

    /// An SMB2 message's security buffer (SESSION_SETUP request: offset at 12, length at
    /// 14 of the body; response: offset at 4, length at 6).
    pub(crate) fn security_blob(msg: &[u8], request: bool) -> &[u8] {
        let at = if request { 64 + 12 } else { 64 + 4 };
        let off = u16::from_le_bytes([msg[at], msg[at + 1]]) as usize;
        let len = u16::from_le_bytes([msg[at + 2], msg[at + 3]]) as usize;
        &msg[off..off + len]
    }

    pub(crate) fn service_key() -> Key {
        let keytab =
            Keytab::parse(include_bytes!("../../../tests/data/kerberos/dc.keytab")).unwrap();
        keytab
            .entries()
            .iter()
            .find(|e| e.enctype() == 18)
            .unwrap()
            .key()
            .unwrap()
    }

    /// What the server does with an AP-REQ: the ticket opened with the service key
    /// (usage 2), the authenticator with the ticket's session key (usage 11).
    pub(crate) fn accept(token: &[u8], service: &Key) -> (Key, AuthenticatorBody) {
        let (id, inner) = unwrap(token).unwrap();
        assert_eq!(id, tok_id::AP_REQ);
        let req = ApReq::from_der(inner).unwrap().0;
        let ticket = service
            .decrypt(2, req.ticket.body.enc_part.cipher.as_bytes())
            .unwrap();
        let ticket = EncTicketPart::from_der(&ticket).unwrap().0;
        let etype = Enctype::from_number(ticket.key.keytype).unwrap();
        let session = Key::new(etype, ticket.key.keyvalue.as_bytes()).unwrap();
        let auth = session
            .decrypt(11, req.authenticator.cipher.as_bytes())
            .unwrap();
        (session, Authenticator::from_der(&auth).unwrap().0)
    }

    #[test]
    fn smbclients_ap_req_opens_with_the_service_key_and_carries_the_gss_checksum() {
        let token = mech_token(security_blob(SESSION_SETUP_REQUEST, true));
        let req = ApReq::from_der(unwrap(&token).unwrap().1).unwrap().0;
        assert_eq!(req.ap_options, KerberosFlags(AP_OPTIONS_MUTUAL_REQUIRED));
        let (_, auth) = accept(&token, &service_key());
        let cksum = auth.cksum.unwrap();
        assert_eq!(cksum.cksumtype, CHECKSUM_GSS);
        let value = cksum.checksum.as_bytes();
        assert_eq!(
            &value[..20],
            &gss_checksum(0).unwrap().checksum.as_bytes()[..20]
        );
        assert!(auth.subkey.is_some());
    }

    #[test]
    fn the_servers_ap_rep_proves_the_service_key_and_its_subkey_signs_the_session() {
        let token = mech_token(security_blob(SESSION_SETUP_REQUEST, true));
        let (session, auth) = accept(&token, &service_key());
        let answer = response_token(security_blob(SESSION_SETUP_RESPONSE, false));
        let part = ap_rep(&answer, &session, &auth.ctime, auth.cusec).unwrap();
        let acceptor = part
            .subkey
            .as_ref()
            .expect("Samba's acceptor sends a subkey");
        assert_eq!(acceptor.keytype, 18);

        // The SMB session key is the acceptor's subkey: with it (and the 3.1.1 preauth
        // hash of the exchange), the server's signature on its SESSION_SETUP answer
        // verifies; with the initiator's subkey it does not.
        let initiator = auth.subkey.as_ref().unwrap();
        let initiator = Key::new(Enctype::Aes256, initiator.keyvalue.as_bytes()).unwrap();
        let negotiate_request =
            include_bytes!("../../../tests/data/kerberos/smb-04-negotiate-request.bin");
        let negotiate_response =
            include_bytes!("../../../tests/data/kerberos/smb-06-negotiate-response.bin");
        let mut preauth = crate::crypto::preauth::PreauthHash::new();
        for msg in [
            &negotiate_request[..],
            &negotiate_response[..],
            SESSION_SETUP_REQUEST,
        ] {
            preauth.update(msg);
        }
        let verifies = |key: &[u8]| {
            let keys = crate::crypto::kdf::derive_session_keys(0x0311, key, preauth.value(), 16);
            crate::crypto::signing::verify(
                crate::crypto::signing::SigningAlgorithm::AesGmac,
                &keys.signing,
                SESSION_SETUP_RESPONSE,
            ) || crate::crypto::signing::verify(
                crate::crypto::signing::SigningAlgorithm::AesCmac,
                &keys.signing,
                SESSION_SETUP_RESPONSE,
            )
        };
        assert!(verifies(session_key(Some(acceptor), &initiator)));
        assert!(!verifies(session_key(None, &initiator)));
        assert!(!verifies(session.as_bytes()));
    }

    #[test]
    fn our_ap_req_reads_back_as_a_server_reads_it_and_our_ap_rep_check_holds() {
        let token = mech_token(security_blob(SESSION_SETUP_REQUEST, true));
        let service = service_key();
        let (session, theirs) = accept(&token, &service);
        let ticket = ApReq::from_der(unwrap(&token).unwrap().1).unwrap().0.ticket;
        let subkey = Key::new(Enctype::Aes256, &[5; 32]).unwrap();
        let cname = PrincipalName::new(1, &["alice"]);
        let ours = ap_req(&ApReqParts {
            ticket: &ticket,
            session_key: &session,
            crealm: "SMBTEST.TEST",
            cname: &cname,
            ctime: theirs.ctime,
            cusec: 123_456,
            subkey: &subkey,
            seq_number: 0x1234_5678,
            flags: flags::SMB_LOGIN,
            confounder: &[9; 16],
        })
        .unwrap();
        let (_, auth) = accept(&ours, &service);
        assert_eq!(auth.cname, cname);
        assert_eq!(auth.crealm, KerberosString::from("SMBTEST.TEST"));
        assert_eq!(auth.cusec, 123_456);
        assert_eq!(auth.seq_number, Some(0x1234_5678));
        assert_eq!(auth.subkey.unwrap().keyvalue.as_bytes(), [5; 32]);
        assert_eq!(auth.cksum, Some(gss_checksum(flags::SMB_LOGIN).unwrap()));
        // The ticket went in byte for byte.
        let req = ApReq::from_der(unwrap(&ours).unwrap().1).unwrap().0;
        assert_eq!(req.ticket.der, ticket.der);

        // The server's AP-REP checked against another time is refused; a KRB-ERROR
        // token is a refusal with its code.
        let answer = response_token(security_blob(SESSION_SETUP_RESPONSE, false));
        let wrong = ap_rep(&answer, &session, &theirs.ctime, theirs.cusec + 1);
        assert!(matches!(wrong, Err(GssError::MutualAuthentication(_))));
        let other_key = Key::new(Enctype::Aes256, &[1; 32]).unwrap();
        let wrong = ap_rep(&answer, &other_key, &theirs.ctime, theirs.cusec);
        assert!(matches!(wrong, Err(GssError::MutualAuthentication(_))));
        let error = crate::auth::kerberos::asn1::KrbError::from_der(&captured(include_bytes!(
            "../../../tests/data/kerberos/16-error-preauth_failed.bin"
        )))
        .unwrap()
        .to_der()
        .unwrap();
        let refused = ap_rep(
            &wrap(tok_id::ERROR, &error).unwrap(),
            &session,
            &theirs.ctime,
            0,
        );
        assert!(matches!(refused, Err(GssError::Refused { code: 24, .. })));
    }

    fn captured(framed: &[u8]) -> Vec<u8> {
        framed[4..].to_vec()
    }

    #[test]
    fn tokens_frame_and_unframe_and_every_truncation_is_an_error() {
        let token = wrap(tok_id::AP_REP, b"inner").unwrap();
        assert_eq!(unwrap(&token).unwrap(), (tok_id::AP_REP, &b"inner"[..]));
        for n in 0..token.len() {
            assert!(unwrap(&token[..n]).is_err(), "{n}");
        }
        let mut other = token.clone();
        other[6] ^= 1;
        assert_eq!(unwrap(&other), Err(GssError::OtherMechanism));
        let answer = response_token(security_blob(SESSION_SETUP_RESPONSE, false));
        let key = Key::new(Enctype::Aes256, &[1; 32]).unwrap();
        let now = KerberosTime::from_unix_duration(std::time::Duration::from_secs(1)).unwrap();
        for n in 0..answer.len() {
            assert!(ap_rep(&answer[..n], &key, &now, 0).is_err(), "{n}");
        }
    }
}
