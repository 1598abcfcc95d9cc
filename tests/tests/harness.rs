//! Tests of the Samba harness itself, with smbclient as the reference client.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use smb_tests::{fixtures, require_samba, SambaServer, Share, DEFAULT_PASSWORD, DEFAULT_USER};

/// stdout and stderr together: smbclient prints NT_STATUS errors on either.
fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A scratch directory for local files, removed with the server.
fn local_dir(server: &SambaServer) -> PathBuf {
    let dir = server.conf_path().parent().unwrap().join("local");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The dialect smbclient reports at debug level 4 ("negotiated dialect[SMB3_11] …").
fn negotiated_dialect(server: &SambaServer) -> String {
    let out = server
        .smbclient_command()
        .arg("-U")
        .arg(format!("{DEFAULT_USER}%{DEFAULT_PASSWORD}"))
        .arg("--option=client max protocol=SMB3")
        .args(["-d", "4", "//127.0.0.1/share", "-c", "ls"])
        .output()
        .unwrap();
    let text = text(&out);
    assert!(out.status.success(), "{text}\n{}", server.log());
    let start = text
        .find("negotiated dialect[")
        .unwrap_or_else(|| panic!("no dialect in smbclient's output:\n{text}"))
        + "negotiated dialect[".len();
    let len = text[start..].find(']').unwrap();
    text[start..start + len].to_owned()
}

/// Live processes whose command line mentions `dir`: smbd, samba-dcerpcd and rpcd_* name
/// the server's smb.conf in it.
fn processes_mentioning(dir: &Path) -> Vec<String> {
    let needle = dir.to_str().unwrap();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(')')
            .is_none_or(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']));
        if cmdline.contains(needle) && !zombie {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

fn accepts_connections(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
}

#[test]
fn samba_is_installed() {
    require_samba();
}

#[test]
fn put_and_get_round_trip_through_a_read_write_share() {
    let server = SambaServer::builder().share(Share::new("share")).start();
    let local = local_dir(&server);
    let data = fixtures::data(300 * 1024, 1);
    fs::write(local.join("up.bin"), &data).unwrap();

    let commands = format!(
        "put {up} remote.bin; get remote.bin {down}",
        up = local.join("up.bin").display(),
        down = local.join("down.bin").display()
    );
    let out = server.smbclient("share", &commands);
    assert!(out.status.success(), "{}\n{}", text(&out), server.log());

    let on_disk = fs::read(server.share_path("share").join("remote.bin")).unwrap();
    assert!(on_disk == data, "the share holds different bytes");
    let back = fs::read(local.join("down.bin")).unwrap();
    assert!(back == data, "get returned different bytes");
}

#[test]
fn fixtures_created_by_the_test_are_writable_over_smb() {
    let server = SambaServer::builder().share(Share::new("share")).start();
    let share = server.share_path("share");
    // What a test naturally does as root: its umask gives 0644 files and 0755 directories.
    fs::write(share.join("fixture.txt"), b"old contents").unwrap();
    fs::set_permissions(share.join("fixture.txt"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::create_dir(share.join("sub")).unwrap();
    fs::set_permissions(share.join("sub"), fs::Permissions::from_mode(0o755)).unwrap();
    let local = local_dir(&server);
    fs::write(local.join("new.txt"), b"new").unwrap();

    let new = local.join("new.txt");
    let commands = format!(
        "put {new} fixture.txt; put {new} sub/inner.txt",
        new = new.display()
    );
    let out = server.smbclient("share", &commands);
    assert!(out.status.success(), "{}\n{}", text(&out), server.log());
    assert_eq!(fs::read(share.join("fixture.txt")).unwrap(), b"new");
    assert_eq!(fs::read(share.join("sub/inner.txt")).unwrap(), b"new");
}

#[test]
fn read_only_share_rejects_put() {
    let server = SambaServer::builder()
        .share(Share::new("ro").read_only())
        .start();
    let local = local_dir(&server);
    fs::write(local.join("x.txt"), b"x").unwrap();

    let out = server.smbclient(
        "ro",
        &format!("put {} x.txt", local.join("x.txt").display()),
    );
    let text = text(&out);
    assert!(
        text.contains("NT_STATUS_ACCESS_DENIED")
            || text.contains("NT_STATUS_MEDIA_WRITE_PROTECTED"),
        "{text}"
    );
    assert!(!server.share_path("ro").join("x.txt").exists());
    // The share itself is reachable: only the write was refused.
    let out = server.smbclient("ro", "ls");
    assert!(out.status.success(), "{}", self::text(&out));
}

#[test]
fn default_server_negotiates_smb3_11() {
    let server = SambaServer::builder().share(Share::new("share")).start();
    assert_eq!(negotiated_dialect(&server), "SMB3_11");
}

#[test]
fn server_max_protocol_caps_the_dialect_at_2_1() {
    let server = SambaServer::builder()
        .share(Share::new("share"))
        .max_dialect("SMB2_10")
        .start();
    assert_eq!(negotiated_dialect(&server), "SMB2_10");
}

#[test]
fn wrong_password_is_rejected() {
    let server = SambaServer::builder().share(Share::new("share")).start();
    let out = server
        .smbclient_command()
        .arg("-U")
        .arg(format!("{DEFAULT_USER}%not-the-password"))
        .args(["//127.0.0.1/share", "-c", "ls"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("NT_STATUS_LOGON_FAILURE"),
        "{}",
        text(&out)
    );
}

#[test]
fn extra_user_logs_in_with_its_own_password_only() {
    let server = SambaServer::builder()
        .share(Share::new("share"))
        .user("smbtest-alt", "Alt-pw-42")
        .start();
    let as_alt = |password: &str| {
        server
            .smbclient_command()
            .arg("-U")
            .arg(format!("smbtest-alt%{password}"))
            .args(["//127.0.0.1/share", "-c", "ls"])
            .output()
            .unwrap()
    };
    let out = as_alt("Alt-pw-42");
    assert!(out.status.success(), "{}\n{}", text(&out), server.log());
    let out = as_alt(DEFAULT_PASSWORD);
    assert!(
        text(&out).contains("NT_STATUS_LOGON_FAILURE"),
        "{}",
        text(&out)
    );
}

#[test]
fn guest_share_admits_anonymous_writes_and_other_shares_do_not() {
    let server = SambaServer::builder()
        .share(Share::new("public").guest_ok())
        .share(Share::new("private"))
        .start();
    let local = local_dir(&server);
    fs::write(local.join("g.txt"), b"guest data").unwrap();
    let anonymous = |share: &str| {
        server
            .smbclient_command()
            .arg("-N")
            .arg(format!("//127.0.0.1/{share}"))
            .arg("-c")
            .arg(format!("put {} g.txt", local.join("g.txt").display()))
            .output()
            .unwrap()
    };

    let out = anonymous("public");
    assert!(out.status.success(), "{}\n{}", text(&out), server.log());
    assert_eq!(
        fs::read(server.share_path("public").join("g.txt")).unwrap(),
        b"guest data"
    );

    let out = anonymous("private");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("NT_STATUS_ACCESS_DENIED"),
        "{}",
        text(&out)
    );
    assert!(!server.share_path("private").join("g.txt").exists());
}

#[test]
fn share_option_requiring_encryption_turns_away_an_smb2_client() {
    let server = SambaServer::builder()
        .share(Share::new("plain"))
        .share(Share::new("sealed").option("smb encrypt", "required"))
        .start();
    // SMB 2.1 has no encryption, so only the sealed share can refuse it.
    let connect = |share: &str, max_protocol: &str| {
        server
            .smbclient_command()
            .arg("-U")
            .arg(format!("{DEFAULT_USER}%{DEFAULT_PASSWORD}"))
            .arg(format!("--option=client max protocol={max_protocol}"))
            .arg(format!("//127.0.0.1/{share}"))
            .args(["-c", "ls"])
            .output()
            .unwrap()
    };
    let out = connect("plain", "SMB2_10");
    assert!(out.status.success(), "{}\n{}", text(&out), server.log());
    let out = connect("sealed", "SMB2_10");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("NT_STATUS_ACCESS_DENIED"),
        "{}",
        text(&out)
    );
    let out = connect("sealed", "SMB3");
    assert!(out.status.success(), "{}\n{}", text(&out), server.log());
}

#[test]
fn two_servers_at_once_have_their_own_ports_and_shares() {
    let a = SambaServer::builder().share(Share::new("share")).start();
    let b = SambaServer::builder().share(Share::new("share")).start();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.share_path("share"), b.share_path("share"));

    let local = local_dir(&a);
    fs::write(local.join("only-a.txt"), b"a").unwrap();
    let put = format!("put {} only-a.txt", local.join("only-a.txt").display());
    let out = a.smbclient("share", &put);
    assert!(out.status.success(), "{}\n{}", text(&out), a.log());
    assert!(a.share_path("share").join("only-a.txt").exists());
    assert!(!b.share_path("share").join("only-a.txt").exists());
    let out = b.smbclient("share", "ls");
    assert!(out.status.success(), "{}\n{}", text(&out), b.log());
}

#[test]
fn servers_start_in_parallel() {
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let server = SambaServer::builder().share(Share::new("share")).start();
                let out = server.smbclient("share", &format!("mkdir dir{i}"));
                assert!(out.status.success(), "{}\n{}", text(&out), server.log());
                assert!(server.share_path("share").join(format!("dir{i}")).is_dir());
                server.port()
            })
        })
        .collect();
    let mut ports: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 4);
}

#[test]
fn drop_stops_smbd_and_its_rpc_helpers_and_removes_the_directory() {
    let server = SambaServer::builder().share(Share::new("listed")).start();
    // Listing shares goes through SRVSVC, which makes smbd start samba-dcerpcd.
    let out = server
        .smbclient_command()
        .arg("-U")
        .arg(format!("{DEFAULT_USER}%{DEFAULT_PASSWORD}"))
        .args(["-L", "//127.0.0.1"])
        .output()
        .unwrap();
    assert!(
        text(&out).contains("listed"),
        "{}\n{}",
        text(&out),
        server.log()
    );

    let port = server.port();
    let dir = server.conf_path().parent().unwrap().to_owned();
    let running = processes_mentioning(&dir);
    assert!(
        running.iter().any(|p| p.contains("samba-dcerpcd")),
        "{running:#?}"
    );
    assert!(running.iter().any(|p| p.contains("smbd")), "{running:#?}");

    drop(server);
    assert!(!accepts_connections(port), "port {port} still open");
    assert!(!dir.exists(), "{} still exists", dir.display());
    let left = processes_mentioning(&dir);
    assert!(left.is_empty(), "still running: {left:#?}");
}

#[test]
fn url_names_the_default_user_and_the_port() {
    let server = SambaServer::builder().share(Share::new("share")).start();
    assert_eq!(server.host(), "127.0.0.1");
    assert_eq!(server.user(), DEFAULT_USER);
    assert_eq!(server.password(), DEFAULT_PASSWORD);
    assert_eq!(
        server.url("share"),
        format!(
            "smb://smbtest:Sm0ke-Test!pw@127.0.0.1:{}/share",
            server.port()
        )
    );
    assert!(accepts_connections(server.port()));
}

#[test]
#[should_panic(expected = "no share \"missing\"")]
fn share_path_of_an_unknown_share_panics() {
    let server = SambaServer::builder().share(Share::new("share")).start();
    server.share_path("missing");
}

#[test]
fn a_server_that_cannot_start_panics_with_its_log() {
    let outcome = std::panic::catch_unwind(|| {
        // smbd exits at once when it cannot create its named-pipe directory.
        SambaServer::builder()
            .global("ncalrpc dir", "/proc/no-such-dir/np")
            .start()
    });
    let panic = outcome.expect_err("start() returned a server");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("smbd failed to start"), "{message}");
    assert!(
        message.contains("Failed to create pipe directory"),
        "{message}"
    );
}

#[test]
fn a_test_process_killed_outright_leaves_no_samba_running() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    // A process that starts a server and is then killed with SIGKILL: no destructor runs.
    let mut holder = Command::new(env!("CARGO_BIN_EXE_samba-demo-server"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(holder.stdout.take().unwrap()).lines();
    let share_dir = loop {
        let line = lines.next().expect("the server's facts").unwrap();
        if let Some(dir) = line.strip_prefix("SHARE_DIR=") {
            break PathBuf::from(dir);
        }
    };
    // SHARE_DIR is DIR/shares/share.
    let dir = share_dir.parent().unwrap().parent().unwrap().to_owned();
    let running = processes_mentioning(&dir);
    assert!(running.iter().any(|p| p.contains("smbd")), "{running:#?}");

    holder.kill().unwrap();
    holder.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let left = processes_mentioning(&dir);
        if left.is_empty() && !dir.exists() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "15 s after the kill, still running: {left:#?}; directory left: {}",
            dir.exists()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
