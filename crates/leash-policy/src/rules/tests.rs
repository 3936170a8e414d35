//! The built-in rules ship precompiled (the compiled table in
//! `builtin.table`, and the documents as JSON made by `build.rs` for when the
//! table cannot be used) and unchecked at load: these tests are what stops a
//! built-in rule whose example fails, or a precompiled form that reads
//! differently from the YAML, from shipping.

use super::compile::{Examples, Syntax, build_from};
use super::format::RulesDocument;
use super::{BUILTIN_SOURCES, BUILTIN_YAML, RuleDecision, examples, table};
use crate::Decision;
use crate::error::PolicyError;
use crate::settings::RulesSource;

/// The table the binary loads is exactly the YAML compiled now (every
/// built-in example and regex checked on the way). Regenerate with
/// `LEASH_UPDATE_POLICY_TABLE=1 cargo test -p leash-policy --lib precompiled_table_is_current`.
#[test]
fn precompiled_table_is_current() {
    let set = build_from(BUILTIN_YAML, Syntax::Yaml, &[], Examples::All)
        .expect("every built-in rule's match/not_match examples must hold");
    let bytes = table::encode(&set).unwrap();
    if std::env::var_os("LEASH_UPDATE_POLICY_TABLE").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/rules/builtin.table");
        std::fs::write(path, &bytes).unwrap();
        println!("wrote {path} ({} bytes); rebuild to embed it", bytes.len());
        return;
    }
    assert!(
        bytes == table::embedded(),
        "src/rules/builtin.table is not the compiled built-in rules: regenerate it with \
         LEASH_UPDATE_POLICY_TABLE=1 cargo test -p leash-policy --lib precompiled_table_is_current \
         (then build again)"
    );
    let read = table::decode(table::embedded()).expect("the embedded table reads back");
    assert_eq!(table::encode(&read).unwrap(), bytes);
}

/// Every built-in example holds against the table as loaded, too.
#[test]
fn every_builtin_example_holds_in_the_precompiled_table() {
    let set = table::decode(table::embedded()).expect("the embedded table is current");
    for (name, yaml) in BUILTIN_YAML {
        let doc: RulesDocument = serde_saphyr::from_str(yaml).unwrap();
        for rule in &doc.rules {
            examples::check(&set, name, rule).unwrap();
        }
    }
}

/// A table made from other sources (another fingerprint) is never read.
#[test]
fn a_table_from_other_sources_is_not_read() {
    let mut bytes = table::embedded().to_vec();
    // After the fingerprint's one-byte length comes its first hex digit.
    bytes[1] = if bytes[1] == b'0' { b'1' } else { b'0' };
    assert!(table::decode(&bytes).is_none());
    assert!(table::decode(&bytes[..bytes.len() / 2]).is_none());
}

/// Table regexes compile on first use and fail closed (match everything);
/// that is only closed while every built-in rule with a regex asks or denies.
#[test]
fn every_builtin_rule_with_a_regex_asks_or_denies() {
    let set = table::decode(table::embedded()).unwrap();
    let mut seen = 0;
    for rule in &set.rules {
        let has_regex = rule.conditions.iter().any(|(_, c)| {
            c.word_regex.is_some() || c.operand_regex.is_some() || c.option_values.is_some()
        });
        if has_regex {
            seen += 1;
            assert!(
                matches!(
                    rule.decision,
                    RuleDecision::Fixed(Decision::Ask | Decision::Deny) | RuleDecision::Network
                ),
                "{} has a regex but does not ask or deny",
                rule.id
            );
        }
    }
    assert!(seen > 0);
}

/// A person's document with rules only is added to the table and gives the
/// same rule set as compiling everything from scratch.
#[test]
fn user_rules_on_the_table_equal_a_full_compile() {
    let extra = RulesSource {
        name: "config:security.rules".to_owned(),
        text: "rules:\n  - id: user.sort.output\n    program: sort\n    when: { options: [output] }\n    decision: deny\n    reason: sort -o writes\n    match: [\"sort -o x in.txt\"]\n    not_match: [\"sort in.txt\"]\n".to_owned(),
        origin: crate::VerdictOrigin::Configured,
    };
    let fast = super::build(std::slice::from_ref(&extra)).unwrap();
    let full = build_from(BUILTIN_SOURCES, Syntax::Json, &[extra], Examples::ExtraOnly).unwrap();
    assert_eq!(table::encode(&fast).unwrap(), table::encode(&full).unwrap());
    assert!(fast.rules.iter().any(|r| r.id == "user.sort.output"));
}

/// A person's document that describes a program the built-in rules know
/// makes the built-in rules compile against the new description (the table's
/// conditions were compiled against the old one).
#[test]
fn a_user_redescription_of_a_builtin_program_recompiles_the_builtin_rules() {
    let extra = RulesSource {
        name: "config:security.rules".to_owned(),
        text: "programs:\n  - name: git\n    flags: v\n".to_owned(),
        origin: crate::VerdictOrigin::Configured,
    };
    let built = super::build(std::slice::from_ref(&extra));
    let full = build_from(BUILTIN_SOURCES, Syntax::Json, &[extra], Examples::ExtraOnly);
    match (built, full) {
        (Ok(built), Ok(full)) => {
            assert_eq!(
                table::encode(&built).unwrap(),
                table::encode(&full).unwrap()
            );
        }
        (Err(built), Err(full)) => assert_eq!(built.to_string(), full.to_string()),
        (built, full) => panic!(
            "table path {:?} differs from full compile {:?}",
            built.map(|_| ()),
            full.map(|_| ())
        ),
    }
}

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
        .find(|(_, text)| text.contains("not_match:") && text.contains("\nrules:"))
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

/// A `backup-suffix` option's examples are checked at load like a rule's: a
/// `not_match` example that gives the option a value is a load error naming
/// the option, and such an option without examples does not load at all.
#[test]
fn backup_suffix_option_examples_are_checked_at_load() {
    let doc = |examples: &str| RulesSource {
        name: "user.yaml".to_string(),
        text: format!(
            "programs:\n  - name: mysed\n    complete: true\n    options:\n      - name: in-place\n        short: i\n        value: optional\n        type: backup-suffix\n{examples}    operands: read\n    write_when: [in-place]\n"
        ),
        origin: crate::VerdictOrigin::Configured,
    };
    let good = doc("        match: [\"mysed -i.bak f\"]\n        not_match: [\"mysed -i f\"]\n");
    assert!(super::build(&[good]).is_ok());
    let wrong =
        doc("        match: [\"mysed -i.bak f\"]\n        not_match: [\"mysed -i.orig f\"]\n");
    match super::build(&[wrong]) {
        Err(PolicyError::ExampleFailed { rule, example, .. }) => {
            assert_eq!(rule, "mysed option `in-place`");
            assert_eq!(example, "mysed -i.orig f");
        }
        other => panic!("expected ExampleFailed, got {other:?}"),
    }
    let missing = doc("");
    let err = super::build(&[missing]).unwrap_err().to_string();
    assert!(
        err.contains("needs `match` and `not_match` examples"),
        "{err}"
    );
}
