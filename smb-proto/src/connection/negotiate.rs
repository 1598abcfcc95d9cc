//! NEGOTIATE (MS-SMB2 3.2.4.2.1, 3.2.5.2): what this client offers, what the server
//! chose and whether it may, preauth integrity, and the facts FSCTL_VALIDATE_NEGOTIATE_INFO
//! confirms.

use super::*;

/// The DialectRevision of an SMB2 server's answer to an SMB1 NEGOTIATE offering
/// "SMB 2.???" (MS-SMB2 2.2.4).
const SMB2_WILDCARD: u16 = 0x02FF;

/// The most conservative parameters, standing in where no negotiation happened yet.
pub(super) static BEFORE_NEGOTIATE: Negotiated = Negotiated {
    dialect: Dialect::Smb202,
    security_mode: 0,
    capabilities: 0,
    server_guid: [0; 16],
    max_read_size: 65536,
    max_write_size: 65536,
    max_transact_size: 65536,
    validated: false,
    cipher: None,
    signing_algorithm: SigningAlgorithm::HmacSha256,
    large_mtu: false,
    smb1: None,
};

/// What negotiation settled.
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// The dialect in use.
    pub dialect: Dialect,
    /// Server SecurityMode (MS-SMB2 2.2.4).
    pub security_mode: u16,
    /// Server Capabilities.
    pub capabilities: u32,
    /// Server GUID.
    pub server_guid: [u8; 16],
    /// Largest READ the client will send (server limit ∩ config).
    pub max_read_size: u32,
    /// Largest WRITE the client will send.
    pub max_write_size: u32,
    /// Largest QUERY_INFO/QUERY_DIRECTORY/IOCTL output the server allows.
    pub max_transact_size: u32,
    /// Whether FSCTL_VALIDATE_NEGOTIATE_INFO confirmed this negotiation (3.0 and 3.0.2).
    pub validated: bool,
    /// The cipher, when the dialect can encrypt and one was agreed.
    pub cipher: Option<Cipher>,
    /// The signing algorithm (SMB2/3; an SMB1 connection signs with MD5,
    /// [`crate::crypto::smb1_signing`], and this says nothing).
    pub signing_algorithm: SigningAlgorithm,
    /// Whether multi-credit requests are allowed.
    pub large_mtu: bool,
    /// For [`Dialect::Nt1`], what the SMB1 NEGOTIATE settled (`security_mode` above is
    /// then in SMB2's terms, `capabilities` 0).
    pub smb1: Option<super::Smb1Negotiated>,
}

impl Core {
    /// The dialects this client offers, oldest first.
    pub(super) fn offered_dialects(&self) -> Vec<u16> {
        Dialect::ALL
            .into_iter()
            .filter(|d| *d >= self.config.min_dialect && *d <= self.config.max_dialect)
            .map(|d| d as u16)
            .collect()
    }

    /// Capabilities the client announces (MS-SMB2 2.2.3).
    pub(super) fn client_capabilities(&self) -> u32 {
        use crate::wire::negotiate::capabilities::{DFS, ENCRYPTION, LARGE_MTU, MULTI_CHANNEL};
        let multichannel = if self.config.multichannel {
            MULTI_CHANNEL
        } else {
            0
        };
        DFS | LARGE_MTU | ENCRYPTION | multichannel
    }

    pub(super) fn client_security_mode(&self) -> u16 {
        use crate::wire::negotiate::security_mode::{SIGNING_ENABLED, SIGNING_REQUIRED};
        match self.config.signing {
            crate::config::SigningPolicy::Required => SIGNING_ENABLED | SIGNING_REQUIRED,
            _ => SIGNING_ENABLED,
        }
    }

    pub(super) fn send_negotiate(&mut self) {
        let offers_311 = self.config.max_dialect >= Dialect::Smb311;
        let salt = self.rng.array::<32>();
        let (ciphers, signing_algorithms) = if offers_311 {
            (
                self.config.ciphers.iter().map(|c| c.id()).collect(),
                self.config
                    .signing_algorithms
                    .iter()
                    .map(|a| a.id())
                    .collect(),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let req = NegotiateRequest {
            dialects: self.offered_dialects(),
            security_mode: self.client_security_mode(),
            capabilities: self.client_capabilities(),
            client_guid: self.client_guid,
            preauth_salt: offers_311.then(|| salt.to_vec()),
            ciphers,
            signing_algorithms,
            netname: None,
        };
        self.transmit(Group::own(RequestBody::Negotiate(req)));
    }

    /// FSCTL_VALIDATE_NEGOTIATE_INFO input (MS-SMB2 2.2.31.4): what this client sent in
    /// its NEGOTIATE, for the server to confirm over a signed channel.
    pub(crate) fn validate_negotiate_info(&self) -> ValidateNegotiateInfoRequest {
        ValidateNegotiateInfoRequest {
            capabilities: self.client_capabilities(),
            guid: self.client_guid,
            security_mode: self.client_security_mode(),
            dialects: self.offered_dialects(),
        }
    }

    pub(super) fn on_negotiate(&mut self, msg: &Bytes) -> Result<(), CloseReason> {
        let header = Header::decode(msg)?;
        if NtStatus(header.status) != NtStatus::SUCCESS {
            return Err(NegotiateFailure::Refused(NtStatus(header.status)).into());
        }
        let resp = NegotiateResponse::decode(msg)?;
        if std::mem::take(&mut self.smb1_negprot) && resp.dialect_revision == SMB2_WILDCARD {
            // The server speaks SMB 2.1 or later and answered the SMB1 multi-protocol
            // NEGOTIATE with 0x02FF: the real negotiation follows, an SMB2 NEGOTIATE with
            // MessageId 1 (MS-SMB2 3.2.4.2.2.1, 3.2.5.2). The SMB1 one is never hashed.
            tracing::debug!("SMB1 NEGOTIATE answered with SMB 2.???: negotiating SMB2");
            // Over NetBIOS a 3.1.1 client must then reconnect over direct TCP (MS-SMB2
            // 3.2.5.2); offering at most 3.0.2 instead keeps the connection.
            if matches!(self.config.transport, Transport::NetBios { .. }) {
                self.config.max_dialect = self.config.max_dialect.min(Dialect::Smb302);
            }
            self.send_negotiate();
            return Ok(());
        }
        let dialect = Dialect::from_u16(resp.dialect_revision)
            .filter(|d| *d >= self.config.min_dialect && *d <= self.config.max_dialect)
            .ok_or(NegotiateFailure::Dialect(resp.dialect_revision))?;
        let (cipher, signing_algorithm) = resp
            .algorithms(dialect)
            .map_err(NegotiateFailure::Algorithm)?;
        // In 3.1.1 the server picks from what we offered; anything else is a tampered or
        // broken negotiation (MS-SMB2 3.2.5.2).
        if dialect == Dialect::Smb311 {
            if resp.preauth_hash_algorithm != Some(crate::wire::negotiate::hash_algorithm::SHA_512)
            {
                return Err(NegotiateFailure::NoPreauthIntegrity.into());
            }
            if let Some(c) = cipher.filter(|c| !self.config.ciphers.contains(c)) {
                return Err(NegotiateFailure::CipherNotOffered(c).into());
            }
            let offered_signing = resp.signing_algorithm.is_none()
                || self.config.signing_algorithms.contains(&signing_algorithm);
            if !offered_signing {
                return Err(NegotiateFailure::SigningNotOffered(signing_algorithm).into());
            }
        }
        if dialect == Dialect::Smb311 {
            let req = std::mem::take(&mut self.negotiate_request);
            self.preauth.update(&req);
            self.preauth.update(msg);
        }
        let large_mtu = dialect > Dialect::Smb202
            && resp.capabilities & crate::wire::negotiate::capabilities::LARGE_MTU != 0;
        // The 24-bit frame length caps a frame below 16 MiB: keep READ/WRITE at 8 MiB.
        let io_cap = if large_mtu {
            self.config.max_io_size.min(8 * 1024 * 1024)
        } else {
            65536
        };
        let negotiated = Negotiated {
            dialect,
            security_mode: resp.security_mode,
            capabilities: resp.capabilities,
            server_guid: resp.server_guid,
            max_read_size: resp.max_read_size.min(io_cap),
            max_write_size: resp.max_write_size.min(io_cap),
            max_transact_size: resp.max_transact_size.min(io_cap.max(65536)),
            validated: false,
            cipher,
            signing_algorithm,
            large_mtu,
            smb1: None,
        };
        self.check_channel(&negotiated)?;
        self.negotiated = Some(negotiated);
        // The SPNEGO mechanisms the server takes (MS-SMB2 allows none listed).
        self.server_mechs =
            crate::auth::spnego::parse_neg_token_init(&resp.security_buffer).unwrap_or_default();
        for session in &mut self.sessions {
            session.preauth = self.preauth.clone();
        }
        self.state = State::Ready;
        tracing::info!(%dialect, ?cipher, %signing_algorithm, "negotiated");
        Ok(())
    }

    /// Whether the server insists on signing (MS-SMB2 2.2.4 SecurityMode).
    pub(crate) fn server_requires_signing(&self) -> bool {
        self.negotiated.as_ref().is_some_and(|n| {
            n.security_mode & crate::wire::negotiate::security_mode::SIGNING_REQUIRED != 0
        })
    }
}
