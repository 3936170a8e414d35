//! "Cleared to run" is a value only the judging step makes: a command the
//! policy denies, the mode holds back or a person refuses never becomes a
//! `Cleared`, so it can never reach the sandbox (regression class
//! `denied-argv-executes`). Each case does the bad thing for real and checks
//! that nothing happened on disk and nothing was started.

use leash_core::approval::NoApprover;
use leash_core::{CommandRequest, CommandStatus, Engine, Judged, NotRunReason};
use rstest::rstest;

use crate::{Fixture, audit};

fn request(engine: &Engine, argv: &[&str]) -> CommandRequest {
    CommandRequest {
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
        cwd: engine.workspace.clone(),
        job_id: None,
    }
}

fn started(engine: &Engine) -> usize {
    audit(engine)
        .iter()
        .filter(|(kind, _)| kind == "command.started")
        .count()
}

#[rstest]
#[case::blacklisted_recursive_delete(
    "  whitelist: [rm, touch]\n  blacklist: [\"rm -rf\"]\n",
    &["rm", "-rf", "victim"],
)]
#[case::blacklisted_spelt_apart(
    "  whitelist: [rm, touch]\n  blacklist: [\"rm -rf\"]\n",
    &["rm", "-r", "-f", "victim"],
)]
#[case::program_outside_the_whitelist("  whitelist: [ls]\n", &["rm", "-r", "victim"])]
#[case::shell_through_a_wrapper("  whitelist: [env, ls]\n", &["env", "sh", "-c", "rm -r victim"])]
fn a_denied_argv_is_never_cleared_and_never_runs(#[case] security: &str, #[case] argv: &[&str]) {
    let fx = Fixture::new();
    let engine = fx.engine(security);
    let victim = engine.workspace.join("victim");
    std::fs::create_dir_all(victim.join("inside")).unwrap();
    let approver = NoApprover {
        why: "nobody".into(),
    };
    let job = engine.default_params();
    let runner = engine.runner(&job, &approver);

    let judged = runner.judge(&request(&engine, argv)).unwrap();
    let Judged::Stopped(report) = judged else {
        panic!("a denied argv was cleared: {argv:?}");
    };
    assert_eq!(report.not_run(), Some(NotRunReason::Denied), "{report:?}");
    assert!(!report.carried_out());

    // The one-step path judges the same way and runs nothing either.
    let report = runner.run(&request(&engine, argv)).unwrap();
    assert!(
        matches!(
            report.status,
            CommandStatus::NotRun {
                reason: NotRunReason::Denied,
                ..
            }
        ),
        "{report:?}"
    );
    assert!(victim.join("inside").is_dir(), "the victim was touched");
    assert_eq!(started(&engine), 0, "a denied command was started");
}

/// The modes that never run and a person's "no" stop a command the policy
/// allows: no `Cleared`, no start, no effect.
#[rstest]
#[case::dry_run("dry-run", NotRunReason::DryRun)]
#[case::audit_only("audit-only", NotRunReason::AuditOnly)]
#[case::prompt_with_nobody_to_ask("prompt", NotRunReason::NoApprover)]
fn an_allowed_argv_held_back_by_the_mode_is_never_cleared(
    #[case] mode: &str,
    #[case] reason: NotRunReason,
) {
    let fx = Fixture::new();
    let engine = fx.engine("  whitelist: [touch]\n");
    let approver = NoApprover {
        why: "nobody".into(),
    };
    let job = leash_core::JobParams::in_mode(leash_config::parse_enum(mode).unwrap());
    let runner = engine.runner(&job, &approver);
    let marker = engine.workspace.join("marker");
    let argv = ["touch", marker.to_str().unwrap()];
    match runner.judge(&request(&engine, &argv)).unwrap() {
        Judged::Stopped(report) => assert_eq!(report.not_run(), Some(reason), "{report:?}"),
        Judged::Cleared(cleared) => panic!("cleared in {mode}: {:?}", cleared.argv()),
    }
    assert!(!marker.exists());
    assert_eq!(started(&engine), 0);
}

/// What a `Cleared` holds is what was judged, and executing it runs exactly
/// that (once: `execute` takes it by value).
#[test]
fn a_cleared_command_holds_what_was_judged_and_runs_it() {
    let fx = Fixture::new();
    let engine = fx.engine("  whitelist: [touch]\n");
    let approver = NoApprover {
        why: "nobody".into(),
    };
    let job = engine.default_params();
    let runner = engine.runner(&job, &approver);
    let marker = engine.workspace.join("marker");
    let argv = ["touch", marker.to_str().unwrap()];
    let Judged::Cleared(cleared) = runner.judge(&request(&engine, &argv)).unwrap() else {
        panic!("an allowed touch in auto-approve must be cleared");
    };
    assert_eq!(cleared.argv(), argv);
    assert_eq!(cleared.cwd(), engine.workspace);
    assert_eq!(cleared.job_id(), None);
    assert!(cleared.program().unwrap().ends_with("touch"));
    let report = runner.execute(cleared).unwrap();
    assert!(report.outcome().is_some(), "{report:?}");
    assert!(marker.exists());
    assert_eq!(started(&engine), 1);
}
