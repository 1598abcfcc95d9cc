//! MS-SMB2 wire codec (in progress).
