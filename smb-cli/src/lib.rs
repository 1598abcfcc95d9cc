//! The library half of the `smb` tool: what its subcommands share with tests and other
//! programs: the capture dissector behind `smb dissect`, and the escaping of names from
//! the network for the terminal.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dissect;

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

#[cfg(test)]
mod tests {
    use super::printable;

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
