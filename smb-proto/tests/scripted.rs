//! The core against a scripted server, with no network: each test reads the requests the
//! client transmits, answers them with responses built by the wire codecs, and checks
//! framing, credits, interim responses, compounds, timeouts, negotiation and every way a
//! server can break the connection. Time is whatever `Instant` the test passes in.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use smb_proto::connection::framing::FramingError;
use smb_proto::ops::{self, BoxedOp, OpOutput};
use smb_proto::wire::close::CloseResponse;
use smb_proto::wire::create::{CreateResponse, FileId};
use smb_proto::wire::error::ErrorResponse;
use smb_proto::wire::fscc::{file_attributes, FileTime};
use smb_proto::wire::header::flags;
use smb_proto::wire::lock::{flags as lock_flags, LockElement, LockRequest};
use smb_proto::wire::negotiate::{
    capabilities, dialect, hash_algorithm, security_mode, NegotiateRequest, NegotiateResponse,
};
use smb_proto::wire::read::ReadResponse;
use smb_proto::wire::simple::EchoResponse;
use smb_proto::wire::{Command, DecodeError, Header};
use smb_proto::Violation;
use smb_proto::{
    CloseReason, Config, Connection, Dialect, Error, Event, FileInfo, Handle, NegotiateFailure,
};
use smb_proto::{NtStatus, OpId, TreeId};

const TIMEOUT: Duration = Duration::from_secs(10);

fn config() -> Config {
    let mut c = Config::new("scripted", [7; 32]);
    c.request_timeout = Some(TIMEOUT);
    c
}

// ---- the scripted server's side ----

/// One request message as the server sees it.
#[derive(Debug)]
struct Request {
    header: Header,
    msg: Bytes,
}

/// The requests of each frame the client transmitted since the last call, split by the
/// core's own framing and compound iteration.
fn sent_frames(conn: &mut Connection) -> Vec<Vec<Request>> {
    use smb_proto::connection::framing::{nbss, split_frame};
    let mut tx = Vec::new();
    if !conn.poll_transmit(&mut tx) {
        return Vec::new();
    }
    let mut tx = BytesMut::from(&tx[..]);
    let mut frames = Vec::new();
    while let Some((kind, body)) = split_frame(&mut tx, 1 << 24).expect("a well-framed stream") {
        assert_eq!(kind, nbss::SESSION_MESSAGE, "a session message");
        let msgs = smb_proto::wire::compound_messages(body.freeze())
            .map(|m| {
                let (header, msg) = m.expect("a request message");
                Request { header, msg }
            })
            .collect();
        frames.push(msgs);
    }
    assert!(tx.is_empty(), "whole frames only");
    frames
}

/// Every request transmitted since the last call.
fn sent(conn: &mut Connection) -> Vec<Request> {
    sent_frames(conn).into_iter().flatten().collect()
}

fn only<T: std::fmt::Debug>(v: Vec<T>) -> T {
    assert_eq!(v.len(), 1, "expected exactly one: {v:?}");
    v.into_iter().next().unwrap()
}

/// A response message to `req`: the header granting `credits`, then the body.
fn response(
    req: &Header,
    status: NtStatus,
    credits: u16,
    body: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let header = Header {
        credit_charge: req.credit_charge,
        status: status.0,
        command: req.command,
        credits,
        flags: flags::SERVER_TO_REDIR,
        message_id: req.message_id,
        tree_id: req.tree_id,
        session_id: req.session_id,
        ..Default::default()
    };
    let mut msg = Vec::new();
    header.encode(&mut msg);
    body(&mut msg);
    msg
}

/// The async form of a response (MS-SMB2 2.2.1.1), as for STATUS_PENDING and what follows.
fn async_response(
    req: &Header,
    status: NtStatus,
    async_id: u64,
    credits: u16,
    body: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut msg = response(req, status, credits, body);
    let async_flags = flags::SERVER_TO_REDIR | flags::ASYNC_COMMAND;
    msg[16..20].copy_from_slice(&async_flags.to_le_bytes());
    // AsyncId takes the place of Reserved and TreeId.
    msg[32..40].copy_from_slice(&async_id.to_le_bytes());
    msg
}

fn error_body(m: &mut Vec<u8>) {
    ErrorResponse::default().encode(m);
}

fn echo_response(req: &Header, credits: u16) -> Vec<u8> {
    response(req, NtStatus::SUCCESS, credits, |m| EchoResponse.encode(m))
}

fn negotiate_response(req: &Header, dialect_revision: u16, credits: u16) -> Vec<u8> {
    let smb311 = dialect_revision == dialect::SMB3_1_1;
    let body = NegotiateResponse {
        security_mode: security_mode::SIGNING_ENABLED,
        dialect_revision,
        server_guid: [0x5a; 16],
        capabilities: capabilities::LARGE_MTU,
        max_transact_size: 1 << 20,
        max_read_size: 1 << 20,
        max_write_size: 1 << 20,
        preauth_hash_algorithm: smb311.then_some(hash_algorithm::SHA_512),
        preauth_salt: if smb311 {
            Bytes::from_static(&[0x11; 32])
        } else {
            Bytes::new()
        },
        ..Default::default()
    };
    response(req, NtStatus::SUCCESS, credits, |m| body.encode(m))
}

/// One transport frame carrying `msgs`, chained as a compound (MS-SMB2 3.3.4.1.3:
/// NextCommand offsets, each message 8-byte aligned).
fn frame(msgs: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let start = body.len();
        body.extend_from_slice(m);
        if i + 1 < msgs.len() {
            body.resize(start + m.len().next_multiple_of(8), 0);
            let next = (body.len() - start) as u32;
            body[start + 20..start + 24].copy_from_slice(&next.to_le_bytes());
        }
    }
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(&body);
    f
}

// ---- the client's side ----

fn feed(conn: &mut Connection, now: Instant, bytes: &[u8]) {
    conn.handle_input(now, &mut BytesMut::from(bytes));
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// `Event` has no `PartialEq`; its `Debug` form says everything it holds.
fn show(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| format!("{e:?}")).collect()
}

/// `events` is one failure of `id`: `want` (status, operation, path), with a trail that
/// holds the answer that carried the status.
fn assert_failed(events: Vec<Event>, id: OpId, want: Error) {
    match &events[..] {
        [Event::Done {
            id: got,
            result: Err(e),
        }] => {
            assert_eq!((got, e), (&id, &want));
            assert!(
                e.trail().iter().any(|t| t.status == want.status()),
                "{:?}",
                e.trail()
            );
        }
        other => panic!("expected {want:?}, got {other:?}"),
    }
}

fn done<T: std::any::Any + Send + std::fmt::Debug>(id: OpId, result: Result<T, Error>) -> Event {
    Event::Done {
        id,
        result: result.map(OpOutput::new),
    }
}

/// Connects share `s{tree}` as tree `tree` (answering its TREE_CONNECT) and returns the
/// share's name, for operations that name it.
fn share(conn: &mut Connection, t0: Instant, tree: u32) -> String {
    use smb_proto::wire::tree_connect::TreeConnectResponse;
    let name = format!("s{tree}");
    let id = conn.start(ops::ConnectShare::new(&name), t0).id();
    let req = only(sent(conn));
    assert_eq!(req.header.command, Command::TreeConnect as u16);
    let mut resp = response(&req.header, NtStatus::SUCCESS, 1, |m| {
        TreeConnectResponse::default().encode(m)
    });
    resp[36..40].copy_from_slice(&tree.to_le_bytes());
    feed(conn, t0, &frame(&[resp]));
    match only(events(conn)) {
        Event::Done {
            id: done,
            result: Ok(_),
        } if done == id => {}
        other => panic!("tree connect: {other:?}"),
    }
    name
}

/// A connection that negotiated SMB 2.1 with LARGE_MTU, holding `credits` credits.
fn negotiated(config: Config, credits: u16) -> (Connection, Instant) {
    let t0 = Instant::now();
    let mut conn = Connection::new(config, t0);
    let req = only(sent(&mut conn));
    assert_eq!(req.header.command, Command::Negotiate as u16);
    let resp = negotiate_response(&req.header, dialect::SMB2_1, credits);
    feed(&mut conn, t0, &frame(&[resp]));
    assert_eq!(conn.negotiated().map(|n| n.dialect), Some(Dialect::Smb210));
    assert!(events(&mut conn).is_empty());
    assert_eq!(conn.credits(), u32::from(credits));
    (conn, t0)
}

// ---- framing ----

/// A server that closes the connection without a byte in answer to the NEGOTIATE (as an
/// SMB1-only Samba does) is told apart from one that sent part of an answer and then went
/// away: only the first is `ClosedDuringNegotiate`, whose message names the SMB1 option.
#[test]
fn a_close_before_any_answer_is_not_a_close_mid_answer() {
    let t0 = Instant::now();
    let mut silent = Connection::new(config(), t0);
    let req = only(sent(&mut silent));
    silent.handle_transport_eof();
    match silent.close_reason() {
        Some(CloseReason::Negotiate(NegotiateFailure::ClosedDuringNegotiate { .. })) => {}
        other => panic!("{other:?}"),
    }
    let mut cut = Connection::new(config(), t0);
    let _ = sent(&mut cut);
    let answer = frame(&[negotiate_response(&req.header, dialect::SMB2_1, 1)]);
    feed(&mut cut, t0, &answer[..20]);
    cut.handle_transport_eof();
    match cut.close_reason() {
        Some(CloseReason::Transport(_)) => {}
        other => panic!("{other:?}"),
    }
}

/// Negotiates and runs two echoes, handing the server's bytes to the connection in
/// pieces of `chunk`; returns everything the connection sent and reported, in order.
fn echo_session(chunk: usize) -> Vec<String> {
    let t0 = Instant::now();
    let mut conn = Connection::new(config(), t0);
    let ids = [
        conn.start(ops::Echo, t0).id(),
        conn.start(ops::Echo, t0).id(),
    ];
    let mut log = Vec::new();
    let mut rx = BytesMut::new();
    let mut deliver = |conn: &mut Connection, bytes: &[u8], log: &mut Vec<String>| {
        for piece in bytes.chunks(chunk) {
            rx.extend_from_slice(piece);
            conn.handle_input(t0, &mut rx);
            log.extend(show(&events(conn)));
        }
        assert!(rx.is_empty(), "{} bytes left unconsumed", rx.len());
    };

    let neg = only(sent(&mut conn));
    log.push(format!("sent {:?}", neg.msg));
    deliver(
        &mut conn,
        &frame(&[negotiate_response(&neg.header, dialect::SMB2_1, 10)]),
        &mut log,
    );
    let echoes = sent(&mut conn);
    assert_eq!(echoes.len(), 2);
    log.extend(echoes.iter().map(|r| format!("sent {:?}", r.msg)));
    // Both answers in one stream, so pieces straddle the frame boundary.
    let mut stream = frame(&[echo_response(&echoes[0].header, 1)]);
    stream.extend(frame(&[echo_response(&echoes[1].header, 1)]));
    deliver(&mut conn, &stream, &mut log);

    let finished: Vec<String> = ids
        .iter()
        .map(|id| format!("{:?}", done(*id, Ok(()))))
        .collect();
    assert_eq!(log[log.len() - 2..], finished[..], "{log:#?}");
    log
}

#[test]
fn partial_frames_give_the_same_result_as_whole_ones() {
    let whole = echo_session(usize::MAX);
    assert_eq!(echo_session(1), whole, "one byte at a time");
    assert_eq!(echo_session(7), whole, "seven bytes at a time");
}

#[test]
fn a_frame_over_max_frame_len_is_refused_before_its_body_arrives() {
    let mut cfg = config();
    cfg.max_frame_len = 4096;
    // Only the 4-byte transport header: the client must not wait for (or buffer) 5000 bytes.
    let reason = CloseReason::Framing(FramingError::TooLong {
        len: 5000,
        max: 4096,
    });
    check_fatal(cfg, |_| vec![0, 0, 0x13, 0x88], reason);
}

// ---- credits ----

/// Three echoes, the third started before (`early`) or after the first answer, every
/// answer granting what its request asked for → the requests the client sent.
fn echoes_answered(early: bool) -> Vec<Vec<u8>> {
    let (mut conn, t0) = negotiated(config(), 10);
    let mut wire = Vec::new();
    let send = |conn: &mut Connection, wire: &mut Vec<Vec<u8>>| {
        let reqs = sent(conn);
        wire.extend(reqs.iter().map(|r| r.msg.to_vec()));
        reqs
    };
    conn.start(ops::Echo, t0);
    conn.start(ops::Echo, t0);
    let mut pending = send(&mut conn, &mut wire);
    if early {
        conn.start(ops::Echo, t0);
        pending.extend(send(&mut conn, &mut wire));
    }
    let first = pending.remove(0);
    feed(
        &mut conn,
        t0,
        &frame(&[echo_response(&first.header, first.header.credits)]),
    );
    if !early {
        conn.start(ops::Echo, t0);
        pending.extend(send(&mut conn, &mut wire));
    }
    for r in pending {
        feed(
            &mut conn,
            t0,
            &frame(&[echo_response(&r.header, r.header.credits)]),
        );
    }
    conn.start(ops::Echo, t0);
    send(&mut conn, &mut wire);
    wire
}

#[test]
fn credit_requests_depend_on_what_was_sent_not_on_when_answers_came() {
    // An async driver's calls race the socket: whether an answer is read before the next
    // request goes out must not change that request's bytes, or a session recorded on
    // one driver would not replay on another.
    let late = echoes_answered(false);
    assert_eq!(echoes_answered(true), late);
    let asked: Vec<u16> = late
        .iter()
        .map(|m| Header::decode(m).unwrap().credits)
        .collect();
    // Climbing from 10 held to the 512 target, counting what is asked already.
    assert_eq!(asked, [257, 248, 1, 1]);
}

#[test]
fn requests_queue_for_credits_and_never_exceed_the_grant() {
    let (mut conn, t0) = negotiated(config(), 1);
    // The client starts with one credit (MS-SMB2 3.2.4.1.2) and spent it on NEGOTIATE.
    let (mut granted, mut charged) = (1 + 1, 1);
    let ids: Vec<OpId> = (0..5).map(|_| conn.start(ops::Echo, t0).id()).collect();
    let mut finished = Vec::new();
    for (round, message_id) in (1..=5).enumerate() {
        let req = only(only(sent_frames(&mut conn)));
        assert_eq!(req.header.message_id, message_id, "round {round}");
        charged += req.header.credit_charge.max(1);
        assert!(
            charged <= granted,
            "round {round}: charged {charged} of {granted}"
        );
        assert_eq!((conn.in_flight(), conn.credits()), (1, 0), "round {round}");

        feed(&mut conn, t0, &frame(&[echo_response(&req.header, 1)]));
        granted += 1;
        for ev in events(&mut conn) {
            match ev {
                Event::Done { id, result: Ok(_) } => finished.push(id),
                other => panic!("round {round}: {other:?}"),
            }
        }
    }
    assert_eq!(finished, ids);
    assert!(sent(&mut conn).is_empty());
    assert_eq!((conn.in_flight(), conn.credits()), (0, 1));
}

#[test]
fn a_multi_credit_request_waits_for_its_whole_charge() {
    let (mut conn, t0) = negotiated(config(), 1);
    let echo = conn.start(ops::Echo, t0).id();
    let handle = Handle {
        tree: TreeId(3),
        file_id: FileId {
            persistent: 1,
            volatile: 2,
        },
    };
    let len = 3 * 65536;
    let read = conn.start(ops::Read::new(handle, 0, len), t0).id();
    // A 192 KiB READ costs three credits (MS-SMB2 3.1.5.2: one per started 64 KiB).
    let echo_req = only(sent(&mut conn));
    assert_eq!(echo_req.header.command, Command::Echo as u16);

    feed(&mut conn, t0, &frame(&[echo_response(&echo_req.header, 3)]));
    assert_eq!(show(&events(&mut conn)), show(&[done(echo, Ok(()))]));
    let read_req = only(sent(&mut conn));
    assert_eq!(read_req.header.command, Command::Read as u16);
    assert_eq!(read_req.header.credit_charge, 3);
    assert_eq!(read_req.header.message_id, 2);
    assert!(
        read_req.header.credits >= 3,
        "asks for at least what it spends"
    );
    assert_eq!(conn.credits(), 0);

    // Out of credits again: the next request waits, then takes the id after the three
    // the READ consumed.
    let next = conn.start(ops::Echo, t0).id();
    assert!(sent(&mut conn).is_empty());
    let data = Bytes::from(vec![0xab; len as usize]);
    let body = ReadResponse {
        data: data.clone(),
        ..Default::default()
    };
    let resp = response(&read_req.header, NtStatus::SUCCESS, 1, |m| body.encode(m));
    feed(&mut conn, t0, &frame(&[resp]));
    assert_eq!(show(&events(&mut conn)), show(&[done(read, Ok(data))]));
    let echo_req = only(sent(&mut conn));
    assert_eq!(echo_req.header.message_id, 5);
    feed(&mut conn, t0, &frame(&[echo_response(&echo_req.header, 1)]));
    assert_eq!(show(&events(&mut conn)), show(&[done(next, Ok(()))]));
}

// ---- interim responses and cancel ----

#[test]
fn an_interim_response_is_followed_by_exactly_one_completion() {
    let (mut conn, t0) = negotiated(config(), 10);
    let id = conn.start(ops::Echo, t0).id();
    let req = only(sent(&mut conn));
    assert_eq!(conn.poll_timeout(), Some(t0 + TIMEOUT));
    let before = conn.credits();

    let interim = async_response(&req.header, NtStatus::PENDING, 0xabc, 3, error_body);
    feed(&mut conn, t0, &frame(&[interim]));
    assert!(
        events(&mut conn).is_empty(),
        "an interim response completes nothing"
    );
    assert_eq!(
        conn.credits(),
        before + 3,
        "credits granted by the interim count"
    );
    assert_eq!(conn.in_flight(), 1);
    // The interim renews the request's timeout (MS-SMB2 3.2.5.1.5: the final response
    // follows); before it expires the final answer completes the operation.
    assert_eq!(conn.poll_timeout(), Some(t0 + TIMEOUT));
    conn.handle_timeout(t0 + TIMEOUT / 2);
    assert!(events(&mut conn).is_empty());

    let last = async_response(&req.header, NtStatus::SUCCESS, 0xabc, 1, |m| {
        EchoResponse.encode(m)
    });
    feed(&mut conn, t0 + TIMEOUT / 2, &frame(&[last]));
    assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(()))]));
    assert_eq!(conn.credits(), before + 4);
    assert_eq!(conn.in_flight(), 0);
}

#[test]
fn cancel_after_an_interim_response_names_the_async_id() {
    let (mut conn, t0) = negotiated(config(), 10);
    let id = conn.start(ops::Echo, t0).id();
    let req = only(sent(&mut conn));
    let interim = async_response(&req.header, NtStatus::PENDING, 0x77, 1, error_body);
    feed(&mut conn, t0, &frame(&[interim]));
    let credits = conn.credits();

    conn.cancel(id, t0);
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done::<()>(id, Err(Error::Cancelled))])
    );
    let cancel = only(sent(&mut conn));
    assert_eq!(cancel.header.command, Command::Cancel as u16);
    assert_eq!(cancel.header.message_id, req.header.message_id);
    assert!(cancel.header.is_async());
    assert_eq!(cancel.header.async_id, 0x77);
    assert_eq!(conn.credits(), credits, "CANCEL consumes no credit");

    // The server's final STATUS_CANCELLED is absorbed: credits, no second completion.
    let last = async_response(&req.header, NtStatus::CANCELLED, 0x77, 1, error_body);
    feed(&mut conn, t0, &frame(&[last]));
    assert!(events(&mut conn).is_empty());
    assert_eq!((conn.credits(), conn.in_flight()), (credits + 1, 0));
}

#[test]
fn cancelling_a_compound_cancels_each_request_in_message_id_order() {
    let (mut conn, t0) = negotiated(config(), 10);
    let s9 = share(&mut conn, t0, 9);
    let id = conn.start(ops::Stat::new(&s9, "a.txt"), t0).id();
    let requests = sent(&mut conn);
    conn.cancel(id, t0);
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done::<()>(id, Err(Error::Cancelled))])
    );
    let cancelled: Vec<u64> = sent(&mut conn)
        .iter()
        .map(|r| {
            assert_eq!(r.header.command, Command::Cancel as u16);
            r.header.message_id
        })
        .collect();
    let ids: Vec<u64> = requests.iter().map(|r| r.header.message_id).collect();
    assert_eq!(cancelled, ids);
}

// ---- compounds ----

/// Starts a stat of `dir/a.txt` and returns its CREATE + CLOSE compound.
fn start_stat(conn: &mut Connection, t0: Instant) -> (OpId, Request, Request) {
    let s9 = share(conn, t0, 9);
    let id = conn.start(ops::Stat::new(&s9, "dir/a.txt"), t0).id();
    let frames = sent_frames(conn);
    let [compound] = <[Vec<Request>; 1]>::try_from(frames).expect("one frame");
    let [create, close] = <[Request; 2]>::try_from(compound).expect("CREATE + CLOSE");
    assert_eq!(create.header.command, Command::Create as u16);
    assert_eq!(close.header.command, Command::Close as u16);
    assert_eq!(create.header.tree_id, 9);
    assert_eq!(create.header.flags & flags::RELATED_OPERATIONS, 0);
    assert_ne!(close.header.flags & flags::RELATED_OPERATIONS, 0);
    (id, create, close)
}

fn stat_answers(create: &Request, close: &Request) -> (Vec<u8>, Vec<u8>, FileInfo) {
    let created = CreateResponse {
        creation_time: FileTime(133_000_000_000_000_000),
        last_access_time: FileTime(133_000_000_000_000_001),
        last_write_time: FileTime(133_000_000_000_000_002),
        change_time: FileTime(133_000_000_000_000_003),
        allocation_size: 4096,
        end_of_file: 1234,
        file_attributes: file_attributes::ARCHIVE,
        file_id: FileId {
            persistent: 5,
            volatile: 6,
        },
        ..Default::default()
    };
    let info = FileInfo {
        name: "a.txt".into(),
        size: 1234,
        allocation_size: 4096,
        attributes: file_attributes::ARCHIVE,
        creation_time: created.creation_time,
        last_access_time: created.last_access_time,
        last_write_time: created.last_write_time,
        change_time: created.change_time,
        ..Default::default()
    };
    (
        response(&create.header, NtStatus::SUCCESS, 1, |m| created.encode(m)),
        response(&close.header, NtStatus::SUCCESS, 1, |m| {
            CloseResponse::default().encode(m)
        }),
        info,
    )
}

#[test]
fn a_compound_answered_in_one_frame() {
    let (mut conn, t0) = negotiated(config(), 10);
    let (id, create, close) = start_stat(&mut conn, t0);
    let (create_resp, close_resp, info) = stat_answers(&create, &close);
    feed(&mut conn, t0, &frame(&[create_resp, close_resp]));
    assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(info))]));
    assert_eq!((conn.in_flight(), conn.credits()), (0, 10));
}

#[test]
fn a_compound_answered_in_separate_frames() {
    let (mut conn, t0) = negotiated(config(), 10);
    let (id, create, close) = start_stat(&mut conn, t0);
    let (create_resp, close_resp, info) = stat_answers(&create, &close);
    feed(&mut conn, t0, &frame(&[create_resp]));
    assert!(
        events(&mut conn).is_empty(),
        "done only when the CLOSE is answered"
    );
    feed(&mut conn, t0, &frame(&[close_resp]));
    assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(info))]));
}

#[test]
fn a_failed_compound_completes_once_and_the_connection_goes_on() {
    let (mut conn, t0) = negotiated(config(), 10);
    let (id, create, close) = start_stat(&mut conn, t0);
    // MS-SMB2 3.3.5.2.7.2: the related CLOSE fails with the CREATE's status.
    let missing = NtStatus::OBJECT_NAME_NOT_FOUND;
    let answers = [
        response(&create.header, missing, 1, error_body),
        response(&close.header, missing, 1, error_body),
    ];
    feed(&mut conn, t0, &frame(&answers));
    let err = Error::failed(missing, "stat", "dir/a.txt");
    assert_failed(events(&mut conn), id, err);
    assert_eq!(conn.in_flight(), 0);
    assert!(conn.close_reason().is_none());

    let echo = conn.start(ops::Echo, t0).id();
    let req = only(sent(&mut conn));
    feed(&mut conn, t0, &frame(&[echo_response(&req.header, 1)]));
    assert_eq!(show(&events(&mut conn)), show(&[done(echo, Ok(()))]));
}

// ---- connection-fatal input ----

/// Puts two echoes in flight and a third in the queue (only two credits), feeds what
/// `bad` makes of the two requests, and checks that the connection ended once with
/// `reason`, failing all three operations, and stays ended.
fn check_fatal(cfg: Config, bad: impl FnOnce(&[Request]) -> Vec<u8>, reason: CloseReason) {
    let (mut conn, t0) = negotiated(cfg, 2);
    let ids: Vec<OpId> = (0..3).map(|_| conn.start(ops::Echo, t0).id()).collect();
    let reqs = sent(&mut conn);
    assert_eq!(reqs.len(), 2);
    feed(&mut conn, t0, &bad(&reqs));

    let closed: Result<(), Error> = Err(Error::Closed(reason.clone()));
    let mut expected: Vec<Event> = ids.iter().map(|id| done(*id, closed.clone())).collect();
    expected.push(Event::Closed(reason.clone()));
    assert_eq!(show(&events(&mut conn)), show(&expected));
    assert_eq!(conn.close_reason(), Some(&reason));
    assert_eq!(conn.in_flight(), 0);
    assert!(sent(&mut conn).is_empty());

    // Ended for good: a valid response changes nothing, a new operation fails at once,
    // and `Closed` is not reported again.
    feed(&mut conn, t0, &frame(&[echo_response(&reqs[1].header, 1)]));
    let late = conn.start(ops::Echo, t0).id();
    assert_eq!(show(&events(&mut conn)), show(&[done(late, closed)]));
    assert!(sent(&mut conn).is_empty());
}

#[test]
fn a_response_to_an_unknown_message_id_ends_the_connection() {
    let reason = CloseReason::Protocol(Violation::UnknownMessageId(99));
    check_fatal(
        config(),
        |reqs| {
            let mut h = reqs[0].header.clone();
            h.message_id = 99;
            frame(&[echo_response(&h, 1)])
        },
        reason,
    );
}

#[test]
fn a_message_without_the_response_flag_ends_the_connection() {
    let reason = CloseReason::Protocol(Violation::RequestFromServer);
    check_fatal(
        config(),
        |reqs| {
            let mut msg = echo_response(&reqs[0].header, 1);
            msg[16..20].copy_from_slice(&0u32.to_le_bytes());
            frame(&[msg])
        },
        reason,
    );
}

#[test]
fn a_bad_next_command_offset_ends_the_connection() {
    // Inside the header, unaligned, and past the end of the frame.
    for next in [8u32, 68, 1024] {
        let reason = CloseReason::Malformed(DecodeError::invalid("next command", next));
        check_fatal(
            config(),
            |reqs| {
                let mut msg = echo_response(&reqs[0].header, 1);
                msg[20..24].copy_from_slice(&next.to_le_bytes());
                let mut f = frame(&[msg]);
                f.extend_from_slice(&[0; 8]);
                f[3] += 8;
                f
            },
            reason,
        );
    }
}

#[test]
fn a_truncated_header_ends_the_connection() {
    let reason = CloseReason::Malformed(DecodeError::Truncated {
        what: "smb2 message",
        offset: 0,
        need: 64,
        have: 40,
    });
    check_fatal(
        config(),
        |reqs| {
            let msg = echo_response(&reqs[0].header, 1);
            frame(&[msg[..40].to_vec()])
        },
        reason,
    );
}

// ---- timeouts ----

#[test]
fn a_request_timeout_fails_only_its_operation() {
    let (mut conn, t0) = negotiated(config(), 10);
    let a = conn.start(ops::Echo, t0 + Duration::from_secs(1)).id();
    let b = conn.start(ops::Echo, t0 + Duration::from_secs(2)).id();
    let [req_a, req_b] = <[Request; 2]>::try_from(sent(&mut conn)).expect("two echoes");
    assert_eq!(
        conn.poll_timeout(),
        Some(t0 + Duration::from_secs(1) + TIMEOUT)
    );

    conn.handle_timeout(t0 + Duration::from_secs(5));
    assert!(
        events(&mut conn).is_empty(),
        "a spurious wake-up is harmless"
    );

    conn.handle_timeout(t0 + Duration::from_secs(1) + TIMEOUT);
    let timed_out = Error::Timeout {
        op: "echo",
        path: String::new(),
    };
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done::<()>(a, Err(timed_out))])
    );
    // The timed-out request is cancelled on the wire, reusing its message id.
    let cancel = only(sent(&mut conn));
    assert_eq!(
        (cancel.header.command, cancel.header.message_id),
        (Command::Cancel as u16, req_a.header.message_id)
    );
    assert_eq!(
        conn.poll_timeout(),
        Some(t0 + Duration::from_secs(2) + TIMEOUT)
    );
    assert!(conn.close_reason().is_none());

    let later = t0 + Duration::from_secs(12);
    feed(&mut conn, later, &frame(&[echo_response(&req_b.header, 1)]));
    assert_eq!(show(&events(&mut conn)), show(&[done(b, Ok(()))]));
    // The late answer to the abandoned request is absorbed; its credits still count.
    let credits = conn.credits();
    feed(&mut conn, later, &frame(&[echo_response(&req_a.header, 1)]));
    assert!(events(&mut conn).is_empty());
    assert_eq!((conn.credits(), conn.in_flight()), (credits + 1, 0));
    assert_eq!(conn.poll_timeout(), None);

    let c = conn.start(ops::Echo, later).id();
    let req = only(sent(&mut conn));
    feed(&mut conn, later, &frame(&[echo_response(&req.header, 1)]));
    assert_eq!(show(&events(&mut conn)), show(&[done(c, Ok(()))]));
}

/// An operation's own deadline covers it whole, however many requests it takes, and
/// comes before the per-request timeout when it is shorter.
#[test]
fn an_operation_deadline_ends_it_whole_and_goes_with_it() {
    let (mut conn, t0) = negotiated(config(), 10);
    let _slow = conn.start(ops::Echo, t0).id();
    let quick = conn.start(ops::Echo, t0).id();
    conn.set_deadline(quick, t0 + Duration::from_secs(2));
    let [_, req_quick] = <[Request; 2]>::try_from(sent(&mut conn)).expect("two echoes");
    assert_eq!(conn.poll_timeout(), Some(t0 + Duration::from_secs(2)));
    conn.handle_timeout(t0 + Duration::from_secs(1));
    assert!(events(&mut conn).is_empty());

    conn.handle_timeout(t0 + Duration::from_secs(2));
    let timed_out = Error::Timeout {
        op: "echo",
        path: String::new(),
    };
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done::<()>(quick, Err(timed_out))])
    );
    let cancel = only(sent(&mut conn));
    assert_eq!(
        (cancel.header.command, cancel.header.message_id),
        (Command::Cancel as u16, req_quick.header.message_id)
    );
    // The other operation keeps the per-request timeout only.
    assert_eq!(conn.poll_timeout(), Some(t0 + TIMEOUT));
    assert!(conn.close_reason().is_none());
    // A deadline for an operation that already ended is ignored.
    conn.set_deadline(quick, t0);
    assert_eq!(conn.poll_timeout(), Some(t0 + TIMEOUT));
}

#[test]
fn simultaneous_timeouts_fail_in_a_deterministic_order() {
    // The order must not depend on a hash map's random seed, or a session with timeouts
    // would not replay.
    let (mut conn, t0) = negotiated(config(), 64);
    let ids: Vec<OpId> = (0..16).map(|_| conn.start(ops::Echo, t0).id()).collect();
    assert_eq!(sent(&mut conn).len(), 16);
    conn.handle_timeout(t0 + TIMEOUT);
    let failed: Vec<OpId> = events(&mut conn)
        .into_iter()
        .map(|ev| match ev {
            Event::Done {
                id,
                result: Err(Error::Timeout { .. }),
            } => id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(failed, ids);
}

#[test]
fn an_unanswered_negotiate_ends_the_connection_at_the_timeout() {
    let t0 = Instant::now();
    let mut conn = Connection::new(config(), t0);
    let id = conn.start(ops::Echo, t0).id();
    assert_eq!(conn.poll_timeout(), Some(t0 + TIMEOUT));
    conn.handle_timeout(t0 + TIMEOUT - Duration::from_millis(1));
    assert!(events(&mut conn).is_empty());
    conn.handle_timeout(t0 + TIMEOUT);
    let reason = CloseReason::NegotiateTimeout;
    let expected = [
        done::<()>(id, Err(Error::Closed(reason.clone()))),
        Event::Closed(reason),
    ];
    assert_eq!(show(&events(&mut conn)), show(&expected));
}

// ---- negotiation ----

#[test]
fn a_dialect_outside_the_configured_range_ends_the_connection() {
    for chosen in [dialect::SMB2_0_2, dialect::SMB3_1_1] {
        let mut cfg = config();
        cfg.min_dialect = Dialect::Smb210;
        cfg.max_dialect = Dialect::Smb302;
        let t0 = Instant::now();
        let mut conn = Connection::new(cfg, t0);
        let id = conn.start(ops::Echo, t0).id();
        let req = only(sent(&mut conn));
        let offered = NegotiateRequest::decode(&req.msg)
            .expect("NEGOTIATE")
            .dialects;
        assert_eq!(
            offered,
            [dialect::SMB2_1, dialect::SMB3_0, dialect::SMB3_0_2]
        );

        feed(
            &mut conn,
            t0,
            &frame(&[negotiate_response(&req.header, chosen, 10)]),
        );
        let reason = CloseReason::Negotiate(smb_proto::NegotiateFailure::Dialect(chosen));
        let expected = [
            done::<()>(id, Err(Error::Closed(reason.clone()))),
            Event::Closed(reason),
        ];
        assert_eq!(
            show(&events(&mut conn)),
            show(&expected),
            "dialect {chosen:#x}"
        );
        assert!(conn.negotiated().is_none());
        assert!(sent(&mut conn).is_empty(), "the ECHO never goes out");
    }
}

#[test]
fn a_request_that_needs_more_credits_than_held_probes_with_an_echo_then_gives_up() {
    let (mut conn, t0) = negotiated(config(), 1);
    let handle = Handle {
        tree: TreeId(3),
        file_id: FileId {
            persistent: 1,
            volatile: 2,
        },
    };
    let read = conn.start(ops::Read::new(handle, 0, 3 * 65536), t0).id();
    // Nothing in flight would ever grant the three credits: an ECHO asks for them.
    for round in 0..3 {
        let probe = only(sent(&mut conn));
        assert_eq!(probe.header.command, Command::Echo as u16, "probe {round}");
        assert!(
            probe.header.credits >= 3,
            "the probe asks for what the READ needs"
        );
        feed(&mut conn, t0, &frame(&[echo_response(&probe.header, 1)]));
        if round < 2 {
            assert!(
                events(&mut conn).is_empty(),
                "probes are the connection's own"
            );
        }
    }
    // A server that keeps granting one credit is given up on instead of waited for forever.
    let evs = show(&events(&mut conn));
    assert!(sent(&mut conn).is_empty());
    assert!(
        matches!(
            conn.close_reason(),
            Some(CloseReason::Protocol(Violation::CreditStarvation { .. }))
        ),
        "{evs:?}"
    );
    assert!(
        evs[0].starts_with(&format!("Done {{ id: {read:?}, result: Err(Closed")),
        "{evs:?}"
    );
}

#[test]
fn a_directory_entry_that_is_not_one_path_component_ends_the_connection() {
    use smb_proto::wire::fscc::FileIdBothDirectoryInformation;
    use smb_proto::wire::query_directory::QueryDirectoryResponse;
    for evil in ["../escape", "a/b", "a\\b", ""] {
        // A 1 MiB listing buffer costs 16 credits.
        let (mut conn, t0) = negotiated(config(), 64);
        let s9 = share(&mut conn, t0, 9);
        let list = conn.start(ops::ListDir::new(&s9, "d", "*"), t0).id();
        let [create, query] = <[Request; 2]>::try_from(only(sent_frames(&mut conn)))
            .expect("CREATE + QUERY_DIRECTORY");
        let created = CreateResponse {
            file_id: FileId {
                persistent: 5,
                volatile: 6,
            },
            ..Default::default()
        };
        let entry = FileIdBothDirectoryInformation {
            file_name: evil.into(),
            ..Default::default()
        };
        let mut buffer = Vec::new();
        FileIdBothDirectoryInformation::encode_list(&[entry], &mut buffer);
        let listing = QueryDirectoryResponse {
            buffer: buffer.into(),
        };
        feed(
            &mut conn,
            t0,
            &frame(&[
                response(&create.header, NtStatus::SUCCESS, 1, |m| created.encode(m)),
                response(&query.header, NtStatus::SUCCESS, 1, |m| listing.encode(m)),
            ]),
        );
        assert!(
            matches!(
                conn.close_reason(),
                Some(CloseReason::Protocol(Violation::EntryName(_)))
            ),
            "{evil:?}"
        );
        let evs = show(&events(&mut conn));
        assert!(
            evs[0].starts_with(&format!("Done {{ id: {list:?}, result: Err(Closed")),
            "{evs:?}"
        );
    }
}

/// Arbitrary server bytes never panic the core: random frames, and real responses with
/// random bytes flipped, fed to a connection with operations of every kind in flight.
#[test]
fn arbitrary_server_bytes_end_in_a_typed_close_never_a_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut closed, mut open) = (0, 0);
    for round in 0..2000 {
        let (mut conn, t0) = negotiated(config(), 64);
        let handle = Handle {
            tree: TreeId(1),
            file_id: FileId {
                persistent: 1,
                volatile: 2,
            },
        };
        let s1 = share(&mut conn, t0, 1);
        conn.start(ops::Stat::new(&s1, "a"), t0);
        conn.start(ops::ListDir::new(&s1, "d", "*"), t0);
        conn.start(ops::Read::new(handle, 0, 4096), t0);
        conn.start(ops::ReadFile::new(&s1, "f", 0, None), t0);
        // A share not connected yet: its TREE_CONNECT is in flight too.
        conn.start(ops::Delete::new("other", "x/*.txt"), t0);
        let reqs = sent(&mut conn);
        // Half the rounds answer a real request with a corrupted body, half send noise.
        let mut msg = match reqs.get(next() as usize % reqs.len().max(1)) {
            Some(r) if round % 2 == 0 => {
                let mut m = response(&r.header, NtStatus::SUCCESS, 1, |m| {
                    m.extend((0..next() % 200).map(|_| next() as u8))
                });
                for _ in 0..(next() % 8) {
                    let i = next() as usize % m.len();
                    m[i] ^= next() as u8;
                }
                m
            }
            _ => (0..next() % 300).map(|_| next() as u8).collect(),
        };
        if round % 3 == 0 {
            msg.truncate(next() as usize % (msg.len() + 1));
        }
        let mut bytes = frame(&[msg]);
        if round % 5 == 0 {
            bytes[0] = next() as u8;
        }
        feed(&mut conn, t0, &bytes);
        let _ = events(&mut conn);
        if conn.close_reason().is_some() {
            closed += 1;
        } else {
            open += 1;
        }
        // Whatever happened, the connection is in a consistent state: either still usable
        // or closed with a reason, and it keeps accepting calls without panicking.
        conn.start(ops::Echo, t0).id();
        conn.handle_timeout(t0 + Duration::from_secs(3600));
        let _ = (sent(&mut conn), events(&mut conn), conn.close_reason());
    }
    // Both outcomes occurred, so both paths were exercised: most garbage is fatal, and
    // some (an incomplete frame) just waits for more bytes.
    assert!(
        closed > 1000 && open > 10,
        "closed {closed}, still open {open}"
    );
}

#[test]
fn operations_started_before_negotiation_wait_for_it() {
    let t0 = Instant::now();
    let mut conn = Connection::new(config(), t0);
    let neg = only(sent(&mut conn));
    // Started before the NEGOTIATE response: nothing goes out yet, nothing panics.
    let read = conn.start(ops::ReadFile::new("s1", "f", 0, None), t0).id();
    let echo = conn.start(ops::Echo, t0).id();
    let cancelled = conn.start(ops::Echo, t0).id();
    conn.cancel(cancelled, t0);
    assert!(sent(&mut conn).is_empty());
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done::<()>(cancelled, Err(Error::Cancelled))])
    );
    feed(
        &mut conn,
        t0,
        &frame(&[negotiate_response(&neg.header, dialect::SMB2_1, 64)]),
    );
    let commands = |frames: Vec<Vec<Request>>| -> Vec<Vec<u16>> {
        frames
            .iter()
            .map(|f| f.iter().map(|r| r.header.command).collect())
            .collect()
    };
    // The read's share is connected first; the ECHO needs no tree.
    let frames = sent_frames(&mut conn);
    let tree_connect = frames[1][0].header.clone();
    assert_eq!(
        commands(frames),
        vec![
            vec![Command::Echo as u16],
            vec![Command::TreeConnect as u16]
        ]
    );
    let resp = response(&tree_connect, NtStatus::SUCCESS, 1, |m| {
        smb_proto::wire::tree_connect::TreeConnectResponse::default().encode(m)
    });
    feed(&mut conn, t0, &frame(&[resp]));
    // The whole-file read's first compound is sized from the negotiated limits.
    assert_eq!(
        commands(sent_frames(&mut conn)),
        vec![vec![
            Command::Create as u16,
            Command::Read as u16,
            Command::Close as u16
        ]]
    );
    let _ = (read, echo);
}

#[test]
fn a_path_too_long_for_the_wire_is_refused_not_truncated() {
    let (mut conn, t0) = negotiated(config(), 64);
    // 65,536 + 20 bytes of UTF-16: a 16-bit NameLength would keep only "victim.txt".
    let path = format!("victim.txt\\{}", "x".repeat(32_767));
    let id = conn.start(ops::Delete::new("s1", &path), t0).id();
    assert!(sent(&mut conn).is_empty(), "nothing may go out");
    let evs = show(&events(&mut conn));
    assert_eq!(evs.len(), 1);
    assert!(
        evs[0].starts_with(&format!("Done {{ id: {id:?}, result: Err(Path {{"))
            && evs[0].contains("TooLong { units: 32778 }"),
        "{evs:?}"
    );
}

fn open_dir_ok(req: &Header) -> Vec<u8> {
    let created = CreateResponse {
        file_attributes: file_attributes::DIRECTORY,
        file_id: FileId {
            persistent: 77,
            volatile: 88,
        },
        ..Default::default()
    };
    response(req, NtStatus::SUCCESS, 1, |m| created.encode(m))
}

fn closes_of(reqs: &[Request]) -> Vec<FileId> {
    use smb_proto::wire::close::CloseRequest;
    reqs.iter()
        .filter(|r| r.header.command == Command::Close as u16)
        .map(|r| CloseRequest::decode(&r.msg).expect("CLOSE decodes").file_id)
        .collect()
}

#[test]
fn a_create_answered_after_its_operation_was_cancelled_is_closed() {
    let (mut conn, t0) = negotiated(config(), 100);
    let s9 = share(&mut conn, t0, 9);
    let id = conn.start(ops::ListDir::new(&s9, "d", "*"), t0).id();
    let reqs = sent(&mut conn);
    conn.cancel(id, t0);
    let cancels = sent(&mut conn);
    assert!(
        cancels
            .iter()
            .all(|r| r.header.command == Command::Cancel as u16)
            && cancels.len() == 2
    );
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done::<()>(id, Err(Error::Cancelled))])
    );
    let q = response(&reqs[1].header, NtStatus::CANCELLED, 1, error_body);
    feed(&mut conn, t0, &frame(&[open_dir_ok(&reqs[0].header), q]));
    let closes = closes_of(&sent(&mut conn));
    assert_eq!(
        closes,
        vec![FileId {
            persistent: 77,
            volatile: 88
        }]
    );
}

#[test]
fn a_timeout_closes_what_the_operation_had_opened_and_cancels_the_rest() {
    let (mut conn, t0) = negotiated(config(), 100);
    let s9 = share(&mut conn, t0, 9);
    let id = conn.start(ops::ListDir::new(&s9, "d", "*"), t0).id();
    let reqs = sent(&mut conn);
    feed(&mut conn, t0, &frame(&[open_dir_ok(&reqs[0].header)]));
    assert!(sent(&mut conn).is_empty());
    conn.handle_timeout(t0 + TIMEOUT + Duration::from_secs(1));
    let after = sent(&mut conn);
    assert_eq!(
        after[0].header.command,
        Command::Cancel as u16,
        "the QUERY_DIRECTORY is cancelled"
    );
    assert_eq!(
        closes_of(&after),
        vec![FileId {
            persistent: 77,
            volatile: 88
        }]
    );
    let evs = show(&events(&mut conn));
    assert!(
        evs[0].contains("Timeout { op: \"list\", path: \"d\" }"),
        "{evs:?}"
    );
    let _ = id;
}

/// Interim responses once renewed the request's timeout, so a server sending one every
/// few seconds held an operation forever despite the timeout.
#[test]
fn interim_responses_never_move_the_deadline_the_request_was_sent_with() {
    let (mut conn, t0) = negotiated(config(), 100);
    let id = conn.start(ops::Echo, t0).id();
    let req = only(sent(&mut conn));
    let interim = || {
        frame(&[async_response(
            &req.header,
            NtStatus::PENDING,
            42,
            1,
            error_body,
        )])
    };
    for second in [1, 4, 7] {
        feed(&mut conn, t0 + Duration::from_secs(second), &interim());
        assert_eq!(
            conn.poll_timeout(),
            Some(t0 + TIMEOUT),
            "never removed or moved"
        );
        assert!(events(&mut conn).is_empty());
    }
    conn.handle_timeout(t0 + TIMEOUT);
    let evs = show(&events(&mut conn));
    assert!(
        evs[0].starts_with(&format!("Done {{ id: {id:?}, result: Err(Timeout")),
        "{evs:?}"
    );
}

#[test]
fn a_request_answered_by_endless_interims_ends_the_connection() {
    let mut cfg = config();
    cfg.request_timeout = None;
    let (mut conn, t0) = negotiated(cfg, 100);
    let id = conn.start(ops::Echo, t0).id();
    let req = only(sent(&mut conn));
    let mut closed = None;
    for _ in 0..100 {
        let interim = async_response(&req.header, NtStatus::PENDING, 42, 1, error_body);
        feed(&mut conn, t0, &frame(&[interim]));
        let evs = events(&mut conn);
        if let Some(Event::Closed(reason)) = evs.iter().find(|e| matches!(e, Event::Closed(_))) {
            assert!(
                show(&evs)
                    .iter()
                    .any(|e| e.starts_with(&format!("Done {{ id: {id:?}, result: Err(Closed"))),
                "{evs:?}"
            );
            closed = Some(reason.clone());
            break;
        }
    }
    match closed {
        Some(CloseReason::Protocol(Violation::EndlessInterims { limit, .. })) => {
            assert_eq!(limit, 8)
        }
        other => panic!("{other:?}"),
    }
}

/// A timeout too large for an `Instant` once overflowed the addition and panicked.
#[test]
fn a_huge_timeout_means_wait_never_an_overflow() {
    let mut cfg = config();
    cfg.request_timeout = Some(Duration::from_secs(u64::MAX));
    let (mut conn, t0) = negotiated(cfg, 100);
    conn.start(ops::Echo, t0).id();
    assert_eq!(only(sent(&mut conn)).header.command, Command::Echo as u16);
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn a_311_server_must_choose_from_what_was_offered() {
    use smb_proto::crypto::encryption::Cipher;
    use smb_proto::crypto::signing::SigningAlgorithm;
    let answer = |tweak: &dyn Fn(&mut NegotiateResponse)| {
        let mut cfg = config();
        cfg.ciphers = vec![Cipher::Aes256Gcm];
        cfg.signing_algorithms = vec![SigningAlgorithm::AesGmac];
        let t0 = Instant::now();
        let mut conn = Connection::new(cfg, t0);
        let req = only(sent(&mut conn));
        let mut body = NegotiateResponse {
            dialect_revision: dialect::SMB3_1_1,
            max_transact_size: 1 << 20,
            max_read_size: 1 << 20,
            max_write_size: 1 << 20,
            preauth_hash_algorithm: Some(hash_algorithm::SHA_512),
            preauth_salt: Bytes::from_static(&[0x11; 32]),
            cipher: Some(Cipher::Aes256Gcm.id()),
            signing_algorithm: Some(SigningAlgorithm::AesGmac.id()),
            ..Default::default()
        };
        tweak(&mut body);
        feed(
            &mut conn,
            t0,
            &frame(&[response(&req.header, NtStatus::SUCCESS, 1, |m| {
                body.encode(m)
            })]),
        );
        conn.close_reason().cloned()
    };
    assert_eq!(answer(&|_| {}), None);
    use smb_proto::NegotiateFailure as F;
    for (tweak, failure) in [
        (
            &(|b: &mut NegotiateResponse| b.cipher = Some(Cipher::Aes128Ccm.id()))
                as &dyn Fn(&mut NegotiateResponse),
            F::CipherNotOffered(Cipher::Aes128Ccm),
        ),
        (
            &|b| b.signing_algorithm = Some(SigningAlgorithm::HmacSha256.id()),
            F::SigningNotOffered(SigningAlgorithm::HmacSha256),
        ),
        (&|b| b.preauth_hash_algorithm = None, F::NoPreauthIntegrity),
    ] {
        assert_eq!(answer(tweak), Some(CloseReason::Negotiate(failure)));
    }
}

#[test]
fn a_listing_that_never_makes_progress_ends() {
    use smb_proto::wire::fscc::FileIdBothDirectoryInformation;
    use smb_proto::wire::query_directory::QueryDirectoryResponse;
    let (mut conn, t0) = negotiated(config(), 64);
    let s9 = share(&mut conn, t0, 9);
    let list = conn.start(ops::ListDir::new(&s9, "d", "*"), t0).id();
    let dot = FileIdBothDirectoryInformation {
        file_name: ".".into(),
        ..Default::default()
    };
    let mut buffer = Vec::new();
    FileIdBothDirectoryInformation::encode_list(&[dot], &mut buffer);
    let page = QueryDirectoryResponse {
        buffer: buffer.into(),
    };
    let [create, mut query] =
        <[Request; 2]>::try_from(sent(&mut conn)).expect("CREATE + QUERY_DIRECTORY");
    feed(&mut conn, t0, &frame(&[open_dir_ok(&create.header)]));
    let mut pages = 0;
    while conn.close_reason().is_none() {
        pages += 1;
        assert!(pages < 100, "the listing must give up");
        feed(
            &mut conn,
            t0,
            // Each answer gives back the credits its request was charged, so it is the
            // empty pages that end the listing, not a lack of credits.
            &frame(&[response(
                &query.header,
                NtStatus::SUCCESS,
                query.header.credit_charge.max(1),
                |m| page.encode(m),
            )]),
        );
        if let Some(next) = sent(&mut conn).into_iter().next() {
            query = next;
        }
    }
    assert!(
        matches!(
            conn.close_reason(),
            Some(CloseReason::Protocol(Violation::EmptyPages))
        ),
        "{:?}",
        conn.close_reason()
    );
    let evs = show(&events(&mut conn));
    assert!(
        evs[0].starts_with(&format!("Done {{ id: {list:?}, result: Err(Closed")),
        "{evs:?}"
    );
}

// ---- downloads never trust the size the server reports ----

/// A file server whose file holds `real` but reports `at_open` bytes in the CREATE
/// response and `at_close` in a CLOSE's post-query attributes. Serves a whole-file read
/// until it ends; returns the bytes the client delivered and its result.
fn serve_get(real: &[u8], at_open: u64, at_close: u64) -> (Vec<u8>, Result<u64, Error>) {
    use smb_proto::wire::close::{flags as close_flags, CloseRequest};
    use smb_proto::wire::read::ReadRequest;
    let (mut conn, t0) = negotiated(config(), 64);
    let s3 = share(&mut conn, t0, 3);
    let get = conn.start(ops::ReadFile::new(&s3, "f.bin", 0, None), t0);
    let id = get.id();
    let file_id = FileId {
        persistent: 1,
        volatile: 2,
    };
    // Every answer gives back what its request was charged.
    let grant = |r: &Request| r.header.credit_charge.max(1);
    let mut got = Vec::new();
    for _round in 0..100 {
        let frames = sent_frames(&mut conn);
        assert!(!frames.is_empty(), "the client stopped without finishing");
        for reqs in frames {
            let answers: Vec<Vec<u8>> = reqs
                .iter()
                .map(|r| match Command::from_u16(r.header.command) {
                    Ok(Command::Create) => {
                        let c = CreateResponse {
                            end_of_file: at_open,
                            file_id,
                            ..Default::default()
                        };
                        response(&r.header, NtStatus::SUCCESS, grant(r), |m| c.encode(m))
                    }
                    Ok(Command::Read) => {
                        let q = ReadRequest::decode(&r.msg).expect("READ decodes");
                        let from = (q.offset as usize).min(real.len());
                        let to = (from + q.length as usize).min(real.len());
                        if from == to {
                            response(&r.header, NtStatus::END_OF_FILE, grant(r), error_body)
                        } else {
                            let body = ReadResponse {
                                data: Bytes::copy_from_slice(&real[from..to]),
                                ..Default::default()
                            };
                            response(&r.header, NtStatus::SUCCESS, grant(r), |m| body.encode(m))
                        }
                    }
                    Ok(Command::Close) => {
                        let q = CloseRequest::decode(&r.msg).expect("CLOSE decodes");
                        let c = CloseResponse {
                            flags: q.flags & close_flags::POSTQUERY_ATTRIB,
                            end_of_file: at_close,
                            ..Default::default()
                        };
                        response(&r.header, NtStatus::SUCCESS, grant(r), |m| c.encode(m))
                    }
                    other => panic!("unexpected request {other:?}"),
                })
                .collect();
            feed(&mut conn, t0, &frame(&answers));
        }
        for ev in events(&mut conn) {
            match ev {
                Event::Data { offset, data, .. } => {
                    assert_eq!(offset, got.len() as u64, "data in file order");
                    got.extend_from_slice(&data);
                }
                Event::Done { id: done, result } if done == id => return (got, get.output(result)),
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
    panic!("the download never finished");
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Size 0 at open once made a download of a 1 MiB file an empty file and a success.
#[test]
fn a_download_reads_to_end_of_file_whatever_size_was_reported() {
    const MIB: usize = 1 << 20;
    for (len, at_open, at_close) in [
        // Fits in the first compound's READ; the CREATE lies, the CLOSE does not.
        (300_000, 0, 300_000),
        // Both lie.
        (300_000, 0, 0),
        // Larger than one READ (max_read_size is 1 MiB here), both lie.
        (MIB + MIB / 2, 0, 0),
        (3 * MIB + 17, 1, 2),
        // Reported right: the usual case.
        (3 * MIB + 17, 3 * MIB as u64 + 17, 3 * MIB as u64 + 17),
        (MIB, MIB as u64, MIB as u64),
        (0, 0, 0),
    ] {
        let real = pattern(len);
        let (got, result) = serve_get(&real, at_open, at_close);
        assert_eq!(
            format!("{result:?}"),
            format!("{:?}", Ok::<_, Error>(len as u64)),
            "len {len}, reported {at_open} / {at_close}"
        );
        assert!(got == real, "len {len}: the bytes differ");
    }
}

#[test]
fn a_file_that_ends_before_its_reported_size_is_an_error_not_a_short_success() {
    const MIB: usize = 1 << 20;
    for (len, at_open, at_close) in [
        (100, 2 * MIB as u64, 100),
        (100, 2 * MIB as u64, 2 * MIB as u64),
        (MIB + 5, 3 * MIB as u64, 3 * MIB as u64),
        (0, 10, 10),
    ] {
        let (got, result) = serve_get(&pattern(len), at_open, at_close);
        match result {
            Err(Error::Incomplete { op, path, detail }) => {
                assert_eq!((op, path.as_str()), ("get", "f.bin"));
                assert!(detail.contains("changed"), "{detail}");
            }
            other => panic!("len {len}, reported {at_open}: {other:?}"),
        }
        assert!(got.len() <= len);
    }
}

// ---- paths are checked before anything is sent ----

/// `scratch/../hello.txt` once deleted `hello.txt` outside `scratch` (an escaped `/` in a
/// URL became this path); `a1.txt/` deleted the file `a1.txt`.
#[test]
fn paths_that_climb_or_name_a_directory_for_a_file_operation_send_nothing() {
    use smb_proto::error::PathError;
    let (mut conn, t0) = negotiated(config(), 64);
    let cases: Vec<(BoxedOp, PathError)> = vec![
        (
            BoxedOp::new(ops::Delete::new("s", "scratch/../hello.txt")),
            PathError::ParentComponent,
        ),
        (
            BoxedOp::new(ops::Delete::new("s", "scratch\\..\\*")),
            PathError::ParentComponent,
        ),
        (
            BoxedOp::new(ops::Delete::new("s", "a1.txt/")),
            PathError::NamesDirectory,
        ),
        (
            BoxedOp::new(ops::Delete::new("s", "scratch/*/")),
            PathError::NamesDirectory,
        ),
        (
            BoxedOp::new(ops::Delete::new("s", "a1.txt/.")),
            PathError::NamesDirectory,
        ),
        (
            BoxedOp::new(ops::Delete::new("s", "/")),
            PathError::EmptyName,
        ),
        (
            BoxedOp::new(ops::ReadFile::new("s", "f/", 0, None)),
            PathError::NamesDirectory,
        ),
        (
            BoxedOp::new(ops::WriteFile::new("s", "f\\")),
            PathError::NamesDirectory,
        ),
        (
            BoxedOp::new(ops::ListDir::new("s", "d", "../*")),
            PathError::Separator,
        ),
        (BoxedOp::new(ops::Stat::new("s", "a\0b")), PathError::Nul),
        (
            BoxedOp::new(ops::Rename::new("s", "a", "../b", false)),
            PathError::ParentComponent,
        ),
        (
            BoxedOp::new(ops::ConnectShare::new("a\\b")),
            PathError::Separator,
        ),
    ];
    for (op, problem) in cases {
        let shown = format!("{op:?}");
        let id = conn.start_boxed(op, t0);
        assert!(sent(&mut conn).is_empty(), "{shown}: nothing may go out");
        match only(events(&mut conn)) {
            Event::Done {
                id: done,
                result: Err(Error::Path { problem: p, .. }),
            } if done == id => assert_eq!(p, problem, "{shown}"),
            other => panic!("{shown}: {other:?}"),
        }
    }
}

/// A path spelled as a directory is opened only as one: the server answers
/// STATUS_NOT_A_DIRECTORY for a file instead of the stat describing the file.
#[test]
fn a_stat_of_a_path_ending_in_a_separator_asks_for_a_directory() {
    use smb_proto::wire::create::{create_options, CreateRequest};
    let (mut conn, t0) = negotiated(config(), 64);
    let s1 = share(&mut conn, t0, 1);
    for (path, wire, dir) in [
        ("a1.txt/", "a1.txt", true),
        ("x\\y\\.", "x\\y", true),
        ("a1.txt", "a1.txt", false),
    ] {
        conn.start(ops::Stat::new(&s1, path), t0);
        let reqs = sent(&mut conn);
        let create = CreateRequest::decode(&reqs[0].msg).expect("CREATE decodes");
        assert_eq!(create.name, wire);
        assert_eq!(
            create.create_options & create_options::DIRECTORY_FILE != 0,
            dir,
            "{path}"
        );
    }
}

// ---- uploads: the access an overwrite needs, and what a failed one leaves ----

/// What an independent server demanded to overwrite a file: every bit of
/// FILE_GENERIC_READ | FILE_GENERIC_WRITE (smbclient's 0x0012019F). Our puts once asked
/// for 0x00100182 and were refused with STATUS_ACCESS_DENIED.
const STRICT_OVERWRITE_ACCESS: u32 = 0x0012_019F;

/// Answers one CREATE the way that server does: ACCESS_DENIED for an overwriting
/// disposition without the wider access, else a new file.
fn strict_create(req: &Request) -> Vec<u8> {
    use smb_proto::wire::create::{create_action, disposition, CreateRequest};
    let c = CreateRequest::decode(&req.msg).expect("CREATE decodes");
    let overwrites = matches!(
        c.create_disposition,
        disposition::OVERWRITE | disposition::OVERWRITE_IF | disposition::SUPERSEDE
    );
    if overwrites && c.desired_access & STRICT_OVERWRITE_ACCESS != STRICT_OVERWRITE_ACCESS {
        return response(&req.header, NtStatus::ACCESS_DENIED, 1, error_body);
    }
    let created = CreateResponse {
        create_action: create_action::CREATED,
        file_id: FileId {
            persistent: 3,
            volatile: 4,
        },
        ..Default::default()
    };
    response(&req.header, NtStatus::SUCCESS, 1, |m| created.encode(m))
}

/// Starts a put of `data` and returns its id and the compound it sent.
fn start_put(conn: &mut Connection, t0: Instant, data: &'static [u8]) -> (OpId, Vec<Request>) {
    let s2 = share(conn, t0, 2);
    let id = conn.start(ops::WriteFile::new(&s2, "up.bin"), t0).id();
    assert!(sent(conn).is_empty(), "the first chunk is asked for first");
    match only(events(conn)) {
        Event::WantData { id: want, .. } => assert_eq!(want, id),
        other => panic!("{other:?}"),
    }
    conn.supply(id, 0, Bytes::from_static(data), t0);
    (id, only(sent_frames(conn)))
}

#[test]
fn puts_and_write_opens_ask_for_the_access_a_strict_server_needs_to_overwrite() {
    use smb_proto::OpenOptions;
    let (mut conn, t0) = negotiated(config(), 64);
    let (id, reqs) = start_put(&mut conn, t0, b"payload");
    let commands: Vec<u16> = reqs.iter().map(|r| r.header.command).collect();
    let (create, write, close) = (
        Command::Create as u16,
        Command::Write as u16,
        Command::Close as u16,
    );
    assert_eq!(commands, [create, write, close]);
    let written = smb_proto::wire::write::WriteResponse {
        count: 7,
        ..Default::default()
    };
    let answers = vec![
        strict_create(&reqs[0]),
        response(&reqs[1].header, NtStatus::SUCCESS, 1, |m| written.encode(m)),
        response(&reqs[2].header, NtStatus::SUCCESS, 1, |m| {
            CloseResponse::default().encode(m)
        }),
    ];
    feed(&mut conn, t0, &frame(&answers));
    assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(7u64))]));

    for options in [OpenOptions::overwrite(), OpenOptions::read_write_create()] {
        let id = conn.start(ops::Open::new("s2", "f.bin", options), t0).id();
        let req = only(sent(&mut conn));
        feed(&mut conn, t0, &frame(&[strict_create(&req)]));
        match only(events(&mut conn)) {
            Event::Done {
                id: done,
                result: Ok(opened),
            } if done == id
                && opened
                    .downcast_ref::<(smb_proto::Handle, FileInfo)>()
                    .is_some() => {}
            other => panic!("{options:?}: {other:?}"),
        }
    }
}

/// A put whose WRITE fails after the CREATE made the file: the error says the name now
/// exists on the server without the upload, and keeps the cause's status and errno.
#[test]
fn a_put_that_fails_after_creating_the_file_says_what_it_left() {
    let (mut conn, t0) = negotiated(config(), 64);
    let (id, reqs) = start_put(&mut conn, t0, b"payload");
    let answers = vec![
        strict_create(&reqs[0]),
        response(&reqs[1].header, NtStatus::DISK_FULL, 1, error_body),
        response(&reqs[2].header, NtStatus::SUCCESS, 1, |m| {
            CloseResponse::default().encode(m)
        }),
    ];
    feed(&mut conn, t0, &frame(&answers));
    let evs = events(&mut conn);
    let err = match &evs[..] {
        [Event::Done {
            id: done,
            result: Err(e),
        }] if *done == id => e.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(&err, Error::UploadLeftBehind { created: true, path, .. } if path == "up.bin"),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(NtStatus::DISK_FULL));
    assert_eq!(err.errno(), smb_proto::Errno::ENOSPC);
    let msg = err.to_string();
    assert!(
        msg.contains("up.bin was created on the server and is left incomplete"),
        "{msg}"
    );
}

// ---- the core owns trees ----

fn tree_connect_answer(req: &Request, status: NtStatus, tree: u32) -> Vec<u8> {
    use smb_proto::wire::tree_connect::TreeConnectResponse;
    let mut resp = if status == NtStatus::SUCCESS {
        response(&req.header, status, 1, |m| {
            TreeConnectResponse::default().encode(m)
        })
    } else {
        response(&req.header, status, 1, error_body)
    };
    resp[36..40].copy_from_slice(&tree.to_le_bytes());
    resp
}

/// Operations name a share: the first one connects its tree, the others wait for that
/// one TREE_CONNECT and share the tree; the share's name is case-insensitive.
#[test]
fn operations_on_one_share_share_one_tree_connect() {
    let (mut conn, t0) = negotiated(config(), 64);
    let a = conn.start(ops::Stat::new("Docs", "a"), t0).id();
    let b = conn.start(ops::Stat::new("docs", "b"), t0).id();
    let req = only(sent(&mut conn));
    assert_eq!(req.header.command, Command::TreeConnect as u16);
    feed(
        &mut conn,
        t0,
        &frame(&[tree_connect_answer(&req, NtStatus::SUCCESS, 77)]),
    );
    let frames = sent_frames(&mut conn);
    assert_eq!(frames.len(), 2, "both stats go out once the tree is there");
    for f in &frames {
        assert!(f.iter().all(|r| r.header.tree_id == 77));
    }
    assert_eq!(conn.share_tree("DOCS"), Some(TreeId(77)));
    assert!(events(&mut conn).is_empty());
    let _ = (a, b);
}

#[test]
fn a_failed_tree_connect_fails_every_operation_waiting_for_it_and_the_next_tries_again() {
    let (mut conn, t0) = negotiated(config(), 64);
    let a = conn.start(ops::Stat::new("nosuch", "a"), t0).id();
    let b = conn.start(ops::ListDir::new("nosuch", "", "*"), t0).id();
    let req = only(sent(&mut conn));
    feed(
        &mut conn,
        t0,
        &frame(&[tree_connect_answer(&req, NtStatus::BAD_NETWORK_NAME, 0)]),
    );
    let failed: Vec<OpId> = events(&mut conn)
        .into_iter()
        .map(|e| match e {
            Event::Done {
                id,
                result:
                    Err(Error::Status {
                        status, op, path, ..
                    }),
            } => {
                assert_eq!(
                    (status, op, path.as_str()),
                    (NtStatus::BAD_NETWORK_NAME, "tree connect", "nosuch")
                );
                id
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(failed, [a, b]);
    assert!(sent(&mut conn).is_empty());
    conn.start(ops::Stat::new("nosuch", "a"), t0);
    let again = only(sent(&mut conn));
    assert_eq!(again.header.command, Command::TreeConnect as u16);
}

/// STATUS_NETWORK_NAME_DELETED: the server dropped the tree; the operation fails with
/// it, and the next one on the share connects again.
#[test]
fn a_deleted_tree_is_connected_again_by_the_next_operation() {
    let (mut conn, t0) = negotiated(config(), 64);
    let s5 = share(&mut conn, t0, 5);
    let (create, close) = {
        conn.start(ops::Stat::new(&s5, "a"), t0);
        let reqs = sent(&mut conn);
        (reqs[0].header.clone(), reqs[1].header.clone())
    };
    let gone = |h: &Header| {
        let mut m = response(h, NtStatus::NETWORK_NAME_DELETED, 1, error_body);
        m[36..40].copy_from_slice(&5u32.to_le_bytes());
        m
    };
    feed(&mut conn, t0, &frame(&[gone(&create), gone(&close)]));
    match only(events(&mut conn)) {
        Event::Done { result: Err(e), .. } => {
            assert_eq!(e.status(), Some(NtStatus::NETWORK_NAME_DELETED))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.share_tree(&s5), None);
    conn.start(ops::Stat::new(&s5, "a"), t0);
    let req = only(sent(&mut conn));
    assert_eq!(req.header.command, Command::TreeConnect as u16);
    feed(
        &mut conn,
        t0,
        &frame(&[tree_connect_answer(&req, NtStatus::SUCCESS, 6)]),
    );
    let stat = sent(&mut conn);
    assert_eq!(stat[0].header.command, Command::Create as u16);
    assert_eq!(stat[0].header.tree_id, 6);
}

/// An operation of the caller's own, run as a child by another of the caller's own:
/// the public operation model with no core internals.
#[test]
fn a_callers_own_operation_runs_a_child_and_gets_its_typed_result() {
    use smb_proto::ops::{ChildId, Fail, OpContext, Operation, Progress, Response};
    /// Pings twice: one ECHO of its own, one through a child.
    struct TwoPings {
        child: Option<ChildId>,
        left: u32,
    }
    impl Operation for TwoPings {
        type Output = &'static str;
        fn label(&self) -> (&'static str, &str) {
            ("two pings", "")
        }
        fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<&'static str>, Fail> {
            cx.send(
                0,
                smb_proto::wire::request::RequestBody::Echo(smb_proto::wire::simple::EchoRequest),
            );
            self.child = Some(cx.start_child(ops::Echo));
            Ok(Progress::Pending)
        }
        fn on_response(
            &mut self,
            _cx: &mut OpContext<'_>,
            _tag: usize,
            _resp: Response,
        ) -> Result<Progress<&'static str>, Fail> {
            self.left -= 1;
            Ok(if self.left == 0 {
                Progress::Done("both")
            } else {
                Progress::Pending
            })
        }
        fn on_child(
            &mut self,
            _cx: &mut OpContext<'_>,
            child: ChildId,
            result: Result<OpOutput, Error>,
        ) -> Result<Progress<&'static str>, Fail> {
            assert_eq!(Some(child), self.child);
            let () = result?.downcast()?;
            self.left -= 1;
            Ok(if self.left == 0 {
                Progress::Done("both")
            } else {
                Progress::Pending
            })
        }
    }
    let (mut conn, t0) = negotiated(config(), 64);
    let op = conn.start(
        TwoPings {
            child: None,
            left: 2,
        },
        t0,
    );
    let reqs = sent(&mut conn);
    assert_eq!(reqs.len(), 2);
    let answers: Vec<Vec<u8>> = reqs.iter().map(|r| echo_response(&r.header, 1)).collect();
    for a in answers {
        feed(&mut conn, t0, &frame(&[a]));
    }
    match only(events(&mut conn)) {
        Event::Done { id, result } if id == op.id() => {
            let out: &'static str = op.output(result).expect("typed output");
            assert_eq!(out, "both");
        }
        other => panic!("{other:?}"),
    }
}

/// A raw request carries the header fields the caller set; the core still assigns the
/// message id and routes the answer back, whatever its status.
#[test]
fn a_raw_request_sends_the_callers_header_fields_and_returns_every_answer() {
    use smb_proto::ops::{HeaderFields, Raw};
    use smb_proto::wire::request::RequestBody;
    use smb_proto::wire::simple::EchoRequest;
    let (mut conn, t0) = negotiated(config(), 64);
    let fields = HeaderFields {
        flags: 0x1000_0000, // SMB2_FLAGS_DFS_OPERATIONS
        credit_charge: Some(2),
        channel_sequence: 7,
    };
    let echoes = vec![
        RequestBody::Echo(EchoRequest),
        RequestBody::Echo(EchoRequest),
    ];
    let op = conn.start(Raw::compound(echoes, false).header(1, fields), t0);
    let [first, second] =
        <[Request; 2]>::try_from(only(sent_frames(&mut conn))).expect("one compound");
    assert_eq!(first.header.credit_charge, 1);
    assert_eq!(first.header.flags & 0x1000_0000, 0);
    assert_eq!(second.header.flags & 0x1000_0000, 0x1000_0000);
    assert_eq!(second.header.credit_charge, 2);
    assert_eq!(second.header.status & 0xffff, 7, "ChannelSequence");
    assert_eq!(second.header.message_id, first.header.message_id + 1);
    feed(
        &mut conn,
        t0,
        &frame(&[
            echo_response(&first.header, 1),
            response(&second.header, NtStatus::INVALID_PARAMETER, 2, error_body),
        ]),
    );
    match only(events(&mut conn)) {
        Event::Done { id, result } if id == op.id() => {
            let answers = op
                .output(result)
                .expect("a raw request fails only with the connection");
            let statuses: Vec<NtStatus> = answers.iter().map(|r| r.status()).collect();
            assert_eq!(statuses, [NtStatus::SUCCESS, NtStatus::INVALID_PARAMETER]);
        }
        other => panic!("{other:?}"),
    }
    // The next request's id follows the two ids the second one was charged.
    conn.start(ops::Echo, t0);
    assert_eq!(
        only(sent(&mut conn)).header.message_id,
        second.header.message_id + 2
    );
}

/// A break goes to the operation that claimed its open; one nobody claimed reaches the
/// driver as an event, decoded, never dropped.
#[test]
fn breaks_reach_the_operation_that_holds_the_open() {
    use smb_proto::ops::{BreakKey, Fail, OpContext, Operation, Progress, Response};
    use smb_proto::wire::oplock_break::{BreakNotification, OplockBreak};
    /// Waits for the break of one open, as an oplock holder would.
    struct Holder(FileId);
    impl Operation for Holder {
        type Output = u8;
        fn label(&self) -> (&'static str, &str) {
            ("hold", "")
        }
        fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<u8>, Fail> {
            cx.own_breaks(BreakKey::File(self.0));
            Ok(Progress::Pending)
        }
        fn on_response(
            &mut self,
            _cx: &mut OpContext<'_>,
            _tag: usize,
            _resp: Response,
        ) -> Result<Progress<u8>, Fail> {
            Ok(Progress::Pending)
        }
        fn on_break(
            &mut self,
            _cx: &mut OpContext<'_>,
            n: BreakNotification,
        ) -> Result<Progress<u8>, Fail> {
            match n {
                BreakNotification::Oplock(o) => Ok(Progress::Done(o.oplock_level)),
                BreakNotification::Lease(_) => Ok(Progress::Pending),
            }
        }
    }
    let notification = |file_id: FileId| {
        let header = Header {
            command: Command::OplockBreak as u16,
            message_id: u64::MAX,
            flags: flags::SERVER_TO_REDIR,
            ..Default::default()
        };
        let mut m = Vec::new();
        header.encode(&mut m);
        OplockBreak {
            oplock_level: 1,
            file_id,
        }
        .encode(&mut m);
        frame(&[m])
    };
    let (mut conn, t0) = negotiated(config(), 64);
    let held = FileId {
        persistent: 10,
        volatile: 11,
    };
    let op = conn.start(Holder(held), t0);
    feed(&mut conn, t0, &notification(held));
    match only(events(&mut conn)) {
        Event::Done { id, result } if id == op.id() => assert_eq!(op.output(result).unwrap(), 1),
        other => panic!("{other:?}"),
    }
    // The holder is gone: the next break for that open is nobody's, and says so.
    feed(&mut conn, t0, &notification(held));
    match only(events(&mut conn)) {
        Event::Break(BreakNotification::Oplock(o)) => assert_eq!(o.file_id, held),
        other => panic!("{other:?}"),
    }
    assert!(conn.close_reason().is_none());
}

// ---- share listing over SRVSVC ----

/// ListShares against a scripted SRVSVC: the pipe's answers cut where the test chooses,
/// with the statuses it chooses.
mod share_listing {
    use super::*;
    use smb_proto::ops::{ListShares, ShareInfo, ShareType};
    use smb_proto::rpc::pdu::{
        encode_response, result, Bind, BindAck, ContextResult, Fault, Request as RpcRequest,
        SyntaxId,
    };
    use smb_proto::rpc::srvsvc::{NetrShareEnumRequest, NetrShareEnumResponse, ShareInfo1};
    use smb_proto::rpc::RpcError;
    use smb_proto::wire::create::CreateRequest;
    use smb_proto::wire::ioctl::{flags as ioctl_flags, fsctl, IoctlRequest, IoctlResponse};
    use smb_proto::wire::read::ReadRequest;
    use smb_proto::wire::tree_connect::TreeConnectRequest;
    use smb_proto::ErrorKind;

    const PIPE: FileId = FileId {
        persistent: 0x51,
        volatile: 0x52,
    };

    fn bind_ack() -> Vec<u8> {
        BindAck {
            call_id: 1,
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group_id: 0x1234,
            secondary_address: b"\\PIPE\\srvsvc".to_vec(),
            results: vec![ContextResult {
                result: result::ACCEPTANCE,
                reason: 0,
                transfer_syntax: SyntaxId::NDR,
            }],
        }
        .encode()
    }

    /// Starts a listing and answers its TREE_CONNECT to IPC$ and its CREATE of the pipe;
    /// returns the operation and the bind's transceive.
    fn listing_with_open_pipe(conn: &mut Connection, t0: Instant) -> (OpId, Request) {
        let id = conn.start(ListShares::new(), t0).id();
        let tc = only(sent(conn));
        assert_eq!(tc.header.command, Command::TreeConnect as u16);
        let path = TreeConnectRequest::decode(&tc.msg).unwrap().path;
        assert_eq!(path, "\\\\scripted\\IPC$");
        feed(
            conn,
            t0,
            &frame(&[tree_connect_answer(&tc, NtStatus::SUCCESS, 3)]),
        );

        let create = only(sent(conn));
        assert_eq!(create.header.tree_id, 3);
        let c = CreateRequest::decode(&create.msg).unwrap();
        assert_eq!(c.name, "srvsvc");
        assert_eq!(c.desired_access, 0x0012_019F);
        assert_eq!(c.share_access, 3, "share read and write");
        assert_eq!(c.impersonation_level, 2);
        assert_eq!(c.create_disposition, 1, "FILE_OPEN");
        let opened = CreateResponse {
            file_id: PIPE,
            ..Default::default()
        };
        let resp = response(&create.header, NtStatus::SUCCESS, 4, |m| opened.encode(m));
        feed(conn, t0, &frame(&[resp]));

        let bind = only(sent(conn));
        let ioctl = IoctlRequest::decode(&bind.msg).unwrap();
        assert_eq!(ioctl.ctl_code, fsctl::PIPE_TRANSCEIVE);
        assert_eq!(ioctl.flags, ioctl_flags::IS_FSCTL);
        assert_eq!(ioctl.file_id, PIPE);
        assert_eq!(ioctl.max_output_response, 4280);
        assert_eq!(
            Bind::decode(&ioctl.input).unwrap(),
            Bind::new(1, SyntaxId::SRVSVC)
        );
        (id, bind)
    }

    /// Answers a transceive or a READ of the pipe with `data` and `status`.
    fn pipe_answer(req: &Request, status: NtStatus, data: &[u8]) -> Vec<u8> {
        let data = Bytes::copy_from_slice(data);
        if req.header.command == Command::Ioctl as u16 {
            let body = IoctlResponse {
                ctl_code: fsctl::PIPE_TRANSCEIVE,
                file_id: PIPE,
                output: data,
                ..Default::default()
            };
            response(&req.header, status, 4, |m| body.encode(m))
        } else {
            assert_eq!(req.header.command, Command::Read as u16);
            let read = ReadRequest::decode(&req.msg).unwrap();
            assert_eq!(read.file_id, PIPE);
            assert!(data.len() <= read.length as usize);
            let body = ReadResponse {
                data,
                ..Default::default()
            };
            response(&req.header, status, 4, |m| body.encode(m))
        }
    }

    /// Serves `stream` to the transceive `first` and the READs that follow, `chunk`
    /// bytes at a time, every piece but the last with STATUS_BUFFER_OVERFLOW; returns
    /// how many READs there were and the request after them.
    fn serve(
        conn: &mut Connection,
        t0: Instant,
        first: Request,
        stream: &[u8],
        chunk: usize,
    ) -> (usize, Request) {
        let pieces: Vec<&[u8]> = stream.chunks(chunk).collect();
        let mut req = first;
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                assert_eq!(req.header.command, Command::Read as u16, "piece {i}");
            }
            let status = if i + 1 < pieces.len() {
                NtStatus::BUFFER_OVERFLOW
            } else {
                NtStatus::SUCCESS
            };
            feed(conn, t0, &frame(&[pipe_answer(&req, status, piece)]));
            assert!(events(conn).is_empty(), "piece {i}");
            req = only(sent(conn));
        }
        (pieces.len() - 1, req)
    }

    fn fifty_shares() -> NetrShareEnumResponse {
        let mut shares: Vec<ShareInfo1> = (0..50)
            .map(|i| ShareInfo1 {
                netname: format!("data{i}"),
                shi1_type: 0,
                remark: format!("the {i}th share, ünïcödé"),
            })
            .collect();
        shares.push(ShareInfo1 {
            netname: "IPC$".into(),
            shi1_type: 0x8000_0003,
            remark: "IPC Service".into(),
        });
        NetrShareEnumResponse {
            total_entries: shares.len() as u32,
            shares,
            resume_handle: Some(0),
            return_value: 0,
        }
    }

    /// The answer in 512-byte fragments, served 1,000 bytes per transceive or READ with
    /// STATUS_BUFFER_OVERFLOW until the last piece: pieces end inside fragments and
    /// inside fragment headers, and the listing must still come back whole.
    #[test]
    fn an_overflowing_multi_fragment_answer_is_read_to_its_last_fragment() {
        let (mut conn, t0) = negotiated(config(), 100);
        let (id, bind) = listing_with_open_pipe(&mut conn, t0);

        // The bind_ack too arrives in two pieces.
        let (reads, enum_req) = serve(&mut conn, t0, bind, &bind_ack(), 30);
        assert_eq!(reads, 2);
        let ioctl = IoctlRequest::decode(&enum_req.msg).unwrap();
        assert_eq!(ioctl.ctl_code, fsctl::PIPE_TRANSCEIVE);
        let call = RpcRequest::decode(&ioctl.input).unwrap();
        assert_eq!((call.call_id, call.context_id, call.opnum), (2, 0, 15));
        assert_eq!(
            NetrShareEnumRequest::decode(&call.stub).unwrap(),
            NetrShareEnumRequest::new("\\\\scripted")
        );

        let answer = fifty_shares();
        let fragments = encode_response(2, 0, &answer.encode(), 512);
        assert!(fragments.len() > 5, "{} fragments", fragments.len());
        let stream = fragments.concat();
        let (reads, close) = serve(&mut conn, t0, enum_req, &stream, 1000);
        assert_eq!(reads, stream.len().div_ceil(1000) - 1);

        assert_eq!(closes_of(std::slice::from_ref(&close)), [PIPE]);
        let closed = response(&close.header, NtStatus::SUCCESS, 4, |m| {
            CloseResponse::default().encode(m)
        });
        feed(&mut conn, t0, &frame(&[closed]));
        let expected: Vec<ShareInfo> = answer.shares.into_iter().map(ShareInfo::from).collect();
        assert_eq!(expected[50].share_type, ShareType::Ipc);
        assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(expected))]));
        assert!(sent(&mut conn).is_empty());
    }

    /// Samba answers READs of a pipe with STATUS_SUCCESS even while more of the message
    /// waits: the client goes on reading until the last fragment, whatever the status.
    #[test]
    fn reads_go_on_until_the_last_fragment_whatever_the_status() {
        let (mut conn, t0) = negotiated(config(), 100);
        let (id, bind) = listing_with_open_pipe(&mut conn, t0);
        feed(
            &mut conn,
            t0,
            &frame(&[pipe_answer(&bind, NtStatus::SUCCESS, &bind_ack())]),
        );
        let enum_req = only(sent(&mut conn));
        let answer = fifty_shares();
        let stream = encode_response(2, 0, &answer.encode(), 4280).concat();
        let mut req = enum_req;
        for piece in stream.chunks(700) {
            feed(
                &mut conn,
                t0,
                &frame(&[pipe_answer(&req, NtStatus::SUCCESS, piece)]),
            );
            req = only(sent(&mut conn));
        }
        assert_eq!(closes_of(std::slice::from_ref(&req)), [PIPE]);
        let closed = response(&req.header, NtStatus::SUCCESS, 4, |m| {
            CloseResponse::default().encode(m)
        });
        feed(&mut conn, t0, &frame(&[closed]));
        match only(events(&mut conn)) {
            Event::Done {
                id: done,
                result: Ok(out),
            } if done == id => {
                assert_eq!(out.downcast::<Vec<ShareInfo>>().unwrap().len(), 51);
            }
            other => panic!("{other:?}"),
        }
    }

    /// The operation's failure, with the CLOSE its cleanup sent.
    fn failure(conn: &mut Connection, id: OpId) -> Error {
        let closes = closes_of(&sent(conn));
        assert_eq!(closes, [PIPE], "the pipe is closed when the listing fails");
        match only(events(conn)) {
            Event::Done {
                id: done,
                result: Err(e),
            } if done == id => e,
            other => panic!("{other:?}"),
        }
    }

    fn rpc_error(e: &Error) -> &RpcError {
        match e {
            Error::Rpc { op, path, error } => {
                assert_eq!((*op, path.as_str()), ("list_shares", "srvsvc"));
                error
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_fault_fails_the_listing_with_its_status_and_the_connection_goes_on() {
        let (mut conn, t0) = negotiated(config(), 100);
        let (id, bind) = listing_with_open_pipe(&mut conn, t0);
        feed(
            &mut conn,
            t0,
            &frame(&[pipe_answer(&bind, NtStatus::SUCCESS, &bind_ack())]),
        );
        let enum_req = only(sent(&mut conn));
        let fault = Fault {
            call_id: 2,
            status: 5,
        }
        .encode();
        feed(
            &mut conn,
            t0,
            &frame(&[pipe_answer(&enum_req, NtStatus::SUCCESS, &fault)]),
        );
        let e = failure(&mut conn, id);
        assert_eq!(rpc_error(&e), &RpcError::Fault { status: 5 });
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(
            e.to_string(),
            "list_shares srvsvc: DCE/RPC: fault status 0x00000005 (EACCES)"
        );
        conn.start(ops::Echo, t0);
        assert_eq!(only(sent(&mut conn)).header.command, Command::Echo as u16);
    }

    #[test]
    fn a_refused_bind_is_a_typed_error() {
        let (mut conn, t0) = negotiated(config(), 100);
        let (id, bind) = listing_with_open_pipe(&mut conn, t0);
        let mut ack = BindAck::decode(&bind_ack()).unwrap();
        ack.results[0].result = result::PROVIDER_REJECTION;
        ack.results[0].reason = 1;
        feed(
            &mut conn,
            t0,
            &frame(&[pipe_answer(&bind, NtStatus::SUCCESS, &ack.encode())]),
        );
        let e = failure(&mut conn, id);
        assert_eq!(
            rpc_error(&e),
            &RpcError::BindRejected {
                result: 2,
                reason: 1
            }
        );
    }

    #[test]
    fn a_failure_returned_by_the_call_is_a_typed_error() {
        let (mut conn, t0) = negotiated(config(), 100);
        let (id, bind) = listing_with_open_pipe(&mut conn, t0);
        feed(
            &mut conn,
            t0,
            &frame(&[pipe_answer(&bind, NtStatus::SUCCESS, &bind_ack())]),
        );
        let enum_req = only(sent(&mut conn));
        let denied = NetrShareEnumResponse {
            return_value: 5,
            ..Default::default()
        };
        let answer = encode_response(2, 0, &denied.encode(), 4280).concat();
        feed(
            &mut conn,
            t0,
            &frame(&[pipe_answer(&enum_req, NtStatus::SUCCESS, &answer)]),
        );
        let e = failure(&mut conn, id);
        assert_eq!(rpc_error(&e), &RpcError::ReturnValue(5));
    }

    #[test]
    fn malformed_pipe_data_fails_the_listing_not_the_connection() {
        let (mut conn, t0) = negotiated(config(), 100);
        let (id, bind) = listing_with_open_pipe(&mut conn, t0);
        let mut garbage = bind_ack();
        garbage[0] = 4; // rpc_vers
        feed(
            &mut conn,
            t0,
            &frame(&[pipe_answer(&bind, NtStatus::SUCCESS, &garbage)]),
        );
        let e = failure(&mut conn, id);
        assert_eq!(rpc_error(&e), &RpcError::Version { major: 4, minor: 0 });
        assert_eq!(e.kind(), ErrorKind::ProtocolViolation);
        // An empty READ before the reply is complete.
        let (id, bind) = {
            let id = conn.start(ListShares::new(), t0).id();
            let create = only(sent(&mut conn));
            let opened = CreateResponse {
                file_id: PIPE,
                ..Default::default()
            };
            let resp = response(&create.header, NtStatus::SUCCESS, 4, |m| opened.encode(m));
            feed(&mut conn, t0, &frame(&[resp]));
            (id, only(sent(&mut conn)))
        };
        feed(
            &mut conn,
            t0,
            &frame(&[pipe_answer(
                &bind,
                NtStatus::BUFFER_OVERFLOW,
                &bind_ack()[..10],
            )]),
        );
        let read = only(sent(&mut conn));
        feed(
            &mut conn,
            t0,
            &frame(&[pipe_answer(&read, NtStatus::SUCCESS, &[])]),
        );
        assert_eq!(rpc_error(&failure(&mut conn, id)), &RpcError::EmptyRead);
    }

    #[test]
    fn a_pipe_status_fails_the_listing_naming_the_operation_and_the_pipe() {
        let (mut conn, t0) = negotiated(config(), 100);
        let (id, bind) = listing_with_open_pipe(&mut conn, t0);
        let refused = response(&bind.header, NtStatus::ACCESS_DENIED, 4, error_body);
        feed(&mut conn, t0, &frame(&[refused]));
        match failure(&mut conn, id) {
            Error::Status {
                status, op, path, ..
            } => {
                assert_eq!(
                    (status, op, path.as_str()),
                    (NtStatus::ACCESS_DENIED, "list_shares", "srvsvc")
                );
            }
            other => panic!("{other:?}"),
        }
        // A CREATE that fails leaves nothing to close.
        let id = conn.start(ListShares::new(), t0).id();
        let create = only(sent(&mut conn));
        let missing = response(
            &create.header,
            NtStatus::OBJECT_NAME_NOT_FOUND,
            4,
            error_body,
        );
        feed(&mut conn, t0, &frame(&[missing]));
        assert!(sent(&mut conn).is_empty());
        match only(events(&mut conn)) {
            Event::Done {
                id: done,
                result: Err(Error::Status { status, .. }),
            } if done == id => assert_eq!(status, NtStatus::OBJECT_NAME_NOT_FOUND),
            other => panic!("{other:?}"),
        }
    }

    /// A listing cancelled while its pipe is open closes the pipe.
    #[test]
    fn a_cancelled_listing_closes_its_pipe() {
        let (mut conn, t0) = negotiated(config(), 100);
        let (id, _bind) = listing_with_open_pipe(&mut conn, t0);
        conn.cancel(id, t0);
        let after = sent(&mut conn);
        assert_eq!(after[0].header.command, Command::Cancel as u16);
        assert_eq!(closes_of(&after), [PIPE]);
        assert_eq!(
            show(&events(&mut conn)),
            show(&[done::<()>(id, Err(Error::Cancelled))])
        );
    }
}

// ---- security descriptors, snapshots and the timewarp context ----

fn ioctl_answer(req: &Request, status: NtStatus, output: Vec<u8>) -> Vec<u8> {
    use smb_proto::wire::ioctl::{IoctlRequest, IoctlResponse};
    let ioctl = IoctlRequest::decode(&req.msg).expect("IOCTL decodes");
    let body = IoctlResponse {
        ctl_code: ioctl.ctl_code,
        file_id: ioctl.file_id,
        output: output.into(),
        ..Default::default()
    };
    response(&req.header, status, 1, |m| body.encode(m))
}

fn close_ok(req: &Request) -> Vec<u8> {
    response(&req.header, NtStatus::SUCCESS, 1, |m| {
        CloseResponse::default().encode(m)
    })
}

fn a_descriptor() -> smb_proto::wire::security::SecurityDescriptor {
    use smb_proto::wire::security::{ace_flags, control, Ace, AceType, Acl, SecurityDescriptor};
    let sid = |s: &str| s.parse().expect("a SID");
    SecurityDescriptor {
        revision: 1,
        control: control::SELF_RELATIVE | control::DACL_PRESENT,
        owner: Some(sid("S-1-5-21-1-2-3-1001")),
        group: Some(sid("S-1-22-2-1001")),
        dacl: Some(Acl {
            revision: 2,
            aces: vec![
                Ace::new(
                    AceType::AccessDenied,
                    ace_flags::OBJECT_INHERIT,
                    0x0001_0000,
                    sid("S-1-1-0"),
                ),
                Ace::new(AceType::AccessAllowed, 0, 0x001f_01ff, sid("S-1-5-32-544")),
            ],
        }),
        sacl: None,
    }
}

/// The CREATE, QUERY_INFO and CLOSE of one GetSecurity round, checked for what they ask.
fn security_round(conn: &mut Connection, buffer_len: u32, parts: u32, access: u32) -> [Request; 3] {
    use smb_proto::wire::create::CreateRequest;
    use smb_proto::wire::query_info::{info_type, QueryInfoRequest};
    let round = <[Request; 3]>::try_from(only(sent_frames(conn))).expect("a compound of three");
    let create = CreateRequest::decode(&round[0].msg).expect("CREATE decodes");
    assert_eq!(create.desired_access, access);
    let query = QueryInfoRequest::decode(&round[1].msg).expect("QUERY_INFO decodes");
    assert_eq!(query.info_type, info_type::SECURITY);
    assert_eq!(query.additional_information, parts);
    assert_eq!(query.output_buffer_length, buffer_len);
    assert_eq!(query.file_id, FileId::ANY);
    assert_ne!(round[1].header.flags & flags::RELATED_OPERATIONS, 0);
    assert_eq!(round[2].header.command, Command::Close as u16);
    round
}

#[test]
fn a_security_descriptor_larger_than_the_buffer_takes_one_more_compound() {
    use smb_proto::wire::create::access_mask;
    use smb_proto::wire::query_info::QueryInfoResponse;
    let (mut conn, t0) = negotiated(config(), 64);
    let s4 = share(&mut conn, t0, 4);
    let sd = a_descriptor();
    let bytes = sd.encode().expect("encodes");
    let access = access_mask::READ_CONTROL | access_mask::SYNCHRONIZE;
    let id = conn
        .start(ops::GetSecurity::new(&s4, "d/f.txt").buffer_len(64), t0)
        .id();
    let [create, query, close] = security_round(&mut conn, 64, 0x7, access);
    // MS-SMB2 3.3.5.20.3: STATUS_BUFFER_TOO_SMALL, ErrorData the size needed.
    let too_small = ErrorResponse {
        error_context_count: 0,
        error_data: (bytes.len() as u32).to_le_bytes().to_vec().into(),
    };
    feed(
        &mut conn,
        t0,
        &frame(&[
            open_dir_ok(&create.header),
            response(&query.header, NtStatus::BUFFER_TOO_SMALL, 1, |m| {
                too_small.encode(m)
            }),
            close_ok(&close),
        ]),
    );
    assert!(events(&mut conn).is_empty());
    let [create, query, close] = security_round(&mut conn, bytes.len() as u32, 0x7, access);
    let answer = QueryInfoResponse {
        buffer: bytes.into(),
    };
    feed(
        &mut conn,
        t0,
        &frame(&[
            open_dir_ok(&create.header),
            response(&query.header, NtStatus::SUCCESS, 1, |m| answer.encode(m)),
            close_ok(&close),
        ]),
    );
    assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(sd))]));
    assert!(sent(&mut conn).is_empty());
}

#[test]
fn a_server_that_keeps_asking_for_more_gets_its_status_back() {
    use smb_proto::wire::create::access_mask;
    let (mut conn, t0) = negotiated(config(), 64);
    let s4 = share(&mut conn, t0, 4);
    let access =
        access_mask::READ_CONTROL | access_mask::SYNCHRONIZE | access_mask::ACCESS_SYSTEM_SECURITY;
    let id = conn
        .start(ops::GetSecurity::new(&s4, "f").with_sacl(), t0)
        .id();
    let answer_round = |conn: &mut Connection, len: u32, needed: u32| {
        let [create, query, close] = security_round(conn, len, 0xf, access);
        let too_small = ErrorResponse {
            error_context_count: 0,
            error_data: needed.to_le_bytes().to_vec().into(),
        };
        feed(
            conn,
            t0,
            &frame(&[
                open_dir_ok(&create.header),
                response(&query.header, NtStatus::BUFFER_TOO_SMALL, 1, |m| {
                    too_small.encode(m)
                }),
                close_ok(&close),
            ]),
        );
    };
    answer_round(&mut conn, 64 * 1024, 100_000);
    assert!(events(&mut conn).is_empty());
    answer_round(&mut conn, 100_000, 120_000);
    let err = Error::failed(NtStatus::BUFFER_TOO_SMALL, "get security", "f");
    assert_failed(events(&mut conn), id, err);
    assert!(sent(&mut conn).is_empty(), "two rounds, no third");
}

#[test]
fn snapshots_are_counted_with_16_bytes_then_fetched_with_the_room_needed() {
    use smb_proto::wire::ioctl::{flags as ioctl_flags, fsctl, IoctlRequest, SrvSnapshotArray};
    let (mut conn, t0) = negotiated(config(), 64);
    let s5 = share(&mut conn, t0, 5);
    let id = conn.start(ops::ListSnapshots::new(&s5, "dir"), t0).id();
    let [create, probe] = <[Request; 2]>::try_from(only(sent_frames(&mut conn))).unwrap();
    assert_eq!(create.header.command, Command::Create as u16);
    let ioctl = IoctlRequest::decode(&probe.msg).unwrap();
    assert_eq!(
        (ioctl.ctl_code, ioctl.max_output_response, ioctl.flags),
        (fsctl::SRV_ENUMERATE_SNAPSHOTS, 16, ioctl_flags::IS_FSCTL)
    );
    assert_eq!(ioctl.file_id, FileId::ANY);

    let times: Vec<FileTime> = ["@GMT-2026.03.01-00.00.00", "@GMT-2026.01.01-08.15.00"]
        .iter()
        .map(|t| FileTime::from_gmt_token(t).unwrap())
        .collect();
    let full = SrvSnapshotArray::new(times.clone());
    let mut counts = Vec::new();
    SrvSnapshotArray {
        snapshots: Vec::new(),
        ..full.clone()
    }
    .encode(&mut counts);
    counts.resize(16, 0);
    feed(
        &mut conn,
        t0,
        &frame(&[
            open_dir_ok(&create.header),
            ioctl_answer(&probe, NtStatus::SUCCESS, counts),
        ]),
    );
    let fetch = only(sent(&mut conn));
    let ioctl = IoctlRequest::decode(&fetch.msg).unwrap();
    assert_eq!(ioctl.max_output_response, 12 + 2 * 50 + 2);
    let opened = FileId {
        persistent: 77,
        volatile: 88,
    };
    assert_eq!(ioctl.file_id, opened);
    let mut list = Vec::new();
    full.encode(&mut list);
    feed(
        &mut conn,
        t0,
        &frame(&[ioctl_answer(&fetch, NtStatus::SUCCESS, list)]),
    );
    let close = only(sent(&mut conn));
    assert_eq!(closes_of(std::slice::from_ref(&close)), vec![opened]);
    assert!(
        events(&mut conn).is_empty(),
        "done when the handle is closed"
    );
    feed(&mut conn, t0, &frame(&[close_ok(&close)]));
    assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(times))]));
}

#[test]
fn a_share_without_snapshots_fails_the_listing_and_its_handle_is_closed() {
    let (mut conn, t0) = negotiated(config(), 64);
    let s5 = share(&mut conn, t0, 5);
    let id = conn.start(ops::ListSnapshots::new(&s5, ""), t0).id();
    let [create, probe] = <[Request; 2]>::try_from(only(sent_frames(&mut conn))).unwrap();
    // What Samba answers on a share without a snapshot module.
    let unsupported = NtStatus::INVALID_DEVICE_REQUEST;
    feed(
        &mut conn,
        t0,
        &frame(&[
            open_dir_ok(&create.header),
            response(&probe.header, unsupported, 1, error_body),
        ]),
    );
    let err = Error::failed(unsupported, "list snapshots", String::new());
    assert_failed(events(&mut conn), id, err);
    assert_eq!(
        closes_of(&sent(&mut conn)),
        vec![FileId {
            persistent: 77,
            volatile: 88
        }]
    );
}

/// An authenticator of one round that ends with a fixed session key, so the script knows
/// the signing key.
struct FixedKey([u8; 16]);

impl smb_proto::auth::spnego::Authenticator for FixedKey {
    fn initial_token(&mut self) -> Result<Vec<u8>, smb_proto::auth::ntlm::AuthError> {
        Ok(b"token".to_vec())
    }

    fn next_token(
        &mut self,
        _server_token: &[u8],
    ) -> Result<Option<Vec<u8>>, smb_proto::auth::ntlm::AuthError> {
        Ok(None)
    }

    fn session_key(&self) -> Option<smb_proto::auth::spnego::SessionKey> {
        Some(smb_proto::auth::spnego::SessionKey::new(self.0.to_vec()))
    }
}

#[test]
fn network_interfaces_are_asked_on_ipc_with_a_signed_fsctl() {
    use smb_proto::crypto::signing::{sign, verify, SigningAlgorithm};
    use smb_proto::wire::ioctl::{
        flags as ioctl_flags, fsctl, IoctlRequest, NetworkInterfaceInfo,
        ValidateNegotiateInfoResponse,
    };
    use smb_proto::wire::session_setup::SessionSetupResponse;
    use smb_proto::wire::tree_connect::TreeConnectRequest;
    const KEY: [u8; 16] = [0x42; 16];
    // 2.1 signs with the session key itself (HMAC-SHA256); signing only when required,
    // so the FSCTL is signed because it asks to be. The server allows 1 MiB per IOCTL.
    let mut cfg = config();
    cfg.signing = smb_proto::SigningPolicy::WhenRequired;
    let (mut conn, t0) = negotiated(cfg, 64);
    let login = ops::Login::with_authenticator(Box::new(FixedKey(KEY)), "u".into());
    let login = conn.start(login, t0).id();
    let setup = only(sent(&mut conn));
    let mut done_setup = response(&setup.header, NtStatus::SUCCESS, 64, |m| {
        SessionSetupResponse::default().encode(m)
    });
    done_setup[40..48].copy_from_slice(&0x77u64.to_le_bytes());
    feed(&mut conn, t0, &frame(&[done_setup]));
    assert!(matches!(
        &events(&mut conn)[..],
        [Event::Done { id, result: Ok(_) }] if *id == login
    ));

    let id = conn.start(ops::QueryInterfaces::new(), t0).id();
    let tc = only(sent(&mut conn));
    let path = TreeConnectRequest::decode(&tc.msg).unwrap().path;
    assert_eq!(path, "\\\\scripted\\IPC$");
    assert!(!tc.header.is_signed(), "the session signs only when asked");
    feed(
        &mut conn,
        t0,
        &frame(&[tree_connect_answer(&tc, NtStatus::SUCCESS, 9)]),
    );
    // The connection's first tree on 2.1 validates the negotiation first.
    let validate = only(sent(&mut conn));
    let ioctl = IoctlRequest::decode(&validate.msg).unwrap();
    assert_eq!(ioctl.ctl_code, fsctl::VALIDATE_NEGOTIATE_INFO);
    let mut negotiated = Vec::new();
    ValidateNegotiateInfoResponse {
        capabilities: capabilities::LARGE_MTU,
        guid: [0x5a; 16],
        security_mode: security_mode::SIGNING_ENABLED,
        dialect: dialect::SMB2_1,
    }
    .encode(&mut negotiated);
    let mut validated = ioctl_answer(&validate, NtStatus::SUCCESS, negotiated);
    sign(SigningAlgorithm::HmacSha256, &KEY, &mut validated).unwrap();
    feed(&mut conn, t0, &frame(&[validated]));

    let query = only(sent(&mut conn));
    assert_eq!(query.header.command, Command::Ioctl as u16);
    assert_eq!(query.header.tree_id, 9);
    assert_eq!(
        IoctlRequest::decode(&query.msg).unwrap(),
        IoctlRequest {
            ctl_code: fsctl::QUERY_NETWORK_INTERFACE_INFO,
            file_id: FileId::ANY,
            input: Bytes::new(),
            max_input_response: 0,
            max_output_response: 64 * 1024,
            flags: ioctl_flags::IS_FSCTL,
        }
    );
    assert!(query.header.is_signed());
    assert!(verify(SigningAlgorithm::HmacSha256, &KEY, &query.msg));

    let list = [
        NetworkInterfaceInfo {
            if_index: 101,
            capability: 1,
            link_speed: 10_000_000_000,
            address: Some("127.0.0.1".parse().unwrap()),
        },
        NetworkInterfaceInfo {
            if_index: 102,
            capability: 0,
            link_speed: 1_000_000_000,
            address: Some("::1".parse().unwrap()),
        },
    ];
    let output = NetworkInterfaceInfo::encode_list(&list);
    feed(
        &mut conn,
        t0,
        &frame(&[ioctl_answer(&query, NtStatus::SUCCESS, output)]),
    );
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done(id, Ok(list.to_vec()))])
    );

    // A server without multichannel: its status, on the share asked.
    for (share, status) in [
        ("IPC$", NtStatus::FS_DRIVER_REQUIRED),
        ("ipc$", NtStatus::NOT_SUPPORTED),
    ] {
        let id = conn.start(ops::QueryInterfaces::on_share(share), t0).id();
        let query = only(sent(&mut conn));
        assert_eq!(query.header.tree_id, 9, "the tree is shared");
        feed(
            &mut conn,
            t0,
            &frame(&[response(&query.header, status, 1, error_body)]),
        );
        let err = Error::failed(status, "query network interfaces", share);
        assert_failed(events(&mut conn), id, err);
    }
}

#[test]
fn stat_list_and_read_at_a_snapshot_send_the_timewarp_context() {
    use smb_proto::wire::create::{context_name, CreateRequest};
    let (mut conn, t0) = negotiated(config(), 64);
    let s6 = share(&mut conn, t0, 6);
    let at = FileTime::from_gmt_token("@GMT-2026.01.01-00.00.00").unwrap();
    let mut first_create = |op: BoxedOp| {
        conn.start_boxed(op, t0);
        CreateRequest::decode(&sent(&mut conn)[0].msg)
            .expect("CREATE decodes")
            .create_contexts
    };
    // MS-SMB2 2.2.13.2.7: "TWrp", its data the 8-byte FILETIME.
    let timewarp = vec![(
        context_name::TIMEWARP_TOKEN.to_vec(),
        at.0.to_le_bytes().to_vec(),
    )];
    for op in [
        BoxedOp::new(ops::Stat::new(&s6, "f.txt").at_snapshot(at)),
        BoxedOp::new(ops::ListDir::new(&s6, "d", "*").at_snapshot(at)),
        BoxedOp::new(ops::ListDirPaged::new(&s6, "d", "*").at_snapshot(at)),
        BoxedOp::new(ops::ReadFile::new(&s6, "f.txt", 0, None).at_snapshot(at)),
    ] {
        assert_eq!(first_create(op), timewarp);
    }
    assert!(first_create(BoxedOp::new(ops::Stat::new(&s6, "f.txt"))).is_empty());
}

// ---- the operations behind the pathlib-style API ----

/// The CREATE and CLOSE of a compound the client just sent, as (name, disposition) and
/// the two requests.
fn create_close(conn: &mut Connection) -> ((String, u32), Request, Request) {
    use smb_proto::wire::create::CreateRequest;
    let [create, close] =
        <[Request; 2]>::try_from(only(sent_frames(conn))).expect("CREATE + CLOSE");
    assert_eq!(close.header.command, Command::Close as u16);
    let c = CreateRequest::decode(&create.msg).expect("CREATE decodes");
    ((c.name, c.create_disposition), create, close)
}

/// Answers a CREATE + CLOSE compound: both succeed (the CREATE with `attributes`), or
/// both fail with `status`.
fn answer_create_close(
    conn: &mut Connection,
    t0: Instant,
    (create, close): (&Request, &Request),
    result: Result<u32, NtStatus>,
) {
    let answers = match result {
        Ok(attributes) => {
            let created = CreateResponse {
                file_attributes: attributes,
                ..Default::default()
            };
            [
                response(&create.header, NtStatus::SUCCESS, 1, |m| created.encode(m)),
                response(&close.header, NtStatus::SUCCESS, 1, |m| {
                    CloseResponse::default().encode(m)
                }),
            ]
        }
        Err(status) => [
            response(&create.header, status, 1, error_body),
            response(&close.header, status, 1, error_body),
        ],
    };
    feed(conn, t0, &frame(&answers));
}

#[test]
fn a_path_query_finishes_on_its_answer_whether_the_close_comes_first_or_not() {
    use smb_proto::wire::fscc::class;
    use smb_proto::wire::query_info::{QueryInfoRequest, QueryInfoResponse};
    let (mut conn, t0) = negotiated(config(), 10);
    let s9 = share(&mut conn, t0, 9);
    let op = ops::QueryPathInfo::new(&s9, "d/f", class::FILE_INTERNAL_INFORMATION);
    let id = conn.start(op, t0).id();
    let [create, query, close] =
        <[Request; 3]>::try_from(only(sent_frames(&mut conn))).expect("a 3-part compound");
    assert_eq!(
        [
            create.header.command,
            query.header.command,
            close.header.command
        ],
        [
            Command::Create as u16,
            Command::QueryInfo as u16,
            Command::Close as u16
        ]
    );
    let q = QueryInfoRequest::decode(&query.msg).unwrap();
    assert_eq!(q.file_info_class, class::FILE_INTERNAL_INFORMATION);
    assert_eq!(q.file_id, FileId::ANY, "the related CREATE's handle");
    let answer = Bytes::from_static(&[1, 0, 0, 0, 0, 0, 0, 0]);
    let ok = |req: &Request, body: &dyn Fn(&mut Vec<u8>)| {
        response(&req.header, NtStatus::SUCCESS, 1, body)
    };
    feed(&mut conn, t0, &frame(&[open_dir_ok(&create.header)]));
    feed(
        &mut conn,
        t0,
        &frame(&[ok(&close, &|m| CloseResponse::default().encode(m))]),
    );
    assert!(events(&mut conn).is_empty(), "the answer is still to come");
    let buffer = answer.clone();
    feed(
        &mut conn,
        t0,
        &frame(&[ok(&query, &|m| {
            QueryInfoResponse {
                buffer: buffer.clone(),
            }
            .encode(m)
        })]),
    );
    assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(answer))]));
}

#[test]
fn an_append_writes_where_the_server_says_the_end_of_file_is() {
    use smb_proto::wire::fscc::{class, FileStandardInformation};
    use smb_proto::wire::query_info::{QueryInfoRequest, QueryInfoResponse};
    use smb_proto::wire::write::{WriteRequest, WriteResponse};
    let (mut conn, t0) = negotiated(config(), 10);
    let file_id = FileId {
        persistent: 3,
        volatile: 4,
    };
    let handle = Handle {
        tree: TreeId(9),
        file_id,
    };
    let id = conn
        .start(ops::Append::new(handle, Bytes::from_static(b"tail")), t0)
        .id();
    let query = only(sent(&mut conn));
    let q = QueryInfoRequest::decode(&query.msg).unwrap();
    assert_eq!(
        (q.file_info_class, q.file_id),
        (class::FILE_STANDARD_INFORMATION, file_id)
    );
    assert_eq!(query.header.tree_id, 9);
    let size = FileStandardInformation {
        end_of_file: 100,
        ..Default::default()
    };
    let answer = response(&query.header, NtStatus::SUCCESS, 1, |m| {
        QueryInfoResponse {
            buffer: size.encode().into(),
        }
        .encode(m)
    });
    feed(&mut conn, t0, &frame(&[answer]));
    let write = only(sent(&mut conn));
    let w = WriteRequest::decode(&write.msg).unwrap();
    assert_eq!(
        (w.offset, &w.data[..], w.file_id),
        (100, &b"tail"[..], file_id)
    );
    let written = response(&write.header, NtStatus::SUCCESS, 1, |m| {
        WriteResponse {
            count: 4,
            remaining: 0,
        }
        .encode(m)
    });
    feed(&mut conn, t0, &frame(&[written]));
    assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(104u64))]));
}

#[test]
fn mkdir_with_parents_creates_them_only_after_finding_one_missing() {
    use smb_proto::wire::create::disposition;
    let (mut conn, t0) = negotiated(config(), 10);
    let s9 = share(&mut conn, t0, 9);
    let op = ops::MakeDirectory::new(&s9, "a/b/c").parents(true);
    let id = conn.start(op, t0).id();
    let (sent_as, create, close) = create_close(&mut conn);
    assert_eq!(sent_as, (r"a\b\c".to_string(), disposition::CREATE));
    let missing = Err(NtStatus::OBJECT_PATH_NOT_FOUND);
    answer_create_close(&mut conn, t0, (&create, &close), missing);
    // `mkdir -p` of the parent, a level at a time, existing levels kept.
    for parent in ["a", r"a\b"] {
        let (sent_as, create, close) = create_close(&mut conn);
        assert_eq!(sent_as, (parent.to_string(), disposition::OPEN_IF));
        let dir = Ok(file_attributes::DIRECTORY);
        answer_create_close(&mut conn, t0, (&create, &close), dir);
    }
    let (sent_as, create, close) = create_close(&mut conn);
    assert_eq!(sent_as, (r"a\b\c".to_string(), disposition::CREATE));
    answer_create_close(
        &mut conn,
        t0,
        (&create, &close),
        Ok(file_attributes::DIRECTORY),
    );
    assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(()))]));

    // An existing parent costs nothing: one CREATE, and done.
    let id = conn
        .start(ops::MakeDirectory::new(&s9, "a/d").parents(true), t0)
        .id();
    let (_, create, close) = create_close(&mut conn);
    answer_create_close(
        &mut conn,
        t0,
        (&create, &close),
        Ok(file_attributes::DIRECTORY),
    );
    assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(()))]));
    assert!(sent(&mut conn).is_empty());
}

#[test]
fn mkdir_exist_ok_accepts_an_existing_directory_but_not_a_file() {
    let (mut conn, t0) = negotiated(config(), 10);
    let s9 = share(&mut conn, t0, 9);
    let collision = NtStatus::OBJECT_NAME_COLLISION;
    for attributes in [file_attributes::DIRECTORY, file_attributes::ARCHIVE] {
        let id = conn
            .start(ops::MakeDirectory::new(&s9, "d").exist_ok(true), t0)
            .id();
        let (_, create, close) = create_close(&mut conn);
        answer_create_close(&mut conn, t0, (&create, &close), Err(collision));
        // A stat says what holds the name.
        let (_, create, close) = create_close(&mut conn);
        answer_create_close(&mut conn, t0, (&create, &close), Ok(attributes));
        if attributes == file_attributes::DIRECTORY {
            assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(()))]));
        } else {
            // A file: the collision, with the trail of the CREATE that met it.
            assert_failed(
                events(&mut conn),
                id,
                Error::failed(collision, "mkdir", "d"),
            );
        }
    }
    // Without exist_ok the collision is the answer, with no stat.
    let id = conn.start(ops::MakeDirectory::new(&s9, "d"), t0).id();
    let (_, create, close) = create_close(&mut conn);
    answer_create_close(&mut conn, t0, (&create, &close), Err(collision));
    assert_failed(
        events(&mut conn),
        id,
        Error::failed(collision, "mkdir", "d"),
    );
    assert!(sent(&mut conn).is_empty());
}

// ---- server-side copy ----

/// A scripted server for [`ops::CopyFile`] from `a` to `b`: it answers every request the
/// copy sends from `src`, doing what a server would (copy-chunk ranges, READs, WRITEs
/// land in `dest`), refusing what it is told to refuse.
struct CopyServer {
    src: Vec<u8>,
    dest: Vec<u8>,
    /// The status FSCTL_SRV_REQUEST_RESUME_KEY is answered with.
    key_status: NtStatus,
    /// The status a copy-chunk request within the limits is answered with.
    chunk_status: NtStatus,
    /// The limits a copy-chunk request must keep to, or be answered
    /// STATUS_INVALID_PARAMETER carrying them.
    limits: ops::CopyLimits,
    /// Every copy-chunk request received, and the READs and WRITEs.
    copychunks: Vec<smb_proto::wire::ioctl::SrvCopychunkCopy>,
    reads: usize,
    writes: usize,
}

const SRC_ID: FileId = FileId {
    persistent: 1,
    volatile: 11,
};
const DEST_ID: FileId = FileId {
    persistent: 2,
    volatile: 22,
};
const RESUME_KEY: [u8; 24] = [0x5c; 24];

impl CopyServer {
    fn new(src: Vec<u8>) -> Self {
        CopyServer {
            src,
            dest: Vec::new(),
            key_status: NtStatus::SUCCESS,
            chunk_status: NtStatus::SUCCESS,
            limits: ops::CopyLimits::DEFAULT,
            copychunks: Vec::new(),
            reads: 0,
            writes: 0,
        }
    }

    fn put(&mut self, at: usize, data: &[u8]) {
        if self.dest.len() < at + data.len() {
            self.dest.resize(at + data.len(), 0);
        }
        self.dest[at..at + data.len()].copy_from_slice(data);
    }

    fn answer(&mut self, req: &Request) -> Vec<u8> {
        use smb_proto::wire::create::CreateRequest;
        use smb_proto::wire::ioctl::{
            fsctl, IoctlRequest, SrvCopychunkCopy, SrvCopychunkResponse, SrvRequestResumeKey,
        };
        use smb_proto::wire::read::ReadRequest;
        use smb_proto::wire::write::{WriteRequest, WriteResponse};
        let h = &req.header;
        match Command::from_u16(h.command).expect("a command") {
            Command::Create => {
                let c = CreateRequest::decode(&req.msg).unwrap();
                let (file_id, end_of_file) = match c.name.as_str() {
                    "a" => (SRC_ID, self.src.len() as u64),
                    "b" => (DEST_ID, 0),
                    other => panic!("opened {other:?}"),
                };
                let body = CreateResponse {
                    file_id,
                    end_of_file,
                    ..Default::default()
                };
                response(h, NtStatus::SUCCESS, 4, |m| body.encode(m))
            }
            Command::Ioctl => {
                let ioctl = IoctlRequest::decode(&req.msg).unwrap();
                match ioctl.ctl_code {
                    fsctl::SRV_REQUEST_RESUME_KEY if self.key_status == NtStatus::SUCCESS => {
                        let mut out = Vec::new();
                        SrvRequestResumeKey {
                            resume_key: RESUME_KEY,
                        }
                        .encode(&mut out);
                        ioctl_answer(req, NtStatus::SUCCESS, out)
                    }
                    fsctl::SRV_REQUEST_RESUME_KEY => response(h, self.key_status, 4, error_body),
                    fsctl::SRV_COPYCHUNK_WRITE => {
                        assert_eq!(ioctl.file_id, DEST_ID);
                        let copy = SrvCopychunkCopy::decode(&ioctl.input).unwrap();
                        assert_eq!(copy.source_key, RESUME_KEY);
                        self.copychunks.push(copy.clone());
                        let l = self.limits;
                        let total: u64 = copy.chunks.iter().map(|c| u64::from(c.length)).sum();
                        if copy.chunks.len() > l.max_chunks as usize
                            || copy.chunks.iter().any(|c| c.length > l.max_chunk_size)
                            || total > u64::from(l.max_total)
                        {
                            let mut out = Vec::new();
                            SrvCopychunkResponse {
                                chunks_written: l.max_chunks,
                                chunk_bytes_written: l.max_chunk_size,
                                total_bytes_written: l.max_total,
                            }
                            .encode(&mut out);
                            return ioctl_answer(req, NtStatus::INVALID_PARAMETER, out);
                        }
                        if self.chunk_status != NtStatus::SUCCESS {
                            return response(h, self.chunk_status, 4, error_body);
                        }
                        for c in &copy.chunks {
                            let from = c.source_offset as usize;
                            let piece = self.src[from..from + c.length as usize].to_vec();
                            self.put(c.target_offset as usize, &piece);
                        }
                        let mut out = Vec::new();
                        SrvCopychunkResponse {
                            chunks_written: copy.chunks.len() as u32,
                            chunk_bytes_written: 0,
                            total_bytes_written: total as u32,
                        }
                        .encode(&mut out);
                        ioctl_answer(req, NtStatus::SUCCESS, out)
                    }
                    other => panic!("FSCTL {other:#x}"),
                }
            }
            Command::Read => {
                let r = ReadRequest::decode(&req.msg).unwrap();
                assert_eq!(r.file_id, SRC_ID);
                self.reads += 1;
                let from = r.offset as usize;
                let mut to = (from + r.length as usize).min(self.src.len());
                if self.reads == 1 {
                    // The first READ comes back short: the rest must be asked again.
                    to = from + (to - from) / 2;
                }
                let body = ReadResponse {
                    data: Bytes::copy_from_slice(&self.src[from..to]),
                    ..Default::default()
                };
                response(h, NtStatus::SUCCESS, 4, |m| body.encode(m))
            }
            Command::Write => {
                let w = WriteRequest::decode(&req.msg).unwrap();
                assert_eq!(w.file_id, DEST_ID);
                self.writes += 1;
                self.put(w.offset as usize, &w.data);
                let body = WriteResponse {
                    count: w.data.len() as u32,
                    ..Default::default()
                };
                response(h, NtStatus::SUCCESS, 4, |m| body.encode(m))
            }
            Command::Close => close_ok(req),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Runs `op` to its end against this server; returns its result.
    fn run(&mut self, op: ops::CopyFile) -> Result<ops::Copied, Error> {
        let (mut conn, t0) = negotiated(config(), 512);
        assert_eq!(share(&mut conn, t0, 7), "s7");
        let handle = conn.start(op, t0);
        for _ in 0..1000 {
            for reqs in sent_frames(&mut conn) {
                let answers: Vec<Vec<u8>> = reqs.iter().map(|r| self.answer(r)).collect();
                feed(&mut conn, t0, &frame(&answers));
            }
            if let Some(ev) = events(&mut conn).into_iter().next() {
                let Event::Done { id, result } = ev else {
                    panic!("{ev:?}")
                };
                assert_eq!(id, handle.id());
                // A failure closes both handles on the copy's behalf; nothing else follows.
                let after = sent(&mut conn);
                let closes = closes_of(&after);
                assert_eq!(closes.len(), after.len(), "only CLOSEs after the end");
                let want = if result.is_ok() {
                    vec![]
                } else {
                    vec![SRC_ID, DEST_ID]
                };
                assert_eq!(closes, want);
                return handle.output(result);
            }
        }
        panic!("the copy never ended");
    }
}

#[test]
fn copy_chunk_limits_the_server_states_are_adopted_and_the_range_asked_again() {
    let src: Vec<u8> = (0..(3 << 20) + 1000).map(|i| (i * 7 % 251) as u8).collect();
    let mut server = CopyServer::new(src.clone());
    server.limits = ops::CopyLimits {
        max_chunks: 2,
        max_chunk_size: 256 << 10,
        max_total: 512 << 10,
    };
    let op = ops::CopyFile::new("s7", "a", "b", ops::CopyDestination::CreateNew);
    let copied = server.run(op).unwrap();
    assert_eq!(
        copied,
        ops::Copied {
            bytes: src.len() as u64,
            server_side: true
        }
    );
    assert_eq!(server.dest, src);
    assert_eq!((server.reads, server.writes), (0, 0));
    // The first request kept to MS-SMB2's defaults (4 chunks of 1 MiB for 3 MiB and a
    // bit); after the refusal every request kept to the server's limits.
    let first = &server.copychunks[0];
    assert_eq!(first.chunks.len(), 4);
    assert_eq!(first.chunks[0].length, 1 << 20);
    let after = &server.copychunks[1..];
    assert_eq!(after.len(), ((3 << 20) + 1000usize).div_ceil(512 << 10));
    for c in after {
        assert!(c.chunks.len() <= 2 && c.chunks.iter().all(|c| c.length <= 256 << 10));
    }
}

#[test]
fn a_server_that_keeps_refusing_compliant_requests_fails_the_copy() {
    // Limits stated, then a request within them refused again: no loop, a failure.
    let mut server = CopyServer::new(vec![1; 100]);
    server.limits = ops::CopyLimits {
        max_chunks: 1,
        max_chunk_size: 1 << 20,
        max_total: 0,
    };
    let op = ops::CopyFile::new("s7", "a", "b", ops::CopyDestination::CreateNew);
    let e = server.run(op).unwrap_err();
    assert_eq!(e, Error::failed(NtStatus::INVALID_PARAMETER, "copy", "b"));
    assert_eq!(
        server.copychunks.len(),
        1,
        "limits of 0 bytes are no limits"
    );
}

#[test]
fn a_server_without_server_side_copy_gets_reads_and_writes() {
    let src: Vec<u8> = (0..(2 << 20) + 77).map(|i| (i * 13 % 253) as u8).collect();
    for (key, chunk) in [
        (NtStatus::NOT_SUPPORTED, NtStatus::SUCCESS),
        (NtStatus::SUCCESS, NtStatus::INVALID_DEVICE_REQUEST),
    ] {
        let mut server = CopyServer::new(src.clone());
        server.key_status = key;
        server.chunk_status = chunk;
        let op = ops::CopyFile::new("s7", "a", "b", ops::CopyDestination::Replace);
        let copied = server.run(op).unwrap();
        assert_eq!(
            copied,
            ops::Copied {
                bytes: src.len() as u64,
                server_side: false
            },
            "{key} {chunk}"
        );
        assert_eq!(server.dest, src, "{key} {chunk}");
        let tried = usize::from(key == NtStatus::SUCCESS);
        assert_eq!(server.copychunks.len(), tried, "{key} {chunk}");
        // 1 MiB READs: three, and one more for the half the short first one left.
        assert_eq!((server.reads, server.writes), (4, 4), "{key} {chunk}");
    }
}

#[test]
fn a_range_copies_only_its_bytes_to_its_offset() {
    let src: Vec<u8> = (0..5000).map(|i| (i % 256) as u8).collect();
    let mut server = CopyServer::new(src.clone());
    let op = ops::CopyFile::new("s7", "a", "b", ops::CopyDestination::WriteInto)
        .range(1000, 300, 100_000);
    let copied = server.run(op).unwrap();
    assert_eq!(copied.bytes, 4000, "clipped to the source's end");
    assert_eq!(server.dest[..300], [0; 300]);
    assert_eq!(server.dest[300..], src[1000..]);
    let c = &server.copychunks[0].chunks;
    assert_eq!(
        (c.len(), c[0].source_offset, c[0].target_offset, c[0].length),
        (1, 1000, 300, 4000)
    );
}

// ---- change notification ----

/// A watch, from its CREATE to its first CHANGE_NOTIFY held by the server: returns the
/// operation and the CHANGE_NOTIFY request.
fn watch_armed(conn: &mut Connection, t0: Instant, share: &str) -> (OpId, Request) {
    use smb_proto::wire::notify::ChangeNotifyRequest;
    let id = conn
        .start(ops::Watch::new(share, "d").recursive(true), t0)
        .id();
    let create = only(sent(conn));
    assert_eq!(create.header.command, Command::Create as u16);
    let created = CreateResponse {
        file_id: FileId {
            persistent: 7,
            volatile: 8,
        },
        ..Default::default()
    };
    let resp = response(&create.header, NtStatus::SUCCESS, 1, |m| created.encode(m));
    feed(conn, t0, &frame(&[resp]));
    let notify = only(sent(conn));
    assert_eq!(notify.header.command, Command::ChangeNotify as u16);
    let body = ChangeNotifyRequest::decode(&notify.msg).unwrap();
    assert_eq!((body.file_id, body.flags), (created.file_id, 1));
    assert!(
        events(conn).is_empty(),
        "not armed before the server says so"
    );
    let interim = async_response(&notify.header, NtStatus::PENDING, 0x99, 1, error_body);
    feed(conn, t0, &frame(&[interim]));
    match only(events(conn)) {
        Event::Changes { id: of, changes } if of == id && changes.is_empty() => {}
        other => panic!("armed: {other:?}"),
    }
    (id, notify)
}

#[test]
fn a_watch_has_no_deadline_and_asks_again_only_when_its_changes_were_taken() {
    use smb_proto::ops::Change;
    use smb_proto::wire::notify::{action, ChangeNotifyResponse, FileNotifyInformation};
    let (mut conn, t0) = negotiated(config(), 10);
    let s9 = share(&mut conn, t0, 9);
    let (id, notify) = watch_armed(&mut conn, t0, &s9);
    // Nothing times it out: no deadline, and a day later it is still waiting.
    assert_eq!(conn.poll_timeout(), None);
    conn.handle_timeout(t0 + Duration::from_secs(86_400));
    assert!(events(&mut conn).is_empty());

    // Too many changes: "list again", and no new request until the driver took it.
    let later = t0 + Duration::from_secs(86_400);
    let overflow = async_response(&notify.header, NtStatus::NOTIFY_ENUM_DIR, 0x99, 1, |m| {
        ChangeNotifyResponse::default().encode(m)
    });
    feed(&mut conn, later, &frame(&[overflow]));
    match only(events(&mut conn)) {
        Event::Changes { changes, .. } => assert_eq!(changes, [Change::ListAgain]),
        other => panic!("{other:?}"),
    }
    assert!(sent(&mut conn).is_empty(), "waits for the driver");
    conn.supply(id, 0, Bytes::new(), later);
    let again = only(sent(&mut conn));
    assert_eq!(again.header.command, Command::ChangeNotify as u16);

    // A rename whose halves come in two answers is one change.
    let names = |entries: Vec<FileNotifyInformation>| {
        move |m: &mut Vec<u8>| ChangeNotifyResponse { changes: entries }.encode(m)
    };
    let first = response(
        &again.header,
        NtStatus::SUCCESS,
        1,
        names(vec![FileNotifyInformation {
            action: action::RENAMED_OLD_NAME,
            file_name: "a".into(),
        }]),
    );
    feed(&mut conn, later, &frame(&[first]));
    assert!(
        events(&mut conn).is_empty(),
        "half a rename reports nothing"
    );
    let third = only(sent(&mut conn));
    assert_eq!(third.header.command, Command::ChangeNotify as u16);
    let second = response(
        &third.header,
        NtStatus::SUCCESS,
        1,
        names(vec![FileNotifyInformation {
            action: action::RENAMED_NEW_NAME,
            file_name: "sub\\b".into(),
        }]),
    );
    feed(&mut conn, later, &frame(&[second]));
    match only(events(&mut conn)) {
        Event::Changes { changes, .. } => assert_eq!(
            changes,
            [Change::Renamed {
                from: "a".into(),
                to: "sub\\b".into()
            }]
        ),
        other => panic!("{other:?}"),
    }
    // A supply nobody asked for is refused: the watch fails rather than guess.
    conn.supply(id, 0, Bytes::new(), later);
    assert_eq!(
        only(sent(&mut conn)).header.command,
        Command::ChangeNotify as u16
    );
    conn.supply(id, 0, Bytes::new(), later);
    match events(&mut conn).as_slice() {
        [Event::Done {
            id: of,
            result: Err(Error::Invalid(_)),
        }] if *of == id => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_server_ending_a_watch_ends_it_and_a_cancel_closes_the_directory() {
    let (mut conn, t0) = negotiated(config(), 10);
    let s9 = share(&mut conn, t0, 9);
    let (id, notify) = watch_armed(&mut conn, t0, &s9);
    let cleanup = async_response(&notify.header, NtStatus::NOTIFY_CLEANUP, 0x99, 1, |m| {
        smb_proto::wire::notify::ChangeNotifyResponse::default().encode(m)
    });
    feed(&mut conn, t0, &frame(&[cleanup]));
    assert_eq!(show(&events(&mut conn)), show(&[done(id, Ok(()))]));
    assert!(sent(&mut conn).is_empty(), "the server closed it already");

    let (id, _) = watch_armed(&mut conn, t0, &s9);
    conn.cancel(id, t0);
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done::<()>(id, Err(Error::Cancelled))])
    );
    let commands: Vec<u16> = sent(&mut conn).iter().map(|r| r.header.command).collect();
    assert_eq!(
        commands,
        [Command::Cancel as u16, Command::Close as u16],
        "the held request cancelled, then the directory closed"
    );
}

// ---- byte-range locks ----

/// An open on tree 9, as a LOCK names it.
fn locked_handle() -> Handle {
    Handle {
        tree: TreeId(9),
        file_id: FileId {
            persistent: 0x11,
            volatile: 0x22,
        },
    }
}

fn lock_response(m: &mut Vec<u8>) {
    // MS-SMB2 2.2.27: StructureSize 4, Reserved.
    m.extend_from_slice(&[4, 0, 0, 0]);
}

/// Starts a lock that waits, answers it STATUS_PENDING, and returns its id and request.
fn waiting_lock(conn: &mut Connection, t0: Instant) -> (OpId, Request) {
    let id = conn
        .start(
            ops::Lock::new(locked_handle(), 100, 50, ops::LockKind::Exclusive),
            t0,
        )
        .id();
    let req = only(sent(conn));
    assert_eq!(req.header.command, Command::Lock as u16);
    assert_eq!(req.header.tree_id, 9);
    let lock = LockRequest::decode(&req.msg).unwrap();
    assert_eq!(lock.file_id, locked_handle().file_id);
    assert_eq!(
        lock.locks,
        [LockElement {
            offset: 100,
            length: 50,
            flags: lock_flags::EXCLUSIVE_LOCK,
        }]
    );
    let interim = async_response(&req.header, NtStatus::PENDING, 0x55, 1, error_body);
    feed(conn, t0, &frame(&[interim]));
    assert!(events(conn).is_empty());
    (id, req)
}

#[test]
fn a_waiting_lock_outlives_the_request_timeout_until_cancelled() {
    let (mut conn, t0) = negotiated(config(), 10);
    let (id, req) = waiting_lock(&mut conn, t0);
    // No deadline: the range may stay locked by another open for an hour.
    assert_eq!(conn.poll_timeout(), None);
    conn.handle_timeout(t0 + 100 * TIMEOUT);
    assert!(events(&mut conn).is_empty());
    assert_eq!(conn.in_flight(), 1);

    conn.cancel(id, t0 + 100 * TIMEOUT);
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done::<()>(id, Err(Error::Cancelled))])
    );
    let cancel = only(sent(&mut conn));
    assert_eq!(cancel.header.command, Command::Cancel as u16);
    assert_eq!(cancel.header.async_id, 0x55);
    // The server's STATUS_CANCELLED ends it; nothing more goes out.
    let last = async_response(&req.header, NtStatus::CANCELLED, 0x55, 1, error_body);
    feed(&mut conn, t0, &frame(&[last]));
    assert!(events(&mut conn).is_empty());
    assert!(sent(&mut conn).is_empty());
    assert_eq!(conn.in_flight(), 0);
}

#[test]
fn a_lock_granted_across_its_cancel_is_unlocked_again() {
    let (mut conn, t0) = negotiated(config(), 10);
    let (id, req) = waiting_lock(&mut conn, t0);
    conn.cancel(id, t0);
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done::<()>(id, Err(Error::Cancelled))])
    );
    assert_eq!(only(sent(&mut conn)).header.command, Command::Cancel as u16);
    // The server granted the range before it saw the CANCEL.
    let granted = async_response(&req.header, NtStatus::SUCCESS, 0x55, 1, lock_response);
    feed(&mut conn, t0, &frame(&[granted]));
    assert!(events(&mut conn).is_empty());
    let unlock = only(sent(&mut conn));
    assert_eq!(unlock.header.command, Command::Lock as u16);
    assert_eq!(unlock.header.tree_id, 9);
    let body = LockRequest::decode(&unlock.msg).unwrap();
    assert_eq!(body.file_id, locked_handle().file_id);
    assert_eq!(
        body.locks,
        [LockElement {
            offset: 100,
            length: 50,
            flags: lock_flags::UNLOCK,
        }]
    );
    // Its answer is absorbed; the connection goes on.
    let done_unlock = response(&unlock.header, NtStatus::SUCCESS, 1, lock_response);
    feed(&mut conn, t0, &frame(&[done_unlock]));
    assert!(events(&mut conn).is_empty());
    assert!(sent(&mut conn).is_empty());
    assert_eq!(conn.in_flight(), 0);
}

#[test]
fn a_lock_that_does_not_wait_keeps_the_timeout_and_fails_as_a_conflict() {
    let (mut conn, t0) = negotiated(config(), 10);
    let id = conn
        .start(
            ops::Lock::try_new(locked_handle(), 0, 1, ops::LockKind::Shared),
            t0,
        )
        .id();
    let req = only(sent(&mut conn));
    let lock = LockRequest::decode(&req.msg).unwrap();
    assert_eq!(
        lock.locks[0].flags,
        lock_flags::SHARED_LOCK | lock_flags::FAIL_IMMEDIATELY
    );
    assert_eq!(conn.poll_timeout(), Some(t0 + TIMEOUT));
    let refused = response(&req.header, NtStatus::LOCK_NOT_GRANTED, 1, error_body);
    feed(&mut conn, t0, &frame(&[refused]));
    let events = events(&mut conn);
    assert_failed(
        events,
        id,
        Error::failed(NtStatus::LOCK_NOT_GRANTED, "lock", ""),
    );
    assert_eq!(
        Error::failed(NtStatus::LOCK_NOT_GRANTED, "lock", "").kind(),
        smb_proto::ErrorKind::LockConflict
    );
    // A cancel now has nothing to undo or send.
    conn.cancel(id, t0);
    assert!(sent(&mut conn).is_empty());
}

#[test]
fn ranges_the_server_would_refuse_are_refused_before_sending() {
    let (mut conn, t0) = negotiated(config(), 10);
    let wait = |offset| LockElement {
        offset,
        length: 1,
        flags: lock_flags::SHARED_LOCK,
    };
    let id = conn
        .start(
            ops::Lock::ranges(locked_handle(), vec![wait(0), wait(10)]),
            t0,
        )
        .id();
    assert!(sent(&mut conn).is_empty());
    match only(events(&mut conn)) {
        Event::Done {
            id: got,
            result: Err(Error::Invalid(why)),
        } if got == id => assert!(why.contains("several ranges"), "{why}"),
        other => panic!("{other:?}"),
    }
}

// ---- keep-alive ----

#[test]
fn silence_for_the_keep_alive_interval_sends_an_echo_and_an_unanswered_one_ends_it() {
    let mut c = config();
    c.keep_alive = Some(Duration::from_secs(30));
    let (mut conn, t0) = negotiated(c, 10);
    assert_eq!(conn.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    conn.handle_timeout(t0 + Duration::from_secs(29));
    assert!(sent(&mut conn).is_empty(), "not before the interval");

    // Due: an ECHO of the connection's own; answered, the count starts again.
    let t1 = t0 + Duration::from_secs(30);
    conn.handle_timeout(t1);
    let echo = only(sent(&mut conn));
    assert_eq!(echo.header.command, Command::Echo as u16);
    assert_eq!(
        conn.poll_timeout(),
        Some(t1 + TIMEOUT),
        "the ECHO's own deadline"
    );
    let t2 = t1 + Duration::from_secs(1);
    feed(&mut conn, t2, &frame(&[echo_response(&echo.header, 1)]));
    assert!(
        events(&mut conn).is_empty(),
        "nobody waits for a keep-alive"
    );
    assert_eq!(conn.poll_timeout(), Some(t2 + Duration::from_secs(30)));

    // Unanswered: the server is gone.
    let t3 = t2 + Duration::from_secs(30);
    conn.handle_timeout(t3);
    assert_eq!(only(sent(&mut conn)).header.command, Command::Echo as u16);
    let id = conn.start(ops::Echo, t3).id();
    sent(&mut conn);
    conn.handle_timeout(t3 + TIMEOUT);
    let evs = events(&mut conn);
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Closed(CloseReason::KeepAliveTimeout))),
        "{}",
        show(&evs).join("\n")
    );
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Done { id: of, result: Err(_) } if *of == id)),
        "the operation in flight fails with the connection"
    );
}

#[test]
fn without_keep_alive_a_silent_connection_sends_nothing() {
    let (mut conn, t0) = negotiated(config(), 10);
    assert_eq!(conn.poll_timeout(), None);
    conn.handle_timeout(t0 + Duration::from_secs(86_400));
    assert!(sent(&mut conn).is_empty());
    assert!(events(&mut conn).is_empty());
}

// ---- DFS ----

/// The name a CREATE request carries (MS-SMB2 2.2.13: NameOffset, NameLength).
fn create_name(req: &Request) -> String {
    let m = &req.msg;
    let offset = usize::from(u16::from_le_bytes([m[64 + 44], m[64 + 45]]));
    let len = usize::from(u16::from_le_bytes([m[64 + 46], m[64 + 47]]));
    smb_proto::wire::codec::utf16le(&m[offset..offset + len], "name").unwrap()
}

/// MS-SMB2 3.2.4.3 and 3.2.4.1.1: on a share the TREE_CONNECT response flags DFS, a
/// CREATE names `server\share\path` and every request sets SMB2_FLAGS_DFS_OPERATIONS;
/// on another share neither.
#[test]
fn a_dfs_share_gets_dfs_paths_and_the_dfs_flag() {
    use smb_proto::wire::tree_connect::{share_flags, TreeConnectResponse};
    let (mut conn, t0) = negotiated(config(), 64);
    let plain = share(&mut conn, t0, 9);
    conn.start(ops::Stat::new(&plain, "dir/a.txt"), t0);
    let reqs = sent(&mut conn);
    assert_eq!(create_name(&reqs[0]), "dir\\a.txt");
    assert!(reqs
        .iter()
        .all(|r| r.header.flags & flags::DFS_OPERATIONS == 0));

    conn.start(ops::Stat::new("dfsroot", "dir/a.txt"), t0);
    let tc = only(sent(&mut conn));
    let mut resp = response(&tc.header, NtStatus::SUCCESS, 1, |m| {
        TreeConnectResponse {
            share_flags: share_flags::DFS | share_flags::DFS_ROOT,
            ..Default::default()
        }
        .encode(m)
    });
    resp[36..40].copy_from_slice(&5u32.to_le_bytes());
    feed(&mut conn, t0, &frame(&[resp]));
    let reqs = sent(&mut conn);
    assert_eq!(reqs.len(), 2, "CREATE + CLOSE");
    assert_eq!(create_name(&reqs[0]), "scripted\\dfsroot\\dir\\a.txt");
    for r in &reqs {
        assert_eq!(r.header.tree_id, 5);
        assert_ne!(r.header.flags & flags::DFS_OPERATIONS, 0, "{:?}", r.header);
    }
    // The share's root is `server\share` itself.
    conn.start(ops::Stat::new("dfsroot", ""), t0);
    assert_eq!(create_name(&sent(&mut conn)[0]), "scripted\\dfsroot");
}

// ---- leases and oplocks ----

/// The core holds the leases and oplocks opens were granted and acknowledges their
/// breaks itself, with no operation of the file running.
mod leases {
    use super::*;
    use smb_proto::ops::{LeaseState, LeaseStatus, Open, OpenOptions};
    use smb_proto::wire::create::{context_name, oplock_level, CreateRequest, LeaseContext};
    use smb_proto::wire::oplock_break::{
        lease_break_flags, BreakNotification, BreakResponse, LeaseBreakAck, LeaseBreakNotification,
        OplockBreak,
    };

    const FILE: FileId = FileId {
        persistent: 0x41,
        volatile: 0x42,
    };
    const RWH: u32 = LeaseState::R | LeaseState::W | LeaseState::H;

    /// A connection that negotiated `revision` with a server offering leasing.
    fn negotiated_leasing(revision: u16) -> (Connection, Instant) {
        let t0 = Instant::now();
        let mut conn = Connection::new(config(), t0);
        let req = only(sent(&mut conn));
        let body = NegotiateResponse {
            security_mode: security_mode::SIGNING_ENABLED,
            dialect_revision: revision,
            server_guid: [0x5a; 16],
            capabilities: capabilities::LARGE_MTU | capabilities::LEASING,
            max_transact_size: 1 << 20,
            max_read_size: 1 << 20,
            max_write_size: 1 << 20,
            ..Default::default()
        };
        let resp = response(&req.header, NtStatus::SUCCESS, 100, |m| body.encode(m));
        feed(&mut conn, t0, &frame(&[resp]));
        assert!(conn.negotiated().is_some());
        assert!(events(&mut conn).is_empty());
        (conn, t0)
    }

    /// Opens `f` on share tree 5 asking for `want`; answers the CREATE with what
    /// `grant` makes of the request (oplock level, contexts). Returns the CREATE sent.
    fn open(
        conn: &mut Connection,
        t0: Instant,
        want: u32,
        grant: impl FnOnce(&CreateRequest) -> (u8, Vec<(Bytes, Bytes)>),
    ) -> (Handle, CreateRequest) {
        let s5 = share(conn, t0, 5);
        let op = conn.start(
            Open::new(&s5, "f", OpenOptions::read_write_create()).with_lease(want),
            t0,
        );
        let req = only(sent(conn));
        let create = CreateRequest::decode(&req.msg).expect("CREATE decodes");
        let (oplock_level, create_contexts) = grant(&create);
        let resp = CreateResponse {
            oplock_level,
            file_id: FILE,
            create_contexts,
            ..Default::default()
        };
        let resp = response(&req.header, NtStatus::SUCCESS, 10, |m| resp.encode(m));
        feed(conn, t0, &frame(&[resp]));
        let (handle, _) = match only(events(conn)) {
            Event::Done { id, result } if id == op.id() => op.output(result).unwrap(),
            other => panic!("open: {other:?}"),
        };
        (handle, create)
    }

    /// The lease the server grants: what was asked, as `state`.
    fn grant_lease(create: &CreateRequest, state: u32) -> (u8, Vec<(Bytes, Bytes)>) {
        assert_eq!(create.requested_oplock_level, oplock_level::LEASE);
        let (name, data) = only(create.create_contexts.clone());
        assert_eq!(name, context_name::REQUEST_LEASE);
        let mut lease = LeaseContext::decode(&data).unwrap();
        lease.lease_state = state;
        let ctx = (
            Bytes::from_static(context_name::REQUEST_LEASE),
            Bytes::from(lease.encode()),
        );
        (oplock_level::LEASE, vec![ctx])
    }

    fn lease_key(create: &CreateRequest) -> [u8; 16] {
        let (_, data) = only(create.create_contexts.clone());
        LeaseContext::decode(&data).unwrap().lease_key
    }

    fn status(conn: &mut Connection, t0: Instant, handle: Handle) -> LeaseState {
        let op = conn.start(LeaseStatus(handle), t0);
        match only(events(conn)) {
            Event::Done { id, result } if id == op.id() => op.output(result).unwrap(),
            other => panic!("lease status: {other:?}"),
        }
    }

    fn break_frame(body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let header = Header {
            command: Command::OplockBreak as u16,
            message_id: u64::MAX,
            flags: flags::SERVER_TO_REDIR,
            ..Default::default()
        };
        let mut m = Vec::new();
        header.encode(&mut m);
        body(&mut m);
        frame(&[m])
    }

    fn lease_break(key: [u8; 16], from: u32, to: u32, epoch: u16, ack: bool) -> Vec<u8> {
        break_frame(|m| {
            LeaseBreakNotification {
                new_epoch: epoch,
                flags: if ack {
                    lease_break_flags::ACK_REQUIRED
                } else {
                    0
                },
                lease_key: key,
                current_lease_state: from,
                new_lease_state: to,
                ..Default::default()
            }
            .encode(m)
        })
    }

    fn oplock_break(level: u8) -> Vec<u8> {
        break_frame(|m| {
            OplockBreak {
                oplock_level: level,
                file_id: FILE,
            }
            .encode(m)
        })
    }

    /// The one acknowledgment sent, decoded, with its header.
    fn ack_sent(conn: &mut Connection) -> (BreakResponse, Header) {
        let req = only(sent(conn));
        assert_eq!(req.header.command, Command::OplockBreak as u16);
        (BreakResponse::decode(&req.msg).unwrap(), req.header)
    }

    #[test]
    fn a_lease_break_is_acknowledged_by_the_core_with_no_operation_running() {
        let (mut conn, t0) = negotiated_leasing(dialect::SMB2_1);
        let (handle, create) = open(&mut conn, t0, RWH, |c| grant_lease(c, RWH));
        // SMB 2.1: the v1 layout, 32 bytes.
        assert_eq!(
            only(create.create_contexts.clone()).1.len(),
            LeaseContext::V1_LEN
        );
        let key = lease_key(&create);
        let held = status(&mut conn, t0, handle);
        assert_eq!((held.bits, held.oplock, held.breaks), (RWH, None, 0));
        assert_eq!(held.to_string(), "RWH");

        let rh = LeaseState::R | LeaseState::H;
        feed(&mut conn, t0, &lease_break(key, RWH, rh, 0, true));
        assert!(
            events(&mut conn).is_empty(),
            "a held lease's break is no event"
        );
        let (ack, header) = ack_sent(&mut conn);
        assert_eq!(
            ack,
            BreakResponse::Lease(LeaseBreakAck {
                lease_key: key,
                lease_state: rh,
                ..Default::default()
            })
        );
        assert_eq!(header.tree_id, 5, "on the open's tree");
        let after = status(&mut conn, t0, handle);
        assert_eq!((after.bits, after.breaks), (rh, 1));

        // The server's answer to the acknowledgment completes nothing and ends nothing.
        let answer = response(&header, NtStatus::SUCCESS, 1, |m| {
            LeaseBreakAck {
                lease_key: key,
                lease_state: rh,
                ..Default::default()
            }
            .encode(m)
        });
        feed(&mut conn, t0, &frame(&[answer]));
        assert!(events(&mut conn).is_empty());
        // A break that needs no acknowledgment (R to none) lowers the state silently.
        feed(&mut conn, t0, &lease_break(key, rh, 0, 0, false));
        assert!(sent(&mut conn).is_empty(), "no acknowledgment wanted");
        assert_eq!(status(&mut conn, t0, handle).bits, 0);
        assert!(conn.close_reason().is_none());
    }

    #[test]
    fn a_break_while_a_read_is_in_flight_is_acknowledged_before_the_read_completes() {
        let (mut conn, t0) = negotiated_leasing(dialect::SMB2_1);
        let (handle, create) = open(&mut conn, t0, RWH, |c| grant_lease(c, RWH));
        let key = lease_key(&create);
        let read = conn.start(ops::Read::new(handle, 0, 5), t0);
        let read_req = only(sent(&mut conn));
        assert_eq!(read_req.header.command, Command::Read as u16);

        feed(
            &mut conn,
            t0,
            &lease_break(key, RWH, LeaseState::R, 1, true),
        );
        let (ack, _) = ack_sent(&mut conn);
        assert!(matches!(ack, BreakResponse::Lease(a) if a.lease_state == LeaseState::R));
        assert!(events(&mut conn).is_empty(), "the read still waits");

        let data = ReadResponse {
            data: Bytes::from_static(b"hello"),
            ..Default::default()
        };
        let resp = response(&read_req.header, NtStatus::SUCCESS, 1, |m| data.encode(m));
        feed(&mut conn, t0, &frame(&[resp]));
        match only(events(&mut conn)) {
            Event::Done { id, result } if id == read.id() => {
                assert_eq!(read.output(result).unwrap(), &b"hello"[..])
            }
            other => panic!("read: {other:?}"),
        }
        let after = status(&mut conn, t0, handle);
        assert_eq!(
            (after.bits, after.epoch, after.breaks),
            (LeaseState::R, 1, 1)
        );
    }

    #[test]
    fn a_break_for_a_lease_no_open_holds_is_reported_and_not_acknowledged() {
        let (mut conn, t0) = negotiated_leasing(dialect::SMB2_1);
        feed(&mut conn, t0, &lease_break([9; 16], RWH, 0, 0, true));
        match only(events(&mut conn)) {
            Event::Break(BreakNotification::Lease(l)) => assert_eq!(l.lease_key, [9; 16]),
            other => panic!("{other:?}"),
        }
        feed(&mut conn, t0, &oplock_break(oplock_level::II));
        assert!(matches!(
            only(events(&mut conn)),
            Event::Break(BreakNotification::Oplock(_))
        ));
        assert!(sent(&mut conn).is_empty());
        assert!(conn.close_reason().is_none());
    }

    #[test]
    fn a_closed_opens_lease_is_forgotten() {
        let (mut conn, t0) = negotiated_leasing(dialect::SMB2_1);
        let (handle, create) = open(&mut conn, t0, RWH, |c| grant_lease(c, RWH));
        let close = conn.start(ops::Close(handle), t0);
        let req = only(sent(&mut conn));
        let resp = response(&req.header, NtStatus::SUCCESS, 1, |m| {
            CloseResponse::default().encode(m)
        });
        feed(&mut conn, t0, &frame(&[resp]));
        assert!(matches!(only(events(&mut conn)), Event::Done { id, .. } if id == close.id()));
        assert_eq!(conn.lease_state(FILE), None);
        assert_eq!(status(&mut conn, t0, handle), LeaseState::default());
        feed(
            &mut conn,
            t0,
            &lease_break(lease_key(&create), RWH, 0, 0, true),
        );
        assert!(matches!(only(events(&mut conn)), Event::Break(_)));
        assert!(sent(&mut conn).is_empty());
    }

    #[test]
    fn smb3_asks_for_a_v2_lease_and_keeps_its_epoch() {
        let (mut conn, t0) = negotiated_leasing(dialect::SMB3_0_2);
        let (handle, create) = open(&mut conn, t0, RWH, |c| grant_lease(c, RWH));
        let data = only(create.create_contexts.clone()).1;
        assert_eq!(data.len(), LeaseContext::V2_LEN);
        let key = lease_key(&create);
        assert_ne!(key, [0; 16], "a key from the seeded generator");
        feed(
            &mut conn,
            t0,
            &lease_break(key, RWH, LeaseState::R | LeaseState::H, 2, true),
        );
        let _ = ack_sent(&mut conn);
        let s = status(&mut conn, t0, handle);
        assert_eq!((s.bits, s.epoch), (LeaseState::R | LeaseState::H, 2));
    }

    #[test]
    fn smb202_asks_for_a_batch_oplock_and_acknowledges_its_break_to_level_ii() {
        let (mut conn, t0) = negotiated_leasing(dialect::SMB2_0_2);
        let (handle, create) = open(&mut conn, t0, RWH, |c| {
            assert_eq!(c.requested_oplock_level, oplock_level::BATCH);
            assert!(c.create_contexts.is_empty(), "no lease context on 2.0.2");
            (oplock_level::BATCH, Vec::new())
        });
        assert!(create.create_contexts.is_empty());
        let held = status(&mut conn, t0, handle);
        assert_eq!((held.bits, held.oplock), (RWH, Some(oplock_level::BATCH)));
        assert_eq!(held.to_string(), "batch");

        feed(&mut conn, t0, &oplock_break(oplock_level::II));
        let (ack, header) = ack_sent(&mut conn);
        assert_eq!(
            ack,
            BreakResponse::Oplock(OplockBreak {
                oplock_level: oplock_level::II,
                file_id: FILE
            })
        );
        assert_eq!(header.tree_id, 5);
        let s = status(&mut conn, t0, handle);
        assert_eq!((s.bits, s.oplock), (LeaseState::R, Some(oplock_level::II)));
        // Level II breaks to none without an acknowledgment.
        feed(&mut conn, t0, &oplock_break(oplock_level::NONE));
        assert!(sent(&mut conn).is_empty());
        assert!(events(&mut conn).is_empty());
        assert_eq!(status(&mut conn, t0, handle).bits, 0);
    }

    #[test]
    fn a_lease_granted_under_another_key_fails_the_open_and_closes_its_handle() {
        let (mut conn, t0) = negotiated_leasing(dialect::SMB2_1);
        let s5 = share(&mut conn, t0, 5);
        let op = conn.start(
            Open::new(&s5, "f", OpenOptions::read_write_create()).with_lease(RWH),
            t0,
        );
        let req = only(sent(&mut conn));
        let create = CreateRequest::decode(&req.msg).unwrap();
        let (level, mut contexts) = grant_lease(&create, RWH);
        let mut lease = LeaseContext::decode(&contexts[0].1).unwrap();
        lease.lease_key[0] ^= 0xff;
        contexts[0].1 = Bytes::from(lease.encode());
        let resp = CreateResponse {
            oplock_level: level,
            file_id: FILE,
            create_contexts: contexts,
            ..Default::default()
        };
        let resp = response(&req.header, NtStatus::SUCCESS, 10, |m| resp.encode(m));
        feed(&mut conn, t0, &frame(&[resp]));
        match only(events(&mut conn)) {
            Event::Done { id, result: Err(e) } if id == op.id() => {
                assert!(e.to_string().contains("another key"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(closes_of(&sent(&mut conn)), [FILE]);
        assert_eq!(conn.lease_state(FILE), None);
        assert!(conn.close_reason().is_none());
    }

    #[test]
    fn a_server_without_leasing_gets_an_oplock_request_and_a_granted_none_holds_nothing() {
        let (mut conn, t0) = negotiated(config(), 100);
        let (handle, _) = open(&mut conn, t0, LeaseState::R, |c| {
            assert_eq!(c.requested_oplock_level, oplock_level::II);
            (oplock_level::NONE, Vec::new())
        });
        assert_eq!(status(&mut conn, t0, handle), LeaseState::default());
        assert_eq!(conn.lease_state(FILE), None);
    }
}

/// One READ the server sits on while it answers every other: the answers after it wait,
/// in memory, for the gap to fill. They once freed their place in the window as they
/// came, so READs kept going out and the waiting answers grew to the whole file; now a
/// waiting answer holds its place, and the READs never exceed the window.
#[test]
fn answers_waiting_behind_a_slow_read_count_against_the_window() {
    use smb_proto::wire::read::ReadRequest;
    const MIB: usize = 1 << 20;
    let cfg = config();
    let window = cfg.max_io_in_flight;
    let (mut conn, t0) = negotiated(cfg, 512);
    let s3 = share(&mut conn, t0, 3);
    let _get = conn.start(ops::ReadFile::new(&s3, "f.bin", 0, None), t0);
    let file_id = FileId {
        persistent: 1,
        volatile: 2,
    };
    let (mut reads, mut held) = (0usize, None);
    for _round in 0..200 {
        let frames = sent_frames(&mut conn);
        if frames.is_empty() {
            break;
        }
        for reqs in frames {
            let answers: Vec<Vec<u8>> = reqs
                .iter()
                .filter_map(|r| match Command::from_u16(r.header.command) {
                    Ok(Command::Create) => {
                        let c = CreateResponse {
                            end_of_file: 64 * MIB as u64,
                            file_id,
                            ..Default::default()
                        };
                        Some(response(&r.header, NtStatus::SUCCESS, 1, |m| c.encode(m)))
                    }
                    Ok(Command::Read) => {
                        reads += 1;
                        let q = ReadRequest::decode(&r.msg).expect("READ decodes");
                        // The first READ after the opening compound's is the slow one.
                        if q.offset == MIB as u64 {
                            held = Some(r.header.message_id);
                            return None;
                        }
                        let body = ReadResponse {
                            data: Bytes::from(vec![7; q.length as usize]),
                            ..Default::default()
                        };
                        Some(response(&r.header, NtStatus::SUCCESS, 1, |m| {
                            body.encode(m)
                        }))
                    }
                    Ok(Command::Close) => {
                        let c = CloseResponse {
                            end_of_file: 64 * MIB as u64,
                            ..Default::default()
                        };
                        Some(response(&r.header, NtStatus::SUCCESS, 1, |m| c.encode(m)))
                    }
                    other => panic!("unexpected request {other:?}"),
                })
                .collect();
            if !answers.is_empty() {
                feed(&mut conn, t0, &frame(&answers));
            }
        }
        for ev in events(&mut conn) {
            if let Event::Data { offset, .. } = ev {
                assert!(offset < MIB as u64, "data delivered past the gap");
            }
        }
    }
    assert!(held.is_some(), "the slow READ was never sent");
    // The opening compound's READ, then at most a window's worth.
    assert!(
        reads <= 1 + window,
        "{reads} READs went out while one was unanswered (window {window})"
    );
}

/// Multichannel session binding (MS-SMB2 3.2.4.2.3, 3.2.5.3.3): a second connection made
/// from the first's channel seed negotiates what the first did and binds with a signed,
/// NTLM-authenticated SESSION_SETUP; the scripted server computes every key the way a
/// server does (the session's signing key from the first connection's preauth hash, the
/// channel's from the binding's NTLM session key and the channel's own preauth hash), so
/// each refusal is of an answer that would otherwise pass.
mod channels {
    use super::*;
    use smb_proto::auth::ntlm::{flags as ntlm, session_key_from_authenticate, Credentials};
    use smb_proto::auth::spnego::{neg_token_resp, parse_neg_token_resp};
    use smb_proto::crypto::encryption::Cipher;
    use smb_proto::crypto::kdf::derive_session_keys;
    use smb_proto::crypto::preauth::PreauthHash;
    use smb_proto::crypto::signing::{sign, verify, SigningAlgorithm};
    use smb_proto::wire::session_setup::{
        flags as setup_flags, session_flags, SessionSetupRequest, SessionSetupResponse,
    };
    use smb_proto::{NegotiateFailure, SessionSlot};

    const ALG: SigningAlgorithm = SigningAlgorithm::AesGmac;
    const SESSION: u64 = 0x77;
    /// The first login's GSS session key ([`FixedKey`]).
    const KEY: [u8; 16] = [0x42; 16];

    fn creds() -> Credentials {
        Credentials::password("DOM", "u", "pw")
    }

    fn mc_config() -> Config {
        let mut c = config();
        c.multichannel = true;
        c
    }

    /// The server's 3.1.1 NEGOTIATE answer: multichannel, AES-GMAC signing, AES-128-GCM.
    fn negotiate_311(req: &Request, tweak: impl FnOnce(&mut NegotiateResponse)) -> Vec<u8> {
        let mut body = NegotiateResponse {
            security_mode: security_mode::SIGNING_ENABLED,
            dialect_revision: dialect::SMB3_1_1,
            server_guid: [0x5a; 16],
            capabilities: capabilities::LARGE_MTU | capabilities::MULTI_CHANNEL,
            max_transact_size: 1 << 20,
            max_read_size: 1 << 20,
            max_write_size: 1 << 20,
            preauth_hash_algorithm: Some(hash_algorithm::SHA_512),
            preauth_salt: Bytes::from_static(&[0x11; 32]),
            cipher: Some(Cipher::Aes128Gcm.id()),
            signing_algorithm: Some(ALG.id()),
            ..Default::default()
        };
        tweak(&mut body);
        response(&req.header, NtStatus::SUCCESS, 64, |m| body.encode(m))
    }

    fn setup_response(req: &Request, status: NtStatus, flags: u16, token: &[u8]) -> Vec<u8> {
        let body = SessionSetupResponse {
            session_flags: flags,
            security_buffer: Bytes::copy_from_slice(token),
        };
        let mut m = response(&req.header, status, 64, |m| body.encode(m));
        m[40..48].copy_from_slice(&SESSION.to_le_bytes());
        m
    }

    /// A first connection logged in on 3.1.1 (one round with [`FixedKey`]); the server
    /// answers NEGOTIATE with `tweak` applied and ends the login with `flags`. Returns
    /// it, the session's signing key as the server computed it, and its NEGOTIATE.
    fn logged_in(
        cfg: Config,
        tweak: impl FnOnce(&mut NegotiateResponse),
        flags: u16,
    ) -> (Connection, Instant, Vec<u8>, NegotiateRequest) {
        let t0 = Instant::now();
        let mut conn = Connection::new(cfg, t0);
        let neg = only(sent(&mut conn));
        let mut hash = PreauthHash::new();
        hash.update(&neg.msg);
        let answer = negotiate_311(&neg, tweak);
        hash.update(&answer);
        feed(&mut conn, t0, &frame(&[answer]));
        let login = ops::Login::with_authenticator(Box::new(FixedKey(KEY)), "u".into());
        let login = conn.start(login, t0).id();
        let setup = only(sent(&mut conn));
        hash.update(&setup.msg);
        let key = derive_session_keys(0x0311, &KEY, hash.value(), 16)
            .signing
            .clone();
        let mut done = setup_response(&setup, NtStatus::SUCCESS, flags, &[]);
        if flags == 0 {
            sign(ALG, &key, &mut done).unwrap();
        }
        feed(&mut conn, t0, &frame(&[done]));
        assert!(
            matches!(&events(&mut conn)[..], [Event::Done { id, result: Ok(_) }] if *id == login),
            "{:?}",
            conn.close_reason()
        );
        (conn, t0, key, NegotiateRequest::decode(&neg.msg).unwrap())
    }

    /// A CHALLENGE (MS-NLMP 2.2.1.2) with target info and key exchange, no timestamp.
    fn challenge() -> Vec<u8> {
        let flags = ntlm::NEGOTIATE_UNICODE
            | ntlm::NEGOTIATE_SIGN
            | ntlm::NEGOTIATE_NTLM
            | ntlm::NEGOTIATE_ALWAYS_SIGN
            | ntlm::NEGOTIATE_EXTENDED_SESSIONSECURITY
            | ntlm::NEGOTIATE_TARGET_INFO
            | ntlm::NEGOTIATE_128
            | ntlm::NEGOTIATE_KEY_EXCH;
        // MsvAvNbComputerName "S", then MsvAvEOL.
        let target_info = [1, 0, 2, 0, b'S', 0, 0, 0, 0, 0];
        let mut m = b"NTLMSSP\0".to_vec();
        m.extend_from_slice(&2u32.to_le_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 56, 0, 0, 0]); // TargetNameFields: empty
        m.extend_from_slice(&flags.to_le_bytes());
        m.extend_from_slice(&[0x99; 8]); // ServerChallenge
        m.extend_from_slice(&[0; 8]); // Reserved
        let len = target_info.len() as u16;
        m.extend_from_slice(&len.to_le_bytes());
        m.extend_from_slice(&len.to_le_bytes());
        m.extend_from_slice(&56u32.to_le_bytes());
        m.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 15]); // Version
        m.extend_from_slice(&target_info);
        m
    }

    /// A channel of the first connection's session, its NEGOTIATE answered (after
    /// `tweak`) with a Login::bind already queued; and the channel's preauth hash.
    struct Channel {
        conn: Connection,
        t0: Instant,
        /// Session.SigningKey, as the server computed it on the first connection.
        session_key: Vec<u8>,
        hash: PreauthHash,
        login: OpId,
    }

    fn channel(tweak: impl FnOnce(&mut NegotiateResponse)) -> Channel {
        channel_of(mc_config(), tweak)
    }

    /// [`channel`] of a first connection made with `first`.
    fn channel_of(first: Config, tweak: impl FnOnce(&mut NegotiateResponse)) -> Channel {
        let (first, t0, session_key, first_neg) = logged_in(first, |_| {}, 0);
        assert_ne!(first_neg.capabilities & capabilities::MULTI_CHANNEL, 0);
        let seed = first.channel_seed(SessionSlot::DEFAULT).unwrap();
        assert_eq!(seed.session_id(), SESSION);
        let mut cfg = config();
        cfg.seed = [8; 32];
        let mut conn = Connection::new_channel(cfg, &seed, t0);
        assert!(conn.is_channel());
        let login = conn.start(ops::Login::bind(creds()), t0).id();
        let neg = only(sent(&mut conn));
        assert_eq!(neg.header.command, Command::Negotiate as u16);
        let body = NegotiateRequest::decode(&neg.msg).unwrap();
        assert_eq!(
            body.dialects,
            vec![dialect::SMB3_1_1],
            "the seed's dialect alone"
        );
        assert_eq!(body.client_guid, first_neg.client_guid);
        assert_ne!(body.capabilities & capabilities::MULTI_CHANNEL, 0);
        assert_eq!(body.signing_algorithms, vec![ALG.id()]);
        assert_eq!(body.ciphers, vec![Cipher::Aes128Gcm.id()]);
        let mut hash = PreauthHash::new();
        hash.update(&neg.msg);
        let answer = negotiate_311(&neg, tweak);
        hash.update(&answer);
        feed(&mut conn, t0, &frame(&[answer]));
        Channel {
            conn,
            t0,
            session_key,
            hash,
            login,
        }
    }

    /// A binding SESSION_SETUP as the server checks it: BINDING on the session's id,
    /// signed with Session.SigningKey. Adds it to the channel's preauth hash.
    fn binding_request(ch: &mut Channel) -> Request {
        let req = only(sent(&mut ch.conn));
        assert_eq!(req.header.command, Command::SessionSetup as u16);
        assert_eq!(req.header.session_id, SESSION);
        assert_eq!(
            SessionSetupRequest::decode(&req.msg).unwrap().flags,
            setup_flags::BINDING
        );
        assert!(req.header.is_signed());
        assert!(
            verify(ALG, &ch.session_key, &req.msg),
            "signed with Session.SigningKey"
        );
        ch.hash.update(&req.msg);
        req
    }

    /// Runs the binding to its final request: the NTLM CHALLENGE answered with
    /// STATUS_MORE_PROCESSING_REQUIRED (signed with Session.SigningKey when `signed`).
    /// Returns the final request and the channel's signing key as the server derives
    /// it, or `None` when the connection ended on the MORE_PROCESSING answer.
    fn to_final(ch: &mut Channel, signed: bool) -> Option<(Request, Vec<u8>)> {
        let first = binding_request(ch);
        let challenge = challenge();
        let mut more = setup_response(
            &first,
            NtStatus::MORE_PROCESSING_REQUIRED,
            0,
            &neg_token_resp(&challenge, None),
        );
        if signed {
            sign(ALG, &ch.session_key, &mut more).unwrap();
        }
        ch.hash.update(&more);
        feed(&mut ch.conn, ch.t0, &frame(&[more]));
        if ch.conn.close_reason().is_some() {
            return None;
        }
        let last = binding_request(ch);
        let token = SessionSetupRequest::decode(&last.msg)
            .unwrap()
            .security_buffer;
        let authenticate = parse_neg_token_resp(&token)
            .unwrap()
            .response_token
            .unwrap();
        let gss_key = session_key_from_authenticate(&creds(), &challenge, &authenticate).unwrap();
        let channel_key = derive_session_keys(0x0311, &gss_key, ch.hash.value(), 16)
            .signing
            .clone();
        Some((last, channel_key))
    }

    /// Feeds the final binding answer and returns the login's events.
    fn finish(ch: &mut Channel, last: &Request, flags: u16, key: Option<&[u8]>) -> Vec<Event> {
        let mut done = setup_response(last, NtStatus::SUCCESS, flags, &[]);
        if let Some(key) = key {
            sign(ALG, key, &mut done).unwrap();
        }
        feed(&mut ch.conn, ch.t0, &frame(&[done]));
        events(&mut ch.conn)
    }

    #[test]
    fn a_channel_binds_with_the_session_key_and_then_signs_with_its_own() {
        let mut ch = channel(|_| {});
        let (last, channel_key) = to_final(&mut ch, true).unwrap();
        assert_ne!(channel_key, ch.session_key);
        let got = finish(&mut ch, &last, 0, Some(&channel_key));
        assert!(
            matches!(&got[..], [Event::Done { id, result: Ok(_) }] if *id == ch.login),
            "{got:?} {:?}",
            ch.conn.close_reason()
        );
        let echo = ch.conn.start(ops::Echo, ch.t0).id();
        let req = only(sent(&mut ch.conn));
        assert_eq!(req.header.command, Command::Echo as u16);
        assert_eq!(req.header.session_id, SESSION);
        assert!(req.header.is_signed());
        assert!(
            verify(ALG, &channel_key, &req.msg),
            "signed with the channel's key"
        );
        assert!(!verify(ALG, &ch.session_key, &req.msg));
        let mut answer = echo_response(&req.header, 1);
        sign(ALG, &channel_key, &mut answer).unwrap();
        feed(&mut ch.conn, ch.t0, &frame(&[answer]));
        assert_eq!(show(&events(&mut ch.conn)), show(&[done(echo, Ok(()))]));
    }

    /// A first connection whose session signs only what must be signed: a binding's
    /// answers must be signed all the same.
    fn signing_when_required() -> Config {
        let mut c = mc_config();
        c.signing = smb_proto::SigningPolicy::WhenRequired;
        c
    }

    fn assert_closed(ch: &Channel, last: &Request, reason: fn(u16, u64) -> CloseReason) {
        let want = reason(Command::SessionSetup as u16, last.header.message_id);
        assert_eq!(ch.conn.close_reason(), Some(&want));
    }

    #[test]
    fn an_unsigned_final_binding_answer_ends_the_connection() {
        for first in [mc_config(), signing_when_required()] {
            let mut ch = channel_of(first, |_| {});
            let (last, _) = to_final(&mut ch, true).unwrap();
            finish(&mut ch, &last, 0, None);
            assert_closed(&ch, &last, |command, message_id| CloseReason::Unsigned {
                command,
                message_id,
            });
        }
    }

    #[test]
    fn a_final_binding_answer_signed_with_the_session_key_ends_the_connection() {
        let mut ch = channel(|_| {});
        let (last, _) = to_final(&mut ch, true).unwrap();
        let session_key = ch.session_key.clone();
        finish(&mut ch, &last, 0, Some(&session_key));
        assert_closed(&ch, &last, |command, message_id| {
            CloseReason::BadSignature {
                command,
                message_id,
            }
        });
    }

    #[test]
    fn an_unsigned_more_processing_answer_while_binding_ends_the_connection() {
        for first in [mc_config(), signing_when_required()] {
            let mut ch = channel_of(first, |_| {});
            assert!(to_final(&mut ch, false).is_none());
            assert_eq!(
                ch.conn.close_reason(),
                Some(&CloseReason::Unsigned {
                    command: Command::SessionSetup as u16,
                    message_id: 1,
                })
            );
        }
    }

    #[test]
    fn a_binding_the_server_makes_a_guest_fails() {
        let mut ch = channel(|_| {});
        let (last, channel_key) = to_final(&mut ch, true).unwrap();
        let got = finish(&mut ch, &last, session_flags::IS_GUEST, Some(&channel_key));
        let want = Error::Invalid("the server made the channel's binding a guest session".into());
        assert_eq!(show(&got), show(&[done::<()>(ch.login, Err(want))]));
    }

    #[test]
    fn a_channel_whose_server_negotiates_differently_ends_before_binding() {
        use NegotiateFailure::ChannelMismatch;
        type Tweak<'a> = &'a dyn Fn(&mut NegotiateResponse);
        let tweaks: [(Tweak, NegotiateFailure); 4] = [
            (
                &|b| b.server_guid = [0x5b; 16],
                ChannelMismatch("server GUID"),
            ),
            (
                &|b| b.capabilities |= capabilities::LEASING,
                ChannelMismatch("capabilities"),
            ),
            (
                &|b| b.security_mode |= security_mode::SIGNING_REQUIRED,
                ChannelMismatch("security mode"),
            ),
            // The channel offers the session's dialect alone, so another one is refused
            // as not offered before it can be compared.
            (
                &|b| b.dialect_revision = dialect::SMB3_0_2,
                NegotiateFailure::Dialect(dialect::SMB3_0_2),
            ),
        ];
        for (tweak, failure) in tweaks {
            let mut ch = channel(tweak);
            let want = CloseReason::Negotiate(failure);
            assert_eq!(ch.conn.close_reason(), Some(&want));
            assert!(
                sent(&mut ch.conn).is_empty(),
                "no SESSION_SETUP after {want:?}"
            );
        }
    }

    #[test]
    fn only_a_user_session_that_negotiated_multichannel_has_channels() {
        let refused = |why: &str| {
            Err(Error::Invalid(format!(
                "no channel for this session: {why}"
            )))
        };
        let seed = |cfg, tweak: fn(&mut NegotiateResponse), flags| {
            let (conn, ..) = logged_in(cfg, tweak, flags);
            conn.channel_seed(SessionSlot::DEFAULT)
                .map(|s| s.session_id())
        };
        let no_mc = "the server did not agree to multichannel";
        assert_eq!(seed(mc_config(), |_| {}, 0), Ok(SESSION));
        assert_eq!(seed(config(), |_| {}, 0), refused(no_mc));
        let without = |b: &mut NegotiateResponse| b.capabilities &= !capabilities::MULTI_CHANNEL;
        assert_eq!(seed(mc_config(), without, 0), refused(no_mc));
        let mut guest_ok = mc_config();
        guest_ok.allow_insecure_guest = true;
        assert_eq!(
            seed(guest_ok, |_| {}, session_flags::IS_GUEST),
            refused("not logged in as a user")
        );
    }
}

// ---- SMB1 on: the multi-protocol NEGOTIATE ----

/// The connection's first frame, whole.
fn first_frame(conn: &mut Connection) -> Vec<u8> {
    let mut tx = Vec::new();
    assert!(conn.poll_transmit(&mut tx));
    tx
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn smb1_on_opens_with_an_smb1_negotiate_and_follows_the_0x02ff_upgrade() {
    // SMB1 off: the first message is SMB2's (the recorded sessions check its bytes).
    let tx = first_frame(&mut Connection::new(config(), Instant::now()));
    assert_eq!(&tx[4..8], b"\xFESMB");

    let mut c = config();
    c.min_dialect = Dialect::Nt1;
    let t0 = Instant::now();
    let mut conn = Connection::new(c, t0);
    let tx = first_frame(&mut conn);
    // SMB_COM_NEGOTIATE, MID 0, the three dialect strings in order (MS-SMB2 3.2.4.2.2.1).
    assert_eq!(&tx[4..9], b"\xFFSMB\x72");
    assert_eq!(&tx[4 + 30..4 + 32], &[0, 0]);
    assert!(contains(
        &tx,
        b"\x02NT LM 0.12\0\x02SMB 2.002\0\x02SMB 2.???\0"
    ));

    // An SMB2 server answers 0x02FF with MessageId 0: the SMB2 NEGOTIATE follows with
    // MessageId 1 and every SMB2 dialect.
    let negprot = Header {
        command: Command::Negotiate as u16,
        ..Default::default()
    };
    feed(
        &mut conn,
        t0,
        &frame(&[negotiate_response(&negprot, 0x02FF, 1)]),
    );
    assert!(conn.negotiated().is_none());
    let req = only(sent(&mut conn));
    assert_eq!(req.header.command, Command::Negotiate as u16);
    assert_eq!(req.header.message_id, 1);
    let offered = NegotiateRequest::decode(&req.msg).unwrap().dialects;
    assert_eq!(offered.first(), Some(&dialect::SMB2_0_2));
    assert_eq!(offered.last(), Some(&dialect::SMB3_1_1));
    feed(
        &mut conn,
        t0,
        &frame(&[negotiate_response(&req.header, dialect::SMB3_1_1, 8)]),
    );
    assert_eq!(conn.negotiated().map(|n| n.dialect), Some(Dialect::Smb311));
    assert!(events(&mut conn).is_empty());

    // 0x02FF again, or to an SMB2 NEGOTIATE, is no dialect.
    let mut conn = Connection::new(config(), t0);
    let req = only(sent(&mut conn));
    feed(
        &mut conn,
        t0,
        &frame(&[negotiate_response(&req.header, 0x02FF, 1)]),
    );
    assert_eq!(
        conn.close_reason(),
        Some(&CloseReason::Negotiate(
            smb_proto::NegotiateFailure::Dialect(0x02FF)
        ))
    );
}

#[test]
fn smb1_on_ends_on_2_0_2_when_the_server_answers_0x0202() {
    let mut c = config();
    c.min_dialect = Dialect::Nt1;
    let t0 = Instant::now();
    let mut conn = Connection::new(c, t0);
    first_frame(&mut conn);
    let negprot = Header {
        command: Command::Negotiate as u16,
        ..Default::default()
    };
    feed(
        &mut conn,
        t0,
        &frame(&[negotiate_response(&negprot, dialect::SMB2_0_2, 4)]),
    );
    assert_eq!(conn.negotiated().map(|n| n.dialect), Some(Dialect::Smb202));
    // The next request takes MessageId 1: the SMB1 NEGOTIATE took 0.
    conn.start(ops::Echo, t0);
    let req = only(sent(&mut conn));
    assert_eq!(
        (req.header.command, req.header.message_id),
        (Command::Echo as u16, 1)
    );
}

/// The SMB1 messages the client transmitted since the last call, one per frame.
fn smb1_sent(conn: &mut Connection) -> Vec<smb_proto::wire::smb1::Smb1Header> {
    use smb_proto::connection::framing::split_frame;
    let mut tx = Vec::new();
    if !conn.poll_transmit(&mut tx) {
        return Vec::new();
    }
    let mut tx = BytesMut::from(&tx[..]);
    let mut out = Vec::new();
    while let Some((_, body)) = split_frame(&mut tx, 1 << 24).expect("a well-framed stream") {
        out.push(smb_proto::wire::smb1::Smb1Header::decode(&body).expect("an SMB1 message"));
    }
    out
}

/// An SMB1 reply frame to `req` with `status` and the blocks `body`.
fn smb1_reply(req: &smb_proto::wire::smb1::Smb1Header, status: u32, body: &[u8]) -> Vec<u8> {
    use smb_proto::wire::smb1::header::{flags, flags2};
    let mut msg = Vec::new();
    smb_proto::wire::smb1::Smb1Header {
        status,
        flags: flags::REPLY,
        flags2: flags2::NT_STATUS | flags2::UNICODE,
        signature: [0; 8],
        ..*req
    }
    .encode(&mut msg);
    msg.extend_from_slice(body);
    let mut f = (msg.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(&msg);
    f
}

/// A connection that negotiated NT LM 0.12 with a server allowing `max_mpx` requests.
fn smb1_negotiated(max_mpx: u16) -> (Connection, Instant) {
    smb1_negotiated_caps(max_mpx, 0x8000_0014)
}

/// [`smb1_negotiated`] with the server's `capabilities`.
fn smb1_negotiated_caps(max_mpx: u16, capabilities: u32) -> (Connection, Instant) {
    let mut c = config();
    c.min_dialect = Dialect::Nt1;
    c.max_dialect = Dialect::Nt1;
    let t0 = Instant::now();
    let mut conn = Connection::new(c, t0);
    let negprot = only(smb1_sent(&mut conn));
    assert_eq!((negprot.command, negprot.mid), (0x72, 0));
    // MS-SMB 2.2.4.5.2.1: index 0, USER|ENCRYPT, max_mpx, 1 VC, buffer sizes, key,
    // EXTENDED_SECURITY|NT_SMBS|UNICODE, time, zone, no challenge; GUID, empty blob.
    let mut body = vec![17u8, 0, 0, 0x03];
    body.extend_from_slice(&max_mpx.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&16644u32.to_le_bytes());
    body.extend_from_slice(&65536u32.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&capabilities.to_le_bytes());
    body.extend_from_slice(&[0; 10]);
    body.push(0);
    body.extend_from_slice(&16u16.to_le_bytes());
    body.extend_from_slice(&[0x5a; 16]);
    feed(&mut conn, t0, &smb1_reply(&negprot, 0, &body));
    assert_eq!(conn.negotiated().map(|n| n.dialect), Some(Dialect::Nt1));
    assert_eq!(conn.credits(), u32::from(max_mpx));
    (conn, t0)
}

#[test]
fn smb1_requests_take_fresh_mids_within_max_mpx_and_cancel_with_nt_cancel() {
    let (mut conn, t0) = smb1_negotiated(2);
    let ids: Vec<OpId> = (0..3).map(|_| conn.start(ops::Echo, t0).id()).collect();
    // MaxMpxCount 2: two ECHOs go out, MIDs 1 and 2; the third waits.
    let sent = smb1_sent(&mut conn);
    assert_eq!(
        sent.iter().map(|h| (h.command, h.mid)).collect::<Vec<_>>(),
        [(0x2B, 1), (0x2B, 2)]
    );
    assert_eq!(conn.in_flight(), 2);
    // Answering MID 1 frees a place: the third goes out with MID 3.
    feed(&mut conn, t0, &smb1_reply(&sent[0], 0, &[1, 1, 0, 0, 0]));
    let third = only(smb1_sent(&mut conn));
    assert_eq!((third.command, third.mid), (0x2B, 3));
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done(ids[0], Ok::<(), Error>(()))])
    );
    // Cancelling the second: NT_CANCEL with its MID (and no answer of its own).
    conn.cancel(ids[1], t0);
    let cancel = only(smb1_sent(&mut conn));
    assert_eq!((cancel.command, cancel.mid), (0xA4, 2));
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done(ids[1], Err::<(), _>(Error::Cancelled))])
    );
    // Its late answer is still taken (and frees its place); an unknown MID is not.
    feed(&mut conn, t0, &smb1_reply(&sent[1], 0, &[1, 1, 0, 0, 0]));
    assert!(conn.close_reason().is_none());
    let mut stray = third;
    stray.mid = 77;
    feed(&mut conn, t0, &smb1_reply(&stray, 0, &[1, 1, 0, 0, 0]));
    assert_eq!(
        conn.close_reason(),
        Some(&CloseReason::Protocol(Violation::UnknownMessageId(77)))
    );
}

#[test]
fn smb1_refuses_operations_without_an_smb1_form_and_sends_nothing() {
    let (mut conn, t0) = smb1_negotiated(50);
    // An SMB2 request on a share: what an operation without an SMB1 form sends.
    let smb2_echo =
        smb_proto::wire::request::RequestBody::Echo(smb_proto::wire::simple::EchoRequest);
    let id = conn.start(ops::Raw::new(smb2_echo).on_share("s"), t0).id();
    // The share's tree is connected in SMB1; then the operation, which has no SMB1
    // form, fails before sending anything.
    let mut tc = only(smb1_sent(&mut conn));
    assert_eq!(tc.command, 0x75);
    tc.tid = 5;
    feed(
        &mut conn,
        t0,
        &smb1_reply(&tc, 0, &[3, 0xFF, 0, 0, 0, 0, 0, 0, 0]),
    );
    assert_eq!(conn.share_tree("s"), Some(TreeId(5)));
    assert!(smb1_sent(&mut conn).is_empty());
    let evs = events(&mut conn);
    let [Event::Done {
        id: got,
        result: Err(e),
    }] = &evs[..]
    else {
        panic!("{evs:?}");
    };
    assert_eq!(*got, id);
    assert_eq!(e.kind(), smb_proto::ErrorKind::Unsupported, "{e}");
    // A reply with another command than its request's ends the connection.
    let echo = conn.start(ops::Echo, t0).id();
    let mut req = only(smb1_sent(&mut conn));
    req.command = 0x73;
    feed(&mut conn, t0, &smb1_reply(&req, 0, &[0, 0, 0]));
    assert!(
        matches!(
            conn.close_reason(),
            Some(CloseReason::Protocol(Violation::WrongCommand { .. }))
        ),
        "{:?}",
        conn.close_reason()
    );
    let _ = echo;
}

/// An NT_CREATE_ANDX reply's blocks (WordCount 0x22): `fid`, a file of `size` bytes.
fn smb1_create_reply(fid: u16, size: u64) -> Vec<u8> {
    let mut b = vec![0x22u8, 0xFF, 0, 0, 0, 0];
    b.extend_from_slice(&fid.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&[0; 32]);
    b.extend_from_slice(&0x80u32.to_le_bytes());
    b.extend_from_slice(&size.to_le_bytes());
    b.extend_from_slice(&size.to_le_bytes());
    b.extend_from_slice(&[0; 5]);
    b.extend_from_slice(&[0, 0]);
    b
}

/// A READ_ANDX reply's blocks carrying `data` at DataOffset 60.
fn smb1_read_reply(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u32;
    let mut b = vec![12u8, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&(len as u16).to_le_bytes());
    b.extend_from_slice(&60u16.to_le_bytes());
    b.extend_from_slice(&((len >> 16) as u16).to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&(len.wrapping_add(1) as u16).to_le_bytes());
    b.push(0);
    b.extend_from_slice(data);
    b
}

#[test]
fn smb1_read_file_opens_alone_then_keeps_max_mpx_read_andx_in_flight() {
    // EXTENDED_SECURITY | LARGE_WRITEX | LARGE_READX | NT_SMBS | UNICODE.
    let (mut conn, t0) = smb1_negotiated_caps(4, 0x8000_C014);
    assert_eq!(conn.negotiated().map(|n| n.max_read_size), Some(65536));
    let id = conn.start(ops::ReadFile::new("s", "f", 0, None), t0).id();
    let mut tc = only(smb1_sent(&mut conn));
    tc.tid = 5;
    feed(
        &mut conn,
        t0,
        &smb1_reply(&tc, 0, &[3, 0xFF, 0, 0, 0, 0, 0, 0, 0]),
    );
    // No compound on SMB1: the NT_CREATE_ANDX goes alone.
    let create = only(smb1_sent(&mut conn));
    assert_eq!((create.command, create.tid), (0xA2, 5));
    feed(
        &mut conn,
        t0,
        &smb1_reply(&create, 0, &smb1_create_reply(0x4001, 1 << 20)),
    );
    // A 1 MiB file in 64 KiB READ_ANDX: the window (16) is cut to MaxMpxCount (4).
    let reads = smb1_sent(&mut conn);
    assert_eq!(reads.len(), 4, "{reads:?}");
    assert!(reads.iter().all(|r| r.command == 0x2E));
    // Each answer frees one place, taken by the next READ_ANDX at once.
    feed(
        &mut conn,
        t0,
        &smb1_reply(&reads[0], 0, &smb1_read_reply(&[7; 65536])),
    );
    let next = only(smb1_sent(&mut conn));
    assert_eq!(next.command, 0x2E);
    assert!(conn.credits() == 0, "{}", conn.credits());
    let _ = id;
}

/// The SMB1 messages sent, whole.
fn smb1_sent_frames(conn: &mut Connection) -> Vec<Vec<u8>> {
    use smb_proto::connection::framing::split_frame;
    let mut tx = Vec::new();
    if !conn.poll_transmit(&mut tx) {
        return Vec::new();
    }
    let mut tx = BytesMut::from(&tx[..]);
    let mut out = Vec::new();
    while let Some((_, body)) = split_frame(&mut tx, 1 << 24).expect("a well-framed stream") {
        out.push(body.to_vec());
    }
    out
}

#[test]
fn smb1_closes_what_abandoned_and_failed_transfers_left_open() {
    use smb_proto::wire::smb1::Smb1Header;
    let (mut conn, t0) = smb1_negotiated_caps(50, 0x8000_C014);
    // An open answered after its operation was cancelled: the core closes the FID.
    let id = conn.start(ops::ReadFile::new("s", "f", 0, None), t0).id();
    let mut tc = only(smb1_sent(&mut conn));
    tc.tid = 5;
    feed(
        &mut conn,
        t0,
        &smb1_reply(&tc, 0, &[3, 0xFF, 0, 0, 0, 0, 0, 0, 0]),
    );
    let create = only(smb1_sent(&mut conn));
    conn.cancel(id, t0);
    assert_eq!(only(smb1_sent(&mut conn)).command, 0xA4);
    feed(
        &mut conn,
        t0,
        &smb1_reply(&create, 0, &smb1_create_reply(0x0A0B, 10)),
    );
    let frames = smb1_sent_frames(&mut conn);
    let [close] = &frames[..] else {
        panic!("{frames:?}");
    };
    assert_eq!(close[4], 0x04, "CLOSE");
    assert_eq!(&close[32..35], &[3, 0x0B, 0x0A], "WordCount 3, the FID");
    // A READ_ANDX failing: the download fails and its cleanup closes the FID in SMB1.
    let id = conn.start(ops::ReadFile::new("s", "g", 0, None), t0).id();
    let create = only(smb1_sent(&mut conn));
    assert_eq!(create.command, 0xA2);
    feed(
        &mut conn,
        t0,
        &smb1_reply(&create, 0, &smb1_create_reply(0x0C0D, 100)),
    );
    // The 100 bytes, and the READ asking whether the file goes on.
    let reads = smb1_sent(&mut conn);
    assert_eq!(reads.len(), 2);
    assert!(reads.iter().all(|r| r.command == 0x2E));
    feed(
        &mut conn,
        t0,
        &smb1_reply(&reads[0], 0xC000_0022, &[0, 0, 0]),
    );
    let frames = smb1_sent_frames(&mut conn);
    let [close] = &frames[..] else {
        panic!("{frames:?}");
    };
    let h = Smb1Header::decode(close).expect("header");
    assert_eq!((h.command, h.tid), (0x04, 5));
    assert_eq!(&close[33..35], &[0x0D, 0x0C]);
    let evs = events(&mut conn);
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Done { id: got, result: Err(e) }
            if *got == id && e.status() == Some(NtStatus::ACCESS_DENIED))),
        "{evs:?}"
    );
    // The other READ's late answer is taken and dropped.
    feed(
        &mut conn,
        t0,
        &smb1_reply(&reads[1], 0, &smb1_read_reply(&[])),
    );
    assert!(conn.close_reason().is_none());
    assert!(smb1_sent(&mut conn).is_empty());
}

#[test]
fn smb1_without_large_readx_and_writex_io_fits_the_server_buffer() {
    // MaxBufferSize 16644 (Samba's `max xmit`) less 64 bytes of headers.
    let (conn, _) = smb1_negotiated(50);
    let n = conn.negotiated().expect("negotiated");
    assert_eq!((n.max_read_size, n.max_write_size), (16580, 16580));
    // LARGE_READX alone: 64 KiB reads, writes still within the buffer.
    let (conn, _) = smb1_negotiated_caps(50, 0x8000_4014);
    let n = conn.negotiated().expect("negotiated");
    assert_eq!((n.max_read_size, n.max_write_size), (65536, 16580));
}

/// The blocks of a TRANSACTION2 answer message (MS-CIFS 2.2.4.46.2): `params` and `data`
/// with their displacements, under `totals`.
fn trans2_reply_body(
    totals: (u16, u16),
    params: &[u8],
    p_disp: u16,
    data: &[u8],
    d_disp: u16,
) -> Vec<u8> {
    let bytes_at = 32 + 1 + 20 + 2;
    let p_off = (bytes_at + 3) & !3;
    let d_off = (p_off + params.len() + 3) & !3;
    let mut b = vec![10u8];
    let words = [
        totals.0,
        totals.1,
        0,
        params.len() as u16,
        p_off as u16,
        p_disp,
        data.len() as u16,
        d_off as u16,
        d_disp,
    ];
    for w in words {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&((d_off + data.len() - bytes_at) as u16).to_le_bytes());
    b.resize(p_off - 32, 0);
    b.extend_from_slice(params);
    b.resize(d_off - 32, 0);
    b.extend_from_slice(data);
    b
}

/// The connection under test, SMB1, with share "s" connected as tree 5 for the
/// operation `start` begins → its id and the requests it sent.
fn smb1_with_tree(
    start: impl FnOnce(&mut Connection, Instant) -> OpId,
) -> (
    Connection,
    Instant,
    OpId,
    Vec<smb_proto::wire::smb1::Smb1Header>,
) {
    let (mut conn, t0) = smb1_negotiated(50);
    let id = start(&mut conn, t0);
    let mut tc = only(smb1_sent(&mut conn));
    tc.tid = 5;
    feed(
        &mut conn,
        t0,
        &smb1_reply(&tc, 0, &[3, 0xFF, 0, 0, 0, 0, 0, 0, 0]),
    );
    let sent = smb1_sent(&mut conn);
    (conn, t0, id, sent)
}

#[test]
fn smb1_a_transaction_answer_in_several_messages_reaches_the_operation_as_one() {
    let (mut conn, t0, id, sent) =
        smb1_with_tree(|c, t0| c.start(ops::Stat::new("s", "dir/x"), t0).id());
    let qpi = only(sent);
    assert_eq!((qpi.command, qpi.tid), (0x32, 5));
    // SMB_QUERY_FILE_ALL_INFO: size 42, archive, in two messages (Samba gives the
    // second one a parameter displacement of 0: it has no parameters).
    let mut data = [0u8; 72];
    data[32] = 0x20;
    data[48] = 42;
    let first = trans2_reply_body((2, 72), &[0, 0], 0, &data[..40], 0);
    feed(&mut conn, t0, &smb1_reply(&qpi, 0, &first));
    assert!(
        events(&mut conn).is_empty(),
        "the operation waits for the rest"
    );
    assert_eq!(conn.in_flight(), 1, "the request is still pending");
    assert_eq!(
        conn.credits(),
        49,
        "and keeps its place in the MaxMpxCount window"
    );
    let second = trans2_reply_body((2, 72), &[], 0, &data[40..], 40);
    feed(&mut conn, t0, &smb1_reply(&qpi, 0, &second));
    assert_eq!(conn.credits(), 50);
    match &events(&mut conn)[..] {
        [Event::Done {
            id: got,
            result: Ok(out),
        }] if *got == id => {
            let info = out
                .downcast_ref::<smb_proto::FileInfo>()
                .expect("a FileInfo");
            assert_eq!(
                (info.name.as_str(), info.size, info.attributes),
                ("x", 42, 0x20)
            );
        }
        evs => panic!("{evs:?}"),
    }
    // Nothing is pending under that MID any more.
    feed(&mut conn, t0, &smb1_reply(&qpi, 0, &second));
    assert!(
        matches!(
            conn.close_reason(),
            Some(CloseReason::Protocol(Violation::UnknownMessageId(_)))
        ),
        "{:?}",
        conn.close_reason()
    );
}

#[test]
fn smb1_a_transaction_message_out_of_place_ends_the_connection() {
    // A gap in the data, an overlap, a total that grows, one past MaxDataCount.
    let data = [7u8; 40];
    let bad: [Vec<u8>; 4] = [
        trans2_reply_body((2, 72), &[], 0, &data[..10], 41),
        trans2_reply_body((2, 72), &[], 0, &data[..10], 39),
        trans2_reply_body((2, 73), &[], 0, &data[..10], 40),
        trans2_reply_body((2, 72), &[], 0, &data, 40),
    ];
    for (i, second) in bad.iter().enumerate() {
        let (mut conn, t0, _, sent) =
            smb1_with_tree(|c, t0| c.start(ops::Stat::new("s", "x"), t0).id());
        let qpi = only(sent);
        let first = trans2_reply_body((2, 72), &[0, 0], 0, &data, 0);
        feed(&mut conn, t0, &smb1_reply(&qpi, 0, &first));
        assert!(conn.close_reason().is_none(), "{i}");
        feed(&mut conn, t0, &smb1_reply(&qpi, 0, second));
        assert!(
            matches!(conn.close_reason(), Some(CloseReason::Malformed(_))),
            "{i}: {:?}",
            conn.close_reason()
        );
    }
    // A whole answer past the request's MaxParameterCount (2 for a path query).
    let (mut conn, t0, _, sent) =
        smb1_with_tree(|c, t0| c.start(ops::Stat::new("s", "x"), t0).id());
    let qpi = only(sent);
    let whole = trans2_reply_body((4, 72), &[0; 4], 0, &[0; 72], 0);
    feed(&mut conn, t0, &smb1_reply(&qpi, 0, &whole));
    assert!(matches!(
        conn.close_reason(),
        Some(CloseReason::Malformed(_))
    ));
}

#[test]
fn smb1_a_listing_asks_whether_it_names_a_directory_and_closes_a_search_it_leaves() {
    // The answers in either order: FIND_FIRST2 of `f\*` failing with a path error,
    // then the query saying `f` is a file: ENOTDIR, as on SMB2.
    let (mut conn, t0, id, sent) =
        smb1_with_tree(|c, t0| c.start(ops::ListDir::new("s", "f", "*"), t0).id());
    let [qpi, find] = sent[..] else {
        panic!("{sent:?}")
    };
    assert_eq!((qpi.command, find.command), (0x32, 0x32));
    assert_ne!(qpi.mid, find.mid);
    feed(&mut conn, t0, &smb1_reply(&find, 0xC000_003A, &[0, 0, 0]));
    assert!(events(&mut conn).is_empty(), "waits for the query");
    let file = trans2_reply_body((2, 72), &[0, 0], 0, &[0; 72], 0);
    feed(&mut conn, t0, &smb1_reply(&qpi, 0, &file));
    match &events(&mut conn)[..] {
        [Event::Done {
            id: got,
            result: Err(e),
        }] if *got == id => {
            assert_eq!(e.status(), Some(NtStatus::NOT_A_DIRECTORY), "{e}");
        }
        evs => panic!("{evs:?}"),
    }
    assert!(smb1_sent(&mut conn).is_empty());

    // A missing directory whose search nonetheless opened (SID 9, not at its end): the
    // listing fails with the query's status and FIND_CLOSE2 ends the search.
    let (mut conn, t0, id, sent) =
        smb1_with_tree(|c, t0| c.start(ops::ListDir::new("s", "d", "*"), t0).id());
    let [qpi, find] = sent[..] else {
        panic!("{sent:?}")
    };
    feed(&mut conn, t0, &smb1_reply(&qpi, 0xC000_0034, &[0, 0, 0]));
    let params = [9, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let found = trans2_reply_body((10, 0), &params, 0, &[], 0);
    feed(&mut conn, t0, &smb1_reply(&find, 0, &found));
    match &events(&mut conn)[..] {
        [Event::Done {
            id: got,
            result: Err(e),
        }] if *got == id => {
            assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_NOT_FOUND), "{e}");
        }
        evs => panic!("{evs:?}"),
    }
    let close = only(smb1_sent(&mut conn));
    assert_eq!(close.command, 0x34, "FIND_CLOSE2");
}

#[test]
fn smb1_a_request_longer_than_the_servers_buffer_is_refused_unsent() {
    // MaxBufferSize 16644 (smb1_negotiated): a 9,000-character path takes 18,000 bytes.
    let long = "a".repeat(9000);
    let (mut conn, _, id, sent) =
        smb1_with_tree(|c, t0| c.start(ops::Stat::new("s", &long), t0).id());
    assert!(sent.is_empty(), "{sent:?}");
    match &events(&mut conn)[..] {
        [Event::Done {
            id: got,
            result: Err(e),
        }] if *got == id => {
            assert_eq!(e.kind(), smb_proto::ErrorKind::InvalidArgument, "{e}");
            assert!(e.to_string().contains("16644"), "{e}");
        }
        evs => panic!("{evs:?}"),
    }
}

#[test]
fn smb1_a_cancelled_listing_closes_the_search_its_late_answer_opened() {
    for end_of_search in [0u8, 1] {
        let (mut conn, t0, id, sent) =
            smb1_with_tree(|c, t0| c.start(ops::ListDir::new("s", "d", "*"), t0).id());
        let [qpi, find] = sent[..] else {
            panic!("{sent:?}")
        };
        conn.cancel(id, t0);
        let cancels = smb1_sent(&mut conn);
        assert_eq!(cancels.len(), 2);
        assert!(cancels.iter().all(|h| h.command == 0xA4), "{cancels:?}");
        assert_eq!(events(&mut conn).len(), 1, "the listing ended");
        // The answers come anyway: the query's, then a search the server kept open.
        let mut dir = [0u8; 72];
        dir[61] = 1;
        let checked = trans2_reply_body((2, 72), &[0, 0], 0, &dir, 0);
        feed(&mut conn, t0, &smb1_reply(&qpi, 0, &checked));
        let params = [9, 0, 0, 0, end_of_search, 0, 0, 0, 0, 0];
        let found = trans2_reply_body((10, 0), &params, 0, &[], 0);
        feed(&mut conn, t0, &smb1_reply(&find, 0, &found));
        let after = smb1_sent(&mut conn);
        if end_of_search == 0 {
            let close = only(after);
            assert_eq!(
                (close.command, close.tid),
                (0x34, 5),
                "FIND_CLOSE2 on its tree"
            );
        } else {
            assert!(
                after.is_empty(),
                "a search at its end is closed already: {after:?}"
            );
        }
        assert!(conn.close_reason().is_none());
    }
}

/// An NT_TRANSACT reply's blocks (MS-CIFS 2.2.4.62.2, no setup words): this message's
/// `params` and `data` at their displacements in a response of `totals`.
fn smb1_nt_trans_reply(
    totals: (u32, u32),
    params: &[u8],
    p_disp: u32,
    data: &[u8],
    d_disp: u32,
) -> Vec<u8> {
    let bytes_at = 32 + 1 + 36 + 2;
    let p_off = (bytes_at + 3) & !3;
    let d_off = (p_off + params.len() + 3) & !3;
    let mut b = vec![18u8, 0, 0, 0];
    for w in [
        totals.0,
        totals.1,
        params.len() as u32,
        p_off as u32,
        p_disp,
        data.len() as u32,
        d_off as u32,
        d_disp,
    ] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b.push(0);
    b.extend_from_slice(&((d_off + data.len() - bytes_at) as u16).to_le_bytes());
    b.resize(p_off - 32, 0);
    b.extend_from_slice(params);
    b.resize(d_off - 32, 0);
    b.extend_from_slice(data);
    b
}

#[test]
fn smb1_get_security_takes_an_nt_transact_answer_in_two_messages() {
    use smb_proto::wire::security::SecurityDescriptor;
    let (mut conn, t0) = smb1_negotiated(50);
    let id = conn.start(ops::GetSecurity::new("s", "f"), t0).id();
    let mut tc = only(smb1_sent(&mut conn));
    tc.tid = 5;
    feed(
        &mut conn,
        t0,
        &smb1_reply(&tc, 0, &[3, 0xFF, 0, 0, 0, 0, 0, 0, 0]),
    );
    let create = only(smb1_sent(&mut conn));
    assert_eq!(create.command, 0xA2);
    feed(
        &mut conn,
        t0,
        &smb1_reply(&create, 0, &smb1_create_reply(0x4001, 0)),
    );
    let query = only(smb1_sent(&mut conn));
    assert_eq!(query.command, 0xA0, "NT_TRANSACT");
    let sd = a_descriptor().encode().unwrap();
    let len = sd.len() as u32;
    let (first, rest) = sd.split_at(10);
    // LengthNeeded and the first bytes; the request stays pending for the rest.
    let part = smb1_nt_trans_reply((4, len), &len.to_le_bytes(), 0, first, 0);
    feed(&mut conn, t0, &smb1_reply(&query, 0, &part));
    assert!(smb1_sent(&mut conn).is_empty());
    assert!(events(&mut conn).is_empty());
    let part = smb1_nt_trans_reply((4, len), &[], 0, rest, 10);
    feed(&mut conn, t0, &smb1_reply(&query, 0, &part));
    let close = only(smb1_sent(&mut conn));
    assert_eq!(close.command, 0x04);
    feed(&mut conn, t0, &smb1_reply(&close, 0, &[0, 0, 0]));
    let expected = SecurityDescriptor::decode(&sd).unwrap();
    assert_eq!(
        show(&events(&mut conn)),
        show(&[done(id, Ok::<_, Error>(expected))])
    );
    assert!(conn.close_reason().is_none());
}
