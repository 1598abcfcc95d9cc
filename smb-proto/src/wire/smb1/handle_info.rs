//! TRANSACTION2 subcommands on an open file and on the share's file system:
//! QUERY_FILE_INFORMATION (MS-CIFS 2.2.6.8), SET_FILE_INFORMATION (2.2.6.9) and
//! QUERY_FS_INFORMATION (2.2.6.4).
//!
//! Their information levels (but the file system's volume and attributes, and a file's
//! SMB_QUERY_FILE_ALL_INFO, whose native levels smbclient asks) are the pass-through ones, 1000 + the MS-FSCC class
//! ([`passthrough`], MS-SMB 2.2.2.3.5 / 2.2.2.3.6): the data is then the MS-FSCC
//! structure an SMB2 QUERY_INFO or SET_INFO carries, so the SMB2 codecs decode and encode
//! it and an operation answers the same on either protocol. Samba 4.17 takes them over
//! SMB1 although its NEGOTIATE does not announce CAP_INFOLEVEL_PASSTHRU (measured against
//! Samba 4.17.12: FileAllInformation, FileBasicInformation, FileEndOfFileInformation,
//! FileAllocationInformation, FileDispositionInformation, and the file system's size,
//! attribute and volume classes; its `smbd_do_qfilepathinfo`, `smbd_do_setfilepathinfo`
//! and `smbd_do_qfsinfo` serve SMB2 through the same levels).

use super::trans::TransRequest;
use super::trans2::{subcommand, MAX_DATA};
use crate::wire::codec::{utf16le, DecodeError, Reader};

/// The first pass-through level (SMB_INFO_PASSTHROUGH, MS-SMB 2.2.2.3.5).
pub const PASSTHROUGH: u16 = 1000;

/// The native QUERY_FS_INFORMATION levels whose data is an MS-FSCC class's (MS-CIFS
/// 2.2.8.2).
pub mod fs_level {
    /// SMB_QUERY_FS_VOLUME_INFO: FileFsVolumeInformation's layout.
    pub const QUERY_FS_VOLUME_INFO: u16 = 0x0102;
    /// SMB_QUERY_FS_ATTRIBUTE_INFO: FileFsAttributeInformation's layout.
    pub const QUERY_FS_ATTRIBUTE_INFO: u16 = 0x0105;
}

/// The pass-through information level of MS-FSCC information class `class`.
pub fn passthrough(class: u8) -> u16 {
    PASSTHROUGH + u16::from(class)
}

/// TRANS2_QUERY_FILE_INFORMATION request (MS-CIFS 2.2.6.8.1): `level` of open file `fid`.
pub fn query_file_info(fid: u16, level: u16) -> TransRequest {
    let mut p = Vec::with_capacity(4);
    p.extend_from_slice(&fid.to_le_bytes());
    p.extend_from_slice(&level.to_le_bytes());
    TransRequest::trans2(subcommand::QUERY_FILE_INFORMATION, p, 2, MAX_DATA)
}

/// TRANS2_SET_FILE_INFORMATION request (MS-CIFS 2.2.6.9.1): `data` at `level` for open
/// file `fid`.
pub fn set_file_info(fid: u16, level: u16, data: impl Into<bytes::Bytes>) -> TransRequest {
    let mut p = Vec::with_capacity(6);
    p.extend_from_slice(&fid.to_le_bytes());
    p.extend_from_slice(&level.to_le_bytes());
    p.extend_from_slice(&0u16.to_le_bytes()); // Reserved
    let mut req = TransRequest::trans2(subcommand::SET_FILE_INFORMATION, p, 2, 0);
    req.data = data.into();
    req
}

/// TRANS2_QUERY_FS_INFORMATION request (MS-CIFS 2.2.6.4.1): `level` of the file system
/// behind the request's tree.
pub fn query_fs_info(level: u16) -> TransRequest {
    TransRequest::trans2(
        subcommand::QUERY_FS_INFORMATION,
        level.to_le_bytes().to_vec(),
        0,
        MAX_DATA,
    )
}

/// Where SMB_QUERY_FILE_ALL_INFO's FileNameLength is (MS-CIFS 2.2.8.3.8: four times,
/// attributes, reserved, sizes, links, flags, reserved, EaSize).
const ALL_INFO_NAME_AT: usize = 68;

/// The FileName of an SMB_QUERY_FILE_ALL_INFO answer's data (UTF-16; Samba sends the
/// path from the share's root), bounded by the data.
pub fn all_info_name(data: &[u8]) -> Result<String, DecodeError> {
    let mut r = Reader::at(data, ALL_INFO_NAME_AT, "all info file name length")?;
    let len = r.u32("all info file name length")?;
    let len =
        usize::try_from(len).map_err(|_| DecodeError::invalid("all info file name length", len))?;
    let name = utf16le(r.bytes(len, "all info file name")?, "all info file name")?;
    Ok(name.trim_end_matches('\0').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb1::test_util::encoded;

    #[test]
    fn requests_carry_fid_level_and_data() {
        // FileAllInformation (class 18) of FID 0x4007.
        let r = query_file_info(0x4007, passthrough(18));
        assert_eq!(
            (r.setup.as_slice(), r.max_params, r.max_data),
            (&[7][..], 2, 0xFFFF)
        );
        assert_eq!(&r.params[..], &[0x07, 0x40, 0xFA, 0x03]);
        assert!(r.data.is_empty());
        // FileEndOfFileInformation (class 20) = 1020 = 0x03FC.
        let r = set_file_info(2, passthrough(20), vec![5u8; 8]);
        assert_eq!(
            (r.setup.as_slice(), r.max_params, r.max_data),
            (&[8][..], 2, 0)
        );
        assert_eq!(&r.params[..], &[2, 0, 0xFC, 0x03, 0, 0]);
        assert_eq!(&r.data[..], &[5; 8]);
        // FileFsFullSizeInformation (class 7) = 1007.
        let r = query_fs_info(passthrough(7));
        assert_eq!((r.setup.as_slice(), r.max_params), (&[3][..], 0));
        assert_eq!(&r.params[..], &[0xEF, 0x03]);
    }

    #[test]
    fn the_all_info_name_is_bounded_by_the_data() {
        let mut d = vec![0u8; 72];
        d[68] = 6;
        d.extend_from_slice(&[b'\\', 0, b'a', 0, b'b', 0]);
        assert_eq!(all_info_name(&d).unwrap(), "\\ab");
        for n in 0..d.len() {
            assert!(all_info_name(&d[..n]).is_err(), "{n}");
        }
        d[68] = 0xFF;
        assert!(all_info_name(&d).is_err());
        // An odd length is no UTF-16.
        d[68] = 5;
        assert!(all_info_name(&d).is_err());
    }

    #[test]
    fn a_set_file_info_message_is_what_ms_cifs_lays_out() {
        // The whole TRANSACTION2 block: WordCount 15, the counts and offsets, setup word
        // 8, and parameters and data each 4-aligned from the header.
        let out = encoded(|o| set_file_info(0x0102, 1013, vec![1u8]).encode(o));
        assert_eq!(out[32], 15, "word count");
        let word = |i: usize| u16::from_le_bytes([out[33 + 2 * i], out[34 + 2 * i]]);
        // TotalParameterCount, TotalDataCount, MaxParameterCount, MaxDataCount.
        assert_eq!((word(0), word(1), word(2), word(3)), (6, 1, 2, 0));
        // ParameterCount, ParameterOffset, DataCount, DataOffset.
        let (pc, po, dc, doff) = (word(9), word(10), word(11), word(12));
        assert_eq!((pc, dc), (6, 1));
        assert_eq!((po % 4, doff % 4), (0, 0));
        assert_eq!(word(13), 1, "setup count");
        assert_eq!(word(14), 8, "SET_FILE_INFORMATION");
        let (po, doff) = (usize::from(po), usize::from(doff));
        assert_eq!(&out[po..po + 6], &[0x02, 0x01, 0xF5, 0x03, 0, 0]);
        assert_eq!(out[doff], 1);
        assert_eq!(out.len(), doff + 1);
    }
}
