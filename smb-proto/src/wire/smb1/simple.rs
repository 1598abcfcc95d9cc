//! SMB_COM_ECHO (MS-CIFS 2.2.4.39) and SMB_COM_NT_CANCEL (MS-CIFS 2.2.4.65).

use bytes::Bytes;

use super::{Blocks, Parsed};
use crate::wire::codec::DecodeError;

/// ECHO request: EchoCount 1 (one reply), and the data to echo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EchoRequest {
    /// Data the reply repeats (at most 64 KiB − 1 is sent).
    pub data: Bytes,
}

impl EchoRequest {
    /// Appends the blocks after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        Blocks::default()
            .words(&1u16.to_le_bytes())
            .bytes(&self.data)
            .finish(out);
    }
}

/// ECHO response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoResponse {
    /// SequenceNumber: which reply of EchoCount this is (1-based).
    pub sequence: u16,
    /// The data echoed.
    pub data: Bytes,
}

impl EchoResponse {
    /// Decodes the response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let p = Parsed::new(msg)?;
        let sequence = p.words(&[1], "echo word count")?.u16("sequence number")?;
        Ok(EchoResponse {
            sequence,
            data: p.data(),
        })
    }
}

/// NT_CANCEL request: no words, no bytes; the header repeats the request's PID, MID,
/// TID and UID. It has no response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NtCancelRequest;

impl NtCancelRequest {
    /// Appends the (empty) blocks.
    pub fn encode(&self, out: &mut Vec<u8>) {
        Blocks::default().finish(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb1::test_util::{assert_robust, encoded, reply};

    #[test]
    fn echo_round_trip() {
        let req = EchoRequest {
            data: Bytes::from_static(b"ping"),
        };
        assert_eq!(
            &encoded(|o| req.encode(o))[32..],
            &[1, 1, 0, 4, 0, b'p', b'i', b'n', b'g']
        );
        let msg = reply(0x2B, 0, &[1, 1, 0, 4, 0, b'p', b'i', b'n', b'g']);
        let resp = EchoResponse::decode(&msg).unwrap();
        assert_eq!((resp.sequence, &resp.data[..]), (1, &b"ping"[..]));
        assert_robust(&msg, EchoResponse::decode);
        assert_eq!(&encoded(|o| NtCancelRequest.encode(o))[32..], &[0, 0, 0]);
    }
}
