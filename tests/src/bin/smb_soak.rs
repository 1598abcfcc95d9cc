//! Soak: mixed operations from many tasks of the async client (tokio) against a private
//! Samba, through the fault-injecting proxy, for a while; in every other period the proxy
//! cuts every connection every few seconds, and each task's client makes its connection
//! again by itself (`ConnectOptions::reconnect`, resuming transfers, asking idempotent
//! calls again). Reports operations done, errors by call and kind, reconnections and this
//! process's memory over time, and fails if a read ever returned other bytes than were
//! written (nothing lost) or memory kept growing.
//!
//! `cargo run --release -p smb-tests --bin smb-soak -- [--minutes N] [--tasks N]`
//! (`scripts/soak.sh` does that). Not part of the test command.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smb_tests::fault::{Fault, FaultProxy};
use smb_tests::fixtures::{data, sha256};
use smb_tests::{SambaServer, Share};
use smb_tokio::{Client, ConnectOptions};

/// How long each period lasts; odd periods cut connections.
const PERIOD: Duration = Duration::from_secs(20);
/// How often connections are cut in an odd period.
const CUT_EVERY: Duration = Duration::from_secs(3);

#[derive(Default)]
struct Tally {
    ops: AtomicU64,
    /// Clients made, and the connections they made again (summed as tasks end).
    connections: AtomicU64,
    reconnects: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    /// Reads that came back with other bytes than were written: must stay 0.
    corrupt: AtomicU64,
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}"))
        })
        .unwrap_or(default)
}

/// This process's resident memory, from /proc/self/status, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The period the soak is in.
fn period(started: Instant) -> u64 {
    started.elapsed().as_secs() / PERIOD.as_secs()
}

/// One task's loop, on a client of its own for the whole run: write a file of its own,
/// read it back and compare, list, stat, delete; errors are counted by kind and the
/// client goes on (it makes its connection again as it needs).
async fn task(n: u64, opts: ConnectOptions, tally: Arc<Tally>, until: Instant) {
    let mut client: Option<Client> = None;
    let mut round = 0u64;
    while Instant::now() < until {
        let c = match &client {
            Some(c) => c.clone(),
            None => match Client::connect(&opts).await {
                Ok(c) => {
                    tally.connections.fetch_add(1, Ordering::Relaxed);
                    client = Some(c.clone());
                    c
                }
                Err(e) => {
                    count_error(&tally, &format!("connect: {:?}", e.kind()));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        round += 1;
        let name = format!("soak/t{n}-{}.bin", round % 4);
        let body = data(
            16 * 1024 + (round as usize * 4099) % (512 * 1024),
            n * 1000 + round,
        );
        let r = async {
            let step = |what: &'static str| move |e: smb_tokio::Error| (what, e);
            c.store_file("share", &name, &mut &body[..])
                .await
                .map_err(step("store"))?;
            let mut back = Vec::new();
            c.retrieve_file("share", &name, &mut back)
                .await
                .map_err(step("retrieve"))?;
            if sha256(&back) != sha256(&body) {
                tally.corrupt.fetch_add(1, Ordering::Relaxed);
            }
            c.list_path("share", "soak", "*")
                .await
                .map_err(step("list"))?;
            c.get_attributes("share", &name)
                .await
                .map_err(step("stat"))?;
            c.delete_files("share", &name)
                .await
                .map_err(step("delete"))?;
            Ok(())
        }
        .await;
        match r {
            Ok(()) => {
                tally.ops.fetch_add(5, Ordering::Relaxed);
            }
            Err((what, e)) => count_error(&tally, &format!("{what}: {:?}", e.kind())),
        }
    }
    if let Some(c) = client {
        tally
            .reconnects
            .fetch_add(c.reconnects(), Ordering::Relaxed);
    }
}

/// Counts an error under `what` (the call and the error's kind).
fn count_error(tally: &Tally, what: &str) {
    let mut errors = tally.errors.lock().unwrap();
    *errors.entry(what.to_string()).or_default() += 1;
}

fn main() {
    let minutes = arg("--minutes", 30);
    let tasks = arg("--tasks", 16);
    let srv = Arc::new(SambaServer::builder().share(Share::new("share")).start());
    std::fs::create_dir(srv.share_path("share").join("soak")).unwrap();
    let proxy = Arc::new(FaultProxy::start(srv.addr(), Fault::None));
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let until = started + Duration::from_secs(minutes * 60);
    println!(
        "smb-soak: {tasks} tasks for {minutes} min; every other {PERIOD:?}, connections cut every {CUT_EVERY:?}"
    );
    let cutter = proxy.clone();
    std::thread::spawn(move || {
        while Instant::now() < until {
            std::thread::sleep(CUT_EVERY);
            if period(started) % 2 == 1 {
                cutter.cut_connections();
            }
        }
    });
    let mut opts = srv.connect_options();
    opts.port = proxy.port();
    opts.timeout = Duration::from_secs(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut samples = Vec::new();
    rt.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|n| tokio::spawn(task(n, opts.clone(), tally.clone(), until)))
            .collect();
        while Instant::now() < until {
            tokio::time::sleep(PERIOD.min(until - Instant::now())).await;
            let rss = rss_kib();
            samples.push(rss);
            println!(
                "{:>6.0} s  ops {:>8}  errors {:?}  rss {} KiB",
                started.elapsed().as_secs_f64(),
                tally.ops.load(Ordering::Relaxed),
                tally.errors.lock().unwrap(),
                rss
            );
        }
        for h in handles {
            let _ = h.await;
        }
    });
    let corrupt = tally.corrupt.load(Ordering::Relaxed);
    println!(
        "done: {} operations, {} clients, {} reconnections, errors by kind {:?}, corrupt reads {corrupt}",
        tally.ops.load(Ordering::Relaxed),
        tally.connections.load(Ordering::Relaxed),
        tally.reconnects.load(Ordering::Relaxed),
        tally.errors.lock().unwrap()
    );
    // Memory is flat when the last third's peak is within a quarter of the first
    // third's (allocator noise aside).
    let third = samples.len() / 3;
    if third > 0 {
        let early = samples[..third].iter().max().copied().unwrap_or(0);
        let late = samples[samples.len() - third..]
            .iter()
            .max()
            .copied()
            .unwrap_or(0);
        println!("rss: first third's peak {early} KiB, last third's {late} KiB");
        assert!(
            late <= early + early / 4,
            "memory grew: {early} → {late} KiB"
        );
    }
    assert_eq!(corrupt, 0, "a read returned other bytes than were written");
}
