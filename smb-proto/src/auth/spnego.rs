//! SPNEGO (RFC 4178, MS-SPNG) around NTLMSSP, with a minimal DER reader and writer.
//!
//! Only the handful of constructs SMB's session setup uses are supported. The reader
//! is bounded: a TLV's length must fit inside its parent, indefinite and over-long
//! length forms are rejected, and nothing is allocated beyond the input's size.

use super::ntlm::{AuthError, NtlmClient};
use crate::wire::codec::DecodeError;

/// DER content octets of 1.3.6.1.5.5.2, the SPNEGO mechanism (RFC 4178 §4.1).
pub const OID_SPNEGO: &[u8] = &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x02];
/// DER content octets of 1.3.6.1.4.1.311.2.2.10, NTLMSSP (MS-NLMP 1.9).
pub const OID_NTLMSSP: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0A];

/// NegState accept-completed (RFC 4178 §4.2.2).
pub const NEG_STATE_ACCEPT_COMPLETED: u8 = 0;
/// NegState accept-incomplete.
pub const NEG_STATE_ACCEPT_INCOMPLETE: u8 = 1;
/// NegState reject.
pub const NEG_STATE_REJECT: u8 = 2;

const TAG_SEQUENCE: u8 = 0x30;
const TAG_OID: u8 = 0x06;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_ENUMERATED: u8 = 0x0A;
/// [APPLICATION 0], the GSS-API InitialContextToken (RFC 2743 §3.1).
const TAG_APPLICATION_0: u8 = 0x60;
/// Context-specific constructed tags [0]..[3].
const TAG_CTX: [u8; 4] = [0xA0, 0xA1, 0xA2, 0xA3];
/// DER lengths beyond 4 octets cannot describe anything in an SMB2 security buffer.
const MAX_LENGTH_OCTETS: usize = 4;

/// A cursor over DER TLVs.
struct Der<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Der<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Der { buf, pos: 0 }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError::Truncated {
            what,
            offset: self.pos,
            need: 1,
            have: 0,
        })?;
        self.pos += 1;
        Ok(b)
    }

    /// The next TLV: its tag and its content octets.
    fn tlv(&mut self) -> Result<(u8, &'a [u8]), DecodeError> {
        let tag = self.byte("DER tag")?;
        if tag & 0x1F == 0x1F {
            return Err(DecodeError::invalid("DER high tag number", tag));
        }
        let first = self.byte("DER length")?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7F);
            // 0x80 is BER's indefinite form, which DER forbids.
            if n == 0 || n > MAX_LENGTH_OCTETS {
                return Err(DecodeError::invalid("DER length form", first));
            }
            let mut len = 0usize;
            for _ in 0..n {
                len = (len << 8) | usize::from(self.byte("DER length")?);
            }
            len
        };
        let have = self.buf.len() - self.pos;
        if len > have {
            return Err(DecodeError::Truncated {
                what: "DER value",
                offset: self.pos,
                need: len,
                have,
            });
        }
        let content = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok((tag, content))
    }

    /// The next TLV, which must have tag `expected`.
    fn expect_tag(&mut self, expected: u8, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let (tag, content) = self.tlv()?;
        if tag != expected {
            return Err(DecodeError::invalid(what, tag));
        }
        Ok(content)
    }
}

/// Appends a DER TLV with a minimal-length encoding.
fn put_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    put_tlv(&mut out, tag, content);
    out
}

/// The client's first token: a GSS-API InitialContextToken holding a NegTokenInit that
/// offers only NTLMSSP with `mech_token` (the NTLM NEGOTIATE) as optimistic token.
///
/// Also returns the DER of the mechTypes list, which the mechListMIC covers
/// (RFC 4178 §5).
pub fn neg_token_init(mech_token: &[u8]) -> (Vec<u8>, Vec<u8>) {
    neg_token_init_for(&[OID_NTLMSSP], mech_token)
}

/// A NegTokenInit listing `mechs` (OID content octets, preferred first) whose optimistic
/// `mech_token` is for the first of them; also returns the DER mechTypes (for a
/// mechListMIC).
pub fn neg_token_init_for(mechs: &[&[u8]], mech_token: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut oids = Vec::new();
    for m in mechs {
        put_tlv(&mut oids, TAG_OID, m);
    }
    let mech_types = tlv(TAG_SEQUENCE, &oids);
    let mut init = tlv(TAG_CTX[0], &mech_types);
    put_tlv(&mut init, TAG_CTX[2], &tlv(TAG_OCTET_STRING, mech_token));
    let mut body = tlv(TAG_OID, OID_SPNEGO);
    put_tlv(&mut body, TAG_CTX[0], &tlv(TAG_SEQUENCE, &init));
    (tlv(TAG_APPLICATION_0, &body), mech_types)
}

/// The mechanism OIDs (DER content octets) of a NegTokenInit — in SMB, the server's
/// negTokenInit2 in the NEGOTIATE response (MS-SPNG 2.2.1). Other fields, such as
/// Windows' negHints, are skipped.
pub fn parse_neg_token_init(buf: &[u8]) -> Result<Vec<Vec<u8>>, AuthError> {
    let mut outer = Der::new(buf);
    let mut gss = Der::new(outer.expect_tag(TAG_APPLICATION_0, "GSS-API token tag")?);
    let oid = gss.expect_tag(TAG_OID, "GSS-API mechanism tag")?;
    if oid != OID_SPNEGO {
        return Err(AuthError::UnsupportedMech);
    }
    let choice = gss.expect_tag(TAG_CTX[0], "negTokenInit tag")?;
    let mut init = Der::new(Der::new(choice).expect_tag(TAG_SEQUENCE, "NegTokenInit")?);
    while !init.is_empty() {
        let (tag, content) = init.tlv()?;
        if tag == TAG_CTX[0] {
            let mut list = Der::new(Der::new(content).expect_tag(TAG_SEQUENCE, "MechTypeList")?);
            let mut mechs = Vec::new();
            while !list.is_empty() {
                mechs.push(list.expect_tag(TAG_OID, "MechType")?.to_vec());
            }
            return Ok(mechs);
        }
    }
    Err(DecodeError::invalid("NegTokenInit without mechTypes", 0u8).into())
}

/// A NegTokenResp (RFC 4178 §4.2.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NegTokenResp {
    /// negState: accept-completed (0), accept-incomplete (1), reject (2), request-mic (3).
    pub neg_state: Option<u8>,
    /// supportedMech (DER content octets of the OID).
    pub supported_mech: Option<Vec<u8>>,
    /// responseToken: the mechanism's token (an NTLMSSP message).
    pub response_token: Option<Vec<u8>>,
    /// mechListMIC.
    pub mech_list_mic: Option<Vec<u8>>,
}

/// Parses a NegTokenResp (choice `[1]` of NegotiationToken, RFC 4178 §4.2).
pub fn parse_neg_token_resp(buf: &[u8]) -> Result<NegTokenResp, AuthError> {
    let choice = Der::new(buf).expect_tag(TAG_CTX[1], "negTokenResp tag")?;
    let mut seq = Der::new(Der::new(choice).expect_tag(TAG_SEQUENCE, "NegTokenResp")?);
    let mut resp = NegTokenResp::default();
    while !seq.is_empty() {
        let (tag, content) = seq.tlv()?;
        let mut inner = Der::new(content);
        match tag {
            0xA0 => {
                let e = inner.expect_tag(TAG_ENUMERATED, "negState")?;
                let [state] = e else {
                    return Err(DecodeError::invalid("negState length", e.len() as u64).into());
                };
                resp.neg_state = Some(*state);
            }
            0xA1 => {
                resp.supported_mech = Some(inner.expect_tag(TAG_OID, "supportedMech")?.to_vec())
            }
            0xA2 => {
                let token = inner.expect_tag(TAG_OCTET_STRING, "responseToken")?;
                resp.response_token = Some(token.to_vec());
            }
            0xA3 => {
                let mic = inner.expect_tag(TAG_OCTET_STRING, "mechListMIC")?;
                resp.mech_list_mic = Some(mic.to_vec());
            }
            // Unknown fields are skipped: RFC 4178 NegTokenResp is extensible.
            _ => {}
        }
    }
    Ok(resp)
}

/// The client's NegTokenResp carrying `response_token` (the NTLM AUTHENTICATE) and,
/// when the mechanism has a key, the `mech_list_mic`. negState is omitted, as RFC 4178
/// allows for the initiator and as Windows and Samba clients do.
pub fn neg_token_resp(response_token: &[u8], mech_list_mic: Option<&[u8]>) -> Vec<u8> {
    let mut seq = tlv(TAG_CTX[2], &tlv(TAG_OCTET_STRING, response_token));
    if let Some(mic) = mech_list_mic {
        put_tlv(&mut seq, TAG_CTX[3], &tlv(TAG_OCTET_STRING, mic));
    }
    tlv(TAG_CTX[1], &tlv(TAG_SEQUENCE, &seq))
}

/// A GSS-API style security mechanism driving SMB2 SESSION_SETUP (MS-SMB2 3.2.5.3).
/// NTLM through SPNEGO implements it; Kerberos can later.
pub trait Authenticator {
    /// The security buffer of the first SESSION_SETUP request.
    fn initial_token(&mut self) -> Result<Vec<u8>, AuthError>;
    /// Consumes the server's security buffer; returns the next request's buffer, or
    /// `None` once authentication is complete on the client's side.
    fn next_token(&mut self, server_token: &[u8]) -> Result<Option<Vec<u8>>, AuthError>;
    /// The GSS session key from which MS-SMB2 3.2.5.3.1 derives the SMB keys, whole:
    /// 16 bytes for NTLM, the Kerberos subkey's length (32 bytes for AES-256) for
    /// Kerberos — AES-256 ciphers take all of it (Session.FullSessionKey), the rest its
    /// first 16 bytes. Available once [`next_token`](Self::next_token) has returned `None`
    /// for the server's final token — so the final SESSION_SETUP response's signature can
    /// then be checked — and `None` for anonymous authentication.
    fn session_key(&self) -> Option<SessionKey>;
}

/// A GSS session key, wiped from memory when dropped.
pub type SessionKey = zeroize::Zeroizing<Vec<u8>>;

/// Where a [`SpnegoNtlm`] exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    /// NegTokenInit with the NTLM NEGOTIATE sent.
    SentNegotiate,
    /// NegTokenResp with the NTLM AUTHENTICATE sent.
    SentAuthenticate,
    Done,
}

/// NTLMSSP inside SPNEGO, with mechListMIC generation and verification (MS-SPNG 3.3.5).
#[derive(Debug)]
pub struct SpnegoNtlm {
    ntlm: NtlmClient,
    mech_types: Vec<u8>,
    step: Step,
}

impl SpnegoNtlm {
    /// Wraps an NTLM client that has not started yet.
    pub fn new(ntlm: NtlmClient) -> Self {
        SpnegoNtlm {
            ntlm,
            mech_types: Vec::new(),
            step: Step::Start,
        }
    }
}

impl Authenticator for SpnegoNtlm {
    fn initial_token(&mut self) -> Result<Vec<u8>, AuthError> {
        if self.step != Step::Start {
            return Err(AuthError::State("initial token requested twice"));
        }
        let (token, mech_types) = neg_token_init(&self.ntlm.negotiate_message());
        self.mech_types = mech_types;
        self.step = Step::SentNegotiate;
        Ok(token)
    }

    fn next_token(&mut self, server_token: &[u8]) -> Result<Option<Vec<u8>>, AuthError> {
        match self.step {
            Step::SentNegotiate => {
                let resp = parse_neg_token_resp(server_token)?;
                check_neg_state(resp.neg_state, NEG_STATE_ACCEPT_INCOMPLETE)?;
                if resp
                    .supported_mech
                    .as_deref()
                    .is_some_and(|m| m != OID_NTLMSSP)
                {
                    return Err(AuthError::UnsupportedMech);
                }
                let challenge = resp
                    .response_token
                    .ok_or(DecodeError::invalid("negTokenResp without CHALLENGE", 0u8))?;
                let authenticate = self.ntlm.authenticate_message(&challenge)?;
                // MS-SPNG 3.1.5.1: with a session key the client always sends mechListMIC
                // (Samba's server requires it once the NTLM MIC is in use); anonymous
                // NTLM has no key to compute one.
                let mic = match self.ntlm.session_key() {
                    Some(_) => Some(self.ntlm.mech_list_mic(&self.mech_types)?),
                    None => None,
                };
                self.step = Step::SentAuthenticate;
                Ok(Some(neg_token_resp(
                    &authenticate,
                    mic.as_ref().map(|m| &m[..]),
                )))
            }
            Step::SentAuthenticate => {
                // Some servers end the exchange with an empty security buffer.
                if !server_token.is_empty() {
                    let resp = parse_neg_token_resp(server_token)?;
                    check_neg_state(resp.neg_state, NEG_STATE_ACCEPT_COMPLETED)?;
                    // We offer a single mechanism, so the negotiation cannot have been
                    // downgraded and RFC 4178 §5 makes the acceptor's MIC optional; when
                    // present (Windows and Samba send it) it must verify.
                    if let Some(mic) = resp.mech_list_mic {
                        if self.ntlm.session_key().is_some() {
                            self.ntlm.verify_mech_list_mic(&self.mech_types, &mic)?;
                        }
                    }
                }
                self.step = Step::Done;
                Ok(None)
            }
            Step::Start => Err(AuthError::State("server token before the initial token")),
            Step::Done => Err(AuthError::State("server token after completion")),
        }
    }

    fn session_key(&self) -> Option<SessionKey> {
        match self.step {
            Step::Done => self.ntlm.session_key().map(|k| SessionKey::new(k.to_vec())),
            _ => None,
        }
    }
}

/// Accepts `expected` (or an absent negState), maps reject to [`AuthError::Rejected`].
fn check_neg_state(state: Option<u8>, expected: u8) -> Result<(), AuthError> {
    match state {
        None => Ok(()),
        Some(s) if s == expected => Ok(()),
        Some(NEG_STATE_REJECT) => Err(AuthError::Rejected),
        Some(s) => Err(DecodeError::invalid("negState", s).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    /// The final negTokenResp of smb311_default.pcapng (Samba 4.17): accept-completed
    /// and the server's mechListMIC.
    const SAMBA_FINAL: &str = "a11b3019a0030a0100a312041001000000396ef5acb0da224500000000";

    #[test]
    fn parses_samba_final_response() {
        let r = parse_neg_token_resp(&hex(SAMBA_FINAL)).unwrap();
        assert_eq!(r.neg_state, Some(NEG_STATE_ACCEPT_COMPLETED));
        assert_eq!(r.supported_mech, None);
        assert_eq!(r.response_token, None);
        assert_eq!(
            r.mech_list_mic.unwrap(),
            hex("01000000396ef5acb0da224500000000")
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let full = hex(SAMBA_FINAL);
        for n in 0..full.len() {
            assert!(parse_neg_token_resp(&full[..n]).is_err(), "{n}");
        }
        let (init, _) = neg_token_init(b"NTLMSSP\0");
        for n in 0..init.len() {
            assert!(parse_neg_token_init(&init[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn huge_and_malformed_lengths_are_rejected() {
        // Length 0xFFFFFFFF, a 5-octet length, the indefinite form, a high tag number.
        for bad in [
            &[0xA1, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x30][..],
            &[0xA1, 0x85, 0, 0, 0, 0, 1, 0x30],
            &[0xA1, 0x80, 0x30, 0x00, 0x00, 0x00],
            &[0xBF, 0x01, 0x00],
            &[0xA1, 0x82, 0x01],
        ] {
            assert!(parse_neg_token_resp(bad).is_err(), "{bad:02x?}");
            assert!(parse_neg_token_init(bad).is_err(), "{bad:02x?}");
        }
        // An inner length that overruns its parent but not the buffer.
        let bad = [0xA1, 0x04, 0x30, 0x05, 0xA0, 0x03, 0x0A, 0x01, 0x00];
        assert!(parse_neg_token_resp(&bad).is_err());
        // A one-octet negState parses; a two-octet one is an error.
        let good = [0xA1, 0x07, 0x30, 0x05, 0xA0, 0x03, 0x0A, 0x01, 0x00];
        assert_eq!(parse_neg_token_resp(&good).unwrap().neg_state, Some(0));
        let bad = [0xA1, 0x08, 0x30, 0x06, 0xA0, 0x04, 0x0A, 0x02, 0x00, 0x00];
        assert!(parse_neg_token_resp(&bad).is_err());
    }

    #[test]
    fn long_form_lengths_round_trip() {
        let token = vec![0x4E; 300];
        let resp = neg_token_resp(&token, Some(&[1; 16]));
        // 300 needs the two-octet long form (0x82 0x01 0x2C).
        assert_eq!(&resp[..2], &[0xA1, 0x82]);
        let r = parse_neg_token_resp(&resp).unwrap();
        assert_eq!(r.response_token.unwrap(), token);
        assert_eq!(r.mech_list_mic.unwrap(), vec![1; 16]);
        let (init, mech_types) = neg_token_init(&token);
        assert_eq!(
            parse_neg_token_init(&init).unwrap(),
            vec![OID_NTLMSSP.to_vec()]
        );
        assert_eq!(mech_types, hex("300c060a2b06010401823702020a"));
    }

    #[test]
    fn rejects_other_mechanisms_and_reject_state() {
        let mut t = Vec::new();
        put_tlv(&mut t, TAG_OID, &[0x2A, 0x03]);
        let gss = tlv(TAG_APPLICATION_0, &t);
        assert_eq!(parse_neg_token_init(&gss), Err(AuthError::UnsupportedMech));
        assert_eq!(check_neg_state(Some(2), 1), Err(AuthError::Rejected));
        assert!(check_neg_state(Some(3), 1).is_err());
    }
}
