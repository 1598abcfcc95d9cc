//! The URL context in libsmbclient's style on tokio: [`smb_async::Context`] (every call
//! by `smb://` URL, one connection per server and user, credentials from a callback
//! asked once per server and share) with files that speak tokio's I/O traits.

use smb_async::context::Auth;

pub use smb_async::context::{Dir, SimpleAuth};

use crate::{runtime, ConnectOptions, File, OpenFlags, Result};

/// Calls by `smb://` URL on the current tokio runtime; every method of
/// [`smb_async::Context`] is available (through `Deref`), and [`Context::open`] and
/// [`Context::open_with`] here return files with tokio's `AsyncRead`, `AsyncWrite` and
/// `AsyncSeek`.
///
/// ```no_run
/// # async fn demo() -> smb_tokio::Result<()> {
/// use smb_tokio::{ConnectOptions, Context, O_RDONLY};
/// use tokio::io::AsyncReadExt;
///
/// let ctx = Context::new(ConnectOptions::new("").user("alice", "secret"));
/// let mut f = ctx.open("smb://fileserver/docs/notes.txt", O_RDONLY).await?;
/// let mut text = String::new();
/// f.read_to_string(&mut text).await?;
/// println!("{} bytes, {}", text.len(), ctx.stat("smb://fileserver/docs").await?.size);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Context(smb_async::Context);

impl std::ops::Deref for Context {
    type Target = smb_async::Context;
    fn deref(&self) -> &smb_async::Context {
        &self.0
    }
}

impl Context {
    /// A context on the current tokio runtime; see [`smb_async::Context::new`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn new(options: ConnectOptions) -> Self {
        Context(smb_async::Context::new(runtime(), options))
    }

    /// Sets the default workgroup, user and password; see
    /// [`smb_async::Context::credentials`].
    pub fn credentials(self, workgroup: &str, username: &str, password: &str) -> Self {
        Context(self.0.credentials(workgroup, username, password))
    }

    /// Sets the authentication callback; see [`smb_async::Context::auth_callback`].
    pub fn auth_callback(
        self,
        callback: impl Fn(&str, &str, &mut Auth) + Send + Sync + 'static,
    ) -> Self {
        Context(self.0.auth_callback(callback))
    }

    /// Takes credentials from a [`SimpleAuth`] table; see
    /// [`smb_async::Context::simple_auth`].
    pub fn simple_auth(self, table: SimpleAuth) -> Self {
        Context(self.0.simple_auth(table))
    }

    /// Sets where browsing's name queries go (`smb://`, `smb://WORKGROUP`); see
    /// [`smb_async::Context::browse`].
    pub fn browse(self, options: smb_proto::client::browse::BrowseOptions) -> Self {
        Context(self.0.browse(options))
    }

    /// Opens the file `url` names with POSIX `flags`, as a tokio file.
    ///
    /// # Errors
    ///
    /// As for [`smb_async::Context::open`].
    pub async fn open(&self, url: &str, flags: i32) -> Result<File> {
        Ok(File(self.0.open(url, flags).await?, None))
    }

    /// Opens the file `url` names with [`OpenFlags`], as a tokio file.
    ///
    /// # Errors
    ///
    /// As for [`smb_async::Context::open_with`].
    pub async fn open_with(&self, url: &str, flags: OpenFlags) -> Result<File> {
        Ok(File(self.0.open_with(url, flags).await?, None))
    }
}
