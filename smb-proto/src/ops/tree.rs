//! Many files at once: a window of whole-file transfers in flight on one connection
//! ([`RetrieveFiles`], [`StoreFiles`]), and the listing of a whole tree ([`ListTree`]) a
//! download starts from. Each file is a child operation ([`ReadFile`], [`WriteFile`]);
//! its streaming events name the file by its index, and [`Event::FileDone`] says when
//! the driver can close what it holds for it.
//!
//! The local side (walking a local directory, opening local files) is the driver's: the
//! core never touches a file system.
//!
//! [`Event::FileDone`]: crate::Event::FileDone

use crate::idmap::IdMap;
use std::collections::VecDeque;

use crate::connection::{ChildId, Fail, OpContext, OpOutput, Operation, Progress};
use crate::error::Error;
use crate::ntstatus::NtStatus;

use super::{path, Delete, FileInfo, ListDir, Mkdir, MkdirAll, ReadFile, Rmdir, WriteFile};

/// Files a many-file transfer keeps in flight by default.
pub const FILES_IN_FLIGHT: usize = 32;

/// Directory levels a tree listing follows at most: the server decides the depth, and a
/// directory loop (or a hostile server) must not make a download run forever.
pub const MAX_TREE_DEPTH: usize = 256;

/// Runs one child per item, at most `window` at a time, and keeps each one's result.
#[derive(Debug)]
struct Window {
    window: usize,
    /// Items not started yet.
    next: usize,
    count: usize,
    running: IdMap<ChildId, usize>,
    results: Vec<Option<Result<u64, Error>>>,
}

impl Window {
    fn new(count: usize, window: usize) -> Self {
        Window {
            window: window.max(1),
            next: 0,
            count,
            running: IdMap::default(),
            results: std::iter::repeat_with(|| None).take(count).collect(),
        }
    }

    /// Starts children (`start(cx, i)`) until the window is full.
    fn fill(
        &mut self,
        cx: &mut OpContext<'_>,
        mut start: impl FnMut(&mut OpContext<'_>, usize) -> ChildId,
    ) {
        while self.running.len() < self.window && self.next < self.count {
            let child = start(cx, self.next);
            self.running.insert(child, self.next);
            self.next += 1;
        }
    }

    /// The item a finished child worked on, if it is one of this window's.
    fn finished(&mut self, child: ChildId) -> Option<usize> {
        self.running.remove(&child)
    }

    fn is_done(&self) -> bool {
        self.running.is_empty() && self.next == self.count
    }

    /// Records file `item`'s result and reports it as [`Event::FileDone`](crate::Event::FileDone).
    fn file_done(&mut self, cx: &mut OpContext<'_>, item: usize, result: Result<OpOutput, Error>) {
        let r = result.and_then(OpOutput::downcast::<u64>);
        cx.file_done(item, r.clone());
        if let Some(slot) = self.results.get_mut(item) {
            *slot = Some(r);
        }
    }

    /// Every file's result once the window is done.
    fn progress(&mut self) -> Progress<Vec<Result<u64, Error>>> {
        if !self.is_done() {
            return Progress::Pending;
        }
        Progress::Done(
            std::mem::take(&mut self.results)
                .into_iter()
                .map(|r| r.unwrap_or(Err(Error::Cancelled)))
                .collect(),
        )
    }
}

/// Downloads many files from one share, a window of them in flight at once → each
/// file's result (bytes moved, or why it failed), in the order given.
///
/// A file's bytes arrive as [`Event::Data`](crate::Event::Data) naming it by its index in
/// the list; [`Event::FileDone`](crate::Event::FileDone) follows its last byte (also for
/// an empty file, which has no data). One file failing does not stop the others.
#[derive(Debug)]
pub struct RetrieveFiles {
    share: String,
    files: Vec<String>,
    window: Window,
}

impl RetrieveFiles {
    /// Downloads `files` (share-relative paths) from `share`, [`FILES_IN_FLIGHT`] at a time.
    pub fn new(share: &str, files: Vec<String>) -> Self {
        let window = Window::new(files.len(), FILES_IN_FLIGHT);
        RetrieveFiles {
            share: share.to_string(),
            files,
            window,
        }
    }

    /// Keeps `n` files in flight instead.
    pub fn in_flight(mut self, n: usize) -> Self {
        self.window = Window::new(self.files.len(), n);
        self
    }

    fn fill(&mut self, cx: &mut OpContext<'_>) -> Progress<Vec<Result<u64, Error>>> {
        let (share, files) = (&self.share, &self.files);
        self.window.fill(cx, |cx, i| {
            cx.start_child_for(i, ReadFile::new(share, &files[i], 0, None))
        });
        self.window.progress()
    }
}

impl Operation for RetrieveFiles {
    type Output = Vec<Result<u64, Error>>;

    fn label(&self) -> (&'static str, &str) {
        ("get", self.files.first().map_or("", String::as_str))
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail> {
        Ok(self.fill(cx))
    }

    fn on_child(
        &mut self,
        cx: &mut OpContext<'_>,
        child: ChildId,
        result: Result<OpOutput, Error>,
    ) -> Result<Progress<Self::Output>, Fail> {
        if let Some(item) = self.window.finished(child) {
            self.window.file_done(cx, item, result);
        }
        Ok(self.fill(cx))
    }
}

/// Uploads many files to one share, after creating the directories they go in, a window
/// of them in flight at once → each file's result (bytes moved, or why it failed), in
/// the order given.
///
/// Directories come first, parents before children: the shallowest ones with any missing
/// parents (`mkdir -p`), the deeper ones level by level, several at once, an existing one
/// kept. Then each file asks for its bytes with [`Event::WantData`](crate::Event::WantData)
/// naming it by its index, supplied with [`Connection::supply`](crate::Connection::supply)
/// under the same index; [`Event::FileDone`](crate::Event::FileDone) says when the driver
/// can close its source. One file failing does not stop the others; a directory that
/// cannot be created fails the upload before any file is sent.
#[derive(Debug)]
pub struct StoreFiles {
    share: String,
    files: Vec<String>,
    /// Directories still to create, a level per entry, shallowest first.
    levels: VecDeque<Vec<String>>,
    /// The level being created, and whether it is the first (created with its parents).
    level: Vec<String>,
    first_level: bool,
    mkdirs: Window,
    window: Window,
}

impl StoreFiles {
    /// Uploads to `files` (share-relative paths) on `share`, [`FILES_IN_FLIGHT`] at a time.
    pub fn new(share: &str, files: Vec<String>) -> Self {
        let window = Window::new(files.len(), FILES_IN_FLIGHT);
        StoreFiles {
            share: share.to_string(),
            files,
            levels: VecDeque::new(),
            level: Vec::new(),
            first_level: true,
            mkdirs: Window::new(0, 1),
            window,
        }
    }

    /// Creates `dirs` (share-relative) before the files, parents first.
    pub fn directories(mut self, mut dirs: Vec<String>) -> Self {
        let depth = |d: &String| path::wire_name(d).matches('\\').count();
        dirs.sort_by_key(depth);
        let mut levels: VecDeque<Vec<String>> = VecDeque::new();
        let mut last = None;
        for d in dirs {
            if last != Some(depth(&d)) {
                last = Some(depth(&d));
                levels.push_back(Vec::new());
            }
            if let Some(level) = levels.back_mut() {
                level.push(d);
            }
        }
        self.levels = levels;
        self
    }

    /// Keeps `n` files in flight instead.
    pub fn in_flight(mut self, n: usize) -> Self {
        self.window = Window::new(self.files.len(), n);
        self
    }

    /// Goes on with the current level of directories, the next one, or the files once
    /// every directory exists.
    fn fill(&mut self, cx: &mut OpContext<'_>) -> Progress<Vec<Result<u64, Error>>> {
        if self.mkdirs.is_done() {
            if let Some(level) = self.levels.pop_front() {
                self.mkdirs = Window::new(level.len(), FILES_IN_FLIGHT);
                self.level = level;
            } else {
                let (share, files) = (&self.share, &self.files);
                self.window.fill(cx, |cx, i| {
                    cx.start_child_for(i, WriteFile::new(share, &files[i]))
                });
                return self.window.progress();
            }
        }
        let (share, level, first) = (&self.share, &self.level, self.first_level);
        self.mkdirs.fill(cx, |cx, i| {
            if first {
                cx.start_child(MkdirAll::new(share, &level[i]))
            } else {
                cx.start_child(Mkdir::new(share, &level[i]))
            }
        });
        Progress::Pending
    }
}

impl Operation for StoreFiles {
    type Output = Vec<Result<u64, Error>>;

    fn label(&self) -> (&'static str, &str) {
        ("put", self.files.first().map_or("", String::as_str))
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail> {
        Ok(self.fill(cx))
    }

    fn on_child(
        &mut self,
        cx: &mut OpContext<'_>,
        child: ChildId,
        result: Result<OpOutput, Error>,
    ) -> Result<Progress<Self::Output>, Fail> {
        if let Some(item) = self.window.finished(child) {
            self.window.file_done(cx, item, result);
        } else if self.mkdirs.finished(child).is_some() {
            match result {
                Ok(_) => {}
                Err(e) if e.status() == Some(NtStatus::OBJECT_NAME_COLLISION) => {}
                Err(e) => return Err(Fail::Op(e)),
            }
            if self.mkdirs.is_done() {
                self.first_level = false;
            }
        }
        Ok(self.fill(cx))
    }
}

/// A file or directory found by [`ListTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Its path below the listed directory, components joined by `\`.
    pub path: String,
    /// Its metadata.
    pub info: FileInfo,
}

/// Every file and directory below a directory, to any depth up to [`MAX_TREE_DEPTH`]
/// → the entries, each directory before what it holds.
///
/// Each level's directories are listed several at once.
#[derive(Debug)]
pub struct ListTree {
    share: String,
    dir: String,
    found: Vec<TreeEntry>,
    /// The directories of the level being listed (below `dir`), and of the next one.
    level: Vec<String>,
    next_level: Vec<String>,
    depth: usize,
    listings: Window,
    /// Stop once a level to list has this many directories ([`ListTreeTop`]).
    stop_width: usize,
}

/// How far a [`ListTree`] has got.
enum Walked {
    Pending,
    /// Every level listed.
    Done,
    /// The next level has `stop_width` directories or more.
    Wide,
}

impl ListTree {
    /// Lists the tree under `dir` on `share`.
    pub fn new(share: &str, dir: &str) -> Self {
        Self::within(share, dir, vec![String::new()], 0)
    }

    /// Lists the trees under `dirs` (paths below `dir`, at `depth` levels below it),
    /// the rest of a tree whose upper levels a [`ListTreeTop`] listed: entries' paths
    /// are below `dir`, and `dirs` themselves are not among them (the top has them).
    /// The part of a listing spread over several connections.
    pub fn within(share: &str, dir: &str, dirs: Vec<String>, depth: usize) -> Self {
        ListTree {
            share: share.to_string(),
            dir: dir.to_string(),
            found: Vec::new(),
            listings: Window::new(dirs.len(), FILES_IN_FLIGHT),
            level: dirs,
            next_level: Vec::new(),
            depth,
            stop_width: usize::MAX,
        }
    }

    fn advance(&mut self, cx: &mut OpContext<'_>) -> Result<Walked, Fail> {
        if self.listings.is_done() {
            if self.next_level.is_empty() {
                return Ok(Walked::Done);
            }
            self.depth += 1;
            if self.depth > MAX_TREE_DEPTH {
                return Err(Fail::Op(Error::Invalid(format!(
                    "{}: deeper than {MAX_TREE_DEPTH} directories",
                    self.dir
                ))));
            }
            if self.next_level.len() >= self.stop_width {
                return Ok(Walked::Wide);
            }
            self.level = std::mem::take(&mut self.next_level);
            self.listings = Window::new(self.level.len(), FILES_IN_FLIGHT);
        }
        let (share, dir, level) = (&self.share, &self.dir, &self.level);
        self.listings.fill(cx, |cx, i| {
            cx.start_child(ListDir::new(share, &path::join(dir, &level[i]), "*"))
        });
        Ok(Walked::Pending)
    }

    fn fill(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Vec<TreeEntry>>, Fail> {
        Ok(match self.advance(cx)? {
            Walked::Pending => Progress::Pending,
            Walked::Done | Walked::Wide => Progress::Done(std::mem::take(&mut self.found)),
        })
    }

    /// Takes a finished listing's entries.
    fn listed(&mut self, child: ChildId, result: Result<OpOutput, Error>) -> Result<bool, Fail> {
        let Some(i) = self.listings.finished(child) else {
            return Ok(false);
        };
        for info in result.and_then(OpOutput::downcast::<Vec<FileInfo>>)? {
            let path = path::join(&self.level[i], &info.name);
            if info.is_directory() {
                self.next_level.push(path.clone());
            }
            self.found.push(TreeEntry { path, info });
        }
        Ok(true)
    }
}

impl Operation for ListTree {
    type Output = Vec<TreeEntry>;

    fn label(&self) -> (&'static str, &str) {
        ("list", &self.dir)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_share_of("list", &self.share)?;
        path::check_path("list", &self.dir)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail> {
        self.fill(cx)
    }

    fn on_child(
        &mut self,
        cx: &mut OpContext<'_>,
        child: ChildId,
        result: Result<OpOutput, Error>,
    ) -> Result<Progress<Self::Output>, Fail> {
        if !self.listed(child, result)? {
            return Ok(Progress::Pending);
        }
        self.fill(cx)
    }
}

/// The upper levels of a tree, listed until a level to list has `width` directories or
/// more → the entries so far and that level's directories, left to list
/// ([`TreeTop`]). A listing spread over `width` connections starts with it on one, then
/// lists the rest on all of them ([`ListTree::within`], each a part of
/// [`TreeTop::unlisted`]).
#[derive(Debug)]
pub struct ListTreeTop(ListTree);

/// What a [`ListTreeTop`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeTop {
    /// The entries listed, as [`ListTree`] gives them.
    pub entries: Vec<TreeEntry>,
    /// The directories (paths below the listed one) whose contents are not listed yet;
    /// empty when the whole tree is.
    pub unlisted: Vec<String>,
    /// How many levels below the listed directory `unlisted` are.
    pub depth: usize,
}

impl TreeTop {
    /// The listings of the rest of the tree, `width` of them at most (one per
    /// connection a listing is spread over), each over a part of
    /// [`unlisted`](Self::unlisted) ([`ListTree::within`]); none when the whole tree is
    /// listed.
    pub fn rest(&self, share: &str, dir: &str, width: usize) -> Vec<ListTree> {
        let sizes = vec![0; self.unlisted.len()];
        crate::client::spread_parts(&self.unlisted, &sizes, width, String::clone)
            .into_iter()
            .map(|p| ListTree::within(share, dir, p.files, self.depth))
            .collect()
    }
}

impl ListTreeTop {
    /// Lists the top of the tree under `dir` on `share`, until `width` directories are
    /// left to list.
    pub fn new(share: &str, dir: &str, width: usize) -> Self {
        let mut tree = ListTree::new(share, dir);
        tree.stop_width = width.max(1);
        ListTreeTop(tree)
    }

    fn fill(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<TreeTop>, Fail> {
        let tree = &mut self.0;
        let unlisted = match tree.advance(cx)? {
            Walked::Pending => return Ok(Progress::Pending),
            Walked::Done => Vec::new(),
            Walked::Wide => std::mem::take(&mut tree.next_level),
        };
        Ok(Progress::Done(TreeTop {
            entries: std::mem::take(&mut tree.found),
            unlisted,
            depth: tree.depth,
        }))
    }
}

impl Operation for ListTreeTop {
    type Output = TreeTop;

    fn label(&self) -> (&'static str, &str) {
        self.0.label()
    }

    fn check(&self) -> Result<(), Error> {
        self.0.check()
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail> {
        self.fill(cx)
    }

    fn on_child(
        &mut self,
        cx: &mut OpContext<'_>,
        child: ChildId,
        result: Result<OpOutput, Error>,
    ) -> Result<Progress<Self::Output>, Fail> {
        if !self.0.listed(child, result)? {
            return Ok(Progress::Pending);
        }
        self.fill(cx)
    }
}

/// `rm -r`: removes a directory and everything below it → how many files and
/// directories were removed (the directory itself included).
///
/// A [`ListTree`] first, then every file deleted at once, then the directories level by
/// level from the deepest, the directory itself last. A failure stops it where it is,
/// with what was removed so far gone.
#[derive(Debug)]
pub struct RemoveTree {
    share: String,
    path: String,
    listing: Option<ChildId>,
    /// Directories still to remove, by depth: the directory itself first, so last out.
    levels: Vec<Vec<String>>,
    outstanding: usize,
    removed: u64,
}

impl RemoveTree {
    /// Removes `path` on `share` with all it holds.
    pub fn new(share: &str, path: &str) -> Self {
        RemoveTree {
            share: share.to_string(),
            path: path.to_string(),
            listing: None,
            levels: vec![vec![path.to_string()]],
            outstanding: 0,
            removed: 0,
        }
    }

    /// Starts the deepest level of directories left, or finishes.
    fn next_level(&mut self, cx: &mut OpContext<'_>) -> Progress<u64> {
        while let Some(level) = self.levels.pop() {
            if level.is_empty() {
                continue;
            }
            self.outstanding = level.len();
            for dir in level {
                cx.start_child(Rmdir::new(&self.share, &dir));
            }
            return Progress::Pending;
        }
        Progress::Done(self.removed)
    }
}

impl Operation for RemoveTree {
    type Output = u64;

    fn label(&self) -> (&'static str, &str) {
        ("rmdir", &self.path)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_share_of("rmdir", &self.share)?;
        path::check_path("rmdir", &self.path)?;
        if path::wire_name(&self.path).is_empty() {
            return Err(Error::Invalid("refusing to remove a share's root".into()));
        }
        Ok(())
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<u64>, Fail> {
        self.listing = Some(cx.start_child(ListTree::new(&self.share, &self.path)));
        Ok(Progress::Pending)
    }

    fn on_child(
        &mut self,
        cx: &mut OpContext<'_>,
        child: ChildId,
        result: Result<OpOutput, Error>,
    ) -> Result<Progress<u64>, Fail> {
        let out = result?;
        if self.listing == Some(child) {
            self.listing = None;
            let mut files = Vec::new();
            for entry in out.downcast::<Vec<TreeEntry>>()? {
                let full = path::join(&self.path, &entry.path);
                if entry.info.is_directory() {
                    let depth = entry.path.matches('\\').count() + 1;
                    if self.levels.len() <= depth {
                        self.levels.resize(depth + 1, Vec::new());
                    }
                    self.levels[depth].push(full);
                } else {
                    files.push(full);
                }
            }
            if files.is_empty() {
                return Ok(self.next_level(cx));
            }
            self.outstanding = files.len();
            for file in files {
                cx.start_child(Delete::new(&self.share, &file));
            }
            return Ok(Progress::Pending);
        }
        self.removed += 1;
        self.outstanding = self.outstanding.saturating_sub(1);
        if self.outstanding == 0 {
            return Ok(self.next_level(cx));
        }
        Ok(Progress::Pending)
    }
}
