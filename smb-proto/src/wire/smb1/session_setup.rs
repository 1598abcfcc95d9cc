//! SMB_COM_SESSION_SETUP_ANDX with extended security (MS-SMB 2.2.4.6): the security
//! blob of each authentication round.

use bytes::Bytes;

use super::{Blocks, Parsed, ANDX_NONE};
use crate::wire::codec::DecodeError;

/// SESSION_SETUP_ANDX Action bit: the server made this a guest session.
pub const ACTION_GUEST: u16 = 0x0001;

/// SESSION_SETUP_ANDX request, extended security form (WordCount 12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSetupRequest {
    /// MaxBufferSize: the largest message the client accepts (the server cuts
    /// transaction replies to it).
    pub max_buffer_size: u16,
    /// MaxMpxCount: the server's, echoed.
    pub max_mpx: u16,
    /// VcNumber (1: 0 makes some servers drop the client's other connections).
    pub vc_number: u16,
    /// SessionKey from the NEGOTIATE response.
    pub session_key: u32,
    /// Capabilities of the client.
    pub capabilities: u32,
    /// SecurityBlob: this round's GSS token.
    pub security_blob: Bytes,
    /// NativeOS.
    pub native_os: String,
    /// NativeLanMan.
    pub native_lanman: String,
}

impl SessionSetupRequest {
    /// Appends the blocks after an already-written header. A blob longer than 64 KiB
    /// is cut to what SecurityBlobLength can say (no NTLM token comes near it).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let blob = &self.security_blob[..self.security_blob.len().min(0xFFFF)];
        let mut b = Blocks::default();
        b.words(&ANDX_NONE)
            .words(&self.max_buffer_size.to_le_bytes())
            .words(&self.max_mpx.to_le_bytes())
            .words(&self.vc_number.to_le_bytes())
            .words(&self.session_key.to_le_bytes())
            .words(&(blob.len() as u16).to_le_bytes())
            .words(&0u32.to_le_bytes())
            .words(&self.capabilities.to_le_bytes())
            .bytes(blob)
            .utf16z(&self.native_os)
            .utf16z(&self.native_lanman);
        b.finish(out);
    }

    /// Decodes a request with extended security (WordCount 12, MS-SMB 2.2.4.6.1) as a
    /// server (or a capture's reader) sees it; `msg` starts at the header. The blob is a
    /// zero-copy slice; a native string the message lacks is empty.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the blocks do not fit the message, WordCount is not 12, or
    /// the blob is longer than the data block.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let p = Parsed::new(msg)?;
        let mut r = p.words(&[12], "session setup word count")?;
        r.skip(4, "andx")?;
        let max_buffer_size = r.u16("max buffer size")?;
        let max_mpx = r.u16("max mpx count")?;
        let vc_number = r.u16("vc number")?;
        let session_key = r.u32("session key")?;
        let blob_len = usize::from(r.u16("security blob length")?);
        r.skip(4, "reserved")?;
        let capabilities = r.u32("capabilities")?;
        let security_blob = p.data_slice(0, blob_len, "security blob")?;
        let (native_os, next) = p.string(blob_len, "native os").unwrap_or_default();
        let (native_lanman, _) = p.string(next, "native lanman").unwrap_or_default();
        Ok(SessionSetupRequest {
            max_buffer_size,
            max_mpx,
            vc_number,
            session_key,
            capabilities,
            security_blob,
            native_os,
            native_lanman,
        })
    }
}

/// SESSION_SETUP_ANDX response, extended security form (WordCount 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSetupResponse {
    /// Action, see [`ACTION_GUEST`].
    pub action: u16,
    /// SecurityBlob: the server's GSS token.
    pub security_blob: Bytes,
}

impl SessionSetupResponse {
    /// Decodes the response; `msg` starts at the header. The native strings after the
    /// blob are not read.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let p = Parsed::new(msg)?;
        let mut r = p.words(&[4], "session setup word count")?;
        r.skip(4, "andx")?;
        let action = r.u16("action")?;
        let blob_len = usize::from(r.u16("security blob length")?);
        Ok(SessionSetupResponse {
            action,
            security_blob: p.data_slice(0, blob_len, "security blob")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb1::test_util::{assert_robust, encoded, reply};

    #[test]
    fn request_words_follow_ms_smb_and_strings_are_aligned() {
        let req = SessionSetupRequest {
            max_buffer_size: 0xFFFF,
            max_mpx: 50,
            vc_number: 1,
            session_key: 0x1122_3344,
            capabilities: 0x8000_c254,
            security_blob: Bytes::from_static(&[0x60, 0x01, 0x00]),
            native_os: String::new(),
            native_lanman: "smb-rs".into(),
        };
        let out = encoded(|o| req.encode(o));
        assert_eq!(out[32], 12);
        assert_eq!(&out[33..37], &[0xFF, 0, 0, 0]);
        assert_eq!(&out[37..39], &0xFFFFu16.to_le_bytes());
        assert_eq!(&out[39..41], &50u16.to_le_bytes());
        assert_eq!(&out[41..43], &1u16.to_le_bytes());
        assert_eq!(&out[43..47], &0x1122_3344u32.to_le_bytes());
        assert_eq!(&out[47..49], &3u16.to_le_bytes());
        assert_eq!(&out[53..57], &0x8000_c254u32.to_le_bytes());
        // Bytes at 59: the blob (3 bytes) ends at 62, even: no pad before NativeOS.
        assert_eq!(&out[59..62], &[0x60, 0x01, 0x00]);
        assert_eq!(&out[62..64], &[0, 0]);
        // NativeOS ends at 64, even: "smb-rs" follows at once.
        assert_eq!(&out[64..66], &[b's', 0]);
        let byte_count = u16::from_le_bytes([out[57], out[58]]);
        assert_eq!(usize::from(byte_count), out.len() - 59);
    }

    fn samba_reply() -> Bytes {
        let mut body = vec![4u8, 0xFF, 0, 0, 0, 1, 0];
        body.extend_from_slice(&3u16.to_le_bytes());
        body.extend_from_slice(&9u16.to_le_bytes());
        body.extend_from_slice(&[0xA1, 0x01, 0x00]);
        body.extend_from_slice(&[0, b'U', 0, 0, 0, 0, 0]);
        body.push(0);
        reply(0x73, 0xC000_0016, &body)
    }

    #[test]
    fn response_gives_action_and_blob() {
        let r = SessionSetupResponse::decode(&samba_reply()).unwrap();
        assert_eq!(r.action, ACTION_GUEST);
        assert_eq!(&r.security_blob[..], [0xA1, 0x01, 0x00]);
        // A blob longer than the data block, an error reply's WordCount 0.
        let mut long = samba_reply().to_vec();
        long[32 + 7] = 10;
        assert!(SessionSetupResponse::decode(&long.into()).is_err());
        assert!(SessionSetupResponse::decode(&reply(0x73, 0xC000_006D, &[0, 0, 0])).is_err());
    }

    #[test]
    fn decoding_is_robust() {
        assert_robust(&samba_reply(), SessionSetupResponse::decode);
    }
}
