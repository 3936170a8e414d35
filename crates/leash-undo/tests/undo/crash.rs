//! `kill -9` during a job and during an undo, then undo again: no file is
//! lost and the audit chain verifies. The killed process is this test
//! binary re-run as a child (`child_process`), doing the real work.

use std::process::Child;
use std::time::{Duration, Instant};

use super::*;

const CHILD_ENV: &str = "LEASH_UNDO_TEST_CHILD";
const ROOT_ENV: &str = "LEASH_UNDO_TEST_ROOT";
const FILES: usize = 300;

fn names() -> Vec<String> {
    (0..FILES).map(|i| format!("many/f{i:03}.txt")).collect()
}

fn spawn_child(mode: &str, root: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "crash::child_process",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, mode)
        .env(ROOT_ENV, root)
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn kill9(child: &mut Child) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: plain kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(rc, 0);
    let status = child.wait().unwrap();
    assert!(!status.success());
}

fn seeded(root: &Path) -> Ws {
    let ws = Ws::at(None, root.to_path_buf(), UndoSettings::default());
    for n in names() {
        ws.write(&n, "alpha\n");
    }
    ws
}

/// The work the parent kills: `job` runs a journaled `sed -i` over many files
/// and then waits to be killed before finishing the entry; `undo` undoes job 1.
#[test]
#[ignore = "the child process of the kill -9 tests, run by them"]
fn child_process() {
    let (Ok(mode), Ok(root)) = (std::env::var(CHILD_ENV), std::env::var(ROOT_ENV)) else {
        panic!("run only by the kill -9 tests");
    };
    let ws = Ws::at(None, PathBuf::from(root), UndoSettings::default());
    match mode.as_str() {
        "job" => {
            let names = names();
            let mut argv = vec!["sed", "-i", "s/alpha/beta/"];
            argv.extend(names.iter().map(String::as_str));
            let plan = ws.plan(&argv);
            let ctx = EntryContext {
                job_id: Some(1),
                ..EntryContext::default()
            };
            let _pending = ws.journal.begin(&ctx, &plan, &ws.audit).unwrap();
            let status = Command::new("sed")
                .args(&argv[1..])
                .current_dir(&ws.ws)
                .status()
                .unwrap();
            assert!(status.success());
            std::fs::write(ws.root.join("ran"), "").unwrap();
            std::thread::sleep(Duration::from_secs(120));
        }
        "undo" => {
            ws.undo(Selection::Job(1), false).unwrap();
            std::fs::write(ws.root.join("undone"), "").unwrap();
        }
        other => panic!("unknown child mode {other}"),
    }
}

/// Killed between the journal entry and its finish: the entry stays
/// `not_started`; undo will not guess, `--force` restores every pre-image.
#[test]
fn kill_9_during_a_job_loses_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let before = {
        let ws = seeded(&root);
        ws.tree_hash()
    };
    let mut child = spawn_child("job", &root);
    wait_for("the job's command to run", || root.join("ran").exists());
    kill9(&mut child);
    let ws = Ws::at(None, root.clone(), UndoSettings::default());
    assert_eq!(ws.read("many/f000.txt"), "beta\n");
    let err = ws.undo(Selection::Job(1), false).unwrap_err().to_string();
    assert!(err.contains("interrupted"), "{err}");
    ws.undo(Selection::Job(1), true).unwrap();
    assert_eq!(ws.tree_hash(), before);
    assert!(ws.audit.verify().unwrap().ok);
    drop(dir);
}

/// Killed in the middle of restoring: running undo again finishes the job
/// (paths already back are left alone), and the chain verifies.
#[test]
fn kill_9_during_an_undo_then_undo_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let before = {
        let ws = seeded(&root);
        let before = ws.tree_hash();
        let names = names();
        let mut argv = vec!["sed", "-i", "s/alpha/beta/"];
        argv.extend(names.iter().map(String::as_str));
        ws.run(1, &argv);
        before
    };
    let mut child = spawn_child("undo", &root);
    let ws_dir = root.join("ws");
    let restored = || {
        names()
            .iter()
            .filter(|n| std::fs::read_to_string(ws_dir.join(n)).is_ok_and(|c| c == "alpha\n"))
            .count()
    };
    wait_for("the undo to start restoring", || {
        restored() > 0 || root.join("undone").exists()
    });
    kill9(&mut child);
    let at_kill = restored();
    eprintln!("killed the undo with {at_kill} of {FILES} files restored");
    let ws = Ws::at(None, root.clone(), UndoSettings::default());
    ws.undo(Selection::Job(1), false).unwrap();
    assert_eq!(ws.tree_hash(), before);
    assert!(ws.audit.verify().unwrap().ok);
    drop(dir);
}
