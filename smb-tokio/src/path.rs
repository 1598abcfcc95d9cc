//! [`smb_async::Share`] on tokio: the same share handle and paths, connected on the
//! current tokio runtime; files a path opens convert to this crate's [`File`] for
//! tokio's I/O traits.

use std::ops::{Deref, Div};

use smb_async::{Creds, ShareTarget, SmbPath};

use crate::{runtime, Client, File, Result};

/// A connection and one of its shares (pike's `TreeConnect`) on tokio; everything else
/// is [`smb_async::Share`]'s (through `Deref`), paths included.
///
/// ```no_run
/// # async fn demo() -> smb_tokio::Result<()> {
/// use smb_tokio::{File, Share};
/// use tokio::io::AsyncReadExt;
///
/// let share = Share::connect("fileserver", r"CORP\alice%secret", "data").await?;
/// let notes = &share / "notes.txt";
/// notes.write_text("hello\n").await?;
/// let mut text = String::new();
/// File::from(notes.open("r").await?).read_to_string(&mut text).await?;
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
    /// Connects on the current tokio runtime; see [`smb_async::Share::connect`].
    ///
    /// # Errors
    ///
    /// As for [`smb_async::Share::connect`].
    pub async fn connect(server: &str, creds: impl Into<Creds>, share: &str) -> Result<Share> {
        smb_async::Share::connect(server, creds, share, runtime())
            .await
            .map(Share)
    }

    /// Connects on the current tokio runtime to the share the environment names; see
    /// [`smb_async::Share::from_env`].
    ///
    /// # Errors
    ///
    /// As for [`smb_async::Share::from_env`].
    pub async fn from_env() -> Result<Share> {
        smb_async::Share::from_env(runtime()).await.map(Share)
    }

    /// Connects on the current tokio runtime to `target`.
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
    pub async fn on(client: &Client, share: &str) -> Result<Share> {
        smb_async::Share::on((**client).clone(), share)
            .await
            .map(Share)
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

impl From<smb_async::File> for File {
    /// A file opened through the runtime-neutral client (by
    /// [`SmbPath::open`], say), with tokio's I/O traits.
    fn from(file: smb_async::File) -> File {
        File(file, None)
    }
}
