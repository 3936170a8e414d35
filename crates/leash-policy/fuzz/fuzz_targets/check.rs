//! Fuzz target: the whole check, with structured input — an arbitrary argv
//! (the model's JSON form), a working directory chosen among the fixture's
//! interesting places, a policy profile, and a shell string.
//!
//! Invariants checked besides "never panics / never crashes":
//! - `explain_*` reaches the same decision as `check_*`;
//! - an allowed argv is run exactly as judged (`command.argv == argv`);
//! - more than `MAX_ARGS` arguments, an argument over `MAX_ARG_BYTES`, or a
//!   NUL byte anywhere is denied;
//! - the shell form never gets a weaker decision than the argv it parsed to;
//! - nothing the grammar did not admit is allowed: an allowed argv has no
//!   `grammar.*` finding, and its program has a complete grammar (or the argv
//!   only asks for `--version`).
#![no_main]

#[path = "../../tests/common/mod.rs"]
#[allow(dead_code, clippy::all)]
mod common;

use std::path::{Path, PathBuf};

use leash_policy::{Decision, MAX_ARG_BYTES, MAX_ARGS, Policy};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    argv: Vec<String>,
    /// Index into the fixture's interesting working directories.
    cwd: u8,
    /// 0 = default, 1 = seed whitelist, 2 = network on.
    profile: u8,
    /// Prefix argv[0] with a fixture directory (search path, busybox dir,
    /// workspace) so resolution paths are explored.
    program_dir: u8,
    shell: String,
}

thread_local! {
    static STATE: (common::Fixture, common::Policies, Vec<PathBuf>) = {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fixture");
        let fixture = common::Fixture::new_in(&base);
        let policies = common::Policies::new(&fixture);
        let dirs = vec![
            fixture.workspace.clone(),
            fixture.workspace.join("src"),
            fixture.workspace.join(".git"),
            fixture.workspace.join("link-ssh"),
            fixture.home.clone(),
            fixture.outside.clone(),
            PathBuf::from("/"),
            PathBuf::from("/proc/self"),
        ];
        (fixture, policies, dirs)
    };
}

fn check_argv(policy: &Policy, argv: &[String], cwd: &Path) {
    let verdict = policy.check_argv_at(argv, cwd);
    let explained = policy.explain_argv_at(argv, cwd);
    assert_eq!(
        verdict.decision, explained.verdict.decision,
        "check and explain disagree on {argv:?}: {verdict:?} vs {:?}",
        explained.verdict
    );
    let oversized = argv.len() > MAX_ARGS || argv.iter().any(|a| a.len() > MAX_ARG_BYTES);
    let nul = argv.iter().any(|a| a.contains('\0'));
    if oversized || nul || argv.is_empty() {
        assert_eq!(verdict.decision, Decision::Deny, "{argv:?}: {verdict:?}");
    }
    if verdict.decision == Decision::Allow {
        assert!(
            !explained
                .matches
                .iter()
                .any(|m| m.rule.starts_with("grammar.") && m.decision != Decision::Allow),
            "{argv:?} allowed with a grammar finding: {:?}",
            explained.matches
        );
        let command = verdict.command.as_ref().expect("allowed without a command");
        let grammar = policy.grammar();
        let complete = grammar
            .program(&command.identity)
            .is_some_and(|p| p.complete);
        assert!(
            complete || argv.get(1..) == Some(&["--version".to_string()][..]),
            "{argv:?} allowed for `{}`, which has no complete grammar",
            command.identity
        );
        assert_eq!(
            &command.argv, argv,
            "allowed argv differs from the judged one"
        );
        assert!(command.program.is_absolute(), "{command:?}");
    }
}

fuzz_target!(|input: Input| {
    STATE.with(|(fixture, policies, dirs)| {
        let policy = match input.profile % 3 {
            0 => &policies.default,
            1 => &policies.seed,
            _ => &policies.network,
        };
        let cwd = &dirs[usize::from(input.cwd) % dirs.len()];
        let mut argv = input.argv;
        if let Some(first) = argv.first_mut() {
            let dir = match input.program_dir % 5 {
                0 => Some(&fixture.bin),
                1 => Some(&fixture.busybox_dir),
                2 => Some(&fixture.workspace),
                _ => None,
            };
            if let Some(dir) = dir {
                *first = format!("{}/{first}", dir.display());
            }
        }
        check_argv(policy, &argv, cwd);

        let verdict = policy.check_shell(&input.shell);
        let explained = policy.explain_shell(&input.shell);
        assert_eq!(
            verdict.decision, explained.verdict.decision,
            "{:?}",
            input.shell
        );
        if let Some(command) = &verdict.command {
            let by_argv = policy.check_argv(&command.argv);
            assert!(
                by_argv.decision <= verdict.decision,
                "differential: {:?} got {verdict:?} but its argv got {by_argv:?}",
                input.shell
            );
        }
    });
});
