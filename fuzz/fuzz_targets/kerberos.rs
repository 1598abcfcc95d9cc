//! Kerberos (RFC 4120, RFC 4121): the first byte picks the decoder (0-6: AS-REQ, AS-REP,
//! TGS-REP, KRB-ERROR, AP-REP, EncAPRepPart, EncKDCRepPart under either tag; 7: a GSS
//! token; 8: a GSS answer checked as the reply to an AP-REQ, with a fixed key; 9: a
//! keytab; 10: decryption with a fixed key of every usage's shape). Decoding never panics;
//! what decodes encodes to the same value again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smb_proto::auth::kerberos::asn1::{
    ApRep, AsRep, AsReq, EncApRepPart, EncKdcRepPart, KerberosTime, KrbError, TgsRep,
};
use smb_proto::auth::kerberos::crypto::{Enctype, Key};
use smb_proto::auth::kerberos::gss;
use smb_proto::auth::kerberos::keytab::Keytab;
use smb_proto::der::{Decode, Encode};

/// Decodes `buf` as `$t` and, when it decodes, checks `decode(encode(x)) == x`.
macro_rules! rt {
    ($t:ty, $buf:expr) => {
        if let Ok(x) = <$t>::from_der($buf) {
            let der = x.to_der().expect("what decoded encodes");
            assert_eq!(<$t>::from_der(&der).expect("and decodes again"), x);
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, buf)) = data.split_first() else {
        return;
    };
    let key = |etype| Key::new(etype, &vec![7u8; Enctype::key_len(etype)]).expect("key");
    match selector % 11 {
        0 => rt!(AsReq, buf),
        1 => rt!(AsRep, buf),
        2 => rt!(TgsRep, buf),
        3 => rt!(KrbError, buf),
        4 => rt!(ApRep, buf),
        5 => rt!(EncApRepPart, buf),
        6 => drop(EncKdcRepPart::decode_either(buf)),
        7 => drop(gss::unwrap(buf)),
        8 => {
            let t =
                KerberosTime::from_unix_duration(std::time::Duration::from_secs(1)).expect("time");
            drop(gss::ap_rep(buf, &key(Enctype::Aes256), &t, 0));
        }
        9 => drop(Keytab::parse(buf)),
        _ => {
            for etype in [Enctype::Aes128, Enctype::Aes256, Enctype::Rc4Hmac] {
                for usage in [1, 3, 7, 8, 11, 12] {
                    drop(key(etype).decrypt(usage, buf));
                }
            }
        }
    }
});
