//! What the llama benchmarks (and the threads test) share: finding the
//! model, and medians.

use std::path::PathBuf;

use leash_llm::{
    Backend, ChatMessage, DEFAULT_MODEL, GenerateRequest, Generation, OutputFormat, ProgramChoice,
    Role,
};

/// Rounds per measurement; the median is reported.
pub const ROUNDS: usize = 5;

/// The model to measure: `LEASH_TEST_MODEL`, else the default model in the
/// data directory (`leash model fetch`). `None` after saying why — unless
/// `LEASH_REQUIRE_TEST_MODEL=1` (CI, after fetching; the threads test shares
/// this module), which makes a missing model a failure.
pub fn bench_model(bench: &str) -> Option<PathBuf> {
    let path = match std::env::var_os("LEASH_TEST_MODEL") {
        Some(path) => PathBuf::from(path),
        None => std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_default()
            .join("leash/models")
            .join(DEFAULT_MODEL.file_name),
    };
    if path.is_file() {
        Some(path)
    } else {
        let why = format!(
            "{bench}: no model at {} (run `leash model fetch` or set LEASH_TEST_MODEL)",
            path.display()
        );
        let required = std::env::var("LEASH_REQUIRE_TEST_MODEL").is_ok_and(|v| v == "1");
        assert!(!required, "{why} (LEASH_REQUIRE_TEST_MODEL=1)");
        eprintln!("skipped: {why}");
        None
    }
}

/// The median of `values` (the upper one for an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One job: a system prompt and a task, greedy, at most `max_tokens`.
#[allow(dead_code)] // not every bench runs jobs through a backend
pub fn job(
    backend: &mut dyn Backend,
    system: &str,
    task: &str,
    format: OutputFormat,
    max_tokens: u32,
) -> Result<Generation, leash_llm::BackendError> {
    let messages = [
        ChatMessage {
            role: Role::System,
            content: system.to_string(),
        },
        ChatMessage {
            role: Role::User,
            content: task.to_string(),
        },
    ];
    backend.generate(GenerateRequest {
        messages: &messages,
        format,
        max_tokens,
        temperature: 0.0,
        programs: ProgramChoice::Any,
        on_text: None,
    })
}
