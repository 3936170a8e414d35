//! Remote inference through the fleet (issue 13 item 2), end to end: a real
//! nats-server with per-device users and real `leash daemon`s. B offers its
//! model (the replay backend: a real backend playing a transcript); A names
//! `fleet: b/default` first in its backend chain, with a local replay model
//! after it. A's job is thought about on B and its actions run on A, under
//! A's policy; with B gone A falls back to its own model (audited
//! `backend.switch`); X, whom B does not trust, is refused and falls back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::daemon::{DaemonProcess, is_terminal, job_states, wait_for};
use common::fleet::{Device, nats, records_of, touch_transcript};
use common::{TestHome, text};

const DEVICES: &[(&str, &str)] = &[("a", "pw-a"), ("b", "pw-b"), ("x", "pw-x")];

fn password(name: &str) -> &'static str {
    DEVICES.iter().find(|(d, _)| *d == name).unwrap().1
}

/// A device's home: a local model touching `local-<name>` and an offered one
/// touching `thought-on-<name>`. `model` is its `model:` section; `fleet_extra`
/// lines go into its `fleet:` section.
fn device(home: &TestHome, name: &str, url: &str, model: &str, fleet_extra: &str) -> PathBuf {
    touch_transcript(home, "local.yaml", &format!("local-{name}"));
    touch_transcript(home, "offered.yaml", &format!("thought-on-{name}"));
    Device {
        name,
        password: password(name),
        url,
        model,
        security: "",
        max_steps: 1,
        fleet: &format!("  infer_timeout_s: 10\n{fleet_extra}"),
        extra: "",
    }
    .write(home)
}

/// B: offers its replay model as `default` to A only.
const OFFERING_MODEL: &str = "  backend: replay\n  transcript: offered.yaml";
const OFFERING_FLEET: &str = "  trusted: [a]\n  offer_models: [default]";
/// A and X: B's model first, their own after it.
const USING_MODEL: &str = "  backend: fleet\n  name: b/default\n  fallbacks:\n    - backend: replay\n      transcript: local.yaml";

fn joined(home: &TestHome) -> bool {
    !records_of(home, "fleet.joined").is_empty()
}

/// Submits `prompt` to the device's own daemon and waits for the job's end.
fn run_job(home: &TestHome, prompt: &str, daemon: &DaemonProcess) -> i64 {
    let before = job_states(home).len();
    let out = home.run(&["submit", prompt]);
    assert!(out.status.success(), "submit: {}", text(&out.stderr));
    assert!(
        wait_for(Duration::from_secs(60), || {
            let jobs = job_states(home);
            jobs.len() > before && jobs.iter().all(|(_, s)| is_terminal(s))
        }),
        "the job did not end: {:?}\n{}",
        job_states(home),
        daemon.stderr()
    );
    job_states(home).last().unwrap().0
}

fn model_outputs(home: &TestHome, job: i64) -> Vec<serde_json::Value> {
    records_of(home, "model.output")
        .into_iter()
        .filter(|r| r["job_id"] == job)
        .collect()
}

#[test]
fn a_thinks_on_bs_model_acts_on_a_and_falls_back_when_b_is_gone() {
    let root = tempfile::tempdir().unwrap();
    let Some(server) = nats(root.path(), DEVICES) else {
        return;
    };
    let (a, b, x) = (TestHome::new(), TestHome::new(), TestHome::new());
    let a_conf = device(&a, "a", &server.url(), USING_MODEL, "  trusted: []");
    let b_conf = device(&b, "b", &server.url(), OFFERING_MODEL, OFFERING_FLEET);
    let x_conf = device(&x, "x", &server.url(), USING_MODEL, "  trusted: []");
    let a_daemon = DaemonProcess::start(&a, &a_conf, &[]);
    let b_daemon = DaemonProcess::start(&b, &b_conf, &[]);
    let x_daemon = DaemonProcess::start(&x, &x_conf, &[]);
    assert!(wait_for(Duration::from_secs(30), || joined(&a)
        && joined(&b)
        && joined(&x)));

    // A's job: B's model thinks, the action runs on A under A's policy.
    let job = run_job(&a, "make the marker", &a_daemon);
    assert!(
        a.workspace().join("thought-on-b").exists(),
        "B's answer did not run on A; A: {}\nB: {}",
        a_daemon.stderr(),
        b_daemon.stderr()
    );
    assert!(!b.workspace().join("thought-on-b").exists());
    assert!(!a.workspace().join("local-a").exists());
    let outputs = model_outputs(&a, job);
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert_eq!(outputs[0]["payload"]["backend"], "fleet:b/default(replay)");
    assert!(records_of(&a, "backend.switch").is_empty());
    let served = records_of(&b, "fleet.infer.served");
    assert_eq!(served.len(), 1, "{served:?}");
    assert_eq!(served[0]["payload"]["from"], "a");
    assert_eq!(served[0]["payload"]["outcome"], "answered");
    // B ran nothing: thinking for A is not acting for A.
    assert!(records_of(&b, "command.started").is_empty());

    // X is in the fleet but B does not trust it: refused, audited on B, and
    // X's own model answers (audited backend.switch on X).
    x.run(&["submit", "make the marker"]);
    assert!(
        wait_for(Duration::from_secs(60), || x
            .workspace()
            .join("local-x")
            .exists()),
        "X did not fall back: {}",
        x_daemon.stderr()
    );
    assert!(!x.workspace().join("thought-on-b").exists());
    let refused = records_of(&b, "fleet.infer.refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["payload"]["code"], "untrusted");
    assert_eq!(refused[0]["payload"]["publisher"], "x");
    assert_eq!(records_of(&b, "fleet.infer.served").len(), 1);
    let switches = records_of(&x, "backend.switch");
    assert_eq!(switches.len(), 1, "{switches:?}");
    assert_eq!(switches[0]["payload"]["from"], "fleet:b/default");
    assert!(
        switches[0]["payload"]["error"]
            .as_str()
            .unwrap()
            .contains("untrusted"),
        "{switches:?}"
    );

    // B is gone: A's next job is answered by A's own model, and says so.
    b_daemon.stop();
    let job = run_job(&a, "make the marker again", &a_daemon);
    assert!(
        a.workspace().join("local-a").exists(),
        "{}",
        a_daemon.stderr()
    );
    let switches = records_of(&a, "backend.switch");
    assert_eq!(switches.len(), 1, "{switches:?}");
    assert_eq!(switches[0]["job_id"], job);
    assert_eq!(switches[0]["payload"]["from"], "fleet:b/default");
    assert!(
        switches[0]["payload"]["to"]
            .as_str()
            .unwrap()
            .starts_with("replay"),
        "{switches:?}"
    );
    assert_eq!(
        model_outputs(&a, job)[0]["payload"]["backend"],
        "replay",
        "{:?}",
        model_outputs(&a, job)
    );

    a_daemon.stop();
    x_daemon.stop();
    for home in [&a, &b, &x] {
        home.assert_audit_verifies();
    }
}

/// Time to first token through the fleet (A's job on B's model) against the
/// same model answering B's own job, same run, same machine. Prints the
/// figures for the notes; asserts only that every job was answered where it
/// should be.
#[test]
fn time_to_first_token_through_the_fleet_against_direct() {
    let root = tempfile::tempdir().unwrap();
    let Some(server) = nats(root.path(), DEVICES) else {
        return;
    };
    let (a, b) = (TestHome::new(), TestHome::new());
    let a_conf = device(&a, "a", &server.url(), USING_MODEL, "  trusted: []");
    // B answers its own jobs with the model it offers: the direct baseline.
    let b_conf = device(
        &b,
        "b",
        &server.url(),
        "  backend: replay\n  transcript: offered.yaml",
        OFFERING_FLEET,
    );
    let a_daemon = DaemonProcess::start(&a, &a_conf, &[]);
    let b_daemon = DaemonProcess::start(&b, &b_conf, &[]);
    assert!(wait_for(Duration::from_secs(30), || joined(&a) && joined(&b)));
    let rounds = 10;
    let mut fleet_ms = Vec::new();
    let mut direct_ms = Vec::new();
    for i in 0..rounds {
        let job = run_job(&a, &format!("fleet {i}"), &a_daemon);
        let out = &model_outputs(&a, job)[0]["payload"];
        assert_eq!(out["backend"], "fleet:b/default(replay)");
        fleet_ms.push(out["ttft_ms"].as_u64().unwrap());
        let job = run_job(&b, &format!("direct {i}"), &b_daemon);
        let out = &model_outputs(&b, job)[0]["payload"];
        assert_eq!(out["backend"], "replay");
        direct_ms.push(out["ttft_ms"].as_u64().unwrap());
    }
    fleet_ms.sort_unstable();
    direct_ms.sort_unstable();
    let median = |v: &[u64]| v[v.len() / 2];
    eprintln!(
        "time to first token over {rounds} jobs each (replay model on b): through the fleet p50 {} ms (max {}), direct p50 {} ms (max {}); ratio {:.2} (direct floored at 1 ms)",
        median(&fleet_ms),
        fleet_ms[rounds - 1],
        median(&direct_ms),
        direct_ms[rounds - 1],
        median(&fleet_ms) as f64 / median(&direct_ms).max(1) as f64,
    );
    assert_eq!(fleet_ms.len(), rounds);
    a_daemon.stop();
    b_daemon.stop();
}
