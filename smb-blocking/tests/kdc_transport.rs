//! The blocking KDC transport ([`smb_blocking::kerberos::send`]) against peers that
//! misbehave below Kerberos: a length over the limit, silence, a reply cut short. (What
//! the KDC says is tested against Samba's KDC in `tests/tests/kerberos.rs`.)

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use smb_blocking::kerberos::{send, KdcIoError, KdcRequest, KdcTransport};

fn request(kdc: String, transport: KdcTransport, timeout: Duration) -> KdcRequest {
    KdcRequest {
        kdc,
        transport,
        message: b"an AS-REQ".to_vec(),
        timeout,
    }
}

/// A TCP peer that reads the framed request, writes `reply`, then holds the connection
/// open until the client goes.
fn tcp_peer(reply: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0; 4 + 9];
        stream.read_exact(&mut request).unwrap();
        assert_eq!(&request[..4], &[0, 0, 0, 9], "the 4-byte record marker");
        stream.write_all(&reply).unwrap();
        let _ = stream.read(&mut [0; 1]);
    });
    addr
}

#[test]
fn a_tcp_reply_is_read_whole() {
    let mut reply = vec![0, 0, 0, 5];
    reply.extend_from_slice(b"hello");
    let kdc = tcp_peer(reply);
    let got = send(&request(kdc, KdcTransport::Tcp, Duration::from_secs(5)));
    assert_eq!(got, Ok(b"hello".to_vec()));
}

#[test]
fn an_oversized_tcp_length_is_refused_before_reading() {
    let kdc = tcp_peer(vec![0x7f, 0xff, 0xff, 0xff]);
    let started = Instant::now();
    let got = send(&request(kdc, KdcTransport::Tcp, Duration::from_secs(5)));
    assert_eq!(got, Err(KdcIoError::TooLarge(0x7fff_ffff)));
    // At once: not waiting for (or allocating) two gigabytes.
    assert!(started.elapsed() < Duration::from_secs(2));
    let kdc = tcp_peer(vec![0, 0x10, 0, 1]);
    let got = send(&request(kdc, KdcTransport::Tcp, Duration::from_secs(5)));
    assert_eq!(got, Err(KdcIoError::TooLarge((1 << 20) + 1)));
}

#[test]
fn a_reply_cut_short_or_never_sent_fails_within_the_timeout() {
    let kdc = tcp_peer(vec![0, 0, 0, 100, 1, 2, 3]);
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let got = send(&request(kdc, KdcTransport::Tcp, timeout));
    assert_eq!(got, Err(KdcIoError::TimedOut));
    let took = started.elapsed();
    assert!(took >= timeout && took < Duration::from_secs(2), "{took:?}");

    // The peer closes after part of the reply.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let kdc = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.read_exact(&mut [0; 13]).unwrap();
        stream.write_all(&[0, 0, 0, 100, 1, 2, 3]).unwrap();
    });
    let got = send(&request(kdc, KdcTransport::Tcp, Duration::from_secs(5)));
    assert!(
        matches!(&got, Err(KdcIoError::Io(m)) if m.contains("closed before the whole reply")),
        "{got:?}"
    );

    // A UDP peer that never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let kdc = silent.local_addr().unwrap().to_string();
    let started = Instant::now();
    let got = send(&request(kdc, KdcTransport::Udp, timeout));
    assert_eq!(got, Err(KdcIoError::TimedOut));
    assert!(started.elapsed() < Duration::from_secs(2));
    let mut datagram = [0; 64];
    let (n, _) = silent.recv_from(&mut datagram).unwrap();
    assert_eq!(&datagram[..n], b"an AS-REQ", "one unframed datagram");
}

#[test]
fn an_address_that_does_not_resolve_is_named_as_such() {
    // No port: refused by the parser, no DNS query leaves the machine.
    let got = send(&request(
        "kdc-without-a-port".into(),
        KdcTransport::Tcp,
        Duration::from_secs(1),
    ));
    assert!(matches!(got, Err(KdcIoError::Resolve(_))), "{got:?}");
}
