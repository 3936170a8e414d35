//! Claimed files: start-up recovery and finishing into done/ or failed/.

use std::path::Path;

use leash_daemon::triggers::{ClaimRecovery, finish_claimed_file, recover_claims};
use leash_daemon::{DaemonContext, FileClaim, TriggerEvent, TriggerSource};
use leash_store::{Job, JobState, NewJob};
use rstest::rstest;
use serde_json::json;

use super::{jobs, processing, watched_home};

/// Inserts a job for an already claimed file at `path`, moved to `state`.
fn job_for_claimed(ctx: &DaemonContext, path: &Path, state: JobState) -> Job {
    ctx.with_store(|s| {
        let job = s.insert_job(&NewJob {
            trigger_kind: TriggerSource::File,
            trigger_name: Some("monitoring".into()),
            prompt: "p".into(),
            file_path: Some(path.display().to_string()),
            ..NewJob::default()
        })?;
        let path: &[JobState] = match state {
            JobState::Queued => &[],
            JobState::Running => &[JobState::Running],
            JobState::WaitingApproval => &[JobState::Running, JobState::WaitingApproval],
            JobState::Done => &[JobState::Running, JobState::Done],
            JobState::Failed => &[JobState::Running, JobState::Failed],
            JobState::Cancelled => &[JobState::Cancelled],
            JobState::Interrupted => &[JobState::Running, JobState::Interrupted],
        };
        for step in path {
            s.set_job_state(job.id, *step, Some(&json!({"step": step.as_str()})))?;
        }
        Ok(s.job(job.id)?.unwrap())
    })
    .unwrap()
}

/// Where recovery should leave a claimed file.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Readmitted,
    Finished(&'static str),
    Pending,
}

#[rstest]
#[case::no_job(None, Expect::Readmitted)]
#[case::done(Some(JobState::Done), Expect::Finished("done"))]
#[case::failed(Some(JobState::Failed), Expect::Finished("failed"))]
#[case::cancelled(Some(JobState::Cancelled), Expect::Finished("failed"))]
#[case::interrupted_for_good(Some(JobState::Interrupted), Expect::Finished("failed"))]
#[case::queued(Some(JobState::Queued), Expect::Pending)]
#[case::running(Some(JobState::Running), Expect::Pending)]
fn recover_claims_puts_every_claimed_file_right(
    #[case] state: Option<JobState>,
    #[case] expect: Expect,
) {
    let (_home, dir, ctx) = watched_home("  settle_ms: 50\n");
    let claimed = processing(&dir, "c.task");
    std::fs::create_dir_all(claimed.parent().unwrap()).unwrap();
    std::fs::write(&claimed, "claimed before the crash").unwrap();
    let existing = state.map(|state| job_for_claimed(&ctx, &claimed, state));

    let recovery = recover_claims(&ctx).unwrap();
    let all = jobs(&ctx);
    match expect {
        Expect::Readmitted => {
            assert_eq!(
                recovery,
                ClaimRecovery {
                    readmitted: 1,
                    finished: 0,
                    pending: 0
                }
            );
            assert_eq!(all.len(), 1);
            assert_eq!(all[0].state, JobState::Queued);
            assert_eq!(all[0].file_path.as_deref(), Some(claimed.to_str().unwrap()));
            assert_eq!(
                all[0].payload.as_ref().unwrap()["text"],
                "claimed before the crash"
            );
            assert!(claimed.exists());
        }
        Expect::Finished(stage) => {
            assert_eq!(
                recovery,
                ClaimRecovery {
                    readmitted: 0,
                    finished: 1,
                    pending: 0
                }
            );
            assert_eq!(all.len(), 1, "no new job");
            let target = dir.join(".leash").join(stage).join("c.task");
            assert!(target.exists() && !claimed.exists());
            assert_eq!(all[0].file_path.as_deref(), Some(target.to_str().unwrap()));
            let result: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join(".leash").join(stage).join("c.task.result.json"))
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(result["job_id"], existing.unwrap().id);
            assert_eq!(result["succeeded"], stage == "done");
        }
        Expect::Pending => {
            assert_eq!(
                recovery,
                ClaimRecovery {
                    readmitted: 0,
                    finished: 0,
                    pending: 1
                }
            );
            assert_eq!(all.len(), 1);
            assert!(claimed.exists());
        }
    }
    // Recovery twice changes nothing more.
    let again = recover_claims(&ctx).unwrap();
    assert_eq!(again.readmitted, 0);
    assert_eq!(again.finished, 0);
}

/// Admits a claimed file through the real intake path.
fn admit_claimed(ctx: &DaemonContext, dir: &Path, name: &str, content: &str) -> Job {
    std::fs::write(dir.join(name), content).unwrap();
    let mut event = TriggerEvent::new(TriggerSource::File, "p");
    event.claim = Some(FileClaim {
        from: dir.join(name),
        to: processing(dir, name),
    });
    ctx.admit(event).unwrap().job().clone()
}

#[test]
fn finish_claimed_file_writes_the_result_beside_it_and_is_idempotent() {
    let (_home, dir, ctx) = watched_home("");
    let job = admit_claimed(&ctx, &dir, "r.task", "r");
    let result = json!({"summary": "deployed"});

    let first = finish_claimed_file(&ctx, &job, true, &result)
        .unwrap()
        .unwrap();
    assert_eq!(first, dir.join(".leash/done/r.task"));
    assert!(first.exists() && !processing(&dir, "r.task").exists());
    let result_file = dir.join(".leash/done/r.task.result.json");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&result_file).unwrap()).unwrap();
    assert_eq!(written["job_id"], job.id);
    assert_eq!(written["succeeded"], true);
    assert_eq!(written["result"], result);
    let stored = ctx.with_store(|s| s.job(job.id)).unwrap().unwrap();
    assert_eq!(stored.file_path.as_deref(), Some(first.to_str().unwrap()));

    // Called again (with the stale job, as after a crash) and with the fresh one.
    assert_eq!(
        finish_claimed_file(&ctx, &job, true, &result).unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        finish_claimed_file(&ctx, &stored, true, &result).unwrap(),
        Some(first.clone())
    );
    let finished: Vec<_> = ctx
        .audit
        .all()
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "trigger.file_finished")
        .collect();
    assert_eq!(finished.len(), 1);
    let names: Vec<_> = std::fs::read_dir(dir.join(".leash/done"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn finishing_never_overwrites_a_file_of_the_same_name() {
    let (_home, dir, ctx) = watched_home("");
    let failed_dir = dir.join(".leash/failed");
    std::fs::create_dir_all(&failed_dir).unwrap();
    std::fs::write(failed_dir.join("same.task"), "an earlier one").unwrap();
    let job = admit_claimed(&ctx, &dir, "same.task", "this one");
    let target = finish_claimed_file(&ctx, &job, false, &json!({"error": "x"}))
        .unwrap()
        .unwrap();
    assert_eq!(target, failed_dir.join(format!("same.job-{}.task", job.id)));
    assert_eq!(
        std::fs::read_to_string(failed_dir.join("same.task")).unwrap(),
        "an earlier one"
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "this one");
    assert!(
        failed_dir
            .join(format!("same.job-{}.task.result.json", job.id))
            .exists()
    );
}

#[test]
fn a_finish_interrupted_after_the_rename_is_completed_by_the_next_call() {
    let (_home, dir, ctx) = watched_home("");
    let job = admit_claimed(&ctx, &dir, "half.task", "h");
    // The first call died right after moving the file.
    std::fs::create_dir_all(dir.join(".leash/done")).unwrap();
    std::fs::rename(
        processing(&dir, "half.task"),
        dir.join(".leash/done/half.task"),
    )
    .unwrap();

    let target = finish_claimed_file(&ctx, &job, true, &json!({}))
        .unwrap()
        .unwrap();
    assert_eq!(target, dir.join(".leash/done/half.task"));
    assert!(dir.join(".leash/done/half.task.result.json").exists());
    let stored = ctx.with_store(|s| s.job(job.id)).unwrap().unwrap();
    assert_eq!(stored.file_path.as_deref(), Some(target.to_str().unwrap()));
}

/// Regression (found by the crash test): a daemon killed while writing a
/// result file leaves a dot-named temp file in `done/` and no result file.
/// Start-up recovery removes the temp file and writes the result.
#[test]
fn crash_mid_result_write_is_cleaned_up_and_completed_at_start() {
    let (_home, dir, ctx) = watched_home("");
    let job = admit_claimed(&ctx, &dir, "torn.task", "t");
    let running = ctx.transition(job.id, JobState::Running, None).unwrap();
    finish_claimed_file(&ctx, &running, true, &json!({"end": "done"})).unwrap();
    ctx.transition(job.id, JobState::Done, Some(&json!({"end": "done"})))
        .unwrap();
    let done = dir.join(".leash/done");
    // As the kill left it: no result file, a half-written temp file.
    std::fs::remove_file(done.join("torn.task.result.json")).unwrap();
    std::fs::write(done.join(".torn.task.result.json.tmp-4242"), "{\"job_").unwrap();

    let recovery = recover_claims(&ctx).unwrap();
    assert_eq!(recovery.finished, 1, "{recovery:?}");
    assert!(!done.join(".torn.task.result.json.tmp-4242").exists());
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(done.join("torn.task.result.json")).unwrap())
            .unwrap();
    assert_eq!(written["job_id"], job.id);
    assert_eq!(written["succeeded"], true);
}
