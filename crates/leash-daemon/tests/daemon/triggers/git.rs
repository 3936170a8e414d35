//! Git triggers against real repositories: baseline on first start, one job
//! per new tip with stat and diff, no repository code run, catch-up at start.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use leash_daemon::DaemonContext;

use leash_store::TriggerSource;

use super::{Running, jobs, wait_for, wait_for_jobs};
use crate::support::TestDaemonHome;

/// Runs the test's own git (hooks and fsmonitor off, a fixed identity).
fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", repo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn git_available() -> bool {
    Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A repository with one commit on `main`, and a context with a git trigger on it.
fn git_home(extra: &str) -> Option<(TestDaemonHome, PathBuf, Arc<DaemonContext>)> {
    if !git_available() {
        eprintln!("skipped: git is not installed");
        return None;
    }
    let home = TestDaemonHome::new();
    let repo = home.root().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.txt"), "hello\n").unwrap();
    git(&repo, &["add", "README.txt"]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    let loaded = home.load(&format!(
        "triggers:\n  - name: review\n    kind: git\n    repo: {}\n    prompt: \"Review the new commits.\"\n{extra}",
        repo.display()
    ));
    let ctx = home.context(loaded);
    Some((home, repo, ctx))
}

fn git_mark(ctx: &DaemonContext) -> Option<String> {
    ctx.with_store(|s| s.git_mark("review")).unwrap()
}

#[test]
fn the_first_start_records_the_tip_without_a_job_and_a_restart_fires_nothing() {
    let Some((_home, repo, ctx)) = git_home("") else {
        return;
    };
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let mut running = Running::start(Arc::clone(&ctx));
    assert!(wait_for(Duration::from_secs(5), || git_mark(&ctx)
        .as_deref()
        == Some(head.as_str())));
    std::thread::sleep(Duration::from_millis(300));
    running.stop();
    assert!(jobs(&ctx).is_empty());

    // A restart with the mark at the tip: still nothing.
    let ctx2 = _home.context(ctx.loaded.clone());
    drop(running);
    let _running2 = Running::start(Arc::clone(&ctx2));
    std::thread::sleep(Duration::from_millis(500));
    assert!(jobs(&ctx2).is_empty());
}

#[test]
fn a_new_commit_fires_once_with_its_stat_and_diff_and_runs_no_repository_code() {
    let Some((home, repo, ctx)) = git_home("") else {
        return;
    };
    // Everything in the repository that could run code when leash reads it.
    let markers = home.root().join("markers");
    std::fs::create_dir_all(&markers).unwrap();
    let script = |name: &str| {
        let path = home.root().join(format!("{name}.sh"));
        std::fs::write(
            &path,
            format!("#!/bin/sh\ntouch {}/{name}\n", markers.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    };
    for hook in [
        "post-checkout",
        "post-commit",
        "pre-commit",
        "reference-transaction",
        "post-index-change",
        "pre-auto-gc",
    ] {
        let path = repo.join(".git/hooks").join(hook);
        std::fs::copy(script(hook), &path).unwrap();
    }
    git(&repo, &["config", "core.fsmonitor", &script("fsmonitor")]);
    git(
        &repo,
        &["config", "diff.external", &script("diff-external")],
    );
    git(
        &repo,
        &["config", "diff.evil.textconv", &script("textconv")],
    );
    git(&repo, &["config", "core.pager", &script("pager")]);
    std::fs::write(repo.join(".gitattributes"), "*.txt diff=evil\n").unwrap();
    git(&repo, &["add", ".gitattributes"]);
    git(&repo, &["commit", "-q", "-m", "attributes"]);

    let _running = Running::start(Arc::clone(&ctx));
    let first_tip = git(&repo, &["rev-parse", "HEAD"]);
    assert!(wait_for(Duration::from_secs(5), || git_mark(&ctx)
        .as_deref()
        == Some(first_tip.as_str())));

    std::fs::write(repo.join("notes.txt"), "a new line\n").unwrap();
    git(&repo, &["add", "notes.txt"]);
    git(&repo, &["commit", "-q", "-m", "add notes"]);
    let new_tip = git(&repo, &["rev-parse", "HEAD"]);

    let job = wait_for_jobs(&ctx, 1).remove(0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(jobs(&ctx).len(), 1, "one commit, one job");
    assert_eq!(job.trigger_kind, TriggerSource::Git);
    assert_eq!(
        job.dedup_key.as_deref(),
        Some(format!("git:review:{new_tip}").as_str())
    );
    assert!(job.prompt.starts_with("Review the new commits."));
    assert!(
        !job.prompt.contains("add notes"),
        "commit text is untrusted: {}",
        job.prompt
    );
    let text = job.payload.as_ref().unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("add notes"), "{text}");
    assert!(text.contains("notes.txt | 1 +"), "stat missing: {text}");
    assert!(text.contains("+a new line"), "diff missing: {text}");
    assert_eq!(git_mark(&ctx).as_deref(), Some(new_tip.as_str()));

    let ran: Vec<_> = std::fs::read_dir(&markers)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(ran.is_empty(), "repository code ran: {ran:?}");
    // Control: the planted diff driver does run for a plain git diff, so the
    // assertion above could fail.
    let _ = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["diff", "HEAD~1", "HEAD"])
        .env("HOME", &repo)
        .output()
        .unwrap();
    assert!(
        markers.join("diff-external").exists(),
        "control: diff.external did not run"
    );
}

#[test]
fn commits_made_while_the_daemon_was_down_are_reported_at_start() {
    let Some((_home, repo, ctx)) = git_home("    poll_interval_s: 60\n") else {
        return;
    };
    let old = git(&repo, &["rev-parse", "HEAD"]);
    ctx.with_store(|s| s.set_git_mark("review", &old)).unwrap();
    std::fs::write(repo.join("README.txt"), "hello\nworld\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "while down"]);
    let new = git(&repo, &["rev-parse", "HEAD"]);

    let _running = Running::start(Arc::clone(&ctx));
    let job = wait_for_jobs(&ctx, 1).remove(0);
    let text = job.payload.as_ref().unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains(&format!("git diff {old}..{new}")), "{text}");
    assert!(text.contains("+world"), "{text}");
    assert!(wait_for(Duration::from_secs(5), || git_mark(&ctx)
        .as_deref()
        == Some(new.as_str())));
}
