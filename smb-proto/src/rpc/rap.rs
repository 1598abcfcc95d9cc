//! RAP, the LAN Manager Remote Administration Protocol (MS-RAP): what SMB1 servers answer
//! on the `\PIPE\LANMAN` transaction of `IPC$`, and the only way to ask a master browser
//! for the workgroups and servers it knows. Three commands, at information level 1:
//!
//! * NetShareEnum (MS-RAP 2.5.6.1): a server's shares, for servers without SRVSVC;
//! * NetServerEnum2 (2.5.5.2): a workgroup's servers, or with [`server_type::DOMAIN_ENUM`]
//!   the workgroups a master browser knows;
//! * NetServerEnum3 (2.5.5.3): the same from a given name on, to go on after
//!   [`ERROR_MORE_DATA`].
//!
//! A request is the transaction's Parameters (2.5.1): RAPOpcode, ParamDesc and DataDesc
//! (ASCII descriptors, each NUL-terminated), then the parameters ParamDesc describes. The
//! answer's Parameters are Win32ErrorCode, Converter and the command's out-parameters; its
//! Data holds fixed-size records, then the strings they point to. A pointer's low 16 bits
//! minus Converter is an offset into the Data (2.5.11). Strings are in the server's OEM
//! code page whatever the SMB header's Unicode flag says; this module reads them as Latin-1
//! (every byte is one character, so nothing is lost or refused).
//!
//! Every decoder takes untrusted bytes: it never panics, checks each count against the
//! bytes present before allocating, and fails with a [`RapError`].

use crate::ntstatus::Errno;
use crate::wire::codec::{DecodeError, Reader};

/// The transaction name RAP requests go to (MS-RAP 2.5.1).
pub const LANMAN_PIPE: &str = "\\PIPE\\LANMAN";

/// NERR_Success.
pub const NERR_SUCCESS: u16 = 0;
/// ERROR_MORE_DATA: a partial success; the records returned are valid and more exist
/// (MS-RAP 3.2.5.12: NetServerEnum3 goes on from the last name).
pub const ERROR_MORE_DATA: u16 = 0x00EA;

/// The ReceiveBufferSize asked for with NetShareEnum: what smbclient sends, below the
/// 0xFFFF that some servers (Windows 2000) refuse.
pub const SHARE_ENUM_BUFFER: u16 = 0xFFE0;
/// The ReceiveBufferSize asked for with NetServerEnum2 and NetServerEnum3.
pub const SERVER_ENUM_BUFFER: u16 = 0xFFFF;

/// ServerType bits (MS-RAP 2.5.5.2.1, MS-BRWS 2.2.1).
pub mod server_type {
    /// SV_TYPE_WORKSTATION.
    pub const WORKSTATION: u32 = 0x0000_0001;
    /// SV_TYPE_SERVER.
    pub const SERVER: u32 = 0x0000_0002;
    /// SV_TYPE_MASTER_BROWSER.
    pub const MASTER_BROWSER: u32 = 0x0004_0000;
    /// SV_TYPE_DOMAIN_ENUM: list workgroups (domains), not servers.
    pub const DOMAIN_ENUM: u32 = 0x8000_0000;
    /// What libsmbclient asks for to list a workgroup's servers: every server type bit
    /// but SV_TYPE_WORKSTATION and the enumeration flags.
    pub const ALL_SERVERS: u32 = 0x0000_FFFE;
}

/// The opcodes (MS-RAP 2.5.1).
mod opcode {
    pub(super) const NET_SHARE_ENUM: u16 = 0x0000;
    pub(super) const NET_SERVER_ENUM2: u16 = 0x0068;
    pub(super) const NET_SERVER_ENUM3: u16 = 0x00D7;
}

/// NetShareInfo1 (MS-RAP 2.5.6.2.2): NetName[13], Pad, Type, RemarkPtr.
const SHARE_INFO_1_LEN: usize = 20;
/// NetServerInfo1 (MS-RAP 2.5.5.2.3): ServerName[16], Major, Minor, ServerType, CommentPtr.
const SERVER_INFO_1_LEN: usize = 26;

/// Why a RAP answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RapError {
    /// The answer ended early or held a count or pointer outside its bytes.
    #[error("malformed RAP answer: {0}")]
    Decode(#[from] DecodeError),
    /// The server refused the command with this Win32 error code (MS-RAP 2.5.2).
    #[error("the server answered RAP with error {0:#06x}")]
    Status(u16),
    /// A name for a request that a RAP string cannot carry: not ASCII, or with a NUL.
    #[error("{what} {value:?} is not a RAP string (ASCII without NUL)")]
    BadString {
        /// Which parameter.
        what: &'static str,
        /// The value refused.
        value: String,
    },
}

impl RapError {
    /// The errno this maps to: EPROTO for a malformed answer, EINVAL for a request this
    /// module refuses to build, EIO for the server's refusal.
    pub fn errno(&self) -> Errno {
        match self {
            RapError::Decode(_) => Errno::EPROTO,
            RapError::BadString { .. } => Errno::EINVAL,
            RapError::Status(_) => Errno::EIO,
        }
    }
}

/// Starts a request's Parameters: opcode and the two descriptors.
fn request(opcode: u16, param_desc: &str, data_desc: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&opcode.to_le_bytes());
    for desc in [param_desc, data_desc] {
        out.extend_from_slice(desc.as_bytes());
        out.push(0);
    }
    out
}

/// Appends `value` as a NUL-terminated RAP string (`z`).
fn put_string(out: &mut Vec<u8>, what: &'static str, value: &str) -> Result<(), RapError> {
    if !value.is_ascii() || value.contains('\0') {
        return Err(RapError::BadString {
            what,
            value: value.to_string(),
        });
    }
    out.extend_from_slice(value.as_bytes());
    out.push(0);
    Ok(())
}

/// The Parameters of NetShareEnum at level 1 (MS-RAP 2.5.6.1.1): `WrLeh`, `B13BWz`.
pub fn net_share_enum_request() -> Vec<u8> {
    let mut out = request(opcode::NET_SHARE_ENUM, "WrLeh", "B13BWz");
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&SHARE_ENUM_BUFFER.to_le_bytes());
    out
}

/// The Parameters of NetServerEnum2 at level 1 (MS-RAP 2.5.5.2.1): `WrLehDz`, `B16BBDz`,
/// the servers of `server_type` (see [`server_type`]) in `domain`. Samba lists nothing
/// for an empty domain, so always name the workgroup (upper case, as NetBIOS names are).
///
/// # Errors
///
/// [`RapError::BadString`] when `domain` is not ASCII or holds a NUL.
pub fn net_server_enum2_request(server_type: u32, domain: &str) -> Result<Vec<u8>, RapError> {
    let mut out = request(opcode::NET_SERVER_ENUM2, "WrLehDz", "B16BBDz");
    server_enum_params(&mut out, server_type, domain)?;
    Ok(out)
}

/// The Parameters of NetServerEnum3 at level 1 (MS-RAP 2.5.5.3.1): NetServerEnum2's,
/// starting at `first_name` (the last name of the previous answer, which the server
/// returns again first).
///
/// # Errors
///
/// [`RapError::BadString`] when `domain` or `first_name` is not ASCII or holds a NUL.
pub fn net_server_enum3_request(
    server_type: u32,
    domain: &str,
    first_name: &str,
) -> Result<Vec<u8>, RapError> {
    let mut out = request(opcode::NET_SERVER_ENUM3, "WrLehDzz", "B16BBDz");
    server_enum_params(&mut out, server_type, domain)?;
    put_string(&mut out, "first name", first_name)?;
    Ok(out)
}

fn server_enum_params(out: &mut Vec<u8>, server_type: u32, domain: &str) -> Result<(), RapError> {
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&SERVER_ENUM_BUFFER.to_le_bytes());
    out.extend_from_slice(&server_type.to_le_bytes());
    put_string(out, "domain", domain)
}

/// One share of a NetShareEnum answer (NetShareInfo1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RapShare {
    /// NetName: at most 12 characters (longer names are not listed over RAP).
    pub name: String,
    /// Type: the low 16 bits of an MS-SRVS share type ([`super::srvsvc::share_type`]).
    pub share_type: u16,
    /// The remark, empty when the pointer is null.
    pub remark: String,
}

/// One server (or workgroup) of a NetServerEnum2/3 answer (NetServerInfo1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RapServer {
    /// ServerName: the server's NetBIOS name, or the workgroup's for
    /// [`server_type::DOMAIN_ENUM`].
    pub name: String,
    /// The major and minor version of its software.
    pub version: (u8, u8),
    /// ServerType bits ([`server_type`]).
    pub server_type: u32,
    /// The comment: a server's description; for a workgroup, the name of its master
    /// browser.
    pub comment: String,
}

/// The records of an enumeration answer and what the server says of the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RapList<T> {
    /// The records returned.
    pub entries: Vec<T>,
    /// EntriesAvailable: how many the server has in all.
    pub available: u16,
    /// Whether the server said ERROR_MORE_DATA: more exist than fitted.
    pub more: bool,
}

/// Decodes a NetShareEnum answer: the transaction's response Parameters and Data.
///
/// # Errors
///
/// [`RapError::Status`] when the server refused, [`RapError::Decode`] when the answer is
/// malformed.
pub fn decode_share_enum(params: &[u8], data: &[u8]) -> Result<RapList<RapShare>, RapError> {
    decode_list(params, data, SHARE_INFO_1_LEN, |r, strings| {
        let name = fixed_string(r.bytes(13, "NetShareInfo1 NetName")?);
        r.skip(1, "NetShareInfo1 Pad")?;
        let share_type = r.u16("NetShareInfo1 Type")?;
        let remark = strings.get(r.u32("NetShareInfo1 RemarkPtr")?)?;
        Ok(RapShare {
            name,
            share_type,
            remark,
        })
    })
}

/// Decodes a NetServerEnum2 or NetServerEnum3 answer: the transaction's response
/// Parameters and Data.
///
/// # Errors
///
/// [`RapError::Status`] when the server refused, [`RapError::Decode`] when the answer is
/// malformed.
pub fn decode_server_enum(params: &[u8], data: &[u8]) -> Result<RapList<RapServer>, RapError> {
    decode_list(params, data, SERVER_INFO_1_LEN, |r, strings| {
        let name = fixed_string(r.bytes(16, "NetServerInfo1 ServerName")?);
        let major = r.u8("NetServerInfo1 MajorVersion")?;
        let minor = r.u8("NetServerInfo1 MinorVersion")?;
        let server_type = r.u32("NetServerInfo1 ServerType")?;
        let comment = strings.get(r.u32("NetServerInfo1 CommentPtr")?)?;
        Ok(RapServer {
            name,
            version: (major, minor),
            server_type,
            comment,
        })
    })
}

/// The Data of an answer, for following its string pointers.
struct Strings<'a> {
    data: &'a [u8],
    converter: u16,
}

impl Strings<'_> {
    /// The NUL-terminated string a pointer points to; empty for a null pointer.
    fn get(&self, pointer: u32) -> Result<String, DecodeError> {
        if pointer == 0 {
            return Ok(String::new());
        }
        let offset = (pointer & 0xFFFF) as u16;
        let at = usize::from(offset.wrapping_sub(self.converter));
        let rest = self
            .data
            .get(at..)
            .ok_or(DecodeError::invalid("RAP string pointer", pointer))?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(DecodeError::invalid("RAP string without NUL at", pointer))?;
        Ok(latin1(&rest[..end]))
    }
}

fn decode_list<T>(
    params: &[u8],
    data: &[u8],
    record_len: usize,
    mut record: impl FnMut(&mut Reader<'_>, &Strings<'_>) -> Result<T, DecodeError>,
) -> Result<RapList<T>, RapError> {
    let mut p = Reader::new(params);
    let status = p.u16("RAP Win32ErrorCode")?;
    if status != NERR_SUCCESS && status != ERROR_MORE_DATA {
        return Err(RapError::Status(status));
    }
    let converter = p.u16("RAP Converter")?;
    let returned = usize::from(p.u16("RAP EntriesReturned")?);
    let available = p.u16("RAP EntriesAvailable")?;
    // Checked before allocating: the records must all be there.
    if returned
        .checked_mul(record_len)
        .is_none_or(|len| len > data.len())
    {
        return Err(
            DecodeError::invalid("RAP EntriesReturned beyond the data", returned as u64).into(),
        );
    }
    let strings = Strings { data, converter };
    let mut r = Reader::new(data);
    let mut entries = Vec::with_capacity(returned);
    for _ in 0..returned {
        entries.push(record(&mut r, &strings)?);
    }
    Ok(RapList {
        entries,
        available,
        more: status == ERROR_MORE_DATA,
    })
}

/// A fixed-size name field: up to its first NUL.
fn fixed_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    latin1(&b[..end])
}

fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_laid_out_as_ms_rap_says() {
        // 2.5.6.1.1: opcode 0, "WrLeh", "B13BWz", InfoLevel 1, ReceiveBufferSize.
        assert_eq!(
            net_share_enum_request(),
            b"\x00\x00WrLeh\x00B13BWz\x00\x01\x00\xe0\xff".to_vec()
        );
        // 2.5.5.2.1: opcode 0x68, "WrLehDz", "B16BBDz", level, buffer, type, domain.
        assert_eq!(
            net_server_enum2_request(server_type::DOMAIN_ENUM, "WG").unwrap(),
            b"\x68\x00WrLehDz\x00B16BBDz\x00\x01\x00\xff\xff\x00\x00\x00\x80WG\x00".to_vec()
        );
        // 2.5.5.3.1: opcode 0xD7, "WrLehDzz", then FirstNameToReturn.
        assert_eq!(
            net_server_enum3_request(server_type::ALL_SERVERS, "WG", "SRV").unwrap(),
            b"\xd7\x00WrLehDzz\x00B16BBDz\x00\x01\x00\xff\xff\xfe\xff\x00\x00WG\x00SRV\x00"
                .to_vec()
        );
        for bad in ["GRÜPPE", "A\0B"] {
            assert!(matches!(
                net_server_enum2_request(0, bad),
                Err(RapError::BadString { what: "domain", .. })
            ));
        }
    }

    /// A NetShareEnum answer as Samba lays it out: records, then strings, the pointers
    /// offset by the Converter.
    fn share_answer() -> (Vec<u8>, Vec<u8>) {
        let converter = 0x1234u16;
        let mut data = Vec::new();
        let strings_at = 2 * SHARE_INFO_1_LEN;
        for (name, ty, remark_at) in [("share", 0u16, Some(0usize)), ("IPC$", 3, None)] {
            let mut field = [0u8; 13];
            field[..name.len()].copy_from_slice(name.as_bytes());
            data.extend_from_slice(&field);
            data.push(0);
            data.extend_from_slice(&ty.to_le_bytes());
            let ptr = remark_at.map_or(0u32, |at| {
                0x5555_0000 | u32::from((strings_at + at) as u16 + converter)
            });
            data.extend_from_slice(&ptr.to_le_bytes());
        }
        data.extend_from_slice(b"Caf\xe9 files\0");
        let mut params = Vec::new();
        for v in [NERR_SUCCESS, converter, 2, 2] {
            params.extend_from_slice(&v.to_le_bytes());
        }
        (params, data)
    }

    #[test]
    fn a_share_list_decodes_with_its_strings() {
        let (params, data) = share_answer();
        let list = decode_share_enum(&params, &data).unwrap();
        assert_eq!(
            list.entries,
            vec![
                RapShare {
                    name: "share".into(),
                    share_type: 0,
                    remark: "Café files".into()
                },
                RapShare {
                    name: "IPC$".into(),
                    share_type: 3,
                    remark: String::new()
                },
            ]
        );
        assert_eq!((list.available, list.more), (2, false));
    }

    #[test]
    fn a_server_list_decodes_and_more_data_is_a_partial_success() {
        let converter = 0u16;
        let mut data = Vec::new();
        let mut name = [0u8; 16];
        name[..3].copy_from_slice(b"SRV");
        data.extend_from_slice(&name);
        data.extend_from_slice(&[4, 9]);
        data.extend_from_slice(&0x0004_1003u32.to_le_bytes());
        data.extend_from_slice(&(SERVER_INFO_1_LEN as u32).to_le_bytes());
        data.extend_from_slice(b"Samba 4.17\0");
        let mut params = Vec::new();
        for v in [ERROR_MORE_DATA, converter, 1, 7] {
            params.extend_from_slice(&v.to_le_bytes());
        }
        let list = decode_server_enum(&params, &data).unwrap();
        assert_eq!(
            list.entries,
            vec![RapServer {
                name: "SRV".into(),
                version: (4, 9),
                server_type: 0x0004_1003,
                comment: "Samba 4.17".into()
            }]
        );
        assert_eq!((list.available, list.more), (7, true));
    }

    #[test]
    fn a_refusal_is_its_status() {
        let params = [0x7C, 0x00, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode_share_enum(&params, &[]), Err(RapError::Status(0x7C)));
        assert_eq!(RapError::Status(0x7C).errno(), Errno::EIO);
    }

    #[test]
    fn every_truncation_and_bad_pointer_is_an_error() {
        let (params, data) = share_answer();
        for n in 0..params.len() {
            assert!(
                decode_share_enum(&params[..n], &data).is_err(),
                "params {n}"
            );
        }
        for n in 0..data.len() {
            assert!(decode_share_enum(&params, &data[..n]).is_err(), "data {n}");
        }
        // A count beyond the data is refused before anything is allocated for it.
        let mut huge = params.clone();
        huge[4..6].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(matches!(
            decode_share_enum(&huge, &data),
            Err(RapError::Decode(_))
        ));
        // A pointer below the Converter or past the data.
        for ptr in [0x0001u32, 0xFFFF] {
            let mut bad = data.clone();
            bad[16..20].copy_from_slice(&ptr.to_le_bytes());
            assert!(
                decode_share_enum(&params, &bad).is_err(),
                "pointer {ptr:#x}"
            );
        }
    }
}
