//! Authentication: NTLMv2 (MS-NLMP) wrapped in SPNEGO (RFC 4178).

pub mod ntlm;
pub mod spnego;
