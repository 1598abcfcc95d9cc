//! NTSTATUS (in progress).
