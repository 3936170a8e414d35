//! One engine, many jobs: the daemon keeps an [`Engine`] per workspace and
//! runs job after job on it, so what belongs to a job (its mode, its repeat
//! guard) must come with the job and never stay behind on the engine
//! (regression class `job-params-leak-across-jobs`). Each case runs a job,
//! then the next job on the same engine, and checks for real on disk that
//! the second is judged by its own parameters.

use leash_config::ExecutionMode;
use leash_core::approval::NoApprover;
use leash_core::{CommandRequest, Engine, GateOutcome, JobParams, NotRunReason};
use rstest::rstest;

use crate::Fixture;

fn touch(engine: &Engine, job: &JobParams, name: &str) -> leash_core::CommandReport {
    let approver = NoApprover {
        why: "nobody is here".into(),
    };
    let marker = engine.workspace.join(name);
    engine
        .runner(job, &approver)
        .run(&CommandRequest {
            argv: vec!["touch".into(), marker.to_str().unwrap().into()],
            cwd: engine.workspace.clone(),
            job_id: None,
        })
        .unwrap()
}

/// After a job whose mode runs an allowed command, a job in a mode that
/// holds it back (asks, simulates, only records) on the same engine does
/// not run it; and a job after that in the first mode runs again.
#[rstest]
#[case::prompt(ExecutionMode::Prompt, NotRunReason::NoApprover)]
#[case::dry_run(ExecutionMode::DryRun, NotRunReason::DryRun)]
#[case::audit_only(ExecutionMode::AuditOnly, NotRunReason::AuditOnly)]
fn a_jobs_mode_does_not_leak_into_the_next_job_on_the_same_engine(
    #[case] held_back: ExecutionMode,
    #[case] reason: NotRunReason,
) {
    let fx = Fixture::new();
    let engine = fx.engine("  whitelist: [touch]\n");

    let first = touch(
        &engine,
        &JobParams::in_mode(ExecutionMode::AutoApprove),
        "first",
    );
    assert!(first.outcome().is_some(), "{first:?}");
    assert!(engine.workspace.join("first").exists());

    let second = touch(&engine, &JobParams::in_mode(held_back), "second");
    assert_eq!(second.not_run(), Some(reason), "{second:?}");
    assert!(
        !engine.workspace.join("second").exists(),
        "ran in {held_back}"
    );

    let third = touch(
        &engine,
        &JobParams::in_mode(ExecutionMode::AutoApprove),
        "third",
    );
    assert!(third.outcome().is_some(), "{third:?}");
    assert!(engine.workspace.join("third").exists());
}

/// A re-run job's repeat guard (argvs its interrupted attempt started)
/// asks for those argvs in that job only: the next job on the same engine
/// runs the same argv without asking.
#[test]
fn a_jobs_repeat_guard_does_not_leak_into_the_next_job_on_the_same_engine() {
    let fx = Fixture::new();
    let engine = fx.engine("  whitelist: [touch]\n");
    let marker = engine.workspace.join("again");
    let rerun = JobParams {
        must_ask: vec![vec!["touch".into(), marker.to_str().unwrap().into()]],
        ..JobParams::in_mode(ExecutionMode::AutoApprove)
    };
    let guarded = touch(&engine, &rerun, "again");
    assert_eq!(guarded.gate, GateOutcome::NeedsApproval, "{guarded:?}");
    assert_eq!(guarded.not_run(), Some(NotRunReason::NoApprover));
    assert!(!marker.exists());

    let next = touch(&engine, &engine.default_params(), "again");
    assert!(next.outcome().is_some(), "{next:?}");
    assert!(marker.exists());
}
