//! SMB 3 encryption (MS-SMB2 2.2.41, 3.1.4.3): the transform header decodes without
//! panicking and what decodes encodes back to the same bytes; `decrypt_in_place` with a
//! fixed key, under each cipher, refuses anything it cannot authenticate with a typed
//! error and never panics. The first byte picks the cipher and whether the rest is a
//! frame to decrypt or a plaintext to encrypt with the key: that one must decrypt back
//! to itself.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use smb_proto::crypto::encryption::{decrypt_in_place, encrypt_message, Cipher};
use smb_proto::wire::transform::TransformHeader;

const KEY: [u8; 32] = [0x42; 32];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, buf)) = data.split_first() else {
        return;
    };
    if let Ok(h) = TransformHeader::decode(buf) {
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(TransformHeader::decode(&out), Ok(h));
    }
    let cipher = match selector & 3 {
        0 => Cipher::Aes128Ccm,
        1 => Cipher::Aes128Gcm,
        2 => Cipher::Aes256Ccm,
        _ => Cipher::Aes256Gcm,
    };
    let key = &KEY[..cipher.key_len()];
    if selector & 4 == 0 {
        let mut frame = BytesMut::from(buf);
        let _ = decrypt_in_place(cipher, key, &mut frame);
    } else {
        let nonce = [selector; 16];
        let session = 0x1122_3344_5566_7788;
        let sealed = encrypt_message(cipher, key, &nonce[..12], session, buf).expect("encrypts");
        let mut frame = BytesMut::from(&sealed[..]);
        assert_eq!(
            decrypt_in_place(cipher, key, &mut frame).ok(),
            Some(session)
        );
        assert_eq!(&frame[..], buf);
    }
});
