//! The execution-mode gate: what happens to a command once the policy has
//! decided, given the mode leash runs in (docs/DESIGN.md
//! "Execution modes").
//!
//! | mode         | allow             | ask               | deny     |
//! |--------------|-------------------|-------------------|----------|
//! | auto-approve | runs              | waits for approval| refused  |
//! | prompt       | waits for approval| waits for approval| refused  |
//! | dry-run      | "would run"       | "would ask"       | refused  |
//! | audit-only   | recorded only     | recorded only     | recorded only |
//!
//! Both enums are matched exhaustively, without wildcard arms, so a new mode
//! or decision cannot slip through unconsidered.

use leash_config::ExecutionMode;
use leash_policy::Decision;
pub use leash_protocol::GateOutcome;

/// Applies the mode table to one policy decision.
pub fn gate(mode: ExecutionMode, decision: Decision) -> GateOutcome {
    match (mode, decision) {
        (ExecutionMode::AutoApprove, Decision::Allow) => GateOutcome::Run,
        (ExecutionMode::AutoApprove, Decision::Ask) => GateOutcome::NeedsApproval,
        (ExecutionMode::AutoApprove, Decision::Deny) => GateOutcome::Refused,
        (ExecutionMode::Prompt, Decision::Allow) => GateOutcome::NeedsApproval,
        (ExecutionMode::Prompt, Decision::Ask) => GateOutcome::NeedsApproval,
        (ExecutionMode::Prompt, Decision::Deny) => GateOutcome::Refused,
        (ExecutionMode::DryRun, Decision::Allow) => GateOutcome::WouldRun,
        (ExecutionMode::DryRun, Decision::Ask) => GateOutcome::WouldAsk,
        (ExecutionMode::DryRun, Decision::Deny) => GateOutcome::Refused,
        (ExecutionMode::AuditOnly, Decision::Allow)
        | (ExecutionMode::AuditOnly, Decision::Ask)
        | (ExecutionMode::AuditOnly, Decision::Deny) => GateOutcome::RecordedOnly,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(ExecutionMode::AutoApprove, Decision::Allow, GateOutcome::Run)]
    #[case(ExecutionMode::AutoApprove, Decision::Ask, GateOutcome::NeedsApproval)]
    #[case(ExecutionMode::AutoApprove, Decision::Deny, GateOutcome::Refused)]
    #[case(ExecutionMode::Prompt, Decision::Allow, GateOutcome::NeedsApproval)]
    #[case(ExecutionMode::Prompt, Decision::Ask, GateOutcome::NeedsApproval)]
    #[case(ExecutionMode::Prompt, Decision::Deny, GateOutcome::Refused)]
    #[case(ExecutionMode::DryRun, Decision::Allow, GateOutcome::WouldRun)]
    #[case(ExecutionMode::DryRun, Decision::Ask, GateOutcome::WouldAsk)]
    #[case(ExecutionMode::DryRun, Decision::Deny, GateOutcome::Refused)]
    #[case(ExecutionMode::AuditOnly, Decision::Allow, GateOutcome::RecordedOnly)]
    #[case(ExecutionMode::AuditOnly, Decision::Ask, GateOutcome::RecordedOnly)]
    #[case(ExecutionMode::AuditOnly, Decision::Deny, GateOutcome::RecordedOnly)]
    fn gate_follows_the_design_table(
        #[case] mode: ExecutionMode,
        #[case] decision: Decision,
        #[case] expected: GateOutcome,
    ) {
        assert_eq!(gate(mode, decision), expected);
    }

    #[test]
    fn a_deny_never_reaches_the_executor_in_any_mode() {
        for mode in [
            ExecutionMode::AutoApprove,
            ExecutionMode::Prompt,
            ExecutionMode::DryRun,
            ExecutionMode::AuditOnly,
        ] {
            assert!(!gate(mode, Decision::Deny).may_execute(), "{mode:?}");
        }
    }
}
