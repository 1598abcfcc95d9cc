//! Kerberos (issue #17) against a private Samba AD DC ([`SambaDc`]).
//!
//! The harness tests prove the fixture with reference tools (MIT's kinit and klist,
//! smbclient), not this project's code; the key test checks our string-to-key and keytab
//! reader against the keys the DC itself stores; the AS tests get tickets from the DC's KDC
//! with our client ([`smb_blocking::kerberos`]) and check them with the KDC's own key and
//! against what kinit gets; the TGS tests get service tickets for the DC's SMB server and
//! open them with the DC's own key; the login tests log our client in to the DC's SMB
//! server with Kerberos (password, keytab), sign and encrypt with the Kerberos session key.

use std::fs;
use std::process::Output;

use smb_blocking::kerberos::{
    request_service_ticket, request_tgt, AsExchange, ClientSecret, Credential, KdcConfig,
    KdcIoError, KdcTransport, KerberosError, Principal, TransportPolicy,
};
use smb_proto::auth::kerberos::asn1::{EncTicketPart, Ticket};
use smb_proto::auth::kerberos::crypto::{string_to_key, Enctype, DEFAULT_ITERATIONS};
use smb_proto::auth::kerberos::keytab::Keytab;
use smb_proto::auth::kerberos::ticket_flags;
use smb_proto::auth::ntlm::nt_hash;
use smb_proto::der::Decode;
use smb_tests::dc::{SambaDc, HOST_NAME, REALM};
use smb_tests::Share;

/// stdout and stderr together: the tools print their errors on either.
fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `klist` of the ccache at `path`: its principal and tickets.
fn klist(dc: &SambaDc, ccache: &std::path::Path) -> String {
    let out = dc
        .krb5_command("klist")
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

#[test]
fn dc_gives_kinit_a_ticket_for_the_right_password_only() {
    let dc = SambaDc::builder().user("alice", "Al1ce-Pass!x").start();
    let principal = dc.principal(dc.user());
    let ccache = dc.kinit(&principal, dc.password());
    let list = klist(&dc, &ccache);
    assert!(
        list.contains(&format!("Default principal: {principal}")),
        "{list}"
    );
    assert!(list.contains(&format!("krbtgt/{REALM}@{REALM}")), "{list}");

    // A user the builder added, with its own password.
    let alice = dc.principal("alice");
    let list = klist(&dc, &dc.kinit(&alice, dc.password_of("alice")));
    assert!(
        list.contains(&format!("Default principal: {alice}")),
        "{list}"
    );

    // The KDC checks the password: kinit with another one gets no ticket.
    let mut wrong = dc
        .krb5_command("kinit")
        .arg(&principal)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(wrong.stdin.take().unwrap(), "Wrong-Pass!1").unwrap();
    }
    let out = wrong.wait_with_output().unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Password incorrect"), "{}", text(&out));
}

#[test]
fn smbclient_logs_in_with_kerberos_only() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    fs::write(dc.share_path("share").join("fixture.txt"), b"hello").unwrap();

    // With a password: smbclient runs AS and TGS itself, through the private krb5.conf.
    let out = dc.smbclient_kerberos("share", "ls");
    assert!(out.status.success(), "{}\n{}", text(&out), dc.log());
    assert!(text(&out).contains("fixture.txt"), "{}", text(&out));

    // With a TGT from kinit: the ccache then holds the service ticket smbclient asked for,
    // so the login was Kerberos (and --use-kerberos=required forbids NTLM anyway).
    let ccache = dc.kinit(&dc.principal(dc.user()), dc.password());
    let out = dc
        .smbclient_command()
        // smbclient 4.17 ignores --use-krb5-ccache unless KRB5CCNAME names the same
        // cache ("Could not find a suitable mechtype"), so both.
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .arg("--use-kerberos=required")
        .arg(format!("--use-krb5-ccache=FILE:{}", ccache.display()))
        .arg(format!("//{HOST_NAME}/share"))
        .args(["-c", "mkdir made-by-kerberos; ls"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", text(&out), dc.log());
    assert!(text(&out).contains("made-by-kerberos"), "{}", text(&out));
    assert!(dc.share_path("share").join("made-by-kerberos").is_dir());
    let list = klist(&dc, &ccache);
    assert!(
        list.contains(&format!("cifs/{HOST_NAME}@{REALM}")),
        "{list}"
    );

    // Kerberos names the server by host name: by address there is no ticket, and smbclient
    // refuses rather than fall back.
    let out = dc
        .smbclient_command()
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .arg("--use-kerberos=required")
        .arg(format!("--use-krb5-ccache=FILE:{}", ccache.display()))
        .arg(format!("//{}/share", dc.address()))
        .args(["-c", "ls"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
}

#[test]
fn dcs_started_side_by_side_are_separate_and_leave_nothing_behind() {
    let one = SambaDc::builder().share(Share::new("share")).start();
    let two = SambaDc::builder().share(Share::new("share")).start();
    assert_ne!(one.address(), two.address());
    assert_ne!(one.conf_path(), two.conf_path());
    fs::write(two.share_path("share").join("only-on-two.txt"), b"2").unwrap();
    let out = one.smbclient_kerberos("share", "ls");
    assert!(out.status.success(), "{}\n{}", text(&out), one.log());
    assert!(!text(&out).contains("only-on-two.txt"), "{}", text(&out));
    let out = two.smbclient_kerberos("share", "ls");
    assert!(out.status.success(), "{}\n{}", text(&out), two.log());
    assert!(text(&out).contains("only-on-two.txt"), "{}", text(&out));

    // Dropping a DC stops samba, its KDC workers, smbd and winbindd, and removes its files.
    let dir = one
        .conf_path()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let processes = one.processes();
    assert!(processes.len() >= 3, "{processes:?}");
    drop(one);
    let alive: Vec<u32> = processes
        .into_iter()
        .filter(|pid| fs::metadata(format!("/proc/{pid}")).is_ok())
        .filter(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            !stat
                .rsplit_once(')')
                .is_none_or(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        })
        .collect();
    assert!(alive.is_empty(), "still running after drop: {alive:?}");
    assert!(!dir.exists(), "{} left behind", dir.display());
    // The other DC is unaffected.
    let out = two.smbclient_kerberos("share", "ls");
    assert!(out.status.success(), "{}\n{}", text(&out), two.log());
}

/// Our string-to-key gives the keys the DC stores for its users, as `samba-tool domain
/// exportkeytab` writes them and our keytab reader reads them: AES with AD's salt (upper-case
/// realm + account name) and 4096 iterations, and RC4 = the NT hash.
#[test]
fn string_to_key_matches_the_keys_samba_exports() {
    let dc = SambaDc::builder().user("alice", "Al1ce-Pass!x").start();
    for user in [dc.user(), "alice"] {
        let password = dc.password_of(user);
        let bytes = fs::read(dc.export_keytab(&dc.principal(user))).unwrap();
        let keytab = Keytab::parse(&bytes).unwrap();
        let etypes: Vec<i32> = keytab.entries().iter().map(|e| e.enctype()).collect();
        assert_eq!(etypes, [18, 17, 23], "{keytab:?}");
        let salt = format!("{REALM}{user}");
        for etype in [Enctype::Aes256, Enctype::Aes128, Enctype::Rc4Hmac] {
            let entry = keytab.find(REALM, &[user], etype).unwrap();
            assert_eq!(entry.principal(), dc.principal(user));
            let ours = string_to_key(etype, password, salt.as_bytes(), DEFAULT_ITERATIONS).unwrap();
            assert_eq!(ours, entry.key().unwrap(), "{user} {etype}");
        }
        let rc4 = keytab.find(REALM, &[user], Enctype::Rc4Hmac).unwrap();
        assert_eq!(rc4.key().unwrap().as_bytes(), nt_hash(password));
        // A wrong password gives other keys.
        let wrong = string_to_key(
            Enctype::Aes256,
            "Wrong-Pass!1",
            salt.as_bytes(),
            DEFAULT_ITERATIONS,
        )
        .unwrap();
        let stored = keytab
            .find(REALM, &[user], Enctype::Aes256)
            .unwrap()
            .key()
            .unwrap();
        assert_ne!(wrong, stored);
    }
}

/// The process [`a_killed_test_process_leaves_no_dc_running`] starts and kills: it starts
/// a DC, says where it is and which processes it runs, and waits. Does nothing unless that
/// test set `SMB_TESTS_DC_HOLDER`.
#[test]
#[ignore = "run by a_killed_test_process_leaves_no_dc_running"]
fn dc_holder() {
    if std::env::var_os("SMB_TESTS_DC_HOLDER").is_none() {
        return;
    }
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let pids: Vec<String> = dc.processes().iter().map(u32::to_string).collect();
    println!(
        "DC_DIR={}",
        dc.conf_path().parent().unwrap().parent().unwrap().display()
    );
    println!("DC_PIDS={}", pids.join(","));
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// A test process killed with SIGKILL runs no destructor: the DC's reaper shell still stops
/// samba, its KDC workers, smbd and winbindd (their own sessions), and removes the directory.
#[test]
fn a_killed_test_process_leaves_no_dc_running() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let mut holder = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "dc_holder", "--ignored", "--nocapture"])
        .env("SMB_TESTS_DC_HOLDER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(holder.stdout.take().unwrap()).lines();
    let mut dir = None;
    let pids: Vec<u32> = loop {
        let line = lines.next().expect("the DC's facts").unwrap();
        if let Some(d) = line.strip_prefix("DC_DIR=") {
            dir = Some(std::path::PathBuf::from(d));
        }
        if let Some(p) = line.strip_prefix("DC_PIDS=") {
            break p.split(',').map(|pid| pid.parse().unwrap()).collect();
        }
    };
    let dir = dir.expect("DC_DIR before DC_PIDS");
    assert!(dir.exists());
    // samba, a KDC worker, smbd and winbindd at least.
    assert!(pids.len() >= 4, "{pids:?}");

    holder.kill().unwrap();
    holder.wait().unwrap();
    let alive = |pid: &u32| {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(alive).collect();
        if left.is_empty() && !dir.exists() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "15 s after the kill, still running: {left:?}; directory left: {}",
            dir.exists()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// [`SambaDc::connect_options`] logs our client in to the DC's SMB server (with NTLM: it
/// asks for no Kerberos) and reaches its shares.
#[test]
fn our_client_reaches_the_dc_with_its_connect_options() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let conn = smb_blocking::Connection::connect(&dc.connect_options())
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    conn.store_file("share", "by-ntlm.txt", &mut &b"hello"[..])
        .unwrap();
    assert_eq!(
        fs::read(dc.share_path("share").join("by-ntlm.txt")).unwrap(),
        b"hello"
    );
}

/// Our client's KDC options for `dc`: its KDC, nothing else.
fn kdc_config(dc: &SambaDc) -> KdcConfig {
    KdcConfig::new().kdc(&dc.kdc_addr().to_string())
}

fn principal_of(dc: &SambaDc, user: &str) -> Principal {
    Principal::parse(&dc.principal(user), None).unwrap()
}

/// The default user's TGT for `secret`, or the test fails with the DC's log.
fn tgt(dc: &SambaDc, secret: ClientSecret, config: &KdcConfig) -> Credential {
    request_tgt(&principal_of(dc, dc.user()), secret, config)
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()))
}

/// The failure of asking for `user`'s TGT with `secret`.
fn refusal(dc: &SambaDc, user: &str, secret: ClientSecret, config: &KdcConfig) -> KerberosError {
    match request_tgt(&principal_of(dc, user), secret, config) {
        Ok(tgt) => panic!("a TGT for {user}: {tgt:?}"),
        Err(smb_blocking::Error::Kerberos(e)) => e,
        Err(e) => panic!("not a Kerberos error: {e}"),
    }
}

/// Opens `tgt`'s ticket with the KDC's own key (krbtgt's, usage 2) and checks it holds
/// the session key our client was given: the ticket is the KDC's, for this session.
fn check_with_the_kdcs_key(dc: &SambaDc, tgt: &Credential) {
    let krbtgt =
        Keytab::parse(&fs::read(dc.export_keytab(&format!("krbtgt@{REALM}"))).unwrap()).unwrap();
    let ticket = Ticket::from_der(&tgt.ticket).unwrap();
    assert_eq!(ticket.der, tgt.ticket);
    let etype = Enctype::from_number(ticket.body.enc_part.etype).unwrap();
    let key = krbtgt
        .find(REALM, &["krbtgt"], etype)
        .unwrap_or_else(|| panic!("no krbtgt key of {etype}: {krbtgt:?}"))
        .key()
        .unwrap();
    let plain = key
        .decrypt(2, ticket.body.enc_part.cipher.as_bytes())
        .expect("the TGT opens with the KDC's key");
    let part = EncTicketPart::from_der(&plain).unwrap().0;
    assert_eq!(
        part.key.keyvalue.as_bytes(),
        tgt.session_key.as_bytes(),
        "the ticket carries our session key"
    );
    assert_eq!(part.key.keytype, tgt.session_key.etype().number());
    assert_eq!(part.flags.0, tgt.flags);
    assert_eq!(
        std::time::UNIX_EPOCH + part.endtime.to_unix_duration(),
        tgt.endtime
    );
    assert_eq!(part.crealm.to_string_lossy(), tgt.client.realm);
    let cname: Vec<String> = part
        .cname
        .name_string
        .iter()
        .map(|c| c.to_string_lossy())
        .collect();
    assert_eq!(cname, tgt.client.name);
}

#[test]
fn our_client_gets_a_tgt_with_a_password_or_a_keytab() {
    let dc = SambaDc::builder().start();
    let client = principal_of(&dc, dc.user());
    let with_password = tgt(&dc, ClientSecret::password(dc.password()), &kdc_config(&dc));
    assert_eq!(with_password.client, client);
    assert_eq!(
        with_password.server.to_string(),
        format!("krbtgt/{REALM}@{REALM}")
    );
    assert_eq!(with_password.session_key.etype(), Enctype::Aes256);
    assert_eq!(with_password.ticket_etype, 18);
    let both = ticket_flags::INITIAL | ticket_flags::PRE_AUTHENT;
    assert_eq!(with_password.flags & both, both, "{with_password:?}");
    let lifetime = with_password
        .endtime
        .duration_since(with_password.starttime)
        .unwrap();
    assert!(lifetime.as_secs().abs_diff(10 * 3600) <= 2, "{lifetime:?}");
    check_with_the_kdcs_key(&dc, &with_password);

    // The realm typed in lower case: the KDC answers with its own spelling, taken as is.
    let lower = Principal::new(dc.user(), &REALM.to_lowercase()).unwrap();
    let canonical = request_tgt(
        &lower,
        ClientSecret::password(dc.password()),
        &kdc_config(&dc),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(canonical.client, client);
    assert_eq!(canonical.server, with_password.server);

    let keytab =
        Keytab::parse(&fs::read(dc.export_keytab(&dc.principal(dc.user()))).unwrap()).unwrap();
    let secret = ClientSecret::from_keytab(&keytab, &client).unwrap();
    let with_keytab = tgt(&dc, secret, &kdc_config(&dc));
    assert_eq!(with_keytab.client, client);
    assert_eq!(with_keytab.server, with_password.server);
    assert_ne!(with_keytab.session_key, with_password.session_key);
    check_with_the_kdcs_key(&dc, &with_keytab);
    // A keytab for someone else has no key for this client.
    let other = ClientSecret::from_keytab(&keytab, &principal_of(&dc, "alice")).unwrap_err();
    assert_eq!(other.kind(), smb_blocking::ErrorKind::InvalidArgument);
}

#[test]
fn the_kdcs_refusals_say_why() {
    let dc = SambaDc::builder().start();
    let config = kdc_config(&dc);
    let wrong = refusal(
        &dc,
        dc.user(),
        ClientSecret::password("Wrong-Pass!1"),
        &config,
    );
    assert!(
        matches!(&wrong, KerberosError::WrongPassword { principal, .. } if *principal == dc.principal(dc.user())),
        "{wrong}"
    );
    assert_eq!(wrong.kind(), smb_blocking::ErrorKind::AuthenticationFailed);

    let unknown = refusal(&dc, "nosuchuser", ClientSecret::password("x"), &config);
    assert_eq!(
        unknown,
        KerberosError::UnknownPrincipal {
            principal: dc.principal("nosuchuser")
        }
    );

    // This machine's clock 900 s ahead: the KDC's error carries its time.
    let skewed = refusal(
        &dc,
        dc.user(),
        ClientSecret::password(dc.password()),
        &kdc_config(&dc).time_offset(900),
    );
    let KerberosError::ClockSkew { kdc_ahead_ms } = skewed else {
        panic!("{skewed}")
    };
    println!("clock skew measured from the KDC's error: {kdc_ahead_ms} ms");
    assert!(
        (kdc_ahead_ms + 900_000).abs() < 3_000,
        "measured {kdc_ahead_ms} ms"
    );
    assert!(
        skewed.to_string().contains("15 min ahead of the KDC's"),
        "{skewed}"
    );
    // Within the KDC's limit, the same offset in the other direction is fine.
    tgt(
        &dc,
        ClientSecret::password(dc.password()),
        &kdc_config(&dc).time_offset(-120),
    );
}

#[test]
fn a_disabled_account_is_unusable() {
    let dc = SambaDc::builder().user("alice", "Al1ce-Pass!x").start();
    let alice = principal_of(&dc, "alice");
    let secret = || ClientSecret::password(dc.password_of("alice"));
    request_tgt(&alice, secret(), &kdc_config(&dc)).unwrap_or_else(|e| panic!("{e}"));
    dc.disable_user("alice");
    let e = refusal(&dc, "alice", secret(), &kdc_config(&dc));
    assert_eq!(
        e,
        KerberosError::AccountUnusable {
            principal: alice.to_string(),
            code: 18
        }
    );
    assert!(e.to_string().contains("disabled or locked out"), "{e}");
    assert_eq!(e.kind(), smb_blocking::ErrorKind::AuthenticationFailed);
}

#[test]
fn a_closed_kdc_port_is_unreachable_and_named() {
    let dc = SambaDc::builder().start();
    // A port nothing listens on, TCP or UDP, on the DC's address.
    let closed = {
        let listener = std::net::TcpListener::bind((dc.address(), 0)).unwrap();
        listener.local_addr().unwrap()
    };
    let config = KdcConfig::new()
        .kdc(&closed.to_string())
        .timeout(std::time::Duration::from_secs(2));
    let started = std::time::Instant::now();
    let e = refusal(
        &dc,
        dc.user(),
        ClientSecret::password(dc.password()),
        &config,
    );
    let KerberosError::KdcUnreachable { realm, tried } = &e else {
        panic!("{e}")
    };
    assert_eq!(realm, REALM);
    let tried: Vec<(KdcTransport, &str, &KdcIoError)> = tried
        .iter()
        .map(|a| (a.transport, a.kdc.as_str(), &a.error))
        .collect();
    let addr = closed.to_string();
    assert_eq!(
        tried,
        [
            (KdcTransport::Tcp, addr.as_str(), &KdcIoError::Refused),
            (KdcTransport::Udp, addr.as_str(), &KdcIoError::Refused)
        ]
    );
    assert!(
        e.to_string()
            .contains(&format!("tcp {addr}: connection refused")),
        "{e}"
    );
    assert_eq!(e.kind(), smb_blocking::ErrorKind::Disconnected);
    // Refused, not waited for.
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn rc4_only_gets_an_rc4_session_from_the_nt_hash() {
    let dc = SambaDc::builder().start();
    let rc4 = kdc_config(&dc).etypes(&[Enctype::Rc4Hmac]);
    let tgt = tgt(&dc, ClientSecret::password(dc.password()), &rc4);
    assert_eq!(tgt.session_key.etype(), Enctype::Rc4Hmac);
    check_with_the_kdcs_key(&dc, &tgt);
    // The keytab's RC4 key (the NT hash) alone does the same.
    let client = principal_of(&dc, dc.user());
    let keytab =
        Keytab::parse(&fs::read(dc.export_keytab(&dc.principal(dc.user()))).unwrap()).unwrap();
    let rc4_key = keytab
        .find(REALM, &[dc.user()], Enctype::Rc4Hmac)
        .unwrap()
        .key()
        .unwrap();
    let tgt = request_tgt(&client, ClientSecret::Keys(vec![rc4_key]), &kdc_config(&dc))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tgt.client, client);
    assert_eq!(tgt.session_key.etype(), Enctype::Rc4Hmac);
    check_with_the_kdcs_key(&dc, &tgt);
}

/// Over UDP the KDC's first answer fits a datagram, its AS-REP (with the PAC) does not:
/// KRB_ERR_RESPONSE_TOO_BIG, and the same request again over TCP; through the blocking
/// driver's sockets and through the async driver's (async-io's, as smol runs them).
#[test]
fn udp_first_falls_back_to_tcp_for_the_big_reply() {
    let dc = SambaDc::builder().start();
    udp_first_over(&dc, smb_blocking::kerberos::send);
    let runtime = smb_asyncstd::runtime();
    udp_first_over(&dc, |request| {
        smol::block_on(smb_async::kerberos::send(&*runtime, request))
    });
}

/// The UDP-first AS exchange with `dc`'s KDC, each attempt made by `send`.
fn udp_first_over(
    dc: &SambaDc,
    send: impl Fn(&smb_proto::auth::kerberos::KdcRequest) -> Result<Vec<u8>, KdcIoError>,
) {
    let config = kdc_config(dc).transport(TransportPolicy::UdpThenTcp);
    let mut exchange = AsExchange::new(
        principal_of(dc, dc.user()),
        ClientSecret::password(dc.password()),
        &config,
        [9; 32],
        std::time::SystemTime::now(),
    );
    let mut sizes = Vec::new();
    let tgt = loop {
        if let Some(result) = exchange.poll_result() {
            break result.unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
        }
        if let Some(request) = exchange.poll_request() {
            let reply = send(&request);
            if let Ok(r) = &reply {
                sizes.push((request.transport, r.len()));
            }
            exchange.handle_reply(reply, std::time::SystemTime::now());
        }
    };
    let attempts: Vec<(KdcTransport, Option<KdcIoError>)> = exchange
        .attempts()
        .iter()
        .map(|a| (a.transport, a.failure.clone()))
        .collect();
    assert_eq!(
        attempts,
        [
            (KdcTransport::Udp, None),
            (KdcTransport::Udp, Some(KdcIoError::ResponseTooBig)),
            (KdcTransport::Tcp, None),
        ],
        "{sizes:?}"
    );
    println!("replies (transport, bytes): {sizes:?}");
    // The AS-REP that came over TCP is more than a datagram may carry here.
    let (_, as_rep) = sizes.last().unwrap();
    assert!(*as_rep > 1400, "{sizes:?}");
    check_with_the_kdcs_key(dc, &tgt);
}

/// `klist -e -f` of a ccache: (valid starting, expires) in seconds since 1970, the flag
/// letters, and the "Etype (skey, tkt)" names, for the krbtgt ticket.
fn klist_tgt(dc: &SambaDc, ccache: &std::path::Path) -> ((u64, u64), String, String) {
    let out = dc
        .krb5_command("klist")
        .args(["-e", "-f"])
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .output()
        .unwrap();
    let list = text(&out);
    let mut lines = list
        .lines()
        .skip_while(|l| !l.contains(&format!("krbtgt/{REALM}@")));
    let times: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let flags = lines
        .next()
        .unwrap()
        .rsplit_once("Flags: ")
        .unwrap()
        .1
        .trim()
        .to_string();
    let etypes = lines
        .next()
        .unwrap()
        .split_once(": ")
        .unwrap()
        .1
        .trim()
        .to_string();
    let at = |date: &str, time: &str| {
        // MM/DD/YY HH:MM:SS, the C locale's.
        let d: Vec<i64> = date.split('/').map(|x| x.parse().unwrap()).collect();
        let t: Vec<u64> = time.split(':').map(|x| x.parse().unwrap()).collect();
        let (y, m, day) = (2000 + d[2], d[0], d[1]);
        // Days from 1970-01-01 (H. Hinnant's days_from_civil).
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = (era * 146_097 + doe - 719_468) as u64;
        days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]
    };
    (
        (at(times[0], times[1]), at(times[2], times[3])),
        flags,
        etypes,
    )
}

/// What our TGT says matches what MIT's kinit stores for the same user from the same KDC:
/// the lifetime, the session key's and the ticket's encryption types, and the flags kinit
/// got (ours add forwardable, which we ask for and kinit by default does not).
#[test]
fn our_tgt_matches_what_kinit_gets() {
    let dc = SambaDc::builder().start();
    let ccache = dc.kinit(&dc.principal(dc.user()), dc.password());
    let ((start, end), kinit_flags, kinit_etypes) = klist_tgt(&dc, &ccache);
    let ours = tgt(&dc, ClientSecret::password(dc.password()), &kdc_config(&dc));
    let secs =
        |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(
        (secs(ours.endtime) - secs(ours.starttime)).abs_diff(end - start) <= 2,
        "ours {ours:?}, kinit's {start}..{end}"
    );
    // The same clock: the tickets were issued within seconds of each other.
    assert!(
        secs(ours.starttime).abs_diff(start) < 60,
        "{ours:?} {start}"
    );
    let ticket_etype = Enctype::from_number(ours.ticket_etype).unwrap();
    assert_eq!(
        kinit_etypes,
        format!("{}, {ticket_etype}", ours.session_key.etype())
    );
    let letters: String = [
        (ticket_flags::FORWARDABLE, 'F'),
        (ticket_flags::RENEWABLE, 'R'),
        (ticket_flags::INITIAL, 'I'),
        (ticket_flags::PRE_AUTHENT, 'A'),
    ]
    .iter()
    .filter(|(bit, _)| ours.flags & bit != 0)
    .map(|(_, letter)| *letter)
    .collect();
    for letter in kinit_flags.chars() {
        assert!(
            letters.contains(letter),
            "ours {letters}, kinit's {kinit_flags}"
        );
    }
}

/// A service ticket for the DC's SMB server (`cifs/dc.smbtest.test`), from our TGT: the
/// KDC's reply opens with the TGT's session key, and the ticket with the DC's own key
/// (`DC$`, usage 2), holding the session key our client was given, for our client.
#[test]
fn our_client_gets_a_service_ticket_for_the_dcs_smb_server() {
    let dc = SambaDc::builder().start();
    let config = kdc_config(&dc);
    let tgt = tgt(&dc, ClientSecret::password(dc.password()), &config);
    let service = Principal::cifs(HOST_NAME, REALM).unwrap();
    let ticket = request_service_ticket(&tgt, &service, &config)
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    println!("service ticket: {ticket:?}");
    assert_eq!(ticket.client, tgt.client);
    assert_eq!(
        ticket.server.to_string(),
        format!("cifs/{HOST_NAME}@{REALM}")
    );
    assert_ne!(ticket.session_key, tgt.session_key);
    assert_ne!(ticket.ticket, tgt.ticket);
    assert!(ticket.endtime <= tgt.endtime && ticket.endtime > std::time::SystemTime::now());

    let dc_keys =
        Keytab::parse(&fs::read(dc.export_keytab(&format!("DC$@{REALM}"))).unwrap()).unwrap();
    let sealed = Ticket::from_der(&ticket.ticket).unwrap();
    let etype = Enctype::from_number(sealed.body.enc_part.etype).unwrap();
    let key = dc_keys
        .find(REALM, &["DC$"], etype)
        .unwrap_or_else(|| panic!("no DC$ key of {etype}: {dc_keys:?}"))
        .key()
        .unwrap();
    let plain = key
        .decrypt(2, sealed.body.enc_part.cipher.as_bytes())
        .expect("the service ticket opens with the DC's key");
    let part = EncTicketPart::from_der(&plain).unwrap().0;
    assert_eq!(part.key.keyvalue.as_bytes(), ticket.session_key.as_bytes());
    assert_eq!(part.key.keytype, ticket.session_key.etype().number());
    assert_eq!(part.flags.0, ticket.flags);
    let cname: Vec<String> = part
        .cname
        .name_string
        .iter()
        .map(|c| c.to_string_lossy())
        .collect();
    assert_eq!(cname, [dc.user()]);
}

/// A host name the domain does not know gets no service ticket, and the error names the
/// service asked for; an address is refused before any KDC traffic.
#[test]
fn an_unknown_host_gets_no_service_ticket() {
    let dc = SambaDc::builder().start();
    let config = kdc_config(&dc);
    let tgt = tgt(&dc, ClientSecret::password(dc.password()), &config);
    let unknown = Principal::cifs("nosuch.smbtest.test", REALM).unwrap();
    let e = match request_service_ticket(&tgt, &unknown, &config) {
        Ok(t) => panic!("a ticket for an unknown host: {t:?}"),
        Err(smb_blocking::Error::Kerberos(e)) => e,
        Err(e) => panic!("not a Kerberos error: {e}"),
    };
    println!("{e}");
    assert_eq!(
        e,
        KerberosError::NoServiceTicket {
            spn: format!("cifs/nosuch.smbtest.test@{REALM}"),
            code: 7
        }
    );
    let ip = dc.address().to_string();
    let e = Principal::cifs(&ip, REALM).unwrap_err();
    assert_eq!(e, KerberosError::HostIsAnIp { ip });
}

/// Connect options for a Kerberos login to `dc` as its default user (`user@REALM`, by
/// password), the server named `dc.smbtest.test` and reached at its address.
fn kerberos_options(dc: &SambaDc) -> smb_blocking::ConnectOptions {
    // These tests are about Kerberos itself: no NTLM fallback hides its failures.
    let mut o = dc
        .connect_options()
        .kerberos(smb_blocking::KerberosOptions::kdc(&dc.kdc_addr().to_string()).required());
    o.user = dc.principal(dc.user());
    o
}

/// Stores `content` as `name` on the share, checks it arrived in the share's directory
/// and reads it back.
fn file_round_trip(dc: &SambaDc, conn: &smb_blocking::Connection, name: &str, content: &[u8]) {
    conn.store_file("share", name, &mut &content[..])
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert_eq!(
        fs::read(dc.share_path("share").join(name)).unwrap(),
        content
    );
    let mut back = Vec::new();
    conn.retrieve_file("share", name, &mut back).unwrap();
    assert_eq!(back, content);
}

/// A Kerberos login by password, then by keytab (no password at all), on SMB 3.1.1: the
/// session signs with keys from the AP-REP's subkey (the server's signed SESSION_SETUP
/// answer verified with them), and files go to the share and back.
#[test]
fn our_client_logs_in_with_kerberos_by_password_or_keytab() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let conn = smb_blocking::Connection::connect(&kerberos_options(&dc))
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert_eq!(conn.negotiated().dialect, smb_proto::Dialect::Smb311);
    assert!(conn.is_signing());
    assert!(!conn.is_guest());
    file_round_trip(&dc, &conn, "by-password.txt", b"kerberos, password");
    drop(conn);

    let keytab = dc.export_keytab(&dc.principal(dc.user()));
    let mut o = kerberos_options(&dc).user(&dc.principal(dc.user()), "");
    if let Some(k) = o.kerberos.as_mut() {
        k.keytab = Some(keytab);
    }
    let conn =
        smb_blocking::Connection::connect(&o).unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert!(conn.is_signing());
    file_round_trip(&dc, &conn, "by-keytab.txt", b"kerberos, keytab");
    drop(conn);

    // A password callback is asked once, for the realm and the server's name.
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    let password = dc.password().to_string();
    let o = kerberos_options(&dc).password_callback(&dc.principal(dc.user()), move |p| {
        seen.lock()
            .unwrap()
            .push((p.server.clone(), p.domain.clone()));
        Some(password.clone())
    });
    let conn =
        smb_blocking::Connection::connect(&o).unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    file_round_trip(&dc, &conn, "by-callback.txt", b"kerberos, callback");
    assert_eq!(
        *asked.lock().unwrap(),
        [(HOST_NAME.to_string(), REALM.to_string())]
    );
}

/// The server forces AES-256-GCM: its keys come from the whole 32-byte AES-256 subkey
/// (MS-SMB2 Session.FullSessionKey); a key cut to 16 bytes would make every encrypted
/// message undecryptable.
#[test]
fn kerberos_keys_encrypt_with_aes_256_gcm() {
    let dc = SambaDc::builder()
        .share(Share::new("share"))
        .global("server smb3 encryption algorithms", "AES-256-GCM")
        .global("smb encrypt", "required")
        .start();
    let conn = smb_blocking::Connection::connect(&kerberos_options(&dc))
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert_eq!(
        conn.negotiated().cipher,
        Some(smb_proto::crypto::encryption::Cipher::Aes256Gcm)
    );
    assert!(conn.is_encrypting());
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    file_round_trip(&dc, &conn, "encrypted.bin", &content);
}

/// With Kerberos asked for, a wrong password is the KDC's refusal, not an NTLM attempt;
/// a server named only by its address cannot get a ticket.
#[test]
fn kerberos_failures_are_kerberos_errors() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let o = kerberos_options(&dc).user(&dc.principal(dc.user()), "Wr0ng-Pass!x");
    match smb_blocking::Connection::connect(&o) {
        Err(smb_blocking::Error::Kerberos(KerberosError::WrongPassword { principal, .. })) => {
            assert_eq!(principal, dc.principal(dc.user()))
        }
        Err(e) => panic!("not the KDC's refusal: {e}"),
        Ok(_) => panic!("logged in with a wrong password"),
    }
    // A host name the domain does not know: the KDC has no service for it.
    let mut o = kerberos_options(&dc);
    o.server_name = Some("nosuch.smbtest.test".into());
    match smb_blocking::Connection::connect(&o) {
        Err(smb_blocking::Error::Kerberos(KerberosError::NoServiceTicket { spn, .. })) => {
            assert_eq!(spn, format!("cifs/nosuch.smbtest.test@{REALM}"))
        }
        Err(e) => panic!("not NoServiceTicket: {e}"),
        Ok(_) => panic!("logged in to an unknown host"),
    }
    let mut o = kerberos_options(&dc);
    o.server_name = None;
    match smb_blocking::Connection::connect(&o) {
        Err(smb_blocking::Error::Kerberos(KerberosError::HostIsAnIp { ip })) => {
            assert_eq!(ip, dc.address().to_string())
        }
        Err(e) => panic!("not HostIsAnIp: {e}"),
        Ok(_) => panic!("logged in with a ticket for an address"),
    }
}

/// On SMB 2.1 the session signs with HMAC-SHA256 keyed by the first 16 bytes of the
/// 32-byte subkey (MS-SMB2 Session.SessionKey): the server's signed SESSION_SETUP answer
/// verifies, and signed requests work.
#[test]
fn kerberos_signs_on_smb_2_1() {
    let dc = SambaDc::builder()
        .share(Share::new("share"))
        .max_dialect("SMB2_10")
        .global("server signing", "mandatory")
        .start();
    let conn = smb_blocking::Connection::connect(&kerberos_options(&dc))
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert_eq!(conn.negotiated().dialect, smb_proto::Dialect::Smb210);
    assert!(conn.is_signing());
    file_round_trip(&dc, &conn, "smb21.txt", b"signed with HMAC-SHA256");
}

/// The async drivers log in with Kerberos too (the KDC over the runtime's sockets):
/// tokio, by password, signing on SMB 3.1.1, with a file round trip.
#[test]
fn tokio_logs_in_with_kerberos() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let back = rt.block_on(async {
        let client = smb_tokio::Client::connect(&kerberos_options(&dc))
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
        assert_eq!(client.negotiated().dialect, smb_proto::Dialect::Smb311);
        assert!(client.is_signing());
        client
            .store_file("share", "by-tokio.txt", &mut &b"kerberos, tokio"[..])
            .await
            .unwrap();
        client
            .retrieve_file_to_vec("share", "by-tokio.txt")
            .await
            .unwrap()
    });
    assert_eq!(back, b"kerberos, tokio");
    assert_eq!(
        fs::read(dc.share_path("share").join("by-tokio.txt")).unwrap(),
        b"kerberos, tokio"
    );
    // A wrong password: the KDC's refusal, through the runtime's sockets.
    let o = kerberos_options(&dc).user(&dc.principal(dc.user()), "Wr0ng-Pass!x");
    match rt.block_on(smb_tokio::Client::connect(&o)) {
        Err(smb_blocking::Error::Kerberos(KerberosError::WrongPassword { .. })) => {}
        Err(e) => panic!("not the KDC's refusal: {e}"),
        Ok(_) => panic!("logged in with a wrong password"),
    }
}

/// The same on async-std/smol: the KDC over async-io's sockets, by password, then a file
/// round trip.
#[test]
fn smol_logs_in_with_kerberos() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let o = kerberos_options(&dc);
    let back = smol::block_on(async {
        let client = smb_asyncstd::connect(&o)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
        assert!(client.is_signing());
        client
            .store_file("share", "by-smol.txt", &mut &b"kerberos, smol"[..])
            .await
            .unwrap();
        client
            .retrieve_file_to_vec("share", "by-smol.txt")
            .await
            .unwrap()
    });
    assert_eq!(back, b"kerberos, smol");
    assert_eq!(
        fs::read(dc.share_path("share").join("by-smol.txt")).unwrap(),
        b"kerberos, smol"
    );
}

/// A Kerberos connection cut in the middle of a download is made again with new tickets
/// (a Kerberos session keeps no password for NTLM to reuse), and the download resumes
/// byte-identical, in the blocking and the tokio client.
#[test]
fn a_kerberos_connection_cut_mid_download_logs_in_again_with_kerberos() {
    use smb_tests::fault::{Direction, Fault, FaultProxy};
    use std::time::Duration;
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let want: Vec<u8> = (0..6_000_000u32).map(|i| (i % 253) as u8).collect();
    fs::write(dc.share_path("share").join("big.bin"), &want).unwrap();
    let cut = Fault::Cut(Direction::ToClient, 2 * 1024 * 1024);
    let options = |proxy: &FaultProxy| {
        let mut o = kerberos_options(&dc);
        o.host = "127.0.0.1".into();
        o.port = proxy.port();
        o.timeout = Duration::from_secs(5);
        o
    };

    let proxy = FaultProxy::start_first(dc.smb_addr(), cut, 1);
    let conn = smb_blocking::Connection::connect(&options(&proxy))
        .unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    let mut got = Vec::new();
    conn.retrieve_file("share", "big.bin", &mut got)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(conn.reconnects(), 1);
    assert!(got == want, "the resumed download differs");
    assert!(conn.is_signing());

    let proxy = FaultProxy::start_first(dc.smb_addr(), cut, 1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (got, reconnects) = rt.block_on(async {
        let client = smb_tokio::Client::connect(&options(&proxy))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let got = client
            .retrieve_file_to_vec("share", "big.bin")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (got, client.reconnects())
    });
    assert_eq!(reconnects, 1);
    assert!(got == want, "the resumed async download differs");
}
