//! Decoding a message's body by its command and direction, with the core's codecs.

use super::*;

/// A message body, decoded, reduced to what the dissection uses.
pub(super) enum Body {
    NegotiateRequest,
    NegotiateResponse(NegotiateResponse),
    SessionSetupRequest(SessionSetupRequest),
    SessionSetupResponse(SessionSetupResponse),
    TreeConnect(String),
    Create(String),
    Created(FileId),
    /// A request on an open.
    Open(FileId),
    /// QUERY_DIRECTORY: the directory and the pattern.
    Search(FileId, String),
    /// SET_INFO FileRenameInformation: the open and the new name.
    Rename(FileId, String),
    Other,
}

/// Decodes a message's body with smb-proto's codec for its command and direction. An
/// unsuccessful response may carry either its normal body or an ERROR body (2.2.2).
pub(super) fn decode_body(header: &Header, msg: &Bytes) -> Result<Body, DecodeError> {
    let command = header.command()?;
    if !header.is_response() {
        return decode_request(command, msg);
    }
    let normal = decode_response(command, header, msg);
    if normal.is_ok() || NtStatus(header.status) == NtStatus::SUCCESS {
        return normal;
    }
    match ErrorResponse::decode(msg) {
        Ok(_) => Ok(Body::Other),
        Err(_) => normal,
    }
}

pub(super) fn decode_request(command: Command, msg: &Bytes) -> Result<Body, DecodeError> {
    Ok(match command {
        Command::Negotiate => {
            NegotiateRequest::decode(msg)?;
            Body::NegotiateRequest
        }
        Command::SessionSetup => Body::SessionSetupRequest(SessionSetupRequest::decode(msg)?),
        Command::Logoff => LogoffRequest::decode(msg).map(|_| Body::Other)?,
        Command::TreeConnect => Body::TreeConnect(TreeConnectRequest::decode(msg)?.path),
        Command::TreeDisconnect => TreeDisconnectRequest::decode(msg).map(|_| Body::Other)?,
        Command::Create => Body::Create(CreateRequest::decode(msg)?.name),
        Command::Close => Body::Open(CloseRequest::decode(msg)?.file_id),
        Command::Flush => Body::Open(FlushRequest::decode(msg)?.file_id),
        Command::Read => Body::Open(ReadRequest::decode(msg)?.file_id),
        Command::Write => Body::Open(WriteRequest::decode(msg)?.file_id),
        Command::Lock => Body::Open(LockRequest::decode(msg)?.file_id),
        Command::Ioctl => Body::Open(IoctlRequest::decode(msg)?.file_id),
        Command::Cancel => CancelRequest::decode(msg).map(|_| Body::Other)?,
        Command::Echo => EchoRequest::decode(msg).map(|_| Body::Other)?,
        Command::QueryDirectory => {
            let q = QueryDirectoryRequest::decode(msg)?;
            Body::Search(q.file_id, q.pattern)
        }
        Command::ChangeNotify => Body::Open(ChangeNotifyRequest::decode(msg)?.file_id),
        Command::QueryInfo => Body::Open(QueryInfoRequest::decode(msg)?.file_id),
        Command::SetInfo => {
            let s = SetInfoRequest::decode(msg)?;
            if s.info_type == info_type::FILE && s.file_info_class == class::FILE_RENAME_INFORMATION
            {
                Body::Rename(
                    s.file_id,
                    FileRenameInformation::decode(&s.buffer)?.file_name,
                )
            } else {
                Body::Open(s.file_id)
            }
        }
        // The acknowledgments have the layouts of the break responses (2.2.24, 2.2.25).
        Command::OplockBreak => match BreakResponse::decode(msg)? {
            BreakResponse::Oplock(b) => Body::Open(b.file_id),
            BreakResponse::Lease(_) => Body::Other,
        },
    })
}

pub(super) fn decode_response(
    command: Command,
    header: &Header,
    msg: &Bytes,
) -> Result<Body, DecodeError> {
    let other = Body::Other;
    Ok(match command {
        Command::Negotiate => Body::NegotiateResponse(NegotiateResponse::decode(msg)?),
        Command::SessionSetup => Body::SessionSetupResponse(SessionSetupResponse::decode(msg)?),
        Command::Logoff => LogoffResponse::decode(msg).map(|_| other)?,
        Command::TreeConnect => TreeConnectResponse::decode(msg).map(|_| other)?,
        Command::TreeDisconnect => TreeDisconnectResponse::decode(msg).map(|_| other)?,
        Command::Create => Body::Created(CreateResponse::decode(msg)?.file_id),
        Command::Close => CloseResponse::decode(msg).map(|_| other)?,
        Command::Flush => FlushResponse::decode(msg).map(|_| other)?,
        Command::Read => ReadResponse::decode(msg).map(|_| other)?,
        Command::Write => WriteResponse::decode(msg).map(|_| other)?,
        Command::Lock => LockResponse::decode(msg).map(|_| other)?,
        Command::Ioctl => IoctlResponse::decode(msg).map(|_| other)?,
        // CANCEL has no response (MS-SMB2 2.2.30).
        Command::Cancel => return Err(DecodeError::invalid("CANCEL response", header.command)),
        Command::Echo => EchoResponse::decode(msg).map(|_| other)?,
        Command::QueryDirectory => QueryDirectoryResponse::decode(msg).map(|_| other)?,
        Command::ChangeNotify => ChangeNotifyResponse::decode(msg).map(|_| other)?,
        Command::QueryInfo => QueryInfoResponse::decode(msg).map(|_| other)?,
        Command::SetInfo => SetInfoResponse::decode(msg).map(|_| other)?,
        // Unsolicited breaks carry MessageId 0xFFFFFFFFFFFFFFFF (2.2.23).
        Command::OplockBreak if header.message_id == u64::MAX => {
            BreakNotification::decode(msg).map(|_| other)?
        }
        Command::OplockBreak => BreakResponse::decode(msg).map(|_| other)?,
    })
}
