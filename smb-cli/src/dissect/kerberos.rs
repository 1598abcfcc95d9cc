//! Kerberos sessions: with the service's keytab (`--keytab`, e.g. the DC's machine keys),
//! the AP-REQ in a SESSION_SETUP request is opened (ticket, authenticator) and the AP-REP
//! in the response gives the acceptor's subkey, the SMB session key, from which the
//! signing and encryption keys are derived as for an NTLM session. The Kerberos work is
//! smb-proto's acceptor ([`AcceptedApReq`]); this only finds the tokens and words the
//! failures.

use smb_proto::auth::kerberos::acceptor::{neg_token_init_mech_token, AcceptedApReq};
use smb_proto::auth::kerberos::gss::{OID_KRB5, OID_MS_KRB5};
use smb_proto::auth::spnego::parse_neg_token_resp;
use zeroize::Zeroizing;

use super::*;

/// A Kerberos AP-REQ in a SESSION_SETUP request, opened with the keytab if one was given.
pub(super) struct KerberosSetup {
    accepted: Result<AcceptedApReq, String>,
}

impl KerberosSetup {
    /// The Kerberos login a SESSION_SETUP request's security buffer starts, if it is one:
    /// a SPNEGO NegTokenInit whose mechToken is a Kerberos GSS token.
    pub(super) fn from_request(security_buffer: &[u8], options: &Options) -> Option<Self> {
        let token = neg_token_init_mech_token(security_buffer)?;
        if !is_kerberos(&token) {
            return None;
        }
        let accepted = match &options.keytab {
            None => Err("a Kerberos session: give the server's keytab (--keytab)".to_string()),
            Some(keytab) => AcceptedApReq::open(&token, keytab).map_err(|e| e.to_string()),
        };
        Some(KerberosSetup { accepted })
    }

    /// The client, when the ticket opened.
    pub(super) fn client(&self) -> Option<String> {
        self.accepted.as_ref().ok().map(|a| a.client.to_string())
    }

    /// The SMB session key, given the final response's security buffer (its AP-REP).
    pub(super) fn session_key(
        &self,
        session_flags: u16,
        response_security_buffer: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, String> {
        if session_flags & (session_flags::IS_NULL | session_flags::IS_GUEST) != 0 {
            return Err("guest or anonymous session: no key".into());
        }
        let accepted = self.accepted.as_ref().map_err(Clone::clone)?;
        let ap_rep = match response_security_buffer.first() {
            Some(0xA1) => {
                parse_neg_token_resp(response_security_buffer)
                    .map_err(|e| format!("SESSION_SETUP response: {e}"))?
                    .response_token
            }
            _ => None,
        };
        accepted
            .session_key(ap_rep.as_deref())
            .map_err(|e| format!("the AP-REP of {}: {e}", accepted.client))
    }
}

/// A GSS token of the Kerberos mechanism (RFC 2743 3.1: `[APPLICATION 0]`, then its OID),
/// or a bare AP-REQ (`[APPLICATION 14]`).
fn is_kerberos(token: &[u8]) -> bool {
    match token {
        [0x60, ..] => [OID_KRB5, OID_MS_KRB5].iter().any(|oid| {
            token
                .windows(oid.len() + 2)
                .take(8)
                .any(|w| w[0] == 0x06 && usize::from(w[1]) == oid.len() && &w[2..] == *oid)
        }),
        [0x6E, ..] => true,
        _ => false,
    }
}
