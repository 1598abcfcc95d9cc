//! Security descriptors in self-relative form, MS-DTYP 2.4.6, with the SIDs (2.4.2.2),
//! ACLs (2.4.5) and ACEs (2.4.4) they hold: what a QUERY_INFO of InfoType
//! SMB2_0_INFO_SECURITY returns (MS-SMB2 2.2.38) and a SET_INFO of it takes (2.2.39).
//!
//! Every offset, size and count comes from the server: each is checked against the
//! bytes that are really there before anything is read or allocated, and an ACE whose
//! layout MS-DTYP does not define is kept as raw bytes rather than guessed at.

use std::fmt;
use std::str::FromStr;

use super::codec::{DecodeError, Reader};

/// SECURITY_DESCRIPTOR Control bits, MS-DTYP 2.4.6 (named as in Samba's `security.idl`).
pub mod control {
    /// OD: the owner was set by a default mechanism.
    pub const OWNER_DEFAULTED: u16 = 0x0001;
    /// GD: the group was set by a default mechanism.
    pub const GROUP_DEFAULTED: u16 = 0x0002;
    /// DP: the descriptor has a DACL; with no DACL offset that is a NULL DACL, which
    /// grants everyone every access.
    pub const DACL_PRESENT: u16 = 0x0004;
    /// DD: the DACL was set by a default mechanism.
    pub const DACL_DEFAULTED: u16 = 0x0008;
    /// SP: the descriptor has a SACL.
    pub const SACL_PRESENT: u16 = 0x0010;
    /// SD: the SACL was set by a default mechanism.
    pub const SACL_DEFAULTED: u16 = 0x0020;
    /// DT: the DACL is trusted (set by a trusted source).
    pub const DACL_TRUSTED: u16 = 0x0040;
    /// SS: server security.
    pub const SERVER_SECURITY: u16 = 0x0080;
    /// DC: DACL computed inheritance required.
    pub const DACL_AUTO_INHERIT_REQ: u16 = 0x0100;
    /// SC: SACL computed inheritance required.
    pub const SACL_AUTO_INHERIT_REQ: u16 = 0x0200;
    /// DI: the DACL was computed through inheritance.
    pub const DACL_AUTO_INHERITED: u16 = 0x0400;
    /// SI: the SACL was computed through inheritance.
    pub const SACL_AUTO_INHERITED: u16 = 0x0800;
    /// PD: the DACL does not inherit from the parent.
    pub const DACL_PROTECTED: u16 = 0x1000;
    /// PS: the SACL does not inherit from the parent.
    pub const SACL_PROTECTED: u16 = 0x2000;
    /// RM: Sbz1 holds resource manager control bits.
    pub const RM_CONTROL_VALID: u16 = 0x4000;
    /// SR: self-relative form, the only form on the wire.
    pub const SELF_RELATIVE: u16 = 0x8000;
}

/// ACE_HEADER AceFlags bits, MS-DTYP 2.4.4.1.
pub mod ace_flags {
    /// OBJECT_INHERIT_ACE: files below inherit it.
    pub const OBJECT_INHERIT: u8 = 0x01;
    /// CONTAINER_INHERIT_ACE: directories below inherit it.
    pub const CONTAINER_INHERIT: u8 = 0x02;
    /// NO_PROPAGATE_INHERIT_ACE: inherited one level only.
    pub const NO_PROPAGATE_INHERIT: u8 = 0x04;
    /// INHERIT_ONLY_ACE: applies to what inherits it, not to this object.
    pub const INHERIT_ONLY: u8 = 0x08;
    /// INHERITED_ACE: this ACE was inherited.
    pub const INHERITED: u8 = 0x10;
    /// SUCCESSFUL_ACCESS_ACE_FLAG: audit successful accesses (SACL).
    pub const SUCCESSFUL_ACCESS: u8 = 0x40;
    /// FAILED_ACCESS_ACE_FLAG: audit failed accesses (SACL).
    pub const FAILED_ACCESS: u8 = 0x80;
}

/// AclRevision values, MS-DTYP 2.4.5.
pub mod acl_revision {
    /// ACL_REVISION: no object ACEs.
    pub const ACL_REVISION: u8 = 0x02;
    /// ACL_REVISION_DS: may hold object ACEs.
    pub const ACL_REVISION_DS: u8 = 0x04;
}

/// A security identifier, MS-DTYP 2.4.2.2: an identifier authority (48 bits) and up
/// to 15 sub-authorities. `Display` and `FromStr` use the `S-1-5-21-…` form of 2.4.2.1.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid {
    authority: u64,
    sub_authorities: Vec<u32>,
}

impl Sid {
    /// The most sub-authorities a SID has (MS-DTYP 2.4.2.2).
    pub const MAX_SUB_AUTHORITIES: usize = 15;
    /// Revision of every SID.
    const REVISION: u8 = 1;
    /// Revision, SubAuthorityCount and the 6-byte IdentifierAuthority.
    const FIXED_LEN: usize = 8;
    /// IdentifierAuthority is 48 bits.
    const MAX_AUTHORITY: u64 = (1 << 48) - 1;

    /// The SID `S-1-authority-sub…`; `None` for an authority of 2^48 or more, or more
    /// than [`Sid::MAX_SUB_AUTHORITIES`] sub-authorities.
    pub fn new(authority: u64, sub_authorities: &[u32]) -> Option<Sid> {
        (authority <= Self::MAX_AUTHORITY && sub_authorities.len() <= Self::MAX_SUB_AUTHORITIES)
            .then(|| Sid {
                authority,
                sub_authorities: sub_authorities.to_vec(),
            })
    }

    /// IdentifierAuthority (5 for NT AUTHORITY, 1 for World, …).
    pub fn identifier_authority(&self) -> u64 {
        self.authority
    }

    /// SubAuthority values; the last is the relative id of a domain account.
    pub fn sub_authorities(&self) -> &[u32] {
        &self.sub_authorities
    }

    /// Bytes of the binary form.
    pub fn encoded_len(&self) -> usize {
        Self::FIXED_LEN + 4 * self.sub_authorities.len()
    }

    /// Decodes the SID at the start of `buf` (bytes after it are not its concern: a
    /// descriptor locates its SIDs by offset, with no length).
    pub fn decode(buf: &[u8]) -> Result<Sid, DecodeError> {
        Self::read(&mut Reader::new(buf))
    }

    fn read(r: &mut Reader<'_>) -> Result<Sid, DecodeError> {
        let revision = r.u8("sid revision")?;
        if revision != Self::REVISION {
            return Err(DecodeError::invalid("sid revision", revision));
        }
        let count = r.u8("sid sub authority count")?;
        if usize::from(count) > Self::MAX_SUB_AUTHORITIES {
            return Err(DecodeError::invalid("sid sub authority count", count));
        }
        // IdentifierAuthority is big-endian, unlike everything around it.
        let mut authority = [0u8; 8];
        authority[2..].copy_from_slice(r.bytes(6, "sid identifier authority")?);
        // Read before allocating: a count past the buffer fails here.
        let subs = r.bytes(4 * usize::from(count), "sid sub authorities")?;
        Ok(Sid {
            authority: u64::from_be_bytes(authority),
            sub_authorities: subs
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        })
    }

    /// Appends the binary form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(Self::REVISION);
        out.push(self.sub_authorities.len() as u8);
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for s in &self.sub_authorities {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
}

/// `S-1-5-32-544`; an identifier authority of 2^32 or more in hexadecimal,
/// `S-1-0x123456789ABC-…`, as MS-DTYP 2.4.2.1 writes it.
impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-{}-", Self::REVISION)?;
        if self.authority >> 32 == 0 {
            write!(f, "{}", self.authority)?;
        } else {
            write!(f, "0x{:012X}", self.authority)?;
        }
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({self})")
    }
}

/// A string that is not a SID in `S-1-…` form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a SID of the form S-1-<authority>-<sub authority>…")]
pub struct ParseSidError(String);

/// Parses the `S-1-…` form: `S` in either case, revision 1, the authority in decimal
/// or as `0x` and hexadecimal digits, up to 15 decimal sub-authorities.
impl FromStr for Sid {
    type Err = ParseSidError;

    fn from_str(s: &str) -> Result<Sid, ParseSidError> {
        let err = || ParseSidError(s.to_string());
        // `u64::from_str` takes a leading `+`: only plain digits are a SID's.
        let digits = |d: &str, radix: u32| !d.is_empty() && d.chars().all(|c| c.is_digit(radix));
        let mut parts = s.split('-');
        if !parts.next().is_some_and(|p| p.eq_ignore_ascii_case("s")) || parts.next() != Some("1") {
            return Err(err());
        }
        let authority = parts.next().ok_or_else(err)?;
        let authority = match authority
            .strip_prefix("0x")
            .or_else(|| authority.strip_prefix("0X"))
        {
            Some(hex) if digits(hex, 16) => u64::from_str_radix(hex, 16).ok(),
            None if digits(authority, 10) => authority.parse().ok(),
            _ => None,
        }
        .ok_or_else(err)?;
        let subs = parts
            .map(|p| digits(p, 10).then(|| p.parse::<u32>().ok()).flatten())
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(err)?;
        Sid::new(authority, &subs).ok_or_else(err)
    }
}

/// AceType, MS-DTYP 2.4.4.1; the numbering is MS-DTYP's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AceType {
    /// ACCESS_ALLOWED_ACE_TYPE (0x00).
    AccessAllowed,
    /// ACCESS_DENIED_ACE_TYPE (0x01).
    AccessDenied,
    /// SYSTEM_AUDIT_ACE_TYPE (0x02).
    SystemAudit,
    /// SYSTEM_ALARM_ACE_TYPE (0x03).
    SystemAlarm,
    /// ACCESS_ALLOWED_OBJECT_ACE_TYPE (0x05).
    AccessAllowedObject,
    /// ACCESS_DENIED_OBJECT_ACE_TYPE (0x06).
    AccessDeniedObject,
    /// SYSTEM_AUDIT_OBJECT_ACE_TYPE (0x07).
    SystemAuditObject,
    /// SYSTEM_ALARM_OBJECT_ACE_TYPE (0x08).
    SystemAlarmObject,
    /// ACCESS_ALLOWED_CALLBACK_ACE_TYPE (0x09).
    AccessAllowedCallback,
    /// ACCESS_DENIED_CALLBACK_ACE_TYPE (0x0A).
    AccessDeniedCallback,
    /// ACCESS_ALLOWED_CALLBACK_OBJECT_ACE_TYPE (0x0B).
    AccessAllowedCallbackObject,
    /// ACCESS_DENIED_CALLBACK_OBJECT_ACE_TYPE (0x0C).
    AccessDeniedCallbackObject,
    /// SYSTEM_AUDIT_CALLBACK_ACE_TYPE (0x0D).
    SystemAuditCallback,
    /// SYSTEM_ALARM_CALLBACK_ACE_TYPE (0x0E).
    SystemAlarmCallback,
    /// SYSTEM_AUDIT_CALLBACK_OBJECT_ACE_TYPE (0x0F).
    SystemAuditCallbackObject,
    /// SYSTEM_ALARM_CALLBACK_OBJECT_ACE_TYPE (0x10).
    SystemAlarmCallbackObject,
    /// SYSTEM_MANDATORY_LABEL_ACE_TYPE (0x11).
    SystemMandatoryLabel,
    /// SYSTEM_RESOURCE_ATTRIBUTE_ACE_TYPE (0x12).
    SystemResourceAttribute,
    /// SYSTEM_SCOPED_POLICY_ID_ACE_TYPE (0x13).
    SystemScopedPolicyId,
    /// Any other value (ACCESS_ALLOWED_COMPOUND_ACE_TYPE, 0x04, is reserved): its
    /// layout past the access mask is unknown, so its bytes are kept as they came.
    Other(u8),
}

/// Where an ACE's fields lie after its mask (MS-DTYP 2.4.4.2 to 2.4.4.17).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Sid; `data` holds what follows it (ApplicationData, AttributeData) if `trailing`.
    Sid { trailing: bool },
    /// Flags, the GUIDs they announce, Sid, then ApplicationData if `trailing`.
    Object { trailing: bool },
    /// Unknown: the bytes after the mask.
    Raw,
}

impl AceType {
    const TYPES: [AceType; 20] = [
        AceType::AccessAllowed,
        AceType::AccessDenied,
        AceType::SystemAudit,
        AceType::SystemAlarm,
        AceType::Other(0x04),
        AceType::AccessAllowedObject,
        AceType::AccessDeniedObject,
        AceType::SystemAuditObject,
        AceType::SystemAlarmObject,
        AceType::AccessAllowedCallback,
        AceType::AccessDeniedCallback,
        AceType::AccessAllowedCallbackObject,
        AceType::AccessDeniedCallbackObject,
        AceType::SystemAuditCallback,
        AceType::SystemAlarmCallback,
        AceType::SystemAuditCallbackObject,
        AceType::SystemAlarmCallbackObject,
        AceType::SystemMandatoryLabel,
        AceType::SystemResourceAttribute,
        AceType::SystemScopedPolicyId,
    ];

    /// The AceType byte.
    pub fn value(self) -> u8 {
        match self {
            AceType::Other(v) => v,
            t => Self::TYPES.iter().position(|&k| k == t).unwrap_or(0) as u8,
        }
    }

    fn layout(self) -> Layout {
        use AceType::*;
        match self {
            AccessAllowed | AccessDenied | SystemAudit | SystemAlarm | SystemMandatoryLabel
            | SystemScopedPolicyId => Layout::Sid { trailing: false },
            AccessAllowedCallback
            | AccessDeniedCallback
            | SystemAuditCallback
            | SystemAlarmCallback
            | SystemResourceAttribute => Layout::Sid { trailing: true },
            AccessAllowedObject | AccessDeniedObject | SystemAuditObject | SystemAlarmObject => {
                Layout::Object { trailing: false }
            }
            AccessAllowedCallbackObject
            | AccessDeniedCallbackObject
            | SystemAuditCallbackObject
            | SystemAlarmCallbackObject => Layout::Object { trailing: true },
            Other(_) => Layout::Raw,
        }
    }
}

impl From<u8> for AceType {
    fn from(v: u8) -> AceType {
        Self::TYPES
            .get(usize::from(v))
            .copied()
            .unwrap_or(AceType::Other(v))
    }
}

/// The object part of an object ACE (MS-DTYP 2.4.4.3): GUIDs in their wire byte order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ObjectAce {
    /// ObjectType, when Flags has ACE_OBJECT_TYPE_PRESENT.
    pub object_type: Option<[u8; 16]>,
    /// InheritedObjectType, when Flags has ACE_INHERITED_OBJECT_TYPE_PRESENT.
    pub inherited_object_type: Option<[u8; 16]>,
}

impl ObjectAce {
    const OBJECT_TYPE_PRESENT: u32 = 0x1;
    const INHERITED_OBJECT_TYPE_PRESENT: u32 = 0x2;
}

/// An access control entry, MS-DTYP 2.4.4.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ace {
    /// AceType.
    pub ace_type: AceType,
    /// AceFlags, see [`ace_flags`].
    pub flags: u8,
    /// Mask: the access rights (see [`crate::wire::create::access_mask`]).
    pub access_mask: u32,
    /// The trustee. `None` only for an [`AceType::Other`], whose layout MS-DTYP does
    /// not define: its bytes after the mask are in `data`, unread.
    pub sid: Option<Sid>,
    /// ObjectType and InheritedObjectType of an object ACE.
    pub object: Option<ObjectAce>,
    /// ApplicationData of a callback ACE, AttributeData of a resource attribute ACE,
    /// or every byte after the mask of an [`AceType::Other`]; empty otherwise.
    pub data: Vec<u8>,
}

impl Ace {
    /// AceType, AceFlags, AceSize.
    const HEADER_LEN: usize = 4;
    /// The header and the mask, which every ACE type has.
    const MIN_LEN: usize = Self::HEADER_LEN + 4;

    /// An ACE of a type whose trustee is a SID (access allowed, denied, audit…).
    pub fn new(ace_type: AceType, flags: u8, access_mask: u32, sid: Sid) -> Ace {
        Ace {
            ace_type,
            flags,
            access_mask,
            sid: Some(sid),
            object: None,
            data: Vec::new(),
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Ace, DecodeError> {
        let ace_type = AceType::from(r.u8("ace type")?);
        let flags = r.u8("ace flags")?;
        let size = usize::from(r.u16("ace size")?);
        // MS-DTYP 2.4.4.1: AceSize MUST be a multiple of 4 (what the encoder writes, so
        // that whatever decodes encodes to the same ACE).
        if size < Self::MIN_LEN || !size.is_multiple_of(4) {
            return Err(DecodeError::invalid("ace size", size as u64));
        }
        // Everything the ACE holds lies inside its AceSize; a SID reaching past it fails.
        let mut ace = Reader::new(r.bytes(size - Self::HEADER_LEN, "ace")?);
        let access_mask = ace.u32("ace mask")?;
        let mut object = None;
        let trailing = match ace_type.layout() {
            Layout::Raw => {
                let data = ace.bytes(ace.remaining(), "ace data")?.to_vec();
                return Ok(Ace {
                    ace_type,
                    flags,
                    access_mask,
                    sid: None,
                    object: None,
                    data,
                });
            }
            Layout::Sid { trailing } => trailing,
            Layout::Object { trailing } => {
                let present = ace.u32("object ace flags")?;
                let mut guid =
                    |bit: u32, what: &'static str| -> Result<Option<[u8; 16]>, DecodeError> {
                        (present & bit != 0).then(|| ace.array(what)).transpose()
                    };
                object = Some(ObjectAce {
                    object_type: guid(ObjectAce::OBJECT_TYPE_PRESENT, "object type")?,
                    inherited_object_type: guid(
                        ObjectAce::INHERITED_OBJECT_TYPE_PRESENT,
                        "inherited object type",
                    )?,
                });
                trailing
            }
        };
        let sid = Sid::read(&mut ace)?;
        // AceSize may exceed its fields (MS-DTYP 2.4.4.1): for types without trailing
        // data the rest is padding.
        let data = if trailing {
            ace.bytes(ace.remaining(), "ace application data")?.to_vec()
        } else {
            Vec::new()
        };
        Ok(Ace {
            ace_type,
            flags,
            access_mask,
            sid: Some(sid),
            object,
            data,
        })
    }

    /// Appends the ACE in its type's layout (so a field the type has no place for is
    /// not written, and an object ACE without `object` gets Flags 0), padded to a
    /// multiple of 4 bytes (MS-DTYP 2.4.4.1); `None` when it is larger than AceSize can
    /// say.
    fn encode(&self, out: &mut Vec<u8>) -> Option<()> {
        let mut body = self.access_mask.to_le_bytes().to_vec();
        let trailing = match self.ace_type.layout() {
            Layout::Raw => true,
            Layout::Sid { trailing } => trailing,
            Layout::Object { trailing } => {
                let o = self.object.unwrap_or_default();
                let mut present = 0;
                if o.object_type.is_some() {
                    present |= ObjectAce::OBJECT_TYPE_PRESENT;
                }
                if o.inherited_object_type.is_some() {
                    present |= ObjectAce::INHERITED_OBJECT_TYPE_PRESENT;
                }
                body.extend_from_slice(&present.to_le_bytes());
                for guid in [o.object_type, o.inherited_object_type]
                    .into_iter()
                    .flatten()
                {
                    body.extend_from_slice(&guid);
                }
                trailing
            }
        };
        if self.ace_type.layout() != Layout::Raw {
            self.sid.as_ref()?.encode(&mut body);
        }
        if trailing {
            body.extend_from_slice(&self.data);
        }
        body.resize(body.len().next_multiple_of(4), 0);
        let size = u16::try_from(Self::HEADER_LEN + body.len()).ok()?;
        out.push(self.ace_type.value());
        out.push(self.flags);
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&body);
        Some(())
    }
}

/// An access control list, MS-DTYP 2.4.5.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acl {
    /// AclRevision, see [`acl_revision`].
    pub revision: u8,
    /// The ACEs, in order (the order decides access).
    pub aces: Vec<Ace>,
}

impl Acl {
    /// AclRevision, Sbz1, AclSize, AceCount, Sbz2.
    const HEADER_LEN: usize = 8;

    fn read(r: &mut Reader<'_>) -> Result<Acl, DecodeError> {
        let revision = r.u8("acl revision")?;
        r.skip(1, "acl sbz1")?;
        let size = usize::from(r.u16("acl size")?);
        let count = r.u16("ace count")?;
        r.skip(2, "acl sbz2")?;
        if size < Self::HEADER_LEN {
            return Err(DecodeError::invalid("acl size", size as u64));
        }
        let mut body = Reader::new(r.bytes(size - Self::HEADER_LEN, "acl")?);
        // Each ACE takes at least MIN_LEN bytes: a count the ACL cannot hold is refused
        // before anything is allocated for it.
        if usize::from(count) > body.remaining() / Ace::MIN_LEN {
            return Err(DecodeError::invalid("ace count", count));
        }
        let mut aces = Vec::with_capacity(count.into());
        for _ in 0..count {
            aces.push(Ace::read(&mut body)?);
        }
        Ok(Acl { revision, aces })
    }

    /// Appends the ACL; `None` when it is larger than AclSize can say.
    fn encode(&self, out: &mut Vec<u8>) -> Option<()> {
        let mut aces = Vec::new();
        for ace in &self.aces {
            ace.encode(&mut aces)?;
        }
        let size = u16::try_from(Self::HEADER_LEN + aces.len()).ok()?;
        out.push(self.revision);
        out.push(0);
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&u16::try_from(self.aces.len()).ok()?.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&aces);
        Some(())
    }
}

/// SECURITY_DESCRIPTOR, MS-DTYP 2.4.6, decoded from (and encoded to) its self-relative
/// form. Sbz1 (resource manager bits) is neither kept nor sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecurityDescriptor {
    /// Revision: 1.
    pub revision: u8,
    /// Control, see [`control`].
    pub control: u16,
    /// The owner, when asked for and present.
    pub owner: Option<Sid>,
    /// The primary group, when asked for and present.
    pub group: Option<Sid>,
    /// The discretionary ACL, when asked for and present. `None` with
    /// [`control::DACL_PRESENT`] set is a NULL DACL: everyone is granted everything.
    pub dacl: Option<Acl>,
    /// The system (audit) ACL, when asked for and present.
    pub sacl: Option<Acl>,
}

impl SecurityDescriptor {
    /// Revision, Sbz1, Control and the four offsets.
    const HEADER_LEN: usize = 20;
    /// The only revision MS-DTYP defines.
    const REVISION: u8 = 1;
    /// The largest self-relative descriptor: the header, two SIDs of 15 sub-authorities
    /// and two ACLs of 65,535 bytes (AclSize is 16 bits).
    pub const MAX_LEN: usize = Self::HEADER_LEN + 2 * (8 + 4 * 15) + 2 * 65_535;

    /// Decodes a self-relative descriptor. The ACLs are read only when Control says
    /// they are present, as Windows does; a descriptor not marked self-relative is
    /// refused (its offsets would be pointers on another machine).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let revision = r.u8("security descriptor revision")?;
        if revision != Self::REVISION {
            return Err(DecodeError::invalid(
                "security descriptor revision",
                revision,
            ));
        }
        r.skip(1, "security descriptor sbz1")?;
        let control = r.u16("security descriptor control")?;
        if control & control::SELF_RELATIVE == 0 {
            return Err(DecodeError::invalid("security descriptor control", control));
        }
        let owner = r.u32("offset owner")?;
        let group = r.u32("offset group")?;
        let sacl = r.u32("offset sacl")?;
        let dacl = r.u32("offset dacl")?;
        // The part at `offset`, which must lie after the header and inside `buf`; 0 is
        // none.
        fn part<'a, T>(
            buf: &'a [u8],
            offset: u32,
            what: &'static str,
            read: fn(&mut Reader<'a>) -> Result<T, DecodeError>,
        ) -> Result<Option<T>, DecodeError> {
            let at = offset as usize;
            match offset {
                0 => Ok(None),
                _ if at < SecurityDescriptor::HEADER_LEN || at > buf.len() => {
                    Err(DecodeError::invalid(what, offset))
                }
                _ => read(&mut Reader::at(buf, at, what)?).map(Some),
            }
        }
        let present = |bit: u16, offset: u32| if control & bit != 0 { offset } else { 0 };
        Ok(SecurityDescriptor {
            revision,
            control,
            owner: part(buf, owner, "offset owner", Sid::read)?,
            group: part(buf, group, "offset group", Sid::read)?,
            dacl: part(
                buf,
                present(control::DACL_PRESENT, dacl),
                "offset dacl",
                Acl::read,
            )?,
            sacl: part(
                buf,
                present(control::SACL_PRESENT, sacl),
                "offset sacl",
                Acl::read,
            )?,
        })
    }

    /// The self-relative form: owner, group, SACL, DACL after the header, in that order
    /// (as Samba lays them out). Control gains SELF_RELATIVE, and DACL_PRESENT or
    /// SACL_PRESENT for an ACL that is there. `None` when an ACL or ACE is larger than
    /// its 16-bit size field can say, or an ACE of a type with a trustee has no SID.
    pub fn encode(&self) -> Option<Vec<u8>> {
        let mut control = self.control | control::SELF_RELATIVE;
        let mut out = vec![0; Self::HEADER_LEN];
        let mut offsets = [0u32; 4];
        if let Some(sid) = &self.owner {
            offsets[0] = out.len() as u32;
            sid.encode(&mut out);
        }
        if let Some(sid) = &self.group {
            offsets[1] = out.len() as u32;
            sid.encode(&mut out);
        }
        if let Some(acl) = &self.sacl {
            offsets[2] = out.len() as u32;
            control |= control::SACL_PRESENT;
            acl.encode(&mut out)?;
        }
        if let Some(acl) = &self.dacl {
            offsets[3] = out.len() as u32;
            control |= control::DACL_PRESENT;
            acl.encode(&mut out)?;
        }
        out[0] = self.revision;
        out[2..4].copy_from_slice(&control.to_le_bytes());
        for (i, o) in offsets.iter().enumerate() {
            out[4 + 4 * i..8 + 4 * i].copy_from_slice(&o.to_le_bytes());
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::create::access_mask;
    use crate::wire::request::test_util::hex;

    fn sid(s: &str) -> Sid {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    /// MS-DTYP 2.5.1.4: the self-relative descriptor of
    /// `O:BAG:BAD:P(A;CIOI;GRGX;;;BU)(A;CIOI;GA;;;BA)(A;CIOI;GA;;;SY)(A;CIOI;GA;;;CO)S:P(AU;FA;GR;;;WD)`.
    const MS_DTYP_EXAMPLE: &str = "
        01 00 14 b0 90 00 00 00 a0 00 00 00 14 00 00 00
        30 00 00 00 02 00 1c 00 01 00 00 00 02 80 14 00
        00 00 00 80 01 01 00 00 00 00 00 01 00 00 00 00
        02 00 60 00 04 00 00 00 00 03 18 00 00 00 00 a0
        01 02 00 00 00 00 00 05 20 00 00 00 21 02 00 00
        00 03 18 00 00 00 00 10 01 02 00 00 00 00 00 05
        20 00 00 00 20 02 00 00 00 03 14 00 00 00 00 10
        01 01 00 00 00 00 00 05 12 00 00 00 00 03 14 00
        00 00 00 10 01 01 00 00 00 00 00 03 00 00 00 00
        01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00
        01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00";

    /// Found by the `security` fuzz target: an ACE whose AceSize (33) is not a multiple
    /// of 4 decoded, and encoded padded, so that it decoded to another ACE. MS-DTYP
    /// 2.4.4.1 requires the multiple of 4: such a descriptor is refused.
    #[test]
    fn ace_size_not_a_multiple_of_four_is_refused() {
        let crash = hex("
        01 7a e7 f7 00 00 00 00 00 00 00 00 00 84 00 00
        19 00 00 00 5d 01 02 00 01 00 f7 30 00 01 00 00
        21 ff 10 21 00 01 01 00 f7 31 00 00 00 19 ff 00
        13 00 10 00 ff 00 ff 0a 00 00 02 00 01 00 f7 10
        10 00 01 01 00 f7 31 00 00 00 19 ff 00 13 00 10
        00 ff 00 ff 0a 00 00 02 00 01 00 f7 30 00 01 00
        00 21 ff 10 10 00 01 01 00 f7 31 00 00 00 19 ff
        00 13 00 10 00 ff 30 00 01 00 00 21 ff 10 10 00
        01 01 00 f7 31 00 00 00 19 ff 00 13 00 10 00 ff
        00 ff 0a 00 00 ff ff ff ff 00 00 00 00 00 00 00
        ff ff ff ff ff");
        let e = SecurityDescriptor::decode(&crash).unwrap_err();
        assert!(e.to_string().contains("ace size"), "{e}");
        // The same ACE with AceSize 36 (its data padded) decodes and round-trips.
        let mut fixed = crash.to_vec();
        let at = 0x19 + 8; // the DACL's first ACE
        assert_eq!(fixed[at + 2], 33);
        fixed[at + 2] = 36;
        let sd = SecurityDescriptor::decode(&fixed).unwrap();
        let again = SecurityDescriptor::decode(&sd.encode().unwrap()).unwrap();
        assert_eq!(again, sd);
    }

    #[test]
    fn well_known_sids_decode_print_and_parse() {
        // MS-DTYP 2.4.2.4: Everyone, BUILTIN\Administrators, LocalSystem.
        for (bytes, text) in [
            ("01 01 000000000001 00000000", "S-1-1-0"),
            ("01 02 000000000005 20000000 20020000", "S-1-5-32-544"),
            ("01 01 000000000005 12000000", "S-1-5-18"),
            (
                "01 05 000000000005 15000000 f2ebb914 9329116c 5e352836 0e040000",
                "S-1-5-21-347728882-1813064083-908604766-1038",
            ),
        ] {
            let b = hex(bytes);
            let s = Sid::decode(&b).unwrap();
            assert_eq!(s.to_string(), text);
            assert_eq!(sid(text), s);
            let mut out = Vec::new();
            s.encode(&mut out);
            assert_eq!(out, b);
            assert_eq!(s.encoded_len(), b.len());
            for n in 0..b.len() {
                assert!(Sid::decode(&b[..n]).is_err(), "{text} cut to {n} bytes");
            }
        }
        assert_eq!(sid("S-1-5-32-544").sub_authorities(), &[32, 544]);
        assert_eq!(sid("S-1-5-32-544").identifier_authority(), 5);
    }

    #[test]
    fn an_authority_of_2_to_the_32_or_more_is_hexadecimal() {
        let s = Sid::new(0x1234_5678_9ABC, &[7]).unwrap();
        assert_eq!(s.to_string(), "S-1-0x123456789ABC-7");
        assert_eq!(sid("S-1-0x123456789abc-7"), s);
        assert_eq!(sid("s-1-0X123456789ABC-7"), s);
        let mut out = Vec::new();
        s.encode(&mut out);
        assert_eq!(out, hex("01 01 123456789abc 07000000"));
        assert_eq!(
            Sid::new(0xFFFF_FFFF, &[]).unwrap().to_string(),
            "S-1-4294967295"
        );
        assert_eq!(
            Sid::new(1 << 32, &[]).unwrap().to_string(),
            "S-1-0x000100000000"
        );
        assert!(Sid::new(1 << 48, &[]).is_none());
        assert!(Sid::new(5, &[0; 16]).is_none());
    }

    #[test]
    fn malformed_sid_strings_are_refused() {
        for bad in [
            "",
            "S",
            "S-1",
            "S-2-5-32",
            "X-1-5",
            "S-1--5",
            "S-1-5-",
            "S-1-+5-32",
            "S-1-5-+32",
            "S-1-5-4294967296",
            "S-1-281474976710656",
            "S-1-0x1000000000000",
            "S-1-0x",
            "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
            "S-1-5-3 2",
        ] {
            assert!(bad.parse::<Sid>().is_err(), "{bad:?} parsed");
        }
        assert_eq!(sid("S-1-5").sub_authorities(), &[] as &[u32]);
    }

    #[test]
    fn sids_with_a_bad_revision_or_count_are_refused() {
        assert!(Sid::decode(&hex("02 01 000000000001 00000000")).is_err());
        // Sixteen sub-authorities, all present: over MS-DTYP's limit of 15.
        let mut b = hex("01 10 000000000005").to_vec();
        b.extend_from_slice(&[0; 64]);
        assert_eq!(
            Sid::decode(&b),
            Err(DecodeError::invalid("sid sub authority count", 16u8))
        );
    }

    #[test]
    fn the_ms_dtyp_example_decodes_field_by_field() {
        let b = hex(MS_DTYP_EXAMPLE);
        let sd = SecurityDescriptor::decode(&b).unwrap();
        assert_eq!(sd.revision, 1);
        assert_eq!(
            sd.control,
            control::SELF_RELATIVE
                | control::SACL_PROTECTED
                | control::DACL_PROTECTED
                | control::SACL_PRESENT
                | control::DACL_PRESENT
        );
        assert_eq!(sd.owner, Some(sid("S-1-5-32-544")));
        assert_eq!(sd.group, Some(sid("S-1-5-32-544")));
        let inherit = ace_flags::CONTAINER_INHERIT | ace_flags::OBJECT_INHERIT;
        let dacl = sd.dacl.as_ref().unwrap();
        assert_eq!(dacl.revision, acl_revision::ACL_REVISION);
        assert_eq!(
            dacl.aces,
            vec![
                Ace::new(
                    AceType::AccessAllowed,
                    inherit,
                    access_mask::GENERIC_READ | access_mask::GENERIC_EXECUTE,
                    sid("S-1-5-32-545")
                ),
                Ace::new(
                    AceType::AccessAllowed,
                    inherit,
                    access_mask::GENERIC_ALL,
                    sid("S-1-5-32-544")
                ),
                Ace::new(
                    AceType::AccessAllowed,
                    inherit,
                    access_mask::GENERIC_ALL,
                    sid("S-1-5-18")
                ),
                Ace::new(
                    AceType::AccessAllowed,
                    inherit,
                    access_mask::GENERIC_ALL,
                    sid("S-1-3-0")
                ),
            ]
        );
        assert_eq!(
            sd.sacl.as_ref().unwrap().aces,
            vec![Ace::new(
                AceType::SystemAudit,
                ace_flags::FAILED_ACCESS,
                access_mask::GENERIC_READ,
                sid("S-1-1-0")
            )]
        );
    }

    #[test]
    fn the_ms_dtyp_example_re_encodes_to_the_same_parts() {
        let sd = SecurityDescriptor::decode(&hex(MS_DTYP_EXAMPLE)).unwrap();
        let ours = sd.encode().unwrap();
        // Another layout than Windows' (owner and group first), the same descriptor.
        assert_eq!(ours.len(), hex(MS_DTYP_EXAMPLE).len());
        assert_eq!(SecurityDescriptor::decode(&ours).unwrap(), sd);
        assert_eq!(&ours[..4], &hex("01 00 14 b0")[..]);
        assert_eq!(
            &ours[4..20],
            &hex("14000000 24000000 34000000 50000000")[..]
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = hex(MS_DTYP_EXAMPLE);
        for n in 0..b.len() {
            assert!(
                SecurityDescriptor::decode(&b[..n]).is_err(),
                "cut to {n} bytes"
            );
        }
    }

    #[test]
    fn offsets_sizes_and_counts_that_lie_are_errors() {
        let good = hex(MS_DTYP_EXAMPLE).to_vec();
        let with = |at: usize, bytes: &[u8]| {
            let mut b = good.clone();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            SecurityDescriptor::decode(&b)
        };
        // Owner offset inside the header, and past the end.
        assert!(with(4, &[0x08, 0, 0, 0]).is_err());
        assert!(with(4, &[0xb0, 0, 0, 0]).is_err());
        assert!(with(4, &[0xff, 0xff, 0xff, 0xff]).is_err());
        // DACL AclSize beyond the buffer, and below its own header.
        assert!(with(0x32, &[0xff, 0x00]).is_err());
        assert!(with(0x32, &[0x04, 0x00]).is_err());
        // An AceCount the ACL cannot hold, and one more ACE than there is.
        assert_eq!(
            with(0x34, &[0xff, 0xff]),
            Err(DecodeError::invalid("ace count", 0xffffu16))
        );
        assert!(with(0x34, &[0x05, 0x00]).is_err());
        // An AceSize past the ACL, and one too small for the SID it holds.
        assert!(with(0x3a, &[0xff, 0x00]).is_err());
        assert!(with(0x3a, &[0x10, 0x00]).is_err());
        // Not self-relative; another revision.
        assert!(with(3, &[0x30]).is_err());
        assert!(with(0, &[2]).is_err());
        // Without DACL_PRESENT the DACL's offset is not followed, even a bad one.
        let mut b = good.clone();
        b[2] &= !0x04;
        b[0x10] = 0xff;
        assert_eq!(SecurityDescriptor::decode(&b).unwrap().dacl, None);
    }

    #[test]
    fn object_and_callback_aces_keep_their_sid_in_place() {
        let guid = [0x11; 16];
        let inherited = [0x22; 16];
        let aces = vec![
            Ace {
                object: Some(ObjectAce {
                    object_type: Some(guid),
                    inherited_object_type: Some(inherited),
                }),
                ..Ace::new(AceType::AccessAllowedObject, 0, 0x100, sid("S-1-5-11"))
            },
            Ace {
                object: Some(ObjectAce {
                    object_type: None,
                    inherited_object_type: Some(inherited),
                }),
                ..Ace::new(AceType::AccessDeniedObject, 0, 0x10, sid("S-1-1-0"))
            },
            Ace {
                data: b"artx\x01\x02\x03\x04".to_vec(),
                ..Ace::new(AceType::AccessAllowedCallback, 0, 0x1, sid("S-1-5-18"))
            },
            Ace {
                object: Some(ObjectAce {
                    object_type: Some(guid),
                    inherited_object_type: None,
                }),
                data: b"artx".to_vec(),
                ..Ace::new(
                    AceType::AccessDeniedCallbackObject,
                    0,
                    0x2,
                    sid("S-1-5-32-544"),
                )
            },
            Ace {
                sid: None,
                data: vec![1, 2, 3, 4, 5, 6, 7, 8],
                ..Ace::new(AceType::Other(0x04), 0, 0x1f01ff, sid("S-1-1-0"))
            },
            Ace {
                sid: None,
                data: vec![],
                ..Ace::new(AceType::Other(0x99), 0, 7, sid("S-1-1-0"))
            },
        ];
        let sd = SecurityDescriptor {
            revision: 1,
            control: control::SELF_RELATIVE | control::DACL_PRESENT,
            owner: None,
            group: None,
            dacl: Some(Acl {
                revision: acl_revision::ACL_REVISION_DS,
                aces,
            }),
            sacl: None,
        };
        let b = sd.encode().unwrap();
        assert_eq!(SecurityDescriptor::decode(&b).unwrap(), sd);
        // The object ACE by hand (MS-DTYP 2.4.4.3): header, mask, flags 3, both GUIDs,
        // then the SID.
        let first = &b[20 + 8..];
        assert_eq!(&first[..12], &hex("05 00 3800 00010000 03000000")[..]);
        assert_eq!(&first[12..44], &[[0x11; 16], [0x22; 16]].concat()[..]);
        assert_eq!(&first[44..56], &hex("01 01 000000000005 0b000000")[..]);
        for n in 0..b.len() {
            assert!(SecurityDescriptor::decode(&b[..n]).is_err());
        }
        assert_eq!(AceType::from(0x04), AceType::Other(0x04));
        assert_eq!(AceType::Other(0x04).value(), 0x04);
        for v in 0..=0x20u8 {
            assert_eq!(AceType::from(v).value(), v);
        }
    }

    #[test]
    fn a_null_dacl_and_no_parts_at_all() {
        let sd =
            SecurityDescriptor::decode(&hex("01 00 04 80 00000000 00000000 00000000 00000000"))
                .unwrap();
        assert_eq!(sd.control, control::SELF_RELATIVE | control::DACL_PRESENT);
        assert_eq!(
            (sd.owner, sd.group, sd.dacl, sd.sacl),
            (None, None, None, None)
        );
    }

    #[test]
    fn oversized_parts_do_not_encode() {
        let ace = Ace {
            data: vec![0; 70_000],
            ..Ace::new(AceType::AccessAllowedCallback, 0, 1, sid("S-1-1-0"))
        };
        let sd = SecurityDescriptor {
            revision: 1,
            control: 0,
            owner: None,
            group: None,
            dacl: Some(Acl {
                revision: 2,
                aces: vec![ace],
            }),
            sacl: None,
        };
        assert_eq!(sd.encode(), None);
        let no_trustee = Ace {
            sid: None,
            ..Ace::new(AceType::AccessAllowed, 0, 1, sid("S-1-1-0"))
        };
        let sd = SecurityDescriptor {
            dacl: Some(Acl {
                revision: 2,
                aces: vec![no_trustee],
            }),
            ..sd
        };
        assert_eq!(sd.encode(), None);
    }

    #[test]
    fn each_type_is_written_in_its_own_layout() {
        let bare_object = Ace::new(AceType::AccessAllowedObject, 0, 1, sid("S-1-1-0"));
        let with_stray_data = Ace {
            data: vec![9; 4],
            ..Ace::new(AceType::AccessAllowed, 0, 1, sid("S-1-1-0"))
        };
        let mut out = Vec::new();
        bare_object.encode(&mut out).unwrap();
        with_stray_data.encode(&mut out).unwrap();
        let mut r = Reader::new(&out);
        let first = Ace::read(&mut r).unwrap();
        assert_eq!(first.object, Some(ObjectAce::default()), "Flags 0, no GUID");
        assert_eq!(first.sid, bare_object.sid);
        assert_eq!(Ace::read(&mut r).unwrap().data, Vec::<u8>::new());
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn decoder_survives_arbitrary_bytes() {
        let b = hex(MS_DTYP_EXAMPLE);
        for i in 0..b.len() {
            for v in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut m = b.to_vec();
                m[i] = v;
                let _ = SecurityDescriptor::decode(&m);
            }
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut m = hex("01 00 14 b0").to_vec();
            m.extend((0..(state % 300)).map(|i| (state >> (i % 56)) as u8));
            let _ = SecurityDescriptor::decode(&m);
        }
    }
}
