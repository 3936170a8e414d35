//! A job's changes and whether each can be undone (`leash jobs show`).

use serde::Serialize;

use crate::error::UndoError;
use crate::journal::Journal;
use leash_store::UndoState;

/// One journaled change of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub entry: i64,
    pub step: Option<u32>,
    pub action: Option<u32>,
    pub what: serde_json::Value,
    pub class: String,
    pub state: String,
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
