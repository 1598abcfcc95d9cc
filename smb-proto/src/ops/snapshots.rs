//! The previous versions (snapshots) a server keeps (pysmb's `listSnapshots`). A
//! path is then read, listed or stat-ed as it was in one of them with the operation's
//! `at_snapshot` (the timewarp create context).
//!
//! On SMB1 the listing is NT_CREATE_ANDX, NT_TRANSACT_IOCTL with the same FSCTL
//! (MS-CIFS 2.2.7.2, MS-SMB 2.2.7.2) and CLOSE, each in turn (SMB1 has no compounds).

use crate::connection::{Fail, OpContext, Operation, Progress, Response};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::create::{access_mask, disposition, FileId};
use crate::wire::fscc::FileTime;
use crate::wire::ioctl::{flags, fsctl, IoctlRequest, IoctlResponse, SrvSnapshotArray};
use crate::wire::request::RequestBody;
use crate::wire::smb1::nt_transact::{NtTransRequest, NtTransResponse};
use crate::wire::smb1::Smb1Request;

use super::file::{check, close, create, status_err};
use super::{path, OpenOptions, TreeId};

const OPEN: usize = 0;
const ENUMERATE: usize = 1;
const CLOSE: usize = 2;

/// MaxOutputResponse of the first FSCTL: room for the counts only, so the server says
/// how many snapshots it keeps and how many bytes listing them takes (MS-SMB2
/// 3.3.5.15.1), as Windows and smbclient ask.
const PROBE_LEN: u32 = 16;
/// FSCTLs after the first: one with the size the first said, and a few more if
/// snapshots are taken in between; a server whose answers never add up stops there.
const MAX_FETCHES: u32 = 4;

/// The times of the snapshots a server keeps of the share holding `path` → in the
/// server's order: CREATE + FSCTL_SRV_ENUMERATE_SNAPSHOTS (16 bytes) in one compound,
/// the FSCTL again with the room the first answer asked for when there are any, then
/// CLOSE. On SMB1: NT_CREATE_ANDX, then NT_TRANSACT_IOCTL the same way, then CLOSE.
#[derive(Debug)]
pub struct ListSnapshots {
    share: String,
    path: String,
    tree: TreeId,
    file_id: FileId,
    fetches: u32,
    snapshots: Vec<FileTime>,
    closing: bool,
}

impl ListSnapshots {
    /// Lists the snapshots of `path` (a file or a directory) on `share`.
    pub fn new(share: &str, path: &str) -> Self {
        ListSnapshots {
            share: share.to_string(),
            path: path.to_string(),
            tree: TreeId(0),
            file_id: FileId::ANY,
            fetches: 0,
            snapshots: Vec::new(),
            closing: false,
        }
    }

    /// FSCTL_SRV_ENUMERATE_SNAPSHOTS on `file_id` with room for `max_output_response`
    /// bytes: an SMB2 IOCTL, or on SMB1 an NT_TRANSACT_IOCTL.
    fn enumerate(cx: &OpContext<'_>, file_id: FileId, max_output_response: u32) -> RequestBody {
        if cx.is_smb1() {
            let req = NtTransRequest::ioctl(
                file_id.smb1_fid(),
                fsctl::SRV_ENUMERATE_SNAPSHOTS,
                true,
                bytes::Bytes::new(),
                max_output_response,
            );
            return RequestBody::Smb1(Box::new(Smb1Request::NtTrans(req)));
        }
        RequestBody::Ioctl(IoctlRequest {
            ctl_code: fsctl::SRV_ENUMERATE_SNAPSHOTS,
            file_id,
            max_output_response,
            flags: flags::IS_FSCTL,
            ..Default::default()
        })
    }

    /// Asks again with room for `len` bytes.
    fn fetch(&mut self, cx: &mut OpContext<'_>, len: u64) -> Result<(), Fail> {
        let most = cx.negotiated().max_transact_size;
        let detail = match u32::try_from(len) {
            _ if self.fetches == MAX_FETCHES => format!(
                "the server's answers did not add up to a whole list after {} requests",
                MAX_FETCHES + 1
            ),
            Ok(len) if len <= most => {
                self.fetches += 1;
                let body = Self::enumerate(cx, self.file_id, len);
                cx.send(ENUMERATE, body);
                return Ok(());
            }
            _ => format!("the list of snapshots takes {len} bytes; one IOCTL carries {most}"),
        };
        Err(Fail::Op(Error::Incomplete {
            op: "list snapshots",
            path: self.path.clone(),
            detail,
        }))
    }

    fn on_enumerate(&mut self, cx: &mut OpContext<'_>, resp: &Response) -> Result<(), Fail> {
        match resp.status() {
            NtStatus::SUCCESS | NtStatus::BUFFER_OVERFLOW => {}
            // The list outgrew the size the last answer gave: learn it again.
            NtStatus::BUFFER_TOO_SMALL => return self.fetch(cx, PROBE_LEN.into()),
            s => return Err(status_err(s, "list snapshots", &self.path)),
        }
        let output = if cx.is_smb1() {
            NtTransResponse::decode(&resp.msg)?.data
        } else {
            IoctlResponse::decode(&resp.msg)?.output
        };
        let array = SrvSnapshotArray::decode(&output)?;
        if !array.is_complete() {
            return self.fetch(cx, array.full_len());
        }
        self.snapshots = array.snapshots;
        self.closing = true;
        let body = super::io::close(cx, self.file_id);
        cx.send(CLOSE, body);
        Ok(())
    }
}

impl Operation for ListSnapshots {
    type Output = Vec<FileTime>;

    fn label(&self) -> (&'static str, &str) {
        ("list snapshots", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path("list snapshots", &self.path)
    }

    /// The CLOSE a failed listing still owes its handle (one that held no snapshot
    /// support fails on its FSCTL after the open succeeded).
    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        if self.file_id == FileId::ANY || self.closing {
            return Vec::new();
        }
        vec![(self.tree, close(self.file_id))]
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Vec<FileTime>>, Fail> {
        self.tree = cx.tree();
        let o = OpenOptions {
            access: access_mask::FILE_READ_DATA
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        if cx.is_smb1() {
            let body = super::io::open(cx, &self.path, &o);
            cx.send(OPEN, body);
            return Ok(Progress::Pending);
        }
        let enumerate = Self::enumerate(cx, FileId::ANY, PROBE_LEN);
        cx.send_related(vec![(OPEN, create(&self.path, &o)), (ENUMERATE, enumerate)]);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<Vec<FileTime>>, Fail> {
        match tag {
            OPEN => {
                check(&resp, "list snapshots", &self.path)?;
                self.file_id = super::io::opened(cx, &resp)?.file_id;
                if cx.is_smb1() {
                    let body = Self::enumerate(cx, self.file_id, PROBE_LEN);
                    cx.send(ENUMERATE, body);
                }
            }
            ENUMERATE => self.on_enumerate(cx, &resp)?,
            _ => {
                check(&resp, "list snapshots", &self.path)?;
                return Ok(Progress::Done(std::mem::take(&mut self.snapshots)));
            }
        }
        Ok(Progress::Pending)
    }
}
