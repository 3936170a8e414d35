//! The seed's four use cases (examples/*) end to end against the real binary:
//! `leash daemon` with each example's config and recorded model transcript
//! (the replay backend), real triggers (inotify, git commits, the scheduler),
//! real approvals through the API and the CLI, real commands in the sandbox.
//! Each test checks the files, job states and audit records the example
//! leaves, and that `leash audit verify` passes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::daemon::{
    DaemonProcess, copy_example, free_port, is_terminal, job_states, pending_approvals, wait_for,
};
use common::{TestHome, text};

/// An example copied into a fresh home, with its own API port.
struct Example {
    home: TestHome,
    dir: PathBuf,
    port: String,
}

impl Example {
    fn new(name: &str) -> Example {
        let home = TestHome::new();
        let dir = home.root().join(name);
        copy_example(name, &dir);
        // As root, the example's files belong to the run_as user, as
        // `leash init --workspace` would arrange.
        home.hand_over(&dir);
        Example {
            home,
            dir,
            port: format!("api.listen=127.0.0.1:{}", free_port()),
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.join("config.yaml")
    }

    fn start(&self) -> DaemonProcess {
        DaemonProcess::start(&self.home, &self.config(), &["--set", &self.port])
    }

    /// `leash --config CONFIG --set api.listen=… ARGS…`.
    fn cli(&self, args: &[&str]) -> std::process::Output {
        let config = self.config();
        let mut all = vec!["--config", config.to_str().unwrap(), "--set", &self.port];
        all.extend_from_slice(args);
        self.home.run(&all)
    }

    fn wait_jobs_terminal(&self, daemon: &DaemonProcess, count: usize) -> Vec<(i64, String)> {
        let ok = wait_for(Duration::from_secs(60), || {
            let jobs = job_states(&self.home);
            jobs.len() >= count && jobs.iter().all(|(_, s)| is_terminal(s))
        });
        let jobs = job_states(&self.home);
        assert!(
            ok,
            "jobs did not end: {jobs:?}\ndaemon stderr:\n{}",
            daemon.stderr()
        );
        jobs
    }

    fn audit_kinds_for(&self, job: i64) -> Vec<String> {
        self.home
            .audit_records()
            .iter()
            .filter(|r| r["job_id"] == job)
            .map(|r| r["kind"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn deploy_waits_for_approval_then_deploys_and_files_the_flag_as_done() {
    let ex = Example::new("deploy");
    let daemon = ex.start();
    std::fs::write(ex.dir.join("triggers/deploy.flag"), "").unwrap();
    // The approval row and the job's `waiting_approval` state are two commits:
    // wait for both, or the state check below races the second one.
    assert!(
        wait_for(Duration::from_secs(30), || {
            !pending_approvals(&ex.home).is_empty()
                && job_states(&ex.home)
                    .iter()
                    .any(|(_, state)| state == "waiting_approval")
        }),
        "no approval was requested; jobs {:?}\n{}",
        job_states(&ex.home),
        daemon.stderr()
    );
    let jobs = job_states(&ex.home);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].1, "waiting_approval");
    // Nothing was deployed before the person answered.
    assert_eq!(
        read(&ex.dir.join("site/index.html")),
        "<h1>release 41</h1>\n"
    );
    let approval = pending_approvals(&ex.home)[0].to_string();
    let out = ex.cli(&["approve", &approval]);
    assert!(out.status.success(), "approve: {}", text(&out.stderr));

    let jobs = ex.wait_jobs_terminal(&daemon, 1);
    assert_eq!(jobs[0].1, "done", "{}", daemon.stderr());
    assert_eq!(
        read(&ex.dir.join("site/index.html")),
        "<h1>release 42</h1>\n"
    );
    assert_eq!(
        read(&ex.dir.join("deploy.log")),
        "deployed build/ to site/\n"
    );
    let done = ex.dir.join("triggers/.leash/done");
    // The job's end state is committed before its trigger file is filed (the
    // filing records the new path against the ended job): wait for the result
    // file, the filing's last step.
    assert!(
        wait_for(Duration::from_secs(30), || done
            .join("deploy.flag.result.json")
            .exists()),
        "flag not filed in done/"
    );
    assert!(done.join("deploy.flag").exists(), "flag not in done/");
    let result: serde_json::Value =
        serde_json::from_str(&read(&done.join("deploy.flag.result.json"))).unwrap();
    assert_eq!(result["state"], "done", "{result}");
    assert_eq!(result["result"]["end"], "done", "{result}");
    assert!(!ex.dir.join("triggers/deploy.flag").exists());

    let kinds = ex.audit_kinds_for(jobs[0].0);
    for kind in [
        "job.queued",
        "approval.requested",
        "approval.pending",
        "approval.answered",
        "command.started",
        "command.finished",
        "file.written",
        "job.finished",
    ] {
        assert!(
            kinds.contains(&kind.to_owned()),
            "missing {kind}: {kinds:?}"
        );
    }
    assert_eq!(daemon.stop(), 0);
    ex.home.assert_audit_verifies();
}

#[test]
fn deploy_denied_copies_nothing() {
    let ex = Example::new("deploy");
    let daemon = ex.start();
    std::fs::write(ex.dir.join("triggers/deploy.flag"), "").unwrap();
    assert!(wait_for(Duration::from_secs(30), || !pending_approvals(
        &ex.home
    )
    .is_empty()));
    let approval = pending_approvals(&ex.home)[0].to_string();
    let out = ex.cli(&["deny", &approval]);
    assert!(out.status.success(), "deny: {}", text(&out.stderr));
    let jobs = ex.wait_jobs_terminal(&daemon, 1);
    assert_eq!(
        read(&ex.dir.join("site/index.html")),
        "<h1>release 41</h1>\n"
    );
    let kinds = ex.audit_kinds_for(jobs[0].0);
    assert!(!kinds.contains(&"command.started".to_owned()), "{kinds:?}");
    assert_eq!(daemon.stop(), 0);
    ex.home.assert_audit_verifies();
}

#[test]
fn code_review_runs_the_linter_on_a_new_commit_and_writes_the_review() {
    let ex = Example::new("code-review");
    let setup = std::process::Command::new("sh")
        .arg(ex.dir.join("make-demo-repo.sh"))
        .output()
        .unwrap();
    assert!(setup.status.success(), "{}", text(&setup.stderr));
    let daemon = ex.start();
    // The first start only remembers main's head: no job for old commits.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        job_states(&ex.home).is_empty(),
        "{:?}",
        job_states(&ex.home)
    );

    std::fs::write(
        ex.dir.join("repo/src/calc.py"),
        "def add(a, b):\n    return a + b\n\ndef sub(a, b):  \n    return a - b  # TODO: tests\n",
    )
    .unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(ex.dir.join("repo"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    };
    git(&["commit", "-qam", "calc: sub"]);

    let jobs = ex.wait_jobs_terminal(&daemon, 1);
    assert_eq!(jobs.len(), 1, "one commit, one review: {jobs:?}");
    assert_eq!(jobs[0].1, "done", "{}", daemon.stderr());
    assert!(read(&ex.dir.join("reviews/latest.md")).starts_with("# Review"));
    let records = ex.home.audit_records();
    let linter_ran = records.iter().any(|r| {
        r["kind"] == "command.started" && r["payload"]["argv"].to_string().contains("--check")
    });
    assert!(linter_ran, "the linter did not run");
    assert_eq!(daemon.stop(), 0);
    ex.home.assert_audit_verifies();
}

#[test]
fn system_check_runs_once_for_a_missed_hour_and_writes_an_alert() {
    let ex = Example::new("system-check");
    // First start: the trigger has no last run yet.
    let daemon = ex.start();
    assert_eq!(daemon.stop(), 0);
    // Pretend the last run was three hours ago (the daemon was down since).
    let conn = rusqlite::Connection::open(common::daemon::database(&ex.home)).unwrap();
    let three_hours_ago = jiff_like_hours_ago(3);
    conn.execute(
        "INSERT INTO schedule_marks (trigger_name, last_run) VALUES ('hourly-check', ?1) \
         ON CONFLICT (trigger_name) DO UPDATE SET last_run = excluded.last_run",
        [three_hours_ago],
    )
    .unwrap();
    drop(conn);

    let daemon = ex.start();
    let jobs = ex.wait_jobs_terminal(&daemon, 1);
    std::thread::sleep(Duration::from_millis(300));
    let jobs_after = job_states(&ex.home);
    assert_eq!(
        jobs_after.len(),
        1,
        "missed runs are run once, not three times: {jobs_after:?}"
    );
    assert_eq!(jobs[0].1, "done", "{}", daemon.stderr());
    assert!(read(&ex.dir.join("alerts/ALERT.txt")).starts_with("ALERT"));
    let records = ex.home.audit_records();
    for program in ["df", "free", "tail", "grep"] {
        assert!(
            records
                .iter()
                .any(|r| r["kind"] == "command.started" && r["payload"]["argv"][0] == program),
            "{program} did not run"
        );
    }
    assert_eq!(daemon.stop(), 0);
    ex.home.assert_audit_verifies();
}

/// An RFC 3339 UTC timestamp `hours` ago (via `date`, to keep the test's
/// dependencies small).
fn jiff_like_hours_ago(hours: u32) -> String {
    let out = std::process::Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("{hours} hours ago"),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .unwrap();
    text(&out.stdout).trim().to_owned()
}

#[test]
fn inbox_task_sorts_files_into_category_folders_and_records_every_move() {
    let ex = Example::new("inbox");
    let inbox_before = files_in(&ex.dir.join("inbox"));
    let daemon = ex.start();
    std::fs::write(ex.dir.join("triggers/today.task"), "sort everything\n").unwrap();
    let jobs = ex.wait_jobs_terminal(&daemon, 1);
    assert_eq!(jobs[0].1, "done", "{}", daemon.stderr());
    for (from, to) in [
        ("invoice.pdf", "sorted/documents/invoice.pdf"),
        ("notes.txt", "sorted/documents/notes.txt"),
        ("cat.jpg", "sorted/images/cat.jpg"),
    ] {
        assert!(ex.dir.join(to).is_file(), "{to} missing");
        assert!(
            !ex.dir.join("inbox").join(from).exists(),
            "{from} still in inbox"
        );
    }
    // Every move is in the audit log with its source and destination (undo).
    let records = ex.home.audit_records();
    let moves: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["kind"] == "command.started" && r["payload"]["argv"][0] == "mv")
        .collect();
    assert_eq!(moves.len(), 3, "{moves:?}");
    let filed = ex.dir.join("triggers/.leash/done/today.task");
    // Filed just after the job's end state is committed (see the deploy test).
    assert!(
        wait_for(Duration::from_secs(30), || filed
            .with_file_name("today.task.result.json")
            .exists()),
        "task file not filed in done/"
    );
    assert!(filed.exists());
    assert_eq!(daemon.stop(), 0);
    // `leash undo JOB` puts the inbox back exactly and removes what the job made.
    let undo = ex.cli(&["undo", &jobs[0].0.to_string()]);
    assert!(
        undo.status.success(),
        "{}{}",
        text(&undo.stdout),
        text(&undo.stderr)
    );
    assert_eq!(files_in(&ex.dir.join("inbox")), inbox_before);
    assert!(
        !ex.dir.join("sorted").exists(),
        "the job's folders were not removed"
    );
    ex.home.assert_audit_verifies();
}

/// Every file below `dir`: relative path → content.
fn files_in(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for (rel, content) in files_in(&path) {
                out.insert(Path::new(path.file_name().unwrap()).join(rel), content);
            }
        } else {
            out.insert(
                PathBuf::from(path.file_name().unwrap()),
                std::fs::read(&path).unwrap(),
            );
        }
    }
    out
}

#[test]
fn every_example_config_is_valid() {
    let home = TestHome::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in [
        "deploy",
        "code-review",
        "system-check",
        "inbox",
        "termux",
        "battery-low",
    ] {
        let config = examples.join(name).join("config.yaml");
        let out = home.run(&["config", "check", config.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{name}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}
