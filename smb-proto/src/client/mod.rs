//! What every driver's public API shares: the options a caller connects with, the
//! [`Config`] and [`Credentials`] they stand for, the error a driver returns, the
//! [`Dispatcher`] an async driver's background task runs the connection with, and the
//! I/O-free half of the pathlib-style API ([`ShareTarget`], [`Creds`], [`PurePath`],
//! [`OpenMode`], [`Glob`]).
//!
//! Nothing here does I/O: a driver hands in what only it can get, fresh randomness for
//! the seed, the wall-clock time, and the bytes its socket moved.

use crate::idmap::IdMap;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};

use crate::auth::kerberos::crypto::{Enctype, Key};
use crate::auth::kerberos::keytab::Keytab;
use crate::auth::kerberos::{
    ccache, ClientSecret, Credential, KdcConfig, KerberosError, Principal,
};
use crate::auth::ntlm::Credentials;
use crate::config::{Config, Dialect, SigningPolicy};
use crate::connection::framing::Transport;
use crate::connection::{Connection, Event, Negotiated, OpId, SessionSlot};
use crate::netbios::NameServiceError;
use crate::ntstatus::NtStatus;
use crate::ops::{BoxedOp, FileInfo, OpOutput};
use crate::url::SmbUrl;

pub mod browse;
mod calls;
mod channels;
pub mod context;
pub mod dfs;
mod pathlib;
mod progress;
mod record;
mod spread;
mod stripes;
mod transfer;
pub use channels::{channel_targets, channels_to_bind};
pub use pathlib::{decode_text, is_missing, Creds, Glob, OpenMode, PurePath, ShareTarget};
pub use progress::{TreeProgress, TreeProgressFn, TreeTally};
pub use record::{RecordBuffer, RecordSink, RecordTarget};
pub use spread::{
    merge_spread, spread, spread_parts, spread_width, Part, SpreadTally, MIN_FILES_PER_CONNECTION,
};
pub use stripes::{InOrder, StripeJob, StripedRead, StripedWrite, Stripes};
pub use transfer::{
    chunk_for, local_path, local_size, part_paths, with_path, Download, LocalTree, ManyFiles,
    ReceiveBuffers, TransferResults, Upload, UploadBuffers, UploadWindow,
};

/// The error every driver returns (each re-exports it as its `Error`): what the
/// protocol reported, a failure to reach the server, or a local I/O failure.
///
/// [`kind`](ClientError::kind), [`errno`](ClientError::errno) and
/// [`status`](ClientError::status) answer the same questions whichever it is, so a caller
/// matches on them rather than on the variants.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The protocol reported a failure (NTSTATUS with path, auth, timeout, closed…).
    #[error(transparent)]
    Smb(crate::Error),
    /// The server could not be reached: the name did not resolve, or the TCP connection
    /// was refused or timed out.
    #[error("connecting to {target}: {source}{}", errno_suffix(source))]
    Connect {
        /// `host:port` as the caller gave it.
        target: String,
        /// What the system said.
        source: io::Error,
    },
    /// The socket or a local reader/writer failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// A NetBIOS name service query got no answer, a negative one, or could not be
    /// sent (see [`NameServiceError`]).
    #[error("NetBIOS name service: {error} ({errno})", error = .0, errno = .0.errno().name())]
    NameService(#[from] NameServiceError),
    /// A Kerberos exchange with the KDC failed: unreachable, unknown principal, wrong
    /// password, clock skew, … (see [`KerberosError`]).
    #[error("Kerberos: {error} ({errno})", error = .0, errno = .0.errno().name())]
    Kerberos(#[from] KerberosError),
    /// A transfer of many files failed part-way: the files that made it (their remote
    /// paths), and the first failure. Its kind, errno and status are that failure's.
    #[error("{first} ({} of {total} files transferred)", transferred.len())]
    Transfer {
        /// The remote paths of the files transferred whole.
        transferred: Vec<String>,
        /// How many files the transfer had.
        total: usize,
        /// The first failure.
        first: Box<ClientError>,
    },
    /// An operation asked of a connection that has not logged in yet (pysmb's
    /// `NotReadyError`), e.g. of a factory whose login is still running or failed.
    /// Nothing was sent.
    #[error("{op}: not logged in yet (ENOTCONN)")]
    NotReady {
        /// The operation, e.g. "retrieve_file".
        op: &'static str,
    },
    /// An operation asked of a connection that has ended (the server or the network
    /// closed it, or the client did). Nothing was sent.
    #[error("{op}: not connected (ENOTCONN)")]
    NotConnected {
        /// The operation, e.g. "retrieve_file".
        op: &'static str,
    },
}

/// A Kerberos failure of the login operation is [`ClientError::Kerberos`], as one of the
/// drivers' own KDC exchanges is; everything else the core reports is
/// [`ClientError::Smb`].
impl From<crate::Error> for ClientError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Kerberos(k) => ClientError::Kerberos(k),
            e => ClientError::Smb(e),
        }
    }
}

/// `time` as the FILETIME a request carries; a time before 1601 has none.
///
/// # Errors
///
/// [`crate::Error::Invalid`] for a time out of FILETIME's range.
pub fn filetime(time: std::time::SystemTime) -> Result<crate::wire::fscc::FileTime, crate::Error> {
    crate::wire::fscc::FileTime::try_from_system_time(time)
        .ok_or_else(|| crate::Error::Invalid("a time before 1601 has no FILETIME".into()))
}

/// ` (ECONNREFUSED)` for an OS error, else nothing.
fn errno_suffix(e: &io::Error) -> String {
    e.raw_os_error()
        .map(|n| crate::Errno(n).name())
        .filter(|n| *n != "EUNKNOWN")
        .map_or_else(String::new, |n| format!(" ({n})"))
}

impl ClientError {
    /// The error naming `path` when it names none (see [`crate::Error::at`]).
    pub fn at(self, path: &str) -> Self {
        match self {
            ClientError::Smb(e) => ClientError::Smb(e.at(path)),
            other => other,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            ClientError::Smb(e) => e.kind(),
            ClientError::Connect { source, .. } | ClientError::Io(source) => {
                crate::ErrorKind::from_io(source.kind())
            }
            ClientError::Transfer { first, .. } => first.kind(),
            ClientError::NotReady { .. } => crate::ErrorKind::NotReady,
            ClientError::NotConnected { .. } => crate::ErrorKind::Disconnected,
            ClientError::NameService(e) => e.kind(),
            ClientError::Kerberos(e) => e.kind(),
        }
    }

    /// The POSIX errno that best describes it (EIO for a local failure without one).
    pub fn errno(&self) -> crate::Errno {
        match self {
            ClientError::Smb(e) => e.errno(),
            ClientError::Connect { source, .. } | ClientError::Io(source) => source
                .raw_os_error()
                .map_or(crate::Errno::EIO, crate::Errno),
            ClientError::Transfer { first, .. } => first.errno(),
            ClientError::NotReady { .. } | ClientError::NotConnected { .. } => {
                crate::Errno::ENOTCONN
            }
            ClientError::NameService(e) => e.errno(),
            ClientError::Kerberos(e) => e.errno(),
        }
    }

    /// The requests and responses of the operation that failed with a status (pysmb's
    /// `smb_messages`), oldest first; empty for other errors.
    pub fn trail(&self) -> &[crate::error::TrailEntry] {
        match self {
            ClientError::Smb(e) => e.trail(),
            ClientError::Transfer { first, .. } => first.trail(),
            _ => &[],
        }
    }

    /// The NTSTATUS the server answered with, if it did.
    pub fn status(&self) -> Option<NtStatus> {
        match self {
            ClientError::Smb(e) => e.status(),
            ClientError::Transfer { first, .. } => first.status(),
            _ => None,
        }
    }
}

impl From<ClientError> for io::Error {
    fn from(e: ClientError) -> io::Error {
        match e {
            ClientError::Io(e) => e,
            ClientError::Smb(e) => io::Error::new(e.io_error_kind(), e),
            ClientError::Connect { target, source } => {
                io::Error::new(source.kind(), ClientError::Connect { target, source })
            }
            e @ (ClientError::Transfer { .. }
            | ClientError::NameService(_)
            | ClientError::Kerberos(_)) => io::Error::new(e.kind().into(), e),
            // Not `Disconnected`'s ConnectionReset: nothing was reset, the request never
            // left.
            e @ (ClientError::NotReady { .. } | ClientError::NotConnected { .. }) => {
                io::Error::new(io::ErrorKind::NotConnected, e)
            }
        }
    }
}

/// How to reach and log in to a server.
#[derive(Clone)]
pub struct ConnectOptions {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (445 direct TCP, 139 NetBIOS).
    pub port: u16,
    /// Use the NetBIOS session service framing (port 139 style); set with
    /// [`netbios`](Self::netbios), which moves the port to 139 as well.
    pub netbios: bool,
    /// The server's NetBIOS name (also used in `\\server\share`), the name a NetBIOS
    /// session request calls (pysmb's `remote_name`); defaults to `host`.
    pub server_name: Option<String>,
    /// This client's NetBIOS / workstation name.
    pub client_name: String,
    /// Domain (workgroup).
    pub domain: String,
    /// User name; empty for an anonymous login.
    pub user: String,
    secret: Secret,
    /// Signing policy.
    pub signing: SigningPolicy,
    /// Lowest dialect accepted.
    pub min_dialect: Dialect,
    /// Highest dialect offered.
    pub max_dialect: Dialect,
    /// Require encryption of the session.
    pub encrypt: bool,
    /// Accept a guest or anonymous session even where signing is required.
    pub allow_insecure_guest: bool,
    /// Authenticate with NTLMv2 (the default); `false` answers with the weak NTLMv1, for
    /// servers that accept nothing newer (pysmb's `use_ntlm_v2`).
    pub use_ntlm_v2: bool,
    /// On an SMB1 connection, log in with raw NTLMSSP (the NTLM messages without SPNEGO
    /// around them, [`Credentials::with_raw_ntlmssp`]) instead of SPNEGO; default off.
    pub smb1_raw_ntlmssp: bool,
    /// Per-request timeout (a request unanswered this long fails its operation), also
    /// the TCP connect timeout.
    pub timeout: Duration,
    /// Seed for reproducible sessions (tests); fresh OS randomness when `None`.
    pub seed: Option<[u8; 32]>,
    /// The ClientGuid to negotiate with ([`Config::client_guid`]): a lost connection's,
    /// to reclaim its durable opens; drawn from the seed when `None`.
    pub client_guid: Option<[u8; 16]>,
    /// Upper bound for a single READ or WRITE ([`Config::max_io_size`]; the server's
    /// limit applies too).
    pub max_io_size: u32,
    /// After this long without a word from the server, an ECHO goes out; unanswered
    /// within `timeout`, the connection ends (a dead peer, `ErrorKind::TimedOut`).
    /// `None`: no keep-alive. The blocking client sends it only while a call waits (a
    /// watch, a lock); between calls nothing of it runs. A recorded connection
    /// ([`ConnectOptions::record`]) sends none: when an ECHO goes out depends on idle
    /// time, which a replay does not reproduce.
    pub keep_alive: Option<Duration>,
    /// Whether and how a lost connection is made again under work that may be done
    /// twice: downloads resume after the last byte delivered, uploads from the end the
    /// server acknowledged, stats, listings and a file's reads and writes at an offset
    /// are asked again; sessions log in again and durable handles are reclaimed.
    /// Changing calls (rename, delete, mkdir, an append, a lock) are not repeated.
    /// `None` turns it off: the first cut fails the call. On by default
    /// ([`ReconnectPolicy::default`]); factories ignore it (pysmb's meaning).
    pub reconnect: Option<ReconnectPolicy>,
    /// Record the session there while it runs, to replay it later with no server
    /// ([`crate::replay`]); see [`ConnectOptions::record`].
    pub record: Option<RecordTarget>,
    /// Reach DFS referral targets on the port the DFS root was reached on, not on 445
    /// ([`ConnectOptions::dfs_keep_port`]).
    pub dfs_keep_port: bool,
    /// How many connections a many-file transfer or a tree listing may spread over
    /// ([`ConnectOptions::connections`]); 1, the default, keeps every call on one.
    pub connections: usize,
    /// How many further channels the session binds when the server offers
    /// multichannel ([`ConnectOptions::multichannel`]); 0, the default, binds none.
    pub multichannel: usize,
    /// Log in with Kerberos instead of NTLM ([`ConnectOptions::kerberos`]); `None`, the
    /// default, logs in with NTLM.
    pub kerberos: Option<KerberosOptions>,
}

/// A Kerberos login ([`ConnectOptions::kerberos`]): the user is `user@REALM` (or `user`
/// with the realm in [`ConnectOptions::domain`]), proven by the password (or NT hash,
/// for RC4), by a keytab, or by the tickets in a credential cache (a file
/// [`KerberosOptions::ccache`], or the one `KRB5CCNAME` names when neither a password nor a
/// keytab is given: see [`ConnectOptions::kerberos_login`]); the server is named by
/// [`ConnectOptions::server_name`](ConnectOptions#structfield.server_name) (else `host`) in its service name, `cifs/<name>`.
/// Kerberos is tried when the server offers it (its NEGOTIATE response lists krb5, or
/// lists nothing); with [`KerberosPolicy::Desired`] (the default) a failure that NTLM can
/// get past ([`KerberosError::ntlm_may_follow`]: the KDC unreachable, no service ticket
/// for the host, the host an IP address, the server not offering Kerberos) falls back to
/// NTLM with the same password, and the fallback is logged with its reason; with
/// [`KerberosPolicy::Required`] ([`KerberosOptions::required`]) the Kerberos error is the
/// login's. A wrong password, a clock skew or an unusable account never falls back.
#[derive(Debug, Clone, Default)]
pub struct KerberosOptions {
    /// The KDCs, transports, encryption types and clock offset.
    pub kdc: KdcConfig,
    /// A keytab file with the user's keys, read at connect time in place of a password.
    pub keytab: Option<std::path::PathBuf>,
    /// A credential cache file (MIT's format, as `kinit` writes it) whose tickets prove
    /// the user, read at connect time in place of a password.
    pub ccache: Option<std::path::PathBuf>,
    /// Whether a Kerberos failure may fall back to NTLM (libsmbclient's
    /// `--use-kerberos=desired|required`).
    pub policy: KerberosPolicy,
    /// The tickets logins with these options (and their clones: extra connections,
    /// channels, reconnections) got and share, so a second connection asks the KDC only
    /// for what it lacks.
    pub cache: crate::auth::kerberos::TicketCache,
}

/// Whether Kerberos must succeed ([`KerberosOptions::policy`]), as libsmbclient's
/// `--use-kerberos=required|desired` (`off` is no [`KerberosOptions`] at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KerberosPolicy {
    /// Kerberos first; NTLM with the same password when Kerberos cannot be used here.
    #[default]
    Desired,
    /// Kerberos only: its failure is the login's.
    Required,
}

impl KerberosOptions {
    /// Kerberos with the KDC at `kdc` (`host:port`, or `host` for port 88), NTLM as the
    /// fallback ([`KerberosPolicy::Desired`]).
    pub fn kdc(kdc: &str) -> Self {
        KerberosOptions {
            kdc: KdcConfig::new().kdc(kdc),
            keytab: None,
            ccache: None,
            policy: KerberosPolicy::Desired,
            cache: crate::auth::kerberos::TicketCache::new(),
        }
    }

    /// Kerberos only, no NTLM fallback ([`KerberosPolicy::Required`]).
    ///
    /// ```
    /// use smb_proto::client::{KerberosOptions, KerberosPolicy};
    /// assert_eq!(KerberosOptions::kdc("kdc:88").policy, KerberosPolicy::Desired);
    /// assert_eq!(KerberosOptions::kdc("kdc:88").required().policy, KerberosPolicy::Required);
    /// ```
    pub fn required(mut self) -> Self {
        self.policy = KerberosPolicy::Required;
        self
    }

    /// Kerberos first, NTLM when Kerberos cannot be used ([`KerberosPolicy::Desired`],
    /// the default).
    pub fn desired(mut self) -> Self {
        self.policy = KerberosPolicy::Desired;
        self
    }

    /// Proves the user with the tickets in the credential cache file at `path` (what
    /// `kinit` wrote; `FILE:/path` or a bare path, as `KRB5CCNAME` spells it).
    pub fn ccache(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ccache = Some(path.into());
        self
    }

    /// Proves the user with the keys in the keytab file at `path`.
    pub fn keytab(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.keytab = Some(path.into());
        self
    }

    /// The keytab file's bytes, read with `read` (the driver's file access; the core
    /// opens no file), wiped when dropped; `None` when no keytab was given.
    ///
    /// # Errors
    ///
    /// [`KerberosError::Credentials`] naming the file when it cannot be read.
    pub fn keytab_bytes(
        &self,
        read: impl FnOnce(&std::path::Path) -> std::io::Result<Vec<u8>>,
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, KerberosError> {
        let Some(path) = &self.keytab else {
            return Ok(None);
        };
        match read(path) {
            Ok(bytes) => Ok(Some(zeroize::Zeroizing::new(bytes))),
            Err(e) => Err(KerberosError::Credentials(format!(
                "cannot read the keytab {}: {e}",
                path.display()
            ))),
        }
    }
}

/// What a password callback is told.
#[derive(Debug, Clone)]
pub struct PasswordPrompt {
    /// The server being logged in to.
    pub server: String,
    /// The domain.
    pub domain: String,
    /// The user.
    pub user: String,
}

/// Asked for the password at connect time; `None` aborts the login.
pub type PasswordCallback = dyn Fn(&PasswordPrompt) -> Option<String> + Send + Sync;

/// How the user proves who they are; never printed, wiped from memory when dropped.
#[derive(Clone)]
enum Secret {
    Password(String),
    NtHash([u8; 16]),
    Callback(Arc<PasswordCallback>),
}

impl Drop for Secret {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        match self {
            Secret::Password(p) => p.zeroize(),
            Secret::NtHash(h) => h.zeroize(),
            Secret::Callback(_) => {}
        }
    }
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("netbios", &self.netbios)
            .field("domain", &self.domain)
            .field("user", &self.user)
            .field("secret", &"<redacted>")
            .field("signing", &self.signing)
            .field("max_dialect", &self.max_dialect)
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

impl ConnectOptions {
    /// An anonymous session (no user: see [`user`](Self::user) and
    /// [`guest`](Self::guest)) to `host` on port 445, with the default policy.
    ///
    /// `host` may carry a port, as `"server:4455"` or `"[::1]:4455"`; a bare IPv6
    /// address (`"::1"`) is taken whole. A string that is neither is kept as the host,
    /// and connecting then fails naming it.
    ///
    /// ```
    /// use smb_proto::client::ConnectOptions;
    /// let o = ConnectOptions::new("fileserver:4455");
    /// assert_eq!((o.host.as_str(), o.port), ("fileserver", 4455));
    /// assert_eq!(ConnectOptions::new("[::1]:445").target(), "[::1]:445");
    /// ```
    pub fn new(host: &str) -> Self {
        let (host, port) = split_host_port(host);
        ConnectOptions {
            host,
            port,
            netbios: false,
            server_name: None,
            client_name: "SMB-RS".to_string(),
            domain: String::new(),
            user: String::new(),
            secret: Secret::Password(String::new()),
            signing: SigningPolicy::WhenSupported,
            min_dialect: Dialect::Smb202,
            max_dialect: Dialect::Smb311,
            encrypt: false,
            allow_insecure_guest: false,
            use_ntlm_v2: true,
            smb1_raw_ntlmssp: false,
            timeout: Duration::from_secs(60),
            seed: None,
            client_guid: None,
            reconnect: Some(ReconnectPolicy::default()),
            max_io_size: Config::new("", [0; 32]).max_io_size,
            keep_alive: Some(Duration::from_secs(60)),
            record: None,
            dfs_keep_port: false,
            connections: 1,
            multichannel: 0,
            kerberos: None,
        }
    }

    /// SMB1 on (`true`) or off (`false`, the default). **SMB1 is unsafe**: its signing
    /// is MD5-based, it cannot encrypt, and it has been deprecated for over a decade;
    /// turn it on only for an old device that speaks nothing newer. On, the connection
    /// opens with an SMB1 multi-protocol NEGOTIATE: a server that speaks SMB2 upgrades
    /// to it (the session is then SMB2/3 as without this option), one that speaks only
    /// SMB1 (NT LM 0.12) answers in SMB1. It sets [`min_dialect`](Self::min_dialect) to
    /// [`Dialect::Nt1`] (off: back to 2.0.2 if it was NT1). Off, a server that speaks
    /// only SMB1 closes the connection, and the error
    /// ([`NegotiateFailure::ClosedDuringNegotiate`](crate::NegotiateFailure::ClosedDuringNegotiate))
    /// names this option. A connection with SMB1 on cannot be recorded
    /// ([`record`](Self::record)).
    ///
    /// ```
    /// use smb_proto::client::ConnectOptions;
    /// use smb_proto::Dialect;
    /// let o = ConnectOptions::new("old-nas").smb1(true);
    /// assert_eq!(o.min_dialect, Dialect::Nt1);
    /// assert_eq!(o.smb1(false).min_dialect, Dialect::Smb202);
    /// ```
    pub fn smb1(mut self, on: bool) -> Self {
        if on {
            self.min_dialect = Dialect::Nt1;
        } else if self.min_dialect.is_smb1() {
            self.min_dialect = Dialect::Smb202;
        }
        self
    }

    /// Whether a URL context reaches the targets of DFS referrals on the port it
    /// reached the DFS root on (`true`), or on the SMB port 445 (`false`, the default,
    /// as Windows and libsmbclient do). A referral names a target's host and share but
    /// never a port (MS-DFSC 2.2.5), so a namespace served on another port (a test
    /// setup on loopback addresses, say `127.0.0.1:4455` linking to `127.0.0.2`, both
    /// on 4455) needs this.
    ///
    /// ```
    /// use smb_proto::client::ConnectOptions;
    /// let o = ConnectOptions::new("127.0.0.1:4455").dfs_keep_port(true);
    /// assert!(o.dfs_keep_port);
    /// ```
    pub fn dfs_keep_port(mut self, keep: bool) -> Self {
        self.dfs_keep_port = keep;
        self
    }

    /// Lets a many-file transfer (`store_tree`, `retrieve_tree`, `store_files`,
    /// `retrieve_files`) or a tree listing spread over up to `n` connections: this one
    /// and `n - 1` made for the call (logged in as this one, closed when it ends), each
    /// taking a share of the files or directories ([`spread`]). Samba serves each
    /// connection in its own process on one core, so a tree of small files or a big
    /// listing, limited by the server's work per file, gets more cores; 2 on a
    /// two-core server halved a 10,000-entry recursive listing here. Calls with fewer
    /// than [`MIN_FILES_PER_CONNECTION`] files per connection, a recording connection
    /// and an added session's calls stay on one connection. 1 (the default) keeps every
    /// call on one, as pysmb and libsmbclient do.
    ///
    /// ```
    /// use smb_proto::client::ConnectOptions;
    /// let o = ConnectOptions::new("fileserver").connections(2);
    /// assert_eq!(o.connections, 2);
    /// ```
    pub fn connections(mut self, n: usize) -> Self {
        self.connections = n.max(1);
        self
    }

    /// SMB 3.x multichannel: after login, asks the server for its interfaces
    /// (FSCTL_QUERY_NETWORK_INTERFACE_INFO) and binds up to `channels` further
    /// connections to the session, one per other address the server lists; large reads
    /// and writes of one file are then striped over all of them
    /// ([`StripedRead`], [`StripedWrite`]), and a channel that dies leaves its share to
    /// the others. A server that offers no other address (or no multichannel) leaves
    /// the session on one connection. 0 (the default) binds none; a recording
    /// connection never does.
    ///
    /// ```
    /// use smb_proto::client::ConnectOptions;
    /// let o = ConnectOptions::new("fileserver").multichannel(1);
    /// assert!(o.config(|| [0; 32], 0).multichannel);
    /// ```
    pub fn multichannel(mut self, channels: usize) -> Self {
        self.multichannel = channels;
        self
    }

    /// Logs in with Kerberos as `kerberos` says (see [`KerberosOptions`]).
    pub fn kerberos(mut self, kerberos: KerberosOptions) -> Self {
        self.kerberos = Some(kerberos);
        self
    }

    /// The Kerberos client: `user@REALM`, or `user` in the realm named by `domain`.
    ///
    /// # Errors
    ///
    /// [`KerberosError::Credentials`] when there is no realm.
    pub fn kerberos_client(&self) -> Result<Principal, KerberosError> {
        let realm = Some(self.domain.as_str()).filter(|d| !d.is_empty());
        Principal::parse(&self.user, realm)
    }

    /// The server's Kerberos service in the realm of `client`: `cifs/<server name>`.
    ///
    /// # Errors
    ///
    /// [`KerberosError::HostIsAnIp`] when the server is named only by its address.
    pub fn kerberos_service(&self, client: &Principal) -> Result<Principal, KerberosError> {
        Principal::cifs(self.server_name(), &client.realm)
    }

    /// What proves the Kerberos client: the keys for `client` in `keytab` (the keytab
    /// file's bytes, read by the driver) when one is given, else the password (asked of
    /// the callback) or the NT hash (an RC4 key).
    ///
    /// # Errors
    ///
    /// [`KerberosError::Credentials`] for an unreadable keytab or one without the
    /// client's keys, or no password.
    pub fn kerberos_secret(
        &self,
        client: &Principal,
        keytab: Option<&[u8]>,
    ) -> Result<ClientSecret, KerberosError> {
        if let Some(bytes) = keytab {
            let keytab = Keytab::parse(bytes)
                .map_err(|e| KerberosError::Credentials(format!("the keytab: {e}")))?;
            return ClientSecret::from_keytab(&keytab, client);
        }
        match &self.secret {
            Secret::Password(p) => Ok(ClientSecret::password(p)),
            Secret::NtHash(h) => Ok(ClientSecret::Keys(vec![Key::new(Enctype::Rc4Hmac, h)
                .map_err(|e| KerberosError::Credentials(e.to_string()))?])),
            Secret::Callback(f) => {
                let prompt = PasswordPrompt {
                    server: self.server_name().to_string(),
                    domain: client.realm.clone(),
                    user: self.user.clone(),
                };
                let password = zeroize::Zeroizing::new(f(&prompt).ok_or_else(|| {
                    KerberosError::Credentials("the password callback gave no password".to_string())
                })?);
                Ok(ClientSecret::password(&password))
            }
        }
    }

    /// The Kerberos login [`ConnectOptions::kerberos`] asks for, to run as
    /// [`ops::Login::kerberos`](crate::ops::Login::kerberos): the client, the service
    /// (`cifs/<server name>`), the secret, the tickets already held and the KDC
    /// configuration. What the login then still needs from the KDC is
    /// [`KerberosLogin::need`](crate::auth::kerberos::KerberosLogin::need)'s to decide
    /// (nothing with a valid service ticket, the TGS exchange with a valid
    /// ticket-granting ticket, else the AS exchange first); the tickets come during the
    /// login, through [`crate::Event::Kdc`].
    ///
    /// What proves the user, in this order: a keytab ([`KerberosOptions::keytab`]); the
    /// tickets of a credential cache ([`KerberosOptions::ccache`]); a password or NT hash
    /// (not empty); the tickets of the cache `krb5ccname` names (the `KRB5CCNAME` value
    /// the driver read from its environment, `FILE:/path` or a path); else the password
    /// callback. With a cache, the user is the cache's principal (a user given must be the
    /// same), and a password or NT hash given too serves when its tickets have expired.
    /// Files are read with `read`, the driver's file access (the core opens no file).
    /// The tickets [`KerberosOptions::cache`] holds serve too, except on a recording
    /// connection, which gets its tickets from the KDC so that the recording holds every
    /// reply its replay needs; for the same reason a recording connection refuses a
    /// login from a credential cache.
    ///
    /// ```
    /// use smb_proto::auth::kerberos::KerberosError;
    /// use smb_proto::auth::kerberos::flow::Need;
    /// use smb_proto::client::{ConnectOptions, KerberosOptions};
    ///
    /// let o = ConnectOptions::new("dc.smbtest.test")
    ///     .user("alice@SMBTEST.TEST", "Al1ce-Pass!x")
    ///     .kerberos(KerberosOptions::kdc("127.0.0.4"));
    /// let login = o.kerberos_login(None, |_| unreachable!())?;
    /// assert_eq!(login.service.to_string(), "cifs/dc.smbtest.test@SMBTEST.TEST");
    /// assert_eq!(login.need(std::time::SystemTime::now()), Need::Tgt);
    ///
    /// // KRB5CCNAME naming a kernel keyring: refused, naming the type.
    /// let o = o.user("alice@SMBTEST.TEST", "");
    /// let e = o.kerberos_login(Some("KEYRING:persistent:0"), |_| unreachable!());
    /// assert!(matches!(e, Err(KerberosError::UnsupportedCcache { .. })));
    /// # Ok::<(), KerberosError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`KerberosError::Credentials`] when Kerberos is not configured, for a file that
    /// cannot be read or parsed, a keytab without the user's keys, a cache without a
    /// ticket of the realm or of another user, no realm, or no password;
    /// [`KerberosError::UnsupportedCcache`] for a `KRB5CCNAME` that is not a file;
    /// [`KerberosError::CcacheNotRecordable`] for a cache on a recording connection;
    /// [`KerberosError::HostIsAnIp`] when the server is named only by its address and
    /// NTLM may not follow.
    pub fn kerberos_login(
        &self,
        krb5ccname: Option<&str>,
        read: impl Fn(&std::path::Path) -> std::io::Result<Vec<u8>>,
    ) -> Result<crate::auth::kerberos::KerberosLogin, KerberosError> {
        let kerberos = self
            .kerberos
            .as_ref()
            .ok_or_else(|| KerberosError::Credentials("Kerberos is not configured".to_string()))?;
        let keytab = kerberos.keytab_bytes(&read)?;
        let keytab = keytab.as_ref().map(|k| k.as_slice());
        let has_secret = match &self.secret {
            Secret::Password(p) => !p.is_empty(),
            Secret::NtHash(_) => true,
            Secret::Callback(_) => false,
        };
        let ccache = match (keytab, &kerberos.ccache, krb5ccname) {
            (Some(_), _, _) => None,
            (None, Some(path), _) => Some(ccache::file_path(&path.to_string_lossy())?),
            (None, None, Some(name)) if !has_secret => Some(ccache::file_path(name)?),
            _ => None,
        };
        // A cache's tickets are no KDC reply: its recording could not be replayed.
        if ccache.is_some() && self.record.is_some() {
            return Err(KerberosError::CcacheNotRecordable);
        }
        let (client, held) = match &ccache {
            Some(path) => {
                let (client, cache) = self.read_ccache(path, &read)?;
                (client, Some(cache))
            }
            None => (self.kerberos_client()?, None),
        };
        let secret = match (keytab, &held) {
            (None, Some(_)) if !has_secret => None,
            _ => Some(self.kerberos_secret(&client, keytab)?),
        };
        // NTLM with the same password (never with a keytab's keys).
        let fallback = match (&secret, kerberos.policy, keytab) {
            (None, ..) | (_, KerberosPolicy::Required, _) | (_, _, Some(_)) => None,
            (Some(ClientSecret::Password(p)), ..) => {
                let (domain, user) = match self.domain.as_str() {
                    "" => (String::new(), self.user.clone()),
                    d => (d.to_string(), client.name.join("/")),
                };
                let creds = match &self.secret {
                    Secret::NtHash(h) => Credentials::nt_hash(&domain, &user, *h),
                    _ => Credentials::password(&domain, &user, p.as_str()),
                };
                Some(if self.use_ntlm_v2 {
                    creds
                } else {
                    creds.with_ntlm_v1()
                })
            }
            (Some(ClientSecret::Keys(_)), ..) => match &self.secret {
                Secret::NtHash(h) => Some(Credentials::nt_hash("", &self.user, *h)),
                _ => None,
            },
        };
        // A server named by its address: no service ticket, but NTLM may still serve.
        let service = match self.kerberos_service(&client) {
            Ok(s) => Ok(s),
            Err(e) if fallback.is_some() && e.ntlm_may_follow() => Err(e),
            Err(e) => return Err(e),
        };
        let (cache_tgt, cache_ticket) = match (&held, &service) {
            (Some(cache), Ok(service)) => cache.tickets(service)?,
            _ => (None, None),
        };
        let shared = &kerberos.cache;
        // A recorded login gets its tickets from the KDC, so that the recording holds
        // everything its replay needs.
        let cached = |server: &Principal| {
            if self.record.is_some() {
                None
            } else {
                shared.get(&client, server)
            }
        };
        // Of the credential cache's and the shared cache's, the one lasting longest.
        let latest = |a: Option<Credential>, b: Option<Credential>| {
            a.into_iter().chain(b).max_by_key(|t| t.endtime)
        };
        let tgt = latest(cache_tgt, cached(&Principal::krbtgt(&client.realm)));
        let service_ticket = latest(cache_ticket, service.as_ref().ok().and_then(cached));
        Ok(crate::auth::kerberos::KerberosLogin {
            service: service.clone().unwrap_or_else(|_| client.clone()),
            unusable: service.err(),
            client,
            secret,
            kdc: kerberos.kdc.clone(),
            tgt,
            service_ticket,
            fallback,
            cache: Some(shared.clone()),
        })
    }

    /// The credential cache file at `path` (read with `read`) and its principal, which
    /// a user given must be.
    fn read_ccache(
        &self,
        path: &std::path::Path,
        read: impl Fn(&std::path::Path) -> std::io::Result<Vec<u8>>,
    ) -> Result<(Principal, ccache::Ccache), KerberosError> {
        let unreadable = |e: String| {
            KerberosError::Credentials(format!("the credential cache {}: {e}", path.display()))
        };
        let bytes = zeroize::Zeroizing::new(read(path).map_err(|e| unreadable(e.to_string()))?);
        let cache = ccache::Ccache::parse(&bytes).map_err(|e| unreadable(e.to_string()))?;
        let client = cache.default_principal().clone();
        if !self.user.is_empty() {
            let realm = Some(self.domain.as_str()).filter(|d| !d.is_empty());
            let given = Principal::parse(&self.user, realm.or(Some(&client.realm)))?;
            if given.to_string().to_lowercase() != client.to_string().to_lowercase() {
                return Err(unreadable(format!(
                    "it holds the tickets of {client}, not of {given}"
                )));
            }
        }
        Ok((client, cache))
    }

    /// The options of a channel to `addr` ([`Connection::new_channel`]): these, at
    /// that address, recording nothing, with no keep-alive (nothing to keep alive
    /// before the binding, and a channel idles between transfers).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Invalid`] while recording: a recording holds one connection.
    pub fn channel(&self, addr: std::net::SocketAddr) -> Result<ConnectOptions, crate::Error> {
        let mut o = self.extra_connection(0).ok_or_else(|| {
            crate::Error::Invalid("a recording connection has no channels".into())
        })?;
        o.host = addr.ip().to_string();
        o.port = addr.port();
        o.keep_alive = None;
        Ok(o)
    }

    /// The options of the extra connections a call over `items` files or directories
    /// spreads over: [`spread_width`] − 1 of them ([`extra_connection`](Self::extra_connection)
    /// each), none while recording.
    ///
    /// ```
    /// use smb_proto::client::ConnectOptions;
    /// let o = ConnectOptions::new("fileserver").connections(3);
    /// assert_eq!(o.extra_connections(1000).len(), 2);
    /// assert!(o.extra_connections(10).is_empty());
    /// ```
    pub fn extra_connections(&self, items: usize) -> Vec<ConnectOptions> {
        let width = spread_width(self.connections, items);
        (1..width)
            .filter_map(|i| self.extra_connection(i))
            .collect()
    }

    /// The options of the `i`-th extra connection of a spread call
    /// ([`connections`](Self::connections)): the same server and settings, and a
    /// ClientGuid of its own (Samba hands a connection whose ClientGuid it already serves
    /// to that process, which would put the work back on one core), drawn from a seed
    /// of its own when this one is seeded. `None` while recording: a recording holds
    /// one connection.
    ///
    /// ```
    /// use smb_proto::client::{ConnectOptions, RecordTarget};
    /// let mut o = ConnectOptions::new("fileserver");
    /// o.seed = Some([1; 32]);
    /// let extra = o.extra_connection(1).unwrap();
    /// assert_ne!(extra.seed, o.seed);
    /// assert_eq!(extra.client_guid, None);
    /// let (target, _recording) = RecordTarget::memory();
    /// assert!(o.record(target).extra_connection(1).is_none());
    /// ```
    pub fn extra_connection(&self, i: usize) -> Option<ConnectOptions> {
        if self.record.is_some() {
            return None;
        }
        let mut seed = self.seed;
        if let Some(seed) = &mut seed {
            for (s, b) in seed.iter_mut().zip((i as u64 + 1).to_le_bytes()) {
                *s ^= b;
            }
        }
        Some(ConnectOptions {
            client_guid: None,
            seed,
            ..self.clone()
        })
    }

    /// Records the session to `target` while it runs (every byte in and out, the seed
    /// and the options that shape the bytes; never the password), so that the same
    /// program can later replay it with no server: see [`crate::replay`] and each
    /// driver's `replay`. A target serves one connection.
    ///
    /// ```no_run
    /// use smb_proto::client::{ConnectOptions, RecordTarget};
    /// let opts = ConnectOptions::new("fileserver")
    ///     .user("alice", "secret")
    ///     .record(RecordTarget::path("tests/data/listing.smbrec"));
    /// ```
    pub fn record(mut self, target: RecordTarget) -> Self {
        self.record = Some(target);
        self
    }

    /// The options to make a lost connection again with: the same, negotiating the lost
    /// connection's `client_guid` (so the server lets the new one reclaim its durable
    /// handles) and recording nothing (a recording holds one connection: the lost
    /// one's stays whole, ending where the connection did).
    ///
    /// ```
    /// use smb_proto::client::{ConnectOptions, RecordTarget};
    /// let (target, _recording) = RecordTarget::memory();
    /// let o = ConnectOptions::new("fileserver").record(target);
    /// let again = o.reconnection([7; 16]);
    /// assert_eq!(again.client_guid, Some([7; 16]));
    /// assert!(again.record.is_none());
    /// ```
    pub fn reconnection(&self, client_guid: [u8; 16]) -> ConnectOptions {
        ConnectOptions {
            client_guid: Some(client_guid),
            record: None,
            ..self.clone()
        }
    }

    /// Sets user and password.
    pub fn user(mut self, user: &str, password: &str) -> Self {
        self.user = user.to_string();
        self.secret = Secret::Password(password.to_string());
        self
    }

    /// Logs in as `user` with the NT hash (MD4 of the UTF-16 password) instead of a password.
    pub fn nt_hash(mut self, user: &str, nt_hash: [u8; 16]) -> Self {
        self.user = user.to_string();
        self.secret = Secret::NtHash(nt_hash);
        self
    }

    /// Logs in as `user` with a password asked of `callback` at connect time (like
    /// libsmbclient's auth function); `None` from the callback aborts the connect.
    pub fn password_callback(
        mut self,
        user: &str,
        callback: impl Fn(&PasswordPrompt) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.user = user.to_string();
        self.secret = Secret::Callback(Arc::new(callback));
        self
    }

    /// Guest access: a user name the server does not know and an empty password, which
    /// Samba (`map to guest = Bad User`) and Windows map to the guest account.
    pub fn guest(self) -> Self {
        self.user("guest", "")
    }

    /// Sets the domain.
    pub fn domain(mut self, domain: &str) -> Self {
        self.domain = domain.to_string();
        self
    }

    /// The NetBIOS session service (`true`, pysmb's default, `is_direct_tcp=False`) or
    /// direct TCP (`false`, pysmb's `is_direct_tcp=True`): the framing, and with it the
    /// port, from 445 to 139 or back, as pysmb's `connect` defaults it. Any other port
    /// (from `host:port` or [`port`](Self::port)) stays: a server listening elsewhere
    /// was chosen. `port` after this call sets any port, 445 included. The session
    /// request calls the `server_name` field (pysmb's `remote_name`), else `host`.
    ///
    /// ```
    /// use smb_proto::client::ConnectOptions;
    /// let o = ConnectOptions::new("fileserver").netbios(true);
    /// assert_eq!((o.netbios, o.port), (true, 139));
    /// let o = ConnectOptions::new("fileserver:4455").netbios(true);
    /// assert_eq!((o.netbios, o.port), (true, 4455));
    /// let o = o.port(139).netbios(false);
    /// assert_eq!((o.netbios, o.port), (false, 445));
    /// ```
    pub fn netbios(mut self, on: bool) -> Self {
        let (from, to) = if on { (445, 139) } else { (139, 445) };
        if self.port == from {
            self.port = to;
        }
        self.netbios = on;
        self
    }

    /// Sets the port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Options for the server and user an `smb://` URL names, on top of `base` (policy,
    /// dialects, timeouts): host, port (the URL's, else 139 with NetBIOS framing, else
    /// 445), user, domain, and the password from the URL or else `password` (the CLI's
    /// `SMB_PASSWORD`). The one place a URL becomes connect options.
    pub fn for_url(base: &ConnectOptions, url: &SmbUrl, password: Option<&str>) -> Self {
        let mut o = base.clone();
        o.host.clone_from(&url.host);
        o.port = url.port.unwrap_or(if o.netbios { 139 } else { 445 });
        if o.netbios && o.server_name.is_none() {
            // A NetBIOS session request names the called server; an IP address is no name.
            o.server_name = Some("*SMBSERVER".to_string());
        }
        if let Some(user) = &url.user {
            o = o.user(user, url.password().or(password).unwrap_or(""));
        }
        if let Some(domain) = &url.domain {
            o.domain.clone_from(domain);
        }
        o
    }

    /// `host:port` as a connect error names it (IPv6 addresses in brackets).
    pub fn target(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The error for a failure to reach the server: a name that does not resolve, a
    /// refused or timed-out TCP connection.
    pub fn connect_error(&self, source: io::Error) -> ClientError {
        ClientError::Connect {
            target: self.target(),
            source,
        }
    }

    /// The server's name as the client addresses it.
    fn server_name(&self) -> &str {
        self.server_name.as_deref().unwrap_or(&self.host)
    }

    /// The core's configuration for these options. `fresh_seed` is asked only when no
    /// [`seed`](Self::seed) is set; `filetime_now` is the wall clock as a Windows FILETIME.
    pub fn config(&self, fresh_seed: impl FnOnce() -> [u8; 32], filetime_now: u64) -> Config {
        let server_name = self.server_name();
        let mut config = Config::new(server_name, self.seed.unwrap_or_else(fresh_seed));
        config.client_name = self.client_name.clone();
        config.signing = self.signing;
        config.min_dialect = self.min_dialect;
        config.max_dialect = self.max_dialect;
        config.encrypt = self.encrypt;
        config.allow_insecure_guest = self.allow_insecure_guest;
        config.request_timeout = Some(self.timeout);
        config.filetime_now = filetime_now;
        config.max_io_size = self.max_io_size;
        config.keep_alive = self.keep_alive.filter(|_| self.record.is_none());
        config.client_guid = self.client_guid;
        // A recording holds one connection: no channels for it.
        config.multichannel = self.multichannel > 0 && self.record.is_none();
        if self.netbios {
            config.transport = Transport::NetBios {
                called: server_name.to_string(),
                calling: self.client_name.clone(),
            };
        }
        config
    }

    /// The credentials to log in with, asking the callback if there is one; an
    /// authentication error when the callback gives no password.
    pub fn credentials(&self) -> Result<Credentials, crate::Error> {
        if self.user.is_empty() {
            return Ok(Credentials::anonymous());
        }
        let (domain, user) = (self.domain.as_str(), self.user.as_str());
        let creds = match &self.secret {
            Secret::Password(p) => Credentials::password(domain, user, p.as_str()),
            Secret::NtHash(h) => Credentials::nt_hash(domain, user, *h),
            Secret::Callback(f) => {
                let prompt = PasswordPrompt {
                    server: self.server_name().to_string(),
                    domain: domain.to_string(),
                    user: user.to_string(),
                };
                let password = f(&prompt).ok_or_else(|| crate::Error::Auth {
                    user: user.to_string(),
                    server: prompt.server.clone(),
                    status: NtStatus::SUCCESS,
                    detail: "the password callback gave no password".into(),
                })?;
                Credentials::password(domain, user, password)
            }
        };
        let creds = if self.use_ntlm_v2 {
            creds
        } else {
            creds.with_ntlm_v1()
        };
        Ok(if self.smb1_raw_ntlmssp {
            creds.with_raw_ntlmssp()
        } else {
            creds
        })
    }
}

/// `name:port`, `[v6]:port` → (host, port); anything else is a host on port 445.
fn split_host_port(s: &str) -> (String, u16) {
    let port = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| p.parse::<u16>().ok())
            .flatten()
            .filter(|p| *p != 0)
    };
    if let Some((v6, p)) = s.strip_prefix('[').and_then(|r| r.split_once("]:")) {
        if let Some(p) = port(p) {
            return (v6.to_string(), p);
        }
    }
    if let Some((name, p)) = s.split_once(':').filter(|(_, p)| !p.contains(':')) {
        if let Some(p) = port(p) {
            return (name.to_string(), p);
        }
    }
    (s.to_string(), 445)
}

/// An operation's event, as a [`Dispatcher`] routes it to the task that started it.
#[derive(Debug)]
pub enum DriverEvent {
    /// Bytes of a streaming read, of file `file` of a many-file operation (0 otherwise).
    Data {
        /// Which file.
        file: usize,
        /// Where in the file the bytes start.
        offset: u64,
        /// The bytes.
        data: Bytes,
    },
    /// A streaming write wants up to `max_len` bytes for file `file`.
    WantData {
        /// Which file.
        file: usize,
        /// Most bytes it takes now.
        max_len: usize,
    },
    /// How far a transfer has come ([`Event::Progress`]).
    Progress {
        /// Which file.
        file: usize,
        /// Bytes moved so far.
        done: u64,
        /// Bytes in all, when known.
        total: Option<u64>,
    },
    /// File `file` of a many-file operation finished.
    FileDone {
        /// Which file.
        file: usize,
        /// Bytes moved, or why it failed.
        result: Result<u64, crate::Error>,
    },
    /// A page of a paged listing, which waits for a supply before the next.
    Entries(Vec<FileInfo>),
    /// Changes in a watched directory; none: the watch is in place (see
    /// [`Event::Changes`]).
    Changes(Vec<crate::ops::Change>),
    /// The operation ended; [`OpOutput::downcast`] types its output.
    Done(Result<OpOutput, crate::Error>),
}

/// Where a [`Dispatcher`] delivers one operation's events (a driver's channel sender).
pub trait EventSink {
    /// Hands `ev` on; `false` when the receiver is gone.
    fn deliver(&self, ev: DriverEvent) -> bool;
}

/// Session facts that do not change after login.
#[derive(Debug, Clone)]
pub struct Status {
    /// What negotiation settled.
    pub negotiated: Negotiated,
    /// Whether the session is a guest (or anonymous) one.
    pub is_guest: bool,
    /// Whether the session signs its messages.
    pub is_signing: bool,
    /// Whether the session logged in with Kerberos (else NTLM, or anonymously).
    pub is_kerberos: bool,
}

struct Route<S> {
    ticket: u64,
    sink: S,
}

/// The I/O-free half of an async driver: it owns the [`Connection`], queues what is to be
/// written, and routes each operation's events to the sink it was started with. Callers
/// name operations by their own tickets, known before the core assigns an [`OpId`].
pub struct Dispatcher<S> {
    core: Connection,
    /// What is still to be written, in order: the core's frames and, between them, large
    /// WRITE payloads sent from the caller's buffer without a copy.
    out: VecDeque<Bytes>,
    routes: IdMap<OpId, Route<S>>,
    tickets: IdMap<u64, OpId>,
    /// KDC attempts asked for ([`Event::Kdc`]) and not yet taken by the driver.
    kdc: VecDeque<(OpId, crate::auth::kerberos::KdcRequest)>,
}

impl<S: EventSink> Dispatcher<S> {
    /// Dispatches for `core`.
    pub fn new(core: Connection) -> Self {
        Dispatcher {
            core,
            out: VecDeque::new(),
            routes: IdMap::default(),
            tickets: IdMap::default(),
            kdc: VecDeque::new(),
        }
    }

    /// The next KDC attempt a login asked for ([`Event::Kdc`]): the driver makes it (in
    /// a task of its own, so the connection goes on meanwhile) and hands the answer to
    /// [`Connection::kdc_reply`] with the id given here.
    pub fn poll_kdc(&mut self) -> Option<(OpId, crate::auth::kerberos::KdcRequest)> {
        self.kdc.pop_front()
    }

    /// The connection, for input, timeouts and closing.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.core
    }

    /// Whether bytes wait to be written.
    pub fn is_writing(&self) -> bool {
        !self.out.is_empty()
    }

    /// The first `max` buffers still to be written, in order, for one vectored write.
    pub fn pending(&self, max: usize) -> impl Iterator<Item = &[u8]> {
        self.out.iter().take(max).map(|b| &b[..])
    }

    /// Drops `n` written bytes from the front of the queue.
    pub fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.out.front_mut() else {
                return;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.out.pop_front();
        }
    }

    /// Starts `op` in session `session`, to be done by `deadline` if it has one
    /// ([`Connection::set_deadline`]); its events go to `sink`. `ticket` names it in later
    /// calls.
    pub fn start(
        &mut self,
        ticket: u64,
        session: SessionSlot,
        op: BoxedOp,
        deadline: Option<Instant>,
        sink: S,
        now: Instant,
    ) {
        let id = self.core.start_boxed_in(session, op, now);
        if let Some(deadline) = deadline {
            self.core.set_deadline(id, deadline);
        }
        self.routes.insert(id, Route { ticket, sink });
        self.tickets.insert(ticket, id);
    }

    /// Hands `data` to a running operation, for file `file` of a many-file one: bytes for
    /// a streaming write; for a streaming read, "one chunk consumed"; for a paged
    /// listing, "next page".
    pub fn supply(&mut self, ticket: u64, file: usize, data: Bytes, now: Instant) {
        if let Some(&id) = self.tickets.get(&ticket) {
            self.core.supply(id, file, data, now);
        }
    }

    /// Stops following an operation (SMB2 CANCEL for its requests on the wire).
    pub fn cancel(&mut self, ticket: u64, now: Instant) {
        if let Some(&id) = self.tickets.get(&ticket) {
            self.core.cancel(id, now);
        }
    }

    /// What login settled for session `slot`, once it did.
    pub fn status(&self, slot: SessionSlot) -> Option<Status> {
        let info = self.core.session_info(slot)?;
        self.core.negotiated().map(|n| Status {
            negotiated: n.clone(),
            is_guest: info.is_guest,
            is_signing: info.is_signing,
            is_kerberos: info.is_kerberos,
        })
    }

    /// Forgets every route, so the sinks drop and their receivers wake.
    pub fn clear_routes(&mut self) {
        self.routes.clear();
        self.tickets.clear();
    }

    /// The drain rule: queue what the core wants sent, then route every event.
    pub fn settle(&mut self) {
        let (mut frames, mut payloads) = (Vec::new(), Vec::new());
        if self.core.poll_transmit_vectored(&mut frames, &mut payloads) {
            let mut rest = Bytes::from(frames);
            let mut at = 0;
            for (offset, payload) in payloads {
                let head = rest.split_to(offset - at);
                at = offset;
                self.out
                    .extend([head, payload].into_iter().filter(|b| !b.is_empty()));
            }
            if !rest.is_empty() {
                self.out.push_back(rest);
            }
        }
        while let Some(ev) = self.core.poll_event() {
            let (id, ev) = match ev {
                Event::Done { id, result } => (id, DriverEvent::Done(result)),
                Event::Data {
                    id,
                    file,
                    data,
                    offset,
                } => (id, DriverEvent::Data { file, offset, data }),
                Event::WantData { id, file, max_len } => {
                    (id, DriverEvent::WantData { file, max_len })
                }
                Event::FileDone { id, file, result } => {
                    (id, DriverEvent::FileDone { file, result })
                }
                Event::Progress {
                    id,
                    file,
                    done,
                    total,
                } => (id, DriverEvent::Progress { file, done, total }),
                Event::Entries { id, entries } => (id, DriverEvent::Entries(entries)),
                Event::Changes { id, changes } => (id, DriverEvent::Changes(changes)),
                Event::Kdc { id, request } => {
                    self.kdc.push_back((id, request));
                    continue;
                }
                // Breaks an operation claimed went to it; this client requests no oplocks or
                // leases of its own, so an unclaimed one has no reader. `Closed` ends the
                // driver's loop.
                _ => continue,
            };
            // A delivery fails only for a handle that went away; its cancel is on the way.
            if let DriverEvent::Done(_) = ev {
                if let Some(route) = self.routes.remove(&id) {
                    self.tickets.remove(&route.ticket);
                    route.sink.deliver(ev);
                }
            } else if let Some(route) = self.routes.get(&id) {
                route.sink.deliver(ev);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_takes_every_option_and_asks_for_a_seed_only_without_one() {
        let mut o = ConnectOptions::new("10.0.0.1").domain("CORP");
        o.netbios = true;
        o.server_name = Some("FILESRV".into());
        o.signing = SigningPolicy::Required;
        o.min_dialect = Dialect::Smb210;
        o.max_dialect = Dialect::Smb302;
        o.encrypt = true;
        o.allow_insecure_guest = true;
        o.timeout = Duration::from_secs(5);
        let c = o.config(|| [9; 32], 1234);
        assert_eq!(c.seed, [9; 32]);
        assert_eq!(c.server_name, "FILESRV");
        assert_eq!(
            c.transport,
            Transport::NetBios {
                called: "FILESRV".into(),
                calling: "SMB-RS".into()
            }
        );
        assert_eq!(c.signing, SigningPolicy::Required);
        assert_eq!(
            (c.min_dialect, c.max_dialect),
            (Dialect::Smb210, Dialect::Smb302)
        );
        assert!(c.encrypt && c.allow_insecure_guest);
        assert_eq!(c.request_timeout, Some(Duration::from_secs(5)));
        assert_eq!(c.filetime_now, 1234);

        o.seed = Some([1; 32]);
        let c = o.config(|| panic!("a set seed needs no fresh one"), 0);
        assert_eq!(c.seed, [1; 32]);
        assert_eq!(
            ConnectOptions::new("h").config(|| [0; 32], 0).server_name,
            "h"
        );
    }

    #[test]
    fn kerberos_names_the_client_and_the_service_and_finds_the_secret() {
        use crate::auth::kerberos::ClientSecret;
        let o = ConnectOptions::new("127.0.0.4").user("alice@SMBTEST.TEST", "pw");
        let client = o.kerberos_client().unwrap();
        assert_eq!(client.to_string(), "alice@SMBTEST.TEST");
        // Named only by its address: no service ticket to ask for.
        assert_eq!(
            o.kerberos_service(&client).unwrap_err(),
            KerberosError::HostIsAnIp {
                ip: "127.0.0.4".into()
            }
        );
        let mut named = o.clone();
        named.server_name = Some("DC.smbtest.test".into());
        assert_eq!(
            named.kerberos_service(&client).unwrap().to_string(),
            "cifs/dc.smbtest.test@SMBTEST.TEST"
        );
        assert!(matches!(
            o.kerberos_secret(&client, None).unwrap(),
            ClientSecret::Password(p) if p.as_str() == "pw"
        ));
        // The realm from the domain; none at all is an error.
        let mut o = ConnectOptions::new("dc.smbtest.test").user("bob", "pw");
        assert!(o.kerberos_client().is_err());
        o.domain = "SMBTEST.TEST".into();
        assert_eq!(o.kerberos_client().unwrap().to_string(), "bob@SMBTEST.TEST");
        // An NT hash is the RC4 key; a callback is asked; a keytab wins, and must hold
        // the client's keys.
        let o = ConnectOptions::new("h").nt_hash("bob@R", [7; 16]);
        let bob = o.kerberos_client().unwrap();
        match o.kerberos_secret(&bob, None).unwrap() {
            ClientSecret::Keys(keys) => {
                assert_eq!(keys.len(), 1);
                assert_eq!(keys[0].etype(), Enctype::Rc4Hmac);
                assert_eq!(keys[0].as_bytes(), [7; 16]);
            }
            other => panic!("{other:?}"),
        }
        let o = ConnectOptions::new("h").password_callback("bob@R", |_| Some("cb".into()));
        assert!(matches!(
            o.kerberos_secret(&bob, None).unwrap(),
            ClientSecret::Password(p) if p.as_str() == "cb"
        ));
        let o = ConnectOptions::new("h").password_callback("bob@R", |_| None);
        assert!(o.kerberos_secret(&bob, None).is_err());
        let e = o.kerberos_secret(&bob, Some(b"not a keytab")).unwrap_err();
        assert!(matches!(e, KerberosError::Credentials(_)), "{e}");
    }

    #[test]
    fn credentials_follow_the_secret_and_the_ntlm_version() {
        assert!(ConnectOptions::new("h")
            .credentials()
            .unwrap()
            .is_anonymous());
        let mut o = ConnectOptions::new("h").user("alice", "pw");
        assert!(!o.credentials().unwrap().is_ntlm_v1());
        o.use_ntlm_v2 = false;
        assert!(o.credentials().unwrap().is_ntlm_v1());

        let o = ConnectOptions::new("h").password_callback("alice", |p| {
            assert_eq!((p.server.as_str(), p.user.as_str()), ("h", "alice"));
            None
        });
        match o.credentials() {
            Err(crate::Error::Auth { user, detail, .. }) => {
                assert_eq!(user, "alice");
                assert!(detail.contains("callback"), "{detail}");
            }
            other => panic!("expected an authentication error, got {other:?}"),
        }
    }

    #[test]
    fn errors_have_one_kind_per_meaning_and_the_matching_io_kind() {
        use crate::ErrorKind;
        let status = |status| ClientError::Smb(crate::Error::failed(status, "open", "a"));
        let e = io::Error::from(ClientError::Smb(crate::Error::Timeout {
            op: "read",
            path: "a".into(),
        }));
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        // Three statuses, one kind.
        for s in [
            NtStatus::OBJECT_NAME_NOT_FOUND,
            NtStatus::OBJECT_PATH_NOT_FOUND,
            NtStatus::NO_SUCH_FILE,
        ] {
            assert_eq!(status(s).kind(), ErrorKind::NotFound, "{s}");
            assert_eq!(io::Error::from(status(s)).kind(), io::ErrorKind::NotFound);
        }
        for (s, kind, io_kind) in [
            (
                NtStatus::DIRECTORY_NOT_EMPTY,
                ErrorKind::NotEmpty,
                io::ErrorKind::DirectoryNotEmpty,
            ),
            (
                NtStatus::NOT_A_DIRECTORY,
                ErrorKind::NotADirectory,
                io::ErrorKind::NotADirectory,
            ),
            (
                NtStatus::FILE_IS_A_DIRECTORY,
                ErrorKind::IsADirectory,
                io::ErrorKind::IsADirectory,
            ),
            (
                NtStatus::OBJECT_NAME_COLLISION,
                ErrorKind::AlreadyExists,
                io::ErrorKind::AlreadyExists,
            ),
            (
                NtStatus::ACCESS_DENIED,
                ErrorKind::PermissionDenied,
                io::ErrorKind::PermissionDenied,
            ),
        ] {
            let e = status(s);
            assert_eq!((e.kind(), e.status()), (kind, Some(s)));
            assert_eq!(e.errno(), s.errno());
            assert_eq!(io::Error::from(e).kind(), io_kind, "{s}");
        }
        let closed = ClientError::Smb(crate::Error::Closed(crate::CloseReason::Transport(
            "reset".into(),
        )));
        assert_eq!(closed.kind(), ErrorKind::Disconnected);
        assert_eq!(
            io::Error::from(closed).kind(),
            io::ErrorKind::ConnectionReset
        );
        let timeout = ClientError::Smb(crate::Error::Closed(crate::CloseReason::NegotiateTimeout));
        assert_eq!(
            (timeout.kind(), timeout.errno()),
            (ErrorKind::TimedOut, crate::Errno::ETIMEDOUT)
        );

        let o = ConnectOptions::new("files.example:4455");
        let refused = o.connect_error(io::Error::from_raw_os_error(111));
        assert_eq!(refused.kind(), ErrorKind::Disconnected);
        assert_eq!(refused.errno(), crate::Errno::ECONNREFUSED);
        let msg = refused.to_string();
        assert!(
            msg.starts_with("connecting to files.example:4455: "),
            "{msg}"
        );
        assert!(msg.ends_with("(ECONNREFUSED)"), "{msg}");
    }

    #[test]
    fn not_ready_and_not_connected_name_the_operation() {
        use crate::ErrorKind;
        let e = ClientError::NotReady { op: "list_path" };
        assert_eq!(
            (e.kind(), e.errno(), e.status()),
            (ErrorKind::NotReady, crate::Errno::ENOTCONN, None)
        );
        assert_eq!(e.to_string(), "list_path: not logged in yet (ENOTCONN)");
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::NotConnected);
        assert_eq!(
            io::ErrorKind::from(ErrorKind::NotReady),
            io::ErrorKind::NotConnected
        );
        let e = ClientError::NotConnected { op: "echo" };
        assert_eq!(
            (e.kind(), e.errno(), e.status()),
            (ErrorKind::Disconnected, crate::Errno::ENOTCONN, None)
        );
        assert_eq!(e.to_string(), "echo: not connected (ENOTCONN)");
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::NotConnected);
    }

    #[test]
    fn hosts_may_carry_a_port() {
        let hp = |s: &str| {
            let o = ConnectOptions::new(s);
            (o.host, o.port)
        };
        assert_eq!(hp("server"), ("server".into(), 445));
        assert_eq!(hp("server:4455"), ("server".into(), 4455));
        assert_eq!(hp("10.0.0.1:139"), ("10.0.0.1".into(), 139));
        assert_eq!(hp("[::1]:4455"), ("::1".into(), 4455));
        assert_eq!(hp("::1"), ("::1".into(), 445));
        assert_eq!(hp("fe80::1:445"), ("fe80::1:445".into(), 445));
        // Not a port: kept whole, so connecting fails naming it rather than guessing.
        assert_eq!(hp("server:x"), ("server:x".into(), 445));
        assert_eq!(hp("server:0"), ("server:0".into(), 445));
        assert_eq!(hp("server:+1"), ("server:+1".into(), 445));
        assert_eq!(ConnectOptions::new("::1").target(), "[::1]:445");
    }

    #[test]
    fn a_url_sets_host_port_user_and_domain_in_one_place() {
        let mut base = ConnectOptions::new("ignored");
        base.timeout = Duration::from_secs(3);
        let url = SmbUrl::parse("smb://CORP;alice:pw@files:4455/share/x").unwrap();
        let o = ConnectOptions::for_url(&base, &url, Some("from-env"));
        assert_eq!((o.host.as_str(), o.port), ("files", 4455));
        assert_eq!((o.user.as_str(), o.domain.as_str()), ("alice", "CORP"));
        assert_eq!(o.timeout, Duration::from_secs(3));
        let creds = format!("{:?}", o.credentials().unwrap());
        assert!(!creds.contains("pw"), "{creds}");

        let url = SmbUrl::parse("smb://bob@files/share").unwrap();
        assert_eq!(ConnectOptions::for_url(&base, &url, None).port, 445);
        base.netbios = true;
        let o = ConnectOptions::for_url(&base, &url, None);
        assert_eq!(o.port, 139, "NetBIOS picks port 139");
        assert_eq!(o.server_name.as_deref(), Some("*SMBSERVER"));
        let anonymous = SmbUrl::parse("smb://files/share").unwrap();
        assert!(ConnectOptions::for_url(&base, &anonymous, Some("pw"))
            .credentials()
            .unwrap()
            .is_anonymous());
    }
}

/// When to connect again after a connection was lost under idempotent work: up to
/// `attempts` tries in a row, the first after `first_delay`, each later one after twice
/// the delay before it, at most `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Tries in a row before giving up with the error that lost the connection.
    pub attempts: u32,
    /// Wait before the first try.
    pub first_delay: Duration,
    /// Longest wait between tries.
    pub max_delay: Duration,
}

impl Default for ReconnectPolicy {
    /// 5 tries, from 100 ms up to 5 s apart.
    fn default() -> Self {
        ReconnectPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl ReconnectPolicy {
    /// How long to wait before try `attempt` (1 for the first) after an error of `kind`,
    /// or `None` to give up: the first try needs the transport's end
    /// ([`ErrorKind::Disconnected`](crate::ErrorKind::Disconnected)); later ones follow
    /// failed tries whatever their error, until the tries are spent.
    ///
    /// ```
    /// use smb_proto::client::ReconnectPolicy;
    /// use smb_proto::ErrorKind;
    /// let lost = ErrorKind::Disconnected;
    /// let p = ReconnectPolicy::default();
    /// assert_eq!(p.delay(1, lost), Some(p.first_delay));
    /// assert_eq!(p.delay(2, ErrorKind::TimedOut), Some(2 * p.first_delay));
    /// assert_eq!(p.delay(1, ErrorKind::NotFound), None);
    /// assert_eq!(p.delay(p.attempts + 1, lost), None);
    /// ```
    pub fn delay(&self, attempt: u32, kind: crate::ErrorKind) -> Option<Duration> {
        let lost = attempt > 1 || kind == crate::ErrorKind::Disconnected;
        if !lost || attempt == 0 || attempt > self.attempts {
            return None;
        }
        let doubled = self
            .first_delay
            .checked_mul(1 << (attempt - 1).min(16))
            .unwrap_or(self.max_delay);
        Some(doubled.min(self.max_delay))
    }
}

/// Tries at making a lost connection again, as a [`ReconnectPolicy`] says: a driver asks
/// [`next`](Retry::next) after the loss and after each failed try how long to wait, and
/// gives up (with the error that lost the connection) when it says `None`; work that
/// moved on since the last loss starts counting anew ([`moved_on`](Retry::moved_on)).
///
/// ```
/// use smb_proto::client::{ReconnectPolicy, Retry};
/// use smb_proto::ErrorKind;
/// let mut retry = Retry::new(Some(ReconnectPolicy::default()));
/// assert!(retry.next(ErrorKind::PermissionDenied).is_none()); // not a loss: no try
/// let mut retry = Retry::new(Some(ReconnectPolicy::default()));
/// let waits: Vec<_> = std::iter::from_fn(|| retry.next(ErrorKind::Disconnected)).collect();
/// assert_eq!(waits.len(), 5);
/// assert!(Retry::new(None).next(ErrorKind::Disconnected).is_none()); // reconnect off
/// ```
#[derive(Debug, Clone)]
pub struct Retry {
    policy: Option<ReconnectPolicy>,
    tries: u32,
}

impl Retry {
    /// Tries as `policy` says; `None`: never.
    pub fn new(policy: Option<ReconnectPolicy>) -> Self {
        Retry { policy, tries: 0 }
    }

    /// How long to wait before the next try, after the loss or a failed try ended in
    /// `failure`; `None`: give up.
    pub fn next(&mut self, failure: crate::ErrorKind) -> Option<Duration> {
        self.tries += 1;
        self.policy?.delay(self.tries, failure)
    }

    /// The tries so far since the work last moved on.
    pub fn tries(&self) -> u32 {
        self.tries
    }

    /// The work moved on: the next loss starts counting anew.
    pub fn moved_on(&mut self) {
        self.tries = 0;
    }
}

/// The handles durable opens took on after lost connections: a driver reclaims each
/// durable open on the connection it makes again ([`crate::ops::Reclaim`]) and notes
/// here what it became, and a file opened before the loss finds its handle on the
/// current connection through [`current`](MovedHandles::current), however many
/// connections ago it was opened.
///
/// ```
/// use smb_proto::client::MovedHandles;
/// use smb_proto::ops::{Handle, TreeId};
/// use smb_proto::wire::create::FileId;
/// let h = |id, tree| Handle { tree: TreeId(tree), file_id: FileId { persistent: 7, volatile: id } };
/// let mut moved = MovedHandles::default();
/// moved.reclaimed(h(1, 1).file_id, h(2, 5)); // lost once…
/// moved.reclaimed(h(2, 5).file_id, h(3, 9)); // …and again
/// assert_eq!(moved.current(h(1, 1)), h(3, 9));
/// assert_eq!(moved.current(h(4, 1)), h(4, 1)); // never moved
/// ```
#[derive(Debug, Clone, Default)]
pub struct MovedHandles {
    /// By the file id each was opened with: its handle now.
    now: HashMap<crate::wire::create::FileId, crate::ops::Handle>,
}

impl MovedHandles {
    /// The open that had file id `lost` on the lost connection is `now` on this one.
    pub fn reclaimed(&mut self, lost: crate::wire::create::FileId, now: crate::ops::Handle) {
        match self.now.values_mut().find(|h| h.file_id == lost) {
            Some(h) => *h = now,
            None => {
                self.now.insert(lost, now);
            }
        }
    }

    /// `handle` as it is on the current connection.
    pub fn current(&self, handle: crate::ops::Handle) -> crate::ops::Handle {
        self.now.get(&handle.file_id).copied().unwrap_or(handle)
    }
}

#[cfg(test)]
mod kerberos_login_tests {
    use super::*;

    /// A credential cache's tickets slot into the login, and `need()` decides: its
    /// service ticket needs no KDC, its TGT alone a TGS exchange; once expired (and no
    /// password given) the login fails naming the ticket, with a password the AS
    /// exchange serves. A recording connection refuses a login from a cache (its
    /// tickets are no KDC reply a replay could use), with or without a password.
    #[test]
    fn a_credential_caches_tickets_decide_what_the_kdc_is_asked() {
        use crate::auth::kerberos::flow::Need;
        use crate::auth::kerberos::TicketFlow;
        use std::time::UNIX_EPOCH;
        const KINIT: &[u8] = include_bytes!("../../tests/data/kerberos/kinit.ccache");
        // kinit.ccache's tickets: issued 2026-12-07 17:26:30 UTC, for ten hours.
        const ISSUED: u64 = 1_796_664_390;
        let at = |hours: u64| UNIX_EPOCH + Duration::from_secs(ISSUED + hours * 3600);
        let read = |p: &std::path::Path| match p.to_str() {
            Some("/tmp/krb5cc_test") => Ok(KINIT.to_vec()),
            _ => Err(std::io::ErrorKind::NotFound.into()),
        };
        let o = |server: &str| {
            ConnectOptions::new(server)
                .user("", "")
                .kerberos(KerberosOptions::kdc("127.0.0.4").ccache("/tmp/krb5cc_test"))
        };
        let login = o("dc.smbtest.test").kerberos_login(None, read).unwrap();
        assert_eq!(login.client.to_string(), "smbtest@SMBTEST.TEST");
        assert!(login.secret.is_none() && login.fallback.is_none());
        assert!(matches!(login.need(at(1)), Need::Nothing(_)));
        let elsewhere = o("fs1.smbtest.test").kerberos_login(None, read).unwrap();
        assert!(matches!(elsewhere.need(at(1)), Need::ServiceTicket(_)));
        // KRB5CCNAME alike, when no password is given; a password comes first.
        let env = ConnectOptions::new("dc.smbtest.test")
            .user("smbtest@SMBTEST.TEST", "")
            .kerberos(KerberosOptions::kdc("127.0.0.4"));
        let login = env
            .kerberos_login(Some("FILE:/tmp/krb5cc_test"), read)
            .unwrap();
        assert!(matches!(login.need(at(1)), Need::Nothing(_)));
        let pw = env.clone().user("smbtest@SMBTEST.TEST", "pw");
        let login = pw
            .kerberos_login(Some("FILE:/tmp/krb5cc_test"), read)
            .unwrap();
        assert_eq!(login.need(at(1)), Need::Tgt);

        // Expired, no password: the ticket named, before any KDC is asked.
        let login = o("dc.smbtest.test").kerberos_login(None, read).unwrap();
        let e = TicketFlow::new(login, [0; 32], at(10)).unwrap_err();
        assert_eq!(
            e,
            KerberosError::TicketExpired {
                server: "cifs/dc.smbtest.test@SMBTEST.TEST".into(),
                endtime: ISSUED + 10 * 3600
            }
        );
        assert!(
            e.to_string().contains("expired at 2026-12-08 03:26:30 UTC"),
            "{e}"
        );
        assert_eq!(e.errno(), crate::ntstatus::Errno::EKEYEXPIRED);
        assert!(!e.ntlm_may_follow());
        // Expired, with a password: the AS exchange.
        let with_pw = o("dc.smbtest.test").user("smbtest@SMBTEST.TEST", "pw");
        let login = with_pw.kerberos_login(None, read).unwrap();
        assert!(login.secret.is_some() && login.fallback.is_some());
        assert!(matches!(login.need(at(1)), Need::Nothing(_)));
        assert_eq!(login.need(at(10)), Need::Tgt);
        assert!(TicketFlow::new(login, [0; 32], at(10)).is_ok());

        // Another user than the cache's.
        let alice = o("dc.smbtest.test").user("alice@SMBTEST.TEST", "");
        let e = alice.kerberos_login(None, read).unwrap_err();
        assert!(
            e.to_string().contains("tickets of smbtest@SMBTEST.TEST"),
            "{e}"
        );

        // Recording: the cache's tickets are no KDC reply.
        let (target, _) = RecordTarget::memory();
        let e = o("dc.smbtest.test")
            .record(target.clone())
            .kerberos_login(None, read)
            .unwrap_err();
        assert_eq!(e, KerberosError::CcacheNotRecordable);
        let e = with_pw.record(target.clone()).kerberos_login(None, read);
        assert_eq!(e.unwrap_err(), KerberosError::CcacheNotRecordable);
        // Without a cache, the password's login records (through the KDC).
        let login = ConnectOptions::new("dc.smbtest.test")
            .user("smbtest@SMBTEST.TEST", "pw")
            .kerberos(KerberosOptions::kdc("127.0.0.4"))
            .record(target)
            .kerberos_login(Some("FILE:/tmp/krb5cc_test"), read)
            .unwrap();
        assert_eq!(login.need(at(1)), Need::Tgt);
    }
}
