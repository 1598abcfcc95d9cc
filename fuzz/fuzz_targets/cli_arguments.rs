//! The `smb` command's arguments: `--timeout` once panicked on `1e20`, `inf` and
//! 20-digit numbers. Arbitrary argument lists (NUL-separated) go through the clap parser
//! the binary uses (`Cli::try_parse_from`) and the checks after it: parsed or refused,
//! never a panic; the URLs among them parse or are refused the same way, and what the
//! redaction of parser errors finds never panics either.
#![no_main]

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use smb_cli::Cli;
use smb_proto::url::SmbUrl;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = smb_cli::parse_timeout(s) {
        assert!(!t.is_zero(), "{s:?}");
    }
    let args: Vec<String> = std::iter::once("smb")
        .chain(s.split('\0'))
        .map(String::from)
        .collect();
    let secrets = smb_cli::auth::secrets_in(&args);
    match Cli::try_parse_from(&args) {
        Ok(cli) => {
            if let Ok((conn, _)) = cli.connection() {
                assert!(conn.timeout.is_none_or(|t| !t.is_zero()));
                if let (Some(min), Some(max)) = (conn.min_dialect, conn.max_dialect) {
                    assert!(min <= max);
                }
            }
            for a in &args {
                let _ = SmbUrl::parse(a);
            }
        }
        Err(e) => {
            let _ = smb_cli::auth::redact(&e.to_string(), &secrets);
        }
    }
});
