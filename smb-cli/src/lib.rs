//! The library half of the `smb` tool: what its subcommands share with tests and other
//! programs. Today that is the capture dissector behind `smb dissect`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dissect;
