//! WRITE request and response, MS-SMB2 2.2.21 / 2.2.22.

use bytes::Bytes;

use super::codec::{DecodeError, Reader};
use super::create::{variable_buffer, FileId};
use super::header::HEADER_LEN;

/// Request Flags, MS-SMB2 2.2.21.
pub mod flags {
    /// SMB2_WRITEFLAG_WRITE_THROUGH.
    pub const WRITE_THROUGH: u32 = 0x0000_0001;
    /// SMB2_WRITEFLAG_WRITE_UNBUFFERED.
    pub const WRITE_UNBUFFERED: u32 = 0x0000_0002;
}

/// SMB2 WRITE Request, MS-SMB2 2.2.21.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteRequest {
    /// The data to write.
    pub data: Bytes,
    /// Offset in the file.
    pub offset: u64,
    /// The open to write to.
    pub file_id: FileId,
    /// Channel, see [`super::read::channel`].
    pub channel: u32,
    /// RemainingBytes: a hint of how much more the client will write.
    pub remaining_bytes: u32,
    /// Flags, see [`flags`].
    pub flags: u32,
}

impl WriteRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 49;
    /// Header + fixed part: where the data goes (DataOffset = 0x70).
    pub const DATA_OFFSET: usize = HEADER_LEN + 48;

    /// Appends the body, data included, after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_header_only(out);
        out.extend_from_slice(&self.data);
    }

    /// Appends the 48-byte fixed part only, so a transport can send [`Self::data`]
    /// after it without copying it into the message buffer.
    pub fn encode_header_only(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&(Self::DATA_OFFSET as u16).to_le_bytes());
        out.extend_from_slice(&(self.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        self.file_id.encode(out);
        out.extend_from_slice(&self.channel.to_le_bytes());
        out.extend_from_slice(&self.remaining_bytes.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // WriteChannelInfoOffset
        out.extend_from_slice(&0u16.to_le_bytes()); // WriteChannelInfoLength
        out.extend_from_slice(&self.flags.to_le_bytes());
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header and the data
    /// stays a zero-copy slice of it.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "write request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "write request structure size")?;
        let data_offset = r.u16("data offset")?;
        let length = r.u32("length")?;
        let offset = r.u64("offset")?;
        let file_id = FileId::decode(&mut r)?;
        let channel = r.u32("channel")?;
        let remaining_bytes = r.u32("remaining bytes")?;
        r.skip(4, "write channel info")?;
        let flags = r.u32("flags")?;
        Ok(WriteRequest {
            data: variable_buffer(
                msg,
                data_offset.into(),
                length as usize,
                Self::DATA_OFFSET,
                "write data",
            )?,
            offset,
            file_id,
            channel,
            remaining_bytes,
            flags,
        })
    }
}

/// SMB2 WRITE Response, MS-SMB2 2.2.22.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteResponse {
    /// Count: bytes written.
    pub count: u32,
    /// Remaining: reserved, 0.
    pub remaining: u32,
}

impl WriteResponse {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 17;

    /// Decodes a response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "write response")?;
        r.structure_size(Self::STRUCTURE_SIZE, "write response structure size")?;
        r.skip(2, "reserved")?;
        Ok(WriteResponse {
            count: r.u32("count")?,
            remaining: r.u32("remaining")?,
        })
    }

    /// Appends the body after an already-written header (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.remaining.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // WriteChannelInfoOffset
        out.extend_from_slice(&0u16.to_le_bytes()); // WriteChannelInfoLength
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};

    /// smb311_default.pcapng frame 22: WRITE of the 21 bytes of `hello.txt` (2.2.21).
    const WRITE_REQ: &str =
        "fe534d4240000100000000000900010010000000000000000800000000000000000000001f5981431d720b7c\
        0000000000000000000000000000000000000000310070001500000000000000000000002e371b7400000000\
        743af703000000000000000000000000000000000000000068656c6c6f2066726f6d20736d62636c69656e74\
        0a";
    /// smb311_default.pcapng frame 23: its response (2.2.22).
    const WRITE_RESP: &str =
        "fe534d4240000100000000000900010011000000000000000800000000000000000000001f5981431d720b7c\
        000000000000000000000000000000000000000011000000150000000000000000000000";

    #[test]
    fn request_decodes_and_re_encodes_byte_for_byte() {
        let msg = hex(WRITE_REQ);
        let req = WriteRequest::decode(&msg).unwrap();
        assert_eq!(&req.data[..], b"hello from smbclient\n");
        assert_eq!(req.offset, 0);
        assert_eq!(
            req.file_id,
            FileId {
                persistent: 0x741b_372e,
                volatile: 0x03f7_3a74
            }
        );
        assert_eq!(req.flags, 0);
        let encoded = with_header(|o| req.encode(o));
        assert_eq!(body(&encoded), body(&msg));
        // The fixed part alone is what a transport sends before the data.
        let fixed = with_header(|o| req.encode_header_only(o));
        assert_eq!(fixed.len(), WriteRequest::DATA_OFFSET);
        assert_eq!(body(&fixed), &msg[HEADER_LEN..WriteRequest::DATA_OFFSET]);
    }

    #[test]
    fn response_reports_the_count() {
        let msg = hex(WRITE_RESP);
        let resp = WriteResponse::decode(&msg).unwrap();
        assert_eq!(resp.count, 21);
        assert_eq!(resp.remaining, 0);
        assert_eq!(body(&with_header(|o| resp.encode(o))), body(&msg));
    }

    #[test]
    fn request_data_past_the_message_is_an_error() {
        let mut m = hex(WRITE_REQ).to_vec();
        m[HEADER_LEN + 4] = 22; // Length 22 with 21 bytes present
        assert!(WriteRequest::decode(&m.into()).is_err());
    }

    #[test]
    fn decoders_survive_malformed_input() {
        assert_robust(&hex(WRITE_RESP), WriteResponse::decode);
        assert_robust(&hex(WRITE_REQ), WriteRequest::decode);
    }
}
