//! The rollback journal's rows (tables of migration 4). The snapshot documents
//! in `before` / `after` are defined by leash-undo; the store only keeps them,
//! committed with `synchronous=FULL` so an entry is on disk before the action
//! it describes runs.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, Row, params};

use crate::error::{SqliteResultExt, StoreError};
use crate::store::Store;
use crate::timestamp::now_rfc3339;

/// Where an undo entry stands. Closed: every reader handles each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndoState {
    /// Journaled; the action had not (knowingly) finished. A crash leaves it
    /// here, and undo skips it unless the files show the action happened.
    NotStarted,
    /// The action ran; the after-images are recorded.
    Done,
    /// `leash undo` restored the pre-images.
    Undone,
}

impl UndoState {
    /// The spelling stored in the journal table.
    pub fn as_str(self) -> &'static str {
        match self {
            UndoState::NotStarted => "not_started",
            UndoState::Done => "done",
            UndoState::Undone => "undone",
        }
    }

    /// Parses the stored spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<UndoState> {
        match text {
            "not_started" => Some(UndoState::NotStarted),
            "done" => Some(UndoState::Done),
            "undone" => Some(UndoState::Undone),
            _ => None,
        }
    }
}

/// A new journal entry: what it belongs to and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUndoAction {
    /// The job whose action it was (`leash exec` has none).
    pub job_id: Option<i64>,
    /// The agent-loop step that proposed it.
    pub step: Option<u32>,
    /// Its place among the step's actions.
    pub action: Option<u32>,
    /// The argv or action, as JSON text, for people.
    pub summary: String,
    /// reversible | partly-reversible | irreversible.
    pub class: String,
}

/// One target's pre-image, as inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUndoTarget {
    /// The path the action may change.
    pub path: PathBuf,
    /// Whether the whole tree under it was captured.
    pub recursive: bool,
    /// The pre-image: leash-undo's snapshot document, as JSON text.
    pub before: String,
}

/// A journal entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoAction {
    /// The entry's id (`leash undo --action ID`).
    pub id: i64,
    /// The job whose action it was.
    pub job_id: Option<i64>,
    /// The agent-loop step that proposed it.
    pub step: Option<u32>,
    /// Its place among the step's actions.
    pub action: Option<u32>,
    /// The audit record of the command it journals, once linked.
    pub audit_seq: Option<u64>,
    /// The argv or action, as JSON text, for people.
    pub summary: String,
    /// reversible | partly-reversible | irreversible.
    pub class: String,
    /// Whether the action ran, and whether it was undone.
    pub state: UndoState,
    /// When it was journaled (RFC 3339).
    pub created_at: String,
    /// When its state last changed.
    pub updated_at: String,
}

/// A target row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoTarget {
    /// The row id.
    pub id: i64,
    /// The journal entry it belongs to.
    pub action_id: i64,
    /// The path the action may change.
    pub path: PathBuf,
    /// Whether the whole tree under it was captured.
    pub recursive: bool,
    /// The pre-image (snapshot document as JSON text).
    pub before: String,
    /// The after-image, recorded once the action ran: undo restores only
    /// what still matches it, so a later change by someone else is kept.
    pub after: Option<String>,
}

const ACTION_COLUMNS: &str =
    "id, job_id, step, action, audit_seq, summary, class, state, created_at, updated_at";
const TARGET_COLUMNS: &str = "id, action_id, path, recursive, before, after";

fn action_from_row(row: &Row<'_>) -> rusqlite::Result<(UndoAction, String)> {
    let state: String = row.get(7)?;
    Ok((
        UndoAction {
            id: row.get(0)?,
            job_id: row.get(1)?,
            step: row.get(2)?,
            action: row.get(3)?,
            audit_seq: row.get(4)?,
            summary: row.get(5)?,
            class: row.get(6)?,
            state: UndoState::NotStarted,
            created_at: row.get(8)?,
            updated_at: row.get(9)?,
        },
        state,
    ))
}

fn target_from_row(row: &Row<'_>) -> rusqlite::Result<UndoTarget> {
    let path: Vec<u8> = row.get(2)?;
    Ok(UndoTarget {
        id: row.get(0)?,
        action_id: row.get(1)?,
        path: PathBuf::from(OsString::from_vec(path)),
        recursive: row.get(3)?,
        before: row.get(4)?,
        after: row.get(5)?,
    })
}

fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

impl Store {
    /// Journals an action and its targets' pre-images in one transaction, in
    /// state `not_started`. Returns the entry's id and its target ids.
    /// `durable: false` commits without waiting for fsync: the caller then
    /// makes the database durable itself (one `syncfs` with the pre-images
    /// and the action's own file) before the action's effect.
    pub fn undo_begin(
        &mut self,
        action: &NewUndoAction,
        targets: &[NewUndoTarget],
        durable: bool,
    ) -> Result<(i64, Vec<i64>), StoreError> {
        self.with_synchronous(durable, |store| store.undo_begin_tx(action, targets))
    }

    /// Runs `f` with `synchronous=NORMAL` (no fsync at commit) unless `durable`.
    fn with_synchronous<T>(
        &mut self,
        durable: bool,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !durable {
            self.conn
                .pragma_update(None, "synchronous", "NORMAL")
                .at(&self.path)?;
        }
        let result = f(self);
        if !durable {
            self.conn
                .pragma_update(None, "synchronous", "FULL")
                .at(&self.path)?;
        }
        result
    }

    fn undo_begin_tx(
        &mut self,
        action: &NewUndoAction,
        targets: &[NewUndoTarget],
    ) -> Result<(i64, Vec<i64>), StoreError> {
        let now = now_rfc3339();
        let tx = self.conn.transaction().at(&self.path)?;
        tx.execute(
            "INSERT INTO undo_actions (job_id, step, action, summary, class, state, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            params![
                action.job_id,
                action.step,
                action.action,
                action.summary,
                action.class,
                UndoState::NotStarted.as_str(),
                now
            ],
        )
        .at(&self.path)?;
        let id = tx.last_insert_rowid();
        let mut ids = Vec::with_capacity(targets.len());
        for t in targets {
            tx.execute(
                "INSERT INTO undo_targets (action_id, path, recursive, before) VALUES (?1, ?2, ?3, ?4)",
                params![id, path_bytes(&t.path), t.recursive, t.before],
            )
            .at(&self.path)?;
            ids.push(tx.last_insert_rowid());
        }
        tx.commit().at(&self.path)?;
        Ok((id, ids))
    }

    /// Records the after-images, links the entry to its `undo.journaled`
    /// audit record and moves it to `state`, in one transaction. `durable:
    /// false` commits without waiting for fsync (WAL `synchronous=NORMAL`
    /// for this one commit): for marks whose loss a crash may cost, never
    /// for an entry a pre-image depends on.
    pub fn undo_finish(
        &mut self,
        id: i64,
        state: UndoState,
        after: &[(i64, String)],
        audit_seq: Option<u64>,
        durable: bool,
    ) -> Result<(), StoreError> {
        self.with_synchronous(durable, |store| {
            store.undo_finish_tx(id, state, after, audit_seq)
        })
    }

    fn undo_finish_tx(
        &mut self,
        id: i64,
        state: UndoState,
        after: &[(i64, String)],
        audit_seq: Option<u64>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction().at(&self.path)?;
        for (target, doc) in after {
            tx.execute(
                "UPDATE undo_targets SET after = ?2 WHERE id = ?1 AND action_id = ?3",
                params![target, doc, id],
            )
            .at(&self.path)?;
        }
        let changed = tx
            .execute(
                "UPDATE undo_actions SET state = ?2, updated_at = ?3, \
                 audit_seq = coalesce(?4, audit_seq) WHERE id = ?1",
                params![id, state.as_str(), now_rfc3339(), audit_seq],
            )
            .at(&self.path)?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                table: "undo_actions",
                id,
                path: self.path.clone(),
            });
        }
        tx.commit().at(&self.path)
    }

    fn undo_actions_where(
        &self,
        clause: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<UndoAction>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {ACTION_COLUMNS} FROM undo_actions WHERE {clause}"
            ))
            .at(&self.path)?;
        let rows = stmt
            .query_map(params, action_from_row)
            .at(&self.path)?
            .collect::<Result<Vec<_>, _>>()
            .at(&self.path)?;
        rows.into_iter()
            .map(|(mut action, state)| {
                action.state = UndoState::parse(&state).ok_or_else(|| StoreError::Corrupt {
                    path: self.path.clone(),
                    what: format!("undo_actions row {} has unknown state {state:?}", action.id),
                })?;
                Ok(action)
            })
            .collect()
    }

    /// One journal entry.
    pub fn undo_action(&self, id: i64) -> Result<Option<UndoAction>, StoreError> {
        Ok(self.undo_actions_where("id = ?1", [id])?.pop())
    }

    /// A job's journal entries, newest first.
    pub fn undo_actions_for_job(&self, job_id: i64) -> Result<Vec<UndoAction>, StoreError> {
        self.undo_actions_where("job_id = ?1 ORDER BY id DESC", [job_id])
    }

    /// The newest entry that ran and is not undone.
    pub fn undo_last_done(&self) -> Result<Option<UndoAction>, StoreError> {
        Ok(self
            .undo_actions_where("state = 'done' ORDER BY id DESC LIMIT 1", [])?
            .pop())
    }

    /// Entries created before `before` (an RFC 3339 timestamp), oldest first.
    pub fn undo_actions_before(&self, before: &str) -> Result<Vec<UndoAction>, StoreError> {
        self.undo_actions_where("created_at < ?1 ORDER BY id", [before])
    }

    /// Every entry, oldest first.
    pub fn undo_actions_all(&self) -> Result<Vec<UndoAction>, StoreError> {
        self.undo_actions_where("1 ORDER BY id", [])
    }

    /// An entry's targets, in journal order.
    pub fn undo_targets(&self, action_id: i64) -> Result<Vec<UndoTarget>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {TARGET_COLUMNS} FROM undo_targets WHERE action_id = ?1 ORDER BY id"
            ))
            .at(&self.path)?;
        stmt.query_map([action_id], target_from_row)
            .at(&self.path)?
            .collect::<Result<Vec<_>, _>>()
            .at(&self.path)
    }

    /// Later entries (by id) that journaled `path`, for "changed since".
    pub fn undo_later_touching(&self, after_id: i64, path: &Path) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT a.id FROM undo_targets t JOIN undo_actions a ON a.id = t.action_id \
                 WHERE t.path = ?2 AND a.id > ?1 AND a.state = 'done' ORDER BY a.id",
            )
            .at(&self.path)?;
        stmt.query_map(params![after_id, path_bytes(path)], |row| row.get(0))
            .at(&self.path)?
            .collect::<Result<Vec<_>, _>>()
            .at(&self.path)
    }

    /// Deletes an entry and its targets (pruning).
    pub fn undo_delete(&mut self, id: i64) -> Result<(), StoreError> {
        let tx = self.conn.transaction().at(&self.path)?;
        tx.execute("DELETE FROM undo_targets WHERE action_id = ?1", [id])
            .at(&self.path)?;
        tx.execute("DELETE FROM undo_actions WHERE id = ?1", [id])
            .at(&self.path)?;
        tx.commit().at(&self.path)
    }

    /// Whether any journal row exists for `id` (used by tests and `jobs show`).
    pub fn undo_exists(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM undo_actions WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .at(&self.path)?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn an_entry_round_trips_with_a_non_utf8_path() {
        let mut store = Store::open_in_memory().unwrap();
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(b"/ws/bad\xffname\nx"));
        let (id, targets) = store
            .undo_begin(
                &NewUndoAction {
                    job_id: Some(3),
                    step: Some(1),
                    action: Some(0),
                    summary: "[\"tee\"]".into(),
                    class: "reversible".into(),
                },
                &[NewUndoTarget {
                    path: path.clone(),
                    recursive: false,
                    before: "{}".into(),
                }],
                true,
            )
            .unwrap();
        let entry = store.undo_action(id).unwrap().unwrap();
        assert_eq!(entry.state, UndoState::NotStarted);
        store
            .undo_finish(
                id,
                UndoState::Done,
                &[(targets[0], "{\"a\":1}".into())],
                Some(9),
                false,
            )
            .unwrap();
        assert_eq!(store.undo_action(id).unwrap().unwrap().audit_seq, Some(9));
        let rows = store.undo_targets(id).unwrap();
        assert_eq!(rows[0].path, path);
        assert_eq!(rows[0].after.as_deref(), Some("{\"a\":1}"));
        assert_eq!(store.undo_last_done().unwrap().unwrap().id, id);
        assert_eq!(store.undo_actions_for_job(3).unwrap().len(), 1);
        store.undo_delete(id).unwrap();
        assert!(!store.undo_exists(id).unwrap());
    }
}
