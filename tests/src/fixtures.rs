//! Test data and error helpers shared by the integration tests, the benchmark and the
//! recorder.
//!
//! Like [`script`](crate::script), this file is also compiled into
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

/// A local tree for transfer tests: `files` files of sizes 0 B to 2 MiB spread over
/// nested directories, and one empty directory (`empty-dir`) → each file's path below
/// `root` (`/`-separated) and its SHA-256.
pub fn make_tree(root: &std::path::Path, files: usize) -> Vec<(String, [u8; 32])> {
    let mut expected = Vec::new();
    for i in 0..files {
        let rel = format!("d{}/sub{}/f{i:03}.bin", i % 7, i % 3);
        let path = root.join(&rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        let content = data([0, 1, 4096, 65_537, 2_100_000][i % 5], i as u64);
        std::fs::write(&path, &content).expect("write");
        expected.push((rel, sha256(&content)));
    }
    std::fs::create_dir_all(root.join("empty-dir")).expect("mkdir");
    expected
}

/// Panics unless `root` holds every file of [`make_tree`] with its content, and its empty
/// directory; `what` names the copy in the message.
pub fn check_tree(root: &std::path::Path, expected: &[(String, [u8; 32])], what: &str) {
    for (rel, digest) in expected {
        let got = std::fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{what} {rel}: {e}"));
        assert_eq!(sha256(&got), *digest, "{what} {rel}");
    }
    assert!(root.join("empty-dir").is_dir(), "{what}: empty-dir");
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
