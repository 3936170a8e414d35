//! The rollback journal, hooked into the command pipeline: every command is
//! classed (reversible / partly / irreversible) from the write targets the
//! policy names before anyone approves it, and journaled durably before it
//! runs. The logic is in leash-undo; this file only connects it.

use leash_policy::{Decision, Policy, Verdict};
use leash_store::AuditLog;
use leash_undo::{EntryContext, Journal, Pending, Plan, Reversibility, replaces_files};
use serde_json::json;

use crate::error::EngineError;
use crate::mode_gate::GateOutcome;

/// The journal's plan for a judged command or file action (`None` when it
/// is denied without a program: it cannot run at all).
pub(crate) fn plan(
    journal: &Journal,
    policy: &Policy,
    verdict: &Verdict,
    argv: &[String],
    cwd: &std::path::Path,
) -> Option<Plan> {
    match verdict.command.as_ref() {
        Some(command) => {
            let writes = policy.write_targets(&command.argv, cwd);
            Some(journal.plan(&writes, replaces_files(&command.identity)))
        }
        // A file action leash carries out itself (`write_file`) is judged as
        // a file action, with no program resolved. Its request argv
        // (`tee -- PATH`) names what it writes, and leash's own write
        // replaces the file (an atomic rename), so a big file can be kept by
        // hard link. Without this, `write_file` would go unjournaled.
        None => match verdict.decision {
            Decision::Allow | Decision::Ask => {
                let writes = policy.write_targets(argv, cwd);
                Some(journal.plan(&writes, true))
            }
            Decision::Deny => None,
        },
    }
}

/// `undo.approve_irreversible`: an irreversible command that would just run
/// waits for a person instead.
pub(crate) fn gate(journal: &Journal, plan: Option<&Plan>, outcome: GateOutcome) -> GateOutcome {
    let irreversible = plan.is_some_and(|p| p.class == Reversibility::Irreversible);
    if journal.settings().approve_irreversible && irreversible && outcome == GateOutcome::Run {
        GateOutcome::NeedsApproval
    } else {
        outcome
    }
}

/// The reason shown at the approval prompt, with the undo class.
pub(crate) fn prompt_reason(reason: &str, plan: Option<&Plan>) -> String {
    match plan {
        None => reason.to_owned(),
        Some(p) => match &p.reason {
            Some(why) => format!("{reason}\n  {}: {why}", p.class.prompt_line()),
            None => format!("{reason}\n  {}", p.class.prompt_line()),
        },
    }
}

/// Journals before the effect. An error means the action must not run; it
/// is recorded as `undo.failed` (if the audit log can still take it).
pub(crate) fn begin(
    journal: &Journal,
    audit: &AuditLog,
    job_id: Option<i64>,
    argv: &[String],
    plan: &Plan,
) -> Result<Option<Pending>, EngineError> {
    let ctx = EntryContext {
        job_id,
        step: None,
        action: None,
        summary: json!({"argv": argv}),
    };
    journal.begin(&ctx, plan, audit).map_err(|err| {
        let _ = audit.append(
            job_id,
            "undo.failed",
            json!({"argv": argv, "error": err.to_string(), "ran": false}),
        );
        EngineError::Undo(err)
    })
}

/// Records the after-images once the action ran. A failure here leaves the
/// entry `not_started` (undo then needs `--force`) and is recorded; the
/// action already happened, so it is not an error of the job.
pub(crate) fn finish(
    journal: &Journal,
    audit: &AuditLog,
    job_id: Option<i64>,
    pending: Option<Pending>,
) {
    let Some(pending) = pending else { return };
    let id = pending.id;
    if let Err(err) = journal.finish(pending) {
        tracing::warn!(entry = id, error = %err, "undo journal: after-images not recorded");
        let _ = audit.append(
            job_id,
            "undo.failed",
            json!({"entry": id, "error": err.to_string(), "ran": true}),
        );
    }
}

/// Where `leash undo` may write: the workspace (`security.workspace`, else
/// `fallback_workspace`), the write roots, every trigger's workspace and the
/// job's own, canonical. Undo refuses any journaled path outside them.
pub fn undo_roots(
    loaded: &leash_config::LoadedConfig,
    fallback_workspace: &std::path::Path,
    job_workspace: Option<&str>,
) -> Vec<std::path::PathBuf> {
    let security = &loaded.config.security;
    let mut roots = vec![
        security
            .workspace
            .clone()
            .unwrap_or_else(|| fallback_workspace.to_path_buf()),
    ];
    roots.extend(security.paths.write.iter().cloned());
    roots.extend(
        loaded
            .config
            .triggers
            .iter()
            .filter_map(|t| t.workspace.clone()),
    );
    roots.extend(job_workspace.map(std::path::PathBuf::from));
    roots
        .into_iter()
        .map(|r| r.canonicalize().unwrap_or(r))
        .collect()
}
