//! TREE_CONNECT request and response, MS-SMB2 2.2.9 / 2.2.10.

use bytes::Bytes;

use super::codec::{self, DecodeError, Reader};
use super::create::variable_buffer;
use super::header::HEADER_LEN;

/// Request Flags (3.1.1), MS-SMB2 2.2.9.
pub mod flags {
    /// SMB2_TREE_CONNECT_FLAG_CLUSTER_RECONNECT.
    pub const CLUSTER_RECONNECT: u16 = 0x0001;
    /// SMB2_TREE_CONNECT_FLAG_REDIRECT_TO_OWNER.
    pub const REDIRECT_TO_OWNER: u16 = 0x0002;
    /// SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT.
    pub const EXTENSION_PRESENT: u16 = 0x0004;
}

/// ShareType, MS-SMB2 2.2.10.
pub mod share_type {
    /// SMB2_SHARE_TYPE_DISK.
    pub const DISK: u8 = 0x01;
    /// SMB2_SHARE_TYPE_PIPE (IPC$).
    pub const PIPE: u8 = 0x02;
    /// SMB2_SHARE_TYPE_PRINT.
    pub const PRINT: u8 = 0x03;
}

/// ShareFlags, MS-SMB2 2.2.10.
pub mod share_flags {
    /// SMB2_SHAREFLAG_MANUAL_CACHING (the value of the caching field when zero).
    pub const MANUAL_CACHING: u32 = 0x0000_0000;
    /// SMB2_SHAREFLAG_AUTO_CACHING.
    pub const AUTO_CACHING: u32 = 0x0000_0010;
    /// SMB2_SHAREFLAG_VDO_CACHING.
    pub const VDO_CACHING: u32 = 0x0000_0020;
    /// SMB2_SHAREFLAG_NO_CACHING.
    pub const NO_CACHING: u32 = 0x0000_0030;
    /// Mask of the two-bit caching field.
    pub const CACHING_MASK: u32 = 0x0000_0030;
    /// SMB2_SHAREFLAG_DFS.
    pub const DFS: u32 = 0x0000_0001;
    /// SMB2_SHAREFLAG_DFS_ROOT.
    pub const DFS_ROOT: u32 = 0x0000_0002;
    /// SMB2_SHAREFLAG_RESTRICT_EXCLUSIVE_OPENS.
    pub const RESTRICT_EXCLUSIVE_OPENS: u32 = 0x0000_0100;
    /// SMB2_SHAREFLAG_FORCE_SHARED_DELETE.
    pub const FORCE_SHARED_DELETE: u32 = 0x0000_0200;
    /// SMB2_SHAREFLAG_ALLOW_NAMESPACE_CACHING.
    pub const ALLOW_NAMESPACE_CACHING: u32 = 0x0000_0400;
    /// SMB2_SHAREFLAG_ACCESS_BASED_DIRECTORY_ENUM.
    pub const ACCESS_BASED_DIRECTORY_ENUM: u32 = 0x0000_0800;
    /// SMB2_SHAREFLAG_FORCE_LEVELII_OPLOCK.
    pub const FORCE_LEVELII_OPLOCK: u32 = 0x0000_1000;
    /// SMB2_SHAREFLAG_ENABLE_HASH_V1.
    pub const ENABLE_HASH_V1: u32 = 0x0000_2000;
    /// SMB2_SHAREFLAG_ENABLE_HASH_V2.
    pub const ENABLE_HASH_V2: u32 = 0x0000_4000;
    /// SMB2_SHAREFLAG_ENCRYPT_DATA: the share requires encryption.
    pub const ENCRYPT_DATA: u32 = 0x0000_8000;
    /// SMB2_SHAREFLAG_IDENTITY_REMOTING.
    pub const IDENTITY_REMOTING: u32 = 0x0004_0000;
    /// SMB2_SHAREFLAG_COMPRESS_DATA.
    pub const COMPRESS_DATA: u32 = 0x0010_0000;
    /// SMB2_SHAREFLAG_ISOLATED_TRANSPORT.
    pub const ISOLATED_TRANSPORT: u32 = 0x0020_0000;
}

/// Share Capabilities, MS-SMB2 2.2.10.
pub mod capabilities {
    /// SMB2_SHARE_CAP_DFS.
    pub const DFS: u32 = 0x0000_0008;
    /// SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY.
    pub const CONTINUOUS_AVAILABILITY: u32 = 0x0000_0010;
    /// SMB2_SHARE_CAP_SCALEOUT.
    pub const SCALEOUT: u32 = 0x0000_0020;
    /// SMB2_SHARE_CAP_CLUSTER.
    pub const CLUSTER: u32 = 0x0000_0040;
    /// SMB2_SHARE_CAP_ASYMMETRIC.
    pub const ASYMMETRIC: u32 = 0x0000_0080;
    /// SMB2_SHARE_CAP_REDIRECT_TO_OWNER.
    pub const REDIRECT_TO_OWNER: u32 = 0x0000_0100;
}

/// SMB2 TREE_CONNECT Request, MS-SMB2 2.2.9.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeConnectRequest {
    /// Flags (3.1.1), see [`flags`]; reserved before.
    pub flags: u16,
    /// Path: `\\server\share`.
    pub path: String,
}

impl TreeConnectRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 9;
    /// Header + fixed part: where the path starts.
    const BUFFER_OFFSET: usize = HEADER_LEN + 8;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let path = codec::to_utf16le(&self.path);
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&(Self::BUFFER_OFFSET as u16).to_le_bytes());
        out.extend_from_slice(&(path.len() as u16).to_le_bytes());
        out.extend_from_slice(&path);
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "tree connect request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "tree connect request structure size")?;
        let flags = r.u16("flags")?;
        let offset = r.u16("path offset")?;
        let length = r.u16("path length")?;
        let path = variable_buffer(
            msg,
            offset.into(),
            length.into(),
            Self::BUFFER_OFFSET,
            "path",
        )?;
        Ok(TreeConnectRequest {
            flags,
            path: codec::utf16le(&path, "path")?,
        })
    }
}

/// SMB2 TREE_CONNECT Response, MS-SMB2 2.2.10.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeConnectResponse {
    /// ShareType, see [`share_type`].
    pub share_type: u8,
    /// ShareFlags, see [`share_flags`].
    pub share_flags: u32,
    /// Capabilities, see [`capabilities`].
    pub capabilities: u32,
    /// MaximalAccess: the access mask the user has on the share.
    pub maximal_access: u32,
}

impl TreeConnectResponse {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 16;

    /// Decodes a response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "tree connect response")?;
        r.structure_size(Self::STRUCTURE_SIZE, "tree connect response structure size")?;
        let share_type = r.u8("share type")?;
        r.skip(1, "reserved")?;
        Ok(TreeConnectResponse {
            share_type,
            share_flags: r.u32("share flags")?,
            capabilities: r.u32("capabilities")?,
            maximal_access: r.u32("maximal access")?,
        })
    }

    /// Appends the body after an already-written header (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.push(self.share_type);
        out.push(0);
        out.extend_from_slice(&self.share_flags.to_le_bytes());
        out.extend_from_slice(&self.capabilities.to_le_bytes());
        out.extend_from_slice(&self.maximal_access.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};

    /// smb311_default.pcapng frame 12: TREE_CONNECT to `\\127.0.0.1\IPC$` (2.2.9).
    const TC_REQ_IPC: &str =
        "fe534d424000010000000000030001001800000000000000030000000000000000000000000000001d720b7c\
        00000000edd28aaa1ed4e6e5f94008cf7d93598d09000000480020005c005c003100320037002e0030002e00\
        30002e0031005c004900500043002400";
    /// smb311_default.pcapng frame 13: its response, a pipe share (2.2.10).
    const TC_RESP_IPC: &str =
        "fe534d424000010000000000030001001900000000000000030000000000000000000000ec7d82661d720b7c\
        00000000d4d818c33fabed1a055c26b4eaaf2cdd100002000000000000000000a9001f00";
    /// smb311_default.pcapng frame 19: the response for `\\127.0.0.1\share`, a disk share.
    const TC_RESP_SHARE: &str =
        "fe534d4240000100000000000300010019000000000000000600000000000000000000001f5981431d720b7c\
        0000000056621dd20b498c1de37eabf9cf2b9a01100001000000000000000000ff011f00";

    #[test]
    fn request_decodes_and_re_encodes_byte_for_byte() {
        let msg = hex(TC_REQ_IPC);
        let req = TreeConnectRequest::decode(&msg).unwrap();
        assert_eq!(req.path, r"\\127.0.0.1\IPC$");
        assert_eq!(req.flags, 0);
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    #[test]
    fn responses_report_share_type_and_access() {
        let ipc = TreeConnectResponse::decode(&hex(TC_RESP_IPC)).unwrap();
        assert_eq!(ipc.share_type, share_type::PIPE);
        assert_eq!(
            ipc.share_flags & share_flags::CACHING_MASK,
            share_flags::MANUAL_CACHING
        );
        assert_eq!(ipc.capabilities, 0);
        assert_eq!(ipc.maximal_access, 0x001f_00a9);
        let msg = hex(TC_RESP_SHARE);
        let share = TreeConnectResponse::decode(&msg).unwrap();
        assert_eq!(share.share_type, share_type::DISK);
        assert_eq!(share.maximal_access, 0x001f_01ff);
        assert_eq!(body(&with_header(|o| share.encode(o))), body(&msg));
    }

    #[test]
    fn decoders_survive_malformed_input() {
        assert_robust(&hex(TC_RESP_SHARE), TreeConnectResponse::decode);
        assert_robust(&hex(TC_REQ_IPC), TreeConnectRequest::decode);
    }
}
