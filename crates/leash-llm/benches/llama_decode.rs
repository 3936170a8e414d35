//! Decode speed of leash's embedded backend against a minimal direct
//! `llama-cpp-2` loop: same model, threads, context, prompt and greedy
//! sampling, in the same process, rounds interleaved. Goals:
//!
//! - free text: leash / direct ≥ 0.97 (the worker thread, channels, streaming
//!   and UTF-8 handling cost next to nothing);
//! - action plans under the grammar (lazy sampling, the policy's program
//!   names): leash with the grammar / leash free text ≥ 0.8.
//!
//! For information it also runs the direct loop with the grammar *first* in
//! the sampler chain (every candidate of the vocabulary filtered through the
//! grammar at every token: what leash did before lazy sampling) on the same
//! plan prompt, so the gain of lazy sampling is measured in the same run.
//!
//! Issue #14 item 2: the adaptive decode thread count (`model.threads`
//! unset: chosen before each answer from the free cores) against fixed 1
//! and 2 threads, with the machine as it is and with one core kept busy by a
//! `yes` child, rows interleaved; the cost of choosing; and the cost of a
//! change of count (the context is re-created, its KV cache moved over).
//!
//! Run: `cargo bench -p leash-llm --features llama --bench llama_decode`
//! (`LEASH_TEST_MODEL=path.gguf` for another model, `LEASH_BENCH_THREADS=n`,
//! `LEASH_BENCH_ONLY_ADAPTIVE=1` for the issue #14 part alone).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

mod adaptive;

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
    Backend, ChatMessage, GenerateRequest, LlamaBackend, LlamaConfig, OutputFormat, ProgramChoice,
    Role, actions_gbnf, default_thread_count, llama_runtime,
};
use support::{ROUNDS, bench_model, median};

const PROMPT: &str = "Write a very long story about a lighthouse keeper and the sea.";
const PLAN_SYSTEM: &str = "Answer with one JSON object: {\"thought\": str, \"actions\": [{\"run\": [argv]}], \"done\": bool}";
const PLAN_TASK: &str = "list the files here, then show the disk usage";
const MAX_TOKENS: u32 = 128;
const CONTEXT: u32 = 2048;
const BATCH: u32 = 512;

/// Program names as a policy's whitelist gives them (a part of leash's
/// default list).
const PROGRAMS: &[&str] = &[
    "ls",
    "cat",
    "head",
    "tail",
    "wc",
    "sort",
    "uniq",
    "cut",
    "tr",
    "diff",
    "stat",
    "file",
    "du",
    "df",
    "date",
    "uname",
    "pwd",
    "echo",
    "grep",
    "find",
    "tree",
    "md5sum",
    "sha256sum",
    "jq",
    "sed",
    "awk",
    "cp",
    "mv",
    "rm",
    "mkdir",
    "touch",
    "tar",
    "gzip",
    "git",
    "python3",
    "make",
];

fn main() -> Result<(), Box<dyn Error>> {
    let Some(path) = bench_model("llama_decode") else {
        return Ok(());
    };
    if std::env::var("LEASH_BENCH_ONLY_ADAPTIVE").is_ok_and(|v| v == "1") {
        return adaptive::run(&path);
    }
    let threads = std::env::var("LEASH_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(default_thread_count);

    let mut config = LlamaConfig::new(&path);
    config.context_size = CONTEXT;
    config.batch_size = Some(BATCH);
    config.threads = Some(threads);
    let mut backend = LlamaBackend::load(config)?;
    let story = [ChatMessage {
        role: Role::User,
        content: PROMPT.to_string(),
    }];
    let plan = [
        ChatMessage {
            role: Role::System,
            content: PLAN_SYSTEM.to_string(),
        },
        ChatMessage {
            role: Role::User,
            content: PLAN_TASK.to_string(),
        },
    ];
    let programs: Vec<String> = PROGRAMS.iter().map(|p| (*p).to_string()).collect();
    let grammar = actions_gbnf(false, ProgramChoice::OneOf(&programs));

    let model = LlamaModel::load_from_file(llama_runtime()?, &path, &LlamaModelParams::default())?;
    let mut direct = DirectLoop::new(&model, threads)?;
    let story_chat = [("user", PROMPT)];
    let plan_chat = [("system", PLAN_SYSTEM), ("user", PLAN_TASK)];

    // Warm-up: page the weights in, settle the caches.
    leash_rate(&mut backend, &story, OutputFormat::Text, &programs)?;
    direct.rate(&story_chat, None)?;

    let mut rates: [Vec<f64>; 5] = Default::default();
    for round in 0..ROUNDS {
        let measured = [
            direct.rate(&story_chat, None)?,
            leash_rate(&mut backend, &story, OutputFormat::Text, &programs)?,
            leash_rate(&mut backend, &plan, OutputFormat::Actions, &programs)?,
            direct.rate(&plan_chat, Some(&grammar))?,
            leash_rate(&mut backend, &plan, OutputFormat::Text, &programs)?,
        ];
        println!(
            "round {round}: direct {:.1} tokens/s ({} tokens), leash {:.1} ({}), leash plan under the grammar {:.1} ({}), direct plan grammar-first {:.1} ({}), leash plan prompt free text {:.1} ({})",
            measured[0].1,
            measured[0].0,
            measured[1].1,
            measured[1].0,
            measured[2].1,
            measured[2].0,
            measured[3].1,
            measured[3].0,
            measured[4].1,
            measured[4].0,
        );
        for (list, (_, rate)) in rates.iter_mut().zip(measured) {
            list.push(rate);
        }
    }
    let [
        direct_free,
        leash_free,
        leash_grammar,
        direct_grammar,
        leash_plan_free,
    ] = rates.map(median);
    println!(
        "llama_decode ({}, {threads} threads, {MAX_TOKENS} tokens, median of {ROUNDS}): direct llama-cpp-2 {direct_free:.1} tokens/s, leash {leash_free:.1} tokens/s, ratio {:.3} (goal >= 0.97)",
        path.display(),
        leash_free / direct_free
    );
    println!(
        "llama_decode, grammar: leash under the action grammar (lazy, {} program names) {leash_grammar:.1} tokens/s, free text {leash_free:.1} tokens/s, ratio {:.3} (goal >= 0.8); plan prompt as free text {leash_plan_free:.1} tokens/s (ratio {:.3})",
        programs.len(),
        leash_grammar / leash_free,
        leash_grammar / leash_plan_free
    );
    println!(
        "llama_decode, for information: direct loop with the grammar first in the chain {direct_grammar:.1} tokens/s ({:.3} of free text); lazy sampling is {:.2}x faster",
        direct_grammar / direct_free,
        leash_grammar / direct_grammar
    );
    compare_thread_counts(&model, &story_chat)?;
    drop(direct);
    drop(backend);
    adaptive::run(&path)
}

/// For choosing [`default_thread_count`]: the direct loop with 1, 2, ... up
/// to the CPUs this process may use (at most 4), rounds interleaved, each
/// against 1 thread. Run it once on an idle machine and once with the other
/// cores busy (e.g. `yes > /dev/null` per core, or a build).
fn compare_thread_counts(model: &LlamaModel, chat: &[(&str, &str)]) -> Result<(), Box<dyn Error>> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if cpus < 2 {
        return Ok(());
    }
    let mut loops = (1..=cpus)
        .map(|threads| DirectLoop::new(model, u32::try_from(threads)?))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); cpus];
    for _ in 0..ROUNDS {
        for (direct, list) in loops.iter_mut().zip(rates.iter_mut()) {
            list.push(direct.rate(chat, None)?.1);
        }
    }
    let medians: Vec<f64> = rates.into_iter().map(median).collect();
    let one = medians.first().copied().unwrap_or(f64::NAN);
    let summary = medians
        .iter()
        .enumerate()
        .map(|(i, rate)| format!("{} threads {rate:.1} tokens/s ({:.2}x)", i + 1, rate / one))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "llama_decode, threads (direct loop, median of {ROUNDS}, against 1 thread; load average now {}): {summary}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or("?")
    );
    Ok(())
}

/// Tokens generated, and tokens after the first per second after the first
/// (prompt evaluation excluded, as in the direct loop).
fn leash_rate(
    backend: &mut LlamaBackend,
    messages: &[ChatMessage],
    format: OutputFormat,
    programs: &[String],
) -> Result<(u32, f64), Box<dyn Error>> {
    leash_rate_up_to(backend, messages, format, programs, MAX_TOKENS)
}

/// [`leash_rate`] with at most `max_tokens`.
pub(crate) fn leash_rate_up_to(
    backend: &mut LlamaBackend,
    messages: &[ChatMessage],
    format: OutputFormat,
    programs: &[String],
    max_tokens: u32,
) -> Result<(u32, f64), Box<dyn Error>> {
    let generation = backend.generate(GenerateRequest {
        messages,
        format,
        max_tokens,
        temperature: 0.0,
        programs: ProgramChoice::OneOf(programs),
        on_text: None,
    })?;
    let decoding = (generation.total_time - generation.time_to_first_token).as_secs_f64();
    Ok((
        generation.generated_tokens,
        f64::from(generation.generated_tokens.saturating_sub(1)) / decoding,
    ))
}

/// The shortest correct loop over the raw API: prompt in one batch, greedy
/// sampling (after the grammar, when given, as the first sampler of the
/// chain), one token per decode, detokenized as it goes.
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

    fn rate(
        &mut self,
        chat: &[(&str, &str)],
        grammar: Option<&str>,
    ) -> Result<(u32, f64), Box<dyn Error>> {
        let template = self.model.chat_template(None)?;
        let chat = chat
            .iter()
            .map(|(role, text)| LlamaChatMessage::new((*role).to_string(), (*text).to_string()))
            .collect::<Result<Vec<_>, _>>()?;
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

        let mut sampler = match grammar {
            Some(grammar) => LlamaSampler::chain_simple([
                LlamaSampler::grammar(self.model, grammar, "root")?,
                LlamaSampler::greedy(),
            ]),
            None => LlamaSampler::greedy(),
        };
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
