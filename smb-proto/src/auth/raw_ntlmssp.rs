//! NTLMSSP without SPNEGO ("raw NTLMSSP", MS-SMB 3.2.4.2.4): the NEGOTIATE and
//! AUTHENTICATE messages themselves are the security blobs of SESSION_SETUP, as old
//! clients sent them. Samba's SESSION_SETUP takes such a blob whatever its NEGOTIATE
//! offered (its GENSEC SPNEGO layer falls back to NTLMSSP when the blob is not SPNEGO);
//! asked for with [`Credentials::with_raw_ntlmssp`](super::ntlm::Credentials::with_raw_ntlmssp).

use super::ntlm::{AuthError, NtlmClient};
use super::spnego::{Authenticator, SessionKey};

/// Where the exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    SentNegotiate,
    SentAuthenticate,
    Done,
}

/// NTLMSSP sent as it is: NEGOTIATE, then AUTHENTICATE answering the server's CHALLENGE;
/// no mechListMIC (there is no SPNEGO to protect), the NTLM MIC as usual.
#[derive(Debug)]
pub struct RawNtlmssp {
    ntlm: NtlmClient,
    step: Step,
}

impl RawNtlmssp {
    /// Wraps an NTLM client that has not started yet.
    pub fn new(ntlm: NtlmClient) -> Self {
        RawNtlmssp {
            ntlm,
            step: Step::Start,
        }
    }
}

impl Authenticator for RawNtlmssp {
    fn initial_token(&mut self) -> Result<Vec<u8>, AuthError> {
        if self.step != Step::Start {
            return Err(AuthError::State("initial token requested twice"));
        }
        self.step = Step::SentNegotiate;
        Ok(self.ntlm.negotiate_message())
    }

    fn next_token(&mut self, server_token: &[u8]) -> Result<Option<Vec<u8>>, AuthError> {
        match self.step {
            Step::SentNegotiate => {
                let authenticate = self.ntlm.authenticate_message(server_token)?;
                self.step = Step::SentAuthenticate;
                Ok(Some(authenticate))
            }
            Step::SentAuthenticate => {
                // The final answer carries nothing for raw NTLMSSP (Samba sends an
                // empty blob); whatever it holds has no meaning here.
                self.step = Step::Done;
                Ok(None)
            }
            Step::Start => Err(AuthError::State("server token before the initial token")),
            Step::Done => Err(AuthError::State("server token after completion")),
        }
    }

    fn session_key(&self) -> Option<SessionKey> {
        match self.step {
            Step::Done => self.ntlm.session_key().map(|k| SessionKey::new(k.to_vec())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ntlm::Credentials;

    fn client() -> RawNtlmssp {
        let creds = Credentials::password("", "user", "pass").with_raw_ntlmssp();
        RawNtlmssp::new(NtlmClient::new(creds, "WS", [1; 8], [2; 16], 0))
    }

    #[test]
    fn the_first_blob_is_the_ntlmssp_negotiate_itself() {
        let mut a = client();
        let t = a.initial_token().unwrap();
        assert_eq!(&t[..12], b"NTLMSSP\0\x01\0\0\0");
        assert!(a.initial_token().is_err(), "twice");
        assert!(a.session_key().is_none());
    }

    #[test]
    fn a_garbled_challenge_is_an_error_and_order_is_kept() {
        let mut a = client();
        assert!(a.next_token(b"x").is_err(), "before the NEGOTIATE");
        a.initial_token().unwrap();
        assert!(a.next_token(b"NTLMSSP\0\x02\0\0\0").is_err());
        assert!(a.next_token(&[]).is_err());
    }
}
