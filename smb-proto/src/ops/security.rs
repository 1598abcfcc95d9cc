//! The security descriptor of a file or directory (pysmb's `getSecurity`).

use crate::connection::{Fail, OpContext, Operation, Progress, Response};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::create::{access_mask, disposition, FileId};
use crate::wire::error::{error_id, ErrorResponse};
use crate::wire::query_info::{
    additional_information, info_type, QueryInfoRequest, QueryInfoResponse,
};
use crate::wire::request::RequestBody;
use crate::wire::security::SecurityDescriptor;
use crate::wire::DecodeError;

use super::file::{check, close, create, status_err};
use super::{path, OpenOptions};

const OPEN: usize = 0;
const QUERY: usize = 1;
const CLOSE: usize = 2;

/// The first QUERY_INFO's OutputBufferLength: what one credit pays for, and room for
/// some 1,800 ACEs, so a second round trip is for descriptors nobody writes by hand.
const FIRST_BUFFER_LEN: u32 = 64 * 1024;

/// What one round's QUERY_INFO said.
#[derive(Debug)]
enum Answer {
    Descriptor(SecurityDescriptor),
    /// The descriptor needs this many bytes: ask again.
    Retry(u32),
}

/// The security descriptor of a file or directory → owner, group and DACL (and the
/// SACL when asked for): CREATE (READ_CONTROL) + QUERY_INFO (SMB2_0_INFO_SECURITY) +
/// CLOSE in one compound. A descriptor larger than the buffer asked for
/// (STATUS_BUFFER_TOO_SMALL with the size it needs, or STATUS_BUFFER_OVERFLOW) costs one
/// more compound with that size, never more; each compound closes what it opened, so
/// the operation never holds a handle between round trips.
#[derive(Debug)]
pub struct GetSecurity {
    share: String,
    path: String,
    /// AdditionalInformation: which parts to return.
    parts: u32,
    buffer_len: u32,
    retried: bool,
    answer: Option<Answer>,
    closed: bool,
}

impl GetSecurity {
    /// The owner, group and DACL of `path` on `share`.
    pub fn new(share: &str, path: &str) -> Self {
        GetSecurity {
            share: share.to_string(),
            path: path.to_string(),
            parts: additional_information::OWNER
                | additional_information::GROUP
                | additional_information::DACL,
            buffer_len: FIRST_BUFFER_LEN,
            retried: false,
            answer: None,
            closed: false,
        }
    }

    /// Asks for the SACL too: the open then asks for ACCESS_SYSTEM_SECURITY, which the
    /// server grants only to a user holding the security privilege
    /// (STATUS_PRIVILEGE_NOT_HELD otherwise).
    pub fn with_sacl(mut self) -> Self {
        self.parts |= additional_information::SACL;
        self
    }

    /// The first QUERY_INFO's OutputBufferLength (64 KiB unless set): a descriptor
    /// larger than it takes a second round trip.
    pub fn buffer_len(mut self, len: u32) -> Self {
        self.buffer_len = len;
        self
    }

    fn send_round(&mut self, cx: &mut OpContext<'_>) {
        let mut access = access_mask::READ_CONTROL | access_mask::SYNCHRONIZE;
        if self.parts & additional_information::SACL != 0 {
            access |= access_mask::ACCESS_SYSTEM_SECURITY;
        }
        let o = OpenOptions {
            access,
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        let query = RequestBody::QueryInfo(QueryInfoRequest {
            info_type: info_type::SECURITY,
            output_buffer_length: self.buffer_len.min(cx.negotiated().max_transact_size),
            additional_information: self.parts,
            file_id: FileId::ANY,
            ..Default::default()
        });
        self.answer = None;
        self.closed = false;
        cx.send_related(vec![
            (OPEN, create(&self.path, &o)),
            (QUERY, query),
            (CLOSE, close(FileId::ANY)),
        ]);
    }

    /// What a QUERY_INFO response says: the descriptor, or how much to ask for instead.
    fn answer(&self, cx: &OpContext<'_>, resp: &Response) -> Result<Answer, Fail> {
        let status = resp.status();
        let most = (SecurityDescriptor::MAX_LEN as u32).min(cx.negotiated().max_transact_size);
        let needed = match status {
            NtStatus::SUCCESS => {
                let buffer = QueryInfoResponse::decode(&resp.msg)?.buffer;
                return Ok(Answer::Descriptor(SecurityDescriptor::decode(&buffer)?));
            }
            // MS-SMB2 3.3.5.20.3: ErrorData holds the size the descriptor needs.
            NtStatus::BUFFER_TOO_SMALL => required_size(resp)?,
            // A server that truncates instead says nothing of the size: ask for the most
            // a descriptor can take.
            NtStatus::BUFFER_OVERFLOW => most,
            s => return Err(status_err(s, "get security", &self.path)),
        };
        // A second round is the only one: a server that keeps asking for more, or asks
        // for what no descriptor needs, gets its status back.
        if self.retried || needed <= self.buffer_len.min(most) || needed > most {
            return Err(status_err(status, "get security", &self.path));
        }
        Ok(Answer::Retry(needed))
    }

    /// Ends the round once both the QUERY_INFO and the CLOSE are answered, whatever their
    /// order.
    fn settle(&mut self, cx: &mut OpContext<'_>) -> Progress<SecurityDescriptor> {
        if !self.closed {
            return Progress::Pending;
        }
        match self.answer.take() {
            Some(Answer::Descriptor(sd)) => Progress::Done(sd),
            Some(Answer::Retry(len)) => {
                self.buffer_len = len;
                self.retried = true;
                self.send_round(cx);
                Progress::Pending
            }
            None => Progress::Pending,
        }
    }
}

/// The 4-byte size in a STATUS_BUFFER_TOO_SMALL's ErrorData (in its default error
/// context on 3.1.1).
fn required_size(resp: &Response) -> Result<u32, Fail> {
    let err = ErrorResponse::decode(&resp.msg)?;
    let data = err
        .contexts()?
        .into_iter()
        .find(|c| c.error_id == error_id::DEFAULT)
        .map(|c| c.data)
        .unwrap_or_default();
    match <[u8; 4]>::try_from(data.get(..4).unwrap_or_default()) {
        Ok(size) => Ok(u32::from_le_bytes(size)),
        Err(_) => Err(Fail::from(DecodeError::invalid(
            "buffer too small error data",
            data.len() as u64,
        ))),
    }
}

impl Operation for GetSecurity {
    type Output = SecurityDescriptor;

    fn label(&self) -> (&'static str, &str) {
        ("get security", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path("get security", &self.path)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<SecurityDescriptor>, Fail> {
        self.send_round(cx);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<SecurityDescriptor>, Fail> {
        match tag {
            OPEN => check(&resp, "get security", &self.path)?,
            QUERY => self.answer = Some(self.answer(cx, &resp)?),
            _ => {
                check(&resp, "get security", &self.path)?;
                self.closed = true;
            }
        }
        Ok(self.settle(cx))
    }
}
