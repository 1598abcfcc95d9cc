//! Every FSCC information class decoder (MS-FSCC 2.4, 2.5), the change-notify entries
//! and the symlink error context: the first byte picks one. Decoding never panics;
//! where an encoder exists, what decoded encodes to bytes that decode to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smb_proto::wire::error::SymlinkError;
use smb_proto::wire::fscc::*;
use smb_proto::wire::notify::FileNotifyInformation;

/// Decodes `buf` as `$t` and, when it decodes, checks `decode(encode(x)) == x`.
macro_rules! rt {
    ($t:ty, $buf:expr) => {
        if let Ok(x) = <$t>::decode($buf) {
            let y = <$t>::decode(&x.encode()).expect("what decoded encodes and decodes");
            assert_eq!(x, y);
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, buf)) = data.split_first() else {
        return;
    };
    match selector % 14 {
        0 => {
            if let Ok(list) = FileIdBothDirectoryInformation::parse_all(buf) {
                let mut out = Vec::new();
                FileIdBothDirectoryInformation::encode_list(&list, &mut out);
                let again = FileIdBothDirectoryInformation::parse_all(&out).expect("re-decodes");
                assert_eq!(list, again);
            }
        }
        1 => rt!(FileBasicInformation, buf),
        2 => rt!(FileStandardInformation, buf),
        3 => drop(FileNameInformation::decode(buf)),
        4 => drop(FileAllInformation::decode(buf)),
        5 => drop(FileStreamInformation::parse_all(buf)),
        6 => rt!(FileRenameInformation, buf),
        7 => drop(FileFsSizeInformation::decode(buf)),
        8 => drop(FileFsFullSizeInformation::decode(buf)),
        9 => drop(FileFsVolumeInformation::decode(buf)),
        10 => rt!(FileFsAttributeInformation, buf),
        11 => {
            if let Ok(list) = FileNotifyInformation::parse_all(buf) {
                let mut out = Vec::new();
                FileNotifyInformation::encode_list(&list, &mut out);
                let again = FileNotifyInformation::parse_all(&out).expect("re-decodes");
                assert_eq!(list, again);
            }
        }
        12 => drop(SymlinkError::decode(buf)),
        _ => {
            // FileTime conversions: any 8 bytes, and any text as a @GMT token.
            let mut raw = [0u8; 8];
            let n = buf.len().min(8);
            raw[..n].copy_from_slice(&buf[..n]);
            let t = FileTime(u64::from_le_bytes(raw));
            let _ = (t.to_system_time(), t.gmt_token());
            if let Ok(s) = std::str::from_utf8(buf) {
                if let Some(t) = FileTime::from_gmt_token(s) {
                    assert_eq!(FileTime::from_gmt_token(&t.gmt_token()), Some(t), "{s:?}");
                }
            }
        }
    }
});
