//! The `smb dissect` command line: options, one dissection per capture file, exit
//! status.

use std::io::Write;
use std::process::ExitCode;

use smb_proto::auth::ntlm::Credentials;

use super::{dissect, Options};
use crate::args::{parse_nt_hash, DissectArgs};

/// What `smb dissect` was asked: the options and the capture files.
struct Args {
    options: Options,
    files: Vec<String>,
}

/// The dissector's options from the command line; the password from `SMB_PASSWORD`
/// when none is given.
fn parse_args(a: &DissectArgs) -> Result<Args, String> {
    let mut user = a.user.clone().unwrap_or_default();
    let mut domain = a.domain.clone().unwrap_or_default();
    // Never echoes the value: it is as secret as the password.
    let nt_hash = a.nt_hash.as_deref().map(parse_nt_hash).transpose()?;
    let mut options = Options::default();
    for port in &a.ports {
        if !options.ports.contains(port) {
            options.ports.push(*port);
        }
    }
    if let Some((d, u)) = user.split_once('\\') {
        (domain, user) = (d.to_string(), u.to_string());
    }
    let password = a
        .password
        .clone()
        .or_else(|| std::env::var("SMB_PASSWORD").ok());
    options.credentials = match (nt_hash, password) {
        (Some(hash), _) => Some(Credentials::nt_hash(domain, user, hash)),
        (None, Some(pw)) => Some(Credentials::password(domain, user, pw)),
        (None, None) => None,
    };
    if let Some(path) = &a.keytab {
        let bytes = zeroize::Zeroizing::new(
            std::fs::read(path).map_err(|e| format!("--keytab {}: {e}", path.display()))?,
        );
        let keytab = smb_proto::auth::kerberos::keytab::Keytab::parse(&bytes)
            .map_err(|e| format!("--keytab {}: {e}", path.display()))?;
        options.keytab = Some(keytab);
    }
    Ok(Args {
        options,
        files: a.files.clone(),
    })
}

/// `smb dissect`: dissects each capture to stdout, a summary line per file. Exit status
/// 0 when everything verified, 1 on any failure, 2 on a usage error.
pub fn main(args: &DissectArgs) -> ExitCode {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "smb dissect: {e} (see 'smb dissect --help')"
            );
            return ExitCode::from(2);
        }
    };
    let mut ok = true;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for file in &args.files {
        if args.files.len() > 1 && writeln!(out, "== {file}").is_err() {
            return ExitCode::FAILURE;
        }
        let capture = match std::fs::File::open(file) {
            Ok(f) => f,
            Err(e) => {
                let _ = out.flush();
                let _ = writeln!(std::io::stderr(), "smb dissect: {file}: {e}");
                ok = false;
                continue;
            }
        };
        let mut write_failed = None;
        let result = dissect(std::io::BufReader::new(capture), &args.options, |r| {
            if write_failed.is_none() {
                write_failed = writeln!(out, "{r}").err();
            }
        });
        // A reader that went away (`smb dissect f | head`) ends the output, not the
        // verification: the exit status still says whether everything verified.
        match write_failed {
            Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            Some(e) => {
                let _ = writeln!(std::io::stderr(), "smb dissect: output: {e}");
                return ExitCode::FAILURE;
            }
            None => {}
        }
        let _ = out.flush();
        match result {
            Ok(summary) => {
                let _ = writeln!(out, "{summary}");
                let _ = out.flush();
                if summary.messages == 0 {
                    let _ = writeln!(
                        std::io::stderr(),
                        "smb dissect: {file}: no SMB traffic on TCP ports {:?} (see --port)",
                        args.options.ports
                    );
                }
                ok &= summary.failed == 0 && summary.messages > 0;
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "smb dissect: {file}: {e}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_and_secrets() {
        use clap::Parser;
        let a = |v: &[&str]| {
            let cli = crate::args::Cli::try_parse_from(
                ["smb", "dissect"].iter().chain(v.iter()).copied(),
            )
            .map_err(|e| e.to_string())?;
            match cli.command {
                crate::args::Command::Dissect(d) => parse_args(&d),
                _ => unreachable!(),
            }
        };
        let args = a(&[
            "--user",
            "WG\\bob",
            "--password",
            "pw",
            "--port",
            "4455",
            "x.pcap",
        ])
        .unwrap();
        let creds = args.options.credentials.unwrap();
        assert_eq!((creds.domain.as_str(), creds.user.as_str()), ("WG", "bob"));
        assert_eq!(args.options.ports, [445, 139, 4455]);
        assert_eq!(args.files, ["x.pcap"]);
        let hash = "00112233445566778899aabbccddeeff";
        assert!(a(&["--nt-hash", hash, "f"])
            .unwrap()
            .options
            .credentials
            .is_some());
        let err = a(&["--nt-hash", "0011zz", "f"]).err().unwrap();
        assert!(!err.contains("0011zz"), "{err}");
        assert!(a(&["--port", "0", "f"]).is_err());
        assert!(a(&["--bogus", "f"]).is_err());
        assert!(a(&["--user", "u"]).is_err());
        let dbg = format!("{:?}", a(&["--password", "s3cret!", "f"]).unwrap().options);
        assert!(!dbg.contains("s3cret!"), "{dbg}");
    }
}
