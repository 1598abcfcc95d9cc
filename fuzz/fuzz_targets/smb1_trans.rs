//! SMB1 transactions: a reply in several messages fed to the connection's reassembly
//! (`TransAssembly`), and the TRANSACTION2 answers decoded from what it hands on. The
//! first four bytes are the request's MaxParameterCount and MaxDataCount; the rest is
//! messages, each a 2-byte length then that many bytes after a fixed SMB1 reply header.
//! Never a panic; what completes decodes as a whole response within the request's
//! bounds, and its parts feed the FIND / QUERY_PATH_INFORMATION decoders.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use smb_proto::wire::fscc::FileBothDirectoryInformation;
use smb_proto::wire::smb1::trans::{TransAssembly, TransFragment, TransResponse};
use smb_proto::wire::smb1::trans2::{FindResponse, QueryFileAllInfo};
use smb_proto::wire::smb1::Smb1Header;

fuzz_target!(|data: &[u8]| {
    let Some((max, mut rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let max_params = u16::from_le_bytes([max[0], max[1]]);
    let max_data = u16::from_le_bytes([max[2], max[3]]);
    let mut header = Vec::new();
    Smb1Header {
        command: 0x32,
        flags: 0x80,
        ..Default::default()
    }
    .encode(&mut header);
    let mut assembly = TransAssembly::new(max_params, max_data);
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_le_bytes(*len)).min(tail.len());
        let (body, tail) = tail.split_at(len);
        rest = tail;
        let mut msg = header.clone();
        msg.extend_from_slice(body);
        let msg = Bytes::from(msg);
        let _ = TransFragment::decode(&msg);
        match assembly.push(&msg) {
            Err(_) => return,
            Ok(None) => {}
            Ok(Some(whole)) => {
                let r = TransResponse::decode(&whole).expect("a reassembled answer decodes");
                assert!(r.params.len() <= usize::from(max_params));
                assert!(r.data.len() <= usize::from(max_data));
                let _ = FindResponse::decode(true, &r.params, &r.data);
                let _ = FindResponse::decode(false, &r.params, &r.data);
                let _ = QueryFileAllInfo::decode(&r.data);
                let _ = FileBothDirectoryInformation::parse_all(&r.data);
                return;
            }
        }
    }
});
