//! What happens inside the daemon, as a stream: job and approval changes,
//! broadcast to the `/v1/events` server-sent-events route (and to anything
//! else that listens). A slow listener loses old events (it is told how many),
//! never blocks the daemon.

use serde::Serialize;
use tokio::sync::broadcast;

/// One thing that happened. Closed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DaemonEvent {
    /// A trigger became a job.
    JobQueued {
        /// The new job.
        job_id: i64,
        /// What fired (file, schedule, git, http, cli, fleet).
        trigger_kind: leash_protocol::TriggerSource,
        /// The configured trigger's name, if one fired.
        trigger_name: Option<String>,
    },
    /// A job changed state.
    JobState {
        /// The job.
        job_id: i64,
        /// Its state before.
        from: String,
        /// Its state now.
        to: String,
    },
    /// A person is asked to approve a command.
    ApprovalRequested {
        /// The request's id (what `leash approve` takes).
        approval_id: i64,
        /// The job asking.
        job_id: Option<i64>,
        /// The command to approve.
        argv: Vec<String>,
        /// When it becomes a denial (RFC 3339).
        expires_at: String,
    },
    /// An approval was decided (approved, denied, expired).
    ApprovalDecided {
        /// The request.
        approval_id: i64,
        /// `approved`, `denied` or `expired`.
        state: String,
        /// Where the answer came from.
        channel: String,
    },
    /// The resource governor paused, resumed, deferred or lowered threads.
    GovernorChanged {
        /// How hot the device is now.
        heat: crate::governor::Heat,
        /// Whether the battery is low and not charging.
        low_battery: bool,
        /// `open`, `urgent_only` or `paused`.
        gate: String,
        /// The reading that moved it.
        reason: String,
    },
}

/// The broadcast channel of [`DaemonEvent`]s.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<DaemonEvent>,
}

impl EventBus {
    /// A bus keeping up to `capacity` events for slow listeners.
    pub fn new(capacity: usize) -> EventBus {
        let (sender, _) = broadcast::channel(capacity.max(1));
        EventBus { sender }
    }

    /// Sends an event to every current listener (none: dropped, which is fine —
    /// everything that matters is also in the audit log).
    pub fn publish(&self, event: DaemonEvent) {
        let _ = self.sender.send(event);
    }

    /// A new listener, seeing events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DaemonEvent> {
        self.sender.subscribe()
    }
}
