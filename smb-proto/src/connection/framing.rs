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
    /// NBSS negative session response, with its error code.
    SessionRefused(u8),
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
        NEGATIVE_RESPONSE => Frame::SessionRefused(body.first().copied().unwrap_or(0)),
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

/// Appends an NBSS SESSION REQUEST (RFC 1002 4.3.2) for `called` from `calling`.
pub(crate) fn put_session_request(out: &mut Vec<u8>, called: &str, calling: &str) {
    let mut names = Vec::with_capacity(68);
    encode_netbios_name(&mut names, called, 0x20);
    encode_netbios_name(&mut names, calling, 0x00);
    out.extend_from_slice(&[SESSION_REQUEST, 0, 0, names.len() as u8]);
    out.extend_from_slice(&names);
}

/// First-level encoding (RFC 1001 14.1): 15 upper-case chars space-padded, a suffix
/// byte, each nibble as 'A'+n, length-prefixed and null-terminated (empty scope).
fn encode_netbios_name(out: &mut Vec<u8>, name: &str, suffix: u8) {
    let mut raw = [b' '; 16];
    for (d, s) in raw.iter_mut().zip(name.bytes().take(15)) {
        *d = s.to_ascii_uppercase();
    }
    raw[15] = suffix;
    out.push(32);
    for b in raw {
        out.push(b'A' + (b >> 4));
        out.push(b'A' + (b & 0x0F));
    }
    out.push(0);
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
}
