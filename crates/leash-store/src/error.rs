//! The one error type of the store. Every variant names what it is about — the
//! database or mirror path, the seq, the row id — so a message is actionable
//! without a debugger.

use std::path::PathBuf;

/// Everything that can go wrong opening, migrating, reading or appending.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation on the database at `path`.
    #[error("database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer leash (its schema version is higher
    /// than any migration this build knows). Nothing was changed.
    #[error(
        "database {path} has schema version {found}, but this leash only knows versions up to \
         {supported}; it was written by a newer leash — upgrade leash (nothing was changed)"
    )]
    TooNew {
        found: u32,
        supported: u32,
        path: PathBuf,
    },
    /// A file-system operation on a mirror file (or the database's directory) failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A stored value could not be decoded (bad JSON in a column, unknown state).
    #[error("database {path}: {what}")]
    Corrupt { path: PathBuf, what: String },
    /// A text column holds a spelling that is not a word of leash's
    /// vocabulary (`leash_protocol`): written by hand, by a newer leash or
    /// damaged. The row is not used, never read as some default: a job with
    /// an unknown trigger kind or mode is not run.
    #[error("database {path}: {table} row {id} has unknown {column} {value:?}")]
    UnknownSpelling {
        path: PathBuf,
        table: &'static str,
        id: i64,
        column: &'static str,
        value: String,
    },
    /// The JSONL mirror does not agree with the database in a way that is not a
    /// crash artifact. The log is not appended to until someone looks
    /// (`leash audit verify` names the first bad seq).
    #[error(
        "audit mirror {path} disagrees with the database at seq {seq}: {problem}; \
         run `leash audit verify` and investigate before writing to this log again"
    )]
    MirrorDisagrees {
        path: PathBuf,
        seq: u64,
        problem: String,
    },
    /// The mirror was started earlier (the database says so) but its files are gone.
    #[error(
        "audit mirror {path} was started at seq {started_seq} but none of its files exist; \
         it was deleted — run `leash audit verify` and investigate"
    )]
    MirrorMissing { path: PathBuf, started_seq: u64 },
    /// A job or approval with this id does not exist.
    #[error("{table} row {id} does not exist in {path}")]
    NotFound {
        table: &'static str,
        id: i64,
        path: PathBuf,
    },
    /// A state change that is only allowed from certain states was asked of a row
    /// in another state (e.g. deciding an approval that was already decided).
    #[error("{table} row {id} is {current}, so it cannot become {requested}")]
    InvalidTransition {
        table: &'static str,
        id: i64,
        current: String,
        requested: String,
    },
    /// This handle was opened for inspection and cannot append.
    #[error("the audit log at {path} was opened read-only and cannot be appended to")]
    ReadOnly { path: PathBuf },
    /// Another thread panicked while holding the audit log's lock.
    #[error("the audit log at {path} is unusable: a thread panicked while appending")]
    Poisoned { path: PathBuf },
}

/// Attaches the database path to a SQLite result.
pub(crate) trait SqliteResultExt<T> {
    fn at(self, path: &std::path::Path) -> Result<T, StoreError>;
}

impl<T> SqliteResultExt<T> for Result<T, rusqlite::Error> {
    fn at(self, path: &std::path::Path) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Builds the closure that turns an I/O error into [`StoreError::Io`].
pub(crate) fn io_error<'p>(
    action: &'static str,
    path: &'p std::path::Path,
) -> impl FnOnce(std::io::Error) -> StoreError + 'p {
    move |source| StoreError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
