//! Errors of the rollback journal and of `leash undo`.

use std::path::PathBuf;

/// What went wrong. Every variant names the path, entry or key involved.
#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    #[error("undo journal: {0}")]
    Store(#[from] leash_store::StoreError),
    #[error("undo journal: {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("undo journal entry {id}: its {what} document is unreadable: {source}")]
    Document {
        id: i64,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("undo journal: pre-image {hash} is missing from {}", dir.display())]
    MissingObject { hash: String, dir: PathBuf },
    #[error("nothing to undo: {0}")]
    Nothing(String),
    /// A target changed since leash changed it: undo stops here.
    #[error(
        "{} changed since leash changed it ({what}); nothing of entry {entry} was restored (use --force to restore anyway; the current content is journaled first)",
        path.display()
    )]
    Changed {
        entry: i64,
        path: PathBuf,
        what: String,
    },
    /// Restoring would write through a link or outside the roots: never,
    /// not even with --force.
    #[error("{} is not restored: {why}", path.display())]
    Unsafe { path: PathBuf, why: String },
    #[error("undo journal: the audit log refused a record: {0}")]
    Audit(#[source] leash_store::StoreError),
    #[error("undo journal: {0}")]
    Json(#[from] serde_json::Error),
    #[error("undo journal: the journal lock is poisoned")]
    Poisoned,
}

impl UndoError {
    pub(crate) fn io(
        what: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> UndoError {
        let path = path.to_path_buf();
        move |source| UndoError::Io { what, path, source }
    }
}
