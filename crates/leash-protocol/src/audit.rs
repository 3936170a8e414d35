//! Typed payloads of the audit records leash reads back: the writer builds
//! the struct and the reader parses it, so both sides agree on every field
//! by construction. Records nobody reads back keep free-form JSON payloads.
//!
//! Fields added later are `#[serde(default)]`, so older records still parse.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    ApprovalAnswer, AuditKind, Decision, ExecutionMode, GateOutcome, JobState, VerdictOrigin,
};

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
    /// The argv exactly as judged (and, if it runs, as passed).
    pub argv: Vec<String>,
    /// Where it would run.
    pub cwd: PathBuf,
    /// The job's execution mode, which the gate applied.
    pub mode: ExecutionMode,
    /// What the policy said (`allow`, `ask` or `deny`).
    pub decision: Decision,
    /// The id of the rule that decided (`seed.blacklist`, `paths.write-outside-roots`, ...).
    pub rule: String,
    /// Where the rule came from (`built-in`, `seed-list`, `configured`,
    /// `learned`, `grant`); absent in records written before leash said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<VerdictOrigin>,
    /// Why the rule decided so, in words for people.
    pub reason: String,
    /// The canonical file the argv resolved to, when it resolved.
    pub program: Option<PathBuf>,
    /// The name the program was judged as (`rm` for `/bin/rm`, `busybox rm`).
    pub identity: Option<String>,
    /// What the mode let happen (`run`, `needs-approval`, ...).
    pub gate: GateOutcome,
    /// An earlier attempt of the job started this argv and its end is not
    /// known (a crash): it asks even where it would have run.
    #[serde(default)]
    pub outcome_unknown_before: bool,
    /// How `leash undo` could take it back (the journal's plan), when the
    /// command may change files.
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
    /// The argv as passed; recovery asks before it runs again.
    pub argv: Vec<String>,
    /// The working directory it runs in.
    #[serde(default)]
    pub cwd: PathBuf,
    /// The sandbox layers the config requires (missing ones refuse the run).
    #[serde(default)]
    pub required_layers: Vec<String>,
    /// Whether the command may reach the network.
    #[serde(default)]
    pub network: bool,
    /// The resource limits it runs under (time, CPU, memory, output, ...).
    #[serde(default)]
    pub limits: Value,
}

impl AuditPayload for CommandStarted {
    const KIND: AuditKind = AuditKind::CommandStarted;
}

/// `command.outcome_unknown`: a start with no result, found after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutcomeUnknown {
    /// The argv that started and never reported an end.
    pub argv: Vec<String>,
    /// How it was found (which start-up, which crash).
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
    /// How many bytes the command wrote to the stream.
    pub bytes_written: u64,
    /// How many of them were kept (the capture is capped).
    pub bytes_kept: u64,
    /// Whether the cap cut the stream short.
    pub truncated: bool,
}

/// `command.finished`: how a command ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandFinished {
    /// `{"kind":"exited","code":0}`, `{"kind":"signaled",...}`, `{"kind":"timed_out"}`.
    pub status: Value,
    /// Wall-clock time from spawn to the end of the process group.
    pub duration_ms: u64,
    /// What it printed on standard output.
    pub stdout: CapturedText,
    /// What it printed on standard error.
    pub stderr: CapturedText,
    /// Its peak resident memory, when the kernel reported it.
    pub max_rss_kb: Option<u64>,
    /// CPU time used (user and system).
    pub cpu_ms: u64,
    /// The sandbox layers that were in force while it ran.
    pub layers_active: Vec<String>,
    /// The resource limit that stopped it, if one did.
    pub limit_hit: Option<Value>,
}

impl AuditPayload for CommandFinished {
    const KIND: AuditKind = AuditKind::CommandFinished;
}

/// `approval.requested`: a person is asked about one exact argv.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequested {
    /// The exact argv the person is asked about.
    pub argv: Vec<String>,
    /// Where it would run.
    pub cwd: PathBuf,
    /// The rule that sent it to a person.
    pub rule: String,
    /// Why, in words for people.
    pub reason: String,
    /// How long the request stays open before it counts as a denial.
    pub expires_in_s: u64,
    /// What the approval covers (checked again right before the run).
    #[serde(default)]
    pub binding: Option<Value>,
    /// A grant leash suggests after the same shape was approved often.
    #[serde(default)]
    pub suggested_grant: Option<String>,
    /// Whether `leash undo` could take it back.
    #[serde(default)]
    pub reversibility: Option<Value>,
    /// The grant pattern leash would use for this shape of command.
    #[serde(default)]
    pub grant_shape: Option<String>,
}

impl AuditPayload for ApprovalRequested {
    const KIND: AuditKind = AuditKind::ApprovalRequested;
}

/// `approval.answered`: a person's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalAnswered {
    /// What the person answered (`yes`, `no`, `always`, `never`, or a grant with its terms).
    pub answer: ApprovalAnswer,
    /// Where the answer came from (`tty`, `http`, `termux`, ...).
    pub channel: String,
    /// Who answered, as the channel names them.
    pub by: String,
    /// The reason a person gave for refusing, fed back to the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AuditPayload for ApprovalAnswered {
    const KIND: AuditKind = AuditKind::ApprovalAnswered;
}

/// `action.rejected`: an action refused before it was judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRejected {
    /// The agent-loop step that proposed it.
    pub step: u32,
    /// A short label of the action (`run ["ls"]`, `write_file a.txt`).
    pub action: String,
    /// Why it was refused, as the model is told.
    pub reason: String,
}

impl AuditPayload for ActionRejected {
    const KIND: AuditKind = AuditKind::ActionRejected;
}

/// `job.routed`: the skill a job went to (`none` for the open agent loop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRouted {
    /// The skill's name, or `none`.
    pub skill: String,
    /// Why this route (named by the trigger, chosen by the routing step, ...).
    pub why: String,
}

impl AuditPayload for JobRouted {
    const KIND: AuditKind = AuditKind::JobRouted;
}

/// `job.state`: one move of a job (from `none` when it was just created).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStateChanged {
    /// The state it left (`None`: the job was just created).
    #[serde(with = "state_or_none")]
    pub from: Option<JobState>,
    /// The state it entered.
    pub to: JobState,
    /// The job's result when the move ended it (or says why it moved).
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

    /// Regression class `audit-payload-respelled`: the decision, the gate,
    /// the origin and the answer were strings before they were types. A
    /// record written then reads back as the same values, and the typed
    /// payload writes exactly the JSON it did (stored chains hash what was
    /// written; a re-spelling would also split `leash audit` output).
    #[test]
    fn records_written_as_strings_read_back_typed_and_write_the_same_json() {
        let written = serde_json::json!({
            "argv": ["git", "push"], "cwd": "/w", "mode": "auto-approve",
            "decision": "ask", "rule": "seed.require_approval_for", "origin": "seed-list",
            "reason": "listed in require_approval_for", "program": "/usr/bin/git",
            "identity": "git", "gate": "needs-approval", "outcome_unknown_before": false,
            "undo": null,
        });
        let typed = CommandDecision::from_value(&written).unwrap();
        assert_eq!(typed.decision, Decision::Ask);
        assert_eq!(typed.gate, GateOutcome::NeedsApproval);
        assert_eq!(typed.origin, Some(VerdictOrigin::SeedList));
        assert_eq!(typed.to_value(), written);

        // Written before records said where the rule came from.
        let mut older = written.clone();
        older.as_object_mut().unwrap().remove("origin");
        let typed = CommandDecision::from_value(&older).unwrap();
        assert_eq!(typed.origin, None);
        assert_eq!(typed.to_value(), older);

        // As the engine writes it: the whole outcome, tagged.
        let answered = serde_json::json!({
            "outcome": "answered", "answer": "never", "channel": "tty", "by": "ana",
        });
        let typed = ApprovalAnswered::from_value(&answered).unwrap();
        assert_eq!(typed.answer, ApprovalAnswer::Never);
        assert_eq!(typed.to_value()["answer"], "never");

        // A spelling outside the vocabulary is not read as anything.
        let mut odd = written.clone();
        odd["decision"] = "maybe".into();
        assert_eq!(CommandDecision::from_value(&odd), None);
        let mut odd = written;
        odd["gate"] = "sure".into();
        assert_eq!(CommandDecision::from_value(&odd), None);
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
