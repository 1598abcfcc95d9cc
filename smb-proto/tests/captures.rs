//! Recorded smbclient ↔ Samba 4.17 sessions (`tests/data/captures`, see its README):
//! derive each session's keys from its NTLMSSP exchange and the password, then check
//! every signature and decrypt every encrypted message.

mod common;

use bytes::BytesMut;
use common::{compound_elements, establish, stitch, tcp_streams, transport_frames, Session};

use smb_proto::auth::ntlm::{AuthenticateMessage, Credentials, Direction, SessionSecurity};
use smb_proto::auth::spnego::{neg_token_init, neg_token_resp, parse_neg_token_init, OID_NTLMSSP};
use smb_proto::crypto::encryption::{
    decrypt_in_place, transform_session_id, Cipher, CryptoError, TRANSFORM_PROTOCOL_ID,
};
use smb_proto::crypto::signing::{verify, SigningAlgorithm};
use smb_proto::wire::header::Header;

const SERVER_PORT: u16 = 4455;

fn creds() -> Credentials {
    Credentials::password("WORKGROUP", "testuser", "Passw0rd!")
}

/// What one capture should show. The counts were cross-checked with an independent
/// reassembly (a script over `tshark -T fields -e tcp.srcport -e tcp.seq_raw -e
/// tcp.payload`); tshark's own SMB2 dissection undercounts because it skips requests
/// that begin inside a TCP segment of this loopback capture.
struct Expect {
    dialect: u16,
    signing: SigningAlgorithm,
    cipher: Option<Cipher>,
    /// Unencrypted SMB2 messages (compound elements counted singly).
    plain: usize,
    /// Messages with SMB2_FLAGS_SIGNED.
    signed: usize,
    /// Transform (encrypted) messages.
    encrypted: usize,
}

/// Counts from walking a capture's messages.
#[derive(Debug, Default)]
struct Tally {
    plain: usize,
    signed: usize,
    verified: usize,
    encrypted: usize,
    decrypted_messages: usize,
}

fn check(name: &str, expect: Expect) {
    let path = format!(
        "{}/tests/data/captures/{name}.pcapng",
        env!("CARGO_MANIFEST_DIR")
    );
    let pcap = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let streams = tcp_streams(&pcap, SERVER_PORT);
    let client = transport_frames(&streams.to_server);
    let server = transport_frames(&streams.to_client);
    let session = establish(&client, &server, &creds());

    assert_eq!(session.dialect, expect.dialect, "{name}: dialect");
    assert_eq!(session.signing, expect.signing, "{name}: signing algorithm");
    assert_eq!(session.cipher, expect.cipher, "{name}: cipher");
    check_spnego(&session);

    let mut tally = Tally::default();
    let mut first_signed = None;
    for (from_client, frame) in client
        .iter()
        .map(|f| (true, f))
        .chain(server.iter().map(|f| (false, f)))
    {
        let plain = if frame.starts_with(&TRANSFORM_PROTOCOL_ID) {
            tally.encrypted += 1;
            let plain = decrypt(&session, from_client, frame).to_vec();
            for element in compound_elements(&plain) {
                Header::decode(element).expect("decrypted message has a valid SMB2 header");
                tally.decrypted_messages += 1;
            }
            plain
        } else {
            tally.plain += compound_elements(frame).len();
            frame.clone()
        };
        for element in compound_elements(&plain) {
            let header = Header::decode(element).expect("SMB2 header");
            if !header.is_signed() {
                continue;
            }
            tally.signed += 1;
            assert_eq!(header.session_id, session.session_id);
            if verify(session.signing, &session.keys.signing, element) {
                tally.verified += 1;
            }
            first_signed.get_or_insert_with(|| element.to_vec());
        }
    }

    assert!(tally.signed > 0, "{name}: no signed messages");
    assert_eq!(tally.verified, tally.signed, "{name}: {tally:?}");
    assert_eq!(tally.signed, expect.signed, "{name}: {tally:?}");
    assert_eq!(tally.plain, expect.plain, "{name}: {tally:?}");
    assert_eq!(tally.encrypted, expect.encrypted, "{name}: {tally:?}");
    if expect.encrypted > 0 {
        assert!(
            tally.decrypted_messages >= tally.encrypted,
            "{name}: {tally:?}"
        );
    }

    // One flipped bit anywhere — header, signature or body — breaks the signature.
    let signed = first_signed.expect("a signed message");
    for at in [5, 30, 50, 64, signed.len() - 1] {
        let mut bad = signed.clone();
        bad[at] ^= 0x01;
        assert!(
            !verify(session.signing, &session.keys.signing, &bad),
            "{name}: flip at {at} still verifies"
        );
    }
}

/// Decrypts a transform message with the key for its direction and checks routing.
fn decrypt(session: &Session, from_client: bool, frame: &[u8]) -> BytesMut {
    let cipher = session.cipher.expect("encrypted message without a cipher");
    assert_eq!(transform_session_id(frame).unwrap(), session.session_id);
    let key = if from_client {
        &session.keys.encryption
    } else {
        &session.keys.decryption
    };
    let mut buf = BytesMut::from(frame);
    let sid = decrypt_in_place(cipher, key, &mut buf).expect("transform message decrypts");
    assert_eq!(sid, session.session_id);
    // The same frame with one ciphertext bit flipped must not decrypt.
    let mut bad = BytesMut::from(frame);
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    assert_eq!(
        decrypt_in_place(cipher, key, &mut bad),
        Err(CryptoError::Decrypt)
    );
    buf
}

/// The SPNEGO layer of the real exchange: our NegTokenInit encoding matches
/// smbclient's byte for byte, and both mechListMICs verify with the NTLMSSP keys.
fn check_spnego(session: &Session) {
    let init = &session.client_init_token;
    assert_eq!(
        parse_neg_token_init(init).unwrap(),
        vec![OID_NTLMSSP.to_vec()]
    );
    let at = init.windows(8).position(|w| w == b"NTLMSSP\0").unwrap();
    let (rebuilt, mech_types) = neg_token_init(&init[at..]);
    assert_eq!(&rebuilt, init);

    let auth = session.client_final.response_token.as_deref().unwrap();
    let flags = AuthenticateMessage::parse(auth).unwrap().negotiate_flags;
    let mut sec = SessionSecurity::new(&session.session_key, flags).unwrap();
    assert_eq!(
        sec.mac(Direction::ClientToServer, &mech_types).to_vec(),
        session.client_final.mech_list_mic.clone().unwrap()
    );
    assert_eq!(session.server_final.neg_state, Some(0));
    assert_eq!(
        sec.mac(Direction::ServerToClient, &mech_types).to_vec(),
        session.server_final.mech_list_mic.clone().unwrap()
    );
    // And our NegTokenResp encoding matches smbclient's (no negState) byte for byte.
    assert_eq!(
        neg_token_resp(auth, session.client_final.mech_list_mic.as_deref()),
        session.client_final_token
    );
}

#[test]
fn smb311_default() {
    check(
        "smb311_default",
        Expect {
            dialect: 0x0311,
            signing: SigningAlgorithm::AesGmac,
            cipher: Some(Cipher::Aes128Gcm),
            plain: 128,
            signed: 5,
            encrypted: 0,
        },
    );
}

#[test]
fn smb311_sign_cmac() {
    check(
        "smb311_sign_cmac",
        Expect {
            dialect: 0x0311,
            signing: SigningAlgorithm::AesCmac,
            cipher: Some(Cipher::Aes128Gcm),
            plain: 128,
            signed: 123,
            encrypted: 0,
        },
    );
}

#[test]
fn smb210_sign() {
    check(
        "smb210_sign",
        Expect {
            dialect: 0x0210,
            signing: SigningAlgorithm::HmacSha256,
            cipher: None,
            plain: 133,
            signed: 127,
            encrypted: 0,
        },
    );
}

#[test]
fn smb311_enc_aes128gcm() {
    check(
        "smb311_enc_aes128gcm",
        Expect {
            dialect: 0x0311,
            signing: SigningAlgorithm::AesGmac,
            cipher: Some(Cipher::Aes128Gcm),
            plain: 6,
            signed: 1,
            encrypted: 122,
        },
    );
}

#[test]
fn reassembly_orders_segments_and_drops_duplicates_and_overlaps() {
    // Sequence numbers wrap past u32::MAX; segments arrive out of order, one is
    // retransmitted whole and one overlaps the bytes before it.
    let isn = u32::MAX - 2;
    let mut segs = vec![
        (isn.wrapping_add(6), b"ghij".to_vec()),
        (isn, b"abc".to_vec()),
        (isn.wrapping_add(3), b"def".to_vec()),
        (isn, b"abc".to_vec()),
        (isn.wrapping_add(4), b"efghijk".to_vec()),
    ];
    assert_eq!(stitch(isn, &mut segs), b"abcdefghijk");
}

#[test]
fn framing_splits_joined_messages_and_compounds() {
    // Two transport frames in one buffer; the second holds a two-element compound.
    let mut elem1 = vec![0u8; 72];
    elem1[..4].copy_from_slice(b"\xFESMB");
    elem1[20..24].copy_from_slice(&72u32.to_le_bytes());
    let mut elem2 = vec![0u8; 66];
    elem2[..4].copy_from_slice(b"\xFESMB");
    let mut compound = elem1.clone();
    compound.extend_from_slice(&elem2);
    let mut stream = Vec::new();
    for frame in [&elem2, &compound] {
        stream.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        stream.extend_from_slice(frame);
    }
    let frames = transport_frames(&stream);
    assert_eq!(frames, vec![elem2.clone(), compound.clone()]);
    assert_eq!(compound_elements(&frames[1]), vec![&elem1[..], &elem2[..]]);
}
