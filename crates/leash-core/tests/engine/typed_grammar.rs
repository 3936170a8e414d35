//! The model's output grammar generated from the full built-in policy: its
//! size and generation time (printed, not asserted), that it narrows argv to
//! real options and real files, and — with the `llama` feature and the real
//! default model — that llama.cpp compiles it and the model's answers under
//! it are typed: every `run` names an offered program with only that
//! program's options and paths that exist.

use std::time::Instant;

use leash_core::agent::{command_shapes, runnable_programs, workspace_entries};
use leash_llm::{CommandShapes, ProgramChoice, actions_gbnf};
use leash_policy::{Policy, PolicySettings};

use crate::Fixture;

fn full_policy(f: &Fixture) -> (Policy, CommandShapes) {
    let ws = f.workspace();
    std::fs::create_dir_all(ws.join("logs")).unwrap();
    std::fs::write(ws.join("logs/app.log"), "ok\nERROR disk full\n").unwrap();
    std::fs::write(ws.join("notes.txt"), "one\ntwo\n").unwrap();
    let settings = PolicySettings::new(ws.clone(), f.home());
    let policy = Policy::load(settings).unwrap();
    let programs = runnable_programs(&policy.settings().whitelist, &policy.settings().blacklist);
    let (entries, dirs) = workspace_entries(&ws);
    let shapes = command_shapes(&policy, &programs, entries, dirs);
    (policy, shapes)
}

#[test]
fn the_full_builtin_policy_grammar_is_bounded_and_measured() {
    let f = Fixture::new();
    let started = Instant::now();
    let (policy, shapes) = full_policy(&f);
    let shapes_time = started.elapsed();
    let runs = 20;
    let started = Instant::now();
    let mut grammar = String::new();
    for _ in 0..runs {
        grammar = actions_gbnf(false, ProgramChoice::Typed(&shapes));
    }
    let per_grammar = started.elapsed() / runs;
    let rules = grammar.lines().filter(|l| l.contains(" ::= ")).count();
    let options: usize = shapes
        .programs
        .iter()
        .map(|p| {
            p.words.options.len()
                + p.subcommands
                    .iter()
                    .map(|s| s.words.options.len())
                    .sum::<usize>()
        })
        .sum();
    eprintln!(
        "typed grammar, full built-in policy: {} programs, {} option spellings, {} bytes, {} rules; shapes built in {:?} (policy grammar + workspace listing), GBNF generated in {:?}",
        shapes.programs.len(),
        options,
        grammar.len(),
        rules,
        shapes_time,
        per_grammar
    );
    // Every program the policy lets run is offered, and nothing else.
    let programs = runnable_programs(&policy.settings().whitelist, &policy.settings().blacklist);
    assert!(shapes.programs.iter().all(|p| programs.contains(&p.name)));
    assert!(shapes.programs.len() >= 40, "{}", shapes.programs.len());
    assert!(
        grammar.contains(
            r#"existing-path ::= "\".\"" | "\"logs\"" | "\"notes.txt\"" | "\"logs/app.log\"""#
        ),
        "{}",
        &grammar[grammar.len().saturating_sub(3000)..]
    );
    // No free-form argv word is left: every word is typed.
    assert!(!grammar.contains("argv-item"));
}

#[cfg(feature = "llama")]
#[test]
fn the_real_model_compiles_the_grammar_and_answers_only_typed_shapes() {
    use leash_llm::{
        Action, Backend, ChatMessage, GenerateRequest, LlamaBackend, LlamaConfig, OutputFormat,
        Role, parse_response,
    };
    let Some(model) = model_path() else {
        return;
    };
    let f = Fixture::new();
    let (_policy, shapes) = full_policy(&f);
    let mut config = LlamaConfig::new(model);
    config.context_size = 2048;
    let mut backend = LlamaBackend::load(config).unwrap();
    let tasks = [
        "show the last lines of logs/app.log",
        "how many lines are in notes.txt?",
        "list the files with their sizes",
        "find the error in the log",
        "show git history",
        "what is the date",
    ];
    for task in tasks {
        let messages = [
            ChatMessage {
                role: Role::System,
                content: "Answer with one JSON object: {\"actions\": [...], \"done\": false}. Run programs with {\"run\": [\"program\", \"arg\"]}.".into(),
            },
            ChatMessage {
                role: Role::User,
                content: format!("Task: {task}"),
            },
        ];
        let started = Instant::now();
        let generation = backend
            .generate(GenerateRequest {
                messages: &messages,
                format: OutputFormat::Actions,
                max_tokens: 160,
                temperature: 0.0,
                programs: ProgramChoice::Typed(&shapes),
                on_text: None,
            })
            .unwrap();
        eprintln!("{task:?} -> {} ({:?})", generation.text, started.elapsed());
        let Ok(parsed) = parse_response(&generation.text, None) else {
            // Only a cut-off answer (token budget) may fail to parse.
            assert_eq!(
                generation.finish,
                leash_llm::FinishReason::Length,
                "{}",
                generation.text
            );
            continue;
        };
        for action in parsed.plan.actions {
            let Action::Run { argv, cwd } = action else {
                continue;
            };
            let program = shapes.programs.iter().find(|p| p.name == argv[0]);
            let program = program.unwrap_or_else(|| panic!("{argv:?}: not an offered program"));
            let mut options: Vec<&str> = program
                .words
                .options
                .iter()
                .map(|o| o.spelling.as_str())
                .collect();
            for sub in &program.subcommands {
                options.extend(sub.words.options.iter().map(|o| o.spelling.as_str()));
            }
            for word in &argv[1..] {
                if word.starts_with('-') && word.len() > 1 {
                    assert!(
                        options.contains(&word.as_str()) || word.parse::<i64>().is_ok(),
                        "{argv:?}: {word} is not an option of {}",
                        argv[0]
                    );
                }
            }
            if let Some(cwd) = cwd {
                assert!(
                    shapes.directories.contains(&cwd.display().to_string()),
                    "{cwd:?}"
                );
            }
        }
    }
}

#[cfg(feature = "llama")]
fn model_path() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("LEASH_TEST_MODEL")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| {
                std::path::PathBuf::from(h)
                    .join(".local/share/leash/models/SmolLM2-135M-Instruct.Q4_1.gguf")
            })
        })?;
    if path.is_file() {
        return Some(path);
    }
    let why = format!("the test model is missing at {}", path.display());
    if std::env::var("LEASH_REQUIRE_TEST_MODEL").is_ok_and(|v| v == "1") {
        panic!("{why} (LEASH_REQUIRE_TEST_MODEL=1)");
    }
    eprintln!("skipped: {why}; run `leash model fetch` or set LEASH_TEST_MODEL");
    None
}
