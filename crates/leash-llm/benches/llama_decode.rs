//! Decode speed of leash's embedded backend against a minimal direct
//! `llama-cpp-2` loop: same model, threads, context, prompt and greedy
//! sampling, in the same process, rounds interleaved. Goal: ratio ≥ 0.97
//! (the worker thread, channels, streaming and UTF-8 handling cost next to
//! nothing).
//!
//! Run: `cargo bench -p leash-llm --features llama --bench llama_decode`
//! (`LEASH_TEST_MODEL=path.gguf` for another model, `LEASH_BENCH_THREADS=n`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use std::error::Error;
use std::num::NonZeroU32;
use std::time::Instant;

use leash_llm::llama_cpp_2::context::LlamaContext;
use leash_llm::llama_cpp_2::context::params::LlamaContextParams;
use leash_llm::llama_cpp_2::llama_batch::LlamaBatch;
use leash_llm::llama_cpp_2::model::params::LlamaModelParams;
use leash_llm::llama_cpp_2::model::{LlamaChatMessage, LlamaModel};
use leash_llm::llama_cpp_2::sampling::LlamaSampler;
use leash_llm::{
    Backend, ChatMessage, GenerateRequest, LlamaBackend, LlamaConfig, OutputFormat, Role,
    default_thread_count, llama_runtime,
};
use support::{ROUNDS, bench_model, median};

const PROMPT: &str = "Write a very long story about a lighthouse keeper and the sea.";
const MAX_TOKENS: u32 = 128;
const CONTEXT: u32 = 2048;
const BATCH: u32 = 512;

fn main() -> Result<(), Box<dyn Error>> {
    let Some(path) = bench_model("llama_decode") else {
        return Ok(());
    };
    let threads = std::env::var("LEASH_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(default_thread_count);

    let mut config = LlamaConfig::new(&path);
    config.context_size = CONTEXT;
    config.batch_size = Some(BATCH);
    config.threads = Some(threads);
    let mut backend = LlamaBackend::load(config)?;
    let messages = [ChatMessage {
        role: Role::User,
        content: PROMPT.to_string(),
    }];

    let model = LlamaModel::load_from_file(llama_runtime()?, &path, &LlamaModelParams::default())?;
    let mut direct = DirectLoop::new(&model, threads)?;

    // Warm-up: page the weights in, settle the caches.
    leash_rate(&mut backend, &messages)?;
    direct.rate(PROMPT)?;

    let mut leash_rates = Vec::new();
    let mut direct_rates = Vec::new();
    for round in 0..ROUNDS {
        let (direct_tokens, direct_rate) = direct.rate(PROMPT)?;
        let (leash_tokens, leash_rate) = leash_rate(&mut backend, &messages)?;
        println!(
            "round {round}: direct {direct_rate:.1} tokens/s ({direct_tokens} tokens), leash {leash_rate:.1} tokens/s ({leash_tokens} tokens)"
        );
        direct_rates.push(direct_rate);
        leash_rates.push(leash_rate);
    }
    let direct = median(direct_rates);
    let leash = median(leash_rates);
    println!(
        "llama_decode ({}, {threads} threads, {MAX_TOKENS} tokens, median of {ROUNDS}): direct llama-cpp-2 {direct:.1} tokens/s, leash {leash:.1} tokens/s, ratio {:.3} (goal >= 0.97)",
        path.display(),
        leash / direct
    );

    // For information: the grammar-constrained path the agent uses (the
    // grammar filters every candidate token, so it costs something).
    let plan_messages = [
        ChatMessage {
            role: Role::System,
            content: "Answer with one JSON object: {\"thought\": str, \"actions\": [{\"run\": [argv]}], \"done\": bool}".to_string(),
        },
        ChatMessage {
            role: Role::User,
            content: "list the files here, then show the disk usage".to_string(),
        },
    ];
    let mut plan_rates = Vec::new();
    for _ in 0..ROUNDS {
        let generation = backend.generate(GenerateRequest {
            messages: &plan_messages,
            format: OutputFormat::Actions,
            max_tokens: MAX_TOKENS,
            temperature: 0.0,
            on_text: None,
        })?;
        let decoding = (generation.total_time - generation.time_to_first_token).as_secs_f64();
        plan_rates.push(f64::from(generation.generated_tokens.saturating_sub(1)) / decoding);
    }
    println!(
        "llama_decode, for information: leash with the action grammar {:.1} tokens/s ({:.2} of unconstrained)",
        median(plan_rates.clone()),
        median(plan_rates) / leash
    );
    Ok(())
}

/// Tokens after the first, per second after the first (prompt evaluation
/// excluded, as in the direct loop).
fn leash_rate(
    backend: &mut LlamaBackend,
    messages: &[ChatMessage],
) -> Result<(u32, f64), Box<dyn Error>> {
    let generation = backend.generate(GenerateRequest {
        messages,
        format: OutputFormat::Text,
        max_tokens: MAX_TOKENS,
        temperature: 0.0,
        on_text: None,
    })?;
    let decoding = (generation.total_time - generation.time_to_first_token).as_secs_f64();
    Ok((
        generation.generated_tokens,
        f64::from(generation.generated_tokens.saturating_sub(1)) / decoding,
    ))
}

/// The shortest correct loop over the raw API: prompt in one batch, greedy
/// sampling, one token per decode, detokenized as it goes.
struct DirectLoop<'model> {
    model: &'model LlamaModel,
    context: LlamaContext<'model>,
}

impl<'model> DirectLoop<'model> {
    fn new(model: &'model LlamaModel, threads: u32) -> Result<Self, Box<dyn Error>> {
        let threads = i32::try_from(threads)?;
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(CONTEXT))
            .with_n_batch(BATCH)
            .with_n_ubatch(BATCH)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let context = model.new_context(llama_runtime()?, params)?;
        Ok(DirectLoop { model, context })
    }

    fn rate(&mut self, prompt: &str) -> Result<(u32, f64), Box<dyn Error>> {
        let template = self.model.chat_template(None)?;
        let chat = [LlamaChatMessage::new(
            "user".to_string(),
            prompt.to_string(),
        )?];
        let text = self.model.apply_chat_template(&template, &chat, true)?;
        let vocab = self.model.vocab();
        let tokens = vocab.tokenize(text.as_bytes(), true, true);

        self.context.clear_kv_cache();
        let mut batch = LlamaBatch::new(usize::try_from(BATCH)?, 1);
        let last = tokens.len() - 1;
        for (i, token) in tokens.iter().enumerate() {
            batch.add(*token, i32::try_from(i)?, &[0], i == last)?;
        }
        self.context.decode(&mut batch)?;

        let mut sampler = LlamaSampler::greedy();
        let mut position = i32::try_from(tokens.len())?;
        let mut index = batch.n_tokens() - 1;
        let mut generated = 0u32;
        let mut first_token_at = None;
        let mut piece = Vec::new();
        loop {
            let token = sampler.sample(&self.context, index);
            first_token_at.get_or_insert_with(Instant::now);
            if vocab.is_eog(token) {
                break;
            }
            generated += 1;
            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            if generated >= MAX_TOKENS {
                break;
            }
            batch.clear();
            batch.add(token, position, &[0], true)?;
            position += 1;
            index = 0;
            self.context.decode(&mut batch)?;
        }
        let decoding = first_token_at.map_or(f64::NAN, |t| t.elapsed().as_secs_f64());
        Ok((generated, f64::from(generated.saturating_sub(1)) / decoding))
    }
}
