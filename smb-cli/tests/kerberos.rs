//! The `smb` binary logging in with Kerberos (`--kdc`, `--keytab`) to a private Samba AD
//! DC: by password and by keytab a file comes back whole; a wrong password fails naming
//! Kerberos's reason, without falling back to NTLM.

use std::process::{Command, Output, Stdio};

use smb_tests::dc::{SambaDc, HOST_NAME, REALM};
use smb_tests::Share;

/// `smb` with `args`, the password (if any) in `SMB_PASSWORD`, nothing on stdin.
fn smb(args: &[&str], password: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_smb"));
    c.args(args)
        .env_remove("SMB_USER")
        .env_remove("SMB_PASSWORD")
        .stdin(Stdio::null());
    if let Some(p) = password {
        c.env("SMB_PASSWORD", p);
    }
    c.output().expect("running smb")
}

#[test]
fn the_cli_logs_in_with_kerberos_by_password_and_by_keytab() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    std::fs::write(dc.share_path("share").join("k.txt"), b"over kerberos\n").expect("file");
    let url = format!(
        "smb://{}:{}/share/k.txt",
        dc.address(),
        dc.connect_options().port
    );
    let kdc = dc.kdc_addr().to_string();
    let user = format!("{}@{REALM}", dc.user());
    let base = [
        "--kdc",
        kdc.as_str(),
        "--server-name",
        HOST_NAME,
        "-U",
        user.as_str(),
    ];

    let mut args = base.to_vec();
    args.extend(["cat", url.as_str()]);
    let out = smb(&args, Some(dc.password()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(out.stdout, b"over kerberos\n");

    let keytab = dc.export_keytab(&user);
    let keytab = keytab.to_str().expect("a UTF-8 path");
    let mut args = base.to_vec();
    args.extend(["--keytab", keytab, "cat", url.as_str()]);
    let out = smb(&args, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(out.stdout, b"over kerberos\n");

    let mut args = base.to_vec();
    args.extend(["cat", url.as_str()]);
    let out = smb(&args, Some("not-the-password"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("wrong password or key"), "{stderr}");
    assert!(!stderr.contains("not-the-password"), "password in {stderr}");
    assert!(out.stdout.is_empty());
}

/// `--use-kerberos`: with no KDC at the address given, `desired` (the default) logs in
/// with NTLM and the same password, `required` fails with Kerberos's reason.
#[test]
fn the_cli_falls_back_to_ntlm_unless_kerberos_is_required() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    std::fs::write(dc.share_path("share").join("f.txt"), b"either way\n").expect("file");
    let url = format!(
        "smb://{}:{}/share/f.txt",
        dc.address(),
        dc.connect_options().port
    );
    let no_kdc = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").to_string()
    };
    let user = format!("{}@{REALM}", dc.user());
    let base = [
        "--kdc",
        no_kdc.as_str(),
        "--server-name",
        HOST_NAME,
        "-U",
        user.as_str(),
    ];
    let mut args = base.to_vec();
    args.extend(["cat", url.as_str()]);
    let out = smb(&args, Some(dc.password()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(out.stdout, b"either way\n");

    let mut args = base.to_vec();
    args.extend(["--use-kerberos", "required", "cat", url.as_str()]);
    let out = smb(&args, Some(dc.password()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no KDC of realm"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// `smb --kdc` without a password or keytab takes the credential cache KRB5CCNAME names
/// (what kinit wrote, `FILE:/path`), or the one `--ccache` names; no user is needed (the
/// cache's is taken). A KRB5CCNAME of another type is refused, naming it.
#[test]
fn the_cli_logs_in_with_a_ccache() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    std::fs::write(dc.share_path("share").join("k.txt"), b"from the cache\n").expect("file");
    let url = format!(
        "smb://{}:{}/share/k.txt",
        dc.address(),
        dc.connect_options().port
    );
    let kdc = dc.kdc_addr().to_string();
    let ccache = dc.kinit(&dc.principal(dc.user()), dc.password());
    let args = [
        "--kdc",
        kdc.as_str(),
        "--server-name",
        HOST_NAME,
        "cat",
        url.as_str(),
    ];
    let run = |krb5ccname: Option<String>, extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_smb"));
        c.args(extra)
            .args(args)
            .env_remove("SMB_USER")
            .env_remove("SMB_PASSWORD")
            .env_remove("KRB5CCNAME")
            .stdin(Stdio::null());
        if let Some(name) = krb5ccname {
            c.env("KRB5CCNAME", name);
        }
        c.output().expect("running smb")
    };

    let out = run(Some(format!("FILE:{}", ccache.display())), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(out.stdout, b"from the cache\n");

    let path = ccache.to_str().expect("a UTF-8 path");
    let out = run(None, &["--ccache", path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(out.stdout, b"from the cache\n");

    let out = run(Some("KEYRING:persistent:0".into()), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("type KEYRING: is not supported"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
