//! The one place a caller's share-relative path becomes the name a request carries.
//!
//! # Path rules
//!
//! Every path an operation takes is relative to its share and obeys these rules, checked
//! component by component before anything is sent (whoever built the path: a URL, a
//! driver method, a caller's own [`Operation`](crate::Operation)):
//!
//! * `/` and `\` both separate components; leading separators are ignored (`""`, `/`
//!   and `\` all name the share's root) and repeated ones count as one.
//! * A `.` component means "this directory" and is dropped; `..` is refused
//!   ([`PathError::ParentComponent`]): a path can never climb out of the directory it
//!   names, nor out of the share.
//! * NUL is refused ([`PathError::Nul`]): a server written in C would end the name there.
//! * A path that ends in a separator (or in `.`) names a directory: an operation that
//!   opens it asks the server for a directory (a file there is `STATUS_NOT_A_DIRECTORY`,
//!   ENOTDIR), and one that only works on files (delete, whole-file read and write, an
//!   open for a file) refuses it ([`PathError::NamesDirectory`]) instead of acting on
//!   the file the shorter name would reach.
//! * `*` and `?` are wildcards in a listing's pattern and in the last component of a
//!   delete; a pattern is one component, never a path ([`PathError::Separator`]).
//! * A `:` in the last component names a stream of a file: `file.txt:name` (or
//!   `file.txt:name:$DATA`) is stream `name`, and is read, written, opened and deleted
//!   like a file; `file.txt::$DATA` is the file's own contents. The client sends it as
//!   given; a `:` elsewhere, or a stream the share cannot hold (a share without
//!   streams support), is the server's to refuse (STATUS_OBJECT_NAME_INVALID).
//! * Names are compared by the server (case-insensitively on Windows and on Samba's
//!   default shares); the client sends them as given.

use crate::error::{Error, PathError};

/// A checked path: its wire form (components joined by `\`, no leading or trailing
/// separator) and whether the caller's spelling named a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WirePath {
    pub(crate) name: String,
    pub(crate) names_directory: bool,
}

/// Checks `path` against the rules in the module doc and gives its wire form.
pub(crate) fn parse(path: &str) -> Result<WirePath, PathError> {
    let mut components = Vec::new();
    let mut names_directory = false;
    for component in path.split(['/', '\\']) {
        // An empty or `.` last component is what "ends in a separator" means.
        names_directory = component.is_empty() || component == ".";
        match component {
            "" | "." => {}
            ".." => return Err(PathError::ParentComponent),
            c if c.contains('\0') => return Err(PathError::Nul),
            c => components.push(c),
        }
    }
    if components.is_empty() {
        // The share's root is a directory however it is spelled.
        names_directory = true;
    }
    let name = components.join("\\");
    let units = name.encode_utf16().count();
    if units * 2 > MAX_NAME_BYTES {
        return Err(PathError::TooLong { units });
    }
    Ok(WirePath {
        name,
        names_directory,
    })
}

/// Checks a wildcard pattern (one component: `*`, `*.txt`, `report?.doc`).
pub(crate) fn check_pattern(pattern: &str) -> Result<(), PathError> {
    if pattern.contains(['/', '\\']) {
        return Err(PathError::Separator);
    }
    if pattern.contains('\0') {
        return Err(PathError::Nul);
    }
    let units = pattern.encode_utf16().count();
    if units * 2 > MAX_NAME_BYTES {
        return Err(PathError::TooLong { units });
    }
    Ok(())
}

/// Checks a share name: one component, not empty, no NUL.
pub(crate) fn check_share(share: &str) -> Result<(), PathError> {
    match share {
        "" | "." => Err(PathError::EmptyName),
        ".." => Err(PathError::ParentComponent),
        s if s.contains(['/', '\\']) => Err(PathError::Separator),
        s if s.contains('\0') => Err(PathError::Nul),
        s if s.encode_utf16().count() * 2 > MAX_NAME_BYTES => Err(PathError::TooLong {
            units: s.encode_utf16().count(),
        }),
        _ => Ok(()),
    }
}

/// The wire form of a path already checked by [`parse`] (operations build their
/// requests from paths their [`Operation::check`](crate::Operation::check) refused nothing in).
pub(crate) fn wire_name(path: &str) -> String {
    path.split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("\\")
}

/// `dir\name` with `\` separators (`dir` as the caller wrote it, `/` or `\`); just
/// `name` at the share root.
pub fn join(dir: &str, name: &str) -> String {
    let dir = wire_name(dir);
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}\\{name}")
    }
}

/// Checks a path that may name a directory, for operation `op`.
pub(crate) fn check_path(op: &'static str, path: &str) -> Result<(), Error> {
    parse(path).map(drop).map_err(|p| refused(op, path, p))
}

/// Checks a path that must name a file: not the share's root, not spelled as a directory.
pub(crate) fn check_file(op: &'static str, path: &str) -> Result<(), Error> {
    let parsed = parse(path).map_err(|p| refused(op, path, p))?;
    if parsed.name.is_empty() {
        return Err(refused(op, path, PathError::EmptyName));
    }
    if parsed.names_directory {
        return Err(refused(op, path, PathError::NamesDirectory));
    }
    Ok(())
}

/// Checks a wildcard pattern for operation `op`.
pub(crate) fn check_pattern_of(op: &'static str, pattern: &str) -> Result<(), Error> {
    check_pattern(pattern).map_err(|p| refused(op, pattern, p))
}

/// Checks a share name for operation `op`.
pub(crate) fn check_share_of(op: &'static str, share: &str) -> Result<(), Error> {
    check_share(share).map_err(|p| refused(op, share, p))
}

fn refused(op: &'static str, path: &str, problem: PathError) -> Error {
    Error::Path {
        op,
        path: path.to_string(),
        problem,
    }
}

/// The longest name (path, pattern, share path) in bytes: NameLength fields are 16 bits,
/// and `\\server\` is prepended to a share.
const MAX_NAME_BYTES: usize = 65_535 - 512;

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(p: &str) -> (String, bool) {
        let w = parse(p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        (w.name, w.names_directory)
    }

    #[test]
    fn separators_dots_and_the_root() {
        assert_eq!(wire("a/b\\c"), ("a\\b\\c".into(), false));
        assert_eq!(wire("/a//b"), ("a\\b".into(), false));
        assert_eq!(wire("a/./b"), ("a\\b".into(), false));
        for root in ["", "/", "\\", ".", "/./"] {
            assert_eq!(wire(root), (String::new(), true), "{root:?}");
        }
    }

    #[test]
    fn a_trailing_separator_or_dot_names_a_directory() {
        assert_eq!(wire("a1.txt/"), ("a1.txt".into(), true));
        assert_eq!(wire("a1.txt\\"), ("a1.txt".into(), true));
        assert_eq!(wire("a1.txt/."), ("a1.txt".into(), true));
        assert_eq!(wire("dir/*/"), ("dir\\*".into(), true));
    }

    #[test]
    fn parent_components_and_nul_are_refused_wherever_they_are() {
        for p in [
            "..",
            "../x",
            "scratch/../hello.txt",
            "scratch\\..\\hello.txt",
            "x/../../y",
            "a/..",
        ] {
            assert_eq!(parse(p), Err(PathError::ParentComponent), "{p:?}");
        }
        assert_eq!(parse("a\0b"), Err(PathError::Nul));
        // Dots that are part of a name are names.
        assert_eq!(wire("...").0, "...");
        assert_eq!(wire("a..b/.c").0, "a..b\\.c");
    }

    #[test]
    fn patterns_and_shares_are_one_component() {
        assert_eq!(check_pattern("*.txt"), Ok(()));
        assert_eq!(check_pattern("a/b"), Err(PathError::Separator));
        assert_eq!(check_pattern("..\\*"), Err(PathError::Separator));
        assert_eq!(check_share("share"), Ok(()));
        assert_eq!(check_share("a\\b"), Err(PathError::Separator));
        assert_eq!(check_share(""), Err(PathError::EmptyName));
        assert_eq!(check_share(".."), Err(PathError::ParentComponent));
    }

    #[test]
    fn too_long_is_refused_not_cut() {
        let long = "a".repeat(40_000);
        assert_eq!(
            parse(&long),
            Err(PathError::TooLong { units: 40_000 }),
            "a 16-bit NameLength would cut it to a prefix"
        );
        assert!(parse(&"a".repeat(30_000)).is_ok());
    }

    #[test]
    fn a_stream_is_named_after_its_file_and_the_rules_still_hold() {
        assert_eq!(wire("file.txt:s1"), ("file.txt:s1".into(), false));
        assert_eq!(
            wire("/d/file.txt:s1:$DATA"),
            ("d\\file.txt:s1:$DATA".into(), false)
        );
        assert_eq!(wire("file.txt::$DATA"), ("file.txt::$DATA".into(), false));
        assert!(check_file("read", "d/file.txt:s1").is_ok());
        // What is refused without a stream is refused with one.
        assert_eq!(parse("../file.txt:s1"), Err(PathError::ParentComponent));
        assert_eq!(parse("d/..:x/../y"), Err(PathError::ParentComponent));
        assert_eq!(parse("file.txt:s\0"), Err(PathError::Nul));
        assert!(check_file("read", "file.txt:s1/").is_err());
        assert_eq!(check_pattern("a:b/c"), Err(PathError::Separator));
    }
}
