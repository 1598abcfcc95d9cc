//! Running the `smb` command: from the parsed command line to the connection, the
//! operation, the output and the exit status.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{CommandFactory, Parser};
use serde::Serialize;
use smb_blocking::{
    notify_filter, ConnectOptions, Connection, Copied, Errno, ErrorKind, FileInfo, NtStatus,
    PasswordPrompt, TreeProgress, DEFAULT_NOTIFY_FILTER,
};
use smb_proto::url::SmbUrl;

use crate::args::{Cli, Command, ConnArgs, OutputArgs};
use crate::auth::{self, Login};
use crate::printable;
use crate::progress::{Bar, Mode};
use crate::report::{self, Fail, FailedFile, Report};
use crate::show::{
    self, AclJson, ChangeJson, DfJson, EaJson, EntryJson, ShareJson, SnapshotJson, StreamJson,
};

/// Shows the library's tracing events on stderr: info with `-vv`, debug (each request
/// and response) with `-vvv`, or what RUST_LOG says; nothing otherwise (`-v` alone is
/// the transfer summary).
fn logs(verbose: u8) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .and_then(|s| s.parse::<Targets>().ok());
    let filter = match (from_env, verbose) {
        (Some(targets), _) => targets,
        (None, 0 | 1) => return,
        (None, 2) => Targets::new().with_default(LevelFilter::INFO),
        (None, _) => Targets::new().with_default(LevelFilter::DEBUG),
    };
    use tracing_subscriber::layer::SubscriberExt;
    // The fmt subscriber's own maximum (INFO by default) would hide what `filter` lets
    // through.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_ansi(false)
        .with_writer(|| QuietStderr)
        .finish()
        .with(filter);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// stderr that ignores a failed write: a log line must never end smb (stderr may be a
/// closed pipe).
struct QuietStderr;

impl io::Write for QuietStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `smb`'s `main`: parses the command line, runs the command, tells a failure on
/// stderr, and returns the exit status. Neither output may panic (`println!` would):
/// stdout or stderr may be a closed pipe.
pub fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    let lossy: Vec<String> = raw
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cli = match Cli::try_parse_from(&raw) {
        Ok(cli) => cli,
        Err(e) => {
            // `--json` asks for JSON errors even when the rest did not parse.
            let json = lossy
                .iter()
                .skip(1)
                .take_while(|a| *a != "--")
                .any(|a| a == "--json");
            return parse_failure(&e, json, &lossy);
        }
    };
    if let Command::Dissect(d) = &cli.command {
        return crate::dissect::main(d);
    }
    // If no handler can be installed, Ctrl-C kills smb as before: LOCAL itself is still
    // never half-written, only LOCAL.part would stay.
    let _ = ctrlc::set_handler(on_interrupt);
    logs(cli.output.verbose);
    let command = cli.command.name();
    let json = cli.output.json;
    match run(cli) {
        Ok(()) | Err(Fail::OutputClosed) => ExitCode::SUCCESS,
        Err(Fail::Report(r)) => {
            let r = r.in_command(command);
            tell(&r, json);
            ExitCode::from(r.exit_code)
        }
    }
}

/// Help and version go to stdout with status 0; anything else is a usage error in one
/// line (clap's tip kept), with no secret from the command line in it.
fn parse_failure(e: &clap::Error, json: bool, args: &[String]) -> ExitCode {
    use clap::error::ErrorKind as K;
    if matches!(e.kind(), K::DisplayHelp | K::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = auth::redact(&e.to_string(), &auth::secrets_in(args));
    let mut msg = match e.kind() {
        K::DisplayHelpOnMissingArgumentOrSubcommand => "no command given".to_string(),
        _ => text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string(),
    };
    for tip in text.lines().filter_map(|l| l.trim().strip_prefix("tip: ")) {
        msg.push_str(&format!("; {tip}"));
    }
    // "Usage: smb ls [OPTIONS] <URL>" names the command whose help to read.
    let usage = text
        .lines()
        .find_map(|l| l.strip_prefix("Usage: "))
        .map(str::to_string);
    let help = match usage.as_deref().and_then(|u| u.split_whitespace().nth(1)) {
        Some(cmd) if cmd.chars().all(|c| c.is_ascii_lowercase()) => format!("smb {cmd} --help"),
        _ => "smb --help".to_string(),
    };
    match usage {
        Some(u) => msg.push_str(&format!(" (usage: {u}; see '{help}')")),
        None => msg.push_str(&format!(" (see '{help}')")),
    }
    let r = Report::usage(msg);
    tell(&r, json);
    ExitCode::from(report::USAGE)
}

/// A failure on stderr: `smb: ` lines, or one JSON object.
fn tell(r: &Report, json: bool) {
    let mut err = io::stderr().lock();
    if json {
        if let Ok(mut text) = serde_json::to_vec(r) {
            text.push(b'\n');
            let _ = err.write_all(&text);
        }
    } else {
        for line in r.lines() {
            let _ = writeln!(err, "smb: {}", printable(&line));
        }
    }
}

fn usage(msg: impl Into<String>) -> Fail {
    Report::usage(msg).into()
}

fn run(cli: Cli) -> Result<(), Fail> {
    let (conn, nt_hash) = cli.connection().map_err(usage)?;
    let cx = Cx::new(conn, nt_hash, cli.output)?;
    match cli.command {
        Command::Shares { url, .. } => cx.shares(&url),
        Command::Ls {
            url,
            long,
            recursive,
            all,
            broadcast,
            name_server,
            nbns_port,
            ..
        } => {
            use smb_proto::client::browse::BrowseOptions;
            let browse = match (broadcast, name_server) {
                (_, Some(ip)) => BrowseOptions::name_server(ip),
                (Some(address), None) => BrowseOptions::broadcast(address),
                (None, None) => BrowseOptions::default(),
            };
            cx.ls(&url, long, recursive, all, browse.port(nbns_port))
        }
        Command::Stat { url, .. } => cx.stat(&url),
        Command::Get {
            url,
            local,
            recursive,
            ..
        } => cx.get("get", &url, local.as_deref().unwrap_or("."), recursive),
        Command::Put {
            local,
            url,
            recursive,
            atomic,
            ..
        } => cx.put(&local, &url, recursive, atomic),
        Command::Cat { url, .. } => cx.get("cat", &url, "-", false),
        Command::Rm { url, recursive, .. } => {
            let (t, c) = cx.open(&url)?;
            if recursive {
                c.delete_files_and_folders(&t.share, &t.url.path)?;
            } else {
                c.delete_files(&t.share, &t.url.path)?;
            }
            Ok(())
        }
        Command::Mkdir { url, parents, .. } => {
            let (t, c) = cx.open(&url)?;
            if parents {
                c.create_directories(&t.share, &t.url.path)?;
            } else {
                c.create_directory(&t.share, &t.url.path)?;
            }
            Ok(())
        }
        Command::Rmdir { url, .. } => {
            let (t, c) = cx.open(&url)?;
            Ok(c.delete_directory(&t.share, &t.url.path)?)
        }
        Command::Mv {
            url,
            new_path,
            force,
            ..
        } => cx.mv(&url, &new_path, force),
        Command::Cp {
            url,
            new_path,
            force,
            ..
        } => cx.cp(&url, &new_path, force),
        Command::Snapshots { url, .. } => cx.snapshots(&url),
        Command::Acl { url, .. } => cx.acl(&url),
        Command::Streams { url, .. } => cx.streams(&url),
        Command::Ea { url, set, .. } => cx.ea(&url, &set),
        Command::Df { url, .. } => cx.df(&url),
        Command::Watch {
            url,
            recursive,
            names,
            count,
            ..
        } => cx.watch(&url, recursive, names, count),
        Command::Bench {
            url, size, stats, ..
        } => cx.bench(&url, size, stats),
        Command::Echo { url, count, .. } => cx.echo(&url, count),
        Command::Nmblookup {
            name,
            server,
            status,
            broadcast,
            nbns_port,
            wait,
            no_recursion,
        } => {
            let service = smb_blocking::NameService::new()
                .port(nbns_port)
                .recursion_desired(!no_recursion)
                .broadcast(broadcast.is_some());
            nmblookup(
                &smb_blocking::NetBios::new(service),
                name.as_deref(),
                server.or(broadcast).or(status),
                status.is_some(),
                std::time::Duration::from_secs(wait.max(1)),
            )
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "smb", &mut script);
            write_out(&script)
        }
        Command::Man { command } => man(command.as_deref()),
        Command::Dissect(_) => Err(usage("dissect runs on its own")),
    }
}

/// `smb nmblookup`: `IP NAME<xx>` per address of `name` at `ip`, or with `status`
/// every name `ip` holds (`NAME<xx>`, `<GROUP>` for group names).
fn nmblookup(
    nb: &smb_blocking::NetBios,
    name: Option<&str>,
    ip: Option<std::net::Ipv4Addr>,
    status: bool,
    wait: std::time::Duration,
) -> Result<(), Fail> {
    let ip = ip.ok_or_else(|| usage("nmblookup needs -U IP NAME, -B ADDR NAME or -A IP"))?;
    let mut text = String::new();
    if status {
        for n in nb.node_status(ip, wait)?.names {
            let group = if n.is_group() { " <GROUP>" } else { "" };
            text.push_str(&format!("\t{}{group}\n", n.name));
        }
    } else {
        let name = name.ok_or_else(|| usage("nmblookup needs a NAME with -U or -B"))?;
        let shown = match name.split_once('#') {
            Some((n, suffix)) => format!("{}<{}>", n.to_uppercase(), suffix.to_lowercase()),
            None => format!("{}<20>", name.to_uppercase()),
        };
        for addr in nb.query_name(name, ip, wait)? {
            text.push_str(&format!("{addr} {shown}\n"));
        }
    }
    write_out(text.as_bytes())
}

/// `smb man [COMMAND]`: the page in roff, from the same definition as `--help`.
fn man(command: Option<&str>) -> Result<(), Fail> {
    let mut cmd = Cli::command();
    // Built, so that each command's page lists the options it inherits.
    cmd.build();
    let page = match command {
        None => cmd,
        Some(name) => cmd
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| usage(format!("no command '{name}'")))?
            .name(format!("smb-{name}")),
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut roff)
        .map_err(|e| Report::local("man page", &e))?;
    write_out(&roff)
}

/// A parsed URL that names a share, and the share.
struct Target {
    url: SmbUrl,
    share: String,
}

/// Parses a URL; the message never quotes it (it may hold a password).
fn parse_url(s: &str) -> Result<SmbUrl, Fail> {
    SmbUrl::parse(s).map_err(|e| usage(format!("bad URL: {e}")))
}

fn target(s: &str) -> Result<Target, Fail> {
    let url = parse_url(s)?;
    let share = url
        .share
        .clone()
        .ok_or_else(|| usage(format!("URL '{url}' names no share")))?;
    Ok(Target { url, share })
}

/// What every command shares: the connection options, the login from the command
/// line and the authentication file, and the output choices.
struct Cx {
    conn: ConnArgs,
    nt_hash: Option<[u8; 16]>,
    /// `-U`/`-W`, then the `-A` file; the URL and the environment come per URL.
    login: Login,
    out: OutputArgs,
}

impl Cx {
    fn new(conn: ConnArgs, nt_hash: Option<[u8; 16]>, out: OutputArgs) -> Result<Cx, Fail> {
        let mut login = conn
            .user
            .as_deref()
            .map(Login::from_user_arg)
            .unwrap_or_default();
        login.domain = login.domain.or_else(|| conn.domain.clone());
        if let Some(file) = &conn.auth_file {
            let shown = file.display().to_string();
            let text = std::fs::read_to_string(file).map_err(|e| Report::local(&shown, &e))?;
            let from_file =
                Login::from_auth_file(&text).map_err(|e| usage(format!("{shown}: {e}")))?;
            login = login.or(from_file);
        }
        Ok(Cx {
            conn,
            nt_hash,
            login,
            out,
        })
    }

    fn mode(&self) -> Mode {
        if self.out.quiet {
            Mode::Never
        } else if self.out.progress {
            Mode::Always
        } else {
            Mode::Auto
        }
    }

    /// The options to connect to `url`'s server with: the flags, then the login, each
    /// part from the first source that has it (flags, `-A` file, URL, environment), and
    /// a prompt on the terminal for a password still missing.
    fn options(&self, url: &SmbUrl) -> Result<ConnectOptions, Fail> {
        let c = &self.conn;
        let mut o = ConnectOptions::new("");
        o.host.clone_from(&url.host);
        o.netbios = c.netbios;
        o.port = c
            .port
            .or(url.port)
            .unwrap_or(if c.netbios { 139 } else { 445 });
        // A NetBIOS session request names the called server; an IP address is no name.
        o.server_name = c
            .server_name
            .clone()
            .or_else(|| c.netbios.then(|| "*SMBSERVER".to_string()));
        if let Some(name) = &c.client_name {
            o.client_name.clone_from(name);
        }
        if let Some(s) = c.signing {
            o.signing = s.into();
        }
        o = o.smb1(c.smb1);
        if let Some(d) = c.max_dialect {
            o.max_dialect = d;
        }
        if let Some(d) = c.min_dialect {
            o.min_dialect = d;
        }
        o.encrypt = c.encrypt;
        o.allow_insecure_guest = c.allow_insecure_guest;
        o.use_ntlm_v2 = !c.ntlmv1;
        if let Some(t) = c.timeout {
            o.timeout = t;
        }
        o.connections = usize::from(c.connections.unwrap_or(crate::args::DEFAULT_CONNECTIONS));
        o.multichannel = usize::from(c.multichannel.unwrap_or(0));
        if let Some(kdc) = &c.kdc {
            let mut kerberos = smb_blocking::KerberosOptions::kdc(kdc);
            if let Some(keytab) = &c.keytab {
                kerberos = kerberos.keytab(keytab);
            }
            o = o.kerberos(kerberos);
        }
        let from_url = Login {
            user: url.user.clone(),
            domain: url.domain.clone(),
            password: url.password().map(str::to_string),
        };
        let login = self
            .login
            .clone()
            .or(from_url)
            .or(Login::from_env(|k| std::env::var(k).ok()));
        let Some(user) = login.user.filter(|u| !u.is_empty()) else {
            if self.nt_hash.is_some() {
                return Err(usage("--nt-hash needs a user (-U, the URL or SMB_USER)"));
            }
            return Ok(o);
        };
        o.domain = login.domain.unwrap_or_default();
        Ok(match (self.nt_hash, login.password) {
            (Some(hash), _) => o.nt_hash(&user, hash),
            (None, Some(password)) => o.user(&user, &password),
            // The keytab proves the user: nothing to ask.
            (None, None) if c.keytab.is_some() => o.user(&user, ""),
            // Asked at login, so a server that cannot be reached asks nothing.
            (None, None) if !c.no_pass && io::stdin().is_terminal() => {
                o.password_callback(&user, prompt)
            }
            (None, None) => o.user(&user, ""),
        })
    }

    fn connect(&self, url: &SmbUrl) -> Result<Connection, Fail> {
        Ok(Connection::connect(&self.options(url)?)?)
    }

    /// The target of a URL naming a share, and a connection to its server, DFS links
    /// followed.
    fn open(&self, s: &str) -> Result<(Target, Connection), Fail> {
        self.reach(&target(s)?)
    }

    /// Where `t` lives once DFS links are followed ([`smb_blocking::Context::locate`]:
    /// one stat, and on a DFS root a referral and the target's server), with a
    /// connection there; `t` itself when it is under no link.
    fn reach(&self, t: &Target) -> Result<(Target, Connection), Fail> {
        let options = self.options(&t.url)?.dfs_keep_port(self.conn.dfs_keep_port);
        // The login is in the options; the URL says where, on the port they chose.
        let mut url = t.url.clone();
        url.user = None;
        url.domain = None;
        url.set_password(None);
        url.port = Some(options.port);
        let (c, at) = smb_blocking::Context::new(options).locate(&url.to_string())?;
        let share = at.share()?.to_string();
        if !at.url.host.eq_ignore_ascii_case(&t.url.host) || !share.eq_ignore_ascii_case(&t.share) {
            tracing::info!(server = %at.url.host, share = %share, path = %at.url.path, "dfs link followed");
        }
        Ok((Target { url: at.url, share }, c))
    }

    fn shares(&self, s: &str) -> Result<(), Fail> {
        let url = parse_url(s)?;
        let mut shares = self.connect(&url)?.list_shares()?;
        shares.sort_by_key(|s| s.name.to_lowercase());
        if self.out.json {
            return print_json(&shares.iter().map(ShareJson::from).collect::<Vec<_>>());
        }
        let mut text = String::new();
        for s in &shares {
            text.push_str(&format!(
                "{:<20} {:<8} {}\n",
                printable(&s.name),
                show::share_type(s.share_type),
                printable(&s.comment)
            ));
        }
        write_out(text.as_bytes())
    }

    /// `smb ls smb://` and, with SMB1, `smb ls smb://NAME`: the workgroups, a
    /// workgroup's servers, or (NAME being a server) its shares, through a URL context
    /// (the core decides which, [`smb_proto::client::browse`]).
    fn browse(
        &self,
        url: &SmbUrl,
        browse: smb_proto::client::browse::BrowseOptions,
    ) -> Result<(), Fail> {
        let mut options = self.options(url)?;
        if options.domain.is_empty() {
            // The workgroup whose master browser `smb://` asks, even for an anonymous login.
            options.domain = self.login.domain.clone().unwrap_or_default();
        }
        // The login is in the options; the context reaches master browsers on their port.
        let mut bare = url.clone();
        bare.user = None;
        bare.domain = None;
        bare.set_password(None);
        if !bare.names_network() {
            // A name that turns out to be a server is reached on the port chosen.
            bare.port = Some(options.port);
        }
        let ctx = smb_blocking::Context::new(options).browse(browse);
        let mut entries: Vec<_> = ctx.opendir(&bare.to_string())?.collect();
        entries.sort_by_key(|e| e.name.to_lowercase());
        if self.out.json {
            return print_json(
                &entries
                    .iter()
                    .map(show::DirentJson::from)
                    .collect::<Vec<_>>(),
            );
        }
        let mut text = String::new();
        for e in &entries {
            text.push_str(&format!(
                "{:<20} {:<9} {}\n",
                printable(&e.name),
                show::dirent_type(e.kind),
                printable(&e.comment)
            ));
        }
        write_out(text.as_bytes())
    }

    fn ls(
        &self,
        s: &str,
        long: bool,
        recursive: bool,
        all: bool,
        browse: smb_proto::client::browse::BrowseOptions,
    ) -> Result<(), Fail> {
        let url = parse_url(s)?;
        if url.share.is_none() {
            let smb1 = self.conn.smb1 || self.conn.min_dialect.is_some_and(|d| d.is_smb1());
            return match url.names_network() || smb1 {
                true => self.browse(&url, browse),
                false => self.shares(s),
            };
        }
        let (t, c) = self.open(s)?;
        let path = &t.url.path;
        let (dir, name) = path.rsplit_once('\\').unwrap_or(("", path));
        // A URL ending in '/' names a directory: `ls file/` fails like ls(1) does.
        let as_dir = t.url.names_directory();
        let wildcard = !as_dir && name.contains(['*', '?']);
        if recursive && wildcard {
            return Err(usage("ls -r lists a directory, not a wildcard"));
        }
        // (path below the listing, entry); `named`: a file listed because it was named.
        let (mut entries, named): (Vec<(String, FileInfo)>, bool) = if recursive {
            match c.list_tree(&t.share, path) {
                Ok(tree) => (tree.into_iter().map(|e| (e.path, e.info)).collect(), false),
                Err(e) if !as_dir && e.status() == Some(NtStatus::NOT_A_DIRECTORY) => {
                    (named_file(&c, &t.share, dir, name)?, true)
                }
                Err(e) => return Err(e.into()),
            }
        } else if wildcard {
            let found = c.list_path(&t.share, dir, name)?;
            // Like a shell's `ls nomatch*`: a pattern that matches nothing is an error (as
            // for rm); an empty directory lists nothing and succeeds.
            if found.is_empty() {
                return Err(smb_blocking::Error::Smb(smb_proto::Error::failed(
                    NtStatus::NO_SUCH_FILE,
                    "list",
                    path.clone(),
                ))
                .into());
            }
            (
                found.into_iter().map(|e| (e.name.clone(), e)).collect(),
                false,
            )
        } else {
            match c.list_path(&t.share, path, "*") {
                Ok(found) => (
                    found.into_iter().map(|e| (e.name.clone(), e)).collect(),
                    false,
                ),
                // Like ls(1), a file lists itself.
                Err(e) if !as_dir && e.status() == Some(NtStatus::NOT_A_DIRECTORY) => {
                    (named_file(&c, &t.share, dir, name)?, true)
                }
                Err(e) => return Err(e.into()),
            }
        };
        if !all && !named {
            // Hidden entries, and (with -r) everything below a hidden directory.
            let hidden: Vec<String> = entries
                .iter()
                .filter(|(_, e)| e.is_hidden())
                .map(|(p, _)| format!("{p}\\"))
                .collect();
            entries.retain(|(p, e)| !e.is_hidden() && !hidden.iter().any(|h| p.starts_with(h)));
        }
        entries.sort_by(|a, b| a.0.split('\\').cmp(b.0.split('\\')));
        if self.out.json {
            let json: Vec<EntryJson> = entries
                .iter()
                .map(|(p, e)| EntryJson::new(e, &e.name, p))
                .collect();
            return print_json(&json);
        }
        let mut text = String::new();
        for (p, e) in &entries {
            let shown = p.replace('\\', "/");
            text.push_str(&if long {
                show::ls_long_line(e, &shown)
            } else {
                show::ls_line(e, &shown)
            });
            text.push('\n');
        }
        write_out(text.as_bytes())
    }

    fn stat(&self, s: &str) -> Result<(), Fail> {
        let (t, c) = self.open(s)?;
        let i = c.get_attributes(&t.share, &t.url.path)?;
        if self.out.json {
            let name = t.url.file_name().unwrap_or_default();
            return print_json(&EntryJson::new(&i, name, &t.url.path));
        }
        let kind = if i.is_directory() {
            "directory"
        } else {
            "file"
        };
        let text = format!(
            "name:        {}\n\
             type:        {kind}\n\
             size:        {}\n\
             allocation:  {}\n\
             attributes:  {:#010x} {}\n\
             created:     {}\n\
             accessed:    {}\n\
             modified:    {}\n\
             changed:     {}\n",
            printable(&t.url.path),
            i.size,
            i.allocation_size,
            i.attributes,
            show::attribute_names(i.attributes).join(","),
            show::time_or_dash(i.creation_time),
            show::time_or_dash(i.last_access_time),
            show::time_or_dash(i.last_write_time),
            show::time_or_dash(i.change_time),
        );
        write_out(text.as_bytes())
    }

    /// `get` and `cat`.
    fn get(&self, cmd: &str, s: &str, local: &str, recursive: bool) -> Result<(), Fail> {
        if recursive && local == "-" {
            return Err(usage("get -r needs a local directory, not '-'"));
        }
        let started = Instant::now();
        let (t, c) = self.open(s)?;
        let (files, bytes) = if recursive {
            self.get_tree(&c, &t, s.ends_with("/."), local)?
        } else {
            (1, self.get_file(&c, &t, local)?)
        };
        self.summary(cmd, files, bytes, started);
        Ok(())
    }

    /// Downloads one file to `local`: a file (written beside it, renamed on success), a
    /// directory (into it, under the remote name), a device or pipe, or `-` for stdout.
    /// Returns the byte count.
    fn get_file(&self, c: &Connection, t: &Target, local: &str) -> Result<u64, Fail> {
        let label = t.url.file_name().unwrap_or_default().to_string();
        if local == "-" {
            let bar = Bar::bytes(self.mode(), Some(0), &label, true);
            let mut out = io::stdout().lock();
            let n = c
                .retrieve_file_with_progress(&t.share, &t.url.path, &mut out, &mut |d, n| {
                    bar.set(d, n)
                })
                .map_err(|e| match e {
                    // The only local I/O in a download is writing `out`.
                    smb_blocking::Error::Io(e) => out_fail(e),
                    e => e.into(),
                })?;
            out.flush().map_err(out_fail)?;
            return Ok(n);
        }
        // The size comes with the first report, from the open.
        let bar = Bar::bytes(self.mode(), Some(0), &label, false);
        let mut progress = |d, n| bar.set(d, n);
        // Devices and pipes (/dev/null, a FIFO) are written directly: a temporary file
        // renamed over them would replace the device node.
        if std::fs::metadata(local).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(local)
                .map_err(|e| Report::local(local, &e))?;
            let mut out = io::BufWriter::with_capacity(1 << 20, f);
            let n = c
                .retrieve_file_with_progress(&t.share, &t.url.path, &mut out, &mut progress)
                .map_err(local_io(local))?;
            out.flush().map_err(|e| Report::local(local, &e))?;
            return Ok(n);
        }
        let mut local = PathBuf::from(local);
        if local.is_dir() {
            // Like cp(1): into the directory, under the remote name.
            local.push(t.url.file_name().unwrap_or_default());
        }
        // Download beside the target, rename on success: no half-written LOCAL.
        let mut tmp = local.clone().into_os_string();
        tmp.push(".part");
        let tmp = PathBuf::from(tmp);
        let shown = local.display().to_string();
        let file = std::fs::File::create(&tmp).map_err(|e| Report::local(&shown, &e))?;
        let _partial = Partial::set(&tmp);
        let mut out = io::BufWriter::with_capacity(1 << 20, file);
        // Failures name LOCAL, the file the user asked for, not the temporary beside it.
        let r = c
            .retrieve_file_with_progress(&t.share, &t.url.path, &mut out, &mut progress)
            .map_err(local_io(&shown))
            .and_then(|n| {
                out.flush().map_err(|e| Report::local(&shown, &e))?;
                std::fs::rename(&tmp, &local).map_err(|e| Report::local(&shown, &e))?;
                Ok(n)
            });
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r
    }

    /// Downloads the tree under directory `t` following `cp -r`; returns (files, bytes).
    fn get_tree(
        &self,
        c: &Connection,
        t: &Target,
        contents: bool,
        local: &str,
    ) -> Result<(u64, u64), Fail> {
        // Asked first, so a missing or mistyped remote directory leaves no local one behind.
        if !c.get_attributes(&t.share, &t.url.path)?.is_directory() {
            return Err(not_a_directory(
                &format!("get -r {}", t.url.path),
                &t.url.path,
            ));
        }
        let name = t.url.file_name().unwrap_or(&t.share).to_string();
        let dest = Path::new(local);
        let into = if !contents && dest.is_dir() {
            dest.join(&name)
        } else {
            dest.to_path_buf()
        };
        let bar = Bar::tree(self.mode(), &name);
        let mut failed = Vec::new();
        let r = c.retrieve_tree_with_progress(&t.share, &t.url.path, &into, &mut |p| {
            track(&bar, &name, &mut failed, p)
        });
        bar.finish();
        r.map_err(|e| Report::transfer(&e, failed).into())
    }

    fn put(&self, local: &str, s: &str, recursive: bool, atomic: bool) -> Result<(), Fail> {
        let t = target(s)?;
        if local == "-" && (recursive || t.url.names_directory()) {
            return Err(usage(if recursive {
                "put -r needs a local directory, not '-'"
            } else {
                "put from stdin needs a file name in the URL"
            }));
        }
        let started = Instant::now();
        let (files, bytes) = if recursive {
            self.put_tree(local, &t)?
        } else {
            (1, self.put_file(local, &t, atomic)?)
        };
        self.summary("put", files, bytes, started);
        Ok(())
    }

    /// Uploads `local` (`-`: stdin) to `t`, or into the directory `t` names (by a
    /// trailing '/', or by being one) under the local name. Returns the byte count.
    fn put_file(&self, local: &str, t: &Target, atomic: bool) -> Result<u64, Fail> {
        let (mut input, shown, size): (Box<dyn Read>, _, _) = if local == "-" {
            (Box::new(io::stdin().lock()), "stdin", None)
        } else {
            let f = std::fs::File::open(local).map_err(|e| Report::local(local, &e))?;
            let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
            (Box::new(f), local, size)
        };
        let (t, c) = self.reach(t)?;
        let t = &t;
        let into_dir = t.url.names_directory()
            || (local != "-"
                && c.get_attributes(&t.share, &t.url.path)
                    .is_ok_and(|i| i.is_directory()));
        let path = if into_dir {
            let name = Path::new(local)
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| usage(format!("'{local}' has no UTF-8 file name")))?;
            t.url
                .join(name)
                .map_err(|e| usage(format!("file name '{name}': {e}")))?
                .path
        } else {
            t.url.path.clone()
        };
        let label = path.rsplit('\\').next().unwrap_or_default().to_string();
        let bar = Bar::bytes(self.mode(), size, &label, false);
        let mut progress = |d, _| bar.set(d, size);
        if !atomic {
            return c
                .store_file_with_progress(&t.share, &path, &mut input, &mut progress)
                .map_err(local_io(shown));
        }
        // Beside the target, hidden, and named for this process: renamed over the target
        // only once whole, removed otherwise.
        let (dir, name) = path.rsplit_once('\\').unwrap_or(("", &path));
        let tmp_name = format!(".{name}.smb-{}.part", std::process::id());
        let tmp = if dir.is_empty() {
            tmp_name
        } else {
            format!("{dir}\\{tmp_name}")
        };
        let r = c
            .store_file_with_progress(&t.share, &tmp, &mut input, &mut progress)
            .and_then(|n| c.rename_replacing(&t.share, &tmp, &path).map(|()| n));
        r.map_err(|e| {
            let _ = c.delete_files(&t.share, &tmp);
            // The temporary named as left behind is gone: the cause is the failure.
            match e {
                smb_blocking::Error::Smb(smb_proto::Error::UploadLeftBehind { cause, .. }) => {
                    smb_blocking::Error::Smb(*cause)
                }
                e => e,
            }
        })
        .map_err(local_io(shown))
    }

    /// Uploads the tree under `local` following `cp -r`; returns (files, bytes).
    fn put_tree(&self, local: &str, t: &Target) -> Result<(u64, u64), Fail> {
        let meta = std::fs::metadata(local).map_err(|e| Report::local(local, &e))?;
        if !meta.is_dir() {
            return Err(not_a_directory(&format!("put -r {local}"), local));
        }
        // `DIR/.` (and `.`) is what DIR holds, as for cp -r.
        let contents = local == "." || local.ends_with("/.");
        let (t, c) = self.reach(t)?;
        let t = &t;
        let remote = match c.get_attributes(&t.share, &t.url.path) {
            Ok(i) if !i.is_directory() => {
                return Err(not_a_directory(
                    &format!("put -r {}", t.url.path),
                    &t.url.path,
                ))
            }
            Ok(_) if !contents => {
                let name = std::fs::canonicalize(local)
                    .map_err(|e| Report::local(local, &e))?
                    .file_name()
                    .and_then(|n| n.to_str().map(str::to_string))
                    .ok_or_else(|| usage(format!("'{local}' has no UTF-8 file name")))?;
                t.url
                    .join(&name)
                    .map_err(|e| usage(format!("file name '{name}': {e}")))?
                    .path
            }
            Ok(_) => t.url.path.clone(),
            Err(e) if e.kind() == ErrorKind::NotFound => t.url.path.clone(),
            Err(e) => return Err(e.into()),
        };
        let label = Path::new(local)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| local.to_string());
        let bar = Bar::tree(self.mode(), &label);
        let mut failed = Vec::new();
        let r = c.store_tree_with_progress(Path::new(local), &t.share, &remote, &mut |p| {
            track(&bar, &label, &mut failed, p)
        });
        bar.finish();
        r.map_err(|e| Report::transfer(&e, failed).into())
    }

    /// The destination of `mv`/`cp`: `new` share-relative or a URL on the same server and
    /// share; a directory (spelled with a trailing separator, or found to be one)
    /// receives the source under its name.
    fn destination(&self, c: &Connection, t: &Target, new: &str) -> Result<String, Fail> {
        let mut dest = if new.to_ascii_lowercase().starts_with("smb://") {
            let (t2, _) = self.reach(&target(new)?)?;
            let same = t2.share.eq_ignore_ascii_case(&t.share)
                && t2.url.host.eq_ignore_ascii_case(&t.url.host)
                && t2.url.port == t.url.port;
            if !same {
                return Err(usage("mv and cp work within one share"));
            }
            t2.url
        } else {
            share_path(&t.url, new)?
        };
        let is_dir = dest.names_directory()
            || c.get_attributes(&t.share, &dest.path)
                .is_ok_and(|i| i.is_directory());
        if is_dir {
            let name = t
                .url
                .file_name()
                .filter(|_| !t.url.path.is_empty())
                .ok_or_else(|| usage("mv and cp need a file or directory to move"))?;
            dest = dest
                .join(name)
                .map_err(|e| usage(format!("bad name '{name}': {e}")))?;
        }
        Ok(dest.path)
    }

    fn mv(&self, s: &str, new: &str, force: bool) -> Result<(), Fail> {
        let t = target(s)?;
        // A bad destination is a usage error before anything is sent.
        if !new.to_ascii_lowercase().starts_with("smb://") {
            share_path(&t.url, new)?;
        }
        let (t, c) = self.reach(&t)?;
        let dest = self.destination(&c, &t, new)?;
        if force {
            c.rename_replacing(&t.share, &t.url.path, &dest)?;
        } else {
            c.rename(&t.share, &t.url.path, &dest)?;
        }
        Ok(())
    }

    fn cp(&self, s: &str, new: &str, force: bool) -> Result<(), Fail> {
        let t = target(s)?;
        if !new.to_ascii_lowercase().starts_with("smb://") {
            share_path(&t.url, new)?;
        }
        let started = Instant::now();
        let (t, c) = self.reach(&t)?;
        let dest = self.destination(&c, &t, new)?;
        if dest.eq_ignore_ascii_case(&t.url.path) {
            return Err(usage("cp: source and destination are the same file"));
        }
        if !force {
            if let Ok(i) = c.get_attributes(&t.share, &dest) {
                let kind = if i.is_directory() {
                    ErrorKind::IsADirectory
                } else {
                    ErrorKind::AlreadyExists
                };
                let errno = if i.is_directory() {
                    Errno::EISDIR
                } else {
                    Errno::EEXIST
                };
                return Err(Report::other(
                    kind,
                    errno,
                    Some(dest.clone()),
                    format!(
                        "cp {dest}: exists (use -f to replace it) ({})",
                        errno.name()
                    ),
                )
                .into());
            }
        }
        let copied = copy_within(&c, &t.share, &t.url.path, &dest, force)?;
        self.summary("cp", 1, copied.bytes, started);
        if self.out.verbose > 0 {
            let how = if copied.server_side {
                "server-side copy (the data did not cross the network)"
            } else {
                "copied through this client (the server refused a server-side copy)"
            };
            let _ = writeln!(io::stderr(), "cp: {how}");
        }
        Ok(())
    }

    fn snapshots(&self, s: &str) -> Result<(), Fail> {
        let (t, c) = self.open(s)?;
        let times = c.list_snapshots(&t.share, &t.url.path)?;
        let json: Vec<SnapshotJson> = times
            .iter()
            .map(|at| SnapshotJson {
                token: at.gmt_token(),
                time: at.to_system_time().map(show::rfc3339),
            })
            .collect();
        if self.out.json {
            return print_json(&json);
        }
        let mut text = String::new();
        for (j, at) in json.iter().zip(&times) {
            text.push_str(&format!("{}  {}\n", j.token, show::time_or_dash(*at)));
        }
        write_out(text.as_bytes())
    }

    fn acl(&self, s: &str) -> Result<(), Fail> {
        let (t, c) = self.open(s)?;
        let sd = c.get_security(&t.share, &t.url.path)?;
        let acl = AclJson::new(&t.url.path, &sd);
        if self.out.json {
            return print_json(&acl);
        }
        write_out(acl.text().as_bytes())
    }

    fn streams(&self, s: &str) -> Result<(), Fail> {
        let (t, c) = self.open(s)?;
        let json: Vec<StreamJson> = c
            .list_streams(&t.share, &t.url.path)?
            .into_iter()
            .map(|s| StreamJson {
                name: s.name,
                size: s.size,
                allocation_size: s.allocation_size,
            })
            .collect();
        if self.out.json {
            return print_json(&json);
        }
        let text: String = json.iter().map(StreamJson::text).collect();
        write_out(text.as_bytes())
    }

    /// Lists the EAs, or sets each `NAME=VALUE` of `set` in one request.
    fn ea(&self, s: &str, set: &[String]) -> Result<(), Fail> {
        let mut eas = Vec::new();
        for a in set {
            match a.split_once('=') {
                Some((name, value)) => eas.push((name, value.as_bytes())),
                None => return Err(usage(format!("{a:?}: expected NAME=VALUE (NAME= removes)"))),
            }
        }
        let (t, c) = self.open(s)?;
        if !eas.is_empty() {
            c.set_eas(&t.share, &t.url.path, &eas)?;
            return Ok(());
        }
        let listed = c.get_eas(&t.share, &t.url.path)?;
        let json: Vec<EaJson> = listed
            .iter()
            .map(|e| EaJson::new(&e.name, &e.value, e.flags))
            .collect();
        if self.out.json {
            return print_json(&json);
        }
        let text: String = json
            .iter()
            .zip(&listed)
            .map(|(j, e)| j.text(&e.value))
            .collect();
        write_out(text.as_bytes())
    }

    fn watch(&self, s: &str, recursive: bool, names: bool, count: Option<u64>) -> Result<(), Fail> {
        let (t, c) = self.open(s)?;
        let filter = if names {
            notify_filter::FILE_NAME | notify_filter::DIR_NAME
        } else {
            DEFAULT_NOTIFY_FILTER
        };
        let changes = c.watch(&t.share, &t.url.path, filter, recursive)?;
        if !self.out.quiet {
            eprintln!("watching {}", printable(&t.url.to_string()));
        }
        let limit = count.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        for change in changes.take(limit) {
            let json = ChangeJson::new(&change?);
            if self.out.json {
                print_json(&json)?;
            } else {
                write_out(format!("{}\n", json.text()).as_bytes())?;
            }
        }
        Ok(())
    }

    fn df(&self, s: &str) -> Result<(), Fail> {
        let (t, c) = self.open(s)?;
        let fs = c.disk_free(&t.share, &t.url.path)?;
        let json = DfJson::new(&t.share, &t.url.path, &fs);
        if self.out.json {
            return print_json(&json);
        }
        let source = format!("//{}/{}", t.url.host, t.share);
        write_out(json.text(&source).as_bytes())
    }

    fn bench(&self, s: &str, size: u64, stats: u32) -> Result<(), Fail> {
        let (t, c) = self.open(s)?;
        let path = crate::bench::temp_name(&t.url.path);
        let results = crate::bench::run(&c, &t.share, &path, size, stats)?;
        if self.out.json {
            return print_json(&results);
        }
        write_out(results.text().as_bytes())
    }

    fn echo(&self, s: &str, count: u32) -> Result<(), Fail> {
        let url = parse_url(s)?;
        let o = self.options(&url)?;
        let c = Connection::connect(&o)?;
        let mut out = io::stdout().lock();
        for seq in 1..=count {
            let sent = Instant::now();
            c.echo()?;
            let ms = sent.elapsed().as_secs_f64() * 1000.0;
            writeln!(
                out,
                "ECHO reply from {}: seq={seq} time={ms:.3} ms",
                o.target()
            )
            .and_then(|()| out.flush())
            .map_err(out_fail)?;
        }
        Ok(())
    }

    /// `-v`: a one-line summary on stderr.
    fn summary(&self, cmd: &str, files: u64, bytes: u64, started: Instant) {
        if self.out.verbose > 0 {
            let secs = started.elapsed().as_secs_f64();
            let rate = bytes as f64 / secs.max(1e-6) / f64::from(1 << 20);
            let _ = writeln!(
                io::stderr(),
                "{cmd}: {files} file(s), {bytes} bytes in {secs:.2} s ({rate:.1} MiB/s)"
            );
        }
    }
}

/// Asks for the password on the terminal, echo off (the password callback of a login
/// with no password from anywhere else).
fn prompt(p: &PasswordPrompt) -> Option<String> {
    let who = if p.domain.is_empty() {
        p.user.clone()
    } else {
        format!("{}\\{}", p.domain, p.user)
    };
    rpassword::prompt_password(format!(
        "Password for {}@{}: ",
        printable(&who),
        printable(&p.server)
    ))
    .ok()
}

/// A file named by a `ls` URL, listed as its directory lists it.
fn named_file(
    c: &Connection,
    share: &str,
    dir: &str,
    name: &str,
) -> Result<Vec<(String, FileInfo)>, Fail> {
    Ok(c.list_path(share, dir, name)?
        .into_iter()
        .map(|e| (e.name.clone(), e))
        .collect())
}

/// Feeds a tree transfer's progress to the bar, and notes each file that failed.
fn track(bar: &Bar, label: &str, failed: &mut Vec<FailedFile>, p: &TreeProgress<'_>) {
    bar.tree_update(p, label);
    if let Some((path, Some(e))) = p.finished {
        failed.push(FailedFile {
            path: path.to_string(),
            message: e.to_string(),
        });
    }
}

/// Copies `src` to `dest` on one share, server-side where the server does it (through
/// this client where it refuses), into a temporary beside `dest` that is renamed over it
/// when complete and removed otherwise.
fn copy_within(
    c: &Connection,
    share: &str,
    src: &str,
    dest: &str,
    replace: bool,
) -> Result<Copied, Fail> {
    let (dir, name) = dest.rsplit_once('\\').unwrap_or(("", dest));
    let tmp_name = format!(".{name}.smb-{}.part", std::process::id());
    let tmp = if dir.is_empty() {
        tmp_name
    } else {
        format!("{dir}\\{tmp_name}")
    };
    let copied = match c.copy_file(share, src, &tmp, false) {
        Ok(copied) => copied,
        Err(e) if e.kind() == ErrorKind::IsADirectory => {
            return Err(Report::other(
                ErrorKind::IsADirectory,
                Errno::EISDIR,
                Some(src.to_string()),
                format!("cp {src}: a directory; cp copies files (EISDIR)"),
            )
            .into())
        }
        Err(e) => {
            let _ = c.delete_files(share, &tmp);
            return Err(e.into());
        }
    };
    let renamed = if replace {
        c.rename_replacing(share, &tmp, dest)
    } else {
        c.rename(share, &tmp, dest)
    };
    renamed.map(|()| copied).map_err(|e| {
        let _ = c.delete_files(share, &tmp);
        e.into()
    })
}

/// A share-relative path typed by the user, `/` or `\` separated, held to the URL
/// parser's rules (no `..`, no control characters), as the URL of that path on `url`'s
/// share; a trailing separator keeps its meaning (a directory).
fn share_path(url: &SmbUrl, path: &str) -> Result<SmbUrl, Fail> {
    let mut root = url.clone();
    root.path.clear();
    let mut joined = path
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .try_fold(root, |u, c| u.join(c))
        .map_err(|e| usage(format!("bad path '{}': {e}", printable(path))))?;
    if joined.path.is_empty() {
        return Err(usage(format!("path '{}' names no file", printable(path))));
    }
    let last = path.rsplit(['/', '\\']).next().unwrap_or_default();
    if last.is_empty() || last == "." {
        joined.path.push('\\');
    }
    Ok(joined)
}

/// "`what`: not a directory (ENOTDIR)".
fn not_a_directory(what: &str, path: &str) -> Fail {
    Report::other(
        ErrorKind::NotADirectory,
        Errno::ENOTDIR,
        Some(path.to_string()),
        format!("{what}: not a directory (ENOTDIR)"),
    )
    .into()
}

/// Maps a transfer's error: a protocol error names its remote path itself; the local
/// I/O error of a one-file transfer (reading or writing `local`) is named after `local`.
fn local_io(local: &str) -> impl Fn(smb_blocking::Error) -> Fail + '_ {
    move |e| match e {
        smb_blocking::Error::Io(e) => Report::local(local, &e).into(),
        e => e.into(),
    }
}

/// A failure writing stdout: a reader that went away (`smb cat URL | head`) ends smb
/// quietly, like cat(1) killed by SIGPIPE but without the noise.
fn out_fail(e: io::Error) -> Fail {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Fail::OutputClosed
    } else {
        Report::local("stdout", &e).into()
    }
}

/// Writes `bytes` to stdout in one go (stdout is line-buffered: a write per line costs
/// more than the listing).
fn write_out(bytes: &[u8]) -> Result<(), Fail> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(out_fail)
}

/// `value` as one line of JSON on stdout.
fn print_json<T: Serialize>(value: &T) -> Result<(), Fail> {
    let mut text = serde_json::to_vec(value)
        .map_err(|e| Report::local("JSON output", &io::Error::other(e)))?;
    text.push(b'\n');
    write_out(&text)
}

/// The partial file a download is writing, which Ctrl-C removes before the process
/// exits (with 130, as a shell reports SIGINT), so an interrupted get leaves nothing.
static PARTIAL: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

/// Registers a partial file for as long as it lives.
struct Partial;

impl Partial {
    fn set(path: &Path) -> Partial {
        *PARTIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(path.into());
        Partial
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        *PARTIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// On Ctrl-C (SIGINT): remove the partial download, if any, and exit 130.
fn on_interrupt() {
    if let Some(p) = PARTIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    {
        let _ = std::fs::remove_file(p);
    }
    std::process::exit(i32::from(report::INTERRUPTED));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_paths_take_either_separator_and_never_climb() {
        let url = SmbUrl::parse("smb://h/s/dir/f").ok().unwrap();
        let path = |p: &str| share_path(&url, p).ok().map(|u| u.path);
        assert_eq!(path("a/b\\c").as_deref(), Some("a\\b\\c"));
        assert_eq!(path("/./a//b").as_deref(), Some("a\\b"));
        assert_eq!(path("/./a//b/").as_deref(), Some("a\\b\\"));
        assert_eq!(path("a/b/.").as_deref(), Some("a\\b\\"));
        assert_eq!(path("a/../b"), None);
        assert_eq!(path("/"), None);
        assert_eq!(path("a\u{7}b"), None);
    }

    #[test]
    fn the_login_comes_from_flags_then_url_then_environment() {
        let (conn, hash) =
            Cli::try_parse_from(["smb", "-U", "WG\\bob", "-N", "ls", "smb://alice:pw@h/s"])
                .unwrap()
                .connection()
                .unwrap();
        let cx = Cx::new(conn, hash, OutputArgs::default()).ok().unwrap();
        let o = cx
            .options(&SmbUrl::parse("smb://alice:pw@h:4455/s").unwrap())
            .ok()
            .unwrap();
        assert_eq!(
            (o.user.as_str(), o.domain.as_str(), o.port),
            ("bob", "WG", 4455)
        );
        assert!(!format!("{o:?}").contains("pw"));
    }
}
