//! Wire codecs: one file per SMB2 command (MS-SMB2 2.2.x) plus the header, the
//! transform header, the MS-FSCC information classes and the MS-DTYP security descriptor;
//! SMB1's in [`smb1`].
//!
//! Conventions shared by every file here:
//! * A request's `encode(&self, out: &mut Vec<u8>)` appends the body that follows the
//!   64-byte header. The header has already been appended, so buffer offsets written into
//!   the body are `HEADER_LEN + (position - body_start)`.
//! * A response's `decode(msg: &Bytes)` takes the whole message starting at its header
//!   (offsets in SMB2 are relative to the header) and returns payloads as zero-copy
//!   `Bytes` slices of `msg`.

pub mod codec;
pub mod header;

pub mod close;
pub mod create;
pub mod dfs;
pub mod error;
pub mod fscc;
pub mod ioctl;
pub mod lock;
pub mod negotiate;
pub mod notify;
pub mod oplock_break;
pub mod query_directory;
pub mod query_info;
pub mod read;
pub mod request;
pub mod security;
pub mod session_setup;
pub mod set_info;
pub mod simple;
pub mod smb1;
pub mod transform;
pub mod tree_connect;
pub mod write;

pub use codec::DecodeError;
pub use header::{compound_messages, Command, Header, HEADER_LEN};
