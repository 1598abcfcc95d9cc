//! Workgroup browsing for a URL context, as libsmbclient's `SMBC_opendir_ctx` does it,
//! sans-IO: which NetBIOS name to ask for next, what an answer means, which master
//! browser to ask for which list. A driver's context only runs the steps
//! ([`Browse::step`]): it moves the name queries' datagrams, connects where it is told
//! and runs the [`ListServers`] operation it is handed.
//!
//! * `smb://` (the network): a name query for `__MSBROWSE__<01>`, the group every local
//!   master browser joins (MS-BRWS 2.1.1.3); each answering node's workgroup is the
//!   name it holds with suffix `<1d>` (a node status request says); that master
//!   browser is asked for the workgroups it knows (NetServerEnum2 with
//!   SV_TYPE_DOMAIN_ENUM). When no master browser answers for `__MSBROWSE__` (nmbd
//!   does not always), the configured workgroup's master browser is asked for instead,
//!   by `WORKGROUP<1d>`, then its domain master browser by `WORKGROUP<1b>`.
//! * `smb://NAME`: when `NAME<1d>` (or `NAME<1b>`) answers, NAME is a workgroup and
//!   its master browser lists its servers (server types 0x0000FFFE); otherwise NAME is
//!   a server and its shares are listed, as for any server URL. A name that cannot be
//!   a workgroup (an IP address, a DNS name with a dot, longer than 15 characters) is
//!   not asked about, and neither is any name when SMB1 is off (browse lists travel
//!   over RAP, which is SMB1's), so a context without SMB1 behaves as before.
//!
//! Departures from libsmbclient, both for determinism: the master browser is reached
//! at the address that answered rather than by resolving its name again, and on the
//! context's port (a URL without a server names none), with SMB1 only (as smbclient
//! reconnects "with SMB1 for workgroup listing").

use std::collections::VecDeque;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::context::{Dirent, DirentType, Resolver, Target};
use super::ClientError;
use crate::netbios::{
    suffix, NameLookup, NameQuery, NameService, NameServiceError, NetBiosName, NodeStatus,
    StatusLookup,
};
use crate::ops::ListServers;
use crate::rpc::rap::{server_type, RapServer};
use crate::url::SmbUrl;
use crate::Dialect;

/// The workgroup browsing starts from when the context names none (libsmbclient's
/// default, smb.conf's `workgroup`).
pub const DEFAULT_WORKGROUP: &str = "WORKGROUP";

/// Where a context's browsing name queries go and how long each may take: by default
/// broadcasts to `255.255.255.255` (as libsmbclient sends them without a WINS server),
/// one second each, three copies.
///
/// ```
/// use std::net::Ipv4Addr;
/// use std::time::Duration;
/// use smb_proto::client::browse::BrowseOptions;
///
/// // A subnet's broadcast address (on loopback: 127.255.255.255)…
/// let subnet = BrowseOptions::broadcast(Ipv4Addr::new(192, 168, 1, 255));
/// assert!(subnet.service.broadcast);
/// // …or one node asked directly, a name server or the master browser itself.
/// let nbns = BrowseOptions::name_server(Ipv4Addr::new(10, 0, 0, 2)).timeout(Duration::from_secs(2));
/// assert!(!nbns.service.broadcast && !nbns.service.recursion_desired);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowseOptions {
    /// How name queries are sent (port, broadcast or not, attempts). Browsing queries
    /// never set RD: nmbd does not answer a browser name asked for with RD.
    pub service: NameService,
    /// Where name queries go: a broadcast address, or a name server with
    /// [`BrowseOptions::name_server`].
    pub address: Ipv4Addr,
    /// How long each name query and node status request may take. A broadcast query
    /// always takes all of it: it collects every node's answer.
    pub timeout: Duration,
}

impl Default for BrowseOptions {
    fn default() -> Self {
        BrowseOptions::broadcast(Ipv4Addr::BROADCAST)
    }
}

impl BrowseOptions {
    /// Name queries broadcast to `address` (B set): every master browser on that subnet
    /// answers.
    pub fn broadcast(address: Ipv4Addr) -> Self {
        BrowseOptions {
            service: NameService::new().broadcast(true).recursion_desired(false),
            address,
            timeout: Duration::from_secs(1),
        }
    }

    /// Name queries sent to the node at `ip` only (RD clear): a name server, or a
    /// master browser known by address.
    pub fn name_server(ip: Ipv4Addr) -> Self {
        BrowseOptions {
            service: NameService::new().recursion_desired(false),
            ..BrowseOptions::broadcast(ip)
        }
    }

    /// Sets how long each query may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the UDP port of the name service (137).
    pub fn port(mut self, port: u16) -> Self {
        self.service = self.service.port(port);
        self
    }
}

/// What a driver does next for a browsing listing ([`Browse::step`]).
#[derive(Debug)]
pub enum BrowseStep {
    /// Run this name query and hand its outcome to [`Browse::on_names`].
    Names(NameQuery<NameLookup>),
    /// Run this node status request and hand its outcome to [`Browse::on_status`].
    Status(NameQuery<StatusLookup>),
    /// Connect as `target` says (a master browser, SMB1) and run `op` there; hand the
    /// outcome, the connection's failure included, to [`Browse::on_list`].
    List {
        /// The master browser's address, port and credentials.
        target: Box<Target>,
        /// The listing to ask it for.
        op: ListServers,
    },
    /// The URL names a server after all: list its shares, as for any server URL.
    Shares(Box<Target>),
    /// The listing.
    Done(Vec<Dirent>),
    /// Browsing failed.
    Fail(ClientError),
}

/// A node to ask for a list: its address and, once known, the workgroup it is the
/// master browser of.
type Master = (Ipv4Addr, Option<String>);

/// What the last step asked for, whose answer is due.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Awaiting {
    Nothing,
    Names(NetBiosName),
    Status(Ipv4Addr),
    List,
}

/// One browsing listing in progress, for `smb://` or `smb://NAME` (see the module doc).
///
/// ```
/// use std::net::Ipv4Addr;
/// use std::time::Instant;
/// use smb_proto::client::browse::{Browse, BrowseStep};
/// use smb_proto::client::context::Resolver;
/// use smb_proto::client::ConnectOptions;
///
/// let resolver = Resolver::new(ConnectOptions::new("").smb1(true));
/// let target = resolver.resolve("smb://")?;
/// let mut browse = Browse::new(&resolver, &target).expect("the network is browsed");
/// match browse.step(&resolver, 7, Instant::now()) {
///     BrowseStep::Names(q) => assert_eq!(q.server().ip(), &Ipv4Addr::BROADCAST),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), smb_proto::client::ClientError>(())
/// ```
#[derive(Debug)]
pub struct Browse {
    options: BrowseOptions,
    /// The URL listed: its credentials reach the master browsers.
    url: SmbUrl,
    /// The port master browsers are reached on.
    port: u16,
    /// Whether SMB1 may be spoken (RAP needs it).
    smb1: bool,
    /// What is listed: workgroups ([`server_type::DOMAIN_ENUM`]) or a workgroup's
    /// servers ([`server_type::ALL_SERVERS`]).
    server_type: u32,
    /// Names still to ask for, in order.
    names: VecDeque<NetBiosName>,
    /// Names asked for, for the error when none answered.
    asked: Vec<NetBiosName>,
    /// Master browsers still to ask, in order.
    masters: VecDeque<Master>,
    /// Master browsers queued so far, each once.
    seen: Vec<Master>,
    awaiting: Awaiting,
    /// The last failure worth telling (a listing's), when nothing succeeds.
    error: Option<ClientError>,
    outcome: Option<Vec<Dirent>>,
}

impl Browse {
    /// The browsing `target` needs: `Some` for `smb://`, and for `smb://NAME` when NAME
    /// could be a workgroup and SMB1 is on; `None` when the URL names a server (or a
    /// share), to be listed as such.
    pub fn new(resolver: &Resolver, target: &Target) -> Option<Browse> {
        let url = &target.url;
        if url.share.is_some() {
            return None;
        }
        let base = resolver.base();
        let smb1 = base.min_dialect.is_smb1();
        let (names, server_type) = if url.names_network() {
            let workgroup = resolver.workgroup();
            let workgroup = workgroup_names(&workgroup)
                .or_else(|| workgroup_names(DEFAULT_WORKGROUP))
                .unwrap_or_default();
            let mut names = vec![NetBiosName::msbrowse()];
            names.extend(workgroup);
            (names, server_type::DOMAIN_ENUM)
        } else {
            if !smb1 || !could_be_workgroup(&url.host) {
                return None;
            }
            (workgroup_names(&url.host)?, server_type::ALL_SERVERS)
        };
        Some(Browse {
            options: resolver.browse_options(),
            url: url.clone(),
            port: url.port.unwrap_or(base.port),
            smb1,
            server_type,
            names: names.into(),
            asked: Vec::new(),
            masters: VecDeque::new(),
            seen: Vec::new(),
            awaiting: Awaiting::Nothing,
            error: None,
            outcome: None,
        })
    }

    /// What to do next. `transaction_id` (the driver's random choice) and `now` are
    /// used when the step is a name query. Call it again after handing in the
    /// outcome of the step before; [`BrowseStep::Done`], [`BrowseStep::Fail`] and
    /// [`BrowseStep::Shares`] end the listing.
    pub fn step(&mut self, resolver: &Resolver, transaction_id: u16, now: Instant) -> BrowseStep {
        if self.awaiting != Awaiting::Nothing {
            return BrowseStep::Fail(invalid("browse: a step's outcome was not handed in"));
        }
        if let Some(entries) = self.outcome.take() {
            return BrowseStep::Done(entries);
        }
        if !self.smb1 {
            return BrowseStep::Fail(ClientError::Smb(crate::Error::Unsupported {
                op: "browse",
                dialect: "SMB2 (workgroup lists travel over RAP, SMB1's: \
                          connect with smb1 on, smb --smb1)",
            }));
        }
        let unicast = self.options.service.broadcast(false);
        if let Some((ip, workgroup)) = self.masters.pop_front() {
            let Some(workgroup) = workgroup else {
                self.awaiting = Awaiting::Status(ip);
                return BrowseStep::Status(unicast.node_status(
                    ip,
                    transaction_id,
                    self.options.timeout,
                    now,
                ));
            };
            self.awaiting = Awaiting::List;
            let mut url = self.url.clone();
            url.host = ip.to_string();
            url.port = Some(self.port);
            let mut target = resolver.resolve_url(url);
            // RAP is SMB1's: a master browser that also speaks SMB2 must not upgrade.
            target.options.max_dialect = Dialect::Nt1;
            target.key = super::context::ConnectionKey::of(&target.options);
            return BrowseStep::List {
                target: Box::new(target),
                op: ListServers::of_type(&workgroup, self.server_type),
            };
        }
        if let Some(name) = self.names.pop_front() {
            self.asked.push(name);
            self.awaiting = Awaiting::Names(name);
            let service = self.options.service.recursion_desired(false);
            return BrowseStep::Names(service.lookup(
                name,
                self.options.address,
                transaction_id,
                self.options.timeout,
                now,
            ));
        }
        match self.error.take() {
            Some(e) => BrowseStep::Fail(e),
            // No master browser answered for NAME (one that did was listed, or failed
            // with the error above): NAME is a server.
            None if !self.url.names_network() => {
                BrowseStep::Shares(Box::new(resolver.resolve_url(self.url.clone())))
            }
            None => BrowseStep::Fail(ClientError::NameService(
                NameServiceError::NoMasterBrowser {
                    asked: self.options.address,
                    names: self
                        .asked
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                },
            )),
        }
    }

    /// The outcome of a [`BrowseStep::Names`] query: each address that answered is a
    /// master browser to ask (of the workgroup asked for, or, for `__MSBROWSE__`, of
    /// the workgroup its node status names). No answer moves on to the next name.
    pub fn on_names(&mut self, outcome: Result<Vec<Ipv4Addr>, ClientError>) {
        let Awaiting::Names(name) = std::mem::replace(&mut self.awaiting, Awaiting::Nothing) else {
            return;
        };
        match outcome {
            Ok(addresses) => {
                let workgroup = (name != NetBiosName::msbrowse()).then(|| name.name());
                for ip in addresses {
                    self.queue((ip, workgroup.clone()), false);
                }
            }
            // Silence or a negative answer: the next name. A socket that failed is
            // worth telling if nothing else works.
            Err(e @ (ClientError::Io(_) | ClientError::Connect { .. })) => self.error = Some(e),
            Err(_) => {}
        }
    }

    /// The outcome of a [`BrowseStep::Status`] request: the node's unique `<1d>` name
    /// is the workgroup it is the master browser of, asked for its list next. A node
    /// without one (or silent) is skipped.
    pub fn on_status(&mut self, outcome: Result<NodeStatus, ClientError>) {
        let Awaiting::Status(ip) = std::mem::replace(&mut self.awaiting, Awaiting::Nothing) else {
            return;
        };
        let workgroup = outcome.ok().and_then(|status| {
            status
                .names
                .iter()
                .find(|n| n.name.suffix() == suffix::MASTER_BROWSER && !n.is_group())
                .map(|n| n.name.name())
        });
        if let Some(workgroup) = workgroup {
            self.queue((ip, Some(workgroup)), true);
        }
    }

    /// The outcome of a [`BrowseStep::List`]: the listing, or a failure after which the
    /// next master browser is asked.
    pub fn on_list(&mut self, outcome: Result<Vec<RapServer>, ClientError>) {
        if std::mem::replace(&mut self.awaiting, Awaiting::Nothing) != Awaiting::List {
            return;
        }
        match outcome {
            Ok(servers) => {
                let kind = match self.server_type {
                    server_type::DOMAIN_ENUM => DirentType::Workgroup,
                    _ => DirentType::Server,
                };
                let mut entries: Vec<Dirent> = Vec::with_capacity(servers.len());
                for s in servers {
                    if !entries.iter().any(|e| e.name.eq_ignore_ascii_case(&s.name)) {
                        entries.push(Dirent {
                            name: s.name,
                            kind,
                            comment: s.comment,
                            info: None,
                        });
                    }
                }
                self.outcome = Some(entries);
                self.masters.clear();
                self.names.clear();
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Queues a master browser to ask, once; `first` puts it at the front.
    fn queue(&mut self, master: Master, first: bool) {
        if self.seen.contains(&master) {
            return;
        }
        self.seen.push(master.clone());
        match first {
            true => self.masters.push_front(master),
            false => self.masters.push_back(master),
        }
    }
}

/// `NAME<1d>` and `NAME<1b>`: the local and the domain master browser of workgroup
/// `name`; `None` for a name that cannot be a NetBIOS name.
fn workgroup_names(name: &str) -> Option<Vec<NetBiosName>> {
    let master = NetBiosName::new(name, suffix::MASTER_BROWSER).ok()?;
    let domain = NetBiosName::new(name, suffix::DOMAIN_MASTER_BROWSER).ok()?;
    Some(vec![master, domain])
}

/// Whether a URL's host could be a workgroup: not an address, no dot (a DNS name), a
/// NetBIOS name's length.
fn could_be_workgroup(host: &str) -> bool {
    host.parse::<Ipv4Addr>().is_err()
        && host.parse::<Ipv6Addr>().is_err()
        && !host.contains(['.', ':', '%'])
        && NetBiosName::new(host, suffix::MASTER_BROWSER).is_ok()
}

fn invalid(msg: &str) -> ClientError {
    ClientError::Smb(crate::Error::Invalid(msg.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ConnectOptions;
    use crate::netbios::packet::NodeName;

    const WG: &str = "NMBTESTGROUP";

    fn resolver(smb1: bool) -> Resolver {
        let r = Resolver::new(ConnectOptions::new("").port(1445).smb1(smb1));
        r.set_browse(BrowseOptions::broadcast(Ipv4Addr::new(127, 255, 255, 255)));
        r.set_defaults(crate::client::context::Auth::new(WG, "alice", "pw"));
        r
    }

    fn browse(r: &Resolver, url: &str) -> Option<Browse> {
        Browse::new(r, &r.resolve(url).unwrap())
    }

    /// The name a step asks for, and where.
    fn asks(step: BrowseStep) -> (String, Ipv4Addr) {
        match step {
            BrowseStep::Names(mut q) => {
                let to = *q.server().ip();
                let t = q.poll_transmit(Instant::now()).unwrap();
                let p = crate::netbios::packet::Packet::decode(t.payload).unwrap();
                assert!(
                    !p.header
                        .has(crate::netbios::packet::nm_flags::RECURSION_DESIRED),
                    "browsing never sets RD"
                );
                (p.questions[0].name.name.to_string(), to)
            }
            other => panic!("not a name query: {other:?}"),
        }
    }

    fn server(name: &str, comment: &str) -> RapServer {
        RapServer {
            name: name.into(),
            version: (4, 9),
            server_type: 0,
            comment: comment.into(),
        }
    }

    fn status_with(names: &[(&str, u8, bool)]) -> NodeStatus {
        NodeStatus {
            names: names
                .iter()
                .map(|(n, s, group)| NodeName {
                    name: NetBiosName::new(n, *s).unwrap(),
                    flags: if *group { 0x8400 } else { 0x0400 },
                })
                .collect(),
            unit_id: None,
        }
    }

    fn timed_out() -> ClientError {
        ClientError::NameService(NameServiceError::NotFound {
            server: std::net::SocketAddrV4::new(Ipv4Addr::BROADCAST, 137),
            question: "q".into(),
        })
    }

    #[test]
    fn the_network_asks_msbrowse_then_the_lmb_s_workgroup_for_the_workgroups() {
        let r = resolver(true);
        let mut b = browse(&r, "smb://").unwrap();
        let now = Instant::now();
        let (name, to) = asks(b.step(&r, 1, now));
        assert_eq!(name, NetBiosName::msbrowse().to_string());
        assert_eq!(to, Ipv4Addr::new(127, 255, 255, 255));
        let lmb = Ipv4Addr::new(127, 0, 0, 3);
        b.on_names(Ok(vec![lmb]));
        // Which workgroup it masters: its node status, asked of it alone.
        match b.step(&r, 2, now) {
            BrowseStep::Status(q) => assert_eq!(q.server().ip(), &lmb),
            other => panic!("{other:?}"),
        }
        b.on_status(Ok(status_with(&[
            ("NMBTESTSRV", 0x20, false),
            ("OTHERWG", 0x1d, true),
            ("LMBGROUP", 0x1d, false),
        ])));
        match b.step(&r, 3, now) {
            BrowseStep::List { target, op } => {
                assert_eq!(target.options.host, "127.0.0.3");
                assert_eq!(target.options.port, 1445, "the context's port");
                assert_eq!(target.options.max_dialect, Dialect::Nt1);
                assert_eq!(target.options.user, "alice");
                assert_eq!(
                    target.key,
                    super::super::context::ConnectionKey::of(&target.options)
                );
                let debug = format!("{op:?}");
                assert!(
                    debug.contains("LMBGROUP")
                        && debug.contains(&format!("{}", server_type::DOMAIN_ENUM)),
                    "{debug}"
                );
            }
            other => panic!("{other:?}"),
        }
        b.on_list(Ok(vec![
            server("LMBGROUP", "NMBTESTSRV"),
            server("ELSEWHERE", "X"),
            server("lmbgroup", "dup"),
        ]));
        match b.step(&r, 4, now) {
            BrowseStep::Done(entries) => {
                let got: Vec<_> = entries
                    .iter()
                    .map(|e| (e.name.as_str(), e.kind, e.comment.as_str()))
                    .collect();
                assert_eq!(
                    got,
                    [
                        ("LMBGROUP", DirentType::Workgroup, "NMBTESTSRV"),
                        ("ELSEWHERE", DirentType::Workgroup, "X")
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_master_browser_is_listed_before_the_next_is_asked_about() {
        let r = resolver(true);
        let mut b = browse(&r, "smb://").unwrap();
        let now = Instant::now();
        asks(b.step(&r, 1, now));
        let (first, second) = (Ipv4Addr::new(127, 0, 0, 3), Ipv4Addr::new(127, 0, 0, 4));
        // Twice the same node (two answers to one broadcast) is asked once.
        b.on_names(Ok(vec![first, second, first]));
        let status_of = |step| match step {
            BrowseStep::Status(q) => *q.server().ip(),
            other => panic!("{other:?}"),
        };
        assert_eq!(status_of(b.step(&r, 2, now)), first);
        b.on_status(Ok(status_with(&[("ONE", 0x1d, false)])));
        match b.step(&r, 3, now) {
            BrowseStep::List { target, .. } => assert_eq!(target.options.host, "127.0.0.3"),
            other => panic!("{other:?}"),
        }
        b.on_list(Err(invalid("refused")));
        assert_eq!(status_of(b.step(&r, 4, now)), second);
        b.on_status(Err(invalid("silent")));
        assert_eq!(asks(b.step(&r, 5, now)).0, format!("{WG}<1d>"));
    }

    #[test]
    fn without_msbrowse_answers_the_configured_workgroup_s_master_is_asked() {
        let r = resolver(true);
        let mut b = browse(&r, "smb://").unwrap();
        let now = Instant::now();
        asks(b.step(&r, 1, now));
        b.on_names(Err(timed_out()));
        assert_eq!(asks(b.step(&r, 2, now)).0, format!("{WG}<1d>"));
        b.on_names(Ok(vec![Ipv4Addr::new(127, 0, 0, 3)]));
        // The workgroup is known: no node status.
        match b.step(&r, 3, now) {
            BrowseStep::List { op, .. } => assert!(format!("{op:?}").contains(WG)),
            other => panic!("{other:?}"),
        }
        // That master browser fails: the domain master browser is asked next.
        b.on_list(Err(invalid("refused")));
        assert_eq!(asks(b.step(&r, 4, now)).0, format!("{WG}<1b>"));
        b.on_names(Err(timed_out()));
        // Nothing left: the listing's failure is told, not "no master browser".
        match b.step(&r, 5, now) {
            BrowseStep::Fail(e) => assert!(e.to_string().contains("refused"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_master_browser_is_a_typed_error_naming_what_was_asked() {
        let r = resolver(true);
        let mut b = browse(&r, "smb://").unwrap();
        let now = Instant::now();
        for _ in 0..3 {
            asks(b.step(&r, 1, now));
            b.on_names(Err(timed_out()));
        }
        match b.step(&r, 1, now) {
            BrowseStep::Fail(e) => {
                assert!(matches!(
                    e,
                    ClientError::NameService(NameServiceError::NoMasterBrowser { .. })
                ));
                assert_eq!(e.errno(), crate::Errno::ENOENT);
                assert_eq!(e.kind(), crate::ErrorKind::NotFound);
                let msg = e.to_string();
                assert!(
                    msg.contains("127.255.255.255") && msg.contains(&format!("{WG}<1b>")),
                    "{msg}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A node status naming no master browser, or none at all, skips that node.
        let mut b = browse(&r, "smb://").unwrap();
        asks(b.step(&r, 1, now));
        b.on_names(Ok(vec![Ipv4Addr::new(127, 0, 0, 9)]));
        assert!(matches!(b.step(&r, 2, now), BrowseStep::Status(_)));
        b.on_status(Ok(status_with(&[("SRV", 0x20, false), ("WG", 0x1d, true)])));
        assert_eq!(asks(b.step(&r, 3, now)).0, format!("{WG}<1d>"));
    }

    #[test]
    fn a_name_with_a_master_browser_is_a_workgroup_and_lists_its_servers() {
        let r = resolver(true);
        let mut b = browse(&r, "smb://nmbtestgroup").unwrap();
        let now = Instant::now();
        assert_eq!(asks(b.step(&r, 1, now)).0, format!("{WG}<1d>"));
        b.on_names(Ok(vec![Ipv4Addr::new(127, 0, 0, 3)]));
        match b.step(&r, 2, now) {
            BrowseStep::List { target, op } => {
                assert_eq!(target.options.host, "127.0.0.3");
                let debug = format!("{op:?}");
                assert!(debug.contains(WG), "{debug}");
                assert!(
                    debug.contains(&format!("{}", server_type::ALL_SERVERS)),
                    "{debug}"
                );
            }
            other => panic!("{other:?}"),
        }
        b.on_list(Ok(vec![server("NMBTESTSRV", "Samba")]));
        match b.step(&r, 3, now) {
            BrowseStep::Done(entries) => {
                assert_eq!(entries.len(), 1);
                assert_eq!(entries[0].kind, DirentType::Server);
                assert_eq!(entries[0].comment, "Samba");
                assert_eq!(entries[0].kind.smbc_type(), 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_name_without_one_is_a_server_whose_shares_are_listed() {
        let r = resolver(true);
        let mut b = browse(&r, "smb://fileserver:4455").unwrap();
        let now = Instant::now();
        assert_eq!(asks(b.step(&r, 1, now)).0, "FILESERVER<1d>");
        b.on_names(Err(timed_out()));
        assert_eq!(asks(b.step(&r, 2, now)).0, "FILESERVER<1b>");
        b.on_names(Err(timed_out()));
        match b.step(&r, 3, now) {
            BrowseStep::Shares(target) => {
                assert_eq!(
                    (target.options.host.as_str(), target.options.port),
                    ("fileserver", 4455)
                );
            }
            other => panic!("{other:?}"),
        }
        // Not asked about at all: addresses, DNS names, a share, or SMB1 off.
        for url in [
            "smb://127.0.0.1",
            "smb://[::1]",
            "smb://files.example.com",
            "smb://h/share",
        ] {
            assert!(browse(&r, url).is_none(), "{url}");
        }
        assert!(browse(&resolver(false), "smb://fileserver").is_none());
    }

    #[test]
    fn the_network_without_smb1_fails_naming_the_option_before_asking_anything() {
        let r = resolver(false);
        let mut b = browse(&r, "smb://").unwrap();
        match b.step(&r, 1, Instant::now()) {
            BrowseStep::Fail(e) => {
                assert_eq!(e.kind(), crate::ErrorKind::Unsupported);
                assert!(e.to_string().contains("--smb1"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn outcomes_out_of_turn_are_ignored_and_steps_wait_for_them() {
        let r = resolver(true);
        let mut b = browse(&r, "smb://").unwrap();
        // Nothing asked yet: answers change nothing.
        b.on_list(Ok(vec![server("X", "")]));
        b.on_status(Ok(status_with(&[("X", 0x1d, false)])));
        let now = Instant::now();
        asks(b.step(&r, 1, now));
        assert!(matches!(b.step(&r, 2, now), BrowseStep::Fail(_)));
        b.on_names(Ok(vec![]));
        assert_eq!(asks(b.step(&r, 3, now)).0, format!("{WG}<1d>"));
    }
}
