//! Learned rules: the person's "always" / "never" answers at an approval
//! prompt, written by the engine to a learned-rules file and loaded back as an
//! extra rules document. A learned allow turns an `ask` for exactly that argv
//! into `allow` but never overrides a deny; a learned deny denies exactly that
//! argv (judged by program identity, so `/usr/bin/x` and `x` are the same).

use serde::{Deserialize, Serialize};

use crate::Decision;
use crate::rules::format::{RuleDoc, RulesDocument, WhenDoc};

/// One remembered answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnedRule {
    /// The exact argv the answer was about.
    pub argv: Vec<String>,
    /// `Allow` ("always") or `Deny` ("never"); an `Ask` is written as a deny
    /// would be unsafe to guess, so it is skipped.
    pub decision: Decision,
    /// Who/when/why, kept in the rule's reason.
    pub note: String,
}

/// Renders learned rules as a rules document (the same YAML format as the
/// built-in rules), ready to be loaded back through `extra_rules`.
pub fn render_learned_rules(rules: &[LearnedRule]) -> String {
    let mut doc = RulesDocument::default();
    for (index, rule) in rules.iter().enumerate() {
        let (kind, decision) = match rule.decision {
            Decision::Allow => ("allow", Decision::Allow),
            Decision::Deny => ("deny", Decision::Deny),
            Decision::Ask => continue,
        };
        if rule.argv.is_empty() {
            continue;
        }
        doc.rules.push(RuleDoc {
            id: format!("learned.{kind}.{}", index + 1),
            when: WhenDoc {
                argv: Some(rule.argv.clone()),
                ..WhenDoc::default()
            },
            decision: Some(decision),
            reason: if rule.note.is_empty() {
                format!("learned: {kind} exactly this command")
            } else {
                format!("learned: {kind} exactly this command ({})", rule.note)
            },
            hint: String::new(),
            ..RuleDoc::default()
        });
    }
    let body = serde_saphyr::to_string(&doc).unwrap_or_default();
    format!("# leash learned rules: written by leash from approval answers\n{body}")
}

/// Reads a learned-rules file back into its rules, so the engine can add one
/// and render the file again. Only exact-argv allow/deny rules belong in it: a
/// file with anything else (hand-written program rules, `programs:` entries) is
/// an error naming the rule, so that re-rendering never silently drops a rule
/// a person wrote (such rules belong in a file listed in `security.rules`).
pub fn parse_learned_rules(
    source_name: &str,
    text: &str,
) -> Result<Vec<LearnedRule>, crate::PolicyError> {
    let doc: RulesDocument = if text.trim().is_empty() {
        RulesDocument::default()
    } else {
        serde_saphyr::from_str(text).map_err(|err| crate::PolicyError::RulesSyntax {
            source_name: source_name.to_owned(),
            message: err.to_string(),
        })?
    };
    if let Some(program) = doc.programs.first() {
        return Err(crate::PolicyError::InvalidProgram {
            source_name: source_name.to_owned(),
            program: program.name.clone(),
            message: "a learned-rules file holds only exact-argv rules; put program descriptions in a file listed in security.rules".to_owned(),
        });
    }
    doc.rules
        .into_iter()
        .map(|rule| {
            let not_learned = |message: &str| crate::PolicyError::InvalidRule {
                source_name: source_name.to_owned(),
                rule: rule.id.clone(),
                message: message.to_owned(),
            };
            let argv = rule
                .when
                .argv
                .clone()
                .filter(|argv| !argv.is_empty())
                .ok_or_else(|| {
                    not_learned("a learned rule needs `when.argv` (the exact command)")
                })?;
            let decision = match rule.decision {
                Some(Decision::Allow) => Decision::Allow,
                Some(Decision::Deny) => Decision::Deny,
                Some(Decision::Ask) | None => {
                    return Err(not_learned("a learned rule's decision is allow or deny"));
                }
            };
            let note = rule
                .reason
                .split_once(" (")
                .and_then(|(_, rest)| rest.strip_suffix(')'))
                .unwrap_or_default()
                .to_owned();
            Ok(LearnedRule {
                argv,
                decision,
                note,
            })
        })
        .collect()
}
