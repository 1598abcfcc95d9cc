//! Errors: operation results (an NTSTATUS with the path involved), and the reasons a
//! connection ends.

use crate::connection::framing::{FramingError, SessionRefusal};
use crate::crypto::encryption::CryptoError;
use crate::ntstatus::{Errno, NtStatus};
use crate::rpc::RpcError;
use crate::wire::{Command, DecodeError};

/// Why a connection ended. Reported once; every operation still pending fails with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    /// The server sent bytes that do not decode.
    #[error("malformed message from server: {0}")]
    Malformed(#[from] DecodeError),
    /// Stream framing was violated.
    #[error("bad framing: {0}")]
    Framing(#[from] FramingError),
    /// A message's signature did not verify.
    #[error("bad signature on {} response (message id {message_id})", crate::wire::Command::name_of(*.command))]
    BadSignature {
        /// Command of the offending message.
        command: u16,
        /// Its message id.
        message_id: u64,
    },
    /// Signing is required but a response arrived unsigned.
    #[error(
        "unsigned {} response (message id {message_id}) while signing is required",
        crate::wire::Command::name_of(*.command)
    )]
    Unsigned {
        /// Command of the offending message.
        command: u16,
        /// Its message id.
        message_id: u64,
    },
    /// An encrypted message did not decrypt, a plaintext one came where encryption is
    /// required, or signing or encryption failed on our side.
    #[error("encryption failure: {0}")]
    Encryption(EncryptionFailure),
    /// The server broke the protocol.
    #[error("protocol violation: {0}")]
    Protocol(Violation),
    /// Negotiation found nothing both sides accept, or was tampered with.
    #[error("negotiation failed: {0}")]
    Negotiate(NegotiateFailure),
    /// The server accepted the connection but never answered the NEGOTIATE.
    #[error("no answer to NEGOTIATE within the timeout")]
    NegotiateTimeout,
    /// The server did not answer the ECHO sent after [`Config::keep_alive`] of silence
    /// within the request timeout: the peer or the path to it is gone.
    ///
    /// [`Config::keep_alive`]: crate::Config::keep_alive
    #[error("no answer to the keep-alive ECHO within the timeout: the server is gone")]
    KeepAliveTimeout,
    /// The server closed the stream or the driver's socket failed.
    #[error("transport closed: {0}")]
    Transport(String),
    /// The NetBIOS session service refused the session (RFC 1002 4.3.4).
    #[error("NetBIOS session refused: {0}")]
    NetBiosRefused(SessionRefusal),
    /// The client closed the connection.
    #[error("closed by the client")]
    Local,
}

/// How the server broke the protocol, for [`CloseReason::Protocol`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A NetBIOS session response where none was asked for.
    #[error("unexpected NetBIOS session response")]
    UnexpectedSessionResponse,
    /// A message without the response flag.
    #[error("request received from server")]
    RequestFromServer,
    /// A response to a message id with no request pending.
    #[error("response for unknown message id {0}")]
    UnknownMessageId(u64),
    /// A response whose command is not its request's.
    #[error("message id {message_id} answered with {}, sent {}", Command::name_of(*.answered), Command::name_of(*.sent))]
    WrongCommand {
        /// The message id.
        message_id: u64,
        /// The request's command.
        sent: u16,
        /// The response's command.
        answered: u16,
    },
    /// More interim responses to one request than a server sends.
    #[error("more than {limit} interim responses to message id {message_id}")]
    EndlessInterims {
        /// The message id.
        message_id: u64,
        /// The most accepted.
        limit: u32,
    },
    /// A response for another session than the connection's.
    #[error("response for session {got:#x}, ours is {ours:#x}")]
    ForeignSession {
        /// The session id in the response.
        got: u64,
        /// This connection's.
        ours: u64,
    },
    /// A signed message before any session key exists.
    #[error("signed message before session keys")]
    SignedBeforeKeys,
    /// A session established without a negotiation.
    #[error("a session without a negotiate")]
    NoNegotiate,
    /// The server grants fewer credits than the next request needs, and no more.
    #[error("the server granted {granted} credits; the next request needs {needed}")]
    CreditStarvation {
        /// Credits held.
        granted: u32,
        /// Credits the next request needs.
        needed: u32,
    },
    /// A directory entry named with a separator or NUL (it would reach outside the
    /// directory when joined onto a local path).
    #[error("directory entry name {0:?} is not a single path component")]
    EntryName(String),
    /// QUERY_DIRECTORY answers page after page with no entry.
    #[error("QUERY_DIRECTORY keeps answering with no entries")]
    EmptyPages,
}

/// One request an operation sent, or one response it got, as an error's trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrailEntry {
    /// The command.
    pub command: Command,
    /// Its message id.
    pub message_id: u64,
    /// The response's status; `None` for a request.
    pub status: Option<NtStatus>,
}

impl std::fmt::Display for TrailEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            None => write!(f, "→ {} #{}", self.command.name(), self.message_id),
            Some(s) => write!(f, "← {} #{} {s}", self.command.name(), self.message_id),
        }
    }
}

/// The last requests and responses of a failed operation ([`Error::trail`]).
///
/// Two failures compare equal whatever their trails: the trail says how a failure came
/// about, not which failure it is.
#[derive(Debug, Clone, Default)]
pub struct Trail(pub(crate) Vec<TrailEntry>);

impl PartialEq for Trail {
    fn eq(&self, _: &Trail) -> bool {
        true
    }
}

impl Eq for Trail {}

/// How negotiation failed, for [`CloseReason::Negotiate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiateFailure {
    /// The server answered the NEGOTIATE with a failure status.
    #[error("server answered {0}")]
    Refused(NtStatus),
    /// The server chose a dialect outside the range offered.
    #[error("server chose dialect {0:#06x}")]
    Dialect(u16),
    /// The server's negotiate contexts name an algorithm this client does not know.
    #[error("server chose {0}")]
    Algorithm(DecodeError),
    /// A 3.1.1 server without SHA-512 preauth integrity.
    #[error("3.1.1 without SHA-512 preauth integrity")]
    NoPreauthIntegrity,
    /// A 3.1.1 server chose a cipher that was not offered.
    #[error("server chose cipher {0}, which was not offered")]
    CipherNotOffered(crate::crypto::encryption::Cipher),
    /// A 3.1.1 server chose a signing algorithm that was not offered.
    #[error("server chose signing algorithm {0}, which was not offered")]
    SigningNotOffered(crate::crypto::signing::SigningAlgorithm),
    /// FSCTL_VALIDATE_NEGOTIATE_INFO was answered unsigned (MS-SMB2 3.2.5.14.12).
    #[error("validate negotiate: the response is not signed")]
    ValidateUnsigned,
    /// FSCTL_VALIDATE_NEGOTIATE_INFO failed with this status.
    #[error("validate negotiate: the server answered {0}")]
    ValidateRefused(NtStatus),
    /// FSCTL_VALIDATE_NEGOTIATE_INFO's answer differs from the NEGOTIATE response.
    #[error("validate negotiate: the server's answer differs from its NEGOTIATE response")]
    ValidateMismatch,
    /// A connection meant to join a session as a channel negotiated otherwise than the
    /// session's first connection (MS-SMB2 3.2.5.2): this part differs.
    #[error("channel: the server negotiated a different {0} than on the session's connection")]
    ChannelMismatch(&'static str),
    /// The server closed the connection in answer to the NEGOTIATE, before any answer.
    /// A server that speaks only SMB1 does this to an SMB2 NEGOTIATE; with SMB1 off the
    /// message names the option that turns it on.
    #[error(
        "the server closed the connection in answer to the {} ({detail}){}",
        if *.smb1_enabled { "SMB1 NEGOTIATE" } else { "SMB2 NEGOTIATE" },
        if *.smb1_enabled {
            ""
        } else {
            "; servers that speak only SMB1 (NT LM 0.12) do this. SMB1 is off by default \
             because it is unsafe: enable it with --smb1 (ConnectOptions::smb1)"
        }
    )]
    ClosedDuringNegotiate {
        /// Whether SMB1 was offered ([`Dialect::Nt1`](crate::Dialect::Nt1) as the lowest
        /// dialect).
        smb1_enabled: bool,
        /// What the transport said.
        detail: String,
    },
    /// The SMB1 server chose none of the dialects offered (DialectIndex 0xFFFF).
    #[error("the SMB1 server accepts none of the dialects offered")]
    NoCommonDialect,
    /// The SMB1 server cannot do extended security (NTLMSSP in SPNEGO), the only SMB1
    /// authentication this client speaks.
    #[error("the SMB1 server lacks extended security (CAP_EXTENDED_SECURITY)")]
    NoExtendedSecurity,
    /// Encryption was required, and the server speaks SMB1, which cannot encrypt.
    #[error("encryption is required and the server speaks only SMB1, which cannot encrypt")]
    EncryptionNeedsSmb3,
}

/// How encryption or signing failed, for [`CloseReason::Encryption`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionFailure {
    /// An oplock or lease break arrived in the clear on an encrypted session.
    #[error("unencrypted break on an encrypted session")]
    UnencryptedBreak,
    /// An encrypted request was answered in the clear.
    #[error("unencrypted response to encrypted request (message id {0})")]
    UnencryptedResponse(u64),
    /// Something was to be encrypted or decrypted before the session had keys.
    #[error("encryption before session keys")]
    NoKeys,
    /// Encryption without a negotiated cipher.
    #[error("no cipher negotiated")]
    NoCipher,
    /// An encrypted message for another session than this connection's.
    #[error("encrypted message for unknown session {0:#x}")]
    UnknownSession(u64),
    /// Encrypting, decrypting or signing failed.
    #[error("{0}")]
    Crypto(#[from] CryptoError),
}

impl From<CryptoError> for CloseReason {
    fn from(e: CryptoError) -> Self {
        CloseReason::Encryption(EncryptionFailure::Crypto(e))
    }
}

impl From<NegotiateFailure> for CloseReason {
    fn from(e: NegotiateFailure) -> Self {
        CloseReason::Negotiate(e)
    }
}

impl From<EncryptionFailure> for CloseReason {
    fn from(e: EncryptionFailure) -> Self {
        CloseReason::Encryption(e)
    }
}

/// The result of a failed operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The server answered with a failure status.
    #[error("{op} {}: {status} ({})", shown(path), .status.errno().name())]
    Status {
        /// The status.
        status: NtStatus,
        /// The operation, e.g. "open", "rename".
        op: &'static str,
        /// The path involved (share-relative), or the share.
        path: String,
        /// The requests the failing operation sent and the answers it got, for
        /// debugging (pysmb's `smb_messages`); not part of the message.
        trail: Trail,
    },
    /// Login failed.
    #[error(
        "authentication of user '{user}' at {server} failed: {status}{} (EACCES)",
        detail_suffix(detail)
    )]
    Auth {
        /// The user name (never the password).
        user: String,
        /// The server.
        server: String,
        /// The server's status (e.g. STATUS_LOGON_FAILURE), or SUCCESS for local failures.
        status: NtStatus,
        /// Extra detail from the local side, if any.
        detail: String,
    },
    /// The server accepted a login with real credentials only as a guest (it maps unknown
    /// users, and on some servers wrong passwords, to guest). A guest session cannot sign,
    /// so anyone on the path could alter it: refused unless the caller allows insecure
    /// guest access.
    #[error(
        "the server at {server} accepted user '{user}' only as a guest (an unknown user or \
         a wrong password mapped to guest); a guest session cannot sign, so it was refused \
         (allow it with allow_insecure_guest, or smb --allow-insecure-guest) (EACCES)"
    )]
    GuestRefused {
        /// The user name that was tried.
        user: String,
        /// The server.
        server: String,
    },
    /// A request went unanswered for longer than the configured timeout.
    #[error("{op} {}: timed out (ETIMEDOUT)", shown(path))]
    Timeout {
        /// The operation.
        op: &'static str,
        /// The path involved.
        path: String,
    },
    /// The operation was cancelled by the caller.
    #[error("cancelled (ECANCELED)")]
    Cancelled,
    /// The connection ended.
    #[error("connection closed: {reason} ({errno})", reason = .0, errno = Errno::for_close(.0).name())]
    Closed(CloseReason),
    /// The caller asked for something that cannot be done (bad path, bad state).
    #[error("invalid request: {0} (EINVAL)")]
    Invalid(String),
    /// A path or name breaks the path rules ([`crate::ops`] documents them); nothing
    /// was sent.
    #[error("{op} {}: {problem} ({})", shown(path), .problem.errno().name())]
    Path {
        /// The operation.
        op: &'static str,
        /// The path as the caller gave it.
        path: String,
        /// What is wrong with it.
        problem: PathError,
    },
    /// An upload failed after its CREATE had created or truncated the file: what the
    /// server now holds under that name is not the upload. The status, errno and kind
    /// are the cause's.
    #[error(
        "{cause}; {} was {} on the server and is left incomplete",
        shown(path),
        if *created { "created" } else { "overwritten" }
    )]
    UploadLeftBehind {
        /// What failed.
        cause: Box<Error>,
        /// The file.
        path: String,
        /// Whether the CREATE made a new file (else it truncated an existing one).
        created: bool,
    },
    /// A DCE/RPC call on a named pipe failed: the server refused the bind, answered
    /// with a fault or a failure, or sent PDUs or NDR that do not decode. The SMB
    /// connection is sound and goes on.
    #[error("{op} {}: DCE/RPC: {error} ({})", shown(path), .error.errno().name())]
    Rpc {
        /// The operation.
        op: &'static str,
        /// The pipe (`srvsvc`).
        path: String,
        /// What went wrong.
        error: RpcError,
    },
    /// Two URLs that must name one share of one server, reached as one user (a rename's
    /// source and target), do not: SMB renames only within a share, so nothing was sent
    /// (libsmbclient's EXDEV). The URLs are shown without their passwords.
    #[error("{op} {from} to {to}: not on one share of one server as one user (EXDEV)")]
    NotSameShare {
        /// The operation.
        op: &'static str,
        /// The first URL.
        from: String,
        /// The second URL.
        to: String,
    },
    /// Two paths one call must find on one share (a rename's source and target) lie
    /// behind DFS links that lead to different targets (another server, share or
    /// user): SMB renames only within a share, so nothing was sent (EXDEV). The
    /// targets are shown as `\\server\share\path`.
    #[error("{op} {from} to {to}: DFS links lead to different targets (EXDEV)")]
    NotSameDfsTarget {
        /// The operation.
        op: &'static str,
        /// Where the first path leads.
        from: String,
        /// Where the second path's directory leads.
        to: String,
    },
    /// A Kerberos login could not get or use its tickets: the KDC unreachable, an
    /// unknown principal, a wrong password, a clock skew, no service ticket, … (see
    /// [`KerberosError`](crate::auth::kerberos::KerberosError)). Nothing of the login
    /// was sent to the SMB server.
    #[error("Kerberos: {0} ({errno})", errno = .0.errno().name())]
    Kerberos(crate::auth::kerberos::KerberosError),
    /// The operation has no SMB1 form (yet), and the connection speaks SMB1; nothing
    /// was sent.
    #[error("{op}: not supported over {dialect} (EOPNOTSUPP)")]
    Unsupported {
        /// The operation.
        op: &'static str,
        /// What the connection speaks ("SMB1"), or what was asked for.
        dialect: &'static str,
    },
    /// The server's answer was complete but the transfer was not (e.g. file shrank).
    #[error("{op} {}: incomplete transfer: {detail} (EIO)", shown(path))]
    Incomplete {
        /// The operation.
        op: &'static str,
        /// The path involved.
        path: String,
        /// What was missing.
        detail: String,
    },
}

/// Why a path was refused before anything was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A `..` component: a path cannot climb out of the directory it names.
    #[error("`..` in a path: a path cannot climb out of the directory it names")]
    ParentComponent,
    /// A NUL character, which would end the name early on the server.
    #[error("NUL character in a name")]
    Nul,
    /// A separator in what must be one component (a pattern, a share name).
    #[error("a separator in a name that must be one component")]
    Separator,
    /// No name where one is needed (the share's root given to delete, an empty share).
    #[error("no name where one is needed")]
    EmptyName,
    /// The path ends in a separator (or `.`), so it names a directory, and the operation
    /// works on files only.
    #[error("the path ends in a separator, so it names a directory, and this works on files")]
    NamesDirectory,
    /// Longer than a 16-bit NameLength can carry; cutting it would name another file.
    #[error("a name of {units} UTF-16 units is longer than SMB2 allows")]
    TooLong {
        /// The name's length in UTF-16 code units.
        units: usize,
    },
}

impl PathError {
    /// The errno a POSIX caller would see for the same mistake.
    pub fn errno(self) -> Errno {
        match self {
            PathError::NamesDirectory => Errno::EISDIR,
            PathError::TooLong { .. } => Errno::ENAMETOOLONG,
            _ => Errno::EINVAL,
        }
    }
}

/// A share-relative path for messages; the share root is `\`.
fn shown(path: &str) -> &str {
    if path.is_empty() {
        "\\"
    } else {
        path
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

impl Errno {
    /// The errno for a connection that ended for `reason`: a protocol failure is
    /// EPROTO, the transport going away ECONNRESET, a local close ENOTCONN.
    pub fn for_close(reason: &CloseReason) -> Errno {
        match reason {
            CloseReason::Transport(_) | CloseReason::NetBiosRefused(_) => Errno::ECONNRESET,
            CloseReason::NegotiateTimeout | CloseReason::KeepAliveTimeout => Errno::ETIMEDOUT,
            CloseReason::Local => Errno::ENOTCONN,
            _ => Errno::EPROTO,
        }
    }
}

/// What kind of failure an error is, for a program to match on without knowing
/// NTSTATUS codes: the three "not found" statuses are one [`ErrorKind::NotFound`], and so
/// on. Converts to the matching [`std::io::ErrorKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No such file, directory, share or server (ENOENT).
    NotFound,
    /// Access denied, or a read-only share (EACCES, EPERM, EROFS).
    PermissionDenied,
    /// The name exists already (EEXIST).
    AlreadyExists,
    /// The directory is not empty (ENOTEMPTY).
    NotEmpty,
    /// A directory where a file was needed (EISDIR).
    IsADirectory,
    /// A file where a directory was needed (ENOTDIR).
    NotADirectory,
    /// No space or quota left (ENOSPC, EDQUOT).
    StorageFull,
    /// A rename between two file systems (shares, servers) (EXDEV).
    CrossesDevices,
    /// The login failed: wrong credentials, or a session the policy refuses.
    AuthenticationFailed,
    /// No answer in time (ETIMEDOUT).
    TimedOut,
    /// The caller cancelled the operation (ECANCELED).
    Cancelled,
    /// The connection is gone: the server closed it, the network failed, or the client
    /// closed it.
    Disconnected,
    /// The client has not logged in yet (pysmb's `NotReadyError`): the operation was
    /// asked of a factory still connecting, or whose login failed.
    NotReady,
    /// The server broke the protocol (bad signature, malformed message, …) and the
    /// connection was ended.
    ProtocolViolation,
    /// The request itself was wrong (a bad path, a bad argument), or the server said so.
    InvalidArgument,
    /// A transfer ended short of what it should have moved.
    Incomplete,
    /// Another open holds a conflicting byte-range lock (STATUS_LOCK_NOT_GRANTED,
    /// STATUS_FILE_LOCK_CONFLICT): EAGAIN, as `fcntl(F_SETLK)` reports it, and
    /// [`std::io::ErrorKind::WouldBlock`].
    LockConflict,
    /// An unlock named a range this open does not hold locked (STATUS_RANGE_NOT_LOCKED).
    NotLocked,
    /// The operation cannot be done on this connection (an operation without an SMB1
    /// form on an SMB1 connection): EOPNOTSUPP, [`std::io::ErrorKind::Unsupported`].
    Unsupported,
    /// Anything else; [`Error::errno`] and [`Error::status`] say more.
    Other,
}

impl ErrorKind {
    /// The kind of a failure status: the statuses of byte-range locking by name (their
    /// errnos are shared with unrelated statuses), every other by its errno.
    pub fn from_status(status: NtStatus) -> ErrorKind {
        match status {
            NtStatus::LOCK_NOT_GRANTED | NtStatus::FILE_LOCK_CONFLICT => ErrorKind::LockConflict,
            NtStatus::RANGE_NOT_LOCKED => ErrorKind::NotLocked,
            s => ErrorKind::from_errno(s.errno()),
        }
    }

    /// The kind of a POSIX error number.
    pub fn from_errno(errno: Errno) -> ErrorKind {
        match errno {
            Errno::ENOENT | Errno::ENODEV => ErrorKind::NotFound,
            Errno::EACCES | Errno::EPERM | Errno::EROFS | Errno::EKEYEXPIRED => {
                ErrorKind::PermissionDenied
            }
            Errno::EEXIST | Errno::ENOTUNIQ => ErrorKind::AlreadyExists,
            Errno::ENOTEMPTY => ErrorKind::NotEmpty,
            Errno::EISDIR => ErrorKind::IsADirectory,
            Errno::ENOTDIR => ErrorKind::NotADirectory,
            Errno::ENOSPC | Errno::EDQUOT => ErrorKind::StorageFull,
            Errno::EXDEV => ErrorKind::CrossesDevices,
            Errno::ETIMEDOUT => ErrorKind::TimedOut,
            Errno::ECANCELED => ErrorKind::Cancelled,
            Errno::ECONNRESET
            | Errno::ECONNABORTED
            | Errno::ENETRESET
            | Errno::ENOTCONN
            | Errno::ESHUTDOWN
            | Errno::EPIPE => ErrorKind::Disconnected,
            Errno::EPROTO => ErrorKind::ProtocolViolation,
            Errno::EINVAL | Errno::ENAMETOOLONG => ErrorKind::InvalidArgument,
            _ => ErrorKind::Other,
        }
    }

    /// The kind of an I/O error a driver's socket or a local file returned.
    pub fn from_io(kind: std::io::ErrorKind) -> ErrorKind {
        use std::io::ErrorKind as Io;
        match kind {
            Io::NotFound => ErrorKind::NotFound,
            Io::PermissionDenied | Io::ReadOnlyFilesystem => ErrorKind::PermissionDenied,
            Io::AlreadyExists => ErrorKind::AlreadyExists,
            Io::DirectoryNotEmpty => ErrorKind::NotEmpty,
            Io::IsADirectory => ErrorKind::IsADirectory,
            Io::NotADirectory => ErrorKind::NotADirectory,
            Io::StorageFull => ErrorKind::StorageFull,
            Io::CrossesDevices => ErrorKind::CrossesDevices,
            Io::TimedOut => ErrorKind::TimedOut,
            Io::ConnectionRefused
            | Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::NotConnected
            | Io::BrokenPipe
            | Io::UnexpectedEof => ErrorKind::Disconnected,
            Io::InvalidInput => ErrorKind::InvalidArgument,
            Io::InvalidData => ErrorKind::ProtocolViolation,
            _ => ErrorKind::Other,
        }
    }
}

impl From<ErrorKind> for std::io::ErrorKind {
    fn from(kind: ErrorKind) -> Self {
        use std::io::ErrorKind as Io;
        match kind {
            ErrorKind::NotFound => Io::NotFound,
            ErrorKind::PermissionDenied | ErrorKind::AuthenticationFailed => Io::PermissionDenied,
            ErrorKind::AlreadyExists => Io::AlreadyExists,
            ErrorKind::NotEmpty => Io::DirectoryNotEmpty,
            ErrorKind::IsADirectory => Io::IsADirectory,
            ErrorKind::NotADirectory => Io::NotADirectory,
            ErrorKind::StorageFull => Io::StorageFull,
            ErrorKind::CrossesDevices => Io::CrossesDevices,
            ErrorKind::TimedOut => Io::TimedOut,
            ErrorKind::Cancelled => Io::Interrupted,
            ErrorKind::Disconnected => Io::ConnectionReset,
            ErrorKind::NotReady => Io::NotConnected,
            ErrorKind::ProtocolViolation => Io::InvalidData,
            ErrorKind::InvalidArgument => Io::InvalidInput,
            ErrorKind::Incomplete => Io::UnexpectedEof,
            ErrorKind::LockConflict => Io::WouldBlock,
            ErrorKind::Unsupported => Io::Unsupported,
            ErrorKind::NotLocked | ErrorKind::Other => Io::Other,
        }
    }
}

impl Error {
    /// The error with `path` as its path when it names none: an operation on an open
    /// handle knows no path, the file object that holds the handle does.
    pub fn at(mut self, path: &str) -> Error {
        match &mut self {
            Error::Status { path: p, .. }
            | Error::Timeout { path: p, .. }
            | Error::Incomplete { path: p, .. }
                if p.is_empty() =>
            {
                *p = path.to_string();
            }
            _ => {}
        }
        self
    }

    /// What kind of failure this is (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Auth { .. } | Error::GuestRefused { .. } => ErrorKind::AuthenticationFailed,
            Error::Closed(CloseReason::Transport(_) | CloseReason::Local) => {
                ErrorKind::Disconnected
            }
            Error::Closed(CloseReason::NetBiosRefused(_)) => ErrorKind::Disconnected,
            Error::Closed(CloseReason::NegotiateTimeout | CloseReason::KeepAliveTimeout) => {
                ErrorKind::TimedOut
            }
            Error::Closed(_) => ErrorKind::ProtocolViolation,
            Error::Path {
                problem: PathError::NamesDirectory,
                ..
            } => ErrorKind::IsADirectory,
            Error::Path { .. } => ErrorKind::InvalidArgument,
            Error::Incomplete { .. } => ErrorKind::Incomplete,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Kerberos(e) => e.kind(),
            Error::UploadLeftBehind { cause, .. } => cause.kind(),
            Error::Status { status, .. } => ErrorKind::from_status(*status),
            e => ErrorKind::from_errno(e.errno()),
        }
    }

    /// The closest [`std::io::ErrorKind`]: the status's own where the server sent one
    /// (finer than [`Error::kind`]: `ReadOnlyFilesystem`, `FileTooLarge`, …).
    pub fn io_error_kind(&self) -> std::io::ErrorKind {
        if self.kind() == ErrorKind::LockConflict {
            // Its errno, EAGAIN, is also the server's "retry later", which is no
            // WouldBlock; a lock conflict is one.
            return std::io::ErrorKind::WouldBlock;
        }
        match self.status() {
            Some(s) if !matches!(self, Error::Auth { .. }) => s.to_io_error_kind(),
            _ => self.kind().into(),
        }
    }

    /// A failure status of operation `op` on `path` (its trail is filled in by the core).
    pub fn failed(status: NtStatus, op: &'static str, path: impl Into<String>) -> Error {
        Error::Status {
            status,
            op,
            path: path.into(),
            trail: Trail::default(),
        }
    }

    /// The requests and responses of the operation that failed with a status, oldest
    /// first (pysmb's `smb_messages`); empty for other errors.
    pub fn trail(&self) -> &[TrailEntry] {
        match self {
            Error::Status { trail, .. } => &trail.0,
            Error::UploadLeftBehind { cause, .. } => cause.trail(),
            _ => &[],
        }
    }

    /// Gives a status failure that has no trail yet the one its operation left.
    pub(crate) fn with_trail(mut self, entries: impl FnOnce() -> Vec<TrailEntry>) -> Error {
        if let Error::Status { trail, .. } = &mut self {
            if trail.0.is_empty() {
                trail.0 = entries();
            }
        }
        self
    }

    /// The NTSTATUS carried by this error, if the server sent one.
    pub fn status(&self) -> Option<NtStatus> {
        match self {
            Error::Status { status, .. } | Error::Auth { status, .. } => Some(*status),
            Error::UploadLeftBehind { cause, .. } => cause.status(),
            _ => None,
        }
    }

    /// The errno that best describes this error (libsmbclient's mapping).
    pub fn errno(&self) -> Errno {
        match self {
            Error::Status { status, .. } => status.errno(),
            Error::Auth { .. } | Error::GuestRefused { .. } => Errno::EACCES,
            Error::Timeout { .. } => Errno::ETIMEDOUT,
            Error::Cancelled => Errno::ECANCELED,
            Error::Closed(r) => Errno::for_close(r),
            Error::Invalid(_) => Errno::EINVAL,
            Error::Path { problem, .. } => problem.errno(),
            Error::UploadLeftBehind { cause, .. } => cause.errno(),
            Error::Rpc { error, .. } => error.errno(),
            Error::NotSameShare { .. } | Error::NotSameDfsTarget { .. } => Errno::EXDEV,
            Error::Incomplete { .. } => Errno::EIO,
            Error::Unsupported { .. } => Errno::EOPNOTSUPP,
            Error::Kerberos(e) => e.errno(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_statuses_have_kinds_of_their_own() {
        for status in [NtStatus::LOCK_NOT_GRANTED, NtStatus::FILE_LOCK_CONFLICT] {
            let e = Error::failed(status, "lock", "f.txt");
            assert_eq!(e.kind(), ErrorKind::LockConflict, "{status}");
            assert_eq!(e.errno(), Errno::EAGAIN);
            assert_eq!(e.io_error_kind(), std::io::ErrorKind::WouldBlock);
            assert!(e.to_string().contains("(EAGAIN)"), "{e}");
        }
        let e = Error::failed(NtStatus::RANGE_NOT_LOCKED, "unlock", "f.txt");
        assert_eq!(e.kind(), ErrorKind::NotLocked);
        // The statuses sharing EAGAIN are not lock conflicts, nor WouldBlock.
        let retry = Error::failed(NtStatus::INSUFFICIENT_RESOURCES, "read", "f.txt");
        assert_eq!(retry.errno(), Errno::EAGAIN);
        assert_eq!(retry.kind(), ErrorKind::Other);
        assert_eq!(retry.io_error_kind(), std::io::ErrorKind::Other);
        assert_eq!(
            std::io::ErrorKind::from(ErrorKind::LockConflict),
            std::io::ErrorKind::WouldBlock
        );
    }
}
