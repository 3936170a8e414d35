//! Versioned schema migrations.
//!
//! **The rule: migrations are only ever added, never edited or reordered.** A
//! database records how far it has come in `PRAGMA user_version`; migration `n`
//! (1-based) takes it from version `n - 1` to `n`. Editing an old migration would
//! leave databases that already ran it with a schema nobody can reproduce, so the
//! test `migrations_are_append_only` pins the sha256 of every migration text and
//! fails when one changes. To change the schema, add a file and append it here.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{SqliteResultExt, StoreError};

/// One schema step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The schema version this migration produces (1-based, gapless).
    pub version: u32,
    /// A short name, for logs.
    pub name: &'static str,
    /// The SQL, executed as one batch inside the migration transaction.
    pub sql: &'static str,
}

/// Every migration, in order. Append only (see the module documentation).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "indexes_and_audit_mirrors",
        sql: include_str!("0002_indexes_and_audit_mirrors.sql"),
    },
    Migration {
        version: 3,
        name: "daemon_queue",
        sql: include_str!("0003_daemon_queue.sql"),
    },
    Migration {
        version: 4,
        name: "undo_journal",
        sql: include_str!("0004_undo_journal.sql"),
    },
    Migration {
        version: 5,
        name: "grants",
        sql: include_str!("0005_grants.sql"),
    },
    Migration {
        version: 6,
        name: "refusals",
        sql: include_str!("0006_refusals.sql"),
    },
    Migration {
        version: 7,
        name: "fleet_heads",
        sql: include_str!("0007_fleet_heads.sql"),
    },
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Reads `PRAGMA user_version`.
pub(crate) fn schema_version(conn: &Connection, path: &Path) -> Result<u32, StoreError> {
    conn.query_row("PRAGMA user_version", [], |row| row.get::<_, u32>(0))
        .at(path)
}

/// Fails with [`StoreError::TooNew`] when the database is ahead of this build.
pub(crate) fn refuse_newer(conn: &Connection, path: &Path) -> Result<u32, StoreError> {
    let found = schema_version(conn, path)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: SCHEMA_VERSION,
            path: path.to_path_buf(),
        });
    }
    Ok(found)
}

/// Brings the database up to [`SCHEMA_VERSION`] in one `BEGIN IMMEDIATE`
/// transaction: either every pending migration applies or none does. The version
/// is re-read inside the transaction, so two processes opening the same old
/// database at once migrate it exactly once.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    if refuse_newer(conn, path)? >= SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .at(path)?;
    let found = refuse_newer(&tx, path)?;
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        tracing::info!(
            db = %path.display(),
            version = migration.version,
            name = migration.name,
            "applying schema migration"
        );
        tx.execute_batch(migration.sql).at(path)?;
        tx.pragma_update(None, "user_version", migration.version)
            .at(path)?;
    }
    tx.commit().at(path)
}
