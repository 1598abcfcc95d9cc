//! Helpers for the vector tests: hex decoding and reading fields of SMB2 messages.
//!
//! Recorded captures are dissected by `smb dissect` (smb-cli's `dissect` module and
//! `smb-cli/tests/dissect.rs`), which does the TCP reassembly, framing and key recovery.
//!
//! Test code: a malformed vector is a broken fixture, so failures panic with context.

/// Decodes a hex string (case-insensitive, whitespace ignored).
pub fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    assert!(s.len().is_multiple_of(2), "odd-length hex");
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).expect("hex digit"))
        .collect()
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

pub fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

const NEGOTIATE: u16 = 0;
const SESSION_SETUP: u16 = 1;

/// The security buffer of a NEGOTIATE response or SESSION_SETUP request/response: its
/// (offset, length) fields sit at body offsets 56 (NEGOTIATE response, 2.2.4), 12
/// (SESSION_SETUP request, 2.2.5) or 4 (SESSION_SETUP response, 2.2.6); offsets count
/// from the start of the SMB2 header.
pub fn security_buffer(msg: &[u8]) -> &[u8] {
    let is_response = le32(msg, 16) & 1 != 0;
    let at = 64
        + match (le16(msg, 12), is_response) {
            (NEGOTIATE, true) => 56,
            (SESSION_SETUP, false) => 12,
            (SESSION_SETUP, true) => 4,
            other => panic!("no security buffer in {other:?}"),
        };
    let offset = usize::from(le16(msg, at));
    let len = usize::from(le16(msg, at + 2));
    &msg[offset..offset + len]
}
