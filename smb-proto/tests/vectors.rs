//! Every entry of `tests/data/published.json` (MS-NLMP 4.2, the Open Specifications
//! blog posts on SMB 3.x keys and encryption, RFC 1320) checked against this crate.
//! One test per entry, named after it.

mod common;

use bytes::BytesMut;
use common::{hex, le32, security_buffer};
use serde_json::Value;

use smb_proto::auth::ntlm::{
    compute_mic, desl, flags, lmowfv1, nt_hash, ntowfv2, rc4k, seal_key,
    session_key_from_authenticate, sign_key, AuthenticateMessage, ChallengeMessage, Credentials,
    Direction, NtlmClient, SessionSecurity,
};
use smb_proto::auth::spnego::{
    neg_token_init, parse_neg_token_init, parse_neg_token_resp, OID_NTLMSSP,
};
use smb_proto::crypto::encryption::{
    decrypt_in_place, encrypt_message, transform_session_id, Cipher, CryptoError,
};
use smb_proto::crypto::kdf::derive_session_keys;
use smb_proto::crypto::preauth::PreauthHash;
use smb_proto::crypto::signing::{sign, verify, SigningAlgorithm};

const PUBLISHED: &str = include_str!("data/published.json");

fn entry(name: &str) -> Value {
    let all: Vec<Value> = serde_json::from_str(PUBLISHED).expect("published.json");
    all.into_iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry {name}"))
}

fn text<'a>(e: &'a Value, section: &str, key: &str) -> &'a str {
    e[section][key]
        .as_str()
        .unwrap_or_else(|| panic!("{section}.{key} missing"))
}

fn input(e: &Value, key: &str) -> Vec<u8> {
    hex(text(e, "inputs", key))
}

fn expected(e: &Value, key: &str) -> Vec<u8> {
    hex(text(e, "expected", key))
}

fn arr<const N: usize>(v: Vec<u8>) -> [u8; N] {
    v.try_into().expect("length")
}

/// Parses "0x…" numbers in the inputs (session ids, dialects).
fn number(e: &Value, key: &str) -> u64 {
    let s = text(e, "inputs", key);
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex number")
}

const ENTRIES: [&str; 12] = [
    "md4_rfc1320",
    "ms-nlmp-4.2.2-ntlmv1",
    "ms-nlmp-4.2.3-ntlmv1-extended-session-security",
    "ms-nlmp-4.2.4-ntlmv2",
    "msblog-ntlmv2-sessionkey-and-mic-smb311",
    "smb30-kdf-multichannel",
    "smb311-preauth-kdf-signing-master-channel",
    "smb311-session-binding-second-channel",
    "smb30-encrypt-aes128ccm",
    "smb30-decrypt-aes128ccm",
    "smb311-encrypt-aes128gcm",
    "smb311-decrypt-aes128gcm",
];

#[test]
fn every_published_entry_has_a_test() {
    let all: Vec<Value> = serde_json::from_str(PUBLISHED).unwrap();
    let mut names: Vec<&str> = all.iter().map(|e| e["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    let mut covered = ENTRIES.to_vec();
    covered.sort_unstable();
    assert_eq!(names, covered);
}

#[test]
fn md4_rfc1320() {
    use md4::{Digest, Md4};
    let e = entry("md4_rfc1320");
    // nt_hash is MD4 over UTF-16LE, so the ASCII vector checks the MD4 we build on, and
    // the empty string (also empty in UTF-16) checks nt_hash itself.
    let msg = text(&e, "inputs", "message_ascii");
    assert_eq!(Md4::digest(msg.as_bytes()).to_vec(), expected(&e, "md4"));
    assert_eq!(
        nt_hash("").to_vec(),
        hex("31D6CFE0D16AE931B73C59D7E0C089C0")
    );
}

/// The CHALLENGE message of MS-NLMP 4.2.2.3 with `flags`: TargetName "Server", no
/// TargetInfo (NTLMv1 has no use for it).
fn v1_challenge(e: &Value, flags: u32) -> Vec<u8> {
    let name = smb_proto::wire::codec::to_utf16le(text(e, "inputs", "server_name"));
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&2u32.to_le_bytes());
    m.extend_from_slice(&(name.len() as u16).to_le_bytes());
    m.extend_from_slice(&(name.len() as u16).to_le_bytes());
    m.extend_from_slice(&56u32.to_le_bytes());
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&input(e, "server_challenge"));
    m.extend_from_slice(&[0; 16]); // Reserved, empty TargetInfoFields
    m.extend_from_slice(&hex("060070170000000F"));
    m.extend_from_slice(&name);
    m
}

/// Runs our NTLMv1 client over the entry's inputs: the AUTHENTICATE message it builds
/// for the entry's CHALLENGE, and the client (for its session key).
fn v1_exchange(e: &Value) -> (Vec<u8>, Vec<u8>, NtlmClient) {
    let s = |k| text(e, "inputs", k);
    let flags = u32::from_str_radix(s("negotiate_flags"), 16).unwrap();
    let creds = Credentials::password(s("domain"), s("user"), s("password")).with_ntlm_v1();
    let challenge = v1_challenge(e, flags);
    let mut client = NtlmClient::new(
        creds,
        s("workstation"),
        arr(input(e, "client_challenge")),
        arr(input(e, "random_session_key")),
        0,
    );
    client.negotiate_message();
    let auth = client.authenticate_message(&challenge).unwrap();
    (challenge, auth, client)
}

/// MS-NLMP 4.2.2: NTLMv1 without extended session security, with key exchange.
#[test]
fn ms_nlmp_4_2_2_ntlmv1() {
    use md4::{Digest, Md4};
    let e = entry("ms-nlmp-4.2.2-ntlmv1");
    let s = |k| text(&e, "inputs", k);
    let server_challenge: [u8; 8] = arr(input(&e, "server_challenge"));
    let lm_hash = lmowfv1(s("password")).unwrap();
    assert_eq!(lm_hash.to_vec(), expected(&e, "LMOWFv1"));
    let nt = nt_hash(s("password"));
    assert_eq!(nt.to_vec(), expected(&e, "NTOWFv1_nt_hash"));
    assert_eq!(
        desl(&lm_hash, &server_challenge).to_vec(),
        expected(&e, "LmChallengeResponse")
    );
    assert_eq!(
        desl(&nt, &server_challenge).to_vec(),
        expected(&e, "NtChallengeResponse")
    );
    // SessionBaseKey = MD4(NTOWFv1); without LM_KEY or ESS, KeyExchangeKey = SessionBaseKey.
    assert_eq!(Md4::digest(nt).to_vec(), expected(&e, "SessionBaseKey"));
    assert_eq!(
        expected(&e, "KeyExchangeKey"),
        expected(&e, "SessionBaseKey")
    );
    let kxkey = arr(expected(&e, "KeyExchangeKey"));
    let random = arr(input(&e, "random_session_key"));
    assert_eq!(
        rc4k(&kxkey, &random).to_vec(),
        expected(&e, "EncryptedRandomSessionKey")
    );

    // The client reproduces the NT response and, through its KeyExchangeKey, the
    // encrypted session key; its LM field repeats the NT response (NoLMResponseNTLMv1).
    let (challenge, auth, client) = v1_exchange(&e);
    let parsed = AuthenticateMessage::parse(&auth).unwrap();
    assert_eq!(parsed.nt_response, &expected(&e, "NtChallengeResponse")[..]);
    assert_eq!(parsed.lm_response, parsed.nt_response);
    assert_eq!(
        parsed.encrypted_random_session_key,
        &expected(&e, "EncryptedRandomSessionKey")[..]
    );
    let neg = parsed.negotiate_flags;
    assert_eq!(neg & flags::NEGOTIATE_EXTENDED_SESSIONSECURITY, 0);
    assert_eq!(neg & flags::NEGOTIATE_TARGET_INFO, 0);
    // The payload (domain first) starts right after Version: there is no MIC field.
    assert_eq!(le32(&auth, 32), 72);
    assert_eq!(client.session_key(), Some(random));
    let creds = Credentials::password(s("domain"), s("user"), s("password"));
    assert_eq!(
        session_key_from_authenticate(&creds, &challenge, &auth),
        Ok(random)
    );
}

/// MS-NLMP 4.2.3: NTLMv1 with extended session security (the "NTLM2 session response"),
/// without key exchange, so the exported session key is the KeyExchangeKey.
#[test]
fn ms_nlmp_4_2_3_ntlmv1_extended_session_security() {
    let e = entry("ms-nlmp-4.2.3-ntlmv1-extended-session-security");
    let s = |k| text(&e, "inputs", k);
    let (challenge, auth, client) = v1_exchange(&e);
    let parsed = AuthenticateMessage::parse(&auth).unwrap();
    assert_eq!(parsed.lm_response, &expected(&e, "LmChallengeResponse")[..]);
    assert_eq!(parsed.nt_response, &expected(&e, "NtChallengeResponse")[..]);
    assert!(parsed.encrypted_random_session_key.is_empty());
    let neg = parsed.negotiate_flags;
    assert_ne!(neg & flags::NEGOTIATE_EXTENDED_SESSIONSECURITY, 0);
    assert_eq!(neg & (flags::NEGOTIATE_KEY_EXCH | flags::NEGOTIATE_128), 0);

    let kxkey: [u8; 16] = arr(expected(&e, "KeyExchangeKey"));
    assert_eq!(client.session_key(), Some(kxkey));
    let creds = Credentials::password(s("domain"), s("user"), s("password"));
    assert_eq!(
        session_key_from_authenticate(&creds, &challenge, &auth),
        Ok(kxkey)
    );
    let wrong = Credentials::password(s("domain"), s("user"), "wrong");
    assert_eq!(
        session_key_from_authenticate(&wrong, &challenge, &auth),
        Err(smb_proto::auth::ntlm::AuthError::BadResponse)
    );

    assert_eq!(
        sign_key(&kxkey, Direction::ClientToServer).to_vec(),
        expected(&e, "client_sign_key_from_KXKEY_in_sipe_test")
    );
    // The entry's flags and the ones our client echoes agree on 56-bit, not 128-bit.
    let entry_flags = u32::from_str_radix(s("negotiate_flags"), 16).unwrap();
    for f in [entry_flags, neg] {
        assert_eq!(
            seal_key(&kxkey, f, Direction::ClientToServer).to_vec(),
            expected(&e, "client_seal_key_in_sipe_test")
        );
    }
}

#[test]
fn ms_nlmp_4_2_4_ntlmv2() {
    let e = entry("ms-nlmp-4.2.4-ntlmv2");
    let s = |k| text(&e, "inputs", k);
    let creds = Credentials::password(s("domain"), s("user"), s("password"));
    let challenge = input(&e, "challenge_message");

    let ch = ChallengeMessage::parse(&challenge).unwrap();
    assert_eq!(ch.server_challenge.to_vec(), input(&e, "server_challenge"));
    assert_eq!(ch.target_info, input(&e, "target_info"));
    assert_eq!(ch.negotiate_flags, 0xE28A8233);
    assert_eq!(ch.timestamp, None);

    let response_key = ntowfv2(&nt_hash(s("password")), s("user"), s("domain"));
    assert_eq!(response_key.to_vec(), expected(&e, "NTOWFv2_ResponseKeyNT"));

    // The builder reproduces the whole AUTHENTICATE message from the same inputs.
    let mut client = NtlmClient::new(
        creds.clone(),
        s("workstation"),
        arr(input(&e, "client_challenge")),
        arr(input(&e, "random_session_key")),
        u64::from_le_bytes(arr(input(&e, "time"))),
    );
    client.set_version(hex("0501280A0000000F").try_into().unwrap());
    client.negotiate_message();
    let auth = client.authenticate_message(&challenge).unwrap();
    assert_eq!(auth, expected(&e, "authenticate_message"));
    assert_eq!(
        client.session_key().unwrap().to_vec(),
        expected(&e, "ExportedSessionKey")
    );

    let parsed = AuthenticateMessage::parse(&auth).unwrap();
    assert_eq!(
        parsed.negotiate_flags,
        u32::from_str_radix(text(&e, "expected", "authenticate_negotiate_flags"), 16).unwrap()
    );
    assert_eq!(parsed.nt_response[..16], expected(&e, "NTProofStr")[..]);
    assert_eq!(parsed.nt_response[16..], expected(&e, "temp_blob")[..]);
    assert_eq!(parsed.lm_response, &expected(&e, "LMv2_response")[..]);
    assert_eq!(
        parsed.encrypted_random_session_key,
        &expected(&e, "EncryptedRandomSessionKey")[..]
    );
    let base = arr(expected(&e, "SessionBaseKey"));
    assert_eq!(
        rc4k(&base, &arr(expected(&e, "ExportedSessionKey"))).to_vec(),
        expected(&e, "EncryptedRandomSessionKey")
    );
    // The server-side derivation recovers the exported key from the message.
    assert_eq!(
        session_key_from_authenticate(&creds, &challenge, &auth)
            .unwrap()
            .to_vec(),
        expected(&e, "ExportedSessionKey")
    );

    let exported = arr(expected(&e, "ExportedSessionKey"));
    assert_eq!(
        sign_key(&exported, Direction::ClientToServer).to_vec(),
        expected(&e, "ClientSigningKey")
    );
    let seal = seal_key(&exported, parsed.negotiate_flags, Direction::ClientToServer);
    assert_eq!(seal.to_vec(), expected(&e, "ClientSealingKey"));
    // MS-NLMP 4.2.4.4: sealing "Plaintext" (UTF-16LE) is RC4 under the sealing key.
    let mut data = smb_proto::wire::codec::to_utf16le(s("plaintext_utf16"));
    {
        use rc4::{KeyInit, Rc4, StreamCipher};
        Rc4::<rc4::consts::U16>::new(&seal.into()).apply_keystream(&mut data);
    }
    assert_eq!(data, expected(&e, "sealed_plaintext"));
}

#[test]
fn msblog_ntlmv2_sessionkey_and_mic_smb311() {
    let e = entry("msblog-ntlmv2-sessionkey-and-mic-smb311");
    let s = |k| text(&e, "inputs", k);
    let creds = Credentials::password(s("domain"), s("user"), s("password"));
    let (negotiate, challenge, authenticate) = (
        input(&e, "negotiate_message"),
        input(&e, "challenge_message"),
        input(&e, "authenticate_message"),
    );
    let nt = nt_hash(s("password"));
    assert_eq!(nt.to_vec(), expected(&e, "NT_hash"));
    assert_eq!(
        ntowfv2(&nt, s("user"), s("domain")).to_vec(),
        expected(&e, "NTOWFv2_ResponseKeyNT")
    );
    let ch = ChallengeMessage::parse(&challenge).unwrap();
    assert_eq!(ch.server_challenge.to_vec(), input(&e, "server_challenge"));
    assert!(ch.timestamp.is_some());

    let auth = AuthenticateMessage::parse(&authenticate).unwrap();
    assert_eq!(auth.user, s("user"));
    assert_eq!(auth.domain, s("domain"));
    assert_eq!(auth.workstation, s("workstation"));
    assert_eq!(auth.nt_response[..16], expected(&e, "NTProofStr")[..]);
    assert_eq!(
        auth.encrypted_random_session_key,
        &expected(&e, "EncryptedRandomSessionKey")[..]
    );
    let exported = session_key_from_authenticate(&creds, &challenge, &authenticate).unwrap();
    assert_eq!(exported.to_vec(), expected(&e, "ExportedSessionKey"));
    let kxkey = arr(expected(&e, "SessionBaseKey_KeyExchangeKey"));
    assert_eq!(
        rc4k(&kxkey, &exported).to_vec(),
        expected(&e, "EncryptedRandomSessionKey")
    );

    let mic = compute_mic(&exported, &negotiate, &challenge, &authenticate).unwrap();
    assert_eq!(mic.to_vec(), expected(&e, "MIC"));
    assert_eq!(authenticate[72..88], mic);

    let flags = auth.negotiate_flags;
    assert_eq!(flags, 0xE2888215);
    for (dir, sk, ek) in [
        (
            Direction::ClientToServer,
            "ClientSigningKey",
            "ClientSealingKey",
        ),
        (
            Direction::ServerToClient,
            "ServerSigningKey",
            "ServerSealingKey",
        ),
    ] {
        assert_eq!(sign_key(&exported, dir).to_vec(), expected(&e, sk));
        assert_eq!(seal_key(&exported, flags, dir).to_vec(), expected(&e, ek));
    }

    // Our client, fed Windows' CHALLENGE (which has MsvAvTimestamp), produces an
    // AUTHENTICATE the server-side derivation accepts, with a valid MIC, and the same
    // negotiated flags as the Windows client.
    let mut client = NtlmClient::new(creds.clone(), s("workstation"), [0x11; 8], exported, 0);
    let our_negotiate = client.negotiate_message();
    let ours = client.authenticate_message(&challenge).unwrap();
    let parsed = AuthenticateMessage::parse(&ours).unwrap();
    assert_eq!(parsed.negotiate_flags, flags);
    assert_eq!(
        parsed.lm_response, &[0; 24],
        "Z(24) when the server sent a timestamp"
    );
    assert_eq!(
        session_key_from_authenticate(&creds, &challenge, &ours).unwrap(),
        exported
    );
    assert_eq!(
        compute_mic(&exported, &our_negotiate, &challenge, &ours).unwrap(),
        ours[72..88]
    );
    let wrong = Credentials::password(s("domain"), s("user"), "wrong");
    assert_eq!(
        session_key_from_authenticate(&wrong, &challenge, &ours),
        Err(smb_proto::auth::ntlm::AuthError::BadResponse)
    );
}

#[test]
fn smb30_kdf_multichannel() {
    let e = entry("smb30-kdf-multichannel");
    let dialect = number(&e, "dialect") as u16;
    let keys = derive_session_keys(dialect, &input(&e, "session_key_channel1"), &[0; 64], 16);
    assert_eq!(keys.signing, expected(&e, "SigningKey"));
    assert_eq!(
        keys.encryption,
        expected(&e, "EncryptionKey_client_SMB2AESCCM_ServerIn")
    );
    assert_eq!(
        keys.decryption,
        expected(&e, "DecryptionKey_client_SMB2AESCCM_ServerOut")
    );
    assert_eq!(
        keys.application,
        expected(&e, "ApplicationKey_SMB2APP_SmbRpc")
    );
    let channel2 = derive_session_keys(dialect, &input(&e, "session_key_channel2"), &[0; 64], 16);
    assert_eq!(channel2.signing, expected(&e, "Channel2_SigningKey"));
}

/// The mechListMIC of `token` (a client or server negTokenResp inside an SMB2 message)
/// checked with NTLMSSP session security over the client's mechTypes.
fn check_mech_list_mics(
    exported: &[u8; 16],
    flags: u32,
    client_init: &[u8],
    client_final: &[u8],
    server_final: &[u8],
) {
    // Rebuilding the NegTokenInit from its NTLM token must give the bytes on the wire;
    // then its mechTypes DER is exactly what the client's MIC covers.
    let init_ntlm = {
        // mechToken is the last 0x28+ bytes: find "NTLMSSP\0".
        let at = client_init
            .windows(8)
            .position(|w| w == b"NTLMSSP\0")
            .expect("NTLM NEGOTIATE in NegTokenInit");
        &client_init[at..]
    };
    let (rebuilt, mech_types) = neg_token_init(init_ntlm);
    assert_eq!(rebuilt, client_init);
    let mut sec = SessionSecurity::new(exported, flags).unwrap();
    let client_mic = parse_neg_token_resp(client_final)
        .unwrap()
        .mech_list_mic
        .unwrap();
    assert_eq!(
        sec.mac(Direction::ClientToServer, &mech_types).to_vec(),
        client_mic
    );
    let server_mic = parse_neg_token_resp(server_final)
        .unwrap()
        .mech_list_mic
        .unwrap();
    assert_eq!(
        sec.mac(Direction::ServerToClient, &mech_types).to_vec(),
        server_mic
    );
}

#[test]
fn smb311_preauth_kdf_signing_master_channel() {
    let e = entry("smb311-preauth-kdf-signing-master-channel");
    let mut h = PreauthHash::new();
    assert_eq!(h.value().to_vec(), input(&e, "initial_hash"));
    for (msg, after) in [
        ("negotiate_request", "hash_after_neg_req"),
        ("negotiate_response", "hash_after_neg_resp_Connection"),
        ("session_setup_request_1", "hash_after_ss_req1"),
        (
            "session_setup_response_1_more_processing",
            "hash_after_ss_resp1",
        ),
        (
            "session_setup_request_2",
            "hash_after_ss_req2_final_PreauthIntegrityHashValue",
        ),
    ] {
        h.update(&input(&e, msg));
        assert_eq!(h.value().to_vec(), expected(&e, after), "after {msg}");
    }

    let cipher = Cipher::from_id(number(&e, "cipher_id") as u16).unwrap();
    let keys = derive_session_keys(
        0x0311,
        &input(&e, "session_key"),
        h.value(),
        cipher.key_len(),
    );
    assert_eq!(keys.signing, expected(&e, "SigningKey_SMBSigningKey"));
    assert_eq!(
        keys.encryption,
        expected(&e, "EncryptionKey_client_SMBC2SCipherKey")
    );
    assert_eq!(
        keys.decryption,
        expected(&e, "DecryptionKey_client_SMBS2CCipherKey")
    );
    assert_eq!(keys.application, expected(&e, "ApplicationKey_SMBAppKey"));

    // The final SESSION_SETUP response: verify, then re-sign from a zeroed signature.
    let final_resp = input(&e, "session_setup_response_final_success");
    assert!(verify(
        SigningAlgorithm::AesCmac,
        &keys.signing,
        &final_resp
    ));
    let mut resigned = final_resp.clone();
    resigned[48..64].fill(0);
    sign(SigningAlgorithm::AesCmac, &keys.signing, &mut resigned).unwrap();
    assert_eq!(
        resigned[48..64],
        expected(&e, "final_response_signature_AES_CMAC")[..]
    );
    assert_eq!(resigned, final_resp);
    let mut tampered = final_resp.clone();
    tampered[70] ^= 1;
    assert!(!verify(SigningAlgorithm::AesCmac, &keys.signing, &tampered));

    // The server's negTokenInit2 (with Windows' negHints) lists NTLMSSP.
    let mechs = parse_neg_token_init(security_buffer(&input(&e, "negotiate_response"))).unwrap();
    assert!(mechs.iter().any(|m| m == OID_NTLMSSP), "{mechs:02x?}");
    // The SPNEGO mechListMICs of the same Windows exchange (MS-SPNG 3.1.5.1).
    let req2 = input(&e, "session_setup_request_2");
    let auth = parse_neg_token_resp(security_buffer(&req2))
        .unwrap()
        .response_token
        .unwrap();
    let flags = AuthenticateMessage::parse(&auth).unwrap().negotiate_flags;
    check_mech_list_mics(
        &arr(input(&e, "session_key")),
        flags,
        security_buffer(&input(&e, "session_setup_request_1")),
        security_buffer(&req2),
        security_buffer(&final_resp),
    );
}

#[test]
fn smb311_session_binding_second_channel() {
    let e = entry("smb311-session-binding-second-channel");
    let mut h = PreauthHash::new();
    for (msg, after) in [
        ("negotiate_request", "hash_after_neg_req"),
        ("negotiate_response", "hash_after_neg_resp"),
        ("session_setup_request_1_binding", "hash_after_ss_req1"),
        ("session_setup_response_1", "hash_after_ss_resp1"),
        ("session_setup_request_2", "final_preauth_hash"),
    ] {
        h.update(&input(&e, msg));
        assert_eq!(h.value().to_vec(), expected(&e, after), "after {msg}");
    }
    let channel = derive_session_keys(0x0311, &input(&e, "binding_session_key"), h.value(), 16);
    assert_eq!(channel.signing, expected(&e, "Channel_SigningKey"));

    // Binding requests and the interim response are signed with the master session's
    // key; the final response with the new channel's key (MS-SMB2 3.2.5.3.1).
    let master = input(&e, "master_SigningKey");
    for (msg, sig, key) in [
        (
            "session_setup_request_1_binding",
            "sig_ss_req1_with_master_SigningKey",
            &master,
        ),
        (
            "session_setup_response_1",
            "sig_ss_resp1_with_master_SigningKey",
            &master,
        ),
        (
            "session_setup_request_2",
            "sig_ss_req2_with_master_SigningKey",
            &master,
        ),
        (
            "session_setup_response_final",
            "sig_ss_resp_final_with_Channel_SigningKey",
            &channel.signing,
        ),
    ] {
        let m = input(&e, msg);
        assert_eq!(m[48..64], expected(&e, sig)[..], "{msg}");
        assert!(verify(SigningAlgorithm::AesCmac, key, &m), "{msg}");
    }
    assert!(!verify(
        SigningAlgorithm::AesCmac,
        &channel.signing,
        &input(&e, "session_setup_request_2")
    ));
    // Encryption, decryption and application keys stay the master session's.
    assert!(text(&e, "expected", "Encryption/Decryption/ApplicationKey").contains("unchanged"));
}

#[test]
fn smb30_encrypt_aes128ccm() {
    let e = entry("smb30-encrypt-aes128ccm");
    let keys = derive_session_keys(0x0300, &input(&e, "session_key"), &[0; 64], 16);
    assert_eq!(keys.encryption, expected(&e, "EncryptionKey"));
    let session_id = number(&e, "session_id");
    let frame = encrypt_message(
        Cipher::Aes128Ccm,
        &keys.encryption,
        &input(&e, "nonce_field_16_bytes"),
        session_id,
        &input(&e, "plaintext_smb2_write_request"),
    )
    .unwrap();
    assert_eq!(frame, expected(&e, "transform_message"));
    assert_eq!(frame[4..20], expected(&e, "signature")[..]);
    assert_eq!(frame[52..], expected(&e, "ciphertext")[..]);
    assert_eq!(transform_session_id(&frame).unwrap(), session_id);
}

#[test]
fn smb30_decrypt_aes128ccm() {
    let e = entry("smb30-decrypt-aes128ccm");
    let keys = derive_session_keys(0x0300, &input(&e, "session_key"), &[0; 64], 16);
    assert_eq!(keys.decryption, expected(&e, "DecryptionKey"));
    check_decrypt(&e, Cipher::Aes128Ccm, &keys.decryption);
}

#[test]
fn smb311_encrypt_aes128gcm() {
    let e = entry("smb311-encrypt-aes128gcm");
    let preauth = arr(input(&e, "preauth_hash"));
    let keys = derive_session_keys(0x0311, &input(&e, "session_key"), &preauth, 16);
    assert_eq!(keys.encryption, expected(&e, "EncryptionKey"));
    let session_id = number(&e, "session_id");
    let frame = encrypt_message(
        Cipher::Aes128Gcm,
        &keys.encryption,
        &input(&e, "nonce_12"),
        session_id,
        &input(&e, "plaintext_smb2_write_request"),
    )
    .unwrap();
    assert_eq!(frame, expected(&e, "transform_message"));
    assert_eq!(frame[4..20], expected(&e, "signature")[..]);
    assert_eq!(frame[52..], expected(&e, "ciphertext")[..]);
}

#[test]
fn smb311_decrypt_aes128gcm() {
    let e = entry("smb311-decrypt-aes128gcm");
    let preauth = arr(input(&e, "preauth_hash"));
    let keys = derive_session_keys(0x0311, &input(&e, "session_key"), &preauth, 16);
    assert_eq!(keys.decryption, expected(&e, "DecryptionKey"));
    check_decrypt(&e, Cipher::Aes128Gcm, &keys.decryption);
}

/// Decrypts the entry's transform message in place; checks the plaintext, the session
/// id, and that a flipped ciphertext bit fails authentication.
fn check_decrypt(e: &Value, cipher: Cipher, key: &[u8]) {
    let frame = input(e, "transform_message");
    let session_id = le32(&frame, 44) as u64 | (u64::from(le32(&frame, 48)) << 32);
    let mut buf = BytesMut::from(&frame[..]);
    assert_eq!(decrypt_in_place(cipher, key, &mut buf).unwrap(), session_id);
    assert_eq!(buf.to_vec(), expected(e, "plaintext"));
    let mut bad = BytesMut::from(&frame[..]);
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(
        decrypt_in_place(cipher, key, &mut bad),
        Err(CryptoError::Decrypt)
    );
}

/// The whole SPNEGO/NTLM client against the Windows server tokens of the
/// "smb311-preauth-kdf-signing-master-channel" exchange (whose NTLM side is the
/// "msblog-ntlmv2-sessionkey-and-mic-smb311" entry): with Windows' exported session key,
/// our client must produce the mechListMIC Windows' client sent and accept the one
/// Windows' server sent.
#[test]
fn spnego_ntlm_authenticator_against_windows_exchange() {
    use smb_proto::auth::ntlm::AuthError;
    use smb_proto::auth::spnego::{Authenticator, SpnegoNtlm};

    let nlmp = entry("msblog-ntlmv2-sessionkey-and-mic-smb311");
    let smb = entry("smb311-preauth-kdf-signing-master-channel");
    let s = |k| text(&nlmp, "inputs", k);
    let exported = arr(expected(&nlmp, "ExportedSessionKey"));
    let new_client = || {
        let creds = Credentials::password(s("domain"), s("user"), s("password"));
        SpnegoNtlm::new(NtlmClient::new(
            creds,
            s("workstation"),
            [0x11; 8],
            exported,
            0,
        ))
    };
    let resp1 = input(&smb, "session_setup_response_1_more_processing");
    let final_resp = input(&smb, "session_setup_response_final_success");
    let windows_req2 = input(&smb, "session_setup_request_2");
    let windows_mic = parse_neg_token_resp(security_buffer(&windows_req2))
        .unwrap()
        .mech_list_mic
        .unwrap();

    let mut auth = new_client();
    let init = auth.initial_token().unwrap();
    assert_eq!(
        parse_neg_token_init(&init).unwrap(),
        vec![OID_NTLMSSP.to_vec()]
    );
    let token = auth.next_token(security_buffer(&resp1)).unwrap().unwrap();
    let ours = parse_neg_token_resp(&token).unwrap();
    assert_eq!(ours.mech_list_mic.unwrap(), windows_mic);
    assert_eq!(
        auth.session_key(),
        None,
        "not established before the final token"
    );
    assert_eq!(auth.next_token(security_buffer(&final_resp)).unwrap(), None);
    assert_eq!(
        auth.session_key().as_deref().map(Vec::as_slice),
        Some(&exported[..])
    );
    assert!(matches!(auth.next_token(b""), Err(AuthError::State(_))));

    // A server mechListMIC that does not verify is an error.
    let mut auth = new_client();
    auth.initial_token().unwrap();
    auth.next_token(security_buffer(&resp1)).unwrap();
    let mut bad = security_buffer(&final_resp).to_vec();
    let last = bad.len() - 5;
    bad[last] ^= 1;
    assert_eq!(auth.next_token(&bad), Err(AuthError::MechListMic));

    // negState reject ends the exchange with Rejected.
    let mut auth = new_client();
    auth.initial_token().unwrap();
    let reject = [0xA1, 0x07, 0x30, 0x05, 0xA0, 0x03, 0x0A, 0x01, 0x02];
    assert_eq!(auth.next_token(&reject), Err(AuthError::Rejected));
}
