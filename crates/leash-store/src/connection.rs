//! Opening a SQLite connection the way every part of leash needs it: WAL, a busy
//! timeout instead of instant `SQLITE_BUSY`, foreign keys on, and a chosen
//! `synchronous` level.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::error::{SqliteResultExt, StoreError, io_error};

/// How long a connection waits for another writer (thread or process) before
/// giving up. Generous: appends hold the lock for one fsync, and a slow phone
/// flash under load can take a while; failing an audit append is worse than
/// waiting.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// SQLite's `synchronous` setting, as the durability choice maps onto it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Synchronous {
    /// Every commit is fsynced (durable across power loss).
    Full,
    /// WAL commits survive a process crash but may roll back on power loss.
    Normal,
}

impl Synchronous {
    fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Opens (creating if needed, with its directory at mode 0700) a read-write
/// connection and applies the settings.
pub(crate) fn open_read_write(
    path: &Path,
    synchronous: Synchronous,
) -> Result<Connection, StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(io_error("cannot create the database directory", parent))?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).at(path)?;
    configure(&conn, path, synchronous)?;
    Ok(conn)
}

/// Opens an existing database without creating it and without changing any
/// persistent setting (for inspection). Read-write only so that it can take the
/// write lock to read the database and the mirror as one consistent state.
pub(crate) fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).at(path)?;
    conn.busy_timeout(BUSY_TIMEOUT).at(path)?;
    Ok(conn)
}

/// Applies busy timeout, WAL (for files), `synchronous` and foreign keys.
pub(crate) fn configure(
    conn: &Connection,
    path: &Path,
    synchronous: Synchronous,
) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).at(path)?;
    // journal_mode answers with the mode in force: "wal" for files, "memory"
    // for in-memory databases (which cannot use WAL and need not).
    let mode: String =
        retry_while_busy(|| conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)))
            .at(path)?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            what: format!("could not switch to WAL journal mode (SQLite answered {mode:?})"),
        });
    }
    conn.pragma_update(None, "synchronous", synchronous.pragma_value())
        .at(path)?;
    conn.pragma_update(None, "foreign_keys", "ON").at(path)?;
    Ok(())
}

/// Runs `op` again while SQLite answers `SQLITE_BUSY`, for as long as the busy
/// timeout would have waited. Needed for the switch of a new database to WAL:
/// it upgrades a shared lock to an exclusive one, and when several processes
/// open a fresh database at once (a daemon and a CLI starting together),
/// SQLite reports that lock-upgrade deadlock as `SQLITE_BUSY` at once, without
/// calling the busy handler — one side must back off and try again.
fn retry_while_busy<T>(mut op: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let started = Instant::now();
    loop {
        match op() {
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// Regression class `fresh-database-open-race`: connections opening one
    /// new database at the same moment all end up in WAL mode; none fails
    /// with `database is locked`.
    #[test]
    fn connections_opening_a_fresh_database_at_once_all_succeed() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("race-{round}.db"));
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
            let threads: Vec<_> = (0..6)
                .map(|_| {
                    let path = path.clone();
                    let barrier = barrier.clone();
                    std::thread::spawn(move || {
                        barrier.wait();
                        open_read_write(&path, Synchronous::Full).map(|_| ())
                    })
                })
                .collect();
            for thread in threads {
                let result = thread.join().unwrap();
                assert!(result.is_ok(), "round {round}: {result:?}");
            }
        }
    }
}
