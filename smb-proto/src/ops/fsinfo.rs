//! The file system behind a share, as libsmbclient's `statvfs` reports it: size, free
//! space, its name and attributes, the volume's label and serial number ([`StatFs`] →
//! [`FsInfo`]).

use crate::connection::{Fail, OpContext, Operation, Progress, Response};
use crate::error::Error;
use crate::wire::create::{access_mask, disposition, FileId};
use crate::wire::fscc::{
    fs_attributes, fs_class, FileFsAttributeInformation, FileFsFullSizeInformation,
    FileFsVolumeInformation, FileTime,
};
use crate::wire::query_info::{info_type, QueryInfoRequest, QueryInfoResponse};
use crate::wire::request::RequestBody;
use crate::wire::smb1::handle_info::{fs_level, passthrough, query_fs_info};
use crate::wire::smb1::{trans2, Smb1Request};
use crate::wire::DecodeError;
use bytes::Bytes;

use super::file::{check, close, create};
use super::{path, smb1, OpenOptions};

/// What a server says of the file system holding a path: sizes in bytes (allocation
/// units × sectors per unit × bytes per sector, checked), the file system's name and
/// attributes, the volume's label, serial number and creation time.
///
/// A server may round or cap the sizes (Samba reports what `statvfs` says of the
/// share's directory, scaled to its units, and honours `max disk size` and a
/// `dfree command`); per-user quotas show in [`available_bytes`](Self::available_bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsInfo {
    /// Size of the file system as the caller sees it (TotalAllocationUnits).
    pub total_bytes: u64,
    /// Free space on the volume (ActualAvailableAllocationUnits), quotas aside.
    pub free_bytes: u64,
    /// Free space this user may still fill (CallerAvailableAllocationUnits): `df`'s
    /// "Avail".
    pub available_bytes: u64,
    /// Bytes per allocation unit (a cluster: sectors per unit × bytes per sector).
    pub block_size: u64,
    /// The sizes as the server sent them, in allocation units (MS-FSCC 2.5.4).
    pub units: FileFsFullSizeInformation,
    /// The file system's name: `NTFS`, or what Samba's `fstype` parameter says (`NTFS`
    /// by default), …
    pub file_system_name: String,
    /// FileSystemAttributes ([`fs_attributes`]).
    pub file_system_attributes: u32,
    /// The longest name component the file system takes, in characters.
    pub max_name_length: u32,
    /// The volume's label (Samba: the share's `volume` parameter, by default its name).
    pub volume_label: String,
    /// The volume's serial number.
    pub volume_serial_number: u32,
    /// When the volume was created (zero when the server does not say).
    pub volume_creation_time: FileTime,
}

impl FsInfo {
    /// Puts the three classes' answers together, with the byte counts computed.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Invalid`] when a count of allocation units times the unit's size
    /// does not fit in 64 bits: a server's answer no file system can have.
    pub fn new(
        units: FileFsFullSizeInformation,
        attributes: FileFsAttributeInformation,
        volume: FileFsVolumeInformation,
    ) -> Result<FsInfo, DecodeError> {
        // Two u32 make at most 2^64 - 2^33 + 1: the product always fits.
        let block_size =
            u64::from(units.sectors_per_allocation_unit) * u64::from(units.bytes_per_sector);
        let bytes = |count: u64, what: &'static str| {
            count
                .checked_mul(block_size)
                .ok_or_else(|| DecodeError::invalid(what, count))
        };
        Ok(FsInfo {
            total_bytes: bytes(units.total_allocation_units, "total allocation units")?,
            free_bytes: bytes(
                units.actual_available_allocation_units,
                "actual available allocation units",
            )?,
            available_bytes: bytes(
                units.caller_available_allocation_units,
                "caller available allocation units",
            )?,
            block_size,
            units,
            file_system_name: attributes.file_system_name,
            file_system_attributes: attributes.file_system_attributes,
            max_name_length: attributes.maximum_component_name_length,
            volume_label: volume.volume_label,
            volume_serial_number: volume.volume_serial_number,
            volume_creation_time: volume.volume_creation_time,
        })
    }

    /// Bytes in use: the size less the free space (`df`'s "Used"; zero if the server
    /// says more is free than there is).
    pub fn used_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.free_bytes)
    }

    /// Whether the volume is read-only (FILE_READ_ONLY_VOLUME).
    pub fn is_read_only(&self) -> bool {
        self.file_system_attributes & fs_attributes::READ_ONLY_VOLUME != 0
    }

    /// Whether names are looked up case-sensitively (FILE_CASE_SENSITIVE_SEARCH).
    pub fn is_case_sensitive(&self) -> bool {
        self.file_system_attributes & fs_attributes::CASE_SENSITIVE_SEARCH != 0
    }
}

/// OutputBufferLength of each QUERY_INFO: the sizes take 32 bytes, a file system name
/// or a volume label (at most 32 characters on NTFS) far less than this.
const QUERY_LEN: u32 = 4096;

/// The requests' tags, in the compound's order.
const OPEN: usize = 0;
const FULL_SIZE: usize = 1;
const ATTRIBUTE: usize = 2;
const VOLUME: usize = 3;
const CLOSE: usize = 4;

/// libsmbclient's `statvfs`, `df` of a share → [`FsInfo`]: CREATE of the path (the
/// share's root for `""`), QUERY_INFO of FileFsFullSizeInformation (MS-FSCC 2.5.4),
/// FileFsAttributeInformation (2.5.1) and FileFsVolumeInformation (2.5.9), and CLOSE,
/// all in one related compound: one round trip. On SMB1: TRANS2_QUERY_FS_INFORMATION
/// at SMB_FS_FULL_SIZE_INFORMATION (1007), SMB_QUERY_FS_ATTRIBUTE_INFO and
/// SMB_QUERY_FS_VOLUME_INFO (the levels smbclient asks; the same data as the MS-FSCC
/// classes), with a QUERY_PATH_INFORMATION of the path beside them so that a missing
/// path fails as on SMB2; all four in flight at once.
///
/// ```
/// use smb_proto::ops::StatFs;
/// // Run by any driver: `conn.call(op)?.available_bytes` (blocking), or
/// // `client.call(op).await?` (async); the drivers' `disk_free` do this.
/// let op = StatFs::new("share", "");
/// ```
#[derive(Debug, Clone)]
pub struct StatFs {
    share: String,
    path: String,
    full_size: Option<FileFsFullSizeInformation>,
    attribute: Option<FileFsAttributeInformation>,
    volume: Option<FileFsVolumeInformation>,
    /// The CLOSE answered (SMB1: the path's QUERY_PATH_INFORMATION).
    closed: bool,
}

impl StatFs {
    /// The file system holding `path` (a file or a directory; `""` for the root) on
    /// `share`.
    pub fn new(share: &str, path: &str) -> Self {
        StatFs {
            share: share.to_string(),
            path: path.to_string(),
            full_size: None,
            attribute: None,
            volume: None,
            closed: false,
        }
    }

    fn query(cx: &OpContext<'_>, class: u8) -> RequestBody {
        RequestBody::QueryInfo(QueryInfoRequest {
            info_type: info_type::FILESYSTEM,
            file_info_class: class,
            output_buffer_length: QUERY_LEN.min(cx.negotiated().max_transact_size),
            file_id: FileId::ANY,
            ..Default::default()
        })
    }
}

impl Operation for StatFs {
    type Output = FsInfo;

    fn label(&self) -> (&'static str, &str) {
        ("statvfs", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path("statvfs", &self.path)
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<FsInfo>, Fail> {
        if cx.is_smb1() {
            let path = path::wire_name(&self.path);
            let stat = trans2::query_path_info(&path, trans2::level::QUERY_FILE_ALL_INFO);
            smb1::send(cx, OPEN, Smb1Request::Trans(stat), "statvfs", &self.path)?;
            for (tag, level) in [
                (
                    FULL_SIZE,
                    passthrough(fs_class::FILE_FS_FULL_SIZE_INFORMATION),
                ),
                (ATTRIBUTE, fs_level::QUERY_FS_ATTRIBUTE_INFO),
                (VOLUME, fs_level::QUERY_FS_VOLUME_INFO),
            ] {
                let req = Smb1Request::Trans(query_fs_info(level));
                smb1::send(cx, tag, req, "statvfs", &self.path)?;
            }
            return Ok(Progress::Pending);
        }
        let o = OpenOptions {
            access: access_mask::FILE_READ_ATTRIBUTES | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: 0,
            attributes: 0,
        };
        let requests = vec![
            (OPEN, create(&self.path, &o)),
            (
                FULL_SIZE,
                Self::query(cx, fs_class::FILE_FS_FULL_SIZE_INFORMATION),
            ),
            (
                ATTRIBUTE,
                Self::query(cx, fs_class::FILE_FS_ATTRIBUTE_INFORMATION),
            ),
            (
                VOLUME,
                Self::query(cx, fs_class::FILE_FS_VOLUME_INFORMATION),
            ),
            (CLOSE, close(FileId::ANY)),
        ];
        cx.send_related(requests);
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<FsInfo>, Fail> {
        check(&resp, "statvfs", &self.path)?;
        let smb1 = cx.is_smb1();
        let buffer = || -> Result<Bytes, Fail> {
            Ok(match smb1 {
                true => smb1::trans(&resp)?.data,
                false => QueryInfoResponse::decode(&resp.msg)?.buffer,
            })
        };
        match tag {
            OPEN if smb1 => self.closed = true,
            FULL_SIZE => self.full_size = Some(FileFsFullSizeInformation::decode(&buffer()?)?),
            ATTRIBUTE => self.attribute = Some(FileFsAttributeInformation::decode(&buffer()?)?),
            VOLUME => self.volume = Some(FileFsVolumeInformation::decode(&buffer()?)?),
            CLOSE => self.closed = true,
            _ => {}
        }
        // Answers may come in any order (an interim response delays one): done when the
        // handle is closed and all three classes are in.
        if !self.closed {
            return Ok(Progress::Pending);
        }
        match (self.full_size, self.attribute.take(), self.volume.take()) {
            (Some(units), Some(attribute), Some(volume)) => {
                Ok(Progress::Done(FsInfo::new(units, attribute, volume)?))
            }
            (_, attribute, volume) => {
                self.attribute = attribute;
                self.volume = volume;
                Ok(Progress::Pending)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(
        total: u64,
        caller: u64,
        actual: u64,
        spu: u32,
        bps: u32,
    ) -> FileFsFullSizeInformation {
        FileFsFullSizeInformation {
            total_allocation_units: total,
            caller_available_allocation_units: caller,
            actual_available_allocation_units: actual,
            sectors_per_allocation_unit: spu,
            bytes_per_sector: bps,
        }
    }

    #[test]
    fn bytes_are_units_times_sectors_times_sector_size() {
        let attribute = FileFsAttributeInformation {
            file_system_attributes: fs_attributes::CASE_SENSITIVE_SEARCH
                | fs_attributes::READ_ONLY_VOLUME,
            maximum_component_name_length: 255,
            file_system_name: "NTFS".into(),
        };
        let volume = FileFsVolumeInformation {
            volume_label: "share".into(),
            volume_serial_number: 0x1234,
            ..Default::default()
        };
        let fs = FsInfo::new(units(1000, 300, 400, 8, 512), attribute, volume).unwrap();
        assert_eq!(fs.block_size, 4096);
        assert_eq!(fs.total_bytes, 4_096_000);
        assert_eq!(fs.available_bytes, 300 * 4096);
        assert_eq!(fs.free_bytes, 400 * 4096);
        assert_eq!(fs.used_bytes(), 600 * 4096);
        assert!(fs.is_read_only() && fs.is_case_sensitive());
        assert_eq!(
            (fs.file_system_name.as_str(), fs.volume_label.as_str()),
            ("NTFS", "share")
        );
        // More free than there is: nothing used, not a wrap.
        let odd = FsInfo::new(
            units(10, 20, 20, 1, 512),
            Default::default(),
            Default::default(),
        );
        assert_eq!(odd.unwrap().used_bytes(), 0);
    }

    #[test]
    fn absurd_sizes_are_a_decode_error_not_a_wrap() {
        let none = || {
            (
                FileFsAttributeInformation::default(),
                FileFsVolumeInformation::default(),
            )
        };
        // The largest unit there can be, and one more unit than 64 bits of bytes hold.
        let big = u64::from(u32::MAX) * u64::from(u32::MAX);
        let (a, v) = none();
        let fits = FsInfo::new(units(1, 1, 1, u32::MAX, u32::MAX), a, v).unwrap();
        assert_eq!(fits.total_bytes, big);
        for (total, caller, actual, what) in [
            (2, 0, 0, "total allocation units"),
            (1, 2, 1, "caller available allocation units"),
            (1, 1, u64::MAX, "actual available allocation units"),
        ] {
            let (a, v) = none();
            let e = FsInfo::new(units(total, caller, actual, u32::MAX, u32::MAX), a, v);
            assert_eq!(
                e,
                Err(DecodeError::invalid(
                    what,
                    [total, caller, actual].into_iter().max().unwrap_or(0)
                )),
                "{what}"
            );
        }
        let (a, v) = none();
        let e = FsInfo::new(units(u64::MAX, 0, 0, 1, 2), a, v).unwrap_err();
        assert!(
            matches!(e, DecodeError::Invalid { what: "total allocation units", value } if value == u64::MAX)
        );
    }
}
