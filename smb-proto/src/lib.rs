//! A sans-IO SMB2/3 client protocol core.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod auth;
pub mod crypto;
pub mod ntstatus;
pub mod rng;
pub mod url;
pub mod wire;
