//! A request cannot widen security: the execution mode a job asks for through
//! the API may be as strict as the config's `security.execution_mode` or
//! stricter, never looser.
//!
//! "Stricter" is a closed ordering by what can happen without a person:
//!
//! | rank | mode | what runs |
//! |---|---|---|
//! | 0 | auto-approve | allowed commands run unasked |
//! | 1 | prompt | commands run only after a person approves |
//! | 2 | dry-run | nothing runs; decisions are simulated and fed back |
//! | 3 | audit-only | nothing runs and nothing is fed back; only recorded |
//!
//! A request may ask for any mode whose rank is at least the config's.

use leash_config::ExecutionMode;

/// The mode's rank in the ordering above (higher is stricter).
pub fn mode_strictness(mode: ExecutionMode) -> u8 {
    match mode {
        ExecutionMode::AutoApprove => 0,
        ExecutionMode::Prompt => 1,
        ExecutionMode::DryRun => 2,
        ExecutionMode::AuditOnly => 3,
    }
}

/// Whether `requested` is allowed under the configured `ceiling`.
pub fn mode_within_ceiling(requested: ExecutionMode, ceiling: ExecutionMode) -> bool {
    mode_strictness(requested) >= mode_strictness(ceiling)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExecutionMode::{AuditOnly, AutoApprove, DryRun, Prompt};
    use rstest::rstest;

    #[rstest]
    #[case::same_mode_is_fine(Prompt, Prompt, true)]
    #[case::stricter_dry_run(DryRun, Prompt, true)]
    #[case::strictest_audit_only(AuditOnly, AutoApprove, true)]
    #[case::looser_auto_approve_refused(AutoApprove, Prompt, false)]
    #[case::prompt_under_dry_run_refused(Prompt, DryRun, false)]
    #[case::dry_run_under_audit_only_refused(DryRun, AuditOnly, false)]
    fn requests_never_widen_the_mode(
        #[case] requested: ExecutionMode,
        #[case] ceiling: ExecutionMode,
        #[case] allowed: bool,
    ) {
        assert_eq!(mode_within_ceiling(requested, ceiling), allowed);
    }
}
