//! Start-up recovery: jobs left running become interrupted (and are re-queued
//! once); a command started without a result is recorded as outcome unknown;
//! and a re-run asks before repeating anything an earlier attempt started.

use leash_daemon::recovery::{recover_jobs, repeat_guard, unfinished_commands};
use leash_store::AuditKind;
use leash_store::{JobState, NewJob, TriggerSource};
use serde_json::json;

use crate::support::TestDaemonHome;

#[test]
fn a_running_job_with_a_started_command_is_interrupted_requeued_and_its_command_unknown() {
    let home = TestDaemonHome::new();
    let loaded = home.load("logging:\n  level: warn\n");
    let ctx = home.context(loaded);
    let id = ctx
        .with_store(|s| {
            let job = s.insert_job(&NewJob {
                trigger_kind: TriggerSource::File,
                prompt: "p".into(),
                ..NewJob::default()
            })?;
            s.set_job_state(job.id, JobState::Running, None)?;
            Ok(job.id)
        })
        .unwrap();
    ctx.audit
        .append(Some(id), AuditKind::CommandStarted, json!({"argv": ["ls"]}))
        .unwrap();
    ctx.audit
        .append(Some(id), AuditKind::CommandFinished, json!({"status": 0}))
        .unwrap();
    ctx.audit
        .append(
            Some(id),
            AuditKind::CommandStarted,
            json!({"argv": ["cp", "a", "b"]}),
        )
        .unwrap();

    let report = recover_jobs(&ctx).unwrap();
    assert_eq!(report.interrupted.len(), 1);
    assert_eq!(report.outcome_unknown, 1);
    assert_eq!(
        ctx.with_store(|s| s.job(id)).unwrap().unwrap().state,
        JobState::Queued
    );
    let records = ctx.audit.for_job(id).unwrap();
    let unknown: Vec<_> = records
        .iter()
        .filter(|r| r.kind == "command.outcome_unknown")
        .collect();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].payload["argv"], json!(["cp", "a", "b"]));
    // Nothing is open any more; both earlier commands need approval to repeat.
    assert!(unfinished_commands(&records).is_empty());
    assert_eq!(
        repeat_guard(&records),
        vec![
            vec!["ls".to_owned()],
            vec!["cp".into(), "a".into(), "b".into()]
        ]
    );
    let transitions: Vec<_> = records
        .iter()
        .filter(|r| r.kind == "job.state")
        .map(|r| r.payload["to"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(transitions, ["interrupted", "queued"]);
    assert!(ctx.audit.verify().unwrap().ok);
}
