//! The state database handle: one SQLite file holding jobs, approvals,
//! conversations, schedule marks and the audit chain.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::connection::{self, Synchronous};
use crate::error::{SqliteResultExt, StoreError};
use crate::migrations;

/// An open, migrated state database. Not `Sync`: give each thread its own
/// `Store` (SQLite serializes writers across connections and processes).
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it to the
    /// current schema in one transaction. A database from a newer leash fails with
    /// [`StoreError::TooNew`] and is left untouched. Commits are fsynced
    /// (`synchronous=FULL`): a queued job or a decided approval survives power loss.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = connection::open_read_write(path, Synchronous::Full)?;
        migrations::migrate(&mut conn, path)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// A private, migrated in-memory database (tests, dry runs).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let mut conn = Connection::open_in_memory().at(&path)?;
        connection::configure(&conn, &path, Synchronous::Full)?;
        migrations::migrate(&mut conn, &path)?;
        Ok(Store { conn, path })
    }

    /// The database file this store was opened from (`:memory:` for in-memory).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        migrations::schema_version(&self.conn, &self.path)
    }
}
