//! The security descriptor of a file or directory (pysmb's `getSecurity`).

use crate::connection::{Fail, OpContext, Operation, Progress, Response};
use crate::error::Error;
use crate::wire::create::access_mask;
use crate::wire::query_info::additional_information;
use crate::wire::security::SecurityDescriptor;

use super::pathlib::decoded;
use super::QueryPathInfo;

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
#[derive(Debug)]
pub struct GetSecurity {
    query: QueryPathInfo,
}

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
        GetSecurity { query }
    }

    /// Asks for the SACL too: the open then asks for ACCESS_SYSTEM_SECURITY, which the
    /// server grants only to a user holding the security privilege
    /// (STATUS_PRIVILEGE_NOT_HELD otherwise).
    pub fn with_sacl(mut self) -> Self {
        self.query = self
            .query
            .security_parts(PARTS | additional_information::SACL)
            .access(ACCESS | access_mask::ACCESS_SYSTEM_SECURITY);
        self
    }

    /// The first QUERY_INFO's OutputBufferLength (64 KiB unless set): a descriptor
    /// larger than it takes a second round trip.
    pub fn buffer_len(mut self, len: u32) -> Self {
        self.query = self.query.buffer_len(len);
        self
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

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<SecurityDescriptor>, Fail> {
        decoded(self.query.start(cx)?, decode)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<SecurityDescriptor>, Fail> {
        decoded(self.query.on_response(cx, tag, resp)?, decode)
    }
}

fn decode(buffer: &[u8]) -> Result<SecurityDescriptor, Fail> {
    Ok(SecurityDescriptor::decode(buffer)?)
}
