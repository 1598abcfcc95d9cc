//! Alternate data streams and extended attributes against Samba's `streams_xattr`
//! (`ea support = yes`): streams written and read through SMB like files, listed, and
//! seen by smbclient; EAs set through SMB read back, and seen on disk as the `user.`
//! extended attributes Samba keeps them in, and the other way round.

use std::io::{Read, Write};
use std::process::Command;

use smb_blocking::access_mask;
use smb_blocking::{Connection, ErrorKind, NtStatus, OpenOptions};
use smb_proto::ops::{GetEas, ListStreams, QueryPathInfo};
use smb_proto::wire::fscc::class;
use smb_test_server::{SambaServer, Share};

fn server() -> SambaServer {
    SambaServer::builder()
        .share(Share::new("ads").streams())
        .share(Share::new("plain").option("ea support", "no"))
        .start()
}

/// `(name, size)` of each stream, in the server's order.
fn streams(conn: &Connection, path: &str) -> Vec<(String, u64)> {
    conn.list_streams("ads", path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .into_iter()
        .map(|s| (s.name, s.size))
        .collect()
}

/// The `user.` extended attributes of a file on the share's directory, as getfattr
/// prints them (`user.name="value"` lines).
fn xattrs(srv: &SambaServer, path: &str) -> String {
    let file = srv.share_path("ads").join(path);
    let out = Command::new("getfattr")
        .args(["-d", "-m", "^user\\."])
        .arg(&file)
        .output()
        .expect("getfattr (the attr package)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_stream_written_through_smb_is_listed_and_reads_back() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    conn.store_file("ads", "doc.txt", &mut &b"the file itself\n"[..])
        .unwrap();
    assert_eq!(streams(&conn, "doc.txt"), [(String::new(), 16)]);

    // Whole-file write and read, by the stream's path.
    let n = conn
        .store_file("ads", "doc.txt:summary", &mut &b"short"[..])
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(n, 5);
    // With the `:$DATA` type spelled out, through an open handle.
    let mut f = conn
        .open("ads", "doc.txt:tags:$DATA", OpenOptions::overwrite())
        .unwrap();
    f.write_all(b"a,b,c,d").unwrap();
    f.close().unwrap();

    let mut listed = streams(&conn, "doc.txt");
    listed.sort();
    assert_eq!(
        listed,
        [
            (String::new(), 16),
            ("summary".to_string(), 5),
            ("tags".to_string(), 7)
        ]
    );

    let mut read = Vec::new();
    conn.retrieve_file("ads", "doc.txt:summary", &mut read)
        .unwrap();
    assert_eq!(read, b"short");
    let mut f = conn
        .open("ads", "doc.txt:tags", OpenOptions::read())
        .unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "a,b,c,d");
    drop(f);
    // The file's own contents are untouched, and readable as `::$DATA` too.
    let mut main = Vec::new();
    conn.retrieve_file("ads", "doc.txt::$DATA", &mut main)
        .unwrap();
    assert_eq!(main, b"the file itself\n");
    assert_eq!(conn.get_attributes("ads", "doc.txt").unwrap().size, 16);

    // Samba keeps the stream as an extended attribute of the file, not as a file.
    assert!(xattrs(&srv, "doc.txt").contains("user.DosStream.summary:$DATA"));
    let on_disk: Vec<String> = std::fs::read_dir(srv.share_path("ads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(on_disk, ["doc.txt"]);

    // A stream is deleted like a file; the file stays.
    conn.delete_files("ads", "doc.txt:tags").unwrap();
    let mut listed = streams(&conn, "doc.txt");
    listed.sort();
    assert_eq!(listed, [(String::new(), 16), ("summary".to_string(), 5)]);

    // A missing stream of an existing file is not found, like a missing file.
    let e = conn
        .retrieve_file("ads", "doc.txt:nope", &mut Vec::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = conn.list_streams("ads", "missing.txt").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // A path that climbs out is still refused before anything is sent.
    assert!(conn.list_streams("ads", "../doc.txt:summary").is_err());
}

#[test]
fn a_stream_put_by_smbclient_is_listed_and_read() {
    let srv = server();
    let local = srv.conf_path().with_file_name("local.txt");
    std::fs::write(&local, b"from smbclient").unwrap();
    std::fs::write(srv.share_path("ads").join("file.txt"), b"x").unwrap();
    let out = srv.smbclient("ads", &format!("put {} file.txt:s1", local.display()));
    assert!(out.status.success(), "{out:?}");

    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let mut listed = streams(&conn, "file.txt");
    listed.sort();
    assert_eq!(listed, [(String::new(), 1), ("s1".to_string(), 14)]);
    let mut read = Vec::new();
    conn.retrieve_file("ads", "file.txt:s1", &mut read).unwrap();
    assert_eq!(read, b"from smbclient");

    // And one written by us is what smbclient lists (`allinfo` shows every stream).
    conn.store_file("ads", "file.txt:ours", &mut &b"123"[..])
        .unwrap();
    let out = srv.smbclient("ads", "allinfo file.txt");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(":ours:$DATA"), "{text}");
}

#[test]
fn a_directory_holds_streams_too() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    conn.create_directory("ads", "dir").unwrap();
    assert_eq!(streams(&conn, "dir"), []);
    conn.store_file("ads", "dir:note", &mut &b"on a directory"[..])
        .unwrap();
    assert_eq!(streams(&conn, "dir"), [("note".to_string(), 14)]);
}

#[test]
fn a_stream_list_larger_than_the_first_buffer_takes_one_more_round_trip() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    conn.store_file("ads", "f", &mut &b"x"[..]).unwrap();
    for i in 0..20 {
        conn.store_file("ads", &format!("f:stream-number-{i:02}"), &mut &b"yy"[..])
            .unwrap();
    }
    // Room for one entry only: the server says the buffer is too small (and with no
    // second round allowed, that is the answer).
    let small = QueryPathInfo::new("ads", "f", class::FILE_STREAM_INFORMATION)
        .buffer_len(48)
        .max_len(48);
    let status = conn.call(small).unwrap_err().status();
    assert!(
        matches!(
            status,
            Some(NtStatus::BUFFER_OVERFLOW | NtStatus::BUFFER_TOO_SMALL)
        ),
        "{status:?}"
    );
    let listed = conn
        .call(ListStreams::new("ads", "f").buffer_len(48))
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(listed.len(), 21);
    assert_eq!(listed.iter().filter(|s| s.size == 2).count(), 20);
}

#[test]
fn eas_set_through_smb_read_back_and_are_user_xattrs_on_disk() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    conn.store_file("ads", "e.txt", &mut &b"x"[..]).unwrap();
    assert_eq!(conn.get_eas("ads", "e.txt").unwrap(), [], "no EA yet");

    conn.set_ea("ads", "e.txt", "Colour", b"blue").unwrap();
    conn.set_eas("ads", "e.txt", &[("size", b"XL"), ("empty-soon", b"1")])
        .unwrap();
    let mut eas: Vec<(String, Vec<u8>)> = conn
        .get_eas("ads", "e.txt")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.value))
        .collect();
    eas.sort();
    // Samba returns names as stored (Windows would upper-case them).
    assert_eq!(
        eas,
        [
            ("Colour".to_string(), b"blue".to_vec()),
            ("empty-soon".to_string(), b"1".to_vec()),
            ("size".to_string(), b"XL".to_vec()),
        ]
    );
    let on_disk = xattrs(&srv, "e.txt");
    assert!(on_disk.contains("user.Colour=\"blue\""), "{on_disk}");

    // An empty value removes the EA; names match case-insensitively.
    conn.set_ea("ads", "e.txt", "EMPTY-SOON", b"").unwrap();
    conn.set_ea("ads", "e.txt", "COLOUR", b"red").unwrap();
    let mut eas: Vec<(String, Vec<u8>)> = conn
        .get_eas("ads", "e.txt")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.value))
        .collect();
    eas.sort();
    assert_eq!(eas.len(), 2, "{eas:?}");
    assert!(
        eas[0].0.eq_ignore_ascii_case("colour") && eas[0].1 == b"red",
        "{eas:?}"
    );
    assert_eq!(eas[1], ("size".to_string(), b"XL".to_vec()));
    assert!(!xattrs(&srv, "e.txt").contains("empty-soon"));

    // Names a client cannot send are refused before anything is sent.
    for bad in ["", "caf\u{e9}", "tab\there"] {
        let e = conn.set_ea("ads", "e.txt", bad, b"v").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}: {e}");
    }
    let e = conn.get_eas("ads", "nothing-here").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[test]
fn an_xattr_set_on_disk_is_an_ea_over_smb() {
    let srv = server();
    let file = srv.share_path("ads").join("disk.txt");
    std::fs::write(&file, b"x").unwrap();
    let set = Command::new("setfattr")
        .args(["-n", "user.origin", "-v", "local disk"])
        .arg(&file)
        .status()
        .unwrap();
    assert!(set.success());
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let eas = conn.get_eas("ads", "disk.txt").unwrap();
    assert_eq!(eas.len(), 1, "{eas:?}");
    assert_eq!(
        (eas[0].name.as_str(), &eas[0].value[..]),
        ("origin", &b"local disk"[..])
    );
}

#[test]
fn an_ea_list_larger_than_the_first_buffer_takes_one_more_round_trip() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    conn.store_file("ads", "many", &mut &b"x"[..]).unwrap();
    let value = vec![b'v'; 100];
    let names: Vec<String> = (0..8).map(|i| format!("attribute-{i}")).collect();
    let eas: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &value[..])).collect();
    conn.set_eas("ads", "many", &eas).unwrap();
    let small = QueryPathInfo::new("ads", "many", class::FILE_FULL_EA_INFORMATION)
        .access(access_mask::FILE_READ_EA)
        .buffer_len(64)
        .max_len(64);
    let status = conn.call(small).unwrap_err().status();
    assert!(
        matches!(
            status,
            Some(NtStatus::BUFFER_OVERFLOW | NtStatus::BUFFER_TOO_SMALL)
        ),
        "{status:?}"
    );
    let got = conn
        .call(GetEas::new("ads", "many").buffer_len(64))
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(got.len(), 8);
    assert!(got.iter().all(|e| e.value == value));
}

#[test]
fn a_share_without_ea_support_says_so() {
    let srv = server();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    conn.store_file("plain", "p.txt", &mut &b"x"[..]).unwrap();
    let e = conn.set_ea("plain", "p.txt", "a", b"1").unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::EAS_NOT_SUPPORTED), "{e}");
}

#[test]
fn the_async_client_lists_streams_and_sets_and_gets_eas() {
    let srv = server();
    let opts = srv.connect_options();
    smol::block_on(async {
        let client = smb_asyncstd::connect(&opts).await.unwrap();
        client
            .store_file("ads", "a.txt:s", &mut &b"async"[..])
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
        let listed = client.list_streams("ads", "a.txt").await.unwrap();
        let named: Vec<(&str, u64)> = listed.iter().map(|s| (s.name.as_str(), s.size)).collect();
        assert!(named.contains(&("s", 5)), "{named:?}");
        client.set_ea("ads", "a.txt", "k", b"v").await.unwrap();
        let eas = client.get_eas("ads", "a.txt").await.unwrap();
        assert_eq!((eas[0].name.as_str(), &eas[0].value[..]), ("k", &b"v"[..]));
    });
}

#[test]
fn an_ea_set_by_smbclient_is_seen_and_ours_are_seen_by_smbclient() {
    let srv = server();
    std::fs::write(srv.share_path("ads").join("c.txt"), b"x").unwrap();
    let out = srv.smbclient("ads", "setea c.txt FromSmbclient hello");
    assert!(out.status.success(), "{out:?}");
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let eas = conn.get_eas("ads", "c.txt").unwrap();
    let named: Vec<(&str, &[u8])> = eas
        .iter()
        .map(|e| (e.name.as_str(), &e.value[..]))
        .collect();
    assert_eq!(named, [("FromSmbclient", &b"hello"[..])]);

    conn.set_ea("ads", "c.txt", "fromrust", b"world").unwrap();
    let out = srv.smbclient("ads", "geteas c.txt");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.contains("fromrust") && text.contains("world"),
        "{text}"
    );
}
