//! A private `nmbd` (the NetBIOS name service) on 127.0.0.3, for name query tests.
//!
//! nmbd will not serve `interfaces = lo`, but serves `127.0.0.3/8` and answers unicast
//! queries on UDP 137 of that address. It also binds `0.0.0.0:137`, so one machine runs
//! one at a time: [`NmbServer::start`] first takes a machine-wide lock file and holds it
//! until the server is dropped, so tests in any number of threads and test binaries
//! take turns instead of failing.
//!
//! ```no_run
//! let nmbd = smb_test_server::nmbd::NmbServer::start();
//! println!("{} answers for {}", nmbd.address(), nmbd.netbios_name());
//! ```

use std::fs::{self, File};
use std::io;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{
    create_dir, create_unique_dir, find_program, read_lossy, stop_process_group, temp_base,
    write_file,
};

/// The address nmbd serves.
pub const ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
/// The broadcast address of its subnet, 127.0.0.0/8.
pub const BROADCAST: Ipv4Addr = Ipv4Addr::new(127, 255, 255, 255);
/// Its NetBIOS name.
pub const NETBIOS_NAME: &str = "NMBTESTSRV";
/// Its workgroup.
pub const WORKGROUP: &str = "NMBTESTGROUP";

/// How long nmbd gets to register its names and answer for them.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long a master browser gets to win its election (22 to 24 s measured here).
const ELECTION_DEADLINE: Duration = Duration::from_secs(60);
const LOG: &str = "nmbd.log";

/// What nmbd is started as.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// A node that answers for its names.
    Node,
    /// The local master browser of its workgroup.
    MasterBrowser,
}
/// The lock every private nmbd of this machine is started under.
const LOCK_FILE: &str = "smb-tests-nmbd.lock";

/// A running private `nmbd`; dropping it stops it, removes its directory and lets the
/// next one start.
#[derive(Debug)]
pub struct NmbServer {
    dir: PathBuf,
    /// `None` only after [`Drop`] took it.
    nmbd: Option<Child>,
    /// Held while nmbd runs; dropped (and so released) after it stopped.
    _turn: File,
}

impl NmbServer {
    /// Waits for this machine's turn, starts nmbd as [`NETBIOS_NAME`] in [`WORKGROUP`]
    /// on [`ADDRESS`], and returns once it answers name queries for both.
    ///
    /// # Panics
    ///
    /// When nmbd is not installed, when something else holds UDP port 137, or when
    /// nmbd does not answer in time (with its log): a test cannot go on without it.
    pub fn start() -> NmbServer {
        Self::start_as(Role::Node)
    }

    /// [`NmbServer::start`] as the local master browser of [`WORKGROUP`]: it joins the
    /// browser elections, wins them (os level 255, preferred master) and returns once it
    /// answers for `WORKGROUP<1d>`, which took nmbd 22 to 24 s here (its election
    /// timers), so this waits up to 60 s. nmbd writes the browse list it keeps to
    /// `browse.dat` in [`NmbServer::cache_dir`]; an smbd given the same `cache directory`
    /// serves that list to RAP NetServerEnum2 (MS-RAP 2.5.5.2), as a master browser does.
    ///
    /// # Panics
    ///
    /// As [`NmbServer::start`].
    pub fn master_browser() -> NmbServer {
        Self::start_as(Role::MasterBrowser)
    }

    fn start_as(role: Role) -> NmbServer {
        let Some(program) = find_program("nmbd") else {
            panic!("nmbd not found: install it with `apt-get install -y samba`");
        };
        let turn = take_turn();
        if let Err(e) = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 137)) {
            panic!(
                "UDP port 137 is not free ({e}): another nmbd outside the test harness? \
                 (see `ss -ulpn | grep :137`)"
            );
        }
        // From here on a panic drops `server`, which removes the directory.
        let mut server = NmbServer {
            dir: create_unique_dir(&temp_base()),
            nmbd: None,
            _turn: turn,
        };
        server.write_conf(role);
        let log = File::create(server.dir.join(LOG))
            .unwrap_or_else(|e| panic!("creating the nmbd log: {e}"));
        let log_err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("duplicating the log handle: {e}"));
        server.nmbd = Some(
            Command::new(program)
                .arg("-s")
                .arg(server.dir.join("smb.conf"))
                // As smbd: stay our child in a group of its own, which drop signals.
                .args(["-F", "--no-process-group", "--debug-stdout"])
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("spawning nmbd: {e}")),
        );
        server.wait_until_answering(role);
        server
    }

    /// The address nmbd answers on ([`ADDRESS`]).
    pub fn address(&self) -> Ipv4Addr {
        ADDRESS
    }

    /// The name it registered ([`NETBIOS_NAME`]).
    pub fn netbios_name(&self) -> &str {
        NETBIOS_NAME
    }

    /// Its workgroup ([`WORKGROUP`]).
    pub fn workgroup(&self) -> &str {
        WORKGROUP
    }

    /// Its `cache directory`, where a master browser keeps `browse.dat`.
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.join("cache")
    }

    /// What nmbd logged so far, for failure messages.
    pub fn log(&self) -> String {
        read_lossy(&self.dir.join(LOG))
    }

    fn write_conf(&self, role: Role) {
        let d = self.dir.display();
        for sub in ["private", "lock", "state", "cache", "pid", "ncalrpc"] {
            create_dir(&self.dir.join(sub));
        }
        // A node: not a browser (no elections, no names appearing later). A master
        // browser: one that wins every election. Either way no DNS proxy (no child
        // process) and no WINS: names registered and answered for by broadcast rules.
        let browser = match role {
            Role::Node => "local master = no\npreferred master = no\n",
            Role::MasterBrowser => "local master = yes\npreferred master = yes\nos level = 255\n",
        };
        write_file(
            &self.dir.join("smb.conf"),
            &format!(
                "[global]\n\
                 server role = standalone server\n\
                 workgroup = {WORKGROUP}\n\
                 netbios name = {NETBIOS_NAME}\n\
                 interfaces = {ADDRESS}/8\n\
                 bind interfaces only = yes\n\
                 {browser}\
                 domain master = no\n\
                 dns proxy = no\n\
                 wins support = no\n\
                 private dir = {d}/private\n\
                 lock directory = {d}/lock\n\
                 state directory = {d}/state\n\
                 cache directory = {d}/cache\n\
                 pid directory = {d}/pid\n\
                 ncalrpc dir = {d}/ncalrpc\n\
                 log file = {d}/{LOG}\n\
                 max log size = 0\n\
                 log level = 1\n"
            ),
        );
    }

    /// Polls with name queries of its own (not the client under test's) until nmbd
    /// answers positively for its name and its workgroup (a master browser: and for
    /// `WORKGROUP<1d>`), the last one asked by broadcast: it answers only once it has
    /// registered them, and broadcasts a little later than unicast queries.
    fn wait_until_answering(&mut self, role: Role) {
        let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
            .and_then(|s| {
                s.set_read_timeout(Some(Duration::from_millis(200)))
                    .map(|()| s)
            })
            .and_then(|s| s.set_broadcast(true).map(|()| s))
            .unwrap_or_else(|e| panic!("binding the probe socket: {e}"));
        let (deadline, mut pending) = match role {
            Role::Node => (
                START_DEADLINE,
                vec![
                    (NETBIOS_NAME, 0x20u8),
                    (WORKGROUP, 0x1E),
                    (NETBIOS_NAME, 0x20),
                ],
            ),
            Role::MasterBrowser => (
                ELECTION_DEADLINE,
                vec![
                    (NETBIOS_NAME, 0x20u8),
                    (WORKGROUP, 0x1E),
                    (WORKGROUP, 0x1D),
                    (WORKGROUP, 0x1D),
                ],
            ),
        };
        let deadline = Instant::now() + deadline;
        let mut id = 0u16;
        while !pending.is_empty() {
            if let Some(Ok(Some(status))) = self.nmbd.as_mut().map(Child::try_wait) {
                panic!("nmbd exited: {status}\n--- nmbd log ---\n{}", self.log());
            }
            if Instant::now() >= deadline {
                panic!(
                    "nmbd did not answer for {pending:?} in time\n\
                     --- nmbd log ---\n{}",
                    self.log()
                );
            }
            id = id.wrapping_add(1);
            let (name, suffix) = pending[0];
            // The last probe is a broadcast: nmbd answers those once it has registered the
            // name on its subnet too, a second or two after it answers unicast queries.
            let broadcast = pending.len() == 1;
            if probe_once(&probe, id, name, suffix, broadcast) {
                pending.remove(0);
            } else {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

impl Drop for NmbServer {
    fn drop(&mut self) {
        if let Some(child) = self.nmbd.take() {
            stop_process_group(child);
        }
        for _ in 0..10 {
            match fs::remove_dir_all(&self.dir) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                _ => break,
            }
        }
    }
}

/// Blocks until no other private nmbd of this machine runs: an exclusive lock on a file
/// in the temporary directory, which the kernel releases when its holder exits, however
/// it exits.
fn take_turn() -> File {
    let path = std::env::temp_dir().join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", path.display()));
    file
}

/// One NAME QUERY REQUEST without RD (so an unregistered name is answered negatively
/// at once), to nmbd or as a broadcast on its subnet → whether a positive response came.
/// Built by hand so that the harness does not rest on the codec it helps test.
fn probe_once(sock: &UdpSocket, id: u16, name: &str, suffix: u8, broadcast: bool) -> bool {
    let mut request = id.to_be_bytes().to_vec();
    // NM_FLAGS' B is bit 4 of the header's second flags byte.
    request.extend_from_slice(&[0, u8::from(broadcast) << 4, 0, 1, 0, 0, 0, 0, 0, 0, 32]);
    let mut raw = [b' '; 16];
    raw[..name.len()].copy_from_slice(name.as_bytes());
    raw[15] = suffix;
    for b in raw {
        request.extend_from_slice(&[b'A' + (b >> 4), b'A' + (b & 0x0F)]);
    }
    request.extend_from_slice(&[0, 0x00, 0x20, 0x00, 0x01]);
    let to = if broadcast { BROADCAST } else { ADDRESS };
    if sock.send_to(&request, (to, 137)).is_err() {
        return false;
    }
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        match sock.recv_from(&mut buf) {
            // Same id, R set, RCODE 0.
            Ok((n, _)) if n >= 4 && buf[..2] == id.to_be_bytes() => {
                return buf[2] & 0x80 != 0 && buf[3] & 0x0F == 0
            }
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}
