//! `smb dissect` over the recorded smbclient ↔ Samba captures in
//! `smb-proto/tests/data/captures` (see its README: password `Passw0rd!`, port 4455), and
//! over captures this file records itself with tshark: smbclient (and our own client for
//! NetBIOS framing) against a private Samba, for each cipher, signing algorithm and
//! dialect.
//!
//! Every signature must verify and every encrypted message decrypt; a wrong password, a
//! flipped bit or a lost segment must fail.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pcap_parser::Linktype;
use smb_blocking::Connection;
use smb_cli::dissect::pcap::tcp_segment;
use smb_cli::dissect::{dissect, Direction, Message, Options, Record, Summary, Verdict};
use smb_proto::auth::ntlm::{
    self, session_key_from_authenticate, AuthenticateMessage, Credentials,
};
use smb_proto::auth::spnego::{
    neg_token_init, neg_token_resp, parse_neg_token_init, parse_neg_token_resp, OID_NTLMSSP,
};
use smb_proto::wire::session_setup::{SessionSetupRequest, SessionSetupResponse};
use smb_proto::wire::Command as SmbCommand;
use smb_proto::NtStatus;
use smb_tests::fixtures::data;
use smb_tests::{SambaServer, Share};

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../smb-proto/tests/data/captures"
);
/// The recorded captures' password and server port (their README).
const PASSWORD: &str = "Passw0rd!";
const PORT: &str = "4455";

fn capture_path(name: &str) -> PathBuf {
    Path::new(CAPTURES).join(format!("{name}.pcapng"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn options(password: Option<&str>, port: u16) -> Options {
    let mut o = Options::default();
    o.ports.push(port);
    o.credentials = password.map(|p| Credentials::password("", "", p));
    o
}

/// Dissects a capture held in memory, keeping every record.
fn run(capture: &[u8], opts: &Options) -> (Summary, Vec<Record>) {
    let mut records = Vec::new();
    let summary = dissect(capture, opts, |r| records.push(r.clone())).expect("a readable capture");
    assert_eq!(
        summary.messages,
        summary.signed_ok + summary.decrypted_ok + summary.unsigned + summary.failed
    );
    (summary, records)
}

fn messages(records: &[Record]) -> impl Iterator<Item = &Message> {
    records.iter().filter_map(|r| match r {
        Record::Message(m) => Some(m),
        _ => None,
    })
}

/// The failed lines, for assertion messages.
fn failures(records: &[Record]) -> String {
    records
        .iter()
        .filter(|r| match r {
            Record::Message(m) => matches!(m.verdict, Verdict::Failed(_)),
            Record::Smb1(m) => matches!(m.verdict, Verdict::Failed(_)),
            Record::Failure { .. } => true,
            Record::Note { .. } => false,
        })
        .map(|r| format!("{r}\n"))
        .collect()
}

/// What the NEGOTIATE response settled, as the dissector prints it.
fn negotiated(records: &[Record]) -> String {
    messages(records)
        .find(|m| m.header.command == SmbCommand::Negotiate as u16 && m.header.is_response())
        .and_then(|m| m.name.clone())
        .expect("a NEGOTIATE response")
}

// ---------------------------------------------------------------------------------------
// Recorded captures.

/// What one recorded capture shows. The counts were cross-checked with an independent
/// reassembly (a script over `tshark -T fields -e tcp.srcport -e tcp.seq_raw -e
/// tcp.payload`); tshark's own SMB2 dissection undercounts because it skips requests
/// that begin inside a TCP segment of these loopback captures.
struct Expect {
    negotiated: &'static str,
    /// Messages outside transform messages (compound elements counted singly).
    plain: usize,
    /// Messages with SMB2_FLAGS_SIGNED, all of which must verify.
    signed: usize,
    /// Transform messages.
    transforms: usize,
}

fn check_recorded(name: &str, expect: Expect) {
    let file = read(&capture_path(name));
    let (s, records) = run(&file, &options(Some(PASSWORD), 4455));
    assert_eq!(s.failed, 0, "{name}:\n{}", failures(&records));
    assert_eq!(negotiated(&records), expect.negotiated, "{name}");
    assert_eq!(s.signed_ok, expect.signed, "{name}: {s:?}");
    assert_eq!(s.messages - s.decrypted_ok, expect.plain, "{name}: {s:?}");
    assert_eq!(s.transforms, expect.transforms, "{name}: {s:?}");
    assert!(s.decrypted_ok >= s.transforms, "{name}: {s:?}");
    check_spnego(&records);
    flipped_bits_fail(name, &file, &records);

    // Without the password, nothing signed or encrypted passes.
    let (s, records) = run(&file, &options(Some("not the password"), 4455));
    assert_eq!(s.failed, expect.signed + expect.transforms, "{name}: {s:?}");
    assert!(failures(&records).contains("wrong password for WORKGROUP\\testuser"));
}

#[test]
fn smb311_default() {
    check_recorded(
        "smb311_default",
        Expect {
            negotiated: "dialect=3.1.1,signing=AES-128-GMAC,cipher=AES-128-GCM",
            plain: 128,
            signed: 5,
            transforms: 0,
        },
    );
}

#[test]
fn smb311_sign_cmac() {
    check_recorded(
        "smb311_sign_cmac",
        Expect {
            negotiated: "dialect=3.1.1,signing=AES-128-CMAC,cipher=AES-128-GCM",
            plain: 128,
            signed: 123,
            transforms: 0,
        },
    );
}

#[test]
fn smb210_sign() {
    check_recorded(
        "smb210_sign",
        Expect {
            negotiated: "dialect=2.1,signing=HMAC-SHA256",
            plain: 133,
            signed: 127,
            transforms: 0,
        },
    );
}

#[test]
fn smb311_enc_aes128gcm() {
    check_recorded(
        "smb311_enc_aes128gcm",
        Expect {
            negotiated: "dialect=3.1.1,signing=AES-128-GMAC,cipher=AES-128-GCM",
            plain: 6,
            signed: 1,
            transforms: 122,
        },
    );
}

#[test]
fn guest_and_share_list_captures() {
    // The guest session has no key: unsigned is all it can be, with or without a password.
    let (s, records) = run(&read(&capture_path("smb311_guest")), &options(None, 4455));
    assert_eq!((s.failed, s.signed_ok), (0, 0), "{}", failures(&records));
    assert!(s.unsigned > 20, "{s:?}");
    assert!(messages(&records).any(|m| m.name.as_deref() == Some("WORKGROUP\\root(guest)")));

    // smbclient -L: SRVSVC over IOCTL on \PIPE\srvsvc, with an interim response.
    let (s, records) = run(
        &read(&capture_path("smb311_share_list")),
        &options(Some(PASSWORD), 4455),
    );
    assert_eq!(s.failed, 0, "{}", failures(&records));
    assert_eq!(s.signed_ok, 3);
    let pipe_ioctls = messages(&records)
        .filter(|m| {
            m.header.command == SmbCommand::Ioctl as u16 && m.name.as_deref() == Some("srvsvc")
        })
        .count();
    assert_eq!(
        pipe_ioctls, 5,
        "request, interim, response, request, response"
    );
}

/// The SPNEGO layer of the real exchange: our NegTokenInit and NegTokenResp encodings
/// match smbclient's byte for byte, and both mechListMICs verify with the NTLMSSP keys.
fn check_spnego(records: &[Record]) {
    let setups: Vec<&Message> = messages(records)
        .filter(|m| m.header.command == SmbCommand::SessionSetup as u16)
        .collect();
    let requests: Vec<_> = setups
        .iter()
        .filter(|m| !m.header.is_response())
        .map(|m| {
            SessionSetupRequest::decode(&m.bytes)
                .unwrap()
                .security_buffer
        })
        .collect();
    let responses: Vec<_> = setups
        .iter()
        .filter(|m| m.header.is_response())
        .map(|m| {
            (
                NtStatus(m.header.status),
                SessionSetupResponse::decode(&m.bytes).unwrap(),
            )
        })
        .collect();
    let init = &requests[0];
    assert_eq!(
        parse_neg_token_init(init).unwrap(),
        vec![OID_NTLMSSP.to_vec()]
    );
    let at = init.windows(8).position(|w| w == b"NTLMSSP\0").unwrap();
    let (rebuilt, mech_types) = neg_token_init(&init[at..]);
    assert_eq!(&rebuilt[..], &init[..]);

    let challenge = parse_neg_token_resp(&responses[0].1.security_buffer)
        .unwrap()
        .response_token
        .expect("CHALLENGE");
    let final_token = requests.last().unwrap();
    let client_final = parse_neg_token_resp(final_token).unwrap();
    let auth = client_final
        .response_token
        .as_deref()
        .expect("AUTHENTICATE");
    let creds = Credentials::password("", "", PASSWORD);
    let key = session_key_from_authenticate(&creds, &challenge, auth).unwrap();
    let flags = AuthenticateMessage::parse(auth).unwrap().negotiate_flags;
    let mut sec = ntlm::SessionSecurity::new(&key, flags).unwrap();
    assert_eq!(
        sec.mac(ntlm::Direction::ClientToServer, &mech_types)
            .to_vec(),
        client_final.mech_list_mic.clone().unwrap()
    );
    let (status, last) = responses.last().unwrap();
    assert_eq!(*status, NtStatus::SUCCESS);
    let server_final = parse_neg_token_resp(&last.security_buffer).unwrap();
    assert_eq!(server_final.neg_state, Some(0));
    assert_eq!(
        sec.mac(ntlm::Direction::ServerToClient, &mech_types)
            .to_vec(),
        server_final.mech_list_mic.unwrap()
    );
    assert_eq!(
        neg_token_resp(auth, client_final.mech_list_mic.as_deref()),
        &final_token[..]
    );
}

// ---------------------------------------------------------------------------------------
// Editing captures: pcapng blocks (little-endian, as tshark writes them here).

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

const EPB: usize = 6;

/// The blocks of a pcapng file as (type, byte range).
fn blocks(file: &[u8]) -> Vec<(usize, Range<usize>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < file.len() {
        let len = le32(file, at + 4);
        out.push((le32(file, at), at..at + len));
        at += len;
    }
    out
}

/// The packet bytes of each Enhanced Packet Block, in file order (frame n is index n-1).
fn packets(file: &[u8]) -> Vec<Range<usize>> {
    blocks(file)
        .into_iter()
        .filter(|(ty, _)| *ty == EPB)
        .map(|(_, r)| r.start + 28..r.start + 28 + le32(file, r.start + 20))
        .collect()
}

/// One bit flipped anywhere in a signed message — header, signature or body — or in
/// the last byte of an encrypted one, and the capture fails.
fn flipped_bits_fail(name: &str, file: &[u8], records: &[Record]) {
    let packets = packets(file);
    let mut targets = Vec::new();
    if let Some(signed) = messages(records).find(|m| m.verdict == Verdict::SignedOk) {
        let packet = packets[signed.place.frame as usize - 1].clone();
        let start = packet.start
            + file[packet.clone()]
                .windows(signed.bytes.len())
                .position(|w| w == &signed.bytes[..])
                .expect("a small signed message lies in one packet");
        let len = signed.bytes.len();
        targets.extend([5, 30, 50, 64, len - 1].map(|at| start + at));
    }
    if let Some(m) = messages(records).find(|m| m.verdict == Verdict::DecryptedOk) {
        targets.push(packets[m.place.frame as usize - 1].end - 1);
    }
    assert!(!targets.is_empty());
    for at in targets {
        let mut bad = file.to_vec();
        bad[at] ^= 0x01;
        let (s, _) = run(&bad, &options(Some(PASSWORD), 4455));
        assert!(s.failed > 0, "{name}: flip at file byte {at} still passes");
    }
}

fn write_pcapng(file: &[u8], packet_blocks: impl IntoIterator<Item = Range<usize>>) -> Vec<u8> {
    let all = blocks(file);
    let mut out = Vec::new();
    for (_, r) in all.iter().filter(|(ty, _)| *ty != EPB) {
        out.extend_from_slice(&file[r.clone()]);
    }
    for r in packet_blocks {
        out.extend_from_slice(&file[r]);
    }
    out
}

#[test]
fn reordered_and_retransmitted_segments_change_nothing() {
    let file = read(&capture_path("smb311_sign_cmac"));
    let (expected, _) = run(&file, &options(Some(PASSWORD), 4455));
    let epbs: Vec<Range<usize>> = blocks(&file)
        .into_iter()
        .filter(|(ty, _)| *ty == EPB)
        .map(|(_, r)| r)
        .collect();
    let segment = |r: &Range<usize>| {
        let data = &file[r.start + 28..r.start + 28 + le32(&file, r.start + 20)];
        let s = tcp_segment(Linktype::ETHERNET, data).expect("TCP");
        (s.src, s.payload.is_empty() && !s.syn)
    };
    // Without the pure ACKs, reverse every run of segments sent the same way (so no
    // response overtakes its request), and send every third segment twice.
    let mut runs: Vec<Vec<Range<usize>>> = Vec::new();
    for r in epbs.into_iter().filter(|r| !segment(r).1) {
        match runs.last_mut() {
            Some(run) if segment(&run[0]).0 == segment(&r).0 => run.push(r),
            _ => runs.push(vec![r]),
        }
    }
    assert!(
        runs.iter().filter(|r| r.len() > 3).count() >= 2,
        "long runs to reverse"
    );
    let order = runs
        .into_iter()
        .flat_map(|run| run.into_iter().rev())
        .enumerate()
        .flat_map(|(i, r)| {
            let copies = if i % 3 == 0 { 2 } else { 1 };
            std::iter::repeat_n(r, copies)
        });
    let (s, records) = run(&write_pcapng(&file, order), &options(Some(PASSWORD), 4455));
    assert_eq!(s, expected, "{}", failures(&records));
}

#[test]
fn lost_segment_fails() {
    let file = read(&capture_path("smb311_sign_cmac"));
    let epbs: Vec<Range<usize>> = blocks(&file)
        .into_iter()
        .filter(|(ty, _)| *ty == EPB)
        .map(|(_, r)| r)
        .collect();
    // Drop the 40th packet that carries data.
    let lost = epbs
        .iter()
        .filter(|r| {
            let data = &file[r.start + 28..r.start + 28 + le32(&file, r.start + 20)];
            tcp_segment(Linktype::ETHERNET, data).is_some_and(|s| !s.payload.is_empty())
        })
        .nth(40)
        .unwrap()
        .clone();
    let kept = epbs.into_iter().filter(|r| *r != lost);
    let (s, records) = run(&write_pcapng(&file, kept), &options(Some(PASSWORD), 4455));
    assert!(s.failed > 0, "{s:?}");
    assert!(
        failures(&records).contains("the capture lacks bytes"),
        "{}",
        failures(&records)
    );
}

/// The same packets as legacy pcap with link type `link`, each frame rewritten from
/// Ethernet by `relink`.
fn to_pcap(file: &[u8], link: u32, relink: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, link] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for r in packets(file) {
        let frame = relink(&file[r]);
        let len = (frame.len() as u32).to_le_bytes();
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&len);
        out.extend_from_slice(&len);
        out.extend_from_slice(&frame);
    }
    out
}

#[test]
fn legacy_pcap_cooked_and_raw_link_types() {
    let file = read(&capture_path("smb311_enc_aes128gcm"));
    let (expected, _) = run(&file, &options(Some(PASSWORD), 4455));
    let ip = |f: &[u8]| f[14..].to_vec();
    let sll = |f: &[u8]| {
        // Linux cooked v1: packet type, ARPHRD_LOOPBACK, address length and address,
        // then the EtherType.
        let mut h = vec![0, 0, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
        h.extend_from_slice(&f[12..]);
        h
    };
    let null = |f: &[u8]| [&2u32.to_le_bytes()[..], &f[14..]].concat();
    for (link, pcap) in [
        (1, to_pcap(&file, 1, |f| f.to_vec())),
        (101, to_pcap(&file, 101, ip)),
        (113, to_pcap(&file, 113, sll)),
        (0, to_pcap(&file, 0, null)),
    ] {
        let (s, records) = run(&pcap, &options(Some(PASSWORD), 4455));
        assert_eq!(s, expected, "link type {link}: {}", failures(&records));
    }
}

// ---------------------------------------------------------------------------------------
// The `smb` binary.

fn smb_dissect(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smb"))
        .arg("dissect")
        .args(args)
        .env_remove("SMB_PASSWORD")
        .output()
        .expect("running smb dissect")
}

/// The counts of the summary line, the last line of stdout.
fn summary_line(out: &Output) -> Vec<usize> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let counts: Vec<usize> = last
        .split(", ")
        .filter_map(|part| part.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(counts.len(), 5, "summary line: {last:?}");
    counts
}

#[test]
fn binary_passes_every_recorded_capture() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(CAPTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcapng"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    for path in &files {
        let path = path.to_str().unwrap();
        let out = smb_dissect(&[
            "--user",
            "testuser",
            "--password",
            PASSWORD,
            "--port",
            PORT,
            path,
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{path}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let [messages, signed, decrypted, unsigned, failed] = summary_line(&out)[..] else {
            unreachable!()
        };
        assert!(messages > 0 && failed == 0, "{path}: {stdout}");
        if path.contains("guest") {
            assert_eq!(unsigned, messages, "{path}");
        } else {
            assert!(signed + decrypted > 0, "{path}");
        }
        if path.contains("share_list") {
            assert!(
                stdout.contains("IOCTL") && stdout.contains("srvsvc"),
                "{stdout}"
            );
        }
    }

    // Several files at once, the password from the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_smb"))
        .args(["dissect", "--port", PORT])
        .args(&files)
        .env("SMB_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches(" failed\n").count(), files.len());
    assert!(!stdout.contains(PASSWORD));
}

#[test]
fn binary_fails_on_wrong_password_corruption_and_no_traffic() {
    for name in [
        "smb311_default",
        "smb311_sign_cmac",
        "smb210_sign",
        "smb311_enc_aes128gcm",
    ] {
        let path = capture_path(name);
        let out = smb_dissect(&[
            "--password",
            "Passw0rd?",
            "--port",
            PORT,
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("wrong password"), "{name}: {stdout}");
        assert!(!stdout.contains("Passw0rd?"));
    }

    // One bit flipped inside the payload of a signed message, in a copy of the file.
    let file = read(&capture_path("smb311_sign_cmac"));
    let (_, records) = run(&file, &options(Some(PASSWORD), 4455));
    let write = messages(&records)
        .find(|m| {
            m.header.command == SmbCommand::Write as u16
                && !m.header.is_response()
                && m.verdict == Verdict::SignedOk
        })
        .expect("a signed WRITE");
    let packet = packets(&file)[write.place.frame as usize - 1].clone();
    let mut bad = file.clone();
    bad[packet.end - 100] ^= 0x10;
    let dir = std::env::temp_dir().join(format!("smb-dissect-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let corrupt = dir.join("corrupt.pcapng");
    std::fs::write(&corrupt, &bad).unwrap();
    let out = smb_dissect(&[
        "--password",
        PASSWORD,
        "--port",
        PORT,
        corrupt.to_str().unwrap(),
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("signature does not verify"), "{stdout}");
    assert_eq!(
        summary_line(&out)[4],
        1,
        "exactly the corrupted WRITE fails"
    );

    // Without --port 4455 the captures hold no SMB traffic: that is a failure too.
    let out = smb_dissect(&[
        "--password",
        PASSWORD,
        capture_path("smb311_default").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no SMB traffic"));

    // Usage errors.
    assert_eq!(smb_dissect(&[]).status.code(), Some(2));
    assert_eq!(
        smb_dissect(&["--nt-hash", "xyz", "f"]).status.code(),
        Some(2)
    );
    let out = smb_dissect(&["/nonexistent.pcapng"]);
    assert_eq!(out.status.code(), Some(1));
}

// ---------------------------------------------------------------------------------------
// Live captures: tshark on loopback while a client talks to a private Samba.

/// `tshark` recording one server port into a pcapng file until stopped.
struct Recording {
    tshark: Option<Child>,
    path: PathBuf,
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

impl Recording {
    /// Starts tshark and returns once it is capturing.
    fn start(port: u16, path: PathBuf) -> Recording {
        let tshark = find_program("tshark").unwrap_or_else(|| {
            panic!("tshark not found: install it with `apt-get install -y tshark`")
        });
        let child = Command::new(tshark)
            .args(["-i", "lo", "-q", "-B", "64", "-f"])
            .arg(format!("tcp port {port}"))
            .arg("-w")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tshark");
        let rec = Recording {
            tshark: Some(child),
            path,
        };
        // dumpcap writes the section and interface blocks once it is capturing.
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::fs::metadata(&rec.path).map_or(true, |m| m.len() < 64) {
            assert!(Instant::now() < deadline, "tshark did not start capturing");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        rec
    }

    /// Stops tshark (SIGINT, so it writes out what it holds) and returns the file.
    fn stop(mut self) -> Vec<u8> {
        // Let the last packets through the capture buffer first.
        std::thread::sleep(Duration::from_millis(300));
        self.interrupt();
        read(&self.path)
    }

    fn interrupt(&mut self) {
        let Some(mut child) = self.tshark.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("tshark did not stop");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.interrupt();
    }
}

/// Records smbclient doing put, ls and get with `client_args` against `srv`, and
/// dissects the capture. Every message must pass.
fn live(srv: &SambaServer, client_args: &[&str]) -> (Summary, Vec<Record>) {
    let dir = srv.conf_path().parent().unwrap().to_path_buf();
    let (local, back) = (dir.join("local.bin"), dir.join("back.bin"));
    let content = data(70_001, 1);
    std::fs::write(&local, &content).unwrap();
    let rec = Recording::start(srv.port(), dir.join("live.pcapng"));
    let out = srv
        .smbclient_command()
        .arg("-U")
        .arg(format!("{}%{}", srv.user(), srv.password()))
        .args(client_args)
        .arg("//127.0.0.1/share")
        .arg("-c")
        .arg(format!(
            "put {} a.bin; ls; get a.bin {}",
            local.display(),
            back.display()
        ))
        .output()
        .unwrap();
    let capture = rec.stop();
    assert!(
        out.status.success(),
        "smbclient: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&back).unwrap(), content);
    let (s, records) = run(&capture, &options(Some(srv.password()), srv.port()));
    assert_eq!(s.failed, 0, "{}", failures(&records));
    (s, records)
}

fn live_cipher(cipher: &str) {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("server smb3 encryption algorithms", cipher)
        .global("smb encrypt", "required")
        .start();
    let (s, records) = live(&srv, &[]);
    assert!(
        negotiated(&records).ends_with(&format!(",cipher={cipher}")),
        "{}",
        negotiated(&records)
    );
    assert!(s.transforms > 10 && s.decrypted_ok >= s.transforms, "{s:?}");
}

#[test]
fn live_aes_128_ccm() {
    live_cipher("AES-128-CCM");
}

#[test]
fn live_aes_128_gcm() {
    live_cipher("AES-128-GCM");
}

#[test]
fn live_aes_256_ccm() {
    live_cipher("AES-256-CCM");
}

#[test]
fn live_aes_256_gcm() {
    live_cipher("AES-256-GCM");
}

fn live_signing(alg: &str) {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("server smb3 signing algorithms", alg)
        .signing_required()
        .start();
    let (s, records) = live(&srv, &[]);
    assert!(
        negotiated(&records).contains(&format!(",signing={alg}")),
        "{}",
        negotiated(&records)
    );
    assert!(s.signed_ok > 20, "{s:?}");
}

#[test]
fn live_aes_128_gmac_signing() {
    live_signing("AES-128-GMAC");
}

#[test]
fn live_aes_128_cmac_signing() {
    live_signing("AES-128-CMAC");
}

#[test]
fn live_hmac_sha256_signing_in_311() {
    live_signing("HMAC-SHA256");
}

fn live_dialect(max_protocol: &str, dialect: &str, signing: &str) {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .max_dialect(max_protocol)
        .signing_required()
        .start();
    let (s, records) = live(&srv, &[]);
    assert_eq!(
        negotiated(&records).split(",cipher").next().unwrap(),
        format!("dialect={dialect},signing={signing}")
    );
    assert!(s.signed_ok > 20, "{s:?}");
}

#[test]
fn live_smb_2_0_2() {
    live_dialect("SMB2_02", "2.0.2", "HMAC-SHA256");
}

#[test]
fn live_smb_2_1() {
    live_dialect("SMB2_10", "2.1", "HMAC-SHA256");
}

#[test]
fn live_smb_3_0() {
    live_dialect("SMB3_00", "3.0", "AES-128-CMAC");
}

#[test]
fn live_smb_3_0_2() {
    live_dialect("SMB3_02", "3.0.2", "AES-128-CMAC");
}

#[test]
fn live_smb_3_0_encrypted() {
    // 3.0 encrypts with AES-128-CCM under keys from the fixed 3.0 KDF contexts.
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .max_dialect("SMB3_00")
        .global("smb encrypt", "required")
        .start();
    let (s, records) = live(&srv, &[]);
    assert_eq!(
        negotiated(&records),
        "dialect=3.0,signing=AES-128-CMAC,cipher=AES-128-CCM"
    );
    assert!(s.transforms > 10, "{s:?}");
}

#[test]
fn live_several_sessions_and_connections() {
    // Two smbclient runs (two TCP connections), each logging on a second time on its
    // connection (`logon` starts a new session) and working in that session.
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .signing_required()
        .start();
    let dir = srv.conf_path().parent().unwrap().to_path_buf();
    let local = dir.join("x.bin");
    std::fs::write(&local, data(5000, 1)).unwrap();
    let rec = Recording::start(srv.port(), dir.join("multi.pcapng"));
    for round in 0..2 {
        let out = srv
            .smbclient_command()
            .arg("-U")
            .arg(format!("{}%{}", srv.user(), srv.password()))
            .arg("//127.0.0.1/share")
            .arg("-c")
            .arg(format!(
                "put {} r{round}.bin; logon {} {}; tcon share; ls; get r{round}.bin {}",
                local.display(),
                srv.user(),
                srv.password(),
                dir.join(format!("back{round}.bin")).display()
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let capture = rec.stop();
    let (s, records) = run(&capture, &options(Some(srv.password()), srv.port()));
    assert_eq!(s.failed, 0, "{}", failures(&records));
    let mut sessions: Vec<(usize, u64)> = messages(&records)
        .filter(|m| {
            m.header.command == SmbCommand::SessionSetup as u16
                && m.header.is_response()
                && m.header.status == 0
        })
        .map(|m| (m.place.stream, m.header.session_id))
        .collect();
    sessions.dedup();
    assert_eq!(sessions.len(), 4, "{sessions:?}");
    assert_eq!((sessions[0].0, sessions[1].0, sessions[2].0), (0, 0, 1));
    // The second session of each connection signs its own traffic.
    for (stream, sid) in &sessions {
        let signed = messages(&records)
            .filter(|m| m.place.stream == *stream && m.header.session_id == *sid)
            .filter(|m| m.verdict == Verdict::SignedOk)
            .count();
        assert!(signed >= 3, "session {sid:#x}: {signed}");
    }
}

/// Records our own client (smb-blocking) storing, listing, statting and reading back
/// small files, which it does in compounds (CREATE + WRITE/READ/QUERY_INFO + CLOSE), and
/// dissects the capture. Every message must pass.
fn our_client(srv: &SambaServer, netbios: bool) -> (Summary, Vec<Record>) {
    let dir = srv.conf_path().parent().unwrap().to_path_buf();
    let rec = Recording::start(srv.port(), dir.join("ours.pcapng"));
    let mut opts = srv.connect_options();
    if netbios {
        opts.netbios = true;
        opts.server_name = Some("*SMBSERVER".into());
    }
    let content = data(10_000, 1);
    let conn = Connection::connect(&opts).expect("connect");
    conn.store_file("share", "small.bin", &mut &content[..])
        .unwrap();
    assert_eq!(
        conn.get_attributes("share", "small.bin").unwrap().size,
        10_000
    );
    assert_eq!(conn.list_path("share", "", "*").unwrap().len(), 1);
    let mut back = Vec::new();
    conn.retrieve_file("share", "small.bin", &mut back).unwrap();
    assert_eq!(back, content);
    drop(conn);
    let capture = rec.stop();
    let (s, records) = run(&capture, &options(Some(srv.password()), srv.port()));
    assert_eq!(s.failed, 0, "{}", failures(&records));
    (s, records)
}

/// Elements of compounds, with the verdict they got and the name they were given.
fn compound_elements(records: &[Record]) -> Vec<(&Message, bool)> {
    messages(records)
        .filter(|m| m.header.next_command != 0 || m.header.flags & 0x4 != 0)
        .map(|m| (m, m.header.flags & 0x4 != 0))
        .collect()
}

#[test]
fn live_netbios_framing_and_signed_compounds() {
    // Over the NetBIOS session service (smbd accepts it on any port), signing required.
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .signing_required()
        .start();
    let (s, records) = our_client(&srv, true);
    let notes: Vec<(Direction, String)> = records
        .iter()
        .filter_map(|r| match r {
            Record::Note { place, text } => Some((place.direction, text.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        notes,
        [
            (Direction::ToServer, "NBSS session request".to_string()),
            (
                Direction::ToClient,
                "NBSS positive session response".to_string()
            ),
        ]
    );
    let elements = compound_elements(&records);
    assert!(elements.len() >= 12, "{s:?}");
    assert!(elements.iter().all(|(m, _)| m.verdict == Verdict::SignedOk));
    // Related requests name the file their compound's CREATE opened.
    assert!(elements.iter().any(|(m, related)| *related
        && !m.header.is_response()
        && m.header.command != SmbCommand::Create as u16
        && m.name.as_deref() == Some("small.bin")));
}

#[test]
fn live_compounds_inside_transform_messages() {
    let srv = SambaServer::builder()
        .share(Share::new("share"))
        .global("smb encrypt", "required")
        .start();
    let (s, records) = our_client(&srv, false);
    let elements = compound_elements(&records);
    assert!(elements.len() >= 12, "{s:?}");
    assert!(elements
        .iter()
        .all(|(m, _)| m.verdict == Verdict::DecryptedOk));
    assert!(
        s.decrypted_ok > s.transforms,
        "several messages per transform: {s:?}"
    );
}
