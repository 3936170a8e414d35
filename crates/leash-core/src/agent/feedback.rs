//! What the model is told after its actions: one `RESULTS` message per step,
//! one entry per action, outputs cut to a few KiB each so a chatty command
//! cannot push the task out of the context.
//!
//! Command output is untrusted data (a file the model `cat`s may say "ignore
//! your rules"): it goes inside the same `<untrusted-data>` fence as trigger
//! payloads, so it never reads like leash's own words. `ls -l` output loses
//! its time stamps (see `ls_times`), so the same job sees the same RESULTS.

use std::fmt::Write;

use leash_sandbox::{Captured, ExitKind};

use super::actions::ActionResult;
use super::context::untrusted_block;
use super::ls_times::strip_ls_times;
use crate::command_runner::{CommandReport, CommandStatus, NotRunReason};

/// Bytes of stdout/stderr per action the model sees.
pub const OUTPUT_BYTES_PER_ACTION: usize = 2048;
/// Upper bound of one RESULTS message.
pub const MAX_FEEDBACK_BYTES: usize = 8192;

/// Whether `argv` runs `ls` (by name or path), whose listing loses its times.
pub(super) fn is_ls(argv: &[String]) -> bool {
    argv.first()
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .is_some_and(|name| name == "ls")
}

/// The output as the model and the person see it: lossy UTF-8, `ls -l`
/// times removed.
pub(super) fn output_text(captured: &Captured, argv: &[String]) -> String {
    let text = String::from_utf8_lossy(&captured.bytes);
    if is_ls(argv) {
        strip_ls_times(&text)
    } else {
        text.into_owned()
    }
}

fn clip(captured: &Captured, argv: &[String]) -> String {
    let text = output_text(captured, argv);
    let mut end = text.len().min(OUTPUT_BYTES_PER_ACTION);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = text[..end].trim_end().to_owned();
    let total = usize::try_from(captured.total_bytes).unwrap_or(usize::MAX);
    if end < text.len() || total > captured.bytes.len() {
        let _ = write!(out, "\n[... cut: {total} bytes in all, not shown in full]");
    }
    out
}

fn not_run_text(report: &CommandReport) -> String {
    let verdict = &report.verdict;
    let hint = if verdict.hint.is_empty() {
        String::new()
    } else {
        format!(" Hint: {}", verdict.hint)
    };
    let reason = match &report.status {
        CommandStatus::NotRun { reason, .. } => *reason,
        CommandStatus::Failed { error } => {
            return format!("NOT RUN: the sandbox refused: {error}");
        }
        CommandStatus::Ran(_) | CommandStatus::Performed => return String::new(),
    };
    match reason {
        NotRunReason::Denied => format!(
            "DENIED by the policy (rule {}): {}.{hint}",
            verdict.rule, verdict.reason
        ),
        NotRunReason::Refused => super::refusals::refused_text(report),
        NotRunReason::ApprovalExpired => {
            "NOT RUN: it needed approval and nobody answered in time.".to_owned()
        }
        NotRunReason::NoApprover => {
            "NOT RUN: it needs a person's approval and nobody can be asked now.".to_owned()
        }
        NotRunReason::DryRun => format!(
            "NOT RUN (dry run): it {} have run.",
            if report.gate == crate::GateOutcome::WouldAsk {
                "would have needed approval to"
            } else {
                "would"
            }
        ),
        NotRunReason::AuditOnly => "NOT RUN (audit-only mode): recorded.".to_owned(),
        NotRunReason::ApprovalVoid => format!(
            "NOT RUN: {}",
            report.error().unwrap_or("the approval is void")
        ),
    }
}

fn command_status(report: &CommandReport) -> String {
    let Some(outcome) = report.outcome() else {
        return not_run_text(report);
    };
    let mut out = match &outcome.status {
        ExitKind::Exited(code) => format!("exit status {code}"),
        ExitKind::Signaled { name, .. } => format!("killed by {name}"),
        ExitKind::TimedOut => "timed out and was killed".to_owned(),
    };
    if let Some(reason) = report.tamper_reason() {
        let _ = write!(out, "; FAILED: {reason}");
    }
    out
}

/// What became of one action, in one line (its output apart).
pub(super) fn status_text(result: &ActionResult) -> String {
    match result {
        ActionResult::Command { report, .. } => command_status(report),
        ActionResult::FileWrite {
            report, written, ..
        } => match (report.carried_out(), written) {
            (true, Ok(bytes)) => format!("written ({bytes} bytes)"),
            (true, Err(err)) => format!("FAILED: {err}"),
            (false, _) => not_run_text(report),
        },
        ActionResult::Notified(_) => "shown to the person".to_owned(),
        ActionResult::Rejected { why } => format!("REJECTED: {why}"),
    }
}

/// The RESULTS message for one step.
pub fn results_message(step: u32, results: &[(String, ActionResult)]) -> String {
    let mut msg = format!("RESULTS of step {step}:\n");
    for (i, (label, result)) in results.iter().enumerate() {
        let _ = writeln!(msg, "[{}] {label}: {}", i + 1, status_text(result));
        if let ActionResult::Command {
            argv,
            report:
                CommandReport {
                    status: CommandStatus::Ran(outcome),
                    ..
                },
        } = result
        {
            for (stream, captured) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
                if !captured.bytes.is_empty() {
                    let source = format!("{stream} of [{}]", i + 1);
                    let _ = writeln!(msg, "{}", untrusted_block(&source, &clip(captured, argv)));
                }
            }
        }
    }
    if msg.len() > MAX_FEEDBACK_BYTES {
        let mut end = MAX_FEEDBACK_BYTES;
        while !msg.is_char_boundary(end) {
            end -= 1;
        }
        msg.truncate(end);
        msg.push_str("\n[... results cut to fit]");
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_a_bounded_prefix_and_says_how_much_is_missing() {
        let captured = Captured {
            bytes: "é".repeat(3000).into_bytes(),
            total_bytes: 100_000,
            truncated: true,
        };
        let text = clip(&captured, &[]);
        assert!(text.len() <= OUTPUT_BYTES_PER_ACTION + 64, "{}", text.len());
        assert!(text.contains("not shown in full"), "{text}");
    }

    #[test]
    fn results_message_is_bounded() {
        let results: Vec<(String, ActionResult)> = (0..100)
            .map(|i| {
                (
                    format!("notify {i}"),
                    ActionResult::Rejected {
                        why: "x".repeat(500),
                    },
                )
            })
            .collect();
        let msg = results_message(1, &results);
        assert!(msg.len() <= MAX_FEEDBACK_BYTES + 64);
        assert!(msg.ends_with("[... results cut to fit]"));
    }
}
