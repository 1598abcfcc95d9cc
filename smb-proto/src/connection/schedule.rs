//! Which operation runs when and where its results go: operations wait for negotiation
//! and for their share's tree (connected once, shared), run steps, start children and
//! hand results to their parent, their waiters or the driver; ended early, they are
//! cancelled on the wire and release what they hold.

use super::*;

/// An operation the connection runs: the operation, where its events and result go,
/// and the tree it works on.
pub(super) struct Running {
    pub(super) op: Box<dyn ErasedOp>,
    /// The top-level operation (itself, unless this is a child).
    pub(super) root: OpId,
    /// The operation that started this one as a child.
    pub(super) parent: Option<OpId>,
    /// Which file of a many-file operation this one works on (its streaming events say so).
    pub(super) file: usize,
    /// The session it runs in (its children too).
    pub(super) session: SessionSlot,
    pub(super) tree: TreeId,
    /// What the core started this operation for, if it did.
    pub(super) internal: Option<Internal>,
}

/// An operation the core started for its own ends, whose result the core takes.
#[derive(Clone)]
pub(super) enum Internal {
    /// A tree connect for the operations that need the share.
    Connects(ShareKey),
    /// A re-authentication of the session, for the requests that found it expired.
    Reauth(SessionSlot),
}

/// A share as the core keys its tree: the session, and the share's lower-cased name.
pub(super) type ShareKey = (SessionSlot, String);

impl Running {
    /// The key of the share this operation works on, if any.
    fn share_key(&self) -> Option<ShareKey> {
        self.op.share().map(|s| (self.session, s.to_lowercase()))
    }
}

/// A share's tree as the core holds it, by lower-cased share name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ShareTree {
    /// A TREE_CONNECT is on its way; operations on the share wait for it.
    Connecting,
    Connected(TreeId),
}

impl Running {
    pub(super) fn new(op: Box<dyn ErasedOp>, root: OpId, parent: Option<OpId>) -> Self {
        Running {
            op,
            root,
            parent,
            file: 0,
            session: SessionSlot::DEFAULT,
            tree: TreeId(0),
            internal: None,
        }
    }
}

impl Connection {
    /// Starts what can start, sends what credits allow and applies any fatal condition
    /// found while doing so.
    pub(super) fn settle(&mut self) {
        self.start_ready();
        self.core.flush_waiting();
        if let Some(reason) = self.core.fatal.take() {
            self.close(reason);
        }
    }

    /// Starts every unstarted operation whose turn has come: after negotiation, and once
    /// its share's tree is connected. The first operation on a share connects its tree.
    pub(super) fn start_ready(&mut self) {
        if self.core.negotiated.is_none() || self.core.state == State::Closed {
            return;
        }
        while let Some(i) = self.unstarted.iter().position(|(_, r)| {
            r.share_key()
                .is_none_or(|k| matches!(self.shares.get(&k), Some(ShareTree::Connected(_))))
        }) {
            let (id, mut running) = self.unstarted.remove(i);
            if let Some(key) = running.share_key() {
                if let Some(ShareTree::Connected(t)) = self.shares.get(&key) {
                    running.tree = *t;
                }
            }
            self.step(id, running, |op, cx| op.start(cx));
            if self.core.state == State::Closed {
                return;
            }
        }
        let missing: Vec<(SessionSlot, String)> = self
            .unstarted
            .iter()
            .filter_map(|(_, r)| r.op.share().map(|s| (r.session, s.to_string())))
            .filter(|(slot, s)| !self.shares.contains_key(&(*slot, s.to_lowercase())))
            .collect();
        for (slot, share) in missing {
            let key = (slot, share.to_lowercase());
            if self.shares.contains_key(&key) {
                continue;
            }
            self.shares.insert(key.clone(), ShareTree::Connecting);
            let id = self.core.next_op_id();
            let mut running = Running::new(Box::new(crate::ops::TreeConnect::new(share)), id, None);
            running.session = slot;
            running.internal = Some(Internal::Connects(key));
            self.step(id, running, |op, cx| op.start(cx));
        }
    }

    /// Runs one step of an operation and acts on its outcome; children it started are
    /// queued to start.
    pub(super) fn step(
        &mut self,
        id: OpId,
        mut running: Running,
        f: impl FnOnce(&mut dyn ErasedOp, &mut OpContext<'_>) -> Result<Progress<OpOutput>, Fail>,
    ) {
        let (name, path) = running.op.label();
        let _span = tracing::debug_span!("op", id = id.0, name, path).entered();
        let mut cx = OpContext {
            core: &mut self.core,
            id,
            root: running.root,
            file: running.file,
            session: running.session,
            tree: running.tree,
            spawned: Vec::new(),
            unsupported: false,
        };
        let mut r = f(running.op.as_mut(), &mut cx);
        if cx.unsupported {
            r = Err(Fail::Op(Error::Unsupported {
                op: name,
                dialect: "SMB1",
            }));
        }
        let spawned = std::mem::take(&mut cx.spawned);
        let (root, session) = (running.root, running.session);
        let pending = matches!(r, Ok(Progress::Pending));
        self.finish_step(id, running, r);
        if pending {
            for (child, file, op) in spawned {
                if let Err(e) = op.check() {
                    self.deliver(child, root, Some(id), None, Err(e));
                    continue;
                }
                let mut running = Running::new(op, root, Some(id));
                running.file = file;
                running.session = session;
                self.unstarted.push((child, running));
            }
        }
    }

    pub(super) fn finish_step(
        &mut self,
        id: OpId,
        running: Running,
        r: Result<Progress<OpOutput>, Fail>,
    ) {
        match r {
            Ok(Progress::Pending) => {
                self.ops.insert(id, running);
            }
            Ok(Progress::Done(out)) => {
                tracing::debug!(id = id.0, "operation done");
                self.core.abandon(id);
                self.end_children(id);
                self.deliver(id, running.root, running.parent, running.internal, Ok(out));
            }
            Err(Fail::Op(e)) => {
                tracing::debug!(id = id.0, error = %e, "operation failed");
                let e = e.with_trail(|| self.core.take_trail(id));
                let (root, parent, internal) =
                    (running.root, running.parent, running.internal.clone());
                self.discard(id, running);
                self.end_children(id);
                self.deliver(id, root, parent, internal, Err(e));
            }
            Err(Fail::Fatal(reason)) => {
                // Reported like every other operation's end when the connection closes.
                self.ops.insert(id, running);
                self.close(reason);
            }
        }
    }

    /// Hands a finished operation's result to whoever waits for it: its parent, the
    /// operations waiting for the tree it connected, or the driver.
    pub(super) fn deliver(
        &mut self,
        id: OpId,
        root: OpId,
        parent: Option<OpId>,
        internal: Option<Internal>,
        result: Result<OpOutput, Error>,
    ) {
        match internal {
            Some(Internal::Connects(key)) => return self.tree_connected(&key, result),
            Some(Internal::Reauth(slot)) => return self.reauthenticated(slot, result),
            None => {}
        }
        if let Some(parent_id) = parent {
            if let Some(p) = self.ops.remove(&parent_id) {
                self.step(parent_id, p, |op, cx| op.on_child(cx, ChildId(id), result));
            }
            return;
        }
        debug_assert_eq!(id, root);
        self.core.op_deadlines.remove(&id);
        self.core.events.push_back(Event::Done { id, result });
    }

    /// A tree connect the core started ended: the operations waiting for the share start,
    /// or fail with its error.
    pub(super) fn tree_connected(&mut self, key: &ShareKey, result: Result<OpOutput, Error>) {
        match result.and_then(OpOutput::downcast::<TreeId>) {
            Ok(tree) => {
                self.shares.insert(key.clone(), ShareTree::Connected(tree));
            }
            Err(e) => {
                self.shares.remove(key);
                let (failed, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.unstarted)
                    .into_iter()
                    .partition(|(_, r)| r.share_key().as_ref() == Some(key));
                self.unstarted = keep;
                for (id, r) in failed {
                    self.deliver(id, r.root, r.parent, None, Err(e.clone()));
                }
            }
        }
    }

    /// Ends the children of an operation that finished before them.
    pub(super) fn end_children(&mut self, parent: OpId) {
        let children: Vec<OpId> = self
            .ops
            .iter()
            .filter(|(_, r)| r.parent == Some(parent))
            .map(|(id, _)| *id)
            .collect();
        self.unstarted.retain(|(_, r)| r.parent != Some(parent));
        for child in children {
            if let Some(r) = self.ops.remove(&child) {
                self.cancel_requests(child);
                self.discard(child, r);
                self.end_children(child);
            }
        }
    }

    /// Sends CANCEL for an operation's requests still on the wire.
    pub(super) fn cancel_requests(&mut self, id: OpId) {
        let targets: Vec<(SessionSlot, u64, Option<u64>, bool)> = self
            .core
            .pending
            .iter()
            .filter(|(_, p)| p.op == Some(id))
            .map(|(m, p)| (p.session, *m, p.async_id, p.encrypted))
            .collect();
        for (slot, mid, async_id, encrypted) in targets {
            self.core.send_cancel(slot, mid, async_id, encrypted);
        }
    }

    /// Ends a top-level operation before its last response, with its children: CANCEL
    /// for their requests still on the wire, CLOSE for what they hold open, then its
    /// result. A tree connect the core started fails the operations waiting for it.
    pub(super) fn end_early(&mut self, root: OpId, error: Error) {
        if let Some(i) = self.unstarted.iter().position(|(id, _)| *id == root) {
            let (_, r) = self.unstarted.remove(i);
            self.deliver(root, r.root, r.parent, None, Err(error));
            return;
        }
        let Some(running) = self.ops.remove(&root) else {
            return;
        };
        self.cancel_requests(root);
        self.end_children(root);
        let (parent, internal) = (running.parent, running.internal.clone());
        self.discard(root, running);
        self.deliver(root, root, parent, internal, Err(error));
        self.settle();
    }

    /// Forgets an operation that ended early, sending what releases its handles.
    pub(super) fn discard(&mut self, id: OpId, mut running: Running) {
        self.core.abandon(id);
        for (tree, body) in running.op.cleanup() {
            let items = vec![Outgoing::own(tree.0, self.core.cleanup_body(body))];
            let session = running.session;
            self.core.waiting.push_back(Group {
                op: None,
                session,
                items,
            });
        }
    }

    pub(super) fn close(&mut self, reason: CloseReason) {
        if self.core.state == State::Closed {
            return;
        }
        self.core.state = State::Closed;
        tracing::info!(%reason, "connection closed");
        self.core.close_reason = Some(reason.clone());
        self.core.waiting.clear();
        self.core.pending.clear();
        self.core.sent.clear();
        self.core.op_deadlines.clear();
        self.core.credits_asked = 0;
        let mut ids: Vec<OpId> = self
            .ops
            .drain()
            .chain(self.unstarted.drain(..))
            .filter(|(_, r)| r.parent.is_none() && r.internal.is_none())
            .map(|(id, _)| id)
            .collect();
        ids.sort();
        for id in ids {
            self.core.events.push_back(Event::Done {
                id,
                result: Err(Error::Closed(reason.clone())),
            });
        }
        self.core.events.push_back(Event::Closed(reason));
    }
}

impl Core {
    /// Notes a request `op` sent or a response it got, for its trail.
    pub(super) fn record(&mut self, op: OpId, entry: TrailEntry) {
        let trail = self.trails.entry(op).or_default();
        if trail.len() == TRAIL_LEN {
            trail.pop_front();
        }
        trail.push_back(entry);
    }

    /// The trail of `op`, which leaves it.
    pub(super) fn take_trail(&mut self, op: OpId) -> Vec<TrailEntry> {
        self.trails.remove(&op).map(Vec::from).unwrap_or_default()
    }

    /// A fresh operation id (top-level operations and children share the sequence).
    pub(super) fn next_op_id(&mut self) -> OpId {
        let id = OpId(self.next_op);
        self.next_op += 1;
        id
    }

    /// Marks every request of `op` abandoned (late responses are still counted for
    /// credits and then dropped) and forgets the breaks and streams it owned.
    pub(super) fn abandon(&mut self, op: OpId) {
        self.break_owners.retain(|_, owner| *owner != op);
        self.streams.retain(|_, owner| *owner != op);
        self.trails.remove(&op);
        self.waiting.retain(|g| g.op != Some(op));
        for p in self.pending.values_mut() {
            if p.op == Some(op) {
                p.op = None;
            }
        }
    }
}
