//! `smb dissect`: checks a capture of SMB2/3 (and SMB1) traffic the way a peer would.
//!
//! A pcap or pcapng capture ([`pcap`]) is reassembled into TCP streams ([`tcp`]) on the
//! SMB ports, split into transport frames (Direct TCP or NetBIOS session service) and
//! compound elements, and every SMB2 message is decoded with smb-proto's wire codecs.
//! With the user's password (or NT hash), each session's key is recovered from its
//! NTLMSSP exchange (`session_key_from_authenticate`), the SMB 2.x/3.x keys are derived
//! with the dialect, cipher and 3.1.1 preauth integrity hash of the connection it was
//! set up on, and every signature is verified and every encrypted message decrypted.
//!
//! Each message becomes a [`Record`]: one line with frame, direction, command, status,
//! message id, session id, tree id, the file, share or user it is about, and a
//! [`Verdict`]. A message that does not decode, a signature that does not verify and an
//! encrypted message that does not decrypt are failures; so are bytes the capture lost.
//!
//! SMB1 messages (MS-CIFS, MS-SMB) are decoded with smb-proto's SMB1 codecs and their
//! MD5 signatures checked with the connection's sequence numbers ([`Smb1Message`]).
//!
//! Sessions are found by SessionId across every connection in the capture, which is
//! what multichannel binding needs; two servers in one capture that hand out the same
//! SessionId at the same time would be confused (and reported as failures, never as
//! verified).

mod body;
mod cli;
pub mod pcap;
mod report;
mod smb;
mod smb1;
pub mod tcp;

use body::*;
pub use report::*;
use smb::*;
pub use smb1::Smb1Message;

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use smb_proto::auth::ntlm::{
    session_key_from_authenticate, AuthError, AuthenticateMessage, Credentials,
};
use smb_proto::auth::spnego::parse_neg_token_resp;
use smb_proto::crypto::encryption::{
    decrypt_in_place, transform_session_id, Cipher, TRANSFORM_PROTOCOL_ID,
};
use smb_proto::crypto::kdf::{derive_session_keys, SessionKeys};
use smb_proto::crypto::preauth::PreauthHash;
use smb_proto::crypto::signing::{verify, SigningAlgorithm};
use smb_proto::wire::close::{CloseRequest, CloseResponse};
use smb_proto::wire::create::{CreateRequest, CreateResponse, FileId};
use smb_proto::wire::error::ErrorResponse;
use smb_proto::wire::fscc::{class, FileRenameInformation};
use smb_proto::wire::header::{flags, PROTOCOL_ID};
use smb_proto::wire::ioctl::{IoctlRequest, IoctlResponse};
use smb_proto::wire::lock::{LockRequest, LockResponse};
use smb_proto::wire::negotiate::{dialect, NegotiateRequest, NegotiateResponse};
use smb_proto::wire::notify::{ChangeNotifyRequest, ChangeNotifyResponse};
use smb_proto::wire::oplock_break::{BreakNotification, BreakResponse};
use smb_proto::wire::query_directory::{QueryDirectoryRequest, QueryDirectoryResponse};
use smb_proto::wire::query_info::{info_type, QueryInfoRequest, QueryInfoResponse};
use smb_proto::wire::read::{ReadRequest, ReadResponse};
use smb_proto::wire::session_setup::{
    flags as setup_flags, session_flags, SessionSetupRequest, SessionSetupResponse,
};
use smb_proto::wire::set_info::{SetInfoRequest, SetInfoResponse};
use smb_proto::wire::simple::{
    CancelRequest, EchoRequest, EchoResponse, FlushRequest, FlushResponse, LogoffRequest,
    LogoffResponse, TreeDisconnectRequest, TreeDisconnectResponse,
};
use smb_proto::wire::tree_connect::{TreeConnectRequest, TreeConnectResponse};
use smb_proto::wire::write::{WriteRequest, WriteResponse};
use smb_proto::wire::{Command, DecodeError, Header};
use smb_proto::{Dialect, NtStatus};

pub use cli::main;
pub use pcap::CaptureError;

/// The ports SMB servers listen on: Direct TCP and the NetBIOS session service.
pub const DEFAULT_PORTS: [u16; 2] = [445, 139];

/// Entries kept per connection for names and pending session setups. Names only label
/// lines, so beyond this they are dropped rather than let a capture grow the tables.
const TABLE_LIMIT: usize = 65_536;

use framing::nbss::{
    NEGATIVE_RESPONSE as NBSS_NEGATIVE_RESPONSE, POSITIVE_RESPONSE as NBSS_POSITIVE_RESPONSE,
    RETARGET_RESPONSE as NBSS_RETARGET_RESPONSE, SESSION_MESSAGE as NBSS_SESSION_MESSAGE,
    SESSION_REQUEST as NBSS_SESSION_REQUEST,
};
use smb_proto::connection::framing;

/// STATUS_MORE_PROCESSING_REQUIRED: another SESSION_SETUP round follows.
const MORE_PROCESSING_REQUIRED: NtStatus = NtStatus(0xC000_0016);
/// STATUS_PENDING: an interim response; the real one follows with the same MessageId.
const PENDING: NtStatus = NtStatus(0x0000_0103);

/// Dissects a pcap or pcapng capture, calling `on_record` for each line in capture
/// order, and returns the totals. An error means the file itself could not be read;
/// the records up to that point have been delivered.
pub fn dissect<R: Read>(
    capture: R,
    options: &Options,
    mut on_record: impl FnMut(&Record),
) -> Result<Summary, CaptureError> {
    let mut d = Dissector {
        conns: HashMap::new(),
        streams: 0,
        last_frame: 0,
        shared: Shared {
            options,
            sessions: HashMap::new(),
            summary: Summary::default(),
            out: Vec::new(),
        },
    };
    let read = pcap::read_packets(capture, |frame, link, data| {
        d.last_frame = frame;
        if let Some(segment) = pcap::tcp_segment(link, data) {
            d.segment(frame, &segment);
        }
        d.shared.out.drain(..).for_each(|r| on_record(&r));
    });
    d.finish();
    d.shared.out.drain(..).for_each(|r| on_record(&r));
    read.map(|()| d.shared.summary)
}

/// One direction of a connection: reassembly and the bytes not yet framed.
#[derive(Default)]
struct Half {
    tcp: tcp::HalfStream,
    buf: BytesMut,
    /// After an unrecoverable error the rest of this direction is not dissected.
    broken: bool,
    /// The first frame whose segment the capture cut short.
    cut_frame: Option<u64>,
}

struct Conn {
    index: usize,
    halves: [Half; 2],
    smb: SmbState,
}

/// Everything but the connection table, so a connection can be borrowed beside it.
struct Shared<'o> {
    options: &'o Options,
    /// Established sessions by SessionId, across connections.
    sessions: HashMap<u64, Session>,
    summary: Summary,
    /// Records not yet handed to the caller.
    out: Vec<Record>,
}

struct Dissector<'o> {
    /// Connections by (client, server) address.
    conns: HashMap<(SocketAddr, SocketAddr), Conn>,
    streams: usize,
    last_frame: u64,
    shared: Shared<'o>,
}

impl Dissector<'_> {
    fn segment(&mut self, frame: u64, seg: &pcap::Segment<'_>) {
        let ports = &self.shared.options.ports;
        let (key, direction) = if ports.contains(&seg.dst.port()) {
            ((seg.src, seg.dst), Direction::ToServer)
        } else if ports.contains(&seg.src.port()) {
            ((seg.dst, seg.src), Direction::ToClient)
        } else {
            return;
        };
        // A client SYN with a new ISN on a known address pair opens a new connection.
        let reopened = seg.syn
            && !seg.ack
            && direction == Direction::ToServer
            && self
                .conns
                .get(&key)
                .is_some_and(|c| c.halves[0].tcp.isn() != Some(seg.seq));
        if reopened {
            if let Some(old) = self.conns.remove(&key) {
                self.finish_conn(old);
            }
        }
        let streams = &mut self.streams;
        let conn = self.conns.entry(key).or_insert_with(|| {
            *streams += 1;
            Conn {
                index: *streams - 1,
                halves: Default::default(),
                smb: SmbState::default(),
            }
        });
        let place = Place {
            frame,
            stream: conn.index,
            direction,
        };
        let half = &mut conn.halves[direction as usize];
        if half.broken {
            return;
        }
        if seg.syn {
            half.tcp.syn(seg.seq);
        }
        if !seg.complete {
            half.cut_frame.get_or_insert(frame);
        }
        if let Err(e) = half.tcp.segment(seg.seq, seg.payload, &mut half.buf) {
            half.broken = true;
            let reason = lost_data(e.to_string(), half.cut_frame);
            self.shared.fail(place, reason);
            return;
        }
        while let Some(frame) = next_transport_frame(half, &mut self.shared, place) {
            conn.smb.transport_frame(&mut self.shared, place, frame);
        }
    }

    /// Reports what every connection left unfinished when the capture ended.
    fn finish(&mut self) {
        let mut conns: Vec<Conn> = self.conns.drain().map(|(_, c)| c).collect();
        conns.sort_by_key(|c| c.index);
        for conn in conns {
            self.finish_conn(conn);
        }
    }

    fn finish_conn(&mut self, conn: Conn) {
        for (half, direction) in conn
            .halves
            .iter()
            .zip([Direction::ToServer, Direction::ToClient])
        {
            if half.broken {
                continue;
            }
            let place = Place {
                frame: self.last_frame,
                stream: conn.index,
                direction,
            };
            if let Some((offset, waiting)) = half.tcp.gap() {
                let what = format!(
                    "the capture lacks bytes at stream offset {offset}: {waiting} bytes after them cannot be dissected"
                );
                self.shared.fail(place, lost_data(what, half.cut_frame));
            } else if !half.buf.is_empty() {
                let what = format!(
                    "the capture ends inside a transport frame ({} bytes of it)",
                    half.buf.len()
                );
                self.shared.fail(place, lost_data(what, half.cut_frame));
            }
        }
    }
}

/// Adds which frame the capture cut short, when one explains lost data.
fn lost_data(what: String, cut_frame: Option<u64>) -> String {
    match cut_frame {
        Some(f) => format!("{what} (frame {f} was cut short: snap length or IP fragments)"),
        None => what,
    }
}

/// A transport frame split off `half.buf`: its NBSS type and body. Frames are a type
/// byte and a 24-bit length (MS-SMB2 2.1, RFC 1002 4.3.1), so a frame never needs more
/// than 16 MiB of buffer.
fn next_transport_frame(
    half: &mut Half,
    shared: &mut Shared<'_>,
    place: Place,
) -> Option<(u8, Bytes)> {
    // The 24-bit length caps a frame below 16 MiB: no limit of our own is needed.
    match framing::split_frame(&mut half.buf, 1 << 24) {
        Ok(frame) => frame.map(|(kind, body)| (kind, body.freeze())),
        Err(e) => {
            let at = half.tcp.delivered() - half.buf.len() as u64;
            half.broken = true;
            half.buf.clear();
            let kind = match e {
                framing::FramingError::UnknownType(kind) => kind,
                framing::FramingError::TooLong { .. } => 0,
            };
            shared.fail(
                place,
                format!(
                    "not Direct TCP or NetBIOS framing: frame type {kind:#04x} at stream offset {at}"
                ),
            );
            None
        }
    }
}

impl Shared<'_> {
    fn push(&mut self, record: Record) {
        self.summary.count(&record);
        self.out.push(record);
    }

    fn fail(&mut self, place: Place, reason: String) {
        self.push(Record::Failure { place, reason });
    }

    fn note(&mut self, place: Place, text: &str) {
        self.push(Record::Note {
            place,
            text: text.to_string(),
        });
    }

    /// The plaintext of a transform message (MS-SMB2 3.2.5.1.1.1): the key is the
    /// session's EncryptionKey for what the client sent, DecryptionKey for the server.
    fn decrypt(&self, direction: Direction, frame: Bytes) -> Result<Bytes, String> {
        let sid = transform_session_id(&frame).map_err(|e| format!("transform header: {e}"))?;
        let session = self.sessions.get(&sid).ok_or_else(|| {
            format!("encrypted for session {sid:#x}, whose setup the capture does not hold")
        })?;
        let keys = session
            .keys
            .as_ref()
            .map_err(|why| format!("cannot decrypt for session {sid:#x}: {why}"))?;
        let cipher = session.negotiated.cipher.ok_or_else(|| {
            format!("encrypted for session {sid:#x}, whose connection negotiated no cipher")
        })?;
        let key = match direction {
            Direction::ToServer => &keys.encryption,
            Direction::ToClient => &keys.decryption,
        };
        let mut buf = BytesMut::from(frame);
        decrypt_in_place(cipher, key, &mut buf)
            .map_err(|e| format!("session {sid:#x}, {}: {e}", cipher))?;
        Ok(buf.freeze())
    }

    /// Checks a signed message with the channel's key, if the session is bound to this
    /// connection, or the session's (a binding request is signed with the latter).
    fn verify(&self, smb: &SmbState, header: &Header, bytes: &[u8]) -> Verdict {
        let sid = header.session_id;
        let Some(session) = self.sessions.get(&sid) else {
            return Verdict::Failed(format!(
                "signed by session {sid:#x}, whose setup the capture does not hold"
            ));
        };
        let keys = match &session.keys {
            Ok(keys) => keys,
            Err(why) => return Verdict::Failed(format!("cannot check the signature: {why}")),
        };
        let alg = smb
            .negotiated
            .map_or(session.negotiated.signing, |n| n.signing);
        let mut candidates = smb
            .channel_keys
            .get(&sid)
            .into_iter()
            .chain([&keys.signing]);
        if candidates.any(|key| verify(alg, key, bytes)) {
            Verdict::SignedOk
        } else {
            Verdict::Failed(format!("{} signature does not verify", alg))
        }
    }

    /// The NTLM exported session key of an authentication that completed with
    /// `session_flags`, from its CHALLENGE and AUTHENTICATE and the credentials.
    fn session_key(
        &self,
        session_flags: u16,
        challenge: Option<&[u8]>,
        authenticate: Option<&[u8]>,
    ) -> Result<[u8; 16], String> {
        if session_flags & session_flags::IS_NULL != 0 {
            return Err("anonymous session: no key".into());
        }
        if session_flags & session_flags::IS_GUEST != 0 {
            return Err("guest session: no key".into());
        }
        let (Some(challenge), Some(authenticate)) = (challenge, authenticate) else {
            return Err("the capture holds no NTLM exchange for this session (Kerberos?)".into());
        };
        let creds = self
            .options
            .credentials
            .as_ref()
            .ok_or("no password given (--password, SMB_PASSWORD or --nt-hash)")?;
        let auth = AuthenticateMessage::parse(authenticate).map_err(|e| e.to_string())?;
        if !creds.user.is_empty() && !creds.user.eq_ignore_ascii_case(&auth.user) {
            return Err(format!(
                "session of {}, not of the --user given",
                user_name(&auth)
            ));
        }
        session_key_from_authenticate(creds, challenge, authenticate).map_err(|e| match e {
            AuthError::BadResponse => format!("wrong password for {}", user_name(&auth)),
            e => format!("session key of {}: {e}", user_name(&auth)),
        })
    }
}

fn insert_bounded<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() < TABLE_LIMIT || map.contains_key(&key) {
        map.insert(key, value);
    }
}

/// A name from the network as one token of a line: as is when it has no blanks, quotes
/// or control characters, else quoted, with those escaped.
fn name_token(s: &str) -> String {
    if !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"')
    {
        return s.to_string();
    }
    // `crate::printable` never writes a quote, so quotes escaped after it are the name's own.
    format!("\"{}\"", crate::printable(s).replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiate_with_an_unknown_dialect_or_algorithm_is_a_failure() {
        let v30 = NegotiateResponse {
            dialect_revision: dialect::SMB3_0,
            capabilities: smb_proto::wire::negotiate::capabilities::ENCRYPTION,
            ..Default::default()
        };
        assert_eq!(
            Negotiated::from_response(&v30).unwrap().to_string(),
            "dialect=3.0,signing=AES-128-CMAC,cipher=AES-128-CCM"
        );
        let unknown_cipher = NegotiateResponse {
            dialect_revision: dialect::SMB3_1_1,
            cipher: Some(9),
            ..Default::default()
        };
        let e = Negotiated::from_response(&unknown_cipher).unwrap_err();
        assert!(e.contains("cipher"), "{e}");
        let unknown_dialect = NegotiateResponse {
            dialect_revision: 0x0400,
            ..Default::default()
        };
        let e = Negotiated::from_response(&unknown_dialect).unwrap_err();
        assert!(e.contains("dialect 0x0400"), "{e}");
    }

    #[test]
    fn printable_names_cannot_forge_lines() {
        assert_eq!(name_token("dir1\\payload.bin"), "dir1\\payload.bin");
        assert_eq!(name_token("a b"), "\"a b\"");
        assert_eq!(name_token("x\n1 #0 C→S"), "\"x\\n1 #0 C→S\"");
        assert_eq!(name_token(""), "\"\"");
        assert_eq!(name_token("\u{1b}[2J"), "\"\\u{1b}[2J\"");
        assert_eq!(name_token("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn summary_counts_every_verdict_once() {
        let place = Place {
            frame: 1,
            stream: 0,
            direction: Direction::ToServer,
        };
        let mut s = Summary::default();
        for verdict in [
            Verdict::SignedOk,
            Verdict::DecryptedOk,
            Verdict::Unsigned,
            Verdict::Failed("x".into()),
        ] {
            s.count(&Record::Message(Message {
                place,
                header: Header::default(),
                name: None,
                verdict,
                bytes: Bytes::new(),
            }));
        }
        s.count(&Record::Failure {
            place,
            reason: "lost".into(),
        });
        s.count(&Record::Note {
            place,
            text: "NBSS".into(),
        });
        assert_eq!(
            s.to_string(),
            "5 messages, 1 signed-ok, 1 decrypted-ok, 1 unsigned, 2 failed"
        );
    }
}
