//! NTLMSSP (MS-NLMP) and SPNEGO (RFC 4178): the first byte picks the parser (0:
//! CHALLENGE, 1: AUTHENTICATE, 2: NegTokenInit, 3: NegTokenResp). Parsing never panics.
//! The client's own paths run too: an NTLM client answers a fuzzed CHALLENGE, SPNEGO
//! takes fuzzed server tokens in each step, and the capture dissector's key recovery
//! takes a fuzzed AUTHENTICATE against a fuzzed CHALLENGE.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smb_proto::auth::ntlm::{self, AuthenticateMessage, ChallengeMessage, Credentials, NtlmClient};
use smb_proto::auth::spnego::{self, Authenticator, SpnegoNtlm};

fn client() -> NtlmClient {
    let creds = Credentials::password("WORKGROUP", "testuser", "Passw0rd!");
    NtlmClient::new(creds, "FUZZ", [1; 8], [2; 16], 0x01d0_0000_0000_0000)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, buf)) = data.split_first() else {
        return;
    };
    match selector % 4 {
        0 => {
            let _ = ChallengeMessage::parse(buf);
            let mut c = client();
            let _ = c.negotiate_message();
            if c.authenticate_message(buf).is_ok() {
                assert!(c.session_key().is_some());
                let _ = c.mech_list_mic(b"\x30\x0c");
            }
        }
        1 => {
            let _ = AuthenticateMessage::parse(buf);
            // The input's halves as CHALLENGE and AUTHENTICATE.
            let (challenge, authenticate) = buf.split_at(buf.len() / 2);
            let creds = Credentials::password("WORKGROUP", "testuser", "Passw0rd!");
            let _ = ntlm::session_key_from_authenticate(&creds, challenge, authenticate);
        }
        2 => drop(spnego::parse_neg_token_init(buf)),
        _ => {
            let _ = spnego::parse_neg_token_resp(buf);
            // The server's tokens in each step: a 0xfe byte ends one.
            let mut s = SpnegoNtlm::new(client());
            let _ = s.initial_token();
            for token in buf.split(|b| *b == 0xfe).take(3) {
                if s.next_token(token).is_err() {
                    break;
                }
            }
            let _ = s.session_key();
        }
    }
});
