//! A private Samba `smbd` on loopback for your tests, one per test: the server this
//! project's own integration tests run against, for users of the crates.
//!
//! Each [`SambaServer`] is configured for what its test checks (dialect range, signing,
//! encryption, shares, users, snapshots, or any `smb.conf` line), listens on a free
//! loopback port, and is stopped with every process it started, its files removed, when
//! it is dropped. Tests run in parallel without sharing state. When Samba is missing the
//! test fails at once, saying how to install it; it is never skipped.
//!
//! ```
//! use smb_test_server::{SambaServer, Share};
//!
//! let server = SambaServer::builder()
//!     .share(Share::new("share"))
//!     .max_dialect("SMB3_02")
//!     .signing_required()
//!     .start();
//! std::fs::write(server.share_path("share").join("fixture.txt"), b"hello").unwrap();
//! let out = server.smbclient("share", "ls");
//! assert!(out.status.success(), "{}", server.log());
//! println!("{}", server.url("share"));
//! ```
//!
//! A protocol regression test is this fixture plus a raw request
//! ([`smb_proto::ops::Raw`]): send exactly the bytes a bug needs, inspect exactly the answer.
//!
//! ```
//! use smb_blocking::Connection;
//! use smb_proto::ops::Raw;
//! use smb_proto::wire::create::{access_mask, disposition, CreateRequest};
//! use smb_proto::wire::request::RequestBody;
//! use smb_proto::NtStatus;
//! use smb_test_server::{SambaServer, Share};
//!
//! # fn main() {
//! let server = SambaServer::builder().share(Share::new("share")).start();
//! let conn = Connection::connect(&server.connect_options()).unwrap();
//! // A CREATE of a name that does not exist, with no create disposition that makes it.
//! let open = RequestBody::Create(CreateRequest {
//!     desired_access: access_mask::FILE_GENERIC_READ,
//!     share_access: 7,
//!     create_disposition: disposition::OPEN,
//!     name: "missing.txt".into(),
//!     ..Default::default()
//! });
//! let answers = conn.call(Raw::new(open).on_share("share")).unwrap();
//! assert_eq!(answers[0].status(), NtStatus::OBJECT_NAME_NOT_FOUND);
//! # }
//! ```
//!
//! The harness needs root (it creates a Unix account for the test user and runs `smbd`)
//! and the Debian packages `samba` and `smbclient`. The NetBIOS name service is the
//! exception to "one per test": [`nmbd::NmbServer`] runs one private `nmbd` at a time per
//! machine (it must bind UDP port 137), and tests take turns.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod dc;
pub mod fault;
pub mod nmbd;

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

use smb_proto::client::ConnectOptions;

/// Name of the user every server accepts (a Unix account is created for it if missing).
pub const DEFAULT_USER: &str = "smbtest";
/// Password of [`DEFAULT_USER`]; the `!` makes URL and shell quoting get exercised.
pub const DEFAULT_PASSWORD: &str = "Sm0ke-Test!pw";

/// How long `smbd` gets to start listening before the test fails with its log.
const START_DEADLINE: Duration = Duration::from_secs(15);
/// New ports tried when `smbd` could not bind the one it was given.
const START_ATTEMPTS: usize = 5;
/// How long Samba processes get to exit after SIGTERM before they get SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// `smbd` logs this when it cannot bind a listening socket, and then carries on without it.
const BIND_FAILURE: &str = "open_socket_in failed";
const SMBD_LOG: &str = "smbd.log";
/// `log file` of the helpers smbd starts on demand (samba-dcerpcd and its rpcd_* workers).
const HELPER_LOG: &str = "samba.log";
const INSTALL_HINT: &str =
    "install it with `apt-get install -y samba smbclient` (or run scripts/install-deps.sh)";

/// Panics unless `smbd`, `smbclient` and `smbpasswd` are installed.
///
/// Integration tests call this (directly or through [`SambaBuilder::start`]) so that a machine
/// without Samba fails loudly instead of silently skipping the tests that matter most.
pub fn require_samba() {
    require_samba_in(&search_path());
}

/// [`require_samba`] looking in `dirs` only, so that a test can aim it where Samba is not.
fn require_samba_in(dirs: &[PathBuf]) {
    for name in ["smbd", "smbclient", "smbpasswd"] {
        if find_in(dirs, name).is_none() {
            panic!("{name} not found: {INSTALL_HINT}");
        }
    }
}

/// One share of a test server: an `smb.conf` section backed by its own empty directory.
#[derive(Debug, Clone)]
pub struct Share {
    name: String,
    read_only: bool,
    guest_ok: bool,
    /// The share's directory must take `user.` extended attributes.
    xattrs: bool,
    extra: Vec<(String, String)>,
}

impl Share {
    /// A writable share that needs a password; its directory is created by [`SambaBuilder::start`].
    pub fn new(name: &str) -> Self {
        Share {
            name: name.to_owned(),
            read_only: false,
            guest_ok: false,
            xattrs: false,
            extra: Vec::new(),
        }
    }

    /// Samba refuses every write to the share (`read only = yes`).
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// The share admits guests and anonymous sessions (`guest ok = yes`, and the server gets
    /// `map to guest = Bad User`).
    pub fn guest_ok(mut self) -> Self {
        self.guest_ok = true;
        self
    }

    /// Keeps previous versions (`shadow_copy2`): each snapshot is a directory
    /// [`SambaServer::snapshot`] makes in the share's `.snapshots`, named by its
    /// `@GMT-YYYY.MM.DD-HH.MM.SS` time, holding the share as it was then.
    pub fn snapshots(self) -> Self {
        self.option("vfs objects", "shadow_copy2")
            .option("shadow:snapdir", ".snapshots")
            .option("shadow:snapdirseverywhere", "yes")
            .option("shadow:format", "@GMT-%Y.%m.%d-%H.%M.%S")
            .option("shadow:sort", "desc")
    }

    /// Keeps alternate data streams and extended attributes (`vfs objects =
    /// streams_xattr`, `ea support = yes`): Samba stores both as `user.` extended
    /// attributes of the share's files (a stream `s` of a file as `user.DosStream.s:$DATA`,
    /// an EA `name` as `user.name`). The server's directory is then made on a file
    /// system that takes `user.` attributes: the temporary directory if it does, else
    /// `/dev/shm` or `/var/tmp` (and [`SambaBuilder::start`] panics if none does).
    pub fn streams(mut self) -> Self {
        self.xattrs = true;
        self.option("vfs objects", "streams_xattr")
            .option("ea support", "yes")
    }

    /// Any other share option, e.g. `("smb encrypt", "required")`; it comes after the
    /// harness's own lines, so it can also override them.
    pub fn option(mut self, key: &str, value: &str) -> Self {
        self.extra.push((key.to_owned(), value.to_owned()));
        self
    }
}

/// Configures a [`SambaServer`]; made by [`SambaServer::builder`].
#[derive(Default)]
pub struct SambaBuilder {
    shares: Vec<Share>,
    globals: Vec<(String, String)>,
    users: Vec<(String, String)>,
    address: Option<Ipv4Addr>,
    port: Option<u16>,
}

impl fmt::Debug for SambaBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: Vec<&str> = self.users.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("SambaBuilder")
            .field("shares", &self.shares)
            .field("globals", &self.globals)
            .field("users", &users)
            .finish_non_exhaustive()
    }
}

impl SambaBuilder {
    /// Adds a share.
    pub fn share(mut self, share: Share) -> Self {
        self.shares.push(share);
        self
    }

    /// Listens on `address` (any `127.x.y.z`; the default is `127.0.0.1`) instead: a
    /// second loopback "host", such as the target of a DFS link. Samba binds it through
    /// `interfaces = ADDRESS/8`; no system change is needed.
    pub fn address(mut self, address: Ipv4Addr) -> Self {
        self.address = Some(address);
        self
    }

    /// Listens on `port` rather than a free one the harness picks: another server's
    /// port on another loopback address (DFS referrals name no port, so a client
    /// keeping the root's port reaches its targets there). `start` fails if smbd
    /// cannot bind it.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Adds a `[global]` line such as `("server signing", "mandatory")`; it comes after the
    /// harness's defaults, so it can override them (e.g. `server min protocol`).
    pub fn global(mut self, key: &str, value: &str) -> Self {
        self.globals.push((key.to_owned(), value.to_owned()));
        self
    }

    /// SMB 3.x multichannel on: with `two_addresses`, the server listens on 127.0.0.1
    /// and 127.0.0.2 (same port) and lists both (FSCTL_QUERY_NETWORK_INTERFACE_INFO,
    /// if_index 101 with RSS and 102), so a client binds a channel on the second;
    /// without, it lists only 127.0.0.1, so channels are bound where a test says.
    pub fn multichannel(self, two_addresses: bool) -> Self {
        let builder = self.global("server multi channel support", "yes");
        if !two_addresses {
            return builder;
        }
        builder.global(
            "interfaces",
            "\"127.0.0.1/8;if_index=101,speed=10000000000,capability=RSS\" \
             \"127.0.0.2/8;if_index=102,speed=1000000000\"",
        )
    }

    /// The newest dialect the server offers, in Samba's names: `SMB2_02`, `SMB2_10`,
    /// `SMB3_00`, `SMB3_02`, `SMB3_11`.
    pub fn max_dialect(self, dialect: &str) -> Self {
        self.global("server max protocol", dialect)
    }

    /// The oldest dialect the server accepts (Samba's names, as for
    /// [`SambaBuilder::max_dialect`]).
    pub fn min_dialect(self, dialect: &str) -> Self {
        self.global("server min protocol", dialect)
    }

    /// The server speaks only SMB1 (`server min protocol = NT1`, `server max protocol =
    /// NT1`): it answers an SMB1 NEGOTIATE offering NT LM 0.12 and closes the connection
    /// on an SMB2 NEGOTIATE.
    pub fn smb1_only(self) -> Self {
        self.min_dialect("NT1").max_dialect("NT1")
    }

    /// The server refuses unsigned sessions (`server signing = mandatory`).
    pub fn signing_required(self) -> Self {
        self.global("server signing", "mandatory")
    }

    /// The server refuses unencrypted access to every share (`server smb encrypt =
    /// required`).
    pub fn encryption_required(self) -> Self {
        self.global("server smb encrypt", "required")
    }

    /// Adds a user besides [`DEFAULT_USER`]; a Unix account is created for it if missing,
    /// because Samba maps every authenticated user to one.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_owned(), password.to_owned()));
        self
    }

    /// Creates the server's directory, users and `smb.conf`, starts `smbd` on a free loopback
    /// port and returns once that port accepts connections.
    ///
    /// # Panics
    ///
    /// On any failure, with `smbd`'s log in the message: this is test code, and a test cannot
    /// go on without its server.
    pub fn start(self) -> SambaServer {
        require_samba();
        self.validate();
        ensure_unix_user(DEFAULT_USER);
        for (name, _) in &self.users {
            ensure_unix_user(name);
        }

        // From here on a panic drops `server`, which removes whatever was already created.
        let base = if self.shares.iter().any(|s| s.xattrs) {
            xattr_capable_base()
        } else {
            temp_base()
        };
        let dir = create_unique_dir(&base);
        let address = self.address.unwrap_or(Ipv4Addr::LOCALHOST);
        let mut server = SambaServer {
            conf: dir.join("smb.conf"),
            dir,
            address,
            host: address.to_string(),
            port: 0,
            smbd: None,
            reaper: None,
            shares: self.shares.iter().map(|s| s.name.clone()).collect(),
        };
        for sub in ["private", "lock", "state", "cache", "pid", "ncalrpc"] {
            create_dir(&server.dir.join(sub));
        }
        for share in &self.shares {
            let path = server.share_path(&share.name);
            create_dir(&path);
            // Shares run as root (see `render_conf`); 0777 keeps them usable when a test
            // overrides `force user`.
            if let Err(e) = fs::set_permissions(&path, fs::Permissions::from_mode(0o777)) {
                panic!("chmod {}: {e}", path.display());
            }
        }

        server.port = self.port.unwrap_or_else(reserve_port);
        write_file(&server.conf, &self.render_conf(&server.dir, server.port));
        add_samba_user(&server.conf, DEFAULT_USER, DEFAULT_PASSWORD);
        for (name, password) in &self.users {
            add_samba_user(&server.conf, name, password);
        }

        for attempt in 0..START_ATTEMPTS {
            if attempt > 0 && self.port.is_some() {
                break;
            }
            if attempt > 0 {
                server.port = reserve_port();
                write_file(&server.conf, &self.render_conf(&server.dir, server.port));
            }
            server.smbd = Some(server.spawn_smbd());
            let reaper = server.spawn_reaper();
            if let Some(old) = server.reaper.replace(reaper) {
                end_reaper(old);
            }
            match server.wait_until_listening() {
                Ok(()) => return server,
                Err(Startup::PortTaken) => {
                    if let Some(child) = server.smbd.take() {
                        stop_process_group(child);
                    }
                }
                Err(Startup::Failed(why)) => {
                    panic!(
                        "smbd failed to start: {why}\n--- smbd log ---\n{}",
                        server.log()
                    )
                }
            }
        }
        if self.port.is_some() {
            panic!(
                "smbd could not bind {}:{}\n--- smbd log ---\n{}",
                server.host,
                server.port,
                server.log()
            )
        }
        panic!(
            "smbd could not bind any of {START_ATTEMPTS} free ports\n--- smbd log ---\n{}",
            server.log()
        )
    }

    /// Panics on input that would corrupt `smb.conf`, so a typo fails the test that made it.
    fn validate(&self) {
        let mut names = BTreeSet::new();
        for share in &self.shares {
            let name = &share.name;
            let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
            // A trailing `$` hides a share from browsers (`smbclient -L` leaves it out);
            // SRVSVC still lists it.
            let base = name.strip_suffix('$').unwrap_or(name);
            if base.is_empty() || !base.chars().all(allowed) {
                panic!(
                    "share name {name:?}: use letters, digits, '-' and '_' only \
                     (and a final '$' for a hidden share)"
                );
            }
            let lower = name.to_ascii_lowercase();
            if ["global", "homes", "printers"].contains(&lower.as_str()) {
                panic!("share name {name:?} is reserved by smb.conf");
            }
            if !names.insert(lower) {
                panic!("share {name:?} added twice");
            }
            for (key, value) in &share.extra {
                validate_conf_line(key, value);
            }
        }
        for (key, value) in &self.globals {
            validate_conf_line(key, value);
        }
        for (name, password) in &self.users {
            let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
            if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
                panic!("user name {name:?} must start with a lowercase letter");
            }
            if !name.chars().all(allowed) || name == DEFAULT_USER {
                panic!("user name {name:?}: use a-z, 0-9 and '-', and not {DEFAULT_USER}");
            }
            if password.contains(['\n', '\r']) {
                panic!("the password of {name:?} contains a line break");
            }
        }
    }

    fn render_conf(&self, dir: &Path, port: u16) -> String {
        let d = dir.display();
        let interfaces = match self.address {
            None => "lo".to_string(),
            Some(a) => format!("{a}/8"),
        };
        let mut conf = format!(
            "[global]\n\
             server role = standalone server\n\
             workgroup = WORKGROUP\n\
             netbios name = SMBTESTS\n\
             interfaces = {interfaces}\n\
             bind interfaces only = yes\n\
             smb ports = {port}\n\
             disable netbios = yes\n\
             private dir = {d}/private\n\
             lock directory = {d}/lock\n\
             state directory = {d}/state\n\
             cache directory = {d}/cache\n\
             pid directory = {d}/pid\n\
             ncalrpc dir = {d}/ncalrpc\n\
             passdb backend = tdbsam:{d}/private/passdb.tdb\n\
             log file = {d}/{HELPER_LOG}\n\
             max log size = 0\n\
             log level = 1\n\
             load printers = no\n\
             printing = bsd\n\
             printcap name = /dev/null\n\
             disable spoolss = yes\n\
             server min protocol = SMB2_02\n"
        );
        if self.shares.iter().any(|s| s.guest_ok) {
            conf.push_str("map to guest = Bad User\n");
        }
        render_globals_and_shares(&mut conf, dir, &self.globals, &self.shares);
        conf
    }
}

/// Appends the `globals` lines (after the fixed ones, so they win) and a section per share
/// under `dir/shares`: what every private Samba of this harness writes the same way.
pub(crate) fn render_globals_and_shares(
    conf: &mut String,
    dir: &Path,
    globals: &[(String, String)],
    shares: &[Share],
) {
    let d = dir.display();
    for (key, value) in globals {
        conf.push_str(&format!("{key} = {value}\n"));
    }
    for share in shares {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        // Tests run as root and create fixtures with root's umask; acting as root on
        // the share keeps those fixtures writable over SMB. Authentication still checks
        // the test user's password, and Samba's own checks (read only, DOS attributes,
        // share modes) still apply.
        conf.push_str(&format!(
            "\n[{name}]\n\
             path = {d}/shares/{name}\n\
             read only = {ro}\n\
             guest ok = {guest}\n\
             force user = root\n",
            name = share.name,
            ro = yes_no(share.read_only),
            guest = yes_no(share.guest_ok),
        ));
        for (key, value) in &share.extra {
            conf.push_str(&format!("{key} = {value}\n"));
        }
    }
}

/// A running private `smbd`; dropping it stops every Samba process it started and removes
/// its directory.
pub struct SambaServer {
    dir: PathBuf,
    conf: PathBuf,
    address: Ipv4Addr,
    host: String,
    port: u16,
    /// `None` only while [`SambaBuilder::start`] runs or after [`Drop`] took it.
    smbd: Option<Child>,
    /// Stops smbd and its helpers and removes the directory if this process dies
    /// without dropping the server (a signal, an abort): see [`SambaServer::spawn_reaper`].
    reaper: Option<Child>,
    shares: Vec<String>,
}

impl fmt::Debug for SambaServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SambaServer")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .field("shares", &self.shares)
            .finish_non_exhaustive()
    }
}

impl SambaServer {
    /// Starts configuring a server.
    pub fn builder() -> SambaBuilder {
        SambaBuilder::default()
    }

    /// The TCP port `smbd` listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address `smbd` listens on: `127.0.0.1` unless [`SambaBuilder::address`] said
    /// otherwise.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `smbd`'s socket address, e.g. for a [`fault::FaultProxy`] in front of it.
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from((self.address, self.port))
    }

    /// The default test user, [`DEFAULT_USER`].
    pub fn user(&self) -> &str {
        DEFAULT_USER
    }

    /// The default test user's password, [`DEFAULT_PASSWORD`].
    pub fn password(&self) -> &str {
        DEFAULT_PASSWORD
    }

    /// Options for logging in to this server as the default user (the same type for
    /// `smb_blocking` and `smb_tokio`).
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions::new(&self.host)
            .port(self.port)
            .user(DEFAULT_USER, DEFAULT_PASSWORD)
    }

    /// The local directory backing `share`, to create fixtures in and check results on disk.
    ///
    /// # Panics
    ///
    /// If the server has no such share.
    pub fn share_path(&self, share: &str) -> PathBuf {
        if !self.shares.iter().any(|s| s == share) {
            panic!(
                "no share {share:?} on this server (shares: {:?})",
                self.shares
            );
        }
        self.dir.join("shares").join(share)
    }

    /// The directory of the snapshot of `share` taken at `token`
    /// (`@GMT-YYYY.MM.DD-HH.MM.SS`), created if needed: what is put there is what the share
    /// held at that time (for a share with [`Share::snapshots`]).
    pub fn snapshot(&self, share: &str, token: &str) -> PathBuf {
        let dir = self.share_path(share).join(".snapshots").join(token);
        create_dir_all(&dir);
        dir
    }

    /// The server's `smb.conf`; its directory holds everything else of this server.
    pub fn conf_path(&self) -> &Path {
        &self.conf
    }

    /// What `smbd` and its helpers logged so far, for failure messages.
    pub fn log(&self) -> String {
        let mut log = read_lossy(&self.dir.join(SMBD_LOG));
        let helpers = read_lossy(&self.dir.join(HELPER_LOG));
        if !helpers.is_empty() {
            log.push_str("\n--- samba-dcerpcd and rpcd helpers ---\n");
            log.push_str(&helpers);
        }
        log
    }

    /// An `smbclient` command aimed at this server (`-p PORT -s CONF`), with no credentials
    /// or target yet: add `-U`, `-N`, `--option=…`, `-L` or `//127.0.0.1/share` as needed.
    pub fn smbclient_command(&self) -> Command {
        let program = find_program("smbclient").unwrap_or_else(|| require_samba_failed());
        let mut command = Command::new(program);
        command
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-s")
            .arg(&self.conf)
            // A missing password must fail the test, not wait for a prompt.
            .stdin(Stdio::null());
        command
    }

    /// Runs `smbclient -c commands` on `share` as the default user, e.g.
    /// `server.smbclient("share", "put local.bin remote.bin")`.
    ///
    /// smbclient exits non-zero when a command fails; its messages (`NT_STATUS_…`) are in the
    /// output's stdout and stderr.
    pub fn smbclient(&self, share: &str, commands: &str) -> Output {
        let mut command = self.smbclient_command();
        command
            .arg("-U")
            .arg(format!("{DEFAULT_USER}%{DEFAULT_PASSWORD}"))
            .arg(format!("//{}/{share}", self.host))
            .arg("-c")
            .arg(commands);
        command
            .output()
            .unwrap_or_else(|e| panic!("running smbclient: {e}"))
    }

    /// What `smbstatus ARGS` prints about this server (`-L` its open files, one line
    /// each; `-S` its tree connects, one line each naming the share).
    ///
    /// # Panics
    ///
    /// When smbstatus cannot be run.
    pub fn smbstatus(&self, args: &[&str]) -> String {
        let out = Command::new("smbstatus")
            .arg("-s")
            .arg(&self.conf)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running smbstatus: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `smb://user:password@HOST:PORT/share` for the default user, with the user info
    /// percent-encoded where RFC 3986 requires it.
    pub fn url(&self, share: &str) -> String {
        format!(
            "smb://{}:{}@{}:{}/{share}",
            percent_encode_userinfo(DEFAULT_USER),
            percent_encode_userinfo(DEFAULT_PASSWORD),
            self.host,
            self.port
        )
    }

    /// Freezes the server with SIGSTOP to smbd's process group (smbd and the processes it
    /// forked for connections): sockets stay open and nothing answers, like a hung server.
    /// Call [`SambaServer::resume`] before the server is dropped, or stopping it waits out
    /// its grace period before SIGKILL.
    pub fn pause(&self) {
        self.signal_smbd("STOP");
    }

    /// Lets a server frozen by [`SambaServer::pause`] run again (SIGCONT).
    pub fn resume(&self) {
        self.signal_smbd("CONT");
    }

    fn signal_smbd(&self, signal: &str) {
        if let Some(child) = &self.smbd {
            signal_group(signal, child.id());
        }
    }

    fn spawn_smbd(&self) -> Child {
        let program = find_program("smbd").unwrap_or_else(|| require_samba_failed());
        let log_path = self.dir.join(SMBD_LOG);
        let log = File::create(&log_path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", log_path.display()));
        let log_err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("duplicating the log handle: {e}"));
        Command::new(program)
            // smbd hands this path to samba-dcerpcd, which fails to load it when relative.
            .arg("-s")
            .arg(&self.conf)
            // -F: stay our child so that drop can wait for it; --no-process-group: keep the
            // group that `process_group(0)` made, which drop signals as a whole.
            .args(["-F", "--no-process-group", "--debug-stdout"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("spawning smbd: {e}"))
    }

    /// The reaper (see [`spawn_reaper`]) of this server: smbd's process group, the
    /// helpers naming our config, our directory.
    fn spawn_reaper(&self) -> Child {
        let pgid = self.smbd.as_ref().map_or(0, Child::id);
        spawn_reaper(pgid, &self.conf, &self.dir)
    }

    /// Waits until our smbd listens on the port, or tells why it never will.
    fn wait_until_listening(&mut self) -> Result<(), Startup> {
        let address = SocketAddr::from((self.address, self.port));
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let Some(child) = self.smbd.as_mut() else {
                return Err(Startup::Failed("smbd was not started".into()));
            };
            match child.try_wait() {
                Ok(Some(status)) => return Err(Startup::Failed(format!("smbd exited: {status}"))),
                Ok(None) => {}
                Err(e) => return Err(Startup::Failed(format!("waiting for smbd: {e}"))),
            }
            if read_lossy(&self.dir.join(SMBD_LOG)).contains(BIND_FAILURE) {
                return Err(Startup::PortTaken);
            }
            // A connect alone could reach whoever took the port before smbd tried to bind it.
            match loopback_listener_inode(self.address, self.port) {
                Some(inode) if process_has_socket(child.id(), inode) => {
                    return TcpStream::connect_timeout(&address, Duration::from_secs(1))
                        .map(drop)
                        .map_err(|e| Startup::Failed(format!("connecting to smbd: {e}")));
                }
                Some(_) => return Err(Startup::PortTaken),
                None => {}
            }
            if Instant::now() >= deadline {
                return Err(Startup::Failed(format!(
                    "port {} not listening after {START_DEADLINE:?}",
                    self.port
                )));
            }
            sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SambaServer {
    fn drop(&mut self) {
        // Ended first: it must not signal a process group id that is free again.
        if let Some(reaper) = self.reaper.take() {
            end_reaper(reaper);
        }
        if let Some(child) = self.smbd.take() {
            stop_process_group(child);
        }
        // samba-dcerpcd makes its own session, so the signal to smbd's group misses it and
        // its rpcd_* workers; they all carry our config path on their command line.
        stop_helpers(&self.conf);
        // A process that has just died may still be closing files in the directory.
        for _ in 0..10 {
            match fs::remove_dir_all(&self.dir) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => sleep(Duration::from_millis(100)),
                _ => break,
            }
        }
    }
}

enum Startup {
    /// Someone took the port between our probe and smbd's bind.
    PortTaken,
    Failed(String),
}

fn require_samba_failed() -> ! {
    require_samba();
    panic!("Samba was uninstalled while the tests ran: {INSTALL_HINT}")
}

/// Looks for the program `name` in [`search_path`].
fn find_program(name: &str) -> Option<PathBuf> {
    find_in(&search_path(), name)
}

/// `PATH`, and then the sbin directories a non-login root shell may lack.
fn search_path() -> Vec<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let fallback = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    std::env::split_paths(&path)
        .chain(fallback.iter().map(PathBuf::from))
        .collect()
}

/// The first executable file called `name` in one of `dirs`.
fn find_in(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter().map(|dir| dir.join(name)).find(|candidate| {
        fs::metadata(candidate)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

fn validate_conf_line(key: &str, value: &str) {
    if key.trim().is_empty() || key.contains(['=', '[', ']', '\n', '\r']) {
        panic!("smb.conf key {key:?} is not a parameter name");
    }
    if value.contains(['\n', '\r']) {
        panic!("smb.conf value {value:?} of {key:?} contains a line break");
    }
}

/// The temporary directory, absolute: smb.conf's paths must be (see `spawn_smbd`), even
/// with a relative TMPDIR.
fn temp_base() -> PathBuf {
    std::path::absolute(std::env::temp_dir())
        .unwrap_or_else(|e| panic!("resolving the temporary directory: {e}"))
}

/// The first of the temporary directory, `/dev/shm` and `/var/tmp` whose file system
/// takes `user.` extended attributes (tmpfs does since Linux 6.6, ext4 and xfs always),
/// tried by setting one with `setfattr` on a file made there.
fn xattr_capable_base() -> PathBuf {
    let mut tried = Vec::new();
    for base in [
        temp_base(),
        PathBuf::from("/dev/shm"),
        PathBuf::from("/var/tmp"),
    ] {
        let probe = base.join(format!("smb-tests-xattr-probe-{}", std::process::id()));
        if fs::write(&probe, b"").is_err() {
            tried.push(format!("{}: not writable", base.display()));
            continue;
        }
        let set = Command::new("setfattr")
            .args(["-n", "user.smb-tests", "-v", "1"])
            .arg(&probe)
            .output();
        let _ = fs::remove_file(&probe);
        match set {
            Ok(out) if out.status.success() => return base,
            Ok(out) => tried.push(format!(
                "{}: {}",
                base.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => panic!("running setfattr (the attr package): {e}"),
        }
    }
    panic!(
        "no directory takes user extended attributes, which streams_xattr needs: {}",
        tried.join("; ")
    )
}

fn create_unique_dir(base: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // A directory left by a crashed run with the same pid is skipped, never reused.
    for _ in 0..1000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("smb-tests-{}-{n}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("creating {}: {e}", dir.display()),
        }
    }
    panic!("no free directory name under {}", base.display())
}

fn create_dir_all(path: &Path) {
    if let Err(e) = fs::create_dir_all(path) {
        panic!("mkdir -p {}: {e}", path.display());
    }
}

fn create_dir(path: &Path) {
    if let Err(e) = fs::create_dir_all(path) {
        panic!("creating {}: {e}", path.display());
    }
}

fn write_file(path: &Path, contents: &str) {
    if let Err(e) = fs::write(path, contents) {
        panic!("writing {}: {e}", path.display());
    }
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// A loopback port that was free a moment ago and that no other server of this process got.
///
/// Ports are never handed out twice per process, so two servers started at the same time
/// cannot race for one port; other processes can still take it, which `start` detects.
fn reserve_port() -> u16 {
    reserve_port_on(Ipv4Addr::LOCALHOST, false)
}

/// [`reserve_port`] on `address`; with `udp`, the same UDP port was free there too (a KDC
/// listens on both).
fn reserve_port_on(address: Ipv4Addr, udp: bool) -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for _ in 0..100 {
        let listener = TcpListener::bind((address, 0))
            .unwrap_or_else(|e| panic!("binding a port on {address}: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("reading the bound port: {e}"))
            .port();
        if udp && UdpSocket::bind((address, port)).is_err() {
            continue;
        }
        if handed_out.insert(port) {
            return port;
        }
    }
    panic!("the kernel kept offering ports on {address} this process already used or UDP had")
}

/// Creates the Unix account Samba maps `name` to, unless it exists.
///
/// Test threads and other test binaries may race here: a `useradd` that fails because the
/// user appeared meanwhile, or because another `useradd` holds the passwd lock, is retried.
fn ensure_unix_user(name: &str) {
    static KNOWN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut known = KNOWN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if known.contains(name) {
        return;
    }
    let Some(useradd) = find_program("useradd") else {
        panic!("useradd not found: install the `passwd` package");
    };
    let shell = if Path::new("/usr/sbin/nologin").exists() {
        "/usr/sbin/nologin"
    } else {
        "/bin/false"
    };
    let mut last_error = String::new();
    for _ in 0..50 {
        if unix_user_exists(name) {
            known.insert(name.to_owned());
            return;
        }
        match Command::new(&useradd)
            .args(["-M", "-s", shell, name])
            .output()
        {
            Ok(out) if out.status.success() => {
                known.insert(name.to_owned());
                return;
            }
            Ok(out) => last_error = String::from_utf8_lossy(&out.stderr).into_owned(),
            Err(e) => last_error = e.to_string(),
        }
        sleep(Duration::from_millis(100));
    }
    panic!("could not create Unix user {name} (the harness must run as root): {last_error}")
}

fn unix_user_exists(name: &str) -> bool {
    read_lossy(Path::new("/etc/passwd"))
        .lines()
        .any(|line| line.split(':').next() == Some(name))
}

fn add_samba_user(conf: &Path, name: &str, password: &str) {
    let Some(smbpasswd) = find_program("smbpasswd") else {
        require_samba_failed()
    };
    // `-s` reads the new password twice, one per line.
    let out = output_with_input(
        Command::new(smbpasswd)
            .arg("-c")
            .arg(conf)
            .args(["-s", "-a", name]),
        &format!("{password}\n{password}\n"),
        "smbpasswd",
    );
    if !out.status.success() {
        panic!(
            "smbpasswd -a {name} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Sends `signal` to every process of group `pgid` through kill(1): std has no kill(2) for
/// groups, and this crate takes no libc.
fn signal_group(signal: &str, pgid: u32) {
    signal_pids(signal, &[format!("-{pgid}")]);
}

fn signal_pids(signal: &str, targets: &[String]) {
    if targets.is_empty() {
        return;
    }
    let Some(kill) = find_program("kill") else {
        // Nothing better to do in a destructor; the processes die with the machine.
        return;
    };
    let _ = Command::new(kill)
        .arg(format!("-{signal}"))
        .arg("--")
        .args(targets)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A shell that waits on a pipe only this process holds: when the process dies without
/// dropping its server (killed, aborted, a panic that does not unwind), the pipe closes and
/// the shell kills process group `pgid` and the processes naming `conf` as `--configfile=`
/// (samba-dcerpcd, and a DC's smbd and winbindd, make their own sessions), then removes
/// `dir`. In a process group of its own, so that a Ctrl-C to the test's group leaves it to
/// do that.
fn spawn_reaper(pgid: u32, conf: &Path, dir: &Path) -> Child {
    const SCRIPT: &str = r#"read _
kill -9 "-$1" 2>/dev/null
for p in /proc/[0-9]*; do
    if tr '\0' '\n' < "$p/cmdline" 2>/dev/null | grep -qxF -- "--configfile=$2"; then
        kill -9 "${p#/proc/}" 2>/dev/null
    fi
done
sleep 1
rm -rf -- "$3""#;
    Command::new("sh")
        .args(["-c", SCRIPT, "smb-test-server-reaper"])
        .arg(pgid.to_string())
        .arg(conf)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning the reaper shell: {e}"))
}

/// Runs `command` with `input` on its standard input and its output captured. A write
/// error is left to show as the program's own failure, which says more.
///
/// # Panics
///
/// When `what` cannot be started or waited for.
pub(crate) fn output_with_input(command: &mut Command, input: &str, what: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {what}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {what}: {e}"))
}

/// Stops smbd and every process in its group, SIGKILL after [`STOP_GRACE`].
/// Ends a reaper without letting it act: the server is being stopped in order.
fn end_reaper(mut reaper: Child) {
    let _ = reaper.kill();
    let _ = reaper.wait();
}

fn stop_process_group(mut child: Child) {
    let pgid = child.id();
    signal_group("TERM", pgid);
    let deadline = Instant::now() + STOP_GRACE;
    loop {
        match child.try_wait() {
            Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(20)),
            Ok(None) => {
                signal_group("KILL", pgid);
                let _ = child.wait();
                break;
            }
            Ok(Some(_)) | Err(_) => break,
        }
    }
    // smbd's own children may outlive it by a moment; the group id stays theirs (and cannot
    // be reused) while any of them exists.
    signal_group("KILL", pgid);
}

/// Stops the live processes whose command line names `conf` as `--configfile=`.
fn stop_helpers(conf: &Path) {
    let needle = format!("--configfile={}", conf.display());
    let targets = || -> Vec<String> {
        live_processes_with_arg(&needle)
            .iter()
            .map(u32::to_string)
            .collect()
    };
    signal_pids("TERM", &targets());
    let deadline = Instant::now() + STOP_GRACE;
    loop {
        let left = targets();
        if left.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            signal_pids("KILL", &left);
            return;
        }
        sleep(Duration::from_millis(20));
    }
}

/// Pids of processes, zombies excepted, with `arg` as one of their command-line arguments.
fn live_processes_with_arg(arg: &str) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmdline.split(|&b| b == 0).any(|a| a == arg.as_bytes()) && !is_zombie(*pid)
        })
        .collect()
}

/// A dead process that nobody reaped yet; signalling it is pointless.
fn is_zombie(pid: u32) -> bool {
    // The state follows the command name, which is in parentheses and may hold anything.
    let stat = read_lossy(Path::new(&format!("/proc/{pid}/stat")));
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        .unwrap_or(true)
}

/// The inode of the socket listening on `address:port`, from the kernel's TCP table.
fn loopback_listener_inode(address: Ipv4Addr, port: u16) -> Option<u64> {
    // Columns: sl local_address rem_address st … inode; addresses are hex in the
    // kernel's byte order (127.0.0.1 is 0100007F), and state 0A is LISTEN.
    let local = format!("{:08X}:{port:04X}", u32::from_le_bytes(address.octets()));
    read_lossy(Path::new("/proc/net/tcp"))
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&"0A"))
        .and_then(|fields| fields.get(9)?.parse().ok())
}

/// Whether one of `pid`'s file descriptors is the socket with this inode.
fn process_has_socket(pid: u32, inode: u64) -> bool {
    let target = format!("socket:[{inode}]");
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| fs::read_link(fd.path()).is_ok_and(|link| link.as_os_str() == target.as_str()))
}

/// Percent-encodes everything RFC 3986 does not allow unescaped in a URL's user info.
fn percent_encode_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        let c = char::from(byte);
        if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=".contains(c) {
            out.push(c);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `require_samba_in(dirs)` panicked with, or `None` if it did not.
    fn failure(dirs: &[PathBuf]) -> Option<String> {
        let payload = std::panic::catch_unwind(|| require_samba_in(dirs)).err()?;
        let message = match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => payload
                .downcast_ref::<&str>()
                .map_or_else(String::new, |s| (*s).to_owned()),
        };
        Some(message)
    }

    #[test]
    fn missing_samba_fails_naming_the_program_and_the_install_command() {
        // The same check on this machine's search path passes (the harness needs Samba).
        assert_eq!(failure(&search_path()), None);

        let empty = create_unique_dir(&temp_base());
        let message = failure(std::slice::from_ref(&empty)).expect("no smbd: a panic");
        assert!(message.starts_with("smbd not found: "), "{message}");
        assert!(
            message.contains("`apt-get install -y samba smbclient`"),
            "{message}"
        );

        // smbd alone is not enough: each program is looked for.
        let smbd = empty.join("smbd");
        fs::write(&smbd, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&smbd, fs::Permissions::from_mode(0o755)).unwrap();
        let message = failure(std::slice::from_ref(&empty)).expect("no smbclient: a panic");
        assert!(message.starts_with("smbclient not found: "), "{message}");
        assert!(message.contains("apt-get install -y samba smbclient"));
        fs::remove_dir_all(&empty).unwrap();
    }
}
