//! The `smb` command's value parsing: `--timeout` once panicked on `1e20`, `inf` and
//! 20-digit numbers. Arbitrary text is refused or accepted, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = smb_cli::parse_timeout(s) {
        assert!(!t.is_zero(), "{s:?}");
    }
});
