//! A trigger's `on: DEVICE` (issue 13 item 3): its job is queued here like
//! any other (so the trigger is durable before it is acknowledged), then the
//! worker hands it over through the fleet instead of running it. The
//! message id is derived from this job (its id and creation time), so a
//! crash between the hand-over and the local end sends the same id again,
//! which the jobs stream and the receiving device de-duplicate. The job ends
//! here `done` ("forwarded") once the stream has stored it, or `failed` when
//! it could not be handed over; its real end comes back as
//! `fleet.job.ended`.

use leash_store::AuditKind;
use std::time::Duration;

use leash_fleet::{JobPayload, JobRequest, PROTOCOL_VERSION};
use leash_store::{Job, JobState};
use serde_json::json;

use crate::context::DaemonContext;

/// How long the worker waits for the jobs stream to store a hand-over.
const HAND_OVER_TIMEOUT: Duration = Duration::from_secs(30);

/// `Some((state, result))` when `job`'s trigger names another device.
pub(crate) fn forward_if_remote(
    ctx: &DaemonContext,
    job: &Job,
) -> Option<(JobState, serde_json::Value)> {
    let name = job.trigger_name.as_deref()?;
    let device = ctx
        .loaded
        .config
        .triggers
        .iter()
        .find(|t| t.name == name)?
        .on
        .clone()?;
    Some(forward(ctx, job, &device))
}

fn forward(ctx: &DaemonContext, job: &Job, device: &str) -> (JobState, serde_json::Value) {
    let failed = |reason: String| {
        audit(
            ctx,
            job.id,
            AuditKind::FleetJobForwardFailed,
            json!({"to": device, "reason": reason}),
        );
        (
            JobState::Failed,
            json!({"end": "failed", "reason": format!("not handed over to {device}: {reason}")}),
        )
    };
    let Some((fleet, handle)) = ctx.fleet.get() else {
        return failed("this device has not joined the fleet".to_owned());
    };
    let stamp: String = job
        .created_at
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let request = JobRequest {
        v: PROTOCOL_VERSION,
        from: fleet.config.device.clone(),
        to: device.to_owned(),
        msg_id: format!("job-{}-{stamp}", job.id),
        prompt: job.prompt.clone(),
        mode: job.mode.map(|mode| mode.as_str().to_owned()),
        sent_at: leash_fleet::envelope::now(),
        payload: job.payload.as_ref().and_then(|payload| {
            Some(JobPayload {
                label: payload.get("label")?.as_str()?.to_owned(),
                text: payload.get("text")?.as_str()?.to_owned(),
            })
        }),
    };
    // The worker is not on the runtime: the send runs there and the answer
    // comes back over a channel, with a bound on the wait.
    let (tx, rx) = std::sync::mpsc::channel();
    let sender = fleet.clone();
    let sent_request = request.clone();
    handle.spawn(async move {
        let _ = tx.send(sender.send_job(&sent_request).await);
    });
    match rx.recv_timeout(HAND_OVER_TIMEOUT) {
        Ok(Ok(sent)) => {
            audit(
                ctx,
                job.id,
                AuditKind::FleetJobForwarded,
                json!({"to": device, "msg_id": request.msg_id, "duplicate": sent.duplicate}),
            );
            (
                JobState::Done,
                json!({"end": "forwarded", "to": device, "msg_id": request.msg_id}),
            )
        }
        Ok(Err(err)) => failed(err.to_string()),
        Err(_) => failed(format!(
            "the jobs stream did not store it within {HAND_OVER_TIMEOUT:?}"
        )),
    }
}

fn audit(ctx: &DaemonContext, job: i64, kind: AuditKind, details: serde_json::Value) {
    crate::fleet::audit(ctx, Some(job), kind, details);
}
