//! `smb dissect --keytab` over recorded Kerberos sessions (our client against a private
//! Samba AD DC, `smb-proto/tests/data/captures/README.md`): with the DC's keytab every
//! signature verifies and every encrypted message decrypts; with another domain's keytab,
//! or none, every protected message fails, saying the ticket cannot be decrypted.

use std::path::Path;
use std::process::Command;

use smb_cli::dissect::{dissect, Options, Record, Summary, Verdict};
use smb_proto::auth::kerberos::keytab::Keytab;

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../smb-proto/tests/data/captures"
);
/// The server port of the recorded Kerberos sessions.
const PORT: u16 = 37_751;

fn file(name: &str) -> Vec<u8> {
    let path = Path::new(CAPTURES).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(capture: &str, keytab: Option<&[u8]>) -> (Summary, Vec<Record>) {
    let mut o = Options::default();
    o.ports.push(PORT);
    o.keytab = keytab.map(|k| Keytab::parse(k).expect("a keytab"));
    let mut records = Vec::new();
    let s = dissect(&file(capture)[..], &o, |r| records.push(r.clone())).expect("a capture");
    assert_eq!(
        s.messages,
        s.signed_ok + s.decrypted_ok + s.unsigned + s.failed
    );
    (s, records)
}

fn failures(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter(|r| match r {
            Record::Message(m) => matches!(m.verdict, Verdict::Failed(_)),
            Record::Smb1(m) => matches!(m.verdict, Verdict::Failed(_)),
            Record::Failure { .. } => true,
            Record::Note { .. } => false,
        })
        .map(|r| r.to_string())
        .collect()
}

fn dc_keytab() -> Vec<u8> {
    file("kerberos_dc.keytab")
}

/// Another domain's DC keytab: the same principal names, other keys.
fn other_keytab() -> Vec<u8> {
    file("../kerberos/dc.keytab")
}

#[test]
fn a_signed_kerberos_session_verifies_with_the_dcs_keytab() {
    let (s, records) = run("kerberos_smb311_sign.pcap", Some(&dc_keytab()));
    assert_eq!(failures(&records), Vec::<String>::new());
    // NEGOTIATE both ways and the SESSION_SETUP request are unsigned; the rest is signed.
    assert_eq!((s.messages, s.signed_ok, s.unsigned), (18, 15, 3), "{s:?}");
    let setup = records
        .iter()
        .map(Record::to_string)
        .find(|l| l.contains("SESSION_SETUP") && l.contains("C→S"))
        .unwrap();
    assert!(setup.contains("smbtest@SMBTEST.TEST"), "{setup}");

    for keytab in [Some(other_keytab()), None] {
        let (s, records) = run("kerberos_smb311_sign.pcap", keytab.as_deref());
        assert_eq!((s.signed_ok, s.failed), (0, 15), "{s:?}");
        let why = failures(&records);
        let expected = match keytab {
            Some(_) => "cannot decrypt the ticket for cifs/dc.smbtest.test@SMBTEST.TEST",
            None => "--keytab",
        };
        assert!(why.iter().all(|l| l.contains(expected)), "{why:#?}");
    }
}

#[test]
fn an_encrypted_kerberos_session_decrypts_with_the_dcs_keytab() {
    let (s, records) = run("kerberos_smb311_enc.pcap", Some(&dc_keytab()));
    assert_eq!(failures(&records), Vec::<String>::new());
    // The SESSION_SETUP response is signed; everything after it is encrypted.
    assert_eq!(
        (s.messages, s.signed_ok, s.decrypted_ok, s.unsigned),
        (18, 1, 14, 3),
        "{s:?}"
    );
    // Frames 11 to 16: one transform each (three of them compounds).
    assert_eq!(s.transforms, 6, "{s:?}");

    let (s, records) = run("kerberos_smb311_enc.pcap", Some(&other_keytab()));
    assert_eq!((s.signed_ok, s.decrypted_ok), (0, 0), "{s:?}");
    assert!(s.failed > 0, "{s:?}");
    let why = failures(&records);
    assert!(why.iter().all(|l| l.contains("cannot decrypt")), "{why:#?}");
}

/// The command line: `--keytab` reads the file; the exit status says whether all passed.
#[test]
fn the_command_takes_the_keytab() {
    let dir = Path::new(CAPTURES);
    let smb = |keytab: &str| {
        Command::new(env!("CARGO_BIN_EXE_smb"))
            .args(["dissect", "-p", &PORT.to_string(), "--keytab"])
            .arg(dir.join(keytab))
            .arg(dir.join("kerberos_smb311_enc.pcap"))
            .env_remove("SMB_PASSWORD")
            .output()
            .expect("smb")
    };
    let out = smb("kerberos_dc.keytab");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.ends_with("18 messages, 1 signed-ok, 14 decrypted-ok, 3 unsigned, 0 failed\n"),
        "{stdout}"
    );
    let out = smb("../kerberos/dc.keytab");
    assert!(!out.status.success());
    let out = smb("kerberos_smb311_enc.pcap");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--keytab"), "{stderr}");
}
