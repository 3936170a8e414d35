//! The data-driven corpora (`tests/corpus/*.cases`): hundreds of named hostile
//! commands that must be denied (or asked) and everyday commands that must stay
//! allowed, judged by the same entry points the engine uses. Each test reports
//! *every* failing case by name, not just the first.

// Test code: a broken fixture or a failed expectation panics, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Case, Expect, Fixture, Form, Input, Policies, judge, load_corpus};
use leash_policy::{Decision, Policy, Verdict};

/// Bypass classes (docs/DESIGN.md "Testing and measuring", issue #3) that the
/// hostile corpus must cover, each with at least this many cases.
const REQUIRED_HOSTILE_CLASSES: &[(&str, usize)] = &[
    ("chaining", 10),
    ("substitution", 10),
    ("parser", 10),
    ("exec-option", 50),
    ("wrapper", 20),
    ("repo-code", 10),
    ("env-injection", 10),
    ("aliasing", 10),
    ("option-smuggling", 15),
    ("backup-suffix", 10),
    ("redirection", 10),
    ("paths", 15),
    ("secrets", 15),
    ("unicode", 10),
    ("limits", 10),
    ("network", 10),
    ("seed", 10),
    ("whitelist", 3),
    // issue 10: shapes outside the grammars, paths in their final form,
    // protected files by meaning, history-destroying and editor-opening verbs.
    ("grammar", 40),
    ("final", 25),
    ("protected", 10),
    ("history", 8),
    ("editor", 4),
];

fn describe(verdict: &Verdict) -> String {
    format!(
        "{} (rule {}: {})",
        verdict.decision.as_str(),
        verdict.rule,
        verdict.reason
    )
}

/// Judge every case; return one line per failure. `LEASH_CORPUS_ONLY=prefix`
/// narrows a run to the cases whose name starts with the prefix (for debugging
/// one class; the count of judged cases is printed so a narrowed run is visible).
///
/// `limits.*` cases (deep nesting, huge inputs) are judged in a child process
/// each, so that a crash such as a stack overflow becomes a named failure of
/// that case instead of aborting the whole run and hiding every other result.
fn failures(fixture: &Fixture, policies: &Policies, file: &str, cases: &[Case]) -> Vec<String> {
    let only = std::env::var("LEASH_CORPUS_ONLY").unwrap_or_default();
    let cases: Vec<&Case> = cases.iter().filter(|c| c.name.starts_with(&only)).collect();
    if !only.is_empty() {
        eprintln!("LEASH_CORPUS_ONLY={only}: judging {} cases", cases.len());
    }
    let mut out = Vec::new();
    for case in cases {
        if case.class() == "limits" {
            out.extend(judge_in_child(file, case));
        } else {
            out.extend(judge_case(fixture, policies, case));
        }
    }
    out
}

fn judge_case(fixture: &Fixture, policies: &Policies, case: &Case) -> Vec<String> {
    let mut out = Vec::new();
    let input = fixture.input(case);
    let policy = policies.get(case.profile);
    let verdict = judge(policy, &input);
    if !case.expect.holds(verdict.decision) {
        out.push(format!(
            "{} (line {}): {}, got {} — input {}",
            case.name,
            case.line,
            case.expect.describe(),
            describe(&verdict),
            input.preview()
        ));
    }
    if let Some(problem) = inconsistency(policy, &input, &verdict) {
        out.push(format!("{} (line {}): {problem}", case.name, case.line));
    }
    out
}

const CHILD_CASE_VAR: &str = "LEASH_CORPUS_CHILD_CASE";
const CHILD_FAILURE_PREFIX: &str = "corpus-case-failure: ";

/// How long one isolated case may take (debug build included) before it counts
/// as a hang: a policy check must never be what leash waits on.
const CHILD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// Re-runs this test binary's `isolated_case` (ignored in normal runs) for one
/// case and collects its failures; a crash or a hang of the child is itself a
/// failure.
fn judge_in_child(file: &str, case: &Case) -> Vec<String> {
    use std::io::Read;
    use std::process::{Command, Stdio};

    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([
            "isolated_case",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_CASE_VAR, format!("{file}:{}", case.name))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("re-run the test binary");
    let mut stdout_pipe = child.stdout.take().expect("piped stdout");
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stdout_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout_pipe.read_to_string(&mut text);
        text
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if started.elapsed() > CHILD_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let stdout = stdout_reader.join().unwrap_or_default();
    let stderr = stderr_reader.join().unwrap_or_default();
    let mut out: Vec<String> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix(CHILD_FAILURE_PREFIX))
        .map(str::to_string)
        .collect();
    match status {
        None => out.push(format!(
            "{} (line {}): the check did not finish within {:?} (a hang: killed)",
            case.name, case.line, CHILD_DEADLINE
        )),
        Some(status) if !status.success() => {
            let why = stderr
                .lines()
                .filter(|l| l.contains("overflow") || l.contains("panicked") || l.contains("fatal"))
                .collect::<Vec<_>>()
                .join(" | ");
            out.push(format!(
                "{} (line {}): the check crashed the process ({status}): {why}",
                case.name, case.line
            ));
        }
        Some(_) => {}
    }
    out
}

/// Helper for [`judge_in_child`]: judges the one case named in
/// `LEASH_CORPUS_CHILD_CASE` and prints its failures. Ignored in normal runs;
/// the corpus tests run it in a child process.
#[test]
#[ignore = "run by the corpus tests in a child process, one limits.* case at a time"]
fn isolated_case() {
    let spec = std::env::var(CHILD_CASE_VAR).expect("LEASH_CORPUS_CHILD_CASE=file:name");
    let (file, name) = spec.split_once(':').expect("file:name");
    let cases = load_corpus(file);
    let case = cases.iter().find(|c| c.name == name).expect("case exists");
    let fixture = Fixture::new();
    let policies = Policies::new(&fixture);
    for failure in judge_case(&fixture, &policies, case) {
        println!("{CHILD_FAILURE_PREFIX}{failure}");
    }
}

/// Invariants every verdict must satisfy, whatever its decision:
/// - an allowed command carries the resolved program the executor must run,
///   with an absolute path, and (argv form) exactly the argv that was judged;
/// - a shell string is never judged more leniently than the argv it parsed to
///   (otherwise the parser and the argv checker disagree: a differential).
fn inconsistency(policy: &Policy, input: &Input, verdict: &Verdict) -> Option<String> {
    if verdict.decision == Decision::Allow {
        let Some(command) = &verdict.command else {
            return Some("allowed without a resolved command".into());
        };
        if !command.program.is_absolute() {
            return Some(format!(
                "allowed with a relative program path {:?}",
                command.program
            ));
        }
        if let Input::Argv(argv) = input
            && &command.argv != argv
        {
            return Some(format!(
                "allowed, but the argv to run {:?} differs from the argv judged {:?}",
                command.argv, argv
            ));
        }
    }
    if let (Input::Shell(_), Some(command)) = (input, &verdict.command) {
        let refs: Vec<&str> = command.argv.iter().map(String::as_str).collect();
        let argv_verdict = policy.check_argv(&refs);
        if argv_verdict.decision > verdict.decision {
            return Some(format!(
                "parser differential: the shell string got {}, but its own parsed argv {:?} gets {}",
                describe(verdict),
                command.argv,
                describe(&argv_verdict)
            ));
        }
    }
    None
}

fn assert_no_failures(corpus: &str, total: usize, failures: &[String]) {
    if !failures.is_empty() {
        panic!(
            "{} of {total} {corpus} cases failed:\n  {}",
            failures.len(),
            failures.join("\n  ")
        );
    }
}

#[test]
fn hostile_corpus_is_never_decided_weaker_than_expected() {
    let fixture = Fixture::new();
    let policies = Policies::new(&fixture);
    let cases = load_corpus("hostile.cases");
    let failed = failures(&fixture, &policies, "hostile.cases", &cases);
    assert_no_failures("hostile", cases.len(), &failed);
}

#[test]
fn benign_corpus_stays_allowed() {
    let fixture = Fixture::new();
    let policies = Policies::new(&fixture);
    let cases = load_corpus("benign.cases");
    let failed = failures(&fixture, &policies, "benign.cases", &cases);
    assert_no_failures("benign", cases.len(), &failed);
}

#[test]
fn corpora_are_well_formed_and_cover_every_bypass_class() {
    let hostile = load_corpus("hostile.cases");
    let benign = load_corpus("benign.cases");
    assert!(
        hostile.len() >= 300,
        "hostile corpus has {} cases",
        hostile.len()
    );
    assert!(
        benign.len() >= 150,
        "benign corpus has {} cases",
        benign.len()
    );

    let mut seen = BTreeSet::new();
    let duplicates: Vec<&str> = hostile
        .iter()
        .chain(&benign)
        .filter(|case| !seen.insert(case.name.as_str()))
        .map(|case| case.name.as_str())
        .collect();
    assert!(
        duplicates.is_empty(),
        "duplicate case names: {duplicates:?}"
    );

    let malformed: Vec<&str> = hostile
        .iter()
        .chain(&benign)
        .filter(|case| {
            !case
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                || !case.name.contains('.')
        })
        .map(|case| case.name.as_str())
        .collect();
    assert!(
        malformed.is_empty(),
        "names must be `class.case`: {malformed:?}"
    );

    let benign_not_allow: Vec<&str> = benign
        .iter()
        .filter(|case| case.expect != Expect::Allow || !case.class().starts_with("benign-"))
        .map(|case| case.name.as_str())
        .collect();
    assert!(
        benign_not_allow.is_empty(),
        "benign cases must expect allow and have a benign-* class: {benign_not_allow:?}"
    );
    let hostile_allow: Vec<&str> = hostile
        .iter()
        .filter(|case| case.expect == Expect::Allow)
        .map(|case| case.name.as_str())
        .collect();
    assert!(
        hostile_allow.is_empty(),
        "hostile cases expecting allow: {hostile_allow:?}"
    );

    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &hostile {
        *per_class.entry(case.class()).or_default() += 1;
    }
    let thin: Vec<String> = REQUIRED_HOSTILE_CLASSES
        .iter()
        .filter(|(class, min)| per_class.get(class).copied().unwrap_or(0) < *min)
        .map(|(class, min)| {
            format!(
                "{class}: {} < {min}",
                per_class.get(class).copied().unwrap_or(0)
            )
        })
        .collect();
    assert!(thin.is_empty(), "bypass classes under-covered: {thin:?}");
    let unknown: Vec<&&str> = per_class
        .keys()
        .filter(|class| !REQUIRED_HOSTILE_CLASSES.iter().any(|(c, _)| c == *class))
        .collect();
    assert!(
        unknown.is_empty(),
        "hostile classes not in the required list: {unknown:?}"
    );

    // Both forms are exercised in both corpora.
    for (corpus, cases) in [("hostile", &hostile), ("benign", &benign)] {
        for form in [Form::Shell, Form::Argv] {
            assert!(
                cases.iter().any(|case| case.form == form),
                "{corpus} corpus has no {form:?} case"
            );
        }
    }
}

/// `check_argv_at`: the same relative argv means different files in different
/// directories; the working directory is part of what is judged.
#[rstest::rstest]
#[case::secret_via_dotdot_from_subdir(&["cat", "../../.ssh/id_rsa"], "src", Decision::Deny)]
#[case::sibling_of_workspace_from_subdir(&["touch", "../../project-evil/x"], "src", Decision::Deny)]
#[case::hook_from_git_dir(&["touch", "hooks/pre-commit"], ".git", Decision::Deny)]
#[case::write_relative_to_outside_cwd(&["touch", "x"], "../../outside", Decision::Deny)]
#[case::plain_read_in_subdir(&["cat", "main.rs"], "src", Decision::Allow)]
#[case::list_parent_from_subdir(&["ls", ".."], "src", Decision::Allow)]
fn working_directory_is_part_of_the_check(
    #[case] argv: &[&str],
    #[case] cwd: &str,
    #[case] expected: Decision,
) {
    let fixture = Fixture::new();
    let policy = fixture.policy(common::Profile::Default);
    let cwd = fixture.workspace.join(cwd);
    let verdict = policy.check_argv_at(argv, &cwd);
    match expected {
        Decision::Allow => assert_eq!(
            verdict.decision,
            Decision::Allow,
            "{argv:?} in {}: {}",
            cwd.display(),
            describe(&verdict)
        ),
        Decision::Ask | Decision::Deny => assert!(
            verdict.decision >= expected,
            "{argv:?} in {}: expected ≥ {}, got {}",
            cwd.display(),
            expected.as_str(),
            describe(&verdict)
        ),
    }
}

/// A verdict explains itself: rule id, reason and a hint the model can act on
/// are never empty for a non-allow decision, and `explain_*` agrees with
/// `check_*` and names the winning rule among its matches.
#[test]
fn verdicts_carry_a_rule_a_reason_and_a_hint_and_explain_agrees() {
    let fixture = Fixture::new();
    let policies = Policies::new(&fixture);
    let mut problems = Vec::new();
    for case in load_corpus("hostile.cases")
        .iter()
        .chain(&load_corpus("benign.cases"))
        .filter(|case| case.class() != "limits")
    {
        let policy = policies.get(case.profile);
        let input = fixture.input(case);
        let verdict = judge(policy, &input);
        if verdict.rule.is_empty() || verdict.reason.is_empty() {
            problems.push(format!("{}: empty rule or reason: {verdict:?}", case.name));
        }
        if verdict.decision != Decision::Allow && verdict.hint.is_empty() {
            problems.push(format!(
                "{}: {} without a hint",
                case.name,
                describe(&verdict)
            ));
        }
        let explanation = match &input {
            Input::Shell(s) => policy.explain_shell(s),
            Input::Argv(argv) => {
                let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
                policy.explain_argv(&refs)
            }
        };
        if explanation.verdict.decision != verdict.decision {
            problems.push(format!(
                "{}: explain says {}, check says {}",
                case.name,
                describe(&explanation.verdict),
                describe(&verdict)
            ));
        }
        if verdict.decision != Decision::Allow
            && !explanation
                .matches
                .iter()
                .any(|m| m.rule == explanation.verdict.rule)
        {
            problems.push(format!(
                "{}: the winning rule {} is not among the matches {:?}",
                case.name,
                explanation.verdict.rule,
                explanation
                    .matches
                    .iter()
                    .map(|m| &m.rule)
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
