//! Remote inference in the daemon (issue 13 item 2): using the fleet's models
//! ([`FleetModels`], injected into leash-core's backend chain) and serving
//! this device's `fleet.offer_models` to trusted devices ([`serve`]).
//!
//! The serving side runs its requests on a dedicated thread
//! (`leash-fleet-serve`) with its own backend instances, not the worker's:
//! the worker owns its backend for a whole job (several generations with
//! commands in between), so sharing it would make a fleet request wait for a
//! local job (and the reverse) behind a lock around a blocking call. The
//! price is a second model instance, opened on the first request only and
//! only on devices that offer models (a GGUF file is mmap'd, so its pages
//! are shared through the page cache). One request is served at a time;
//! `fleet.serve_queue` more may wait; further ones are refused `busy` and the
//! requester falls back. The request's limits are re-applied here
//! ([`leash_fleet::infer::judge`]): a requester cannot ask for more tokens
//! than `fleet.serve_max_tokens`, nor send an unbounded conversation.
//!
//! Cancellation: a cancel (or the requester's timeout) drops a request that
//! has not started and stops one that has: the request's cancel token is the
//! backend's ([`Backend::set_cancel`]), checked per token by the embedded
//! model and per piece by replay, so the generation ends at once and the next
//! request is served (a backend without the check runs on to
//! `fleet.serve_max_tokens`, with its stream already stopped).

use leash_store::AuditKind;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use futures_util::StreamExt;
use leash_core::{RemoteModels, config_for_model, open_backend};
use leash_fleet::envelope::{PROTOCOL_VERSION, check_sender, decode, encode};
use leash_fleet::infer::{InferCancel, InferReply, InferRequest, ReplyBody, judge};
use leash_fleet::{Fleet, FleetLink, subjects};
use leash_llm::{Backend, BackendError, CancelToken, GenerateRequest};
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;

use crate::context::DaemonContext;
use crate::governor::GovernedBackend;

/// The fleet's models for leash-core's backend chain (backend `fleet`).
#[derive(Debug)]
pub(crate) struct FleetModels(pub(crate) FleetLink);

impl RemoteModels for FleetModels {
    fn open(&self, device: &str, model: &str) -> Result<Box<dyn Backend>, BackendError> {
        Ok(Box::new(self.0.model(device, model)))
    }
}

/// The name `offer_models` uses for the `model:` section.
const DEFAULT_MODEL: &str = "default";

/// A request admitted to the queue.
struct ServeJob {
    request: InferRequest,
    cancelled: CancelToken,
    queued_at: Instant,
}

type Cancels = Arc<Mutex<HashMap<(String, String), CancelToken>>>;

fn lock(cancels: &Cancels) -> std::sync::MutexGuard<'_, HashMap<(String, String), CancelToken>> {
    match cancels.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Serves `fleet.offer_models` until the task is aborted (nothing when the
/// device offers none: it does not even listen).
pub(crate) async fn serve(ctx: Arc<DaemonContext>, fleet: Fleet) {
    if fleet.config.offer_models.is_empty() {
        return;
    }
    let me = fleet.config.device.clone();
    let (mut requests, mut cancels_in) = match (
        fleet
            .client
            .subscribe(subjects::directs_for(&me, subjects::kind::INFER))
            .await,
        fleet
            .client
            .subscribe(subjects::directs_for(&me, subjects::kind::INFER_CANCEL))
            .await,
    ) {
        (Ok(requests), Ok(cancels)) => (requests, cancels),
        (Err(err), _) | (_, Err(err)) => {
            tracing::error!(%err, "fleet: cannot listen for inference requests; not serving");
            return;
        }
    };
    let (out, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<(String, bytes::Bytes)>();
    let client = fleet.client.clone();
    // One publisher keeps the chunks of a request in order.
    let publisher = tokio::spawn(async move {
        while let Some((subject, bytes)) = outgoing.recv().await {
            if let Err(err) = client.publish(subject, bytes).await {
                tracing::warn!(%err, "fleet: inference reply not sent");
            }
        }
    });
    let (queue, jobs) = mpsc::sync_channel::<ServeJob>(fleet.config.serve_queue);
    let cancels: Cancels = Arc::default();
    let thread = {
        let (ctx, me, out, cancels) = (
            Arc::clone(&ctx),
            me.clone(),
            out.clone(),
            Arc::clone(&cancels),
        );
        std::thread::Builder::new()
            .name("leash-fleet-serve".to_owned())
            .spawn(move || serve_loop(&ctx, &me, &jobs, &out, &cancels))
    };
    if let Err(err) = thread {
        tracing::error!(%err, "fleet: cannot start the serving thread; not serving");
        return;
    }
    loop {
        tokio::select! {
            message = requests.next() => {
                let Some(message) = message else { break };
                admit(&ctx, &fleet, &queue, &out, &cancels, &message);
            }
            message = cancels_in.next() => {
                let Some(message) = message else { break };
                cancel(&ctx, &me, &cancels, &message);
            }
        }
    }
    drop(queue);
    publisher.abort();
}

/// Judges a request and queues it, answering the requester either way.
fn admit(
    ctx: &DaemonContext,
    fleet: &Fleet,
    queue: &mpsc::SyncSender<ServeJob>,
    out: &UnboundedSender<(String, bytes::Bytes)>,
    cancels: &Cancels,
    message: &async_nats::Message,
) {
    let me = &fleet.config.device;
    let refused = match judge(&fleet.config, &message.subject, &message.payload) {
        Ok(request) => {
            let cancelled = CancelToken::new();
            let key = (request.from.clone(), request.request_id.clone());
            lock(cancels).insert(key.clone(), cancelled.clone());
            let job = ServeJob {
                request: request.clone(),
                cancelled,
                queued_at: Instant::now(),
            };
            match queue.try_send(job) {
                Ok(()) => {
                    let ahead = lock(cancels).len().saturating_sub(1);
                    reply(out, me, &request, ReplyBody::Accepted { ahead });
                    return;
                }
                Err(mpsc::TrySendError::Full(_) | mpsc::TrySendError::Disconnected(_)) => {
                    lock(cancels).remove(&key);
                    let refusal = leash_fleet::infer::InferRefusal::Busy(fleet.config.serve_queue);
                    (Some(Box::new(request)), refusal)
                }
            }
        }
        Err(refused) => refused,
    };
    let (request, refusal) = refused;
    audit(
        ctx,
        AuditKind::FleetInferRefused,
        json!({
            "subject": message.subject.as_str(),
            "publisher": subjects::publisher(&message.subject),
            "claimed_from": request.as_ref().map(|r| &r.from),
            "request_id": request.as_ref().map(|r| &r.request_id),
            "model": request.as_ref().map(|r| &r.model),
            "code": refusal.code(),
            "reason": refusal.to_string(),
        }),
    );
    if let Some(request) = request.filter(|_| refusal.answerable()) {
        reply(
            out,
            me,
            &request,
            ReplyBody::Refused {
                code: refusal.code().to_owned(),
                reason: refusal.to_string(),
            },
        );
    }
}

/// A requester giving up: believed only from the device that asked.
fn cancel(ctx: &DaemonContext, me: &str, cancels: &Cancels, message: &async_nats::Message) {
    let Ok(cancel) = decode::<InferCancel>(&message.subject, &message.payload) else {
        return;
    };
    if cancel.to != me || check_sender(&message.subject, &cancel.from).is_err() {
        return;
    }
    let key = (cancel.from.clone(), cancel.request_id.clone());
    if let Some(flag) = lock(cancels).get(&key) {
        flag.cancel();
        audit(
            ctx,
            AuditKind::FleetInferCancelled,
            json!({"from": cancel.from, "request_id": cancel.request_id}),
        );
    }
}

fn reply(
    out: &UnboundedSender<(String, bytes::Bytes)>,
    me: &str,
    request: &InferRequest,
    body: ReplyBody,
) {
    let subject = subjects::direct(me, &request.from, subjects::kind::INFER_REPLY);
    let message = InferReply {
        v: PROTOCOL_VERSION,
        from: me.to_owned(),
        to: request.from.clone(),
        request_id: request.request_id.clone(),
        body,
    };
    match encode(&subject, &message) {
        Ok(bytes) => {
            if out.send((subject, bytes)).is_err() {
                tracing::debug!("fleet: reply dropped (not serving any more)");
            }
        }
        Err(err) => tracing::warn!(%err, "fleet: reply not encoded"),
    }
}

/// The offered backend failed; whether the requester should fall back is
/// that backend's own judgement ([`BackendError::falls_back`]).
fn reply_failed(
    out: &UnboundedSender<(String, bytes::Bytes)>,
    me: &str,
    request: &InferRequest,
    err: &BackendError,
) {
    let body = ReplyBody::Failed {
        reason: err.to_string(),
        falls_back: err.falls_back(),
    };
    reply(out, me, request, body);
}

fn audit(ctx: &DaemonContext, kind: AuditKind, details: serde_json::Value) {
    crate::fleet::audit(ctx, None, kind, details);
}

/// The serving thread: one request at a time, each offered model opened on
/// its first request and kept.
fn serve_loop(
    ctx: &Arc<DaemonContext>,
    me: &str,
    jobs: &mpsc::Receiver<ServeJob>,
    out: &UnboundedSender<(String, bytes::Bytes)>,
    cancels: &Cancels,
) {
    let mut backends: BTreeMap<String, Box<dyn Backend>> = BTreeMap::new();
    while let Ok(job) = jobs.recv() {
        let key = (job.request.from.clone(), job.request.request_id.clone());
        serve_one(ctx, me, &mut backends, &job, out);
        lock(cancels).remove(&key);
    }
}

fn serve_one(
    ctx: &Arc<DaemonContext>,
    me: &str,
    backends: &mut BTreeMap<String, Box<dyn Backend>>,
    job: &ServeJob,
    out: &UnboundedSender<(String, bytes::Bytes)>,
) {
    let request = &job.request;
    let waited_ms = job.queued_at.elapsed().as_millis();
    let served = |outcome: &str, detail: serde_json::Value| {
        audit(
            ctx,
            AuditKind::FleetInferServed,
            json!({
                "from": request.from,
                "request_id": request.request_id,
                "model": request.model,
                "max_tokens": request.max_tokens,
                "waited_ms": waited_ms,
                "outcome": outcome,
                "detail": detail,
            }),
        );
    };
    if job.cancelled.is_cancelled() {
        served("cancelled_before_start", serde_json::Value::Null);
        return;
    }
    let backend = match open_offered(ctx, backends, &request.model) {
        Ok(backend) => backend,
        Err(err) => {
            reply_failed(out, me, request, &err);
            served("not_opened", json!(err.to_string()));
            return;
        }
    };
    let started = Instant::now();
    let mut seq = 0u64;
    let mut on_text = |text: &str| {
        if !job.cancelled.is_cancelled() {
            let chunk = ReplyBody::Chunk {
                seq,
                text: text.to_owned(),
            };
            seq += 1;
            reply(out, me, request, chunk);
        }
    };
    backend.set_cancel(Some(job.cancelled.clone()));
    let result = backend.generate(GenerateRequest {
        messages: &request.messages,
        format: request.format.to_format(),
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        programs: request.programs.as_choice(),
        on_text: Some(&mut on_text),
    });
    backend.set_cancel(None);
    let cancelled = job.cancelled.is_cancelled();
    match result {
        Ok(generation) => {
            let detail = json!({
                "backend": generation.backend,
                "prompt_tokens": generation.prompt_tokens,
                "generated_tokens": generation.generated_tokens,
                "ms": started.elapsed().as_millis(),
            });
            if !cancelled {
                reply(out, me, request, ReplyBody::Done { generation });
            }
            served(if cancelled { "cancelled" } else { "answered" }, detail);
        }
        // Stopped by the requester's cancel: nobody waits for a reply.
        Err(BackendError::Cancelled {
            generated_tokens, ..
        }) => served(
            "cancelled",
            json!({
                "generated_tokens": generated_tokens,
                "stopped_mid_generation": true,
                "ms": started.elapsed().as_millis(),
            }),
        ),
        Err(err) => {
            reply_failed(out, me, request, &err);
            served("failed", json!(err.to_string()));
        }
    }
}

/// The backend of offered model `name` (`default`: the `model:` section; else
/// a name in `models:`), opened without the fleet, so an offered model never
/// forwards to yet another device; governed like the worker's.
fn open_offered<'b>(
    ctx: &Arc<DaemonContext>,
    backends: &'b mut BTreeMap<String, Box<dyn Backend>>,
    name: &str,
) -> Result<&'b mut Box<dyn Backend>, BackendError> {
    if !backends.contains_key(name) {
        let loaded = &ctx.loaded;
        let named = if name == DEFAULT_MODEL {
            None
        } else if loaded.config.models.contains_key(name) {
            Some(name)
        } else {
            return Err(BackendError::Load {
                backend: format!("offered:{name}"),
                detail: format!(
                    "fleet.offer_models names {name:?}, which is neither `default` nor in models:"
                ),
            });
        };
        let (backend, _switches) = open_backend(&config_for_model(loaded, named))?;
        let governed: Box<dyn Backend> = Box::new(GovernedBackend::new(backend, Arc::clone(ctx)));
        backends.insert(name.to_owned(), governed);
    }
    backends.get_mut(name).ok_or_else(|| BackendError::Load {
        backend: format!("offered:{name}"),
        detail: "the backend was not kept".to_owned(),
    })
}
