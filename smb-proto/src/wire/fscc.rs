//! MS-FSCC information classes carried by QUERY_INFO, SET_INFO and QUERY_DIRECTORY:
//! file information (MS-FSCC 2.4), file system information (2.5) and file attributes (2.6).
//!
//! Section numbers follow the MS-FSCC revision this crate was written against; later
//! revisions renumber some of 2.4, so every type also names its structure
//! (`FILE_ID_BOTH_DIR_INFORMATION`, …), which is stable.
//!
//! Lists linked by `NextEntryOffset` are walked forward only: an offset that points back
//! into the current entry or past the buffer is an error, so a hostile server cannot make
//! a decoder loop or read out of bounds.

use std::ops::Range;
use std::time::{Duration, SystemTime};

use super::codec::{self, DecodeError, Reader};

/// FILE_INFORMATION_CLASS values used with `info_type::FILE` (MS-FSCC 2.4).
pub mod class {
    /// FileDirectoryInformation (2.4.10).
    pub const FILE_DIRECTORY_INFORMATION: u8 = 1;
    /// FileFullDirectoryInformation (2.4.14).
    pub const FILE_FULL_DIRECTORY_INFORMATION: u8 = 2;
    /// FileBothDirectoryInformation (2.4.8).
    pub const FILE_BOTH_DIRECTORY_INFORMATION: u8 = 3;
    /// FileBasicInformation (2.4.7).
    pub const FILE_BASIC_INFORMATION: u8 = 4;
    /// FileStandardInformation (2.4.41).
    pub const FILE_STANDARD_INFORMATION: u8 = 5;
    /// FileInternalInformation.
    pub const FILE_INTERNAL_INFORMATION: u8 = 6;
    /// FileEaInformation.
    pub const FILE_EA_INFORMATION: u8 = 7;
    /// FileAccessInformation.
    pub const FILE_ACCESS_INFORMATION: u8 = 8;
    /// FileNameInformation.
    pub const FILE_NAME_INFORMATION: u8 = 9;
    /// FileRenameInformation (2.4.37).
    pub const FILE_RENAME_INFORMATION: u8 = 10;
    /// FileLinkInformation.
    pub const FILE_LINK_INFORMATION: u8 = 11;
    /// FileNamesInformation.
    pub const FILE_NAMES_INFORMATION: u8 = 12;
    /// FileDispositionInformation (2.4.11).
    pub const FILE_DISPOSITION_INFORMATION: u8 = 13;
    /// FilePositionInformation.
    pub const FILE_POSITION_INFORMATION: u8 = 14;
    /// FileFullEaInformation.
    pub const FILE_FULL_EA_INFORMATION: u8 = 15;
    /// FileModeInformation.
    pub const FILE_MODE_INFORMATION: u8 = 16;
    /// FileAlignmentInformation.
    pub const FILE_ALIGNMENT_INFORMATION: u8 = 17;
    /// FileAllInformation (2.4.2).
    pub const FILE_ALL_INFORMATION: u8 = 18;
    /// FileAllocationInformation.
    pub const FILE_ALLOCATION_INFORMATION: u8 = 19;
    /// FileEndOfFileInformation (2.4.13).
    pub const FILE_END_OF_FILE_INFORMATION: u8 = 20;
    /// FileAlternateNameInformation (the 8.3 short name, a FILE_NAME_INFORMATION).
    pub const FILE_ALTERNATE_NAME_INFORMATION: u8 = 21;
    /// FileStreamInformation.
    pub const FILE_STREAM_INFORMATION: u8 = 22;
    /// FilePipeInformation.
    pub const FILE_PIPE_INFORMATION: u8 = 23;
    /// FileCompressionInformation.
    pub const FILE_COMPRESSION_INFORMATION: u8 = 28;
    /// FileNetworkOpenInformation.
    pub const FILE_NETWORK_OPEN_INFORMATION: u8 = 34;
    /// FileAttributeTagInformation.
    pub const FILE_ATTRIBUTE_TAG_INFORMATION: u8 = 35;
    /// FileIdBothDirectoryInformation (2.4.17).
    pub const FILE_ID_BOTH_DIRECTORY_INFORMATION: u8 = 37;
    /// FileIdFullDirectoryInformation.
    pub const FILE_ID_FULL_DIRECTORY_INFORMATION: u8 = 38;
    /// FileValidDataLengthInformation.
    pub const FILE_VALID_DATA_LENGTH_INFORMATION: u8 = 39;
    /// FileNormalizedNameInformation.
    pub const FILE_NORMALIZED_NAME_INFORMATION: u8 = 48;
}

/// FS_INFORMATION_CLASS values used with `info_type::FILESYSTEM` (MS-FSCC 2.5).
pub mod fs_class {
    /// FileFsVolumeInformation (2.5.9).
    pub const FILE_FS_VOLUME_INFORMATION: u8 = 1;
    /// FileFsLabelInformation.
    pub const FILE_FS_LABEL_INFORMATION: u8 = 2;
    /// FileFsSizeInformation (2.5.8).
    pub const FILE_FS_SIZE_INFORMATION: u8 = 3;
    /// FileFsDeviceInformation.
    pub const FILE_FS_DEVICE_INFORMATION: u8 = 4;
    /// FileFsAttributeInformation.
    pub const FILE_FS_ATTRIBUTE_INFORMATION: u8 = 5;
    /// FileFsControlInformation.
    pub const FILE_FS_CONTROL_INFORMATION: u8 = 6;
    /// FileFsFullSizeInformation (2.5.4).
    pub const FILE_FS_FULL_SIZE_INFORMATION: u8 = 7;
    /// FileFsObjectIdInformation.
    pub const FILE_FS_OBJECT_ID_INFORMATION: u8 = 8;
    /// FileFsSectorSizeInformation.
    pub const FILE_FS_SECTOR_SIZE_INFORMATION: u8 = 11;
}

/// FileSystemAttributes of [`FileFsAttributeInformation`], MS-FSCC 2.5.1: what the file
/// system behind a share supports. Bits not named here may be set and mean nothing here.
pub mod fs_attributes {
    /// FILE_CASE_SENSITIVE_SEARCH: names are looked up case-sensitively.
    pub const CASE_SENSITIVE_SEARCH: u32 = 0x0000_0001;
    /// FILE_CASE_PRESERVED_NAMES: names keep the case they were created with.
    pub const CASE_PRESERVED_NAMES: u32 = 0x0000_0002;
    /// FILE_UNICODE_ON_DISK: names are Unicode on disk.
    pub const UNICODE_ON_DISK: u32 = 0x0000_0004;
    /// FILE_PERSISTENT_ACLS: ACLs are kept and enforced.
    pub const PERSISTENT_ACLS: u32 = 0x0000_0008;
    /// FILE_FILE_COMPRESSION: per-file compression.
    pub const FILE_COMPRESSION: u32 = 0x0000_0010;
    /// FILE_VOLUME_QUOTAS: per-user quotas.
    pub const VOLUME_QUOTAS: u32 = 0x0000_0020;
    /// FILE_SUPPORTS_SPARSE_FILES.
    pub const SUPPORTS_SPARSE_FILES: u32 = 0x0000_0040;
    /// FILE_SUPPORTS_REPARSE_POINTS.
    pub const SUPPORTS_REPARSE_POINTS: u32 = 0x0000_0080;
    /// FILE_VOLUME_IS_COMPRESSED.
    pub const VOLUME_IS_COMPRESSED: u32 = 0x0000_8000;
    /// FILE_SUPPORTS_OBJECT_IDS.
    pub const SUPPORTS_OBJECT_IDS: u32 = 0x0001_0000;
    /// FILE_SUPPORTS_ENCRYPTION.
    pub const SUPPORTS_ENCRYPTION: u32 = 0x0002_0000;
    /// FILE_NAMED_STREAMS: alternate data streams.
    pub const NAMED_STREAMS: u32 = 0x0004_0000;
    /// FILE_READ_ONLY_VOLUME.
    pub const READ_ONLY_VOLUME: u32 = 0x0008_0000;
    /// FILE_SUPPORTS_HARD_LINKS.
    pub const SUPPORTS_HARD_LINKS: u32 = 0x0040_0000;
    /// FILE_SUPPORTS_EXTENDED_ATTRIBUTES.
    pub const SUPPORTS_EXTENDED_ATTRIBUTES: u32 = 0x0080_0000;
    /// FILE_SUPPORTS_BLOCK_REFCOUNTING: server-side block cloning.
    pub const SUPPORTS_BLOCK_REFCOUNTING: u32 = 0x0800_0000;
}

/// ShareAccess bits of CREATE, MS-SMB2 2.2.13 (the FILE_SHARE_* values of MS-FSCC).
pub mod share_access {
    /// FILE_SHARE_READ.
    pub const READ: u32 = 0x0000_0001;
    /// FILE_SHARE_WRITE.
    pub const WRITE: u32 = 0x0000_0002;
    /// FILE_SHARE_DELETE.
    pub const DELETE: u32 = 0x0000_0004;
}

/// File attributes, MS-FSCC 2.6.
pub mod file_attributes {
    /// FILE_ATTRIBUTE_READONLY.
    pub const READONLY: u32 = 0x0000_0001;
    /// FILE_ATTRIBUTE_HIDDEN.
    pub const HIDDEN: u32 = 0x0000_0002;
    /// FILE_ATTRIBUTE_SYSTEM.
    pub const SYSTEM: u32 = 0x0000_0004;
    /// FILE_ATTRIBUTE_DIRECTORY.
    pub const DIRECTORY: u32 = 0x0000_0010;
    /// FILE_ATTRIBUTE_ARCHIVE.
    pub const ARCHIVE: u32 = 0x0000_0020;
    /// FILE_ATTRIBUTE_NORMAL: valid only when no other attribute is set.
    pub const NORMAL: u32 = 0x0000_0080;
    /// FILE_ATTRIBUTE_TEMPORARY.
    pub const TEMPORARY: u32 = 0x0000_0100;
    /// FILE_ATTRIBUTE_SPARSE_FILE.
    pub const SPARSE_FILE: u32 = 0x0000_0200;
    /// FILE_ATTRIBUTE_REPARSE_POINT.
    pub const REPARSE_POINT: u32 = 0x0000_0400;
    /// FILE_ATTRIBUTE_COMPRESSED.
    pub const COMPRESSED: u32 = 0x0000_0800;
    /// FILE_ATTRIBUTE_OFFLINE.
    pub const OFFLINE: u32 = 0x0000_1000;
    /// FILE_ATTRIBUTE_NOT_CONTENT_INDEXED.
    pub const NOT_CONTENT_INDEXED: u32 = 0x0000_2000;
    /// FILE_ATTRIBUTE_ENCRYPTED.
    pub const ENCRYPTED: u32 = 0x0000_4000;
    /// FILE_ATTRIBUTE_INTEGRITY_STREAM.
    pub const INTEGRITY_STREAM: u32 = 0x0000_8000;
    /// FILE_ATTRIBUTE_NO_SCRUB_DATA.
    pub const NO_SCRUB_DATA: u32 = 0x0002_0000;
    /// FILE_ATTRIBUTE_RECALL_ON_OPEN.
    pub const RECALL_ON_OPEN: u32 = 0x0004_0000;
    /// FILE_ATTRIBUTE_PINNED.
    pub const PINNED: u32 = 0x0008_0000;
    /// FILE_ATTRIBUTE_UNPINNED.
    pub const UNPINNED: u32 = 0x0010_0000;
    /// FILE_ATTRIBUTE_RECALL_ON_DATA_ACCESS.
    pub const RECALL_ON_DATA_ACCESS: u32 = 0x0040_0000;
}

/// A FILETIME (MS-DTYP 2.3.3): 100-nanosecond intervals since 1601-01-01 UTC.
///
/// Zero means "no time" on the wire (and "leave unchanged" in a SET_INFO), hence the
/// `Option` from [`FileTime::to_system_time`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileTime(pub u64);

impl FileTime {
    /// 1970-01-01 00:00:00 UTC as a FILETIME.
    pub const UNIX_EPOCH: FileTime = FileTime(116_444_736_000_000_000);
    const TICKS_PER_SEC: u64 = 10_000_000;

    /// The instant this FILETIME denotes; `None` for 0 or a value `SystemTime` cannot hold.
    pub fn to_system_time(self) -> Option<SystemTime> {
        if self.0 == 0 {
            return None;
        }
        let (before, ticks) = match self.0.checked_sub(Self::UNIX_EPOCH.0) {
            Some(after) => (false, after),
            None => (true, Self::UNIX_EPOCH.0 - self.0),
        };
        let d = Duration::new(
            ticks / Self::TICKS_PER_SEC,
            ((ticks % Self::TICKS_PER_SEC) * 100) as u32,
        );
        if before {
            SystemTime::UNIX_EPOCH.checked_sub(d)
        } else {
            SystemTime::UNIX_EPOCH.checked_add(d)
        }
    }

    /// The FILETIME of `t`, saturating at the ends of the representable range.
    pub fn from_system_time(t: SystemTime) -> Self {
        let ticks = |d: Duration| {
            d.as_secs()
                .saturating_mul(Self::TICKS_PER_SEC)
                .saturating_add(u64::from(d.subsec_nanos() / 100))
        };
        match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => FileTime(Self::UNIX_EPOCH.0.saturating_add(ticks(after))),
            // Clamp to 1 rather than 0: 0 would read back as "no time".
            Err(e) => FileTime(
                Self::UNIX_EPOCH
                    .0
                    .saturating_sub(ticks(e.duration()))
                    .max(1),
            ),
        }
    }

    /// The FILETIME of `t`, or `None` when it has none: before 1601 (or at 1601 exactly,
    /// which would read as "no time"), or past year 60056.
    pub fn try_from_system_time(t: SystemTime) -> Option<Self> {
        let ft = Self::from_system_time(t);
        // `from_system_time` saturates: a value at either end stands for a time out of
        // range.
        (ft.0 > 1 && ft.0 < u64::MAX).then_some(ft)
    }

    /// The time a previous version's token `@GMT-YYYY.MM.DD-HH.MM.SS` names (UTC, the
    /// form of MS-SMB2 2.2.32.2); `None` for anything else, a date that does not exist
    /// (`@GMT-2026.02.30-…`) included.
    pub fn from_gmt_token(token: &str) -> Option<FileTime> {
        // Every field is zero-padded, so each sits at a fixed position.
        let field = |at: usize, len: usize| -> Option<i64> {
            let digits = token.get(at..at + len)?;
            digits
                .bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| digits.parse().ok())?
        };
        let b = token.as_bytes();
        let separators = [(9, b'.'), (12, b'.'), (15, b'-'), (18, b'.'), (21, b'.')];
        if b.len() != 24
            || !token.starts_with("@GMT-")
            || separators.iter().any(|&(i, c)| b[i] != c)
        {
            return None;
        }
        let (year, month, day) = (field(5, 4)?, field(10, 2)?, field(13, 2)?);
        let (hour, minute, second) = (field(16, 2)?, field(19, 2)?, field(22, 2)?);
        let days = days_from_civil(year, month, day);
        // A day past its month's end comes back as another date.
        if year < 1601
            || !(1..=12).contains(&month)
            || civil_from_days(days) != (year, month, day)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let secs = (days + Self::UNIX_EPOCH_DAYS) * 86_400 + hour * 3600 + minute * 60 + second;
        Some(FileTime(secs as u64 * Self::TICKS_PER_SEC))
    }

    /// The `@GMT-YYYY.MM.DD-HH.MM.SS` token of this time, to the second: how a server
    /// names the previous version taken at it (and what [`FileTime::from_gmt_token`]
    /// reads back, for years up to 9999).
    pub fn gmt_token(self) -> String {
        let secs = (self.0 / Self::TICKS_PER_SEC) as i64;
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400) - Self::UNIX_EPOCH_DAYS);
        let of_day = secs.rem_euclid(86_400);
        format!(
            "@GMT-{year:04}.{month:02}.{day:02}-{:02}.{:02}.{:02}",
            of_day / 3600,
            of_day / 60 % 60,
            of_day % 60
        )
    }

    /// Days from 1601-01-01 to 1970-01-01.
    const UNIX_EPOCH_DAYS: i64 = (Self::UNIX_EPOCH.0 / Self::TICKS_PER_SEC / 86_400) as i64;

    pub(crate) fn read(r: &mut Reader<'_>, what: &'static str) -> Result<Self, DecodeError> {
        r.u64(what).map(FileTime)
    }

    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard
/// Hinnant's `days_from_civil`: 400-year eras, years starting in March so the leap day
/// comes last).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01: the inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = (shifted_month + 2) % 12 + 1;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Walks a list of entries linked by a leading 32-bit `NextEntryOffset` (MS-FSCC 2.4
/// directory lists, FILE_NOTIFY_INFORMATION, FILE_STREAM_INFORMATION, and the same
/// shape in SMB2 create contexts' `Next`).
///
/// Yields each entry's offset in `buf` and its bytes (from its start to the next entry,
/// or to the end of `buf` for the last one). Every step moves forward by at least
/// `min_len`, so the walk ends after at most `buf.len() / min_len` entries.
pub(crate) struct EntryChain<'a> {
    buf: &'a [u8],
    next: Option<usize>,
    min_len: usize,
    what: &'static str,
    /// A NextEntryOffset reaching exactly the buffer's end also ends the walk (SMB1
    /// FIND answers: Samba links the last entry to where a next one would start).
    end_at_end: bool,
}

impl<'a> EntryChain<'a> {
    /// A walk over `buf`, whose entries have fixed parts of `min_len` bytes (≥ 4).
    pub(crate) fn new(buf: &'a [u8], min_len: usize, what: &'static str) -> Self {
        EntryChain {
            buf,
            next: (!buf.is_empty()).then_some(0),
            min_len: min_len.max(4),
            what,
            end_at_end: false,
        }
    }

    fn step(&self, pos: usize) -> Result<(Range<usize>, Option<usize>), DecodeError> {
        let fixed = codec::slice(self.buf, pos, self.min_len, self.what)?;
        let next = Reader::new(fixed).u32(self.what)? as usize;
        if next == 0 {
            return Ok((pos..self.buf.len(), None));
        }
        // Shorter than the fixed part means pointing back into this entry.
        if next < self.min_len {
            return Err(DecodeError::invalid(self.what, next as u64));
        }
        match pos.checked_add(next) {
            Some(end) if end < self.buf.len() => Ok((pos..end, Some(end))),
            Some(end) if end == self.buf.len() && self.end_at_end => Ok((pos..end, None)),
            _ => Err(DecodeError::invalid(self.what, next as u64)),
        }
    }
}

impl<'a> Iterator for EntryChain<'a> {
    type Item = Result<(usize, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let pos = self.next.take()?;
        Some(self.step(pos).and_then(|(range, next)| {
            self.next = next;
            let entry = codec::slice(self.buf, range.start, range.len(), self.what)?;
            Ok((range.start, entry))
        }))
    }
}

/// Appends `entries` as a NextEntryOffset-linked list, each entry `align`-byte aligned
/// from the start of the list (8 for directory lists, 4 for FILE_NOTIFY_INFORMATION).
/// `put` writes one entry with a placeholder NextEntryOffset, patched here.
pub(crate) fn encode_chain<T>(
    entries: &[T],
    align: usize,
    out: &mut Vec<u8>,
    mut put: impl FnMut(&T, &mut Vec<u8>),
) {
    let base = out.len();
    for (i, e) in entries.iter().enumerate() {
        let start = out.len();
        put(e, out);
        if i + 1 < entries.len() {
            let len = out.len() - base;
            out.resize(out.len() + (align - len % align) % align, 0);
            let next = (out.len() - start) as u32;
            out[start..start + 4].copy_from_slice(&next.to_le_bytes());
        }
    }
}

/// Reads a u32 length then that many bytes of UTF-16LE.
fn read_name(r: &mut Reader<'_>, len: u32, what: &'static str) -> Result<String, DecodeError> {
    codec::utf16le(r.bytes(len as usize, what)?, what)
}

/// One FILE_ID_BOTH_DIR_INFORMATION entry, MS-FSCC 2.4.17 (QUERY_DIRECTORY with
/// `class::FILE_ID_BOTH_DIRECTORY_INFORMATION`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileIdBothDirectoryInformation {
    /// FileIndex: meaningless on most file systems; zero from Samba.
    pub file_index: u32,
    /// CreationTime.
    pub creation_time: FileTime,
    /// LastAccessTime.
    pub last_access_time: FileTime,
    /// LastWriteTime.
    pub last_write_time: FileTime,
    /// ChangeTime.
    pub change_time: FileTime,
    /// EndOfFile: the file size in bytes.
    pub end_of_file: u64,
    /// AllocationSize.
    pub allocation_size: u64,
    /// FileAttributes, see [`file_attributes`].
    pub file_attributes: u32,
    /// EaSize (or the reparse tag for reparse points).
    pub ea_size: u32,
    /// ShortName: the 8.3 name, empty when the server has none.
    pub short_name: String,
    /// FileId: the server's 8-byte file reference number.
    pub file_id: u64,
    /// FileName.
    pub file_name: String,
}

impl FileIdBothDirectoryInformation {
    /// Bytes before FileName.
    const FIXED_LEN: usize = 104;
    /// ShortName is a fixed 24-byte field (12 UTF-16 code units).
    const SHORT_NAME_LEN: usize = 24;

    /// Decodes every entry of a QUERY_DIRECTORY output buffer.
    pub fn parse_all(buf: &[u8]) -> Result<Vec<Self>, DecodeError> {
        EntryChain::new(buf, Self::FIXED_LEN, "FILE_ID_BOTH_DIR_INFORMATION")
            .map(|e| e.and_then(|(_, entry)| Self::decode(entry, true)))
            .collect()
    }

    /// Decodes one entry (its NextEntryOffset is ignored); `with_id`: Reserved2 and
    /// FileId follow the short name (FileIdBothDirectoryInformation), else the name
    /// does (FileBothDirectoryInformation, and `file_id` is 0).
    fn decode(entry: &[u8], with_id: bool) -> Result<Self, DecodeError> {
        let mut r = Reader::new(entry);
        r.skip(4, "next entry offset")?;
        let file_index = r.u32("file index")?;
        let creation_time = FileTime::read(&mut r, "creation time")?;
        let last_access_time = FileTime::read(&mut r, "last access time")?;
        let last_write_time = FileTime::read(&mut r, "last write time")?;
        let change_time = FileTime::read(&mut r, "change time")?;
        let end_of_file = r.u64("end of file")?;
        let allocation_size = r.u64("allocation size")?;
        let file_attributes = r.u32("file attributes")?;
        let file_name_length = r.u32("file name length")?;
        let ea_size = r.u32("ea size")?;
        let short_name_length = usize::from(r.u8("short name length")?);
        r.skip(1, "reserved")?;
        let short_name = r.bytes(Self::SHORT_NAME_LEN, "short name")?;
        let short_name = short_name
            .get(..short_name_length)
            .ok_or(DecodeError::invalid(
                "short name length",
                short_name_length as u64,
            ))?;
        let file_id = if with_id {
            r.skip(2, "reserved2")?;
            r.u64("file id")?
        } else {
            0
        };
        Ok(FileIdBothDirectoryInformation {
            file_index,
            creation_time,
            last_access_time,
            last_write_time,
            change_time,
            end_of_file,
            allocation_size,
            file_attributes,
            ea_size,
            short_name: codec::utf16le(short_name, "short name")?,
            file_id,
            file_name: read_name(&mut r, file_name_length, "file name")?,
        })
    }

    /// Appends `entries` as a QUERY_DIRECTORY output buffer (for a scripted server).
    /// Short names longer than 12 UTF-16 code units are cut to fit their field.
    pub fn encode_list(entries: &[Self], out: &mut Vec<u8>) {
        encode_chain(entries, 8, out, |e, out| e.encode(out, true));
    }

    fn encode(&self, out: &mut Vec<u8>, with_id: bool) {
        let name = codec::to_utf16le(&self.file_name);
        let mut short = codec::to_utf16le(&self.short_name);
        short.truncate(Self::SHORT_NAME_LEN);
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.file_index.to_le_bytes());
        for t in [
            self.creation_time,
            self.last_access_time,
            self.last_write_time,
            self.change_time,
        ] {
            t.put(out);
        }
        out.extend_from_slice(&self.end_of_file.to_le_bytes());
        out.extend_from_slice(&self.allocation_size.to_le_bytes());
        out.extend_from_slice(&self.file_attributes.to_le_bytes());
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.ea_size.to_le_bytes());
        out.push(short.len() as u8);
        out.push(0);
        let short_len = short.len();
        out.extend_from_slice(&short);
        out.resize(out.len() + Self::SHORT_NAME_LEN - short_len, 0);
        if with_id {
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&self.file_id.to_le_bytes());
        }
        out.extend_from_slice(&name);
    }
}

/// FILE_BOTH_DIR_INFORMATION, MS-FSCC 2.4.8: [`FileIdBothDirectoryInformation`] without
/// Reserved2 and FileId. It is also SMB1's SMB_FIND_FILE_BOTH_DIRECTORY_INFO (MS-CIFS
/// 2.2.8.1.7), what TRANS2_FIND_FIRST2 / FIND_NEXT2 return at level 0x0104. Entries are
/// decoded into [`FileIdBothDirectoryInformation`] with `file_id` 0.
#[derive(Debug, Clone, Copy)]
pub struct FileBothDirectoryInformation;

impl FileBothDirectoryInformation {
    /// Bytes before FileName.
    const FIXED_LEN: usize = 94;

    /// Decodes every entry of a buffer, following NextEntryOffset (not assuming any
    /// alignment); the last entry's may be 0 or reach exactly the buffer's end (Samba's
    /// SMB1 answers).
    pub fn parse_all(buf: &[u8]) -> Result<Vec<FileIdBothDirectoryInformation>, DecodeError> {
        let mut chain = EntryChain::new(buf, Self::FIXED_LEN, "FILE_BOTH_DIR_INFORMATION");
        chain.end_at_end = true;
        chain
            .map(|e| e.and_then(|(_, entry)| FileIdBothDirectoryInformation::decode(entry, false)))
            .collect()
    }

    /// Appends `entries` as a buffer of this class, 8-byte aligned (for a scripted
    /// server); `file_id` is not sent.
    pub fn encode_list(entries: &[FileIdBothDirectoryInformation], out: &mut Vec<u8>) {
        encode_chain(entries, 8, out, |e, out| e.encode(out, false));
    }
}

/// FILE_BASIC_INFORMATION, MS-FSCC 2.4.7: times and attributes (query and set).
///
/// In a SET_INFO a zero time or zero attributes mean "leave unchanged".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileBasicInformation {
    /// CreationTime.
    pub creation_time: FileTime,
    /// LastAccessTime.
    pub last_access_time: FileTime,
    /// LastWriteTime.
    pub last_write_time: FileTime,
    /// ChangeTime.
    pub change_time: FileTime,
    /// FileAttributes, see [`file_attributes`].
    pub file_attributes: u32,
}

impl FileBasicInformation {
    /// Encoded size in bytes (including the trailing 4 reserved bytes).
    pub const LEN: usize = 40;

    /// Decodes the structure from the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        Self::read(&mut Reader::new(buf))
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let v = FileBasicInformation {
            creation_time: FileTime::read(r, "creation time")?,
            last_access_time: FileTime::read(r, "last access time")?,
            last_write_time: FileTime::read(r, "last write time")?,
            change_time: FileTime::read(r, "change time")?,
            file_attributes: r.u32("file attributes")?,
        };
        r.skip(4, "reserved")?;
        Ok(v)
    }

    /// The 40-byte structure, e.g. as a SET_INFO buffer.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        for t in [
            self.creation_time,
            self.last_access_time,
            self.last_write_time,
            self.change_time,
        ] {
            t.put(&mut out);
        }
        out.extend_from_slice(&self.file_attributes.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out
    }
}

/// FILE_STANDARD_INFORMATION, MS-FSCC 2.4.41: sizes, link count, delete-pending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileStandardInformation {
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndOfFile: the file size in bytes.
    pub end_of_file: u64,
    /// NumberOfLinks.
    pub number_of_links: u32,
    /// DeletePending.
    pub delete_pending: bool,
    /// Directory.
    pub directory: bool,
}

impl FileStandardInformation {
    /// Encoded size in bytes (including the trailing 2 reserved bytes).
    pub const LEN: usize = 24;

    /// Decodes the structure from the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        Self::read(&mut Reader::new(buf))
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let v = FileStandardInformation {
            allocation_size: r.u64("allocation size")?,
            end_of_file: r.u64("end of file")?,
            number_of_links: r.u32("number of links")?,
            delete_pending: r.u8("delete pending")? != 0,
            directory: r.u8("directory")? != 0,
        };
        r.skip(2, "reserved")?;
        Ok(v)
    }

    /// The 24-byte structure (for a scripted server).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.extend_from_slice(&self.allocation_size.to_le_bytes());
        out.extend_from_slice(&self.end_of_file.to_le_bytes());
        out.extend_from_slice(&self.number_of_links.to_le_bytes());
        out.push(u8::from(self.delete_pending));
        out.push(u8::from(self.directory));
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }
}

/// FILE_NAME_INFORMATION: a length-prefixed UTF-16 name. Returned for
/// FileNameInformation, FileAlternateNameInformation (the 8.3 name) and
/// FileNormalizedNameInformation, and the tail of [`FileAllInformation`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileNameInformation {
    /// FileName.
    pub file_name: String,
}

impl FileNameInformation {
    /// Decodes the structure from the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        Self::read(&mut Reader::new(buf))
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = r.u32("file name length")?;
        Ok(FileNameInformation {
            file_name: read_name(r, len, "file name")?,
        })
    }
}

/// FILE_ALL_INFORMATION, MS-FSCC 2.4.2: basic, standard, internal, EA, access, position,
/// mode and alignment information followed by the name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileAllInformation {
    /// BasicInformation.
    pub basic: FileBasicInformation,
    /// StandardInformation.
    pub standard: FileStandardInformation,
    /// InternalInformation.IndexNumber: the server's file reference number.
    pub index_number: u64,
    /// EaInformation.EaSize.
    pub ea_size: u32,
    /// AccessInformation.AccessFlags: the access granted to this open.
    pub access_flags: u32,
    /// PositionInformation.CurrentByteOffset.
    pub current_byte_offset: u64,
    /// ModeInformation.Mode.
    pub mode: u32,
    /// AlignmentInformation.AlignmentRequirement.
    pub alignment_requirement: u32,
    /// NameInformation.FileName: the path from the share root, with a leading `\`.
    pub file_name: String,
}

impl FileAllInformation {
    /// Decodes the structure from the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        Ok(FileAllInformation {
            basic: FileBasicInformation::read(&mut r)?,
            standard: FileStandardInformation::read(&mut r)?,
            index_number: r.u64("index number")?,
            ea_size: r.u32("ea size")?,
            access_flags: r.u32("access flags")?,
            current_byte_offset: r.u64("current byte offset")?,
            mode: r.u32("mode")?,
            alignment_requirement: r.u32("alignment requirement")?,
            file_name: FileNameInformation::read(&mut r)?.file_name,
        })
    }
}

/// One FILE_STREAM_INFORMATION entry: a named data stream of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileStreamInformation {
    /// StreamSize.
    pub stream_size: u64,
    /// StreamAllocationSize.
    pub stream_allocation_size: u64,
    /// StreamName, e.g. `::$DATA` for the unnamed stream.
    pub stream_name: String,
}

impl FileStreamInformation {
    const FIXED_LEN: usize = 24;

    /// Decodes every entry of a FileStreamInformation buffer.
    pub fn parse_all(buf: &[u8]) -> Result<Vec<Self>, DecodeError> {
        EntryChain::new(buf, Self::FIXED_LEN, "FILE_STREAM_INFORMATION")
            .map(|e| {
                let (_, entry) = e?;
                let mut r = Reader::new(entry);
                r.skip(4, "next entry offset")?;
                let name_len = r.u32("stream name length")?;
                Ok(FileStreamInformation {
                    stream_size: r.u64("stream size")?,
                    stream_allocation_size: r.u64("stream allocation size")?,
                    stream_name: read_name(&mut r, name_len, "stream name")?,
                })
            })
            .collect()
    }
}

/// Flags of a [`FileFullEaInformation`] entry, MS-FSCC 2.4.15.
pub mod ea_flags {
    /// FILE_NEED_EA: a file with this EA must not be opened by a client that does not
    /// understand EAs.
    pub const NEED_EA: u8 = 0x80;
}

/// One FILE_FULL_EA_INFORMATION entry, MS-FSCC 2.4.15: an extended attribute's name and
/// value. A list of them is what QUERY_INFO `class::FILE_FULL_EA_INFORMATION` returns and
/// SET_INFO of that class takes; in a SET_INFO an empty value removes the EA.
///
/// Names are 8-bit strings of at most [`MAX_NAME_LEN`](Self::MAX_NAME_LEN) bytes, in
/// practice ASCII: Windows servers upper-case them, Samba returns them as stored (the
/// `user.` xattr's name without its prefix). A name that is not UTF-8 is decoded with
/// U+FFFD in place of the bytes that are not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileFullEaInformation {
    /// Flags, see [`ea_flags`].
    pub flags: u8,
    /// EaName.
    pub name: String,
    /// EaValue.
    pub value: Vec<u8>,
}

impl FileFullEaInformation {
    /// NextEntryOffset, Flags, EaNameLength, EaValueLength.
    const FIXED_LEN: usize = 8;
    /// EaNameLength is one byte.
    pub const MAX_NAME_LEN: usize = 255;
    /// EaValueLength is two bytes.
    pub const MAX_VALUE_LEN: usize = 65_535;

    /// Decodes every entry of a FileFullEaInformation buffer; an empty buffer is no EA.
    /// Each entry is bounded by the buffer (and by its 8-bit and 16-bit length fields),
    /// and the walk by the buffer's length over the 8-byte fixed part.
    pub fn parse_all(buf: &[u8]) -> Result<Vec<Self>, DecodeError> {
        EntryChain::new(buf, Self::FIXED_LEN, "FILE_FULL_EA_INFORMATION")
            .map(|e| e.and_then(|(_, entry)| Self::decode(entry)))
            .collect()
    }

    fn decode(entry: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(entry);
        r.skip(4, "next entry offset")?;
        let flags = r.u8("ea flags")?;
        let name_len = usize::from(r.u8("ea name length")?);
        let value_len = usize::from(r.u16("ea value length")?);
        let name = r.bytes(name_len, "ea name")?;
        // The name is NUL-terminated; the terminator is not counted in EaNameLength.
        let nul = r.u8("ea name terminator")?;
        if nul != 0 {
            return Err(DecodeError::invalid("ea name terminator", nul));
        }
        Ok(FileFullEaInformation {
            flags,
            name: String::from_utf8_lossy(name).into_owned(),
            value: r.bytes(value_len, "ea value")?.to_vec(),
        })
    }

    /// Appends `entries` as a FileFullEaInformation buffer, each entry 4-byte aligned.
    ///
    /// # Errors
    ///
    /// The first entry [`problem`](Self::problem) finds fault with, and its problem:
    /// nothing is appended then.
    pub fn encode_list(entries: &[Self], out: &mut Vec<u8>) -> Result<(), (usize, &'static str)> {
        if let Some(bad) = entries.iter().position(|e| e.problem().is_some()) {
            return Err((bad, entries[bad].problem().unwrap_or_default()));
        }
        encode_chain(entries, 4, out, |e, out| {
            out.extend_from_slice(&0u32.to_le_bytes());
            out.push(e.flags);
            out.push(e.name.len() as u8);
            out.extend_from_slice(&(e.value.len() as u16).to_le_bytes());
            out.extend_from_slice(e.name.as_bytes());
            out.push(0);
            out.extend_from_slice(&e.value);
        });
        Ok(())
    }

    /// What makes the entry one a client must not send, if anything: a name that is
    /// empty, not ASCII, longer than [`MAX_NAME_LEN`](Self::MAX_NAME_LEN) bytes or holding
    /// a control character, or a value longer than [`MAX_VALUE_LEN`](Self::MAX_VALUE_LEN)
    /// (the length fields could not say it). Which printable characters a name may hold
    /// is the server's to decide (STATUS_INVALID_EA_NAME).
    pub fn problem(&self) -> Option<&'static str> {
        let name = &self.name;
        if name.is_empty() {
            Some("an EA name is empty")
        } else if !name.is_ascii() || name.contains(|c: char| c.is_ascii_control()) {
            Some("an EA name must be printable ASCII")
        } else if name.len() > Self::MAX_NAME_LEN {
            Some("an EA name is at most 255 bytes")
        } else if self.value.len() > Self::MAX_VALUE_LEN {
            Some("an EA value is at most 65535 bytes")
        } else {
            None
        }
    }
}

/// FILE_RENAME_INFORMATION_TYPE_2, MS-FSCC 2.4.37.2: the SMB2 form of a rename, sent
/// with SET_INFO `class::FILE_RENAME_INFORMATION`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRenameInformation {
    /// ReplaceIfExists.
    pub replace_if_exists: bool,
    /// RootDirectory: must be zero over the network.
    pub root_directory: u64,
    /// FileName: the new path, relative to the share root.
    pub file_name: String,
}

impl FileRenameInformation {
    /// The structure as a SET_INFO buffer (no trailing padding, as Samba sends it).
    pub fn encode(&self) -> Vec<u8> {
        let name = codec::to_utf16le(&self.file_name);
        let mut out = Vec::with_capacity(20 + name.len());
        out.push(u8::from(self.replace_if_exists));
        out.extend_from_slice(&[0; 7]);
        out.extend_from_slice(&self.root_directory.to_le_bytes());
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&name);
        out
    }

    /// Decodes the structure from the start of `buf` (for a scripted server).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let replace_if_exists = r.u8("replace if exists")? != 0;
        r.skip(7, "reserved")?;
        let root_directory = r.u64("root directory")?;
        let len = r.u32("file name length")?;
        Ok(FileRenameInformation {
            replace_if_exists,
            root_directory,
            file_name: read_name(&mut r, len, "file name")?,
        })
    }
}

/// FILE_DISPOSITION_INFORMATION, MS-FSCC 2.4.11: mark an open file for deletion on close.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileDispositionInformation {
    /// DeletePending.
    pub delete_pending: bool,
}

impl FileDispositionInformation {
    /// The 1-byte structure as a SET_INFO buffer.
    pub fn encode(&self) -> Vec<u8> {
        vec![u8::from(self.delete_pending)]
    }
}

/// FILE_END_OF_FILE_INFORMATION, MS-FSCC 2.4.13: truncate or extend a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileEndOfFileInformation {
    /// EndOfFile: the new size in bytes.
    pub end_of_file: u64,
}

impl FileEndOfFileInformation {
    /// The 8-byte structure as a SET_INFO buffer.
    pub fn encode(&self) -> Vec<u8> {
        self.end_of_file.to_le_bytes().to_vec()
    }
}

/// FILE_ALLOCATION_INFORMATION, MS-FSCC 2.4.4: reserve (or give back) disk space for a
/// file without changing its size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileAllocationInformation {
    /// AllocationSize: the bytes to reserve; the server rounds it up to whole clusters.
    pub allocation_size: u64,
}

impl FileAllocationInformation {
    /// The 8-byte structure as a SET_INFO buffer.
    pub fn encode(&self) -> Vec<u8> {
        self.allocation_size.to_le_bytes().to_vec()
    }
}

/// FILE_FS_SIZE_INFORMATION, MS-FSCC 2.5.8: volume size in allocation units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileFsSizeInformation {
    /// TotalAllocationUnits available to the caller.
    pub total_allocation_units: u64,
    /// AvailableAllocationUnits free for the caller.
    pub available_allocation_units: u64,
    /// SectorsPerAllocationUnit.
    pub sectors_per_allocation_unit: u32,
    /// BytesPerSector.
    pub bytes_per_sector: u32,
}

impl FileFsSizeInformation {
    /// Decodes the structure from the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        Ok(FileFsSizeInformation {
            total_allocation_units: r.u64("total allocation units")?,
            available_allocation_units: r.u64("available allocation units")?,
            sectors_per_allocation_unit: r.u32("sectors per allocation unit")?,
            bytes_per_sector: r.u32("bytes per sector")?,
        })
    }
}

/// FILE_FS_FULL_SIZE_INFORMATION, MS-FSCC 2.5.4: volume size, with both the caller's and
/// the actual free space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileFsFullSizeInformation {
    /// TotalAllocationUnits available to the caller.
    pub total_allocation_units: u64,
    /// CallerAvailableAllocationUnits.
    pub caller_available_allocation_units: u64,
    /// ActualAvailableAllocationUnits.
    pub actual_available_allocation_units: u64,
    /// SectorsPerAllocationUnit.
    pub sectors_per_allocation_unit: u32,
    /// BytesPerSector.
    pub bytes_per_sector: u32,
}

impl FileFsFullSizeInformation {
    /// Decodes the structure from the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        Ok(FileFsFullSizeInformation {
            total_allocation_units: r.u64("total allocation units")?,
            caller_available_allocation_units: r.u64("caller available allocation units")?,
            actual_available_allocation_units: r.u64("actual available allocation units")?,
            sectors_per_allocation_unit: r.u32("sectors per allocation unit")?,
            bytes_per_sector: r.u32("bytes per sector")?,
        })
    }
}

/// FILE_FS_VOLUME_INFORMATION, MS-FSCC 2.5.9: volume label, serial number, creation time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileFsVolumeInformation {
    /// VolumeCreationTime.
    pub volume_creation_time: FileTime,
    /// VolumeSerialNumber.
    pub volume_serial_number: u32,
    /// SupportsObjects.
    pub supports_objects: bool,
    /// VolumeLabel.
    pub volume_label: String,
}

impl FileFsVolumeInformation {
    /// Decodes the structure from the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let volume_creation_time = FileTime::read(&mut r, "volume creation time")?;
        let volume_serial_number = r.u32("volume serial number")?;
        let label_len = r.u32("volume label length")?;
        let supports_objects = r.u8("supports objects")? != 0;
        r.skip(1, "reserved")?;
        Ok(FileFsVolumeInformation {
            volume_creation_time,
            volume_serial_number,
            supports_objects,
            volume_label: read_name(&mut r, label_len, "volume label")?,
        })
    }
}

/// FILE_FS_ATTRIBUTE_INFORMATION, MS-FSCC 2.5.1: what the file system supports, the
/// longest name it takes, and its name (`NTFS`, or what Samba's `fstype` says).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileFsAttributeInformation {
    /// FileSystemAttributes, see [`fs_attributes`].
    pub file_system_attributes: u32,
    /// MaximumComponentNameLength: the longest name component, in characters (a signed
    /// field that must be positive; kept as the server sent its bits).
    pub maximum_component_name_length: u32,
    /// FileSystemName.
    pub file_system_name: String,
}

impl FileFsAttributeInformation {
    /// Decodes the structure from the start of `buf`; the name is bounded by `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let file_system_attributes = r.u32("file system attributes")?;
        let maximum_component_name_length = r.u32("maximum component name length")?;
        let name_len = r.u32("file system name length")?;
        Ok(FileFsAttributeInformation {
            file_system_attributes,
            maximum_component_name_length,
            file_system_name: read_name(&mut r, name_len, "file system name")?,
        })
    }

    /// The structure as a server sends it (for a scripted server and tests).
    pub fn encode(&self) -> Vec<u8> {
        let name = codec::to_utf16le(&self.file_system_name);
        let mut out = Vec::with_capacity(12 + name.len());
        out.extend_from_slice(&self.file_system_attributes.to_le_bytes());
        out.extend_from_slice(&self.maximum_component_name_length.to_le_bytes());
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&name);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directory_information_is_the_id_form_without_its_file_id() {
        let e = FileIdBothDirectoryInformation {
            file_name: "long name.txt".into(),
            short_name: "LONGNA~1.TXT".into(),
            end_of_file: 7,
            file_id: 99,
            ..Default::default()
        };
        let mut buf = Vec::new();
        FileBothDirectoryInformation::encode_list(&[e.clone(), e.clone()], &mut buf);
        // The name follows the 24-byte short name at 94 (MS-CIFS 2.2.8.1.7).
        assert_eq!(&buf[94..96], &[b'l', 0]);
        let back = FileBothDirectoryInformation::parse_all(&buf).unwrap();
        let without_id = FileIdBothDirectoryInformation { file_id: 0, ..e };
        assert_eq!(back, vec![without_id.clone(), without_id]);
        for n in 1..buf.len() {
            let _ = FileBothDirectoryInformation::parse_all(&buf[..n]);
        }
        assert!(FileBothDirectoryInformation::parse_all(&buf[..93]).is_err());
        // Samba links the last entry to the buffer's end; past it is an error.
        let last = buf.len() / 2;
        assert_eq!(
            u32::from_le_bytes(buf[last..last + 4].try_into().unwrap()),
            0
        );
        let to_end = (buf.len() - last) as u32;
        buf[last..last + 4].copy_from_slice(&to_end.to_le_bytes());
        assert_eq!(
            FileBothDirectoryInformation::parse_all(&buf).unwrap().len(),
            2
        );
        buf[last..last + 4].copy_from_slice(&(to_end + 8).to_le_bytes());
        assert!(FileBothDirectoryInformation::parse_all(&buf).is_err());
        // The SMB2 classes keep the strict rule.
        assert!(FileIdBothDirectoryInformation::parse_all(&buf).is_err());
    }
    use crate::wire::request::test_util::hex;

    #[test]
    fn gmt_tokens_name_whole_seconds_in_utc() {
        let t = FileTime::from_gmt_token("@GMT-1970.01.01-00.00.00").unwrap();
        assert_eq!(t, FileTime::UNIX_EPOCH);
        let t = FileTime::from_gmt_token("@GMT-2026.01.01-00.00.00").unwrap();
        // 1767225600 seconds after the Unix epoch (`date -ud 2026-01-01 +%s`).
        assert_eq!(
            t.to_system_time().unwrap(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
        );
        for token in [
            "@GMT-1601.01.01-00.00.00",
            "@GMT-2024.02.29-23.59.59",
            "@GMT-2000.02.29-00.00.01",
            "@GMT-2026.12.31-12.34.56",
            "@GMT-9999.12.31-23.59.59",
        ] {
            let t = FileTime::from_gmt_token(token).unwrap();
            assert_eq!(t.gmt_token(), token);
        }
        assert_eq!(FileTime(0).gmt_token(), "@GMT-1601.01.01-00.00.00");
        // Sub-second ticks are dropped: the token names the second.
        assert_eq!(
            FileTime(FileTime::UNIX_EPOCH.0 + 9_999_999).gmt_token(),
            "@GMT-1970.01.01-00.00.00"
        );
        for bad in [
            "",
            "@GMT-2026.01.01-00.00.0",
            "@GMT-2026.01.01-00.00.000",
            "@gmt-2026.01.01-00.00.00",
            "@GMT-2026-01-01-00.00.00",
            "@GMT-2026.13.01-00.00.00",
            "@GMT-2026.00.01-00.00.00",
            "@GMT-2026.02.29-00.00.00",
            "@GMT-1900.02.29-00.00.00",
            "@GMT-2026.04.31-00.00.00",
            "@GMT-2026.01.00-00.00.00",
            "@GMT-2026.01.01-24.00.00",
            "@GMT-2026.01.01-00.60.00",
            "@GMT-2026.01.01-00.00.60",
            "@GMT-1600.12.31-23.59.59",
            "@GMT-+026.01.01-00.00.00",
            "@GMT-2026.01.01-00.00.\u{e9}",
        ] {
            assert_eq!(FileTime::from_gmt_token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn file_time_converts_to_system_time() {
        assert_eq!(FileTime(0).to_system_time(), None);
        assert_eq!(
            FileTime::UNIX_EPOCH.to_system_time(),
            Some(SystemTime::UNIX_EPOCH)
        );
        // 0x01dd7a615729346f is Nov 22, 2026 09:10:38.3717487 UTC per tshark.
        let t = FileTime(0x01dd_7a61_5729_346f).to_system_time().unwrap();
        let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(
            (d.as_secs(), d.subsec_nanos()),
            (1_795_338_638, 371_748_700)
        );
        assert_eq!(
            FileTime::from_system_time(t),
            FileTime(0x01dd_7a61_5729_346f)
        );
        // Before 1970 and at the extremes.
        let early = FileTime(1).to_system_time().unwrap();
        assert!(early < SystemTime::UNIX_EPOCH);
        assert_eq!(FileTime::from_system_time(early), FileTime(1));
        assert!(FileTime(u64::MAX).to_system_time().is_some());
        assert_eq!(
            FileTime::from_system_time(
                SystemTime::UNIX_EPOCH - Duration::from_secs(20_000_000_000)
            ),
            FileTime(1)
        );
    }

    /// The `hello.txt` entry of smb311_default.pcapng frame 50 (the last entry, so its
    /// NextEntryOffset is 0).
    const HELLO_ENTRY: &str =
        "00000000 00000000 6f342957617add01 6f342957617add01 d9562957617add01 \
        d9562957617add01 1500000000000000 0010000000000000 20000000 12000000 00000000 00 00 \
        000000000000000000000000000000000000000000000000 0000 33c0980000000000 \
        680065006c006c006f002e00740078007400";

    #[test]
    fn short_names_are_decoded_within_their_field() {
        let mut e = hex(HELLO_ENTRY).to_vec();
        e[68] = 8; // ShortNameLength
        e[70..78].copy_from_slice(&codec::to_utf16le("HE~1"));
        let parsed = FileIdBothDirectoryInformation::parse_all(&e).unwrap();
        assert_eq!(parsed[0].short_name, "HE~1");
        assert_eq!(parsed[0].file_name, "hello.txt");
        let mut round = Vec::new();
        FileIdBothDirectoryInformation::encode_list(&parsed, &mut round);
        assert_eq!(round, e);
        e[68] = 26; // longer than the 24-byte field
        assert!(FileIdBothDirectoryInformation::parse_all(&e).is_err());
    }

    #[test]
    fn entry_chains_only_move_forward() {
        assert_eq!(
            FileIdBothDirectoryInformation::parse_all(&[]),
            Ok(Vec::new())
        );
        let one = hex(HELLO_ENTRY).to_vec();
        let mut two = one.clone();
        two[0] = 0x80; // NextEntryOffset 128: past 122 bytes, aligned
        two.resize(128, 0);
        two.extend_from_slice(&one);
        assert_eq!(
            FileIdBothDirectoryInformation::parse_all(&two)
                .unwrap()
                .len(),
            2
        );
        for bad_next in [1u8, 0x67] {
            // Into its own fixed part: would revisit or overlap the entry.
            let mut m = two.clone();
            m[0] = bad_next;
            assert!(FileIdBothDirectoryInformation::parse_all(&m).is_err());
        }
        let mut m = two.clone();
        m[1] = 0x01; // NextEntryOffset 0x180: beyond the buffer
        assert!(FileIdBothDirectoryInformation::parse_all(&m).is_err());
        let mut m = two.clone();
        m[60] = 0x7F; // FileNameLength overrunning the first entry
        assert!(FileIdBothDirectoryInformation::parse_all(&m).is_err());
        for n in 0..two.len() {
            let _ = FileIdBothDirectoryInformation::parse_all(&two[..n]);
        }
    }

    #[test]
    fn basic_information_round_trips() {
        let b = FileBasicInformation {
            creation_time: FileTime(1),
            last_access_time: FileTime(2),
            last_write_time: FileTime(3),
            change_time: FileTime(4),
            file_attributes: file_attributes::HIDDEN | file_attributes::ARCHIVE,
        };
        let enc = b.encode();
        assert_eq!(enc.len(), FileBasicInformation::LEN);
        assert_eq!(&enc[32..], &hex("22000000 00000000")[..]);
        assert_eq!(FileBasicInformation::decode(&enc), Ok(b));
        assert!(FileBasicInformation::decode(&enc[..36]).is_err());
        let s = FileStandardInformation {
            allocation_size: 4096,
            end_of_file: 21,
            number_of_links: 1,
            delete_pending: false,
            directory: true,
        };
        assert_eq!(FileStandardInformation::decode(&s.encode()), Ok(s));
        assert_eq!(
            FileEndOfFileInformation {
                end_of_file: 0x0102
            }
            .encode(),
            hex("0201000000000000")
        );
    }

    #[test]
    fn volume_and_full_size_information() {
        // MS-FSCC 2.5.9 laid out by hand: time, serial, label length 8, SupportsObjects 0,
        // Reserved, label "data".
        let vol = hex("6f342957617add01 78563412 08000000 00 00 6400610074006100");
        let v = FileFsVolumeInformation::decode(&vol).unwrap();
        assert_eq!(v.volume_creation_time, FileTime(0x01dd_7a61_5729_346f));
        assert_eq!(v.volume_serial_number, 0x1234_5678);
        assert!(!v.supports_objects);
        assert_eq!(v.volume_label, "data");
        assert!(FileFsVolumeInformation::decode(&vol[..vol.len() - 1]).is_err());
        // MS-FSCC 2.5.4 laid out by hand.
        let full = hex("0a00000000000000 0500000000000000 0600000000000000 02000000 00020000");
        let f = FileFsFullSizeInformation::decode(&full).unwrap();
        assert_eq!(f.total_allocation_units, 10);
        assert_eq!(f.caller_available_allocation_units, 5);
        assert_eq!(f.actual_available_allocation_units, 6);
        assert_eq!(
            (f.sectors_per_allocation_unit, f.bytes_per_sector),
            (2, 512)
        );
        assert!(FileFsFullSizeInformation::decode(&full[..31]).is_err());
    }

    #[test]
    fn attribute_information_is_bounded_by_its_buffer() {
        // MS-FSCC 2.5.1 laid out by hand as Samba answers: case-sensitive search,
        // case-preserved names, Unicode, ACLs, sparse files, named streams (0x4004f),
        // 255-character names, "NTFS".
        let buf = hex("4f000400 ff000000 08000000 4e00540046005300");
        let a = FileFsAttributeInformation::decode(&buf).unwrap();
        assert_eq!(a.file_system_attributes, 0x0004_004f);
        assert!(a.file_system_attributes & fs_attributes::NAMED_STREAMS != 0);
        assert_eq!(a.maximum_component_name_length, 255);
        assert_eq!(a.file_system_name, "NTFS");
        assert_eq!(a.encode(), buf);
        // Every cut is an error, never a panic; a name longer than the buffer, or of an
        // odd length, too.
        for n in 0..buf.len() {
            assert!(
                FileFsAttributeInformation::decode(&buf[..n]).is_err(),
                "{n}"
            );
        }
        let long = hex("4f000400 ff000000 ffffffff 4e00540046005300");
        assert!(matches!(
            FileFsAttributeInformation::decode(&long),
            Err(DecodeError::Truncated { .. })
        ));
        let odd = hex("4f000400 ff000000 07000000 4e00540046005300");
        assert!(FileFsAttributeInformation::decode(&odd).is_err());
        assert_eq!(
            FileAllocationInformation {
                allocation_size: 0x0001_0000
            }
            .encode(),
            hex("0000010000000000")
        );
    }

    /// MS-FSCC 2.4.44 laid out by hand as Samba answers for a file with one named
    /// stream: `::$DATA` (21 bytes), then `:s1:$DATA` (5 bytes); entries 8-byte aligned.
    const STREAMS: &str = "28000000 0e000000 1500000000000000 0010000000000000 \
        3a003a002400440041005400410000 00 \
        00000000 12000000 0500000000000000 0010000000000000 \
        3a0073003100 3a002400440041005400 4100";

    #[test]
    fn stream_information_lists_every_stream_within_its_buffer() {
        let buf = hex(STREAMS);
        let s = FileStreamInformation::parse_all(&buf).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].stream_name, "::$DATA");
        assert_eq!((s[0].stream_size, s[0].stream_allocation_size), (21, 4096));
        assert_eq!(s[1].stream_name, ":s1:$DATA");
        assert_eq!(s[1].stream_size, 5);
        assert_eq!(FileStreamInformation::parse_all(&[]), Ok(Vec::new()));
        // Every cut is an error or a shorter list, never a panic.
        for n in 1..buf.len() {
            assert!(FileStreamInformation::parse_all(&buf[..n]).is_err(), "{n}");
        }
        let mut back = buf.to_vec();
        back[0] = 0x10; // NextEntryOffset into the entry's own fixed part
        assert!(FileStreamInformation::parse_all(&back).is_err());
        let mut long = buf.to_vec();
        long[4] = 0x40; // StreamNameLength past the entry
        assert!(FileStreamInformation::parse_all(&long).is_err());
    }

    /// MS-FSCC 2.4.15 laid out by hand: `user.a` = "1" (flags 0), then `B` = "" with
    /// FILE_NEED_EA; the first entry is 8 + 7 + 1 = 16 bytes, already 4-byte aligned.
    const EAS: &str = "10000000 00 06 0100 757365722e6100 31 \
        00000000 80 01 0000 4200";

    #[test]
    fn full_ea_information_round_trips_and_is_bounded() {
        let buf = hex(EAS);
        let eas = FileFullEaInformation::parse_all(&buf).unwrap();
        assert_eq!(
            eas,
            vec![
                FileFullEaInformation {
                    flags: 0,
                    name: "user.a".into(),
                    value: b"1".to_vec(),
                },
                FileFullEaInformation {
                    flags: ea_flags::NEED_EA,
                    name: "B".into(),
                    value: Vec::new(),
                },
            ]
        );
        let mut out = Vec::new();
        FileFullEaInformation::encode_list(&eas, &mut out).unwrap();
        assert_eq!(out, buf);
        // A name needing padding: 8 + 2 + 1 + 3 = 14, padded to 16.
        let odd = [
            FileFullEaInformation {
                flags: 0,
                name: "ab".into(),
                value: b"xyz".to_vec(),
            },
            eas[1].clone(),
        ];
        let mut out = Vec::new();
        FileFullEaInformation::encode_list(&odd, &mut out).unwrap();
        assert_eq!(&out[..4], &hex("10000000")[..]);
        assert_eq!(&out[14..16], &[0, 0]);
        assert_eq!(FileFullEaInformation::parse_all(&out).unwrap(), odd);
        assert_eq!(FileFullEaInformation::parse_all(&[]), Ok(Vec::new()));
        for n in 1..buf.len() {
            assert!(FileFullEaInformation::parse_all(&buf[..n]).is_err(), "{n}");
        }
        let mut m = buf.to_vec();
        m[14] = b'x'; // the name's terminator
        assert!(FileFullEaInformation::parse_all(&m).is_err());
        let mut m = buf.to_vec();
        m[6] = 0xff; // EaValueLength past the entry
        assert!(FileFullEaInformation::parse_all(&m).is_err());
        let mut m = buf.to_vec();
        m[0] = 4; // NextEntryOffset into the fixed part
        assert!(FileFullEaInformation::parse_all(&m).is_err());
    }

    #[test]
    fn ea_names_and_values_a_client_cannot_send_are_refused_before_encoding() {
        let ea = |name: &str, len: usize| FileFullEaInformation {
            flags: 0,
            name: name.into(),
            value: vec![b'v'; len],
        };
        let long = "n".repeat(256);
        for bad in [
            ea("", 1),
            ea("caf\u{e9}", 1),
            ea("a\0b", 1),
            ea("a\nb", 1),
            ea(&long, 1),
            ea("big", 65_536),
        ] {
            let mut out = Vec::new();
            let err = FileFullEaInformation::encode_list(&[ea("ok", 1), bad.clone()], &mut out);
            assert_eq!(err.map_err(|(i, _)| i), Err(1), "{:?}", bad.name);
            assert!(out.is_empty());
        }
        let mut out = Vec::new();
        let edge = [ea(&long[..255], 65_535)];
        FileFullEaInformation::encode_list(&edge, &mut out).unwrap();
        assert_eq!(
            FileFullEaInformation::parse_all(&out).unwrap()[..],
            edge[..]
        );
    }
}
