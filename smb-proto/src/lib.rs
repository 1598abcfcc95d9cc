//! A sans-IO SMB2/3 client protocol core.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod wire;
