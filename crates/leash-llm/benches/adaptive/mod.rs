//! Issue #14 item 2, in one run: the adaptive decode thread count against
//! fixed 1 and 2 threads (rows interleaved, so load changes on a shared box
//! hit all three alike), first with the machine as it is and then with one
//! core kept busy by a `yes` child; then what choosing costs and what a
//! change of count costs.

use std::error::Error;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use leash_llm::{
    Backend, ChatMessage, GenerateRequest, LlamaBackend, LlamaConfig, OutputFormat, ProgramChoice,
    Role, decode_threads_now,
};

use crate::support::median;
use crate::{BATCH, CONTEXT, PROMPT, leash_rate_up_to};

/// Rounds per row. Fewer than the other benches' because a thread count
/// that collides with a busy core decodes at a few tokens per second.
const ROUNDS: usize = 3;
/// Tokens per answer, for the same reason.
const TOKENS: u32 = 48;

/// A `yes > /dev/null` that is killed when dropped, even on an error.
struct BusyCore(Child);

impl BusyCore {
    fn start() -> Result<Self, Box<dyn Error>> {
        let child = Command::new("yes")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        // Let it reach the run queue and the load window.
        std::thread::sleep(Duration::from_millis(300));
        Ok(BusyCore(child))
    }
}

impl Drop for BusyCore {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn load(path: &Path, threads: Option<u32>) -> Result<LlamaBackend, Box<dyn Error>> {
    let mut config = LlamaConfig::new(path);
    config.context_size = CONTEXT;
    config.batch_size = Some(BATCH);
    config.threads = threads;
    Ok(LlamaBackend::load(config)?)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(path: &Path) -> Result<(), Box<dyn Error>> {
    let mut rows = [
        ("adaptive", load(path, None)?),
        ("fixed 1", load(path, Some(1))?),
        ("fixed 2", load(path, Some(2))?),
    ];
    let story = [ChatMessage {
        role: Role::User,
        content: PROMPT.to_string(),
    }];
    for (_, backend) in rows.iter_mut() {
        leash_rate_up_to(backend, &story, OutputFormat::Text, &[], TOKENS)?;
    }
    for busy in [false, true] {
        let _busy = busy.then(BusyCore::start).transpose()?;
        let mut rates: [Vec<f64>; 3] = Default::default();
        let mut picked = Vec::new();
        for _ in 0..ROUNDS {
            for ((_, backend), list) in rows.iter_mut().zip(rates.iter_mut()) {
                list.push(leash_rate_up_to(backend, &story, OutputFormat::Text, &[], TOKENS)?.1);
            }
            picked.push(rows[0].1.threads());
        }
        let [adaptive, one, two] = rates.map(median);
        println!(
            "llama_decode, adaptive threads, {} (load average now {}): adaptive {adaptive:.1} tokens/s (threads chosen per round {picked:?}), fixed 1 {one:.1}, fixed 2 {two:.1}; adaptive/fixed 1 {:.2}x, adaptive/fixed 2 {:.2}x (median of {ROUNDS}, interleaved)",
            if busy {
                "one core busy (yes)"
            } else {
                "machine as it is"
            },
            loadavg(),
            adaptive / one,
            adaptive / two,
        );
    }
    drop(rows);
    choice_cost();
    change_cost(path)
}

/// What choosing costs: reading the load (procfs) and the pick, timed around
/// [`decode_threads_now`] (which reads `/proc/stat` twice where an answer
/// reads it once, so this is an upper bound).
fn choice_cost() {
    let mut took = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        std::hint::black_box(decode_threads_now(None));
        took.push(started.elapsed().as_secs_f64() * 1e6);
    }
    took.sort_by(f64::total_cmp);
    let p99 = took.get(took.len() * 99 / 100).copied().unwrap_or(f64::NAN);
    println!(
        "llama_decode, choosing the decode threads: p50 {:.0} µs, p99 {p99:.0} µs (200 choices, load average now {})",
        median(took),
        loadavg()
    );
}

/// What a change of count costs an answer: one backend with a long shared
/// system prompt answers 1-token questions, alternately with and without a
/// change of decode threads before (the governor's cap toggling 1 ↔ none on
/// a `model.threads: 2` backend), same run.
fn change_cost(path: &Path) -> Result<(), Box<dyn Error>> {
    let mut backend = load(path, Some(2))?;
    let system = PROMPT.repeat(60);
    let mut same = Vec::new();
    let mut changed = Vec::new();
    let mut reused_after_change = Vec::new();
    let mut cap = None;
    for round in 0..(2 * ROUNDS + 1) {
        let changes = round % 2 == 1;
        if changes {
            cap = if cap.is_none() { Some(1) } else { None };
            backend.set_decode_threads(cap);
        }
        let messages = [
            ChatMessage {
                role: Role::System,
                content: system.clone(),
            },
            ChatMessage {
                role: Role::User,
                content: format!("Question {round}: what is the keeper's name?"),
            },
        ];
        let generation = backend.generate(GenerateRequest {
            messages: &messages,
            format: OutputFormat::Text,
            max_tokens: 1,
            temperature: 0.0,
            programs: ProgramChoice::Any,
            on_text: None,
        })?;
        let ms = generation.total_time.as_secs_f64() * 1e3;
        if round == 0 {
            continue; // the first answer evaluates the system prompt
        }
        if changes {
            changed.push(ms);
            reused_after_change.push(generation.prompt_tokens_reused);
        } else {
            same.push(ms);
        }
    }
    let (same, changed) = (median(same), median(changed));
    println!(
        "llama_decode, a change of decode threads: 1-token answer after a {}-token shared prompt {same:.1} ms without a change, {changed:.1} ms with one (+{:.1} ms for the new context and the KV copy; prompt tokens reused after each change {reused_after_change:?}; median of {ROUNDS}, load average now {})",
        reused_after_change.first().copied().unwrap_or(0),
        changed - same,
        loadavg()
    );
    Ok(())
}
