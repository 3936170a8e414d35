//! The outcome of a policy check.

use std::path::PathBuf;

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

/// The program a command resolved to, as the executor must run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedCommand {
    /// Canonical absolute path of the file that will be executed (no PATH lookup
    /// happens after the policy: the executor runs exactly this file).
    pub program: PathBuf,
    /// The name the program was judged as (`rm` for `/bin/rm`, `busybox rm`, ...).
    pub identity: String,
    /// The argv as it will be passed (`argv[0]` as the model wrote it).
    pub argv: Vec<String>,
}

/// A decision together with why it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub decision: Decision,
    /// Id of the rule that decided, e.g. `shell.syntax`, `seed.blacklist`,
    /// `builtin.find.exec`, `paths.write-outside-roots`.
    pub rule: String,
    /// Where the deciding rule came from.
    #[serde(default)]
    pub origin: VerdictOrigin,
    /// A human-readable reason, shown to people and written to the audit log.
    pub reason: String,
    /// A short hint for the model on how to propose something acceptable.
    pub hint: String,
    /// The command asks because the person listed it in
    /// `require_approval_for` and it reaches the network while
    /// `security.network` is off: the one run a person approves gets the
    /// network, nothing else does (rule `network.approval`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub network_if_approved: bool,
    /// Present whenever the command parsed and its program resolved.
    pub command: Option<ResolvedCommand>,
}

impl Verdict {
    /// Whether a person already answered "always" for exactly this argv: the
    /// policy allows it by a learned rule (in prompt mode that answer stands
    /// in for asking again).
    pub fn is_learned_allow(&self) -> bool {
        match (self.decision, self.origin) {
            (Decision::Allow, VerdictOrigin::Learned) => true,
            (Decision::Allow | Decision::Ask | Decision::Deny, _) => false,
        }
    }
}

/// For `skip_serializing_if`: the JSON of a verdict stays as it was unless the
/// flag is set.
fn is_false(b: &bool) -> bool {
    !*b
}
