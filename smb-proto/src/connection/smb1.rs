//! SMB1 on the connection (MS-CIFS 3.2, MS-SMB 3.2): the multi-protocol NEGOTIATE that
//! lets an SMB2 server upgrade (MS-SMB2 3.2.4.2.2.1) and an SMB1-only one answer in
//! NT LM 0.12; then MIDs, MaxMpxCount as the credits, MD5 signing with the connection's
//! sequence numbers, NT_CANCEL, and the receive path that hands SMB1 responses to the
//! same operations and bookkeeping as SMB2 ones.
//!
//! What goes out is one SMB1 message per frame (no AndX chains, no compounds); what comes
//! back is matched by MID. Responses reach operations as a [`Response`] whose header is
//! an SMB2 view of the SMB1 one (status, MID as message id, TID, UID as session id,
//! the SMB2 command doing the same work) and whose message is the SMB1 message, for the
//! [`crate::wire::smb1`] decoders.

use super::send::deadline_after;
use super::*;
use crate::crypto::smb1_signing;
use crate::wire::create::FileId;
use crate::wire::smb1::header::{
    capabilities as caps, flags as smb1_flags, flags2, security_mode as smb1_security,
    SIGNATURE_RANGE,
};
use crate::wire::smb1::negotiate::{self as negprot, NT_LM_012, SMB_2_002, SMB_2_WILDCARD};
use crate::wire::smb1::simple::{EchoRequest, NtCancelRequest};
use crate::wire::smb1::trans::{TransAssembly, TransKind, TransResponse};
use crate::wire::smb1::trans2::{subcommand, FindClose2Request};
use crate::wire::smb1::{file, Smb1Command, Smb1Header, Smb1Request, HEADER_LEN};

/// The PID every request of a connection carries (Windows' constant: one process).
pub(crate) const PID: u16 = 0xFEFF;

/// Capabilities the client announces in SESSION_SETUP_ANDX (MS-SMB 2.2.4.6.1): no UNIX
/// (Samba's SMB1 unix extensions stay off), no DFS, no level II oplocks.
pub(crate) const CLIENT_CAPABILITIES: u32 = caps::UNICODE
    | caps::LARGE_FILES
    | caps::NT_SMBS
    | caps::STATUS32
    | caps::NT_FIND
    | caps::LARGE_READX
    | caps::LARGE_WRITEX
    | caps::EXTENDED_SECURITY;

/// What an NT LM 0.12 negotiation settled ([`Negotiated::smb1`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb1Negotiated {
    /// MaxMpxCount: requests in flight at most (the connection's credits).
    pub max_mpx: u16,
    /// MaxBufferSize: the largest message the server accepts.
    pub max_buffer_size: u32,
    /// SessionKey, echoed in SESSION_SETUP_ANDX.
    pub session_key: u32,
    /// The server's Capabilities.
    pub capabilities: u32,
    /// The server's SecurityMode (NEGOTIATE_SECURITY_SIGNATURES_ENABLED 0x04,
    /// …_REQUIRED 0x08).
    pub security_mode: u8,
}

/// The connection's SMB1 state, once NT LM 0.12 is negotiated.
pub(crate) struct Smb1State {
    next_mid: u16,
    /// The client signs once an authenticated session allows (policy and server agree);
    /// its requests say so in Flags2, which is what makes Samba sign.
    will_sign: bool,
    signing: Option<Smb1Signing>,
}

/// MD5 signing, active on the whole connection from the first authenticated session.
struct Smb1Signing {
    key: Vec<u8>,
    /// The sequence number of the next request.
    next_seq: u32,
}

impl Drop for Smb1Signing {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

/// What a pending SMB1 request needs to check its response.
#[derive(Debug, Clone)]
pub(super) struct Smb1Pending {
    command: Smb1Command,
    /// The sequence number the response is signed with, when requests are signed
    /// (every message of a response in several carries the same, MS-CIFS 3.2.5.1.2;
    /// Samba's `send_trans2_replies`).
    response_seq: Option<u32>,
    /// A TRANSACTION or TRANSACTION2 response arriving in several messages.
    trans: Option<Box<TransAssembly>>,
    /// A TRANSACTION2 request's subcommand.
    subcommand: Option<u16>,
}

impl Core {
    /// Whether the connection speaks SMB1.
    pub(crate) fn is_smb1(&self) -> bool {
        self.smb1.is_some()
    }

    /// The first NEGOTIATE: the SMB1 multi-protocol one when SMB1 is on, else SMB2's.
    pub(super) fn send_first_negotiate(&mut self) {
        if !self.config.min_dialect.is_smb1() {
            return self.send_negotiate();
        }
        let mut dialects = vec![NT_LM_012];
        if self.config.max_dialect >= Dialect::Smb202 {
            dialects.push(SMB_2_002);
        }
        if self.config.max_dialect >= Dialect::Smb210 {
            dialects.push(SMB_2_WILDCARD);
        }
        self.smb1_negprot = true;
        let body = Smb1Request::Negotiate(negprot::NegotiateRequest { dialects });
        self.transmit(Group::own(RequestBody::Smb1(Box::new(body))));
        // An SMB2 answer takes MessageId 0; the next SMB2 request is 1 (MS-SMB2 3.2.4.2.2.1).
        self.next_message_id = 1;
    }

    /// An ECHO for the connection's own use (a keep-alive, a probe for credits).
    pub(super) fn echo_body(&self) -> RequestBody {
        if self.is_smb1() {
            RequestBody::Smb1(Box::new(Smb1Request::Echo(EchoRequest::default())))
        } else {
            RequestBody::Echo(crate::wire::simple::EchoRequest)
        }
    }

    /// A CLOSE of `file_id` in the connection's protocol: what the core sends to close
    /// a handle nobody will use (an abandoned open, an operation's cleanup).
    pub(crate) fn close_body(&self, file_id: FileId) -> RequestBody {
        if self.is_smb1() {
            let close = file::CloseRequest {
                fid: file_id.smb1_fid(),
            };
            RequestBody::Smb1(Box::new(Smb1Request::Close(close)))
        } else {
            RequestBody::Close(crate::wire::close::CloseRequest {
                file_id,
                ..Default::default()
            })
        }
    }

    /// An operation's cleanup request in the connection's protocol: operations say
    /// CLOSE in SMB2 terms there (they have no context to ask the dialect), so an SMB2
    /// CLOSE becomes SMB1's on an SMB1 connection; anything else goes as it is.
    pub(super) fn cleanup_body(&self, body: RequestBody) -> RequestBody {
        match body {
            RequestBody::Close(c) if self.is_smb1() => self.close_body(c.file_id),
            body => body,
        }
    }

    /// The file a successful CREATE (or NT_CREATE_ANDX) response opened; `None` for an
    /// SMB1 request that maps to CREATE but opens nothing (CREATE_DIRECTORY).
    pub(super) fn opened_file(
        &self,
        msg: &Bytes,
    ) -> Result<Option<FileId>, crate::wire::DecodeError> {
        if !self.is_smb1() {
            return Ok(Some(
                crate::wire::create::CreateResponse::decode(msg)?.file_id,
            ));
        }
        if Smb1Header::decode(msg)?.command != Smb1Command::NT_CREATE_ANDX.0 {
            return Ok(None);
        }
        Ok(Some(file::NtCreateResponse::decode(msg)?.file_id))
    }

    /// The SMB1 server's NEGOTIATE answer: NT LM 0.12 with extended security, or a
    /// refusal.
    pub(super) fn on_smb1_negotiate(&mut self, msg: &Bytes) -> Result<(), CloseReason> {
        self.smb1_negprot = false;
        let n = match negprot::NegotiateResponse::decode(msg)? {
            negprot::NegotiateResponse::NoDialect => {
                return Err(NegotiateFailure::NoCommonDialect.into())
            }
            negprot::NegotiateResponse::Nt1(n) => n,
        };
        // NT LM 0.12 is the first string offered; another index answered in SMB1 names
        // an SMB2 string.
        if n.dialect_index != 0 {
            return Err(NegotiateFailure::Dialect(n.dialect_index).into());
        }
        if !n.extended_security() {
            return Err(NegotiateFailure::NoExtendedSecurity.into());
        }
        if self.config.encrypt {
            return Err(NegotiateFailure::EncryptionNeedsSmb3.into());
        }
        use crate::wire::negotiate::security_mode::{SIGNING_ENABLED, SIGNING_REQUIRED};
        let enabled = n.security_mode & smb1_security::SIGNATURES_ENABLED != 0;
        let required = n.security_mode & smb1_security::SIGNATURES_REQUIRED != 0;
        let will_sign = match self.config.signing {
            crate::config::SigningPolicy::Required => true,
            crate::config::SigningPolicy::WhenSupported => enabled || required,
            crate::config::SigningPolicy::WhenRequired => required,
            crate::config::SigningPolicy::Never => false,
        };
        // Reads and writes of 64 KiB with CAP_LARGE_READX / CAP_LARGE_WRITEX (MS-SMB
        // 2.2.4.2, 2.2.4.3): within what Samba serves signed (it cuts signed reads to
        // 128 KiB and drops messages over 128 KiB + 65). Without them, what fits in the
        // server's MaxBufferSize after the headers (MS-CIFS 2.2.4.42.1).
        let small = n.max_buffer_size.saturating_sub(64).clamp(512, 65535);
        let size = |cap: u32| {
            let size = if n.capabilities & cap != 0 {
                65536
            } else {
                small
            };
            self.config.max_io_size.min(size).max(1)
        };
        let (read, write) = (size(caps::LARGE_READX), size(caps::LARGE_WRITEX));
        let io = self.config.max_io_size.min(65536);
        let facts = Smb1Negotiated {
            max_mpx: n.max_mpx.max(1),
            max_buffer_size: n.max_buffer_size,
            session_key: n.session_key,
            capabilities: n.capabilities,
            security_mode: n.security_mode,
        };
        let negotiated = Negotiated {
            dialect: Dialect::Nt1,
            // In SMB2's terms, so that every signing decision reads it alike.
            security_mode: if enabled { SIGNING_ENABLED } else { 0 }
                | if required { SIGNING_REQUIRED } else { 0 },
            capabilities: 0,
            server_guid: n.server_guid,
            max_read_size: read,
            max_write_size: write,
            max_transact_size: io,
            validated: false,
            cipher: None,
            signing_algorithm: SigningAlgorithm::HmacSha256,
            large_mtu: false,
            smb1: Some(facts),
        };
        self.credits = u32::from(facts.max_mpx);
        self.smb1 = Some(Smb1State {
            next_mid: 1,
            will_sign,
            signing: None,
        });
        self.negotiated = Some(negotiated);
        self.state = State::Ready;
        tracing::warn!(
            max_mpx = facts.max_mpx,
            signing_required = required,
            "negotiated SMB1 (NT LM 0.12): unsafe, use it only for servers that speak nothing newer"
        );
        Ok(())
    }

    /// A MID not in use, never 0 (the NEGOTIATE's) nor 0xFFFF (oplock breaks).
    fn alloc_mid(&mut self) -> u16 {
        let Some(s) = self.smb1.as_mut() else {
            return 0;
        };
        for _ in 0..=u16::MAX {
            let mid = s.next_mid;
            s.next_mid = s.next_mid.wrapping_add(1);
            if mid != 0 && mid != 0xFFFF && !self.pending.contains_key(&u64::from(mid)) {
                return mid;
            }
        }
        // Unreachable: MaxMpxCount (at most 65535 credits) bounds the MIDs in use.
        1
    }

    /// Encodes one SMB1 request as a frame into the send buffer, signed when the
    /// connection signs → its MID and the sequence number its response is signed with.
    fn put_smb1(
        &mut self,
        slot: SessionSlot,
        tree_id: u32,
        req: &Smb1Request,
        mid: u16,
    ) -> Option<u32> {
        let mut f2 = flags2::UNICODE
            | flags2::NT_STATUS
            | flags2::EXTENDED_SECURITY
            | flags2::IS_LONG_NAME
            | flags2::LONG_NAMES;
        if self.smb1.as_ref().is_some_and(|s| s.will_sign) {
            f2 |= flags2::SECURITY_SIGNATURE;
            if self.config.signing == crate::config::SigningPolicy::Required {
                f2 |= flags2::SECURITY_SIGNATURE_REQUIRED;
            }
        }
        let header = Smb1Header {
            command: req.command().0,
            flags: smb1_flags::CASE_INSENSITIVE | smb1_flags::CANONICALIZED_PATHS,
            flags2: f2,
            tid: match tree_id {
                0 => 0xFFFF,
                t => t as u16,
            },
            pid: PID,
            uid: self.sessions[slot.0].id as u16,
            mid,
            ..Default::default()
        };
        let frame = self.begin_frame(false);
        let start = self.tx.len();
        header.encode(&mut self.tx);
        // A large WRITE_ANDX's data ends the message: sent from the caller's buffer (see
        // `poll_transmit_vectored`) and signed where it is, never copied.
        let payload = match req {
            Smb1Request::Write(w) if w.data.len() >= super::send::SEPARATE_PAYLOAD => {
                w.encode_head(&mut self.tx);
                Some(w.data.clone())
            }
            req => {
                req.encode(&mut self.tx);
                None
            }
        };
        let mut seq = None;
        if let Some(s) = self.smb1.as_mut().and_then(|s| s.signing.as_mut()) {
            let n = s.next_seq;
            s.next_seq = n.wrapping_add(smb1_signing::sequence_step(req.command().0));
            seq = Some(n);
            let tail = payload.as_deref().unwrap_or_default();
            if let Err(e) = smb1_signing::sign_parts(&s.key, n, &mut self.tx[start..], tail) {
                self.fatal.get_or_insert(e.into());
            }
        }
        if let Some(p) = payload {
            self.tx_payloads.push((self.tx.len(), p));
        }
        self.end_frame(slot, frame, false, None);
        tracing::debug!(
            command = %req.command().name(),
            mid,
            tree_id = header.tid,
            uid = header.uid,
            signed = seq.is_some(),
            "request"
        );
        seq
    }

    /// [`Core::transmit`] for SMB1: each request its own frame and MID; MaxMpxCount
    /// bounds the requests in flight (one credit each). A request that is not SMB1 (one
    /// the core queued for itself, SMB2-shaped) is not sent: operations are refused
    /// before that (see `OpContext::queue`).
    pub(super) fn transmit_smb1(&mut self, group: Group) {
        let slot = group.session;
        let timeout = deadline_after(self.now, self.config.request_timeout);
        for item in group.items {
            let RequestBody::Smb1(req) = &item.body else {
                tracing::warn!(
                    command = item.body.command().name(),
                    "an SMB2 request on an SMB1 connection: not sent"
                );
                continue;
            };
            let command = req.command();
            let mid = if command == Smb1Command::NEGOTIATE {
                0
            } else {
                self.alloc_mid()
            };
            let seq = self.put_smb1(slot, item.tree_id, req, mid);
            let equivalent = req.equivalent();
            let (trans, subcommand) = match &**req {
                Smb1Request::Trans(t) => (
                    Some(Box::new(TransAssembly::new(t.max_params, t.max_data))),
                    (t.kind == TransKind::Transaction2)
                        .then(|| t.setup.first().copied())
                        .flatten(),
                ),
                Smb1Request::NtTrans(t) => (
                    Some(Box::new(TransAssembly::nt(t.max_params, t.max_data))),
                    None,
                ),
                _ => (None, None),
            };
            self.credits = self.credits.saturating_sub(1);
            if let Some(op) = group.op {
                let entry = TrailEntry {
                    command: equivalent,
                    message_id: u64::from(mid),
                    status: None,
                };
                self.record(op, entry);
            }
            self.pending.insert(
                u64::from(mid),
                Pending {
                    op: group.op,
                    tag: item.tag,
                    command: equivalent,
                    async_id: None,
                    deadline: if item.deadline { timeout } else { None },
                    interims: 0,
                    encrypted: false,
                    tree_id: item.tree_id,
                    // A lock granted after its operation ended (a NT_CANCEL crossed
                    // it) is released again.
                    undo: match &**req {
                        Smb1Request::Locking(l) => l
                            .release()
                            .map(|r| RequestBody::Smb1(Box::new(Smb1Request::Locking(r)))),
                        _ => None,
                    },
                    session: slot,
                    credits_asked: 0,
                    group: None,
                    smb1: Some(Smb1Pending {
                        command,
                        response_seq: seq.map(|s| s.wrapping_add(1)),
                        trans,
                        subcommand,
                    }),
                },
            );
        }
    }

    /// NT_CANCEL of the request with `mid` (MS-CIFS 2.2.4.65): same MID, TID and UID; no
    /// response.
    pub(super) fn send_smb1_cancel(&mut self, slot: SessionSlot, mid: u64) {
        let tree_id = self.pending.get(&mid).map_or(0, |p| p.tree_id);
        let req = Smb1Request::NtCancel(NtCancelRequest);
        self.put_smb1(slot, tree_id, &req, mid as u16);
    }

    /// Makes the first authenticated session's key the connection's MD5 signing key
    /// when the client signs, verifying the final SESSION_SETUP_ANDX response with
    /// sequence number 1 (MS-CIFS 3.2.5.3; Samba's `smb1cli_conn_check_signing(…, 1)`);
    /// the next request is then signed with 2. Later sessions keep the connection's key.
    /// The rules for guests, anonymous logins and a server requiring signing are
    /// SMB2's.
    pub(crate) fn establish_smb1_session(
        &mut self,
        slot: SessionSlot,
        session_key: Option<[u8; 16]>,
        guest: bool,
        final_response: &Response,
    ) -> Result<(), Fail> {
        let requires_signing = self.server_requires_signing();
        let will_sign = self.smb1.as_ref().is_some_and(|s| s.will_sign);
        let session = &mut self.sessions[slot.0];
        session.is_guest = guest || session_key.is_none();
        match session_key.filter(|_| !guest) {
            Some(key) => {
                if self.config.signing == crate::config::SigningPolicy::Never && requires_signing {
                    return Err(Fail::Op(Error::Invalid(
                        "the server requires signing and the signing policy is 'never'".into(),
                    )));
                }
                if will_sign {
                    self.activate_smb1_signing(&key, final_response)?;
                    self.sessions[slot.0].signing_active = true;
                }
            }
            None => super::session::refuse_unsigned_guest(&self.config, requires_signing)?,
        }
        let session = &mut self.sessions[slot.0];
        session.established = true;
        tracing::info!(
            uid = session.id,
            guest = session.is_guest,
            signing = session.signing_active,
            "SMB1 session established"
        );
        Ok(())
    }

    fn activate_smb1_signing(&mut self, key: &[u8; 16], resp: &Response) -> Result<(), Fail> {
        let Some(state) = self.smb1.as_mut() else {
            return Err(Fail::Fatal(CloseReason::Protocol(Violation::NoNegotiate)));
        };
        if state.signing.is_some() {
            return Ok(());
        }
        let (command, message_id) = (Command::SessionSetup as u16, resp.header.message_id);
        let unsigned = resp
            .msg
            .get(SIGNATURE_RANGE)
            .is_none_or(|s| s.iter().all(|b| *b == 0));
        if unsigned {
            return Err(Fail::Fatal(CloseReason::Unsigned {
                command,
                message_id,
            }));
        }
        if !smb1_signing::verify(key, smb1_signing::ACTIVATION_SEQ, &resp.msg) {
            return Err(Fail::Fatal(CloseReason::BadSignature {
                command,
                message_id,
            }));
        }
        state.signing = Some(Smb1Signing {
            key: key.to_vec(),
            next_seq: smb1_signing::FIRST_REQUEST_SEQ,
        });
        Ok(())
    }
}

impl Core {
    /// A FIND_FIRST2 whose operation is gone (cancelled, failed) opened a search the
    /// server keeps until its end: FIND_CLOSE2 ends it, as the CLOSE of an abandoned
    /// CREATE does for a handle.
    fn end_abandoned_search(&mut self, pending: &Pending, sent: &Smb1Pending, msg: &Bytes) {
        if sent.subcommand != Some(subcommand::FIND_FIRST2) {
            return;
        }
        let Ok(r) = TransResponse::decode(msg) else {
            return;
        };
        // SID, SearchCount, EndOfSearch; a search that ended is closed (CLOSE_AT_EOS).
        let mut p = crate::wire::codec::Reader::new(&r.params);
        let (Ok(sid), Ok(_), Ok(end_of_search)) =
            (p.u16("sid"), p.u16("search count"), p.u16("end of search"))
        else {
            return;
        };
        if end_of_search != 0 {
            return;
        }
        tracing::debug!(sid, "closing the search of an abandoned listing");
        let body = Smb1Request::FindClose2(FindClose2Request { sid });
        self.waiting.push_back(Group {
            op: None,
            session: pending.session,
            items: vec![Outgoing::own(
                pending.tree_id,
                RequestBody::Smb1(Box::new(body)),
            )],
        });
    }
}

impl Connection {
    /// An SMB1 message from the server: matched to its request by MID, its signature
    /// checked with the sequence number the request left, then handed on as an SMB2
    /// response would be.
    pub(super) fn handle_smb1_message(&mut self, msg: Bytes) -> Result<(), CloseReason> {
        let h = Smb1Header::decode(&msg)?;
        if !h.is_reply() {
            return Err(CloseReason::Protocol(Violation::RequestFromServer));
        }
        if h.command == Smb1Command::LOCKING_ANDX.0 && h.mid == 0xFFFF {
            // An oplock break: this client asks for no oplocks, so it names nothing held.
            tracing::debug!("SMB1 oplock break for an oplock never asked for: ignored");
            return Ok(());
        }
        let message_id = u64::from(h.mid);
        let Some(mut pending) = self.core.pending.remove(&message_id) else {
            return Err(CloseReason::Protocol(Violation::UnknownMessageId(
                message_id,
            )));
        };
        let Some(mut sent) = pending.smb1.take().filter(|s| s.command.0 == h.command) else {
            return Err(CloseReason::Protocol(Violation::WrongCommand {
                message_id,
                sent: pending.command as u16,
                answered: u16::from(h.command),
            }));
        };
        let status = h.nt_status();
        tracing::debug!(
            command = %Smb1Command(h.command).name(),
            mid = h.mid,
            %status,
            uid = h.uid,
            tid = h.tid,
            "response"
        );
        if pending.command == Command::Negotiate {
            self.core.credits = self.core.credits.saturating_add(1);
            return self.core.on_smb1_negotiate(&msg);
        }
        let signing = self
            .core
            .smb1
            .as_ref()
            .and_then(|s| s.signing.as_ref())
            .map(|s| s.key.as_slice());
        if let (Some(seq), Some(key)) = (sent.response_seq, signing) {
            if !smb1_signing::verify(key, seq, &msg) {
                return Err(CloseReason::BadSignature {
                    command: pending.command as u16,
                    message_id,
                });
            }
        }
        // A transaction's answer may come in several messages: the request stays
        // pending (and holds its place in the MaxMpxCount window) until the last one,
        // and its operation gets them as one. An error answer has no words: it is final.
        let mut msg = msg;
        if let Some(assembly) = sent.trans.as_mut() {
            let has_words = msg.get(HEADER_LEN).is_some_and(|wc| *wc != 0);
            if has_words {
                match assembly.push(&msg)? {
                    Some(whole) => msg = whole,
                    None => {
                        pending.smb1 = Some(sent);
                        self.core.pending.insert(message_id, pending);
                        return Ok(());
                    }
                }
            }
        }
        // Each final answer frees its request's place in the MaxMpxCount window.
        self.core.credits = self.core.credits.saturating_add(1);
        if pending.op.is_none() && status == NtStatus::SUCCESS {
            self.core.end_abandoned_search(&pending, &sent, &msg);
        }
        let command = pending.command;
        if command == Command::SessionSetup {
            let session = &mut self.core.sessions[pending.session.0];
            if session.id == 0 {
                session.id = u64::from(h.uid);
            }
        }
        let signed = h.signature != [0; 8];
        let header = Header {
            status: status.0,
            command: command as u16,
            flags: flags::SERVER_TO_REDIR | if signed { flags::SIGNED } else { 0 },
            message_id,
            tree_id: u32::from(h.tid),
            session_id: u64::from(h.uid),
            ..Default::default()
        };
        self.dispatch(pending, header, msg, command, status)
    }
}
