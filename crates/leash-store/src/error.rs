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
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
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
        /// The schema version the database has.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
        /// The database file.
        path: PathBuf,
    },
    /// A file-system operation on a mirror file (or the database's directory) failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What leash was doing (`cannot open audit mirror`, ...).
        action: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A stored value could not be decoded (bad JSON in a column, unknown state).
    #[error("database {path}: {what}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// Which row and column, and what is wrong with it.
        what: String,
    },
    /// A text column holds a spelling that is not a word of leash's
    /// vocabulary (`leash_protocol`): written by hand, by a newer leash or
    /// damaged. The row is not used, never read as some default: a job with
    /// an unknown trigger kind or mode is not run.
    #[error("database {path}: {table} row {id} has unknown {column} {value:?}")]
    UnknownSpelling {
        /// The database file.
        path: PathBuf,
        /// The table of the row (`jobs`).
        table: &'static str,
        /// The row's id.
        id: i64,
        /// What the column holds, in words (`trigger kind`).
        column: &'static str,
        /// The stored text nobody knows.
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
        /// The mirror file.
        path: PathBuf,
        /// The first record where they differ.
        seq: u64,
        /// How they differ.
        problem: String,
    },
    /// The mirror was started earlier (the database says so) but its files are gone.
    #[error(
        "audit mirror {path} was started at seq {started_seq} but none of its files exist; \
         it was deleted — run `leash audit verify` and investigate"
    )]
    MirrorMissing {
        /// Where the mirror should be.
        path: PathBuf,
        /// The first record the mirror was to hold.
        started_seq: u64,
    },
    /// A job or approval with this id does not exist.
    #[error("{table} row {id} does not exist in {path}")]
    NotFound {
        /// The table (`jobs`, `approvals`).
        table: &'static str,
        /// The id that was asked for.
        id: i64,
        /// The database file.
        path: PathBuf,
    },
    /// A state change that is only allowed from certain states was asked of a row
    /// in another state (e.g. deciding an approval that was already decided).
    #[error("{table} row {id} is {current}, so it cannot become {requested}")]
    InvalidTransition {
        /// The table (`jobs`, `approvals`).
        table: &'static str,
        /// The row's id.
        id: i64,
        /// The state it is in now.
        current: String,
        /// The state that was asked for.
        requested: String,
    },
    /// This handle was opened for inspection and cannot append.
    #[error("the audit log at {path} was opened read-only and cannot be appended to")]
    ReadOnly {
        /// The database file.
        path: PathBuf,
    },
    /// Another thread panicked while holding the audit log's lock.
    #[error("the audit log at {path} is unusable: a thread panicked while appending")]
    Poisoned {
        /// The database file.
        path: PathBuf,
    },
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
