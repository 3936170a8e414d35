//! The fleet component (issue 13), started only when the config has `fleet:`.
//! It joins the fleet (leash-fleet), heartbeats this device's offer, admits
//! jobs other devices address to it — under this device's own config, policy
//! and `fleet.accept_mode`, acked only after the job is committed to the
//! queue — sends each such job's end back, and records the ends of jobs this
//! device sent. Every admission and refusal is audited with the sender.

use leash_store::AuditKind;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use leash_config::FleetConfig;
use leash_fleet::jobs::{Admit, Refusal, judge};
use leash_fleet::{Credentials, Fleet, FleetLink, IncomingJob, JobEnd, Offer, PROTOCOL_VERSION};
use leash_store::{Admission, JobState};
use serde_json::json;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::context::DaemonContext;
use crate::error::DaemonError;
use crate::events::DaemonEvent;
use crate::intake::{TriggerEvent, TriggerPayload, TriggerSource};

/// A fleet job's de-duplication key is kept for good: the same message id is
/// one job however late it is delivered again.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// Pause between reconnection attempts and between re-sends of job ends.
const RETRY: Duration = Duration::from_secs(2);

/// Starts the component when `fleet:` is configured. The credentials file is
/// checked here, so a daemon with unusable credentials does not start.
pub(crate) fn start_fleet(
    ctx: &Arc<DaemonContext>,
    handle: &Handle,
    link: Option<FleetLink>,
) -> Result<Option<JoinHandle<()>>, DaemonError> {
    let (Some(config), Some(link)) = (ctx.loaded.config.fleet.clone(), link) else {
        return Ok(None);
    };
    Credentials::load(&config.credentials).map_err(|err| DaemonError::Fleet {
        detail: err.to_string(),
    })?;
    let ctx = Arc::clone(ctx);
    Ok(Some(handle.spawn(run(ctx, config, link))))
}

/// How this daemon reaches the fleet's models (backend `fleet`), when it is
/// in a fleet: not joined yet (fleet backends fall back) until [`run`] joins.
pub(crate) fn link(ctx: &DaemonContext, handle: &Handle) -> Option<FleetLink> {
    let config = ctx.loaded.config.fleet.as_ref()?;
    Some(FleetLink::new(
        config.device.clone(),
        handle.clone(),
        Duration::from_secs(config.infer_timeout_s.max(1)),
    ))
}

async fn run(ctx: Arc<DaemonContext>, config: FleetConfig, link: FleetLink) {
    // Listen for job ends before anything can end.
    let events = ctx.events.subscribe();
    let approval_events = ctx.events.subscribe();
    let fleet = loop {
        tokio::select! {
            () = ctx.stopped() => return,
            joined = leash_fleet::connect(&config, Duration::from_secs(10)) => match joined {
                Ok(fleet) => break fleet,
                Err(err) => {
                    tracing::warn!(%err, "fleet: not joined yet; retrying");
                    tokio::select! {
                        () = ctx.stopped() => return,
                        () = tokio::time::sleep(RETRY) => {}
                    }
                }
            },
        }
    };
    link.joined(fleet.client.clone());
    let _ = ctx.fleet.set((fleet.clone(), Handle::current()));
    audit(
        &ctx,
        None,
        AuditKind::FleetJoined,
        json!({"device": config.device, "urls": config.urls}),
    );
    let tasks = [
        tokio::spawn(crate::fleet_infer::serve(Arc::clone(&ctx), fleet.clone())),
        tokio::spawn(crate::fleet_questions::serve::<
            crate::fleet_approvals::Approvals,
        >(Arc::clone(&ctx), fleet.clone())),
        tokio::spawn(crate::fleet_questions::serve::<
            crate::fleet_audit::AuditPages,
        >(Arc::clone(&ctx), fleet.clone())),
        tokio::spawn(heartbeat(Arc::clone(&ctx), fleet.clone())),
        tokio::spawn(job_inbox(Arc::clone(&ctx), fleet.clone())),
        tokio::spawn(result_inbox(Arc::clone(&ctx), fleet.clone())),
        tokio::spawn(send_ends(Arc::clone(&ctx), fleet.clone(), events)),
        tokio::spawn(crate::fleet_notices::tell(
            Arc::clone(&ctx),
            fleet.clone(),
            approval_events,
        )),
        tokio::spawn(crate::fleet_notices::listen(
            Arc::clone(&ctx),
            fleet.clone(),
        )),
    ];
    ctx.stopped().await;
    for task in tasks {
        task.abort();
    }
}

/// Appends a fleet audit record; a failed append is logged, never fatal to
/// the fleet task that made it (the one audit helper of the fleet modules).
pub(crate) fn audit(
    ctx: &DaemonContext,
    job: Option<i64>,
    kind: AuditKind,
    details: serde_json::Value,
) {
    if let Err(err) = ctx.audit.append(job, kind, details) {
        tracing::error!(%err, kind = kind.as_str(), "fleet: audit append failed");
    }
}

/// This device's offer, every `fleet.heartbeat_s`.
async fn heartbeat(ctx: Arc<DaemonContext>, fleet: Fleet) {
    let config = &ctx.loaded.config;
    let interval = Duration::from_secs(fleet.config.heartbeat_s.max(1));
    loop {
        let offer = Offer {
            v: PROTOCOL_VERSION,
            device: fleet.config.device.clone(),
            models: fleet.config.offer_models.clone(),
            programs: config.security.whitelist.clone().unwrap_or_default(),
            person_reachable: config.approvals.notifier.is_some(),
            accepts_jobs: fleet.config.accept,
            accept_mode: fleet.config.accept_mode.as_str().to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            sent_at: leash_fleet::envelope::now(),
        };
        if let Err(err) = fleet.publish_offer(&offer).await {
            tracing::warn!(%err, "fleet: heartbeat not stored");
        }
        tokio::time::sleep(interval).await;
    }
}

/// Jobs addressed to this device.
async fn job_inbox(ctx: Arc<DaemonContext>, fleet: Fleet) {
    loop {
        let mut inbox = match fleet.job_inbox().await {
            Ok(inbox) => inbox,
            Err(err) => {
                tracing::warn!(%err, "fleet: job inbox unavailable; retrying");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        while let Some(next) = inbox.next().await {
            match next {
                Ok(job) => handle_job(&ctx, &fleet, job).await,
                Err(err) => {
                    // Missed heartbeats while the server is away: the pull
                    // stream recovers by itself once the server is back.
                    tracing::debug!(%err, "fleet: job inbox");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

async fn handle_job(ctx: &DaemonContext, fleet: &Fleet, job: IncomingJob) {
    let publisher = leash_fleet::subjects::publisher(&job.subject).map(str::to_owned);
    match judge(&fleet.config, &job.subject, &job.message.payload) {
        Ok(admit) => admit_job(ctx, &job, admit).await,
        Err((request, refusal)) => {
            audit(
                ctx,
                None,
                AuditKind::FleetJobRefused,
                json!({
                    "subject": job.subject,
                    "publisher": publisher,
                    "claimed_from": request.as_ref().map(|r| &r.from),
                    "msg_id": request.as_ref().map(|r| &r.msg_id),
                    "code": refusal.code(),
                    "reason": refusal.to_string(),
                }),
            );
            // Tell a sender whose identity checked out; a forged or misrouted
            // message gets no answer (there is no one trustworthy to tell).
            let answer = match &refusal {
                Refusal::Malformed(_) | Refusal::Sender(_) | Refusal::NotForMe(_) => None,
                Refusal::Version(_)
                | Refusal::NotAccepting
                | Refusal::Untrusted(_)
                | Refusal::UnknownMode(_)
                | Refusal::ModeTooLoose { .. } => request,
            };
            if let Some(request) = answer {
                let end = JobEnd {
                    v: PROTOCOL_VERSION,
                    from: fleet.config.device.clone(),
                    to: request.from.clone(),
                    msg_id: request.msg_id.clone(),
                    state: "refused".to_owned(),
                    job_id: None,
                    detail: json!({"code": refusal.code(), "reason": refusal.to_string()}),
                };
                if let Err(err) = fleet.send_result(&end).await {
                    tracing::warn!(%err, "fleet: refusal not sent back");
                }
            }
            if let Err(err) = job.ack().await {
                tracing::warn!(%err, "fleet: refused job not acked; it will be judged again");
            }
        }
    }
}

/// Commits the job to this device's queue, then acks. A crash between the
/// two redelivers the message, whose id is then found as a duplicate.
async fn admit_job(ctx: &DaemonContext, job: &IncomingJob, admit: Admit) {
    let request = admit.request;
    let mut event = TriggerEvent::new(TriggerSource::Fleet, request.prompt.clone());
    event.payload = request.payload.clone().map(|p| TriggerPayload {
        label: format!("from {}: {}", request.from, p.label),
        text: p.text,
    });
    event.trigger_name = Some(format!("fleet:{}", request.from));
    event.mode = Some(admit.mode);
    event.dedup_key = Some(dedup_key(&request.from, &request.msg_id));
    event.dedup_window = FOREVER;
    match ctx.admit(event) {
        Ok(admission) => {
            let duplicate = matches!(admission, Admission::Duplicate(_));
            audit(
                ctx,
                Some(admission.job().id),
                AuditKind::FleetJobAdmitted,
                json!({
                    "from": request.from,
                    "msg_id": request.msg_id,
                    "mode": admit.mode.as_str(),
                    "duplicate": duplicate,
                    "delivered": job.delivered(),
                }),
            );
            if let Err(err) = job.ack().await {
                tracing::warn!(%err, "fleet: admitted job not acked; its redelivery will be a duplicate");
            }
        }
        Err(DaemonError::ShuttingDown) => {}
        Err(err) => {
            tracing::error!(%err, "fleet: job not admitted; asking for redelivery");
            let _ = job.retry_later(Duration::from_secs(5)).await;
        }
    }
}

fn dedup_key(from: &str, msg_id: &str) -> String {
    format!("fleet:{from}:{msg_id}")
}

/// `(sender, msg_id)` of a job admitted from the fleet.
fn fleet_origin(job: &leash_store::Job) -> Option<(String, String)> {
    if job.trigger_kind != TriggerSource::Fleet {
        return None;
    }
    let rest = job.dedup_key.as_deref()?.strip_prefix("fleet:")?;
    let (from, msg_id) = rest.split_once(':')?;
    Some((from.to_owned(), msg_id.to_owned()))
}

/// Sends each fleet job's end back to its sender. At start, the ends of the
/// latest jobs are sent again (the results stream drops what it already has),
/// so an end lost to a crash between the job's end and its sending is not
/// lost.
async fn send_ends(
    ctx: Arc<DaemonContext>,
    fleet: Fleet,
    mut events: tokio::sync::broadcast::Receiver<DaemonEvent>,
) {
    let mut pending: VecDeque<i64> = ctx
        .with_store(|store| store.jobs(None, 500))
        .map(|jobs| {
            jobs.iter()
                .filter(|job| job.state.is_final() && fleet_origin(job).is_some())
                .map(|job| job.id)
                .collect()
        })
        .unwrap_or_default();
    loop {
        while let Some(id) = pending.front().copied() {
            match send_end(&ctx, &fleet, id).await {
                Ok(()) => {
                    pending.pop_front();
                }
                Err(err) => {
                    tracing::warn!(%err, job = id, "fleet: job end not sent yet");
                    break;
                }
            }
        }
        let wait = if pending.is_empty() {
            Duration::from_secs(3600)
        } else {
            RETRY
        };
        tokio::select! {
            event = events.recv() => match event {
                Ok(DaemonEvent::JobState { job_id, to, .. })
                    if JobState::parse(&to).is_some_and(JobState::is_final) =>
                {
                    pending.push_back(job_id);
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            () = tokio::time::sleep(wait) => {}
        }
    }
}

async fn send_end(ctx: &DaemonContext, fleet: &Fleet, id: i64) -> Result<(), String> {
    let job = ctx
        .with_store(|store| store.job(id))
        .map_err(|e| e.to_string())?;
    let Some(job) = job else { return Ok(()) };
    let Some((to, msg_id)) = fleet_origin(&job) else {
        return Ok(());
    };
    let end = JobEnd {
        v: PROTOCOL_VERSION,
        from: fleet.config.device.clone(),
        to: to.clone(),
        msg_id: msg_id.clone(),
        state: job.state.as_str().to_owned(),
        job_id: Some(job.id),
        detail: job.result.clone().unwrap_or(serde_json::Value::Null),
    };
    let fresh = fleet.send_result(&end).await.map_err(|e| e.to_string())?;
    if fresh {
        audit(
            ctx,
            Some(job.id),
            AuditKind::FleetJobEndSent,
            json!({"to": to, "msg_id": msg_id, "state": end.state}),
        );
    }
    Ok(())
}

/// Ends of jobs this device sent elsewhere.
async fn result_inbox(ctx: Arc<DaemonContext>, fleet: Fleet) {
    loop {
        let mut inbox = match fleet.result_inbox().await {
            Ok(inbox) => inbox,
            Err(err) => {
                tracing::warn!(%err, "fleet: result inbox unavailable; retrying");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        while let Some(next) = inbox.next().await {
            let result = match next {
                Ok(result) => result,
                Err(err) => {
                    tracing::debug!(%err, "fleet: result inbox");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            match &result.end {
                Ok(end) => audit(
                    &ctx,
                    None,
                    AuditKind::FleetJobEnded,
                    json!({
                        "device": end.from,
                        "msg_id": end.msg_id,
                        "state": end.state,
                        "remote_job": end.job_id,
                        "detail": end.detail,
                    }),
                ),
                Err(reason) => audit(
                    &ctx,
                    None,
                    AuditKind::FleetResultRefused,
                    json!({"subject": result.subject, "reason": reason}),
                ),
            }
            if let Err(err) = result.ack().await {
                tracing::warn!(%err, "fleet: result not acked; it will come again");
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}
