//! Queue operations that must be atomic: admitting a trigger (de-duplication,
//! the job row and the trigger's acknowledgement in one transaction), a worker
//! taking the next job, and the recovery of jobs a dead daemon left running.

use std::time::Duration;

use rusqlite::{TransactionBehavior, params};

use crate::error::{SqliteResultExt, StoreError};
use crate::jobs::{Job, JobState, NewJob, insert_job_row};
use crate::store::Store;

/// How a trigger was admitted.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// A new job row was committed.
    Queued(Job),
    /// A job with the same de-duplication key is still pending or was created
    /// inside the window: nothing new was queued.
    Duplicate(Job),
}

impl Admission {
    /// The job, new or existing.
    pub fn job(&self) -> &Job {
        match self {
            Admission::Queued(job) | Admission::Duplicate(job) => job,
        }
    }
}

/// Something that went wrong while acknowledging a trigger inside the
/// admission transaction (the transaction is rolled back).
#[derive(Debug, thiserror::Error)]
pub enum AdmitError<E: std::error::Error + 'static> {
    /// The database failed (nothing was queued).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The acknowledgement (claiming the file, …) failed.
    #[error("acknowledging the trigger failed: {0}")]
    Acknowledge(#[source] E),
}

/// A job a dead daemon left running, as recovery found it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredJob {
    /// The job after recovery (`queued` again, or `interrupted` for good).
    pub job: Job,
    /// The state it was found in (`running` or `waiting_approval`).
    pub found: JobState,
    /// Whether it was put back in the queue.
    pub requeued: bool,
}

impl Store {
    /// Admits a trigger as a job in one `BEGIN IMMEDIATE` transaction:
    /// 1. when `job.dedup_key` is set and a job with that key is not final, or
    ///    was created less than `dedup_window` ago, nothing is inserted and that
    ///    job is returned as [`Admission::Duplicate`];
    /// 2. otherwise the row is inserted and `acknowledge(id)` runs *inside* the
    ///    transaction (it claims the trigger — renames the file — and may return
    ///    the trigger file's new path, which is stored with the job).
    ///
    /// If `acknowledge` fails the row is rolled back; if the process dies after
    /// the acknowledgement but before the commit, the claimed file has no job,
    /// which start-up recovery detects (nothing is lost either way).
    pub fn admit_job<E, F>(
        &mut self,
        job: &NewJob,
        dedup_window: Duration,
        acknowledge: F,
    ) -> Result<Admission, AdmitError<E>>
    where
        E: std::error::Error + 'static,
        F: FnOnce(i64) -> Result<Option<String>, E>,
    {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .at(&path)?;
        if let Some(key) = &job.dedup_key {
            let existing = {
                let mut stmt = tx
                    .prepare(&format!(
                        "SELECT {} FROM jobs WHERE dedup_key = ?1 ORDER BY id DESC LIMIT 1",
                        crate::jobs::JOB_COLUMNS
                    ))
                    .at(&path)?;
                let mut rows = stmt
                    .query_map(params![key], crate::jobs::RawJob::from_row)
                    .at(&path)?;
                match rows.next() {
                    Some(raw) => Some(raw.at(&path)?.decode(&path)?),
                    None => None,
                }
            };
            if let Some(existing) = existing
                && (!existing.state.is_final() || created_within(&existing, dedup_window))
            {
                tx.rollback().at(&path)?;
                return Ok(Admission::Duplicate(existing));
            }
        }
        let id = insert_job_row(&tx, &path, job)?;
        match acknowledge(id) {
            Ok(Some(file_path)) => {
                tx.execute(
                    "UPDATE jobs SET file_path = ?1 WHERE id = ?2",
                    params![file_path, id],
                )
                .at(&path)?;
            }
            Ok(None) => {}
            Err(err) => {
                tx.rollback().at(&path)?;
                return Err(AdmitError::Acknowledge(err));
            }
        }
        tx.commit().at(&path)?;
        let stored = self.job(id)?.ok_or_else(|| self.job_not_found(id))?;
        Ok(Admission::Queued(stored))
    }

    /// Takes the next queued job (highest priority, then oldest) and marks it
    /// `running`, atomically: two workers never get the same job.
    pub fn claim_next_job(&mut self) -> Result<Option<Job>, StoreError> {
        self.claim_next_job_among(None)
    }

    /// As [`Store::claim_next_job`], among the jobs of the named triggers
    /// only (the resource governor lets only urgent triggers' jobs start on a
    /// low battery). No names: nothing is claimed.
    pub fn claim_next_job_of_triggers(
        &mut self,
        trigger_names: &[String],
    ) -> Result<Option<Job>, StoreError> {
        if trigger_names.is_empty() {
            return Ok(None);
        }
        self.claim_next_job_among(Some(trigger_names))
    }

    /// The claim itself: the next queued job (of the named triggers, when
    /// given) becomes `running` in one immediate transaction, so two workers
    /// can never claim the same job.
    fn claim_next_job_among(
        &mut self,
        trigger_names: Option<&[String]>,
    ) -> Result<Option<Job>, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .at(&path)?;
        let names: &[String] = trigger_names.unwrap_or(&[]);
        let filter = match trigger_names {
            Some(names) => format!(
                " AND trigger_name IN ({})",
                vec!["?"; names.len()].join(", ")
            ),
            None => String::new(),
        };
        let next: Option<i64> = {
            let mut stmt = tx
                .prepare(&format!(
                    "SELECT id FROM jobs WHERE state = 'queued'{filter} \
                     ORDER BY priority DESC, id LIMIT 1"
                ))
                .at(&path)?;
            let mut rows = stmt
                .query(rusqlite::params_from_iter(names.iter()))
                .at(&path)?;
            match rows.next().at(&path)? {
                Some(row) => Some(row.get(0).at(&path)?),
                None => None,
            }
        };
        let Some(id) = next else {
            tx.rollback().at(&path)?;
            return Ok(None);
        };
        tx.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ?1 \
             WHERE id = ?2 AND state = 'queued'",
            params![crate::timestamp::now_rfc3339(), id],
        )
        .at(&path)?;
        tx.commit().at(&path)?;
        match self.job(id) {
            Err(err @ StoreError::UnknownSpelling { .. }) => {
                // Fail closed: a job whose row says something leash cannot
                // read (an unknown trigger kind or mode) is never run. It
                // is ended here, so that the queue moves on instead of
                // claiming it again after every restart.
                self.fail_unreadable_job(id, &err)?;
                Err(err)
            }
            read => read,
        }
    }

    /// Ends claimed job `id`, whose row cannot be read, as `failed` with
    /// `why` as its result (written without reading the row: it does not
    /// decode).
    fn fail_unreadable_job(&self, id: i64, why: &StoreError) -> Result<(), StoreError> {
        let result = serde_json::json!({"end": "failed", "reason": why.to_string()});
        self.conn
            .execute(
                "UPDATE jobs SET state = ?1, updated_at = ?2, result = ?3 \
                 WHERE id = ?4 AND state = ?5",
                params![
                    JobState::Failed.as_str(),
                    crate::timestamp::now_rfc3339(),
                    result.to_string(),
                    id,
                    JobState::Running.as_str(),
                ],
            )
            .at(&self.path)?;
        Ok(())
    }

    /// After a crash: every job found `running` or `waiting_approval` becomes
    /// `interrupted`, and is re-queued when it has been re-queued fewer than
    /// `max_requeues` times. Pending approvals of those jobs are expired (the
    /// worker that asked is gone). Returns what it did, for the audit log.
    pub fn recover_interrupted_jobs(
        &mut self,
        max_requeues: u32,
    ) -> Result<Vec<RecoveredJob>, StoreError> {
        let stranded = self.jobs_where(
            "state IN ('running', 'waiting_approval') ORDER BY id",
            params![],
        )?;
        let mut recovered = Vec::new();
        for job in stranded {
            let found = job.state;
            let result = serde_json::json!({"interrupted": true, "found": found.as_str()});
            let interrupted = self.move_job(&job, JobState::Interrupted, Some(&result))?;
            self.conn
                .execute(
                    "UPDATE approvals SET state = 'expired', decided_by = 'recovery', \
                     decided_at = ?1, channel = 'recovery' WHERE job_id = ?2 AND state = 'pending'",
                    params![crate::timestamp::now_rfc3339(), job.id],
                )
                .at(&self.path)?;
            let requeued = interrupted.requeues < i64::from(max_requeues);
            let job = if requeued {
                self.move_job(&interrupted, JobState::Queued, None)?
            } else {
                interrupted
            };
            recovered.push(RecoveredJob {
                job,
                found,
                requeued,
            });
        }
        Ok(recovered)
    }
}

/// Whether `job` was created less than `window` ago (a job whose timestamp does
/// not parse counts as recent: de-duplicating too much loses nothing durable,
/// the trigger stays where it is).
fn created_within(job: &Job, window: Duration) -> bool {
    if window.is_zero() {
        return false;
    }
    match job.created_at.parse::<jiff::Timestamp>() {
        Ok(created) => {
            let age = jiff::Timestamp::now().duration_since(created);
            age.as_secs_f64() < window.as_secs_f64()
        }
        Err(_) => true,
    }
}
