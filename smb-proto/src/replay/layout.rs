//! Where frames and SMB2 messages lie in a recorded byte stream, read with the core's
//! public wire pieces: for the comments the recorder writes, the digests it takes, the
//! logins a replay needs and the positions its errors name. Nothing here trusts the
//! bytes: every read is bounded, and what cannot be read is simply not described.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;

use crate::auth::ntlm::{flags as ntlm_flags, AuthenticateMessage, RecordedResponses};
use crate::auth::spnego::parse_neg_token_resp;
use crate::connection::framing::nbss;
use crate::ntstatus::NtStatus;
use crate::wire::header::{flags, Command, Header, HEADER_LEN, PROTOCOL_ID};
use crate::wire::session_setup::SessionSetupRequest;
use crate::wire::transform;

/// Length of the frame header (NBSS type and 24-bit length) before every message.
pub(crate) const FRAME_HEADER: u64 = 4;
/// Outgoing payloads at least this long are stored as digests when asked: shorter ones
/// cost little and are worth seeing in a diff.
pub(crate) const DIGEST_MIN: usize = 4096;

/// Bytes of a stream at absolute offsets; `None` where they are not known (a digest,
/// or past the end).
pub(crate) trait View {
    fn get(&self, at: u64, len: usize) -> Option<Cow<'_, [u8]>>;
}

impl View for [u8] {
    fn get(&self, at: u64, len: usize) -> Option<Cow<'_, [u8]>> {
        let at = usize::try_from(at).ok()?;
        self.get(at..at.checked_add(len)?).map(Cow::Borrowed)
    }
}

fn u32_at(v: &(impl View + ?Sized), at: u64) -> Option<u32> {
    let b = v.get(at, 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The total length (header included) of the frame whose header is `head`.
pub(crate) fn frame_len(head: &[u8]) -> u64 {
    match head {
        [_, a, b, c, ..] => {
            FRAME_HEADER + (u64::from(*a) << 16 | u64::from(*b) << 8 | u64::from(*c))
        }
        _ => FRAME_HEADER,
    }
}

/// The SMB2 message headers of the frame at `frame`, `len` bytes long, as far as the
/// chain of NextCommand offsets can be followed through known bytes.
pub(crate) fn messages(v: &(impl View + ?Sized), frame: u64, len: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let end = frame.saturating_add(len);
    if v.get(frame, 1).as_deref() != Some(&[nbss::SESSION_MESSAGE][..]) {
        return out;
    }
    let mut at = frame + FRAME_HEADER;
    // A chain can hold at most one message per header's worth of bytes; the bound
    // keeps a hostile chain from looping.
    while at < end && out.len() < 4096 {
        if v.get(at, 4).as_deref() != Some(&PROTOCOL_ID[..]) {
            break;
        }
        out.push(at);
        match u32_at(v, at + 20) {
            Some(next) if next != 0 => at = at.saturating_add(u64::from(next)),
            _ => break,
        }
    }
    out
}

/// The frame-relative ranges of an outgoing frame that a recording with digests stores
/// as SHA-256: WRITE data in a plain frame, the ciphertext of an encrypted one, each at
/// least [`DIGEST_MIN`] long. `frame` holds the frame's first bytes (its header
/// included); only what they show is found.
pub(crate) fn digest_regions(frame: &[u8]) -> Vec<Range<usize>> {
    let len = frame_len(frame) as usize;
    let mut out = Vec::new();
    let body = FRAME_HEADER as usize;
    if frame.get(body..body + 4) == Some(&transform::PROTOCOL_ID[..]) {
        let start = body + transform::TRANSFORM_HEADER_LEN;
        if len.saturating_sub(start) >= DIGEST_MIN {
            out.push(start..len);
        }
        return out;
    }
    for m in messages(frame, 0, len as u64) {
        let m = m as usize;
        let Some(h) = frame.get(m..m + HEADER_LEN) else {
            break;
        };
        if u16::from_le_bytes([h[12], h[13]]) != Command::Write as u16 {
            continue;
        }
        let Some(b) = frame.get(m + HEADER_LEN..m + HEADER_LEN + 8) else {
            break;
        };
        let data_offset = usize::from(u16::from_le_bytes([b[2], b[3]]));
        let length = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
        let start = m + data_offset;
        let end = start.saturating_add(length).min(len);
        if start < end && end - start >= DIGEST_MIN {
            out.push(start..end);
        }
    }
    out
}

/// One line about a message for a reader of the recording: "READ request, message id
/// 9", "READ response, message id 9, STATUS_END_OF_FILE".
pub(crate) fn message_summary(h: &Header) -> String {
    let command = Command::name_of(h.command);
    let mut s = if h.is_response() {
        format!("{command} response, message id {}", h.message_id)
    } else {
        format!("{command} request, message id {}", h.message_id)
    };
    if h.is_response() {
        let status = NtStatus(h.status);
        match status.name() {
            Some(name) => s.push_str(&format!(", {name}")),
            None => s.push_str(&format!(", status {:#010x}", h.status)),
        }
    }
    if h.is_async() && h.is_response() {
        s.push_str(", async");
    }
    if h.flags & flags::RELATED_OPERATIONS != 0 {
        s.push_str(", related");
    }
    if h.is_signed() {
        s.push_str(", signed");
    }
    s
}

/// What the frame starting at `frame` is, when it carries no plain SMB2 message.
pub(crate) fn frame_summary(v: &(impl View + ?Sized), frame: u64) -> Option<String> {
    let head = v.get(frame, 4)?;
    let len = frame_len(&head) - FRAME_HEADER;
    Some(match head[0] {
        nbss::SESSION_MESSAGE => match v.get(frame + FRAME_HEADER, 4).as_deref() {
            Some(p) if p == transform::PROTOCOL_ID => match v.get(frame + FRAME_HEADER + 44, 8) {
                Some(id) => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&id);
                    format!(
                        "encrypted message, session {:#018x}, {len} bytes",
                        u64::from_le_bytes(b)
                    )
                }
                None => format!("encrypted message, {len} bytes"),
            },
            Some(p) if p == PROTOCOL_ID => return None,
            _ => format!("frame of {len} bytes"),
        },
        nbss::SESSION_REQUEST => "NetBIOS session request".to_string(),
        nbss::POSITIVE_RESPONSE => "NetBIOS positive session response".to_string(),
        nbss::NEGATIVE_RESPONSE => "NetBIOS negative session response".to_string(),
        nbss::KEEP_ALIVE => "NetBIOS keep-alive".to_string(),
        other => format!("frame of type {other:#04x}, {len} bytes"),
    })
}

/// The name of the SMB2 header field at byte `at` of a header (MS-SMB2 2.2.1).
pub(crate) fn header_field(at: usize, is_async: bool) -> &'static str {
    match at {
        0..=3 => "ProtocolId",
        4..=5 => "StructureSize",
        6..=7 => "CreditCharge",
        8..=11 => "Status/ChannelSequence",
        12..=13 => "Command",
        14..=15 => "CreditRequest/CreditResponse",
        16..=19 => "Flags",
        20..=23 => "NextCommand",
        24..=31 => "MessageId",
        32..=39 if is_async => "AsyncId",
        32..=35 => "Reserved",
        36..=39 => "TreeId",
        40..=47 => "SessionId",
        _ => "Signature",
    }
}

/// Where byte `at` of a stream lies, for an error: its frame, and within an SMB2
/// message its command and message id and the header field or body byte. `frames`
/// are the stream's frame starts, in order.
pub(crate) fn position(v: &(impl View + ?Sized), frames: &[u64], at: u64) -> String {
    let i = frames.partition_point(|&f| f <= at);
    let Some(frame) = i.checked_sub(1).map(|i| frames[i]) else {
        return "before any frame".to_string();
    };
    let Some(head) = v.get(frame, 4) else {
        return format!("in frame {i} (at offset {frame})");
    };
    let len = frame_len(&head);
    let msgs = messages(v, frame, len);
    if at < frame + FRAME_HEADER {
        let what = msgs
            .first()
            .and_then(|&m| v.get(m, HEADER_LEN))
            .and_then(|h| Header::decode(&h).ok())
            .map(|h| message_summary(&h))
            .or_else(|| frame_summary(v, frame))
            .unwrap_or_else(|| "a frame".into());
        return format!(
            "{what}: byte {} of its frame's 4-byte header (frame {i} at offset {frame}, {} bytes)",
            at - frame,
            len - FRAME_HEADER
        );
    }
    let m = msgs.partition_point(|&m| m <= at);
    let Some(start) = m.checked_sub(1).map(|m| msgs[m]) else {
        let what = frame_summary(v, frame).unwrap_or_else(|| "frame".into());
        return format!(
            "byte {} of frame {i} (at offset {frame}): {what}",
            at - frame - FRAME_HEADER
        );
    };
    let header = v
        .get(start, HEADER_LEN)
        .and_then(|h| Header::decode(&h).ok());
    let Some(header) = header else {
        return format!("in frame {i} (at offset {frame}), an SMB2 message at offset {start}");
    };
    let what = message_summary(&header);
    let rel = (at - start) as usize;
    if rel < HEADER_LEN {
        format!(
            "{what}: header field {} (byte {rel} of the header; frame {i} at offset {frame})",
            header_field(rel, header.is_async())
        )
    } else {
        format!(
            "{what}: byte {} of the body (frame {i} at offset {frame})",
            rel - HEADER_LEN
        )
    }
}

/// The SMB2 header a stream of `bytes` starting at a message header shows, if whole.
pub(crate) fn header_of(bytes: &[u8]) -> Option<Header> {
    Header::decode(bytes.get(..HEADER_LEN)?).ok()
}

/// An NTLM AUTHENTICATE message a client sent in a SESSION_SETUP request.
pub(crate) struct SentLogin {
    /// What a replay sends again instead of computing it from the password.
    pub(crate) responses: RecordedResponses,
    /// Whether the exchange was anonymous (no key to exchange).
    pub(crate) anonymous: bool,
    /// Whether the client and server agreed on key exchange.
    pub(crate) key_exchange: bool,
}

/// The NTLM AUTHENTICATE messages in the SESSION_SETUP requests of an outgoing frame's
/// body (the bytes after its 4-byte header). Tokens that are not SPNEGO-wrapped NTLM
/// (another mechanism, the first round's NEGOTIATE) are no login of this kind.
///
/// # Errors
///
/// A description of an AUTHENTICATE message that does not parse.
pub(crate) fn sent_logins(body: &[u8]) -> Result<Vec<SentLogin>, String> {
    let mut out = Vec::new();
    if !body.starts_with(&PROTOCOL_ID) {
        return Ok(out);
    }
    for message in crate::wire::header::compound_messages(Bytes::copy_from_slice(body)) {
        let Ok((header, msg)) = message else {
            break;
        };
        if header.is_response() || header.command != Command::SessionSetup as u16 {
            continue;
        }
        let Ok(req) = SessionSetupRequest::decode(&msg) else {
            continue;
        };
        let Ok(resp) = parse_neg_token_resp(&req.security_buffer) else {
            continue;
        };
        let Some(token) = resp.response_token else {
            continue;
        };
        if token.get(8..12) != Some(&3u32.to_le_bytes()[..]) {
            continue;
        }
        let auth = AuthenticateMessage::parse(&token)
            .map_err(|e| format!("the AUTHENTICATE of message id {}: {e}", header.message_id))?;
        out.push(SentLogin {
            anonymous: auth.negotiate_flags & ntlm_flags::NEGOTIATE_ANONYMOUS != 0,
            key_exchange: auth.negotiate_flags & ntlm_flags::NEGOTIATE_KEY_EXCH != 0,
            responses: RecordedResponses::from_message(&auth),
        });
    }
    Ok(out)
}
