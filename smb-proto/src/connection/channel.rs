//! Channels (MS-SMB2 3.2.4.2.3 "Session Binding"): further connections to the same
//! server that join an established 3.x session, so that its reads and writes can go
//! over several connections. Each channel is a [`Connection`] of its own (its own
//! socket, message ids and credits) made with [`Connection::new_channel`] from what the
//! session's first connection exports ([`Connection::channel_seed`]); a
//! [`Login::bind`](crate::ops::Login::bind) on it binds it to the session. Trees and
//! open files are the session's, valid on every channel; encryption keys too. Each
//! channel signs with a key of its own, derived from the binding's authentication.

use super::*;
use crate::wire::negotiate::capabilities::MULTI_CHANNEL;
use crate::wire::session_setup::session_flags;

/// What a connection needs to join a session as a channel, taken from the session's
/// first connection by [`Connection::channel_seed`]. Holds the session's keys: never
/// printed, wiped when dropped.
#[derive(Clone)]
pub struct ChannelSeed {
    session_id: u64,
    negotiated: Negotiated,
    client_guid: [u8; 16],
    server_name: String,
    /// Session.SigningKey: signs the binding.
    signing_key: Vec<u8>,
    keys: crate::crypto::kdf::SessionKeys,
    signing_active: bool,
    encrypt_all: bool,
    /// The session's trees: share (lower-cased), tree id and what the core knows of it.
    trees: Vec<(String, u32, TreeState)>,
    credentials: Option<crate::auth::ntlm::Credentials>,
    channel_sequence: u16,
}

impl std::fmt::Debug for ChannelSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSeed")
            .field("session_id", &self.session_id)
            .field("dialect", &self.negotiated.dialect)
            .field("trees", &self.trees.len())
            .finish_non_exhaustive()
    }
}

impl Drop for ChannelSeed {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.signing_key);
    }
}

impl ChannelSeed {
    /// The credentials the session logged in with: a channel binds with the same user
    /// (MS-SMB2 3.3.5.5); `None` for a login made with another authenticator.
    pub fn credentials(&self) -> Option<&crate::auth::ntlm::Credentials> {
        self.credentials.as_ref()
    }

    /// The [`Login::bind`](crate::ops::Login::bind) that binds a channel made from
    /// this seed: as the session's user, with its password.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when the session logged in with another authenticator, whose
    /// credentials the core does not hold.
    pub fn binding(&self) -> Result<crate::ops::Login, Error> {
        let creds = self.credentials.clone().ok_or_else(|| {
            Error::Invalid(
                "a channel binds with the session's password, and this login had none".into(),
            )
        })?;
        Ok(crate::ops::Login::bind(creds))
    }

    /// The SessionId the channel joins.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }
}

impl Connection {
    /// What a new connection needs to join session `slot` as a channel
    /// ([`Connection::new_channel`]): its id and keys, the negotiation to repeat, its
    /// trees.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] unless the session can have channels: an established, signed,
    /// non-guest session of a 3.x dialect whose server announced multichannel
    /// (negotiated with [`Config::multichannel`]), not re-authenticating, and on 3.0 or
    /// 3.0.2 validated (MS-SMB2 3.2.5.5).
    pub fn channel_seed(&self, slot: SessionSlot) -> Result<ChannelSeed, Error> {
        let invalid = |why: &str| Error::Invalid(format!("no channel for this session: {why}"));
        let neg = self
            .core
            .negotiated
            .clone()
            .ok_or_else(|| invalid("not negotiated"))?;
        if !neg.dialect.is_smb3() {
            return Err(invalid("multichannel needs SMB 3"));
        }
        if !self.core.config.multichannel || neg.capabilities & MULTI_CHANNEL == 0 {
            return Err(invalid("the server did not agree to multichannel"));
        }
        if neg.dialect < Dialect::Smb311 && !neg.validated {
            return Err(invalid("the negotiation is not validated yet"));
        }
        let session = self
            .core
            .sessions
            .get(slot.0)
            .ok_or_else(|| invalid("no such session"))?;
        if !session.established || session.is_guest || session.reauthenticating {
            return Err(invalid("not logged in as a user"));
        }
        let (Some(signing_key), Some(keys)) = (&session.signing_key, &session.keys) else {
            return Err(invalid("no keys"));
        };
        let trees = self
            .shares
            .iter()
            .filter(|((s, _), _)| *s == slot)
            .filter_map(|((_, share), tree)| match tree {
                ShareTree::Connected(id) => {
                    let state = session.trees.get(&id.0)?.clone();
                    Some((share.clone(), id.0, state))
                }
                ShareTree::Connecting => None,
            })
            .collect();
        Ok(ChannelSeed {
            session_id: session.id,
            negotiated: neg,
            client_guid: self.core.client_guid,
            server_name: self.core.config.server_name.clone(),
            signing_key: signing_key.clone(),
            keys: keys.clone(),
            signing_active: session.signing_active,
            encrypt_all: session.encrypt_all,
            trees,
            credentials: session.credentials.clone(),
            channel_sequence: session.channel_sequence,
        })
    }

    /// A connection that will join `seed`'s session as a channel: it negotiates what
    /// the session's first connection did (the dialect, cipher and signing algorithm
    /// alone, the same ClientGuid, multichannel announced) and then waits for a
    /// [`Login::bind`](crate::ops::Login::bind), after which operations run on it as on
    /// the first connection, on the session's trees (none is connected again).
    /// `config` gives the rest (its seed must be fresh: encryption nonces are random
    /// under keys the channels share).
    ///
    /// ```
    /// # fn demo(first: &smb_proto::Connection, config: smb_proto::Config) -> Result<(), smb_proto::Error> {
    /// use smb_proto::{ops::Login, Connection, SessionSlot};
    /// let seed = first.channel_seed(SessionSlot::DEFAULT)?;
    /// let mut channel = Connection::new_channel(config, &seed, std::time::Instant::now());
    /// let creds = seed.credentials().cloned().expect("a password login");
    /// channel.start(Login::bind(creds), std::time::Instant::now());
    /// // … drive it like any connection; then run reads and writes on it.
    /// # Ok(()) }
    /// ```
    pub fn new_channel(mut config: Config, seed: &ChannelSeed, now: Instant) -> Connection {
        let neg = &seed.negotiated;
        config.min_dialect = neg.dialect;
        config.max_dialect = neg.dialect;
        if let Some(cipher) = neg.cipher {
            config.ciphers = vec![cipher];
        }
        config.signing_algorithms = vec![neg.signing_algorithm];
        config.client_guid = Some(seed.client_guid);
        config.server_name.clone_from(&seed.server_name);
        config.multichannel = true;
        let mut conn = Connection::new(config, now);
        conn.core.channel_of = Some(neg.clone());
        let session = &mut conn.core.sessions[0];
        session.id = seed.session_id;
        session.keys = Some(seed.keys.clone());
        session.binding_key = Some(seed.signing_key.clone());
        session.signing_active = seed.signing_active;
        session.encrypt_all = seed.encrypt_all;
        session.channel_sequence = seed.channel_sequence;
        conn.join_trees(seed);
        conn
    }

    /// Takes the trees of `seed`'s session that this channel does not know yet (shares
    /// the first connection connected after the channel was bound), so that requests
    /// on them are encrypted as the share demands. A striped transfer calls it with a
    /// fresh seed before it starts.
    pub fn join_trees(&mut self, seed: &ChannelSeed) {
        let session = &mut self.core.sessions[0];
        for (share, id, state) in &seed.trees {
            session.trees.insert(*id, state.clone());
            self.shares.insert(
                (SessionSlot::DEFAULT, share.clone()),
                ShareTree::Connected(TreeId(*id)),
            );
        }
    }

    /// Sets the ChannelSequence session `slot`'s requests carry from now on: after a
    /// channel of the session is lost, every remaining one moves it on by one (MS-SMB2
    /// 3.2.7.1), so that the server tells late requests of the lost one from new ones.
    pub fn set_channel_sequence(&mut self, slot: SessionSlot, sequence: u16) {
        if let Some(s) = self.core.sessions.get_mut(slot.0) {
            s.channel_sequence = sequence;
        }
    }

    /// The ChannelSequence session `slot`'s requests carry.
    pub fn channel_sequence(&self, slot: SessionSlot) -> u16 {
        self.core
            .sessions
            .get(slot.0)
            .map_or(0, |s| s.channel_sequence)
    }

    /// Whether this connection is a channel joining or joined to another's session.
    pub fn is_channel(&self) -> bool {
        self.core.channel_of.is_some()
    }
}

impl Core {
    /// A channel's NEGOTIATE must settle what the session's first connection did
    /// (MS-SMB2 3.2.5.2), with multichannel agreed.
    pub(super) fn check_channel(&self, got: &Negotiated) -> Result<(), CloseReason> {
        let Some(first) = &self.channel_of else {
            return Ok(());
        };
        let differs = if got.dialect != first.dialect {
            Some("dialect")
        } else if got.server_guid != first.server_guid {
            Some("server GUID")
        } else if got.security_mode != first.security_mode {
            Some("security mode")
        } else if got.capabilities != first.capabilities {
            Some("capabilities")
        } else if got.cipher != first.cipher {
            Some("cipher")
        } else if got.signing_algorithm != first.signing_algorithm {
            Some("signing algorithm")
        } else {
            None
        };
        match differs {
            Some(what) => Err(NegotiateFailure::ChannelMismatch(what).into()),
            None => Ok(()),
        }
    }

    /// The end of a binding (MS-SMB2 3.2.5.3.3): the channel's signing key from the
    /// binding's authentication (and, on 3.1.1, this connection's preauth hash), the
    /// final answer verified with it. The session's other keys stay.
    pub(crate) fn bind_session(
        &mut self,
        slot: SessionSlot,
        session_key: Option<&[u8]>,
        flags: u16,
        final_response: &Response,
    ) -> Result<(), Fail> {
        if flags & (session_flags::IS_GUEST | session_flags::IS_NULL) != 0 {
            return Err(Fail::Op(Error::Invalid(
                "the server made the channel's binding a guest session".into(),
            )));
        }
        let neg = self
            .negotiated
            .clone()
            .ok_or(Fail::Fatal(CloseReason::Protocol(Violation::NoNegotiate)))?;
        let key = session_key
            .ok_or_else(|| Fail::Op(Error::Invalid("the binding gave no session key".into())))?;
        let session = &mut self.sessions[slot.0];
        let derived =
            kdf::derive_session_keys(neg.dialect as u16, key, session.preauth.value(), 16);
        session.signing_key = Some(derived.signing.clone());
        if let Some(mut old) = session.binding_key.take() {
            zeroize::Zeroize::zeroize(&mut old);
        }
        let h = &final_response.header;
        if !h.is_signed() {
            return Err(Fail::Fatal(CloseReason::Unsigned {
                command: h.command,
                message_id: h.message_id,
            }));
        }
        self.verify_signature(slot, h, &final_response.msg)?;
        let session = &mut self.sessions[slot.0];
        session.established = true;
        tracing::info!(session_id = session.id, "channel bound");
        Ok(())
    }
}
