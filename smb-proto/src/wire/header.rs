//! The SMB2 packet header, MS-SMB2 2.2.1 (sync 2.2.1.2, async 2.2.1.1).

use super::codec::{DecodeError, Reader};

/// Size of the SMB2 header in bytes.
pub const HEADER_LEN: usize = 64;
/// `0xFE 'S' 'M' 'B'`.
pub const PROTOCOL_ID: [u8; 4] = [0xFE, b'S', b'M', b'B'];
/// Byte range of the signature field within the header.
pub const SIGNATURE_RANGE: std::ops::Range<usize> = 48..64;

/// SMB2 command codes, MS-SMB2 2.2.1.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
#[allow(missing_docs)]
pub enum Command {
    Negotiate = 0x0000,
    SessionSetup = 0x0001,
    Logoff = 0x0002,
    TreeConnect = 0x0003,
    TreeDisconnect = 0x0004,
    Create = 0x0005,
    Close = 0x0006,
    Flush = 0x0007,
    Read = 0x0008,
    Write = 0x0009,
    Lock = 0x000A,
    Ioctl = 0x000B,
    Cancel = 0x000C,
    Echo = 0x000D,
    QueryDirectory = 0x000E,
    ChangeNotify = 0x000F,
    QueryInfo = 0x0010,
    SetInfo = 0x0011,
    OplockBreak = 0x0012,
}

impl Command {
    /// The MS-SMB2 2.2.1.2 name ("SESSION_SETUP").
    pub fn name(self) -> &'static str {
        use Command::*;
        match self {
            Negotiate => "NEGOTIATE",
            SessionSetup => "SESSION_SETUP",
            Logoff => "LOGOFF",
            TreeConnect => "TREE_CONNECT",
            TreeDisconnect => "TREE_DISCONNECT",
            Create => "CREATE",
            Close => "CLOSE",
            Flush => "FLUSH",
            Read => "READ",
            Write => "WRITE",
            Lock => "LOCK",
            Ioctl => "IOCTL",
            Cancel => "CANCEL",
            Echo => "ECHO",
            QueryDirectory => "QUERY_DIRECTORY",
            ChangeNotify => "CHANGE_NOTIFY",
            QueryInfo => "QUERY_INFO",
            SetInfo => "SET_INFO",
            OplockBreak => "OPLOCK_BREAK",
        }
    }

    /// The name of a raw command code, or the code in hex when it is none.
    pub fn name_of(code: u16) -> std::borrow::Cow<'static, str> {
        match Command::from_u16(code) {
            Ok(c) => c.name().into(),
            Err(_) => format!("{code:#06x}").into(),
        }
    }

    /// Decodes a command code.
    pub fn from_u16(v: u16) -> Result<Self, DecodeError> {
        use Command::*;
        Ok(match v {
            0x00 => Negotiate,
            0x01 => SessionSetup,
            0x02 => Logoff,
            0x03 => TreeConnect,
            0x04 => TreeDisconnect,
            0x05 => Create,
            0x06 => Close,
            0x07 => Flush,
            0x08 => Read,
            0x09 => Write,
            0x0A => Lock,
            0x0B => Ioctl,
            0x0C => Cancel,
            0x0D => Echo,
            0x0E => QueryDirectory,
            0x0F => ChangeNotify,
            0x10 => QueryInfo,
            0x11 => SetInfo,
            0x12 => OplockBreak,
            _ => return Err(DecodeError::invalid("command", v)),
        })
    }
}

/// Header flags, MS-SMB2 2.2.1.2.
pub mod flags {
    /// SMB2_FLAGS_SERVER_TO_REDIR.
    pub const SERVER_TO_REDIR: u32 = 0x0000_0001;
    /// SMB2_FLAGS_ASYNC_COMMAND.
    pub const ASYNC_COMMAND: u32 = 0x0000_0002;
    /// SMB2_FLAGS_RELATED_OPERATIONS.
    pub const RELATED_OPERATIONS: u32 = 0x0000_0004;
    /// SMB2_FLAGS_SIGNED.
    pub const SIGNED: u32 = 0x0000_0008;
    /// SMB2_FLAGS_PRIORITY_MASK.
    pub const PRIORITY_MASK: u32 = 0x0000_0070;
    /// SMB2_FLAGS_DFS_OPERATIONS.
    pub const DFS_OPERATIONS: u32 = 0x1000_0000;
    /// SMB2_FLAGS_REPLAY_OPERATION.
    pub const REPLAY_OPERATION: u32 = 0x2000_0000;
}

/// A decoded or to-be-encoded SMB2 header.
///
/// `status` is the NTSTATUS in responses and ChannelSequence/Reserved in requests.
/// For async messages (`flags & ASYNC_COMMAND`) `async_id` is meaningful and `tree_id`
/// is not, and vice versa.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// CreditCharge: credits this request consumes (1 per 64 KiB of payload).
    pub credit_charge: u16,
    /// Status (response) or ChannelSequence (request).
    pub status: u32,
    /// Command code.
    pub command: u16,
    /// CreditRequest (request) or CreditResponse (response).
    pub credits: u16,
    /// Flags, see [`flags`].
    pub flags: u32,
    /// Offset from this header to the next message of a compound, 0 for the last.
    pub next_command: u32,
    /// MessageId.
    pub message_id: u64,
    /// AsyncId (async header only).
    pub async_id: u64,
    /// TreeId (sync header only).
    pub tree_id: u32,
    /// SessionId.
    pub session_id: u64,
    /// Signature (zero when unsigned).
    pub signature: [u8; 16],
}

impl Header {
    /// Whether this is the async form of the header.
    pub fn is_async(&self) -> bool {
        self.flags & flags::ASYNC_COMMAND != 0
    }

    /// Whether the SIGNED flag is set.
    pub fn is_signed(&self) -> bool {
        self.flags & flags::SIGNED != 0
    }

    /// Whether this is a response (SERVER_TO_REDIR).
    pub fn is_response(&self) -> bool {
        self.flags & flags::SERVER_TO_REDIR != 0
    }

    /// The command, if known.
    pub fn command(&self) -> Result<Command, DecodeError> {
        Command::from_u16(self.command)
    }

    /// Appends the 64-byte header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&PROTOCOL_ID);
        out.extend_from_slice(&64u16.to_le_bytes());
        out.extend_from_slice(&self.credit_charge.to_le_bytes());
        out.extend_from_slice(&self.status.to_le_bytes());
        out.extend_from_slice(&self.command.to_le_bytes());
        out.extend_from_slice(&self.credits.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.next_command.to_le_bytes());
        out.extend_from_slice(&self.message_id.to_le_bytes());
        if self.is_async() {
            out.extend_from_slice(&self.async_id.to_le_bytes());
        } else {
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&self.tree_id.to_le_bytes());
        }
        out.extend_from_slice(&self.session_id.to_le_bytes());
        out.extend_from_slice(&self.signature);
    }

    /// Decodes the header at the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let pid: [u8; 4] = r.array("protocol id")?;
        if pid != PROTOCOL_ID {
            return Err(DecodeError::invalid("protocol id", u32::from_le_bytes(pid)));
        }
        r.structure_size(64, "header structure size")?;
        let credit_charge = r.u16("credit charge")?;
        let status = r.u32("status")?;
        let command = r.u16("command")?;
        let credits = r.u16("credits")?;
        let flags = r.u32("flags")?;
        let next_command = r.u32("next command")?;
        let message_id = r.u64("message id")?;
        let (async_id, tree_id) = if flags & flags::ASYNC_COMMAND != 0 {
            (r.u64("async id")?, 0)
        } else {
            r.skip(4, "reserved")?;
            (0, r.u32("tree id")?)
        };
        let session_id = r.u64("session id")?;
        let signature = r.array("signature")?;
        Ok(Header {
            credit_charge,
            status,
            command,
            credits,
            flags,
            next_command,
            message_id,
            async_id,
            tree_id,
            session_id,
            signature,
        })
    }
}

/// The messages of a frame: one, or a compound's (MS-SMB2 3.2.4.1.4, 3.3.4.1.3), each
/// from its header to the next one's by NextCommand, padding included (as signed).
/// A message shorter than a header, or a NextCommand that is not a multiple of 8 past a
/// whole header and short of the frame's end, is an error, and the iteration stops.
pub fn compound_messages(frame: bytes::Bytes) -> CompoundMessages {
    CompoundMessages {
        frame,
        offset: 0,
        done: false,
    }
}

/// The iterator [`compound_messages`] returns: each message's header and bytes.
#[derive(Debug, Clone)]
pub struct CompoundMessages {
    frame: bytes::Bytes,
    offset: usize,
    done: bool,
}

impl Iterator for CompoundMessages {
    type Item = Result<(Header, bytes::Bytes), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.frame.len() - self.offset;
        let fail = |this: &mut Self, e: DecodeError| {
            this.done = true;
            Some(Err(e))
        };
        if rest < HEADER_LEN {
            let e = DecodeError::Truncated {
                what: "smb2 message",
                offset: self.offset,
                need: HEADER_LEN,
                have: rest,
            };
            return fail(self, e);
        }
        let header = match Header::decode(&self.frame[self.offset..]) {
            Ok(h) => h,
            Err(e) => return fail(self, e),
        };
        let next = header.next_command as usize;
        let end = if next == 0 {
            self.done = true;
            self.frame.len()
        } else if next < HEADER_LEN || !next.is_multiple_of(8) || next >= rest {
            return fail(self, DecodeError::invalid("next command", next as u64));
        } else {
            self.offset + next
        };
        let msg = self.frame.slice(self.offset..end);
        self.offset = end;
        Some(Ok((header, msg)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_follow_ms_smb2() {
        assert_eq!(Command::name_of(1), "SESSION_SETUP");
        assert_eq!(Command::name_of(0x12), "OPLOCK_BREAK");
        assert_eq!(Command::name_of(0x99), "0x0099");
        assert_eq!(Command::QueryDirectory.name(), "QUERY_DIRECTORY");
    }

    /// A NEGOTIATE response header: CreditCharge 1, CreditResponse 1, SERVER_TO_REDIR (2.2.1.2).
    const NEG_RESP_HDR: &str = "fe534d4240000100000000000000010001000000000000000000000000000000\
                                00000000000000000000000000000000000000000000000000000000000000000";

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn decode_encode_round_trip() {
        let b = hex(&NEG_RESP_HDR[..128]);
        let h = Header::decode(&b).unwrap();
        assert_eq!(h.credit_charge, 1);
        assert_eq!(h.command, Command::Negotiate as u16);
        assert_eq!(h.credits, 1);
        assert!(h.is_response());
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out, b);
    }

    #[test]
    fn async_header_carries_async_id() {
        let h = Header {
            flags: flags::ASYNC_COMMAND | flags::SERVER_TO_REDIR,
            async_id: 0x1122,
            ..Default::default()
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out.len(), HEADER_LEN);
        assert_eq!(Header::decode(&out).unwrap().async_id, 0x1122);
    }

    #[test]
    fn rejects_bad_protocol_id_and_truncation() {
        assert!(Header::decode(&[0xFF, b'S', b'M', b'B']).is_err());
        assert!(Header::decode(&PROTOCOL_ID).is_err());
    }
}
