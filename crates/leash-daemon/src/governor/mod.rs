//! The resource governor: reads the device's condition every
//! `device.interval_s` seconds (one timer; nothing runs in between), decides
//! with hysteresis ([`decide`]), and
//! - holds the queue while the device is hot (jobs stay `queued`, durable),
//!   and only lets jobs of `urgent` triggers start on a low battery that is
//!   not charging (the worker asks [`GovernorHandle::gate`]);
//! - pauses a running job's inference between steps while hot, and lowers
//!   decode threads while warm ([`GovernedBackend`]);
//! - audits every change (`governor.changed`, with the reason and the
//!   reading), publishes it on the event stream, and shows it in `/metrics`
//!   and `/v1/status`.

mod backend;
pub mod decide;
pub mod readings;

use leash_store::AuditKind;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

pub use backend::GovernedBackend;
pub use decide::{Gate, GovernorState, Heat, Thresholds};
pub use readings::{DeviceReading, ReadingSources};

use crate::context::DaemonContext;
use crate::events::DaemonEvent;

/// What the governor knows now (for `leash status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GovernorSnapshot {
    /// `device.governor`.
    pub enabled: bool,
    /// The state now.
    pub state: GovernorState,
    /// `open`, `urgent_only` or `paused`.
    pub gate: String,
    /// Why it is in that state (the reading that moved it).
    pub reason: String,
    /// The last reading taken.
    pub last_reading: Option<DeviceReading>,
    /// RFC 3339.
    pub last_read_at: Option<String>,
    /// Readings taken since the daemon started.
    pub readings: u64,
    /// Changes of state since the daemon started.
    pub changes: u64,
}

fn gate_name(gate: Gate) -> &'static str {
    match gate {
        Gate::Open => "open",
        Gate::UrgentOnly => "urgent_only",
        Gate::Paused => "paused",
    }
}

/// The governor's state, shared by the reading task, the worker and the API.
#[derive(Debug)]
pub struct GovernorHandle {
    snapshot: Mutex<GovernorSnapshot>,
    changed: Condvar,
}

impl Default for GovernorHandle {
    fn default() -> Self {
        GovernorHandle {
            snapshot: Mutex::new(GovernorSnapshot {
                gate: gate_name(Gate::Open).to_string(),
                reason: "no reading yet".to_string(),
                ..GovernorSnapshot::default()
            }),
            changed: Condvar::new(),
        }
    }
}

impl GovernorHandle {
    fn lock(&self) -> MutexGuard<'_, GovernorSnapshot> {
        match self.snapshot.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A copy of what the governor knows.
    pub fn snapshot(&self) -> GovernorSnapshot {
        self.lock().clone()
    }

    /// The state now.
    pub fn state(&self) -> GovernorState {
        self.lock().state
    }

    /// What the worker may start now.
    pub fn gate(&self) -> Gate {
        self.state().gate()
    }

    /// Waits up to `timeout` for the state to change.
    pub(crate) fn wait_for_change(&self, timeout: Duration) {
        let guard = self.lock();
        let changes = guard.changes;
        let _ = self
            .changed
            .wait_timeout_while(guard, timeout, |s| s.changes == changes);
    }

    /// Records a reading; returns `(previous, next)` when the state changed.
    pub(crate) fn apply(
        &self,
        reading: DeviceReading,
        limits: &Thresholds,
    ) -> Option<(GovernorState, GovernorState, String)> {
        let mut guard = self.lock();
        let previous = guard.state;
        let next = previous.next(&reading, limits);
        guard.enabled = true;
        guard.readings += 1;
        guard.reason = next.reason(&reading, limits);
        guard.gate = gate_name(next.gate()).to_string();
        guard.last_read_at = Some(jiff::Timestamp::now().to_string());
        guard.last_reading = Some(reading);
        guard.state = next;
        if next == previous {
            return None;
        }
        guard.changes += 1;
        let reason = guard.reason.clone();
        drop(guard);
        self.changed.notify_all();
        Some((previous, next, reason))
    }
}

/// One reading, decided, and — on a change — audited, published, counted,
/// and the worker woken. Blocking (a subprocess on Termux, an fsync'd audit
/// record on a change).
pub fn read_and_apply(ctx: &DaemonContext, sources: &ReadingSources) {
    let limits = Thresholds::from_config(&ctx.loaded.config.device);
    let reading = sources.read();
    let temp_milli = reading.temp_c.map(|t| (t * 1000.0).round() as i64);
    ctx.metrics
        .governor_temp_millicelsius
        .store(temp_milli.unwrap_or(i64::MIN), Ordering::Relaxed);
    let details_reading = reading.clone();
    let Some((from, to, reason)) = ctx.governor.apply(reading, &limits) else {
        return;
    };
    let gate = gate_name(to.gate());
    tracing::info!(?from, ?to, %reason, "resource governor changed state");
    crate::metrics::Metrics::bump(&ctx.metrics.governor_changes);
    ctx.metrics
        .governor_paused
        .store(u64::from(to.gate() == Gate::Paused), Ordering::Relaxed);
    if let Err(error) = ctx.audit.append(
        None,
        AuditKind::GovernorChanged,
        json!({"from": from, "to": to, "gate": gate, "reason": reason, "reading": details_reading}),
    ) {
        tracing::error!(%error, "cannot audit a governor change");
    }
    ctx.events.publish(DaemonEvent::GovernorChanged {
        heat: to.heat,
        low_battery: to.low_battery,
        gate: gate.to_string(),
        reason,
    });
    ctx.wake_worker();
}

/// Starts the reading task on the daemon's runtime, unless
/// `device.governor: false`. The first reading is taken before this
/// returns, so a daemon that starts on a hot phone never claims a job first.
pub fn start_governor(
    ctx: &Arc<DaemonContext>,
    runtime: &tokio::runtime::Handle,
) -> Option<tokio::task::JoinHandle<()>> {
    let device = &ctx.loaded.config.device;
    if !device.governor {
        return None;
    }
    let sources = ReadingSources::from_config(device);
    read_and_apply(ctx, &sources);
    let interval = Duration::from_secs(device.interval_s);
    let ctx = Arc::clone(ctx);
    Some(runtime.spawn(async move {
        loop {
            tokio::select! {
                () = ctx.stopped() => return,
                () = tokio::time::sleep(interval) => {}
            }
            let task_ctx = Arc::clone(&ctx);
            let task_sources = sources.clone();
            let _ =
                tokio::task::spawn_blocking(move || read_and_apply(&task_ctx, &task_sources)).await;
        }
    }))
}
