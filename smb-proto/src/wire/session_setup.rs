//! SESSION_SETUP request and response, MS-SMB2 2.2.5 / 2.2.6.

use bytes::Bytes;

use super::codec::{DecodeError, Reader};
use super::create::variable_buffer;
use super::header::HEADER_LEN;

/// Request Flags, MS-SMB2 2.2.5.
pub mod flags {
    /// SMB2_SESSION_FLAG_BINDING: bind an existing session to a new channel (3.x).
    pub const BINDING: u8 = 0x01;
}

/// SessionFlags of the response, MS-SMB2 2.2.6.
pub mod session_flags {
    /// SMB2_SESSION_FLAG_IS_GUEST: authenticated as guest; no signing key.
    pub const IS_GUEST: u16 = 0x0001;
    /// SMB2_SESSION_FLAG_IS_NULL: anonymous session.
    pub const IS_NULL: u16 = 0x0002;
    /// SMB2_SESSION_FLAG_ENCRYPT_DATA: the server requires encryption on this session.
    pub const ENCRYPT_DATA: u16 = 0x0004;
}

/// SMB2 SESSION_SETUP Request, MS-SMB2 2.2.5.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSetupRequest {
    /// Flags, see [`flags`].
    pub flags: u8,
    /// SecurityMode: the low byte of [`super::negotiate::security_mode`].
    pub security_mode: u8,
    /// Capabilities: only `capabilities::DFS` is meaningful here.
    pub capabilities: u32,
    /// Channel: reserved, 0.
    pub channel: u32,
    /// PreviousSessionId: a session to reconnect from, or 0.
    pub previous_session_id: u64,
    /// The SPNEGO/GSS token of this round.
    pub security_buffer: Bytes,
}

impl SessionSetupRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 25;
    /// Header + fixed part: where the security buffer starts.
    const BUFFER_OFFSET: usize = HEADER_LEN + 24;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.push(self.flags);
        out.push(self.security_mode);
        out.extend_from_slice(&self.capabilities.to_le_bytes());
        out.extend_from_slice(&self.channel.to_le_bytes());
        out.extend_from_slice(&(Self::BUFFER_OFFSET as u16).to_le_bytes());
        out.extend_from_slice(&(self.security_buffer.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.previous_session_id.to_le_bytes());
        out.extend_from_slice(&self.security_buffer);
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "session setup request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "session setup request structure size")?;
        let flags = r.u8("flags")?;
        let security_mode = r.u8("security mode")?;
        let capabilities = r.u32("capabilities")?;
        let channel = r.u32("channel")?;
        let offset = r.u16("security buffer offset")?;
        let length = r.u16("security buffer length")?;
        let previous_session_id = r.u64("previous session id")?;
        Ok(SessionSetupRequest {
            flags,
            security_mode,
            capabilities,
            channel,
            previous_session_id,
            security_buffer: variable_buffer(
                msg,
                offset.into(),
                length.into(),
                Self::BUFFER_OFFSET,
                "security buffer",
            )?,
        })
    }
}

/// SMB2 SESSION_SETUP Response, MS-SMB2 2.2.6.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSetupResponse {
    /// SessionFlags, see [`session_flags`].
    pub session_flags: u16,
    /// The server's SPNEGO/GSS token of this round.
    pub security_buffer: Bytes,
}

impl SessionSetupResponse {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 9;
    /// Header + fixed part.
    const BUFFER_OFFSET: usize = HEADER_LEN + 8;

    /// Decodes a response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "session setup response")?;
        r.structure_size(
            Self::STRUCTURE_SIZE,
            "session setup response structure size",
        )?;
        let session_flags = r.u16("session flags")?;
        let offset = r.u16("security buffer offset")?;
        let length = r.u16("security buffer length")?;
        Ok(SessionSetupResponse {
            session_flags,
            security_buffer: variable_buffer(
                msg,
                offset.into(),
                length.into(),
                Self::BUFFER_OFFSET,
                "security buffer",
            )?,
        })
    }

    /// Appends the body after an already-written header (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&self.session_flags.to_le_bytes());
        out.extend_from_slice(&(Self::BUFFER_OFFSET as u16).to_le_bytes());
        out.extend_from_slice(&(self.security_buffer.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.security_buffer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};

    /// smb311_default.pcapng frame 8: SESSION_SETUP request carrying the SPNEGO-wrapped
    /// NTLMSSP_NEGOTIATE (2.2.5).
    const SS_REQ: &str =
        "fe534d4240000100000000000100002010000000000000000100000000000000000000000000000000000000\
        000000000000000000000000000000000000000019000001010000000000000058004a000000000000000000\
        604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d535350000100\
        00001582086200000000280000000000000028000000060100000000000f";
    /// smb311_default.pcapng frame 9: the STATUS_MORE_PROCESSING_REQUIRED response with
    /// the NTLMSSP_CHALLENGE (2.2.6).
    const SS_RESP_CHALLENGE: &str =
        "fe534d4240000100160000c0010001001100000000000000010000000000000000000000000000001d720b7c\
        0000000000000000000000000000000000000000090000004800a500a181a230819fa0030a0101a10c060a2b\
        06010401823702020aa281890481864e544c4d53535000020000000e000e003800000015828a6228ca9f0061\
        7c11f000000000000000004000400046000000060100000000000f540045005300540053005200560002000e\
        00540045005300540053005200560001000e005400450053005400530052005600040000000300040076006d\
        000700080036942857617add0100000000";
    /// smb311_guest.pcapng frame 11: the final response of a session mapped to guest.
    const SS_RESP_GUEST: &str =
        "fe534d424000010000000000010000201100000000000000020000000000000000000000000000006e59a36d\
        00000000000000000000000000000000000000000900010048000900a1073005a0030a0100";

    #[test]
    fn request_decodes_and_re_encodes_byte_for_byte() {
        let msg = hex(SS_REQ);
        let req = SessionSetupRequest::decode(&msg).unwrap();
        assert_eq!(req.flags, 0);
        assert_eq!(req.security_mode, 0x01);
        assert_eq!(req.capabilities, 0x01); // DFS
        assert_eq!(req.channel, 0);
        assert_eq!(req.previous_session_id, 0);
        assert_eq!(req.security_buffer.len(), 74);
        assert_eq!(&req.security_buffer[..2], &[0x60, 0x48]);
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    #[test]
    fn challenge_response_is_a_zero_copy_slice() {
        let msg = hex(SS_RESP_CHALLENGE);
        let resp = SessionSetupResponse::decode(&msg).unwrap();
        assert_eq!(resp.session_flags, 0);
        assert_eq!(resp.security_buffer.len(), 165);
        assert_eq!(resp.security_buffer[..4], [0xa1, 0x81, 0xa2, 0x30]); // negTokenTarg
        assert_eq!(resp.security_buffer.as_ptr(), msg[72..].as_ptr());
        assert_eq!(body(&with_header(|o| resp.encode(o))), body(&msg));
    }

    #[test]
    fn guest_flag_is_reported() {
        let resp = SessionSetupResponse::decode(&hex(SS_RESP_GUEST)).unwrap();
        assert_eq!(resp.session_flags, session_flags::IS_GUEST);
        assert_eq!(&resp.security_buffer[..], &hex("a1073005a0030a0100")[..]);
    }

    #[test]
    fn security_buffer_must_not_overlap_the_fixed_part() {
        let mut m = hex(SS_RESP_GUEST).to_vec();
        m[HEADER_LEN + 4] = 0x40; // SecurityBufferOffset 0x40: inside the header
        assert!(SessionSetupResponse::decode(&m.into()).is_err());
    }

    #[test]
    fn decoders_survive_malformed_input() {
        assert_robust(&hex(SS_RESP_CHALLENGE), SessionSetupResponse::decode);
        assert_robust(&hex(SS_REQ), SessionSetupRequest::decode);
    }
}
