//! `smb bench`: this client against one server. A temporary file is written, read back
//! and checked, stat-ed, and deleted; what is timed is the wall clock of each step and
//! this process's CPU time (user + system, from `/proc/self/stat`).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use smb_blocking::Connection;
use smb_proto::ops;

/// The pseudo-random block the file is made of, repeated: generated once, before the
/// clock starts, so the timed part costs what the transfer costs.
const BLOCK: usize = 1 << 20;

/// xorshift64* from a fixed seed: the same bytes on every run, no dependency.
fn pattern_block() -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = Vec::with_capacity(BLOCK);
    while block.len() < BLOCK {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        block.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    block
}

/// `len` bytes of the repeated block, as a reader (the upload's source).
struct Source<'a> {
    block: &'a [u8],
    pos: u64,
    len: u64,
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.len - self.pos).unwrap_or(usize::MAX);
        let at = (self.pos % BLOCK as u64) as usize;
        let n = buf.len().min(left).min(BLOCK - at);
        buf[..n].copy_from_slice(&self.block[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

/// A writer that checks the download against the block, byte for byte.
struct Check<'a> {
    block: &'a [u8],
    pos: u64,
}

impl Write for Check<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let at = (self.pos % BLOCK as u64) as usize;
        let n = buf.len().min(BLOCK - at);
        if buf[..n] != self.block[at..at + n] {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the file read back differs from the one written near byte {}",
                    self.pos
                ),
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// This process's CPU time so far (user + system, every thread), from fields 14 and 15
/// of `/proc/self/stat`, counted in USER_HZ ticks (100 per second on Linux); `None`
/// where there is no such file.
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // `after` starts at field 3 (state): utime is field 14, stime 15.
    let total = ticks(11)?.checked_add(ticks(12)?)?;
    Some(Duration::from_millis(total.checked_mul(10)?))
}

/// One timed transfer.
#[derive(Debug, Serialize)]
pub struct Transfer {
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Throughput in MiB (2^20 bytes) per second.
    pub mib_per_s: f64,
    /// This process's CPU seconds during it, `None` without `/proc`.
    pub cpu_seconds: Option<f64>,
    /// CPU seconds per GiB (2^30 bytes) moved.
    pub cpu_seconds_per_gib: Option<f64>,
}

impl Transfer {
    fn new(bytes: u64, wall: Duration, cpu: Option<Duration>) -> Transfer {
        let seconds = wall.as_secs_f64().max(1e-9);
        let gib = bytes as f64 / f64::from(1u32 << 30);
        let cpu_seconds = cpu.map(|c| c.as_secs_f64());
        Transfer {
            seconds,
            mib_per_s: bytes as f64 / f64::from(1u32 << 20) / seconds,
            cpu_seconds,
            cpu_seconds_per_gib: cpu_seconds.map(|c| c / gib),
        }
    }
}

/// The stat round trip's times.
#[derive(Debug, Serialize)]
pub struct Latency {
    /// How many stats were timed.
    pub count: u32,
    /// The median, in milliseconds.
    pub p50_ms: f64,
    /// The 90th percentile, in milliseconds.
    pub p90_ms: f64,
}

/// The nearest-rank percentile `q` (0–1] of `sorted`, which is not empty.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What `smb bench` prints (`--json` as it is; the shape is in `smb --help`).
#[derive(Debug, Serialize)]
pub struct Results {
    /// Bytes written and read.
    pub size: u64,
    /// The upload.
    pub put: Transfer,
    /// The download.
    pub get: Transfer,
    /// The stats.
    pub stat: Latency,
}

impl Results {
    /// The text `smb bench` prints without `--json`.
    pub fn text(&self) -> String {
        let cpu = |t: &Transfer| match t.cpu_seconds_per_gib {
            Some(c) => format!("{c:.2} CPU s/GiB"),
            None => "CPU time unknown".into(),
        };
        let size = crate::show::human_size(self.size);
        format!(
            "put   {size:>10} in {:>8.3} s  {:>9.1} MiB/s  {}\n\
             get   {size:>10} in {:>8.3} s  {:>9.1} MiB/s  {}\n\
             stat  {} round trips: p50 {:.3} ms, p90 {:.3} ms\n",
            self.put.seconds,
            self.put.mib_per_s,
            cpu(&self.put),
            self.get.seconds,
            self.get.mib_per_s,
            cpu(&self.get),
            self.stat.count,
            self.stat.p50_ms,
            self.stat.p90_ms,
        )
    }
}

/// Times `f`: its result, the wall clock, and this process's CPU time.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let (cpu0, t0) = (cpu_time(), Instant::now());
    let out = f();
    let wall = t0.elapsed();
    let cpu = cpu_time().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
    (out, wall, cpu)
}

/// A name for the temporary file in `dir` that no other run picks: the process id and
/// the clock.
pub fn temp_name(dir: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!(".smb-bench-{}-{nanos}.tmp", std::process::id());
    let dir = dir.trim_end_matches('\\');
    if dir.is_empty() {
        name
    } else {
        format!("{dir}\\{name}")
    }
}

/// Writes `size` bytes to `path` on `share`, reads and checks them, stats the file
/// `stats` times, and deletes it, also when a step before failed.
///
/// # Errors
///
/// The first failing step's error (a download that differs from the upload is
/// [`smb_blocking::Error::Io`] with `InvalidData`); then the deletion's, if only it
/// failed.
pub fn run(
    c: &Connection,
    share: &str,
    path: &str,
    size: u64,
    stats: u32,
) -> smb_blocking::Result<Results> {
    let block = pattern_block();
    let (put, put_wall, put_cpu) = timed(|| {
        let mut source = Source {
            block: &block,
            pos: 0,
            len: size,
        };
        c.store_file(share, path, &mut source)
    });
    let measured = put.and_then(|_| {
        let (got, get_wall, get_cpu) = timed(|| {
            let mut check = Check {
                block: &block,
                pos: 0,
            };
            c.retrieve_file(share, path, &mut check)
        });
        let got = got?;
        if got != size {
            return Err(smb_blocking::Error::Smb(smb_proto::Error::Invalid(
                format!("read back {got} bytes of the {size} written"),
            )));
        }
        let mut times = Vec::with_capacity(stats as usize);
        for _ in 0..stats {
            let t0 = Instant::now();
            c.get_attributes(share, path)?;
            times.push(t0.elapsed());
        }
        times.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Ok(Results {
            size,
            put: Transfer::new(size, put_wall, put_cpu),
            get: Transfer::new(size, get_wall, get_cpu),
            stat: Latency {
                count: stats,
                p50_ms: ms(percentile(&times, 0.5)),
                p90_ms: ms(percentile(&times, 0.9)),
            },
        })
    });
    // Literal: the name is ours, never a pattern.
    let removed = c.call(ops::Delete::new(share, path).literal());
    let results = measured?;
    removed?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_repeats_the_block_and_the_check_catches_a_changed_byte() {
        let block = pattern_block();
        assert_eq!(block.len(), BLOCK);
        assert_eq!(block, pattern_block(), "deterministic");
        let len = 2 * BLOCK as u64 + 12345;
        let mut src = Source {
            block: &block,
            pos: 0,
            len,
        };
        let mut all = Vec::new();
        src.read_to_end(&mut all).unwrap();
        assert_eq!(all.len() as u64, len);
        assert_eq!(&all[BLOCK..2 * BLOCK], &block[..]);
        let mut check = Check {
            block: &block,
            pos: 0,
        };
        check.write_all(&all).unwrap();
        all[BLOCK + 7] ^= 1;
        let mut check = Check {
            block: &block,
            pos: 0,
        };
        let e = check.write_all(&all).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let d: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 0.5), Duration::from_millis(5));
        assert_eq!(percentile(&d, 0.9), Duration::from_millis(9));
        assert_eq!(percentile(&d[..1], 0.9), Duration::from_millis(1));
    }

    #[test]
    fn cpu_time_grows_with_work() {
        // Spins until the reading moves by a few ticks: how long that takes depends on
        // how busy the machine is, so only a generous wall-clock bound fails the test.
        let before = cpu_time().expect("/proc/self/stat on Linux");
        let t0 = Instant::now();
        let mut x = 0u64;
        loop {
            for _ in 0..100_000 {
                x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(7));
            }
            if cpu_time().unwrap() - before >= Duration::from_millis(30) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "a minute of spinning never showed as CPU time"
            );
        }
        std::hint::black_box(x);
    }
}
