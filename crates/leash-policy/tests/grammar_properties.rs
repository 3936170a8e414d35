//! Property tests of the grammars: an option spelling that a program's
//! grammar does not admit is never allowed, and random argv for every
//! whitelisted program gets a verdict without panicking, with `allow` only for
//! shapes the grammar admits.

// Test code: a broken fixture or a failed expectation panics, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Fixture, Profile};
use leash_policy::Decision;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Whether `spelled` (`--name`, `--name=v`, `-xyz`) is an option spelling the
/// program's grammar admits, GNU abbreviations included.
fn admitted(args: &leash_policy::ArgsGrammar, abbreviations: bool, spelled: &str) -> bool {
    if let Some(long) = spelled.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or(long);
        let matches: Vec<&leash_policy::OptionGrammar> = args
            .options
            .iter()
            .filter(|o| {
                o.long.iter().any(|l| {
                    l == name || (abbreviations && !name.is_empty() && l.starts_with(name))
                })
            })
            .collect();
        let exact = args
            .options
            .iter()
            .any(|o| o.long.iter().any(|l| l == name));
        return exact || matches.len() == 1;
    }
    let Some(bundle) = spelled.strip_prefix('-') else {
        return true;
    };
    for c in bundle.chars() {
        match args.options.iter().find(|o| o.short.contains(&c)) {
            Some(o) if o.value.is_some() => return true,
            Some(_) => {}
            None => return false,
        }
    }
    true
}

/// Class: options nobody listed. For every program with a complete grammar, an
/// option spelling its grammar does not admit is never allowed, whatever the
/// word around it (the old knowledge let every unlisted option through).
#[test]
fn options_outside_the_grammar_are_never_allowed() {
    let fixture = Fixture::new();
    let policy = fixture.policy(Profile::Default);
    let grammar = policy.grammar();
    let programs: Vec<(&'static str, Vec<&'static str>)> = vec![
        ("ls", vec![]),
        ("cat", vec![]),
        ("grep", vec!["foo"]),
        ("sort", vec![]),
        ("cut", vec!["-f1"]),
        ("head", vec![]),
        ("wc", vec![]),
        ("diff", vec!["a.txt"]),
        ("tar", vec!["-tf", "x.tgz"]),
        ("cp", vec!["a.txt"]),
        ("sed", vec!["-n", "p"]),
        ("awk", vec!["{print}"]),
        ("jq", vec!["."]),
        ("git", vec!["status"]),
        ("git", vec!["log"]),
        ("git", vec!["diff"]),
    ];
    let strategy = (
        select(programs),
        "(--[a-z][a-z0-9-]{0,14}(=[a-z./]{0,6})?|-[a-zA-Z0-9]{1,3})",
        prop::collection::vec("[a-z][a-z./]{0,8}", 0..3),
    );
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });
    let judged = std::cell::Cell::new(0usize);
    runner
        .run(&strategy, |((program, before), option, after)| {
            let prog = grammar.program(program).unwrap();
            let args = match before.first() {
                Some(sub) if !prog.subcommands.is_empty() => {
                    &prog
                        .subcommands
                        .iter()
                        .find(|s| s.name == *sub)
                        .unwrap()
                        .args
                }
                Some(_) | None => &prog.global,
            };
            if admitted(args, prog.abbreviations, &option) {
                return Ok(());
            }
            judged.set(judged.get() + 1);
            let mut argv: Vec<String> = std::iter::once(program.to_string())
                .chain(before.iter().map(|s| s.to_string()))
                .chain(std::iter::once(option.clone()))
                .chain(after.iter().cloned())
                .collect();
            argv.push("a.txt".to_string());
            let verdict = policy.check_argv(&argv);
            if verdict.decision == Decision::Allow {
                return Err(TestCaseError::fail(format!(
                    "{argv:?} was allowed ({}: {})",
                    verdict.rule, verdict.reason
                )));
            }
            Ok(())
        })
        .unwrap();
    assert!(
        judged.get() > 50,
        "too few unknown spellings generated: {}",
        judged.get()
    );
}

/// Class: the parser never panics and never allows what it could not read. Any
/// argv of random words (options, operands, `--`, separators, `;`, paths) for
/// any whitelisted program gets a verdict; an allow implies every option in it
/// was admitted by the grammar (checked again by asking for the explanation).
#[test]
fn random_argv_gets_a_verdict_and_allow_only_for_grammar_shapes() {
    let fixture = Fixture::new();
    let policy = fixture.policy(Profile::Default);
    let word = prop_oneof![
        "-[a-zA-Z0-9]{1,3}",
        "--[a-z-]{1,10}(=[a-z0-9./]{0,5})?",
        Just("--".to_string()),
        Just(";".to_string()),
        Just("+".to_string()),
        Just("(".to_string()),
        "[a-z0-9./*{}]{0,10}",
        Just("«HOME»/.ssh/id_rsa".to_string()),
        Just(".git/config".to_string()),
    ];
    let strategy = (
        select(leash_policy::default_whitelist()),
        prop::collection::vec(word, 0..7),
    );
    let mut runner = TestRunner::new(Config {
        cases: 1024,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(program, words)| {
            let argv = fixture.expand_argv(
                &std::iter::once(program)
                    .chain(words)
                    .collect::<Vec<String>>(),
            );
            let explained = policy.explain_argv(&argv);
            if explained.verdict.decision == Decision::Allow
                && explained
                    .matches
                    .iter()
                    .any(|m| m.rule.starts_with("grammar.") || m.rule.starts_with("paths.denied"))
            {
                return Err(TestCaseError::fail(format!(
                    "{argv:?} allowed although {:?}",
                    explained.matches
                )));
            }
            Ok(())
        })
        .unwrap();
}
