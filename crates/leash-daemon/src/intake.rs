//! Where triggers hand over: a [`TriggerEvent`] becomes a durable job row,
//! committed before the trigger is acknowledged (the HTTP 202; a
//! [`FileClaim`] rename runs inside the admission transaction), is audited as
//! `job.queued` (or `trigger.duplicate`), published, and wakes the worker.
//! Every trigger kind and the HTTP API come through here.
//!
//! File triggers claim first and admit after (`from == to`), so that the
//! content read is the claimed file's: a crash between the two leaves a
//! claimed file without a job, which start-up recovery admits (nothing is
//! lost, nothing runs twice).

use leash_store::AuditKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use leash_config::ExecutionMode;
use leash_store::{Admission, AdmitError, NewJob};
use serde_json::json;

use crate::context::DaemonContext;
use crate::error::DaemonError;
use crate::events::DaemonEvent;
use crate::metrics::Metrics;

/// What kind of thing fired (the shared vocabulary's).
pub use leash_protocol::TriggerSource;

/// Data that came with the trigger (a file's content, a diff, a request
/// body): the shared vocabulary's [`leash_protocol::JobPayload`], shown to the
/// model as untrusted, never as instructions.
pub use leash_protocol::JobPayload as TriggerPayload;

/// A file trigger's acknowledgement: rename the file from `from` to `to`
/// (inside `<dir>/.leash/processing/`) in the admission transaction. When
/// `from == to` the file is already claimed (start-up recovery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileClaim {
    /// Where the trigger file is now.
    pub from: PathBuf,
    /// Where it goes when its job is queued.
    pub to: PathBuf,
}

/// One trigger firing.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerEvent {
    /// What fired (file, schedule, git, http, cli, fleet).
    pub source: TriggerSource,
    /// The configured trigger's name, when one fired.
    pub trigger_name: Option<String>,
    /// The instruction (the trigger's prompt template, filled in).
    pub prompt: String,
    /// What the trigger saw (a file's text, a commit), handed to the model as
    /// untrusted data.
    pub payload: Option<TriggerPayload>,
    /// The trigger's execution mode; `None`: `security.execution_mode`.
    pub mode: Option<ExecutionMode>,
    /// The trigger's workspace; `None`: `security.workspace`.
    pub workspace: Option<PathBuf>,
    /// Higher runs first.
    pub priority: i64,
    /// Events with the same key are one job while it is pending, and for
    /// `dedup_window` after it was created.
    pub dedup_key: Option<String>,
    /// How long after creation a job still absorbs events with its key.
    pub dedup_window: Duration,
    /// A file trigger's rename, done in the same transaction as the queueing.
    pub claim: Option<FileClaim>,
}

impl TriggerEvent {
    /// An event with just a source and a prompt (the rest empty).
    pub fn new(source: TriggerSource, prompt: impl Into<String>) -> TriggerEvent {
        TriggerEvent {
            source,
            trigger_name: None,
            prompt: prompt.into(),
            payload: None,
            mode: None,
            workspace: None,
            priority: 0,
            dedup_key: None,
            dedup_window: Duration::ZERO,
            claim: None,
        }
    }
}

impl DaemonContext {
    /// Admits `event` as a job (see the module documentation). Refused while
    /// the daemon is stopping, so nothing is acknowledged that no one will run
    /// — a refused file stays where it is and is picked up at the next start.
    pub fn admit(&self, event: TriggerEvent) -> Result<Admission, DaemonError> {
        if self.is_stopping() {
            return Err(DaemonError::ShuttingDown);
        }
        Metrics::bump(&self.metrics.triggers_received);
        let new_job = NewJob {
            trigger_kind: event.source,
            trigger_name: event.trigger_name.clone(),
            priority: event.priority,
            dedup_key: event.dedup_key.clone(),
            prompt: event.prompt.clone(),
            payload: event.payload.as_ref().map(TriggerPayload::to_json),
            mode: event.mode,
            workspace: event.workspace.as_ref().map(|w| w.display().to_string()),
            file_path: event.claim.as_ref().map(|c| c.from.display().to_string()),
        };
        let claim = event.claim.clone();
        let admission = self.with_store(|store| {
            match store.admit_job(&new_job, event.dedup_window, |_id| {
                acknowledge(claim.as_ref())
            }) {
                Ok(admission) => Ok(Ok(admission)),
                Err(AdmitError::Store(err)) => Err(err),
                Err(AdmitError::Acknowledge(err)) => Ok(Err(err)),
            }
        })?;
        let admission = admission.map_err(|source| DaemonError::Io {
            action: "claim trigger file",
            path: event
                .claim
                .as_ref()
                .map(|c| c.from.clone())
                .unwrap_or_default(),
            source,
        })?;
        let job = admission.job();
        let details = json!({
            "trigger": event.source.as_str(),
            "name": event.trigger_name,
            "priority": event.priority,
            "dedup_key": event.dedup_key,
            "file": job.file_path,
            "prompt_bytes": event.prompt.len(),
            "payload": event.payload.as_ref().map(|p| json!({"label": p.label, "bytes": p.text.len()})),
            "mode": job.mode,
        });
        match &admission {
            Admission::Queued(job) => {
                self.audit
                    .append(Some(job.id), AuditKind::JobQueued, details)?;
                Metrics::bump(&self.metrics.jobs_queued);
                self.events.publish(DaemonEvent::JobQueued {
                    job_id: job.id,
                    trigger_kind: job.trigger_kind,
                    trigger_name: job.trigger_name.clone(),
                });
                self.wake_worker();
            }
            Admission::Duplicate(job) => {
                self.audit
                    .append(Some(job.id), AuditKind::TriggerDuplicate, details)?;
                Metrics::bump(&self.metrics.triggers_deduplicated);
            }
        }
        Ok(admission)
    }
}

/// Claims the trigger file (inside the admission transaction): renames it into
/// `.leash/processing/` and returns where it is now.
fn acknowledge(claim: Option<&FileClaim>) -> Result<Option<String>, std::io::Error> {
    let Some(claim) = claim else {
        return Ok(None);
    };
    if claim.from != claim.to {
        if let Some(parent) = claim.to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        rename_no_clobber(&claim.from, &claim.to)?;
    }
    Ok(Some(claim.to.display().to_string()))
}

/// `rename(2)` that refuses to replace an existing file (a claim must never
/// overwrite another claimed file). On glibc Linux this is one atomic
/// `renameat2(RENAME_NOREPLACE)`; where that is missing (Android's bionic,
/// file systems that answer `EINVAL`, such as some FUSE mounts) it falls back
/// to check-then-rename, whose window only matters to someone who can write
/// into leash's own 0700 `.leash/` directories.
pub(crate) fn rename_no_clobber(from: &Path, to: &Path) -> Result<(), std::io::Error> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::errno::Errno;
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(Errno::EINVAL | Errno::ENOSYS) => {}
            Err(errno) => return Err(std::io::Error::from(errno)),
        }
    }
    if to.symlink_metadata().is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} already exists", to.display()),
        ));
    }
    std::fs::rename(from, to)
}
