//! The approval request, its possible answers, and the channel trait.

use std::path::PathBuf;
use std::time::Duration;

use leash_policy::Decision;
use serde::Serialize;

/// Everything a person needs to judge one command.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalRequest {
    /// The argv exactly as it would be passed to the program.
    pub argv: Vec<String>,
    /// The file that would be executed, when the program resolved.
    pub program: Option<PathBuf>,
    /// The working directory it would run in.
    pub cwd: PathBuf,
    /// The policy's decision (allow in `prompt` mode, else ask).
    pub decision: Decision,
    /// The rule that decided.
    pub rule: String,
    /// Why the rule decided so.
    pub reason: String,
    /// How long the request stays open before it counts as denied.
    pub expires_in: Duration,
    /// What the approval covers (checked again right before the run).
    pub binding: Option<super::ApprovalBinding>,
    /// A grant leash suggests for this shape of command, after a person
    /// approved it `approvals.suggest_after` times.
    pub suggested_grant: Option<String>,
    /// Whether `leash undo` could take it back, when the journal classed it.
    pub reversibility: Option<leash_undo::Reversibility>,
    /// The grant pattern leash would use for this shape of command (shown
    /// with every request: no grant covers it, or nobody would be asked).
    pub grant_shape: Option<String>,
}

pub use leash_protocol::{ApprovalAnswer, GrantScopeKind, GrantTerms};

/// How an approval request ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum ApprovalOutcome {
    /// A person answered on `channel`.
    Answered {
        /// Yes, no, always or never.
        answer: ApprovalAnswer,
        /// Where the answer came from (`tty`, `http`, `cli`, `termux`, …).
        channel: String,
        /// Who answered (`cli:<user>`, a web session, a device).
        by: String,
        /// Why the person refused (typed or one of
        /// [`super::REFUSAL_REASONS`]); fed back to the model. Trusted
        /// words, but shown escaped everywhere.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Nobody answered before the expiry: counts as a denial.
    Expired {
        /// The channel that was waiting.
        channel: String,
    },
    /// No channel could reach a person (no terminal, ...): counts as a denial.
    Unavailable {
        /// Why no person could be reached.
        why: String,
    },
}

impl ApprovalOutcome {
    /// Whether the command may run. Only an explicit yes/always approves.
    pub fn approves(&self) -> bool {
        match self {
            ApprovalOutcome::Answered { answer, .. } => answer.approves(),
            ApprovalOutcome::Expired { .. } | ApprovalOutcome::Unavailable { .. } => false,
        }
    }
}

/// One way of reaching a person.
pub trait Approver: std::fmt::Debug {
    /// Asks and waits for an answer or the expiry.
    fn ask(&self, request: &ApprovalRequest) -> ApprovalOutcome;
}

/// The approver for runs where no person can be reached (no terminal, no
/// daemon): every request is answered `Unavailable`, so nothing that needs a
/// person ever runs.
#[derive(Debug, Clone)]
pub struct NoApprover {
    /// Why no person can be reached (shown in the refusal and audited).
    pub why: String,
}

impl Approver for NoApprover {
    fn ask(&self, _request: &ApprovalRequest) -> ApprovalOutcome {
        ApprovalOutcome::Unavailable {
            why: self.why.clone(),
        }
    }
}
