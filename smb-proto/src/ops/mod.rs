//! Operations: what a caller asks of a connection, from one request to multi-step
//! procedures (a whole-file read with many READs in flight, a directory listing until
//! NO_MORE_FILES, a wildcard delete). Each runs inside the core as a state machine fed
//! by responses; drivers only pump bytes.

mod file;
mod login;
mod meta;
pub mod path;
mod transfer;

use bytes::Bytes;

use crate::auth::ntlm::Credentials;
use crate::auth::spnego::Authenticator;
use crate::connection::Operation;
use crate::wire::create::FileId;
use crate::wire::fscc::FileTime;

pub use file::OpenOptions;

/// A tree (share) this connection is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TreeId(pub u32);

/// An open file or directory on a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handle {
    /// The tree it lives on.
    pub tree: TreeId,
    /// The server's file id.
    pub file_id: FileId,
}

/// What a caller asks of the connection. Paths are share-relative and follow the
/// [path rules](path): `/` or `\` separated, no `..`, a trailing separator names a
/// directory.
pub enum Op {
    /// SESSION_SETUP rounds with NTLMv2 in SPNEGO (anonymous when the credentials are).
    Login(Credentials),
    /// SESSION_SETUP rounds with another authenticator.
    Authenticate {
        /// Produces the security tokens.
        auth: Box<dyn Authenticator + Send>,
        /// User name, for error messages.
        user: String,
    },
    /// TREE_CONNECT to `\\server\share`.
    TreeConnect {
        /// Share name.
        share: String,
    },
    /// TREE_DISCONNECT.
    TreeDisconnect(TreeId),
    /// LOGOFF.
    Logoff,
    /// ECHO round trip.
    Echo,
    /// CREATE with the given options → [`Output::Opened`].
    Open {
        /// The tree.
        tree: TreeId,
        /// The path.
        path: String,
        /// Access, disposition and options.
        options: OpenOptions,
    },
    /// One READ → [`Output::Data`] (fewer bytes at end of file; empty at or past it).
    Read {
        /// The open file.
        handle: Handle,
        /// File offset.
        offset: u64,
        /// Bytes wanted (capped to the negotiated maximum).
        len: u32,
    },
    /// One or more WRITEs of `data` at `offset` → [`Output::Written`] with the full count.
    Write {
        /// The open file.
        handle: Handle,
        /// File offset.
        offset: u64,
        /// The bytes.
        data: Bytes,
    },
    /// FLUSH.
    Flush(Handle),
    /// Metadata of an open file (QUERY_INFO FileAllInformation) → [`Output::Info`]; the
    /// size is current, unlike a path lookup after a rename.
    QueryInfo(Handle),
    /// CLOSE.
    Close(Handle),
    /// Attributes of a path in one compound (CREATE + QUERY_INFO + CLOSE) → [`Output::Info`].
    Stat {
        /// The tree.
        tree: TreeId,
        /// The path.
        path: String,
    },
    /// Directory entries matching `pattern` (`*` for all) → [`Output::Entries`].
    ListDir {
        /// The tree.
        tree: TreeId,
        /// The directory.
        path: String,
        /// Wildcard pattern.
        pattern: String,
    },
    /// Like [`Op::ListDir`], a page at a time: each QUERY_DIRECTORY response's entries come
    /// as [`Event::Entries`](crate::Event::Entries), and the next page is asked for only when
    /// the driver calls [`Connection::supply`](crate::Connection::supply), so a caller that
    /// reads slowly holds one page, not the whole directory → [`Output::Count`] of entries.
    ListDirPaged {
        /// The tree.
        tree: TreeId,
        /// The directory.
        path: String,
        /// Wildcard pattern.
        pattern: String,
    },
    /// Create a directory.
    Mkdir {
        /// The tree.
        tree: TreeId,
        /// The new directory.
        path: String,
    },
    /// Create a directory and any missing parents, like `mkdir -p`; existing ones are
    /// kept, a file in the way fails with STATUS_NOT_A_DIRECTORY.
    MkdirAll {
        /// The tree.
        tree: TreeId,
        /// The directory.
        path: String,
    },
    /// Remove an empty directory.
    Rmdir {
        /// The tree.
        tree: TreeId,
        /// The directory.
        path: String,
    },
    /// Delete the files matching the wildcard in the last path component →
    /// [`Output::Count`]. No match is STATUS_NO_SUCH_FILE.
    Delete {
        /// The tree.
        tree: TreeId,
        /// `dir/name` or `dir/*.txt`.
        path: String,
    },
    /// Rename or move within the share.
    Rename {
        /// The tree.
        tree: TreeId,
        /// Current path.
        from: String,
        /// New path.
        to: String,
        /// Replace an existing target.
        replace: bool,
    },
    /// Stream a file's bytes as [`Event::Data`](crate::Event::Data) in order, with many
    /// READs in flight → [`Output::Transferred`]. Reads from `offset` up to `max_len`
    /// bytes (to the end when `None`).
    ReadFile {
        /// The tree.
        tree: TreeId,
        /// The file.
        path: String,
        /// Start offset.
        offset: u64,
        /// Most bytes to read.
        max_len: Option<u64>,
    },
    /// Create or overwrite a file from bytes the driver supplies after
    /// [`Event::WantData`](crate::Event::WantData), with many WRITEs in flight →
    /// [`Output::Transferred`].
    WriteFile {
        /// The tree.
        tree: TreeId,
        /// The file.
        path: String,
    },
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Login(c) => f.debug_tuple("Login").field(c).finish(),
            Op::Authenticate { user, .. } => f
                .debug_struct("Authenticate")
                .field("user", user)
                .finish_non_exhaustive(),
            Op::TreeConnect { share } => {
                f.debug_struct("TreeConnect").field("share", share).finish()
            }
            other => f.write_str(other.name()),
        }
    }
}

impl Op {
    /// A short name for messages ("open", "rename", …).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Login(_) | Op::Authenticate { .. } => "login",
            Op::TreeConnect { .. } => "tree connect",
            Op::TreeDisconnect(_) => "tree disconnect",
            Op::Logoff => "logoff",
            Op::Echo => "echo",
            Op::Open { .. } => "open",
            Op::Read { .. } => "read",
            Op::Write { .. } => "write",
            Op::Flush(_) => "flush",
            Op::QueryInfo(_) => "query info",
            Op::Close(_) => "close",
            Op::Stat { .. } => "stat",
            Op::ListDir { .. } | Op::ListDirPaged { .. } => "list",
            Op::Mkdir { .. } | Op::MkdirAll { .. } => "mkdir",
            Op::Rmdir { .. } => "rmdir",
            Op::Delete { .. } => "delete",
            Op::Rename { .. } => "rename",
            Op::ReadFile { .. } => "get",
            Op::WriteFile { .. } => "put",
        }
    }

    /// Checks every path and name against the [path rules](path) before anything is
    /// sent: no `..`, no NUL, nothing too long for the wire, a pattern or share that is
    /// one component, and no file-only operation on a path that names a directory.
    pub(crate) fn check(&self) -> Result<(), crate::error::Error> {
        use crate::error::PathError;
        let op = self.name();
        let fail = |path: &str, problem| crate::error::Error::Path {
            op,
            path: path.to_string(),
            problem,
        };
        // Paths that may name a directory, and paths that must name a file.
        let (any, files): (Vec<&str>, Vec<&str>) = match self {
            Op::TreeConnect { share } => {
                return path::check_share(share).map_err(|p| fail(share, p));
            }
            Op::Open { path, options, .. } => {
                if options.create_options & crate::wire::create::create_options::NON_DIRECTORY_FILE
                    != 0
                {
                    (vec![], vec![path])
                } else {
                    (vec![path], vec![])
                }
            }
            Op::Stat { path, .. }
            | Op::Mkdir { path, .. }
            | Op::MkdirAll { path, .. }
            | Op::Rmdir { path, .. } => (vec![path], vec![]),
            Op::ListDir { path, pattern, .. } | Op::ListDirPaged { path, pattern, .. } => {
                path::check_pattern(pattern).map_err(|p| fail(pattern, p))?;
                (vec![path], vec![])
            }
            Op::Delete { path, .. } | Op::ReadFile { path, .. } | Op::WriteFile { path, .. } => {
                (vec![], vec![path])
            }
            Op::Rename { from, to, .. } => (vec![from], vec![to]),
            _ => (vec![], vec![]),
        };
        for p in any {
            path::parse(p).map_err(|e| fail(p, e))?;
        }
        for p in files {
            let parsed = path::parse(p).map_err(|e| fail(p, e))?;
            if parsed.name.is_empty() {
                return Err(fail(p, PathError::EmptyName));
            }
            if parsed.names_directory {
                return Err(fail(p, PathError::NamesDirectory));
            }
        }
        Ok(())
    }

    pub(crate) fn into_operation(self) -> Box<dyn Operation> {
        match self {
            Op::Login(c) => Box::new(login::Login::with_credentials(c)),
            Op::Authenticate { auth, user } => {
                Box::new(login::Login::with_authenticator(auth, user))
            }
            Op::TreeConnect { share } => Box::new(login::TreeConnect::new(share)),
            Op::TreeDisconnect(tree) => Box::new(file::Simple::tree_disconnect(tree)),
            Op::Logoff => Box::new(file::Simple::logoff()),
            Op::Echo => Box::new(file::Simple::echo()),
            Op::Open {
                tree,
                path,
                options,
            } => Box::new(file::Open::new(tree, path, options)),
            Op::Read {
                handle,
                offset,
                len,
            } => Box::new(file::Simple::read(handle, offset, len)),
            Op::Write {
                handle,
                offset,
                data,
            } => Box::new(transfer::WriteAt::new(handle, offset, data)),
            Op::Flush(h) => Box::new(file::Simple::flush(h)),
            Op::QueryInfo(h) => Box::new(file::Simple::query_info(h)),
            Op::Close(h) => Box::new(file::Simple::close(h)),
            Op::Stat { tree, path } => Box::new(meta::Stat::new(tree, path)),
            Op::ListDir {
                tree,
                path,
                pattern,
            } => Box::new(meta::ListDir::new(tree, path, pattern)),
            Op::ListDirPaged {
                tree,
                path,
                pattern,
            } => Box::new(meta::ListDir::paged(tree, path, pattern)),
            Op::Mkdir { tree, path } => Box::new(meta::PathOp::mkdir(tree, path)),
            Op::MkdirAll { tree, path } => Box::new(meta::MkdirAll::new(tree, path)),
            Op::Rmdir { tree, path } => Box::new(meta::PathOp::rmdir(tree, path)),
            Op::Delete { tree, path } => Box::new(meta::Delete::new(tree, path)),
            Op::Rename {
                tree,
                from,
                to,
                replace,
            } => Box::new(meta::PathOp::rename(tree, from, to, replace)),
            Op::ReadFile {
                tree,
                path,
                offset,
                max_len,
            } => Box::new(transfer::ReadFile::new(tree, path, offset, max_len)),
            Op::WriteFile { tree, path } => Box::new(transfer::WriteFile::new(tree, path)),
        }
    }
}

/// File metadata, from CREATE, QUERY_INFO or a directory entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileInfo {
    /// Name (the last path component; empty for the share root).
    pub name: String,
    /// End of file: the size in bytes.
    pub size: u64,
    /// Allocation size.
    pub allocation_size: u64,
    /// MS-FSCC 2.6 attributes.
    pub attributes: u32,
    /// Creation time.
    pub creation_time: FileTime,
    /// Last access time.
    pub last_access_time: FileTime,
    /// Last write time.
    pub last_write_time: FileTime,
    /// Change time.
    pub change_time: FileTime,
}

impl FileInfo {
    /// Whether this is a directory.
    pub fn is_directory(&self) -> bool {
        self.attributes & crate::wire::fscc::file_attributes::DIRECTORY != 0
    }
}

/// What a finished operation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Nothing beyond success.
    Done,
    /// Logged in.
    LoggedIn {
        /// Whether the server made it a guest (or anonymous) session.
        is_guest: bool,
    },
    /// Connected to a tree.
    Tree(TreeId),
    /// Opened a file.
    Opened(Handle, FileInfo),
    /// Bytes read.
    Data(Bytes),
    /// Bytes written.
    Written(u64),
    /// Metadata.
    Info(FileInfo),
    /// Directory entries (without `.` and `..`).
    Entries(Vec<FileInfo>),
    /// How many items were affected.
    Count(u64),
    /// Bytes moved by a whole-file transfer.
    Transferred(u64),
}

/// Typed accessors, for a driver that knows which output its operation ends with.
impl Output {
    /// The variant's name, for an error that should not dump the data it carries.
    fn kind(&self) -> &'static str {
        match self {
            Output::Done => "Done",
            Output::LoggedIn { .. } => "LoggedIn",
            Output::Tree(_) => "Tree",
            Output::Opened(..) => "Opened",
            Output::Data(_) => "Data",
            Output::Written(_) => "Written",
            Output::Info(_) => "Info",
            Output::Entries(_) => "Entries",
            Output::Count(_) => "Count",
            Output::Transferred(_) => "Transferred",
        }
    }

    fn unexpected(&self, want: &str) -> crate::Error {
        crate::Error::Invalid(format!(
            "operation ended with output {}, expected {want}",
            self.kind()
        ))
    }

    /// The tree of [`Output::Tree`], else an [`Error::Invalid`](crate::Error::Invalid).
    pub fn into_tree(self) -> Result<TreeId, crate::Error> {
        match self {
            Output::Tree(t) => Ok(t),
            other => Err(other.unexpected("Tree")),
        }
    }

    /// The handle and facts of [`Output::Opened`], else an error.
    pub fn into_opened(self) -> Result<(Handle, FileInfo), crate::Error> {
        match self {
            Output::Opened(h, i) => Ok((h, i)),
            other => Err(other.unexpected("Opened")),
        }
    }

    /// The bytes of [`Output::Data`], else an error.
    pub fn into_data(self) -> Result<Bytes, crate::Error> {
        match self {
            Output::Data(d) => Ok(d),
            other => Err(other.unexpected("Data")),
        }
    }

    /// The byte count of [`Output::Written`], else an error.
    pub fn into_written(self) -> Result<u64, crate::Error> {
        match self {
            Output::Written(n) => Ok(n),
            other => Err(other.unexpected("Written")),
        }
    }

    /// The metadata of [`Output::Info`], else an error.
    pub fn into_info(self) -> Result<FileInfo, crate::Error> {
        match self {
            Output::Info(i) => Ok(i),
            other => Err(other.unexpected("Info")),
        }
    }

    /// The entries of [`Output::Entries`], else an error.
    pub fn into_entries(self) -> Result<Vec<FileInfo>, crate::Error> {
        match self {
            Output::Entries(e) => Ok(e),
            other => Err(other.unexpected("Entries")),
        }
    }

    /// The number of [`Output::Count`], else an error.
    pub fn into_count(self) -> Result<u64, crate::Error> {
        match self {
            Output::Count(n) => Ok(n),
            other => Err(other.unexpected("Count")),
        }
    }

    /// The byte count of [`Output::Transferred`], else an error.
    pub fn into_transferred(self) -> Result<u64, crate::Error> {
        match self {
            Output::Transferred(n) => Ok(n),
            other => Err(other.unexpected("Transferred")),
        }
    }
}

/// Splits `dir\name` into (`dir`, `name`).
pub(crate) fn split_parent(path: &str) -> (String, String) {
    let p = path::wire_name(path);
    match p.rfind('\\') {
        Some(i) => (p[..i].to_string(), p[i + 1..].to_string()),
        None => (String::new(), p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_at_their_last_component() {
        assert_eq!(
            split_parent("/x/y/z.txt"),
            ("x\\y".to_string(), "z.txt".to_string())
        );
        assert_eq!(split_parent("z"), (String::new(), "z".to_string()));
    }

    #[test]
    fn typed_accessors_take_their_variant_and_name_any_other() {
        assert_eq!(Output::Count(3).into_count().unwrap(), 3);
        assert_eq!(Output::Transferred(7).into_transferred().unwrap(), 7);
        assert!(Output::Entries(vec![]).into_entries().unwrap().is_empty());
        match Output::Data(Bytes::from_static(b"secret bytes")).into_info() {
            Err(crate::Error::Invalid(msg)) => {
                assert!(msg.contains("Data") && msg.contains("Info"), "{msg}");
                assert!(!msg.contains("secret"), "{msg}");
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert!(Output::Done.into_tree().is_err());
        assert!(Output::Written(1).into_opened().is_err());
    }
}
