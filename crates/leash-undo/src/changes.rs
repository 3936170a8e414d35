//! A job's changes and whether each can be undone (`leash jobs show`).

use serde::Serialize;

use crate::error::UndoError;
use crate::journal::Journal;
use leash_store::UndoState;

/// One journaled change of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The journal entry's id (what `leash undo --entry` takes).
    pub entry: i64,
    /// The agent step that made the change; `None` for `leash exec` and entries
    /// journaled before steps were recorded.
    pub step: Option<u32>,
    /// The action's index within its step; `None` as for `step`.
    pub action: Option<u32>,
    /// What the action was (its argv or file write), as journaled.
    pub what: serde_json::Value,
    /// The [`Reversibility`](crate::Reversibility) decided before it ran, as text
    /// (`reversible`, `partly-reversible`, `irreversible`).
    pub class: String,
    /// The entry's journal state: `not_started` (a crash between journal and
    /// finish), `done` or `undone`.
    pub state: String,
    /// The journaled write targets (lossy UTF-8, for display only).
    pub paths: Vec<String>,
    /// yes | no: why | undone | not started
    pub undoable: String,
}

impl Journal {
    /// A job's journaled changes, newest first.
    pub fn changes(&self, job_id: i64) -> Result<Vec<Change>, UndoError> {
        let store = self.store()?;
        let mut out = Vec::new();
        for entry in store.undo_actions_for_job(job_id)? {
            let targets = store.undo_targets(entry.id)?;
            let summary: serde_json::Value =
                serde_json::from_str(&entry.summary).unwrap_or(serde_json::Value::Null);
            let reason = summary
                .get("reason")
                .and_then(|r| r.as_str())
                .unwrap_or("nothing was journaled");
            let undoable = match entry.state {
                UndoState::Undone => "undone".to_owned(),
                UndoState::NotStarted => "not started".to_owned(),
                UndoState::Done if targets.is_empty() => format!("no: {reason}"),
                UndoState::Done if entry.class == "partly-reversible" => {
                    format!("partly: {reason}")
                }
                UndoState::Done => "yes".to_owned(),
            };
            out.push(Change {
                entry: entry.id,
                step: entry.step,
                action: entry.action,
                what: summary.get("what").cloned().unwrap_or(summary.clone()),
                class: entry.class.clone(),
                state: entry.state.as_str().to_owned(),
                paths: targets
                    .iter()
                    .map(|t| t.path.to_string_lossy().into_owned())
                    .collect(),
                undoable,
            });
        }
        Ok(out)
    }
}
