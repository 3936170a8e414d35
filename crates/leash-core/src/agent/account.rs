//! The plain account of a job for the person: each action, the policy's
//! decision, what became of it, and the output of what ran (capped). `leash
//! ask` prints it (escaped for the terminal) and `--json` carries it; it is
//! also in the `job.finished` audit record.

use serde::Serialize;

use super::actions::ActionResult;
use super::feedback::{output_text, status_text};

/// Bytes of output per action kept in the account.
pub const ACCOUNT_OUTPUT_BYTES: usize = 4096;

/// One action of the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionAccount {
    /// The agent step (from 1) that proposed it.
    pub step: u32,
    /// The action, as a short label (`run ["df","-h"]`, `write_file notes.txt`).
    pub action: String,
    /// `allow`, `ask` or `deny`; `None` when nothing was judged (a notify, an
    /// action rejected before judging).
    pub decision: Option<String>,
    /// The rule that decided.
    pub rule: Option<String>,
    /// What became of it (`exit status 0`, `DENIED by the policy …`, `written (12 bytes)`).
    pub result: String,
    /// stdout, then stderr, of what ran (cut to [`ACCOUNT_OUTPUT_BYTES`]).
    pub output: Option<String>,
}

fn cut(mut text: String) -> String {
    if text.len() > ACCOUNT_OUTPUT_BYTES {
        let mut end = ACCOUNT_OUTPUT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let total = text.len();
        text.truncate(end);
        text.push_str(&format!("\n[... {} more bytes]", total - end));
    }
    text
}

/// The account of one action.
pub fn account(step: u32, label: &str, result: &ActionResult) -> ActionAccount {
    let report = match result {
        ActionResult::Command { report, .. } | ActionResult::FileWrite { report, .. } => {
            Some(report)
        }
        ActionResult::Notified(_) | ActionResult::Rejected { .. } => None,
    };
    let output = match result {
        ActionResult::Command { argv, report } => report.outcome().and_then(|o| {
            let mut text = output_text(&o.stdout, argv);
            let err = output_text(&o.stderr, argv);
            if !err.is_empty() {
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&err);
            }
            (!text.is_empty()).then(|| cut(text))
        }),
        ActionResult::Notified(text) => Some(cut(text.clone())),
        ActionResult::FileWrite { .. } | ActionResult::Rejected { .. } => None,
    };
    ActionAccount {
        step,
        action: label.to_owned(),
        decision: report.map(|r| r.verdict.decision.as_str().to_owned()),
        rule: report.map(|r| r.verdict.rule.clone()),
        result: status_text(result),
        output,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_output_is_cut_on_a_char_boundary() {
        let text = cut("é".repeat(ACCOUNT_OUTPUT_BYTES));
        assert!(text.len() <= ACCOUNT_OUTPUT_BYTES + 32, "{}", text.len());
        assert!(text.ends_with("more bytes]"), "{text}");
        assert_eq!(cut("short".into()), "short");
    }

    #[test]
    fn a_rejected_action_has_no_decision_but_says_why() {
        let a = account(
            2,
            "run [\"ls\"]",
            &ActionResult::Rejected {
                why: "cwd `x` is not a directory inside the workspace".into(),
            },
        );
        assert_eq!(a.decision, None);
        assert!(a.result.starts_with("REJECTED: cwd"), "{}", a.result);
        assert_eq!(a.step, 2);
    }
}
