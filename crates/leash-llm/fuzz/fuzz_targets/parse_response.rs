//! Arbitrary bytes → UTF-8 (lossy) → the response parser: it must never
//! panic, and whatever it accepts must be a plan that survives a round trip
//! through its own JSON form.
//!
//! Run: `cargo +nightly fuzz run parse_response -- -max_total_time=600`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Split the input so the separate reasoning channel is fuzzed too.
    let (answer, reasoning) = match text.split_once('\u{1}') {
        Some((answer, reasoning)) => (answer, Some(reasoning)),
        None => (text.as_ref(), None),
    };
    match leash_llm::parse_response(answer, reasoning) {
        Ok(parsed) => {
            assert!(parsed.plan.actions.len() <= leash_llm::MAX_ACTIONS_PER_PLAN);
            assert!(parsed.shell_lines.len() <= leash_llm::MAX_ACTIONS_PER_PLAN);
            let json = serde_json::to_string(&parsed.plan).expect("plans serialize");
            let again = leash_llm::parse_response(&json, None).expect("a parsed plan re-parses");
            assert_eq!(again.plan, parsed.plan);
        }
        Err(error) => {
            assert!(!leash_llm::reask_message(&error).is_empty());
        }
    }
});
