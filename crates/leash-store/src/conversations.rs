//! A job's conversation with the model, message by message, so that what the
//! model was told and answered survives the process (for `leash jobs show`, for
//! resuming an interrupted job, for replaying an incident).
//!
//! The table's `step` column is the message's position in the conversation
//! (0 = system prompt, 1 = task, then alternating answers and results), not the
//! agent step: one agent step adds two messages.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::error::{SqliteResultExt, StoreError};
use crate::store::Store;
use crate::timestamp::now_rfc3339;

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationMessage {
    /// The job the conversation belongs to.
    pub job_id: i64,
    /// Position in the conversation, from 0.
    pub position: i64,
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The message text (from the model: untrusted, shown escaped).
    pub content: String,
    /// When it was stored (RFC 3339).
    pub created_at: String,
}

impl Store {
    /// Stores message `position` of job `job_id`. Writing the same position
    /// again replaces it (a conversation trimmed and re-grown after a re-ask).
    pub fn put_message(
        &self,
        job_id: i64,
        position: i64,
        role: &str,
        content: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO conversations (job_id, step, role, content, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT(job_id, step) DO UPDATE SET role = excluded.role, \
                 content = excluded.content, created_at = excluded.created_at",
                params![job_id, position, role, content, now_rfc3339()],
            )
            .at(&self.path)?;
        Ok(())
    }

    /// Removes messages of `job_id` from `position` on (the conversation got
    /// shorter than what was stored).
    pub fn truncate_conversation(&self, job_id: i64, position: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "DELETE FROM conversations WHERE job_id = ?1 AND step >= ?2",
                params![job_id, position],
            )
            .at(&self.path)?;
        Ok(())
    }

    /// The conversation of `job_id`, in order.
    pub fn conversation(&self, job_id: i64) -> Result<Vec<ConversationMessage>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT job_id, step, role, content, created_at FROM conversations \
                 WHERE job_id = ?1 ORDER BY step",
            )
            .at(&self.path)?;
        let rows = stmt
            .query_map(params![job_id], |row| {
                Ok(ConversationMessage {
                    job_id: row.get(0)?,
                    position: row.get(1)?,
                    role: row.get(2)?,
                    content: row.get(3)?,
                    created_at: row.get(4)?,
                })
            })
            .at(&self.path)?;
        rows.collect::<Result<Vec<_>, _>>().at(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use crate::{NewJob, Store, TriggerSource};

    #[test]
    fn messages_round_trip_in_order_and_replace_by_position() {
        let store = Store::open_in_memory().unwrap();
        let job = store
            .insert_job(&NewJob {
                trigger_kind: TriggerSource::Cli,
                prompt: "list files".into(),
                ..NewJob::default()
            })
            .unwrap();
        store.put_message(job.id, 1, "user", "task").unwrap();
        store.put_message(job.id, 0, "system", "rules").unwrap();
        store.put_message(job.id, 2, "assistant", "bad").unwrap();
        store.put_message(job.id, 2, "assistant", "good").unwrap();
        let messages = store.conversation(job.id).unwrap();
        let texts: Vec<_> = messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, ["rules", "task", "good"]);
        store.truncate_conversation(job.id, 1).unwrap();
        assert_eq!(store.conversation(job.id).unwrap().len(), 1);
    }

    #[test]
    fn a_message_needs_its_job() {
        let store = Store::open_in_memory().unwrap();
        assert!(store.put_message(999, 0, "system", "x").is_err());
    }
}
