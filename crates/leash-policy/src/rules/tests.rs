//! The built-in documents ship precompiled (JSON made by `build.rs`) and
//! unchecked at load: these tests are what stops a built-in rule whose example
//! fails, or a precompiled form that reads differently from the YAML, from
//! shipping.

use super::compile::{Examples, Syntax, build_from};
use super::format::RulesDocument;
use super::{BUILTIN_SOURCES, BUILTIN_YAML};
use crate::error::PolicyError;
use crate::settings::RulesSource;

#[test]
fn every_builtin_example_holds() {
    build_from(BUILTIN_YAML, Syntax::Yaml, &[], Examples::All)
        .expect("every built-in rule's match/not_match examples must hold");
    build_from(BUILTIN_SOURCES, Syntax::Json, &[], Examples::All)
        .expect("…and the same in the precompiled form the binary loads");
}

#[test]
fn precompiled_builtins_equal_the_yaml() {
    assert_eq!(BUILTIN_SOURCES.len(), BUILTIN_YAML.len());
    for ((json_name, json), (yaml_name, yaml)) in BUILTIN_SOURCES.iter().zip(BUILTIN_YAML) {
        assert_eq!(json_name, yaml_name);
        let from_json: RulesDocument = serde_json::from_str(json).unwrap();
        let from_yaml: RulesDocument = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(
            serde_json::to_value(&from_json).unwrap(),
            serde_json::to_value(&from_yaml).unwrap(),
            "{yaml_name}: the precompiled form reads differently from the YAML"
        );
        assert!(
            !from_yaml.programs.is_empty() || !from_yaml.rules.is_empty(),
            "{yaml_name} is empty"
        );
    }
}

/// A user's rule whose example fails is still a load error naming it.
#[test]
fn a_user_rule_with_a_failing_example_fails_the_load() {
    let extra = RulesSource {
        name: "config:security.rules".to_owned(),
        text: "rules:\n  - id: user.sort.output\n    program: sort\n    when: { options: [output] }\n    decision: ask\n    reason: sort -o writes\n    match: [\"sort in.txt\"]\n".to_owned(),
        origin: crate::VerdictOrigin::Configured,
    };
    match super::build(&[extra]) {
        Err(PolicyError::ExampleFailed { rule, example, .. }) => {
            assert_eq!(rule, "user.sort.output");
            assert_eq!(example, "sort in.txt");
        }
        other => panic!("expected ExampleFailed, got {other:?}"),
    }
}

/// A built-in example that fails is caught by the check the tests run: the
/// same check, on a copy of a built-in document with one example broken.
#[test]
fn a_broken_builtin_example_is_caught_by_the_build_time_check() {
    let (name, yaml) = BUILTIN_YAML
        .iter()
        .find(|(_, text)| text.contains("not_match:"))
        .expect("some built-in rule has not_match examples");
    let mut doc: RulesDocument = serde_saphyr::from_str(yaml).unwrap();
    let rule = doc
        .rules
        .iter_mut()
        .find(|r| !r.match_examples.is_empty())
        .expect("a rule with match examples");
    let moved = rule.match_examples[0].clone();
    rule.not_match.push(moved);
    let broken = serde_json::to_string(&doc).unwrap();
    let mut sources: Vec<(&str, &str)> = BUILTIN_SOURCES.to_vec();
    let index = sources.iter().position(|(n, _)| n == name).unwrap();
    sources[index] = (*name, &broken);
    assert!(matches!(
        build_from(&sources, Syntax::Json, &[], Examples::All),
        Err(PolicyError::ExampleFailed { .. })
    ));
}
