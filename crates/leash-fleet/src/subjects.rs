//! Subject and stream names. Every subject a device publishes on starts with
//! `leash.<device>.`, so one NATS permission (`publish: leash.<device>.>`)
//! binds what a message claims to who the server authenticated; the receiver
//! then checks the envelope's `from` against the subject's second token.

use crate::error::FleetError;

/// Heartbeats: `leash.<device>.offer`, the last one per device kept.
pub const DEVICES_STREAM: &str = "LEASH_DEVICES";
/// Jobs: `leash.<from>.job.<to>`.
pub const JOBS_STREAM: &str = "LEASH_JOBS";
/// Job ends: `leash.<from>.result.<to>` (`from` ran the job for `to`).
pub const RESULTS_STREAM: &str = "LEASH_RESULTS";

/// Checks `name` can be one subject token.
pub fn device(name: &str) -> Result<&str, FleetError> {
    if leash_config::is_device_name(name) {
        Ok(name)
    } else {
        Err(FleetError::DeviceName {
            name: name.to_owned(),
        })
    }
}

/// Where `device` publishes its heartbeat.
pub fn offer(device: &str) -> String {
    format!("leash.{device}.offer")
}

/// Where `from` publishes a job for `to`.
pub fn job(from: &str, to: &str) -> String {
    format!("leash.{from}.job.{to}")
}

/// Every job addressed to `to`, whoever sent it.
pub fn jobs_for(to: &str) -> String {
    format!("leash.*.job.{to}")
}

/// Where `from` publishes the end of a job it ran for `to`.
pub fn result(from: &str, to: &str) -> String {
    format!("leash.{from}.result.{to}")
}

/// Every result addressed to `to`.
pub fn results_for(to: &str) -> String {
    format!("leash.*.result.{to}")
}

/// A plain-NATS (not stored) message of `kind` from device `from` to device
/// `to`: `leash.<from>.direct.<to>.<kind>`. Every direct message, request
/// and reply alike, is published under its sender's own prefix, so one
/// permission (`subscribe: leash.*.direct.<device>.>`) lets a device hear
/// what is addressed to it, and the receiver checks the sender's claim
/// against the subject as for stored messages.
pub fn direct(from: &str, to: &str, kind: &str) -> String {
    format!("leash.{from}.direct.{to}.{kind}")
}

/// Every direct message of `kind` addressed to `to`.
pub fn directs_for(to: &str, kind: &str) -> String {
    format!("leash.*.direct.{to}.{kind}")
}

/// Kinds of direct messages. Closed set of subject tokens.
pub mod kind {
    /// Remote inference: a request, its cancel, its answer stream.
    pub const INFER: &str = "infer";
    /// A requester giving up on an inference request.
    pub const INFER_CANCEL: &str = "infer_cancel";
    /// The offering device's answer stream.
    pub const INFER_REPLY: &str = "infer_reply";
}

/// Where replies to this device arrive (`_INBOX_<device>.…`).
pub fn inbox_prefix(device: &str) -> String {
    format!("_INBOX_{device}")
}

/// The durable consumer of `device`'s jobs / results.
pub fn jobs_consumer(device: &str) -> String {
    format!("jobs-{device}")
}

/// The durable consumer of `device`'s results.
pub fn results_consumer(device: &str) -> String {
    format!("results-{device}")
}

/// The publishing device of a `leash.<device>.…` subject: the identity the
/// server checked (per-device publish permissions).
pub fn publisher(subject: &str) -> Option<&str> {
    let mut tokens = subject.split('.');
    match (tokens.next(), tokens.next()) {
        (Some("leash"), Some(device)) if leash_config::is_device_name(device) => Some(device),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_publisher_is_the_second_token_of_leash_subjects_only() {
        assert_eq!(publisher("leash.phone.job.laptop"), Some("phone"));
        assert_eq!(publisher(&offer("srv")), Some("srv"));
        assert_eq!(publisher("other.phone.job.laptop"), None);
        assert_eq!(publisher("leash.*.job.laptop"), None);
        assert_eq!(publisher("leash"), None);
    }

    #[test]
    fn device_names_with_subject_syntax_are_refused() {
        for bad in ["a.b", "*", ">", "", "A", "a b"] {
            assert!(device(bad).is_err(), "{bad}");
        }
        assert!(device("phone-2").is_ok());
    }
}
