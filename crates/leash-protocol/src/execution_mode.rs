//! The execution mode: what happens to an action after the policy decided on
//! it (auto-approve, prompt, dry-run, audit-only).

use serde::{Deserialize, Serialize};

/// How decided actions are carried out. Closed and ordered from most to least
/// eager to run things; the engine's mode gate matches on every variant.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutionMode {
    /// Allowed actions run; `ask` waits for approval; `deny` is refused.
    AutoApprove,
    /// Every action that is not denied waits for a person (the default).
    #[default]
    Prompt,
    /// Nothing runs: actions are recorded as "would run" / "would ask".
    DryRun,
    /// Nothing runs and nothing waits: every decision is only recorded.
    AuditOnly,
}

impl ExecutionMode {
    /// Every mode, from most to least eager.
    pub const ALL: [ExecutionMode; 4] = [
        ExecutionMode::AutoApprove,
        ExecutionMode::Prompt,
        ExecutionMode::DryRun,
        ExecutionMode::AuditOnly,
    ];

    /// The spelling used in YAML, on the command line, in JSON and in the
    /// job table.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionMode::AutoApprove => "auto-approve",
            ExecutionMode::Prompt => "prompt",
            ExecutionMode::DryRun => "dry-run",
            ExecutionMode::AuditOnly => "audit-only",
        }
    }

    /// The mode spelt exactly `text` (the stored spelling); messages with
    /// suggestions for people come from `leash_config::parse_enum`.
    pub fn parse(text: &str) -> Option<ExecutionMode> {
        ExecutionMode::ALL
            .into_iter()
            .find(|mode| mode.as_str() == text)
    }
}

impl std::fmt::Display for ExecutionMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_round_trips_through_its_spelling_and_serde() {
        for mode in ExecutionMode::ALL {
            assert_eq!(ExecutionMode::parse(mode.as_str()), Some(mode));
            assert_eq!(
                serde_json::to_value(mode).unwrap(),
                serde_json::Value::from(mode.as_str())
            );
        }
        assert_eq!(ExecutionMode::parse("Prompt"), None);
    }
}
