//! What `smb` prints: listing lines, times, sizes, attributes, and the JSON shapes of
//! `--json` (documented in `smb --help`; tests hold them to it).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use smb_blocking::{file_attributes, Ace, AceType, Acl, FileInfo, FileTime, SecurityDescriptor};
use smb_blocking::{Change, FsInfo, ShareInfo, ShareType};

use crate::printable;

/// Seconds since 1970 (negative before), whole.
fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            // Rounded down: 0.5 s before 1970 is in 1969's last second.
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    }
}

/// (year, month, day, hour, minute, second) in UTC, without a date crate.
fn civil(t: SystemTime) -> (i64, i64, i64, i64, i64, i64) {
    let secs = unix_seconds(t);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = civil(t);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

/// RFC 3339 in UTC, whole seconds: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = civil(t);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// A FILETIME as text, `-` when the server gave none.
pub fn time_or_dash(t: FileTime) -> String {
    t.to_system_time()
        .map(format_time)
        .unwrap_or_else(|| "-".into())
}

/// A size in binary units: `0 B`, `1023 B`, `1.0 KiB`, `3.0 MiB`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The attribute letters of `ls -l`: directory, read-only, hidden, system, archive, each
/// its letter or `-`.
pub fn attribute_letters(attributes: u32) -> String {
    [
        (file_attributes::DIRECTORY, 'd'),
        (file_attributes::READONLY, 'r'),
        (file_attributes::HIDDEN, 'h'),
        (file_attributes::SYSTEM, 's'),
        (file_attributes::ARCHIVE, 'a'),
    ]
    .iter()
    .map(|&(bit, c)| if attributes & bit != 0 { c } else { '-' })
    .collect()
}

/// The names of the attribute bits set, as JSON lists them.
pub fn attribute_names(attributes: u32) -> Vec<&'static str> {
    [
        (file_attributes::READONLY, "read_only"),
        (file_attributes::HIDDEN, "hidden"),
        (file_attributes::SYSTEM, "system"),
        (file_attributes::DIRECTORY, "directory"),
        (file_attributes::ARCHIVE, "archive"),
        (file_attributes::NORMAL, "normal"),
        (file_attributes::TEMPORARY, "temporary"),
        (file_attributes::SPARSE_FILE, "sparse"),
        (file_attributes::REPARSE_POINT, "reparse_point"),
        (file_attributes::COMPRESSED, "compressed"),
        (file_attributes::OFFLINE, "offline"),
        (file_attributes::NOT_CONTENT_INDEXED, "not_content_indexed"),
        (file_attributes::ENCRYPTED, "encrypted"),
    ]
    .iter()
    .filter(|(bit, _)| attributes & bit != 0)
    .map(|&(_, name)| name)
    .collect()
}

/// One `ls` line: type, size in bytes, modification time, name.
pub fn ls_line(e: &FileInfo, name: &str) -> String {
    let kind = if e.is_directory() { 'd' } else { '-' };
    format!(
        "{kind} {:>12} {} {}",
        e.size,
        time_or_dash(e.last_write_time),
        printable(name)
    )
}

/// One `ls -l` line: attributes, size in binary units, modification time, name.
pub fn ls_long_line(e: &FileInfo, name: &str) -> String {
    format!(
        "{} {:>10} {} {}",
        attribute_letters(e.attributes),
        human_size(e.size),
        time_or_dash(e.last_write_time),
        printable(name)
    )
}

/// A directory entry or a file's attributes in JSON.
#[derive(Debug, Serialize)]
pub struct EntryJson {
    /// The last component.
    pub name: String,
    /// The path: share-relative for `stat`, below the listed directory for `ls`, with
    /// `/` separators.
    pub path: String,
    /// `file` or `directory`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// End of file, bytes.
    pub size: u64,
    /// Allocation size, bytes.
    pub allocation_size: u64,
    /// MS-FSCC 2.6 attributes.
    pub attributes: u32,
    /// Their names.
    pub attribute_names: Vec<&'static str>,
    /// Times, RFC 3339 UTC, null when unset.
    pub created: Option<String>,
    /// Last write.
    pub modified: Option<String>,
    /// Last access.
    pub accessed: Option<String>,
    /// Last change (metadata included).
    pub changed: Option<String>,
}

impl EntryJson {
    /// `e` under `path` (`\` separators become `/`).
    pub fn new(e: &FileInfo, name: &str, path: &str) -> Self {
        let time = |t: FileTime| t.to_system_time().map(rfc3339);
        EntryJson {
            name: name.to_string(),
            path: path.replace('\\', "/"),
            kind: if e.is_directory() {
                "directory"
            } else {
                "file"
            },
            size: e.size,
            allocation_size: e.allocation_size,
            attributes: e.attributes,
            attribute_names: attribute_names(e.attributes),
            created: time(e.creation_time),
            modified: time(e.last_write_time),
            accessed: time(e.last_access_time),
            changed: time(e.change_time),
        }
    }
}

/// A share in JSON.
#[derive(Debug, Serialize)]
pub struct ShareJson {
    /// Its name.
    pub name: String,
    /// `disk`, `printer`, `device`, `ipc` or `other`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its comment.
    pub comment: String,
    /// An administrative share (`IPC$`, `C$`).
    pub special: bool,
    /// Gone at the server's restart.
    pub temporary: bool,
}

/// An entry of a browse list (or of a share list read through a URL context) in JSON.
#[derive(Debug, Serialize)]
pub struct DirentJson {
    /// Its name.
    pub name: String,
    /// `workgroup`, `server`, or a share's type as [`share_type`] names it.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its comment: a workgroup's master browser, a server's or share's description.
    pub comment: String,
}

impl From<&smb_blocking::Dirent> for DirentJson {
    fn from(e: &smb_blocking::Dirent) -> Self {
        DirentJson {
            name: e.name.clone(),
            kind: dirent_type(e.kind),
            comment: e.comment.clone(),
        }
    }
}

/// The name of a URL context entry's type: `workgroup`, `server`, a share's type as
/// [`share_type`] names it, `dir` or `file`.
pub fn dirent_type(kind: smb_blocking::DirentType) -> &'static str {
    use smb_blocking::DirentType as T;
    match kind {
        T::Workgroup => "workgroup",
        T::Server => "server",
        T::FileShare => "disk",
        T::PrinterShare => "printer",
        T::CommsShare => "device",
        T::IpcShare => "ipc",
        T::Dir => "dir",
        T::File => "file",
    }
}

/// A share type's name.
pub fn share_type(t: ShareType) -> &'static str {
    match t {
        ShareType::Disk => "disk",
        ShareType::PrintQueue => "printer",
        ShareType::Device => "device",
        ShareType::Ipc => "ipc",
        ShareType::Other(_) => "other",
    }
}

impl From<&ShareInfo> for ShareJson {
    fn from(s: &ShareInfo) -> Self {
        ShareJson {
            name: s.name.clone(),
            kind: share_type(s.share_type),
            comment: s.comment.clone(),
            special: s.is_special,
            temporary: s.is_temporary,
        }
    }
}

/// A snapshot in JSON.
#[derive(Debug, Serialize)]
pub struct SnapshotJson {
    /// `@GMT-YYYY.MM.DD-HH.MM.SS`, as the server names it.
    pub token: String,
    /// RFC 3339 UTC.
    pub time: Option<String>,
}

/// A data stream in JSON (`smb streams`).
#[derive(Debug, Serialize)]
pub struct StreamJson {
    /// The stream's name, `""` for the file's own contents (`::$DATA`).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Allocation size in bytes.
    pub allocation_size: u64,
}

impl StreamJson {
    /// The line `smb streams` prints: size, then the name (`::$DATA` for the file's own
    /// contents).
    pub fn text(&self) -> String {
        let name = if self.name.is_empty() {
            "::$DATA".to_string()
        } else {
            crate::printable(&self.name)
        };
        format!("{:>12}  {name}\n", self.size)
    }
}

/// An extended attribute in JSON (`smb ea`).
#[derive(Debug, Serialize)]
pub struct EaJson {
    /// Its name as the server returns it.
    pub name: String,
    /// The value as UTF-8 text, or null when it is not.
    pub value: Option<String>,
    /// Every byte of the value, in lowercase hex.
    pub value_hex: String,
    /// Its flags (0x80: FILE_NEED_EA).
    pub flags: u8,
}

impl EaJson {
    /// An EA as the server returned it.
    pub fn new(name: &str, value: &[u8], flags: u8) -> Self {
        EaJson {
            name: name.to_string(),
            value: String::from_utf8(value.to_vec()).ok(),
            value_hex: value.iter().map(|b| format!("{b:02x}")).collect(),
            flags,
        }
    }

    /// The line `smb ea` prints: `NAME="VALUE"`, a byte that is not printable ASCII (or
    /// is `"` or a backslash) as `\xNN`.
    pub fn text(&self, value: &[u8]) -> String {
        let mut shown = String::new();
        for &b in value {
            if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
                shown.push(char::from(b));
            } else {
                shown.push_str(&format!("\\x{b:02x}"));
            }
        }
        format!("{}=\"{shown}\"\n", crate::printable(&self.name))
    }
}

/// An ACE's type as `acl` names it.
pub fn ace_type(t: AceType) -> String {
    match t {
        AceType::AccessAllowed => "ALLOWED".into(),
        AceType::AccessDenied => "DENIED".into(),
        AceType::SystemAudit => "AUDIT".into(),
        AceType::SystemAlarm => "ALARM".into(),
        AceType::AccessAllowedObject => "ALLOWED_OBJECT".into(),
        AceType::AccessDeniedObject => "DENIED_OBJECT".into(),
        AceType::SystemMandatoryLabel => "MANDATORY_LABEL".into(),
        other => format!("TYPE_{:#04x}", other.value()),
    }
}

/// The names of an ACE's flags (MS-DTYP 2.4.4.1), as smbcacls abbreviates them.
pub fn ace_flag_names(flags: u8) -> Vec<&'static str> {
    [
        (0x01, "OI"),
        (0x02, "CI"),
        (0x04, "NP"),
        (0x08, "IO"),
        (0x10, "I"),
        (0x40, "SA"),
        (0x80, "FA"),
    ]
    .iter()
    .filter(|(bit, _)| flags & bit != 0)
    .map(|&(_, name)| name)
    .collect()
}

/// The usual access masks by name, as smbcacls shows them.
fn rights_name(mask: u32) -> Option<&'static str> {
    match mask {
        0x001f_01ff => Some("FULL"),
        0x0013_01bf => Some("CHANGE"),
        0x0012_00a9 => Some("READ"),
        _ => None,
    }
}

/// An ACE in JSON.
#[derive(Debug, Serialize)]
pub struct AceJson {
    /// [`ace_type`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The AceType byte.
    pub type_code: u8,
    /// The AceFlags byte.
    pub flags: u8,
    /// [`ace_flag_names`].
    pub flag_names: Vec<&'static str>,
    /// The access mask.
    pub access_mask: u32,
    /// The trustee, `S-1-…`; null for an ACE type whose layout is unknown.
    pub sid: Option<String>,
}

impl From<&Ace> for AceJson {
    fn from(a: &Ace) -> Self {
        AceJson {
            kind: ace_type(a.ace_type),
            type_code: a.ace_type.value(),
            flags: a.flags,
            flag_names: ace_flag_names(a.flags),
            access_mask: a.access_mask,
            sid: a.sid.as_ref().map(ToString::to_string),
        }
    }
}

/// A security descriptor in JSON.
#[derive(Debug, Serialize)]
pub struct AclJson {
    /// The path asked about (share-relative, `/` separators).
    pub path: String,
    /// The owner SID.
    pub owner: Option<String>,
    /// The group SID.
    pub group: Option<String>,
    /// The control flags.
    pub control: u16,
    /// The DACL's ACEs; null when there is no DACL (everyone has access).
    pub dacl: Option<Vec<AceJson>>,
    /// The SACL's ACEs, when the server sent one.
    pub sacl: Option<Vec<AceJson>>,
}

impl AclJson {
    /// `sd` of `path`.
    pub fn new(path: &str, sd: &SecurityDescriptor) -> Self {
        let aces = |acl: &Option<Acl>| {
            acl.as_ref()
                .map(|a| a.aces.iter().map(AceJson::from).collect())
        };
        AclJson {
            path: path.replace('\\', "/"),
            owner: sd.owner.as_ref().map(ToString::to_string),
            group: sd.group.as_ref().map(ToString::to_string),
            control: sd.control,
            dacl: aces(&sd.dacl),
            sacl: aces(&sd.sacl),
        }
    }

    /// The text of `acl`: owner, group, then one line per ACE.
    pub fn text(&self) -> String {
        let mut out = format!(
            "owner: {}\ngroup: {}\n",
            self.owner.as_deref().unwrap_or("-"),
            self.group.as_deref().unwrap_or("-")
        );
        for (name, acl) in [("dacl", &self.dacl), ("sacl", &self.sacl)] {
            match acl {
                None if name == "dacl" => out.push_str("dacl: none (no restrictions)\n"),
                None => {}
                Some(aces) => {
                    out.push_str(&format!("{name}: {} ACE(s)\n", aces.len()));
                    for a in aces {
                        let mut line = format!(
                            "  {} {} {:#010x}",
                            a.kind,
                            a.sid.as_deref().unwrap_or("-"),
                            a.access_mask
                        );
                        if let Some(r) = rights_name(a.access_mask) {
                            line.push_str(&format!(" {r}"));
                        }
                        if !a.flag_names.is_empty() {
                            line.push_str(&format!(" {}", a.flag_names.join("|")));
                        }
                        out.push_str(&line);
                        out.push('\n');
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(format_time(t), "2023-11-14 22:13:20 UTC");
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        let before = UNIX_EPOCH - std::time::Duration::from_millis(500);
        assert_eq!(format_time(before), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn sizes_in_binary_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(3 << 20 | 12345), "3.0 MiB");
        assert_eq!(human_size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn attributes_as_letters_and_names() {
        let a = file_attributes::DIRECTORY | file_attributes::HIDDEN;
        assert_eq!(attribute_letters(a), "d-h--");
        assert_eq!(attribute_names(a), ["hidden", "directory"]);
        assert_eq!(ace_flag_names(0x13), ["OI", "CI", "I"]);
    }
}

/// `smb df --json`: the file system behind a share.
#[derive(Debug, Serialize)]
pub struct DfJson {
    /// The share.
    pub share: String,
    /// The path asked about (share-relative, `/`-separated; empty for the root).
    pub path: String,
    /// Size in bytes.
    pub total_bytes: u64,
    /// Bytes in use (size less free).
    pub used_bytes: u64,
    /// Bytes this user may still fill.
    pub available_bytes: u64,
    /// Bytes free on the volume, quotas aside.
    pub free_bytes: u64,
    /// Bytes per allocation unit.
    pub block_size: u64,
    /// The file system's name (`NTFS`, …).
    pub file_system: String,
    /// MS-FSCC 2.5.1 FileSystemAttributes.
    pub file_system_attributes: u32,
    /// The longest name component, in characters.
    pub max_name_length: u32,
    /// The volume label.
    pub label: String,
    /// The volume serial number.
    pub serial_number: u32,
    /// When the volume was created, RFC 3339, or null.
    pub volume_created: Option<String>,
}

impl DfJson {
    /// The JSON of `fs`, asked about `path` on `share`.
    pub fn new(share: &str, path: &str, fs: &FsInfo) -> Self {
        DfJson {
            share: share.to_string(),
            path: path.replace('\\', "/"),
            total_bytes: fs.total_bytes,
            used_bytes: fs.used_bytes(),
            available_bytes: fs.available_bytes,
            free_bytes: fs.free_bytes,
            block_size: fs.block_size,
            file_system: fs.file_system_name.clone(),
            file_system_attributes: fs.file_system_attributes,
            max_name_length: fs.max_name_length,
            label: fs.volume_label.clone(),
            serial_number: fs.volume_serial_number,
            volume_created: fs.volume_creation_time.to_system_time().map(rfc3339),
        }
    }

    /// `df -h`'s two lines: a header, then `source` with size, used, available, use%
    /// (used of used + available, rounded up, as df computes it), file system, label.
    pub fn text(&self, source: &str) -> String {
        let base = u128::from(self.used_bytes) + u128::from(self.available_bytes);
        let pct = match base {
            0 => "-".to_string(),
            base => format!("{}%", (u128::from(self.used_bytes) * 100).div_ceil(base)),
        };
        format!(
            "{:<24} {:>10} {:>10} {:>10} {:>4} {:<12} {}\n{:<24} {:>10} {:>10} {:>10} {:>4} {:<12} {}\n",
            "Share",
            "Size",
            "Used",
            "Avail",
            "Use%",
            "Type",
            "Label",
            printable(source),
            human_size(self.total_bytes),
            human_size(self.used_bytes),
            human_size(self.available_bytes),
            pct,
            printable(&self.file_system),
            printable(&self.label),
        )
    }
}

/// `smb watch --json`: one change.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ChangeJson {
    /// `added`, `removed`, `modified`, `renamed`, `list_again` or `other`.
    pub change: &'static str,
    /// The name (the new one of a rename), relative to the watched directory,
    /// `/`-separated; null for `list_again`.
    pub name: Option<String>,
    /// A rename's old name; null otherwise.
    pub old_name: Option<String>,
    /// The FILE_ACTION_* code of an `other` change; null otherwise.
    pub action: Option<u32>,
}

impl ChangeJson {
    /// The JSON of `c`.
    pub fn new(c: &Change) -> Self {
        let name = |n: &str| Some(n.replace('\\', "/"));
        let (change, new, old, action) = match c {
            Change::Added(n) => ("added", name(n), None, None),
            Change::Removed(n) => ("removed", name(n), None, None),
            Change::Modified(n) => ("modified", name(n), None, None),
            Change::Renamed { from, to } => ("renamed", name(to), name(from), None),
            Change::Other { action, name: n } => ("other", name(n), None, Some(*action)),
            Change::ListAgain => ("list_again", None, None, None),
            // A change this version does not know: said as such, never dropped.
            _ => ("other", None, None, None),
        };
        ChangeJson {
            change,
            name: new,
            old_name: old,
            action,
        }
    }

    /// One line: `added NAME`, `renamed OLD -> NEW`, `list-again`, `other 0xN NAME`.
    pub fn text(&self) -> String {
        let name = printable(self.name.as_deref().unwrap_or_default());
        match (self.change, &self.old_name, self.action) {
            ("renamed", Some(old), _) => format!("renamed {} -> {name}", printable(old)),
            ("list_again", ..) => "list-again".to_string(),
            ("other", _, Some(a)) => format!("other {a:#x} {name}"),
            (change, ..) => format!("{change} {name}"),
        }
    }
}
