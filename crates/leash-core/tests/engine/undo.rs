//! The rollback journal in the real pipeline: every file action and a
//! journaled `run` go through policy → gate → journal → sandbox, and
//! `leash undo` (the library call behind it) puts the workspace back.

use std::collections::BTreeMap;
use std::sync::Mutex;

use leash_core::agent::{ActionScope, perform};
use leash_core::approval::{ApprovalOutcome, ApprovalRequest, Approver, NoApprover};
use leash_llm::{Action, FileWrite, Transfer};
use leash_undo::{Selection, UndoOptions};

use super::*;

const WHITELIST: &str = "  whitelist: [sed, cp, mv, mkdir, tee, make, cat]\n";

/// Every file in the workspace (leash's own `.leash` left out): content and mode.
fn files(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if rel.starts_with(".leash") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode();
            if meta.is_dir() {
                stack.push(path);
                out.insert(rel, (Vec::new(), mode));
            } else {
                out.insert(rel, (std::fs::read(&path).unwrap(), mode));
            }
        }
    }
    out
}

#[test]
fn every_file_action_of_a_job_is_undone() {
    let fx = Fixture::new();
    let ws = fx.workspace();
    std::fs::write(ws.join("a.txt"), "hello\n").unwrap();
    std::fs::write(ws.join("b.txt"), "bee\n").unwrap();
    std::fs::write(ws.join("gone.txt"), "delete me\n").unwrap();
    let engine = fx.engine(WHITELIST);
    let ws = engine.workspace.clone();
    let before = files(&ws);
    let approver = NoApprover { why: "test".into() };
    let params = engine.default_params();
    let runner = engine.runner(&params, &approver);
    let scope = ActionScope {
        workspace: ws.clone(),
        job_id: Some(5),
        trash_tag: "job-5".into(),
    };
    let actions = [
        Action::WriteFile(FileWrite {
            path: "a.txt".into(),
            content: "rewritten\n".into(),
        }),
        Action::WriteFile(FileWrite {
            path: "new.txt".into(),
            content: "new\n".into(),
        }),
        Action::Mkdir("made/deeper".into()),
        Action::Copy(Transfer {
            from: "b.txt".into(),
            to: "made/b-copy.txt".into(),
        }),
        Action::Move(Transfer {
            from: "b.txt".into(),
            to: "moved.txt".into(),
        }),
        Action::Delete("gone.txt".into()),
        Action::Run {
            argv: vec![
                "sed".into(),
                "-i".into(),
                "s/new/NEW/".into(),
                "new.txt".into(),
            ],
            cwd: None,
        },
    ];
    for (n, action) in actions.iter().enumerate() {
        let result = perform(&runner, &scope, action, 1, n, &mut |_| {}).unwrap();
        let ran = match &result {
            leash_core::agent::ActionResult::Command { report, .. } => report.outcome().is_some(),
            leash_core::agent::ActionResult::FileWrite { written, .. } => written.is_ok(),
            other => panic!("unexpected {other:?}"),
        };
        assert!(ran, "action {n} did not run: {result:?}");
    }
    assert_ne!(files(&ws), before);
    let changes = engine.journal.changes(5).unwrap();
    assert_eq!(changes.len(), actions.len(), "{changes:#?}");
    assert!(changes.iter().all(|c| c.undoable == "yes"), "{changes:#?}");
    assert_eq!(changes.last().unwrap().step, Some(1));
    let report = leash_undo::undo(
        &engine.journal,
        &engine.audit,
        Selection::Job(5),
        &UndoOptions {
            dry_run: false,
            force: false,
            roots: vec![ws.clone()],
        },
    )
    .unwrap();
    assert_eq!(report.entries.len(), actions.len());
    assert_eq!(files(&ws), before);
    let kinds: Vec<String> = engine
        .audit
        .all()
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    for kind in ["undo.journaled", "undo.started", "undo.restored"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    assert!(engine.audit.verify().unwrap().ok);
}

/// Records what a person is asked, and says no.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<ApprovalRequest>>);

impl Approver for Recorder {
    fn ask(&self, request: &ApprovalRequest) -> ApprovalOutcome {
        self.0.lock().unwrap().push(request.clone());
        ApprovalOutcome::Unavailable {
            why: "recorded".into(),
        }
    }
}

/// The class is in the approval prompt and the decision record; with
/// `undo.approve_irreversible` an irreversible command asks even in
/// auto-approve mode, while a reversible one just runs.
#[test]
fn irreversible_commands_are_shown_and_can_require_approval() {
    let fx = Fixture::new();
    let engine = fx.engine(&format!("{WHITELIST}undo:\n  approve_irreversible: true\n"));
    let recorder = Recorder::default();
    let job = engine.default_params();
    let runner = engine.runner(&job, &recorder);
    let request = |argv: &[&str]| CommandRequest {
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
        cwd: engine.workspace.clone(),
        job_id: None,
    };
    let make = runner.run(&request(&["make", "--version"])).unwrap();
    assert!(
        make.outcome().is_none(),
        "an irreversible command ran unasked"
    );
    let asked = recorder.0.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert!(
        asked[0].reason.contains("IRREVERSIBLE"),
        "{}",
        asked[0].reason
    );
    let cat = runner.run(&request(&["cat", "/dev/null"])).unwrap();
    assert!(
        cat.outcome().is_some(),
        "a command that writes nothing is reversible"
    );
    let decisions: Vec<_> = engine
        .audit
        .all()
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "command.decision")
        .collect();
    assert_eq!(decisions[0].payload["undo"]["class"], "irreversible");
    assert_eq!(decisions[1].payload["undo"]["class"], "reversible");
}

/// Runs one `write_file` of job `job` through the real pipeline.
fn write_file(engine: &leash_core::Engine, job: i64, path: &str, content: &str) {
    let approver = NoApprover { why: "test".into() };
    let params = engine.default_params();
    let runner = engine.runner(&params, &approver);
    let scope = ActionScope {
        workspace: engine.workspace.clone(),
        job_id: Some(job),
        trash_tag: format!("job-{job}"),
    };
    let action = Action::WriteFile(FileWrite {
        path: path.into(),
        content: content.into(),
    });
    let result = perform(&runner, &scope, &action, 1, 0, &mut |_| {}).unwrap();
    match result {
        leash_core::agent::ActionResult::FileWrite { written, .. } => {
            assert!(written.is_ok(), "{path} not written: {written:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

fn undo_job(
    engine: &leash_core::Engine,
    job: i64,
    force: bool,
) -> Result<leash_undo::UndoReport, leash_undo::UndoError> {
    leash_undo::undo(
        &engine.journal,
        &engine.audit,
        Selection::Job(job),
        &UndoOptions {
            dry_run: false,
            force,
            roots: vec![engine.workspace.clone()],
        },
    )
}

/// Class `write-file-replaces-a-symlink`: leash's atomic write renames over
/// the path, so a symlink there becomes a regular file (the link's target is
/// untouched). Undo must put the symlink back, not leave the regular file.
#[test]
fn write_file_over_a_symlink_is_undone_to_the_symlink() {
    let fx = Fixture::new();
    let ws = fx.workspace();
    std::fs::create_dir_all(ws.join("real")).unwrap();
    std::fs::write(ws.join("real/file.txt"), "v1\n").unwrap();
    std::os::unix::fs::symlink("real/file.txt", ws.join("link.txt")).unwrap();
    let engine = fx.engine(WHITELIST);
    let ws = engine.workspace.clone();
    write_file(&engine, 7, "link.txt", "v2\n");
    let meta = std::fs::symlink_metadata(ws.join("link.txt")).unwrap();
    assert!(meta.is_file(), "the write should replace the link");
    assert_eq!(
        std::fs::read_to_string(ws.join("real/file.txt")).unwrap(),
        "v1\n"
    );
    undo_job(&engine, 7, false).unwrap();
    assert_eq!(
        std::fs::read_link(ws.join("link.txt")).unwrap(),
        Path::new("real/file.txt"),
        "undo must put the symlink back"
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("real/file.txt")).unwrap(),
        "v1\n"
    );
    assert!(engine.audit.verify().unwrap().ok);
}

/// Class `symlink-planted-after-the-write`: after a `write_file`, the file
/// is swapped for a symlink to a file outside the workspace. Undo refuses
/// (changed since); forced, it replaces the planted link and never writes
/// through it. A directory on the path swapped for a symlink is refused
/// even forced.
#[test]
fn undo_of_write_file_never_follows_a_planted_symlink() {
    let fx = Fixture::new();
    let ws = fx.workspace();
    std::fs::write(ws.join("a.txt"), "v1\n").unwrap();
    std::fs::create_dir_all(ws.join("sub")).unwrap();
    std::fs::write(ws.join("sub/b.txt"), "b1\n").unwrap();
    let outside = fx.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "keep\n").unwrap();
    std::fs::write(outside.join("b.txt"), "keep b\n").unwrap();
    let engine = fx.engine(WHITELIST);
    let ws = engine.workspace.clone();

    write_file(&engine, 8, "a.txt", "v2\n");
    std::fs::remove_file(ws.join("a.txt")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), ws.join("a.txt")).unwrap();
    let err = undo_job(&engine, 8, false).unwrap_err();
    assert!(
        matches!(err, leash_undo::UndoError::Changed { .. }),
        "{err}"
    );
    undo_job(&engine, 8, true).unwrap();
    assert_eq!(
        std::fs::read_to_string(outside.join("secret.txt")).unwrap(),
        "keep\n"
    );
    assert!(
        std::fs::symlink_metadata(ws.join("a.txt"))
            .unwrap()
            .is_file()
    );
    assert_eq!(std::fs::read_to_string(ws.join("a.txt")).unwrap(), "v1\n");

    write_file(&engine, 9, "sub/b.txt", "b2\n");
    std::fs::rename(ws.join("sub"), ws.join("sub-moved")).unwrap();
    std::os::unix::fs::symlink(&outside, ws.join("sub")).unwrap();
    for force in [false, true] {
        let err = undo_job(&engine, 9, force).unwrap_err();
        assert!(matches!(err, leash_undo::UndoError::Unsafe { .. }), "{err}");
    }
    assert_eq!(
        std::fs::read_to_string(outside.join("b.txt")).unwrap(),
        "keep b\n"
    );
    assert!(engine.audit.verify().unwrap().ok);
}
