//! The connection state machine, by concern: `mod.rs` holds the [`Connection`] and its
//! public API (the calls a driver makes, in the order the type's documentation gives);
//! `negotiate` the NEGOTIATE, `session` keys, signatures and decryption, `send` credits,
//! message ids, framing, signing and encryption of what goes out (the one place a
//! request is built), `receive` matching what comes in to what was sent, `schedule` which
//! operation runs when and where its results go (trees included), and `context` the
//! [`Operation`] model and the narrow [`OpContext`] operations act through.

mod channel;
mod context;
pub mod framing;
mod negotiate;
mod reauth;
mod receive;
mod schedule;
mod send;
mod session;
mod smb1;

use crate::idmap::IdMap;
pub use channel::ChannelSeed;
pub use negotiate::Negotiated;
use negotiate::BEFORE_NEGOTIATE;
use schedule::{Running, ShareTree};
use send::{Group, Outgoing};
use session::Session;
pub use session::SessionSlot;
pub(crate) use session::TreeState;
pub use smb1::Smb1Negotiated;
pub(crate) use smb1::CLIENT_CAPABILITIES as SMB1_CLIENT_CAPABILITIES;
pub(crate) use smb1::PID as SMB1_PID;

use context::ErasedOp;
pub use context::{
    BoxedOp, BreakKey, ChildId, Fail, HeaderFields, OpContext, OpHandle, OpOutput, Operation,
    Progress, RequestOptions, Response,
};

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::config::{Config, Dialect};
use crate::crypto::encryption::{self, Cipher};
use crate::crypto::kdf::{self, SessionKeys};
use crate::crypto::preauth::PreauthHash;
use crate::crypto::signing::{self, SigningAlgorithm};
use crate::error::{
    CloseReason, EncryptionFailure, Error, NegotiateFailure, TrailEntry, Violation,
};
use crate::ntstatus::NtStatus;
use crate::ops::TreeId;
use crate::rng::Rng;
use crate::wire::header::{flags, Command, Header};
use crate::wire::ioctl::ValidateNegotiateInfoRequest;
use crate::wire::negotiate::{NegotiateRequest, NegotiateResponse};
use crate::wire::oplock_break::BreakNotification;
use crate::wire::request::{credit_charge, RequestBody};
use crate::wire::transform;
use framing::{Frame, Transport};

/// What login settled for one session ([`Connection::session_info`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionInfo {
    /// The server's SessionId.
    pub id: u64,
    /// Whether the server made it a guest (or anonymous) session.
    pub is_guest: bool,
    /// Whether its requests are signed.
    pub is_signing: bool,
    /// Whether its requests are encrypted.
    pub is_encrypting: bool,
    /// Whether it logged in with Kerberos (else NTLM, or anonymously).
    pub is_kerberos: bool,
}

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
        /// Which file of a many-file operation ([`RetrieveFiles`](crate::ops::RetrieveFiles));
        /// 0 for an operation on one file.
        file: usize,
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
        /// Which file of a many-file operation ([`StoreFiles`](crate::ops::StoreFiles));
        /// 0 for an operation on one file. Supply it with the same `file`.
        file: usize,
        /// Most bytes it can take now.
        max_len: usize,
    },
    /// How far a transfer that asked for progress reports has come (pysmb's
    /// `show_progress`): after each READ delivered or WRITE acknowledged.
    Progress {
        /// Which operation.
        id: OpId,
        /// Which file of a many-file operation (0 otherwise).
        file: usize,
        /// Bytes moved so far.
        done: u64,
        /// Bytes to move in all, when known (a download's size at open).
        total: Option<u64>,
    },
    /// One file of a many-file operation finished: whatever the driver holds for it (a
    /// local file being written or read) can be closed. The operation goes on with the
    /// others; its output has every file's result again.
    FileDone {
        /// Which operation.
        id: OpId,
        /// Which file.
        file: usize,
        /// The bytes moved, or why the file failed.
        result: Result<u64, Error>,
    },
    /// A paged listing ([`ListDirPaged`](crate::ops::ListDirPaged)) delivered the entries of one QUERY_DIRECTORY
    /// response; it asks the server for more only after [`Connection::supply`].
    Entries {
        /// Which operation.
        id: OpId,
        /// The entries, without `.` and `..`; never empty.
        entries: Vec<crate::ops::FileInfo>,
    },
    /// A watched directory changed ([`Watch`](crate::ops::Watch)); the next change
    /// notification goes out after [`Connection::supply`]. The first event of a watch
    /// may have no changes: the server now holds the watch, and wants no `supply`.
    Changes {
        /// Which operation.
        id: OpId,
        /// The changes, in the server's order.
        changes: Vec<crate::ops::Change>,
    },
    /// The server broke an oplock or lease that no operation claimed
    /// ([`OpContext::own_breaks`]) and no open holds (the core acknowledges breaks of
    /// the leases and oplocks it holds itself, [`crate::ops::lease`]).
    Break(BreakNotification),
    /// The connection ended; every pending operation has already failed with this reason.
    Closed(CloseReason),
    /// A Kerberos login ([`crate::ops::Login::kerberos`]) needs a KDC: carry
    /// `request.message` to `request.kdc` over `request.transport` within
    /// `request.timeout` (the framing and limits are in [`crate::auth::kerberos::kdc`]),
    /// and hand the answer, or why there is none, to [`Connection::kdc_reply`]. The
    /// core chooses every attempt (which KDC, UDP or TCP, retries); the driver only moves
    /// the bytes. Served by the driver, not the operation's caller, so [`Event::op`] is
    /// `None` for it.
    Kdc {
        /// The login that asked; give it back to [`Connection::kdc_reply`].
        id: OpId,
        /// The attempt to make.
        request: crate::auth::kerberos::KdcRequest,
    },
}

impl Event {
    /// The operation the event belongs to; `None` for a break no operation claimed and
    /// for the connection's end.
    pub fn op(&self) -> Option<OpId> {
        match self {
            Event::Done { id, .. }
            | Event::Data { id, .. }
            | Event::WantData { id, .. }
            | Event::Progress { id, .. }
            | Event::FileDone { id, .. }
            | Event::Entries { id, .. }
            | Event::Changes { id, .. } => Some(*id),
            Event::Break(_) | Event::Closed(_) | Event::Kdc { .. } => None,
        }
    }
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
    /// What undoes the request should it succeed after its operation is gone: the
    /// UNLOCK of a LOCK that was cancelled while it waited.
    undo: Option<RequestBody>,
    /// The session it was sent in.
    session: SessionSlot,
    /// Credits its CreditRequest asked for that no answer has granted yet.
    credits_asked: u16,
    /// The key of its group in [`Core::sent`], when the group is kept to go out again.
    group: Option<u64>,
    /// For an SMB1 request, what its response is checked against.
    smb1: Option<smb1::Smb1Pending>,
}

/// A request group kept until every request in it is answered ([`Core::sent`]).
struct Sent {
    group: Group,
    unanswered: usize,
    /// How many answers said the session expired.
    expired: usize,
}

/// Re-authentications in a row, with no request of the session succeeding between them,
/// before a session whose server keeps saying "expired" fails its requests instead.
const MAX_REAUTHS: u32 = 3;

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
    /// The connection's sessions, the default one first; never empty.
    pub(crate) sessions: Vec<Session>,
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
    /// When the last frame came from the server (or the connection started): the
    /// keep-alive counts from it.
    last_heard: Instant,
    /// Whether the server has sent any byte at all ([`Connection::handle_input`]).
    heard_any: bool,
    /// A keep-alive ECHO is queued or in flight, and nothing was heard since.
    keep_alive_out: bool,
    next_op: u64,
    /// Which operation a break for an open or a lease goes to.
    break_owners: HashMap<BreakKey, OpId>,
    /// The leases and oplocks the core holds for open files, by what their breaks name
    /// ([`crate::ops::lease`]).
    pub(crate) leases: HashMap<BreakKey, crate::ops::lease::HeldLease>,
    /// The durable opens granted, by file id: what reclaims them after a reconnect.
    pub(crate) durables: HashMap<crate::wire::create::FileId, crate::ops::DurableOpen>,
    /// Which operation a supply for (top-level operation, file) goes to: the one that
    /// last asked for data or reported some there (a child, in a many-file operation).
    streams: IdMap<(OpId, usize), OpId>,
    /// Each running operation's last requests and responses, for its error's trail.
    trails: IdMap<OpId, VecDeque<TrailEntry>>,
    /// When top-level operations that have one must be done ([`Connection::set_deadline`]).
    op_deadlines: BTreeMap<OpId, Instant>,
    /// Credits asked for by requests in flight and not granted yet: with `credits`, what
    /// the client holds once every answer is in. Counting them, rather than the requests
    /// in flight, makes each CreditRequest depend only on what was sent before it, not
    /// on how many answers happened to arrive first, so every driver sends the same
    /// bytes for the same calls (and a recorded session replays on any of them).
    pub(crate) credits_asked: u32,
    /// A replay's recorded NTLM responses, one per login, in order ([`crate::replay`]).
    pub(crate) replay_logins: VecDeque<crate::auth::ntlm::RecordedResponses>,
    /// Where a replay learns whether requests wait for responses.
    replay_awaiting: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Request groups kept until answered, by their first message id (see `transmit`).
    sent: IdMap<u64, Sent>,
    /// For a connection joining another's session as a channel, what the session's first
    /// connection negotiated: this one must settle the same ([`channel`]).
    channel_of: Option<Negotiated>,
    /// The SMB1 multi-protocol NEGOTIATE is out and unanswered: an SMB2 answer may
    /// then say 0x02FF ([`smb1`]).
    smb1_negprot: bool,
    /// The connection's SMB1 state, once it negotiated NT LM 0.12.
    smb1: Option<smb1::Smb1State>,
    /// The SPNEGO mechanisms (OIDs) the server's NEGOTIATE response lists; empty when it
    /// lists none.
    pub(crate) server_mechs: Vec<Vec<u8>>,
}

impl Core {
    /// Whether this connection replays a recording ([`crate::replay::Replay`]).
    pub(crate) fn is_replaying(&self) -> bool {
        self.replay_awaiting.is_some()
    }
}

/// Requests and responses an operation's trail keeps (the last ones).
const TRAIL_LEN: usize = 24;

/// A sans-IO SMB2/3 client connection (SMB1 too, when [`Config::min_dialect`] is
/// [`Dialect::Nt1`]: see [`crate::wire::smb1`]).
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
    ops: IdMap<OpId, Running>,
    /// Operations not started yet, in the order they came: they wait for negotiation
    /// (their first requests depend on it) and for their share's tree.
    unstarted: Vec<(OpId, Running)>,
    /// Every share's tree in each session (by lower-cased name), connected once and
    /// shared by the operations on it.
    shares: HashMap<(SessionSlot, String), ShareTree>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.core.state)
            .field("negotiated", &self.core.negotiated)
            .field("sessions", &self.core.sessions)
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
        let drawn = rng.array::<16>();
        let client_guid = config.client_guid.unwrap_or(drawn);
        let mut core = Core {
            state: State::Negotiating,
            negotiated: None,
            negotiate_request: Vec::new(),
            preauth: PreauthHash::new(),
            client_guid,
            sessions: vec![Session::new(PreauthHash::new())],
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
            last_heard: now,
            heard_any: false,
            keep_alive_out: false,
            next_op: 1,
            break_owners: HashMap::new(),
            leases: HashMap::new(),
            durables: HashMap::new(),
            streams: IdMap::default(),
            trails: IdMap::default(),
            op_deadlines: BTreeMap::new(),
            credits_asked: 0,
            replay_logins: VecDeque::new(),
            replay_awaiting: None,
            sent: IdMap::default(),
            channel_of: None,
            smb1_negprot: false,
            smb1: None,
            server_mechs: Vec::new(),
            rng,
            config,
        };
        if let Transport::NetBios { called, calling } = &core.config.transport {
            framing::put_session_request(&mut core.tx, called, calling);
            core.state = State::NetBiosRequest;
        }
        core.send_first_negotiate();
        Connection {
            core,
            ops: IdMap::default(),
            unstarted: Vec::new(),
            shares: HashMap::new(),
        }
    }

    // ---- getters ----

    /// Negotiated parameters, once the NEGOTIATE response arrived.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.core.negotiated.as_ref()
    }

    /// Whether the default session is established.
    pub fn is_logged_in(&self) -> bool {
        self.is_logged_in_at(SessionSlot::DEFAULT)
    }

    /// Whether session `slot` is established.
    pub fn is_logged_in_at(&self, slot: SessionSlot) -> bool {
        self.core
            .sessions
            .get(slot.0)
            .is_some_and(|s| s.established)
    }

    /// Whether the default session is a guest session.
    pub fn is_guest(&self) -> bool {
        self.core.sessions[0].is_guest
    }

    /// Whether requests of the default session are signed.
    pub fn is_signing(&self) -> bool {
        self.core.sessions[0].signing_active
    }

    /// Whether requests of the default session are encrypted.
    pub fn is_encrypting(&self) -> bool {
        self.core.sessions[0].encrypt_all
    }

    /// Whether requests on `tree` of the default session are encrypted (the session's
    /// or the share's demand).
    pub fn tree_encrypts(&self, tree: TreeId) -> bool {
        self.core.sessions[0].tree_encrypts(tree.0)
    }

    /// The tree of `share` in the default session, once an operation on it connected it.
    pub fn share_tree(&self, share: &str) -> Option<TreeId> {
        match self
            .shares
            .get(&(SessionSlot::DEFAULT, share.to_lowercase()))
        {
            Some(ShareTree::Connected(t)) => Some(*t),
            _ => None,
        }
    }

    /// What login settled for session `slot`, once it is established.
    pub fn session_info(&self, slot: SessionSlot) -> Option<SessionInfo> {
        let s = self.core.sessions.get(slot.0).filter(|s| s.established)?;
        Some(SessionInfo {
            id: s.id,
            is_guest: s.is_guest,
            is_signing: s.signing_active,
            is_encrypting: s.encrypt_all,
            is_kerberos: s.kerberos,
        })
    }

    /// The sessions this connection holds (the default one included).
    pub fn sessions(&self) -> usize {
        self.core.sessions.len()
    }

    /// Why the connection ended, if it did.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.core.close_reason.as_ref()
    }

    /// Credits currently available for new requests.
    pub fn credits(&self) -> u32 {
        self.core.credits
    }

    /// The lease or oplock state the core holds for open `file_id`
    /// ([`crate::ops::lease`]); `None` when it holds none.
    pub fn lease_state(
        &self,
        file_id: crate::wire::create::FileId,
    ) -> Option<crate::ops::LeaseState> {
        self.core
            .leases
            .values()
            .find(|l| l.file_id == file_id)
            .map(|l| l.state)
    }

    /// The ClientGuid this connection negotiates with: what a connection reclaiming its
    /// durable opens presents again ([`Config::client_guid`]).
    pub fn client_guid(&self) -> [u8; 16] {
        self.core.client_guid
    }

    /// The credentials session `slot` logged in with (kept to log in again when the
    /// server says it expired); `None` before its login or for an anonymous one. A
    /// driver logs a spread call's extra connections in with them
    /// ([`ConnectOptions::connections`](crate::client::ConnectOptions::connections)),
    /// so that a password callback is asked once. They never print.
    pub fn session_credentials(
        &self,
        slot: SessionSlot,
    ) -> Option<&crate::auth::ntlm::Credentials> {
        self.core.sessions.get(slot.0)?.credentials.as_ref()
    }

    /// The durable opens the server granted on this connection and that are not closed:
    /// what [`Reclaim`](crate::ops::Reclaim) takes back on a new connection after this
    /// one is lost.
    pub fn durable_opens(&self) -> Vec<crate::ops::DurableOpen> {
        self.core.durables.values().cloned().collect()
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.core.pending.len()
    }

    // ---- input ----

    /// Consumes complete frames from `buf`; an incomplete frame stays for the next call.
    pub fn handle_input(&mut self, now: Instant, buf: &mut BytesMut) {
        self.core.now = now;
        self.core.heard_any |= !buf.is_empty();
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

    /// Tells the connection the transport is gone (a socket error, or EOF when the
    /// driver does not tell it apart with [`Connection::handle_transport_eof`]).
    pub fn handle_transport_closed(&mut self, reason: &str) {
        self.close(CloseReason::Transport(reason.to_string()));
    }

    /// Tells the connection the server closed the stream (a read returned no bytes).
    /// Before any answer to the NEGOTIATE that is how a server that speaks only SMB1
    /// refuses an SMB2 NEGOTIATE: the connection then ends with
    /// [`NegotiateFailure::ClosedDuringNegotiate`], whose message names the option that
    /// turns SMB1 on; otherwise as [`Connection::handle_transport_closed`].
    pub fn handle_transport_eof(&mut self) {
        let detail = "server closed the connection";
        // Closed before a byte came back: a server that will not speak this protocol (an
        // SMB1-only Samba drops an SMB2 NEGOTIATE unanswered). Part of an answer and then
        // nothing is a connection lost like any other.
        let unanswered = self.core.state == State::Negotiating
            && self.core.negotiated.is_none()
            && !self.core.heard_any
            && self
                .core
                .pending
                .values()
                .any(|p| p.command == Command::Negotiate);
        if unanswered {
            self.close(CloseReason::Negotiate(
                NegotiateFailure::ClosedDuringNegotiate {
                    smb1_enabled: self.core.config.min_dialect.is_smb1(),
                    detail: detail.to_string(),
                },
            ));
            return;
        }
        self.handle_transport_closed(detail);
    }

    /// Fails operations whose requests went unanswered past their deadline, and those
    /// past their own ([`Connection::set_deadline`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.core.now = now;
        if self.keep_alive_due().is_some_and(|due| due <= now) {
            tracing::debug!("keep-alive: nothing heard for the interval, sending ECHO");
            self.core.keep_alive_out = true;
            let echo = self.core.echo_body();
            self.core.waiting.push_back(send::Group::own(echo));
            self.core.flush_waiting();
        }
        let late: Vec<OpId> = self
            .core
            .op_deadlines
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            self.core.op_deadlines.remove(&id);
            let label = self
                .ops
                .get(&id)
                .or_else(|| {
                    self.unstarted
                        .iter()
                        .find(|(u, _)| *u == id)
                        .map(|(_, r)| r)
                })
                .map(|r| r.op.label());
            if let Some((name, path)) = label {
                let error = Error::Timeout {
                    op: name,
                    path: path.to_string(),
                };
                self.end_early(id, error);
            }
        }
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
                if p.command == Command::Echo && p.op.is_none() {
                    // The connection's own ECHO (a keep-alive, or a probe for credits).
                    self.close(CloseReason::KeepAliveTimeout);
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

    /// Makes room for another session on this connection (the server allows several,
    /// each with its own user, keys and trees): run a [`Login`](crate::ops::Login) in it
    /// with [`Connection::start_in`], then any operation.
    pub fn add_session(&mut self) -> SessionSlot {
        // Each session's preauth hash starts from the connection's after NEGOTIATE (MS-SMB2
        // 3.2.5.3.1); one added before negotiation is given it then.
        self.core
            .sessions
            .push(Session::new(self.core.preauth.clone()));
        SessionSlot(self.core.sessions.len() - 1)
    }

    /// Starts an operation in the default session. Its requests queue until
    /// negotiation, its share's tree and credits allow; its events carry the handle's
    /// [`id`](OpHandle::id).
    pub fn start<O: Operation>(&mut self, op: O, now: Instant) -> OpHandle<O::Output> {
        self.start_in(SessionSlot::DEFAULT, op, now)
    }

    /// Starts an operation in session `slot` (from [`Connection::add_session`]).
    pub fn start_in<O: Operation>(
        &mut self,
        slot: SessionSlot,
        op: O,
        now: Instant,
    ) -> OpHandle<O::Output> {
        OpHandle::new(self.start_boxed_in(slot, BoxedOp::new(op), now))
    }

    /// Starts an operation whose output type the caller does not know here (a driver's
    /// connection task); [`OpHandle::output`] or [`OpOutput::downcast`] types its result.
    pub fn start_boxed(&mut self, op: BoxedOp, now: Instant) -> OpId {
        self.start_boxed_in(SessionSlot::DEFAULT, op, now)
    }

    /// [`Connection::start_boxed`] in session `slot`; a slot this connection did not
    /// hand out fails the operation.
    pub fn start_boxed_in(&mut self, slot: SessionSlot, op: BoxedOp, now: Instant) -> OpId {
        self.core.now = now;
        let id = self.core.next_op_id();
        if let Some(reason) = self.core.close_reason.clone() {
            self.core.events.push_back(Event::Done {
                id,
                result: Err(Error::Closed(reason)),
            });
            return id;
        }
        let checked = match slot.0 < self.core.sessions.len() {
            true => op.0.check(),
            false => Err(Error::Invalid(format!(
                "no session {slot:?} on this connection"
            ))),
        };
        if let Err(e) = checked {
            self.core
                .events
                .push_back(Event::Done { id, result: Err(e) });
            return id;
        }
        let mut running = Running::new(op.0, id, None);
        running.session = slot;
        self.unstarted.push((id, running));
        self.settle();
        id
    }

    /// Gives a streaming write the bytes it asked for with [`Event::WantData`] (for the
    /// `file` that event named), acknowledges an [`Event::Data`] of a paced read, or asks a
    /// paged listing for its next page after [`Event::Entries`] (`data` is then ignored).
    pub fn supply(&mut self, id: OpId, file: usize, data: Bytes, now: Instant) {
        self.core.now = now;
        // The operation that asked; none when it ended meanwhile (a failed file's
        // upload), and then the bytes have nowhere to go.
        let Some(&target) = self.core.streams.get(&(id, file)) else {
            return;
        };
        if let Some(running) = self.ops.remove(&target) {
            self.step(target, running, |op, cx| op.on_supply(cx, data));
            self.settle();
        }
    }

    /// Hands a Kerberos login the answer to its [`Event::Kdc`]: the KDC's reply (one
    /// message, without the TCP length), or why the attempt brought none. `wall` is the
    /// wall-clock time now (Kerberos checks tickets and makes authenticators with it);
    /// `now` the driver's monotonic clock as elsewhere. An answer for an operation that
    /// has ended meanwhile is dropped.
    pub fn kdc_reply(
        &mut self,
        id: OpId,
        reply: Result<Vec<u8>, crate::auth::kerberos::KdcIoError>,
        wall: std::time::SystemTime,
        now: Instant,
    ) {
        self.core.now = now;
        if let Some(running) = self.ops.remove(&id) {
            self.step(id, running, |op, cx| op.on_kdc(cx, reply, wall));
            self.settle();
        }
    }

    /// Gives top-level operation `id` a deadline: if it has not finished by then, it is
    /// cancelled (SMB2 CANCEL for its requests, CLOSE for what it holds) and fails with
    /// [`Error::Timeout`] — the whole operation, however many requests it takes (a
    /// transfer, a listing), unlike the configured per-request timeout.
    pub fn set_deadline(&mut self, id: OpId, deadline: Instant) {
        if self.ops.contains_key(&id) || self.unstarted.iter().any(|(u, _)| *u == id) {
            self.core.op_deadlines.insert(id, deadline);
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
        if out.is_empty() {
            // The buffers trade places instead of copying (all of an encrypted WRITE's
            // data is in `tx`); `out`'s capacity serves the next frames.
            std::mem::swap(out, &mut self.core.tx);
        } else {
            out.append(&mut self.core.tx);
        }
        true
    }

    /// How many bytes [`Connection::poll_transmit_vectored`] would hand out now, not
    /// counting the WRITE payloads it hands out separately: what a driver that batches
    /// its writes checks to send before too much piles up.
    #[must_use]
    pub fn queued_len(&self) -> usize {
        self.core.tx.len()
    }

    /// The next event for the driver, `None` when there is nothing more.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        let ev = self.core.events.pop_front();
        if ev.is_none() {
            // Drained: the driver is about to wait. A replay needs to know whether
            // the client now waits for the server (see `Replay::awaiting_response`).
            if let Some(a) = &self.core.replay_awaiting {
                let awaiting = !self.core.pending.is_empty();
                a.store(awaiting, std::sync::atomic::Ordering::Release);
            }
        }
        ev
    }

    /// How many recorded logins a replay has left to send.
    #[cfg(test)]
    pub(crate) fn core_replay_logins(&self) -> usize {
        self.core.replay_logins.len()
    }

    /// Makes this connection replay a recording's logins ([`crate::replay::Replay`]).
    pub(crate) fn replay_with(
        &mut self,
        logins: Vec<crate::auth::ntlm::RecordedResponses>,
        awaiting: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        self.core.replay_logins = logins.into();
        self.core.replay_awaiting = Some(awaiting);
    }

    /// The earliest deadline at which [`Connection::handle_timeout`] must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let requests = self.core.pending.values().filter_map(|p| p.deadline);
        requests
            .chain(self.core.op_deadlines.values().copied())
            .chain(self.keep_alive_due())
            .min()
    }

    /// When the next keep-alive ECHO is due: [`Config::keep_alive`] after the last frame
    /// heard, on a negotiated connection with no keep-alive already out.
    fn keep_alive_due(&self) -> Option<Instant> {
        let interval = self.core.config.keep_alive?;
        if self.core.state != State::Ready || self.core.keep_alive_out {
            return None;
        }
        self.core.last_heard.checked_add(interval)
    }
}
