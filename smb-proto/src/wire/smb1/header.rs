//! The SMB1 header, MS-CIFS 2.2.3.1 and MS-SMB 2.2.3.1 (32 bytes), and the flag,
//! capability and security-mode values the codecs and the connection use.

use crate::ntstatus::NtStatus;
use crate::wire::codec::{DecodeError, Reader};

/// Size of the SMB1 header in bytes.
pub const HEADER_LEN: usize = 32;
/// `0xFF 'S' 'M' 'B'`.
pub const PROTOCOL_ID: [u8; 4] = [0xFF, b'S', b'M', b'B'];
/// Byte range of SecuritySignature (SecurityFeatures) within the header.
pub const SIGNATURE_RANGE: std::ops::Range<usize> = 14..22;

/// An SMB1 command code (MS-CIFS 2.2.2.1); the constants are the ones this crate sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Smb1Command(pub u8);

impl Smb1Command {
    /// SMB_COM_TREE_DISCONNECT.
    pub const TREE_DISCONNECT: Smb1Command = Smb1Command(0x71);
    /// SMB_COM_NEGOTIATE.
    pub const NEGOTIATE: Smb1Command = Smb1Command(0x72);
    /// SMB_COM_SESSION_SETUP_ANDX.
    pub const SESSION_SETUP_ANDX: Smb1Command = Smb1Command(0x73);
    /// SMB_COM_LOGOFF_ANDX.
    pub const LOGOFF_ANDX: Smb1Command = Smb1Command(0x74);
    /// SMB_COM_TREE_CONNECT_ANDX.
    pub const TREE_CONNECT_ANDX: Smb1Command = Smb1Command(0x75);
    /// SMB_COM_ECHO.
    pub const ECHO: Smb1Command = Smb1Command(0x2B);
    /// SMB_COM_LOCKING_ANDX (a server's oplock break arrives as one).
    pub const LOCKING_ANDX: Smb1Command = Smb1Command(0x24);
    /// SMB_COM_NT_CANCEL.
    pub const NT_CANCEL: Smb1Command = Smb1Command(0xA4);
    /// SMB_COM_CLOSE.
    pub const CLOSE: Smb1Command = Smb1Command(0x04);
    /// SMB_COM_FLUSH.
    pub const FLUSH: Smb1Command = Smb1Command(0x05);
    /// SMB_COM_READ_ANDX.
    pub const READ_ANDX: Smb1Command = Smb1Command(0x2E);
    /// SMB_COM_WRITE_ANDX.
    pub const WRITE_ANDX: Smb1Command = Smb1Command(0x2F);
    /// SMB_COM_NT_CREATE_ANDX.
    pub const NT_CREATE_ANDX: Smb1Command = Smb1Command(0xA2);
    /// SMB_COM_CREATE_DIRECTORY.
    pub const CREATE_DIRECTORY: Smb1Command = Smb1Command(0x00);
    /// SMB_COM_DELETE_DIRECTORY.
    pub const DELETE_DIRECTORY: Smb1Command = Smb1Command(0x01);
    /// SMB_COM_DELETE.
    pub const DELETE: Smb1Command = Smb1Command(0x06);
    /// SMB_COM_RENAME.
    pub const RENAME: Smb1Command = Smb1Command(0x07);
    /// SMB_COM_TRANSACTION.
    pub const TRANSACTION: Smb1Command = Smb1Command(0x25);
    /// SMB_COM_TRANSACTION2.
    pub const TRANSACTION2: Smb1Command = Smb1Command(0x32);
    /// SMB_COM_FIND_CLOSE2.
    pub const FIND_CLOSE2: Smb1Command = Smb1Command(0x34);
    /// SMB_COM_NT_TRANSACT.
    pub const NT_TRANSACT: Smb1Command = Smb1Command(0xA0);

    /// The MS-CIFS name without its `SMB_COM_` prefix, or the code in hex.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self.0 {
            0x71 => "TREE_DISCONNECT".into(),
            0x72 => "NEGOTIATE".into(),
            0x73 => "SESSION_SETUP_ANDX".into(),
            0x74 => "LOGOFF_ANDX".into(),
            0x75 => "TREE_CONNECT_ANDX".into(),
            0x2B => "ECHO".into(),
            0x24 => "LOCKING_ANDX".into(),
            0xA4 => "NT_CANCEL".into(),
            0x04 => "CLOSE".into(),
            0x05 => "FLUSH".into(),
            0x2E => "READ_ANDX".into(),
            0x2F => "WRITE_ANDX".into(),
            0xA2 => "NT_CREATE_ANDX".into(),
            0x00 => "CREATE_DIRECTORY".into(),
            0x01 => "DELETE_DIRECTORY".into(),
            0x06 => "DELETE".into(),
            0x07 => "RENAME".into(),
            0x25 => "TRANSACTION".into(),
            0x32 => "TRANSACTION2".into(),
            0x34 => "FIND_CLOSE2".into(),
            0xA0 => "NT_TRANSACT".into(),
            c => format!("SMB1 {c:#04x}").into(),
        }
    }
}

/// Header Flags (MS-CIFS 2.2.3.1).
pub mod flags {
    /// SMB_FLAGS_CASE_INSENSITIVE.
    pub const CASE_INSENSITIVE: u8 = 0x08;
    /// SMB_FLAGS_CANONICALIZED_PATHS.
    pub const CANONICALIZED_PATHS: u8 = 0x10;
    /// SMB_FLAGS_REPLY: set by the server.
    pub const REPLY: u8 = 0x80;
}

/// Header Flags2 (MS-CIFS 2.2.3.1, MS-SMB 2.2.3.1).
pub mod flags2 {
    /// SMB_FLAGS2_LONG_NAMES.
    pub const LONG_NAMES: u16 = 0x0001;
    /// SMB_FLAGS2_SMB_SECURITY_SIGNATURE: the client signs (or wants to).
    pub const SECURITY_SIGNATURE: u16 = 0x0004;
    /// SMB_FLAGS2_SMB_SECURITY_SIGNATURE_REQUIRED.
    pub const SECURITY_SIGNATURE_REQUIRED: u16 = 0x0010;
    /// SMB_FLAGS2_IS_LONG_NAME.
    pub const IS_LONG_NAME: u16 = 0x0040;
    /// SMB_FLAGS2_EXTENDED_SECURITY.
    pub const EXTENDED_SECURITY: u16 = 0x0800;
    /// SMB_FLAGS2_NT_STATUS: Status is an NTSTATUS.
    pub const NT_STATUS: u16 = 0x4000;
    /// SMB_FLAGS2_UNICODE.
    pub const UNICODE: u16 = 0x8000;
}

/// Capabilities (MS-CIFS 2.2.4.52.2, MS-SMB 2.2.4.5.2.1).
pub mod capabilities {
    /// CAP_UNICODE.
    pub const UNICODE: u32 = 0x0000_0004;
    /// CAP_LARGE_FILES.
    pub const LARGE_FILES: u32 = 0x0000_0008;
    /// CAP_NT_SMBS.
    pub const NT_SMBS: u32 = 0x0000_0010;
    /// CAP_STATUS32.
    pub const STATUS32: u32 = 0x0000_0040;
    /// CAP_NT_FIND.
    pub const NT_FIND: u32 = 0x0000_0200;
    /// CAP_LARGE_READX.
    pub const LARGE_READX: u32 = 0x0000_4000;
    /// CAP_LARGE_WRITEX.
    pub const LARGE_WRITEX: u32 = 0x0000_8000;
    /// CAP_EXTENDED_SECURITY.
    pub const EXTENDED_SECURITY: u32 = 0x8000_0000;
}

/// NEGOTIATE response SecurityMode (MS-CIFS 2.2.4.52.2).
pub mod security_mode {
    /// NEGOTIATE_USER_SECURITY.
    pub const USER: u8 = 0x01;
    /// NEGOTIATE_ENCRYPT_PASSWORDS.
    pub const ENCRYPT_PASSWORDS: u8 = 0x02;
    /// NEGOTIATE_SECURITY_SIGNATURES_ENABLED.
    pub const SIGNATURES_ENABLED: u8 = 0x04;
    /// NEGOTIATE_SECURITY_SIGNATURES_REQUIRED.
    pub const SIGNATURES_REQUIRED: u8 = 0x08;
}

/// A decoded or to-be-encoded SMB1 header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Smb1Header {
    /// Command code.
    pub command: u8,
    /// Status: an NTSTATUS with `flags2::NT_STATUS`, else ErrorClass, a reserved byte
    /// and ErrorCode.
    pub status: u32,
    /// Flags, see [`flags`].
    pub flags: u8,
    /// Flags2, see [`flags2`].
    pub flags2: u16,
    /// PIDHigh.
    pub pid_high: u16,
    /// SecuritySignature (zero when unsigned).
    pub signature: [u8; 8],
    /// TID.
    pub tid: u16,
    /// PIDLow.
    pub pid: u16,
    /// UID.
    pub uid: u16,
    /// MID.
    pub mid: u16,
}

impl Smb1Header {
    /// Appends the 32-byte header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&PROTOCOL_ID);
        out.push(self.command);
        out.extend_from_slice(&self.status.to_le_bytes());
        out.push(self.flags);
        out.extend_from_slice(&self.flags2.to_le_bytes());
        out.extend_from_slice(&self.pid_high.to_le_bytes());
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.tid.to_le_bytes());
        out.extend_from_slice(&self.pid.to_le_bytes());
        out.extend_from_slice(&self.uid.to_le_bytes());
        out.extend_from_slice(&self.mid.to_le_bytes());
    }

    /// Decodes the header at the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let pid: [u8; 4] = r.array("smb1 protocol id")?;
        if pid != PROTOCOL_ID {
            return Err(DecodeError::invalid(
                "smb1 protocol id",
                u32::from_le_bytes(pid),
            ));
        }
        let command = r.u8("smb1 command")?;
        let status = r.u32("smb1 status")?;
        let flags = r.u8("smb1 flags")?;
        let flags2 = r.u16("smb1 flags2")?;
        let pid_high = r.u16("smb1 pid high")?;
        let signature = r.array("smb1 signature")?;
        r.skip(2, "smb1 reserved")?;
        Ok(Smb1Header {
            command,
            status,
            flags,
            flags2,
            pid_high,
            signature,
            tid: r.u16("smb1 tid")?,
            pid: r.u16("smb1 pid")?,
            uid: r.u16("smb1 uid")?,
            mid: r.u16("smb1 mid")?,
        })
    }

    /// Whether the server set SMB_FLAGS_REPLY.
    pub fn is_reply(&self) -> bool {
        self.flags & flags::REPLY != 0
    }

    /// The status as an NTSTATUS. Without `flags2::NT_STATUS` the field is a DOS error
    /// (class, code), mapped for the few a client of this crate meets
    /// (MS-CIFS 2.2.2.4); any other DOS error is STATUS_UNSUCCESSFUL.
    pub fn nt_status(&self) -> NtStatus {
        if self.flags2 & flags2::NT_STATUS != 0 || self.status == 0 {
            return NtStatus(self.status);
        }
        let class = self.status & 0xFF;
        let code = self.status >> 16;
        match (class, code) {
            // ERRDOS: ERRbadfile, ERRbadpath; ERRnoaccess.
            (0x01, 2 | 3) => NtStatus::OBJECT_NAME_NOT_FOUND,
            (0x01, 5) => NtStatus::ACCESS_DENIED,
            // ERRSRV: ERRbadpw; ERRinvnetname (bad share).
            (0x02, 2) => NtStatus::LOGON_FAILURE,
            (0x02, 6) => NtStatus::BAD_NETWORK_NAME,
            _ => NtStatus::UNSUCCESSFUL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_at_ms_cifs_offsets() {
        let h = Smb1Header {
            command: 0x73,
            status: 0xC000_006D,
            flags: flags::REPLY | flags::CASE_INSENSITIVE,
            flags2: flags2::NT_STATUS | flags2::UNICODE,
            pid_high: 0,
            signature: [1, 2, 3, 4, 5, 6, 7, 8],
            tid: 0xFFFF,
            pid: 0xFEFF,
            uid: 0x64,
            mid: 9,
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out.len(), HEADER_LEN);
        assert_eq!(out[4], 0x73);
        assert_eq!(&out[SIGNATURE_RANGE], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&out[24..26], &[0xFF, 0xFF]);
        assert_eq!(&out[30..32], &[9, 0]);
        let back = Smb1Header::decode(&out).unwrap();
        assert_eq!(back, h);
        assert!(back.is_reply());
        assert_eq!(back.nt_status(), NtStatus::LOGON_FAILURE);
        for n in 0..HEADER_LEN {
            assert!(Smb1Header::decode(&out[..n]).is_err(), "{n}");
        }
        out[0] = 0xFE;
        assert!(Smb1Header::decode(&out).is_err());
    }

    #[test]
    fn dos_errors_map_to_nt_statuses() {
        let dos = |class: u32, code: u32| Smb1Header {
            status: class | (code << 16),
            ..Default::default()
        };
        assert_eq!(dos(2, 2).nt_status(), NtStatus::LOGON_FAILURE);
        assert_eq!(dos(1, 5).nt_status(), NtStatus::ACCESS_DENIED);
        assert_eq!(dos(1, 99).nt_status(), NtStatus::UNSUCCESSFUL);
        assert_eq!(dos(0, 0).nt_status(), NtStatus::SUCCESS);
    }
}
