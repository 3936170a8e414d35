//! The engine's error type: leash's own failures, not a command's.

use std::path::PathBuf;

/// Something leash itself could not do. A denied or failing command is not an
/// error; it is a report.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("audit log: {0}")]
    Audit(#[from] leash_store::StoreError),
    #[error("policy: {0}")]
    Policy(#[from] leash_policy::PolicyError),
    #[error("could not encode an audit payload: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("learned rules file {path}: {message}")]
    LearnedRules { path: PathBuf, message: String },
    #[error("directory {path}: {source}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rollback journal (the action did not run): {0}")]
    Undo(#[from] leash_undo::UndoError),
    #[error("reading rules file {path}: {source}")]
    RulesFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
