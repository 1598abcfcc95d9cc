//! Every SMB2 message decoder: the first byte picks one (0: the header and the compound
//! splitter on the rest; 1 + 2 × command + 1 for a response: that command's request or
//! response body, after a zero header; 39: an ERROR response). Decoding never panics
//! and ends in a value or a typed error; what decodes and has an encoder encodes to
//! bytes that decode to the same value. Bodies that carry other structures (IOCTL
//! output, QUERY_INFO and QUERY_DIRECTORY buffers, error contexts) are fed to their
//! decoders too.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use smb_proto::wire::*;

/// Decodes `msg` as `$t`; with `rt`, also checks that encoding what decoded decodes
/// back to the same value (compared by `Debug`, which every type has).
macro_rules! check {
    ($t:ty, $msg:expr) => {
        <$t>::decode($msg).ok()
    };
    ($t:ty, $msg:expr, rt) => {{
        let x = <$t>::decode($msg).ok();
        if let Some(x) = &x {
            let mut out = $msg[..HEADER_LEN].to_vec();
            x.encode(&mut out);
            let y = <$t>::decode(&Bytes::from(out)).expect("what decoded encodes and decodes");
            assert_eq!(format!("{x:?}"), format!("{y:?}"));
        }
        x
    }};
}

/// The decoders of what a body carries.
fn payloads(buf: &[u8]) {
    use smb_proto::wire::{dfs, error, fscc, ioctl, notify, security};
    let _ = ioctl::ValidateNegotiateInfoRequest::decode(buf);
    let _ = ioctl::ValidateNegotiateInfoResponse::decode(buf);
    let _ = ioctl::SrvSnapshotArray::decode(buf);
    let _ = ioctl::SrvRequestResumeKey::decode(buf);
    let _ = ioctl::SrvCopychunkCopy::decode(buf);
    let _ = ioctl::SrvCopychunkResponse::decode(buf);
    let _ = dfs::DfsReferralResponse::decode(buf);
    let _ = error::SymlinkError::decode(buf);
    let _ = fscc::FileIdBothDirectoryInformation::parse_all(buf);
    let _ = fscc::FileAllInformation::decode(buf);
    let _ = notify::FileNotifyInformation::parse_all(buf);
    let _ = security::SecurityDescriptor::decode(buf);
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 40 == 0 {
        if let Ok(h) = Header::decode(rest) {
            let mut out = Vec::new();
            h.encode(&mut out);
            assert_eq!(Header::decode(&out), Ok(h));
        }
        let _ = compound_messages(Bytes::copy_from_slice(rest)).count();
        return;
    }
    let mut msg = vec![0u8; HEADER_LEN];
    msg.extend_from_slice(rest);
    let msg = &Bytes::from(msg);
    let sel = selector % 40 - 1;
    let (command, response) = (sel / 2, sel % 2 == 1);
    use smb_proto::wire::{
        close, create, error, ioctl, lock, negotiate, notify, oplock_break, query_directory,
        query_info, read, session_setup, set_info, simple, tree_connect, write,
    };
    match (command, response) {
        (0, false) => drop(check!(negotiate::NegotiateRequest, msg, rt)),
        (0, true) => drop(check!(negotiate::NegotiateResponse, msg, rt)),
        (1, false) => drop(check!(session_setup::SessionSetupRequest, msg, rt)),
        (1, true) => drop(check!(session_setup::SessionSetupResponse, msg, rt)),
        (2, false) => drop(check!(simple::LogoffRequest, msg, rt)),
        (2, true) => drop(check!(simple::LogoffResponse, msg, rt)),
        (3, false) => drop(check!(tree_connect::TreeConnectRequest, msg, rt)),
        (3, true) => drop(check!(tree_connect::TreeConnectResponse, msg, rt)),
        (4, false) => drop(check!(simple::TreeDisconnectRequest, msg, rt)),
        (4, true) => drop(check!(simple::TreeDisconnectResponse, msg, rt)),
        (5, false) => drop(check!(create::CreateRequest, msg, rt)),
        (5, true) => drop(check!(create::CreateResponse, msg, rt)),
        (6, false) => drop(check!(close::CloseRequest, msg, rt)),
        (6, true) => drop(check!(close::CloseResponse, msg, rt)),
        (7, false) => drop(check!(simple::FlushRequest, msg, rt)),
        (7, true) => drop(check!(simple::FlushResponse, msg, rt)),
        (8, false) => drop(check!(read::ReadRequest, msg, rt)),
        (8, true) => drop(check!(read::ReadResponse, msg, rt)),
        (9, false) => drop(check!(write::WriteRequest, msg, rt)),
        (9, true) => drop(check!(write::WriteResponse, msg, rt)),
        (10, false) => drop(check!(lock::LockRequest, msg, rt)),
        (10, true) => drop(check!(lock::LockResponse, msg)),
        (11, false) => {
            if let Some(r) = check!(ioctl::IoctlRequest, msg, rt) {
                payloads(&r.input);
            }
        }
        (11, true) => {
            if let Some(r) = check!(ioctl::IoctlResponse, msg, rt) {
                payloads(&r.output);
            }
        }
        (12, _) => drop(check!(simple::CancelRequest, msg, rt)),
        (13, false) => drop(check!(simple::EchoRequest, msg, rt)),
        (13, true) => drop(check!(simple::EchoResponse, msg, rt)),
        (14, false) => drop(check!(query_directory::QueryDirectoryRequest, msg, rt)),
        (14, true) => {
            if let Some(r) = check!(query_directory::QueryDirectoryResponse, msg, rt) {
                payloads(&r.buffer);
            }
        }
        (15, false) => drop(check!(notify::ChangeNotifyRequest, msg, rt)),
        (15, true) => drop(check!(notify::ChangeNotifyResponse, msg, rt)),
        (16, false) => drop(check!(query_info::QueryInfoRequest, msg, rt)),
        (16, true) => {
            if let Some(r) = check!(query_info::QueryInfoResponse, msg, rt) {
                payloads(&r.buffer);
            }
        }
        (17, false) => drop(check!(set_info::SetInfoRequest, msg, rt)),
        (17, true) => drop(check!(set_info::SetInfoResponse, msg)),
        (18, false) => drop(check!(oplock_break::BreakResponse, msg)),
        (18, true) => drop(check!(oplock_break::BreakNotification, msg)),
        _ => {
            if let Some(e) = check!(error::ErrorResponse, msg, rt) {
                payloads(&e.error_data);
            }
        }
    }
});
