//! The data path's requests and answers in the connection's protocol: an open, a
//! READ, a WRITE, a FLUSH and a CLOSE as SMB2 sends them, or as SMB1's NT_CREATE_ANDX,
//! READ_ANDX, WRITE_ANDX, FLUSH and CLOSE (MS-CIFS 2.2.4.64, 2.2.4.42, 2.2.4.43,
//! 2.2.4.6, 2.2.4.5). The operations that move file data ([`ReadFile`](super::ReadFile),
//! [`WriteFile`](super::WriteFile), [`Open`](super::Open), [`Read`](super::Read),
//! [`ReadRange`](super::ReadRange), [`Write`](super::Write), [`Flush`](super::Flush),
//! [`Close`](super::Close)) build their requests here and stay one state machine for
//! both protocols; only compounds are SMB2's alone (SMB1 has none), so the operations
//! skip their "first compound" shortcuts on SMB1.

use bytes::Bytes;

use crate::connection::{Fail, OpContext, Response};
use crate::wire::create::{CreateResponse, FileId};
use crate::wire::fscc::FileTime;
use crate::wire::request::RequestBody;
use crate::wire::smb1::{file as smb1, Smb1Request};

use super::file::{create_at, OpenOptions};

fn smb1_body(req: Smb1Request) -> RequestBody {
    RequestBody::Smb1(Box::new(req))
}

/// The open of `path` with `o` (at `snapshot`, if any): an SMB2 CREATE, or on SMB1 an
/// NT_CREATE_ANDX with the same values and the name from the share's root. A snapshot
/// has no SMB1 form: that CREATE stays SMB2's, which the core refuses on SMB1 with
/// [`Error::Unsupported`](crate::Error::Unsupported).
pub(crate) fn open_at(
    cx: &OpContext<'_>,
    path: &str,
    o: &OpenOptions,
    snapshot: Option<FileTime>,
) -> RequestBody {
    let body = create_at(path, o, snapshot);
    match body {
        RequestBody::Create(c) if cx.is_smb1() && snapshot.is_none() => {
            smb1_body(Smb1Request::NtCreate(smb1::NtCreateRequest {
                name: format!(r"\{}", c.name),
                desired_access: c.desired_access,
                attributes: c.file_attributes,
                share_access: c.share_access,
                disposition: c.create_disposition,
                create_options: c.create_options,
            }))
        }
        body => body,
    }
}

/// [`open_at`] without a snapshot.
pub(crate) fn open(cx: &OpContext<'_>, path: &str, o: &OpenOptions) -> RequestBody {
    open_at(cx, path, o, None)
}

/// A successful open's answer, as an SMB2 CREATE response (an NT_CREATE_ANDX answer
/// read as one: no oplock, no contexts).
pub(crate) fn opened(cx: &OpContext<'_>, resp: &Response) -> Result<CreateResponse, Fail> {
    Ok(if cx.is_smb1() {
        smb1::NtCreateResponse::decode(&resp.msg)?
    } else {
        CreateResponse::decode(&resp.msg)?
    })
}

/// A READ of `len` bytes at `offset`.
pub(crate) fn read(cx: &OpContext<'_>, file_id: FileId, offset: u64, len: u32) -> RequestBody {
    if cx.is_smb1() {
        let fid = file_id.smb1_fid();
        return smb1_body(Smb1Request::Read(smb1::ReadRequest {
            fid,
            offset,
            length: len,
        }));
    }
    RequestBody::Read(crate::wire::read::ReadRequest {
        length: len,
        offset,
        file_id,
        ..Default::default()
    })
}

/// A successful READ's data (a zero-copy slice of the message).
pub(crate) fn read_data(cx: &OpContext<'_>, resp: &Response) -> Result<Bytes, Fail> {
    Ok(if cx.is_smb1() {
        smb1::ReadResponse::decode(&resp.msg)?.data
    } else {
        crate::wire::read::ReadResponse::decode(&resp.msg)?.data
    })
}

/// A WRITE of `data` at `offset`; large data is sent from where it is, never copied.
pub(crate) fn write(cx: &OpContext<'_>, file_id: FileId, offset: u64, data: Bytes) -> RequestBody {
    if cx.is_smb1() {
        let fid = file_id.smb1_fid();
        return smb1_body(Smb1Request::Write(smb1::WriteRequest { fid, offset, data }));
    }
    RequestBody::Write(crate::wire::write::WriteRequest {
        data,
        offset,
        file_id,
        ..Default::default()
    })
}

/// How many bytes a successful WRITE of `asked` bytes wrote.
pub(crate) fn written(cx: &OpContext<'_>, resp: &Response, asked: usize) -> Result<usize, Fail> {
    Ok(if cx.is_smb1() {
        smb1::WriteResponse::decode(&resp.msg)?.written(asked)
    } else {
        crate::wire::write::WriteResponse::decode(&resp.msg)?.count as usize
    })
}

/// A CLOSE of `file_id` (the core's, which also closes what abandoned operations
/// leave open).
pub(crate) fn close(cx: &OpContext<'_>, file_id: FileId) -> RequestBody {
    cx.core.close_body(file_id)
}
