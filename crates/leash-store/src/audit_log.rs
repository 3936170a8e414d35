//! The tamper-evident audit log: a sha256 hash chain in the `audit` table,
//! mirrored line by line to a JSONL file.
//!
//! # How an append stays consistent
//!
//! Everything happens inside one `BEGIN IMMEDIATE` transaction, which is
//! SQLite's write lock: appends from threads (this handle's mutex) and from
//! other processes (the database lock) are serialized. Inside it we read the
//! head (seq, hash), build the records of the group (see below), **write their
//! mirror lines first** in one write (fsynced once in [`Durability::Fsync`]
//! mode), then insert the rows and commit (one WAL fsync with
//! `synchronous=FULL`). A crash between the two leaves the mirror *ahead* of
//! the database by at most one group ([`MAX_GROUP_RECORDS`] complete,
//! correctly chained records), or with a partial last line; [`AuditLog::open`]
//! adopts the first and cuts the second (and records that it did, as an
//! `audit.recovered` record), and [`AuditLog::verify`] tolerates both. Writing
//! the database first would instead leave a committed record missing from the
//! mirror — which is exactly what truncating the mirror looks like, so it could
//! not be tolerated.
//!
//! # Group commit
//!
//! A caller that needs several records durable before an effect (a decision and
//! `command.started` before a spawn) appends them with
//! [`AuditLog::append_group`]: one transaction, one fsync of each file. Appends
//! from other threads that arrive while a transaction is being written wait and
//! then share the next one ([`crate::group_commit`]), instead of each paying its
//! own fsyncs in turn.
//!
//! # Held records
//!
//! Records that precede no effect — the agent loop's `job.started`,
//! `model.prompt`, `model.output` — need not cost a durable point of their
//! own. [`AuditLog::hold`] keeps them in memory (never written unsynced: a
//! power cut could then leave the mirror behind the database, which `open`
//! refuses) and the next durable point writes them first, in the same
//! transaction: the next [`AuditLog::append`] / [`AuditLog::append_group`] —
//! typically a decision and `command.started` before a spawn, or the job's
//! end — or [`AuditLog::flush`] and drop. A crash loses what is held, and
//! only that: records about model calls whose plan had not reached an effect
//! yet. Held records carry the time they became durable.
//!
//! Trade-off, stated plainly: because the mirror can lead by one group, anyone
//! able to write the mirror file can get up to [`MAX_GROUP_RECORDS`]
//! well-formed, correctly chained records adopted at the next open. The adoption is logged and recorded in the
//! chain itself. (The chain is unkeyed, so anyone able to write the database can
//! rewrite all of it anyway; the mirror is a second copy, not a signature.)

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use leash_protocol::AuditKind;
use leash_protocol::audit::AuditPayload;
use rusqlite::{Connection, TransactionBehavior};

use crate::audit_record::AuditRecord;
use crate::audit_table::{insert_record, read_head, records_where};
use crate::connection::{self, Synchronous};
use crate::durability::{Durability, MAX_GROUP_RECORDS};
use crate::error::{SqliteResultExt, StoreError};
use crate::group_commit::{AuditEntry, GroupCommit};
use crate::migrations;
use crate::mirror_writer::{MirrorUndo, MirrorWriter};
use crate::reconcile::reconcile;
use crate::timestamp::now_rfc3339;
use crate::verify::{VerifyReport, verify_log};

/// How the audit log is written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditOptions {
    /// The JSONL mirror's active file (`logging.audit_log`), if any.
    pub mirror: Option<PathBuf>,
    /// Fsync per record, or batched.
    pub durability: Durability,
    /// Rotate the active mirror file before it would grow past this many bytes
    /// (0: never rotate). Rotated files are kept, never deleted by leash.
    pub rotate_bytes: u64,
}

/// A handle on the audit log. `Sync`: share one between threads (appends are
/// serialized by a mutex here and by SQLite's write lock across processes).
#[derive(Debug)]
pub struct AuditLog {
    db_path: PathBuf,
    mirror_path: Option<PathBuf>,
    writable: bool,
    durability: Durability,
    inner: Mutex<Inner>,
    group: GroupCommit,
    /// Records waiting for the next durable point ([`AuditLog::hold`]).
    held: Mutex<Vec<AuditEntry>>,
    /// Transactions this handle committed (each one fsync per file with
    /// `Fsync`); fewer than records when group commit shared them.
    transactions: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    conn: Connection,
    mirror: Option<MirrorWriter>,
}

impl AuditLog {
    /// Opens the log for appending: opens and migrates the database, then, under
    /// the write lock, brings the mirror and the database together — cuts a
    /// partial last mirror line, adopts a mirror record one ahead of the
    /// database, or fills a newly configured mirror from the database. Any other
    /// disagreement is refused ([`StoreError::MirrorDisagrees`],
    /// [`StoreError::MirrorMissing`]): leash does not write to a log that looks
    /// tampered with.
    pub fn open(db_path: &Path, options: AuditOptions) -> Result<AuditLog, StoreError> {
        let synchronous = match options.durability {
            Durability::Fsync => Synchronous::Full,
            Durability::Batched => Synchronous::Normal,
        };
        let mut conn = connection::open_read_write(db_path, synchronous)?;
        migrations::migrate(&mut conn, db_path)?;
        let mut mirror = options
            .mirror
            .clone()
            .map(|path| MirrorWriter::new(path, options.rotate_bytes, options.durability));
        if let Some(writer) = mirror.as_mut() {
            reconcile(&mut conn, db_path, writer)?;
        }
        Ok(AuditLog {
            db_path: db_path.to_path_buf(),
            mirror_path: options.mirror,
            writable: true,
            durability: options.durability,
            inner: Mutex::new(Inner { conn, mirror }),
            group: GroupCommit::default(),
            held: Mutex::new(Vec::new()),
            transactions: AtomicU64::new(0),
        })
    }

    /// Opens the log for reading and verifying only: no migration, no recovery,
    /// no appends. A database file that does not exist reads as an empty log
    /// (so a mirror left without its database is still checked).
    pub fn open_read_only(db_path: &Path, mirror: Option<PathBuf>) -> Result<AuditLog, StoreError> {
        let existing = if db_path.exists() {
            let conn = connection::open_existing(db_path)?;
            let version = migrations::refuse_newer(&conn, db_path)?;
            (version > 0).then_some(conn)
        } else {
            None
        };
        let conn = match existing {
            Some(conn) => conn,
            None => {
                let mut empty = Connection::open_in_memory().at(db_path)?;
                migrations::migrate(&mut empty, db_path)?;
                empty
            }
        };
        Ok(AuditLog {
            db_path: db_path.to_path_buf(),
            mirror_path: mirror,
            writable: false,
            durability: Durability::Fsync,
            inner: Mutex::new(Inner { conn, mirror: None }),
            group: GroupCommit::default(),
            held: Mutex::new(Vec::new()),
            transactions: AtomicU64::new(0),
        })
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// The mirror's active file, if configured.
    pub fn mirror_path(&self) -> Option<&Path> {
        self.mirror_path.as_deref()
    }

    /// Appends one record and returns it (with its seq and hash). When this
    /// returns `Ok` the record is committed (and, with `Fsync`, on disk in both
    /// places); when it returns `Err` it was not added.
    pub fn append(
        &self,
        job_id: Option<i64>,
        kind: AuditKind,
        payload: serde_json::Value,
    ) -> Result<AuditRecord, StoreError> {
        let mut records = self.append_group(vec![AuditEntry::new(job_id, kind, payload)])?;
        records.pop().ok_or_else(|| StoreError::Corrupt {
            path: self.db_path.clone(),
            what: "an append returned no record".to_owned(),
        })
    }

    /// Appends one record with a typed payload (see [`AuditEntry::typed`]).
    pub fn append_typed<P: AuditPayload>(
        &self,
        job_id: Option<i64>,
        payload: &P,
    ) -> Result<AuditRecord, StoreError> {
        self.append(job_id, P::KIND, payload.to_value())
    }

    /// Appends several records as one unit, in order, with nothing between
    /// them: one transaction, one fsync of the mirror and one of the database
    /// (with `Fsync`) for the whole group — the way to make everything that
    /// must be durable before an effect durable at once. When this returns `Ok`
    /// all of them are committed; when it returns `Err` none was added. (A
    /// group larger than [`MAX_GROUP_RECORDS`] is written as several
    /// transactions, each all-or-nothing.)
    pub fn append_group(&self, entries: Vec<AuditEntry>) -> Result<Vec<AuditRecord>, StoreError> {
        if !self.writable {
            return Err(StoreError::ReadOnly {
                path: self.db_path.clone(),
            });
        }
        // Nothing to make durable: no transaction, no fsync.
        if entries.is_empty() && self.held() == 0 {
            return Ok(Vec::new());
        }
        self.group
            .submit(&self.db_path, entries, |batch| self.write_with_held(batch))
    }

    /// Writes a group-commit batch with the held records first. They are
    /// taken here, by the writer of the batch, so a record held before an
    /// append is always written no later than that append, and before it.
    fn write_with_held(&self, batch: Vec<AuditEntry>) -> Result<Vec<AuditRecord>, StoreError> {
        let held = std::mem::take(&mut *self.lock_held()?);
        if held.is_empty() {
            return self.write_batch(batch);
        }
        if held.len() + batch.len() > MAX_GROUP_RECORDS {
            // Together they would be split across transactions, and a
            // caller's group with them: the held records go first, alone.
            if let Err(err) = self.write_batch(held.clone()) {
                self.hold_again(held)?;
                return Err(err);
            }
            return self.write_batch(batch);
        }
        let held_count = held.len();
        let mut all = held.clone();
        all.extend(batch);
        match self.write_batch(all) {
            Ok(mut records) => Ok(records.split_off(held_count.min(records.len()))),
            Err(err) => {
                self.hold_again(held)?;
                Err(err)
            }
        }
    }

    /// Puts back held records whose transaction failed (one transaction, so
    /// none of them was added), ahead of any held since.
    fn hold_again(&self, held: Vec<AuditEntry>) -> Result<(), StoreError> {
        let mut now = self.lock_held()?;
        let later = std::mem::replace(&mut *now, held);
        now.extend(later);
        Ok(())
    }

    /// Keeps a record that precedes no effect in memory until the next
    /// durable point writes it, first, in its own transaction (see "Held
    /// records" above). At most half of [`MAX_GROUP_RECORDS`] are held: the
    /// one that would exceed that writes them all now.
    pub fn hold(
        &self,
        job_id: Option<i64>,
        kind: AuditKind,
        payload: serde_json::Value,
    ) -> Result<(), StoreError> {
        if !self.writable {
            return Err(StoreError::ReadOnly {
                path: self.db_path.clone(),
            });
        }
        let full = {
            let mut held = self.lock_held()?;
            held.push(AuditEntry::new(job_id, kind, payload));
            held.len() >= MAX_GROUP_RECORDS / 2
        };
        if full {
            self.append_group(Vec::new())?;
        }
        Ok(())
    }

    /// [`AuditLog::hold`] with a typed payload.
    pub fn hold_typed<P: AuditPayload>(
        &self,
        job_id: Option<i64>,
        payload: &P,
    ) -> Result<(), StoreError> {
        self.hold(job_id, P::KIND, payload.to_value())
    }

    /// How many records are held for the next durable point.
    pub fn held(&self) -> usize {
        self.lock_held().map(|held| held.len()).unwrap_or(0)
    }

    /// Writes `entries` in transactions of at most [`MAX_GROUP_RECORDS`].
    fn write_batch(&self, entries: Vec<AuditEntry>) -> Result<Vec<AuditRecord>, StoreError> {
        let mut written = Vec::with_capacity(entries.len());
        let mut rest = entries;
        while !rest.is_empty() {
            let tail = rest.split_off(MAX_GROUP_RECORDS.min(rest.len()));
            written.extend(self.write_transaction(rest)?);
            rest = tail;
        }
        Ok(written)
    }

    /// One transaction: mirror lines (one write, one fsync), rows, commit.
    fn write_transaction(&self, entries: Vec<AuditEntry>) -> Result<Vec<AuditRecord>, StoreError> {
        let mut guard = self.lock()?;
        let Inner { conn, mirror } = &mut *guard;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .at(&self.db_path)?;
        let (records, undo) = write_records(&tx, &self.db_path, mirror.as_mut(), entries)?;
        let committed = match mirror.as_mut().map(MirrorWriter::before_commit) {
            Some(Err(err)) => Err(err),
            _ => tx.commit().at(&self.db_path),
        };
        if let Err(err) = committed {
            if let (Some(writer), Some(undo)) = (mirror.as_mut(), undo) {
                writer.undo(undo);
            }
            return Err(err);
        }
        self.transactions.fetch_add(1, Ordering::Relaxed);
        if let Some(writer) = mirror.as_mut() {
            // The records are committed; a failed batch fsync must not make
            // the caller believe otherwise.
            if let Err(err) = writer.committed() {
                tracing::warn!(error = %err, "audit mirror batch fsync failed");
            }
        }
        Ok(records)
    }

    /// How many append transactions this handle has committed (each costs one
    /// fsync of the mirror and one of the database with `Fsync`).
    pub fn transactions_committed(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    /// The last `n` records, oldest first.
    pub fn tail(&self, n: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let guard = self.lock()?;
        records_where(
            &guard.conn,
            &self.db_path,
            "seq IN (SELECT seq FROM audit ORDER BY seq DESC LIMIT ?1)",
            i64::try_from(n).unwrap_or(i64::MAX),
        )
    }

    /// Records with a seq greater than `seq`, oldest first.
    pub fn after(&self, seq: u64) -> Result<Vec<AuditRecord>, StoreError> {
        let guard = self.lock()?;
        records_where(
            &guard.conn,
            &self.db_path,
            "seq > ?1",
            i64::try_from(seq).unwrap_or(i64::MAX),
        )
    }

    /// At most `limit` records with a seq greater than `seq`, oldest first
    /// (a page of a follower's read; seqs have no gaps).
    pub fn after_limited(&self, seq: u64, limit: u64) -> Result<Vec<AuditRecord>, StoreError> {
        let guard = self.lock()?;
        let from = i64::try_from(seq).unwrap_or(i64::MAX);
        let to = from.saturating_add(i64::try_from(limit).unwrap_or(i64::MAX));
        records_where(
            &guard.conn,
            &self.db_path,
            &format!("seq > ?1 AND seq <= {to}"),
            from,
        )
    }

    /// The records about job `job_id`, oldest first.
    pub fn for_job(&self, job_id: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let guard = self.lock()?;
        records_where(&guard.conn, &self.db_path, "job_id = ?1", job_id)
    }

    /// The seq of the newest record (0 for an empty log).
    pub fn head_seq(&self) -> Result<u64, StoreError> {
        let guard = self.lock()?;
        let seq: i64 = guard
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |row| {
                row.get(0)
            })
            .at(&self.db_path)?;
        Ok(u64::try_from(seq).unwrap_or(0))
    }

    /// Every record, oldest first.
    pub fn all(&self) -> Result<Vec<AuditRecord>, StoreError> {
        let guard = self.lock()?;
        records_where(&guard.conn, &self.db_path, "seq > ?1", i64::MIN)
    }

    /// Checks the database chain and the mirror against each other. Writes
    /// nothing, but holds the write lock while it reads, so appenders wait.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut guard = self.lock()?;
        let tx = guard
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .at(&self.db_path)?;
        let report = verify_log(&tx, &self.db_path, self.mirror_path.as_deref())?;
        tx.rollback().at(&self.db_path)?;
        Ok(report)
    }

    /// Makes everything appended so far durable: writes the held records,
    /// fsyncs the mirror and, in `Batched` mode, checkpoints the WAL (which
    /// fsyncs it).
    pub fn flush(&self) -> Result<(), StoreError> {
        if self.writable {
            self.append_group(Vec::new())?;
        }
        let mut guard = self.lock()?;
        let Inner { conn, mirror } = &mut *guard;
        if let Some(writer) = mirror.as_mut() {
            writer.sync()?;
        }
        match self.durability {
            Durability::Fsync => Ok(()),
            Durability::Batched => conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                .at(&self.db_path),
        }
    }

    fn lock_held(&self) -> Result<MutexGuard<'_, Vec<AuditEntry>>, StoreError> {
        self.held.lock().map_err(|_| StoreError::Poisoned {
            path: self.db_path.clone(),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner.lock().map_err(|_| StoreError::Poisoned {
            path: self.db_path.clone(),
        })
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if self.writable
            && let Err(err) = self.flush()
        {
            tracing::warn!(error = %err, "could not flush the audit log on close");
        }
    }
}

/// Writes records inside the caller's `BEGIN IMMEDIATE` transaction, chained
/// from the current head: all their mirror lines first (one write), then the
/// rows. If an insert fails the mirror lines are taken back. The caller makes
/// the mirror durable ([`MirrorWriter::before_commit`]) and commits (and undoes
/// the lines if that fails).
pub(crate) fn write_records(
    tx: &Connection,
    db_path: &Path,
    mirror: Option<&mut MirrorWriter>,
    entries: Vec<AuditEntry>,
) -> Result<(Vec<AuditRecord>, Option<MirrorUndo>), StoreError> {
    let head = read_head(tx, db_path)?;
    let mut records: Vec<AuditRecord> = Vec::with_capacity(entries.len());
    let (mut seq, mut prev_hash) = (head.seq, head.hash);
    let at = now_rfc3339();
    for entry in entries {
        seq += 1;
        let record = AuditRecord::seal(
            seq,
            at.clone(),
            entry.job_id,
            entry.kind.as_str(),
            entry.payload,
            &prev_hash,
        );
        prev_hash.clone_from(&record.hash);
        records.push(record);
    }
    let Some(writer) = mirror else {
        for record in &records {
            insert_record(tx, db_path, record)?;
        }
        return Ok((records, None));
    };
    let lines: Vec<String> = records.iter().map(AuditRecord::to_canonical_json).collect();
    let undo = writer.append_lines(&lines)?;
    for record in &records {
        if let Err(err) = insert_record(tx, db_path, record) {
            writer.undo(undo);
            return Err(err);
        }
    }
    Ok((records, Some(undo)))
}
