//! leash-fleet: a fleet of leash devices over NATS JetStream (issue 13).
//!
//! leash grows no clustering of its own: NATS carries every message, and
//! JetStream makes the hand-offs durable (explicit acks, `Nats-Msg-Id`
//! de-duplication). Each device's SQLite store stays the source of truth for
//! what it did; this crate only moves messages and checks who sent them.
//!
//! - [`credentials`]: the device's NATS credentials, from a 0600 file.
//! - [`subjects`]: subject and stream names; a device publishes only under
//!   `leash.<device>.>`, which the NATS server enforces per user.
//! - [`envelope`]: the messages (offer, job, result) and the sender check.
//! - [`connection`]: connecting with the config's URLs, credentials and TLS,
//!   and declaring the streams.
//! - [`offer`]: heartbeats (what a device offers) and `leash fleet status`.
//! - [`jobs`]: sending a job to a device, and a device's job inbox.
//! - [`results`]: a job's end, sent back to the device that asked for it.
//! - [`direct`]: request/reply between two devices (plain NATS), sender
//!   checked both ways.
//! - [`approvals`]: listing and answering another device's approvals.
//! - [`audit`]: reading another device's audit chain, page by page.
//! - [`infer`]: remote inference's messages and how an offering device
//!   judges a request (trust, model offered, limits).
//! - [`remote_model`]: backend `fleet`, a model another device offers, as an
//!   ordinary blocking [`leash_llm::Backend`].
//! - [`notices`]: approval requests told to the person's other devices
//!   (without their nonce), and closed again when answered.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod approvals;
pub mod audit;
pub mod connection;
pub mod credentials;
pub mod direct;
pub mod envelope;
mod error;
pub mod infer;
pub mod jobs;
pub mod notices;
pub mod offer;
pub mod remote_model;
pub mod results;
pub mod subjects;
#[cfg(feature = "test-server")]
pub mod test_server;

pub use connection::{Fleet, connect};
pub use credentials::Credentials;
pub use envelope::{JobEnd, JobPayload, JobRequest, Offer, PROTOCOL_VERSION};
pub use error::FleetError;
pub use jobs::{IncomingJob, JobInbox, SentJob};
pub use offer::DeviceSeen;
pub use remote_model::{FleetLink, FleetModel};
pub use results::{IncomingResult, ResultInbox};
