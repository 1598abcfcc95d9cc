//! One connection's SMB2 state as the capture reveals it: negotiation, sessions and their
//! keys from the NTLMSSP exchange, and each message checked (signature, decryption) and
//! recorded.

use super::*;

/// What NEGOTIATE settled for a connection.
#[derive(Debug, Clone, Copy)]
pub(super) struct Negotiated {
    pub(super) dialect: Dialect,
    pub(super) signing: SigningAlgorithm,
    pub(super) cipher: Option<Cipher>,
}

impl Negotiated {
    /// The dialect and algorithms a response settles ([`NegotiateResponse::algorithms`]);
    /// an unknown dialect or algorithm leaves nothing to verify the connection with.
    pub(super) fn from_response(resp: &NegotiateResponse) -> Result<Self, String> {
        let dialect = Dialect::from_u16(resp.dialect_revision).ok_or_else(|| {
            format!(
                "negotiate response: unknown dialect {:#06x}",
                resp.dialect_revision
            )
        })?;
        let (cipher, signing) = resp
            .algorithms(dialect)
            .map_err(|e| format!("negotiate response: {e}"))?;
        Ok(Negotiated {
            dialect,
            signing,
            cipher,
        })
    }
}

impl fmt::Display for Negotiated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dialect={},signing={}", self.dialect, self.signing)?;
        if let Some(c) = self.cipher {
            write!(f, ",cipher={}", c)?;
        }
        Ok(())
    }
}

/// An established session: how it signs and encrypts, and its keys, or why there are
/// none (guest, anonymous, no or wrong password, an exchange the capture lacks).
pub(super) struct Session {
    pub(super) negotiated: Negotiated,
    pub(super) keys: Result<SessionKeys, String>,
}

/// A SESSION_SETUP request awaiting its response.
pub(super) struct SetupRequest {
    /// The preauth hash including this request.
    pub(super) preauth: PreauthHash,
    pub(super) session_id: u64,
    pub(super) binding: bool,
    /// The NTLM AUTHENTICATE message, in the request that carries it.
    pub(super) authenticate: Option<Vec<u8>>,
}

/// An authentication in progress on a connection, by SessionId.
pub(super) struct AuthProgress {
    /// The preauth hash including the last response.
    pub(super) preauth: PreauthHash,
    /// The NTLM CHALLENGE message, once the server sent it.
    pub(super) challenge: Option<Vec<u8>>,
}

/// The SMB state of one TCP connection.
#[derive(Default)]
pub(super) struct SmbState {
    pub(super) negotiated: Option<Negotiated>,
    /// Connection.PreauthIntegrityHashValue: NEGOTIATE request and response.
    pub(super) preauth: PreauthHash,
    /// SESSION_SETUP requests by MessageId.
    pub(super) setups: HashMap<u64, SetupRequest>,
    /// Authentications in progress by SessionId.
    pub(super) auths: HashMap<u64, AuthProgress>,
    /// Channel.SigningKey of sessions bound to this connection (MS-SMB2 3.2.5.3.1).
    pub(super) channel_keys: HashMap<u64, Vec<u8>>,
    /// The name of each outstanding request, by MessageId, for its response.
    pub(super) names_by_mid: HashMap<u64, String>,
    /// The name each open was created with.
    pub(super) names_by_fid: HashMap<FileId, String>,
    /// SMB1 messages on this connection (MS-CIFS): negotiation, opens, MD5 signing.
    pub(super) smb1: super::smb1::Smb1State,
}

pub(super) fn user_name(auth: &AuthenticateMessage<'_>) -> String {
    if auth.domain.is_empty() {
        auth.user.clone()
    } else {
        format!("{}\\{}", auth.domain, auth.user)
    }
}

/// The NTLMSSP message in a SESSION_SETUP security buffer: raw, or the responseToken of
/// an SPNEGO NegTokenResp. The client's first token (a NegTokenInit, tag 0x60) carries
/// only the NTLM NEGOTIATE, which key recovery does not need; other mechanisms
/// (Kerberos) yield nothing.
pub(super) fn ntlm_token(
    security_buffer: &[u8],
    message_type: u32,
) -> Result<Option<Vec<u8>>, AuthError> {
    const SIGNATURE: &[u8] = b"NTLMSSP\0";
    let token = if security_buffer.starts_with(SIGNATURE) {
        Some(security_buffer.to_vec())
    } else if security_buffer.first() == Some(&0xA1) {
        parse_neg_token_resp(security_buffer)?.response_token
    } else {
        None
    };
    Ok(token.filter(|t| {
        t.starts_with(SIGNATURE)
            && t.get(8..12)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                == Some(message_type)
    }))
}

/// Related elements of a compound (MS-SMB2 3.2.4.1.4) inherit the session, and the
/// open of a preceding CREATE, through all-ones placeholders.
#[derive(Default)]
pub(super) struct Chain {
    pub(super) session_id: u64,
    pub(super) name: Option<String>,
}

impl SmbState {
    pub(super) fn transport_frame(
        &mut self,
        shared: &mut Shared<'_>,
        place: Place,
        (kind, body): (u8, Bytes),
    ) {
        match kind {
            NBSS_SESSION_MESSAGE => self.smb_frame(shared, place, body),
            NBSS_SESSION_REQUEST => shared.note(place, "NBSS session request"),
            NBSS_POSITIVE_RESPONSE => shared.note(place, "NBSS positive session response"),
            NBSS_NEGATIVE_RESPONSE => shared.note(place, "NBSS negative session response"),
            NBSS_RETARGET_RESPONSE => shared.note(place, "NBSS retarget session response"),
            _ => {} // keep-alive
        }
    }

    pub(super) fn smb_frame(&mut self, shared: &mut Shared<'_>, place: Place, frame: Bytes) {
        match frame.get(..4) {
            Some(id) if id == TRANSFORM_PROTOCOL_ID => {
                match shared.decrypt(place.direction, frame) {
                    Ok(plain) => {
                        shared.summary.transforms += 1;
                        self.messages(shared, place, plain, true);
                    }
                    Err(reason) => shared.fail(place, reason),
                }
            }
            Some(id) if id == PROTOCOL_ID => self.messages(shared, place, frame, false),
            // SMB1, or a client's SMB1 NEGOTIATE offering SMB2 (MS-SMB2 3.2.4.2.1).
            Some([0xFF, b'S', b'M', b'B']) => self.smb1.message(shared, place, frame),
            Some([0xFC, b'S', b'M', b'B']) => shared.fail(
                place,
                "compressed message: SMB2 compression is not dissected".into(),
            ),
            _ => shared.fail(
                place,
                format!("not an SMB2 message ({} bytes)", frame.len()),
            ),
        }
    }

    /// Splits a frame into its compound elements (each from its header to the next
    /// one's, padding included, as signed) and dissects each.
    pub(super) fn messages(
        &mut self,
        shared: &mut Shared<'_>,
        place: Place,
        rest: Bytes,
        decrypted: bool,
    ) {
        let mut chain = Chain::default();
        let len = rest.len();
        for message in smb_proto::wire::compound_messages(rest) {
            match message {
                Ok((_, element)) => self.message(shared, place, element, decrypted, &mut chain),
                Err(DecodeError::Truncated { have, .. }) => {
                    let what = if decrypted {
                        "decrypted message"
                    } else {
                        "message"
                    };
                    let reason = format!("{what} of {have} bytes is shorter than an SMB2 header");
                    shared.fail(place, reason);
                }
                Err(e) => shared.fail(place, format!("bad compound of {len} bytes: {e}")),
            }
        }
    }

    pub(super) fn message(
        &mut self,
        shared: &mut Shared<'_>,
        place: Place,
        bytes: Bytes,
        decrypted: bool,
        chain: &mut Chain,
    ) {
        let mut header = match Header::decode(&bytes) {
            Ok(h) => h,
            Err(e) => return shared.fail(place, format!("SMB2 header: {e}")),
        };
        let related = header.flags & flags::RELATED_OPERATIONS != 0;
        if related && header.session_id == u64::MAX {
            header.session_id = chain.session_id;
        }
        chain.session_id = header.session_id;

        let mut problems = Vec::new();
        let name = match decode_body(&header, &bytes) {
            Ok(body) => match self.track(shared, &header, &bytes, body, related, chain) {
                Ok(name) => name,
                Err(e) => {
                    problems.push(e);
                    None
                }
            },
            Err(e) => {
                problems.push(format!(
                    "{} {}: {e}",
                    smb_proto::wire::Command::name_of(header.command),
                    if header.is_response() {
                        "response"
                    } else {
                        "request"
                    }
                ));
                None
            }
        };
        let verdict = if decrypted {
            Verdict::DecryptedOk
        } else if header.is_signed() {
            shared.verify(self, &header, &bytes)
        } else {
            Verdict::Unsigned
        };
        let verdict = match verdict {
            Verdict::Failed(why) => {
                problems.push(why);
                Verdict::Failed(problems.join("; "))
            }
            v if problems.is_empty() => v,
            _ => Verdict::Failed(problems.join("; ")),
        };
        shared.push(Record::Message(Message {
            place,
            header,
            name,
            verdict,
            bytes,
        }));
    }

    /// Follows the message's effect on the connection (negotiation, authentication,
    /// opens) and returns what it is about.
    pub(super) fn track(
        &mut self,
        shared: &mut Shared<'_>,
        header: &Header,
        bytes: &Bytes,
        body: Body,
        related: bool,
        chain: &mut Chain,
    ) -> Result<Option<String>, String> {
        let mid = header.message_id;
        let status = NtStatus(header.status);
        if header.is_response() {
            // An interim response leaves the request outstanding.
            if status == PENDING {
                return Ok(self.names_by_mid.get(&mid).cloned());
            }
            let name = self.names_by_mid.remove(&mid);
            return Ok(match body {
                Body::NegotiateResponse(resp) => {
                    if resp.dialect_revision == dialect::SMB2_WILDCARD {
                        return Ok(Some("dialect=2.???".into()));
                    }
                    let negotiated = Negotiated::from_response(&resp)?;
                    self.negotiated = Some(negotiated);
                    self.preauth.update(bytes);
                    Some(negotiated.to_string())
                }
                Body::SessionSetupResponse(resp) => {
                    self.setup_response(shared, header, bytes, Some(&resp));
                    let kind = if resp.session_flags & session_flags::IS_NULL != 0 {
                        Some("anonymous")
                    } else if resp.session_flags & session_flags::IS_GUEST != 0 {
                        Some("guest")
                    } else {
                        None
                    };
                    match (name, kind) {
                        (Some(n), Some(k)) => Some(format!("{n}({k})")),
                        (n, k) => n.or(k.map(str::to_string)),
                    }
                }
                Body::Created(file_id) if status == NtStatus::SUCCESS => {
                    if let Some(n) = &name {
                        insert_bounded(&mut self.names_by_fid, file_id, n.clone());
                    }
                    name
                }
                _ => {
                    if header.command == Command::SessionSetup as u16 {
                        // A failed authentication.
                        self.setup_response(shared, header, bytes, None);
                    }
                    name
                }
            });
        }

        let open_name = |fid: FileId, names: &HashMap<FileId, String>| {
            if related && fid == FileId::ANY {
                chain.name.clone()
            } else {
                names.get(&fid).cloned()
            }
        };
        let name = match body {
            Body::NegotiateRequest => {
                // A new NEGOTIATE (after an SMB1 one, or on a fresh stream) restarts the chain.
                self.preauth = PreauthHash::new();
                self.preauth.update(bytes);
                self.negotiated = None;
                None
            }
            Body::SessionSetupRequest(req) => self.setup_request(header, bytes, &req)?,
            Body::TreeConnect(path) => Some(path),
            Body::Create(name) => {
                let name = if name.is_empty() {
                    "\\".to_string()
                } else {
                    name
                };
                chain.name = Some(name.clone());
                Some(name)
            }
            Body::Open(fid) => {
                let name = open_name(fid, &self.names_by_fid);
                if header.command == Command::Close as u16 {
                    self.names_by_fid.remove(&fid);
                }
                name
            }
            Body::Search(fid, pattern) => Some(match open_name(fid, &self.names_by_fid) {
                Some(dir) if dir != "\\" => format!("{dir}\\{pattern}"),
                _ => pattern,
            }),
            Body::Rename(fid, new) => {
                let old = open_name(fid, &self.names_by_fid).unwrap_or_else(|| "?".into());
                Some(format!("{old} -> {new}"))
            }
            Body::NegotiateResponse(_)
            | Body::SessionSetupResponse(_)
            | Body::Created(_)
            | Body::Other => None,
        };
        if let Some(n) = &name {
            insert_bounded(&mut self.names_by_mid, mid, n.clone());
        }
        Ok(name)
    }

    /// A SESSION_SETUP request: extends the preauth hash of its authentication (MS-SMB2
    /// 3.2.5.2: the connection's hash, then every SESSION_SETUP request and every
    /// response but the final one) and keeps the NTLM AUTHENTICATE. Returns the user.
    pub(super) fn setup_request(
        &mut self,
        header: &Header,
        bytes: &Bytes,
        req: &SessionSetupRequest,
    ) -> Result<Option<String>, String> {
        let sid = header.session_id;
        let mut preauth = match self.auths.get(&sid) {
            Some(a) => a.preauth.clone(),
            None => self.preauth.clone(),
        };
        preauth.update(bytes);
        let authenticate = ntlm_token(&req.security_buffer, 3)
            .map_err(|e| format!("SESSION_SETUP request security buffer: {e}"))?;
        let user = match &authenticate {
            Some(token) => {
                let auth = AuthenticateMessage::parse(token)
                    .map_err(|e| format!("NTLM AUTHENTICATE: {e}"))?;
                (!auth.user.is_empty()).then(|| user_name(&auth))
            }
            None => None,
        };
        if self.setups.len() < TABLE_LIMIT {
            self.setups.insert(
                header.message_id,
                SetupRequest {
                    preauth,
                    session_id: sid,
                    binding: req.flags & setup_flags::BINDING != 0,
                    authenticate,
                },
            );
        }
        Ok(user)
    }

    /// A SESSION_SETUP response: another round, or the end of an authentication with its
    /// keys (MS-SMB2 3.2.5.3.1). A new session's keys come from its own exchange; a
    /// binding's give the channel its signing key; a re-authentication keeps the keys.
    pub(super) fn setup_response(
        &mut self,
        shared: &mut Shared<'_>,
        header: &Header,
        bytes: &Bytes,
        resp: Option<&SessionSetupResponse>,
    ) {
        let sid = header.session_id;
        let Some(req) = self.setups.remove(&header.message_id) else {
            return;
        };
        let status = NtStatus(header.status);
        let (Some(resp), Some(negotiated)) = (resp, self.negotiated) else {
            self.auths.remove(&sid);
            return;
        };
        if status == MORE_PROCESSING_REQUIRED {
            let mut preauth = req.preauth;
            preauth.update(bytes);
            let challenge = match ntlm_token(&resp.security_buffer, 2) {
                Ok(Some(c)) => Some(c),
                _ => self.auths.remove(&sid).and_then(|a| a.challenge),
            };
            if self.auths.len() < TABLE_LIMIT {
                self.auths.insert(sid, AuthProgress { preauth, challenge });
            }
            return;
        }
        let auth = self.auths.remove(&sid);
        if status != NtStatus::SUCCESS {
            return;
        }
        let reauthentication = req.session_id != 0 && !req.binding;
        if reauthentication && shared.sessions.contains_key(&sid) {
            return;
        }
        let key = shared.session_key(
            resp.session_flags,
            auth.as_ref().and_then(|a| a.challenge.as_deref()),
            req.authenticate.as_deref(),
        );
        let preauth = if negotiated.dialect == Dialect::Smb311 {
            *req.preauth.value()
        } else {
            [0; 64]
        };
        let cipher_key_len = negotiated.cipher.map_or(16, Cipher::key_len);
        let keys = key
            .map(|k| derive_session_keys(negotiated.dialect as u16, &k, &preauth, cipher_key_len));
        if req.binding {
            if let Ok(keys) = keys {
                insert_bounded(&mut self.channel_keys, sid, keys.signing.clone());
            }
        } else {
            shared.sessions.insert(sid, Session { negotiated, keys });
        }
    }
}
