//! The trigger data a job carries (a file's content, a diff, a request body),
//! stored as the job's `payload` JSON and shown to the model as untrusted
//! data, never as instructions.

use serde::{Deserialize, Serialize};

/// Data that came with the trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPayload {
    /// What it is ("file /x/y.task", "git log -1 --stat", …).
    pub label: String,
    /// The (size-capped) data.
    pub text: String,
}

impl JobPayload {
    /// The stored JSON (`{"label", "text"}`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"label": self.label, "text": self.text})
    }

    /// Reads the stored JSON back; `None` when it is not a payload.
    pub fn from_json(value: &serde_json::Value) -> Option<JobPayload> {
        serde_json::from_value(value.clone()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_round_trips_and_anything_else_is_none() {
        let payload = JobPayload {
            label: "file a.task".into(),
            text: "sort the photos".into(),
        };
        assert_eq!(JobPayload::from_json(&payload.to_json()), Some(payload));
        assert_eq!(
            JobPayload::from_json(&serde_json::json!({"label": 1})),
            None
        );
    }
}
