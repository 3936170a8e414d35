//! The embedded backend's decode threads follow the load and the governor
//! (issue #14 item 2): a change of count between two answers re-creates the
//! context, and generation goes on — with the KV cache moved over, so the
//! shared prefix is still reused, and the answer the same as a fresh
//! backend's at that count.
//!
//! The model is found as the benchmarks find it (`LEASH_TEST_MODEL`, else
//! the default model; `LEASH_REQUIRE_TEST_MODEL=1` makes a missing one fail).
#![cfg(feature = "llama")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

#[allow(dead_code)] // the benchmarks' medians and jobs are not used here
#[path = "../benches/support/mod.rs"]
mod support;

use std::path::Path;

use leash_llm::{
    Backend, ChatMessage, GenerateRequest, Generation, LlamaBackend, LlamaConfig, OutputFormat,
    ProgramChoice, Role,
};

const SYSTEM: &str = "You are a terse assistant. Answer in one short sentence. Never use lists. The person is on a phone and reads slowly.";

fn load(path: &Path, threads: Option<u32>) -> LlamaBackend {
    let mut config = LlamaConfig::new(path);
    config.context_size = 1024;
    config.threads = threads;
    LlamaBackend::load(config).unwrap()
}

fn ask(backend: &mut LlamaBackend, question: &str) -> Generation {
    let messages = [
        ChatMessage {
            role: Role::System,
            content: SYSTEM.to_string(),
        },
        ChatMessage {
            role: Role::User,
            content: question.to_string(),
        },
    ];
    backend
        .generate(GenerateRequest {
            messages: &messages,
            format: OutputFormat::Text,
            max_tokens: 24,
            temperature: 0.0,
            programs: ProgramChoice::Any,
            on_text: None,
        })
        .unwrap()
}

#[test]
fn generation_goes_on_after_the_thread_count_changes_between_answers() {
    let Some(path) =
        support::bench_model("generation_goes_on_after_the_thread_count_changes_between_answers")
    else {
        return;
    };
    // `model.threads: 2` so the counts are known whatever the load: the
    // governor's cap takes it to 1 and back.
    let mut backend = load(&path, Some(2));
    assert_eq!(backend.threads(), 2);
    let first = ask(&mut backend, "What colour is the sky?");
    assert!(first.generated_tokens > 0);

    backend.set_decode_threads(Some(1));
    let lowered = ask(&mut backend, "What colour is the sea?");
    assert_eq!(backend.threads(), 1, "the governor's cap applies");
    assert!(
        lowered.prompt_tokens_reused >= 20,
        "the KV cache moved to the new context: {} of {} prompt tokens reused",
        lowered.prompt_tokens_reused,
        lowered.prompt_tokens
    );
    assert!(lowered.generated_tokens > 0);

    backend.set_decode_threads(None);
    let raised = ask(&mut backend, "What colour is grass?");
    assert_eq!(backend.threads(), 2, "lifting the cap restores the count");
    assert!(raised.prompt_tokens_reused >= 20);
    drop(backend);

    // The answers after the changes are the answers of fresh backends at
    // those counts: the moved cache holds the same keys and values.
    let mut fresh_one = load(&path, Some(1));
    ask(&mut fresh_one, "What colour is the sky?");
    let expected_lowered = ask(&mut fresh_one, "What colour is the sea?");
    assert_eq!(lowered.text, expected_lowered.text);
    drop(fresh_one);
    let mut fresh_two = load(&path, Some(2));
    ask(&mut fresh_two, "What colour is the sky?");
    ask(&mut fresh_two, "What colour is the sea?");
    let expected_raised = ask(&mut fresh_two, "What colour is grass?");
    assert_eq!(raised.text, expected_raised.text);
}

#[test]
fn without_model_threads_the_count_stays_within_the_cores() {
    let Some(path) = support::bench_model("without_model_threads_the_count_stays_within_the_cores")
    else {
        return;
    };
    let mut backend = load(&path, None);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for question in ["Name a fruit.", "Name a tree."] {
        let answer = ask(&mut backend, question);
        assert!(answer.generated_tokens > 0);
        let threads = usize::try_from(backend.threads()).unwrap();
        assert!((1..=cores.min(4)).contains(&threads), "{threads} threads");
    }
    // The governor's cap wins over the load.
    backend.set_decode_threads(Some(1));
    ask(&mut backend, "Name a river.");
    assert_eq!(backend.threads(), 1);
}
