//! Asking a server for its network interfaces: FSCTL_QUERY_NETWORK_INTERFACE_INFO
//! (MS-SMB2 3.2.4.20.10), what a multichannel client binds further channels on. Which
//! of them to use is [`crate::client::channel_targets`].

use crate::connection::{Fail, OpContext, Operation, Progress, RequestOptions, Response};
use crate::ntstatus::NtStatus;
use crate::wire::create::FileId;
use crate::wire::ioctl::{flags, fsctl, IoctlRequest, IoctlResponse, NetworkInterfaceInfo};
use crate::wire::request::RequestBody;

/// The share the request goes to unless told otherwise: any tree of the session will
/// do (MS-SMB2 3.2.5.5), and `IPC$` is one every server has.
const IPC_SHARE: &str = "IPC$";

/// The server's network interfaces → one [`NetworkInterfaceInfo`] per address, in the
/// server's order: one FSCTL_QUERY_NETWORK_INTERFACE_INFO on `IPC$` (or the share of
/// [`on_share`](Self::on_share)), signed as MS-SMB2 3.2.4.20.10 asks, with room for
/// 64 KiB of answer (what Windows asks).
///
/// # Errors
///
/// A server that does not do multichannel fails it with its status, kept in the error:
/// Samba 4.17 with `server multi channel support = no` answers
/// STATUS_INVALID_DEVICE_REQUEST, on `IPC$` as on a disk share; other servers
/// STATUS_NOT_SUPPORTED or STATUS_FS_DRIVER_REQUIRED. An answer that does not decode is
/// a malformed message: it ends the connection
/// ([`CloseReason::Malformed`](crate::CloseReason::Malformed)).
///
/// ```
/// use smb_proto::ops::QueryInterfaces;
/// use smb_proto::ops::Operation;
/// assert_eq!(QueryInterfaces::new().share(), Some("IPC$"));
/// assert_eq!(QueryInterfaces::on_share("data").share(), Some("data"));
/// ```
#[derive(Debug, Clone)]
pub struct QueryInterfaces {
    share: String,
}

impl QueryInterfaces {
    /// Asks on `IPC$`.
    pub fn new() -> Self {
        Self::on_share(IPC_SHARE)
    }

    /// Asks on `share` instead (a session whose user may not use `IPC$`).
    pub fn on_share(share: &str) -> Self {
        QueryInterfaces {
            share: share.to_string(),
        }
    }
}

impl Default for QueryInterfaces {
    fn default() -> Self {
        Self::new()
    }
}

impl Operation for QueryInterfaces {
    type Output = Vec<NetworkInterfaceInfo>;

    fn label(&self) -> (&'static str, &str) {
        ("query network interfaces", &self.share)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail> {
        tracing::debug!(share = %self.share, "asking for the server's network interfaces");
        let most = cx.negotiated().max_transact_size;
        let signed = RequestOptions {
            sign: true,
            ..Default::default()
        };
        cx.send_with(
            0,
            RequestBody::Ioctl(IoctlRequest {
                ctl_code: fsctl::QUERY_NETWORK_INTERFACE_INFO,
                file_id: FileId::ANY,
                max_output_response: NetworkInterfaceInfo::MAX_LIST_LEN.min(most),
                flags: flags::IS_FSCTL,
                ..Default::default()
            }),
            signed,
        );
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        _cx: &mut OpContext<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress<Self::Output>, Fail> {
        match resp.status() {
            NtStatus::SUCCESS => {}
            s => return Err(resp.failure(s, "query network interfaces", &self.share)),
        }
        let out = IoctlResponse::decode(&resp.msg)?;
        Ok(Progress::Done(NetworkInterfaceInfo::decode_list(
            &out.output,
        )?))
    }
}
