//! Credential caches in MIT's file format, versions 3 and 4: the tickets `kinit` (MIT or
//! Heimdal) left for a user, read so a login needs no password and, with a service ticket
//! already in the cache, no KDC at all.
//!
//! Format (MIT krb5 `doc/formats/ccache_file_format.rst`), all integers big-endian:
//!
//! ```text
//! file       = u8 5, u8 version (3 or 4), [v4: u16 header_len, header_len bytes of
//!              { u16 tag, u16 len, len bytes }, tag 1 = KDC time offset: i32 s, i32 µs],
//!              principal default, credential* (until the end of the file)
//! principal  = u32 name_type, u32 n_components, data realm, data component × n
//! credential = principal client, principal server,
//!              u16 enctype, [v3: u16 enctype again], data key,
//!              u32 authtime, u32 starttime, u32 endtime, u32 renew_till (Unix seconds),
//!              u8 is_skey, u32 ticket_flags,
//!              u32 n_addresses, { u16 type, data }*, u32 n_authdata, { u16 type, data }*,
//!              data ticket (DER), data second_ticket
//! data       = u32 length, bytes
//! ```
//!
//! MIT also stores configuration entries (server realm `X-CACHECONF:`, e.g. `pa_type`,
//! `fast_avail`): they are skipped. Versions 1 and 2 (native-endian, obsolete) are refused.
//!
//! Finding the file is the driver's job ([`file_path`] reads the `KRB5CCNAME` forms, the
//! driver reads the environment and the file); the parser reads bytes, never panics, never
//! allocates more than the input's size, and ends in a typed error.
//!
//! ```no_run
//! use smb_proto::auth::kerberos::ccache::{self, Ccache};
//!
//! let path = ccache::file_path("FILE:/tmp/krb5cc_1000")?;
//! let cache = Ccache::parse(&std::fs::read(path)?)?;
//! for c in cache.credentials() {
//!     println!("{} for {} until {:?}", c.server, c.client, c.endtime);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::Decode;
use zeroize::Zeroizing;

use super::asn1::Ticket;
use super::crypto::{Enctype, Key};
use super::{Credential, KerberosError, Principal};
use crate::wire::codec::{DecodeError, Reader};

/// The realm of MIT's configuration entries.
const CONFIG_REALM: &str = "X-CACHECONF:";

/// Why a credential cache could not be read. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CcacheError {
    /// The file does not start with the ccache magic byte 5.
    #[error("not a credential cache: first byte {0:#04x}, expected 0x05")]
    NotACcache(u8),
    /// A file format version other than 3 or 4.
    #[error("credential cache version {0} is not supported (only versions 3 and 4)")]
    Version(u8),
    /// A field runs past the end of the file.
    #[error("malformed credential cache: {0}")]
    Decode(#[from] DecodeError),
    /// A realm or name component is not UTF-8.
    #[error("credential cache {what} at offset {offset} is not UTF-8")]
    NotUtf8 {
        /// `realm` or `name component`.
        what: &'static str,
        /// Offset of its bytes in the file.
        offset: usize,
    },
    /// A credential's ticket is not a Kerberos ticket, or its key does not fit its etype.
    #[error("credential cache entry for {server}: {detail}")]
    BadEntry {
        /// The entry's service.
        server: String,
        /// What is wrong.
        detail: String,
    },
}

/// A parsed credential cache: its default principal and its tickets (configuration entries
/// and tickets in encryption types this client does not speak left out).
#[derive(Debug, Clone)]
pub struct Ccache {
    version: u8,
    kdc_offset: Option<Duration>,
    kdc_behind: bool,
    default_principal: Principal,
    credentials: Vec<Credential>,
}

impl Ccache {
    /// Parses a version 3 or 4 file credential cache.
    ///
    /// # Errors
    ///
    /// [`CcacheError`] for another format or version, a field running past the end, a name
    /// that is not UTF-8, or a ticket that is not DER.
    pub fn parse(file: &[u8]) -> Result<Ccache, CcacheError> {
        let mut r = Reader::new(file);
        let magic = r.u8("ccache magic")?;
        if magic != 5 {
            return Err(CcacheError::NotACcache(magic));
        }
        let version = r.u8("ccache version")?;
        if version != 3 && version != 4 {
            return Err(CcacheError::Version(version));
        }
        let (mut kdc_offset, mut kdc_behind) = (None, false);
        if version == 4 {
            let len = be16(&mut r, "ccache header length")?;
            let mut h = Reader::new(r.bytes(usize::from(len), "ccache header")?);
            while h.remaining() > 0 {
                let tag = be16(&mut h, "ccache header tag")?;
                let len = be16(&mut h, "ccache header field length")?;
                let field = h.bytes(usize::from(len), "ccache header field")?;
                if let (1, Ok(v)) = (tag, <[u8; 8]>::try_from(field)) {
                    let (secs, usecs) = split_i32s(v);
                    let total = i64::from(secs) * 1_000_000 + i64::from(usecs);
                    kdc_behind = total < 0;
                    kdc_offset = Some(Duration::from_micros(total.unsigned_abs()));
                }
            }
        }
        let default_principal = principal(&mut r)?;
        let mut credentials = Vec::new();
        while r.remaining() > 0 {
            if let Some(c) = credential(&mut r, version)? {
                credentials.push(c);
            }
        }
        Ok(Ccache {
            version,
            kdc_offset,
            kdc_behind,
            default_principal,
            credentials,
        })
    }

    /// The file format version, 3 or 4.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The KDC's clock minus this machine's as `kinit` measured it (version 4 header), in
    /// seconds, when recorded: positive when the KDC is ahead.
    pub fn kdc_time_offset(&self) -> Option<i64> {
        let secs = i64::try_from(self.kdc_offset?.as_secs()).ok()?;
        Some(if self.kdc_behind { -secs } else { secs })
    }

    /// The principal the cache belongs to (`kinit`'s client).
    pub fn default_principal(&self) -> &Principal {
        &self.default_principal
    }

    /// The tickets, in file order (configuration entries and tickets in etypes this client
    /// does not speak left out).
    pub fn credentials(&self) -> &[Credential] {
        &self.credentials
    }

    /// The tickets this cache holds for a login of its default principal to `service`:
    /// the ticket-granting ticket of the service's realm and the service ticket for it,
    /// each the longest-lasting one, named as asked (the cache's names may differ in
    /// case), valid or not: [`super::KerberosLogin::need`] judges them, and
    /// [`super::TicketFlow::new`] names an expired one
    /// ([`KerberosError::TicketExpired`]).
    ///
    /// # Errors
    ///
    /// [`KerberosError::Credentials`] when the cache holds neither.
    pub fn tickets(
        &self,
        service: &Principal,
    ) -> Result<(Option<Credential>, Option<Credential>), KerberosError> {
        let tgs = Principal::krbtgt(&service.realm);
        let pick = |target: &Principal| {
            self.tickets_for(target)
                .max_by_key(|c| c.endtime)
                .map(|c| Credential {
                    client: self.default_principal.clone(),
                    server: target.clone(),
                    ..c.clone()
                })
        };
        match (pick(&tgs), pick(service)) {
            (None, None) => Err(KerberosError::Credentials(format!(
                "the credential cache of {} holds no ticket for {tgs} or {service} (it holds: {})",
                self.default_principal,
                list(&self.credentials)
            ))),
            held => Ok(held),
        }
    }
}

impl Ccache {
    /// The default principal's tickets for `target`.
    fn tickets_for<'a>(&'a self, target: &'a Principal) -> impl Iterator<Item = &'a Credential> {
        self.credentials
            .iter()
            .filter(move |c| same(&c.client, &self.default_principal) && same(&c.server, target))
    }
}

/// The file a `KRB5CCNAME` value names: `FILE:/path` or a bare `/path` (a name without a
/// type is a file, as MIT reads it).
///
/// # Errors
///
/// [`KerberosError::UnsupportedCcache`] naming the type for every other kind of cache
/// (`KEYRING:`, `KCM:`, `DIR:`, `MEMORY:`, `API:`, …): those live in the kernel, a daemon
/// or a directory collection, not in one file this client reads.
pub fn file_path(krb5ccname: &str) -> Result<PathBuf, KerberosError> {
    match krb5ccname.split_once(':') {
        Some(("FILE", path)) if !path.is_empty() => Ok(PathBuf::from(path)),
        // A one-letter "type" is a Windows drive letter, not a cache type; a slash before
        // the colon means a path that holds one.
        Some((kind, _)) if kind.len() > 1 && !kind.contains('/') => {
            Err(KerberosError::UnsupportedCcache {
                kind: kind.to_string(),
            })
        }
        _ if !krb5ccname.is_empty() => Ok(PathBuf::from(krb5ccname)),
        _ => Err(KerberosError::Credentials(
            "an empty credential cache name".to_string(),
        )),
    }
}

/// `a` and `b` name the same principal: realms and components equal ignoring ASCII case
/// (host names and realms are case-insensitive; the KDC may canonicalise either).
fn same(a: &Principal, b: &Principal) -> bool {
    a.realm.eq_ignore_ascii_case(&b.realm)
        && a.name.len() == b.name.len()
        && a.name
            .iter()
            .zip(&b.name)
            .all(|(x, y)| x.eq_ignore_ascii_case(y))
}

fn list(credentials: &[Credential]) -> String {
    if credentials.is_empty() {
        return "no tickets".to_string();
    }
    credentials
        .iter()
        .map(|c| c.server.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seconds since 1970 of `t` (0 before it).
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn split_i32s(v: [u8; 8]) -> (i32, i32) {
    let [a, b, c, d, e, f, g, h] = v;
    (
        i32::from_be_bytes([a, b, c, d]),
        i32::from_be_bytes([e, f, g, h]),
    )
}

fn be16(r: &mut Reader<'_>, what: &'static str) -> Result<u16, DecodeError> {
    r.array(what).map(u16::from_be_bytes)
}

fn be32(r: &mut Reader<'_>, what: &'static str) -> Result<u32, DecodeError> {
    r.array(what).map(u32::from_be_bytes)
}

/// A 32-bit-length-prefixed field.
fn data<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<&'a [u8], DecodeError> {
    let len = be32(r, "ccache data length")?;
    // A length past the file is refused by `bytes` before anything is allocated.
    r.bytes(usize::try_from(len).unwrap_or(usize::MAX), what)
}

fn text(r: &mut Reader<'_>, what: &'static str) -> Result<String, CcacheError> {
    let bytes = data(r, what)?;
    let offset = r.pos() - bytes.len();
    String::from_utf8(bytes.to_vec()).map_err(|_| CcacheError::NotUtf8 { what, offset })
}

fn principal(r: &mut Reader<'_>) -> Result<Principal, CcacheError> {
    let _name_type = be32(r, "ccache name type")?;
    let count = be32(r, "ccache component count")?;
    let realm = text(r, "realm")?;
    // Each component takes at least its 4-byte length: the file bounds this loop.
    let mut name = Vec::new();
    for _ in 0..count {
        name.push(text(r, "name component")?);
    }
    Ok(Principal { name, realm })
}

/// One credential; `None` for a configuration entry or a ticket this client cannot use
/// (an etype it does not speak, a user-to-user ticket).
fn credential(r: &mut Reader<'_>, version: u8) -> Result<Option<Credential>, CcacheError> {
    let client = principal(r)?;
    let server = principal(r)?;
    let enctype = be16(r, "ccache key type")?;
    if version == 3 {
        be16(r, "ccache key type (repeated)")?;
    }
    let key = Zeroizing::new(data(r, "ccache key")?.to_vec());
    let authtime = time(be32(r, "ccache authtime")?);
    let starttime = be32(r, "ccache starttime")?;
    let endtime = time(be32(r, "ccache endtime")?);
    let renew_till = be32(r, "ccache renew_till")?;
    let is_skey = r.u8("ccache is_skey")? != 0;
    let flags = be32(r, "ccache ticket flags")?;
    for (what, len) in [("address", "addresses"), ("authdata", "authdata entries")] {
        let count = be32(r, len)?;
        // Each takes at least 6 bytes: the file bounds this loop.
        for _ in 0..count {
            be16(r, what)?;
            data(r, what)?;
        }
    }
    let ticket = data(r, "ccache ticket")?;
    data(r, "ccache second ticket")?;
    if server.realm == CONFIG_REALM || is_skey {
        return Ok(None);
    }
    let bad = |detail: String| CcacheError::BadEntry {
        server: server.to_string(),
        detail,
    };
    let Some(etype) = Enctype::from_number(i32::from(enctype)) else {
        return Ok(None);
    };
    let session_key = Key::new(etype, &key).map_err(|e| bad(e.to_string()))?;
    let parsed = Ticket::from_der(ticket).map_err(|e| bad(format!("the ticket: {e}")))?;
    Ok(Some(Credential {
        client,
        server,
        ticket_etype: parsed.body.enc_part.etype,
        ticket: parsed.der,
        session_key,
        flags,
        authtime,
        // MIT writes 0 when the KDC gave no start time: it starts at the authtime.
        starttime: if starttime == 0 {
            authtime
        } else {
            time(starttime)
        },
        endtime,
        renew_till: (renew_till != 0).then(|| time(renew_till)),
    }))
}

fn time(secs: u32) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::from(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `kinit smbtest@SMBTEST.TEST` then `kvno cifs/dc.smbtest.test` (MIT 1.20) wrote,
    /// against a throw-away Samba AD DC (tests/data/kerberos/README.md); `klist -e -f -C`
    /// listed it as: the config entries fast_avail and pa_type, then
    /// `12/07/26 17:26:30  12/08/26 03:26:30  krbtgt/SMBTEST.TEST@SMBTEST.TEST` (renew until
    /// 12/08/26 17:26:30, flags RIA, aes256 session key and ticket) and the same times for
    /// `cifs/dc.smbtest.test@SMBTEST.TEST` (flags RATO).
    const KINIT: &[u8] = include_bytes!("../../../tests/data/kerberos/kinit.ccache");
    /// 2026-12-07 17:26:30 UTC.
    const ISSUED: u64 = 1_796_664_390;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn reads_what_kinit_wrote() {
        use super::super::ticket_flags::*;
        let cache = Ccache::parse(KINIT).unwrap();
        assert_eq!(cache.version(), 4);
        assert_eq!(cache.kdc_time_offset(), Some(0));
        assert_eq!(
            cache.default_principal().to_string(),
            "smbtest@SMBTEST.TEST"
        );
        let servers: Vec<String> = cache
            .credentials()
            .iter()
            .map(|c| c.server.to_string())
            .collect();
        assert_eq!(
            servers,
            [
                "krbtgt/SMBTEST.TEST@SMBTEST.TEST",
                "cifs/dc.smbtest.test@SMBTEST.TEST"
            ]
        );
        for c in cache.credentials() {
            assert_eq!(c.client.to_string(), "smbtest@SMBTEST.TEST");
            assert_eq!(c.session_key.etype(), Enctype::Aes256);
            assert_eq!(c.session_key.as_bytes().len(), 32);
            assert_eq!(c.ticket_etype, 18);
            assert_eq!(c.ticket.first(), Some(&0x61), "[APPLICATION 1]");
            assert_eq!(c.authtime, at(ISSUED));
            assert_eq!(c.starttime, at(ISSUED));
            assert_eq!(c.endtime, at(ISSUED + 10 * 3600));
            assert_eq!(c.renew_till, Some(at(ISSUED + 24 * 3600)));
            assert_ne!(c.flags & RENEWABLE, 0);
            assert_ne!(c.flags & PRE_AUTHENT, 0);
        }
        let [tgt, cifs] = cache.credentials() else {
            panic!("two tickets")
        };
        assert_ne!(tgt.flags & INITIAL, 0);
        assert_eq!(cifs.flags & INITIAL, 0);
        assert_ne!(cifs.flags & OK_AS_DELEGATE, 0);
        assert_ne!(tgt.session_key, cifs.session_key);
        // Nothing secret in Debug.
        let shown = format!("{cache:?}");
        let key_hex: String = tgt.session_key.as_bytes()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!shown.contains(&key_hex), "{shown}");
    }

    /// The tickets a login gets from the cache, named as asked; their expiry is the
    /// flow's to judge (`client::tests`).
    #[test]
    fn the_service_ticket_and_the_tgt_for_a_login() {
        let cache = Ccache::parse(KINIT).unwrap();
        let cifs = Principal::cifs("DC.smbtest.test", "SMBTEST.TEST").unwrap();
        let other = Principal::cifs("fs1.smbtest.test", "SMBTEST.TEST").unwrap();
        let (tgt, st) = cache.tickets(&cifs).unwrap();
        let (tgt, st) = (tgt.unwrap(), st.unwrap());
        assert_eq!(tgt.server.name, ["krbtgt", "SMBTEST.TEST"]);
        assert_eq!(st.server, cifs);
        assert_eq!(st.endtime, at(ISSUED + 10 * 3600));
        let (tgt, st) = cache.tickets(&other).unwrap();
        assert_eq!(tgt.unwrap().server.name, ["krbtgt", "SMBTEST.TEST"]);
        assert!(st.is_none());
        // Another realm: nothing that would do.
        let elsewhere = Principal::cifs("fs.other.test", "OTHER.TEST").unwrap();
        let e = cache.tickets(&elsewhere).unwrap_err();
        assert!(matches!(e, KerberosError::Credentials(_)), "{e}");
        assert!(
            e.to_string().contains("krbtgt/OTHER.TEST@OTHER.TEST"),
            "{e}"
        );
    }

    fn put_data(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(bytes);
    }

    fn put_principal(out: &mut Vec<u8>, p: &Principal) {
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(&(p.name.len() as u32).to_be_bytes());
        put_data(out, p.realm.as_bytes());
        for c in &p.name {
            put_data(out, c.as_bytes());
        }
    }

    /// Version 3: no header, and the key's enctype twice. Built from the kinit file's TGT.
    #[test]
    fn reads_version_3_and_skips_config_and_user_to_user_entries() {
        let tgt = Ccache::parse(KINIT).unwrap().credentials()[0].clone();
        let credential = |server: &Principal, is_skey: u8| {
            let mut c = Vec::new();
            put_principal(&mut c, &tgt.client);
            put_principal(&mut c, server);
            c.extend_from_slice(&[0, 18, 0, 18]);
            put_data(&mut c, tgt.session_key.as_bytes());
            for t in [ISSUED, 0, ISSUED + 60, 0] {
                c.extend_from_slice(&(t as u32).to_be_bytes());
            }
            c.push(is_skey);
            c.extend_from_slice(&tgt.flags.to_be_bytes());
            c.extend_from_slice(&[0; 8]);
            put_data(&mut c, &tgt.ticket);
            put_data(&mut c, b"");
            c
        };
        let mut f = vec![5, 3];
        put_principal(&mut f, &tgt.client);
        let config = Principal {
            name: vec!["krb5_ccache_conf_data".into(), "pa_type".into()],
            realm: CONFIG_REALM.into(),
        };
        f.extend(credential(&config, 0));
        f.extend(credential(&tgt.server, 1));
        f.extend(credential(&tgt.server, 0));
        let cache = Ccache::parse(&f).unwrap();
        assert_eq!(cache.version(), 3);
        assert_eq!(cache.kdc_time_offset(), None);
        let [c] = cache.credentials() else {
            panic!("{cache:?}")
        };
        assert_eq!(c.server, tgt.server);
        assert_eq!(c.session_key, tgt.session_key);
        assert_eq!(c.starttime, at(ISSUED), "no start time: the authtime");
        assert_eq!(c.endtime, at(ISSUED + 60));
        assert_eq!(c.renew_till, None);
        // Every cut of the file is an error, never a panic.
        for n in 0..f.len() {
            if let Ok(c) = Ccache::parse(&f[..n]) {
                assert!(c.credentials().is_empty(), "{n}");
            }
        }
    }

    #[test]
    fn krb5ccname_forms() {
        assert_eq!(file_path("FILE:/tmp/cc").unwrap(), PathBuf::from("/tmp/cc"));
        assert_eq!(file_path("/tmp/cc").unwrap(), PathBuf::from("/tmp/cc"));
        assert_eq!(file_path("cc").unwrap(), PathBuf::from("cc"));
        assert_eq!(file_path("./a:b").unwrap(), PathBuf::from("./a:b"));
        for (name, kind) in [
            ("KEYRING:persistent:1000", "KEYRING"),
            ("KCM:", "KCM"),
            ("DIR:/run/user/1000/krb5cc", "DIR"),
            ("MEMORY:x", "MEMORY"),
        ] {
            let e = file_path(name).unwrap_err();
            assert_eq!(
                e,
                KerberosError::UnsupportedCcache {
                    kind: kind.to_string()
                }
            );
            assert!(e.to_string().contains(&format!("{kind}:")), "{e}");
        }
        assert!(file_path("").is_err());
        assert!(file_path("FILE:").is_err());
    }

    #[test]
    fn refuses_other_formats_and_truncation() {
        assert!(matches!(Ccache::parse(&[]), Err(CcacheError::Decode(_))));
        assert_eq!(Ccache::parse(&[5, 2]).unwrap_err(), CcacheError::Version(2));
        assert_eq!(
            Ccache::parse(&[4, 4]).unwrap_err(),
            CcacheError::NotACcache(4)
        );
        // A component count of 2^32 - 1 with nothing behind it: an error, not a loop.
        let mut f = vec![
            5, 4, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, b'R',
        ];
        assert!(matches!(Ccache::parse(&f), Err(CcacheError::Decode(_))));
        // A realm length of 4 GiB: refused before any allocation.
        f = vec![5, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(Ccache::parse(&f), Err(CcacheError::Decode(_))));
    }
}
