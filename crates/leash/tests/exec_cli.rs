//! `leash exec` as a person or a script uses it: the real binary, a real
//! policy, the real sandbox, a real audit log, in a temp home.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{TestHome, text};
use rstest::rstest;

const CONFIG: &str = r#"
security:
  execution_mode: auto-approve
  whitelist: [ls, cat, echo, "true", "false", sleep, touch, printf, git, sh]
  blacklist: ["rm -rf", dd]
  require_approval_for: [docker, "git push", touch]
  limits: { timeout_s: 2 }
logging:
  level: warn
"#;

fn home_with(config: &str) -> TestHome {
    let home = TestHome::new();
    home.write_config(config);
    home
}

#[test]
fn allowed_command_runs_in_the_sandbox_and_is_audited() {
    let home = home_with(CONFIG);
    std::fs::write(home.workspace().join("a.txt"), "hello\n").unwrap();
    let out = home.run(&["exec", "--", "cat", "a.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello\n");
    let kinds = home.audit_kinds();
    assert_eq!(
        kinds,
        ["command.decision", "command.started", "command.finished"],
        "{kinds:?}"
    );
    let finished = home.audit_records().pop().unwrap();
    let layers = finished["payload"]["layers_active"].as_array().unwrap();
    for layer in [
        "exec",
        "env_scrub",
        "process_group",
        "rlimits",
        "no_new_privs",
    ] {
        assert!(
            layers.iter().any(|l| l == layer),
            "layer {layer} not active: {layers:?}"
        );
    }
    home.assert_audit_verifies();
}

#[rstest]
#[case::exit_status_passes_through(&["false"], 1)]
#[case::success(&["true"], 0)]
#[case::blacklisted_never_runs(&["rm", "-rf", "victim"], 126)]
#[case::blacklisted_bundled_spelling(&["rm", "-fr", "victim"], 126)]
#[case::not_whitelisted(&["wc", "-l", "victim"], 126)]
#[case::timeout_kills_and_reports_124(&["sleep", "30"], 124)]
#[case::shell_wrapper_judged_by_inner_command(&["sh", "-c", "rm -rf victim"], 126)]
fn exit_statuses(#[case] argv: &[&str], #[case] status: i32) {
    let home = home_with(CONFIG);
    std::fs::create_dir(home.workspace().join("victim")).unwrap();
    let started = Instant::now();
    let mut args = vec!["exec", "--"];
    args.extend_from_slice(argv);
    let out = home.run(&args);
    assert_eq!(
        out.status.code(),
        Some(status),
        "stderr: {}",
        text(&out.stderr)
    );
    assert!(
        home.workspace().join("victim").is_dir(),
        "victim was removed"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    home.assert_audit_verifies();
}

#[test]
fn a_denied_command_is_recorded_with_its_rule_and_never_started() {
    let home = home_with(CONFIG);
    let out = home.run(&["exec", "--json", "--", "dd", "if=/dev/zero", "of=x"]);
    assert_eq!(out.status.code(), Some(126));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["decision"], "deny");
    assert_eq!(doc["executed"], false);
    assert_eq!(doc["not_run"], "denied");
    assert!(!home.workspace().join("x").exists());
    let records = home.audit_records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["kind"], "command.decision");
    assert_eq!(records[0]["payload"]["decision"], "deny");
    assert!(!records[0]["payload"]["rule"].as_str().unwrap().is_empty());
}

#[rstest]
#[case::dry_run_allowed("dry-run", &["echo", "hi"], "would-run")]
#[case::dry_run_ask("dry-run", &["touch", "made"], "would-ask")]
#[case::audit_only_allowed("audit-only", &["touch", "made"], "recorded-only")]
#[case::audit_only_denied("audit-only", &["rm", "-rf", "victim"], "recorded-only")]
fn modes_that_never_execute(#[case] mode: &str, #[case] argv: &[&str], #[case] gate: &str) {
    let home = home_with(CONFIG);
    let mut args = vec!["exec", "--json", "--mode", mode, "--"];
    args.extend_from_slice(argv);
    let out = home.run(&args);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["gate"], gate, "{doc}");
    assert_eq!(doc["executed"], false);
    assert_eq!(doc["mode"], mode);
    assert!(!home.workspace().join("made").exists());
    assert!(!home.audit_kinds().contains(&"command.started".to_owned()));
    home.assert_audit_verifies();
}

#[test]
fn approval_without_a_terminal_denies_instead_of_blocking() {
    let home = home_with(CONFIG);
    let started = Instant::now();
    let out = home
        .leash()
        .args(["exec", "--", "touch", "made"])
        // No controlling terminal at all: a new session.
        .process_group(0)
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("approval"),
        "{}",
        text(&out.stderr)
    );
    assert!(!home.workspace().join("made").exists());
    let kinds = home.audit_kinds();
    assert!(
        kinds.contains(&"approval.requested".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"approval.unavailable".to_owned()),
        "{kinds:?}"
    );
}

#[test]
fn argv_metacharacters_reach_the_program_literally() {
    let home = home_with(CONFIG);
    let out = home.run(&[
        "exec", "--", "printf", "%s|", "a;b", "$(id)", "*", "x y", "`z`",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "a;b|$(id)|*|x y|`z`|");
}

#[test]
fn invalid_config_is_exit_2_naming_the_key() {
    let home = home_with("security:\n  execution_mode: yolo\n");
    let out = home.run(&["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("security.execution_mode"), "{err}");
    assert!(err.contains("yolo"), "{err}");
}

#[test]
fn bad_mode_flag_is_exit_2() {
    let home = home_with(CONFIG);
    let out = home.run(&["exec", "--mode", "yolo", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("yolo"));
}

#[test]
fn non_utf8_argument_is_exit_2() {
    use std::os::unix::ffi::OsStrExt;
    let home = home_with(CONFIG);
    let out = home
        .leash()
        .args(["exec", "--", "echo"])
        .arg(std::ffi::OsStr::from_bytes(b"\xff\xfe"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("UTF-8"));
}

/// Runs `leash exec` under `script(1)` so it has a real terminal, typing
/// `answer` at the approval prompt.
fn exec_on_a_terminal(home: &TestHome, argv: &[&str], answer: &str) -> Option<(i32, String)> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: script(1) from util-linux is not installed; no pty to test on");
        return None;
    }
    let mut line = vec![
        env!("CARGO_BIN_EXE_leash").to_owned(),
        "exec".into(),
        "--".into(),
    ];
    line.extend(argv.iter().map(|s| (*s).to_owned()));
    let quoted: Vec<String> = line.iter().map(|a| format!("'{a}'")).collect();
    let mut cmd = home.command("script");
    cmd.args(["-qec", &quoted.join(" "), "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        stdin.write_all(answer.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = child.wait_with_output().unwrap();
    Some((out.status.code().unwrap_or(-1), text(&out.stdout)))
}

#[test]
fn terminal_approval_yes_no_always_never() {
    let home = home_with(CONFIG);
    let ws = home.workspace();
    let Some((code, screen)) = exec_on_a_terminal(&home, &["touch", "yes"], "y\n") else {
        return;
    };
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("approval needed"), "{screen}");
    assert!(screen.contains("command: touch yes"), "{screen}");
    assert!(ws.join("yes").exists());

    let (code, _) = exec_on_a_terminal(&home, &["touch", "no"], "n\n").unwrap();
    assert_eq!(code, 126);
    assert!(!ws.join("no").exists());

    // "always" writes an exact-argv rule; the same argv then runs without a prompt,
    // a different argv still asks.
    let (code, screen) = exec_on_a_terminal(&home, &["touch", "again"], "a\n").unwrap();
    assert_eq!(code, 0, "{screen}");
    let learned = std::fs::read_to_string(home.learned_rules_file()).unwrap();
    assert!(learned.contains("again"), "{learned}");
    std::fs::remove_file(ws.join("again")).unwrap();
    let out = home
        .leash()
        .args(["exec", "--", "touch", "again"])
        .process_group(0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(ws.join("again").exists());
    let out = home
        .leash()
        .args(["exec", "--", "touch", "other"])
        .process_group(0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126));

    // "never" denies exactly that argv from now on, even in auto-approve.
    let (code, _) = exec_on_a_terminal(&home, &["touch", "forbidden"], "v\n").unwrap();
    assert_eq!(code, 126);
    let out = home.run(&["exec", "--json", "--", "touch", "forbidden"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["decision"], "deny", "{doc}");
    home.assert_audit_verifies();
}

#[test]
fn a_learned_rule_never_overrides_a_deny() {
    let home = home_with(CONFIG);
    std::fs::create_dir_all(home.learned_rules_file().parent().unwrap()).unwrap();
    std::fs::write(
        home.learned_rules_file(),
        "rules:\n- id: learned.allow.1\n  when:\n    argv: [rm, -rf, victim]\n  decision: allow\n  reason: learned\n",
    )
    .unwrap();
    std::fs::create_dir(home.workspace().join("victim")).unwrap();
    let out = home.run(&["exec", "--", "rm", "-rf", "victim"]);
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stderr));
    assert!(home.workspace().join("victim").exists());
}

#[test]
fn commands_cannot_touch_leash_own_files() {
    let home = home_with(CONFIG);
    let config = home.config_file();
    let out = home.run(&["exec", "--", "cat", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stdout));
    let state = home.home().join(".local/state/leash/leash.db");
    let _ = home.run(&["exec", "--", "true"]);
    assert!(Path::new(&state).exists());
    let out = home.run(&["exec", "--", "cat", state.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126));
}

#[test]
fn prompt_mode_honours_a_learned_always_for_exactly_that_argv() {
    let home = home_with(&CONFIG.replace("execution_mode: auto-approve", "execution_mode: prompt"));
    std::fs::create_dir_all(home.learned_rules_file().parent().unwrap()).unwrap();
    std::fs::write(
        home.learned_rules_file(),
        "rules:\n- id: learned.allow.1\n  when:\n    argv: [echo, hi]\n  decision: allow\n  reason: learned\n",
    )
    .unwrap();
    let out = home
        .leash()
        .args(["exec", "--", "echo", "hi"])
        .process_group(0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi\n");
    // Any other argv still needs a person (and there is none here).
    let out = home
        .leash()
        .args(["exec", "--", "echo", "hi", "there"])
        .process_group(0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126));
}

/// The class: an in-place edit whose backup suffix names a protected file
/// (GNU sed puts the file's name in place of `*`, so the suffix can plant
/// the original in `.git/hooks/`). The backup is judged as a write path and
/// refused; nothing runs and nothing is planted. Plain `sed -i` still runs.
#[test]
fn in_place_edit_with_a_hostile_backup_suffix_is_refused_and_plants_nothing() {
    let home = home_with(
        r#"
security:
  execution_mode: auto-approve
  whitelist: [sed]
logging:
  level: warn
"#,
    );
    let ws = home.workspace();
    std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
    std::fs::write(ws.join("pre-commit"), "#!/bin/sh\necho a\n").unwrap();
    home.hand_over(&ws);
    let out = home
        .leash()
        .args([
            "exec",
            "--",
            "sed",
            "-i.git/hooks/*",
            "s/a/b/",
            "pre-commit",
        ])
        .process_group(0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(".git"), "{}", text(&out.stderr));
    assert!(!ws.join(".git/hooks/pre-commit").exists());
    assert_eq!(
        std::fs::read_to_string(ws.join("pre-commit")).unwrap(),
        "#!/bin/sh\necho a\n"
    );
    let plain = home
        .leash()
        .args(["exec", "--", "sed", "-i", "s/a/b/", "pre-commit"])
        .process_group(0)
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    assert_eq!(
        std::fs::read_to_string(ws.join("pre-commit")).unwrap(),
        "#!/bin/sh\necho b\n"
    );
}
