//! The typed accessors for jobs and approvals.

use leash_store::{ApprovalState, JobState, NewApproval, NewJob, Store, StoreError, TriggerSource};
use serde_json::json;

#[test]
fn job_lifecycle() {
    let store = Store::open_in_memory().unwrap();
    let job = store
        .insert_job(&NewJob {
            trigger_kind: TriggerSource::File,
            trigger_name: Some("inbox".into()),
            priority: 5,
            prompt: "summarize".into(),
            ..NewJob::default()
        })
        .unwrap();
    assert_eq!(
        (job.state, job.attempts, job.priority),
        (JobState::Queued, 0, 5)
    );
    let running = store
        .set_job_state(job.id, JobState::Running, None)
        .unwrap();
    assert_eq!((running.state, running.attempts), (JobState::Running, 1));
    let done = store
        .set_job_state(job.id, JobState::Done, Some(&json!({"exit": 0})))
        .unwrap();
    assert_eq!(done.result, Some(json!({"exit": 0})));
    let err = store
        .set_job_state(job.id, JobState::Running, None)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidTransition { table: "jobs", .. }),
        "{err:?}"
    );
    assert!(matches!(
        store
            .set_job_state(999, JobState::Running, None)
            .unwrap_err(),
        StoreError::NotFound {
            table: "jobs",
            id: 999,
            ..
        }
    ));
}

#[test]
fn jobs_list_filters_by_state_newest_first() {
    let store = Store::open_in_memory().unwrap();
    let ids: Vec<i64> = (0..3)
        .map(|i| {
            store
                .insert_job(&NewJob {
                    trigger_kind: TriggerSource::Cli,
                    prompt: format!("job {i}"),
                    ..NewJob::default()
                })
                .unwrap()
                .id
        })
        .collect();
    store
        .set_job_state(ids[1], JobState::Cancelled, None)
        .unwrap();
    let queued: Vec<i64> = store
        .jobs(Some(JobState::Queued), 10)
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(queued, vec![ids[2], ids[0]]);
    assert_eq!(store.jobs(None, 2).unwrap().len(), 2);
}

#[test]
fn approval_is_decided_once() {
    let store = Store::open_in_memory().unwrap();
    let job = store
        .insert_job(&NewJob {
            trigger_kind: TriggerSource::Cli,
            prompt: "push".into(),
            ..NewJob::default()
        })
        .unwrap();
    let approval = store
        .insert_approval(&NewApproval {
            job_id: Some(job.id),
            expires_at: "2999-01-01T00:00:00Z".into(),
            nonce: "n0nce".into(),
            argv: vec!["git".into(), "push".into()],
            rule: Some("require_approval_for: git push".into()),
            ..NewApproval::default()
        })
        .unwrap();
    assert_eq!(approval.state, ApprovalState::Pending);
    assert_eq!(approval.argv, ["git", "push"]);
    assert_eq!(
        store.approvals(Some(ApprovalState::Pending)).unwrap().len(),
        1
    );
    let approved = store
        .decide_approval(approval.id, ApprovalState::Approved, "alice", "cli")
        .unwrap();
    assert_eq!(approved.decided_by.as_deref(), Some("alice"));
    assert!(approved.decided_at.is_some());
    // A second channel answering late loses.
    let err = store
        .decide_approval(approval.id, ApprovalState::Denied, "bob", "http")
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidTransition {
                table: "approvals",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        store.approval(approval.id).unwrap().unwrap().state,
        ApprovalState::Approved
    );
    assert!(
        store
            .approvals(Some(ApprovalState::Pending))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn approval_for_a_missing_job_is_refused_by_the_foreign_key() {
    let store = Store::open_in_memory().unwrap();
    let err = store
        .insert_approval(&NewApproval {
            job_id: Some(42),
            expires_at: "2999-01-01T00:00:00Z".into(),
            nonce: "n".into(),
            argv: vec!["ls".into()],
            ..NewApproval::default()
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err:?}");
}
