//! Checking the audit log: the database chain on its own, then the JSONL mirror
//! against the database record by record.
//!
//! Verification never repairs anything. It tolerates exactly the two states an
//! interrupted append can leave (see [`crate::AuditLog`]) and says so in
//! `notes`: a partial last line in the active mirror file, and a mirror at
//! most one group ([`MAX_GROUP_RECORDS`]) of complete, correctly chained
//! records ahead of the database, at its very end and in one file. Everything else —
//! an edited, deleted, inserted or reordered record, a mirror behind the
//! database, a missing or edited rotated file — is reported with the first
//! seq that is not what it should be.

use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;

use crate::audit_record::{AuditRecord, GENESIS_HASH};
use crate::audit_table::{ChainHead, RECORD_COLUMNS, RawRecord, mirror_started_at, read_head};
use crate::durability::MAX_GROUP_RECORDS;
use crate::error::{SqliteResultExt, StoreError};
use crate::mirror_files::{MirrorFile, MirrorLine, mirror_files, read_lines, rotated_path};

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// True when the chain and the mirror are intact (crash artifacts allowed).
    pub ok: bool,
    /// Records in the database.
    pub records: u64,
    /// The first seq that is wrong, missing or extra, in the database or the mirror.
    pub first_bad_seq: Option<u64>,
    /// What is wrong at `first_bad_seq`.
    pub problem: Option<String>,
    /// Tolerated crash artifacts and other facts worth knowing.
    pub notes: Vec<String>,
}

/// A problem at a seq.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    seq: u64,
    problem: String,
}

/// Keeps whichever finding has the smaller seq (the database's on a tie).
fn earliest(first: Option<Finding>, second: Option<Finding>) -> Option<Finding> {
    match (first, second) {
        (Some(a), Some(b)) => Some(if b.seq < a.seq { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Verifies the chain in `conn` and, when given, the mirror whose active file is
/// `mirror`. The caller holds the write lock so that no append lands between
/// reading the database and reading the mirror.
pub(crate) fn verify_log(
    conn: &Connection,
    db_path: &Path,
    mirror: Option<&Path>,
) -> Result<VerifyReport, StoreError> {
    let mut notes = Vec::new();
    let (records, db_finding) = verify_database(conn, db_path)?;
    let mirror_finding = match mirror {
        None => None,
        Some(active) => verify_mirror(conn, db_path, active, records, &mut notes)?,
    };
    let finding = earliest(db_finding, mirror_finding);
    Ok(VerifyReport {
        ok: finding.is_none(),
        records,
        first_bad_seq: finding.as_ref().map(|f| f.seq),
        problem: finding.map(|f| f.problem),
        notes,
    })
}

/// Walks the database chain: seq gapless from 1, each `prev_hash` the previous
/// `hash`, each `hash` recomputed. Returns the record count and the first problem.
fn verify_database(
    conn: &Connection,
    db_path: &Path,
) -> Result<(u64, Option<Finding>), StoreError> {
    let mut stmt = conn
        .prepare(&format!("SELECT {RECORD_COLUMNS} FROM audit ORDER BY seq"))
        .at(db_path)?;
    let rows = stmt.query_map([], RawRecord::from_row).at(db_path)?;
    let mut count = 0u64;
    let mut expected = 1u64;
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut finding = None;
    for raw in rows {
        let raw = raw.at(db_path)?;
        count += 1;
        if finding.is_some() {
            continue;
        }
        if raw.seq != expected as i64 {
            let problem = if raw.seq > expected as i64 {
                format!(
                    "database: record seq {expected} is missing (the next record is seq {})",
                    raw.seq
                )
            } else {
                format!(
                    "database: invalid seq {} where seq {expected} belongs",
                    raw.seq
                )
            };
            finding = Some(Finding {
                seq: expected,
                problem,
            });
            continue;
        }
        let record = match raw.decode() {
            Ok(record) => record,
            Err(what) => {
                finding = Some(Finding {
                    seq: expected,
                    problem: format!("database: {what}"),
                });
                continue;
            }
        };
        if record.prev_hash != prev_hash {
            finding = Some(Finding {
                seq: expected,
                problem: format!(
                    "database: record seq {expected} has prev_hash {} but the record before it \
                     has hash {prev_hash} (a record was inserted, removed or reordered)",
                    record.prev_hash
                ),
            });
            continue;
        }
        if !record.hash_is_valid() {
            finding = Some(Finding {
                seq: expected,
                problem: format!(
                    "database: record seq {expected} does not match its hash \
                     (its contents or its hash were edited)"
                ),
            });
            continue;
        }
        prev_hash = record.hash;
        expected += 1;
    }
    Ok((count, finding))
}

/// Compares the mirror with the database record by record.
fn verify_mirror(
    conn: &Connection,
    db_path: &Path,
    active: &Path,
    records: u64,
    notes: &mut Vec<String>,
) -> Result<Option<Finding>, StoreError> {
    let files = mirror_files(active)?;
    let head = read_head(conn, db_path)?;
    if files.is_empty() {
        if head.seq == 0 {
            return Ok(None);
        }
        return Ok(match mirror_started_at(conn, db_path, active)? {
            Some(started) => Some(Finding {
                seq: 1,
                problem: format!(
                    "mirror {}: none of its files exist, but the database says it was started \
                     (at seq {started}); it was deleted",
                    active.display()
                ),
            }),
            None => {
                notes.push(format!(
                    "mirror {} has not been started yet; the next leash that appends fills it \
                     from the database",
                    active.display()
                ));
                None
            }
        });
    }
    let mut walk = MirrorWalk {
        conn,
        db_path,
        head: &head,
        expected: 1,
        finding: None,
        notes,
        ahead: None,
    };
    read_lines(&files, |line| walk.visit(line))?;
    let mut finding = walk.finding.take();
    if finding.is_none()
        && let Some(ahead) = walk.ahead.take()
    {
        let how_many = if ahead.count == 1 {
            "one record".to_owned()
        } else {
            format!("{} records (one group)", ahead.count)
        };
        walk.notes.push(format!(
            "mirror {} (seq {}..={}) is {how_many} ahead of the database: an append was \
             interrupted after writing the mirror; the next open adds it",
            ahead.file.display(),
            head.seq + 1,
            head.seq + ahead.count
        ));
    }
    let expected = walk.expected;
    if finding.is_none() && expected <= head.seq {
        finding = Some(Finding {
            seq: expected,
            problem: format!(
                "mirror {}: ends at seq {} but the database goes on to seq {} \
                 (the mirror was truncated or one of its files removed)",
                active.display(),
                expected - 1,
                head.seq
            ),
        });
    }
    let missing = missing_rotations(active, &files);
    if let Some(found) = finding.as_mut()
        && !missing.is_empty()
    {
        found.problem.push_str(&format!(
            "; rotated file(s) missing: {}",
            missing.join(", ")
        ));
    }
    notes.push(format!(
        "mirror {}: {} file(s), {} record(s) checked against {records} in the database",
        active.display(),
        files.len(),
        expected - 1
    ));
    Ok(finding)
}

/// Rotated files whose number is skipped (e.g. `.000002` between `.000001`
/// and `.000003`, or `.000001` before `.000002`).
fn missing_rotations(active: &Path, files: &[MirrorFile]) -> Vec<String> {
    let numbers: Vec<u64> = files.iter().filter_map(|file| file.rotation).collect();
    let Some(&highest) = numbers.last() else {
        return Vec::new();
    };
    (1..=highest)
        .filter(|number| !numbers.contains(number))
        .map(|number| rotated_path(active, number).display().to_string())
        .collect()
}

/// The state of a walk over the mirror's lines.
struct MirrorWalk<'a> {
    conn: &'a Connection,
    db_path: &'a Path,
    head: &'a ChainHead,
    /// The seq the next line must carry.
    expected: u64,
    finding: Option<Finding>,
    notes: &'a mut Vec<String>,
    /// The records seen so far past the database's head (crash artifacts
    /// while they chain, stay in one file, and are at most one group).
    ahead: Option<Ahead>,
}

/// Mirror records past the database's head.
struct Ahead {
    file: std::path::PathBuf,
    count: u64,
    last_hash: String,
    /// One transaction's records share one timestamp.
    ts: String,
}

impl MirrorWalk<'_> {
    fn visit(&mut self, line: MirrorLine) -> Result<(), StoreError> {
        if self.finding.is_some() {
            return Ok(());
        }
        let expected = self.expected;
        let place = format!("mirror {} line {}", line.file.display(), line.line_no);
        if !line.complete {
            if line.is_last {
                self.notes.push(format!(
                    "{place} is a partial record of {} bytes (an append interrupted by a crash); \
                     ignored, and cut off by the next open",
                    line.bytes.len()
                ));
            } else {
                self.fail(
                    expected,
                    format!("{place} is cut short inside a rotated file"),
                );
            }
            return Ok(());
        }
        let record: AuditRecord = match serde_json::from_slice(&line.bytes) {
            Ok(record) => record,
            Err(err) => {
                self.fail(expected, format!("{place} is not an audit record: {err}"));
                return Ok(());
            }
        };
        if record.seq != expected {
            let problem = if record.seq > expected {
                let missing = if record.seq - 1 == expected {
                    format!("record {expected} is")
                } else {
                    format!("records {expected}..={} are", record.seq - 1)
                };
                format!(
                    "{place} holds seq {} where seq {expected} belongs ({missing} missing from \
                     the mirror, or records were reordered)",
                    record.seq
                )
            } else {
                format!(
                    "{place} holds seq {} where seq {expected} belongs (a record was inserted \
                     or reordered)",
                    record.seq
                )
            };
            self.fail(expected, problem);
            return Ok(());
        }
        match self.database_line(expected)? {
            Some(db_line) if db_line.as_bytes() == line.bytes.as_slice() => {}
            Some(_) => self.fail(
                expected,
                format!("{place} (seq {expected}) differs from the database's record"),
            ),
            None => {
                // Records past the head are a crash artifact only as one
                // interrupted transaction: chained from the head, at the
                // very end, in one file, one timestamp, at most a group.
                let (prev_hash, count, same_group) = match &self.ahead {
                    None => (self.head.hash.as_str(), 0, true),
                    Some(ahead) => (
                        ahead.last_hash.as_str(),
                        ahead.count,
                        ahead.file == line.file && ahead.ts == record.ts,
                    ),
                };
                let crash_artifact = same_group
                    && count < MAX_GROUP_RECORDS as u64
                    && expected == self.head.seq + 1 + count
                    && record.prev_hash == prev_hash
                    && record.hash_is_valid()
                    && record.to_canonical_json().as_bytes() == line.bytes.as_slice();
                if crash_artifact {
                    self.ahead = Some(Ahead {
                        file: line.file.clone(),
                        count: count + 1,
                        last_hash: record.hash.clone(),
                        ts: record.ts.clone(),
                    });
                } else {
                    // The whole run past the head is suspect: report its start.
                    self.fail(
                        self.head.seq + 1,
                        format!(
                            "{place} holds seq {expected}, which the database does not have \
                             (records past the database's end that are not one interrupted append)"
                        ),
                    );
                }
            }
        }
        self.expected += 1;
        Ok(())
    }

    /// The mirror line the database's record `seq` should have, if it has one.
    fn database_line(&self, seq: u64) -> Result<Option<String>, StoreError> {
        let Ok(seq) = i64::try_from(seq) else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM audit WHERE seq = ?1"
            ))
            .at(self.db_path)?;
        let mut rows = stmt
            .query_map([seq], RawRecord::from_row)
            .at(self.db_path)?;
        let Some(raw) = rows.next() else {
            return Ok(None);
        };
        // A row that does not decode is reported by the database walk; here it
        // simply cannot match any line.
        Ok(Some(match raw.at(self.db_path)?.decode() {
            Ok(record) => record.to_canonical_json(),
            Err(what) => format!("undecodable: {what}"),
        }))
    }

    fn fail(&mut self, seq: u64, problem: String) {
        self.finding = Some(Finding { seq, problem });
    }
}
