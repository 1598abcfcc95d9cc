//! Sending: requests queue until credits allow, get message ids and credit charges,
//! and are encoded, signed or encrypted straight into one send buffer, one frame per
//! request or compound.

use super::*;

/// WRITE data at least this large is sent from the caller's buffer, not copied.
pub(super) const SEPARATE_PAYLOAD: usize = 16 * 1024;

/// `now + timeout`, or no deadline when that is beyond what an `Instant` can hold: a
/// caller's huge timeout means "wait", never an overflow.
pub(super) fn deadline_after(now: Instant, timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| now.checked_add(t))
}

/// A request waiting to go out.
#[derive(Clone)]
pub(super) struct Outgoing {
    pub(super) tag: usize,
    pub(super) tree_id: u32,
    pub(super) body: RequestBody,
    pub(super) related: bool,
    /// Sign even when the session does not sign everything.
    pub(super) sign: bool,
    /// Whether the request's timeout applies.
    pub(super) deadline: bool,
    /// Whether the session's signing and encryption apply.
    pub(super) protect: bool,
    /// Header fields the caller set (raw requests).
    pub(super) header: HeaderFields,
}

impl Outgoing {
    /// A request of the connection's own (negotiate, a credit probe, a cleanup CLOSE).
    pub(super) fn own(tree_id: u32, body: RequestBody) -> Self {
        Outgoing {
            tag: 0,
            tree_id,
            body,
            related: false,
            sign: false,
            deadline: true,
            protect: true,
            header: HeaderFields::default(),
        }
    }
}

/// Requests that go out together in one frame (a compound, or a single request).
#[derive(Clone)]
pub(super) struct Group {
    pub(super) op: Option<OpId>,
    /// The session the requests belong to.
    pub(super) session: SessionSlot,
    pub(super) items: Vec<Outgoing>,
}

impl Group {
    /// One request of the connection's own, in the default session.
    pub(super) fn own(body: RequestBody) -> Self {
        Group {
            op: None,
            session: SessionSlot::DEFAULT,
            items: vec![Outgoing::own(0, body)],
        }
    }
}

impl Core {
    /// `encrypted`: the request being cancelled went out encrypted, so the CANCEL must too
    /// (a per-share encrypted tree, not only a session-wide one).
    pub(super) fn send_cancel(
        &mut self,
        slot: SessionSlot,
        message_id: u64,
        async_id: Option<u64>,
        encrypted: bool,
    ) {
        if self.is_smb1() {
            return self.send_smb1_cancel(slot, message_id);
        }
        // MS-SMB2 3.2.4.24: CANCEL reuses the target's message id and consumes no credit.
        let session = &self.sessions[slot.0];
        let mut header = Header {
            command: Command::Cancel as u16,
            message_id,
            session_id: session.id,
            ..Default::default()
        };
        if let Some(a) = async_id {
            header.flags |= flags::ASYNC_COMMAND;
            header.async_id = a;
        }
        let encrypt = session.established && (session.encrypt_all || encrypted);
        let frame = self.begin_frame(encrypt);
        let start = self.tx.len();
        header.encode(&mut self.tx);
        RequestBody::Cancel(crate::wire::simple::CancelRequest).encode(&mut self.tx);
        if !encrypt && self.should_sign(slot, Command::Cancel) {
            self.sign_range(slot, start, &[]);
        }
        self.end_frame(slot, frame, encrypt, None);
    }

    /// Sends waiting groups while negotiation and credits allow.
    pub(super) fn flush_waiting(&mut self) {
        if self.state != State::Ready {
            return;
        }
        while let Some(group) = self.waiting.front() {
            let charge: u32 = group
                .items
                .iter()
                .map(|o| u32::from(self.charge_for(&o.body).max(1)))
                .sum();
            if charge > self.credits {
                if self.pending.is_empty() {
                    self.probe_for_credits(charge);
                }
                break;
            }
            let Some(group) = self.waiting.pop_front() else {
                break;
            };
            self.credit_probes = 0;
            self.transmit(group);
        }
    }

    /// Nothing in flight will bring credits back, yet the next request needs more than
    /// the client holds: ask for them with an ECHO, a few times, then give up on a
    /// server that starves the client (rather than wait forever).
    pub(super) fn probe_for_credits(&mut self, charge: u32) {
        if self.credits == 0 || self.credit_probes >= 3 {
            self.fail_local(CloseReason::Protocol(Violation::CreditStarvation {
                granted: self.credits,
                needed: charge,
            }));
            return;
        }
        self.credit_probes += 1;
        let body = self.echo_body();
        self.transmit(Group::own(body));
    }

    pub(super) fn charge_for(&self, body: &RequestBody) -> u16 {
        match &self.negotiated {
            Some(n) if n.large_mtu => credit_charge(body.credit_payload()),
            _ => 1,
        }
    }

    /// Assigns message ids, then encodes, signs or encrypts the group straight into the
    /// send buffer as one frame (a compound when it has several requests).
    pub(super) fn transmit(&mut self, group: Group) {
        let smb1_body = matches!(
            group.items.first().map(|i| &i.body),
            Some(RequestBody::Smb1(_))
        );
        if self.is_smb1() || smb1_body {
            return self.transmit_smb1(group);
        }
        let protect = group.items.iter().all(|i| i.protect);
        let slot = group.session;
        let session = &self.sessions[slot.0];
        let encrypt = session.established
            && protect
            && group.items.iter().any(|i| session.tree_encrypts(i.tree_id));
        let timeout = deadline_after(self.now, self.config.request_timeout);
        // An operation's requests in a session that can log in again are kept until
        // answered: should the server say the session expired, they go out again once
        // it is re-authenticated.
        let first = self.next_message_id;
        let n = group.items.len();
        let keep = group.op.is_some()
            && session.established
            && session.credentials.is_some()
            && group
                .items
                .iter()
                .all(|i| i.body.command() != Command::SessionSetup);
        let frame = self.begin_frame(encrypt);
        let mut sealed_tail = None;
        for (i, item) in group.items.iter().enumerate() {
            let dfs = self.sessions[slot.0].dfs_path(item.tree_id, &item.body);
            let body = match &dfs {
                Some(Some(renamed)) => renamed,
                _ => &item.body,
            };
            let command = body.command();
            let charge = item
                .header
                .credit_charge
                .unwrap_or_else(|| self.charge_for(body))
                .max(1);
            let message_id = self.next_message_id;
            self.next_message_id += u64::from(charge);
            self.credits = self.credits.saturating_sub(u32::from(charge));
            let mut header = Header {
                credit_charge: item
                    .header
                    .credit_charge
                    .unwrap_or_else(|| self.wire_credit_charge(charge)),
                status: u32::from(match item.header.channel_sequence {
                    0 => self.sessions[slot.0].channel_sequence,
                    set => set,
                }),
                flags: item.header.flags,
                command: command as u16,
                credits: self.credit_request(charge),
                message_id,
                tree_id: item.tree_id,
                session_id: if command == Command::Negotiate {
                    0
                } else {
                    self.sessions[slot.0].id
                },
                ..Default::default()
            };
            if item.related {
                header.flags |= flags::RELATED_OPERATIONS;
            }
            if dfs.is_some() {
                header.flags |= flags::DFS_OPERATIONS;
            }
            let start = self.tx.len();
            header.encode(&mut self.tx);
            // A large WRITE ending a frame leaves its data where the caller put it: sent
            // from there (see `poll_transmit_vectored`), or encrypted from there into the
            // send buffer (`end_frame`), never first copied.
            let payload = match body {
                RequestBody::Write(w) if i + 1 == n && w.data.len() >= SEPARATE_PAYLOAD => {
                    w.encode_header_only(&mut self.tx);
                    Some(w.data.clone())
                }
                body => {
                    body.encode(&mut self.tx);
                    None
                }
            };
            if i + 1 < n {
                self.tx
                    .resize(start + crate::wire::codec::align8(self.tx.len() - start), 0);
                let next = (self.tx.len() - start) as u32;
                self.tx[start + 20..start + 24].copy_from_slice(&next.to_le_bytes());
            }
            let signed = !encrypt && protect && (item.sign || self.should_sign(slot, command));
            if signed {
                self.sign_range(slot, start, payload.as_deref().unwrap_or_default());
            }
            // After signing: a binding's preauth hash covers its requests as sent (MS-SMB2
            // 3.3.5.5.3), signature included.
            match command {
                Command::Negotiate => self.negotiate_request = self.tx[start..].to_vec(),
                Command::SessionSetup => self.sessions[slot.0].preauth.update(&self.tx[start..]),
                _ => {}
            }
            if let Some(p) = payload {
                if encrypt {
                    sealed_tail = Some(p);
                } else {
                    self.tx_payloads.push((self.tx.len(), p));
                }
            }
            tracing::debug!(
                command = command.name(),
                message_id,
                credit_charge = charge,
                credits_requested = header.credits,
                session_id = header.session_id,
                tree_id = header.tree_id,
                signed,
                encrypted = encrypt,
                "request"
            );
            if let Some(op) = group.op {
                let entry = TrailEntry {
                    command,
                    message_id,
                    status: None,
                };
                self.record(op, entry);
            }
            self.pending.insert(
                message_id,
                Pending {
                    op: group.op,
                    tag: item.tag,
                    command,
                    async_id: None,
                    deadline: if item.deadline { timeout } else { None },
                    interims: 0,
                    encrypted: encrypt,
                    tree_id: item.tree_id,
                    undo: match &item.body {
                        RequestBody::Lock(l) => l.release().map(RequestBody::Lock),
                        _ => None,
                    },
                    session: slot,
                    credits_asked: header.credits,
                    group: keep.then_some(first),
                    smb1: None,
                },
            );
            self.credits_asked = self.credits_asked.saturating_add(u32::from(header.credits));
        }
        self.end_frame(slot, frame, encrypt, sealed_tail.as_deref());
        if keep {
            let unanswered = n;
            self.sent.insert(
                first,
                Sent {
                    group,
                    unanswered,
                    expired: 0,
                },
            );
        }
    }

    /// MS-SMB2 3.2.4.1.5: a 2.0.2 client sends CreditCharge 0.
    pub(super) fn wire_credit_charge(&self, charge: u16) -> u16 {
        match &self.negotiated {
            Some(n) if n.dialect == Dialect::Smb202 => 0,
            _ => charge,
        }
    }

    /// CreditRequest: the charge back, plus enough to climb toward `credit_target`
    /// counting what requests in flight asked for already (see `Core::credits_asked`).
    pub(super) fn credit_request(&self, charge: u16) -> u16 {
        let held = self.credits.saturating_add(self.credits_asked);
        let want = u32::from(self.config.credit_target)
            .saturating_sub(held)
            .min(256);
        (u32::from(charge) + want).min(u32::from(u16::MAX)) as u16
    }

    /// Reserves the frame header (and the transform header) in the send buffer.
    pub(super) fn begin_frame(&mut self, encrypt: bool) -> usize {
        let start = self.tx.len();
        let room = 4 + if encrypt {
            encryption::TRANSFORM_HEADER_LEN
        } else {
            0
        };
        self.tx.resize(start + room, 0);
        start
    }

    /// Encrypts the frame begun at `start` if asked, then writes its length. `tail` (a
    /// large WRITE's data, only when encrypting) ends the frame: encrypted from where it
    /// is into the send buffer.
    pub(super) fn end_frame(
        &mut self,
        slot: SessionSlot,
        start: usize,
        encrypt: bool,
        tail: Option<&[u8]>,
    ) {
        if encrypt {
            let session = &self.sessions[slot.0];
            let (Some(keys), Some(cipher)) = (
                &session.keys,
                self.negotiated.as_ref().and_then(|n| n.cipher),
            ) else {
                self.fail_local(EncryptionFailure::NoKeys.into());
                return;
            };
            let mut nonce = [0u8; 16];
            self.rng.fill(&mut nonce[..cipher.nonce_len()]);
            let r = encryption::encrypt_appending(
                cipher,
                &keys.encryption,
                &nonce[..cipher.nonce_len()],
                session.id,
                &mut self.tx,
                start + 4,
                tail.unwrap_or_default(),
            );
            if let Err(e) = r {
                self.fail_local(e.into());
                return;
            }
        }
        let separate: usize = self
            .tx_payloads
            .iter()
            .filter(|(o, _)| *o > start)
            .map(|(_, p)| p.len())
            .sum();
        let len = self.tx.len() - start - 4 + separate;
        let mut hdr = Vec::with_capacity(4);
        framing::put_frame_header(&mut hdr, len);
        self.tx[start..start + 4].copy_from_slice(&hdr);
    }

    /// Signs the message that starts at `start`, runs to the end of the send buffer and
    /// continues with `payload` (empty unless its data is sent separately).
    pub(super) fn sign_range(&mut self, slot: SessionSlot, start: usize, payload: &[u8]) {
        let (Some(key), Some(neg)) = (self.sessions[slot.0].key(), &self.negotiated) else {
            return;
        };
        // Only a short message or a bad key length can fail; both would be our bug.
        let head = &mut self.tx[start..];
        if let Err(e) = signing::sign_parts(neg.signing_algorithm, key, head, payload) {
            self.fail_local(e.into());
        }
    }

    /// A fatal problem found while sending, applied once sending is done.
    pub(super) fn fail_local(&mut self, reason: CloseReason) {
        self.fatal.get_or_insert(reason);
    }

    pub(super) fn should_sign(&self, slot: SessionSlot, command: Command) -> bool {
        let session = &self.sessions[slot.0];
        // Every request of a binding is signed with Session.SigningKey (MS-SMB2 3.2.4.1.1).
        if session.binding_key.is_some() && command == Command::SessionSetup {
            return true;
        }
        if session.signing_key.is_none() || session.is_guest || !session.established {
            return false;
        }
        // Samba (and MS-SMB2 3.2.4.1.1 for 3.1.1) requires a signed TREE_CONNECT on 3.x
        // even when the session does not otherwise sign.
        session.signing_active
            || (command == Command::TreeConnect
                && self
                    .negotiated
                    .as_ref()
                    .is_some_and(|n| n.dialect.is_smb3()))
    }
}
