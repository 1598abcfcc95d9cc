//! [`smb_async::Share`] on async-std and smol: the same share handle and paths, with
//! the connection's task on [`runtime()`](crate::runtime()).

use std::ops::{Deref, Div};

use smb_async::{Client, Creds, Result, ShareTarget, SmbPath};

use crate::runtime;

/// A connection and one of its shares (pike's `TreeConnect`) on async-std and smol;
/// everything else is [`smb_async::Share`]'s (through `Deref`), paths included. For
/// another executor, use [`smb_async::Share::connect`] with
/// [`runtime_with`](crate::runtime_with).
///
/// ```no_run
/// # async fn demo() -> smb_asyncstd::Result<()> {
/// use smb_asyncstd::Share;
/// let share = Share::from_env().await?;
/// for p in (&share / "logs").rglob("*.log").await? {
///     println!("{p}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Share(smb_async::Share);

impl Deref for Share {
    type Target = smb_async::Share;
    fn deref(&self) -> &smb_async::Share {
        &self.0
    }
}

impl Share {
    /// Connects on [`runtime()`](crate::runtime()); see [`smb_async::Share::connect`].
    ///
    /// # Errors
    ///
    /// As for [`smb_async::Share::connect`].
    pub async fn connect(server: &str, creds: impl Into<Creds>, share: &str) -> Result<Share> {
        smb_async::Share::connect(server, creds, share, runtime())
            .await
            .map(Share)
    }

    /// Connects on [`runtime()`](crate::runtime()) to the share the environment names;
    /// see [`smb_async::Share::from_env`].
    ///
    /// # Errors
    ///
    /// As for [`smb_async::Share::from_env`].
    pub async fn from_env() -> Result<Share> {
        smb_async::Share::from_env(runtime()).await.map(Share)
    }

    /// Connects on [`runtime()`](crate::runtime()) to `target`.
    ///
    /// # Errors
    ///
    /// As for [`smb_async::Share::connect`].
    pub async fn connect_with(target: &ShareTarget) -> Result<Share> {
        smb_async::Share::connect_with(target, runtime())
            .await
            .map(Share)
    }

    /// `share` on a connection already made; see [`smb_async::Share::on`].
    ///
    /// # Errors
    ///
    /// The tree connect's error.
    pub async fn on(client: Client, share: &str) -> Result<Share> {
        smb_async::Share::on(client, share).await.map(Share)
    }

    /// The runtime-neutral handle.
    pub fn into_inner(self) -> smb_async::Share {
        self.0
    }
}

impl<S: AsRef<str>> Div<S> for &Share {
    type Output = SmbPath;

    /// `&share / "dir"`: [`smb_async::Share::path`].
    fn div(self, path: S) -> SmbPath {
        self.0.path(path.as_ref())
    }
}
