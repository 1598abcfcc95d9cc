//! The `smb` command line, declared once: the parser, `smb --help`, `smb help COMMAND`,
//! `smb COMMAND --help`, the shell completions and the man page all come from these
//! types, so none of them can drift from what the parser accepts.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use smb_blocking::{Dialect, SigningPolicy};

/// The exit statuses, in every `--help` and the man page.
const EXIT_STATUS: &str = "\
Exit status:
  0    success
  1    any other failure (the name exists, the directory is not empty, no space left, …)
  2    usage error (unknown option, bad URL, missing argument)
  3    not found (file, directory, share, or the server's name)
  4    permission denied
  5    authentication failed (wrong user or password, a guest session refused)
  6    network failure or timeout (refused, reset, no answer in time)
  7    protocol error (negotiation failed, a bad signature, a malformed answer)
  8    a tree transfer failed part-way (stderr lists what failed and what made it)
  130  interrupted (Ctrl-C); a download in progress leaves nothing behind";

const AFTER_LONG_HELP: &str = "\
URLs: smb://[[domain;]user[:password]@]server[:port]/share/path, each part
percent-decoded. A '?' wildcard is written %3F (a raw '?' would start URL options,
which are refused); an escaped separator (%2F, %5C) and '..' are refused; a trailing
'/' names a directory.

Credentials, each of user, password and domain taken from the first source that has
it: -U/-W/--nt-hash, then the -A file, then the URL, then the environment
(SMB_USER, SMB_PASSWORD, SMB_DOMAIN); a password still missing is asked for on the
terminal (echo off) unless -N is given or stdin is not a terminal. No user means an
anonymous session. A password given with -U or in the URL shows in the process
list: prefer -A, SMB_PASSWORD or the prompt. smb never prints a password.

Progress: transfers draw a bar on stderr when stderr is a terminal; --progress and
--quiet force it on or off. Failures are one line on stderr (with --json, one JSON
object). When the reader of stdout goes away (smb cat URL | head), smb stops quietly
with status 0.

JSON (--json), one document on stdout; stable field names:
  ls, stat   entry: {name, path, type: \"file\"|\"directory\", size, allocation_size,
             attributes, attribute_names: [\"read_only\"|\"hidden\"|\"system\"|
             \"directory\"|\"archive\"|…], created, modified, accessed, changed}
             (times RFC 3339 UTC or null); ls prints an array of entries
  shares     [{name, type: \"disk\"|\"printer\"|\"device\"|\"ipc\"|\"other\", comment,
             special, temporary}]
  snapshots  [{token: \"@GMT-YYYY.MM.DD-HH.MM.SS\", time}]
  acl        {path, owner, group, control, dacl, sacl}; an ACL is null or a list of
             {type, type_code, flags, flag_names, access_mask, sid}
  streams    [{name, size, allocation_size}] (name \"\" for the file's own contents,
             ::$DATA)
  ea         [{name, value, value_hex, flags}] (value the UTF-8 text or null, value_hex
             every byte; flags 128 for FILE_NEED_EA); setting prints nothing
  df         {share, path, total_bytes, used_bytes, available_bytes, free_bytes,
             block_size, file_system, file_system_attributes, max_name_length, label,
             serial_number, volume_created} (bytes as integers; volume_created RFC 3339
             or null)
  watch      one object per line and change: {change: \"added\"|\"removed\"|
             \"modified\"|\"renamed\"|\"list_again\"|\"other\", name, old_name,
             action} (name and old_name null where they do not apply; old_name only
             for renamed; action the FILE_ACTION_* code for other, else null)
  bench      {size, put: {seconds, mib_per_s, cpu_seconds, cpu_seconds_per_gib},
             get: {same fields}, stat: {count, p50_ms, p90_ms}} (the cpu fields null
             where /proc/self/stat cannot be read)
  errors     on stderr: {command, op, path, status, status_code, errno, errno_code,
             kind, exit_code, message, transfer}; transfer is null or {total,
             transferred: [path], failed: [{path, message}], not_attempted}
";

/// `smb`: a command-line SMB2/3 client.
#[derive(Debug, Parser)]
#[command(
    name = "smb",
    version,
    about = "A command-line SMB2/3 client: list, copy, move and remove files on SMB shares",
    long_about = "A command-line SMB2/3 client: list, copy, move and remove files on SMB \
                  shares (Samba, Windows, NAS boxes), and dissect captured SMB traffic.\n\n\
                  Quiet like cp(1): nothing but the output asked for on success.",
    help_template = "usage: {usage}\n\n{about-with-newline}\n{all-args}{after-help}",
    after_help = EXIT_STATUS,
    after_long_help = format!("{AFTER_LONG_HELP}\n{EXIT_STATUS}"),
    max_term_width = 100
)]
pub struct Cli {
    /// Output choices, accepted before or after the command.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Connection options given before the command; the command's own win.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output choices, global to every command.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// JSON output (ls, stat, shares, snapshots, acl, streams, ea, df, bench, watch) and JSON errors on stderr
    #[arg(long, global = true)]
    pub json: bool,
    /// After a transfer, a one-line summary on stderr (files, bytes, time, rate); -vv
    /// adds what the connection does (negotiation, session, trees), -vvv every request
    /// and response (command, message id, credits, status). RUST_LOG (`debug`,
    /// `smb_proto=debug`, …) chooses the events instead. Never a secret.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Draw the progress bar even when stderr is not a terminal
    #[arg(long, global = true, conflicts_with = "quiet")]
    pub progress: bool,
    /// Never draw a progress bar
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// A signing policy, as `--signing` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Signing {
    /// Never sign (unsigned data can be altered in flight)
    #[value(alias = "off")]
    Never,
    /// Sign only when the server requires it
    IfRequired,
    /// Sign when the session can (the default)
    #[value(alias = "auto")]
    Supported,
    /// Always sign; refuse guest sessions, which cannot
    Required,
}

impl From<Signing> for SigningPolicy {
    fn from(s: Signing) -> Self {
        match s {
            Signing::Never => SigningPolicy::Never,
            Signing::IfRequired => SigningPolicy::WhenRequired,
            Signing::Supported => SigningPolicy::WhenSupported,
            Signing::Required => SigningPolicy::Required,
        }
    }
}

/// How to reach the server and log in. Accepted before the command and after it (the
/// command's own win); `smb dissect` takes none of them.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnArgs {
    /// User, as USER, DOMAIN\USER or DOMAIN/USER, with %PASSWORD appended if you must
    /// (it then shows in the process list)
    #[arg(short = 'U', long = "user", value_name = "[DOMAIN\\]USER[%PASSWORD]")]
    pub user: Option<String>,
    /// File of 'username = …', 'password = …' and 'domain = …' lines (smbclient's -A)
    #[arg(short = 'A', long = "authentication-file", value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
    /// Domain (workgroup) of the user
    #[arg(short = 'W', long = "domain", value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Never ask for a password: a missing one is empty
    #[arg(short = 'N', long = "no-pass")]
    pub no_pass: bool,
    /// Log in with the NT hash (32 hex digits, MD4 of the UTF-16 password) instead of a
    /// password
    #[arg(long = "nt-hash", value_name = "HEX")]
    pub nt_hash: Option<String>,
    /// Answer with NTLMv1 (weak; for servers that accept nothing newer)
    #[arg(long)]
    pub ntlmv1: bool,
    /// Signing policy (unsigned, unencrypted data can be altered in flight)
    #[arg(long, value_enum, value_name = "POLICY")]
    pub signing: Option<Signing>,
    /// Highest dialect offered: 2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1 (NT1 with --smb1: SMB1 only)
    #[arg(long = "max-dialect", value_name = "DIALECT", value_parser = parse_dialect)]
    pub max_dialect: Option<Dialect>,
    /// Lowest dialect accepted (NT1 turns SMB1 on, as --smb1 does)
    #[arg(long = "min-dialect", value_name = "DIALECT", value_parser = parse_dialect)]
    pub min_dialect: Option<Dialect>,
    /// Turn SMB1 (NT LM 0.12) on, for old servers that speak nothing newer. UNSAFE:
    /// MD5 signing, no encryption. A server that speaks SMB2 still upgrades to it
    #[arg(long)]
    pub smb1: bool,
    /// Require an encrypted session (SMB 3.x)
    #[arg(long)]
    pub encrypt: bool,
    /// NetBIOS session service framing (port 139 unless --port or the URL says)
    #[arg(long)]
    pub netbios: bool,
    /// Accept a guest session where the server mapped the user to guest, or where
    /// signing is required (a guest session cannot sign)
    #[arg(long = "allow-insecure-guest")]
    pub allow_insecure_guest: bool,
    /// This client's NetBIOS (workstation) name
    #[arg(long = "client-name", value_name = "NAME")]
    pub client_name: Option<String>,
    /// The server's NetBIOS name (default: the URL's host; *SMBSERVER with --netbios)
    #[arg(long = "server-name", value_name = "NAME")]
    pub server_name: Option<String>,
    /// TCP port, over the URL's (default 445, or 139 with --netbios)
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// Reach DFS link targets on the port the link's server was reached on, not 445
    /// (referrals name no port)
    #[arg(long = "dfs-keep-port")]
    pub dfs_keep_port: bool,
    /// Per-request timeout in seconds, also the TCP connect timeout (default 60)
    // Negative numbers are taken as values, so `--timeout -1` says why it is no timeout.
    #[arg(long, value_name = "SECONDS", value_parser = crate::parse_timeout, allow_negative_numbers = true)]
    pub timeout: Option<Duration>,
    /// Connections that get -r, put -r and ls -r may spread their files and directories
    /// over (default 2): a server such as Samba serves each connection in one process on
    /// one core, and a tree of small files is limited by that process, not the network
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub connections: Option<u16>,
    /// SMB 3.x multichannel: bind up to N more connections to the session, one on each
    /// other address the server lists, and stripe large gets and puts over them
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=16))]
    pub multichannel: Option<u16>,
    /// Log in with Kerberos, asking the KDC at HOST[:PORT] (port 88 by default): the user
    /// as user@REALM (or the realm as --domain), the server named by its host name (the
    /// URL's, or --server-name); NTLM with the same password when Kerberos cannot be used
    /// here, unless --use-kerberos=required
    #[arg(long, value_name = "HOST[:PORT]")]
    pub kdc: Option<String>,
    /// With --kdc: whether Kerberos must succeed (required), may fall back to NTLM when
    /// the KDC is unreachable, the host has no service ticket or the server does not
    /// offer it (desired, the default), or is not used (off), as smbclient's option
    #[arg(long, value_enum, value_name = "WHEN", requires = "kdc")]
    pub use_kerberos: Option<UseKerberos>,
    /// With --kdc: prove the user with the keys in this keytab file instead of a password
    #[arg(long, value_name = "FILE", requires = "kdc")]
    pub keytab: Option<PathBuf>,
    /// With --kdc: prove the user with the tickets in this credential cache file (what
    /// kinit wrote; smbclient's --use-krb5-ccache). Without a password or keytab, --kdc
    /// uses the cache KRB5CCNAME names (FILE:/path or a path)
    #[arg(
        long,
        visible_alias = "use-krb5-ccache",
        value_name = "FILE",
        requires = "kdc"
    )]
    pub ccache: Option<PathBuf>,
}

/// `--use-kerberos`: smbclient's `required|desired|off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UseKerberos {
    /// Kerberos only.
    Required,
    /// Kerberos, else NTLM.
    Desired,
    /// NTLM only.
    Off,
}

/// Connections a tree transfer or listing spreads over unless `--connections` says: two
/// halve a recursive listing of 10,000 entries (100 directories) on a two-core Samba
/// against one, and four gain nothing more there; more cores on the server would take
/// more.
pub const DEFAULT_CONNECTIONS: u16 = 2;

impl ConnArgs {
    /// These options (given after the command) over `before` (given before it).
    pub fn over(self, before: &ConnArgs) -> ConnArgs {
        let b = before.clone();
        ConnArgs {
            user: self.user.or(b.user),
            auth_file: self.auth_file.or(b.auth_file),
            domain: self.domain.or(b.domain),
            no_pass: self.no_pass || b.no_pass,
            nt_hash: self.nt_hash.or(b.nt_hash),
            ntlmv1: self.ntlmv1 || b.ntlmv1,
            signing: self.signing.or(b.signing),
            max_dialect: self.max_dialect.or(b.max_dialect),
            min_dialect: self.min_dialect.or(b.min_dialect),
            smb1: self.smb1 || b.smb1,
            encrypt: self.encrypt || b.encrypt,
            netbios: self.netbios || b.netbios,
            allow_insecure_guest: self.allow_insecure_guest || b.allow_insecure_guest,
            client_name: self.client_name.or(b.client_name),
            server_name: self.server_name.or(b.server_name),
            port: self.port.or(b.port),
            dfs_keep_port: self.dfs_keep_port || b.dfs_keep_port,
            timeout: self.timeout.or(b.timeout),
            connections: self.connections.or(b.connections),
            multichannel: self.multichannel.or(b.multichannel),
            kdc: self.kdc.or(b.kdc),
            use_kerberos: self.use_kerberos.or(b.use_kerberos),
            keytab: self.keytab.or(b.keytab),
            ccache: self.ccache.or(b.ccache),
        }
    }

    /// Checks what the parser cannot: dialect bounds the right way round, an NT hash of
    /// 32 hex digits. Returns the hash.
    ///
    /// # Errors
    ///
    /// A one-line usage message; it never quotes the hash.
    pub fn check(&self) -> Result<Option<[u8; 16]>, String> {
        let lowest = if self.smb1 {
            Dialect::Nt1
        } else {
            Dialect::Smb202
        };
        let (min, max) = (
            self.min_dialect.unwrap_or(lowest),
            self.max_dialect.unwrap_or(Dialect::Smb311),
        );
        if min > max {
            return Err("--min-dialect is above --max-dialect".into());
        }
        self.nt_hash.as_deref().map(parse_nt_hash).transpose()
    }
}

/// 32 hex digits → the 16 bytes of an NT hash; the message never quotes the value.
///
/// # Errors
///
/// "--nt-hash takes 32 hex digits".
pub fn parse_nt_hash(v: &str) -> Result<[u8; 16], String> {
    let bad = || "--nt-hash takes 32 hex digits".to_string();
    if v.len() != 32 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut hash = [0u8; 16];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&v[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(hash)
}

fn parse_dialect(v: &str) -> Result<Dialect, String> {
    Dialect::parse(v)
        .ok_or_else(|| format!("unknown dialect '{v}' (NT1, 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1)"))
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the shares of a server (also: smb ls smb://server/)
    Shares {
        /// smb://[user@]server[:port]
        url: String,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// List a directory, a file, or the files a wildcard matches
    #[command(
        long_about = "List a directory, a file, or the files a wildcard in the last \
        component matches (one that matches nothing fails with ENOENT, as rm does). A URL \
        naming only a server lists its shares.\n\n\
        With --smb1, smb:// lists the workgroups on the network and smb://WORKGROUP that \
        workgroup's servers, as libsmbclient does: their master browsers are found by \
        NetBIOS name queries (__MSBROWSE__<01>, then WORKGROUP<1d> of --domain or \
        WORKGROUP), broadcast to 255.255.255.255 or --broadcast ADDR, or sent to \
        --name-server IP, and asked over SMB1 (on --port, 445 by default). A name no master \
        browser answers for is a server: its shares are listed. Each line: name, type \
        (workgroup, server), comment (a workgroup's master browser, a server's \
        description). No master browser answering fails with ENOENT.\n\n\
        Each line: type (d or -), size in bytes, modification time (UTC), name. With -l: \
        attributes (d directory, r read-only, h hidden, s system, a archive), size in \
        binary units, time, name. Hidden files (the hidden attribute; Samba sets it on dot \
        files) are left out unless -a is given. With -r, names are paths below the \
        directory listed."
    )]
    Ls {
        /// smb://server/share/path (a wildcard in the last component filters)
        url: String,
        /// Long format: attributes, human-readable sizes, times
        #[arg(short = 'l')]
        long: bool,
        /// Everything below the directory, at any depth
        #[arg(short, long)]
        recursive: bool,
        /// Show hidden files too
        #[arg(short = 'a', long = "all")]
        all: bool,
        /// Browsing (smb://, smb://WORKGROUP with --smb1): broadcast the name queries
        /// that find master browsers to this address (default 255.255.255.255)
        #[arg(long, value_name = "ADDR", conflicts_with = "name_server")]
        broadcast: Option<std::net::Ipv4Addr>,
        /// Browsing: send those name queries to this name server (or master browser) only
        #[arg(long = "name-server", value_name = "IP")]
        name_server: Option<std::net::Ipv4Addr>,
        /// Browsing: UDP port of the name service
        #[arg(long = "nbns-port", value_name = "PORT", default_value_t = 137)]
        nbns_port: u16,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Show a file's or directory's attributes, sizes and times
    Stat {
        /// smb://server/share/path
        url: String,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Download a file, or with -r a directory tree
    #[command(
        long_about = "Download a file, or with -r a directory tree, following cp -r: \
        a LOCAL that does not exist becomes the copy; an existing directory receives the \
        source inside it, under its name; a source URL ending in '/.' copies what the \
        directory holds into LOCAL itself. LOCAL '-' is stdout (files only); without LOCAL \
        the copy lands in the current directory.\n\n\
        Each file is written to LOCAL.part and renamed when complete: a failed or \
        interrupted download leaves nothing under the name it would have had. A device or \
        pipe (/dev/null) is written in place."
    )]
    Get {
        /// smb://server/share/path
        url: String,
        /// Where to (default: the current directory)
        local: Option<String>,
        /// A whole directory tree
        #[arg(short, long)]
        recursive: bool,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Upload a file, or with -r a directory tree
    #[command(
        long_about = "Upload a file, or with -r a directory tree, following cp -r: a \
        destination that does not exist becomes the copy (its missing parents are created \
        for -r); an existing directory receives the source inside it, under its name; a \
        LOCAL ending in '/.' uploads what the directory holds into URL itself. LOCAL '-' is \
        stdin (files only, URL naming the file). -r follows symbolic links like cp -rL.\n\n\
        A failed upload can leave an incomplete file on the server (the error says so); \
        --atomic uploads to a temporary name beside the target and renames it over the \
        target only when complete."
    )]
    Put {
        /// A local file, '-' for stdin, or with -r a directory
        local: String,
        /// smb://server/share/path ('/' at the end: into that directory)
        url: String,
        /// A whole directory tree
        #[arg(short, long)]
        recursive: bool,
        /// Upload to a temporary name, then rename it over the target
        #[arg(long, conflicts_with = "recursive")]
        atomic: bool,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Print a file to stdout
    Cat {
        /// smb://server/share/path
        url: String,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Delete files (wildcards in the last component)
    Rm {
        /// smb://server/share/path, e.g. 'smb://h/s/logs/*.log'
        url: String,
        /// Also remove matching directories, with everything in them
        #[arg(short, long)]
        recursive: bool,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Create a directory
    Mkdir {
        /// smb://server/share/path
        url: String,
        /// Create missing parents; no error if the directory exists
        #[arg(short, long)]
        parents: bool,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Remove an empty directory
    Rmdir {
        /// smb://server/share/path
        url: String,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Rename or move within a share
    #[command(
        long_about = "Rename or move within a share. NEW_PATH is share-relative \
        (either separator) or a URL on the same share; one ending in '/' receives the \
        source inside it, like mv(1). An existing destination is an error unless -f."
    )]
    Mv {
        /// smb://server/share/path
        url: String,
        /// Share-relative path or URL
        new_path: String,
        /// Replace an existing destination
        #[arg(short, long)]
        force: bool,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Copy a file within a share (server-side where the server can)
    #[command(
        long_about = "Copy a file within a share. NEW_PATH is share-relative or a URL \
        on the same share; a directory (or a path ending in '/') receives the copy under the \
        source's name. An existing destination is an error unless -f.\n\n\
        The server copies the data itself (a server-side copy: FSCTL_SRV_COPYCHUNK_WRITE), \
        so it never crosses the network; a server that refuses server-side copies gets the \
        data read and written back through this connection instead. -v says which way it \
        went. The copy is written under a temporary name and renamed into place when \
        complete."
    )]
    Cp {
        /// smb://server/share/path
        url: String,
        /// Share-relative path or URL
        new_path: String,
        /// Replace an existing destination
        #[arg(short, long)]
        force: bool,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// List the snapshots (previous versions) the server keeps of a path
    Snapshots {
        /// smb://server/share/path
        url: String,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Show the security descriptor of a path: owner, group and each ACE
    Acl {
        /// smb://server/share/path
        url: String,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// List the data streams of a file or directory: size and name of each
    #[command(
        long_about = "List the alternate data streams of a file or directory: one line per \
        stream, its size in bytes and its name; the file's own contents are `::$DATA`. Read \
        or write a stream with its name after the file's: `smb cat URL:NAME`, `smb put \
        LOCAL URL:NAME`. The share must keep streams (Windows, NTFS; Samba with `vfs \
        objects = streams_xattr`)."
    )]
    Streams {
        /// smb://server/share/path
        url: String,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// List a path's extended attributes, or set them: NAME=VALUE sets, NAME= removes
    #[command(
        long_about = "List the extended attributes (EAs) of a file or directory, one \
        `NAME=\"VALUE\"` line each (bytes that are not printable as \\xNN), or with \
        NAME=VALUE arguments set them, all in one request: NAME= (an empty value) removes \
        NAME. Names are ASCII, at most 255 bytes, compared without case; Windows returns \
        them upper-cased, Samba as first stored (in the `user.` extended attribute of the \
        file, with `ea support = yes`)."
    )]
    Ea {
        /// smb://server/share/path
        url: String,
        /// NAME=VALUE to set, NAME= to remove (nothing: list)
        #[arg(value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Print each change in a directory as it happens, until interrupted
    #[command(
        long_about = "Print each change in a directory as it happens (SMB2 CHANGE_NOTIFY), \
        one line per change: `added NAME`, `removed NAME`, `modified NAME`, `renamed OLD -> \
        NEW`, or `list-again` when more changed than the server could tell (list the \
        directory to learn its state). Names are relative to the watched directory, \
        `/`-separated. Runs until interrupted (Ctrl-C, exit status 130), until --count \
        changes were printed, or until the server ends the watch. A line `watching URL` on \
        stderr says when the server holds the watch (Samba puts it in place a moment \
        later: a change within milliseconds of that line may go unreported). \
        Without -r only the directory's own entries count; by default names, sizes, \
        times and attributes (--names: names only)."
    )]
    Watch {
        /// smb://server/share/dir (the share root when no directory is named)
        url: String,
        /// Changes anywhere below the directory too
        #[arg(short, long)]
        recursive: bool,
        /// Report names only (added, removed, renamed), not writes or attribute changes
        #[arg(long)]
        names: bool,
        /// Stop after this many changes
        #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Show the size and free space of the file system behind a share, like df -h
    #[command(
        long_about = "Show the size and free space of the file system behind a share, like \
        df -h: one line with the share, its size, the space used and the space still \
        available to this user (binary units), use%, the file system's name (NTFS, or what \
        the server calls it) and the volume label. A path below the share asks about the \
        file system holding that path. Sizes are what the server reports (Samba: statvfs of \
        the share's directory, in its allocation units; quotas and 'max disk size' apply)."
    )]
    Df {
        /// smb://server/share[/path]
        url: String,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Measure this client against a server: put, get and stat latency on a temporary file
    #[command(
        long_about = "Measure this client against one server: write a temporary file of \
        --size bytes (pseudo-random data from a fixed seed) into the directory URL names, \
        read it back and check every byte, stat it --stats times, and delete it, also when a \
        step fails. Prints put and get throughput (MiB/s), this process's CPU time per GiB \
        moved (user + system from /proc/self/stat, in 10 ms ticks: use a --size of a few \
        hundred MiB for a steady figure), and the stat round trip's median and 90th \
        percentile. Nothing else is compared: the numbers are this client's against this \
        server, over this network."
    )]
    Bench {
        /// smb://server/share[/directory]: where the temporary file goes
        url: String,
        /// Bytes to write and read: a number with an optional K, M or G (binary units)
        #[arg(long, default_value = "64M", value_name = "BYTES", value_parser = crate::parse_size)]
        size: u64,
        /// How many stats to time
        #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
        stats: u32,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Send ECHO requests and print each round trip's time
    Echo {
        /// smb://server
        url: String,
        /// How many
        #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        count: u32,
        /// Connection options after the command.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// NetBIOS name queries, like Samba's nmblookup (UDP port 137)
    #[command(
        long_about = "NetBIOS name queries, like Samba's nmblookup: `smb nmblookup -U IP NAME` \
        asks the name service at IP for NAME's addresses and prints `IP NAME<20>` for each \
        (NAME#1d asks for another suffix); `smb nmblookup -B ADDR NAME` broadcasts the \
        query to ADDR (255.255.255.255, a subnet's broadcast address) and prints every \
        node's answer that came within the wait; `smb nmblookup -A IP` asks IP which \
        names it holds and prints each with its suffix and <GROUP> for group names. \
        Queries are sent three times within the wait. A name the server does not hold \
        gets no answer from nmbd (the query times out); --no-recursion asks for a negative \
        answer instead (not found)."
    )]
    Nmblookup {
        /// The name to resolve (NAME, or NAME#xx for suffix xx)
        #[arg(required_unless_present = "status")]
        name: Option<String>,
        /// The name server to ask (an IPv4 address)
        #[arg(short = 'U', long, required_unless_present_any = ["status", "broadcast"])]
        server: Option<std::net::Ipv4Addr>,
        /// Broadcast the query to this address and collect every answer instead
        #[arg(short = 'B', long, conflicts_with_all = ["server", "status"])]
        broadcast: Option<std::net::Ipv4Addr>,
        /// Ask this address which names it holds (node status) instead
        #[arg(short = 'A', long, conflicts_with_all = ["name", "server"])]
        status: Option<std::net::Ipv4Addr>,
        /// UDP port of the name service
        #[arg(long = "nbns-port", default_value_t = 137)]
        nbns_port: u16,
        /// Seconds to wait for an answer
        #[arg(long = "wait", default_value_t = 3)]
        wait: u64,
        /// Clear the recursion-desired flag (nmblookup -U's default): a missing name is
        /// answered negatively instead of not at all
        #[arg(long)]
        no_recursion: bool,
    },
    /// Print a shell completion script (e.g. smb completions bash > /etc/bash_completion.d/smb)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page, in roff (smb man | man -l -)
    Man {
        /// A command's own page instead of smb's
        command: Option<String>,
    },
    /// Verify and decrypt captured SMB traffic (pcap, pcapng)
    #[command(
        long_about = "Reassembles the SMB traffic in each capture, decodes every SMB2 \
        and SMB1 message, recovers the session keys from the NTLMSSP exchanges with the password, and \
        prints one line per message: frame, TCP stream, direction, command, status, message \
        id, session id, tree id, the file (or share, user, dialect) and signed-ok / \
        decrypted-ok / unsigned (SMB1: MID, PID, TID, UID and MD5 signatures). Exits 1 if any message fails to decode, any signature fails \
        to verify, any encrypted message fails to decrypt, or a capture holds no SMB \
        traffic."
    )]
    Dissect(DissectArgs),
}

impl Command {
    /// The command's name, as errors name it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Shares { .. } => "shares",
            Command::Ls { .. } => "ls",
            Command::Stat { .. } => "stat",
            Command::Get { .. } => "get",
            Command::Put { .. } => "put",
            Command::Cat { .. } => "cat",
            Command::Rm { .. } => "rm",
            Command::Mkdir { .. } => "mkdir",
            Command::Rmdir { .. } => "rmdir",
            Command::Mv { .. } => "mv",
            Command::Cp { .. } => "cp",
            Command::Snapshots { .. } => "snapshots",
            Command::Acl { .. } => "acl",
            Command::Streams { .. } => "streams",
            Command::Ea { .. } => "ea",
            Command::Df { .. } => "df",
            Command::Watch { .. } => "watch",
            Command::Bench { .. } => "bench",
            Command::Echo { .. } => "echo",
            Command::Nmblookup { .. } => "nmblookup",
            Command::Completions { .. } => "completions",
            Command::Man { .. } => "man",
            Command::Dissect(_) => "dissect",
        }
    }

    /// The connection options given after the command, if it connects.
    pub fn conn(&self) -> Option<&ConnArgs> {
        match self {
            Command::Shares { conn, .. }
            | Command::Ls { conn, .. }
            | Command::Stat { conn, .. }
            | Command::Get { conn, .. }
            | Command::Put { conn, .. }
            | Command::Cat { conn, .. }
            | Command::Rm { conn, .. }
            | Command::Mkdir { conn, .. }
            | Command::Rmdir { conn, .. }
            | Command::Mv { conn, .. }
            | Command::Cp { conn, .. }
            | Command::Snapshots { conn, .. }
            | Command::Acl { conn, .. }
            | Command::Streams { conn, .. }
            | Command::Ea { conn, .. }
            | Command::Df { conn, .. }
            | Command::Bench { conn, .. }
            | Command::Echo { conn, .. }
            | Command::Watch { conn, .. } => Some(conn),
            Command::Nmblookup { .. }
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::Dissect(_) => None,
        }
    }
}

/// `smb dissect`'s own options.
#[derive(Debug, Clone, Args)]
pub struct DissectArgs {
    /// Only recover keys of this user's sessions ([DOMAIN\]USER)
    #[arg(short = 'U', long)]
    pub user: Option<String>,
    /// The password (default: $SMB_PASSWORD)
    #[arg(long)]
    pub password: Option<String>,
    /// The NT hash (32 hex digits) instead of a password
    #[arg(long = "nt-hash", value_name = "HEX")]
    pub nt_hash: Option<String>,
    /// Informational: the domain comes from each AUTHENTICATE message
    #[arg(short = 'W', long)]
    pub domain: Option<String>,
    /// Another server port carrying SMB (445 and 139 always are); repeatable
    #[arg(short = 'p', long = "port", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub ports: Vec<u16>,
    /// The server's keytab (its service keys, e.g. an AD DC's from `samba-tool domain
    /// exportkeytab --principal='DC$'`): recovers Kerberos sessions' keys from their
    /// AP-REQ and AP-REP
    #[arg(long, value_name = "FILE")]
    pub keytab: Option<std::path::PathBuf>,
    /// Capture files
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
}

impl Cli {
    /// The connection options of the command, those after it over those before it, and
    /// the NT hash they carry.
    ///
    /// # Errors
    ///
    /// As [`ConnArgs::check`].
    pub fn connection(&self) -> Result<(ConnArgs, Option<[u8; 16]>), String> {
        let merged = match self.command.conn() {
            Some(after) => after.clone().over(&self.conn),
            None => self.conn.clone(),
        };
        let hash = merged.check()?;
        Ok((merged, hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("smb").chain(args.iter().copied()))
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn connection_options_before_or_after_the_command_and_after_wins() {
        let cli = parse(&[
            "--max-dialect",
            "2.1",
            "--timeout",
            "5",
            "ls",
            "smb://h/s",
            "--timeout",
            "7",
        ])
        .unwrap();
        let (c, _) = cli.connection().unwrap();
        assert_eq!(c.max_dialect, Some(Dialect::Smb210));
        assert_eq!(c.timeout, Some(Duration::from_secs(7)));
        assert!(parse(&["--bogus", "ls", "smb://h/s"]).is_err());
        assert!(parse(&["--signing", "maybe", "ls", "smb://h/s"]).is_err());
        let cli = parse(&["--min-dialect", "3.1.1", "--max-dialect", "3.0", "ls", "x"]).unwrap();
        assert!(cli.connection().is_err());
    }

    #[test]
    fn flags_anywhere_and_names_starting_with_a_dash_after_double_dash() {
        let cli = parse(&["put", "-r", "-v", "dir", "smb://h/s", "--"]).unwrap();
        assert_eq!(cli.output.verbose, 1);
        assert!(matches!(
            cli.command,
            Command::Put {
                recursive: true,
                ..
            }
        ));
        let cli = parse(&["put", "--", "-v", "smb://h/s"]).unwrap();
        match cli.command {
            Command::Put {
                local, recursive, ..
            } => assert_eq!((local.as_str(), recursive), ("-v", false)),
            other => panic!("{other:?}"),
        }
        let cli = parse(&["put", "-", "smb://h/s"]).unwrap();
        assert!(matches!(cli.command, Command::Put { ref local, .. } if local == "-"));
        assert!(parse(&["get", "-x", "smb://h/s"]).is_err());
        assert!(parse(&["rm", "-p", "smb://h/s"]).is_err());
        assert!(parse(&["put", "--atomic", "-r", "a", "smb://h/s"]).is_err());
        assert!(parse(&["--progress", "--quiet", "ls", "smb://h/s"]).is_err());
    }

    #[test]
    fn nt_hashes_are_32_hex_digits_and_never_quoted() {
        assert_eq!(
            parse_nt_hash("00112233445566778899aabbccddeeff").unwrap()[15],
            0xff
        );
        for bad in [
            "",
            "0011zz",
            "00112233445566778899aabbccddeef",
            "ü0112233445566778899aabbccddee",
        ] {
            let e = parse_nt_hash(bad).unwrap_err();
            assert!(bad.is_empty() || !e.contains(bad), "{e}");
        }
    }

    #[test]
    fn dissect_keeps_its_own_options() {
        let cli = parse(&[
            "dissect",
            "-U",
            "WG\\bob",
            "--password",
            "pw",
            "--port",
            "4455",
            "-p",
            "4456",
            "x.pcap",
        ])
        .unwrap();
        match cli.command {
            Command::Dissect(d) => {
                assert_eq!(d.ports, [4455, 4456]);
                assert_eq!(d.files, ["x.pcap"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(parse(&["dissect"]).is_err());
    }
}
