//! Record once, replay forever: a session's bytes in a versioned text format, and the
//! I/O-free pieces a driver plugs its byte stream into to record a live session or to
//! replay one with no network.
//!
//! The core is a pure function of its [`Config`] (the seed and `filetime_now`
//! included), of the order of the calls made on it and of the bytes fed to it. A
//! recording therefore needs only the seed, the clock reading, the options that shape
//! the bytes, and every byte in and out in order. Replaying it runs the *same program*
//! (the caller's own code, on any driver) over an in-memory transport fed by the
//! recording, which checks every byte the client writes.
//!
//! * [`Recorder`] turns the bytes a driver moves into the text below, as they move.
//!   Drivers record when [`ConnectOptions::record`](crate::client::ConnectOptions::record)
//!   names a [`RecordTarget`](crate::client::RecordTarget).
//! * [`Recording`] is a parsed recording: [`Recording::parse`] and
//!   [`Recording::to_text`] convert between it and the text.
//! * [`Replay`] is the in-memory transport a driver's `replay` constructor runs over:
//!   it compares what the client writes with the recorded outgoing stream and releases
//!   the recorded incoming bytes in their recorded order.
//!
//! ```
//! use smb_proto::replay::{Recording, Replay};
//!
//! let text = "\
//! smb-recording 1
//! seed 0000000000000000000000000000000000000000000000000000000000000000
//! filetime-now 133485408000000000
//! server-name files
//! client-name SMB-RS
//! domain
//! user
//! ntlm v2
//! dialects 2.0.2 3.1.1
//! signing WhenSupported
//! encrypt no
//! allow-insecure-guest no
//! transport direct
//! max-io-size 1048576
//! digests no
//! > 00000002
//! > 0102
//! < 00000001
//! < 03
//! end
//! ";
//! let recording = Recording::parse(text)?;
//! // The recorder's text adds a comment naming each frame or SMB2 message.
//! assert!(recording.to_text().contains("# > frame of 2 bytes\n> 00000002\n"));
//! assert_eq!(Recording::parse(&recording.to_text())?, recording);
//! let replay = Replay::new(recording)?;
//! replay.write(&[0, 0, 0, 2, 1, 2])?;
//! let mut buf = [0u8; 16];
//! assert_eq!(replay.read(&mut buf), smb_proto::replay::Incoming::Data(5));
//! replay.finish()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The format, version 1
//!
//! UTF-8 text, one item per line. Lines starting with `#` are comments (the recorder
//! writes one before each SMB2 message, naming its command and message id, for people
//! reading a diff); blank lines are ignored. The first line is `smb-recording 1`. Then
//! the setup, one `key value` line each, every key exactly once, in any order:
//!
//! | key | value |
//! |---|---|
//! | `seed` | the 32-byte seed of the connection's random source, 64 hex digits |
//! | `filetime-now` | the wall clock at connect time as a Windows FILETIME (decimal) |
//! | `server-name`, `client-name` | as in [`Config`] |
//! | `domain`, `user` | the login's domain and user name (empty for anonymous) |
//! | `ntlm` | `v2` or `v1` |
//! | `dialects` | the lowest and highest dialect offered, e.g. `2.0.2 3.1.1` |
//! | `signing` | a [`SigningPolicy`] variant name |
//! | `encrypt`, `allow-insecure-guest` | `yes` or `no` |
//! | `transport` | `direct` or `netbios` |
//! | `max-io-size` | [`Config::max_io_size`] |
//! | `digests` | `yes` when outgoing payloads may be stored as digests |
//! | `client-guid` | optional: the ClientGuid, 32 hex digits, when it was set rather than drawn from the seed |
//! | `kerberos` | optional, for a Kerberos login: its KDC configuration, `kdcs=HOST:PORT,… transport=tcp-then-udp timeout-ms=N etypes=18,17,23 time-offset=N lifetime-s=N` |
//!
//! Text values are percent-encoded: `%` and every byte outside `!`..`~` become `%XX`
//! (so an empty value leaves the key alone on its line). The password, the NT hash or
//! anything derived from them other than what the client sent on the wire is never part
//! of a recording.
//!
//! Then the session, in the order the bytes moved:
//!
//! | line | meaning |
//! |---|---|
//! | `> HEX` | bytes the client wrote |
//! | `< HEX` | bytes the client read |
//! | `>sha256 LEN HEX` | `LEN` bytes the client wrote, stored as their SHA-256 |
//! | `eof` | the server closed the connection |
//! | `end` | the recording is complete (the last line) |
//! | `refused REASON` | the recorder refused to record the session (see below) |
//! | `kdc-request KDC tcp\|udp HEX` | a Kerberos login's KDC attempt ([`crate::Event::Kdc`]): where, how, the message |
//! | `kdc-reply WALL_US HEX` / `kdc-failed WALL_US REASON` | its answer (or why none came) and the wall-clock time handed in with it, µs since 1970 |
//!
//! Only the order of the two directions relative to each other matters: how the bytes
//! are split into lines is presentation (the recorder breaks lines every 64 bytes and
//! at every frame and SMB2 message start, so one changed field changes one line).
//!
//! # Secrets
//!
//! A recording never holds the password or the NT hash, and it replays without them:
//! this client always negotiates NTLM key exchange, so the session's keys derive from an
//! ExportedSessionKey drawn from the seeded random source, not from the password. During
//! a replay, [`Login`](crate::ops::Login) sends the NtChallengeResponse and the
//! EncryptedRandomSessionKey the recording's own AUTHENTICATE message holds, and draws
//! the same ExportedSessionKey from the same seed, so the MIC, the mechListMIC and every
//! signing and encryption key come out as they did. A session in which the server did
//! not take key exchange could not be replayed that way, so the recorder refuses it
//! (`refused` line, and the recording connection fails); anonymous sessions need no key
//! and are recorded as they are.
//!
//! A Kerberos login is recorded with its KDC attempts: the replay feeds the recorded
//! replies (and times) to the same AS and TGS exchanges, which need the password or keys
//! the recorded login used to decrypt them (`replay_with` in the drivers, given the
//! connect options with the password; `Client::replay_as` in smb-async); the
//! recording holds neither, but its AS-REP allows the same offline guessing of the
//! password as a capture of the login would. No KDC is reached during a replay.
//!
//! A recording is nonetheless as sensitive as a decrypted packet capture: its seed gives
//! every key of the session, so it discloses whatever the session read or wrote, and its
//! NTLMv2 response allows the same offline guessing of the password as a capture of the
//! login would. Record with test accounts and test data, and never connect with a seed
//! taken from a recording.
//!
//! # Replaying
//!
//! The client under replay must make the same calls in the same order as the recorded
//! one. Its writes are compared with the recorded outgoing bytes as one stream (so a
//! driver that batches writes differently does not matter) and the first differing byte
//! fails the replay with a [`ReplayError`] naming the offset, the SMB2 command, the
//! message id and the header field or body byte, with the bytes around it. Recorded
//! incoming bytes are released once every outgoing byte recorded before them has been
//! written; a client that waits for input the recording gives only after bytes the
//! client has not sent fails with [`ReplayError::Stalled`] instead of hanging.
//!
//! Time: the core takes `now` from the driver, and the bytes do not depend on it (only
//! request deadlines do). A replay runs on the wall clock like a live session but much
//! faster, so no request timeout fires; a recorded session in which one did (its CANCEL
//! and what followed) does not replay. Operations must be issued in a deterministic
//! order: one at a time, or several started before any of them needs a response. The
//! drivers produce the same bytes for the same calls, so a recording made on one
//! (blocking, tokio, async-std, smol) replays on the others; transfers of many files at
//! once (`store_files`, `retrieve_tree`, …), whose files interleave as responses arrive,
//! replay only where their interleaving repeats.

mod layout;
mod recorder;
mod replayer;
mod text;

pub use recorder::{RecordError, RecordOptions, Recorder};
pub use replayer::{Incoming, Replay, ReplayError};
pub use text::{ParseError, ParseErrorKind};

use crate::client::ConnectOptions;
use crate::config::{Config, Dialect, SigningPolicy};
use crate::connection::framing::Transport;

/// The version of the format this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// How the recorded client was set up: everything besides the recorded bytes that the
/// bytes depend on. Never the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Setup {
    /// The seed of the connection's random source ([`Config::seed`]).
    pub seed: [u8; 32],
    /// [`Config::filetime_now`].
    pub filetime_now: u64,
    /// [`Config::server_name`].
    pub server_name: String,
    /// [`Config::client_name`].
    pub client_name: String,
    /// The login's domain.
    pub domain: String,
    /// The login's user; empty for an anonymous login.
    pub user: String,
    /// Whether the login answered with NTLMv2 (else NTLMv1).
    pub ntlm_v2: bool,
    /// [`Config::min_dialect`].
    pub min_dialect: Dialect,
    /// [`Config::max_dialect`].
    pub max_dialect: Dialect,
    /// [`Config::signing`].
    pub signing: SigningPolicy,
    /// [`Config::encrypt`].
    pub encrypt: bool,
    /// [`Config::allow_insecure_guest`].
    pub allow_insecure_guest: bool,
    /// Whether the transport is the NetBIOS session service (else direct TCP).
    pub netbios: bool,
    /// [`Config::max_io_size`].
    pub max_io_size: u32,
    /// Whether outgoing payloads may be stored as digests ([`RecordOptions::digests`]).
    pub digests: bool,
    /// [`Config::client_guid`] when it was set rather than drawn from the seed (a
    /// connection made again after a loss negotiates the lost one's).
    pub client_guid: Option<[u8; 16]>,
    /// For a Kerberos login ([`ConnectOptions::kerberos`]), how it reached the KDC and
    /// what it asked for: the KDCs, transports, etypes, clock offset and lifetime shape
    /// its messages. Never a key or a keytab.
    pub kerberos: Option<crate::auth::kerberos::KdcConfig>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The seed gives every key of the recorded session.
        f.debug_struct("Setup")
            .field("seed", &"<redacted>")
            .field("filetime_now", &self.filetime_now)
            .field("server_name", &self.server_name)
            .field("client_name", &self.client_name)
            .field("domain", &self.domain)
            .field("user", &self.user)
            .field("ntlm_v2", &self.ntlm_v2)
            .field("min_dialect", &self.min_dialect)
            .field("max_dialect", &self.max_dialect)
            .field("signing", &self.signing)
            .field("encrypt", &self.encrypt)
            .field("allow_insecure_guest", &self.allow_insecure_guest)
            .field("netbios", &self.netbios)
            .field("max_io_size", &self.max_io_size)
            .field("digests", &self.digests)
            .field("client_guid", &self.client_guid)
            .field("kerberos", &self.kerberos)
            .finish()
    }
}

impl Setup {
    /// The setup of a connection a driver is about to make with `opts`, configured as
    /// `config` (which holds the seed and `filetime_now` the driver chose).
    pub fn new(opts: &ConnectOptions, config: &Config, options: RecordOptions) -> Self {
        Setup {
            seed: config.seed,
            filetime_now: config.filetime_now,
            server_name: config.server_name.clone(),
            client_name: config.client_name.clone(),
            domain: opts.domain.clone(),
            user: opts.user.clone(),
            ntlm_v2: opts.use_ntlm_v2,
            min_dialect: config.min_dialect,
            max_dialect: config.max_dialect,
            signing: config.signing,
            encrypt: config.encrypt,
            allow_insecure_guest: config.allow_insecure_guest,
            netbios: matches!(config.transport, Transport::NetBios { .. }),
            max_io_size: config.max_io_size,
            digests: options.digests,
            client_guid: config.client_guid,
            kerberos: opts.kerberos.as_ref().map(|k| k.kdc.clone()),
        }
    }

    /// Connect options that reproduce the recorded client: the recorded server and user
    /// (with no password: a replay needs none), policy, dialects and seed. Host and port
    /// are the server name and the default port; a replay reaches no server.
    pub fn connect_options(&self) -> ConnectOptions {
        let mut o = ConnectOptions::new("");
        o.host.clone_from(&self.server_name);
        o.port = if self.netbios { 139 } else { 445 };
        o.netbios = self.netbios;
        o.server_name = Some(self.server_name.clone());
        o.client_name.clone_from(&self.client_name);
        o.domain.clone_from(&self.domain);
        o.user.clone_from(&self.user);
        o.use_ntlm_v2 = self.ntlm_v2;
        o.min_dialect = self.min_dialect;
        o.max_dialect = self.max_dialect;
        o.signing = self.signing;
        o.encrypt = self.encrypt;
        o.allow_insecure_guest = self.allow_insecure_guest;
        o.max_io_size = self.max_io_size;
        o.seed = Some(self.seed);
        o.client_guid = self.client_guid;
        o.kerberos = self
            .kerberos
            .clone()
            .map(|kdc| crate::client::KerberosOptions {
                kdc,
                ..Default::default()
            });
        // A recorded connection sent no keep-alive (see `ConnectOptions::keep_alive`).
        o.keep_alive = None;
        o
    }

    /// The core's configuration for the recorded client.
    pub fn config(&self) -> Config {
        let seed = self.seed;
        self.connect_options().config(|| seed, self.filetime_now)
    }
}

/// One run of bytes of a recording, in the order they moved.
#[derive(Clone, PartialEq, Eq)]
pub enum Record {
    /// Bytes the client wrote.
    Sent(Vec<u8>),
    /// `len` bytes the client wrote, stored as their SHA-256 ([`RecordOptions::digests`]).
    SentDigest {
        /// How many bytes.
        len: u64,
        /// Their SHA-256.
        sha256: [u8; 32],
    },
    /// Bytes the client read.
    Received(Vec<u8>),
    /// The server closed the connection.
    ServerClosed,
    /// One KDC attempt of a Kerberos login ([`crate::Event::Kdc`]): outside the SMB byte
    /// stream, replayed to the login in order.
    Kdc(Box<KdcRecord>),
}

/// One KDC attempt of a Kerberos login, as recorded: what the core asked the driver to
/// send where, what came back (or why nothing did), and the wall-clock time the driver
/// handed in with the answer. The messages hold no password; like a capture of the
/// login, the AS-REP allows offline guessing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct KdcRecord {
    /// The KDC, `host:port`, as the core named it.
    pub kdc: String,
    /// TCP or UDP.
    pub transport: crate::auth::kerberos::KdcTransport,
    /// The message sent (unframed).
    pub request: Vec<u8>,
    /// The reply, or why there was none.
    pub reply: Result<Vec<u8>, crate::auth::kerberos::KdcIoError>,
    /// The wall-clock time handed in with the answer, in microseconds since 1970.
    pub wall_us: u64,
}

impl std::fmt::Debug for KdcRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KdcRecord")
            .field("kdc", &self.kdc)
            .field("transport", &self.transport)
            .field("request_len", &self.request.len())
            .field("reply_len", &self.reply.as_ref().map(Vec::len))
            .field("wall_us", &self.wall_us)
            .finish()
    }
}

impl KdcRecord {
    /// The record of attempt `request`, answered with `reply` at `wall`.
    pub fn new(
        request: &crate::auth::kerberos::KdcRequest,
        reply: &Result<Vec<u8>, crate::auth::kerberos::KdcIoError>,
        wall: std::time::SystemTime,
    ) -> KdcRecord {
        let since = wall
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        KdcRecord {
            kdc: request.kdc.clone(),
            transport: request.transport,
            request: request.message.clone(),
            reply: reply.clone(),
            wall_us: u64::try_from(since.as_micros()).unwrap_or(u64::MAX),
        }
    }

    /// The wall-clock time of the answer.
    pub fn wall(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH
            .checked_add(std::time::Duration::from_micros(self.wall_us))
            .unwrap_or(std::time::UNIX_EPOCH)
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Lengths only: a record can be megabytes, and its bytes are the session's data.
        match self {
            Record::Sent(b) => write!(f, "Sent({} bytes)", b.len()),
            Record::SentDigest { len, .. } => write!(f, "SentDigest({len} bytes)"),
            Record::Received(b) => write!(f, "Received({} bytes)", b.len()),
            Record::ServerClosed => f.write_str("ServerClosed"),
            Record::Kdc(k) => k.fmt(f),
        }
    }
}

/// A parsed recording: the setup and every byte in and out, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// How the client was set up.
    pub setup: Setup,
    /// The bytes, in order; adjacent runs of one kind are merged.
    pub records: Vec<Record>,
}

impl Recording {
    /// Parses the text format (see the [module documentation](self)).
    ///
    /// ```
    /// # use smb_proto::replay::Recording;
    /// let err = Recording::parse("smb-recording 2\n").unwrap_err();
    /// assert_eq!(err.to_string(), "line 1: unsupported recording format version 2 (this crate reads version 1)");
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ParseError`] naming the line for anything that is not a complete recording
    /// of this version: a bad first line, a missing, repeated or malformed setup line,
    /// bad hex, no `end` line, or a `refused` one. Never a panic, whatever the input.
    pub fn parse(text: &str) -> Result<Recording, ParseError> {
        text::parse(text)
    }

    /// The recording in the text format, as the recorder writes it.
    pub fn to_text(&self) -> String {
        text::write(self)
    }

    /// How many bytes the client wrote.
    pub fn sent_len(&self) -> u64 {
        self.records
            .iter()
            .map(|r| match r {
                Record::Sent(b) => b.len() as u64,
                Record::SentDigest { len, .. } => *len,
                _ => 0,
            })
            .sum()
    }

    /// How many bytes the client read.
    pub fn received_len(&self) -> u64 {
        self.records
            .iter()
            .map(|r| match r {
                Record::Received(b) => b.len() as u64,
                _ => 0,
            })
            .sum()
    }

    /// Appends `record`, merging it into the last one when both are bytes of one kind.
    pub fn push(&mut self, record: Record) {
        match (self.records.last_mut(), record) {
            (Some(Record::Sent(a)), Record::Sent(b)) => a.extend_from_slice(&b),
            (Some(Record::Received(a)), Record::Received(b)) => a.extend_from_slice(&b),
            (_, r) => self.records.push(r),
        }
    }
}

impl std::str::FromStr for Recording {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Recording::parse(s)
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests;
