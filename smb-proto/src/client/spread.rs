//! One many-file call over several connections ([`ConnectOptions::connections`]).
//!
//! A server's work per file (an open, a close, a directory's entries) runs where the
//! connection is served, and Samba serves each connection in its own process, bound to
//! one core: a tree of small files or a big listing is limited by that one process, not
//! by the client or the network. Spread over more connections, it runs on more cores.
//! This module decides how many connections a call uses and which files each one
//! takes, and puts the parts' results back together; the drivers make the connections
//! and run the parts side by side.
//!
//! ```
//! use smb_proto::client::{spread, spread_width};
//! // 1,000 small files over at most 2 connections: 500 each.
//! let parts = spread(&[4096; 1000], spread_width(2, 1000));
//! assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), [500, 500]);
//! // 10 files are not worth a second login.
//! assert_eq!(spread_width(2, 10), 1);
//! ```
//!
//! [`ConnectOptions::connections`]: super::ConnectOptions::connections

use super::ClientError;

/// Files each connection of a spread call should have at least: a connection costs a
/// TCP connect, NEGOTIATE, two SESSION_SETUPs and a TREE_CONNECT (about as long as a
/// dozen small files take on loopback), so fewer files than this do not pay for it.
pub const MIN_FILES_PER_CONNECTION: usize = 16;

/// What a file costs beyond its bytes, as bytes: its CREATE and CLOSE round trips take
/// the server about as long as moving this much data. Spreading by bytes plus this
/// balances a tree of small files by count and one of large files by size.
const FILE_COST: u64 = 64 * 1024;

/// How many connections a call over `items` files (or directories) uses when
/// `connections` are allowed: as many as have [`MIN_FILES_PER_CONNECTION`] each, at
/// least one.
pub fn spread_width(connections: usize, items: usize) -> usize {
    connections.min(items / MIN_FILES_PER_CONNECTION).max(1)
}

/// Splits files with these `sizes` into `width` parts of about equal work (bytes plus a
/// fixed cost per file): the largest first, each to the part with the least so far. Each
/// part lists its files' indexes in their original order; no part is empty unless there
/// are fewer files than parts.
pub fn spread(sizes: &[u64], width: usize) -> Vec<Vec<usize>> {
    let width = width.max(1);
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let mut load = vec![0u64; width];
    let mut parts = vec![Vec::new(); width];
    for i in order {
        let least = (0..width)
            .min_by_key(|&p| (load[p], parts[p].len()))
            .unwrap_or(0);
        load[least] = load[least].saturating_add(sizes[i].saturating_add(FILE_COST));
        parts[least].push(i);
    }
    for part in &mut parts {
        part.sort_unstable();
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// One part of a spread call: its files, their bytes, and their names for
/// [`merge_spread`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<F> {
    /// The files (or directories) this part moves.
    pub files: Vec<F>,
    /// Their bytes.
    pub bytes: u64,
    /// Their remote paths, as `name` gave them.
    pub names: Vec<String>,
}

/// `files` of these `sizes` split by [`spread`] into `width` parts.
///
/// ```
/// use smb_proto::client::spread_parts;
/// let parts = spread_parts(&["a", "b", "c"], &[5, 1, 1], 2, |f| f.to_string());
/// assert_eq!(parts[0].files, ["a"]);
/// assert_eq!((parts[1].bytes, parts[1].names.clone()), (2, vec!["b".to_string(), "c".to_string()]));
/// ```
pub fn spread_parts<F: Clone>(
    files: &[F],
    sizes: &[u64],
    width: usize,
    name: impl Fn(&F) -> String,
) -> Vec<Part<F>> {
    spread(sizes, width)
        .into_iter()
        .map(|p| Part {
            files: p.iter().map(|&i| files[i].clone()).collect(),
            bytes: p.iter().filter_map(|&i| sizes.get(i)).sum(),
            names: p.iter().map(|&i| name(&files[i])).collect(),
        })
        .collect()
}

/// The counts of a spread call's parts, each reported as a total of its own, summed
/// into the call's.
#[derive(Debug, Clone)]
pub struct SpreadTally {
    done: Vec<(u64, u64)>,
}

impl SpreadTally {
    /// For `parts` parts.
    pub fn new(parts: usize) -> Self {
        SpreadTally {
            done: vec![(0, 0); parts],
        }
    }

    /// `part` has finished `files` files and moved `bytes` bytes so far → the call's
    /// (files, bytes).
    ///
    /// ```
    /// use smb_proto::client::SpreadTally;
    /// let mut t = SpreadTally::new(2);
    /// t.update(0, 1, 100);
    /// assert_eq!(t.update(1, 2, 50), (3, 150));
    /// assert_eq!(t.update(0, 2, 300), (4, 350));
    /// ```
    pub fn update(&mut self, part: usize, files: u64, bytes: u64) -> (u64, u64) {
        if let Some(d) = self.done.get_mut(part) {
            *d = (files, bytes);
        }
        self.done
            .iter()
            .fold((0, 0), |(f, b), (pf, pb)| (f + pf, b + pb))
    }
}

/// The result of a spread transfer from its parts' results, each with the remote paths
/// of the files it had: the bytes of all when every part made it; otherwise
/// [`ClientError::Transfer`] naming every file that made it (in any part) and the first
/// failure, a file's own before a part's cancellation.
///
/// ```
/// use smb_proto::client::{merge_spread, ClientError};
/// let ok = merge_spread(vec![(vec!["a".into()], Ok(3)), (vec!["b".into()], Ok(4))]);
/// assert_eq!(ok.unwrap(), 7);
/// let lost = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
/// let failed = merge_spread(vec![(vec!["a".into()], Ok(3)), (vec!["b".into()], Err(ClientError::Io(lost)))]);
/// let Err(ClientError::Transfer { transferred, total, .. }) = failed else { panic!() };
/// assert_eq!((transferred, total), (vec!["a".to_string()], 2));
/// ```
///
/// # Errors
///
/// As above.
pub fn merge_spread(
    parts: Vec<(Vec<String>, Result<u64, ClientError>)>,
) -> Result<u64, ClientError> {
    let total = parts.iter().map(|(names, _)| names.len()).sum();
    let (mut bytes, mut transferred) = (0, Vec::new());
    let mut failures = Vec::new();
    for (names, result) in parts {
        match result {
            Ok(n) => {
                bytes += n;
                transferred.extend(names);
            }
            Err(ClientError::Transfer {
                transferred: made,
                first,
                ..
            }) => {
                transferred.extend(made);
                failures.push(*first);
            }
            Err(e) => failures.push(e),
        }
    }
    let cancelled = |e: &ClientError| matches!(e, ClientError::Smb(crate::Error::Cancelled));
    let first = match failures.iter().position(|e| !cancelled(e)) {
        Some(i) => failures.swap_remove(i),
        None => match failures.pop() {
            Some(e) => e,
            None => return Ok(bytes),
        },
    };
    Err(ClientError::Transfer {
        transferred,
        total,
        first: Box::new(first),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_balance_bytes_and_counts_and_keep_every_file_once() {
        // One large file and many small: the large one has a part to itself.
        let mut sizes = vec![1 << 30];
        sizes.extend([4096; 99]);
        let parts = spread(&sizes, 2);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], [0]);
        assert_eq!(parts[1].len(), 99);
        let mut all: Vec<usize> = parts.concat();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        // Equal files split evenly, each part in the original order.
        let parts = spread(&[10; 7], 3);
        assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2, 2]);
        assert!(parts.iter().all(|p| p.windows(2).all(|w| w[0] < w[1])));
        // More parts than files: no empty part.
        assert_eq!(spread(&[1, 2], 4).len(), 2);
        assert!(spread(&[], 4).is_empty());
    }

    #[test]
    fn the_width_needs_enough_files_for_each_connection() {
        assert_eq!(spread_width(4, 0), 1);
        assert_eq!(spread_width(4, 31), 1);
        assert_eq!(spread_width(4, 32), 2);
        assert_eq!(spread_width(4, 10_000), 4);
        assert_eq!(spread_width(1, 10_000), 1);
        assert_eq!(spread_width(0, 10_000), 1);
    }

    #[test]
    fn a_file_failure_is_reported_before_a_cancelled_part() {
        let own = ClientError::Smb(crate::Error::failed(
            crate::NtStatus::ACCESS_DENIED,
            "read",
            "b".to_string(),
        ));
        let cancelled = ClientError::Smb(crate::Error::Cancelled);
        let parts = vec![
            (vec!["a".to_string()], Err(cancelled)),
            (
                vec!["b".to_string(), "c".to_string()],
                Err(ClientError::Transfer {
                    transferred: vec!["c".into()],
                    total: 2,
                    first: Box::new(own),
                }),
            ),
            (vec!["d".to_string()], Ok(5)),
        ];
        let Err(ClientError::Transfer {
            transferred,
            total,
            first,
        }) = merge_spread(parts)
        else {
            panic!("a failed part fails the whole");
        };
        assert_eq!(transferred, ["c", "d"]);
        assert_eq!(total, 4);
        assert_eq!(first.errno(), crate::Errno::EACCES);
    }
}
