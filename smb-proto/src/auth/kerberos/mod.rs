//! Kerberos V5 (RFC 4120) for SMB logins to Active Directory (issue #17): the building
//! blocks so far.
//!
//! * [`crypto`]: the encryption types AD uses — AES256/AES128-CTS-HMAC-SHA1-96 (RFC 3962)
//!   and RC4-HMAC (RFC 4757) — with string-to-key, encryption by key usage and keyed
//!   checksums. The caller supplies every random byte (confounders), so a session driven
//!   by the core's seeded generator replays.
//! * [`keytab`]: the keytab file format (version 2), the long-term keys of a principal.
//! * [`asn1`]: the messages (AS, TGS and AP exchanges, KRB-ERROR and the structures they
//!   carry) in DER, checked against a real exchange between MIT's tools and Samba's KDC.
//! * [`gss`]: the GSS-API tokens of a login (AP-REQ with the GSS checksum, AP-REP and
//!   mutual authentication) and which key becomes the SMB session key, checked against a
//!   real smbclient login to Samba.
//!
//! Nothing here is wired into a login yet; the AS/TGS exchanges, the GSS-API token and
//! the SPNEGO mechanism build on these.

pub mod asn1;
pub mod crypto;
pub mod gss;
pub mod keytab;
