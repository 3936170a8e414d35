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
        job_id: i64,
        trigger_kind: leash_protocol::TriggerSource,
        trigger_name: Option<String>,
    },
    /// A job changed state.
    JobState {
        job_id: i64,
        from: String,
        to: String,
    },
    /// A person is asked to approve a command.
    ApprovalRequested {
        approval_id: i64,
        job_id: Option<i64>,
        argv: Vec<String>,
        expires_at: String,
    },
    /// An approval was decided (approved, denied, expired).
    ApprovalDecided {
        approval_id: i64,
        state: String,
        channel: String,
    },
    /// The resource governor paused, resumed, deferred or lowered threads.
    GovernorChanged {
        heat: crate::governor::Heat,
        low_battery: bool,
        /// `open`, `urgent_only` or `paused`.
        gate: String,
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
