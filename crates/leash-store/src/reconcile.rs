//! Bringing the mirror and the database together when the log is opened for
//! appending. Only the two states an interrupted append can leave are repaired;
//! a newly configured mirror is filled from the database; everything else is
//! refused, for `verify` to report.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, TransactionBehavior};
use serde_json::json;

use crate::audit_log::write_records;
use crate::audit_record::AuditRecord;
use crate::audit_table::{
    ChainHead, decode_for_reading, insert_record, mark_mirror_started, mirror_started_at, raw_at,
    read_head, records_where,
};
use crate::durability::MAX_GROUP_RECORDS;
use crate::error::{SqliteResultExt, StoreError, io_error};
use crate::group_commit::AuditEntry;
use crate::mirror_files::{MirrorFile, file_tail, read_lines, rotated_files};
use crate::mirror_writer::{MirrorUndo, MirrorWriter};
use crate::timestamp::now_rfc3339;
use leash_protocol::AuditKind;

/// The kind of the record that notes a repair in the chain itself.
pub const RECOVERED_KIND: &str = AuditKind::AuditRecovered.as_str();

/// Runs the open-time reconciliation in one `BEGIN IMMEDIATE` transaction.
pub(crate) fn reconcile(
    conn: &mut Connection,
    db_path: &Path,
    mirror: &mut MirrorWriter,
) -> Result<(), StoreError> {
    let active = mirror.path().to_path_buf();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .at(db_path)?;
    let mut repairs = Vec::new();
    if let Some(bytes) = cut_torn_tail(&active)? {
        repairs.push(json!({
            "repair": "partial_line_removed",
            "mirror": active.to_string_lossy(),
            "bytes": bytes,
        }));
    }
    let head = read_head(&tx, db_path)?;
    match last_mirror_record(&active)? {
        None => start_mirror(&tx, db_path, mirror, &head)?,
        Some((file, line)) => {
            for adopted in check_tail(&tx, db_path, &file, &line, &head)? {
                tracing::warn!(
                    mirror = %file.display(),
                    seq = adopted.seq,
                    "audit: adopting a record the mirror has and the database lacks \
                     (an append was interrupted before its commit)"
                );
                insert_record(&tx, db_path, &adopted)?;
                repairs.push(json!({
                    "repair": "record_adopted_from_mirror",
                    "mirror": file.to_string_lossy(),
                    "seq": adopted.seq,
                }));
            }
            let head = read_head(&tx, db_path)?;
            mark_mirror_started(&tx, db_path, &active, head.seq + 1, &now_rfc3339())?;
        }
    }
    let mut undos: Vec<MirrorUndo> = Vec::new();
    for repair in repairs {
        let entry = AuditEntry::new(None, AuditKind::AuditRecovered, repair);
        let (_, undo) = write_records(&tx, db_path, Some(&mut *mirror), vec![entry])?;
        undos.extend(undo);
    }
    let committed = match mirror.before_commit() {
        Ok(()) => tx.commit(),
        Err(err) => {
            for undo in undos.into_iter().rev() {
                mirror.undo(undo);
            }
            return Err(err);
        }
    };
    if let Err(err) = committed {
        for undo in undos.into_iter().rev() {
            mirror.undo(undo);
        }
        return Err(StoreError::Sqlite {
            path: db_path.to_path_buf(),
            source: err,
        });
    }
    mirror.sync()
}

/// Cuts a partial last line off the active file; returns how many bytes went.
fn cut_torn_tail(active: &Path) -> Result<Option<u64>, StoreError> {
    let Some(tail) = file_tail(active)? else {
        return Ok(None);
    };
    if tail.complete_end == tail.len {
        return Ok(None);
    }
    let file = OpenOptions::new()
        .write(true)
        .open(active)
        .map_err(io_error("cannot open audit mirror", active))?;
    file.set_len(tail.complete_end)
        .and_then(|()| file.sync_all())
        .map_err(io_error(
            "cannot cut the partial last line of audit mirror",
            active,
        ))?;
    let cut = tail.len - tail.complete_end;
    tracing::warn!(
        mirror = %active.display(),
        bytes = cut,
        "audit: removed a partial last line from the mirror (an append was interrupted)"
    );
    Ok(Some(cut))
}

/// The mirror's last complete line: from the active file, else from the newest
/// rotated file that has one.
fn last_mirror_record(active: &Path) -> Result<Option<(PathBuf, Vec<u8>)>, StoreError> {
    if let Some(line) = file_tail(active)?.and_then(|tail| tail.last_line) {
        return Ok(Some((active.to_path_buf(), line)));
    }
    for rotated in rotated_files(active)?.into_iter().rev() {
        if let Some(line) = file_tail(&rotated.path)?.and_then(|tail| tail.last_line) {
            return Ok(Some((rotated.path, line)));
        }
    }
    Ok(None)
}

/// A mirror with no records: fine for an empty log; filled from the database
/// for a log that predates the mirror; refused if the database says the mirror
/// existed (its files were deleted).
fn start_mirror(
    tx: &Connection,
    db_path: &Path,
    mirror: &mut MirrorWriter,
    head: &ChainHead,
) -> Result<(), StoreError> {
    let active = mirror.path().to_path_buf();
    if head.seq > 0 {
        if let Some(started_seq) = mirror_started_at(tx, db_path, &active)? {
            return Err(StoreError::MirrorMissing {
                path: active,
                started_seq,
            });
        }
        tracing::info!(
            mirror = %active.display(),
            records = head.seq,
            "audit: starting a new mirror; copying the existing chain into it"
        );
        for record in records_where(tx, db_path, "seq > ?1", 0)? {
            mirror.append(&record.to_canonical_json())?;
        }
    }
    mark_mirror_started(tx, db_path, &active, head.seq + 1, &now_rfc3339())
}

/// Compares the mirror's last record with the database head. Returns the
/// records to adopt when the mirror is at most one group
/// ([`MAX_GROUP_RECORDS`]) of complete, correctly chained records ahead.
fn check_tail(
    tx: &Connection,
    db_path: &Path,
    file: &Path,
    line: &[u8],
    head: &ChainHead,
) -> Result<Vec<AuditRecord>, StoreError> {
    let disagree = |seq: u64, problem: String| StoreError::MirrorDisagrees {
        path: file.to_path_buf(),
        seq,
        problem,
    };
    let record: AuditRecord = serde_json::from_slice(line).map_err(|err| {
        disagree(
            head.seq + 1,
            format!("its last line is not an audit record: {err}"),
        )
    })?;
    let ahead = record.seq.saturating_sub(head.seq);
    if ahead > 0 && ahead <= MAX_GROUP_RECORDS as u64 {
        return ahead_group(file, head, ahead).map_err(|(seq, problem)| disagree(seq, problem));
    }
    if record.seq > head.seq {
        return Err(disagree(
            head.seq + 1,
            format!(
                "it ends at seq {} but the database ends at seq {}",
                record.seq, head.seq
            ),
        ));
    }
    if record.seq < head.seq {
        return Err(disagree(
            record.seq + 1,
            format!(
                "it ends at seq {} but the database goes on to seq {} (the mirror was truncated)",
                record.seq, head.seq
            ),
        ));
    }
    let matches = match raw_at(tx, db_path, head.seq)? {
        Some(raw) => {
            decode_for_reading(raw, db_path)?
                .to_canonical_json()
                .as_bytes()
                == line
        }
        None => false,
    };
    if matches {
        Ok(Vec::new())
    } else {
        Err(disagree(
            head.seq,
            "its last record differs from the database's".to_owned(),
        ))
    }
}

/// The last `ahead` records of `file`, checked to chain from `head` one by one
/// (seq, prev_hash, hash, canonical form): the group an interrupted append
/// left in the mirror. A group never spans files (the writer rotates only
/// before a group), so they are all in `file`. Reads the whole file, which
/// only happens on the first open after such a crash.
fn ahead_group(
    file: &Path,
    head: &ChainHead,
    ahead: u64,
) -> Result<Vec<AuditRecord>, (u64, String)> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let only = [MirrorFile {
        path: file.to_path_buf(),
        rotation: None,
    }];
    read_lines(&only, |line| {
        if line.complete {
            lines.push(line.bytes);
        }
        Ok(())
    })
    .map_err(|err| (head.seq + 1, err.to_string()))?;
    let count = usize::try_from(ahead).unwrap_or(usize::MAX);
    if lines.len() < count {
        return Err((
            head.seq + 1,
            format!("it is {ahead} records ahead of the database but its file holds fewer"),
        ));
    }
    let first = head.seq + 1;
    let (mut seq, mut prev_hash) = (head.seq, head.hash.clone());
    let mut adopted: Vec<AuditRecord> = Vec::with_capacity(count);
    for line in &lines[lines.len() - count..] {
        seq += 1;
        let record: AuditRecord = serde_json::from_slice(line).map_err(|err| {
            (
                first,
                format!("line for seq {seq} is not an audit record: {err}"),
            )
        })?;
        // One interrupted transaction: chained from the head, one timestamp.
        let chains = record.seq == seq
            && record.prev_hash == prev_hash
            && record.hash_is_valid()
            && record.to_canonical_json().as_bytes() == line.as_slice()
            && adopted.first().is_none_or(|group| group.ts == record.ts);
        if !chains {
            let problem = if count == 1 {
                "its last record is ahead of the database but does not chain to it".to_owned()
            } else {
                format!(
                    "it ends {count} records ahead of the database, which is not one \
                     interrupted append (they do not chain to it as one group)"
                )
            };
            return Err((first, problem));
        }
        prev_hash.clone_from(&record.hash);
        adopted.push(record);
    }
    Ok(adopted)
}
