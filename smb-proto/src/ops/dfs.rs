//! Asking a server for a DFS referral: FSCTL_DFS_GET_REFERRALS on `IPC$` (MS-SMB2
//! 3.2.4.20.3, MS-DFSC 3.1.4.1). What the client does with the answer (a cache, the
//! path on the target) is [`crate::client::dfs`].

use crate::connection::{Fail, OpContext, Operation, Progress, Response};
use crate::ntstatus::NtStatus;
use crate::wire::create::FileId;
use crate::wire::dfs::{DfsReferralResponse, GetDfsReferralRequest};
use crate::wire::ioctl::{flags, fsctl, IoctlRequest, IoctlResponse};
use crate::wire::request::RequestBody;

/// The share referral requests go to (MS-SMB2 3.2.4.20.3).
const IPC_SHARE: &str = "IPC$";
/// Room for the answer: enough for dozens of targets with long names, and what
/// smbclient asks for; the server's own limit applies too.
const MAX_REFERRAL_LEN: u32 = 0xFFFF;

/// The referral for a DFS path → [`DfsReferralResponse`]: one FSCTL_DFS_GET_REFERRALS
/// on the connection's `IPC$`, asking for version 4 entries.
///
/// `path` is `\server\share[\path]` as MS-DFSC names it (one leading backslash; `/`
/// is taken for `\`). A path the server holds no referral for fails with its status
/// (STATUS_NOT_FOUND from Samba, for a share that is no DFS root).
///
/// ```
/// use smb_proto::ops::GetDfsReferral;
/// let op = GetDfsReferral::new("\\fs1\\dfs\\projects\\plan.txt");
/// assert_eq!(op.path(), "\\fs1\\dfs\\projects\\plan.txt");
/// ```
#[derive(Debug, Clone)]
pub struct GetDfsReferral {
    path: String,
}

impl GetDfsReferral {
    /// Asks for the referral covering `path`.
    pub fn new(path: &str) -> Self {
        let path = path.replace('/', "\\");
        let path = format!("\\{}", path.trim_start_matches('\\'));
        GetDfsReferral { path }
    }

    /// The path asked about, as it is sent.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Operation for GetDfsReferral {
    type Output = DfsReferralResponse;

    fn label(&self) -> (&'static str, &str) {
        ("dfs referral", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(IPC_SHARE)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail> {
        let mut input = Vec::new();
        GetDfsReferralRequest::new(&self.path).encode(&mut input);
        tracing::debug!(path = %self.path, "asking for a dfs referral");
        cx.send(
            0,
            RequestBody::Ioctl(IoctlRequest {
                ctl_code: fsctl::DFS_GET_REFERRALS,
                file_id: FileId::ANY,
                input: input.into(),
                max_output_response: MAX_REFERRAL_LEN.min(cx.negotiated().max_transact_size),
                flags: flags::IS_FSCTL,
                ..Default::default()
            }),
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
            s => return Err(resp.failure(s, "dfs referral", &self.path)),
        }
        let out = IoctlResponse::decode(&resp.msg)?;
        Ok(Progress::Done(DfsReferralResponse::decode(&out.output)?))
    }
}
