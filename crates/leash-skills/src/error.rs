//! Why a skill could not be loaded or run.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("skill file {origin}: {message}")]
    Definition { origin: String, message: String },
    #[error("no skill named {0:?} (see `skills.dir`; built-in: organize, review, monitor, deploy)")]
    Unknown(String),
    #[error(transparent)]
    Engine(#[from] leash_core::EngineError),
    /// The audit log could not be written (leash's own failure).
    #[error(transparent)]
    Audit(#[from] leash_store::StoreError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}
