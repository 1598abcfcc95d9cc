//! Connections shared by server and user, like smbprotocol's `register_session`: any
//! number of tasks opening `smb://` URLs on one server as one user share one connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use smb_proto::client::context::{parse_url, ConnectionKey};
use smb_proto::url::SmbUrl;
use smb_proto::OpenOptions;

use crate::runtime::Runtime;
use crate::{Client, ConnectOptions, Error, File, Result};

/// One connection per server and user, made on first use and replaced once it has ended.
/// The password is not part of the key: a second password for the same user reuses the
/// connection the first one opened. Cloning a pool shares it.
#[derive(Clone, Debug)]
pub struct Pool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    runtime: Arc<dyn Runtime>,
    defaults: Option<ConnectOptions>,
    /// The async lock is held only while connecting, so that tasks asking at once for a
    /// new server wait for one connection instead of making one each.
    slots: Mutex<HashMap<ConnectionKey, Arc<async_lock::Mutex<Option<Client>>>>>,
}

impl std::fmt::Debug for PoolInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("defaults", &self.defaults)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool on `runtime` whose URL connections take everything but server, port and
    /// credentials from `defaults` (signing, dialects, timeout…), or the defaults of
    /// [`ConnectOptions::new`].
    pub fn new(runtime: Arc<dyn Runtime>, defaults: Option<ConnectOptions>) -> Self {
        Pool {
            inner: Arc::new(PoolInner {
                runtime,
                defaults,
                slots: Mutex::default(),
            }),
        }
    }

    /// A live connection for `opts`' server and user ([`ConnectionKey`]), connecting if
    /// there is none.
    ///
    /// # Errors
    ///
    /// As for [`Client::connect_with`].
    pub async fn connect(&self, opts: &ConnectOptions) -> Result<Client> {
        let key = ConnectionKey::of(opts);
        let slot = self
            .inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default()
            .clone();
        let mut slot = slot.lock().await;
        if let Some(client) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(client.clone());
        }
        let client = Client::connect_with(opts, self.inner.runtime.clone()).await?;
        *slot = Some(client.clone());
        Ok(client)
    }

    /// A live connection for the server and user a parsed `smb://` URL names.
    pub async fn connect_url(&self, url: &SmbUrl) -> Result<Client> {
        let base = self
            .inner
            .defaults
            .clone()
            .unwrap_or_else(|| ConnectOptions::new(&url.host));
        self.connect(&ConnectOptions::for_url(&base, url, None))
            .await
    }

    /// Opens the file an `smb://[[domain;]user[:password]@]server[:port]/share/path` URL
    /// names, for reading.
    pub async fn open(&self, url: &str) -> Result<File> {
        self.open_with(url, OpenOptions::read()).await
    }

    /// Opens the file a URL names with the given options.
    pub async fn open_with(&self, url: &str, options: OpenOptions) -> Result<File> {
        let url = parse_url(url)?;
        let Some(share) = url.share.as_deref() else {
            return Err(invalid("the URL names no share".into()));
        };
        let client = self.connect_url(&url).await?;
        client.open(share, &url.path, options).await
    }

    /// How many connections of this pool are alive.
    pub fn connections(&self) -> usize {
        let slots = self
            .inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        slots
            .values()
            .filter(|slot| {
                slot.try_lock()
                    .is_some_and(|c| c.as_ref().is_some_and(|c| !c.is_closed()))
            })
            .count()
    }
}

fn invalid(msg: String) -> Error {
    Error::Smb(smb_proto::Error::Invalid(msg))
}
