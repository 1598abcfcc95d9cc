//! The in-memory transport a replay runs over: it checks what the client writes against
//! the recorded outgoing stream and releases the recorded incoming bytes in order.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::layout::{self, View, FRAME_HEADER};
use super::{hex, Record, Recording, Setup};
use crate::auth::ntlm::RecordedResponses;
use crate::config::Config;
use crate::connection::Connection;
use crate::wire::header::HEADER_LEN;

/// How a replay went wrong. The text names where in the recorded outgoing stream,
/// which frame and SMB2 message, and shows the bytes; never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The client wrote a byte other than the recorded one.
    #[error(
        "replay diverged at outgoing offset {offset}: {recorded_at}\n\
         \x20 sent      {sent_bytes}\n\
         \x20 recorded  {recorded_bytes}{detail}"
    )]
    Diverged {
        /// The offset of the first differing byte in the outgoing stream.
        offset: u64,
        /// Where that is in the recording: frame, command, message id, field.
        recorded_at: String,
        /// The bytes around it the client sent, the differing one in brackets.
        sent_bytes: String,
        /// The recorded bytes around it.
        recorded_bytes: String,
        /// More lines, each starting "\n  ": what the client sent instead when a header
        /// differs, and where the content first differs when a frame's length does.
        detail: String,
    },
    /// Outgoing bytes recorded as a digest hash differently.
    #[error(
        "replay diverged in outgoing bytes {offset}..{end}: {recorded_at}: their \
         SHA-256 differs from the recorded digest"
    )]
    DigestMismatch {
        /// Where the digested run starts.
        offset: u64,
        /// Where it ends.
        end: u64,
        /// Where that is in the recording.
        recorded_at: String,
    },
    /// The client wrote more than the recording holds.
    #[error(
        "replay diverged at outgoing offset {offset}: the recording ends there, and the \
         client sends more{sent_what}"
    )]
    Overrun {
        /// The length of the recorded outgoing stream.
        offset: u64,
        /// What the client sends, if it starts a frame: "; it sends: …".
        sent_what: String,
    },
    /// The client waits for input that the recording gives only after bytes the client
    /// has not sent.
    #[error(
        "replay stalled: the client waits for input after sending {sent} bytes, but \
         {next_input}; the recording goes on at outgoing offset {sent}: {next_sent}"
    )]
    Stalled {
        /// How many bytes the client sent.
        sent: u64,
        /// What the next input waits for.
        next_input: String,
        /// What the recording expects the client to send next.
        next_sent: String,
    },
    /// The replay ended before the client sent everything recorded.
    #[error(
        "replay incomplete: the client sent {sent} of {recorded} recorded outgoing bytes; \
         the recording goes on at offset {sent}: {next_sent}"
    )]
    Incomplete {
        /// How many bytes the client sent.
        sent: u64,
        /// How many the recording holds.
        recorded: u64,
        /// What the recording expects next.
        next_sent: String,
    },
    /// A Kerberos login asked for a KDC attempt other than the recorded one (another
    /// message, KDC or transport: a different password, clock offset or configuration),
    /// or for one the recording does not hold.
    #[error("replay diverged at KDC attempt {index}: {detail}")]
    KdcDiverged {
        /// Which attempt, counting from 0.
        index: usize,
        /// What differs.
        detail: String,
    },
    /// The recording cannot be replayed: a login without key exchange, or an
    /// AUTHENTICATE message that does not parse.
    #[error("the recording cannot be replayed: {0}")]
    Unreplayable(String),
}

/// What [`Replay::read`] gives the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// This many bytes were copied into the buffer.
    Data(usize),
    /// The server closed the connection here (end of stream).
    Closed,
    /// The next recorded input comes only after the client writes more: a client that
    /// waits for a response now has diverged ([`Replay::stall`] says how).
    Waiting,
    /// The recording holds no more input.
    Ended,
    /// The replay has failed already (a write diverged).
    Failed(ReplayError),
}

/// A run of the recorded outgoing stream.
enum Segment {
    Literal(Vec<u8>),
    Digest { len: u64, sha256: [u8; 32] },
}

impl Segment {
    fn len(&self) -> u64 {
        match self {
            Segment::Literal(b) => b.len() as u64,
            Segment::Digest { len, .. } => *len,
        }
    }
}

/// A run of recorded input, released once `after` outgoing bytes have been written.
struct Input {
    after: u64,
    bytes: Option<Vec<u8>>,
}

/// The recorded outgoing stream, its runs at their offsets.
struct SentStream {
    segments: Vec<Segment>,
    starts: Vec<u64>,
    len: u64,
    /// Where each frame starts (as far as frame headers are known).
    frames: Vec<u64>,
}

impl View for SentStream {
    fn get(&self, at: u64, len: usize) -> Option<Cow<'_, [u8]>> {
        let i = self.starts.partition_point(|&s| s <= at).checked_sub(1)?;
        let Segment::Literal(b) = &self.segments[i] else {
            return None;
        };
        let off = usize::try_from(at - self.starts[i]).ok()?;
        if let Some(s) = b.get(off..off.checked_add(len)?) {
            return Some(Cow::Borrowed(s));
        }
        // Across runs: a frame the recorder wrote in parts.
        let mut out = b.get(off..)?.to_vec();
        let mut next = i + 1;
        while out.len() < len {
            let Some(Segment::Literal(b)) = self.segments.get(next) else {
                return None;
            };
            out.extend_from_slice(&b[..b.len().min(len - out.len())]);
            next += 1;
        }
        Some(Cow::Owned(out))
    }
}

impl SentStream {
    fn new(records: &[Record]) -> Self {
        let mut s = SentStream {
            segments: Vec::new(),
            starts: Vec::new(),
            len: 0,
            frames: Vec::new(),
        };
        for r in records {
            let seg = match r {
                Record::Sent(b) if !b.is_empty() => Segment::Literal(b.clone()),
                Record::SentDigest { len, sha256 } if *len > 0 => Segment::Digest {
                    len: *len,
                    sha256: *sha256,
                },
                _ => continue,
            };
            s.starts.push(s.len);
            s.len = s.len.saturating_add(seg.len());
            s.segments.push(seg);
        }
        let mut at = 0;
        while at < s.len {
            let Some(len) = s
                .get(at, FRAME_HEADER as usize)
                .map(|h| layout::frame_len(&h))
            else {
                break;
            };
            s.frames.push(at);
            at = at.saturating_add(len);
        }
        s
    }

    /// The frame starting at `at`, whole, if its bytes are all literal.
    fn frame_at(&self, at: u64) -> Option<Cow<'_, [u8]>> {
        let head = self.get(at, FRAME_HEADER as usize)?;
        let len = usize::try_from(layout::frame_len(&head)).ok()?;
        self.get(at, len)
    }

    /// The frame and message at `at`, for an error.
    fn position(&self, at: u64) -> String {
        if at >= self.len {
            return "the end of the recording".to_string();
        }
        layout::position(self, &self.frames, at)
    }
}

/// Everything a replay tracks.
struct State {
    setup: Setup,
    sent: SentStream,
    input: VecDeque<Input>,
    /// Offset into the front input run.
    input_at: usize,
    written: u64,
    /// The run the next written byte is compared with, and how far into it.
    segment: usize,
    segment_at: u64,
    hasher: Option<Sha256>,
    failure: Option<ReplayError>,
    logins: Vec<RecordedResponses>,
    stall_timeout: Duration,
    /// The recorded KDC attempts of Kerberos logins, in order, and how many were asked.
    kdc: Vec<super::KdcRecord>,
    kdc_at: usize,
}

/// A recording being replayed: the transport a driver's `replay` constructor runs the
/// client over, in place of a socket. Cheap to clone; clones share the replay, so the
/// caller keeps one to [`finish`](Self::finish) it while the driver owns another.
///
/// A driver writes what the client sends with [`write`](Self::write) and reads with
/// [`read`](Self::read); a read that finds [`Incoming::Waiting`] while the client waits
/// for a response ends the replay with [`stall`](Self::stall).
///
/// ```
/// # use smb_proto::replay::{Recording, Replay, ReplayError};
/// # let text = "smb-recording 1\nseed 0000000000000000000000000000000000000000000000000000000000000000\nfiletime-now 0\nserver-name s\nclient-name c\ndomain\nuser\nntlm v2\ndialects 2.0.2 3.1.1\nsigning WhenSupported\nencrypt no\nallow-insecure-guest no\ntransport direct\nmax-io-size 65536\ndigests no\n> 00000002\n> 0102\nend\n";
/// let replay = Replay::new(Recording::parse(text)?)?;
/// let err = replay.write(&[0, 0, 0, 2, 1, 9]).unwrap_err();
/// assert!(err.to_string().starts_with("replay diverged at outgoing offset 5"), "{err}");
/// assert!(matches!(replay.finish(), Err(ReplayError::Diverged { offset: 5, .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Replay {
    state: Arc<Mutex<State>>,
    /// Set by the replayed [`Connection`] whenever it has drained its events: whether
    /// requests it sent wait for their responses.
    awaiting: Arc<AtomicBool>,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Replay")
            .field("written", &s.written)
            .field("recorded", &s.sent.len)
            .field("failure", &s.failure)
            .finish_non_exhaustive()
    }
}

/// How long an async driver lets a client wait for input the recording holds back
/// before it calls the replay stalled (see [`Replay::stall_timeout`]).
const STALL_TIMEOUT: Duration = Duration::from_secs(2);

impl Replay {
    /// Prepares `recording` for replay.
    ///
    /// # Errors
    ///
    /// [`ReplayError::Unreplayable`] when an NTLM login in it went without key
    /// exchange (a replay would need the password) or does not parse, or when it says
    /// SMB1 was on (SMB1 sessions are not recorded yet).
    pub fn new(recording: Recording) -> Result<Replay, ReplayError> {
        if recording.setup.min_dialect.is_smb1() {
            // Recording refuses SMB1 (`RecordSink::start`); a recording that says it
            // anyway was not made by this crate, and its SMB1 frames are not understood.
            return Err(ReplayError::Unreplayable(
                "SMB1 sessions cannot be recorded or replayed yet".into(),
            ));
        }
        let sent = SentStream::new(&recording.records);
        let mut logins = Vec::new();
        for &frame in &sent.frames {
            let Some(bytes) = sent.frame_at(frame) else {
                continue;
            };
            let body = &bytes[FRAME_HEADER as usize..];
            for login in layout::sent_logins(body).map_err(ReplayError::Unreplayable)? {
                if !login.anonymous && !login.key_exchange {
                    return Err(ReplayError::Unreplayable(format!(
                        "the login in the frame at outgoing offset {frame} went without \
                         NTLM key exchange, so its keys need the password"
                    )));
                }
                logins.push(login.responses);
            }
        }
        let mut input = VecDeque::new();
        let mut kdc = Vec::new();
        let mut written = 0u64;
        for r in &recording.records {
            match r {
                Record::Sent(b) => written = written.saturating_add(b.len() as u64),
                Record::SentDigest { len, .. } => written = written.saturating_add(*len),
                Record::Received(b) if !b.is_empty() => input.push_back(Input {
                    after: written,
                    bytes: Some(b.clone()),
                }),
                Record::Received(_) => {}
                Record::ServerClosed => input.push_back(Input {
                    after: written,
                    bytes: None,
                }),
                Record::Kdc(k) => kdc.push((**k).clone()),
            }
        }
        Ok(Replay {
            state: Arc::new(Mutex::new(State {
                setup: recording.setup,
                sent,
                input,
                input_at: 0,
                written: 0,
                segment: 0,
                segment_at: 0,
                hasher: None,
                failure: None,
                logins,
                stall_timeout: STALL_TIMEOUT,
                kdc,
                kdc_at: 0,
            })),
            awaiting: Arc::new(AtomicBool::new(false)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the state as consistent as
        // any write left it; the replay goes on reporting what it found.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How the recorded client was set up.
    pub fn setup(&self) -> Setup {
        self.lock().setup.clone()
    }

    /// The core's configuration for the recorded client (adjust what does not change
    /// the bytes, such as [`Config::paced_reads`], before
    /// [`connection`](Self::connection)).
    pub fn config(&self) -> Config {
        self.lock().setup.config()
    }

    /// A connection configured as `config` (normally [`config`](Self::config)) that logs
    /// in as the recording did: each [`Login`](crate::ops::Login), in order, sends the
    /// NTLM responses its recorded AUTHENTICATE message holds instead of computing them
    /// from a password, and draws the recorded session key from the seed.
    pub fn connection(&self, config: Config, now: Instant) -> Connection {
        let mut conn = Connection::new(config, now);
        let logins = self.lock().logins.clone();
        conn.replay_with(logins, self.awaiting.clone());
        conn
    }

    /// Checks bytes the client writes against the recording.
    ///
    /// # Errors
    ///
    /// [`ReplayError::Diverged`] at the first byte that differs (with the offset, the
    /// command and field, and the bytes around it), [`ReplayError::DigestMismatch`] for a
    /// run recorded as a digest, [`ReplayError::Overrun`] past the recording's end; once
    /// the replay has failed, every later write fails with the same error.
    pub fn write(&self, data: &[u8]) -> Result<(), ReplayError> {
        let mut s = self.lock();
        if let Some(f) = &s.failure {
            return Err(f.clone());
        }
        let r = s.write(data);
        if let Err(e) = &r {
            s.failure = Some(e.clone());
        }
        r
    }

    /// Copies the next recorded input into `buf`, if every outgoing byte recorded before
    /// it has been written.
    pub fn read(&self, buf: &mut [u8]) -> Incoming {
        let mut s = self.lock();
        if let Some(f) = &s.failure {
            return Incoming::Failed(f.clone());
        }
        let written = s.written;
        let at = s.input_at;
        let Some(front) = s.input.front() else {
            return Incoming::Ended;
        };
        if front.after > written {
            return Incoming::Waiting;
        }
        let Some(bytes) = &front.bytes else {
            return Incoming::Closed;
        };
        let n = buf.len().min(bytes.len() - at);
        buf[..n].copy_from_slice(&bytes[at..at + n]);
        if at + n == bytes.len() {
            s.input.pop_front();
            s.input_at = 0;
        } else {
            s.input_at = at + n;
        }
        Incoming::Data(n)
    }

    /// Ends the replay because the client waits for input [`read`](Self::read) holds
    /// back ([`Incoming::Waiting`] or [`Incoming::Ended`]); returns the error that says
    /// what the recording expected instead, which later calls report too.
    pub fn stall(&self) -> ReplayError {
        let mut s = self.lock();
        if let Some(f) = &s.failure {
            return f.clone();
        }
        let written = s.written;
        let next_input = match s.input.front() {
            Some(i) => format!(
                "the recording gives its next input only after the client has sent {} bytes",
                i.after
            ),
            None => "the recording holds no more input".to_string(),
        };
        let e = ReplayError::Stalled {
            sent: written,
            next_input,
            next_sent: s.sent.position(written),
        };
        s.failure = Some(e.clone());
        e
    }

    /// Whether the replay is over and went as recorded: no write diverged, nothing
    /// stalled, and the client sent every recorded byte.
    ///
    /// # Errors
    ///
    /// The first failure, or [`ReplayError::Incomplete`] naming what the client did not
    /// send.
    pub fn finish(&self) -> Result<(), ReplayError> {
        let s = self.lock();
        if let Some(f) = &s.failure {
            return Err(f.clone());
        }
        if s.kdc_at < s.kdc.len() {
            return Err(ReplayError::KdcDiverged {
                index: s.kdc_at,
                detail: format!(
                    "the client asked {} of the {} recorded KDC attempts",
                    s.kdc_at,
                    s.kdc.len()
                ),
            });
        }
        if s.written < s.sent.len {
            return Err(ReplayError::Incomplete {
                sent: s.written,
                recorded: s.sent.len,
                next_sent: s.sent.position(s.written),
            });
        }
        Ok(())
    }

    /// Answers a Kerberos login's KDC attempt ([`crate::Event::Kdc`]) as the recording
    /// does: checks it is the next recorded one (KDC, transport and message alike) and
    /// gives the recorded reply (or failure) and the wall-clock time to hand to
    /// [`Connection::kdc_reply`]. No KDC is reached.
    ///
    /// # Errors
    ///
    /// [`ReplayError::KdcDiverged`] for another attempt than the recorded one, or one
    /// past the recorded ones; once the replay has failed, the same error again.
    pub fn kdc(
        &self,
        request: &crate::auth::kerberos::KdcRequest,
    ) -> Result<
        (
            Result<Vec<u8>, crate::auth::kerberos::KdcIoError>,
            std::time::SystemTime,
        ),
        ReplayError,
    > {
        let mut s = self.lock();
        if let Some(f) = &s.failure {
            return Err(f.clone());
        }
        let index = s.kdc_at;
        let answer = match s.kdc.get(index) {
            None => Err(format!(
                "the recording holds {index} KDC attempts, and the client makes another"
            )),
            Some(k) if k.kdc != request.kdc || k.transport != request.transport => Err(format!(
                "recorded {} over {}, asked {} over {}",
                k.kdc, k.transport, request.kdc, request.transport
            )),
            Some(k) if k.request != request.message => {
                let at = k
                    .request
                    .iter()
                    .zip(&request.message)
                    .position(|(a, b)| a != b)
                    .unwrap_or(k.request.len().min(request.message.len()));
                Err(format!(
                    "the message differs from byte {at} on ({} bytes recorded, {} sent): \
                     another password, clock offset or KDC configuration than the recording's",
                    k.request.len(),
                    request.message.len()
                ))
            }
            Some(k) => Ok((k.reply.clone(), k.wall())),
        };
        match answer {
            Ok(answer) => {
                s.kdc_at += 1;
                Ok(answer)
            }
            Err(detail) => {
                let e = ReplayError::KdcDiverged { index, detail };
                s.failure = Some(e.clone());
                Err(e)
            }
        }
    }

    /// How many bytes the client has written, and how many the recording holds.
    pub fn progress(&self) -> (u64, u64) {
        let s = self.lock();
        (s.written, s.sent.len)
    }

    /// Whether the replayed connection has requests waiting for their responses (as of
    /// the last time it drained its events). A driver whose client may be waiting on
    /// something else (an async one: another task's next call) treats a read that finds
    /// [`Incoming::Waiting`] as a stall only while this holds.
    pub fn awaiting_response(&self) -> bool {
        self.awaiting.load(Ordering::Acquire)
    }

    /// How long an async driver lets a client that [awaits a
    /// response](Self::awaiting_response) wait on [`Incoming::Waiting`] with no write
    /// before it calls [`stall`](Self::stall): 2 seconds unless set. A replay that goes
    /// as recorded never waits that long (its input is in memory); the window only
    /// bounds how long a diverged one takes to fail.
    pub fn stall_timeout(&self) -> Duration {
        self.lock().stall_timeout
    }

    /// Sets [`stall_timeout`](Self::stall_timeout).
    pub fn set_stall_timeout(&self, timeout: Duration) {
        self.lock().stall_timeout = timeout;
    }
}

/// Hex of `bytes` with the byte at `mark` in brackets.
fn marked(bytes: &[u8], mark: usize) -> String {
    let mark = mark.min(bytes.len());
    let (before, rest) = bytes.split_at(mark);
    match rest.split_first() {
        Some((b, after)) => format!("…{} [{:02x}] {}…", hex(before), b, hex(after)),
        None => format!("…{} [] (nothing)", hex(before)),
    }
}

/// Bytes of context shown on each side of a difference.
const CONTEXT: usize = 16;

impl State {
    fn write(&mut self, mut data: &[u8]) -> Result<(), ReplayError> {
        while !data.is_empty() {
            let Some(seg) = self.sent.segments.get(self.segment) else {
                return Err(ReplayError::Overrun {
                    offset: self.written,
                    sent_what: self.sent_frame_summary(data),
                });
            };
            let seg_len = seg.len();
            let n = (seg_len - self.segment_at).min(data.len() as u64) as usize;
            match seg {
                Segment::Literal(b) => {
                    let from = self.segment_at as usize;
                    let want = &b[from..from + n];
                    if let Some(i) = want.iter().zip(&data[..n]).position(|(a, b)| a != b) {
                        return Err(self.diverged(self.written + i as u64, &data[i..]));
                    }
                }
                Segment::Digest { sha256, .. } => {
                    let sha256 = *sha256;
                    let h = self.hasher.get_or_insert_with(Sha256::new);
                    h.update(&data[..n]);
                    if self.segment_at + n as u64 == seg_len {
                        let got: [u8; 32] =
                            self.hasher.take().unwrap_or_default().finalize().into();
                        if got != sha256 {
                            let offset = self.sent.starts[self.segment];
                            return Err(ReplayError::DigestMismatch {
                                offset,
                                end: offset + seg_len,
                                recorded_at: self.sent.position(offset),
                            });
                        }
                    }
                }
            }
            self.written += n as u64;
            self.segment_at += n as u64;
            if self.segment_at == seg_len {
                self.segment += 1;
                self.segment_at = 0;
            }
            data = &data[n..];
        }
        Ok(())
    }

    /// The error for a first differing byte at `offset`; `rest` is what the client sent
    /// from there on.
    fn diverged(&self, offset: u64, rest: &[u8]) -> ReplayError {
        let from = offset.saturating_sub(CONTEXT as u64);
        let before = self
            .sent
            .get(from, (offset - from) as usize)
            .unwrap_or_default();
        let recorded_after = (1..=CONTEXT)
            .rev()
            .find_map(|n| self.sent.get(offset, n))
            .unwrap_or_default();
        let sent = [&before[..], &rest[..rest.len().min(CONTEXT)]].concat();
        let recorded = [&before[..], &recorded_after[..]].concat();
        let mut detail = self.sent_header(offset, rest);
        detail.push_str(&self.inside_frame(offset, rest));
        ReplayError::Diverged {
            offset,
            recorded_at: self.sent.position(offset),
            sent_bytes: marked(&sent, before.len()),
            recorded_bytes: marked(&recorded, before.len()),
            detail,
        }
    }

    /// When the first difference is in a frame's length, where its content first
    /// differs: a changed field that changes a message's length shows in the length
    /// first, and the field is what the reader wants to see.
    fn inside_frame(&self, offset: u64, rest: &[u8]) -> String {
        let i = self.sent.frames.partition_point(|&f| f <= offset);
        let Some(&frame) = i.checked_sub(1).and_then(|i| self.sent.frames.get(i)) else {
            return String::new();
        };
        if offset >= frame + FRAME_HEADER {
            return String::new();
        }
        let (Some(head), Some(before)) = (
            self.sent.get(frame, FRAME_HEADER as usize),
            self.sent.get(frame, (offset - frame) as usize),
        ) else {
            return String::new();
        };
        let sent = [&before[..], rest].concat();
        let recorded_len = layout::frame_len(&head);
        let sent_len = layout::frame_len(&sent);
        let mut out = match sent_len.cmp(&recorded_len) {
            std::cmp::Ordering::Greater => format!(
                "\n  the client's frame is {} bytes longer",
                sent_len - recorded_len
            ),
            std::cmp::Ordering::Less => format!(
                "\n  the client's frame is {} bytes shorter",
                recorded_len - sent_len
            ),
            std::cmp::Ordering::Equal => return String::new(),
        };
        let end = recorded_len.min(sent_len).min(sent.len() as u64);
        let mut at = frame + FRAME_HEADER;
        while at < frame + end {
            let n = ((frame + end - at) as usize).min(4096);
            let Some(recorded) = self.sent.get(at, n) else {
                break;
            };
            let from = (at - frame) as usize;
            if let Some(k) = recorded
                .iter()
                .zip(&sent[from..from + n])
                .position(|(a, b)| a != b)
            {
                let at = at + k as u64;
                out.push_str(&format!(
                    "; its content first differs at outgoing offset {at}: {}",
                    self.sent.position(at)
                ));
                let from = (at - frame) as usize;
                let shown = |b: &[u8]| match b {
                    [] => "(the frame ends here)".to_string(),
                    b => format!("[{}]…", hex(&b[..b.len().min(CONTEXT)])),
                };
                let recorded_rest = (1..=CONTEXT)
                    .rev()
                    .find_map(|n| {
                        self.sent
                            .get(at, n)
                            .filter(|_| at + n as u64 <= frame + recorded_len)
                    })
                    .unwrap_or_default();
                out.push_str(&format!(
                    "\n  sent      {}\n  recorded  {}",
                    shown(&sent[from..(from + CONTEXT).min(sent_len as usize).min(sent.len())]),
                    shown(&recorded_rest)
                ));
                return out;
            }
            at += n as u64;
        }
        out
    }

    /// What the client's message looks like when the difference lies in an SMB2 header:
    /// its header, as far as the recorded bytes before the difference and the sent ones
    /// from it make one.
    fn sent_header(&self, offset: u64, rest: &[u8]) -> String {
        let i = self.sent.frames.partition_point(|&f| f <= offset);
        let Some(&frame) = i.checked_sub(1).and_then(|i| self.sent.frames.get(i)) else {
            return String::new();
        };
        let Some(head) = self.sent.get(frame, FRAME_HEADER as usize) else {
            return String::new();
        };
        let msgs = layout::messages(&self.sent, frame, layout::frame_len(&head));
        let Some(&start) = msgs.iter().rev().find(|&&m| m <= offset) else {
            return String::new();
        };
        if offset >= start + HEADER_LEN as u64 {
            return String::new();
        }
        let Some(before) = self.sent.get(start, (offset - start) as usize) else {
            return String::new();
        };
        let bytes = [&before[..], rest].concat();
        match layout::header_of(&bytes) {
            Some(h) => format!("\n  the client sent: {}", layout::message_summary(&h)),
            None => String::new(),
        }
    }

    /// What the client sends past the recording's end, if it starts a frame there.
    fn sent_frame_summary(&self, data: &[u8]) -> String {
        let body = data.get(FRAME_HEADER as usize..).unwrap_or_default();
        match layout::header_of(body) {
            Some(h) => format!("; it sends: {}", layout::message_summary(&h)),
            None => match layout::frame_summary(data, 0) {
                Some(s) => format!("; it sends: {s}"),
                None => String::new(),
            },
        }
    }
}
