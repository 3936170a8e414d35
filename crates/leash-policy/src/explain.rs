//! Explanations: every rule that matched a command, and the winner.

use serde::{Deserialize, Serialize};

use crate::{Decision, Verdict};

/// One rule that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub rule: String,
    pub decision: Decision,
    pub reason: String,
    /// The hint this rule gives the model.
    #[serde(default)]
    pub hint: String,
}

/// A verdict with all the rules that contributed to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub verdict: Verdict,
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

    pub fn push(&mut self, rule: &str, decision: Decision, reason: String, hint: &str) {
        let m = RuleMatch {
            rule: rule.to_string(),
            decision,
            reason,
            hint: hint.to_string(),
        };
        match decision {
            // Allow rules (learned "always", configured exceptions) only
            // ever downgrade an ask.
            Decision::Allow => {
                if self.exception.is_none() {
                    self.exception = Some(m.clone());
                }
            }
            Decision::Ask | Decision::Deny => {
                if self.winner.as_ref().is_none_or(|w| decision > w.decision) {
                    self.winner = Some(m.clone());
                }
            }
        }
        if self.explain {
            self.matches.push(m);
        }
    }

    /// The final decision.
    pub fn finish(self, fallback: RuleMatch) -> (RuleMatch, Vec<RuleMatch>) {
        let winner = self.winner.unwrap_or(fallback);
        let winner = match (winner.decision, self.exception) {
            (Decision::Ask, Some(exception)) => RuleMatch {
                reason: format!("{} (overrides: {})", exception.reason, winner.reason),
                ..exception
            },
            (Decision::Allow | Decision::Ask | Decision::Deny, _) => winner,
        };
        (winner, self.matches)
    }
}
