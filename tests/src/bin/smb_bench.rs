//! `smb-bench`: our client against `smbclient` on the same private Samba, in one run.
//!
//! ```text
//! cargo build --release -p smb-cli
//! cargo run --release -p smb-tests --bin smb-bench -- [--quick] [--only NAME,…] [--rounds N]
//! ```
//!
//! Each group of benchmarks starts its own Samba on loopback, configured for what it measures,
//! and creates its data directly on the share's local disk. The two clients run alternately
//! (ours, smbclient, ours, smbclient, …) so that drift in the machine's state hits both alike,
//! and every figure is a median over the rounds. Bulk transfers and `ls` compare whole
//! processes (`smb` from this build's target directory against `smbclient`); stats, small
//! files and tokio run our client in-process, as each section says. The last thing printed is
//! a Markdown table for the README. Performance goals live here, never in timed assertions
//! inside tests.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::error::Error;
use std::fs;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use smb_blocking::Connection;
use smb_proto::crypto::encryption::Cipher;
use smb_proto::SigningPolicy;
use smb_tests::fixtures::data;
use smb_tests::{SambaServer, Share};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const USAGE: &str = "usage: smb-bench [--quick] [--only NAME[,NAME…]] [--rounds N] [--smb PATH]

  --quick        256 MiB bulk files and 3 rounds instead of 1 GiB and 5
  --only NAMES   run the benchmarks whose name contains one of NAMES (comma-separated), e.g.
                 'get', 'plain', 'put-aes256gcm', 'stat', 'ls', 'small', 'tokio'
  --rounds N     rounds per benchmark
  --smb PATH     the CLI to measure (default: `smb` next to this executable; build it with
                 `cargo build --release -p smb-cli`)";

const SHARE: &str = "bench";
const MIB: f64 = (1u64 << 20) as f64;
const GIB: f64 = (1u64 << 30) as f64;
/// The small-file tree: TREE_DIRS directories of TREE_FILES_PER_DIR files of SMALL_FILE bytes.
const TREE_DIRS: usize = 10;
const TREE_FILES_PER_DIR: usize = 100;
const TREE_FILES: usize = TREE_DIRS * TREE_FILES_PER_DIR;
const SMALL_FILE: usize = 4096;
const LS_ENTRIES: usize = 10_000;
/// The recursive listing's tree: LS_DIRS directories of LS_ENTRIES / LS_DIRS entries.
const LS_DIRS: usize = 100;
/// Tasks of the concurrency benchmark, each reading a file of its own of TASK_FILE bytes.
const TASKS: usize = 64;
const TASK_FILE: u64 = 16 << 20;
/// Connections of the pool the concurrency benchmark also reads through.
const POOL: usize = 4;
/// How our in-process tree transfer works, printed with its numbers; change it together
/// with [`Bench::ours_tree`].
const OURS_TREE_HOW: &str = "in-process blocking API (store_tree / retrieve_tree), over one \
     connection and over TREE_CONNECTIONS (ConnectOptions::connections), connect and login \
     included";

/// Connections the spread rows of the small-file benchmarks use: the CLI's default
/// (`--connections`), which is what two server cores make use of.
const TREE_CONNECTIONS: usize = 2;

/// One security setting of the bulk transfers: a Samba configuration and the client
/// settings that go with it.
struct Scenario {
    name: &'static str,
    globals: &'static [(&'static str, &'static str)],
    /// `smb --signing` value; `signing` is the same policy for the in-process probe.
    cli_signing: &'static str,
    signing: SigningPolicy,
    expect: Protection,
}

/// What the probe connection must find before a scenario's numbers mean anything.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Protection {
    Nothing,
    Signed,
    Encrypted(Cipher),
}

/// "plain" is what smbclient does by default against `server signing = auto`: only
/// SESSION_SETUP and TREE_CONNECT are signed (checked with tshark). `--signing never` makes
/// ours do the same, and would fail loudly against a server that demands signing.
const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "plain",
        globals: &[("server signing", "auto")],
        cli_signing: "never",
        signing: SigningPolicy::Never,
        expect: Protection::Nothing,
    },
    Scenario {
        name: "signed",
        globals: &[("server signing", "mandatory")],
        cli_signing: "supported",
        signing: SigningPolicy::WhenSupported,
        expect: Protection::Signed,
    },
    Scenario {
        name: "aes128gcm",
        globals: &[
            ("smb encrypt", "required"),
            ("server smb3 encryption algorithms", "AES-128-GCM"),
        ],
        cli_signing: "supported",
        signing: SigningPolicy::WhenSupported,
        expect: Protection::Encrypted(Cipher::Aes128Gcm),
    },
    Scenario {
        name: "aes256gcm",
        globals: &[
            ("smb encrypt", "required"),
            ("server smb3 encryption algorithms", "AES-256-GCM"),
        ],
        cli_signing: "supported",
        signing: SigningPolicy::WhenSupported,
        expect: Protection::Encrypted(Cipher::Aes256Gcm),
    },
];

/// The plain scenario is also the setting of the metadata and small-file benchmarks.
const PLAIN: &Scenario = &SCENARIOS[0];

/// Names of the benchmarks that are not per-scenario, for `--only`.
const META_BENCHMARKS: [&str; 5] = ["stat", "ls", "small-put", "small-get", "concurrency"];

/// Wall-clock and CPU time of one measured run.
#[derive(Clone, Copy, Debug)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

/// Whether a figure should be at least or at most its target.
#[derive(Clone, Copy, Debug)]
enum Target {
    AtLeast(f64),
    AtMost(f64),
}

/// One line of the final table.
struct Row {
    name: String,
    ours: String,
    reference: String,
    ratio: f64,
    target: Option<Target>,
}

impl Row {
    fn verdict(&self) -> &'static str {
        match self.target {
            None => "info",
            Some(Target::AtLeast(t)) if self.ratio >= t => "PASS",
            Some(Target::AtMost(t)) if self.ratio <= t => "PASS",
            Some(_) => "MISS",
        }
    }

    fn target_text(&self) -> String {
        match self.target {
            None => "—".into(),
            Some(Target::AtLeast(t)) => format!("≥ {t}×"),
            Some(Target::AtMost(t)) => format!("≤ {t}×"),
        }
    }
}

struct Bench {
    rounds: usize,
    bulk_bytes: u64,
    only: Vec<String>,
    smb: PathBuf,
    /// Local files of the clients: sources and destinations of the tree transfers.
    work: PathBuf,
    clock_ticks_per_second: f64,
    rows: Vec<Row>,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.work);
    }
}

fn main() -> ExitCode {
    // smol's global executor runs on SMOL_THREADS threads (1 unless set): give it the two
    // that the tokio runtime of the concurrency rows has, so the two runtimes compare on
    // the same footing. Set before anything starts that executor.
    if std::env::var_os("SMOL_THREADS").is_none() {
        std::env::set_var("SMOL_THREADS", "2");
    }
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smb-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let mut bench = Bench::from_args(args)?;
    bench.print_header();
    for scenario in &SCENARIOS {
        bench.bulk(scenario)?;
    }
    bench.metadata()?;
    bench.multichannel()?;
    bench.print_table();
    Ok(())
}

impl Bench {
    fn from_args(args: Vec<String>) -> Result<Bench> {
        let (mut quick, mut only, mut rounds, mut smb) = (false, Vec::new(), None, None);
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--quick" => quick = true,
                "--only" => {
                    only = value()?
                        .split(',')
                        .map(|s| s.trim().to_ascii_lowercase())
                        .collect()
                }
                "--rounds" => {
                    let v = value()?;
                    rounds = Some(
                        v.parse::<usize>()
                            .map_err(|e| format!("--rounds {v:?}: {e}"))?,
                    )
                }
                "--smb" => smb = Some(PathBuf::from(value()?)),
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
            }
        }
        let names = benchmark_names();
        if let Some(bad) = only
            .iter()
            .find(|o| !names.iter().any(|n| n.contains(o.as_str())))
        {
            return Err(format!("--only {bad:?} matches none of {}", names.join(", ")).into());
        }
        let rounds = rounds.unwrap_or(if quick { 3 } else { 5 });
        if rounds == 0 {
            return Err("--rounds must be at least 1".into());
        }
        let smb = match smb {
            Some(path) => path,
            None => std::env::current_exe()?
                .parent()
                .ok_or("this executable has no directory")?
                .join("smb"),
        };
        if !smb.is_file() {
            return Err(format!(
                "{} not found: build it with `cargo build --release -p smb-cli` (or pass --smb PATH)",
                smb.display()
            )
            .into());
        }
        // The servers' shares and the clients' local files live under the temporary
        // directory; on tmpfs, disk writeback stays out of the numbers.
        if std::env::var_os("TMPDIR").is_none() && Path::new("/dev/shm").is_dir() {
            std::env::set_var("TMPDIR", "/dev/shm");
        }
        let work = std::env::temp_dir().join(format!("smb-bench-{}", std::process::id()));
        fs::create_dir_all(&work)?;
        Ok(Bench {
            rounds,
            bulk_bytes: if quick { 256 << 20 } else { 1 << 30 },
            only,
            smb,
            work,
            clock_ticks_per_second: clock_ticks_per_second(),
            rows: Vec::new(),
        })
    }

    fn selected(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| name.contains(o.as_str()))
    }

    fn print_header(&self) {
        let smbd = Command::new("smbd").arg("--version").output();
        let samba = smbd.map_or_else(
            |e| format!("smbd --version: {e}"),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
        );
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        println!("smb-bench: our client vs smbclient on one private Samba, alternating rounds");
        println!(
            "  smbd {samba}; {} CPUs; Linux {}; files under {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel.trim(),
            std::env::temp_dir().display()
        );
        println!(
            "  ours: {}; bulk size {}; {} rounds",
            self.smb.display(),
            size_label(self.bulk_bytes),
            self.rounds
        );
        warn_if_stale(&self.smb);
    }

    /// get and put of one large file with one security setting, CLI against smbclient.
    fn bulk(&mut self, scenario: &Scenario) -> Result<()> {
        let get = format!("get-{}", scenario.name);
        let put = format!("put-{}", scenario.name);
        if !self.selected(&get) && !self.selected(&put) {
            return Ok(());
        }
        let server = start_server(scenario);
        let state = probe(&server, scenario)?;
        println!("\n== bulk, {} ({state}) ==", scenario.name);
        let big = server.share_path(SHARE).join("big.bin");
        write_pattern(&big, self.bulk_bytes)?;
        let size = size_label(self.bulk_bytes);

        if self.selected(&get) {
            // Untimed: both clients must deliver every byte; this also warms the page cache
            // and smbd before the first timed round.
            let check = self.work.join("check.bin");
            let to = check.to_str().ok_or("non-UTF-8 temporary path")?;
            let mut ours = self.smb_command(&server, scenario);
            ours.args(["get", &url(&server, "big.bin"), to]);
            self.timed(&mut ours, "smb get")?;
            expect_size(&check, self.bulk_bytes)?;
            let mut theirs = smbclient(&server, &format!("get big.bin \"{to}\""));
            self.timed(&mut theirs, "smbclient get")?;
            expect_size(&check, self.bulk_bytes)?;
            fs::remove_file(&check)?;

            // Both write to stdout, which is /dev/null: the same destination for both.
            let (ours, theirs) = self.alternate(
                || {
                    let mut c = self.smb_command(&server, scenario);
                    c.args(["get", &url(&server, "big.bin"), "-"]);
                    c.stdout(Stdio::null());
                    self.timed(&mut c, "smb get")
                },
                || {
                    let mut c = smbclient(&server, "get big.bin -");
                    c.stdout(Stdio::null());
                    self.timed(&mut c, "smbclient get")
                },
            )?;
            self.bulk_rows(&format!("get {size}, {}", scenario.name), &ours, &theirs);
        }

        if self.selected(&put) {
            // The source is the share's own copy of big.bin: a local file already in memory.
            let source = big.to_str().ok_or("non-UTF-8 temporary path")?;
            let uploaded = server.share_path(SHARE).join("up.bin");
            let (ours, theirs) = self.alternate(
                || {
                    let mut c = self.smb_command(&server, scenario);
                    c.args(["put", source, &url(&server, "up.bin")]);
                    let sample = self.timed(&mut c, "smb put")?;
                    expect_size(&uploaded, self.bulk_bytes)?;
                    fs::remove_file(&uploaded)?;
                    Ok(sample)
                },
                || {
                    let mut c = smbclient(&server, &format!("put \"{source}\" up.bin"));
                    let sample = self.timed(&mut c, "smbclient put")?;
                    expect_size(&uploaded, self.bulk_bytes)?;
                    fs::remove_file(&uploaded)?;
                    Ok(sample)
                },
            )?;
            self.bulk_rows(&format!("put {size}, {}", scenario.name), &ours, &theirs);
            if scenario.name == PLAIN.name {
                let floor = (0..self.rounds)
                    .map(|_| self.socket_floor(&big))
                    .collect::<Result<Vec<_>>>()?;
                self.floor_row(&size, &floor, &theirs);
            }
        }
        Ok(())
    }

    /// What any client must spend to put a file, with no SMB at all: `dd` reading it and
    /// writing it into a loopback TCP connection (8 MiB reads and writes), drained by a
    /// thread of this process. On loopback the sender's CPU time also carries the
    /// receiving side's TCP work, as it does for both clients.
    fn socket_floor(&self, source: &Path) -> Result<Sample> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port().to_string();
        let sink = thread::spawn(move || -> io::Result<u64> {
            let (mut s, _) = listener.accept()?;
            let (mut buf, mut total) = (vec![0u8; 1 << 20], 0u64);
            loop {
                match s.read(&mut buf)? {
                    0 => return Ok(total),
                    n => total += n as u64,
                }
            }
        });
        let source = source.to_str().ok_or("non-UTF-8 temporary path")?;
        let script = r#"exec dd if="$1" bs=8M status=none > "/dev/tcp/127.0.0.1/$2""#;
        let mut dd = Command::new("bash");
        dd.args(["-c", script, "floor", source, &port]);
        let sample = self.timed(&mut dd, "dd into a socket")?;
        let got = sink.join().map_err(|_| "the sink thread panicked")??;
        if got != self.bulk_bytes {
            return Err(format!("dd sent {got} of {} bytes", self.bulk_bytes).into());
        }
        Ok(sample)
    }

    /// The floor's CPU per GiB against smbclient's plain put: the least a ratio to
    /// smbclient can be on this machine.
    fn floor_row(&mut self, size: &str, floor: &[Sample], smbclient: &[Sample]) {
        let gib = self.bulk_bytes as f64 / GIB;
        let cpu = |s: &[Sample]| median(s.iter().map(|s| secs(s.cpu) / gib));
        let (floor_cpu, theirs) = (cpu(floor), cpu(smbclient));
        println!("  floor: dd {size} into a loopback TCP socket, {floor_cpu:.3} CPU-s/GiB");
        self.rows.push(Row {
            name: format!(
                "floor, no SMB: dd {size} into a loopback TCP socket, CPU per GiB \
                 (against smbclient's plain put)"
            ),
            ours: format!("{floor_cpu:.3} s"),
            reference: format!("{theirs:.3} s"),
            ratio: floor_cpu / theirs,
            target: None,
        });
    }

    fn bulk_rows(&mut self, what: &str, ours: &[Sample], theirs: &[Sample]) {
        let bytes = self.bulk_bytes as f64;
        let speed = |s: &[Sample]| median(s.iter().map(|s| bytes / MIB / secs(s.wall)));
        let cpu = |s: &[Sample]| median(s.iter().map(|s| secs(s.cpu) / (bytes / GIB)));
        let (ours_speed, theirs_speed) = (speed(ours), speed(theirs));
        let (ours_cpu, theirs_cpu) = (cpu(ours), cpu(theirs));
        println!("{what}");
        print_rounds(ours, theirs, |s| {
            format!("{:>6.0} MiB/s  {:.3} CPU-s/GiB", speed(s), cpu(s))
        });
        self.rows.push(Row {
            name: format!("{what}: throughput"),
            ours: format!("{ours_speed:.0} MiB/s"),
            reference: format!("{theirs_speed:.0} MiB/s"),
            ratio: ours_speed / theirs_speed,
            target: Some(Target::AtLeast(1.0)),
        });
        self.rows.push(Row {
            name: format!("{what}: client CPU per GiB"),
            ours: format!("{ours_cpu:.3} s"),
            reference: format!("{theirs_cpu:.3} s"),
            ratio: ours_cpu / theirs_cpu,
            target: Some(Target::AtMost(0.6)),
        });
    }

    /// stat, ls, small files and tokio, on one plain server.
    fn metadata(&mut self) -> Result<()> {
        if !META_BENCHMARKS.iter().any(|n| self.selected(n)) {
            return Ok(());
        }
        let server = start_server(PLAIN);
        let state = probe(&server, PLAIN)?;
        println!("\n== metadata and small files, {} ({state}) ==", PLAIN.name);
        let share = server.share_path(SHARE);
        make_tree(&share.join("tree"))?;
        let many = share.join("many");
        fs::create_dir(&many)?;
        for i in 0..LS_ENTRIES {
            fs::File::create(many.join(format!("entry-{i:05}")))?;
        }
        let deep = share.join("deep");
        for i in 0..LS_ENTRIES {
            let dir = deep.join(format!("dir-{:03}", i % LS_DIRS));
            if i < LS_DIRS {
                fs::create_dir_all(&dir)?;
            }
            fs::File::create(dir.join(format!("entry-{i:05}")))?;
        }
        if self.selected("stat") {
            self.stat(&server)?;
        }
        if self.selected("ls") {
            self.ls(&server)?;
        }
        if self.selected("small-put") || self.selected("small-get") {
            self.small_files(&server)?;
        }
        if self.selected("concurrency") {
            self.concurrency(&server)?;
        }
        Ok(())
    }

    /// Our stat latency on one connection, ECHO interleaved with it, and smbclient's allinfo.
    fn stat(&mut self, server: &SambaServer) -> Result<()> {
        let paths = tree_paths();
        let conn = connect(server, PLAIN.signing)?;
        // The first use connects the tree; that round trip is not a stat.
        conn.call(smb_proto::ops::ConnectShare::new(SHARE))?;
        let (mut stats, mut echoes) = (Vec::new(), Vec::new());
        let commands: Vec<String> = paths.iter().map(|p| format!("allinfo {p}")).collect();
        let commands = commands.join("; ");
        let (_, theirs) = self.alternate(
            || {
                let cpu = self.cpu_time(false)?;
                let start = Instant::now();
                for path in &paths {
                    let t = Instant::now();
                    let info = conn.get_attributes(SHARE, path)?;
                    stats.push(t.elapsed());
                    if info.size != SMALL_FILE as u64 {
                        return Err(format!("stat {path}: size {}", info.size).into());
                    }
                    let t = Instant::now();
                    conn.echo()?;
                    echoes.push(t.elapsed());
                }
                Ok(Sample {
                    wall: start.elapsed(),
                    cpu: self.cpu_time(false)? - cpu,
                })
            },
            || {
                let mut c = smbclient(server, &commands);
                let (sample, out) = self.timed_output(&mut c, "smbclient allinfo")?;
                let found = String::from_utf8_lossy(&out.stdout)
                    .matches(&format!("stream: [::$DATA], {SMALL_FILE} bytes"))
                    .count();
                if found != TREE_FILES {
                    return Err(format!(
                        "smbclient allinfo reported {found} of {TREE_FILES} files"
                    )
                    .into());
                }
                Ok(sample)
            },
        )?;
        let micros = |d: &Duration| secs(*d) * 1e6;
        let stat = median(stats.iter().map(micros));
        let stat_p90 = percentile(stats.iter().map(micros), 0.9);
        let echo = median(echoes.iter().map(micros));
        let allinfo = median(
            theirs
                .iter()
                .map(|s| secs(s.wall) * 1e6 / TREE_FILES as f64),
        );
        println!("stat ({} per round, ECHO after each)", TREE_FILES);
        println!(
            "  ours      stat median {stat:.0} µs, p90 {stat_p90:.0} µs; ECHO median {echo:.0} µs"
        );
        println!(
            "  smbclient {allinfo:.0} µs per allinfo: one process's wall time / {TREE_FILES}, \
             including its start, connect, login and logoff   rounds: {} s",
            list(theirs.iter().map(|s| secs(s.wall)))
        );
        self.rows.push(Row {
            name: "stat latency vs ECHO round trip (ours, same connection)".into(),
            ours: format!("{stat:.0} µs (p90 {stat_p90:.0})"),
            reference: format!("ECHO {echo:.0} µs"),
            ratio: stat / echo,
            target: Some(Target::AtMost(3.0)),
        });
        self.rows.push(Row {
            name: format!("{TREE_FILES} stats: ours per stat vs smbclient per allinfo"),
            ours: format!("{stat:.0} µs"),
            reference: format!("{allinfo:.0} µs"),
            ratio: stat / allinfo,
            target: None,
        });
        Ok(())
    }

    /// `smb ls` against `smbclient -c 'ls dir\*'`, whole processes, wall time.
    fn ls(&mut self, server: &SambaServer) -> Result<()> {
        let (ours, theirs) = self.alternate(
            || {
                let mut c = self.smb_command(server, PLAIN);
                c.args(["ls", &url(server, "many")]);
                let (sample, out) = self.timed_output(&mut c, "smb ls")?;
                expect_entries("smb ls", &out, LS_ENTRIES)?;
                Ok(sample)
            },
            || {
                let mut c = smbclient(server, "ls many\\*");
                let (sample, out) = self.timed_output(&mut c, "smbclient ls")?;
                expect_entries("smbclient ls", &out, LS_ENTRIES)?;
                Ok(sample)
            },
        )?;
        let ms = |s: &[Sample]| median(s.iter().map(|s| secs(s.wall) * 1e3));
        println!("ls of {LS_ENTRIES} entries, whole process, output read through a pipe");
        print_rounds(&ours, &theirs, |s| format!("{:>7.1} ms", ms(s)));
        self.rows.push(Row {
            name: format!("ls {LS_ENTRIES} entries, CLI vs CLI: wall time"),
            ours: format!("{:.1} ms", ms(&ours)),
            reference: format!("{:.1} ms", ms(&theirs)),
            ratio: ms(&ours) / ms(&theirs),
            target: Some(Target::AtMost(0.7)),
        });

        let (ours, theirs) = self.alternate(
            || {
                let mut c = self.smb_command(server, PLAIN);
                c.args(["ls", "-r", &url(server, "deep")]);
                let (sample, out) = self.timed_output(&mut c, "smb ls -r")?;
                expect_entries("smb ls -r", &out, LS_ENTRIES)?;
                Ok(sample)
            },
            || {
                let mut c = smbclient(server, "recurse on; ls deep\\*");
                let (sample, out) = self.timed_output(&mut c, "smbclient recursive ls")?;
                expect_entries("smbclient recursive ls", &out, LS_ENTRIES)?;
                Ok(sample)
            },
        )?;
        println!("ls -r of {LS_ENTRIES} entries in {LS_DIRS} directories, whole process");
        print_rounds(&ours, &theirs, |s| format!("{:>7.1} ms", ms(s)));
        self.rows.push(Row {
            name: format!(
                "ls -r {LS_ENTRIES} entries in {LS_DIRS} directories, CLI vs CLI: wall time"
            ),
            ours: format!("{:.1} ms", ms(&ours)),
            reference: format!("{:.1} ms", ms(&theirs)),
            ratio: ms(&ours) / ms(&theirs),
            target: Some(Target::AtMost(0.6)),
        });
        Ok(())
    }

    /// The small-file tree up and down: ours per [`Bench::ours_tree`], smbclient's
    /// `mput`/`mget` with `recurse on` in one process.
    fn small_files(&mut self, server: &SambaServer) -> Result<()> {
        let source = self.work.join("tree-src");
        make_tree(&source)?;
        let dest = self.work.join("tree-dst");
        let uploaded = server.share_path(SHARE).join("up");
        let expect_tree = |root: &Path| -> Result<()> {
            let found = count_tree(root)?;
            fs::remove_dir_all(root)?;
            if found != (TREE_FILES, (TREE_FILES * SMALL_FILE) as u64) {
                return Err(format!("tree {}: (files, bytes) = {found:?}", root.display()).into());
            }
            Ok(())
        };
        let files_per_second =
            |s: &[Sample]| median(s.iter().map(|s| TREE_FILES as f64 / secs(s.wall)));
        let local = |p: &Path| {
            p.to_str()
                .map(str::to_owned)
                .ok_or("non-UTF-8 temporary path")
        };
        println!("small files: {TREE_FILES} × {SMALL_FILE} B in {TREE_DIRS} directories; ours: {OURS_TREE_HOW}");

        for (name, direction) in [("small-put", Direction::Up), ("small-get", Direction::Down)] {
            if !self.selected(name) {
                continue;
            }
            let (local_dir, remote, result, commands) = match direction {
                Direction::Up => (
                    &source,
                    "up",
                    &uploaded,
                    format!(
                        "prompt off; recurse on; lcd \"{}\"; mkdir up; cd up; mput *",
                        local(&source)?
                    ),
                ),
                Direction::Down => (
                    &dest,
                    "tree",
                    &dest,
                    format!(
                        "prompt off; recurse on; lcd \"{}\"; cd tree; mget *",
                        local(&dest)?
                    ),
                ),
            };
            for connections in [1, TREE_CONNECTIONS] {
                let (ours, theirs) = self.alternate(
                    || {
                        let sample =
                            self.ours_tree(server, direction, local_dir, remote, connections)?;
                        expect_tree(result)?;
                        Ok(sample)
                    },
                    || {
                        // smbclient's lcd needs the directory to exist.
                        if let Direction::Down = direction {
                            fs::create_dir_all(&dest)?;
                        }
                        let sample = self.timed(&mut smbclient(server, &commands), "smbclient")?;
                        expect_tree(result)?;
                        Ok(sample)
                    },
                )?;
                println!("{name}, ours over {connections} connection(s)");
                print_rounds(&ours, &theirs, |s| {
                    format!("{:>7.0} files/s", files_per_second(s))
                });
                self.rows.push(Row {
                    name: format!(
                        "{name}: {TREE_FILES} × 4 KiB tree, files/s (ours in-process, {connections} connection(s))"
                    ),
                    ours: format!("{:.0}/s", files_per_second(&ours)),
                    reference: format!("{:.0}/s", files_per_second(&theirs)),
                    ratio: files_per_second(&ours) / files_per_second(&theirs),
                    target: (connections == TREE_CONNECTIONS).then_some(Target::AtLeast(3.0)),
                });
            }
        }
        Ok(())
    }

    /// Our side of a tree transfer between `local` and the share's `remote` directory.
    ///
    /// The CLI has no tree transfer yet, so this calls the blocking API in-process; once
    /// `smb put -r` / `smb get -r` exist, this becomes a [`Bench::timed`] run of that command
    /// (and [`OURS_TREE_HOW`] says so).
    fn ours_tree(
        &self,
        server: &SambaServer,
        direction: Direction,
        local: &Path,
        remote: &str,
        connections: usize,
    ) -> Result<Sample> {
        let cpu = self.cpu_time(false)?;
        let start = Instant::now();
        let mut opts = server.connect_options().connections(connections);
        opts.signing = PLAIN.signing;
        let conn = Connection::connect(&opts)?;
        let (files, _) = match direction {
            Direction::Up => conn.store_tree(local, SHARE, remote)?,
            Direction::Down => conn.retrieve_tree(SHARE, remote, local)?,
        };
        conn.close()?;
        let sample = Sample {
            wall: start.elapsed(),
            cpu: self.cpu_time(false)? - cpu,
        };
        if files != TREE_FILES as u64 {
            return Err(format!("tree transfer moved {files} of {TREE_FILES} files").into());
        }
        Ok(sample)
    }

    /// What users of the async clients feel: TASKS tasks each reading a file of its own
    /// (TASK_FILE bytes) at once, through one client and through POOL clients, on tokio
    /// and on smol, against smbclient getting the same files one after another (one
    /// process, to /dev/null). Each smbd process serves one connection on one core, so
    /// one client is bound by it; the pool spreads the files over POOL smbd processes.
    fn concurrency(&mut self, server: &SambaServer) -> Result<()> {
        let dir = server.share_path(SHARE).join("tasks");
        fs::create_dir_all(&dir)?;
        for t in 0..TASKS {
            write_pattern(&dir.join(format!("t{t:02}.bin")), TASK_FILE)?;
        }
        let names: Vec<String> = (0..TASKS).map(|t| format!("tasks/t{t:02}.bin")).collect();
        let mut opts = server.connect_options();
        opts.signing = PLAIN.signing;
        let gets: Vec<String> = names.iter().map(|n| format!("get {n} /dev/null")).collect();
        let gets = gets.join("; ");
        let tokio_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        // One round: connect `clients` clients, read every file at once spread over them.
        let read_all = |clients: Vec<smb_asyncstd::Client>| {
            let names = names.clone();
            async move {
                let tasks = names.into_iter().enumerate().map(|(i, name)| {
                    let client = clients[i % clients.len()].clone();
                    async move {
                        let mut sink = smol::io::sink();
                        let got = client.retrieve_file(SHARE, &name, &mut sink).await?;
                        match got == TASK_FILE {
                            true => Ok::<_, smb_asyncstd::Error>(()),
                            false => {
                                Err(smb_proto::Error::Invalid(format!("{name}: short")).into())
                            }
                        }
                    }
                });
                join_all(tasks.collect()).await
            }
        };
        let run = |runtime: &str, clients: usize| -> Result<Sample> {
            let (start, cpu) = (Instant::now(), self.cpu_time(false)?);
            match runtime {
                "tokio" => tokio_rt.block_on(async {
                    let mut made = Vec::new();
                    for _ in 0..clients {
                        made.push((*smb_tokio::Client::connect(&opts).await?).clone());
                    }
                    read_all(made).await.map_err(Box::<dyn Error>::from)
                })?,
                _ => smol::block_on(async {
                    let mut made = Vec::new();
                    for _ in 0..clients {
                        made.push(smb_asyncstd::connect(&opts).await?);
                    }
                    read_all(made).await.map_err(Box::<dyn Error>::from)
                })?,
            }
            Ok(Sample {
                wall: start.elapsed(),
                cpu: self.cpu_time(false)? - cpu,
            })
        };
        let mut theirs = Vec::new();
        let mut ours: BTreeMap<(&str, usize), Vec<Sample>> = BTreeMap::new();
        for _ in 0..self.rounds {
            for key in [("tokio", 1), ("tokio", POOL), ("smol", 1), ("smol", POOL)] {
                let sample = run(key.0, key.1)?;
                ours.entry(key).or_default().push(sample);
            }
            theirs.push(self.timed(&mut smbclient(server, &gets), "smbclient gets")?);
        }
        let bytes = (TASKS as u64 * TASK_FILE) as f64;
        let rate = |s: &[Sample]| median(s.iter().map(|s| bytes / MIB / secs(s.wall)));
        let smbclient_rate = rate(&theirs);
        println!(
            "concurrency: {TASKS} × {} read at once (one client or {POOL}), {} rounds; smbclient one after another",
            size_label(TASK_FILE),
            self.rounds
        );
        for ((runtime, clients), samples) in &ours {
            let mine = rate(samples);
            let cpu = median(samples.iter().map(|s| secs(s.cpu) * MIB * 1024.0 / bytes));
            // Connecting is in it; the data goes to a sink, as the CLI's gets go to /dev/null.
            println!("  {runtime} {clients} client(s): {mine:.0} MiB/s, {cpu:.3} CPU-s/GiB");
            self.rows.push(Row {
                name: format!(
                    "{TASKS} tasks × {} get, {runtime}, {clients} connection(s), vs smbclient one after another (MiB/s)",
                    size_label(TASK_FILE)
                ),
                ours: format!("{mine:.0} MiB/s"),
                reference: format!("{smbclient_rate:.0} MiB/s"),
                ratio: mine / smbclient_rate,
                target: None,
            });
        }
        for clients in [1, POOL] {
            let (t, m) = (
                rate(&ours[&("tokio", clients)]),
                rate(&ours[&("smol", clients)]),
            );
            self.rows.push(Row {
                name: format!("the same, smol against tokio, {clients} connection(s) (MiB/s)"),
                ours: format!("{m:.0} MiB/s"),
                reference: format!("{t:.0} MiB/s tokio"),
                ratio: m / t,
                target: Some(Target::AtLeast(0.95)),
            });
        }
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    /// Runs `ours` and `theirs` alternately, `self.rounds` times each.
    fn alternate(
        &self,
        mut ours: impl FnMut() -> Result<Sample>,
        mut theirs: impl FnMut() -> Result<Sample>,
    ) -> Result<(Vec<Sample>, Vec<Sample>)> {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..self.rounds {
            a.push(ours()?);
            b.push(theirs()?);
        }
        Ok((a, b))
    }

    /// `smb` with the scenario's signing flag; the password goes through the environment.
    fn smb_command(&self, server: &SambaServer, scenario: &Scenario) -> Command {
        let mut c = Command::new(&self.smb);
        c.args(["--signing", scenario.cli_signing])
            .env("SMB_PASSWORD", server.password())
            .stdin(Stdio::null());
        c
    }

    /// Runs a client process to completion; see [`Bench::timed_output`].
    fn timed(&self, command: &mut Command, what: &str) -> Result<Sample> {
        self.timed_output(command, what).map(|(sample, _)| sample)
    }

    /// Runs a client process to completion and measures its wall time and CPU time; fails
    /// unless it succeeded. Standard output is captured unless `command` already says
    /// where it goes.
    fn timed_output(&self, command: &mut Command, what: &str) -> Result<(Sample, Output)> {
        let cpu = self.cpu_time(true)?;
        let start = Instant::now();
        let out = command
            .output()
            .map_err(|e| format!("running {what}: {e}"))?;
        let wall = start.elapsed();
        let cpu = self.cpu_time(true)? - cpu;
        let stderr = String::from_utf8_lossy(&out.stderr);
        // smbclient goes on after a failed command in a list, so its exit status alone
        // does not show every failure.
        if !out.status.success() || stderr.contains("NT_STATUS_") {
            return Err(format!("{what} failed ({}): {}", out.status, stderr.trim()).into());
        }
        Ok((Sample { wall, cpu }, out))
    }

    /// CPU time (user + system) of this process, or of its children that have been waited
    /// for, from `/proc/self/stat` (proc(5)).
    fn cpu_time(&self, children: bool) -> Result<Duration> {
        let stat = fs::read_to_string("/proc/self/stat")?;
        // The command name in parentheses may hold anything; fields are counted after it,
        // from field 3 (state): utime is field 14, cutime field 16, each followed by the
        // matching system time.
        let rest = stat.rsplit_once(')').ok_or("malformed /proc/self/stat")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let first = if children { 16 - 3 } else { 14 - 3 };
        let mut ticks = 0u64;
        for field in [first, first + 1] {
            ticks += fields
                .get(field)
                .ok_or("short /proc/self/stat")?
                .parse::<u64>()?;
        }
        Ok(Duration::from_secs_f64(
            ticks as f64 / self.clock_ticks_per_second,
        ))
    }

    fn print_table(&self) {
        println!("\n| benchmark | ours | reference | ratio | target | result |");
        println!("|---|---:|---:|---:|---:|---|");
        for row in &self.rows {
            println!(
                "| {} | {} | {} | {:.2}× | {} | {} |",
                row.name,
                row.ours,
                row.reference,
                row.ratio,
                row.target_text(),
                row.verdict()
            );
        }
        println!(
            "\nratio: ours / reference; reference is smbclient unless the row says otherwise. \
             {} rounds, bulk size {}. The concurrency rows run tokio on a 2-worker runtime and smol's executor on 2 threads.",
            self.rounds,
            size_label(self.bulk_bytes)
        );
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Up,
    Down,
}

fn benchmark_names() -> Vec<String> {
    SCENARIOS
        .iter()
        .flat_map(|s| [format!("get-{}", s.name), format!("put-{}", s.name)])
        .chain(META_BENCHMARKS.iter().map(|n| n.to_string()))
        .chain([
            "multichannel-get".to_string(),
            "multichannel-put".to_string(),
        ])
        .collect()
}

impl Bench {
    /// Our bulk get and put on one connection, and striped over it and a channel bound
    /// on the server's second address (SMB 3.x multichannel), alternating, in-process
    /// (the CLI has no multichannel option). Samba serves every channel of a session in
    /// the session's one process, so on loopback this shows what striping costs or
    /// gains there, not a second network path.
    fn multichannel(&mut self) -> Result<()> {
        if !self.selected("multichannel") {
            return Ok(());
        }
        let server = SambaServer::builder()
            .multichannel(true)
            .share(Share::new(SHARE))
            .start();
        let size = self.bulk_bytes;
        write_pattern(&server.share_path(SHARE).join("mc.bin"), size)?;
        println!(
            "\n== multichannel: {} MiB, one connection against two channels ==",
            size >> 20
        );
        let connect = |channels: usize| -> Result<Connection> {
            let conn = Connection::connect(&server.connect_options().multichannel(channels))?;
            if conn.channels() != channels {
                return Err(
                    format!("{} channels bound, {channels} wanted", conn.channels()).into(),
                );
            }
            Ok(conn)
        };
        let one = connect(0)?;
        let two = connect(1)?;
        let mib_per_s = |s: &[Sample]| median(s.iter().map(|s| (size >> 20) as f64 / secs(s.wall)));
        for name in ["multichannel-get", "multichannel-put"] {
            if !self.selected(name) {
                continue;
            }
            let run = |conn: &Connection| -> Result<Sample> {
                let cpu = self.cpu_time(false)?;
                let start = Instant::now();
                let moved = if name.ends_with("get") {
                    conn.retrieve_file(SHARE, "mc.bin", &mut io::sink())?
                } else {
                    conn.store_file(
                        SHARE,
                        "mc-up.bin",
                        &mut io::Read::take(io::repeat(0x5a), size),
                    )?
                };
                if moved != size {
                    return Err(format!("{name}: moved {moved} of {size} bytes").into());
                }
                Ok(Sample {
                    wall: start.elapsed(),
                    cpu: self.cpu_time(false)? - cpu,
                })
            };
            let (ones, twos) = self.alternate(|| run(&one), || run(&two))?;
            println!("{name}");
            println!("  one connection  {:>7.0} MiB/s", mib_per_s(&ones));
            println!("  two channels    {:>7.0} MiB/s", mib_per_s(&twos));
            self.rows.push(Row {
                name: format!(
                    "{name} {} MiB: two channels against one connection (MiB/s)",
                    size >> 20
                ),
                ours: format!("{:.0} MiB/s", mib_per_s(&twos)),
                reference: format!("{:.0} MiB/s one", mib_per_s(&ones)),
                ratio: mib_per_s(&twos) / mib_per_s(&ones),
                target: None,
            });
        }
        Ok(())
    }
}

fn start_server(scenario: &Scenario) -> SambaServer {
    let mut builder = SambaServer::builder().share(Share::new(SHARE));
    for (key, value) in scenario.globals {
        builder = builder.global(key, value);
    }
    builder.start()
}

fn connect(server: &SambaServer, signing: SigningPolicy) -> Result<Connection> {
    let mut opts = server.connect_options();
    opts.signing = signing;
    Ok(Connection::connect(&opts)?)
}

/// Connects as the scenario's clients will and checks that the server and our client agree
/// on the protection the scenario is named for; returns a description for the output.
fn probe(server: &SambaServer, scenario: &Scenario) -> Result<String> {
    let conn = connect(server, scenario.signing)?;
    let encrypted = conn.tree_encrypted(SHARE)?;
    let negotiated = conn.negotiated().clone();
    let found = match (encrypted, negotiated.cipher, conn.is_signing()) {
        (true, Some(cipher), _) => Protection::Encrypted(cipher),
        (false, _, true) => Protection::Signed,
        (false, _, false) => Protection::Nothing,
        (true, None, _) => return Err("encrypting without a cipher".into()),
    };
    conn.close()?;
    if found != scenario.expect {
        return Err(format!(
            "scenario {}: expected {:?}, the connection has {found:?}",
            scenario.name, scenario.expect
        )
        .into());
    }
    let signing = if found == Protection::Signed {
        format!(", {:?}", negotiated.signing_algorithm)
    } else {
        String::new()
    };
    Ok(format!("{:?}, {found:?}{signing}", negotiated.dialect))
}

/// The CLI's URL for `path` on the bench share; the password comes from `SMB_PASSWORD`.
fn url(server: &SambaServer, path: &str) -> String {
    format!(
        "smb://{}@{}:{}/{SHARE}/{path}",
        server.user(),
        server.host(),
        server.port()
    )
}

/// `smbclient -c commands` on the bench share as the test user.
fn smbclient(server: &SambaServer, commands: &str) -> Command {
    let mut c = server.smbclient_command();
    c.arg("-U")
        .arg(format!("{}%{}", server.user(), server.password()))
        .arg(format!("//{}/{SHARE}", server.host()))
        .arg("-c")
        .arg(commands);
    c
}

/// The small-file tree: `dNN/fNNN`, each file SMALL_FILE bytes of a per-file pattern.
fn make_tree(root: &Path) -> io::Result<()> {
    for d in 0..TREE_DIRS {
        let dir = root.join(format!("d{d:02}"));
        fs::create_dir_all(&dir)?;
        for f in 0..TREE_FILES_PER_DIR {
            let seed = (d * TREE_FILES_PER_DIR + f) as u64;
            fs::write(dir.join(format!("f{f:03}")), data(SMALL_FILE, seed))?;
        }
    }
    Ok(())
}

/// The share-relative paths of the tree's files under `tree\`.
fn tree_paths() -> Vec<String> {
    (0..TREE_FILES)
        .map(|i| {
            let (d, f) = (i / TREE_FILES_PER_DIR, i % TREE_FILES_PER_DIR);
            format!("tree\\d{d:02}\\f{f:03}")
        })
        .collect()
}

/// Files and bytes below `root`.
fn count_tree(root: &Path) -> io::Result<(usize, u64)> {
    let (mut files, mut bytes) = (0, 0);
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            let (f, b) = count_tree(&entry.path())?;
            files += f;
            bytes += b;
        } else {
            files += 1;
            bytes += entry.metadata()?.len();
        }
    }
    Ok((files, bytes))
}

/// Writes `len` bytes: one pseudo-random MiB, repeated with its first bytes stamped with the
/// MiB's index (SMB has no compression or deduplication here, so this is as good as random).
fn write_pattern(path: &Path, len: u64) -> io::Result<()> {
    let mut block = data(1 << 20, len);
    let mut file = fs::File::create(path)?;
    let mut written = 0u64;
    while written < len {
        block[..8].copy_from_slice(&written.to_le_bytes());
        let n = (len - written).min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        written += n as u64;
    }
    Ok(())
}

fn expect_size(path: &Path, len: u64) -> Result<()> {
    let found = fs::metadata(path)?.len();
    if found != len {
        return Err(format!("{}: {found} bytes, expected {len}", path.display()).into());
    }
    Ok(())
}

/// Checks that a listing printed all `count` entries of the `many` directory.
fn expect_entries(what: &str, out: &Output, count: usize) -> Result<()> {
    let found = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("entry-"))
        .count();
    if found != count {
        return Err(format!("{what} listed {found} of {count} entries").into());
    }
    Ok(())
}

fn clock_ticks_per_second() -> f64 {
    // USER_HZ; 100 on every Linux architecture this runs on, if getconf is missing.
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Warns when a source file of the CLI is newer than the binary: `cargo run -p smb-tests`
/// does not rebuild `smb`, and a stale binary would measure old code.
fn warn_if_stale(smb: &Path) {
    let Ok(built) = fs::metadata(smb).and_then(|m| m.modified()) else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let newest = ["smb-cli/src", "smb-blocking/src", "smb-proto/src"]
        .iter()
        .filter_map(|dir| newest_modification(&root.join(dir)))
        .max();
    if newest.is_some_and(|t| t > built) {
        println!(
            "  WARNING: {} is older than its sources; run `cargo build --release -p smb-cli`",
            smb.display()
        );
    }
}

fn newest_modification(dir: &Path) -> Option<SystemTime> {
    fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            if meta.is_dir() {
                newest_modification(&entry.path())
            } else {
                meta.modified().ok()
            }
        })
        .max()
}

/// One line per client: its headline figures, then every round's wall and CPU time.
fn print_rounds(ours: &[Sample], theirs: &[Sample], figures: impl Fn(&[Sample]) -> String) {
    for (who, samples) in [("ours", ours), ("smbclient", theirs)] {
        println!(
            "  {who:<9} {}   rounds: {} s wall, {} s CPU",
            figures(samples),
            list(samples.iter().map(|s| secs(s.wall))),
            list(samples.iter().map(|s| secs(s.cpu)))
        );
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    percentile(values, 0.5)
}

/// The nearest-rank percentile; NaN for no values.
fn percentile(values: impl Iterator<Item = f64>, p: f64) -> f64 {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn list(values: impl Iterator<Item = f64>) -> String {
    values
        .map(|v| format!("{v:.3}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn size_label(bytes: u64) -> String {
    if bytes < 1 << 30 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} GiB", bytes >> 30)
    }
}

/// Runs `futures` at once → the first error, if any (after all have ended).
async fn join_all<F, E>(futures: Vec<F>) -> std::result::Result<(), E>
where
    F: std::future::Future<Output = std::result::Result<(), E>>,
{
    let mut results = Vec::new();
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|f| match f.as_mut().poll(cx) {
            std::task::Poll::Ready(r) => {
                results.push(r);
                false
            }
            std::task::Poll::Pending => true,
        });
        match pending.is_empty() {
            true => std::task::Poll::Ready(()),
            false => std::task::Poll::Pending,
        }
    })
    .await;
    results.into_iter().collect()
}
