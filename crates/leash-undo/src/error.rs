//! Errors of the rollback journal and of `leash undo`.

use std::path::PathBuf;

/// What went wrong. Every variant names the path, entry or key involved.
#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    /// The state database failed (open, query or transaction).
    #[error("undo journal: {0}")]
    Store(#[from] leash_store::StoreError),
    /// A file operation on a target, a pre-image or the object store failed.
    #[error("undo journal: {what} {}: {source}", path.display())]
    Io {
        /// The operation, as a phrase ("cannot read", "cannot stat").
        what: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A stored snapshot (pre- or after-image) does not parse: the entry is not
    /// restored rather than restored from a guess.
    #[error("undo journal entry {id}: its {what} document is unreadable: {source}")]
    Document {
        /// The journal entry.
        id: i64,
        /// Which document (`pre-image` or `after-image`).
        what: &'static str,
        /// Why it did not parse.
        #[source]
        source: serde_json::Error,
    },
    /// A pre-image an entry names is not in the object store (removed by hand or
    /// pruned under it): that path cannot be restored.
    #[error("undo journal: pre-image {hash} is missing from {}", dir.display())]
    MissingObject {
        /// The object's name (its sha256, or a link object's name).
        hash: String,
        /// The object store's directory.
        dir: PathBuf,
    },
    /// The selection matched no entry that can be undone; the text says which
    /// selection.
    #[error("nothing to undo: {0}")]
    Nothing(String),
    /// A target changed since leash changed it: undo stops here.
    #[error(
        "{} changed since leash changed it ({what}); nothing of entry {entry} was restored (use --force to restore anyway; the current content is journaled first)",
        path.display()
    )]
    Changed {
        /// The entry undo stopped at.
        entry: i64,
        /// The target that changed.
        path: PathBuf,
        /// How it differs from what leash left there.
        what: String,
    },
    /// Restoring would write through a link or outside the roots: never,
    /// not even with --force.
    #[error("{} is not restored: {why}", path.display())]
    Unsafe {
        /// The path that was not restored.
        path: PathBuf,
        /// Why (a symlinked directory, outside the roots, …).
        why: String,
    },
    /// An undo record could not be appended to the audit log: undo stops, since
    /// an unrecorded restore would break "everything is recorded".
    #[error("undo journal: the audit log refused a record: {0}")]
    Audit(#[source] leash_store::StoreError),
    /// A journal document could not be written or read as JSON.
    #[error("undo journal: {0}")]
    Json(#[from] serde_json::Error),
    /// Another thread panicked while holding the journal's store: the journal
    /// refuses further work rather than use a half-written state.
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
