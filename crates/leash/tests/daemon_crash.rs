//! Crash test: 500 trigger files dropped while the daemon runs, `kill -9`
//! twice in the middle, then a restart. Every file must end in `done/` or
//! `failed/` exactly once, every job must end, no command may run twice for
//! one job, and the audit chain must verify.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::TestHome;
use common::daemon::{DaemonProcess, free_port, is_terminal, job_states, wait_for};

const FILES: usize = 500;

fn setup() -> (TestHome, std::path::PathBuf) {
    let home = TestHome::new();
    let dir = home.root().join("crash");
    std::fs::create_dir_all(dir.join("drop")).unwrap();
    std::fs::write(
        dir.join("transcript.yaml"),
        r#"play: by_expect
responses:
  - text: '{"actions": [{"run": ["true"]}], "done": true}'
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        r#"model:
  backend: replay
  transcript: transcript.yaml
security:
  execution_mode: auto-approve
  workspace: .
  whitelist: ["true"]
monitoring:
  watch_directories: [drop]
  watch_patterns: ["*.task"]
  settle_ms: 100
agent:
  max_steps: 2
  min_free_memory_mb: 0
approvals:
  # A re-run of an interrupted job asks before repeating a command; nobody
  # answers here, so such a repeat is denied after a second.
  expiry_s: 1
daemon:
  requeue_interrupted: 1
  shutdown_grace_s: 5
logging:
  level: warn
"#,
    )
    .unwrap();
    (home, dir)
}

fn terminal_count(home: &TestHome) -> usize {
    job_states(home)
        .iter()
        .filter(|(_, s)| is_terminal(s))
        .count()
}

#[test]
fn five_hundred_files_two_kill9s_every_file_once_every_job_ended_nothing_twice() {
    let (home, dir) = setup();
    let config = dir.join("config.yaml");
    let port = format!("api.listen=127.0.0.1:{}", free_port());
    let start = || DaemonProcess::start(&home, &config, &["--set", &port]);
    let started = Instant::now();

    let daemon = start();
    for n in 0..FILES {
        std::fs::write(
            dir.join("drop").join(format!("t{n:03}.task")),
            format!("task {n}\n"),
        )
        .unwrap();
    }
    // First crash after about a fifth of the work.
    assert!(
        wait_for(Duration::from_secs(120), || terminal_count(&home)
            >= FILES / 5),
        "no progress: {:?}\n{}",
        job_states(&home).len(),
        daemon.stderr()
    );
    daemon.kill9();
    let after_first = terminal_count(&home);

    // Second crash a while after the restart.
    let daemon = start();
    assert!(
        wait_for(Duration::from_secs(180), || terminal_count(&home)
            >= after_first + FILES / 4),
        "no progress after the first restart\n{}",
        daemon.stderr()
    );
    daemon.kill9();

    let daemon = start();
    let all_done = wait_for(Duration::from_secs(600), || {
        let jobs = job_states(&home);
        jobs.len() >= FILES && jobs.iter().all(|(_, s)| is_terminal(s))
    });
    let jobs = job_states(&home);
    assert!(
        all_done,
        "not every job ended: {} jobs, states {:?}\n{}",
        jobs.len(),
        jobs.iter().fold(BTreeMap::new(), |mut m, (_, s)| {
            *m.entry(s.clone()).or_insert(0) += 1;
            m
        }),
        daemon.stderr()
    );
    assert_eq!(daemon.stop(), 0);
    eprintln!(
        "crash test: {} jobs ended in {:.1?}",
        jobs.len(),
        started.elapsed()
    );

    // Every file exactly once in done/ or failed/, none left anywhere else.
    let leash = dir.join("drop/.leash");
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for end in ["done", "failed"] {
        for entry in std::fs::read_dir(leash.join(end)).into_iter().flatten() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".result.json") {
                continue;
            }
            assert!(seen.insert(name.clone()), "{name} ended twice");
        }
    }
    let expected: BTreeSet<String> = (0..FILES).map(|n| format!("t{n:03}.task")).collect();
    assert_eq!(seen, expected, "every trigger file must end exactly once");
    let processing: Vec<_> = std::fs::read_dir(leash.join("processing"))
        .into_iter()
        .flatten()
        .collect();
    assert!(processing.is_empty(), "left in processing/: {processing:?}");
    let left: Vec<_> = std::fs::read_dir(dir.join("drop"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != ".leash")
        .collect();
    assert!(left.is_empty(), "never claimed: {left:?}");

    // One job per file, and no command ran twice for one job.
    assert_eq!(jobs.len(), FILES, "one job per file");
    let records = home.audit_records();
    let mut started_per_job: BTreeMap<i64, usize> = BTreeMap::new();
    for record in &records {
        if record["kind"] == "command.started" {
            *started_per_job
                .entry(record["job_id"].as_i64().unwrap())
                .or_insert(0) += 1;
        }
    }
    let twice: Vec<_> = started_per_job.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "commands ran twice in jobs {twice:?}");
    let interrupted = records
        .iter()
        .filter(|r| r["kind"] == "job.state" && r["payload"]["to"] == "interrupted")
        .count();
    eprintln!("crash test: {interrupted} job(s) were interrupted by the kills");
    home.assert_audit_verifies();
}
