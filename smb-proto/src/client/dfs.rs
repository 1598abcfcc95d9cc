//! The client's side of DFS (MS-DFSC 3.1), free of I/O: a referral cache mapping DFS
//! path prefixes to their targets until their time to live runs out, and the rules a
//! driver follows with it.
//!
//! A driver's URL context runs a call on a share as usual. When the call fails with
//! STATUS_PATH_NOT_COVERED (the path crosses a DFS link), it asks the server that said
//! so for the path's referral ([`GetDfsReferral`](crate::ops::GetDfsReferral)), stores
//! the answer here ([`ReferralCache::insert`]) and runs the call again on the first
//! target it can reach ([`ReferralCache::resolve`] lists them in order;
//! [`fails_over`] says which errors move on to the next). Later calls under the same
//! prefix go straight to the target until the referral expires. Time is what the
//! driver passes in: the cache reads no clock.
//!
//! [`DfsWalk`] holds those rules as a state machine, so that the blocking and the
//! async context drive one piece of code: the driver runs what each [`DfsStep`] says
//! (a call on a target, or a referral request) and hands the outcome back.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use smb_proto::client::dfs::{unc_path, ReferralCache};
//! use smb_proto::wire::dfs::{DfsReferral, DfsReferralResponse};
//!
//! let link = |target: &str| DfsReferral {
//!     version: 3,
//!     server_type: 0,
//!     flags: 0,
//!     ttl: 300,
//!     dfs_path: "\\fs1\\dfs\\docs".into(),
//!     dfs_alternate_path: "\\fs1\\dfs\\docs".into(),
//!     network_address: target.into(),
//! };
//! let referral = DfsReferralResponse {
//!     path_consumed: 26,
//!     header_flags: 2,
//!     referrals: vec![link("\\fs2\\docs"), link("\\fs3\\docs\\mirror")],
//! };
//! let (mut cache, t0) = (ReferralCache::new(), Instant::now());
//! let path = unc_path("fs1", "dfs", "docs\\a.txt");
//! cache.insert(&path, &referral, t0)?;
//! let targets = cache.resolve(&unc_path("FS1", "dfs", "docs\\b\\c.txt"), t0).unwrap();
//! assert_eq!((targets[0].server.as_str(), targets[0].share.as_str()), ("fs2", "docs"));
//! assert_eq!(targets[0].path, "b\\c.txt");
//! assert_eq!(targets[1].path, "mirror\\b\\c.txt");
//! assert!(cache.resolve(&path, t0 + Duration::from_secs(300)).is_none(), "expired");
//! # Ok::<(), smb_proto::Error>(())
//! ```

use std::time::{Duration, Instant};

use super::context::{Resolver, Target};
use super::ClientError;
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::dfs::DfsReferralResponse;

/// Referrals a cache holds at most; the one expiring first makes room for a new one.
pub const MAX_CACHED_REFERRALS: usize = 256;

/// Referrals a call follows at most (a link whose target is another DFS root, and so
/// on): a loop of links must end.
pub const MAX_DFS_HOPS: usize = 8;

/// Targets one referral may name at most; the rest are not kept.
pub const MAX_TARGETS: usize = 32;

/// Where a DFS path leads: a server, a share on it, and the path inside the share
/// (`\`-separated, no leading separator; empty for the share's root).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DfsTarget {
    /// The target server as the referral names it (a host name or address, no port:
    /// MS-DFSC has none).
    pub server: String,
    /// The share on it.
    pub share: String,
    /// The path inside the share.
    pub path: String,
}

/// `\server\share[\path]`: the form MS-DFSC names paths in.
pub fn unc_path(server: &str, share: &str, path: &str) -> String {
    let path = path.trim_matches('\\');
    if path.is_empty() {
        format!("\\{server}\\{share}")
    } else {
        format!("\\{server}\\{share}\\{path}")
    }
}

/// Whether a call that failed with `error` is one to retry on the next target of a
/// referral: the target could not be reached (the name did not resolve, the TCP
/// connection was refused or timed out, the connection ended). Any other error (a
/// missing file, a refused login) is the answer.
pub fn fails_over(error: &ClientError) -> bool {
    match error {
        ClientError::Connect { .. } | ClientError::Io(_) => true,
        ClientError::Smb(e) => {
            e.kind() == crate::ErrorKind::Disconnected
                || e.status() == Some(NtStatus::BAD_NETWORK_NAME)
        }
        _ => false,
    }
}

/// Whether `error` is STATUS_PATH_NOT_COVERED: the path lies behind a DFS link, and the
/// server that said so has its referral.
pub fn is_path_not_covered(error: &ClientError) -> bool {
    error.status() == Some(NtStatus::PATH_NOT_COVERED)
}

/// A cached referral: a prefix of DFS paths and its targets.
#[derive(Debug, Clone)]
struct Entry {
    /// `\server\share[\link]` as the client spelled it when it asked.
    prefix: String,
    /// The targets' `\server\share[\path]`, the preferred first.
    targets: Vec<String>,
    expires: Instant,
}

/// The length of `prefix` in `path` when `path` starts with it on a component boundary
/// (ASCII case ignored, as SMB compares names).
fn covers(prefix: &str, path: &str) -> bool {
    path.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        && matches!(path.as_bytes().get(prefix.len()), None | Some(b'\\'))
}

/// A target's `\server\share[\path]` with `rest` (the part of the request path beyond
/// the referral's prefix) appended; `None` for an address that names no share.
fn target(address: &str, rest: &str) -> Option<DfsTarget> {
    let mut parts = address.trim_start_matches('\\').splitn(3, '\\');
    let server = parts.next().filter(|s| !s.is_empty())?;
    let share = parts.next().filter(|s| !s.is_empty())?;
    let base = parts.next().unwrap_or("").trim_matches('\\');
    let rest = rest.trim_matches('\\');
    let path = match (base.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (false, true) => base.to_string(),
        (false, false) => format!("{base}\\{rest}"),
    };
    Some(DfsTarget {
        server: server.to_string(),
        share: share.to_string(),
        path,
    })
}

/// DFS referrals by path prefix, each until its time to live runs out (MS-DFSC 3.1.1's
/// ReferralCache). Lookups find the longest prefix of the path on component
/// boundaries, comparing without ASCII case.
#[derive(Debug, Clone, Default)]
pub struct ReferralCache {
    entries: Vec<Entry>,
}

impl ReferralCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many unexpired referrals the cache holds at `now`.
    pub fn len(&self, now: Instant) -> usize {
        self.entries.iter().filter(|e| e.expires > now).count()
    }

    /// Whether it holds no unexpired referral at `now`.
    pub fn is_empty(&self, now: Instant) -> bool {
        self.len(now) == 0
    }

    /// Forgets every referral.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The targets `path` (`\server\share\path`, see [`unc_path`]) leads to, the
    /// preferred first, when an unexpired referral covers it; expired ones are dropped.
    pub fn resolve(&mut self, path: &str, now: Instant) -> Option<Vec<DfsTarget>> {
        self.entries.retain(|e| e.expires > now);
        let entry = self
            .entries
            .iter()
            .filter(|e| covers(&e.prefix, path))
            .max_by_key(|e| e.prefix.len())?;
        let rest = &path[entry.prefix.len()..];
        let targets: Vec<DfsTarget> = entry
            .targets
            .iter()
            .filter_map(|a| target(a, rest))
            .collect();
        (!targets.is_empty()).then_some(targets)
    }

    /// Stores the referral the server gave for `requested` at `now` and returns the
    /// targets `requested` leads to, as [`ReferralCache::resolve`] would.
    ///
    /// The prefix is the entries' DFSPath when it begins `requested` (any server
    /// spells its own name as it likes, so it is taken in the client's spelling), else
    /// the first PathConsumed bytes of `requested`. The referral lives for the
    /// smallest TimeToLive of its entries; a TTL of 0 is used once and not kept.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a referral with no target, or one whose prefix is not a
    /// prefix of `requested`.
    pub fn insert(
        &mut self,
        requested: &str,
        referral: &DfsReferralResponse,
        now: Instant,
    ) -> Result<Vec<DfsTarget>, Error> {
        let invalid = |why: &str| Error::Invalid(format!("dfs referral for {requested}: {why}"));
        let first = referral
            .referrals
            .first()
            .ok_or_else(|| invalid("no target"))?;
        let prefix = self::prefix(requested, &first.dfs_path, referral.path_consumed)
            .ok_or_else(|| invalid("its path is not a prefix of the path asked for"))?;
        let ttl = referral.referrals.iter().map(|r| r.ttl).min().unwrap_or(0);
        let targets: Vec<String> = referral
            .referrals
            .iter()
            .take(MAX_TARGETS)
            .map(|r| r.network_address.clone())
            .collect();
        let rest = &requested[prefix.len()..];
        let resolved: Vec<DfsTarget> = targets.iter().filter_map(|a| target(a, rest)).collect();
        if resolved.is_empty() {
            return Err(invalid("no target names a server and a share"));
        }
        let expires = now
            .checked_add(Duration::from_secs(ttl.into()))
            .unwrap_or(now);
        self.entries
            .retain(|e| e.expires > now && !e.prefix.eq_ignore_ascii_case(&prefix));
        if self.entries.len() >= MAX_CACHED_REFERRALS {
            if let Some(soonest) = (0..self.entries.len()).min_by_key(|&i| self.entries[i].expires)
            {
                self.entries.swap_remove(soonest);
            }
        }
        if expires > now {
            self.entries.push(Entry {
                prefix,
                targets,
                expires,
            });
        }
        Ok(resolved)
    }

    /// Makes `chosen` the first target of the referral covering `path` (the one that
    /// answered), so later calls try it first rather than one that failed.
    pub fn prefer(&mut self, path: &str, chosen: &DfsTarget) {
        let Some(entry) = self
            .entries
            .iter_mut()
            .filter(|e| covers(&e.prefix, path))
            .max_by_key(|e| e.prefix.len())
        else {
            return;
        };
        let rest = &path[entry.prefix.len()..];
        if let Some(i) = entry
            .targets
            .iter()
            .position(|a| target(a, rest).as_ref() == Some(chosen))
        {
            entry.targets[..=i].rotate_right(1);
        }
    }
}

/// The part of `requested` a referral covers, in `requested`'s spelling: `dfs_path`
/// when `requested` starts with it, else the first `path_consumed` bytes (UTF-16) of
/// `requested` when they end on a component boundary.
fn prefix(requested: &str, dfs_path: &str, path_consumed: u16) -> Option<String> {
    let dfs_path = dfs_path.trim_end_matches('\\');
    if !dfs_path.is_empty() && covers(dfs_path, requested) {
        return Some(requested[..dfs_path.len()].to_string());
    }
    let want = usize::from(path_consumed) / 2;
    let mut units = 0;
    let mut end = (want == 0).then_some(0);
    for (i, c) in requested.char_indices() {
        units += c.len_utf16();
        if units == want {
            end = Some(i + c.len_utf8());
            break;
        }
    }
    let head = &requested[..end?];
    (head.len() > 1 && covers(head, requested)).then(|| head.to_string())
}

/// What a driver does next for a call that follows DFS links ([`DfsWalk`]).
#[derive(Debug)]
pub enum DfsStep {
    /// Run the call on this target: the connection for its options (connecting if
    /// there is none), its [`Target::share`] and [`Target::path`]. Hand the outcome to
    /// [`DfsWalk::on_success`] or [`DfsWalk::on_error`].
    Call(Target),
    /// Ask the server behind `target` (the connection for its options) for the
    /// referral of `path` ([`GetDfsReferral`](crate::ops::GetDfsReferral)) and hand
    /// the outcome to [`DfsWalk::on_referral`].
    Refer {
        /// The server that said the path is not covered.
        target: Target,
        /// The DFS path to ask about (`\server\share\path`).
        path: String,
    },
    /// Stop: the call fails with this error (the server's answer, the last target's
    /// connect failure, a bad referral, or too many referrals).
    Fail(ClientError),
}

/// One call's way through DFS links, free of I/O: which target to run it on, when to
/// ask for a referral, when to fail over to a referral's next target, when to give up.
/// The referral cache, the [`Resolver`] that turns a referral's target into a
/// connectable [`Target`], and the time are passed into each step, so a driver may
/// keep them behind its own locks (and hold none while it waits on the network).
///
/// The rules, in order, for a call's outcome:
///
/// * success, or a failure the server answered with (a missing file, a refused
///   access): the answer; a referral's target that answered becomes the first the cache
///   names ([`ReferralCache::prefer`]);
/// * on a referral's target, a failure that [`fails_over`] (refused connection, ended
///   connection, no such share): the next target, or, after the last, its error;
/// * STATUS_PATH_NOT_COVERED: a referral from the server that said so, then its
///   targets in order; after [`MAX_DFS_HOPS`] of these the call fails (EINVAL).
///
/// A path the cache covers goes to the cached targets without asking.
///
/// ```
/// use std::time::Instant;
/// use smb_proto::client::context::Resolver;
/// use smb_proto::client::dfs::{DfsStep, DfsWalk, ReferralCache};
/// use smb_proto::wire::dfs::{DfsReferral, DfsReferralResponse};
/// use smb_proto::client::ConnectOptions;
/// use smb_proto::{Error, NtStatus};
///
/// let resolver = Resolver::new(ConnectOptions::new("").user("u", "p"));
/// let (mut cache, now) = (ReferralCache::new(), Instant::now());
/// let mut walk = DfsWalk::new(resolver.resolve("smb://root/dfs/link/a.txt")?)?;
/// let DfsStep::Call(first) = walk.start(&resolver, &mut cache, now) else { panic!() };
/// assert_eq!(first.url.host, "root");
/// let not_covered = Error::failed(NtStatus::PATH_NOT_COVERED, "stat", "link\\a.txt");
/// let DfsStep::Refer { path, .. } = walk.on_error(not_covered.into(), &resolver, &mut cache)
/// else { panic!() };
/// assert_eq!(path, "\\root\\dfs\\link\\a.txt");
/// let to = |address: &str| DfsReferral {
///     version: 3, server_type: 0, flags: 0, ttl: 300,
///     dfs_path: "\\root\\dfs\\link".into(), dfs_alternate_path: "\\root\\dfs\\link".into(),
///     network_address: address.into(),
/// };
/// let referral = DfsReferralResponse {
///     path_consumed: 0, header_flags: 0, referrals: vec![to("\\fs1\\docs"), to("\\fs2\\docs")],
/// };
/// let DfsStep::Call(t) = walk.on_referral(Ok(referral), &resolver, &mut cache, now) else { panic!() };
/// assert_eq!((t.url.host.as_str(), t.share()?, t.path()), ("fs1", "docs", "a.txt"));
/// // fs1 is down: on to fs2, which answers.
/// let refused = smb_proto::client::ClientError::Connect {
///     target: "fs1:445".into(),
///     source: std::io::ErrorKind::ConnectionRefused.into(),
/// };
/// let DfsStep::Call(t) = walk.on_error(refused, &resolver, &mut cache) else { panic!() };
/// assert_eq!(t.url.host, "fs2");
/// walk.on_success(&mut cache);
/// assert_eq!(walk.answered_at().map(|t| t.url.host.as_str()), Some("fs2"));
/// # Ok::<(), smb_proto::client::ClientError>(())
/// ```
#[derive(Debug)]
pub struct DfsWalk {
    /// The target whose DFS path the targets being tried are a referral's for (the
    /// URL's own until a server says its path is not covered).
    from: Target,
    /// `from`'s DFS path: the cache's key for the targets being tried.
    path: String,
    /// The referral's targets not tried yet.
    targets: std::vec::IntoIter<DfsTarget>,
    /// The target of the last [`DfsStep::Call`], and the referral's target it came
    /// from (none for the URL's own).
    trying: Option<(Target, Option<DfsTarget>)>,
    /// The error of the last target that could not be reached.
    unreachable: Option<ClientError>,
    /// Referrals followed.
    hops: usize,
    /// Where the call got its answer.
    answered: Option<Target>,
}

impl DfsWalk {
    /// A walk for a call on `target`.
    ///
    /// # Errors
    ///
    /// EINVAL for a target naming no share (see [`Target::share`]).
    pub fn new(target: Target) -> Result<Self, ClientError> {
        target.share()?;
        Ok(DfsWalk {
            path: Resolver::dfs_path(&target),
            from: target,
            targets: Vec::new().into_iter(),
            trying: None,
            unreachable: None,
            hops: 0,
            answered: None,
        })
    }

    /// The first step: the cached targets of the call's path, the preferred first, or
    /// the URL's own target.
    pub fn start(
        &mut self,
        resolver: &Resolver,
        cache: &mut ReferralCache,
        now: Instant,
    ) -> DfsStep {
        match cache.resolve(&self.path, now) {
            Some(targets) => {
                self.targets = targets.into_iter();
                self.next_target(resolver)
            }
            None => {
                self.trying = Some((self.from.clone(), None));
                DfsStep::Call(self.from.clone())
            }
        }
    }

    /// The call succeeded on the last [`DfsStep::Call`]'s target.
    pub fn on_success(&mut self, cache: &mut ReferralCache) {
        self.answered(cache);
    }

    /// The last [`DfsStep::Call`] failed with `error` (connecting or in the call).
    pub fn on_error(
        &mut self,
        error: ClientError,
        resolver: &Resolver,
        cache: &mut ReferralCache,
    ) -> DfsStep {
        let Some((at, to)) = self.trying.clone() else {
            return DfsStep::Fail(error);
        };
        if let (Some(to), true) = (&to, fails_over(&error)) {
            tracing::info!(server = %to.server, share = %to.share, error = %error, "dfs target unreachable");
            self.unreachable = Some(error);
            return self.next_target(resolver);
        }
        self.answered(cache);
        if !is_path_not_covered(&error) {
            return DfsStep::Fail(error);
        }
        self.answered = None;
        self.hops += 1;
        if self.hops > MAX_DFS_HOPS {
            return DfsStep::Fail(
                Error::Invalid(format!(
                    "{}: more than {MAX_DFS_HOPS} DFS referrals to follow",
                    self.path
                ))
                .into(),
            );
        }
        self.path = Resolver::dfs_path(&at);
        self.from = at.clone();
        DfsStep::Refer {
            target: at,
            path: self.path.clone(),
        }
    }

    /// The referral asked for by the last [`DfsStep::Refer`] came back (or failed):
    /// it is cached, and its first target is next.
    pub fn on_referral(
        &mut self,
        referral: Result<DfsReferralResponse, ClientError>,
        resolver: &Resolver,
        cache: &mut ReferralCache,
        now: Instant,
    ) -> DfsStep {
        match referral.and_then(|r| Ok(cache.insert(&self.path, &r, now)?)) {
            Ok(targets) => {
                self.targets = targets.into_iter();
                self.unreachable = None;
                self.next_target(resolver)
            }
            Err(e) => DfsStep::Fail(e),
        }
    }

    /// The target where the call got its answer (success, or a failure the server
    /// gave), once it has: where the path lives, DFS links followed.
    pub fn answered_at(&self) -> Option<&Target> {
        self.answered.as_ref()
    }

    /// The last call's target answered: remember it, and make it the referral's first.
    fn answered(&mut self, cache: &mut ReferralCache) {
        if let Some((at, to)) = &self.trying {
            if let Some(to) = to {
                cache.prefer(&self.path, to);
            }
            self.answered = Some(at.clone());
        }
    }

    /// A call on the referral's next target, or, when none is left, the last one's
    /// error.
    fn next_target(&mut self, resolver: &Resolver) -> DfsStep {
        match self.targets.next() {
            Some(to) => {
                let target = resolver.redirect(&self.from, &to);
                self.trying = Some((target.clone(), Some(to)));
                DfsStep::Call(target)
            }
            None => {
                DfsStep::Fail(self.unreachable.take().unwrap_or_else(|| {
                    Error::Invalid(format!("{}: no DFS target", self.path)).into()
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::dfs::DfsReferral;

    fn referral(dfs_path: &str, ttl: u32, targets: &[&str], consumed: u16) -> DfsReferralResponse {
        DfsReferralResponse {
            path_consumed: consumed,
            header_flags: 0,
            referrals: targets
                .iter()
                .map(|t| DfsReferral {
                    version: 3,
                    server_type: 0,
                    flags: 0,
                    ttl,
                    dfs_path: dfs_path.into(),
                    dfs_alternate_path: dfs_path.into(),
                    network_address: (*t).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn longest_prefix_on_component_boundaries_until_ttl() {
        let t0 = Instant::now();
        let mut cache = ReferralCache::new();
        let asked = "\\srv\\root\\link\\a.txt";
        let got = cache
            .insert(
                asked,
                &referral("\\SRV\\root\\link", 10, &["\\t1\\s"], 0),
                t0,
            )
            .unwrap();
        assert_eq!(got[0].path, "a.txt");
        // `link2` is not under `link`.
        assert!(cache.resolve("\\srv\\root\\link2\\a", t0).is_none());
        assert!(cache.resolve("\\srv\\root", t0).is_none());
        let deeper = "\\srv\\root\\link\\sub\\x";
        cache
            .insert(
                deeper,
                &referral("\\srv\\root\\link\\sub", 20, &["\\t2\\s2"], 0),
                t0,
            )
            .unwrap();
        assert_eq!(cache.resolve(deeper, t0).unwrap()[0].server, "t2");
        assert_eq!(cache.resolve("\\SRV\\ROOT\\LINK", t0).unwrap()[0].path, "");
        let later = t0 + Duration::from_secs(10);
        assert_eq!(cache.len(later), 1, "the first expired at its TTL");
        assert!(cache.resolve(asked, later).is_none());
        assert_eq!(cache.resolve(deeper, later).unwrap()[0].server, "t2");
    }

    #[test]
    fn path_consumed_when_the_dfs_path_is_spelled_otherwise() {
        let t0 = Instant::now();
        let mut cache = ReferralCache::new();
        // The server names itself SMBTESTS; the client asked by address.
        let asked = "\\127.0.0.1\\root\\link\\f";
        let consumed = (asked.len() - 2) as u16 * 2;
        let got = cache
            .insert(
                asked,
                &referral("\\SMBTESTS\\root\\link", 5, &["\\h\\s\\base"], consumed),
                t0,
            )
            .unwrap();
        assert_eq!(
            got[0],
            DfsTarget {
                server: "h".into(),
                share: "s".into(),
                path: "base\\f".into()
            }
        );
        // A PathConsumed that ends mid-component, or a DFSPath that is no prefix.
        let bad = referral("\\x\\y", 5, &["\\h\\s"], 7);
        assert!(cache.insert(asked, &bad, t0).is_err());
        assert!(cache
            .insert(asked, &referral("\\a\\b", 5, &[], 0), t0)
            .is_err());
        assert!(cache
            .insert(
                asked,
                &referral("\\127.0.0.1\\root", 5, &["\\nohost"], 0),
                t0
            )
            .is_err());
    }

    #[test]
    fn prefer_moves_the_target_that_answered_first() {
        let t0 = Instant::now();
        let mut cache = ReferralCache::new();
        let asked = "\\s\\r\\l";
        let got = cache
            .insert(
                asked,
                &referral("\\s\\r\\l", 60, &["\\a\\x", "\\b\\x", "\\c\\x"], 0),
                t0,
            )
            .unwrap();
        cache.prefer(asked, &got[2]);
        let order: Vec<_> = cache
            .resolve(asked, t0)
            .unwrap()
            .into_iter()
            .map(|t| t.server)
            .collect();
        assert_eq!(order, ["c", "a", "b"]);
    }

    #[test]
    fn zero_ttl_is_not_kept_and_the_cache_is_bounded() {
        let t0 = Instant::now();
        let mut cache = ReferralCache::new();
        assert!(cache
            .insert("\\s\\r\\l", &referral("\\s\\r\\l", 0, &["\\a\\x"], 0), t0)
            .is_ok());
        assert!(cache.is_empty(t0));
        for i in 0..MAX_CACHED_REFERRALS + 10 {
            let p = format!("\\s\\r\\l{i}");
            cache
                .insert(&p, &referral(&p, 60 + i as u32, &["\\a\\x"], 0), t0)
                .unwrap();
        }
        assert_eq!(cache.len(t0), MAX_CACHED_REFERRALS);
    }

    #[test]
    fn what_fails_over() {
        let refused = ClientError::Connect {
            target: "h:445".into(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        };
        assert!(fails_over(&refused));
        let missing = ClientError::Smb(Error::failed(NtStatus::OBJECT_NAME_NOT_FOUND, "stat", "x"));
        assert!(!fails_over(&missing));
        let not_covered = ClientError::Smb(Error::failed(NtStatus::PATH_NOT_COVERED, "stat", "x"));
        assert!(is_path_not_covered(&not_covered) && !is_path_not_covered(&missing));
    }

    fn not_covered() -> ClientError {
        ClientError::Smb(Error::failed(NtStatus::PATH_NOT_COVERED, "stat", "x"))
    }

    fn refused(host: &str) -> ClientError {
        ClientError::Connect {
            target: format!("{host}:445"),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        }
    }

    fn host(step: &DfsStep) -> &str {
        match step {
            DfsStep::Call(t) => &t.url.host,
            other => panic!("expected a call, got {other:?}"),
        }
    }

    #[test]
    fn walk_fails_over_gives_the_last_error_and_uses_the_cache() {
        let resolver = Resolver::new(crate::client::ConnectOptions::new("").user("u", "p"));
        let (mut cache, t0) = (ReferralCache::new(), Instant::now());
        let url = "smb://root/dfs/link/f";
        let mut walk = DfsWalk::new(resolver.resolve(url).unwrap()).unwrap();
        assert_eq!(host(&walk.start(&resolver, &mut cache, t0)), "root");
        let step = walk.on_error(not_covered(), &resolver, &mut cache);
        assert!(matches!(step, DfsStep::Refer { ref path, .. } if path == "\\root\\dfs\\link\\f"));
        let r = referral("\\root\\dfs\\link", 60, &["\\a\\s", "\\b\\s"], 0);
        let step = walk.on_referral(Ok(r), &resolver, &mut cache, t0);
        assert_eq!(host(&step), "a");
        let step = walk.on_error(refused("a"), &resolver, &mut cache);
        assert_eq!(host(&step), "b");
        match walk.on_error(refused("b"), &resolver, &mut cache) {
            DfsStep::Fail(ClientError::Connect { target, .. }) => assert_eq!(target, "b:445"),
            other => panic!("{other:?}"),
        }
        assert!(walk.answered_at().is_none());

        // The next call under the link starts at the cached targets; a missing file on
        // the first is the answer (no failover), and that target stays first.
        let mut walk = DfsWalk::new(resolver.resolve("smb://ROOT/dfs/link/g").unwrap()).unwrap();
        assert_eq!(host(&walk.start(&resolver, &mut cache, t0)), "a");
        let step = walk.on_error(refused("a"), &resolver, &mut cache);
        assert_eq!(host(&step), "b");
        let missing = ClientError::Smb(Error::failed(NtStatus::OBJECT_NAME_NOT_FOUND, "stat", "g"));
        assert!(matches!(
            walk.on_error(missing, &resolver, &mut cache),
            DfsStep::Fail(e) if e.status() == Some(NtStatus::OBJECT_NAME_NOT_FOUND)
        ));
        assert_eq!(walk.answered_at().unwrap().url.host, "b");
        assert_eq!(
            cache.resolve("\\root\\dfs\\link", t0).unwrap()[0].server,
            "b"
        );

        // A connect failure on the URL's own server is the answer: nothing to fail
        // over to.
        let mut walk = DfsWalk::new(resolver.resolve("smb://other/s/x").unwrap()).unwrap();
        walk.start(&resolver, &mut cache, t0);
        assert!(matches!(
            walk.on_error(refused("other"), &resolver, &mut cache),
            DfsStep::Fail(ClientError::Connect { .. })
        ));
        assert!(DfsWalk::new(resolver.resolve("smb://server").unwrap()).is_err());
    }

    #[test]
    fn walk_ends_a_loop_of_links() {
        let resolver = Resolver::new(crate::client::ConnectOptions::new("").user("u", "p"));
        let (mut cache, t0) = (ReferralCache::new(), Instant::now());
        let mut walk = DfsWalk::new(resolver.resolve("smb://a/s/l/f").unwrap()).unwrap();
        walk.start(&resolver, &mut cache, t0);
        let mut referrals = 0;
        loop {
            match walk.on_error(not_covered(), &resolver, &mut cache) {
                DfsStep::Refer { path, .. } => {
                    referrals += 1;
                    // Every link leads to another server's link: a loop.
                    let to = if path.starts_with("\\a\\") {
                        "\\b\\s\\l"
                    } else {
                        "\\a\\s\\l"
                    };
                    let prefix = path.trim_end_matches("\\f");
                    let r = referral(prefix, 0, &[to], 0);
                    assert!(matches!(
                        walk.on_referral(Ok(r), &resolver, &mut cache, t0),
                        DfsStep::Call(_)
                    ));
                }
                DfsStep::Fail(e) => {
                    assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{e}");
                    break;
                }
                DfsStep::Call(t) => panic!("{t:?}"),
            }
        }
        assert_eq!(referrals, MAX_DFS_HOPS);
    }
}
