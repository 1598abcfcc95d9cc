//! This project's integration tests, the benchmark and the recorder, on the public
//! test-server crate ([`smb_test_server`], re-exported here): a private Samba `smbd` on
//! loopback, one per test.
//!
//! Every integration test starts its own server, configured for what it checks (dialect caps,
//! signing, encryption, guest or read-only shares), so tests run in parallel without sharing
//! state. Everything Samba writes lives in one temporary directory that is removed, together
//! with every process the server started, when the [`SambaServer`] is dropped.
//!
//! The NetBIOS name service is the exception: [`nmbd::NmbServer`] runs one private `nmbd`
//! at a time per machine (it must bind UDP port 137), and tests take turns.
//!
//! ```no_run
//! use smb_tests::{SambaServer, Share};
//!
//! let server = SambaServer::builder()
//!     .share(Share::new("share"))
//!     .global("server max protocol", "SMB2_10")
//!     .start();
//! std::fs::write(server.share_path("share").join("fixture.txt"), b"hello").unwrap();
//! let out = server.smbclient("share", "ls");
//! assert!(out.status.success(), "{}", server.log());
//! println!("{}", server.url("share"));
//! ```
//!
//! The harness needs root (it creates a Unix account for the test user and runs `smbd`) and
//! the Debian packages `samba` and `smbclient` (`scripts/install-deps.sh`).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

/// The README's examples, compiled (and the runnable ones run) by `cargo test`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;

pub mod dfs;
pub mod example;
pub mod fixtures;
pub mod logs;
pub mod proxy;
pub mod recording;
pub mod script;
pub mod share_env;

// The harness is the public test-server crate; these tests use it through here.
pub use smb_test_server::*;
