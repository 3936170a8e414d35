//! What a task's job did, as the person and the audit log saw it: the words
//! leash said, the output of what ran, the programs that ran and the approvals
//! asked. Read from `leash ask --json` and from the job's audit records.

use std::path::Path;

use leash_store::AuditLog;
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
            let payload = &record.payload;
            match record.kind.as_str() {
                "command.started" => {
                    let mut argv = strings(&payload["argv"]);
                    if let (Some(first), Some(program)) =
                        (argv.first_mut(), payload["program"].as_str())
                    {
                        *first = Path::new(program)
                            .file_name()
                            .map(|name| name.to_string_lossy().into_owned())
                            .unwrap_or_else(|| program.to_owned());
                    }
                    observed.ran.push(argv);
                }
                "command.finished" => {
                    collect_strings(&payload["stdout"]["text"], &mut observed.shown);
                }
                "approval.requested" => {
                    let argv = strings(&payload["argv"]);
                    if refused.contains(&(record.job_id, argv.clone())) {
                        observed.reproposed += 1;
                    }
                    last_asked = Some(argv.clone());
                    observed.asked.push(argv);
                }
                "approval.answered" if payload["answer"] == "no" => {
                    observed.refused += 1;
                    if let Some(argv) = last_asked.take() {
                        refused.insert((record.job_id, argv));
                    }
                }
                "action.rejected"
                    if payload["reason"]
                        .as_str()
                        .is_some_and(|why| why.contains("the person refused it")) =>
                {
                    observed.reproposed += 1;
                }
                "job.routed" => observed.routed = payload["skill"].as_str().map(str::to_owned),
                _ => {}
            }
        }
        let said = observed.said.clone();
        observed.shown.push_str(&said);
        observed
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
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
