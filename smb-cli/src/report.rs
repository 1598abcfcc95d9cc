//! How a failure is told: one line on stderr (or one JSON object with `--json`) and an
//! exit status that tells failures apart (the table is in `smb --help`).

use std::io;

use serde::Serialize;
use smb_blocking::{Errno, ErrorKind};

/// Exit status: any failure without a status of its own.
pub const OTHER: u8 = 1;
/// Exit status: a usage error.
pub const USAGE: u8 = 2;
/// Exit status: no such file, directory, share or server name.
pub const NOT_FOUND: u8 = 3;
/// Exit status: permission denied.
pub const PERMISSION_DENIED: u8 = 4;
/// Exit status: the login failed.
pub const AUTHENTICATION: u8 = 5;
/// Exit status: the server could not be reached, went away, or did not answer in time.
pub const NETWORK: u8 = 6;
/// Exit status: the server broke the protocol, or negotiation failed.
pub const PROTOCOL: u8 = 7;
/// Exit status: a tree transfer failed after some files made it.
pub const PARTIAL: u8 = 8;
/// Exit status: interrupted by Ctrl-C, as a shell reports SIGINT.
pub const INTERRUPTED: u8 = 130;

/// The exit status for a failure of `kind`.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::NotFound => NOT_FOUND,
        ErrorKind::PermissionDenied => PERMISSION_DENIED,
        ErrorKind::AuthenticationFailed => AUTHENTICATION,
        ErrorKind::TimedOut | ErrorKind::Disconnected | ErrorKind::NotReady => NETWORK,
        ErrorKind::ProtocolViolation => PROTOCOL,
        _ => OTHER,
    }
}

/// `kind` as the JSON `kind` field spells it.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "not_found",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::AlreadyExists => "already_exists",
        ErrorKind::NotEmpty => "not_empty",
        ErrorKind::IsADirectory => "is_a_directory",
        ErrorKind::NotADirectory => "not_a_directory",
        ErrorKind::StorageFull => "storage_full",
        ErrorKind::AuthenticationFailed => "authentication_failed",
        ErrorKind::TimedOut => "timed_out",
        ErrorKind::Cancelled => "cancelled",
        ErrorKind::Disconnected => "disconnected",
        ErrorKind::NotReady => "not_ready",
        ErrorKind::ProtocolViolation => "protocol_violation",
        ErrorKind::InvalidArgument => "invalid_argument",
        ErrorKind::Incomplete => "incomplete",
        ErrorKind::LockConflict => "lock_conflict",
        ErrorKind::NotLocked => "not_locked",
        ErrorKind::Unsupported => "unsupported",
        _ => "other",
    }
}

/// Why a command stopped early.
#[derive(Debug)]
pub enum Fail {
    /// A failure to report, and its exit status.
    Report(Box<Report>),
    /// The reader of stdout went away (`smb cat URL | head`): a quiet exit with status 0.
    OutputClosed,
}

/// One failure, as `--json` prints it on stderr (field names are stable: tests and
/// scripts read them). Every field is always there, `null` when it does not apply.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The smb command (`get`, `ls`…); empty before the arguments were understood.
    pub command: String,
    /// The protocol operation that failed (`open`, `rename`, `login`, `connect`…), else
    /// the command.
    pub op: String,
    /// The path the failure concerns (share-relative with `\`, or local), if known.
    pub path: Option<String>,
    /// The NTSTATUS name the server answered with, if it did.
    pub status: Option<String>,
    /// Its value.
    pub status_code: Option<u32>,
    /// The POSIX errno name that best describes the failure.
    pub errno: Option<&'static str>,
    /// Its value.
    pub errno_code: Option<i32>,
    /// What kind of failure ([`kind_name`], or `usage`, or `partial`).
    pub kind: &'static str,
    /// The exit status.
    pub exit_code: u8,
    /// The one line the text output prints.
    pub message: String,
    /// For a tree transfer that failed part-way: what made it and what did not.
    pub transfer: Option<TransferReport>,
}

/// What a failed tree transfer did.
#[derive(Debug, Clone, Serialize)]
pub struct TransferReport {
    /// Files in the transfer.
    pub total: usize,
    /// The remote paths of the files transferred whole.
    pub transferred: Vec<String>,
    /// The files that failed, with why.
    pub failed: Vec<FailedFile>,
    /// Files never started (the transfer stopped first).
    pub not_attempted: usize,
}

/// One file of a tree transfer that failed.
#[derive(Debug, Clone, Serialize)]
pub struct FailedFile {
    /// Its remote path.
    pub path: String,
    /// Why.
    pub message: String,
}

impl From<Report> for Fail {
    fn from(r: Report) -> Self {
        Fail::Report(Box::new(r))
    }
}

impl From<smb_blocking::Error> for Fail {
    fn from(e: smb_blocking::Error) -> Self {
        Report::error(&e).into()
    }
}

impl Report {
    fn new(kind: &'static str, exit_code: u8, message: String) -> Report {
        Report {
            command: String::new(),
            op: String::new(),
            path: None,
            status: None,
            status_code: None,
            errno: None,
            errno_code: None,
            kind,
            exit_code,
            message,
            transfer: None,
        }
    }

    /// A usage error (exit status 2). `msg` must hold no secret.
    pub fn usage(msg: impl Into<String>) -> Report {
        Report::new("usage", USAGE, msg.into())
    }

    /// A failure of `kind` the CLI found itself, with its errno.
    pub fn other(kind: ErrorKind, errno: Errno, path: Option<String>, msg: String) -> Report {
        let mut r = Report::new(kind_name(kind), exit_code(kind), msg);
        r.errno = Some(errno.name());
        r.errno_code = Some(errno.0);
        r.path = path;
        r
    }

    /// A local failure: `what` names the file or the action.
    pub fn local(what: &str, e: &io::Error) -> Report {
        let errno = errno_of(e);
        let kind = ErrorKind::from_io(e.kind());
        let mut r = Report::new(
            kind_name(kind),
            exit_code(kind),
            with_errno(format!("{what}: {e}"), errno),
        );
        r.path = Some(what.to_string());
        r.errno = errno.map(Errno::name);
        r.errno_code = errno.map(|e| e.0);
        r
    }

    /// A failure the library reported.
    pub fn error(e: &smb_blocking::Error) -> Report {
        let kind = e.kind();
        let code = match e {
            // Not reaching the server is a network failure, whatever the system called it
            // (a name that does not resolve is "not found" to it).
            smb_blocking::Error::Connect { .. } => NETWORK,
            _ => exit_code(kind),
        };
        let mut r = Report::new(kind_name(kind), code, message(e));
        let status = e.status();
        r.status = status.map(|s| s.name().map_or_else(|| s.to_string(), str::to_string));
        r.status_code = status.map(|s| s.0);
        let errno = match e {
            smb_blocking::Error::Io(io) => errno_of(io),
            e => Some(e.errno()),
        };
        r.errno = errno.map(Errno::name);
        r.errno_code = errno.map(|e| e.0);
        let (op, path) = op_and_path(e);
        r.op = op.unwrap_or_default().to_string();
        r.path = path.map(str::to_string);
        r
    }

    /// The report of a tree transfer that failed after `transferred` made it: exit status
    /// [`PARTIAL`] when some did, else the failure's own.
    pub fn transfer(e: &smb_blocking::Error, failed: Vec<FailedFile>) -> Report {
        let mut r = Report::error(e);
        if let smb_blocking::Error::Transfer {
            transferred, total, ..
        } = e
        {
            if !transferred.is_empty() {
                r.kind = "partial";
                r.exit_code = PARTIAL;
            }
            let not_attempted = total.saturating_sub(transferred.len() + failed.len());
            r.transfer = Some(TransferReport {
                total: *total,
                transferred: transferred.clone(),
                failed,
                not_attempted,
            });
        }
        r
    }

    /// Fills in what the command knows that the failure may not say.
    pub fn in_command(mut self, command: &str) -> Report {
        self.command = command.to_string();
        if self.op.is_empty() {
            self.op = command.to_string();
        }
        self
    }

    /// The text lines for stderr: the message, then for a transfer that failed part-way
    /// what failed and what made it.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.message.clone()];
        if let Some(t) = self.transfer.as_ref().filter(|_| self.exit_code == PARTIAL) {
            lines.extend(
                t.failed
                    .iter()
                    .map(|f| format!("failed: {}: {}", f.path, f.message)),
            );
            if t.not_attempted > 0 {
                lines.push(format!("not attempted: {} file(s)", t.not_attempted));
            }
            lines.extend(t.transferred.iter().map(|p| format!("transferred: {p}")));
        }
        lines
    }
}

/// The operation and path a protocol failure names, if it names them.
fn op_and_path(e: &smb_blocking::Error) -> (Option<&str>, Option<&str>) {
    use smb_proto::Error as P;
    match e {
        smb_blocking::Error::Smb(p) => match p {
            P::Status { op, path, .. }
            | P::Timeout { op, path }
            | P::Path { op, path, .. }
            | P::Rpc { op, path, .. }
            | P::Incomplete { op, path, .. } => (Some(op), Some(path)),
            P::UploadLeftBehind { cause, path, .. } => {
                let (op, _) = op_and_path_proto(cause);
                (op, Some(path))
            }
            P::Auth { .. } | P::GuestRefused { .. } => (Some("login"), None),
            _ => (None, None),
        },
        smb_blocking::Error::Connect { .. } => (Some("connect"), None),
        smb_blocking::Error::Transfer { first, .. } => op_and_path(first),
        _ => (None, None),
    }
}

fn op_and_path_proto(e: &smb_proto::Error) -> (Option<&str>, Option<&str>) {
    match e {
        smb_proto::Error::Status { op, path, .. } | smb_proto::Error::Timeout { op, path } => {
            (Some(op), Some(path))
        }
        _ => (None, None),
    }
}

/// An error's line. Protocol errors name their path and errno, connect errors their
/// target and errno; local I/O errors get their errno's name; a tree transfer that
/// failed part-way says how many files made it.
pub fn message(e: &smb_blocking::Error) -> String {
    match e {
        smb_blocking::Error::Io(io) => with_errno(io.to_string(), errno_of(io)),
        smb_blocking::Error::Transfer {
            transferred,
            total,
            first,
        } => format!(
            "{} ({} of {total} files transferred)",
            message(first),
            transferred.len()
        ),
        e => e.to_string(),
    }
}

/// `msg` with the name of `errno` appended.
fn with_errno(msg: String, errno: Option<Errno>) -> String {
    match errno.map(Errno::name) {
        Some(name) if name != "EUNKNOWN" => format!("{msg} ({name})"),
        _ => msg,
    }
}

/// The errno of an I/O error, looked for in its sources too: the blocking client wraps
/// OS errors to name their file.
pub fn errno_of(e: &io::Error) -> Option<Errno> {
    let mut errno = e.raw_os_error();
    let mut source = e.get_ref().map(|inner| inner as &dyn std::error::Error);
    while let (None, Some(s)) = (errno, source) {
        errno = s
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error);
        source = s.source();
    }
    errno.map(Errno)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smb_blocking::NtStatus;

    #[test]
    fn statuses_map_to_exit_codes_and_json_fields() {
        let e = smb_blocking::Error::Smb(smb_proto::Error::failed(
            NtStatus::OBJECT_NAME_NOT_FOUND,
            "open",
            "dir\\f",
        ));
        let r = Report::error(&e).in_command("get");
        assert_eq!((r.exit_code, r.kind), (NOT_FOUND, "not_found"));
        assert_eq!((r.op.as_str(), r.path.as_deref()), ("open", Some("dir\\f")));
        assert_eq!(r.status.as_deref(), Some("STATUS_OBJECT_NAME_NOT_FOUND"));
        assert_eq!((r.errno, r.errno_code), (Some("ENOENT"), Some(2)));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["status_code"], 0xc000_0034_u32);
        assert_eq!(json["command"], "get");
        assert!(json["transfer"].is_null());

        let refused = smb_blocking::ConnectOptions::new("h:1")
            .connect_error(io::Error::from_raw_os_error(111));
        assert_eq!(Report::error(&refused).exit_code, NETWORK);
        assert_eq!(Report::usage("x").exit_code, USAGE);
    }

    #[test]
    fn a_transfer_that_failed_part_way_lists_what_made_it() {
        let first = smb_blocking::Error::Smb(smb_proto::Error::failed(
            NtStatus::ACCESS_DENIED,
            "open",
            "t\\b",
        ));
        let e = smb_blocking::Error::Transfer {
            transferred: vec!["t\\a".into()],
            total: 3,
            first: Box::new(first),
        };
        let failed = vec![FailedFile {
            path: "t\\b".into(),
            message: "denied".into(),
        }];
        let r = Report::transfer(&e, failed);
        assert_eq!((r.exit_code, r.kind), (PARTIAL, "partial"));
        assert_eq!(
            r.lines()[1..],
            [
                "failed: t\\b: denied",
                "not attempted: 1 file(s)",
                "transferred: t\\a"
            ]
        );
    }
}
