//! NTLM (in progress).
