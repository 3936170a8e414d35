//! The state every daemon component shares: the loaded config, one store
//! connection for short queue operations, the audit log, the event bus, the
//! counters, the queue's wake-up signal, pending approvals, and the stop flag.
//!
//! Components hold an `Arc<DaemonContext>`. Database work through
//! [`DaemonContext::with_store`] is short (one statement or one transaction);
//! async code calls it from `spawn_blocking`, since a commit waits for fsync.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use leash_config::LoadedConfig;
use leash_protocol::audit::JobStateChanged;
use leash_secret::Secret;
use leash_store::{AuditKind, AuditLog, Job, JobState, Store, StoreError};
use serde_json::json;
use tokio::sync::watch;

use crate::error::DaemonError;
use crate::events::{DaemonEvent, EventBus};
use crate::governor::GovernorHandle;
use crate::metrics::Metrics;

/// Shared daemon state (see the module documentation).
#[derive(Debug)]
pub struct DaemonContext {
    /// The config the daemon started with (and where it came from).
    pub loaded: LoadedConfig,
    store: Mutex<Store>,
    /// One handle for intake, approvals and the worker's engines, so their
    /// appends share transactions and fsyncs (group commit).
    pub audit: Arc<AuditLog>,
    /// Live events for `/v1/events` and the web page.
    pub events: EventBus,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// The resource governor's state (open until a reading says otherwise).
    pub governor: GovernorHandle,
    /// The bearer token every API route but `/healthz` requires.
    pub api_token: Secret,
    /// When the daemon started (uptime in `leash status`).
    pub started: Instant,
    queue: WakeSignal,
    /// Wakes approvers waiting for an answer.
    pub(crate) approvals_changed: WakeSignal,
    cancel_requests: Mutex<HashSet<i64>>,
    stopping: AtomicBool,
    stop_tx: watch::Sender<bool>,
    /// The web page's sessions and one-time login codes.
    pub(crate) web: crate::http::WebSessions,
    /// On Termux, `termux-wake-lock` held while any job runs.
    pub wake_lock: crate::wake_lock::WakeLock,
    /// The fleet's models (backend `fleet`), set at start when in a fleet.
    pub(crate) fleet_models: std::sync::OnceLock<leash_core::SharedRemoteModels>,
    /// The fleet, once joined (jobs of triggers with `on:` go through it).
    pub(crate) fleet: std::sync::OnceLock<(leash_fleet::Fleet, tokio::runtime::Handle)>,
    /// The running job's cancel token (the worker's backend checks it per
    /// token, so a cancel stops a generation under way).
    running_cancel: Mutex<Option<(i64, leash_llm::CancelToken)>>,
    /// Other devices' pending approval requests told to this one.
    pub(crate) fleet_notices: crate::fleet_notices::RemoteApprovals,
}

impl DaemonContext {
    /// Assembles the context. `store` and `audit` are opened by the caller (the
    /// lifecycle code, which holds the lock file first).
    pub fn new(
        loaded: LoadedConfig,
        store: Store,
        audit: AuditLog,
        api_token: String,
    ) -> Arc<Self> {
        let (stop_tx, _) = watch::channel(false);
        let wake_lock = crate::wake_lock::WakeLock::from_config(&loaded);
        Arc::new(DaemonContext {
            loaded,
            store: Mutex::new(store),
            audit: Arc::new(audit),
            events: EventBus::new(1024),
            metrics: Metrics::default(),
            governor: GovernorHandle::default(),
            api_token: Secret::new(api_token),
            started: Instant::now(),
            queue: WakeSignal::default(),
            approvals_changed: WakeSignal::default(),
            cancel_requests: Mutex::new(HashSet::new()),
            stopping: AtomicBool::new(false),
            stop_tx,
            web: crate::http::WebSessions::default(),
            wake_lock,
            fleet_models: std::sync::OnceLock::new(),
            fleet: std::sync::OnceLock::new(),
            running_cancel: Mutex::new(None),
            fleet_notices: Default::default(),
        })
    }

    /// Runs `f` with the shared store connection. Keep `f` short.
    pub fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, DaemonError> {
        let mut guard = self.lock_store()?;
        Ok(f(&mut guard)?)
    }

    fn lock_store(&self) -> Result<MutexGuard<'_, Store>, DaemonError> {
        self.store
            .lock()
            .map_err(|_| DaemonError::Poisoned { what: "the store" })
    }

    /// Moves job `id` to `to` (compare-and-set in the store), audits the move
    /// as `job.state` and publishes it.
    pub fn transition(
        &self,
        id: i64,
        to: JobState,
        result: Option<&serde_json::Value>,
    ) -> Result<Job, DaemonError> {
        let (from, job) = self.with_store(|store| {
            let before = store.job(id)?;
            let from = before.map(|job| job.state);
            let job = store.set_job_state(id, to, result)?;
            Ok((from, job))
        })?;
        self.record_transition(id, from, to, result)?;
        Ok(job)
    }

    /// Audits and publishes a state change that already happened in the store.
    pub fn record_transition(
        &self,
        id: i64,
        from: Option<JobState>,
        to: JobState,
        result: Option<&serde_json::Value>,
    ) -> Result<(), DaemonError> {
        let payload = JobStateChanged {
            from,
            to,
            result: result.cloned(),
        };
        if to == JobState::Running {
            // The claim is durable in the store; its record precedes no
            // effect, so it waits for the job's next durable point.
            self.audit.hold_typed(Some(id), &payload)?;
        } else {
            self.audit.append_typed(Some(id), &payload)?;
        }
        self.events.publish(DaemonEvent::JobState {
            job_id: id,
            from: from.map_or("none", JobState::as_str).to_owned(),
            to: to.as_str().to_owned(),
        });
        Ok(())
    }

    /// Cancels job `id`: a queued (or interrupted) job is cancelled at once; a
    /// running one is flagged, its pending approvals are denied, and the worker
    /// stops it before its next action. Returns the job as it is now.
    pub fn request_cancel(&self, id: i64, by: &str) -> Result<Job, DaemonError> {
        let job = self.with_store(|store| {
            store.job(id)?.ok_or_else(|| StoreError::NotFound {
                table: "jobs",
                id,
                path: store.path().to_path_buf(),
            })
        })?;
        match job.state {
            JobState::Queued | JobState::Interrupted => {
                let result = json!({"cancelled_by": by});
                self.transition(id, JobState::Cancelled, Some(&result))
            }
            JobState::Running | JobState::WaitingApproval => {
                self.cancel_requests
                    .lock()
                    .map_err(|_| DaemonError::Poisoned {
                        what: "cancel requests",
                    })?
                    .insert(id);
                if let Ok(running) = self.running_cancel.lock()
                    && let Some((_, token)) = running.as_ref().filter(|(job, _)| *job == id)
                {
                    token.cancel();
                }
                self.audit
                    .append(Some(id), AuditKind::JobCancelRequested, json!({"by": by}))?;
                self.approvals_changed.notify();
                Ok(job)
            }
            JobState::Done | JobState::Failed | JobState::Cancelled => {
                Err(DaemonError::Store(StoreError::InvalidTransition {
                    table: "jobs",
                    id,
                    current: job.state.as_str().to_owned(),
                    requested: JobState::Cancelled.as_str().to_owned(),
                }))
            }
        }
    }

    /// Whether a person asked to cancel the running job `id`.
    pub fn cancel_requested(&self, id: i64) -> bool {
        self.cancel_requests
            .lock()
            .map(|set| set.contains(&id))
            .unwrap_or(true)
    }

    /// A fresh cancel token for job `id`, now the running one: a cancel of
    /// the job cancels it (and the generation the backend runs with it).
    pub(crate) fn cancel_token_for(&self, id: i64) -> leash_llm::CancelToken {
        let token = leash_llm::CancelToken::new();
        if self.cancel_requested(id) {
            token.cancel();
        }
        if let Ok(mut running) = self.running_cancel.lock() {
            *running = Some((id, token.clone()));
        }
        token
    }

    /// Forgets a cancel request (the job has ended).
    pub fn clear_cancel(&self, id: i64) {
        if let Ok(mut set) = self.cancel_requests.lock() {
            set.remove(&id);
        }
    }

    /// Wakes the queue worker (a job was queued).
    pub fn wake_worker(&self) {
        self.queue.notify();
    }

    /// The queue signal's generation: read it *before* looking for work, then
    /// [`DaemonContext::wait_for_work`] from it, so a job queued in between is
    /// never slept through.
    pub fn work_generation(&self) -> u64 {
        self.queue.generation()
    }

    /// Waits until the worker is woken after generation `seen`, or `timeout`.
    pub fn wait_for_work(&self, seen: u64, timeout: Duration) {
        self.queue.wait_after(seen, timeout);
    }

    /// Starts a graceful stop: triggers and the API stop taking work, the worker
    /// finishes its step.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        // `send_replace`, not `send`: `send` fails and leaves the value
        // unchanged when no receiver exists at this instant (a trigger
        // between two waits), and every later `stopped()` would then wait
        // forever (seen as a hung stop in the git trigger test).
        self.stop_tx.send_replace(true);
        self.queue.notify();
        self.approvals_changed.notify();
    }

    /// Whether a stop was requested.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Resolves when a stop is requested (for async components).
    pub async fn stopped(&self) {
        let mut rx = self.stop_tx.subscribe();
        let _ = rx.wait_for(|stopping| *stopping).await;
    }
}

/// A wake-up signal for threads: `notify` bumps a generation and wakes all
/// waiters; `wait_after(seen)` returns when the generation is no longer `seen`
/// or the timeout passed.
#[derive(Debug, Default)]
pub(crate) struct WakeSignal {
    generation: Mutex<u64>,
    changed: Condvar,
}

impl WakeSignal {
    pub(crate) fn notify(&self) {
        if let Ok(mut generation) = self.generation.lock() {
            *generation = generation.wrapping_add(1);
        }
        self.changed.notify_all();
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.lock().map(|g| *g).unwrap_or(0)
    }

    pub(crate) fn wait_after(&self, seen: u64, timeout: Duration) {
        let Ok(guard) = self.generation.lock() else {
            return;
        };
        let _ = self
            .changed
            .wait_timeout_while(guard, timeout, |generation| *generation == seen);
    }
}
