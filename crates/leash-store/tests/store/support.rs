//! Shared helpers.

use std::path::{Path, PathBuf};

use leash_store::{AuditLog, AuditOptions, AuditRecord, Durability};

/// A temp dir with a database path and a mirror path inside it.
pub struct Paths {
    /// Keeps the temp dir alive.
    pub _dir: tempfile::TempDir,
    pub db: PathBuf,
    pub mirror: PathBuf,
}

pub fn paths() -> Paths {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state").join("leash.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let mirror = dir.path().join("logs").join("audit.log");
    Paths {
        _dir: dir,
        db,
        mirror,
    }
}

pub fn options(mirror: &Path, durability: Durability, rotate_bytes: u64) -> AuditOptions {
    AuditOptions {
        mirror: Some(mirror.to_path_buf()),
        durability,
        rotate_bytes,
    }
}

/// Opens with a mirror, fsync durability, no rotation.
pub fn open(paths: &Paths) -> AuditLog {
    AuditLog::open(&paths.db, options(&paths.mirror, Durability::Fsync, 0)).unwrap()
}

pub fn append_n(log: &AuditLog, n: u64) -> Vec<AuditRecord> {
    (0..n)
        .map(|i| {
            log.append(
                Some(1),
                leash_store::AuditKind::Notify,
                serde_json::json!({"i": i, "text": "x"}),
            )
            .unwrap()
        })
        .collect()
}

/// Verifies read-only (no recovery), as `leash audit verify` does.
pub fn verify_read_only(paths: &Paths) -> leash_store::VerifyReport {
    AuditLog::open_read_only(&paths.db, Some(paths.mirror.clone()))
        .unwrap()
        .verify()
        .unwrap()
}

/// Asserts the database holds seq 1..=n without gaps and returns n.
pub fn assert_gapless(log: &AuditLog) -> u64 {
    let seqs: Vec<u64> = log.all().unwrap().iter().map(|r| r.seq).collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "seq is not gapless from 1");
    seqs.len() as u64
}
