//! The daemon's error type. Every variant names what it is about.

use std::path::PathBuf;

/// Everything that can stop a daemon component.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The state database or the audit log failed.
    #[error(transparent)]
    Store(#[from] leash_store::StoreError),
    /// The engine (policy, journal, learned rules) failed.
    #[error(transparent)]
    Engine(#[from] leash_core::EngineError),
    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`cannot read`, `renaming`).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Another daemon holds the state directory.
    #[error("another leash daemon (pid {pid}) is using {lock}; stop it first")]
    AlreadyRunning {
        /// The lock file.
        lock: PathBuf,
        /// The pid written in it.
        pid: String,
    },
    /// A trigger's configuration cannot work (bad cron, missing repository, …).
    #[error("trigger {name}: {problem}")]
    Trigger {
        /// The trigger's name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// The model backend could not be opened (missing file, bad config).
    #[error("the model backend could not be opened: {detail}")]
    Model {
        /// What the backend said.
        detail: String,
    },
    /// The HTTP API could not start.
    #[error("api on {listen}: {problem}")]
    Api {
        /// The address (`api.listen`).
        listen: String,
        /// What went wrong.
        problem: String,
    },
    /// A shared lock was poisoned by a panicking thread.
    #[error("daemon state is unusable: a thread panicked while holding {what}")]
    Poisoned {
        /// The lock's name.
        what: &'static str,
    },
    /// `fleet:` cannot work (credentials file unreadable, too open, …).
    #[error("{detail}")]
    Fleet {
        /// What is wrong, naming the key or file.
        detail: String,
    },
    /// The daemon is stopping and takes no new work.
    #[error("the daemon is shutting down")]
    ShuttingDown,
}

/// Builds the closure that turns an I/O error into [`DaemonError::Io`].
pub(crate) fn io_error<'p>(
    action: &'static str,
    path: &'p std::path::Path,
) -> impl FnOnce(std::io::Error) -> DaemonError + 'p {
    move |source| DaemonError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A failed atomic write is an I/O error naming its step and path.
impl From<leash_atomic_file::AtomicWriteError> for DaemonError {
    fn from(err: leash_atomic_file::AtomicWriteError) -> DaemonError {
        DaemonError::Io {
            action: err.step,
            path: err.path,
            source: err.source,
        }
    }
}
