//! The outcome of a policy check.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use leash_protocol::{Decision, VerdictOrigin};

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
    /// The strictest decision of every rule that matched.
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
