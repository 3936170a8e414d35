//! Schema migrations: append-only, in place, in one transaction, refusing newer.

use leash_store::{AuditLog, MIGRATIONS, SCHEMA_VERSION, Store, StoreError};
use sha2::{Digest, Sha256};

/// sha256 of every migration's SQL. A migration that has shipped is never edited:
/// when you add one, append its hash here; never change an existing line.
const PINNED: &[(u32, &str)] = &[
    (
        1,
        "68488015b442226d6dd68133ff5cd9001405b36bc3cb4305592e5da58d64871f",
    ),
    (
        2,
        "be5435f05d1e0b457173a09d398b3cd83d620b07e7538687ab721356e9f5b293",
    ),
    (
        3,
        "52f5d1545d0f945217a3d55446c25c9d86155309a9044cb3928ed39f554f2615",
    ),
    (
        4,
        "68a93cf77c710ce2084d43d372659a60cca00deeeeaab63e68cb47e82bb98725",
    ),
    (
        5,
        "994f15b448575509c00493f217664bf0ed1524478aa9c7e17d1ad41b3efc80e8",
    ),
    (
        6,
        "5ce509f90a56d770ccd693d2f5cca21b301e0160e407199b660f95e40a2f570b",
    ),
    (
        7,
        "5ad78a18c7d2246ace8dea2f357b883ac9b4f3259479f0ffba26e9220ce593b7",
    ),
];

#[test]
fn migrations_are_append_only() {
    assert_eq!(
        MIGRATIONS.len(),
        PINNED.len(),
        "a migration was added or removed: pin its hash (never remove one)"
    );
    for (migration, (version, hash)) in MIGRATIONS.iter().zip(PINNED) {
        assert_eq!(
            migration.version, *version,
            "migrations are numbered 1, 2, 3, … in order"
        );
        assert_eq!(
            hex::encode(Sha256::digest(migration.sql.as_bytes())),
            *hash,
            "migration {} ({}) was edited; add a new migration instead",
            migration.version,
            migration.name
        );
    }
    assert_eq!(SCHEMA_VERSION as usize, MIGRATIONS.len());
}

fn tables(conn: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    stmt.query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn fresh_database_gets_the_latest_version_and_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leash.db");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    drop(store);
    let conn = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(
        tables(&conn),
        [
            "approvals",
            "audit",
            "audit_mirrors",
            "conversations",
            "fleet_heads",
            "git_marks",
            "grants",
            "jobs",
            "refused_shapes",
            "schedule_marks",
            "undo_actions",
            "undo_targets"
        ]
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // Opening again is a no-op.
    assert_eq!(
        Store::open(&db).unwrap().schema_version().unwrap(),
        SCHEMA_VERSION
    );
}

/// Builds a database exactly as version 1 of leash left it, with one job.
fn version_1_database(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(MIGRATIONS[0].sql).unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    conn.execute(
        "INSERT INTO jobs (created_at, updated_at, state, trigger_kind, prompt) \
         VALUES ('2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 'queued', 'cli', 'old job')",
        [],
    )
    .unwrap();
}

#[test]
fn version_1_database_migrates_in_place_keeping_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leash.db");
    version_1_database(&db);
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let job = store.job(1).unwrap().unwrap();
    assert_eq!(job.prompt, "old job");
    assert!(tables(&store_conn(&db)).contains(&"audit_mirrors".to_owned()));
}

fn store_conn(db: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(db).unwrap()
}

#[test]
fn a_failing_migration_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leash.db");
    version_1_database(&db);
    // Sabotage migration 2 halfway: its CREATE TABLE will collide, after its
    // CREATE INDEX statements have run.
    store_conn(&db)
        .execute_batch("CREATE TABLE audit_mirrors (x)")
        .unwrap();
    let err = Store::open(&db).unwrap_err();
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err:?}");
    let conn = store_conn(&db);
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1, "the version must not move");
    let indexes: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'jobs_by_state'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        indexes, 0,
        "migration 2's first statements must be rolled back"
    );
}

#[test]
fn database_from_a_newer_leash_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leash.db");
    store_conn(&db)
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let err = Store::open(&db).unwrap_err();
    match &err {
        StoreError::TooNew {
            found,
            supported,
            path,
        } => {
            assert_eq!((*found, *supported), (999, SCHEMA_VERSION));
            assert_eq!(path, &db);
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("999") && message.contains(&db.display().to_string()),
        "{message}"
    );
    assert!(matches!(
        AuditLog::open(&db, Default::default()).unwrap_err(),
        StoreError::TooNew { found: 999, .. }
    ));
    assert!(matches!(
        AuditLog::open_read_only(&db, None).unwrap_err(),
        StoreError::TooNew { found: 999, .. }
    ));
    let version: u32 = store_conn(&db)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 999);
}
