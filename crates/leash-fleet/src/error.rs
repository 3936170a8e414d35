//! What can go wrong in the fleet, each naming the config key, file or subject.

use std::path::PathBuf;

/// A fleet failure.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// `fleet.credentials` cannot be read.
    #[error("fleet.credentials: cannot read {path}: {source}")]
    CredentialsRead {
        /// The credentials file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// `fleet.credentials` is readable by others.
    #[error(
        "fleet.credentials: {path} has mode {mode:o}; it holds a secret and must be 0600 (chmod 600 {path})"
    )]
    CredentialsMode {
        /// The credentials file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// `fleet.credentials` holds neither form.
    #[error(
        "fleet.credentials: {path}: {reason} (expected USER:PASSWORD on one line, or an nkey user seed starting with SU)"
    )]
    CredentialsFormat {
        /// The credentials file.
        path: PathBuf,
        /// What is wrong with its content (never the content itself).
        reason: String,
    },
    /// Connecting to the NATS server failed.
    #[error("fleet.urls: cannot connect to {urls}: {detail}")]
    Connect {
        /// The `fleet.urls` tried, comma-separated.
        urls: String,
        /// The client's error.
        detail: String,
    },
    /// A JetStream operation failed.
    #[error("fleet: {action}: {detail}")]
    JetStream {
        /// What was being done (`publishing a job`, `declaring LEASH_JOBS`).
        action: String,
        /// The server's or client's error.
        detail: String,
    },
    /// A message could not be encoded or decoded.
    #[error("fleet: {what} on {subject}: {detail}")]
    Message {
        /// `encoding` or `decoding`.
        what: &'static str,
        /// The subject of the message.
        subject: String,
        /// The JSON error.
        detail: String,
    },
    /// A device did not answer a direct question.
    #[error("fleet: {device} did not answer: {detail}")]
    NoAnswer {
        /// The device asked.
        device: String,
        /// Why there was no answer (timeout, no responders).
        detail: String,
    },
    /// A device in the fleet refused a question.
    #[error("fleet: {device} refused ({code}): {reason}")]
    Refused {
        /// The device that refused.
        device: String,
        /// Its closed refusal code (`untrusted`, `not_found`, …).
        code: String,
        /// Its reason, for the person.
        reason: String,
    },
    /// A device name that cannot be a subject token.
    #[error("fleet: {name:?} is not a device name (a-z, 0-9, '-', '_'; 1 to 63)")]
    DeviceName {
        /// The name given.
        name: String,
    },
}

impl FleetError {
    pub(crate) fn js(action: impl Into<String>, err: impl std::fmt::Display) -> FleetError {
        FleetError::JetStream {
            action: action.into(),
            detail: err.to_string(),
        }
    }
}
