//! The `smb dissect` command line: options, one dissection per capture file, exit
//! status.

use std::io::Write;
use std::process::ExitCode;

use smb_proto::auth::ntlm::Credentials;

use super::{dissect, Options};

const USAGE: &str =
    "usage: smb dissect [--user [DOMAIN\\]USER] [--password PASSWORD | --nt-hash HEX]
                   [--domain DOMAIN] [--port N]… FILE.pcapng|FILE.pcap…

Reassembles the SMB traffic in each capture, decodes every SMB2 message, recovers the
session keys from the NTLMSSP exchanges with the password, and prints one line per
message: frame, TCP stream, direction, command, status, message id, session id, tree
id, the file (or share, user, dialect) and signed-ok / decrypted-ok / unsigned. Exits
non-zero if any message fails to decode, any signature fails to verify, any encrypted
message fails to decrypt, or a capture holds no SMB traffic.

options:
  --user USER        only recover keys of this user's sessions
  --password PW      the password (default: $SMB_PASSWORD)
  --nt-hash HEX      the NT hash (32 hex digits) instead of a password
  --domain DOMAIN    informational: the domain comes from each AUTHENTICATE message
  --port N           another server port carrying SMB (445 and 139 always are)";

/// Parsed command line.
struct Args {
    options: Options,
    files: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut user = String::new();
    let mut domain = String::new();
    let mut password = None;
    let mut nt_hash = None;
    let mut options = Options::default();
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--user" | "-U" => user = value()?.clone(),
            "--password" => password = Some(value()?.clone()),
            "--domain" | "-W" => domain = value()?.clone(),
            "--nt-hash" => {
                // Never echo the value: it is as secret as the password.
                let v = value()?;
                let bytes: Option<Vec<u8>> = (v.len() == 32 && v.is_ascii())
                    .then(|| {
                        (0..16)
                            .map(|i| u8::from_str_radix(&v[2 * i..2 * i + 2], 16).ok())
                            .collect()
                    })
                    .flatten();
                let hash: [u8; 16] = bytes
                    .and_then(|b| b.try_into().ok())
                    .ok_or("--nt-hash takes 32 hex digits")?;
                nt_hash = Some(hash);
            }
            "--port" | "-p" => {
                let v = value()?;
                let port: u16 = v
                    .parse()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("bad port '{v}'"))?;
                if !options.ports.contains(&port) {
                    options.ports.push(port);
                }
            }
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option {s}")),
            _ => files.push(a.clone()),
        }
    }
    if let Some((d, u)) = user.split_once('\\') {
        (domain, user) = (d.to_string(), u.to_string());
    }
    let password = password.or_else(|| std::env::var("SMB_PASSWORD").ok());
    options.credentials = match (nt_hash, password) {
        (Some(hash), _) => Some(Credentials::nt_hash(domain, user, hash)),
        (None, Some(pw)) => Some(Credentials::password(domain, user, pw)),
        (None, None) => None,
    };
    if files.is_empty() {
        return Err("no capture file given".into());
    }
    Ok(Args { options, files })
}

/// `smb dissect ARGS…`: dissects each capture to stdout, a summary line per file.
/// Exit status 0 when everything verified, 1 on any failure, 2 on a usage error.
pub fn main(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        // A closed pipe (`| head`) is not worth a panic.
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("smb dissect: {e}\n\n{USAGE}");
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
                eprintln!("smb dissect: {file}: {e}");
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
                eprintln!("smb dissect: output: {e}");
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
                    eprintln!(
                        "smb dissect: {file}: no SMB traffic on TCP ports {:?} (see --port)",
                        args.options.ports
                    );
                }
                ok &= summary.failed == 0 && summary.messages > 0;
            }
            Err(e) => {
                eprintln!("smb dissect: {file}: {e}");
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
        let a = |v: &[&str]| parse_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
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
