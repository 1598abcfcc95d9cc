//! Share listing, as pysmb's `listShares()` and `smbclient -L` do it: SRVSVC
//! NetrShareEnum (MS-SRVS 3.1.4.8) over the `srvsvc` named pipe of `IPC$` (MS-RPCE
//! 2.1.1.2).
//!
//! CREATE the pipe; bind with FSCTL_PIPE_TRANSCEIVE (MS-SMB2 3.3.5.15.3: write the PDU,
//! read the answer); send the request the same way; CLOSE. A transceive returns at most
//! MaxOutputResponse bytes, with STATUS_BUFFER_OVERFLOW when the pipe holds more of the
//! message (MS-FSCC 2.3.48); the rest, and the further fragments of a long answer, come
//! from READs of the pipe (MS-SMB2 3.3.5.12). The client READs until the fragment with
//! PFC_LAST_FRAG is complete ([`Reassembly`]), whatever the status says: Samba answers
//! STATUS_SUCCESS both to a READ that returns one whole fragment of several and to one
//! that leaves bytes of a fragment behind, so only the PDUs' own lengths and flags tell
//! where the answer ends.
//!
//! On SMB1 (legacy servers) the same RPC runs on the same pipe, opened with
//! NT_CREATE_ANDX: a TRANSACTION TRANS_TRANSACT_NMPIPE (MS-CIFS 2.2.5.6) writes a PDU and
//! reads the answer, STATUS_BUFFER_OVERFLOW again saying more waits, which READ_ANDX
//! fetches. When the pipe cannot be opened, the shares come from RAP NetShareEnum
//! instead (MS-RAP 2.5.6.1, a TRANSACTION on `\PIPE\LANMAN`), as libsmbclient falls back
//! (`net_share_enum_rpc`, then `cli_RNetShareEnum`); RAP lists only the browseable shares
//! whose names fit its 13 bytes ([`ListShares::rap`] asks it alone). And [`ListServers`] asks a master browser for a workgroup's
//! servers, or for the workgroups it knows, with RAP NetServerEnum2 (MS-RAP 2.5.5.2), as
//! libsmbclient does for `smb://` and `smb://WORKGROUP`.

use crate::connection::{Fail, OpContext, Operation, Progress, Response};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::rpc::pdu::{Bind, Request, SyntaxId};
use crate::rpc::srvsvc::{
    share_type, NetrShareEnumRequest, NetrShareEnumResponse, ShareInfo1, OPNUM_NETR_SHARE_ENUM,
};
use crate::rpc::{Reassembly, Reply, RpcError};
use crate::wire::create::FileId;
use crate::wire::create::{access_mask, disposition, impersonation_level, CreateRequest};
use crate::wire::fscc::share_access;
use crate::wire::ioctl::{flags, fsctl, IoctlRequest, IoctlResponse};
use crate::wire::request::RequestBody;

use crate::rpc::rap::{self, RapList, RapServer};
use crate::wire::smb1::file::NtCreateRequest;
use crate::wire::smb1::trans::{TransKind, TransRequest, TransResponse};
use crate::wire::smb1::Smb1Request;

use super::file::{check, close, status_err};
use super::TreeId;

/// What a share is, from its MS-SRVS 2.2.2.4 type's low byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShareType {
    /// STYPE_DISKTREE: files and directories.
    Disk,
    /// STYPE_PRINTQ: a print queue.
    PrintQueue,
    /// STYPE_DEVICE: a communication device.
    Device,
    /// STYPE_IPC: interprocess communication (`IPC$`).
    Ipc,
    /// Another base type: the type value without STYPE_SPECIAL and STYPE_TEMPORARY.
    Other(u32),
}

impl ShareType {
    /// The base type of a `shi1_type` value; the cluster flags do not change it.
    pub fn from_raw(shi1_type: u32) -> ShareType {
        match shi1_type & share_type::MASK {
            share_type::DISKTREE => ShareType::Disk,
            share_type::PRINTQ => ShareType::PrintQueue,
            share_type::DEVICE => ShareType::Device,
            share_type::IPC => ShareType::Ipc,
            _ => ShareType::Other(shi1_type & !(share_type::SPECIAL | share_type::TEMPORARY)),
        }
    }
}

/// A share the server lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareInfo {
    /// Its name, as a tree connect names it.
    pub name: String,
    /// What it is.
    pub share_type: ShareType,
    /// Its comment (Samba's `comment`), possibly empty.
    pub comment: String,
    /// STYPE_SPECIAL: an administrative share (`IPC$`, `ADMIN$`, `C$`). Not the same as
    /// a name ending in `$`, which hides a share from browsers without setting this bit
    /// (Samba sets it for `IPC$` and `administrative share = yes`).
    pub is_special: bool,
    /// STYPE_TEMPORARY: a share that does not outlive the server's restart.
    pub is_temporary: bool,
}

impl From<ShareInfo1> for ShareInfo {
    fn from(s: ShareInfo1) -> Self {
        ShareInfo {
            name: s.netname,
            share_type: ShareType::from_raw(s.shi1_type),
            comment: s.remark,
            is_special: s.shi1_type & share_type::SPECIAL != 0,
            is_temporary: s.shi1_type & share_type::TEMPORARY != 0,
        }
    }
}

/// The share the pipe lives on.
const IPC_SHARE: &str = "IPC$";
/// The pipe, as CREATE names it (and the path errors name).
const PIPE: &str = "srvsvc";
/// The operation's name in errors.
const OP: &str = "list_shares";

/// MaxOutputResponse of a transceive and Length of a READ: the fragment size the bind
/// offers, what Windows asks for, so each answer is about one fragment.
const PIPE_CHUNK: u32 = crate::rpc::pdu::MAX_FRAG as u32;

/// The most a NetrShareEnum answer may take on the pipe: about 100,000 shares with names
/// and comments of 30 characters. A server that sends more is refused, not buffered.
const MAX_ANSWER: usize = 16 << 20;

/// The bind's and the request's call ids.
const BIND_CALL: u32 = 1;
const ENUM_CALL: u32 = 2;

// Request tags.
const CREATE: usize = 0;
const TRANSCEIVE: usize = 1;
const READ: usize = 2;
const CLOSE: usize = 3;
/// The RAP transaction of an SMB1 connection.
const RAP: usize = 4;

/// The pipe RAP requests name, for errors.
const LANMAN: &str = rap::LANMAN_PIPE;

/// TRANS_TRANSACT_NMPIPE, the first setup word of a TRANSACTION that writes a message
/// to a pipe and reads the answer (MS-CIFS 2.2.5.6).
const TRANSACT_NMPIPE: u16 = 0x0026;
/// The Name of a named pipe TRANSACTION (MS-CIFS 2.2.5.6.1).
const NMPIPE_NAME: &str = "\\PIPE\\";

/// The pipe's DesiredAccess: 0x0012019F, FILE_GENERIC_READ | FILE_GENERIC_WRITE, what
/// Windows asks of a pipe (smbclient 4.17 the same without SYNCHRONIZE,
/// smb311_share_list.pcapng frame 14).
const PIPE_ACCESS: u32 = access_mask::FILE_READ_DATA
    | access_mask::FILE_WRITE_DATA
    | access_mask::FILE_APPEND_DATA
    | access_mask::FILE_READ_EA
    | access_mask::FILE_WRITE_EA
    | access_mask::FILE_READ_ATTRIBUTES
    | access_mask::FILE_WRITE_ATTRIBUTES
    | access_mask::READ_CONTROL
    | access_mask::SYNCHRONIZE;

/// A RAP request: a TRANSACTION on `\PIPE\LANMAN` (MS-RAP 2.5.1) with these Parameters
/// and no data, its answer at most 64 KiB.
fn rap_request(params: Vec<u8>) -> Smb1Request {
    Smb1Request::Trans(TransRequest {
        kind: TransKind::Transaction,
        name: LANMAN.to_string(),
        setup: Vec::new(),
        params: params.into(),
        data: bytes::Bytes::new(),
        max_params: 1024,
        max_data: u16::MAX,
        max_setup: 0,
    })
}

/// A RAP answer's Parameters and Data, once the transaction succeeded.
fn rap_answer(resp: &Response, op: &'static str) -> Result<(bytes::Bytes, bytes::Bytes), Fail> {
    check(resp, op, LANMAN)?;
    let t = crate::wire::smb1::trans::TransResponse::decode(&resp.msg)?;
    Ok((t.params, t.data))
}

/// The operation's error for a RAP answer the server refused or garbled.
fn rap_err(op: &'static str, error: rap::RapError) -> Fail {
    Fail::Op(Error::Rpc {
        op,
        path: LANMAN.to_string(),
        error: error.into(),
    })
}

/// Every share of the server → name, type, comment and flags of each, `IPC$` and
/// shares hidden by a `$` included (pysmb's `listShares`).
///
/// The operation names `IPC$`, so the core connects that tree first. The pipe is
/// closed when the listing ends, and by [`Operation::cleanup`] when it ends early.
///
/// On SMB1 the RPC runs over TRANS_TRANSACT_NMPIPE and READ_ANDX on the same pipe; a
/// server whose pipe cannot be opened is asked with RAP NetShareEnum instead, which
/// lists only the browseable shares with names of at most 12 characters.
#[derive(Debug, Default)]
pub struct ListShares {
    /// RAP only ([`ListShares::rap`]).
    rap_only: bool,
    tree: Option<TreeId>,
    /// The pipe, once opened.
    file_id: Option<FileId>,
    /// The reply being read, and what it answers.
    reply: Option<Reassembly>,
    /// The CLOSE went out: nothing is left to clean up.
    closing: bool,
    shares: Vec<ShareInfo>,
}

impl ListShares {
    /// Lists the shares of the connection's server.
    pub fn new() -> Self {
        ListShares::default()
    }

    /// Lists the shares with RAP NetShareEnum alone, as an SMB1 connection does when the
    /// `srvsvc` pipe cannot be opened: the browseable shares whose names fit RAP's 13
    /// bytes (MS-RAP 2.5.6.1). SMB1 only: on an SMB2 connection the operation fails with
    /// [`Error::Unsupported`].
    pub fn rap() -> Self {
        ListShares {
            rap_only: true,
            ..ListShares::default()
        }
    }

    /// Sends RAP NetShareEnum.
    fn send_rap(&self, cx: &mut OpContext<'_>) {
        cx.send(
            RAP,
            RequestBody::Smb1(Box::new(rap_request(rap::net_share_enum_request()))),
        );
    }

    /// The open pipe; an error if a response came before the CREATE's.
    fn pipe(&self) -> Result<FileId, Fail> {
        self.file_id.ok_or_else(|| {
            Fail::Op(Error::Invalid(format!(
                "{OP}: pipe traffic before the pipe was opened"
            )))
        })
    }

    /// Writes `pdu` to the pipe and reads the answer's first part: FSCTL_PIPE_TRANSCEIVE,
    /// or on SMB1 TRANS_TRANSACT_NMPIPE.
    fn transceive(&mut self, cx: &mut OpContext<'_>, pdu: Vec<u8>) -> Result<(), Fail> {
        if cx.is_smb1() {
            let req = Smb1Request::Trans(TransRequest {
                kind: TransKind::Transaction,
                name: NMPIPE_NAME.to_string(),
                setup: vec![TRANSACT_NMPIPE, self.pipe()?.smb1_fid()],
                params: bytes::Bytes::new(),
                data: pdu.into(),
                max_params: 0,
                max_data: PIPE_CHUNK as u16,
                max_setup: 0,
            });
            return super::smb1::send(cx, TRANSCEIVE, req, OP, PIPE);
        }
        let body = RequestBody::Ioctl(IoctlRequest {
            ctl_code: fsctl::PIPE_TRANSCEIVE,
            file_id: self.pipe()?,
            input: pdu.into(),
            max_input_response: 0,
            max_output_response: PIPE_CHUNK.min(cx.negotiated().max_transact_size),
            flags: flags::IS_FSCTL,
        });
        cx.send(TRANSCEIVE, body);
        Ok(())
    }

    /// Feeds bytes the pipe returned to the reply being read: reads again while it is
    /// incomplete, else goes on with it.
    fn received(&mut self, cx: &mut OpContext<'_>, data: &[u8]) -> Result<(), Fail> {
        if data.is_empty() {
            return Err(rpc(RpcError::EmptyRead));
        }
        let reassembly = self.reply.as_mut().ok_or_else(|| {
            Fail::Op(Error::Invalid(format!(
                "{OP}: pipe data with no call waiting"
            )))
        })?;
        match reassembly.push(data).map_err(rpc)? {
            None => {
                let length = PIPE_CHUNK.min(cx.negotiated().max_read_size);
                let body = super::io::read(cx, self.pipe()?, 0, length);
                cx.send(READ, body);
            }
            Some(Reply::BindAck(ack)) => {
                ack.accepted().map_err(rpc)?;
                let name = format!("\\\\{}", cx.server_name());
                let pdu = Request {
                    call_id: ENUM_CALL,
                    context_id: 0,
                    opnum: OPNUM_NETR_SHARE_ENUM,
                    stub: NetrShareEnumRequest::new(&name).encode(),
                }
                .encode();
                // The server need not take a fragment longer than it said; a request
                // this small only outgrows it with a server name of thousands of bytes.
                if pdu.len() > usize::from(ack.max_recv_frag) {
                    return Err(rpc(RpcError::RequestTooLarge {
                        len: pdu.len(),
                        max: ack.max_recv_frag,
                    }));
                }
                self.reply = Some(Reassembly::response(ENUM_CALL, MAX_ANSWER));
                self.transceive(cx, pdu)?;
            }
            Some(Reply::Response(stub)) => {
                self.reply = None;
                let answer = NetrShareEnumResponse::decode(&stub).map_err(|e| rpc(e.into()))?;
                if answer.return_value != 0 {
                    return Err(rpc(RpcError::ReturnValue(answer.return_value)));
                }
                self.shares = answer.shares.into_iter().map(ShareInfo::from).collect();
                self.closing = true;
                let body = super::io::close(cx, self.pipe()?);
                cx.send(CLOSE, body);
            }
        }
        Ok(())
    }
}

/// The operation's error for a failed RPC exchange.
fn rpc(error: RpcError) -> Fail {
    Fail::Op(Error::Rpc {
        op: OP,
        path: PIPE.to_string(),
        error,
    })
}

/// Whether a pipe answer carries data: STATUS_BUFFER_OVERFLOW is a success that says
/// more of the message waits in the pipe (MS-FSCC 2.3.48).
fn check_pipe(resp: &Response) -> Result<(), Fail> {
    match resp.status() {
        NtStatus::SUCCESS | NtStatus::BUFFER_OVERFLOW => Ok(()),
        s => Err(status_err(s, OP, PIPE)),
    }
}

impl Operation for ListShares {
    type Output = Vec<ShareInfo>;

    fn label(&self) -> (&'static str, &str) {
        (OP, PIPE)
    }

    fn share(&self) -> Option<&str> {
        Some(IPC_SHARE)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail> {
        self.tree = Some(cx.tree());
        if self.rap_only && !cx.is_smb1() {
            return Err(Fail::Op(Error::Unsupported {
                op: OP,
                dialect: "SMB2 (RAP is SMB1's: connect with smb1 on, smb --smb1)",
            }));
        }
        if self.rap_only {
            self.send_rap(cx);
            return Ok(Progress::Pending);
        }
        if cx.is_smb1() {
            // The same pipe, the same access and sharing (NT_CREATE_ANDX impersonates).
            let req = Smb1Request::NtCreate(NtCreateRequest {
                name: format!("\\{PIPE}"),
                desired_access: PIPE_ACCESS,
                attributes: 0,
                share_access: share_access::READ | share_access::WRITE,
                disposition: disposition::OPEN,
                create_options: 0,
            });
            cx.send(CREATE, RequestBody::Smb1(Box::new(req)));
            return Ok(Progress::Pending);
        }
        // Shared for reading and writing; impersonation, so the RPC server acts as the
        // session's user.
        let body = RequestBody::Create(CreateRequest {
            impersonation_level: impersonation_level::IMPERSONATION,
            desired_access: PIPE_ACCESS,
            share_access: share_access::READ | share_access::WRITE,
            create_disposition: disposition::OPEN,
            name: PIPE.to_string(),
            ..Default::default()
        });
        cx.send(CREATE, body);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<Self::Output>, Fail> {
        match tag {
            // libsmbclient's fallback: no pipe, then RAP (MS-RAP 2.5.6.1).
            CREATE if cx.is_smb1() && resp.status() != NtStatus::SUCCESS => {
                tracing::debug!(status = %resp.status(), "no srvsvc pipe: RAP NetShareEnum");
                self.send_rap(cx);
            }
            CREATE => {
                check(&resp, OP, PIPE)?;
                self.file_id = Some(super::io::opened(cx, &resp)?.file_id);
                self.reply = Some(Reassembly::bind_ack(BIND_CALL));
                self.transceive(cx, Bind::new(BIND_CALL, SyntaxId::SRVSVC).encode())?;
            }
            TRANSCEIVE => {
                check_pipe(&resp)?;
                let output = if cx.is_smb1() {
                    TransResponse::decode(&resp.msg)?.data
                } else {
                    IoctlResponse::decode(&resp.msg)?.output
                };
                self.received(cx, &output)?;
            }
            READ => {
                check_pipe(&resp)?;
                let data = super::io::read_data(cx, &resp)?;
                self.received(cx, &data)?;
            }
            RAP => {
                let (params, data) = rap_answer(&resp, OP)?;
                let list = rap::decode_share_enum(&params, &data).map_err(|e| rap_err(OP, e))?;
                let shares = list
                    .entries
                    .into_iter()
                    .map(|s| {
                        ShareInfo::from(ShareInfo1 {
                            netname: s.name,
                            shi1_type: u32::from(s.share_type),
                            remark: s.remark,
                        })
                    })
                    .collect();
                return Ok(Progress::Done(shares));
            }
            _ => {
                check(&resp, OP, PIPE)?;
                return Ok(Progress::Done(std::mem::take(&mut self.shares)));
            }
        }
        Ok(Progress::Pending)
    }

    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        match (self.tree, self.file_id) {
            (Some(tree), Some(file_id)) if !self.closing => vec![(tree, close(file_id))],
            _ => Vec::new(),
        }
    }
}

/// The most NetServerEnum3 rounds a listing takes: each returns up to 64 KiB of names,
/// so this is far more servers than any browse list holds; a server that keeps saying
/// "more" beyond it is refused rather than followed forever.
const MAX_SERVER_ROUNDS: usize = 1024;

/// The servers of a workgroup, or the workgroups, that a master browser knows (RAP
/// NetServerEnum2, then NetServerEnum3 from the last name while the server says
/// ERROR_MORE_DATA, MS-RAP 3.2.5.12): libsmbclient's listing of `smb://WORKGROUP` and of
/// `smb://`. SMB1 only (RAP has no SMB2 form): ask a master browser over a connection made
/// with [`ConnectOptions::smb1`](crate::client::ConnectOptions::smb1).
///
/// # Errors
///
/// [`Error::Unsupported`] on an SMB2 connection; [`Error::Rpc`] with
/// [`RpcError::Rap`] when the server refuses (a master browser that is not one answers
/// ERROR_NO_BROWSER_SERVERS_FOUND, 0x17E6) or garbles the answer.
#[derive(Debug)]
pub struct ListServers {
    domain: String,
    server_type: u32,
    servers: Vec<RapServer>,
    rounds: usize,
}

impl ListServers {
    /// The servers of workgroup `domain` (every server type but plain workstations, as
    /// libsmbclient asks).
    pub fn servers(domain: &str) -> Self {
        ListServers::of_type(domain, rap::server_type::ALL_SERVERS)
    }

    /// The workgroups the master browser of `domain` knows ([`rap::server_type::DOMAIN_ENUM`];
    /// each entry's comment names that workgroup's master browser).
    pub fn workgroups(domain: &str) -> Self {
        ListServers::of_type(domain, rap::server_type::DOMAIN_ENUM)
    }

    /// The entries of `server_type` ([`rap::server_type`]) in `domain`.
    pub fn of_type(domain: &str, server_type: u32) -> Self {
        ListServers {
            domain: domain.to_ascii_uppercase(),
            server_type,
            servers: Vec::new(),
            rounds: 0,
        }
    }

    /// Takes one answer's entries (skipping the first when it repeats the name a
    /// continuation started from) → whether to ask for more.
    fn take(&mut self, list: RapList<RapServer>) -> bool {
        let first_is_repeat = matches!(
            (self.servers.last(), list.entries.first()),
            (Some(last), Some(first)) if last.name == first.name
        );
        let before = self.servers.len();
        self.servers
            .extend(list.entries.into_iter().skip(usize::from(first_is_repeat)));
        list.more && self.servers.len() > before && self.servers.len() < usize::from(list.available)
    }
}

impl Operation for ListServers {
    type Output = Vec<RapServer>;

    fn label(&self) -> (&'static str, &str) {
        ("list_servers", &self.domain)
    }

    fn share(&self) -> Option<&str> {
        Some(IPC_SHARE)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail> {
        if !cx.is_smb1() {
            return Err(Fail::Op(Error::Unsupported {
                op: "list_servers",
                dialect: "SMB2 (RAP is SMB1's: connect with smb1 on, smb --smb1)",
            }));
        }
        let params = rap::net_server_enum2_request(self.server_type, &self.domain)
            .map_err(|e| rap_err("list_servers", e))?;
        cx.send(RAP, RequestBody::Smb1(Box::new(rap_request(params))));
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress<Self::Output>, Fail> {
        let (params, data) = rap_answer(&resp, "list_servers")?;
        let list =
            rap::decode_server_enum(&params, &data).map_err(|e| rap_err("list_servers", e))?;
        self.rounds += 1;
        if !self.take(list) {
            return Ok(Progress::Done(std::mem::take(&mut self.servers)));
        }
        if self.rounds >= MAX_SERVER_ROUNDS {
            return Err(Fail::Op(Error::Invalid(format!(
                "list_servers {}: the server still said 'more' after {MAX_SERVER_ROUNDS} rounds",
                self.domain
            ))));
        }
        let last = self
            .servers
            .last()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let params = rap::net_server_enum3_request(self.server_type, &self.domain, &last)
            .map_err(|e| rap_err("list_servers", e))?;
        cx.send(RAP, RequestBody::Smb1(Box::new(rap_request(params))));
        Ok(Progress::Pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(names: &[&str], available: u16, more: bool) -> RapList<RapServer> {
        RapList {
            entries: names
                .iter()
                .map(|n| RapServer {
                    name: n.to_string(),
                    version: (4, 9),
                    server_type: 0,
                    comment: String::new(),
                })
                .collect(),
            available,
            more,
        }
    }

    #[test]
    fn a_server_list_goes_on_from_the_last_name_and_skips_its_repeat() {
        let mut op = ListServers::servers("wg");
        assert_eq!(op.domain, "WG", "workgroups are upper case");
        assert!(op.take(servers(&["A", "B"], 4, true)));
        // NetServerEnum3 from "B" answers "B" first again.
        assert!(op.take(servers(&["B", "C"], 4, true)));
        assert!(!op.take(servers(&["C", "D"], 4, false)));
        let names: Vec<&str> = op.servers.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "C", "D"]);
        // "More" with nothing new, or once all are there, ends the listing.
        let mut op = ListServers::servers("WG");
        assert!(op.take(servers(&["A"], 9, true)));
        assert!(!op.take(servers(&["A"], 9, true)));
        let mut op = ListServers::servers("WG");
        assert!(!op.take(servers(&["A", "B"], 2, true)));
    }

    #[test]
    fn types_split_into_base_type_and_flags() {
        let info = |t: u32| {
            ShareInfo::from(ShareInfo1 {
                netname: "x".into(),
                shi1_type: t,
                remark: String::new(),
            })
        };
        let ipc = info(0x8000_0003);
        assert_eq!(ipc.share_type, ShareType::Ipc);
        assert!(ipc.is_special && !ipc.is_temporary);
        let disk = info(0);
        assert_eq!(disk.share_type, ShareType::Disk);
        assert!(!disk.is_special && !disk.is_temporary);
        assert_eq!(info(1).share_type, ShareType::PrintQueue);
        assert_eq!(info(2).share_type, ShareType::Device);
        let temp = info(0x4000_0000 | share_type::CLUSTER_FS);
        assert_eq!(temp.share_type, ShareType::Disk);
        assert!(temp.is_temporary);
        assert_eq!(
            info(0xC000_0007).share_type,
            ShareType::Other(7),
            "flags are not part of another type"
        );
    }
}
