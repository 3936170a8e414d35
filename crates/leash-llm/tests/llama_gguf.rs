//! `read_gguf_info` on the real default model (SmolLM2-135M-Instruct, Q4_1).
//! Needs no llama.cpp, so it runs without the `llama` feature (Termux too).
//! The model is found like in `llama_backend.rs`: `LEASH_TEST_MODEL`, else the
//! data directory; `LEASH_REQUIRE_TEST_MODEL=1` turns a missing model into a
//! failure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::PathBuf;

use leash_llm::{DEFAULT_MODEL, ParameterCountSource, file_sha256, read_gguf_info};

fn test_model(test: &str) -> Option<PathBuf> {
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
        return Some(path);
    }
    let why = format!(
        "{test}: the test model is missing ({}); run `leash model fetch` or set LEASH_TEST_MODEL",
        path.display()
    );
    if std::env::var("LEASH_REQUIRE_TEST_MODEL").is_ok_and(|v| v == "1") {
        panic!("{why} (LEASH_REQUIRE_TEST_MODEL=1)");
    }
    eprintln!("skipped: {why}");
    None
}

#[test]
fn default_model_info() {
    let Some(path) = test_model("default_model_info") else {
        return;
    };
    let info = read_gguf_info(&path).unwrap();
    assert_eq!(info.architecture.as_deref(), Some("llama"));
    assert_eq!(info.context_length, Some(8192));
    assert_eq!(info.quantization, "Q4_1");
    let template = info.chat_template.as_deref().unwrap();
    assert!(template.contains("<|im_start|>"), "{template}");
    // 134.5 M parameters, summed from the tensor shapes (the file does not
    // state the count).
    assert_eq!(
        info.parameter_count_source,
        ParameterCountSource::TensorShapes
    );
    assert!(
        (130_000_000..140_000_000).contains(&info.parameter_count),
        "{}",
        info.parameter_count
    );
    assert_eq!(info.file_size, DEFAULT_MODEL.size);
}

#[test]
fn default_model_matches_the_pinned_hash() {
    let Some(path) = test_model("default_model_matches_the_pinned_hash") else {
        return;
    };
    // Only meaningful for the default file, not an arbitrary LEASH_TEST_MODEL.
    if path.file_name().and_then(|n| n.to_str()) != Some(DEFAULT_MODEL.file_name) {
        eprintln!("skipped: LEASH_TEST_MODEL is not the default model file");
        return;
    }
    let (sha256, size) = file_sha256(&path).unwrap();
    assert_eq!(sha256, DEFAULT_MODEL.sha256);
    assert_eq!(size, DEFAULT_MODEL.size);
}
