//! Any request body a client sends, and its credit charge (MS-SMB2 3.1.5.2).

use super::close::CloseRequest;
use super::create::CreateRequest;
use super::header::Command;
use super::ioctl::IoctlRequest;
use super::lock::LockRequest;
use super::negotiate::NegotiateRequest;
use super::notify::ChangeNotifyRequest;
use super::oplock_break::{LeaseBreakAck, OplockBreak};
use super::query_directory::QueryDirectoryRequest;
use super::query_info::QueryInfoRequest;
use super::read::ReadRequest;
use super::session_setup::SessionSetupRequest;
use super::set_info::SetInfoRequest;
use super::simple::{
    CancelRequest, EchoRequest, FlushRequest, LogoffRequest, TreeDisconnectRequest,
};
use super::tree_connect::TreeConnectRequest;
use super::write::WriteRequest;

/// The body of a request, one variant per command a client sends (MS-SMB2 2.2.3 – 2.2.39).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is its command
pub enum RequestBody {
    Negotiate(NegotiateRequest),
    SessionSetup(SessionSetupRequest),
    Logoff(LogoffRequest),
    TreeConnect(TreeConnectRequest),
    TreeDisconnect(TreeDisconnectRequest),
    Create(CreateRequest),
    Close(CloseRequest),
    Flush(FlushRequest),
    Read(ReadRequest),
    Write(WriteRequest),
    Lock(LockRequest),
    Ioctl(IoctlRequest),
    Cancel(CancelRequest),
    Echo(EchoRequest),
    QueryDirectory(QueryDirectoryRequest),
    ChangeNotify(ChangeNotifyRequest),
    QueryInfo(QueryInfoRequest),
    SetInfo(SetInfoRequest),
    /// Oplock Break Acknowledgment (2.2.24.1).
    OplockBreakAck(OplockBreak),
    /// Lease Break Acknowledgment (2.2.24.2).
    LeaseBreakAck(LeaseBreakAck),
    /// An SMB1 request ([`super::smb1`]), on a connection that negotiated SMB1 (or its
    /// multi-protocol NEGOTIATE).
    Smb1(Box<super::smb1::Smb1Request>),
}

impl RequestBody {
    /// The header's Command for this body; for an SMB1 body, the SMB2 command doing the
    /// same work ([`Smb1Request::equivalent`](super::smb1::Smb1Request::equivalent)).
    pub fn command(&self) -> Command {
        match self {
            RequestBody::Smb1(b) => b.equivalent(),
            RequestBody::Negotiate(_) => Command::Negotiate,
            RequestBody::SessionSetup(_) => Command::SessionSetup,
            RequestBody::Logoff(_) => Command::Logoff,
            RequestBody::TreeConnect(_) => Command::TreeConnect,
            RequestBody::TreeDisconnect(_) => Command::TreeDisconnect,
            RequestBody::Create(_) => Command::Create,
            RequestBody::Close(_) => Command::Close,
            RequestBody::Flush(_) => Command::Flush,
            RequestBody::Read(_) => Command::Read,
            RequestBody::Write(_) => Command::Write,
            RequestBody::Lock(_) => Command::Lock,
            RequestBody::Ioctl(_) => Command::Ioctl,
            RequestBody::Cancel(_) => Command::Cancel,
            RequestBody::Echo(_) => Command::Echo,
            RequestBody::QueryDirectory(_) => Command::QueryDirectory,
            RequestBody::ChangeNotify(_) => Command::ChangeNotify,
            RequestBody::QueryInfo(_) => Command::QueryInfo,
            RequestBody::SetInfo(_) => Command::SetInfo,
            RequestBody::OplockBreakAck(_) | RequestBody::LeaseBreakAck(_) => Command::OplockBreak,
        }
    }

    /// Appends the body after an already-written 64-byte header (32-byte for SMB1).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            RequestBody::Smb1(b) => b.encode(out),
            RequestBody::Negotiate(b) => b.encode(out),
            RequestBody::SessionSetup(b) => b.encode(out),
            RequestBody::Logoff(b) => b.encode(out),
            RequestBody::TreeConnect(b) => b.encode(out),
            RequestBody::TreeDisconnect(b) => b.encode(out),
            RequestBody::Create(b) => b.encode(out),
            RequestBody::Close(b) => b.encode(out),
            RequestBody::Flush(b) => b.encode(out),
            RequestBody::Read(b) => b.encode(out),
            RequestBody::Write(b) => b.encode(out),
            RequestBody::Lock(b) => b.encode(out),
            RequestBody::Ioctl(b) => b.encode(out),
            RequestBody::Cancel(b) => b.encode(out),
            RequestBody::Echo(b) => b.encode(out),
            RequestBody::QueryDirectory(b) => b.encode(out),
            RequestBody::ChangeNotify(b) => b.encode(out),
            RequestBody::QueryInfo(b) => b.encode(out),
            RequestBody::SetInfo(b) => b.encode(out),
            RequestBody::OplockBreakAck(b) => b.encode(out),
            RequestBody::LeaseBreakAck(b) => b.encode(out),
        }
    }

    /// The payload that sets the credit charge: the larger of the variable-length data
    /// sent and the most the response may carry (MS-SMB2 3.1.5.2).
    ///
    /// 3.2.4.1.5 asks for a charge of 1 on commands other than READ, WRITE, IOCTL and
    /// QUERY_DIRECTORY, but a server checks every request against its payload
    /// (3.3.5.2.5); so QUERY_INFO, SET_INFO and CHANGE_NOTIFY are charged by payload too,
    /// which is 1 for the ≤ 64 KiB buffers they normally use. The rest count 0.
    pub fn credit_payload(&self) -> usize {
        let len = |n: u32| n as usize;
        match self {
            RequestBody::Read(b) => len(b.length),
            RequestBody::Write(b) => b.data.len(),
            RequestBody::Ioctl(b) => b.input.len().max(len(b.max_output_response)),
            RequestBody::QueryDirectory(b) => len(b.output_buffer_length),
            RequestBody::ChangeNotify(b) => len(b.output_buffer_length),
            RequestBody::QueryInfo(b) => b.input_buffer.len().max(len(b.output_buffer_length)),
            RequestBody::SetInfo(b) => b.buffer.len(),
            _ => 0,
        }
    }
}

/// CreditCharge for a payload of `payload` bytes: one credit per started 64 KiB, at least
/// one (MS-SMB2 3.1.5.2), saturating at `u16::MAX`.
pub fn credit_charge(payload: usize) -> u16 {
    let charge = payload.saturating_sub(1) / 65536 + 1;
    u16::try_from(charge).unwrap_or(u16::MAX)
}

/// Helpers for the wire tests: hex vectors and robustness sweeps.
#[cfg(test)]
pub(crate) mod test_util {
    use bytes::Bytes;

    use crate::wire::codec::DecodeError;
    use crate::wire::header::HEADER_LEN;

    /// Bytes from hex text; whitespace is ignored.
    pub(crate) fn hex(s: &str) -> Bytes {
        let s: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
        s.chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect::<Vec<u8>>()
            .into()
    }

    /// The body of an encoded request: what follows the 64-byte header of `msg`.
    pub(crate) fn body(msg: &Bytes) -> &[u8] {
        &msg[HEADER_LEN..]
    }

    /// Runs `encode` after a placeholder header and returns the message, so offsets come
    /// out as they would on the wire.
    pub(crate) fn with_header(encode: impl FnOnce(&mut Vec<u8>)) -> Bytes {
        let mut out = vec![0u8; HEADER_LEN];
        encode(&mut out);
        out.into()
    }

    /// Feeds `decode` every truncation of `msg`, every single-byte corruption of it to a
    /// few extreme values, and pseudo-random bodies behind its header. Decoding must
    /// return, Ok or Err, without panicking; a message cut inside its header or
    /// StructureSize must be an Err.
    pub(crate) fn assert_robust<T>(msg: &Bytes, decode: impl Fn(&Bytes) -> Result<T, DecodeError>) {
        assert_robust_with(msg, HEADER_LEN, 2, decode);
    }

    /// [`assert_robust`] for a protocol whose header is `header_len` bytes and whose body
    /// starts with a `fixed`-byte field the random bodies keep half the time (SMB2's
    /// StructureSize; SMB1's WordCount).
    pub(crate) fn assert_robust_with<T>(
        msg: &Bytes,
        header_len: usize,
        fixed: usize,
        decode: impl Fn(&Bytes) -> Result<T, DecodeError>,
    ) {
        for n in 0..msg.len() {
            let r = decode(&msg.slice(..n));
            if n < header_len + fixed {
                assert!(r.is_err(), "truncation to {n} bytes decoded");
            }
        }
        for i in 0..msg.len() {
            for v in [0x00, 0x01, 0x7F, 0x80, 0xFF] {
                let mut m = msg.to_vec();
                m[i] = v;
                let _ = decode(&Bytes::from(m));
            }
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..500 {
            let len = (next() % 600) as usize;
            let mut m = msg[..header_len.min(msg.len())].to_vec();
            // Keep the real StructureSize half the time so the decoder goes deeper.
            if next() % 2 == 0 {
                m.extend_from_slice(msg.get(header_len..header_len + fixed).unwrap_or(&[]));
            }
            m.extend((0..len).map(|_| next() as u8));
            let _ = decode(&Bytes::from(m));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::create::FileId;

    #[test]
    fn credit_charge_is_one_per_started_64k() {
        // MS-SMB2 3.1.5.2: (max(send, response) - 1) / 65536 + 1.
        assert_eq!(credit_charge(0), 1);
        assert_eq!(credit_charge(1), 1);
        assert_eq!(credit_charge(65536), 1);
        assert_eq!(credit_charge(65537), 2);
        // smbclient's QUERY_DIRECTORY of 8 MiB carries CreditCharge 0x80 in the captures.
        assert_eq!(credit_charge(0x80_0000), 0x80);
        assert_eq!(credit_charge(usize::MAX), u16::MAX);
    }

    #[test]
    fn credit_payload_takes_the_larger_direction() {
        let read = RequestBody::Read(ReadRequest {
            length: 300_000,
            ..Default::default()
        });
        assert_eq!(read.credit_payload(), 300_000);
        assert_eq!(credit_charge(read.credit_payload()), 5);
        let ioctl = RequestBody::Ioctl(IoctlRequest {
            input: vec![0; 70_000].into(),
            max_output_response: 0x10b8,
            ..Default::default()
        });
        assert_eq!(ioctl.credit_payload(), 70_000);
        let ioctl = RequestBody::Ioctl(IoctlRequest {
            input: vec![0; 10].into(),
            max_output_response: 200_000,
            ..Default::default()
        });
        assert_eq!(ioctl.credit_payload(), 200_000);
        assert_eq!(RequestBody::Echo(EchoRequest).credit_payload(), 0);
    }

    #[test]
    fn command_and_encode_follow_the_variant() {
        let body = RequestBody::Close(CloseRequest {
            flags: 0,
            file_id: FileId::ANY,
        });
        assert_eq!(body.command(), Command::Close);
        let mut out = Vec::new();
        body.encode(&mut out);
        assert_eq!(&out[..2], &24u16.to_le_bytes());
        assert_eq!(out.len(), 24);
        let ack = RequestBody::LeaseBreakAck(LeaseBreakAck::default());
        assert_eq!(ack.command(), Command::OplockBreak);
        let mut out = Vec::new();
        ack.encode(&mut out);
        assert_eq!(out.len(), 36);
    }
}
