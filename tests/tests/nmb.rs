//! pysmb's `nmb` module: NetBIOS name queries (`queryName`, `queryIPForName`) against a
//! private nmbd on 127.0.0.3 and against scripted UDP servers, and the port-139 session
//! service refusing a session and smbd accepting one, in the blocking client and the
//! async one on tokio and on smol. One function per driver runs the same checks.
//!
//! Only one nmbd can run per machine; each function holds the harness's machine-wide
//! turn (see `smb_tests::nmbd`) only while its nmbd runs.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use smb_proto::client::{ClientError as Error, ConnectOptions, RecordTarget};
use smb_proto::netbios::{suffix, NameService, NameServiceError, NetBiosName, NodeStatus};
use smb_proto::{CloseReason, ErrorKind, SessionRefusal};
use smb_tests::nmbd::NmbServer;
use smb_tests::{SambaServer, Share};

/// What each driver is asked to do; every call blocks until done.
trait Driver {
    fn query_name(
        &self,
        service: NameService,
        name: &str,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<Vec<Ipv4Addr>, Error>;
    fn query_ip_for_name(
        &self,
        service: NameService,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<Vec<String>, Error>;
    fn node_status(
        &self,
        service: NameService,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<NodeStatus, Error>;
    fn connect(&self, opts: &ConnectOptions) -> Result<(), Error>;
}

struct Blocking;

impl Driver for Blocking {
    fn query_name(
        &self,
        service: NameService,
        name: &str,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<Vec<Ipv4Addr>, Error> {
        smb_blocking::NetBios::new(service).query_name(name, ip, timeout)
    }
    fn query_ip_for_name(
        &self,
        service: NameService,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<Vec<String>, Error> {
        smb_blocking::NetBios::new(service).query_ip_for_name(ip, timeout)
    }
    fn node_status(
        &self,
        service: NameService,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<NodeStatus, Error> {
        smb_blocking::NetBios::new(service).node_status(ip, timeout)
    }
    fn connect(&self, opts: &ConnectOptions) -> Result<(), Error> {
        smb_blocking::Connection::connect(opts).map(drop)
    }
}

struct Tokio(tokio::runtime::Runtime);

impl Driver for Tokio {
    fn query_name(
        &self,
        service: NameService,
        name: &str,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<Vec<Ipv4Addr>, Error> {
        self.0.block_on(async {
            smb_tokio::netbios(service)
                .query_name(name, ip, timeout)
                .await
        })
    }
    fn query_ip_for_name(
        &self,
        service: NameService,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<Vec<String>, Error> {
        self.0.block_on(async {
            smb_tokio::netbios(service)
                .query_ip_for_name(ip, timeout)
                .await
        })
    }
    fn node_status(
        &self,
        service: NameService,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<NodeStatus, Error> {
        self.0
            .block_on(async { smb_tokio::netbios(service).node_status(ip, timeout).await })
    }
    fn connect(&self, opts: &ConnectOptions) -> Result<(), Error> {
        self.0
            .block_on(async { smb_tokio::Client::connect(opts).await.map(drop) })
    }
}

struct Smol;

impl Driver for Smol {
    fn query_name(
        &self,
        service: NameService,
        name: &str,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<Vec<Ipv4Addr>, Error> {
        smol::block_on(smb_asyncstd::netbios(service).query_name(name, ip, timeout))
    }
    fn query_ip_for_name(
        &self,
        service: NameService,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<Vec<String>, Error> {
        smol::block_on(smb_asyncstd::netbios(service).query_ip_for_name(ip, timeout))
    }
    fn node_status(
        &self,
        service: NameService,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<NodeStatus, Error> {
        smol::block_on(smb_asyncstd::netbios(service).node_status(ip, timeout))
    }
    fn connect(&self, opts: &ConnectOptions) -> Result<(), Error> {
        smol::block_on(smb_asyncstd::connect(opts)).map(drop)
    }
}

/// Enough for nmbd on loopback; short, because the silent cases wait all of it.
const TIMEOUT: Duration = Duration::from_millis(1500);
/// What a busy machine may add to a timeout before we call the timeout broken.
const SLACK: Duration = Duration::from_secs(3);

fn name_service_error(e: &Error) -> &NameServiceError {
    match e {
        Error::NameService(e) => e,
        other => panic!("expected a name service error, got {other:?}"),
    }
}

/// Runs `f`, checks it timed out after about [`TIMEOUT`] with `attempts` requests sent.
fn assert_times_out<T: std::fmt::Debug>(attempts: u32, f: impl FnOnce() -> Result<T, Error>) {
    let start = Instant::now();
    let err = f().unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(
        matches!(
            name_service_error(&err),
            NameServiceError::TimedOut { attempts: a, .. } if *a == attempts
        ),
        "{err}"
    );
    assert!(
        took >= TIMEOUT && took < TIMEOUT + SLACK,
        "timed out after {took:?}"
    );
}

/// The checks that need nmbd.
fn against_nmbd(d: &dyn Driver, nmbd: &NmbServer) {
    let ip = nmbd.address();
    let pysmb = NameService::new();

    // Lower case works: names are upper-cased, as nmbd registers them.
    let name = nmbd.netbios_name().to_lowercase();
    assert_eq!(
        d.query_name(pysmb, &name, ip, TIMEOUT).unwrap(),
        [ip],
        "{}",
        nmbd.log()
    );
    // A workgroup's group name, with nmblookup's suffix syntax.
    let group = format!("{}#1e", nmbd.workgroup());
    assert_eq!(d.query_name(pysmb, &group, ip, TIMEOUT).unwrap(), [ip]);

    let names = d.query_ip_for_name(pysmb, ip, TIMEOUT).unwrap();
    assert_eq!(names, [nmbd.netbios_name(), nmbd.workgroup()]);

    let status = d.node_status(pysmb, ip, TIMEOUT).unwrap();
    let server = NetBiosName::new(nmbd.netbios_name(), suffix::FILE_SERVER).unwrap();
    let entry = status.names.iter().find(|n| n.name == server).unwrap();
    assert!(entry.is_active() && !entry.is_group());
    let workgroup = NetBiosName::new(nmbd.workgroup(), suffix::WORKSTATION).unwrap();
    let entry = status.names.iter().find(|n| n.name == workgroup).unwrap();
    assert!(entry.is_group(), "{status:?}");

    // An unregistered name. With RD set, as pysmb sends it, nmbd (not a WINS server)
    // stays silent, as Windows does; every copy of the request goes unanswered.
    assert_times_out(3, || d.query_name(pysmb, "NOSUCHNAME", ip, TIMEOUT));
    // Without RD, as `nmblookup -U` asks, it says so at once.
    let start = Instant::now();
    let err = d
        .query_name(pysmb.recursion_desired(false), "NOSUCHNAME", ip, TIMEOUT)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        matches!(name_service_error(&err), NameServiceError::NotFound { .. }),
        "{err}"
    );
    assert!(start.elapsed() < TIMEOUT, "took {:?}", start.elapsed());
    assert!(
        err.to_string().contains("NOSUCHNAME<20>: no such name"),
        "{err}"
    );
}

/// A UDP "server" on 127.0.0.3 that never answers: the query times out within its
/// timeout, after three copies of one request.
fn silent_server(d: &dyn Driver) {
    let silent = UdpSocket::bind((nmbd_address(), 0)).unwrap();
    let service = NameService::new().port(silent.local_addr().unwrap().port());
    assert_times_out(3, || {
        d.query_name(service, "ANYNAME", nmbd_address(), TIMEOUT)
    });
    silent.set_nonblocking(true).unwrap();
    let mut requests = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok((n, _)) = silent.recv_from(&mut buf) {
        requests.push(buf[..n].to_vec());
    }
    assert_eq!(requests.len(), 3);
    // Retransmissions repeat the request, transaction id included.
    assert!(requests.iter().all(|r| *r == requests[0]));
    // A node status request to a silent node, with one attempt.
    let service = service.attempts(1);
    assert_times_out(1, || d.node_status(service, nmbd_address(), TIMEOUT));
}

fn nmbd_address() -> Ipv4Addr {
    smb_tests::nmbd::ADDRESS
}

/// A scripted server that answers the request four times: with another transaction
/// id, from another port, with bytes that are no name service packet, and then properly
/// (with 10.9.8.7). Only the last counts.
fn stray_datagrams(d: &dyn Driver) {
    let server = UdpSocket::bind((nmbd_address(), 0)).unwrap();
    let impostor = UdpSocket::bind((nmbd_address(), 0)).unwrap();
    let port = server.local_addr().unwrap().port();
    let script = std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let (n, client) = server.recv_from(&mut buf).unwrap();
        let request = &buf[..n];
        let answer = |id: [u8; 2]| {
            let mut a = id.to_vec();
            a.extend_from_slice(&[0x85, 0x00, 0, 0, 0, 1, 0, 0, 0, 0]);
            // The question's name as the record's name, then NB, IN, TTL, RDLENGTH 6,
            // NB_FLAGS and the address.
            a.extend_from_slice(&request[12..46]);
            a.extend_from_slice(&[0, 0x20, 0, 1, 0, 0, 0, 0, 0, 6, 0, 0, 10, 9, 8, 7]);
            a
        };
        let id = [request[0], request[1]];
        server
            .send_to(&answer([id[0] ^ 0xFF, id[1]]), client)
            .unwrap();
        impostor.send_to(&answer(id), client).unwrap();
        server
            .send_to(b"not a name service packet", client)
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        server.send_to(&answer(id), client).unwrap();
    });
    let service = NameService::new().port(port);
    assert_eq!(
        d.query_name(service, "SCRIPTED", nmbd_address(), TIMEOUT)
            .unwrap(),
        [Ipv4Addr::new(10, 9, 8, 7)]
    );
    script.join().unwrap();
}

/// Port 139 as pysmb uses it: a session request calling `remote_name`; a scripted
/// session service refuses it with "called name not present" (RFC 1002 4.3.4), and the
/// error says so.
fn session_refused(d: &dyn Driver) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let service = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut header = [0u8; 4];
        sock.read_exact(&mut header).unwrap();
        let mut names = vec![0u8; usize::from(header[3])];
        sock.read_exact(&mut names).unwrap();
        sock.write_all(&[0x83, 0, 0, 1, 0x82]).unwrap();
        (header, names)
    });
    let mut opts = ConnectOptions::new("127.0.0.1").port(port).user("u", "p");
    opts.netbios = true;
    opts.server_name = Some("WRONGNAME".into());
    opts.timeout = Duration::from_secs(10);
    let err = d.connect(&opts).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Smb(smb_proto::Error::Closed(CloseReason::NetBiosRefused(
                SessionRefusal::CalledNameNotPresent
            )))
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("called name not present (0x82)"),
        "{err}"
    );
    let (header, names) = service.join().unwrap();
    assert_eq!(header[0], 0x81, "a SESSION REQUEST");
    let mut called = Vec::new();
    NetBiosName::new("WRONGNAME", suffix::FILE_SERVER)
        .unwrap()
        .encode(&mut called);
    assert_eq!(names[..34], called[..], "the called name");
}

/// A NetBIOS session smbd accepts: it takes a session request on any port, so the
/// harness's port (which `netbios(true)` keeps: only 445 becomes 139) with NetBIOS
/// framing logs in, and the recording shows the request and smbd's positive answer.
fn session_accepted(d: &dyn Driver) {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let (target, recording) = RecordTarget::memory();
    let opts = srv.connect_options().netbios(true).record(target);
    assert_eq!((opts.netbios, opts.port), (true, srv.port()));
    d.connect(&opts)
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    let text = recording.text();
    assert!(text.contains("# > NetBIOS session request\n"), "{text}");
    assert!(
        text.contains("# < NetBIOS positive session response\n"),
        "{text}"
    );
    assert!(text.contains("# < SESSION_SETUP response"), "{text}");
}

fn all(d: &dyn Driver) {
    session_refused(d);
    session_accepted(d);
    stray_datagrams(d);
    silent_server(d);
    let nmbd = NmbServer::start();
    against_nmbd(d, &nmbd);
}

#[test]
fn blocking_client() {
    all(&Blocking);
}

#[test]
fn tokio_client() {
    all(&Tokio(tokio::runtime::Runtime::new().unwrap()));
}

#[test]
fn smol_client() {
    all(&Smol);
}
