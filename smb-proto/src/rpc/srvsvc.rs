//! SRVSVC share enumeration: NetrShareEnum (MS-SRVS 3.1.4.8, opnum 15) at information
//! level 1, the stubs NDR-encoded as C706 chapter 14 lays them out.
//!
//! The request (MS-SRVS 3.1.4.8):
//!
//! ```text
//! NET_API_STATUS NetrShareEnum(
//!     [in, string, unique] SRVSVC_HANDLE ServerName,          // "\\host"
//!     [in, out] LPSHARE_ENUM_STRUCT InfoStruct,               // level 1, empty container
//!     [in] DWORD PreferedMaximumLength,                       // 0xFFFFFFFF: everything
//!     [out] DWORD* TotalEntries,
//!     [in, out, unique] DWORD* ResumeHandle);
//! ```
//!
//! `InfoStruct` is a SHARE_ENUM_STRUCT (2.2.4.38): the level, then the SHARE_ENUM_UNION
//! arm for it (its discriminant repeated, as for every non-encapsulated union), a unique
//! pointer to a SHARE_INFO_1_CONTAINER (2.2.4.33): EntriesRead and a unique pointer to a
//! conformant array of SHARE_INFO_1 (2.2.4.23), whose two `[string] wchar_t*` members are
//! deferred after the array, entry by entry.

use super::ndr::{NdrReader, NdrWriter};
use crate::wire::codec::DecodeError;

/// NetrShareEnum's opnum, MS-SRVS 3.1.4.8.
pub const OPNUM_NETR_SHARE_ENUM: u16 = 15;

/// MAX_PREFERRED_LENGTH: "return every entry" (MS-SRVS 2.2.2.2).
pub const MAX_PREFERRED_LENGTH: u32 = 0xFFFF_FFFF;

/// The information level this module speaks: SHARE_INFO_1 (name, type, remark).
const LEVEL_1: u32 = 1;

/// A SHARE_INFO_1 on the wire: pointer to the name, type, pointer to the remark.
const SHARE_INFO_1_LEN: usize = 12;

/// Share type values, MS-SRVS 2.2.2.4: one of the four base types in the low byte, plus
/// flags.
pub mod share_type {
    /// STYPE_DISKTREE: a disk drive.
    pub const DISKTREE: u32 = 0x0000_0000;
    /// STYPE_PRINTQ: a print queue.
    pub const PRINTQ: u32 = 0x0000_0001;
    /// STYPE_DEVICE: a communication device.
    pub const DEVICE: u32 = 0x0000_0002;
    /// STYPE_IPC: interprocess communication (`IPC$`).
    pub const IPC: u32 = 0x0000_0003;
    /// STYPE_MASK (lmshare.h): the bits that hold the base type.
    pub const MASK: u32 = 0x0000_00FF;
    /// STYPE_CLUSTER_FS.
    pub const CLUSTER_FS: u32 = 0x0200_0000;
    /// STYPE_CLUSTER_SOFS.
    pub const CLUSTER_SOFS: u32 = 0x0400_0000;
    /// STYPE_CLUSTER_DFS.
    pub const CLUSTER_DFS: u32 = 0x0800_0000;
    /// STYPE_TEMPORARY: a temporary share.
    pub const TEMPORARY: u32 = 0x4000_0000;
    /// STYPE_SPECIAL: a special (administrative) share: `IPC$`, `ADMIN$`, `C$`. A `$` at
    /// the end of a name hides a share from browsers without setting it; Samba sets it
    /// for `IPC$` and shares with `administrative share = yes`.
    pub const SPECIAL: u32 = 0x8000_0000;
}

/// The `[in]` parameters of NetrShareEnum at level 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetrShareEnumRequest {
    /// ServerName: `\\host`, or `None` for a null pointer.
    pub server_name: Option<String>,
    /// PreferedMaximumLength (sic, MS-SRVS): [`MAX_PREFERRED_LENGTH`] for everything.
    pub prefered_maximum_length: u32,
    /// ResumeHandle: 0 on a first call, `None` for a null pointer.
    pub resume_handle: Option<u32>,
}

impl NetrShareEnumRequest {
    /// Every share of `server_name` (`\\host`) in one call, from the start.
    pub fn new(server_name: &str) -> Self {
        NetrShareEnumRequest {
            server_name: Some(server_name.to_string()),
            prefered_maximum_length: MAX_PREFERRED_LENGTH,
            resume_handle: Some(0),
        }
    }

    /// The request stub.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = NdrWriter::new();
        // A top-level unique pointer's referent follows it at once.
        w.pointer(self.server_name.is_some());
        if let Some(name) = &self.server_name {
            w.string(name);
        }
        // InfoStruct is a top-level [ref] pointer: no representation, only its referent.
        w.u32(LEVEL_1);
        w.u32(LEVEL_1); // the union's discriminant
        w.pointer(true); // Level1: the container the server fills in
                         // The container, deferred to the end of InfoStruct: no entries, a null Buffer.
        w.u32(0);
        w.pointer(false);
        w.u32(self.prefered_maximum_length);
        w.pointer(self.resume_handle.is_some());
        if let Some(h) = self.resume_handle {
            w.u32(h);
        }
        w.finish()
    }

    /// Decodes a request stub at level 1 with an empty container (for a scripted
    /// server).
    ///
    /// # Errors
    ///
    /// The stub is truncated, names another level or carries entries.
    pub fn decode(stub: &[u8]) -> Result<Self, DecodeError> {
        let mut r = NdrReader::new(stub);
        let server_name = if r.pointer("ServerName")? {
            Some(r.string("ServerName")?)
        } else {
            None
        };
        level_1(&mut r)?;
        if r.pointer("Level1")? {
            r.u32("EntriesRead")?;
            if r.pointer("Buffer")? {
                return Err(DecodeError::invalid("request Buffer", 1u8));
            }
        }
        let prefered_maximum_length = r.u32("PreferedMaximumLength")?;
        let resume_handle = if r.pointer("ResumeHandle")? {
            Some(r.u32("ResumeHandle")?)
        } else {
            None
        };
        Ok(NetrShareEnumRequest {
            server_name,
            prefered_maximum_length,
            resume_handle,
        })
    }
}

/// The level and the union discriminant, both 1.
fn level_1(r: &mut NdrReader<'_>) -> Result<(), DecodeError> {
    for what in ["InfoStruct Level", "SHARE_ENUM_UNION discriminant"] {
        let level = r.u32(what)?;
        if level != LEVEL_1 {
            return Err(DecodeError::invalid(what, level));
        }
    }
    Ok(())
}

/// One SHARE_INFO_1, MS-SRVS 2.2.4.23.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareInfo1 {
    /// shi1_netname: the share's name.
    pub netname: String,
    /// shi1_type, see [`share_type`].
    pub shi1_type: u32,
    /// shi1_remark: its comment (empty for a null pointer).
    pub remark: String,
}

/// The `[out]` parameters and return value of NetrShareEnum at level 1.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetrShareEnumResponse {
    /// The container's entries (none for a null container or buffer).
    pub shares: Vec<ShareInfo1>,
    /// TotalEntries: how many there are in all.
    pub total_entries: u32,
    /// ResumeHandle, `None` for a null pointer.
    pub resume_handle: Option<u32>,
    /// The NET_API_STATUS returned: 0 for success, else a Win32 error.
    pub return_value: u32,
}

impl NetrShareEnumResponse {
    /// Decodes a response stub.
    ///
    /// # Errors
    ///
    /// The stub is truncated, names another level, counts more entries or characters
    /// than its bytes can hold (refused before anything is allocated for them), an
    /// array size that is not EntriesRead, or an entry without a name.
    pub fn decode(stub: &[u8]) -> Result<Self, DecodeError> {
        let mut r = NdrReader::new(stub);
        level_1(&mut r)?;
        let mut shares = Vec::new();
        if r.pointer("Level1")? {
            let entries_read = r.u32("EntriesRead")?;
            if r.pointer("Buffer")? {
                // The conformant array's size, checked against what is left before the
                // vectors below are sized by it.
                let n = r.count(SHARE_INFO_1_LEN, "SHARE_INFO_1 array")?;
                if n != entries_read as usize {
                    return Err(DecodeError::invalid("SHARE_INFO_1 array size", n as u64));
                }
                let mut fixed = Vec::with_capacity(n);
                for _ in 0..n {
                    fixed.push((
                        r.pointer("shi1_netname")?,
                        r.u32("shi1_type")?,
                        r.pointer("shi1_remark")?,
                    ));
                }
                shares.reserve_exact(n);
                for (has_name, shi1_type, has_remark) in fixed {
                    // A share without a name cannot be listed or connected to.
                    if !has_name {
                        return Err(DecodeError::invalid("shi1_netname pointer", 0u8));
                    }
                    let netname = r.string("shi1_netname")?;
                    let remark = if has_remark {
                        r.string("shi1_remark")?
                    } else {
                        String::new()
                    };
                    shares.push(ShareInfo1 {
                        netname,
                        shi1_type,
                        remark,
                    });
                }
            } else if entries_read != 0 {
                return Err(DecodeError::invalid(
                    "EntriesRead without Buffer",
                    entries_read,
                ));
            }
        }
        let total_entries = r.u32("TotalEntries")?;
        let resume_handle = if r.pointer("ResumeHandle")? {
            Some(r.u32("ResumeHandle")?)
        } else {
            None
        };
        let return_value = r.u32("return value")?;
        Ok(NetrShareEnumResponse {
            shares,
            total_entries,
            resume_handle,
            return_value,
        })
    }

    /// The response stub (for a scripted server).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = NdrWriter::new();
        w.u32(LEVEL_1);
        w.u32(LEVEL_1);
        w.pointer(true);
        w.u32(self.shares.len() as u32);
        w.pointer(!self.shares.is_empty());
        if !self.shares.is_empty() {
            w.u32(self.shares.len() as u32);
            for s in &self.shares {
                w.pointer(true);
                w.u32(s.shi1_type);
                w.pointer(true);
            }
            for s in &self.shares {
                w.string(&s.netname);
                w.string(&s.remark);
            }
        }
        w.u32(self.total_entries);
        w.pointer(self.resume_handle.is_some());
        if let Some(h) = self.resume_handle {
            w.u32(h);
        }
        w.u32(self.return_value);
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::pdu::{encode_response, Reassembly, Reply, Request};
    use crate::wire::request::test_util::hex;

    /// smb311_share_list.pcapng frame 23, the IOCTL input: smbclient's NetrShareEnum
    /// request, call 2, server name `127.0.0.1` (MS-SRVS 3.1.4.8).
    const ENUM_REQUEST: &str = "05000003100000005c000000020000004400000000000f00000002000a000000\
        000000000a0000003100320037002e0030002e0030002e00310000000100000001000000040002000000\
        000000000000ffffffff0800020000000000";
    /// smb311_share_list.pcapng frame 24, the IOCTL output: Samba's answer, one
    /// fragment: `share` (a disk, empty comment) and `IPC$`.
    const ENUM_RESPONSE: &str = "0500020310000000ec00000002000000d40000000000000001000000010000\
        000c0002000200000010000200020000001400020000000000180002001c000200030000802000020006\
        0000000000000006000000730068006100720065000000010000000000000001000000000000000500000\
        000000000050000004900500043002400000000002300000000000000230000004900500043002000530\
        065007200760069006300650020002800530061006d0062006100200034002e00310037002e003100320\
        02d00440065006200690061006e0029000000000002000000240002000000000000000000";

    fn captured_stub() -> Vec<u8> {
        let mut r = Reassembly::response(2, 1 << 16);
        match r.push(&hex(ENUM_RESPONSE)).unwrap() {
            Some(Reply::Response(stub)) => stub,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_request_is_smbclients_byte_for_byte() {
        let stub = NetrShareEnumRequest::new("127.0.0.1").encode();
        let pdu = Request {
            call_id: 2,
            context_id: 0,
            opnum: OPNUM_NETR_SHARE_ENUM,
            stub,
        }
        .encode();
        assert_eq!(pdu, hex(ENUM_REQUEST));
        let back = Request::decode(&pdu).unwrap();
        assert_eq!(
            NetrShareEnumRequest::decode(&back.stub).unwrap(),
            NetrShareEnumRequest::new("127.0.0.1")
        );
    }

    #[test]
    fn sambas_answer_decodes() {
        let resp = NetrShareEnumResponse::decode(&captured_stub()).unwrap();
        assert_eq!(
            resp.shares,
            [
                ShareInfo1 {
                    netname: "share".into(),
                    shi1_type: share_type::DISKTREE,
                    remark: String::new(),
                },
                ShareInfo1 {
                    netname: "IPC$".into(),
                    shi1_type: share_type::SPECIAL | share_type::IPC,
                    remark: "IPC Service (Samba 4.17.12-Debian)".into(),
                },
            ]
        );
        assert_eq!(resp.total_entries, 2);
        assert_eq!(resp.resume_handle, Some(0));
        assert_eq!(resp.return_value, 0);
        // Re-encoded with this module's referent ids, it decodes to the same.
        assert_eq!(NetrShareEnumResponse::decode(&resp.encode()).unwrap(), resp);
    }

    #[test]
    fn every_truncation_of_the_answer_is_an_error() {
        let stub = captured_stub();
        for n in 0..stub.len() {
            assert!(
                NetrShareEnumResponse::decode(&stub[..n]).is_err(),
                "cut to {n}"
            );
        }
        let request = NetrShareEnumRequest::new("\\\\server").encode();
        for n in 0..request.len() {
            assert!(
                NetrShareEnumRequest::decode(&request[..n]).is_err(),
                "cut to {n}"
            );
        }
    }

    /// Offsets in the captured stub: EntriesRead, the array's size, the first name's
    /// counts.
    const ENTRIES_READ: usize = 12;
    const ARRAY_SIZE: usize = 20;
    const NAME_MAX: usize = 48;
    const NAME_ACTUAL: usize = 56;

    fn patched(at: usize, v: u32) -> Vec<u8> {
        let mut stub = captured_stub();
        stub[at..at + 4].copy_from_slice(&v.to_le_bytes());
        stub
    }

    #[test]
    fn absurd_counts_are_refused_before_allocation() {
        // 0xFFFFFFFF entries of 12 bytes, or characters of 2: each a Truncated error
        // found by comparing with the bytes left, not an allocation of gigabytes.
        let both = patched(ENTRIES_READ, u32::MAX);
        let mut both = both;
        both[ARRAY_SIZE..ARRAY_SIZE + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            NetrShareEnumResponse::decode(&both),
            Err(DecodeError::Truncated { need, .. }) if need == u32::MAX as usize * 12
        ));
        let mut name = patched(NAME_MAX, u32::MAX);
        name[NAME_ACTUAL..NAME_ACTUAL + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            NetrShareEnumResponse::decode(&name),
            Err(DecodeError::Truncated { need, .. }) if need == u32::MAX as usize * 2
        ));
    }

    #[test]
    fn inconsistent_counts_and_pointers_are_refused() {
        // The array's size must be EntriesRead.
        assert!(NetrShareEnumResponse::decode(&patched(ENTRIES_READ, 1)).is_err());
        // An actual count beyond the maximum count.
        assert!(NetrShareEnumResponse::decode(&patched(NAME_MAX, 5)).is_err());
        // Another level.
        assert!(NetrShareEnumResponse::decode(&patched(0, 2)).is_err());
        assert!(NetrShareEnumResponse::decode(&patched(4, 502)).is_err());
        // A null name pointer (the first entry's, after the array size).
        assert!(NetrShareEnumResponse::decode(&patched(ARRAY_SIZE + 4, 0)).is_err());
        // Entries without a buffer.
        let mut no_buffer = NetrShareEnumResponse::default().encode();
        no_buffer[12..16].copy_from_slice(&3u32.to_le_bytes());
        assert!(NetrShareEnumResponse::decode(&no_buffer).is_err());
    }

    #[test]
    fn an_empty_or_failed_answer_decodes_with_its_return_value() {
        let denied = NetrShareEnumResponse {
            return_value: 5,
            resume_handle: None,
            ..Default::default()
        };
        assert_eq!(
            NetrShareEnumResponse::decode(&denied.encode()).unwrap(),
            denied
        );
        // A null container, as a server may send with an error.
        let stub = [
            1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0,
        ];
        assert_eq!(
            NetrShareEnumResponse::decode(&stub).unwrap(),
            NetrShareEnumResponse {
                return_value: 5,
                ..Default::default()
            }
        );
    }

    /// 300 shares as the integration test's server has them, in fragments of the size
    /// this client binds with.
    #[test]
    fn a_large_answer_spans_fragments_and_comes_back_whole() {
        let resp = NetrShareEnumResponse {
            shares: (0..300)
                .map(|i| ShareInfo1 {
                    netname: format!("share-{i:03}"),
                    shi1_type: share_type::DISKTREE,
                    remark: format!("comment for share {i}, grüße"),
                })
                .collect(),
            total_entries: 300,
            resume_handle: Some(0),
            return_value: 0,
        };
        let stub = resp.encode();
        let fragments = encode_response(2, 0, &stub, crate::rpc::pdu::MAX_FRAG);
        assert!(fragments.len() > 4, "{} fragments", fragments.len());
        let mut r = Reassembly::response(2, 1 << 20);
        let mut out = None;
        // Cut where a READ of 1000 bytes would.
        for chunk in fragments.concat().chunks(1000) {
            if let Some(Reply::Response(stub)) = r.push(chunk).unwrap() {
                out = Some(NetrShareEnumResponse::decode(&stub).unwrap());
            }
        }
        assert_eq!(out, Some(resp));
    }

    #[test]
    fn decoding_survives_arbitrary_corruption() {
        let stub = captured_stub();
        for i in 0..stub.len() {
            for v in [0x00, 0x01, 0x7F, 0x80, 0xFF] {
                let mut m = stub.clone();
                m[i] = v;
                let _ = NetrShareEnumResponse::decode(&m);
            }
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let mut m = stub.clone();
            for _ in 0..(next() % 8 + 1) {
                let i = (next() as usize) % m.len();
                m[i] = next() as u8;
            }
            let _ = NetrShareEnumResponse::decode(&m);
            let _ = NetrShareEnumRequest::decode(&m);
        }
    }
}
