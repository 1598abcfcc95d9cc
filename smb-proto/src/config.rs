//! Connection configuration: dialects, signing and encryption policy, identity,
//! limits, and the seed every random value derives from.

use std::time::Duration;

use crate::connection::framing::Transport;
use crate::crypto::encryption::Cipher;
use crate::crypto::signing::SigningAlgorithm;

/// An SMB2 dialect revision (MS-SMB2 2.2.3), or SMB1's NT LM 0.12.
///
/// [`Dialect::Nt1`] is SMB1: never an SMB2 DialectRevision on the wire (its value sorts
/// it below every SMB2 dialect). As the lowest dialect accepted
/// ([`Config::min_dialect`]) it turns SMB1 on: the connection starts with an SMB1
/// multi-protocol NEGOTIATE, so that an SMB2 server upgrades and an SMB1-only server
/// answers in SMB1. SMB1 is unsafe (MD5 signing, no encryption) and off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u16)]
pub enum Dialect {
    /// SMB1, dialect "NT LM 0.12" (MS-CIFS, MS-SMB). Never sent as an SMB2 revision.
    Nt1 = 0x0100,
    /// SMB 2.0.2.
    Smb202 = 0x0202,
    /// SMB 2.1.
    Smb210 = 0x0210,
    /// SMB 3.0.
    Smb300 = 0x0300,
    /// SMB 3.0.2.
    Smb302 = 0x0302,
    /// SMB 3.1.1.
    Smb311 = 0x0311,
}

impl Dialect {
    /// All SMB2 dialects, oldest first ([`Dialect::Nt1`] is not one).
    pub const ALL: [Dialect; 5] = [
        Dialect::Smb202,
        Dialect::Smb210,
        Dialect::Smb300,
        Dialect::Smb302,
        Dialect::Smb311,
    ];

    /// The SMB2 dialect with this revision number (never [`Dialect::Nt1`]).
    pub fn from_u16(v: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|d| *d as u16 == v)
    }

    /// Whether this is an SMB 3.x dialect (AES signing, encryption, new KDF).
    pub fn is_smb3(self) -> bool {
        self >= Dialect::Smb300
    }

    /// Whether this is SMB1 ([`Dialect::Nt1`]).
    pub fn is_smb1(self) -> bool {
        self == Dialect::Nt1
    }

    /// Parses "2.0.2", "2.1", "3.0", "3.0.2", "3.1.1" (also "SMB2_02"… and "SMB3_11" forms),
    /// and "NT1", "SMB1" or "NT LM 0.12" for SMB1.
    pub fn parse(s: &str) -> Option<Self> {
        let upper = s.to_ascii_uppercase();
        if matches!(upper.as_str(), "NT1" | "SMB1" | "NT LM 0.12") {
            return Some(Dialect::Nt1);
        }
        Some(
            match upper.trim_start_matches("SMB").trim_start_matches('_') {
                "2.0.2" | "2_02" | "202" => Dialect::Smb202,
                "2.1" | "2.1.0" | "2_10" | "210" => Dialect::Smb210,
                "3.0" | "3.0.0" | "3_00" | "300" | "3" => Dialect::Smb300,
                "3.0.2" | "3_02" | "302" => Dialect::Smb302,
                "3.1.1" | "3_11" | "311" => Dialect::Smb311,
                _ => return None,
            },
        )
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dialect::Nt1 => "NT1",
            Dialect::Smb202 => "2.0.2",
            Dialect::Smb210 => "2.1",
            Dialect::Smb300 => "3.0",
            Dialect::Smb302 => "3.0.2",
            Dialect::Smb311 => "3.1.1",
        })
    }
}

/// When to sign, in pysmb's `sign_options` terms.
///
/// Signing is what makes a response tamper-evident: on an unsigned (and unencrypted)
/// session anyone on the path can change a downloaded file's bytes, a listing or a size
/// undetected. The default signs whenever the server can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningPolicy {
    /// Never sign, except where SMB 3.x makes a signed TREE_CONNECT mandatory.
    /// A server that requires signing is refused. Data can be altered in flight.
    Never,
    /// Sign whenever the server supports it and the session is authenticated.
    #[default]
    WhenSupported,
    /// Sign only when the server requires it; otherwise data can be altered in flight.
    WhenRequired,
    /// The client requires signing: guest and anonymous sessions are refused, and every
    /// response must be signed.
    Required,
}

/// Everything a [`Connection`](crate::Connection) needs to know before it starts.
#[derive(Clone)]
pub struct Config {
    /// Lowest dialect accepted; [`Dialect::Nt1`] turns SMB1 on (unsafe: see [`Dialect`]).
    pub min_dialect: Dialect,
    /// Highest dialect offered.
    pub max_dialect: Dialect,
    /// Signing policy.
    pub signing: SigningPolicy,
    /// Ask for encryption of the whole session (SMB 3.x); refused if the server can't.
    pub encrypt: bool,
    /// Accept a guest or anonymous session even where signing is required (it cannot sign).
    pub allow_insecure_guest: bool,
    /// Ciphers offered in 3.1.1, in preference order.
    pub ciphers: Vec<Cipher>,
    /// Signing algorithms offered in 3.1.1, in preference order.
    pub signing_algorithms: Vec<SigningAlgorithm>,
    /// The server's name as the client addresses it (`\\server\share`).
    pub server_name: String,
    /// This client's name (NTLM workstation, NetBIOS calling name).
    pub client_name: String,
    /// Stream framing.
    pub transport: Transport,
    /// Seed for every random value (client GUID, challenges, salts, nonces):
    /// the same seed, clock and server bytes replay a session byte for byte.
    pub seed: [u8; 32],
    /// The ClientGuid to negotiate with, when not drawn from the seed: a connection
    /// that reclaims durable handles of a lost one must present the lost one's
    /// ([`Connection::client_guid`](crate::Connection::client_guid)), or the server
    /// refuses (MS-SMB2 3.3.5.9.12).
    pub client_guid: Option<[u8; 16]>,
    /// Wall-clock time as a Windows FILETIME, used by NTLM only when the server's
    /// CHALLENGE carries no timestamp.
    pub filetime_now: u64,
    /// How long a request may go unanswered before its operation fails with a timeout.
    pub request_timeout: Option<Duration>,
    /// Largest frame accepted from the server.
    pub max_frame_len: usize,
    /// Upper bound for a single READ or WRITE (the server's limit applies too); keep it
    /// below `max_frame_len`.
    pub max_io_size: u32,
    /// Most READ/WRITE requests one transfer keeps in flight.
    pub max_io_in_flight: usize,
    /// Each [`Event::Data`](crate::Event::Data) of an [`ReadFile`](crate::ops::ReadFile)
    /// holds a place in its window until the driver acknowledges it with an empty
    /// [`Connection::supply`](crate::Connection::supply). For drivers whose consumers may
    /// lag behind the socket (async tasks): a slow consumer then slows its own read instead
    /// of piling data up, and the socket never has to stop for it.
    pub paced_reads: bool,
    /// Credits the client tries to hold.
    pub credit_target: u16,
    /// After this long without a frame from the server, an ECHO goes out (the connection
    /// stays busy for the server's idle timeout, and a dead peer shows): unanswered
    /// within [`request_timeout`](Self::request_timeout), the connection ends with
    /// [`CloseReason::KeepAliveTimeout`](crate::CloseReason::KeepAliveTimeout). `None`:
    /// no keep-alive. Timers run only as a driver calls
    /// [`Connection::handle_timeout`](crate::Connection::handle_timeout).
    pub keep_alive: Option<Duration>,
    /// Announce SMB2_GLOBAL_CAP_MULTI_CHANNEL (MS-SMB2 2.2.3), so that a 3.x server
    /// lets further connections join the session as channels
    /// ([`Connection::new_channel`](crate::Connection::new_channel)). Off by default: it
    /// changes the NEGOTIATE's bytes.
    pub multichannel: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The seed determines every key the session will use: never print it.
        f.debug_struct("Config")
            .field("min_dialect", &self.min_dialect)
            .field("max_dialect", &self.max_dialect)
            .field("signing", &self.signing)
            .field("encrypt", &self.encrypt)
            .field("allow_insecure_guest", &self.allow_insecure_guest)
            .field("ciphers", &self.ciphers)
            .field("signing_algorithms", &self.signing_algorithms)
            .field("server_name", &self.server_name)
            .field("client_name", &self.client_name)
            .field("transport", &self.transport)
            .field("seed", &"<redacted>")
            .field("request_timeout", &self.request_timeout)
            .field("max_io_size", &self.max_io_size)
            .field("max_io_in_flight", &self.max_io_in_flight)
            .field("keep_alive", &self.keep_alive)
            .field("multichannel", &self.multichannel)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Defaults for talking to `server_name`: 2.0.2–3.1.1, sign when supported, no
    /// encryption, direct TCP. `seed` must be fresh randomness in production.
    pub fn new(server_name: &str, seed: [u8; 32]) -> Self {
        Config {
            min_dialect: Dialect::Smb202,
            max_dialect: Dialect::Smb311,
            signing: SigningPolicy::WhenSupported,
            encrypt: false,
            allow_insecure_guest: false,
            ciphers: vec![
                Cipher::Aes128Gcm,
                Cipher::Aes128Ccm,
                Cipher::Aes256Gcm,
                Cipher::Aes256Ccm,
            ],
            signing_algorithms: vec![
                SigningAlgorithm::AesGmac,
                SigningAlgorithm::AesCmac,
                SigningAlgorithm::HmacSha256,
            ],
            server_name: server_name.to_string(),
            client_name: "SMB-RS".to_string(),
            transport: Transport::DirectTcp,
            seed,
            client_guid: None,
            filetime_now: 0,
            request_timeout: Some(Duration::from_secs(60)),
            // Room for the largest READ a server may answer (8 MiB, Samba's and Windows'
            // limit) plus headers; the 24-bit frame length itself stops at 16 MiB.
            max_frame_len: 8 * 1024 * 1024 + 64 * 1024,
            max_io_size: 1024 * 1024,
            max_io_in_flight: 16,
            paced_reads: false,
            credit_target: 512,
            keep_alive: None,
            multichannel: false,
        }
    }
}
