//! The session: installing keys after SESSION_SETUP (MS-SMB2 3.2.5.3), verifying
//! signatures and decrypting what the server sends.

use super::*;

/// State of this connection's session (one per connection).
pub(crate) struct Session {
    pub(crate) id: u64,
    pub(crate) preauth: PreauthHash,
    pub(crate) signing_key: Option<Vec<u8>>,
    pub(crate) keys: Option<SessionKeys>,
    /// Sign every request (policy and server agree, session is not guest).
    pub(crate) signing_active: bool,
    /// Encrypt every request of the session.
    pub(crate) encrypt_all: bool,
    pub(crate) established: bool,
    pub(crate) is_guest: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("signing_active", &self.signing_active)
            .field("encrypt_all", &self.encrypt_all)
            .field("established", &self.established)
            .field("is_guest", &self.is_guest)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TreeState {
    pub(crate) encrypt: bool,
}

impl Core {
    /// Installs the session's keys after a successful SESSION_SETUP and verifies the
    /// final response with them (MS-SMB2 3.2.5.3).
    pub(crate) fn establish_session(
        &mut self,
        session_key: Option<[u8; 16]>,
        is_guest_or_null: bool,
        server_encrypts: bool,
        final_response: &Response,
    ) -> Result<(), Fail> {
        let neg = self
            .negotiated
            .clone()
            .ok_or(Fail::Fatal(CloseReason::Protocol(Violation::NoNegotiate)))?;
        // An anonymous login has no session key: as unprotected as a guest one.
        self.session.is_guest = is_guest_or_null || session_key.is_none();
        if let (Some(key), false) = (session_key, is_guest_or_null) {
            let key_len = neg.cipher.map_or(16, |c| c.key_len());
            let keys = kdf::derive_session_keys(
                neg.dialect as u16,
                &key,
                self.session.preauth.value(),
                key_len,
            );
            self.session.signing_key = Some(keys.signing.clone());
            self.session.keys = Some(keys);
            self.session.signing_active = match self.config.signing {
                crate::config::SigningPolicy::WhenSupported
                | crate::config::SigningPolicy::Required => true,
                crate::config::SigningPolicy::WhenRequired => self.server_requires_signing(),
                crate::config::SigningPolicy::Never if self.server_requires_signing() => {
                    return Err(Fail::Op(Error::Invalid(
                        "the server requires signing and the signing policy is 'never'".into(),
                    )));
                }
                crate::config::SigningPolicy::Never => false,
            };
            let want_encrypt = self.config.encrypt || server_encrypts;
            if want_encrypt {
                if neg.cipher.is_none() {
                    return Err(Fail::Op(Error::Invalid(format!(
                        "encryption required but the server cannot encrypt with dialect {}",
                        neg.dialect
                    ))));
                }
                self.session.encrypt_all = true;
            }
            let h = &final_response.header;
            if h.is_signed() {
                self.verify_signature(h, &final_response.msg)?;
            } else if self.session.signing_active || neg.dialect == Dialect::Smb311 {
                return Err(Fail::Fatal(CloseReason::Unsigned {
                    command: h.command,
                    message_id: h.message_id,
                }));
            }
        } else if self.config.encrypt {
            return Err(Fail::Op(Error::Invalid(
                "encryption was requested but the server made this a guest/anonymous session"
                    .into(),
            )));
        } else if (self.server_requires_signing()
            || self.config.signing == crate::config::SigningPolicy::Required)
            && !self.config.allow_insecure_guest
        {
            return Err(Fail::Op(Error::Invalid(
                "signing is required but the server made this a guest/anonymous session, which cannot sign \
                 (allow it with allow_insecure_guest, or smb --allow-insecure-guest)"
                    .into(),
            )));
        }
        self.session.established = true;
        Ok(())
    }

    pub(super) fn verify_signature(&self, header: &Header, msg: &[u8]) -> Result<(), CloseReason> {
        let (Some(key), Some(neg)) = (&self.session.signing_key, &self.negotiated) else {
            return Err(CloseReason::Protocol(Violation::SignedBeforeKeys));
        };
        if signing::verify(neg.signing_algorithm, key, msg) {
            Ok(())
        } else {
            Err(CloseReason::BadSignature {
                command: header.command,
                message_id: header.message_id,
            })
        }
    }

    /// Checks a response's signature according to the session's signing state.
    pub(super) fn verify(
        &self,
        header: &Header,
        msg: &[u8],
        encrypted: bool,
    ) -> Result<(), CloseReason> {
        if encrypted {
            return Ok(());
        }
        // Every response to this client belongs to its one session: another session id
        // would otherwise skip the checks below, a way around signing.
        if self.session.established && header.session_id != self.session.id {
            return Err(CloseReason::Protocol(Violation::ForeignSession {
                got: header.session_id,
                ours: self.session.id,
            }));
        }
        let ours = header.session_id == self.session.id && self.session.signing_key.is_some();
        if header.is_signed() && ours {
            return self.verify_signature(header, msg);
        }
        if ours
            && self.session.signing_active
            && !header.is_signed()
            && header.command != Command::Cancel as u16
        {
            return Err(CloseReason::Unsigned {
                command: header.command,
                message_id: header.message_id,
            });
        }
        Ok(())
    }

    pub(super) fn decrypt(&self, mut buf: BytesMut) -> Result<Bytes, CloseReason> {
        let (Some(keys), Some(neg)) = (&self.session.keys, &self.negotiated) else {
            return Err(EncryptionFailure::NoKeys.into());
        };
        let cipher = neg.cipher.ok_or(EncryptionFailure::NoCipher)?;
        let session_id = encryption::decrypt_in_place(cipher, &keys.decryption, &mut buf)?;
        if session_id != self.session.id {
            return Err(EncryptionFailure::UnknownSession(session_id).into());
        }
        Ok(buf.freeze())
    }
}
