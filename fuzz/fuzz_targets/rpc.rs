//! DCE/RPC (C706, MS-RPCE) PDUs, NDR and SRVSVC: the first byte picks the decoder (0: a
//! PDU header, 1-4: BIND, BIND_ACK, REQUEST, FAULT, 5: the reply reassembly fed the
//! input in pieces, 6-7: NetrShareEnum's request and response stubs, 8-9: RAP
//! NetShareEnum and NetServerEnum answers). Decoding never
//! panics; where an encoder exists, what decoded encodes to bytes that decode to the
//! same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smb_proto::rpc::pdu::{Bind, BindAck, Fault, PduHeader, Request};
use smb_proto::rpc::rap;
use smb_proto::rpc::srvsvc::{NetrShareEnumRequest, NetrShareEnumResponse};
use smb_proto::rpc::Reassembly;

/// Decodes `buf` as `$t` and, when it decodes, checks `decode(encode(x)) == x`.
macro_rules! rt {
    ($t:ty, $buf:expr) => {
        if let Ok(x) = <$t>::decode($buf) {
            let y = <$t>::decode(&x.encode()).expect("what decoded encodes and decodes");
            assert_eq!(x, y);
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, buf)) = data.split_first() else {
        return;
    };
    match selector % 10 {
        0 => drop(PduHeader::decode(buf)),
        1 => rt!(Bind, buf),
        2 => rt!(BindAck, buf),
        3 => rt!(Request, buf),
        4 => rt!(Fault, buf),
        5 => {
            // The call id of the input's own header, so that matching goes deeper; a
            // 0xff byte splits the input into the reads that deliver it.
            let call_id = buf
                .get(12..16)
                .map_or(1, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            for mut r in [
                Reassembly::bind_ack(call_id),
                Reassembly::response(call_id, 1 << 16),
            ] {
                for piece in buf.split(|b| *b == 0xfe) {
                    if !matches!(r.push(piece), Ok(None)) {
                        break;
                    }
                }
            }
        }
        6 => rt!(NetrShareEnumRequest, buf),
        7 => rt!(NetrShareEnumResponse, buf),
        // RAP answers: Parameters and Data split at the first 0xfe.
        _ => {
            let mut parts = buf.splitn(2, |b| *b == 0xfe);
            let (params, data) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            if selector % 2 == 0 {
                drop(rap::decode_share_enum(params, data));
            } else {
                drop(rap::decode_server_enum(params, data));
            }
        }
    }
});
