//! How far a transfer of many files has come, counted for a driver's progress callback.

/// How far a transfer of many files has come, as the drivers' tree transfers with
/// progress report it (`store_tree_with_progress`, `retrieve_tree_with_progress`):
/// after each piece of data moved and after each file finished.
#[derive(Debug, Clone, Copy)]
pub struct TreeProgress<'a> {
    /// Files finished, whether they made it or not.
    pub files_done: u64,
    /// Files in the transfer.
    pub files_total: u64,
    /// Bytes received (a download) or handed to the connection (an upload) so far.
    pub bytes_done: u64,
    /// The files' sizes when the transfer started.
    pub bytes_total: u64,
    /// Set when this report is for a file that just finished: its remote path, and why
    /// it failed if it did.
    pub finished: Option<(&'a str, Option<&'a crate::Error>)>,
}

/// A tree transfer's progress callback.
pub type TreeProgressFn<'a> = dyn FnMut(&TreeProgress<'_>) + 'a;

/// The counts behind [`TreeProgress`], kept while a many-file transfer runs, each change
/// reported to the callback.
///
/// ```
/// use smb_proto::client::{TreeProgress, TreeTally};
/// let mut seen = Vec::new();
/// let mut report = |p: &TreeProgress<'_>| seen.push((p.files_done, p.bytes_done));
/// let mut tally = TreeTally::new(2, 10, &mut report);
/// tally.moved(4);
/// tally.finished("a", &Ok(4));
/// drop(tally);
/// assert_eq!(seen, [(0, 4), (1, 4)]);
/// ```
pub struct TreeTally<'p, 'f> {
    files_done: u64,
    files_total: u64,
    bytes_done: u64,
    bytes_total: u64,
    report: &'p mut TreeProgressFn<'f>,
}

impl<'p, 'f> TreeTally<'p, 'f> {
    /// For `files_total` files of `bytes_total` bytes, reporting to `report`.
    pub fn new(files_total: usize, bytes_total: u64, report: &'p mut TreeProgressFn<'f>) -> Self {
        TreeTally {
            files_done: 0,
            files_total: files_total as u64,
            bytes_done: 0,
            bytes_total,
            report,
        }
    }

    /// `bytes` more moved.
    pub fn moved(&mut self, bytes: usize) {
        self.bytes_done += bytes as u64;
        self.emit(None);
    }

    /// The file at remote `path` finished with `result`.
    pub fn finished(&mut self, path: &str, result: &Result<u64, crate::Error>) {
        self.files_done += 1;
        self.emit(Some((path, result.as_ref().err())));
    }

    fn emit(&mut self, finished: Option<(&str, Option<&crate::Error>)>) {
        (self.report)(&TreeProgress {
            files_done: self.files_done,
            files_total: self.files_total,
            bytes_done: self.bytes_done,
            bytes_total: self.bytes_total,
            finished,
        });
    }
}
