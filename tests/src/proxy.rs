//! A TCP proxy between the client and the real smbd that can rewrite SMB messages in
//! flight: the man in the middle that signing, preauth integrity, validate-negotiate
//! and encryption must defeat. It is not a mock: every byte still comes from Samba.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

/// Rewrites one frame payload (an SMB2 message, compound or transform message, without
/// the 4-byte length), given its direction and its index among that direction's frames.
pub type Tamper = dyn Fn(Direction, usize, &mut Vec<u8>) + Send + Sync;

/// A running proxy; stops accepting on drop.
pub struct Proxy {
    port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards each connection to `target`.
    pub fn start(
        target: SocketAddr,
        tamper: impl Fn(Direction, usize, &mut Vec<u8>) + Send + Sync + 'static,
    ) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let tamper: Arc<Tamper> = Arc::new(tamper);
        let stop2 = stop.clone();
        let accept = std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                for (from, to, dir) in [
                    (client.try_clone(), server.try_clone(), Direction::ToServer),
                    (server.try_clone(), client.try_clone(), Direction::ToClient),
                ] {
                    let (Ok(from), Ok(to)) = (from, to) else {
                        continue;
                    };
                    let tamper = tamper.clone();
                    std::thread::spawn(move || pipe(from, to, dir, &*tamper));
                }
            }
        });
        Proxy {
            port,
            stop,
            accept: Some(accept),
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Copies frames from `from` to `to`, letting `tamper` rewrite each; ends both sockets
/// when either side closes.
fn pipe(mut from: TcpStream, mut to: TcpStream, dir: Direction, tamper: &Tamper) {
    let mut index = 0;
    loop {
        let mut hdr = [0u8; 4];
        if from.read_exact(&mut hdr).is_err() {
            break;
        }
        let len = (usize::from(hdr[1]) << 16) | (usize::from(hdr[2]) << 8) | usize::from(hdr[3]);
        let mut body = vec![0u8; len];
        if from.read_exact(&mut body).is_err() {
            break;
        }
        if hdr[0] == 0 {
            tamper(dir, index, &mut body);
            index += 1;
        }
        let n = body.len();
        let out = [
            &[hdr[0], (n >> 16) as u8, (n >> 8) as u8, n as u8][..],
            &body,
        ]
        .concat();
        if to.write_all(&out).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// The SMB2 command of a plain (untransformed) message.
pub fn command(msg: &[u8]) -> Option<u16> {
    (msg.len() >= 64 && msg[..4] == [0xFE, b'S', b'M', b'B'])
        .then(|| u16::from_le_bytes([msg[12], msg[13]]))
}
