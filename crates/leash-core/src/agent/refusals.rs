//! A person's refusal, as the model hears it in the same job: the RESULTS
//! line says that a person refused the action and why, and a re-proposal of
//! the very same action later in the job is refused by the loop with that
//! reason, without asking again (see `job_loop`: actions are keyed by their
//! whole value, argv and cwd, so a changed argv is judged and asked anew).

use super::actions::ActionResult;
use crate::approval::{ApprovalOutcome, reason_line};
use crate::command_runner::{CommandReport, NotRunReason};

/// The person's reason for refusing `report`'s command, if they refused it
/// and said why (and learning from refusals is on: see `refusal_memory`).
pub(super) fn person_reason(report: &CommandReport) -> Option<&str> {
    match (report.not_run(), &report.approval) {
        (
            Some(NotRunReason::Refused),
            Some(ApprovalOutcome::Answered {
                reason: Some(reason),
                ..
            }),
        ) => Some(reason),
        _ => None,
    }
}

/// The RESULTS text of a command a person refused.
pub(super) fn refused_text(report: &CommandReport) -> String {
    match person_reason(report) {
        Some(reason) => format!(
            "NOT RUN: a person refused it: {}. Do not propose it again; do something else.",
            reason_line(reason)
        ),
        None => "NOT RUN: the person refused it.".to_owned(),
    }
}

/// Why an action must not be carried out again in this job: `why` (from
/// the loop), with the person's reason when they gave one.
pub(super) fn not_again(result: &ActionResult, why: &'static str) -> String {
    let report = match result {
        ActionResult::Command { report, .. } | ActionResult::FileWrite { report, .. } => report,
        ActionResult::Notified(_) | ActionResult::Rejected { .. } => return why.to_owned(),
    };
    match person_reason(report) {
        Some(reason) => format!("{why} ({})", reason_line(reason)),
        None => why.to_owned(),
    }
}

/// What a model step hears in the same job when a person refused the action
/// it proposed (`None`: nobody refused it; the policy denied it, it failed or
/// it ran). The skills' and chores' model steps use it, so every path says
/// the same words as the agent loop's RESULTS.
pub fn person_refusal(result: &ActionResult) -> Option<String> {
    match result {
        ActionResult::Command { report, .. } | ActionResult::FileWrite { report, .. } => {
            (report.not_run() == Some(NotRunReason::Refused)).then(|| refused_text(report))
        }
        ActionResult::Notified(_) | ActionResult::Rejected { .. } => None,
    }
}
