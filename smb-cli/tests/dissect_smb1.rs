//! `smb dissect` over SMB1 captures (issue #16) in `smb-proto/tests/data/captures/smb1` (see
//! its README: made with smbclient and our own client against a private SMB1-only Samba
//! on loopback; password `Sm0ke-Test!pw`, each capture on its own server port).
//!
//! Every SMB1 message is named and decoded, and every MD5 signature verifies once the
//! first session starts signing; a flipped byte fails that message alone, a wrong or
//! missing password fails every signed message, and corrupted messages fail without a
//! panic, a malformed one with a note on its line.

use std::path::Path;

use smb_cli::dissect::{dissect, Options, Record, Smb1Message, Summary, Verdict};
use smb_proto::auth::ntlm::Credentials;

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../smb-proto/tests/data/captures/smb1"
);
/// The SMB1 captures' password (the test harness's default user's).
const PASSWORD: &str = "Sm0ke-Test!pw";

/// smbclient, `server signing = mandatory`: put, ls, get, allinfo, tdis, logoff.
const SIGNED: (&str, u16) = ("smb1_sign", 34665);
/// The same script, `server signing = default` (SMB1 signing not offered).
const UNSIGNED: (&str, u16) = ("smb1_unsigned", 45557);
/// Our client (`smb --smb1` put, ls, get: three connections), signing mandatory.
const OURS: (&str, u16) = ("smb1_sign_ours", 43131);
/// Our client with `--smb1` against an SMB2+ Samba: the SMB1 NEGOTIATE is upgraded.
const UPGRADE: (&str, u16) = ("smb1_upgrade", 43905);

fn capture((name, _): (&str, u16)) -> Vec<u8> {
    let path = Path::new(CAPTURES).join(format!("{name}.pcapng"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn options(password: Option<&str>, (_, port): (&str, u16)) -> Options {
    let mut o = Options::default();
    o.ports.push(port);
    o.credentials = password.map(|p| Credentials::password("", "", p));
    o
}

fn run(file: &[u8], opts: &Options) -> (Summary, Vec<Record>) {
    let mut records = Vec::new();
    let summary = dissect(file, opts, |r| records.push(r.clone())).expect("a readable capture");
    assert_eq!(
        summary.messages,
        summary.signed_ok + summary.decrypted_ok + summary.unsigned + summary.failed
    );
    (summary, records)
}

fn smb1(records: &[Record]) -> Vec<&Smb1Message> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Smb1(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn lines(records: &[Record]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

/// The line of the request or response (`S→C`) with `command` whose details are `details`.
fn find<'a>(records: &'a [Record], line_part: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.to_string().contains(line_part))
        .unwrap_or_else(|| panic!("no line with {line_part:?} in\n{}", lines(records)))
}

/// The smbclient script's messages: all named, the right fields decoded.
fn check_smbclient_script(records: &[Record]) {
    let msgs = smb1(records);
    assert_eq!(msgs.len(), 50, "{}", lines(records));
    let mut commands: Vec<String> = msgs.iter().map(|m| m.command_name()).collect();
    commands.dedup();
    for want in [
        "NEGOTIATE",
        "SESSION_SETUP_ANDX",
        "TREE_CONNECT_ANDX",
        "NT_CREATE_ANDX",
        "WRITE_ANDX",
        "READ_ANDX",
        "CLOSE",
        "TRANSACTION2",
        "NT_TRANSACT",
        "TREE_DISCONNECT",
        "LOGOFF_ANDX",
    ] {
        assert!(commands.iter().any(|c| c == want), "{want} in {commands:?}");
    }
    // Requests and responses alternate, MIDs 0..=24, each response to its request.
    for (i, pair) in msgs.chunks(2).enumerate() {
        let (req, resp) = (&pair[0].header, &pair[1].header);
        assert_eq!((req.mid, resp.mid), (i as u16, i as u16));
        assert!(!req.is_reply() && resp.is_reply());
        assert_eq!(req.command, resp.command);
    }
    for part in [
        "C→S NEGOTIATE       -                               mid=0 pid=65534 tid=0x0 uid=0x0 flags=0x18/0x",
        r#""dialects=NT LANMAN 1.0,NT LM 0.12""#,
        "WORKGROUP\\smbtest",
        r"\\127.0.0.1\SHARE",
        r#""\hello.txt fid=0x"#,
        r#""\hello.txt offset=0 length=12""#,
        " count=12 ",
        r#""\readme.txt offset=0 length=14""#,
        " length=14 ",
        " FIND_FIRST2 ",
        " QUERY_FS_INFORMATION ",
        " QUERY_PATH_INFORMATION ",
        "S→C TRANSACTION2    STATUS_NOT_FOUND                mid=4 ",
        " GET_DFS_REFERRAL ",
        "S→C NT_TRANSACT     STATUS_NOT_SUPPORTED ",
    ] {
        find(records, part);
    }
}

#[test]
fn signed_smbclient_session_every_signature_verifies() {
    let (s, records) = run(&capture(SIGNED), &options(Some(PASSWORD), SIGNED));
    assert_eq!(s.failed, 0, "{}", lines(&records));
    check_smbclient_script(&records);
    find(
        &records,
        r#"S→C NEGOTIATE       STATUS_SUCCESS                  mid=0 pid=65534 tid=0x0 uid=0x0 flags=0x88/0xc843 "dialect=NT LANMAN 1.0,signing=required" unsigned"#,
    );
    // Unsigned until the final SESSION_SETUP_ANDX response (sequence number 1), signed
    // and verified from there on: 5 before, 45 after.
    let msgs = smb1(&records);
    let first_signed = msgs
        .iter()
        .position(|m| m.verdict == Verdict::SignedOk)
        .expect("signed messages");
    assert_eq!(first_signed, 5, "{}", lines(&records));
    assert_eq!(msgs[first_signed].command_name(), "SESSION_SETUP_ANDX");
    assert!(msgs[..5].iter().all(|m| m.verdict == Verdict::Unsigned));
    assert!(msgs[5..].iter().all(|m| m.verdict == Verdict::SignedOk));
    assert_eq!((s.signed_ok, s.unsigned), (45, 5));
}

#[test]
fn unsigned_smbclient_session_decodes_alike() {
    let (s, records) = run(&capture(UNSIGNED), &options(Some(PASSWORD), UNSIGNED));
    assert_eq!(s.failed, 0, "{}", lines(&records));
    check_smbclient_script(&records);
    find(
        &records,
        r#""dialect=NT LANMAN 1.0,signing=disabled" unsigned"#,
    );
    assert_eq!((s.messages, s.unsigned), (50, 50));
}

#[test]
fn our_clients_signed_connections_verify() {
    let (s, records) = run(&capture(OURS), &options(Some(PASSWORD), OURS));
    assert_eq!(s.failed, 0, "{}", lines(&records));
    // Three connections (put, ls, get), each: NEGOTIATE and three SESSION_SETUP_ANDX
    // messages unsigned, the rest signed; requests in flight together included.
    assert_eq!((s.signed_ok, s.unsigned), (35, 15), "{}", lines(&records));
    find(
        &records,
        r#""dialects=NT LM 0.12,SMB 2.002,SMB 2.???" unsigned"#,
    );
    find(&records, r#""\hello.txt offset=12 length=65536" signed-ok"#);
    find(&records, " FIND_FIRST2 signed-ok");
}

#[test]
fn multi_protocol_negotiate_upgraded_to_smb2_is_shown_as_such() {
    let (s, records) = run(&capture(UPGRADE), &options(Some(PASSWORD), UPGRADE));
    assert_eq!(s.failed, 0, "{}", lines(&records));
    let first: Vec<String> = records.iter().take(4).map(|r| r.to_string()).collect();
    assert!(
        first[0].contains(r#"C→S NEGOTIATE       -                               mid=0 pid=65279 tid=0xffff uid=0x0 flags=0x18/0xc841 "dialects=NT LM 0.12,SMB 2.002,SMB 2.???" unsigned"#),
        "{first:?}"
    );
    assert!(matches!(records[0], Record::Smb1(_)));
    // The answer is SMB2's: the wildcard, then SMB2 NEGOTIATE for 3.1.1.
    assert!(matches!(records[1], Record::Message(_)), "{first:?}");
    assert!(first[1].contains("dialect=2.???"), "{first:?}");
    assert!(first[3].contains("dialect=3.1.1"), "{first:?}");
    assert_eq!(smb1(&records).len(), 1);
    assert!(s.signed_ok > 0, "{s:?}");
}

#[test]
fn wrong_or_no_password_never_verifies() {
    let file = capture(SIGNED);
    for (password, why) in [
        (
            Some("not the password"),
            "wrong password for WORKGROUP\\smbtest",
        ),
        (None, "no password given"),
    ] {
        let (s, records) = run(&file, &options(password, SIGNED));
        assert_eq!((s.signed_ok, s.failed, s.unsigned), (0, 45, 5), "{why}");
        for m in smb1(&records).iter().skip(5) {
            match &m.verdict {
                Verdict::Failed(reason) => assert!(
                    reason.contains("cannot check the signature") && reason.contains(why),
                    "{reason}"
                ),
                v => panic!("{v:?} for {m}"),
            }
        }
    }
}

/// Where `msg` lies in the capture file: the only place its bytes appear.
fn offset_in(file: &[u8], msg: &[u8]) -> usize {
    let mut at = file
        .windows(msg.len())
        .enumerate()
        .filter(|(_, w)| *w == msg);
    let (offset, _) = at.next().expect("the message in the file");
    assert!(at.next().is_none(), "the message appears twice");
    offset
}

#[test]
fn a_flipped_byte_fails_that_message_only() {
    let file = capture(SIGNED);
    let opts = options(Some(PASSWORD), SIGNED);
    let (_, records) = run(&file, &opts);
    let clean: Vec<Smb1Message> = smb1(&records).into_iter().cloned().collect();
    let signed: Vec<usize> = (0..clean.len())
        .filter(|i| clean[*i].verdict == Verdict::SignedOk)
        .collect();
    assert_eq!(signed.len(), 45);
    // A signature byte of each signed message, and a data byte of the WRITE_ANDX.
    let write = clean
        .iter()
        .position(|m| m.command_name() == "WRITE_ANDX" && !m.header.is_reply())
        .expect("a write");
    let flips = signed
        .iter()
        .map(|i| (*i, 14))
        .chain([(write, clean[write].bytes.len() - 1)]);
    for (victim, byte) in flips {
        let mut copy = file.clone();
        copy[offset_in(&file, &clean[victim].bytes) + byte] ^= 0x01;
        let (s, records) = run(&copy, &opts);
        assert_eq!(s.failed, 1, "message {victim} byte {byte}");
        for (i, (m, before)) in smb1(&records).iter().zip(&clean).enumerate() {
            if i == victim {
                let Verdict::Failed(reason) = &m.verdict else {
                    panic!("{m}");
                };
                assert!(reason.contains("MD5 signature does not verify"), "{m}");
            } else {
                assert_eq!(m.verdict, before.verdict, "{m}");
            }
        }
    }
}

#[test]
fn corrupted_messages_fail_without_a_panic() {
    let file = capture(SIGNED);
    let opts = options(Some(PASSWORD), SIGNED);
    let (_, records) = run(&file, &opts);
    let clean: Vec<Smb1Message> = smb1(&records).into_iter().cloned().collect();
    // Every byte after the header of the first message of each command.
    let mut seen = Vec::new();
    for m in &clean {
        let key = (m.header.command, m.header.is_reply());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let at = offset_in(&file, &m.bytes);
        for byte in 32..m.bytes.len().min(160) {
            let mut copy = file.clone();
            copy[at + byte] ^= 0xFF;
            let (s, _) = run(&copy, &opts);
            // An unsigned message may still decode (a name's byte, a blob's).
            if m.verdict == Verdict::SignedOk {
                assert!(s.failed >= 1, "{m} byte {byte}");
            }
        }
    }
    // A WordCount the command does not have: a decode note on that line.
    let create = clean
        .iter()
        .find(|m| m.command_name() == "NT_CREATE_ANDX")
        .expect("a create");
    let mut copy = file.clone();
    copy[offset_in(&file, &create.bytes) + 32] = 0x17;
    let (s, records) = run(&copy, &opts);
    assert_eq!(s.failed, 1);
    let line = find(&records, "NT_CREATE_ANDX request: ").to_string();
    assert!(line.contains("nt create word count"), "{line}");
}
