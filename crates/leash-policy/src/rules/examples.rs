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

/// Checks every `match` (want `true`) and `not_match` (want `false`)
/// example: `holds(argv, program)` says whether the thing named `name`
/// matches it, or why the example cannot be read. `what` is the noun in the
/// failure ("the rule matches it").
fn check_cases(
    source: &str,
    name: &str,
    examples: (&[String], &[String]),
    what: (&str, &str),
    holds: impl Fn(&[&str], &str) -> Result<bool, String>,
) -> Result<(), PolicyError> {
    let cases = examples
        .0
        .iter()
        .map(|e| (e, true))
        .chain(examples.1.iter().map(|e| (e, false)));
    for (example, want) in cases {
        let fail = |problem: String| PolicyError::ExampleFailed {
            source_name: source.to_string(),
            rule: name.to_string(),
            example: example.clone(),
            problem,
        };
        let argv = shell::parse_command(example)
            .map_err(|e| fail(format!("is not one simple command (found {})", e.found)))?;
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let Some(first) = refs.first() else {
            return Err(fail("is empty".to_string()));
        };
        let program = first.rsplit('/').next().unwrap_or(first);
        if holds(&refs, program).map_err(fail)? != want {
            return Err(fail(if want {
                format!("is listed under `match` but {}", what.0)
            } else {
                format!("is listed under `not_match` but {}", what.1)
            }));
        }
    }
    Ok(())
}

pub(super) fn check(set: &RuleSet, source: &str, doc: &RuleDoc) -> Result<(), PolicyError> {
    let Some(rule) = set
        .rules
        .iter()
        .find(|r| r.id == doc.id && r.source == source)
    else {
        // Replaced by a later document; its own examples are checked there.
        return Ok(());
    };
    check_cases(
        source,
        &doc.id,
        (&doc.match_examples, &doc.not_match),
        ("the rule does not match it", "the rule matches it"),
        |refs, program| {
            let spec_index = set.knowledge.lookup(program);
            let Some((_, condition)) = rule
                .conditions
                .iter()
                .find(|(spec, _)| Some(*spec) == spec_index)
            else {
                return Err(format!(
                    "names `{program}`, a program this rule does not cover"
                ));
            };
            let spec = set.knowledge.spec(spec_index);
            let parsed = spec.parse(refs.get(1..).unwrap_or_default());
            let facts = script_facts(spec, &parsed);
            Ok(condition.holds(&view(refs, &parsed, spec, &facts)))
        },
    )
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
        check_cases(
            source,
            &format!("{} option `{}`", doc.name, option.name),
            (&option.match_examples, &option.not_match),
            (
                "does not give the option a value",
                "gives the option a value",
            ),
            |refs, program| {
                if set.knowledge.lookup(program) != set.knowledge.lookup(&doc.name) {
                    return Err(format!("names `{program}`, not `{}`", doc.name));
                }
                let parsed = spec.parse(refs.get(1..).unwrap_or_default());
                Ok(parsed.options.iter().any(|o| {
                    o.level.is_none()
                        && o.name == OptName::Known(id)
                        && o.value.is_some_and(|v| !v.is_empty())
                }))
            },
        )?;
    }
    Ok(())
}
