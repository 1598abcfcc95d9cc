//! Session expiry (MS-SMB2 3.2.5.1.11): the requests a server answers with
//! STATUS_NETWORK_SESSION_EXPIRED wait while the core logs the session in again
//! (3.2.4.2.3.1: SESSION_SETUP on the session's own SessionId, with the credentials of its
//! first login; the keys stay that login's), then go out again with new message ids. The
//! operations that sent them never see the expiry; only a failed re-authentication
//! reaches them, as its error.

use super::schedule::Internal;
use super::*;

impl Connection {
    /// Takes the final answer, with `status`, to a request of the kept group `key` in
    /// session `slot`: `true` when the answer is not for the operation (its group waits
    /// for the session to be logged in again, or the operation already failed).
    pub(super) fn on_kept_answer(&mut self, key: u64, status: NtStatus, slot: SessionSlot) -> bool {
        let expired = status == NtStatus::NETWORK_SESSION_EXPIRED;
        if status == NtStatus::SUCCESS {
            self.core.sessions[slot.0].reauths_in_a_row = 0;
        }
        let Some(sent) = self.core.sent.get_mut(&key) else {
            return false;
        };
        sent.unanswered = sent.unanswered.saturating_sub(1);
        sent.expired += usize::from(expired);
        if sent.unanswered > 0 {
            return expired;
        }
        let Some(sent) = self.core.sent.remove(&key) else {
            return false;
        };
        match sent.expired {
            0 => false,
            n if n == sent.group.items.len() => {
                self.park(slot, sent.group);
                true
            }
            // Part of the group was carried out, so it cannot go out again whole: the
            // expiry reaches the operation (now, or with this answer).
            _ if expired => false,
            _ => {
                if let Some(op) = sent.group.op {
                    let label = self.ops.get(&op).map(|r| r.op.label());
                    let (name, path) = label.unwrap_or(("request", ""));
                    let e =
                        Error::failed(NtStatus::NETWORK_SESSION_EXPIRED, name, path.to_string());
                    self.end_early(op, e);
                }
                true
            }
        }
    }

    /// Holds `group` until session `slot` is logged in again, starting that login unless
    /// one runs.
    fn park(&mut self, slot: SessionSlot, group: Group) {
        let session = &mut self.core.sessions[slot.0];
        session.parked.push(group);
        if session.reauthenticating {
            return;
        }
        let credentials = session.credentials.clone();
        let Some(credentials) = credentials.filter(|_| session.reauths_in_a_row < MAX_REAUTHS)
        else {
            let e = Error::failed(NtStatus::NETWORK_SESSION_EXPIRED, "login", String::new());
            return self.reauthenticated(slot, Err(e));
        };
        session.reauthenticating = true;
        session.reauths_in_a_row += 1;
        tracing::info!(session_id = session.id, "session expired: logging in again");
        let id = self.core.next_op_id();
        let login = crate::ops::Login::again(credentials);
        let mut running = Running::new(Box::new(login), id, None);
        running.session = slot;
        running.internal = Some(Internal::Reauth(slot));
        self.step(id, running, |op, cx| op.start(cx));
    }

    /// A re-authentication of session `slot` ended: the groups that waited go out again,
    /// or their operations fail with its error.
    pub(super) fn reauthenticated(&mut self, slot: SessionSlot, result: Result<OpOutput, Error>) {
        let session = &mut self.core.sessions[slot.0];
        session.reauthenticating = false;
        let parked = std::mem::take(&mut session.parked);
        match result {
            Ok(_) => {
                tracing::info!(session_id = session.id, "session logged in again");
                for group in parked {
                    // An operation cancelled meanwhile wants nothing sent.
                    if group.op.is_some_and(|op| self.ops.contains_key(&op)) {
                        self.core.waiting.push_back(group);
                    }
                }
            }
            Err(e) => {
                for op in parked.into_iter().filter_map(|g| g.op) {
                    self.end_early(op, e.clone());
                }
            }
        }
    }
}
