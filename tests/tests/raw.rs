//! Raw requests against Samba, as a protocol test would write them: a CREATE with a create
//! context of our own, a compound, and a request the server refuses, each response's
//! header and body inspected.

use smb_blocking::Connection;
use smb_proto::ops::{HeaderFields, Raw};
use smb_proto::wire::close::CloseRequest;
use smb_proto::wire::create::{
    access_mask, context_name, disposition, CreateRequest, CreateResponse, FileId,
};
use smb_proto::wire::read::ReadRequest;
use smb_proto::wire::request::RequestBody;
use smb_proto::wire::Command;
use smb_proto::NtStatus;
use smb_tests::{SambaServer, Share};

fn open_with_maximal_access(name: &str) -> RequestBody {
    RequestBody::Create(CreateRequest {
        desired_access: access_mask::FILE_GENERIC_READ,
        share_access: 7,
        create_disposition: disposition::OPEN,
        name: name.into(),
        create_contexts: vec![(context_name::QUERY_MAXIMAL_ACCESS_REQUEST.to_vec(), vec![])],
        ..Default::default()
    })
}

#[test]
fn a_create_with_a_context_of_our_own_and_its_answer_inspected() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    std::fs::write(srv.share_path("share").join("notes.txt"), b"hello").unwrap();
    let conn = Connection::connect(&srv.connect_options()).unwrap();

    // One CREATE + CLOSE compound, related: the CLOSE names the file the CREATE opened.
    let close = RequestBody::Close(CloseRequest {
        file_id: FileId::ANY,
        ..Default::default()
    });
    let op = Raw::compound(vec![open_with_maximal_access("notes.txt"), close], true)
        .on_share("share")
        .header(0, HeaderFields::default());
    let responses = conn.call(op).unwrap();
    assert_eq!(responses.len(), 2);
    let (create, close) = (&responses[0], &responses[1]);
    assert_eq!(create.header.command, Command::Create as u16);
    assert_eq!(close.header.command, Command::Close as u16);
    assert_eq!(
        (create.status(), close.status()),
        (NtStatus::SUCCESS, NtStatus::SUCCESS)
    );
    assert!(
        create.header.is_signed(),
        "the core still signs and verifies"
    );
    let reply = CreateResponse::decode(&create.msg).unwrap();
    assert_eq!(reply.end_of_file, 5);
    // MS-SMB2 2.2.14.2.5: QueryStatus, then MaximalAccess.
    let (name, data) = reply
        .create_contexts
        .iter()
        .find(|(n, _)| &n[..] == context_name::QUERY_MAXIMAL_ACCESS_REQUEST)
        .expect("the server answers the MxAc context");
    assert_eq!(&name[..], b"MxAc");
    assert_eq!(
        u32::from_le_bytes(data[0..4].try_into().unwrap()),
        0,
        "QueryStatus"
    );
    let maximal = u32::from_le_bytes(data[4..8].try_into().unwrap());
    assert_ne!(maximal & access_mask::FILE_READ_DATA, 0, "{maximal:#x}");

    // A request the server refuses comes back as a response with its status, not an
    // error: the caller inspects it.
    let stray_read = RequestBody::Read(ReadRequest {
        length: 10,
        file_id: FileId {
            persistent: 0x1234,
            volatile: 0x5678,
        },
        ..Default::default()
    });
    let responses = conn.call(Raw::new(stray_read).on_share("share")).unwrap();
    assert_eq!(responses[0].status(), NtStatus::FILE_CLOSED);
    // The connection goes on.
    conn.echo().unwrap();
}
