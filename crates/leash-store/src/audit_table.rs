//! Reading and writing rows of the `audit` table. Payloads are stored as their
//! canonical JSON text.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::audit_record::{AuditRecord, GENESIS_HASH};
use crate::canonical::canonical_json;
use crate::error::{SqliteResultExt, StoreError};

/// The last record's seq and hash (0 and [`GENESIS_HASH`] for an empty log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

pub(crate) const RECORD_COLUMNS: &str = "seq, ts, job_id, kind, payload, prev_hash, hash";

/// A row as stored, before its payload text is parsed.
#[derive(Debug, Clone)]
pub(crate) struct RawRecord {
    pub seq: i64,
    pub ts: String,
    pub job_id: Option<i64>,
    pub kind: String,
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

impl RawRecord {
    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<RawRecord> {
        Ok(RawRecord {
            seq: row.get(0)?,
            ts: row.get(1)?,
            job_id: row.get(2)?,
            kind: row.get(3)?,
            payload: row.get(4)?,
            prev_hash: row.get(5)?,
            hash: row.get(6)?,
        })
    }

    /// Parses the payload; the error says what is wrong with this row.
    pub(crate) fn decode(self) -> Result<AuditRecord, String> {
        let seq = u64::try_from(self.seq).map_err(|_| format!("seq {} is negative", self.seq))?;
        let payload = serde_json::from_str(&self.payload)
            .map_err(|err| format!("payload of seq {seq} is not JSON: {err}"))?;
        Ok(AuditRecord {
            seq,
            ts: self.ts,
            job_id: self.job_id,
            kind: self.kind,
            payload,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Decodes a row for a reader, turning a bad row into [`StoreError::Corrupt`].
pub(crate) fn decode_for_reading(raw: RawRecord, path: &Path) -> Result<AuditRecord, StoreError> {
    raw.decode().map_err(|what| StoreError::Corrupt {
        path: path.to_path_buf(),
        what: format!("audit record: {what}"),
    })
}

pub(crate) fn read_head(conn: &Connection, path: &Path) -> Result<ChainHead, StoreError> {
    let head = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
        )
        .optional()
        .at(path)?;
    match head {
        None => Ok(ChainHead {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }),
        Some((seq, hash)) => Ok(ChainHead {
            seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt {
                path: path.to_path_buf(),
                what: format!("audit head has negative seq {seq}"),
            })?,
            hash,
        }),
    }
}

pub(crate) fn insert_record(
    conn: &Connection,
    path: &Path,
    record: &AuditRecord,
) -> Result<(), StoreError> {
    let seq = i64::try_from(record.seq).map_err(|_| StoreError::Corrupt {
        path: path.to_path_buf(),
        what: format!("audit seq {} does not fit SQLite's integer", record.seq),
    })?;
    conn.execute(
        "INSERT INTO audit (seq, ts, job_id, kind, payload, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            seq,
            record.ts,
            record.job_id,
            record.kind,
            canonical_json(&record.payload),
            record.prev_hash,
            record.hash
        ],
    )
    .at(path)?;
    Ok(())
}

/// The raw row with this seq, if any.
pub(crate) fn raw_at(
    conn: &Connection,
    path: &Path,
    seq: u64,
) -> Result<Option<RawRecord>, StoreError> {
    let Ok(seq) = i64::try_from(seq) else {
        return Ok(None);
    };
    conn.query_row(
        &format!("SELECT {RECORD_COLUMNS} FROM audit WHERE seq = ?1"),
        [seq],
        RawRecord::from_row,
    )
    .optional()
    .at(path)
}

/// Records matching `where_clause` (with `?1` bound to `bound`), ascending by seq.
pub(crate) fn records_where(
    conn: &Connection,
    path: &Path,
    where_clause: &str,
    bound: i64,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {RECORD_COLUMNS} FROM audit WHERE {where_clause} ORDER BY seq"
        ))
        .at(path)?;
    let rows = stmt
        .query_map(params![bound], RawRecord::from_row)
        .at(path)?;
    let mut records = Vec::new();
    for raw in rows {
        records.push(decode_for_reading(raw.at(path)?, path)?);
    }
    Ok(records)
}

/// Whether the database records that the mirror at `mirror` was started, and
/// at which seq. A database from before the `audit_mirrors` table says no.
pub(crate) fn mirror_started_at(
    conn: &Connection,
    path: &Path,
    mirror: &Path,
) -> Result<Option<u64>, StoreError> {
    let has_table: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_mirrors')",
            [],
            |row| row.get(0),
        )
        .at(path)?;
    if !has_table {
        return Ok(None);
    }
    let started: Option<i64> = conn
        .query_row(
            "SELECT started_seq FROM audit_mirrors WHERE path = ?1",
            [mirror.to_string_lossy()],
            |row| row.get(0),
        )
        .optional()
        .at(path)?;
    Ok(started.map(|seq| u64::try_from(seq).unwrap_or(0)))
}

/// Records that the mirror at `mirror` holds the whole chain from now on.
pub(crate) fn mark_mirror_started(
    conn: &Connection,
    path: &Path,
    mirror: &Path,
    started_seq: u64,
    now: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO audit_mirrors (path, started_seq, started_at) VALUES (?1, ?2, ?3)",
        params![
            mirror.to_string_lossy(),
            i64::try_from(started_seq).unwrap_or(i64::MAX),
            now
        ],
    )
    .at(path)?;
    Ok(())
}
