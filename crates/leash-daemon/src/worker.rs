//! The queue worker: one thread that takes the next job (highest priority,
//! oldest first), runs it through the agent loop on the leash, records how it
//! ended, finishes its trigger file, and sleeps until woken when the queue is
//! empty (a condition variable, not polling).
//!
//! One worker means one inference at a time and one command at a time — on a
//! phone the model is the scarce resource, and commands are short.
//!
//! How jobs end: the model said done → `done`; out of steps, model failure,
//! unparseable output → `failed`; a person cancelled → `cancelled`; the daemon
//! is stopping → `interrupted` and re-queued (it runs again at the next start,
//! with every command it already started needing approval to run again).

use leash_store::AuditKind;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use leash_core::agent::{JobHooks, JobSpec, agent_settings, prompt_facts, run_job, system_prompt};
use leash_core::{Engine, JobParams, SwitchLog};
use leash_llm::Backend;
use leash_protocol::JobPayload;
use leash_store::{Job, JobState, StoreError};
use serde_json::json;

use crate::approvals::RemoteApprover;
use crate::context::DaemonContext;
use crate::error::DaemonError;
use crate::governor::Gate;
use crate::metrics::Metrics;
use crate::recovery::repeat_guard;
use crate::triggers::finish_claimed_file;

/// How long the idle worker sleeps between checks of the stop flag when no
/// wake-up comes (a safety net; jobs wake it at once).
const IDLE_WAIT: Duration = Duration::from_secs(300);

/// How long the worker waits with nothing to do after a job before it gives
/// memory back (see [`crate::idle_memory`]): long enough that a stream of
/// triggers does not pay for faulting code back in between jobs.
const RELEASE_MEMORY_AFTER: Duration = Duration::from_secs(5);

/// The model backend the worker uses, opened once for the daemon's life (the
/// embedded model keeps its KV cache between jobs).
pub struct WorkerBackend {
    /// The model (with its fallbacks), governed.
    pub backend: Box<dyn Backend>,
    /// Fallback switches, for the audit log.
    pub switches: SwitchLog,
}

impl std::fmt::Debug for WorkerBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerBackend")
            .field("backend", &self.backend.name())
            .finish()
    }
}

/// Runs jobs until the daemon stops. Errors are leash's own failures (the
/// store or the audit log failing); a failing job is a normal outcome.
pub fn run_worker(ctx: Arc<DaemonContext>, mut model: WorkerBackend) -> Result<(), DaemonError> {
    let mut engines: HashMap<PathBuf, Engine> = HashMap::new();
    // Start-up releases memory itself; the worker does after each burst.
    let mut memory_released = true;
    loop {
        if ctx.is_stopping() {
            return Ok(());
        }
        let seen = ctx.work_generation();
        // The governor decides what may start: a hot device starts nothing
        // (jobs stay queued; a change wakes this loop), a low battery only
        // jobs of urgent triggers.
        let claimed = match ctx.governor.gate() {
            Gate::Open => ctx.with_store(|store| store.claim_next_job()),
            Gate::UrgentOnly => {
                let urgent = urgent_triggers(&ctx);
                ctx.with_store(|store| store.claim_next_job_of_triggers(&urgent))
            }
            Gate::Paused => Ok(None),
        };
        let claimed = match claimed {
            Ok(claimed) => claimed,
            // A queued job whose row names a trigger kind or mode leash does
            // not know is not run: the store ended it as failed; the rest of
            // the queue goes on.
            Err(DaemonError::Store(err @ StoreError::UnknownSpelling { id, .. })) => {
                tracing::error!(job = id, error = %err, "a queued job cannot be read; it failed without running");
                let result = json!({"end": "failed", "reason": err.to_string()});
                ctx.record_transition(id, Some(JobState::Queued), JobState::Failed, Some(&result))?;
                continue;
            }
            Err(err) => return Err(err),
        };
        let Some(job) = claimed else {
            if memory_released {
                ctx.wait_for_work(seen, IDLE_WAIT);
            } else {
                // Idle after work: once nothing has come for a while, give
                // back the memory the jobs touched (one wake-up per burst).
                ctx.wait_for_work(seen, RELEASE_MEMORY_AFTER);
                if ctx.work_generation() == seen && !ctx.is_stopping() {
                    crate::idle_memory::release_idle_memory();
                    memory_released = true;
                }
            }
            continue;
        };
        memory_released = false;
        ctx.record_transition(job.id, Some(JobState::Queued), JobState::Running, None)?;
        let _awake = ctx.wake_lock.hold();
        run_one(&ctx, &mut model, &mut engines, &job)?;
    }
}

/// The names of the triggers marked `urgent` (they run on a low battery).
fn urgent_triggers(ctx: &DaemonContext) -> Vec<String> {
    ctx.loaded
        .config
        .triggers
        .iter()
        .filter(|t| t.urgent)
        .map(|t| t.name.clone())
        .collect()
}

/// Runs one claimed job to its end and records the end.
fn run_one(
    ctx: &Arc<DaemonContext>,
    model: &mut WorkerBackend,
    engines: &mut HashMap<PathBuf, Engine>,
    job: &Job,
) -> Result<(), DaemonError> {
    // Every log line while this job runs (the engine's, the sandbox's, the
    // backend's, on this thread) names the job and its trigger; `step` is
    // filled in as the agent loop advances.
    let job_span = tracing::info_span!(
        "job",
        id = job.id,
        trigger = %job.trigger_name.as_deref().unwrap_or(job.trigger_kind.as_str()),
        step = tracing::field::Empty,
    );
    let _in_job = job_span.enter();
    // A trigger with `on:` runs elsewhere: hand the job over, end it here.
    if let Some((state, result)) = crate::fleet_forward::forward_if_remote(ctx, job) {
        return end_job(ctx, job, state, &result);
    }
    let workspace = job_workspace(ctx, job);
    let engine = match engine_for(ctx, engines, &workspace) {
        Ok(engine) => engine,
        Err(err) => {
            let result = json!({"end": "failed", "reason": format!("cannot set up workspace {}: {err}", workspace.display())});
            return end_job(ctx, job, JobState::Failed, &result);
        }
    };
    // What belongs to this job travels with it; the engine is shared by
    // every job of the workspace and is never changed per job. The store
    // parsed the mode when it read the row (a job with an unknown spelling
    // was failed at the claim and never gets here: no default is guessed).
    let params = JobParams {
        mode: job.mode.unwrap_or(engine.default_mode),
        // A job that ran before (it was interrupted) asks before repeating
        // any command an earlier attempt started.
        must_ask: if job.attempts > 1 || job.requeues > 0 {
            repeat_guard(&ctx.audit.for_job(job.id)?)
        } else {
            Vec::new()
        },
        // Trigger-scoped grants apply to this trigger's jobs only.
        trigger: job.trigger_name.clone(),
    };
    let facts = prompt_facts(&ctx.loaded, engine, params.mode);
    let settings = agent_settings(&ctx.loaded);
    let approver = RemoteApprover {
        ctx: Arc::clone(ctx),
        job_id: job.id,
    };
    let spec = JobSpec {
        job_id: Some(job.id),
        task: job.prompt.clone(),
        payload: payload_of(job),
        params,
    };
    let payload = spec.payload.as_ref().map(|(l, t)| (l.as_str(), t.as_str()));
    model.backend.set_cancel(Some(ctx.cancel_token_for(job.id)));
    if let Some((state, result, conversation)) = crate::skill_job::run_skill_job(
        ctx,
        model.backend.as_mut(),
        engine,
        &approver,
        job,
        &spec.params,
        payload,
    )? {
        store_conversation(ctx, job.id, &conversation)?;
        ctx.clear_cancel(job.id);
        return end_job(ctx, job, state, &result);
    }
    let stop_ctx = Arc::clone(ctx);
    let job_id = job.id;
    let should_stop = move || {
        if stop_ctx.cancel_requested(job_id) {
            Some("cancelled by a person".to_owned())
        } else if stop_ctx.is_stopping() {
            Some("the daemon is stopping".to_owned())
        } else {
            None
        }
    };
    let speaker = ctx
        .loaded
        .config
        .device
        .speak
        .then(|| crate::voice::speaker(&ctx.loaded));
    let mut on_notify = |text: &str| {
        tracing::info!(job = job_id, text, "notify");
        if let Some(speaker) = &speaker {
            speak_in_background(ctx, job_id, speaker.clone(), text.to_owned());
        }
    };
    let mut on_step = |step: u32| {
        job_span.record("step", step);
        tracing::debug!(job = job_id, step, "step");
    };
    let outcome = run_job(
        engine,
        model.backend.as_mut(),
        &approver,
        &settings,
        system_prompt(&facts),
        &spec,
        JobHooks {
            on_text: None,
            on_notify: &mut on_notify,
            on_step: &mut on_step,
            switches: Some(&model.switches),
            should_stop: Some(&should_stop),
        },
    );
    let report = match outcome {
        Ok(report) => report,
        Err(err) => {
            let result = json!({"end": "failed", "reason": format!("leash failed while running the job: {err}")});
            end_job(ctx, job, JobState::Failed, &result)?;
            return Err(err.into());
        }
    };
    ctx.metrics
        .commands_started
        .fetch_add(report.executed as u64, std::sync::atomic::Ordering::Relaxed);
    store_conversation(ctx, job.id, &report.conversation)?;
    let result = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
    let state = report.end.final_state(ctx.cancel_requested(job.id));
    ctx.clear_cancel(job.id);
    end_job(ctx, job, state, &result)
}

/// Records a job's end: its state (and, for a stop, the re-queue), its
/// counters, and its trigger file's move into `done/` or `failed/`.
fn end_job(
    ctx: &DaemonContext,
    job: &Job,
    state: JobState,
    result: &serde_json::Value,
) -> Result<(), DaemonError> {
    let ended = ctx.transition(job.id, state, Some(result))?;
    match state {
        JobState::Done => Metrics::bump(&ctx.metrics.jobs_finished),
        JobState::Failed => Metrics::bump(&ctx.metrics.jobs_failed),
        JobState::Interrupted => {
            // Stopped by the daemon's own shutdown: it runs again at the next
            // start (once; repeats need approval).
            let limit = i64::from(ctx.loaded.config.daemon.requeue_interrupted);
            if ended.requeues < limit {
                ctx.transition(job.id, JobState::Queued, None)?;
            }
            return Ok(());
        }
        JobState::Queued | JobState::Running | JobState::WaitingApproval | JobState::Cancelled => {}
    }
    if ended.file_path.is_some() {
        let succeeded = state == JobState::Done;
        finish_claimed_file(ctx, &ended, succeeded, result)?;
    }
    Ok(())
}

/// The job's workspace: its own, else `security.workspace`, else the daemon's
/// working directory.
pub(crate) fn job_workspace(ctx: &DaemonContext, job: &Job) -> PathBuf {
    job.workspace
        .as_ref()
        .map(PathBuf::from)
        .or_else(|| ctx.loaded.config.security.workspace.clone())
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The engine for `workspace`, opened once and kept (policy, sandbox probe).
fn engine_for<'e>(
    ctx: &DaemonContext,
    engines: &'e mut HashMap<PathBuf, Engine>,
    workspace: &PathBuf,
) -> Result<&'e Engine, DaemonError> {
    if !engines.contains_key(workspace) {
        let engine = Engine::open_sharing_audit(&ctx.loaded, workspace, Arc::clone(&ctx.audit))?;
        engines.insert(workspace.clone(), engine);
    }
    engines.get(workspace).ok_or(DaemonError::Poisoned {
        what: "the engine cache",
    })
}

/// The trigger's untrusted data, as the agent loop takes it.
fn payload_of(job: &Job) -> Option<(String, String)> {
    let payload = JobPayload::from_json(job.payload.as_ref()?)?;
    Some((payload.label, payload.text))
}

/// Stores the job's conversation with the model.
fn store_conversation(
    ctx: &DaemonContext,
    job_id: i64,
    conversation: &[leash_llm::ChatMessage],
) -> Result<(), DaemonError> {
    ctx.with_store(|store| {
        store.truncate_conversation(job_id, 0)?;
        for (position, message) in conversation.iter().enumerate() {
            let role = message.role.as_str();
            store.put_message(
                job_id,
                i64::try_from(position).unwrap_or(i64::MAX),
                role,
                &message.content,
            )?;
        }
        Ok(())
    })
}

/// Speaks a notify message (`device.speak`) without holding up the job; the
/// outcome (spoken, no voice here, failed) is audited as `notify.spoken`.
fn speak_in_background(
    ctx: &Arc<DaemonContext>,
    job_id: i64,
    speaker: crate::voice::VoiceProgram,
    text: String,
) {
    let ctx = Arc::clone(ctx);
    let spawned = std::thread::Builder::new()
        .name("leash-voice".to_owned())
        .spawn(move || {
            let spoken = crate::voice::speak(&speaker, &text);
            let record = json!({"program": speaker.argv.first(), "outcome": spoken});
            if let Err(err) = ctx
                .audit
                .append(Some(job_id), AuditKind::NotifySpoken, record)
            {
                tracing::warn!(error = %err, "cannot audit a spoken notify");
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "cannot start the voice thread; notify not spoken");
    }
}
