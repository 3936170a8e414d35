//! `leash doctor` as a real process in a controlled environment (cleared, HOME
//! and XDG dirs inside a temp dir), so nothing reads or writes the real home.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

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

    fn write_config(&self, text: &str) -> PathBuf {
        let path = self.path(".config/leash/config.yaml");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn state_dir(&self) -> PathBuf {
        self.path(".local/state/leash")
    }

    fn doctor(&self, args: &[&str]) -> Output {
        let mut cmd = self.doctor_without_run_as(args);
        // As root (CI), commands need security.run_as; without it doctor
        // fails (tested below).
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            cmd.env("LEASH_SECURITY__RUN_AS", "nobody");
        }
        cmd.output().unwrap()
    }

    fn doctor_without_run_as(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_leash"));
        cmd.arg("doctor")
            .args(args)
            .env_clear()
            .env("HOME", self.dir.path())
            .env("PATH", "/usr/bin:/bin");
        cmd
    }

    fn doctor_json(&self) -> (i32, Value) {
        let out = self.doctor(&["--json"]);
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap(), json)
    }
}

fn layer<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == name)
        .unwrap_or_else(|| panic!("layer {name} missing from {json}"))
}

#[test]
fn fresh_home_reports_every_layer_and_passes() {
    let home = Home::new();
    let (code, json) = home.doctor_json();
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["ok"], true);
    let names: Vec<&str> = json["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "exec",
            "cwd",
            "stdin_null",
            "env_scrub",
            "process_group",
            "rlimits",
            "output_cap",
            "no_new_privs",
            "landlock",
            "seccomp",
            "cgroup"
        ]
    );
    for l in json["layers"].as_array().unwrap() {
        let state = l["state"].as_str().unwrap();
        assert!(
            state == "active" || (state == "unavailable" && l["why"].is_string()),
            "{l}"
        );
    }
    assert!(json["kernel"].as_str().unwrap().starts_with("Linux"));
    assert_eq!(json["termux"], false);
    assert_eq!(json["config"]["valid"], true);
    assert_eq!(json["config"]["loaded_from"], Value::Null);
    assert_eq!(json["state_dir"]["exists"], false);
    assert_eq!(json["model"]["backend"], "llama");
    assert_eq!(json["model"]["present"], false);
    eprintln!(
        "landlock here: {} / seccomp here: {}",
        layer(&json, "landlock"),
        layer(&json, "seccomp")
    );
}

#[test]
fn text_output_lists_layers_state_config_and_model() {
    let home = Home::new();
    let out = home.doctor(&[]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    for needle in [
        "kernel:",
        "termux:       no",
        "  landlock ",
        "  seccomp ",
        "  no_new_privs ",
        "does not exist yet (run `leash init`)",
        "(absent: built-in defaults)",
        "model file missing",
        "result:       ok",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn invalid_config_fails_and_lists_errors_with_lines() {
    let home = Home::new();
    home.write_config("model:\n  context_size: 2048\nsecurity:\n  netwrok: true\n");
    let (code, json) = home.doctor_json();
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["ok"], false);
    assert_eq!(json["config"]["valid"], false);
    let errors = json["config"]["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    assert!(errors.iter().any(|e| e["line"] == 4), "{errors:?}");

    let text = String::from_utf8(home.doctor(&[]).stdout).unwrap();
    assert!(text.contains("INVALID"), "{text}");
    assert!(text.contains("netwrok"), "{text}");
    assert!(text.contains("result:       FAILED"), "{text}");
}

#[test]
fn state_dir_that_is_not_private_fails() {
    let home = Home::new();
    fs::create_dir_all(home.state_dir()).unwrap();
    fs::set_permissions(home.state_dir(), fs::Permissions::from_mode(0o755)).unwrap();
    let (code, json) = home.doctor_json();
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["state_dir"]["mode"], "0755");
    assert_eq!(json["state_dir"]["private"], false);
    assert!(
        json["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("expected 0700")),
        "{json:#}"
    );

    fs::set_permissions(home.state_dir(), fs::Permissions::from_mode(0o700)).unwrap();
    let (code, json) = home.doctor_json();
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["state_dir"]["writable"], true);
    assert_eq!(json["state_dir"]["private"], true);
}

#[test]
fn cgroup_layer_says_what_contains_commands_and_which_limits_are_missing() {
    let home = Home::new();
    home.write_config("security:\n  sandbox:\n    require: [cgroup]\n");
    let (code, json) = home.doctor_json();
    let cgroup = layer(&json, "cgroup");
    eprintln!("cgroup here: {cgroup}");
    if cgroup["state"] == "active" {
        let detail = cgroup["detail"].as_str().unwrap();
        assert!(detail.contains("killed whole with cgroup.kill"), "{detail}");
        // Every limit is either set or named as missing, never silently absent.
        assert!(
            detail.contains("pids.max, memory.max and cpu.max set from security.limits")
                || detail.contains("not available in the cgroup v2 hierarchy"),
            "{detail}"
        );
        assert_eq!(code, 0, "{json:#}");
    } else {
        assert!(!cgroup["why"].as_str().unwrap().is_empty(), "{cgroup}");
        assert_eq!(
            code, 1,
            "a required but unavailable cgroup must fail: {json:#}"
        );
    }
    let text = String::from_utf8(home.doctor(&[]).stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("cgroup "))
        .unwrap_or_else(|| panic!("no cgroup line in {text}"));
    assert!(line.contains("[required]"), "{line}");
}

#[test]
fn required_layers_are_marked_and_decide_the_status() {
    let home = Home::new();
    home.write_config("security:\n  sandbox:\n    require: [landlock, seccomp, rlimits]\n");
    let (code, json) = home.doctor_json();
    let required: Vec<&str> = json["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, ["landlock", "seccomp", "rlimits"]);
    let unavailable: Vec<&str> = ["landlock", "seccomp", "rlimits"]
        .into_iter()
        .filter(|name| layer(&json, name)["state"] != "active")
        .collect();
    if unavailable.is_empty() {
        assert_eq!(code, 0, "{json:#}");
        assert_eq!(json["required_missing"], Value::Array(Vec::new()));
    } else {
        eprintln!("this kernel lacks {unavailable:?}: doctor must fail");
        assert_eq!(code, 1, "{json:#}");
        let missing: Vec<&str> = json["required_missing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["layer"].as_str().unwrap())
            .collect();
        assert_eq!(missing, unavailable);
    }
    let text = String::from_utf8(home.doctor(&[]).stdout).unwrap();
    assert!(text.contains("[required]"), "{text}");
}

#[test]
fn model_file_presence_is_reported() {
    let home = Home::new();
    let model = home.path("m.gguf");
    fs::write(&model, b"GGUF....").unwrap();
    home.write_config(&format!("model:\n  path: {}\n", model.display()));
    let (code, json) = home.doctor_json();
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["model"]["present"], true);
    assert_eq!(json["model"]["size_bytes"], 8);
    assert_eq!(json["model"]["path"], model.display().to_string());
}

#[test]
fn as_root_without_run_as_doctor_fails_and_names_the_key() {
    let home = Home::new();
    let out = home.doctor_without_run_as(&["--json"]).output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(out.status.code(), Some(1), "{json:#}");
        assert_eq!(json["hardening"]["run_as"], "refuse", "{json:#}");
        let problems = json["problems"].to_string();
        assert!(problems.contains("security.run_as"), "{problems}");
    } else {
        eprintln!("not root here: commands run as leash's own user; checking that instead");
        assert_eq!(json["hardening"]["run_as"], "inherit", "{json:#}");
    }
    assert_eq!(json["hardening"]["non_dumpable"], true, "{json:#}");
    assert!(json["hardening"]["cgroups"]["note"].is_string(), "{json:#}");
}
