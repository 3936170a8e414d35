//! A trigger's `on:` key (issue 13 item 3), end to end: a file trigger on A
//! with `on: c` becomes a durable job on A, is handed over through a real
//! nats-server, and runs on C under C's config and policy; A records the
//! hand-over and, later, C's end of the job. Also measures the hand-off
//! latency from the trigger file on A to the command starting on C.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::TestHome;
use common::daemon::{DaemonProcess, wait_for};
use common::fleet::{nats, records_of, replay_device};

const DEVICES: &[(&str, &str)] = &[("a", "pw-a"), ("c", "pw-c")];

fn device(home: &TestHome, name: &str, url: &str, extra: &str, trusted: &[&str]) -> PathBuf {
    let password = DEVICES.iter().find(|(d, _)| *d == name).unwrap().1;
    let config = replay_device(home, (name, password), url, trusted, "", extra);
    std::fs::create_dir_all(config.parent().unwrap().join("drop")).unwrap();
    config
}

const HAND_OVER: &str = r#"monitoring:
  watch_directories: [drop]
  settle_ms: 50
triggers:
  - name: handoff
    kind: file
    pattern: "*.task"
    prompt: "handle the task"
    on: c
"#;

#[test]
fn a_trigger_with_on_runs_its_job_on_that_device() {
    let root = tempfile::tempdir().unwrap();
    let Some(server) = nats(root.path(), DEVICES) else {
        return;
    };
    let (a, c) = (TestHome::new(), TestHome::new());
    let a_conf = device(&a, "a", &server.url(), HAND_OVER, &[]);
    let c_conf = device(&c, "c", &server.url(), "", &["a"]);
    let a_daemon = DaemonProcess::start(&a, &a_conf, &[]);
    let c_daemon = DaemonProcess::start(&c, &c_conf, &[]);
    assert!(wait_for(Duration::from_secs(30), || {
        !records_of(&a, "fleet.joined").is_empty() && !records_of(&c, "fleet.joined").is_empty()
    }));
    let drop_dir = a_conf.parent().unwrap().join("drop");
    let rounds = 10;
    let mut latencies = Vec::new();
    for i in 0..rounds {
        let before = jiff::Timestamp::now();
        std::fs::write(
            drop_dir.join(format!("t{i}.task")),
            format!("payload {i}\n"),
        )
        .unwrap();
        assert!(
            wait_for(Duration::from_secs(30), || records_of(
                &c,
                "command.started"
            )
            .len()
                > i),
            "job {i} never started on C\nA: {}\nC: {}",
            a_daemon.stderr(),
            c_daemon.stderr()
        );
        let started = records_of(&c, "command.started");
        let at: jiff::Timestamp = started[i]["ts"].as_str().unwrap().parse().unwrap();
        latencies.push(at.duration_since(before).as_secs_f64() * 1000.0);
    }
    assert!(c.workspace().join("ran-on-c").exists());
    assert!(
        !a.workspace().join("ran-on-a").exists(),
        "A ran the job itself"
    );
    assert!(records_of(&a, "command.started").is_empty());
    let forwarded = records_of(&a, "fleet.job.forwarded");
    assert_eq!(forwarded.len(), rounds, "{forwarded:?}");
    assert_eq!(forwarded[0]["payload"]["to"], "c");
    // The trigger's data travelled as data, not as part of the task.
    let conn = rusqlite::Connection::open(common::daemon::database(&c)).unwrap();
    let (prompt, payload): (String, String) = conn
        .query_row(
            "SELECT prompt, payload FROM jobs WHERE trigger_kind = 'fleet' ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(prompt.starts_with("handle the task"), "{prompt}");
    assert!(!prompt.contains("payload 0"), "{prompt}");
    assert!(payload.contains("payload 0"), "{payload}");
    let admitted = records_of(&c, "fleet.job.admitted");
    assert_eq!(admitted.len(), rounds);
    assert_eq!(admitted[0]["payload"]["from"], "a");
    assert!(wait_for(Duration::from_secs(30), || records_of(
        &a,
        "fleet.job.ended"
    )
    .len()
        == rounds));
    let ended = records_of(&a, "fleet.job.ended");
    assert!(
        ended.iter().all(|r| r["payload"]["state"] == "done"),
        "{ended:#?}"
    );
    latencies.sort_by(f64::total_cmp);
    let p = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    eprintln!(
        "trigger on A → command.started on C over {rounds} jobs: p50 {:.1} ms, p99 {:.1} ms",
        p(0.5),
        p(0.99)
    );
    a_daemon.stop();
    c_daemon.stop();
    a.assert_audit_verifies();
    c.assert_audit_verifies();
}
