//! The recorder: the bytes a driver moves, turned into the text of a recording as they
//! move. It does no I/O; the driver writes out what [`Recorder::take_text`] returns.

use sha2::{Digest, Sha256};

use super::layout::{self, FRAME_HEADER};
use super::text::{write_setup, Writer};
use super::{Record, Setup};

/// How to record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordOptions {
    /// Store outgoing payloads of 4 KiB or more (WRITE data; the ciphertext of an
    /// encrypted message) as their length and SHA-256 instead of their bytes: a big
    /// upload makes a small recording, and a replay still checks every byte against the
    /// digest. Incoming bytes are always kept whole: a replay must hand them to the
    /// client, and their signatures and ciphertext cover every one of them.
    pub digests: bool,
}

/// Why a session cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The NTLM login went without key exchange, so the session's keys derive from the
    /// password and a replay without it could not reproduce them.
    #[error(
        "recording refused: the server did not take NTLM key exchange \
         (NTLMSSP_NEGOTIATE_KEY_EXCH), so the session's keys come from the password and \
         a recording could not be replayed without it; this client always offers key \
         exchange, and Samba and Windows accept it"
    )]
    NoKeyExchange,
    /// The client sent an AUTHENTICATE message that does not parse.
    #[error("recording refused: {0}")]
    BadLogin(String),
    /// The recording has already ended (finished or refused).
    #[error("the recording has ended")]
    Ended,
}

/// One direction's frame in progress.
#[derive(Default)]
struct Frame {
    /// The frame's bytes so far (whole, for its header fields and digests).
    bytes: Vec<u8>,
    /// How many of them are already in the recording.
    written: usize,
}

impl Frame {
    fn len(&self) -> Option<usize> {
        (self.bytes.len() >= FRAME_HEADER as usize).then(|| layout::frame_len(&self.bytes) as usize)
    }

    fn is_complete(&self) -> bool {
        self.len().is_some_and(|l| self.bytes.len() >= l)
    }

    /// Appends as much of `data` as belongs to this frame; returns how much.
    fn take(&mut self, data: &[u8]) -> usize {
        let end = self.len().unwrap_or(FRAME_HEADER as usize);
        let n = data.len().min(end - self.bytes.len());
        self.bytes.extend_from_slice(&data[..n]);
        n
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Sent,
    Received,
}

/// Turns a session's bytes into a recording as they move, I/O-free.
///
/// The driver calls [`sent`](Self::sent) with every byte it wrote to the socket and
/// [`received`](Self::received) with every byte it read, in the order they moved,
/// [`server_closed`](Self::server_closed) at end of stream and [`finish`](Self::finish)
/// when the connection ends; after each call it writes out
/// [`take_text`](Self::take_text). Frames are written out whole, or in parts when the
/// other direction's bytes come between.
///
/// ```
/// use smb_proto::replay::{Recorder, RecordOptions, Recording, Setup};
/// use smb_proto::client::ConnectOptions;
///
/// let opts = ConnectOptions::new("files");
/// let setup = Setup::new(&opts, &opts.config(|| [7; 32], 0), RecordOptions::default());
/// let mut rec = Recorder::new(&setup, RecordOptions::default());
/// rec.sent(&[0, 0, 0, 1, 42])?;
/// rec.received(&[0, 0])?; // half a frame header: kept until the frame is whole
/// rec.received(&[0, 1, 43])?;
/// rec.finish();
/// let recording = Recording::parse(&rec.take_text())?;
/// assert_eq!(recording.sent_len(), 5);
/// assert_eq!(recording.received_len(), 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Recorder {
    writer: Writer,
    out: String,
    digests: bool,
    sent: Frame,
    received: Frame,
    /// The direction whose bytes moved last: the other's partial frame is written out
    /// before it, so the recording keeps the order the bytes moved in.
    last: Option<Dir>,
    ended: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("digests", &self.digests)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder for a session set up as `setup`; the setup lines are the first text.
    pub fn new(setup: &Setup, options: RecordOptions) -> Self {
        let mut setup = setup.clone();
        setup.digests = options.digests;
        let mut out = String::new();
        write_setup(&setup, &mut out);
        Recorder {
            writer: Writer::default(),
            out,
            digests: options.digests,
            sent: Frame::default(),
            received: Frame::default(),
            last: None,
            ended: false,
        }
    }

    /// Records bytes the client wrote.
    ///
    /// # Errors
    ///
    /// [`RecordError::NoKeyExchange`] when they complete an NTLM AUTHENTICATE message
    /// without key exchange (the recording ends with a `refused` line: the connection
    /// should end too), [`RecordError::Ended`] after the recording ended.
    pub fn sent(&mut self, mut data: &[u8]) -> Result<(), RecordError> {
        if self.ended {
            return Err(RecordError::Ended);
        }
        // Nothing moved: no switch either, or the two halves of a frame written out
        // around it would not lie as a parse of the text puts them together.
        if data.is_empty() {
            return Ok(());
        }
        self.switch_to(Dir::Sent);
        while !data.is_empty() {
            let n = self.sent.take(data);
            data = &data[n..];
            if self.sent.is_complete() {
                if let Err(e) = self.check_login() {
                    self.out.push_str(&format!("refused {e}\n"));
                    self.ended = true;
                    return Err(e);
                }
                self.flush(Dir::Sent);
                self.sent = Frame::default();
            }
        }
        Ok(())
    }

    /// Records bytes the client read.
    ///
    /// # Errors
    ///
    /// [`RecordError::Ended`] after the recording ended.
    pub fn received(&mut self, mut data: &[u8]) -> Result<(), RecordError> {
        if self.ended {
            return Err(RecordError::Ended);
        }
        if data.is_empty() {
            return Ok(());
        }
        self.switch_to(Dir::Received);
        while !data.is_empty() {
            let n = self.received.take(data);
            data = &data[n..];
            if self.received.is_complete() {
                self.flush(Dir::Received);
                self.received = Frame::default();
            }
        }
        Ok(())
    }

    /// Records one KDC attempt of a Kerberos login ([`crate::Event::Kdc`]): what the
    /// core asked for, what came back, and the wall-clock time handed in with it.
    ///
    /// # Errors
    ///
    /// [`RecordError::Ended`] after the recording ended.
    pub fn kdc(&mut self, record: super::KdcRecord) -> Result<(), RecordError> {
        if self.ended {
            return Err(RecordError::Ended);
        }
        self.flush(Dir::Sent);
        self.flush(Dir::Received);
        self.writer
            .record(&Record::Kdc(Box::new(record)), &mut self.out);
        Ok(())
    }

    /// Records that the server closed the connection (a read returned end of stream).
    pub fn server_closed(&mut self) {
        if self.ended {
            return;
        }
        self.flush(Dir::Sent);
        self.flush(Dir::Received);
        self.writer.record(&Record::ServerClosed, &mut self.out);
    }

    /// Ends the recording: writes out what remains and the `end` line. Later calls do
    /// nothing.
    pub fn finish(&mut self) {
        if self.ended {
            return;
        }
        self.flush(Dir::Sent);
        self.flush(Dir::Received);
        self.out.push_str("end\n");
        self.ended = true;
    }

    /// Whether the recording has ended (finished, or refused).
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The text recorded since the last call, to be written out in order.
    pub fn take_text(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    /// Before bytes of direction `dir`, writes out the other direction's partial frame.
    fn switch_to(&mut self, dir: Dir) {
        if self.last != Some(dir) {
            let other = match dir {
                Dir::Sent => Dir::Received,
                Dir::Received => Dir::Sent,
            };
            self.flush(other);
            self.last = Some(dir);
        }
    }

    /// Writes out the bytes of `dir`'s frame not written yet.
    fn flush(&mut self, dir: Dir) {
        let (frame, digests) = match dir {
            Dir::Sent => (&mut self.sent, self.digests),
            Dir::Received => (&mut self.received, false),
        };
        let (from, to) = (frame.written, frame.bytes.len());
        if from == to {
            return;
        }
        frame.written = to;
        let regions = if digests {
            layout::digest_regions(&frame.bytes)
        } else {
            Vec::new()
        };
        let literal = |b: &[u8]| match dir {
            Dir::Sent => Record::Sent(b.to_vec()),
            Dir::Received => Record::Received(b.to_vec()),
        };
        let mut at = from;
        for r in regions {
            let (start, end) = (r.start.max(at), r.end.min(to));
            if start >= end {
                continue;
            }
            if at < start {
                self.writer
                    .record(&literal(&frame.bytes[at..start]), &mut self.out);
            }
            let sha256 = Sha256::digest(&frame.bytes[start..end]).into();
            let len = (end - start) as u64;
            self.writer
                .record(&Record::SentDigest { len, sha256 }, &mut self.out);
            at = end;
        }
        if at < to {
            self.writer
                .record(&literal(&frame.bytes[at..to]), &mut self.out);
        }
    }

    /// Refuses a login a replay could not reproduce without the password.
    fn check_login(&self) -> Result<(), RecordError> {
        let body = &self.sent.bytes[FRAME_HEADER as usize..];
        for login in layout::sent_logins(body).map_err(RecordError::BadLogin)? {
            if !login.anonymous && !login.key_exchange {
                return Err(RecordError::NoKeyExchange);
            }
        }
        Ok(())
    }
}
