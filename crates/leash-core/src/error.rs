//! The engine's error type: leash's own failures, not a command's.

use std::path::PathBuf;

/// Something leash itself could not do. A denied or failing command is not an
/// error; it is a report.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The audit log refused a record: the command does not run unrecorded.
    #[error("audit log: {0}")]
    Audit(#[from] leash_store::StoreError),
    /// The policy (or a rule file) does not compile.
    #[error("policy: {0}")]
    Policy(#[from] leash_policy::PolicyError),
    /// An audit payload could not be serialised.
    #[error("could not encode an audit payload: {0}")]
    Encode(#[from] serde_json::Error),
    /// The learned-rules file is unreadable, malformed or could not be written.
    #[error("learned rules file {path}: {message}")]
    LearnedRules {
        /// The learned-rules file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A state or workspace directory could not be created or checked.
    #[error("directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The rollback journal failed before the action: it does not run.
    #[error("rollback journal (the action did not run): {0}")]
    Undo(#[from] leash_undo::UndoError),
    /// A rule file named in the config cannot be read.
    #[error("reading rules file {path}: {source}")]
    RulesFile {
        /// The rule file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}
