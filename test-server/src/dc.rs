//! A private Samba Active Directory domain controller on loopback, for Kerberos tests: a KDC
//! (TCP and UDP), an SMB server that takes Kerberos logins, and the realm's users.
//!
//! Each [`SambaDc`] runs `samba` (the AD DC binary: its embedded Heimdal KDC, smbd and
//! winbindd) on an address of its own, `127.x.y.z`, on ports free there, from its own
//! temporary directory; dropping it stops every process it started and removes that
//! directory. Nothing on the machine changes: no DNS (`--dns-backend=NONE`), no
//! `/etc/hosts`, no `/etc/krb5.conf`. Clients name the server by its host name
//! ([`SambaDc::host_name`], the name in the service principal `cifs/dc.smbtest.test`) and
//! connect to its address; reference tools get a private `krb5.conf`
//! ([`SambaDc::krb5_conf`]) through `KRB5_CONFIG`.
//!
//! Provisioning a domain takes about 2.6 s, so it happens once per test process, into a
//! template directory that every DC of the process copies (a copy and a start take about
//! half a second); the template is removed when the process exits. Every DC is its own
//! domain with the same names ([`REALM`], [`HOST_NAME`]) and the default user
//! ([`DEFAULT_USER`] with [`DEFAULT_PASSWORD`])
//! and whatever the test adds, so tests run in parallel without sharing state.
//!
//! ```no_run
//! use smb_test_server::dc::SambaDc;
//! use smb_test_server::Share;
//!
//! let dc = SambaDc::builder().share(Share::new("share")).start();
//! let out = dc.smbclient_kerberos("share", "ls");
//! assert!(out.status.success(), "{}", dc.log());
//! let keytab = dc.export_keytab(&dc.principal(dc.user()));
//! println!("{} at {}, keys in {}", dc.realm(), dc.kdc_addr(), keytab.display());
//! ```
//!
//! Needs root and the Debian packages `samba` (with `samba-ad-provision` and
//! `samba-dsdb-modules`), `winbind`, `libnss-wrapper`, `krb5-user` and `smbclient`
//! (`scripts/install-deps.sh`). The DC's smbd asks winbindd for every login, and reaches the
//! private one only through nss_wrapper (below); without either, logins fail with
//! `NT_STATUS_INTERNAL_ERROR`.

use std::fmt;
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

use smb_proto::client::ConnectOptions;

use crate::{
    create_dir, create_unique_dir, end_reaper, find_in, find_program, is_zombie,
    loopback_listener_inode, process_has_socket, read_lossy, reserve_port_on, search_path,
    spawn_reaper, stop_helpers, stop_process_group, temp_base, validate_conf_line, write_file,
    xattr_capable_base, Share, BIND_FAILURE, DEFAULT_PASSWORD, DEFAULT_USER,
};

/// The Kerberos realm of every DC (upper case, as principals spell it).
pub const REALM: &str = "SMBTEST.TEST";
/// The NetBIOS domain name.
pub const DOMAIN: &str = "SMBTEST";
/// The DC's DNS host name: Kerberos clients must name the server so (`cifs/dc.smbtest.test`),
/// not by its address. Nothing resolves it; clients connect to [`SambaDc::address`].
pub const HOST_NAME: &str = "dc.smbtest.test";
/// The domain administrator's password (AD password complexity: three character classes).
const ADMIN_PASSWORD: &str = "Adm1n-Pass!x";

/// How long `samba` gets to listen and start winbindd before the test fails with its log.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// New ports tried when a port was taken between our probe and samba's bind.
const START_ATTEMPTS: usize = 5;
/// stdout and stderr of `samba` and of the smbd and winbindd it starts (`--debug-stdout`).
const SAMBA_LOG: &str = "samba.log";
const INSTALL_HINT: &str = "install it with `apt-get install -y samba samba-ad-provision \
     samba-dsdb-modules winbind libnss-wrapper krb5-user smbclient` (or run \
     scripts/install-deps.sh)";

/// Panics unless everything a [`SambaDc`] runs is installed: `samba`, `samba-tool`,
/// `winbindd`, `smbclient`, `kinit`, `klist` and nss_wrapper's library.
///
/// [`SambaDcBuilder::start`] calls it, so that a machine without them fails loudly instead of
/// skipping the Kerberos tests.
pub fn require_dc() {
    let dirs = search_path();
    for name in [
        "samba",
        "samba-tool",
        "winbindd",
        "smbd",
        "smbclient",
        "kinit",
        "klist",
    ] {
        if find_in(&dirs, name).is_none() {
            panic!("{name} not found: {INSTALL_HINT}");
        }
    }
    if nss_wrapper_library().is_none() {
        panic!("libnss_wrapper.so not found: {INSTALL_HINT}");
    }
}

/// nss_wrapper's shared object, in the multiarch library directories or `/usr/lib*`.
fn nss_wrapper_library() -> Option<PathBuf> {
    let mut dirs = vec![PathBuf::from("/usr/lib"), PathBuf::from("/usr/lib64")];
    if let Ok(entries) = fs::read_dir("/usr/lib") {
        dirs.extend(entries.flatten().map(|e| e.path()));
    }
    dirs.into_iter()
        .map(|dir| dir.join("libnss_wrapper.so"))
        .find(|path| path.is_file())
}

/// The provisioned domain every DC of this process copies, made by the first
/// [`SambaDcBuilder::start`].
struct Template {
    dir: PathBuf,
    /// Removes `dir` when this process exits: it holds the write end of the shell's stdin
    /// for as long as the process lives (a static is never dropped).
    _reaper: Child,
}

fn template() -> &'static Path {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    &TEMPLATE.get_or_init(provision_template).dir
}

/// Provisions the domain with the default user into a fresh directory. The address in the
/// provisioning `smb.conf` does not matter: every DC writes its own `smb.conf`.
fn provision_template() -> Template {
    let dir = create_unique_dir(&temp_base());
    let reaper = Command::new("sh")
        .args([
            "-c",
            "read _; rm -rf -- \"$1\"",
            "smb-test-dc-template-reaper",
        ])
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning the template's reaper shell: {e}"));
    let template = Template {
        dir,
        _reaper: reaper,
    };
    let dir = &template.dir;
    samba_tool(
        dir,
        &[
            "domain",
            "provision",
            &format!("--targetdir={}", dir.display()),
            &format!("--realm={REALM}"),
            &format!("--domain={DOMAIN}"),
            "--server-role=dc",
            "--dns-backend=NONE",
            "--host-name=dc",
            &format!("--adminpass={ADMIN_PASSWORD}"),
            "--option=interfaces=127.0.0.1/8",
            "--option=bind interfaces only=yes",
        ],
    );
    create_user(
        dir,
        &dir.join("etc/smb.conf"),
        DEFAULT_USER,
        DEFAULT_PASSWORD,
    );
    template
}

/// Runs `samba-tool ARGS` in `dir`, panicking with its output when it fails.
fn samba_tool(dir: &Path, args: &[&str]) -> Output {
    let program = find_program("samba-tool").unwrap_or_else(|| require_dc_failed());
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running samba-tool: {e}"));
    if !out.status.success() {
        panic!(
            "samba-tool {} failed ({}):\n{}{}",
            args.first().copied().unwrap_or_default(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Adds a domain user to the directory in `dir` (the DC need not run).
fn create_user(dir: &Path, conf: &Path, name: &str, password: &str) {
    samba_tool(
        dir,
        &[
            "user",
            "create",
            name,
            password,
            "-H",
            &format!("ldb://{}/private/sam.ldb", dir.display()),
            &format!("--configfile={}", conf.display()),
        ],
    );
}

fn require_dc_failed() -> ! {
    require_dc();
    panic!("Samba was uninstalled while the tests ran: {INSTALL_HINT}")
}

/// An address of its own for each DC: the process id in the lower two octets keeps test
/// processes apart, a counter in the second keeps this process's DCs apart.
fn next_address() -> Ipv4Addr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let byte = |v: u32| u8::try_from(v % 256).unwrap_or(0);
    // 0 and 255 avoided in the last octet: they look like network and broadcast addresses.
    Ipv4Addr::new(127, byte(64 + n % 64), byte(pid / 250), byte(2 + pid % 250))
}

/// Configures a [`SambaDc`]; made by [`SambaDc::builder`].
#[derive(Default)]
pub struct SambaDcBuilder {
    shares: Vec<Share>,
    globals: Vec<(String, String)>,
    users: Vec<(String, String)>,
}

impl fmt::Debug for SambaDcBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: Vec<&str> = self.users.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("SambaDcBuilder")
            .field("shares", &self.shares)
            .field("globals", &self.globals)
            .field("users", &users)
            .finish()
    }
}

impl SambaDcBuilder {
    /// Adds a share (every share's files belong to root; see [`Share`]).
    pub fn share(mut self, share: Share) -> Self {
        self.shares.push(share);
        self
    }

    /// Adds a domain user besides [`DEFAULT_USER`]. AD's password rules apply: at least
    /// seven characters of three classes (upper, lower, digit, other), and not containing
    /// the user name.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_owned(), password.to_owned()));
        self
    }

    /// Adds a `[global]` line such as `("server smb encrypt", "required")` or
    /// `("server smb3 encryption algorithms", "AES-256-GCM")`; it comes after the harness's
    /// own lines, so it can override them.
    pub fn global(mut self, key: &str, value: &str) -> Self {
        self.globals.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The newest dialect the server offers, in Samba's names (`SMB2_10`, `SMB3_11`, …).
    pub fn max_dialect(self, dialect: &str) -> Self {
        self.global("server max protocol", dialect)
    }

    /// Copies the provisioned domain (provisioning it first if this is the process's first
    /// DC), adds the users, starts `samba` on a fresh address and returns once its SMB and
    /// KDC ports listen and its winbindd is up.
    ///
    /// # Panics
    ///
    /// On any failure, with Samba's log in the message: this is test code, and a test cannot
    /// go on without its server.
    pub fn start(self) -> SambaDc {
        require_dc();
        self.validate();
        let template = template();
        let base = if self.shares.iter().any(|s| s.xattrs) {
            xattr_capable_base()
        } else {
            temp_base()
        };
        // From here on a panic drops `dc`, which removes whatever was already created.
        let mut dc = SambaDc {
            dir: create_unique_dir(&base),
            conf: PathBuf::new(),
            address: next_address(),
            smb_port: 0,
            kdc_port: 0,
            samba: None,
            reaper: None,
            shares: self.shares.iter().map(|s| s.name.clone()).collect(),
            users: self.users.clone(),
        };
        dc.conf = dc.dir.join("etc/smb.conf");
        copy_dir(template, &dc.dir);
        for sub in ["state", "cache", "pid", "ncalrpc", "winbindd", "log"] {
            create_dir(&dc.dir.join(sub));
        }
        for share in &self.shares {
            let path = dc.share_path(&share.name);
            create_dir(&path);
            if let Err(e) = fs::set_permissions(&path, fs::Permissions::from_mode(0o777)) {
                panic!("chmod {}: {e}", path.display());
            }
        }
        // nss_wrapper's view of the Unix accounts: smbd needs root and the guest account.
        write_file(
            &dc.dir.join("passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        );
        write_file(&dc.dir.join("group"), "root:x:0:\nnogroup:x:65534:\n");

        let mut kpasswd_port = 0;
        for attempt in 0..START_ATTEMPTS {
            dc.smb_port = reserve_port_on(dc.address, false);
            dc.kdc_port = reserve_port_on(dc.address, true);
            kpasswd_port = reserve_port_on(dc.address, true);
            write_file(&dc.conf, &self.render_conf(&dc, kpasswd_port));
            write_file(&dc.krb5_conf(), &dc.render_krb5_conf());
            if attempt == 0 {
                for (name, password) in &self.users {
                    create_user(&dc.dir, &dc.conf, name, password);
                }
            }
            // A pid file left by a killed attempt makes samba refuse to start.
            let _ = fs::remove_dir_all(dc.dir.join("pid"));
            create_dir(&dc.dir.join("pid"));
            let log_start = read_lossy(&dc.dir.join(SAMBA_LOG)).len();
            dc.samba = Some(dc.spawn_samba());
            let pgid = dc.samba.as_ref().map_or(0, Child::id);
            if let Some(old) = dc.reaper.replace(spawn_reaper(pgid, &dc.conf, &dc.dir)) {
                end_reaper(old);
            }
            match dc.wait_until_ready(kpasswd_port, log_start) {
                Ok(()) => return dc,
                Err(DcStartup::PortTaken) => dc.stop_processes(),
                Err(DcStartup::Failed(why)) => {
                    panic!(
                        "samba failed to start: {why}\n--- samba log ---\n{}",
                        dc.log()
                    )
                }
            }
        }
        panic!(
            "samba could not bind free ports on {} in {START_ATTEMPTS} attempts (last: smb {}, \
             kdc {}, kpasswd {kpasswd_port})\n--- samba log ---\n{}",
            dc.address,
            dc.smb_port,
            dc.kdc_port,
            dc.log()
        )
    }

    /// Panics on input that would corrupt `smb.conf` or that AD would refuse later.
    fn validate(&self) {
        for share in &self.shares {
            let name = &share.name;
            let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
            let lower = name.to_ascii_lowercase();
            if name.is_empty()
                || !name.chars().all(allowed)
                || ["global", "homes", "printers", "sysvol", "netlogon"].contains(&lower.as_str())
            {
                panic!(
                    "share name {name:?}: use letters, digits, '-' and '_', not a reserved name"
                );
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
            if name.is_empty() || !name.chars().all(allowed) || name == DEFAULT_USER {
                panic!("user name {name:?}: use a-z, 0-9 and '-', and not {DEFAULT_USER}");
            }
            if password.contains(['\n', '\r']) {
                panic!("the password of {name:?} contains a line break");
            }
        }
    }

    /// The DC's `smb.conf`: provisioning's lists every AD service and `/var` paths; this one
    /// runs only what a Kerberos SMB login needs (smbd, the KDC, winbindd) with everything
    /// under the DC's directory.
    fn render_conf(&self, dc: &SambaDc, kpasswd_port: u16) -> String {
        let d = dc.dir.display();
        let mut conf = format!(
            "[global]\n\
             netbios name = DC\n\
             realm = {REALM}\n\
             workgroup = {DOMAIN}\n\
             server role = active directory domain controller\n\
             server services = s3fs, kdc, winbindd\n\
             prefork children = 1\n\
             interfaces = {address}/8\n\
             bind interfaces only = yes\n\
             smb ports = {smb}\n\
             krb5 port = {kdc}\n\
             kpasswd port = {kpasswd_port}\n\
             disable netbios = yes\n\
             private dir = {d}/private\n\
             lock directory = {d}\n\
             state directory = {d}/state\n\
             cache directory = {d}/cache\n\
             pid directory = {d}/pid\n\
             ncalrpc dir = {d}/ncalrpc\n\
             winbindd socket directory = {d}/winbindd\n\
             binddns dir = {d}/bind-dns\n\
             log file = {d}/log/log.%m\n\
             max log size = 0\n\
             log level = 1\n\
             load printers = no\n\
             printing = bsd\n\
             printcap name = /dev/null\n\
             disable spoolss = yes\n\
             server min protocol = SMB2_02\n",
            address = dc.address,
            smb = dc.smb_port,
            kdc = dc.kdc_port,
        );
        crate::render_globals_and_shares(&mut conf, &dc.dir, &self.globals, &self.shares);
        conf
    }
}

/// `cp -a from/. to`: the template holds LDB databases and their lock and key files, which a
/// copy must keep byte for byte with their modes.
fn copy_dir(from: &Path, to: &Path) {
    let out = Command::new("cp")
        .arg("-a")
        .arg(from.join("."))
        .arg(to)
        .output()
        .unwrap_or_else(|e| panic!("running cp: {e}"));
    if !out.status.success() {
        panic!(
            "cp -a {} {} failed: {}",
            from.display(),
            to.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

enum DcStartup {
    /// Another process took one of our ports between the probe and samba's bind.
    PortTaken,
    Failed(String),
}

/// A running private AD DC; dropping it stops every process it started and removes its
/// directory.
pub struct SambaDc {
    dir: PathBuf,
    conf: PathBuf,
    address: Ipv4Addr,
    smb_port: u16,
    kdc_port: u16,
    /// The `samba` master, leader of its process group (its KDC workers stay in it; smbd
    /// and winbindd make their own sessions and are found by `--configfile=`). `None` only
    /// while starting or after [`Drop`] took it.
    samba: Option<Child>,
    /// Stops everything and removes the directory if this process dies without dropping
    /// the DC (see [`spawn_reaper`]).
    reaper: Option<Child>,
    shares: Vec<String>,
    users: Vec<(String, String)>,
}

impl fmt::Debug for SambaDc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SambaDc")
            .field("dir", &self.dir)
            .field("address", &self.address)
            .field("smb_port", &self.smb_port)
            .field("kdc_port", &self.kdc_port)
            .field("shares", &self.shares)
            .finish_non_exhaustive()
    }
}

impl SambaDc {
    /// Starts configuring a DC.
    pub fn builder() -> SambaDcBuilder {
        SambaDcBuilder::default()
    }

    /// The realm, [`REALM`].
    pub fn realm(&self) -> &str {
        REALM
    }

    /// The DC's host name, [`HOST_NAME`]: what a Kerberos client names the server by (the
    /// service principal is `cifs/` and this name).
    pub fn host_name(&self) -> &str {
        HOST_NAME
    }

    /// The loopback address every service of this DC listens on.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The SMB server's socket address.
    pub fn smb_addr(&self) -> SocketAddr {
        SocketAddr::from((self.address, self.smb_port))
    }

    /// The KDC's socket address (TCP and UDP).
    pub fn kdc_addr(&self) -> SocketAddr {
        SocketAddr::from((self.address, self.kdc_port))
    }

    /// The default user, [`DEFAULT_USER`], without the realm.
    pub fn user(&self) -> &str {
        DEFAULT_USER
    }

    /// The default user's password, [`DEFAULT_PASSWORD`].
    pub fn password(&self) -> &str {
        DEFAULT_PASSWORD
    }

    /// `name@REALM`, the Kerberos principal of a user of this DC.
    pub fn principal(&self, name: &str) -> String {
        format!("{name}@{REALM}")
    }

    /// The password [`SambaDcBuilder::user`] gave `name` ([`DEFAULT_PASSWORD`] for the
    /// default user).
    ///
    /// # Panics
    ///
    /// If the DC has no such user.
    pub fn password_of(&self, name: &str) -> &str {
        if name == DEFAULT_USER {
            return DEFAULT_PASSWORD;
        }
        self.users
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, password)| password.as_str())
            .unwrap_or_else(|| panic!("no user {name:?} on this DC"))
    }

    /// Options for logging in to this DC's SMB server as the default user: its address and
    /// port, `server_name` [`HOST_NAME`], and the password.
    pub fn connect_options(&self) -> ConnectOptions {
        let mut options = ConnectOptions::new(&self.address.to_string())
            .port(self.smb_port)
            .user(DEFAULT_USER, DEFAULT_PASSWORD);
        options.server_name = Some(HOST_NAME.to_owned());
        options
    }

    /// The local directory backing `share`.
    ///
    /// # Panics
    ///
    /// If the DC has no such share.
    pub fn share_path(&self, share: &str) -> PathBuf {
        if !self.shares.iter().any(|s| s == share) {
            panic!("no share {share:?} on this DC (shares: {:?})", self.shares);
        }
        self.dir.join("shares").join(share)
    }

    /// The DC's `smb.conf`; its directory holds everything else of this DC.
    pub fn conf_path(&self) -> &Path {
        &self.conf
    }

    /// A `krb5.conf` for reference tools (MIT's `kinit`, `klist`, `kvno`; smbclient): the
    /// realm with this DC's KDC, no DNS lookups. Give it to them as `KRB5_CONFIG`, as
    /// [`SambaDc::krb5_command`] does.
    pub fn krb5_conf(&self) -> PathBuf {
        self.dir.join("krb5.conf")
    }

    fn render_krb5_conf(&self) -> String {
        format!(
            "[libdefaults]\n\
             \tdefault_realm = {REALM}\n\
             \tdns_lookup_realm = false\n\
             \tdns_lookup_kdc = false\n\
             \trdns = false\n\
             \tdns_canonicalize_hostname = false\n\
             [realms]\n\
             \t{REALM} = {{\n\
             \t\tkdc = {kdc}\n\
             \t}}\n\
             [domain_realm]\n\
             \t{HOST_NAME} = {REALM}\n",
            kdc = self.kdc_addr(),
        )
    }

    /// A command running `program` (e.g. `kinit`, `klist`, `kvno`) with this DC's
    /// [`krb5_conf`](SambaDc::krb5_conf) and no ccache of the machine's (`KRB5CCNAME` points
    /// into the DC's directory), stdin closed.
    pub fn krb5_command(&self, program: &str) -> Command {
        let path = find_program(program).unwrap_or_else(|| require_dc_failed());
        let mut command = Command::new(path);
        command
            .env("KRB5_CONFIG", self.krb5_conf())
            .env(
                "KRB5CCNAME",
                format!("FILE:{}", self.dir.join("ccache").display()),
            )
            .stdin(Stdio::null());
        command
    }

    /// Runs MIT's `kinit principal` with `password` on stdin and returns the `FILE:` ccache
    /// it wrote (a new one per call, in the DC's directory), holding the principal's TGT.
    ///
    /// # Panics
    ///
    /// When kinit fails (a wrong password among others), with its output.
    pub fn kinit(&self, principal: &str, password: &str) -> PathBuf {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let ccache = self
            .dir
            .join(format!("ccache-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        let out = crate::output_with_input(
            self.krb5_command("kinit")
                .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
                .arg(principal),
            &format!("{password}\n"),
            "kinit",
        );
        if !out.status.success() {
            panic!(
                "kinit {principal} failed ({}): {}{}\n--- samba log ---\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log()
            );
        }
        ccache
    }

    /// Exports the long-term keys of `principal` (e.g. `smbtest@SMBTEST.TEST`, or `DC$` for
    /// the server's own, which service tickets are encrypted in) with `samba-tool domain
    /// exportkeytab`, and returns the keytab's path (a new file per call).
    ///
    /// # Panics
    ///
    /// When samba-tool fails, e.g. for an unknown principal.
    pub fn export_keytab(&self, principal: &str) -> PathBuf {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let keytab = self.dir.join(format!(
            "export-{}.keytab",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        samba_tool(
            &self.dir,
            &[
                "domain",
                "exportkeytab",
                &keytab.display().to_string(),
                &format!("--principal={principal}"),
                &format!("--configfile={}", self.conf.display()),
            ],
        );
        keytab
    }

    /// Disables the account of user `name` (`samba-tool user disable`) on the running DC:
    /// its KDC then refuses it (KDC_ERR_CLIENT_REVOKED).
    ///
    /// # Panics
    ///
    /// When samba-tool fails, e.g. for an unknown user.
    pub fn disable_user(&self, name: &str) {
        samba_tool(
            &self.dir,
            &[
                "user",
                "disable",
                name,
                "-H",
                &format!("ldb://{}/private/sam.ldb", self.dir.display()),
                &format!("--configfile={}", self.conf.display()),
            ],
        );
    }

    /// An `smbclient` command aimed at this DC's SMB server by name (`-I ADDRESS -p PORT`)
    /// with the DC's `smb.conf` and [`krb5_conf`](SambaDc::krb5_conf), no credentials or
    /// target yet: add `-U`, `--use-kerberos=…` and `//dc.smbtest.test/share` as needed.
    pub fn smbclient_command(&self) -> Command {
        let program = find_program("smbclient").unwrap_or_else(|| require_dc_failed());
        let mut command = Command::new(program);
        command
            .env("KRB5_CONFIG", self.krb5_conf())
            .env(
                "KRB5CCNAME",
                format!("FILE:{}", self.dir.join("ccache").display()),
            )
            .arg("-I")
            .arg(self.address.to_string())
            .arg("-p")
            .arg(self.smb_port.to_string())
            .arg("-s")
            .arg(&self.conf)
            .stdin(Stdio::null());
        command
    }

    /// Runs `smbclient --use-kerberos=required -c commands` on `share` as the default user
    /// with its password: smbclient gets a TGT and a `cifs/dc.smbtest.test` ticket from the
    /// KDC itself, and fails rather than fall back to NTLM.
    pub fn smbclient_kerberos(&self, share: &str, commands: &str) -> Output {
        self.smbclient_command()
            .arg("--use-kerberos=required")
            .arg("-U")
            .arg(format!(
                "{}%{DEFAULT_PASSWORD}",
                self.principal(DEFAULT_USER)
            ))
            .arg(format!("//{HOST_NAME}/{share}"))
            .arg("-c")
            .arg(commands)
            .output()
            .unwrap_or_else(|e| panic!("running smbclient: {e}"))
    }

    /// What `samba` (and the smbd and winbindd it runs) logged so far, for failure
    /// messages.
    pub fn log(&self) -> String {
        let mut log = read_lossy(&self.dir.join(SAMBA_LOG));
        let mut files: Vec<PathBuf> = fs::read_dir(self.dir.join("log"))
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for file in files {
            let text = read_lossy(&file);
            if !text.is_empty() {
                log.push_str(&format!("\n--- {} ---\n{text}", file.display()));
            }
        }
        log
    }

    /// The process ids of this DC: `samba` and its descendants (KDC workers, smbd,
    /// winbindd and their children), and any process naming its `smb.conf` as
    /// `--configfile=` (smbd and winbindd, should samba have died before them).
    pub fn processes(&self) -> Vec<u32> {
        let needle = format!("--configfile={}", self.conf.display());
        let mut pids = crate::live_processes_with_arg(&needle);
        if let Some(samba) = &self.samba {
            let root = samba.id();
            pids.extend(live_pids().filter(|&pid| descends_from(pid, root)));
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    fn spawn_samba(&self) -> Child {
        let program = find_program("samba").unwrap_or_else(|| require_dc_failed());
        let library = nss_wrapper_library().unwrap_or_else(|| require_dc_failed());
        let log_path = self.dir.join(SAMBA_LOG);
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap_or_else(|e| panic!("opening {}: {e}", log_path.display()));
        let log_err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("duplicating the log handle: {e}"));
        Command::new(program)
            // `--configfile=` (not `-s`): samba passes it on to smbd and winbindd in this
            // form, which is how `stop_helpers` and the reaper find them.
            .arg(format!("--configfile={}", self.conf.display()))
            // Stay our child so that drop can wait for it; keep the group
            // `process_group(0)` made, which drop signals as a whole.
            .args(["--foreground", "--no-process-group", "--debug-stdout"])
            // libwbclient (in smbd) uses SELFTEST_WINBINDD_SOCKET_DIR only when nss_wrapper
            // is loaded and configured (nsswitch/wb_common.c); otherwise it asks the system
            // winbindd under /run/samba and every login fails with INTERNAL_ERROR.
            .env("LD_PRELOAD", library)
            .env("NSS_WRAPPER_PASSWD", self.dir.join("passwd"))
            .env("NSS_WRAPPER_GROUP", self.dir.join("group"))
            .env("SELFTEST_WINBINDD_SOCKET_DIR", self.dir.join("winbindd"))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("spawning samba: {e}"))
    }

    /// Waits until smbd and the KDC listen on our ports and winbindd's socket exists, or
    /// tells why that will not happen.
    fn wait_until_ready(&mut self, kpasswd_port: u16, log_start: usize) -> Result<(), DcStartup> {
        let deadline = Instant::now() + START_DEADLINE;
        let samba = self.samba.as_ref().map_or(0, Child::id);
        let ports = [self.smb_port, self.kdc_port];
        let pipe = self.dir.join("winbindd/pipe");
        loop {
            let exited = match self.samba.as_mut().map(Child::try_wait) {
                None => return Err(DcStartup::Failed("samba was not started".into())),
                Some(Ok(status)) => status,
                Some(Err(e)) => return Err(DcStartup::Failed(format!("waiting for samba: {e}"))),
            };
            // A connect alone could reach whoever took the port before samba bound it.
            let mut listening = 0;
            for port in ports.iter().copied().chain([kpasswd_port]) {
                let Some(inode) = loopback_listener_inode(self.address, port) else {
                    continue;
                };
                let owners = socket_owners(inode);
                if owners.iter().any(|&pid| descends_from(pid, samba)) {
                    if port != kpasswd_port {
                        listening += 1;
                    }
                } else if !owners.is_empty() {
                    return Err(DcStartup::PortTaken);
                }
                // No owner: the socket's process exited or is being forked; look again.
            }
            let log = read_lossy(&self.dir.join(SAMBA_LOG));
            if log
                .get(log_start..)
                .unwrap_or_default()
                .contains(BIND_FAILURE)
            {
                return Err(DcStartup::PortTaken);
            }
            if let Some(status) = exited {
                return Err(DcStartup::Failed(format!("samba exited: {status}")));
            }
            if listening == ports.len() && pipe.exists() {
                for port in ports {
                    let address = SocketAddr::from((self.address, port));
                    TcpStream::connect_timeout(&address, Duration::from_secs(1))
                        .map_err(|e| DcStartup::Failed(format!("connecting to {address}: {e}")))?;
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DcStartup::Failed(format!(
                    "not ready after {START_DEADLINE:?} (smb port {} and kdc port {} \
                     listening: {listening} of 2; winbindd pipe: {})",
                    self.smb_port,
                    self.kdc_port,
                    pipe.exists()
                )));
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Stops samba's process group and every process naming our `smb.conf`.
    fn stop_processes(&mut self) {
        if let Some(child) = self.samba.take() {
            stop_process_group(child);
        }
        // smbd and winbindd make their own sessions, so the signal to samba's group misses
        // them if samba did not stop them itself.
        stop_helpers(&self.conf);
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        // Ended first: it must not signal a process group id that is free again.
        if let Some(reaper) = self.reaper.take() {
            end_reaper(reaper);
        }
        self.stop_processes();
        // A process that has just died may still be closing files in the directory.
        for _ in 0..10 {
            match fs::remove_dir_all(&self.dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    sleep(Duration::from_millis(100))
                }
                _ => break,
            }
        }
    }
}

/// Every process id in `/proc`, zombies excepted.
fn live_pids() -> impl Iterator<Item = u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| !is_zombie(pid))
}

/// The processes with the socket `inode` among their file descriptors.
fn socket_owners(inode: u64) -> Vec<u32> {
    live_pids()
        .filter(|&pid| process_has_socket(pid, inode))
        .collect()
}

/// Whether `pid` is `ancestor` or one of its descendants, by the parent ids in `/proc`.
fn descends_from(pid: u32, ancestor: u32) -> bool {
    let mut current = pid;
    // Bounded: a parent chain this deep is not samba's.
    for _ in 0..64 {
        if current == ancestor {
            return true;
        }
        // Fields after the parenthesised command name: state, ppid, …
        let stat = read_lossy(Path::new(&format!("/proc/{current}/stat")));
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        match parent {
            Some(parent) if parent > 1 => current = parent,
            _ => return false,
        }
    }
    false
}
