//! Explanations: every rule that matched a command, and the winner.

use serde::{Deserialize, Serialize};

use crate::{Decision, Verdict, VerdictOrigin};

/// One rule that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMatch {
    /// The rule's id (`seed.blacklist`, `builtin.find.exec`, ...).
    pub rule: String,
    /// Where the rule came from.
    #[serde(default)]
    pub origin: VerdictOrigin,
    /// What this rule alone would decide.
    pub decision: Decision,
    /// Why, in words for people.
    pub reason: String,
    /// The hint this rule gives the model.
    #[serde(default)]
    pub hint: String,
}

/// A verdict with all the rules that contributed to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The verdict a plain check gives (the strictest match wins).
    pub verdict: Verdict,
    /// Every rule that matched, in the order they were checked, so a
    /// person can see what else would have decided (`leash policy explain`).
    pub matches: Vec<RuleMatch>,
}

/// Accumulates matches during one check. The winner is the strictest match
/// (the first one among equals); a matching allow rule (learned "always")
/// downgrades an `ask` winner to `allow` and never touches a `deny`.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    explain: bool,
    pub matches: Vec<RuleMatch>,
    winner: Option<RuleMatch>,
    exception: Option<RuleMatch>,
    /// A `require_approval_for` entry that reaches the network matched while
    /// `security.network` is off: the run a person approves gets the network.
    pub network_if_approved: bool,
}

impl Collector {
    pub fn new(explain: bool) -> Self {
        Collector {
            explain,
            ..Collector::default()
        }
    }

    /// Nothing can change a deny, so a plain check may stop at the first.
    pub fn settled(&self) -> bool {
        !self.explain
            && self
                .winner
                .as_ref()
                .is_some_and(|w| w.decision == Decision::Deny)
    }

    /// Records a match of one of leash's built-in rules.
    pub fn push(&mut self, rule: &str, decision: Decision, reason: String, hint: &str) {
        self.push_from(VerdictOrigin::BuiltIn, rule, decision, reason, hint);
    }

    /// Records a match of a rule from `origin`.
    pub fn push_from(
        &mut self,
        origin: VerdictOrigin,
        rule: &str,
        decision: Decision,
        reason: String,
        hint: &str,
    ) {
        // Allow rules (learned "always", configured exceptions) only ever
        // downgrade an ask; ask and deny compete for the strictest.
        let takes_over = match decision {
            Decision::Allow => self.exception.is_none(),
            Decision::Ask | Decision::Deny => {
                self.winner.as_ref().is_none_or(|w| decision > w.decision)
            }
        };
        if !takes_over && !self.explain {
            return;
        }
        let m = RuleMatch {
            rule: rule.to_string(),
            origin,
            decision,
            reason,
            hint: hint.to_string(),
        };
        let slot = match decision {
            Decision::Allow => &mut self.exception,
            Decision::Ask | Decision::Deny => &mut self.winner,
        };
        match (takes_over, self.explain) {
            (true, true) => {
                *slot = Some(m.clone());
                self.matches.push(m);
            }
            (true, false) => *slot = Some(m),
            (false, _) => self.matches.push(m),
        }
    }

    /// The final decision.
    pub fn finish(self, fallback: impl FnOnce() -> RuleMatch) -> (RuleMatch, Vec<RuleMatch>) {
        let winner = self.winner.unwrap_or_else(fallback);
        let winner = match (winner.decision, self.exception) {
            (Decision::Ask, Some(exception)) => RuleMatch {
                reason: format!("{} (overrides: {})", exception.reason, winner.reason),
                ..exception
            },
            // Allowed anyway, and an exact-argv allow (a learned "always")
            // matched too: name it, so the engine knows a person already
            // approved exactly this command (prompt mode then skips asking).
            (Decision::Allow, Some(exception)) => exception,
            (Decision::Allow | Decision::Ask | Decision::Deny, _) => winner,
        };
        (winner, self.matches)
    }
}
