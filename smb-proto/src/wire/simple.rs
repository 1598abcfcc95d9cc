//! The trivial bodies: LOGOFF (MS-SMB2 2.2.7 / 2.2.8), TREE_DISCONNECT (2.2.11 / 2.2.12),
//! ECHO (2.2.28 / 2.2.29), CANCEL (2.2.30) and FLUSH (2.2.17 / 2.2.18). All but the
//! FLUSH request are a StructureSize of 4 and two reserved bytes.

use bytes::Bytes;

use super::codec::{DecodeError, Reader};
use super::create::FileId;
use super::header::HEADER_LEN;

/// StructureSize of every empty body.
const EMPTY_STRUCTURE_SIZE: u16 = 4;

fn encode_empty(out: &mut Vec<u8>) {
    out.extend_from_slice(&EMPTY_STRUCTURE_SIZE.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
}

fn decode_empty(msg: &Bytes, what: &'static str) -> Result<(), DecodeError> {
    Reader::at(msg, HEADER_LEN, what)?.structure_size(EMPTY_STRUCTURE_SIZE, what)
}

macro_rules! empty_body {
    ($(#[$doc:meta] $name:ident, $what:literal;)*) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl $name {
            /// Appends the body after an already-written header.
            pub fn encode(&self, out: &mut Vec<u8>) {
                encode_empty(out);
            }

            /// Checks the body; `msg` starts at the header.
            pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
                decode_empty(msg, $what).map(|()| $name)
            }
        }
    )*};
}

empty_body! {
    /// SMB2 LOGOFF Request, MS-SMB2 2.2.7.
    LogoffRequest, "logoff request structure size";
    /// SMB2 LOGOFF Response, MS-SMB2 2.2.8.
    LogoffResponse, "logoff response structure size";
    /// SMB2 TREE_DISCONNECT Request, MS-SMB2 2.2.11.
    TreeDisconnectRequest, "tree disconnect request structure size";
    /// SMB2 TREE_DISCONNECT Response, MS-SMB2 2.2.12.
    TreeDisconnectResponse, "tree disconnect response structure size";
    /// SMB2 ECHO Request, MS-SMB2 2.2.28.
    EchoRequest, "echo request structure size";
    /// SMB2 ECHO Response, MS-SMB2 2.2.29.
    EchoResponse, "echo response structure size";
    /// SMB2 CANCEL Request, MS-SMB2 2.2.30: the header names the request to cancel.
    CancelRequest, "cancel request structure size";
    /// SMB2 FLUSH Response, MS-SMB2 2.2.18.
    FlushResponse, "flush response structure size";
}

/// SMB2 FLUSH Request, MS-SMB2 2.2.17.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushRequest {
    /// The open to flush.
    pub file_id: FileId,
}

impl FlushRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 24;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        self.file_id.encode(out);
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "flush request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "flush request structure size")?;
        r.skip(6, "reserved")?;
        Ok(FlushRequest {
            file_id: FileId::decode(&mut r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};

    /// smb311_default.pcapng frame 16: TREE_DISCONNECT request (2.2.11).
    const TD_REQ: &str =
        "fe534d424000010000000000040001001000000000000000050000000000000000000000ec7d82661d720b7c\
        000000000000000000000000000000000000000004000000";
    /// smb311_default.pcapng frame 17: TREE_DISCONNECT response (2.2.12).
    const TD_RESP: &str =
        "fe534d424000010000000000040001001100000000000000050000000000000000000000ec7d82661d720b7c\
        000000000000000000000000000000000000000004000000";

    #[test]
    fn empty_bodies_round_trip() {
        let msg = hex(TD_REQ);
        let req = TreeDisconnectRequest::decode(&msg).unwrap();
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
        let msg = hex(TD_RESP);
        assert_eq!(
            TreeDisconnectResponse::decode(&msg),
            Ok(TreeDisconnectResponse)
        );
        for encoded in [
            with_header(|o| LogoffRequest.encode(o)),
            with_header(|o| EchoRequest.encode(o)),
            with_header(|o| CancelRequest.encode(o)),
        ] {
            assert_eq!(body(&encoded), body(&msg));
        }
        assert!(EchoResponse::decode(&msg).is_ok());
    }

    #[test]
    fn flush_request_carries_the_file_id() {
        let req = FlushRequest {
            file_id: FileId {
                persistent: 1,
                volatile: 2,
            },
        };
        let msg = with_header(|o| req.encode(o));
        assert_eq!(msg.len(), HEADER_LEN + 24);
        assert_eq!(FlushRequest::decode(&msg), Ok(req));
        assert_eq!(FlushResponse::decode(&hex(TD_RESP)), Ok(FlushResponse));
    }

    #[test]
    fn wrong_structure_size_is_an_error() {
        let msg = with_header(|o| FlushRequest::default().encode(o));
        assert!(LogoffResponse::decode(&msg).is_err());
        assert_robust(&hex(TD_RESP), LogoffResponse::decode);
        assert_robust(&msg, FlushRequest::decode);
    }
}
