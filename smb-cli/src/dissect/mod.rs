//! `smb dissect`: checks a capture of SMB2/3 traffic the way a peer would.
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
//! Sessions are found by SessionId across every connection in the capture, which is
//! what multichannel binding needs; two servers in one capture that hand out the same
//! SessionId at the same time would be confused (and reported as failures, never as
//! verified).

mod cli;
pub mod pcap;
pub mod tcp;

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
use smb_proto::wire::{Command, DecodeError, Header, HEADER_LEN};
use smb_proto::{Dialect, NtStatus};

pub use cli::main;
pub use pcap::CaptureError;

/// The ports SMB servers listen on: Direct TCP and the NetBIOS session service.
pub const DEFAULT_PORTS: [u16; 2] = [445, 139];

/// Entries kept per connection for names and pending session setups. Names only label
/// lines, so beyond this they are dropped rather than let a capture grow the tables.
const TABLE_LIMIT: usize = 65_536;

/// NBSS packet types (RFC 1002 4.3.1); Direct TCP uses only the session message.
const NBSS_SESSION_MESSAGE: u8 = 0x00;
const NBSS_SESSION_REQUEST: u8 = 0x81;
const NBSS_POSITIVE_RESPONSE: u8 = 0x82;
const NBSS_NEGATIVE_RESPONSE: u8 = 0x83;
const NBSS_RETARGET_RESPONSE: u8 = 0x84;
const NBSS_KEEP_ALIVE: u8 = 0x85;

/// STATUS_MORE_PROCESSING_REQUIRED: another SESSION_SETUP round follows.
const MORE_PROCESSING_REQUIRED: NtStatus = NtStatus(0xC000_0016);
/// STATUS_PENDING: an interim response; the real one follows with the same MessageId.
const PENDING: NtStatus = NtStatus(0x0000_0103);

/// What the dissector needs besides the capture.
#[derive(Debug, Clone)]
pub struct Options {
    /// The password (or NT hash) to recover session keys with. Only the secret matters:
    /// user and domain come from each AUTHENTICATE message, and a non-empty `user` here
    /// just restricts the key recovery to that user's sessions. Without credentials,
    /// signed and encrypted traffic fails.
    pub credentials: Option<Credentials>,
    /// Server TCP ports that carry SMB.
    pub ports: Vec<u16>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            credentials: None,
            ports: DEFAULT_PORTS.to_vec(),
        }
    }
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server (to the SMB port).
    ToServer,
    /// Server to client.
    ToClient,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::ToServer => "C→S",
            Direction::ToClient => "S→C",
        })
    }
}

/// Where in the capture something was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The frame (packet number from 1) that completed it.
    pub frame: u64,
    /// The TCP connection, numbered from 0 in order of appearance.
    pub stream: usize,
    /// Which way it went.
    pub direction: Direction,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>6} #{} {}", self.frame, self.stream, self.direction)
    }
}

/// What was established about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed, and the signature verifies with the session's (or channel's) key.
    SignedOk,
    /// Carried in a transform message that decrypted and authenticated.
    DecryptedOk,
    /// Neither signed nor encrypted.
    Unsigned,
    /// Did not decode, or its signature did not verify; says why.
    Failed(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::SignedOk => f.write_str("signed-ok"),
            Verdict::DecryptedOk => f.write_str("decrypted-ok"),
            Verdict::Unsigned => f.write_str("unsigned"),
            Verdict::Failed(why) => write!(f, "FAILED: {why}"),
        }
    }
}

/// One SMB2 message.
#[derive(Debug, Clone)]
pub struct Message {
    /// Where it was seen.
    pub place: Place,
    /// Its header.
    pub header: Header,
    /// What it is about, from smb-proto's decoders: the file (CREATE and requests on an
    /// open, and their responses), share path (TREE_CONNECT), user (SESSION_SETUP) or
    /// the negotiated dialect and algorithms (NEGOTIATE response).
    pub name: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// The message as carried (decrypted when it came in a transform message), from its
    /// header to the next compound element.
    pub bytes: Bytes,
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        let status = if h.is_response() {
            let s = NtStatus(h.status);
            s.name()
                .map_or_else(|| format!("{:#010x}", s.0), str::to_string)
        } else {
            "-".to_string()
        };
        write!(
            f,
            "{} {:<15} {:<31} mid={} sid={:#x} ",
            self.place,
            smb_proto::wire::Command::name_of(h.command),
            status,
            h.message_id,
            h.session_id
        )?;
        if h.is_async() {
            write!(f, "async={:#x}", h.async_id)?;
        } else {
            write!(f, "tid={:#x}", h.tree_id)?;
        }
        let name = self.name.as_deref().map_or_else(|| "-".into(), name_token);
        write!(f, " {name} {}", self.verdict)
    }
}

/// One line of the dissection.
#[derive(Debug, Clone)]
pub enum Record {
    /// An SMB2 message.
    Message(Message),
    /// Bytes that could not be dissected: lost by the capture, not SMB framing, or an
    /// encrypted message that could not be decrypted. Counts as a failed message.
    Failure {
        /// Where.
        place: Place,
        /// Why.
        reason: String,
    },
    /// Traffic that is not an SMB2 message and needs no verdict: NetBIOS session
    /// requests and responses, an SMB1 multi-protocol NEGOTIATE.
    Note {
        /// Where.
        place: Place,
        /// What.
        text: String,
    },
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Message(m) => m.fmt(f),
            Record::Failure { place, reason } => write!(f, "{place} FAILED: {reason}"),
            Record::Note { place, text } => write!(f, "{place} {text}"),
        }
    }
}

/// Totals over a capture. `messages` is the sum of the four verdict counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// SMB2 messages and failures.
    pub messages: usize,
    /// Messages whose signature verified.
    pub signed_ok: usize,
    /// Messages that came out of a transform message.
    pub decrypted_ok: usize,
    /// Messages neither signed nor encrypted.
    pub unsigned: usize,
    /// Failures.
    pub failed: usize,
    /// Transform messages decrypted (one may carry a compound of several messages).
    pub transforms: usize,
}

impl Summary {
    fn count(&mut self, record: &Record) {
        let slot = match record {
            Record::Message(m) => match m.verdict {
                Verdict::SignedOk => &mut self.signed_ok,
                Verdict::DecryptedOk => &mut self.decrypted_ok,
                Verdict::Unsigned => &mut self.unsigned,
                Verdict::Failed(_) => &mut self.failed,
            },
            Record::Failure { .. } => &mut self.failed,
            Record::Note { .. } => return,
        };
        *slot += 1;
        self.messages += 1;
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} messages, {} signed-ok, {} decrypted-ok, {} unsigned, {} failed",
            self.messages, self.signed_ok, self.decrypted_ok, self.unsigned, self.failed
        )
    }
}

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

/// What NEGOTIATE settled for a connection.
#[derive(Debug, Clone, Copy)]
struct Negotiated {
    dialect: Dialect,
    signing: SigningAlgorithm,
    cipher: Option<Cipher>,
}

impl Negotiated {
    /// The dialect and algorithms a response settles ([`NegotiateResponse::algorithms`]);
    /// an unknown dialect or algorithm leaves nothing to verify the connection with.
    fn from_response(resp: &NegotiateResponse) -> Result<Self, String> {
        let dialect = Dialect::from_u16(resp.dialect_revision).ok_or_else(|| {
            format!(
                "negotiate response: unknown dialect {:#06x}",
                resp.dialect_revision
            )
        })?;
        let (cipher, signing) = resp
            .algorithms(dialect)
            .map_err(|e| format!("negotiate response: {e}"))?;
        Ok(Negotiated {
            dialect,
            signing,
            cipher,
        })
    }
}

impl fmt::Display for Negotiated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dialect={},signing={}",
            self.dialect,
            signing_name(self.signing)
        )?;
        if let Some(c) = self.cipher {
            write!(f, ",cipher={}", cipher_name(c))?;
        }
        Ok(())
    }
}

/// An established session: how it signs and encrypts, and its keys, or why there are
/// none (guest, anonymous, no or wrong password, an exchange the capture lacks).
struct Session {
    negotiated: Negotiated,
    keys: Result<SessionKeys, String>,
}

/// A SESSION_SETUP request awaiting its response.
struct SetupRequest {
    /// The preauth hash including this request.
    preauth: PreauthHash,
    session_id: u64,
    binding: bool,
    /// The NTLM AUTHENTICATE message, in the request that carries it.
    authenticate: Option<Vec<u8>>,
}

/// An authentication in progress on a connection, by SessionId.
struct AuthProgress {
    /// The preauth hash including the last response.
    preauth: PreauthHash,
    /// The NTLM CHALLENGE message, once the server sent it.
    challenge: Option<Vec<u8>>,
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

/// The SMB state of one TCP connection.
#[derive(Default)]
struct SmbState {
    negotiated: Option<Negotiated>,
    /// Connection.PreauthIntegrityHashValue: NEGOTIATE request and response.
    preauth: PreauthHash,
    /// SESSION_SETUP requests by MessageId.
    setups: HashMap<u64, SetupRequest>,
    /// Authentications in progress by SessionId.
    auths: HashMap<u64, AuthProgress>,
    /// Channel.SigningKey of sessions bound to this connection (MS-SMB2 3.2.5.3.1).
    channel_keys: HashMap<u64, Vec<u8>>,
    /// The name of each outstanding request, by MessageId, for its response.
    names_by_mid: HashMap<u64, String>,
    /// The name each open was created with.
    names_by_fid: HashMap<FileId, String>,
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
    let header = half.buf.get(..4)?;
    let kind = header[0];
    let len = usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
    if !matches!(
        kind,
        NBSS_SESSION_MESSAGE
            | NBSS_SESSION_REQUEST
            | NBSS_POSITIVE_RESPONSE
            | NBSS_NEGATIVE_RESPONSE
            | NBSS_RETARGET_RESPONSE
            | NBSS_KEEP_ALIVE
    ) {
        half.broken = true;
        half.buf.clear();
        shared.fail(
            place,
            format!(
                "not Direct TCP or NetBIOS framing: frame type {kind:#04x} at stream offset {}",
                half.tcp.delivered() - half.buf.len() as u64
            ),
        );
        return None;
    }
    if half.buf.len() < 4 + len {
        return None;
    }
    let mut frame = half.buf.split_to(4 + len);
    Some((kind, frame.split_off(4).freeze()))
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
            .map_err(|e| format!("session {sid:#x}, {}: {e}", cipher_name(cipher)))?;
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
            Verdict::Failed(format!("{} signature does not verify", signing_name(alg)))
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

fn user_name(auth: &AuthenticateMessage<'_>) -> String {
    if auth.domain.is_empty() {
        auth.user.clone()
    } else {
        format!("{}\\{}", auth.domain, auth.user)
    }
}

/// A message body, decoded, reduced to what the dissection uses.
enum Body {
    NegotiateRequest,
    NegotiateResponse(NegotiateResponse),
    SessionSetupRequest(SessionSetupRequest),
    SessionSetupResponse(SessionSetupResponse),
    TreeConnect(String),
    Create(String),
    Created(FileId),
    /// A request on an open.
    Open(FileId),
    /// QUERY_DIRECTORY: the directory and the pattern.
    Search(FileId, String),
    /// SET_INFO FileRenameInformation: the open and the new name.
    Rename(FileId, String),
    Other,
}

/// Decodes a message's body with smb-proto's codec for its command and direction. An
/// unsuccessful response may carry either its normal body or an ERROR body (2.2.2).
fn decode_body(header: &Header, msg: &Bytes) -> Result<Body, DecodeError> {
    let command = header.command()?;
    if !header.is_response() {
        return decode_request(command, msg);
    }
    let normal = decode_response(command, header, msg);
    if normal.is_ok() || NtStatus(header.status) == NtStatus::SUCCESS {
        return normal;
    }
    match ErrorResponse::decode(msg) {
        Ok(_) => Ok(Body::Other),
        Err(_) => normal,
    }
}

fn decode_request(command: Command, msg: &Bytes) -> Result<Body, DecodeError> {
    Ok(match command {
        Command::Negotiate => {
            NegotiateRequest::decode(msg)?;
            Body::NegotiateRequest
        }
        Command::SessionSetup => Body::SessionSetupRequest(SessionSetupRequest::decode(msg)?),
        Command::Logoff => LogoffRequest::decode(msg).map(|_| Body::Other)?,
        Command::TreeConnect => Body::TreeConnect(TreeConnectRequest::decode(msg)?.path),
        Command::TreeDisconnect => TreeDisconnectRequest::decode(msg).map(|_| Body::Other)?,
        Command::Create => Body::Create(CreateRequest::decode(msg)?.name),
        Command::Close => Body::Open(CloseRequest::decode(msg)?.file_id),
        Command::Flush => Body::Open(FlushRequest::decode(msg)?.file_id),
        Command::Read => Body::Open(ReadRequest::decode(msg)?.file_id),
        Command::Write => Body::Open(WriteRequest::decode(msg)?.file_id),
        Command::Lock => Body::Open(LockRequest::decode(msg)?.file_id),
        Command::Ioctl => Body::Open(IoctlRequest::decode(msg)?.file_id),
        Command::Cancel => CancelRequest::decode(msg).map(|_| Body::Other)?,
        Command::Echo => EchoRequest::decode(msg).map(|_| Body::Other)?,
        Command::QueryDirectory => {
            let q = QueryDirectoryRequest::decode(msg)?;
            Body::Search(q.file_id, q.pattern)
        }
        Command::ChangeNotify => Body::Open(ChangeNotifyRequest::decode(msg)?.file_id),
        Command::QueryInfo => Body::Open(QueryInfoRequest::decode(msg)?.file_id),
        Command::SetInfo => {
            let s = SetInfoRequest::decode(msg)?;
            if s.info_type == info_type::FILE && s.file_info_class == class::FILE_RENAME_INFORMATION
            {
                Body::Rename(
                    s.file_id,
                    FileRenameInformation::decode(&s.buffer)?.file_name,
                )
            } else {
                Body::Open(s.file_id)
            }
        }
        // The acknowledgments have the layouts of the break responses (2.2.24, 2.2.25).
        Command::OplockBreak => match BreakResponse::decode(msg)? {
            BreakResponse::Oplock(b) => Body::Open(b.file_id),
            BreakResponse::Lease(_) => Body::Other,
        },
    })
}

fn decode_response(command: Command, header: &Header, msg: &Bytes) -> Result<Body, DecodeError> {
    let other = Body::Other;
    Ok(match command {
        Command::Negotiate => Body::NegotiateResponse(NegotiateResponse::decode(msg)?),
        Command::SessionSetup => Body::SessionSetupResponse(SessionSetupResponse::decode(msg)?),
        Command::Logoff => LogoffResponse::decode(msg).map(|_| other)?,
        Command::TreeConnect => TreeConnectResponse::decode(msg).map(|_| other)?,
        Command::TreeDisconnect => TreeDisconnectResponse::decode(msg).map(|_| other)?,
        Command::Create => Body::Created(CreateResponse::decode(msg)?.file_id),
        Command::Close => CloseResponse::decode(msg).map(|_| other)?,
        Command::Flush => FlushResponse::decode(msg).map(|_| other)?,
        Command::Read => ReadResponse::decode(msg).map(|_| other)?,
        Command::Write => WriteResponse::decode(msg).map(|_| other)?,
        Command::Lock => LockResponse::decode(msg).map(|_| other)?,
        Command::Ioctl => IoctlResponse::decode(msg).map(|_| other)?,
        // CANCEL has no response (MS-SMB2 2.2.30).
        Command::Cancel => return Err(DecodeError::invalid("CANCEL response", header.command)),
        Command::Echo => EchoResponse::decode(msg).map(|_| other)?,
        Command::QueryDirectory => QueryDirectoryResponse::decode(msg).map(|_| other)?,
        Command::ChangeNotify => ChangeNotifyResponse::decode(msg).map(|_| other)?,
        Command::QueryInfo => QueryInfoResponse::decode(msg).map(|_| other)?,
        Command::SetInfo => SetInfoResponse::decode(msg).map(|_| other)?,
        // Unsolicited breaks carry MessageId 0xFFFFFFFFFFFFFFFF (2.2.23).
        Command::OplockBreak if header.message_id == u64::MAX => {
            BreakNotification::decode(msg).map(|_| other)?
        }
        Command::OplockBreak => BreakResponse::decode(msg).map(|_| other)?,
    })
}

/// The NTLMSSP message in a SESSION_SETUP security buffer: raw, or the responseToken of
/// an SPNEGO NegTokenResp. The client's first token (a NegTokenInit, tag 0x60) carries
/// only the NTLM NEGOTIATE, which key recovery does not need; other mechanisms
/// (Kerberos) yield nothing.
fn ntlm_token(security_buffer: &[u8], message_type: u32) -> Result<Option<Vec<u8>>, AuthError> {
    const SIGNATURE: &[u8] = b"NTLMSSP\0";
    let token = if security_buffer.starts_with(SIGNATURE) {
        Some(security_buffer.to_vec())
    } else if security_buffer.first() == Some(&0xA1) {
        parse_neg_token_resp(security_buffer)?.response_token
    } else {
        None
    };
    Ok(token.filter(|t| {
        t.starts_with(SIGNATURE)
            && t.get(8..12)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                == Some(message_type)
    }))
}

/// Related elements of a compound (MS-SMB2 3.2.4.1.4) inherit the session, and the
/// open of a preceding CREATE, through all-ones placeholders.
#[derive(Default)]
struct Chain {
    session_id: u64,
    name: Option<String>,
}

impl SmbState {
    fn transport_frame(
        &mut self,
        shared: &mut Shared<'_>,
        place: Place,
        (kind, body): (u8, Bytes),
    ) {
        match kind {
            NBSS_SESSION_MESSAGE => self.smb_frame(shared, place, body),
            NBSS_SESSION_REQUEST => shared.note(place, "NBSS session request"),
            NBSS_POSITIVE_RESPONSE => shared.note(place, "NBSS positive session response"),
            NBSS_NEGATIVE_RESPONSE => shared.note(place, "NBSS negative session response"),
            NBSS_RETARGET_RESPONSE => shared.note(place, "NBSS retarget session response"),
            _ => {} // keep-alive
        }
    }

    fn smb_frame(&mut self, shared: &mut Shared<'_>, place: Place, frame: Bytes) {
        match frame.get(..4) {
            Some(id) if id == TRANSFORM_PROTOCOL_ID => {
                match shared.decrypt(place.direction, frame) {
                    Ok(plain) => {
                        shared.summary.transforms += 1;
                        self.messages(shared, place, plain, true);
                    }
                    Err(reason) => shared.fail(place, reason),
                }
            }
            Some(id) if id == PROTOCOL_ID => self.messages(shared, place, frame, false),
            // A client may open with an SMB1 NEGOTIATE offering SMB2 (MS-SMB2 3.2.4.2.1).
            Some([0xFF, b'S', b'M', b'B']) if frame.get(4) == Some(&0x72) => {
                shared.note(place, "SMB1 NEGOTIATE (multi-protocol)")
            }
            Some([0xFF, b'S', b'M', b'B']) => shared.fail(
                place,
                "SMB1 message: only SMB2 and SMB3 are dissected".into(),
            ),
            Some([0xFC, b'S', b'M', b'B']) => shared.fail(
                place,
                "compressed message: SMB2 compression is not dissected".into(),
            ),
            _ => shared.fail(
                place,
                format!("not an SMB2 message ({} bytes)", frame.len()),
            ),
        }
    }

    /// Splits a frame into its compound elements (each from its header to the next
    /// one's, padding included, as signed) and dissects each.
    fn messages(
        &mut self,
        shared: &mut Shared<'_>,
        place: Place,
        mut rest: Bytes,
        decrypted: bool,
    ) {
        let mut chain = Chain::default();
        loop {
            if rest.len() < HEADER_LEN {
                let what = if decrypted {
                    "decrypted message"
                } else {
                    "message"
                };
                shared.fail(
                    place,
                    format!(
                        "{what} of {} bytes is shorter than an SMB2 header",
                        rest.len()
                    ),
                );
                return;
            }
            let next = u32::from_le_bytes([rest[20], rest[21], rest[22], rest[23]]) as usize;
            if next == 0 {
                self.message(shared, place, rest, decrypted, &mut chain);
                return;
            }
            if next < HEADER_LEN || next > rest.len() || !next.is_multiple_of(8) {
                shared.fail(
                    place,
                    format!(
                        "bad NextCommand {next} in a compound of {} bytes",
                        rest.len()
                    ),
                );
                return;
            }
            let element = rest.split_to(next);
            self.message(shared, place, element, decrypted, &mut chain);
        }
    }

    fn message(
        &mut self,
        shared: &mut Shared<'_>,
        place: Place,
        bytes: Bytes,
        decrypted: bool,
        chain: &mut Chain,
    ) {
        let mut header = match Header::decode(&bytes) {
            Ok(h) => h,
            Err(e) => return shared.fail(place, format!("SMB2 header: {e}")),
        };
        let related = header.flags & flags::RELATED_OPERATIONS != 0;
        if related && header.session_id == u64::MAX {
            header.session_id = chain.session_id;
        }
        chain.session_id = header.session_id;

        let mut problems = Vec::new();
        let name = match decode_body(&header, &bytes) {
            Ok(body) => match self.track(shared, &header, &bytes, body, related, chain) {
                Ok(name) => name,
                Err(e) => {
                    problems.push(e);
                    None
                }
            },
            Err(e) => {
                problems.push(format!(
                    "{} {}: {e}",
                    smb_proto::wire::Command::name_of(header.command),
                    if header.is_response() {
                        "response"
                    } else {
                        "request"
                    }
                ));
                None
            }
        };
        let verdict = if decrypted {
            Verdict::DecryptedOk
        } else if header.is_signed() {
            shared.verify(self, &header, &bytes)
        } else {
            Verdict::Unsigned
        };
        let verdict = match verdict {
            Verdict::Failed(why) => {
                problems.push(why);
                Verdict::Failed(problems.join("; "))
            }
            v if problems.is_empty() => v,
            _ => Verdict::Failed(problems.join("; ")),
        };
        shared.push(Record::Message(Message {
            place,
            header,
            name,
            verdict,
            bytes,
        }));
    }

    /// Follows the message's effect on the connection (negotiation, authentication,
    /// opens) and returns what it is about.
    fn track(
        &mut self,
        shared: &mut Shared<'_>,
        header: &Header,
        bytes: &Bytes,
        body: Body,
        related: bool,
        chain: &mut Chain,
    ) -> Result<Option<String>, String> {
        let mid = header.message_id;
        let status = NtStatus(header.status);
        if header.is_response() {
            // An interim response leaves the request outstanding.
            if status == PENDING {
                return Ok(self.names_by_mid.get(&mid).cloned());
            }
            let name = self.names_by_mid.remove(&mid);
            return Ok(match body {
                Body::NegotiateResponse(resp) => {
                    if resp.dialect_revision == dialect::SMB2_WILDCARD {
                        return Ok(Some("dialect=2.???".into()));
                    }
                    let negotiated = Negotiated::from_response(&resp)?;
                    self.negotiated = Some(negotiated);
                    self.preauth.update(bytes);
                    Some(negotiated.to_string())
                }
                Body::SessionSetupResponse(resp) => {
                    self.setup_response(shared, header, bytes, Some(&resp));
                    let kind = if resp.session_flags & session_flags::IS_NULL != 0 {
                        Some("anonymous")
                    } else if resp.session_flags & session_flags::IS_GUEST != 0 {
                        Some("guest")
                    } else {
                        None
                    };
                    match (name, kind) {
                        (Some(n), Some(k)) => Some(format!("{n}({k})")),
                        (n, k) => n.or(k.map(str::to_string)),
                    }
                }
                Body::Created(file_id) if status == NtStatus::SUCCESS => {
                    if let Some(n) = &name {
                        insert_bounded(&mut self.names_by_fid, file_id, n.clone());
                    }
                    name
                }
                _ => {
                    if header.command == Command::SessionSetup as u16 {
                        // A failed authentication.
                        self.setup_response(shared, header, bytes, None);
                    }
                    name
                }
            });
        }

        let open_name = |fid: FileId, names: &HashMap<FileId, String>| {
            if related && fid == FileId::ANY {
                chain.name.clone()
            } else {
                names.get(&fid).cloned()
            }
        };
        let name = match body {
            Body::NegotiateRequest => {
                // A new NEGOTIATE (after an SMB1 one, or on a fresh stream) restarts the chain.
                self.preauth = PreauthHash::new();
                self.preauth.update(bytes);
                self.negotiated = None;
                None
            }
            Body::SessionSetupRequest(req) => self.setup_request(header, bytes, &req)?,
            Body::TreeConnect(path) => Some(path),
            Body::Create(name) => {
                let name = if name.is_empty() {
                    "\\".to_string()
                } else {
                    name
                };
                chain.name = Some(name.clone());
                Some(name)
            }
            Body::Open(fid) => {
                let name = open_name(fid, &self.names_by_fid);
                if header.command == Command::Close as u16 {
                    self.names_by_fid.remove(&fid);
                }
                name
            }
            Body::Search(fid, pattern) => Some(match open_name(fid, &self.names_by_fid) {
                Some(dir) if dir != "\\" => format!("{dir}\\{pattern}"),
                _ => pattern,
            }),
            Body::Rename(fid, new) => {
                let old = open_name(fid, &self.names_by_fid).unwrap_or_else(|| "?".into());
                Some(format!("{old} -> {new}"))
            }
            Body::NegotiateResponse(_)
            | Body::SessionSetupResponse(_)
            | Body::Created(_)
            | Body::Other => None,
        };
        if let Some(n) = &name {
            insert_bounded(&mut self.names_by_mid, mid, n.clone());
        }
        Ok(name)
    }

    /// A SESSION_SETUP request: extends the preauth hash of its authentication (MS-SMB2
    /// 3.2.5.2: the connection's hash, then every SESSION_SETUP request and every
    /// response but the final one) and keeps the NTLM AUTHENTICATE. Returns the user.
    fn setup_request(
        &mut self,
        header: &Header,
        bytes: &Bytes,
        req: &SessionSetupRequest,
    ) -> Result<Option<String>, String> {
        let sid = header.session_id;
        let mut preauth = match self.auths.get(&sid) {
            Some(a) => a.preauth.clone(),
            None => self.preauth.clone(),
        };
        preauth.update(bytes);
        let authenticate = ntlm_token(&req.security_buffer, 3)
            .map_err(|e| format!("SESSION_SETUP request security buffer: {e}"))?;
        let user = match &authenticate {
            Some(token) => {
                let auth = AuthenticateMessage::parse(token)
                    .map_err(|e| format!("NTLM AUTHENTICATE: {e}"))?;
                (!auth.user.is_empty()).then(|| user_name(&auth))
            }
            None => None,
        };
        if self.setups.len() < TABLE_LIMIT {
            self.setups.insert(
                header.message_id,
                SetupRequest {
                    preauth,
                    session_id: sid,
                    binding: req.flags & setup_flags::BINDING != 0,
                    authenticate,
                },
            );
        }
        Ok(user)
    }

    /// A SESSION_SETUP response: another round, or the end of an authentication with its
    /// keys (MS-SMB2 3.2.5.3.1). A new session's keys come from its own exchange; a
    /// binding's give the channel its signing key; a re-authentication keeps the keys.
    fn setup_response(
        &mut self,
        shared: &mut Shared<'_>,
        header: &Header,
        bytes: &Bytes,
        resp: Option<&SessionSetupResponse>,
    ) {
        let sid = header.session_id;
        let Some(req) = self.setups.remove(&header.message_id) else {
            return;
        };
        let status = NtStatus(header.status);
        let (Some(resp), Some(negotiated)) = (resp, self.negotiated) else {
            self.auths.remove(&sid);
            return;
        };
        if status == MORE_PROCESSING_REQUIRED {
            let mut preauth = req.preauth;
            preauth.update(bytes);
            let challenge = match ntlm_token(&resp.security_buffer, 2) {
                Ok(Some(c)) => Some(c),
                _ => self.auths.remove(&sid).and_then(|a| a.challenge),
            };
            if self.auths.len() < TABLE_LIMIT {
                self.auths.insert(sid, AuthProgress { preauth, challenge });
            }
            return;
        }
        let auth = self.auths.remove(&sid);
        if status != NtStatus::SUCCESS {
            return;
        }
        let reauthentication = req.session_id != 0 && !req.binding;
        if reauthentication && shared.sessions.contains_key(&sid) {
            return;
        }
        let key = shared.session_key(
            resp.session_flags,
            auth.as_ref().and_then(|a| a.challenge.as_deref()),
            req.authenticate.as_deref(),
        );
        let preauth = if negotiated.dialect == Dialect::Smb311 {
            *req.preauth.value()
        } else {
            [0; 64]
        };
        let cipher_key_len = negotiated.cipher.map_or(16, Cipher::key_len);
        let keys = key
            .map(|k| derive_session_keys(negotiated.dialect as u16, &k, &preauth, cipher_key_len));
        if req.binding {
            if let Ok(keys) = keys {
                insert_bounded(&mut self.channel_keys, sid, keys.signing);
            }
        } else {
            shared.sessions.insert(sid, Session { negotiated, keys });
        }
    }
}

fn insert_bounded<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() < TABLE_LIMIT || map.contains_key(&key) {
        map.insert(key, value);
    }
}

fn signing_name(alg: SigningAlgorithm) -> &'static str {
    match alg {
        SigningAlgorithm::HmacSha256 => "HMAC-SHA256",
        SigningAlgorithm::AesCmac => "AES-128-CMAC",
        SigningAlgorithm::AesGmac => "AES-128-GMAC",
    }
}

fn cipher_name(cipher: Cipher) -> &'static str {
    match cipher {
        Cipher::Aes128Ccm => "AES-128-CCM",
        Cipher::Aes128Gcm => "AES-128-GCM",
        Cipher::Aes256Ccm => "AES-256-CCM",
        Cipher::Aes256Gcm => "AES-256-GCM",
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
