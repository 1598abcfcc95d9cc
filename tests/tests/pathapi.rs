//! The pathlib-style API (pike's `TreeConnect` and `PikePath`) of the blocking client
//! against a private smbd: the README's quick start with the share in the environment,
//! every path method, glob and rglob over a few hundred files checked against the local
//! tree, Python's open modes, and the share handle's tree disconnect.

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::process::Command;
use std::time::{Duration, SystemTime};

use smb_blocking::{Creds, ErrorKind, Share, SmbPath};
use smb_proto::ops;
use smb_proto::wire::fscc::{
    class, FileAllInformation, FileBasicInformation, FileNameInformation, FileStandardInformation,
    FileStreamInformation,
};
use smb_tests::fixtures::{
    glob_oracle as oracle, local_tree, make_glob_tree, GLOB_PATTERNS as PATTERNS,
};
use smb_tests::SambaServer;

fn server() -> SambaServer {
    SambaServer::builder()
        .share(smb_tests::Share::new("x"))
        .start()
}

/// The test user's credentials in pike's form.
fn creds(srv: &SambaServer) -> String {
    format!("{}%{}", srv.user(), srv.password())
}

fn share(srv: &SambaServer) -> Share {
    let server = format!("{}:{}", srv.host(), srv.port());
    Share::connect(&server, creds(srv), "x").expect("connect the share")
}

fn kind<T: std::fmt::Debug>(r: smb_blocking::Result<T>) -> ErrorKind {
    r.expect_err("expected an error").kind()
}

/// The quick start binary, run with `env` and no other SMB_ or PIKE_ variable.
fn run_quick_start(env: &[(&str, String)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pike-quickstart"));
    for (name, _) in std::env::vars() {
        if name.starts_with("SMB_") || name.starts_with("PIKE_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.output().expect("run pike-quickstart")
}

#[test]
fn the_readme_quick_start_is_this_program_word_for_word() {
    let readme = include_str!("../../README.md");
    let program = include_str!("../src/bin/pike_quickstart.rs");
    let block = format!("```rust,no_run\n{program}```");
    let at = readme
        .find(&block)
        .expect("the README holds src/bin/pike_quickstart.rs as a rust,no_run block");
    // The first library example: no Rust block comes before it.
    assert!(
        !readme[..at].contains("```rust"),
        "the quick start must be the README's first Rust example"
    );
}

#[test]
fn the_quick_start_runs_with_the_share_in_smb_or_pike_variables() {
    let srv = server();
    let root = srv.share_path("x");
    let host = srv.host().to_string();
    let port = srv.port().to_string();
    let runs: [Vec<(&str, String)>; 3] = [
        vec![
            ("SMB_SERVER", host.clone()),
            ("SMB_PORT", port.clone()),
            ("SMB_CREDS", creds(&srv)),
            ("SMB_SHARE", "x".into()),
        ],
        vec![
            ("PIKE_SERVER", format!("{host}:{port}")),
            ("PIKE_CREDS", format!("WORKGROUP\\{}", creds(&srv))),
            ("PIKE_SHARE", "x".into()),
        ],
        // SMB_ names win over pike's, setting by setting; empty ones count as unset.
        vec![
            ("SMB_SERVER", host.clone()),
            ("PIKE_SERVER", "192.0.2.1".into()),
            ("SMB_PORT", "".into()),
            ("PIKE_PORT", port.clone()),
            ("SMB_USER", srv.user().into()),
            ("SMB_PASSWORD", srv.password().into()),
            ("PIKE_CREDS", "nobody%wrong".into()),
            ("SMB_SHARE", "x".into()),
            ("PIKE_SHARE", "no-such-share".into()),
        ],
    ];
    for env in runs {
        let out = run_quick_start(&env);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{env:?}\nstdout: {stdout}\nstderr: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            srv.log()
        );
        let line = format!(r"\\{host}\x\quickstart\hello.txt (17 bytes)");
        assert!(stdout.contains(&line), "{stdout}");
        assert!(
            !root.join("quickstart").exists(),
            "the quick start cleans up"
        );
    }
    // A missing share variable is an error naming it, before any connection.
    let out = run_quick_start(&[("SMB_SERVER", host)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("SMB_SHARE (or PIKE_SHARE) is not set"),
        "{stderr}"
    );
}

#[test]
fn a_share_connects_with_pike_creds_or_fields_and_shows_no_password() {
    let srv = server();
    let server = format!("{}:{}", srv.host(), srv.port());
    let by_fields = Share::connect(
        &server,
        Creds::new(srv.user(), srv.password()).in_domain("WORKGROUP"),
        "x",
    )
    .expect("connect with separate fields");
    assert_eq!(by_fields.name(), "x");
    let shown = format!("{by_fields:?} {:?}", by_fields.path("a"));
    assert!(!shown.contains(srv.password()), "{shown}");

    let wrong = Share::connect(&server, format!("{}%wrong", srv.user()), "x");
    assert_eq!(kind(wrong), ErrorKind::AuthenticationFailed);
    let missing = Share::connect(&server, creds(&srv), "no-such-share");
    assert_eq!(kind(missing), ErrorKind::NotFound);

    let share = share(&srv);
    let p = &share / "dir" / "file.txt";
    assert_eq!(p.to_string(), format!(r"\\{}\x\dir\file.txt", srv.host()));
    assert_eq!(share.root().to_string(), format!(r"\\{}\x", srv.host()));
}

#[test]
fn pure_operations_build_paths_on_the_same_share() {
    let srv = server();
    let share = share(&srv);
    let root = &share / "";
    let f = root.join("a/b").join("c.tar.gz");
    assert_eq!(f, &share / r"a\b" / "c.tar.gz");
    assert_eq!(f, share.path("/a//b/./c.tar.gz"));
    assert_eq!(f.as_str(), "a/b/c.tar.gz");
    assert_eq!(
        (f.name(), f.stem(), f.suffix()),
        ("c.tar.gz", "c.tar", ".gz")
    );
    assert_eq!(f.parent(), Some(share.path("a/b")));
    assert_eq!(root.parent(), None);
    assert_eq!(f.with_name("d").unwrap(), share.path("a/b/d"));
    assert_eq!(f.with_suffix(".zip").unwrap(), share.path("a/b/c.tar.zip"));
    assert_eq!(kind(root.with_name("x")), ErrorKind::InvalidArgument);
    assert_eq!(kind(f.with_suffix("zip")), ErrorKind::InvalidArgument);
    assert_eq!(&f / "/top", share.path("top"));
    // Another handle to the same share is another share as far as paths go.
    let other = self::share(&srv);
    assert_ne!(other.path("a"), share.path("a"));
    assert_eq!(share.clone().path("a"), share.path("a"));
}

#[test]
fn exists_is_file_is_dir_and_stat() {
    let srv = server();
    let local = srv.share_path("x");
    std::fs::create_dir(local.join("dir")).unwrap();
    std::fs::write(local.join("dir/f.bin"), [7u8; 1000]).unwrap();
    let share = share(&srv);
    let (dir, file) = (share.path("dir"), share.path("dir/f.bin"));
    let (missing, under_file) = (share.path("dir/nope"), share.path("dir/f.bin/x"));
    let root = share.root();
    for (p, exists, is_file, is_dir) in [
        (&dir, true, false, true),
        (&file, true, true, false),
        (&missing, false, false, false),
        (&under_file, false, false, false),
        (&share.path("nope/deeper"), false, false, false),
        (&root, true, false, true),
    ] {
        assert_eq!(p.exists().unwrap(), exists, "{p}");
        assert_eq!(p.is_file().unwrap(), is_file, "{p}");
        assert_eq!(p.is_dir().unwrap(), is_dir, "{p}");
    }
    let info = file.stat().unwrap();
    assert_eq!((info.name.as_str(), info.size), ("f.bin", 1000));
    assert!(dir.stat().unwrap().is_directory());
    assert_eq!(kind(missing.stat()), ErrorKind::NotFound);
    assert_eq!(kind(share.path("..").exists()), ErrorKind::InvalidArgument);

    // Raw and typed information classes.
    let basic = file.stat_class(class::FILE_BASIC_INFORMATION).unwrap();
    assert_eq!(basic.len(), FileBasicInformation::LEN);
    let basic = FileBasicInformation::decode(&basic).unwrap();
    assert_eq!(basic.last_write_time, info.last_write_time);
    let internal = file.stat_class(class::FILE_INTERNAL_INFORMATION).unwrap();
    let index = u64::from_le_bytes(internal[..8].try_into().unwrap());
    let all = file.stat_info::<FileAllInformation>().unwrap();
    assert_eq!(all.index_number, index);
    assert_eq!(all.standard.end_of_file, 1000);
    assert_eq!(all.file_name, r"\dir\f.bin");
    let standard = dir.stat_info::<FileStandardInformation>().unwrap();
    assert!(standard.directory);
    let name = file.stat_info::<FileNameInformation>().unwrap();
    assert_eq!(name.file_name, r"\dir\f.bin");
    let streams = file.stat_info::<Vec<FileStreamInformation>>().unwrap();
    assert_eq!(streams.len(), 1, "{streams:?}");
    assert_eq!(
        (streams[0].stream_name.as_str(), streams[0].stream_size),
        ("::$DATA", 1000)
    );
    assert_eq!(
        kind(missing.stat_class(class::FILE_BASIC_INFORMATION)),
        ErrorKind::NotFound
    );
    assert!(
        file.stat_class(0xEE).is_err(),
        "an unknown class is refused"
    );
    // The connection is fine after the refusal.
    assert!(file.exists().unwrap());
}

#[test]
fn glob_and_rglob_find_what_the_local_tree_holds() {
    let srv = server();
    let local = srv.share_path("x");
    let files = make_glob_tree(&local);
    assert_eq!(files, 496);
    let share = share(&srv);
    let everything = local_tree(&local);

    for dir in ["", "alpha", "Beta/sub2", "gamma.d/deep.er/leaf"] {
        let base = share.path(dir);
        let local_dir = local.join(dir);
        let names: BTreeSet<String> = std::fs::read_dir(&local_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        let listed: BTreeSet<String> = base
            .iterdir()
            .unwrap()
            .map(|p| {
                assert_eq!(p.parent().as_ref(), Some(&base));
                p.name().to_string()
            })
            .collect();
        assert_eq!(listed, names, "iterdir {dir:?}");
        for pattern in PATTERNS {
            let want: BTreeSet<&String> = names.iter().filter(|n| oracle(pattern, n)).collect();
            let got: BTreeSet<String> = base
                .glob(pattern)
                .unwrap()
                .map(|p| p.name().to_string())
                .collect();
            assert_eq!(
                got.iter().collect::<BTreeSet<_>>(),
                want,
                "glob {pattern} in {dir:?}"
            );
        }
    }

    for dir in ["", "Beta", "gamma.d/sub2"] {
        let base = share.path(dir);
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let below: Vec<&str> = everything
            .iter()
            .filter_map(|p| p.strip_prefix(&prefix))
            .collect();
        for pattern in PATTERNS {
            let want: BTreeSet<String> = below
                .iter()
                .filter(|p| oracle(pattern, p.rsplit('/').next().unwrap()))
                .map(|p| format!("{prefix}{p}"))
                .collect();
            let found: Vec<SmbPath> = base.rglob(pattern).unwrap().collect();
            let got: BTreeSet<String> = found.iter().map(|p| p.as_str().to_string()).collect();
            assert_eq!(
                got.len(),
                found.len(),
                "rglob {pattern} in {dir:?}: duplicates"
            );
            assert_eq!(got, want, "rglob {pattern} in {dir:?}");
            // Each directory before what it holds.
            for (i, p) in found.iter().enumerate() {
                if let Some(parent) = p.parent().filter(|q| q.as_str().len() > dir.len()) {
                    if let Some(at) = found.iter().position(|q| *q == parent) {
                        assert!(at < i, "{parent} after {p}");
                    }
                }
            }
        }
    }

    let file = share.path("alpha/a1.txt");
    assert_eq!(kind(file.iterdir()), ErrorKind::NotADirectory);
    assert_eq!(kind(file.glob("*")), ErrorKind::NotADirectory);
    assert_eq!(kind(share.path("nope").iterdir()), ErrorKind::NotFound);
    assert_eq!(kind(share.path("nope").rglob("*")), ErrorKind::NotFound);
    for bad in ["", "**", "a/b", "a<"] {
        assert_eq!(
            kind(share.root().glob(bad)),
            ErrorKind::InvalidArgument,
            "{bad:?}"
        );
        assert_eq!(
            kind(share.root().rglob(bad)),
            ErrorKind::InvalidArgument,
            "{bad:?}"
        );
    }
}

#[test]
fn mkdir_follows_parents_and_exist_ok() {
    let srv = server();
    let local = srv.share_path("x");
    let share = share(&srv);
    let d = share.path("d");
    d.mkdir(false, false).unwrap();
    assert!(local.join("d").is_dir());
    assert_eq!(kind(d.mkdir(false, false)), ErrorKind::AlreadyExists);
    assert_eq!(kind(d.mkdir(true, false)), ErrorKind::AlreadyExists);
    d.mkdir(false, true).unwrap();
    d.mkdir(true, true).unwrap();

    let deep = share.path("p/q/r");
    assert_eq!(kind(deep.mkdir(false, false)), ErrorKind::NotFound);
    assert!(!local.join("p").exists());
    deep.mkdir(true, false).unwrap();
    assert!(local.join("p/q/r").is_dir());
    share.path("p/q/r/s/t").mkdir(true, true).unwrap();
    assert!(local.join("p/q/r/s/t").is_dir());

    std::fs::write(local.join("file"), b"f").unwrap();
    let file = share.path("file");
    // A file with the name: exist_ok is for directories only, as in pathlib.
    assert_eq!(kind(file.mkdir(false, true)), ErrorKind::AlreadyExists);
    assert_eq!(kind(file.mkdir(true, true)), ErrorKind::AlreadyExists);
    // A file where a parent should be.
    assert_eq!(
        kind(share.path("file/sub").mkdir(true, false)),
        ErrorKind::NotADirectory
    );
    assert!(matches!(
        kind(share.path("file/sub").mkdir(false, false)),
        ErrorKind::NotFound | ErrorKind::NotADirectory
    ));
    // The root exists already.
    share.root().mkdir(false, true).unwrap();
    assert_eq!(
        kind(share.root().mkdir(false, false)),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(share.path("../x").mkdir(true, true)),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn rmdir_and_unlink() {
    let srv = server();
    let local = srv.share_path("x");
    std::fs::create_dir_all(local.join("full/inner")).unwrap();
    std::fs::create_dir(local.join("empty")).unwrap();
    std::fs::write(local.join("f.txt"), b"f").unwrap();
    std::fs::write(local.join("ab"), b"keep").unwrap();
    let share = share(&srv);

    assert_eq!(kind(share.path("full").rmdir()), ErrorKind::NotEmpty);
    assert_eq!(kind(share.path("f.txt").rmdir()), ErrorKind::NotADirectory);
    assert_eq!(kind(share.path("gone").rmdir()), ErrorKind::NotFound);
    share.path("empty").rmdir().unwrap();
    assert!(!local.join("empty").exists());

    assert_eq!(
        kind(share.path("full").unlink(false)),
        ErrorKind::IsADirectory
    );
    assert_eq!(
        kind(share.path("full").unlink(true)),
        ErrorKind::IsADirectory
    );
    assert_eq!(kind(share.path("gone").unlink(false)), ErrorKind::NotFound);
    share.path("gone").unlink(true).unwrap();
    share.path("no/such/dir/f").unlink(true).unwrap();
    share.path("f.txt").unlink(false).unwrap();
    assert!(!local.join("f.txt").exists());
    // A name is never a pattern: `a*` deletes no `ab` (Samba refuses the name).
    let e = share.path("a*").unlink(false).unwrap_err();
    assert_eq!(
        e.status(),
        Some(smb_proto::NtStatus::OBJECT_NAME_INVALID),
        "{e}"
    );
    assert_eq!(std::fs::read(local.join("ab")).unwrap(), b"keep");
}

#[test]
fn rename_refuses_an_existing_target_and_replace_replaces_it() {
    let srv = server();
    let local = srv.share_path("x");
    std::fs::create_dir(local.join("dir")).unwrap();
    std::fs::write(local.join("a"), b"A").unwrap();
    std::fs::write(local.join("b"), b"B").unwrap();
    let share = share(&srv);
    let (a, b) = (share.path("a"), share.path("b"));

    assert_eq!(kind(a.rename("b")), ErrorKind::AlreadyExists);
    assert_eq!(kind(a.rename(&b)), ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(local.join("a")).unwrap(), b"A");
    assert_eq!(std::fs::read(local.join("b")).unwrap(), b"B");

    let moved = a.rename("dir/a2").unwrap();
    assert_eq!(moved, share.path("dir/a2"));
    assert!(!a.exists().unwrap() && moved.is_file().unwrap());
    assert_eq!(moved.read_bytes().unwrap(), b"A");

    let replaced = moved.replace(&b).unwrap();
    assert_eq!(replaced, b);
    assert_eq!(std::fs::read(local.join("b")).unwrap(), b"A");
    assert!(!local.join("dir/a2").exists());
    assert_eq!(kind(share.path("gone").rename("c")), ErrorKind::NotFound);
    assert_eq!(kind(share.path("gone").replace("c")), ErrorKind::NotFound);
    // A directory moves too.
    let d = share.path("dir").rename("dir2").unwrap();
    assert!(d.is_dir().unwrap() && local.join("dir2").is_dir());
}

#[test]
fn touch_creates_or_updates_the_write_time() {
    let srv = server();
    let local = srv.share_path("x");
    let share = share(&srv);
    let new = share.path("new.txt");
    new.touch(false).unwrap();
    assert_eq!(std::fs::read(local.join("new.txt")).unwrap(), b"");
    assert_eq!(kind(new.touch(false)), ErrorKind::AlreadyExists);

    let old = SystemTime::now() - Duration::from_secs(3 * 24 * 3600);
    std::fs::write(local.join("old.txt"), b"content").unwrap();
    std::fs::File::options()
        .write(true)
        .open(local.join("old.txt"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let p = share.path("old.txt");
    let before = p.stat().unwrap().last_write_time.to_system_time().unwrap();
    assert!(before < SystemTime::now() - Duration::from_secs(24 * 3600));
    let start = SystemTime::now();
    p.touch(true).unwrap();
    let after = p.stat().unwrap().last_write_time.to_system_time().unwrap();
    assert!(
        after + Duration::from_secs(2) >= start,
        "{after:?} {start:?}"
    );
    let on_disk = std::fs::metadata(local.join("old.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert!(on_disk + Duration::from_secs(2) >= start);
    assert_eq!(std::fs::read(local.join("old.txt")).unwrap(), b"content");

    // A directory's times update too; a missing parent is NotFound.
    std::fs::create_dir(local.join("d")).unwrap();
    share.path("d").touch(true).unwrap();
    assert!(share.path("d").is_dir().unwrap());
    assert_eq!(kind(share.path("no/f").touch(true)), ErrorKind::NotFound);
}

#[test]
fn whole_file_bytes_and_text() {
    let srv = server();
    let local = srv.share_path("x");
    let share = share(&srv);
    let p = share.path("t.txt");
    assert_eq!(p.write_text("héllo\n").unwrap(), 7);
    assert_eq!(
        std::fs::read(local.join("t.txt")).unwrap(),
        "héllo\n".as_bytes()
    );
    assert_eq!(p.read_text().unwrap(), "héllo\n");
    assert_eq!(p.write_bytes(b"ab").unwrap(), 2);
    assert_eq!(p.read_bytes().unwrap(), b"ab");
    let big = smb_tests::fixtures::data(3 << 20, 9);
    p.write_bytes(&big).unwrap();
    assert_eq!(p.read_bytes().unwrap(), big);

    std::fs::write(local.join("bin"), [b'o', b'k', 0xff, 0xfe]).unwrap();
    let e = share.path("bin").read_text().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("offset 2"), "{e}");
    assert_eq!(kind(share.path("none").read_bytes()), ErrorKind::NotFound);
    assert_eq!(
        kind(share.path("none/x").write_text("x")),
        ErrorKind::NotFound
    );
    std::fs::create_dir(local.join("d")).unwrap();
    assert_eq!(kind(share.path("d").read_bytes()), ErrorKind::IsADirectory);
    assert_eq!(
        kind(share.path("d").write_text("x")),
        ErrorKind::IsADirectory
    );
}

fn read_all(f: &mut smb_blocking::File) -> Vec<u8> {
    let mut out = Vec::new();
    f.read_to_end(&mut out).unwrap();
    out
}

#[test]
fn open_modes_behave_like_python() {
    let srv = server();
    let local = srv.share_path("x");
    let share = share(&srv);
    let disk = |name: &str| std::fs::read(local.join(name)).unwrap();

    assert_eq!(kind(share.path("missing").open("r")), ErrorKind::NotFound);
    assert_eq!(kind(share.path("missing").open("r+")), ErrorKind::NotFound);
    for bad in ["", "rw", "rt", "q", "r++"] {
        assert_eq!(
            kind(share.path("any").open(bad)),
            ErrorKind::InvalidArgument,
            "{bad:?}"
        );
    }

    // x creates, and refuses an existing file.
    let mut f = share.path("x.txt").open("xb").unwrap();
    f.write_all(b"new").unwrap();
    f.close().unwrap();
    assert_eq!(disk("x.txt"), b"new");
    assert_eq!(
        kind(share.path("x.txt").open("x")),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(share.path("x.txt").open("x+")),
        ErrorKind::AlreadyExists
    );

    // r reads and cannot write.
    let mut f = share.path("x.txt").open("rb").unwrap();
    assert_eq!(read_all(&mut f), b"new");
    assert_eq!(
        f.write_all(b"no").unwrap_err().kind(),
        std::io::ErrorKind::PermissionDenied
    );
    drop(f);

    // w truncates; w+ truncates and reads back.
    std::fs::write(local.join("w.txt"), b"0123456789").unwrap();
    let mut f = share.path("w.txt").open("w").unwrap();
    assert_eq!(f.info().size, 0);
    f.write_all(b"ab").unwrap();
    drop(f);
    assert_eq!(disk("w.txt"), b"ab");
    let mut f = share.path("w.txt").open("w+").unwrap();
    f.write_all(b"fresh").unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    assert_eq!(read_all(&mut f), b"fresh");
    f.close().unwrap();
    assert_eq!(disk("w.txt"), b"fresh");
    share.path("w-new.txt").open("w").unwrap().close().unwrap();
    assert_eq!(disk("w-new.txt"), b"");

    // r+ keeps the content and writes at the position.
    std::fs::write(local.join("r.txt"), b"0123456789").unwrap();
    let mut f = share.path("r.txt").open("r+").unwrap();
    let mut head = [0u8; 3];
    f.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"012");
    f.write_all(b"AB").unwrap();
    f.seek(SeekFrom::End(-2)).unwrap();
    f.write_all(b"YZ").unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    assert_eq!(read_all(&mut f), b"012AB567YZ");
    drop(f);
    assert_eq!(disk("r.txt"), b"012AB567YZ");

    // a appends wherever the position is, and creates a missing file.
    std::fs::write(local.join("a.txt"), b"start").unwrap();
    let mut f = share.path("a.txt").open("a").unwrap();
    assert_eq!(f.stream_position().unwrap(), 5);
    f.write_all(b"-one").unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(b"-two").unwrap();
    assert_eq!(f.stream_position().unwrap(), 13);
    // Another writer appends in between: the next append goes after it.
    std::fs::OpenOptions::new()
        .append(true)
        .open(local.join("a.txt"))
        .unwrap()
        .write_all(b"-other")
        .unwrap();
    f.write_all(b"-three").unwrap();
    assert_eq!(f.stream_position().unwrap(), 25);
    f.close().unwrap();
    assert_eq!(disk("a.txt"), b"start-one-two-other-three");
    let mut f = share.path("a+.txt").open("a+").unwrap();
    f.write_all(b"xy").unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    assert_eq!(read_all(&mut f), b"xy");
    drop(f);
    assert_eq!(disk("a+.txt"), b"xy");

    // Directories are not files.
    std::fs::create_dir(local.join("d")).unwrap();
    for mode in ["r", "r+", "a", "w"] {
        assert_eq!(
            kind(share.path("d").open(mode)),
            ErrorKind::IsADirectory,
            "{mode}"
        );
    }
}

/// The share's tree connects as seen by the server (`smbstatus -S` lists one line per
/// tree connect to a share, naming it).
fn trees_of(srv: &SambaServer, share: &str) -> usize {
    srv.smbstatus(&["-S"])
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(share))
        .count()
}

#[test]
fn the_share_disconnects_its_tree_when_the_last_handle_goes() {
    let srv = server();
    let share = share(&srv);
    let conn = share.connection().clone();
    assert_eq!(trees_of(&srv, "x"), 1);
    let path = share.path("kept.txt");
    drop(share);
    // A path holds the share: its tree stays, and so does a file opened through it.
    path.write_text("still here").unwrap();
    let mut f = path.open("r").unwrap();
    drop(path);
    assert_eq!(trees_of(&srv, "x"), 1);
    assert_eq!(read_all(&mut f), b"still here");
    drop(f);
    // The connection (held here) goes on, without the tree.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while trees_of(&srv, "x") != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the tree is still connected"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    conn.echo().unwrap();
    // The core connects it again for the next operation on the share.
    assert!(conn.call(ops::Stat::new("x", "kept.txt")).is_ok());
    assert_eq!(trees_of(&srv, "x"), 1);
}

#[test]
fn dropping_a_share_whose_server_is_gone_does_not_panic() {
    let srv = server();
    let share = share(&srv);
    let p = share.path("f");
    p.write_text("x").unwrap();
    drop(srv);
    assert!(p.read_text().is_err());
    let start = std::time::Instant::now();
    drop(p);
    drop(share);
    assert!(start.elapsed() < Duration::from_secs(5));
}
