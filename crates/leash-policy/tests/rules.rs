//! Rules from outside the binary: learned rules (a person's "always"/"never"
//! answers, loaded back as an extra rules document) and config rules whose
//! `match`/`not_match` examples are verified every time the policy loads.

// Test code: a broken fixture or a failed expectation panics, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Fixture, Profile};
use leash_policy::{
    Decision, LearnedRule, Policy, PolicyError, PolicySettings, RulesSource, Verdict,
    render_learned_rules,
};

fn learned(argv: &[&str], decision: Decision) -> LearnedRule {
    LearnedRule {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        decision,
        note: "approved by alice at the tty".into(),
    }
}

/// The default profile, plus `docker` on the whitelist and the network on, so
/// that the seed's `require_approval_for` (`docker`, `git push`) really asks
/// instead of being denied for other reasons.
fn asking_settings(fixture: &Fixture) -> PolicySettings {
    let mut settings = fixture.settings(Profile::Default);
    settings.whitelist.push("docker".into());
    settings.network = true;
    settings
}

fn asking_policy(fixture: &Fixture) -> Policy {
    Policy::load(asking_settings(fixture)).unwrap_or_else(|err| panic!("{err}"))
}

fn with_learned(fixture: &Fixture, rules: &[LearnedRule]) -> Policy {
    let mut settings = asking_settings(fixture);
    settings.extra_rules.push(RulesSource {
        name: "learned-rules.yaml".into(),
        text: render_learned_rules(rules),
        origin: leash_policy::VerdictOrigin::Learned,
    });
    Policy::load(settings).unwrap_or_else(|err| {
        panic!(
            "learned rules must load: {err}\n{}",
            render_learned_rules(rules)
        )
    })
}

fn check(policy: &Policy, fixture: &Fixture, argv: &[&str]) -> Verdict {
    let argv = fixture.expand_argv(&argv.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    policy.check_argv(&argv)
}

fn assert_decision(policy: &Policy, fixture: &Fixture, argv: &[&str], expected: Decision) {
    let verdict = check(policy, fixture, argv);
    assert_eq!(
        verdict.decision,
        expected,
        "{argv:?}: expected {}, got {} (rule {}: {})",
        expected.as_str(),
        verdict.decision.as_str(),
        verdict.rule,
        verdict.reason
    );
}

/// An "always" answer turns exactly that argv from ask into allow; the same
/// program with other arguments still asks.
#[rstest::rstest]
#[case::seed_require_approval(&["docker", "ps"], &["docker ps -a", "docker run alpine"])]
#[case::script_run(&["python3", "script.py"], &["python3 setup.py", "python3 script.py --x"])]
#[case::seed_git_push(&["git", "push"], &["git push --force", "git -C sub push"])]
fn learned_allow_turns_ask_into_allow_for_exactly_that_argv(
    #[case] argv: &[&str],
    #[case] near_misses: &[&str],
) {
    let fixture = Fixture::new();
    let before = asking_policy(&fixture);
    assert_decision(&before, &fixture, argv, Decision::Ask);
    let policy = with_learned(&fixture, &[learned(argv, Decision::Allow)]);
    assert_decision(&policy, &fixture, argv, Decision::Allow);
    let line = argv.join(" ");
    let by_shell = policy.check_shell(&line);
    assert_eq!(by_shell.decision, Decision::Allow, "{line:?}: {by_shell:?}");
    for near_miss in near_misses {
        let near_miss: &[&str] = &near_miss.split(' ').collect::<Vec<_>>();
        let unlearned = check(&before, &fixture, near_miss).decision;
        assert_decision(&policy, &fixture, near_miss, unlearned);
        assert!(
            unlearned >= Decision::Ask,
            "{near_miss:?} should not be allowed by default"
        );
    }
}

/// An "always" answer never overrides a deny, whatever the deny is for.
#[rstest::rstest]
#[case::seed_blacklist(&["rm", "-rf", "build"])]
#[case::seed_blacklist_dd(&["dd", "if=/dev/zero", "of=x"])]
#[case::secret_read(&["cat", "«HOME»/.ssh/id_rsa"])]
#[case::shell_payload(&["sh", "-c", "rm -rf /"])]
#[case::git_hook_write(&["cp", "evil.sh", ".git/hooks/pre-commit"])]
#[case::write_outside(&["touch", "«OUT»/x"])]
#[case::not_whitelisted(&["shred", "a.txt"])]
fn learned_allow_never_overrides_a_deny(#[case] argv: &[&str]) {
    let fixture = Fixture::new();
    let expanded: Vec<String> =
        fixture.expand_argv(&argv.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let refs: Vec<&str> = expanded.iter().map(String::as_str).collect();
    assert_decision(&asking_policy(&fixture), &fixture, argv, Decision::Deny);
    let policy = with_learned(&fixture, &[learned(&refs, Decision::Allow)]);
    assert_decision(&policy, &fixture, argv, Decision::Deny);
}

/// A "never" answer denies exactly that argv, and nothing else.
#[test]
fn learned_deny_denies_exactly_that_argv() {
    let fixture = Fixture::new();
    let policy = with_learned(&fixture, &[learned(&["ls", "-la"], Decision::Deny)]);
    assert_decision(&policy, &fixture, &["ls", "-la"], Decision::Deny);
    assert_eq!(policy.check_shell("ls -la").decision, Decision::Deny);
    assert_decision(&policy, &fixture, &["ls", "-l"], Decision::Allow);
    assert_decision(&policy, &fixture, &["ls"], Decision::Allow);
    assert_decision(&policy, &fixture, &["ls", "-la", "src"], Decision::Allow);
}

/// An argv full of YAML syntax is rendered as data: it cannot inject a broader
/// rule into the learned-rules document.
#[test]
fn learned_rule_with_yaml_syntax_in_its_argv_stays_exact() {
    let fixture = Fixture::new();
    let hostile =
        "ps\nrules:\n  - id: evil\n    program: docker\n    decision: allow\n    reason: x";
    let odd = "a: b # c 'q' \"d\" {e} [f] & *g !h %i @j `k` ü";
    let policy = with_learned(
        &fixture,
        &[
            learned(&["docker", hostile], Decision::Allow),
            learned(&["docker", "ps", odd], Decision::Allow),
        ],
    );
    assert_decision(&policy, &fixture, &["docker", "ps", odd], Decision::Allow);
    assert_decision(&policy, &fixture, &["docker", "ps"], Decision::Ask);
    assert_decision(
        &policy,
        &fixture,
        &["docker", "run", "alpine"],
        Decision::Ask,
    );
}

#[test]
fn learned_ask_answers_and_empty_argvs_are_not_rules() {
    let fixture = Fixture::new();
    let policy = with_learned(
        &fixture,
        &[
            learned(&["docker", "ps"], Decision::Ask),
            learned(&[], Decision::Allow),
        ],
    );
    assert_decision(&policy, &fixture, &["docker", "ps"], Decision::Ask);
}

#[test]
fn rendering_no_learned_rules_gives_a_loadable_document() {
    let fixture = Fixture::new();
    let policy = with_learned(&fixture, &[]);
    assert_decision(&policy, &fixture, &["ls", "-la"], Decision::Allow);
}

// ------------------------------------------------------------------ load-time examples

fn with_extra_rules(fixture: &Fixture, name: &str, text: &str) -> Result<Policy, PolicyError> {
    let mut settings = fixture.settings(Profile::Default);
    settings.extra_rules.push(RulesSource {
        name: name.into(),
        text: text.into(),
        origin: leash_policy::VerdictOrigin::Configured,
    });
    Policy::load(settings)
}

fn rule_text(match_example: &str, not_match_example: &str) -> String {
    format!(
        r#"rules:
  - id: custom.sort.output
    program: sort
    when: {{ options: [output] }}
    decision: deny
    reason: "this team never lets sort write files"
    hint: "print to stdout instead"
    match: ["{match_example}"]
    not_match: ["{not_match_example}"]
"#
    )
}

#[test]
fn an_extra_rule_whose_examples_hold_loads_and_takes_effect() {
    let fixture = Fixture::new();
    let text = rule_text("sort -o out.txt in.txt", "sort in.txt");
    let policy = with_extra_rules(&fixture, "team-rules.yaml", &text)
        .unwrap_or_else(|err| panic!("a correct rule must load: {err}"));
    let verdict = policy.check_argv(&["sort", "-o", "sorted.txt", "names.txt"]);
    assert_eq!(verdict.decision, Decision::Deny, "{verdict:?}");
    assert_eq!(verdict.rule, "custom.sort.output");
    assert_eq!(
        policy.check_argv(&["sort", "names.txt"]).decision,
        Decision::Allow
    );
}

#[rstest::rstest]
#[case::match_example_does_not_match("sort in.txt", "sort -u in.txt")]
#[case::not_match_example_matches("sort -o out.txt in.txt", "sort --output=x in.txt")]
fn an_extra_rule_with_a_failing_example_fails_to_load_naming_the_rule(
    #[case] match_example: &str,
    #[case] not_match_example: &str,
) {
    let fixture = Fixture::new();
    let text = rule_text(match_example, not_match_example);
    let err = match with_extra_rules(&fixture, "team-rules.yaml", &text) {
        Ok(_) => panic!("a rule with a failing example must not load:\n{text}"),
        Err(err) => err,
    };
    let message = err.to_string();
    assert!(
        message.contains("custom.sort.output"),
        "error does not name the rule: {message}"
    );
    assert!(
        message.contains("team-rules.yaml"),
        "error does not name the source: {message}"
    );
    match err {
        PolicyError::ExampleFailed { rule, .. } => assert_eq!(rule, "custom.sort.output"),
        other => panic!("expected ExampleFailed, got {other:?}"),
    }
}

#[rstest::rstest]
#[case::not_yaml("rules: [: :")]
#[case::unknown_key(
    "rules:\n  - id: x\n    program: sort\n    decision: deny\n    reason: r\n    colour: red\n"
)]
#[case::unknown_decision(
    "rules:\n  - id: x\n    program: sort\n    decision: maybe\n    reason: r\n"
)]
fn a_malformed_rules_document_fails_to_load_naming_its_source(#[case] text: &str) {
    let fixture = Fixture::new();
    match with_extra_rules(&fixture, "broken-rules.yaml", text) {
        Ok(_) => panic!("a malformed rules document must not load:\n{text}"),
        Err(err) => assert!(
            err.to_string().contains("broken-rules.yaml"),
            "error does not name the source: {err}"
        ),
    }
}

#[test]
fn two_rules_with_one_id_fail_to_load() {
    let fixture = Fixture::new();
    let rule = rule_text("sort -o out.txt in.txt", "sort in.txt");
    let body = rule.trim_start_matches("rules:\n");
    let text = format!("rules:\n{body}{body}");
    let err = with_extra_rules(&fixture, "dup.yaml", &text)
        .err()
        .unwrap_or_else(|| panic!("duplicate ids must not load:\n{text}"));
    assert!(err.to_string().contains("custom.sort.output"), "{err}");
}

/// The public grammar view describes what the policy judges with: value
/// types that matter for safety are visible to a grammar generator.
#[test]
fn the_grammar_view_types_options_and_operands() {
    use leash_policy::{ArgType, PolicySettings};
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy::load(PolicySettings::new(
        dir.path().to_path_buf(),
        dir.path().to_path_buf(),
    ))
    .unwrap();
    let grammar = policy.grammar();
    for name in leash_policy::default_whitelist() {
        assert!(
            grammar.program(&name).is_some(),
            "no grammar entry for {name}"
        );
    }
    let value_of = |args: &leash_policy::ArgsGrammar, long: &str| {
        args.options
            .iter()
            .find(|o| o.long.iter().any(|l| l == long))
            .and_then(|o| o.value.as_ref())
            .map(|v| v.kind)
    };
    let git = grammar.program("git").unwrap();
    assert!(git.complete);
    let log = git.subcommands.iter().find(|s| s.name == "log").unwrap();
    assert!(log.complete);
    assert_eq!(value_of(&log.args, "output"), Some(ArgType::WritePath));
    let blame = git.subcommands.iter().find(|s| s.name == "blame").unwrap();
    assert_eq!(value_of(&blame.args, "contents"), Some(ArgType::ReadPath));
    let bisect = git.subcommands.iter().find(|s| s.name == "bisect").unwrap();
    assert!(!bisect.complete, "bisect is known by name only");
    let find = grammar.program("find").unwrap();
    let exec = find
        .global
        .options
        .iter()
        .find(|o| o.name == "exec")
        .unwrap();
    assert_eq!(exec.value.as_ref().map(|v| v.kind), Some(ArgType::Program));
    assert_eq!(exec.value.as_ref().and_then(|v| v.extra_words), None);
    assert_eq!(
        value_of(&find.global, "files0-from"),
        Some(ArgType::ArgumentFile)
    );
    let cp = grammar.program("cp").unwrap();
    assert_eq!(cp.global.operands.last, Some(ArgType::Destination));
    let awk = grammar.program("mawk").unwrap();
    assert_eq!(awk.name, "awk");
    assert!(!awk.global.options.iter().any(|o| o.short.contains(&'W')));
    let docker = grammar.program("docker").unwrap();
    assert!(docker.subcommands.iter().any(|s| s.name == "run"));
    let json = serde_json::to_string(&grammar).unwrap();
    assert!(json.contains("\"write-path\""));
}
