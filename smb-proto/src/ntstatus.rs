//! NTSTATUS codes (MS-ERREF 2.3) with their names and the POSIX errno a client reports.
//!
//! An [`NtStatus`] is the raw 32-bit value from the SMB2 header's `Status` field
//! (MS-SMB2 2.2.1); any value is representable, known or not. The statuses an SMB2
//! client meets in practice are listed once, in the `nt_statuses!` table below, which
//! generates the associated constants, the name lookup and the errno mapping, so the
//! three cannot drift apart.
//!
//! Values are taken from MS-ERREF 2.3.1 (as copied into the Linux kernel's
//! `fs/smb/client/smb2status.h` and Samba's `libcli/util/ntstatus_err_table.txt`);
//! the two `STATUS_SMB_*` codes come from MS-SMB2 3.3.5.4 / 3.3.5.7.
//!
//! The errno column follows libsmbclient first — Samba's `map_errno_from_nt_status`
//! (`libcli/util/errmap_unix.c`) — and, for statuses Samba does not list, the Linux
//! cifs client's `smb2_error_map_table` (`fs/smb/client/smb2maperror.c`). Statuses in
//! neither table, and every status missing from ours, map to `EIO` like the kernel's
//! default. Success and informational statuses map to [`Errno::NONE`].

use std::fmt;

/// A POSIX error number with the Linux numbering (what libsmbclient hands its callers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($( $name:ident = $value:literal; )*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($value), " on Linux).")]
                pub const $name: Errno = Errno($value);
            )*
        }

        static ERRNO_NAMES: &[(Errno, &str)] = &[$( (Errno::$name, stringify!($name)), )*];
    };
}

errnos! {
    EPERM = 1;
    ENOENT = 2;
    EIO = 5;
    E2BIG = 7;
    EBADF = 9;
    EAGAIN = 11;
    ENOMEM = 12;
    EACCES = 13;
    EBUSY = 16;
    EEXIST = 17;
    EXDEV = 18;
    ENODEV = 19;
    ENOTDIR = 20;
    EISDIR = 21;
    EINVAL = 22;
    EMFILE = 24;
    ETXTBSY = 26;
    EFBIG = 27;
    ENOSPC = 28;
    EROFS = 30;
    EMLINK = 31;
    EPIPE = 32;
    ENAMETOOLONG = 36;
    ENOSYS = 38;
    ENOTEMPTY = 39;
    ENODATA = 61;
    ECOMM = 70;
    EPROTO = 71;
    ENOTUNIQ = 76;
    EREMCHG = 78;
    ENOPROTOOPT = 92;
    EOPNOTSUPP = 95;
    EADDRINUSE = 98;
    ENETUNREACH = 101;
    ENETRESET = 102;
    ECONNABORTED = 103;
    ECONNRESET = 104;
    ENOBUFS = 105;
    EISCONN = 106;
    ENOTCONN = 107;
    ESHUTDOWN = 108;
    ETIMEDOUT = 110;
    ECONNREFUSED = 111;
    EHOSTDOWN = 112;
    EHOSTUNREACH = 113;
    EDQUOT = 122;
    ENOMEDIUM = 123;
    ECANCELED = 125;
    EKEYEXPIRED = 127;
}

impl Errno {
    /// No error: what a success or informational status maps to.
    pub const NONE: Errno = Errno(0);

    /// The symbolic name ("ENOENT"); "NONE" for [`Errno::NONE`], "EUNKNOWN" for a
    /// number this module has no constant for.
    pub fn name(self) -> &'static str {
        if self == Errno::NONE {
            return "NONE";
        }
        ERRNO_NAMES
            .iter()
            .find(|(errno, _)| *errno == self)
            .map_or("EUNKNOWN", |(_, name)| name)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A 32-bit NTSTATUS value, MS-ERREF 2.3.
///
/// The top two bits are the severity (MS-ERREF 2.3): `00` success, `01`
/// informational, `10` warning, `11` error. SMB2 uses warnings for results that
/// still carry data (`STATUS_BUFFER_OVERFLOW`) or end an enumeration
/// (`STATUS_NO_MORE_FILES`), so "not success" is not the same as "error".
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NtStatus(pub u32);

macro_rules! nt_statuses {
    ($( $name:ident = $value:literal => $errno:ident; )*) => {
        impl NtStatus {
            $(
                #[doc = concat!("`STATUS_", stringify!($name), "` (", stringify!($value), "), MS-ERREF 2.3.1.")]
                pub const $name: NtStatus = NtStatus($value);
            )*
        }

        /// Every named status: value, MS-ERREF name and errno.
        static TABLE: &[(NtStatus, &str, Errno)] = &[
            $( (NtStatus::$name, concat!("STATUS_", stringify!($name)), Errno::$errno), )*
        ];
    };
}

// Errno sources, per the module doc: Samba's `nt_errno_map` where it has the status,
// else the kernel's `smb2_error_map_table`; the few in neither say so.
nt_statuses! {
    // Success and informational.
    SUCCESS = 0x0000_0000 => NONE;
    PENDING = 0x0000_0103 => NONE;
    MORE_ENTRIES = 0x0000_0105 => NONE;
    OPLOCK_BREAK_IN_PROGRESS = 0x0000_0108 => NONE;
    NOTIFY_CLEANUP = 0x0000_010B => NONE;
    NOTIFY_ENUM_DIR = 0x0000_010C => NONE;
    OBJECT_NAME_EXISTS = 0x4000_0000 => NONE;

    // Warnings (kernel mapping; Samba lists none).
    BUFFER_OVERFLOW = 0x8000_0005 => E2BIG;
    NO_MORE_FILES = 0x8000_0006 => ENODATA;
    DEVICE_BUSY = 0x8000_0011 => EBUSY;
    NO_MORE_EAS = 0x8000_0012 => EIO;
    INVALID_EA_NAME = 0x8000_0013 => EINVAL;
    EA_LIST_INCONSISTENT = 0x8000_0014 => EIO;
    INVALID_EA_FLAG = 0x8000_0015 => EINVAL;
    NO_MORE_ENTRIES = 0x8000_001A => EIO;
    STOPPED_ON_SYMLINK = 0x8000_002D => EOPNOTSUPP;

    // Errors.
    UNSUCCESSFUL = 0xC000_0001 => EINVAL;
    NOT_IMPLEMENTED = 0xC000_0002 => ENOSYS;
    INVALID_INFO_CLASS = 0xC000_0003 => EIO;
    INFO_LENGTH_MISMATCH = 0xC000_0004 => EIO;
    ACCESS_VIOLATION = 0xC000_0005 => EACCES;
    INVALID_HANDLE = 0xC000_0008 => EBADF;
    INVALID_PARAMETER = 0xC000_000D => EINVAL;
    NO_SUCH_DEVICE = 0xC000_000E => ENODEV;
    NO_SUCH_FILE = 0xC000_000F => ENOENT;
    INVALID_DEVICE_REQUEST = 0xC000_0010 => EOPNOTSUPP;
    END_OF_FILE = 0xC000_0011 => ENODATA;
    WRONG_VOLUME = 0xC000_0012 => EIO;
    NO_MEDIA_IN_DEVICE = 0xC000_0013 => ENOMEDIUM;
    MORE_PROCESSING_REQUIRED = 0xC000_0016 => EIO;
    NO_MEMORY = 0xC000_0017 => ENOMEM;
    INVALID_SYSTEM_SERVICE = 0xC000_001C => EIO;
    INVALID_LOCK_SEQUENCE = 0xC000_001E => EIO;
    ACCESS_DENIED = 0xC000_0022 => EACCES;
    BUFFER_TOO_SMALL = 0xC000_0023 => ENOBUFS;
    OBJECT_TYPE_MISMATCH = 0xC000_0024 => EIO;
    NOT_LOCKED = 0xC000_002A => EIO;
    INVALID_PARAMETER_MIX = 0xC000_0030 => EINVAL;
    DISK_CORRUPT_ERROR = 0xC000_0032 => EIO;
    OBJECT_NAME_INVALID = 0xC000_0033 => ENOENT;
    OBJECT_NAME_NOT_FOUND = 0xC000_0034 => ENOENT;
    OBJECT_NAME_COLLISION = 0xC000_0035 => EEXIST;
    OBJECT_PATH_INVALID = 0xC000_0039 => ENOTDIR;
    OBJECT_PATH_NOT_FOUND = 0xC000_003A => ENOENT;
    OBJECT_PATH_SYNTAX_BAD = 0xC000_003B => EIO;
    DATA_ERROR = 0xC000_003E => EIO;
    CRC_ERROR = 0xC000_003F => EIO;
    SECTION_TOO_BIG = 0xC000_0040 => EIO;
    SHARING_VIOLATION = 0xC000_0043 => EBUSY;
    QUOTA_EXCEEDED = 0xC000_0044 => EDQUOT;
    EAS_NOT_SUPPORTED = 0xC000_004F => EOPNOTSUPP;
    EA_TOO_LARGE = 0xC000_0050 => EIO;
    NONEXISTENT_EA_ENTRY = 0xC000_0051 => EIO;
    NO_EAS_ON_FILE = 0xC000_0052 => ENODATA;
    EA_CORRUPT_ERROR = 0xC000_0053 => EIO;
    // Not Samba's or the kernel's EACCES: a lock conflict is what fcntl(F_SETLK) reports
    // as EAGAIN, and EACCES would make it look like a permission problem.
    FILE_LOCK_CONFLICT = 0xC000_0054 => EAGAIN;
    LOCK_NOT_GRANTED = 0xC000_0055 => EAGAIN;
    DELETE_PENDING = 0xC000_0056 => ENOENT;
    NO_LOGON_SERVERS = 0xC000_005E => EIO;
    NO_SUCH_LOGON_SESSION = 0xC000_005F => EIO;
    PRIVILEGE_NOT_HELD = 0xC000_0061 => EPERM;
    INVALID_ACCOUNT_NAME = 0xC000_0062 => EIO;
    USER_EXISTS = 0xC000_0063 => EIO;
    NO_SUCH_USER = 0xC000_0064 => EIO;
    WRONG_PASSWORD = 0xC000_006A => EACCES;
    ILL_FORMED_PASSWORD = 0xC000_006B => EACCES;
    PASSWORD_RESTRICTION = 0xC000_006C => EACCES;
    LOGON_FAILURE = 0xC000_006D => EACCES;
    ACCOUNT_RESTRICTION = 0xC000_006E => EACCES;
    INVALID_LOGON_HOURS = 0xC000_006F => EACCES;
    INVALID_WORKSTATION = 0xC000_0070 => EACCES;
    PASSWORD_EXPIRED = 0xC000_0071 => EACCES;
    ACCOUNT_DISABLED = 0xC000_0072 => EACCES;
    NONE_MAPPED = 0xC000_0073 => EIO;
    INVALID_ACL = 0xC000_0077 => EIO;
    INVALID_SID = 0xC000_0078 => EIO;
    INVALID_SECURITY_DESCR = 0xC000_0079 => EIO;
    RANGE_NOT_LOCKED = 0xC000_007E => EIO;
    DISK_FULL = 0xC000_007F => ENOSPC;
    FILE_INVALID = 0xC000_0098 => EIO;
    INSUFFICIENT_RESOURCES = 0xC000_009A => EAGAIN;
    MEDIA_WRITE_PROTECTED = 0xC000_00A2 => EROFS;
    DEVICE_NOT_READY = 0xC000_00A3 => EIO;
    BAD_IMPERSONATION_LEVEL = 0xC000_00A5 => EIO;
    CANT_OPEN_ANONYMOUS = 0xC000_00A6 => EIO;
    INSTANCE_NOT_AVAILABLE = 0xC000_00AB => EIO;
    PIPE_NOT_AVAILABLE = 0xC000_00AC => ENOSYS;
    INVALID_PIPE_STATE = 0xC000_00AD => EPIPE;
    PIPE_BUSY = 0xC000_00AE => EPIPE;
    ILLEGAL_FUNCTION = 0xC000_00AF => EIO;
    PIPE_DISCONNECTED = 0xC000_00B0 => EPIPE;
    PIPE_CLOSING = 0xC000_00B1 => EIO;
    PIPE_CONNECTED = 0xC000_00B2 => EISCONN;
    PIPE_LISTENING = 0xC000_00B3 => EIO;
    INVALID_READ_MODE = 0xC000_00B4 => EIO;
    IO_TIMEOUT = 0xC000_00B5 => ETIMEDOUT;
    FILE_FORCED_CLOSED = 0xC000_00B6 => EIO;
    FILE_IS_A_DIRECTORY = 0xC000_00BA => EISDIR;
    NOT_SUPPORTED = 0xC000_00BB => ENOSYS;
    REMOTE_NOT_LISTENING = 0xC000_00BC => ECONNREFUSED;
    DUPLICATE_NAME = 0xC000_00BD => ENOTUNIQ;
    BAD_NETWORK_PATH = 0xC000_00BE => EINVAL;
    NETWORK_BUSY = 0xC000_00BF => EBUSY;
    DEVICE_DOES_NOT_EXIST = 0xC000_00C0 => ENODEV;
    TOO_MANY_COMMANDS = 0xC000_00C1 => EIO;
    INVALID_NETWORK_RESPONSE = 0xC000_00C3 => EIO;
    UNEXPECTED_NETWORK_ERROR = 0xC000_00C4 => EIO;
    PRINT_QUEUE_FULL = 0xC000_00C6 => EIO;
    NO_SPOOL_SPACE = 0xC000_00C7 => EIO;
    PRINT_CANCELLED = 0xC000_00C8 => EIO;
    NETWORK_NAME_DELETED = 0xC000_00C9 => EREMCHG;
    NETWORK_ACCESS_DENIED = 0xC000_00CA => EACCES;
    BAD_DEVICE_TYPE = 0xC000_00CB => EIO;
    BAD_NETWORK_NAME = 0xC000_00CC => ENOENT;
    TOO_MANY_NAMES = 0xC000_00CD => EIO;
    TOO_MANY_SESSIONS = 0xC000_00CE => EIO;
    SHARING_PAUSED = 0xC000_00CF => EIO;
    REQUEST_NOT_ACCEPTED = 0xC000_00D0 => EIO;
    NET_WRITE_FAULT = 0xC000_00D2 => ECOMM;
    NOT_SAME_DEVICE = 0xC000_00D4 => EXDEV;
    FILE_RENAMED = 0xC000_00D5 => EIO;
    VIRTUAL_CIRCUIT_CLOSED = 0xC000_00D6 => EIO;
    NO_SECURITY_ON_OBJECT = 0xC000_00D7 => EIO;
    CANT_WAIT = 0xC000_00D8 => EIO;
    PIPE_EMPTY = 0xC000_00D9 => EIO;
    NO_SUCH_DOMAIN = 0xC000_00DF => EIO;
    OPLOCK_NOT_GRANTED = 0xC000_00E2 => EIO;
    INVALID_OPLOCK_PROTOCOL = 0xC000_00E3 => EIO;
    INTERNAL_DB_CORRUPTION = 0xC000_00E4 => EIO;
    INTERNAL_ERROR = 0xC000_00E5 => EIO;
    INVALID_USER_BUFFER = 0xC000_00E8 => EIO;
    UNEXPECTED_IO_ERROR = 0xC000_00E9 => EIO;
    DIRECTORY_NOT_EMPTY = 0xC000_0101 => ENOTEMPTY;
    FILE_CORRUPT_ERROR = 0xC000_0102 => EIO;
    NOT_A_DIRECTORY = 0xC000_0103 => ENOTDIR;
    NAME_TOO_LONG = 0xC000_0106 => ENAMETOOLONG;
    FILES_OPEN = 0xC000_0107 => EIO;
    CONNECTION_IN_USE = 0xC000_0108 => EIO;
    INVALID_LOGON_TYPE = 0xC000_010B => EIO;
    TOO_MANY_OPENED_FILES = 0xC000_011F => EMFILE;
    CANCELLED = 0xC000_0120 => ECANCELED;
    CANNOT_DELETE = 0xC000_0121 => EACCES;
    INVALID_COMPUTER_NAME = 0xC000_0122 => EIO;
    FILE_DELETED = 0xC000_0123 => EIO;
    FILE_CLOSED = 0xC000_0128 => EBADF;
    TIME_DIFFERENCE_AT_DC = 0xC000_0133 => EIO;
    LOCAL_DISCONNECT = 0xC000_013B => EIO;
    REMOTE_DISCONNECT = 0xC000_013C => ESHUTDOWN;
    REMOTE_RESOURCES = 0xC000_013D => EIO;
    LINK_FAILED = 0xC000_013E => EXDEV;
    LINK_TIMEOUT = 0xC000_013F => ETIMEDOUT;
    INVALID_CONNECTION = 0xC000_0140 => EIO;
    INVALID_ADDRESS = 0xC000_0141 => EIO;
    INVALID_LEVEL = 0xC000_0148 => EIO;
    PIPE_BROKEN = 0xC000_014B => EPIPE;
    LOGON_NOT_GRANTED = 0xC000_0155 => EIO;
    LOGON_TYPE_NOT_GRANTED = 0xC000_015B => EIO;
    ILLEGAL_CHARACTER = 0xC000_0161 => EIO;
    UNMAPPABLE_CHARACTER = 0xC000_0162 => EIO;
    NO_MEDIA = 0xC000_0178 => ENOMEDIUM;
    INVALID_DEVICE_STATE = 0xC000_0184 => EIO;
    IO_DEVICE_ERROR = 0xC000_0185 => EIO;
    DEVICE_PROTOCOL_ERROR = 0xC000_0186 => EPROTO;
    TRUSTED_DOMAIN_FAILURE = 0xC000_018C => EIO;
    TRUSTED_RELATIONSHIP_FAILURE = 0xC000_018D => EIO;
    TRUST_FAILURE = 0xC000_0190 => EIO;
    NETLOGON_NOT_STARTED = 0xC000_0192 => EIO;
    ACCOUNT_EXPIRED = 0xC000_0193 => EKEYEXPIRED;
    NETWORK_CREDENTIAL_CONFLICT = 0xC000_0195 => EIO;
    REMOTE_SESSION_LIMIT = 0xC000_0196 => EIO;
    NOLOGON_WORKSTATION_TRUST_ACCOUNT = 0xC000_0199 => EIO;
    FS_DRIVER_REQUIRED = 0xC000_019C => EOPNOTSUPP;
    NETWORK_OPEN_RESTRICTION = 0xC000_0201 => EIO;
    NO_USER_SESSION_KEY = 0xC000_0202 => EIO;
    USER_SESSION_DELETED = 0xC000_0203 => EIO;
    INSUFF_SERVER_RESOURCES = 0xC000_0205 => EIO;
    INVALID_BUFFER_SIZE = 0xC000_0206 => EIO;
    ADDRESS_ALREADY_EXISTS = 0xC000_020A => EADDRINUSE;
    CONNECTION_DISCONNECTED = 0xC000_020C => ECONNABORTED;
    CONNECTION_RESET = 0xC000_020D => ENETRESET;
    PASSWORD_MUST_CHANGE = 0xC000_0224 => EIO;
    NOT_FOUND = 0xC000_0225 => ENOENT;
    RETRY = 0xC000_022D => EAGAIN;
    DOMAIN_CONTROLLER_NOT_FOUND = 0xC000_0233 => EIO;
    ACCOUNT_LOCKED_OUT = 0xC000_0234 => EACCES;
    HANDLE_NOT_CLOSABLE = 0xC000_0235 => EIO;
    CONNECTION_REFUSED = 0xC000_0236 => ECONNREFUSED;
    GRACEFUL_DISCONNECT = 0xC000_0237 => EIO;
    ADDRESS_ALREADY_ASSOCIATED = 0xC000_0238 => EIO;
    ADDRESS_NOT_ASSOCIATED = 0xC000_0239 => EIO;
    CONNECTION_INVALID = 0xC000_023A => EIO;
    CONNECTION_ACTIVE = 0xC000_023B => EIO;
    NETWORK_UNREACHABLE = 0xC000_023C => ENETUNREACH;
    HOST_UNREACHABLE = 0xC000_023D => EHOSTUNREACH;
    PROTOCOL_UNREACHABLE = 0xC000_023E => ENOPROTOOPT;
    PORT_UNREACHABLE = 0xC000_023F => EHOSTUNREACH;
    REQUEST_ABORTED = 0xC000_0240 => EIO;
    CONNECTION_ABORTED = 0xC000_0241 => ECONNABORTED;
    BAD_COMPRESSION_BUFFER = 0xC000_0242 => EIO;
    USER_MAPPED_FILE = 0xC000_0243 => EIO;
    CONNECTION_COUNT_LIMIT = 0xC000_0246 => EIO;
    LOGIN_TIME_RESTRICTION = 0xC000_0247 => EACCES;
    LOGIN_WKSTA_RESTRICTION = 0xC000_0248 => EACCES;
    PATH_NOT_COVERED = 0xC000_0257 => ENOENT;
    LICENSE_QUOTA_EXCEEDED = 0xC000_0259 => EDQUOT;
    UNSUPPORTED_COMPRESSION = 0xC000_025F => EIO;
    TOO_MANY_LINKS = 0xC000_0265 => EMLINK;
    FILE_IS_OFFLINE = 0xC000_0267 => EIO;
    DFS_UNAVAILABLE = 0xC000_026D => EIO;
    VOLUME_DISMOUNTED = 0xC000_026E => EIO;
    NOT_A_REPARSE_POINT = 0xC000_0275 => ENODATA;
    IO_REPARSE_TAG_INVALID = 0xC000_0276 => EIO;
    IO_REPARSE_TAG_MISMATCH = 0xC000_0277 => EIO;
    IO_REPARSE_DATA_INVALID = 0xC000_0278 => EIO;
    IO_REPARSE_TAG_NOT_HANDLED = 0xC000_0279 => EOPNOTSUPP;
    DIRECTORY_IS_A_REPARSE_POINT = 0xC000_0281 => EIO;
    ENCRYPTION_FAILED = 0xC000_028A => EIO;
    DECRYPTION_FAILED = 0xC000_028B => EIO;
    FILE_ENCRYPTED = 0xC000_0293 => EIO;
    MUTUAL_AUTHENTICATION_FAILED = 0xC000_02C3 => EIO;
    OBJECTID_NOT_FOUND = 0xC000_02F0 => ENODATA;
    WRONG_CREDENTIAL_HANDLE = 0xC000_02F2 => EIO;
    SERVER_SHUTDOWN_IN_PROGRESS = 0xC000_02FF => EIO;
    HOST_DOWN = 0xC000_0350 => EIO;
    NETWORK_SESSION_EXPIRED = 0xC000_035C => EIO;
    DOWNGRADE_DETECTED = 0xC000_0388 => EIO;
    NTLM_BLOCKED = 0xC000_0418 => EIO;
    FILE_SYSTEM_LIMITATION = 0xC000_0427 => EIO;
    SERVER_UNAVAILABLE = 0xC000_0466 => EAGAIN;
    FILE_NOT_AVAILABLE = 0xC000_0467 => EAGAIN;
    // In neither errno table: the default.
    SHARE_UNAVAILABLE = 0xC000_0480 => EIO;
    DISK_QUOTA_EXCEEDED = 0xC000_0802 => EDQUOT;
    FILE_TOO_LARGE = 0xC000_0904 => EIO;
    VIRUS_INFECTED = 0xC000_0906 => EIO;
    VIRUS_DELETED = 0xC000_0907 => EIO;
    INVALID_SIGNATURE = 0xC000_A000 => EIO;
    // MS-SMB2 3.3.5.4 (negotiate contexts) and 3.3.5.7 (tree connect); in neither
    // errno table: the default.
    SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP = 0xC05D_0000 => EIO;
    SMB_BAD_CLUSTER_DIALECT = 0xC05D_0001 => EIO;
}

impl NtStatus {
    fn entry(self) -> Option<&'static (NtStatus, &'static str, Errno)> {
        TABLE.iter().find(|(status, _, _)| *status == self)
    }

    /// The MS-ERREF name ("STATUS_OBJECT_NAME_NOT_FOUND"), if this module knows the code.
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|(_, name, _)| *name)
    }

    /// Severity success or informational (top two bits `00` or `01`), MS-ERREF 2.3.
    pub fn is_success(self) -> bool {
        self.0 >> 30 <= 1
    }

    /// Severity warning (top two bits `10`), MS-ERREF 2.3.
    pub fn is_warning(self) -> bool {
        self.0 >> 30 == 2
    }

    /// Severity error (top two bits `11`), MS-ERREF 2.3.
    pub fn is_error(self) -> bool {
        self.0 >> 30 == 3
    }

    /// The errno libsmbclient / the Linux cifs client report for this status (see the
    /// module doc for the precedence). [`Errno::NONE`] for success and informational
    /// statuses, [`Errno::EIO`] for any other status not in the table.
    pub fn errno(self) -> Errno {
        match self.entry() {
            Some((_, _, errno)) => *errno,
            None if self.is_success() => Errno::NONE,
            None => Errno::EIO,
        }
    }

    /// The closest [`std::io::ErrorKind`], for drivers implementing `std::io` traits:
    /// [`Errno::io_error_kind`] of [`NtStatus::errno`], so the two agree.
    pub fn to_io_error_kind(self) -> std::io::ErrorKind {
        self.errno().io_error_kind()
    }
}

impl Errno {
    /// The closest [`std::io::ErrorKind`]. `EAGAIN` is deliberately `Other` rather than
    /// `WouldBlock`: a server asking us to retry later is not a non-blocking socket
    /// being empty, and `Interrupted` would make `read_exact` spin.
    pub fn io_error_kind(self) -> std::io::ErrorKind {
        use std::io::ErrorKind;
        match self {
            Errno::ENOENT | Errno::ENODEV => ErrorKind::NotFound,
            Errno::EACCES | Errno::EPERM | Errno::EKEYEXPIRED => ErrorKind::PermissionDenied,
            Errno::EROFS => ErrorKind::ReadOnlyFilesystem,
            Errno::EEXIST | Errno::ENOTUNIQ => ErrorKind::AlreadyExists,
            Errno::ENOTEMPTY => ErrorKind::DirectoryNotEmpty,
            Errno::ENOTDIR => ErrorKind::NotADirectory,
            Errno::EISDIR => ErrorKind::IsADirectory,
            Errno::ENOSPC | Errno::EDQUOT => ErrorKind::StorageFull,
            Errno::EFBIG => ErrorKind::FileTooLarge,
            Errno::EXDEV => ErrorKind::CrossesDevices,
            Errno::EBUSY | Errno::ETXTBSY => ErrorKind::ResourceBusy,
            Errno::EINVAL | Errno::ENAMETOOLONG => ErrorKind::InvalidInput,
            Errno::ENOSYS | Errno::EOPNOTSUPP => ErrorKind::Unsupported,
            Errno::ETIMEDOUT => ErrorKind::TimedOut,
            Errno::ECONNREFUSED => ErrorKind::ConnectionRefused,
            Errno::ECONNRESET | Errno::ENETRESET => ErrorKind::ConnectionReset,
            Errno::ECONNABORTED | Errno::ESHUTDOWN => ErrorKind::ConnectionAborted,
            Errno::ENOTCONN => ErrorKind::NotConnected,
            Errno::EPIPE => ErrorKind::BrokenPipe,
            Errno::EADDRINUSE => ErrorKind::AddrInUse,
            Errno::ENOMEM => ErrorKind::OutOfMemory,
            Errno::EPROTO => ErrorKind::InvalidData,
            _ => ErrorKind::Other,
        }
    }
}

impl From<u32> for NtStatus {
    fn from(value: u32) -> Self {
        NtStatus(value)
    }
}

impl From<NtStatus> for u32 {
    fn from(status: NtStatus) -> Self {
        status.0
    }
}

impl fmt::Display for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({:#010x})", self.0),
            None => write!(f, "NTSTATUS {:#010x}", self.0),
        }
    }
}

impl fmt::Debug for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::io::ErrorKind;

    #[test]
    fn known_triples_match_the_references() {
        // (value from MS-ERREF 2.3.1, name, errno from errmap_unix.c / smb2maperror.c)
        let cases: &[(u32, &str, i32)] = &[
            (0x0000_0000, "STATUS_SUCCESS", 0),
            (0x0000_0103, "STATUS_PENDING", 0),
            (0x8000_0005, "STATUS_BUFFER_OVERFLOW", 7),
            (0x8000_0006, "STATUS_NO_MORE_FILES", 61),
            (0xC000_000D, "STATUS_INVALID_PARAMETER", 22),
            (0xC000_0016, "STATUS_MORE_PROCESSING_REQUIRED", 5),
            (0xC000_0022, "STATUS_ACCESS_DENIED", 13),
            (0xC000_0034, "STATUS_OBJECT_NAME_NOT_FOUND", 2),
            (0xC000_0035, "STATUS_OBJECT_NAME_COLLISION", 17),
            (0xC000_0043, "STATUS_SHARING_VIOLATION", 16),
            (0xC000_006D, "STATUS_LOGON_FAILURE", 13),
            (0xC000_007F, "STATUS_DISK_FULL", 28),
            (0xC000_00BA, "STATUS_FILE_IS_A_DIRECTORY", 21),
            (0xC000_00BB, "STATUS_NOT_SUPPORTED", 38),
            (0xC000_00C9, "STATUS_NETWORK_NAME_DELETED", 78),
            (0xC000_00CC, "STATUS_BAD_NETWORK_NAME", 2),
            (0xC000_0101, "STATUS_DIRECTORY_NOT_EMPTY", 39),
            (0xC000_0103, "STATUS_NOT_A_DIRECTORY", 20),
            (0xC000_0120, "STATUS_CANCELLED", 125),
            (0xC000_0128, "STATUS_FILE_CLOSED", 9),
            (0xC000_0203, "STATUS_USER_SESSION_DELETED", 5),
            (0xC000_0257, "STATUS_PATH_NOT_COVERED", 2),
            (0xC000_035C, "STATUS_NETWORK_SESSION_EXPIRED", 5),
            (0xC000_A000, "STATUS_INVALID_SIGNATURE", 5),
            (
                0xC05D_0000,
                "STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP",
                5,
            ),
        ];
        for &(value, name, errno) in cases {
            let status = NtStatus::from(value);
            assert_eq!(status.name(), Some(name), "{value:#x}");
            assert_eq!(status.errno(), Errno(errno), "{name}");
        }
        assert_eq!(NtStatus::OBJECT_NAME_NOT_FOUND, NtStatus(0xC000_0034));
        assert_eq!(NtStatus::LOGON_FAILURE.errno(), Errno::EACCES);
    }

    #[test]
    fn table_is_well_formed() {
        assert!(TABLE.len() >= 120, "only {} statuses", TABLE.len());
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for (status, name, errno) in TABLE {
            assert!(name.starts_with("STATUS_"), "{name}");
            assert!(codes.insert(status.0), "duplicate code {status}");
            assert!(names.insert(*name), "duplicate name {name}");
            // Success never carries an errno and a failure always does.
            assert_eq!(*errno == Errno::NONE, status.is_success(), "{name}");
            assert_ne!(errno.name(), "EUNKNOWN", "{name}");
        }
    }

    #[test]
    fn severity_classification() {
        for (status, success, warning, error) in [
            (NtStatus::SUCCESS, true, false, false),
            (NtStatus::PENDING, true, false, false),
            (NtStatus::OBJECT_NAME_EXISTS, true, false, false),
            (NtStatus::BUFFER_OVERFLOW, false, true, false),
            (NtStatus::NO_MORE_FILES, false, true, false),
            (NtStatus::ACCESS_DENIED, false, false, true),
            (NtStatus(0x7FFF_FFFF), true, false, false),
            (NtStatus(0xBFFF_FFFF), false, true, false),
            (NtStatus(0xFFFF_FFFF), false, false, true),
        ] {
            assert_eq!(status.is_success(), success, "{status}");
            assert_eq!(status.is_warning(), warning, "{status}");
            assert_eq!(status.is_error(), error, "{status}");
        }
    }

    #[test]
    fn unknown_statuses() {
        let error = NtStatus(0xC0AB_CDEF);
        assert_eq!(error.name(), None);
        assert_eq!(error.errno(), Errno::EIO);
        assert_eq!(error.to_string(), "NTSTATUS 0xc0abcdef");
        assert_eq!(format!("{error:?}"), "NTSTATUS 0xc0abcdef");
        let info = NtStatus(0x4000_1234);
        assert_eq!(info.errno(), Errno::NONE);
    }

    #[test]
    fn display_and_debug() {
        let s = NtStatus::OBJECT_NAME_NOT_FOUND;
        assert_eq!(s.to_string(), "STATUS_OBJECT_NAME_NOT_FOUND (0xc0000034)");
        assert_eq!(
            format!("{s:?}"),
            "STATUS_OBJECT_NAME_NOT_FOUND (0xc0000034)"
        );
        assert_eq!(NtStatus::SUCCESS.to_string(), "STATUS_SUCCESS (0x00000000)");
        assert_eq!(u32::from(s), 0xC000_0034);
    }

    #[test]
    fn errno_names() {
        assert_eq!(Errno::ENOENT.name(), "ENOENT");
        assert_eq!(Errno(2).name(), "ENOENT");
        assert_eq!(Errno::ECANCELED, Errno(125));
        assert_eq!(Errno::NONE.name(), "NONE");
        assert_eq!(Errno(4095).name(), "EUNKNOWN");
        assert_eq!(Errno::EACCES.to_string(), "EACCES");
        let mut seen = HashSet::new();
        for (errno, name) in ERRNO_NAMES {
            assert!(seen.insert(errno.0), "duplicate errno {name}");
        }
    }

    #[test]
    fn io_error_kinds() {
        assert_eq!(
            NtStatus::OBJECT_NAME_NOT_FOUND.to_io_error_kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            NtStatus::OBJECT_PATH_NOT_FOUND.to_io_error_kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            NtStatus::ACCESS_DENIED.to_io_error_kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            NtStatus::MEDIA_WRITE_PROTECTED.to_io_error_kind(),
            ErrorKind::ReadOnlyFilesystem
        );
        assert_eq!(
            NtStatus::OBJECT_NAME_COLLISION.to_io_error_kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            NtStatus::INVALID_PARAMETER.to_io_error_kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            NtStatus::NOT_SUPPORTED.to_io_error_kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(NtStatus::IO_TIMEOUT.to_io_error_kind(), ErrorKind::TimedOut);
        assert_eq!(
            NtStatus::CONNECTION_RESET.to_io_error_kind(),
            ErrorKind::ConnectionReset
        );
        assert_eq!(
            NtStatus::PIPE_BROKEN.to_io_error_kind(),
            ErrorKind::BrokenPipe
        );
        assert_eq!(
            NtStatus::DISK_FULL.to_io_error_kind(),
            ErrorKind::StorageFull
        );
        assert_eq!(
            NtStatus::DIRECTORY_NOT_EMPTY.to_io_error_kind(),
            ErrorKind::DirectoryNotEmpty
        );
        assert_eq!(
            NtStatus::NOT_A_DIRECTORY.to_io_error_kind(),
            ErrorKind::NotADirectory
        );
        assert_eq!(
            NtStatus::FILE_IS_A_DIRECTORY.to_io_error_kind(),
            ErrorKind::IsADirectory
        );
        assert_eq!(NtStatus(0xC0AB_CDEF).to_io_error_kind(), ErrorKind::Other);
    }
}
