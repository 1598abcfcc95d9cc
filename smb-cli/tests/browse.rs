//! `smb ls smb://` and `smb ls smb://WORKGROUP` (issue #16's browsing): against a private
//! nmbd that is its workgroup's local master browser on 127.0.0.3 and an SMB1 smbd on
//! the same address sharing its browse list, the workgroups and the workgroup's servers
//! are printed, found by broadcast and by asking nmbd alone. nmbd's election takes
//! over 20 s and one runs per machine, so one function checks everything that needs it.
//! Without a master browser, or without `--smb1`, the failure says so.

use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use smb_tests::nmbd::{NmbServer, BROADCAST};
use smb_tests::{SambaServer, Share};

/// `smb` documents 3 for "not found".
const NOT_FOUND: i32 = 3;

/// `smb` with `args`, no `SMB_*` variables → exit status, stdout, stderr.
fn smb(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smb"))
        .args(args)
        .env_remove("SMB_USER")
        .env_remove("SMB_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("running smb");
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    )
}

/// The line of `listing` whose first column is `name`, split in columns.
fn line<'a>(listing: &'a str, name: &str) -> Option<Vec<&'a str>> {
    listing
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&name))
}

#[test]
fn ls_lists_the_workgroups_and_a_workgroups_servers() {
    let nmbd = NmbServer::master_browser();
    let smbd = SambaServer::builder()
        .share(Share::new("share"))
        .address(nmbd.address())
        .smb1_only()
        .global("workgroup", nmbd.workgroup())
        .global("cache directory", &nmbd.cache_dir().display().to_string())
        .start();
    let port = smbd.port().to_string();
    let user = format!("{}%{}", smbd.user(), smbd.password());
    let broadcast = BROADCAST.to_string();
    let unicast = nmbd.address().to_string();
    let ls = |url: &str, how: &[&str]| {
        let mut args = vec!["--smb1", "ls", url, "-U", &user, "-W", nmbd.workgroup()];
        args.extend(["--port", &port]);
        args.extend(how);
        smb(&args)
    };
    // nmbd writes the browse list some seconds after it won the election.
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = format!("smb://{}", nmbd.workgroup());
    let servers = loop {
        let (status, out, err) = ls(&url, &["--name-server", &unicast]);
        if status == Some(0) && line(&out, nmbd.netbios_name()).is_some() {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "{status:?} {out} {err}\n--- nmbd log ---\n{}",
            nmbd.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let server = line(&servers, nmbd.netbios_name()).unwrap();
    assert_eq!(server.get(1), Some(&"server"), "{servers}");
    for how in [
        ["--broadcast", broadcast.as_str()],
        ["--name-server", unicast.as_str()],
    ] {
        let (status, workgroups, err) = ls("smb://", &how);
        assert_eq!(status, Some(0), "{how:?}: {err}");
        let wg = line(&workgroups, nmbd.workgroup())
            .unwrap_or_else(|| panic!("{how:?}: no {} in {workgroups}", nmbd.workgroup()));
        assert_eq!(wg.get(1), Some(&"workgroup"), "{workgroups}");
        assert!(err.is_empty(), "{err}");
        let (status, servers, err) =
            ls(&format!("smb://{}", nmbd.workgroup().to_lowercase()), &how);
        assert_eq!(status, Some(0), "{how:?}: {err}");
        let server = line(&servers, nmbd.netbios_name()).unwrap_or_else(|| panic!("{servers}"));
        assert_eq!(server.get(1), Some(&"server"), "{servers}");
        println!("$ smb --smb1 ls smb:// {}\n{workgroups}", how.join(" "));
        println!(
            "$ smb --smb1 ls smb://{} {}\n{servers}",
            nmbd.workgroup(),
            how.join(" ")
        );
    }
    // JSON: the same entries with their types.
    let (status, json, err) = ls("smb://", &["--name-server", &unicast, "--json"]);
    assert_eq!(status, Some(0), "{err}");
    assert!(
        json.contains(&format!(
            r#""name":"{}","type":"workgroup""#,
            nmbd.workgroup()
        )),
        "{json}"
    );
}

/// Nobody answering the name queries: exit status 3 and a message naming where they
/// went and what they asked for; a name service port that is bound but never answers.
#[test]
fn ls_of_the_network_without_a_master_browser_fails_clearly() {
    let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let nbns_port = silent.local_addr().unwrap().port().to_string();
    let (status, out, err) = smb(&[
        "--smb1",
        "ls",
        "smb://",
        "-W",
        "SOMEGROUP",
        "--name-server",
        "127.0.0.1",
        "--nbns-port",
        &nbns_port,
    ]);
    assert_eq!(status, Some(NOT_FOUND), "{out} {err}");
    assert!(out.is_empty(), "{out}");
    for part in [
        "smb: ",
        "no master browser",
        "127.0.0.1",
        "__MSBROWSE__",
        "SOMEGROUP<1d>",
    ] {
        assert!(err.contains(part), "{part:?} missing in {err}");
    }
    // Without --smb1 nothing is asked: the error names the option.
    let (status, _, err) = smb(&[
        "ls",
        "smb://",
        "--name-server",
        "127.0.0.1",
        "--nbns-port",
        &nbns_port,
    ]);
    assert_ne!(status, Some(0));
    assert!(err.contains("--smb1") && err.contains("browse"), "{err}");
}
