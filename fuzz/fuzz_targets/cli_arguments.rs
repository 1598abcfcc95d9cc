//! The `smb` command's arguments: `--timeout` once panicked on `1e20`, `inf` and
//! 20-digit numbers. Arbitrary argument lists (NUL-separated) are parsed or refused,
//! never a panic, and the URLs among them parse or are refused the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smb_proto::url::SmbUrl;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = smb_cli::parse_timeout(s) {
        assert!(!t.is_zero(), "{s:?}");
    }
    let args = s.split('\0').map(String::from);
    if let Ok(parsed) = smb_cli::parse_args(args) {
        assert!(!parsed.opts.timeout.is_zero());
        assert!(parsed.opts.min_dialect <= parsed.opts.max_dialect);
        for p in &parsed.positional {
            let _ = SmbUrl::parse(p);
        }
    }
});
