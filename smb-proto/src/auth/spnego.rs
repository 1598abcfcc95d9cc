//! SPNEGO (in progress).
