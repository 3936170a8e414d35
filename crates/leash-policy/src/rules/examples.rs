//! Every rule carries examples that must (`match`) and must not (`not_match`)
//! trigger it. A person's rules are checked each time the policy loads, so a
//! rule that does not do what its author showed is a load error, not a silent
//! gap; the built-in rules are checked by the tests, so one that fails cannot
//! ship.

use super::format::RuleDoc;
use super::{RuleSet, script_facts, view};
use crate::error::PolicyError;
use crate::shell;

pub(super) fn check(set: &RuleSet, source: &str, doc: &RuleDoc) -> Result<(), PolicyError> {
    let Some(rule) = set
        .rules
        .iter()
        .find(|r| r.id == doc.id && r.source == source)
    else {
        // Replaced by a later document; its own examples are checked there.
        return Ok(());
    };
    let cases = doc
        .match_examples
        .iter()
        .map(|e| (e, true))
        .chain(doc.not_match.iter().map(|e| (e, false)));
    for (example, want) in cases {
        let fail = |problem: String| PolicyError::ExampleFailed {
            source_name: source.to_string(),
            rule: doc.id.clone(),
            example: example.clone(),
            problem,
        };
        let argv = shell::parse_command(example)
            .map_err(|e| fail(format!("is not one simple command (found {})", e.found)))?;
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let program = refs[0].rsplit('/').next().unwrap_or(refs[0]);
        let spec_index = set.knowledge.lookup(program);
        let Some((_, condition)) = rule
            .conditions
            .iter()
            .find(|(spec, _)| Some(*spec) == spec_index)
        else {
            return Err(fail(format!(
                "names `{program}`, a program this rule does not cover"
            )));
        };
        let spec = set.knowledge.spec(spec_index);
        let parsed = spec.parse(&refs[1..]);
        let facts = script_facts(spec, &parsed);
        let holds = condition.holds(&view(&refs, &parsed, spec, &facts));
        if holds != want {
            return Err(fail(if want {
                "is listed under `match` but the rule does not match it".to_string()
            } else {
                "is listed under `not_match` but the rule matches it".to_string()
            }));
        }
    }
    Ok(())
}
