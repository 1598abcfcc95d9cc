//! Authentication: NTLMv2 (MS-NLMP) wrapped in SPNEGO (RFC 4178), and the Kerberos
//! pieces (RFC 4120) a Kerberos login will be built from.

pub mod kerberos;
pub mod ntlm;
pub mod raw_ntlmssp;
pub mod spnego;
