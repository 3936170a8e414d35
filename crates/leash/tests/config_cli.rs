//! `leash config check` and `leash init` run as real processes, each in a
//! controlled environment (cleared, with HOME and XDG dirs inside a temp dir),
//! so nothing here reads or writes the real home directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// The seed's example config, verbatim (examples/seed-config.yaml).
const SEED: &str = include_str!("../../../examples/seed-config.yaml");

struct Home {
    dir: TempDir,
}

impl Home {
    fn new() -> Self {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn leash(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_leash"));
        cmd.env_clear()
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("xdg/config"))
            .env("XDG_STATE_HOME", self.path("xdg/state"))
            .env("XDG_DATA_HOME", self.path("xdg/data"))
            .env("XDG_CACHE_HOME", self.path("xdg/cache"))
            .env("PATH", "/usr/bin:/bin")
            .current_dir(self.dir.path())
            .args(args);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn check_accepts_the_seed_config() {
    let home = Home::new();
    let file = home.write("seed.yaml", SEED);
    let out = home.leash(&["config", "check", file.to_str().unwrap()], &[]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("execution_mode: \"prompt\""), "{stdout}");
    assert!(stdout.contains("- \"git push\""), "{stdout}");
    assert!(stdout.contains("level: \"info\""), "{stdout}");
    // The model file does not exist: a warning naming the key and line, not an error.
    assert!(
        stderr.contains("model.path") && stderr.contains("seed.yaml:2:"),
        "{stderr}"
    );
}

#[test]
fn check_reports_every_error_with_key_and_line_and_exits_2() {
    let home = Home::new();
    let file = home.write(
        "bad.yaml",
        "model:\n  path: \"\"\nsecurity:\n  execution_mode: yolo\n  limits:\n    timeout_s: 0\n",
    );
    let out = home.leash(
        &["--config", file.to_str().unwrap(), "config", "check"],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.yaml:2:9: model.path: empty model path"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.yaml:4:19: security.execution_mode: unknown execution mode \"yolo\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.yaml:6:16: security.limits.timeout_s: must be greater than 0"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "errors go to stderr only without --json"
    );
}

#[test]
fn check_json_is_one_document_and_layers_apply() {
    let home = Home::new();
    let file = home.write("seed.yaml", SEED);
    let out = home.leash(
        &[
            "config",
            "check",
            file.to_str().unwrap(),
            "--json",
            "--set",
            "security.network=true",
        ],
        &[("LEASH_SECURITY__EXECUTION_MODE", "dry-run")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["config"]["security"]["execution_mode"], "dry-run");
    assert_eq!(doc["config"]["security"]["network"], true);
    assert_eq!(doc["config"]["model"]["path"], "/path/to/model.gguf");
    assert_eq!(
        doc["paths"]["database"],
        home.path("xdg/state/leash/leash.db").to_str().unwrap()
    );

    let bad = home.leash(
        &["config", "check", file.to_str().unwrap(), "--json"],
        &[("LEASH_SECURITY__EXECUTION_MODE", "yolo")],
    );
    assert_eq!(bad.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["errors"][0]["key"], "security.execution_mode");
    assert_eq!(
        doc["errors"][0]["source_name"],
        "LEASH_SECURITY__EXECUTION_MODE"
    );
}

#[test]
fn check_without_any_config_uses_defaults_and_says_so() {
    let home = Home::new();
    let out = home.leash(&["config", "check"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("built-in defaults"), "{stdout}");
    let missing = home.leash(&["config", "check", "nope.yaml"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("nope.yaml: config file not found"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn init_creates_private_dirs_config_and_token_and_refuses_to_overwrite() {
    let home = Home::new();
    let out = home.leash(&["init"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let config = home.path("xdg/config/leash/config.yaml");
    let token = home.path("xdg/state/leash/api.token");
    for dir in [
        "xdg/config/leash",
        "xdg/state/leash",
        "xdg/data/leash",
        "xdg/data/leash/models",
        "xdg/cache/leash",
    ] {
        assert_eq!(mode(&home.path(dir)), 0o700, "{dir}");
    }
    assert_eq!(mode(&token), 0o600);
    let token_text = fs::read_to_string(&token).unwrap();
    assert_eq!(token_text.len(), 64);
    assert!(token_text.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(
        fs::read_to_string(&config)
            .unwrap()
            .contains("execution_mode: prompt")
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(config.to_str().unwrap()) && stdout.contains(token.to_str().unwrap()),
        "{stdout}"
    );
    // No temporary files left behind.
    let leftovers: Vec<_> = fs::read_dir(home.path("xdg/state/leash"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("api.token")]);

    // The written config checks clean.
    let check = home.leash(&["config", "check"], &[]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));

    // A second run refuses and changes nothing.
    let again = home.leash(&["init"], &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains(config.to_str().unwrap()),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(fs::read_to_string(&token).unwrap(), token_text);

    // --force replaces both; the token is new.
    let forced = home.leash(&["init", "--force", "--json"], &[]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    let report: serde_json::Value = serde_json::from_slice(&forced.stdout).unwrap();
    assert_eq!(report["config_file"], config.to_str().unwrap());
    assert_eq!(report["overwritten"].as_array().unwrap().len(), 2);
    assert_ne!(fs::read_to_string(&token).unwrap(), token_text);
    assert_eq!(mode(&token), 0o600);
}

#[test]
fn init_honours_an_explicit_config_path() {
    let home = Home::new();
    let target = home.path("custom/leash.yaml");
    let out = home.leash(&["--config", target.to_str().unwrap(), "init"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(target.is_file());
    assert!(!home.path("xdg/config/leash/config.yaml").exists());
    let check = home.leash(
        &["config", "check"],
        &[("LEASH_CONFIG", target.to_str().unwrap())],
    );
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(text(&check.stdout).contains("from $LEASH_CONFIG"));
}

#[test]
fn init_as_root_names_an_unprivileged_run_as_user_and_hands_over_workspaces() {
    let home = Home::new();
    let ws = home.path("projects/demo");
    let out = home.leash(&["init", "--workspace", ws.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let config = std::fs::read_to_string(home.path("xdg/config/leash/config.yaml")).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert!(config.contains("\n  run_as: leash-run\n"), "{config}");
        let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&ws).unwrap());
        assert_ne!(owner, 0, "the workspace still belongs to root");
        let check = home.leash(&["config", "check"], &[]);
        assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    } else {
        eprintln!("not root here: init leaves run_as unset (commands run as you)");
        assert!(config.contains("# run_as:"), "{config}");
        assert!(ws.is_dir());
    }
}
