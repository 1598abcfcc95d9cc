//! Share listing against Samba: SRVSVC NetrShareEnum over `IPC$\srvsvc`, through the
//! blocking driver's `call` and `list_shares` and the async client's `list_shares`.
//!
//! The server has 300 shares with comments and two hidden ones, so the answer is many
//! times the 4,280 bytes a transceive returns and a fragment holds: the listing can only
//! be whole if the client read the pipe on after the transceive and joined fragments. A
//! proxy that only watches (it changes nothing) shows which answers the server gave.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use smb_blocking::Connection;
use smb_proto::ops::Raw;
use smb_proto::ops::{ListShares, ShareInfo, ShareType};
use smb_proto::rpc::pdu::{Bind, Reassembly, Reply, SyntaxId, MAX_FRAG};
use smb_proto::rpc::srvsvc::{NetrShareEnumResponse, ShareInfo1};
use smb_proto::wire::create::{CreateRequest, CreateResponse, FileId};
use smb_proto::wire::ioctl::{flags, fsctl, IoctlRequest, IoctlResponse};
use smb_proto::wire::read::{ReadRequest, ReadResponse};
use smb_proto::wire::request::RequestBody;
use smb_proto::wire::Command;
use smb_proto::NtStatus;
use smb_tests::proxy::{command, Direction, Proxy};
use smb_tests::{SambaServer, Share};

const SHARES: usize = 300;

fn name(i: usize) -> String {
    format!("share_{i:03}")
}

/// Non-ASCII on purpose (UTF-8 in smb.conf, UTF-16 on the wire), a character outside
/// the BMP (a surrogate pair) in one of them.
fn comment(i: usize) -> String {
    if i == 7 {
        "lucky seven 😀".to_string()
    } else {
        format!("comment for share {i}: grüße, ✓")
    }
}

fn server() -> SambaServer {
    let mut b = SambaServer::builder();
    for i in 0..SHARES {
        b = b.share(Share::new(&name(i)).option("comment", &comment(i)));
    }
    // Samba sets STYPE_SPECIAL only on IPC$ and on print queues with `administrative
    // share = yes` (never on a disk share): a `$` at the end of a name hides a share from
    // browsers but sets no type bit.
    b.share(Share::new("hidden$").option("comment", "not for browsing"))
        .share(
            Share::new("queue$")
                .option("printable", "yes")
                .option("administrative share", "yes"),
        )
        .start()
}

/// (command, status) of every plain message the server sends through the proxy.
type Seen = Arc<Mutex<Vec<(u16, NtStatus)>>>;

fn watched(srv: &SambaServer) -> (Proxy, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let target: SocketAddr = format!("{}:{}", srv.host(), srv.port()).parse().unwrap();
    let proxy = Proxy::start(target, move |dir, _, m| {
        if dir == Direction::ToClient {
            if let Some(cmd) = command(m) {
                let status = u32::from_le_bytes(m[8..12].try_into().unwrap());
                log.lock().unwrap().push((cmd, NtStatus(status)));
            }
        }
    });
    (proxy, seen)
}

#[test]
fn hundreds_of_shares_with_comments_and_a_hidden_one_are_all_listed() {
    let srv = server();
    let (proxy, seen) = watched(&srv);
    let mut options = srv.connect_options();
    options.port = proxy.port();
    let conn = Connection::connect(&options).unwrap();

    let shares = conn.call(ListShares::new()).unwrap();
    let by_name: BTreeMap<&str, &ShareInfo> = shares.iter().map(|s| (&s.name[..], s)).collect();
    assert_eq!(by_name.len(), shares.len(), "no share listed twice");
    assert_eq!(shares.len(), SHARES + 3, "{:?}", by_name.keys());
    for i in 0..SHARES {
        let s = by_name
            .get(&name(i)[..])
            .unwrap_or_else(|| panic!("{} missing", name(i)));
        assert_eq!(s.share_type, ShareType::Disk, "{}", s.name);
        assert_eq!(s.comment, comment(i), "{}", s.name);
        assert!(!s.is_special && !s.is_temporary, "{s:?}");
    }
    let ipc = by_name["IPC$"];
    assert_eq!(ipc.share_type, ShareType::Ipc);
    assert!(ipc.is_special && !ipc.is_temporary, "{ipc:?}");
    let hidden = by_name["hidden$"];
    assert_eq!(hidden.share_type, ShareType::Disk);
    assert_eq!(hidden.comment, "not for browsing");
    // Samba's own choice: a `$` hides the share from browsers (smbclient -L leaves it
    // out) but does not make it STYPE_SPECIAL; that bit is for administrative shares.
    assert!(!hidden.is_special && !hidden.is_temporary, "{hidden:?}");
    let queue = by_name["queue$"];
    assert_eq!(queue.share_type, ShareType::PrintQueue, "{queue:?}");
    assert!(queue.is_special, "{queue:?}");

    // What Samba sent is at least this listing NDR-encoded: several fragments of the size
    // the client bound with, so more than one transceive's output.
    let stub = NetrShareEnumResponse {
        shares: shares
            .iter()
            .map(|s| ShareInfo1 {
                netname: s.name.clone(),
                shi1_type: 0,
                remark: s.comment.clone(),
            })
            .collect(),
        ..Default::default()
    }
    .encode();
    assert!(
        stub.len() > 4 * usize::from(MAX_FRAG),
        "{} bytes of stub",
        stub.len()
    );
    // And the proxy saw the client READ the rest of the pipe after the transceive. Samba
    // hands out one whole fragment per transceive or READ of this size, with
    // STATUS_SUCCESS; STATUS_BUFFER_OVERFLOW comes only when a read is smaller than the
    // fragment (see `a_transceive_smaller_than_the_answer_overflows_and_reads_finish_it`,
    // and the scripted tests in smb-proto, which serve overflowing answers).
    let seen = seen.lock().unwrap().clone();
    let reads: Vec<NtStatus> = seen
        .iter()
        .filter(|(c, _)| *c == Command::Read as u16)
        .map(|(_, s)| *s)
        // A loaded samba-dcerpcd makes a pipe READ wait: an interim STATUS_PENDING comes
        // first, then the answer.
        .filter(|s| *s != NtStatus::PENDING)
        .collect();
    assert!(reads.len() >= 4, "{} READs: {seen:?}", reads.len());
    assert!(
        reads
            .iter()
            .all(|s| [NtStatus::SUCCESS, NtStatus::BUFFER_OVERFLOW].contains(s)),
        "{seen:?}"
    );
    // The pipe was closed at the end.
    assert_eq!(seen.last().map(|(c, _)| *c), Some(Command::Close as u16));

    // The driver's method gives the same, and the connection goes on.
    assert_eq!(conn.list_shares().unwrap(), shares);
    conn.echo().unwrap();

    // So does the async client's.
    let from_async = smol::block_on(async {
        let client = smb_asyncstd::connect(&srv.connect_options()).await.unwrap();
        client.list_shares().await.unwrap()
    });
    assert_eq!(from_async, shares);
}

#[test]
fn a_server_with_one_share_lists_it_and_ipc() {
    let srv = SambaServer::builder().share(Share::new("only")).start();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let mut shares = conn.list_shares().unwrap();
    shares.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = shares.iter().map(|s| &s.name[..]).collect();
    assert_eq!(names, ["IPC$", "only"]);
    assert_eq!(shares[1].share_type, ShareType::Disk);
    // Listing twice on one connection reuses the IPC$ tree and opens a fresh pipe.
    assert_eq!(conn.list_shares().unwrap().len(), 2);
}

/// What the listing relies on when an answer outgrows a read, checked on the real
/// server with requests built by hand: a transceive whose MaxOutputResponse is smaller
/// than the answer returns its first bytes with STATUS_BUFFER_OVERFLOW, and READs of the
/// pipe return the rest; joined, they are the bind_ack.
#[test]
fn a_transceive_smaller_than_the_answer_overflows_and_reads_finish_it() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let conn = Connection::connect(&srv.connect_options()).unwrap();
    let call = |body: RequestBody| {
        let mut responses = conn.call(Raw::new(body).on_share("IPC$")).unwrap();
        responses.remove(0)
    };
    let create = call(RequestBody::Create(CreateRequest {
        impersonation_level: 2,
        desired_access: 0x0012_019F,
        share_access: 3,
        create_disposition: 1,
        name: "srvsvc".into(),
        ..Default::default()
    }));
    assert_eq!(create.status(), NtStatus::SUCCESS);
    let file_id: FileId = CreateResponse::decode(&create.msg).unwrap().file_id;

    let transceive = call(RequestBody::Ioctl(IoctlRequest {
        ctl_code: fsctl::PIPE_TRANSCEIVE,
        file_id,
        input: Bind::new(1, SyntaxId::SRVSVC).encode().into(),
        max_output_response: 20,
        flags: flags::IS_FSCTL,
        ..Default::default()
    }));
    assert_eq!(transceive.status(), NtStatus::BUFFER_OVERFLOW);
    let first = IoctlResponse::decode(&transceive.msg).unwrap().output;
    assert_eq!(first.len(), 20);

    let mut reply = Reassembly::bind_ack(1);
    assert_eq!(reply.push(&first).unwrap(), None);
    let mut statuses = Vec::new();
    let ack = loop {
        let read = call(RequestBody::Read(ReadRequest {
            length: 20,
            file_id,
            ..Default::default()
        }));
        statuses.push(read.status());
        assert!(statuses.len() < 10, "{statuses:?}");
        let data = ReadResponse::decode(&read.msg).unwrap().data;
        if let Some(Reply::BindAck(ack)) = reply.push(&data).unwrap() {
            break ack;
        }
    };
    ack.accepted().unwrap();
    // 68 bytes of bind_ack: 20 from the transceive, then three READs. Samba answers each
    // READ with STATUS_SUCCESS, even those that leave bytes of the message behind: the
    // status cannot tell a client when to stop, the PDU's own frag_length and
    // PFC_LAST_FRAG do.
    assert_eq!(statuses, [NtStatus::SUCCESS; 3]);
    let close = call(RequestBody::Close(smb_proto::wire::close::CloseRequest {
        file_id,
        ..Default::default()
    }));
    assert_eq!(close.status(), NtStatus::SUCCESS);
}
