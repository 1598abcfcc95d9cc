//! Security descriptors and SIDs (MS-DTYP 2.4.2, 2.4.6): decoding never panics; what
//! decodes encodes to bytes that decode to the same descriptor, and a SID prints to the
//! text form that parses back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smb_proto::wire::security::{SecurityDescriptor, Sid};

fuzz_target!(|data: &[u8]| {
    if let Ok(sd) = SecurityDescriptor::decode(data) {
        if let Some(bytes) = sd.encode() {
            let again =
                SecurityDescriptor::decode(&bytes).expect("what decoded encodes and decodes");
            assert_eq!(format!("{sd:?}"), format!("{again:?}"));
        }
    }
    if let Ok(sid) = Sid::decode(data) {
        let mut out = Vec::new();
        sid.encode(&mut out);
        assert_eq!(out.len(), sid.encoded_len());
        assert_eq!(Sid::decode(&out).as_ref(), Ok(&sid));
        assert_eq!(sid.to_string().parse::<Sid>().as_ref(), Ok(&sid), "{sid}");
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(sid) = s.parse::<Sid>() {
            assert_eq!(sid.to_string().parse::<Sid>().as_ref(), Ok(&sid), "{s:?}");
        }
    }
});
