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
}

impl ApprovalAnswer {
    /// Whether the command may run.
    pub fn approves(self) -> bool {
        match self {
            ApprovalAnswer::Yes | ApprovalAnswer::Always => true,
            ApprovalAnswer::No | ApprovalAnswer::Never => false,
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
        }
    }
}
