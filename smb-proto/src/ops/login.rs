//! SESSION_SETUP rounds (MS-SMB2 3.2.4.2.3, 3.2.5.3) and TREE_CONNECT (3.2.4.2.4).

use std::time::SystemTime;

use crate::auth::kerberos::flow::FlowStep;
use crate::auth::kerberos::{
    gss, KdcIoError, KerberosError, KerberosLogin, SpnegoKerberos, TicketFlow,
};
use crate::auth::ntlm::{Credentials, NtlmClient};
use crate::auth::raw_ntlmssp::RawNtlmssp;
use crate::auth::spnego::{Authenticator, SpnegoNtlm};
use crate::config::Dialect;
use crate::connection::{
    Fail, OpContext, Operation, Progress, RequestOptions, Response, TreeState,
};
use crate::error::Error;
use crate::error::{CloseReason, NegotiateFailure};
use crate::ntstatus::NtStatus;
use crate::wire::create::FileId;
use crate::wire::ioctl::{
    flags as ioctl_flags, fsctl, IoctlRequest, IoctlResponse, ValidateNegotiateInfoResponse,
};
use crate::wire::negotiate::security_mode;
use crate::wire::request::RequestBody;
use crate::wire::session_setup::{session_flags, SessionSetupRequest, SessionSetupResponse};
use crate::wire::smb1;
use crate::wire::tree_connect::{
    capabilities as tree_caps, share_flags, TreeConnectRequest, TreeConnectResponse,
};

use super::TreeId;

/// What a login settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedIn {
    /// Whether the server made it a guest (or anonymous) session.
    pub is_guest: bool,
}

/// SESSION_SETUP rounds: NTLMv2 (or v1) in SPNEGO for [`Login::new`], or any
/// [`Authenticator`].
pub struct Login {
    auth: Option<Box<dyn Authenticator + Send>>,
    credentials: Option<Credentials>,
    /// The credentials again, for the session to log in again with when it expires.
    kept: Option<Credentials>,
    user: String,
    /// The caller asked for an anonymous or guest session, so one is no surprise.
    asked_for_guest: bool,
    /// This logs an established session in again (its keys stay).
    again: bool,
    /// This binds a channel to its session ([`Login::bind`]).
    bind: bool,
    /// A Kerberos login: the tickets first ([`Login::kerberos`]).
    kerberos: Option<Kerberos>,
    /// The NTLM login a Kerberos one falls back to.
    fallback: Option<Credentials>,
}

/// A Kerberos login's way to its AP-REQ.
enum Kerberos {
    /// Not started: what it starts from.
    Setup(Box<KerberosLogin>),
    /// Getting the tickets; `ap_seed` then makes the AP-REQ.
    Tickets {
        flow: Box<TicketFlow>,
        ap_seed: [u8; 32],
        time_offset: i64,
    },
    /// The AP-REQ is out.
    Sent,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// Logs in with `credentials` (anonymous when they are).
    pub fn new(credentials: Credentials) -> Self {
        let user = credentials.user.clone();
        let asked_for_guest = credentials.is_anonymous() || user.eq_ignore_ascii_case("guest");
        Login {
            auth: None,
            kept: Some(credentials.clone()),
            credentials: Some(credentials),
            user,
            asked_for_guest,
            again: false,
            bind: false,
            kerberos: None,
            fallback: None,
        }
    }

    /// Binds this connection, made with
    /// [`Connection::new_channel`](crate::Connection::new_channel), to its session as a
    /// channel: a SESSION_SETUP with SMB2_SESSION_FLAG_BINDING on the session's id, as the
    /// same user (MS-SMB2 3.2.4.2.3), signed with the session's key; the channel's own
    /// signing key comes from this authentication.
    pub fn bind(credentials: Credentials) -> Self {
        Login {
            kept: None,
            bind: true,
            ..Login::new(credentials)
        }
    }

    /// Logs the operation's session in again after the server said it expired
    /// (MS-SMB2 3.2.4.2.3.1), as the core does by itself for the session's requests.
    pub(crate) fn again(credentials: Credentials) -> Self {
        Login {
            kept: None,
            again: true,
            ..Login::new(credentials)
        }
    }

    /// Logs in with another authenticator; `user` names the login in errors.
    pub fn with_authenticator(auth: Box<dyn Authenticator + Send>, user: String) -> Self {
        Login {
            auth: Some(auth),
            credentials: None,
            kept: None,
            user,
            asked_for_guest: false,
            again: false,
            bind: false,
            kerberos: None,
            fallback: None,
        }
    }

    /// Logs in with Kerberos as `login` says: the tickets the login still needs come
    /// from the KDC first, through [`Event::Kdc`](crate::Event::Kdc) (the driver
    /// carries the messages), then the AP-REQ goes out in SPNEGO and the server's AP-REP
    /// is checked (mutual authentication). Its randomness is one draw from the
    /// connection's seeded source; its time is [`Config::filetime_now`](crate::Config)
    /// until the driver hands a later one in with a KDC answer.
    ///
    /// A Kerberos failure before the AP-REQ ends the login with
    /// [`Error::Kerberos`]; nothing was sent to the server then.
    pub fn kerberos(login: KerberosLogin) -> Self {
        let user = login.client.to_string();
        Login {
            auth: None,
            credentials: None,
            kept: None,
            user,
            asked_for_guest: false,
            again: false,
            bind: false,
            kerberos: Some(Kerberos::Setup(Box::new(login))),
            fallback: None,
        }
    }

    /// Starts or moves the Kerberos ticket flow at wall-clock time `wall`: asks the
    /// driver for the next KDC message, or sends the AP-REQ once the ticket is in.
    fn kerberos_step(
        &mut self,
        cx: &mut OpContext<'_>,
        wall: SystemTime,
    ) -> Result<Progress<LoggedIn>, Fail> {
        let Some(Kerberos::Tickets {
            flow,
            ap_seed,
            time_offset,
        }) = &mut self.kerberos
        else {
            return Err(Fail::Op(Error::Invalid("no Kerberos flow".into())));
        };
        let step = match flow.poll(wall) {
            Ok(step) => step,
            Err(e) => return self.kerberos_failed(cx, e),
        };
        let ticket = match step {
            FlowStep::Kdc(request) => {
                cx.kdc(request);
                return Ok(Progress::Pending);
            }
            FlowStep::Waiting => return Ok(Progress::Pending),
            FlowStep::Ready(ticket) => ticket,
        };
        let auth = SpnegoKerberos::new(ticket, *ap_seed, wall, *time_offset);
        self.kerberos = Some(Kerberos::Sent);
        self.auth = Some(Box::new(auth));
        self.send_initial(cx)
    }

    /// Kerberos failed before anything went to the server: falls back to NTLM when that
    /// can help and is allowed, else fails with `e`.
    fn kerberos_failed(
        &mut self,
        cx: &mut OpContext<'_>,
        e: KerberosError,
    ) -> Result<Progress<LoggedIn>, Fail> {
        let creds = match self.fallback.take() {
            Some(creds) if e.ntlm_may_follow() => creds,
            _ => return Err(Fail::Op(Error::Kerberos(e))),
        };
        // The reason names hosts, realms and principals, never a secret.
        tracing::warn!(reason = %e, user = %self.user, "Kerberos cannot log in: falling back to NTLM");
        self.kerberos = None;
        self.user = creds.user.clone();
        self.kept = Some(creds.clone());
        self.ntlm(cx, creds);
        self.send_initial(cx)
    }

    /// Makes the NTLM authenticator for `creds`.
    fn ntlm(&mut self, cx: &mut OpContext<'_>, creds: Credentials) {
        // Raw NTLMSSP is SMB1's (SESSION_SETUP_ANDX, MS-SMB 3.2.4.2.4); SMB2 logins
        // stay in SPNEGO.
        let raw = creds.is_raw_ntlmssp() && cx.is_smb1();
        // NTLM's randomness comes from the connection's seeded source, so a session replays.
        let core = &mut *cx.core;
        let mut ntlm = NtlmClient::new(
            creds,
            &core.config.client_name,
            core.rng.array(),
            core.rng.array(),
            core.config.filetime_now,
        );
        // A replay's login sends what the recorded one did in place of what the
        // password would give; the session key still comes from the seed above.
        if let Some(recorded) = core.replay_logins.pop_front() {
            ntlm.replay(recorded);
        }
        tracing::debug!(
            mechanism = if raw { "raw NTLMSSP" } else { "SPNEGO NTLMSSP" },
            "login"
        );
        self.auth = Some(match raw {
            true => Box::new(RawNtlmssp::new(ntlm)),
            false => Box::new(SpnegoNtlm::new(ntlm)),
        });
    }

    /// Sends the authenticator's first token.
    fn send_initial(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<LoggedIn>, Fail> {
        let token = self
            .auth()?
            .initial_token()
            .map_err(|e| self.fail(cx, NtStatus::SUCCESS, e.to_string()))?;
        self.send(cx, token);
        Ok(Progress::Pending)
    }

    fn auth(&mut self) -> Result<&mut (dyn Authenticator + Send), Fail> {
        match self.auth.as_deref_mut() {
            Some(a) => Ok(a),
            None => Err(Fail::Op(Error::Invalid(
                "login has no authenticator".into(),
            ))),
        }
    }

    fn fail(&self, cx: &OpContext<'_>, status: NtStatus, detail: String) -> Fail {
        Fail::Op(Error::Auth {
            user: self.user.clone(),
            server: cx.core.config.server_name.clone(),
            status,
            detail,
        })
    }

    fn send(&self, cx: &mut OpContext<'_>, token: Vec<u8>) {
        if let Some(n) = cx.negotiated().smb1 {
            // SESSION_SETUP_ANDX (MS-SMB 2.2.4.6.1): replies cut at 64 KiB, the
            // server's MaxMpxCount and SessionKey echoed, VcNumber 1 (0 makes some
            // servers drop this client's other connections).
            let req = smb1::session_setup::SessionSetupRequest {
                max_buffer_size: 0xFFFF,
                max_mpx: n.max_mpx,
                vc_number: 1,
                session_key: n.session_key,
                capabilities: crate::connection::SMB1_CLIENT_CAPABILITIES,
                security_blob: token.into(),
                native_os: String::new(),
                native_lanman: "smb-rs".into(),
            };
            let body = smb1::Smb1Request::SessionSetup(req);
            cx.send(0, RequestBody::Smb1(Box::new(body)));
            return;
        }
        let req = SessionSetupRequest {
            flags: if self.bind {
                crate::wire::session_setup::flags::BINDING
            } else {
                0
            },
            security_mode: security_mode::SIGNING_ENABLED as u8,
            security_buffer: token.into(),
            ..Default::default()
        };
        cx.send(0, RequestBody::SessionSetup(req));
    }
}

impl Operation for Login {
    type Output = LoggedIn;

    fn label(&self) -> (&'static str, &str) {
        ("login", &self.user)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<LoggedIn>, Fail> {
        if cx.session().established != self.again {
            let why = if self.again {
                "not logged in"
            } else {
                "already logged in"
            };
            return Err(Fail::Op(Error::Invalid(why.into())));
        }
        if self.bind != cx.session().binding_key.is_some() {
            let why = if self.bind {
                "a binding needs a connection made with Connection::new_channel"
            } else {
                "a channel logs in with Login::bind"
            };
            return Err(Fail::Op(Error::Invalid(why.into())));
        }
        if let Some(creds) = self.credentials.take() {
            self.ntlm(cx, creds);
        }
        if let Some(Kerberos::Setup(mut login)) = self.kerberos.take() {
            if cx.core.is_replaying() {
                // A replay gets its tickets as the recording did, from the KDC's replies.
                login.tgt = None;
                login.service_ticket = None;
                login.cache = None;
            }
            // One draw, whatever path the tickets take, so later draws do not depend
            // on it (a recorded session must replay).
            let mut rng = crate::rng::Rng::from_seed(cx.core.rng.array());
            let wall = crate::wire::fscc::FileTime(cx.core.config.filetime_now)
                .to_system_time()
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let time_offset = login.kdc.time_offset;
            let offered = {
                let mechs = &cx.core.server_mechs;
                mechs.is_empty()
                    || mechs
                        .iter()
                        .any(|m| m.as_slice() == gss::OID_KRB5 || m.as_slice() == gss::OID_MS_KRB5)
            };
            self.fallback = login.fallback.clone();
            let flow = match offered {
                true => TicketFlow::new(*login, rng.array(), wall),
                false => Err(KerberosError::NotOffered),
            };
            let flow = match flow {
                Ok(flow) => flow,
                Err(e) => return self.kerberos_failed(cx, e),
            };
            self.kerberos = Some(Kerberos::Tickets {
                flow: Box::new(flow),
                ap_seed: rng.array(),
                time_offset,
            });
            return self.kerberos_step(cx, wall);
        }
        self.send_initial(cx)
    }

    fn on_kdc(
        &mut self,
        cx: &mut OpContext<'_>,
        reply: Result<Vec<u8>, KdcIoError>,
        wall: SystemTime,
    ) -> Result<Progress<LoggedIn>, Fail> {
        match &mut self.kerberos {
            Some(Kerberos::Tickets { flow, .. }) => flow.handle_reply(reply, wall),
            _ => {
                return Err(Fail::Op(Error::Invalid(
                    "a KDC answer not asked for".into(),
                )))
            }
        }
        self.kerberos_step(cx, wall)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        _tag: usize,
        resp: Response,
    ) -> Result<Progress<LoggedIn>, Fail> {
        let status = resp.status();
        if status != NtStatus::SUCCESS && status != NtStatus::MORE_PROCESSING_REQUIRED {
            return Err(self.fail(cx, status, String::new()));
        }
        let body = if cx.is_smb1() {
            let b = smb1::session_setup::SessionSetupResponse::decode(&resp.msg)?;
            let guest = b.action & smb1::session_setup::ACTION_GUEST != 0;
            SessionSetupResponse {
                session_flags: if guest { session_flags::IS_GUEST } else { 0 },
                security_buffer: b.security_blob,
            }
        } else {
            SessionSetupResponse::decode(&resp.msg)?
        };
        // Even an empty final token goes to the authenticator: it completes the exchange
        // and releases the session key (skipping it would leave no key: a guest session).
        let r = self.auth()?.next_token(&body.security_buffer);
        let token = r.map_err(|e| self.fail(cx, status, e.to_string()))?;
        if status == NtStatus::MORE_PROCESSING_REQUIRED {
            let token = token.ok_or_else(|| {
                self.fail(cx, status, "server wants another round, none left".into())
            })?;
            self.send(cx, token);
            return Ok(Progress::Pending);
        }
        if self.bind {
            let key = self.auth()?.session_key();
            let slot = cx.session_slot();
            cx.core.bind_session(
                slot,
                key.as_deref().map(Vec::as_slice),
                body.session_flags,
                &resp,
            )?;
            return Ok(Progress::Done(LoggedIn { is_guest: false }));
        }
        if self.again {
            // The session's keys stay; the core verified this answer with them.
            return Ok(Progress::Done(LoggedIn {
                is_guest: cx.session().is_guest,
            }));
        }
        let guest = body.session_flags & (session_flags::IS_GUEST | session_flags::IS_NULL) != 0;
        let encrypt = body.session_flags & session_flags::ENCRYPT_DATA != 0;
        let key = self.auth()?.session_key();
        // A login with real credentials that the server (or someone in between, the flag
        // is not protected) turns into a guest session would run unsigned: refuse it.
        if (guest || key.is_none()) && !self.asked_for_guest && !cx.core.config.allow_insecure_guest
        {
            return Err(Fail::Op(Error::GuestRefused {
                user: self.user.clone(),
                server: cx.core.config.server_name.clone(),
            }));
        }
        let slot = cx.session_slot();
        cx.core.establish_session(
            slot,
            key.as_deref().map(Vec::as_slice),
            guest,
            encrypt,
            &resp,
        )?;
        cx.core.sessions[slot.0].credentials = self.kept.take();
        cx.core.sessions[slot.0].kerberos = matches!(self.kerberos, Some(Kerberos::Sent));
        Ok(Progress::Done(LoggedIn {
            is_guest: cx.session().is_guest,
        }))
    }
}

/// TREE_CONNECT, as the core runs it for the first operation on a share.
pub(crate) struct TreeConnect {
    share: String,
    tree: Option<TreeId>,
}

const TREE_CONNECT: usize = 0;
const VALIDATE: usize = 1;

impl TreeConnect {
    pub(crate) fn new(share: String) -> Self {
        TreeConnect { share, tree: None }
    }
}

/// Whether this connection still owes an FSCTL_VALIDATE_NEGOTIATE_INFO: MS-SMB2 3.2.5.5
/// asks it for 3.0 and 3.0.2; like smbclient we also ask on 2.1, which is where a
/// downgrade from 3.x would land (3.1.1 has preauth integrity instead). Once per
/// connection, on an authenticated session that can sign it.
fn must_validate(cx: &OpContext<'_>) -> bool {
    let n = cx.negotiated();
    matches!(
        n.dialect,
        Dialect::Smb210 | Dialect::Smb300 | Dialect::Smb302
    ) && !n.validated
        && !cx.session().is_guest
        && cx.session().signing_key.is_some()
}

impl Operation for TreeConnect {
    type Output = TreeId;

    fn label(&self) -> (&'static str, &str) {
        ("tree connect", &self.share)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<TreeId>, Fail> {
        let path = format!("\\\\{}\\{}", cx.core.config.server_name, self.share);
        if cx.is_smb1() {
            let req = smb1::Smb1Request::TreeConnect(smb1::tree::TreeConnectRequest { path });
            cx.send(TREE_CONNECT, RequestBody::Smb1(Box::new(req)));
            return Ok(Progress::Pending);
        }
        cx.send(
            TREE_CONNECT,
            RequestBody::TreeConnect(TreeConnectRequest {
                path,
                ..Default::default()
            }),
        );
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<TreeId>, Fail> {
        if tag == VALIDATE {
            return self.on_validate(cx, resp);
        }
        let status = resp.status();
        if status != NtStatus::SUCCESS {
            return Err(Fail::Op(Error::failed(
                status,
                "tree connect",
                self.share.clone(),
            )));
        }
        if cx.is_smb1() {
            // TREE_CONNECT_ANDX (MS-CIFS 2.2.4.55.2): the TID is in the header; no
            // encryption, no VALIDATE_NEGOTIATE, DFS not followed over SMB1.
            smb1::tree::TreeConnectResponse::decode(&resp.msg)?;
            let tree = TreeId(resp.header.tree_id);
            tracing::info!(share = %self.share, tree_id = tree.0, "SMB1 tree connected");
            let state = TreeState {
                encrypt: false,
                dfs_root: None,
            };
            cx.session_mut().trees.insert(tree.0, state);
            return Ok(Progress::Done(tree));
        }
        let body = TreeConnectResponse::decode(&resp.msg)?;
        let encrypt = body.share_flags & share_flags::ENCRYPT_DATA != 0;
        if encrypt && cx.negotiated().cipher.is_none() {
            return Err(Fail::Op(Error::Invalid(format!(
                "share {} requires encryption the connection lacks",
                self.share
            ))));
        }
        let tree = TreeId(resp.header.tree_id);
        tracing::info!(share = %self.share, tree_id = tree.0, encrypt, "tree connected");
        // SMB2_SHAREFLAG_DFS (and the DFS capability 3.x servers add) make a share one
        // whose paths are DFS paths.
        let dfs = body.share_flags & (share_flags::DFS | share_flags::DFS_ROOT) != 0
            || body.capabilities & tree_caps::DFS != 0;
        let dfs_root = dfs.then(|| format!("{}\\{}", cx.core.config.server_name, self.share));
        tracing::info!(share = %self.share, dfs, "share flags");
        cx.session_mut()
            .trees
            .insert(tree.0, TreeState { encrypt, dfs_root });
        if must_validate(cx) {
            let input = {
                let mut v = Vec::new();
                cx.core.validate_negotiate_info().encode(&mut v);
                v
            };
            let req = IoctlRequest {
                ctl_code: fsctl::VALIDATE_NEGOTIATE_INFO,
                file_id: FileId::ANY,
                input: input.into(),
                max_output_response: 24,
                flags: ioctl_flags::IS_FSCTL,
                ..Default::default()
            };
            self.tree = Some(tree);
            let signed = RequestOptions {
                sign: true,
                ..RequestOptions::on(tree)
            };
            cx.send_with(VALIDATE, RequestBody::Ioctl(req), signed);
            return Ok(Progress::Pending);
        }
        Ok(Progress::Done(tree))
    }
}

impl TreeConnect {
    /// The server's answer must be signed (the core verified the signature if present)
    /// and must repeat what the NEGOTIATE response said; anything else means someone
    /// tampered with the negotiation (MS-SMB2 3.2.5.14.12).
    fn on_validate(
        &mut self,
        cx: &mut OpContext<'_>,
        resp: Response,
    ) -> Result<Progress<TreeId>, Fail> {
        let tampered = |how| Fail::Fatal(CloseReason::Negotiate(how));
        if !resp.header.is_signed() {
            return Err(tampered(NegotiateFailure::ValidateUnsigned));
        }
        let status = resp.status();
        let old_server_refusal = [
            NtStatus::NOT_SUPPORTED,
            NtStatus::INVALID_DEVICE_REQUEST,
            NtStatus::FILE_CLOSED,
        ]
        .contains(&status);
        if old_server_refusal && cx.negotiated().dialect == Dialect::Smb210 {
            // A signed refusal from a 2.1 server that predates the FSCTL (Windows 7/2008 R2).
            return self.validated(cx);
        }
        if status != NtStatus::SUCCESS {
            return Err(tampered(NegotiateFailure::ValidateRefused(status)));
        }
        let out = IoctlResponse::decode(&resp.msg)?;
        let v = ValidateNegotiateInfoResponse::decode(&out.output)?;
        let n = cx.negotiated();
        if v.dialect != n.dialect as u16
            || v.capabilities != n.capabilities
            || v.guid != n.server_guid
            || v.security_mode != n.security_mode
        {
            return Err(tampered(NegotiateFailure::ValidateMismatch));
        }
        self.validated(cx)
    }

    fn validated(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<TreeId>, Fail> {
        if let Some(n) = cx.core.negotiated.as_mut() {
            n.validated = true;
        }
        let tree = self
            .tree
            .ok_or_else(|| Fail::Op(Error::Invalid("validate before tree connect".into())))?;
        Ok(Progress::Done(tree))
    }
}
