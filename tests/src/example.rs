//! The code under test of the README's "Record and replay" example, kept identical to
//! it: `record-session --example` records it against Samba into
//! `tests/tests/data/file_report.smbrec`, and `tests/tests/replay_example.rs` replays
//! that file with no server.

use smb_blocking::Connection;

/// What the example files.
pub const REPORT: &[u8] = b"revenue: 42\n";

/// Files a report and lists what its folder holds.
///
/// # Errors
///
/// The first call's error.
pub fn file_report(conn: &Connection, text: &[u8]) -> smb_blocking::Result<Vec<String>> {
    conn.create_directories("share", "reports/2026")?;
    conn.store_file("share", "reports/2026/q1.txt", &mut &text[..])?;
    let entries = conn.list_path("share", "reports/2026", "*")?;
    Ok(entries.into_iter().map(|e| e.name).collect())
}
