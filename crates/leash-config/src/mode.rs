//! The execution mode: what happens to an action after the policy decided on it
//! (docs/DESIGN.md "Execution modes").

use serde::{Deserialize, Serialize};

use crate::yaml_enum::YamlEnum;

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
    /// The spelling used in YAML, on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionMode::AutoApprove => "auto-approve",
            ExecutionMode::Prompt => "prompt",
            ExecutionMode::DryRun => "dry-run",
            ExecutionMode::AuditOnly => "audit-only",
        }
    }
}

impl std::fmt::Display for ExecutionMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl YamlEnum for ExecutionMode {
    const WHAT: &'static str = "execution mode";
    const ALL: &'static [Self] = &[
        ExecutionMode::AutoApprove,
        ExecutionMode::Prompt,
        ExecutionMode::DryRun,
        ExecutionMode::AuditOnly,
    ];
    fn yaml_name(&self) -> &'static str {
        self.as_str()
    }
}

impl std::str::FromStr for ExecutionMode {
    type Err = crate::UnknownVariant;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::yaml_enum::parse_variant(text)
    }
}
