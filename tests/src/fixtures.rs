//! Test data and error helpers shared by the integration tests, the benchmark and the
//! recorder.
//!
//! Like [`recording`](crate::recording), this file is also compiled into
//! `smb-proto/tests/replay.rs` (through `#[path]`), so it uses only `smb_proto`, `sha2`
//! and std.

use sha2::{Digest, Sha256};

/// Deterministic pseudo-random bytes (xorshift64, eight bytes a step): no period a test
/// could hit, so a misplaced chunk changes the hash, and fast enough for 100 MiB. Seeds
/// below 2^63 each start their own sequence (the state is `2 * seed + 1`, never zero), so
/// files made from seeds 0, 1, 2… differ and cannot stand in for each other.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut s = (seed << 1) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.extend_from_slice(&s.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// SHA-256 of `b`, to compare large contents and name them in failure messages.
pub fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// The protocol error inside a driver's error; panics (naming it) on a local I/O error.
pub fn smb_error(e: &smb_proto::client::ClientError) -> &smb_proto::Error {
    match e {
        smb_proto::client::ClientError::Smb(e) => e,
        other => panic!("expected an SMB error, got {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_deterministic_and_seeded() {
        assert_eq!(data(1000, 7), data(1000, 7));
        assert_ne!(data(1000, 0), data(1000, 1));
        assert_eq!(data(13, 7).len(), 13);
        assert_eq!(data(13, 7)[..], data(1000, 7)[..13]);
        // No short period: the second MiB is not the first again.
        let d = data(2 << 20, 1);
        assert_ne!(d[..1 << 20], d[1 << 20..]);
    }
}
