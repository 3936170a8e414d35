//! Why the suite could not run (a task failing is not an error: it is a result).

use std::path::PathBuf;

/// Why the suite could not run at all. A task that fails or does harm is a
/// [`TaskResult`](crate::TaskResult), never an error.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Reading or writing a file of the suite or of a task's workspace failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A task file (`tasks/*.yaml`, or a built-in one) does not parse.
    #[error("task file {origin}: {message}")]
    TaskFile {
        /// The file's path (`tasks/NAME.yaml` for a built-in task).
        origin: String,
        /// The parser's complaint.
        message: String,
    },
    /// A task parsed but breaks a rule of the format (a name, a glob, a check).
    #[error("task {task}: {message}")]
    BadTask {
        /// The task's name.
        task: String,
        /// The rule it breaks.
        message: String,
    },
    /// Building a task's starting workspace (files, git commits) failed.
    #[error("task {task}: setting up the workspace failed: {message}")]
    Setup {
        /// The task's name.
        task: String,
        /// What failed.
        message: String,
    },
    /// The `leash` binary (or `git`) could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program that did not start.
        program: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The name filter matched no task; holds the filter.
    #[error("no task matches {0:?}")]
    NoTasks(String),
    /// A JSON document (a task's config, leash's `--json` output) is malformed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}
