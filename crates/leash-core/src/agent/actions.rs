//! Carrying out one proposed action, on the leash.
//!
//! A `run` is judged by the policy as its argv; the file actions are judged
//! as what they are (a write, a move, a copy of these paths:
//! `leash_policy::FileAction`), so no program has to be whitelisted for them.
//! Then the same modes, approvals and audit records apply to every action:
//!
//! | action       | judged as                 | carried out (in the sandbox) as |
//! |--------------|---------------------------|---------------------------------|
//! | `run`        | its argv, in `cwd` inside the workspace | the same argv      |
//! | `mkdir`      | a write of DIR            | `mkdir -p -- DIR`               |
//! | `move`       | a move of FROM to TO      | `mv -- FROM TO`                 |
//! | `copy`       | a copy of FROM to TO      | `cp -- FROM TO`                 |
//! | `delete`     | a move of PATH to the trash | `mv -- PATH .leash/trash/…` (undoable) |
//! | `write_file` | a write of PATH           | leash writes the content itself, atomically (recorded as `tee -- PATH`) |
//! | `notify`     | nothing to judge          | recorded and shown              |
//!
//! `write_file` is the one action leash performs in-process: the content
//! would otherwise have to reach the sandboxed child through stdin, which the
//! sandbox fixes to `/dev/null`. The write goes to a temp file in the same
//! directory and is renamed into place, so a symlink at the target is replaced,
//! never followed.

use leash_store::AuditKind;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use leash_llm::Action;
use leash_policy::FileAction;
use leash_store::AuditEntry;
use leash_undo::Barrier;
use serde_json::json;

use crate::command_runner::{CommandReport, CommandRequest, CommandRunner, Judged};
use crate::error::EngineError;

/// What became of one action.
#[derive(Debug)]
pub enum ActionResult {
    /// The action went through the command pipeline (run, mkdir, move, copy,
    /// delete): its report says whether and how it ran.
    Command {
        /// The argv the action became (what the policy judged).
        argv: Vec<String>,
        /// What happened to it.
        report: CommandReport,
    },
    /// `write_file`: judged like a command; `written` says whether leash wrote it.
    FileWrite {
        /// The file, resolved against the workspace.
        path: PathBuf,
        /// The judgement of the write (as for a command).
        report: CommandReport,
        /// Bytes written, or why the write failed.
        written: Result<usize, String>,
    },
    /// `notify`: shown to the person.
    Notified(String),
    /// The action could not even be judged (a `cwd` outside the workspace).
    Rejected {
        /// What is wrong with it (told to the model).
        why: String,
    },
}

/// Where the actions of one job run.
#[derive(Debug, Clone)]
pub struct ActionScope {
    /// The job's workspace: relative paths of file actions resolve here.
    pub workspace: PathBuf,
    /// The job, for audit records and the undo journal.
    pub job_id: Option<i64>,
    /// A per-job name for trash directories (e.g. `job-12`).
    pub trash_tag: String,
}

/// Carries out `action` (index `n` of step `step`).
pub fn perform(
    runner: &CommandRunner<'_>,
    scope: &ActionScope,
    action: &Action,
    step: u32,
    n: usize,
    on_notify: &mut dyn FnMut(&str),
) -> Result<ActionResult, EngineError> {
    // Journal entries of this action name its step and place in the step.
    if let Some(journal) = runner.journal {
        journal.set_action(step, u32::try_from(n).unwrap_or(u32::MAX));
    }
    let as_text = |p: &Path| p.to_string_lossy().into_owned();
    let command = |argv: Vec<String>, cwd: PathBuf| -> Result<ActionResult, EngineError> {
        let report = runner.run(&CommandRequest {
            argv: argv.clone(),
            cwd,
            job_id: scope.job_id,
        })?;
        Ok(ActionResult::Command { argv, report })
    };
    // A file action: judged as itself, carried out by its carrier argv.
    let file_command = |action: FileAction<'_>| -> Result<ActionResult, EngineError> {
        let verdict = runner.policy.check_file_action(&action, &scope.workspace);
        let argv = action.carrier().unwrap_or_default();
        let request = CommandRequest {
            argv: argv.clone(),
            cwd: scope.workspace.clone(),
            job_id: scope.job_id,
        };
        let report = match runner.judge_verdict(&request, verdict)? {
            Judged::Cleared(cleared) => runner.execute(cleared)?,
            Judged::Stopped(report) => report,
        };
        Ok(ActionResult::Command { argv, report })
    };
    match action {
        Action::Run { argv, cwd } => {
            let dir = match cwd {
                None => scope.workspace.clone(),
                Some(sub) => match inside_workspace(&scope.workspace, sub) {
                    Ok(dir) => dir,
                    Err(why) => return Ok(ActionResult::Rejected { why }),
                },
            };
            command(argv.clone(), dir)
        }
        Action::Mkdir(dir) => file_command(FileAction::Mkdir {
            path: &as_text(dir),
        }),
        Action::Move(t) => file_command(FileAction::Move {
            from: &as_text(&t.from),
            to: &as_text(&t.to),
        }),
        Action::Copy(t) => file_command(FileAction::Copy {
            from: &as_text(&t.from),
            to: &as_text(&t.to),
        }),
        Action::Delete(path) => {
            let trash = scope
                .workspace
                .join(".leash")
                .join("trash")
                .join(format!("{}-step{step}-{n}", scope.trash_tag));
            std::fs::create_dir_all(&trash).map_err(|source| EngineError::Dir {
                path: trash.clone(),
                source,
            })?;
            // As root, `mv` runs as `security.run_as`: the trash leash made
            // must be that user's to move into.
            if let Ok(Some(ids)) = runner.sandbox.run_as().ids() {
                let leash_dir = scope.workspace.join(".leash");
                for dir in [leash_dir.clone(), leash_dir.join("trash"), trash.clone()] {
                    std::os::unix::fs::lchown(&dir, Some(ids.uid), Some(ids.gid)).map_err(
                        |source| EngineError::Dir {
                            path: dir.clone(),
                            source,
                        },
                    )?;
                }
            }
            let result = file_command(FileAction::Delete {
                path: &as_text(path),
                trash: &as_text(&trash),
            })?;
            // An empty trash dir left by a refused delete is noise, not data.
            let _ = std::fs::remove_dir(&trash);
            Ok(result)
        }
        Action::WriteFile(write) => {
            let path = as_text(&write.path);
            let verdict = runner
                .policy
                .check_file_action(&FileAction::Write { path: &path }, &scope.workspace);
            let request = CommandRequest {
                argv: vec!["tee".into(), "--".into(), path.clone()],
                cwd: scope.workspace.clone(),
                job_id: scope.job_id,
            };
            let target = scope.workspace.join(&write.path);
            let (report, written) = match runner.judge_verdict(&request, verdict)? {
                Judged::Cleared(cleared) => runner.with_control_check(
                    cleared,
                    |barrier| write_atomically(&target, write.content.as_bytes(), barrier),
                    |result| {
                        AuditEntry::new(
                            scope.job_id,
                            AuditKind::FileWritten,
                            match result {
                                Ok(bytes) => json!({"path": target, "bytes": bytes}),
                                Err(error) => json!({"path": target, "error": error}),
                            },
                        )
                    },
                )?,
                Judged::Stopped(report) => (report, Err("not written".to_owned())),
            };
            Ok(ActionResult::FileWrite {
                path: write.path.clone(),
                report,
                written,
            })
        }
        Action::Notify(text) => {
            runner
                .audit
                .append(scope.job_id, AuditKind::Notify, json!({"text": text}))?;
            on_notify(text);
            Ok(ActionResult::Notified(text.clone()))
        }
    }
}

/// Resolves a model-given `cwd` inside the workspace: relative, no `..`, and
/// an existing directory whose canonical path stays inside.
fn inside_workspace(workspace: &Path, sub: &Path) -> Result<PathBuf, String> {
    if sub.is_absolute() || sub.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!(
            "cwd `{}` must be a relative path inside the workspace, without `..`",
            sub.display()
        ));
    }
    let dir = workspace.join(sub);
    let canonical = dir
        .canonicalize()
        .map_err(|err| format!("cwd `{}`: {err}", sub.display()))?;
    if !canonical.starts_with(workspace) || !canonical.is_dir() {
        return Err(format!(
            "cwd `{}` is not a directory inside the workspace",
            sub.display()
        ));
    }
    Ok(canonical)
}

/// Writes `content` to `target` with the shared atomic writer. The temp
/// file is made durable through `barrier` before the rename: alone, or with
/// the journal entry that keeps the old file (one sync for both). Mode 0666
/// under the umask, as any file a program creates.
fn write_atomically(target: &Path, content: &[u8], barrier: &Barrier<'_>) -> Result<usize, String> {
    let options = leash_atomic_file::Options::default()
        .mode(0o666)
        .caller_syncs();
    leash_atomic_file::write_with(target, options, |file| {
        file.write_all(content)?;
        barrier.sync(file)
    })
    .map(|()| content.len())
    .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cwd_must_stay_inside_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().canonicalize().unwrap();
        std::fs::create_dir(ws.join("sub")).unwrap();
        std::os::unix::fs::symlink("/etc", ws.join("escape")).unwrap();
        assert_eq!(
            inside_workspace(&ws, Path::new("sub")).unwrap(),
            ws.join("sub")
        );
        assert!(inside_workspace(&ws, Path::new("../x")).is_err());
        assert!(inside_workspace(&ws, Path::new("/tmp")).is_err());
        assert!(inside_workspace(&ws, Path::new("escape")).is_err());
        assert!(inside_workspace(&ws, Path::new("missing")).is_err());
    }

    #[test]
    fn atomic_write_replaces_a_symlink_instead_of_following_it() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "keep").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        write_atomically(&link, b"new", &Barrier::plain()).unwrap();
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "new");
        assert!(
            !std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
