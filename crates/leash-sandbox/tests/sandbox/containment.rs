//! Resource abuse, done for real: fork bomb, memory hog, disk fill, output
//! flood, sleeping past the timeout with a grandchild, CPU spin.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use leash_sandbox::{ExitKind, LimitKind, Limits, RunAs};

use crate::{Scratch, executor, running_as_root, text};

/// The identity the fork bomb runs as when the tests run as root: a uid of its
/// own, with no passwd entry, that no other process on the machine uses. Not
/// `nobody`: other tests (and other test binaries running at the same time) hand
/// their children to `nobody`, and those tasks would count against the bomb's
/// RLIMIT_NPROC and in its peak, making the exact bound below racy.
const BOMB_USER: RunAs = RunAs {
    uid: 61_999,
    gid: 61_999,
};

/// Tasks (threads included) whose real uid is `uid`, and how many are zombies.
fn tasks_of(uid: u32) -> (u64, u64) {
    let mut tasks = 0;
    let mut zombies = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.split_whitespace().next().unwrap_or("").to_owned())
        };
        if field("Uid:").and_then(|u| u.parse::<u32>().ok()) == Some(uid) {
            tasks += field("Threads:")
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(1);
            if field("State:").as_deref() == Some("Z") {
                zombies += 1;
            }
        }
    }
    (tasks, zombies)
}

/// VmHWM (peak resident set) of this test process in KiB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn fork_bomb_is_contained_and_the_machine_stays_healthy() {
    let scratch = Scratch::new();
    // Every process forks forever and shrugs off EAGAIN: the bomb keeps pushing
    // against the limit until the timeout kills the whole group.
    let bomb = "import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.05)";
    let mut spec = scratch.spec("/usr/bin/python3", &["python3", "-c", bomb]);
    spec.limits = Limits {
        timeout: Duration::from_secs(3),
        kill_grace: Duration::from_millis(500),
        max_processes: 32,
        ..Limits::default()
    };
    // RLIMIT_NPROC does not bind root. As root, the bomb runs as a uid of its own, so the
    // limit the executor sets is the one the kernel enforces.
    let uid = if running_as_root() {
        std::os::unix::fs::chown(&scratch.work, Some(BOMB_USER.uid), Some(BOMB_USER.gid)).unwrap();
        spec.run_as = Some(BOMB_USER);
        eprintln!(
            "fork bomb: this test runs as root, which RLIMIT_NPROC exempts; the bomb runs as \
             uid {} (run_as), where RLIMIT_NPROC = its tasks + 32 holds it; the timeout kills \
             the group",
            BOMB_USER.uid
        );
        BOMB_USER.uid
    } else {
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        eprintln!(
            "fork bomb: runs as uid {uid}: RLIMIT_NPROC = its tasks + 32 holds it; the timeout kills the group"
        );
        uid
    };
    let (baseline, _) = tasks_of(uid);

    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let monitor = {
        let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(tasks_of(uid).0, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let started = Instant::now();
    let outcome = executor().run(&spec).unwrap();
    stop.store(true, Ordering::Relaxed);
    monitor.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    eprintln!(
        "fork bomb: baseline {baseline} tasks of uid {uid}, peak {peak}, status {:?}, {:?}, stderr {} bytes",
        outcome.status,
        started.elapsed(),
        outcome.stderr.total_bytes
    );

    assert_eq!(outcome.status, ExitKind::TimedOut);
    assert_eq!(outcome.limit_hit, Some(LimitKind::Timeout));
    if uid == BOMB_USER.uid {
        // Nothing else runs as this uid: the kernel's limit is exact.
        assert!(
            peak <= baseline + 32,
            "peak {peak} tasks > baseline {baseline} + 32"
        );
    } else {
        // Other tests of this binary run as the same uid; allow for them.
        assert!(
            peak <= baseline + 32 + 64,
            "peak {peak} tasks, baseline {baseline}"
        );
    }
    assert!(
        peak >= baseline + 16,
        "the bomb never got going: peak {peak}, baseline {baseline}"
    );

    // Machine unharmed: the group is gone (zombies wait for the reaper) and a
    // new process starts.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (tasks, zombies) = tasks_of(uid);
        if uid != BOMB_USER.uid || tasks == zombies + baseline || Instant::now() > deadline {
            if uid == BOMB_USER.uid {
                assert_eq!(
                    tasks - zombies,
                    baseline,
                    "live bomb processes survived the run"
                );
                eprintln!(
                    "fork bomb: after the run {tasks} tasks of uid {uid} remain, {zombies} of them zombies awaiting init"
                );
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        std::process::Command::new("/bin/true")
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn two_gib_allocation_is_stopped_by_the_memory_limit() {
    let scratch = Scratch::new();
    let script = "b = bytearray(2 << 30); print('allocated', len(b))";
    let mut spec = scratch.spec("/usr/bin/python3", &["python3", "-c", script]);
    spec.limits.memory_mb = 256;
    let outcome = executor().run(&spec).unwrap();
    let stderr = text(&outcome.stderr.bytes);
    eprintln!(
        "memory hog: status {:?}, max_rss {} KiB, stderr: {stderr}",
        outcome.status, outcome.max_rss_kb
    );
    assert_ne!(outcome.status, ExitKind::Exited(0));
    assert!(stderr.contains("MemoryError"), "{stderr}");
    assert!(!text(&outcome.stdout.bytes).contains("allocated"));
    assert!(
        outcome.max_rss_kb < 256 * 1024,
        "max_rss {} KiB",
        outcome.max_rss_kb
    );

    // Control: the same program under a 4 GiB limit gets its 2 GiB (calloc'd,
    // untouched pages), so the limit is what stopped it above.
    spec.limits.memory_mb = 4096;
    let control = executor().run(&spec).unwrap();
    assert_eq!(
        control.status,
        ExitKind::Exited(0),
        "{}",
        text(&control.stderr.bytes)
    );
    assert_eq!(
        text(&control.stdout.bytes),
        format!("allocated {}\n", 2u64 << 30)
    );
}

#[test]
fn disk_fill_is_stopped_by_the_file_size_limit() {
    let scratch = Scratch::new();
    let mut spec = scratch.spec(
        "/usr/bin/dd",
        &["dd", "if=/dev/zero", "of=fill", "bs=1M", "count=100"],
    );
    spec.limits.file_size_mb = 4;
    let outcome = executor().run(&spec).unwrap();
    let size = std::fs::metadata(scratch.work.join("fill")).unwrap().len();
    eprintln!("disk fill: status {:?}, file {size} bytes", outcome.status);
    assert_eq!(
        outcome.status,
        ExitKind::Signaled {
            signal: libc::SIGXFSZ,
            name: "SIGXFSZ".into()
        }
    );
    assert_eq!(outcome.limit_hit, Some(LimitKind::FileSize));
    assert_eq!(size, 4 << 20);
}

#[test]
fn output_flood_is_capped_while_memory_stays_bounded() {
    const FLOOD: u64 = 100 << 20;
    let scratch = Scratch::new();
    // 100 MiB on stdout and 100 MiB on stderr at the same time: both must be
    // drained concurrently or the writer blocks forever.
    let spec = scratch.sh(&format!(
        "head -c {FLOOD} /dev/zero >&2 & head -c {FLOOD} /dev/zero; wait"
    ));
    let before = peak_rss_kb();
    let outcome = executor().run(&spec).unwrap();
    let after = peak_rss_kb();
    eprintln!(
        "output flood: {} + {} bytes written, {} + {} kept; test process peak RSS {before} KiB -> {after} KiB",
        outcome.stdout.total_bytes,
        outcome.stderr.total_bytes,
        outcome.stdout.bytes.len(),
        outcome.stderr.bytes.len()
    );
    assert_eq!(outcome.status, ExitKind::Exited(0));
    assert_eq!(outcome.limit_hit, Some(LimitKind::Output));
    for stream in [&outcome.stdout, &outcome.stderr] {
        assert_eq!(stream.total_bytes, FLOOD);
        assert_eq!(stream.bytes.len(), 256 * 1024);
        assert!(stream.truncated);
        assert!(
            stream
                .render_text()
                .ends_with("[leash: output truncated: 104857600 bytes written, 262144 kept]")
        );
    }
    assert!(
        after.saturating_sub(before) < 32 * 1024,
        "peak RSS grew by {} KiB while 200 MiB were written",
        after - before
    );
}

#[test]
fn sleep_past_timeout_is_killed_with_its_grandchild() {
    let scratch = Scratch::new();
    // The grandchild ignores SIGTERM, so only the SIGKILL to the group ends it.
    let mut spec =
        scratch.sh("sh -c 'trap \"\" TERM; while :; do sleep 1; done' & echo $!; sleep 1000");
    spec.limits.timeout = Duration::from_secs(1);
    spec.limits.kill_grace = Duration::from_millis(500);
    let outcome = executor().run(&spec).unwrap();
    let grandchild: i32 = text(&outcome.stdout.bytes).trim().parse().unwrap();
    eprintln!(
        "timeout: status {:?} after {:?}, grandchild pid {grandchild}",
        outcome.status, outcome.duration
    );
    assert_eq!(outcome.status, ExitKind::TimedOut);
    assert_eq!(outcome.limit_hit, Some(LimitKind::Timeout));
    assert!(outcome.duration >= Duration::from_secs(1));
    assert!(
        outcome.duration < Duration::from_secs(10),
        "{:?}",
        outcome.duration
    );

    // Gone, or a zombie waiting for init to reap it: either way not running.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.chars().next()))
            .flatten();
        match state {
            None | Some('Z') | Some('X') => break,
            Some(other) if Instant::now() > deadline => {
                panic!("grandchild {grandchild} still running (state {other})")
            }
            Some(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[test]
fn background_leftovers_are_killed_when_the_leader_exits() {
    let scratch = Scratch::new();
    let spec = scratch.sh("sleep 1000 & echo $!");
    let outcome = executor().run(&spec).unwrap();
    assert_eq!(outcome.status, ExitKind::Exited(0));
    assert!(
        outcome.duration < Duration::from_secs(5),
        "{:?}",
        outcome.duration
    );
    let pid: i32 = text(&outcome.stdout.bytes).trim().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z")) {
        assert!(
            Instant::now() < deadline,
            "background sleep {pid} survived its leader"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn cpu_spin_is_stopped_by_the_cpu_limit() {
    let scratch = Scratch::new();
    let mut spec = scratch.sh("while :; do :; done");
    spec.limits.cpu_s = 1;
    let outcome = executor().run(&spec).unwrap();
    eprintln!(
        "cpu spin: status {:?}, cpu {:?}, wall {:?}",
        outcome.status, outcome.cpu_time, outcome.duration
    );
    assert_eq!(
        outcome.status,
        ExitKind::Signaled {
            signal: libc::SIGXCPU,
            name: "SIGXCPU".into()
        }
    );
    assert_eq!(outcome.limit_hit, Some(LimitKind::Cpu));
    // rusage's tick-sampled user/system split can read a little under the
    // scheduler's exact runtime the limit is checked against.
    assert!(
        outcome.cpu_time >= Duration::from_millis(500),
        "{:?}",
        outcome.cpu_time
    );
}
