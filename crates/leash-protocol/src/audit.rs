//! Typed payloads of the audit records leash reads back: the writer builds
//! the struct and the reader parses it, so both sides agree on every field
//! by construction. Records nobody reads back keep free-form JSON payloads.
//!
//! Fields added later are `#[serde(default)]`, so older records still parse.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AuditKind, ExecutionMode, JobState};

/// A payload that belongs to exactly one [`AuditKind`].
pub trait AuditPayload: Serialize + for<'de> Deserialize<'de> {
    /// The kind of record this payload is written as.
    const KIND: AuditKind;

    /// The payload as stored JSON.
    fn to_value(&self) -> Value {
        // A derived `Serialize` of plain fields cannot fail: no maps with
        // non-string keys, no custom serializers that error.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Parses a stored payload; `None` when it does not have this shape.
    fn from_value(value: &Value) -> Option<Self> {
        serde_json::from_value(value.clone()).ok()
    }
}

/// `command.decision`: what the policy and the mode gate said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandDecision {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub mode: ExecutionMode,
    /// `allow`, `ask` or `deny`.
    pub decision: String,
    pub rule: String,
    /// Where the rule came from (`built-in`, `seed-list`, `configured`,
    /// `learned`, `grant`).
    #[serde(default)]
    pub origin: String,
    pub reason: String,
    pub program: Option<PathBuf>,
    pub identity: Option<String>,
    /// The mode gate's outcome (`run`, `needs-approval`, ...).
    pub gate: String,
    #[serde(default)]
    pub outcome_unknown_before: bool,
    #[serde(default)]
    pub undo: Option<Value>,
}

impl AuditPayload for CommandDecision {
    const KIND: AuditKind = AuditKind::CommandDecision;
}

/// `command.started`: written before the child exists, so a crash leaves a
/// start without a result (recovery reads `argv` back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandStarted {
    /// The canonical program file that runs (empty in a record that does
    /// not name it: the argv is what recovery needs, so it still parses).
    #[serde(default)]
    pub program: PathBuf,
    pub argv: Vec<String>,
    #[serde(default)]
    pub cwd: PathBuf,
    #[serde(default)]
    pub required_layers: Vec<String>,
    #[serde(default)]
    pub network: bool,
    #[serde(default)]
    pub limits: Value,
}

impl AuditPayload for CommandStarted {
    const KIND: AuditKind = AuditKind::CommandStarted;
}

/// `command.outcome_unknown`: a start with no result, found after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutcomeUnknown {
    pub argv: Vec<String>,
    pub why: String,
}

impl AuditPayload for CommandOutcomeUnknown {
    const KIND: AuditKind = AuditKind::CommandOutcomeUnknown;
}

/// One captured stream of a `command.finished` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedText {
    /// The kept bytes as text (lossy UTF-8).
    pub text: String,
    pub bytes_written: u64,
    pub bytes_kept: u64,
    pub truncated: bool,
}

/// `command.finished`: how a command ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandFinished {
    /// `{"kind":"exited","code":0}`, `{"kind":"signaled",...}`, `{"kind":"timed_out"}`.
    pub status: Value,
    pub duration_ms: u64,
    pub stdout: CapturedText,
    pub stderr: CapturedText,
    pub max_rss_kb: Option<u64>,
    pub cpu_ms: u64,
    pub layers_active: Vec<String>,
    pub limit_hit: Option<Value>,
}

impl AuditPayload for CommandFinished {
    const KIND: AuditKind = AuditKind::CommandFinished;
}

/// `approval.requested`: a person is asked about one exact argv.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequested {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub rule: String,
    pub reason: String,
    pub expires_in_s: u64,
    #[serde(default)]
    pub binding: Option<Value>,
    #[serde(default)]
    pub suggested_grant: Option<String>,
    #[serde(default)]
    pub reversibility: Option<Value>,
    #[serde(default)]
    pub grant_shape: Option<String>,
}

impl AuditPayload for ApprovalRequested {
    const KIND: AuditKind = AuditKind::ApprovalRequested;
}

/// `approval.answered`: a person's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalAnswered {
    /// `yes`, `no`, `always`, `never` or `grant`.
    pub answer: String,
    pub channel: String,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AuditPayload for ApprovalAnswered {
    const KIND: AuditKind = AuditKind::ApprovalAnswered;
}

/// `action.rejected`: an action refused before it was judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRejected {
    pub step: u32,
    /// A short label of the action (`run ["ls"]`, `write_file a.txt`).
    pub action: String,
    pub reason: String,
}

impl AuditPayload for ActionRejected {
    const KIND: AuditKind = AuditKind::ActionRejected;
}

/// `job.routed`: the skill a job went to (`none` for the open agent loop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRouted {
    pub skill: String,
    pub why: String,
}

impl AuditPayload for JobRouted {
    const KIND: AuditKind = AuditKind::JobRouted;
}

/// `job.state`: one move of a job (from `none` when it was just created).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStateChanged {
    #[serde(with = "state_or_none")]
    pub from: Option<JobState>,
    pub to: JobState,
    pub result: Option<Value>,
}

impl AuditPayload for JobStateChanged {
    const KIND: AuditKind = AuditKind::JobState;
}

/// A job state written as its spelling, or `none` for no state.
mod state_or_none {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::JobState;

    const NONE: &str = "none";

    pub fn serialize<S: Serializer>(state: &Option<JobState>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(state.map_or(NONE, JobState::as_str))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<JobState>, D::Error> {
        let text = String::deserialize(d)?;
        if text == NONE {
            return Ok(None);
        }
        JobState::parse(&text)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown job state {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: AuditPayload + PartialEq + std::fmt::Debug>(payload: T) {
        let value = payload.to_value();
        assert_eq!(T::from_value(&value).as_ref(), Some(&payload), "{value}");
    }

    #[test]
    fn every_typed_payload_round_trips() {
        round_trip(CommandStarted {
            program: "/usr/bin/ls".into(),
            argv: vec!["ls".into(), "-l".into()],
            cwd: "/w".into(),
            required_layers: vec!["landlock".into()],
            network: false,
            limits: serde_json::json!({"timeout_s": 60}),
        });
        round_trip(CommandOutcomeUnknown {
            argv: vec!["make".into()],
            why: "crash".into(),
        });
        round_trip(ActionRejected {
            step: 2,
            action: "run [\"ls\"]".into(),
            reason: "outside".into(),
        });
        round_trip(JobRouted {
            skill: "organize".into(),
            why: "model".into(),
        });
        round_trip(JobStateChanged {
            from: None,
            to: JobState::Queued,
            result: None,
        });
        round_trip(JobStateChanged {
            from: Some(JobState::Running),
            to: JobState::Done,
            result: Some(serde_json::json!({"end": "done"})),
        });
    }

    #[test]
    fn job_state_from_none_is_written_as_the_word_none() {
        let value = JobStateChanged {
            from: None,
            to: JobState::Queued,
            result: None,
        }
        .to_value();
        assert_eq!(value["from"], "none");
        assert_eq!(value["to"], "queued");
    }

    #[test]
    fn a_payload_of_another_shape_does_not_parse() {
        let started = serde_json::json!({"argv": "not a list", "program": "/bin/ls", "cwd": "/"});
        assert_eq!(CommandStarted::from_value(&started), None);
        assert_eq!(
            CommandOutcomeUnknown::from_value(&serde_json::json!({"why": "x"})),
            None
        );
    }

    /// Recovery needs only the argv of a start: a record that names no
    /// program or cwd still gives it back.
    #[test]
    fn a_start_with_only_its_argv_still_gives_the_argv() {
        let started = CommandStarted::from_value(&serde_json::json!({"argv": ["cp", "a", "b"]}));
        assert_eq!(
            started.map(|s| s.argv),
            Some(vec!["cp".into(), "a".into(), "b".into()])
        );
    }
}
