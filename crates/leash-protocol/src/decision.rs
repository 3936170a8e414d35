//! The policy's words that other crates record and read back: its
//! decision on a command and where the deciding rule came from. They live
//! here, below the policy, so that an audit payload (`command.decision`)
//! carries them as types rather than as strings each side spells for
//! itself; `leash_policy` re-exports both where they always were.

use serde::{Deserialize, Serialize};

/// What the policy says about one command. Ordered: `Allow < Ask < Deny`, so the
/// strictest of several decisions is their `max()`. Never match on it with a
/// wildcard arm: a new variant must be considered everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// May run without a person's approval (the mode gate may still ask).
    Allow,
    /// May run only after a person approves it.
    Ask,
    /// Never runs, not even with approval.
    Deny,
}

impl Decision {
    /// The lowercase name used in JSON and on the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Ask => "ask",
            Decision::Deny => "deny",
        }
    }
}

/// Where a verdict's deciding rule came from. Closed: the engine treats a
/// person's own answers (learned, grant) differently from leash's rules, and
/// must consider every origin, so never match it with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictOrigin {
    /// leash's own knowledge: the built-in rules documents, the grammar, the
    /// path rules, the shell and size limits, program resolution.
    #[default]
    BuiltIn,
    /// The seed lists `security.whitelist`, `blacklist`, `require_approval_for`.
    SeedList,
    /// A rules document the person configured (`security.rules`).
    Configured,
    /// The learned-rules file: a person's "always"/"never" answer for exactly
    /// this argv.
    Learned,
    /// A person's standing grant answered instead of asking. The policy never
    /// decides with a grant (grants are applied by the engine after it); the
    /// engine marks the verdict it acted on with this origin.
    Grant,
}

impl VerdictOrigin {
    /// The kebab-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictOrigin::BuiltIn => "built-in",
            VerdictOrigin::SeedList => "seed-list",
            VerdictOrigin::Configured => "configured",
            VerdictOrigin::Learned => "learned",
            VerdictOrigin::Grant => "grant",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_and_origins_are_spelled_as_in_stored_records() {
        for (decision, text) in [
            (Decision::Allow, "allow"),
            (Decision::Ask, "ask"),
            (Decision::Deny, "deny"),
        ] {
            assert_eq!(decision.as_str(), text);
            assert_eq!(serde_json::to_value(decision).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<Decision>(text.into()).unwrap(),
                decision
            );
        }
        for (origin, text) in [
            (VerdictOrigin::BuiltIn, "built-in"),
            (VerdictOrigin::SeedList, "seed-list"),
            (VerdictOrigin::Configured, "configured"),
            (VerdictOrigin::Learned, "learned"),
            (VerdictOrigin::Grant, "grant"),
        ] {
            assert_eq!(origin.as_str(), text);
            assert_eq!(serde_json::to_value(origin).unwrap(), text);
        }
    }

    #[test]
    fn the_strictest_decision_is_the_greatest() {
        assert!(Decision::Allow < Decision::Ask && Decision::Ask < Decision::Deny);
    }
}
