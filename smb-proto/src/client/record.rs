//! The drivers' half of recording a session: where the recording goes
//! ([`RecordTarget`], named in [`ConnectOptions::record`]) and the sink a driver feeds
//! the bytes its socket moved ([`RecordSink`]). The format and the recorder are in
//! [`crate::replay`]; this only writes the recorder's text out.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use super::ConnectOptions;
use crate::config::Config;
use crate::replay::{ParseError, RecordOptions, Recorder, Recording, Setup};

/// Where a recording is written, and how ([`RecordOptions`]).
#[derive(Clone)]
pub struct RecordTarget {
    sink: Sink,
    options: RecordOptions,
}

/// A writer handed over once: the first connection takes it.
type SharedWriter = Arc<Mutex<Option<Box<dyn Write + Send>>>>;

#[derive(Clone)]
enum Sink {
    Path(PathBuf),
    Writer(SharedWriter),
}

impl fmt::Debug for RecordTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sink {
            Sink::Path(p) => write!(f, "RecordTarget({}, {:?})", p.display(), self.options),
            Sink::Writer(_) => write!(f, "RecordTarget(<writer>, {:?})", self.options),
        }
    }
}

impl RecordTarget {
    /// A file, created (or truncated) when the connection starts.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        RecordTarget {
            sink: Sink::Path(path.into()),
            options: RecordOptions::default(),
        }
    }

    /// Any writer; the first connection made with these options takes it.
    pub fn writer(writer: impl Write + Send + 'static) -> Self {
        RecordTarget {
            sink: Sink::Writer(Arc::new(Mutex::new(Some(Box::new(writer))))),
            options: RecordOptions::default(),
        }
    }

    /// An in-memory recording: the target, and the buffer to read it from once the
    /// connection has ended (after `close`).
    ///
    /// ```
    /// use smb_proto::client::{ConnectOptions, RecordTarget};
    /// let (target, buffer) = RecordTarget::memory();
    /// let opts = ConnectOptions::new("fileserver").record(target);
    /// // … connect with `opts`, work, close; then:
    /// assert!(buffer.text().is_empty());
    /// ```
    pub fn memory() -> (Self, RecordBuffer) {
        let buffer = RecordBuffer::default();
        (RecordTarget::writer(buffer.clone()), buffer)
    }

    /// The same target, recording with `options`.
    pub fn with_options(mut self, options: RecordOptions) -> Self {
        self.options = options;
        self
    }

    /// How this target records.
    pub fn options(&self) -> RecordOptions {
        self.options
    }

    fn open(&self) -> io::Result<Box<dyn Write + Send>> {
        match &self.sink {
            Sink::Path(p) => {
                let file = File::create(p).map_err(|e| {
                    io::Error::new(e.kind(), format!("recording to {}: {e}", p.display()))
                })?;
                Ok(Box::new(BufWriter::new(file)))
            }
            Sink::Writer(w) => w
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .ok_or_else(|| {
                    io::Error::other("this record target's writer has served a connection already")
                }),
        }
    }
}

/// The bytes of an in-memory recording ([`RecordTarget::memory`]); clones share them.
#[derive(Clone, Default)]
pub struct RecordBuffer(Arc<Mutex<Vec<u8>>>);

impl fmt::Debug for RecordBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordBuffer({} bytes)", self.lock().len())
    }
}

impl RecordBuffer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The text recorded so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    /// The recording, once complete.
    ///
    /// # Errors
    ///
    /// [`ParseError`] while the connection has not ended (no `end` line yet), or when
    /// the recorder refused the session.
    pub fn recording(&self) -> Result<Recording, ParseError> {
        Recording::parse(&self.text())
    }
}

impl Write for RecordBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What a recording driver feeds: every byte its socket wrote and read, in order. It
/// writes the recording out as the bytes come, and finishes it when dropped.
pub struct RecordSink {
    recorder: Recorder,
    out: Box<dyn Write + Send>,
}

impl fmt::Debug for RecordSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordSink")
            .field("recorder", &self.recorder)
            .finish_non_exhaustive()
    }
}

impl RecordSink {
    /// Opens `target` and writes the setup of a connection made with `opts` and
    /// configured as `config`.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`](crate::Error::Unsupported) for a connection with SMB1 on
    /// (a recording of it would not replay yet), or the target cannot be created or
    /// written.
    pub fn start(
        target: &RecordTarget,
        opts: &ConnectOptions,
        config: &Config,
    ) -> Result<Self, super::ClientError> {
        if config.min_dialect.is_smb1() {
            return Err(super::ClientError::Smb(crate::Error::Unsupported {
                op: "record",
                dialect: "SMB1",
            }));
        }
        let setup = Setup::new(opts, config, target.options);
        let mut sink = RecordSink {
            recorder: Recorder::new(&setup, target.options),
            out: target.open()?,
        };
        sink.drain()?;
        Ok(sink)
    }

    /// Records bytes written to the socket.
    ///
    /// # Errors
    ///
    /// The recorder refused the session (a login without NTLM key exchange: the
    /// connection should end), or the recording cannot be written.
    pub fn sent(&mut self, data: &[u8]) -> io::Result<()> {
        let r = self.recorder.sent(data);
        self.drain()?;
        r.map_err(io::Error::other)
    }

    /// Records bytes read from the socket.
    ///
    /// # Errors
    ///
    /// The recording cannot be written, or has ended.
    pub fn received(&mut self, data: &[u8]) -> io::Result<()> {
        let r = self.recorder.received(data);
        self.drain()?;
        r.map_err(io::Error::other)
    }

    /// Records one KDC attempt of a Kerberos login: `request`, its answer `reply`, and
    /// the wall-clock time `wall` handed to
    /// [`Connection::kdc_reply`](crate::Connection::kdc_reply) with it.
    ///
    /// # Errors
    ///
    /// The recording cannot be written, or has ended.
    pub fn kdc(
        &mut self,
        request: &crate::auth::kerberos::KdcRequest,
        reply: &Result<Vec<u8>, crate::auth::kerberos::KdcIoError>,
        wall: std::time::SystemTime,
    ) -> io::Result<()> {
        let r = self
            .recorder
            .kdc(crate::replay::KdcRecord::new(request, reply, wall));
        self.drain()?;
        r.map_err(io::Error::other)
    }

    /// Records that the server closed the connection.
    ///
    /// # Errors
    ///
    /// The recording cannot be written.
    pub fn server_closed(&mut self) -> io::Result<()> {
        self.recorder.server_closed();
        self.drain()
    }

    /// Completes the recording and flushes it; later calls do nothing.
    ///
    /// # Errors
    ///
    /// The recording cannot be written.
    pub fn finish(&mut self) -> io::Result<()> {
        self.recorder.finish();
        self.drain()?;
        self.out.flush()
    }

    fn drain(&mut self) -> io::Result<()> {
        let text = self.recorder.take_text();
        if text.is_empty() {
            return Ok(());
        }
        self.out
            .write_all(text.as_bytes())
            .map_err(|e| io::Error::new(e.kind(), format!("writing the recording: {e}")))
    }
}

impl Drop for RecordSink {
    fn drop(&mut self) {
        // A connection that ends without its driver finishing the recording (a panic, a
        // dropped task) still leaves a complete one; nobody is left to hear of an error.
        let _ = self.finish();
    }
}
