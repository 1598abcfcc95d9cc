//! Security descriptors from Samba, checked against an independent reader: smbclient's
//! `showacls` listing of the same file (Samba's own client and its own SD parser) must
//! show the owner, group, control flags and every ACE's type, flags, mask and SID that
//! `GetSecurity` decoded.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use smb_blocking::{Ace, AceType, Acl, Connection, ErrorKind, SecurityDescriptor, Sid};
use smb_proto::ops::{GetSecurity, Raw};
use smb_proto::wire::close::CloseRequest;
use smb_proto::wire::create::{access_mask, disposition, CreateRequest, FileId};
use smb_proto::wire::query_info::additional_information as parts;
use smb_proto::wire::request::RequestBody;
use smb_proto::wire::security::{ace_flags, control};
use smb_proto::wire::set_info::{info_type, SetInfoRequest};
use smb_proto::NtStatus;
use smb_tests::{SambaServer, Share, DEFAULT_USER};

/// Unix ids no account has: Samba maps them to its "Unix user" and "Unix group" SIDs,
/// S-1-22-1-uid and S-1-22-2-gid, so the expected owner and group are known up front.
const UID: u32 = 4242;
const GID: u32 = 4343;

/// What smbclient printed for one file.
#[derive(Debug, Default, PartialEq)]
struct Shown {
    revision: u8,
    control: u16,
    owner: String,
    group: String,
    acl_revision: Option<u8>,
    /// (type, flags, mask, SID) of each ACE, in order.
    aces: Vec<(u8, u8, u32, String)>,
}

fn hex_u32(s: &str) -> u32 {
    let s = s.trim().trim_end_matches(':');
    u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// Runs `showacls; ls NAME` and parses what smbclient prints:
///
/// ```text
/// revision: 1
/// type: 0x8004: SEC_DESC_DACL_PRESENT SEC_DESC_SELF_RELATIVE
///     ACL  Num ACEs:  3  revision:  2
///     ACE
///         type: ACCESS ALLOWED (0) flags: 0x00
///         Permissions: 0x1f019f: …
///         SID: S-1-22-1-0
///     Owner SID:  S-1-22-1-0
///     Group SID:  S-1-22-2-0
/// ```
fn smbclient_acl(srv: &SambaServer, share: &str, name: &str) -> Shown {
    let out = srv.smbclient(share, &format!("showacls; ls \"{name}\""));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "smbclient: {text}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        srv.log()
    );
    let mut shown = Shown::default();
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("revision: ") {
            shown.revision = v.trim().parse().unwrap();
        } else if let Some(v) = line.strip_prefix("type: 0x") {
            shown.control = hex_u32(v.split(':').next().unwrap()) as u16;
        } else if let Some(v) = line.strip_prefix("type: ") {
            // "ACCESS ALLOWED (0) flags: 0x00"
            let ace_type = v[v.find('(').unwrap() + 1..v.find(')').unwrap()]
                .parse()
                .unwrap();
            // "flags: 0x03 SEC_ACE_FLAG_OBJECT_INHERIT …"
            let flags = v.split("flags:").nth(1).unwrap().split_whitespace().next();
            let flags = hex_u32(flags.unwrap()) as u8;
            shown.aces.push((ace_type, flags, 0, String::new()));
        } else if let Some(v) = line.strip_prefix("Permissions: ") {
            shown.aces.last_mut().unwrap().2 = hex_u32(v.split(':').next().unwrap());
        } else if let Some(v) = line.strip_prefix("SID: ") {
            shown.aces.last_mut().unwrap().3 = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("Owner SID:") {
            shown.owner = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("Group SID:") {
            shown.group = v.trim().to_string();
        } else if line.starts_with("ACL") && line.contains("revision:") {
            shown.acl_revision = Some(line.rsplit('\t').next().unwrap().trim().parse().unwrap());
        }
    }
    assert!(
        !shown.owner.is_empty(),
        "no owner in smbclient's output:\n{text}"
    );
    shown
}

/// The same facts from our descriptor.
fn ours(sd: &SecurityDescriptor) -> Shown {
    let dacl = sd.dacl.as_ref();
    Shown {
        revision: sd.revision,
        control: sd.control,
        owner: sd.owner.as_ref().map(Sid::to_string).unwrap_or_default(),
        group: sd.group.as_ref().map(Sid::to_string).unwrap_or_default(),
        acl_revision: dacl.map(|a| a.revision),
        aces: dacl
            .map(|a| &a.aces[..])
            .unwrap_or_default()
            .iter()
            .map(|a| {
                let sid = a.sid.as_ref().map(Sid::to_string).unwrap_or_default();
                (a.ace_type.value(), a.flags, a.access_mask, sid)
            })
            .collect(),
    }
}

fn sid(s: &str) -> Sid {
    s.parse().unwrap()
}

/// Sets the parts `which` of `sd` on `path` with one CREATE + SET_INFO + CLOSE compound
/// (what a SetSecurity operation would send), asserting the server took it.
fn set_security(conn: &Connection, share: &str, path: &str, sd: &SecurityDescriptor, which: u32) {
    // The access each part needs, and READ_CONTROL as smbcacls asks. Samba with
    // acl_xattr rewrites the whole stored descriptor for any part, so it refuses a SACL
    // alone without WRITE_DAC (seen as STATUS_ACCESS_DENIED from the SET_INFO).
    let mut desired_access = access_mask::READ_CONTROL;
    for (part, access) in [
        (parts::OWNER | parts::GROUP, access_mask::WRITE_OWNER),
        (parts::DACL, access_mask::WRITE_DAC),
        (
            parts::SACL,
            access_mask::ACCESS_SYSTEM_SECURITY | access_mask::WRITE_DAC,
        ),
    ] {
        if which & part != 0 {
            desired_access |= access;
        }
    }
    let open = RequestBody::Create(CreateRequest {
        desired_access,
        share_access: 7,
        create_disposition: disposition::OPEN,
        name: path.into(),
        ..Default::default()
    });
    let set = RequestBody::SetInfo(SetInfoRequest {
        info_type: info_type::SECURITY,
        buffer: sd.encode().expect("encodes").into(),
        additional_information: which,
        file_id: FileId::ANY,
        ..Default::default()
    });
    let close = RequestBody::Close(CloseRequest {
        file_id: FileId::ANY,
        ..Default::default()
    });
    let responses = conn
        .call(Raw::compound(vec![open, set, close], true).on_share(share))
        .unwrap();
    for r in &responses {
        assert_eq!(r.status(), NtStatus::SUCCESS, "{:?}", r.header);
    }
}

#[test]
fn the_posix_mapping_of_a_chowned_file_reads_as_smbclient_shows_it() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let path = srv.share_path("share").join("owned.txt");
    fs::write(&path, b"x").unwrap();
    std::os::unix::fs::chown(&path, Some(UID), Some(GID)).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let conn = Connection::connect(&srv.connect_options()).unwrap();

    let sd = conn.get_security("share", "owned.txt").unwrap();
    assert_eq!(sd.owner, Some(sid(&format!("S-1-22-1-{UID}"))));
    assert_eq!(sd.group, Some(sid(&format!("S-1-22-2-{GID}"))));
    assert_ne!(sd.control & control::DACL_PRESENT, 0);
    assert!(!sd.dacl.as_ref().unwrap().aces.is_empty());
    assert_eq!(ours(&sd), smbclient_acl(&srv, "share", "owned.txt"));

    // A descriptor larger than the first buffer: STATUS_BUFFER_TOO_SMALL with the size,
    // then the same descriptor from the second compound.
    let retried = conn
        .call(GetSecurity::new("share", "owned.txt").buffer_len(16))
        .unwrap();
    assert_eq!(retried, sd);
    // The share's root has one too (smbclient lists no `.` to compare it with).
    let root = conn.get_security("share", "").unwrap();
    assert!(root.owner.is_some() && root.dacl.is_some(), "{root:?}");
}

#[test]
fn an_explicit_acl_with_deny_and_inheritance_reads_back_ace_by_ace() {
    let srv = SambaServer::builder()
        .share(
            Share::new("nt")
                .option("vfs objects", "acl_xattr")
                // The NT ACL is stored as set; nothing is mapped onto POSIX permissions.
                .option("acl_xattr:ignore system acls", "yes"),
        )
        .start();
    fs::create_dir(srv.share_path("nt").join("dir")).unwrap();
    let conn = Connection::connect(&srv.connect_options()).unwrap();

    let inherit = ace_flags::OBJECT_INHERIT | ace_flags::CONTAINER_INHERIT;
    let wanted = SecurityDescriptor {
        revision: 1,
        control: control::SELF_RELATIVE | control::DACL_PRESENT | control::DACL_PROTECTED,
        owner: Some(sid(&format!("S-1-22-1-{UID}"))),
        group: Some(sid(&format!("S-1-22-2-{GID}"))),
        dacl: Some(Acl {
            revision: 2,
            aces: vec![
                Ace::new(
                    AceType::AccessDenied,
                    inherit,
                    access_mask::FILE_WRITE_DATA | access_mask::DELETE,
                    sid("S-1-1-0"),
                ),
                Ace::new(
                    AceType::AccessAllowed,
                    inherit,
                    0x001f_01ff,
                    sid("S-1-5-32-544"),
                ),
                Ace::new(
                    AceType::AccessAllowed,
                    inherit | ace_flags::INHERIT_ONLY,
                    0x0012_00a9,
                    sid("S-1-5-21-1004336348-1177238915-682003330-512"),
                ),
                Ace::new(AceType::AccessAllowed, 0, 0x0012_019f, sid("S-1-22-1-0")),
            ],
        }),
        sacl: None,
    };
    set_security(
        &conn,
        "nt",
        "dir",
        &wanted,
        parts::OWNER | parts::GROUP | parts::DACL,
    );

    let sd = conn.get_security("nt", "dir").unwrap();
    assert_eq!(ours(&sd), smbclient_acl(&srv, "nt", "dir"));
    assert_eq!(
        (&sd.owner, &sd.group, &sd.dacl),
        (&wanted.owner, &wanted.group, &wanted.dacl),
        "what was set"
    );

    // A file created inside gets the inheritable ACEs as effective ACEs of its own
    // (inheritance flags mean nothing on a file); the non-inheritable one stays behind.
    conn.store_file("nt", "dir/child.txt", &mut &b"hello"[..])
        .unwrap();
    let child = conn.get_security("nt", "dir/child.txt").unwrap();
    assert_eq!(ours(&child), smbclient_acl(&srv, "nt", "dir/child.txt"));
    let essence = |aces: &[Ace]| -> Vec<(AceType, u32, Option<Sid>)> {
        aces.iter()
            .map(|a| (a.ace_type, a.access_mask, a.sid.clone()))
            .collect()
    };
    let child_aces = &child.dacl.as_ref().unwrap().aces;
    assert_eq!(
        essence(child_aces),
        essence(&wanted.dacl.as_ref().unwrap().aces[..3])
    );
    let inheritance = inherit | ace_flags::INHERIT_ONLY | ace_flags::NO_PROPAGATE_INHERIT;
    assert!(
        child_aces.iter().all(|a| a.flags & inheritance == 0),
        "{child_aces:?}"
    );
}

#[test]
fn missing_paths_and_paths_that_climb_fail_as_other_operations_do() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let err = conn.get_security("share", "no/such.txt").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = conn.get_security("share", "../etc").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    conn.echo().unwrap();
}

#[test]
fn the_sacl_comes_only_when_asked_for_by_a_user_holding_the_privilege() {
    let srv = SambaServer::builder()
        .share(
            Share::new("nt")
                .option("vfs objects", "acl_xattr")
                .option("acl_xattr:ignore system acls", "yes")
                // The session's own user, whose token carries the privilege granted
                // below (the harness's forced root user's would not).
                .option("force user", ""),
        )
        .start();
    // Owned by the user, whom the descriptor Samba makes up for it then grants WRITE_DAC.
    let file = srv.share_path("nt").join("audited.txt");
    fs::write(&file, b"x").unwrap();
    let passwd = fs::read_to_string("/etc/passwd").unwrap();
    let uid: u32 = passwd
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{DEFAULT_USER}:")))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|u| u.parse().ok())
        .expect("the harness's user in /etc/passwd");
    std::os::unix::fs::chown(&file, Some(uid), None).unwrap();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let err = conn
        .call(GetSecurity::new("nt", "audited.txt").with_sacl())
        .unwrap_err();
    assert_eq!(err.status(), Some(NtStatus::PRIVILEGE_NOT_HELD), "{err}");

    let net = std::process::Command::new("net")
        .arg("-s")
        .arg(srv.conf_path())
        .args([
            "sam",
            "rights",
            "grant",
            DEFAULT_USER,
            "SeSecurityPrivilege",
        ])
        .output()
        .expect("running net (package samba-common-bin)");
    assert!(net.status.success(), "{net:?}");
    // The privilege is in the tokens of sessions set up from now on.
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let sacl = Acl {
        revision: 2,
        aces: vec![Ace::new(
            AceType::SystemAudit,
            ace_flags::SUCCESSFUL_ACCESS | ace_flags::FAILED_ACCESS,
            access_mask::FILE_WRITE_DATA | access_mask::DELETE,
            sid("S-1-1-0"),
        )],
    };
    let only_sacl = SecurityDescriptor {
        revision: 1,
        control: control::SELF_RELATIVE,
        owner: None,
        group: None,
        dacl: None,
        sacl: Some(sacl.clone()),
    };
    set_security(&conn, "nt", "audited.txt", &only_sacl, parts::SACL);
    let sd = conn
        .call(GetSecurity::new("nt", "audited.txt").with_sacl())
        .unwrap();
    assert_eq!(sd.sacl, Some(sacl));
    assert_ne!(sd.control & control::SACL_PRESENT, 0);
    assert!(sd.owner.is_some() && sd.dacl.is_some());
    assert_eq!(conn.get_security("nt", "audited.txt").unwrap().sacl, None);
}
