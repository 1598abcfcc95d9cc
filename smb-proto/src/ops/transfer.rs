//! Bulk transfers with a window of READ/WRITE requests in flight (MS-SMB2 3.2.4.6,
//! 3.2.4.7), each sized to the negotiated maximum, so throughput is bound by the
//! server rather than by round trips.

use crate::idmap::IdMap;
use std::collections::BTreeMap;

use bytes::Bytes;

use crate::connection::{Fail, OpContext, Operation, Progress, RequestOptions, Response};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::close::{flags as close_flags, CloseRequest, CloseResponse};
use crate::wire::create::{access_mask, create_action, create_options, disposition, FileId};
use crate::wire::fscc::{file_attributes, FileTime};
use crate::wire::read::ReadRequest;
use crate::wire::request::RequestBody;

use super::file::{check, close, create};
use super::{io, path, Handle, OpenOptions, TreeId};

const OPEN: usize = 0;
const CLOSE: usize = 1;
/// The READ and CLOSE that share the first compound with the CREATE.
const FIRST_READ: usize = 2;
const FIRST_CLOSE: usize = 3;
/// Tags from here on are READ/WRITE requests.
const IO: usize = 6;

/// Second open of a file too large for the first compound.
const REOPEN: usize = 5;

fn read_options() -> OpenOptions {
    OpenOptions {
        access: access_mask::FILE_READ_DATA
            | access_mask::FILE_READ_ATTRIBUTES
            | access_mask::SYNCHRONIZE,
        disposition: disposition::OPEN,
        create_options: create_options::NON_DIRECTORY_FILE,
        attributes: 0,
    }
}

fn incomplete(op: &'static str, path: &str, detail: String) -> Fail {
    Fail::Op(Error::Incomplete {
        op,
        path: path.to_string(),
        detail,
    })
}

/// Reads a file from `offset` to its end (or `max_len` bytes), emitting
/// [`Event::Data`](crate::Event::Data) strictly in file order, with many READs in flight
/// → the bytes moved.
///
/// The size the server reports is a hint for how many READs to put in flight, never
/// where the download stops: it stops where a READ says end of file (or at `max_len`),
/// as smbclient does. A file found longer than reported (it grew, or the server's size
/// was wrong) is read on to its end; one that ends before the size reported at open
/// (it shrank under the download) is an [`Error::Incomplete`], never a short success.
#[derive(Debug)]
pub struct ReadFile {
    share: String,
    tree: TreeId,
    path: String,
    /// The snapshot whose version of the file is read, if any.
    snapshot: Option<FileTime>,
    file_id: FileId,
    /// Next offset to request.
    next_req: u64,
    /// Next offset to emit; everything before it was delivered.
    next_emit: u64,
    start: u64,
    /// `start + max_len`: no byte at or past it is asked for.
    limit: u64,
    /// The end the CREATE reported (clamped to `start..=limit`): reading must reach it.
    expected: u64,
    /// READs go out up to here; it grows past `expected` while the file goes on.
    end: u64,
    /// Where a READ said end of file.
    eof: Option<u64>,
    /// The offset of the READ past `end` that asks whether the file goes on, while it
    /// is unanswered.
    probe: Option<u64>,
    in_flight: IdMap<usize, (u64, u32)>,
    next_tag: usize,
    /// Out-of-order data waiting for the gap before it to fill.
    reorder: BTreeMap<u64, Bytes>,
    /// The length of the READ in the first compound, and whether it came back short.
    first_len: u64,
    first_short: bool,
    closing: bool,
    /// Data events the driver has not acknowledged yet ([`Config::paced_reads`]).
    ///
    /// [`Config::paced_reads`]: crate::Config::paced_reads
    unacked: usize,
    /// Whether to report [`Event::Progress`](crate::Event::Progress).
    progress: bool,
}

impl ReadFile {
    /// Reads `path` on `share` from `offset`, up to `max_len` bytes (to the end when
    /// `None`).
    pub fn new(share: &str, path: &str, offset: u64, max_len: Option<u64>) -> Self {
        let limit = max_len.map_or(u64::MAX, |m| offset.saturating_add(m));
        ReadFile {
            share: share.to_string(),
            tree: TreeId(0),
            path: path.to_string(),
            snapshot: None,
            file_id: FileId::ANY,
            next_req: offset,
            next_emit: offset,
            start: offset,
            limit,
            expected: offset,
            end: offset,
            eof: None,
            probe: None,
            in_flight: IdMap::default(),
            next_tag: IO,
            reorder: BTreeMap::new(),
            first_len: 0,
            first_short: false,
            closing: false,
            unacked: 0,
            progress: false,
        }
    }

    /// Reports [`Event::Progress`](crate::Event::Progress) after each delivery, with the
    /// size reported at open as the total.
    pub fn with_progress(mut self) -> Self {
        self.progress = true;
        self
    }

    /// Reads the file as it was in the snapshot taken at `time` (one of
    /// [`ListSnapshots`](super::ListSnapshots)' times).
    pub fn at_snapshot(mut self, time: FileTime) -> Self {
        self.snapshot = Some(time);
        self
    }

    /// The same read, resumed on a new connection after the one running it was lost
    /// with every byte before `delivered` handed over: it opens the path again (a
    /// whole-file read holds no durable handle) and reads from there to the same limit.
    pub fn resume(&self, delivered: u64) -> ReadFile {
        let from = delivered.clamp(self.start, self.limit);
        let mut again = ReadFile::new(&self.share, &self.path, from, None);
        again.limit = self.limit;
        again.snapshot = self.snapshot;
        again.progress = self.progress;
        again
    }

    /// The file it reads, and the range: from where, and up to where at most
    /// (`u64::MAX` for its end); `None` for a snapshot's version.
    pub fn target(&self) -> Option<(&str, &str, u64, u64)> {
        match self.snapshot {
            Some(_) => None,
            None => Some((&self.share, &self.path, self.start, self.limit)),
        }
    }

    /// The CREATE that opens the file (at the snapshot, if any).
    fn open(&self, cx: &OpContext<'_>) -> RequestBody {
        io::open_at(cx, &self.path, &read_options(), self.snapshot)
    }

    fn read(&mut self, cx: &mut OpContext<'_>, offset: u64, len: u32) {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.in_flight.insert(tag, (offset, len));
        let req = io::read(cx, self.file_id, offset, len);
        cx.send(tag, req);
    }

    /// Whether every byte wanted has been delivered: up to `max_len`, or up to where a
    /// READ said end of file.
    fn complete(&self) -> bool {
        self.next_emit >= self.limit || self.eof == Some(self.next_emit)
    }

    fn fill_window(&mut self, cx: &mut OpContext<'_>) -> Result<(), Fail> {
        let chunk = u64::from(cx.negotiated().max_read_size.max(1));
        let window = cx.io_window();
        loop {
            if self.eof.is_none() && self.probe.is_none() && self.next_req >= self.end {
                // Every byte up to `end` is asked for and no READ has said end of file:
                // one READ more, in flight with the last ones, tells whether the file
                // goes on. Only one at a time, so a file that ends as reported costs
                // one small answer.
                self.end = self.next_req.saturating_add(chunk).min(self.limit);
                if self.next_req < self.end {
                    self.probe = Some(self.next_req);
                }
            }
            // Answers waiting for an earlier one hold their place: one slow READ must not
            // let the rest of the file pile up in memory behind it.
            if self.in_flight.len() + self.reorder.len() + self.unacked >= window
                || self.next_req >= self.end
                || self.eof.is_some()
            {
                break;
            }
            let len = chunk.min(self.end - self.next_req) as u32;
            let off = self.next_req;
            self.next_req += u64::from(len);
            self.read(cx, off, len);
        }
        if self.in_flight.is_empty() && !self.closing {
            if self.complete() {
                self.closing = true;
                cx.send(CLOSE, io::close(cx, self.file_id));
            } else if let Some(eof) = self.eof {
                // Every READ is answered and one said end of file before bytes that
                // were delivered or expected: the file changed under the download.
                return Err(self.changed(eof));
            }
        }
        Ok(())
    }

    /// The error for an end of file at `eof` that contradicts what came before it.
    fn changed(&self, eof: u64) -> Fail {
        let detail = format!(
            "end of file at {eof}, but the server reported {} bytes at open and {} bytes \
             were read (the file changed during the download)",
            self.expected,
            self.next_emit.max(self.next_req.min(self.expected)),
        );
        incomplete("get", &self.path, detail)
    }

    /// Notes an end of file reported by a READ at `offset`.
    fn end_of_file(&mut self, offset: u64) -> Result<(), Fail> {
        let eof = self.eof.map_or(offset, |e| e.min(offset));
        self.eof = Some(eof);
        if eof < self.expected || self.next_emit > eof || self.reorder.keys().any(|&o| o >= eof) {
            return Err(self.changed(eof));
        }
        Ok(())
    }

    /// Emits `data` (read at `offset`) and whatever it unblocks, in file order.
    fn deliver(&mut self, cx: &mut OpContext<'_>, offset: u64, data: Bytes) -> Result<(), Fail> {
        if data.is_empty() {
            return Ok(());
        }
        if let Some(eof) = self.eof.filter(|&e| offset >= e) {
            return Err(self.changed(eof));
        }
        self.reorder.insert(offset, data);
        let before = self.next_emit;
        while let Some(d) = self.reorder.remove(&self.next_emit) {
            let off = self.next_emit;
            self.next_emit += d.len() as u64;
            cx.data(off, d);
            if cx.paced_reads() {
                self.unacked += 1;
            }
        }
        if self.progress && self.next_emit > before {
            let total = self.expected.max(self.next_emit) - self.start;
            cx.progress(self.next_emit - self.start, Some(total));
        }
        Ok(())
    }

    /// A READ's data: empty at end of file, an error for any other failure.
    fn read_data(&self, cx: &OpContext<'_>, resp: &Response) -> Result<Bytes, Fail> {
        match resp.status() {
            NtStatus::END_OF_FILE => Ok(Bytes::new()),
            NtStatus::SUCCESS => io::read_data(cx, resp),
            s => Err(super::file::status_err(s, "get", &self.path)),
        }
    }

    fn too_much(&self, got: usize, len: u64) -> Fail {
        let detail = format!("server returned {got} bytes for a {len}-byte read");
        incomplete("get", &self.path, detail)
    }
}

impl Operation for ReadFile {
    type Output = u64;

    fn label(&self) -> (&'static str, &str) {
        ("get", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_file("get", &self.path)
    }

    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        if self.file_id == FileId::ANY || self.closing {
            return Vec::new();
        }
        vec![(self.tree, close(self.file_id))]
    }

    /// One compound CREATE + READ + CLOSE: a file that fits in one READ costs one round
    /// trip (the CLOSE reports the size after the READ, which confirms a short READ
    /// ended at the end of the file). A larger one is opened again for the pipelined rest.
    ///
    /// SMB1 has no compounds: there the open goes alone, and the READs follow its answer.
    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<u64>, Fail> {
        self.tree = cx.tree();
        if cx.is_smb1() {
            cx.send(OPEN, self.open(cx));
            return Ok(Progress::Pending);
        }
        self.first_len = u64::from(cx.negotiated().max_read_size).min(self.limit - self.start);
        let mut items = vec![(OPEN, self.open(cx))];
        if self.first_len > 0 {
            let req = ReadRequest {
                length: self.first_len as u32,
                offset: self.start,
                file_id: FileId::ANY,
                ..Default::default()
            };
            items.push((FIRST_READ, RequestBody::Read(req)));
        }
        let close = RequestBody::Close(CloseRequest {
            flags: close_flags::POSTQUERY_ATTRIB,
            file_id: FileId::ANY,
        });
        items.push((FIRST_CLOSE, close));
        cx.send_related(items);
        Ok(Progress::Pending)
    }

    /// With [`Config::paced_reads`], an empty supply acknowledges one [`Event::Data`](crate::Event::Data).
    ///
    /// [`Config::paced_reads`]: crate::Config::paced_reads
    fn on_supply(&mut self, cx: &mut OpContext<'_>, _data: Bytes) -> Result<Progress<u64>, Fail> {
        if self.unacked == 0 {
            return Err(Fail::Op(Error::Invalid(
                "acknowledged more data than was delivered".into(),
            )));
        }
        self.unacked -= 1;
        if self.file_id != FileId::ANY {
            self.fill_window(cx)?;
        }
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<u64>, Fail> {
        match tag {
            OPEN => {
                check(&resp, "get", &self.path)?;
                let c = io::opened(cx, &resp)?;
                self.expected = c.end_of_file.clamp(self.start, self.limit);
                if !cx.is_smb1() {
                    return Ok(Progress::Pending);
                }
                // The open stood alone (SMB1): the window of READs starts now.
                self.file_id = c.file_id;
                self.end = self.expected;
            }
            FIRST_READ => {
                let data = self.read_data(cx, &resp)?;
                if data.len() as u64 > self.first_len {
                    return Err(self.too_much(data.len(), self.first_len));
                }
                self.first_short = (data.len() as u64) < self.first_len;
                self.next_req = self.start + data.len() as u64;
                if data.is_empty() {
                    self.end_of_file(self.start)?;
                }
                self.deliver(cx, self.start, data)?;
                return Ok(Progress::Pending);
            }
            FIRST_CLOSE => {
                check(&resp, "get", &self.path)?;
                let after = CloseResponse::decode(&resp.msg)?;
                let size_after =
                    (after.flags & close_flags::POSTQUERY_ATTRIB != 0).then_some(after.end_of_file);
                if self.first_short && size_after == Some(self.next_emit) {
                    // The READ stopped short where the file ends, by the server's own
                    // account after the READ.
                    self.end_of_file(self.next_emit)?;
                }
                if self.complete() {
                    return Ok(Progress::Done(self.next_emit - self.start));
                }
                let hint = size_after.unwrap_or(0).max(self.expected);
                self.end = hint.clamp(self.next_req, self.limit);
                cx.send(REOPEN, self.open(cx));
                return Ok(Progress::Pending);
            }
            REOPEN => {
                check(&resp, "get", &self.path)?;
                self.file_id = io::opened(cx, &resp)?.file_id;
            }
            CLOSE => {
                check(&resp, "get", &self.path)?;
                return Ok(Progress::Done(self.next_emit - self.start));
            }
            _ => {
                let Some((offset, len)) = self.in_flight.remove(&tag) else {
                    return Err(Fail::Op(Error::Invalid(
                        "response to an unknown read".into(),
                    )));
                };
                let data = self.read_data(cx, &resp)?;
                if data.len() > len as usize {
                    return Err(self.too_much(data.len(), u64::from(len)));
                }
                if self.probe == Some(offset) {
                    self.probe = None;
                }
                if data.is_empty() {
                    self.end_of_file(offset)?;
                } else if (data.len() as u32) < len {
                    // A short read: ask for the rest rather than leave a hole. At the
                    // end of the file, that READ is the one that says so.
                    self.read(cx, offset + data.len() as u64, len - data.len() as u32);
                }
                self.deliver(cx, offset, data)?;
            }
        }
        self.fill_window(cx)?;
        Ok(Progress::Pending)
    }
}

/// Creates or truncates a file and writes what the driver supplies (after each
/// [`Event::WantData`](crate::Event::WantData)), with a window of WRITEs in flight →
/// the bytes moved. The first chunk is asked for before the CREATE so that a file that
/// fits in one WRITE goes out as one compound CREATE + WRITE + CLOSE: one round trip.
#[derive(Debug)]
pub struct WriteFile {
    share: String,
    tree: TreeId,
    path: String,
    file_id: Option<FileId>,
    /// Where the first byte goes.
    start: u64,
    /// Where the next WRITE goes: `start` plus the bytes handed to WRITEs so far.
    offset: u64,
    /// FILE_OVERWRITE_IF (a fresh file) or FILE_OPEN_IF (written into from `start`).
    disposition: u32,
    in_flight: IdMap<usize, (u64, Bytes)>,
    next_tag: usize,
    wanting: bool,
    eof: bool,
    closing: bool,
    /// The CREATE's CreateAction, once it succeeded: from then on a failure leaves a
    /// file on the server that is not the upload.
    create_action: Option<u32>,
    /// Whether to report what the server acknowledged
    /// ([`Event::Progress`](crate::Event::Progress)), and what was reported last.
    progress: bool,
    reported: u64,
    /// The chunk size a resumed upload must ask for ([`WriteFile::resume`]); else the
    /// server's largest WRITE.
    chunk: Option<usize>,
    /// The first chunk, held until the open answers (SMB1: no compound carries it).
    held: Option<Bytes>,
}

impl WriteFile {
    /// Creates or overwrites `path` on `share`.
    pub fn new(share: &str, path: &str) -> Self {
        WriteFile {
            share: share.to_string(),
            tree: TreeId(0),
            path: path.to_string(),
            file_id: None,
            start: 0,
            offset: 0,
            disposition: disposition::OVERWRITE_IF,
            in_flight: IdMap::default(),
            next_tag: IO,
            wanting: false,
            eof: false,
            closing: false,
            create_action: None,
            progress: false,
            reported: 0,
            chunk: None,
            held: None,
        }
    }

    /// Reports [`Event::Progress`](crate::Event::Progress) after each WRITE the server
    /// acknowledges: `done` counts the bytes from the start that are all acknowledged
    /// (a WRITE answered before an earlier one adds nothing until that one is), so it
    /// is where the upload could resume ([`WriteFile::resume`]); the total is not known
    /// (the input is a stream).
    pub fn with_progress(mut self) -> Self {
        self.progress = true;
        self
    }

    /// Where the first byte goes.
    pub fn start_offset(&self) -> u64 {
        self.start
    }

    /// The file it writes and how it opens it: share, path, where the first byte goes,
    /// and the CREATE's options (replacing the file, or writing into it). What a
    /// transfer striped over a session's channels opens once for all of them.
    pub fn target(&self) -> (&str, &str, u64, OpenOptions) {
        let options = OpenOptions {
            disposition: self.disposition,
            ..write_options()
        };
        (&self.share, &self.path, self.start, options)
    }

    /// The same upload, resumed on a new connection after the one running it was lost
    /// with every byte before `acked` acknowledged (the progress reports'
    /// `start_offset() + done`); the driver supplies its input again from there, in
    /// chunks of `chunk_len`, the size the lost connection asked for (see
    /// [`UploadWindow`](crate::client::UploadWindow)). When nothing was acknowledged it
    /// is the upload from the start, as first asked (a replacing upload truncates again:
    /// its first CREATE may never have reached the server); after that the first CREATE
    /// did its work, and the file is opened as it is and written into from `acked`. A
    /// server that now takes smaller WRITEs than `chunk_len` fails it with
    /// [`Error::Invalid`]: the chunks kept could not be supplied again as asked.
    pub fn resume(&self, acked: u64, chunk_len: usize) -> WriteFile {
        let again = if acked <= self.start {
            let truncate = self.disposition == disposition::OVERWRITE_IF;
            WriteFile::new(&self.share, &self.path).from_offset(self.start, truncate)
        } else {
            WriteFile::new(&self.share, &self.path).from_offset(acked, false)
        };
        WriteFile {
            progress: self.progress,
            chunk: (chunk_len > 0).then_some(chunk_len),
            ..again
        }
    }

    /// The size of the chunks asked for: the resumed upload's, else the server's
    /// largest WRITE.
    fn chunk_len(&self, cx: &OpContext<'_>) -> Result<usize, Fail> {
        let max = cx.negotiated().max_write_size.max(1) as usize;
        match self.chunk {
            Some(chunk) if chunk > max => Err(Fail::Op(Error::Invalid(format!(
                "put {}: the server now takes WRITEs of {max} bytes, the upload being resumed \
                 was cut into {chunk}",
                self.path
            )))),
            Some(chunk) => Ok(chunk),
            None => Ok(max),
        }
    }

    /// The end of the bytes from the start that the server has all acknowledged: the
    /// lowest offset still in flight, or where the next WRITE goes when none is.
    fn acked_to(&self) -> u64 {
        let lowest = self.in_flight.values().map(|(offset, _)| *offset).min();
        lowest.unwrap_or(self.offset)
    }

    /// pysmb's `storeFileFromOffset`: writes from `offset` into the file (created if
    /// missing) instead of replacing it, after truncating it to nothing when `truncate`.
    /// The output is still the bytes written; the next write position is `offset` plus
    /// that.
    pub fn from_offset(mut self, offset: u64, truncate: bool) -> Self {
        self.start = offset;
        self.offset = offset;
        self.disposition = if truncate {
            disposition::OVERWRITE_IF
        } else {
            disposition::OPEN_IF
        };
        self
    }

    fn write_request(
        &mut self,
        cx: &OpContext<'_>,
        file_id: FileId,
        data: Bytes,
    ) -> (usize, RequestBody) {
        let tag = self.next_tag;
        self.next_tag += 1;
        let offset = self.offset;
        self.offset += data.len() as u64;
        self.in_flight.insert(tag, (offset, data.clone()));
        (tag, io::write(cx, file_id, offset, data))
    }

    fn want(&mut self, cx: &mut OpContext<'_>) -> Result<(), Fail> {
        self.wanting = true;
        let max_len = self.chunk_len(cx)?;
        cx.want_data(max_len);
        Ok(())
    }

    /// Asks for more input while the window has room; closes when all is written.
    fn advance(&mut self, cx: &mut OpContext<'_>) -> Result<(), Fail> {
        let Some(file_id) = self.file_id else {
            return Ok(());
        };
        let window = cx.io_window();
        if !self.eof && !self.wanting && self.in_flight.len() < window {
            self.want(cx)?;
        }
        if self.eof && self.in_flight.is_empty() && !self.closing {
            self.closing = true;
            cx.send(CLOSE, io::close(cx, file_id));
        }
        Ok(())
    }
}

/// An overwriting create asks for what smbclient and Windows ask for (0x0012019F):
/// servers may require more than FILE_WRITE_DATA to overwrite a file (MS-FSA 2.1.5.1.2.1:
/// replacing a file's extended attributes needs FILE_WRITE_EA, its attributes
/// FILE_WRITE_ATTRIBUTES), and one that does refuses the bare minimum with
/// STATUS_ACCESS_DENIED.
fn write_options() -> OpenOptions {
    OpenOptions {
        access: access_mask::FILE_GENERIC_READ | access_mask::FILE_GENERIC_WRITE,
        disposition: disposition::OVERWRITE_IF,
        create_options: create_options::NON_DIRECTORY_FILE,
        attributes: file_attributes::NORMAL,
    }
}

impl Operation for WriteFile {
    type Output = u64;

    fn label(&self) -> (&'static str, &str) {
        ("put", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_file("put", &self.path)
    }

    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        match (self.file_id, self.closing) {
            (Some(file_id), false) => vec![(self.tree, close(file_id))],
            _ => Vec::new(),
        }
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<u64>, Fail> {
        self.tree = cx.tree();
        self.want(cx)?;
        Ok(Progress::Pending)
    }

    /// A supply shorter than asked for ends the input.
    fn on_supply(&mut self, cx: &mut OpContext<'_>, data: Bytes) -> Result<Progress<u64>, Fail> {
        if !self.wanting {
            return Err(Fail::Op(Error::Invalid(
                "data supplied before it was asked for".into(),
            )));
        }
        self.wanting = false;
        let chunk = self.chunk_len(cx)?;
        if data.len() > chunk {
            return Err(Fail::Op(Error::Invalid(format!(
                "supplied {} bytes, asked for {chunk}",
                data.len()
            ))));
        }
        self.eof = data.len() < chunk;
        let Some(file_id) = self.file_id else {
            let options = OpenOptions {
                disposition: self.disposition,
                ..write_options()
            };
            if cx.is_smb1() {
                // No compounds on SMB1: the open goes alone, the chunk once it answers.
                self.held = Some(data);
                cx.send(OPEN, io::open(cx, &self.path, &options));
                return Ok(Progress::Pending);
            }
            // The first chunk rides in the CREATE's compound.
            let mut items = vec![(OPEN, create(&self.path, &options))];
            if !data.is_empty() {
                items.push(self.write_request(cx, FileId::ANY, data));
            }
            if self.eof {
                self.closing = true;
                items.push((CLOSE, close(FileId::ANY)));
            }
            cx.send_related(items);
            return Ok(Progress::Pending);
        };
        if !data.is_empty() {
            let (tag, req) = self.write_request(cx, file_id, data);
            cx.send(tag, req);
        }
        self.advance(cx)?;
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<u64>, Fail> {
        match (self.respond(cx, tag, resp), self.create_action) {
            (Err(Fail::Op(cause)), Some(action)) => Err(Fail::Op(Error::UploadLeftBehind {
                cause: Box::new(cause),
                path: self.path.clone(),
                created: action == create_action::CREATED,
            })),
            (r, _) => r,
        }
    }
}

impl WriteFile {
    fn respond(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<u64>, Fail> {
        match tag {
            OPEN => {
                check(&resp, "put", &self.path)?;
                let c = io::opened(cx, &resp)?;
                self.file_id = Some(c.file_id);
                self.create_action = Some(c.create_action);
                if let Some(data) = self.held.take().filter(|d| !d.is_empty()) {
                    let (tag, req) = self.write_request(cx, c.file_id, data);
                    cx.send(tag, req);
                }
            }
            CLOSE => {
                check(&resp, "put", &self.path)?;
                if !self.in_flight.is_empty() {
                    let detail = format!("{} writes unanswered at close", self.in_flight.len());
                    return Err(incomplete("put", &self.path, detail));
                }
                return Ok(Progress::Done(self.offset - self.start));
            }
            _ => {
                let Some((offset, data)) = self.in_flight.remove(&tag) else {
                    return Err(Fail::Op(Error::Invalid(
                        "response to an unknown write".into(),
                    )));
                };
                if resp.status() != NtStatus::SUCCESS {
                    return Err(super::file::status_err(resp.status(), "put", &self.path));
                }
                let count = io::written(cx, &resp, data.len())?;
                if count != data.len() {
                    // A short WRITE is legal but rare; resending the tail would race the
                    // CLOSE already queued in a compound, so report it rather than guess.
                    let detail = format!(
                        "server accepted {count} of {} bytes at {offset}",
                        data.len()
                    );
                    return Err(incomplete("put", &self.path, detail));
                }
                let acked = self.acked_to() - self.start;
                if self.progress && acked > self.reported {
                    self.reported = acked;
                    cx.progress(acked, None);
                }
            }
        }
        self.advance(cx)?;
        Ok(Progress::Pending)
    }
}

/// Reads `len` bytes at `offset` of an open handle as max-size READs, all in flight →
/// the bytes, fewer only where the file ends. One span of a transfer striped over a
/// session's channels ([`client::Stripes`](crate::client::Stripes)), the counterpart of
/// [`Write`].
#[derive(Debug)]
pub struct ReadRange {
    handle: Handle,
    offset: u64,
    len: u64,
    /// The READs in flight: where each asked from and how much.
    in_flight: IdMap<usize, (u64, u32)>,
    next_tag: usize,
    /// What arrived, by offset.
    got: BTreeMap<u64, Bytes>,
    /// Where a READ said the file ends.
    eof: Option<u64>,
}

impl ReadRange {
    /// Reads `len` bytes at `offset` of `handle`'s file.
    pub fn new(handle: Handle, offset: u64, len: u64) -> Self {
        ReadRange {
            handle,
            offset,
            len,
            in_flight: IdMap::default(),
            next_tag: 0,
            got: BTreeMap::new(),
            eof: None,
        }
    }

    fn read(&mut self, cx: &mut OpContext<'_>, offset: u64, len: u32) {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.in_flight.insert(tag, (offset, len));
        let req = io::read(cx, self.handle.file_id, offset, len);
        cx.send_with(tag, req, RequestOptions::on(self.handle.tree));
    }

    /// The bytes from `offset` on, up to the first gap (the end of the file).
    fn assemble(&mut self) -> Bytes {
        let mut out = bytes::BytesMut::new();
        let mut at = self.offset;
        while let Some(piece) = self.got.remove(&at) {
            at += piece.len() as u64;
            out.extend_from_slice(&piece);
        }
        out.freeze()
    }
}

impl Operation for ReadRange {
    type Output = Bytes;

    fn label(&self) -> (&'static str, &str) {
        ("read", "")
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Bytes>, Fail> {
        let chunk = u64::from(cx.negotiated().max_read_size.max(1));
        let end = self.offset.saturating_add(self.len);
        let mut at = self.offset;
        while at < end {
            let len = chunk.min(end - at) as u32;
            self.read(cx, at, len);
            at += u64::from(len);
        }
        Ok(if self.in_flight.is_empty() {
            Progress::Done(Bytes::new())
        } else {
            Progress::Pending
        })
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<Bytes>, Fail> {
        let Some((offset, len)) = self.in_flight.remove(&tag) else {
            return Err(Fail::Op(Error::Invalid(
                "response to an unknown read".into(),
            )));
        };
        let data = match resp.status() {
            NtStatus::END_OF_FILE => Bytes::new(),
            _ => {
                check(&resp, "read", "")?;
                io::read_data(cx, &resp)?
            }
        };
        if data.len() > len as usize {
            let detail = format!("server returned {} bytes for a {len}-byte read", data.len());
            return Err(incomplete("read", "", detail));
        }
        let got = data.len() as u32;
        if got == 0 {
            self.eof = Some(self.eof.map_or(offset, |e| e.min(offset)));
        } else {
            self.got.insert(offset, data);
            if got < len && self.eof.is_none_or(|e| e > offset + u64::from(got)) {
                // A short read: ask for the rest; at the end of the file that READ says so.
                self.read(cx, offset + u64::from(got), len - got);
            }
        }
        if !self.in_flight.is_empty() {
            return Ok(Progress::Pending);
        }
        Ok(Progress::Done(self.assemble()))
    }
}

/// Writes `data` at `offset` on an open handle as max-size WRITEs, all in flight → the
/// byte count.
#[derive(Debug)]
pub struct Write {
    handle: Handle,
    offset: u64,
    data: Bytes,
    in_flight: IdMap<usize, (u64, Bytes)>,
    next_tag: usize,
}

impl Write {
    /// Writes `data` at `offset` of `handle`'s file.
    pub fn new(handle: Handle, offset: u64, data: Bytes) -> Self {
        Write {
            handle,
            offset,
            data,
            in_flight: IdMap::default(),
            next_tag: 0,
        }
    }

    fn write(&mut self, cx: &mut OpContext<'_>, offset: u64, data: Bytes) {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.in_flight.insert(tag, (offset, data.clone()));
        let req = io::write(cx, self.handle.file_id, offset, data);
        cx.send_with(tag, req, RequestOptions::on(self.handle.tree));
    }
}

impl Operation for Write {
    type Output = u64;

    fn label(&self) -> (&'static str, &str) {
        ("write", "")
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<u64>, Fail> {
        if self.data.is_empty() {
            return Ok(Progress::Done(0));
        }
        let chunk = cx.negotiated().max_write_size.max(1) as usize;
        let mut rest = self.data.clone();
        let mut off = self.offset;
        while !rest.is_empty() {
            let piece = rest.split_to(chunk.min(rest.len()));
            let len = piece.len() as u64;
            self.write(cx, off, piece);
            off += len;
        }
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<u64>, Fail> {
        let Some((offset, data)) = self.in_flight.remove(&tag) else {
            return Err(Fail::Op(Error::Invalid(
                "response to an unknown write".into(),
            )));
        };
        check(&resp, "write", "")?;
        let count = io::written(cx, &resp, data.len())?;
        if count == 0 || count > data.len() {
            let detail = format!(
                "server accepted {count} of {} bytes at {offset}",
                data.len()
            );
            return Err(incomplete("write", "", detail));
        }
        if count < data.len() {
            self.write(cx, offset + count as u64, data.slice(count..));
        }
        Ok(if self.in_flight.is_empty() {
            Progress::Done(self.data.len() as u64)
        } else {
            Progress::Pending
        })
    }
}
