//! The `smb` tool: its command line ([`Cli`], declared with clap), the commands over
//! smb-blocking, the capture dissector behind `smb dissect`, what it prints (listings,
//! `--json` shapes, error reports and exit statuses), and the escaping of names from
//! the network for the terminal. The binary is [`main`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod args;
pub mod auth;
pub mod bench;
pub mod dissect;
mod progress;
pub mod report;
mod run;
pub mod show;

pub use args::Cli;
pub use run::main;

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

/// A `--size BYTES` value: a whole number of bytes, with an optional binary unit `K`,
/// `M`, `G` or `T` (also spelled `KiB`, `MiB`…; 1K = 1024), at least one byte.
///
/// ```
/// assert_eq!(smb_cli::parse_size("64M"), Ok(64 << 20));
/// assert_eq!(smb_cli::parse_size("1000"), Ok(1000));
/// assert!(smb_cli::parse_size("0").is_err());
/// ```
///
/// # Errors
///
/// A one-line message naming the value, for anything else or a size past 64 bits.
pub fn parse_size(v: &str) -> Result<u64, String> {
    let bad = || format!("bad size '{v}': give bytes, or a number with K, M, G or T");
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(digits);
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        "t" | "tib" => 40,
        _ => return Err(bad()),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    match n.checked_mul(1 << shift) {
        Some(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn timeouts_are_positive_finite_seconds() {
        let t = |v: &str| super::parse_timeout(v).ok();
        assert_eq!(t("5"), Some(std::time::Duration::from_secs(5)));
        assert_eq!(t("0.25"), Some(std::time::Duration::from_millis(250)));
        // Large but representable: the core saturates the deadline.
        assert!(t("1e19").is_some());
        for bad in [
            "0",
            "-1",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e309",
            "1e20",
            "99999999999999999999",
            "",
            "5s",
        ] {
            assert!(t(bad).is_none(), "{bad}");
        }
    }

    /// Found by the `cli_arguments` fuzz target: a positive value that rounds to zero.
    #[test]
    fn a_timeout_that_rounds_to_zero_is_refused() {
        assert!(super::parse_timeout("1e-20").is_err());
        assert!(super::parse_timeout("1e-10").is_err());
        assert!(super::parse_timeout("1e-9").is_ok());
    }

    #[test]
    fn sizes_are_bytes_with_binary_units() {
        let p = |v: &str| super::parse_size(v).ok();
        assert_eq!(p("1"), Some(1));
        assert_eq!(p("4K"), Some(4096));
        assert_eq!(p("64MiB"), Some(64 << 20));
        assert_eq!(p("2g"), Some(2 << 30));
        assert_eq!(p("16777215T"), Some(16_777_215 << 40));
        for bad in [
            "",
            "0",
            "0M",
            "M",
            "-1",
            "1.5M",
            "1 M",
            "1X",
            "16777216T",
            "99999999999999999999",
        ] {
            assert!(p(bad).is_none(), "{bad}");
        }
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
