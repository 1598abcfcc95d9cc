//! The operation model: the [`Operation`] trait every operation implements, and the
//! narrow [`OpContext`] through which it acts on the connection.
//!
//! An operation is a state machine fed by responses. [`Operation::start`] sends its first
//! requests through the context; the core calls [`Operation::on_response`] with each
//! response (named by the tag the operation gave its request), until a step returns
//! [`Progress::Done`] with the operation's typed output. An operation can run another as
//! a child ([`OpContext::start_child`]) and is told its result in
//! [`Operation::on_child`]; an operation that names a share ([`Operation::share`]) starts
//! once the core has connected that share's tree, which it connects once and shares
//! between operations.
//!
//! The smallest operation, an ECHO, written out in full:
//!
//! ```
//! use smb_proto::ops::{Fail, OpContext, Operation, Progress, Response};
//! use smb_proto::wire::request::RequestBody;
//! use smb_proto::wire::simple::EchoRequest;
//! use smb_proto::NtStatus;
//!
//! struct Ping;
//!
//! impl Operation for Ping {
//!     type Output = ();
//!     fn label(&self) -> (&'static str, &str) {
//!         ("ping", "")
//!     }
//!     fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<()>, Fail> {
//!         cx.send(0, RequestBody::Echo(EchoRequest));
//!         Ok(Progress::Pending)
//!     }
//!     fn on_response(
//!         &mut self,
//!         _cx: &mut OpContext<'_>,
//!         _tag: usize,
//!         resp: Response,
//!     ) -> Result<Progress<()>, Fail> {
//!         match resp.status() {
//!             NtStatus::SUCCESS => Ok(Progress::Done(())),
//!             s => Err(resp.failure(s, "ping", "")),
//!         }
//!     }
//! }
//! ```

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;

use super::{Core, Event, Group, Negotiated, OpId, Outgoing, SessionSlot, BEFORE_NEGOTIATE};
use crate::error::{CloseReason, Error};
use crate::ntstatus::NtStatus;
use crate::ops::{FileInfo, TreeId};
use crate::wire::create::FileId;
use crate::wire::header::Header;
use crate::wire::oplock_break::BreakNotification;
use crate::wire::request::RequestBody;
use crate::wire::DecodeError;

/// One step of an operation: still waiting, or done with its output.
#[derive(Debug)]
pub enum Progress<T> {
    /// More responses (or a child's result, or a supply) are needed.
    Pending,
    /// Finished with this output.
    Done(T),
}

/// How a step failed: the operation's own error, or one that ends the connection.
#[derive(Debug)]
pub enum Fail {
    /// The operation fails with this error; the connection goes on.
    Op(Error),
    /// The server broke the protocol: the connection ends with this reason.
    Fatal(CloseReason),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Op(e)
    }
}

impl From<CloseReason> for Fail {
    fn from(e: CloseReason) -> Self {
        Fail::Fatal(e)
    }
}

impl From<DecodeError> for Fail {
    fn from(e: DecodeError) -> Self {
        Fail::Fatal(CloseReason::Malformed(e))
    }
}

/// A response handed to an operation: its header and the whole message (header
/// included), which the wire codecs decode.
#[derive(Debug, Clone)]
pub struct Response {
    /// The decoded SMB2 header.
    pub header: Header,
    /// The whole message starting at its header.
    pub msg: Bytes,
}

impl Response {
    /// The header's status.
    pub fn status(&self) -> NtStatus {
        NtStatus(self.header.status)
    }

    /// The failure of `op` on `path` with `status`.
    pub fn failure(&self, status: NtStatus, op: &'static str, path: &str) -> Fail {
        Fail::Op(Error::failed(status, op, path.to_string()))
    }
}

/// What a break names: the open of an oplock, or the lease of a lease break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakKey {
    /// An oplock on this open (MS-SMB2 2.2.23.1).
    File(FileId),
    /// A lease with this key (MS-SMB2 2.2.23.2).
    Lease([u8; 16]),
}

impl BreakKey {
    /// The key a notification names.
    pub fn of(notification: &BreakNotification) -> BreakKey {
        match notification {
            BreakNotification::Oplock(o) => BreakKey::File(o.file_id),
            BreakNotification::Lease(l) => BreakKey::Lease(l.lease_key),
        }
    }
}

/// Names a child operation started with [`OpContext::start_child`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildId(pub(crate) OpId);

/// A finished operation's output, typed by the operation and carried untyped through
/// the core's events; [`OpHandle::output`] (or [`OpOutput::downcast`]) gives it back.
pub struct OpOutput(Box<dyn OutputValue>);

trait OutputValue: Any + Send + fmt::Debug {
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    fn as_any(&self) -> &dyn Any;
    fn type_name(&self) -> &'static str;
}

impl<T: Any + Send + fmt::Debug> OutputValue for T {
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }
}

impl OpOutput {
    /// Wraps an output.
    pub fn new<T: Any + Send + fmt::Debug>(value: T) -> Self {
        OpOutput(Box::new(value))
    }

    /// The output as a `&T`, if it is one.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        // `(*self.0)`: the box itself is an `OutputValue` too, by the blanket impl.
        (*self.0).as_any().downcast_ref()
    }

    /// The output as `T`; an [`Error::Invalid`] naming both types when it is another.
    pub fn downcast<T: Any>(self) -> Result<T, Error> {
        let found = (*self.0).type_name();
        self.0.into_any().downcast::<T>().map(|b| *b).map_err(|_| {
            Error::Invalid(format!(
                "operation ended with a {found}, expected a {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// The value's own `Debug`: an event prints what the operation produced.
impl fmt::Debug for OpOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What an operation is.
///
/// Implement it to add an operation (one file under `ops/` in this crate, or in your own
/// code); every driver runs it through its generic `call`. Tags name the operation's own
/// requests: the values are the operation's to choose and come back with each response.
pub trait Operation: Send + 'static {
    /// What the operation produces.
    type Output: Any + Send + fmt::Debug;

    /// The operation's name ("stat") and the path it works on, for errors raised
    /// outside it (a timeout).
    fn label(&self) -> (&'static str, &str);

    /// The share this operation works on, if any: the core connects its tree first
    /// (once, shared by every operation on it) and [`OpContext::send`] uses it.
    fn share(&self) -> Option<&str> {
        None
    }

    /// Refuses the operation before anything is sent (a path that breaks the
    /// [path rules](crate::ops::path)).
    ///
    /// # Errors
    ///
    /// The error the operation then ends with.
    fn check(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Sends the first requests.
    ///
    /// # Errors
    ///
    /// [`Fail::Op`] ends the operation, [`Fail::Fatal`] the connection.
    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail>;

    /// Handles the response to the request sent with `tag`.
    ///
    /// # Errors
    ///
    /// As for [`Operation::start`]; by default (an operation that only runs children
    /// and sends nothing itself) a response is unexpected.
    fn on_response(
        &mut self,
        _cx: &mut OpContext<'_>,
        _tag: usize,
        _resp: Response,
    ) -> Result<Progress<Self::Output>, Fail> {
        Err(Fail::Op(Error::Invalid(
            "a response to a request this operation did not send".into(),
        )))
    }

    /// Handles the result of a child started with [`OpContext::start_child`].
    ///
    /// # Errors
    ///
    /// As for [`Operation::start`]; by default a child is unexpected.
    fn on_child(
        &mut self,
        _cx: &mut OpContext<'_>,
        _child: ChildId,
        _result: Result<OpOutput, Error>,
    ) -> Result<Progress<Self::Output>, Fail> {
        Err(Fail::Op(Error::Invalid(
            "this operation runs no child".into(),
        )))
    }

    /// Handles bytes the driver supplied after [`Event::WantData`] (fewer than asked
    /// for means end of input), or a paged listing's "next page".
    ///
    /// # Errors
    ///
    /// As for [`Operation::start`]; by default the operation takes no input.
    fn on_supply(
        &mut self,
        _cx: &mut OpContext<'_>,
        _data: Bytes,
    ) -> Result<Progress<Self::Output>, Fail> {
        Err(Fail::Op(Error::Invalid(
            "this operation takes no input".into(),
        )))
    }

    /// Handles the answer to the KDC request it raised with [`OpContext::kdc`] (see
    /// [`Event::Kdc`]), at wall-clock time `wall`.
    ///
    /// # Errors
    ///
    /// As for [`Operation::start`]; by default the operation asked no KDC.
    fn on_kdc(
        &mut self,
        _cx: &mut OpContext<'_>,
        _reply: Result<Vec<u8>, crate::auth::kerberos::KdcIoError>,
        _wall: std::time::SystemTime,
    ) -> Result<Progress<Self::Output>, Fail> {
        Err(Fail::Op(Error::Invalid(
            "a KDC answer for an operation that asked no KDC".into(),
        )))
    }

    /// Handles an oplock or lease break for an open this operation claimed with
    /// [`OpContext::own_breaks`]: acknowledge it (flushing what a write lease held back
    /// first), or finish.
    ///
    /// # Errors
    ///
    /// As for [`Operation::start`]; by default the break is not expected.
    fn on_break(
        &mut self,
        _cx: &mut OpContext<'_>,
        _notification: BreakNotification,
    ) -> Result<Progress<Self::Output>, Fail> {
        Err(Fail::Op(Error::Invalid(
            "this operation claimed breaks it does not handle".into(),
        )))
    }

    /// Handles an interim response (STATUS_PENDING) to the request sent with `tag`: the
    /// server holds it and answers later. Most operations have nothing to do; one that
    /// waits by design (a change notification) may report that it is now in place.
    ///
    /// # Errors
    ///
    /// As for [`Operation::start`].
    fn on_interim(
        &mut self,
        _cx: &mut OpContext<'_>,
        _tag: usize,
    ) -> Result<Progress<Self::Output>, Fail> {
        Ok(Progress::Pending)
    }

    /// Requests that release what the operation holds (an open handle) when it ends
    /// early: failed, cancelled or timed out. The core sends them on its behalf.
    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        Vec::new()
    }
}

/// An operation whose output type the core does not know: how operations cross a
/// driver's channel to the connection task.
pub struct BoxedOp(pub(crate) Box<dyn ErasedOp>);

impl BoxedOp {
    /// Boxes `op`.
    pub fn new<O: Operation>(op: O) -> Self {
        BoxedOp(Box::new(op))
    }

    /// The operation's name and path.
    pub fn label(&self) -> (&'static str, &str) {
        self.0.label()
    }
}

impl fmt::Debug for BoxedOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, path) = self.0.label();
        f.debug_struct("BoxedOp")
            .field("op", &name)
            .field("path", &path)
            .finish()
    }
}

/// An operation started with [`Connection::start`](super::Connection::start): its id
/// in events, and the type of its output.
#[derive(Debug)]
pub struct OpHandle<T> {
    id: OpId,
    output: PhantomData<fn() -> T>,
}

impl<T> Clone for OpHandle<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for OpHandle<T> {}

impl<T: Any> OpHandle<T> {
    pub(crate) fn new(id: OpId) -> Self {
        OpHandle {
            id,
            output: PhantomData,
        }
    }

    /// The id its events carry.
    pub fn id(&self) -> OpId {
        self.id
    }

    /// The typed result from its [`Event::Done`].
    ///
    /// # Errors
    ///
    /// The operation's error, or [`Error::Invalid`] for an output of another type.
    pub fn output(&self, result: Result<OpOutput, Error>) -> Result<T, Error> {
        result?.downcast()
    }
}

/// [`Operation`] with the output erased, as the core stores it.
pub(crate) trait ErasedOp: Send {
    fn label(&self) -> (&'static str, &str);
    fn share(&self) -> Option<&str>;
    fn check(&self) -> Result<(), Error>;
    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<OpOutput>, Fail>;
    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<OpOutput>, Fail>;
    fn on_child(
        &mut self,
        cx: &mut OpContext<'_>,
        child: ChildId,
        result: Result<OpOutput, Error>,
    ) -> Result<Progress<OpOutput>, Fail>;
    fn on_supply(
        &mut self,
        cx: &mut OpContext<'_>,
        data: Bytes,
    ) -> Result<Progress<OpOutput>, Fail>;
    fn on_kdc(
        &mut self,
        cx: &mut OpContext<'_>,
        reply: Result<Vec<u8>, crate::auth::kerberos::KdcIoError>,
        wall: std::time::SystemTime,
    ) -> Result<Progress<OpOutput>, Fail>;
    fn on_break(
        &mut self,
        cx: &mut OpContext<'_>,
        notification: BreakNotification,
    ) -> Result<Progress<OpOutput>, Fail>;
    fn on_interim(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
    ) -> Result<Progress<OpOutput>, Fail>;
    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)>;
}

fn erase<T: Any + Send + fmt::Debug>(
    r: Result<Progress<T>, Fail>,
) -> Result<Progress<OpOutput>, Fail> {
    r.map(|p| match p {
        Progress::Pending => Progress::Pending,
        Progress::Done(v) => Progress::Done(OpOutput::new(v)),
    })
}

impl<O: Operation> ErasedOp for O {
    fn label(&self) -> (&'static str, &str) {
        Operation::label(self)
    }
    fn share(&self) -> Option<&str> {
        Operation::share(self)
    }
    fn check(&self) -> Result<(), Error> {
        Operation::check(self)
    }
    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<OpOutput>, Fail> {
        erase(Operation::start(self, cx))
    }
    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<OpOutput>, Fail> {
        erase(Operation::on_response(self, cx, tag, resp))
    }
    fn on_child(
        &mut self,
        cx: &mut OpContext<'_>,
        child: ChildId,
        result: Result<OpOutput, Error>,
    ) -> Result<Progress<OpOutput>, Fail> {
        erase(Operation::on_child(self, cx, child, result))
    }
    fn on_supply(
        &mut self,
        cx: &mut OpContext<'_>,
        data: Bytes,
    ) -> Result<Progress<OpOutput>, Fail> {
        erase(Operation::on_supply(self, cx, data))
    }
    fn on_kdc(
        &mut self,
        cx: &mut OpContext<'_>,
        reply: Result<Vec<u8>, crate::auth::kerberos::KdcIoError>,
        wall: std::time::SystemTime,
    ) -> Result<Progress<OpOutput>, Fail> {
        erase(Operation::on_kdc(self, cx, reply, wall))
    }
    fn on_break(
        &mut self,
        cx: &mut OpContext<'_>,
        notification: BreakNotification,
    ) -> Result<Progress<OpOutput>, Fail> {
        erase(Operation::on_break(self, cx, notification))
    }
    fn on_interim(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
    ) -> Result<Progress<OpOutput>, Fail> {
        erase(Operation::on_interim(self, cx, tag))
    }
    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        Operation::cleanup(self)
    }
}

/// Header fields a raw request sets itself (MS-SMB2 2.2.1.2); the core fills in the rest
/// (message id, session, tree, credits requested, NextCommand, signature).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeaderFields {
    /// Flags added to the core's (SMB2_FLAGS_PRIORITY_MASK, DFS_OPERATIONS,
    /// REPLAY_OPERATION…).
    pub flags: u32,
    /// The CreditCharge to send instead of the core's; the request consumes that many
    /// message ids and credits (at least one).
    pub credit_charge: Option<u16>,
    /// ChannelSequence (3.x), where a request's header has it (the Status field's first
    /// two bytes).
    pub channel_sequence: u16,
}

/// How a request goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestOptions {
    /// The tree (a handle's, say); `None` is the operation's share's, or none.
    pub tree: Option<TreeId>,
    /// Sign it even when the session does not sign everything.
    pub sign: bool,
    /// Whether the request's timeout applies: `false` for a request that waits by
    /// design (a change notification), which interim responses then keep alive until
    /// it completes or is cancelled.
    pub deadline: bool,
    /// Whether the session's signing and encryption apply (`false` only for protocol
    /// tests that send what a broken client would).
    pub protect: bool,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            tree: None,
            sign: false,
            deadline: true,
            protect: true,
        }
    }
}

impl RequestOptions {
    /// On `tree`.
    pub fn on(tree: TreeId) -> Self {
        RequestOptions {
            tree: Some(tree),
            ..Default::default()
        }
    }
}

/// What an operation may do to the connection while it runs: send requests, run a
/// child, report streaming events, read negotiated facts. It never exposes the
/// connection's state.
pub struct OpContext<'a> {
    pub(crate) core: &'a mut Core,
    pub(crate) id: OpId,
    /// The top-level operation: its id names streaming events.
    pub(crate) root: OpId,
    /// The file of a many-file operation this operation works on.
    pub(crate) file: usize,
    /// The session it runs in.
    pub(crate) session: SessionSlot,
    /// The operation's share's tree (0 when it names none).
    pub(crate) tree: TreeId,
    /// Children started during this step (with the file they work on), for the core
    /// to run.
    pub(crate) spawned: Vec<(OpId, usize, Box<dyn ErasedOp>)>,
    /// The step tried to send an SMB2 request on an SMB1 connection: the operation has
    /// no SMB1 form yet, and fails with [`Error::Unsupported`].
    pub(crate) unsupported: bool,
}

impl OpContext<'_> {
    /// Asks the driver to carry a message to a KDC ([`Event::Kdc`]); the answer comes to
    /// [`Operation::on_kdc`].
    pub fn kdc(&mut self, request: crate::auth::kerberos::KdcRequest) {
        self.core.events.push_back(Event::Kdc {
            id: self.id,
            request,
        });
    }

    /// Queues one request on the operation's tree.
    pub fn send(&mut self, tag: usize, body: RequestBody) {
        self.send_with(tag, body, RequestOptions::default());
    }

    /// Queues one request with `options`.
    pub fn send_with(&mut self, tag: usize, body: RequestBody, options: RequestOptions) {
        let item = self.outgoing(tag, body, false, options);
        self.queue(vec![item]);
    }

    /// Queues requests as one compound (MS-SMB2 3.2.4.1.4). Related, later requests
    /// refer to the file the first one opened through `FileId::ANY`; unrelated, each
    /// stands alone.
    pub fn send_compound(
        &mut self,
        items: Vec<(usize, RequestBody)>,
        related: bool,
        options: RequestOptions,
    ) {
        let items = items
            .into_iter()
            .enumerate()
            .map(|(i, (tag, body))| self.outgoing(tag, body, related && i > 0, options))
            .collect();
        self.queue(items);
    }

    /// Queues a related compound on the operation's tree.
    pub fn send_related(&mut self, items: Vec<(usize, RequestBody)>) {
        self.send_compound(items, true, RequestOptions::default());
    }

    /// Queues requests built by the caller, tagged by their index, with their own header
    /// fields: one request, or a compound (related or not).
    pub fn send_raw(
        &mut self,
        requests: Vec<(RequestBody, HeaderFields)>,
        related: bool,
        options: RequestOptions,
    ) {
        let items = requests
            .into_iter()
            .enumerate()
            .map(|(i, (body, header))| {
                let mut item = self.outgoing(i, body, related && i > 0, options);
                item.header = header;
                item
            })
            .collect();
        self.queue(items);
    }

    fn outgoing(
        &self,
        tag: usize,
        body: RequestBody,
        related: bool,
        options: RequestOptions,
    ) -> Outgoing {
        Outgoing {
            tag,
            tree_id: options.tree.unwrap_or(self.tree).0,
            body,
            related,
            sign: options.sign,
            deadline: options.deadline,
            protect: options.protect,
            header: HeaderFields::default(),
        }
    }

    fn queue(&mut self, items: Vec<Outgoing>) {
        // One check for every operation: an SMB2 request never goes to an SMB1 server.
        let smb2 = items
            .iter()
            .any(|i| !matches!(i.body, RequestBody::Smb1(_)));
        if self.core.is_smb1() && smb2 {
            self.unsupported = true;
            return;
        }
        self.core.waiting.push_back(Group {
            op: Some(self.id),
            session: self.session,
            items,
        });
    }

    /// Runs `op` as a child of this operation; its result comes to
    /// [`Operation::on_child`] with the id returned here. Its streaming events are this
    /// operation's.
    pub fn start_child<O: Operation>(&mut self, op: O) -> ChildId {
        self.start_child_for(self.file, op)
    }

    /// Runs `op` as a child working on file `file` of a many-file operation: its
    /// streaming events name that file, and supplies for it reach the child.
    pub fn start_child_for<O: Operation>(&mut self, file: usize, op: O) -> ChildId {
        let id = self.core.next_op_id();
        self.spawned.push((id, file, Box::new(op)));
        ChildId(id)
    }

    /// Routes the oplock or lease breaks for `key` (an open's file id, a lease key) to
    /// this operation's [`Operation::on_break`] until it ends. Breaks nobody claimed
    /// reach the driver as [`Event::Break`].
    pub fn own_breaks(&mut self, key: BreakKey) {
        self.core.break_owners.insert(key, self.id);
    }

    /// `N` bytes from the connection's seeded generator ([`Config::seed`](crate::Config)):
    /// what an operation needs at random (a lease key) without a source of its own, so a
    /// recorded session replays.
    pub fn random<const N: usize>(&mut self) -> [u8; N] {
        self.core.rng.array()
    }

    /// Makes the core hold a lease or oplock granted to an open in this operation's
    /// session: it acknowledges the breaks `key` names until [`OpContext::release_leases`].
    pub(crate) fn hold_lease(
        &mut self,
        key: BreakKey,
        file_id: FileId,
        tree: TreeId,
        state: crate::ops::lease::LeaseState,
    ) {
        let held = crate::ops::lease::HeldLease {
            file_id,
            tree,
            session: self.session,
            state,
        };
        self.core.leases.insert(key, held);
    }

    /// Forgets the leases, oplocks and durability of open `file_id` (closed).
    pub(crate) fn release_leases(&mut self, file_id: FileId) {
        self.core.leases.retain(|_, l| l.file_id != file_id);
        self.core.durables.remove(&file_id);
    }

    /// Makes the core remember durable open `open`, to reclaim it after a reconnect.
    pub(crate) fn hold_durable(&mut self, open: crate::ops::DurableOpen) {
        self.core.durables.insert(open.file_id, open);
    }

    /// The caching state the core holds for open `file_id`, if any.
    pub fn lease_of(&self, file_id: FileId) -> Option<crate::ops::lease::LeaseState> {
        self.core
            .leases
            .values()
            .find(|l| l.file_id == file_id)
            .map(|l| l.state)
    }

    /// The tree of the operation's share (0 when it names none).
    pub fn tree(&self) -> TreeId {
        self.tree
    }

    /// The session the operation runs in.
    pub fn session_slot(&self) -> SessionSlot {
        self.session
    }

    /// The state of the session the operation runs in.
    pub(crate) fn session(&self) -> &super::Session {
        &self.core.sessions[self.session.0]
    }

    /// The state of the session the operation runs in, to change it.
    pub(crate) fn session_mut(&mut self) -> &mut super::Session {
        &mut self.core.sessions[self.session.0]
    }

    /// Whether the connection speaks SMB1: requests must then be
    /// [`RequestBody::Smb1`] (an operation sending another fails with
    /// [`Error::Unsupported`]).
    pub fn is_smb1(&self) -> bool {
        self.core.is_smb1()
    }

    /// Negotiated parameters. Operations start only after negotiation, so the
    /// fallback is never what an operation sees.
    pub fn negotiated(&self) -> &Negotiated {
        self.core.negotiated.as_ref().unwrap_or(&BEFORE_NEGOTIATE)
    }

    /// The server's name as the client addresses it
    /// ([`Config::server_name`](crate::Config::server_name)): what an RPC call on a pipe
    /// names as its server.
    pub fn server_name(&self) -> &str {
        &self.core.config.server_name
    }

    /// How many READs or WRITEs a transfer keeps in flight; on SMB1 no more than the
    /// server's MaxMpxCount (MS-CIFS 3.2.4.1.1), which bounds every request in flight.
    pub fn io_window(&self) -> usize {
        let window = self.core.config.max_io_in_flight.max(1);
        match &self.negotiated().smb1 {
            Some(s) => window.min(usize::from(s.max_mpx).max(1)),
            None => window,
        }
    }

    /// Whether streamed data waits for the driver's acknowledgement
    /// ([`Config::paced_reads`](crate::Config::paced_reads)).
    pub fn paced_reads(&self) -> bool {
        self.core.config.paced_reads
    }

    /// Reports the next bytes of a streaming read, at file `offset`.
    pub fn data(&mut self, offset: u64, data: Bytes) {
        let (id, file) = self.stream();
        self.core.events.push_back(Event::Data {
            id,
            file,
            offset,
            data,
        });
    }

    /// Asks the driver for up to `max_len` bytes of input.
    pub fn want_data(&mut self, max_len: usize) {
        let (id, file) = self.stream();
        self.core
            .events
            .push_back(Event::WantData { id, file, max_len });
    }

    /// Reports one page of a paged listing.
    pub fn entries(&mut self, entries: Vec<FileInfo>) {
        let (id, _) = self.stream();
        self.core.events.push_back(Event::Entries { id, entries });
    }

    /// Reports what changed in a watched directory ([`Event::Changes`]); no changes
    /// says the watch is in place.
    pub fn changes(&mut self, changes: Vec<crate::ops::Change>) {
        let (id, _) = self.stream();
        self.core.events.push_back(Event::Changes { id, changes });
    }

    /// Reports how far a transfer has come ([`Event::Progress`]).
    pub fn progress(&mut self, done: u64, total: Option<u64>) {
        let (id, file) = (self.root, self.file);
        self.core.events.push_back(Event::Progress {
            id,
            file,
            done,
            total,
        });
    }

    /// Reports that file `file` of a many-file operation finished with `result`.
    pub fn file_done(&mut self, file: usize, result: Result<u64, Error>) {
        let id = self.root;
        self.core
            .events
            .push_back(Event::FileDone { id, file, result });
    }

    /// Where this operation's streaming events go, and makes it the one the driver's
    /// supplies for that file reach.
    fn stream(&mut self) -> (OpId, usize) {
        self.core.streams.insert((self.root, self.file), self.id);
        (self.root, self.file)
    }
}
