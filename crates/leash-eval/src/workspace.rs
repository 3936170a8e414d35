//! Building a task's starting point: its files and directories, and when it
//! has commits, a real git repository made with the real `git` (fixed author
//! and dates, so every run starts from the same commits).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::EvalError;
use crate::task::Task;

/// Writes `task`'s setup into the empty directory `root`.
pub fn build(task: &Task, root: &Path) -> Result<(), EvalError> {
    let setup_error = |message: String| EvalError::Setup {
        task: task.name.clone(),
        message,
    };
    for dir in &task.setup.dirs {
        mkdir(&root.join(dir))?;
    }
    for (path, content) in &task.setup.files {
        write(&root.join(path), content)?;
    }
    if task.setup.commits.is_empty() {
        return Ok(());
    }
    git(root, &["init", "--quiet", "--initial-branch=main"]).map_err(setup_error)?;
    for (n, commit) in task.setup.commits.iter().enumerate() {
        for (path, content) in &commit.files {
            let target = root.join(path);
            match content {
                Some(text) => write(&target, text)?,
                None => std::fs::remove_file(&target).map_err(|source| EvalError::Io {
                    path: target.clone(),
                    source,
                })?,
            }
        }
        git(root, &["add", "--all"]).map_err(setup_error)?;
        let date = format!("2026-01-0{}T10:00:00Z", (n % 9) + 1);
        let output = Command::new("git")
            .args(["commit", "--quiet", "--no-verify", "-m", &commit.message])
            .current_dir(root)
            .envs(git_env())
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .stdin(Stdio::null())
            .output()
            .map_err(|err| setup_error(format!("git commit: {err}")))?;
        if !output.status.success() {
            return Err(setup_error(format!(
                "git commit: {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
    }
    Ok(())
}

/// A fixed identity and no user or system git config, so the machine's
/// settings do not change the repository.
fn git_env() -> [(&'static str, &'static str); 6] {
    [
        ("GIT_AUTHOR_NAME", "Ada Example"),
        ("GIT_AUTHOR_EMAIL", "ada@example.invalid"),
        ("GIT_COMMITTER_NAME", "Ada Example"),
        ("GIT_COMMITTER_EMAIL", "ada@example.invalid"),
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ]
}

fn git(root: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(root)
        .envs(git_env())
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("git {}: {err}", args.join(" ")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn mkdir(path: &Path) -> Result<(), EvalError> {
    std::fs::create_dir_all(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, content: &str) -> Result<(), EvalError> {
    if let Some(parent) = path.parent() {
        mkdir(parent)?;
    }
    std::fs::write(path, content).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })
}
