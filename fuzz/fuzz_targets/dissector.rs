//! The `smb dissect` input path: arbitrary bytes as a pcap or pcapng capture go through
//! the capture reader, TCP reassembly, NetBIOS framing and the SMB2 dissector, with the
//! recorded captures' password so that signed and encrypted sessions are followed too.
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
});
