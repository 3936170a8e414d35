//! The rollback journal, hooked into the command pipeline: every command is
//! classed (reversible / partly / irreversible) from the write targets the
//! policy names before anyone approves it, and journaled durably before it
//! runs. The logic is in leash-undo; this file only connects it.

use leash_store::AuditKind;
use std::path::{Path, PathBuf};

use leash_policy::{Decision, Policy, Verdict, WriteTarget};
use leash_store::{AuditEntry, AuditLog};
use leash_undo::{EntryContext, Journal, Pending, Plan, Reversibility, WriteMode};
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
            Some(journal.plan_with(&writes, WriteMode::of_program(&command.identity)))
        }
        // A file action leash carries out itself (`write_file`) is judged as
        // a file action, with no program resolved. Its request argv
        // (`tee -- PATH`) names what it writes, and leash's own write
        // writes a new inode over the file (an atomic rename), so the old one
        // is kept by hard link, whatever its size. Without this, `write_file`
        // would go unjournaled.
        None => match verdict.decision {
            Decision::Allow | Decision::Ask => {
                let mut writes = policy.write_targets(argv, cwd);
                if let Some(path) = replaced_path(argv, cwd) {
                    writes.targets = vec![WriteTarget {
                        path,
                        recursive: false,
                    }];
                }
                Some(journal.plan_with(&writes, WriteMode::NewInode))
            }
            Decision::Deny => None,
        },
    }
}

/// The path leash's atomic write really replaces for `tee -- PATH` (the
/// argv `write_file` is recorded as): its directory resolved, its last
/// component **not** — the rename replaces a symlink there instead of
/// following it. The policy names the link's target (what a `tee` would
/// write, and what it judges); the journal must keep the link itself, so
/// undo puts the symlink back rather than leaving a regular file.
fn replaced_path(argv: &[String], cwd: &Path) -> Option<PathBuf> {
    let [_, dashes, path] = argv else { return None };
    if dashes != "--" {
        return None;
    }
    let full = cwd.join(path);
    let name = full.file_name()?;
    let dir = full.parent()?.canonicalize().ok()?;
    Some(dir.join(name))
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

/// Journals before the effect, not yet durable: the caller makes it durable
/// before the effect (`Journal::make_durable`, or the `Barrier` of leash's
/// own write) and appends `Pending::record` with its next records. An error
/// means the action must not run; it is recorded as `undo.failed`, after
/// `lead` (records that must precede it, such as a held-back decision).
pub(crate) fn prepare(
    journal: &Journal,
    audit: &AuditLog,
    job_id: Option<i64>,
    argv: &[String],
    plan: &Plan,
    lead: Vec<AuditEntry>,
) -> Result<Option<Pending>, EngineError> {
    let ctx = EntryContext {
        job_id,
        step: None,
        action: None,
        summary: json!({"argv": argv}),
    };
    journal.prepare(&ctx, plan).map_err(|err| {
        let failed = AuditEntry::new(
            job_id,
            AuditKind::UndoFailed,
            json!({"argv": argv, "error": err.to_string(), "ran": false}),
        );
        let _ = audit.append_group(lead.into_iter().chain([failed]).collect());
        EngineError::Undo(err)
    })
}

/// Appends `records` (with the entry's `undo.journaled` first, if any) as
/// one group, and links the entry to it.
pub(crate) fn append_with_record(
    audit: &AuditLog,
    pending: Option<&mut Pending>,
    lead: Vec<AuditEntry>,
    records: Vec<AuditEntry>,
) -> Result<(), EngineError> {
    let journaled = pending.as_ref().map(|p| p.record());
    let at = lead.len();
    let written = audit.append_group(lead.into_iter().chain(journaled).chain(records).collect())?;
    if let Some(pending) = pending
        && let Some(record) = written.get(at)
    {
        pending.set_audit_seq(record.seq);
    }
    Ok(())
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
            AuditKind::UndoFailed,
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
