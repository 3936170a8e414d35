//! leash-daemon: `leash daemon`, the main job on a device. It watches, queues,
//! thinks, asks, acts and records, and it survives being killed.
//!
//! Components, each started by [`run_daemon`] and stopped by the same stop flag:
//! - [`DaemonContext`]: the state they share (config, store, audit log,
//!   events, counters, wake-up signals).
//! - [`intake`]: every trigger becomes a durable job here, in one transaction
//!   with its acknowledgement.
//! - [`triggers`]: file, schedule and git triggers.
//! - [`worker`]: the one queue worker (one inference at a time).
//! - [`governor`]: the resource governor (heat, battery; pause with hysteresis).
//! - [`approvals`]: remote approvals with nonce and expiry; [`notifier`].
//! - [`http`]: the HTTP API (axum on loopback, bearer token).
//! - `fleet`: joining a fleet over NATS JetStream, only with `fleet:`.
//! - [`recovery`]: start-up recovery after a crash; [`lock`]: one daemon per
//!   state directory.
//!
//! `unsafe` is denied; the one system call without a safe wrapper (a read
//! lease, in `triggers::readiness`) is allowed where it is made.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod approvals;
mod context;
mod error;
mod events;
mod fleet;
mod fleet_approvals;
mod fleet_audit;
mod fleet_forward;
mod fleet_infer;
mod fleet_notices;
mod fleet_questions;
pub mod governor;
pub mod grants;
pub mod http;
mod idle_memory;
pub mod intake;
mod lifecycle;
pub mod lock;
mod metrics;
pub mod notifier;
pub mod recovery;
mod secret;
mod skill_job;
pub mod termux_notifier;
pub mod triggers;
pub mod voice;
pub mod wake_lock;
pub mod worker;

pub use approvals::{DecideError, RemoteAnswer, RemoteApprover};
pub use context::DaemonContext;
pub use error::DaemonError;
pub use events::{DaemonEvent, EventBus};
pub use intake::{FileClaim, TriggerEvent, TriggerPayload, TriggerSource};
pub use lifecycle::{DaemonOptions, run_daemon};
pub use metrics::Metrics;
