//! How an execution's outcome is written to the audit log and to `--json`
//! output: status, duration, byte counts and the kept text, resource use, and
//! the sandbox layers that were active.

use leash_sandbox::{Captured, ExecOutcome, ExitKind};
use serde_json::{Value, json};

/// The status part: `{"kind":"exited","code":0}`, `{"kind":"signaled",...}`,
/// `{"kind":"timed_out"}`.
pub(crate) fn status_json(status: &ExitKind) -> Value {
    match status {
        ExitKind::Exited(code) => json!({"kind": "exited", "code": code}),
        ExitKind::Signaled { signal, name } => {
            json!({"kind": "signaled", "signal": signal, "name": name})
        }
        ExitKind::TimedOut => json!({"kind": "timed_out"}),
    }
}

fn captured_json(captured: &Captured) -> Value {
    json!({
        "text": captured.render_text(),
        "bytes_written": captured.total_bytes,
        "bytes_kept": captured.bytes.len(),
        "truncated": captured.truncated,
    })
}

/// The whole outcome as one JSON value.
pub fn outcome_payload(outcome: &ExecOutcome) -> Value {
    json!({
        "status": status_json(&outcome.status),
        "duration_ms": u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
        "stdout": captured_json(&outcome.stdout),
        "stderr": captured_json(&outcome.stderr),
        "max_rss_kb": outcome.max_rss_kb,
        "cpu_ms": u64::try_from(outcome.cpu_time.as_millis()).unwrap_or(u64::MAX),
        "layers_active": outcome.layers_active.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        "limit_hit": outcome.limit_hit,
    })
}
