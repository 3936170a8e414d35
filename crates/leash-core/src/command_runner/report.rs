//! What happened to one command: the judgement (verdict, gate, approval) and
//! one status — ran, carried out by leash, not run (and why), or failed to
//! start. One enum, so "ran" and "not run" can never both be claimed.

use std::path::PathBuf;

use leash_config::ExecutionMode;
use leash_policy::Verdict;
use leash_sandbox::ExecOutcome;

use crate::approval::{ApprovalBinding, ApprovalOutcome};
use crate::control_files::{Tamper, tamper_reason};
use crate::mode_gate::GateOutcome;

/// Why a command did not run. Closed: every caller must handle each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotRunReason {
    /// The policy denied it.
    Denied,
    /// A person said no (or never).
    Refused,
    /// Nobody answered before the expiry.
    ApprovalExpired,
    /// Approval was needed and no person could be reached.
    NoApprover,
    /// Dry run: recorded as "would run" / "would ask".
    DryRun,
    /// Audit-only mode: recorded, never executed.
    AuditOnly,
    /// A person approved it, but what the approval covered (program file,
    /// script contents, cwd, environment) changed before it could run.
    ApprovalVoid,
}

/// Where one command ended. Closed: never match it with a wildcard arm.
#[derive(Debug)]
pub enum CommandStatus {
    /// Cleared and executed in the sandbox.
    Ran(ExecOutcome),
    /// Cleared and carried out by leash itself, in-process (`write_file`);
    /// the action's own result says whether the write succeeded.
    Performed,
    /// Not run; `detail` says more where there is more to say (what voided
    /// an approval, a verdict without a resolved program).
    NotRun {
        /// Why it did not run.
        reason: NotRunReason,
        /// What voided an approval, or what else there is to say.
        detail: Option<String>,
    },
    /// Cleared, but the sandbox refused (a required layer is missing, leash
    /// is root without a usable `run_as`) or the spawn failed.
    Failed {
        /// The sandbox's or spawn's error.
        error: String,
    },
}

/// What happened to one command.
#[derive(Debug)]
pub struct CommandReport {
    /// The policy's verdict, with the rule that made it.
    pub verdict: Verdict,
    /// The mode the command was judged in.
    pub mode: ExecutionMode,
    /// What the mode gate made of the verdict.
    pub gate: GateOutcome,
    /// The person's answer, when one was asked.
    pub approval: Option<ApprovalOutcome>,
    /// Ran, carried out, not run, or failed.
    pub status: CommandStatus,
    /// The learned-rules file written after an "always"/"never" answer.
    pub learned_rule_file: Option<PathBuf>,
    /// Control files the command changed without approval (reverted, recorded
    /// as `security.tamper`); the job fails when this is not empty.
    pub tampered: Vec<Tamper>,
    /// The rollback journal's plan: how reversible the command is and what
    /// it journals before running (`None` without a journal or a program).
    pub undo: Option<leash_undo::Plan>,
    /// The grant that stood in for asking a person, if one did.
    pub grant: Option<i64>,
    /// What the person's approval covered (checked again before the run).
    pub binding: Option<ApprovalBinding>,
}

impl CommandReport {
    /// Why the job must fail because of this command, if it must.
    pub fn tamper_reason(&self) -> Option<String> {
        (!self.tampered.is_empty()).then(|| tamper_reason(&self.tampered))
    }

    /// The sandbox's result, when the command was executed.
    pub fn outcome(&self) -> Option<&ExecOutcome> {
        match &self.status {
            CommandStatus::Ran(outcome) => Some(outcome),
            CommandStatus::Performed
            | CommandStatus::NotRun { .. }
            | CommandStatus::Failed { .. } => None,
        }
    }

    /// Whether it was cleared and carried out (by the sandbox or by leash).
    pub fn carried_out(&self) -> bool {
        match &self.status {
            CommandStatus::Ran(_) | CommandStatus::Performed => true,
            CommandStatus::NotRun { .. } | CommandStatus::Failed { .. } => false,
        }
    }

    /// Why it was not run, when a policy, mode or person stopped it.
    pub fn not_run(&self) -> Option<NotRunReason> {
        match &self.status {
            CommandStatus::NotRun { reason, .. } => Some(*reason),
            CommandStatus::Ran(_) | CommandStatus::Performed | CommandStatus::Failed { .. } => None,
        }
    }

    /// The error or detail that goes with a command that did not run.
    pub fn error(&self) -> Option<&str> {
        match &self.status {
            CommandStatus::NotRun { detail, .. } => detail.as_deref(),
            CommandStatus::Failed { error } => Some(error),
            CommandStatus::Ran(_) | CommandStatus::Performed => None,
        }
    }

    /// The status's name for JSON: `null` when it ran or was carried out,
    /// the reason when it was not run, `sandbox-failed` when it could not
    /// start (the names `leash exec --json` has always printed).
    pub fn not_run_label(&self) -> Option<&'static str> {
        match &self.status {
            CommandStatus::Ran(_) | CommandStatus::Performed => None,
            CommandStatus::Failed { .. } => Some("sandbox-failed"),
            CommandStatus::NotRun { reason, .. } => Some(reason.as_str()),
        }
    }
}

impl NotRunReason {
    /// The kebab-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            NotRunReason::Denied => "denied",
            NotRunReason::Refused => "refused",
            NotRunReason::ApprovalExpired => "approval-expired",
            NotRunReason::NoApprover => "no-approver",
            NotRunReason::DryRun => "dry-run",
            NotRunReason::AuditOnly => "audit-only",
            NotRunReason::ApprovalVoid => "approval-void",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON names are the serde names (one spelling for both).
    #[test]
    fn not_run_names_match_their_serde_names() {
        for reason in [
            NotRunReason::Denied,
            NotRunReason::Refused,
            NotRunReason::ApprovalExpired,
            NotRunReason::NoApprover,
            NotRunReason::DryRun,
            NotRunReason::AuditOnly,
            NotRunReason::ApprovalVoid,
        ] {
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::Value::from(reason.as_str())
            );
        }
    }
}
