//! The execution-mode gate's outcome for one command: what the mode let
//! happen to it after the policy decided (the gate itself is in
//! `leash_core::gate`). Here so `command.decision` records carry it typed.

use serde::{Deserialize, Serialize};

/// What the gate lets happen to one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateOutcome {
    /// Execute now.
    Run,
    /// Execute only after a person approves it.
    NeedsApproval,
    /// Never executed; the policy denied it.
    Refused,
    /// Dry run: would have run; not executed.
    WouldRun,
    /// Dry run: would have asked for approval; not executed.
    WouldAsk,
    /// Audit-only: recorded, never executed, whatever the decision.
    RecordedOnly,
}

impl GateOutcome {
    /// Whether the command may reach the executor (possibly after approval).
    pub fn may_execute(self) -> bool {
        match self {
            GateOutcome::Run | GateOutcome::NeedsApproval => true,
            GateOutcome::Refused
            | GateOutcome::WouldRun
            | GateOutcome::WouldAsk
            | GateOutcome::RecordedOnly => false,
        }
    }

    /// The kebab-case name used in audit records and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            GateOutcome::Run => "run",
            GateOutcome::NeedsApproval => "needs-approval",
            GateOutcome::Refused => "refused",
            GateOutcome::WouldRun => "would-run",
            GateOutcome::WouldAsk => "would-ask",
            GateOutcome::RecordedOnly => "recorded-only",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_is_spelled_as_in_stored_records() {
        for (outcome, text) in [
            (GateOutcome::Run, "run"),
            (GateOutcome::NeedsApproval, "needs-approval"),
            (GateOutcome::Refused, "refused"),
            (GateOutcome::WouldRun, "would-run"),
            (GateOutcome::WouldAsk, "would-ask"),
            (GateOutcome::RecordedOnly, "recorded-only"),
        ] {
            assert_eq!(outcome.as_str(), text);
            assert_eq!(serde_json::to_value(outcome).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<GateOutcome>(text.into()).unwrap(),
                outcome
            );
        }
    }
}
