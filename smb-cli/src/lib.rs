//! The library half of the `smb` tool: what its subcommands share with tests and other
//! programs: the capture dissector behind `smb dissect`, and the escaping of names from
//! the network for the terminal.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dissect;

use smb_blocking::{ConnectOptions, Dialect, SigningPolicy};

/// The `smb` command's options and its positional arguments (the command and its URLs
/// and paths), as [`parse_args`] found them.
#[derive(Debug)]
pub struct Args {
    /// What every connection is made with (policy, dialects, timeout…).
    pub opts: ConnectOptions,
    /// `-r`: whole trees.
    pub recursive: bool,
    /// `-p`: `mkdir` creates missing parents.
    pub parents: bool,
    /// `-v`: a summary line on stderr.
    pub verbose: bool,
    /// The command and its arguments, in order.
    pub positional: Vec<String>,
}

/// Why the arguments are not a command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    /// `--help` was asked for.
    Help,
    /// A usage error, in one line.
    Usage(String),
}

/// Parses the `smb` command's arguments (after the program name): options anywhere,
/// `--` ends them, `-` alone is a positional argument (stdin or stdout).
///
/// ```
/// let a = smb_cli::parse_args(["ls", "-r", "smb://h/s"].map(String::from).into_iter()).unwrap();
/// assert!(a.recursive);
/// assert_eq!(a.positional, ["ls", "smb://h/s"]);
/// ```
///
/// # Errors
///
/// [`ArgError::Help`] for `-h`/`--help`, [`ArgError::Usage`] for an unknown option, a
/// missing or bad value, or dialect bounds the wrong way round.
pub fn parse_args(mut raw: impl Iterator<Item = String>) -> Result<Args, ArgError> {
    let usage = |msg: String| ArgError::Usage(msg);
    let mut opts = ConnectOptions::new("");
    let (mut recursive, mut parents, mut verbose) = (false, false, false);
    let mut positional = Vec::new();
    while let Some(a) = raw.next() {
        let mut value = |name: &str| {
            raw.next()
                .ok_or_else(|| usage(format!("{name} needs a value")))
        };
        match a.as_str() {
            "-h" | "--help" => return Err(ArgError::Help),
            "-r" | "--recursive" => recursive = true,
            "-p" | "--parents" => parents = true,
            "-v" | "--verbose" => verbose = true,
            "--" => positional.extend(raw.by_ref()),
            "--signing" => {
                opts.signing = match value("--signing")?.as_str() {
                    "never" | "off" => SigningPolicy::Never,
                    "supported" | "auto" => SigningPolicy::WhenSupported,
                    "if-required" => SigningPolicy::WhenRequired,
                    "required" => SigningPolicy::Required,
                    other => return Err(usage(format!("unknown signing policy '{other}'"))),
                }
            }
            "--max-dialect" | "--min-dialect" => {
                let v = value(&a)?;
                let d =
                    Dialect::parse(&v).ok_or_else(|| usage(format!("unknown dialect '{v}'")))?;
                if a == "--max-dialect" {
                    opts.max_dialect = d;
                } else {
                    opts.min_dialect = d;
                }
            }
            "--netbios" => opts.netbios = true,
            "--encrypt" => opts.encrypt = true,
            "--allow-insecure-guest" => opts.allow_insecure_guest = true,
            "--timeout" => opts.timeout = parse_timeout(&value("--timeout")?).map_err(usage)?,
            // '-' alone is stdin or stdout; other names starting with '-' come after '--'.
            s if s.starts_with('-') && s != "-" => {
                return Err(usage(format!("unknown option {s}")))
            }
            _ => positional.push(a),
        }
    }
    if opts.min_dialect > opts.max_dialect {
        return Err(usage("--min-dialect is above --max-dialect".into()));
    }
    Ok(Args {
        opts,
        recursive,
        parents,
        verbose,
        positional,
    })
}

/// `s` with control characters escaped (`\n`, `\u{1b}`), so a name from the server cannot
/// drive the terminal or forge extra lines of output.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A `--timeout SECONDS` value: a positive, finite number of seconds that a `Duration`
/// holds (`0`, `-1`, `nan` and `inf` cannot be timeouts; `1e20` overflows a
/// `Duration`).
///
/// ```
/// assert_eq!(smb_cli::parse_timeout("2.5"), Ok(std::time::Duration::from_millis(2500)));
/// assert!(smb_cli::parse_timeout("inf").is_err());
/// ```
///
/// # Errors
///
/// A one-line message naming the value, for anything that is no timeout.
pub fn parse_timeout(v: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("bad timeout '{v}': give a positive number of seconds");
    let secs: f64 = v.parse().map_err(|_| bad())?;
    if secs.is_nan() || secs <= 0.0 {
        return Err(bad());
    }
    // `1e-20` seconds is positive but rounds to a zero `Duration`: no timeout either.
    match std::time::Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::printable;

    /// Found by the `cli_arguments` fuzz target: a positive value that rounds to zero.
    #[test]
    fn a_timeout_that_rounds_to_zero_is_refused() {
        assert!(super::parse_timeout("1e-20").is_err());
        assert!(super::parse_timeout("1e-10").is_err());
        assert!(super::parse_timeout("1e-9").is_ok());
    }

    #[test]
    fn control_characters_in_names_are_escaped() {
        assert_eq!(printable("a b ü.txt"), "a b ü.txt");
        assert_eq!(printable("dir\\f\"q\""), "dir\\f\"q\"");
        assert_eq!(
            printable("x\u{1b}[31m\ny\t\u{7f}"),
            "x\\u{1b}[31m\\ny\\t\\u{7f}"
        );
    }
}
