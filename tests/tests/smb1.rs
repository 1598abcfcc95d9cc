//! SMB1 (NT LM 0.12, issue #16) against a private smbd that speaks only SMB1
//! (`server min/max protocol = NT1`): the refusal when SMB1 is off.

use smb_blocking::{Connection, ErrorKind};
use smb_proto::{CloseReason, Error, NegotiateFailure};
use smb_tests::{SambaServer, Share};

fn nt1_only() -> SambaServer {
    SambaServer::builder()
        .share(Share::new("share"))
        .smb1_only()
        .start()
}

#[test]
fn smb1_off_against_an_smb1_only_server_fails_naming_the_option() {
    let srv = nt1_only();
    let err = Connection::connect(&srv.connect_options())
        .expect_err("an SMB2 NEGOTIATE to an SMB1-only server cannot succeed");
    let smb_blocking::Error::Smb(Error::Closed(CloseReason::Negotiate(
        NegotiateFailure::ClosedDuringNegotiate { smb1_enabled, .. },
    ))) = &err
    else {
        panic!("expected ClosedDuringNegotiate, got {err:?}");
    };
    assert!(!smb1_enabled);
    let text = err.to_string();
    for part in ["SMB2 NEGOTIATE", "--smb1", "ConnectOptions::smb1", "unsafe"] {
        assert!(text.contains(part), "{part:?} missing in: {text}");
    }
    assert_eq!(err.kind(), ErrorKind::ProtocolViolation);
}
