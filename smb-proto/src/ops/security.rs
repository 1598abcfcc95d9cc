//! The security descriptor of a file or directory (pysmb's `getSecurity`), and setting
//! it.
//!
//! On SMB1 the open and the query are NT_CREATE_ANDX and NT_TRANSACT_QUERY_SECURITY_DESC
//! (MS-CIFS 2.2.7.6), the setting NT_TRANSACT_SET_SECURITY_DESC (2.2.7.3), then CLOSE:
//! three round trips where SMB2 sends one compound.

use crate::connection::{Fail, OpContext, Operation, Progress, Response};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::create::{access_mask, disposition, FileId};
use crate::wire::query_info::additional_information;
use crate::wire::request::RequestBody;
use crate::wire::security::{control, SecurityDescriptor};
use crate::wire::set_info::{info_type, SetInfoRequest};
use crate::wire::smb1::nt_transact::{length_needed, NtTransRequest};

use super::file::{check, close, create, status_err};
use super::meta::PathOp;
use super::pathlib::decoded;
use super::smb1::{self as smb1_ops, Smb1Open};
use super::{path, OpenOptions, QueryPathInfo, TreeId};

/// The first QUERY_INFO's OutputBufferLength: what one credit pays for, and room for
/// some 1,800 ACEs, so a second round trip is for descriptors nobody writes by hand.
const FIRST_BUFFER_LEN: u32 = 64 * 1024;

/// The security descriptor of a file or directory → owner, group and DACL (and the
/// SACL when asked for): CREATE (READ_CONTROL) + QUERY_INFO (SMB2_0_INFO_SECURITY) +
/// CLOSE in one compound, a [`QueryPathInfo`]. A descriptor larger than the buffer
/// asked for (STATUS_BUFFER_TOO_SMALL with the size it needs, or
/// STATUS_BUFFER_OVERFLOW) costs one more compound with that size, never more; each
/// compound closes what it opened, so the operation never holds a handle between round
/// trips.
///
/// On SMB1: NT_CREATE_ANDX, NT_TRANSACT_QUERY_SECURITY_DESC (again with LengthNeeded
/// once, when STATUS_BUFFER_TOO_SMALL says the descriptor is larger), CLOSE.
#[derive(Debug)]
pub struct GetSecurity {
    query: QueryPathInfo,
    path: String,
    parts: u32,
    access: u32,
    buffer_len: u32,
    /// The SMB1 open, and the descriptor once read.
    smb1: Smb1Open,
    retried: bool,
    answer: Option<SecurityDescriptor>,
}

// Tags of the SMB1 requests.
const SMB1_OPEN: usize = 10;
const SMB1_QUERY: usize = 11;
const SMB1_CLOSE: usize = 12;

const PARTS: u32 =
    additional_information::OWNER | additional_information::GROUP | additional_information::DACL;
const ACCESS: u32 = access_mask::READ_CONTROL | access_mask::SYNCHRONIZE;

impl GetSecurity {
    /// The owner, group and DACL of `path` on `share`.
    pub fn new(share: &str, path: &str) -> Self {
        let query = QueryPathInfo::security(share, path, PARTS)
            .labelled("get security")
            .access(ACCESS)
            .buffer_len(FIRST_BUFFER_LEN)
            .max_len(SecurityDescriptor::MAX_LEN as u32);
        GetSecurity {
            query,
            path: path.to_string(),
            parts: PARTS,
            access: ACCESS,
            buffer_len: FIRST_BUFFER_LEN,
            smb1: Smb1Open::default(),
            retried: false,
            answer: None,
        }
    }

    /// Asks for the SACL too: the open then asks for ACCESS_SYSTEM_SECURITY, which the
    /// server grants only to a user holding the security privilege
    /// (STATUS_PRIVILEGE_NOT_HELD otherwise).
    pub fn with_sacl(mut self) -> Self {
        self.query = self
            .query
            .security_parts(PARTS | additional_information::SACL)
            .access(ACCESS | access_mask::ACCESS_SYSTEM_SECURITY);
        self.parts = PARTS | additional_information::SACL;
        self.access = ACCESS | access_mask::ACCESS_SYSTEM_SECURITY;
        self
    }

    /// The first QUERY_INFO's OutputBufferLength (64 KiB unless set): a descriptor
    /// larger than it takes a second round trip.
    pub fn buffer_len(mut self, len: u32) -> Self {
        self.query = self.query.buffer_len(len);
        self.buffer_len = len;
        self
    }

    /// SMB1: the query of the open file's descriptor in `len` bytes at most.
    fn smb1_query(&mut self, cx: &mut OpContext<'_>, fid: u16, len: u32) -> Result<(), Fail> {
        let req = NtTransRequest::query_security_desc(fid, self.parts, len);
        smb1_ops::send_nt_trans(cx, SMB1_QUERY, req, "get security", &self.path)
    }

    /// SMB1: the query's answer → the descriptor (then CLOSE), or one more query with
    /// the size STATUS_BUFFER_TOO_SMALL named.
    fn smb1_answer(&mut self, cx: &mut OpContext<'_>, resp: &Response) -> Result<(), Fail> {
        let status = resp.status();
        let t = match status {
            NtStatus::SUCCESS | NtStatus::BUFFER_TOO_SMALL => smb1_ops::nt_trans(resp),
            s => return Err(status_err(s, "get security", &self.path)),
        };
        if status == NtStatus::BUFFER_TOO_SMALL {
            // As on SMB2: one more round with the size the server needs, within bounds.
            let needed = t.and_then(|t| Ok(length_needed(&t.params)?));
            let needed = needed.map_err(|_| status_err(status, "get security", &self.path))?;
            let max = SecurityDescriptor::MAX_LEN as u32;
            if self.retried || needed <= self.buffer_len || needed > max {
                return Err(status_err(status, "get security", &self.path));
            }
            self.retried = true;
            let fid = self.smb1_fid()?;
            return self.smb1_query(cx, fid, needed);
        }
        self.answer = Some(SecurityDescriptor::decode(&t?.data)?);
        self.smb1.close(cx, SMB1_CLOSE)
    }

    fn smb1_fid(&self) -> Result<u16, Fail> {
        self.smb1.fid().ok_or_else(|| {
            Fail::Op(Error::Invalid(format!(
                "get security {}: an answer before the open",
                self.path
            )))
        })
    }
}

impl Operation for GetSecurity {
    type Output = SecurityDescriptor;

    fn label(&self) -> (&'static str, &str) {
        self.query.label()
    }

    fn share(&self) -> Option<&str> {
        self.query.share()
    }

    fn check(&self) -> Result<(), Error> {
        self.query.check()
    }

    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        self.smb1.cleanup()
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<SecurityDescriptor>, Fail> {
        if cx.is_smb1() {
            self.smb1.open(cx, SMB1_OPEN, &self.path, self.access);
            return Ok(Progress::Pending);
        }
        decoded(self.query.start(cx)?, decode)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<SecurityDescriptor>, Fail> {
        match tag {
            SMB1_OPEN => {
                let fid = self.smb1.opened(cx, &resp, "get security", &self.path)?;
                let len = self.buffer_len.min(self.query_max(cx));
                self.smb1_query(cx, fid, len)?;
            }
            SMB1_QUERY => self.smb1_answer(cx, &resp)?,
            SMB1_CLOSE => {
                check(&resp, "get security", &self.path)?;
                if let Some(sd) = self.answer.take() {
                    return Ok(Progress::Done(sd));
                }
            }
            _ => return decoded(self.query.on_response(cx, tag, resp)?, decode),
        }
        Ok(Progress::Pending)
    }
}

impl GetSecurity {
    /// The most one NT_TRANSACT answer may say (the connection's transact size).
    fn query_max(&self, cx: &OpContext<'_>) -> u32 {
        cx.negotiated().max_transact_size.max(16)
    }
}

fn decode(buffer: &[u8]) -> Result<SecurityDescriptor, Fail> {
    Ok(SecurityDescriptor::decode(buffer)?)
}

/// Sets the security descriptor of a file or directory → nothing: the parts of `sd`
/// that [`SetSecurity::new`] finds in it (owner, group, DACL, SACL), or those
/// [`SetSecurity::parts`] names. CREATE (with the access those parts need: WRITE_OWNER,
/// WRITE_DAC, ACCESS_SYSTEM_SECURITY) + SET_INFO (SMB2_0_INFO_SECURITY) + CLOSE in one
/// compound; on SMB1, NT_CREATE_ANDX + NT_TRANSACT_SET_SECURITY_DESC + CLOSE.
///
/// ```
/// use smb_proto::ops::SetSecurity;
/// use smb_proto::wire::security::{Ace, AceType, Acl, SecurityDescriptor};
/// let everyone = "S-1-1-0".parse().unwrap();
/// let sd = SecurityDescriptor {
///     revision: 1,
///     control: 0,
///     owner: None,
///     group: None,
///     dacl: Some(Acl {
///         revision: 2,
///         aces: vec![Ace::new(AceType::AccessAllowed, 0, 0x001F_01FF, everyone)],
///     }),
///     sacl: None,
/// };
/// // Run by any driver: `conn.call(op)?` (blocking), or `client.call(op).await?`.
/// let op = SetSecurity::new("share", "a.txt", &sd);
/// ```
///
/// # Errors
///
/// [`Error::Invalid`] before anything is sent when the descriptor does not encode or
/// holds no part; the server's status otherwise (STATUS_ACCESS_DENIED without the
/// rights, STATUS_PRIVILEGE_NOT_HELD for a SACL).
#[derive(Debug)]
pub struct SetSecurity {
    share: String,
    path: String,
    parts: u32,
    encoded: Option<Vec<u8>>,
    /// The SMB2 compound, built when the operation starts.
    op: Option<PathOp>,
    smb1: Smb1Open,
}

impl SetSecurity {
    /// Sets on `path` on `share` the parts `sd` holds: its owner and group when set, its
    /// DACL and SACL when present.
    pub fn new(share: &str, path: &str, sd: &SecurityDescriptor) -> Self {
        let mut parts = 0;
        for (has, part) in [
            (sd.owner.is_some(), additional_information::OWNER),
            (sd.group.is_some(), additional_information::GROUP),
            (
                sd.dacl.is_some() || sd.control & control::DACL_PRESENT != 0,
                additional_information::DACL,
            ),
            (sd.sacl.is_some(), additional_information::SACL),
        ] {
            if has {
                parts |= part;
            }
        }
        SetSecurity {
            share: share.to_string(),
            path: path.to_string(),
            parts,
            encoded: sd.encode(),
            op: None,
            smb1: Smb1Open::default(),
        }
    }

    /// Sets these parts instead ([`additional_information`] bits: OWNER, GROUP, DACL,
    /// SACL).
    pub fn parts(mut self, parts: u32) -> Self {
        self.parts = parts;
        self
    }

    /// The access the open needs for the parts set (and READ_CONTROL, as smbcacls asks).
    /// Samba rewrites the whole stored descriptor for any part, so a SACL needs
    /// WRITE_DAC as well.
    fn access(&self) -> u32 {
        let mut access = access_mask::READ_CONTROL | access_mask::SYNCHRONIZE;
        for (part, needs) in [
            (
                additional_information::OWNER | additional_information::GROUP,
                access_mask::WRITE_OWNER,
            ),
            (additional_information::DACL, access_mask::WRITE_DAC),
            (
                additional_information::SACL,
                access_mask::ACCESS_SYSTEM_SECURITY | access_mask::WRITE_DAC,
            ),
        ] {
            if self.parts & part != 0 {
                access |= needs;
            }
        }
        access
    }
}

impl Operation for SetSecurity {
    type Output = ();

    fn label(&self) -> (&'static str, &str) {
        ("set security", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path("set security", &self.path)?;
        if self.encoded.is_none() {
            return Err(Error::Invalid(format!(
                "set security {}: the descriptor does not encode",
                self.path
            )));
        }
        if self.parts == 0 {
            return Err(Error::Invalid(format!(
                "set security {}: the descriptor holds no owner, group, DACL or SACL",
                self.path
            )));
        }
        Ok(())
    }

    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        self.smb1.cleanup()
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<()>, Fail> {
        if cx.is_smb1() {
            self.smb1.open(cx, SMB1_OPEN, &self.path, self.access());
            return Ok(Progress::Pending);
        }
        let o = OpenOptions {
            access: self.access(),
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        let set = RequestBody::SetInfo(SetInfoRequest {
            info_type: info_type::SECURITY,
            buffer: self.encoded.clone().unwrap_or_default().into(),
            additional_information: self.parts,
            file_id: FileId::ANY,
            ..Default::default()
        });
        let requests = vec![create(&self.path, &o), set, close(FileId::ANY)];
        let op = self.op.insert(PathOp::new(
            &self.share,
            "set security",
            &self.path,
            requests,
        ));
        op.start(cx)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<()>, Fail> {
        match (tag, self.op.as_mut()) {
            (SMB1_OPEN, _) => {
                let fid = self.smb1.opened(cx, &resp, "set security", &self.path)?;
                let sd = self.encoded.clone().unwrap_or_default().into();
                let req = NtTransRequest::set_security_desc(fid, self.parts, sd);
                smb1_ops::send_nt_trans(cx, SMB1_QUERY, req, "set security", &self.path)?;
            }
            (SMB1_QUERY, _) => {
                check(&resp, "set security", &self.path)?;
                self.smb1.close(cx, SMB1_CLOSE)?;
            }
            (SMB1_CLOSE, _) => {
                check(&resp, "set security", &self.path)?;
                return Ok(Progress::Done(()));
            }
            (_, Some(op)) => return op.on_response(cx, tag, &resp),
            (_, None) => {
                return Err(Fail::Op(Error::Invalid(format!(
                    "set security {}: an answer to nothing sent",
                    self.path
                ))))
            }
        }
        Ok(Progress::Pending)
    }
}
