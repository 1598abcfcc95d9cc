//! Sessions: installing keys after SESSION_SETUP (MS-SMB2 3.2.5.3), verifying
//! signatures and decrypting what the server sends.

use super::*;
use crate::idmap::IdMap;

/// A session of a connection, as operations name it: [`SessionSlot::DEFAULT`] is the
/// first login's; [`Connection::add_session`] makes room for another (a second user on
/// the same connection, or a session that reclaims another's handles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionSlot(pub(crate) usize);

impl SessionSlot {
    /// The connection's first session, where operations run unless told otherwise.
    pub const DEFAULT: SessionSlot = SessionSlot(0);
}

/// State of one session of the connection.
pub(crate) struct Session {
    /// The server's SessionId; 0 until the first SESSION_SETUP response.
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
    /// It logged in with Kerberos.
    pub(crate) kerberos: bool,
    /// The session's trees, by tree id.
    pub(crate) trees: IdMap<u32, TreeState>,
    /// The credentials it logged in with, to log in again when the server says the
    /// session expired (MS-SMB2 3.2.5.1.11); `None` for another authenticator's login,
    /// whose expiry fails the request instead.
    pub(crate) credentials: Option<crate::auth::ntlm::Credentials>,
    /// A re-authentication is running, and the request groups that wait for it.
    pub(crate) reauthenticating: bool,
    pub(super) parked: Vec<Group>,
    /// Re-authentications since a request of the session last succeeded: a server that
    /// answers "expired" right after each one ends them (see [`MAX_REAUTHS`]).
    pub(super) reauths_in_a_row: u32,
    /// While this connection binds to the session as a channel: Session.SigningKey,
    /// which signs the binding's requests and its unfinished answers (MS-SMB2 3.2.4.1.1,
    /// 3.2.5.1.3) until the channel's own key replaces it.
    pub(crate) binding_key: Option<Vec<u8>>,
    /// ChannelSequence of every request (MS-SMB2 3.2.4.1): moved on when a channel of
    /// the session is lost ([`Connection::set_channel_sequence`]).
    pub(crate) channel_sequence: u16,
}

impl Drop for Session {
    fn drop(&mut self) {
        for key in [&mut self.signing_key, &mut self.binding_key]
            .into_iter()
            .flatten()
        {
            zeroize::Zeroize::zeroize(key);
        }
    }
}

impl Session {
    /// A session not logged in yet; `preauth` is the connection's hash after NEGOTIATE.
    pub(super) fn new(preauth: PreauthHash) -> Self {
        Session {
            id: 0,
            preauth,
            signing_key: None,
            keys: None,
            signing_active: false,
            encrypt_all: false,
            established: false,
            is_guest: false,
            kerberos: false,
            trees: IdMap::default(),
            credentials: None,
            reauthenticating: false,
            parked: Vec::new(),
            reauths_in_a_row: 0,
            binding_key: None,
            channel_sequence: 0,
        }
    }

    /// The key that signs and verifies this session's messages on this connection: its
    /// own, or Session.SigningKey while it binds as a channel.
    pub(crate) fn key(&self) -> Option<&Vec<u8>> {
        self.signing_key.as_ref().or(self.binding_key.as_ref())
    }

    /// Whether `tree` is a DFS share, and if so, for a CREATE, the request to send
    /// instead: its share-relative name made the full `server\share\path` (MS-SMB2
    /// 3.2.4.3: "If TreeConnect.IsDfsShare is TRUE, the client MUST … set the FileName to
    /// the full DFS path"). The caller sets SMB2_FLAGS_DFS_OPERATIONS on every request on
    /// it (MS-SMB2 3.2.4.1.1), as Samba's own client does. The request kept for sending
    /// again stays share-relative, so it is never prefixed twice.
    pub(crate) fn dfs_path(&self, tree: u32, body: &RequestBody) -> Option<Option<RequestBody>> {
        let root = self.trees.get(&tree).and_then(|t| t.dfs_root.as_ref())?;
        let RequestBody::Create(create) = body else {
            return Some(None);
        };
        let mut create = create.clone();
        create.name = if create.name.is_empty() {
            root.clone()
        } else {
            format!("{root}\\{}", create.name)
        };
        Some(Some(RequestBody::Create(create)))
    }

    /// Whether requests on `tree` are encrypted (the session's or the share's demand).
    pub(crate) fn tree_encrypts(&self, tree: u32) -> bool {
        self.encrypt_all || self.trees.get(&tree).is_some_and(|t| t.encrypt)
    }
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
    /// `server\share` of a DFS share (SMB2_SHAREFLAG_DFS): what CREATE names start
    /// with there.
    pub(crate) dfs_root: Option<String>,
}

impl Core {
    /// Installs the session's keys after a successful SESSION_SETUP and verifies the
    /// final response with them (MS-SMB2 3.2.5.3).
    pub(crate) fn establish_session(
        &mut self,
        slot: SessionSlot,
        session_key: Option<&[u8]>,
        is_guest_or_null: bool,
        server_encrypts: bool,
        final_response: &Response,
    ) -> Result<(), Fail> {
        let neg = self
            .negotiated
            .clone()
            .ok_or(Fail::Fatal(CloseReason::Protocol(Violation::NoNegotiate)))?;
        if neg.dialect.is_smb1() {
            // SMB1 keys with the first 16 bytes (right-padded with zeros), as SMB2's
            // Session.SessionKey (MS-SMB2 3.2.1.3).
            let first16 = session_key.map(|k| {
                let mut key = [0u8; 16];
                for (d, s) in key.iter_mut().zip(k) {
                    *d = *s;
                }
                key
            });
            return self.establish_smb1_session(slot, first16, is_guest_or_null, final_response);
        }
        let requires_signing = self.server_requires_signing();
        let (config, session) = (&self.config, &mut self.sessions[slot.0]);
        // An anonymous login has no session key: as unprotected as a guest one.
        session.is_guest = is_guest_or_null || session_key.is_none();
        if let (Some(key), false) = (session_key, is_guest_or_null) {
            let key_len = neg.cipher.map_or(16, |c| c.key_len());
            let keys =
                kdf::derive_session_keys(neg.dialect as u16, key, session.preauth.value(), key_len);
            session.signing_key = Some(keys.signing.clone());
            session.keys = Some(keys);
            session.signing_active = match config.signing {
                crate::config::SigningPolicy::WhenSupported
                | crate::config::SigningPolicy::Required => true,
                crate::config::SigningPolicy::WhenRequired => requires_signing,
                crate::config::SigningPolicy::Never if requires_signing => {
                    return Err(Fail::Op(Error::Invalid(
                        "the server requires signing and the signing policy is 'never'".into(),
                    )));
                }
                crate::config::SigningPolicy::Never => false,
            };
            let want_encrypt = config.encrypt || server_encrypts;
            if want_encrypt {
                if neg.cipher.is_none() {
                    return Err(Fail::Op(Error::Invalid(format!(
                        "encryption required but the server cannot encrypt with dialect {}",
                        neg.dialect
                    ))));
                }
                session.encrypt_all = true;
            }
            let signing_active = session.signing_active;
            let h = &final_response.header;
            if h.is_signed() {
                self.verify_signature(slot, h, &final_response.msg)?;
            } else if signing_active || neg.dialect == Dialect::Smb311 {
                return Err(Fail::Fatal(CloseReason::Unsigned {
                    command: h.command,
                    message_id: h.message_id,
                }));
            }
        } else if config.encrypt {
            return Err(Fail::Op(Error::Invalid(
                "encryption was requested but the server made this a guest/anonymous session"
                    .into(),
            )));
        } else {
            refuse_unsigned_guest(config, requires_signing)?;
        }
        let session = &mut self.sessions[slot.0];
        session.established = true;
        tracing::info!(
            session_id = session.id,
            guest = session.is_guest,
            signing = session.signing_active,
            encrypting = session.encrypt_all,
            "session established"
        );
        Ok(())
    }

    pub(super) fn verify_signature(
        &self,
        slot: SessionSlot,
        header: &Header,
        msg: &[u8],
    ) -> Result<(), CloseReason> {
        let (Some(key), Some(neg)) = (self.sessions[slot.0].key(), &self.negotiated) else {
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

    /// Checks a response's signature according to the signing state of the session of
    /// its request (`slot`).
    pub(super) fn verify(
        &self,
        slot: SessionSlot,
        header: &Header,
        msg: &[u8],
        encrypted: bool,
    ) -> Result<(), CloseReason> {
        if encrypted {
            return Ok(());
        }
        // A response belongs to the session of its request: another session id would
        // otherwise skip the checks below, a way around signing.
        let session = &self.sessions[slot.0];
        if session.established && header.session_id != session.id {
            return Err(CloseReason::Protocol(Violation::ForeignSession {
                got: header.session_id,
                ours: session.id,
            }));
        }
        let ours = header.session_id == session.id && session.key().is_some();
        if header.is_signed() && ours {
            return self.verify_signature(slot, header, msg);
        }
        // A binding's answers that go on are signed with Session.SigningKey (MS-SMB2
        // 3.3.5.5.3); a refusal may come unsigned and fails the binding.
        let binding = session.binding_key.is_some()
            && NtStatus(header.status) == NtStatus::MORE_PROCESSING_REQUIRED;
        if ours
            && (session.signing_active || binding)
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

    /// Decrypts a transformed message with the keys of the session it names.
    pub(super) fn decrypt(&self, mut buf: BytesMut) -> Result<Bytes, CloseReason> {
        let neg = self.negotiated.as_ref().ok_or(EncryptionFailure::NoKeys)?;
        let cipher = neg.cipher.ok_or(EncryptionFailure::NoCipher)?;
        let named = transform::TransformHeader::decode(&buf)
            .map_err(crate::crypto::encryption::CryptoError::Transform)?
            .session_id;
        let keys = self
            .sessions
            .iter()
            .find(|s| s.id == named && s.id != 0)
            .ok_or(EncryptionFailure::UnknownSession(named))?
            .keys
            .as_ref()
            .ok_or(EncryptionFailure::NoKeys)?;
        let session_id = encryption::decrypt_in_place(cipher, &keys.decryption, &mut buf)?;
        if session_id != named {
            return Err(EncryptionFailure::UnknownSession(session_id).into());
        }
        Ok(buf.freeze())
    }

    /// The session whose SessionId is `id` (the default one for 0 or an unknown id).
    pub(super) fn slot_of(&self, id: u64) -> SessionSlot {
        SessionSlot(
            self.sessions
                .iter()
                .position(|s| s.id == id && id != 0)
                .unwrap_or(0),
        )
    }
}

/// A guest or anonymous session cannot sign: refused when signing is required, by the
/// server or the policy, unless the caller allowed insecure guests (SMB2 and SMB1 alike).
pub(super) fn refuse_unsigned_guest(
    config: &crate::config::Config,
    requires_signing: bool,
) -> Result<(), Fail> {
    let required = requires_signing || config.signing == crate::config::SigningPolicy::Required;
    if required && !config.allow_insecure_guest {
        return Err(Fail::Op(Error::Invalid(
            "signing is required but the server made this a guest/anonymous session, which cannot sign \
             (allow it with allow_insecure_guest, or smb --allow-insecure-guest)"
                .into(),
        )));
    }
    Ok(())
}
