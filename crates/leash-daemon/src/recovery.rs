//! Start-up recovery after a crash, before any trigger or worker starts:
//!
//! 1. jobs found `running`/`waiting_approval` become `interrupted` and are
//!    re-queued up to `daemon.requeue_interrupted` times (their pending
//!    approvals expire: the worker that asked is gone);
//! 2. every command of theirs that was started with no recorded result is
//!    recorded as `command.outcome_unknown` — it may or may not have run;
//! 3. when such a job runs again, every argv any earlier attempt started is
//!    asked about before it runs again ([`repeat_guard`]): nothing is repeated
//!    without a person saying so.

use leash_protocol::audit::{CommandOutcomeUnknown, CommandStarted};
use leash_store::AuditKind;
use leash_store::{AuditRecord, JobState, RecoveredJob};

use crate::context::DaemonContext;
use crate::error::DaemonError;

/// What start-up recovery did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RecoveryReport {
    /// Jobs found running and interrupted.
    pub interrupted: Vec<RecoveredJob>,
    /// Commands whose outcome is unknown.
    pub outcome_unknown: usize,
}

/// Recovers jobs a dead daemon left behind (see the module documentation).
pub fn recover_jobs(ctx: &DaemonContext) -> Result<RecoveryReport, DaemonError> {
    let limit = ctx.loaded.config.daemon.requeue_interrupted;
    let recovered = ctx.with_store(|store| store.recover_interrupted_jobs(limit))?;
    let mut report = RecoveryReport::default();
    for item in &recovered {
        let id = item.job.id;
        let unknown = unfinished_commands(&ctx.audit.for_job(id)?);
        for argv in &unknown {
            ctx.audit.append_typed(
                Some(id),
                &CommandOutcomeUnknown {
                    argv: argv.clone(),
                    why: "started before the daemon stopped; no result was recorded".to_owned(),
                },
            )?;
        }
        report.outcome_unknown += unknown.len();
        ctx.record_transition(id, Some(item.found), JobState::Interrupted, None)?;
        if item.requeued {
            ctx.record_transition(id, Some(JobState::Interrupted), JobState::Queued, None)?;
        }
        tracing::warn!(
            job = id,
            found = item.found.as_str(),
            requeued = item.requeued,
            outcome_unknown = unknown.len(),
            "recovered a job the previous daemon left running"
        );
    }
    report.interrupted = recovered;
    Ok(report)
}

/// Commands started (a `command.started` record) with no `command.finished`,
/// `command.failed` or `command.outcome_unknown` after them, in `records`
/// (one job's audit records, oldest first; a job runs its commands one at a
/// time, so a start is answered by the next result record).
pub fn unfinished_commands(records: &[AuditRecord]) -> Vec<Vec<String>> {
    let mut open: Option<Vec<String>> = None;
    let mut unknown = Vec::new();
    for record in records {
        match record.audit_kind() {
            Some(AuditKind::CommandStarted) => {
                if let Some(previous) = open.take() {
                    unknown.push(previous);
                }
                open = Some(started_argv(record));
            }
            Some(
                AuditKind::CommandFinished
                | AuditKind::CommandFailed
                | AuditKind::CommandOutcomeUnknown,
            ) => open = None,
            // Every other record (and a kind this leash does not know) says
            // nothing about whether a started command ended.
            _ => {}
        }
    }
    unknown.extend(open);
    unknown
}

/// Every argv an earlier attempt of a job started (finished or not): the
/// engine asks a person before any of them runs again.
pub fn repeat_guard(records: &[AuditRecord]) -> Vec<Vec<String>> {
    let mut argvs: Vec<Vec<String>> = Vec::new();
    for record in records {
        let argv = match record.audit_kind() {
            Some(AuditKind::CommandStarted) => started_argv(record),
            Some(AuditKind::CommandOutcomeUnknown) => record
                .payload_as::<CommandOutcomeUnknown>()
                .map(|p| p.argv)
                .unwrap_or_default(),
            _ => continue,
        };
        if !argvs.contains(&argv) {
            argvs.push(argv);
        }
    }
    argvs
}

/// The argv of a `command.started` record (empty for a malformed one: an
/// empty argv never matches a command, so nothing is wrongly trusted).
fn started_argv(record: &AuditRecord) -> Vec<String> {
    record
        .payload_as::<CommandStarted>()
        .map(|p| p.argv)
        .unwrap_or_default()
}
