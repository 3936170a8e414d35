//! Every rule carries examples that must (`match`) and must not (`not_match`)
//! trigger it. A person's rules are checked each time the policy loads, so a
//! rule that does not do what its author showed is a load error, not a silent
//! gap; the built-in rules are checked by the tests, so one that fails cannot
//! ship.

use super::format::{ProgramDoc, RuleDoc};
use super::{RuleSet, script_facts, view};
use crate::error::PolicyError;
use crate::options::OptName;
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

/// Checks the examples of a program's options (program level): a `match`
/// example gives the option a non-empty value, a `not_match` one does not.
pub(super) fn check_options(
    set: &RuleSet,
    source: &str,
    doc: &ProgramDoc,
) -> Result<(), PolicyError> {
    let spec = set.knowledge.spec(set.knowledge.lookup(&doc.name));
    for option in &doc.options {
        let Some(id) = spec.global.option_id(&option.name) else {
            // Replaced by a later document; its own examples are checked there.
            continue;
        };
        let cases = option
            .match_examples
            .iter()
            .map(|e| (e, true))
            .chain(option.not_match.iter().map(|e| (e, false)));
        for (example, want) in cases {
            let fail = |problem: String| PolicyError::ExampleFailed {
                source_name: source.to_string(),
                rule: format!("{} option `{}`", doc.name, option.name),
                example: example.clone(),
                problem,
            };
            let argv = shell::parse_command(example)
                .map_err(|e| fail(format!("is not one simple command (found {})", e.found)))?;
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            let program = refs[0].rsplit('/').next().unwrap_or(refs[0]);
            if set.knowledge.lookup(program) != set.knowledge.lookup(&doc.name) {
                return Err(fail(format!("names `{program}`, not `{}`", doc.name)));
            }
            let parsed = spec.parse(&refs[1..]);
            let holds = parsed.options.iter().any(|o| {
                o.level.is_none()
                    && o.name == OptName::Known(id)
                    && o.value.is_some_and(|v| !v.is_empty())
            });
            if holds != want {
                return Err(fail(if want {
                    "is listed under `match` but does not give the option a value".to_string()
                } else {
                    "is listed under `not_match` but gives the option a value".to_string()
                }));
            }
        }
    }
    Ok(())
}
