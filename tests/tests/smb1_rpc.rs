//! SMB1 beyond files (issue #16), against Samba speaking only NT LM 0.12
//! (`server min/max protocol = NT1`), signed: the share list over SRVSVC on the `srvsvc`
//! pipe (TRANS_TRANSACT_NMPIPE and READ_ANDX), long names included, and the RAP
//! fallback when the pipe is not there; security descriptors read (NT_TRANSACT
//! QUERY_SECURITY_DESC) as smbclient and the SMB2 path of this client read them, and set
//! (SET_SECURITY_DESC); snapshots (NT_TRANSACT IOCTL FSCTL_SRV_ENUMERATE_SNAPSHOTS); and
//! streams and EAs (TRANS2 at SMB_QUERY_FILE_STREAM_INFO, SMB_INFO_QUERY_ALL_EAS,
//! SMB_INFO_SET_EAS), checked against the `user.` extended attributes Samba keeps them
//! in on disk; and change notification (NT_TRANSACT NOTIFY_CHANGE).

use std::fs;
use std::process::Command;
use std::time::Duration;

use smb_blocking::{
    access_mask, notify_filter, Ace, AceType, Acl, Change, ConnectOptions, Connection, ErrorKind,
    SecurityDescriptor, Sid, DEFAULT_NOTIFY_FILTER,
};
use smb_proto::ops::{GetSecurity, ListShares, SetSecurity};
use smb_proto::wire::security::{ace_flags, control};
use smb_proto::{Dialect, ShareType};
use smb_tests::logs::captured_logs;
use smb_tests::{SambaServer, Share};

/// Unix ids no account has: Samba shows them as S-1-22-1-uid and S-1-22-2-gid.
const UID: u32 = 4242;
const GID: u32 = 4343;

/// An SMB1-only Samba with `shares`, requiring signatures.
fn nt1_signed(shares: Vec<Share>) -> SambaServer {
    let mut b = SambaServer::builder().smb1_only().signing_required();
    for s in shares {
        b = b.share(s);
    }
    b.start()
}

/// This client with SMB1 on, connected and signing.
fn smb1(srv: &SambaServer) -> Connection {
    let conn = Connection::connect(&srv.connect_options().smb1(true))
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(conn.negotiated().dialect, Dialect::Nt1);
    conn
}

/// The SMB1 requests of each kind the client sent while `f` ran (its debug log).
fn requests_sent<R>(f: impl FnOnce() -> R) -> (R, impl Fn(&str) -> usize) {
    let (r, log) = captured_logs(tracing::Level::DEBUG, f);
    let count = move |command: &str| {
        log.lines()
            .filter(|l| l.contains(" request") && l.contains(&format!("command={command} ")))
            .count()
    };
    (r, count)
}

/// A share name of `n` characters, and its comment.
fn long_name(i: usize) -> String {
    format!("a_share_with_a_long_name_{i:03}")
}

#[test]
fn srvsvc_over_smb1_lists_every_share_long_names_too() {
    const MANY: usize = 60;
    for signing in [true, false] {
        let mut b = SambaServer::builder()
            .smb1_only()
            .share(Share::new("share").option("comment", "the files"))
            .share(Share::new("hidden$"));
        for i in 0..MANY {
            let comment = format!("comment number {i}, long enough to need many fragments");
            b = b.share(Share::new(&long_name(i)).option("comment", &comment));
        }
        if signing {
            b = b.signing_required();
        }
        let srv = b.start();
        let conn = smb1(&srv);
        let (shares, sent) = requests_sent(|| conn.list_shares());
        let shares = shares.unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
        let find = |n: &str| shares.iter().find(|s| s.name == n);
        for i in 0..MANY {
            let s = find(&long_name(i)).unwrap_or_else(|| panic!("{i}: {shares:?}"));
            assert_eq!(s.share_type, ShareType::Disk);
            assert_eq!(
                s.comment,
                format!("comment number {i}, long enough to need many fragments")
            );
        }
        assert_eq!(find("share").map(|s| s.comment.as_str()), Some("the files"));
        let ipc = find("IPC$").expect("IPC$");
        assert!(
            ipc.share_type == ShareType::Ipc && ipc.is_special,
            "{ipc:?}"
        );
        assert!(find("hidden$").is_some(), "SRVSVC lists hidden shares too");
        assert_eq!(shares.len(), MANY + 3, "{shares:?}");
        // The pipe, written and read: the answer (some 8 KiB) is more than the 4,280
        // bytes of one TRANSACT_NMPIPE, so READ_ANDX fetched the rest; no RAP.
        assert_eq!(sent("NT_CREATE_ANDX"), 1);
        assert_eq!(sent("TRANSACTION"), 2, "bind and NetrShareEnum");
        assert!(sent("READ_ANDX") >= 1, "the long answer read on");
        assert_eq!(sent("CLOSE"), 1);

        // RAP alone: the short browseable names only, the same facts for them.
        let rap = conn.call(ListShares::rap()).unwrap();
        assert!(rap.iter().all(|s| s.name.len() <= 12), "{rap:?}");
        let rap_share = rap.iter().find(|s| s.name == "share").expect("share");
        assert_eq!(rap_share.comment, "the files");
        assert!(rap.iter().any(|s| s.name == "IPC$"));
        conn.echo().unwrap();
    }
}

#[test]
fn without_the_srvsvc_pipe_smb1_falls_back_to_rap() {
    // No RPC helpers started on demand: the pipe cannot be opened, RAP (smbd's own)
    // still answers.
    let srv = SambaServer::builder()
        .smb1_only()
        .signing_required()
        .global("rpc start on demand helpers", "no")
        .share(Share::new("share").option("comment", "the files"))
        .share(Share::new(&long_name(0)))
        .start();
    let conn = smb1(&srv);
    let (shares, sent) = requests_sent(|| conn.list_shares());
    let shares = shares.unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(sent("NT_CREATE_ANDX"), 1, "the pipe was tried first");
    assert_eq!(sent("TRANSACTION"), 1, "then RAP, once");
    let names: Vec<&str> = shares.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"share") && names.contains(&"IPC$"),
        "{names:?}"
    );
    assert!(!names.contains(&long_name(0).as_str()), "RAP cannot say it");
    conn.echo().unwrap();
}

#[test]
fn rap_alone_is_refused_on_smb2() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let e = conn.call(ListShares::rap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(conn
        .list_shares()
        .unwrap()
        .iter()
        .any(|s| s.name == "share"));
}

/// (revision, control, owner, group, (type, flags, mask, SID) of each ACE).
type Facts = (u8, u16, String, String, Vec<(u8, u8, u32, String)>);

fn facts(sd: &SecurityDescriptor) -> Facts {
    let aces = sd.dacl.as_ref().map(|a| &a.aces[..]).unwrap_or_default();
    (
        sd.revision,
        sd.control,
        sd.owner.as_ref().map(Sid::to_string).unwrap_or_default(),
        sd.group.as_ref().map(Sid::to_string).unwrap_or_default(),
        aces.iter()
            .map(|a| {
                let sid = a.sid.as_ref().map(Sid::to_string).unwrap_or_default();
                (a.ace_type.value(), a.flags, a.access_mask, sid)
            })
            .collect(),
    )
}

/// What smbclient's `showacls` listing (Samba's own client and SD parser), speaking
/// NT1 to the server, shows for `name`:
///
/// ```text
/// revision: 1
/// type: 0x8004: SEC_DESC_DACL_PRESENT SEC_DESC_SELF_RELATIVE
///     ACE
///         type: ACCESS ALLOWED (0) flags: 0x00
///         Permissions: 0x1f019f: …
///         SID: S-1-22-1-0
///     Owner SID:  S-1-22-1-0
///     Group SID:  S-1-22-2-0
/// ```
fn smbclient_acl(srv: &SambaServer, share: &str, name: &str) -> Facts {
    let out = srv
        .smbclient_command()
        .arg("-U")
        .arg(format!("{}%{}", srv.user(), srv.password()))
        .args(["-m", "NT1", "--option=client min protocol=NT1"])
        .arg(format!("//{}/{share}", srv.host()))
        .arg("-c")
        .arg(format!("showacls; ls \"{name}\""))
        .output()
        .expect("smbclient");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "smbclient: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hex = |s: &str| {
        let s = s.trim().trim_end_matches(':');
        u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
    };
    let mut f: Facts = Default::default();
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("revision: ") {
            f.0 = v.trim().parse().unwrap();
        } else if let Some(v) = line.strip_prefix("type: 0x") {
            f.1 = hex(v.split(':').next().unwrap()) as u16;
        } else if let Some(v) = line.strip_prefix("type: ") {
            // "ACCESS ALLOWED (0) flags: 0x00"
            let ace_type = v[v.find('(').unwrap() + 1..v.find(')').unwrap()]
                .parse()
                .unwrap();
            let flags = v.split("flags:").nth(1).unwrap().split_whitespace().next();
            f.4.push((ace_type, hex(flags.unwrap()) as u8, 0, String::new()));
        } else if let Some(v) = line.strip_prefix("Permissions: ") {
            f.4.last_mut().unwrap().2 = hex(v.split(':').next().unwrap());
        } else if let Some(v) = line.strip_prefix("SID: ") {
            f.4.last_mut().unwrap().3 = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("Owner SID:") {
            f.2 = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("Group SID:") {
            f.3 = v.trim().to_string();
        }
    }
    assert!(!f.2.is_empty(), "no owner in smbclient's output:\n{text}");
    f
}

fn sid(s: &str) -> Sid {
    s.parse().unwrap()
}

#[test]
fn security_descriptors_over_smb1_read_as_smbclient_and_smb2_read_them() {
    // SMB1 only: the owner and group are known, and smbclient (over NT1) agrees.
    let srv = nt1_signed(vec![Share::new("share")]);
    let path = srv.share_path("share").join("owned.txt");
    fs::write(&path, b"x").unwrap();
    std::os::unix::fs::chown(&path, Some(UID), Some(GID)).unwrap();
    fs::create_dir(srv.share_path("share").join("dir")).unwrap();
    let conn = smb1(&srv);
    let (sd, sent) = requests_sent(|| conn.get_security("share", "owned.txt"));
    let sd = sd.unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(sent("NT_TRANSACT"), 1);
    assert_eq!(sd.owner, Some(sid(&format!("S-1-22-1-{UID}"))));
    assert_eq!(sd.group, Some(sid(&format!("S-1-22-2-{GID}"))));
    assert_ne!(sd.control & control::DACL_PRESENT, 0);
    assert!(!sd.dacl.as_ref().unwrap().aces.is_empty());
    assert_eq!(facts(&sd), smbclient_acl(&srv, "share", "owned.txt"));
    assert_eq!(
        facts(&conn.get_security("share", "dir").unwrap()),
        smbclient_acl(&srv, "share", "dir")
    );
    // Too small a first buffer: STATUS_BUFFER_TOO_SMALL with LengthNeeded, once more.
    let (retried, sent) =
        requests_sent(|| conn.call(GetSecurity::new("share", "owned.txt").buffer_len(16)));
    assert_eq!(retried.unwrap(), sd);
    assert_eq!(sent("NT_TRANSACT"), 2);
    let e = conn.get_security("share", "nosuch.txt").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // Every open was closed: nothing left on the server.
    conn.echo().unwrap();
    assert!(
        !srv.smbstatus(&["-L"]).contains("owned.txt"),
        "{}",
        srv.smbstatus(&["-L"])
    );

    // A server speaking both: the SMB1 path reads what the SMB2 path reads.
    let dual = SambaServer::builder()
        .min_dialect("NT1")
        .signing_required()
        .share(Share::new("share"))
        .start();
    let path = dual.share_path("share").join("owned.txt");
    fs::write(&path, b"x").unwrap();
    std::os::unix::fs::chown(&path, Some(UID), Some(GID)).unwrap();
    let mut o: ConnectOptions = dual.connect_options().smb1(true);
    o.max_dialect = Dialect::Nt1;
    let old = Connection::connect(&o).unwrap();
    assert_eq!(old.negotiated().dialect, Dialect::Nt1);
    let new = Connection::connect(&dual.connect_options()).unwrap();
    assert_ne!(new.negotiated().dialect, Dialect::Nt1);
    for p in ["owned.txt", ""] {
        assert_eq!(
            old.get_security("share", p).unwrap(),
            new.get_security("share", p).unwrap(),
            "{p:?}"
        );
    }
}

#[test]
fn a_descriptor_set_over_smb1_reads_back_and_smbclient_sees_it() {
    let srv = nt1_signed(vec![Share::new("nt")
        .option("vfs objects", "acl_xattr")
        .option("acl_xattr:ignore system acls", "yes")]);
    fs::create_dir(srv.share_path("nt").join("dir")).unwrap();
    let conn = smb1(&srv);
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
                Ace::new(AceType::AccessAllowed, 0, 0x0012_019f, sid("S-1-22-1-0")),
            ],
        }),
        sacl: None,
    };
    let (set, sent) = requests_sent(|| conn.call(SetSecurity::new("nt", "dir", &wanted)));
    set.unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(sent("NT_TRANSACT"), 1);
    let sd = conn.get_security("nt", "dir").unwrap();
    assert_eq!(
        (&sd.owner, &sd.group, &sd.dacl),
        (&wanted.owner, &wanted.group, &wanted.dacl),
        "what was set"
    );
    assert_eq!(facts(&sd), smbclient_acl(&srv, "nt", "dir"));
    // Only the DACL this time: the owner stays.
    let mut dacl_only = wanted.clone();
    dacl_only.owner = None;
    dacl_only.group = None;
    if let Some(acl) = dacl_only.dacl.as_mut() {
        acl.aces.remove(0);
    }
    conn.call(SetSecurity::new("nt", "dir", &dacl_only))
        .unwrap();
    let sd = conn.get_security("nt", "dir").unwrap();
    assert_eq!(sd.owner, wanted.owner);
    assert_eq!(sd.dacl, dacl_only.dacl);
    // A descriptor with nothing in it is refused before anything is sent.
    let empty = SecurityDescriptor {
        owner: None,
        group: None,
        dacl: None,
        sacl: None,
        control: 0,
        ..wanted
    };
    let e = conn
        .call(SetSecurity::new("nt", "dir", &empty))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = conn
        .call(SetSecurity::new("nt", "nosuch", &dacl_only))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[test]
fn snapshots_over_smb1_are_the_ones_smb2_lists() {
    const TOKENS: [&str; 3] = [
        "@GMT-2026.01.01-00.00.00",
        "@GMT-2026.02.01-12.30.00",
        "@GMT-2026.03.15-08.00.05",
    ];
    let build = |b: smb_tests::SambaBuilder| {
        let srv = b
            .signing_required()
            .share(Share::new("snap").snapshots())
            .share(Share::new("plain"))
            .start();
        for token in TOKENS {
            let docs = srv.snapshot("snap", token).join("docs");
            fs::create_dir_all(&docs).unwrap();
            fs::write(docs.join("notes.txt"), token).unwrap();
        }
        fs::create_dir_all(srv.share_path("snap").join("docs")).unwrap();
        fs::write(srv.share_path("snap").join("docs/notes.txt"), b"live").unwrap();
        srv
    };
    let srv = build(SambaServer::builder().smb1_only());
    let conn = smb1(&srv);
    let newest_first: Vec<String> = TOKENS.iter().rev().map(|t| t.to_string()).collect();
    for path in ["docs/notes.txt", "docs", ""] {
        let listed = conn
            .list_snapshots("snap", path)
            .unwrap_or_else(|e| panic!("{path:?}: {e}\n{}", srv.log()));
        let tokens: Vec<String> = listed.iter().map(|t| t.gmt_token()).collect();
        assert_eq!(tokens, newest_first, "{path:?}");
    }
    let smb1_plain = conn.list_snapshots("plain", "").unwrap_err();

    // The same server speaking SMB2 too: both paths list the same, and fail alike.
    let dual = build(SambaServer::builder().min_dialect("NT1"));
    let mut o = dual.connect_options().smb1(true);
    o.max_dialect = Dialect::Nt1;
    let old = Connection::connect(&o).unwrap();
    let new = Connection::connect(&dual.connect_options()).unwrap();
    assert_eq!(
        old.list_snapshots("snap", "docs").unwrap(),
        new.list_snapshots("snap", "docs").unwrap()
    );
    // A share without snapshots fails alike; Samba's status differs by protocol
    // (STATUS_NOT_SUPPORTED from its SMB1 FSCTL path, STATUS_INVALID_DEVICE_REQUEST
    // over SMB2), both an "unsupported" kind.
    let smb2_plain = new.list_snapshots("plain", "").unwrap_err();
    assert_eq!(
        smb1_plain.kind(),
        smb2_plain.kind(),
        "{smb1_plain} / {smb2_plain}"
    );
    conn.echo().unwrap();
}

/// The `user.` extended attributes of a file of share `ads`, as getfattr prints them.
fn xattrs(srv: &SambaServer, path: &str) -> String {
    let out = Command::new("getfattr")
        .args(["-d", "-m", "^user\\."])
        .arg(srv.share_path("ads").join(path))
        .output()
        .expect("getfattr (the attr package)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn setfattr(srv: &SambaServer, path: &str, name: &str, value: &str) {
    let ok = Command::new("setfattr")
        .args(["-n", name, "-v", value])
        .arg(srv.share_path("ads").join(path))
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn streams_and_eas_over_smb1_are_the_xattrs_on_disk() {
    let srv = nt1_signed(vec![
        Share::new("ads").streams(),
        Share::new("plain").option("ea support", "no"),
    ]);
    let conn = smb1(&srv);

    // Streams: one written on disk the way streams_xattr keeps it (the data and a NUL),
    // one written through SMB1 by its path (NT_CREATE_ANDX of `file:name`).
    fs::write(srv.share_path("ads").join("doc.txt"), b"the file itself\n").unwrap();
    setfattr(&srv, "doc.txt", "user.DosStream.disk:$DATA", "0x61626300");
    let n = conn
        .store_file("ads", "doc.txt:summary", &mut &b"short"[..])
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(n, 5);
    assert!(xattrs(&srv, "doc.txt").contains("user.DosStream.summary:$DATA"));
    let mut streams: Vec<(String, u64)> = conn
        .list_streams("ads", "doc.txt")
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()))
        .into_iter()
        .map(|s| (s.name, s.size))
        .collect();
    streams.sort();
    assert_eq!(
        streams,
        [("".into(), 16), ("disk".into(), 3), ("summary".into(), 5)]
    );
    let mut back = Vec::new();
    conn.retrieve_file("ads", "doc.txt:disk", &mut back)
        .unwrap();
    assert_eq!(back, b"abc");
    assert_eq!(
        fs::read(srv.share_path("ads").join("doc.txt")).unwrap(),
        b"the file itself\n",
        "the file's own data untouched"
    );

    // EAs: one set on disk is read over SMB1; ones set over SMB1 land on disk.
    fs::write(srv.share_path("ads").join("e.txt"), b"x").unwrap();
    assert!(conn.get_eas("ads", "e.txt").unwrap().is_empty(), "none yet");
    setfattr(&srv, "e.txt", "user.origin", "local disk");
    let (eas, sent) = requests_sent(|| conn.get_eas("ads", "e.txt"));
    let eas = eas.unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(sent("TRANSACTION2"), 1);
    assert_eq!(eas.len(), 1, "{eas:?}");
    assert_eq!(
        (eas[0].name.as_str(), &eas[0].value[..]),
        ("origin", &b"local disk"[..])
    );
    conn.set_ea("ads", "e.txt", "reviewed", b"yes").unwrap();
    conn.set_eas("ads", "e.txt", &[("a", &b"1"[..]), ("b", &b"22"[..])])
        .unwrap();
    let on_disk = xattrs(&srv, "e.txt");
    for line in [
        "user.reviewed=\"yes\"",
        "user.a=\"1\"",
        "user.b=\"22\"",
        "user.origin",
    ] {
        assert!(on_disk.contains(line), "{line}: {on_disk}");
    }
    let mut names: Vec<(String, Vec<u8>)> = conn
        .get_eas("ads", "e.txt")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.value))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("a".into(), b"1".to_vec()),
            ("b".into(), b"22".to_vec()),
            ("origin".into(), b"local disk".to_vec()),
            ("reviewed".into(), b"yes".to_vec()),
        ]
    );
    // An empty value removes one.
    conn.set_ea("ads", "e.txt", "reviewed", b"").unwrap();
    assert!(!xattrs(&srv, "e.txt").contains("user.reviewed"));
    assert_eq!(conn.get_eas("ads", "e.txt").unwrap().len(), 3);
    // Errors as on SMB2.
    let e = conn.get_eas("ads", "nosuch.txt").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = conn.set_ea("ads", "e.txt", "caf\u{e9}", b"1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    // A share without EA support: Samba's SMB1 answers a query with no EA (SMB2's with
    // STATUS_EAS_NOT_SUPPORTED), and refuses a set.
    fs::write(srv.share_path("plain").join("p.txt"), b"x").unwrap();
    assert!(conn.get_eas("plain", "p.txt").unwrap().is_empty());
    let e = conn.set_ea("plain", "p.txt", "a", b"1").unwrap_err();
    assert!(e.status().is_some(), "the server's refusal: {e}");
    conn.echo().unwrap();
}

/// Whether `c` is about one of [`until_watched`]'s probes.
fn is_probe(c: &Change) -> bool {
    matches!(c, Change::Added(n) | Change::Removed(n) | Change::Modified(n) if n.contains("probe-"))
}

/// Creates probe files in `box/` until `w` reports one: Samba registers a watch with
/// its notify daemon a moment after it holds the request (see tests/watch.rs).
#[track_caller]
fn until_watched(w: &mut smb_blocking::Watcher, conn: &Connection) {
    for i in 0..100 {
        conn.store_file("share", &format!("box/probe-{i}"), &mut &b""[..])
            .unwrap();
        if let Some(c) = w.next_within(Duration::from_millis(300)) {
            let c = c.expect("the watch failed");
            assert!(is_probe(&c), "before any change: {c:?}");
            return;
        }
    }
    panic!("the watch never reported a probe");
}

/// The next `n` changes (probes left out), failing after 20 s without one.
#[track_caller]
fn take(w: &mut smb_blocking::Watcher, n: usize) -> Vec<Change> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match w.next_within(Duration::from_secs(20)) {
            Some(c) => {
                let c = c.expect("the watch failed");
                if !is_probe(&c) {
                    got.push(c);
                }
            }
            None => panic!("change {}: none came; got {got:?}", got.len()),
        }
    }
    got
}

#[test]
fn a_watch_over_smb1_sees_changes_and_ends_cleanly() {
    let srv = nt1_signed(vec![Share::new("share")]);
    fs::create_dir_all(srv.share_path("share").join("box/sub")).unwrap();
    let mut opts = srv.connect_options().smb1(true);
    // A per-request timeout far shorter than the wait: the watch has none.
    opts.timeout = Duration::from_secs(2);
    let watching = Connection::connect(&opts).unwrap();
    let other = smb1(&srv);
    let names = notify_filter::FILE_NAME | notify_filter::DIR_NAME;
    let (w, sent) = requests_sent(|| watching.watch("share", "box", names, false));
    let mut w = w.unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(sent("NT_TRANSACT"), 1);
    let mut deep = watching
        .watch("share", "", notify_filter::FILE_NAME, true)
        .unwrap();
    until_watched(&mut w, &other);
    until_watched(&mut deep, &other);

    other
        .store_file("share", "box/a.txt", &mut &b"one"[..])
        .unwrap();
    other.rename("share", "box/a.txt", "box/b.txt").unwrap();
    other.delete_files("share", "box/b.txt").unwrap();
    other.create_directory("share", "box/d").unwrap();
    // In order, each once. (Two watches on the same directory from one connection saw a
    // change twice in about one run in eight, over SMB1; the deep watch is on the root.)
    let mut got = Vec::new();
    while !got.contains(&Change::Added("d".into())) {
        got.extend(take(&mut w, 1));
    }
    assert_eq!(
        got,
        [
            Change::Added("a.txt".into()),
            Change::Renamed {
                from: "a.txt".into(),
                to: "b.txt".into()
            },
            Change::Removed("b.txt".into()),
            Change::Added("d".into())
        ]
    );
    // Past the 2 s request timeout, and below the directory: only the deep watch.
    std::thread::sleep(Duration::from_secs(3));
    other
        .store_file("share", "box/sub/x.txt", &mut &b"x"[..])
        .unwrap();
    let x = Change::Added("box\\sub\\x.txt".into());
    let mut deep_changes = Vec::new();
    while !deep_changes.contains(&x) {
        deep_changes.extend(take(&mut deep, 1));
    }
    assert_eq!(
        deep_changes.first(),
        Some(&Change::Added("box\\a.txt".into()))
    );

    // Dropped: cancelled and closed; the connection goes on.
    drop(w);
    drop(deep);
    assert_eq!(watching.list_path("share", "box", "d").unwrap().len(), 1);
    watching.echo().unwrap();
    let mut open = srv.smbstatus(&["-L"]);
    for _ in 0..50 {
        if !open.lines().any(|l| l.contains(" box ")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        open = srv.smbstatus(&["-L"]);
    }
    assert!(
        !open.lines().any(|l| l.contains(" box ")),
        "the watched directory is still open:\n{open}"
    );
    let e = watching
        .watch("share", "nope", DEFAULT_NOTIFY_FILTER, false)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}
