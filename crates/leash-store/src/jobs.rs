//! Jobs: the durable queue every trigger becomes before it is acknowledged.
//!
//! The states and the moves between them are a closed table
//! ([`JobState::can_become`]); every state change is a compare-and-set on the
//! row, so two workers (or a worker and a person cancelling) can never both
//! win. Queue operations that must be atomic with something outside the row —
//! claiming a trigger file, taking the next job — live in `job_queue.rs`.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::error::{SqliteResultExt, StoreError};
use crate::store::Store;
use crate::timestamp::now_rfc3339;

use leash_protocol::ExecutionMode;
pub use leash_protocol::{JobState, TriggerSource};

/// What a trigger hands over to become a job.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewJob {
    /// What kind of thing fired (stored as its spelling, `file`, `http`, ...).
    pub trigger_kind: TriggerSource,
    /// The configured trigger's `name` (none for `leash ask`, the API);
    /// trigger-scoped grants and remembered refusals key on it.
    pub trigger_name: Option<String>,
    /// Higher runs first.
    pub priority: i64,
    /// Two jobs with the same key inside the de-duplication window are the same work.
    pub dedup_key: Option<String>,
    /// The instruction the model gets (trusted: written by a person or a config).
    pub prompt: String,
    /// Trigger data shown to the model as untrusted (`{"label", "text"}`).
    pub payload: Option<serde_json::Value>,
    /// Parsed from its stored spelling when the row is read.
    pub mode: Option<ExecutionMode>,
    /// The directory the job works in (none: `security.workspace`).
    pub workspace: Option<String>,
    /// File triggers: where the trigger file is.
    pub file_path: Option<String>,
}

/// A job row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// The job's id (`leash jobs show ID`, the audit records' `job_id`).
    pub id: i64,
    /// When it was queued (RFC 3339).
    pub created_at: String,
    /// When its row last changed.
    pub updated_at: String,
    /// Where it is in its life; moved only by compare-and-set.
    pub state: JobState,
    /// Parsed from its stored spelling when the row is read.
    pub trigger_kind: TriggerSource,
    /// See [`NewJob::trigger_name`].
    pub trigger_name: Option<String>,
    /// Higher runs first.
    pub priority: i64,
    /// See [`NewJob::dedup_key`].
    pub dedup_key: Option<String>,
    /// The instruction the model gets (trusted).
    pub prompt: String,
    /// Trigger data shown to the model as untrusted (`{"label", "text"}`).
    pub payload: Option<serde_json::Value>,
    /// Parsed from its stored spelling when the row is read.
    pub mode: Option<ExecutionMode>,
    /// The directory the job works in (none: `security.workspace`).
    pub workspace: Option<String>,
    /// File triggers: where the trigger file is now (it moves as it is
    /// claimed and finished).
    pub file_path: Option<String>,
    /// How many times a worker took the job.
    pub attempts: i64,
    /// How many times it was re-queued after an interruption.
    pub requeues: i64,
    /// How it ended (the job's report), or why it moved; set at the end.
    pub result: Option<serde_json::Value>,
}

pub(crate) const JOB_COLUMNS: &str = "id, created_at, updated_at, state, trigger_kind, \
     trigger_name, priority, dedup_key, prompt, mode, workspace, attempts, result, payload, \
     file_path, requeues";

impl Store {
    /// Queues a new job and returns it as stored.
    pub fn insert_job(&self, job: &NewJob) -> Result<Job, StoreError> {
        let id = insert_job_row(&self.conn, &self.path, job)?;
        self.job(id)?.ok_or_else(|| self.job_not_found(id))
    }

    /// One job by id.
    pub fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let raw = self
            .conn
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                RawJob::from_row,
            )
            .optional()
            .at(&self.path)?;
        raw.map(|raw| raw.decode(&self.path)).transpose()
    }

    /// Jobs, newest first, optionally only those in `state`, at most `limit`.
    pub fn jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>, StoreError> {
        self.jobs_where(
            "(?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2",
            params![state.map(JobState::as_str), limit],
        )
    }

    /// The newest job (any state) whose trigger file is at `file_path`.
    pub fn job_by_file_path(&self, file_path: &str) -> Result<Option<Job>, StoreError> {
        Ok(self
            .jobs_where(
                "file_path = ?1 ORDER BY id DESC LIMIT 1",
                params![file_path],
            )?
            .pop())
    }

    /// How many jobs are in each state (states with none are left out).
    pub fn job_counts(&self) -> Result<Vec<(JobState, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT state, count(*) FROM jobs GROUP BY state ORDER BY state")
            .at(&self.path)?;
        let rows = stmt
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .at(&self.path)?;
        let mut counts = Vec::new();
        for row in rows {
            let (state, count) = row.at(&self.path)?;
            let state = JobState::parse(&state).ok_or_else(|| StoreError::Corrupt {
                path: self.path.clone(),
                what: format!("a job has unknown state {state:?}"),
            })?;
            counts.push((state, count));
        }
        Ok(counts)
    }

    /// Moves a job to `state`, recording `result` when given. Only moves in
    /// [`JobState::can_become`] are allowed ([`StoreError::InvalidTransition`]
    /// otherwise); moving to `running` from `queued` counts an attempt.
    pub fn set_job_state(
        &self,
        id: i64,
        state: JobState,
        result: Option<&serde_json::Value>,
    ) -> Result<Job, StoreError> {
        let current = self.job(id)?.ok_or_else(|| self.job_not_found(id))?;
        self.move_job(&current, state, result)
    }

    /// Moves `current` (as last read) to `state`: a compare-and-set on the state
    /// it was read in.
    pub(crate) fn move_job(
        &self,
        current: &Job,
        state: JobState,
        result: Option<&serde_json::Value>,
    ) -> Result<Job, StoreError> {
        let id = current.id;
        let refuse = |now: JobState| StoreError::InvalidTransition {
            table: "jobs",
            id,
            current: now.as_str().to_owned(),
            requested: state.as_str().to_owned(),
        };
        if !current.state.can_become(state) {
            return Err(refuse(current.state));
        }
        let result_text = result.map(serde_json::Value::to_string);
        let attempt = i64::from(current.state == JobState::Queued && state == JobState::Running);
        let requeue =
            i64::from(current.state == JobState::Interrupted && state == JobState::Queued);
        // The state in the WHERE clause makes this a compare-and-set: if another
        // connection moved the job meanwhile, nothing changes and we say so.
        let changed = self
            .conn
            .execute(
                "UPDATE jobs SET state = ?1, updated_at = ?2, attempts = attempts + ?3, \
                 requeues = requeues + ?4, result = COALESCE(?5, result) \
                 WHERE id = ?6 AND state = ?7",
                params![
                    state.as_str(),
                    now_rfc3339(),
                    attempt,
                    requeue,
                    result_text,
                    id,
                    current.state.as_str()
                ],
            )
            .at(&self.path)?;
        let now = self.job(id)?.ok_or_else(|| self.job_not_found(id))?;
        if changed == 0 {
            return Err(refuse(now.state));
        }
        Ok(now)
    }

    /// Records where a job's trigger file is now (after a claim or a move into
    /// `done/` or `failed/`).
    pub fn set_job_file_path(&self, id: i64, file_path: &str) -> Result<(), StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE jobs SET file_path = ?1, updated_at = ?2 WHERE id = ?3",
                params![file_path, now_rfc3339(), id],
            )
            .at(&self.path)?;
        if changed == 0 {
            return Err(self.job_not_found(id));
        }
        Ok(())
    }

    pub(crate) fn jobs_where(
        &self,
        clause: &str,
        bound: impl rusqlite::Params,
    ) -> Result<Vec<Job>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE {clause}"))
            .at(&self.path)?;
        let rows = stmt.query_map(bound, RawJob::from_row).at(&self.path)?;
        let mut jobs = Vec::new();
        for raw in rows {
            jobs.push(raw.at(&self.path)?.decode(&self.path)?);
        }
        Ok(jobs)
    }

    pub(crate) fn job_not_found(&self, id: i64) -> StoreError {
        StoreError::NotFound {
            table: "jobs",
            id,
            path: self.path.clone(),
        }
    }
}

/// Inserts a queued job row on `conn` (which may be inside a transaction).
pub(crate) fn insert_job_row(
    conn: &rusqlite::Connection,
    path: &std::path::Path,
    job: &NewJob,
) -> Result<i64, StoreError> {
    let now = now_rfc3339();
    conn.execute(
        "INSERT INTO jobs (created_at, updated_at, state, trigger_kind, trigger_name, \
         priority, dedup_key, prompt, mode, workspace, payload, file_path) \
         VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            now,
            JobState::Queued.as_str(),
            job.trigger_kind.as_str(),
            job.trigger_name,
            job.priority,
            job.dedup_key,
            job.prompt,
            job.mode.map(ExecutionMode::as_str),
            job.workspace,
            job.payload.as_ref().map(serde_json::Value::to_string),
            job.file_path,
        ],
    )
    .at(path)?;
    Ok(conn.last_insert_rowid())
}

/// A job row before its text columns are decoded.
pub(crate) struct RawJob {
    id: i64,
    created_at: String,
    updated_at: String,
    state: String,
    trigger_kind: String,
    trigger_name: Option<String>,
    priority: i64,
    dedup_key: Option<String>,
    prompt: String,
    mode: Option<String>,
    workspace: Option<String>,
    attempts: i64,
    result: Option<String>,
    payload: Option<String>,
    file_path: Option<String>,
    requeues: i64,
}

impl RawJob {
    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<RawJob> {
        Ok(RawJob {
            id: row.get(0)?,
            created_at: row.get(1)?,
            updated_at: row.get(2)?,
            state: row.get(3)?,
            trigger_kind: row.get(4)?,
            trigger_name: row.get(5)?,
            priority: row.get(6)?,
            dedup_key: row.get(7)?,
            prompt: row.get(8)?,
            mode: row.get(9)?,
            workspace: row.get(10)?,
            attempts: row.get(11)?,
            result: row.get(12)?,
            payload: row.get(13)?,
            file_path: row.get(14)?,
            requeues: row.get(15)?,
        })
    }

    pub(crate) fn decode(self, path: &std::path::Path) -> Result<Job, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt {
            path: path.to_path_buf(),
            what,
        };
        let unknown = |column: &'static str, value: &str| StoreError::UnknownSpelling {
            path: path.to_path_buf(),
            table: "jobs",
            id: self.id,
            column,
            value: value.to_owned(),
        };
        let state = JobState::parse(&self.state).ok_or_else(|| unknown("state", &self.state))?;
        let trigger_kind = TriggerSource::parse(&self.trigger_kind)
            .ok_or_else(|| unknown("trigger kind", &self.trigger_kind))?;
        let json = |column: &str, text: Option<String>| {
            text.map(|text| serde_json::from_str(&text))
                .transpose()
                .map_err(|err| {
                    corrupt(format!(
                        "job {} has a {column} that is not JSON: {err}",
                        self.id
                    ))
                })
        };
        let mode = self
            .mode
            .as_deref()
            .map(|text| ExecutionMode::parse(text).ok_or_else(|| unknown("execution mode", text)))
            .transpose()?;
        let result = json("result", self.result)?;
        let payload = json("payload", self.payload)?;
        Ok(Job {
            id: self.id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            state,
            trigger_kind,
            trigger_name: self.trigger_name,
            priority: self.priority,
            dedup_key: self.dedup_key,
            prompt: self.prompt,
            payload,
            mode,
            workspace: self.workspace,
            file_path: self.file_path,
            attempts: self.attempts,
            requeues: self.requeues,
            result,
        })
    }
}
