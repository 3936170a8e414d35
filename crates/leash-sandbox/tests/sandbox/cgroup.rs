//! The cgroup layer, for real: a daemon that leaves the process group with
//! `setsid` outlives the group kill but not the command's cgroup; the program
//! already runs inside its own cgroup at exec; the cgroup is gone afterwards;
//! the limits are in it where the controllers allow, and the test says why
//! when they do not.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use leash_sandbox::{
    CancelHandle, ExecOutcome, Executor, ExitKind, Layer, LayerReport, SandboxError,
};

use crate::{REPORT, Scratch, layer_active_or_say_skipped, report_without, text};

/// The script of a command that starts a daemon which leaves the process
/// group (`setsid`, double fork: the command's shell is not its parent),
/// writes its pid to `daemon.pid`, and then itself does `tail`.
fn daemonizing_script(tail: &str) -> String {
    format!(
        "( setsid sh -c 'echo $$ > daemon.pid; exec sleep 1000' </dev/null >/dev/null 2>&1 & ); \
         while [ ! -s daemon.pid ]; do sleep 0.05; done; {tail}"
    )
}

/// True while `pid` runs (gone, zombie or dead count as not running).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next())
        })
        .is_some_and(|state| !matches!(state, 'Z' | 'X'))
}

/// Waits up to 3 s for `pid` to stop running; true when it did.
fn stops_running(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while running(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn daemon_pid(scratch: &Scratch) -> i32 {
    std::fs::read_to_string(scratch.work.join("daemon.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The seccomp layer denies `setsid`; without it a descendant can leave the
/// group, which is the case the cgroup exists for.
fn escapable(mut without: Vec<Layer>) -> LayerReport {
    without.push(Layer::Seccomp);
    report_without(&without)
}

/// Runs the daemonizing command under `report`, returns how it ended and
/// whether the daemon was still running after the run (the daemon is then
/// killed here, so no test leaves it behind).
fn daemon_survives(report: LayerReport, tail: &str, timeout: Duration) -> (ExitKind, bool) {
    let (outcome, survived) = run_daemonizing(report, tail, timeout, None);
    (outcome.status, survived)
}

/// The same, optionally cancelling the run through a handle as soon as the
/// daemon has written its pid.
fn run_daemonizing(
    report: LayerReport,
    tail: &str,
    timeout: Duration,
    cancel: Option<CancelHandle>,
) -> (ExecOutcome, bool) {
    let scratch = Scratch::new();
    let mut spec = scratch.sh(&daemonizing_script(tail));
    spec.limits.timeout = timeout;
    spec.limits.kill_grace = Duration::from_millis(300);
    let executor = Executor::new(report);
    let outcome = match cancel {
        None => executor.run(&spec).unwrap(),
        Some(handle) => {
            let pid_file = scratch.work.join("daemon.pid");
            let canceller = handle.clone();
            let thread = std::thread::spawn(move || {
                while std::fs::read_to_string(&pid_file).map_or(true, |s| !s.ends_with('\n')) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                canceller.cancel();
            });
            let outcome = executor.run_cancellable(&spec, &handle).unwrap();
            thread.join().unwrap();
            outcome
        }
    };
    let pid = daemon_pid(&scratch);
    let survived = !stops_running(pid);
    if survived {
        // SAFETY: kill with a positive pid and SIGKILL: cleaning up the escapee.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    (outcome, survived)
}

#[test]
fn setsid_daemon_escapes_the_group_kill_but_not_the_cgroup_at_timeout() {
    if !layer_active_or_say_skipped(Layer::Cgroup, "setsid daemon killed at the timeout") {
        return;
    }
    // Today's layers alone: the group kill misses the daemon.
    let (status, survived) = daemon_survives(
        escapable(vec![Layer::Cgroup]),
        "sleep 1000",
        Duration::from_secs(1),
    );
    assert_eq!(status, ExitKind::TimedOut);
    assert!(
        survived,
        "control: without the cgroup the setsid daemon should outlive the group kill"
    );
    // With the cgroup: killed with the command.
    let (status, survived) =
        daemon_survives(escapable(Vec::new()), "sleep 1000", Duration::from_secs(1));
    assert_eq!(status, ExitKind::TimedOut);
    assert!(!survived, "the setsid daemon outlived the command's cgroup");
}

#[test]
fn setsid_daemon_left_behind_by_a_finished_command_is_killed() {
    if !layer_active_or_say_skipped(Layer::Cgroup, "setsid daemon killed at the command's end") {
        return;
    }
    let (status, survived) = daemon_survives(
        escapable(vec![Layer::Cgroup]),
        "exit 0",
        Duration::from_secs(30),
    );
    assert_eq!(status, ExitKind::Exited(0));
    assert!(
        survived,
        "control: without the cgroup the daemon should outlive its command"
    );
    let (status, survived) =
        daemon_survives(escapable(Vec::new()), "exit 0", Duration::from_secs(30));
    assert_eq!(status, ExitKind::Exited(0));
    assert!(!survived, "the setsid daemon outlived its command's end");
}

#[test]
fn cancelling_kills_the_command_and_its_setsid_daemon() {
    if !layer_active_or_say_skipped(Layer::Cgroup, "setsid daemon killed at cancellation") {
        return;
    }
    let cancel = || Some(CancelHandle::new().unwrap());
    let timeout = Duration::from_secs(60);
    // Today's layers alone: the command ends, the daemon stays.
    let (outcome, survived) = run_daemonizing(
        escapable(vec![Layer::Cgroup]),
        "sleep 1000",
        timeout,
        cancel(),
    );
    assert!(outcome.cancelled);
    assert!(
        survived,
        "control: without the cgroup the daemon should outlive the cancel"
    );
    let (outcome, survived) =
        run_daemonizing(escapable(Vec::new()), "sleep 1000", timeout, cancel());
    eprintln!(
        "cancelled: {:?} after {:?}",
        outcome.status, outcome.duration
    );
    assert!(outcome.cancelled);
    assert_eq!(outcome.limit_hit, None);
    assert!(
        matches!(
            outcome.status,
            ExitKind::Signaled {
                signal: libc::SIGKILL,
                ..
            }
        ),
        "{:?}",
        outcome.status
    );
    assert!(
        outcome.duration < Duration::from_secs(20),
        "{:?}",
        outcome.duration
    );
    assert!(
        !survived,
        "the setsid daemon outlived the cancelled command"
    );
}

#[test]
fn a_run_cancelled_before_the_spawn_starts_nothing() {
    let scratch = Scratch::new();
    let marker = scratch.work.join("marker");
    let spec = scratch.sh(&format!("touch {}", marker.display()));
    let handle = CancelHandle::new().unwrap();
    handle.cancel();
    let err = crate::executor()
        .run_cancellable(&spec, &handle)
        .unwrap_err();
    assert!(matches!(err, SandboxError::Cancelled { .. }), "{err:?}");
    assert!(!marker.exists());
}

/// The cgroup2 mount point, from this process's mountinfo.
fn cgroup2_mount() -> PathBuf {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mountinfo
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            (right.split_whitespace().next()? == "cgroup2")
                .then(|| PathBuf::from(left.split_whitespace().nth(4).unwrap()))
        })
        .unwrap()
}

/// The `0::` path a command printed from its own `/proc/self/cgroup`.
fn printed_v2_path(stdout: &[u8]) -> String {
    text(stdout)
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap()
        .to_owned()
}

#[test]
fn the_program_runs_in_its_own_cgroup_which_is_removed_afterwards() {
    if !layer_active_or_say_skipped(Layer::Cgroup, "own cgroup per command") {
        return;
    }
    let scratch = Scratch::new();
    let spec = scratch.spec("/bin/cat", &["cat", "/proc/self/cgroup"]);
    let executor = crate::executor();
    let first = executor.run(&spec).unwrap();
    let second = executor.run(&spec).unwrap();
    let (a, b) = (
        printed_v2_path(&first.stdout.bytes),
        printed_v2_path(&second.stdout.bytes),
    );
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own = own.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    eprintln!("leash's cgroup {own}; commands ran in {a} and {b}");
    assert_ne!(a, own, "the program ran in leash's own cgroup");
    assert_ne!(a, b, "two commands shared a cgroup");
    let name = a.rsplit('/').next().unwrap();
    assert!(
        name.starts_with(&format!("leash-{}-", std::process::id())),
        "{a}"
    );
    assert!(first.layers_active.contains(&Layer::Cgroup));
    for path in [a, b] {
        let dir = cgroup2_mount().join(path.trim_start_matches('/'));
        assert!(!dir.exists(), "{} was left behind", dir.display());
    }
}

#[test]
fn limits_are_written_to_the_cgroup_or_the_test_says_why_not() {
    if !layer_active_or_say_skipped(Layer::Cgroup, "cgroup limits") {
        return;
    }
    let detail = REPORT.status(Layer::Cgroup).detail.unwrap_or_default();
    if detail.contains("not available in the cgroup v2 hierarchy") {
        // Printed, not silent: on hybrid machines (v1 controllers) no limit can be set.
        eprintln!("cannot check pids.max/memory.max/cpu.max here: {detail}");
        assert!(
            detail.starts_with("one cgroup per command under "),
            "{detail}"
        );
        return;
    }
    let scratch = Scratch::new();
    let mount = cgroup2_mount();
    let mut spec = scratch.sh(&format!(
        "d={}$(sed -n 's/^0:://p' /proc/self/cgroup); cat $d/pids.max $d/memory.max $d/cpu.max",
        mount.display()
    ));
    spec.read_roots.push(mount);
    spec.limits.max_processes = 7;
    spec.limits.memory_mb = 100;
    spec.limits.cpu_percent = 50;
    let outcome = crate::executor().run(&spec).unwrap();
    assert_eq!(
        text(&outcome.stdout.bytes),
        format!("7\n{}\n50000 100000\n", 100 * 1024 * 1024),
        "stderr: {}",
        text(&outcome.stderr.bytes)
    );
}
