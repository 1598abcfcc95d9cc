//! The connection state machine: negotiate, the session, trees, credits, message ids,
//! the pending-request table, signing and encryption, and the operations in flight.

mod context;
pub mod framing;

use context::ErasedOp;
pub use context::{
    BoxedOp, ChildId, Fail, OpContext, OpHandle, OpOutput, Operation, Progress, RequestOptions,
    Response,
};

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::config::{Config, Dialect};
use crate::crypto::encryption::{self, Cipher};
use crate::crypto::kdf::{self, SessionKeys};
use crate::crypto::preauth::PreauthHash;
use crate::crypto::signing::{self, SigningAlgorithm};
use crate::error::{CloseReason, Error};
use crate::ntstatus::NtStatus;
use crate::ops::TreeId;
use crate::rng::Rng;
use crate::wire::header::{flags, Command, Header, HEADER_LEN};
use crate::wire::ioctl::ValidateNegotiateInfoRequest;
use crate::wire::negotiate::{NegotiateRequest, NegotiateResponse};
use crate::wire::request::{credit_charge, RequestBody};
use crate::wire::transform;
use crate::wire::DecodeError;
use framing::{Frame, Transport};

/// Identifies an operation started with [`Connection::start`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u64);

/// Something the driver must act on, from [`Connection::poll_event`].
#[derive(Debug)]
pub enum Event {
    /// An operation finished.
    Done {
        /// Which operation.
        id: OpId,
        /// Its result: [`OpHandle::output`] gives it back typed.
        result: Result<OpOutput, Error>,
    },
    /// A streaming read delivered the next bytes of a file, in order.
    Data {
        /// Which operation.
        id: OpId,
        /// File offset of `data`.
        offset: u64,
        /// The bytes (a slice of the received frame).
        data: Bytes,
    },
    /// A streaming write wants the next `max_len` bytes through [`Connection::supply`].
    /// Supply exactly `max_len` bytes unless the input ends: a shorter (or empty) supply
    /// is the end of the input.
    WantData {
        /// Which operation.
        id: OpId,
        /// Most bytes it can take now.
        max_len: usize,
    },
    /// A paged listing ([`ListDirPaged`](crate::ops::ListDirPaged)) delivered the entries of one QUERY_DIRECTORY
    /// response; it asks the server for more only after [`Connection::supply`].
    Entries {
        /// Which operation.
        id: OpId,
        /// The entries, without `.` and `..`; never empty.
        entries: Vec<crate::ops::FileInfo>,
    },
    /// The server broke an oplock or lease; the payload is the raw notification.
    Break(Bytes),
    /// The connection ended; every pending operation has already failed with this reason.
    Closed(CloseReason),
}

/// WRITE data at least this large is sent from the caller's buffer, not copied.
const SEPARATE_PAYLOAD: usize = 16 * 1024;

/// Interim responses one request may receive. A server sends one (MS-SMB2 3.3.4.2);
/// one that keeps sending them is broken or hostile.
const MAX_INTERIMS: u32 = 8;

/// `now + timeout`, or no deadline when that is beyond what an `Instant` can hold: a
/// caller's huge timeout means "wait", never an overflow.
fn deadline_after(now: Instant, timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| now.checked_add(t))
}

/// The most conservative parameters, standing in where no negotiation happened yet.
static BEFORE_NEGOTIATE: Negotiated = Negotiated {
    dialect: Dialect::Smb202,
    security_mode: 0,
    capabilities: 0,
    server_guid: [0; 16],
    max_read_size: 65536,
    max_write_size: 65536,
    max_transact_size: 65536,
    validated: false,
    cipher: None,
    signing_algorithm: SigningAlgorithm::HmacSha256,
    large_mtu: false,
};

/// What negotiation settled.
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// The dialect in use.
    pub dialect: Dialect,
    /// Server SecurityMode (MS-SMB2 2.2.4).
    pub security_mode: u16,
    /// Server Capabilities.
    pub capabilities: u32,
    /// Server GUID.
    pub server_guid: [u8; 16],
    /// Largest READ the client will send (server limit ∩ config).
    pub max_read_size: u32,
    /// Largest WRITE the client will send.
    pub max_write_size: u32,
    /// Largest QUERY_INFO/QUERY_DIRECTORY/IOCTL output the server allows.
    pub max_transact_size: u32,
    /// Whether FSCTL_VALIDATE_NEGOTIATE_INFO confirmed this negotiation (3.0 and 3.0.2).
    pub validated: bool,
    /// The cipher, when the dialect can encrypt and one was agreed.
    pub cipher: Option<Cipher>,
    /// The signing algorithm.
    pub signing_algorithm: SigningAlgorithm,
    /// Whether multi-credit requests are allowed.
    pub large_mtu: bool,
}

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

/// A request waiting to go out.
struct Outgoing {
    tag: usize,
    tree_id: u32,
    body: RequestBody,
    related: bool,
    /// Sign even when the session does not sign everything.
    sign: bool,
    /// Whether the request's timeout applies.
    deadline: bool,
}

impl Outgoing {
    /// A request of the connection's own (negotiate, a credit probe, a cleanup CLOSE).
    fn own(tree_id: u32, body: RequestBody) -> Self {
        Outgoing {
            tag: 0,
            tree_id,
            body,
            related: false,
            sign: false,
            deadline: true,
        }
    }
}

/// Requests that go out together in one frame (a compound, or a single request).
struct Group {
    op: Option<OpId>,
    items: Vec<Outgoing>,
}

#[derive(Debug)]
struct Pending {
    /// `None` for the connection's own requests (negotiate) and abandoned ones.
    op: Option<OpId>,
    tag: usize,
    command: Command,
    async_id: Option<u64>,
    /// When the request fails with a timeout: set when it goes out, and not moved by
    /// interim responses, so a server that keeps answering STATUS_PENDING cannot hold
    /// an operation past its timeout.
    deadline: Option<Instant>,
    /// STATUS_PENDING answers received; more than [`MAX_INTERIMS`] ends the connection.
    interims: u32,
    /// The request went out encrypted, so its response must come back encrypted.
    encrypted: bool,
    /// Its tree, to close a handle that an abandoned CREATE opened.
    tree_id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the NBSS positive session response.
    NetBiosRequest,
    Negotiating,
    Ready,
    Closed,
}

/// The connection-wide state operations act on, everything but the operations themselves.
pub(crate) struct Core {
    pub(crate) config: Config,
    pub(crate) rng: Rng,
    state: State,
    pub(crate) negotiated: Option<Negotiated>,
    negotiate_request: Vec<u8>,
    preauth: PreauthHash,
    client_guid: [u8; 16],
    pub(crate) session: Session,
    pub(crate) trees: HashMap<u32, TreeState>,
    credits: u32,
    next_message_id: u64,
    waiting: VecDeque<Group>,
    // Ordered by message id: timeouts and cancels walk it, and their output order must
    // not depend on a hasher's random seed (a recorded session must replay).
    pending: BTreeMap<u64, Pending>,
    tx: Vec<u8>,
    /// Large WRITE payloads sent from the caller's buffer rather than copied into `tx`:
    /// each goes out right after `tx[..offset]`.
    tx_payloads: Vec<(usize, Bytes)>,
    events: VecDeque<Event>,
    now: Instant,
    close_reason: Option<CloseReason>,
    /// A fatal problem found where the connection cannot be closed directly.
    fatal: Option<CloseReason>,
    /// Consecutive ECHOs sent only to obtain credits.
    credit_probes: u8,
    next_op: u64,
}

/// An operation the connection runs: the operation, where its events and result go,
/// and the tree it works on.
struct Running {
    op: Box<dyn ErasedOp>,
    /// The top-level operation (itself, unless this is a child).
    root: OpId,
    /// The operation that started this one as a child.
    parent: Option<OpId>,
    tree: TreeId,
    /// The share key of a tree connect the core started for operations that need it.
    connects: Option<String>,
}

/// A share's tree as the core holds it, by lower-cased share name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShareTree {
    /// A TREE_CONNECT is on its way; operations on the share wait for it.
    Connecting,
    Connected(TreeId),
}

/// A sans-IO SMB2/3 client connection./// A sans-IO SMB2/3 client connection.
///
/// The driver owns the socket and the clock. The order of calls:
/// 1. [`Connection::new`] queues the NEGOTIATE (and the NetBIOS session request).
/// 2. After every `handle_*`, `start` or `supply`: write out [`Connection::poll_transmit`],
///    then drain [`Connection::poll_event`] until it returns `None`.
/// 3. Feed whatever the socket gave to [`Connection::handle_input`]; partial frames stay in
///    the buffer for the next call.
/// 4. Wake up at [`Connection::poll_timeout`] and call [`Connection::handle_timeout`];
///    spurious calls are harmless.
///
/// Operations can be started before negotiation completes; they queue.
pub struct Connection {
    core: Core,
    ops: HashMap<OpId, Running>,
    /// Operations not started yet, in the order they came: they wait for negotiation
    /// (their first requests depend on it) and for their share's tree.
    unstarted: Vec<(OpId, Running)>,
    /// Every share's tree, connected once and shared by the operations on it.
    shares: HashMap<String, ShareTree>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.core.state)
            .field("negotiated", &self.core.negotiated)
            .field("session", &self.core.session)
            .field("credits", &self.core.credits)
            .field("pending", &self.core.pending.len())
            .field("ops", &self.ops.len())
            .field("shares", &self.shares)
            .finish()
    }
}

impl Connection {
    /// A new connection; queues the NEGOTIATE request.
    pub fn new(config: Config, now: Instant) -> Self {
        let mut rng = Rng::from_seed(config.seed);
        let client_guid = rng.array::<16>();
        let mut core = Core {
            state: State::Negotiating,
            negotiated: None,
            negotiate_request: Vec::new(),
            preauth: PreauthHash::new(),
            client_guid,
            session: Session {
                id: 0,
                preauth: PreauthHash::new(),
                signing_key: None,
                keys: None,
                signing_active: false,
                encrypt_all: false,
                established: false,
                is_guest: false,
            },
            trees: HashMap::new(),
            credits: 1,
            next_message_id: 0,
            waiting: VecDeque::new(),
            pending: BTreeMap::new(),
            tx: Vec::new(),
            tx_payloads: Vec::new(),
            events: VecDeque::new(),
            now,
            close_reason: None,
            fatal: None,
            credit_probes: 0,
            next_op: 1,
            rng,
            config,
        };
        if let Transport::NetBios { called, calling } = &core.config.transport {
            framing::put_session_request(&mut core.tx, called, calling);
            core.state = State::NetBiosRequest;
        }
        core.send_negotiate();
        Connection {
            core,
            ops: HashMap::new(),
            unstarted: Vec::new(),
            shares: HashMap::new(),
        }
    }

    // ---- getters ----

    /// Negotiated parameters, once the NEGOTIATE response arrived.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.core.negotiated.as_ref()
    }

    /// Whether a session is established.
    pub fn is_logged_in(&self) -> bool {
        self.core.session.established
    }

    /// Whether the established session is a guest session.
    pub fn is_guest(&self) -> bool {
        self.core.session.is_guest
    }

    /// Whether requests of the session are signed.
    pub fn is_signing(&self) -> bool {
        self.core.session.signing_active
    }

    /// Whether requests of the session are encrypted.
    pub fn is_encrypting(&self) -> bool {
        self.core.session.encrypt_all
    }

    /// Whether requests on `tree` are encrypted (the session's or the share's demand).
    pub fn tree_encrypts(&self, tree: TreeId) -> bool {
        self.core.session.encrypt_all || self.core.trees.get(&tree.0).is_some_and(|t| t.encrypt)
    }

    /// The tree of `share`, once an operation on it connected it.
    pub fn share_tree(&self, share: &str) -> Option<TreeId> {
        match self.shares.get(&share.to_lowercase()) {
            Some(ShareTree::Connected(t)) => Some(*t),
            _ => None,
        }
    }

    /// Why the connection ended, if it did.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.core.close_reason.as_ref()
    }

    /// Credits currently available for new requests.
    pub fn credits(&self) -> u32 {
        self.core.credits
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.core.pending.len()
    }

    // ---- input ----

    /// Consumes complete frames from `buf`; an incomplete frame stays for the next call.
    pub fn handle_input(&mut self, now: Instant, buf: &mut BytesMut) {
        self.core.now = now;
        while self.core.state != State::Closed {
            match framing::decode_frame(buf, self.core.config.max_frame_len) {
                Ok(None) => break,
                Ok(Some(frame)) => {
                    if let Err(reason) = self.handle_frame(frame) {
                        self.close(reason);
                    }
                }
                Err(e) => self.close(CloseReason::Framing(e)),
            }
        }
        self.settle();
    }

    /// How many bytes the driver should try to read next: enough to finish the frame
    /// the buffer `rx` holds the start of. Reading exactly this avoids splitting a large
    /// READ response across buffers (and the copy that joining them costs).
    pub fn read_hint(&self, rx: &[u8]) -> usize {
        framing::bytes_to_complete(rx)
    }

    /// Tells the connection the transport is gone (EOF or socket error).
    pub fn handle_transport_closed(&mut self, reason: &str) {
        self.close(CloseReason::Transport(reason.to_string()));
    }

    /// Fails operations whose requests went unanswered past their deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.core.now = now;
        let expired: Vec<(u64, OpId)> = self
            .core
            .pending
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(mid, p)| (*mid, p.op.unwrap_or(OpId(0))))
            .collect();
        for (mid, op) in expired {
            if let Some(p) = self.core.pending.get_mut(&mid) {
                p.deadline = None;
                if p.command == Command::Negotiate {
                    self.close(CloseReason::NegotiateTimeout);
                    return;
                }
            }
            let Some(running) = self.ops.get(&op) else {
                continue;
            };
            let (name, path) = running.op.label();
            let error = Error::Timeout {
                op: name,
                path: path.to_string(),
            };
            let root = running.root;
            self.end_early(root, error);
        }
    }

    // ---- mutators ----

    /// Starts an operation. Its requests queue until negotiation, its share's tree and
    /// credits allow; its events carry the handle's [`id`](OpHandle::id).
    pub fn start<O: Operation>(&mut self, op: O, now: Instant) -> OpHandle<O::Output> {
        OpHandle::new(self.start_boxed(BoxedOp::new(op), now))
    }

    /// Starts an operation whose output type the caller does not know here (a driver's
    /// connection task); [`OpHandle::output`] or [`OpOutput::downcast`] types its result.
    pub fn start_boxed(&mut self, op: BoxedOp, now: Instant) -> OpId {
        self.core.now = now;
        let id = self.core.next_op_id();
        if let Some(reason) = self.core.close_reason.clone() {
            self.core.events.push_back(Event::Done {
                id,
                result: Err(Error::Closed(reason)),
            });
            return id;
        }
        if let Err(e) = op.0.check() {
            self.core
                .events
                .push_back(Event::Done { id, result: Err(e) });
            return id;
        }
        self.unstarted.push((id, Running::new(op.0, id, None)));
        self.settle();
        id
    }

    /// Gives a streaming write the bytes it asked for with [`Event::WantData`], or asks a
    /// paged listing for its next page after [`Event::Entries`] (`data` is then ignored).
    pub fn supply(&mut self, id: OpId, data: Bytes, now: Instant) {
        self.core.now = now;
        if let Some(running) = self.ops.remove(&id) {
            self.step(id, running, |op, cx| op.on_supply(cx, data));
            self.settle();
        }
    }

    /// Stops following an operation: its outstanding requests (and its children's) are
    /// cancelled on the wire and it completes with [`Error::Cancelled`].
    pub fn cancel(&mut self, id: OpId, now: Instant) {
        self.core.now = now;
        self.end_early(id, Error::Cancelled);
    }

    /// Ends the connection from the client side.
    pub fn close_local(&mut self) {
        self.close(CloseReason::Local);
    }

    // ---- output ----

    /// Appends every frame ready to send to `out`; returns whether anything was added.
    /// Write all of `out` to the socket in one call.
    #[must_use]
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        if self.core.tx.is_empty() {
            return false;
        }
        if self.core.tx_payloads.is_empty() && out.is_empty() {
            std::mem::swap(out, &mut self.core.tx);
            return true;
        }
        let mut at = 0;
        for (offset, payload) in self.core.tx_payloads.drain(..) {
            out.extend_from_slice(&self.core.tx[at..offset]);
            out.extend_from_slice(&payload);
            at = offset;
        }
        out.extend_from_slice(&self.core.tx[at..]);
        self.core.tx.clear();
        true
    }

    /// Like [`Connection::poll_transmit`], without copying large WRITE payloads: the bytes
    /// to send are `out` with each `(offset, payload)` of `payloads` inserted after
    /// `out[..offset]`, in order. Send them with one vectored write.
    #[must_use]
    pub fn poll_transmit_vectored(
        &mut self,
        out: &mut Vec<u8>,
        payloads: &mut Vec<(usize, Bytes)>,
    ) -> bool {
        if self.core.tx.is_empty() {
            return false;
        }
        let base = out.len();
        payloads.extend(self.core.tx_payloads.drain(..).map(|(o, p)| (o + base, p)));
        out.append(&mut self.core.tx);
        true
    }

    /// The next event for the driver, `None` when there is nothing more.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.core.events.pop_front()
    }

    /// The earliest deadline at which [`Connection::handle_timeout`] must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.pending.values().filter_map(|p| p.deadline).min()
    }

    // ---- internals ----

    /// Starts what can start, sends what credits allow and applies any fatal condition
    /// found while doing so.
    fn settle(&mut self) {
        self.start_ready();
        self.core.flush_waiting();
        if let Some(reason) = self.core.fatal.take() {
            self.close(reason);
        }
    }

    /// Starts every unstarted operation whose turn has come: after negotiation, and once
    /// its share's tree is connected. The first operation on a share connects its tree.
    fn start_ready(&mut self) {
        if self.core.negotiated.is_none() || self.core.state == State::Closed {
            return;
        }
        while let Some(i) = self.unstarted.iter().position(|(_, r)| {
            r.op.share().is_none_or(|s| {
                matches!(
                    self.shares.get(&s.to_lowercase()),
                    Some(ShareTree::Connected(_))
                )
            })
        }) {
            let (id, mut running) = self.unstarted.remove(i);
            if let Some(share) = running.op.share() {
                if let Some(ShareTree::Connected(t)) = self.shares.get(&share.to_lowercase()) {
                    running.tree = *t;
                }
            }
            self.step(id, running, |op, cx| op.start(cx));
            if self.core.state == State::Closed {
                return;
            }
        }
        let missing: Vec<String> = self
            .unstarted
            .iter()
            .filter_map(|(_, r)| r.op.share().map(str::to_string))
            .filter(|s| !self.shares.contains_key(&s.to_lowercase()))
            .collect();
        for share in missing {
            let key = share.to_lowercase();
            if self.shares.contains_key(&key) {
                continue;
            }
            self.shares.insert(key.clone(), ShareTree::Connecting);
            let id = self.core.next_op_id();
            let mut running = Running::new(Box::new(crate::ops::TreeConnect::new(share)), id, None);
            running.connects = Some(key);
            self.step(id, running, |op, cx| op.start(cx));
        }
    }

    /// Runs one step of an operation and acts on its outcome; children it started are
    /// queued to start.
    fn step(
        &mut self,
        id: OpId,
        mut running: Running,
        f: impl FnOnce(&mut dyn ErasedOp, &mut OpContext<'_>) -> Result<Progress<OpOutput>, Fail>,
    ) {
        let mut cx = OpContext {
            core: &mut self.core,
            id,
            root: running.root,
            tree: running.tree,
            spawned: Vec::new(),
        };
        let r = f(running.op.as_mut(), &mut cx);
        let spawned = std::mem::take(&mut cx.spawned);
        let root = running.root;
        let pending = matches!(r, Ok(Progress::Pending));
        self.finish_step(id, running, r);
        if pending {
            for (child, op) in spawned {
                if let Err(e) = op.check() {
                    self.deliver(child, root, Some(id), None, Err(e));
                    continue;
                }
                self.unstarted
                    .push((child, Running::new(op, root, Some(id))));
            }
        }
    }

    fn finish_step(&mut self, id: OpId, running: Running, r: Result<Progress<OpOutput>, Fail>) {
        match r {
            Ok(Progress::Pending) => {
                self.ops.insert(id, running);
            }
            Ok(Progress::Done(out)) => {
                self.core.abandon(id);
                self.end_children(id);
                self.deliver(id, running.root, running.parent, running.connects, Ok(out));
            }
            Err(Fail::Op(e)) => {
                let (root, parent, connects) =
                    (running.root, running.parent, running.connects.clone());
                self.discard(id, running);
                self.end_children(id);
                self.deliver(id, root, parent, connects, Err(e));
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
    fn deliver(
        &mut self,
        id: OpId,
        root: OpId,
        parent: Option<OpId>,
        connects: Option<String>,
        result: Result<OpOutput, Error>,
    ) {
        if let Some(key) = connects {
            self.tree_connected(&key, result);
            return;
        }
        if let Some(parent_id) = parent {
            if let Some(p) = self.ops.remove(&parent_id) {
                self.step(parent_id, p, |op, cx| op.on_child(cx, ChildId(id), result));
            }
            return;
        }
        debug_assert_eq!(id, root);
        self.core.events.push_back(Event::Done { id, result });
    }

    /// A tree connect the core started ended: the operations waiting for the share start,
    /// or fail with its error.
    fn tree_connected(&mut self, key: &str, result: Result<OpOutput, Error>) {
        match result.and_then(OpOutput::downcast::<TreeId>) {
            Ok(tree) => {
                self.shares
                    .insert(key.to_string(), ShareTree::Connected(tree));
            }
            Err(e) => {
                self.shares.remove(key);
                let (failed, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.unstarted)
                    .into_iter()
                    .partition(|(_, r)| r.op.share().is_some_and(|s| s.to_lowercase() == key));
                self.unstarted = keep;
                for (id, r) in failed {
                    self.deliver(id, r.root, r.parent, None, Err(e.clone()));
                }
            }
        }
    }

    /// Ends the children of an operation that finished before them.
    fn end_children(&mut self, parent: OpId) {
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
    fn cancel_requests(&mut self, id: OpId) {
        let targets: Vec<(u64, Option<u64>, bool)> = self
            .core
            .pending
            .iter()
            .filter(|(_, p)| p.op == Some(id))
            .map(|(m, p)| (*m, p.async_id, p.encrypted))
            .collect();
        for (mid, async_id, encrypted) in targets {
            self.core.send_cancel(mid, async_id, encrypted);
        }
    }

    /// Ends a top-level operation before its last response, with its children: CANCEL
    /// for their requests still on the wire, CLOSE for what they hold open, then its
    /// result. A tree connect the core started fails the operations waiting for it.
    fn end_early(&mut self, root: OpId, error: Error) {
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
        let (parent, connects) = (running.parent, running.connects.clone());
        self.discard(root, running);
        self.deliver(root, root, parent, connects, Err(error));
        self.settle();
    }

    /// Forgets an operation that ended early, sending what releases its handles.
    fn discard(&mut self, id: OpId, mut running: Running) {
        self.core.abandon(id);
        for (tree, body) in running.op.cleanup() {
            let items = vec![Outgoing::own(tree.0, body)];
            self.core.waiting.push_back(Group { op: None, items });
        }
    }

    fn close(&mut self, reason: CloseReason) {
        if self.core.state == State::Closed {
            return;
        }
        self.core.state = State::Closed;
        self.core.close_reason = Some(reason.clone());
        self.core.waiting.clear();
        self.core.pending.clear();
        let mut ids: Vec<OpId> = self
            .ops
            .drain()
            .chain(self.unstarted.drain(..))
            .filter(|(_, r)| r.parent.is_none() && r.connects.is_none())
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

    fn handle_frame(&mut self, frame: Frame) -> Result<(), CloseReason> {
        let data = match frame {
            Frame::KeepAlive => return Ok(()),
            Frame::SessionAccepted if self.core.state == State::NetBiosRequest => {
                self.core.state = State::Negotiating;
                return Ok(());
            }
            Frame::SessionRefused(code) => return Err(CloseReason::NetBiosRefused(code)),
            Frame::SessionAccepted => {
                return Err(CloseReason::Protocol(
                    "unexpected NetBIOS session response".into(),
                ))
            }
            Frame::Message(data) => data,
        };
        let (plain, encrypted) = if data.starts_with(&transform::PROTOCOL_ID) {
            (self.core.decrypt(data)?, true)
        } else {
            (data.freeze(), false)
        };
        let mut offset = 0usize;
        loop {
            let rest = plain.len() - offset;
            if rest < HEADER_LEN {
                return Err(CloseReason::Malformed(DecodeError::Truncated {
                    what: "smb2 message",
                    offset,
                    need: HEADER_LEN,
                    have: rest,
                }));
            }
            let header = Header::decode(&plain[offset..])?;
            let next = header.next_command as usize;
            let end = if next == 0 {
                plain.len()
            } else if next < HEADER_LEN || !next.is_multiple_of(8) || next >= rest {
                return Err(CloseReason::Malformed(DecodeError::invalid(
                    "next command",
                    next as u64,
                )));
            } else {
                offset + next
            };
            let msg = plain.slice(offset..end);
            self.handle_message(header, msg, encrypted)?;
            if next == 0 || self.core.state == State::Closed {
                return Ok(());
            }
            offset = end;
        }
    }

    fn handle_message(
        &mut self,
        header: Header,
        msg: Bytes,
        encrypted: bool,
    ) -> Result<(), CloseReason> {
        if !header.is_response() {
            return Err(CloseReason::Protocol("request received from server".into()));
        }
        let command = header.command()?;
        if command == Command::OplockBreak && header.message_id == u64::MAX {
            if self.core.session.encrypt_all && !encrypted {
                return Err(CloseReason::Encryption(
                    "unencrypted break on an encrypted session".into(),
                ));
            }
            self.core.verify(&header, &msg, encrypted)?;
            self.core.events.push_back(Event::Break(msg));
            return Ok(());
        }
        let status = NtStatus(header.status);
        self.core.credits = self.core.credits.saturating_add(u32::from(header.credits));
        let Some(mut pending) = self.core.pending.remove(&header.message_id) else {
            return Err(CloseReason::Protocol(format!(
                "response for unknown message id {}",
                header.message_id
            )));
        };
        if pending.encrypted && !encrypted {
            return Err(CloseReason::Encryption(format!(
                "unencrypted response to encrypted request (message id {})",
                header.message_id
            )));
        }
        if pending.command != command {
            return Err(CloseReason::Protocol(format!(
                "message id {} answered with command {:?}, sent {:?}",
                header.message_id, command, pending.command
            )));
        }
        if status == NtStatus::PENDING && header.is_async() {
            // Interim response (MS-SMB2 3.2.5.1.5): the final one follows; it is not
            // signed. The request keeps the deadline it was sent with: interims say the
            // server is working on it, not that it may take forever.
            pending.interims += 1;
            if pending.interims > MAX_INTERIMS {
                return Err(CloseReason::Protocol(format!(
                    "more than {MAX_INTERIMS} interim responses to message id {}",
                    header.message_id
                )));
            }
            pending.async_id = Some(header.async_id);
            self.core.pending.insert(header.message_id, pending);
            return Ok(());
        }
        if command == Command::Negotiate {
            return self.core.on_negotiate(&msg);
        }
        let final_session_setup = command == Command::SessionSetup && status == NtStatus::SUCCESS;
        if command == Command::SessionSetup {
            if self.core.session.id == 0 {
                self.core.session.id = header.session_id;
            }
            if status == NtStatus::MORE_PROCESSING_REQUIRED {
                self.core.session.preauth.update(&msg);
            }
        }
        // The final SESSION_SETUP response is signed with keys derived from it; the login
        // operation verifies it once it has them.
        if !final_session_setup {
            self.core.verify(&header, &msg, encrypted)?;
        }
        let Some(id) = pending.op else {
            // The operation is gone (cancelled, timed out, failed) but its CREATE went
            // through: close the handle nobody will use.
            if command == Command::Create && status == NtStatus::SUCCESS {
                let file_id = crate::wire::create::CreateResponse::decode(&msg)?.file_id;
                let body = RequestBody::Close(crate::wire::close::CloseRequest {
                    file_id,
                    ..Default::default()
                });
                let items = vec![Outgoing::own(pending.tree_id, body)];
                self.core.waiting.push_back(Group { op: None, items });
            }
            return Ok(());
        };
        let ok = status == NtStatus::SUCCESS;
        if status == NtStatus::NETWORK_NAME_DELETED || (command == Command::TreeDisconnect && ok) {
            // The tree is gone (the server dropped it, or we disconnected it): the next
            // operation on its share connects again.
            self.core.trees.remove(&header.tree_id);
            self.shares
                .retain(|_, t| *t != ShareTree::Connected(TreeId(header.tree_id)));
        }
        if command == Command::Logoff && ok {
            self.shares.clear();
        }
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

impl Running {
    fn new(op: Box<dyn ErasedOp>, root: OpId, parent: Option<OpId>) -> Self {
        Running {
            op,
            root,
            parent,
            tree: TreeId(0),
            connects: None,
        }
    }
}

impl Core {
    /// A fresh operation id (top-level operations and children share the sequence).
    fn next_op_id(&mut self) -> OpId {
        let id = OpId(self.next_op);
        self.next_op += 1;
        id
    }

    /// The dialects this client offers, oldest first.
    fn offered_dialects(&self) -> Vec<u16> {
        Dialect::ALL
            .into_iter()
            .filter(|d| *d >= self.config.min_dialect && *d <= self.config.max_dialect)
            .map(|d| d as u16)
            .collect()
    }

    /// Capabilities the client announces (MS-SMB2 2.2.3).
    fn client_capabilities(&self) -> u32 {
        use crate::wire::negotiate::capabilities::{DFS, ENCRYPTION, LARGE_MTU};
        DFS | LARGE_MTU | ENCRYPTION
    }

    fn client_security_mode(&self) -> u16 {
        use crate::wire::negotiate::security_mode::{SIGNING_ENABLED, SIGNING_REQUIRED};
        match self.config.signing {
            crate::config::SigningPolicy::Required => SIGNING_ENABLED | SIGNING_REQUIRED,
            _ => SIGNING_ENABLED,
        }
    }

    fn send_negotiate(&mut self) {
        let offers_311 = self.config.max_dialect >= Dialect::Smb311;
        let salt = self.rng.array::<32>();
        let (ciphers, signing_algorithms) = if offers_311 {
            (
                self.config.ciphers.iter().map(|c| c.id()).collect(),
                self.config
                    .signing_algorithms
                    .iter()
                    .map(|a| a.id())
                    .collect(),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let req = NegotiateRequest {
            dialects: self.offered_dialects(),
            security_mode: self.client_security_mode(),
            capabilities: self.client_capabilities(),
            client_guid: self.client_guid,
            preauth_salt: offers_311.then(|| salt.to_vec()),
            ciphers,
            signing_algorithms,
            netname: None,
        };
        let body = RequestBody::Negotiate(req);
        let items = vec![Outgoing::own(0, body)];
        self.transmit(Group { op: None, items });
    }

    /// FSCTL_VALIDATE_NEGOTIATE_INFO input (MS-SMB2 2.2.31.4): what this client sent in
    /// its NEGOTIATE, for the server to confirm over a signed channel.
    pub(crate) fn validate_negotiate_info(&self) -> ValidateNegotiateInfoRequest {
        ValidateNegotiateInfoRequest {
            capabilities: self.client_capabilities(),
            guid: self.client_guid,
            security_mode: self.client_security_mode(),
            dialects: self.offered_dialects(),
        }
    }

    fn on_negotiate(&mut self, msg: &Bytes) -> Result<(), CloseReason> {
        let header = Header::decode(msg)?;
        if NtStatus(header.status) != NtStatus::SUCCESS {
            return Err(CloseReason::Negotiate(format!(
                "server answered {}",
                NtStatus(header.status)
            )));
        }
        let resp = NegotiateResponse::decode(msg)?;
        let dialect = Dialect::from_u16(resp.dialect_revision)
            .filter(|d| *d >= self.config.min_dialect && *d <= self.config.max_dialect)
            .ok_or_else(|| {
                CloseReason::Negotiate(format!(
                    "server chose dialect {:#06x}",
                    resp.dialect_revision
                ))
            })?;
        let (cipher, signing_algorithm) = resp
            .algorithms(dialect)
            .map_err(|e| CloseReason::Negotiate(format!("server chose {e}")))?;
        // In 3.1.1 the server picks from what we offered; anything else is a tampered or
        // broken negotiation (MS-SMB2 3.2.5.2).
        if dialect == Dialect::Smb311 {
            if resp.preauth_hash_algorithm != Some(crate::wire::negotiate::hash_algorithm::SHA_512)
            {
                return Err(CloseReason::Negotiate(
                    "3.1.1 without SHA-512 preauth integrity".into(),
                ));
            }
            if let Some(c) = cipher.filter(|c| !self.config.ciphers.contains(c)) {
                return Err(CloseReason::Negotiate(format!(
                    "server chose cipher {c:?}, which was not offered"
                )));
            }
            let offered_signing = resp.signing_algorithm.is_none()
                || self.config.signing_algorithms.contains(&signing_algorithm);
            if !offered_signing {
                return Err(CloseReason::Negotiate(format!(
                    "server chose signing algorithm {signing_algorithm:?}, which was not offered"
                )));
            }
        }
        if dialect == Dialect::Smb311 {
            let req = std::mem::take(&mut self.negotiate_request);
            self.preauth.update(&req);
            self.preauth.update(msg);
        }
        let large_mtu = dialect > Dialect::Smb202
            && resp.capabilities & crate::wire::negotiate::capabilities::LARGE_MTU != 0;
        // The 24-bit frame length caps a frame below 16 MiB: keep READ/WRITE at 8 MiB.
        let io_cap = if large_mtu {
            self.config.max_io_size.min(8 * 1024 * 1024)
        } else {
            65536
        };
        self.negotiated = Some(Negotiated {
            dialect,
            security_mode: resp.security_mode,
            capabilities: resp.capabilities,
            server_guid: resp.server_guid,
            max_read_size: resp.max_read_size.min(io_cap),
            max_write_size: resp.max_write_size.min(io_cap),
            max_transact_size: resp.max_transact_size.min(io_cap.max(65536)),
            validated: false,
            cipher,
            signing_algorithm,
            large_mtu,
        });
        self.session.preauth = self.preauth.clone();
        self.state = State::Ready;
        Ok(())
    }

    /// Whether the server insists on signing (MS-SMB2 2.2.4 SecurityMode).
    pub(crate) fn server_requires_signing(&self) -> bool {
        self.negotiated.as_ref().is_some_and(|n| {
            n.security_mode & crate::wire::negotiate::security_mode::SIGNING_REQUIRED != 0
        })
    }

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
            .ok_or(Fail::Fatal(CloseReason::Protocol("no negotiate".into())))?;
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

    fn verify_signature(&self, header: &Header, msg: &[u8]) -> Result<(), CloseReason> {
        let (Some(key), Some(neg)) = (&self.session.signing_key, &self.negotiated) else {
            return Err(CloseReason::Protocol(
                "signed message before session keys".into(),
            ));
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
    fn verify(&self, header: &Header, msg: &[u8], encrypted: bool) -> Result<(), CloseReason> {
        if encrypted {
            return Ok(());
        }
        // Every response to this client belongs to its one session: another session id
        // would otherwise skip the checks below, a way around signing.
        if self.session.established && header.session_id != self.session.id {
            return Err(CloseReason::Protocol(format!(
                "response for session {:#x}, ours is {:#x}",
                header.session_id, self.session.id
            )));
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

    fn decrypt(&self, mut buf: BytesMut) -> Result<Bytes, CloseReason> {
        let (Some(keys), Some(neg)) = (&self.session.keys, &self.negotiated) else {
            return Err(CloseReason::Encryption(
                "encrypted message before session keys".into(),
            ));
        };
        let cipher = neg
            .cipher
            .ok_or_else(|| CloseReason::Encryption("no cipher negotiated".into()))?;
        let session_id = encryption::decrypt_in_place(cipher, &keys.decryption, &mut buf)?;
        if session_id != self.session.id {
            return Err(CloseReason::Encryption(format!(
                "encrypted message for unknown session {session_id:#x}"
            )));
        }
        Ok(buf.freeze())
    }

    /// Marks every request of `op` abandoned: late responses are still counted for
    /// credits and then dropped.
    fn abandon(&mut self, op: OpId) {
        self.waiting.retain(|g| g.op != Some(op));
        for p in self.pending.values_mut() {
            if p.op == Some(op) {
                p.op = None;
            }
        }
    }

    /// `encrypted`: the request being cancelled went out encrypted, so the CANCEL must too
    /// (a per-share encrypted tree, not only a session-wide one).
    fn send_cancel(&mut self, message_id: u64, async_id: Option<u64>, encrypted: bool) {
        // MS-SMB2 3.2.4.24: CANCEL reuses the target's message id and consumes no credit.
        let mut header = Header {
            command: Command::Cancel as u16,
            message_id,
            session_id: self.session.id,
            ..Default::default()
        };
        if let Some(a) = async_id {
            header.flags |= flags::ASYNC_COMMAND;
            header.async_id = a;
        }
        let encrypt = self.session.established && (self.session.encrypt_all || encrypted);
        let frame = self.begin_frame(encrypt);
        let start = self.tx.len();
        header.encode(&mut self.tx);
        RequestBody::Cancel(crate::wire::simple::CancelRequest).encode(&mut self.tx);
        if !encrypt && self.should_sign(Command::Cancel) {
            self.sign_range(start, &[]);
        }
        self.end_frame(frame, encrypt);
    }

    /// Sends waiting groups while negotiation and credits allow.
    fn flush_waiting(&mut self) {
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
    fn probe_for_credits(&mut self, charge: u32) {
        if self.credits == 0 || self.credit_probes >= 3 {
            self.fail_local(format!(
                "the server granted {} credits; the next request needs {charge}",
                self.credits
            ));
            return;
        }
        self.credit_probes += 1;
        let body = RequestBody::Echo(crate::wire::simple::EchoRequest);
        let items = vec![Outgoing::own(0, body)];
        self.transmit(Group { op: None, items });
    }

    fn charge_for(&self, body: &RequestBody) -> u16 {
        match &self.negotiated {
            Some(n) if n.large_mtu => credit_charge(body.credit_payload()),
            _ => 1,
        }
    }

    /// Assigns message ids, then encodes, signs or encrypts the group straight into the
    /// send buffer as one frame (a compound when it has several requests).
    fn transmit(&mut self, group: Group) {
        let encrypt = self.session.established
            && (self.session.encrypt_all
                || group
                    .items
                    .iter()
                    .any(|i| self.trees.get(&i.tree_id).is_some_and(|t| t.encrypt)));
        let timeout = deadline_after(self.now, self.config.request_timeout);
        let frame = self.begin_frame(encrypt);
        let n = group.items.len();
        for (i, item) in group.items.into_iter().enumerate() {
            let command = item.body.command();
            let charge = self.charge_for(&item.body).max(1);
            let message_id = self.next_message_id;
            self.next_message_id += u64::from(charge);
            self.credits = self.credits.saturating_sub(u32::from(charge));
            let mut header = Header {
                credit_charge: self.wire_credit_charge(charge),
                command: command as u16,
                credits: self.credit_request(charge),
                message_id,
                tree_id: item.tree_id,
                session_id: if command == Command::Negotiate {
                    0
                } else {
                    self.session.id
                },
                ..Default::default()
            };
            if item.related {
                header.flags |= flags::RELATED_OPERATIONS;
            }
            let start = self.tx.len();
            header.encode(&mut self.tx);
            // A large WRITE ending an unencrypted frame leaves its data where the caller
            // put it (see `poll_transmit_vectored`); encryption needs it in place anyway.
            let payload = match &item.body {
                RequestBody::Write(w)
                    if !encrypt && i + 1 == n && w.data.len() >= SEPARATE_PAYLOAD =>
                {
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
            match command {
                Command::Negotiate => self.negotiate_request = self.tx[start..].to_vec(),
                Command::SessionSetup => self.session.preauth.update(&self.tx[start..]),
                _ => {}
            }
            if !encrypt && (item.sign || self.should_sign(command)) {
                self.sign_range(start, payload.as_deref().unwrap_or_default());
            }
            if let Some(p) = payload {
                self.tx_payloads.push((self.tx.len(), p));
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
                },
            );
        }
        self.end_frame(frame, encrypt);
    }

    /// MS-SMB2 3.2.4.1.5: a 2.0.2 client sends CreditCharge 0.
    fn wire_credit_charge(&self, charge: u16) -> u16 {
        match &self.negotiated {
            Some(n) if n.dialect == Dialect::Smb202 => 0,
            _ => charge,
        }
    }

    /// CreditRequest: the charge back, plus enough to climb toward `credit_target`.
    fn credit_request(&self, charge: u16) -> u16 {
        let held = self.credits.saturating_add(self.pending.len() as u32);
        let want = u32::from(self.config.credit_target)
            .saturating_sub(held)
            .min(256);
        (u32::from(charge) + want).min(u32::from(u16::MAX)) as u16
    }

    /// Reserves the frame header (and the transform header) in the send buffer.
    fn begin_frame(&mut self, encrypt: bool) -> usize {
        let start = self.tx.len();
        let room = 4 + if encrypt {
            encryption::TRANSFORM_HEADER_LEN
        } else {
            0
        };
        self.tx.resize(start + room, 0);
        start
    }

    /// Encrypts the frame begun at `start` if asked, then writes its length.
    fn end_frame(&mut self, start: usize, encrypt: bool) {
        if encrypt {
            let (Some(keys), Some(cipher)) = (
                &self.session.keys,
                self.negotiated.as_ref().and_then(|n| n.cipher),
            ) else {
                self.fail_local("encryption without keys".into());
                return;
            };
            let mut nonce = [0u8; 16];
            self.rng.fill(&mut nonce[..cipher.nonce_len()]);
            let r = encryption::encrypt_in_place(
                cipher,
                &keys.encryption,
                &nonce[..cipher.nonce_len()],
                self.session.id,
                &mut self.tx[start + 4..],
            );
            if let Err(e) = r {
                self.fail_local(format!("encryption failed: {e}"));
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
    fn sign_range(&mut self, start: usize, payload: &[u8]) {
        let (Some(key), Some(neg)) = (&self.session.signing_key, &self.negotiated) else {
            return;
        };
        // Only a short message or a bad key length can fail; both would be our bug.
        let head = &mut self.tx[start..];
        if let Err(e) = signing::sign_parts(neg.signing_algorithm, key, head, payload) {
            self.fail_local(format!("signing failed: {e}"));
        }
    }

    fn fail_local(&mut self, msg: String) {
        self.fatal.get_or_insert(CloseReason::Protocol(msg));
    }

    fn should_sign(&self, command: Command) -> bool {
        if self.session.signing_key.is_none() || self.session.is_guest || !self.session.established
        {
            return false;
        }
        // Samba (and MS-SMB2 3.2.4.1.1 for 3.1.1) requires a signed TREE_CONNECT on 3.x
        // even when the session does not otherwise sign.
        self.session.signing_active
            || (command == Command::TreeConnect
                && self
                    .negotiated
                    .as_ref()
                    .is_some_and(|n| n.dialect.is_smb3()))
    }
}
