//! Why a skill could not be loaded or run.

use std::path::PathBuf;

/// Why a skill could not be loaded or run. A skill that ran and refused or
/// failed an action is a [`SkillReport`](crate::SkillReport), not an error.
#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    /// A skill file or `skills.dir` could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A skill file does not parse or breaks a rule of the format.
    #[error("skill file {origin}: {message}")]
    Definition {
        /// The file's path (`skills/NAME.yaml` for a built-in skill).
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// No enabled skill has this name.
    #[error("no skill named {0:?} (see `skills.dir`; built-in: organize, review, monitor, deploy)")]
    Unknown(String),
    /// The engine failed (inference, policy, sandbox set-up) while running it.
    #[error(transparent)]
    Engine(#[from] leash_core::EngineError),
    /// The audit log could not be written (leash's own failure).
    #[error(transparent)]
    Audit(#[from] leash_store::StoreError),
    /// A report or answer could not be (de)serialised.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}
