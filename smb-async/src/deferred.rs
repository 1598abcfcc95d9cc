//! The callback style of pysmb's Twisted `SMBProtocolFactory`: login hooks on a factory, and
//! operations that start at once and return a [`Deferred`] to hang callbacks on.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::runtime::Runtime;
use crate::{Client, ConnectOptions, Error, FileInfo, Result};

/// The eventual result of an operation that is already running, like a Twisted
/// `Deferred`.
///
/// [`add_callback`](Deferred::add_callback) and [`add_errback`](Deferred::add_errback)
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

    /// Runs `f` on success; its return value is the next step's result.
    pub fn add_callback<U, F>(self, f: F) -> Deferred<U>
    where
        F: FnOnce(T) -> U + Send + 'static,
    {
        let chain = self.chain;
        Deferred {
            chain: Box::pin(async move { chain.await.map(f) }),
            runtime: self.runtime,
        }
    }

    /// Runs `f` on failure: `Ok` recovers with a value, `Err` passes a failure on.
    pub fn add_errback<F>(self, f: F) -> Deferred<T>
    where
        F: FnOnce(Error) -> Result<T> + Send + 'static,
    {
        let chain = self.chain;
        Deferred {
            chain: Box::pin(async move { chain.await.or_else(f) }),
            runtime: self.runtime,
        }
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

type AuthOk = Arc<dyn Fn(Client) + Send + Sync>;
type AuthFailed = Arc<dyn Fn(&Error) + Send + Sync>;

/// Connects and logs in, calling `on_auth_ok` with the new client or `on_auth_failed` with
/// the reason, like pysmb's Twisted `SMBProtocolFactory`.
///
/// `on_auth_failed` is for a refused login only; other failures (no route, a protocol
/// error) reach neither hook, only the deferred that [`SmbFactory::connect`] returns.
#[derive(Clone)]
pub struct SmbFactory {
    opts: ConnectOptions,
    runtime: Arc<dyn Runtime>,
    auth_ok: Option<AuthOk>,
    auth_failed: Option<AuthFailed>,
}

impl std::fmt::Debug for SmbFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmbFactory")
            .field("host", &self.opts.host)
            .field("port", &self.opts.port)
            .finish_non_exhaustive()
    }
}

impl SmbFactory {
    /// A factory for connections made with `opts`, run on `runtime`.
    pub fn with_runtime(opts: ConnectOptions, runtime: Arc<dyn Runtime>) -> Self {
        SmbFactory {
            opts,
            runtime,
            auth_ok: None,
            auth_failed: None,
        }
    }

    /// Called with the client once login succeeds.
    pub fn on_auth_ok(mut self, f: impl Fn(Client) + Send + Sync + 'static) -> Self {
        self.auth_ok = Some(Arc::new(f));
        self
    }

    /// Called when the server refuses the login.
    pub fn on_auth_failed(mut self, f: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        self.auth_failed = Some(Arc::new(f));
        self
    }

    /// Connects and logs in; the hooks fire before the deferred does.
    pub fn connect(&self) -> Deferred<Client> {
        let this = self.clone();
        Deferred::start(self.runtime.clone(), async move {
            match Client::connect_with(&this.opts, this.runtime.clone()).await {
                Ok(client) => {
                    if let Some(hook) = &this.auth_ok {
                        hook(client.clone());
                    }
                    Ok(client)
                }
                Err(e) => {
                    if let (Some(hook), Error::Smb(smb_proto::Error::Auth { .. })) =
                        (&this.auth_failed, &e)
                    {
                        hook(&e);
                    }
                    Err(e)
                }
            }
        })
    }
}

/// A [`Client`] whose operations start at once and return [`Deferred`]s; from
/// [`Client::deferred`].
#[derive(Debug, Clone)]
pub struct DeferredClient {
    client: Client,
}

impl DeferredClient {
    pub(crate) fn new(client: Client) -> Self {
        DeferredClient { client }
    }

    /// The plain async client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn start<T, F, Fut>(&self, op: F) -> Deferred<T>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        Deferred::start(self.client.inner.runtime.clone(), op(self.client.clone()))
    }

    /// See [`Client::list_path`].
    pub fn list_path(&self, share: &str, path: &str, pattern: &str) -> Deferred<Vec<FileInfo>> {
        let (share, path, pattern) = (share.to_owned(), path.to_owned(), pattern.to_owned());
        self.start(|c| async move { c.list_path(&share, &path, &pattern).await })
    }

    /// See [`Client::get_attributes`].
    pub fn get_attributes(&self, share: &str, path: &str) -> Deferred<FileInfo> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start(|c| async move { c.get_attributes(&share, &path).await })
    }

    /// The whole file, in memory; see [`Client::retrieve_file`].
    pub fn retrieve_file(&self, share: &str, path: &str) -> Deferred<Vec<u8>> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start(|c| async move { c.retrieve_file_to_vec(&share, &path).await })
    }

    /// Creates or replaces `path` with `data`; see [`Client::store_bytes`].
    pub fn store_file(&self, share: &str, path: &str, data: impl Into<Bytes>) -> Deferred<u64> {
        let (share, path, data) = (share.to_owned(), path.to_owned(), data.into());
        self.start(|c| async move { c.store_bytes(&share, &path, data).await })
    }

    /// See [`Client::create_directory`].
    pub fn create_directory(&self, share: &str, path: &str) -> Deferred<()> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start(|c| async move { c.create_directory(&share, &path).await })
    }

    /// See [`Client::delete_directory`].
    pub fn delete_directory(&self, share: &str, path: &str) -> Deferred<()> {
        let (share, path) = (share.to_owned(), path.to_owned());
        self.start(|c| async move { c.delete_directory(&share, &path).await })
    }

    /// See [`Client::delete_files`].
    pub fn delete_files(&self, share: &str, path_pattern: &str) -> Deferred<u64> {
        let (share, path) = (share.to_owned(), path_pattern.to_owned());
        self.start(|c| async move { c.delete_files(&share, &path).await })
    }

    /// See [`Client::rename`].
    pub fn rename(&self, share: &str, old: &str, new: &str) -> Deferred<()> {
        let (share, old, new) = (share.to_owned(), old.to_owned(), new.to_owned());
        self.start(|c| async move { c.rename(&share, &old, &new).await })
    }

    /// See [`Client::echo`].
    pub fn echo(&self) -> Deferred<()> {
        self.start(|c| async move { c.echo().await })
    }
}
