//! NetBIOS names: 15 characters and a suffix byte, and their encoding on the wire
//! (RFC 1001 14.1 first-level encoding, RFC 1002 4.1 name format and label string
//! pointers).

use std::fmt;

use crate::wire::codec::DecodeError;

/// Well-known suffixes (the 16th byte of a name), which say what service registered
/// the name; one host registers its name several times with different suffixes.
pub mod suffix {
    /// Workstation service: the computer's own name (also a workgroup's group name).
    pub const WORKSTATION: u8 = 0x00;
    /// `__MSBROWSE__`: the group of every local master browser ([`super::NetBiosName::msbrowse`]).
    pub const MSBROWSE: u8 = 0x01;
    /// Messenger service.
    pub const MESSENGER: u8 = 0x03;
    /// Domain master browser (a domain's PDC).
    pub const DOMAIN_MASTER_BROWSER: u8 = 0x1B;
    /// Domain controllers (a group name).
    pub const DOMAIN_CONTROLLERS: u8 = 0x1C;
    /// Local master browser of a workgroup.
    pub const MASTER_BROWSER: u8 = 0x1D;
    /// Browser election service (a group name of the workgroup).
    pub const BROWSER_ELECTIONS: u8 = 0x1E;
    /// File server service: the name an SMB client calls (pysmb's `TYPE_SERVER`).
    pub const FILE_SERVER: u8 = 0x20;
}

/// Characters a name may hold before its suffix.
const NAME_LEN: usize = 15;
/// RFC 1002 4.1: a whole compressed-or-not name is at most 255 bytes on the wire.
const MAX_WIRE_NAME: usize = 255;
/// RFC 1002 4.1 (after RFC 883): a label is at most 63 bytes; longer lengths are
/// pointers or reserved label types.
const MAX_LABEL: u8 = 63;
/// The first label of every NetBIOS name: 16 bytes, each split in two letters.
const ENCODED_LEN: u8 = 32;
/// Pointers followed in one name. Senders use one (to the question); the bound keeps
/// the work per name small however a datagram chains them.
const MAX_POINTERS: usize = 8;

/// A name the caller gave that cannot be put on the wire as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// No characters before the suffix.
    #[error("empty NetBIOS name")]
    Empty,
    /// More than 15 characters: cutting it would ask for another name.
    #[error("NetBIOS name {0:?} is longer than 15 characters")]
    TooLong(String),
    /// A control or non-ASCII character (its byte on the wire would depend on a code
    /// page the two sides do not share).
    #[error("NetBIOS name {name:?} holds {bad:?}, which is not a printable ASCII character")]
    BadCharacter {
        /// The name as given.
        name: String,
        /// The first offending character.
        bad: char,
    },
    /// `NAME#xx` whose `xx` is not a hexadecimal byte.
    #[error("NetBIOS name {0:?}: the suffix after '#' is not a hexadecimal byte")]
    BadSuffix(String),
}

/// A NetBIOS name: 15 bytes, space-padded, and a suffix byte (see [`suffix`]).
///
/// Names built from a caller's string are upper-cased, as Windows and Samba register
/// them; names decoded from the wire are kept as sent.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetBiosName([u8; 16]);

impl NetBiosName {
    /// `name` (1 to 15 printable ASCII characters, upper-cased) with `suffix`.
    ///
    /// # Errors
    ///
    /// [`NameError`] for an empty or too long name or a character outside printable
    /// ASCII.
    pub fn new(name: &str, suffix: u8) -> Result<Self, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if let Some(bad) = name.chars().find(|c| !(' '..='~').contains(c)) {
            return Err(NameError::BadCharacter {
                name: name.to_string(),
                bad,
            });
        }
        if name.len() > NAME_LEN {
            return Err(NameError::TooLong(name.to_string()));
        }
        Ok(Self::padded(name.as_bytes(), suffix))
    }

    /// A name as `nmblookup` writes it: `NAME` (suffix 0x20, the file server, as pysmb
    /// asks) or `NAME#xx` with the suffix in hexadecimal (`WORKGROUP#1d`).
    ///
    /// # Errors
    ///
    /// As for [`NetBiosName::new`], and [`NameError::BadSuffix`] for a `#` followed by
    /// anything but one or two hexadecimal digits.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        match s.rsplit_once('#') {
            Some((name, hex)) => {
                let suffix = (matches!(hex.len(), 1 | 2)
                    && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u8::from_str_radix(hex, 16).ok())
                .flatten()
                .ok_or_else(|| NameError::BadSuffix(s.to_string()))?;
                Self::new(name, suffix)
            }
            None => Self::new(s, suffix::FILE_SERVER),
        }
    }

    /// The name a NODE STATUS REQUEST asks for when it wants every name of the node:
    /// `*` followed by 15 NUL bytes (RFC 1002 4.2.17), not by spaces.
    pub fn wildcard() -> Self {
        let mut raw = [0u8; 16];
        raw[0] = b'*';
        NetBiosName(raw)
    }

    /// `\x01\x02__MSBROWSE__\x02<01>`: the group name every local master browser adds
    /// (MS-BRWS 2.1.1.3), which a broadcast name query asks for to find the master
    /// browsers of every workgroup on a subnet. [`NetBiosName::new`] refuses its control
    /// bytes; this is the one place they are allowed.
    pub fn msbrowse() -> Self {
        let mut raw = [0u8; 16];
        raw[0] = 0x01;
        raw[1] = 0x02;
        raw[2..14].copy_from_slice(b"__MSBROWSE__");
        raw[14] = 0x02;
        raw[15] = suffix::MSBROWSE;
        NetBiosName(raw)
    }

    /// The name from its 16 raw bytes (15 padded characters and the suffix).
    pub fn from_raw(raw: [u8; 16]) -> Self {
        NetBiosName(raw)
    }

    /// Up to 15 bytes of `name` upper-cased, space-padded, then `suffix`: what the
    /// NetBIOS session request sends (which cuts longer names, as pysmb does).
    pub(crate) fn padded(name: &[u8], suffix: u8) -> Self {
        let mut raw = [b' '; 16];
        for (d, s) in raw.iter_mut().zip(name.iter().take(NAME_LEN)) {
            *d = s.to_ascii_uppercase();
        }
        raw[15] = suffix;
        NetBiosName(raw)
    }

    /// The 16 raw bytes.
    pub fn raw(&self) -> &[u8; 16] {
        &self.0
    }

    /// The suffix byte (see [`suffix`]).
    pub fn suffix(&self) -> u8 {
        self.0[15]
    }

    /// The name without its padding (trailing spaces and NULs) or suffix. Bytes outside
    /// ASCII are taken as Latin-1, so every name has one spelling.
    pub fn name(&self) -> String {
        let end = self.0[..NAME_LEN]
            .iter()
            .rposition(|b| !matches!(b, b' ' | 0))
            .map_or(0, |i| i + 1);
        self.0[..end].iter().map(|&b| char::from(b)).collect()
    }

    /// Appends the name in first-level encoding with an empty scope (RFC 1001 14.1):
    /// a length byte of 32, each of the 16 bytes as two letters `'A' + nibble`, and the
    /// empty label that ends the name.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(ENCODED_LEN);
        for b in self.0 {
            out.push(b'A' + (b >> 4));
            out.push(b'A' + (b & 0x0F));
        }
        out.push(0);
    }
}

impl fmt::Display for NetBiosName {
    /// `NAME<20>`, as `nmblookup` prints names; bytes that are not printable ASCII
    /// (`__MSBROWSE__` has some) are escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.name().chars() {
            if (' '..='~').contains(&c) {
                write!(f, "{c}")?;
            } else {
                write!(f, "\\x{:02x}", u32::from(c))?;
            }
        }
        write!(f, "<{:02x}>", self.suffix())
    }
}

impl fmt::Debug for NetBiosName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetBiosName({self})")
    }
}

/// A name as it appears in a packet: the NetBIOS name and its scope (RFC 1001 14.2),
/// empty for the scope every node on an ordinary network uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedName {
    /// The name.
    pub name: NetBiosName,
    /// The scope's labels joined by dots (Latin-1), or empty.
    pub scope: String,
}

/// Decodes the name that starts at `start` in `msg` → the name and the offset just
/// after it (after the first pointer, when it was compressed).
///
/// Label string pointers (RFC 1002 4.1, RFC 883's compression) are followed only
/// backwards, each to an offset below the start of the labels read so far, so every
/// jump lowers that floor and no chain of pointers can loop; at most
/// [`MAX_POINTERS`] are followed, and the whole name is bounded by RFC 1002's 255 bytes.
pub(crate) fn decode_name(msg: &[u8], start: usize) -> Result<(ScopedName, usize), DecodeError> {
    let truncated = |offset: usize, need: usize| DecodeError::Truncated {
        what: "NetBIOS name",
        offset,
        need,
        have: msg.len().saturating_sub(offset),
    };
    let mut pos = start;
    // The offset below which the next pointer must point.
    let mut floor = start;
    // Where the name ends in the packet: after its first pointer, if it has one.
    let mut end = None;
    let mut pointers = 0;
    let mut labels: Vec<&[u8]> = Vec::new();
    let mut wire_len = 0usize;
    let end = loop {
        let len = *msg.get(pos).ok_or_else(|| truncated(pos, 1))?;
        match len {
            0 => break end.unwrap_or(pos + 1),
            1..=MAX_LABEL => {
                let label = msg
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or_else(|| truncated(pos + 1, len.into()))?;
                wire_len += 1 + label.len();
                if wire_len + 1 > MAX_WIRE_NAME {
                    return Err(DecodeError::invalid("NetBIOS name length", wire_len as u64));
                }
                labels.push(label);
                pos += 1 + label.len();
            }
            0xC0..=0xFF => {
                let low = *msg.get(pos + 1).ok_or_else(|| truncated(pos, 2))?;
                let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
                if target >= floor {
                    return Err(DecodeError::invalid(
                        "NetBIOS name pointer (not backwards)",
                        target as u64,
                    ));
                }
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err(DecodeError::invalid(
                        "NetBIOS name pointers",
                        pointers as u64,
                    ));
                }
                end.get_or_insert(pos + 2);
                floor = target;
                pos = target;
            }
            // 01 and 10 in the top bits are reserved label types (RFC 883).
            _ => return Err(DecodeError::invalid("NetBIOS name label length", len)),
        }
    };
    let Some((first, scope)) = labels.split_first() else {
        return Err(DecodeError::invalid("NetBIOS name (no labels)", 0u8));
    };
    if first.len() != usize::from(ENCODED_LEN) {
        return Err(DecodeError::invalid(
            "NetBIOS encoded name length",
            first.len() as u64,
        ));
    }
    let mut raw = [0u8; 16];
    for (d, pair) in raw.iter_mut().zip(first.chunks_exact(2)) {
        let nibble = |c: u8| {
            c.checked_sub(b'A')
                .filter(|n| *n < 16)
                .ok_or(DecodeError::invalid("NetBIOS first-level encoding", c))
        };
        *d = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    let scope = scope
        .iter()
        .map(|l| l.iter().map(|&b| char::from(b)).collect::<String>())
        .collect::<Vec<_>>()
        .join(".");
    Ok((
        ScopedName {
            name: NetBiosName(raw),
            scope,
        },
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msbrowse_is_the_master_browsers_group_name() {
        let n = NetBiosName::msbrowse();
        assert_eq!(n.raw(), b"\x01\x02__MSBROWSE__\x02\x01");
        assert_eq!(n.to_string(), "\\x01\\x02__MSBROWSE__\\x02<01>");
        // It goes on the wire as any other name: 32 letters, each a nibble + 'A'.
        let mut wire = Vec::new();
        n.encode(&mut wire);
        assert_eq!(&wire[..5], &[32, b'A', b'B', b'A', b'C']);
    }

    #[test]
    fn rfc_1001_example_encodes() {
        // RFC 1001 14.1: "FRED" padded with spaces, suffix 0x20 in this example.
        let mut out = Vec::new();
        NetBiosName::new("fred", 0x20).unwrap().encode(&mut out);
        assert_eq!(out[0], 32);
        assert_eq!(&out[1..33], b"EGFCEFEECACACACACACACACACACACACA");
        assert_eq!(out[33], 0);
        let (decoded, end) = decode_name(&out, 0).unwrap();
        assert_eq!(decoded.name.to_string(), "FRED<20>");
        assert_eq!((decoded.scope.as_str(), end), ("", 34));
    }

    #[test]
    fn parse_takes_nmblookup_suffixes() {
        assert_eq!(NetBiosName::parse("srv").unwrap().to_string(), "SRV<20>");
        let wg = NetBiosName::parse("workgroup#1d").unwrap();
        assert_eq!((wg.name().as_str(), wg.suffix()), ("WORKGROUP", 0x1D));
        assert_eq!(NetBiosName::parse("A#0").unwrap().suffix(), 0);
        assert_eq!(
            NetBiosName::parse("A#xyz"),
            Err(NameError::BadSuffix("A#xyz".into()))
        );
        assert_eq!(NetBiosName::parse("#20"), Err(NameError::Empty));
        assert_eq!(
            NetBiosName::parse("SIXTEEN-CHARS-XX"),
            Err(NameError::TooLong("SIXTEEN-CHARS-XX".into()))
        );
        assert!(matches!(
            NetBiosName::new("caf\u{e9}", 0),
            Err(NameError::BadCharacter { bad: '\u{e9}', .. })
        ));
        assert!(NetBiosName::new("a\tb", 0).is_err());
    }

    #[test]
    fn wildcard_is_nul_padded() {
        let mut out = Vec::new();
        NetBiosName::wildcard().encode(&mut out);
        // As nmblookup -A sends it.
        assert_eq!(&out[1..33], b"CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(NetBiosName::wildcard().name(), "*");
    }

    #[test]
    fn scope_labels_are_kept() {
        let mut msg = Vec::new();
        NetBiosName::new("HOST", 0).unwrap().encode(&mut msg);
        msg.pop();
        msg.extend_from_slice(b"\x07example\x03com\x00");
        let (decoded, end) = decode_name(&msg, 0).unwrap();
        assert_eq!(decoded.scope, "example.com");
        assert_eq!(end, msg.len());
    }

    /// A name, then a name that is one pointer to it (as nmbd's registrations carry
    /// their additional record's name: `c0 0c`).
    #[test]
    fn backward_pointers_are_followed() {
        let mut msg = vec![0u8; 12];
        NetBiosName::new("HOST", 0x20).unwrap().encode(&mut msg);
        msg.extend_from_slice(&[0xC0, 0x0C, 0xEE]);
        let (decoded, end) = decode_name(&msg, 46).unwrap();
        assert_eq!(decoded.name.to_string(), "HOST<20>");
        assert_eq!(end, 48);
    }

    #[test]
    fn pointer_loops_and_forward_pointers_are_refused() {
        // A pointer to itself.
        assert!(decode_name(&[0xC0, 0x00], 0).is_err());
        // A pointer forward.
        assert!(decode_name(&[0xC0, 0x02, 0x00], 0).is_err());
        // Two pointers pointing at each other: the second would go up again.
        let mut msg = vec![0xC0, 0x02, 0xC0, 0x00];
        assert!(decode_name(&msg, 2).is_err());
        // A label then a pointer back to that label: reading it again would loop.
        msg = vec![0x01, b'A', 0xC0, 0x00];
        assert!(decode_name(&msg, 0).is_err());
        // A long chain of backward pointers, each lowering the floor.
        let mut msg = Vec::new();
        NetBiosName::new("HOST", 0).unwrap().encode(&mut msg);
        for i in 0..MAX_POINTERS + 1 {
            let target = if i == 0 { 0 } else { 34 + 2 * (i - 1) };
            msg.extend_from_slice(&[0xC0, target as u8]);
        }
        let last = msg.len() - 2;
        assert!(decode_name(&msg, last - 2).is_ok());
        assert!(decode_name(&msg, last).is_err());
    }

    #[test]
    fn malformed_names_are_errors() {
        // Truncated label.
        assert!(decode_name(&[32, b'A', b'B'], 0).is_err());
        // Not 32 bytes.
        assert!(decode_name(&[2, b'A', b'A', 0], 0).is_err());
        // A letter beyond 'P'.
        let mut msg = vec![32];
        msg.extend_from_slice(&[b'Z'; 32]);
        msg.push(0);
        assert!(decode_name(&msg, 0).is_err());
        // Reserved label types.
        assert!(decode_name(&[0x40, 0], 0).is_err());
        assert!(decode_name(&[0x80, 0], 0).is_err());
        // No labels at all.
        assert!(decode_name(&[0], 0).is_err());
        // Longer than 255 bytes through many scope labels.
        let mut msg = Vec::new();
        NetBiosName::new("HOST", 0).unwrap().encode(&mut msg);
        msg.pop();
        for _ in 0..10 {
            msg.push(60);
            msg.extend_from_slice(&[b'x'; 60]);
        }
        msg.push(0);
        assert!(decode_name(&msg, 0).is_err());
        assert!(decode_name(&[], 0).is_err());
        assert!(decode_name(&[0], 5).is_err());
    }

    #[test]
    fn display_escapes_control_bytes() {
        let mut raw = *b"\x01\x02__MSBROWSE__\x02\x01";
        raw[15] = 0x01;
        assert_eq!(
            NetBiosName::from_raw(raw).to_string(),
            "\\x01\\x02__MSBROWSE__\\x02<01>"
        );
    }
}
