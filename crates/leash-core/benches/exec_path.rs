//! Added latency of leash's whole exec path — policy, mode gate, audit, sandbox —
//! against a bare `std::process::Command` spawn of the same program, measured in
//! the same run. Prints p50/p99 of both and the ratio, for the audit log with
//! batched durability and with an fsync per record.
//!
//! Run: `cargo bench -p leash-core --bench exec_path`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use leash_config::{EnvVars, LoadOptions, load};
use leash_core::approval::NoApprover;
use leash_core::{CommandRequest, Engine};

const ROUNDS: usize = 300;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn engine(root: &Path, durability: &str, git_repo: bool) -> Engine {
    let home = root.join("home");
    let ws = root.join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    if git_repo {
        // A workspace with a repository: its config, hooks/ (the samples git
        // init writes) and info/ are checked around every command.
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .args(["-c", "user.name=b", "-c", "user.email=b@example.invalid"])
                .args(args)
                .current_dir(&ws)
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::write(ws.join("README"), "bench\n").unwrap();
        git(&["add", "README"]);
        git(&["commit", "-q", "-m", "init"]);
    }
    let config = root.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "security:\n  execution_mode: auto-approve\nlogging:\n  level: error\n  audit_durability: {durability}\n"
        ),
    )
    .unwrap();
    let s = |p: std::path::PathBuf| p.to_str().unwrap().to_owned();
    let mut pairs = vec![
        ("HOME", s(home)),
        ("XDG_STATE_HOME", s(root.join("state"))),
        ("XDG_CONFIG_HOME", s(root.join("cfg"))),
        ("XDG_CACHE_HOME", s(root.join("cache"))),
        ("XDG_DATA_HOME", s(root.join("data"))),
    ];
    // As root, commands run as security.run_as (here `nobody`) or not at all.
    if leash_core::hand_over_if_root("nobody", &[&ws])
        .unwrap()
        .is_some()
    {
        pairs.push(("LEASH_SECURITY__RUN_AS", "nobody".to_owned()));
    }
    let env = EnvVars::from_pairs(pairs);
    let loaded = load(&LoadOptions {
        config_file: Some(config),
        env,
        overrides: Vec::new(),
        cwd: Some(ws.clone()),
    })
    .unwrap();
    Engine::open(&loaded, &ws).unwrap()
}

fn measure_bare(program: &str) -> Vec<Duration> {
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(program).status().unwrap();
            assert!(status.success());
            start.elapsed()
        })
        .collect()
}

fn measure_leash(engine: &Engine) -> Vec<Duration> {
    let approver = NoApprover {
        why: "benchmark".into(),
    };
    let job = engine.default_params();
    let runner = engine.runner(&job, &approver);
    let request = CommandRequest {
        argv: vec!["true".into()],
        cwd: engine.workspace.clone(),
        job_id: None,
    };
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let report = runner.run(&request).unwrap();
            assert!(report.outcome().is_some(), "{:?}", report.not_run());
            start.elapsed()
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let batched = engine(&dir.path().join("batched"), "batched", false);
    let fsync = engine(&dir.path().join("fsync"), "fsync", false);
    let with_git = engine(&dir.path().join("git"), "batched", true);
    let program = batched
        .policy
        .check_argv(&["true"])
        .command
        .expect("true resolves")
        .program;
    let program = program.to_str().unwrap().to_owned();
    // Warm up caches (page cache, policy's program cache, SQLite).
    let _ = measure_bare(&program);
    let _ = measure_leash(&batched);

    let _ = measure_leash(&with_git);
    let mut bare = measure_bare(&program);
    let mut whole = measure_leash(&batched);
    let mut whole_fsync = measure_leash(&fsync);
    let mut whole_git = measure_leash(&with_git);
    let mut guard: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let before = with_git.control.before();
            let changes = with_git.control.after(before, false);
            assert!(changes.is_empty());
            start.elapsed()
        })
        .collect();
    let (b50, b99) = (percentile(&mut bare, 0.5), percentile(&mut bare, 0.99));
    let (w50, w99) = (percentile(&mut whole, 0.5), percentile(&mut whole, 0.99));
    let (f50, f99) = (
        percentile(&mut whole_fsync, 0.5),
        percentile(&mut whole_fsync, 0.99),
    );
    println!("exec path: `true`, {ROUNDS} rounds each, same run");
    println!(
        "  bare Command::status          p50 {:8.3} ms  p99 {:8.3} ms",
        ms(b50),
        ms(b99)
    );
    println!(
        "  leash (audit batched)         p50 {:8.3} ms  p99 {:8.3} ms  ratio p50 {:.2}  added p50 {:.3} ms",
        ms(w50),
        ms(w99),
        ms(w50) / ms(b50),
        ms(w50) - ms(b50)
    );
    println!(
        "  leash (audit fsync/record)    p50 {:8.3} ms  p99 {:8.3} ms  ratio p50 {:.2}  added p50 {:.3} ms",
        ms(f50),
        ms(f99),
        ms(f50) / ms(b50),
        ms(f50) - ms(b50)
    );
    let (g50, g99) = (
        percentile(&mut whole_git, 0.5),
        percentile(&mut whole_git, 0.99),
    );
    let (c50, c99) = (percentile(&mut guard, 0.5), percentile(&mut guard, 0.99));
    println!(
        "  leash, git repo in workspace   p50 {:8.3} ms  p99 {:8.3} ms  ratio p50 {:.2}  added p50 {:.3} ms",
        ms(g50),
        ms(g99),
        ms(g50) / ms(b50),
        ms(g50) - ms(b50)
    );
    println!(
        "  control-file check alone (git) p50 {:8.3} ms  p99 {:8.3} ms  ({} roots)",
        ms(c50),
        ms(c99),
        with_git.control.targets().roots().len()
    );
    println!("  goal: at most 2 ms added at p50");
}
