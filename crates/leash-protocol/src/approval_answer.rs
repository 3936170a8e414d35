//! A person's answer to an approval request. Here, below the engine that
//! asks, so the `approval.answered` record carries it typed and the
//! usefulness suite reads it back as a value, not a string.

use serde::{Deserialize, Serialize};

/// A person's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalAnswer {
    /// Run it, this once.
    Yes,
    /// Don't run it.
    No,
    /// Run it, and allow exactly this argv from now on (a learned rule).
    Always,
    /// Don't run it, and deny exactly this argv from now on (a learned rule).
    Never,
    /// Run it, and make a grant of its shape (the request's `grant_shape`)
    /// on these terms, through the same checks as the API's grants: a shape
    /// that would cover a denied argv is refused (audited `grant.refused`)
    /// and only this one command runs. Stored as `{"grant": {terms}}`, so the
    /// record keeps what was granted; the other answers stay plain words.
    Grant(GrantTerms),
}

/// Which scope a person picked for a grant. Closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantScopeKind {
    /// This job only.
    Job,
    /// Every job of this job's trigger.
    Trigger,
    /// Every job in this workspace.
    Workspace,
}

/// What a person grants along with a yes: the scope, and minutes until it
/// expires (none: until revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GrantTerms {
    /// Where the grant applies.
    pub scope: GrantScopeKind,
    /// Minutes until it expires; `None` lasts until revoked.
    pub minutes: Option<u64>,
}

impl ApprovalAnswer {
    /// Whether the command may run.
    pub fn approves(self) -> bool {
        match self {
            ApprovalAnswer::Yes | ApprovalAnswer::Always | ApprovalAnswer::Grant(_) => true,
            ApprovalAnswer::No | ApprovalAnswer::Never => false,
        }
    }

    /// The answer as one word (`yes`, `no`, `always`, `never`, `grant`),
    /// for messages and counts; a grant's terms are not in it.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalAnswer::Yes => "yes",
            ApprovalAnswer::No => "no",
            ApprovalAnswer::Always => "always",
            ApprovalAnswer::Never => "never",
            ApprovalAnswer::Grant(_) => "grant",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_is_spelled_as_in_stored_records() {
        for (answer, text, approves) in [
            (ApprovalAnswer::Yes, "yes", true),
            (ApprovalAnswer::No, "no", false),
            (ApprovalAnswer::Always, "always", true),
            (ApprovalAnswer::Never, "never", false),
        ] {
            assert_eq!(serde_json::to_value(answer).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<ApprovalAnswer>(text.into()).unwrap(),
                answer
            );
            assert_eq!(answer.approves(), approves);
            assert_eq!(answer.as_str(), text);
        }
    }

    #[test]
    fn a_grant_answer_keeps_its_terms_in_the_record() {
        let answer = ApprovalAnswer::Grant(GrantTerms {
            scope: GrantScopeKind::Workspace,
            minutes: Some(60),
        });
        let json = serde_json::to_value(answer).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"grant": {"scope": "workspace", "minutes": 60}})
        );
        assert_eq!(
            serde_json::from_value::<ApprovalAnswer>(json).unwrap(),
            answer
        );
        assert!(answer.approves());
        assert_eq!(answer.as_str(), "grant");
    }
}
