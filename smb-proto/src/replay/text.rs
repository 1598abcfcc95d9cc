//! The text form of a recording: the writer the recorder and [`Recording::to_text`]
//! share (so a parsed recording prints exactly as it was recorded), and the parser.

use std::fmt::Write as _;

use super::layout::{self, FRAME_HEADER};
use super::{hex, KdcRecord, Record, Recording, Setup, FORMAT_VERSION};
use crate::auth::kerberos::crypto::Enctype;
use crate::auth::kerberos::{KdcConfig, KdcIoError, KdcTransport, TransportPolicy};
use crate::config::{Dialect, SigningPolicy};
use crate::wire::header::HEADER_LEN;

/// Bytes per data line.
const LINE: usize = 64;
/// The first line of every recording, before its version.
const MAGIC: &str = "smb-recording";

/// Why a recording does not parse. Never shows the seed or the recorded bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ParseError {
    /// The 1-based line the problem is on (the last line for a missing `end`).
    pub line: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong with a recording ([`ParseError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The first line is not `smb-recording VERSION`.
    #[error("not an smb-rs recording (it must start with `smb-recording {FORMAT_VERSION}`)")]
    NotARecording,
    /// A version this crate does not read.
    #[error(
        "unsupported recording format version {0} (this crate reads version {FORMAT_VERSION})"
    )]
    UnsupportedVersion(String),
    /// A setup line is missing.
    #[error("the setup has no `{0}` line")]
    MissingSetup(&'static str),
    /// A setup line appears twice.
    #[error("`{0}` is set twice")]
    DuplicateSetup(String),
    /// A setup line this version does not define.
    #[error("unknown setup line `{0}`")]
    UnknownSetup(String),
    /// A setup value that does not parse.
    #[error("bad value for `{0}`")]
    BadValue(&'static str),
    /// A data line whose bytes are not hex.
    #[error("bad hex in a data line")]
    BadHex,
    /// A line that is none of the format's.
    #[error("unknown line `{0}`")]
    UnknownLine(String),
    /// The recording stops before its `end` line (a recorder that did not finish).
    #[error("the recording is incomplete: it has no `end` line")]
    Truncated,
    /// Lines after `end`.
    #[error("data after the `end` line")]
    AfterEnd,
    /// The recorder refused this session and wrote why.
    #[error("the recorder refused this session: {0}")]
    Refused(String),
}

/// Percent-encodes a setup value (see the module docs).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_graphic() && b != b'%' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn decode(s: &str, key: &'static str) -> Result<String, ParseErrorKind> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let pair = s.get(i + 1..i + 3).ok_or(ParseErrorKind::BadValue(key))?;
            out.push(u8::from_str_radix(pair, 16).map_err(|_| ParseErrorKind::BadValue(key))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ParseErrorKind::BadValue(key))
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    s.chunks(2)
        .map(|p| Some((digit(p[0])? << 4 | digit(p[1])?) as u8))
        .collect()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn signing_name(p: SigningPolicy) -> &'static str {
    match p {
        SigningPolicy::Never => "Never",
        SigningPolicy::WhenSupported => "WhenSupported",
        SigningPolicy::WhenRequired => "WhenRequired",
        SigningPolicy::Required => "Required",
    }
}

/// The first line and the setup lines.
pub(crate) fn write_setup(s: &Setup, out: &mut String) {
    let _ = writeln!(out, "{MAGIC} {FORMAT_VERSION}");
    let _ = writeln!(
        out,
        "# A recorded SMB2/3 session (format: the docs of smb_proto::replay). It holds no\n\
         # password, but like a capture it discloses the session's data: use test accounts."
    );
    let line = |out: &mut String, key: &str, value: &str| {
        if value.is_empty() {
            let _ = writeln!(out, "{key}");
        } else {
            let _ = writeln!(out, "{key} {value}");
        }
    };
    line(out, "seed", &hex(&s.seed));
    line(out, "filetime-now", &s.filetime_now.to_string());
    line(out, "server-name", &encode(&s.server_name));
    line(out, "client-name", &encode(&s.client_name));
    line(out, "domain", &encode(&s.domain));
    line(out, "user", &encode(&s.user));
    line(out, "ntlm", if s.ntlm_v2 { "v2" } else { "v1" });
    line(
        out,
        "dialects",
        &format!("{} {}", s.min_dialect, s.max_dialect),
    );
    line(out, "signing", signing_name(s.signing));
    line(out, "encrypt", yes_no(s.encrypt));
    line(out, "allow-insecure-guest", yes_no(s.allow_insecure_guest));
    line(
        out,
        "transport",
        if s.netbios { "netbios" } else { "direct" },
    );
    line(out, "max-io-size", &s.max_io_size.to_string());
    line(out, "digests", yes_no(s.digests));
    if let Some(guid) = &s.client_guid {
        line(out, "client-guid", &hex(guid));
    }
    if let Some(kdc) = &s.kerberos {
        line(out, "kerberos", &kdc_config_text(kdc));
    }
}

/// A KDC configuration as the `kerberos` setup line's value:
/// `kdcs=a:88,b:88 transport=tcp-then-udp timeout-ms=5000 etypes=18,17,23 time-offset=0
/// lifetime-s=36000` (`kdcs=` empty for the realm's default).
fn kdc_config_text(k: &KdcConfig) -> String {
    let kdcs: Vec<String> = k.kdcs.iter().map(|h| encode(h)).collect();
    let etypes: Vec<String> = k.etypes.iter().map(|e| e.number().to_string()).collect();
    format!(
        "kdcs={} transport={} timeout-ms={} etypes={} time-offset={} lifetime-s={}",
        kdcs.join(","),
        match k.transport {
            TransportPolicy::TcpThenUdp => "tcp-then-udp",
            TransportPolicy::UdpThenTcp => "udp-then-tcp",
            TransportPolicy::TcpOnly => "tcp-only",
        },
        k.timeout.as_millis(),
        etypes.join(","),
        k.time_offset,
        k.lifetime.as_secs()
    )
}

fn parse_kdc_config(v: &str) -> Result<KdcConfig, ParseErrorKind> {
    let bad = || ParseErrorKind::BadValue("kerberos");
    let mut k = KdcConfig::default();
    for field in v.split(' ') {
        let (key, value) = field.split_once('=').ok_or_else(bad)?;
        match key {
            "kdcs" => {
                k.kdcs = value
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(|h| decode(h, "kerberos"))
                    .collect::<Result<_, _>>()?;
            }
            "transport" => {
                k.transport = match value {
                    "tcp-then-udp" => TransportPolicy::TcpThenUdp,
                    "udp-then-tcp" => TransportPolicy::UdpThenTcp,
                    "tcp-only" => TransportPolicy::TcpOnly,
                    _ => return Err(bad()),
                }
            }
            "timeout-ms" => {
                k.timeout = std::time::Duration::from_millis(value.parse().map_err(|_| bad())?)
            }
            "etypes" => {
                k.etypes = value
                    .split(',')
                    .filter(|e| !e.is_empty())
                    .map(|e| {
                        e.parse()
                            .ok()
                            .and_then(Enctype::from_number)
                            .ok_or_else(bad)
                    })
                    .collect::<Result<_, _>>()?;
            }
            "time-offset" => k.time_offset = value.parse().map_err(|_| bad())?,
            "lifetime-s" => {
                k.lifetime = std::time::Duration::from_secs(value.parse().map_err(|_| bad())?)
            }
            _ => return Err(bad()),
        }
    }
    Ok(k)
}

/// Why a KDC attempt brought no reply, as a `kdc-failed` line's words.
fn kdc_failure_text(e: &KdcIoError) -> String {
    match e {
        KdcIoError::Resolve(t) => format!("resolve {}", encode(t)),
        KdcIoError::Refused => "refused".into(),
        KdcIoError::TimedOut => "timed-out".into(),
        KdcIoError::TooLarge(n) => format!("too-large {n}"),
        KdcIoError::ResponseTooBig => "response-too-big".into(),
        KdcIoError::Io(t) => format!("io {}", encode(t)),
    }
}

fn parse_kdc_failure(v: &str) -> Option<KdcIoError> {
    let (kind, rest) = v.split_once(' ').unwrap_or((v, ""));
    Some(match kind {
        "resolve" => KdcIoError::Resolve(decode(rest, "kdc-failed").ok()?),
        "refused" => KdcIoError::Refused,
        "timed-out" => KdcIoError::TimedOut,
        "too-large" => KdcIoError::TooLarge(rest.parse().ok()?),
        "response-too-big" => KdcIoError::ResponseTooBig,
        "io" => KdcIoError::Io(decode(rest, "kdc-failed").ok()?),
        _ => return None,
    })
}

/// The lines of one KDC attempt: `kdc-request KDC TRANSPORT HEX`, then `kdc-reply
/// WALL_US HEX` or `kdc-failed WALL_US REASON`.
fn write_kdc(k: &KdcRecord, out: &mut String) {
    let _ = writeln!(out, "# kdc: one attempt of a Kerberos login");
    let _ = writeln!(
        out,
        "kdc-request {} {} {}",
        encode(&k.kdc),
        k.transport,
        hex(&k.request)
    );
    match &k.reply {
        Ok(reply) => {
            let _ = writeln!(out, "kdc-reply {} {}", k.wall_us, hex(reply));
        }
        Err(e) => {
            let _ = writeln!(out, "kdc-failed {} {}", k.wall_us, kdc_failure_text(e));
        }
    }
}

/// Lays the bytes of one direction out in lines: a line never crosses a frame or an
/// SMB2 message start and holds at most [`LINE`] bytes, and a comment names each
/// message. Its output depends only on the bytes and on where records start and end, so
/// the recorder (which writes as bytes move) and [`Recording::to_text`] agree.
#[derive(Default)]
struct Direction {
    /// The current frame's bytes so far (digests as zeros: they never hold a header).
    frame: Vec<u8>,
    /// A digest crossed a frame's end: where frames start is no longer known, so the
    /// rest is laid out in plain lines.
    lost: bool,
}

impl Direction {
    fn frame_len(&self) -> Option<usize> {
        (self.frame.len() >= FRAME_HEADER as usize).then(|| layout::frame_len(&self.frame) as usize)
    }

    /// Where the next line starting at frame offset `at` must end at the latest.
    fn break_after(&self, at: usize) -> usize {
        let mut end = at + LINE;
        if self.lost {
            return end;
        }
        if at < FRAME_HEADER as usize {
            return FRAME_HEADER as usize;
        }
        if let Some(len) = self.frame_len() {
            end = end.min(len);
            for m in layout::messages(&self.frame[..], 0, len as u64) {
                let m = m as usize;
                if m > at {
                    end = end.min(m);
                    break;
                }
            }
        }
        end
    }

    /// The comment before a line starting at frame offset `at`, if one starts there:
    /// before a frame, what it carries (its first SMB2 message, or what else it is), and
    /// before each further message of a compound, that message.
    fn comment(&self, at: usize) -> Option<String> {
        if self.lost {
            return None;
        }
        let len = self.frame_len()? as u64;
        let message_at = |m: usize| match self
            .frame
            .get(m..m + HEADER_LEN)
            .and_then(layout::header_of)
        {
            Some(h) => layout::message_summary(&h),
            None => "SMB2 message (its header continues in the next lines)".to_string(),
        };
        let messages = layout::messages(&self.frame[..], 0, len);
        if at == 0 {
            return match messages.first() {
                Some(&m) => Some(message_at(m as usize)),
                None => layout::frame_summary(&self.frame[..], 0),
            };
        }
        if at == FRAME_HEADER as usize || !messages.contains(&(at as u64)) {
            return None;
        }
        Some(message_at(at))
    }

    /// Lays out literal bytes.
    fn literal(&mut self, mark: char, mut data: &[u8], out: &mut String) {
        while !data.is_empty() {
            self.next_frame();
            let at = self.frame.len();
            let mut take = self.room(data.len() as u64) as usize;
            self.frame.extend_from_slice(&data[..take]);
            if !self.lost && at < FRAME_HEADER as usize && self.frame_len().is_some() {
                // The header just completed: its body comes along, so that the comment
                // before the frame can name its first message.
                let more = self.room((data.len() - take) as u64) as usize;
                self.frame.extend_from_slice(&data[take..take + more]);
                take += more;
            }
            let mut pos = at;
            while pos < at + take {
                let end = self.break_after(pos).min(at + take);
                if let Some(c) = self.comment(pos) {
                    let _ = writeln!(out, "# {mark} {c}");
                }
                let _ = writeln!(out, "{mark} {}", hex(&self.frame[pos..end]));
                pos = end;
            }
            self.trim();
            data = &data[take..];
        }
    }

    /// Accounts for `len` outgoing bytes stored as a digest.
    fn digest(&mut self, mut len: u64) {
        while len > 0 {
            self.next_frame();
            let take = self.room(len);
            if self.lost || self.frame.len() < FRAME_HEADER as usize {
                // The frame's own header is inside the digest: frames are lost.
                self.lost = true;
                self.frame.clear();
                return;
            }
            self.frame.resize(self.frame.len() + take as usize, 0);
            len -= take;
        }
    }

    /// Starts a new frame once the current one is complete.
    fn next_frame(&mut self) {
        if self.frame_len().is_some_and(|l| self.frame.len() >= l) {
            self.frame.clear();
        }
    }

    /// How many of `want` bytes belong to the current frame.
    fn room(&self, want: u64) -> u64 {
        if self.lost {
            return want.min(1 << 20);
        }
        let have = self.frame.len() as u64;
        let end = match self.frame_len() {
            Some(l) => l as u64,
            None => FRAME_HEADER,
        };
        want.min(end - have)
    }

    /// Without frames to track, nothing needs keeping.
    fn trim(&mut self) {
        if self.lost {
            self.frame.clear();
        }
    }
}

/// The writer both the recorder and [`Recording::to_text`] use.
#[derive(Default)]
pub(crate) struct Writer {
    sent: Direction,
    received: Direction,
}

impl Writer {
    /// Appends the lines for `record` to `out`.
    pub(crate) fn record(&mut self, record: &Record, out: &mut String) {
        match record {
            Record::Sent(b) => self.sent.literal('>', b, out),
            Record::Received(b) => self.received.literal('<', b, out),
            Record::SentDigest { len, sha256 } => {
                let _ = writeln!(out, ">sha256 {len} {}", hex(sha256));
                self.sent.digest(*len);
            }
            Record::ServerClosed => out.push_str("eof\n"),
            Record::Kdc(k) => write_kdc(k, out),
        }
    }
}

/// The whole text of `rec`.
pub(crate) fn write(rec: &Recording) -> String {
    let mut out = String::new();
    write_setup(&rec.setup, &mut out);
    let mut w = Writer::default();
    for r in &rec.records {
        w.record(r, &mut out);
    }
    out.push_str("end\n");
    out
}

/// The keys of the setup lines.
const SETUP_KEYS: [&str; 16] = [
    "seed",
    "filetime-now",
    "server-name",
    "client-name",
    "domain",
    "user",
    "ntlm",
    "dialects",
    "signing",
    "encrypt",
    "allow-insecure-guest",
    "transport",
    "max-io-size",
    "digests",
    "client-guid",
    "kerberos",
];
/// The first words of the lines after the setup.
const DATA_KEYS: [&str; 9] = [
    ">",
    "<",
    ">sha256",
    "eof",
    "end",
    "refused",
    "kdc-request",
    "kdc-reply",
    "kdc-failed",
];

/// The setup values found so far.
#[derive(Default)]
struct SetupLines {
    seed: Option<[u8; 32]>,
    filetime_now: Option<u64>,
    server_name: Option<String>,
    client_name: Option<String>,
    domain: Option<String>,
    user: Option<String>,
    ntlm_v2: Option<bool>,
    dialects: Option<(Dialect, Dialect)>,
    signing: Option<SigningPolicy>,
    encrypt: Option<bool>,
    allow_insecure_guest: Option<bool>,
    netbios: Option<bool>,
    max_io_size: Option<u32>,
    digests: Option<bool>,
    client_guid: Option<[u8; 16]>,
    kerberos: Option<KdcConfig>,
}

fn set<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), ParseErrorKind> {
    if slot.is_some() {
        return Err(ParseErrorKind::DuplicateSetup(key.to_string()));
    }
    *slot = Some(value);
    Ok(())
}

fn flag(v: &str, key: &'static str) -> Result<bool, ParseErrorKind> {
    match v {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(ParseErrorKind::BadValue(key)),
    }
}

impl SetupLines {
    /// Takes one `key value` line; `Ok(false)` when `key` is no setup key.
    fn take(&mut self, key: &str, v: &str) -> Result<bool, ParseErrorKind> {
        let bad = ParseErrorKind::BadValue;
        match key {
            "seed" => {
                let seed = unhex(v).and_then(|b| <[u8; 32]>::try_from(b).ok());
                set(&mut self.seed, key, seed.ok_or(bad("seed"))?)?;
            }
            "filetime-now" => {
                let t = v.parse().map_err(|_| bad("filetime-now"))?;
                set(&mut self.filetime_now, key, t)?;
            }
            "server-name" => set(&mut self.server_name, key, decode(v, "server-name")?)?,
            "client-name" => set(&mut self.client_name, key, decode(v, "client-name")?)?,
            "domain" => set(&mut self.domain, key, decode(v, "domain")?)?,
            "user" => set(&mut self.user, key, decode(v, "user")?)?,
            "ntlm" => {
                let v2 = match v {
                    "v2" => true,
                    "v1" => false,
                    _ => return Err(bad("ntlm")),
                };
                set(&mut self.ntlm_v2, key, v2)?;
            }
            "dialects" => {
                let (lo, hi) = v.split_once(' ').ok_or(bad("dialects"))?;
                let d = |s: &str| Dialect::parse(s).ok_or(bad("dialects"));
                set(&mut self.dialects, key, (d(lo)?, d(hi)?))?;
            }
            "signing" => {
                let p = match v {
                    "Never" => SigningPolicy::Never,
                    "WhenSupported" => SigningPolicy::WhenSupported,
                    "WhenRequired" => SigningPolicy::WhenRequired,
                    "Required" => SigningPolicy::Required,
                    _ => return Err(bad("signing")),
                };
                set(&mut self.signing, key, p)?;
            }
            "encrypt" => set(&mut self.encrypt, key, flag(v, "encrypt")?)?,
            "allow-insecure-guest" => set(
                &mut self.allow_insecure_guest,
                key,
                flag(v, "allow-insecure-guest")?,
            )?,
            "transport" => {
                let netbios = match v {
                    "direct" => false,
                    "netbios" => true,
                    _ => return Err(bad("transport")),
                };
                set(&mut self.netbios, key, netbios)?;
            }
            "max-io-size" => {
                let n = v.parse().map_err(|_| bad("max-io-size"))?;
                set(&mut self.max_io_size, key, n)?;
            }
            "digests" => set(&mut self.digests, key, flag(v, "digests")?)?,
            "client-guid" => {
                let guid = unhex(v).and_then(|b| <[u8; 16]>::try_from(b).ok());
                set(&mut self.client_guid, key, guid.ok_or(bad("client-guid"))?)?;
            }
            "kerberos" => set(&mut self.kerberos, key, parse_kdc_config(v)?)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn finish(self) -> Result<Setup, ParseErrorKind> {
        use ParseErrorKind::MissingSetup as Missing;
        let (min_dialect, max_dialect) = self.dialects.ok_or(Missing("dialects"))?;
        Ok(Setup {
            seed: self.seed.ok_or(Missing("seed"))?,
            filetime_now: self.filetime_now.ok_or(Missing("filetime-now"))?,
            server_name: self.server_name.ok_or(Missing("server-name"))?,
            client_name: self.client_name.ok_or(Missing("client-name"))?,
            domain: self.domain.ok_or(Missing("domain"))?,
            user: self.user.ok_or(Missing("user"))?,
            ntlm_v2: self.ntlm_v2.ok_or(Missing("ntlm"))?,
            min_dialect,
            max_dialect,
            signing: self.signing.ok_or(Missing("signing"))?,
            encrypt: self.encrypt.ok_or(Missing("encrypt"))?,
            allow_insecure_guest: self
                .allow_insecure_guest
                .ok_or(Missing("allow-insecure-guest"))?,
            netbios: self.netbios.ok_or(Missing("transport"))?,
            max_io_size: self.max_io_size.ok_or(Missing("max-io-size"))?,
            digests: self.digests.ok_or(Missing("digests"))?,
            // Optional: absent when the seed drew it.
            client_guid: self.client_guid,
            // Optional: only a Kerberos login has it.
            kerberos: self.kerberos,
        })
    }
}

/// A shortened line for an error message: the start of what the line says, never its
/// data (a data line's key is one character, and the rest is not shown).
fn shown(line: &str) -> String {
    let key = line.split(' ').next().unwrap_or("");
    key.chars().take(40).collect()
}

pub(crate) fn parse(text: &str) -> Result<Recording, ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let err = |line, kind| ParseError { line, kind };
    let (first, magic) = lines.next().ok_or(err(1, ParseErrorKind::NotARecording))?;
    match magic.split_once(' ') {
        Some((MAGIC, v)) if v == FORMAT_VERSION.to_string() => {}
        Some((MAGIC, v)) => {
            let v: String = v.chars().take(20).collect();
            return Err(err(first, ParseErrorKind::UnsupportedVersion(v)));
        }
        _ => return Err(err(first, ParseErrorKind::NotARecording)),
    }
    let mut setup = SetupLines::default();
    let mut setup_done: Option<Setup> = None;
    let mut records = Vec::new();
    let mut rec = |r: Record| match (records.last_mut(), r) {
        (Some(Record::Sent(a)), Record::Sent(b)) => a.extend_from_slice(&b),
        (Some(Record::Received(a)), Record::Received(b)) => a.extend_from_slice(&b),
        (_, r) => records.push(r),
    };
    let mut last = first;
    let mut ended = false;
    // A `kdc-request` line waiting for its `kdc-reply` or `kdc-failed`.
    let mut kdc_request: Option<(String, KdcTransport, Vec<u8>)> = None;
    for (n, line) in lines {
        last = n;
        if ended {
            return Err(err(n, ParseErrorKind::AfterEnd));
        }
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        if setup_done.is_none() {
            match setup.take(key, value) {
                Ok(true) => continue,
                Ok(false) if !DATA_KEYS.contains(&key) => {
                    let key: String = key.chars().take(40).collect();
                    return Err(err(n, ParseErrorKind::UnknownSetup(key)));
                }
                Ok(false) => {
                    setup_done = Some(std::mem::take(&mut setup).finish().map_err(|k| err(n, k))?)
                }
                Err(k) => return Err(err(n, k)),
            }
        }
        match key {
            ">" => rec(Record::Sent(
                unhex(value).ok_or(err(n, ParseErrorKind::BadHex))?,
            )),
            "<" => rec(Record::Received(
                unhex(value).ok_or(err(n, ParseErrorKind::BadHex))?,
            )),
            ">sha256" => {
                let (len, sum) = value
                    .split_once(' ')
                    .ok_or(err(n, ParseErrorKind::BadHex))?;
                let len: u64 = len.parse().map_err(|_| err(n, ParseErrorKind::BadHex))?;
                let sha256 = unhex(sum)
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or(err(n, ParseErrorKind::BadHex))?;
                rec(Record::SentDigest { len, sha256 });
            }
            "kdc-request" if kdc_request.is_none() => {
                let bad = || err(n, ParseErrorKind::BadValue("kdc-request"));
                let mut words = value.split(' ');
                let kdc =
                    decode(words.next().unwrap_or(""), "kdc-request").map_err(|k| err(n, k))?;
                let transport = match words.next() {
                    Some("tcp") => KdcTransport::Tcp,
                    Some("udp") => KdcTransport::Udp,
                    _ => return Err(bad()),
                };
                let message = words.next().and_then(unhex).ok_or_else(bad)?;
                kdc_request = Some((kdc, transport, message));
            }
            "kdc-reply" | "kdc-failed" => {
                let bad = || err(n, ParseErrorKind::BadValue("kdc-reply"));
                let (kdc, transport, request) = kdc_request.take().ok_or_else(bad)?;
                let (wall, rest) = value.split_once(' ').ok_or_else(bad)?;
                let wall_us = wall.parse().map_err(|_| bad())?;
                let reply = match key {
                    "kdc-reply" => Ok(unhex(rest).ok_or_else(bad)?),
                    _ => Err(parse_kdc_failure(rest).ok_or_else(bad)?),
                };
                rec(Record::Kdc(Box::new(KdcRecord {
                    kdc,
                    transport,
                    request,
                    reply,
                    wall_us,
                })));
            }
            _ if kdc_request.is_some() => {
                return Err(err(n, ParseErrorKind::BadValue("kdc-request")))
            }
            "eof" if value.is_empty() => rec(Record::ServerClosed),
            "end" if value.is_empty() => ended = true,
            "refused" => {
                let why: String = value.chars().take(300).collect();
                return Err(err(n, ParseErrorKind::Refused(why)));
            }
            _ if SETUP_KEYS.contains(&key) => {
                return Err(err(n, ParseErrorKind::DuplicateSetup(key.to_string())))
            }
            _ => return Err(err(n, ParseErrorKind::UnknownLine(shown(line)))),
        }
    }
    if !ended {
        return Err(err(last, ParseErrorKind::Truncated));
    }
    let setup = match setup_done {
        Some(s) => s,
        None => setup.finish().map_err(|k| err(last, k))?,
    };
    Ok(Recording { setup, records })
}
