//! The `watch` trigger kind in a real daemon, on examples/battery-low's Linux
//! variant: `cat battery.json` (a stand-in for termux-battery-status, which
//! needs the Android app) runs through the policy and the sandbox every two
//! seconds; draining the "battery" under 15 % while unplugged fires exactly
//! one job, whose payload carries the old and the new output; the same
//! reading does not fire again, a reading that does not match does not fire,
//! and a watch command the policy does not allow never runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::time::Duration;

use common::TestHome;
use common::daemon::{DaemonProcess, copy_example, free_port, job_states, wait_for};

fn set_battery(dir: &std::path::Path, pct: u32, plugged: &str) {
    let text = format!(
        "{{\n  \"health\": \"GOOD\",\n  \"percentage\": {pct},\n  \"plugged\": \"{plugged}\",\n  \"status\": \"DISCHARGING\",\n  \"temperature\": 31.2\n}}\n"
    );
    let tmp = dir.join("battery.json.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join("battery.json")).unwrap();
}

#[test]
fn a_low_unplugged_battery_fires_one_job_with_old_and_new_output() {
    let home = TestHome::new();
    let dir = home.root().join("battery-low");
    copy_example("battery-low", &dir);
    let config = dir.join("config.linux.yaml");
    let port = format!("api.listen=127.0.0.1:{}", free_port());
    let daemon = DaemonProcess::start(&home, &config, &["--set", &port]);

    // Changes that do not match (still above 15 %, or plugged in) fire nothing.
    set_battery(&dir, 40, "UNPLUGGED");
    std::thread::sleep(Duration::from_secs(3));
    set_battery(&dir, 10, "AC");
    std::thread::sleep(Duration::from_secs(3));
    assert!(job_states(&home).is_empty(), "{}", daemon.stderr());

    set_battery(&dir, 12, "UNPLUGGED");
    assert!(
        wait_for(Duration::from_secs(20), || job_states(&home)
            .iter()
            .any(|(_, s)| s == "done")),
        "no job ran: {:?}\n{}",
        job_states(&home),
        daemon.stderr()
    );
    // The same reading stays one job.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(job_states(&home).len(), 1, "{}", daemon.stderr());
    daemon.stop();

    let records = home.audit_records();
    let queued = records
        .iter()
        .find(|r| r["kind"] == "job.queued")
        .expect("a job.queued record");
    let text = serde_json::to_string(queued).unwrap();
    assert!(text.contains("watch"), "{text}");
    let all = serde_json::to_string(&records).unwrap();
    assert!(
        all.contains("\\\"percentage\\\": 12"),
        "the new output is not in the job"
    );
    assert!(
        all.contains("\\\"percentage\\\": 10"),
        "the old output is not in the job"
    );
    assert!(
        all.contains("Battery 12% and not charging"),
        "no notification"
    );
}

#[test]
fn a_watch_command_the_policy_does_not_allow_never_runs() {
    let home = TestHome::new();
    let dir = home.root().join("battery-low");
    copy_example("battery-low", &dir);
    // `touch` is not on the whitelist: the watch must not run it, so the
    // file it would create never appears and no job fires.
    let config = std::fs::read_to_string(dir.join("config.linux.yaml"))
        .unwrap()
        .replace("command: [cat, battery.json]", "command: [touch, pwned]")
        .replace("match: ", "# match: ");
    std::fs::write(dir.join("config.linux.yaml"), config).unwrap();
    let port = format!("api.listen=127.0.0.1:{}", free_port());
    let daemon = DaemonProcess::start(&home, &dir.join("config.linux.yaml"), &["--set", &port]);
    std::thread::sleep(Duration::from_secs(5));
    assert!(!dir.join("pwned").exists(), "a denied watch command ran");
    assert!(job_states(&home).is_empty());
    let stderr = daemon.stderr();
    daemon.stop();
    let records = serde_json::to_string(&home.audit_records()).unwrap();
    assert!(
        records.contains("touch"),
        "the refusal is not audited: {stderr}"
    );
}
