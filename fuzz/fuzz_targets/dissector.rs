//! The `smb dissect` input path: arbitrary bytes as a pcap or pcapng capture go through
//! the capture reader, TCP reassembly, NetBIOS framing and the SMB2 dissector, with the
//! recorded captures' password so that signed and encrypted sessions are followed too,
//! then again with the SMB1 captures' ports and password (their MD5 signatures checked).
//! It never panics and ends in a summary or a typed capture error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smb_cli::dissect::{dissect, Options};
use smb_proto::auth::ntlm::Credentials;

fuzz_target!(|data: &[u8]| {
    let options = Options {
        credentials: Some(Credentials::password("WORKGROUP", "testuser", "Passw0rd!")),
        ports: vec![4455, 445, 139],
    };
    let mut records = 0usize;
    let _ = dissect(data, &options, |_| records += 1);
    // smb-proto/tests/data/captures/smb1/README.md: the SMB1 captures' ports and password.
    let smb1 = Options {
        credentials: Some(Credentials::password("", "", "Sm0ke-Test!pw")),
        ports: vec![34665, 45557, 43131, 43905],
    };
    let _ = dissect(data, &smb1, |_| records += 1);
});
