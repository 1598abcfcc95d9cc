//! Wire codecs: one file per SMB2 command (MS-SMB2 2.2.x) plus the header, the
//! transform header and the MS-FSCC information classes.
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

pub use codec::DecodeError;
pub use header::{Command, Header, HEADER_LEN};
