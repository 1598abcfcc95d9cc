//! Operations: what a caller asks of a connection, from one request to multi-step
//! procedures (a whole-file read with many READs in flight, a directory listing until
//! NO_MORE_FILES, a wildcard delete, a share listing over SRVSVC). Each is a typed
//! [`Operation`] that runs inside the core as a state machine fed by responses; drivers
//! only pump bytes, and run any operation (these, or a caller's own) through one generic
//! `call`.
//!
//! Operations that work on a share name it; the core connects the share's tree once,
//! shares it between operations, and connects it again after the server drops it
//! (STATUS_NETWORK_NAME_DELETED). Paths follow the [path rules](path).
//!
//! # Adding an operation
//!
//! One file here: a struct holding what the operation needs and its progress, and an
//! [`Operation`] impl. [`Stat`] is a small real one (a CREATE + CLOSE compound); the
//! [`Operation`] trait's documentation has the smallest possible one, written out in full.

mod channels;
mod copy;
mod dfs;
mod durable;
mod file;
mod fsinfo;
mod io;
pub mod lease;
mod lock;
mod login;
mod meta;
pub mod path;
mod pathlib;
mod raw;
mod security;
mod shares;
mod smb1;
mod snapshots;
mod streams;
mod transfer;
mod tree;
mod watch;

pub use crate::connection::{
    BoxedOp, BreakKey, ChildId, Fail, OpContext, OpHandle, OpOutput, Operation, Progress,
    RequestOptions, Response,
};
pub use channels::QueryInterfaces;
pub use copy::{Copied, CopyDestination, CopyFile, CopyLimits};
pub use dfs::GetDfsReferral;
pub use durable::{DurableOpen, Reclaim};
pub use file::{
    Close, ConnectShare, Echo, Flush, Logoff, Open, OpenOptions, QueryInfo, Read, SetInfo,
    SharedTree, TreeDisconnect,
};
pub use fsinfo::{FsInfo, StatFs};
pub use lease::{LeaseState, LeaseStatus, ReadCache, READ_CACHE_LIMIT};
pub use lock::{Lock, LockKind, MAX_LOCK_RANGES};
pub(crate) use login::TreeConnect;
pub use login::{LoggedIn, Login};
pub use meta::{
    Delete, ListDir, ListDirPaged, Mkdir, MkdirAll, Rename, ResetAttributes, Rmdir, SetBasicInfo,
    Stat, Touch, Truncate,
};
pub use pathlib::{Append, FileInfoClass, MakeDirectory, PathInfo, QueryPathInfo};
pub use raw::{HeaderFields, Raw};
pub use security::{GetSecurity, SetSecurity};
pub use shares::{ListServers, ListShares, ShareInfo, ShareType};
pub use snapshots::ListSnapshots;
pub use streams::{GetEas, ListStreams, SetEas, StreamInfo};
pub use transfer::{ReadFile, ReadRange, Write, WriteFile};
pub use tree::{
    ListTree, ListTreeTop, RemoveTree, RetrieveFiles, StoreFiles, TreeEntry, TreeTop,
    FILES_IN_FLIGHT, MAX_TREE_DEPTH,
};
pub use watch::{Change, Watch, DEFAULT_FILTER};

use crate::wire::create::FileId;
use crate::wire::fscc::{file_attributes, FileTime};

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

/// File metadata, from CREATE, QUERY_INFO or a directory entry: pysmb's `SharedFile`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileInfo {
    /// Name (the last path component; empty for the share root).
    pub name: String,
    /// The 8.3 short name a directory listing reports (empty when the server has none,
    /// and for [`Stat`]).
    pub short_name: String,
    /// The server's file id (MS-FSCC 2.1.9 FileId / IndexNumber); 0 when unknown (an
    /// [`Open`]'s facts).
    pub file_id: u64,
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
        self.attributes & file_attributes::DIRECTORY != 0
    }

    /// Whether it is read-only (FILE_ATTRIBUTE_READONLY).
    pub fn is_read_only(&self) -> bool {
        self.attributes & file_attributes::READONLY != 0
    }

    /// Whether it is hidden (FILE_ATTRIBUTE_HIDDEN).
    pub fn is_hidden(&self) -> bool {
        self.attributes & file_attributes::HIDDEN != 0
    }

    /// pysmb's `isNormal`: a file that is not read-only, hidden, system, archive or a
    /// directory; other attributes (compressed, sparse, temporary…) do not count.
    pub fn is_normal(&self) -> bool {
        self.attributes & search::NOT_NORMAL == 0
    }
}

/// pysmb's `search` masks for [`ListDir::search`]: which entries a listing keeps, by
/// their attributes. An entry with any of the mask's attribute bits is kept; a "normal"
/// one (none of read-only, hidden, system, volume, directory, archive; only the low byte
/// of the attributes counts) is kept when the mask is [`NORMAL`](search::NORMAL) (0) or
/// holds [`INCL_NORMAL`](search::INCL_NORMAL).
pub mod search {
    use crate::wire::fscc::file_attributes;

    /// Only normal entries.
    pub const NORMAL: u32 = 0;
    /// Read-only entries.
    pub const READ_ONLY: u32 = file_attributes::READONLY;
    /// Hidden entries.
    pub const HIDDEN: u32 = file_attributes::HIDDEN;
    /// System entries.
    pub const SYSTEM: u32 = file_attributes::SYSTEM;
    /// Volume labels.
    pub const VOLUME: u32 = 0x08;
    /// Directories.
    pub const DIRECTORY: u32 = file_attributes::DIRECTORY;
    /// Entries marked for archiving.
    pub const ARCHIVE: u32 = file_attributes::ARCHIVE;
    /// pysmb's own bit (not on the wire): normal entries too.
    pub const INCL_NORMAL: u32 = 0x1_0000;
    /// pysmb's `listPath` default: everything.
    pub const DEFAULT: u32 = READ_ONLY | HIDDEN | SYSTEM | DIRECTORY | ARCHIVE | INCL_NORMAL;
    /// The attributes that make an entry not normal, for [`FileInfo::is_normal`](super::FileInfo::is_normal).
    pub(crate) const NOT_NORMAL: u32 = READ_ONLY | HIDDEN | SYSTEM | DIRECTORY | ARCHIVE;

    /// Whether a listing with mask `mask` keeps an entry with `attributes`.
    pub fn accepts(mask: u32, attributes: u32) -> bool {
        // FILE_ATTRIBUTE_NORMAL (0x80) alone also means "no attributes".
        let low = attributes & 0xff;
        if low == 0 || low == file_attributes::NORMAL {
            mask == NORMAL || mask & INCL_NORMAL != 0
        } else {
            attributes & mask & 0xff != 0
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
}
