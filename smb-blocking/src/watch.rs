//! A watched directory as an iterator of changes.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use smb_proto::ops::{self, Change, OpHandle};
use smb_proto::Event;

use crate::{Connection, Error, Result};

/// The changes in a directory, from [`Connection::watch`]: an iterator that waits for
/// the next change for as long as it takes. Dropping it stops the watch (the server's
/// request is cancelled and the directory closed).
///
/// While `next` waits it holds the connection: other calls on the same [`Connection`]
/// from other threads wait too. Watch on a connection of its own to keep it free. Calls
/// made between two `next`s lose nothing: the watch's answers are kept for it.
pub struct Watcher {
    conn: Connection,
    handle: OpHandle<()>,
    ready: VecDeque<Change>,
    ended: bool,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("ready", &self.ready.len())
            .field("ended", &self.ended)
            .finish()
    }
}

impl Connection {
    /// Watches directory `path` on `share` (`""` for the root): changes matching
    /// `filter` ([`notify_filter`](crate::notify_filter) bits;
    /// [`DEFAULT_NOTIFY_FILTER`](crate::DEFAULT_NOTIFY_FILTER) for names, sizes, times
    /// and attributes), below it too when `recursive`. Returns once the server holds
    /// the request (see [`ops::Watch`] for Samba's moment of delay after that); changes
    /// are reported with no deadline until the [`Watcher`] is dropped.
    ///
    /// ```no_run
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// use smb_blocking::{Change, DEFAULT_NOTIFY_FILTER};
    /// for change in conn.watch("share", "inbox", DEFAULT_NOTIFY_FILTER, false)? {
    ///     match change? {
    ///         Change::Added(name) => println!("new: {name}"),
    ///         other => println!("{other:?}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing directory,
    /// [`ErrorKind::NotADirectory`](crate::ErrorKind::NotADirectory) for a file; the
    /// iterator yields the watch's later failures (the directory deleted, the connection
    /// lost) and then ends.
    pub fn watch(&self, share: &str, path: &str, filter: u32, recursive: bool) -> Result<Watcher> {
        let op = ops::Watch::new(share, path)
            .filter(filter)
            .recursive(recursive);
        let mut pump = self.lock();
        // No deadline: a quiet directory is watched for as long as the caller wants.
        let session = pump.session;
        let handle = pump.core.start_in(session, op, Instant::now());
        pump.parked.insert(handle.id(), VecDeque::new());
        drop(pump);
        let mut w = Watcher {
            conn: self.clone(),
            handle,
            ready: VecDeque::new(),
            ended: false,
        };
        // The first event says the server holds the watch (or already has changes).
        w.step(None)?;
        Ok(w)
    }
}

impl Watcher {
    /// Like [`Iterator::next`], giving up after `timeout`: `None` then means that
    /// nothing changed in that time (the watch goes on) or that the watch ended
    /// ([`Watcher::is_ended`] tells which).
    ///
    /// ```no_run
    /// # fn demo(conn: &smb_blocking::Connection) -> smb_blocking::Result<()> {
    /// use std::time::Duration;
    /// let mut w = conn.watch("share", "", smb_blocking::DEFAULT_NOTIFY_FILTER, true)?;
    /// while !w.is_ended() {
    ///     match w.next_within(Duration::from_secs(1)) {
    ///         Some(change) => println!("{:?}", change?),
    ///         None => println!("quiet for a second"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn next_within(&mut self, timeout: std::time::Duration) -> Option<Result<Change>> {
        let until = Instant::now().checked_add(timeout);
        if self.ready.is_empty() && !self.ended {
            if let Err(e) = self.step(until) {
                return Some(Err(e));
            }
        }
        self.ready.pop_front().map(Ok)
    }

    /// Whether the watch is over: failed (the error was returned), or closed by the
    /// server. Changes already received are still returned.
    pub fn is_ended(&self) -> bool {
        self.ended && self.ready.is_empty()
    }

    /// Waits (until `until`, if given) for the watch's next event: changes go to
    /// `ready` (and the next request out), the end marks it ended.
    fn step(&mut self, until: Option<Instant>) -> Result<()> {
        let id = self.handle.id();
        let mut pump = self.conn.lock();
        let ev = pump.next_event(id, until);
        match ev {
            Ok(None) => Ok(()),
            Ok(Some(Event::Changes { changes, .. })) => {
                if !changes.is_empty() {
                    pump.core.supply(id, 0, Bytes::new(), Instant::now());
                }
                self.ready.extend(changes);
                Ok(())
            }
            Ok(Some(Event::Done { result, .. })) => {
                self.ended = true;
                pump.parked.remove(&id);
                self.handle.output(result).map_err(Error::from)
            }
            Ok(_) => Ok(()),
            Err(e) => {
                self.ended = true;
                pump.parked.remove(&id);
                Err(e)
            }
        }
    }
}

impl Iterator for Watcher {
    type Item = Result<Change>;

    fn next(&mut self) -> Option<Result<Change>> {
        while self.ready.is_empty() && !self.ended {
            if let Err(e) = self.step(None) {
                return Some(Err(e));
            }
        }
        self.ready.pop_front().map(Ok)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let id = self.handle.id();
        let mut pump = self.conn.lock();
        pump.parked.remove(&id);
        pump.core.cancel(id, Instant::now());
        pump.flush_tx();
    }
}
