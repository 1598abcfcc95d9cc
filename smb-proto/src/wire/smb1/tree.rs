//! SMB_COM_TREE_CONNECT_ANDX (MS-CIFS 2.2.4.55, MS-SMB 2.2.4.7), SMB_COM_TREE_DISCONNECT
//! (MS-CIFS 2.2.4.51) and SMB_COM_LOGOFF_ANDX (MS-CIFS 2.2.4.54).

use bytes::Bytes;

use super::{Blocks, Parsed, ANDX_NONE};
use crate::wire::codec::DecodeError;

/// TREE_CONNECT_ANDX request: share-level password empty (user-level security).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeConnectRequest {
    /// `\\SERVER\SHARE`.
    pub path: String,
}

impl TreeConnectRequest {
    /// Appends the blocks after an already-written header: Flags 0, a one-byte empty
    /// password, the path in UTF-16, and the service `?????` (any type).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut b = Blocks::default();
        b.words(&ANDX_NONE)
            .words(&0u16.to_le_bytes())
            .words(&1u16.to_le_bytes())
            .bytes(&[0])
            .utf16z(&self.path)
            .asciiz("?????");
        b.finish(out);
    }

    /// Decodes a request (WordCount 4, MS-CIFS 2.2.4.55.1) as a server (or a capture's
    /// reader) sees it: the path after the PasswordLength bytes of password; `msg` starts
    /// at the header.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the blocks do not fit the message, WordCount is not 4, or
    /// the password is longer than the data block.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let p = Parsed::new(msg)?;
        let mut r = p.words(&[4], "tree connect word count")?;
        r.skip(4 + 2, "andx, flags")?;
        let password_len = usize::from(r.u16("password length")?);
        let (path, _) = p.string(password_len, "tree connect path")?;
        Ok(TreeConnectRequest { path })
    }
}

/// TREE_CONNECT_ANDX response; the TID is in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeConnectResponse {
    /// OptionalSupport (SMB_SHARE_IS_IN_DFS 0x0002, …).
    pub optional_support: u16,
}

impl TreeConnectResponse {
    /// Decodes the response (WordCount 3, or 7 in the extended form); `msg` starts at
    /// the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let p = Parsed::new(msg)?;
        let mut r = p.words(&[3, 7], "tree connect word count")?;
        r.skip(4, "andx")?;
        Ok(TreeConnectResponse {
            optional_support: r.u16("optional support")?,
        })
    }
}

/// TREE_DISCONNECT request: no words, no bytes; the TID in the header names the tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeDisconnectRequest;

impl TreeDisconnectRequest {
    /// Appends the (empty) blocks.
    pub fn encode(&self, out: &mut Vec<u8>) {
        Blocks::default().finish(out);
    }
}

/// LOGOFF_ANDX request: the AndX words only; the UID in the header names the session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogoffRequest;

impl LogoffRequest {
    /// Appends the blocks.
    pub fn encode(&self, out: &mut Vec<u8>) {
        Blocks::default().words(&ANDX_NONE).finish(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb1::test_util::{assert_robust, encoded, reply};

    #[test]
    fn tree_connect_request_pads_the_path_after_the_password() {
        let out = encoded(|o| {
            TreeConnectRequest {
                path: "\\\\S\\x".into(),
            }
            .encode(o)
        });
        assert_eq!(out[32], 4);
        assert_eq!(&out[33..37], &[0xFF, 0, 0, 0]);
        assert_eq!(&out[39..41], &1u16.to_le_bytes());
        // Bytes start at 43: password 00 at 43, the path at 44 (even, no pad).
        assert_eq!(out[43], 0);
        assert_eq!(&out[44..46], &[b'\\', 0]);
        assert!(out.ends_with(b"x\0\0\0?????\0"));
        assert_eq!(
            usize::from(u16::from_le_bytes([out[41], out[42]])),
            out.len() - 43
        );
    }

    #[test]
    fn empty_requests() {
        assert_eq!(
            &encoded(|o| TreeDisconnectRequest.encode(o))[32..],
            &[0, 0, 0]
        );
        assert_eq!(
            &encoded(|o| LogoffRequest.encode(o))[32..],
            &[2, 0xFF, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn tree_connect_response_decodes_and_is_robust() {
        let msg = reply(0x75, 0, &[3, 0xFF, 0, 0, 0, 1, 0, 3, 0, b'A', 0, 0]);
        assert_eq!(
            TreeConnectResponse::decode(&msg).unwrap().optional_support,
            1
        );
        assert!(TreeConnectResponse::decode(&reply(0x75, 0, &[0, 0, 0])).is_err());
        assert_robust(&msg, TreeConnectResponse::decode);
    }
}
