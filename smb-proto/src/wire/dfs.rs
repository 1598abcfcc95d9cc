//! DFS referrals (MS-DFSC): the REQ_GET_DFS_REFERRAL a client sends as the input of
//! FSCTL_DFS_GET_REFERRALS (MS-SMB2 3.2.4.20.3), and the RESP_GET_DFS_REFERRAL the
//! server answers with, its entries in version 2, 3 or 4.

use super::codec::{self, DecodeError, Reader};

/// The referral version a client asks for at most: 4, as Windows asks. Servers answer
/// with what they have (Samba answers version 3 to a version 4 request).
pub const MAX_REFERRAL_LEVEL: u16 = 4;

/// ReferralHeaderFlags (MS-DFSC 2.2.4).
pub mod header_flags {
    /// R: the targets are DFS root servers that can answer referrals themselves.
    pub const REFERRAL_SERVERS: u32 = 0x0000_0001;
    /// S: the targets are storage servers (hold the files).
    pub const STORAGE_SERVERS: u32 = 0x0000_0002;
    /// T: the client may fail back to a better target.
    pub const TARGET_FAILBACK: u32 = 0x0000_0004;
}

/// ReferralEntryFlags of a referral entry (MS-DFSC 2.2.5.3, 2.2.5.4).
pub mod entry_flags {
    /// NameListReferral (V3): a domain or DC referral, which names no target path.
    pub const NAME_LIST_REFERRAL: u16 = 0x0002;
    /// TargetSetBoundary (V4): this entry starts a new set of equally good targets.
    pub const TARGET_SET_BOUNDARY: u16 = 0x0004;
}

/// ServerType of a referral entry: what the targets are.
pub mod server_type {
    /// The targets are those of a DFS link (non-root targets).
    pub const LINK: u16 = 0x0000;
    /// The targets are those of a DFS root.
    pub const ROOT: u16 = 0x0001;
}

/// REQ_GET_DFS_REFERRAL, MS-DFSC 2.2.2: the input of FSCTL_DFS_GET_REFERRALS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetDfsReferralRequest {
    /// MaxReferralLevel: the highest referral version the client understands.
    pub max_referral_level: u16,
    /// RequestFileName: the path to resolve, `\server\share[\path]` (one leading
    /// backslash).
    pub request_file_name: String,
}

impl GetDfsReferralRequest {
    /// A request for `path` at [`MAX_REFERRAL_LEVEL`].
    pub fn new(path: &str) -> Self {
        GetDfsReferralRequest {
            max_referral_level: MAX_REFERRAL_LEVEL,
            request_file_name: path.to_string(),
        }
    }

    /// Appends the structure: the level, then the name as NUL-terminated UTF-16LE.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.max_referral_level.to_le_bytes());
        codec::put_utf16le(out, &self.request_file_name);
        out.extend_from_slice(&[0, 0]);
    }
}

/// One referral entry (DFS_REFERRAL_V2, V3 with NameListReferral clear, or V4): a
/// target of the DFS root or link `dfs_path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DfsReferral {
    /// VersionNumber: 2, 3 or 4.
    pub version: u16,
    /// ServerType, see [`server_type`].
    pub server_type: u16,
    /// ReferralEntryFlags, see [`entry_flags`].
    pub flags: u16,
    /// TimeToLive: how many seconds the client may cache the referral.
    pub ttl: u32,
    /// DFSPath: the root or link the entry is for, `\server\share[\link]`.
    pub dfs_path: String,
    /// DFSAlternatePath: the same in 8.3 form (servers repeat `dfs_path`).
    pub dfs_alternate_path: String,
    /// NetworkAddress: the target, `\server\share[\path]`.
    pub network_address: String,
}

impl DfsReferral {
    /// Whether the entry is for a DFS root rather than a link.
    pub fn is_root(&self) -> bool {
        self.server_type == server_type::ROOT
    }

    /// Whether the entry starts a new target set (V4's TargetSetBoundary).
    pub fn starts_target_set(&self) -> bool {
        self.flags & entry_flags::TARGET_SET_BOUNDARY != 0
    }
}

/// RESP_GET_DFS_REFERRAL, MS-DFSC 2.2.4: the output of FSCTL_DFS_GET_REFERRALS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DfsReferralResponse {
    /// PathConsumed: bytes (UTF-16) of the request path the referral covers.
    pub path_consumed: u16,
    /// ReferralHeaderFlags, see [`header_flags`].
    pub header_flags: u32,
    /// The referral entries, in the server's order of preference.
    pub referrals: Vec<DfsReferral>,
}

/// Bytes of the fixed part of the response: PathConsumed, NumberOfReferrals,
/// ReferralHeaderFlags.
const HEADER_LEN: usize = 8;
/// The smallest referral entry: VersionNumber, Size, ServerType, ReferralEntryFlags.
const MIN_ENTRY_LEN: usize = 8;

impl DfsReferralResponse {
    /// Decodes the structure. Every entry must have one version (2, 3 or 4; MS-DFSC
    /// 2.2.5), its size must hold its fields, and its strings must lie in `buf` and
    /// end with a NUL. A V3 entry with NameListReferral set (a domain or DC referral)
    /// names no target and is refused.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] naming the field that is truncated or invalid.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let path_consumed = r.u16("dfs path consumed")?;
        let count = r.u16("dfs number of referrals")?;
        let header_flags = r.u32("dfs referral header flags")?;
        // Each entry takes at least MIN_ENTRY_LEN bytes: a count beyond what the buffer
        // holds fails below, and never reserves more than the buffer could describe.
        let room = buf.len().saturating_sub(HEADER_LEN) / MIN_ENTRY_LEN;
        let mut referrals = Vec::with_capacity(usize::from(count).min(room));
        let mut at = HEADER_LEN;
        for _ in 0..count {
            let (entry, size) = Self::entry(buf, at)?;
            if let Some(first) = referrals.first() {
                let first: &DfsReferral = first;
                if first.version != entry.version {
                    return Err(DecodeError::invalid("dfs referral version", entry.version));
                }
            }
            referrals.push(entry);
            at += size;
        }
        Ok(DfsReferralResponse {
            path_consumed,
            header_flags,
            referrals,
        })
    }

    /// The entry at `at` and its Size.
    fn entry(buf: &[u8], at: usize) -> Result<(DfsReferral, usize), DecodeError> {
        let mut r = Reader::at(buf, at, "dfs referral entry")?;
        let version = r.u16("dfs referral version")?;
        let size = usize::from(r.u16("dfs referral size")?);
        let server_type = r.u16("dfs server type")?;
        let flags = r.u16("dfs referral entry flags")?;
        let fixed = match version {
            2 => {
                r.skip(4, "dfs proximity")?;
                22
            }
            3 | 4 => 34,
            _ => return Err(DecodeError::invalid("dfs referral version", version)),
        };
        if version == 3 && flags & entry_flags::NAME_LIST_REFERRAL != 0 {
            return Err(DecodeError::invalid("dfs name list referral", flags));
        }
        if size < fixed {
            return Err(DecodeError::invalid("dfs referral size", size as u64));
        }
        codec::slice(buf, at, size, "dfs referral entry")?;
        let ttl = r.u32("dfs time to live")?;
        let mut string = |what| -> Result<String, DecodeError> {
            let offset = usize::from(r.u16(what)?);
            nul_terminated(buf, at + offset, what)
        };
        let dfs_path = string("dfs path")?;
        let dfs_alternate_path = string("dfs alternate path")?;
        let network_address = string("dfs network address")?;
        Ok((
            DfsReferral {
                version,
                server_type,
                flags,
                ttl,
                dfs_path,
                dfs_alternate_path,
                network_address,
            },
            size,
        ))
    }
}

/// The NUL-terminated UTF-16LE string at `offset` of `buf`.
fn nul_terminated(buf: &[u8], offset: usize, what: &'static str) -> Result<String, DecodeError> {
    let tail = buf.get(offset..).ok_or(DecodeError::Truncated {
        what,
        offset,
        need: 2,
        have: 0,
    })?;
    let len = tail
        .chunks_exact(2)
        .position(|c| c == [0, 0])
        .ok_or(DecodeError::Truncated {
            what,
            offset,
            need: tail.len() + 2,
            have: tail.len(),
        })?;
    codec::utf16le(&tail[..len * 2], what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16z(s: &str) -> Vec<u8> {
        let mut v = codec::to_utf16le(s);
        v.extend_from_slice(&[0, 0]);
        v
    }

    /// A response with `entries` V3/V4 entries (version, server type, flags, ttl, path,
    /// target), laid out as MS-DFSC 4.5 shows: the entries, then every string.
    fn response(version: u16, entries: &[(u16, u16, u32, &str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0x0026u16.to_le_bytes()); // PathConsumed
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&header_flags::STORAGE_SERVERS.to_le_bytes());
        let strings_at = HEADER_LEN + entries.len() * 34;
        let mut strings = Vec::new();
        for (i, (stype, flags, ttl, path, target)) in entries.iter().enumerate() {
            let entry_at = HEADER_LEN + i * 34;
            let path_off = strings_at + strings.len() - entry_at;
            strings.extend(utf16z(path));
            let target_off = strings_at + strings.len() - entry_at;
            strings.extend(utf16z(target));
            out.extend_from_slice(&version.to_le_bytes());
            out.extend_from_slice(&34u16.to_le_bytes());
            out.extend_from_slice(&stype.to_le_bytes());
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&ttl.to_le_bytes());
            out.extend_from_slice(&(path_off as u16).to_le_bytes());
            out.extend_from_slice(&(path_off as u16).to_le_bytes());
            out.extend_from_slice(&(target_off as u16).to_le_bytes());
            out.extend_from_slice(&[0; 16]); // ServiceSiteGuid
        }
        out.extend(strings);
        out
    }

    /// MS-DFSC 2.2.2: level 4, then `\a\b` NUL-terminated.
    #[test]
    fn request_encodes_level_and_name() {
        let mut out = Vec::new();
        GetDfsReferralRequest::new("\\a\\b").encode(&mut out);
        assert_eq!(
            out,
            [0x04, 0x00, b'\\', 0, b'a', 0, b'\\', 0, b'b', 0, 0, 0]
        );
    }

    /// A link with two V3 targets, as Samba answers for `msdfs:h1\s1,h2\s2`.
    #[test]
    fn v3_link_with_two_targets() {
        let buf = response(
            3,
            &[
                (0, 0, 300, "\\srv\\root\\link", "\\h1\\s1"),
                (0, 0, 300, "\\srv\\root\\link", "\\h2\\s2"),
            ],
        );
        let resp = DfsReferralResponse::decode(&buf).unwrap();
        assert_eq!(resp.path_consumed, 0x26);
        assert_eq!(resp.header_flags, header_flags::STORAGE_SERVERS);
        assert_eq!(resp.referrals.len(), 2);
        let r = &resp.referrals[1];
        assert_eq!((r.version, r.ttl, r.is_root()), (3, 300, false));
        assert_eq!(r.dfs_path, "\\srv\\root\\link");
        assert_eq!(r.dfs_alternate_path, "\\srv\\root\\link");
        assert_eq!(r.network_address, "\\h2\\s2");
    }

    /// V4 root entries with TargetSetBoundary on the first of a set.
    #[test]
    fn v4_root_with_target_set_boundary() {
        let buf = response(
            4,
            &[
                (1, entry_flags::TARGET_SET_BOUNDARY, 600, "\\d\\r", "\\a\\r"),
                (1, 0, 600, "\\d\\r", "\\b\\r"),
            ],
        );
        let resp = DfsReferralResponse::decode(&buf).unwrap();
        assert!(resp.referrals[0].is_root());
        assert!(resp.referrals[0].starts_target_set());
        assert!(!resp.referrals[1].starts_target_set());
        assert_eq!(resp.referrals[1].network_address, "\\b\\r");
    }

    /// A V2 entry (22 bytes, Proximity before the TTL), written out byte by byte.
    #[test]
    fn v2_entry() {
        let mut buf = vec![0x04, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00];
        buf.extend_from_slice(&[0x02, 0x00, 0x16, 0x00, 0x00, 0x00, 0x00, 0x00]);
        buf.extend_from_slice(&[0; 4]); // Proximity
        buf.extend_from_slice(&[0x2c, 0x01, 0x00, 0x00]); // TTL 300
        buf.extend_from_slice(&[0x16, 0x00, 0x16, 0x00, 0x1c, 0x00]);
        buf.extend(utf16z("\\x")); // at entry + 0x16
        buf.extend(utf16z("\\t")); // at entry + 0x1c
        let resp = DfsReferralResponse::decode(&buf).unwrap();
        let r = &resp.referrals[0];
        assert_eq!((r.version, r.ttl), (2, 300));
        assert_eq!(
            (r.dfs_path.as_str(), r.network_address.as_str()),
            ("\\x", "\\t")
        );
    }

    #[test]
    fn refuses_what_does_not_add_up() {
        let good = response(3, &[(0, 0, 300, "\\s\\r\\l", "\\t\\x")]);
        // Every truncation fails with an error, never a panic.
        for n in 0..good.len() {
            assert!(DfsReferralResponse::decode(&good[..n]).is_err(), "len {n}");
        }
        // A count the buffer cannot hold.
        let mut many = good.clone();
        many[2..4].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(DfsReferralResponse::decode(&many).is_err());
        // A version 1 entry, a size smaller than the fields, a string past the end.
        let mut v1 = good.clone();
        v1[8] = 1;
        assert!(DfsReferralResponse::decode(&v1).is_err());
        let mut small = good.clone();
        small[10] = 20;
        assert!(DfsReferralResponse::decode(&small).is_err());
        let mut far = good.clone();
        far[24..26].copy_from_slice(&0xfff0u16.to_le_bytes());
        assert!(DfsReferralResponse::decode(&far).is_err());
        // A name list (domain) referral names no target.
        let mut names = good.clone();
        names[14] = entry_flags::NAME_LIST_REFERRAL as u8;
        assert!(DfsReferralResponse::decode(&names).is_err());
        // Mixed versions.
        let mut mixed = response(
            3,
            &[(0, 0, 1, "\\a\\b", "\\c\\d"), (0, 0, 1, "\\a\\b", "\\e\\f")],
        );
        mixed[HEADER_LEN + 34] = 4;
        assert!(DfsReferralResponse::decode(&mixed).is_err());
    }
}
