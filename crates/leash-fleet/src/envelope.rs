//! The fleet's messages (JSON). Each names its sender device; a receiver
//! believes that name only when it matches the subject's publisher token,
//! which the NATS server bound to the authenticated user ([`check_sender`]).

use serde::{Deserialize, Serialize};

use crate::error::FleetError;
use crate::subjects;

/// Bumped when a message changes incompatibly; receivers refuse others.
pub const PROTOCOL_VERSION: u32 = 1;

/// A heartbeat: what a device offers the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The offering device (checked against the subject's publisher).
    pub device: String,
    /// Model names it offers for remote inference.
    pub models: Vec<String>,
    /// Programs its policy may run (its `security.whitelist`).
    pub programs: Vec<String>,
    /// Whether a person can answer approvals there (a notifier is set).
    pub person_reachable: bool,
    /// Whether it admits fleet jobs, and in which loosest mode.
    pub accepts_jobs: bool,
    /// The loosest execution mode it runs fleet jobs in (`fleet.accept_mode`).
    pub accept_mode: String,
    /// leash's version there.
    pub version: String,
    /// When the device sent it (its clock; RFC 3339).
    pub sent_at: String,
}

/// A job addressed to another device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRequest {
    /// [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The sending device (checked against the subject).
    pub from: String,
    /// The device that should run it.
    pub to: String,
    /// Unique per job; also the `Nats-Msg-Id` and the receiver's dedup key.
    pub msg_id: String,
    /// The task, as a person would ask it; judged by the receiver's own policy.
    pub prompt: String,
    /// The mode asked for; `None`: the receiver's `fleet.accept_mode`.
    pub mode: Option<String>,
    /// When it was sent (the sender's clock, RFC 3339).
    pub sent_at: String,
    /// What the sender's trigger saw (a file's contents, a commit), kept
    /// apart from the prompt: the receiver hands it to its model as data,
    /// exactly as for a local trigger, never as part of the task.
    #[serde(default)]
    pub payload: Option<JobPayload>,
}

/// A trigger's data travelling with a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPayload {
    /// What it is (`file /x/y.task`).
    pub label: String,
    /// The data itself, untrusted.
    pub text: String,
}

/// How a fleet job ended, sent back to the device that asked for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEnd {
    /// [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The device that ran (or refused) it.
    pub from: String,
    /// The device that asked.
    pub to: String,
    /// The request's `msg_id`.
    pub msg_id: String,
    /// `done`, `failed`, `cancelled` or `refused`.
    pub state: String,
    /// The job's id on the device that ran it (none when refused).
    pub job_id: Option<i64>,
    /// Why it was refused, or the job's result.
    pub detail: serde_json::Value,
}

/// Encodes a message as JSON bytes.
pub fn encode<T: Serialize>(subject: &str, message: &T) -> Result<bytes::Bytes, FleetError> {
    serde_json::to_vec(message)
        .map(bytes::Bytes::from)
        .map_err(|e| FleetError::Message {
            what: "encoding",
            subject: subject.to_owned(),
            detail: e.to_string(),
        })
}

/// Decodes a message, refusing other protocol versions.
pub fn decode<'a, T: Deserialize<'a>>(subject: &str, payload: &'a [u8]) -> Result<T, FleetError> {
    serde_json::from_slice(payload).map_err(|e| FleetError::Message {
        what: "decoding",
        subject: subject.to_owned(),
        detail: e.to_string(),
    })
}

/// Why a message's claimed sender is not believed. Closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SenderMismatch {
    /// The subject is not under `leash.<device>.`: no one vouches for the sender.
    #[error("subject {subject} has no publishing device")]
    NoPublisher {
        /// The subject the message arrived on.
        subject: String,
    },
    /// The message names a device other than the one that published it.
    #[error("the message says it is from {claimed:?} but was published by {published:?}")]
    Spoofed {
        /// The device the message names.
        claimed: String,
        /// The device whose subject it was published on.
        published: String,
    },
}

/// The sender's identity, when `claimed` is the device that published on
/// `subject` (the server enforces that a device publishes only under its own
/// `leash.<device>.>`).
pub fn check_sender<'s>(subject: &'s str, claimed: &str) -> Result<&'s str, SenderMismatch> {
    let published = subjects::publisher(subject).ok_or_else(|| SenderMismatch::NoPublisher {
        subject: subject.to_owned(),
    })?;
    if published == claimed {
        Ok(published)
    } else {
        Err(SenderMismatch::Spoofed {
            claimed: claimed.to_owned(),
            published: published.to_owned(),
        })
    }
}

/// Now, RFC 3339 (UTC).
pub fn now() -> String {
    jiff::Timestamp::now().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_sender_must_be_the_subjects_publisher() {
        assert_eq!(check_sender("leash.phone.job.srv", "phone"), Ok("phone"));
        assert!(matches!(
            check_sender("leash.phone.job.srv", "laptop"),
            Err(SenderMismatch::Spoofed { .. })
        ));
        assert!(matches!(
            check_sender("elsewhere.job", "phone"),
            Err(SenderMismatch::NoPublisher { .. })
        ));
    }
}
