//! Keytab files, version 2 (0x0502): a principal's long-term keys, as `ktutil`, `kadmin
//! ktadd`, `samba-tool domain exportkeytab` and `net ads keytab` write them.
//!
//! Format (MIT krb5 `doc/formats/keytab_file_format.rst` as corrected by krb5 PR #427 —
//! the component count and key length are 16-bit — and Heimdal `krb5_fileformats(3)`), all
//! integers big-endian:
//!
//! ```text
//! file   = u8 5, u8 2, { i32 record_len, record }*   (EOF or a length of 0 ends it;
//!                                                     a negative length is a hole of -len bytes)
//! record = u16 n_components, data realm, data component × n, u32 name_type,
//!          u32 timestamp, u8 kvno, u16 enctype, u16 key_len, key,
//!          [u32 kvno, when at least 4 bytes remain and it is not 0: supersedes the u8]
//!          (Heimdal may add a u32 of flags after it; ignored)
//! data   = u16 length, bytes
//! ```
//!
//! The parser reads bytes the caller loaded (reading files is a driver's job), never
//! panics, allocates no more than the input's size, and ends in a typed error.
//!
//! ```
//! use smb_proto::auth::kerberos::keytab::Keytab;
//!
//! // One record: SMBTEST.TEST / alice, kvno 2, etype 23 (RC4: the NT hash).
//! let mut file = vec![5, 2];
//! let mut record = vec![0, 1, 0, 12];
//! record.extend_from_slice(b"SMBTEST.TEST");
//! record.extend_from_slice(&[0, 5]);
//! record.extend_from_slice(b"alice");
//! record.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 23, 0, 16]);
//! record.extend_from_slice(&[0x11; 16]);
//! file.extend_from_slice(&(record.len() as i32).to_be_bytes());
//! file.extend_from_slice(&record);
//!
//! let keytab = Keytab::parse(&file)?;
//! let entry = &keytab.entries()[0];
//! assert_eq!(entry.principal(), "alice@SMBTEST.TEST");
//! assert_eq!(entry.kvno(), 2);
//! assert_eq!(entry.key()?.as_bytes(), &[0x11; 16]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use zeroize::Zeroizing;

use super::crypto::{CryptoError, Enctype, Key};
use crate::wire::codec::{DecodeError, Reader};

/// Why a keytab could not be read. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeytabError {
    /// The file does not start with the keytab magic byte 5.
    #[error("not a keytab: first byte {0:#04x}, expected 0x05")]
    NotAKeytab(u8),
    /// A keytab version other than 2 (version 1 is native-endian and obsolete).
    #[error("keytab version {0} is not supported (only version 2)")]
    Version(u8),
    /// A record or field runs past the end of the file or of its record.
    #[error("malformed keytab: {0}")]
    Decode(#[from] DecodeError),
    /// A realm or name component is not UTF-8.
    #[error("keytab {what} at offset {offset} is not UTF-8")]
    NotUtf8 {
        /// `realm` or `name component`.
        what: &'static str,
        /// Offset of its bytes in the file.
        offset: usize,
    },
}

/// One key of a keytab: a principal, a key version and an etype.
#[derive(Clone, PartialEq, Eq)]
pub struct KeytabEntry {
    realm: String,
    components: Vec<String>,
    name_type: u32,
    timestamp: u32,
    kvno: u32,
    enctype: i32,
    key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for KeytabEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeytabEntry")
            .field("principal", &self.principal())
            .field("name_type", &self.name_type)
            .field("kvno", &self.kvno)
            .field("enctype", &self.enctype)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl KeytabEntry {
    /// The realm, e.g. `SMBTEST.TEST`.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The name components: `["alice"]`, `["cifs", "dc.smbtest.test"]`.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The principal as `a/b@REALM`.
    pub fn principal(&self) -> String {
        format!("{}@{}", self.components.join("/"), self.realm)
    }

    /// The name type (1 NT-PRINCIPAL, 2 NT-SRV-INST, 3 NT-SRV-HST, …; RFC 4120 section
    /// 6.2). Matching ignores it, as MIT and Heimdal do.
    pub fn name_type(&self) -> u32 {
        self.name_type
    }

    /// When the key was written, in seconds since 1970.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// The key version number (from the 32-bit field when present, else the 8-bit one).
    pub fn kvno(&self) -> u32 {
        self.kvno
    }

    /// The etype number as written (it may be one this client does not speak, e.g. DES).
    pub fn enctype(&self) -> i32 {
        self.enctype
    }

    /// The key as a [`Key`].
    ///
    /// # Errors
    ///
    /// [`CryptoError::UnsupportedEnctype`] for an etype this client does not speak, or
    /// [`CryptoError::KeyLength`] for a key of the wrong length.
    pub fn key(&self) -> Result<Key, CryptoError> {
        let etype = Enctype::from_number(self.enctype)
            .ok_or(CryptoError::UnsupportedEnctype(self.enctype))?;
        Key::new(etype, &self.key)
    }

    /// Whether this entry is for `name` (components) in `realm`, exactly.
    pub fn is_for(&self, realm: &str, name: &[&str]) -> bool {
        self.realm == realm
            && self
                .components
                .iter()
                .map(String::as_str)
                .eq(name.iter().copied())
    }
}

/// A parsed keytab: its entries in file order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Keytab {
    entries: Vec<KeytabEntry>,
}

impl fmt::Debug for Keytab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.entries).finish()
    }
}

impl Keytab {
    /// Parses a version 2 keytab.
    ///
    /// # Errors
    ///
    /// [`KeytabError`] for another format or version, a record or field running past its
    /// end, or a principal that is not UTF-8.
    pub fn parse(file: &[u8]) -> Result<Keytab, KeytabError> {
        let mut r = Reader::new(file);
        let magic = r.u8("keytab magic")?;
        if magic != 5 {
            return Err(KeytabError::NotAKeytab(magic));
        }
        let version = r.u8("keytab version")?;
        if version != 2 {
            return Err(KeytabError::Version(version));
        }
        let mut entries = Vec::new();
        while r.remaining() > 0 {
            let len = i32::from_be_bytes(r.array("keytab record length")?);
            if len == 0 {
                break;
            }
            let hole = len < 0;
            // |i32::MIN| does not fit an i32, but does a usize.
            let len = len.unsigned_abs() as usize;
            if hole {
                r.skip(len, "keytab hole")?;
                continue;
            }
            let start = r.pos();
            let record = r.bytes(len, "keytab record")?;
            entries.push(parse_record(record, start)?);
        }
        Ok(Keytab { entries })
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[KeytabEntry] {
        &self.entries
    }

    /// The entry for `name` in `realm` with etype `enctype` and the highest key version,
    /// if any.
    pub fn find(&self, realm: &str, name: &[&str], enctype: Enctype) -> Option<&KeytabEntry> {
        self.entries
            .iter()
            .filter(|e| e.enctype == enctype.number() && e.is_for(realm, name))
            .max_by_key(|e| e.kvno)
    }
}

/// One record; `base` is its offset in the file, for error messages.
fn parse_record(record: &[u8], base: usize) -> Result<KeytabEntry, KeytabError> {
    let mut r = Reader::new(record);
    let count = u16::from_be_bytes(r.array("keytab component count")?);
    let realm = data16(&mut r, base, "realm")?;
    // Each component takes at least its 2-byte length, so the record bounds this loop.
    let mut components = Vec::new();
    for _ in 0..count {
        components.push(data16(&mut r, base, "name component")?);
    }
    let name_type = u32::from_be_bytes(r.array("keytab name type")?);
    let timestamp = u32::from_be_bytes(r.array("keytab timestamp")?);
    let kvno8 = r.u8("keytab kvno")?;
    let enctype = u16::from_be_bytes(r.array("keytab enctype")?);
    let key_len = u16::from_be_bytes(r.array("keytab key length")?);
    let key = Zeroizing::new(r.bytes(usize::from(key_len), "keytab key")?.to_vec());
    let kvno = match r.array::<4>("keytab kvno32") {
        Ok(bytes) if u32::from_be_bytes(bytes) != 0 => u32::from_be_bytes(bytes),
        _ => u32::from(kvno8),
    };
    Ok(KeytabEntry {
        realm,
        components,
        name_type,
        timestamp,
        kvno,
        // The file holds the etype as 16 bits; etype numbers are 32-bit signed on the wire,
        // and every one a keytab holds is a small positive number.
        enctype: i32::from(enctype),
        key,
    })
}

/// A 16-bit-length-prefixed UTF-8 string.
fn data16(r: &mut Reader<'_>, base: usize, what: &'static str) -> Result<String, KeytabError> {
    let len = u16::from_be_bytes(r.array("keytab string length")?);
    let offset = base + r.pos();
    let bytes = r.bytes(usize::from(len), what)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| KeytabError::NotUtf8 { what, offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record for `components@realm` with kvno8 `kvno`, etype and key, plus `tail`.
    fn record(
        realm: &str,
        components: &[&str],
        kvno: u8,
        enctype: u16,
        key: &[u8],
        tail: &[u8],
    ) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&(components.len() as u16).to_be_bytes());
        for s in std::iter::once(&realm).chain(components) {
            r.extend_from_slice(&(s.len() as u16).to_be_bytes());
            r.extend_from_slice(s.as_bytes());
        }
        r.extend_from_slice(&1u32.to_be_bytes());
        r.extend_from_slice(&0x6b16_c5ebu32.to_be_bytes());
        r.push(kvno);
        r.extend_from_slice(&enctype.to_be_bytes());
        r.extend_from_slice(&(key.len() as u16).to_be_bytes());
        r.extend_from_slice(key);
        r.extend_from_slice(tail);
        r
    }

    fn file(records: &[Vec<u8>]) -> Vec<u8> {
        let mut f = vec![5, 2];
        for r in records {
            f.extend_from_slice(&(r.len() as i32).to_be_bytes());
            f.extend_from_slice(r);
        }
        f
    }

    /// What `samba-tool domain exportkeytab` wrote for a user (measured): kvno 2 in both
    /// the 8-bit and the 32-bit field, then Heimdal's 4 bytes of flags.
    fn samba_like() -> Vec<u8> {
        let tail = [0, 0, 0, 2, 0, 0, 0, 0];
        file(&[
            record("SMBTEST.TEST", &["smbtest"], 2, 18, &[0x18; 32], &tail),
            record("SMBTEST.TEST", &["smbtest"], 2, 17, &[0x17; 16], &tail),
            record("SMBTEST.TEST", &["smbtest"], 2, 23, &[0x23; 16], &tail),
        ])
    }

    #[test]
    fn reads_what_samba_writes() {
        let keytab = Keytab::parse(&samba_like()).unwrap();
        assert_eq!(keytab.entries().len(), 3);
        for (entry, (etype, byte)) in
            keytab
                .entries()
                .iter()
                .zip([(18, 0x18), (17, 0x17), (23, 0x23)])
        {
            assert_eq!(entry.principal(), "smbtest@SMBTEST.TEST");
            assert_eq!(entry.realm(), "SMBTEST.TEST");
            assert_eq!(entry.components(), ["smbtest"]);
            assert_eq!(entry.name_type(), 1);
            assert_eq!(entry.timestamp(), 0x6b16_c5eb);
            assert_eq!(entry.kvno(), 2);
            assert_eq!(entry.enctype(), etype);
            let key = entry.key().unwrap();
            assert!(key.as_bytes().iter().all(|&b| b == byte));
        }
        let aes = keytab
            .find("SMBTEST.TEST", &["smbtest"], Enctype::Aes256)
            .unwrap();
        assert_eq!(aes.enctype(), 18);
        assert!(keytab
            .find("SMBTEST.TEST", &["alice"], Enctype::Aes256)
            .is_none());
        assert!(keytab
            .find("smbtest.test", &["smbtest"], Enctype::Aes256)
            .is_none());
        // The key never shows in Debug.
        let shown = format!("{keytab:?}");
        assert!(
            shown.contains("smbtest@SMBTEST.TEST") && shown.contains("redacted"),
            "{shown}"
        );
        assert!(!shown.contains("24, 24"), "{shown}");
    }

    #[test]
    fn kvno32_holes_end_marker_and_multi_component_names() {
        let mut f = file(&[
            // kvno8 wrapped to 1, the 32-bit field says 257.
            record(
                "R",
                &["cifs", "dc.r"],
                1,
                18,
                &[1; 32],
                &257u32.to_be_bytes(),
            ),
            // A 32-bit kvno of 0 means "use the 8-bit one"; fewer than 4 bytes: ignored.
            record("R", &["cifs", "dc.r"], 3, 18, &[3; 32], &0u32.to_be_bytes()),
            record("R", &["cifs", "dc.r"], 4, 18, &[4; 32], &[0, 0]),
        ]);
        // A hole (deleted entry) of 6 bytes, then an entry for another etype, then the end
        // marker and trailing junk that is never read.
        f.extend_from_slice(&(-6i32).to_be_bytes());
        f.extend_from_slice(&[0xee; 6]);
        let last = record("R", &["cifs", "dc.r"], 9, 99, &[9; 8], &[]);
        f.extend_from_slice(&(last.len() as i32).to_be_bytes());
        f.extend_from_slice(&last);
        f.extend_from_slice(&[0, 0, 0, 0, 0xde, 0xad]);
        let keytab = Keytab::parse(&f).unwrap();
        let kvnos: Vec<u32> = keytab.entries().iter().map(KeytabEntry::kvno).collect();
        assert_eq!(kvnos, [257, 3, 4, 9]);
        assert_eq!(keytab.entries()[0].principal(), "cifs/dc.r@R");
        assert_eq!(
            keytab
                .find("R", &["cifs", "dc.r"], Enctype::Aes256)
                .unwrap()
                .kvno(),
            257
        );
        assert_eq!(
            keytab.entries()[3].key(),
            Err(CryptoError::UnsupportedEnctype(99))
        );
        // An empty keytab is valid.
        assert_eq!(Keytab::parse(&[5, 2]).unwrap().entries().len(), 0);
    }

    #[test]
    fn rejects_other_formats() {
        assert_eq!(Keytab::parse(&[5, 1, 0, 0]), Err(KeytabError::Version(1)));
        assert_eq!(Keytab::parse(&[4, 2]), Err(KeytabError::NotAKeytab(4)));
        assert!(matches!(Keytab::parse(&[]), Err(KeytabError::Decode(_))));
        assert!(matches!(Keytab::parse(&[5]), Err(KeytabError::Decode(_))));
        let bad = file(&[record("R\u{e9}", &["x"], 1, 23, &[0; 16], &[])]);
        let mut bad_utf8 = bad.clone();
        // Replace the é's two bytes with an invalid sequence.
        let at = bad
            .windows(2)
            .position(|w| w == "\u{e9}".as_bytes())
            .unwrap();
        bad_utf8[at] = 0xff;
        assert_eq!(
            Keytab::parse(&bad_utf8),
            Err(KeytabError::NotUtf8 {
                what: "realm",
                offset: at - 1
            })
        );
    }

    /// Every truncation of a valid keytab is an error or a shorter keytab, never a panic.
    #[test]
    fn every_truncation_is_a_typed_error() {
        let f = samba_like();
        let mut ok = 0;
        for len in 0..f.len() {
            match Keytab::parse(&f[..len]) {
                Ok(k) => {
                    ok += 1;
                    assert!(k.entries().len() < 3, "{len}");
                }
                Err(KeytabError::Decode(DecodeError::Truncated { .. })) => {}
                Err(e) => panic!("{len}: {e}"),
            }
        }
        // Only the cuts right after a whole record (or the header) parse.
        assert_eq!(ok, 3);
    }

    /// Lengths that claim more than there is, in every field, are errors without a big
    /// allocation.
    #[test]
    fn huge_lengths_are_errors() {
        let mut f = vec![5, 2];
        f.extend_from_slice(&i32::MAX.to_be_bytes());
        f.extend_from_slice(&[0; 16]);
        assert!(matches!(
            Keytab::parse(&f),
            Err(KeytabError::Decode(DecodeError::Truncated { .. }))
        ));
        let mut f = vec![5, 2];
        f.extend_from_slice(&i32::MIN.to_be_bytes());
        assert!(matches!(
            Keytab::parse(&f),
            Err(KeytabError::Decode(DecodeError::Truncated { .. }))
        ));

        // Inside a record: component count, string length and key length of 0xffff.
        let good = record("R", &["u"], 1, 23, &[0; 16], &[]);
        for (at, what) in [
            (0, "count"),
            (2, "realm length"),
            (5, "component length"),
            (19, "key length"),
        ] {
            let mut r = good.clone();
            r[at] = 0xff;
            r[at + 1] = 0xff;
            let err = Keytab::parse(&file(&[r])).unwrap_err();
            assert!(
                matches!(err, KeytabError::Decode(DecodeError::Truncated { .. })),
                "{what}: {err}"
            );
        }
    }

    /// Pseudo-random bytes after a valid header: never a panic.
    #[test]
    fn garbage_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2000 {
            let len = round % 200;
            let mut f = vec![5, 2];
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                f.push(state as u8);
            }
            let _ = Keytab::parse(&f);
        }
        // And mutations of a valid file.
        let base = samba_like();
        for i in 0..base.len() {
            for bit in [0x01, 0x80] {
                let mut f = base.clone();
                f[i] ^= bit;
                let _ = Keytab::parse(&f);
            }
        }
    }
}
