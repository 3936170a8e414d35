//! The resource governor in a real daemon: a job queued while the device is
//! hot waits (queued, durable), survives a `kill -9` and restart while still
//! hot, and runs once the device cools below `device.resume_temp_c`; every
//! change is in the audit log with its reason.
//!
//! The device is a stand-in: a fake sysfs tree (`device.sys_root`)
//! whose thermal zone the test heats and cools, since a test machine's real
//! sensors cannot be driven. The readings code is the real one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::TestHome;
use common::daemon::{DaemonProcess, free_port, job_states, wait_for};

fn set_temp(sys: &Path, millicelsius: u32) {
    let zone = sys.join("class/thermal/thermal_zone0");
    std::fs::create_dir_all(&zone).unwrap();
    // Written whole then renamed: the daemon never reads half a number.
    let tmp = zone.join("temp.tmp");
    std::fs::write(&tmp, format!("{millicelsius}\n")).unwrap();
    std::fs::rename(&tmp, zone.join("temp")).unwrap();
}

#[test]
fn a_job_queued_while_hot_waits_survives_a_restart_and_runs_after_cooling() {
    let home = TestHome::new();
    let dir = home.root().join("gov");
    let sys = dir.join("sys");
    let proc_root = dir.join("proc");
    std::fs::create_dir_all(dir.join("drop")).unwrap();
    std::fs::create_dir_all(&proc_root).unwrap();
    set_temp(&sys, 45_000);
    std::fs::write(
        dir.join("transcript.yaml"),
        "play: by_expect\nresponses:\n  - text: '{\"actions\": [{\"run\": [\"true\"]}], \"done\": true}'\n",
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
device:
  sys_root: sys
  proc_root: proc
  max_temp_c: 40
  resume_temp_c: 37
  interval_s: 1
logging:
  level: warn
"#,
    )
    .unwrap();
    let config = dir.join("config.yaml");
    let port = format!("api.listen=127.0.0.1:{}", free_port());
    let start = || DaemonProcess::start(&home, &config, &["--set", &port]);

    let daemon = start();
    std::fs::write(dir.join("drop/battery.task"), "check\n").unwrap();
    assert!(
        wait_for(Duration::from_secs(20), || job_states(&home).len() == 1),
        "the trigger did not become a job\n{}",
        daemon.stderr()
    );
    // Several readings later, still hot: the job waits, queued.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(job_states(&home)[0].1, "queued", "{}", daemon.stderr());

    // A crash while paused loses nothing, and a restart on a hot device
    // does not start the job either (the first reading comes before the worker).
    daemon.kill9();
    let daemon = start();
    std::thread::sleep(Duration::from_secs(2));
    let states = job_states(&home);
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].1, "queued", "{}", daemon.stderr());

    // `leash status` shows why.
    let out = home
        .leash()
        .args(["--json", "--config"])
        .arg(&config)
        .args(["--set", &port, "status"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["governor"]["gate"], "paused", "{status}");
    assert_eq!(
        status["governor"]["last_reading"]["temp_c"], 45.0,
        "{status}"
    );
    assert_eq!(status["queue"]["queued"], 1, "{status}");

    // Cooler, but not below the resume line: still paused (hysteresis).
    set_temp(&sys, 38_500);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(job_states(&home)[0].1, "queued", "{}", daemon.stderr());

    // Below the resume line: the job runs.
    set_temp(&sys, 36_000);
    assert!(
        wait_for(Duration::from_secs(20), || job_states(&home)[0].1 == "done"),
        "the job did not run after cooling: {:?}\n{}",
        job_states(&home),
        daemon.stderr()
    );
    daemon.stop();

    let records = home.audit_records();
    let changes: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["kind"] == "governor.changed" || r["event"] == "governor.changed")
        .collect();
    assert!(!changes.is_empty(), "no governor.changed record");
    let text = serde_json::to_string(&changes).unwrap();
    assert!(text.contains("hot: 45.0"), "{text}");
    assert!(text.contains("\"gate\":\"open\""), "{text}");
}
