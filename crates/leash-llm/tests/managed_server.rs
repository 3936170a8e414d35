//! The managed llama-server backend against a real `llama-server` and the
//! real default model (SmolLM2-135M-Instruct, Q4_1).
//!
//! The server is found through `LEASH_TEST_LLAMA_SERVER` (scripts/test.sh
//! builds it once with scripts/llama-server.sh and sets it), else the CI cache
//! (`~/.cache/leash-ci/llama-server/*/bin/llama-server`), else `PATH`. The
//! model through `LEASH_TEST_MODEL`, else the data directory. A test that
//! cannot find one says so and returns — unless `LEASH_REQUIRE_TEST_MODEL=1`
//! (CI), which makes a missing server or model a failure.
//!
//! Tests take a process-wide lock: two servers decoding at once on a 2-core
//! machine would only slow each other down.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use leash_llm::{
    Action, Backend, BackendError, ChatMessage, FinishReason, GenerateRequest, Generation,
    ManagedServerBackend, ManagedServerConfig, OutputFormat, PlanSource, ProgramChoice, Role,
    parse_response,
};

const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

fn required() -> bool {
    std::env::var("LEASH_REQUIRE_TEST_MODEL").is_ok_and(|v| v == "1")
}

fn skip(why: String) {
    assert!(!required(), "{why} (LEASH_REQUIRE_TEST_MODEL=1)");
    eprintln!("skipped: {why}");
}

fn test_model(test: &str) -> Option<PathBuf> {
    let candidate = match std::env::var_os("LEASH_TEST_MODEL") {
        Some(path) => PathBuf::from(path),
        None => {
            let data_home = std::env::var_os("XDG_DATA_HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share"))
                })?;
            data_home.join("leash/models").join(MODEL_FILE)
        }
    };
    if candidate.is_file() {
        return Some(candidate);
    }
    skip(format!(
        "{test}: the test model is missing ({}); run `leash model fetch` or set LEASH_TEST_MODEL",
        candidate.display()
    ));
    None
}

fn test_server(test: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LEASH_TEST_LLAMA_SERVER") {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Some(path);
        }
        skip(format!(
            "{test}: LEASH_TEST_LLAMA_SERVER={} is not a file",
            path.display()
        ));
        return None;
    }
    let cache = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/leash-ci/llama-server"))
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/llama-server"))
        .find(|p| p.is_file());
    let on_path = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("llama-server"))
                .find(|p| p.is_file())
        })
    };
    let found = cache.or_else(on_path);
    if found.is_none() {
        skip(format!(
            "{test}: no llama-server (run scripts/llama-server.sh and set LEASH_TEST_LLAMA_SERVER)"
        ));
    }
    found
}

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn config(server: &Path, model: &Path, run_dir: &Path) -> ManagedServerConfig {
    let mut config = ManagedServerConfig::new(server, model, run_dir);
    config.context_size = 1024;
    config.threads = 2;
    config.batch_threads = 2;
    config.start_timeout = Duration::from_secs(60);
    config
}

/// A system prompt long enough that evaluating it again is visible.
fn system_prompt() -> String {
    let mut text = String::from(
        "You are leash, an assistant that acts on a Linux device by proposing actions as JSON. \
         Answer with one JSON object: {\"thought\": ..., \"actions\": [...], \"done\": bool}. \
         A run action is {\"run\": [program, args...]}.\n",
    );
    for i in 0..12 {
        text.push_str(&format!(
            "Rule {i}: propose only commands that are needed for the task, one per action, \
             never shell syntax, and stop with done=true once the task is finished.\n"
        ));
    }
    text
}

fn messages(user: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage {
            role: Role::System,
            content: system_prompt(),
        },
        ChatMessage {
            role: Role::User,
            content: user.to_string(),
        },
    ]
}

const PROGRAMS: &[&str] = &["ls", "date", "df"];

fn ask(
    backend: &mut ManagedServerBackend,
    user: &str,
    format: OutputFormat,
    max_tokens: u32,
    mut on_text: Option<&mut dyn FnMut(&str)>,
) -> Result<Generation, BackendError> {
    let names: Vec<String> = PROGRAMS.iter().map(|s| (*s).to_string()).collect();
    let messages = messages(user);
    let mut forward = |text: &str| {
        if let Some(sink) = on_text.as_mut() {
            sink(text);
        }
    };
    backend.generate(GenerateRequest {
        messages: &messages,
        format,
        max_tokens,
        temperature: 0.0,
        programs: ProgramChoice::OneOf(&names),
        on_text: Some(&mut forward),
    })
}

/// The answer was sampled under the action grammar: it is a JSON object from
/// its first character, and every `run` names one of the offered programs (a
/// 135M model without the grammar writes prose, or any program). A finished
/// answer parses as a plan; one cut at `max_tokens` is only checked this far
/// (the server, unlike the embedded backend, does not steer a plan to a close
/// as the budget runs out, and this small model at temperature 0 often fills
/// its argv and action lists to the grammar's bounds).
fn assert_under_the_grammar(generation: &Generation) {
    let text = generation.text.trim_start();
    assert!(text.starts_with('{'), "not JSON: {text:?}");
    let mut rest = text;
    while let Some(at) = rest.find("\"run\"") {
        rest = &rest[at + 5..];
        let after = rest.trim_start_matches([':', ' ', '\n', '[']);
        let after = after.trim_start();
        if let Some(quoted) = after.strip_prefix('"') {
            let program = quoted.split('"').next().unwrap_or_default();
            // A cut inside the name leaves a prefix of an allowed one.
            let complete = quoted.len() > program.len();
            assert!(
                PROGRAMS.iter().any(|p| if complete {
                    *p == program
                } else {
                    p.starts_with(program)
                }),
                "run names {program:?}, outside the grammar's choice: {text:?}"
            );
        }
    }
    if generation.finish == FinishReason::Length {
        eprintln!(
            "answer cut at max_tokens ({} tokens): checked as a prefix",
            generation.generated_tokens
        );
        return;
    }
    let parsed = parse_response(&generation.text, generation.reasoning.as_deref())
        .unwrap_or_else(|e| panic!("not a plan: {e}: {:?}", generation.text));
    assert_eq!(parsed.source, PlanSource::Json, "{:?}", generation.text);
    for action in &parsed.plan.actions {
        if let Action::Run { argv, .. } = action {
            let program = argv.first().map(String::as_str).unwrap_or_default();
            assert!(
                PROGRAMS.contains(&program),
                "run names {program:?}, outside the grammar's choice"
            );
        }
    }
}

fn alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped) is not alive.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|state| state != "Z")
}

#[test]
fn starts_answers_under_the_grammar_and_stops_with_the_backend() {
    let _guard = serial();
    let test = "starts_answers_under_the_grammar_and_stops_with_the_backend";
    let (Some(server), Some(model)) = (test_server(test), test_model(test)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut backend = ManagedServerBackend::start(config(&server, &model, dir.path())).unwrap();
    let pid = backend.server_pid().unwrap();
    assert!(alive(pid));
    let mut streamed = String::new();
    let generation = ask(
        &mut backend,
        "List the files in the current directory.",
        OutputFormat::Actions,
        96,
        Some(&mut |t: &str| streamed.push_str(t)),
    )
    .unwrap();
    assert_eq!(generation.backend, "llama-server");
    assert_eq!(streamed, generation.text, "streamed text is the answer");
    assert!(generation.generated_tokens > 0);
    assert_under_the_grammar(&generation);
    // The key file is private: other apps can reach the port, not the slots.
    let key = std::fs::metadata(dir.path().join("llama-server.key")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777,
        0o600
    );
    drop(backend);
    assert!(!alive(pid), "the server outlived its backend");
}

#[test]
fn a_server_killed_mid_answer_is_restarted_and_the_request_answered() {
    let _guard = serial();
    let test = "a_server_killed_mid_answer_is_restarted_and_the_request_answered";
    let (Some(server), Some(model)) = (test_server(test), test_model(test)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut backend = ManagedServerBackend::start(config(&server, &model, dir.path())).unwrap();
    let status = backend.status_handle();
    let first_pid = backend.server_pid().unwrap();
    let mut killed = false;
    // SIGKILL as Android's phantom-process killer sends it: after the first
    // streamed text, in the middle of the answer.
    let generation = ask(
        &mut backend,
        "Show the date.",
        OutputFormat::Text,
        24,
        Some(&mut |_t: &str| {
            if !killed {
                killed = true;
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(i32::try_from(first_pid).unwrap()),
                    nix::sys::signal::Signal::SIGKILL,
                )
                .unwrap();
            }
        }),
    )
    .unwrap();
    assert!(killed, "no text streamed before the answer ended");
    assert!(generation.generated_tokens > 0, "{generation:?}");
    assert!(!generation.text.is_empty(), "{generation:?}");
    let status = status.lock().unwrap().clone();
    assert_eq!(status.restarts, 1, "{status:?}");
    assert!(
        status
            .last_exit
            .as_deref()
            .unwrap_or_default()
            .contains('9'),
        "{status:?}"
    );
    let second_pid = backend.server_pid().unwrap();
    assert_ne!(first_pid, second_pid);
    assert!(alive(second_pid));
}

#[test]
fn a_restarted_server_restores_the_saved_slot_and_skips_the_system_prompt() {
    let _guard = serial();
    let test = "a_restarted_server_restores_the_saved_slot_and_skips_the_system_prompt";
    let (Some(server), Some(model)) = (test_server(test), test_model(test)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cold = {
        let mut backend = ManagedServerBackend::start(config(&server, &model, dir.path())).unwrap();
        assert!(!backend.status_handle().lock().unwrap().slot_restored);
        ask(&mut backend, "Show the date.", OutputFormat::Text, 8, None).unwrap()
    };
    assert_eq!(cold.prompt_tokens_reused, 0, "{cold:?}");
    let mut backend = ManagedServerBackend::start(config(&server, &model, dir.path())).unwrap();
    assert!(
        backend.status_handle().lock().unwrap().slot_restored,
        "the slot saved by the first server was not restored"
    );
    let restored = ask(
        &mut backend,
        "How full is the disk?",
        OutputFormat::Text,
        8,
        None,
    )
    .unwrap();
    // The system prompt (the shared prefix) came from the restored slot.
    assert!(
        restored.prompt_tokens_reused * 2 > restored.prompt_tokens,
        "only {} of {} prompt tokens reused after the restore",
        restored.prompt_tokens_reused,
        restored.prompt_tokens
    );
    eprintln!(
        "time to first token: cold {:?} ({} prompt tokens), after restart with the saved slot {:?} ({} of {} reused)",
        cold.time_to_first_token,
        cold.prompt_tokens,
        restored.time_to_first_token,
        restored.prompt_tokens_reused,
        restored.prompt_tokens
    );
}

#[test]
fn a_server_left_by_a_killed_leash_is_stopped_at_the_next_start() {
    let _guard = serial();
    let test = "a_server_left_by_a_killed_leash_is_stopped_at_the_next_start";
    let (Some(server), Some(model)) = (test_server(test), test_model(test)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let first = ManagedServerBackend::start(config(&server, &model, dir.path())).unwrap();
    let orphan = first.server_pid().unwrap();
    // A leash that was SIGKILLed never stops its child.
    std::mem::forget(first);
    let second = ManagedServerBackend::start(config(&server, &model, dir.path())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(orphan) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(orphan), "the earlier server is still running");
    assert!(alive(second.server_pid().unwrap()));
}

#[test]
fn a_server_that_cannot_start_fails_with_its_log() {
    let _guard = serial();
    let test = "a_server_that_cannot_start_fails_with_its_log";
    let Some(model) = test_model(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A stand-in for a broken llama-server build: says why and exits.
    let fake = dir.path().join("llama-server");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'error: unsupported model architecture' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &fake,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .unwrap();
    let err = ManagedServerBackend::start(config(&fake, &model, &dir.path().join("run")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unsupported model architecture"), "{err}");
    assert!(err.contains("exited while starting"), "{err}");

    let missing = dir.path().join("no-such-llama-server");
    let err = ManagedServerBackend::start(config(&missing, &model, &dir.path().join("run")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no-such-llama-server"), "{err}");
    assert!(err.contains("model.server_bin"), "{err}");
}

#[test]
fn fewer_decode_threads_restart_the_server_with_its_slot_and_count_no_crash() {
    let _guard = serial();
    let test = "fewer_decode_threads_restart_the_server_with_its_slot_and_count_no_crash";
    let (Some(server), Some(model)) = (test_server(test), test_model(test)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut backend = ManagedServerBackend::start(config(&server, &model, dir.path())).unwrap();
    let status = backend.status_handle();
    ask(&mut backend, "Show the date.", OutputFormat::Text, 4, None).unwrap();
    let before = backend.server_pid().unwrap();
    // What the resource governor does when the device runs warm.
    backend.set_decode_threads(Some(1));
    assert!(!alive(before), "the old server still runs");
    let generation = ask(&mut backend, "Show the date.", OutputFormat::Text, 4, None).unwrap();
    assert!(generation.generated_tokens > 0);
    let now = status.lock().unwrap().clone();
    assert_eq!(now.threads, 1, "{now:?}");
    assert_eq!(now.restarts, 0, "a planned restart is not a crash: {now:?}");
    assert!(now.slot_restored, "{now:?}");
    let cmdline =
        std::fs::read(format!("/proc/{}/cmdline", backend.server_pid().unwrap())).unwrap();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let at = args.iter().position(|a| *a == b"--threads").unwrap();
    assert_eq!(args[at + 1], b"1");
}
