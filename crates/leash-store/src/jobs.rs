//! Jobs: the durable queue every trigger becomes before it is acknowledged.
//! Minimal typed accessors; the engine's scheduling logic builds on them.

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::error::{SqliteResultExt, StoreError};
use crate::store::Store;
use crate::timestamp::now_rfc3339;

/// Where a job is in its life. Ordered as a job moves through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Durable, waiting for a worker.
    Queued,
    /// A worker has it.
    Running,
    /// Finished; `result` says how.
    Done,
    /// Gave up; `result` says why.
    Failed,
    /// Cancelled by a person.
    Cancelled,
}

impl JobState {
    /// The spelling stored in the database and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<JobState> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
            JobState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }

    /// Whether the job will never change state again.
    pub fn is_final(self) -> bool {
        match self {
            JobState::Queued | JobState::Running => false,
            JobState::Done | JobState::Failed | JobState::Cancelled => true,
        }
    }
}

/// What a trigger hands over to become a job.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewJob {
    /// `file`, `schedule`, `http`, `git`, `cli`.
    pub trigger_kind: String,
    pub trigger_name: Option<String>,
    /// Higher runs first.
    pub priority: i64,
    /// Two queued jobs with the same key are the same work.
    pub dedup_key: Option<String>,
    pub prompt: String,
    pub mode: Option<String>,
    pub workspace: Option<String>,
}

/// A job row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub created_at: String,
    pub updated_at: String,
    pub state: JobState,
    pub trigger_kind: String,
    pub trigger_name: Option<String>,
    pub priority: i64,
    pub dedup_key: Option<String>,
    pub prompt: String,
    pub mode: Option<String>,
    pub workspace: Option<String>,
    pub attempts: i64,
    pub result: Option<serde_json::Value>,
}

const JOB_COLUMNS: &str = "id, created_at, updated_at, state, trigger_kind, trigger_name, \
     priority, dedup_key, prompt, mode, workspace, attempts, result";

impl Store {
    /// Queues a new job and returns it as stored.
    pub fn insert_job(&self, job: &NewJob) -> Result<Job, StoreError> {
        let now = now_rfc3339();
        self.conn
            .execute(
                "INSERT INTO jobs (created_at, updated_at, state, trigger_kind, trigger_name, \
                 priority, dedup_key, prompt, mode, workspace) \
                 VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    now,
                    JobState::Queued.as_str(),
                    job.trigger_kind,
                    job.trigger_name,
                    job.priority,
                    job.dedup_key,
                    job.prompt,
                    job.mode,
                    job.workspace,
                ],
            )
            .at(&self.path)?;
        let id = self.conn.last_insert_rowid();
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
        raw.map(|raw| raw.decode(self)).transpose()
    }

    /// Jobs, newest first, optionally only those in `state`, at most `limit`.
    pub fn jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR state = ?1) \
                 ORDER BY id DESC LIMIT ?2"
            ))
            .at(&self.path)?;
        let rows = stmt
            .query_map(
                params![state.map(JobState::as_str), limit],
                RawJob::from_row,
            )
            .at(&self.path)?;
        let mut jobs = Vec::new();
        for raw in rows {
            jobs.push(raw.at(&self.path)?.decode(self)?);
        }
        Ok(jobs)
    }

    /// Moves a job to `state`, recording `result` when given. A job in a final
    /// state never changes again ([`StoreError::InvalidTransition`]); moving to
    /// `running` counts an attempt.
    pub fn set_job_state(
        &self,
        id: i64,
        state: JobState,
        result: Option<&serde_json::Value>,
    ) -> Result<Job, StoreError> {
        let current = self.job(id)?.ok_or_else(|| self.job_not_found(id))?;
        if current.state.is_final() {
            return Err(StoreError::InvalidTransition {
                table: "jobs",
                id,
                current: current.state.as_str().to_owned(),
                requested: state.as_str().to_owned(),
            });
        }
        let result_text = result.map(serde_json::Value::to_string);
        let attempt = i64::from(state == JobState::Running);
        // The state in the WHERE clause makes this a compare-and-set: if another
        // connection moved the job meanwhile, nothing changes and we say so.
        let changed = self
            .conn
            .execute(
                "UPDATE jobs SET state = ?1, updated_at = ?2, attempts = attempts + ?3, \
                 result = COALESCE(?4, result) WHERE id = ?5 AND state = ?6",
                params![
                    state.as_str(),
                    now_rfc3339(),
                    attempt,
                    result_text,
                    id,
                    current.state.as_str()
                ],
            )
            .at(&self.path)?;
        if changed == 0 {
            let now = self.job(id)?.ok_or_else(|| self.job_not_found(id))?;
            return Err(StoreError::InvalidTransition {
                table: "jobs",
                id,
                current: now.state.as_str().to_owned(),
                requested: state.as_str().to_owned(),
            });
        }
        self.job(id)?.ok_or_else(|| self.job_not_found(id))
    }

    fn job_not_found(&self, id: i64) -> StoreError {
        StoreError::NotFound {
            table: "jobs",
            id,
            path: self.path.clone(),
        }
    }
}

/// A job row before its text columns are decoded.
struct RawJob {
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
}

impl RawJob {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawJob> {
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
        })
    }

    fn decode(self, store: &Store) -> Result<Job, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt {
            path: store.path.clone(),
            what,
        };
        let state = JobState::parse(&self.state).ok_or_else(|| {
            corrupt(format!(
                "job {} has unknown state {:?}",
                self.id, self.state
            ))
        })?;
        let result = self
            .result
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|err| {
                corrupt(format!(
                    "job {} has a result that is not JSON: {err}",
                    self.id
                ))
            })?;
        Ok(Job {
            id: self.id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            state,
            trigger_kind: self.trigger_kind,
            trigger_name: self.trigger_name,
            priority: self.priority,
            dedup_key: self.dedup_key,
            prompt: self.prompt,
            mode: self.mode,
            workspace: self.workspace,
            attempts: self.attempts,
            result,
        })
    }
}
