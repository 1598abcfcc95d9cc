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

/// The files and directories below `dir`, as paths from it, `/`-separated.
pub fn local_tree(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let e = e.expect("directory entry");
            let name = e.file_name().into_string().expect("a UTF-8 name");
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().expect("file type").is_dir() {
                stack.push((e.path(), path.clone()));
            }
            out.insert(path);
        }
    }
    out
}

/// A tree for wildcard tests: 16 directories nested up to three deep under `root`
/// (itself included), each with 31 files whose names differ in case, dots, spaces,
/// extensions and the length of their numbers (`a1.txt`, `B10.TXT`, `c2.log`,
/// `noext11`, `r12.tar.gz`, `x y 1.md`, `.hidden`) → how many files (496).
pub fn make_glob_tree(root: &std::path::Path) -> usize {
    let mut dirs = vec![root.to_path_buf()];
    for top in ["alpha", "Beta", "gamma.d"] {
        let t = root.join(top);
        for sub in ["Sub1", "sub2", "deep.er"] {
            dirs.push(t.join(sub));
        }
        dirs.push(t.join("deep.er/leaf"));
        dirs.push(t);
    }
    let mut files = 0;
    for d in &dirs {
        std::fs::create_dir_all(d).expect("mkdir");
        let names = [1, 2, 10, 11, 12].into_iter().flat_map(|i| {
            [
                format!("a{i}.txt"),
                format!("B{i}.TXT"),
                format!("c{i}.log"),
                format!("noext{i}"),
                format!("r{i}.tar.gz"),
                format!("x y {i}.md"),
            ]
        });
        for name in names.chain([".hidden".to_string()]) {
            std::fs::write(d.join(name), b"x").expect("write");
            files += 1;
        }
    }
    files
}

/// The patterns the wildcard tests try on [`make_glob_tree`]'s names.
pub const GLOB_PATTERNS: [&str; 10] = [
    "*", "*.txt", "A?.TXT", "*.tar.*", "b*", "*1*", "sub?", "*.*", "x y ?.md", "nothing*",
];

/// Whether `name` matches `pattern` (one of [`GLOB_PATTERNS`]), decided with plain
/// string tests rather than a wildcard matcher, so the matcher under test is checked
/// against something independent of it.
pub fn glob_oracle(pattern: &str, name: &str) -> bool {
    let n = name.to_lowercase();
    match pattern {
        "*" => true,
        "*.txt" => n.ends_with(".txt"),
        "A?.TXT" => n.len() == 6 && n.starts_with('a') && n.ends_with(".txt"),
        "*.tar.*" => n.contains(".tar."),
        "b*" => n.starts_with('b'),
        "*1*" => n.contains('1'),
        "sub?" => n.len() == 4 && n.starts_with("sub"),
        "*.*" => n.contains('.'),
        "x y ?.md" => n.len() == 8 && n.starts_with("x y ") && n.ends_with(".md"),
        "nothing*" => false,
        _ => panic!("no oracle for {pattern:?}"),
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
