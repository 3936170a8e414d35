//! What triggers remember across restarts: the last time a schedule fired and
//! the last commit a git trigger reported.

use rusqlite::{OptionalExtension, params};

use crate::error::{SqliteResultExt, StoreError};
use crate::store::Store;
use crate::timestamp::now_rfc3339;

impl Store {
    /// When the schedule trigger `name` last fired (RFC 3339 UTC), if ever.
    pub fn schedule_mark(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT last_run FROM schedule_marks WHERE trigger_name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()
            .at(&self.path)
    }

    /// Records that the schedule trigger `name` fired at `last_run` (RFC 3339).
    pub fn set_schedule_mark(&self, name: &str, last_run: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO schedule_marks (trigger_name, last_run) VALUES (?1, ?2) \
                 ON CONFLICT (trigger_name) DO UPDATE SET last_run = excluded.last_run",
                params![name, last_run],
            )
            .at(&self.path)?;
        Ok(())
    }

    /// The last commit the git trigger `name` reported, if any.
    pub fn git_mark(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT last_commit FROM git_marks WHERE trigger_name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()
            .at(&self.path)
    }

    /// Records the last commit the git trigger `name` reported.
    pub fn set_git_mark(&self, name: &str, last_commit: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO git_marks (trigger_name, last_commit, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (trigger_name) DO UPDATE SET last_commit = excluded.last_commit, \
                 updated_at = excluded.updated_at",
                params![name, last_commit, now_rfc3339()],
            )
            .at(&self.path)?;
        Ok(())
    }
}
