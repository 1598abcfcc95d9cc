//! A live connection after a real handshake (a NEGOTIATE answered, a share connected),
//! with every kind of operation in flight, fed arbitrary server bytes: it never panics,
//! and it either goes on or ends with a typed reason, still accepting calls.
#![no_main]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use smb_proto::ops;
use smb_proto::wire::create::FileId;
use smb_proto::wire::fscc::{
    FileAllInformation, FileNameInformation, FileStreamInformation, FileTime,
};
use smb_proto::wire::header::flags;
use smb_proto::wire::negotiate::{capabilities, dialect, security_mode, NegotiateResponse};
use smb_proto::wire::tree_connect::TreeConnectResponse;
use smb_proto::wire::{Command, Header};
use smb_proto::{Config, Connection, NtStatus};

/// A response to `req` with `body`.
fn answer(req: &Header, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let header = Header {
        credit_charge: req.credit_charge,
        command: req.command,
        credits: 64,
        flags: flags::SERVER_TO_REDIR,
        message_id: req.message_id,
        tree_id: 7,
        session_id: req.session_id,
        status: NtStatus::SUCCESS.0,
        ..Default::default()
    };
    let mut msg = Vec::new();
    header.encode(&mut msg);
    body(&mut msg);
    let mut frame = (msg.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&msg);
    frame
}

/// The headers of the requests the connection sent since the last call.
fn sent(conn: &mut Connection) -> Vec<Header> {
    let mut tx = Vec::new();
    if !conn.poll_transmit(&mut tx) {
        return Vec::new();
    }
    let mut buf = BytesMut::from(&tx[..]);
    let mut headers = Vec::new();
    while let Ok(Some((_, body))) = smb_proto::connection::framing::split_frame(&mut buf, 1 << 24) {
        for m in smb_proto::wire::compound_messages(body.freeze()).flatten() {
            headers.push(m.0);
        }
    }
    headers
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut config = Config::new("fuzz", [7; 32]);
    config.request_timeout = Some(Duration::from_secs(5));
    let mut conn = Connection::new(config, t0);
    let negotiate = sent(&mut conn).pop().expect("a NEGOTIATE");
    let reply = NegotiateResponse {
        security_mode: security_mode::SIGNING_ENABLED,
        dialect_revision: dialect::SMB2_1,
        server_guid: [0x5a; 16],
        capabilities: capabilities::LARGE_MTU,
        max_transact_size: 1 << 20,
        max_read_size: 1 << 20,
        max_write_size: 1 << 20,
        ..Default::default()
    };
    conn.handle_input(
        t0,
        &mut BytesMut::from(&answer(&negotiate, |m| reply.encode(m))[..]),
    );
    conn.start(ops::ConnectShare::new("s"), t0);
    for req in sent(&mut conn) {
        if req.command == Command::TreeConnect as u16 {
            let tc = answer(&req, |m| TreeConnectResponse::default().encode(m));
            conn.handle_input(t0, &mut BytesMut::from(&tc[..]));
        }
    }
    while conn.poll_event().is_some() {}
    // Every kind of operation in flight.
    conn.start(ops::Echo, t0);
    conn.start(ops::Stat::new("s", "a"), t0);
    conn.start(ops::ListDir::new("s", "d", "*"), t0);
    conn.start(ops::ListDirPaged::new("s", "d", "*"), t0);
    conn.start(ops::ReadFile::new("s", "f", 0, None), t0);
    conn.start(ops::WriteFile::new("s", "w"), t0);
    conn.start(ops::Delete::new("s", "x/*.txt"), t0);
    conn.start(ops::Rename::new("s", "a", "b", false), t0);
    conn.start(ops::Rmdir::new("s", "r"), t0);
    conn.start(ops::GetSecurity::new("s", "a").with_sacl(), t0);
    conn.start(ops::ListSnapshots::new("s", "d"), t0);
    conn.start(ops::QueryPathInfo::new("s", "a", 18), t0);
    conn.start(
        ops::MakeDirectory::new("s", "m/n")
            .parents(true)
            .exist_ok(true),
        t0,
    );
    conn.start(ops::Touch::new("s", "t", true, FileTime(1)), t0);
    conn.start(ops::StatFs::new("s", ""), t0);
    conn.start(ops::Truncate::new("s", "t", 7), t0);
    let handle = smb_proto::Handle {
        tree: smb_proto::TreeId(1),
        file_id: FileId::ANY,
    };
    conn.start(ops::Append::new(handle, Bytes::from_static(b"a")), t0);
    conn.start(ops::SetInfo::delete_on_close(handle, true), t0);
    // The newer ones: change notification, byte-range locks, server-side copy, DFS
    // referrals, share listing over SRVSVC, the tree walks, the handle-level calls and
    // every typed path-info class (streams among them).
    conn.start(ops::Watch::new("s", "d").recursive(true), t0);
    conn.start(ops::Lock::new(handle, 0, 10, ops::LockKind::Exclusive), t0);
    conn.start(ops::Lock::try_new(handle, 5, 1, ops::LockKind::Shared), t0);
    conn.start(ops::Lock::unlock(handle, 0, 10), t0);
    conn.start(
        ops::CopyFile::new("s", "a", "b", ops::CopyDestination::WriteInto).range(1, 2, 3 << 20),
        t0,
    );
    conn.start(
        ops::CopyFile::new("s", "a", "c", ops::CopyDestination::Replace),
        t0,
    );
    conn.start(ops::GetDfsReferral::new("\\\\srv\\s\\link"), t0);
    conn.start(ops::ListShares::new(), t0);
    conn.start(ops::ListTree::new("s", "d"), t0);
    conn.start(ops::RemoveTree::new("s", "d"), t0);
    conn.start(
        ops::RetrieveFiles::new("s", vec!["f".into(), "g".into()]),
        t0,
    );
    conn.start(
        ops::StoreFiles::new("s", vec!["u".into()]).directories(vec!["v".into()]),
        t0,
    );
    conn.start(
        ops::Open::new("s", "o", ops::OpenOptions::read_write_create()),
        t0,
    );
    conn.start(ops::Read::new(handle, 0, 4096), t0);
    conn.start(ops::Write::new(handle, 0, Bytes::from_static(b"w")), t0);
    conn.start(ops::QueryInfo(handle), t0);
    conn.start(ops::Flush(handle), t0);
    conn.start(ops::SetInfo::end_of_file(handle, 9), t0);
    conn.start(ops::Close(handle), t0);
    conn.start(ops::Mkdir::new("s", "k"), t0);
    conn.start(ops::MkdirAll::new("s", "k/l/m"), t0);
    conn.start(ops::ResetAttributes::new("s", "a", 0x80), t0);
    conn.start(
        ops::SetBasicInfo::last_write_time("s", "a", FileTime(2)),
        t0,
    );
    conn.start(ops::PathInfo::<FileAllInformation>::new("s", "a"), t0);
    conn.start(ops::PathInfo::<FileNameInformation>::new("s", "a"), t0);
    conn.start(
        ops::PathInfo::<Vec<FileStreamInformation>>::new("s", "a"),
        t0,
    );
    conn.start(ops::Stat::new("s", "a").at_snapshot(FileTime(3)), t0);
    conn.start(ops::TreeDisconnect::new("t"), t0);
    let _ = sent(&mut conn);
    // The fuzzer's bytes, as the server's, in the pieces it chose (a 0xff byte splits).
    for piece in data.split(|b| *b == 0xff) {
        conn.handle_input(t0, &mut BytesMut::from(piece));
        while let Some(ev) = conn.poll_event() {
            if let smb_proto::Event::WantData { id, file, max_len } = ev {
                conn.supply(id, file, Bytes::from(vec![0u8; max_len.min(64)]), t0);
            }
        }
        let _ = sent(&mut conn);
    }
    conn.handle_timeout(t0 + Duration::from_secs(3600));
    conn.start(ops::Echo, t0);
    let _ = (sent(&mut conn), conn.close_reason());
    while conn.poll_event().is_some() {}
});
