//! The daemon's benchmark, against the real binary with the replay backend:
//!
//! 1. trigger-file-to-command-start latency, p50 and p99 over 1,000 triggers
//!    dropped one at a time (goal p50 ≤ 2 ms, p99 ≤ 5 ms), for both audit
//!    durabilities (`fsync` per record, the default, and `batched`);
//! 2. sustained jobs per second: 1,000 trigger files dropped at once;
//! 3. the idle daemon (no model loaded): resident memory (goal ≤ 20 MiB) and
//!    CPU time over 60 idle seconds (goal < 0.1 s).
//!
//! Baseline measured in the same run: spawning and reaping `/bin/true`
//! directly (what the job's one command costs without leash). Latencies are
//! printed as ratios against it and against the goals.
//!
//! Run: `cargo bench -p leash --bench daemon` (about 3–4 minutes; set
//! `LEASH_BENCH_TRIGGERS` to change the 1,000, `LEASH_BENCH_IDLE_S` the 60).
//! As root the daemon runs its commands as `nobody` (`security.run_as`, the
//! workspace handed to it), as a root install must; otherwise as the caller.
//!
//! "Command start" is the time stamp of the `command.started` record, which
//! is taken when its transaction begins, before that transaction's fsyncs:
//! the figure leaves out the last durable write before the spawn.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

fn triggers() -> usize {
    std::env::var("LEASH_BENCH_TRIGGERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

fn idle_seconds() -> u64 {
    std::env::var("LEASH_BENCH_IDLE_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
}

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(durability: &str, with_triggers: bool) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("drop")).unwrap();
        let workspace = root.join("ws");
        std::fs::create_dir_all(&workspace).unwrap();
        // As root, leash runs commands only as `security.run_as`: give the
        // workspace to `nobody` and say so (as `leash init` does for its user).
        let run_as = match leash_core::hand_over_if_root("nobody", &[&workspace]).unwrap() {
            Some(user) => format!("  run_as: {user}\n"),
            None => String::new(),
        };
        std::fs::write(
            root.join("transcript.yaml"),
            "play: by_expect\nresponses:\n  - text: '{\"actions\": [{\"run\": [\"true\"]}], \"done\": true}'\n",
        )
        .unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let monitoring = if with_triggers {
            "monitoring:\n  watch_directories: [drop]\n  watch_patterns: [\"*.task\"]\n  settle_ms: 50\n"
        } else {
            ""
        };
        std::fs::write(
            root.join("config.yaml"),
            format!(
                "model:\n  backend: replay\n  transcript: transcript.yaml\nsecurity:\n  execution_mode: auto-approve\n  workspace: ws\n  whitelist: [\"true\"]\n{run_as}{monitoring}agent:\n  max_steps: 1\n  min_free_memory_mb: 0\napi:\n  listen: \"127.0.0.1:{port}\"\nlogging:\n  level: error\n  audit_durability: {durability}\n"
            ),
        )
        .unwrap();
        Home { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn db(&self) -> PathBuf {
        self.root().join("state/leash/leash.db")
    }

    fn start(&self) -> Child {
        let root = self.root();
        let mut child = Command::new(env!("CARGO_BIN_EXE_leash"))
            .env_clear()
            .env("HOME", root)
            .env("XDG_STATE_HOME", root.join("state"))
            .env("XDG_CONFIG_HOME", root.join("cfg"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("RUST_LOG", "error")
            .current_dir(root)
            .args(["--json", "--config"])
            .arg(root.join("config.yaml"))
            .arg("daemon")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("\"ready\":true"), "not ready: {line}");
        child
    }

    fn conn(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_with_flags(
            self.db(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn
    }
}

fn stop(mut child: Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn to_unix_ms(ts: &str) -> f64 {
    let t: jiff::Timestamp = ts.parse().unwrap();
    t.as_nanosecond() as f64 / 1e6
}

fn now_unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as f64
        / 1e6
}

/// Latency of `n` triggers dropped one at a time: file written (closed) →
/// the `command.started` record of its job.
fn latency(durability: &str, n: usize) -> Vec<f64> {
    let home = Home::new(durability, true);
    let child = home.start();
    let conn = home.conn();
    let mut lat = Vec::with_capacity(n);
    // Only records after `last_seq` are read on each poll (seq is the primary
    // key), so polling stays cheap and does not disturb the daemon.
    let mut last_seq: i64 = 0;
    for i in 0..n {
        let path = home.root().join("drop").join(format!("t{i:05}.task"));
        std::fs::write(&path, b"x").unwrap();
        let written_at = now_unix_ms();
        let deadline = Instant::now() + Duration::from_secs(30);
        let ts: String = loop {
            let found: Option<(i64, String)> = conn
                .query_row(
                    "SELECT seq, ts FROM audit WHERE seq > ?1 AND kind = 'command.started' \
                     ORDER BY seq LIMIT 1",
                    [last_seq],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok();
            if let Some((seq, ts)) = found {
                last_seq = seq;
                break ts;
            }
            assert!(
                Instant::now() < deadline,
                "trigger {i} never started its command"
            );
            std::thread::sleep(Duration::from_millis(1));
        };
        lat.push(to_unix_ms(&ts) - written_at);
    }
    stop(child);
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    lat
}

/// Jobs per second with `n` files dropped at once.
fn throughput(durability: &str, n: usize) -> f64 {
    let home = Home::new(durability, true);
    let child = home.start();
    let conn = home.conn();
    let started = Instant::now();
    for i in 0..n {
        std::fs::write(home.root().join("drop").join(format!("b{i:05}.task")), b"x").unwrap();
    }
    while count(&conn, "SELECT count(*) FROM jobs WHERE state = 'done'") < n as i64 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "throughput run stalled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    stop(child);
    rate
}

fn proc_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn proc_cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks as f64 / hz
}

fn baseline_spawn_ms(n: usize) -> f64 {
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            Command::new("/bin/true").status().unwrap();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    percentile(&times, 0.5)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("daemon: bench");
        return;
    }
    let n = triggers();
    let base = baseline_spawn_ms(200);
    println!("baseline: spawn+reap /bin/true p50 {base:.3} ms");
    for durability in ["fsync", "batched"] {
        let lat = latency(durability, n);
        let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
        println!(
            "latency [{durability}] trigger file -> command start over {n}: p50 {p50:.2} ms ({:.2}x goal 2 ms, {:.1}x baseline), p99 {p99:.2} ms ({:.2}x goal 5 ms, {:.1}x baseline)",
            p50 / 2.0,
            p50 / base,
            p99 / 5.0,
            p99 / base
        );
        let rate = throughput(durability, n);
        println!("throughput [{durability}]: {rate:.1} jobs/s ({n} files dropped at once)");
    }
    let home = Home::new("fsync", true);
    let child = home.start();
    std::thread::sleep(Duration::from_secs(2));
    let pid = child.id();
    let rss = proc_rss_kib(pid);
    let cpu_before = proc_cpu_s(pid);
    let idle = idle_seconds();
    std::thread::sleep(Duration::from_secs(idle));
    let cpu = proc_cpu_s(pid) - cpu_before;
    let rss_after = proc_rss_kib(pid);
    println!(
        "idle daemon (replay backend, no model): RSS {:.1} MiB at start, {:.1} MiB after {idle} s ({:.2}x goal 20 MiB); CPU {cpu:.3} s over {idle} s ({:.2}x goal 0.1 s)",
        rss as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        rss_after as f64 / 1024.0 / 20.0,
        cpu / 0.1
    );
    stop(child);
}
