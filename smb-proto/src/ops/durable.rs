//! Durable handles v2 (MS-SMB2 3.2.4.3.10, 3.2.4.4): an open asked for with
//! [`Open::durable`](super::Open::durable) outlives its connection for the timeout the
//! server granted; [`Reclaim`] takes it back on a new connection and session, with the
//! lease it held.

use crate::connection::{Fail, OpContext, Operation, Progress, Response};
use crate::error::Error;
use crate::wire::create::{
    context_name, disposition, CreateResponse, DurableReconnectV2, FileId, LeaseContext,
};
use crate::wire::request::RequestBody;

use super::file::{check, create, hold_caching, info_from_create, OpenOptions};
use super::{path, FileInfo, Handle};

/// A durable open the server granted: what reclaiming it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableOpen {
    /// The share it is on.
    pub share: String,
    /// Its path on the share.
    pub path: String,
    /// How it was opened.
    pub options: OpenOptions,
    /// Its file id on the connection that opened (or last reclaimed) it.
    pub file_id: FileId,
    /// The CreateGuid it was opened with.
    pub create_guid: [u8; 16],
    /// How long the server keeps it after a disconnect, in milliseconds.
    pub timeout: u32,
    /// The lease it holds, as granted (its key reclaims it with the open).
    pub lease: Option<LeaseContext>,
    /// The oplock level granted (`LEASE` when it holds a lease).
    pub oplock: u8,
}

/// Reclaims a durable open on this connection (a CREATE with an
/// SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2 context, MS-SMB2 2.2.13.2.12, and the lease
/// context again when the open had a lease) → its handle here and its facts. The core
/// then holds the open's lease and durability as for a fresh [`Open`](super::Open).
///
/// ```no_run
/// # fn f(old: &smb_proto::Connection, new: &mut smb_proto::Connection) {
/// use smb_proto::ops::Reclaim;
/// for open in old.durable_opens() {
///     let _ = new.start(Reclaim::new(open), std::time::Instant::now());
/// }
/// # }
/// ```
///
/// # Errors
///
/// STATUS_OBJECT_NAME_NOT_FOUND when the server no longer keeps the open (its timeout
/// passed, another client's open conflicted with it), as an operation error on the path.
#[derive(Debug, Clone)]
pub struct Reclaim {
    open: DurableOpen,
}

impl Reclaim {
    /// Reclaims `open`.
    pub fn new(open: DurableOpen) -> Self {
        Reclaim { open }
    }
}

impl Operation for Reclaim {
    type Output = (Handle, FileInfo);

    fn label(&self) -> (&'static str, &str) {
        ("reclaim", &self.open.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.open.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path("reclaim", &self.open.path)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Self::Output>, Fail> {
        let options = OpenOptions {
            disposition: disposition::OPEN,
            ..self.open.options
        };
        let mut body = create(&self.open.path, &options);
        if let RequestBody::Create(c) = &mut body {
            c.requested_oplock_level = self.open.oplock;
            let dh2c = DurableReconnectV2 {
                file_id: self.open.file_id,
                create_guid: self.open.create_guid,
                flags: 0,
            };
            c.create_contexts.push((
                context_name::DURABLE_HANDLE_RECONNECT_V2.to_vec(),
                dh2c.encode(),
            ));
            if let Some(lease) = self.open.lease {
                c.create_contexts
                    .push((context_name::REQUEST_LEASE.to_vec(), lease.encode()));
            }
        }
        cx.send(0, body);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress<Self::Output>, Fail> {
        check(&resp, "reclaim", &self.open.path)?;
        let c = CreateResponse::decode(&resp.msg)?;
        let tree = cx.tree();
        let asked = self.open.lease.map(|l| l.lease_key);
        self.open.lease = hold_caching(cx, &c, asked, "reclaim")?;
        self.open.file_id = c.file_id;
        self.open.oplock = c.oplock_level;
        cx.hold_durable(self.open.clone());
        Ok(Progress::Done((
            Handle {
                tree,
                file_id: c.file_id,
            },
            info_from_create(&c, &self.open.path),
        )))
    }
}
