//! Remote inference overhead with the real embedded model (issue 13,
//! "Measure"): time to first token through the fleet against direct, in the
//! same run, with SmolLM2-135M-Instruct (Q4_1). B offers its model; A thinks
//! on it (`backend: fleet`, no fallback); B also answers its own jobs with
//! the same model directly. Jobs alternate A, B, A, B…; each job's first
//! `model.output` gives its time to first token (A's includes the fleet:
//! NATS, B's judge and queue, the stream back). Prints the p50s and their
//! ratio; asserts only behaviour (every answer came from the place it
//! should). Without the model or the `llama` feature it says why.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

#[cfg(not(feature = "llama"))]
#[test]
fn time_to_first_token_through_the_fleet_with_smollm2() {
    eprintln!(
        "skipped: this build has no embedded model (the `llama` feature is off); run `cargo test -p leash --test fleet_smollm_ttft_e2e -- --nocapture` with default features"
    );
}

#[cfg(feature = "llama")]
#[test]
fn time_to_first_token_through_the_fleet_with_smollm2() {
    use std::time::Duration;

    use common::daemon::{DaemonProcess, is_terminal, job_states, wait_for};
    use common::fleet::{Device, nats, records_of};
    use common::{TestHome, model_file, text};

    const DEVICES: &[(&str, &str)] = &[("a", "pw-a"), ("b", "pw-b")];
    const ROUNDS: usize = 6;

    let Some(model) = model_file() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let Some(server) = nats(root.path(), DEVICES) else {
        return;
    };
    let (a, b) = (TestHome::new(), TestHome::new());
    let b_model = format!(
        "  backend: llama\n  path: {}\n  max_tokens: 48",
        model.display()
    );
    let b_conf = Device {
        name: "b",
        password: "pw-b",
        url: &server.url(),
        model: &b_model,
        security: "",
        max_steps: 1,
        fleet: "  trusted: [a]\n  offer_models: [default]\n  serve_max_tokens: 48\n  infer_timeout_s: 120",
        extra: "",
    }
    .write(&b);
    let a_conf = Device {
        name: "a",
        password: "pw-a",
        url: &server.url(),
        model: "  backend: fleet\n  name: b/default",
        security: "",
        max_steps: 1,
        fleet: "  trusted: [b]\n  infer_timeout_s: 120",
        extra: "",
    }
    .write(&a);
    let b_daemon = DaemonProcess::start(&b, &b_conf, &[]);
    let a_daemon = DaemonProcess::start(&a, &a_conf, &[]);
    for home in [&a, &b] {
        assert!(wait_for(Duration::from_secs(60), || !records_of(
            home,
            "fleet.joined"
        )
        .is_empty()));
    }
    let run = |home: &TestHome, daemon: &DaemonProcess, n: usize| {
        let out = home.run(&["submit", "list the files in the workspace"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            wait_for(Duration::from_secs(600), || {
                let jobs = job_states(home);
                jobs.len() == n && jobs.iter().all(|(_, s)| is_terminal(s))
            }),
            "{:?}\n{}",
            job_states(home),
            daemon.stderr()
        );
    };
    for round in 1..=ROUNDS {
        run(&a, &a_daemon, round);
        run(&b, &b_daemon, round);
    }
    // The first model output of each job: its time to first token.
    let first_outputs = |home: &TestHome| -> Vec<serde_json::Value> {
        let mut seen = std::collections::BTreeSet::new();
        records_of(home, "model.output")
            .into_iter()
            .filter(|r| seen.insert(r["job_id"].as_i64().unwrap()))
            .map(|r| r["payload"].clone())
            .collect()
    };
    let (fleet, direct) = (first_outputs(&a), first_outputs(&b));
    assert_eq!(fleet.len(), ROUNDS, "{fleet:?}");
    assert_eq!(direct.len(), ROUNDS, "{direct:?}");
    for output in &fleet {
        let backend = output["backend"].as_str().unwrap();
        assert!(backend.starts_with("fleet:b/default(llama"), "{backend}");
    }
    for output in &direct {
        assert!(
            output["backend"].as_str().unwrap().starts_with("llama"),
            "{output}"
        );
    }
    let ttft = |outputs: &[serde_json::Value]| -> Vec<u64> {
        let mut all: Vec<u64> = outputs
            .iter()
            .map(|o| o["ttft_ms"].as_u64().unwrap())
            .collect();
        all.sort_unstable();
        all
    };
    let (f, d) = (ttft(&fleet), ttft(&direct));
    // The first job of each side loads the model (cold): reported apart.
    let p50 = |all: &[u64]| all[all.len() / 2];
    let (fw, dw) = (ttft(&fleet[1..]), ttft(&direct[1..]));
    eprintln!(
        "SmolLM2 time to first token over {ROUNDS} jobs each: through the fleet {f:?} ms, direct {d:?} ms; \
         cold (first job) fleet {} ms, direct {} ms; warm p50 fleet {} ms, direct {} ms, ratio {:.2}",
        fleet[0]["ttft_ms"],
        direct[0]["ttft_ms"],
        p50(&fw),
        p50(&dw),
        p50(&fw) as f64 / (p50(&dw).max(1)) as f64
    );
    a_daemon.stop();
    b_daemon.stop();
    a.assert_audit_verifies();
    b.assert_audit_verifies();
}
