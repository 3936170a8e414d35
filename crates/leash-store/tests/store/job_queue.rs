//! The daemon's queue: the closed transition table, admission with
//! de-duplication and an in-transaction acknowledgement, priority order,
//! atomic claims, and crash recovery.

use std::time::Duration;

use leash_store::{
    Admission, AdmitError, ApprovalState, JobState, NewApproval, NewJob, Store, StoreError,
    TriggerSource,
};
use rstest::rstest;

fn job(prompt: &str, priority: i64, dedup: Option<&str>) -> NewJob {
    NewJob {
        trigger_kind: TriggerSource::File,
        priority,
        dedup_key: dedup.map(str::to_owned),
        prompt: prompt.into(),
        ..NewJob::default()
    }
}

fn no_ack(_id: i64) -> Result<Option<String>, std::io::Error> {
    Ok(None)
}

#[rstest]
#[case(JobState::Queued, JobState::Running, true)]
#[case(JobState::Queued, JobState::Done, false)]
#[case(JobState::Running, JobState::WaitingApproval, true)]
#[case(JobState::WaitingApproval, JobState::Running, true)]
#[case(JobState::Running, JobState::Interrupted, true)]
#[case(JobState::Interrupted, JobState::Queued, true)]
#[case(JobState::Interrupted, JobState::Running, false)]
#[case(JobState::Done, JobState::Queued, false)]
#[case(JobState::Cancelled, JobState::Running, false)]
#[case(JobState::Failed, JobState::Queued, false)]
fn transition_table(#[case] from: JobState, #[case] to: JobState, #[case] allowed: bool) {
    assert_eq!(from.can_become(to), allowed, "{from:?} -> {to:?}");
}

#[test]
fn every_state_round_trips_through_its_spelling() {
    for state in JobState::ALL {
        assert_eq!(JobState::parse(state.as_str()), Some(state));
    }
}

#[test]
fn claims_take_the_highest_priority_then_the_oldest() {
    let mut store = Store::open_in_memory().unwrap();
    let low = store.insert_job(&job("low", 0, None)).unwrap();
    let high = store.insert_job(&job("high", 5, None)).unwrap();
    let low2 = store.insert_job(&job("low2", 0, None)).unwrap();
    let order: Vec<i64> = std::iter::from_fn(|| store.claim_next_job().unwrap())
        .map(|j| {
            assert_eq!((j.state, j.attempts), (JobState::Running, 1));
            j.id
        })
        .collect();
    assert_eq!(order, vec![high.id, low.id, low2.id]);
}

#[test]
fn a_pending_duplicate_is_not_queued_twice_and_a_finished_one_outside_the_window_is() {
    let mut store = Store::open_in_memory().unwrap();
    let first = store
        .admit_job(&job("a", 0, Some("k")), Duration::ZERO, no_ack)
        .unwrap();
    let Admission::Queued(first) = first else {
        panic!("first admission must queue")
    };
    let again = store
        .admit_job(&job("a", 0, Some("k")), Duration::ZERO, no_ack)
        .unwrap();
    assert_eq!(again, Admission::Duplicate(first.clone()));
    store
        .set_job_state(first.id, JobState::Running, None)
        .unwrap();
    store.set_job_state(first.id, JobState::Done, None).unwrap();
    // Inside a window, a finished job still de-duplicates...
    let windowed = store
        .admit_job(&job("a", 0, Some("k")), Duration::from_secs(3600), no_ack)
        .unwrap();
    assert!(matches!(windowed, Admission::Duplicate(_)));
    // ...without one it does not.
    let later = store
        .admit_job(&job("a", 0, Some("k")), Duration::ZERO, no_ack)
        .unwrap();
    assert!(matches!(later, Admission::Queued(j) if j.id != first.id));
}

#[test]
fn a_failed_acknowledgement_rolls_the_job_back() {
    let mut store = Store::open_in_memory().unwrap();
    let err = store
        .admit_job(&job("a", 0, None), Duration::ZERO, |_id| {
            Err(std::io::Error::other("rename failed"))
        })
        .unwrap_err();
    assert!(matches!(err, AdmitError::Acknowledge(_)), "{err:?}");
    assert!(
        store.jobs(None, 10).unwrap().is_empty(),
        "nothing half-written"
    );
}

#[test]
fn the_acknowledgement_path_is_stored_with_the_job() {
    let mut store = Store::open_in_memory().unwrap();
    let admitted = store
        .admit_job(&job("a", 0, None), Duration::ZERO, |id| {
            Ok::<_, std::io::Error>(Some(format!("/w/.leash/processing/{id}.flag")))
        })
        .unwrap();
    let id = admitted.job().id;
    let found = store
        .job_by_file_path(&format!("/w/.leash/processing/{id}.flag"))
        .unwrap()
        .unwrap();
    assert_eq!(found.id, id);
}

#[test]
fn recovery_interrupts_running_jobs_requeues_once_and_expires_their_approvals() {
    let mut store = Store::open_in_memory().unwrap();
    let a = store.insert_job(&job("a", 0, None)).unwrap();
    let b = store.insert_job(&job("b", 0, None)).unwrap();
    let queued = store.insert_job(&job("c", 0, None)).unwrap();
    store.set_job_state(a.id, JobState::Running, None).unwrap();
    store.set_job_state(b.id, JobState::Running, None).unwrap();
    store
        .set_job_state(b.id, JobState::WaitingApproval, None)
        .unwrap();
    let approval = store
        .insert_approval(&NewApproval {
            job_id: Some(b.id),
            expires_at: "2999-01-01T00:00:00Z".into(),
            nonce: "n".into(),
            argv: vec!["ls".into()],
            ..NewApproval::default()
        })
        .unwrap();

    let recovered = store.recover_interrupted_jobs(1).unwrap();
    assert_eq!(recovered.len(), 2);
    assert!(
        recovered
            .iter()
            .all(|r| r.requeued && r.job.state == JobState::Queued)
    );
    assert_eq!(recovered[1].found, JobState::WaitingApproval);
    assert_eq!(
        store.approval(approval.id).unwrap().unwrap().state,
        ApprovalState::Expired
    );
    assert_eq!(
        store.job(queued.id).unwrap().unwrap().state,
        JobState::Queued
    );

    // Interrupted again: the one re-queue is used up, so it stays interrupted.
    let again = store.claim_next_job().unwrap().unwrap();
    assert_eq!(again.id, a.id);
    let recovered = store.recover_interrupted_jobs(1).unwrap();
    assert_eq!(recovered.len(), 1);
    assert!(!recovered[0].requeued);
    assert_eq!(recovered[0].job.state, JobState::Interrupted);
    assert_eq!(recovered[0].job.requeues, 1);
}

#[test]
fn marks_remember_the_last_run_and_commit() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.schedule_mark("hourly").unwrap(), None);
    store
        .set_schedule_mark("hourly", "2026-11-24T10:00:00Z")
        .unwrap();
    store
        .set_schedule_mark("hourly", "2026-11-24T11:00:00Z")
        .unwrap();
    assert_eq!(
        store.schedule_mark("hourly").unwrap().as_deref(),
        Some("2026-11-24T11:00:00Z")
    );
    store.set_git_mark("review", "abc").unwrap();
    assert_eq!(store.git_mark("review").unwrap().as_deref(), Some("abc"));
}

/// Regression class `unknown-spelling-runs`: a row whose text column holds
/// a spelling leash does not know (written by hand, by a newer leash, or
/// damaged) is a typed read error naming the row and the value, never a
/// default; a queued job with one is never handed out to run: the claim
/// ends it as failed, and the queue goes on with the next job.
#[rstest]
#[case::trigger_kind("trigger_kind", "trigger kind", "carrier-pigeon")]
#[case::mode("mode", "execution mode", "yolo")]
fn a_queued_job_with_an_unknown_spelling_is_never_handed_out_to_run(
    #[case] column: &str,
    #[case] named: &str,
    #[case] value: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut store = Store::open(&db).unwrap();
    let odd = store.insert_job(&job("odd", 5, None)).unwrap();
    let next = store.insert_job(&job("next", 1, None)).unwrap();
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute(
        &format!("UPDATE jobs SET {column} = ?1 WHERE id = ?2"),
        rusqlite::params![value, odd.id],
    )
    .unwrap();

    let unknown = |err: StoreError| match err {
        StoreError::UnknownSpelling {
            id,
            table,
            column,
            value: found,
            ..
        } => {
            assert_eq!(
                (id, table, column, found.as_str()),
                (odd.id, "jobs", named, value)
            );
        }
        other => panic!("not a typed unknown-spelling error: {other}"),
    };
    let read = store.job(odd.id).unwrap_err();
    let message = read.to_string();
    assert!(
        message.contains(&format!(
            "jobs row {} has unknown {named} \"{value}\"",
            odd.id
        )),
        "{message}"
    );
    unknown(read);

    // The claim takes the odd job first (higher priority) and refuses it.
    unknown(store.claim_next_job().unwrap_err());
    let state: String = raw
        .query_row("SELECT state FROM jobs WHERE id = ?1", [odd.id], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(state, "failed", "ended, not left running");
    let claimed = store.claim_next_job().unwrap().unwrap();
    assert_eq!(claimed.id, next.id);
    assert!(store.claim_next_job().unwrap().is_none());
}
