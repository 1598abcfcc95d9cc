//! Transport framing: Direct TCP (MS-SMB2 2.1) and the NetBIOS session service
//! (RFC 1002 4.3) used on port 139.
//!
//! Both put a 4-byte header in front of every SMB2 message: a type byte and a 24-bit
//! big-endian length (RFC 1002 uses a 17-bit length, but every SMB2 server accepts 24).
//! A short buffer is "need more", never an error.

use bytes::BytesMut;

/// NBSS packet types (RFC 1002 4.3.1).
pub mod nbss {
    /// SESSION MESSAGE (also the only type Direct TCP uses).
    pub const SESSION_MESSAGE: u8 = 0x00;
    /// SESSION REQUEST.
    pub const SESSION_REQUEST: u8 = 0x81;
    /// POSITIVE SESSION RESPONSE.
    pub const POSITIVE_RESPONSE: u8 = 0x82;
    /// NEGATIVE SESSION RESPONSE.
    pub const NEGATIVE_RESPONSE: u8 = 0x83;
    /// RETARGET SESSION RESPONSE.
    pub const RETARGET_RESPONSE: u8 = 0x84;
    /// SESSION KEEP ALIVE.
    pub const KEEP_ALIVE: u8 = 0x85;
}

use nbss::{KEEP_ALIVE, NEGATIVE_RESPONSE, POSITIVE_RESPONSE, SESSION_MESSAGE, SESSION_REQUEST};

use crate::netbios::{suffix, NetBiosName};

/// Why the NetBIOS session service refused a session: the error code of a NEGATIVE
/// SESSION RESPONSE (RFC 1002 4.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionRefusal {
    /// 0x80: the called name is there, but nothing listens for sessions on it.
    NotListeningOnCalledName,
    /// 0x81: the server listens on the called name, but not for this calling name.
    NotListeningForCallingName,
    /// 0x82: the called name is not present at this address (the usual answer to a
    /// wrong `server_name`).
    CalledNameNotPresent,
    /// 0x83: the called name is present but the server has no resources for a session.
    InsufficientResources,
    /// 0x8F: unspecified error; also what a response without its code byte is taken for.
    Unspecified,
    /// A code RFC 1002 does not define.
    Other(u8),
}

impl SessionRefusal {
    /// The refusal an error code stands for.
    pub fn from_code(code: u8) -> Self {
        match code {
            0x80 => SessionRefusal::NotListeningOnCalledName,
            0x81 => SessionRefusal::NotListeningForCallingName,
            0x82 => SessionRefusal::CalledNameNotPresent,
            0x83 => SessionRefusal::InsufficientResources,
            0x8F => SessionRefusal::Unspecified,
            other => SessionRefusal::Other(other),
        }
    }

    /// The error code on the wire.
    pub fn code(self) -> u8 {
        match self {
            SessionRefusal::NotListeningOnCalledName => 0x80,
            SessionRefusal::NotListeningForCallingName => 0x81,
            SessionRefusal::CalledNameNotPresent => 0x82,
            SessionRefusal::InsufficientResources => 0x83,
            SessionRefusal::Unspecified => 0x8F,
            SessionRefusal::Other(code) => code,
        }
    }
}

impl std::fmt::Display for SessionRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reason = match self {
            SessionRefusal::NotListeningOnCalledName => "not listening on called name",
            SessionRefusal::NotListeningForCallingName => "not listening for calling name",
            SessionRefusal::CalledNameNotPresent => "called name not present",
            SessionRefusal::InsufficientResources => {
                "called name present, but insufficient resources"
            }
            SessionRefusal::Unspecified => "unspecified error",
            SessionRefusal::Other(_) => "unknown error code",
        };
        write!(f, "{reason} ({:#04x})", self.code())
    }
}

/// How SMB2 messages are carried over the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Direct TCP, port 445 (MS-SMB2 2.1).
    DirectTcp,
    /// NetBIOS session service, port 139: a SESSION REQUEST naming the server
    /// (`called`) and the client (`calling`) precedes SMB traffic.
    NetBios {
        /// The server's NetBIOS name (`*SMBSERVER` works with Samba and Windows).
        called: String,
        /// This client's NetBIOS name.
        calling: String,
    },
}

/// One unit read off the stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// An SMB2 message or compound (or a transform-wrapped one), still mutable so a
    /// transform message can be decrypted where it lies.
    Message(BytesMut),
    /// NBSS positive session response.
    SessionAccepted,
    /// NBSS negative session response, with its reason.
    SessionRefused(SessionRefusal),
    /// NBSS keep-alive; ignored.
    KeepAlive,
}

/// A frame header the client cannot accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The length exceeds what this connection allows.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// Announced length.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// Unknown NBSS packet type.
    #[error("unknown frame type {0:#04x}")]
    UnknownType(u8),
}

/// Takes one frame of either direction off the front of `buf`: its NBSS type (see
/// [`nbss`]) and body, or `Ok(None)` when more bytes are needed. A type that is none of
/// RFC 1002's, or a length over `max_len`, is an error as soon as the 4-byte header is
/// in: nothing waits for a body that should not come.
pub fn split_frame(
    buf: &mut BytesMut,
    max_len: usize,
) -> Result<Option<(u8, BytesMut)>, FramingError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let kind = buf[0];
    let len = (usize::from(buf[1]) << 16) | (usize::from(buf[2]) << 8) | usize::from(buf[3]);
    if !matches!(kind, SESSION_MESSAGE | SESSION_REQUEST..=KEEP_ALIVE) {
        return Err(FramingError::UnknownType(kind));
    }
    if len > max_len {
        return Err(FramingError::TooLong { len, max: max_len });
    }
    if buf.len() < 4 + len {
        buf.reserve(4 + len - buf.len());
        return Ok(None);
    }
    let mut frame = buf.split_to(4 + len);
    Ok(Some((kind, frame.split_off(4))))
}

/// Takes one frame a client receives off the front of `buf`, or `Ok(None)` when more
/// bytes are needed.
pub(crate) fn decode_frame(
    buf: &mut BytesMut,
    max_len: usize,
) -> Result<Option<Frame>, FramingError> {
    let Some((kind, body)) = split_frame(buf, max_len)? else {
        return Ok(None);
    };
    Ok(Some(match kind {
        SESSION_MESSAGE => Frame::Message(body),
        POSITIVE_RESPONSE => Frame::SessionAccepted,
        NEGATIVE_RESPONSE => {
            Frame::SessionRefused(body.first().map_or(SessionRefusal::Unspecified, |&c| {
                SessionRefusal::from_code(c)
            }))
        }
        KEEP_ALIVE => Frame::KeepAlive,
        // A session request or a retarget response is nothing a client receives.
        other => return Err(FramingError::UnknownType(other)),
    }))
}

/// How many more bytes complete the next frame in `buf` (at least 1), so a driver can
/// read whole frames instead of splitting them across reads.
pub(crate) fn bytes_to_complete(buf: &[u8]) -> usize {
    match buf {
        [_, a, b, c, ..] => {
            let len = (usize::from(*a) << 16) | (usize::from(*b) << 8) | usize::from(*c);
            (4 + len).saturating_sub(buf.len()).max(1)
        }
        _ => 4 - buf.len(),
    }
}

/// Appends the 4-byte Direct TCP / NBSS session message header for a `len`-byte message.
pub(crate) fn put_frame_header(out: &mut Vec<u8>, len: usize) {
    let len = len as u32;
    out.extend_from_slice(&[
        SESSION_MESSAGE,
        (len >> 16) as u8,
        (len >> 8) as u8,
        len as u8,
    ]);
}

/// Appends an NBSS SESSION REQUEST (RFC 1002 4.3.2) for `called` (as a file server,
/// suffix 0x20) from `calling` (a workstation, 0x00). Names are cut to 15 characters,
/// as pysmb cuts them.
pub(crate) fn put_session_request(out: &mut Vec<u8>, called: &str, calling: &str) {
    let mut names = Vec::with_capacity(68);
    NetBiosName::padded(called.as_bytes(), suffix::FILE_SERVER).encode(&mut names);
    NetBiosName::padded(calling.as_bytes(), suffix::WORKSTATION).encode(&mut names);
    out.extend_from_slice(&[SESSION_REQUEST, 0, 0, names.len() as u8]);
    out.extend_from_slice(&names);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_frames_need_more() {
        let mut b = BytesMut::from(&[0u8, 0, 0, 3, 1, 2][..]);
        assert_eq!(decode_frame(&mut b, 100), Ok(None));
        b.extend_from_slice(&[3, 0]);
        assert_eq!(
            decode_frame(&mut b, 100),
            Ok(Some(Frame::Message(BytesMut::from(&[1u8, 2, 3][..]))))
        );
        assert_eq!(&b[..], &[0]);
        assert_eq!(decode_frame(&mut b, 100), Ok(None));
    }

    #[test]
    fn bytes_to_complete_counts_to_the_frame_end() {
        assert_eq!(bytes_to_complete(&[]), 4);
        assert_eq!(bytes_to_complete(&[0, 0]), 2);
        assert_eq!(bytes_to_complete(&[0, 0, 1, 0]), 256);
        assert_eq!(bytes_to_complete(&[0, 0, 0, 2, 9]), 1);
        assert_eq!(bytes_to_complete(&[0, 0, 0, 1, 9, 9]), 1);
    }

    #[test]
    fn oversized_and_unknown_frames_are_errors() {
        let mut b = BytesMut::from(&[0u8, 1, 0, 0][..]);
        assert_eq!(
            decode_frame(&mut b, 1000),
            Err(FramingError::TooLong {
                len: 65536,
                max: 1000
            })
        );
        let mut b = BytesMut::from(&[0x42u8, 0, 0, 0][..]);
        assert_eq!(
            decode_frame(&mut b, 1000),
            Err(FramingError::UnknownType(0x42))
        );
    }

    #[test]
    fn netbios_session_request_encoding() {
        // RFC 1001 14.1: "FRED" with suffix 0x20 encodes as EGFCEFEECACACACACACACACACACACACA.
        let mut out = Vec::new();
        put_session_request(&mut out, "fred", "x");
        assert_eq!(&out[..4], &[0x81, 0, 0, 68]);
        assert_eq!(out[4], 32);
        assert_eq!(&out[5..37], b"EGFCEFEECACACACACACACACACACACACA");
        assert_eq!(out[37], 0);
        let mut b = BytesMut::from(&[0x82u8, 0, 0, 0][..]);
        assert_eq!(decode_frame(&mut b, 10), Ok(Some(Frame::SessionAccepted)));
    }

    #[test]
    fn negative_session_responses_name_their_reason() {
        let mut b = BytesMut::from(&[0x83u8, 0, 0, 1, 0x82][..]);
        let refusal = SessionRefusal::CalledNameNotPresent;
        assert_eq!(
            decode_frame(&mut b, 10),
            Ok(Some(Frame::SessionRefused(refusal)))
        );
        assert_eq!(refusal.to_string(), "called name not present (0x82)");
        for code in [0x80, 0x81, 0x82, 0x83, 0x8F, 0x42] {
            assert_eq!(SessionRefusal::from_code(code).code(), code);
        }
        assert_eq!(
            SessionRefusal::from_code(0x42).to_string(),
            "unknown error code (0x42)"
        );
        let mut b = BytesMut::from(&[0x83u8, 0, 0, 0][..]);
        assert_eq!(
            decode_frame(&mut b, 10),
            Ok(Some(Frame::SessionRefused(SessionRefusal::Unspecified)))
        );
    }
}
