//! What the path operations share on an SMB1 connection (memo §4.4: operation-level
//! dialect branching): sending one SMB1 request that must fit the server's
//! MaxBufferSize, decoding a TRANSACTION2 answer, and the metadata of
//! SMB_QUERY_FILE_ALL_INFO as a [`FileInfo`].

use crate::connection::{Fail, OpContext, RequestOptions, Response};
use crate::error::Error;
use crate::wire::request::RequestBody;
use crate::wire::smb1::path::PathRequest;
use crate::wire::smb1::trans::TransResponse;
use crate::wire::smb1::trans2::QueryFileAllInfo;
use crate::wire::smb1::{handle_info, trans2, Smb1Request};

use super::FileInfo;

/// Characters an SMB1 path command (DELETE, RENAME) takes as wildcards in a name's last
/// component: `*`, `?`, and the DOS wildcards `<`, `>`, `"` (MS-CIFS 2.2.1.1.3).
const WILDCARDS: [char; 5] = ['*', '?', '<', '>', '"'];

/// Whether `name` holds a character SMB1's DELETE and RENAME read as a wildcard.
pub(super) fn has_wildcard(name: &str) -> bool {
    name.contains(WILDCARDS)
}

/// The refusal of what has no SMB1 form here.
pub(super) fn unsupported(op: &'static str) -> Fail {
    Fail::Op(Error::Unsupported {
        op,
        dialect: "SMB1",
    })
}

/// Queues `req` with `tag`, after checking that its message fits the server's
/// MaxBufferSize (this client sends no secondary transaction requests).
pub(super) fn send(
    cx: &mut OpContext<'_>,
    tag: usize,
    req: Smb1Request,
    op: &'static str,
    path: &str,
) -> Result<(), Fail> {
    check_fits(cx, &req, op, path)?;
    cx.send(tag, RequestBody::Smb1(Box::new(req)));
    Ok(())
}

/// Refuses `req` when its message is longer than the server's MaxBufferSize.
fn check_fits(
    cx: &OpContext<'_>,
    req: &Smb1Request,
    op: &'static str,
    path: &str,
) -> Result<(), Fail> {
    let limit = cx
        .negotiated()
        .smb1
        .map_or(usize::MAX, |n| n.max_buffer_size as usize);
    let len = req.encoded_len();
    if len > limit {
        return Err(Fail::Op(Error::Invalid(format!(
            "{op} {path}: the request takes {len} bytes, more than the {limit} the server accepts in one SMB1 message"
        ))));
    }
    Ok(())
}

/// [`send`] with `options` (an open file's tree, no deadline…).
pub(super) fn send_with(
    cx: &mut OpContext<'_>,
    tag: usize,
    req: Smb1Request,
    options: RequestOptions,
    op: &'static str,
) -> Result<(), Fail> {
    check_fits(cx, &req, op, "")?;
    cx.send_with(tag, RequestBody::Smb1(Box::new(req)), options);
    Ok(())
}

/// Queues a path command (CREATE_DIRECTORY, DELETE_DIRECTORY, DELETE, RENAME).
pub(super) fn send_path(
    cx: &mut OpContext<'_>,
    tag: usize,
    req: PathRequest,
    op: &'static str,
    path: &str,
) -> Result<(), Fail> {
    send(cx, tag, Smb1Request::Path(req), op, path)
}

/// A whole TRANSACTION2 answer (the connection reassembled it).
pub(super) fn trans(resp: &Response) -> Result<TransResponse, Fail> {
    Ok(TransResponse::decode(&resp.msg)?)
}

/// The metadata of a QUERY_PATH_INFORMATION answer at SMB_QUERY_FILE_ALL_INFO, for the
/// file or directory `name`.
pub(super) fn info_from_all(all: &QueryFileAllInfo, name: String) -> FileInfo {
    FileInfo {
        name,
        short_name: String::new(),
        file_id: 0,
        size: all.end_of_file,
        allocation_size: all.allocation_size,
        attributes: all.attributes,
        creation_time: all.creation_time,
        last_access_time: all.last_access_time,
        last_write_time: all.last_write_time,
        change_time: all.change_time,
    }
}

/// The open of one path for an SMB1 operation that works on its FID (NT_TRANSACT
/// subcommands): NT_CREATE_ANDX, the operation's requests, CLOSE — three round trips
/// where SMB2 sends one related compound, since SMB1 has none. The operation's
/// [`Operation::cleanup`](crate::connection::Operation::cleanup) closes what a failure
/// left open ([`Smb1Open::cleanup`]).
#[derive(Debug, Default)]
pub(super) struct Smb1Open {
    tree: Option<super::TreeId>,
    fid: Option<crate::wire::create::FileId>,
    closing: bool,
}

impl Smb1Open {
    /// Opens `path` (an existing file or directory) with `access`, tagged `tag`.
    pub(super) fn open(&mut self, cx: &mut OpContext<'_>, tag: usize, path: &str, access: u32) {
        self.tree = Some(cx.tree());
        let o = super::OpenOptions {
            access,
            disposition: crate::wire::create::disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        let body = super::io::open(cx, path, &o);
        cx.send(tag, body);
    }

    /// The FID the open's answer gave, after checking its status.
    pub(super) fn opened(
        &mut self,
        cx: &OpContext<'_>,
        resp: &Response,
        op: &'static str,
        path: &str,
    ) -> Result<u16, Fail> {
        super::file::check(resp, op, path)?;
        let file_id = super::io::opened(cx, resp)?.file_id;
        self.fid = Some(file_id);
        Ok(file_id.smb1_fid())
    }

    /// The open's FID, once its answer came.
    pub(super) fn fid(&self) -> Option<u16> {
        self.fid.map(|f| f.smb1_fid())
    }

    /// Closes the file, tagged `tag`.
    pub(super) fn close(&mut self, cx: &mut OpContext<'_>, tag: usize) -> Result<(), Fail> {
        let file_id = self
            .fid
            .ok_or_else(|| Fail::Op(Error::Invalid("an SMB1 close before the open".to_string())))?;
        self.closing = true;
        let body = super::io::close(cx, file_id);
        cx.send(tag, body);
        Ok(())
    }

    /// The CLOSE a failed operation still owes its open.
    pub(super) fn cleanup(&self) -> Vec<(super::TreeId, RequestBody)> {
        match (self.tree, self.fid) {
            (Some(tree), Some(fid)) if !self.closing => vec![(tree, super::file::close(fid))],
            _ => Vec::new(),
        }
    }
}

/// Queues an NT_TRANSACT request, checked against the server's MaxBufferSize.
pub(super) fn send_nt_trans(
    cx: &mut OpContext<'_>,
    tag: usize,
    req: crate::wire::smb1::nt_transact::NtTransRequest,
    op: &'static str,
    path: &str,
) -> Result<(), Fail> {
    send(cx, tag, Smb1Request::NtTrans(req), op, path)
}

/// A whole NT_TRANSACT answer (the connection reassembled it).
pub(super) fn nt_trans(resp: &Response) -> Result<TransResponse, Fail> {
    Ok(crate::wire::smb1::nt_transact::NtTransResponse::decode(
        &resp.msg,
    )?)
}

/// Queues a TRANS2_QUERY_FILE_INFORMATION at SMB_QUERY_FILE_ALL_INFO of `handle` (a
/// handle's metadata and size).
pub(super) fn query_file_all(
    cx: &mut OpContext<'_>,
    tag: usize,
    handle: super::Handle,
    op: &'static str,
) -> Result<(), Fail> {
    let fid = handle.file_id.smb1_fid();
    let req = handle_info::query_file_info(fid, trans2::level::QUERY_FILE_ALL_INFO);
    send_with(
        cx,
        tag,
        Smb1Request::Trans(req),
        RequestOptions::on(handle.tree),
        op,
    )
}
