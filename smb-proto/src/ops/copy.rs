//! Server-side copy (MS-SMB2 3.2.4.20.1 / 3.3.5.15.6): the source's resume key
//! (FSCTL_SRV_REQUEST_RESUME_KEY), then FSCTL_SRV_COPYCHUNK_WRITE on the destination
//! naming ranges of it, so the data never crosses the network. A server that does not
//! do server-side copies gets the same bytes through the client, READ then WRITE, in
//! the same operation; so does an SMB1 connection, where Samba has no server-side copy
//! (its copy-chunk FSCTLs are SMB2 IOCTLs only).

use crate::idmap::IdMap;
use std::collections::VecDeque;

use bytes::Bytes;

use crate::connection::{Fail, OpContext, Operation, Progress, RequestOptions, Response};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::create::{access_mask, create_options, disposition, FileId};
use crate::wire::fscc::file_attributes;
use crate::wire::ioctl::{
    flags, fsctl, IoctlRequest, IoctlResponse, SrvCopychunk, SrvCopychunkCopy,
    SrvCopychunkResponse, SrvRequestResumeKey,
};
use crate::wire::request::RequestBody;

use super::file::{check, close, create, status_err};
use super::{path, OpenOptions, TreeId};

const SRC_OPEN: usize = 0;
const RESUME_KEY: usize = 1;
const DEST_OPEN: usize = 2;
const SRC_CLOSE: usize = 3;
const DEST_CLOSE: usize = 4;
/// Tags from here on are copy-chunk, READ and WRITE requests.
const IO: usize = 8;

/// Copy-chunk requests in flight at once: enough to keep a server's disks busy between
/// answers, few enough that a refusal of the limits costs little.
const COPIES_IN_FLIGHT: usize = 4;
/// How often a server may answer STATUS_INVALID_PARAMETER with new limits before the
/// copy gives up on it: a server that keeps moving its limits is not converging.
const MAX_RENEGOTIATIONS: u32 = 4;

/// The most one copy-chunk request may ask of the server (MS-SMB2 3.3.1.5:
/// ServerSideCopyMaxNumberofChunks, ServerSideCopyMaxChunkSize,
/// ServerSideCopyMaxDataSize).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyLimits {
    /// The most chunks in one request.
    pub max_chunks: u32,
    /// The largest chunk, in bytes.
    pub max_chunk_size: u32,
    /// The most bytes one request copies.
    pub max_total: u32,
}

/// The most chunks one copy-chunk request carries (Windows' own limit, 256).
const MAX_CHUNKS: u32 = 256;

impl CopyLimits {
    /// MS-SMB2's defaults (3.3.3: 16 chunks of 1 MiB, 16 MiB per request), which Windows
    /// and Samba accept.
    pub const DEFAULT: CopyLimits = CopyLimits {
        max_chunks: 16,
        max_chunk_size: 1 << 20,
        max_total: 16 << 20,
    };

    /// The chunks of one request for the start of `span`, and the bytes they cover: at
    /// most [`MAX_CHUNKS`] whatever limits a server stated, so that a server claiming
    /// billions of 1-byte chunks costs requests, not memory.
    fn chunks(&self, span: Span) -> (Vec<SrvCopychunk>, u64) {
        let chunk = u64::from(self.max_chunk_size.max(1));
        let total = span
            .len
            .min(u64::from(self.max_total.max(1)))
            .min(chunk * u64::from(self.max_chunks.clamp(1, MAX_CHUNKS)));
        let mut chunks = Vec::new();
        let mut done = 0;
        while done < total {
            let len = chunk.min(total - done);
            chunks.push(SrvCopychunk {
                source_offset: span.src + done,
                target_offset: span.dest + done,
                length: len as u32,
            });
            done += len;
        }
        (chunks, total)
    }

    /// Whether a request for `len` bytes in chunks of at most `chunk` keeps to these.
    fn allow(&self, len: u64, chunk: u64) -> bool {
        len <= u64::from(self.max_total)
            && chunk <= u64::from(self.max_chunk_size)
            && len.div_ceil(chunk.max(1)) <= u64::from(self.max_chunks)
    }
}

impl Default for CopyLimits {
    fn default() -> Self {
        CopyLimits::DEFAULT
    }
}

/// What a copy does when the destination exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyDestination {
    /// Create it; an existing one fails the copy with
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) (FILE_CREATE).
    CreateNew,
    /// Create it, or truncate an existing one first (FILE_OVERWRITE_IF).
    Replace,
    /// Create it, or write into an existing one, keeping the bytes the copy does not
    /// cover (FILE_OPEN_IF): for ranges.
    WriteInto,
}

/// What a [`CopyFile`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// The bytes copied.
    pub bytes: u64,
    /// Whether the server copied them itself (FSCTL_SRV_COPYCHUNK_WRITE); `false` when
    /// it refused and the bytes went through the client.
    pub server_side: bool,
}

/// A range still to copy: `len` bytes from `src` in the source to `dest` in the
/// destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    src: u64,
    dest: u64,
    len: u64,
}

impl Span {
    /// What is left after the first `n` bytes.
    fn after(self, n: u64) -> Span {
        Span {
            src: self.src + n,
            dest: self.dest + n,
            len: self.len - n,
        }
    }
}

/// A request in flight.
#[derive(Debug)]
enum Pending {
    /// A copy-chunk request for `span`, in chunks of at most `chunk` bytes.
    Chunks { span: Span, chunk: u64 },
    /// A READ of the source (the copy through the client).
    Read(Span),
    /// A WRITE of `data` at `at` in the destination.
    Write { at: u64, data: Bytes },
}

/// Copies a file, or a range of one, to another path on the same share → [`Copied`]:
/// server-side where the server does it, through the client where it refuses.
///
/// Opens the source for reading and asks its resume key (one compound), opens or
/// creates the destination for writing (as [`CopyDestination`] says), and sends
/// FSCTL_SRV_COPYCHUNK_WRITE requests, a few in flight, each within the server's
/// limits: [`CopyLimits::DEFAULT`] at first, and those the server states when it
/// answers STATUS_INVALID_PARAMETER with them (the refused range is asked again). A
/// server that answers the resume key or a copy-chunk request with
/// STATUS_NOT_SUPPORTED, STATUS_INVALID_DEVICE_REQUEST or STATUS_NOT_IMPLEMENTED gets
/// the rest as READs and WRITEs. Both handles are closed at the end.
///
/// The whole source is copied to the start of the destination unless
/// [`range`](Self::range) says otherwise; a range is clipped to the source's size at
/// open. A copy that fails after the destination was opened leaves what it wrote
/// there.
///
/// ```
/// use std::time::Instant;
/// use smb_proto::ops::{CopyDestination, CopyFile};
/// use smb_proto::{Config, Connection};
///
/// let now = Instant::now();
/// let mut conn = Connection::new(Config::new("server", [0; 32]), now);
/// // A driver's `call` runs it too: `conn.call(op)?` (smb-blocking) or
/// // `client.call(op).await?` (smb-async), or `copy_file` / `copy_range`.
/// let op = CopyFile::new("share", "big.iso", "backup/big.iso", CopyDestination::CreateNew)
///     .range(0, 0, 1 << 30);
/// let copy = conn.start(op, now);
/// // Pump bytes; the `Event::Done` naming `copy.id()` gives `copy.output(result)?`, a
/// // `Copied` with the bytes and whether the server copied them itself.
/// # let _ = copy;
/// ```
#[derive(Debug)]
pub struct CopyFile {
    share: String,
    src: String,
    dest: String,
    destination: CopyDestination,
    /// (source offset, destination offset, length) when not the whole file.
    range: Option<(u64, u64, u64)>,
    limits: CopyLimits,
    tree: TreeId,
    src_id: Option<FileId>,
    dest_id: Option<FileId>,
    resume_key: Option<[u8; 24]>,
    /// Whether the copy is still server-side (false once the server refused).
    server_side: bool,
    renegotiations: u32,
    todo: VecDeque<Span>,
    in_flight: IdMap<usize, Pending>,
    next_tag: usize,
    copied: u64,
    /// CLOSEs sent and not yet answered (both handles are closed together).
    closes: Option<u8>,
}

impl CopyFile {
    /// Copies `src` to `dest`, both on `share`; `destination` says what happens to an
    /// existing `dest`.
    pub fn new(share: &str, src: &str, dest: &str, destination: CopyDestination) -> Self {
        CopyFile {
            share: share.to_string(),
            src: src.to_string(),
            dest: dest.to_string(),
            destination,
            range: None,
            limits: CopyLimits::DEFAULT,
            tree: TreeId(0),
            src_id: None,
            dest_id: None,
            resume_key: None,
            server_side: true,
            renegotiations: 0,
            todo: VecDeque::new(),
            in_flight: IdMap::default(),
            next_tag: IO,
            copied: 0,
            closes: None,
        }
    }

    /// Copies `len` bytes from `src_offset` in the source to `dest_offset` in the
    /// destination instead of the whole file (fewer when the source ends first).
    pub fn range(mut self, src_offset: u64, dest_offset: u64, len: u64) -> Self {
        self.range = Some((src_offset, dest_offset, len));
        self
    }

    /// The limits the first copy-chunk requests keep to (default
    /// [`CopyLimits::DEFAULT`]); a server that allows less says so and is believed.
    pub fn limits(mut self, limits: CopyLimits) -> Self {
        self.limits = limits;
        self
    }

    fn source_options() -> OpenOptions {
        OpenOptions {
            access: access_mask::FILE_READ_DATA
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: create_options::NON_DIRECTORY_FILE,
            attributes: 0,
        }
    }

    /// FSCTL_SRV_COPYCHUNK_WRITE needs only write access to the destination (unlike
    /// FSCTL_SRV_COPYCHUNK, which also reads it). FILE_GENERIC_WRITE rather than
    /// FILE_WRITE_DATA alone: replacing a file may need FILE_WRITE_EA and
    /// FILE_WRITE_ATTRIBUTES too (MS-FSA 2.1.5.1.2.1).
    fn dest_options(&self) -> OpenOptions {
        OpenOptions {
            access: access_mask::FILE_GENERIC_WRITE | access_mask::FILE_READ_ATTRIBUTES,
            disposition: match self.destination {
                CopyDestination::CreateNew => disposition::CREATE,
                CopyDestination::Replace => disposition::OVERWRITE_IF,
                CopyDestination::WriteInto => disposition::OPEN_IF,
            },
            create_options: create_options::NON_DIRECTORY_FILE,
            attributes: file_attributes::NORMAL,
        }
    }

    /// Whether the server answered that it does not do server-side copies.
    fn refused(status: NtStatus) -> bool {
        matches!(
            status,
            NtStatus::NOT_SUPPORTED | NtStatus::INVALID_DEVICE_REQUEST | NtStatus::NOT_IMPLEMENTED
        )
    }

    fn tag(&mut self, pending: Pending) -> usize {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.in_flight.insert(tag, pending);
        tag
    }

    /// Sends requests while the window has room; closes both handles when all is copied.
    fn pump(&mut self, cx: &mut OpContext<'_>) {
        let (Some(src_id), Some(dest_id)) = (self.src_id, self.dest_id) else {
            return;
        };
        let window = if self.server_side {
            COPIES_IN_FLIGHT
        } else {
            cx.io_window()
        };
        while self.in_flight.len() < window {
            let Some(span) = self.todo.pop_front() else {
                break;
            };
            let (tag, body, taken) = match self.resume_key.filter(|_| self.server_side) {
                Some(source_key) => {
                    let (chunks, taken) = self.limits.chunks(span);
                    let chunk = chunks.iter().map(|c| u64::from(c.length)).max();
                    let mut input = Vec::new();
                    SrvCopychunkCopy { source_key, chunks }.encode(&mut input);
                    let body = RequestBody::Ioctl(IoctlRequest {
                        ctl_code: fsctl::SRV_COPYCHUNK_WRITE,
                        file_id: dest_id,
                        input: input.into(),
                        max_input_response: 0,
                        max_output_response: SrvCopychunkResponse::LEN,
                        flags: flags::IS_FSCTL,
                    });
                    let first = Span { len: taken, ..span };
                    let chunk = chunk.unwrap_or(0);
                    let tag = self.tag(Pending::Chunks { span: first, chunk });
                    (tag, body, taken)
                }
                None => {
                    let n = cx.negotiated();
                    let most = n.max_read_size.min(n.max_write_size).max(1);
                    let taken = span.len.min(u64::from(most));
                    let body = super::io::read(cx, src_id, span.src, taken as u32);
                    let tag = self.tag(Pending::Read(Span { len: taken, ..span }));
                    (tag, body, taken)
                }
            };
            if taken < span.len {
                self.todo.push_front(span.after(taken));
            }
            cx.send_with(tag, body, RequestOptions::on(self.tree));
        }
        if self.todo.is_empty() && self.in_flight.is_empty() && self.closes.is_none() {
            self.closes = Some(2);
            cx.send(SRC_CLOSE, super::io::close(cx, src_id));
            cx.send(DEST_CLOSE, super::io::close(cx, dest_id));
        }
    }

    fn write(&mut self, cx: &mut OpContext<'_>, at: u64, data: Bytes) {
        let Some(file_id) = self.dest_id else { return };
        let body = super::io::write(cx, file_id, at, data.clone());
        let tag = self.tag(Pending::Write { at, data });
        cx.send_with(tag, body, RequestOptions::on(self.tree));
    }

    fn incomplete(&self, detail: String) -> Fail {
        Fail::Op(Error::Incomplete {
            op: "copy",
            path: self.src.clone(),
            detail,
        })
    }

    /// The answer to a copy-chunk request for `span`.
    fn on_chunks(&mut self, span: Span, chunk: u64, resp: &Response) -> Result<(), Fail> {
        match resp.status() {
            NtStatus::SUCCESS => {
                let out = SrvCopychunkResponse::decode(&IoctlResponse::decode(&resp.msg)?.output)?;
                if u64::from(out.total_bytes_written) != span.len {
                    return Err(self.incomplete(format!(
                        "the server copied {} of {} bytes from {} to {}",
                        out.total_bytes_written, span.len, span.src, span.dest
                    )));
                }
                self.copied += span.len;
            }
            NtStatus::INVALID_PARAMETER => {
                // The server's limits, when the answer is an IOCTL response carrying
                // them (MS-SMB2 3.3.5.15.6.2); anything else is a plain refusal.
                let limits = IoctlResponse::decode(&resp.msg)
                    .ok()
                    .and_then(|r| SrvCopychunkResponse::decode(&r.output).ok())
                    .map(|l| CopyLimits {
                        max_chunks: l.chunks_written,
                        max_chunk_size: l.chunk_bytes_written,
                        max_total: l.total_bytes_written,
                    })
                    .filter(|l| {
                        l.max_chunks > 0
                            && l.max_chunk_size > 0
                            && l.max_total > 0
                            && !l.allow(span.len, chunk)
                    });
                match limits {
                    Some(l) if self.renegotiations < MAX_RENEGOTIATIONS => {
                        self.renegotiations += 1;
                        self.limits = l;
                        self.todo.push_front(span);
                    }
                    _ => return Err(status_err(resp.status(), "copy", &self.dest)),
                }
            }
            s if Self::refused(s) => {
                self.server_side = false;
                self.todo.push_front(span);
            }
            s => return Err(status_err(s, "copy", &self.dest)),
        }
        Ok(())
    }

    /// The answer to a READ of `span` (the copy through the client): its data goes to
    /// the destination, and what a short READ left is asked again.
    fn on_read(&mut self, cx: &mut OpContext<'_>, span: Span, resp: &Response) -> Result<(), Fail> {
        let data = match resp.status() {
            NtStatus::SUCCESS => super::io::read_data(cx, resp)?,
            NtStatus::END_OF_FILE => Bytes::new(),
            s => return Err(status_err(s, "copy", &self.src)),
        };
        let got = data.len() as u64;
        if got == 0 || got > span.len {
            return Err(self.incomplete(format!(
                "a {}-byte read at {} returned {got} bytes (the source changed during the copy)",
                span.len, span.src
            )));
        }
        if got < span.len {
            self.todo.push_front(span.after(got));
        }
        self.write(cx, span.dest, data);
        Ok(())
    }

    fn on_write(
        &mut self,
        cx: &mut OpContext<'_>,
        at: u64,
        data: Bytes,
        resp: &Response,
    ) -> Result<(), Fail> {
        check(resp, "copy", &self.dest)?;
        let count = super::io::written(cx, resp, data.len())?;
        if count == 0 || count > data.len() {
            return Err(self.incomplete(format!(
                "the server accepted {count} of {} bytes at {at}",
                data.len()
            )));
        }
        self.copied += count as u64;
        if count < data.len() {
            self.write(cx, at + count as u64, data.slice(count..));
        }
        Ok(())
    }
}

impl Operation for CopyFile {
    type Output = Copied;

    fn label(&self) -> (&'static str, &str) {
        ("copy", &self.src)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_file("copy", &self.src)?;
        path::check_file("copy", &self.dest)?;
        let same = path::wire_name(&self.src).eq_ignore_ascii_case(&path::wire_name(&self.dest));
        if same && self.destination == CopyDestination::Replace {
            // Truncating the destination would truncate the source first.
            return Err(Error::Invalid(format!(
                "copy {}: source and destination are the same file",
                self.src
            )));
        }
        Ok(())
    }

    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        if self.closes.is_some() {
            return Vec::new();
        }
        [self.src_id, self.dest_id]
            .into_iter()
            .flatten()
            .map(|id| (self.tree, close(id)))
            .collect()
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Copied>, Fail> {
        self.tree = cx.tree();
        if cx.is_smb1() {
            // Samba serves FSCTL_SRV_REQUEST_RESUME_KEY and FSCTL_SRV_COPYCHUNK only in
            // its SMB2 IOCTL (`smb2_ioctl_network_fs.c`); over SMB1 the bytes go through
            // the client: the source's open, then the destination's.
            self.server_side = false;
            let open = super::io::open(cx, &self.src, &Self::source_options());
            cx.send(SRC_OPEN, open);
            return Ok(Progress::Pending);
        }
        let resume_key = RequestBody::Ioctl(IoctlRequest {
            ctl_code: fsctl::SRV_REQUEST_RESUME_KEY,
            file_id: FileId::ANY,
            max_output_response: SrvRequestResumeKey::MAX_OUTPUT,
            flags: flags::IS_FSCTL,
            ..Default::default()
        });
        cx.send_related(vec![
            (SRC_OPEN, create(&self.src, &Self::source_options())),
            (RESUME_KEY, resume_key),
        ]);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<Copied>, Fail> {
        match tag {
            SRC_OPEN => {
                check(&resp, "copy", &self.src)?;
                let c = super::io::opened(cx, &resp)?;
                self.src_id = Some(c.file_id);
                let (src, dest, len) = self.range.unwrap_or((0, 0, c.end_of_file));
                let len = len.min(c.end_of_file.saturating_sub(src));
                if dest.checked_add(len).is_none() {
                    return Err(Fail::Op(Error::Invalid(format!(
                        "copy {}: a destination offset of {dest} leaves no room for {len} bytes",
                        self.dest
                    ))));
                }
                if len > 0 {
                    self.todo.push_back(Span { src, dest, len });
                }
                if cx.is_smb1() {
                    let open = super::io::open(cx, &self.dest, &self.dest_options());
                    cx.send(DEST_OPEN, open);
                }
                return Ok(Progress::Pending);
            }
            RESUME_KEY => {
                match resp.status() {
                    NtStatus::SUCCESS => {
                        let out = IoctlResponse::decode(&resp.msg)?.output;
                        self.resume_key = Some(SrvRequestResumeKey::decode(&out)?.resume_key);
                    }
                    s if Self::refused(s) => self.server_side = false,
                    s => return Err(status_err(s, "copy", &self.src)),
                }
                cx.send(DEST_OPEN, create(&self.dest, &self.dest_options()));
                return Ok(Progress::Pending);
            }
            DEST_OPEN => {
                check(&resp, "copy", &self.dest)?;
                self.dest_id = Some(super::io::opened(cx, &resp)?.file_id);
            }
            SRC_CLOSE | DEST_CLOSE => {
                let path = if tag == SRC_CLOSE {
                    &self.src
                } else {
                    &self.dest
                };
                check(&resp, "copy", path)?;
                let left = self.closes.unwrap_or(1).saturating_sub(1);
                self.closes = Some(left);
                if left == 0 {
                    return Ok(Progress::Done(Copied {
                        bytes: self.copied,
                        server_side: self.server_side,
                    }));
                }
                return Ok(Progress::Pending);
            }
            _ => match self.in_flight.remove(&tag) {
                Some(Pending::Chunks { span, chunk }) => self.on_chunks(span, chunk, &resp)?,
                Some(Pending::Read(span)) => self.on_read(cx, span, &resp)?,
                Some(Pending::Write { at, data }) => self.on_write(cx, at, data, &resp)?,
                None => {
                    return Err(Fail::Op(Error::Invalid(
                        "a response to a request the copy did not send".into(),
                    )))
                }
            },
        }
        self.pump(cx);
        Ok(Progress::Pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_stating_absurd_limits_costs_requests_not_memory() {
        let absurd = CopyLimits {
            max_chunks: u32::MAX,
            max_chunk_size: 1,
            max_total: u32::MAX,
        };
        let (chunks, taken) = absurd.chunks(Span {
            src: 0,
            dest: 0,
            len: 1 << 30,
        });
        assert_eq!(chunks.len(), MAX_CHUNKS as usize);
        assert_eq!(taken, u64::from(MAX_CHUNKS));
    }

    #[test]
    fn requests_keep_to_the_limits() {
        let span = Span {
            src: 10,
            dest: 1000,
            len: 40 << 20,
        };
        let (chunks, taken) = CopyLimits::DEFAULT.chunks(span);
        assert_eq!(taken, 16 << 20);
        assert_eq!(chunks.len(), 16);
        assert!(chunks.iter().all(|c| c.length == 1 << 20));
        assert_eq!(
            (chunks[1].source_offset, chunks[1].target_offset),
            (10 + (1 << 20), 1000 + (1 << 20))
        );

        // Samba's limits for a request that asked 4 MiB chunks: 256 chunks of 1 MiB,
        // 16 MiB in all; the 4 MiB request broke the chunk size, a 1 MiB one does not.
        let samba = CopyLimits {
            max_chunks: 256,
            max_chunk_size: 1 << 20,
            max_total: 16 << 20,
        };
        assert!(!samba.allow(16 << 20, 4 << 20));
        assert!(samba.allow(16 << 20, 1 << 20));
        assert!(!samba.allow(17 << 20, 1 << 20));
        let few = CopyLimits {
            max_chunks: 2,
            max_chunk_size: 100,
            max_total: 1000,
        };
        let (chunks, taken) = few.chunks(Span {
            src: 0,
            dest: 0,
            len: 250,
        });
        assert_eq!((chunks.len(), taken), (2, 200));
        assert!(few.allow(200, 100) && !few.allow(201, 100));
        // A short tail is one short chunk.
        let (chunks, taken) = few.chunks(Span {
            src: 0,
            dest: 0,
            len: 130,
        });
        assert_eq!(taken, 130);
        assert_eq!(
            chunks.iter().map(|c| c.length).collect::<Vec<_>>(),
            [100, 30]
        );
    }
}
