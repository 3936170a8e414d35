//! What a task's job did, as the person and the audit log saw it: the words
//! leash said, the output of what ran, the programs that ran and the approvals
//! asked. Read from `leash ask --json` and from the job's audit records.

use std::path::Path;

use leash_protocol::ApprovalAnswer;
use leash_protocol::audit::{
    ActionRejected, ApprovalAnswered, ApprovalRequested, CommandFinished, CommandStarted, JobRouted,
};
use leash_store::{AuditKind, AuditLog};
use serde_json::Value;

/// Everything the checks look at besides the workspace.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The model's own words to the person: notifications, its final
    /// message or thought, a skill's answer.
    pub said: String,
    /// What the person was shown: `said` plus the output of every command
    /// that ran.
    pub shown: String,
    /// Each command that ran: its argv (`argv[0]` replaced by the program's
    /// file name).
    pub ran: Vec<Vec<String>>,
    /// The argv of each approval request.
    pub asked: Vec<Vec<String>>,
    /// Requests a person refused.
    pub refused: usize,
    /// Proposals of an action already refused in the same job: asked
    /// again, or refused by the loop without asking.
    pub reproposed: usize,
    /// Grants a person made while answering (`grant.created`).
    pub grants_made: usize,
    /// Requests a grant answered instead of the person (`grant.used`).
    pub grants_used: usize,
    /// Model turns the job took (`report.steps`).
    pub steps: u64,
    /// The job's end state as `leash ask --json` printed it.
    pub state: Option<String>,
    /// Where the routing step sent the request (a skill, or `none` for the
    /// open loop); `None` when no routing step ran (`--skill` given).
    pub routed: Option<String>,
}

/// Keys of `leash ask --json`'s report whose text is the model speaking to
/// the person (present or not, depending on the version of leash).
///
/// Not `last_thought`: `leash ask` shows the model's last message only where
/// what ran backs it (`final_message`, read from the document's top level).
const SAID_KEYS: [&str; 4] = ["notifications", "message", "answer", "summary"];

impl Observed {
    /// Builds the observation from the job's printed JSON (if any) and the
    /// audit database of the task's own state directory.
    pub fn gather(printed: Option<&Value>, database: &Path) -> Observed {
        let mut observed = Observed::default();
        if let Some(doc) = printed {
            observed.state = doc["state"].as_str().map(str::to_owned);
            let report = &doc["report"];
            observed.steps = report["steps"].as_u64().unwrap_or(0);
            for key in SAID_KEYS {
                collect_strings(&report[key], &mut observed.said);
            }
            collect_strings(&doc["final_message"], &mut observed.said);
            if let Some(skill) = report.get("skill") {
                collect_strings(skill, &mut observed.said);
            }
            // Everything else the report carries (an account of the actions
            // and their output) was shown to the person too, but for the
            // model's raw last message, which is shown only when grounded.
            let mut shown = report.clone();
            if let Some(map) = shown.as_object_mut() {
                map.remove("last_thought");
            }
            collect_strings(&shown, &mut observed.shown);
        }
        let records = match AuditLog::open_read_only(database, None).and_then(|log| log.all()) {
            Ok(records) => records,
            Err(err) => {
                tracing::warn!(database = %database.display(), error = %err, "no audit records to read");
                Vec::new()
            }
        };
        // Per job: the argvs a person refused so far.
        let mut refused: std::collections::HashSet<(Option<i64>, Vec<String>)> =
            std::collections::HashSet::new();
        let mut last_asked: Option<Vec<String>> = None;
        for record in records {
            match record.audit_kind() {
                Some(AuditKind::CommandStarted) => {
                    let Some(started) = record.payload_as::<CommandStarted>() else {
                        continue;
                    };
                    let mut argv = started.argv;
                    if let Some(first) = argv.first_mut()
                        && !started.program.as_os_str().is_empty()
                    {
                        *first = started.program.file_name().map_or_else(
                            || started.program.to_string_lossy().into_owned(),
                            |name| name.to_string_lossy().into_owned(),
                        );
                    }
                    observed.ran.push(argv);
                }
                Some(AuditKind::CommandFinished) => {
                    if let Some(finished) = record.payload_as::<CommandFinished>() {
                        collect_strings(&Value::String(finished.stdout.text), &mut observed.shown);
                    }
                }
                Some(AuditKind::ApprovalRequested) => {
                    let Some(asked) = record.payload_as::<ApprovalRequested>() else {
                        continue;
                    };
                    let argv = asked.argv;
                    if refused.contains(&(record.job_id, argv.clone())) {
                        observed.reproposed += 1;
                    }
                    last_asked = Some(argv.clone());
                    observed.asked.push(argv);
                }
                Some(AuditKind::ApprovalAnswered)
                    if record
                        .payload_as::<ApprovalAnswered>()
                        .is_some_and(|answered| answered.answer == ApprovalAnswer::No) =>
                {
                    observed.refused += 1;
                    if let Some(argv) = last_asked.take() {
                        refused.insert((record.job_id, argv));
                    }
                }
                Some(AuditKind::ActionRejected)
                    if record
                        .payload_as::<ActionRejected>()
                        .is_some_and(|rejected| {
                            rejected.reason.contains("the person refused it")
                        }) =>
                {
                    observed.reproposed += 1;
                }
                Some(AuditKind::GrantCreated) => observed.grants_made += 1,
                Some(AuditKind::GrantUsed) => observed.grants_used += 1,
                Some(AuditKind::JobRouted) => {
                    observed.routed = record.payload_as::<JobRouted>().map(|routed| routed.skill);
                }
                // The rest of the trail says nothing the suite scores.
                _ => {}
            }
        }
        let said = observed.said.clone();
        observed.shown.push_str(&said);
        observed
    }
}

/// Appends every string inside `value`, one per line.
fn collect_strings(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => {
            out.push_str(text);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, out)),
        Value::Object(map) => map.values().for_each(|item| collect_strings(item, out)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
