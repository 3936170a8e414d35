//! Decisions per second over a 1,000-command mixed corpus, single thread,
//! through the entry points the engine uses (`check_shell` for shell strings,
//! `check_argv` for the model's argv), with a baseline measured in the same run:
//! the bare shell parse (brush-parser, the engine's parser, same options) for the
//! shell strings and a plain clone of each argv. Goal: ≥ 200,000 decisions/s.
//!
//! Run: `cargo bench -p leash-policy --bench decisions`
//! (`-- --iterations N` to change the number of timed passes, default 30).

// A benchmark prints its figures, and shares the tests' fixture code, which
// unwraps and panics on a broken fixture as tests do.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::io::Cursor;
use std::time::{Duration, Instant};

use common::{Fixture, Input, Policies, judge, load_corpus};
use leash_policy::Decision;

const CORPUS_SIZE: usize = 1_000;

fn main() {
    let iterations = std::env::args()
        .skip_while(|a| a != "--iterations")
        .nth(1)
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(30);

    let fixture = Fixture::new();
    let policies = Policies::new(&fixture);
    // Policy load (rules documents parsed, grammars compiled, every rule's
    // examples checked) with the default settings, averaged.
    {
        let loads = 20;
        let start = Instant::now();
        for _ in 0..loads {
            let settings =
                leash_policy::PolicySettings::new(fixture.workspace.clone(), fixture.home.clone());
            black_box(leash_policy::Policy::load(settings).unwrap());
        }
        println!(
            "  policy load (default settings): {:.2} ms",
            start.elapsed().as_secs_f64() * 1e3 / f64::from(loads)
        );
    }

    // The mixed corpus: every benign and hostile case except `limits.*` (inputs
    // of megabytes that measure the size guard, not everyday decisions), cycled
    // to 1,000 commands. Each case keeps the policy profile it was written for.
    let mut cases = load_corpus("benign.cases");
    cases.extend(load_corpus("hostile.cases"));
    cases.retain(|c| c.class() != "limits");
    let corpus: Vec<(common::Profile, Input)> = cases
        .iter()
        .cycle()
        .take(CORPUS_SIZE)
        .map(|c| (c.profile, fixture.input(c)))
        .collect();
    let shells = corpus
        .iter()
        .filter(|(_, i)| matches!(i, Input::Shell(_)))
        .count();
    let mut mix = [0usize; 3];
    for (profile, input) in &corpus {
        let slot = match judge(policies.get(*profile), input).decision {
            Decision::Allow => 0,
            Decision::Ask => 1,
            Decision::Deny => 2,
        };
        mix[slot] += 1;
    }

    let options = brush_parser::ParserOptions {
        enable_extended_globbing: true,
        posix_mode: false,
        sh_mode: false,
        tilde_expansion_at_word_start: true,
        tilde_expansion_after_colon: true,
        parser_impl: brush_parser::ParserImpl::Peg,
    };

    let check_pass = || {
        for (profile, input) in &corpus {
            black_box(judge(policies.get(*profile), black_box(input)));
        }
    };
    let baseline_pass = || {
        for (_, input) in &corpus {
            match black_box(input) {
                Input::Shell(line) => {
                    let parsed = brush_parser::Parser::new(Cursor::new(line.as_str()), &options)
                        .parse_program();
                    black_box(parsed.is_ok());
                }
                Input::Argv(argv) => {
                    black_box(argv.clone());
                }
            }
        }
    };
    let check_shell_only = || {
        for (profile, input) in &corpus {
            if let Input::Shell(line) = input {
                black_box(policies.get(*profile).check_shell(black_box(line)));
            }
        }
    };
    let check_argv_only = || {
        for (profile, input) in &corpus {
            if let Input::Argv(argv) = input {
                black_box(policies.get(*profile).check_argv(black_box(argv)));
            }
        }
    };

    // Warm up caches (program resolution, path canonicalization) once.
    check_pass();
    baseline_pass();

    let check = time(iterations, check_pass);
    let baseline = time(iterations, baseline_pass);
    let shell_only = time(iterations, check_shell_only);
    let argv_only = time(iterations, check_argv_only);

    let total = (CORPUS_SIZE * iterations) as f64;
    let rate = |d: Duration, n: f64| n / d.as_secs_f64();
    println!("leash-policy decisions benchmark (single thread)");
    println!(
        "  corpus: {CORPUS_SIZE} commands ({shells} shell strings, {} argv), from {} cases; \
         decisions: {} allow, {} ask, {} deny",
        CORPUS_SIZE - shells,
        cases.len(),
        mix[0],
        mix[1],
        mix[2]
    );
    println!("  timed passes: {iterations}");
    println!(
        "  full check:                 {:>12.0} decisions/s  ({:.2} µs/decision)",
        rate(check, total),
        check.as_secs_f64() * 1e6 / total
    );
    println!(
        "    shell strings only:       {:>12.0} decisions/s",
        rate(shell_only, (shells * iterations) as f64)
    );
    println!(
        "    argv only:                {:>12.0} decisions/s",
        rate(argv_only, ((CORPUS_SIZE - shells) * iterations) as f64)
    );
    println!(
        "  baseline (parse / clone):   {:>12.0} inputs/s     ({:.2} µs/input)",
        rate(baseline, total),
        baseline.as_secs_f64() * 1e6 / total
    );
    println!(
        "  ratio check / baseline:     {:>12.2}x",
        check.as_secs_f64() / baseline.as_secs_f64()
    );
    let goal = 200_000.0;
    println!(
        "  goal ≥ {goal:.0} decisions/s: {}",
        if rate(check, total) >= goal {
            "met"
        } else {
            "NOT met"
        }
    );
}

fn time(iterations: usize, mut pass: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        pass();
    }
    start.elapsed()
}
