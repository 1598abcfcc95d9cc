//! Why a Kerberos exchange failed, in the terms a user can act on (issue #17): the KDC
//! could not be reached, the principal is unknown, the password is wrong, the clocks
//! differ, no encryption type is shared, the account cannot log in.
//!
//! The KRB-ERROR codes behind them are RFC 4120 section 7.5.9's. No variant holds a
//! password, a key or a ticket.

use std::fmt;

use super::crypto::Enctype;
use super::kdc::{KdcIoError, KdcTransport};
use crate::ntstatus::Errno;
use crate::ErrorKind;

/// KRB-ERROR codes this client tells apart (RFC 4120 section 7.5.9).
pub mod code {
    /// KDC_ERR_C_PRINCIPAL_UNKNOWN: no such client.
    pub const C_PRINCIPAL_UNKNOWN: i32 = 6;
    /// KDC_ERR_S_PRINCIPAL_UNKNOWN: no such service.
    pub const S_PRINCIPAL_UNKNOWN: i32 = 7;
    /// KDC_ERR_POLICY: refused by policy (e.g. logon hours).
    pub const POLICY: i32 = 12;
    /// KDC_ERR_ETYPE_NOSUPP: no encryption type in common.
    pub const ETYPE_NOSUPP: i32 = 14;
    /// KDC_ERR_CLIENT_REVOKED: the account is disabled or locked out.
    pub const CLIENT_REVOKED: i32 = 18;
    /// KDC_ERR_KEY_EXPIRED: the password has expired.
    pub const KEY_EXPIRED: i32 = 23;
    /// KDC_ERR_PREAUTH_FAILED: the encrypted timestamp did not decrypt (wrong password).
    pub const PREAUTH_FAILED: i32 = 24;
    /// KDC_ERR_PREAUTH_REQUIRED: send pre-authentication (answered with ETYPE-INFO2).
    pub const PREAUTH_REQUIRED: i32 = 25;
    /// KRB_AP_ERR_BAD_INTEGRITY: a checksum or decryption failed (wrong key).
    pub const BAD_INTEGRITY: i32 = 31;
    /// KRB_AP_ERR_SKEW: the clocks differ by more than the KDC allows.
    pub const SKEW: i32 = 37;
    /// KDC_ERR_MUST_USE_USER2USER: the service has no key of its own (a user, not a
    /// server).
    pub const MUST_USE_USER2USER: i32 = 27;
    /// KRB_ERR_RESPONSE_TOO_BIG: the reply does not fit a UDP datagram; ask over TCP.
    pub const RESPONSE_TOO_BIG: i32 = 52;

    /// The RFC's name of `code`, or "" for one this client has no name for.
    pub fn name(code: i32) -> &'static str {
        match code {
            C_PRINCIPAL_UNKNOWN => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
            S_PRINCIPAL_UNKNOWN => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
            MUST_USE_USER2USER => "KDC_ERR_MUST_USE_USER2USER",
            POLICY => "KDC_ERR_POLICY",
            ETYPE_NOSUPP => "KDC_ERR_ETYPE_NOSUPP",
            CLIENT_REVOKED => "KDC_ERR_CLIENT_REVOKED",
            KEY_EXPIRED => "KDC_ERR_KEY_EXPIRED",
            PREAUTH_FAILED => "KDC_ERR_PREAUTH_FAILED",
            PREAUTH_REQUIRED => "KDC_ERR_PREAUTH_REQUIRED",
            BAD_INTEGRITY => "KRB_AP_ERR_BAD_INTEGRITY",
            SKEW => "KRB_AP_ERR_SKEW",
            RESPONSE_TOO_BIG => "KRB_ERR_RESPONSE_TOO_BIG",
            _ => "",
        }
    }
}

/// The clock difference Kerberos tolerates by default (Active Directory's and MIT's
/// `clockskew`): five minutes.
pub const DEFAULT_SKEW_LIMIT_SECS: u64 = 300;

/// One transport attempt that got no usable answer, for
/// [`KerberosError::KdcUnreachable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAttempt {
    /// The KDC as `host:port`.
    pub kdc: String,
    /// TCP or UDP.
    pub transport: KdcTransport,
    /// What went wrong.
    pub error: KdcIoError,
}

impl fmt::Display for FailedAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.transport, self.kdc, self.error)
    }
}

/// Why a Kerberos exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KerberosError {
    /// Every KDC and transport tried failed below Kerberos: the name did not resolve, the
    /// connection was refused, nothing answered in time.
    #[error("no KDC of realm {realm} answered: {}", list(tried))]
    KdcUnreachable {
        /// The realm.
        realm: String,
        /// Each attempt, in order, and how it failed.
        tried: Vec<FailedAttempt>,
    },
    /// The KDC does not know the client (KDC_ERR_C_PRINCIPAL_UNKNOWN).
    #[error("the KDC does not know {principal} (KDC_ERR_C_PRINCIPAL_UNKNOWN)")]
    UnknownPrincipal {
        /// The principal asked for, `name@REALM`.
        principal: String,
    },
    /// The password or key is not the principal's: the KDC refused the encrypted
    /// timestamp (KDC_ERR_PREAUTH_FAILED, KRB_AP_ERR_BAD_INTEGRITY), or its reply did not
    /// decrypt.
    #[error("wrong password or key for {principal}: {why}")]
    WrongPassword {
        /// The principal, `name@REALM`.
        principal: String,
        /// How it showed.
        why: String,
    },
    /// This machine's clock and the KDC's differ by more than the KDC allows
    /// (KRB_AP_ERR_SKEW); measured from the KDC's time in its error.
    #[error("{}", skew_message(*kdc_ahead_ms))]
    ClockSkew {
        /// The KDC's time minus this client's (with its configured offset), in
        /// milliseconds: positive when the KDC's clock is ahead.
        kdc_ahead_ms: i64,
    },
    /// No encryption type both the KDC (for this principal) and this client accept
    /// (KDC_ERR_ETYPE_NOSUPP, or an ETYPE-INFO2 offering none of ours, or a keytab with
    /// none of the keys the KDC offers).
    #[error(
        "no encryption type in common with the KDC for {principal}: it offers {offered:?}, \
         this client allows {}",
        allowed.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoCommonEtype {
        /// The principal.
        principal: String,
        /// The etype numbers the KDC offered (empty when it named none).
        offered: Vec<i32>,
        /// What this client allowed (and, with a keytab, had keys for).
        allowed: Vec<Enctype>,
    },
    /// The account exists but may not log in now: disabled or locked out
    /// (KDC_ERR_CLIENT_REVOKED), password expired (KDC_ERR_KEY_EXPIRED), or refused by
    /// policy (KDC_ERR_POLICY).
    #[error("the account {principal} cannot log in: {} ({})", unusable_reason(*code), code::name(*code))]
    AccountUnusable {
        /// The principal.
        principal: String,
        /// The KRB-ERROR code.
        code: i32,
    },
    /// The KDC has no service of that name (KDC_ERR_S_PRINCIPAL_UNKNOWN, or
    /// KDC_ERR_MUST_USE_USER2USER for a name that is a user's): typically the server was
    /// named by an alias (a CNAME) or a name the domain does not know.
    #[error(
        "the KDC has no service ticket for {spn} ({}): name the server by its host name \
         in the domain",
        code::name(*code)
    )]
    NoServiceTicket {
        /// The service principal asked for, `cifs/host@REALM`.
        spn: String,
        /// The KRB-ERROR code.
        code: i32,
    },
    /// The server was named by an IP address: Kerberos tickets name services by host name.
    #[error(
        "cannot use Kerberos with the server named by its IP address {ip}: Kerberos names \
         servers by host name: connect to the DNS name, or set server_name"
    )]
    HostIsAnIp {
        /// The address given as the server's name.
        ip: String,
    },
    /// The server's NEGOTIATE response lists the SPNEGO mechanisms it takes, and
    /// Kerberos is not among them.
    #[error("the server does not offer Kerberos (its SPNEGO mechanisms lack krb5)")]
    NotOffered,
    /// Another KRB-ERROR.
    #[error(
        "the KDC refused {principal}: error {code}{}{}",
        named(*code),
        text.as_deref().map_or(String::new(), |t| format!(": {t:?}"))
    )]
    KdcError {
        /// The principal.
        principal: String,
        /// The KRB-ERROR code.
        code: i32,
        /// The KDC's e-text, if any (at most 200 characters of it).
        text: Option<String>,
    },
    /// A reply that is not a Kerberos message, not the one asked for, or does not answer
    /// this request (another nonce, realm or service).
    #[error("bad reply from the KDC at {kdc}: {detail}")]
    BadReply {
        /// The KDC that sent it, `host:port`.
        kdc: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The credentials given cannot be used: an empty name or realm, a keytab without a
    /// key for the principal, a clock before 1970.
    #[error("Kerberos credentials: {0}")]
    Credentials(String),
    /// `KRB5CCNAME` names a kind of credential cache this client cannot read: only file
    /// caches (`FILE:/path`, or a bare path) are, not `KEYRING:`, `KCM:`, `DIR:`, ….
    #[error(
        "the credential cache type {kind}: is not supported, only FILE: caches: run \
         kinit with KRB5CCNAME=FILE:/path, or give the cache file"
    )]
    UnsupportedCcache {
        /// The type, as `KRB5CCNAME` spells it before the colon (`KEYRING`, `KCM`, …).
        kind: String,
    },
    /// The credential cache's ticket has expired: run `kinit` again.
    #[error(
        "the ticket for {server} in the credential cache expired at {} (run kinit again)",
        utc(*endtime)
    )]
    TicketExpired {
        /// The ticket's service, `krbtgt/REALM@REALM` or `cifs/host@REALM`.
        server: String,
        /// When it expired, in seconds since 1970.
        endtime: u64,
    },
    /// A login from a credential cache on a recording connection: the cache's tickets
    /// are no KDC reply, so its replay could not log in.
    #[error(
        "a login from a credential cache cannot be recorded (its tickets are no KDC reply \
         a replay could use): record with a password or a keytab, without the cache"
    )]
    CcacheNotRecordable,
}

/// `2026-12-07 17:15:53 UTC`.
fn utc(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    let (year, month, day) = crate::wire::fscc::civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

fn list(tried: &[FailedAttempt]) -> String {
    if tried.is_empty() {
        return "no KDC to try".to_string();
    }
    tried
        .iter()
        .map(FailedAttempt::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn named(code: i32) -> String {
    match code::name(code) {
        "" => String::new(),
        name => format!(" ({name})"),
    }
}

fn unusable_reason(code: i32) -> &'static str {
    match code {
        code::CLIENT_REVOKED => "disabled or locked out",
        code::KEY_EXPIRED => "the password has expired",
        _ => "refused by policy",
    }
}

/// "this machine's clock is 15 min 2 s ahead of the KDC's (Kerberos allows 5 min)".
fn skew_message(kdc_ahead_ms: i64) -> String {
    let secs = (kdc_ahead_ms.unsigned_abs() + 500) / 1000;
    let amount = match (secs / 60, secs % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    };
    let side = if kdc_ahead_ms < 0 {
        "ahead of"
    } else {
        "behind"
    };
    format!(
        "this machine's clock is {amount} {side} the KDC's (Kerberos allows {} min by \
         default; KRB_AP_ERR_SKEW)",
        DEFAULT_SKEW_LIMIT_SECS / 60
    )
}

impl KerberosError {
    /// Whether NTLM may still log in where Kerberos failed this way: the KDC unreachable,
    /// no service ticket for the name (or a server named by its address), no common
    /// encryption type, or a server that does not offer Kerberos. Never after a refusal
    /// that names the user's own problem (a wrong password, a clock skew, a locked
    /// account): NTLM would only add failed attempts.
    pub fn ntlm_may_follow(&self) -> bool {
        matches!(
            self,
            KerberosError::KdcUnreachable { .. }
                | KerberosError::NoServiceTicket { .. }
                | KerberosError::HostIsAnIp { .. }
                | KerberosError::NoCommonEtype { .. }
                | KerberosError::NotOffered
        )
    }

    /// The errno that best describes it: ETIMEDOUT when every KDC attempt timed out,
    /// EHOSTUNREACH for another unreachable KDC, EPROTO for a bad reply, EINVAL for
    /// unusable credentials, an unsupported credential cache or a server named by its
    /// address, EKEYEXPIRED for an expired password or cached ticket, EACCES for the rest
    /// (the login was refused).
    pub fn errno(&self) -> Errno {
        match self {
            KerberosError::KdcUnreachable { tried, .. } => {
                let timed_out = |a: &FailedAttempt| a.error == KdcIoError::TimedOut;
                if !tried.is_empty() && tried.iter().all(timed_out) {
                    Errno::ETIMEDOUT
                } else {
                    Errno::EHOSTUNREACH
                }
            }
            KerberosError::AccountUnusable {
                code: code::KEY_EXPIRED,
                ..
            } => Errno::EKEYEXPIRED,
            KerberosError::BadReply { .. } => Errno::EPROTO,
            KerberosError::Credentials(_)
            | KerberosError::HostIsAnIp { .. }
            | KerberosError::UnsupportedCcache { .. }
            | KerberosError::CcacheNotRecordable => Errno::EINVAL,
            KerberosError::TicketExpired { .. } => Errno::EKEYEXPIRED,
            _ => Errno::EACCES,
        }
    }

    /// What kind of failure it is: [`ErrorKind::TimedOut`] or [`ErrorKind::Disconnected`]
    /// for an unreachable KDC (as a server that cannot be reached),
    /// [`ErrorKind::ProtocolViolation`] for a bad reply, [`ErrorKind::InvalidArgument`] for
    /// unusable credentials and a server named by its address,
    /// [`ErrorKind::AuthenticationFailed`] for the rest.
    pub fn kind(&self) -> ErrorKind {
        match self {
            KerberosError::KdcUnreachable { .. } => match self.errno() {
                Errno::ETIMEDOUT => ErrorKind::TimedOut,
                _ => ErrorKind::Disconnected,
            },
            KerberosError::BadReply { .. } => ErrorKind::ProtocolViolation,
            KerberosError::Credentials(_)
            | KerberosError::HostIsAnIp { .. }
            | KerberosError::UnsupportedCcache { .. }
            | KerberosError::CcacheNotRecordable => ErrorKind::InvalidArgument,
            _ => ErrorKind::AuthenticationFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(error: KdcIoError) -> FailedAttempt {
        FailedAttempt {
            kdc: "127.0.0.9:88".into(),
            transport: KdcTransport::Tcp,
            error,
        }
    }

    #[test]
    fn each_failure_has_its_kind_and_errno() {
        let unreachable = |errors: Vec<KdcIoError>| KerberosError::KdcUnreachable {
            realm: "R".into(),
            tried: errors.into_iter().map(attempt).collect(),
        };
        let timed_out = unreachable(vec![KdcIoError::TimedOut, KdcIoError::TimedOut]);
        assert_eq!(
            (timed_out.kind(), timed_out.errno()),
            (ErrorKind::TimedOut, Errno::ETIMEDOUT)
        );
        let mixed = unreachable(vec![KdcIoError::TimedOut, KdcIoError::Refused]);
        assert_eq!(
            (mixed.kind(), mixed.errno()),
            (ErrorKind::Disconnected, Errno::EHOSTUNREACH)
        );
        assert_eq!(unreachable(vec![]).errno(), Errno::EHOSTUNREACH);
        let refused = [
            KerberosError::UnknownPrincipal {
                principal: "x@R".into(),
            },
            KerberosError::WrongPassword {
                principal: "x@R".into(),
                why: "".into(),
            },
            KerberosError::ClockSkew { kdc_ahead_ms: 1 },
            KerberosError::NoCommonEtype {
                principal: "x@R".into(),
                offered: vec![],
                allowed: vec![],
            },
            KerberosError::AccountUnusable {
                principal: "x@R".into(),
                code: code::CLIENT_REVOKED,
            },
        ];
        for e in refused {
            assert_eq!(
                (e.kind(), e.errno()),
                (ErrorKind::AuthenticationFailed, Errno::EACCES),
                "{e}"
            );
        }
        let expired = KerberosError::AccountUnusable {
            principal: "x@R".into(),
            code: code::KEY_EXPIRED,
        };
        assert_eq!(expired.errno(), Errno::EKEYEXPIRED);
        assert_eq!(expired.kind(), ErrorKind::AuthenticationFailed);
        let bad = KerberosError::BadReply {
            kdc: "k:88".into(),
            detail: "garbage".into(),
        };
        assert_eq!(
            (bad.kind(), bad.errno()),
            (ErrorKind::ProtocolViolation, Errno::EPROTO)
        );
        let creds = KerberosError::Credentials("empty realm".into());
        assert_eq!(creds.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = KerberosError::ClockSkew {
            kdc_ahead_ms: -902_400,
        };
        assert_eq!(
            e.to_string(),
            "this machine's clock is 15 min 2 s ahead of the KDC's (Kerberos allows 5 min by \
             default; KRB_AP_ERR_SKEW)"
        );
        let e = KerberosError::ClockSkew {
            kdc_ahead_ms: 600_000,
        };
        assert!(e.to_string().contains("10 min behind"), "{e}");
        let e = KerberosError::KdcUnreachable {
            realm: "SMBTEST.TEST".into(),
            tried: vec![
                attempt(KdcIoError::Refused),
                FailedAttempt {
                    kdc: "127.0.0.9:88".into(),
                    transport: KdcTransport::Udp,
                    error: KdcIoError::TimedOut,
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "no KDC of realm SMBTEST.TEST answered: tcp 127.0.0.9:88: connection refused; \
             udp 127.0.0.9:88: no answer in time"
        );
        let e = KerberosError::KdcError {
            principal: "a@R".into(),
            code: 60,
            text: Some("generic".into()),
        };
        assert_eq!(e.to_string(), "the KDC refused a@R: error 60: \"generic\"");
        let e = KerberosError::AccountUnusable {
            principal: "a@R".into(),
            code: code::CLIENT_REVOKED,
        };
        assert_eq!(
            e.to_string(),
            "the account a@R cannot log in: disabled or locked out (KDC_ERR_CLIENT_REVOKED)"
        );
    }
}
