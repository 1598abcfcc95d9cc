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
/// Tags from here on are READ/WRITE requests.
const IO: usize = 2;

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
        while self.in_flight.len() < window && self.next_req < self.end {
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

    /// Gives up: closes the handle without waiting and reports `fail`.
    fn abort(&mut self, cx: &mut Cx<'_>, fail: Fail) -> Result<Progress, Fail> {
        if !self.closing {
            cx.send(CLOSE, self.tree.0, close(self.file_id));
        }
        Err(fail)
    }
}

impl Operation for ReadFile {
    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        let o = OpenOptions {
            access: access_mask::FILE_READ_DATA
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: create_options::NON_DIRECTORY_FILE,
            attributes: 0,
        };
        cx.send(OPEN, self.tree.0, create(&self.path, &o));
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
                let c = CreateResponse::decode(&resp.msg)?;
                self.file_id = c.file_id;
                let size = c.end_of_file;
                let limit = self
                    .max_len
                    .map_or(u64::MAX, |m| self.start.saturating_add(m));
                self.end = size.min(limit).max(self.start);
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
                    return self.abort(cx, super::file::status_err(status, "get", &self.path));
                } else {
                    ReadResponse::decode(&resp.msg)?.data
                };
                if data.is_empty() {
                    let detail = format!(
                        "end of file at {offset}, expected {} bytes (file shrank)",
                        self.end
                    );
                    return self.abort(cx, incomplete("get", &self.path, detail));
                }
                if data.len() > len as usize {
                    let detail =
                        format!("server returned {} bytes for a {len}-byte read", data.len());
                    return self.abort(cx, incomplete("get", &self.path, detail));
                }
                if (data.len() as u32) < len {
                    // A short read mid-file: ask for the rest rather than leave a hole.
                    self.read(cx, offset + data.len() as u64, len - data.len() as u32);
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
                }
            }
        }
        self.fill_window(cx);
        Ok(Progress::Pending)
    }
}

/// Creates or truncates a file and writes what the driver supplies, with a window of
/// WRITEs in flight.
pub(crate) struct WriteFile {
    tree: TreeId,
    path: String,
    file_id: Option<FileId>,
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

    fn write(&mut self, cx: &mut Cx<'_>, file_id: FileId, offset: u64, data: Bytes) {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.in_flight.insert(tag, (offset, data.clone()));
        cx.send(
            tag,
            self.tree.0,
            RequestBody::Write(WriteRequest {
                data,
                offset,
                file_id,
                ..Default::default()
            }),
        );
    }

    /// Asks for more input while the window has room; closes when all is written.
    fn advance(&mut self, cx: &mut Cx<'_>) {
        let Some(file_id) = self.file_id else { return };
        let window = cx.core.config.max_io_in_flight.max(1);
        if !self.eof && !self.wanting && self.in_flight.len() < window {
            self.wanting = true;
            let max_len = cx.negotiated().max_write_size as usize;
            cx.emit(Event::WantData { id: cx.id, max_len });
        }
        if self.eof && self.in_flight.is_empty() && !self.closing {
            self.closing = true;
            cx.send(CLOSE, self.tree.0, close(file_id));
        }
    }

    fn abort(&mut self, cx: &mut Cx<'_>, fail: Fail) -> Result<Progress, Fail> {
        if let (Some(file_id), false) = (self.file_id, self.closing) {
            cx.send(CLOSE, self.tree.0, close(file_id));
        }
        Err(fail)
    }
}

impl Operation for WriteFile {
    fn start(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Fail> {
        let o = OpenOptions {
            access: access_mask::FILE_WRITE_DATA
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::FILE_WRITE_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: disposition::OVERWRITE_IF,
            create_options: create_options::NON_DIRECTORY_FILE,
            attributes: file_attributes::NORMAL,
        };
        cx.send(OPEN, self.tree.0, create(&self.path, &o));
        Ok(Progress::Pending)
    }

    fn on_supply(&mut self, cx: &mut Cx<'_>, data: Bytes) -> Result<Progress, Fail> {
        let Some(file_id) = self.file_id else {
            return Err(Fail::Op(Error::Invalid(
                "data supplied before it was asked for".into(),
            )));
        };
        self.wanting = false;
        if data.is_empty() {
            self.eof = true;
        }
        let chunk = cx.negotiated().max_write_size.max(1) as usize;
        let mut rest = data;
        while !rest.is_empty() {
            let piece = rest.split_to(chunk.min(rest.len()));
            let off = self.offset;
            self.offset += piece.len() as u64;
            self.write(cx, file_id, off, piece);
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
                return Ok(Progress::Done(Output::Transferred(self.offset)));
            }
            _ => {
                let Some((offset, data)) = self.in_flight.remove(&tag) else {
                    return Err(Fail::Op(Error::Invalid(
                        "response to an unknown write".into(),
                    )));
                };
                if resp.status() != NtStatus::SUCCESS {
                    return self.abort(
                        cx,
                        super::file::status_err(resp.status(), "put", &self.path),
                    );
                }
                let count = WriteResponse::decode(&resp.msg)?.count as usize;
                if count == 0 || count > data.len() {
                    let detail = format!(
                        "server accepted {count} of {} bytes at {offset}",
                        data.len()
                    );
                    return self.abort(cx, incomplete("put", &self.path, detail));
                }
                if count < data.len() {
                    let file_id = self.file_id.unwrap_or(FileId::ANY);
                    self.write(cx, file_id, offset + count as u64, data.slice(count..));
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
