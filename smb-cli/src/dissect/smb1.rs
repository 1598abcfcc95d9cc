//! SMB1 messages (MS-CIFS, MS-SMB) in a capture: each decoded with smb-proto's SMB1
//! codecs into one line (command and AndX chain, status, MID, PID, TID, UID, flags, the
//! fields of the commands a client speaks) and its MD5 signature checked.
//!
//! Signing follows the client's own rules ([`smb1_signing`]): it starts on a connection
//! with the first authenticated SESSION_SETUP_ANDX whose final response is signed (with
//! sequence number 1); the key is the NTLM exported session key, recovered from the
//! capture's NTLMSSP exchange and the password as for SMB2. From then on each request
//! takes the next sequence number and its response (every fragment of it) that number
//! plus one; NT_CANCEL takes one number and has no response. A server's oplock break is
//! not signed. A capture that starts after the session setup cannot be checked.

use super::*;

use smb_proto::crypto::smb1_signing;
use smb_proto::wire::smb1::file::{
    CloseRequest as Smb1CloseRequest, NtCreateRequest, NtCreateResponse,
    ReadRequest as Smb1ReadRequest, ReadResponse as Smb1ReadResponse,
    WriteRequest as Smb1WriteRequest, WriteResponse as Smb1WriteResponse,
};
use smb_proto::wire::smb1::header::{security_mode, SIGNATURE_RANGE};
use smb_proto::wire::smb1::negotiate::{
    requested_dialects, NegotiateResponse as Smb1NegotiateResponse,
};
use smb_proto::wire::smb1::session_setup::{
    SessionSetupRequest as Smb1SetupRequest, SessionSetupResponse as Smb1SetupResponse,
    ACTION_GUEST,
};
use smb_proto::wire::smb1::trans::{TransFragment, TransKind, TransRequest};
use smb_proto::wire::smb1::tree::{
    TreeConnectRequest as Smb1TreeConnectRequest, TreeConnectResponse as Smb1TreeConnected,
};
use smb_proto::wire::smb1::{andx_chain, Smb1Command, Smb1Header, HEADER_LEN};
use zeroize::Zeroizing;

/// One SMB1 message.
#[derive(Debug, Clone)]
pub struct Smb1Message {
    /// Where it was seen.
    pub place: Place,
    /// Its header.
    pub header: Smb1Header,
    /// The commands chained after the header's (AndX, MS-CIFS 2.2.3.4).
    pub chained: Vec<Smb1Command>,
    /// What it says, from smb-proto's decoders: the dialects offered and chosen, the
    /// user, share path, file name with its FID, offset and length, the TRANSACTION2
    /// subcommand or RAP function.
    pub details: Option<String>,
    /// The verdict: `SignedOk` when the MD5 signature verifies, `Unsigned` before
    /// signing starts or on a connection that does not sign.
    pub verdict: Verdict,
    /// The message, from its header.
    pub bytes: Bytes,
}

impl Smb1Message {
    /// The command and the ones chained after it, `+`-separated.
    pub fn command_name(&self) -> String {
        std::iter::once(Smb1Command(self.header.command))
            .chain(self.chained.iter().copied())
            .map(command_name)
            .collect::<Vec<_>>()
            .join("+")
    }
}

impl fmt::Display for Smb1Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        let status = if self.place.direction == Direction::ToClient {
            let s = h.nt_status();
            s.name()
                .map_or_else(|| format!("{:#010x}", s.0), str::to_string)
        } else {
            "-".to_string()
        };
        let details = self
            .details
            .as_deref()
            .map_or_else(|| "-".into(), name_token);
        write!(
            f,
            "{} {:<15} {:<31} mid={} pid={} tid={:#x} uid={:#x} flags={:#04x}/{:#06x} {details} {}",
            self.place,
            self.command_name(),
            status,
            h.mid,
            u32::from(h.pid_high) << 16 | u32::from(h.pid),
            h.tid,
            h.uid,
            h.flags,
            h.flags2,
            self.verdict
        )
    }
}

/// The MS-CIFS name of a command without `SMB_COM_`, for the codes smb-proto has no
/// constant for too.
fn command_name(c: Smb1Command) -> String {
    match c.0 {
        0x08 => "QUERY_INFORMATION".into(),
        0x10 => "CHECK_DIRECTORY".into(),
        0x2D => "OPEN_ANDX".into(),
        0x26 => "TRANSACTION_SECONDARY".into(),
        0x33 => "TRANSACTION2_SECONDARY".into(),
        0xA0 => "NT_TRANSACT".into(),
        0xA1 => "NT_TRANSACT_SECONDARY".into(),
        _ => c.name().into_owned(),
    }
}

/// TRANSACTION2 subcommand names (MS-CIFS 2.2.6).
fn trans2_name(subcommand: u16) -> String {
    match subcommand {
        0x00 => "OPEN2".into(),
        0x01 => "FIND_FIRST2".into(),
        0x02 => "FIND_NEXT2".into(),
        0x03 => "QUERY_FS_INFORMATION".into(),
        0x04 => "SET_FS_INFORMATION".into(),
        0x05 => "QUERY_PATH_INFORMATION".into(),
        0x06 => "SET_PATH_INFORMATION".into(),
        0x07 => "QUERY_FILE_INFORMATION".into(),
        0x08 => "SET_FILE_INFORMATION".into(),
        0x0D => "CREATE_DIRECTORY".into(),
        0x10 => "GET_DFS_REFERRAL".into(),
        n => format!("TRANS2 {n:#06x}"),
    }
}

/// A TRANSACTION request: RAP's function (MS-RAP 2.5.1) on `\PIPE\LANMAN`, else the
/// pipe or mailslot and the first setup word.
fn transaction_name(t: &TransRequest) -> String {
    if t.name.eq_ignore_ascii_case("\\PIPE\\LANMAN") {
        let number = t.params.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]]));
        let function = match number {
            Some(0) => "NetShareEnum".into(),
            Some(1) => "NetShareGetInfo".into(),
            Some(13) => "NetServerGetInfo".into(),
            Some(63) => "NetWkstaGetInfo".into(),
            Some(104) => "NetServerEnum2".into(),
            Some(215) => "NetServerEnum3".into(),
            Some(n) => format!("function {n}"),
            None => "no function".into(),
        };
        format!("RAP {function}")
    } else {
        match t.setup.first() {
            Some(s) => format!("{} setup={s:#06x}", t.name),
            None => t.name.clone(),
        }
    }
}

/// MD5 signing on one connection.
enum Signing {
    /// Not (yet) started.
    Off,
    /// Started: the key (or why there is none) and the next request's sequence number.
    On {
        key: Result<Zeroizing<[u8; 16]>, String>,
        next_seq: u32,
    },
}

/// A request awaiting its response, by PID and MID.
struct Pending {
    /// The sequence number its response is signed with, when the connection signs.
    response_seq: Option<u32>,
    /// What it was about, for the response's line.
    name: Option<String>,
}

/// The SMB1 state of one TCP connection.
pub(super) struct Smb1State {
    /// The dialects the last NEGOTIATE request offered.
    dialects: Vec<String>,
    signing: Signing,
    pending: HashMap<(u32, u16), Pending>,
    /// The NTLM CHALLENGE and AUTHENTICATE of the authentication in progress.
    challenge: Option<Vec<u8>>,
    authenticate: Option<Vec<u8>>,
    /// The name each open was created with, by FID.
    names_by_fid: HashMap<u16, String>,
}

impl Default for Smb1State {
    fn default() -> Self {
        Smb1State {
            dialects: Vec::new(),
            signing: Signing::Off,
            pending: HashMap::new(),
            challenge: None,
            authenticate: None,
            names_by_fid: HashMap::new(),
        }
    }
}

/// What decoding a message established: its details, and for the final response of a
/// session setup, whether it starts signing.
type Decoded = Result<Option<String>, String>;

impl Smb1State {
    /// Dissects one SMB1 message (a whole transport frame; SMB1 has no compounds).
    pub(super) fn message(&mut self, shared: &mut Shared<'_>, place: Place, bytes: Bytes) {
        let header = match Smb1Header::decode(&bytes) {
            Ok(h) => h,
            Err(e) => return shared.fail(place, format!("SMB1 header: {e}")),
        };
        let mut problems = Vec::new();
        let chained = match andx_chain(&bytes, header.command) {
            Ok(c) => c.into_iter().map(|(c, _)| c).collect(),
            Err(e) => {
                problems.push(format!("AndX chain: {e}"));
                Vec::new()
            }
        };
        let request = place.direction == Direction::ToServer;
        let pid = u32::from(header.pid_high) << 16 | u32::from(header.pid);
        let key = (pid, header.mid);
        let what = if request { "request" } else { "response" };
        let decoded = if request {
            self.request(&header, &bytes)
        } else {
            self.response(shared, &header, &bytes)
        };
        let details = decoded.unwrap_or_else(|e| {
            problems.push(format!(
                "{} {what}: {e}",
                command_name(Smb1Command(header.command))
            ));
            None
        });
        let verdict = if request {
            self.check_request(&header, &bytes, key, details.clone())
        } else {
            self.check_response(&header, &bytes, key)
        };
        let verdict = match verdict {
            Verdict::Failed(why) => {
                problems.push(why);
                Verdict::Failed(problems.join("; "))
            }
            v if problems.is_empty() => v,
            _ => Verdict::Failed(problems.join("; ")),
        };
        shared.push(Record::Smb1(Smb1Message {
            place,
            header,
            chained,
            details,
            verdict,
            bytes,
        }));
    }

    /// A request's details, from its decoded body.
    fn request(&mut self, h: &Smb1Header, bytes: &Bytes) -> Decoded {
        let e = |e: DecodeError| e.to_string();
        Ok(match Smb1Command(h.command) {
            Smb1Command::NEGOTIATE => {
                self.dialects = requested_dialects(bytes).map_err(e)?;
                Some(format!("dialects={}", self.dialects.join(",")))
            }
            Smb1Command::SESSION_SETUP_ANDX => {
                let req = Smb1SetupRequest::decode(bytes).map_err(e)?;
                let authenticate =
                    ntlm_token(&req.security_blob, 3).map_err(|e| format!("security blob: {e}"))?;
                let user = match &authenticate {
                    Some(token) => {
                        let auth = AuthenticateMessage::parse(token)
                            .map_err(|e| format!("NTLM AUTHENTICATE: {e}"))?;
                        (!auth.user.is_empty()).then(|| user_name(&auth))
                    }
                    None => None,
                };
                if authenticate.is_some() {
                    self.authenticate = authenticate;
                }
                user
            }
            Smb1Command::TREE_CONNECT_ANDX => {
                Some(Smb1TreeConnectRequest::decode(bytes).map_err(e)?.path)
            }
            Smb1Command::NT_CREATE_ANDX => {
                let name = NtCreateRequest::decode(bytes).map_err(e)?.name;
                Some(if name.is_empty() { "\\".into() } else { name })
            }
            Smb1Command::READ_ANDX => {
                let r = Smb1ReadRequest::decode(bytes).map_err(e)?;
                Some(format!(
                    "{} offset={} length={}",
                    self.fid_name(r.fid),
                    r.offset,
                    r.length
                ))
            }
            Smb1Command::WRITE_ANDX => {
                let w = Smb1WriteRequest::decode(bytes).map_err(e)?;
                Some(format!(
                    "{} offset={} length={}",
                    self.fid_name(w.fid),
                    w.offset,
                    w.data.len()
                ))
            }
            Smb1Command::CLOSE => {
                let fid = Smb1CloseRequest::decode(bytes).map_err(e)?.fid;
                let name = self.fid_name(fid);
                self.names_by_fid.remove(&fid);
                Some(name)
            }
            Smb1Command::TRANSACTION2 | Smb1Command::TRANSACTION => {
                let t = TransRequest::decode(bytes).map_err(e)?;
                Some(match t.kind {
                    TransKind::Transaction2 => match t.setup.first() {
                        Some(s) => trans2_name(*s),
                        None => "no subcommand".into(),
                    },
                    TransKind::Transaction => transaction_name(&t),
                })
            }
            _ => None,
        })
    }

    /// A response's details, from its decoded body and the request's.
    fn response(&mut self, shared: &Shared<'_>, h: &Smb1Header, bytes: &Bytes) -> Decoded {
        let pid = u32::from(h.pid_high) << 16 | u32::from(h.pid);
        let name = self.pending.get(&(pid, h.mid)).and_then(|p| p.name.clone());
        let status = h.nt_status();
        // An error response may carry no words and no bytes (MS-CIFS 2.2.3.1).
        let empty = bytes.get(HEADER_LEN..) == Some(&[0, 0, 0][..]);
        let e = |e: DecodeError| e.to_string();
        if Smb1Command(h.command) == Smb1Command::SESSION_SETUP_ANDX {
            return self.setup_response(shared, h, bytes, empty);
        }
        if status != NtStatus::SUCCESS && empty {
            return Ok(name);
        }
        Ok(match Smb1Command(h.command) {
            Smb1Command::NEGOTIATE => match Smb1NegotiateResponse::decode(bytes).map_err(e)? {
                Smb1NegotiateResponse::NoDialect => Some("no dialect in common".into()),
                Smb1NegotiateResponse::Nt1(n) => {
                    let dialect = self
                        .dialects
                        .get(usize::from(n.dialect_index))
                        .cloned()
                        .unwrap_or_else(|| format!("#{}", n.dialect_index));
                    let signing = if n.security_mode & security_mode::SIGNATURES_REQUIRED != 0 {
                        "required"
                    } else if n.security_mode & security_mode::SIGNATURES_ENABLED != 0 {
                        "enabled"
                    } else {
                        "disabled"
                    };
                    Some(format!("dialect={dialect},signing={signing}"))
                }
            },
            Smb1Command::TREE_CONNECT_ANDX => {
                Smb1TreeConnected::decode(bytes).map_err(e)?;
                name
            }
            Smb1Command::NT_CREATE_ANDX => {
                let fid = NtCreateResponse::decode(bytes)
                    .map_err(e)?
                    .file_id
                    .smb1_fid();
                if let Some(n) = &name {
                    insert_bounded(&mut self.names_by_fid, fid, n.clone());
                }
                Some(format!("{} fid={fid:#x}", name.as_deref().unwrap_or("?")))
            }
            Smb1Command::READ_ANDX => {
                let data = Smb1ReadResponse::decode(bytes).map_err(e)?.data;
                Some(format!("length={}", data.len()))
            }
            Smb1Command::WRITE_ANDX => {
                let w = Smb1WriteResponse::decode(bytes).map_err(e)?;
                Some(format!(
                    "count={}",
                    u32::from(w.count_high) << 16 | u32::from(w.count)
                ))
            }
            Smb1Command::TRANSACTION2 | Smb1Command::TRANSACTION => {
                TransFragment::decode(bytes).map_err(e)?;
                name
            }
            _ => name,
        })
    }

    /// A SESSION_SETUP_ANDX response: another round (keeps the NTLM CHALLENGE), or the
    /// end of an authentication, which starts signing when it is the connection's first
    /// and its response is signed.
    fn setup_response(
        &mut self,
        shared: &Shared<'_>,
        h: &Smb1Header,
        bytes: &Bytes,
        empty: bool,
    ) -> Decoded {
        let status = h.nt_status();
        if status != NtStatus::SUCCESS && status != MORE_PROCESSING_REQUIRED {
            self.challenge = None;
            self.authenticate = None;
            if empty {
                return Ok(None);
            }
        }
        let resp = Smb1SetupResponse::decode(bytes).map_err(|e| e.to_string())?;
        if status == MORE_PROCESSING_REQUIRED {
            if let Ok(Some(c)) = ntlm_token(&resp.security_blob, 2) {
                self.challenge = Some(c);
            }
            return Ok(None);
        }
        let guest = resp.action & ACTION_GUEST != 0;
        if status == NtStatus::SUCCESS {
            let challenge = self.challenge.take();
            let authenticate = self.authenticate.take();
            let signed = bytes
                .get(SIGNATURE_RANGE)
                .is_some_and(|s| s.iter().any(|b| *b != 0));
            if signed && !guest && matches!(self.signing, Signing::Off) {
                let key = shared
                    .session_key(0, challenge.as_deref(), authenticate.as_deref())
                    .map(Zeroizing::new);
                self.signing = Signing::On {
                    key,
                    next_seq: smb1_signing::ACTIVATION_SEQ,
                };
            }
        }
        Ok(guest.then(|| "guest".into()))
    }

    /// The name an open was created with, or its FID.
    fn fid_name(&self, fid: u16) -> String {
        self.names_by_fid
            .get(&fid)
            .cloned()
            .unwrap_or_else(|| format!("fid={fid:#x}"))
    }

    /// A request's verdict; takes its sequence numbers and remembers it for its response.
    fn check_request(
        &mut self,
        h: &Smb1Header,
        bytes: &[u8],
        key: (u32, u16),
        name: Option<String>,
    ) -> Verdict {
        let mut response_seq = None;
        let verdict = match &mut self.signing {
            Signing::Off => Verdict::Unsigned,
            Signing::On { key, next_seq } => {
                let seq = *next_seq;
                *next_seq = seq.wrapping_add(smb1_signing::sequence_step(h.command));
                response_seq = Some(seq.wrapping_add(1));
                check(key, seq, bytes)
            }
        };
        // NT_CANCEL carries the MID of the request it cancels, whose response is due.
        if Smb1Command(h.command) != Smb1Command::NT_CANCEL {
            insert_bounded(&mut self.pending, key, Pending { response_seq, name });
        }
        verdict
    }

    /// A response's verdict: every fragment of a transaction's response is signed with
    /// the same number, so the request is kept until its MID is used again.
    fn check_response(&mut self, h: &Smb1Header, bytes: &[u8], key: (u32, u16)) -> Verdict {
        // A server's oplock break (a request, MID 0xFFFF) is not signed (MS-CIFS 3.2.5.1.2).
        if !h.is_reply() && h.command == Smb1Command::LOCKING_ANDX.0 && h.mid == 0xFFFF {
            return Verdict::Unsigned;
        }
        let Signing::On {
            key: signing,
            next_seq,
        } = &mut self.signing
        else {
            return Verdict::Unsigned;
        };
        if *next_seq == smb1_signing::ACTIVATION_SEQ {
            // The response that started signing.
            *next_seq = smb1_signing::FIRST_REQUEST_SEQ;
            return check(signing, smb1_signing::ACTIVATION_SEQ, bytes);
        }
        match self.pending.get(&key).map(|p| p.response_seq) {
            Some(Some(seq)) => check(signing, seq, bytes),
            Some(None) => Verdict::Failed(format!(
                "cannot check the signature: the request with MID {} was sent before signing started",
                h.mid
            )),
            None => Verdict::Failed(format!(
                "cannot check the signature: the capture holds no request with MID {} to number it",
                h.mid
            )),
        }
    }
}

/// Checks an MD5 signature with sequence number `seq`.
fn check(key: &Result<Zeroizing<[u8; 16]>, String>, seq: u32, bytes: &[u8]) -> Verdict {
    match key {
        Ok(k) if smb1_signing::verify(&k[..], seq, bytes) => Verdict::SignedOk,
        Ok(_) => Verdict::Failed(format!(
            "MD5 signature does not verify (sequence number {seq})"
        )),
        Err(why) => Verdict::Failed(format!("cannot check the signature: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smb_proto::wire::smb1::header::flags;

    const KEY: [u8; 16] = [7; 16];

    /// A message from its header fields and blocks, signed with `seq` when given.
    fn message(
        command: Smb1Command,
        mid: u16,
        reply: bool,
        body: &[u8],
        seq: Option<u32>,
    ) -> Bytes {
        let mut out = Vec::new();
        Smb1Header {
            command: command.0,
            flags: if reply { flags::REPLY } else { 0 },
            flags2: 0xC805,
            pid: 0xFEFF,
            uid: 100,
            tid: 1,
            mid,
            ..Default::default()
        }
        .encode(&mut out);
        out.extend_from_slice(body);
        if let Some(seq) = seq {
            smb1_signing::sign_parts(&KEY, seq, &mut out, &[]).unwrap();
        }
        out.into()
    }

    fn place(direction: Direction) -> Place {
        Place {
            frame: 1,
            stream: 0,
            direction,
        }
    }

    /// Feeds `(direction, message)` to a connection that signs from sequence number 2.
    fn run(messages: &[(Direction, Bytes)]) -> Vec<Smb1Message> {
        let options = Options::default();
        let mut shared = Shared {
            options: &options,
            sessions: HashMap::new(),
            summary: Summary::default(),
            out: Vec::new(),
        };
        let mut state = Smb1State {
            signing: Signing::On {
                key: Ok(Zeroizing::new(KEY)),
                next_seq: smb1_signing::FIRST_REQUEST_SEQ,
            },
            ..Default::default()
        };
        for (direction, bytes) in messages {
            state.message(&mut shared, place(*direction), bytes.clone());
        }
        shared
            .out
            .into_iter()
            .map(|r| match r {
                Record::Smb1(m) => m,
                r => panic!("{r}"),
            })
            .collect()
    }

    const ECHO: &[u8] = &[1, 1, 0, 1, 0, b'x'];
    const CANCEL: &[u8] = &[0, 0, 0];

    #[test]
    fn nt_cancel_takes_one_sequence_number_and_has_no_response() {
        use Direction::{ToClient as S, ToServer as C};
        // ECHO (2, reply 3), NT_CANCEL of it (4), ECHO (5, reply 6); replies out of order.
        let m = run(&[
            (C, message(Smb1Command::ECHO, 5, false, ECHO, Some(2))),
            (
                C,
                message(Smb1Command::NT_CANCEL, 5, false, CANCEL, Some(4)),
            ),
            (C, message(Smb1Command::ECHO, 6, false, ECHO, Some(5))),
            (S, message(Smb1Command::ECHO, 6, true, ECHO, Some(6))),
            (S, message(Smb1Command::ECHO, 5, true, ECHO, Some(3))),
        ]);
        let verdicts: Vec<_> = m.iter().map(|m| m.verdict.clone()).collect();
        assert_eq!(verdicts, vec![Verdict::SignedOk; 5], "{m:#?}");
        assert_eq!(m[1].command_name(), "NT_CANCEL");
        // Had NT_CANCEL taken two, the second ECHO would be numbered 6.
        let m = run(&[
            (
                C,
                message(Smb1Command::NT_CANCEL, 5, false, CANCEL, Some(2)),
            ),
            (C, message(Smb1Command::ECHO, 6, false, ECHO, Some(4))),
        ]);
        assert!(matches!(&m[1].verdict, Verdict::Failed(w) if w.contains("sequence number 3")));
    }

    #[test]
    fn a_signed_response_without_its_request_cannot_be_checked() {
        let m = run(&[(
            Direction::ToClient,
            message(Smb1Command::ECHO, 9, true, ECHO, Some(3)),
        )]);
        assert!(
            matches!(&m[0].verdict, Verdict::Failed(w) if w.contains("no request with MID 9")),
            "{}",
            m[0]
        );
    }

    #[test]
    fn every_fragment_of_a_transaction_response_has_the_requests_number_plus_one() {
        use Direction::{ToClient as S, ToServer as C};
        let request = TransRequest::trans2(1, vec![0; 12], 10, 0xFFFF);
        let mut req = vec![0u8; HEADER_LEN];
        request.encode(&mut req);
        // A response fragment: 10 words, no parameters or data.
        let mut frag = vec![10u8];
        frag.extend_from_slice(&[0; 20]);
        frag.extend_from_slice(&[0, 0]);
        let m = run(&[
            (
                C,
                message(
                    Smb1Command::TRANSACTION2,
                    9,
                    false,
                    &req[HEADER_LEN..],
                    Some(2),
                ),
            ),
            (
                S,
                message(Smb1Command::TRANSACTION2, 9, true, &frag, Some(3)),
            ),
            (
                S,
                message(Smb1Command::TRANSACTION2, 9, true, &frag, Some(3)),
            ),
        ]);
        assert!(m.iter().all(|m| m.verdict == Verdict::SignedOk), "{m:#?}");
        assert_eq!(m[2].details.as_deref(), Some("FIND_FIRST2"));
    }

    #[test]
    fn andx_chains_are_named_and_bad_ones_noted() {
        use Direction::ToServer as C;
        // LOGOFF_ANDX with a second LOGOFF_ANDX block chained at 39; one pointing at itself.
        let chained = [2, 0x74, 0, 39, 0, 0, 0, 2, 0xFF, 0, 0, 0, 0, 0];
        let looped = [2, 0x74, 0, 32, 0, 0, 0];
        let m = run(&[
            (
                C,
                message(Smb1Command::LOGOFF_ANDX, 1, false, &chained, Some(2)),
            ),
            (
                C,
                message(Smb1Command::LOGOFF_ANDX, 2, false, &looped, Some(4)),
            ),
        ]);
        assert_eq!(m[0].command_name(), "LOGOFF_ANDX+LOGOFF_ANDX");
        assert_eq!(m[0].verdict, Verdict::SignedOk);
        assert!(m[0].to_string().starts_with(
            "     1 #0 C→S LOGOFF_ANDX+LOGOFF_ANDX -                               mid=1 pid=65279 tid=0x1 uid=0x64 flags=0x00/0xc805 - signed-ok"
        ), "{}", m[0]);
        assert!(
            matches!(&m[1].verdict, Verdict::Failed(w) if w.contains("AndX chain")),
            "{}",
            m[1]
        );
    }
}
