//! Requests the caller built, as pike offers its users for protocol tests: one request
//! or a compound, header fields of the caller's choosing, with message ids, credits,
//! signing and encryption still managed by the core.

use crate::connection::{Fail, OpContext, Operation, Progress, RequestOptions, Response};
use crate::error::Error;
use crate::wire::request::RequestBody;

use super::path;

pub use crate::connection::HeaderFields;

/// Sends requests the caller built → every response (header and whole message), in
/// request order, whatever its status: a raw request fails only when the connection
/// does. Interim responses are handled by the core; the final one is what comes back.
///
/// ```
/// use smb_proto::ops::Raw;
/// use smb_proto::wire::create::{context_name, CreateRequest};
/// use smb_proto::wire::request::RequestBody;
///
/// // A CREATE with a create context of our own (query maximal access), on "share".
/// let create = CreateRequest {
///     desired_access: 0x0012_0089,
///     create_disposition: 1, // FILE_OPEN
///     name: "notes.txt".into(),
///     create_contexts: vec![(context_name::QUERY_MAXIMAL_ACCESS_REQUEST.to_vec(), vec![])],
///     ..Default::default()
/// };
/// let op = Raw::new(RequestBody::Create(create)).on_share("share");
/// // Any driver runs it: `conn.call(op)?` (blocking) or `client.call(op).await?` give the
/// // responses; `CreateResponse::decode(&responses[0].msg)` has the server's contexts.
/// # let _ = op;
/// ```
#[derive(Debug)]
pub struct Raw {
    share: Option<String>,
    requests: Vec<(RequestBody, HeaderFields)>,
    related: bool,
    options: RequestOptions,
    responses: Vec<Option<Response>>,
    received: usize,
}

impl Raw {
    /// One request.
    pub fn new(body: RequestBody) -> Self {
        Raw::compound(vec![body], false)
    }

    /// Requests sent as one compound, related (later ones refer to the file the first
    /// one opened, through `FileId::ANY`) or not.
    pub fn compound(bodies: Vec<RequestBody>, related: bool) -> Self {
        Raw {
            share: None,
            requests: bodies
                .into_iter()
                .map(|b| (b, HeaderFields::default()))
                .collect(),
            related,
            options: RequestOptions::default(),
            responses: Vec::new(),
            received: 0,
        }
    }

    /// On `share`'s tree (connected first, as for any operation on a share).
    pub fn on_share(mut self, share: &str) -> Self {
        self.share = Some(share.to_string());
        self
    }

    /// Header fields for the request at `index` (flags, credit charge, channel sequence).
    pub fn header(mut self, index: usize, fields: HeaderFields) -> Self {
        if let Some(r) = self.requests.get_mut(index) {
            r.1 = fields;
        }
        self
    }

    /// How the requests go out: signed even where the session does not sign, or without
    /// the session's signing and encryption (`protect: false`), with or without a
    /// deadline, on another tree.
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }
}

impl Operation for Raw {
    type Output = Vec<Response>;

    fn label(&self) -> (&'static str, &str) {
        ("raw request", self.share.as_deref().unwrap_or_default())
    }

    fn share(&self) -> Option<&str> {
        self.share.as_deref()
    }

    fn check(&self) -> Result<(), Error> {
        if self.requests.is_empty() {
            return Err(Error::Invalid(
                "a raw request needs at least one request".into(),
            ));
        }
        match &self.share {
            Some(s) => path::check_share_of("raw request", s),
            None => Ok(()),
        }
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<Vec<Response>>, Fail> {
        let requests = std::mem::take(&mut self.requests);
        self.responses = vec![None; requests.len()];
        cx.send_raw(requests, self.related, self.options);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        _cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<Vec<Response>>, Fail> {
        match self.responses.get_mut(tag) {
            Some(slot @ None) => *slot = Some(resp),
            _ => {
                return Err(Fail::Op(Error::Invalid(
                    "a response to no raw request".into(),
                )))
            }
        }
        self.received += 1;
        if self.received < self.responses.len() {
            return Ok(Progress::Pending);
        }
        Ok(Progress::Done(
            std::mem::take(&mut self.responses)
                .into_iter()
                .flatten()
                .collect(),
        ))
    }
}
