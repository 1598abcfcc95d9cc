//! A sans-IO SMB2/3 client protocol core.
//!
//! SMB1 (NT LM 0.12) is off by default and unsafe; [`Dialect::Nt1`] as the lowest
//! dialect ([`Config::min_dialect`], `ConnectOptions::smb1`) turns it on for servers that
//! speak nothing newer. So far an SMB1 connection logs in, signs (MD5), connects trees,
//! echoes, logs off, moves file data (whole-file reads and writes, [`ops::ReadFile`] and
//! [`ops::WriteFile`], and open files: [`ops::Open`], [`ops::Read`], [`ops::Write`],
//! [`ops::Flush`], [`ops::Close`]), lists directories (paged too), stats, makes and
//! removes directories (`mkdir -p` too), deletes and renames, and sets times, attributes
//! and sizes by path (TRANSACTION2 and the core path commands); other operations fail with
//! [`Error::Unsupported`].
//!
//! [`Connection`] consumes and emits byte buffers and never touches a socket, a clock,
//! a thread or a random source of its own: time comes in as an argument, randomness
//! from the seed in [`Config`], so a recorded session replays byte for byte ([`replay`]).
//!
//! # The drain rule
//!
//! A driver runs this loop:
//!
//! 1. `Connection::new(config, now)`; then for each operation `conn.start(op, now)`
//!    (any [`Operation`]: those in [`ops`], or one of the caller's own).
//! 2. After **every** `handle_input`, `handle_timeout`, `start`, `supply` or `cancel`:
//!    a. write everything [`Connection::poll_transmit`] gives (one write per batch), or
//!    use [`Connection::poll_transmit_vectored`] to send large WRITE payloads from the
//!    caller's buffers without copying them;
//!    b. drain [`Connection::poll_event`] until `None`.
//! 3. Wait for the socket to be readable or for [`Connection::poll_timeout`]; feed bytes
//!    to [`Connection::handle_input`] (partial frames stay in the buffer; reading
//!    [`Connection::read_hint`] bytes completes the current frame), or call
//!    [`Connection::handle_timeout`]; go to 2.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use smb_proto::{ops, Config, Connection, Event};
//!
//! let mut sock = std::net::TcpStream::connect("127.0.0.1:445").unwrap();
//! let mut conn = Connection::new(Config::new("127.0.0.1", [7; 32]), Instant::now());
//! let echo = conn.start(ops::Echo, Instant::now());
//! let (mut rx, mut tx) = (BytesMut::new(), Vec::new());
//! loop {
//!     if conn.poll_transmit(&mut tx) { sock.write_all(&tx).unwrap(); tx.clear(); }
//!     while let Some(ev) = conn.poll_event() {
//!         if let Event::Done { id, result } = ev {
//!             if id == echo.id() { println!("{:?}", echo.output(result)); return; }
//!         }
//!     }
//!     let mut chunk = [0u8; 65536];
//!     let n = sock.read(&mut chunk).unwrap();
//!     rx.extend_from_slice(&chunk[..n]);
//!     conn.handle_input(Instant::now(), &mut rx);
//! }
//! ```
// `deny`, not `forbid`: one module, `crypto::gcm`, calls CPU-feature-gated functions
// after checking the features at run time (measured reason in its documentation).
#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod auth;
pub mod client;
pub mod config;
pub mod connection;
pub mod crypto;
pub mod error;
mod idmap;
pub mod netbios;
pub mod ntstatus;
pub mod ops;
pub mod replay;
pub mod rng;
pub mod rpc;
pub mod url;
pub mod wire;

pub use config::{Config, Dialect, SigningPolicy};
pub use connection::framing::{SessionRefusal, Transport};
pub use connection::{
    ChannelSeed, Connection, Event, Negotiated, OpId, SessionInfo, SessionSlot, Smb1Negotiated,
};
/// The `der` crate the Kerberos messages ([`auth::kerberos::asn1`]) are written in, so that
/// callers use the same version for their fields and `Encode`/`Decode`.
pub use der;
pub use error::{
    CloseReason, EncryptionFailure, Error, ErrorKind, NegotiateFailure, PathError, Trail,
    TrailEntry, Violation,
};
pub use ntstatus::{Errno, NtStatus};
pub use ops::{
    FileInfo, FsInfo, Handle, OpHandle, OpOutput, OpenOptions, Operation, ShareInfo, ShareType,
    TreeId,
};
