//! One daemon example end to end with the real embedded model
//! (SmolLM2-135M-Instruct, Q4_1) instead of the recorded transcript: the inbox
//! example's task file becomes a job, the model answers under the action
//! grammar, and whatever it proposes goes through the policy. The grammar
//! guarantees well-formed actions, so the job must never fail on unparseable
//! output; the policy guarantees nothing outside the example's whitelist runs.
//! The model file comes from `leash model fetch` (scripts/test.sh sets
//! `LEASH_TEST_MODEL`); without it the test says so and does nothing, unless
//! `LEASH_REQUIRE_TEST_MODEL=1`, when it fails.
#![cfg(feature = "llama")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::time::Duration;

use common::daemon::{DaemonProcess, copy_example, free_port, is_terminal, job_states, wait_for};
use common::{TestHome, model_file};

#[test]
fn inbox_example_with_the_real_model_ends_well_formed_and_inside_the_policy() {
    let Some(model) = model_file() else {
        return;
    };
    let home = TestHome::new();
    let dir = home.root().join("inbox");
    copy_example("inbox", &dir);
    // The example's trigger goes through the organize skill, which sorts
    // these files by their kind without asking the model. This test is about
    // the real model's own answers in the open agent loop, so the trigger
    // here names no skill.
    let config = dir.join("config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("    skill: organize\n"), "{text}");
    std::fs::write(&config, text.replace("    skill: organize\n", "")).unwrap();
    let port = format!("api.listen=127.0.0.1:{}", free_port());
    let model_path = format!("model.path={}", model.display());
    let daemon = DaemonProcess::start(
        &home,
        &dir.join("config.yaml"),
        &[
            "--set",
            &port,
            "--set",
            "model.backend=llama",
            "--set",
            &model_path,
            "--set",
            "model.max_tokens=160",
            "--set",
            "agent.max_steps=3",
        ],
    );
    std::fs::write(dir.join("triggers/today.task"), "sort everything\n").unwrap();
    let ended = wait_for(Duration::from_secs(900), || {
        let jobs = job_states(&home);
        !jobs.is_empty() && jobs.iter().all(|(_, s)| is_terminal(s))
    });
    assert!(
        ended,
        "the job did not end: {:?}\n{}",
        job_states(&home),
        daemon.stderr()
    );
    assert_eq!(daemon.stop(), 0);

    let records = home.audit_records();
    let outputs = records
        .iter()
        .filter(|r| r["kind"] == "model.output")
        .count();
    let plans = records.iter().filter(|r| r["kind"] == "model.plan").count();
    let unparseable = records
        .iter()
        .filter(|r| r["kind"] == "model.unparseable")
        .count();
    eprintln!("real model: {outputs} output(s), {plans} plan(s), {unparseable} unparseable");
    assert!(outputs >= 1, "the model was never asked");
    assert_eq!(unparseable, 0, "the grammar must make every answer parse");
    assert_eq!(plans, outputs, "every answer became a plan");
    // Nothing outside the example's whitelist (ls, mv, mkdir, cat) ran.
    for record in records.iter().filter(|r| r["kind"] == "command.started") {
        let program = record["payload"]["argv"][0].as_str().unwrap();
        assert!(
            ["ls", "mv", "mkdir", "cat"].contains(&program),
            "{program} ran: {record}"
        );
    }
    // The trigger file ended exactly once, in done/ or failed/.
    let leash = dir.join("triggers/.leash");
    let ended_in: Vec<_> = ["done", "failed"]
        .iter()
        .filter(|end| leash.join(end).join("today.task").exists())
        .collect();
    assert_eq!(ended_in.len(), 1, "{ended_in:?}");
    home.assert_audit_verifies();
}
