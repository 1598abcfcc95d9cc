//! READ request and response, MS-SMB2 2.2.19 / 2.2.20.

use bytes::Bytes;

use super::codec::{DecodeError, Reader};
use super::create::{variable_buffer, FileId};
use super::header::HEADER_LEN;

/// Request Flags, MS-SMB2 2.2.19.
pub mod flags {
    /// SMB2_READFLAG_READ_UNBUFFERED (3.0.2).
    pub const READ_UNBUFFERED: u8 = 0x01;
    /// SMB2_READFLAG_REQUEST_COMPRESSED (3.1.1).
    pub const REQUEST_COMPRESSED: u8 = 0x02;
}

/// Channel values of READ and WRITE, MS-SMB2 2.2.19.
pub mod channel {
    /// SMB2_CHANNEL_NONE.
    pub const NONE: u32 = 0;
    /// SMB2_CHANNEL_RDMA_V1.
    pub const RDMA_V1: u32 = 1;
    /// SMB2_CHANNEL_RDMA_V1_INVALIDATE.
    pub const RDMA_V1_INVALIDATE: u32 = 2;
    /// SMB2_CHANNEL_RDMA_TRANSFORM.
    pub const RDMA_TRANSFORM: u32 = 3;
}

/// SMB2 READ Request, MS-SMB2 2.2.19.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadRequest {
    /// Padding: the DataOffset the client would like in the response (0x50 on Windows).
    pub padding: u8,
    /// Flags, see [`flags`].
    pub flags: u8,
    /// Length: bytes to read.
    pub length: u32,
    /// Offset in the file.
    pub offset: u64,
    /// The open to read from.
    pub file_id: FileId,
    /// MinimumCount: fewer bytes than this fail the read.
    pub minimum_count: u32,
    /// Channel, see [`channel`].
    pub channel: u32,
    /// RemainingBytes: a hint of how much more the client will read.
    pub remaining_bytes: u32,
}

impl ReadRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 49;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.push(self.padding);
        out.push(self.flags);
        out.extend_from_slice(&self.length.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        self.file_id.encode(out);
        out.extend_from_slice(&self.minimum_count.to_le_bytes());
        out.extend_from_slice(&self.channel.to_le_bytes());
        out.extend_from_slice(&self.remaining_bytes.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // ReadChannelInfoOffset
        out.extend_from_slice(&0u16.to_le_bytes()); // ReadChannelInfoLength
                                                    // 2.2.19: the Buffer is at least one byte even without channel info.
        out.push(0);
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "read request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "read request structure size")?;
        Ok(ReadRequest {
            padding: r.u8("padding")?,
            flags: r.u8("flags")?,
            length: r.u32("length")?,
            offset: r.u64("offset")?,
            file_id: FileId::decode(&mut r)?,
            minimum_count: r.u32("minimum count")?,
            channel: r.u32("channel")?,
            remaining_bytes: r.u32("remaining bytes")?,
        })
    }
}

/// SMB2 READ Response, MS-SMB2 2.2.20.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadResponse {
    /// The data read: a zero-copy slice of the received message.
    pub data: Bytes,
    /// DataRemaining: only meaningful for RDMA channels.
    pub data_remaining: u32,
    /// Flags (3.1.1): SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM.
    pub flags: u32,
}

impl ReadResponse {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 17;
    /// Header + fixed part: DataOffset may be anything from here on.
    const BUFFER_OFFSET: usize = HEADER_LEN + 16;

    /// Decodes a response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "read response")?;
        r.structure_size(Self::STRUCTURE_SIZE, "read response structure size")?;
        let data_offset = r.u8("data offset")?;
        r.skip(1, "reserved")?;
        let data_length = r.u32("data length")?;
        let data_remaining = r.u32("data remaining")?;
        let flags = r.u32("flags")?;
        Ok(ReadResponse {
            data: variable_buffer(
                msg,
                data_offset.into(),
                data_length as usize,
                Self::BUFFER_OFFSET,
                "read data",
            )?,
            data_remaining,
            flags,
        })
    }

    /// Appends the body after an already-written header, data at offset 0x50 (for a
    /// scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.push(Self::BUFFER_OFFSET as u8);
        out.push(0);
        out.extend_from_slice(&(self.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.data_remaining.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::header::{Command, Header};
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};
    use crate::wire::write::WriteRequest;

    /// smb311_default.pcapng frame 103: READ of all 300,000 bytes of `dir1\payload.bin`
    /// (2.2.19).
    const READ_REQ: &str =
        "fe534d4240000500000000000800010010000000000000002b02000000000000000000001f5981431d720b7c\
        000000000000000000000000000000000000000031000000e09304000000000000000000531b323500000000\
        64348b92000000000000000000000000000000000000000000";

    #[test]
    fn request_decodes_and_re_encodes_byte_for_byte() {
        let msg = hex(READ_REQ);
        let req = ReadRequest::decode(&msg).unwrap();
        assert_eq!(req.length, 300_000);
        assert_eq!(req.offset, 0);
        assert_eq!(
            req.file_id,
            FileId {
                persistent: 0x3532_1b53,
                volatile: 0x928b_3464
            }
        );
        assert_eq!(
            (req.minimum_count, req.channel, req.remaining_bytes),
            (0, channel::NONE, 0)
        );
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    /// smb311_default.pcapng frame 32, up to its data: the WRITE of all 300,000 bytes of
    /// `dir1\payload.bin` (2.2.21), DataOffset 0x70.
    const WRITE_REQ_HEAD: &str =
        "fe534d4240000500000000000900010010000000000000000d00000000000000000000001f5981431d720b7c\
        000000000000000000000000000000000000000031007000e09304000000000000000000df4470d200000000\
        fbb103e00000000000000000000000000000000000000000";
    /// smb311_default.pcapng frame 104, up to its data: the READ response returning those
    /// 300,000 bytes (2.2.20), DataOffset 0x50.
    const READ_RESP_HEAD: &str =
        "fe534d4240000500000000000800050011000000000000002b02000000000000000000001f5981431d720b7c\
        000000000000000000000000000000000000000011005000e09304000000000000000000";

    /// The real READ response and WRITE request heads, each followed by the same payload
    /// (a stand-in for the random file: the decoders only locate the data), must yield
    /// that payload, and the READ's without a copy.
    #[test]
    fn read_response_returns_the_written_payload_zero_copy() {
        let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let message = |head: &str| {
            let mut m = hex(head).to_vec();
            m.extend_from_slice(&payload);
            Bytes::from(m)
        };
        let (write, read) = (message(WRITE_REQ_HEAD), message(READ_RESP_HEAD));
        assert_eq!(
            Header::decode(&write).unwrap().command,
            Command::Write as u16
        );
        assert_eq!(Header::decode(&read).unwrap().command, Command::Read as u16);
        let written = WriteRequest::decode(&write).unwrap();
        let resp = ReadResponse::decode(&read).unwrap();
        assert_eq!(resp.data.len(), 300_000);
        assert_eq!(resp.data, written.data);
        assert_eq!(resp.data, payload);
        assert_eq!(resp.data_remaining, 0);
        assert_eq!(resp.data.as_ptr(), read[HEADER_LEN + 16..].as_ptr());
        // One byte short of DataLength is a truncated message, not a shorter read.
        assert!(ReadResponse::decode(&read.slice(..read.len() - 1)).is_err());
    }

    #[test]
    fn data_offset_must_not_point_into_the_fixed_part() {
        let resp = ReadResponse {
            data: Bytes::from_static(b"abc"),
            ..Default::default()
        };
        let mut m = with_header(|o| resp.encode(o)).to_vec();
        assert_eq!(ReadResponse::decode(&m.clone().into()).unwrap(), resp);
        m[HEADER_LEN + 2] = 0x4C; // DataOffset 76 < 64 + 16
        assert!(ReadResponse::decode(&m.into()).is_err());
    }

    #[test]
    fn decoders_survive_malformed_input() {
        let resp = ReadResponse {
            data: Bytes::from_static(b"hello from smbclient\n"),
            data_remaining: 0,
            flags: 0,
        };
        assert_robust(&with_header(|o| resp.encode(o)), ReadResponse::decode);
        assert_robust(&hex(READ_REQ), ReadRequest::decode);
    }
}
