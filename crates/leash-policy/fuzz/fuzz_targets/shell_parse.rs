//! Fuzz target: arbitrary bytes as a shell-style command string through the
//! whole `check_shell` path (size and character hygiene, the brush-parser
//! grammar, the simple-command filter, then the argv checks).
//!
//! Invariants checked besides "never panics / never crashes":
//! - input over `MAX_LINE_BYTES`, or containing NUL or a newline, is denied;
//! - an allowed line resolved to a program, and the shell form is never judged
//!   more leniently than the argv it parsed to (a parser differential).
#![no_main]

#[path = "../../tests/common/mod.rs"]
#[allow(dead_code, clippy::all)]
mod common;

use std::path::Path;

use leash_policy::{Decision, MAX_LINE_BYTES};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static STATE: (common::Fixture, common::Policies) = {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fixture");
        let fixture = common::Fixture::new_in(&base);
        let policies = common::Policies::new(&fixture);
        (fixture, policies)
    };
}

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    STATE.with(|(_, policies)| {
        let policy = &policies.default;
        let verdict = policy.check_shell(&line);
        if line.len() > MAX_LINE_BYTES || line.contains('\0') || line.contains('\n') {
            assert_eq!(verdict.decision, Decision::Deny, "{line:?}: {verdict:?}");
        }
        if verdict.decision == Decision::Allow {
            assert!(
                verdict.command.is_some(),
                "allowed without a command: {line:?}"
            );
        }
        if let Some(command) = &verdict.command {
            let by_argv = policy.check_argv(&command.argv);
            assert!(
                by_argv.decision <= verdict.decision,
                "differential: {line:?} got {verdict:?} but its argv got {by_argv:?}"
            );
        }
    });
});
