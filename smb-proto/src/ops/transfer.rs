//! Bulk transfers with a window of READ/WRITE requests in flight (MS-SMB2 3.2.4.6,
//! 3.2.4.7), each sized to the negotiated maximum, so throughput is bound by the
//! server rather than by round trips.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use crate::connection::{Cx, Event, Fail, Operation, Progress, Response};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::create::{access_mask, create_options, disposition, CreateResponse, FileId};
use crate::wire::fscc::file_attributes;
use crate::wire::read::{ReadRequest, ReadResponse};
use crate::wire::request::RequestBody;
use crate::wire::write::{WriteRequest, WriteResponse};

use super::file::{check, close, create};
use super::{Handle, OpenOptions, Output, TreeId};

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
/// [`Event::Data`] strictly in file order.
pub(crate) struct ReadFile {
    tree: TreeId,
    path: String,
    file_id: FileId,
    /// Next offset to request.
    next_req: u64,
    /// Next offset to emit; everything before it was delivered.
    next_emit: u64,
    start: u64,
    end: u64,
    max_len: Option<u64>,
    in_flight: HashMap<usize, (u64, u32)>,
    next_tag: usize,
    /// Out-of-order data waiting for the gap before it to fill.
    reorder: BTreeMap<u64, Bytes>,
    closing: bool,
    /// Data events the driver has not acknowledged yet ([`Config::paced_reads`]).
    ///
    /// [`Config::paced_reads`]: crate::Config::paced_reads
    unacked: usize,
}

impl ReadFile {
    pub(crate) fn new(tree: TreeId, path: String, offset: u64, max_len: Option<u64>) -> Self {
        ReadFile {
            tree,
            path,
            file_id: FileId::ANY,
            next_req: offset,
            next_emit: offset,
            start: offset,
            end: offset,
            max_len,
            in_flight: HashMap::new(),
            next_tag: IO,
            reorder: BTreeMap::new(),
            closing: false,
            unacked: 0,
        }
    }

    fn read(&mut self, cx: &mut Cx<'_>, offset: u64, len: u32) {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.in_flight.insert(tag, (offset, len));
        let req = ReadRequest {
            length: len,
            offset,
            file_id: self.file_id,
            ..Default::default()
        };
        cx.send(tag, self.tree.0, RequestBody::Read(req));
    }

    fn fill_window(&mut self, cx: &mut Cx<'_>) {
        let chunk = u64::from(cx.negotiated().max_read_size.max(1));
        let window = cx.core.config.max_io_in_flight.max(1);
        while self.in_flight.len() + self.unacked < window && self.next_req < self.end {
            let len = chunk.min(self.end - self.next_req) as u32;
            let off = self.next_req;
            self.next_req += u64::from(len);
            self.read(cx, off, len);
        }
        if self.in_flight.is_empty() && self.next_emit >= self.end && !self.closing {
            self.closing = true;
            cx.send(CLOSE, self.tree.0, close(self.file_id));
        }
    }

    /// Emits `data` (read at `offset`) and whatever it unblocks, in file order.
    fn deliver(&mut self, cx: &mut Cx<'_>, offset: u64, data: Bytes) {
        if data.is_empty() {
            return;
        }
        self.reorder.insert(offset, data);
        while let Some(d) = self.reorder.remove(&self.next_emit) {
            let off = self.next_emit;
            self.next_emit += d.len() as u64;
            cx.emit(Event::Data {
                id: cx.id,
                offset: off,
                data: d,
            });
            if cx.core.config.paced_reads {
                self.unacked += 1;
            }
        }
    }
}

impl Operation for ReadFile {
    fn label(&self) -> (&'static str, &str) {
        ("get", &self.path)
    }

    fn cleanup(&mut self) -> Vec<(u32, RequestBody)> {
        if self.file_id == FileId::ANY || self.closing {
            return Vec::new();
        }
        vec![(self.tree.0, close(self.file_id))]
    }

    /// One compound CREATE + READ + CLOSE: a file that fits in one READ costs one round
    /// trip. A larger one is opened again for the pipelined rest.
    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        let first = u64::from(cx.negotiated().max_read_size).min(self.max_len.unwrap_or(u64::MAX));
        let mut items = vec![(OPEN, create(&self.path, &read_options()))];
        if first > 0 {
            let req = ReadRequest {
                length: first as u32,
                offset: self.start,
                file_id: FileId::ANY,
                ..Default::default()
            };
            items.push((FIRST_READ, RequestBody::Read(req)));
        }
        items.push((FIRST_CLOSE, close(FileId::ANY)));
        cx.send_related(self.tree.0, items);
        Ok(Progress::Pending)
    }

    /// With [`Config::paced_reads`], an empty supply acknowledges one [`Event::Data`].
    ///
    /// [`Config::paced_reads`]: crate::Config::paced_reads
    fn on_supply(&mut self, cx: &mut Cx<'_>, _data: Bytes) -> Result<Progress, Fail> {
        if self.unacked == 0 {
            return Err(Fail::Op(Error::Invalid(
                "acknowledged more data than was delivered".into(),
            )));
        }
        self.unacked -= 1;
        if self.file_id != FileId::ANY {
            self.fill_window(cx);
        }
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut Cx<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress, Fail> {
        match tag {
            OPEN => {
                check(&resp, "get", &self.path)?;
                let size = CreateResponse::decode(&resp.msg)?.end_of_file;
                let limit = self
                    .max_len
                    .map_or(u64::MAX, |m| self.start.saturating_add(m));
                self.end = size.min(limit).max(self.start);
                return Ok(Progress::Pending);
            }
            FIRST_READ => {
                let data = match resp.status() {
                    NtStatus::END_OF_FILE => Bytes::new(),
                    NtStatus::SUCCESS => ReadResponse::decode(&resp.msg)?.data,
                    s => return Err(super::file::status_err(s, "get", &self.path)),
                };
                let keep = (data.len() as u64).min(self.end.saturating_sub(self.start)) as usize;
                self.next_req = self.start + keep as u64;
                self.deliver(cx, self.start, data.slice(..keep));
                return Ok(Progress::Pending);
            }
            FIRST_CLOSE => {
                check(&resp, "get", &self.path)?;
                if self.next_emit >= self.end {
                    return Ok(Progress::Done(Output::Transferred(
                        self.next_emit - self.start,
                    )));
                }
                cx.send(REOPEN, self.tree.0, create(&self.path, &read_options()));
                return Ok(Progress::Pending);
            }
            REOPEN => {
                check(&resp, "get", &self.path)?;
                self.file_id = CreateResponse::decode(&resp.msg)?.file_id;
            }
            CLOSE => {
                check(&resp, "get", &self.path)?;
                return Ok(Progress::Done(Output::Transferred(
                    self.next_emit - self.start,
                )));
            }
            _ => {
                let Some((offset, len)) = self.in_flight.remove(&tag) else {
                    return Err(Fail::Op(Error::Invalid(
                        "response to an unknown read".into(),
                    )));
                };
                let status = resp.status();
                let data = if status == NtStatus::END_OF_FILE {
                    Bytes::new()
                } else if status != NtStatus::SUCCESS {
                    return Err(super::file::status_err(status, "get", &self.path));
                } else {
                    ReadResponse::decode(&resp.msg)?.data
                };
                if data.is_empty() {
                    let detail = format!(
                        "end of file at {offset}, expected {} bytes (file shrank)",
                        self.end
                    );
                    return Err(incomplete("get", &self.path, detail));
                }
                if data.len() > len as usize {
                    let detail =
                        format!("server returned {} bytes for a {len}-byte read", data.len());
                    return Err(incomplete("get", &self.path, detail));
                }
                if (data.len() as u32) < len {
                    // A short read mid-file: ask for the rest rather than leave a hole.
                    self.read(cx, offset + data.len() as u64, len - data.len() as u32);
                }
                self.deliver(cx, offset, data);
            }
        }
        self.fill_window(cx);
        Ok(Progress::Pending)
    }
}

/// Creates or truncates a file and writes what the driver supplies, with a window of
/// WRITEs in flight. The first chunk is asked for before the CREATE so that a file that
/// fits in one WRITE goes out as one compound CREATE + WRITE + CLOSE: one round trip.
pub(crate) struct WriteFile {
    tree: TreeId,
    path: String,
    file_id: Option<FileId>,
    /// Bytes handed to WRITE requests so far.
    offset: u64,
    in_flight: HashMap<usize, (u64, Bytes)>,
    next_tag: usize,
    wanting: bool,
    eof: bool,
    closing: bool,
}

impl WriteFile {
    pub(crate) fn new(tree: TreeId, path: String) -> Self {
        WriteFile {
            tree,
            path,
            file_id: None,
            offset: 0,
            in_flight: HashMap::new(),
            next_tag: IO,
            wanting: false,
            eof: false,
            closing: false,
        }
    }

    fn write_request(&mut self, file_id: FileId, data: Bytes) -> (usize, RequestBody) {
        let tag = self.next_tag;
        self.next_tag += 1;
        let offset = self.offset;
        self.offset += data.len() as u64;
        self.in_flight.insert(tag, (offset, data.clone()));
        (
            tag,
            RequestBody::Write(WriteRequest {
                data,
                offset,
                file_id,
                ..Default::default()
            }),
        )
    }

    fn want(&mut self, cx: &mut Cx<'_>) {
        self.wanting = true;
        let max_len = cx.negotiated().max_write_size.max(1) as usize;
        cx.emit(Event::WantData { id: cx.id, max_len });
    }

    /// Asks for more input while the window has room; closes when all is written.
    fn advance(&mut self, cx: &mut Cx<'_>) {
        let Some(file_id) = self.file_id else { return };
        let window = cx.core.config.max_io_in_flight.max(1);
        if !self.eof && !self.wanting && self.in_flight.len() < window {
            self.want(cx);
        }
        if self.eof && self.in_flight.is_empty() && !self.closing {
            self.closing = true;
            cx.send(CLOSE, self.tree.0, close(file_id));
        }
    }
}

fn write_options() -> OpenOptions {
    OpenOptions {
        access: access_mask::FILE_WRITE_DATA
            | access_mask::FILE_READ_ATTRIBUTES
            | access_mask::FILE_WRITE_ATTRIBUTES
            | access_mask::SYNCHRONIZE,
        disposition: disposition::OVERWRITE_IF,
        create_options: create_options::NON_DIRECTORY_FILE,
        attributes: file_attributes::NORMAL,
    }
}

impl Operation for WriteFile {
    fn label(&self) -> (&'static str, &str) {
        ("put", &self.path)
    }

    fn cleanup(&mut self) -> Vec<(u32, RequestBody)> {
        match (self.file_id, self.closing) {
            (Some(file_id), false) => vec![(self.tree.0, close(file_id))],
            _ => Vec::new(),
        }
    }

    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        self.want(cx);
        Ok(Progress::Pending)
    }

    /// A supply shorter than asked for ends the input.
    fn on_supply(&mut self, cx: &mut Cx<'_>, data: Bytes) -> Result<Progress, Fail> {
        if !self.wanting {
            return Err(Fail::Op(Error::Invalid(
                "data supplied before it was asked for".into(),
            )));
        }
        self.wanting = false;
        let chunk = cx.negotiated().max_write_size.max(1) as usize;
        if data.len() > chunk {
            return Err(Fail::Op(Error::Invalid(format!(
                "supplied {} bytes, asked for {chunk}",
                data.len()
            ))));
        }
        self.eof = data.len() < chunk;
        let Some(file_id) = self.file_id else {
            // The first chunk rides in the CREATE's compound.
            let mut items = vec![(OPEN, create(&self.path, &write_options()))];
            if !data.is_empty() {
                items.push(self.write_request(FileId::ANY, data));
            }
            if self.eof {
                self.closing = true;
                items.push((CLOSE, close(FileId::ANY)));
            }
            cx.send_related(self.tree.0, items);
            return Ok(Progress::Pending);
        };
        if !data.is_empty() {
            let (tag, req) = self.write_request(file_id, data);
            cx.send(tag, self.tree.0, req);
        }
        self.advance(cx);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut Cx<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress, Fail> {
        match tag {
            OPEN => {
                check(&resp, "put", &self.path)?;
                self.file_id = Some(CreateResponse::decode(&resp.msg)?.file_id);
            }
            CLOSE => {
                check(&resp, "put", &self.path)?;
                if !self.in_flight.is_empty() {
                    let detail = format!("{} writes unanswered at close", self.in_flight.len());
                    return Err(incomplete("put", &self.path, detail));
                }
                return Ok(Progress::Done(Output::Transferred(self.offset)));
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
                let count = WriteResponse::decode(&resp.msg)?.count as usize;
                if count != data.len() {
                    // A short WRITE is legal but rare; resending the tail would race the
                    // CLOSE already queued in a compound, so report it rather than guess.
                    let detail = format!(
                        "server accepted {count} of {} bytes at {offset}",
                        data.len()
                    );
                    return Err(incomplete("put", &self.path, detail));
                }
            }
        }
        self.advance(cx);
        Ok(Progress::Pending)
    }
}

/// Writes `data` at `offset` on an open handle as max-size WRITEs, all in flight.
pub(crate) struct WriteAt {
    handle: Handle,
    offset: u64,
    data: Bytes,
    in_flight: HashMap<usize, (u64, Bytes)>,
    next_tag: usize,
}

impl WriteAt {
    pub(crate) fn new(handle: Handle, offset: u64, data: Bytes) -> Self {
        WriteAt {
            handle,
            offset,
            data,
            in_flight: HashMap::new(),
            next_tag: 0,
        }
    }

    fn write(&mut self, cx: &mut Cx<'_>, offset: u64, data: Bytes) {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.in_flight.insert(tag, (offset, data.clone()));
        let req = WriteRequest {
            data,
            offset,
            file_id: self.handle.file_id,
            ..Default::default()
        };
        cx.send(tag, self.handle.tree.0, RequestBody::Write(req));
    }
}

impl Operation for WriteAt {
    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        if self.data.is_empty() {
            return Ok(Progress::Done(Output::Written(0)));
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
        cx: &mut Cx<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress, Fail> {
        let Some((offset, data)) = self.in_flight.remove(&tag) else {
            return Err(Fail::Op(Error::Invalid(
                "response to an unknown write".into(),
            )));
        };
        check(&resp, "write", "")?;
        let count = WriteResponse::decode(&resp.msg)?.count as usize;
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
            Progress::Done(Output::Written(self.data.len() as u64))
        } else {
            Progress::Pending
        })
    }
}
