//! leash-core's integration tests: the exec path with real processes, real
//! git repositories, real SQLite audit logs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod agent_loop;
mod cleared;
mod control_files;
mod grant_answer;
mod grants;
mod job_params;
mod learned_rules_file;
mod network_on_approval;
mod refusal_feedback;
mod root;
mod system_roots;
mod system_secrets;
mod typed_grammar;
mod undo;

use std::path::{Path, PathBuf};

use leash_config::{EnvVars, LoadOptions, LoadedConfig, load};
use leash_core::approval::NoApprover;
use leash_core::{CommandReport, CommandRequest, Engine, Judged};
use leash_policy::ResolvedCommand;

/// The unprivileged user commands run as when the tests run as root.
pub const TEST_RUN_AS: &str = "nobody";

pub fn running_as_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// A temp dir with home, XDG dirs, a workspace and a config.
#[derive(Debug)]
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ws")).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Fixture { dir }
    }

    pub fn workspace(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Loads `security:` lines (indented by two spaces) plus the test's
    /// run_as when root (`run_as: false` leaves it out).
    pub fn load(&self, security: &str, run_as: bool) -> LoadedConfig {
        let config = self.dir.path().join("config.yaml");
        std::fs::write(
            &config,
            format!(
                "security:\n  execution_mode: auto-approve\n{security}logging:\n  level: error\n"
            ),
        )
        .unwrap();
        let s = |p: PathBuf| p.to_str().unwrap().to_owned();
        let root = self.dir.path();
        let mut pairs = vec![
            ("HOME", s(self.home())),
            ("XDG_STATE_HOME", s(root.join("state"))),
            ("XDG_CONFIG_HOME", s(root.join("cfg"))),
            ("XDG_CACHE_HOME", s(root.join("cache"))),
            ("XDG_DATA_HOME", s(root.join("data"))),
        ];
        if run_as && running_as_root() {
            pairs.push(("LEASH_SECURITY__RUN_AS", TEST_RUN_AS.to_owned()));
        }
        load(&LoadOptions {
            config_file: Some(config),
            env: EnvVars::from_pairs(pairs),
            overrides: Vec::new(),
            cwd: Some(self.workspace()),
        })
        .unwrap()
    }

    /// An engine; as root the workspace is handed to the run_as user first.
    pub fn engine(&self, security: &str) -> Engine {
        leash_core::hand_over_if_root(TEST_RUN_AS, &[&self.workspace()]).unwrap();
        Engine::open(&self.load(security, true), &self.workspace()).unwrap()
    }
}

/// Runs `argv` (program resolved here) through the runner's execution step
/// as if the policy had allowed it: the sandbox and the control-file check
/// must hold on their own.
pub fn run_allowed(engine: &Engine, program: &str, argv: &[&str]) -> CommandReport {
    let approver = NoApprover { why: "test".into() };
    let job = engine.default_params();
    let runner = engine.runner(&job, &approver);
    let request = CommandRequest {
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
        cwd: engine.workspace.clone(),
        job_id: None,
    };
    let cleared = match runner
        .judge(&CommandRequest {
            argv: vec!["true".into()],
            ..request.clone()
        })
        .unwrap()
    {
        Judged::Cleared(cleared) => cleared,
        Judged::Stopped(report) => panic!("`true` must be allowed: {:?}", report.verdict),
    };
    let cleared = cleared.with_command_for_tests(
        ResolvedCommand {
            program: PathBuf::from(program),
            identity: Path::new(program)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
            argv: request.argv.clone(),
        },
        "test.policy-allows-everything",
    );
    runner.execute(cleared).unwrap()
}

/// The kinds and payloads of every audit record.
pub fn audit(engine: &Engine) -> Vec<(String, serde_json::Value)> {
    engine.audit.flush().unwrap();
    engine
        .audit
        .all()
        .unwrap()
        .into_iter()
        .map(|r| (r.kind, r.payload))
        .collect()
}
