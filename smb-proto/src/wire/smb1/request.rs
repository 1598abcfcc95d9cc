//! Any SMB1 request body this client sends.

use super::file::{CloseRequest, FlushRequest, NtCreateRequest, ReadRequest, WriteRequest};
use super::header::Smb1Command;
use super::locking::LockingRequest;
use super::negotiate::NegotiateRequest;
use super::nt_transact::{function, NtTransRequest};
use super::path::PathRequest;
use super::session_setup::SessionSetupRequest;
use super::simple::{EchoRequest, NtCancelRequest};
use super::trans::{TransKind, TransRequest};
use super::trans2::{subcommand, FindClose2Request};
use super::tree::{LogoffRequest, TreeConnectRequest, TreeDisconnectRequest};
use crate::wire::header::Command;

/// The blocks of an SMB1 request, one variant per command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is its command
pub enum Smb1Request {
    Negotiate(NegotiateRequest),
    SessionSetup(SessionSetupRequest),
    Logoff(LogoffRequest),
    TreeConnect(TreeConnectRequest),
    TreeDisconnect(TreeDisconnectRequest),
    Echo(EchoRequest),
    NtCancel(NtCancelRequest),
    NtCreate(NtCreateRequest),
    Read(ReadRequest),
    Write(WriteRequest),
    Close(CloseRequest),
    Flush(FlushRequest),
    Trans(TransRequest),
    FindClose2(FindClose2Request),
    Path(PathRequest),
    NtTrans(NtTransRequest),
    Locking(LockingRequest),
}

impl Smb1Request {
    /// The header's Command.
    pub fn command(&self) -> Smb1Command {
        match self {
            Smb1Request::Negotiate(_) => Smb1Command::NEGOTIATE,
            Smb1Request::SessionSetup(_) => Smb1Command::SESSION_SETUP_ANDX,
            Smb1Request::Logoff(_) => Smb1Command::LOGOFF_ANDX,
            Smb1Request::TreeConnect(_) => Smb1Command::TREE_CONNECT_ANDX,
            Smb1Request::TreeDisconnect(_) => Smb1Command::TREE_DISCONNECT,
            Smb1Request::Echo(_) => Smb1Command::ECHO,
            Smb1Request::NtCancel(_) => Smb1Command::NT_CANCEL,
            Smb1Request::NtCreate(_) => Smb1Command::NT_CREATE_ANDX,
            Smb1Request::Read(_) => Smb1Command::READ_ANDX,
            Smb1Request::Write(_) => Smb1Command::WRITE_ANDX,
            Smb1Request::Close(_) => Smb1Command::CLOSE,
            Smb1Request::Flush(_) => Smb1Command::FLUSH,
            Smb1Request::Trans(t) => t.kind.command(),
            Smb1Request::FindClose2(_) => Smb1Command::FIND_CLOSE2,
            Smb1Request::Path(PathRequest::CreateDirectory(_)) => Smb1Command::CREATE_DIRECTORY,
            Smb1Request::Path(PathRequest::DeleteDirectory(_)) => Smb1Command::DELETE_DIRECTORY,
            Smb1Request::Path(PathRequest::Delete(_)) => Smb1Command::DELETE,
            Smb1Request::Path(PathRequest::Rename { .. }) => Smb1Command::RENAME,
            Smb1Request::NtTrans(_) => Smb1Command::NT_TRANSACT,
            Smb1Request::Locking(_) => Smb1Command::LOCKING_ANDX,
        }
    }

    /// The SMB2 command doing the same work: what the connection's bookkeeping (session
    /// ids, trees, keep-alives, timeouts, error trails) goes by, for either protocol.
    pub fn equivalent(&self) -> Command {
        match self {
            Smb1Request::Negotiate(_) => Command::Negotiate,
            Smb1Request::SessionSetup(_) => Command::SessionSetup,
            Smb1Request::Logoff(_) => Command::Logoff,
            Smb1Request::TreeConnect(_) => Command::TreeConnect,
            Smb1Request::TreeDisconnect(_) => Command::TreeDisconnect,
            Smb1Request::Echo(_) => Command::Echo,
            Smb1Request::NtCancel(_) => Command::Cancel,
            Smb1Request::NtCreate(_) => Command::Create,
            Smb1Request::Read(_) => Command::Read,
            Smb1Request::Write(_) => Command::Write,
            Smb1Request::Close(_) => Command::Close,
            Smb1Request::Flush(_) => Command::Flush,
            Smb1Request::Trans(t) => match (t.kind, t.setup.first().copied()) {
                (TransKind::Transaction, _) => Command::Ioctl,
                (_, Some(subcommand::FIND_FIRST2 | subcommand::FIND_NEXT2)) => {
                    Command::QueryDirectory
                }
                (_, Some(subcommand::SET_PATH_INFORMATION | subcommand::SET_FILE_INFORMATION)) => {
                    Command::SetInfo
                }
                _ => Command::QueryInfo,
            },
            Smb1Request::FindClose2(_) => Command::Close,
            Smb1Request::Path(PathRequest::CreateDirectory(_)) => Command::Create,
            // A delete or a rename is what SET_INFO does in SMB2.
            Smb1Request::Path(_) => Command::SetInfo,
            Smb1Request::NtTrans(t) => match t.function {
                function::QUERY_SECURITY_DESC => Command::QueryInfo,
                function::SET_SECURITY_DESC => Command::SetInfo,
                function::NOTIFY_CHANGE => Command::ChangeNotify,
                _ => Command::Ioctl,
            },
            Smb1Request::Locking(_) => Command::Lock,
        }
    }

    /// Appends the blocks after an already-written 32-byte SMB1 header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Smb1Request::Negotiate(b) => b.encode(out),
            Smb1Request::SessionSetup(b) => b.encode(out),
            Smb1Request::Logoff(b) => b.encode(out),
            Smb1Request::TreeConnect(b) => b.encode(out),
            Smb1Request::TreeDisconnect(b) => b.encode(out),
            Smb1Request::Echo(b) => b.encode(out),
            Smb1Request::NtCancel(b) => b.encode(out),
            Smb1Request::NtCreate(b) => b.encode(out),
            Smb1Request::Read(b) => b.encode(out),
            Smb1Request::Write(b) => b.encode(out),
            Smb1Request::Close(b) => b.encode(out),
            Smb1Request::Flush(b) => b.encode(out),
            Smb1Request::Trans(b) => b.encode(out),
            Smb1Request::FindClose2(b) => b.encode(out),
            Smb1Request::Path(b) => b.encode(out),
            Smb1Request::NtTrans(b) => b.encode(out),
            Smb1Request::Locking(b) => b.encode(out),
        }
    }

    /// The length of the message this request makes, header included: what must fit
    /// the server's MaxBufferSize.
    pub fn encoded_len(&self) -> usize {
        let mut out = vec![0; super::HEADER_LEN];
        self.encode(&mut out);
        out.len()
    }
}
