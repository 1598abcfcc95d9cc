//! Records the replay script (`smb_tests::recording::SCRIPT`) against a freshly started
//! private Samba and writes the recording to a file, for `smb-proto/tests/replay.rs`.
//!
//! ```text
//! record-session OUT_FILE [--max-dialect 2.1] [--server-signing-mandatory] [--encrypt] [--file-len N]
//! ```
//!
//! `--server-signing-mandatory` sets `server signing = mandatory` and makes the client sign
//! only because the server requires it; `--encrypt` makes the client ask for encryption.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::process::ExitCode;

use smb_proto::{Dialect, SigningPolicy};
use smb_tests::recording::{record, Setup};
use smb_tests::{SambaServer, Share};

const USAGE: &str = "usage: record-session OUT_FILE [--max-dialect D] [--server-signing-mandatory] [--encrypt] [--file-len N]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("record-session: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let out = args.next().filter(|a| !a.starts_with('-')).ok_or(USAGE)?;
    let mut builder = SambaServer::builder().share(Share::new("share"));
    let mut notes = Vec::new();
    let (mut max_dialect, mut signing, mut encrypt, mut file_len) =
        (Dialect::Smb311, SigningPolicy::WhenSupported, false, None);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--max-dialect" => {
                let v = value()?;
                max_dialect = Dialect::parse(&v).ok_or(format!("unknown dialect {v}"))?;
            }
            "--server-signing-mandatory" => {
                builder = builder.global("server signing", "mandatory");
                notes.push("server signing = mandatory");
                signing = SigningPolicy::WhenRequired;
            }
            "--encrypt" => encrypt = true,
            "--file-len" => {
                let v = value()?;
                file_len = Some(v.parse().map_err(|_| format!("bad --file-len {v}"))?);
            }
            _ => return Err(USAGE.into()),
        }
    }

    let server = builder.start();
    let mut setup = Setup::new(server.host(), server.user(), server.password());
    setup.max_dialect = max_dialect;
    setup.signing = signing;
    setup.encrypt = encrypt;
    setup.file_len = file_len.unwrap_or(setup.file_len);
    let addr: SocketAddr = format!("{}:{}", server.host(), server.port())
        .parse()
        .map_err(|e| format!("server address: {e}"))?;
    let rec = record(addr, setup)?;

    let mut text = String::from(
        "# A session of smb_tests::recording::SCRIPT against Samba, replayed by\n\
         # smb-proto/tests/replay.rs. Format: tests/src/recording.rs.\n",
    );
    text.push_str(&format!(
        "# Recorded with smbd {} and the harness's smb.conf",
        smbd_version()
    ));
    for n in &notes {
        text.push_str(&format!(", {n}"));
    }
    text.push('\n');
    text.push_str(&rec.to_string());
    std::fs::write(&out, &text).map_err(|e| format!("write {out}: {e}"))?;
    eprintln!(
        "record-session: wrote {out} ({} entries, {} bytes)",
        rec.entries.len(),
        text.len()
    );
    Ok(())
}

fn smbd_version() -> String {
    std::process::Command::new("smbd")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "(unknown version)".into())
}
