//! Added latency of the sandbox: `/bin/true` through [`Executor::run`] (every
//! layer the kernel offers) against a bare `std::process::Command` spawn,
//! measured in the same run. Prints p50/p99 of both and their ratio. Where the
//! cgroup layer is active it also runs the sandbox without it, interleaved
//! round by round with the full sandbox, and prints what the cgroup adds.
//!
//! `cargo bench -p leash-sandbox --bench spawn [-- ROUNDS]`
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use leash_sandbox::{Executor, Layer, LayerStatus, Limits, SandboxSpec, probe, scrubbed_env};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn measure(rounds: usize, mut run: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..rounds / 10 {
        run(); // warm-up
    }
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    samples.sort_unstable();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let report = probe();
    let executor = Executor::new(report.clone());
    let spec = SandboxSpec {
        program: PathBuf::from("/bin/true"),
        argv: vec![OsString::from("true")],
        cwd: work.clone(),
        env: scrubbed_env(&work, Path::new("/t"), OsStr::new("/usr/bin:/bin"), None),
        limits: Limits::default(),
        write_roots: vec![work.clone()],
        read_roots: Vec::new(),
        network: false,
        required: Vec::new(),
        tmp_base: tmp,
        run_as: None,
    };

    let (bare50, bare99) = measure(rounds, || {
        let status = Command::new("/bin/true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(status.status.success());
    });
    let (box50, box99) = measure(rounds, || {
        let outcome = executor.run(&spec).unwrap();
        assert!(outcome.status.success());
    });
    if report.is_active(Layer::Cgroup) {
        let mut without = report.clone();
        for status in &mut without.layers {
            if status.layer == Layer::Cgroup {
                *status = LayerStatus::unavailable(Layer::Cgroup, "disabled by the bench");
            }
        }
        let plain = Executor::new(without);
        // Interleaved (A, B, A, B, ...) so machine load hits both alike.
        let mut with_cg = Vec::with_capacity(rounds);
        let mut without_cg = Vec::with_capacity(rounds);
        for round in 0..rounds + rounds / 10 {
            let start = Instant::now();
            assert!(executor.run(&spec).unwrap().status.success());
            let a = start.elapsed();
            let start = Instant::now();
            assert!(plain.run(&spec).unwrap().status.success());
            let b = start.elapsed();
            if round >= rounds / 10 {
                with_cg.push(a);
                without_cg.push(b);
            }
        }
        with_cg.sort_unstable();
        without_cg.sort_unstable();
        let (w50, w99) = (percentile(&with_cg, 0.5), percentile(&with_cg, 0.99));
        let (n50, n99) = (percentile(&without_cg, 0.5), percentile(&without_cg, 0.99));
        println!("sandbox w/o cgroup  p50 {n50:>10.3?}  p99 {n99:>10.3?}");
        println!("sandbox + cgroup    p50 {w50:>10.3?}  p99 {w99:>10.3?}");
        println!(
            "cgroup adds p50 {:.3?} (ratio {:.2}), p99 {:.3?} (ratio {:.2})",
            w50.saturating_sub(n50),
            w50.as_secs_f64() / n50.as_secs_f64(),
            w99.saturating_sub(n99),
            w99.as_secs_f64() / n99.as_secs_f64()
        );
    } else {
        println!(
            "cgroup layer unavailable here, its cost not measured: {:?}",
            report.status(Layer::Cgroup).state
        );
    }
    println!("layers active: {:?}", report.active_layers());
    println!("rounds: {rounds}");
    println!("bare Command  p50 {bare50:>10.3?}  p99 {bare99:>10.3?}");
    println!("sandboxed     p50 {box50:>10.3?}  p99 {box99:>10.3?}");
    println!(
        "added p50 {:.3?} (ratio {:.2}), added p99 {:.3?} (ratio {:.2})",
        box50.saturating_sub(bare50),
        box50.as_secs_f64() / bare50.as_secs_f64(),
        box99.saturating_sub(bare99),
        box99.as_secs_f64() / bare99.as_secs_f64()
    );
}
