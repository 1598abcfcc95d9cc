//! The callback style of pysmb's Twisted `SMBProtocolFactory`: a factory that connects,
//! calls hooks on login, failure and disconnection, and runs operations that start at
//! once and return a [`Deferred`] to hang callbacks on.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use smb_proto::ops::Operation;

use crate::driver::Closed;
use crate::runtime::Runtime;
use crate::{
    Client, ConnectOptions, Error, File, FileInfo, FileTime, OpenOptions, Result,
    SecurityDescriptor, ShareInfo,
};

/// The eventual result of an operation that is already running, like a Twisted
/// `Deferred`.
///
/// [`add_callback`](Deferred::add_callback), [`add_errback`](Deferred::add_errback),
/// [`add_both`](Deferred::add_both) and [`add_callbacks`](Deferred::add_callbacks)
/// build a chain that runs in order, each step seeing the result of the one before; an
/// errback that returns `Ok` recovers, one that returns `Err` passes a failure on. The
/// chain runs when the deferred is awaited, or on the connection's runtime after
/// [`detach`](Deferred::detach). Dropping a deferred drops its callbacks, not its
/// operation.
#[must_use = "callbacks run only when the deferred is awaited or detached"]
pub struct Deferred<T> {
    chain: Pin<Box<dyn Future<Output = Result<T>> + Send>>,
    runtime: Arc<dyn Runtime>,
}

impl<T> std::fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deferred").finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Deferred<T> {
    /// Starts `op` on `runtime` now; the deferred only waits for its result.
    fn start(
        runtime: Arc<dyn Runtime>,
        op: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Self {
        let (tx, rx) = async_channel::bounded(1);
        runtime.spawn(Box::pin(async move {
            let _ = tx.send(op.await).await;
        }));
        Deferred {
            chain: Box::pin(async move {
                // The executor dropped the operation before it finished.
                rx.recv()
                    .await
                    .unwrap_or(Err(Error::Smb(smb_proto::Error::Cancelled)))
            }),
            runtime,
        }
    }

    /// A deferred that has already failed with `e`: its errbacks run, nothing was sent.
    fn failed(runtime: Arc<dyn Runtime>, e: Error) -> Self {
        Deferred {
            chain: Box::pin(std::future::ready(Err(e))),
            runtime,
        }
    }

    /// Runs `f` on the result, whichever it is; its return value is the next step's
    /// result (Twisted's `addBoth`): `Ok` goes on to callbacks, `Err` to errbacks.
    pub fn add_both<U, F>(self, f: F) -> Deferred<U>
    where
        F: FnOnce(Result<T>) -> Result<U> + Send + 'static,
    {
        let chain = self.chain;
        Deferred {
            chain: Box::pin(async move { f(chain.await) }),
            runtime: self.runtime,
        }
    }

    /// Runs `f` on success; its return value is the next step's result.
    pub fn add_callback<U, F>(self, f: F) -> Deferred<U>
    where
        F: FnOnce(T) -> U + Send + 'static,
    {
        self.add_both(|r| r.map(f))
    }

    /// Runs `f` on failure: `Ok` recovers with a value, `Err` passes a failure on.
    pub fn add_errback<F>(self, f: F) -> Deferred<T>
    where
        F: FnOnce(Error) -> Result<T> + Send + 'static,
    {
        self.add_both(|r| r.or_else(f))
    }

    /// Runs `callback` on success or `errback` on failure, never both (Twisted's
    /// `addCallbacks`; unlike `add_callback` then `add_errback`, which would hand the
    /// errback a failure of the callback's step).
    pub fn add_callbacks<U, F, E>(self, callback: F, errback: E) -> Deferred<U>
    where
        F: FnOnce(T) -> U + Send + 'static,
        E: FnOnce(Error) -> Result<U> + Send + 'static,
    {
        self.add_both(|r| r.map_or_else(errback, |v| Ok(callback(v))))
    }

    /// Runs the chain to its end without anyone awaiting it.
    pub fn detach(self) {
        let chain = self.chain;
        self.runtime.spawn(Box::pin(async move {
            let _ = chain.await;
        }));
    }
}

impl<T> Future for Deferred<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        self.chain.as_mut().poll(cx)
    }
}

type AuthOk = Arc<dyn Fn(&SmbFactory) + Send + Sync>;
type ErrorHook = Arc<dyn Fn(&Error) + Send + Sync>;

/// A factory's hooks, kept apart from the rest of its state: the task that waits for the
/// connection's end holds them, and must not hold the factory, whose client keeps the
/// connection alive.
#[derive(Default, Clone)]
struct Hooks {
    auth_ok: Option<AuthOk>,
    auth_failed: Option<ErrorHook>,
    disconnect: Option<ErrorHook>,
}

/// Where a factory's connection is.
enum Phase {
    /// Never connected, or the last login failed.
    Idle,
    /// [`SmbFactory::connect`] is running.
    Connecting,
    /// Logged in.
    Ready(Client),
    /// The connection ended, or [`SmbFactory::close_connection`] was called.
    Ended,
}

/// What a factory and its clones share.
struct Shared {
    opts: ConnectOptions,
    runtime: Arc<dyn Runtime>,
    hooks: Arc<Mutex<Hooks>>,
    phase: Mutex<Phase>,
}

/// Locks `m`. The locks here are never held while user code runs, so a poisoned one
/// holds a consistent value still.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The logged-in client, or why `op` cannot run now.
    fn ready_client(&self, op: &'static str) -> Result<Client> {
        match &*lock(&self.phase) {
            Phase::Idle | Phase::Connecting => Err(Error::NotReady { op }),
            Phase::Ready(c) if !c.is_closed() => Ok(c.clone()),
            Phase::Ready(_) | Phase::Ended => Err(Error::NotConnected { op }),
        }
    }

    fn hooks(&self) -> Hooks {
        lock(&self.hooks).clone()
    }
}

/// Connects and logs in, and runs operations on that connection, like pysmb's Twisted
/// `SMBProtocolFactory`.
///
/// Hooks: [`on_auth_ok`](SmbFactory::on_auth_ok) once logged in,
/// [`on_auth_failed`](SmbFactory::on_auth_failed) when the server refuses the login, and
/// [`on_disconnect`](SmbFactory::on_disconnect) once when the connection ends. The
/// factory holds the connection it made: every [`DeferredClient`] operation
/// (`retrieve_file`, `store_file`, `list_path`, `echo`, …, and `with_timeout` for
/// pysmb's `timeout` argument) is callable on it and runs there. Before login an
/// operation's deferred fails with [`Error::NotReady`], after the connection ended with
/// [`Error::NotConnected`]; nothing is sent then.
///
/// A factory and its clones are one factory: they share the connection and the hooks.
///
/// ```no_run
/// # fn demo(opts: smb_async::ConnectOptions, runtime: std::sync::Arc<dyn smb_async::runtime::Runtime>) {
/// use smb_async::SmbFactory;
///
/// // pysmb's RetrieveFileFactory: on login, fetch a file, then close the connection.
/// let factory = SmbFactory::with_runtime(opts, runtime)
///     .on_auth_ok(|factory| {
///         let f = factory.clone();
///         factory
///             .retrieve_file("share", "report.pdf")
///             .add_callbacks(
///                 move |data| {
///                     println!("downloaded {} bytes", data.len());
///                     f.close_connection();
///                 },
///                 |err| {
///                     eprintln!("download failed: {err}");
///                     Ok(())
///                 },
///             )
///             .detach();
///     })
///     .on_auth_failed(|err| eprintln!("login failed: {err}"))
///     .on_disconnect(|why| println!("disconnected: {why}"));
/// factory.connect().detach();
/// # }
/// ```
#[derive(Clone)]
pub struct SmbFactory {
    shared: Arc<Shared>,
    /// The operations, bound to `shared`'s connection.
    ops: DeferredClient,
}

impl std::fmt::Debug for SmbFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmbFactory")
            .field("host", &self.shared.opts.host)
            .field("port", &self.shared.opts.port)
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

/// The operations of [`DeferredClient`], on the factory's connection.
impl std::ops::Deref for SmbFactory {
    type Target = DeferredClient;

    fn deref(&self) -> &DeferredClient {
        &self.ops
    }
}

impl SmbFactory {
    /// A factory for connections made with `opts`, run on `runtime`. As pysmb's, its
    /// connection is not made again when lost ([`ConnectOptions::reconnect`] is
    /// ignored): `on_disconnect` says it ended, and `connect` makes a new one.
    pub fn with_runtime(mut opts: ConnectOptions, runtime: Arc<dyn Runtime>) -> Self {
        opts.reconnect = None;
        SmbFactory::of(Arc::new(Shared {
            opts,
            runtime,
            hooks: Arc::default(),
            phase: Mutex::new(Phase::Idle),
        }))
    }

    fn of(shared: Arc<Shared>) -> Self {
        SmbFactory {
            ops: DeferredClient {
                conn: Conn::Factory(shared.clone()),
                timeout: None,
            },
            shared,
        }
    }

    /// Called with the factory once login succeeds (pysmb's `onAuthOK`); its operations
    /// work from here on.
    pub fn on_auth_ok(self, f: impl Fn(&SmbFactory) + Send + Sync + 'static) -> Self {
        lock(&self.shared.hooks).auth_ok = Some(Arc::new(f));
        self
    }

    /// Called when the server refuses the login (pysmb's `onAuthFailed`).
    ///
    /// Only for a refused login: other failures (no route, a protocol error) reach
    /// just the deferred that [`SmbFactory::connect`] returns.
    pub fn on_auth_failed(self, f: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        lock(&self.shared.hooks).auth_failed = Some(Arc::new(f));
        self
    }

    /// Called once when a connection this factory made ends, whatever ended it: the
    /// server, the network, [`close_connection`](SmbFactory::close_connection), or the
    /// last handle on it going away. The error is [`smb_proto::Error::Closed`] with the
    /// reason ([`ErrorKind::Disconnected`](crate::ErrorKind::Disconnected) for the
    /// server, the network or a close).
    pub fn on_disconnect(self, f: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        lock(&self.shared.hooks).disconnect = Some(Arc::new(f));
        self
    }

    /// Whether the factory is logged in and its connection still up (pysmb's
    /// `isReady`).
    pub fn is_ready(&self) -> bool {
        matches!(&*lock(&self.shared.phase), Phase::Ready(c) if !c.is_closed())
    }

    /// Whether the connection speaks SMB 2 or 3 (pysmb's `isUsingSMB2`): `true` unless it
    /// negotiated SMB1, which it does only when asked to
    /// ([`ConnectOptions::smb1`](smb_proto::client::ConnectOptions::smb1)) and the server
    /// offers nothing newer; `true` too before a connection exists, as in pysmb.
    pub fn is_using_smb2(&self) -> bool {
        match &*lock(&self.shared.phase) {
            Phase::Ready(c) => !c.negotiated().dialect.is_smb1(),
            _ => true,
        }
    }

    /// Connects and logs in; the hooks fire before the deferred does. The connection
    /// stays up, held by the factory, until it is closed or lost; after it ended,
    /// `connect` may be called again.
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when the server cannot be reached, the login's error
    /// ([`ErrorKind::AuthenticationFailed`](crate::ErrorKind::AuthenticationFailed) for
    /// a refused one), [`smb_proto::Error::Invalid`] when the factory is already
    /// connected or connecting, [`Error::NotConnected`] when
    /// [`close_connection`](SmbFactory::close_connection) was called during the login.
    pub fn connect(&self) -> Deferred<Client> {
        let shared = self.shared.clone();
        {
            let mut phase = lock(&shared.phase);
            // A client that closed before the watcher marked the phase counts as ended.
            if matches!(&*phase, Phase::Connecting)
                || matches!(&*phase, Phase::Ready(c) if !c.is_closed())
            {
                let e =
                    smb_proto::Error::Invalid("connect: the factory is already connected".into());
                return Deferred::failed(shared.runtime.clone(), e.into());
            }
            *phase = Phase::Connecting;
        }
        Deferred::start(self.shared.runtime.clone(), async move {
            let result = Client::connect_with(&shared.opts, shared.runtime.clone()).await;
            let hooks = shared.hooks();
            let client = match result {
                Ok(client) => client,
                Err(e) => {
                    let mut phase = lock(&shared.phase);
                    if let Phase::Connecting = &*phase {
                        *phase = Phase::Idle;
                    }
                    drop(phase);
                    if let (Some(hook), Error::Smb(smb_proto::Error::Auth { .. })) =
                        (&hooks.auth_failed, &e)
                    {
                        hook(&e);
                    }
                    return Err(e);
                }
            };
            watch_end(&shared, &client);
            let closed_meanwhile = {
                let mut phase = lock(&shared.phase);
                let connecting = matches!(&*phase, Phase::Connecting);
                if connecting {
                    *phase = Phase::Ready(client.clone());
                }
                !connecting
            };
            if closed_meanwhile {
                let _ = client.close().await;
                return Err(Error::NotConnected { op: "connect" });
            }
            if let Some(hook) = &hooks.auth_ok {
                hook(&SmbFactory::of(shared.clone()));
            }
            Ok(client)
        })
    }

    /// Logs off and closes the connection (pysmb's `closeConnection`), in the
    /// background: operations fail with [`Error::NotConnected`] from now on, and
    /// [`on_disconnect`](SmbFactory::on_disconnect) fires once the connection has
    /// ended. Closing a factory that is still logging in drops the connection as soon as
    /// it is made, without `on_auth_ok`; one that is not connected is left as it is.
    pub fn close_connection(&self) {
        let client = {
            let mut phase = lock(&self.shared.phase);
            match std::mem::replace(&mut *phase, Phase::Ended) {
                Phase::Ready(client) => Some(client),
                // `connect` sees `Ended` and closes what it made.
                Phase::Connecting | Phase::Ended => None,
                Phase::Idle => {
                    *phase = Phase::Idle;
                    None
                }
            }
        };
        if let Some(client) = client {
            self.shared.runtime.spawn(Box::pin(async move {
                // The connection closes whatever LOGOFF answers.
                let _ = client.close().await;
            }));
        }
    }
}

/// Waits, in the background, for `client`'s connection to end, then marks the factory
/// not connected and calls `on_disconnect`. The task holds neither the connection nor
/// the factory, so dropping every handle still ends the connection (and reports it).
fn watch_end(shared: &Arc<Shared>, client: &Client) {
    let closed: Closed = client.inner.link().closed.clone();
    let factory: Weak<Shared> = Arc::downgrade(shared);
    let hooks = shared.hooks.clone();
    shared.runtime.spawn(Box::pin(async move {
        let reason = closed.ended().await;
        if let Some(shared) = factory.upgrade() {
            let mut phase = lock(&shared.phase);
            // Only this connection's end: a later `connect` may have made another.
            if matches!(&*phase, Phase::Ready(c) if Arc::ptr_eq(&c.inner.link().closed, &closed)) {
                *phase = Phase::Ended;
            }
        }
        let hook = lock(&hooks).disconnect.clone();
        if let Some(hook) = hook {
            hook(&Error::Smb(smb_proto::Error::Closed(reason)));
        }
    }));
}

/// The connection a [`DeferredClient`]'s operations run on.
#[derive(Clone)]
enum Conn {
    /// A client's, from [`Client::deferred`].
    Client(Client),
    /// Whichever a factory holds when the operation is called.
    Factory(Arc<Shared>),
}

/// Operations that start at once and return [`Deferred`]s: on a [`Client`]'s connection
/// (from [`Client::deferred`]), or on a factory's (every one of them is callable on an
/// [`SmbFactory`]).
///
/// Each is the [`Client`] method of the same name; a file comes back in memory where the
/// client writes into a writer.
///
/// # Errors
///
/// A deferred fails as its [`Client`] method does; on a
/// [`with_timeout`](DeferredClient::with_timeout) handle also with
/// [`smb_proto::Error::Timeout`]; on a factory also with [`Error::NotReady`] before login
/// and [`Error::NotConnected`] after the connection ended, nothing sent.
#[derive(Clone)]
pub struct DeferredClient {
    conn: Conn,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for DeferredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("DeferredClient");
        match &self.conn {
            Conn::Client(c) => d.field("client", c),
            Conn::Factory(s) => d.field("factory", &s.opts.host),
        };
        d.field("timeout", &self.timeout).finish()
    }
}

impl DeferredClient {
    pub(crate) fn new(client: Client) -> Self {
        DeferredClient {
            conn: Conn::Client(client),
            timeout: None,
        }
    }

    /// The plain async client these operations run on (with this handle's timeout);
    /// `None` for a factory that is not logged in or whose connection ended.
    pub fn client(&self) -> Option<Client> {
        self.bound("client").ok()
    }

    /// A handle to the same connection whose operations each fail with
    /// [`smb_proto::Error::Timeout`] ([`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut))
    /// when not done within `timeout`, and are then cancelled on the wire; pysmb's
    /// `timeout` argument. As with [`Client::with_timeout`], a whole transfer or listing
    /// counts as one operation; a tree download is two, the listing of the tree and the
    /// transfer of its files, each with the whole `timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> DeferredClient {
        DeferredClient {
            timeout: Some(timeout),
            ..self.clone()
        }
    }

    fn runtime(&self) -> Arc<dyn Runtime> {
        match &self.conn {
            Conn::Client(c) => c.inner.runtime.clone(),
            Conn::Factory(s) => s.runtime.clone(),
        }
    }

    /// The client to run `op` on, with this handle's timeout.
    fn bound(&self, op: &'static str) -> Result<Client> {
        let client = match &self.conn {
            Conn::Client(c) => c.clone(),
            Conn::Factory(s) => s.ready_client(op)?,
        };
        Ok(match self.timeout {
            Some(t) => client.with_timeout(t),
            None => client,
        })
    }

    /// Starts `run` on the connection now, or fails at once when there is none.
    fn start<T, F, Fut>(&self, op: &'static str, run: F) -> Deferred<T>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        match self.bound(op) {
            Ok(client) => Deferred::start(client.inner.runtime.clone(), run(client)),
            Err(e) => Deferred::failed(self.runtime(), e),
        }
    }

    /// Runs any operation; see [`Client::call`].
    pub fn call<O: Operation>(&self, op: O) -> Deferred<O::Output> {
        self.start("call", |c| async move { c.call(op).await })
    }

    /// See [`Client::list_path`].
    pub fn list_path(&self, share: &str, path: &str, pattern: &str) -> Deferred<Vec<FileInfo>> {
        let (share, path, pattern) = (share.to_owned(), path.to_owned(), pattern.to_owned());
        self.start("list_path", |c| async move {
            c.list_path(&share, &path, &pattern).await
        })
    }

    /// See [`Client::list_shares`].
    pub fn list_shares(&self) -> Deferred<Vec<ShareInfo>> {
        self.start("list_shares", |c| async move { c.list_shares().await })
    }

    /// See [`Client::get_attributes`].
    pub fn get_attributes(&self, share: &str, path: &str) -> Deferred<FileInfo> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start("get_attributes", |c| async move {
            c.get_attributes(&share, &path).await
        })
    }

    /// See [`Client::get_security`].
    pub fn get_security(&self, share: &str, path: &str) -> Deferred<SecurityDescriptor> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start("get_security", |c| async move {
            c.get_security(&share, &path).await
        })
    }

    /// See [`Client::list_snapshots`].
    pub fn list_snapshots(&self, share: &str, path: &str) -> Deferred<Vec<FileTime>> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start("list_snapshots", |c| async move {
            c.list_snapshots(&share, &path).await
        })
    }

    /// See [`Client::tree_encrypted`].
    pub fn tree_encrypted(&self, share: &str) -> Deferred<bool> {
        let share = share.to_owned();
        self.start("tree_encrypted", |c| async move {
            c.tree_encrypted(&share).await
        })
    }

    /// The whole file, in memory; see [`Client::retrieve_file`].
    pub fn retrieve_file(&self, share: &str, path: &str) -> Deferred<Vec<u8>> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start("retrieve_file", |c| async move {
            c.retrieve_file_to_vec(&share, &path).await
        })
    }

    /// Up to `max_length` bytes from `offset`, in memory; see
    /// [`Client::retrieve_file_from_offset`].
    pub fn retrieve_file_from_offset(
        &self,
        share: &str,
        path: &str,
        offset: u64,
        max_length: Option<u64>,
    ) -> Deferred<Vec<u8>> {
        let (share, path, mut out) = (share.to_owned(), path.to_owned(), Vec::new());
        self.start("retrieve_file_from_offset", |c| async move {
            let read = c.retrieve_file_from_offset(&share, &path, &mut out, offset, max_length);
            read.await.map(|_| out)
        })
    }

    /// The whole file, in memory, calling `progress(done, total)` as it arrives (pysmb's
    /// `show_progress`); see [`Client::retrieve_file_with_progress`].
    pub fn retrieve_file_with_progress(
        &self,
        share: &str,
        path: &str,
        mut progress: impl FnMut(u64, Option<u64>) + Send + 'static,
    ) -> Deferred<Vec<u8>> {
        let (share, path, mut out) = (share.to_owned(), path.to_owned(), Vec::new());
        self.start("retrieve_file", |c| async move {
            c.retrieve_file_with_progress(&share, &path, &mut out, &mut progress)
                .await
                .map(|_| out)
        })
    }

    /// Up to `max_length` bytes from `offset`, in memory, calling `progress(done, total)`
    /// as they arrive; see [`Client::retrieve_file_from_offset_with_progress`].
    pub fn retrieve_file_from_offset_with_progress(
        &self,
        share: &str,
        path: &str,
        offset: u64,
        max_length: Option<u64>,
        mut progress: impl FnMut(u64, Option<u64>) + Send + 'static,
    ) -> Deferred<Vec<u8>> {
        let (share, path, mut out) = (share.to_owned(), path.to_owned(), Vec::new());
        self.start("retrieve_file_from_offset", |c| async move {
            let read = c.retrieve_file_from_offset_with_progress(
                &share,
                &path,
                &mut out,
                offset,
                max_length,
                &mut progress,
            );
            read.await.map(|_| out)
        })
    }

    /// The whole file as it was in a snapshot, in memory; see
    /// [`Client::retrieve_file_at`].
    pub fn retrieve_file_at(
        &self,
        share: &str,
        path: &str,
        snapshot: FileTime,
    ) -> Deferred<Vec<u8>> {
        let (share, path, mut out) = (share.to_owned(), path.to_owned(), Vec::new());
        self.start("retrieve_file_at", |c| async move {
            c.retrieve_file_at(&share, &path, snapshot, &mut out)
                .await
                .map(|_| out)
        })
    }

    /// Creates or replaces `path` with `data`; see [`Client::store_bytes`].
    pub fn store_file(&self, share: &str, path: &str, data: impl Into<Bytes>) -> Deferred<u64> {
        let (share, path, data) = (share.to_owned(), path.to_owned(), data.into());
        self.start("store_file", |c| async move {
            c.store_bytes(&share, &path, data).await
        })
    }

    /// Creates or replaces `path` with `data`, calling `progress(done, None)` after each
    /// WRITE the server acknowledged; see [`Client::store_file_with_progress`].
    pub fn store_file_with_progress(
        &self,
        share: &str,
        path: &str,
        data: impl Into<Bytes>,
        mut progress: impl FnMut(u64, Option<u64>) + Send + 'static,
    ) -> Deferred<u64> {
        let (share, path, data) = (share.to_owned(), path.to_owned(), data.into());
        self.start("store_file", |c| async move {
            c.store_file_with_progress(&share, &path, &mut &data[..], &mut progress)
                .await
        })
    }

    /// See [`Client::store_files`].
    pub fn store_files(&self, share: &str, files: Vec<(PathBuf, String)>) -> Deferred<u64> {
        let share = share.to_owned();
        self.start("store_files", |c| async move {
            c.store_files(&share, &files).await
        })
    }

    /// See [`Client::retrieve_files`].
    pub fn retrieve_files(&self, share: &str, files: Vec<(String, PathBuf)>) -> Deferred<u64> {
        let share = share.to_owned();
        self.start("retrieve_files", |c| async move {
            c.retrieve_files(&share, &files).await
        })
    }

    /// See [`Client::store_tree`].
    pub fn store_tree(
        &self,
        local_dir: impl Into<PathBuf>,
        share: &str,
        remote_dir: &str,
    ) -> Deferred<(u64, u64)> {
        let (local, share, remote) = (local_dir.into(), share.to_owned(), remote_dir.to_owned());
        self.start("store_tree", |c| async move {
            c.store_tree(&local, &share, &remote).await
        })
    }

    /// See [`Client::retrieve_tree`].
    pub fn retrieve_tree(
        &self,
        share: &str,
        remote_dir: &str,
        local_dir: impl Into<PathBuf>,
    ) -> Deferred<(u64, u64)> {
        let (share, remote, local) = (share.to_owned(), remote_dir.to_owned(), local_dir.into());
        self.start("retrieve_tree", |c| async move {
            c.retrieve_tree(&share, &remote, &local).await
        })
    }

    /// See [`Client::create_directory`].
    pub fn create_directory(&self, share: &str, path: &str) -> Deferred<()> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start("create_directory", |c| async move {
            c.create_directory(&share, &path).await
        })
    }

    /// See [`Client::create_directories`].
    pub fn create_directories(&self, share: &str, path: &str) -> Deferred<()> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start("create_directories", |c| async move {
            c.create_directories(&share, &path).await
        })
    }

    /// See [`Client::delete_directory`].
    pub fn delete_directory(&self, share: &str, path: &str) -> Deferred<()> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start("delete_directory", |c| async move {
            c.delete_directory(&share, &path).await
        })
    }

    /// See [`Client::delete_files`].
    pub fn delete_files(&self, share: &str, path_pattern: &str) -> Deferred<u64> {
        let (share, path) = (share.to_owned(), path_pattern.to_owned());
        self.start("delete_files", |c| async move {
            c.delete_files(&share, &path).await
        })
    }

    /// See [`Client::rename`].
    pub fn rename(&self, share: &str, old: &str, new: &str) -> Deferred<()> {
        let (share, old, new) = (share.to_owned(), old.to_owned(), new.to_owned());
        self.start(
            "rename",
            |c| async move { c.rename(&share, &old, &new).await },
        )
    }

    /// See [`Client::echo`].
    pub fn echo(&self) -> Deferred<()> {
        self.start("echo", |c| async move { c.echo().await })
    }

    /// pysmb's `echo(data)`; see [`Client::echo_data`].
    pub fn echo_data(&self, data: Vec<u8>) -> Deferred<Vec<u8>> {
        self.start("echo", |c| async move { c.echo_data(&data).await })
    }

    /// pysmb's `listPath` with its `search` mask; see [`Client::list_path_search`].
    pub fn list_path_search(
        &self,
        share: &str,
        path: &str,
        search: u32,
        pattern: &str,
    ) -> Deferred<Vec<FileInfo>> {
        let (share, path, pattern) = (share.to_owned(), path.to_owned(), pattern.to_owned());
        self.start("list_path", move |c| async move {
            c.list_path_search(&share, &path, search, &pattern).await
        })
    }

    /// See [`Client::delete_files_and_folders`].
    pub fn delete_files_and_folders(&self, share: &str, path_pattern: &str) -> Deferred<u64> {
        let (share, path) = (share.to_owned(), path_pattern.to_owned());
        self.start("delete_files", |c| async move {
            c.delete_files_and_folders(&share, &path).await
        })
    }

    /// See [`Client::reset_file_attributes`].
    pub fn reset_file_attributes(
        &self,
        share: &str,
        path_pattern: &str,
        attributes: u32,
    ) -> Deferred<u64> {
        let (share, path) = (share.to_owned(), path_pattern.to_owned());
        self.start("reset_file_attributes", move |c| async move {
            c.reset_file_attributes(&share, &path, attributes).await
        })
    }

    /// See [`Client::set_last_write_time`].
    pub fn set_last_write_time(
        &self,
        share: &str,
        path: &str,
        time: std::time::SystemTime,
    ) -> Deferred<()> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start("set_last_write_time", move |c| async move {
            c.set_last_write_time(&share, &path, time).await
        })
    }

    /// pysmb's `storeFileFromOffset`; see [`Client::store_file_from_offset`].
    pub fn store_file_from_offset(
        &self,
        share: &str,
        path: &str,
        data: impl Into<Bytes>,
        offset: u64,
        truncate: bool,
    ) -> Deferred<u64> {
        let (share, path, data) = (share.to_owned(), path.to_owned(), data.into());
        self.start("store_file_from_offset", move |c| async move {
            c.store_file_from_offset(&share, &path, &mut &data[..], offset, truncate)
                .await
        })
    }

    /// [`store_file_from_offset`](Self::store_file_from_offset) calling
    /// `progress(done, None)` after each WRITE the server acknowledged; see
    /// [`Client::store_file_from_offset_with_progress`].
    pub fn store_file_from_offset_with_progress(
        &self,
        share: &str,
        path: &str,
        data: impl Into<Bytes>,
        offset: u64,
        truncate: bool,
        mut progress: impl FnMut(u64, Option<u64>) + Send + 'static,
    ) -> Deferred<u64> {
        let (share, path, data) = (share.to_owned(), path.to_owned(), data.into());
        self.start("store_file_from_offset", move |c| async move {
            c.store_file_from_offset_with_progress(
                &share,
                &path,
                &mut &data[..],
                offset,
                truncate,
                &mut progress,
            )
            .await
        })
    }

    /// See [`Client::rename_replacing`].
    pub fn rename_replacing(&self, share: &str, old: &str, new: &str) -> Deferred<()> {
        let (share, old, new) = (share.to_owned(), old.to_owned(), new.to_owned());
        self.start("rename", |c| async move {
            c.rename_replacing(&share, &old, &new).await
        })
    }

    /// See [`Client::open`].
    pub fn open(&self, share: &str, path: &str, options: OpenOptions) -> Deferred<File> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start(
            "open",
            |c| async move { c.open(&share, &path, options).await },
        )
    }
}
