//! `leash policy check|explain` run as a real process, in a controlled
//! environment: cleared env, HOME and XDG dirs in a temp dir, a temp config
//! whose `security.search_path` holds fake programs, the workspace as cwd.

// Test code: a broken fixture or a failed expectation panics, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const EXIT_ALLOW: i32 = 0;
const EXIT_ASK: i32 = 3;
const EXIT_DENY: i32 = 4;
const EXIT_USAGE: i32 = 2;

struct Env {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    workspace: PathBuf,
    config: PathBuf,
}

const PROGRAMS: &[&str] = &[
    "ls", "cat", "echo", "git", "docker", "rm", "dd", "python3", "wc",
];

impl Env {
    fn new() -> Env {
        // Not under /tmp: the policy never trusts programs in world-writable dirs.
        let dir = tempfile::Builder::new()
            .prefix("leash-policy-cli-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let root = dir.path().canonicalize().unwrap();
        let bin = root.join("bin");
        let home = root.join("home");
        let workspace = home.join("project");
        fs::create_dir_all(&bin).unwrap();
        for name in PROGRAMS {
            let path = bin.join(name);
            fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        fs::create_dir_all(home.join(".ssh")).unwrap();
        fs::write(home.join(".ssh/id_rsa"), "fake key\n").unwrap();
        fs::create_dir_all(workspace.join("build")).unwrap();
        fs::write(workspace.join("README.md"), "# hi\n").unwrap();
        fs::write(workspace.join("script.py"), "print(1)\n").unwrap();
        let config = root.join("config.yaml");
        fs::write(
            &config,
            format!(
                "security:\n  execution_mode: \"prompt\"\n  whitelist: [ls, cat, echo, git, docker, rm, python3, wc]\n  \
                 blacklist: [\"rm -rf\", \"dd\"]\n  require_approval_for: [\"docker\", \"git push\"]\n  \
                 search_path: [\"{}\"]\n",
                bin.display()
            ),
        )
        .unwrap();
        Env {
            _dir: dir,
            root,
            home,
            workspace,
            config,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_leash"));
        cmd.env_clear()
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.root.join("xdg/config"))
            .env("XDG_STATE_HOME", self.root.join("xdg/state"))
            .env("XDG_DATA_HOME", self.root.join("xdg/data"))
            .env("XDG_CACHE_HOME", self.root.join("xdg/cache"))
            .current_dir(&self.workspace)
            .arg("--config")
            .arg(&self.config)
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            stdin.write_all(&input).unwrap();
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        output
    }
}

fn status(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    )
}

fn json_lines(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

#[rstest::rstest]
#[case::allow(&["ls", "-la"], EXIT_ALLOW, "allow")]
#[case::ask_seed_require_approval(&["docker", "ps"], EXIT_ASK, "ask")]
#[case::ask_script(&["python3", "script.py"], EXIT_ASK, "ask")]
#[case::deny_seed_blacklist(&["rm", "-rf", "build"], EXIT_DENY, "deny")]
#[case::deny_seed_blacklist_dd(&["dd", "if=/dev/zero", "of=x"], EXIT_DENY, "deny")]
#[case::deny_not_whitelisted(&["nosuchprogram"], EXIT_DENY, "deny")]
#[case::literal_semicolon_is_just_text(&["echo", "a;b"], EXIT_ALLOW, "allow")]
fn check_exit_status_and_text_name_the_decision(
    #[case] argv: &[&str],
    #[case] expected_status: i32,
    #[case] decision: &str,
) {
    let env = Env::new();
    let mut args = vec!["policy", "check", "--"];
    args.extend_from_slice(argv);
    let output = env.run(&args);
    assert_eq!(status(&output), expected_status, "{}", describe(&output));
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with(decision), "{}", describe(&output));
    assert!(stdout.contains("reason:"), "{}", describe(&output));
}

#[test]
fn check_secret_read_is_denied() {
    let env = Env::new();
    let key = env.home.join(".ssh/id_rsa");
    let output = env.run(&["policy", "check", "--", "cat", key.to_str().unwrap()]);
    assert_eq!(status(&output), EXIT_DENY, "{}", describe(&output));
}

#[test]
fn check_json_prints_one_document_with_input_decision_rule_reason_and_hint() {
    let env = Env::new();
    let output = env.run(&["policy", "check", "--json", "--", "rm", "-rf", "build"]);
    assert_eq!(status(&output), EXIT_DENY, "{}", describe(&output));
    let docs = json_lines(&output);
    assert_eq!(docs.len(), 1, "{}", describe(&output));
    let doc = &docs[0];
    assert_eq!(doc["input"], serde_json::json!(["rm", "-rf", "build"]));
    assert_eq!(doc["decision"], "deny");
    assert!(!doc["rule"].as_str().unwrap().is_empty(), "{doc}");
    assert!(!doc["reason"].as_str().unwrap().is_empty(), "{doc}");
    assert!(doc["hint"].is_string(), "{doc}");
}

#[test]
fn check_shell_judges_one_string_with_the_shell_grammar() {
    let env = Env::new();
    let output = env.run(&["policy", "check", "--json", "--shell", "--", "ls | wc -l"]);
    assert_eq!(status(&output), EXIT_DENY, "{}", describe(&output));
    assert_eq!(json_lines(&output)[0]["input"], "ls | wc -l");
    let allowed = env.run(&["policy", "check", "--shell", "--", "echo 'a;b'"]);
    assert_eq!(status(&allowed), EXIT_ALLOW, "{}", describe(&allowed));
}

#[rstest::rstest]
#[case::no_command(&["policy", "check"])]
#[case::no_command_after_dashes(&["policy", "check", "--"])]
#[case::shell_with_two_words(&["policy", "check", "--shell", "--", "ls", "-la"])]
#[case::explain_without_command(&["policy", "explain"])]
fn bad_arguments_exit_with_the_usage_status(#[case] args: &[&str]) {
    let env = Env::new();
    let output = env.run(args);
    assert_eq!(status(&output), EXIT_USAGE, "{}", describe(&output));
}

#[test]
fn an_invalid_config_exits_with_the_usage_status_and_names_the_key() {
    let env = Env::new();
    fs::write(&env.config, "security:\n  colour: red\n").unwrap();
    let output = env.run(&["policy", "check", "--", "ls"]);
    assert_eq!(status(&output), EXIT_USAGE, "{}", describe(&output));
    assert!(
        text(&output.stderr).contains("colour"),
        "{}",
        describe(&output)
    );
}

#[test]
fn set_overrides_reach_the_policy() {
    let env = Env::new();
    let output = env.run(&[
        "--set",
        "security.whitelist=[ls]",
        "policy",
        "check",
        "--",
        "cat",
        "README.md",
    ]);
    assert_eq!(status(&output), EXIT_DENY, "{}", describe(&output));
}

#[test]
fn stdin_gives_one_json_line_per_input_line_in_order() {
    let env = Env::new();
    let mut input = String::new();
    for i in 0..1_000 {
        match i % 4 {
            0 => input.push_str(&format!("echo line {i}\n")),
            1 => input.push_str("rm -rf /\n"),
            2 => input.push_str(&format!("ls -la build{i}\n")),
            _ => input.push_str(&format!("cat x{i}; rm -rf /\n")),
        }
    }
    let output = env.run_with_stdin(&["policy", "check", "--json", "--stdin"], input.as_bytes());
    assert_eq!(status(&output), 0, "{}", describe(&output));
    let docs = json_lines(&output);
    assert_eq!(docs.len(), 1_000, "{}", text(&output.stderr));
    for (i, (doc, line)) in docs.iter().zip(input.lines()).enumerate() {
        assert_eq!(doc["input"], line, "line {i} out of order");
        let expected = match i % 4 {
            0 | 2 => "allow",
            _ => "deny",
        };
        assert_eq!(doc["decision"], expected, "line {i}: {doc}");
        assert!(
            doc["rule"].is_string() && doc["reason"].is_string(),
            "{doc}"
        );
    }
}

#[test]
fn stdin_denies_a_non_utf8_line_and_goes_on() {
    let env = Env::new();
    let mut input = b"ls\n".to_vec();
    input.extend_from_slice(b"cat \xff\xfe bad\n");
    input.extend_from_slice(b"echo ok\r\n");
    input.extend_from_slice(&vec![b'a'; 200_000]);
    input.extend_from_slice(b"\n\necho last");
    let output = env.run_with_stdin(&["policy", "check", "--json", "--stdin"], &input);
    assert_eq!(status(&output), 0, "{}", describe(&output));
    let docs = json_lines(&output);
    assert_eq!(docs.len(), 6, "{}", describe(&output));
    assert_eq!(docs[0]["decision"], "allow", "{}", docs[0]);
    assert_eq!(docs[1]["decision"], "deny", "{}", docs[1]);
    assert_eq!(docs[1]["rule"], "cli.not-utf8", "{}", docs[1]);
    assert_eq!(docs[2]["input"], "echo ok", "CRLF line ends are line ends");
    assert_eq!(docs[2]["decision"], "allow", "{}", docs[2]);
    assert_eq!(docs[3]["decision"], "deny", "{}", docs[3]);
    assert_eq!(docs[3]["rule"], "cli.line-too-long", "{}", docs[3]);
    assert!(
        docs[3]["reason"].as_str().unwrap().contains("200000"),
        "{}",
        docs[3]
    );
    assert_eq!(
        docs[4]["decision"], "deny",
        "an empty line is no command: {}",
        docs[4]
    );
    assert_eq!(
        docs[5]["input"], "echo last",
        "a last line without newline counts"
    );
    assert_eq!(docs[5]["decision"], "allow", "{}", docs[5]);
}

#[test]
fn explain_names_every_match_and_the_winning_rule() {
    let env = Env::new();
    let check = env.run(&["policy", "check", "--json", "--", "rm", "-rf", "build"]);
    let winner = json_lines(&check)[0]["rule"].as_str().unwrap().to_string();

    let output = env.run(&["policy", "explain", "--", "rm", "-rf", "build"]);
    assert_eq!(status(&output), EXIT_DENY, "{}", describe(&output));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("matched rules"), "{stdout}");
    assert!(
        stdout.contains(&format!("decision: deny by {winner}")),
        "explain must name the winner {winner}:\n{stdout}"
    );
    assert!(stdout.contains("why:"), "{stdout}");

    let json = env.run(&["policy", "explain", "--json", "--", "rm", "-rf", "build"]);
    let doc = &json_lines(&json)[0];
    assert_eq!(doc["rule"], winner.as_str());
    let matches = doc["matches"].as_array().unwrap();
    assert!(
        matches.iter().any(|m| m["rule"] == winner.as_str()),
        "the winner is among the matches: {doc}"
    );
}

#[test]
fn the_workspace_is_the_current_directory() {
    let env = Env::new();
    let inside = env.run(&["policy", "check", "--", "ls", "build"]);
    assert_eq!(status(&inside), EXIT_ALLOW, "{}", describe(&inside));
    let escape = env.run(&["policy", "check", "--", "cat", "../.ssh/id_rsa"]);
    assert_eq!(status(&escape), EXIT_DENY, "{}", describe(&escape));
    // Running from inside ~/.ssh makes it the workspace, which must not
    // re-allow a default-denied secret.
    let output = env
        .command(&["policy", "check", "--", "cat", "id_rsa"])
        .current_dir(env.home.join(".ssh"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(status(&output), EXIT_DENY, "{}", describe(&output));
}
