//! A controlled environment for running the real `leash` binary in tests: a
//! temp dir holding HOME, the XDG dirs and a workspace, an environment cleared
//! down to what leash needs, and helpers to run it and read its audit log.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

pub mod daemon;
pub mod fleet;

/// The unprivileged user commands run as when the tests run as root.
pub const TEST_RUN_AS: &str = "nobody";

/// Whether the tests run as root (then leash needs `security.run_as`).
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// One isolated leash installation.
pub struct TestHome {
    dir: TempDir,
}

impl TestHome {
    pub fn new() -> TestHome {
        let home = TestHome {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(home.workspace()).unwrap();
        // As root (CI), commands run as `security.run_as` or not at all: the
        // workspace belongs to that user, and `command` sets the key.
        leash_core::hand_over_if_root(TEST_RUN_AS, &[&home.workspace()]).unwrap();
        home
    }

    /// As root: gives `dir` (recursively) to the run_as user commands run as.
    pub fn hand_over(&self, dir: &Path) {
        leash_core::hand_over_if_root(TEST_RUN_AS, &[dir]).unwrap();
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The directory commands run in (the default workspace).
    pub fn workspace(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    pub fn config_file(&self) -> PathBuf {
        self.home().join(".config/leash/config.yaml")
    }

    pub fn learned_rules_file(&self) -> PathBuf {
        self.home().join(".config/leash/learned-rules.yaml")
    }

    /// Writes the config file.
    pub fn write_config(&self, yaml: &str) {
        let path = self.config_file();
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, yaml).unwrap();
    }

    /// A `leash` command with a cleared environment, run in the workspace.
    pub fn leash(&self) -> Command {
        self.command(env!("CARGO_BIN_EXE_leash"))
    }

    /// Any program, with the same cleared environment and working directory as
    /// [`TestHome::leash`] (e.g. `script` wrapping leash in a pty).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("XDG_STATE_HOME", self.home().join(".local/state"))
            .env("XDG_DATA_HOME", self.home().join(".local/share"))
            .env("XDG_CACHE_HOME", self.home().join(".cache"))
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("RUST_LOG", "error")
            .current_dir(self.workspace())
            .stdin(Stdio::null());
        if running_as_root() {
            cmd.env("LEASH_SECURITY__RUN_AS", TEST_RUN_AS);
        }
        cmd
    }

    /// Runs `leash ARGS…` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.leash().args(args).output().unwrap()
    }

    /// `leash audit export --json` as parsed records.
    pub fn audit_records(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["audit", "export", "--json"]);
        assert!(
            out.status.success(),
            "audit export failed: {}",
            text(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        match doc {
            serde_json::Value::Array(records) => records,
            serde_json::Value::Object(mut map) => match map.remove("records") {
                Some(serde_json::Value::Array(records)) => records,
                other => panic!("unexpected export document: {other:?}"),
            },
            other => panic!("unexpected export document: {other:?}"),
        }
    }

    /// The kinds of all audit records, in order.
    pub fn audit_kinds(&self) -> Vec<String> {
        self.audit_records()
            .iter()
            .map(|r| r["kind"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Asserts `leash audit verify` passes.
    pub fn assert_audit_verifies(&self) {
        let out = self.run(&["audit", "verify"]);
        assert!(
            out.status.success(),
            "audit verify failed:\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}

/// The real model file for end-to-end tests: `LEASH_TEST_MODEL`, else the
/// default model in the data dir. Without one the test says why and is skipped,
/// unless `LEASH_REQUIRE_TEST_MODEL=1` (scripts/test.sh fetched it), when a
/// missing model is a failure.
pub fn model_file() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("LEASH_TEST_MODEL").map(PathBuf::from),
        std::env::var_os("HOME").map(|home| {
            PathBuf::from(home).join(".local/share/leash/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        }),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("LEASH_REQUIRE_TEST_MODEL").as_deref() != Ok("1"),
            "LEASH_REQUIRE_TEST_MODEL=1 but no model file was found (LEASH_TEST_MODEL)"
        );
        eprintln!(
            "skipped: no model file (set LEASH_TEST_MODEL or run `leash model fetch`; scripts/test.sh does both)"
        );
    }
    found
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
