//! Receiving: frames into messages (compounds split, transforms decrypted), each matched
//! to its pending request, checked (encryption, signature, interim responses) and handed
//! to the operation that sent it.

use super::*;

/// Interim responses one request may receive. A server sends one (MS-SMB2 3.3.4.2);
/// one that keeps sending them is broken or hostile.
pub(super) const MAX_INTERIMS: u32 = 8;

impl Connection {
    pub(super) fn handle_frame(&mut self, frame: Frame) -> Result<(), CloseReason> {
        // Whatever it is, the server is there.
        self.core.last_heard = self.core.now;
        self.core.keep_alive_out = false;
        let data = match frame {
            Frame::KeepAlive => return Ok(()),
            Frame::SessionAccepted if self.core.state == State::NetBiosRequest => {
                self.core.state = State::Negotiating;
                return Ok(());
            }
            Frame::SessionRefused(refusal) => return Err(CloseReason::NetBiosRefused(refusal)),
            Frame::SessionAccepted => {
                return Err(CloseReason::Protocol(Violation::UnexpectedSessionResponse))
            }
            Frame::Message(data) => data,
        };
        if data.starts_with(&crate::wire::smb1::PROTOCOL_ID) {
            return self.handle_smb1_message(data.freeze());
        }
        let (plain, encrypted) = if data.starts_with(&transform::PROTOCOL_ID) {
            (self.core.decrypt(data)?, true)
        } else {
            (data.freeze(), false)
        };
        for message in crate::wire::header::compound_messages(plain) {
            let (header, msg) = message?;
            self.handle_message(header, msg, encrypted)?;
            if self.core.state == State::Closed {
                break;
            }
        }
        Ok(())
    }

    pub(super) fn handle_message(
        &mut self,
        header: Header,
        msg: Bytes,
        encrypted: bool,
    ) -> Result<(), CloseReason> {
        if !header.is_response() {
            return Err(CloseReason::Protocol(Violation::RequestFromServer));
        }
        let command = header.command()?;
        if command == Command::OplockBreak && header.message_id == u64::MAX {
            let slot = self.core.slot_of(header.session_id);
            if self.core.sessions[slot.0].encrypt_all && !encrypted {
                return Err(EncryptionFailure::UnencryptedBreak.into());
            }
            self.core.verify_break(slot, &header, &msg, encrypted)?;
            let notification = BreakNotification::decode(&msg)?;
            let owner = self
                .core
                .break_owners
                .get(&BreakKey::of(&notification))
                .copied();
            match owner.and_then(|id| self.ops.remove(&id).map(|r| (id, r))) {
                Some((id, running)) => {
                    self.step(id, running, |op, cx| op.on_break(cx, notification));
                }
                None if self.core.on_held_break(&notification) => {}
                None => self.core.events.push_back(Event::Break(notification)),
            }
            return Ok(());
        }
        let status = NtStatus(header.status);
        tracing::debug!(
            command = command.name(),
            message_id = header.message_id,
            %status,
            credits_granted = header.credits,
            session_id = header.session_id,
            encrypted,
            "response"
        );
        self.core.credits = self.core.credits.saturating_add(u32::from(header.credits));
        let Some(mut pending) = self.core.pending.remove(&header.message_id) else {
            return Err(CloseReason::Protocol(Violation::UnknownMessageId(
                header.message_id,
            )));
        };
        // What this answer grants of what its request asked for is asked no more; an
        // interim answer may grant part, the final one the rest.
        let granted = header.credits.min(pending.credits_asked);
        pending.credits_asked -= granted;
        self.core.credits_asked = self.core.credits_asked.saturating_sub(u32::from(granted));
        if pending.encrypted && !encrypted {
            return Err(EncryptionFailure::UnencryptedResponse(header.message_id).into());
        }
        if pending.command != command {
            return Err(CloseReason::Protocol(Violation::WrongCommand {
                message_id: header.message_id,
                sent: pending.command as u16,
                answered: command as u16,
            }));
        }
        if status == NtStatus::PENDING && header.is_async() {
            // Interim response (MS-SMB2 3.2.5.1.5): the final one follows; it is not
            // signed. The request keeps the deadline it was sent with: interims say the
            // server is working on it, not that it may take forever.
            pending.interims += 1;
            if pending.interims > MAX_INTERIMS {
                return Err(CloseReason::Protocol(Violation::EndlessInterims {
                    message_id: header.message_id,
                    limit: MAX_INTERIMS,
                }));
            }
            pending.async_id = Some(header.async_id);
            let (op, tag) = (pending.op, pending.tag);
            self.core.pending.insert(header.message_id, pending);
            if let Some(running) = op.and_then(|id| Some((id, self.ops.remove(&id)?))) {
                self.step(running.0, running.1, |op, cx| op.on_interim(cx, tag));
            }
            return Ok(());
        }
        // The final answer: whatever it did not grant will not come.
        self.core.credits_asked = self
            .core
            .credits_asked
            .saturating_sub(u32::from(pending.credits_asked));
        if command == Command::Negotiate {
            return self.core.on_negotiate(&msg);
        }
        let slot = pending.session;
        let final_session_setup = command == Command::SessionSetup && status == NtStatus::SUCCESS;
        if command == Command::SessionSetup {
            let session = &mut self.core.sessions[slot.0];
            if session.id == 0 {
                session.id = header.session_id;
            }
            if status == NtStatus::MORE_PROCESSING_REQUIRED {
                session.preauth.update(&msg);
            }
        }
        // The final SESSION_SETUP response of a first login is signed with keys derived
        // from it; the login operation verifies it once it has them. A re-authentication
        // keeps the session's keys.
        if !final_session_setup || self.core.sessions[slot.0].established {
            self.core.verify(slot, &header, &msg, encrypted)?;
        }
        self.dispatch(pending, header, msg, command, status)
    }

    /// A checked final response (SMB2, or SMB1 with an SMB2 view of its header): the
    /// bookkeeping its command implies, then its operation's next step.
    pub(super) fn dispatch(
        &mut self,
        pending: Pending,
        header: Header,
        msg: Bytes,
        command: Command,
        status: NtStatus,
    ) -> Result<(), CloseReason> {
        let slot = pending.session;
        if let Some(key) = pending.group {
            if self.on_kept_answer(key, status, slot) {
                return Ok(());
            }
        }
        let Some(id) = pending.op else {
            // The operation is gone (cancelled, timed out, failed) but its request went
            // through: close the handle a CREATE opened, unlock what a LOCK locked (a
            // grant that crossed the CANCEL), since nobody will use them.
            let undo = match pending.undo {
                _ if status != NtStatus::SUCCESS => None,
                Some(undo) => Some(undo),
                // The handle a CREATE opened (SMB1: an NT_CREATE_ANDX; its other requests
                // that map to CREATE, such as CREATE_DIRECTORY, open nothing).
                None if command == Command::Create => self
                    .core
                    .opened_file(&msg)?
                    .map(|file_id| self.core.close_body(file_id)),
                None => None,
            };
            if let Some(body) = undo {
                let items = vec![Outgoing::own(pending.tree_id, body)];
                self.core.waiting.push_back(Group {
                    op: None,
                    session: slot,
                    items,
                });
            }
            return Ok(());
        };
        let ok = status == NtStatus::SUCCESS;
        if status == NtStatus::NETWORK_NAME_DELETED || (command == Command::TreeDisconnect && ok) {
            // The tree is gone (the server dropped it, or we disconnected it): the next
            // operation on its share connects again.
            self.core.sessions[slot.0].trees.remove(&header.tree_id);
            self.shares.retain(|(s, _), t| {
                *s != slot || *t != ShareTree::Connected(TreeId(header.tree_id))
            });
        }
        if command == Command::Logoff && ok {
            self.shares.retain(|(s, _), _| *s != slot);
        }
        let entry = TrailEntry {
            command,
            message_id: header.message_id,
            status: Some(status),
        };
        self.core.record(id, entry);
        let Some(running) = self.ops.remove(&id) else {
            return Ok(());
        };
        let tag = pending.tag;
        self.step(id, running, |op, cx| {
            op.on_response(cx, tag, Response { header, msg })
        });
        Ok(())
    }
}

impl Core {
    /// Checks an unsolicited break notification. It answers no request, so it need not be
    /// signed (MS-SMB2 3.2.5.1.3: no verification for MessageId 0xFFFFFFFFFFFFFFFF), and
    /// a lease break names no session (SessionId 0, 3.3.4.7); Samba signs neither. One
    /// that is signed by a session of ours must carry that session's good signature.
    fn verify_break(
        &self,
        slot: SessionSlot,
        header: &Header,
        msg: &[u8],
        encrypted: bool,
    ) -> Result<(), CloseReason> {
        let session = &self.sessions[slot.0];
        let ours = header.session_id != 0 && header.session_id == session.id;
        if !encrypted && header.is_signed() && ours && session.signing_key.is_some() {
            return self.verify_signature(slot, header, msg);
        }
        Ok(())
    }

    /// Handles a break for a lease or oplock the core holds ([`crate::ops::lease`]):
    /// lowers the state to what the server now allows and queues the acknowledgment
    /// when the server waits for one. False when nothing held names it.
    pub(super) fn on_held_break(&mut self, notification: &BreakNotification) -> bool {
        use crate::ops::lease::LeaseState;
        use crate::wire::create::oplock_level;
        use crate::wire::oplock_break::{lease_break_flags, LeaseBreakAck, OplockBreak};
        let Some(held) = self.leases.get_mut(&BreakKey::of(notification)) else {
            return false;
        };
        held.state.breaks = held.state.breaks.wrapping_add(1);
        let ack = match notification {
            BreakNotification::Lease(n) => {
                // A client never keeps more than it held, whatever the server says.
                let kept = n.new_lease_state & held.state.bits;
                held.state.bits = kept;
                held.state.epoch = n.new_epoch;
                tracing::debug!(new_state = kept, epoch = n.new_epoch, "lease break");
                (n.flags & lease_break_flags::ACK_REQUIRED != 0).then(|| {
                    RequestBody::LeaseBreakAck(LeaseBreakAck {
                        lease_key: n.lease_key,
                        lease_state: kept,
                        ..Default::default()
                    })
                })
            }
            BreakNotification::Oplock(o) => {
                let had = held.state.oplock.unwrap_or(oplock_level::NONE);
                // Level II is the most a broken oplock keeps (MS-SMB2 3.2.5.19.1).
                let level = match o.oplock_level {
                    oplock_level::II if had != oplock_level::NONE => oplock_level::II,
                    _ => oplock_level::NONE,
                };
                held.state.oplock = Some(level);
                held.state.bits = LeaseState::bits_of_oplock(level);
                tracing::debug!(level, "oplock break");
                // Only a batch or exclusive oplock's break waits for an acknowledgment;
                // level II breaks to none without one (MS-SMB2 3.3.4.6).
                matches!(had, oplock_level::BATCH | oplock_level::EXCLUSIVE).then(|| {
                    RequestBody::OplockBreakAck(OplockBreak {
                        oplock_level: level,
                        file_id: o.file_id,
                    })
                })
            }
        };
        if let Some(body) = ack {
            let (tree, session) = (held.tree.0, held.session);
            self.waiting.push_back(Group {
                op: None,
                session,
                items: vec![Outgoing::own(tree, body)],
            });
        }
        true
    }
}
