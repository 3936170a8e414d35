//! Why the suite could not run (a task failing is not an error: it is a result).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("task file {origin}: {message}")]
    TaskFile { origin: String, message: String },
    #[error("task {task}: {message}")]
    BadTask { task: String, message: String },
    #[error("task {task}: setting up the workspace failed: {message}")]
    Setup { task: String, message: String },
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("no task matches {0:?}")]
    NoTasks(String),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}
