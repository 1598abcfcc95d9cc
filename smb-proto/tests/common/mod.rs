//! Helpers shared by the integration tests: hex decoding, and the path from a pcapng
//! capture to authenticated SMB2 messages — TCP reassembly, direct-TCP framing,
//! compound splitting, and deriving a session's keys from its NTLMSSP exchange. A
//! capture dissector can reuse the same steps.
//!
//! Test code: a malformed capture is a broken fixture, so failures panic with context.
#![allow(dead_code)]

use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapNGSlice};

use smb_proto::auth::ntlm::{session_key_from_authenticate, Credentials};
use smb_proto::auth::spnego::{parse_neg_token_resp, NegTokenResp};
use smb_proto::crypto::encryption::Cipher;
use smb_proto::crypto::kdf::{derive_session_keys, SessionKeys};
use smb_proto::crypto::preauth::PreauthHash;
use smb_proto::crypto::signing::SigningAlgorithm;

/// Decodes a hex string (case-insensitive, whitespace ignored).
pub fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    assert!(s.len().is_multiple_of(2), "odd-length hex");
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).expect("hex digit"))
        .collect()
}

pub fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

pub fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

pub fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(b[at..at + 2].try_into().unwrap())
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// The two byte streams of one TCP connection.
pub struct TcpStreams {
    /// Client to server.
    pub to_server: Vec<u8>,
    /// Server to client.
    pub to_client: Vec<u8>,
}

/// Reassembles the TCP connection to `server_port` in an Ethernet/IPv4 pcapng capture.
///
/// Segments are ordered by sequence number relative to the SYN; bytes already
/// received (retransmissions, overlaps, duplicates) are dropped, and a hole panics.
pub fn tcp_streams(pcapng: &[u8], server_port: u16) -> TcpStreams {
    // Per direction (0 = to server, 1 = to client): initial sequence number and segments.
    let mut isn: [Option<u32>; 2] = [None, None];
    let mut segments: [Vec<(u32, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
    for block in PcapNGSlice::from_slice(pcapng).expect("pcapng section header") {
        let PcapBlockOwned::NG(Block::EnhancedPacket(epb)) = block.expect("pcapng block") else {
            continue;
        };
        let frame = &epb.data[..epb.caplen as usize];
        // Ethernet II: 14-byte header, EtherType IPv4.
        if frame.len() < 14 || be16(frame, 12) != 0x0800 {
            continue;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0F) * 4;
        if ip[9] != 6 {
            continue;
        }
        // Trim Ethernet padding with the IP total length.
        let ip = &ip[..usize::from(be16(ip, 2))];
        let tcp = &ip[ihl..];
        let (sport, dport) = (be16(tcp, 0), be16(tcp, 2));
        let seq = be32(tcp, 4);
        let data_offset = usize::from(tcp[12] >> 4) * 4;
        let syn = tcp[13] & 0x02 != 0;
        let dir = if dport == server_port {
            0
        } else if sport == server_port {
            1
        } else {
            continue;
        };
        if syn {
            isn[dir] = Some(seq.wrapping_add(1));
        }
        let payload = &tcp[data_offset..];
        if !payload.is_empty() {
            segments[dir].push((seq, payload.to_vec()));
        }
    }
    let [to_server, to_client] = [0, 1].map(|dir| {
        let segs = &mut segments[dir];
        let isn = isn[dir]
            .or_else(|| segs.iter().map(|s| s.0).min())
            .unwrap_or(0);
        stitch(isn, segs)
    });
    TcpStreams {
        to_server,
        to_client,
    }
}

/// Orders `segments` (sequence number, payload) relative to `isn` and joins them into
/// one byte stream, dropping bytes already seen (retransmissions, overlaps, duplicates).
/// A hole panics.
pub fn stitch(isn: u32, segments: &mut [(u32, Vec<u8>)]) -> Vec<u8> {
    segments.sort_by_key(|(seq, _)| seq.wrapping_sub(isn));
    let mut out: Vec<u8> = Vec::new();
    for (seq, payload) in segments.iter() {
        let start = seq.wrapping_sub(isn) as usize;
        let end = start + payload.len();
        if end <= out.len() {
            continue;
        }
        assert!(
            start <= out.len(),
            "hole in TCP stream at byte {}",
            out.len()
        );
        out.extend_from_slice(&payload[out.len() - start..]);
    }
    out
}

/// Splits a direct-TCP stream (MS-SMB2 2.1: a zero byte and a 24-bit big-endian length,
/// i.e. a 4-byte big-endian length) into transport frames. A frame holds one SMB2
/// message, a compound chain, or one transform (encrypted) message.
pub fn transport_frames(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        assert!(pos + 4 <= stream.len(), "truncated frame header at {pos}");
        let len = be32(stream, pos) as usize;
        assert_eq!(
            stream[pos], 0,
            "direct TCP frame must start with a zero byte"
        );
        let body = &stream[pos + 4..];
        assert!(
            len <= body.len(),
            "truncated frame at {pos}: {len} > {}",
            body.len()
        );
        frames.push(body[..len].to_vec());
        pos += 4 + len;
    }
    frames
}

/// The elements of a compound chain (MS-SMB2 3.2.4.1.4): each starts at the previous
/// element's NextCommand offset and includes its 8-byte alignment padding.
pub fn compound_elements(frame: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = frame;
    loop {
        assert!(rest.len() >= 64, "SMB2 element shorter than a header");
        let next = le32(rest, 20) as usize;
        if next == 0 {
            out.push(rest);
            return out;
        }
        assert!(next >= 64 && next <= rest.len(), "bad NextCommand {next}");
        out.push(&rest[..next]);
        rest = &rest[next..];
    }
}

/// SMB2 header accessors (MS-SMB2 2.2.1).
pub fn command(msg: &[u8]) -> u16 {
    le16(msg, 12)
}

pub fn status(msg: &[u8]) -> u32 {
    le32(msg, 8)
}

pub fn session_id(msg: &[u8]) -> u64 {
    le64(msg, 40)
}

pub const NEGOTIATE: u16 = 0;
pub const SESSION_SETUP: u16 = 1;
pub const STATUS_MORE_PROCESSING_REQUIRED: u32 = 0xC000_0016;

/// The security buffer of a NEGOTIATE response or SESSION_SETUP request/response: its
/// (offset, length) fields sit at body offsets 56 (NEGOTIATE response, 2.2.4), 12
/// (SESSION_SETUP request, 2.2.5) or 4 (SESSION_SETUP response, 2.2.6); offsets count
/// from the start of the SMB2 header.
pub fn security_buffer(msg: &[u8]) -> &[u8] {
    let is_response = le32(msg, 16) & 1 != 0;
    let at = 64
        + match (command(msg), is_response) {
            (NEGOTIATE, true) => 56,
            (SESSION_SETUP, false) => 12,
            (SESSION_SETUP, true) => 4,
            other => panic!("no security buffer in {other:?}"),
        };
    let offset = usize::from(le16(msg, at));
    let len = usize::from(le16(msg, at + 2));
    &msg[offset..offset + len]
}

/// The negotiate contexts of a 3.1.1 NEGOTIATE response (MS-SMB2 2.2.4, 2.2.3.1):
/// (ContextType, Data) pairs, each context 8-byte aligned.
pub fn negotiate_contexts(resp: &[u8]) -> Vec<(u16, &[u8])> {
    let count = le16(resp, 64 + 6);
    let mut pos = le32(resp, 64 + 60) as usize;
    let mut out = Vec::new();
    for _ in 0..count {
        pos = (pos + 7) & !7;
        let ctx_type = le16(resp, pos);
        let len = usize::from(le16(resp, pos + 2));
        out.push((ctx_type, &resp[pos + 8..pos + 8 + len]));
        pos += 8 + len;
    }
    out
}

/// What a recorded session's NEGOTIATE and SESSION_SETUP exchange established.
pub struct Session {
    /// DialectRevision from the NEGOTIATE response.
    pub dialect: u16,
    /// The SessionId the server assigned.
    pub session_id: u64,
    /// Signing algorithm: the 3.1.1 signing capabilities context, else AES-CMAC for
    /// 3.x and HMAC-SHA256 for 2.x.
    pub signing: SigningAlgorithm,
    /// Cipher from the 3.1.1 encryption capabilities context (AES-128-CCM for 3.0.x).
    pub cipher: Option<Cipher>,
    /// The NTLMSSP exported session key.
    pub session_key: [u8; 16],
    /// Keys derived with MS-SMB2 3.2.5.3.1.
    pub keys: SessionKeys,
    /// Session.PreauthIntegrityHashValue (zeros below 3.1.1).
    pub preauth_hash: [u8; 64],
    /// The client's first security buffer (SPNEGO NegTokenInit with NTLM NEGOTIATE).
    pub client_init_token: Vec<u8>,
    /// The client's last security buffer, as sent.
    pub client_final_token: Vec<u8>,
    /// That buffer parsed: a NegTokenResp with the NTLM AUTHENTICATE and mechListMIC.
    pub client_final: NegTokenResp,
    /// The server's last SPNEGO NegTokenResp (accept-completed and mechListMIC).
    pub server_final: NegTokenResp,
}

/// Replays NEGOTIATE and SESSION_SETUP from the transport frames of both directions,
/// running the preauth hash (MS-SMB2 3.2.5.2: every message up to the last
/// SESSION_SETUP request; the final successful response is not hashed) and deriving
/// the session key from the NTLMSSP CHALLENGE and AUTHENTICATE with `creds`.
pub fn establish(client: &[Vec<u8>], server: &[Vec<u8>], creds: &Credentials) -> Session {
    let (neg_req, neg_resp) = (&client[0], &server[0]);
    assert_eq!(command(neg_req), NEGOTIATE);
    assert_eq!(command(neg_resp), NEGOTIATE);
    let dialect = le16(neg_resp, 64 + 4);

    let mut signing = match dialect {
        0x0300.. => SigningAlgorithm::AesCmac,
        _ => SigningAlgorithm::HmacSha256,
    };
    let mut cipher = (dialect == 0x0300 || dialect == 0x0302).then_some(Cipher::Aes128Ccm);
    if dialect == 0x0311 {
        for (ctx_type, data) in negotiate_contexts(neg_resp) {
            match ctx_type {
                // SMB2_ENCRYPTION_CAPABILITIES: CipherCount, then the chosen cipher.
                0x0002 => cipher = Cipher::from_id(le16(data, 2)),
                // SMB2_SIGNING_CAPABILITIES: SigningAlgorithmCount, then the chosen one.
                0x0008 => signing = SigningAlgorithm::from_id(le16(data, 2)).expect("signing id"),
                _ => {}
            }
        }
    }

    let mut preauth = PreauthHash::new();
    preauth.update(neg_req);
    preauth.update(neg_resp);
    let mut challenge = None;
    let mut i = 1;
    loop {
        let (req, resp) = (&client[i], &server[i]);
        assert_eq!(command(req), SESSION_SETUP, "client message {i}");
        assert_eq!(command(resp), SESSION_SETUP, "server message {i}");
        preauth.update(req);
        if status(resp) != STATUS_MORE_PROCESSING_REQUIRED {
            assert_eq!(status(resp), 0, "session setup failed");
            break;
        }
        preauth.update(resp);
        let token = parse_neg_token_resp(security_buffer(resp)).expect("server negTokenResp");
        challenge = token.response_token.or(challenge);
        i += 1;
    }
    let (final_req, final_resp) = (&client[i], &server[i]);
    let client_final =
        parse_neg_token_resp(security_buffer(final_req)).expect("client negTokenResp");
    let server_final =
        parse_neg_token_resp(security_buffer(final_resp)).expect("server negTokenResp");
    let authenticate = client_final
        .response_token
        .as_deref()
        .expect("AUTHENTICATE");
    let challenge = challenge.expect("CHALLENGE");
    let session_key =
        session_key_from_authenticate(creds, &challenge, authenticate).expect("session key");

    let preauth_hash = if dialect == 0x0311 {
        *preauth.value()
    } else {
        [0; 64]
    };
    let cipher_key_len = cipher.map_or(16, Cipher::key_len);
    Session {
        dialect,
        session_id: session_id(final_resp),
        signing,
        cipher,
        session_key,
        keys: derive_session_keys(dialect, &session_key, &preauth_hash, cipher_key_len),
        preauth_hash,
        client_init_token: security_buffer(&client[1]).to_vec(),
        client_final_token: security_buffer(final_req).to_vec(),
        client_final,
        server_final,
    }
}
