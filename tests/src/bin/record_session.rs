//! Records the replay script (`smb_tests::script`) with the blocking client against a
//! freshly started private Samba and writes the recording to a file, for
//! `smb-proto/tests/replay.rs`; or, with `--example`, records the README's example
//! program (`smb_tests::example::file_report`) for `tests/tests/replay_example.rs`.
//!
//! ```text
//! record-session OUT_FILE [--max-dialect 2.1] [--server-signing-mandatory] [--encrypt] [--netbios] [--file-len N]
//! record-session OUT_FILE --example
//! ```
//!
//! `--server-signing-mandatory` sets `server signing = mandatory` and makes the client sign
//! only because the server requires it; `--encrypt` makes the client ask for encryption.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use smb_blocking::{ConnectOptions, Connection, RecordTarget};
use smb_proto::{Dialect, SigningPolicy};
use smb_tests::recording::play_blocking;
use smb_tests::{SambaServer, Share};

const USAGE: &str = "usage: record-session OUT_FILE [--example | [--max-dialect D] [--server-signing-mandatory] [--encrypt] [--netbios] [--file-len N]]";

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
    let (mut max_dialect, mut signing, mut encrypt, mut netbios, mut file_len) = (
        Dialect::Smb311,
        SigningPolicy::WhenSupported,
        false,
        false,
        300_000,
    );
    let mut example = false;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--example" => example = true,
            "--max-dialect" => {
                let v = value()?;
                max_dialect = Dialect::parse(&v).ok_or(format!("unknown dialect {v}"))?;
            }
            "--server-signing-mandatory" => {
                builder = builder.global("server signing", "mandatory");
                signing = SigningPolicy::WhenRequired;
            }
            "--encrypt" => encrypt = true,
            "--netbios" => netbios = true,
            "--file-len" => {
                let v = value()?;
                file_len = v.parse().map_err(|_| format!("bad --file-len {v}"))?;
            }
            _ => return Err(USAGE.into()),
        }
    }

    let server = builder.start();
    let mut opts: ConnectOptions = server.connect_options();
    opts.max_dialect = max_dialect;
    opts.signing = signing;
    opts.encrypt = encrypt;
    if netbios {
        opts.netbios = true;
        opts.server_name = Some("*SMBSERVER".into());
    }
    if !example {
        // Small reads and writes, so a transfer keeps several requests in flight.
        opts.max_io_size = 65536;
    }
    let opts = opts.record(RecordTarget::path(&out));
    let conn = Connection::connect(&opts).map_err(|e| format!("connect: {e}"))?;
    if example {
        let names = smb_tests::example::file_report(&conn, smb_tests::example::REPORT)
            .map_err(|e| format!("example: {e}"))?;
        eprintln!("record-session: the example listed {names:?}");
        conn.close().map_err(|e| format!("close: {e}"))?;
    } else {
        play_blocking(conn, file_len)?;
    }
    let text = std::fs::read_to_string(&out).map_err(|e| format!("read {out}: {e}"))?;
    let rec = smb_proto::replay::Recording::parse(&text).map_err(|e| format!("{out}: {e}"))?;
    eprintln!(
        "record-session: wrote {out} against smbd {} ({} bytes sent, {} received)",
        smbd_version(),
        rec.sent_len(),
        rec.received_len()
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
