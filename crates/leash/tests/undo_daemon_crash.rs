//! `kill -9` of the real daemon in the middle of a journaled job, then a
//! restart: `leash undo JOB` puts every file the job changed back exactly
//! (content, mode, modification time; a created file and directory removed)
//! and `leash audit verify` passes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::daemon::{DaemonProcess, free_port, is_terminal, job_states, wait_for};
use common::{TestHome, text};

/// Every entry under `root` (relative path → kind, content, mode, mtime).
/// Directory mtimes are checked apart (undo restores the mtime of a
/// target's directory, not of directories inside a recursive target).
fn tree(root: &Path) -> BTreeMap<PathBuf, (String, Vec<u8>, u32, i64, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode();
            let row = if meta.is_dir() {
                stack.push(path);
                ("dir".to_owned(), Vec::new(), mode, 0, 0)
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                let bytes = target.into_os_string().into_encoded_bytes();
                ("symlink".to_owned(), bytes, 0, 0, 0)
            } else {
                let content = std::fs::read(&path).unwrap();
                (
                    "file".to_owned(),
                    content,
                    mode,
                    meta.mtime(),
                    meta.mtime_nsec(),
                )
            };
            out.insert(rel, row);
        }
    }
    out
}

const TRANSCRIPT: &str = r#"play: by_expect
responses:
  - text: '{"actions": [{"write_file": {"path": "work/a.txt", "content": "A2\n"}}, {"write_file": {"path": "work/link.txt", "content": "through the link\n"}}, {"write_file": {"path": "work/new.txt", "content": "new\n"}}, {"run": ["sed", "-i", "s/c1/c2/", "work/c.txt"]}, {"mkdir": "work/made"}, {"run": ["sleep", "30"]}, {"write_file": {"path": "work/never.txt", "content": "never\n"}}], "done": true}'
"#;

const CONFIG: &str = r#"model:
  backend: replay
  transcript: transcript.yaml
security:
  execution_mode: auto-approve
  workspace: .
  whitelist: [sed, sleep, mkdir]
monitoring:
  watch_directories: [drop]
  watch_patterns: ["*.task"]
  settle_ms: 100
agent:
  max_steps: 2
  min_free_memory_mb: 0
daemon:
  # The interrupted job is not run again: undo must see exactly what the
  # killed run left.
  requeue_interrupted: 0
  shutdown_grace_s: 5
logging:
  level: warn
"#;

#[test]
fn kill9_mid_job_then_undo_restores_exactly_and_the_audit_verifies() {
    let home = TestHome::new();
    let dir = home.root().join("job");
    let work = dir.join("work");
    std::fs::create_dir_all(dir.join("drop")).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(dir.join("transcript.yaml"), TRANSCRIPT).unwrap();
    std::fs::write(dir.join("config.yaml"), CONFIG).unwrap();
    std::fs::write(work.join("a.txt"), "A1\n").unwrap();
    std::fs::set_permissions(work.join("a.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::write(work.join("c.txt"), "c1\n").unwrap();
    std::fs::write(work.join("real.txt"), "real\n").unwrap();
    std::os::unix::fs::symlink("real.txt", work.join("link.txt")).unwrap();
    home.hand_over(&dir);
    // Distinct, old mtimes: a restore that forgot them would show.
    for name in ["a.txt", "c.txt", "real.txt"] {
        let file = std::fs::File::options()
            .write(true)
            .open(work.join(name))
            .unwrap();
        file.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000))
            .unwrap();
    }
    let before = tree(&work);
    let dir_mtime = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (m.mtime(), m.mtime_nsec())
    };
    let work_mtime = dir_mtime(&work);

    let config = dir.join("config.yaml");
    let port = format!("api.listen=127.0.0.1:{}", free_port());
    let daemon = DaemonProcess::start(&home, &config, &["--set", &port]);
    std::fs::write(dir.join("drop/undo.task"), "change the work files\n").unwrap();
    let sleeping = wait_for(Duration::from_secs(120), || {
        home.audit_records().iter().any(|r| {
            r["kind"] == "command.started"
                && r["payload"]["argv"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|w| w == "sleep"))
        })
    });
    assert!(
        sleeping,
        "the job never reached its sleep\n{}",
        daemon.stderr()
    );
    assert_ne!(tree(&work), before, "the job changed nothing");
    daemon.kill9();

    let daemon = DaemonProcess::start(&home, &config, &["--set", &port]);
    let ended = wait_for(Duration::from_secs(60), || {
        let jobs = job_states(&home);
        !jobs.is_empty() && jobs.iter().all(|(_, s)| is_terminal(s))
    });
    assert!(ended, "{:?}\n{}", job_states(&home), daemon.stderr());
    assert_eq!(daemon.stop(), 0);
    let jobs = job_states(&home);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let (job, state) = &jobs[0];
    assert_eq!(state, "interrupted", "the killed job must not run again");
    assert!(!work.join("never.txt").exists(), "ran past the kill");

    let undo = home.run(&[
        "--config",
        config.to_str().unwrap(),
        "--json",
        "undo",
        &job.to_string(),
    ]);
    assert_eq!(
        undo.status.code(),
        Some(0),
        "{}\n{}",
        text(&undo.stdout),
        text(&undo.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&undo.stdout).unwrap();
    let restored = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == "restored")
        .count();
    assert_eq!(restored, 5, "{report:#}");
    assert_eq!(
        tree(&work),
        before,
        "undo must put the work dir back exactly"
    );
    assert_eq!(
        dir_mtime(&work),
        work_mtime,
        "the directory's modification time is put back too"
    );
    let verify = home.run(&["--config", config.to_str().unwrap(), "audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}\n{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
}
