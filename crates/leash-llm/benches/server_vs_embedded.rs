//! Managed `llama-server` against the embedded backend on the same model,
//! threads, context and prompt (issue 16's "Measure"): decode tokens/s and
//! time to first token, cold (the first job of a fresh backend), warm (the
//! next job, the system prompt cached) and, for the server, after a restart
//! that restores the saved slot. Every figure is reported as a ratio against
//! the embedded backend measured in the same run.
//!
//! Run: `cargo bench -p leash-llm --features llama --bench server_vs_embedded`
//! (`LEASH_TEST_MODEL=path.gguf`, `LEASH_TEST_LLAMA_SERVER=path/llama-server`,
//! else the server cached by `scripts/llama-server.sh` under
//! `~/.cache/leash-ci/llama-server/*/bin/`; `LEASH_BENCH_THREADS=n`, default 2).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

use leash_llm::{
    Backend, Generation, LlamaBackend, LlamaConfig, ManagedServerBackend, ManagedServerConfig,
    OutputFormat,
};
use support::{ROUNDS, bench_model, median};

/// Tokens generated per job: enough for a stable decode rate.
const DECODE_TOKENS: u32 = 64;
const CONTEXT: u32 = 2048;

fn main() -> Result<(), Box<dyn Error>> {
    let Some(model) = bench_model("server_vs_embedded") else {
        return Ok(());
    };
    let Some(server) = server_bin() else {
        eprintln!(
            "skipped: server_vs_embedded: no llama-server (set LEASH_TEST_LLAMA_SERVER or run scripts/llama-server.sh)"
        );
        return Ok(());
    };
    let threads: u32 = std::env::var("LEASH_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let system = system_prompt();
    let mut rows: Vec<[f64; 6]> = Vec::new();
    for round in 0..=ROUNDS {
        let run_dir = tempfile::tempdir()?;
        let system = format!("Session {round}.\n{system}");
        // Embedded: cold = first job after load, warm = the next one.
        let (e_cold, e_warm) = {
            let mut config = LlamaConfig::new(&model);
            config.context_size = CONTEXT;
            config.threads = Some(threads);
            let mut backend = LlamaBackend::load(config)?;
            let cold = job(&mut backend, &system, "list the files here")?;
            let warm = job(&mut backend, &system, "show the disk usage")?;
            (cold, warm)
        };
        let server_config = || {
            let mut config = ManagedServerConfig::new(&server, &model, run_dir.path());
            config.context_size = CONTEXT;
            config.threads = threads;
            config.batch_threads = threads;
            config.start_timeout = Duration::from_secs(120);
            config
        };
        let (s_cold, s_warm) = {
            let mut backend = ManagedServerBackend::start(server_config())?;
            let cold = job(&mut backend, &system, "list the files here")?;
            let warm = job(&mut backend, &system, "show the disk usage")?;
            (cold, warm)
        };
        // A new server on the same run directory restores the saved slot.
        let s_restored = {
            let mut backend = ManagedServerBackend::start(server_config())?;
            let restored = backend
                .status_handle()
                .lock()
                .map(|s| s.slot_restored)
                .unwrap_or(false);
            let answer = job(&mut backend, &system, "what time is it")?;
            if !restored {
                eprintln!("round {round}: the restarted server did not restore its slot");
            }
            answer
        };
        println!(
            "round {round}: ttft embedded cold {} warm {} | server cold {} warm {} restored {} ({} of {} reused) | decode tok/s embedded {:.1} server {:.1}",
            ms(e_cold.time_to_first_token),
            ms(e_warm.time_to_first_token),
            ms(s_cold.time_to_first_token),
            ms(s_warm.time_to_first_token),
            ms(s_restored.time_to_first_token),
            s_restored.prompt_tokens_reused,
            s_restored.prompt_tokens,
            decode_rate(&e_warm),
            decode_rate(&s_warm),
        );
        if round == 0 {
            continue; // warm-up (page cache, CPU frequency)
        }
        rows.push([
            e_cold.time_to_first_token.as_secs_f64(),
            e_warm.time_to_first_token.as_secs_f64(),
            s_cold.time_to_first_token.as_secs_f64(),
            s_warm.time_to_first_token.as_secs_f64(),
            s_restored.time_to_first_token.as_secs_f64(),
            decode_rate(&s_warm) / decode_rate(&e_warm),
        ]);
    }
    let col = |i: usize| median(rows.iter().map(|r| r[i]).collect());
    let ratio = |i: usize, base: usize| median(rows.iter().map(|r| r[i] / r[base]).collect());
    println!(
        "server_vs_embedded ({}, {threads} threads, median of {ROUNDS}):\n  \
         ttft ms: embedded cold {:.1}, warm {:.1}; server cold {:.1}, warm {:.1}, after restart with slot {:.1}\n  \
         ratios server/embedded: ttft cold {:.2}, warm {:.2}; restored-slot/embedded-cold {:.2}; restored/server-cold {:.2}; decode tok/s {:.2}",
        model.display(),
        col(0) * 1e3,
        col(1) * 1e3,
        col(2) * 1e3,
        col(3) * 1e3,
        col(4) * 1e3,
        ratio(2, 0),
        ratio(3, 1),
        ratio(4, 0),
        ratio(4, 2),
        col(5),
    );
    Ok(())
}

/// Generated tokens per second after the first one.
fn decode_rate(g: &Generation) -> f64 {
    let decode = g.total_time.saturating_sub(g.time_to_first_token);
    f64::from(g.generated_tokens.saturating_sub(1)) / decode.as_secs_f64().max(1e-9)
}

fn server_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LEASH_TEST_LLAMA_SERVER") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let cache = PathBuf::from(std::env::var_os("HOME")?).join(".cache/leash-ci/llama-server");
    std::fs::read_dir(cache)
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin/llama-server"))
        .find(|p| p.is_file())
}

fn job(backend: &mut dyn Backend, system: &str, task: &str) -> Result<Generation, Box<dyn Error>> {
    Ok(support::job(
        backend,
        system,
        task,
        OutputFormat::Text,
        DECODE_TOKENS,
    )?)
}

/// About 1,000 tokens, the shape of leash's real system prompt.
fn system_prompt() -> String {
    let mut prompt = String::from(
        "You are leash, an assistant that acts on a device by proposing actions as one JSON object.\n",
    );
    for i in 0..20 {
        prompt.push_str(&format!(
            "Rule {i}: a program may run inside the workspace with arguments that stay within the workspace; its output comes back to you truncated to 256 KiB, and a failing exit status is reported with stderr.\n"
        ));
    }
    prompt
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}
