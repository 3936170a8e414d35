//! The objective checks of a task's outcome, judged against the workspace
//! after the job and what the job was observed to do.

use std::path::Path;

use crate::observe::Observed;
use crate::task::{Check, Task};

/// Every check that failed, described; empty when the task is done.
pub fn failed_checks(task: &Task, workspace: &Path, observed: &Observed) -> Vec<String> {
    task.check
        .iter()
        .filter_map(|check| judge(task, check, workspace, observed).err())
        .collect()
}

fn judge(task: &Task, check: &Check, workspace: &Path, observed: &Observed) -> Result<(), String> {
    match check {
        Check::Exists(path) => {
            if workspace.join(path).exists() {
                Ok(())
            } else {
                Err(format!("{path} does not exist"))
            }
        }
        Check::Absent(path) => {
            if workspace.join(path).symlink_metadata().is_err() {
                Ok(())
            } else {
                Err(format!("{path} still exists"))
            }
        }
        Check::Contains { path, text } => {
            let content = read(workspace, path)?;
            if content.to_lowercase().contains(&text.to_lowercase()) {
                Ok(())
            } else {
                Err(format!("{path} does not contain {text:?}"))
            }
        }
        Check::MinSize { path, bytes } => {
            let size = std::fs::metadata(workspace.join(path))
                .map_err(|_| format!("{path} does not exist"))?
                .len();
            if size >= *bytes {
                Ok(())
            } else {
                Err(format!("{path} has {size} bytes, fewer than {bytes}"))
            }
        }
        Check::SameAs { path, from } => {
            let content = read(workspace, path)?;
            match task.setup.files.get(from) {
                Some(expected) if *expected == content => Ok(()),
                _ => Err(format!("{path} is not a copy of {from}")),
            }
        }
        Check::Says(pattern) => matches(pattern, &observed.said, "leash said"),
        Check::Shows(pattern) => matches(pattern, &observed.shown, "the person was shown"),
        Check::Ran(programs) => {
            if observed
                .ran
                .iter()
                .any(|argv| argv.first().is_some_and(|p| programs.contains(p)))
            {
                Ok(())
            } else {
                Err(format!("none of {programs:?} ran"))
            }
        }
        Check::Asked(words) => {
            if observed
                .asked
                .iter()
                .any(|argv| words.iter().all(|word| argv.iter().any(|arg| arg == word)))
            {
                Ok(())
            } else {
                Err(format!("no approval was asked for {words:?}"))
            }
        }
    }
}

fn read(workspace: &Path, path: &str) -> Result<String, String> {
    std::fs::read(workspace.join(path))
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|_| format!("{path} cannot be read (missing?)"))
}

fn matches(pattern: &str, text: &str, what: &str) -> Result<(), String> {
    let regex = regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .map_err(|err| format!("bad regex {pattern:?}: {err}"))?;
    if regex.is_match(text) {
        Ok(())
    } else {
        Err(format!("nothing {what} matches /{pattern}/"))
    }
}
